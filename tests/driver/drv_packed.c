/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue, driver side (VIRTIO 1.4 "Packed Virtqueues").
 *
 * One descriptor ring {addr, len, id, flags} shared by driver and device,
 * plus the driver and device event suppression structures
 * {desc_event_off_wrap, desc_event_flags}, all little-endian.
 *
 * Ring positions are handled as "linear" positions in [0, 2 * size):
 * slot + (wrap ? 0 : size). The Driver and Device Ring Wrap Counters start
 * at 1, so the first lap is [0, size) and the second [size, 2 * size);
 * comparisons are done modulo 2 * size.
 */
#include "drv_priv.h"

/* offsets of desc_event_off_wrap and desc_event_flags in an event
 * suppression structure */
#define PK_OFF_WRAP 0u
#define PK_FLAGS    2u

static unsigned char *pdesc(struct drv_vq *q, uint32_t i)
{
    return q->desc + 16u * i;
}

static uint32_t lin(const struct drv_vq *q, uint32_t off, uint32_t wrap)
{
    return off + (wrap ? 0u : q->num);
}

/* flags bits marking a descriptor available for Driver Ring Wrap Counter w:
 * AVAIL = w, USED = !w */
static uint16_t avail_bits(uint32_t w)
{
    return w ? (uint16_t)DRV_DESC_F_AVAIL : (uint16_t)DRV_DESC_F_USED;
}

static void advance(const struct drv_vq *q, uint32_t *pos, uint32_t *wrap,
                    uint32_t n)
{
    *pos += n;
    if (*pos >= q->num) {
        *pos -= q->num;
        *wrap ^= 1u;
    }
}

void drv_packed_reset(struct drv_vq *q)
{
    for (uint32_t i = 0; i < q->num; i++)
        q->ids[i].next_free = (uint16_t)(i + 1);
    q->id_free = 0;
}

static void write_body(unsigned char *d, uint64_t addr, uint32_t len,
                       uint16_t id)
{
    drv_put_le64(d + DRV_PDESC_ADDR, addr);
    drv_put_le32(d + DRV_PDESC_LEN, len);
    drv_put_le16(d + DRV_PDESC_ID, id);
}

int drv_packed_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
                   const struct drv_buf *in, unsigned nin, int mode,
                   void *cookie)
{
    uint32_t n = nout + nin;
    uint64_t wlen = 0;

    /* "A driver MUST NOT write direct descriptors with VIRTQ_DESC_F_INDIRECT
     * set in a scatter-gather list linked by VIRTQ_DESC_F_NEXT" */
    if (mode == DRV_ADD_MIXED)
        return DRV_EINVAL;
    /* "MUST NOT create a descriptor list longer than the Queue Size" */
    if (n > q->num)
        return DRV_EINVAL;
    uint32_t need = mode == DRV_ADD_INDIRECT ? 1u : n;
    if (need > q->num_free)
        return DRV_ENOSPC;

    uint16_t id = (uint16_t)q->id_free;
    q->id_free = q->ids[id].next_free;
    for (uint32_t k = nout; k < n; k++)
        wlen += in[k - nout].len;

    uint32_t pos = q->next_avail, w = q->avail_wrap;
    uint16_t head_flags;
    uint32_t head_pos = pos;
    if (mode == DRV_ADD_INDIRECT) {
        uint64_t tab = drv_indirect_table(q, id, n);
        unsigned char *h = drv_gpa(q->g, tab, 16ull * n);
        /* only WRITE is valid in the table; Buffer ID is reserved (0) */
        for (uint32_t k = 0; k < n; k++) {
            const struct drv_buf *b = k < nout ? &out[k] : &in[k - nout];
            write_body(h + 16u * k, b->gpa, b->len, 0);
            drv_put_le16(h + 16u * k + DRV_PDESC_FLAGS,
                         k >= nout ? (uint16_t)DRV_DESC_F_WRITE : 0);
        }
        write_body(pdesc(q, pos), tab, 16u * n, id);
        head_flags = (uint16_t)(DRV_DESC_F_INDIRECT | avail_bits(w));
        advance(q, &pos, &w, 1);
    } else {
        head_flags = 0;
        for (uint32_t k = 0; k < n; k++) {
            const struct drv_buf *b = k < nout ? &out[k] : &in[k - nout];
            uint16_t flags = avail_bits(w);
            if (k >= nout)
                flags |= DRV_DESC_F_WRITE;
            if (k + 1 < n)
                flags |= DRV_DESC_F_NEXT;
            /* "Buffer ID is included in the last descriptor in the list" */
            uint16_t did = (k + 1 == n || (q->opts & DRV_OPT_PACKED_ID_ALL))
                               ? id
                               : (uint16_t)~id;
            write_body(pdesc(q, pos), b->gpa, b->len, did);
            if (k == 0) /* made available last, at publish */
                head_flags = flags;
            else
                drv_store16(pdesc(q, pos) + DRV_PDESC_FLAGS, flags,
                            __ATOMIC_RELAXED);
            advance(q, &pos, &w, 1);
        }
    }
    q->next_avail = pos;
    q->avail_wrap = w;
    q->num_free -= need;

    struct drv_id *s = &q->ids[id];
    s->cookie = cookie;
    s->wlen = wlen;
    s->ndesc = (uint16_t)need;
    s->head_pos = (uint16_t)head_pos;
    s->head_flags = head_flags;
    s->indirect = (uint8_t)mode;
    s->state = DRV_ID_ADDED;
    drv_order_append(q, id);
    return id;
}

