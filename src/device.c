/* SPDX-License-Identifier: BSD-3-Clause */
/* Device core: status state machine, feature negotiation, config space,
 * queue registers, reset and notifications.
 *
 * Spec: "Device Status Field", "Feature Bits", "Device Reset", "Device
 * Configuration Space", "Virtqueue Reset", "Device Initialization",
 * "Notification of Device Configuration Changes", "Reserved Feature Bits". */
#include "vdm/device.h"

#include <stddef.h>

#include <stdbool.h>

#include "vdm/admin.h"
#include "abi_internal.h"
#include "device_internal.h"
#include "mem_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 1
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

/* ------------------------------------------------------------------------ */
/* Helpers */

/* Status bits the driver may set. */
#define DRV_BITS                                                               \
    (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER | VDM_STATUS_FEATURES_OK |     \
     VDM_STATUS_DRIVER_OK | VDM_STATUS_FAILED)

/* Generic bits a device may offer through vdm (spec "Feature Bits": 24..40
 * and 43 are reserved for queue/negotiation extensions, 44..49 for the
 * future). Legacy-only bits (NOTIFY_ON_EMPTY 24, ANY_LAYOUT 27, UNUSED 30)
 * and reserved bits would be features the device cannot honour, which
 * "Feature Bits" forbids offering. So would SR_IOV (37: "Reserved Feature
 * Bits": not without a PCI SR-IOV capability, which no vdm transport
 * presents). SUSPEND (43, src/suspend.c) and ADMIN_VQ (41, src/admin.c) are
 * offered when the host asks; the transports that cannot present them
 * refuse such a device. Bit 42 is left to the device type. */
#define BAD_OFFER                                                              \
    ((0xfULL << 24) | (3ULL << 30) | VDM_F_SR_IOV | (0x3fULL << 44) |          \
     (RING_BITS & ~VDM_F_RING_ALL))

/* The ring features vdm/config.h may leave out: a device offering one the
 * build does not have could not honour it. */
#define RING_BITS                                                              \
    (VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX | VDM_F_RING_PACKED |               \
     VDM_F_IN_ORDER | VDM_F_RING_RESET | VDM_F_NOTIFICATION_DATA)

/* Generic feature dependencies (spec "Reserved Feature Bits": each of these
 * is defined for VIRTIO 1.x devices only, so needs VERSION_1). One entry: a
 * dependency applies when any of its bits is present. */
static const struct vdm_feature_dep generic_deps[] = {
    {VDM_F_ACCESS_PLATFORM | VDM_F_RING_PACKED | VDM_F_IN_ORDER |
         VDM_F_ORDER_PLATFORM | VDM_F_SR_IOV | VDM_F_NOTIFICATION_DATA |
         VDM_F_NOTIF_CONFIG_DATA | VDM_F_RING_RESET | VDM_F_ADMIN_VQ,
     VDM_F_VERSION_1},
};

VDM_OPAQUE_ACCESSORS(st, cst, vdm_dev, vdm_dev_state, VDM_DEV_MAGIC)

void vdmi_slog(const struct vdm_dev_state *s, int level, vdm_msg msg)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_host_ops, log)) {
        VDM_LOG_HOOK(s->ops->log, s->host, level, msg);
    }
}

static void send_queue(const struct vdm_dev_state *s, uint16_t q)
{
    if (VDM_HAS_HOOK(s->tops, struct vdm_transport_ops, notify_queue))
        s->tops->notify_queue(s->tctx, q);
    else if (VDM_HAS_HOOK(s->ops, struct vdm_host_ops, notify_queue))
        s->ops->notify_queue(s->host, q);
    else {
        /* nobody to tell */
    }
}

void vdmi_dev_send_config(const struct vdm_dev_state *s)
{
    if (VDM_HAS_HOOK(s->tops, struct vdm_transport_ops, notify_config))
        s->tops->notify_config(s->tctx);
    else if (VDM_HAS_HOOK(s->ops, struct vdm_host_ops, notify_config))
        s->ops->notify_config(s->host);
    else {
        /* nobody to tell */
    }
}

/* The first dependency in @p deps that @p f breaks, or NULL. A dependency
 * applies when any of its feature bits is present. */
static const struct vdm_feature_dep *
broken_dep(const struct vdm_feature_dep *deps, uint32_t n, uint64_t f)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if ((f & deps[i].feature) != 0 && (f & deps[i].needs) != deps[i].needs)
            return &deps[i];
    }
    return NULL;
}

