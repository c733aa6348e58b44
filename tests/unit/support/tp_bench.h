/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tp_bench.h
 * @brief Transport test bench: guest memory and a device (devharness.h), an
 *        echo device type (echo_dev.h) and driver-side queues, driven through
 *        one transport's register interface (drv_transport.h).
 *
 * The tps_* scenarios are transport-independent Check test bodies: each
 * test file runs them through its own transport (test_mmio.c, test_pci.c).
 * They assert with ck_assert and so may only be called from Check tests.
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_TESTS_TP_BENCH_H
#define VDM_TESTS_TP_BENCH_H

#include <stdint.h>

#include "devharness.h"
#include "drv_transport.h"
#include "echo_dev.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The bench. */
struct tpb {
    struct dh h;          /**< Memory, device, arrays. */
    struct echo_dev echo; /**< Device-type state. */
    struct drv_tp *tp;    /**< Transport under test (set by test). */
    struct drv_vq vq[ECHO_MAX_QUEUES]; /**< Driver queues. */
    uint8_t live[ECHO_MAX_QUEUES];     /**< vq[i] initialised. */
    uint16_t nq;                       /**< Device queues. */
};

/**
 * @brief Memory (8 MiB at 1 MiB), a device of @p nq queues of at most
 *        @p qsize entries, the echo type offering @p ring_features.
 * @return 0 or -1.
 */
int tpb_init(struct tpb *b, uint16_t nq, uint16_t qsize,
             uint64_t ring_features);
/** @brief Free the driver queues and the harness. */
void tpb_fini(struct tpb *b);
/** @brief Forget the driver queues (after a device reset). */
void tpb_drop_queues(struct tpb *b);

/**
 * @brief drv_tp_bring_up() for queues 0..@p nq-1 with @p num entries.
 * @return its result.
 */
int tpb_bring_up(struct tpb *b, uint64_t want, uint16_t nq, uint16_t num);

/**
 * @brief One echo round trip on queue @p q: @p len bytes out, @p len bytes
 *        in, add mode @p mode (DRV_ADD_*), kick, expect a used buffer
 *        interrupt, the used element and the reversed bytes. Asserts.
 */
void tpb_echo(struct tpb *b, uint16_t q, uint32_t len, int mode);

/** @name Transport-independent scenarios (Check test bodies)
 * @{ */
/** Full bring-up with @p features, echo traffic on every queue. */
void tps_bring_up_echo(struct tpb *b, uint64_t features);
/** Reset after traffic: status 0, queues not ready, a second bring-up works. */
void tps_reset_reinit(struct tpb *b);
/** Queue registers refused after DRIVER_OK, on a ready and an unused queue. */
void tps_queue_setup_after_driver_ok(struct tpb *b);
/** Config generation moves across a two-part read racing a change;
 *  the config change interrupt arrives; drv_tp_config_read retries. */
void tps_config_generation_race(struct tpb *b);
/** Writable config fields round-trip; read-only ones do not change. */
void tps_config_write(struct tpb *b);
/** A feature without the feature it needs: FEATURES_OK does not stick. */
void tps_features_refused(struct tpb *b);
/** RING_RESET: reset queue 0 alone, set it up again, traffic resumes. */
void tps_queue_reset(struct tpb *b);
/** A guest breaking the ring: NEEDS_RESET, config interrupt, reset heals. */
void tps_needs_reset(struct tpb *b);
/** Notifications on a disabled queue, before DRIVER_OK, and for queue
 *  0xffff are ignored without side effects. */
void tps_bad_notify(struct tpb *b);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
