/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-snd control queue: item information, jacks, the PCM state machine
 * and control elements.
 *
 * Spec: "Sound Device / Device Operation" -- "Item Information Request",
 * "Jack Control Messages", "PCM Control Messages" (with "PCM Command
 * Lifecycle"), "Channel Map Control Messages", "Control Elements".
 *
 * Each request's readable part is copied once into a local buffer (at most
 * CTL_REQ_MAX bytes) and decoded from there; the response is a status
 * followed by a payload written with vdm_chain_copy_to(). */
#include <stddef.h>
#include <stdint.h>

#include "sound_priv.h"

#include "abi_internal.h"
#include "le.h"

/* Largest request read: a CTL_WRITE (header and a whole value). */
#define CTL_REQ_MAX (VDM_SND_CTL_HDR_BYTES + VDM_SND_CTL_VALUE_BYTES)

_Static_assert((VDM_SND_CTL_HDR_BYTES + VDM_SND_CTL_TLV_HDR_BYTES +
                VDM_SND_TLV_MAX_BYTES) <= CTL_REQ_MAX,
               "a TLV write must fit the request buffer");

/* One request being answered. */
struct ctl {
    struct snd *s;
    struct vdm_kit_req *kr;
    const struct vdm_chain *c;
    uint32_t n;       /* request bytes in req[] */
    uint32_t payload; /* response bytes written after the status */
    uint8_t req[CTL_REQ_MAX];
};

/* Write @p len bytes of response payload at payload offset @p off. */
static int put(struct ctl *x, uint32_t off, const void *src, uint32_t len)
{
    uint64_t at = (uint64_t)VDM_SND_HDR_BYTES + off;

    if (((at + len) > x->c->write_len) ||
        (vdm_chain_copy_to(x->c, (size_t)at, src, len) != len)) {
        return 0;
    }
    if ((off + len) > x->payload) {
        x->payload = off + len;
    }
    return 1;
}

/* Zero-fill payload [off, off + len). */
static int put_zero(struct ctl *x, uint32_t off, uint32_t len)
{
    static const uint8_t zero[32];

    while (len > 0u) {
        uint32_t k = len < sizeof(zero) ? len : (uint32_t)sizeof(zero);
        if (!put(x, off, zero, k)) {
            return 0;
        }
        off += k;
        len -= k;
    }
    return 1;
}

static uint32_t bad(struct ctl *x, const char *why)
{
    vdm_kit_warn_once(x->s->dev, &x->s->warned, SND_WARN_BADMSG, VDM_LOG_WARN,
                      why);
    return VDM_SND_S_BAD_MSG;
}

/* ------------------------------------------------------------------------ */
/* Item information (spec "Item Information Request"): struct
 * virtio_snd_query_info; the response is `count` items of `size` bytes. */

#define INFO_MAX VDM_SND_CTL_INFO_BYTES /* the largest item structure */

static void info_jack(const struct snd *s, uint32_t id, uint8_t *b)
{
    const struct vdm_snd_jack *j = &s->jacks[id];

    vdm_put_le32(b, j->hda_fn_nid);
    vdm_put_le32(b + 4, j->features);
    vdm_put_le32(b + 8, j->hda_reg_defconf);
    vdm_put_le32(b + 12, j->hda_reg_caps);
    b[16] = (uint8_t)((s->jack_connected >> id) & 1u); /* padding: zero */
}

static void info_pcm(const struct snd *s, uint32_t id, uint8_t *b)
{
    const struct vdm_snd_pcm *p = &s->pcms[id];

    vdm_put_le32(b, p->hda_fn_nid);
    vdm_put_le32(b + 4, p->features);
    vdm_put_le64(b + 8, p->formats);
    vdm_put_le64(b + 16, p->rates);
    b[24] = p->direction;
    b[25] = p->channels_min;
    b[26] = p->channels_max;
}

static void info_chmap(const struct snd *s, uint32_t id, uint8_t *b)
{
    const struct vdm_snd_chmap *m = &s->chmaps[id];

    vdm_put_le32(b, m->hda_fn_nid);
    b[4] = m->direction;
    b[5] = m->channels;
    __builtin_memcpy(b + 6, m->positions, m->channels);
}

