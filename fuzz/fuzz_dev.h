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
 * ones are in the device plug-ins, fuzz/dev_<t>.c (blk status byte and
 * used length, sector ranges handed to the host, rng/input used lengths,
 * stale completions after a reset).
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

#define FD_MAXQ 4u  /**< Most queues of a fuzzed device (sound: 4). */
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

/* ------------------------------------------------------------------------ */
/* Device plug-ins: one file per device type (fuzz/dev_<t>.c)              */
/* ------------------------------------------------------------------------ */

/** @brief What the harness remembers of one buffer it added. */
struct fd_rec {
    uint8_t valid;
    uint8_t checkable;   /**< every part fresh memory: contents are ours */
    uint32_t type;       /**< request type the plug-in's request() gave */
    uint64_t status_gpa; /**< last writable byte (0: none) */
    uint64_t wlen;       /**< writable bytes */
    uint32_t nin;        /**< writable parts */
};

/** Most bytes of a device-specific request (fuzz_dev_plugin.request). */
#define FD_REQ_MAX (16u + 4u * 16u)
/** Bytes of the buffer request() writes into: FD_REQ_MAX for most device
 *  types, up to two 512-byte frames for frame-based ones (rpmb). */
#define FD_REQ_BUF 1040u

/**
 * @brief One device type as the fuzz harness drives it. Every hook but
 *        create may be NULL.
 */
struct fuzz_dev_plugin {
    const char *name; /**< device type, as in fuzz/targets.txt */
    /** Initialise the device type on @p dev with the harness's core
     *  configuration @p base (memory, host ops, queue storage, queue size
     *  filled in; set num_queues, at most FD_MAXQ), options from config
     *  byte @p cb. Returns the vdm_<t>_init() result. */
    int (*create)(struct vdm_dev *dev, struct vdm_dev_config *base, uint8_t cb);
    /** DEV_OP_BUF: read the device-specific request from @p f into @p req
     *  (FD_REQ_MAX bytes; it goes into the readable parts), return its
     *  length; *@p type is kept for check_used(). */
    uint32_t (*request)(struct fz *f, uint8_t *req, uint32_t *type);
    /** Used-length (and status) checks of a used buffer of queue @p q
     *  whose memory only the harness wrote. */
    void (*check_used)(unsigned q, const struct fd_rec *r,
                       const struct drv_used *u);
    /** DEV_OP_HOST: host action @p act with argument @p arg. */
    void (*host)(uint8_t act, uint32_t arg);
    /** Host side configuration change (NULL: vdm_dev_config_changed()). */
    void (*config_change)(uint32_t arg);
    /** Complete every request the host still holds. */
    void (*complete_all)(void);
    /** After the final reset: check nothing is left in flight. */
    void (*finish)(void);
};

#define FD_PLUGIN_DECL(l, u) extern const struct fuzz_dev_plugin fuzz_dev_##l;
FUZZ_DEVICES(FD_PLUGIN_DECL)
#undef FD_PLUGIN_DECL

/* For plug-ins: the harness state they may consult. */
/** @brief The device under test. */
struct vdm_dev *fd_dev(void);
/** @brief Its number of queues. */
unsigned fd_num_queues(void);
/** @brief Generation of driver queue @p q (bumped when the device drops
 *  it: a request from an older one may complete stale). */
uint32_t fd_queue_epoch(unsigned q);
/** @brief fd_set_lenient() state. */
int fd_lenient(void);
/** @brief Check spans handed to the host are guest memory the device may
 *  read (or write); *@p total gets their length. */
void fd_spans_check(const struct vdm_iov *iov, uint32_t n, int write,
                    uint64_t *total);

#endif
