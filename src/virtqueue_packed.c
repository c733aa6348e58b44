/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue, device side (spec "Packed Virtqueues").
 *
 * Descriptor ring {le64 addr; le32 len; le16 id; le16 flags}[num]; driver
 * and device event suppression {le16 off_wrap; le16 flags}. Ring positions
 * are kept as (index < num, wrap counter); for notification windows a
 * position is linearised to 0 .. 2*num-1 (wrap 1: idx, wrap 0: idx + num),
 * which makes consecutive positions consecutive modulo 2*num.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "le.h"
#include "virtqueue_internal.h"
#include "vq_inflight_layout.h"

#if VDM_CONFIG_PACKED /* vdm/config.h: the whole file */

#define PD_ADDR     0u
#define PD_LEN      8u
#define PD_ID       12u
#define PD_FLAGS    14u
#define EV_OFF_WRAP 0u
#define EV_FLAGS    2u

/* "Driver and Device Ring Wrap Counters": available for the device when
 * AVAIL matches our wrap counter and USED does not. */
static inline bool desc_avail(uint16_t fl, uint8_t wrap)
{
    /* wrap 1: AVAIL set, USED clear; wrap 0: AVAIL clear, USED set */
    return (fl & (VQ_DESC_F_AVAIL | VQ_DESC_F_USED)) ==
           (wrap ? VQ_DESC_F_AVAIL : VQ_DESC_F_USED);
}

static inline uint8_t *pdesc(const struct vq *q, uint32_t pos)
{
    return q->desc + (size_t)pos * 16u;
}

/*
 * The entries of an indirect table of @p tlen entries (mapped at tbl, or
 * read through guest memory at addr), in order, from entry @p i to the
 * end; entry i already fetched into *first when that is not NULL. 0, or -1
 * with w->err and w->why set.
 */
static int packed_ind_walk(struct vq *q, struct vq_walk *w, const uint8_t *tbl,
                           uint64_t addr, uint32_t tlen, uint32_t i,
                           const struct vq_desc *first)
{
    const struct vq_desc *d0 = first;
    uint32_t j;
    int rc = 0;

    for (j = i; j < tlen; j++) {
        uint8_t e[16];
        struct vq_desc d;

        /* Fetch the entry once into d; only d is used afterwards. */
        if (d0 != NULL) {
            d = *d0;
            d0 = NULL;
        } else if (VDM_LIKELY(tbl != NULL)) {
            vq_desc_fetch(&d, &tbl[(size_t)j * 16u]);
        } else if (vq_read_indirect(q, tbl, addr, j, e) == 0) {
            vq_desc_fetch(&d, e);
        } else {
            rc = vq_walk_fail(w, VDM_EFAULT,
                              "indirect table outside guest memory");
            break;
        }
        /* Only WRITE is valid in the table; NEXT and the id are reserved
         * and ignored, a nested table is refused. */
        if (d.w14 & VQ_DESC_F_INDIRECT) {
            rc = vq_walk_fail(w, VDM_EPROTO,
                              "INDIRECT descriptor inside an indirect table");
            break;
        }
        rc = vq_walk_add(q, w, d.addr, d.len, (d.w14 & VQ_DESC_F_WRITE) != 0);
        if (rc != 0) {
            break;
        }
    }
    return rc;
}

/*
 * Walk the indirect table of a packed descriptor (the only one of its
 * list): "Indirect Descriptors" driver requirements, then its entries in
 * order. 0, or -1 with w->err and w->why set; the table is given back
 * either way (the walk's spans are not).
 */
