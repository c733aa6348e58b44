/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: VFIO_USER_DEVICE_FEATURE with DMA logging (protocol
 * "VFIO_USER_DEVICE_FEATURE", "Device Features",
 * "VFIO_DEVICE_FEATURE_DMA_LOGGING_START / _STOP",
 * "VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT"). While logging runs, the
 * memory map the device uses carries a dirty log (vdm_mem::log) kept in
 * the caller's buffer (vdm_vfio_user_config::dirty_bitmap): one bit per
 * page of the hull of the ranges the client asked for, set by every device
 * write into DMA memory (rings and the buffers of completed requests). A
 * REPORT reads and clears the bits of its range. Migration itself
 * (MIGRATION, MIG_DEVICE_STATE, MIG_DATA_*) is not supported. */
#include <stdbool.h>

#include "atomic.h"
#include "vfio_user_internal.h"

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* "VFIO_USER_DEVICE_FEATURE": flags */
#define FEAT_INDEX 0xffffu
#define FEAT_GET   0x10000u /* bit 16 */
#define FEAT_SET   0x20000u /* bit 17 */
#define FEAT_PROBE 0x40000u /* bit 18 */
/* "Device Features": indexes */
#define FEAT_LOG_START  6u
#define FEAT_LOG_STOP   7u
#define FEAT_LOG_REPORT 8u

#define HDR      8u  /* argsz, flags */
#define START_SZ 16u /* page_size, num_ranges, reserved */
#define RANGE_SZ 16u /* iova, length */
#define REP_SZ   24u /* iova, length, page_size */

#define PAGE_MIN_SHIFT 12u
#define PAGE_MAX_SHIFT 30u

static int is_pow2(uint64_t v)
{
    return ((v != 0u) && ((v & (v - 1u)) == 0u)) ? 1 : 0;
}

static uint32_t log2_of(uint64_t v)
{
    uint32_t n = 0;
    uint64_t x = v >> 1;

    while (x != 0u) {
        n++;
        x >>= 1;
    }
    return n;
}

void vdmi_vfu_log_stop(struct vfu_state *s)
{
    s->mem.log = NULL;
    s->dlog_on = 0u;
}

/* Echo the request payload as the reply ("Reply": the same as the request
 * for SET and PROBE). */
static int echo(struct vfu_msg *m)
{
    if (m->rcap < m->len) {
        return VDM_ENOSPC;
    }
    __builtin_memcpy(m->r, m->p, m->len);
    m->rlen = m->len;
    return 0;
}

/* Bytes of bitmap covering [base, hi] (inclusive) in pages of 2^sh. */
static uint64_t map_bytes(uint64_t base, uint64_t hi, uint32_t sh)
{
    uint64_t npages = ((hi - base) >> (sh & 63u)) + 1u;

    return (npages / 8u) + (((npages % 8u) != 0u) ? 1u : 0u);
}

