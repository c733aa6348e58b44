/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory: bounds-checked, overflow-safe translation of guest-physical
 * ranges through the caller's region table, with an optional translate hook
 * for addresses no region covers (IOMMU, map-on-demand hypervisors).
 *
 * Arithmetic rules used throughout (all unsigned 64-bit):
 *  - a range [gpa, gpa + len) with len > 0 is valid only if its last byte
 *    gpa + (len - 1) does not wrap: len - 1 <= UINT64_MAX - gpa;
 *  - address a lies in region r iff a >= r.gpa and a - r.gpa < r.size,
 *    which never computes r.gpa + r.size (that may be 2^64);
 *  - the bytes of r from a on number r.size - (a - r.gpa) (no overflow).
 */
#include <stddef.h>
#include <stdint.h>

#include "abi_internal.h"
#include "mem_internal.h"
#include "vdm/mem.h"

#define SPAN_MAX ((uint64_t)UINT32_MAX)

/* The parts of a caller's struct vdm_mem this version knows, with fields
 * missing from an older (shorter) struct read as zero. Built without the
 * hooks (VDM_CONFIG_MEM_HOOKS 0), only the region table: every hook branch
 * below is left out with them, and a span is never VDM_IOV_F_HOOK. */
struct mem_view {
    const struct vdm_mem_region *r;
    uint32_t n;
#if VDM_CONFIG_MEM_HOOKS
    int (*translate)(void *host, uint64_t addr, uint64_t len, uint32_t access,
                     void **hva, uint64_t *maplen);
    void (*unmap)(void *host, void *hva, uint64_t len);
    void *host;
#endif
};

#if defined(__OPTIMIZE_SIZE__)
/* The one copy of vdm_mem_hit() in a size-optimised build (mem_internal.h). */
uint8_t *vdm_mem_hit(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                     uint32_t access, uint32_t hint)
{
    return vdm_mem_hit_body(m, gpa, len, access, hint);
}
#endif

static inline void mem_view(const struct vdm_mem *m, struct mem_view *v)
{
#if VDM_CONFIG_MEM_HOOKS
    const struct vdm_mem_ops *ops = NULL;
#endif

    v->r = NULL;
    v->n = 0;
    if (VDM_HAS(m, struct vdm_mem, regions) && m->regions != NULL) {
        v->r = m->regions;
        v->n = m->nregions;
    }
#if VDM_CONFIG_MEM_HOOKS
    v->translate = NULL;
    v->unmap = NULL;
    v->host = NULL;
    if (VDM_HAS(m, struct vdm_mem, ops)) {
        ops = m->ops;
    }
    if (VDM_HAS(m, struct vdm_mem, host)) {
        v->host = m->host;
    }
    if (ops != NULL) {
        if (VDM_HAS(ops, struct vdm_mem_ops, translate)) {
            v->translate = ops->translate;
        }
        if (VDM_HAS(ops, struct vdm_mem_ops, unmap)) {
            v->unmap = ops->unmap;
        }
    }
#endif
}

/* Give back a span the translate hook mapped (ops->unmap if set). */
static inline void mem_unmap(const struct mem_view *v, void *hva, uint64_t len)
{
#if VDM_CONFIG_MEM_HOOKS
    if (v->unmap != NULL) {
        v->unmap(v->host, hva, len);
    }
#else
    (void)v;
    (void)hva;
    (void)len;
#endif
}

/* Does region r hold address a? On success *off = a - r.gpa. */
static inline int region_has(const struct vdm_mem_region *r, uint64_t a,
                             uint64_t *off)
{
    uint64_t o = a - r->gpa;

    if (a < r->gpa || o >= r->size) /* size 0 (unused entry) never holds */
        return 0;
    *off = o;
    return 1;
}

/* The region holding address a: the hinted one if it does, else the first
 * in table order (*hint updated); NULL when none. On success *off =
 * a - r.gpa. */
static inline const struct vdm_mem_region *
mem_region(const struct mem_view *v, uint64_t a, uint32_t *hint, uint64_t *off)
{
    uint32_t i;

    if (*hint < v->n && region_has(&v->r[*hint], a, off))
        return &v->r[*hint];
    for (i = 0; i < v->n; i++) {
        if (region_has(&v->r[i], a, off)) {
            *hint = i;
            return &v->r[i];
        }
    }
    return NULL;
}

