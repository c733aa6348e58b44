/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file pci.h
 * @brief virtio-pci modern transport: one non-transitional PCI function.
 *
 * The transport emulates the function's configuration space (a type 0
 * header with the virtio vendor capabilities and an MSI-X capability) and
 * the memory BARs that hold the virtio structures (common configuration,
 * notifications, ISR status, device-specific configuration) and the MSI-X
 * table and pending bit array. The hypervisor traps the guest's config
 * space accesses (CF8/CFC, ECAM, ...) into vdm_pci_cfg_read() and
 * vdm_pci_cfg_write(), and its accesses to the BARs into vdm_pci_bar_read()
 * and vdm_pci_bar_write() (vdm_pci_decode() finds the BAR of an address).
 * Interrupts leave through the host's `msi` hook (MSI-X enabled) or its
 * `irq_level` hook (INTx).
 *
 * Spec: "Virtio Over PCI Bus" (PCI Device Discovery, Virtio Structure PCI
 * Capabilities, Common configuration structure layout, Notification
 * structure layout, ISR status capability, PCI configuration access
 * capability, MSI-X Vector Configuration).
 *
 * Nothing a guest does through these calls is fatal: accesses the spec does
 * not allow are ignored, logged through the host's log hook and reported
 * as a negative code the host may count; the host completes the guest
 * access in any case (a read yields @p *val, 0 when ignored). Writes to
 * read-only config space bits are ignored silently, as on real hardware.
 *
 * One thread drives a transport and its device at a time (DESIGN.md).
 */
#ifndef VDM_PCI_H
#define VDM_PCI_H

#include "common.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one virtio-pci transport. */
#define VDM_PCI_SIZE 1024

/** @brief PCI vendor id of every virtio device. */
#define VDM_PCI_VENDOR_ID 0x1af4u
/** @brief PCI device id = this + VIRTIO device id (non-transitional). */
#define VDM_PCI_DEVICE_ID_BASE 0x1040u
/** @brief Subsystem device id presented when the config leaves it 0. */
#define VDM_PCI_SUBSYS_ID_DEFAULT 0x1100u
/** @brief Class code (class << 16 | subclass << 8 | prog-if) used for
 *         device types without a better one: "unassigned class". */
#define VDM_PCI_CLASS_DEFAULT 0xff0000u
/** @brief Bytes of emulated configuration space (offsets 0x100-0xfff of a
 *         PCI Express extended space read as 0: no extended capability). */
#define VDM_PCI_CFG_BYTES 256u
/** @brief "No vector" value of config_msix_vector / queue_msix_vector. */
#define VDM_PCI_NO_VECTOR 0xffffu
/** @brief Most MSI-X vectors a function may have (spec: 0x800). */
#define VDM_PCI_MSIX_MAX 2048u

/** @name vdm_pci_config::flags
 * @{ */
/** Use the offsets and notify_off_multiplier given in the config instead
 *  of the default layout. */
#define VDM_PCI_F_LAYOUT 1u
/** 32-bit memory BARs instead of 64-bit ones. */
#define VDM_PCI_F_BAR32 2u
/** Mark the memory BARs prefetchable (some platforms place only
 *  prefetchable 64-bit BARs above 4 GiB). */
#define VDM_PCI_F_PREFETCH 4u
/** No INTx: Interrupt Pin 0 and irq_level is never called. */
#define VDM_PCI_F_NO_INTX 8u
/** The host owns the MSI-X table's masking (a vfio-user client emulates the
 *  table for its guest): the per-vector and function mask bits of the
 *  transport's table are not consulted, every message goes to the msi hook
 *  while MSI-X is enabled, and the host masks. */
#define VDM_PCI_F_MSIX_HOST 16u
/** @} */

/** @name Virtio capability types (cfg_type)
 * @{ */
#define VDM_PCI_CAP_COMMON_CFG 1u /**< Common configuration. */
#define VDM_PCI_CAP_NOTIFY_CFG 2u /**< Notifications. */
#define VDM_PCI_CAP_ISR_CFG    3u /**< ISR status. */
#define VDM_PCI_CAP_DEVICE_CFG 4u /**< Device-specific configuration. */
#define VDM_PCI_CAP_PCI_CFG    5u /**< PCI configuration access window. */
/** @} */

/** @name Common configuration structure offsets
 * @{ */