static void info_ctl(const struct snd *s, uint32_t id, uint8_t *b)
{
    const struct vdm_snd_ctl *c = &s->ctls[id];
    uint32_t k;

    vdm_put_le32(b, c->hda_fn_nid);
    vdm_put_le32(b + 4, c->role);
    vdm_put_le32(b + 8, c->type);
    vdm_put_le32(b + 12, c->access);
    vdm_put_le32(b + 16, c->count);
    vdm_put_le32(b + 20, c->index);
    for (k = 0; ((k + 1u) < VDM_SND_CTL_NAME_BYTES) && (c->name[k] != '\0');
         k++)
        b[24u + k] = (uint8_t)c->name[k];
    /* name is NUL-terminated (zeroed buffer); 4 padding bytes; value. */
    switch (c->type) {
    case VDM_SND_CTL_TYPE_INTEGER:
        vdm_put_le32(b + 72, (uint32_t)(int32_t)c->min);
        vdm_put_le32(b + 76, (uint32_t)(int32_t)c->max);
        vdm_put_le32(b + 80, (uint32_t)(int32_t)c->step);
        break;
    case VDM_SND_CTL_TYPE_INTEGER64:
        vdm_put_le64(b + 72, (uint64_t)c->min);
        vdm_put_le64(b + 80, (uint64_t)c->max);
        vdm_put_le64(b + 88, (uint64_t)c->step);
        break;
    case VDM_SND_CTL_TYPE_ENUMERATED: vdm_put_le32(b + 72, c->nitems); break;
    case VDM_SND_CTL_TYPE_BOOLEAN:
        vdm_put_le32(b + 76, 1); /* min 0, max 1, step 1 */
        vdm_put_le32(b + 80, 1);
        break;
    default: break;
    }
}

static uint32_t info_req(struct ctl *x, uint32_t code)
{
    struct snd *s = x->s;
    void (*fill)(const struct snd *, uint32_t, uint8_t *);
    uint32_t total;
    uint32_t isz;
    uint32_t start;
    uint32_t count;
    uint32_t size;

    switch (code) {
    case VDM_SND_R_JACK_INFO:
        fill = info_jack;
        total = s->njacks;
        isz = VDM_SND_JACK_INFO_BYTES;
        break;
    case VDM_SND_R_PCM_INFO:
        fill = info_pcm;
        total = s->npcms;
        isz = VDM_SND_PCM_INFO_BYTES;
        break;
    case VDM_SND_R_CHMAP_INFO:
        fill = info_chmap;
        total = s->nchmaps;
        isz = VDM_SND_CHMAP_INFO_BYTES;
        break;
    default:
        fill = info_ctl;
        total = s->nctls;
        isz = VDM_SND_CTL_INFO_BYTES;
        break;
    }
    if (x->n < VDM_SND_QUERY_INFO_BYTES) {
        return bad(x, "snd: query_info too short");
    }
    start = vdm_le32(x->req + 4);
    count = vdm_le32(x->req + 8);
    size = vdm_le32(x->req + 12);
    /* "The driver MUST NOT set start_id and count such that start_id +
     * count is greater than the total number of particular items";
     * overflow-safe. */
    if ((start > total) || (count > (total - start))) {
        return bad(x, "snd: query_info range beyond the items");
    }
    /* "The driver MUST provide a buffer of sizeof(struct virtio_snd_hdr) +
     * count * size bytes for the response." */
    if ((size == 0u) || (((uint64_t)count * size) >
                         ((uint64_t)x->c->write_len - VDM_SND_HDR_BYTES))) {
        return bad(x, "snd: query_info response buffer too small");
    }
    for (uint32_t i = 0; i < count; i++) {
        uint8_t item[INFO_MAX];
        uint32_t k = (size < isz) ? size : isz; /* an older, shorter layout */

        __builtin_memset(item, 0, sizeof(item));
        fill(s, start + i, item);
        if ((put(x, i * size, item, k) == 0) ||
            (put_zero(x, (i * size) + k, size - k) == 0)) {
            return VDM_SND_S_IO_ERR;
        }
    }
    return VDM_SND_S_OK;
}