/* vdm_mem_hit_scan(), inline for vdm_mem_miss(). Reads only the table
 * (no mem_view(): the hooks play no part in a hit). */
static inline uint8_t *hit_scan(const struct vdm_mem *m, uint64_t gpa,
                                uint32_t len, uint32_t access, uint32_t *hint)
{
    const struct vdm_mem_region *r;
    uint64_t off;
    uint32_t i, n;
    uint8_t *p = NULL;

    if (VDM_HAS(m, struct vdm_mem, regions) && m->regions != NULL && len != 0) {
        r = m->regions;
        n = m->nregions;
        /* mem_region(): the hinted region first; when it holds gpa the
         * general path maps its part there and goes on in the next region */
        if (*hint < n && region_has(&r[*hint], gpa, &off))
            n = 0;
        for (i = 0; i < n; i++) {
            if (region_has(&r[i], gpa, &off))
                break;
        }
        if (i < n) {
            p = vdm_mem_hit(m, gpa, len, access, i);
            if (p != NULL) {
                *hint = i;
            }
        }
    }
    return p;
}

uint8_t *vdm_mem_hit_scan(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                          uint32_t access, uint32_t *hint)
{
    return hit_scan(m, gpa, len, access, hint);
}

uint8_t *vdm_mem_miss(const struct vdm_mem *m, uint64_t gpa, uint32_t len,
                      uint32_t access, uint32_t *hint, uint32_t *hint2,
                      struct vdm_mem_cache *k)
{
    const struct vdm_mem_region *r;
    struct vdm_mem_cache kk;
    uint64_t off;
    uint32_t i, n;
    uint8_t *p = NULL;

    if (k->size == 0) {
        /* k could not cache *hint: vdm_mem_hit()'s verdict for it */
        p = vdm_mem_hit(m, gpa, len, access, *hint);
        if (p != NULL) {
            return p; /* the hint stays, and so does *k */
        }
    } else if ((gpa - k->gpa) >= k->size) {
        /* the cached region does not hold gpa (a loaded cache gives
         * vdm_mem_hit()'s verdict for *hint: a miss): the second region,
         * loaded once per pop */
        if (k->size2 == 0u) {
            vdm_mem_cache_load(m, *hint2, &kk);
            k->gpa2 = kk.gpa;
            k->size2 = kk.size;
            k->hva2 = kk.hva;
        }
        off = gpa - k->gpa2;
        if ((off < k->size2) && ((uint64_t)len <= (k->size2 - off))) {
            return k->hva2 + (uintptr_t)off;
        }
    } else {
        /* the cached region holds gpa, not the whole range: the general
         * path maps its part there and goes on in the next region */
        return NULL;
    }
    /* hit_scan(), with the region it picks cached at once */
    if (!VDM_HAS(m, struct vdm_mem, regions) || m->regions == NULL || len == 0)
        return NULL;
    r = m->regions;
    n = m->nregions;
    if (*hint < n && region_has(&r[*hint], gpa, &off))
        return NULL;
    for (i = 0; i < n; i++) {
        if (region_has(&r[i], gpa, &off))
            break;
    }
    if (i == n) {
        return NULL;
    }
    vdm_mem_cache_set(&r[i], &kk);
    /* a loaded cache gives vdm_mem_hit()'s verdict for region i */
    if (kk.size != 0u) {
        p = vdm_mem_cache_hit(&kk, gpa, len);
    } else {
        p = vdm_mem_hit(m, gpa, len, access, i);
    }
    if (p != NULL) {
        /* i becomes the cached region, the old one the second */
        if (k->size != 0u) {
            *hint2 = *hint;
            k->gpa2 = k->gpa;
            k->size2 = k->size;
            k->hva2 = k->hva;
        }
        *hint = i;
        k->gpa = kk.gpa;
        k->size = kk.size;
        k->hva = kk.hva;
    }
    return p;
}

/*
 * Resolve the first piece of [gpa, gpa + len) (len > 0, not wrapping):
 * either the part inside the region holding gpa, or what the translate hook
 * maps from gpa on (at most up to the next region, at most SPAN_MAX bytes).
 */
