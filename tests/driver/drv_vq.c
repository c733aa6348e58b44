/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver-side virtqueue: the front common to split and packed rings.
 * Ring setup, bookkeeping shared by both formats, dispatch and raw access.
 */
#include "drv_priv.h"

#include <stdlib.h>

int drv_fail(struct drv_vq *q, const char *why)
{
    if (!q->broken) {
        q->broken = 1;
        q->err = why;
    }
    return DRV_EDEVICE;
}

int drv_in_window(uint32_t ev, uint32_t old, uint32_t count, uint32_t mod)
{
    if (count >= mod)
        return 1;
    return (ev + mod - old) % mod < count;
}

void drv_order_append(struct drv_vq *q, uint16_t id)
{
    q->order[q->ord_tail] = id;
    q->ids[id].ordpos = (uint16_t)q->ord_tail;
    q->ord_tail = q->ord_tail + 1 == q->num ? 0 : q->ord_tail + 1;
    q->n_pending++;
    q->n_inflight++;
}

uint64_t drv_indirect_table(struct drv_vq *q, uint16_t id, uint32_t entries)
{
    struct drv_id *s = &q->ids[id];
    if (s->ind_gpa == 0 || s->ind_cap < entries) {
        uint32_t cap = 4;
        while (cap < entries)
            cap *= 2;
        s->ind_gpa = drv_alloc(q->g, (uint64_t)cap * 16u, 16);
        s->ind_cap = cap;
    }
    return s->ind_gpa;
}

static int split_sizes_ok(uint32_t num)
{
    return num >= 1 && num <= DRV_VQ_MAX && (num & (num - 1)) == 0;
}

static uint64_t area_size(const struct drv_vq *q, int which)
{
    if (which == 0)
        return 16ull * q->num;
    if (q->packed)
        return 4;
    return which == 1 ? DRV_SPLIT_AVAIL_SIZE(q->num)
                      : DRV_SPLIT_USED_SIZE(q->num);
}

static int setup(struct drv_vq *q, struct drv_guest *g, uint32_t num,
                 uint64_t features)
{
    memset(q, 0, sizeof(*q));
    q->g = g;
    q->features = features;
    q->num = num;
    q->packed = (features & DRV_F_PACKED) != 0;
    q->event_idx = (features & DRV_F_EVENT_IDX) != 0;
    q->in_order = (features & DRV_F_IN_ORDER) != 0;
    q->indirect_ok = (features & DRV_F_INDIRECT) != 0;
    if (q->packed ? (num < 1 || num > DRV_VQ_MAX) : !split_sizes_ok(num))
        return DRV_EINVAL;
    q->ids = calloc(num, sizeof(*q->ids));
    q->next = calloc(num, sizeof(*q->next));
    q->order = calloc(num, sizeof(*q->order));
    q->scratch = calloc(num, sizeof(*q->scratch));
    if (!q->ids || !q->next || !q->order || !q->scratch) {
        drv_vq_fini(q);
        return -1;
    }
    return 0;
}

static int place(struct drv_vq *q, uint64_t desc, uint64_t driver,
                 uint64_t device)
{
    uint64_t al[3] = {16, q->packed ? 4u : 2u, 4};
    uint64_t gpa[3] = {desc, driver, device};
    unsigned char *hva[3];
    for (int i = 0; i < 3; i++) {
        if (gpa[i] & (al[i] - 1))
            return DRV_EINVAL;
        hva[i] = drv_gpa(q->g, gpa[i], area_size(q, i));
        if (!hva[i])
            return DRV_EINVAL;
    }
    q->desc_gpa = desc;
    q->driver_gpa = driver;
    q->device_gpa = device;
    q->desc = hva[0];
    q->driver = hva[1];
    q->device = hva[2];
    return 0;
}

int drv_vq_init(struct drv_vq *q, struct drv_guest *g, uint16_t num,
                uint64_t features)
{
    int r = setup(q, g, num, features);
    if (r)
        return r;
    uint64_t d = drv_alloc(g, area_size(q, 0), 16);
    uint64_t dr = drv_alloc(g, area_size(q, 1), 4);
    uint64_t dv = drv_alloc(g, area_size(q, 2), 4);
    r = place(q, d, dr, dv);
    if (r) {
        drv_vq_fini(q);
        return r;
    }
    drv_vq_reset(q);
    return 0;
}