/* Tear queue q down (enabled or not) and put its registers back to the
 * defaults. The device type hears about it first while the ring is still
 * set up (but no longer handed out by vdm_dev_queue()). */
void vdmi_dev_queue_teardown(struct vdm_dev *d, struct vdm_dev_state *s,
                             uint16_t q)
{
    uint32_t *r = qregs(s, q);
    bool was = (r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0u;

    r[VDM_QR_FLAGS] &= ~VDM_QF_ENABLED;
    if (was) {
        /* the administration queue is the core's, not the device type's */
        if ((s->cls->queue_reset != NULL) && (q < type_queues(s)))
            s->cls->queue_reset(d, q);
        vdm_vq_reset(&s->queues[q]);
    }
    qregs_default(s, q);
}

/* Spec "Device Reset": status back to 0, every queue torn down, features
 * forgotten. The config generation keeps counting. */
static void dev_reset(struct vdm_dev *d, struct vdm_dev_state *s)
{
    uint16_t q;

    /* Status first, so nothing below sees a live device. */
    s->status = 0;
    s->flags = 0;
    for (q = 0; q < s->num_queues; q++) {
        uint32_t *r = qregs(s, q);
        if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0 &&
            (s->cls->queue_reset != NULL) && (q < type_queues(s)))
            s->cls->queue_reset(d, q);
    }
    if (s->cls->reset != NULL)
        s->cls->reset(d);
    for (q = 0; q < s->num_queues; q++) {
        uint32_t *r = qregs(s, q);
        if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0)
            vdm_vq_reset(&s->queues[q]);
        qregs_default(s, q);
    }
    s->driver_features = 0;
    s->negotiated = 0;
    vdmi_admin_reset(s);
    slog(s, VDM_LOG_INFO, VDM_MSG("device reset"));
}

/* Spec "Feature Bits" / "Device Initialization": may the device accept the
 * driver's features? Returns 0 or VDM_ESTATE (logged). */
static int check_features(struct vdm_dev *d, struct vdm_dev_state *s,
                          uint64_t f)
{
    const struct vdm_feature_dep *dep;

    if ((f & ~s->offered) != 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("FEATURES_OK refused: feature not offered"));
        return VDM_ESTATE;
    }
    if ((f & VDM_F_VERSION_1) == 0) {
        /* Legacy drivers are not supported ("Reserved Feature Bits": a
         * device MAY fail to operate if VERSION_1 is not accepted). */
        slog(s, VDM_LOG_WARN,
             VDM_MSG("FEATURES_OK refused: VERSION_1 not accepted"));
        return VDM_ESTATE;
    }
    dep = broken_dep(generic_deps,
                     (uint32_t)(sizeof(generic_deps) / sizeof(generic_deps[0])),
                     f);
    if (dep == NULL && s->cls->ndeps > 0)
        dep = broken_dep(s->cls->deps, s->cls->ndeps, f);
    if (dep != NULL) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("FEATURES_OK refused: feature without the feature it "
                     "requires"));
        return VDM_ESTATE;
    }
    if (s->cls->features_ok != NULL && s->cls->features_ok(d, f) < 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("FEATURES_OK refused by the device type"));
        return VDM_ESTATE;
    }
    return 0;
}

int vdmi_dev_check_features(struct vdm_dev *d, uint64_t f)
{
    struct vdm_dev_state *s = st(d);

    return (s != NULL) ? check_features(d, s, f) : VDM_EINVAL;
}

/* May the driver write queue q's registers now? */
int vdmi_dev_qregs_writable(const struct vdm_dev_state *s, const uint32_t *r)
{
    if ((r[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue register write while enabled ignored"));
        return VDM_ESTATE;
    }
    if (VDMI_SUSPEND_SET(s->status)) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue register write while suspended ignored"));
        return VDM_ESTATE;
    }
    if ((s->status & VDM_STATUS_DRIVER_OK) != 0 &&
        (r[VDM_QR_FLAGS] & QF_RESET) == 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG(
                 "queue register write after DRIVER_OK without queue reset"));
        return VDM_ESTATE;
    }
    return 0;
}

/* A queue register call on queue q: the state, or NULL with *rc set
 * (VDM_EINVAL: not a device; VDM_ERANGE, logged: no such queue). */
