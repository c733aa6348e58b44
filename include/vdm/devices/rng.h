/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file rng.h
 * @brief Entropy device (virtio-rng, spec "Entropy Device", device id 4).
 *
 * One queue, the requestq. The driver posts device-writable buffers; the
 * device fills them with bytes from the host's entropy source (the
 * vdm_rng_ops::fill hook) and returns each with the number of bytes
 * written as its used length. There is no configuration space and there
 * are no device-type feature bits.
 *
 * Never losing a chain: when the host source has nothing right now (fill
 * returns 0, VDM_EAGAIN or any other negative code before a single byte was
 * produced for a chain), the chain is given back to the queue (unpopped)
 * and the device stops. The host calls vdm_rng_kick() once entropy is
 * available again; the next driver notification also retries.
 *
 * Driver errors, handled without breaking the device (spec "Device
 * Operation": the driver MUST NOT place device-readable buffers):
 * - readable parts of a chain are ignored; the writable part is filled and
 *   the used length counts only bytes written;
 * - a chain with no writable byte is returned at once with used length 0;
 * - of a chain with more than VDM_RNG_IOV_MAX spans, only the first
 *   VDM_RNG_IOV_MAX are used (the used length says how much was filled).
 * Each kind of error is logged once per device reset through the host log
 * hook.
 *
 * Threads: like every vdm device, one thread at a time; vdm_rng_kick() must
 * be called on the thread that drives the device.
 */
#ifndef VDM_DEVICES_RNG_H
#define VDM_DEVICES_RNG_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (requestq). */
#define VDM_RNG_NUM_QUEUES 1
/** @brief Index of the requestq. */
#define VDM_RNG_QUEUE_REQUEST 0
/** @brief Most spans one request chain may have. */
#define VDM_RNG_IOV_MAX 16
/** @brief Bytes of opaque storage for one entropy device. */
#define VDM_RNG_SIZE 640

/** @brief An entropy device: opaque caller-owned storage. */
struct vdm_rng {
    alignas(8) unsigned char opaque[VDM_RNG_SIZE]; /**< Library state. */
};

/** @brief What the entropy device asks of the host (const table). */
struct vdm_rng_ops {
    uint32_t size; /**< sizeof(struct vdm_rng_ops), set by VDM_INIT. */
    /**
     * Write up to @p len random bytes at @p buf (required).
     * @return bytes produced, 0..len (0: nothing available now); or a
     *         negative VDM_E* code (VDM_EAGAIN: nothing now). Returning
     *         fewer than @p len bytes tells the device the source is
     *         drained for now: it completes the current chain with what it
     *         got and asks again for the next one.
     */
    int (*fill)(void *host, void *buf, uint32_t len);
};

/** @brief Entropy device configuration, caller-filled with VDM_INIT. */
struct vdm_rng_config {
    uint32_t size;                 /**< sizeof(struct vdm_rng_config). */
    uint32_t reserved;             /**< Must be 0. */
    const struct vdm_rng_ops *ops; /**< Entropy source (required). */
    void *host;                    /**< Passed to @ref ops hooks. */
};

/**
 * @brief Create an entropy device on @p dev.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues must be 0 or 1), sets the device class, state and features
 * (VDM_F_RING_ALL plus the generic bits 24..40 of base->features, e.g.
 * VDM_F_ACCESS_PLATFORM; the entropy device has no device-type bits) and
 * calls vdm_dev_init(). Both @p r and @p dev must stay in place for the
 * device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, no fill hook, bad num_queues);
 *         VDM_ESIZE (a struct's size field too small); or what
 *         vdm_dev_init() returns.
 */
VDM_API int vdm_rng_init(struct vdm_rng *r, struct vdm_dev *dev,
                         const struct vdm_rng_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief Entropy is available again: serve the requestq now.
 *
 * Call after the fill hook reported no bytes. Does nothing unless the device
 * is live (DRIVER_OK, not NEEDS_RESET).
 * @return number of chains completed (0 when none were waiting or the
 *         source is still empty); a negative VDM_E* code the fill hook
 *         returned other than VDM_EAGAIN (the chain is kept); VDM_EINVAL
 *         for a NULL @p r.
 */
VDM_API int vdm_rng_kick(struct vdm_rng *r);

/** @brief The device this entropy device was created on. */
VDM_API struct vdm_dev *vdm_rng_dev(const struct vdm_rng *r);

#ifdef __cplusplus
}
#endif
#endif