#define VDM_PCI_COMMON_DFSELECT  0x00u /**< le32 device_feature_select. */
#define VDM_PCI_COMMON_DF        0x04u /**< le32 device_feature. */
#define VDM_PCI_COMMON_GFSELECT  0x08u /**< le32 driver_feature_select. */
#define VDM_PCI_COMMON_GF        0x0cu /**< le32 driver_feature. */
#define VDM_PCI_COMMON_MSIX      0x10u /**< le16 config_msix_vector. */
#define VDM_PCI_COMMON_NUMQ      0x12u /**< le16 num_queues. */
#define VDM_PCI_COMMON_STATUS    0x14u /**< u8 device_status. */
#define VDM_PCI_COMMON_CFGGEN    0x15u /**< u8 config_generation. */
#define VDM_PCI_COMMON_Q_SELECT  0x16u /**< le16 queue_select. */
#define VDM_PCI_COMMON_Q_SIZE    0x18u /**< le16 queue_size. */
#define VDM_PCI_COMMON_Q_MSIX    0x1au /**< le16 queue_msix_vector. */
#define VDM_PCI_COMMON_Q_ENABLE  0x1cu /**< le16 queue_enable. */
#define VDM_PCI_COMMON_Q_NOFF    0x1eu /**< le16 queue_notify_off. */
#define VDM_PCI_COMMON_Q_DESC    0x20u /**< le64 queue_desc. */
#define VDM_PCI_COMMON_Q_DRIVER  0x28u /**< le64 queue_driver. */
#define VDM_PCI_COMMON_Q_DEVICE  0x30u /**< le64 queue_device. */
#define VDM_PCI_COMMON_Q_NDATA   0x38u /**< le16 queue_notif_config_data. */
#define VDM_PCI_COMMON_Q_RESET   0x3au /**< le16 queue_reset. */
#define VDM_PCI_COMMON_ADM_Q_IDX 0x3cu /**< le16 admin_queue_index. */
#define VDM_PCI_COMMON_ADM_Q_NUM 0x3eu /**< le16 admin_queue_num. */
#define VDM_PCI_COMMON_BYTES     0x40u /**< Size of the structure. */
/** @} */

/** @name ISR status bits
 * @{ */
#define VDM_PCI_ISR_QUEUE  1u /**< Queue interrupt. */
#define VDM_PCI_ISR_CONFIG 2u /**< Device configuration interrupt. */
/** @} */

/**
 * @brief uint32_t words of caller storage (vdm_pci_config::storage) for a
 *        device of @p nq queues and @p nvec MSI-X vectors: the queue vector
 *        map, the MSI-X table and the pending bits. 0 when @p nvec is 0.
 *        @p nq counts the administration virtqueue of a device offering
 *        VDM_F_ADMIN_VQ (vdm_dev_num_queues() + vdm_dev_admin_queue_num()).
 */
#define VDM_PCI_STORAGE_WORDS(nq, nvec)                                        \
    ((nvec) > 0                                                                \
         ? (size_t)(nq) + 4 * (size_t)(nvec) + ((size_t)(nvec) + 31) / 32      \
         : (size_t)0)

/** @brief A virtio-pci transport: opaque caller-owned storage. */
struct vdm_pci {
    alignas(8) unsigned char opaque[VDM_PCI_SIZE]; /**< Library state. */
};

/** @brief Hooks the hypervisor provides (const table, VDM_INIT). */
struct vdm_pci_ops {
    uint32_t size; /**< sizeof(struct vdm_pci_ops). */
    /**
     * INTx line (used while MSI-X is disabled): called with 1 when the line
     * goes up and 0 when it goes down (level-triggered, transitions only).
     * May be NULL.
     */
    void (*irq_level)(void *host, int level);
    /**
     * Send MSI-X message @p vector: the host writes @p data to @p addr as
     * the function would (both taken from the vector's table entry).
     * Required when msix_vectors > 0.
     */
    void (*msi)(void *host, uint16_t vector, uint64_t addr, uint32_t data);
    /** Log a static message (VDM_LOG_* level). May be NULL. */
    void (*log)(void *host, int level, const char *msg);
};

/**
 * @brief Transport configuration, caller-filled with VDM_INIT.
 *
 * Zero fields pick sane defaults: one 64-bit memory BAR 0 holding every
 * structure and the MSI-X table, each region on its own 4 KiB page, queue
 * notify addresses 4 bytes apart.
 */
