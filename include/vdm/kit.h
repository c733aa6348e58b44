/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file kit.h
 * @brief The device kit: what every device type is written on.
 *
 * A device type (devices/NAME.c) is a `const` @ref vdm_device_class plus its
 * state. The kit gives it the machinery every device type needs, once:
 *
 * - **Requests** (@ref vdm_kit_run): a queue is drained through the device's
 *   `serve` handler. The kit pops each chain into a caller-owned request slot
 *   (spans included), gives back hook spans (`vdm_mem_release`) when the
 *   request ends, pushes it, and decides notification once per pass with the
 *   EVENT_IDX re-check. A pass takes at most `budget` chains so one busy
 *   queue cannot starve the others. A chain with more spans than a slot
 *   holds never reaches the handler: the kit answers it with the queue's
 *   error status (@ref vdm_kit_queue), so a device cannot forget to.
 * - **Asynchronous completion**: a handler may keep a request
 *   (@ref VDM_KIT_PENDING) and end it later with @ref vdm_kit_finish. A
 *   request carries a token (slot + generation) that survives a round trip
 *   through the host; @ref vdm_kit_lookup turns it back into the request.
 *   A device reset or a queue reset abandons the queue's requests: their
 *   slots stay taken until the host finishes them, and a late finish is
 *   recognised and dropped (no guest memory access, no interrupt).
 *   @ref vdm_kit_pending lists what is still at the host.
 * - **Feature policy** (@ref vdm_kit_features): the one rule of what a
 *   device type offers.
 * - **Suspend** (VIRTIO_F_SUSPEND): while the driver has the device
 *   suspending (vdm_dev_suspending()), vdm_kit_run() and vdm_kit_take()
 *   take no chain; requests in flight still finish, and the device is
 *   suspended when the last one is used.
 * - **Warn once** (@ref vdm_kit_warn_once) and fixed-layout little-endian
 *   config images (@ref vdm_kit_config_copy, `vdm/le.h`).
 *
 * **Threads.** Everything about queue q (vdm_kit_run(), vdm_kit_take(),
 * vdm_kit_finish() of q's requests, lookups of q's tokens) happens on the
 * one thread that drives queue q at the time; different queues may run on
 * different threads. vdm_kit_reset() and the device's reset run when no
 * queue thread is inside the kit (the device core's reset is such a point).
 *
 * **Memory.** The kit owns nothing: the request slots and their spans are
 * caller arrays sized by @ref VDM_KIT_SLOTS_BYTES and @ref VDM_KIT_IOVS.
 */
#ifndef VDM_KIT_H
#define VDM_KIT_H

#include "common.h"
#include "device.h"
#include "ids.h"
#include "le.h"
#include "mem.h"
#include "virtqueue.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup kit Device kit
 * @brief Queue service, request pool, feature policy for device types.
 * @{ */

/** @brief Bytes of opaque storage for one kit. */
#define VDM_KIT_SIZE 128

/** @brief A kit: opaque storage, usually inside a device type's state. */
struct vdm_kit {
    alignas(8) unsigned char opaque[VDM_KIT_SIZE]; /**< Library state. */
};

/**
 * @brief One request: a popped chain in a slot. The kit's part comes first;
 *        the device type's per-request state follows it
 *        (@ref vdm_kit_req_priv).
 */
struct vdm_kit_req {
    struct vdm_chain chain; /**< The chain; spans in the slot's iov array. */
    uint16_t queue;         /**< Queue the chain came from. */
    uint8_t state;          /**< Library use. */
    uint8_t truncated;      /**< 1: more spans than the slot holds; only
                                 for VDM_KIT_STATUS_PREFIX queues. */
    uint32_t seq;           /**< Library use (token generation). */
    uint32_t next_free;     /**< Library use. */
    uint32_t reserved1;     /**< Library use. */
};

/** @brief The device type's per-request state that follows @p r. */
#define vdm_kit_req_priv(r) ((void *)((struct vdm_kit_req *)(r) + 1))

/** @brief Slot stride for @p priv bytes of device state per request. */
#define VDM_KIT_SLOT_BYTES(priv)                                               \
    ((((size_t)sizeof(struct vdm_kit_req) + (size_t)(priv)) + 7u) & ~(size_t)7u)

/** @brief Bytes of slot storage: one bookkeeping slot per queue plus
 *         @p per_queue request slots, each @p stride bytes. */
#define VDM_KIT_SLOTS_BYTES(nq, per_queue, stride)                             \
    ((size_t)(nq) * ((size_t)(per_queue) + 1u) * (size_t)(stride))

/** @brief Entries of the span array: @p iov_per_req per request slot. */
#define VDM_KIT_IOVS(nq, per_queue, iov_per_req)                               \
    ((size_t)(nq) * (size_t)(per_queue) * (size_t)(iov_per_req))

/** @name Handler results (@ref vdm_kit_queue::serve)
 * @{ */
/** Done: the kit pushes the chain with `*written` bytes. */
#define VDM_KIT_DONE 0
/** Kept: the device ends it later with vdm_kit_finish(). */
#define VDM_KIT_PENDING 1
/** @} */

/** @name Where a queue's answer lives (@ref vdm_kit_queue::status_at)
 * @{ */
/** No status: a chain too long for a slot is returned with 0 bytes. */
#define VDM_KIT_STATUS_NONE 0u
/** Status in the last bytes of the device-writable part (blk, snd pcm). */
#define VDM_KIT_STATUS_TAIL 1u
/** Status in the first bytes of the device-writable part (snd control,
 *  gpu, scmi). */
#define VDM_KIT_STATUS_HEAD 2u
/** No status, and the spans that fit are a valid shorter request (rng):
 *  a chain too long for a slot is served with `truncated` set. */
#define VDM_KIT_STATUS_PREFIX 3u
/** @} */

/** @brief Queue flag: chains with more spans than a slot holds reach the
 *         handler too, with `truncated` set (the request's status still
 *         belongs to the device, e.g. a member of a transaction group); the
 *         handler answers them with vdm_kit_answer_error(). */
#define VDM_KIT_Q_SERVE_TRUNCATED 1u

/**
 * @brief How the kit serves one queue (an entry of a device type's `const`
 *        table).
 */
struct vdm_kit_queue {
    /**
     * Serve request @p r (its chain is validated and mapped; nothing of it
     * has been read). Read the guest's request once with
     * vdm_chain_copy_from(), write the answer with vdm_chain_copy_to().
     * @return VDM_KIT_DONE with `*written` set (the chain is pushed);
     *   VDM_KIT_PENDING (the device calls vdm_kit_finish() later, possibly
     *   from inside this call's host calls); VDM_EAGAIN: nothing can be done
     *   now (e.g. an entropy source ran dry), the chain goes back to the ring
     *   and the pass stops. Any other negative value is treated as
     *   VDM_KIT_DONE.
     */
    int (*serve)(void *ctx, struct vdm_kit_req *r, uint32_t *written);
    uint8_t status_at;   /**< VDM_KIT_STATUS_*. */
    uint8_t status_len;  /**< Bytes of @ref status_err (0..8). */
    uint8_t flags;       /**< VDM_KIT_Q_*. */
    uint8_t reserved[5]; /**< Must be 0. */
    /** The error answer written, little-endian as on the wire, when a chain
     *  cannot be served by the handler (more spans than a slot holds;
     *  except for VDM_KIT_STATUS_PREFIX queues). */
    uint8_t status_err[8];
};

/** @brief Kit configuration, caller-filled with VDM_INIT(). */
struct vdm_kit_config {
    uint32_t size;       /**< sizeof(struct vdm_kit_config). */
    uint16_t num_queues; /**< Queues served (<= VDM_DEV_MAX_QUEUES). */
    uint16_t nqdesc;     /**< Entries of @ref queues; queue q uses entry
                              min(q, nqdesc - 1). */
    const struct vdm_kit_queue *queues; /**< Per-queue table (const). */
    void *ctx;            /**< Passed to `serve` (the device's state). */
    void *slots;          /**< VDM_KIT_SLOTS_BYTES(...) bytes, aligned 8. */
    struct vdm_iov *iovs; /**< VDM_KIT_IOVS(...) entries. */
    uint32_t slot_bytes;  /**< Stride: VDM_KIT_SLOT_BYTES(priv). */
    uint32_t per_queue;   /**< Request slots per queue (>= 1). */
    uint32_t iov_per_req; /**< Spans per request (>= 1). */
    uint32_t budget;      /**< Chains per vdm_kit_run() (0: 256). */
};

/**
 * @brief Set a kit up for device @p dev (which may not be initialised yet:
 *        the kit only keeps the pointer). Every slot starts free.
 * @return 0; VDM_EINVAL (NULL, zero sizes, misaligned slots, a slot stride
 *   below sizeof(struct vdm_kit_req), too many slots for a token);
 *   VDM_ESIZE (config from a newer/broken caller).
 */
VDM_API int vdm_kit_init(struct vdm_kit *k, struct vdm_dev *dev,
                         const struct vdm_kit_config *cfg);

/**
 * @brief Drain queue @p q through its handler: at most `budget` chains,
 *        stopping early when the queue is empty, no slot is free (the pass
 *        resumes by itself when a request of @p q finishes), the handler
 *        says VDM_EAGAIN, or the queue breaks. One used-buffer notification
 *        decision is made at the end. Re-entry for the same queue (from a
 *        host call inside the handler) returns 0 at once.
 * @return chains taken (== budget: more may be waiting, call again after
 *   serving other queues); VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_kit_run(struct vdm_kit *k, uint16_t q);

/**
 * @brief Take one chain of queue @p q into a free slot without a handler
 *        (for device-initiated queues: events). End it with
 *        vdm_kit_finish() or vdm_kit_put_back(). A chain too long for a
 *        slot is answered by the kit as in vdm_kit_run() and the next one
 *        is tried.
 * @return 1 with `*out` set; 0 nothing available (or no free slot);
 *   negative VDM_E* (queue not live, broken).
 */
VDM_API int vdm_kit_take(struct vdm_kit *k, uint16_t q,
                         struct vdm_kit_req **out);

/**
 * @brief Give the most recently taken chain of its queue back to the ring
 *        (it was not used); the slot is freed.
 * @return 0; VDM_ESTATE when @p r is not the last chain taken or was
 *   abandoned (then it is simply freed).
 */
VDM_API int vdm_kit_put_back(struct vdm_kit *k, struct vdm_kit_req *r);

/**
 * @brief End request @p r: give back its hook spans, push it with
 *        @p written bytes and notify (at once, or at the end of the running
 *        pass of its queue), free its slot.
 * @return 0; VDM_ESTATE when the request had been abandoned by a reset (it
 *   is dropped: no guest memory access, no interrupt; the slot is freed);
 *   VDM_EINVAL for a slot that is not in flight.
 */
VDM_API int vdm_kit_finish(struct vdm_kit *k, struct vdm_kit_req *r,
                           uint32_t written);

/**
 * @brief Write the queue's error answer (@ref vdm_kit_queue::status_err at
 *        @ref vdm_kit_queue::status_at) into request @p r, also when the
 *        chain was truncated (its status lies beyond the spans the slot
 *        holds). Nothing is written into an abandoned request.
 * @return bytes written (the used length to finish @p r with), 0 when the
 *   chain has no room for the answer.
 */
VDM_API uint32_t vdm_kit_answer_error(struct vdm_kit *k, struct vdm_kit_req *r);

/** @brief The token of request @p r: slot and generation, never 0. */
VDM_API uintptr_t vdm_kit_token(const struct vdm_kit *k,
                                const struct vdm_kit_req *r);

/**
 * @brief The request a token names, if it is still in flight (live or
 *        abandoned); NULL for an unknown, stale or repeated token.
 */
VDM_API struct vdm_kit_req *vdm_kit_lookup(const struct vdm_kit *k,
                                           uintptr_t token);

/** @brief 1 if @p r is live (may touch guest memory), 0 if abandoned. */
VDM_API int vdm_kit_req_live(const struct vdm_kit_req *r);

/**
 * @brief Abandon the requests of queue @p q (queue reset), or of every queue
 *        (@p q = UINT16_MAX: device reset). Call from the device class's
 *        `reset` / `queue_reset` hooks.
 */
VDM_API void vdm_kit_reset(struct vdm_kit *k, uint16_t q);

/**
 * @brief Walk the requests of queue @p q still at the host (live or
 *        abandoned): start with `*cursor = 0`.
 * @return 1 with `*token` set; 0 at the end; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_kit_pending(const struct vdm_kit *k, uint16_t q,
                            uint32_t *cursor, uintptr_t *token);

/** @brief Requests in flight on all queues (live and abandoned). */
VDM_API uint32_t vdm_kit_in_flight(const struct vdm_kit *k);

/** @brief Feature bits a device type may define (0..23 and 50..63). */
#define VDM_KIT_F_TYPE_BITS (0xffffffull | (0x3fffull << 50))
#if VDM_CONFIG_ADMIN_VQ
/** @brief VDM_F_ADMIN_VQ when the build has it (vdm/config.h), else 0. */
#define VDM_KIT_F_ADMIN_BUILT VDM_F_ADMIN_VQ
#else
#define VDM_KIT_F_ADMIN_BUILT 0ull
#endif
#if VDM_CONFIG_SUSPEND
/** @brief VDM_F_SUSPEND when the build has it (vdm/config.h), else 0. */
#define VDM_KIT_F_SUSPEND_BUILT VDM_F_SUSPEND
#else
#define VDM_KIT_F_SUSPEND_BUILT 0ull
#endif
/** @brief Generic bits only the host can vouch for: its platform, and the
 *         opt-in device facilities as built (VIRTIO_F_SUSPEND;
 *         VIRTIO_F_ADMIN_VQ, which needs room for one more queue,
 *         vdm/admin.h). */
#define VDM_KIT_F_HOST_BITS                                                    \
    (VDM_F_ACCESS_PLATFORM | VDM_F_ORDER_PLATFORM | VDM_KIT_F_SUSPEND_BUILT |  \
     VDM_KIT_F_ADMIN_BUILT)

/**
 * @brief The one feature policy: what a device type offers. The device
 *        type's own bits (@p type_bits within VDM_KIT_F_TYPE_BITS), the ring
 *        features the library implements (VDM_F_RING_ALL) minus
 *        @p ring_off (those the device type cannot honour, e.g. IN_ORDER for
 *        out-of-order completion), and of the host's bits
 *        (vdm_dev_config::features) only VDM_KIT_F_HOST_BITS. Nothing
 *        else is ever offered.
 */
VDM_API uint64_t vdm_kit_features(uint64_t type_bits, uint64_t host_bits,
                                  uint64_t ring_off);

/**
 * @brief Log @p msg through the device's log hook unless @p bit is already
 *        set in `*seen` (a hostile guest must not flood the host log); sets
 *        it. Clear `*seen` at reset.
 */
VDM_API void vdm_kit_warn_once(const struct vdm_dev *d, uint32_t *seen,
                               uint32_t bit, int level, const char *msg);

/**
 * @brief Copy @p len bytes at @p off of a config image of @p image_len bytes
 *        into @p buf; bytes outside the image read as 0.
 */
VDM_API void vdm_kit_config_copy(const void *image, uint32_t image_len,
                                 uint32_t off, void *buf, uint32_t len);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VDM_KIT_H */