void drv_packed_publish(struct drv_vq *q)
{
    /* last added first: the earliest pending head, the one the device polls,
     * becomes available only after everything behind it is in place */
    for (uint32_t j = q->n_pending; j-- > 0;) {
        uint16_t id = q->order[(q->ord_pub + j) % q->num];
        struct drv_id *s = &q->ids[id];
        drv_store16(pdesc(q, s->head_pos) + DRV_PDESC_FLAGS, s->head_flags,
                    __ATOMIC_RELEASE);
        s->state = DRV_ID_PUBLISHED;
        q->pub_descs += s->ndesc;
        q->kick_count += s->ndesc;
    }
    q->pub_bufs += q->n_pending;
    q->ord_pub = q->ord_tail;
    q->n_pending = 0;
    q->pub_pos = q->next_avail;
    q->pub_wrap = q->avail_wrap;
}

int drv_packed_kick_needed(struct drv_vq *q)
{
    uint16_t off_wrap = drv_load16(q->device + PK_OFF_WRAP, __ATOMIC_RELAXED);
    uint16_t flags = drv_load16(q->device + PK_FLAGS, __ATOMIC_RELAXED);
    uint32_t count = q->kick_count, old = q->kick_old;

    q->kick_count = 0;
    q->kick_old = lin(q, q->pub_pos, q->pub_wrap);
    if (flags & ~3u)
        return drv_fail(q, "packed: device event flags reserved bits set");
    switch (flags) {
    case DRV_EVENT_ENABLE: return count > 0;
    case DRV_EVENT_DISABLE: return 0;
    case DRV_EVENT_DESC: {
        if (!q->event_idx)
            return drv_fail(q, "packed: device event DESC without EVENT_IDX");
        uint32_t off = off_wrap & 0x7fffu;
        if (off >= q->num)
            return drv_fail(q, "packed: device event offset beyond the ring");
        if (count == 0)
            return 0;
        return drv_in_window(lin(q, off, off_wrap >> 15), old, count,
                             2u * q->num);
    }
    default:
        return drv_fail(q, "packed: device event flags value 3 (reserved)");
    }
}

static void packed_free(struct drv_vq *q, uint16_t id)
{
    struct drv_id *s = &q->ids[id];
    q->num_free += s->ndesc;
    s->state = DRV_ID_FREE;
    s->cookie = NULL;
    s->next_free = (uint16_t)q->id_free;
    q->id_free = id;
    q->n_inflight--;
}

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void report(struct drv_vq *q, struct drv_used *u, uint16_t id,
                   uint32_t len, uint32_t batched, uint32_t raw_len,
                   uint16_t raw_flags)
{
    u->id = id;
    u->len = len;
    u->cookie = q->ids[id].cookie;
    u->batched = batched;
    u->raw_len = raw_len;
    u->raw_flags = raw_flags;
    u->ndesc = q->ids[id].ndesc;
}