int drv_vq_init_at(struct drv_vq *q, struct drv_guest *g, uint16_t num,
                   uint64_t features, uint64_t desc_gpa, uint64_t driver_gpa,
                   uint64_t device_gpa)
{
    int r = setup(q, g, num, features);
    if (r)
        return r;
    r = place(q, desc_gpa, driver_gpa, device_gpa);
    if (r) {
        drv_vq_fini(q);
        return r;
    }
    drv_vq_reset(q);
    return 0;
}

void drv_vq_fini(struct drv_vq *q)
{
    free(q->ids);
    free(q->next);
    free(q->order);
    free(q->scratch);
    q->ids = NULL;
    q->next = q->order = q->scratch = NULL;
}

void drv_vq_reset(struct drv_vq *q)
{
    memset(q->desc, 0, (size_t)area_size(q, 0));
    memset(q->driver, 0, (size_t)area_size(q, 1));
    memset(q->device, 0, (size_t)area_size(q, 2));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < q->num; i++) {
        q->ids[i].state = DRV_ID_FREE;
        q->ids[i].cookie = NULL;
    }
    q->num_free = q->num;
    q->avail_idx = q->avail_pub = 0;
    q->next_avail = q->pub_pos = 0;
    q->avail_wrap = q->pub_wrap = 1;
    q->ord_tail = q->ord_pub = q->ord_front = 0;
    q->n_pending = q->n_inflight = q->pub_bufs = q->pub_descs = 0;
    q->last_used = 0;
    q->used_pos = 0;
    q->used_wrap = 1;
    q->batch_left = q->batch_len = 0;
    q->batch_flags = 0;
    q->kick_old = q->kick_count = q->irq_old = 0;
    q->broken = 0;
    q->err = NULL;
    q->detach_cursor = 0;
    if (q->packed)
        drv_packed_reset(q);
    else
        drv_split_reset(q);
}

void drv_vq_set_opts(struct drv_vq *q, unsigned opts)
{
    q->opts = opts;
}

uint32_t drv_vq_num(const struct drv_vq *q)
{
    return q->num;
}

uint64_t drv_vq_desc_gpa(const struct drv_vq *q)
{
    return q->desc_gpa;
}

uint64_t drv_vq_driver_gpa(const struct drv_vq *q)
{
    return q->driver_gpa;
}

uint64_t drv_vq_device_gpa(const struct drv_vq *q)
{
    return q->device_gpa;
}

int drv_vq_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
               const struct drv_buf *in, unsigned nin, int indirect,
               void *cookie)
{
    uint64_t total = 0;
    if (q->broken)
        return DRV_EDEVICE;
    /* a buffer has at least one element (spec "Supplying Buffers") */
    if (nout + nin == 0 || nout > DRV_VQ_MAX || nin > DRV_VQ_MAX)
        return DRV_EINVAL;
    if ((nout && !out) || (nin && !in))
        return DRV_EINVAL;
    if (indirect != DRV_ADD_DIRECT && indirect != DRV_ADD_INDIRECT &&
        indirect != DRV_ADD_MIXED)
        return DRV_EINVAL;
    if (indirect != DRV_ADD_DIRECT && !q->indirect_ok)
        return DRV_EINVAL;
    /* "MUST NOT add a descriptor chain longer than 2^32 bytes in total" */
    for (unsigned i = 0; i < nout; i++)
        total += out[i].len;
    for (unsigned i = 0; i < nin; i++)
        total += in[i].len;
    if (total > (1ull << 32))
        return DRV_EINVAL;
    int r = q->packed ? drv_packed_add(q, out, nout, in, nin, indirect, cookie)
                      : drv_split_add(q, out, nout, in, nin, indirect, cookie);
    if (r >= 0)
        q->stat_added++;
    return r;
}

void drv_vq_publish(struct drv_vq *q)
{
    if (q->packed)
        drv_packed_publish(q);
    else
        drv_split_publish(q);
}

int drv_vq_kick_needed(struct drv_vq *q)
{
    q->stat_kicks_checked++;
    /* "suitable memory barrier before reading flags or avail_event" */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return q->packed ? drv_packed_kick_needed(q) : drv_split_kick_needed(q);
}

uint16_t drv_vq_next_off_wrap(const struct drv_vq *q)
{
    if (q->packed)
        return (uint16_t)(q->pub_pos | (q->pub_wrap << 15));
    return q->avail_pub;
}

int drv_vq_get_used_ex(struct drv_vq *q, struct drv_used *u)
{
    memset(u, 0, sizeof(*u));
    if (q->broken)
        return DRV_EDEVICE;
    int r = q->packed ? drv_packed_get_used(q, u) : drv_split_get_used(q, u);
    if (r == 1)
        q->stat_used++;
    return r;
}

