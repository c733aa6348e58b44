/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file drv_pci.h
 * @brief virtio-pci modern driver, register level, plus the host side a
 *        hypervisor would give the transport (INTx line, MSI delivery, log)
 *        and a firmware-style enumeration (BAR sizing and placement,
 *        capability walk, MSI-X table programming).
 *
 * The driver half reaches the device only through configuration space
 * accesses (vdm_pci_cfg_read/write) and memory accesses at guest-physical
 * addresses inside the BARs it placed (decoded with vdm_pci_decode(), then
 * vdm_pci_bar_read/write), like a guest's trapped accesses. In
 * DRV_PCI_MODE_WINDOW it reaches the structures through the
 * VIRTIO_PCI_CAP_PCI_CFG window in configuration space instead.
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_TESTS_DRV_PCI_H
#define VDM_TESTS_DRV_PCI_H

#include <stdint.h>

#include "drv_transport.h"
#include "vdm/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Structures accessed through the memory BARs. */
#define DRV_PCI_MODE_BAR 0
/** Structures accessed through the PCI configuration access capability. */
#define DRV_PCI_MODE_WINDOW 1

/** MSI vectors whose deliveries the host side records. */
#define DRV_PCI_MAX_VEC 64
/** Base of the MSI address window (x86-style). */
#define DRV_PCI_MSI_ADDR 0xfee00000ull

/** @brief A virtio structure found by the capability walk. */
struct drv_pci_cap {
    uint8_t pos;  /**< Position in config space (0: not found). */
    uint8_t bar;  /**< BAR. */
    uint32_t off; /**< Offset in the BAR. */
    uint32_t len; /**< Length. */
};

/** @brief A PCI function: transport, host hooks and driver state. */
struct drv_pci {
    struct drv_tp tp;        /**< Generic driver view (first member). */
    struct vdm_pci t;        /**< The transport under test. */
    struct vdm_pci_ops hops; /**< Host hooks handed to the transport. */
    uint32_t *storage;       /**< Transport storage (malloc'ed). */
    int mode;                /**< DRV_PCI_MODE_*. */

    /* host side: what the transport did */
    int intx;                            /**< INTx level. */
    unsigned intx_raises;                /**< irq_level(host, 1) calls. */
    unsigned msi_total;                  /**< msi() calls. */
    unsigned msi_count[DRV_PCI_MAX_VEC]; /**< msi() calls per vector. */
    uint64_t msi_unhandled;   /**< Vectors delivered, not yet handled. */
    uint64_t msi_last_addr;   /**< Address of the last message. */
    uint32_t msi_last_data;   /**< Data of the last message. */
    uint16_t msi_last_vector; /**< Vector of the last message. */

    /* driver side: what enumeration found */
    uint64_t bar_addr[6]; /**< Assigned addresses (0: unused). */
    uint64_t bar_size[6]; /**< Sizes found by sizing. */
    struct drv_pci_cap common, notify, isr, device, pcicfg; /**< Caps. */
    uint32_t notify_mult;   /**< notify_off_multiplier. */
    uint8_t msix_pos;       /**< MSI-X capability position (0: none). */
    uint16_t msix_size;     /**< MSI-X table size. */
    uint8_t msix_bar;       /**< BAR of the table. */
    uint32_t msix_table;    /**< Table offset in it. */
    int msix_on;            /**< MSI-X enabled by the driver. */
    uint16_t config_vector; /**< Vector the driver maps config changes to. */
};

/**
 * @brief Create the transport for @p d. @p cfg may be NULL (defaults); its
 *        ops, host and storage are replaced (storage is allocated here).
 * @return vdm_pci_init()'s result, or -100 if malloc fails.
 */
int drv_pci_init(struct drv_pci *p, struct vdm_dev *d,
                 const struct vdm_pci_config *cfg);
/** @brief Free the storage. */
void drv_pci_fini(struct drv_pci *p);

/**
 * @brief Firmware and driver probe: check vendor/device ids, size each BAR
 *        (write all ones, read back, restore), place the BARs from
 *        @p mmio_base up (naturally aligned), enable memory decoding and
 *        bus mastering, walk the capability list, and (when @p use_msix and
 *        the function has MSI-X) program and unmask the table and enable
 *        MSI-X (vector v: address DRV_PCI_MSI_ADDR, data v).
 * @return 0; -1 wrong ids; -2 a BAR failed to size; -3 capability list
 *         missing, looping or ill-formed; -4 a required virtio capability
 *         missing.
 */
int drv_pci_probe(struct drv_pci *p, uint64_t mmio_base, int use_msix);

/** @brief Config space read (a refusal is counted). */
uint32_t drv_pci_cfg_rd(struct drv_pci *p, uint32_t off, unsigned width);
/** @brief Config space write (a refusal is counted). */
void drv_pci_cfg_wr(struct drv_pci *p, uint32_t off, unsigned width,
                    uint32_t val);
/** @brief Read @p width bytes at @p off in BAR @p bar, in the current mode. */
uint64_t drv_pci_bar_rd(struct drv_pci *p, uint8_t bar, uint32_t off,
                        unsigned width);
/** @brief Write @p width bytes at @p off in BAR @p bar, in the current mode. */
void drv_pci_bar_wr(struct drv_pci *p, uint8_t bar, uint32_t off,
                    unsigned width, uint64_t val);
/** @brief Read a common configuration field. */
uint64_t drv_pci_common_rd(struct drv_pci *p, uint32_t off, unsigned width);
/** @brief Write a common configuration field. */
void drv_pci_common_wr(struct drv_pci *p, uint32_t off, unsigned width,
                       uint64_t val);
/** @brief The MSI-X vector the driver maps queue @p q to. */
uint16_t drv_pci_queue_vector(const struct drv_pci *p, uint16_t q);

#ifdef __cplusplus
}
#endif
#endif