static int deliver_batch(struct drv_vq *q, struct drv_used *u)
{
    uint16_t id = q->order[q->ord_front];
    q->ord_front = q->ord_front + 1 == q->num ? 0 : q->ord_front + 1;
    q->batch_left--;
    if (q->batch_left == 0)
        report(q, u, id, q->batch_len, 0, q->batch_len, q->batch_flags);
    else /* "assumed to have been used (read or written) completely" */
        report(q, u, id, clamp32(q->ids[id].wlen), 1, q->batch_len,
               q->batch_flags);
    packed_free(q, id);
    return 1;
}

/* IN_ORDER: buffers covered by a used descriptor carrying @id when the oldest
 * not-yet-covered in-flight buffer sits at order slot @front; sum of their
 * descriptors in *descs */
static uint32_t batch_of(const struct drv_vq *q, uint16_t id, uint32_t front,
                         uint32_t *descs)
{
    uint32_t k = (q->ids[id].ordpos + q->num - front) % q->num + 1;
    uint32_t s = 0;
    for (uint32_t j = 0, p = front; j < k; j++) {
        s += q->ids[q->order[p]].ndesc;
        p = p + 1 == q->num ? 0 : p + 1;
    }
    *descs = s;
    return k;
}

int drv_packed_get_used(struct drv_vq *q, struct drv_used *u)
{
    if (q->batch_left)
        return deliver_batch(q, u);

    unsigned char *d = pdesc(q, q->used_pos);
    uint16_t flags = drv_load16(d + DRV_PDESC_FLAGS, __ATOMIC_ACQUIRE);
    uint32_t a = (flags & DRV_DESC_F_AVAIL) != 0,
             us = (flags & DRV_DESC_F_USED) != 0;
    int used = a == q->used_wrap && us == q->used_wrap;

    if (q->pub_descs == 0) {
        if (used)
            return drv_fail(
                q, "packed: used descriptor while nothing was made available");
        return 0;
    }
    if (!used) {
        /* the slot still holds the driver's available descriptor of this lap */
        if (a == q->used_wrap && us != q->used_wrap)
            return 0;
        return drv_fail(q, "packed: bad AVAIL/USED bits at the used position");
    }

    uint16_t id = drv_get_le16(d + DRV_PDESC_ID);
    uint32_t len = drv_get_le32(d + DRV_PDESC_LEN);
    if (id >= q->num || q->ids[id].state != DRV_ID_PUBLISHED)
        return drv_fail(q, "packed: used buffer id is not in flight");
    /* "Element Length is reserved for used descriptors without
     * VIRTQ_DESC_F_WRITE, and is ignored by drivers" */
    uint32_t rlen = (flags & DRV_DESC_F_WRITE) ? len : 0;
    if (rlen > q->ids[id].wlen)
        return drv_fail(
            q, "packed: used len exceeds the buffer's device-writable length");

    if (!q->in_order) {
        uint32_t skip = q->ids[id].ndesc;
        if (skip > q->pub_descs)
            return drv_fail(
                q, "packed: used skip beyond the published descriptors");
        advance(q, &q->used_pos, &q->used_wrap, skip);
        q->pub_descs -= skip;
        q->pub_bufs--;
        report(q, u, id, rlen, 0, rlen, flags);
        packed_free(q, id);
        return 1;
    }
    uint32_t skip;
    uint32_t k = batch_of(q, id, q->ord_front, &skip);
    if (skip > q->pub_descs || k > q->pub_bufs)
        return drv_fail(q,
                        "packed: IN_ORDER batch beyond the published buffers");
    advance(q, &q->used_pos, &q->used_wrap, skip);
    q->pub_descs -= skip;
    q->pub_bufs -= k;
    q->batch_left = k;
    q->batch_len = rlen;
    q->batch_flags = flags;
    return deliver_batch(q, u);
}