static int mem_piece(const struct mem_view *v, uint64_t gpa, uint64_t len,
                     uint32_t access, uint32_t *hint, uint8_t **hva,
                     uint64_t *plen, int *hooked)
{
    uint64_t off = 0;
    const struct vdm_mem_region *r = mem_region(v, gpa, hint, &off);
    uint32_t i;

    if (r != NULL) {
        uint64_t rem = r->size - off;

        if ((access & VDM_MEM_WRITE) && (r->flags & VDM_MEM_REGION_RDONLY)) {
            return VDM_EFAULT;
        }
        if (off > (uint64_t)UINTPTR_MAX || r->hva == NULL)
            return VDM_EFAULT;
        *hva = (uint8_t *)r->hva + (uintptr_t)off;
        *plen = len < rem ? len : rem;
        *hooked = 0;
        return 0;
    }

    /* No region: ask the hook, for the part before the next region only. */
#if VDM_CONFIG_MEM_HOOKS
    if (v->translate == NULL) {
        return VDM_EFAULT;
    }
    {
        uint64_t req = len;
        void *p = NULL;
        uint64_t ml = 0;
        int rc;

        for (i = 0; i < v->n; i++) {
            const struct vdm_mem_region *n = &v->r[i];

            if (n->size != 0 && n->gpa > gpa && n->gpa - gpa < req)
                req = n->gpa - gpa;
        }
        if (req > SPAN_MAX) {
            req = SPAN_MAX;
        }
        rc = v->translate(v->host, gpa, req, access, &p, &ml);
        if (rc < 0) {
            return VDM_EFAULT;
        }
        if (p == NULL || ml == 0 || ml > req) {
            if ((p != NULL) && (ml != 0u)) {
                mem_unmap(v, p, ml);
            }
            return VDM_EFAULT;
        }
        *hva = (uint8_t *)p;
        *plen = ml;
        *hooked = 1;
        return 0;
    }
#else
    (void)i;
    (void)hooked;
    return VDM_EFAULT;
#endif
}

static inline int range_wraps(uint64_t gpa, uint64_t len)
{
    return len != 0 && len - 1 > UINT64_MAX - gpa;
}

static void release_spans(const struct mem_view *v, struct vdm_iov *iov,
                          uint32_t n)
{
#if VDM_CONFIG_MEM_HOOKS
    uint32_t i;

    if (v->unmap == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        if (iov[i].flags & VDM_IOV_F_HOOK)
            v->unmap(v->host, iov[i].base, iov[i].len);
    }
#else
    (void)v;
    (void)iov;
    (void)n;
#endif
}

/* Did mem_piece() map its piece through the translate hook? */
static inline int piece_hooked(int hk)
{
#if VDM_CONFIG_MEM_HOOKS
    return hk;
#else
    (void)hk;
    return 0;
#endif
}

#if !VDM_CONFIG_MEM_HOOKS
int vdmi_mem_hooks_given(const struct vdm_mem *m)
{
    const struct vdm_mem_ops *ops =
        VDM_HAS(m, struct vdm_mem, ops) ? m->ops : NULL;

    return VDM_HAS_HOOK(ops, struct vdm_mem_ops, translate) ? 1 : 0;
}
#endif

int vdm_mem_check(const struct vdm_mem *m)
{
    struct mem_view v;
    uint32_t i, j;

    if (m == NULL || !VDM_HAS(m, struct vdm_mem, regions))
        return VDM_EINVAL;
    if (m->nregions != 0 && m->regions == NULL)
        return VDM_EINVAL;
#if !VDM_CONFIG_MEM_HOOKS
    if (vdmi_mem_hooks_given(m) != 0) {
        return VDM_ENOTSUP; /* a translate hook, left out of this build */
    }
#endif
#if !VDM_CONFIG_DIRTY_LOG
    if (vdmi_mem_log_given(m) != NULL) {
        return VDM_ENOTSUP; /* a dirty log, left out of this build */
    }
#endif
    mem_view(m, &v);
    for (i = 0; i < v.n; i++) {
        const struct vdm_mem_region *r = &v.r[i];

        if (r->size == 0)
            continue; /* unused entry */
        if (r->reserved != 0 || (r->flags & ~VDM_MEM_REGION_RDONLY) != 0)
            return VDM_EINVAL;
        if (r->hva == NULL || range_wraps(r->gpa, r->size))
            return VDM_EINVAL;
        if (r->size - 1 > (uint64_t)UINTPTR_MAX ||
            (uintptr_t)(r->size - 1) > UINTPTR_MAX - (uintptr_t)r->hva)
            return VDM_EINVAL;
        for (j = 0; j < i; j++) {
            const struct vdm_mem_region *o = &v.r[j];

            if (o->size == 0)
                continue;
            /* last bytes computed without wrapping (checked above for o
             * when j was i) */
            if (r->gpa <= o->gpa + (o->size - 1) &&
                o->gpa <= r->gpa + (r->size - 1))
                return VDM_EINVAL;
        }
    }
    return 0;
}

int vdm_mem_lookup_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                      uint32_t access, void **hva, int *hooked)
{
    struct mem_view v;
    uint32_t hint = VDM_MEM_NO_HINT;
    uint8_t *p, *first;
    uint64_t pl;
    int hk, rc;

    *hooked = 0;
    mem_view(m, &v);
    if (len == 0) {
        /* Only the address itself must be mapped (by a region). */
        uint64_t off;
        uint32_t i;

        for (i = 0; i < v.n; i++) {
            const struct vdm_mem_region *r = &v.r[i];

            if (!region_has(r, gpa, &off)) {
                continue;
            }
            if ((access & VDM_MEM_WRITE) &&
                (r->flags & VDM_MEM_REGION_RDONLY)) {
                return VDM_EFAULT;
            }
            if (off > (uint64_t)UINTPTR_MAX || r->hva == NULL)
                return VDM_EFAULT;
            *hva = (uint8_t *)r->hva + (uintptr_t)off;
            return 0;
        }
        return VDM_EFAULT;
    }
    if (range_wraps(gpa, len))
        return VDM_EFAULT;

    rc = mem_piece(&v, gpa, len, access, &hint, &p, &pl, &hk);
    if (rc != 0) {
        return rc;
    }
    if (piece_hooked(hk) != 0) {
        /* A hooked range must come whole from one translate call. */
        if (pl < len) {
            mem_unmap(&v, p, pl);
            return VDM_EFAULT;
        }
        *hva = p;
        *hooked = 1;
        return 0;
    }
    first = p;
    while (pl < len) {
        uintptr_t expect = (uintptr_t)p + (uintptr_t)pl;
        uint64_t done = pl;

        gpa += pl;
        len -= done;
        rc = mem_piece(&v, gpa, len, access, &hint, &p, &pl, &hk);
        if (rc != 0) {
            return rc;
        }
        if (piece_hooked(hk) != 0) {
            mem_unmap(&v, p, pl);
            return VDM_EFAULT;
        }
        if ((uintptr_t)p != expect)
            return VDM_EFAULT; /* straddles non-adjacent host mappings */
    }
    *hva = first;
    return 0;
}

int vdm_mem_lookup(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                   uint32_t access, void **hva)
{
    int hooked;

    if (m == NULL || hva == NULL)
        return VDM_EINVAL;
    return vdm_mem_lookup_ex(m, gpa, len, access, hva, &hooked);
}

void vdm_mem_unmap_hva(const struct vdm_mem *m, void *hva, uint64_t len)
{
    struct mem_view v;

    mem_view(m, &v);
    if (hva != NULL) {
        mem_unmap(&v, hva, len);
    }
}

int vdm_mem_map_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                   uint32_t access, struct vdm_iov *iov, uint32_t cap,
                   uint32_t *hint, uint32_t *filled)
{
    struct mem_view v;
    uint32_t wflag = (access & VDM_MEM_WRITE) ? VDM_IOV_F_WRITE : 0;
    uint32_t n = 0;

    *filled = 0;
    if (len == 0)
        return 0;
#if VDM_CONFIG_FAST_WALK
    /* The common case: all of it in the hinted region, one span (the loop
     * below makes the same span, in more steps). */
    if (VDM_LIKELY(len <= SPAN_MAX && cap != 0)) {
        uint8_t *p = vdm_mem_hit(m, gpa, (uint32_t)len, access, *hint);

        if (VDM_LIKELY(p != NULL)) {
            iov[0].base = p;
            iov[0].len = (uint32_t)len;
            iov[0].flags = wflag;
            *filled = 1;
            return 1;
        }
    }
#endif
    if (range_wraps(gpa, len))
        return VDM_EFAULT;
    mem_view(m, &v);
    while (len != 0) {
        uint8_t *p;
        uint64_t pl;
        int hk;
        int rc = mem_piece(&v, gpa, len, access, hint, &p, &pl, &hk);

        if (rc != 0) {
            release_spans(&v, iov, n);
            return rc;
        }
        gpa += pl;
        len -= pl;
        if (piece_hooked(hk) != 0) {
            if (n == cap) {
                mem_unmap(&v, p, pl);
                *filled = n;
                return VDM_ENOSPC;
            }
            iov[n].base = p;
            iov[n].len = (uint32_t)pl; /* <= SPAN_MAX by mem_piece */
            iov[n].flags = wflag | VDM_IOV_F_HOOK;
            n++;
            continue;
        }
        while (pl != 0) {
            uint64_t s = pl < SPAN_MAX ? pl : SPAN_MAX;

            if (n == cap) {
                *filled = n;
                return VDM_ENOSPC;
            }
            iov[n].base = p;
            iov[n].len = (uint32_t)s;
            iov[n].flags = wflag;
            n++;
            p += (size_t)s;
            pl -= s;
        }
    }
    *filled = n;
    return (int)n;
}

