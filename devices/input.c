/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Input device: spec section "Input Device" (device-types/input).
 *
 * "Device behavior mirrors that of the evdev layer in Linux": the eventq
 * carries evdev events to the driver, the statusq carries feedback (LEDs,
 * repeat rate) back, and the configuration space answers capability
 * queries selected by (select, subsel).
 */
#include "vdm/devices/input.h"

#include <stdbool.h>

#include "abi_internal.h"
#include "le.h"
#include "vdm/kit.h"

/* Spans one eventq or statusq chain may have (an event is 8 bytes). */
#define INPUT_IOV_MAX 8

/* s->flags */
#define IN_DROPPING    1u /* discarding the rest of a sequence on overflow */
#define IN_SYN_PENDING 2u /* SYN_DROPPED owed to the driver */

/* s->warned: driver errors already logged since the last reset */
#define IN_WARN_EVSMALL  1u
#define IN_WARN_STSMALL  2u
#define IN_WARN_SPANS    4u
#define IN_WARN_CFGWRITE 8u

struct input_state {
    struct vdm_dev *dev;
    struct vdm_input_config cfg; /* the caller's, copied at init */
    uint64_t dropped;
    uint32_t head;  /* oldest waiting event in cfg.queue */
    uint32_t count; /* waiting events */
    uint32_t flags;
    uint32_t warned;
    /* struct virtio_input_config as the driver sees it, rebuilt whenever
     * the driver writes select or subsel */
    uint8_t space[VDM_INPUT_CONFIG_BYTES];
    struct vdm_kit kit;
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(2, 1,
                                                       VDM_KIT_SLOT_BYTES(0))];
    struct vdm_iov iov[2 * INPUT_IOV_MAX]; /* eventq slot, statusq slot */
};

_Static_assert(sizeof(struct input_state) <= VDM_INPUT_SIZE,
               "VDM_INPUT_SIZE too small for struct input_state");
_Static_assert(alignof(struct input_state) <= 8,
               "struct input_state needs more alignment than vdm_input has");
_Static_assert(sizeof(struct vdm_input_event) == 8,
               "struct vdm_input_event must stay 8 bytes");

static struct input_state *input_state(struct vdm_input *in)
{
    return (struct input_state *)(void *)in->opaque;
}

static const struct input_state *input_cstate(const struct vdm_input *in)
{
    return (const struct input_state *)(const void *)in->opaque;
}

static void input_warn_once(struct input_state *s, uint32_t bit,
                            const char *msg)
{
    if (s->warned & bit)
        return;
    s->warned |= bit;
    vdm_dev_log(s->dev, VDM_LOG_WARN, msg);
}

/* --- configuration space ("Device configuration layout") ----------------- */

/* u.string: "Strings do not include a NUL terminator." */
static uint8_t input_put_string(uint8_t *u, const char *str)
{
    uint32_t n = 0;

    if (!str)
        return 0;
    while (n < VDM_INPUT_CFG_DATA_MAX && str[n])
        n++;
    __builtin_memcpy(u, str, n);
    return (uint8_t)n;
}

static uint8_t input_put_bitmap(uint8_t *u, const uint8_t *bitmap, uint32_t len)
{
    if (!bitmap || len == 0)
        return 0;
    __builtin_memcpy(u, bitmap, len); /* len <= 128, checked at init */
    return (uint8_t)len;
}

/* Answer the current (select, subsel): fill `size` and the union. "A
 * device MUST set the size field to zero if it doesn't support a given
 * select and subsel combination." */
