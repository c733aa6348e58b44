/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-can device type.
 *
 * Spec: "CAN Device" -- "Feature bits" (and their requirements), "Device
 * configuration layout", "Controller Mode", "CAN Message Transmission"
 * (device requirements), "CAN Message Reception", "BusOff Indication".
 *
 * Txq and Controlq are served through the device kit (vdm/kit.h); a frame
 * accepted by the host stays in its slot (VDM_KIT_PENDING) until the host
 * says the bus took it (LATE_TX_ACK) or is answered at once without that
 * feature. Rxq buffers are taken one at a time when the host delivers a
 * frame (vdm_kit_take()). The kit's slots live in the caller's storage. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/can.h"

#include "abi_internal.h"
#include "vdm/kit.h"
#include "vdm/le.h"

#define CAN_MAGIC 0x7643414eu /* "vCAN" */
#define CAN_SLOT  64u         /* slot stride, as VDM_CAN_STORAGE_BYTES */
#define CAN_IOV   16u         /* bytes per span, as the macro */

#define CAN_TYPE_BITS                                                          \
    (VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD | VDM_CAN_F_RTR_FRAMES |         \
     VDM_CAN_F_LATE_TX_ACK)
#define CAN_ALL_FLAGS                                                          \
    (VDM_CAN_FLAGS_FD | VDM_CAN_FLAGS_EXTENDED | VDM_CAN_FLAGS_RTR)

/* A size-prefixed caller struct holds @p field (an older caller's may
 * not); VDM_HAS() spelt with size_t operands throughout. */
#define CAN_HAS(p, type, field)                                                \
    (((size_t)(p)->size) >=                                                    \
     ((size_t)offsetof(type, field) + sizeof(((type *)NULL)->field)))
/* An optional hook of the (non-NULL, checked at init) ops table. */
#define HOOK(s, f)                                                             \
    (CAN_HAS((s)->ops, struct vdm_can_ops, f) && ((s)->ops->f != NULL))

/* Offsets in struct virtio_can_tx_out / virtio_can_rx. */
#define H_TYPE    0u
#define H_LENGTH  2u
#define H_DLC     4u
#define H_PADDING 5u
#define H_XLPRIO  6u
#define H_FLAGS   8u
#define H_ID      12u

/* s->warned */
#define W_SHAPE   0x01u
#define W_TYPE    0x02u
#define W_FLAGS   0x04u
#define W_NOTNEG  0x08u
#define W_ID      0x10u
#define W_LEN     0x20u
#define W_RESV    0x40u
#define W_STOPPED 0x80u
#define W_CTRL    0x100u
#define W_RXSMALL 0x200u

_Static_assert(VDM_KIT_SLOT_BYTES(0) <= CAN_SLOT, "CAN_SLOT too small");
_Static_assert(sizeof(struct vdm_iov) <= CAN_IOV, "VDM_CAN_STORAGE_BYTES");
_Static_assert(sizeof(struct vdm_can_frame) == 80u, "frame layout");

struct can_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_can_ops *ops;
    void *host;
    uint64_t offered;
    uint16_t status;  /* config status (VDM_CAN_S_CTRL_BUSOFF) */
    uint8_t started;  /* controller mode: 1 STARTED, 0 STOPPED */
    uint8_t reserved; /* keeps the layout explicit */
    uint32_t tx_slots;
};

_Static_assert(sizeof(struct can_state) <= VDM_CAN_SIZE,
               "VDM_CAN_SIZE too small for struct can_state");
_Static_assert((size_t)alignof(struct can_state) <=
                   (size_t)alignof(struct vdm_can),
               "struct vdm_can storage is under-aligned");

VDM_OPAQUE_ACCESSORS(can_of, ccan_of, vdm_can, can_state, CAN_MAGIC)

