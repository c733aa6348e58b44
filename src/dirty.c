/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty-page logging (include/vdm/mem.h, struct vdm_dirty_log): setting the
 * bits of the caller's log for the guest pages the device wrote. The
 * format is the vhost-user one ("Migration" / "Dirty pages logging": bit
 * page % 8 of byte page / 8, page = address / page size), with a base
 * address and page size of the caller's choice (vfio-user DMA logging
 * ranges). Left out with VDM_CONFIG_DIRTY_LOG 0 (vdm/config.h): every
 * function here then returns VDM_ENOTSUP.
 */
#include "atomic.h"
#include "mem_internal.h"

#include "vdm/mem.h"

#if VDM_CONFIG_DIRTY_LOG /* vdm/config.h */

int vdm_dirty_log_check(const struct vdm_dirty_log *log)
{
    uint64_t mask;

    if (log == NULL) {
        return VDM_EINVAL;
    }
    if ((size_t)log->size < ((size_t)offsetof(struct vdm_dirty_log, bitmap) +
                             sizeof(log->bitmap))) {
        return VDM_ESIZE;
    }
    if ((log->page_shift < 12u) || (log->page_shift > 30u)) {
        return VDM_EINVAL;
    }
    mask = ((uint64_t)1 << log->page_shift) - 1u;
    /* a bitmap no larger than half the address space cannot wrap it */
    if (((log->base & mask) != 0u) || (log->bitmap == NULL) ||
        (log->bytes == 0u) || (log->bytes > ((uint64_t)SIZE_MAX / 2u))) {
        return VDM_EINVAL;
    }
    if (((size_t)log->size >=
         ((size_t)offsetof(struct vdm_dirty_log, reserved) +
          sizeof(log->reserved))) &&
        (log->reserved != 0u)) {
        return VDM_EINVAL;
    }
    return 0;
}

/* Set bits [lo, hi] (inclusive page numbers relative to the bitmap start,
 * hi < bytes * 8) of @p log. Bytes whose bits are all set already are
 * only read. Byte indexes fit size_t: bytes <= SIZE_MAX / 2
 * (vdm_dirty_log_check()). */
static void set_bits(const struct vdm_dirty_log *log, uint64_t lo, uint64_t hi)
{
    size_t first = (size_t)(lo >> 3);
    size_t last = (size_t)(hi >> 3);
    size_t b;

    for (b = first; b <= last; b++) {
        uint32_t from = (b == first) ? ((uint32_t)lo & 7u) : 0u;
        uint32_t to = (b == last) ? ((uint32_t)hi & 7u) : 7u;
        uint8_t mask = (uint8_t)((0xffu >> (7u - to)) & (0xffu << from));
        volatile uint8_t *p = &log->bitmap[b];

        if ((vdm_load8(p) & mask) != mask) {
            vdm_atomic_or8(p, mask);
        }
    }
}

int vdm_dirty_mark(const struct vdm_dirty_log *log, uint64_t gpa, uint64_t len)
{
    uint64_t last;
    uint64_t lo;
    uint64_t hi;
    uint64_t npages;
    uint64_t from = gpa;
    uint32_t sh;
    int rc = 0;

    if (log == NULL) {
        return VDM_EINVAL;
    }
    if (len == 0u) {
        return 0;
    }
    sh = log->page_shift & 63u;
    /* last byte, clamped to the end of the address space */
    last = ((len - 1u) > (UINT64_MAX - gpa)) ? UINT64_MAX : (gpa + (len - 1u));
    if (last < log->base) {
        return VDM_ERANGE;
    }
    if (from < log->base) {
        from = log->base;
        rc = VDM_ERANGE;
    }
    lo = (from - log->base) >> sh;
    hi = (last - log->base) >> sh;
    npages = (log->bytes > (UINT64_MAX >> 3)) ? UINT64_MAX : (log->bytes << 3);
    if (lo >= npages) {
        return VDM_ERANGE;
    }
    if (hi >= npages) {
        hi = npages - 1u;
        rc = VDM_ERANGE;
    }
    set_bits(log, lo, hi);
    return rc;
}

int vdm_mem_log_iov(const struct vdm_mem *m, const struct vdm_iov *iov,
                    uint32_t n, size_t off, size_t len)
{
    const struct vdm_dirty_log *log;
    uint32_t i;
    size_t skip = off;
    size_t left = len;
    int rc = 0;

    if ((m == NULL) || ((iov == NULL) && (n != 0u))) {
        return VDM_EINVAL;
    }
    log = vdm_mem_log(m);
    if (log == NULL) {
        return 0;
    }
    for (i = 0; (i < n) && (left != 0u); i++) {
        size_t k = iov[i].len;

        if (skip >= k) {
            skip -= k;
        } else {
            int e;

            k -= skip;
            if (k > left) {
                k = left;
            }
            e = vdmi_mem_log_hva(m, log, (const uint8_t *)iov[i].base, skip, k);
            if ((e == VDM_EFAULT) || ((e < 0) && (rc == 0))) {
                rc = e;
            }
            skip = 0;
            left -= k;
        }
    }
    return rc;
}

#else /* !VDM_CONFIG_DIRTY_LOG: logging left out, every call refused */

int vdm_dirty_log_check(const struct vdm_dirty_log *log)
{
    (void)log;
    return VDM_ENOTSUP;
}

int vdm_dirty_mark(const struct vdm_dirty_log *log, uint64_t gpa, uint64_t len)
{
    (void)log;
    (void)gpa;
    (void)len;
    return VDM_ENOTSUP;
}

int vdm_mem_log_iov(const struct vdm_mem *m, const struct vdm_iov *iov,
                    uint32_t n, size_t off, size_t len)
{
    (void)m;
    (void)iov;
    (void)n;
    (void)off;
    (void)len;
    return VDM_ENOTSUP;
}
#endif