int drv_packed_more_used(struct drv_vq *q)
{
    uint16_t flags =
        drv_load16(pdesc(q, q->used_pos) + DRV_PDESC_FLAGS, __ATOMIC_ACQUIRE);
    uint32_t a = (flags & DRV_DESC_F_AVAIL) != 0,
             us = (flags & DRV_DESC_F_USED) != 0;
    return a == q->used_wrap && us == q->used_wrap;
}

void drv_packed_enable_cb(struct drv_vq *q, int at, uint16_t pos)
{
    if (!q->event_idx) {
        drv_store16(q->driver + PK_FLAGS, DRV_EVENT_ENABLE, __ATOMIC_RELEASE);
        return;
    }
    uint16_t ow = at ? pos : (uint16_t)(q->used_pos | (q->used_wrap << 15));
    drv_store16(q->driver + PK_OFF_WRAP, ow, __ATOMIC_RELAXED);
    drv_store16(q->driver + PK_FLAGS, DRV_EVENT_DESC, __ATOMIC_RELEASE);
}

void drv_packed_disable_cb(struct drv_vq *q)
{
    drv_store16(q->driver + PK_FLAGS, DRV_EVENT_DISABLE, __ATOMIC_RELEASE);
}

static int eval_used(const struct drv_vq *q, uint32_t old, uint32_t count)
{
    uint16_t flags = drv_load16(q->driver + PK_FLAGS, __ATOMIC_RELAXED);
    uint16_t off_wrap = drv_load16(q->driver + PK_OFF_WRAP, __ATOMIC_RELAXED);
    if (count == 0)
        return 0;
    switch (flags) {
    case DRV_EVENT_ENABLE: return 1;
    case DRV_EVENT_DISABLE: return 0;
    case DRV_EVENT_DESC: {
        uint32_t off = off_wrap & 0x7fffu;
        if (!q->event_idx || off >= q->num)
            return DRV_EINVAL; /* only a raw write can put this here */
        return drv_in_window(lin(q, off, off_wrap >> 15), old, count,
                             2u * q->num);
    }
    default: return DRV_EINVAL;
    }
}

int drv_packed_interrupt_expected(struct drv_vq *q)
{
    /* find the device's used position: walk the used descriptors the driver
     * has not consumed yet, skipping as the device does */
    uint32_t pos = q->used_pos, w = q->used_wrap;
    uint32_t budget = q->pub_descs, bufs = q->pub_bufs;
    uint32_t front = (q->ord_front + q->batch_left) % q->num;
    while (budget) {
        unsigned char *d = pdesc(q, pos);
        uint16_t flags = drv_load16(d + DRV_PDESC_FLAGS, __ATOMIC_ACQUIRE);
        uint32_t a = (flags & DRV_DESC_F_AVAIL) != 0,
                 us = (flags & DRV_DESC_F_USED) != 0;
        if (a != w || us != w)
            break;
        uint16_t id = drv_get_le16(d + DRV_PDESC_ID);
        if (id >= q->num || q->ids[id].state != DRV_ID_PUBLISHED)
            break;
        uint32_t s, nb = 1;
        if (!q->in_order) {
            s = q->ids[id].ndesc;
        } else {
            nb = batch_of(q, id, front, &s);
            if (nb > bufs)
                break;
            front = (front + nb) % q->num;
        }
        if (s > budget)
            break;
        advance(q, &pos, &w, s);
        budget -= s;
        bufs -= nb;
    }
    uint32_t now = lin(q, pos, w), old = q->irq_old;
    q->irq_old = now;
    return eval_used(q, old, (now + 2u * q->num - old) % (2u * q->num));
}

int drv_packed_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                    uint16_t new_pos)
{
    uint32_t o = old_pos & 0x7fffu, n = new_pos & 0x7fffu;
    if (o >= q->num || n >= q->num)
        return DRV_EINVAL;
    uint32_t lo = lin(q, o, old_pos >> 15), ln = lin(q, n, new_pos >> 15);
    return eval_used(q, lo, (ln + 2u * q->num - lo) % (2u * q->num));
}

void drv_packed_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr,
                         uint32_t len, uint16_t flags, uint16_t id)
{
    unsigned char *d = pdesc(q, i);
    write_body(d, addr, len, id);
    drv_store16(d + DRV_PDESC_FLAGS, flags, __ATOMIC_RELEASE);
}
