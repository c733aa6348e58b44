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
    uint32_t i, tlen;
    int thooked = 0, rc = 0;

    if (!(q->flags & VQ_F_INDIRECT))
        return vq_walk_fail(w, VDM_EPROTO,
                            "INDIRECT descriptor without "
                            "VIRTIO_F_INDIRECT_DESC");
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
    if (vq_map_indirect(q, addr, len, &tbl, &thooked) != 0)
        return vq_walk_fail(w, VDM_EFAULT,
                            "indirect table outside guest memory");
    tlen = len >> 4;
    for (i = 0; i < tlen; i++) {
        uint8_t e[16];
        struct vq_desc d;

        /* Fetch the entry once into d; only d is used afterwards. */
        if (VDM_LIKELY(tbl != NULL)) {
            vq_desc_fetch(&d, tbl + (size_t)i * 16u);
        } else if (vq_read_indirect(q, tbl, addr, i, e) == 0) {
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
        if (rc != 0)
            break;
    }
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
static VQ_NOINLINE int packed_pop_slow(struct vq *q, struct vdm_chain *c,
                                       struct vq_walk *w, uint32_t ring_n,
                                       uint32_t pos, uint8_t wrap,
                                       struct vq_desc d)
{
    uint32_t num = q->num;
    uint16_t id;

    for (;;) {
        bool write = (d.w14 & VQ_DESC_F_WRITE) != 0;

        if (d.w14 & VQ_DESC_F_INDIRECT) {
            if (packed_indirect(q, w, d.addr, d.len, d.w14, ring_n) != 0)
                goto bad;
            id = d.w12;
            break;
        }
        if (vq_walk_add(q, w, d.addr, d.len, write) != 0)
            goto bad;
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

int vq_packed_pop(struct vq *q, struct vdm_chain *c)
{
    struct vdm_iov *iov = c->iov;
    uint32_t num = q->num, cap = c->iov_cap, pos = q->last_avail, ring_n = 1;
    uint32_t nspan = 0, nread = 0, read_len = 0, write_len = 0;
    bool seen_write = false;
    uint8_t wrap = q->avail_wrap;
    struct vq_desc d;
    struct vq_walk w;
    uint16_t id;

    d.w14 = vdm_load_acquire_le16(q->desc + (size_t)pos * 16u + PD_FLAGS);
    if (!desc_avail(d.w14, wrap))
        return 0;

    /* One fetch per descriptor into d; the first one's flags were already
     * read (acquire) above, the rest of it is read here once. num >= 1:
     * the first is within the bound. */
    {
        const uint8_t *p = q->desc + (size_t)pos * 16u;
        uint64_t a;
        uint32_t l;
        uint16_t x;

        __builtin_memcpy(&a, p + PD_ADDR, 8);
        __builtin_memcpy(&l, p + PD_LEN, 4);
        __builtin_memcpy(&x, p + PD_ID, 2);
        d.addr = vdm_le64(&a);
        d.len = vdm_le32(&l);
        d.w12 = vdm_le16(&x);
    }
    /*
     * Fast loop: direct descriptors whose buffers each lie wholly in the
     * region the last lookup hit, while spans fit. Its state is kept in
     * locals; the spans it makes never come from the translate hook, so a
     * violation found here has nothing to give back. Any other descriptor
     * goes, fetched, to packed_pop_slow() with the state gathered so far,
     * which applies every rule in the same order (vq_walk_add_slow()).
     * Here, as there, ring descriptors are the list's data descriptors (an
     * INDIRECT one leaves the loop), so ring_n also counts for max_chain.
     */
    for (;;) {
        uint32_t access;
        uint8_t *p;
        bool write;

        if (++pos == num) {
            pos = 0;
            wrap ^= 1u;
        }
        write = (d.w14 & VQ_DESC_F_WRITE) != 0;
        access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
        if (VDM_UNLIKELY((d.w14 & VQ_DESC_F_INDIRECT) || d.len == 0 ||
                         nspan >= cap || (!write && seen_write) ||
                         ring_n > q->max_chain ||
                         (uint64_t)read_len + write_len + d.len > UINT32_MAX))
            goto slow;
        p = vdm_mem_hit(q->mem, d.addr, d.len, access, q->mem_hint);
        if (VDM_UNLIKELY(p == NULL)) {
            /* another region (a chain spread over several) */
            p = vdm_mem_hit_scan(q->mem, d.addr, d.len, access, &q->mem_hint);
            if (p == NULL)
                goto slow;
        }
        iov[nspan].base = p;
        iov[nspan].len = d.len;
        iov[nspan].flags = write ? VDM_IOV_F_WRITE : 0;
        nspan++;
        if (write) {
            seen_write = true;
            write_len += d.len;
        } else {
            read_len += d.len;
            nread++;
        }
        if (!(d.w14 & VQ_DESC_F_NEXT)) {
            id = d.w12; /* "Buffer ID is included in the last descriptor" */
            break;
        }
        if (VDM_UNLIKELY(++ring_n > num))
            return vq_violation(q, VDM_EPROTO,
                                "descriptor list longer than the queue size");
        vq_desc_fetch(&d, q->desc + (size_t)pos * 16u);
        if (VDM_UNLIKELY(!desc_avail(d.w14, wrap)))
            return vq_violation(q, VDM_EPROTO,
                                "descriptor list runs into a descriptor not "
                                "made available");
    }
    return packed_pop_end(q, c, iov, nspan, nread, read_len, write_len, false,
                          id, ring_n, pos, wrap);

slow:
    w.iov = iov;
    w.cap = cap;
    w.nspan = nspan;
    w.nread = nread;
    w.ndata = ring_n - 1u; /* the data descriptors before this one */
    w.read_len = read_len;
    w.write_len = write_len;
    w.total = (uint64_t)read_len + write_len; /* no truncation yet */
    w.seen_write = seen_write;
    w.truncated = false;
    w.tmode = c->reserved[2] & 3u; /* VQ_TAIL_*: the caller's request */
    w.tail = c->reserved;
    c->reserved[2] = 0;
    return packed_pop_slow(q, c, &w, ring_n, pos, wrap, d);
}

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
    if (publish)
        vdm_store_release_le16(d + PD_FLAGS, fl);
    else
        vdm_store_le16(d + PD_FLAGS, fl);
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

    for (i = 0; i < n; i++)
        total += VQ_META_NDESC(q->slots[VQ_SLOT_META(u[i].id)]);

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
    if (fl == VQ_EVENT_DISABLE)
        return 0;
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
    else
        q->flags &= (uint8_t)~VQ_F_NOTIFY_ON;
    vdm_store_release_le16(q->dev + EV_FLAGS, enable
                                                  ? (uint16_t)VQ_EVENT_ENABLE
                                                  : (uint16_t)VQ_EVENT_DISABLE);
    if (!enable)
        return 0;
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