static VQ_NOINLINE int packed_indirect(struct vq *q, struct vq_walk *w,
                                       uint64_t addr, uint32_t len, uint16_t fl,
                                       uint32_t ring_n)
{
    const uint8_t *tbl = NULL;
    int thooked = 0, rc;

    if (!(q->flags & VQ_F_INDIRECT)) {
        return vq_walk_fail(w, VDM_EPROTO,
                            "INDIRECT descriptor without "
                            "VIRTIO_F_INDIRECT_DESC");
    }
    /* "A driver MUST NOT write direct descriptors with
     * VIRTQ_DESC_F_INDIRECT set in a scatter-gather list linked by
     * VIRTQ_DESC_F_NEXT." */
    if (ring_n != 1 || (fl & VQ_DESC_F_NEXT))
        return vq_walk_fail(w, VDM_EPROTO,
                            "INDIRECT descriptor in a NEXT-linked list");
    if (len == 0 || (len & 15u) != 0 || len > VQ_INDIRECT_MAX * 16u)
        return vq_walk_fail(w, VDM_EPROTO,
                            "indirect table length 0, not a multiple of 16 "
                            "or over 32768 descriptors");
    if (vq_map_indirect(q, addr, len, &tbl, &thooked) != 0) {
        return vq_walk_fail(w, VDM_EFAULT,
                            "indirect table outside guest memory");
    }
    rc = packed_ind_walk(q, w, tbl, addr, len >> 4, 0, NULL);
    vq_unmap_indirect(q, tbl, len, thooked);
    return rc;
}

/*
 * The end of a pop, once the list is walked (ring_n descriptors, next one
 * at pos/wrap, buffer id @p id): the ring-wide checks, then the queue state
 * and the chain. On a violation the spans (iov, nspan) are given back.
 */
VQ_INLINE int packed_pop_end(struct vq *q, struct vdm_chain *c,
                             struct vdm_iov *iov, uint32_t nspan,
                             uint32_t nread, uint32_t read_len,
                             uint32_t write_len, bool truncated, uint16_t id,
                             uint32_t ring_n, uint32_t pos, uint8_t wrap)
{
    uint32_t num = q->num;
    const char *why;

    if (VDM_UNLIKELY(q->inflight_desc + ring_n > num)) {
        why = "more descriptors available than the ring has free";
        goto bad;
    }
    if (VDM_UNLIKELY(id >= num)) {
        why = "buffer id >= queue size";
        goto bad;
    }
    if (VDM_UNLIKELY(q->slots[VQ_SLOT_META(id)] & VQ_META_INFLIGHT)) {
        why = "buffer id made available again while in flight";
        goto bad;
    }
    q->last_avail = (uint16_t)pos;
    q->avail_wrap = wrap;
    q->inflight_desc += ring_n;
    return vq_pop_finish(q, c, id, (uint16_t)ring_n, nspan, nread, read_len,
                         write_len, truncated);

bad:
    /* clean up first: the fault hook (called last) may reset the queue */
    vq_walk_abort(q, iov, nspan);
    return vq_violation(q, VDM_EPROTO, why);
}

/*
 * The general walk of a list, every case and every violation: from its
 * ring descriptor number @p ring_n, already fetched into @p d (pos/wrap
 * already past it), to the end, and the rest of the pop. vq_packed_pop()
 * hands over here, with what it gathered so far in @p w, at the first
 * descriptor its fast loop does not take.
 */
static VQ_COLD int packed_pop_slow(struct vq *q, struct vdm_chain *c,
                                   struct vq_walk *w, uint32_t ring_n,
                                   uint32_t pos, uint8_t wrap, struct vq_desc d)
{
    uint32_t num = q->num;
    uint16_t id;

    for (;;) {
        bool write = (d.w14 & VQ_DESC_F_WRITE) != 0;

        if (d.w14 & VQ_DESC_F_INDIRECT) {
            if (packed_indirect(q, w, d.addr, d.len, d.w14, ring_n) != 0) {
                goto bad;
            }
            id = d.w12;
            break;
        }
        if (vq_walk_add(q, w, d.addr, d.len, write) != 0) {
            goto bad;
        }
        if (!(d.w14 & VQ_DESC_F_NEXT)) {
            id = d.w12; /* "Buffer ID is included in the last descriptor" */
            break;
        }
        if (++ring_n > num) {
            (void)vq_walk_fail(w, VDM_EPROTO,
                               "descriptor list longer than the queue size");
            goto bad;
        }
        /* One fetch per descriptor into d; only d is used afterwards. */
        vq_desc_fetch(&d, q->desc + (size_t)pos * 16u);
        if (!desc_avail(d.w14, wrap)) {
            (void)vq_walk_fail(
                w, VDM_EPROTO,
                "descriptor list runs into a descriptor not made "
                "available");
            goto bad;
        }
        if (++pos == num) {
            pos = 0;
            wrap ^= 1u;
        }
    }
    return packed_pop_end(q, c, w->iov, w->nspan, w->nread, w->read_len,
                          w->write_len, w->truncated, id, ring_n, pos, wrap);

bad:
    /* clean up first: the fault hook (called last) may reset the queue */
    vq_walk_abort(q, w->iov, w->nspan);
    return vq_violation(q, w->err, w->why);
}

