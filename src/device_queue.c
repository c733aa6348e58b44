/* SPDX-License-Identifier: BSD-3-Clause */
/* Device core, the queues: the per-queue registers a transport exposes
 * (size, addresses, enable, reset, saved position) and driver
 * notifications.
 *
 * Spec: "Virtqueues", "Virtqueue Reset", "Device Initialization" (queue
 * set-up), "Driver Notifications", and the transports' queue registers. */
#include "vdm/device.h"

#include <stdbool.h>

#include "vdm/admin.h"
#include "abi_internal.h"
#include "device_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 2
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

VDM_OPAQUE_ACCESSORS(st, cst, vdm_dev, vdm_dev_state, VDM_DEV_MAGIC)

/* Virtqueue fault hook: the guest broke a ring; the whole device needs a
 * reset (DESIGN.md "The guest is hostile"). */
static void vq_fault(void *ctx, uint16_t qidx, int err, const char *why)
{
    (void)qidx;
    /* A text from the virtqueue layer (built with VDM_CONFIG_LOG_TEXT=0,
     * it has none: the event code names this line). */
    if (why != NULL) {
        vdm_dev_needs_reset((struct vdm_dev *)ctx, err, why);
    } else {
        vdmi_dev_needs_reset((struct vdm_dev *)ctx, err,
                             VDM_MSG("virtqueue protocol violation"));
    }
}

static const struct vdm_vq_ops vq_ops = {
    .size = sizeof(struct vdm_vq_ops),
    .fault = vq_fault,
};

uint16_t vdm_dev_num_queues(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return (s != NULL) ? type_queues(s) : 0u;
}

uint16_t vdm_dev_admin_queue_num(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return (s != NULL) ? s->nadmin : 0u;
}

uint16_t vdm_dev_queue_size_max(const struct vdm_dev *d, uint16_t q)
{
    const struct vdm_dev_state *s = cst(d);
    if (s == NULL || q >= s->num_queues)
        return 0;
    return qmax_now(s);
}

uint16_t vdm_dev_queue_size(const struct vdm_dev *d, uint16_t q)
{
    const struct vdm_dev_state *s = cst(d);
    if (s == NULL || q >= s->num_queues)
        return 0;
    return (uint16_t)qnum(s, qregs(s, q));
}

int vdm_dev_queue_set_size(struct vdm_dev *d, uint16_t q, uint16_t num)
{
    int rc;
    struct vdm_dev_state *s = vdmi_dev_qcall(d, q, &rc);
    uint32_t *r;

    if (s == NULL)
        return rc;
    r = qregs(s, q);
    rc = vdmi_dev_qregs_writable(s, r);
    if (rc < 0)
        return rc;
    /* 1..max here (max a power of 2 unless RING_PACKED is negotiated); the
     * split ring's power-of-two rule is checked at enable, when the ring
     * format is known. */
    if (num == 0 || num > qmax_now(s)) {
        slog(s, VDM_LOG_WARN, VDM_MSG("queue size out of range ignored"));
        return VDM_EINVAL;
    }
    r[VDM_QR_NUM] = num;
    return 0;
}

int vdm_dev_queue_set_addr(struct vdm_dev *d, uint16_t q, uint64_t desc,
                           uint64_t driver, uint64_t device)
{
    int rc;
    struct vdm_dev_state *s = vdmi_dev_qcall(d, q, &rc);
    uint32_t *r;

    if (s == NULL)
        return rc;
    r = qregs(s, q);
    rc = vdmi_dev_qregs_writable(s, r);
    if (rc < 0)
        return rc;
    put64(r, VDM_QR_DESC_LO, desc);
    put64(r, VDM_QR_DRV_LO, driver);
    put64(r, VDM_QR_DEV_LO, device);
    return 0;
}

int vdm_dev_queue_get_addr(const struct vdm_dev *d, uint16_t q, uint64_t *desc,
                           uint64_t *driver, uint64_t *device)
{
    const struct vdm_dev_state *s = cst(d);
    const uint32_t *r;

    if (s == NULL)
        return VDM_EINVAL;
    if (q >= s->num_queues)
        return VDM_ERANGE;
    r = qregs(s, q);
    if (desc != NULL)
        *desc = get64(r, VDM_QR_DESC_LO);
    if (driver != NULL)
        *driver = get64(r, VDM_QR_DRV_LO);
    if (device != NULL)
        *device = get64(r, VDM_QR_DEV_LO);
    return 0;
}

int vdm_dev_queue_enable(struct vdm_dev *d, uint16_t q)
{
    int rc;
    struct vdm_dev_state *s = vdmi_dev_qcall(d, q, &rc);
    struct vdm_vq_config vc = VDM_INIT(struct vdm_vq_config);
    struct vdm_vq *vq;
    uint32_t *r;
    uint32_t num;

    if (s == NULL)
        return rc;
    r = qregs(s, q);
    if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0)
        return 0;
    if ((s->status & VDM_STATUS_FEATURES_OK) == 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue enable refused: FEATURES_OK not set"));
        return VDM_ESTATE;
    }
    if ((s->status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue enable refused: device needs reset"));
        return VDM_ESTATE;
    }
    if (VDMI_SUSPEND_SET(s->status)) {
        slog(s, VDM_LOG_WARN, VDM_MSG("queue enable refused: suspended"));
        return VDM_ESTATE;
    }
    if ((s->status & VDM_STATUS_DRIVER_OK) != 0 &&
        (r[VDM_QR_FLAGS] & QF_RESET) == 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("queue enable after DRIVER_OK refused"));
        return VDM_ESTATE;
    }
    num = qnum(s, r);
    if ((s->negotiated & VDM_F_RING_PACKED) == 0 && (num & (num - 1)) != 0) {
        vdmi_dev_needs_reset(
            d, VDM_EINVAL,
            VDM_MSG("queue enable: split queue size not a power of 2"));
        return VDM_EINVAL;
    }

    vq = &s->queues[q];
    vc.num = (uint16_t)num;
    vc.index = q;
    vc.features = s->negotiated;
    vc.desc_addr = get64(r, VDM_QR_DESC_LO);
    vc.driver_addr = get64(r, VDM_QR_DRV_LO);
    vc.device_addr = get64(r, VDM_QR_DEV_LO);
    vc.mem = s->mem;
    vc.slots = r + VDM_DEV_QREG_WORDS;
    vc.max_chain = 0;
    vc.ops = &vq_ops;
    vc.ctx = d;
    rc = vdm_vq_init(vq, &vc);
    if (rc < 0) {
        vdmi_dev_needs_reset(d, rc, VDM_MSG("queue enable: bad ring"));
        return rc;
    }
    if ((r[VDM_QR_FLAGS] & VDM_QF_STATE) != 0) {
        struct vdm_vq_state vs;
        __builtin_memset(&vs, 0, sizeof(vs));
        vs.last_avail_idx = (uint16_t)r[VDM_QR_STATE_IDX];
        vs.used_idx = (uint16_t)(r[VDM_QR_STATE_IDX] >> 16);
        vs.avail_wrap = (uint8_t)r[VDM_QR_STATE_WRAP];
        vs.used_wrap = (uint8_t)(r[VDM_QR_STATE_WRAP] >> 8);
        rc = vdm_vq_set_state(vq, &vs);
        if (rc < 0) {
            vdm_vq_reset(vq);
            vdmi_dev_needs_reset(d, rc,
                                 VDM_MSG("queue enable: bad saved ring state"));
            return rc;
        }
    }
    r[VDM_QR_FLAGS] =
        (r[VDM_QR_FLAGS] | VDM_QF_ENABLED) & ~(VDM_QF_STATE | VDM_QF_RESET);
    return 0;
}