/* ------------------------------------------------------------------------ */
/* Jacks */

static uint32_t jack_remap(struct ctl *x)
{
    struct snd *s = x->s;
    uint32_t id;

    if (x->n < VDM_SND_JACK_REMAP_BYTES) {
        return bad(x, "snd: JACK_REMAP too short");
    }
    id = vdm_le32(x->req + 4);
    if (id >= s->njacks) {
        return bad(x, "snd: JACK_REMAP of an unknown jack");
    }
    if ((s->jacks[id].features & VDM_SND_JACK_F_REMAP) == 0u) {
        return VDM_SND_S_NOT_SUPP;
    }
    if (!VDM_HAS_HOOK(s->ops, struct vdm_snd_ops, jack_remap))
        return VDM_SND_S_OK;
    return snd_host_status(s->ops->jack_remap(s->host, id, vdm_le32(x->req + 8),
                                              vdm_le32(x->req + 12)));
}

/* ------------------------------------------------------------------------ */
/* PCM (spec "PCM Control Messages", "PCM Command Lifecycle") */

int snd_params_check(const struct snd *s, uint32_t sid,
                     struct vdm_snd_params *p)
{
    const struct vdm_snd_pcm *pcm = &s->pcms[sid];

    /* Format and rate are shift counts into 64-bit masks: range-checked
     * before any shift (QEMU's "invalid param shift operands"). */
    if ((p->format >= VDM_SND_PCM_FMT_COUNT) ||
        (p->rate >= VDM_SND_PCM_RATE_COUNT) ||
        ((p->features &
          (VDM_SND_PCM_F_SHMEM_HOST | VDM_SND_PCM_F_SHMEM_GUEST)) != 0u) ||
        ((p->features & ~0x1fu) != 0u)) {
        return SND_PARAMS_UNDEFINED;
    }
    if ((((pcm->formats >> p->format) & 1u) == 0u) ||
        (((pcm->rates >> p->rate) & 1u) == 0u) ||
        (p->channels < pcm->channels_min) ||
        (p->channels > pcm->channels_max) ||
        ((p->features & ~pcm->features) != 0u)) {
        return SND_PARAMS_NOT_SUPP;
    }
    p->sample_bytes = (uint8_t)vdm_snd_format_bytes(p->format);
    p->frame_bytes = (uint32_t)p->sample_bytes * p->channels;
    p->rate_hz = vdm_snd_rate_hz(p->rate);
    /* "period_bytes MUST be a divider buffer_bytes"; a period of whole
     * frames. */
    if ((p->period_bytes == 0u) || (p->buffer_bytes < p->period_bytes) ||
        ((p->buffer_bytes % p->period_bytes) != 0u) ||
        ((p->frame_bytes != 0u) && ((p->period_bytes % p->frame_bytes) != 0u))) {
        return SND_PARAMS_BAD_SIZES;
    }
    return 0;
}

int snd_host_set_params(struct snd *s, uint32_t sid,
                        const struct vdm_snd_params *p)
{
    int rc = 0;

    if (VDM_HAS_HOOK(s->ops, struct vdm_snd_ops, set_params)) {
        rc = s->ops->set_params(s->host, sid, p);
    }
    return rc;
}

snd_step_fn snd_step_hook(const struct snd *s, uint32_t code)
{
    const struct vdm_snd_ops *o = s->ops;
    snd_step_fn fn;

    switch (code) {
    case VDM_SND_R_PCM_PREPARE:
        fn = VDM_HAS_HOOK(o, struct vdm_snd_ops, prepare) ? o->prepare : NULL;
        break;
    case VDM_SND_R_PCM_START:
        fn = VDM_HAS_HOOK(o, struct vdm_snd_ops, start) ? o->start : NULL;
        break;
    case VDM_SND_R_PCM_STOP:
        fn = VDM_HAS_HOOK(o, struct vdm_snd_ops, stop) ? o->stop : NULL;
        break;
    default:
        fn = VDM_HAS_HOOK(o, struct vdm_snd_ops, release) ? o->release : NULL;
        break;
    }
    return fn;
}

