/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-snd device type: state, configuration, events (eventq) and the
 * public API. The control queue is in sound_ctl.c, PCM I/O (txq, rxq) in
 * sound_pcm.c.
 *
 * Spec: "Sound Device" -- "Device Configuration Layout", "PCM I/O
 * Messages", "Output Stream", "Input Stream", "PCM Notifications", "Jack
 * Notifications", "Control Element Notifications".
 *
 * Requests are served through the device kit (vdm/kit.h): each queue owns
 * queue_size_max slots of the caller's vdm_snd_req array. The kit answers
 * chains with more spans than a slot holds: controlq with BAD_MSG in the
 * first four writable bytes, txq/rxq with IO_ERR in the status at the end. */
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sound_priv.h"

#include "abi_internal.h"
#include "kit_internal.h"
#include "le.h"

_Static_assert(sizeof(struct snd) <= (size_t)VDM_SND_SIZE,
               "struct snd does not fit VDM_SND_SIZE");
_Static_assert((size_t)alignof(struct snd) <= (size_t)alignof(struct vdm_snd),
               "struct vdm_snd storage is under-aligned");
_Static_assert(VDM_KIT_SLOT_BYTES(sizeof(struct snd_req)) <=
                   (size_t)VDM_SND_REQ_SIZE,
               "struct snd_req does not fit VDM_SND_REQ_SIZE");
_Static_assert(((VDM_SND_REQ_SIZE % 8) == 0) &&
                   ((size_t)alignof(struct vdm_snd_req) >=
                    (size_t)alignof(struct vdm_kit_req)),
               "struct vdm_snd_req storage is under-aligned");
_Static_assert(VDM_SND_MAX_JACKS <= 32u, "jack_connected is a 32-bit mask");

static const struct snd *csnd_of(const struct vdm_snd *x)
{
    const struct snd *s;

    if (x == NULL) {
        return NULL;
    }
    s = (const struct snd *)(const void *)x->opaque;
    return (s->magic == SND_MAGIC) ? s : NULL;
}

static struct snd *snd_dev(struct vdm_dev *d)
{
    struct snd *s = (struct snd *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == SND_MAGIC)) ? s : NULL;
}

uint32_t snd_host_status(int rc)
{
    if (rc >= 0) {
        return VDM_SND_S_OK;
    }
    return rc == VDM_ENOTSUP ? VDM_SND_S_NOT_SUPP : VDM_SND_S_IO_ERR;
}

/* ------------------------------------------------------------------------ */
/* Formats and rates (spec "VIRTIO_SND_R_PCM_INFO": physical widths) */

uint32_t vdm_snd_format_bytes(uint32_t fmt)
{
    /* Physical bytes per sample, by VIRTIO_SND_PCM_FMT_* (0: 4-bit ADPCM). */
    static const uint8_t phys[VDM_SND_PCM_FMT_COUNT] = {
        0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3,
        4, 4, 4, 4, 4, 4, 4, 8, 1, 2, 4, 4};

    return (fmt < VDM_SND_PCM_FMT_COUNT) ? phys[fmt] : 0u;
}

uint32_t vdm_snd_rate_hz(uint32_t rate)
{
    static const uint32_t hz[VDM_SND_PCM_RATE_COUNT] = {
        5512,  8000,  11025, 16000,  22050,  32000,  44100, 48000,
        64000, 88200, 96000, 176400, 192000, 384000, 12000, 24000};

    return (rate < VDM_SND_PCM_RATE_COUNT) ? hz[rate] : 0u;
}

/* ------------------------------------------------------------------------ */
/* Events (spec "Jack Notifications", "PCM Notifications", "Control Element
 * Notifications"): queued here, written into eventq buffers by the kit's
 * serve handler, one event per buffer. */

