/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, device side (spec "Split Virtqueues").
 *
 * Layout: descriptor table {le64 addr; le32 len; le16 flags; le16 next}[num];
 * avail ring {le16 flags; le16 idx; le16 ring[num]; le16 used_event};
 * used ring {le16 flags; le16 idx; {le32 id; le32 len} ring[num];
 * le16 avail_event}.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "le.h"
#include "virtqueue_internal.h"

#define AVAIL_FLAGS 0u
#define AVAIL_IDX   2u
#define AVAIL_RING  4u
#define USED_FLAGS  0u
#define USED_IDX    2u
#define USED_RING   4u

static inline uint8_t *used_event_p(const struct vq *q)
{
    return q->drv + AVAIL_RING + 2u * (size_t)q->num;
}

static inline uint8_t *avail_event_p(const struct vq *q)
{
    return q->dev + USED_RING + 8u * (size_t)q->num;
}

/*
 * Read the driver's avail idx into shadow_avail. Returns 1 when something
 * is available, 0 when not, VDM_EPROTO when idx is implausible.
 */
VQ_HOT int split_refresh(struct vq *q)
{
    uint16_t la = q->last_avail;
    uint16_t ai = vdm_load_acquire_le16(q->drv + AVAIL_IDX);
    int rc;

    if (ai == la && (q->flags & (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
                        (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) {
        /* Pops store avail_event; order that store before this re-read so
         * that a buffer published meanwhile is either seen here or kicked
         * (the driver checks avail_event after its own full barrier). */
        vdm_mb();
        ai = vdm_load_acquire_le16(q->drv + AVAIL_IDX);
    }
    /* "The Virtqueue Available Ring": idx never runs more than a ring's
     * worth ahead of what the device consumed (and never goes back). */
    if ((uint16_t)(ai - la) > q->num) {
        /* VDM_EPROTO, known here (no test of the result after the call) */
        (void)vq_violation(q, VDM_EPROTO,
                           "avail idx ahead of the device by more than the "
                           "queue size");
        rc = VDM_EPROTO;
    } else {
        q->shadow_avail = ai;
        rc = 0;
        if (ai != la) {
            rc = 1;
        }
    }
    return rc;
}

/* Read indirect table entry @p idx once into @p d (table mapped: tbl,
 * else read through guest memory at @p addr). 0, or -1 with w set. */
static inline int split_ind_fetch(struct vq *q, struct vq_walk *w,
                                  const uint8_t *tbl, uint64_t addr,
                                  uint32_t idx, struct vq_desc *d)
{
    uint8_t e[16];

    /* Fetch the entry once into d; only d is used afterwards. */
    if (VDM_LIKELY(tbl != NULL)) {
        vq_desc_fetch(d, tbl + (size_t)idx * 16u);
        return 0;
    }
    if (vq_read_indirect(q, tbl, addr, idx, e) != 0) {
        return vq_walk_fail(w, VDM_EFAULT,
                            "indirect table outside guest memory");
    }
    vq_desc_fetch(d, e);
    return 0;
}

/*
 * The entries of an indirect table of @p tlen entries, through their NEXT
 * links, from entry number @p ind_n of the walk, already fetched into @p d,
 * to the end. 0, or -1 with w->err and w->why set.
 */
static VQ_NOINLINE int split_ind_walk(struct vq *q, struct vq_walk *w,
                                      const uint8_t *tbl, uint64_t addr,
                                      uint32_t tlen, uint32_t ind_n,
                                      struct vq_desc d)
{
    for (;;) {
        if ((d.w12 & VQ_DESC_F_INDIRECT) != 0u)
            return vq_walk_fail(w, VDM_EPROTO,
                                "INDIRECT descriptor inside an indirect "
                                "table");
        if (vq_walk_add(q, w, d.addr, d.len, (d.w12 & VQ_DESC_F_WRITE) != 0u) !=
            0)
            return -1;
        if (!(d.w12 & VQ_DESC_F_NEXT)) {
            return 0;
        }
        if (d.w14 >= tlen) {
            return vq_walk_fail(w, VDM_EPROTO,
                                "next index beyond the indirect table");
        }
        if (++ind_n > tlen) {
            return vq_walk_fail(w, VDM_EPROTO,
                                "indirect chain longer than its table "
                                "(loop)");
        }
        if (split_ind_fetch(q, w, tbl, addr, d.w14, &d) != 0) {
            return -1;
        }
    }
}

/*
 * Walk the indirect table a ring descriptor (the last of its chain) points
 * to: "Indirect Descriptors" driver requirements, then its entries through
 * their NEXT links. 0, or -1 with w->err and w->why set; the table is given
 * back either way (the walk's spans are not).
 */
static VQ_NOINLINE int split_indirect(struct vq *q, struct vq_walk *w,
                                      uint64_t addr, uint32_t len, uint16_t fl)
{
    const uint8_t *tbl = NULL;
    struct vq_desc d;
    int thooked = 0, rc;

    if (!(q->flags & VQ_F_INDIRECT)) {
        return vq_walk_fail(w, VDM_EPROTO,
                            "INDIRECT descriptor without "
                            "VIRTIO_F_INDIRECT_DESC");
    }
    if ((fl & VQ_DESC_F_NEXT) != 0u)
        return vq_walk_fail(w, VDM_EPROTO,
                            "descriptor has both INDIRECT and NEXT");
    if (len == 0 || (len & 15u) != 0 || len > VQ_INDIRECT_MAX * 16u)
        return vq_walk_fail(w, VDM_EPROTO,
                            "indirect table length 0, not a multiple of 16 "
                            "or over 32768 descriptors");
    if (vq_map_indirect(q, addr, len, &tbl, &thooked) != 0) {
        return vq_walk_fail(w, VDM_EFAULT,
                            "indirect table outside guest memory");
    }
    /* entry 0 first (a table has at least one) */
    rc = split_ind_fetch(q, w, tbl, addr, 0, &d);
    if (rc == 0) {
        rc = split_ind_walk(q, w, tbl, addr, len >> 4, 1, d);
    }
    vq_unmap_indirect(q, tbl, len, thooked);
    return rc;
}

/* A chain walked: consume its avail entry, move avail_event along. True
 * when avail_event was written while dirty logging is on: the caller marks
 * it (split_log_avail()). */
VQ_INLINE bool split_consumed_unmarked(struct vq *q)
{
    uint16_t la = (uint16_t)(q->last_avail + 1u);
    bool mark = false;

    q->last_avail = la;
    if ((q->flags & (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
        (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) {
        vdm_store_le16(avail_event_p(q), la);
        mark = vq_logging(q);
    }
    return mark;
}

/* The dirty mark of avail_event; returns @p rc (a tail call at the end of
 * a pop, which then saves no register across a call). */
static VQ_COLD int split_log_avail(const struct vq *q, int rc)
{
    vq_log_dev(q, USED_RING + (8u * (uint32_t)q->num), 2u);
    return rc;
}

VQ_INLINE void split_consumed(struct vq *q)
{
    if (split_consumed_unmarked(q)) {
        (void)split_log_avail(q, 0);
    }
}

/*
 * The general walk of a chain, every case and every violation: from ring
 * descriptor number @p ring_n of the chain, already fetched into @p d, to
 * the end, and the rest of the pop. vdm_vq_pop() hands over here, with
 * what it gathered so far in @p w, at the first descriptor its fast loop
 * does not take.
 */
static VQ_COLD int split_pop_slow(struct vq *q, struct vdm_chain *c,
                                  struct vq_walk *w, uint16_t head,
                                  uint32_t ring_n, struct vq_desc d)
{
    uint32_t num = q->num;

    for (;;) {
        bool write = (d.w12 & VQ_DESC_F_WRITE) != 0u;

        if ((d.w12 & VQ_DESC_F_INDIRECT) != 0u) {
            /* the WRITE flag of this descriptor is ignored; NEXT is
             * refused, so the table ends the chain */
            if (split_indirect(q, w, d.addr, d.len, d.w12) != 0) {
                goto bad;
            }
            break;
        }
        if (vq_walk_add(q, w, d.addr, d.len, write) != 0) {
            goto bad;
        }
        if (!(d.w12 & VQ_DESC_F_NEXT)) {
            break;
        }
        if (d.w14 >= num) {
            (void)vq_walk_fail(w, VDM_EPROTO, "next index >= queue size");
            goto bad;
        }
        if (++ring_n > num) {
            (void)vq_walk_fail(w, VDM_EPROTO,
                               "descriptor chain longer than the queue size "
                               "(loop)");
            goto bad;
        }
        /* Fetch the descriptor once into d; only d is used afterwards. */
        vq_desc_fetch(&d, q->desc + (size_t)d.w14 * 16u);
    }
    split_consumed(q);
    return vq_walk_finish(q, w, c, head, (uint16_t)ring_n);

bad:
    /* clean up first: the fault hook (called last) may reset the queue */
    vq_walk_abort(q, w->iov, w->nspan);
    return vq_violation(q, w->err, w->why);
}

#if VDM_CONFIG_FAST_WALK
/* split_pop_slow() from inside an indirect table the fast loop mapped
 * (never through the hook): entry number @p ind_n already fetched in d. */
static VQ_COLD int split_pop_slow_ind(struct vq *q, struct vdm_chain *c,
                                      struct vq_walk *w, uint16_t head,
                                      uint32_t ring_n, const uint8_t *tbl,
                                      uint32_t tlen, uint32_t ind_n,
                                      struct vq_desc d)
{
    if (split_ind_walk(q, w, tbl, 0, tlen, ind_n, d) != 0) {
        vq_walk_abort(q, w->iov, w->nspan);
        return vq_violation(q, w->err, w->why);
    }
    split_consumed(q);
    return vq_walk_finish(q, w, c, head, (uint16_t)ring_n);
}

/* vq_walk_resume() and split_pop_slow() for the fast loops of
 * vdm_vq_pop(): the n - 1 descriptors before d made as many spans and data
 * descriptors. Out of line, with the walk state, to keep it off the hot
 * path. */
static VQ_COLD int split_slow(struct vq *q, struct vdm_chain *c, uint16_t head,
                              uint32_t n, uint32_t nread, uint32_t rlen,
                              uint32_t total, struct vq_desc d)
{
    struct vq_walk w;

    vq_walk_resume(&w, c, n - 1u, nread, n - 1u, rlen, total - rlen,
                   nread != (n - 1u));
    return split_pop_slow(q, c, &w, head, n, d);
}

/* The state of a fast walk. */
struct split_fast {
    uint32_t n;     /* ring descriptors taken (the current one included) */
    uint32_t nspan; /* spans made */
    uint32_t nread; /* readable spans among them */
    uint32_t rlen;  /* their bytes */
    uint32_t total; /* bytes of all spans */
};

/*
 * The entries of an indirect table the chain ends in, when it is
 * well-formed and in one region ("Indirect Descriptors"; split_indirect()
 * names each violation), through their NEXT links with the rules of the
 * ring walk (vdm_vq_pop()). The n - 1 ring descriptors before it are data
 * descriptors and spans; entry number e of the table would be data
 * descriptor n - 1 + e and span n - 2 + e, so elim = min(max_chain,
 * iov_cap) - (n - 1) (at least 1, as n <= lim) bounds e as lim bounds n,
 * along with the table length. VQ_FAST_DONE, VQ_FAST_END (*rc set) or
 * VQ_FAST_SLOW (the ring descriptor in *d, f as it was) or, with *d the
 * entry to go on with, a call of split_pop_slow_ind() (*rc set,
 * VQ_FAST_END).
 */
VQ_INLINE uint32_t split_fast_ind(struct vq *q, struct vdm_chain *c,
                                  struct vdm_mem_cache *k,
                                  const struct vq_desc *d, struct split_fast *f,
                                  uint16_t head, int *rc)
{
    const uint8_t *tbl = NULL;
    struct vq_desc se; /* the entry handed to the general walk */
    uint32_t st = VQ_FAST_SLOW;
    uint32_t tlen = d->len >> 4;
    uint32_t elim;
    uint32_t ei = 1;
    uint32_t idx = 0;
    uint32_t nspan = f->nspan;
    uint32_t nread = f->nread;
    uint32_t rlen = f->rlen;
    uint32_t total = f->total;

    if (((q->flags & VQ_F_INDIRECT) != 0u) &&
        ((d->w12 & VQ_DESC_F_NEXT) == 0u) && (d->len != 0u) &&
        ((d->len & 15u) == 0u) && (d->len <= (VQ_INDIRECT_MAX * 16u))) {
        tbl = vq_fast_map(q, k, d->addr, d->len, 0, VDM_MEM_READ);
    }
    if (tbl != NULL) {
        elim = (c->iov_cap < q->max_chain) ? c->iov_cap : q->max_chain;
        elim -= nspan;
        if (elim > tlen) {
            elim = tlen;
        }
        st = VQ_FAST_RUN;
        do {
            struct vq_desc e;
            bool write;
            uint8_t *p = NULL;

            /* Fetch each entry once into e; only e is used afterwards. */
            vq_desc_fetch(&e, &tbl[(size_t)idx * 16u]);
            write = (e.w12 & VQ_DESC_F_WRITE) != 0u;
            if ((ei <= elim) && ((e.w12 & VQ_DESC_F_INDIRECT) == 0u) &&
                (write || (nread == nspan))) {
                p = vq_fast_map(q, k, e.addr, e.len, total,
                                write ? VDM_MEM_WRITE : VDM_MEM_READ);
            }
            if (p == NULL) {
                se = e;
                st = VQ_FAST_SLOW;
            } else {
                vq_fast_span(&c->iov[nspan], p, e.len, write);
                nspan++;
                total += e.len;
                if (!write) {
                    rlen += e.len;
                    nread++;
                }
                if ((e.w12 & VQ_DESC_F_NEXT) == 0u) {
                    st = VQ_FAST_DONE;
                } else if (VDM_UNLIKELY(e.w14 >= tlen)) {
                    *rc = vq_violation(q, VDM_EPROTO,
                                       "next index beyond the indirect table");
                    st = VQ_FAST_END;
                } else {
                    ei++;
                    idx = e.w14;
                    if (VDM_UNLIKELY(ei > tlen)) {
                        *rc = vq_violation(q, VDM_EPROTO,
                                           "indirect chain longer than its "
                                           "table (loop)");
                        st = VQ_FAST_END;
                    }
                }
            }
        } while (st == VQ_FAST_RUN);
        if (st == VQ_FAST_SLOW) {
            struct vq_walk w;

            vq_walk_resume(&w, c, nspan, nread, nspan, rlen, total - rlen,
                           nread != nspan);
            *rc = split_pop_slow_ind(q, c, &w, head, f->n, tbl, tlen, ei, se);
            st = VQ_FAST_END;
        }
    }
    f->nspan = nspan;
    f->nread = nread;
    f->rlen = rlen;
    f->total = total;
    return st;
}

/*
 * The split ring's walk of the chain at @p head, its ring descriptor
 * already fetched into @p d (split_pop()), and the rest of the pop; its
 * state in locals.
 *
 * Fast loop: direct descriptors whose buffers each lie wholly in the region
 * the last lookup hit (read once per pop, vdm_mem_cache_load()) or that
 * vdm_mem_miss() finds, while spans fit (vq_fast_map()). The spans it
 * makes never come from the translate hook, so a violation found here has
 * nothing to give back. Each ring descriptor it takes is one data
 * descriptor and one span, so a single bound, lim = min(num, max_chain,
 * iov_cap), covers the chain length, max_chain and span room; past it, and
 * at any other descriptor, the walk goes, the descriptor fetched, to
 * split_pop_slow() with the state gathered so far, which applies every
 * rule in the same order (vq_walk_add_slow()). Readable spans come first
 * ("Message Framing"): a readable descriptor after a writable one shows as
 * nread != nspan. An indirect table the regions hold is walked the same
 * way (split_fast_ind()).
 */
VQ_WALK int split_walk(struct vq *q, struct vdm_chain *c, uint16_t head,
                       uint64_t addr, uint64_t lfn)
{
    struct vdm_mem_cache k;
    struct split_fast f;
    struct vq_desc d;
    uint32_t num = q->num;
    uint32_t lim;
    uint32_t st = VQ_FAST_RUN;
    int rc = 1;

    d.addr = addr;
    d.len = (uint32_t)lfn;
    d.w12 = (uint16_t)(lfn >> 32);
    d.w14 = (uint16_t)(lfn >> 48);
    lim = (c->iov_cap < q->chain_lim) ? c->iov_cap : q->chain_lim;
    vdm_mem_cache_load(q->mem, q->mem_hint, &k);
    f.n = 0;
    f.nspan = 0;
    f.nread = 0;
    f.rlen = 0;
    f.total = 0;
    while (st == VQ_FAST_RUN) {
        f.n++;
        if (VDM_UNLIKELY(f.n > lim)) {
            /* a loop, or the slow walk (max_chain, span room) */
            if (f.n > num) {
                rc = vq_violation(q, VDM_EPROTO,
                                  "descriptor chain longer than the "
                                  "queue size (loop)");
                st = VQ_FAST_END;
            } else {
                st = VQ_FAST_SLOW;
            }
        } else {
            bool write = (d.w12 & VQ_DESC_F_WRITE) != 0u;
            uint8_t *p = NULL;

            if ((d.w12 & VQ_DESC_F_INDIRECT) != 0u) {
                st = VQ_FAST_IND;
            } else if (write || (f.nread == f.nspan)) {
                p = vq_fast_map(q, &k, d.addr, d.len, f.total,
                                write ? VDM_MEM_WRITE : VDM_MEM_READ);
                if (p == NULL) {
                    st = VQ_FAST_SLOW;
                }
            } else {
                st = VQ_FAST_SLOW;
            }
            if (p != NULL) {
                /* d stays, otherwise, for the indirect or the general
                 * walk */
                vq_fast_span(&c->iov[f.nspan], p, d.len, write);
                f.nspan++;
                f.total += d.len;
                if (!write) {
                    f.rlen += d.len;
                    f.nread++;
                }
                if ((d.w12 & VQ_DESC_F_NEXT) == 0u) {
                    st = VQ_FAST_DONE;
                } else if (VDM_UNLIKELY(d.w14 >= num)) {
                    rc =
                        vq_violation(q, VDM_EPROTO, "next index >= queue size");
                    st = VQ_FAST_END;
                } else {
                    /* Fetch the descriptor once into d; only d is used
                     * afterwards. */
                    vq_desc_fetch(&d, &q->desc[(size_t)d.w14 * 16u]);
                }
            }
        }
    }
    if (st == VQ_FAST_IND) {
        st = split_fast_ind(q, c, &k, &d, &f, head, &rc);
    }
    if (st == VQ_FAST_DONE) {
        split_consumed(q);
        rc = vq_pop_finish(q, c, head, (uint16_t)f.n, f.nspan, f.nread, f.rlen,
                           f.total - f.rlen, false);
    } else if (st == VQ_FAST_SLOW) {
        rc = split_slow(q, c, head, f.n, f.nread, f.rlen, f.total, d);
    } else {
        /* VQ_FAST_END: rc set */
    }
    return rc;
}

#else /* !VDM_CONFIG_FAST_WALK */
/* The split ring's walk of the chain at @p head, its ring descriptor
 * already fetched (split_pop()), and the rest of the pop: the general walk
 * from the first descriptor (vdm/config.h VDM_CONFIG_FAST_WALK 0). */
VQ_WALK int split_walk(struct vq *q, struct vdm_chain *c, uint16_t head,
                       uint64_t addr, uint64_t lfn)
{
    struct vq_walk w;
    struct vq_desc d;

    d.addr = addr;
    d.len = (uint32_t)lfn;
    d.w12 = (uint16_t)(lfn >> 32);
    d.w14 = (uint16_t)(lfn >> 48);
    vq_walk_start(&w, c);
    return split_pop_slow(q, c, &w, head, 1u, d);
}
#endif /* VDM_CONFIG_FAST_WALK */

#if VQ_SPEED
/*
 * The most common chain, for a speed build, without a call: one direct
 * descriptor (addr @p a; len, flags, next in @p b as split_pop() fetched
 * them, neither NEXT nor INDIRECT), a non-empty buffer wholly inside the region
 * the last lookup hit (vdm_mem_hit(): exactly the checks of the general walk
 * for it), room for its span (iov_cap >= 1; chain_lim >= 1 always). Any other
 * chain goes on with the general walk, a tail call.
 */
static VQ_NOINLINE int split_one(struct vq *q, struct vdm_chain *c,
                                 uint16_t head, uint64_t a, uint64_t b)
{
    uint32_t len = (uint32_t)b;
    /* the WRITE flag (bit 1 of flags, bit 33 of b): 1 or 0 */
    uint32_t wr = (uint32_t)(b >> 33) & 1u;
    uint8_t *p = NULL;
    bool mark;
    int rc;

    /* neither NEXT nor INDIRECT (split_pop() tested) */
    if ((c->iov_cap != 0u) && (len != 0u)) {
        /* VDM_MEM_READ 1, VDM_MEM_WRITE 2 */
        p = vdm_mem_hit(q->mem, a, len, VDM_MEM_READ << wr, q->mem_hint);
    }
    if (p != NULL) {
        /* VDM_IOV_F_WRITE is 1 */
        c->iov[0].base = p;
        c->iov[0].len = len;
        c->iov[0].flags = wr;
        mark = split_consumed_unmarked(q);
        /* constants for each kind, no selects */
        if (wr != 0u) {
            rc = vq_pop_finish(q, c, head, 1u, 1u, 0u, 0u, len, false);
        } else {
            rc = vq_pop_finish(q, c, head, 1u, 1u, 1u, len, 0u, false);
        }
        if (VDM_UNLIKELY(mark)) {
            rc = split_log_avail(q, rc); /* last: a tail call */
        }
    } else {
        rc = split_walk(q, c, head, a, b);
    }
    return rc;
}
#endif

/*
 * The split ring's pop (vdm_vq_pop() checked the queue and c): the avail
 * entry and the chain head's ring descriptor, then split_one() (a single
 * direct descriptor, a speed build) or split_walk(), a tail call.
 */
static VQ_NOINLINE int split_pop(struct vq *q, struct vdm_chain *c)
{
    uint16_t la = q->last_avail;
    uint16_t head;
    int rc = 1;

    if (la == q->shadow_avail) {
        rc = split_refresh(q);
    }
    if (rc > 0) {
        head =
            vdm_load_le16(&q->drv[AVAIL_RING + (2u * (size_t)(la & q->mask))]);
        if (VDM_UNLIKELY(head >= q->num)) {
            rc = vq_violation(q, VDM_EPROTO,
                              "avail ring entry (chain head) >= queue size");
        } else if (VDM_UNLIKELY((q->slots[VQ_SLOT_META(head)] &
                                 VQ_META_INFLIGHT) != 0u)) {
            rc = vq_violation(q, VDM_EPROTO,
                              "chain head made available again while in "
                              "flight");
        } else {
            const uint8_t *s = &q->desc[(size_t)head * 16u];
            uint64_t a;
            uint64_t b;

            /* Fetch the descriptor once, addr and {len, flags, next} as two
             * little-endian words (len bits 0..31, flags 32..47, next
             * 48..63); only these copies are used afterwards. */
            __builtin_memcpy(&a, s, 8);
            __builtin_memcpy(&b, &s[8], 8);
            a = vdm_le64(&a);
            b = vdm_le64(&b);
#if VQ_SPEED
            if ((b & (((uint64_t)VQ_DESC_F_NEXT << 32) |
                      ((uint64_t)VQ_DESC_F_INDIRECT << 32))) == 0u) {
                rc = split_one(q, c, head, a, b);
            } else {
                rc = split_walk(q, c, head, a, b);
            }
#else
            rc = split_walk(q, c, head, a, b);
#endif
        }
    }
    return rc;
}

int vq_split_pop(struct vq *q, struct vdm_chain *c)
{
    return split_pop(q, c);
}

#if VQ_INFLIGHT
/* A resubmission (virtqueue_inflight.c): the chain at @p head walked again
 * as a pop would, without an avail entry (its position is already counted
 * in last_avail, which split_consumed() moves back to where it was). */
int vq_split_pop_head(struct vq *q, struct vdm_chain *c, uint16_t head)
{
    const uint8_t *s;
    uint64_t a;
    uint64_t b;

    if ((head >= q->num) ||
        ((q->slots[VQ_SLOT_META(head)] & VQ_META_INFLIGHT) != 0u)) {
        return vq_violation(q, VDM_EPROTO,
                            "inflight record names a chain twice");
    }
    s = &q->desc[(size_t)head * 16u];
    __builtin_memcpy(&a, s, 8);
    __builtin_memcpy(&b, &s[8], 8);
    q->last_avail--;
    return split_walk(q, c, head, vdm_le64(&a), vdm_le64(&b));
}
#endif

/* The public pop, both formats: the checks, then a tail call of the
 * format's pop (split_pop(), vq_packed_pop()), which keeps its whole walk
 * in one function and its state in locals. */
int vdm_vq_pop(struct vdm_vq *vq, struct vdm_chain *c)
{
    struct vq *q;
    int rc;

    if (VDM_UNLIKELY((vq == NULL) || (c == NULL) ||
                     ((c->iov == NULL) && (c->iov_cap != 0u)))) {
        rc = VDM_EINVAL;
    } else {
        q = vq_of(vq);
#if VQ_SPEED
        /* the common case, one word tested (struct vq::live) */
        if (VDM_LIKELY(q->live == VQ_LIVE_SPLIT)) {
            rc = split_pop(q, c);
        } else if (VDM_LIKELY(q->live == VQ_LIVE_PACKED)) {
            rc = vq_packed_pop(q, c);
        } else
#endif
            if (VDM_UNLIKELY(q->magic != VQ_MAGIC)) {
            rc = VDM_ESTATE;
        } else if (VDM_UNLIKELY((q->flags & VQ_F_BROKEN) != 0u)) {
            rc = VDM_EBROKEN;
        } else if (vq_ift_on(q)) {
            rc = vq_ift_pop(q, c); /* vhost-user inflight tracking */
        } else if ((q->flags & VQ_F_PACKED) != 0u) {
            rc = vq_packed_pop(q, c);
        } else {
            rc = split_pop(q, c);
        }
    }
    return rc;
}

int vq_split_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    (void)id;
    (void)meta;
    q->last_avail--;
    return 0;
}

int vq_split_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                  bool inorder_batch)
{
    uint16_t ui = q->used_idx;
    uint32_t i;

    if (inorder_batch) {
        /* "In-order use of descriptors": one entry, id of the last buffer,
         * at the slot of the first; idx skips the whole batch. */
        uint8_t *e = q->dev + USED_RING + 8u * (size_t)(ui & q->mask);

        vdm_put_le32(e, u[n - 1u].id);
        vdm_put_le32(e + 4, u[n - 1u].len);
    } else {
        for (i = 0; i < n; i++) {
            uint8_t *e = q->dev + USED_RING +
                         8u * (size_t)((uint16_t)(ui + i) & q->mask);

            vdm_put_le32(e, u[i].id);
            vdm_put_le32(e + 4, u[i].len);
        }
    }
    ui = (uint16_t)(ui + n);
    q->used_idx = ui;
    /* len and id before idx ("The Virtqueue Used Ring"). */
    vdm_store_release_le16(q->dev + USED_IDX, ui);
    q->unsignalled =
        q->unsignalled + n < q->unsignalled ? UINT32_MAX : q->unsignalled + n;
    if (vq_logging(q)) {
        uint16_t first = (uint16_t)(ui - n);
        uint32_t k = inorder_batch ? 1u : n;

        for (i = 0; i < k; i++) {
            uint32_t slot = (uint32_t)(uint16_t)(first + i) & q->mask;

            vq_log_dev(q, USED_RING + (8u * slot), 8u);
        }
        vq_log_dev(q, USED_IDX, 2u);
    }
    return 0;
}

int vq_split_should_notify(struct vq *q)
{
    uint32_t cnt = q->unsignalled;
    uint16_t old = q->signalled, now = q->used_idx;

    q->unsignalled = 0;
    q->signalled = now;
    if (cnt == 0u)
        return 0;
    /* used idx published before the driver's fields are read */
    vdm_mb();
    if ((q->flags & VQ_F_EVENT_IDX) != 0u) {
        uint16_t ev;

        if (cnt >= 0x10000u) {
            return 1; /* wrapped: cannot tell, a spurious one is allowed */
        }
        ev = vdm_load_le16(used_event_p(q));
        /* "Used Buffer Notification Suppression": notify when one of the
         * entries written since the last decision, old .. now-1, is
         * used_event. */
        return (uint16_t)(ev - old) < (uint16_t)(now - old);
    }
    return (vdm_load_le16(q->drv + AVAIL_FLAGS) & VQ_AVAIL_F_NO_INTERRUPT) ? 0
                                                                           : 1;
}

int vq_split_set_notify(struct vq *q, int enable)
{
    if (enable != 0)
        q->flags |= VQ_F_NOTIFY_ON;
    else {
        q->flags &= (uint8_t)~VQ_F_NOTIFY_ON;
    }
    if ((q->flags & VQ_F_EVENT_IDX) != 0u) {
        /* flags stay 0; avail_event names the next entry we will read.
         * Disabling writes nothing: once pops move past avail_event the
         * driver stops kicking on its own. */
        if (enable != 0) {
            vdm_store_le16(avail_event_p(q), q->last_avail);
            if (vq_logging(q)) {
                vq_log_dev(q, USED_RING + (8u * (uint32_t)q->num), 2u);
            }
        }
    } else {
        vdm_store_le16(q->dev + USED_FLAGS,
                       enable ? 0 : (uint16_t)VQ_USED_F_NO_NOTIFY);
        if (vq_logging(q)) {
            vq_log_dev(q, USED_FLAGS, 2u);
        }
    }
    if (!enable) {
        return 0;
    }
    vdm_mb();
    return vq_split_has_avail(q);
}

int vq_split_has_avail(struct vq *q)
{
    if (q->last_avail != q->shadow_avail) {
        return 1;
    }
    return split_refresh(q);
}