static uint32_t set_params(struct ctl *x, uint32_t sid)
{
    struct snd *s = x->s;
    struct snd_stream *st = &s->st[sid];
    struct vdm_snd_params p = VDM_INIT(struct vdm_snd_params);
    const uint8_t *b = x->req;
    int rc;

    if (x->n < VDM_SND_SET_PARAMS_BYTES) {
        return bad(x, "snd: SET_PARAMS too short");
    }
    /* Valid before it: nothing yet, set parameters, prepare, release. */
    if ((st->state != VDM_SND_STATE_INIT) &&
        (st->state != VDM_SND_STATE_PARAMS) &&
        (st->state != VDM_SND_STATE_PREPARED) &&
        (st->state != VDM_SND_STATE_RELEASED)) {
        return bad(x, "snd: SET_PARAMS in the wrong stream state");
    }
    p.buffer_bytes = vdm_le32(b + 8);
    p.period_bytes = vdm_le32(b + 12);
    p.features = vdm_le32(b + 16);
    p.channels = b[20];
    p.format = b[21];
    p.rate = b[22];
    rc = snd_params_check(s, sid, &p);
    if (rc == SND_PARAMS_UNDEFINED) {
        return bad(x, "snd: SET_PARAMS with undefined values");
    }
    if (rc == SND_PARAMS_NOT_SUPP) {
        return VDM_SND_S_NOT_SUPP;
    }
    if (rc != 0) {
        return bad(x, "snd: SET_PARAMS with bad buffer or period bytes");
    }
    rc = snd_host_set_params(s, sid, &p);
    if (rc < 0) {
        return snd_host_status(rc);
    }
    st->p = p;
    st->have_params = 1;
    st->state = VDM_SND_STATE_PARAMS;
    return VDM_SND_S_OK;
}

/* One lifecycle step: allowed from the states in @p from (a mask of 1 <<
 * VDM_SND_STATE_*), then the host hook, then state @p to. */
static uint32_t step(struct ctl *x, uint32_t sid, uint32_t from, uint8_t to,
                     int (*hook)(void *, uint32_t))
{
    struct snd_stream *st = &x->s->st[sid];

    if (((from >> st->state) & 1u) == 0u) {
        return bad(x, "snd: PCM request in the wrong stream state");
    }
    if (hook != NULL) {
        int rc = hook(x->s->host, sid);
        if (rc < 0) {
            return snd_host_status(rc);
        }
    }
    st->state = to;
    return VDM_SND_S_OK;
}

/* RELEASE: allowed after PREPARE or STOP. "The device MUST complete all
 * pending I/O messages for the specified stream ID" and "MUST NOT complete
 * the control request while there are pending I/O messages": the host's
 * release hook ends them, the last completion answers this request. */
static uint32_t release(struct ctl *x, uint32_t sid)
{
    struct snd *s = x->s;
    struct snd_stream *st = &s->st[sid];
    uint32_t rc;

    rc = step(
        x, sid, (1u << VDM_SND_STATE_PREPARED) | (1u << VDM_SND_STATE_STOPPED),
        VDM_SND_STATE_RELEASING,
        snd_step_hook(s, VDM_SND_R_PCM_RELEASE));
    if (rc != VDM_SND_S_OK) {
        return rc;
    }
    if (st->state != VDM_SND_STATE_RELEASING) { /* a reset inside the hook */
        return VDM_SND_S_IO_ERR;
    }
    if (st->pending == 0u) {
        st->state = VDM_SND_STATE_RELEASED;
        return VDM_SND_S_OK;
    }
    st->release_req = x->kr;
    return SND_CTL_WAIT;
}

