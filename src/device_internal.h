/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the real layout behind struct vdm_dev and the per-queue register
 * words kept in the caller's slot array (see VDM_DEV_SLOTS in device.h). */
#ifndef VDM_DEVICE_INTERNAL_H
#define VDM_DEVICE_INTERNAL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/device.h"
#include "vdm/config.h"
#include "abi_internal.h"

/* "vdmD": set by vdm_dev_init, checked by every entry point. */
#define VDM_DEV_MAGIC 0x766d6444u

/* Per-queue register words (queue q: slots + q * stride, stride =
 * VDM_DEV_QREG_WORDS + VDM_VQ_SLOTS(qmax)). 64-bit addresses are kept as
 * two words, low first, so the array needs only uint32_t alignment. */
enum {
    VDM_QR_NUM = 0,     /* queue size the driver chose */
    VDM_QR_FLAGS = 1,   /* VDM_QF_* */
    VDM_QR_DESC_LO = 2, /* descriptor area */
    VDM_QR_DESC_HI = 3,
    VDM_QR_DRV_LO = 4, /* driver area */
    VDM_QR_DRV_HI = 5,
    VDM_QR_DEV_LO = 6, /* device area */
    VDM_QR_DEV_HI = 7,
    VDM_QR_STATE_IDX = 8,  /* saved last_avail_idx | used_idx << 16 */
    VDM_QR_STATE_WRAP = 9, /* saved avail_wrap | used_wrap << 8 */
    VDM_QR_USED = 10       /* words in use; the rest are reserved */
};

/* The virtqueue is set up (vdm_vq_init succeeded) and owned by the device. */
#define VDM_QF_ENABLED 1u
/* VDM_QR_STATE_* hold a position to apply at the next enable. */
#define VDM_QF_STATE 2u
/* Reset alone by the driver (RING_RESET): registers writable again even
 * after DRIVER_OK, until the queue is re-enabled. */
#define VDM_QF_RESET 4u

/* Device-level flags (vdm_dev_state::flags). */
/* A config change happened before DRIVER_OK: notify when it is set. */
#define VDM_DF_CONFIG_PENDING 1u

struct vdm_dev_state {
    uint32_t magic;
    uint32_t generation; /* config generation, never reset */
    uint8_t status;
    uint8_t flags; /* VDM_DF_* */
    uint16_t num_queues; /* queues of the instance, admin queue included */
    uint16_t qmax;
    uint16_t nadmin; /* administration virtqueues (0 or 1): the last ones */
    uint64_t offered;         /* device features, VERSION_1 included */
    uint64_t driver_features; /* as last written by the driver */
    uint64_t negotiated;      /* accepted at FEATURES_OK, else 0 */
    const struct vdm_device_class *cls;
    void *priv;
    const struct vdm_mem *mem;
    const struct vdm_host_ops *ops;
    void *host;
    struct vdm_vq *queues;
    uint32_t *slots;
    size_t stride; /* words per queue in slots */
    const struct vdm_transport_ops *tops;
    void *tctx;
    uint64_t admin_used; /* LIST_USE: opcodes the driver uses (src/admin.c) */
    /* The administration queue's engine (src/admin.c), installed by the
     * transport that can present the queue (PCI: vdmi_dev_admin_attach(),
     * admin_internal.h); NULL until then. Reached only through here, so
     * that an image without that transport does not link the engine. */
    void (*admin_notify)(struct vdm_dev *d, struct vdm_dev_state *s,
                         uint16_t q);
};

_Static_assert(sizeof(struct vdm_dev_state) <= VDM_DEV_SIZE,
               "struct vdm_dev_state does not fit VDM_DEV_SIZE");
_Static_assert(alignof(struct vdm_dev_state) <= 8,
               "struct vdm_dev_state needs more than 8-byte alignment");
_Static_assert(alignof(struct vdm_dev) >= alignof(struct vdm_dev_state),
               "struct vdm_dev storage is under-aligned");
_Static_assert(VDM_QR_USED <= VDM_DEV_QREG_WORDS,
               "per-queue registers do not fit VDM_DEV_QREG_WORDS");

/* Queue reset alone (VDM_QF_RESET) exists only with RING_RESET built in;
 * without it the flag is never set and its tests fold away. */
#define QF_RESET ((VDM_CONFIG_RING_RESET != 0) ? VDM_QF_RESET : 0u)

static inline uint32_t *qregs(const struct vdm_dev_state *s, uint16_t q)
{
    return s->slots + (size_t)q * s->stride;
}

static inline uint64_t get64(const uint32_t *r, unsigned lo)
{
    return (uint64_t)r[lo] | ((uint64_t)r[lo + 1] << 32);
}

static inline void put64(uint32_t *r, unsigned lo, uint64_t v)
{
    r[lo] = (uint32_t)v;
    r[lo + 1] = (uint32_t)(v >> 32);
}

