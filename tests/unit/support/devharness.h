/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file devharness.h
 * @brief Generic test bench for a device type: simulated guest memory, a
 *        vdm_dev with its caller arrays, driver-simulator queues, and bring-up
 *        through the transport-face vdm_dev_* calls, as a driver would do it.
 *
 * Use:
 *   struct dh h;
 *   dh_init(&h, &opts);                       // memory, arrays, h.base
 *   vdm_xxx_init(&x, &h.dev, &cfg, &h.base);  // the device type under test
 *   dh_bring_up(&h, features, nqueues);       // ACK .. DRIVER_OK
 *   ... dh_vq(&h, q), drv_vq_add(), dh_kick(&h, q), drv_vq_get_used() ...
 *   dh_fini(&h);
 *
 * Transport modes. dh_init() reads DH_TRANSPORT from the environment
 * (unless dh_opts::transport picks one): "direct" (default) drives the
 * device through the device core's transport face (vdm_dev_*); "mmio" and
 * "pci" put a vdm_mmio / vdm_pci transport in front of the device and
 * drive it with the register-level drivers (drv_mmio.h, drv_pci.h), so
 * dh_negotiate(), dh_setup_queue(), dh_driver_ok(), dh_bring_up(),
 * dh_kick(), dh_config(), dh_config_read(), dh_config_write() and
 * dh_reset() are register accesses only. The transport is created at the
 * first of those calls (the device type's init must come first) and then
 * kept for the life of the bench. PCI uses MSI-X with one vector per queue
 * plus one for configuration changes.
 *
 * Notification counters (irq_queue, irq_config) count what reached the
 * driver. Direct: the device core's host hooks. PCI: each MSI-X message,
 * by vector. MMIO: each raise of the interrupt line (the transport raises
 * it again for every event); the line names no event, so the bench sits
 * between the device core and the transport's interrupt sink (it reads the
 * sink vdm_mmio_init() bound and binds itself in front of it) to note
 * which event the raise belongs to. A device not bound to a transport (a
 * second device on h->base) still reaches the host hooks; in transport
 * mode those also count irq_unbound.
 *
 * Hosted test code (libc, malloc); not part of the library.
 */
#ifndef VDM_TESTS_DEVHARNESS_H
#define VDM_TESTS_DEVHARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "drv.h"
#include "drv_mmio.h"
#include "drv_pci.h"
#include "drv_transport.h"
#include "vdm/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most queues the harness handles. */
#define DH_MAX_QUEUES 16

/** @name Transport modes (dh::transport, dh_opts::transport)
 * @{ */
#define DH_TP_ENV    0 /**< dh_opts only: from DH_TRANSPORT (default). */
#define DH_TP_DIRECT 1 /**< vdm_dev_* calls (DH_TRANSPORT unset, "direct"). */
#define DH_TP_MMIO   2 /**< vdm_mmio + drv_mmio (DH_TRANSPORT=mmio). */
#define DH_TP_PCI    3 /**< vdm_pci + drv_pci, MSI-X (DH_TRANSPORT=pci). */
/** @} */

/** @brief Harness options (zero fields take the defaults). */
struct dh_opts {
    uint16_t num_queues; /**< Queues of the device (default 1). */
    uint16_t qsize;      /**< vdm_dev_config::queue_size_max (default 64). */
    uint64_t guest_gpa;  /**< First guest address (default 0x100000). */
    uint64_t guest_size; /**< Bytes of guest RAM (default 4 MiB). */
    unsigned nregions;   /**< Split the RAM in this many equal regions,
                              adjacent in guest space, separate in the
                              host (default 1, at most DRV_MAX_REGIONS). */
    int transport;       /**< DH_TP_*; DH_TP_ENV (0): from DH_TRANSPORT. */
};

/** @brief The bench. Fields are for the test to read. */
struct dh {
    struct drv_guest g;                             /**< Guest memory. */
    struct vdm_mem_region regions[DRV_MAX_REGIONS]; /**< Its vdm table. */
    struct vdm_mem mem;                             /**< vdm view of it. */
    struct vdm_host_ops hops;                       /**< Host hooks. */
    struct vdm_dev dev;                             /**< Device under test. */
    struct vdm_vq *queues;                          /**< Caller array. */
    uint32_t *slots;                                /**< Caller array. */
    struct vdm_dev_config base;      /**< What a hypervisor passes to a device
                                          type's init (cls/priv/features unset). */
    struct drv_vq dq[DH_MAX_QUEUES]; /**< Driver side of each queue. */
    uint8_t dq_live[DH_MAX_QUEUES];  /**< dq[i] initialised. */
    uint16_t num_queues;             /**< Device queues. */
    uint16_t qsize;                  /**< Max queue size. */
    uint64_t features;               /**< Negotiated at bring-up. */

    /* What the device told the host. */
    unsigned irq_queue[DH_MAX_QUEUES]; /**< Used-buffer notifications. */
    unsigned irq_config;               /**< Config-change notifications. */
    unsigned nlog;                     /**< Log lines. */
    unsigned nwarn;                    /**< ... at VDM_LOG_WARN. */
    unsigned nerror;                   /**< ... at VDM_LOG_ERROR. */
    const char *last_log;              /**< Last message. */