static int log_start(struct vfu_state *s, struct vfu_msg *m)
{
    const uint8_t *d = m->p + HDR;
    uint32_t dlen = m->len - HDR;
    uint64_t ps;
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    uint64_t base;
    uint64_t bytes;
    uint32_t nr;
    uint32_t i;
    uint32_t sh;

    if (dlen < START_SZ) {
        return VDM_EINVAL;
    }
    ps = ld64(d);
    nr = ld32(d + 8);
    if ((ld32(d + 12) != 0u) || (nr > ((dlen - START_SZ) / RANGE_SZ)) ||
        (dlen != (START_SZ + (nr * RANGE_SZ)))) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_LOGGING_START: bad size");
        return VDM_EINVAL;
    }
    if (s->dlog_on != 0u) {
        return VDM_EBUSY; /* already logging */
    }
    /* "page_size hints": a power of two is taken within 4 KiB..1 GiB,
     * anything else means 4 KiB; the choice goes back in the reply */
    sh = (is_pow2(ps) != 0) ? log2_of(ps) : PAGE_MIN_SHIFT;
    if (sh < PAGE_MIN_SHIFT) {
        sh = PAGE_MIN_SHIFT;
    }
    if (sh > PAGE_MAX_SHIFT) {
        sh = PAGE_MAX_SHIFT;
    }
    for (i = 0; i < nr; i++) {
        uint64_t iova = ld64(d + START_SZ + (i * RANGE_SZ));
        uint64_t len = ld64(d + START_SZ + (i * RANGE_SZ) + 8u);

        if ((len == 0u) || ((len - 1u) > (UINT64_MAX - iova))) {
            vdmi_vfu_log(s, VDM_LOG_WARN,
                         "vfio-user: DMA_LOGGING_START: bad range");
            return VDM_EINVAL;
        }
        lo = (iova < lo) ? iova : lo;
        hi = ((iova + (len - 1u)) > hi) ? (iova + (len - 1u)) : hi;
    }
    if (nr == 0u) {
        /* "zero indicates that all writes should be logged": the DMA
         * space mapped now */
        for (i = 0; i < s->ndma; i++) {
            const struct vfu_dma *r = &s->dma[i];
            lo = (r->iova < lo) ? r->iova : lo;
            hi = ((r->iova + (r->size - 1u)) > hi) ? (r->iova + (r->size - 1u))
                                                   : hi;
        }
        if (s->ndma == 0u) {
            lo = 0u;
        }
    }
    base = lo & ~(((uint64_t)1 << sh) - 1u);
    bytes = map_bytes(base, hi, sh);
    /* coarser pages until the bitmap fits the caller's buffer */
    while ((bytes > s->dbytes) && (sh < PAGE_MAX_SHIFT)) {
        sh++;
        base = lo & ~(((uint64_t)1 << sh) - 1u);
        bytes = map_bytes(base, hi, sh);
    }
    if (bytes > s->dbytes) {
        vdmi_vfu_log(s, VDM_LOG_WARN,
                     "vfio-user: DMA_LOGGING_START: ranges too large");
        return VDM_ENOSPC;
    }
    if (m->rcap < m->len) {
        return VDM_ENOSPC;
    }
    s->dlog.size = sizeof(s->dlog);
    s->dlog.page_shift = sh;
    s->dlog.base = base;
    s->dlog.bytes = bytes;
    s->dlog.bitmap = s->dbuf;
    s->dlog.reserved = 0u;
    if (vdm_dirty_log_check(&s->dlog) < 0) {
        return VDM_EINVAL;
    }
    __builtin_memset(s->dbuf, 0, (size_t)bytes);
    s->dlog_on = 1u;
    s->mem.log = &s->dlog;
    (void)echo(m);
    st64(m->r + HDR, (uint64_t)1 << sh); /* the page size selected */
    return 0;
}

/* Read and clear internal page @p pg (relative to the log's base). */
static int take_bit(struct vfu_state *s, uint64_t pg, bool clear)
{
    volatile uint8_t *b = &s->dbuf[(size_t)(pg >> 3)];
    uint8_t bit = (uint8_t)(1u << (uint32_t)(pg & 7u));

    if ((vdm_load8(b) & bit) == 0u) {
        return 0;
    }
    if (clear) {
        return ((vdm_atomic_and8(b, (uint8_t)~bit) & bit) != 0u) ? 1 : 0;
    }
    return 1;
}

/* Set bits [j0, j1] of the reply's u64 array (host order: bit j of word
 * j / 64). */
static void set_bits(uint8_t *out, uint64_t j0, uint64_t j1)
{
    uint64_t j;

    for (j = j0; j <= j1; j++) {
        uint8_t *w = out + ((j / 64u) * 8u);
        st64(w, ld64(w) | ((uint64_t)1 << (uint32_t)(j % 64u)));
    }
}