static int snd_event_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct snd *s = ctx;
    uint8_t wire[VDM_SND_EVENT_BYTES];
    const struct snd_event *e;

    if (s->ev_count == 0u) {
        return VDM_EAGAIN; /* the buffer waits for an event */
    }
    *written = 0;
    if (kr->chain.write_len < VDM_SND_EVENT_BYTES) {
        /* "The driver MUST populate the event queue with empty buffers of
         * at least the struct virtio_snd_event size": returned unused, the
         * event waits for the next buffer. */
        vdm_kit_warn_once(s->dev, &s->warned, SND_WARN_EVSMALL, VDM_LOG_WARN,
                          "snd: eventq buffer smaller than an event");
        return VDM_KIT_DONE;
    }
    e = &s->ev[s->ev_head];
    vdm_put_le32(wire, e->code);
    vdm_put_le32(wire + 4, e->data);
    if (vdm_chain_copy_to(&kr->chain, 0, wire, sizeof(wire)) == sizeof(wire)) {
        s->ev_head = (s->ev_head + 1u) % VDM_SND_EVENTS_MAX;
        s->ev_count--;
        *written = sizeof(wire);
    }
    return VDM_KIT_DONE;
}

int snd_event_push(struct snd *s, uint32_t code, uint32_t data)
{
    if (s->ev_count == VDM_SND_EVENTS_MAX) {
        s->ev_dropped++;
        vdm_kit_warn_once(s->dev, &s->warned, SND_WARN_EVDROP, VDM_LOG_WARN,
                          "snd: event dropped, no eventq buffer");
        return VDM_ENOSPC;
    }
    s->ev[(s->ev_head + s->ev_count) % VDM_SND_EVENTS_MAX] =
        (struct snd_event){code, data};
    s->ev_count++;
    if (vdm_dev_live(s->dev) != 0) {
        (void)vdm_kit_run(&s->kit, VDM_SND_QUEUE_EVENT);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Queues */

static const struct vdm_kit_queue snd_queues[VDM_SND_NUM_QUEUES] = {
    /* controlq: the status is the first field of the response. */
    {.serve = snd_ctl_serve,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = VDM_SND_HDR_BYTES,
     .status_err = {(uint8_t)VDM_SND_S_BAD_MSG,
                    (uint8_t)(VDM_SND_S_BAD_MSG >> 8)}},
    /* eventq: one 8-byte event at the start of the buffer. */
    {.serve = snd_event_serve, .status_at = VDM_KIT_STATUS_PREFIX},
    /* txq, rxq: struct virtio_snd_pcm_status ends the writable part. */
    {.serve = snd_io_serve,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = VDM_SND_PCM_STATUS_BYTES,
     .status_err = {(uint8_t)VDM_SND_S_IO_ERR,
                    (uint8_t)(VDM_SND_S_IO_ERR >> 8)}},
    {.serve = snd_io_serve,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = VDM_SND_PCM_STATUS_BYTES,
     .status_err = {(uint8_t)VDM_SND_S_IO_ERR,
                    (uint8_t)(VDM_SND_S_IO_ERR >> 8)}},
};

void snd_ctl_finish(struct snd *s, struct vdm_kit_req *kr, uint32_t status)
{
    uint8_t wire[VDM_SND_HDR_BYTES];
    uint32_t written = 0;

    if (vdm_kit_req_live(kr) != 0) {
        vdm_put_le32(wire, status);
        if (vdm_chain_copy_to(&kr->chain, 0, wire, sizeof(wire)) ==
            sizeof(wire)) {
            written = sizeof(wire);
        }
    }
    (void)vdm_kit_finish(&s->kit, kr, written);
}

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static void snd_run_all(struct snd *s)
{
    for (uint16_t q = 0; q < VDM_SND_NUM_QUEUES; q++) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

/* A device reset: the requests at the host are abandoned (the kit drops
 * their late completions), the streams stopped and released at the host and
 * their parameters forgotten, waiting events dropped. */
static void snd_reset(struct vdm_dev *d)
{
    struct snd *s = snd_dev(d);

    if (s == NULL) {
        return;
    }
    vdm_kit_reset(&s->kit, UINT16_MAX);
    for (uint32_t i = 0; i < s->npcms; i++) {
        struct snd_stream *st = &s->st[i];
        uint8_t was = st->state;

        __builtin_memset(st, 0, sizeof(*st));
        if ((was == VDM_SND_STATE_RUNNING) &&
            VDM_HAS_HOOK(s->ops, struct vdm_snd_ops, stop)) {
            (void)s->ops->stop(s->host, i);
        }
        if (((was == VDM_SND_STATE_PREPARED) ||
             (was == VDM_SND_STATE_RUNNING) || (was == VDM_SND_STATE_STOPPED) ||
             (was == VDM_SND_STATE_RELEASING)) &&
            VDM_HAS_HOOK(s->ops, struct vdm_snd_ops, release)) {
            (void)s->ops->release(s->host, i);
        }
    }
    s->ev_head = 0;
    s->ev_count = 0;
    s->warned = 0;
}

static void snd_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct snd *s = snd_dev(d);

    if (s == NULL) {
        return;
    }
    vdm_kit_reset(&s->kit, q);
    /* The abandoned I/O no longer counts against its stream; a RELEASE
     * waiting for it is answered now. */
    if ((q == VDM_SND_QUEUE_TX) || (q == VDM_SND_QUEUE_RX)) {
        for (uint32_t i = 0; i < s->npcms; i++) {
            struct snd_stream *st = &s->st[i];
            if (s->pcms[i].direction != ((q == VDM_SND_QUEUE_TX)
                                             ? VDM_SND_D_OUTPUT
                                             : VDM_SND_D_INPUT)) {
                continue;
            }
            st->pending = 0;
            if (st->state == VDM_SND_STATE_RELEASING) {
                st->state = VDM_SND_STATE_RELEASED;
                if (st->release_req != NULL) {
                    snd_ctl_finish(s, st->release_req, VDM_SND_S_OK);
                }
                st->release_req = NULL;
            }
        }
    } else if (q == VDM_SND_QUEUE_CONTROL) {
        for (uint32_t i = 0; i < s->npcms; i++) {
            s->st[i].release_req = NULL;
        }
    } else {
        /* eventq: its buffers hold nothing of a stream */
    }
}

static void snd_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct snd *s = snd_dev(d);

    if ((s != NULL) && (q < VDM_SND_NUM_QUEUES)) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void snd_driver_ok(struct vdm_dev *d)
{
    struct snd *s = snd_dev(d);

    if (s != NULL) {
        snd_run_all(s); /* buffers posted before DRIVER_OK, waiting events */
    }
}

/* "Device Configuration Layout": struct virtio_snd_config. */
static void snd_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct snd *s = snd_dev(d);
    uint8_t cfg[VDM_SND_CONFIG_BYTES];

    if (s == NULL) {
        __builtin_memset(buf, 0, len);
        return;
    }
    vdm_put_le32(cfg, s->njacks);
    vdm_put_le32(cfg + 4, s->npcms);
    vdm_put_le32(cfg + 8, s->nchmaps);
    vdm_put_le32(cfg + 12, s->nctls);
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

/* Every field is driver-read-only. */
static void snd_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    (void)off;
    (void)buf;
    (void)len;
    vdm_dev_log(d, VDM_LOG_WARN, "snd: write to read-only config ignored");
}

static const struct vdm_device_class snd_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_SOUND,
    .name = "sound",
    .config_size = VDM_SND_CONFIG_BYTES,
    .max_queues = VDM_SND_NUM_QUEUES,
    .reset = snd_reset,
    .driver_ok = snd_driver_ok,
    .queue_notify = snd_queue_notify,
    .queue_reset = snd_queue_reset,
    .config_read = snd_config_read,
    .config_write = snd_config_write,
    .state_save = snd_state_save,
    .state_restore = snd_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Checking the caller's tables (the device requirements of "Jack
 * Information", "Stream Information", "Channel Map Information" and
 * "Control Element Information": no undefined values, limits, names). */

