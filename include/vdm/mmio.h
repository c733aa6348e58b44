/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file mmio.h
 * @brief virtio-mmio version 2 transport: the register file of one device.
 *
 * The hypervisor traps guest accesses to the device's MMIO window and hands
 * each one to vdm_mmio_read() or vdm_mmio_write() with the offset from the
 * window base and the access width. Registers 0x000-0x0fc follow the spec
 * table "MMIO Device Register Layout"; device-specific configuration starts
 * at 0x100. The transport raises and lowers the device's single interrupt
 * line through the host's `irq` hook.
 *
 * Nothing a guest does through these calls is fatal: an access the spec
 * does not allow (wrong width or alignment on a control register, a write
 * to a read-only register, a queue register write while the queue is
 * ready, ...) is ignored, reported through the log hook and returned as a
 * negative code so the host may count it. The host completes the trapped
 * guest access in any case (a read yields the value stored in @p *val,
 * which is 0 for an ignored read).
 *
 * VIRTIO_F_ADMIN_VQ is never offered (spec "Features reserved for future
 * use"; the device core refuses to offer it at all), and FEATURES_OK with a
 * feature bit the device did not offer is refused. Writing 0 to QueueReady
 * stops and tears down the selected queue whatever the features; setting
 * it up again after DRIVER_OK needs VIRTIO_F_RING_RESET.
 *
 * One thread drives a transport and its device at a time (DESIGN.md).
 */
#ifndef VDM_MMIO_H
#define VDM_MMIO_H

#include "common.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one virtio-mmio transport. */
#define VDM_MMIO_SIZE 256

/** @brief Value of the MagicValue register ("virt", little-endian). */
#define VDM_MMIO_MAGIC 0x74726976u
/** @brief Value of the Version register (virtio-mmio version 2). */
#define VDM_MMIO_VERSION 2u
/** @brief VendorID presented when the config leaves vendor_id 0 ("VDM "). */
#define VDM_MMIO_VENDOR_DEFAULT 0x204d4456u
/** @brief Offset of the device-specific configuration space. */
#define VDM_MMIO_CONFIG 0x100u

/** @name Register offsets (spec "MMIO Device Register Layout")
 * @{ */
#define VDM_MMIO_MAGIC_VALUE         0x000u /**< R: VDM_MMIO_MAGIC. */
#define VDM_MMIO_VERSION_REG         0x004u /**< R: 2. */
#define VDM_MMIO_DEVICE_ID           0x008u /**< R: VIRTIO device id. */
#define VDM_MMIO_VENDOR_ID           0x00cu /**< R: subsystem vendor id. */
#define VDM_MMIO_DEVICE_FEATURES     0x010u /**< R: 32 device feature bits. */
#define VDM_MMIO_DEVICE_FEATURES_SEL 0x014u /**< W: selects the word. */
#define VDM_MMIO_DRIVER_FEATURES     0x020u /**< W: 32 driver feature bits. */
#define VDM_MMIO_DRIVER_FEATURES_SEL 0x024u /**< W: selects the word. */
#define VDM_MMIO_QUEUE_SEL           0x030u /**< W: queue index. */
#define VDM_MMIO_QUEUE_SIZE_MAX      0x034u /**< R: 0 when no such queue. */
#define VDM_MMIO_QUEUE_SIZE          0x038u /**< W: queue size. */
#define VDM_MMIO_QUEUE_READY         0x044u /**< RW: queue enabled. */
#define VDM_MMIO_QUEUE_NOTIFY        0x050u /**< W: available buffer notice. */
#define VDM_MMIO_INTERRUPT_STATUS    0x060u /**< R: VDM_MMIO_INT_* bits. */
#define VDM_MMIO_INTERRUPT_ACK       0x064u /**< W: clears status bits. */
#define VDM_MMIO_STATUS              0x070u /**< RW: device status; 0 resets. */
#define VDM_MMIO_QUEUE_DESC_LOW      0x080u /**< W: descriptor area, low. */
#define VDM_MMIO_QUEUE_DESC_HIGH     0x084u /**< W: descriptor area, high. */
#define VDM_MMIO_QUEUE_DRIVER_LOW    0x090u /**< W: driver area, low. */
#define VDM_MMIO_QUEUE_DRIVER_HIGH   0x094u /**< W: driver area, high. */
#define VDM_MMIO_QUEUE_DEVICE_LOW    0x0a0u /**< W: device area, low. */
#define VDM_MMIO_QUEUE_DEVICE_HIGH   0x0a4u /**< W: device area, high. */
#define VDM_MMIO_SHM_SEL             0x0acu /**< W: shared memory region id. */
#define VDM_MMIO_SHM_LEN_LOW         0x0b0u /**< R: region length, low. */
#define VDM_MMIO_SHM_LEN_HIGH        0x0b4u /**< R: region length, high. */
#define VDM_MMIO_SHM_BASE_LOW        0x0b8u /**< R: region base, low. */
#define VDM_MMIO_SHM_BASE_HIGH       0x0bcu /**< R: region base, high. */
#define VDM_MMIO_QUEUE_RESET         0x0c0u /**< RW: per-queue reset. */
#define VDM_MMIO_CONFIG_GENERATION   0x0fcu /**< R: config generation. */
/** @} */

/** @name InterruptStatus bits
 * @{ */
#define VDM_MMIO_INT_VRING  1u /**< Used buffer notification. */
#define VDM_MMIO_INT_CONFIG 2u /**< Configuration change notification. */
/** @} */

/** @brief A virtio-mmio transport: opaque caller-owned storage. */
struct vdm_mmio {
    alignas(8) unsigned char opaque[VDM_MMIO_SIZE]; /**< Library state. */
};

/** @brief Hooks the hypervisor provides (const table, VDM_INIT). */
struct vdm_mmio_ops {
    uint32_t size; /**< sizeof(struct vdm_mmio_ops). */
    /**
     * Drive the device's interrupt line: @p level 1 when an event set a bit
     * in InterruptStatus (called again for every new event, so an
     * edge-triggered host injects once per call and a level-triggered host
     * may treat repeats as no-ops), 0 when InterruptStatus became 0.
     * May be NULL (the host then polls vdm_mmio_interrupt_status()).
     */
    void (*irq)(void *host, int level);
    /** Log a static message (VDM_LOG_* level). May be NULL. */
    void (*log)(void *host, int level, const char *msg);
};

/** @brief One shared memory region (spec "Shared Memory Regions"). */
struct vdm_mmio_shm {
    uint64_t base;     /**< Guest-physical base address. */
    uint64_t len;      /**< Length in bytes. */
    uint32_t id;       /**< Region id the driver selects with SHMSel. */
    uint32_t reserved; /**< Must be 0. */
};

/** @brief Transport configuration, caller-filled with VDM_INIT. */
struct vdm_mmio_config {
    uint32_t size;      /**< sizeof(struct vdm_mmio_config). */
    uint32_t vendor_id; /**< VendorID register; 0: VDM_MMIO_VENDOR_DEFAULT. */
    const struct vdm_mmio_ops *ops; /**< Host hooks (may be NULL). */
    void *host;                     /**< Passed to the hooks. */
    const struct vdm_mmio_shm *shm; /**< Shared memory regions (or NULL). */
    uint32_t nshm;                  /**< Entries in @ref shm. */
    uint32_t reserved;              /**< Must be 0. */
};

/**
 * @brief Set up a transport for device @p d and bind it as the device's
 *        interrupt sink (vdm_dev_bind()).
 *
 * The device must have been initialised with vdm_dev_init(). The transport
 * keeps pointers to @p d and to the tables in @p cfg (ops, shm), which must
 * outlive it; @p cfg itself is copied.
 * @return 0; VDM_EINVAL for a NULL argument, a non-zero reserved field or
 *         a NULL shm table with nshm > 0, or two regions with the same id;
 *         VDM_ESIZE when cfg->size (or cfg->ops->size) is too small;
 *         VDM_ENOTSUP for a device offering VDM_F_ADMIN_VQ (PCI only, spec
 *         "Reserved Feature Bits"). VDM_F_SUSPEND works over MMIO (the
 *         Status register, spec "Device Suspend").
 */
VDM_API int vdm_mmio_init(struct vdm_mmio *t, struct vdm_dev *d,
                          const struct vdm_mmio_config *cfg);

/**
 * @brief The guest reads @p width bytes at @p off in the device window.
 *
 * Control registers (off < 0x100) need width 4 and 4-byte alignment.
 * Configuration space (off >= 0x100) takes widths 1, 2, 4 and 8 at any
 * offset inside it and returns the little-endian value of those bytes.
 * @param t     the transport.
 * @param off   offset from the window base.
 * @param width access width in bytes.
 * @param[out] val the value read; 0 when the access is ignored.
 * @return 0; VDM_EINVAL for a NULL argument, a width not in {1, 2, 4, 8}
 *         or a control register access that is not 4 bytes wide and
 *         aligned; VDM_ERANGE outside the window or past the config space;
 *         VDM_ENOTSUP for a write-only or reserved register.
 *         Every non-zero return is logged and leaves the state unchanged.
 */
VDM_API int vdm_mmio_read(struct vdm_mmio *t, uint64_t off, uint32_t width,
                          uint64_t *val);

/**
 * @brief The guest writes @p width bytes of @p val at @p off.
 *
 * Same width rules as vdm_mmio_read(). Writing Status 0 resets the device,
 * clears InterruptStatus and lowers the line. Queue registers (QueueSize,
 * the area addresses) are accepted only for an existing queue that is not
 * ready, and after DRIVER_OK only for a queue reset with VIRTIO_F_RING_RESET.
 * QueueNotify decodes NOTIFICATION_DATA when negotiated (queue index in
 * bits 0-15, the rest handed to the device core).
 * @return 0; VDM_EINVAL (bad argument, width or alignment, a value out of
 *         the register's range); VDM_ERANGE (outside the window or config
 *         space, or no such queue selected); VDM_ENOTSUP (read-only or
 *         reserved register, read-only config space); VDM_ESTATE (not
 *         allowed in the current device or queue state); or the code the
 *         device core returned (e.g. VDM_ESTATE for a refused status bit).
 *         Every non-zero return is logged.
 */
VDM_API int vdm_mmio_write(struct vdm_mmio *t, uint64_t off, uint32_t width,
                           uint64_t val);

/**
 * @brief Hardware (system) reset: resets the device (status 0), clears
 *        InterruptStatus (lowering the line) and every selector register.
 * @return 0, or VDM_EINVAL for a NULL or uninitialised transport.
 */
VDM_API int vdm_mmio_reset(struct vdm_mmio *t);

/** @brief Current InterruptStatus bits (the line is high iff non-zero). */
VDM_API uint32_t vdm_mmio_interrupt_status(const struct vdm_mmio *t);

/**
 * @brief Bytes vdm_mmio_save() needs: the device's image
 *        (vdm_dev_state_size()) plus the MMIO section; 0 for a bad
 *        transport.
 */
VDM_API size_t vdm_mmio_state_size(const struct vdm_mmio *t);
/**
 * @brief Save the device and this transport's registers (selectors,
 *        InterruptStatus) into @p buf (vdm/state.h, docs/state-format.md).
 * @return bytes written; VDM_EINVAL; VDM_ENOSPC; VDM_EBUSY (see
 *         vdm_dev_save()).
 */
VDM_API int vdm_mmio_save(const struct vdm_mmio *t, void *buf, size_t len);
/**
 * @brief Restore an image of vdm_mmio_save() into this transport and its
 *        device (initialised with the same configuration). Checks as
 *        vdm_dev_restore(), and the MMIO section (present, InterruptStatus
 *        only VRING and CONFIG bits: VDM_EINVAL). Raises the line through
 *        the irq hook when InterruptStatus is not 0.
 * @return 0; a negative VDM_E* with device and registers reset.
 */
VDM_API int vdm_mmio_restore(struct vdm_mmio *t, const void *buf, size_t len);

/**
 * @brief Size of the MMIO window this device decodes: 0x100 plus the
 *        device config size, rounded up to a multiple of 0x100 (0 for a
 *        NULL or uninitialised transport). Use it for the device tree `reg`.
 */
VDM_API uint64_t vdm_mmio_window_size(const struct vdm_mmio *t);

#ifdef __cplusplus
}
#endif
#endif