static int log_report(struct vfu_state *s, struct vfu_msg *m)
{
    const uint8_t *d = m->p + HDR;
    uint64_t iova;
    uint64_t len;
    uint64_t ps;
    uint64_t nbits;
    uint64_t bbytes;
    uint64_t end;
    uint64_t npg;
    uint64_t p0;
    uint64_t p1;
    uint64_t p;
    uint64_t last;
    uint32_t sh = s->dlog.page_shift & 63u;
    uint32_t rlen;
    uint8_t *out;

    if ((m->len - HDR) != REP_SZ) {
        return VDM_EINVAL;
    }
    if (s->dlog_on == 0u) {
        /* "only valid if logging of dirty pages has been previously
         * started" */
        return VDM_ESTATE;
    }
    iova = ld64(d);
    len = ld64(d + 8);
    ps = ld64(d + 16);
    if ((is_pow2(ps) == 0) || (len == 0u) ||
        ((len - 1u) > (UINT64_MAX - iova))) {
        vdmi_vfu_log(s, VDM_LOG_WARN,
                     "vfio-user: DMA_LOGGING_REPORT: bad range");
        return VDM_EINVAL;
    }
    end = iova + (len - 1u); /* last byte */
    nbits = ((len - 1u) / ps) + 1u;
    /* an array of u64 (no overflow: nbits / 64 < 2^58) */
    bbytes = ((nbits / 64u) + (((nbits % 64u) != 0u) ? 1u : 0u)) * 8u;
    if ((m->rcap < (HDR + REP_SZ)) ||
        (bbytes > (uint64_t)(m->rcap - HDR - REP_SZ)) ||
        ((HDR + REP_SZ + bbytes) > (uint64_t)ld32(m->p))) {
        /* argsz or our buffer: too small for the bitmap */
        return VDM_ESIZE;
    }
    rlen = HDR + REP_SZ + (uint32_t)bbytes;
    __builtin_memcpy(m->r, m->p, HDR + REP_SZ);
    st32(m->r, rlen); /* argsz: the reply with its data */
    out = m->r + HDR + REP_SZ;
    __builtin_memset(out, 0, (size_t)bbytes);
    m->rlen = rlen;
    /* the logged pages the range meets */
    npg = s->dlog.bytes * 8u;
    if (npg > (UINT64_MAX >> sh)) {
        last = UINT64_MAX;
    } else {
        uint64_t span = npg << sh;
        last = ((span - 1u) > (UINT64_MAX - s->dlog.base))
                   ? UINT64_MAX
                   : (s->dlog.base + (span - 1u));
    }
    if ((end < s->dlog.base) || (iova > last)) {
        return 0; /* outside the log: nothing written while logging */
    }
    p0 = (iova < s->dlog.base) ? 0u : ((iova - s->dlog.base) >> sh);
    if (end > last) {
        p1 = npg - 1u;
    } else {
        p1 = (end - s->dlog.base) >> sh;
    }
    for (p = p0; p <= p1; p++) {
        uint64_t pa = s->dlog.base + (p << sh);
        uint64_t pb = pa + ((((uint64_t)1) << sh) - 1u);
        /* a page wholly inside the range is read and cleared; one that
         * reaches past it keeps its bit for the rest of it */
        bool whole = (pa >= iova) && (pb <= end);

        if (take_bit(s, p, whole) != 0) {
            uint64_t a = (pa > iova) ? pa : iova;
            uint64_t b = (pb < end) ? pb : end;
            /* every report unit the page meets ("replicating bits") */
            set_bits(out, (a - iova) / ps, (b - iova) / ps);
        }
    }
    return 0;
}

int vdmi_vfu_device_feature(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t flags;
    uint32_t op;
    uint32_t idx;
    bool set;

    if (m->len < HDR) {
        return VDM_EINVAL;
    }
    flags = ld32(m->p + 4);
    idx = flags & FEAT_INDEX;
    op = flags & ~FEAT_INDEX;
    if (((op & ~(FEAT_GET | FEAT_SET | FEAT_PROBE)) != 0u) ||
        ((op & (FEAT_GET | FEAT_SET | FEAT_PROBE)) == 0u) ||
        (((op & FEAT_PROBE) == 0u) && ((op & FEAT_GET) != 0u) &&
         ((op & FEAT_SET) != 0u))) {
        return VDM_EINVAL; /* GET and SET "mutually exclusive" */
    }
    /* what is supported: START/STOP by SET, REPORT by GET, and only with
     * a bitmap buffer from the host */
    set = (idx == FEAT_LOG_START) || (idx == FEAT_LOG_STOP);
    if ((s->dbuf == NULL) || ((!set) && (idx != FEAT_LOG_REPORT)) ||
        (set && ((op & FEAT_GET) != 0u)) ||
        ((!set) && ((op & FEAT_SET) != 0u))) {
        vdmi_vfu_log(s, VDM_LOG_INFO,
                     "vfio-user: device feature not supported");
        return VDM_ENOTSUP;
    }
    if ((op & FEAT_PROBE) != 0u) {
        return echo(m);
    }
    if (idx == FEAT_LOG_START) {
        return log_start(s, m);
    }
    if (idx == FEAT_LOG_STOP) {
        vdmi_vfu_log_stop(s);
        return echo(m);
    }
    return log_report(s, m);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouserlog_left_out;
#endif
