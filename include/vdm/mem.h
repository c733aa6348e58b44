/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file mem.h
 * @brief Guest memory: the caller's region table and bounds-checked lookups.
 *
 * Every guest address vdm touches goes through this layer. A lookup succeeds
 * only when the whole range lies inside mapped regions; all arithmetic is
 * overflow-safe. The table is read, never copied or changed, by the library:
 * the caller may swap it (e.g. on a vhost-user SET_MEM_TABLE) only while no
 * device thread uses it.
 */
#ifndef VDM_MEM_H
#define VDM_MEM_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Region flag: the device may only read this region. */
#define VDM_MEM_REGION_RDONLY 1u

/** @name Access kinds for lookups
 * @{ */
#define VDM_MEM_READ  1u /**< The device will read the range. */
#define VDM_MEM_WRITE 2u /**< The device will write the range. */
/** The mapping is kept and must stay coherent with guest memory while it
 *  lives (the virtqueue's rings): a translate hook that hands out a copy
 *  (a bounce buffer) must refuse it. Only translate hooks see this bit. */
#define VDM_MEM_KEEP 4u
/** @} */

/** @brief One contiguous guest-physical region mapped in the host. */
struct vdm_mem_region {
    uint64_t gpa;      /**< Guest address of the first byte. */
    uint64_t size;     /**< Size in bytes (0: unused entry). */
    void *hva;         /**< Host address of the first byte. */
    uint32_t flags;    /**< VDM_MEM_REGION_* bits. */
    uint32_t reserved; /**< Must be 0. */
};

/**
 * @brief Optional hooks for an IOMMU or a map-on-demand hypervisor.
 *
 * `translate` is asked for any address no region covers. It maps (a prefix
 * of) the range and reports the host address and the contiguous length
 * mapped (1..len). Spans it produced carry VDM_IOV_F_HOOK and are given back
 * through `unmap` by vdm_mem_release().
 *
 * A library built with VDM_CONFIG_MEM_HOOKS 0 (vdm/config.h) has no hooks:
 * only the region table maps guest memory, vdm_dev_init() and
 * vdm_mem_check() refuse a translate hook (VDM_ENOTSUP), and the lookups
 * ignore `ops`.
 */
struct vdm_mem_ops {
    uint32_t size; /**< sizeof(struct vdm_mem_ops), set by VDM_INIT. */
    /** Map [addr, addr+len) for `access` (VDM_MEM_*); 0 or negative VDM_E*. */
    int (*translate)(void *host, uint64_t addr, uint64_t len, uint32_t access,
                     void **hva, uint64_t *maplen);
    /** Release a span translate produced. May be NULL. */
    void (*unmap)(void *host, void *hva, uint64_t len);
};

/**
 * @brief A dirty-page log: one bit per page of guest-physical memory, for
 *        live migration (vhost-user "Migration", VFIO DMA logging).
 *
 * The bitmap is memory the caller owns and maps (for vhost-user the
 * front-end's shared log, for vfio-user a buffer of the server); the
 * library only sets bits, never clears or reads them for anything else.
 * Bit n of the bitmap is bit (n % 8) of byte n / 8 and stands for the page
 * [base + n * 2^page_shift, base + (n + 1) * 2^page_shift). Bits are set
 * with an atomic OR (release ordering: the data written before a bit
 * becomes visible before it), since the reader (the front-end) reads and
 * clears the log concurrently; on a target without byte-wide atomic
 * read-modify-write (e.g. ARMv6-M) the OR is a plain load and store.
 *
 * Pages outside the bitmap (below base, or past bytes * 8 pages) are not
 * marked; the marking call reports them with VDM_ERANGE.
 */
struct vdm_dirty_log {
    uint32_t size;       /**< sizeof(struct vdm_dirty_log), set by VDM_INIT. */
    uint32_t page_shift; /**< log2 of the page size a bit stands for
                              (12..30: 4 KiB to 1 GiB). */
    uint64_t base;     /**< Guest address bit 0 stands for (page-aligned). */
    uint64_t bytes;    /**< Bytes of @ref bitmap (> 0). */
    uint8_t *bitmap;   /**< The caller's bitmap (mapped, writable). */
    uint64_t reserved; /**< Must be 0. */
};

/** @brief The guest memory map: caller-owned, read by the library. */
struct vdm_mem {
    uint32_t size;                        /**< sizeof(struct vdm_mem). */
    uint32_t nregions;                    /**< Entries in @ref regions. */
    const struct vdm_mem_region *regions; /**< The caller's region table. */
    const struct vdm_mem_ops *ops;        /**< Optional hooks, may be NULL. */
    void *host;                           /**< Passed to the hooks. */
    /**
     * Dirty-page log, NULL when off (checked with vdm_dirty_log_check()
     * before it is set). While set, every write of the library and its
     * devices into guest memory marks its pages: ring writes (used ring,
     * used and avail event, packed descriptors written back, see
     * vdm_vq_set_log()), vdm_mem_write(), and the writable buffer of each
     * request a device completes through the device kit (vdm/kit.h): the
     * used length the device reports, counted from the start of the
     * writable part (for queues with VDM_KIT_STATUS_TAIL: the data from the
     * start plus the status bytes at the end), never the whole writable
     * part.
     * The caller may set or clear it between calls into the library (e.g.
     * on a vhost-user SET_FEATURES with VHOST_F_LOG_ALL).
     */
    const struct vdm_dirty_log *log;
};