static void input_select(struct input_state *s)
{
    const struct vdm_input_config *c = &s->cfg;
    uint8_t select = s->space[VDM_INPUT_CFG_OFF_SELECT];
    uint8_t subsel = s->space[VDM_INPUT_CFG_OFF_SUBSEL];
    uint8_t *u = s->space + VDM_INPUT_CFG_OFF_U;
    uint8_t size = 0;

    __builtin_memset(s->space + VDM_INPUT_CFG_OFF_SIZE, 0,
                     sizeof(s->space) - VDM_INPUT_CFG_OFF_SIZE);
    switch (select) {
    case VDM_INPUT_CFG_ID_NAME: /* subsel is zero */
        if (subsel == 0)
            size = input_put_string(u, c->name);
        break;
    case VDM_INPUT_CFG_ID_SERIAL: /* subsel is zero */
        if (subsel == 0)
            size = input_put_string(u, c->serial);
        break;
    case VDM_INPUT_CFG_ID_DEVIDS: /* subsel is zero; u.ids */
        if (subsel == 0) {
            vdm_put_le16(u, c->ids.bustype);
            vdm_put_le16(u + 2, c->ids.vendor);
            vdm_put_le16(u + 4, c->ids.product);
            vdm_put_le16(u + 6, c->ids.version);
            size = 8;
        }
        break;
    case VDM_INPUT_CFG_PROP_BITS: /* subsel is zero; INPUT_PROP_* bits */
        if (subsel == 0)
            size = input_put_bitmap(u, c->prop_bits, c->prop_len);
        break;
    case VDM_INPUT_CFG_EV_BITS: /* subsel is the event type */
        for (uint32_t i = 0; i < c->nev; i++) {
            if (c->ev[i].type == subsel) {
                size = input_put_bitmap(u, c->ev[i].bitmap, c->ev[i].len);
                break;
            }
        }
        break;
    case VDM_INPUT_CFG_ABS_INFO: /* subsel is the axis; u.abs */
        for (uint32_t i = 0; i < c->nabs; i++) {
            const struct vdm_input_absinfo *a = &c->abs[i];
            if (a->axis == subsel) {
                vdm_put_le32(u, (uint32_t)a->min);
                vdm_put_le32(u + 4, (uint32_t)a->max);
                vdm_put_le32(u + 8, (uint32_t)a->fuzz);
                vdm_put_le32(u + 12, (uint32_t)a->flat);
                vdm_put_le32(u + 16, (uint32_t)a->res);
                size = 20;
                break;
            }
        }
        break;
    default: /* VIRTIO_INPUT_CFG_UNSET and unknown selectors */ break;
    }
    s->space[VDM_INPUT_CFG_OFF_SIZE] = size;
}

static void input_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                              uint32_t len)
{
    struct input_state *s = vdm_dev_priv(d);

    /* bounds checked by the device core against config_size */
    __builtin_memcpy(buf, s->space + off, len);
}

/* "A driver MUST NOT write to configuration fields other than select and
 * subsel": other bytes of a write are ignored. */
static void input_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                               uint32_t len)
{
    struct input_state *s = vdm_dev_priv(d);
    const uint8_t *b = buf;
    int touched = 0;

    for (uint32_t i = 0; i < len; i++) {
        uint32_t at = off + i;
        if (at == VDM_INPUT_CFG_OFF_SELECT || at == VDM_INPUT_CFG_OFF_SUBSEL) {
            s->space[at] = b[i];
            touched = 1;
        } else {
            input_warn_once(s, IN_WARN_CFGWRITE,
                            "input: driver wrote a read-only config field");
        }
    }
    if (touched)
        input_select(s);
}

/* --- the event ring --------------------------------------------------- */

static uint32_t ring_index(const struct input_state *s, uint32_t i)
{
    uint32_t at = s->head + i; /* head, i < queue_len <= UINT32_MAX */
    if (at < s->head || at >= s->cfg.queue_len)
        at -= s->cfg.queue_len;
    return at;
}

static void ring_put(struct input_state *s, uint16_t type, uint16_t code,
                     uint32_t value)
{
    struct vdm_input_event *e = &s->cfg.queue[ring_index(s, s->count)];
    e->type = type;
    e->code = code;
    e->value = value;
    s->count++;
}

static int is_syn(uint16_t type, uint16_t code, uint16_t want)
{
    return type == VDM_INPUT_EV_SYN && code == want;
}