#define PCM_F_ALLOWED                                                          \
    (VDM_SND_PCM_F_MSG_POLLING | VDM_SND_PCM_F_EVT_SHMEM_PERIODS |             \
     VDM_SND_PCM_F_EVT_XRUNS)

static int str_ok(const char *p, uint32_t cap)
{
    uint32_t n = 0;

    if (p == NULL) {
        return 0;
    }
    while ((n < cap) && (p[n] != '\0')) {
        n++;
    }
    return (n > 0u) && (n < cap);
}

static uint32_t ctl_count_max(uint32_t type)
{
    switch (type) {
    case VDM_SND_CTL_TYPE_INTEGER64: return 64;
    case VDM_SND_CTL_TYPE_BYTES: return 512;
    case VDM_SND_CTL_TYPE_IEC958: return 1;
    default: return 128;
    }
}

static int check_ctl(const struct vdm_snd_ctl *c)
{
    uint32_t role = c->role >> 1;

    if ((c->role != 0u) &&
        ((role < VDM_SND_CTL_ROLE_VOLUME) || (role > VDM_SND_CTL_ROLE_GAIN))) {
        return 0;
    }
    if ((c->type > VDM_SND_CTL_TYPE_IEC958) || ((c->access & ~0x7fu) != 0u) ||
        (c->count == 0u) || (c->count > ctl_count_max(c->type)) ||
        !str_ok(c->name, VDM_SND_CTL_NAME_BYTES)) {
        return 0;
    }
    if ((c->type == VDM_SND_CTL_TYPE_INTEGER) &&
        ((c->min < INT32_MIN) || (c->max > INT32_MAX) || (c->min > c->max) ||
         (c->step < 0) || (c->step > INT32_MAX))) {
        return 0;
    }
    if ((c->type == VDM_SND_CTL_TYPE_INTEGER64) &&
        ((c->min > c->max) || (c->step < 0))) {
        return 0;
    }
    if (c->type == VDM_SND_CTL_TYPE_ENUMERATED) {
        if ((c->nitems == 0u) || (c->items == NULL)) {
            return 0;
        }
        for (uint32_t i = 0; i < c->nitems; i++) {
            if (!str_ok(c->items[i], VDM_SND_CTL_ITEM_BYTES)) {
                return 0;
            }
        }
    }
    if (((c->access & VDM_SND_CTL_ACCESS_TLV_READ) != 0u) &&
        ((c->tlv == NULL) || (c->tlv_words < 2u))) {
        return 0;
    }
    return 1;
}

