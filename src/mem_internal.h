/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: guest-memory helpers for the ring code (src/virtqueue*.c). Not
 * exported (the library is built with -fvisibility=hidden and these carry no
 * VDM_API). */
#ifndef VDM_MEM_INTERNAL_H
#define VDM_MEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vdm/config.h"
#include "vdm/mem.h"

/* "No region remembered" value for the region hint of the *_ex calls. */
#define VDM_MEM_NO_HINT UINT32_MAX

/* Branch hints; boolean (MISRA 14.4) like the condition they wrap. */
#define VDM_LIKELY(x)   (__builtin_expect(!!(x), 1) != 0)
#define VDM_UNLIKELY(x) (__builtin_expect(!!(x), 0) != 0)

/*
 * Fast path of the region lookup, for the common case: the whole range
 * [gpa, gpa + len), len > 0, lies in region @p hint (the one a previous
 * lookup hit). Returns its host address, or NULL when that is not so for
 * any reason -- hint out of range or stale, range not wholly inside, range
 * wrapping, write access to a read-only region, no host address -- and the
 * caller must take the general path (vdm_mem_map_ex() and friends), which
 * reaches the same verdict for the hits and reports the errors. The checks
 * are those of the general path for a range one region holds, without its
 * loop and hook logic; the table is read afresh on every call (the caller
 * may swap it between calls), only the index is remembered.
 *
 * Inline where the compiler optimises for speed; when it optimises for size
 * (-Os: __OPTIMIZE_SIZE__) the out-of-line copies it would make in every
 * file that calls it become one, in src/mem.c: vdm_mem_hit_body() is the
 * code, vdm_mem_hit() the name the callers use.
 */
static inline uint8_t *vdm_mem_hit_body(const struct vdm_mem *m, uint64_t gpa,
                                        uint32_t len, uint32_t access,
                                        uint32_t hint)
{
    const struct vdm_mem_region *r;
    uint64_t off;

    /* an older struct without the table, or an index it does not have */
    if (VDM_UNLIKELY(m->size < offsetof(struct vdm_mem, regions) +
                                   sizeof(m->regions) ||
                     hint >= m->nregions || m->regions == NULL))
        return NULL;
    r = &m->regions[hint];
    off = gpa - r->gpa;
    /* gpa inside (size 0 never holds), the last byte too, no wrap: since
     * len > 0, len - 1 <= UINT64_MAX - gpa and len <= size - off */
    if (VDM_UNLIKELY(gpa < r->gpa || off >= r->size ||
                     (uint64_t)len > r->size - off ||
                     (uint64_t)len - 1u > UINT64_MAX - gpa))
        return NULL;
    if (VDM_UNLIKELY(
            ((access & VDM_MEM_WRITE) && (r->flags & VDM_MEM_REGION_RDONLY)) ||
            r->hva == NULL || off > (uint64_t)UINTPTR_MAX))
        return NULL;
    return (uint8_t *)r->hva + (uintptr_t)off;
}

#if defined(__OPTIMIZE_SIZE__)
uint8_t *vdm_mem_hit(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                     uint32_t access, uint32_t hint);
#else
static inline uint8_t *vdm_mem_hit(const struct vdm_mem *m, uint64_t gpa,
                                   uint32_t len, uint32_t access, uint32_t hint)
{
    return vdm_mem_hit_body(m, gpa, len, access, hint);
}
#endif

/*
 * The hinted region of the table, read once for a run of lookups that no
 * caller code can interleave with (one pop): a range [gpa, gpa + len),
 * len > 0, wholly inside it is then checked with two comparisons. The copy
 * is made only for a region vdm_mem_hit() would accept every such range of
 * (a valid table entry with a host address, writable, not wrapping, its
 * offsets representable); otherwise size is 0 and nothing hits. A hit is
 * exactly a vdm_mem_hit() hit for the same hint and any access; a miss
 * goes to vdm_mem_hit()/vdm_mem_hit_scan() (vdm_mem_miss()). Never kept
 * across calls into the library: the caller may swap the table between
 * them.
 */