static uint32_t pcm_req(struct ctl *x, uint32_t code)
{
    struct snd *s = x->s;
    uint32_t sid;

    if (x->n < VDM_SND_PCM_HDR_BYTES) {
        return bad(x, "snd: PCM request too short");
    }
    sid = vdm_le32(x->req + 4);
    if (sid >= s->npcms) {
        return bad(x, "snd: PCM request for an unknown stream");
    }
    switch (code) {
    case VDM_SND_R_PCM_SET_PARAMS: return set_params(x, sid);
    case VDM_SND_R_PCM_PREPARE:
        return step(
            x, sid,
            (1u << VDM_SND_STATE_PARAMS) | (1u << VDM_SND_STATE_PREPARED) |
                (1u << VDM_SND_STATE_RELEASED),
            VDM_SND_STATE_PREPARED,
            snd_step_hook(s, code));
    case VDM_SND_R_PCM_START:
        return step(
            x, sid,
            (1u << VDM_SND_STATE_PREPARED) | (1u << VDM_SND_STATE_STOPPED),
            VDM_SND_STATE_RUNNING,
            snd_step_hook(s, code));
    case VDM_SND_R_PCM_STOP:
        return step(x, sid, (1u << VDM_SND_STATE_RUNNING),
                    VDM_SND_STATE_STOPPED,
                    snd_step_hook(s, code));
    default: return release(x, sid);
    }
}

/* ------------------------------------------------------------------------ */
/* Control elements (spec "Control Elements") */

/* Bytes of a value of @p c in struct virtio_snd_ctl_value. */
static uint32_t value_bytes(const struct vdm_snd_ctl *c)
{
    switch (c->type) {
    case VDM_SND_CTL_TYPE_INTEGER64: return c->count * 8u;
    case VDM_SND_CTL_TYPE_BYTES: return c->count;
    case VDM_SND_CTL_TYPE_IEC958: return VDM_SND_CTL_IEC958_BYTES;
    default: return c->count * 4u;
    }
}

static int in_range(const struct vdm_snd_ctl *c, int64_t v)
{
    if ((v < c->min) || (v > c->max)) {
        return 0;
    }
    return (c->step <= 0) ||
           ((((uint64_t)v - (uint64_t)c->min) % (uint64_t)c->step) == 0u);
}

/* The new value matches the element's type and range. */
static int value_ok(const struct vdm_snd_ctl *c, const uint8_t *v)
{
    for (uint32_t i = 0; i < c->count; i++) {
        switch (c->type) {
        case VDM_SND_CTL_TYPE_BOOLEAN:
            if (vdm_le32(v + (4u * i)) > 1u) {
                return 0;
            }
            break;
        case VDM_SND_CTL_TYPE_INTEGER:
            if (!in_range(c, (int32_t)vdm_le32(v + (4u * i)))) {
                return 0;
            }
            break;
        case VDM_SND_CTL_TYPE_INTEGER64:
            if (!in_range(c, (int64_t)vdm_le64(v + (8u * i)))) {
                return 0;
            }
            break;
        case VDM_SND_CTL_TYPE_ENUMERATED:
            if (vdm_le32(v + (4u * i)) >= c->nitems) {
                return 0;
            }
            break;
        default: return 1; /* bytes and IEC958: any value */
        }
    }
    return 1;
}

static uint32_t ctl_read(struct ctl *x, uint32_t id)
{
    struct snd *s = x->s;
    const struct vdm_snd_ctl *c = &s->ctls[id];
    uint8_t *val = x->req; /* reused: the request has been decoded */
    uint32_t room;
    uint32_t n;
    int rc;

    if ((c->access & VDM_SND_CTL_ACCESS_READ) == 0u) {
        return bad(x, "snd: CTL_READ of an unreadable control");
    }
    room = x->c->write_len - VDM_SND_HDR_BYTES;
    if (room < value_bytes(c)) {
        return bad(x, "snd: CTL_READ response buffer too small");
    }
    __builtin_memset(val, 0, VDM_SND_CTL_VALUE_BYTES);
    rc = s->ops->ctl_read(s->host, id, val);
    if (rc < 0) {
        return snd_host_status(rc);
    }
    n = (room < VDM_SND_CTL_VALUE_BYTES) ? room : VDM_SND_CTL_VALUE_BYTES;
    return put(x, 0, val, n) ? VDM_SND_S_OK : VDM_SND_S_IO_ERR;
}