struct vdm_dev_state *vdmi_dev_qcall(struct vdm_dev *d, uint16_t q, int *rc)
{
    struct vdm_dev_state *s = st(d);

    *rc = VDM_EINVAL;
    if (s == NULL) {
        return NULL;
    }
    if (q >= s->num_queues) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("queue register access: index out of range"));
        *rc = VDM_ERANGE;
        return NULL;
    }
    return s;
}

/* The first ABI's class ends before the state hooks (then come suspend
 * and admin); admin ops end after cmd (the one version so far). */
#define VDM_CLASS_V1_SIZE                                                      \
    ((uint32_t)offsetof(struct vdm_device_class, state_save))
#define VDM_ADMIN_OPS_MIN ((uint32_t)sizeof(struct vdm_admin_ops))

/* A class's admin ops that vdm_dev_init() refuses (vdm/admin.h): too
 * short, more than 64 capability words, words without a bitmap, opcodes
 * without a cmd hook. NULL ops are fine (the list commands only). */
static bool admin_ops_bad(const struct vdm_admin_ops *ao)
{
    bool bad = false;

    if (ao != NULL) {
        if (ao->size < VDM_ADMIN_OPS_MIN) {
            bad = true;
        } else if ((ao->cap_words > 64u) ||
                   ((ao->cap_words > 0u) && (ao->cap_ids == NULL))) {
            bad = true;
        } else if ((ao->opcodes != 0u) && (ao->cmd == NULL)) {
            bad = true;
        } else {
            /* usable */
        }
    }
    return bad;
}

/* ------------------------------------------------------------------------ */
/* Set-up and the device-type face */