#if VDM_CONFIG_FAST_WALK
/* packed_pop_slow() for the fast loop of vq_packed_pop(): the n - 1
 * descriptors before d made as many spans and data descriptors. Out of
 * line, with the walk state, to keep it off the hot path. */
static VQ_COLD int packed_slow(struct vq *q, struct vdm_chain *c, uint32_t n,
                               uint32_t pos, uint8_t wrap, uint32_t nread,
                               uint32_t rlen, uint32_t total, struct vq_desc d)
{
    struct vq_walk w;

    vq_walk_resume(&w, c, n - 1u, nread, n - 1u, rlen, total - rlen,
                   nread != (n - 1u));
    return packed_pop_slow(q, c, &w, n, pos, wrap, d);
}

/* The rest of an indirect table the fast path mapped (never through the
 * hook) from entry @p i, already fetched into d, by packed_ind_walk(); the
 * entries before it made i spans. Then the end of the pop. */
static VQ_COLD int packed_slow_ind(struct vq *q, struct vdm_chain *c,
                                   const uint8_t *tbl, uint32_t tlen,
                                   uint32_t i, uint32_t nread, uint32_t rlen,
                                   uint32_t total, struct vq_desc d,
                                   uint16_t id, uint32_t pos, uint8_t wrap)
{
    struct vq_walk w;
    int rc;

    vq_walk_resume(&w, c, i, nread, i, rlen, total - rlen, nread != i);
    if (packed_ind_walk(q, &w, tbl, 0, tlen, i, &d) != 0) {
        vq_walk_abort(q, w.iov, w.nspan);
        rc = vq_violation(q, w.err, w.why);
    } else {
        rc = packed_pop_end(q, c, w.iov, w.nspan, w.nread, w.read_len,
                            w.write_len, w.truncated, id, 1, pos, wrap);
    }
    return rc;
}

/*
 * A list that is one INDIRECT descriptor @p d: when the table is
 * well-formed and in one region ("Indirect Descriptors"; packed_indirect()
 * names each violation), its entries in order with the rules of the fast
 * loop (vq_packed_pop()); entry i is data descriptor i + 1 and span i, so
 * elim = min(max_chain, iov_cap) (>= lim >= 1) bounds i as lim bounds n.
 * Any other entry goes, fetched, to packed_slow_ind(). *rc set, or
 * VQ_FAST_SLOW: d for the general walk.
 */