static uint32_t ctl_write(struct ctl *x, uint32_t id)
{
    struct snd *s = x->s;
    const struct vdm_snd_ctl *c = &s->ctls[id];
    uint8_t *val = x->req + VDM_SND_CTL_HDR_BYTES;

    if ((c->access & VDM_SND_CTL_ACCESS_WRITE) == 0u) {
        return bad(x, "snd: CTL_WRITE of a read-only control");
    }
    if (x->n < (VDM_SND_CTL_HDR_BYTES + value_bytes(c))) {
        return bad(x, "snd: CTL_WRITE value too short");
    }
    /* Bytes beyond what the guest sent read as zero. */
    __builtin_memset(x->req + x->n, 0, sizeof(x->req) - x->n);
    if (!value_ok(c, val)) {
        return bad(x, "snd: CTL_WRITE value out of range");
    }
    return snd_host_status(s->ops->ctl_write(s->host, id, val));
}

static uint32_t enum_items(struct ctl *x, uint32_t id)
{
    const struct vdm_snd_ctl *c = &x->s->ctls[id];

    if (c->type != VDM_SND_CTL_TYPE_ENUMERATED) {
        return bad(x, "snd: CTL_ENUM_ITEMS of a control not enumerated");
    }
    if (((uint64_t)c->nitems * VDM_SND_CTL_ITEM_BYTES) >
        (uint64_t)x->c->write_len - VDM_SND_HDR_BYTES) {
        return bad(x, "snd: CTL_ENUM_ITEMS response buffer too small");
    }
    for (uint32_t i = 0; i < c->nitems; i++) {
        uint8_t item[VDM_SND_CTL_ITEM_BYTES];
        __builtin_memset(item, 0, sizeof(item));
        for (uint32_t k = 0;
             ((k + 1u) < sizeof(item)) && (c->items[i][k] != '\0'); k++) {
            item[k] = (uint8_t)c->items[i][k];
        }
        if (!put(x, i * VDM_SND_CTL_ITEM_BYTES, item, sizeof(item))) {
            return VDM_SND_S_IO_ERR;
        }
    }
    return VDM_SND_S_OK;
}

/* TLV_READ: "if there is not enough space in the value field, the device
 * SHOULD write as much as it can and successfully complete the request". */
static uint32_t tlv_read(struct ctl *x, uint32_t id)
{
    const struct vdm_snd_ctl *c = &x->s->ctls[id];
    uint32_t room = (x->c->write_len - VDM_SND_HDR_BYTES) / 4u;

    if ((c->access & VDM_SND_CTL_ACCESS_TLV_READ) == 0u) {
        return bad(x, "snd: CTL_TLV_READ without TLV_READ access");
    }
    for (uint32_t i = 0; (i < c->tlv_words) && (i < room); i++) {
        uint8_t w[4];
        vdm_put_le32(w, c->tlv[i]);
        if (!put(x, 4u * i, w, sizeof(w))) {
            return VDM_SND_S_IO_ERR;
        }
    }
    return VDM_SND_S_OK;
}

static uint32_t tlv_write(struct ctl *x, uint32_t id, uint32_t code)
{
    struct snd *s = x->s;
    const struct vdm_snd_ctl *c = &s->ctls[id];
    uint32_t need = VDM_SND_CTL_ACCESS_TLV_COMMAND;
    uint32_t len = x->n - VDM_SND_CTL_HDR_BYTES;
    const uint8_t *tlv = x->req + VDM_SND_CTL_HDR_BYTES;

    if (code == VDM_SND_R_CTL_TLV_WRITE) {
        need = VDM_SND_CTL_ACCESS_TLV_WRITE;
    }
    if ((c->access & need) == 0u) {
        return bad(x, "snd: TLV request without the access right");
    }
    if (!VDM_HAS_HOOK(s->ops, struct vdm_snd_ops, ctl_tlv) ||
        ((x->c->read_len - VDM_SND_CTL_HDR_BYTES) >
         (VDM_SND_CTL_TLV_HDR_BYTES + VDM_SND_TLV_MAX_BYTES)))
        return VDM_SND_S_NOT_SUPP;
    if ((x->n < (VDM_SND_CTL_HDR_BYTES + VDM_SND_CTL_TLV_HDR_BYTES)) ||
        (vdm_le32(tlv + 4) > (len - VDM_SND_CTL_TLV_HDR_BYTES))) {
        return bad(x, "snd: TLV request shorter than its length");
    }
    return snd_host_status(s->ops->ctl_tlv(s->host, id, code, tlv, len));
}