int vdm_dev_init(struct vdm_dev *d, const struct vdm_dev_config *cfg)
{
    struct vdm_dev_state *s;
    const struct vdm_device_class *cls;
    uint64_t offered;
    uint16_t q;

    if (d == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (cfg->size < sizeof(struct vdm_dev_config))
        return VDM_ESIZE;
    cls = cfg->cls;
    if (cls == NULL)
        return VDM_EINVAL;
    /* A class from an older caller ends before its state hooks. */
    if (cls->size < VDM_CLASS_V1_SIZE)
        return VDM_ESIZE;
    if (cls->queue_notify == NULL || cls->reserved0 != 0 ||
        cls->reserved1 != 0 || (cls->ndeps > 0 && cls->deps == NULL))
        return VDM_EINVAL;
    if (cfg->num_queues == 0 || cfg->num_queues > cls->max_queues ||
        cfg->num_queues > VDM_DEV_MAX_QUEUES)
        return VDM_EINVAL;
    if (cfg->queue_size_max == 0 || cfg->queue_size_max > VDM_VQ_MAX_NUM)
        return VDM_EINVAL;
    if (cfg->queues == NULL || cfg->slots == NULL || cfg->mem == NULL)
        return VDM_EINVAL;
#if !VDM_CONFIG_MEM_HOOKS
    if (vdmi_mem_hooks_given(cfg->mem) != 0) {
        return VDM_ENOTSUP; /* memory hooks left out (vdm/config.h) */
    }
#endif
#if !VDM_CONFIG_DIRTY_LOG
    if (vdmi_mem_log_given(cfg->mem) != NULL) {
        return VDM_ENOTSUP; /* dirty logging left out (vdm/config.h) */
    }
#endif
    if (cfg->ops != NULL && cfg->ops->size < sizeof(uint32_t))
        return VDM_ESIZE;
    /* Spec "Feature Bits": the device MUST NOT offer a feature it cannot
     * honour, nor one whose required feature it does not offer. */
    offered = cfg->features | VDM_F_VERSION_1;
    if ((offered & BAD_OFFER) != 0)
        return VDM_EINVAL;
    if (broken_dep(generic_deps,
                   (uint32_t)(sizeof(generic_deps) / sizeof(generic_deps[0])),
                   offered) != NULL ||
        (cls->ndeps > 0 && broken_dep(cls->deps, cls->ndeps, offered) != NULL))
        return VDM_EINVAL;
#if !VDM_CONFIG_ADMIN_VQ
    if ((offered & VDM_F_ADMIN_VQ) != 0u) {
        return VDM_ENOTSUP; /* administration virtqueue left out */
    }
#endif
#if !VDM_CONFIG_SUSPEND
    if ((offered & VDM_F_SUSPEND) != 0u) {
        return VDM_ENOTSUP; /* VIRTIO_F_SUSPEND left out */
    }
#endif
    if ((offered & VDM_F_ADMIN_VQ) != 0u) {
        if (admin_ops_bad(cls_admin(cls))) {
            return VDM_EINVAL;
        }
    }

    __builtin_memset(d, 0, sizeof(*d));
    s = (struct vdm_dev_state *)(void *)d->opaque;
    if ((offered & VDM_F_ADMIN_VQ) != 0u) {
        s->nadmin = 1;
    }
    s->num_queues = (uint16_t)(cfg->num_queues + s->nadmin);
    s->qmax = cfg->queue_size_max;
    s->offered = offered;
    s->cls = cls;
    s->priv = cfg->priv;
    s->mem = cfg->mem;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->queues = cfg->queues;
    s->slots = cfg->slots;
    s->stride = VDM_DEV_QREG_WORDS + VDM_VQ_SLOTS(cfg->queue_size_max);
    __builtin_memset(cfg->queues, 0,
                     (size_t)s->num_queues * sizeof(struct vdm_vq));
    for (q = 0; q < s->num_queues; q++)
        qregs_default(s, q);
    vdmi_admin_reset(s);
    s->magic = VDM_DEV_MAGIC;
    return 0;
}

void vdm_dev_bind(struct vdm_dev *d, const struct vdm_transport_ops *ops,
                  void *ctx)
{
    struct vdm_dev_state *s = st(d);
    if (s == NULL)
        return;
    s->tops = ops;
    s->tctx = ops != NULL ? ctx : NULL;
}

void *vdm_dev_priv(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->priv : NULL;
}

const struct vdm_mem *vdm_dev_mem(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->mem : NULL;
}

uint64_t vdm_dev_features(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->negotiated : 0;
}

int vdm_dev_live(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    if (s == NULL)
        return 0;
    /* Spec "Device Status Field": FAILED means the driver gave up on the
     * device (and may have freed the rings): not live either. */
    return (s->status & (VDM_STATUS_DRIVER_OK | VDM_STATUS_DEVICE_NEEDS_RESET |
                         VDM_STATUS_FAILED)) == VDM_STATUS_DRIVER_OK;
}

struct vdm_vq *vdm_dev_queue(struct vdm_dev *d, uint16_t q)
{
    struct vdm_dev_state *s = st(d);
    struct vdm_vq *vq;

    if (s == NULL || q >= s->num_queues || !vdm_dev_live(d))
        return NULL;
    if ((qregs(s, q)[VDM_QR_FLAGS] & VDM_QF_ENABLED) == 0)
        return NULL;
    vq = &s->queues[q];
    return vdm_vq_broken(vq) ? NULL : vq;
}

int vdm_dev_notify_used(struct vdm_dev *d, uint16_t q)
{
    struct vdm_dev_state *s = st(d);
    struct vdm_vq *vq;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    if (q >= s->num_queues)
        return VDM_ERANGE;
    vq = vdm_dev_queue(d, q);
    if (vq == NULL)
        return VDM_ESTATE; /* not live, not enabled or broken: stay silent */
    rc = vdm_vq_should_notify(vq);
    if (rc > 0) {
        send_queue(s, q);
        rc = 1;
    }
    /* Spec "Device Suspend": the device is suspended once what it was
     * processing has been used and notified. */
    if (VDMI_SUSPEND_SET(s->status)) {
        (void)vdm_dev_suspend_poll(d);
    }
    return rc;
}

void vdm_dev_config_changed(struct vdm_dev *d)
{
    struct vdm_dev_state *s = st(d);
    if (s == NULL)
        return;
    s->generation++;
    /* Spec "Device Reset": no notification after reset until the driver
     * re-initialises the device. Before DRIVER_OK the notice is held and
     * sent when the driver sets DRIVER_OK, so a change that raced the
     * driver's config reads during initialisation is not lost. */
    if ((s->status & VDM_STATUS_DRIVER_OK) != 0)
        vdmi_dev_send_config(s);
    else if (s->status != 0)
        s->flags |= VDM_DF_CONFIG_PENDING;
    else {
        /* reset: no notice until the driver re-initialises */
    }
}

/* DEVICE_NEEDS_RESET, after the message is logged. */
static void needs_reset(struct vdm_dev_state *s)
{
    if ((s->status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0)
        return; /* sticky; the driver has been told already */
    /* Spec "Device Reset": after writing 0 the driver waits until the
     * status reads 0. In reset state there is nothing to reset: the status
     * stays 0 (the host heard about the fault through its log hook). */
    if (s->status == 0)
        return;
    s->status |= VDM_STATUS_DEVICE_NEEDS_RESET;
    /* Spec "Device Status Field": if DRIVER_OK is set, a configuration
     * change notification MUST follow. */
    if ((s->status & VDM_STATUS_DRIVER_OK) != 0)
        vdmi_dev_send_config(s);
}

/* A text from a device or the host: as it is, whatever VDM_CONFIG_LOG_TEXT
 * (with the texts built in, slog() does just that). */
#if VDM_CONFIG_LOG_TEXT
#define tlog slog
#else
static void tlog(const struct vdm_dev_state *s, int level, const char *msg)
{
    if (VDM_LOG_ON(level) && VDM_HAS_HOOK(s->ops, struct vdm_host_ops, log)) {
        s->ops->log(s->host, level, msg);
    }
}
#endif

void vdm_dev_needs_reset(struct vdm_dev *d, int err, const char *why)
{
    struct vdm_dev_state *s = st(d);
    (void)err;
    if (s == NULL) {
        return;
    }
    if (why != NULL) {
        tlog(s, VDM_LOG_ERROR, why);
    } else {
        slog(s, VDM_LOG_ERROR, VDM_MSG("device needs reset"));
    }
    needs_reset(s);
}

void vdm_dev_log(const struct vdm_dev *d, int level, const char *msg)
{
    const struct vdm_dev_state *s = cst(d);
    if (s != NULL && msg != NULL)
        tlog(s, level, msg);
}

#if !VDM_CONFIG_LOG_TEXT
void vdmi_dev_needs_reset(struct vdm_dev *d, int err, vdm_msg why)
{
    struct vdm_dev_state *s = st(d);
    (void)err;
    if (s == NULL) {
        return;
    }
    slog(s, VDM_LOG_ERROR, why);
    needs_reset(s);
}

void vdmi_dev_log_emit(const struct vdm_dev *d, int level, vdm_msg msg)
{
    const struct vdm_dev_state *s = cst(d);
    if (s != NULL) {
        slog(s, level, msg);
    }
}
#endif

/* ------------------------------------------------------------------------ */
/* The transport face */

uint32_t vdm_dev_device_id(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->cls->device_id : 0;
}

uint8_t vdm_dev_status(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->status : 0;
}

int vdm_dev_set_status(struct vdm_dev *d, uint8_t val)
{
    struct vdm_dev_state *s = st(d);
    uint8_t add;
    int rc = 0;

    if (s == NULL)
        return VDM_EINVAL;
    if (val == 0) {
        dev_reset(d, s);
        return 0;
    }
    if (VDMI_SUSPEND_SET(s->status | val) &&
        (vdmi_suspend_status(d, s, val, &rc) != 0)) {
        return rc;
    }
    /* Spec "Device Status Field": the driver MUST NOT clear a bit; only a
     * reset (0) does. Such a write is ignored as a whole. */
    if ((s->status & DRV_BITS & (uint8_t)~val) != 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("status write clearing a bit ignored"));
        return VDM_ESTATE;
    }
    add = (uint8_t)(val & ~s->status);
    if ((add & VDM_STATUS_DEVICE_NEEDS_RESET) != 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("driver may not set DEVICE_NEEDS_RESET"));
        rc = VDM_ESTATE;
    }
    if ((add & (uint8_t) ~(DRV_BITS | VDM_STATUS_DEVICE_NEEDS_RESET)) != 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("unsupported status bit ignored"));
        rc = VDM_ESTATE;
    }
    add &= DRV_BITS;
    if (add == 0)
        return rc;

    if ((add & VDM_STATUS_FAILED) != 0) {
        s->status |= VDM_STATUS_FAILED;
        slog(s, VDM_LOG_ERROR, VDM_MSG("driver set FAILED"));
        add &= (uint8_t)~VDM_STATUS_FAILED;
        if (add == 0)
            return rc;
    }
    /* After FAILED the driver MUST reset before re-initialising. */
    if ((s->status & VDM_STATUS_FAILED) != 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("status bits after FAILED ignored"));
        return VDM_ESTATE;
    }
    if ((add & VDM_STATUS_ACKNOWLEDGE) != 0)
        s->status |= VDM_STATUS_ACKNOWLEDGE;
    if ((add & VDM_STATUS_DRIVER) != 0) {
        if ((s->status & VDM_STATUS_ACKNOWLEDGE) == 0) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("DRIVER refused: ACKNOWLEDGE not set"));
            rc = VDM_ESTATE;
        } else {
            s->status |= VDM_STATUS_DRIVER;
        }
    }
    if ((add & VDM_STATUS_FEATURES_OK) != 0) {
        if ((s->status & VDM_STATUS_DRIVER) == 0) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("FEATURES_OK refused: DRIVER not set"));
            rc = VDM_ESTATE;
        } else if (check_features(d, s, s->driver_features) < 0) {
            /* Spec "Device Initialization": FEATURES_OK stays clear; the
             * driver re-reads the status and finds it so. */
            rc = VDM_ESTATE;
        } else {
            s->negotiated = s->driver_features;
            s->status |= VDM_STATUS_FEATURES_OK;
        }
    }
    if ((add & VDM_STATUS_DRIVER_OK) != 0) {
        if ((s->status & VDM_STATUS_FEATURES_OK) == 0) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("DRIVER_OK refused: FEATURES_OK not set"));
            rc = VDM_ESTATE;
        } else if ((s->status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("DRIVER_OK refused: device needs reset"));
            rc = VDM_ESTATE;
        } else {
            s->status |= VDM_STATUS_DRIVER_OK;
            slog(s, VDM_LOG_INFO, VDM_MSG("driver ok"));
            if (s->cls->driver_ok != NULL)
                s->cls->driver_ok(d);
            if ((s->flags & VDM_DF_CONFIG_PENDING) != 0 &&
                (s->status & VDM_STATUS_DRIVER_OK) != 0) {
                s->flags &= (uint8_t)~VDM_DF_CONFIG_PENDING;
                vdmi_dev_send_config(s);
            }
        }
    }
    return rc;
}