VQ_INLINE uint32_t packed_fast_ind(struct vq *q, struct vdm_chain *c,
                                   struct vdm_mem_cache *k, struct vq_desc d,
                                   uint32_t pos, uint8_t wrap, int *rc)
{
    const uint8_t *tbl = NULL;
    struct vq_desc se; /* the entry handed to the general walk */
    uint32_t st = VQ_FAST_SLOW;
    uint32_t tlen = d.len >> 4;
    uint32_t elim;
    uint32_t i = 0;
    uint32_t nread = 0;
    uint32_t rlen = 0;
    uint32_t total = 0;

    if (((q->flags & VQ_F_INDIRECT) != 0u) &&
        ((d.w14 & VQ_DESC_F_NEXT) == 0u) && (d.len != 0u) &&
        ((d.len & 15u) == 0u) && (d.len <= (VQ_INDIRECT_MAX * 16u))) {
        tbl = vq_fast_map(q, k, d.addr, d.len, 0, VDM_MEM_READ);
    }
    if (tbl != NULL) {
        elim = (c->iov_cap < q->max_chain) ? c->iov_cap : q->max_chain;
        if (elim > tlen) {
            elim = tlen;
        }
        st = VQ_FAST_RUN;
        do {
            struct vq_desc e;
            bool write;
            uint8_t *p = NULL;

            /* Fetch each entry once into e; only e is used afterwards. */
            vq_desc_fetch(&e, &tbl[(size_t)i * 16u]);
            write = (e.w14 & VQ_DESC_F_WRITE) != 0u;
            /* NEXT and the id are reserved in a table and ignored */
            if ((i < elim) && ((e.w14 & VQ_DESC_F_INDIRECT) == 0u) &&
                (write || (nread == i))) {
                p = vq_fast_map(q, k, e.addr, e.len, total,
                                write ? VDM_MEM_WRITE : VDM_MEM_READ);
            }
            if (p == NULL) {
                se = e;
                st = VQ_FAST_SLOW;
            } else {
                vq_fast_span(&c->iov[i], p, e.len, write);
                total += e.len;
                if (!write) {
                    rlen += e.len;
                    nread++;
                }
                i++;
                if (i == tlen) {
                    st = VQ_FAST_DONE;
                }
            }
        } while (st == VQ_FAST_RUN);
        if (st == VQ_FAST_DONE) {
            *rc = packed_pop_end(q, c, c->iov, i, nread, rlen, total - rlen,
                                 false, d.w12, 1, pos, wrap);
        } else {
            *rc = packed_slow_ind(q, c, tbl, tlen, i, nread, rlen, total, se,
                                  d.w12, pos, wrap);
        }
        st = VQ_FAST_END;
    }
    return st;
}

/*
 * The walk of the list at the queue's position, its first descriptor
 * already fetched (vq_packed_pop(): @p a, @p len, @p id, @p fl),
 * and the rest of the pop. A fast loop as in the split pop (split_walk(),
 * virtqueue_split.c): direct descriptors in the cached region or one
 * vdm_mem_miss() finds, while spans fit (vq_fast_map()), one bound lim =
 * min(num, max_chain, iov_cap) for the list length, max_chain and span
 * room; any other descriptor goes, fetched, to packed_pop_slow() with the
 * state so far, which applies every rule in the same order. Ring
 * descriptors are the list's data descriptors (an INDIRECT one leaves the
 * loop). An indirect table (the list's only descriptor) in the regions is
 * walked the same way (packed_fast_ind()).
 */