struct vdm_mem_cache {
    uint64_t gpa;
    uint64_t size; /* 0: nothing hits */
    uint8_t *hva;
    /* a second region, for chains spread over two (vdm_mem_miss()):
     * loaded by the first miss of a pop that needs it; size2 0: not loaded
     * (or nothing hits) */
    uint64_t gpa2;
    uint64_t size2;
    uint8_t *hva2;
};

/* vdm_mem_cache_load() of table entry *r (the table header checked). */
static inline void vdm_mem_cache_set(const struct vdm_mem_region *r,
                                     struct vdm_mem_cache *k)
{
    uint64_t gpa = r->gpa;
    uint64_t size = r->size;

    /* the last byte gpa + size - 1 does not wrap (so an address below gpa
     * is at an offset >= size), every offset fits a pointer; size 0 (an
     * unused entry) is cached as is: nothing hits */
    if (VDM_UNLIKELY(((size - 1u) > (UINT64_MAX - gpa)) ||
                     ((size - 1u) > (uint64_t)UINTPTR_MAX) ||
                     (r->hva == NULL) ||
                     ((r->flags & VDM_MEM_REGION_RDONLY) != 0u))) {
        k->gpa = 0;
        k->size = 0;
        k->hva = NULL;
    } else {
        k->gpa = gpa;
        k->size = size;
        k->hva = r->hva; /* void * to uint8_t *, implicitly */
    }
}

static inline void vdm_mem_cache_load(const struct vdm_mem *m, uint32_t hint,
                                      struct vdm_mem_cache *k)
{
    if (VDM_UNLIKELY(m->size < offsetof(struct vdm_mem, regions) +
                                   sizeof(m->regions) ||
                     hint >= m->nregions || m->regions == NULL)) {
        /* size 0: nothing hits */
        k->gpa = 0;
        k->size = 0;
        k->hva = NULL;
    } else {
        vdm_mem_cache_set(&m->regions[hint], k);
    }
    k->size2 = 0; /* the second region: loaded on a miss */
}

/* The host address of [gpa, gpa + len), len > 0, when the cached region
 * holds all of it, else NULL. */
static inline uint8_t *vdm_mem_cache_hit(const struct vdm_mem_cache *k,
                                         uint64_t gpa, uint32_t len)
{
    uint64_t off = gpa - k->gpa; /* gpa < k->gpa: off >= size */

    if (VDM_LIKELY((off < k->size) && ((uint64_t)len <= (k->size - off))))
        return k->hva + (uintptr_t)off;
    return NULL;
}

/* After a vdm_mem_cache_hit() miss: the host address of [gpa, gpa + len),
 * len > 0, when the cached region does not hold gpa and k's second region
 * (if loaded) holds all of the range, else NULL (vdm_mem_miss() decides).
 * The verdict vdm_mem_miss() would give. */
static inline uint8_t *vdm_mem_cache_hit2(const struct vdm_mem_cache *k,
                                          uint64_t gpa, uint32_t len)
{
    uint64_t off2 = gpa - k->gpa2;

    if (((gpa - k->gpa) >= k->size) && (off2 < k->size2) &&
        ((uint64_t)len <= (k->size2 - off2)))
        return k->hva2 + (uintptr_t)off2;
    return NULL;
}

/*
 * vdm_mem_hit() for when the hinted region does not hold @p gpa: the first
 * region in table order that holds gpa, as the general path picks it, if
 * the whole range lies in it (with vdm_mem_hit()'s checks); *hint is then
 * set to it. NULL in every other case (the hinted region holds gpa, which
 * the general path would split at its end; no region holds gpa; the range
 * leaves the region; access refused): the caller takes the general path,
 * which reaches the same verdict. Out of line: several regions in turn
 * (memory crossing a region boundary, chains spread over regions).
 */
uint8_t *vdm_mem_hit_scan(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                          uint32_t access, uint32_t *hint);