/* The largest queue size the device presents. Spec "Split Virtqueues":
 * "Queue Size value is always a power of 2" (Linux refuses any other size:
 * "Bad virtqueue length"); a packed ring may have any size. Unless
 * RING_PACKED is negotiated, the largest power of 2 <= the host maximum. */
static inline uint16_t qmax_now(const struct vdm_dev_state *s)
{
    uint32_t p = s->qmax;

    if ((s->negotiated & VDM_F_RING_PACKED) != 0)
        return s->qmax;
    while ((p & (p - 1)) != 0)
        p &= p - 1;
    return (uint16_t)p;
}

/* The queue size in force: as written by the driver, else the maximum
 * (VDM_QR_NUM 0: not written since reset). */
static inline uint32_t qnum(const struct vdm_dev_state *s, const uint32_t *r)
{
    return r[VDM_QR_NUM] != 0 ? r[VDM_QR_NUM] : qmax_now(s);
}

/* Registers of queue q back to their reset values. */
static inline void qregs_default(const struct vdm_dev_state *s, uint16_t q)
{
    uint32_t *r = qregs(s, q);
    __builtin_memset(r, 0, VDM_DEV_QREG_WORDS * sizeof(uint32_t));
}

/* src/device.c: the host's log hook, if it has one (one copy for the
 * device core's files). */
void vdmi_slog(const struct vdm_dev_state *s, int level, vdm_msg msg);
static VDMI_ALWAYS_INLINE void slog(const struct vdm_dev_state *s, int level,
                                    vdm_msg msg)
{
    if (VDM_LOG_ON(level)) {
        vdmi_slog(s, level, msg);
    }
}

/* The class fields added after the first ABI (vdm_device_class::suspend,
 * admin) exist only in a class whose size covers them (an older caller's
 * is shorter). */
#define CLS_HAS(c, field)                                                      \
    ((c)->size >= ((uint32_t)offsetof(struct vdm_device_class, field) +      \
                   (uint32_t)sizeof((c)->field)))

static inline const struct vdm_admin_ops *
cls_admin(const struct vdm_device_class *c)
{
    const struct vdm_admin_ops *ao = NULL;

    if (CLS_HAS(c, admin)) {
        ao = c->admin;
    }
    return ao;
}

/* Queues of the device type (the administration queue follows them). */
static inline uint16_t type_queues(const struct vdm_dev_state *s)
{
    return (uint16_t)(s->num_queues - s->nadmin);
}

/* Is SUSPEND set in status @p stat? Constant 0 when VIRTIO_F_SUSPEND is
 * left out (vdm/config.h VDM_CONFIG_SUSPEND 0: never offered, so the
 * driver can never set it). */
#define VDMI_SUSPEND_SET(stat)                                                 \
    ((VDM_CONFIG_SUSPEND != 0) && (((stat) & VDM_STATUS_SUSPEND) != 0u))

/* src/suspend.c: a status write while SUSPEND is involved (set in the
 * status or in @p val). 1: handled, *rc set; 0: the generic path goes on. */
int vdmi_suspend_status(struct vdm_dev *d, struct vdm_dev_state *s,
                        uint8_t val, int *rc);
/* src/suspend.c: a restored status has SUSPEND (src/state.c): the device
 * type's suspend hook, then suspended once nothing is in flight. 0 or the
 * hook's error. */
int vdmi_suspend_restored(struct vdm_dev *d);
/* LIST_QUERY and LIST_USE: always supported, the only opcodes in use after
 * a reset (spec "Group administration commands"). */
#define VDMI_ADMIN_LIST_OPS 0x3ull

/* Reset the administration state (a store: no call into src/admin.c). */
static inline void vdmi_admin_reset(struct vdm_dev_state *s)
{
    s->admin_used = VDMI_ADMIN_LIST_OPS;
}
/* src/device_queue.c: administration queue @p q notified: its engine
 * (struct vdm_dev_state::admin_notify) serves it; none attached: ignored
 * and logged. */
void vdmi_dev_admin_notify(struct vdm_dev *d, struct vdm_dev_state *s,
                           uint16_t q);
/* src/device.c: the pending config notice (suspend.c sends it at resume) */
void vdmi_dev_send_config(const struct vdm_dev_state *s);

/* src/device.c, for src/device_queue.c */
void vdmi_dev_queue_teardown(struct vdm_dev *d, struct vdm_dev_state *s,
                             uint16_t q);
int vdmi_dev_qregs_writable(const struct vdm_dev_state *s, const uint32_t *r);
struct vdm_dev_state *vdmi_dev_qcall(struct vdm_dev *d, uint16_t q, int *rc);
/* src/device.c, for src/state.c: may the device accept features @p f at
 * FEATURES_OK (generic and class rules, class features_ok hook)? */
int vdmi_dev_check_features(struct vdm_dev *d, uint64_t f);

#endif