/* The last two waiting events are SYN_DROPPED, SYN_REPORT. */
static int ring_ends_with_marker(const struct input_state *s)
{
    if (s->count < 2)
        return 0;
    const struct vdm_input_event *a =
        &s->cfg.queue[ring_index(s, s->count - 2)];
    const struct vdm_input_event *b =
        &s->cfg.queue[ring_index(s, s->count - 1)];
    return is_syn(a->type, a->code, VDM_INPUT_SYN_DROPPED) &&
           is_syn(b->type, b->code, VDM_INPUT_SYN_REPORT);
}

/* SYN_DROPPED is owed and the ring holds only whole sequences: append it,
 * closed by its own SYN_REPORT so that a driver following evdev rules
 * ("ignore events up to and including the next SYN_REPORT") loses nothing
 * more. */
static void ring_emit_syn_dropped(struct input_state *s)
{
    if (!(s->flags & IN_SYN_PENDING) || (s->flags & IN_DROPPING))
        return;
    if (s->cfg.queue_len - s->count < 2)
        return;
    ring_put(s, VDM_INPUT_EV_SYN, VDM_INPUT_SYN_DROPPED, 0);
    ring_put(s, VDM_INPUT_EV_SYN, VDM_INPUT_SYN_REPORT, 0);
    s->flags &= ~IN_SYN_PENDING;
}

/* Queue one event; on overflow drop its whole sequence ("Device Operation":
 * a device SHOULD either buffer or drop the entire sequence). */
static int ring_add(struct input_state *s, uint16_t type, uint16_t code,
                    uint32_t value)
{
    if (s->flags & IN_DROPPING) {
        s->dropped++;
        if (is_syn(type, code, VDM_INPUT_SYN_REPORT))
            s->flags &= ~IN_DROPPING; /* the lost sequence ends here */
        return VDM_ENOSPC;
    }
    ring_emit_syn_dropped(s);
    if (!(s->flags & IN_SYN_PENDING) && s->count < s->cfg.queue_len) {
        ring_put(s, type, code, value);
        return 0;
    }

    /* Overflow. Remove the unfinished sequence at the tail of the ring
     * (everything after the last SYN_REPORT still waiting). */
    while (s->count > 0) {
        const struct vdm_input_event *e =
            &s->cfg.queue[ring_index(s, s->count - 1)];
        if (is_syn(e->type, e->code, VDM_INPUT_SYN_REPORT))
            break;
        if (!is_syn(e->type, e->code, VDM_INPUT_SYN_DROPPED))
            s->dropped++; /* our own marker is re-emitted, not counted */
        s->count--;
    }
    s->dropped++;
    /* One SYN_DROPPED per loss: none more if the ring already ends with
     * one that the driver has not been given yet. */
    if (!ring_ends_with_marker(s))
        s->flags |= IN_SYN_PENDING;
    if (!is_syn(type, code, VDM_INPUT_SYN_REPORT))
        s->flags |= IN_DROPPING;
    return VDM_ENOSPC;
}

/* --- eventq: device to driver ------------------------------------------ */

/* Deliver the oldest waiting event into one eventq buffer (the kit's serve
 * handler for the eventq). One event per buffer: drivers post buffers of
 * exactly one virtio_input_event. No event waiting: the buffer goes back
 * to the ring (VDM_EAGAIN) until vdm_input_send(). */
static int input_serve_event(void *ctx, struct vdm_kit_req *r,
                             uint32_t *written)
{
    struct input_state *s = ctx;
    const struct vdm_chain *c = &r->chain;

    ring_emit_syn_dropped(s);
    if (s->count == 0)
        return VDM_EAGAIN;
    if (r->truncated) /* the spans we got are the chain's start */
        input_warn_once(s, IN_WARN_SPANS,
                        "input: eventq chain has too many spans");
    *written = 0;
    if (c->write_len < VDM_INPUT_EVENT_BYTES) {
        /* "These buffers MUST be device-writable and MUST be at least the
         * size of struct virtio_input_event": return it unused, the event
         * waits for the next buffer. */
        input_warn_once(s, IN_WARN_EVSMALL,
                        "input: eventq buffer smaller than an event");
        return VDM_KIT_DONE;
    }
    {
        const struct vdm_input_event *e = &s->cfg.queue[s->head];
        uint8_t wire[VDM_INPUT_EVENT_BYTES];

        vdm_put_le16(wire, e->type);
        vdm_put_le16(wire + 2, e->code);
        vdm_put_le32(wire + 4, e->value);
        if (vdm_chain_copy_to(c, 0, wire, sizeof(wire)) == sizeof(wire)) {
            s->head = ring_index(s, 1);
            s->count--;
            *written = sizeof(wire);
        }
    }
    return VDM_KIT_DONE;
}

