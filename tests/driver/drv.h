/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file drv.h
 * @brief VIRTIO *driver* simulator: the peer of the device-side virtqueue
 *        code in unit tests, fuzzers and benchmarks.
 *
 * Written from the driver rules of VIRTIO 1.4 ("Split Virtqueues",
 * "Packed Virtqueues", "Virtqueues", "Reserved Feature Bits"), independently
 * of the library's device code. Test code: hosted C11, uses libc and mmap.
 *
 * Two parts:
 *  - guest memory (drv_mem.c): regions at chosen guest-physical addresses,
 *    each its own mapping with a PROT_NONE guard page on both sides, plus a
 *    bump allocator;
 *  - a driver-side virtqueue (drv_vq.c, drv_split.c, drv_packed.c): one
 *    front for split and packed rings that adds buffers, publishes them,
 *    decides kicks, collects used buffers and validates everything the device
 *    wrote (any device misbehaviour is reported as ::DRV_EDEVICE).
 *
 * Every ring field lives in guest memory in little-endian order and is
 * accessed through the drv_le* helpers below, so the simulator is correct on
 * big-endian hosts. Fields the device may access concurrently (indexes,
 * packed flags, event suppression) are accessed with __atomic builtins;
 * publication uses release ordering and notification checks a full fence.
 *
 * One thread drives one drv_vq at a time; the device under test may run in
 * another thread.
 */
#ifndef VDM_TESTS_DRV_H
#define VDM_TESTS_DRV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Little-endian helpers                                                     */
/* ------------------------------------------------------------------------ */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
/** 1 on a big-endian host (ring fields are byte-swapped), else 0. */
#define DRV_HOST_BIG_ENDIAN 1
#else
/** 1 on a big-endian host (ring fields are byte-swapped), else 0. */
#define DRV_HOST_BIG_ENDIAN 0
#endif

/** @brief Convert a host 16-bit value to little-endian (and back: symmetric).
 */
static inline uint16_t drv_cpu_to_le16(uint16_t v)
{
#if DRV_HOST_BIG_ENDIAN
    return __builtin_bswap16(v);
#else
    return v;
#endif
}

/** @brief Convert a host 32-bit value to little-endian (and back). */
static inline uint32_t drv_cpu_to_le32(uint32_t v)
{
#if DRV_HOST_BIG_ENDIAN
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

/** @brief Convert a host 64-bit value to little-endian (and back). */
static inline uint64_t drv_cpu_to_le64(uint64_t v)
{
#if DRV_HOST_BIG_ENDIAN
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

/** @brief Store a 16-bit little-endian value at any address (plain store). */
static inline void drv_put_le16(void *p, uint16_t v)
{
    v = drv_cpu_to_le16(v);
    memcpy(p, &v, sizeof v);
}

/** @brief Store a 32-bit little-endian value at any address (plain store). */
static inline void drv_put_le32(void *p, uint32_t v)
{
    v = drv_cpu_to_le32(v);
    memcpy(p, &v, sizeof v);
}

/** @brief Store a 64-bit little-endian value at any address (plain store). */
static inline void drv_put_le64(void *p, uint64_t v)
{
    v = drv_cpu_to_le64(v);
    memcpy(p, &v, sizeof v);
}

/** @brief Load a 16-bit little-endian value from any address (plain load). */
static inline uint16_t drv_get_le16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return drv_cpu_to_le16(v);
}

/** @brief Load a 32-bit little-endian value from any address (plain load). */
static inline uint32_t drv_get_le32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return drv_cpu_to_le32(v);
}

/** @brief Load a 64-bit little-endian value from any address (plain load). */
static inline uint64_t drv_get_le64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return drv_cpu_to_le64(v);
}

/* ------------------------------------------------------------------------ */
/* Guest memory                                                              */
/* ------------------------------------------------------------------------ */

/** Maximum number of regions of a drv_guest. */
#define DRV_MAX_REGIONS 8

/** @brief One guest RAM region: guest-physical range and its host mapping. */
struct drv_region {
    uint64_t gpa;  /**< guest-physical address of the first byte */
    uint64_t size; /**< length in bytes */
    void *hva;     /**< host address of the first byte */
};

/** @brief Simulated guest memory: up to 8 regions with guard pages. */
struct drv_guest {
    struct drv_region
        regions[DRV_MAX_REGIONS]; /**< the regions, in init order */
    unsigned nregions;            /**< number of valid regions */
    /* private */
    uint64_t bump[DRV_MAX_REGIONS];    /**< next free offset of each region */
    uint64_t hiwater[DRV_MAX_REGIONS]; /**< highest offset ever handed out */
    void *map_base[DRV_MAX_REGIONS];   /**< mmap base (leading guard page) */
    size_t map_len[DRV_MAX_REGIONS];   /**< mmap length incl. both guards */
};

/**
 * @brief Create a guest with @p n regions.
 *
 * Region i covers [gpas[i], gpas[i] + sizes[i]). Each region is its own
 * anonymous mapping with a PROT_NONE guard page before and after it: the
 * region ends exactly at the trailing guard page when sizes[i] is a multiple
 * of 64 and gpas[i] is 64-byte aligned (in general the gap is < 64 bytes,
 * because hva and gpa are kept congruent modulo 64 so that alignment in guest
 * memory is alignment in host memory). Memory starts zeroed. Mappings use
 * MAP_NORESERVE, so large sparse regions are cheap.
 *
 * @return 0, or -1 on bad arguments (n == 0 or > 8, a zero size, a range
 *         wrapping past 2^64, overlapping regions) or mmap failure.
 */
int drv_guest_init(struct drv_guest *g, const uint64_t *gpas,
                   const uint64_t *sizes, unsigned n);

/** @brief Unmap every region; @p g may then be initialised again. */
void drv_guest_fini(struct drv_guest *g);

/**
 * @brief Create a guest of one region the caller has mapped (shared memory
 *        another process sees, for a vhost-user front-end): [gpa, gpa +
 *        size) at @p hva, no guard pages. drv_guest_fini() leaves the
 *        mapping alone.
 * @return 0, or -1 on a zero size or a range wrapping past 2^64.
 */
int drv_guest_adopt(struct drv_guest *g, uint64_t gpa, uint64_t size,
                    void *hva);

/**
 * @brief Translate a guest range to a host pointer.
 * @return the host address of @p gpa if [gpa, gpa + len) lies entirely inside
 *         one region (overflow-safe), else NULL.
 */
void *drv_gpa(struct drv_guest *g, uint64_t gpa, uint64_t len);

/**
 * @brief Translate a host pointer back to a guest-physical address.
 * @return the gpa, or UINT64_MAX if @p hva is not inside a region.
 */
uint64_t drv_hva_to_gpa(const struct drv_guest *g, const void *hva);

/**
 * @brief Bump-allocate @p size bytes aligned to @p align (a power of two,
 *        0 means 1) from region 0, or the first following region with room.
 *        The memory is zeroed. Aborts the process on exhaustion.
 * @return the guest-physical address.
 */
uint64_t drv_alloc(struct drv_guest *g, uint64_t size, uint64_t align);

/** @brief Like drv_alloc() but only from region @p region. Aborts on
 * exhaustion. */
uint64_t drv_alloc_in(struct drv_guest *g, unsigned region, uint64_t size,
                      uint64_t align);

/** @brief Forget every allocation (memory is zeroed again as it is re-handed
 * out). */
void drv_alloc_reset(struct drv_guest *g);

/* ------------------------------------------------------------------------ */
/* Virtqueue, driver side                                                    */
/* ------------------------------------------------------------------------ */

#define DRV_F_INDIRECT  (1ull << 28) /**< VIRTIO_F_INDIRECT_DESC */
#define DRV_F_EVENT_IDX (1ull << 29) /**< VIRTIO_F_EVENT_IDX */
#define DRV_F_VERSION_1 (1ull << 32) /**< VIRTIO_F_VERSION_1 */
#define DRV_F_PACKED    (1ull << 34) /**< VIRTIO_F_RING_PACKED */
#define DRV_F_IN_ORDER  (1ull << 35) /**< VIRTIO_F_IN_ORDER */

/** Largest queue size of either format. */
#define DRV_VQ_MAX 32768u

/* descriptor flags (both formats) */
#define DRV_DESC_F_NEXT     1u         /**< VIRTQ_DESC_F_NEXT */
#define DRV_DESC_F_WRITE    2u         /**< VIRTQ_DESC_F_WRITE */
#define DRV_DESC_F_INDIRECT 4u         /**< VIRTQ_DESC_F_INDIRECT */
#define DRV_DESC_F_AVAIL    (1u << 7)  /**< packed VIRTQ_DESC_F_AVAIL */
#define DRV_DESC_F_USED     (1u << 15) /**< packed VIRTQ_DESC_F_USED */
/* split ring flags */
#define DRV_AVAIL_F_NO_INTERRUPT 1u /**< VIRTQ_AVAIL_F_NO_INTERRUPT */
#define DRV_USED_F_NO_NOTIFY     1u /**< VIRTQ_USED_F_NO_NOTIFY */
/* packed event suppression flags */
#define DRV_EVENT_ENABLE  0u /**< RING_EVENT_FLAGS_ENABLE */
#define DRV_EVENT_DISABLE 1u /**< RING_EVENT_FLAGS_DISABLE */
#define DRV_EVENT_DESC    2u /**< RING_EVENT_FLAGS_DESC */

/* split layout: byte offsets inside each part (spec "Split Virtqueues") */
/** avail ring: le16 flags */
#define DRV_SPLIT_AVAIL_FLAGS 0u
/** avail ring: le16 idx */
#define DRV_SPLIT_AVAIL_IDX 2u
/** avail ring: le16 ring[i] */
#define DRV_SPLIT_AVAIL_RING(i) (4u + 2u * (unsigned)(i))
/** avail ring: le16 used_event */
#define DRV_SPLIT_AVAIL_USED_EVENT(num) (4u + 2u * (unsigned)(num))
/** avail ring: size in bytes */
#define DRV_SPLIT_AVAIL_SIZE(num) (6u + 2u * (unsigned)(num))
/** used ring: le16 flags */
#define DRV_SPLIT_USED_FLAGS 0u
/** used ring: le16 idx */
#define DRV_SPLIT_USED_IDX 2u
/** used ring: element i, {le32 id, le32 len} */
#define DRV_SPLIT_USED_RING(i) (4u + 8u * (unsigned)(i))
/** used ring: le16 avail_event */
#define DRV_SPLIT_USED_AVAIL_EVENT(num) (4u + 8u * (unsigned)(num))
/** used ring: size in bytes */
#define DRV_SPLIT_USED_SIZE(num) (6u + 8u * (unsigned)(num))
/* packed descriptor: {le64 addr; le32 len; le16 id; le16 flags} */
#define DRV_PDESC_ADDR  0u  /**< offset of addr in a packed descriptor */
#define DRV_PDESC_LEN   8u  /**< offset of len */
#define DRV_PDESC_ID    12u /**< offset of id */
#define DRV_PDESC_FLAGS 14u /**< offset of flags */
/* split descriptor: {le64 addr; le32 len; le16 flags; le16 next} */
#define DRV_SDESC_ADDR  0u  /**< offset of addr in a split descriptor */
#define DRV_SDESC_LEN   8u  /**< offset of len */
#define DRV_SDESC_FLAGS 12u /**< offset of flags */
#define DRV_SDESC_NEXT  14u /**< offset of next */

/* return codes */
/** drv_vq_add(): not enough free descriptors */
#define DRV_ENOSPC (-1)
/** the device broke a rule (see drv_vq_error()) */
#define DRV_EDEVICE (-2)
/** a caller error: arguments a spec-following driver may not use */
#define DRV_EINVAL (-3)

/** drv_vq_add() @p indirect modes */
#define DRV_ADD_DIRECT   0 /**< chain in the ring */
#define DRV_ADD_INDIRECT 1 /**< whole chain in one indirect table */
/** split only: out parts direct, then one INDIRECT descriptor whose table
 *  holds the in parts (or the last element if nin == 0): the "zero or more
 *  normal chained descriptors followed by a single indirect" layout. */
#define DRV_ADD_MIXED 2

/** drv_vq_set_opts() bits */
/** packed: write the buffer id in every descriptor of a chain (default: only
 *  the last descriptor carries the id, as the spec requires; the others carry
 *  the poison value (uint16_t)~id). */
#define DRV_OPT_PACKED_ID_ALL 1u

/** @brief One buffer element: guest-physical address and length. */
struct drv_buf {
    uint64_t gpa; /**< guest-physical address */
    uint32_t len; /**< length in bytes */
};

/** @brief Details of one used buffer, from drv_vq_get_used_ex(). */
struct drv_used {
    uint32_t id;      /**< buffer id as returned by drv_vq_add() */
    uint32_t len;     /**< bytes written as reported (see drv_vq_get_used()) */
    void *cookie;     /**< cookie given to drv_vq_add() */
    uint32_t batched; /**< 1 if no used entry/descriptor was written for this
                           buffer: IN_ORDER, covered by a later entry */
    uint32_t raw_len; /**< len field of the used entry that covered it */
    uint16_t raw_flags; /**< packed: flags of that used descriptor (split: 0) */
    uint16_t ndesc;     /**< ring descriptors the buffer occupied */
};

/** @brief Per-buffer-id bookkeeping (private). */
struct drv_id {
    void *cookie;        /**< caller cookie */
    uint64_t wlen;       /**< total device-writable bytes */
    uint64_t ind_gpa;    /**< cached indirect table for this id (0 = none) */
    uint32_t ind_cap;    /**< entries of the cached indirect table */
    uint16_t ndesc;      /**< ring descriptors used */
    uint16_t head_pos;   /**< packed: ring slot of the first descriptor */
    uint16_t head_flags; /**< packed: flags of the first descriptor, stored at
                            publish */
    uint16_t ordpos;     /**< slot in the add-order ring */
    uint16_t next_free;  /**< packed: id free list link */
    uint8_t state;       /**< DRV_ID_* */
    uint8_t indirect;    /**< add mode used */
};

#define DRV_ID_FREE      0u /**< not in use */
#define DRV_ID_ADDED     1u /**< added, not yet published */
#define DRV_ID_PUBLISHED 2u /**< visible to the device, not yet used */

/**
 * @brief Driver side of one virtqueue (split or packed, from the features).
 *
 * Fully defined so tests can embed it; fields are private except where a
 * test wants to peek. Arrays sized by the queue size are malloc'ed by
 * drv_vq_init() and freed by drv_vq_fini().
 */
struct drv_vq {
    struct drv_guest *g; /**< guest memory holding the rings */
    uint64_t features;   /**< negotiated features */
    uint32_t num;        /**< queue size */
    uint8_t packed;      /**< DRV_F_PACKED */
    uint8_t event_idx;   /**< DRV_F_EVENT_IDX */
    uint8_t in_order;    /**< DRV_F_IN_ORDER */
    uint8_t indirect_ok; /**< DRV_F_INDIRECT */
    unsigned opts;       /**< DRV_OPT_* */

    uint64_t desc_gpa; /**< split: descriptor table; packed: descriptor ring */
    uint64_t
        driver_gpa; /**< split: avail ring; packed: driver event suppression */
    uint64_t
        device_gpa; /**< split: used ring; packed: device event suppression */
    unsigned char *desc;   /**< hva of desc_gpa */
    unsigned char *driver; /**< hva of driver_gpa */
    unsigned char *device; /**< hva of device_gpa */

    struct drv_id *ids; /**< [num] per buffer id (split: head index) */
    uint16_t *next;  /**< split: [num] shadow of descriptor links / free list */
    uint16_t *order; /**< [num] buffer ids in the order they were added */
    uint16_t *scratch; /**< [num] chain assembly */

    /* add side */
    uint32_t num_free;   /**< free ring descriptors */
    uint32_t free_head;  /**< split: descriptor free list head (num = empty) */
    uint32_t next_desc;  /**< split IN_ORDER: next descriptor to allocate */
    uint32_t id_free;    /**< packed: buffer id free list head (num = empty) */
    uint16_t avail_idx;  /**< split: shadow avail idx (added) */
    uint16_t avail_pub;  /**< split: avail idx as published */
    uint32_t next_avail; /**< packed: next ring slot to fill */
    uint32_t avail_wrap; /**< packed: Driver Ring Wrap Counter */
    uint32_t pub_pos;    /**< packed: first slot not yet published */
    uint32_t pub_wrap;   /**< packed: wrap counter of pub_pos */
    uint32_t ord_tail;   /**< order ring: next slot to append */
    uint32_t ord_pub;    /**< order ring: first unpublished buffer */
    uint32_t ord_front;  /**< order ring: oldest in-flight buffer (IN_ORDER) */
    uint32_t n_pending;  /**< buffers added but not published */
    uint32_t n_inflight; /**< buffers added and not yet used */
    uint32_t pub_bufs;   /**< published buffers the device has not returned */
    uint32_t pub_descs;  /**< packed: ring descriptors of those */

    /* used side */
    uint16_t last_used; /**< split: next used ring index to read */
    uint32_t used_pos;  /**< packed: next ring slot to read a used descriptor */
    uint32_t used_wrap; /**< packed: wrap counter expected at used_pos */
    uint32_t batch_left;  /**< IN_ORDER: buffers of the current batch still to
                             report */
    uint32_t batch_len;   /**< IN_ORDER: len of the batch's used entry */
    uint16_t batch_flags; /**< packed IN_ORDER: flags of the batch's used
                             descriptor */

    /* notification bookkeeping */
    uint32_t kick_old; /**< split: avail idx at last kick_needed; packed: linear
                          position */
    uint32_t kick_count; /**< ring entries (split) / descriptors (packed)
                            published since */
    uint32_t irq_old; /**< split: used idx at last interrupt_expected; packed:
                         linear pos */

    /* diagnostics */
    int broken;                  /**< a device misbehaviour was seen */
    const char *err;             /**< first misbehaviour, static string */
    uint32_t detach_cursor;      /**< drv_vq_detach() scan position */
    uint64_t stat_added;         /**< buffers added */
    uint64_t stat_used;          /**< buffers returned by get_used */
    uint64_t stat_kicks_checked; /**< drv_vq_kick_needed() calls */
};

/**
 * @brief Allocate the rings in guest memory (drv_alloc()) and initialise.
 *
 * Split (no DRV_F_PACKED in @p features): @p num a power of two, 1..32768;
 * descriptor table 16-aligned, avail ring 2-aligned (we use 4), used ring
 * 4-aligned, all zeroed (so used flags = 0 as the driver must initialise).
 * Packed: @p num 1..32768; descriptor ring 16-aligned, event suppression
 * structures 4-aligned, zeroed (driver event flags ENABLE).
 * @return 0, or DRV_EINVAL for a bad size, or -1 if malloc fails.
 */
int drv_vq_init(struct drv_vq *q, struct drv_guest *g, uint16_t num,
                uint64_t features);

/**
 * @brief Like drv_vq_init() but with the three areas at caller-chosen gpas
 *        (which must lie in guest memory and be aligned as the spec requires:
 *        16 / 2 / 4 split, 16 / 4 / 4 packed). The areas are zeroed.
 * @return 0, DRV_EINVAL for bad size/alignment/placement, -1 if malloc fails.
 */
int drv_vq_init_at(struct drv_vq *q, struct drv_guest *g, uint16_t num,
                   uint64_t features, uint64_t desc_gpa, uint64_t driver_gpa,
                   uint64_t device_gpa);

/** @brief Free the host-side bookkeeping (guest memory is not released). */
void drv_vq_fini(struct drv_vq *q);

/**
 * @brief Reset the queue to its initial state at the same addresses: rings
 *        zeroed, every buffer forgotten (cookies dropped), wrap counters 1.
 *        For virtqueue-reset / device-reset tests.
 */
void drv_vq_reset(struct drv_vq *q);

/** @brief Set DRV_OPT_* bits (replaces the previous set). */
void drv_vq_set_opts(struct drv_vq *q, unsigned opts);

/** @brief Queue size. */
uint32_t drv_vq_num(const struct drv_vq *q);
/** @brief split: descriptor table gpa; packed: descriptor ring gpa. */
uint64_t drv_vq_desc_gpa(const struct drv_vq *q);
/** @brief split: avail ring gpa; packed: driver event suppression gpa. */
uint64_t drv_vq_driver_gpa(const struct drv_vq *q);
/** @brief split: used ring gpa; packed: device event suppression gpa. */
uint64_t drv_vq_device_gpa(const struct drv_vq *q);

/**
 * @brief Add one buffer: @p nout device-readable parts then @p nin
 *        device-writable parts (spec "Message Framing").
 *
 * Descriptors are written to guest memory at once but nothing is visible to
 * the device before drv_vq_publish(): split writes the avail ring slot but
 * not avail idx; packed writes every descriptor except the flags of the
 * buffer's first descriptor.
 *
 * Split: non-IN_ORDER takes descriptors from a LIFO free list (chains get
 * scattered once the queue has been used); IN_ORDER takes them in ring order
 * with next = x + 1 (0 after the last), per spec. Packed: ids come from a
 * LIFO free list (ids are not ring positions); the id is written in the last
 * descriptor of the chain and the other descriptors carry (uint16_t)~id
 * unless DRV_OPT_PACKED_ID_ALL.
 *
 * @param q the queue.
 * @param out device-readable parts (may be NULL if @p nout is 0).
 * @param nout number of device-readable parts.
 * @param in device-writable parts (may be NULL if @p nin is 0).
 * @param nin number of device-writable parts.
 * @param indirect DRV_ADD_DIRECT, DRV_ADD_INDIRECT (needs DRV_F_INDIRECT:
 *        one ring descriptor, the table is 16-aligned guest memory cached per
 *        id and grown with drv_alloc()), or DRV_ADD_MIXED (split only).
 *        Indirect tables have sequential entries (next = i + 1).
 * @param cookie returned with the used buffer.
 * @return the buffer id (split: head descriptor index; packed: buffer id),
 *         DRV_ENOSPC (-1) if not enough free descriptors, DRV_EINVAL if the
 *         request breaks a driver rule (no parts, chain or table longer than
 *         the queue size, total length > 2^32, indirect not negotiated),
 *         DRV_EDEVICE if the queue is broken.
 */
int drv_vq_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
               const struct drv_buf *in, unsigned nin, int indirect,
               void *cookie);

/**
 * @brief Make every added buffer visible to the device.
 *
 * Split: release-store of avail idx. Packed: the first-descriptor flags of
 * each pending buffer, release-stored from the last added to the first added
 * (so the device never sees a partial chain nor a later buffer missing).
 */
void drv_vq_publish(struct drv_vq *q);

/**
 * @brief Decide whether an available buffer notification is needed for what
 *        was published since the previous call (full fence first).
 *
 * Split without EVENT_IDX: 1 iff something was published and used ring flags
 * has no VIRTQ_USED_F_NO_NOTIFY. Split with EVENT_IDX: 1 iff avail_event is
 * one of the avail ring indexes written since the last call, i.e. with
 * old = avail idx at the previous call and new = avail idx now,
 * (uint16_t)(avail_event - old) < (uint16_t)(new - old) (always 1 after
 * 65536 or more). Packed: device event flags ENABLE -> 1 iff something
 * published; DISABLE -> 0; DESC (EVENT_IDX only) -> 1 iff the descriptor
 * slot (off, wrap) is among the descriptor slots made available since the
 * last call, every descriptor of a chain counting (not only heads).
 *
 * @return 1 kick, 0 no kick, DRV_EDEVICE (truthy, so a naive caller kicks) if
 *         the device broke a rule: split used flags not 0/1 (or not 0 with
 *         EVENT_IDX); packed reserved flag bits or value 3, DESC without
 *         EVENT_IDX, or offset >= queue size.
 */
int drv_vq_kick_needed(struct drv_vq *q);

/**
 * @brief Position for notification data (VIRTIO_F_NOTIFICATION_DATA) of the
 *        published state: split: avail idx (next_off = low 15 bits,
 *        next_wrap = bit 15); packed: next_off | next_wrap << 15.
 */
uint16_t drv_vq_next_off_wrap(const struct drv_vq *q);

/**
 * @brief Fetch one used buffer (acquire ordering on the device's index/flags).
 *
 * Reports exactly one buffer per call, in the order the device used them.
 * @p len is the device's "used length": split the used element's len; packed
 * the used descriptor's len if it has VIRTQ_DESC_F_WRITE, else 0 (the field
 * is reserved then).
 *
 * IN_ORDER batches: when one used entry (split) or used descriptor (packed)
 * carries the id of buffer B, it stands for every in-flight buffer from the
 * oldest up to B. They are returned one per call, oldest first; the buffers
 * before B (no entry written) report len = their full device-writable length
 * ("assumed to have been used completely"), B reports the entry's len.
 * drv_vq_get_used_ex() tells which were batched.
 *
 * Validation (any failure makes the queue broken, sets drv_vq_error() and
 * returns DRV_EDEVICE now and on every later call): split: used idx advance
 * <= published buffers not yet returned; id < queue size and the head of a
 * published in-flight buffer; IN_ORDER batch size <= used idx advance;
 * len <= the buffer's device-writable bytes. Packed: the slot at the used
 * position is either still available (AVAIL = wrap, USED != wrap) or used
 * (AVAIL = USED = wrap) -- any other combination, or a used one with nothing
 * published, is an error; id < queue size and published in flight; skipping
 * the id's descriptor count (or the batch's) stays within the published
 * descriptors; len as for split.
 *
 * @param q the queue.
 * @param id,len,cookie outputs, each may be NULL.
 * @return 1 got one, 0 none, DRV_EDEVICE.
 */
int drv_vq_get_used(struct drv_vq *q, uint32_t *id, uint32_t *len,
                    void **cookie);

/** @brief drv_vq_get_used() with every detail (@p u must not be NULL). */
int drv_vq_get_used_ex(struct drv_vq *q, struct drv_used *u);

/**
 * @brief Whether drv_vq_get_used() would return something (or an error)
 *        now, without consuming; for the re-check after drv_vq_enable_cb().
 * @return 1 / 0.
 */
int drv_vq_more_used(struct drv_vq *q);

/**
 * @brief Re-enable used buffer notifications, then full fence.
 *
 * Split: without EVENT_IDX avail flags = 0; with EVENT_IDX used_event = the
 * next used index the driver will read (flags stay 0). Packed: without
 * EVENT_IDX driver event flags = ENABLE; with EVENT_IDX flags = DESC with
 * off/wrap = the next used slot the driver will read. Call
 * drv_vq_more_used() afterwards to close the race.
 */
void drv_vq_enable_cb(struct drv_vq *q);

/**
 * @brief Ask for a notification at a given position (EVENT_IDX): split:
 *        used_event = @p pos; packed: DESC with off_wrap = @p pos
 *        (off | wrap << 15). Without EVENT_IDX same as drv_vq_enable_cb().
 */
void drv_vq_enable_cb_at(struct drv_vq *q, uint16_t pos);

/**
 * @brief Suppress used buffer notifications. Split without EVENT_IDX:
 *        avail flags = VIRTQ_AVAIL_F_NO_INTERRUPT; with EVENT_IDX (flags must
 *        stay 0) used_event = next used index - 1, i.e. the farthest point;
 *        packed: driver event flags = DISABLE.
 */
void drv_vq_disable_cb(struct drv_vq *q);

/**
 * @brief Oracle for the device's used buffer notification decision.
 *
 * Evaluates the spec's rule against the device's used progress since the
 * previous call of this function (initially: since the queue was set up),
 * reading the driver's current suppression fields from guest memory. Split:
 * progress is used idx old -> new; required iff (no EVENT_IDX) avail flags
 * has no NO_INTERRUPT and new != old, or (EVENT_IDX) used_event is one of the
 * used ring indexes old .. new-1. Packed: progress is the device's used
 * position, found by scanning the used descriptors the driver has not yet
 * consumed from the driver's used position (skipping by chain/batch length);
 * ENABLE: required iff it moved; DISABLE: no; DESC: iff the slot (off, wrap)
 * is one of the slots passed.
 *
 * Call it once each time the device under test makes its notify decision
 * (after it published used entries), before or after the driver's
 * get_used of those, but without enable/disable calls in between. Packed:
 * call it at least once per queue-size used descriptors.
 *
 * @return 1 the device MUST notify, 0 it SHOULD NOT.
 */
int drv_vq_interrupt_expected(struct drv_vq *q);

/**
 * @brief Stateless form of the oracle: is a used buffer notification required
 *        for the device moving its used position from @p old_pos to @p new_pos?
 *        Split: used idx values; packed: off | wrap << 15 of the next used
 * slot.
 * @return 1 / 0, DRV_EINVAL for a packed offset >= queue size.
 */
int drv_vq_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                uint16_t new_pos);

/** @brief Free ring descriptors (a buffer of n direct parts needs n; indirect
 * 1). */
unsigned drv_vq_num_free(const struct drv_vq *q);
/** @brief Buffers added and not yet returned by drv_vq_get_used(). */
unsigned drv_vq_inflight(const struct drv_vq *q);
/** @brief Split: avail idx as published. Packed: next_off | next_wrap << 15. */
uint16_t drv_vq_avail_idx(const struct drv_vq *q);
/** @brief Split: next used index to read. Packed: used slot | wrap << 15. */
uint16_t drv_vq_last_used(const struct drv_vq *q);

/** @brief The first device misbehaviour seen, or NULL. */
const char *drv_vq_error(const struct drv_vq *q);

/**
 * @brief Take back one in-flight buffer (any state) after the device was
 *        reset: returns 1 and its id/cookie, 0 when none left. Call
 *        drv_vq_reset() before using the queue again.
 */
int drv_vq_detach(struct drv_vq *q, uint32_t *id, void **cookie);

/* ---- raw access for hostile tests (no bookkeeping is updated) ---- */

/** @brief Host pointer of the descriptor table / ring. */
void *drv_vq_desc_hva(struct drv_vq *q);
/** @brief Host pointer of the avail ring (packed: driver event suppression). */
void *drv_vq_avail_hva(struct drv_vq *q);
/** @brief Host pointer of the used ring (packed: device event suppression). */
void *drv_vq_used_hva(struct drv_vq *q);

/**
 * @brief Write descriptor @p i (modulo queue size) raw. Split layout
 *        {addr, len, flags, next = @p next_or_id}; packed {addr, len,
 *        id = @p next_or_id, flags}, flags release-stored last.
 */
void drv_vq_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next_or_id);
/** @brief Split: avail ring[@p slot mod size] = @p head. No-op for packed. */
void drv_vq_raw_avail(struct drv_vq *q, uint16_t slot, uint16_t head);
/** @brief Split: release-store avail idx = @p idx. No-op for packed. */
void drv_vq_raw_avail_idx(struct drv_vq *q, uint16_t idx);
/** @brief Split: avail flags; packed: driver event flags (release store). */
void drv_vq_raw_driver_flags(struct drv_vq *q, uint16_t flags);
/** @brief Split: used_event; packed: driver event off_wrap (release store). */
void drv_vq_raw_used_event(struct drv_vq *q, uint16_t v);

/* ------------------------------------------------------------------------ */
/* Snapshot (drv_snap.c)                                                     */
/* ------------------------------------------------------------------------ */

/*
 * What a real guest driver keeps in guest RAM, the simulator keeps in host
 * memory: these calls write it out and read it back in another process
 * (mini-vmm's snapshot). Layout, all little-endian: le32 "DVQS", le32 queue
 * size; one le64 per scalar member of struct drv_vq (drv_snap.c lists them);
 * per buffer id one le64 per member of struct drv_id and a le32 cookie
 * number (0 for a free id); per ring entry le16 next, le16 order. Guest
 * memory is not included.
 */

/** @brief One scalar member of a struct (width 1, 2, 4 or 8 bytes). */
struct drv_snap_field {
    size_t off;  /**< offsetof */
    size_t size; /**< sizeof */
};
/** @brief The drv_snap_field of member @p m of struct type @p type. */
#define DRV_SNAP_FIELD(type, m)                                                \
    {                                                                          \
        offsetof(type, m), sizeof(((type *)0)->m)                              \
    }

/** @brief Write the @p n members @p f of @p base as n le64 at @p out. */
void drv_snap_fields_save(const void *base, const struct drv_snap_field *f,
                          size_t n, unsigned char *out);
/** @brief Read them back; -1 when a value does not fit its member. */
int drv_snap_fields_load(void *base, const struct drv_snap_field *f, size_t n,
                         const unsigned char *in);

/** @brief Bytes drv_vq_snap_save() writes for @p q. */
size_t drv_vq_snap_size(const struct drv_vq *q);

/**
 * @brief Save the driver-side bookkeeping of @p q; each in-flight buffer's
 *        cookie is written as @p cookie_id(@p ctx, cookie).
 * @return bytes written, DRV_EINVAL (broken queue, short buffer).
 */
int drv_vq_snap_save(const struct drv_vq *q, void *buf, size_t len,
                     uint32_t (*cookie_id)(void *ctx, void *cookie), void *ctx);

/**
 * @brief Rebuild @p q (not initialised) on guest memory @p g from a
 *        drv_vq_snap_save() image; cookies come back through @p cookie_ptr.
 *        Guest memory (the rings) is left as it is, before or after it was
 *        restored. Free with drv_vq_fini().
 * @return 0, DRV_EINVAL (malformed image, rings outside @p g), -1 (malloc).
 */
int drv_vq_snap_load(struct drv_vq *q, struct drv_guest *g, const void *buf,
                     size_t len, void *(*cookie_ptr)(void *ctx, uint32_t id),
                     void *ctx);

/** @brief Read the bump allocator of region @p region; -1 if none. */
int drv_guest_alloc_get(const struct drv_guest *g, unsigned region,
                        uint64_t *bump, uint64_t *hiwater);
/** @brief Set the bump allocator of region @p region; -1 if out of range. */
int drv_guest_alloc_set(struct drv_guest *g, unsigned region, uint64_t bump,
                        uint64_t hiwater);

#ifdef __cplusplus
}
#endif

#endif /* VDM_TESTS_DRV_H */
