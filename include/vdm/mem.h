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

/** @brief The guest memory map: caller-owned, read by the library. */
struct vdm_mem {
    uint32_t size;                        /**< sizeof(struct vdm_mem). */
    uint32_t nregions;                    /**< Entries in @ref regions. */
    const struct vdm_mem_region *regions; /**< The caller's region table. */
    const struct vdm_mem_ops *ops;        /**< Optional hooks, may be NULL. */
    void *host;                           /**< Passed to the hooks. */
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
 */
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

#ifdef __cplusplus
}
#endif
#endif