VQ_WALK int packed_walk(struct vq *q, struct vdm_chain *c, uint64_t a,
                        uint32_t len, uint16_t id, uint16_t fl)
{
    struct vdm_mem_cache k;
    struct vq_desc d;
    uint32_t num = q->num;
    uint32_t pos = q->last_avail;
    uint32_t lim;
    uint32_t n = 1;
    uint32_t nspan = 0;
    uint32_t nread = 0;
    uint32_t rlen = 0;
    uint32_t total = 0;
    uint32_t st = VQ_FAST_RUN;
    uint8_t wrap = q->avail_wrap;
    int rc = 0;

    d.addr = a;
    d.len = len;
    d.w12 = id;
    d.w14 = fl;
    /* num >= 1: the first is within the bound */
    pos++;
    if (pos == num) {
        pos = 0;
        wrap ^= 1u;
    }
    lim = (c->iov_cap < q->chain_lim) ? c->iov_cap : q->chain_lim;
    vdm_mem_cache_load(q->mem, q->mem_hint, &k);
    if (VDM_UNLIKELY(lim == 0u)) {
        st = VQ_FAST_SLOW; /* no span room at all */
    } else if ((d.w14 & VQ_DESC_F_INDIRECT) != 0u) {
        st = packed_fast_ind(q, c, &k, d, pos, wrap, &rc);
    } else {
        /* d is descriptor n, pos past it */
    }
    while (st == VQ_FAST_RUN) {
        bool write = (d.w14 & VQ_DESC_F_WRITE) != 0u;
        uint8_t *p = NULL;

        /* INDIRECT in a list, readable after writable: the slow walk */
        if (((d.w14 & VQ_DESC_F_INDIRECT) == 0u) &&
            (write || (nread == nspan))) {
            p = vq_fast_map(q, &k, d.addr, d.len, total,
                            write ? VDM_MEM_WRITE : VDM_MEM_READ);
        }
        if (p == NULL) {
            st = VQ_FAST_SLOW;
        } else {
            vq_fast_span(&c->iov[nspan], p, d.len, write);
            nspan++;
            total += d.len;
            if (!write) {
                rlen += d.len;
                nread++;
            }
            if ((d.w14 & VQ_DESC_F_NEXT) == 0u) {
                st = VQ_FAST_DONE;
            } else {
                /* the next descriptor: n > lim (max_chain, span
                 * room) leaves for the general walk once fetched */
                n++;
                if (VDM_UNLIKELY(n > lim)) {
                    st = VQ_FAST_SLOW;
                }
                if (VDM_UNLIKELY(n > num)) {
                    rc = vq_violation(q, VDM_EPROTO,
                                      "descriptor list longer than the "
                                      "queue size");
                    st = VQ_FAST_END;
                } else {
                    vq_desc_fetch(&d, &q->desc[(size_t)pos * 16u]);
                    if (VDM_UNLIKELY(!desc_avail(d.w14, wrap))) {
                        rc = vq_violation(q, VDM_EPROTO,
                                          "descriptor list runs into a "
                                          "descriptor not made available");
                        st = VQ_FAST_END;
                    }
                    pos++;
                    if (pos == num) {
                        pos = 0;
                        wrap ^= 1u;
                    }
                }
            }
        }
    }
    if (st == VQ_FAST_DONE) {
        /* "Buffer ID is included in the last descriptor" */
        rc = packed_pop_end(q, c, c->iov, nspan, nread, rlen, total - rlen,
                            false, d.w12, n, pos, wrap);
    } else if (st == VQ_FAST_SLOW) {
        rc = packed_slow(q, c, n, pos, wrap, nread, rlen, total, d);
    } else {
        /* VQ_FAST_END: rc set */
    }
    return rc;
}

#else /* !VDM_CONFIG_FAST_WALK */
/* The packed ring's walk of the list whose first descriptor is @p a, @p
 * len, @p id, @p fl (vq_packed_pop()), and the rest of the pop: the
 * general walk from the first descriptor (vdm/config.h
 * VDM_CONFIG_FAST_WALK 0). */
VQ_WALK int packed_walk(struct vq *q, struct vdm_chain *c, uint64_t a,
                        uint32_t len, uint16_t id, uint16_t fl)
{
    struct vq_walk w;
    struct vq_desc d;
    uint32_t pos = (uint32_t)q->last_avail + 1u;
    uint8_t wrap = q->avail_wrap;

    d.addr = a;
    d.len = len;
    d.w12 = id;
    d.w14 = fl;
    if (pos == q->num) {
        pos = 0;
        wrap ^= 1u;
    }
    vq_walk_start(&w, c);
    return packed_pop_slow(q, c, &w, 1u, pos, wrap, d);
}
#endif /* VDM_CONFIG_FAST_WALK */

#if VQ_SPEED
/*
 * The most common list, for a speed build, without a call: one direct
 * descriptor (@p a, @p len, @p id, @p fl as vq_packed_pop() fetched
 * them, neither NEXT nor INDIRECT), a non-empty buffer wholly inside the region
 * the last lookup hit (vdm_mem_hit(): exactly the checks of the general walk
 * for it), room for its span (iov_cap >= 1; chain_lim >= 1 always). Any other
 * list goes on with the general walk, a tail call.
 */