static int check_tables(const struct vdm_snd_config *cfg)
{
    const struct vdm_snd_ops *ops = cfg->ops;
    uint32_t access = 0;

    if ((cfg->njacks > VDM_SND_MAX_JACKS) ||
        (cfg->npcms > VDM_SND_MAX_STREAMS) ||
        ((cfg->njacks != 0u) && (cfg->jacks == NULL)) ||
        ((cfg->npcms != 0u) && (cfg->pcms == NULL)) ||
        ((cfg->nchmaps != 0u) && (cfg->chmaps == NULL)) ||
        ((cfg->nctls != 0u) && (cfg->ctls == NULL)) ||
        (cfg->nchmaps > 0xffffu) || (cfg->nctls > 0xffffu)) {
        return VDM_EINVAL;
    }
    for (uint32_t i = 0; i < cfg->njacks; i++) {
        const struct vdm_snd_jack *j = &cfg->jacks[i];
        if (((j->features & ~VDM_SND_JACK_F_REMAP) != 0u) ||
            (j->connected > 1u) || (j->reserved != 0u)) {
            return VDM_EINVAL;
        }
    }
    for (uint32_t i = 0; i < cfg->npcms; i++) {
        const struct vdm_snd_pcm *p = &cfg->pcms[i];
        if (((p->features & ~PCM_F_ALLOWED) != 0u) || (p->formats == 0u) ||
            ((p->formats >> VDM_SND_PCM_FMT_COUNT) != 0u) || (p->rates == 0u) ||
            ((p->rates >> VDM_SND_PCM_RATE_COUNT) != 0u) ||
            (p->direction > VDM_SND_D_INPUT) || (p->channels_min == 0u) ||
            (p->channels_max < p->channels_min)) {
            return VDM_EINVAL;
        }
        for (uint32_t k = 0; k < sizeof(p->reserved); k++) {
            if (p->reserved[k] != 0u) {
                return VDM_EINVAL;
            }
        }
    }
    for (uint32_t i = 0; i < cfg->nchmaps; i++) {
        const struct vdm_snd_chmap *m = &cfg->chmaps[i];
        if ((m->direction > VDM_SND_D_INPUT) || (m->channels == 0u) ||
            (m->channels > VDM_SND_CHMAP_MAX)) {
            return VDM_EINVAL;
        }
        for (uint32_t k = 0; k < m->channels; k++) {
            if (m->positions[k] > VDM_SND_CHMAP_BRC) {
                return VDM_EINVAL;
            }
        }
    }
    for (uint32_t i = 0; i < cfg->nctls; i++) {
        if (!check_ctl(&cfg->ctls[i])) {
            return VDM_EINVAL;
        }
        access |= cfg->ctls[i].access;
    }
    if (ops->io == NULL) {
        return VDM_EINVAL;
    }
    if (((access & VDM_SND_CTL_ACCESS_READ) != 0u) && (ops->ctl_read == NULL)) {
        return VDM_EINVAL;
    }
    if (((access & VDM_SND_CTL_ACCESS_WRITE) != 0u) &&
        (ops->ctl_write == NULL)) {
        return VDM_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API */

int vdm_snd_init(struct vdm_snd *snd, struct vdm_dev *dev,
                 const struct vdm_snd_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct snd *s;
    uint64_t type_bits = 0;
    int rc;

    if ((snd == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg, struct vdm_snd_config, iovs) ||
        base->size < sizeof(struct vdm_dev_config))
        return VDM_ESIZE;
    if (cfg->ops == NULL) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg->ops, struct vdm_snd_ops, jack_remap))
        return VDM_ESIZE;
    if ((cfg->reqs == NULL) || (cfg->iovs == NULL) || (cfg->iov_per_req < 3u) ||
        (base->queue_size_max == 0u) ||
        (base->queue_size_max > VDM_VQ_MAX_NUM) ||
        ((base->num_queues != 0u) && (base->num_queues < VDM_SND_NUM_QUEUES))) {
        return VDM_EINVAL;
    }
    rc = check_tables(cfg);
    if (rc < 0) {
        return rc;
    }

    __builtin_memset(snd, 0, sizeof(*snd));
    s = (struct snd *)(void *)snd->opaque;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->jacks = cfg->jacks;
    s->pcms = cfg->pcms;
    s->chmaps = cfg->chmaps;
    s->ctls = cfg->ctls;
    s->njacks = cfg->njacks;
    s->npcms = cfg->npcms;
    s->nchmaps = cfg->nchmaps;
    s->nctls = cfg->nctls;
    for (uint32_t i = 0; i < cfg->njacks; i++) {
        if (cfg->jacks[i].connected != 0u) {
            s->jack_connected |= 1u << i;
        }
    }

    kc.num_queues = VDM_SND_NUM_QUEUES;
    kc.nqdesc = VDM_SND_NUM_QUEUES;
    kc.queues = snd_queues;
    kc.ctx = s;
    kc.slots = cfg->reqs;
    kc.iovs = cfg->iovs;
    kc.slot_bytes = VDM_SND_REQ_SIZE;
    kc.per_queue = base->queue_size_max;
    kc.iov_per_req = cfg->iov_per_req;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    (void)vdm_copy_sized(&dc, sizeof(dc), base, sizeof(dc));
    dc.num_queues = VDM_SND_NUM_QUEUES;
    /* The kit's policy; control requests (RELEASE) and streams complete out
     * of order, so no IN_ORDER. */
    if (cfg->nctls != 0u) {
        type_bits = VDM_SND_F_CTLS;
    }
    dc.features = vdm_kit_features(type_bits, base->features, VDM_F_IN_ORDER);
    dc.cls = &snd_class;
    dc.priv = s;
    s->magic = SND_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
        return rc;
    }
    return 0;
}

