/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, driver side (VIRTIO 1.4 "Split Virtqueues").
 *
 * Descriptor table, avail ring (flags, idx, ring[num], used_event) and used
 * ring (flags, idx, ring[num] {id, len}, avail_event), all little-endian.
 * The driver keeps its own shadow of descriptor links (q->next) and never
 * reads back what it wrote to guest memory, so a device scribbling on the
 * rings cannot corrupt the driver's bookkeeping, only be detected.
 */
#include "drv_priv.h"

static unsigned char *sdesc(struct drv_vq *q, uint32_t i)
{
    return q->desc + 16u * i;
}

static void write_sdesc(unsigned char *d, uint64_t addr, uint32_t len,
                        uint16_t flags, uint16_t next)
{
    drv_put_le64(d + DRV_SDESC_ADDR, addr);
    drv_put_le32(d + DRV_SDESC_LEN, len);
    drv_put_le16(d + DRV_SDESC_FLAGS, flags);
    drv_put_le16(d + DRV_SDESC_NEXT, next);
}

void drv_split_reset(struct drv_vq *q)
{
    /* free list through the shadow links; q->num marks the end */
    for (uint32_t i = 0; i < q->num; i++)
        q->next[i] = (uint16_t)(i + 1);
    q->free_head = 0;
    q->next_desc = 0;
}

static uint16_t alloc_desc(struct drv_vq *q)
{
    uint16_t d;
    if (q->in_order) {
        /* "driver uses descriptors in ring order ... wrapping around" */
        d = (uint16_t)q->next_desc;
        q->next_desc = (q->next_desc + 1) & (q->num - 1);
    } else {
        d = (uint16_t)q->free_head;
        q->free_head = q->next[d];
    }
    q->num_free--;
    return d;
}

static const struct drv_buf *elem(const struct drv_buf *out, unsigned nout,
                                  const struct drv_buf *in, uint32_t k)
{
    return k < nout ? &out[k] : &in[k - nout];
}

int drv_split_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
                  const struct drv_buf *in, unsigned nin, int mode,
                  void *cookie)
{
    uint32_t n = nout + nin;
    uint32_t t = 0; /* entries in the indirect table */
    uint64_t wlen = 0;

    if (mode == DRV_ADD_INDIRECT)
        t = n;
    else if (mode == DRV_ADD_MIXED)
        t = nin ? nin : 1;
    uint32_t direct = n - t;
    uint32_t need = direct + (t ? 1u : 0u);
    /* "A driver MUST NOT create a descriptor chain longer than the Queue
     * Size of the device" (applies to the table too) */
    if (need > q->num || t > q->num)
        return DRV_EINVAL;
    if (need > q->num_free)
        return DRV_ENOSPC;

    for (uint32_t k = 0; k < need; k++)
        q->scratch[k] = alloc_desc(q);
    uint16_t head = q->scratch[0];

    for (uint32_t k = 0; k < n; k++) {
        if (k >= nout)
            wlen += in[k - nout].len;
    }
    /* direct part: device-readable elements first ("Message Framing") */
    for (uint32_t k = 0; k < direct; k++) {
        const struct drv_buf *b = elem(out, nout, in, k);
        uint16_t flags = k >= nout ? (uint16_t)DRV_DESC_F_WRITE : 0;
        uint16_t nx = 0;
        if (k + 1 < need) {
            flags |= DRV_DESC_F_NEXT;
            nx = q->scratch[k + 1];
        }
        q->next[q->scratch[k]] = nx;
        write_sdesc(sdesc(q, q->scratch[k]), b->gpa, b->len, flags, nx);
    }
    if (t) {
        uint64_t tab = drv_indirect_table(q, head, t);
        unsigned char *h = drv_gpa(q->g, tab, 16ull * t);
        /* "indirect descriptors use sequential indices": next = j + 1 */
        for (uint32_t j = 0; j < t; j++) {
            uint32_t k = direct + j;
            const struct drv_buf *b = elem(out, nout, in, k);
            uint16_t flags = k >= nout ? (uint16_t)DRV_DESC_F_WRITE : 0;
            uint16_t nx = 0;
            if (j + 1 < t) {
                flags |= DRV_DESC_F_NEXT;
                nx = (uint16_t)(j + 1);
            }
            write_sdesc(h + 16u * j, b->gpa, b->len, flags, nx);
        }
        /* INDIRECT and NEXT never together; WRITE not set on it */
        q->next[q->scratch[need - 1]] = 0;
        write_sdesc(sdesc(q, q->scratch[need - 1]), tab, 16u * t,
                    DRV_DESC_F_INDIRECT, 0);
    }

    /* next avail ring entry; visible only when idx moves (publish) */
    drv_store16(q->driver + DRV_SPLIT_AVAIL_RING(q->avail_idx & (q->num - 1)),
                head, __ATOMIC_RELAXED);
    q->avail_idx++;

    struct drv_id *s = &q->ids[head];
    s->cookie = cookie;
    s->wlen = wlen;
    s->ndesc = (uint16_t)need;
    s->indirect = (uint8_t)mode;
    s->state = DRV_ID_ADDED;
    drv_order_append(q, head);
    return head;
}