int vdm_mem_map(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                uint32_t access, struct vdm_iov *iov, uint32_t cap)
{
    /* region 0 first: the same order as the full scan */
    uint32_t hint = 0, filled = 0;
    int rc;

    if (m == NULL || (iov == NULL && cap != 0))
        return VDM_EINVAL;
    if (cap > (uint32_t)INT32_MAX) {
        cap = (uint32_t)INT32_MAX; /* counts are returned as int */
    }
    rc = vdm_mem_map_ex(m, gpa, len, access, iov, cap, &hint, &filled);
    if (rc == VDM_ENOSPC) {
        struct mem_view v;

        mem_view(m, &v);
        release_spans(&v, iov, filled);
    }
    return rc;
}

int vdm_mem_probe(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                  uint32_t access, uint32_t *hint)
{
    struct mem_view v;

    if (len == 0)
        return 0;
    if (range_wraps(gpa, len))
        return VDM_EFAULT;
    mem_view(m, &v);
    while (len != 0) {
        uint8_t *p;
        uint64_t pl;
        int hk;
        int rc = mem_piece(&v, gpa, len, access, hint, &p, &pl, &hk);

        if (rc != 0) {
            return rc;
        }
        if (piece_hooked(hk) != 0) {
            mem_unmap(&v, p, pl);
        }
        gpa += pl;
        len -= pl;
    }
    return 0;
}

void vdm_mem_release(const struct vdm_mem *m, struct vdm_iov *iov, uint32_t n)
{
    struct mem_view v;

    if (m == NULL || iov == NULL)
        return;
    mem_view(m, &v);
    release_spans(&v, iov, n);
}

/* Copy between guest [gpa, gpa+n) and host buf; dir 0 reads, 1 writes.
 * The whole range is checked first so nothing is copied on a fault. */
static int mem_copy(const struct vdm_mem *m, uint64_t gpa, uint8_t *buf,
                    uint64_t n, int write)
{
    uint32_t access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
    uint32_t hint = VDM_MEM_NO_HINT;
    struct mem_view v;
    int rc;

    if (n == 0)
        return 0;
    if (n > (uint64_t)SIZE_MAX) {
        return VDM_EFAULT;
    }
    mem_view(m, &v);
#if VDM_CONFIG_FAST_WALK
    if (VDM_LIKELY(!range_wraps(gpa, n))) {
        /* The common case: all of it in one region, copied at once (the
         * loop below reaches the same verdict, in more steps). */
        uint64_t off = 0;
        const struct vdm_mem_region *r = mem_region(&v, gpa, &hint, &off);

        if (r != NULL && n <= r->size - off && r->hva != NULL &&
            off <= (uint64_t)UINTPTR_MAX &&
            !(write && (r->flags & VDM_MEM_REGION_RDONLY))) {
            uint8_t *p = (uint8_t *)r->hva + (uintptr_t)off;

            if (write)
                __builtin_memcpy(p, buf, (size_t)n);
            else {
                __builtin_memcpy(buf, p, (size_t)n);
            }
            return 0;
        }
    }
#endif
    rc = vdm_mem_probe(m, gpa, n, access, &hint);
    if (rc != 0) {
        return rc;
    }
    while (n != 0) {
        uint8_t *p;
        uint64_t pl;
        int hk;

        rc = mem_piece(&v, gpa, n, access, &hint, &p, &pl, &hk);
        if (rc != 0) {
            return rc; /* only if a hook changed its mind since the probe */
        }
        if (write)
            __builtin_memcpy(p, buf, (size_t)pl);
        else {
            __builtin_memcpy(buf, p, (size_t)pl);
        }
        if (piece_hooked(hk) != 0) {
            mem_unmap(&v, p, pl);
        }
        buf += (size_t)pl;
        gpa += pl;
        n -= pl;
    }
    return 0;
}

