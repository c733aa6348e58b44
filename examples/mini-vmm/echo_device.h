/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An example device type, written the way a vendor would write one: a
 * constant struct vdm_device_class plus the type's own state, using only
 * the public vdm API (device core and virtqueue), with no knowledge of the
 * transport it will sit behind.
 *
 * The "echo" device has one queue. For every chain the driver makes
 * available, it copies the device-readable bytes, reversed, into the
 * device-writable part and returns the chain with that length. Its config
 * space holds one read-only le32: the number of chains echoed so far.
 *
 * It uses device id 63, one the VIRTIO specification has not assigned.
 */
#ifndef MINIVMM_ECHO_DEVICE_H
#define MINIVMM_ECHO_DEVICE_H

#include <stdint.h>

#include "vdm/kit.h"

#define ECHO_ID         63u
#define ECHO_QUEUE_SIZE 64u

/* Everything one echo device needs, caller-owned (no allocation). */
struct echo_device {
    struct vdm_dev dev;
    struct vdm_vq queue;
    uint32_t slots[VDM_DEV_SLOTS(1, ECHO_QUEUE_SIZE)];
    uint32_t echoed; /* config space: chains echoed so far */
    /* The device kit serves the queue: one request slot, its spans. */
    struct vdm_kit kit;
    alignas(
        8) unsigned char req[VDM_KIT_SLOTS_BYTES(1, 1, VDM_KIT_SLOT_BYTES(0))];
    struct vdm_iov iov[8];
};

/* Create the device on guest memory @p mem with the given host hooks.
 * Returns vdm_dev_init()'s result. */
int echo_device_init(struct echo_device *e, const struct vdm_mem *mem,
                     const struct vdm_host_ops *ops, void *host);

#endif