/**
 * @brief Check a region table: sizes non-zero or entry unused, no gpa+size
 *        or hva+size overflow, no two regions overlapping in guest space.
 * @return 0, VDM_EINVAL naming nothing further (use the log of the caller),
 *         or VDM_ENOTSUP for a translate hook in a library built without
 *         hooks (VDM_CONFIG_MEM_HOOKS 0, vdm/config.h).
 */
VDM_API int vdm_mem_check(const struct vdm_mem *m);

/**
 * @brief Translate a range that must be contiguous in host memory.
 *
 * A range no region covers may be mapped by ops->translate, but then as a
 * whole by one call; such a mapping is the caller's to give back
 * (ops->unmap(host, *hva, len)). With @p len 0 only regions are consulted.
 * @param m      memory map.
 * @param gpa    guest address.
 * @param len    length in bytes (0 is allowed and yields a valid pointer
 *               only if gpa itself is mapped).
 * @param access VDM_MEM_READ and/or VDM_MEM_WRITE.
 * @param[out] hva host address of gpa.
 * @return 0, or VDM_EFAULT when any byte is unmapped, the range wraps,
 *         write access hits a read-only region, or the range straddles two
 *         regions whose host mappings are not adjacent.
 */
VDM_API int vdm_mem_lookup(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                           uint32_t access, void **hva);

/**
 * @brief Translate a range into spans, splitting where it crosses regions.
 *
 * Parts no region covers go to ops->translate; their spans carry
 * VDM_IOV_F_HOOK. On an error nothing stays mapped.
 * @param m      memory map.
 * @param gpa    guest address.
 * @param len    length in bytes.
 * @param access VDM_MEM_READ and/or VDM_MEM_WRITE.
 * @param iov   caller array receiving the spans (flags get VDM_IOV_F_WRITE
 *              when access includes VDM_MEM_WRITE).
 * @param cap   capacity of @p iov.
 * @return the number of spans (>= 1 for len > 0, 0 for len == 0),
 *         VDM_EFAULT if any byte is unmapped or the range wraps,
 *         VDM_ENOSPC if more than @p cap spans are needed. A span never
 *         exceeds UINT32_MAX bytes.
 */
VDM_API int vdm_mem_map(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                        uint32_t access, struct vdm_iov *iov, uint32_t cap);

/** @brief Give back spans that carry VDM_IOV_F_HOOK through ops->unmap. */
VDM_API void vdm_mem_release(const struct vdm_mem *m, struct vdm_iov *iov,
                             uint32_t n);

/** @brief Copy @p n bytes from guest memory; 0 or VDM_EFAULT (nothing copied).
 */
VDM_API int vdm_mem_read(const struct vdm_mem *m, uint64_t gpa, void *dst,
                         uint64_t n);
/** @brief Copy @p n bytes into guest memory; 0 or VDM_EFAULT (nothing copied).
 *  The range is marked in the dirty log (vdm_mem::log) when one is set. */
VDM_API int vdm_mem_write(const struct vdm_mem *m, uint64_t gpa,
                          const void *src, uint64_t n);

/**
 * @brief Copy out of a span list, starting @p off bytes in.
 * @return bytes copied (less than @p n when the spans end first).
 */
VDM_API size_t vdm_iov_copy_from(const struct vdm_iov *iov, uint32_t n,
                                 size_t off, void *dst, size_t len);
/** @brief Copy into a span list, starting @p off bytes in; bytes copied. */
VDM_API size_t vdm_iov_copy_to(const struct vdm_iov *iov, uint32_t n,
                               size_t off, const void *src, size_t len);

/**
 * @brief Check a dirty log: size field, page_shift 12..30, base aligned to
 *        the page, a bitmap of bytes > 0 that does not wrap the address
 *        space, reserved 0.
 *
 * Built without dirty logging (vdm/config.h VDM_CONFIG_DIRTY_LOG 0), this,
 * vdm_dirty_mark(), vdm_mem_log_iov() and vdm_vq_set_log() return
 * VDM_ENOTSUP, and memory carrying a log is refused.
 * @return 0, VDM_EINVAL, or VDM_ESIZE (an older, too short struct).
 */
VDM_API int vdm_dirty_log_check(const struct vdm_dirty_log *log);

/**
 * @brief Mark the pages of [gpa, gpa + len) dirty in @p log.
 *
 * A range that wraps is marked up to the end of the address space. Bits
 * already set are only read (no atomic write).
 * @return 0; VDM_ERANGE when some of the pages lie outside the bitmap
 *         (those are not marked, the others are); VDM_EINVAL for a NULL log.
 *         len 0 marks nothing and returns 0.
 */
VDM_API int vdm_dirty_mark(const struct vdm_dirty_log *log, uint64_t gpa,
                           uint64_t len);

/**
 * @brief Mark the guest pages under a span list in the dirty log of @p m
 *        (m->log; nothing when it is NULL).
 *
 * Marks the bytes [off, off + len) of the spans taken in order (spans are
 * host addresses; each is mapped back to guest addresses through the region
 * table). The device kit calls it for every request it completes; a host
 * that writes guest memory through spans of its own calls it after the
 * write.
 * @return 0; VDM_EFAULT when part of a span lies in no region (e.g. a span
 *         the translate hook produced: the hook's owner logs those), the
 *         rest is still marked; VDM_ERANGE as vdm_dirty_mark().
 */
VDM_API int vdm_mem_log_iov(const struct vdm_mem *m, const struct vdm_iov *iov,
                            uint32_t n, size_t off, size_t len);

#ifdef __cplusplus
}
#endif
#endif