static uint32_t ctl_req(struct ctl *x, uint32_t code)
{
    struct snd *s = x->s;
    uint32_t id;

    /* "If VIRTIO_SND_F_CTLS has been negotiated, the following messages
     * are available". */
    if ((vdm_dev_features(s->dev) & VDM_SND_F_CTLS) == 0u) {
        return VDM_SND_S_NOT_SUPP;
    }
    if (code == VDM_SND_R_CTL_INFO) {
        return info_req(x, code);
    }
    if (x->n < VDM_SND_CTL_HDR_BYTES) {
        return bad(x, "snd: control request too short");
    }
    id = vdm_le32(x->req + 4);
    if (id >= s->nctls) {
        return bad(x, "snd: request for an unknown control");
    }
    switch (code) {
    case VDM_SND_R_CTL_ENUM_ITEMS: return enum_items(x, id);
    case VDM_SND_R_CTL_READ: return ctl_read(x, id);
    case VDM_SND_R_CTL_WRITE: return ctl_write(x, id);
    case VDM_SND_R_CTL_TLV_READ: return tlv_read(x, id);
    default: return tlv_write(x, id, code);
    }
}

/* ------------------------------------------------------------------------ */

/* The control queue's serve handler. */
int snd_ctl_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct ctl x;
    uint32_t code;
    uint32_t status;
    uint8_t wire[VDM_SND_HDR_BYTES];

    x.s = ctx;
    x.kr = kr;
    x.c = &kr->chain;
    x.payload = 0;
    *written = 0;
    if (x.c->write_len < VDM_SND_HDR_BYTES) {
        vdm_kit_warn_once(x.s->dev, &x.s->warned, SND_WARN_NOSTATUS,
                          VDM_LOG_WARN,
                          "snd: control request without room for a status");
        return VDM_KIT_DONE;
    }
    x.n = (uint32_t)vdm_chain_copy_from(
        x.c, 0, x.req,
        x.c->read_len < sizeof(x.req) ? x.c->read_len : sizeof(x.req));
    code = (x.n >= VDM_SND_HDR_BYTES) ? vdm_le32(x.req) : 0u;
    switch (code) {
    case VDM_SND_R_JACK_INFO:
    case VDM_SND_R_PCM_INFO:
    case VDM_SND_R_CHMAP_INFO: status = info_req(&x, code); break;
    case VDM_SND_R_JACK_REMAP: status = jack_remap(&x); break;
    case VDM_SND_R_PCM_SET_PARAMS:
    case VDM_SND_R_PCM_PREPARE:
    case VDM_SND_R_PCM_RELEASE:
    case VDM_SND_R_PCM_START:
    case VDM_SND_R_PCM_STOP: status = pcm_req(&x, code); break;
    case VDM_SND_R_CTL_INFO:
    case VDM_SND_R_CTL_ENUM_ITEMS:
    case VDM_SND_R_CTL_READ:
    case VDM_SND_R_CTL_WRITE:
    case VDM_SND_R_CTL_TLV_READ:
    case VDM_SND_R_CTL_TLV_WRITE:
    case VDM_SND_R_CTL_TLV_COMMAND: status = ctl_req(&x, code); break;
    default:
        status = (x.n < VDM_SND_HDR_BYTES)
                     ? bad(&x, "snd: control request without a header")
                     : VDM_SND_S_NOT_SUPP;
        break;
    }
    if (status == SND_CTL_WAIT) {
        return VDM_KIT_PENDING; /* the stream's last I/O completion ends it */
    }
    if (status != VDM_SND_S_OK) {
        x.payload = 0; /* an error answer is the status alone */
    }
    vdm_put_le32(wire, status);
    (void)vdm_chain_copy_to(x.c, 0, wire, sizeof(wire));
    *written = VDM_SND_HDR_BYTES + x.payload;
    return VDM_KIT_DONE;
}