uint64_t vdm_dev_device_features(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->offered : 0;
}

uint64_t vdm_dev_driver_features(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->driver_features : 0;
}

int vdm_dev_set_driver_features(struct vdm_dev *d, uint64_t f)
{
    struct vdm_dev_state *s = st(d);
    if (s == NULL)
        return VDM_EINVAL;
    /* Spec "Device Initialization" steps 3-5: after DRIVER, before
     * FEATURES_OK ("MUST NOT accept new feature bits after this step"). */
    if ((s->status & VDM_STATUS_DRIVER) == 0 ||
        (s->status & VDM_STATUS_FEATURES_OK) != 0) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("driver features write outside negotiation"));
        return VDM_ESTATE;
    }
    s->driver_features = f;
    return 0;
}

uint32_t vdm_dev_config_generation(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->generation : 0;
}

uint32_t vdm_dev_config_size(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    return s != NULL ? s->cls->config_size : 0;
}

int vdm_dev_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                        uint32_t len)
{
    struct vdm_dev_state *s = st(d);
    uint32_t size;

    if (s == NULL || (buf == NULL && len > 0))
        return VDM_EINVAL;
    size = s->cls->config_size;
    if (off > size || len > size - off) {
        slog(s, VDM_LOG_WARN, VDM_MSG("config read out of range"));
        return VDM_ERANGE;
    }
    if (len == 0)
        return 0;
    if (s->cls->config_read != NULL)
        s->cls->config_read(d, off, buf, len);
    else
        __builtin_memset(buf, 0, len);
    return 0;
}

int vdm_dev_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                         uint32_t len)
{
    struct vdm_dev_state *s = st(d);
    uint32_t size;

    if (s == NULL || (buf == NULL && len > 0))
        return VDM_EINVAL;
    size = s->cls->config_size;
    if (off > size || len > size - off) {
        slog(s, VDM_LOG_WARN, VDM_MSG("config write out of range"));
        return VDM_ERANGE;
    }
    /* Spec "Device Suspend": the device SHOULD ignore config writes while
     * suspended. */
    if (VDMI_SUSPEND_SET(s->status)) {
        slog(s, VDM_LOG_WARN, VDM_MSG("config write while suspended ignored"));
        return VDM_ESTATE;
    }
    if (s->cls->config_write == NULL) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("config write to a read-only config ignored"));
        return VDM_ENOTSUP;
    }
    if (len > 0)
        s->cls->config_write(d, off, buf, len);
    return 0;
}
