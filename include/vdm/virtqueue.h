/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file virtqueue.h
 * @brief Device side of VIRTIO virtqueues, split and packed, behind one API.
 *
 * A vdm_vq is driven by one thread. pop() reads each descriptor from guest
 * memory exactly once into a local copy, validates it and translates its
 * buffer into caller-provided spans. Any guest protocol violation (spec
 * "Virtqueues" driver requirements, and DESIGN.md "The guest is hostile")
 * breaks the queue: the call returns VDM_EPROTO, the fault hook is called
 * once, and every later call returns VDM_EBROKEN until vdm_vq_init() or
 * vdm_vq_reset().
 *
 * Ring features taken from the negotiated feature word: VDM_F_RING_PACKED,
 * VDM_F_INDIRECT_DESC, VDM_F_EVENT_IDX, VDM_F_IN_ORDER.
 *
 * Guest violations (each returns VDM_EPROTO from the call that found it and
 * calls vdm_vq_ops::fault once with a static reason, NULL in a library
 * built with VDM_CONFIG_LOG_TEXT=0 (vdm/config.h); the err passed to the
 * hook is VDM_EFAULT for a buffer or indirect table outside guest memory or
 * a device-writable buffer in read-only memory, VDM_EPROTO otherwise):
 *  - a descriptor loop: more ring descriptors in a chain than the queue
 *    size, more indirect entries walked than the table holds; a chain with
 *    more data descriptors (indirect entries included) than
 *    vdm_vq_config::max_chain when that is set;
 *  - INDIRECT without VDM_F_INDIRECT_DESC, INDIRECT inside an indirect table,
 *    INDIRECT together with NEXT (split), INDIRECT in a NEXT-linked list
 *    (packed), an indirect table of length 0, not a multiple of 16 or over
 *    32768 entries;
 *  - a buffer whose address + length wraps or is not entirely in guest
 *    memory (a buffer straddling two regions is fine: two spans);
 *  - a total chain length of 2^32 bytes or more;
 *  - a device-readable descriptor after a device-writable one;
 *  - split: avail idx more than the queue size ahead of the device, a chain
 *    head or NEXT index >= queue size, a head that is still in flight;
 *  - packed: a buffer id >= queue size or still in flight, a list running
 *    into descriptors not made available, more descriptors available than
 *    the ring has free.
 *
 * Zero-length descriptors are accepted: they count towards the chain length
 * and the readable/writable order, but produce no span and their address is
 * not checked.
 *
 * Spans produced through the vdm_mem_ops::translate hook carry
 * VDM_IOV_F_HOOK; the caller gives them back with vdm_mem_release() on
 * c->iov (c->nread + c->nwrite spans) when done with the chain (after push,
 * or after unpop). Ring areas reached through the hook stay mapped until
 * vdm_vq_reset().
 */
#ifndef VDM_VIRTQUEUE_H
#define VDM_VIRTQUEUE_H

#include "common.h"
#include "mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one virtqueue. */
#define VDM_VQ_SIZE 256
/** @brief Largest split queue size (spec: 32768); packed accepts 1..32768. */
#define VDM_VQ_MAX_NUM 32768
/**
 * @brief Number of uint32_t per-slot words a queue of @p num needs.
 *
 * Two words per buffer id (split: head index; packed: buffer id): the
 * in-flight flag, the ring descriptors the chain used and its pop order,
 * and the chain's writable bytes (the bound push() checks). The library owns
 * the array from vdm_vq_init() on (it clears it there).
 */
#define VDM_VQ_SLOTS(num) (2u * (size_t)(num))

/** @brief A virtqueue: opaque caller-owned storage. */
struct vdm_vq {
    alignas(8) unsigned char opaque[VDM_VQ_SIZE]; /**< Library state. */
};

/** @brief Hooks a queue calls; installed by the device core. */
struct vdm_vq_ops {
    uint32_t size; /**< sizeof(struct vdm_vq_ops). */
    /** The guest broke the protocol on queue @p qidx; called once. @p why
     *  is a static text, NULL when built with VDM_CONFIG_LOG_TEXT=0. */
    void (*fault)(void *ctx, uint16_t qidx, int err, const char *why);
};

/** @brief Everything a queue needs; caller-filled (VDM_INIT). */
struct vdm_vq_config {
    uint32_t size;        /**< sizeof(struct vdm_vq_config). */
    uint16_t num;         /**< Queue size (split: power of 2). */
    uint16_t index;       /**< Queue index, reported to hooks. */
    uint64_t features;    /**< Negotiated features (ring bits used). */
    uint64_t desc_addr;   /**< Descriptor table / packed descriptor ring. */
    uint64_t driver_addr; /**< Avail ring / driver event suppression. */
    uint64_t device_addr; /**< Used ring / device event suppression. */
    const struct vdm_mem *mem; /**< Guest memory for rings and buffers. */
    uint32_t *slots;           /**< Caller array of VDM_VQ_SLOTS(num) words. */
    uint32_t max_chain;        /**< Most data descriptors (indirect entries
                                    included) a chain may have; 0: no device
                                    limit (ring descriptors are still bounded
                                    by the queue size, indirect entries by
                                    their table). */
    const struct vdm_vq_ops *ops; /**< Optional hooks (may be NULL). */
    void *ctx;                    /**< Passed to hooks. */
};