static VQ_NOINLINE int packed_one(struct vq *q, struct vdm_chain *c, uint64_t a,
                                  uint32_t len, uint16_t id, uint16_t fl)
{
    /* the WRITE flag (bit 1): 1 or 0 */
    uint32_t wr = ((uint32_t)fl >> 1) & 1u;
    uint8_t *p = NULL;
    int rc;

    /* neither NEXT nor INDIRECT (vq_packed_pop() tested) */
    if ((c->iov_cap != 0u) && (len != 0u)) {
        /* VDM_MEM_READ 1, VDM_MEM_WRITE 2 */
        p = vdm_mem_hit(q->mem, a, len, VDM_MEM_READ << wr, q->mem_hint);
    }
    if (p != NULL) {
        uint32_t pos = (uint32_t)q->last_avail + 1u;
        uint8_t wrap = q->avail_wrap;

        if (pos == q->num) {
            pos = 0;
            wrap ^= 1u;
        }
        /* VDM_IOV_F_WRITE is 1 */
        c->iov[0].base = p;
        c->iov[0].len = len;
        c->iov[0].flags = wr;
        /* constants for each kind, no selects */
        if (wr != 0u) {
            rc = packed_pop_end(q, c, c->iov, 1u, 0u, 0u, len, false, id, 1u,
                                pos, wrap);
        } else {
            rc = packed_pop_end(q, c, c->iov, 1u, 1u, len, 0u, false, id, 1u,
                                pos, wrap);
        }
    } else {
        rc = packed_walk(q, c, a, len, id, fl);
    }
    return rc;
}
#endif

/*
 * Pop (vdm_vq_pop() checked the queue and c): the first descriptor of the
 * list at the queue's position, once it is available, then packed_one()
 * (a single direct descriptor, a speed build) or packed_walk(), a tail
 * call.
 */
int vq_packed_pop(struct vq *q, struct vdm_chain *c)
{
    uint32_t pos = q->last_avail;
    const uint8_t *s = &q->desc[(size_t)pos * 16u];
    uint16_t fl = vdm_load_acquire_le16(&s[PD_FLAGS]);
    int rc = 0;

    if (desc_avail(fl, q->avail_wrap)) {
        uint64_t a;
        uint32_t l;
        uint16_t x;

        /* One fetch per descriptor: the flags were read (acquire) above,
         * the rest of it is read here once. */
        __builtin_memcpy(&a, &s[PD_ADDR], 8);
        __builtin_memcpy(&l, &s[PD_LEN], 4);
        __builtin_memcpy(&x, &s[PD_ID], 2);
#if VQ_SPEED
        if ((fl & (VQ_DESC_F_NEXT | VQ_DESC_F_INDIRECT)) == 0u) {
            rc = packed_one(q, c, vdm_le64(&a), vdm_le32(&l), vdm_le16(&x), fl);
        } else {
            rc =
                packed_walk(q, c, vdm_le64(&a), vdm_le32(&l), vdm_le16(&x), fl);
        }
#else
        rc = packed_walk(q, c, vdm_le64(&a), vdm_le32(&l), vdm_le16(&x), fl);
#endif
    }
    return rc;
}

#if VQ_INFLIGHT
/*
 * A resubmission (virtqueue_inflight.c): the list recorded at head entry
 * @p e of the inflight region (num descriptors linked by next, the last at
 * entry last), walked with the rules of a pop. The ring positions already
 * count it. Each record is read once into locals.
 */
