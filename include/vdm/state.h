/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file state.h
 * @brief Save and restore a device (core, queues, device type, transport)
 *        into a caller buffer, for migration and snapshots.
 *
 * The image is versioned, size-prefixed and little-endian on every host;
 * docs/state-format.md describes each byte. A saved image is untrusted
 * input: restore checks everything it reads against the destination
 * device (same device type, queue count and configuration, features it
 * offers, rings inside its memory, sizes it allows, positions inside the
 * ring, a status a driver could have reached) and refuses anything else.
 * A refused restore leaves the device (and transport) reset, never half
 * restored.
 *
 * **Requests in flight.** A chain popped and not yet completed at save time
 * is served again by the restored device: the saved ring position is the
 * one before it (the guest still owns nothing of it, so it reads the same
 * chain from the ring again). This needs the chains in flight to be the
 * most recently popped ones of their queue (true with no chain in flight,
 * with IN_ORDER, and whenever completions came in pop order); otherwise
 * save returns VDM_EBUSY and the caller completes requests (drains) and
 * saves again. The caller's contract: after a save that is used, the saved
 * device completes nothing more (its host requests are dropped, not
 * finished); on the restored device they are executed again, so the host
 * must either drain before saving or accept re-execution (block reads and
 * writes of the same data are idempotent). No request is lost or completed
 * twice as the guest sees it.
 *
 * **After a restore** the device is live but has heard no notification:
 * the caller notifies each enabled queue once (vdm_dev_queue_notify()), so
 * chains the driver made available before the save, or re-queued ones, are
 * served. Interrupt state (MMIO InterruptStatus, PCI ISR, MSI-X pending
 * bits) comes back with the transport; the caller may also send one
 * used-buffer interrupt per queue (spurious interrupts are harmless).
 *
 * **Left out of the build** (vdm/config.h VDM_CONFIG_STATE 0): the sizes
 * are 0 and every save and restore returns VDM_ENOTSUP, touching nothing.
 *
 * Spec: "Device Status Field", "Feature Bits", "Virtqueues" (ring
 * positions), "Device Configuration Space" (generation); the transports'
 * register layouts.
 */
#ifndef VDM_STATE_H
#define VDM_STATE_H

#include "common.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup state Save and restore
 * @brief Versioned little-endian images of a device and its transport.
 * @{ */

/** @brief Image magic: the bytes "VDMS" (little-endian 32-bit value). */
#define VDM_STATE_MAGIC 0x534d4456u
/** @brief Format version written by this library (and the only one read). */
#define VDM_STATE_VERSION 1u
/** @brief Bytes of the image header. */
#define VDM_STATE_HDR_BYTES 24u
/** @brief Bytes of a section header (tag, flags, payload length). */
#define VDM_STATE_SEC_BYTES 8u

/** @name Section tags
 * @{ */
#define VDM_STATE_SEC_CORE  1u    /**< Device core: status, features. */
#define VDM_STATE_SEC_QUEUE 2u    /**< One queue (one section per queue). */
#define VDM_STATE_SEC_CLASS 3u    /**< Device type (class state hook). */
#define VDM_STATE_SEC_MMIO  0x10u /**< virtio-mmio transport registers. */
#define VDM_STATE_SEC_PCI   0x11u /**< virtio-pci transport state. */
/** Section flag: a reader that does not know the tag may skip it. */
#define VDM_STATE_SEC_F_OPTIONAL 1u
/** @} */

/**
 * @brief Bytes vdm_dev_save() needs for device @p d now (core, one section
 *        per queue, the device type's section); 0 for a bad device or a
 *        device type whose state hook fails.
 */
VDM_API size_t vdm_dev_state_size(const struct vdm_dev *d);

/**
 * @brief Save device @p d (without transport) into @p buf.
 *
 * Requests in flight are re-queued in the image (see the file comment).
 * The device itself is not changed.
 * @return bytes written (> 0); VDM_EINVAL (bad device, NULL @p buf);
 *   VDM_ENOSPC (@p len below vdm_dev_state_size()); VDM_EBUSY (a queue has
 *   chains in flight that are not its most recently popped: complete them
 *   and save again); or the device type hook's error.
 */
VDM_API int vdm_dev_save(const struct vdm_dev *d, void *buf, size_t len);

/**
 * @brief Restore device @p d (initialised, of the same device type and
 *        configuration as the saved one) from the image @p buf.
 *
 * Whatever its state, the device is reset first. Sections of a transport
 * are skipped. Checks, in order: the header (magic, version, lengths), the
 * framing of every section (VDM_EINVAL), unknown sections without
 * VDM_STATE_SEC_F_OPTIONAL (VDM_ENOTSUP), the device id and queue count
 * (VDM_EINVAL), the status (a sequence a driver could have written, no
 * unknown bit: VDM_EINVAL), the negotiated features (offered by @p d,
 * accepted by the device core and the device type: VDM_ENOTSUP), each
 * queue (size allowed by @p d and the ring format, ring inside guest
 * memory and aligned (VDM_EFAULT / VDM_EINVAL), position inside the ring
 * (VDM_ERANGE)), then the device type's section through its hook.
 * @return 0; a negative VDM_E* code with the device left reset.
 */
VDM_API int vdm_dev_restore(struct vdm_dev *d, const void *buf, size_t len);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