struct vdm_pci_config {
    uint32_t size;             /**< sizeof(struct vdm_pci_config). */
    uint32_t flags;            /**< VDM_PCI_F_* bits. */
    uint16_t subsys_vendor_id; /**< Subsystem vendor id; 0: 0x1af4. */
    uint16_t subsys_id;    /**< Subsystem id; 0: VDM_PCI_SUBSYS_ID_DEFAULT. */
    uint32_t class_code;   /**< 24-bit class code; 0: by device type. */
    uint8_t revision;      /**< Revision id; 0: 1 (non-transitional). */
    uint8_t cfg_bar;       /**< BAR of the virtio structures (0-5). */
    uint8_t msix_bar;      /**< BAR of the MSI-X table and PBA (0-5). */
    uint8_t reserved0;     /**< Must be 0. */
    uint16_t msix_vectors; /**< MSI-X table size; 0: no MSI-X, INTx only. */
    uint16_t reserved1;    /**< Must be 0. */
    /** With VDM_PCI_F_LAYOUT: bytes between queue notify addresses (0 or a
     *  power of two >= 4; 0: one address for every queue). */
    uint32_t notify_off_multiplier;
    uint32_t common_off; /**< VDM_PCI_F_LAYOUT: common config (4-aligned). */
    uint32_t isr_off;    /**< VDM_PCI_F_LAYOUT: ISR status. */
    uint32_t device_off; /**< VDM_PCI_F_LAYOUT: device config (4-aligned). */
    uint32_t notify_off; /**< VDM_PCI_F_LAYOUT: notify region (4-aligned). */
    uint32_t msix_table_off; /**< VDM_PCI_F_LAYOUT: MSI-X table (8-aligned). */
    uint32_t msix_pba_off;   /**< VDM_PCI_F_LAYOUT: MSI-X PBA (8-aligned). */
    uint32_t storage_words;  /**< Words in @ref storage. */
    uint32_t
        *storage; /**< VDM_PCI_STORAGE_WORDS(queues, msix_vectors) words. */
    const struct vdm_pci_ops *ops; /**< Host hooks. */
    void *host;                    /**< Passed to the hooks. */
};

/**
 * @brief Set up a PCI function for device @p d (already vdm_dev_init()ed)
 *        and bind it as the device's interrupt sink (vdm_dev_bind()).
 *
 * Builds the configuration space: vendor 0x1af4, device 0x1040 + VIRTIO
 * device id, the class code, capabilities (common, notify, ISR, device
 * config when the device has one, PCI config access, MSI-X when vectors
 * are configured) and the BARs (sizes are powers of two, at least 4 KiB;
 * addresses 0 until the guest programs them). The MSI-X vectors start
 * masked, every event unmapped.
 * @return 0; VDM_EINVAL for a NULL argument, a reserved field not 0, a BAR
 *         number out of range (a 64-bit BAR needs bar + 1 <= 5 and a BAR
 *         of its own), more than VDM_PCI_MSIX_MAX vectors, MSI-X without
 *         an msi hook, or (VDM_PCI_F_LAYOUT) a misaligned or overlapping
 *         region or a bad multiplier; VDM_ENOSPC when storage_words is
 *         below VDM_PCI_STORAGE_WORDS(); VDM_ESIZE when cfg->size or
 *         ops->size is too small.
 */
VDM_API int vdm_pci_init(struct vdm_pci *t, struct vdm_dev *d,
                         const struct vdm_pci_config *cfg);

/**
 * @brief PCI function reset (power-on, FLR, bus reset): configuration space
 *        back to its initial image (BARs unassigned, decoding off, MSI-X
 *        disabled and every vector masked, no pending bit), INTx low, and
 *        the device reset (status 0).
 * @return 0, or VDM_EINVAL for a NULL or uninitialised transport.
 */
VDM_API int vdm_pci_reset(struct vdm_pci *t);

/**
 * @brief The guest reads configuration space.
 * @param t     the transport.
 * @param off   offset 0-0xfff (0x100 and up read as 0).
 * @param width 1, 2 or 4, naturally aligned.
 * @param[out] val the value (0 when ignored).
 * @return 0; VDM_EINVAL for a NULL argument or a bad width or alignment;
 *         VDM_ERANGE for an offset at or beyond 0x1000.
 */
VDM_API int vdm_pci_cfg_read(struct vdm_pci *t, uint32_t off, uint32_t width,
                             uint32_t *val);

/**
 * @brief The guest writes configuration space. Writable: Command (memory
 *        space, bus master, INTx disable), Cache Line Size, the BARs (all
 *        ones sizes them), Interrupt Line, MSI-X Enable and Function Mask,
 *        and the PCI config access capability's bar, offset, length and
 *        data (a data write performs the BAR write it describes).
 * @return as vdm_pci_cfg_read(); writes to read-only bits are ignored
 *         and succeed.
 */