int vq_packed_pop_rec(struct vq *q, struct vdm_chain *c, uint16_t e)
{
    struct vq_walk w;
    const uint8_t *eh = ifp_ent(q, e);
    uint32_t n = ift_rd16(eh + IFP_E_NUM);
    uint32_t k;
    uint16_t last = ift_rd16(eh + IFP_E_LAST);
    uint16_t x = e;
    uint16_t id = 0;
    bool bad = false;

    vq_walk_start(&w, c);
    w.why = NULL;
    if ((n == 0u) || (n > q->num) || ((q->inflight_desc + n) > q->num)) {
        bad = true;
        (void)vq_walk_fail(&w, VDM_EPROTO,
                           "inflight record: bad descriptor count");
    }
    for (k = 0; (!bad) && (k < n); k++) {
        const uint8_t *ex;
        uint64_t addr;
        uint32_t len;
        uint16_t fl;

        if (x >= q->ift_dnum) {
            bad = true;
            (void)vq_walk_fail(&w, VDM_EPROTO,
                               "inflight record: link out of range");
            break;
        }
        /* each record read once into locals */
        ex = ifp_ent(q, x);
        addr = ift_rd64(ex + IFP_E_ADDR);
        len = ift_rd32(ex + IFP_E_LEN);
        fl = ift_rd16(ex + IFP_E_FLAGS);
        id = ift_rd16(ex + IFP_E_ID);
        x = ift_rd16(ex + IFP_E_NEXT);
        if ((fl & VQ_DESC_F_INDIRECT) != 0u) {
            bad = packed_indirect(q, &w, addr, len, fl, k + 1u) != 0;
            if ((!bad) && ((k + 1u) != n)) {
                bad = true;
                (void)vq_walk_fail(&w, VDM_EPROTO,
                                   "inflight record: INDIRECT before the "
                                   "end of its list");
            }
        } else {
            bad = vq_walk_add(q, &w, addr, len,
                              (fl & VQ_DESC_F_WRITE) != 0u) != 0;
            if ((!bad) && (((fl & VQ_DESC_F_NEXT) != 0u) != ((k + 1u) != n))) {
                bad = true;
                (void)vq_walk_fail(&w, VDM_EPROTO,
                                   "inflight record: NEXT flags do not match "
                                   "its length");
            }
        }
        if ((!bad) && ((k + 1u) == n) &&
            (ex != ifp_ent(q, (last < q->ift_dnum) ? last : 0u))) {
            bad = true;
            (void)vq_walk_fail(&w, VDM_EPROTO,
                               "inflight record: list does not end at its "
                               "last entry");
        }
    }
    if ((!bad) && ((id >= q->num) ||
                   ((q->slots[VQ_SLOT_META(id)] & VQ_META_INFLIGHT) != 0u))) {
        bad = true;
        (void)vq_walk_fail(&w, VDM_EPROTO,
                           "inflight record: buffer id out of range or in "
                           "flight");
    }
    if (bad) {
        vq_walk_abort(q, w.iov, w.nspan);
        return vq_violation(q, w.err, w.why);
    }
    q->inflight_desc += n;
    return vq_walk_finish(q, &w, c, id, (uint16_t)n);
}
#endif

int vq_packed_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    uint32_t nd = VQ_META_NDESC(meta);

    (void)id;
    if (q->last_avail >= nd) {
        q->last_avail = (uint16_t)(q->last_avail - nd);
    } else {
        q->last_avail = (uint16_t)(q->last_avail + q->num - nd);
        q->avail_wrap ^= 1u;
    }
    q->inflight_desc -= nd;
    return 0;
}

/* Write one used descriptor at pos; flags stored last (release when
 * @p publish, else relaxed: a later release publishes it). */
static inline void put_used(struct vq *q, uint32_t pos, uint8_t wrap,
                            uint32_t id, uint32_t len, bool publish)
{
    uint8_t *d = pdesc(q, pos);
    uint16_t fl = wrap ? (uint16_t)(VQ_DESC_F_AVAIL | VQ_DESC_F_USED) : 0;

    /* "Write Flag": in a used descriptor WRITE says data was written. */
    if (len != 0)
        fl |= VQ_DESC_F_WRITE;
    vdm_put_le32(d + PD_LEN, len);
    vdm_put_le16(d + PD_ID, (uint16_t)id);
    if (publish) {
        vdm_store_release_le16(d + PD_FLAGS, fl);
    } else {
        vdm_store_le16(d + PD_FLAGS, fl);
    }
    if (vq_logging(q)) {
        vq_log_desc(q, (pos * 16u) + PD_LEN, 8u);
    }
}

static inline void advance(const struct vq *q, uint32_t *pos, uint8_t *wrap,
                           uint32_t n)
{
    uint32_t p = *pos + n; /* n <= num: at most one wrap */

    if (p >= q->num) {
        p -= q->num;
        *wrap ^= 1u;
    }
    *pos = p;
}