/* statusq: driver to device (LED state and the like). */
static int input_serve_status(void *ctx, struct vdm_kit_req *r,
                              uint32_t *written)
{
    struct input_state *s = ctx;
    const struct vdm_input_ops *ops = s->cfg.ops;
    uint8_t wire[VDM_INPUT_EVENT_BYTES];
    bool have = false;

    (void)written;
    if (r->truncated) /* the spans we got are the chain's start */
        input_warn_once(s, IN_WARN_SPANS,
                        "input: statusq chain has too many spans");
    if (r->chain.read_len < VDM_INPUT_EVENT_BYTES) {
        /* "Buffers placed into the statusq by a driver MUST be at least
         * the size of struct virtio_input_event." */
        input_warn_once(s, IN_WARN_STSMALL,
                        "input: statusq buffer smaller than an event");
    } else {
        /* read once into a local copy */
        have = vdm_chain_copy_from(&r->chain, 0, wire, sizeof(wire)) ==
               sizeof(wire);
    }
    /* The chain goes back to the driver before the host hook runs, so the
     * hook may call vdm_input_send(). */
    (void)vdm_kit_finish(&s->kit, r, 0);
    if (have && ops && ops->status)
        ops->status(s->cfg.host, vdm_le16(wire), vdm_le16(wire + 2),
                    vdm_le32(wire + 4));
    return VDM_KIT_PENDING; /* already finished */
}

/* Chains longer than INPUT_IOV_MAX spans: the spans that fit hold the
 * event (both queues carry one 8-byte virtio_input_event at the start). */
static const struct vdm_kit_queue input_queues[] = {
    {.serve = input_serve_event, .status_at = VDM_KIT_STATUS_PREFIX},
    {.serve = input_serve_status, .status_at = VDM_KIT_STATUS_PREFIX},
};

static void input_flush(struct input_state *s)
{
    (void)vdm_kit_run(&s->kit, VDM_INPUT_QUEUE_EVENT);
}

static void input_status(struct input_state *s)
{
    (void)vdm_kit_run(&s->kit, VDM_INPUT_QUEUE_STATUS);
}

/* --- device class hooks ------------------------------------------------ */

static void input_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct input_state *s = vdm_dev_priv(d);

    if (q == VDM_INPUT_QUEUE_EVENT)
        input_flush(s);
    else if (q == VDM_INPUT_QUEUE_STATUS)
        input_status(s);
    else {
        /* no other queue */
    }
}

static void input_reset(struct vdm_dev *d)
{
    struct input_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, UINT16_MAX);
    s->head = 0;
    s->count = 0;
    s->flags = 0;
    s->warned = 0;
    s->space[VDM_INPUT_CFG_OFF_SELECT] = VDM_INPUT_CFG_UNSET;
    s->space[VDM_INPUT_CFG_OFF_SUBSEL] = 0;
    input_select(s);
}

static void input_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct input_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, q);
}

static void input_driver_ok(struct vdm_dev *d)
{
    struct input_state *s = vdm_dev_priv(d);

    /* Events sent before DRIVER_OK, and buffers posted before it. */
    input_flush(s);
    input_status(s);
}

#if VDM_CONFIG_STATE /* vdm/config.h: save and restore */
/* Save and restore (vdm/state.h): select, subsel, 2 bytes 0, the flags
 * (le32), the dropped count (le64), the waiting events (le32 count, 4
 * bytes 0, then 8 bytes each: type le16, code le16, value le32), oldest
 * first (docs/state-format.md). */