int vdm_dev_queue_enabled(const struct vdm_dev *d, uint16_t q)
{
    const struct vdm_dev_state *s = cst(d);
    if (s == NULL || q >= s->num_queues)
        return 0;
    return (qregs(s, q)[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0;
}

int vdm_dev_queue_reset(struct vdm_dev *d, uint16_t q)
{
    int rc;
    struct vdm_dev_state *s = vdmi_dev_qcall(d, q, &rc);

    if (s == NULL)
        return rc;
    /* Spec "Virtqueue Reset": only when VIRTIO_F_RING_RESET is negotiated. */
    if ((s->negotiated & VDMI_F_RING_RESET) == 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue reset without RING_RESET ignored"));
        return VDM_ENOTSUP;
    }
    vdmi_dev_queue_teardown(d, s, q);
    qregs(s, q)[VDM_QR_FLAGS] = QF_RESET;
    return 0;
}

int vdm_dev_queue_disable(struct vdm_dev *d, uint16_t q)
{
    int rc;
    struct vdm_dev_state *s = vdmi_dev_qcall(d, q, &rc);

    if (s == NULL)
        return rc;
    /* Spec "MMIO Device Register Layout": the device MUST NOT access the
     * queue once the driver stopped using it, whatever the features; the
     * driver may free the ring at once. */
    vdmi_dev_queue_teardown(d, s, q);
    /* Spec "Virtqueue Reset": only with RING_RESET may the driver set the
     * queue up again after DRIVER_OK (vdmi_dev_qregs_writable()). */
    if ((s->negotiated & VDMI_F_RING_RESET) != 0)
        qregs(s, q)[VDM_QR_FLAGS] = QF_RESET;
    return 0;
}

int vdm_dev_queue_set_state(struct vdm_dev *d, uint16_t q,
                            const struct vdm_vq_state *vs)
{
    struct vdm_dev_state *s = st(d);
    uint32_t *r;

    if (s == NULL || vs == NULL)
        return VDM_EINVAL;
    if (q >= s->num_queues)
        return VDM_ERANGE;
    if (vs->avail_wrap > 1 || vs->used_wrap > 1 || vs->reserved != 0)
        return VDM_EINVAL;
    r = qregs(s, q);
    if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0)
        return vdm_vq_set_state(&s->queues[q], vs);
    r[VDM_QR_STATE_IDX] =
        (uint32_t)vs->last_avail_idx | ((uint32_t)vs->used_idx << 16);
    r[VDM_QR_STATE_WRAP] =
        (uint32_t)vs->avail_wrap | ((uint32_t)vs->used_wrap << 8);
    r[VDM_QR_FLAGS] |= VDM_QF_STATE;
    return 0;
}

int vdm_dev_queue_get_state(const struct vdm_dev *d, uint16_t q,
                            struct vdm_vq_state *vs)
{
    const struct vdm_dev_state *s = cst(d);
    const uint32_t *r;

    if (s == NULL || vs == NULL)
        return VDM_EINVAL;
    if (q >= s->num_queues)
        return VDM_ERANGE;
    r = qregs(s, q);
    if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0)
        return vdm_vq_get_state(&s->queues[q], vs);
    __builtin_memset(vs, 0, sizeof(*vs));
    if ((r[VDM_QR_FLAGS] & VDM_QF_STATE) != 0) {
        vs->last_avail_idx = (uint16_t)r[VDM_QR_STATE_IDX];
        vs->used_idx = (uint16_t)(r[VDM_QR_STATE_IDX] >> 16);
        vs->avail_wrap = (uint8_t)r[VDM_QR_STATE_WRAP];
        vs->used_wrap = (uint8_t)(r[VDM_QR_STATE_WRAP] >> 8);
    } else {
        /* The ring's initial position (packed wrap counters start at 1). */
        vs->avail_wrap = 1;
        vs->used_wrap = 1;
    }
    return 0;
}

void vdmi_dev_admin_notify(struct vdm_dev *d, struct vdm_dev_state *s,
                           uint16_t q)
{
#if VDM_CONFIG_ADMIN_VQ
    if (s->admin_notify != NULL) {
        s->admin_notify(d, s, q);
    } else {
        /* Only the PCI transport attaches the engine, and only it can
         * present the queue (MMIO and vhost-user refuse the device). */
        slog(s, VDM_LOG_WARN,
             VDM_MSG("administration queue without an engine: notify "
                     "ignored"));
    }
#else
    /* vdm_dev_init() never makes an administration queue */
    (void)d;
    (void)s;
    (void)q;
#endif
}

int vdm_dev_queue_notify(struct vdm_dev *d, uint16_t q, uint32_t data)
{
    struct vdm_dev_state *s = st(d);
    uint32_t *r;

    if (s == NULL)
        return VDM_EINVAL;
    if (q >= s->num_queues) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("notify: queue index out of range ignored"));
        return VDM_ERANGE;
    }
    /* Spec "Device Initialization": no available buffer notifications
     * before DRIVER_OK; a device needing reset touches no queue. */
    if ((s->status & VDM_STATUS_DRIVER_OK) == 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("notify before DRIVER_OK ignored"));
        return VDM_ESTATE;
    }
    if ((s->status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0) {
        slog(s, VDM_LOG_DEBUG,
             VDM_MSG("notify while device needs reset ignored"));
        return VDM_ESTATE;
    }
    if ((s->status & VDM_STATUS_FAILED) != 0) {
        slog(s, VDM_LOG_DEBUG, VDM_MSG("notify after FAILED ignored"));
        return VDM_ESTATE;
    }
    /* Spec "Device Suspend": the driver sends no notification while the
     * device is suspending or suspended; the device takes no buffer. */
    if (VDMI_SUSPEND_SET(s->status)) {
        slog(s, VDM_LOG_WARN, VDM_MSG("notify while suspended ignored"));
        return VDM_ESTATE;
    }
    r = qregs(s, q);
    if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) == 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("notify for a disabled queue ignored"));
        return VDM_ESTATE;
    }
    /* Spec "Driver Notifications": with NOTIFICATION_DATA, @p data only
     * repeats where the driver's ring stands (next_off/next_wrap). It is a
     * hint the device has no need for and never trusts: the ring itself is
     * the truth. */
    (void)data;
    if (q >= type_queues(s)) {
        vdmi_dev_admin_notify(d, s, q);
    } else {
        s->cls->queue_notify(d, q);
    }
    return 0;
}