VDM_API int vdm_pci_cfg_write(struct vdm_pci *t, uint32_t off, uint32_t width,
                              uint32_t val);

/**
 * @brief The guest reads @p width bytes at @p off in BAR @p bar.
 *
 * Common configuration fields need their natural width (64-bit fields: 4
 * bytes at either half or 8 bytes at the start); the ISR status byte takes
 * widths 1, 2 and 4 and is cleared by the read; device configuration takes
 * widths 1, 2, 4 and 8; the MSI-X table and PBA take aligned 4 and 8.
 * @return 0; VDM_EINVAL (NULL argument, bad width or alignment); VDM_ERANGE
 *         (BAR not implemented, offset outside every structure); VDM_ENOTSUP
 *         (notify region read); or a device core code.
 */
VDM_API int vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                             uint32_t width, uint64_t *val);

/**
 * @brief The guest writes @p width bytes of @p val at @p off in BAR @p bar.
 *
 * A notify region write notifies the queue whose address it hits (with a
 * zero notify_off_multiplier the value names the queue); the value is
 * handed to the device core as NOTIFICATION_DATA. Queue registers are
 * accepted only for an existing queue that is not enabled (and after
 * DRIVER_OK only after a queue reset). Vector writes outside the MSI-X
 * table store VDM_PCI_NO_VECTOR (the mapping failed; the driver reads it
 * back).
 * @return 0; VDM_EINVAL; VDM_ERANGE; VDM_ENOTSUP (read-only field or
 *         region); VDM_ESTATE (not allowed in this state); or a device
 *         core code. Every non-zero return is logged.
 */
VDM_API int vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                              uint32_t width, uint64_t val);

/**
 * @brief Where the guest put BAR @p bar and how big it is.
 * @param t   the transport.
 * @param bar BAR number, 0-5.
 * @param[out] addr programmed base address (0 until programmed); may be NULL.
 * @param[out] size BAR size in bytes; may be NULL.
 * @return 0; VDM_ENOENT when the BAR is not implemented (or is the upper
 *         half of a 64-bit BAR); VDM_EINVAL for a NULL transport or bar > 5.
 */
VDM_API int vdm_pci_bar_info(const struct vdm_pci *t, uint32_t bar,
                             uint64_t *addr, uint64_t *size);

/**
 * @brief Find the BAR that decodes guest-physical address @p addr: memory
 *        space decoding enabled in the Command register, the BAR
 *        programmed (non-zero) and @p addr inside it.
 * @param t    the transport.
 * @param addr guest-physical address of an access.
 * @param[out] bar the BAR number.
 * @param[out] off the offset in it.
 * @return 0, VDM_ENOENT when no BAR decodes @p addr, VDM_EINVAL.
 */
VDM_API int vdm_pci_decode(const struct vdm_pci *t, uint64_t addr,
                           uint32_t *bar, uint64_t *off);

/** @brief Current INTx line level (1 asserted, 0 not). */
VDM_API int vdm_pci_intx_level(const struct vdm_pci *t);

/**
 * @brief Bytes vdm_pci_save() needs: the device's image
 *        (vdm_dev_state_size()) plus the PCI section (configuration space,
 *        selectors, ISR, MSI-X vectors, table and PBA); 0 for a bad
 *        transport.
 */
VDM_API size_t vdm_pci_state_size(const struct vdm_pci *t);
/**
 * @brief Save the device and this function's state into @p buf
 *        (vdm/state.h, docs/state-format.md).
 * @return bytes written; VDM_EINVAL; VDM_ENOSPC; VDM_EBUSY (see
 *         vdm_dev_save()).
 */
VDM_API int vdm_pci_save(const struct vdm_pci *t, void *buf, size_t len);
/**
 * @brief Restore an image of vdm_pci_save() into this function and its
 *        device (initialised with the same configuration). Checks as
 *        vdm_dev_restore(), and the PCI section: present, same queue and
 *        vector counts, configuration space differing from this function's
 *        only in guest-writable bits, ISR only QUEUE and CONFIG bits, MSI-X
 *        table entries as a driver can write them (VDM_EINVAL), vectors
 *        NO_VECTOR or in the table and no pending bit beyond it
 *        (VDM_ERANGE). The INTx level is recomputed (irq_level hook) and
 *        pending messages of unmasked vectors are sent.
 * @return 0; a negative VDM_E* with the function and device reset.
 */
VDM_API int vdm_pci_restore(struct vdm_pci *t, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