/**
 * @brief One popped descriptor chain.
 *
 * The caller sets @ref iov and @ref iov_cap; pop() fills the rest. The
 * readable spans come first (iov[0..nread)), then the writable ones
 * (iov[nread..nread+nwrite)). Zero-length descriptors produce no span.
 */
struct vdm_chain {
    struct vdm_iov *iov;  /**< Caller array for the spans. */
    uint32_t iov_cap;     /**< Its capacity. */
    uint16_t id;          /**< Buffer id to hand to push (split: head). */
    uint16_t ndesc;       /**< Ring descriptors the chain used. */
    uint32_t nread;       /**< Readable spans. */
    uint32_t nwrite;      /**< Writable spans. */
    uint32_t read_len;    /**< Total readable bytes. */
    uint32_t write_len;   /**< Total writable bytes. */
    uint32_t reserved[3]; /**< Library use; leave alone. */
};

/** @brief One used element for vdm_vq_push_batch(). */
struct vdm_used {
    uint32_t id;  /**< Buffer id from the chain. */
    uint32_t len; /**< Bytes written into the chain's writable part. */
};

/** @brief Ring position for save and restore (vhost-user GET/SET_VRING_BASE).
 */
struct vdm_vq_state {
    uint16_t last_avail_idx; /**< Next avail entry/descriptor to read. */
    uint16_t used_idx;       /**< Next used entry/descriptor to write. */
    uint8_t avail_wrap; /**< Packed: driver ring wrap counter (1 at start). */
    uint8_t used_wrap;  /**< Packed: device ring wrap counter (1 at start). */
    uint16_t reserved;  /**< Must be 0. */
};

/** @brief vdm_vq_push_batch() flag: IN_ORDER, publish only the last element. */
#define VDM_PUSH_F_INORDER_BATCH 1u

/**
 * @brief Set a queue up on the rings the driver described.
 *
 * Checks the sizes (split: power of two, 1..32768; packed 1..32768), the
 * ring alignment (spec "Virtqueues": desc 16, avail 2, used 4; packed 16/4/4)
 * and that every ring area lies in guest memory (a range outside it is
 * VDM_EFAULT; the queue stays unusable).
 * @return 0, VDM_EINVAL, VDM_ESIZE or VDM_EFAULT.
 */
VDM_API int vdm_vq_init(struct vdm_vq *vq, const struct vdm_vq_config *cfg);

/** @brief Forget the queue (unmap rings); it becomes unusable until init. */
VDM_API void vdm_vq_reset(struct vdm_vq *vq);

/**
 * @brief Take the next available chain.
 * @return 1 with @p c filled; 0 when no chain is available;
 *   VDM_ENOSPC when the chain needs more than c->iov_cap spans: the chain is
 *   still consumed and c->id is valid, the spans are truncated, and the
 *   caller must push it (typically with 0 written); the whole chain was
 *   still validated; nread/nwrite/read_len/write_len describe the spans
 *   returned, and write_len is the bound push() accepts;
 *   VDM_EPROTO on a guest violation (queue now broken); VDM_EBROKEN;
 *   VDM_ESTATE when the queue is not set up; VDM_EINVAL for NULL arguments.
 */
VDM_API int vdm_vq_pop(struct vdm_vq *vq, struct vdm_chain *c);

/**
 * @brief Give back the most recently popped chain, not yet pushed, so the
 *        next pop returns it again.
 *
 * May be repeated to give back several chains, newest first. Hook spans of
 * @p c are not released by this call (see vdm_mem_release()).
 * @return 0, VDM_ESTATE when @p c is not the most recent chain still in
 *         flight (nothing to give back); VDM_EBROKEN.
 */
VDM_API int vdm_vq_unpop(struct vdm_vq *vq, const struct vdm_chain *c);

/**
 * @brief Return a chain to the driver, @p written bytes of it written, and
 *        publish it at once.
 *
 * With VDM_F_IN_ORDER negotiated, chains must be pushed in the order they
 * were popped (spec "In-order use of descriptors").
 * @return 0; VDM_EINVAL when @p id is not in flight, @p written exceeds
 *         the chain's writable bytes, or (IN_ORDER) @p id is not the oldest
 *         chain in flight (a device bug, nothing is published); VDM_EBROKEN.
 */
VDM_API int vdm_vq_push(struct vdm_vq *vq, uint16_t id, uint32_t written);