void drv_split_publish(struct drv_vq *q)
{
    for (uint32_t j = 0, p = q->ord_pub; j < q->n_pending; j++) {
        q->ids[q->order[p]].state = DRV_ID_PUBLISHED;
        p = p + 1 == q->num ? 0 : p + 1;
    }
    q->pub_bufs += q->n_pending;
    q->kick_count += q->n_pending;
    q->ord_pub = q->ord_tail;
    q->n_pending = 0;
    q->avail_pub = q->avail_idx;
    /* "suitable memory barrier before the idx update": release store */
    drv_store16(q->driver + DRV_SPLIT_AVAIL_IDX, q->avail_idx,
                __ATOMIC_RELEASE);
}

int drv_split_kick_needed(struct drv_vq *q)
{
    uint16_t flags =
        drv_load16(q->device + DRV_SPLIT_USED_FLAGS, __ATOMIC_RELAXED);
    uint16_t ev = drv_load16(q->device + DRV_SPLIT_USED_AVAIL_EVENT(q->num),
                             __ATOMIC_RELAXED);
    uint32_t count = q->kick_count, old = q->kick_old;

    q->kick_count = 0;
    q->kick_old = q->avail_pub;
    if (q->event_idx) {
        /* device "MUST set flags to 0" with EVENT_IDX */
        if (flags != 0)
            return drv_fail(q, "split: used flags not 0 with EVENT_IDX");
        if (count == 0)
            return 0;
        return drv_in_window(ev, old, count, 65536u);
    }
    /* device "MUST set flags to 0 or 1" */
    if (flags > 1)
        return drv_fail(q, "split: used flags not 0 or 1");
    if (count == 0)
        return 0;
    return (flags & DRV_USED_F_NO_NOTIFY) ? 0 : 1;
}

static void split_free(struct drv_vq *q, uint16_t head)
{
    struct drv_id *s = &q->ids[head];
    if (!q->in_order) {
        uint16_t d = head;
        for (uint32_t k = 1; k < s->ndesc; k++)
            d = q->next[d];
        q->next[d] = (uint16_t)q->free_head;
        q->free_head = head;
    }
    q->num_free += s->ndesc;
    s->state = DRV_ID_FREE;
    s->cookie = NULL;
    q->n_inflight--;
}

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void report(struct drv_vq *q, struct drv_used *u, uint16_t id,
                   uint32_t len, uint32_t batched, uint32_t raw_len)
{
    u->id = id;
    u->len = len;
    u->cookie = q->ids[id].cookie;
    u->batched = batched;
    u->raw_len = raw_len;
    u->raw_flags = 0;
    u->ndesc = q->ids[id].ndesc;
}

/* IN_ORDER: hand out the next buffer of the current batch */
static int deliver_batch(struct drv_vq *q, struct drv_used *u)
{
    uint16_t id = q->order[q->ord_front];
    q->ord_front = q->ord_front + 1 == q->num ? 0 : q->ord_front + 1;
    q->batch_left--;
    if (q->batch_left == 0)
        report(q, u, id, q->batch_len, 0, q->batch_len);
    else /* "assumed to have been used (read or written) completely" */
        report(q, u, id, clamp32(q->ids[id].wlen), 1, q->batch_len);
    split_free(q, id);
    return 1;
}

