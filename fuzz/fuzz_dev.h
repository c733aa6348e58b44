/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A real vdm device type (blk, rng or input) with fuzz-driven host
 * backends, plus the driver side of its queues (the driver simulator on
 * fuzz_mem guest memory), shared by the device targets and the transport
 * targets.
 *
 * The driver side follows the device core: fd_poll() notices queues the
 * driver enabled (through vdm_dev_* calls or through any transport's
 * registers) and attaches a driver-simulator queue to the rings the device
 * uses, and notices resets. fd_dev_op() runs one dev_op (fuzz_format.h):
 * add a buffer, kick, reap, a host action, toggle interrupts.
 *
 * Oracles: the driver simulator validates every used element (id in
 * flight, used length <= the buffer's writable bytes, ring protocol) as
 * long as nothing but the simulator wrote the rings; the device-specific
 * ones are in fuzz_dev.c (blk status byte and used length, sector ranges
 * handed to the host, rng/input used lengths, stale completions after a
 * reset).
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_FUZZ_DEV_H
#define VDM_FUZZ_DEV_H

#include <stdint.h>

#include "drv.h"
#include "fuzz_format.h"
#include "fuzz_util.h"
#include "vdm/device.h"

#define FD_MAXQ 2u  /**< Most queues of a fuzzed device. */
#define FD_QMAX 64u /**< Largest queue size offered. */

/** @brief How a kick reaches the device (the target's transport). */
typedef void (*fd_notify_fn)(void *ctx, uint16_t q, uint32_t value);

/**
 * @brief Create device @p kind (enum fz_kind) on guest memory @p mem (NULL:
 *        fm_mem(); call fm_reset() first). @p cfgbyte picks device options,
 *        @p qmax the largest queue size (1..FD_QMAX).
 * @return the vdm_dev, or NULL when the device refused the configuration
 *         (a harness bug: aborts).
 */
struct vdm_dev *fd_create(unsigned kind, uint8_t cfgbyte, uint16_t qmax,
                          const struct vdm_mem *mem);

/** @brief Resets the harness cannot see (vhost-user re-synchronising the
 *         core inside one message): accept a stale-completion answer for
 *         any host request. */
void fd_set_lenient(int on);

/** @brief The transport's kick path (NULL: vdm_dev_queue_notify()). */
void fd_set_notify(fd_notify_fn fn, void *ctx);

/** @brief Mark the driver view unreliable (the input wrote rings raw). */
void fd_taint(void);

/** @brief Follow the device core: attach/detach driver queues, notice
 *         resets. Call after every driver-visible action. */
void fd_poll(void);

/** @brief One dev_op read from @p f. */
void fd_dev_op(struct fz *f);

/** @brief Host side: the device configuration changed (blk capacity,
 *         input: nothing; rng: nothing). */
void fd_config_change(uint32_t arg);

/** @brief Negotiable features the device offers. */
uint64_t fd_offered(void);

/** @brief Complete every request the host still holds. */
void fd_complete_all(void);

/**
 * @brief End of input: complete what the host still holds, reset the
 *        device, check that every hook mapping was given back and free the
 *        driver queues.
 */
void fd_finish(void);

/** @brief Counters for the verbose summary. */
void fd_stats(char *buf, unsigned len);

#endif