int vq_packed_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                   bool inorder_batch)
{
    uint32_t first = q->used_idx, pos = first, total = 0, i;
    uint8_t wrap0 = q->used_wrap, wrap = wrap0;

    for (i = 0; i < n; i++) {
        total += VQ_META_NDESC(q->slots[VQ_SLOT_META(u[i].id)]);
    }

    if (inorder_batch) {
        /* "In-order use of descriptors": one used descriptor carrying the
         * id of the last buffer, at the first buffer's position. */
        put_used(q, first, wrap0, u[n - 1].id, u[n - 1].len, true);
        advance(q, &pos, &wrap, total);
    } else {
        /* Used descriptors in completion order; the first one's flags are
         * written last, so the whole batch appears at once. */
        advance(q, &pos, &wrap, VQ_META_NDESC(q->slots[VQ_SLOT_META(u[0].id)]));
        for (i = 1; i < n; i++) {
            put_used(q, pos, wrap, u[i].id, u[i].len, false);
            advance(q, &pos, &wrap,
                    VQ_META_NDESC(q->slots[VQ_SLOT_META(u[i].id)]));
        }
        put_used(q, first, wrap0, u[0].id, u[0].len, true);
    }
    q->used_idx = (uint16_t)pos;
    q->used_wrap = wrap;
    q->inflight_desc -= total;
    q->unsignalled = q->unsignalled + total < q->unsignalled
                         ? UINT32_MAX
                         : q->unsignalled + total;
    return 0;
}

static inline uint32_t lin(const struct vq *q, uint32_t idx, uint8_t wrap)
{
    return wrap ? idx : idx + q->num;
}

int vq_packed_should_notify(struct vq *q)
{
    uint32_t cnt = q->unsignalled, two = 2u * q->num;
    uint32_t old = lin(q, q->signalled, q->signalled_wrap);
    uint16_t fl;

    q->unsignalled = 0;
    q->signalled = q->used_idx;
    q->signalled_wrap = q->used_wrap;
    if (cnt == 0)
        return 0;
    /* used flags published before the driver's structure is read */
    vdm_mb();
    fl = (uint16_t)(vdm_load_acquire_le16(q->drv + EV_FLAGS) & 3u);
    if (fl == VQ_EVENT_DISABLE) {
        return 0;
    }
    if (fl == VQ_EVENT_DESC && (q->flags & VQ_F_EVENT_IDX)) {
        uint16_t ow = vdm_load_le16(q->drv + EV_OFF_WRAP);
        uint32_t off = (uint32_t)ow & 0x7fffu;
        uint32_t e;
        uint32_t dist;

        if (cnt >= two || off >= q->num)
            return 1; /* cannot tell / bogus offset: spurious is allowed */
        e = lin(q, off, (uint8_t)(ow >> 15));
        dist = e >= old ? e - old : e + two - old;
        /* notify iff the event slot is among the cnt slots passed */
        return dist < cnt;
    }
    /* ENABLE; DESC without EVENT_IDX or the reserved value: notify. */
    return 1;
}

int vq_packed_set_notify(struct vq *q, int enable)
{
    if (enable)
        q->flags |= VQ_F_NOTIFY_ON;
    else {
        q->flags &= (uint8_t)~VQ_F_NOTIFY_ON;
    }
    vdm_store_release_le16(q->dev + EV_FLAGS, enable
                                                  ? (uint16_t)VQ_EVENT_ENABLE
                                                  : (uint16_t)VQ_EVENT_DISABLE);
    if (vq_logging(q)) {
        vq_log_dev(q, EV_FLAGS, 2u);
    }
    if (!enable) {
        return 0;
    }
    vdm_mb();
    return vq_packed_has_avail(q);
}

int vq_packed_has_avail(struct vq *q)
{
    uint16_t f = vdm_load_acquire_le16(pdesc(q, q->last_avail) + PD_FLAGS);

    return desc_avail(f, q->avail_wrap) ? 1 : 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vq_packed_left_out;
#endif
