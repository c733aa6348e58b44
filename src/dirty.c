/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty-page logging (include/vdm/mem.h, struct vdm_dirty_log): setting the
 * bits of the caller's log for the guest pages the device wrote. The
 * format is the vhost-user one ("Migration" / "Dirty pages logging": bit
 * page % 8 of byte page / 8, page = address / page size), with a base
 * address and page size of the caller's choice (vfio-user DMA logging
 * ranges).
 */
#include "atomic.h"
#include "mem_internal.h"

#include "vdm/mem.h"

int vdm_dirty_log_check(const struct vdm_dirty_log *log)
{
    uint64_t mask;

    if (log == NULL)
        return VDM_EINVAL;
    if (log->size < offsetof(struct vdm_dirty_log, reserved))
        return VDM_ESIZE;
    if (log->page_shift < 12u || log->page_shift > 30u)
        return VDM_EINVAL;
    mask = ((uint64_t)1 << log->page_shift) - 1u;
    if ((log->base & mask) != 0u || log->bitmap == NULL || log->bytes == 0u ||
        log->bytes - 1u > (uint64_t)(UINTPTR_MAX - (uintptr_t)log->bitmap))
        return VDM_EINVAL;
    if (log->size >= offsetof(struct vdm_dirty_log, reserved) +
                         sizeof(log->reserved) &&
        log->reserved != 0u)
        return VDM_EINVAL;
    return 0;
}

/* Set bits [lo, hi] (inclusive page numbers relative to the bitmap start,
 * hi < bytes * 8). Bytes whose bits are all set already are only read. */
static void set_bits(uint8_t *map, uint64_t lo, uint64_t hi)
{
    uint64_t b = lo >> 3, last = hi >> 3;

    for (; b <= last; b++) {
        unsigned from = b == (lo >> 3) ? (unsigned)(lo & 7u) : 0u;
        unsigned to = b == last ? (unsigned)(hi & 7u) : 7u;
        uint8_t mask = (uint8_t)((0xffu >> (7u - to)) & (0xffu << from));
        volatile uint8_t *p = &map[(uintptr_t)b];

        if ((vdm_load8(p) & mask) != mask)
            vdm_atomic_or8(p, mask);
    }
}

int vdm_dirty_mark(const struct vdm_dirty_log *log, uint64_t gpa, uint64_t len)
{
    uint64_t last, lo, hi, npages;
    uint32_t sh;
    int rc = 0;

    if (log == NULL)
        return VDM_EINVAL;
    if (len == 0u)
        return 0;
    sh = log->page_shift;
    /* last byte, clamped to the end of the address space */
    last = (len - 1u > UINT64_MAX - gpa) ? UINT64_MAX : gpa + (len - 1u);
    if (last < log->base)
        return VDM_ERANGE;
    if (gpa < log->base) {
        gpa = log->base;
        rc = VDM_ERANGE;
    }
    lo = (gpa - log->base) >> sh;
    hi = (last - log->base) >> sh;
    npages = log->bytes > (UINT64_MAX >> 3) ? UINT64_MAX : log->bytes << 3;
    if (lo >= npages)
        return VDM_ERANGE;
    if (hi >= npages) {
        hi = npages - 1u;
        rc = VDM_ERANGE;
    }
    set_bits(log->bitmap, lo, hi);
    return rc;
}

/* Mark [p, p + len) of host memory: through the region(s) of the table
 * holding it. 0, VDM_EFAULT (part in no region), VDM_ERANGE. */
static int mark_hva(const struct vdm_mem *m, const struct vdm_dirty_log *log,
                    uintptr_t p, uint64_t len)
{
    int rc = 0;

    while (len != 0u) {
        uint32_t i;
        uint64_t done = 0;

        for (i = 0; i < m->nregions && m->regions != NULL; i++) {
            const struct vdm_mem_region *r = &m->regions[i];
            uintptr_t h = (uintptr_t)r->hva;
            uint64_t off, k;
            int e;

            if (r->size == 0u || r->hva == NULL || p < h ||
                (uint64_t)(p - h) >= r->size)
                continue;
            off = (uint64_t)(p - h);
            k = r->size - off;
            if (k > len)
                k = len;
            e = vdm_dirty_mark(log, r->gpa + off, k);
            if (e < 0)
                rc = e;
            done = k;
            break;
        }
        if (done == 0u)
            return VDM_EFAULT;
        p += (uintptr_t)done;
        len -= done;
    }
    return rc;
}

int vdm_mem_log_iov(const struct vdm_mem *m, const struct vdm_iov *iov,
                    uint32_t n, size_t off, size_t len)
{
    const struct vdm_dirty_log *log;
    uint32_t i;
    int rc = 0;

    if (m == NULL || (iov == NULL && n != 0u))
        return VDM_EINVAL;
    log = vdm_mem_log(m);
    if (log == NULL)
        return 0;
    for (i = 0; i < n && len != 0u; i++) {
        size_t k = iov[i].len;
        int e;

        if (off >= k) {
            off -= k;
            continue;
        }
        k -= off;
        if (k > len)
            k = len;
        e = mark_hva(m, log, (uintptr_t)iov[i].base + off, k);
        if (e == VDM_EFAULT || (e < 0 && rc == 0))
            rc = e;
        off = 0;
        len -= k;
    }
    return rc;
}