/*
 * A vdm_mem_cache_hit() miss: vdm_mem_hit() on *hint (when k could not
 * cache it); else, when that region does not hold gpa, the second region
 * of k (loaded from *hint2 the first time a pop needs it), then
 * vdm_mem_hit_scan(), whose region, on a hit, becomes the cached one
 * (*hint, *k) and the old one the second (*hint2). A hit on the second
 * region is the general path's verdict whenever no two regions overlap
 * (vdm_mem_check()); with overlapping regions it is still a range wholly
 * inside one of them. Out of line.
 */
uint8_t *vdm_mem_miss(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                      uint32_t access, uint32_t *hint, uint32_t *hint2,
                      struct vdm_mem_cache *k);

/*
 * vdm_mem_map() with a caller-kept region hint (the index of the region the
 * previous lookup hit, VDM_MEM_NO_HINT at first) and a different ENOSPC
 * contract: on VDM_ENOSPC the *filled spans stored in iov stay valid (hook
 * spans are NOT released) so the caller can keep a truncated span list.
 * On any other error nothing is left mapped and *filled is 0.
 * Returns the number of spans (== *filled), VDM_EFAULT or VDM_ENOSPC.
 */
int vdm_mem_map_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                   uint32_t access, struct vdm_iov *iov, uint32_t cap,
                   uint32_t *hint, uint32_t *filled);

/*
 * Check that [gpa, gpa+len) is entirely mapped for access without keeping
 * anything mapped (ranges reached through the translate hook are mapped and
 * given back at once). 0 or VDM_EFAULT. len 0 is always 0.
 */
int vdm_mem_probe(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                  uint32_t access, uint32_t *hint);

/*
 * vdm_mem_lookup() that also reports whether the mapping came from the
 * translate hook (*hooked = 1: give it back with vdm_mem_unmap_hva()).
 */
int vdm_mem_lookup_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                      uint32_t access, void **hva, int *hooked);

/* Give back a mapping the translate hook produced (ops->unmap if set). */
void vdm_mem_unmap_hva(const struct vdm_mem *m, void *hva, uint64_t len);

/* The log @p m carries (vdm_mem::log), NULL when none or when @p m is an
 * older struct without the field. */
static inline const struct vdm_dirty_log *
vdmi_mem_log_given(const struct vdm_mem *m)
{
    if ((size_t)m->size <
        ((size_t)offsetof(struct vdm_mem, log) + sizeof(m->log))) {
        return NULL;
    }
    return m->log;
}

/* The dirty log of @p m the library marks: NULL when off, when @p m is an
 * older struct without the field, or when logging is left out of the build
 * (vdm/config.h VDM_CONFIG_DIRTY_LOG 0: vdm_dev_init() and vdm_mem_check()
 * refuse memory with a log, so every marking path is dead code). */
static inline const struct vdm_dirty_log *vdm_mem_log(const struct vdm_mem *m)
{
#if VDM_CONFIG_DIRTY_LOG
    return vdmi_mem_log_given(m);
#else
    (void)m;
    return NULL;
#endif
}

/* Mark [base + skip, base + skip + len) of host memory in @p log, through
 * the region(s) of @p m holding it (vdm_mem_log_iov()). 0, VDM_EFAULT (a
 * part in no region; the rest is marked) or VDM_ERANGE (pages outside the
 * log). */
int vdmi_mem_log_hva(const struct vdm_mem *m, const struct vdm_dirty_log *log,
                     const uint8_t *base, size_t skip, size_t len);

#if !VDM_CONFIG_MEM_HOOKS
/* Built without the hooks (vdm/config.h VDM_CONFIG_MEM_HOOKS): 1 when @p m
 * has a translate hook this build would ignore (vdm_dev_init() and
 * vdm_mem_check() refuse it with VDM_ENOTSUP), else 0. */
int vdmi_mem_hooks_given(const struct vdm_mem *m);
#endif

#endif