#define IN_STATE_FIXED 24u
#define IN_FLAGS_ALL   3u /* IN_DROPPING | IN_SYN_PENDING */

static int input_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct input_state *s = vdm_dev_priv(d);
    uint8_t *p = buf;
    uint32_t need;
    uint32_t i;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    /* count <= queue_len, which fits the image limit checked here */
    if (s->count > ((uint32_t)INT32_MAX - IN_STATE_FIXED) / 8u) {
        return VDM_ENOSPC;
    }
    need = IN_STATE_FIXED + (8u * s->count);
    if (p == NULL) {
        return (int)need;
    }
    if (len < need) {
        return VDM_ENOSPC;
    }
    __builtin_memset(p, 0, IN_STATE_FIXED);
    p[0] = s->space[VDM_INPUT_CFG_OFF_SELECT];
    p[1] = s->space[VDM_INPUT_CFG_OFF_SUBSEL];
    vdm_put_le32(&p[4], s->flags & IN_FLAGS_ALL);
    vdm_put_le64(&p[8], s->dropped);
    vdm_put_le32(&p[16], s->count);
    for (i = 0u; i < s->count; i++) {
        const struct vdm_input_event *e = &s->cfg.queue[ring_index(s, i)];
        uint8_t *o = &p[IN_STATE_FIXED + (8u * i)];
        vdm_put_le16(o, e->type);
        vdm_put_le16(&o[2], e->code);
        vdm_put_le32(&o[4], e->value);
    }
    return (int)need;
}

/* Spec "Input Device" / "Device configuration layout": select and subsel
 * are whatever the driver wrote; the waiting events must fit this
 * device's ring. */
static int input_state_restore(struct vdm_dev *d, const void *buf,
                               uint32_t len)
{
    struct input_state *s = vdm_dev_priv(d);
    const uint8_t *p = buf;
    uint32_t count;
    uint32_t flags;
    uint32_t i;

    if ((s == NULL) || (p == NULL) || (len < IN_STATE_FIXED)) {
        return VDM_EINVAL;
    }
    flags = vdm_le32(&p[4]);
    count = vdm_le32(&p[16]);
    if ((vdm_le16(&p[2]) != 0u) || (vdm_le32(&p[20]) != 0u) ||
        ((flags & ~(uint32_t)IN_FLAGS_ALL) != 0u)) {
        return VDM_EINVAL;
    }
    if (count > s->cfg.queue_len) {
        return VDM_ERANGE;
    }
    if ((((len - IN_STATE_FIXED) % 8u) != 0u) ||
        (((len - IN_STATE_FIXED) / 8u) != count)) {
        return VDM_EINVAL;
    }
    s->space[VDM_INPUT_CFG_OFF_SELECT] = p[0];
    s->space[VDM_INPUT_CFG_OFF_SUBSEL] = p[1];
    input_select(s);
    s->flags = flags;
    s->dropped = vdm_le64(&p[8]);
    s->head = 0u;
    s->count = count;
    for (i = 0u; i < count; i++) {
        const uint8_t *o = &p[IN_STATE_FIXED + (8u * i)];
        struct vdm_input_event *e = &s->cfg.queue[i];
        e->type = vdm_le16(o);
        e->code = vdm_le16(&o[2]);
        e->value = vdm_le32(&o[4]);
    }
    return 0;
}
#endif

static const struct vdm_device_class input_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_INPUT,
    .name = "input",
    .config_size = VDM_INPUT_CONFIG_BYTES,
    .max_queues = VDM_INPUT_NUM_QUEUES,
    .reset = input_reset,
    .driver_ok = input_driver_ok,
    .queue_notify = input_queue_notify,
    .queue_reset = input_queue_reset,
    .config_read = input_config_read,
    .config_write = input_config_write,
#if VDM_CONFIG_STATE
    .state_save = input_state_save,
    .state_restore = input_state_restore,
#endif
};