int vdm_mem_read(const struct vdm_mem *m, uint64_t gpa, void *dst, uint64_t n)
{
    if (m == NULL || (dst == NULL && n != 0))
        return VDM_EINVAL;
    return mem_copy(m, gpa, (uint8_t *)dst, n, 0);
}

int vdm_mem_write(const struct vdm_mem *m, uint64_t gpa, const void *src,
                  uint64_t n)
{
    const struct vdm_dirty_log *log;
    int rc;

    if (m == NULL || (src == NULL && n != 0))
        return VDM_EINVAL;
    /* mem_copy only reads from buf when writing to the guest */
    rc = mem_copy(m, gpa, (uint8_t *)(uintptr_t)src, n, 1);
    log = vdm_mem_log(m);
    if ((rc == 0) && (log != NULL)) {
        (void)vdm_dirty_mark(log, gpa, n); /* pages outside: not ours */
    }
    return rc;
}

/* Copy between the iov list (from byte `off` on) and buf, toward the iov
 * when to_iov; the number of bytes copied. */
static size_t iov_copy(const struct vdm_iov *iov, uint32_t n, size_t off,
                       uint8_t *buf, size_t len, int to_iov)
{
    size_t done = 0;
    uint32_t i = 0;

    if (iov == NULL || (buf == NULL && len != 0))
        return 0;
    while (i < n && off >= iov[i].len) {
        off -= iov[i].len;
        i++;
    }
    while (i < n && done < len) {
        size_t k = (size_t)iov[i].len - off;

        if (k > len - done)
            k = len - done;
        if (k != 0) {
            uint8_t *p = (uint8_t *)iov[i].base + off;

            if (to_iov)
                __builtin_memcpy(p, buf + done, k);
            else {
                __builtin_memcpy(buf + done, p, k);
            }
        }
        done += k;
        off = 0;
        i++;
    }
    return done;
}

size_t vdm_iov_copy_from(const struct vdm_iov *iov, uint32_t n, size_t off,
                         void *dst, size_t len)
{
    return iov_copy(iov, n, off, (uint8_t *)dst, len, 0);
}

size_t vdm_iov_copy_to(const struct vdm_iov *iov, uint32_t n, size_t off,
                       const void *src, size_t len)
{
    /* iov_copy only reads from buf when copying toward the iov */
    return iov_copy(iov, n, off, (uint8_t *)(uintptr_t)src, len, 1);
}

#if VDM_CONFIG_DIRTY_LOG /* vdm/config.h: only src/dirty.c calls it */
int vdmi_mem_log_hva(const struct vdm_mem *m, const struct vdm_dirty_log *log,
                     const uint8_t *base, size_t skip, size_t len)
{
    uintptr_t p = (uintptr_t)base + skip;
    uint64_t left = len;
    int rc = 0;

    while (left != 0u) {
        uint32_t i;
        uint64_t done = 0;

        for (i = 0; (i < m->nregions) && (m->regions != NULL) && (done == 0u);
             i++) {
            const struct vdm_mem_region *r = &m->regions[i];
            uintptr_t h = (uintptr_t)r->hva;

            if ((r->size != 0u) && (r->hva != NULL) && (p >= h) &&
                ((uint64_t)(p - h) < r->size)) {
                uint64_t o = (uint64_t)(p - h);
                uint64_t k = r->size - o;
                int e;

                if (k > left) {
                    k = left;
                }
                e = vdm_dirty_mark(log, r->gpa + o, k);
                if (e < 0) {
                    rc = e;
                }
                done = k;
            }
        }
        if (done == 0u) {
            return VDM_EFAULT;
        }
        p += (uintptr_t)done;
        left -= done;
    }
    return rc;
}
#endif