    /* Transport mode. */
    int transport;        /**< DH_TP_DIRECT, DH_TP_MMIO or DH_TP_PCI. */
    struct drv_tp *tp;    /**< Driver view once created, else NULL. */
    struct drv_mmio mmio; /**< DH_TP_MMIO: transport and driver. */
    struct drv_pci pci;   /**< DH_TP_PCI: transport and driver. */
    /** MMIO: the driver hook drv_mmio installed (chained). */
    void (*mmio_irq)(void *host, int level);
    /** PCI: the driver hook drv_pci installed (chained). */
    void (*pci_msi)(void *host, uint16_t vector, uint64_t addr, uint32_t data);
    /** MMIO: the transport's sink in the device core (chained). */
    const struct vdm_transport_ops *mmio_sink;
    void *mmio_sink_ctx; /**< Its context. */
    int mmio_ev;         /**< MMIO: event being signalled (queue, or < 0). */
    /** The sink bound in the device when the transport was created (a
     *  change means the device was initialised again). */
    const struct vdm_transport_ops *tp_bound;
    /** Interrupts the transport delivered outside any device event (MMIO)
     *  or on a vector no event is mapped to (PCI). */
    unsigned irq_stray;
    /** Transport mode: notifications that reached the host hooks, i.e.
     *  from a device no transport is bound to (another device on h->base,
     *  or this one initialised again and not yet given a new transport). */
    unsigned irq_unbound;
};

/**
 * @brief Set up memory, arrays and h->base; pick the transport mode.
 * @return 0, or -1 (bad options, unknown DH_TRANSPORT, no memory).
 */
int dh_init(struct dh *h, const struct dh_opts *opts);
/** @brief Free everything dh_init() and the queues allocated. */
void dh_fini(struct dh *h);

/**
 * @brief ACKNOWLEDGE, DRIVER, write @p features & offered (VERSION_1
 *        always), FEATURES_OK, and check the device kept FEATURES_OK.
 * @return 0, or a negative value naming the step that failed.
 */
int dh_negotiate(struct dh *h, uint64_t features);
/**
 * @brief Driver side: set queue @p q up with @p num entries (0: the
 *        device's max) in the negotiated ring format, then give the device
 *        its size and addresses and enable it.
 * @return 0 or the failing vdm_dev_* / drv code (through a transport:
 *         the code of the first refused register access).
 */
int dh_setup_queue(struct dh *h, uint16_t q, uint16_t num);
/**
 * @brief Set DRIVER_OK. @return 0 or the vdm_dev_set_status code (through
 *        a transport: the code the status register write returned).
 */
int dh_driver_ok(struct dh *h);
/** @brief dh_negotiate + dh_setup_queue for queues 0..nq-1 + dh_driver_ok. */
int dh_bring_up(struct dh *h, uint64_t features, uint16_t nq);
/**
 * @brief Driver writes the status byte (0 resets the device but, unlike
 *        dh_reset(), keeps the driver queues).
 * @return 0 or the vdm_dev_set_status / status register write code.
 */
int dh_set_status(struct dh *h, uint8_t status);
/** @brief Read the status byte (through a transport: the register). */
uint8_t dh_status(struct dh *h);
/** @brief Write status 0 (device reset) and forget the driver queues. */
void dh_reset(struct dh *h);

/** @brief Driver side of queue @p q. */
struct drv_vq *dh_vq(struct dh *h, uint16_t q);
/**
 * @brief Publish what was added on queue @p q and notify the device if the
 *        driver rules say so (or always, when @p force).
 * @return vdm_dev_queue_notify's result (through a transport: the
 *         notify register write's), or 1 when no notify was needed.
 */
int dh_kick(struct dh *h, uint16_t q, int force);

/** @brief Allocate guest memory (zeroed); aborts when exhausted. */
uint64_t dh_alloc(struct dh *h, uint64_t size, uint64_t align);
/** @brief Host pointer of a guest range, NULL when not inside one region. */
void *dh_ptr(struct dh *h, uint64_t gpa, uint64_t len);

/**
 * @brief Read a little-endian config field of @p width 1, 2, 4 or 8 bytes
 *        (through a transport: generation-checked, as drivers do).
 * @return the value, UINT64_MAX when refused.
 */
uint64_t dh_config(struct dh *h, uint32_t off, unsigned width);
/**
 * @brief Read @p len bytes of config at @p off (through a transport:
 *        generation-checked, naturally aligned accesses of up to 4 bytes).
 * @return 0, or the vdm_dev_config_read / refused register access code.
 */
int dh_config_read(struct dh *h, uint32_t off, void *buf, uint32_t len);
/**
 * @brief Write @p len bytes of config at @p off (through a transport:
 *        naturally aligned accesses of up to 4 bytes).
 * @return 0, or the vdm_dev_config_write / first refused access code.
 */
int dh_config_write(struct dh *h, uint32_t off, const void *buf, uint32_t len);

/**
 * @brief Handle pending interrupts as a driver's handler does (MMIO: read
 *        and acknowledge InterruptStatus; PCI: take the MSI-X messages).
 *        The counters are not changed (they count at delivery); direct: 0.
 * @return DRV_TP_INT_* bits.
 */
unsigned dh_service(struct dh *h);
/** @brief "direct", "mmio" or "pci". */
const char *dh_transport_name(const struct dh *h);

#ifdef __cplusplus
}
#endif
#endif