/* --- public API --------------------------------------------------------- */

static int input_check_config(const struct vdm_input_config *c)
{
    if (!c->queue || c->queue_len < 2)
        return VDM_EINVAL;
    if (c->ops && !VDM_HAS(c->ops, struct vdm_input_ops, status))
        return VDM_ESIZE;
    if (c->prop_len > VDM_INPUT_CFG_DATA_MAX || (c->prop_len && !c->prop_bits))
        return VDM_EINVAL;
    if (c->nev > VDM_INPUT_EV_MAX + 1u || (c->nev && !c->ev))
        return VDM_EINVAL;
    for (uint32_t i = 0; i < c->nev; i++) {
        const struct vdm_input_bits *b = &c->ev[i];
        if (b->type > VDM_INPUT_EV_MAX || !b->bitmap || b->len == 0 ||
            b->len > VDM_INPUT_CFG_DATA_MAX)
            return VDM_EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (c->ev[j].type == b->type)
                return VDM_EINVAL;
    }
    if (c->nabs > VDM_INPUT_ABS_MAX + 1u || (c->nabs && !c->abs))
        return VDM_EINVAL;
    for (uint32_t i = 0; i < c->nabs; i++) {
        if (c->abs[i].axis > VDM_INPUT_ABS_MAX)
            return VDM_EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (c->abs[j].axis == c->abs[i].axis)
                return VDM_EINVAL;
    }
    return 0;
}

int vdm_input_init(struct vdm_input *in, struct vdm_dev *dev,
                   const struct vdm_input_config *cfg,
                   const struct vdm_dev_config *base)
{
    if (!in || !dev || !cfg || !base)
        return VDM_EINVAL;
    if (!VDM_HAS(cfg, struct vdm_input_config, nabs))
        return VDM_ESIZE;
    int err = input_check_config(cfg);
    if (err < 0)
        return err;

    struct vdm_dev_config dc;
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0)
        return VDM_ESIZE;
    if (dc.num_queues == 0)
        dc.num_queues = VDM_INPUT_NUM_QUEUES;
    if (dc.num_queues != VDM_INPUT_NUM_QUEUES)
        return VDM_EINVAL;

    struct input_state *s = input_state(in);
    __builtin_memset(in, 0, sizeof(*in));
    s->dev = dev;
    /* cannot fail: cfg->size was checked above */
    (void)vdm_copy_sized(&s->cfg, sizeof(s->cfg), cfg, 0);
    input_select(s); /* select = UNSET: size 0 */
    {
        struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);

        kc.num_queues = VDM_INPUT_NUM_QUEUES;
        kc.nqdesc = 2;
        kc.queues = input_queues;
        kc.ctx = s;
        kc.slots = s->slots;
        kc.iovs = s->iov;
        kc.slot_bytes = VDM_KIT_SLOT_BYTES(0);
        kc.per_queue = 1;
        kc.iov_per_req = INPUT_IOV_MAX;
        err = vdm_kit_init(&s->kit, dev, &kc);
        if (err < 0)
            return err;
    }

    dc.cls = &input_class;
    dc.priv = s;
    /* "Feature bits: None.": the kit's policy. */
    dc.features = vdm_kit_features(0, base->features, 0);
    return vdm_dev_init(dev, &dc);
}

static int input_live(const struct input_state *s)
{
    return s->dev && vdm_dev_live(s->dev);
}

int vdm_input_send(struct vdm_input *in, uint16_t type, uint16_t code,
                   uint32_t value)
{
    if (!in)
        return VDM_EINVAL;
    struct input_state *s = input_state(in);
    if (!s->dev)
        return VDM_EINVAL;
    int r = ring_add(s, type, code, value);
    if (input_live(s))
        input_flush(s);
    return r;
}