int drv_vq_get_used(struct drv_vq *q, uint32_t *id, uint32_t *len,
                    void **cookie)
{
    struct drv_used u;
    int r = drv_vq_get_used_ex(q, &u);
    if (r == 1) {
        if (id)
            *id = u.id;
        if (len)
            *len = u.len;
        if (cookie)
            *cookie = u.cookie;
    }
    return r;
}

int drv_vq_more_used(struct drv_vq *q)
{
    if (q->broken || q->batch_left)
        return 1;
    return q->packed ? drv_packed_more_used(q) : drv_split_more_used(q);
}

void drv_vq_enable_cb(struct drv_vq *q)
{
    if (q->packed)
        drv_packed_enable_cb(q, 0, 0);
    else
        drv_split_enable_cb(q, 0, 0);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void drv_vq_enable_cb_at(struct drv_vq *q, uint16_t pos)
{
    if (q->packed)
        drv_packed_enable_cb(q, 1, pos);
    else
        drv_split_enable_cb(q, 1, pos);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void drv_vq_disable_cb(struct drv_vq *q)
{
    if (q->packed)
        drv_packed_disable_cb(q);
    else
        drv_split_disable_cb(q);
}

int drv_vq_interrupt_expected(struct drv_vq *q)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return q->packed ? drv_packed_interrupt_expected(q)
                     : drv_split_interrupt_expected(q);
}

int drv_vq_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                uint16_t new_pos)
{
    return q->packed ? drv_packed_used_event_triggered(q, old_pos, new_pos)
                     : drv_split_used_event_triggered(q, old_pos, new_pos);
}

unsigned drv_vq_num_free(const struct drv_vq *q)
{
    return q->num_free;
}

unsigned drv_vq_inflight(const struct drv_vq *q)
{
    return q->n_inflight;
}

uint16_t drv_vq_avail_idx(const struct drv_vq *q)
{
    return drv_vq_next_off_wrap(q);
}

uint16_t drv_vq_last_used(const struct drv_vq *q)
{
    if (q->packed)
        return (uint16_t)(q->used_pos | (q->used_wrap << 15));
    return q->last_used;
}

const char *drv_vq_error(const struct drv_vq *q)
{
    return q->err;
}

int drv_vq_detach(struct drv_vq *q, uint32_t *id, void **cookie)
{
    while (q->detach_cursor < q->num) {
        uint32_t i = q->detach_cursor++;
        struct drv_id *s = &q->ids[i];
        if (s->state == DRV_ID_FREE)
            continue;
        if (id)
            *id = i;
        if (cookie)
            *cookie = s->cookie;
        s->state = DRV_ID_FREE;
        s->cookie = NULL;
        return 1;
    }
    return 0;
}

void *drv_vq_desc_hva(struct drv_vq *q)
{
    return q->desc;
}

void *drv_vq_avail_hva(struct drv_vq *q)
{
    return q->driver;
}

void *drv_vq_used_hva(struct drv_vq *q)
{
    return q->device;
}

void drv_vq_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next_or_id)
{
    uint16_t slot = (uint16_t)(i % q->num);
    if (q->packed)
        drv_packed_raw_desc(q, slot, addr, len, flags, next_or_id);
    else
        drv_split_raw_desc(q, slot, addr, len, flags, next_or_id);
}

void drv_vq_raw_avail(struct drv_vq *q, uint16_t slot, uint16_t head)
{
    if (q->packed)
        return;
    drv_store16(q->driver + DRV_SPLIT_AVAIL_RING(slot % q->num), head,
                __ATOMIC_RELAXED);
}

void drv_vq_raw_avail_idx(struct drv_vq *q, uint16_t idx)
{
    if (q->packed)
        return;
    drv_store16(q->driver + DRV_SPLIT_AVAIL_IDX, idx, __ATOMIC_RELEASE);
}

void drv_vq_raw_driver_flags(struct drv_vq *q, uint16_t flags)
{
    drv_store16(q->driver + (q->packed ? 2u : DRV_SPLIT_AVAIL_FLAGS), flags,
                __ATOMIC_RELEASE);
}

void drv_vq_raw_used_event(struct drv_vq *q, uint16_t v)
{
    drv_store16(q->driver +
                    (q->packed ? 0u : DRV_SPLIT_AVAIL_USED_EVENT(q->num)),
                v, __ATOMIC_RELEASE);
}
