/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the real layout behind struct vdm_dev and the per-queue register
 * words kept in the caller's slot array (see VDM_DEV_SLOTS in device.h). */
#ifndef VDM_DEVICE_INTERNAL_H
#define VDM_DEVICE_INTERNAL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/device.h"

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
    uint16_t num_queues;
    uint16_t qmax;
    uint16_t reserved;
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
};

_Static_assert(sizeof(struct vdm_dev_state) <= VDM_DEV_SIZE,
               "struct vdm_dev_state does not fit VDM_DEV_SIZE");
_Static_assert(alignof(struct vdm_dev_state) <= 8,
               "struct vdm_dev_state needs more than 8-byte alignment");
_Static_assert(alignof(struct vdm_dev) >= alignof(struct vdm_dev_state),
               "struct vdm_dev storage is under-aligned");
_Static_assert(VDM_QR_USED <= VDM_DEV_QREG_WORDS,
               "per-queue registers do not fit VDM_DEV_QREG_WORDS");

#endif
