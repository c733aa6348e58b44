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
static int split_refresh(struct vq *q)
{
    uint16_t la = q->last_avail;
    uint16_t ai = vdm_load_acquire_le16(q->drv + AVAIL_IDX);

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
        return vq_violation(q, VDM_EPROTO,
                            "avail idx ahead of the device by more than the "
                            "queue size");
    }
    q->shadow_avail = ai;
    return ai != la;
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

/* A chain walked: consume its avail entry, move avail_event along. */
VQ_INLINE void split_consumed(struct vq *q)
{
    uint16_t la = (uint16_t)(q->last_avail + 1u);

    q->last_avail = la;
    if ((q->flags & (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
        (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) {
        vdm_store_le16(avail_event_p(q), la);
    }
}

/*
 * The general walk of a chain, every case and every violation: from ring
 * descriptor number @p ring_n of the chain, already fetched into @p d, to
 * the end, and the rest of the pop. vq_split_pop() hands over here, with
 * what it gathered so far in @p w, at the first descriptor its fast loop
 * does not take.
 */
static VQ_NOINLINE int split_pop_slow(struct vq *q, struct vdm_chain *c,
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

/* split_pop_slow() from inside an indirect table the fast loop mapped
 * (never through the hook): entry number @p ind_n already fetched in d. */
static VQ_NOINLINE int split_pop_slow_ind(struct vq *q, struct vdm_chain *c,
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

int vq_split_pop(struct vq *q, struct vdm_chain *c)
{
    struct vdm_iov *iov = c->iov;
    uint32_t num = q->num, cap = c->iov_cap, ring_n = 0;
    uint32_t nspan = 0, nread = 0, read_len = 0, write_len = 0;
    bool seen_write = false;
    uint16_t la = q->last_avail, head, idx;
    struct vq_desc d;
    struct vq_walk w;
    int rc;

    if (la == q->shadow_avail) {
        rc = split_refresh(q);
        if (rc <= 0) {
            return rc;
        }
    }
    head = vdm_load_le16(q->drv + AVAIL_RING + 2u * (size_t)(la & q->mask));
    if (VDM_UNLIKELY(head >= num))
        return vq_violation(q, VDM_EPROTO,
                            "avail ring entry (chain head) >= queue size");
    if (VDM_UNLIKELY(q->slots[VQ_SLOT_META(head)] & VQ_META_INFLIGHT))
        return vq_violation(q, VDM_EPROTO,
                            "chain head made available again while in flight");

    /*
     * Fast loop: direct descriptors whose buffers each lie wholly in the
     * region the last lookup hit, while spans fit. Its state is kept in
     * locals; the spans it makes never come from the translate hook, so a
     * violation found here has nothing to give back. Any other descriptor
     * goes, fetched, to split_pop_slow() with the state gathered so far,
     * which applies every rule in the same order (vq_walk_add_slow()).
     * Here, as there, ring descriptors are the chain's data descriptors
     * (an INDIRECT one leaves the loop), so ring_n also counts for
     * max_chain. An indirect table the last lookups' regions hold is
     * walked the same way, below.
     */
    idx = head;
    for (;;) {
        uint32_t access;
        uint8_t *p;
        bool write;

        if (VDM_UNLIKELY(++ring_n > num))
            return vq_violation(q, VDM_EPROTO,
                                "descriptor chain longer than the queue size "
                                "(loop)");
        /* Fetch the descriptor once into d; only d is used afterwards. */
        vq_desc_fetch(&d, q->desc + (size_t)idx * 16u);
        if ((d.w12 & VQ_DESC_F_INDIRECT) != 0u)
            goto indirect;
        write = (d.w12 & VQ_DESC_F_WRITE) != 0u;
        access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
        if (VDM_UNLIKELY(d.len == 0 || nspan >= cap || (!write && seen_write) ||
                         ring_n > q->max_chain ||
                         (uint64_t)read_len + write_len + d.len > UINT32_MAX))
            goto slow;
        p = vdm_mem_hit(q->mem, d.addr, d.len, access, q->mem_hint);
        if (VDM_UNLIKELY(p == NULL)) {
            /* another region (a chain spread over several) */
            p = vdm_mem_hit_scan(q->mem, d.addr, d.len, access, &q->mem_hint);
            if (p == NULL) {
                goto slow;
            }
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
        if (!(d.w12 & VQ_DESC_F_NEXT)) {
            break;
        }
        if (VDM_UNLIKELY(d.w14 >= num))
            return vq_violation(q, VDM_EPROTO, "next index >= queue size");
        idx = d.w14;
    }
    split_consumed(q);
    return vq_pop_finish(q, c, head, (uint16_t)ring_n, nspan, nread, read_len,
                         write_len, false);

indirect:
    /*
     * The chain ends in an indirect table: when it is well-formed and in one
     * region ("Indirect Descriptors"; split_indirect() names each
     * violation), its entries through their NEXT links, with the same rules
     * as above; any other entry goes, fetched, to split_pop_slow_ind().
     */
    {
        const uint8_t *tbl;
        uint32_t tlen, ind_n = 1, ndata = ring_n - 1u;

        if (VDM_UNLIKELY(!(q->flags & VQ_F_INDIRECT) ||
                         (d.w12 & VQ_DESC_F_NEXT) || d.len == 0 ||
                         (d.len & 15u) != 0 || d.len > VQ_INDIRECT_MAX * 16u))
            goto slow;
        tbl = vdm_mem_hit(q->mem, d.addr, d.len, VDM_MEM_READ, q->mem_hint);
        if (VDM_UNLIKELY(tbl == NULL)) {
            tbl = vdm_mem_hit_scan(q->mem, d.addr, d.len, VDM_MEM_READ,
                                   &q->mem_hint);
            if (tbl == NULL) {
                goto slow;
            }
        }
        tlen = d.len >> 4;
        /* Fetch each entry once into d; only d is used afterwards. */
        vq_desc_fetch(&d, tbl);
        for (;;) {
            uint32_t access;
            uint8_t *p;
            bool write = (d.w12 & VQ_DESC_F_WRITE) != 0u;

            access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
            if (VDM_UNLIKELY((d.w12 & VQ_DESC_F_INDIRECT) || d.len == 0 ||
                             nspan >= cap || (!write && seen_write) ||
                             ndata >= q->max_chain ||
                             (uint64_t)read_len + write_len + d.len >
                                 UINT32_MAX))
                goto slow_ind;
            p = vdm_mem_hit(q->mem, d.addr, d.len, access, q->mem_hint);
            if (VDM_UNLIKELY(p == NULL)) {
                p = vdm_mem_hit_scan(q->mem, d.addr, d.len, access,
                                     &q->mem_hint);
                if (p == NULL) {
                    goto slow_ind;
                }
            }
            iov[nspan].base = p;
            iov[nspan].len = d.len;
            iov[nspan].flags = write ? VDM_IOV_F_WRITE : 0;
            nspan++;
            ndata++;
            if (write) {
                seen_write = true;
                write_len += d.len;
            } else {
                read_len += d.len;
                nread++;
            }
            if (!(d.w12 & VQ_DESC_F_NEXT)) {
                break;
            }
            if (VDM_UNLIKELY(d.w14 >= tlen))
                return vq_violation(q, VDM_EPROTO,
                                    "next index beyond the indirect table");
            if (VDM_UNLIKELY(++ind_n > tlen))
                return vq_violation(q, VDM_EPROTO,
                                    "indirect chain longer than its table "
                                    "(loop)");
            vq_desc_fetch(&d, tbl + (size_t)d.w14 * 16u);
        }
        split_consumed(q);
        return vq_pop_finish(q, c, head, (uint16_t)ring_n, nspan, nread,
                             read_len, write_len, false);

    slow_ind:
        vq_walk_resume(&w, c, nspan, nread, ndata, read_len, write_len,
                       seen_write);
        return split_pop_slow_ind(q, c, &w, head, ring_n, tbl, tlen, ind_n, d);
    }

slow:
    /* the data descriptors before this one: ring_n - 1 */
    vq_walk_resume(&w, c, nspan, nread, ring_n - 1u, read_len, write_len,
                   seen_write);
    return split_pop_slow(q, c, &w, head, ring_n, d);
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
    return 0;
}

int vq_split_push1(struct vq *q, uint16_t id, uint32_t len)
{
    uint16_t ui = q->used_idx;
    uint8_t *dev = q->dev, *e = dev + USED_RING + 8u * (size_t)(ui & q->mask);
    uint32_t un = q->unsignalled;

    vdm_put_le32(e, id);
    vdm_put_le32(e + 4, len);
    ui = (uint16_t)(ui + 1u);
    q->used_idx = ui;
    /* len and id before idx ("The Virtqueue Used Ring"). */
    vdm_store_release_le16(dev + USED_IDX, ui);
    q->unsignalled = un + (un != UINT32_MAX); /* saturating */
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
        if (enable != 0)
            vdm_store_le16(avail_event_p(q), q->last_avail);
    } else {
        vdm_store_le16(q->dev + USED_FLAGS,
                       enable ? 0 : (uint16_t)VQ_USED_F_NO_NOTIFY);
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
