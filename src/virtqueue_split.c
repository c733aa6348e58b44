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
    if ((uint16_t)(ai - la) > q->num)
        return vq_violation(q, VDM_EPROTO,
                            "avail idx ahead of the device by more than the "
                            "queue size");
    q->shadow_avail = ai;
    return ai != la;
}

int vq_split_pop(struct vq *q, struct vdm_chain *c)
{
    struct vq_walk w;
    const uint8_t *tbl = NULL; /* indirect table, when mapped */
    uint64_t tgpa = 0;
    uint32_t tlen = 0, tbytes = 0, ring_n = 0, ind_n = 0;
    uint16_t la = q->last_avail, head, idx;
    bool in_ind = false;
    int thooked = 0, rc;
    const char *why;
    int err = VDM_EPROTO;

    if (la == q->shadow_avail) {
        rc = split_refresh(q);
        if (rc <= 0)
            return rc;
    }
    head = vdm_load_le16(q->drv + AVAIL_RING + 2u * (size_t)(la & q->mask));
    if (head >= q->num)
        return vq_violation(q, VDM_EPROTO,
                            "avail ring entry (chain head) >= queue size");
    if (q->slots[VQ_SLOT_META(head)] & VQ_META_INFLIGHT)
        return vq_violation(q, VDM_EPROTO,
                            "chain head made available again while in flight");

    vq_walk_start(q, &w, c);
    idx = head;
    for (;;) {
        uint8_t d[16];
        uint64_t addr;
        uint32_t len;
        uint16_t fl, nx;

        /* Fetch the descriptor once into d; only d is used afterwards. */
        if (!in_ind) {
            if (++ring_n > q->num) {
                why = "descriptor chain longer than the queue size (loop)";
                goto bad;
            }
            __builtin_memcpy(d, q->desc + (size_t)idx * 16u, 16);
        } else {
            if (++ind_n > tlen) {
                why = "indirect chain longer than its table (loop)";
                goto bad;
            }
            if (vq_read_indirect(q, tbl, tgpa, idx, d) != 0) {
                err = VDM_EFAULT;
                why = "indirect table outside guest memory";
                goto bad;
            }
        }
        addr = vdm_le64(d);
        len = vdm_le32(d + 8);
        fl = vdm_le16(d + 12);
        nx = vdm_le16(d + 14);

        if (fl & VQ_DESC_F_INDIRECT) {
            /* "Indirect Descriptors" driver requirements. */
            if (!(q->flags & VQ_F_INDIRECT)) {
                why = "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC";
                goto bad;
            }
            if (in_ind) {
                why = "INDIRECT descriptor inside an indirect table";
                goto bad;
            }
            if (fl & VQ_DESC_F_NEXT) {
                why = "descriptor has both INDIRECT and NEXT";
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
            in_ind = true;
            tgpa = addr;
            tbytes = len;
            tlen = len >> 4;
            idx = 0;
            continue; /* the WRITE flag of this descriptor is ignored */
        }

        if (vq_walk_add(q, &w, addr, len, (fl & VQ_DESC_F_WRITE) != 0) != 0) {
            err = w.err;
            why = w.why;
            goto bad;
        }
        if (!(fl & VQ_DESC_F_NEXT))
            break;
        if (nx >= (in_ind ? tlen : q->num)) {
            why = in_ind ? "next index beyond the indirect table"
                         : "next index >= queue size";
            goto bad;
        }
        idx = nx;
    }
    vq_unmap_indirect(q, tbl, tbytes, thooked);

    q->last_avail = (uint16_t)(la + 1u);
    if ((q->flags & (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
        (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON))
        vdm_store_le16(avail_event_p(q), q->last_avail);
    return vq_walk_finish(q, &w, head, (uint16_t)ring_n);

bad:
    /* clean up first: the fault hook (called last) may reset the queue */
    vq_unmap_indirect(q, tbl, tbytes, thooked);
    vq_walk_abort(q, &w);
    return vq_violation(q, err, why);
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

        vdm_put_le32(e, u[n - 1].id);
        vdm_put_le32(e + 4, u[n - 1].len);
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

int vq_split_should_notify(struct vq *q)
{
    uint32_t cnt = q->unsignalled;
    uint16_t old = q->signalled, now = q->used_idx;

    q->unsignalled = 0;
    q->signalled = now;
    if (cnt == 0)
        return 0;
    /* used idx published before the driver's fields are read */
    vdm_mb();
    if (q->flags & VQ_F_EVENT_IDX) {
        uint16_t ev;

        if (cnt >= 0x10000u)
            return 1; /* wrapped: cannot tell, a spurious one is allowed */
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
    if (enable)
        q->flags |= VQ_F_NOTIFY_ON;
    else
        q->flags &= (uint8_t)~VQ_F_NOTIFY_ON;
    if (q->flags & VQ_F_EVENT_IDX) {
        /* flags stay 0; avail_event names the next entry we will read.
         * Disabling writes nothing: once pops move past avail_event the
         * driver stops kicking on its own. */
        if (enable)
            vdm_store_le16(avail_event_p(q), q->last_avail);
    } else {
        vdm_store_le16(q->dev + USED_FLAGS,
                       enable ? 0 : (uint16_t)VQ_USED_F_NO_NOTIFY);
    }
    if (!enable)
        return 0;
    vdm_mb();
    return vq_split_has_avail(q);
}

int vq_split_has_avail(struct vq *q)
{
    if (q->last_avail != q->shadow_avail)
        return 1;
    return split_refresh(q);
}