int drv_split_get_used(struct drv_vq *q, struct drv_used *u)
{
    if (q->batch_left)
        return deliver_batch(q, u);

    uint16_t uidx =
        drv_load16(q->device + DRV_SPLIT_USED_IDX, __ATOMIC_ACQUIRE);
    uint16_t adv = (uint16_t)(uidx - q->last_used);
    if (adv == 0)
        return 0;
    if (adv > q->pub_bufs)
        return drv_fail(
            q, "split: used idx moved past the buffers made available");

    const unsigned char *e =
        q->device + DRV_SPLIT_USED_RING(q->last_used & (q->num - 1));
    uint32_t id = drv_get_le32(e);
    uint32_t len = drv_get_le32(e + 4);
    if (id >= q->num || q->ids[id].state != DRV_ID_PUBLISHED)
        return drv_fail(q,
                        "split: used id is not the head of a buffer in flight");
    if (len > q->ids[id].wlen)
        return drv_fail(
            q, "split: used len exceeds the buffer's device-writable length");

    if (!q->in_order) {
        q->last_used++;
        q->pub_bufs--;
        report(q, u, (uint16_t)id, len, 0, len);
        split_free(q, (uint16_t)id);
        return 1;
    }
    /* IN_ORDER: the entry stands for every buffer from the oldest up to id */
    uint32_t k = (q->ids[id].ordpos + q->num - q->ord_front) % q->num + 1;
    if (k > adv)
        return drv_fail(q, "split: IN_ORDER used entry covers more buffers "
                           "than used idx advanced");
    q->batch_left = k;
    q->batch_len = len;
    q->last_used = (uint16_t)(q->last_used + k);
    q->pub_bufs -= k;
    return deliver_batch(q, u);
}

int drv_split_more_used(struct drv_vq *q)
{
    return drv_load16(q->device + DRV_SPLIT_USED_IDX, __ATOMIC_ACQUIRE) !=
           q->last_used;
}

void drv_split_enable_cb(struct drv_vq *q, int at, uint16_t pos)
{
    if (!q->event_idx)
        drv_store16(q->driver + DRV_SPLIT_AVAIL_FLAGS, 0, __ATOMIC_RELAXED);
    else
        drv_store16(q->driver + DRV_SPLIT_AVAIL_USED_EVENT(q->num),
                    at ? pos : q->last_used, __ATOMIC_RELAXED);
}

void drv_split_disable_cb(struct drv_vq *q)
{
    if (!q->event_idx)
        drv_store16(q->driver + DRV_SPLIT_AVAIL_FLAGS, DRV_AVAIL_F_NO_INTERRUPT,
                    __ATOMIC_RELAXED);
    else /* flags must stay 0: put the event as far away as possible */
        drv_store16(q->driver + DRV_SPLIT_AVAIL_USED_EVENT(q->num),
                    (uint16_t)(q->last_used - 1), __ATOMIC_RELAXED);
}

static int eval_used(const struct drv_vq *q, uint16_t old, uint32_t count)
{
    if (count == 0)
        return 0;
    if (q->event_idx) {
        uint16_t ev = drv_load16(q->driver + DRV_SPLIT_AVAIL_USED_EVENT(q->num),
                                 __ATOMIC_RELAXED);
        return drv_in_window(ev, old, count, 65536u);
    }
    uint16_t flags =
        drv_load16(q->driver + DRV_SPLIT_AVAIL_FLAGS, __ATOMIC_RELAXED);
    return (flags & DRV_AVAIL_F_NO_INTERRUPT) ? 0 : 1;
}

int drv_split_interrupt_expected(struct drv_vq *q)
{
    uint16_t uidx =
        drv_load16(q->device + DRV_SPLIT_USED_IDX, __ATOMIC_ACQUIRE);
    uint16_t old = (uint16_t)q->irq_old;
    q->irq_old = uidx;
    return eval_used(q, old, (uint16_t)(uidx - old));
}

int drv_split_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                   uint16_t new_pos)
{
    return eval_used(q, old_pos, (uint16_t)(new_pos - old_pos));
}

void drv_split_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr,
                        uint32_t len, uint16_t flags, uint16_t next)
{
    write_sdesc(sdesc(q, i), addr, len, flags, next);
}