static void warn(struct can_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

static int negotiated(const struct can_state *s, uint64_t bit)
{
    return ((vdm_dev_features(s->dev) & bit) != 0u) ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Frame rules (spec "CAN Message Transmission", shared by reception) */

/* A CAN FD length is one a DLC encodes: 0..8, 12, 16, 20, 24, 32, 48, 64. */
static int fd_length_ok(uint32_t len)
{
    int ok = 0;

    if (len <= 8u) {
        ok = 1;
    } else if ((len <= 24u) && ((len % 4u) == 0u)) {
        ok = 1;
    } else if ((len == 32u) || (len == 48u) || (len == 64u)) {
        ok = 1;
    } else {
        ok = 0;
    }
    return ok;
}

/* Check frame @p f against the rules and the negotiated features. Returns 0,
 * VDM_ENOTSUP (a type not negotiated, an undefined flag: "treated like a CAN
 * frame for which support has not been negotiated") or VDM_EINVAL (id,
 * length, DLC or a reserved field out of range); *why gets the warn bit. */
static int frame_check(const struct can_state *s, const struct vdm_can_frame *f,
                       uint32_t *why)
{
    uint32_t fd = f->flags & VDM_CAN_FLAGS_FD;
    uint32_t rtr = f->flags & VDM_CAN_FLAGS_RTR;
    uint32_t idmax = VDM_CAN_SFF_MAX;
    int rc = 0;

    if ((f->flags & ~CAN_ALL_FLAGS) != 0u) {
        *why = W_FLAGS;
        rc = VDM_ENOTSUP;
    } else if (((fd != 0u) && (negotiated(s, VDM_CAN_F_CAN_FD) == 0)) ||
               ((fd == 0u) && (negotiated(s, VDM_CAN_F_CAN_CLASSIC) == 0)) ||
               ((rtr != 0u) &&
                ((fd != 0u) || (negotiated(s, VDM_CAN_F_RTR_FRAMES) == 0)))) {
        *why = W_NOTNEG;
        rc = VDM_ENOTSUP;
    } else {
        if ((f->flags & VDM_CAN_FLAGS_EXTENDED) != 0u) {
            idmax = VDM_CAN_EFF_MAX;
        }
        if (f->can_id > idmax) {
            *why = W_ID;
            rc = VDM_EINVAL;
        } else if (((fd != 0u) && (fd_length_ok(f->length) == 0)) ||
                   ((fd == 0u) && (f->length > VDM_CAN_CLASSIC_MAX))) {
            *why = W_LEN;
            rc = VDM_EINVAL;
        } else if ((f->dlc != 0u) &&
                   ((fd != 0u) || (f->length != VDM_CAN_CLASSIC_MAX) ||
                    (f->dlc < 8u) || (f->dlc > 15u))) {
            /* "If CAN classic length = 8 then DLC can be 8..15" */
            *why = W_LEN;
            rc = VDM_EINVAL;
        } else if ((f->reserved0 != 0u) || (f->reserved1 != 0u)) {
            *why = W_RESV;
            rc = VDM_EINVAL;
        } else {
            rc = 0;
        }
    }
    return rc;
}

/* Payload bytes on the wire: none for an RTR frame. */
static uint32_t payload_len(const struct vdm_can_frame *f)
{
    uint32_t n = f->length;

    if ((f->flags & VDM_CAN_FLAGS_RTR) != 0u) {
        n = 0u;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Txq */

static uint32_t answer(struct vdm_kit_req *kr, uint8_t result)
{
    uint32_t written = 0u;

    if (kr->chain.write_len >= VDM_CAN_TX_IN_BYTES) {
        written = (uint32_t)vdm_chain_copy_to(&kr->chain, 0u, &result, 1u);
    }
    return written;
}

/* Read and validate the frame of a Txq chain into @p f. 0 or the warn bit. */
static uint32_t tx_parse(struct can_state *s, const struct vdm_chain *c,
                         struct vdm_can_frame *f)
{
    uint8_t h[VDM_CAN_HDR_BYTES];
    uint32_t why = 0u;
    uint32_t need;

    __builtin_memset(f, 0, sizeof(*f));
    if ((c->read_len < VDM_CAN_HDR_BYTES) ||
        (c->write_len < VDM_CAN_TX_IN_BYTES) ||
        (vdm_chain_copy_from(c, 0u, h, sizeof(h)) != sizeof(h))) {
        why = W_SHAPE;
    } else if (vdm_le16(&h[H_TYPE]) != VDM_CAN_MSG_TX) {
        why = W_TYPE;
    } else if ((h[H_PADDING] != 0u) || (vdm_le16(&h[H_XLPRIO]) != 0u)) {
        why = W_RESV;
    } else {
        f->length = vdm_le16(&h[H_LENGTH]);
        f->dlc = h[H_DLC];
        f->flags = vdm_le32(&h[H_FLAGS]);
        f->can_id = vdm_le32(&h[H_ID]);
        if (frame_check(s, f, &why) == 0) {
            need = payload_len(f);
            if ((c->read_len - VDM_CAN_HDR_BYTES) < need) {
                why = W_SHAPE;
            } else if (need != 0u) {
                (void)vdm_chain_copy_from(c, VDM_CAN_HDR_BYTES, f->data, need);
            } else {
                why = 0u;
            }
        }
    }
    return why;
}

static int can_serve_tx(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct can_state *s = ctx;
    struct vdm_can_frame f;
    uintptr_t token;
    uint32_t why = tx_parse(s, &kr->chain, &f);
    int rc = VDM_KIT_DONE;

    if ((why == 0u) && (s->started == 0u)) {
        /* "In the STOPPED state the device marks messages ... as used with
         * result VIRTIO_CAN_RESULT_NOT_OK without transmitting them" */
        why = W_STOPPED;
    }
    if (why != 0u) {
        warn(s, why, "can: Txq frame refused");
        *written = answer(kr, VDM_CAN_RESULT_NOT_OK);
    } else {
        token = vdm_kit_token(&s->kit, kr);
        if (s->ops->transmit(s->host, &f, token) < 0) {
            *written = answer(kr, VDM_CAN_RESULT_NOT_OK);
        } else if (vdm_kit_lookup(&s->kit, token) == NULL) {
            rc = VDM_KIT_PENDING; /* completed from inside transmit() */
        } else if (negotiated(s, VDM_CAN_F_LATE_TX_ACK) != 0) {
            rc = VDM_KIT_PENDING; /* used when the bus took it */
        } else {
            /* Without LATE_TX_ACK: "MAY already be marked as used ... when
             * the transmission request has been ... scheduled". */
            *written = answer(kr, VDM_CAN_RESULT_OK);
        }
    }
    return rc;
}

/* Answer every live frame at the host NOT_OK; free abandoned slots too
 * (the host forgets their tokens). Returns frames answered. */
static int cancel_tx(struct can_state *s)
{
    uint32_t cursor = 0u;
    uintptr_t token = 0u;
    int n = 0;

    while (vdm_kit_pending(&s->kit, VDM_CAN_QUEUE_TX, &cursor, &token) == 1) {
        struct vdm_kit_req *kr = vdm_kit_lookup(&s->kit, token);

        if (kr != NULL) {
            if (vdm_kit_req_live(kr) != 0) {
                (void)vdm_kit_finish(&s->kit, kr,
                                     answer(kr, VDM_CAN_RESULT_NOT_OK));
                n++;
            } else {
                (void)vdm_kit_finish(&s->kit, kr, 0u);
            }
        }
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Controlq (spec "Controller Mode") */

static uint8_t ctrl_start(struct can_state *s)
{
    uint8_t res = VDM_CAN_RESULT_OK;

    if (s->started == 0u) {
        if ((HOOK(s, start)) && (s->ops->start(s->host) < 0)) {
            res = VDM_CAN_RESULT_NOT_OK;
        } else {
            /* "the device updates the configuration status before marking
             * the request used" */
            s->status = 0u;
            s->started = 1u;
        }
    }
    return res;
}

static uint8_t ctrl_stop(struct can_state *s)
{
    uint8_t res = VDM_CAN_RESULT_OK;

    if (s->started != 0u) {
        s->started = 0u;
        if ((HOOK(s, stop)) && (s->ops->stop(s->host) < 0)) {
            res = VDM_CAN_RESULT_NOT_OK;
        }
        /* "On transition to the STOPPED state the device cancels all CAN
         * messages already pending for transmission" */
        (void)cancel_tx(s);
    }
    return res;
}

static int can_serve_control(void *ctx, struct vdm_kit_req *kr,
                             uint32_t *written)
{
    struct can_state *s = ctx;
    uint8_t req[VDM_CAN_CONTROL_OUT_BYTES];
    uint8_t res = VDM_CAN_RESULT_NOT_OK;
    uint32_t type;

    if ((kr->chain.read_len < VDM_CAN_CONTROL_OUT_BYTES) ||
        (kr->chain.write_len < VDM_CAN_CONTROL_IN_BYTES) ||
        (vdm_chain_copy_from(&kr->chain, 0u, req, sizeof(req)) !=
         sizeof(req))) {
        warn(s, W_CTRL, "can: Controlq request of the wrong size");
    } else {
        type = vdm_le16(req);
        if (type == VDM_CAN_SET_CTRL_MODE_START) {
            res = ctrl_start(s);
        } else if (type == VDM_CAN_SET_CTRL_MODE_STOP) {
            res = ctrl_stop(s);
        } else {
            warn(s, W_CTRL, "can: unknown Controlq message");
        }
    }
    *written = answer(kr, res);
    return VDM_KIT_DONE;
}

/* Rxq chains are only taken (vdm_kit_take()); never served. */
static int can_serve_rx(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    (void)ctx;
    (void)kr;
    *written = 0u;
    return VDM_EAGAIN;
}

static const struct vdm_kit_queue can_queues[VDM_CAN_NUM_QUEUES] = {
    {.serve = can_serve_tx,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 1u,
     .status_err = {VDM_CAN_RESULT_NOT_OK}},
    {.serve = can_serve_rx, .status_at = VDM_KIT_STATUS_NONE},
    {.serve = can_serve_control,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 1u,
     .status_err = {VDM_CAN_RESULT_NOT_OK}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct can_state *can_dev_state(struct vdm_dev *d)
{
    struct can_state *s = (struct can_state *)vdm_dev_priv(d);
    struct can_state *r = NULL;

    if ((s != NULL) && (s->magic == CAN_MAGIC)) {
        r = s;
    }
    return r;
}

static void can_reset(struct vdm_dev *d)
{
    struct can_state *s = can_dev_state(d);

    if (s != NULL) {
        vdm_kit_reset(&s->kit, UINT16_MAX);
        if ((s->started != 0u) && (HOOK(s, stop))) {
            (void)s->ops->stop(s->host);
        }
        (void)cancel_tx(s); /* abandoned: slots freed, nothing written */
        s->started = 0u;
        s->status = 0u;
        s->warned = 0u;
    }
}

static void can_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct can_state *s = can_dev_state(d);

    if ((s != NULL) && (q < VDM_CAN_NUM_QUEUES)) {
        vdm_kit_reset(&s->kit, q);
        /* Frames at the host stay there: their slots are dropped when the
         * host completes them. */
    }
}

static void can_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct can_state *s = can_dev_state(d);

    if (s != NULL) {
        if (q == VDM_CAN_QUEUE_RX) {
            if (HOOK(s, rx_ready)) {
                s->ops->rx_ready(s->host);
            }
        } else if (q < VDM_CAN_NUM_QUEUES) {
            (void)vdm_kit_run(&s->kit, q);
        } else {
            /* no such queue: nothing to do */
        }
    }
}

static void can_driver_ok(struct vdm_dev *d)
{
    can_queue_notify(d, VDM_CAN_QUEUE_CONTROL);
    can_queue_notify(d, VDM_CAN_QUEUE_TX);
    can_queue_notify(d, VDM_CAN_QUEUE_RX);
}

/* "It is required that at least one of VIRTIO_CAN_F_CAN_CLASSIC and
 * VIRTIO_CAN_F_CAN_FD is negotiated." (RTR's need: the deps table.) */
static int can_features_ok(struct vdm_dev *d, uint64_t accepted)
{
    int rc = 0;

    (void)d;
    if ((accepted & (VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD)) == 0u) {
        rc = VDM_EINVAL;
    }
    return rc;
}

static void can_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct can_state *s = can_dev_state(d);
    uint8_t cfg[VDM_CAN_CONFIG_BYTES] = {0u, 0u};

    if (s != NULL) {
        vdm_put_le16(&cfg[VDM_CAN_CFG_STATUS], s->status);
    }
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

static const struct vdm_feature_dep can_deps[1] = {
    {.feature = VDM_CAN_F_RTR_FRAMES, .needs = VDM_CAN_F_CAN_CLASSIC},
};

/* Save and restore (vdm/state.h): 8 bytes, u8 started (controller mode:
 * 1 STARTED, 0 STOPPED), u8 0, le16 configuration status (only
 * VIRTIO_CAN_S_CTRL_BUSOFF), le32 0 (docs/state-format.md). Frames at the
 * host are chains in flight (re-queued). A started controller is started
 * at the destination's host (vdm_can_ops::start). */
#define CAN_STATE_BYTES 8u

static int can_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct can_state *s = (const struct can_state *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    int rc = (int)CAN_STATE_BYTES;

    if ((s == NULL) || (s->magic != CAN_MAGIC)) {
        rc = VDM_EINVAL;
    } else if (p == NULL) {
        /* the size only */
    } else if (len < CAN_STATE_BYTES) {
        rc = VDM_ENOSPC;
    } else {
        __builtin_memset(p, 0, CAN_STATE_BYTES);
        p[0] = s->started;
        vdm_put_le16(&p[2], s->status);
    }
    return rc;
}

/* Spec "Controller Mode": the controller leaves STOPPED only by a
 * controlq START (after DRIVER_OK), which clears the status; bus-off stops
 * it. So: started and bus-off never together, either only when live. */
static int can_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct can_state *s = can_dev_state(d);
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t st;
    int rc = 0;

    if ((s == NULL) || (p == NULL) || (len != CAN_STATE_BYTES)) {
        return VDM_EINVAL;
    }
    st = vdm_le16(&p[2]);
    if ((p[0] > 1u) || (p[1] != 0u) || (vdm_le32(&p[4]) != 0u) ||
        ((st & ~(uint32_t)VDM_CAN_S_CTRL_BUSOFF) != 0u) ||
        ((p[0] != 0u) && (st != 0u)) ||
        (((p[0] != 0u) || (st != 0u)) &&
         ((vdm_dev_status(d) & VDMI_STATUS_RAN) == 0u))) {
        rc = VDM_EINVAL;
    } else if ((p[0] != 0u) && (HOOK(s, start)) &&
               (s->ops->start(s->host) < 0)) {
        rc = VDM_EIO;
    } else {
        s->started = p[0];
        s->status = (uint16_t)st;
    }
    return rc;
}

static const struct vdm_device_class can_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_CAN,
    .name = "can",
    .config_size = VDM_CAN_CONFIG_BYTES,
    .max_queues = VDM_CAN_NUM_QUEUES,
    .deps = can_deps,
    .ndeps = 1u,
    .features_ok = can_features_ok,
    .reset = can_reset,
    .driver_ok = can_driver_ok,
    .queue_notify = can_queue_notify,
    .queue_reset = can_queue_reset,
    .config_read = can_config_read,
    .state_save = can_state_save,
    .state_restore = can_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static int check_config(const struct vdm_can_config *cfg)
{
    uint64_t f = cfg->features;
    int rc = 0;

    if ((cfg->ops == NULL) || (cfg->storage == NULL) || (cfg->tx_slots == 0u) ||
        (cfg->tx_slots > VDM_CAN_MAX_TX_SLOTS) ||
        (((uintptr_t)cfg->storage & 7u) != 0u) ||
        (cfg->storage_bytes < VDM_CAN_STORAGE_BYTES(cfg->tx_slots))) {
        rc = VDM_EINVAL;
    } else if (!CAN_HAS(cfg->ops, struct vdm_can_ops, transmit)) {
        rc = VDM_ESIZE;
    } else if ((cfg->ops->transmit == NULL) ||
               ((f & ~(uint64_t)CAN_TYPE_BITS) != 0u) ||
               ((f & (VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD)) == 0u) ||
               (((f & VDM_CAN_F_RTR_FRAMES) != 0u) &&
                ((f & VDM_CAN_F_CAN_CLASSIC) == 0u))) {
        rc = VDM_EINVAL;
    } else {
        rc = 0;
    }
    return rc;
}

int vdm_can_init(struct vdm_can *can, struct vdm_dev *dev,
                 const struct vdm_can_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct can_state *s;
    uint8_t *mem;
    int rc;

    if ((can == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (!CAN_HAS(cfg, struct vdm_can_config, storage_bytes)) {
        return VDM_ESIZE;
    }
    rc = check_config(cfg);
    if (rc < 0) {
        return rc;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = VDM_CAN_NUM_QUEUES;
    }
    if (dc.num_queues != VDM_CAN_NUM_QUEUES) {
        return VDM_EINVAL;
    }

    __builtin_memset(can, 0, sizeof(*can));
    s = (struct can_state *)(void *)can->opaque;
    mem = cfg->storage;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->offered = cfg->features;
    s->tx_slots = cfg->tx_slots;

    kc.num_queues = VDM_CAN_NUM_QUEUES;
    kc.nqdesc = VDM_CAN_NUM_QUEUES;
    kc.queues = can_queues;
    kc.ctx = s;
    kc.slots = mem;
    kc.iovs = (struct vdm_iov *)(void *)&mem[VDM_KIT_SLOTS_BYTES(
        VDM_CAN_NUM_QUEUES, cfg->tx_slots, CAN_SLOT)];
    kc.slot_bytes = CAN_SLOT;
    kc.per_queue = cfg->tx_slots;
    kc.iov_per_req = VDM_CAN_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &can_class;
    dc.priv = s;
    /* Refused frames are answered at once, accepted ones when the bus took
     * them: used order is not ring order, so no IN_ORDER. */
    dc.features =
        vdm_kit_features(cfg->features, base->features, VDM_F_IN_ORDER);
    s->magic = CAN_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0u;
    }
    return rc;
}

int vdm_can_tx_done(struct vdm_can *can, uintptr_t token, uint32_t result)
{
    struct can_state *s = can_of(can);
    struct vdm_kit_req *kr;
    uint8_t res;
    int rc = 0;

    if ((s == NULL) || (result > VDM_CAN_RESULT_NOT_OK)) {
        return VDM_EINVAL;
    }
    kr = vdm_kit_lookup(&s->kit, token);
    if ((kr == NULL) || (kr->queue != VDM_CAN_QUEUE_TX)) {
        rc = VDM_ENOENT;
    } else if (vdm_kit_req_live(kr) == 0) {
        (void)vdm_kit_finish(&s->kit, kr, 0u); /* reset: drop it */
        rc = VDM_ENOENT;
    } else {
        res = (uint8_t)result;
        (void)vdm_kit_finish(&s->kit, kr, answer(kr, res));
    }
    return rc;
}

int vdm_can_receive(struct vdm_can *can, const struct vdm_can_frame *f)
{
    struct can_state *s = can_of(can);
    struct vdm_kit_req *kr = NULL;
    uint8_t h[VDM_CAN_HDR_BYTES];
    uint32_t why = 0u;
    uint32_t n;
    int rc;

    if ((s == NULL) || (f == NULL)) {
        return VDM_EINVAL;
    }
    if ((vdm_dev_live(s->dev) == 0) || (s->started == 0u)) {
        return VDM_ESTATE;
    }
    rc = frame_check(s, f, &why);
    if (rc < 0) {
        return rc; /* the host's frame: not the guest's fault, no warning */
    }
    rc = vdm_kit_take(&s->kit, VDM_CAN_QUEUE_RX, &kr);
    if (rc <= 0) {
        return (rc == 0) ? 0 : VDM_ESTATE;
    }
    n = payload_len(f);
    if (kr->chain.write_len < (VDM_CAN_HDR_BYTES + n)) {
        warn(s, W_RXSMALL, "can: Rxq buffer too small for a frame");
        (void)vdm_kit_finish(&s->kit, kr, 0u);
        return VDM_ENOSPC;
    }
    __builtin_memset(h, 0, sizeof(h));
    vdm_put_le16(&h[H_TYPE], (uint16_t)VDM_CAN_MSG_RX);
    vdm_put_le16(&h[H_LENGTH], f->length);
    h[H_DLC] = f->dlc;
    vdm_put_le32(&h[H_FLAGS], f->flags);
    vdm_put_le32(&h[H_ID], f->can_id);
    (void)vdm_chain_copy_to(&kr->chain, 0u, h, sizeof(h));
    if (n != 0u) {
        (void)vdm_chain_copy_to(&kr->chain, VDM_CAN_HDR_BYTES, f->data, n);
    }
    (void)vdm_kit_finish(&s->kit, kr, VDM_CAN_HDR_BYTES + n);
    return 1;
}

int vdm_can_bus_off(struct vdm_can *can)
{
    struct can_state *s = can_of(can);
    int n;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (s->started == 0u) {
        return VDM_ESTATE;
    }
    /* "After bus-off detection the CAN controller is in STOPPED state ...
     * all CAN messages pending for transmission are put into the used queue
     * with result VIRTIO_CAN_RESULT_NOT_OK." */
    s->started = 0u;
    s->status |= (uint16_t)VDM_CAN_S_CTRL_BUSOFF;
    n = cancel_tx(s);
    vdm_dev_config_changed(s->dev);
    return n;
}

int vdm_can_started(const struct vdm_can *can)
{
    const struct can_state *s = ccan_of(can);
    int rc = VDM_EINVAL;

    if ((s != NULL) && (s->started != 0u)) {
        rc = 1;
    } else if (s != NULL) {
        rc = 0;
    } else {
        rc = VDM_EINVAL;
    }
    return rc;
}

struct vdm_dev *vdm_can_dev(const struct vdm_can *can)
{
    const struct can_state *s = ccan_of(can);
    struct vdm_dev *d = NULL;

    if (s != NULL) {
        d = s->dev;
    }
    return d;
}