int vdm_input_send_many(struct vdm_input *in, const struct vdm_input_event *ev,
                        uint32_t n)
{
    if (!in || (n && !ev))
        return VDM_EINVAL;
    struct input_state *s = input_state(in);
    if (!s->dev)
        return VDM_EINVAL;
    uint32_t ok = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ring_add(s, ev[i].type, ev[i].code, ev[i].value) == 0)
            ok++;
        /* keep the ring from overflowing while the driver has buffers */
        if (s->count == s->cfg.queue_len && input_live(s))
            input_flush(s);
    }
    if (input_live(s))
        input_flush(s);
    return ok > (uint32_t)INT32_MAX ? INT32_MAX : (int)ok;
}

uint64_t vdm_input_dropped(const struct vdm_input *in)
{
    return in ? input_cstate(in)->dropped : 0;
}

uint32_t vdm_input_pending(const struct vdm_input *in)
{
    return in ? input_cstate(in)->count : 0;
}

struct vdm_dev *vdm_input_dev(const struct vdm_input *in)
{
    return in ? input_cstate(in)->dev : NULL;
}

/* --- profiles ------------------------------------------------------------ */

/* 105-key PC keyboard: KEY_ESC(1)..KEY_KPDOT(83), KEY_102ND(86), F11(87),
 * F12(88), KPENTER(96)..RIGHTALT(100), HOME(102)..DELETE(111), PAUSE(119),
 * LEFTMETA(125), RIGHTMETA(126), COMPOSE(127). Bit n of byte n/8. */
static const uint8_t kbd_keys[16] = {
    0xfe,                                           /* 1..7 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* 8..71 */
    0xff,                                           /* 72..79 */
    0xcf,                                           /* 80..83, 86, 87 */
    0x01,                                           /* 88 */
    0xdf,                                           /* 96..100, 102, 103 */
    0xff,                                           /* 104..111 */
    0x80,                                           /* 119 */
    0xe0,                                           /* 125..127 */
};
static const uint8_t kbd_leds[1] = {(1u << VDM_INPUT_LED_NUML) |
                                    (1u << VDM_INPUT_LED_CAPSL) |
                                    (1u << VDM_INPUT_LED_SCROLLL)};
static const uint8_t kbd_rep[1] = {(1u << VDM_INPUT_REP_DELAY) |
                                   (1u << VDM_INPUT_REP_PERIOD)};
static const struct vdm_input_bits kbd_ev[] = {
    {.type = VDM_INPUT_EV_KEY, .len = sizeof(kbd_keys), .bitmap = kbd_keys},
    {.type = VDM_INPUT_EV_REP, .len = sizeof(kbd_rep), .bitmap = kbd_rep},
    {.type = VDM_INPUT_EV_LED, .len = sizeof(kbd_leds), .bitmap = kbd_leds},
};

/* Wheel mouse. BTN_LEFT/RIGHT/MIDDLE are 0x110..0x112: byte 34, bits 0-2. */
static const uint8_t mouse_btns[VDM_INPUT_BITMAP_BYTES(VDM_INPUT_BTN_MIDDLE)] =
    {[VDM_INPUT_BTN_LEFT / 8] = 0x07};
static const uint8_t mouse_rel[VDM_INPUT_BITMAP_BYTES(VDM_INPUT_REL_WHEEL)] = {
    (1u << VDM_INPUT_REL_X) | (1u << VDM_INPUT_REL_Y),
    1u << ((uint32_t)VDM_INPUT_REL_WHEEL - 8u)};
static const struct vdm_input_bits mouse_ev[] = {
    {.type = VDM_INPUT_EV_KEY, .len = sizeof(mouse_btns), .bitmap = mouse_btns},
    {.type = VDM_INPUT_EV_REL, .len = sizeof(mouse_rel), .bitmap = mouse_rel},
};

/* Multi-touch screen (type B protocol: slots and tracking ids). */
#define TOUCH_SLOTS 10
#define TOUCH_RANGE 32767
static const uint8_t touch_btns[VDM_INPUT_BITMAP_BYTES(VDM_INPUT_BTN_TOUCH)] = {
    [VDM_INPUT_BTN_TOUCH / 8] = 1u << ((uint32_t)VDM_INPUT_BTN_TOUCH % 8u)};
