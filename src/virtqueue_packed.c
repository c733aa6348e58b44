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
    bool a = (fl & VQ_DESC_F_AVAIL) != 0, u = (fl & VQ_DESC_F_USED) != 0;

    return a == (wrap != 0) && u != (wrap != 0);
}

static inline uint8_t *pdesc(const struct vq *q, uint32_t pos)
{
    return q->desc + (size_t)pos * 16u;
}

int vq_packed_pop(struct vq *q, struct vdm_chain *c)
{
    struct vq_walk w;
    uint32_t pos = q->last_avail, ring_n = 0;
    uint8_t wrap = q->avail_wrap;
    uint16_t f0, id = 0;
    const char *why;
    int err = VDM_EPROTO;

    f0 = vdm_load_acquire_le16(pdesc(q, pos) + PD_FLAGS);
    if (!desc_avail(f0, wrap))
        return 0;

    vq_walk_start(q, &w, c);
    for (;;) {
        uint8_t d[16];
        uint64_t addr;
        uint32_t len;
        uint16_t fl, bid;

        if (++ring_n > q->num) {
            why = "descriptor list longer than the queue size";
            goto bad;
        }
        /* One fetch per descriptor into d; the first one's flags were
         * already read (acquire) above. */
        if (ring_n == 1) {
            __builtin_memcpy(d, pdesc(q, pos), 14);
            fl = f0;
        } else {
            __builtin_memcpy(d, pdesc(q, pos), 16);
            fl = vdm_le16(d + PD_FLAGS);
            if (!desc_avail(fl, wrap)) {
                why = "descriptor list runs into a descriptor not made "
                      "available";
                goto bad;
            }
        }
        addr = vdm_le64(d + PD_ADDR);
        len = vdm_le32(d + PD_LEN);
        bid = vdm_le16(d + PD_ID);
        if (++pos == q->num) {
            pos = 0;
            wrap ^= 1u;
        }

        if (fl & VQ_DESC_F_INDIRECT) {
            const uint8_t *tbl = NULL;
            uint32_t i, tlen;
            int thooked = 0;

            if (!(q->flags & VQ_F_INDIRECT)) {
                why = "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC";
                goto bad;
            }
            /* "A driver MUST NOT write direct descriptors with
             * VIRTQ_DESC_F_INDIRECT set in a scatter-gather list linked by
             * VIRTQ_DESC_F_NEXT." */
            if (ring_n != 1 || (fl & VQ_DESC_F_NEXT)) {
                why = "INDIRECT descriptor in a NEXT-linked list";
                goto bad;
            }
            if (len == 0 || (len & 15u) != 0 || len > VQ_INDIRECT_MAX * 16u) {
                why = "indirect table length 0, not a multiple of 16 or "
                      "over 32768 descriptors";
                goto bad;
            }
            if (vq_map_indirect(q, addr, len, &tbl, &thooked) != 0) {
                err = VDM_EFAULT;
                why = "indirect table outside guest memory";
                goto bad;
            }
            tlen = len >> 4;
            for (i = 0; i < tlen; i++) {
                uint8_t e[16];
                uint16_t efl;

                if (vq_read_indirect(q, tbl, addr, i, e) != 0) {
                    vq_unmap_indirect(q, tbl, len, thooked);
                    err = VDM_EFAULT;
                    why = "indirect table outside guest memory";
                    goto bad;
                }
                efl = vdm_le16(e + PD_FLAGS);
                /* Only WRITE is valid in the table; NEXT and the id are
                 * reserved and ignored, a nested table is refused. */
                if (efl & VQ_DESC_F_INDIRECT) {
                    vq_unmap_indirect(q, tbl, len, thooked);
                    why = "INDIRECT descriptor inside an indirect table";
                    goto bad;
                }
                if (vq_walk_add(q, &w, vdm_le64(e + PD_ADDR),
                                vdm_le32(e + PD_LEN),
                                (efl & VQ_DESC_F_WRITE) != 0) != 0) {
                    vq_unmap_indirect(q, tbl, len, thooked);
                    err = w.err;
                    why = w.why;
                    goto bad;
                }
            }
            vq_unmap_indirect(q, tbl, len, thooked);
            id = bid;
            break;
        }

        if (vq_walk_add(q, &w, addr, len, (fl & VQ_DESC_F_WRITE) != 0) != 0) {
            err = w.err;
            why = w.why;
            goto bad;
        }
        if (!(fl & VQ_DESC_F_NEXT)) {
            id = bid; /* "Buffer ID is included in the last descriptor" */
            break;
        }
    }

    if (q->inflight_desc + ring_n > q->num) {
        why = "more descriptors available than the ring has free";
        goto bad;
    }
    if (id >= q->num) {
        why = "buffer id >= queue size";
        goto bad;
    }
    if (q->slots[VQ_SLOT_META(id)] & VQ_META_INFLIGHT) {
        why = "buffer id made available again while in flight";
        goto bad;
    }
    q->last_avail = (uint16_t)pos;
    q->avail_wrap = wrap;
    q->inflight_desc += ring_n;
    return vq_walk_finish(q, &w, id, (uint16_t)ring_n);

bad:
    /* clean up first: the fault hook (called last) may reset the queue */
    vq_walk_abort(q, &w);
    return vq_violation(q, err, why);
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
        uint32_t off = ow & 0x7fffu, e, dist;

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