int vdm_snd_jack_set(struct vdm_snd *snd, uint32_t jack, uint32_t connected)
{
    struct snd *s = snd_of(snd);
    uint32_t bit;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (jack >= s->njacks) {
        return VDM_ERANGE;
    }
    bit = 1u << jack;
    if (((s->jack_connected & bit) != 0u) == (connected != 0u)) {
        return 0;
    }
    s->jack_connected ^= bit;
    return snd_event_push(s,
                          (connected != 0u) ? VDM_SND_EVT_JACK_CONNECTED
                                            : VDM_SND_EVT_JACK_DISCONNECTED,
                          jack);
}

int vdm_snd_pcm_event(struct vdm_snd *snd, uint32_t stream, uint32_t code)
{
    struct snd *s = snd_of(snd);
    uint32_t need;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (stream >= s->npcms) {
        return VDM_ERANGE;
    }
    if (code == VDM_SND_EVT_PCM_XRUN) {
        need = VDM_SND_PCM_F_EVT_XRUNS;
    } else if (code == VDM_SND_EVT_PCM_PERIOD_ELAPSED) {
        need = VDM_SND_PCM_F_EVT_SHMEM_PERIODS;
    } else {
        return VDM_EINVAL;
    }
    /* "To enable notifications, the driver must negotiate these features
     * using the set stream parameters request." */
    if ((s->st[stream].have_params == 0u) ||
        ((s->st[stream].p.features & need) == 0u)) {
        return 1;
    }
    return snd_event_push(s, code, stream);
}

