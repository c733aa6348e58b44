/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the administration virtqueue's engine (src/admin.c), for the
 * transport that can present the queue. Not installed, not exported.
 *
 * Spec "Reserved Feature Bits": VIRTIO_F_ADMIN_VQ is for the PCI transport
 * only (MMIO and vhost-user refuse a device that offers it). The device
 * core counts the queue (vdm_dev_init()) but serves it only once the
 * transport attached the engine, so an image without the PCI transport
 * does not link it.
 */
#ifndef VDM_ADMIN_INTERNAL_H
#define VDM_ADMIN_INTERNAL_H

struct vdm_dev;

/* Attach the engine to device @p d (initialised by vdm_dev_init(); a no-op
 * otherwise, and when the engine is left out, VDM_CONFIG_ADMIN_VQ 0): its
 * administration queue's notifications are served from then on, until the
 * next vdm_dev_init(). */
void vdmi_dev_admin_attach(struct vdm_dev *d);

#endif
