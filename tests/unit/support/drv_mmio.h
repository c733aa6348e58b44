/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file drv_mmio.h
 * @brief virtio-mmio driver, register level, plus the host side a
 *        hypervisor would give the transport (interrupt line, log).
 *
 * drv_mmio_init() creates the vdm_mmio transport for a device (the device
 * side under test) and records what it does to the line. The driver half
 * performs 32-bit register accesses through vdm_mmio_read()/write() only,
 * like a guest's trapped loads and stores, and implements struct drv_tp.
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_TESTS_DRV_MMIO_H
#define VDM_TESTS_DRV_MMIO_H

#include <stdint.h>

#include "drv_transport.h"
#include "vdm/mmio.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief An MMIO device window: transport, host hooks and driver state. */
struct drv_mmio {
    struct drv_tp tp;         /**< Generic driver view (first member). */
    struct vdm_mmio t;        /**< The transport under test. */
    struct vdm_mmio_ops hops; /**< Host hooks handed to the transport. */
    int line;                 /**< Interrupt line level. */
    unsigned raises;          /**< irq(host, 1) calls. */
    unsigned lowers;          /**< irq(host, 0) calls. */
};

/**
 * @brief Create the transport for @p d. @p cfg may be NULL (defaults);
 *        its ops and host are replaced by the recording hooks.
 * @return vdm_mmio_init()'s result.
 */
int drv_mmio_init(struct drv_mmio *m, struct vdm_dev *d,
                  const struct vdm_mmio_config *cfg);

/** @brief 32-bit register read (a refusal is counted in tp.refused). */
uint32_t drv_mmio_rd(struct drv_mmio *m, uint32_t off);
/** @brief 32-bit register write (a refusal is counted in tp.refused). */
void drv_mmio_wr(struct drv_mmio *m, uint32_t off, uint32_t val);

/**
 * @brief "MMIO-specific Initialization": check MagicValue and Version,
 *        read DeviceID.
 * @return the device id (> 0), 0 for a placeholder device, -1 for a bad
 *         magic value, -2 for a version other than 2.
 */
int drv_mmio_probe(struct drv_mmio *m);

#ifdef __cplusplus
}
#endif
#endif
