/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to the virtio-mmio transport (transports/mmio*.c): the state
 * behind struct vdm_mmio. Not installed, not exported. */
#ifndef VDM_MMIO_INTERNAL_H
#define VDM_MMIO_INTERNAL_H

#include "vdm/mmio.h"

#include "abi_internal.h"

#define MMIO_MAGIC_STATE 0x6f696d6du /* "mmio": set by init */

struct mmio_state {
    uint32_t magic;
    uint32_t vendor_id;
    struct vdm_dev *dev;
    const struct vdm_mmio_ops *ops;
    void *host;
    const struct vdm_mmio_shm *shm;
    uint32_t nshm;
    uint32_t dev_features_sel; /* DeviceFeaturesSel */
    uint32_t drv_features_sel; /* DriverFeaturesSel */
    uint32_t queue_sel;        /* QueueSel as written (may be out of range) */
    uint32_t shm_sel;          /* SHMSel */
    uint32_t int_status;       /* InterruptStatus */
};

#endif