/**
 * @brief Return several chains and publish them with one index update.
 *
 * Every element is checked as for vdm_vq_push() (and against duplicates)
 * before anything is written.
 * @param vq    the queue.
 * @param u     @p n used elements, in completion order.
 * @param n     number of elements (0 does nothing).
 * @param flags VDM_PUSH_F_INORDER_BATCH (needs IN_ORDER negotiated and the
 *        elements in pop order): write one used entry for the whole batch.
 * @return number pushed, or a negative code (nothing published).
 */
VDM_API int vdm_vq_push_batch(struct vdm_vq *vq, const struct vdm_used *u,
                              uint32_t n, uint32_t flags);

/**
 * @brief Whether the driver asked for a used-buffer notification for what
 *        was pushed since the last call (flags, or used_event / the packed
 *        driver event suppression structure with EVENT_IDX).
 * @return 1 notify, 0 do not, negative code.
 */
VDM_API int vdm_vq_should_notify(struct vdm_vq *vq);

/**
 * @brief Ask the driver for (enable=1) or against (0) available-buffer
 *        notifications (split flags / avail_event, packed device event
 *        suppression).
 *
 * Split without EVENT_IDX: used flags NO_NOTIFY. Split with EVENT_IDX:
 * enabling sets avail_event to the next entry to read, and while enabled
 * every pop moves it along; disabling writes nothing (flags stay 0), so the
 * driver stops notifying once pops pass avail_event. Packed: device event
 * flags ENABLE or DISABLE (DESC is not used). Notifications start enabled.
 * @return when enabling: 1 if chains became available meanwhile (poll
 *         again), else 0; negative code.
 */
VDM_API int vdm_vq_set_notify(struct vdm_vq *vq, int enable);

/** @brief 1 when at least one chain is available, 0 if none, negative code. */
VDM_API int vdm_vq_has_avail(struct vdm_vq *vq);

/** @brief Number of chains popped and not yet pushed. */
VDM_API uint32_t vdm_vq_in_flight(const struct vdm_vq *vq);

/**
 * @brief Read the ring position (for save or GET_VRING_BASE); also works on
 *        a broken queue. Split: free-running indexes, wraps reported 0.
 */
VDM_API int vdm_vq_get_state(const struct vdm_vq *vq, struct vdm_vq_state *s);
/**
 * @brief Set the ring position; only with nothing in flight.
 *
 * Packed: indexes must be < queue size and wraps 0 or 1 (VDM_EINVAL);
 * split ignores the wrap fields.
 * @return 0, VDM_ESTATE (chains in flight), VDM_EINVAL, VDM_EBROKEN.
 */
VDM_API int vdm_vq_set_state(struct vdm_vq *vq, const struct vdm_vq_state *s);

/** @brief 1 when the queue is broken, 0 when usable. */
VDM_API int vdm_vq_broken(const struct vdm_vq *vq);
/** @brief Queue size given at init (0 when not set up). */
VDM_API uint16_t vdm_vq_num(const struct vdm_vq *vq);

/** @name Ring logging flags for vdm_vq_set_log()
 * @{ */
/** Mark the queue's ring writes in the dirty log (the default at init). */
#define VDM_VQ_LOG_RING 1u
/** Device-area writes are marked at the address given to vdm_vq_set_log()
 *  (vhost-user log_guest_addr), not at the area's own guest address. */
#define VDM_VQ_LOG_ADDR 2u
/** @} */

/**
 * @brief Choose how the queue's own ring writes are dirty-logged.
 *
 * Logging happens only while the queue's memory has a dirty log
 * (vdm_mem::log). The ring writes are: split, the used ring (entries, idx,
 * flags, avail_event); packed, the used descriptors written back into the
 * descriptor ring (marked at their guest address) and the device event
 * suppression structure. Device-area writes are marked at the device
 * area's guest address, or with VDM_VQ_LOG_ADDR at @p addr plus their
 * offset (vhost-user "Migration": the used ring is logged at
 * log_guest_addr). vdm_vq_init() sets VDM_VQ_LOG_RING.
 * @param vq    an initialised queue.
 * @param flags VDM_VQ_LOG_* (0: ring writes are not logged).
 * @param addr  log address of the device area (with VDM_VQ_LOG_ADDR).
 * @return 0; VDM_EINVAL for unknown flags or an area at @p addr that wraps
 *         the address space; VDM_ESTATE when the queue is not set up.
 */
VDM_API int vdm_vq_set_log(struct vdm_vq *vq, uint32_t flags, uint64_t addr);

/** @brief Copy from the chain's readable part; returns bytes copied. */
VDM_API size_t vdm_chain_copy_from(const struct vdm_chain *c, size_t off,
                                   void *dst, size_t n);
/** @brief Copy into the chain's writable part; returns bytes copied. */
VDM_API size_t vdm_chain_copy_to(const struct vdm_chain *c, size_t off,
                                 const void *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