static const uint8_t touch_abs[VDM_INPUT_BITMAP_BYTES(
    VDM_INPUT_ABS_MT_TRACKING_ID)] = {
    [0] = (1u << VDM_INPUT_ABS_X) | (1u << VDM_INPUT_ABS_Y),
    [VDM_INPUT_ABS_MT_SLOT / 8] = 1u << ((uint32_t)VDM_INPUT_ABS_MT_SLOT % 8u),
    [VDM_INPUT_ABS_MT_POSITION_X / 8] =
        (1u << ((uint32_t)VDM_INPUT_ABS_MT_POSITION_X % 8u)) |
        (1u << ((uint32_t)VDM_INPUT_ABS_MT_POSITION_Y % 8u)),
    [VDM_INPUT_ABS_MT_TRACKING_ID / 8] =
        1u << ((uint32_t)VDM_INPUT_ABS_MT_TRACKING_ID % 8u),
};
_Static_assert(VDM_INPUT_ABS_MT_POSITION_X / 8 ==
                   VDM_INPUT_ABS_MT_POSITION_Y / 8,
               "MT_POSITION_X and _Y share a bitmap byte");
static const uint8_t touch_props[1] = {1u << VDM_INPUT_PROP_DIRECT};
static const struct vdm_input_bits touch_ev[] = {
    {.type = VDM_INPUT_EV_KEY, .len = sizeof(touch_btns), .bitmap = touch_btns},
    {.type = VDM_INPUT_EV_ABS, .len = sizeof(touch_abs), .bitmap = touch_abs},
};
static const struct vdm_input_absinfo touch_absinfo[] = {
    {.axis = VDM_INPUT_ABS_X, .min = 0, .max = TOUCH_RANGE},
    {.axis = VDM_INPUT_ABS_Y, .min = 0, .max = TOUCH_RANGE},
    {.axis = VDM_INPUT_ABS_MT_SLOT, .min = 0, .max = TOUCH_SLOTS - 1},
    {.axis = VDM_INPUT_ABS_MT_POSITION_X, .min = 0, .max = TOUCH_RANGE},
    {.axis = VDM_INPUT_ABS_MT_POSITION_Y, .min = 0, .max = TOUCH_RANGE},
    {.axis = VDM_INPUT_ABS_MT_TRACKING_ID, .min = 0, .max = 65535},
};

#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static int input_profile(struct vdm_input_config *cfg, const char *name,
                         uint16_t product, const uint8_t *props,
                         uint32_t prop_len, const struct vdm_input_bits *ev,
                         uint32_t nev, const struct vdm_input_absinfo *abs,
                         uint32_t nabs)
{
    if (!cfg)
        return VDM_EINVAL;
    if (!VDM_HAS(cfg, struct vdm_input_config, nabs))
        return VDM_ESIZE;
    cfg->name = name;
    cfg->serial = NULL;
    cfg->ids.bustype = VDM_INPUT_BUS_VIRTUAL;
    cfg->ids.vendor = 0;
    cfg->ids.product = product;
    cfg->ids.version = 1;
    cfg->prop_bits = props;
    cfg->prop_len = prop_len;
    cfg->ev = ev;
    cfg->nev = nev;
    cfg->abs = abs;
    cfg->nabs = nabs;
    return 0;
}

int vdm_input_profile_keyboard(struct vdm_input_config *cfg)
{
    return input_profile(cfg, "vdm keyboard", 1, NULL, 0, kbd_ev, COUNT(kbd_ev),
                         NULL, 0);
}

int vdm_input_profile_mouse(struct vdm_input_config *cfg)
{
    return input_profile(cfg, "vdm mouse", 2, NULL, 0, mouse_ev,
                         COUNT(mouse_ev), NULL, 0);
}

int vdm_input_profile_touch(struct vdm_input_config *cfg)
{
    return input_profile(cfg, "vdm touchscreen", 3, touch_props,
                         COUNT(touch_props), touch_ev, COUNT(touch_ev),
                         touch_absinfo, COUNT(touch_absinfo));
}