int vdm_snd_ctl_notify(struct vdm_snd *snd, uint32_t id, uint32_t mask)
{
    struct snd *s = snd_of(snd);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (id >= s->nctls) {
        return VDM_ERANGE;
    }
    /* "The device MUST NOT set undefined mask values." */
    if ((mask == 0u) || ((mask & ~7u) != 0u)) {
        return VDM_EINVAL;
    }
    if ((vdm_dev_features(s->dev) & VDM_SND_F_CTLS) == 0u) {
        return 1;
    }
    /* struct virtio_snd_ctl_event: le16 control_id, le16 mask. */
    return snd_event_push(s, VDM_SND_EVT_CTL_NOTIFY, id | (mask << 16));
}

int vdm_snd_process(struct vdm_snd *snd, uint16_t q)
{
    struct snd *s = snd_of(snd);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (q >= VDM_SND_NUM_QUEUES) {
        return VDM_ERANGE;
    }
    (void)vdm_kit_run(&s->kit, q);
    return 0;
}

uint32_t vdm_snd_pending(const struct vdm_snd *snd, uint32_t stream)
{
    const struct snd *s = csnd_of(snd);

    return ((s != NULL) && (stream < s->npcms)) ? s->st[stream].pending : 0u;
}

uint32_t vdm_snd_in_flight(const struct vdm_snd *snd)
{
    const struct snd *s = csnd_of(snd);

    return (s != NULL) ? vdm_kit_in_flight(&s->kit) : 0u;
}

uint32_t vdm_snd_events_dropped(const struct vdm_snd *snd)
{
    const struct snd *s = csnd_of(snd);

    return (s != NULL) ? s->ev_dropped : 0u;
}

int vdm_snd_stream_state(const struct vdm_snd *snd, uint32_t stream,
                         struct vdm_snd_params *p)
{
    const struct snd *s = csnd_of(snd);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (stream >= s->npcms) {
        return VDM_ERANGE;
    }
    if (p != NULL) {
        uint32_t size = p->size;
        if (size > sizeof(*p)) {
            size = sizeof(*p);
        }
        __builtin_memcpy(p, &s->st[stream].p, size);
        p->size = size;
    }
    return s->st[stream].state;
}

struct vdm_dev *vdm_snd_dev(const struct vdm_snd *snd)
{
    const struct snd *s = csnd_of(snd);

    return (s != NULL) ? s->dev : NULL;
}
