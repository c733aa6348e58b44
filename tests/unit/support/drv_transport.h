/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file drv_transport.h
 * @brief Driver side of a VIRTIO transport, register level: one interface
 *        the MMIO driver (drv_mmio.h) and the PCI driver (drv_pci.h)
 *        implement, plus the Linux-style steps built on it (reset,
 *        ACKNOWLEDGE, DRIVER, features, FEATURES_OK re-read, queue set-up,
 *        DRIVER_OK, kicks, interrupt handling, generation-checked config
 *        reads), so the same device scenarios run through either transport.
 *
 * Everything here talks to the device only through the transport's
 * register handlers (vdm_mmio_* / vdm_pci_*): never through vdm_dev_*.
 * Rings come from the driver simulator (tests/driver/drv.h).
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_TESTS_DRV_TRANSPORT_H
#define VDM_TESTS_DRV_TRANSPORT_H

#include <stdint.h>

#include "drv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** drv_tp_interrupt() result bit: used buffer notification. */
#define DRV_TP_INT_VRING 1u
/** drv_tp_interrupt() result bit: configuration change notification. */
#define DRV_TP_INT_CONFIG 2u

/** Feature bits the driver helpers know beyond drv.h's. */
#define DRV_F_NOTIFICATION_DATA (1ull << 38)
#define DRV_F_RING_RESET        (1ull << 40)

struct drv_tp;

/** @brief Register-level primitives of one transport (driver view). */
struct drv_tp_ops {
    /** Device status register. */
    uint8_t (*get_status)(struct drv_tp *t);
    /** Write the device status register (0 resets). */
    void (*set_status)(struct drv_tp *t, uint8_t status);
    /** All 64 device feature bits (two selector rounds). */
    uint64_t (*device_features)(struct drv_tp *t);
    /** Write all 64 driver feature bits. */
    void (*driver_features)(struct drv_tp *t, uint64_t f);
    /** Called after FEATURES_OK, before queue set-up (PCI: config vector). */
    void (*post_features)(struct drv_tp *t);
    /** Largest size of queue @p q, 0 if the queue does not exist. */
    uint16_t (*queue_max)(struct drv_tp *t, uint16_t q);
    /** 1 when queue @p q reads back as enabled / ready. */
    int (*queue_enabled)(struct drv_tp *t, uint16_t q);
    /** Write size and the three area addresses of queue @p q. */
    void (*queue_config)(struct drv_tp *t, uint16_t q, uint16_t num,
                         uint64_t desc, uint64_t driver, uint64_t device);
    /** Enable queue @p q (QueueReady / queue_enable = 1). */
    void (*queue_enable)(struct drv_tp *t, uint16_t q);
    /** Write 1 to QueueReset / queue_reset of @p q; 0 when it reads 0 after. */
    int (*queue_reset)(struct drv_tp *t, uint16_t q);
    /** Available buffer notification of queue @p q with @p value (the
     *  queue index, or the NOTIFICATION_DATA word). */
    void (*notify)(struct drv_tp *t, uint16_t q, uint32_t value);
    /** Config generation register. */
    uint32_t (*config_generation)(struct drv_tp *t);
    /** Read @p width (1, 2, 4) bytes of device config at @p off. */
    uint32_t (*config_read)(struct drv_tp *t, uint32_t off, unsigned width);
    /** Write @p width (1, 2, 4) bytes of device config at @p off. */
    void (*config_write)(struct drv_tp *t, uint32_t off, unsigned width,
                         uint32_t val);
    /** Handle a pending interrupt: DRV_TP_INT_* bits, 0 when none. */
    unsigned (*interrupt)(struct drv_tp *t);
};

/** @brief One transport, driver view. Embedded first in drv_mmio / drv_pci. */
struct drv_tp {
    const struct drv_tp_ops *ops; /**< The implementation. */
    const char *name;             /**< "mmio", "pci", ... */
    uint64_t features;            /**< Negotiated by drv_tp_negotiate(). */
    /** Register accesses made (config space, BARs, MMIO registers). */
    unsigned long accesses;
    /** Register accesses the transport answered with an error code. */
    unsigned refused;
    int last_rc; /**< The last such code. */
    /** Transport log hook: lines, warnings and errors, last message. */
    unsigned nlog, nwarn, nerror;
    const char *last_log; /**< Last transport log message. */
    /** Its event code (VDM_LOG_EVENT()): non-zero when built with
     *  VDM_CONFIG_LOG_TEXT=0, which leaves last_log NULL. */
    uint32_t last_event;
    /** Optional step printer (mini-vmm); NULL in tests. */
    void (*trace)(void *ctx, const char *step);
    void *trace_ctx; /**< Passed to @ref trace. */
};

/** @brief Count one register access and its return code (non-zero: refused). */
void drv_tp_count(struct drv_tp *t, int rc);
/** @brief Count a transport log line (for host log hooks). */
void drv_tp_log(struct drv_tp *t, int level, const char *msg);

/**
 * @brief Linux-style initialisation up to FEATURES_OK ("Device
 *        Initialization" steps 1-6): reset and wait for status 0,
 *        ACKNOWLEDGE, DRIVER, read device features, write @p want & offered
 *        (VERSION_1 required), FEATURES_OK, re-read status.
 * @return 0; -1 reset did not read 0; -2 ACK/DRIVER not kept; -3 device
 *         does not offer VERSION_1; -4 FEATURES_OK not kept.
 */
int drv_tp_negotiate(struct drv_tp *t, uint64_t want);

/**
 * @brief Set queue @p q up as Linux does: check it is not enabled, read its
 *        max size (0: absent), init @p vq with @p num entries (0: max)
 *        in guest memory @p g, write size and addresses, enable, read back.
 * @return 0; -1 queue absent; -2 already enabled; -3 ring init failed;
 *         -4 did not read back enabled.
 */
int drv_tp_setup_queue(struct drv_tp *t, uint16_t q, struct drv_vq *vq,
                       struct drv_guest *g, uint16_t num);

/** @brief Set DRIVER_OK; -1 if it does not read back set. */
int drv_tp_driver_ok(struct drv_tp *t);

/**
 * @brief negotiate, set up queues 0..nq-1 (vqs[i], size @p num), post
 *        features hook, DRIVER_OK.
 * @return 0, or the first failing step's code minus 10 * step number.
 */
int drv_tp_bring_up(struct drv_tp *t, uint64_t want, uint16_t nq,
                    struct drv_vq *vqs, struct drv_guest *g, uint16_t num);

/** @brief Write status 0 and wait for it to read 0; -1 if it does not. */
int drv_tp_reset(struct drv_tp *t);

/**
 * @brief Publish what was added on @p vq (queue @p q) and send an available
 *        buffer notification if the ring says so (or @p force), with
 *        NOTIFICATION_DATA when negotiated.
 * @return 1 notified, 0 not needed.
 */
int drv_tp_kick(struct drv_tp *t, uint16_t q, struct drv_vq *vq, int force);

/** @brief Service an interrupt: DRV_TP_INT_* bits (0 when none pending). */
unsigned drv_tp_interrupt(struct drv_tp *t);

/**
 * @brief Read @p len bytes of device config at @p off the way the spec asks
 *        ("Device Configuration Space"): generation, fields (4-byte reads
 *        where aligned, else smaller), generation again, retry on change.
 * @return number of retries (>= 0), or -1 after 100 failed rounds.
 */
int drv_tp_config_read(struct drv_tp *t, uint32_t off, void *buf, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif
