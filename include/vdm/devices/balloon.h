/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file balloon.h
 * @brief Traditional memory balloon (virtio-balloon, spec "Traditional
 *        Memory Balloon Device", device id 5).
 *
 * The host sets a target (`num_pages`, in 4 KiB pages); the driver gives
 * pages to the balloon on the inflateq and takes them back on the deflateq,
 * each request an array of 32-bit page frame numbers (guest address / 4096),
 * and writes how many pages the balloon holds into `actual`.
 *
 * What the device does with a request:
 * - **inflate**: every PFN is checked against the guest memory map (the
 *   whole 4 KiB page inside one writable region). Pages that pass are given
 *   to the host's vdm_balloon_ops::release hook, adjacent pages of a request
 *   merged into one range; a PFN outside the map (or in a read-only region)
 *   is skipped, counted (vdm_balloon_counters::rejected) and logged once per
 *   reset: never acted on.
 * - **deflate**: the same checks, then vdm_balloon_ops::acquire (the host
 *   makes the memory usable again). With VDM_BALLOON_F_MUST_TELL_HOST the
 *   driver waits for the device's acknowledgement (the used entry), which
 *   comes after the hook returned.
 * - **statsq** (VDM_BALLOON_F_STATS_VQ): the device keeps the driver's
 *   buffer after reading its statistics (vdm_balloon_ops::stats) and
 *   returns it when the host asks for fresh ones (vdm_balloon_stats_request()).
 * - **free_page_vq** (VDM_BALLOON_F_FREE_PAGE_HINT): the host starts a round
 *   of hinting (vdm_balloon_hint_start(), a new command id >= 2), stops it
 *   or ends it (VDM_BALLOON_CMD_ID_STOP / DONE); pages the driver hints
 *   under the current id go to vdm_balloon_ops::hint.
 * - **reporting_vq** (VDM_BALLOON_F_REPORTING): ranges of free pages the
 *   driver reports go to vdm_balloon_ops::report.
 * Every chain gets its used entry with used length 0, whatever it held.
 *
 * **Queue numbers.** The spec lists inflateq 0, deflateq 1, statsq 2,
 * free_page_vq 3, reporting_vq 4, each optional one existing only with its
 * feature. Linux numbers the queues that exist one after the other (a queue
 * whose feature was not negotiated takes no index: with REPORTING but
 * neither STATS_VQ nor FREE_PAGE_HINT the reporting_vq is queue 2), and so
 * does this device: the numbering follows the features the driver accepted
 * (vdm_balloon_queue_index()). The device has as many queues as the
 * features it offers need.
 *
 * Threads: one thread at a time, like every vdm device; the vdm_balloon_*
 * calls below must be made on the thread that drives the device.
 */
#ifndef VDM_DEVICES_BALLOON_H
#define VDM_DEVICES_BALLOON_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Feature bits (spec "Feature bits")
 * @{ */
/** Host has to be told before pages from the balloon are used. */
#define VDM_BALLOON_F_MUST_TELL_HOST (1ull << 0)
/** A virtqueue for guest memory statistics is present. */
#define VDM_BALLOON_F_STATS_VQ (1ull << 1)
/** Deflate the balloon on guest out-of-memory. */
#define VDM_BALLOON_F_DEFLATE_ON_OOM (1ull << 2)
/** Free page hinting: free_page_vq and free_page_hint_cmd_id. */
#define VDM_BALLOON_F_FREE_PAGE_HINT (1ull << 3)
/** The driver fills freed pages with poison_val. */
#define VDM_BALLOON_F_PAGE_POISON (1ull << 4)
/** Free page reporting: reporting_vq. */
#define VDM_BALLOON_F_REPORTING (1ull << 5)
/** Every feature bit this device implements. */
#define VDM_BALLOON_F_ALL (0x3full)
/** @} */

/** @name Queue roles (vdm_balloon_queue_index(), vdm_balloon_queue_role())
 * @{ */
#define VDM_BALLOON_Q_INFLATE   0u    /**< inflateq. */
#define VDM_BALLOON_Q_DEFLATE   1u    /**< deflateq. */
#define VDM_BALLOON_Q_STATS     2u    /**< statsq. */
#define VDM_BALLOON_Q_FREE_PAGE 3u    /**< free_page_vq. */
#define VDM_BALLOON_Q_REPORTING 4u    /**< reporting_vq. */
#define VDM_BALLOON_Q_NONE      0xffu /**< No such queue. */
/** @} */

/** @brief Most queues (all features). */
#define VDM_BALLOON_MAX_QUEUES 5
/** @brief Size of the configuration layout (struct virtio_balloon_config). */
#define VDM_BALLOON_CONFIG_BYTES 16
/** @name Configuration field offsets
 * @{ */
#define VDM_BALLOON_CFG_NUM_PAGES 0u  /**< le32 num_pages (device). */
#define VDM_BALLOON_CFG_ACTUAL    4u  /**< le32 actual (driver). */
#define VDM_BALLOON_CFG_CMD_ID    8u  /**< le32 free_page_hint_cmd_id. */
#define VDM_BALLOON_CFG_POISON    12u /**< le32 poison_val (driver). */
/** @} */
/** @brief Balloon page size: PFNs count 4096-byte pages whatever the guest's
 *         page size ("Device Operation"). */
#define VDM_BALLOON_PAGE_BYTES 4096u
/** @brief Most PFNs acted on per inflate or deflate request (Linux sends at
 *         most 256); the rest of a longer array is skipped and counted as
 *         rejected. */
#define VDM_BALLOON_PFNS_MAX 4096u
/** @brief Bytes of one statistic on the wire (le16 tag, le64 value). */
#define VDM_BALLOON_STAT_BYTES 10u
/** @brief Most statistics read from one stats buffer; the rest is ignored. */
#define VDM_BALLOON_STATS_MAX 64u
/** @brief Most spans of one request (Linux reports at most 32 ranges). */
#define VDM_BALLOON_IOV_MAX 32u

/** @name Statistic tags (spec "Memory Statistics Tags")
 * @{ */
#define VDM_BALLOON_S_SWAP_IN      0u  /**< Bytes swapped in. */
#define VDM_BALLOON_S_SWAP_OUT     1u  /**< Bytes swapped out. */
#define VDM_BALLOON_S_MAJFLT       2u  /**< Major page faults. */
#define VDM_BALLOON_S_MINFLT       3u  /**< Minor page faults. */
#define VDM_BALLOON_S_MEMFREE      4u  /**< Bytes unused. */
#define VDM_BALLOON_S_MEMTOT       5u  /**< Bytes total. */
#define VDM_BALLOON_S_AVAIL        6u  /**< Bytes available estimate. */
#define VDM_BALLOON_S_CACHES       7u  /**< Bytes quickly reclaimable. */
#define VDM_BALLOON_S_HTLB_PGALLOC 8u  /**< hugetlb allocations. */
#define VDM_BALLOON_S_HTLB_PGFAIL  9u  /**< hugetlb allocation failures. */
#define VDM_BALLOON_S_NR           10u /**< Tags the device recognises. */
/** @} */

/** @name Free page hint command ids (spec "Free Page Hinting")
 * @{ */
#define VDM_BALLOON_CMD_ID_STOP 0u /**< Stop hinting, keep hinted pages. */
#define VDM_BALLOON_CMD_ID_DONE 1u /**< Hinting done, pages released. */
/** @} */

/** @brief vdm_balloon_ops::report flag: PAGE_POISON is negotiated with a
 *         non-zero poison_val, so the reported pages must keep their content
 *         (the device may not change it to anything but poison_val:
 *         discarding them, which reads back zeros, is not allowed). */
#define VDM_BALLOON_REPORT_KEEP 1u

/** @brief Bytes of opaque storage for one balloon device. */
#define VDM_BALLOON_SIZE 7168

/** @brief A balloon device: opaque caller-owned storage. */
struct vdm_balloon {
    alignas(8) unsigned char opaque[VDM_BALLOON_SIZE]; /**< Library state. */
};

/** @brief What the balloon asks of the host (const table; every hook may be
 *         NULL). Ranges are whole 4 KiB pages inside one region of the
 *         memory map: @p gpa in guest space, @p hva where it is mapped. */
struct vdm_balloon_ops {
    uint32_t size;     /**< sizeof(struct vdm_balloon_ops), set by VDM_INIT. */
    uint32_t reserved; /**< Must be 0. */
    /**
     * Inflate: the guest gave up this memory; the host may discard it
     * (e.g. fallocate(PUNCH_HOLE) on the backing file, madvise(DONTNEED)).
     * @return 0, or a negative VDM_E* code (counted in host_errors; the
     *   request is acknowledged anyway: discarding is optional).
     */
    int (*release)(void *host, uint64_t gpa, void *hva, uint64_t len);
    /**
     * Deflate: the guest takes this memory back; the host makes it usable
     * (it already is after a hole punch; a host that unmapped it maps it).
     * @return 0 or a negative VDM_E* code (counted in host_errors).
     */
    int (*acquire)(void *host, uint64_t gpa, void *hva, uint64_t len);
    /**
     * Fresh statistics: @p val holds VDM_BALLOON_S_NR values, bit t of
     * @p valid set where the driver supplied tag t (unknown tags ignored).
     */
    void (*stats)(void *host, uint32_t valid, const uint64_t *val);
    /**
     * Free page hint under @p cmd_id: the range's content is not needed,
     * unless the guest writes it again. @p len 0 (and @p hva NULL): the
     * driver ended its hinting for @p cmd_id (it sent STOP).
     */
    void (*hint)(void *host, uint32_t cmd_id, uint64_t gpa, void *hva,
                 uint64_t len);
    /**
     * Free page report: the range is free in the guest until the report is
     * acknowledged (the hook returned). Without VDM_BALLOON_REPORT_KEEP in
     * @p flags the host may discard it.
     */
    void (*report)(void *host, uint64_t gpa, void *hva, uint64_t len,
                   uint32_t flags);
    /** The driver wrote `actual` (pages in the balloon). */
    void (*actual)(void *host, uint32_t pages);
};

/** @brief Balloon configuration, caller-filled with VDM_INIT. */
struct vdm_balloon_config {
    uint32_t size;      /**< sizeof(struct vdm_balloon_config). */
    uint32_t num_pages; /**< Initial target, in 4 KiB pages. */
    uint64_t features;  /**< VDM_BALLOON_F_* bits to offer. */
    const struct vdm_balloon_ops *ops; /**< Host hooks (may be NULL). */
    void *host;                        /**< Passed to @ref ops hooks. */
};

/** @brief What the device did since init, caller-filled with VDM_INIT. */
struct vdm_balloon_counters {
    uint32_t size;        /**< sizeof(struct vdm_balloon_counters). */
    uint32_t reserved;    /**< 0. */
    uint64_t inflated;    /**< Pages given to vdm_balloon_ops::release. */
    uint64_t deflated;    /**< Pages given to vdm_balloon_ops::acquire. */
    uint64_t rejected;    /**< PFNs and spans skipped (outside the memory
                               map, read-only, beyond VDM_BALLOON_PFNS_MAX). */
    uint64_t reported;    /**< Bytes reported free. */
    uint64_t hinted;      /**< Bytes hinted free under a current command id. */
    uint64_t stats;       /**< Stats buffers read. */
    uint64_t host_errors; /**< release/acquire hooks that failed. */
};

/**
 * @brief Create a balloon device on @p dev.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues must be 0 or the number the offered features need: 2, plus
 * one for each of STATS_VQ, FREE_PAGE_HINT, REPORTING), sets the class,
 * state and features (cfg->features, the ring features, the platform bits
 * of base->features) and calls vdm_dev_init().
 * @return 0; VDM_EINVAL (NULL pointer, a feature bit this device does not
 *   know, bad num_queues); VDM_ESIZE (a struct's size field too small); or
 *   what vdm_dev_init() returns.
 */
VDM_API int vdm_balloon_init(struct vdm_balloon *b, struct vdm_dev *dev,
                             const struct vdm_balloon_config *cfg,
                             const struct vdm_dev_config *base);

/** @brief The device this balloon was created on. */
VDM_API struct vdm_dev *vdm_balloon_dev(const struct vdm_balloon *b);

/**
 * @brief Set the target (`num_pages`); a change raises a configuration
 *        change notification.
 * @return 0; VDM_EINVAL for a NULL @p b.
 */
VDM_API int vdm_balloon_set_target(struct vdm_balloon *b, uint32_t pages);

/** @brief The target (`num_pages`). */
VDM_API uint32_t vdm_balloon_target(const struct vdm_balloon *b);

/** @brief Pages in the balloon as the driver last wrote them (`actual`). */
VDM_API uint32_t vdm_balloon_actual(const struct vdm_balloon *b);

/**
 * @brief The driver's poison value.
 * @return 1 with `*val` set when PAGE_POISON is negotiated, else 0.
 */
VDM_API int vdm_balloon_poison(const struct vdm_balloon *b, uint32_t *val);

/**
 * @brief Queue number of role @p role (VDM_BALLOON_Q_*) under the features
 *        negotiated (before FEATURES_OK: those offered).
 * @return the queue number, or UINT16_MAX when the queue does not exist.
 */
VDM_API uint16_t vdm_balloon_queue_index(const struct vdm_balloon *b,
                                         uint32_t role);

/**
 * @brief Role of queue @p q (VDM_BALLOON_Q_*, VDM_BALLOON_Q_NONE for none).
 */
VDM_API uint32_t vdm_balloon_queue_role(const struct vdm_balloon *b,
                                        uint16_t q);

/**
 * @brief Ask the driver for fresh statistics: give back the stats buffer
 *        the device holds (spec "Memory Statistics", step 1).
 * @return 1 when a buffer was returned; 0 when the device holds none (the
 *   driver has not supplied one yet, or the device is not live);
 *   VDM_EINVAL.
 */
VDM_API int vdm_balloon_stats_request(struct vdm_balloon *b);

/**
 * @brief Start a round of free page hinting: a new command id (>= 2, never
 *        reused) in free_page_hint_cmd_id, and a configuration change.
 * @param b   the balloon.
 * @param[out] cmd_id the new command id (may be NULL).
 * @return 0; VDM_ESTATE when FREE_PAGE_HINT is not negotiated; VDM_EINVAL.
 */
VDM_API int vdm_balloon_hint_start(struct vdm_balloon *b, uint32_t *cmd_id);

/**
 * @brief End hinting: free_page_hint_cmd_id becomes @p cmd
 *        (VDM_BALLOON_CMD_ID_STOP: the device cannot use hints now;
 *        VDM_BALLOON_CMD_ID_DONE: it no longer needs the hinted pages),
 *        with a configuration change.
 * @return 0; VDM_EINVAL (NULL, @p cmd not STOP or DONE); VDM_ESTATE (not
 *   negotiated).
 */
VDM_API int vdm_balloon_hint_end(struct vdm_balloon *b, uint32_t cmd);

/**
 * @brief Copy the counters into @p c (its size field set by VDM_INIT; a
 *        shorter struct gets the fields it has).
 * @return 0; VDM_EINVAL; VDM_ESIZE.
 */
VDM_API int vdm_balloon_counters(const struct vdm_balloon *b,
                                 struct vdm_balloon_counters *c);

#ifdef __cplusplus
}
#endif
#endif
