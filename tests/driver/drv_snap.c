/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshot of the driver simulator: the host-side bookkeeping of one
 * drv_vq (what a real guest driver keeps in guest RAM: free lists, shadow
 * indexes, the buffers it has in flight) and the bump allocator of a
 * drv_guest, written to a byte buffer and read back in another process.
 * See drv.h ("Snapshot") for the layout.
 *
 * Guest memory itself (the rings, the buffers) is not part of it: the
 * caller saves and restores guest RAM as a whole.
 */
#include "drv_priv.h"

#include <stddef.h>
#include <stdlib.h>

#define SNAP_MAGIC 0x53515644u /* "DVQS" */

#define VQF(m) DRV_SNAP_FIELD(struct drv_vq, m)
#define IDF(m) DRV_SNAP_FIELD(struct drv_id, m)

/* Every member of struct drv_vq that is neither a pointer nor derived from
 * features (packed, event_idx, in_order, indirect_ok) nor a diagnostic. */
static const struct drv_snap_field vq_fields[] = {
    VQF(features),
    VQF(num),
    VQF(opts),
    VQF(desc_gpa),
    VQF(driver_gpa),
    VQF(device_gpa),
    VQF(num_free),
    VQF(free_head),
    VQF(next_desc),
    VQF(id_free),
    VQF(avail_idx),
    VQF(avail_pub),
    VQF(next_avail),
    VQF(avail_wrap),
    VQF(pub_pos),
    VQF(pub_wrap),
    VQF(ord_tail),
    VQF(ord_pub),
    VQF(ord_front),
    VQF(n_pending),
    VQF(n_inflight),
    VQF(pub_bufs),
    VQF(pub_descs),
    VQF(last_used),
    VQF(used_pos),
    VQF(used_wrap),
    VQF(batch_left),
    VQF(batch_len),
    VQF(batch_flags),
    VQF(kick_old),
    VQF(kick_count),
    VQF(irq_old),
    VQF(stat_added),
    VQF(stat_used),
    VQF(stat_kicks_checked),
};

/* struct drv_id without its cookie (written as the caller's number). */
static const struct drv_snap_field id_fields[] = {
    IDF(wlen),       IDF(ind_gpa), IDF(ind_cap),   IDF(ndesc), IDF(head_pos),
    IDF(head_flags), IDF(ordpos),  IDF(next_free), IDF(state), IDF(indirect),
};

#define NVQF (sizeof(vq_fields) / sizeof(vq_fields[0]))
#define NIDF (sizeof(id_fields) / sizeof(id_fields[0]))

/* Every field is stored as a le64, whatever its width in memory. */
static uint64_t field_get(const void *base, const struct drv_snap_field *f)
{
    const unsigned char *p = (const unsigned char *)base + f->off;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;

    switch (f->size) {
    case 1: memcpy(&v8, p, 1); return v8;
    case 2: memcpy(&v16, p, 2); return v16;
    case 4: memcpy(&v32, p, 4); return v32;
    default: memcpy(&v64, p, 8); return v64;
    }
}

/* 0, or -1 when @p v does not fit the member. */
static int field_set(void *base, const struct drv_snap_field *f, uint64_t v)
{
    unsigned char *p = (unsigned char *)base + f->off;
    uint8_t v8 = (uint8_t)v;
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;

    switch (f->size) {
    case 1: memcpy(p, &v8, 1); return v8 == v ? 0 : -1;
    case 2: memcpy(p, &v16, 2); return v16 == v ? 0 : -1;
    case 4: memcpy(p, &v32, 4); return v32 == v ? 0 : -1;
    default: memcpy(p, &v, 8); return 0;
    }
}

void drv_snap_fields_save(const void *base, const struct drv_snap_field *f,
                          size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        drv_put_le64(out + 8 * i, field_get(base, &f[i]));
}

int drv_snap_fields_load(void *base, const struct drv_snap_field *f, size_t n,
                         const unsigned char *in)
{
    for (size_t i = 0; i < n; i++) {
        if (field_set(base, &f[i], drv_get_le64(in + 8 * i)) != 0)
            return -1;
    }
    return 0;
}

size_t drv_vq_snap_size(const struct drv_vq *q)
{
    /* magic, num; fields; per id: fields, cookie; next[] and order[] */
    return 8u + 8u * NVQF + (size_t)q->num * (8u * NIDF + 4u + 2u + 2u);
}

int drv_vq_snap_save(const struct drv_vq *q, void *buf, size_t len,
                     uint32_t (*cookie_id)(void *ctx, void *cookie), void *ctx)
{
    unsigned char *p = buf;
    size_t n = drv_vq_snap_size(q);

    if (q->broken || q->ids == NULL || len < n || cookie_id == NULL)
        return DRV_EINVAL;
    drv_put_le32(p, SNAP_MAGIC);
    drv_put_le32(p + 4, q->num);
    p += 8;
    for (size_t i = 0; i < NVQF; i++, p += 8)
        drv_put_le64(p, field_get(q, &vq_fields[i]));
    for (uint32_t id = 0; id < q->num; id++) {
        const struct drv_id *s = &q->ids[id];
        for (size_t i = 0; i < NIDF; i++, p += 8)
            drv_put_le64(p, field_get(s, &id_fields[i]));
        drv_put_le32(p,
                     s->state == DRV_ID_FREE ? 0u : cookie_id(ctx, s->cookie));
        p += 4;
    }
    for (uint32_t i = 0; i < q->num; i++, p += 4) {
        drv_put_le16(p, q->next[i]);
        drv_put_le16(p + 2, q->order[i]);
    }
    return (int)n;
}

int drv_vq_snap_load(struct drv_vq *q, struct drv_guest *g, const void *buf,
                     size_t len, void *(*cookie_ptr)(void *ctx, uint32_t id),
                     void *ctx)
{
    const unsigned char *p = buf;
    struct drv_vq t;
    uint32_t num;
    int rc = DRV_EINVAL;

    if (len < 8 || drv_get_le32(p) != SNAP_MAGIC || cookie_ptr == NULL)
        return DRV_EINVAL;
    num = drv_get_le32(p + 4);
    if (num == 0 || num > DRV_VQ_MAX)
        return DRV_EINVAL;
    memset(&t, 0, sizeof(t));
    t.num = num;
    if (len != drv_vq_snap_size(&t))
        return DRV_EINVAL;
    p += 8;
    for (size_t i = 0; i < NVQF; i++, p += 8) {
        if (field_set(&t, &vq_fields[i], drv_get_le64(p)) != 0)
            return DRV_EINVAL;
    }
    if (t.num != num)
        return DRV_EINVAL;
    /* The rings at the recorded addresses, allocated and zeroed by
     * drv_vq_init_at(): it touches guest memory, so it runs on a scratch
     * copy of the areas' bytes that is put back right after. */
    {
        uint64_t sz[3] = {
            16ull * num,
            (t.features & DRV_F_PACKED) ? 4u : DRV_SPLIT_AVAIL_SIZE(num),
            (t.features & DRV_F_PACKED) ? 4u : DRV_SPLIT_USED_SIZE(num)};
        uint64_t gpa[3] = {t.desc_gpa, t.driver_gpa, t.device_gpa};
        unsigned char *keep[3] = {NULL, NULL, NULL};
        int ok = 1;

        for (int i = 0; i < 3 && ok; i++) {
            void *h = drv_gpa(g, gpa[i], sz[i]);
            keep[i] = h != NULL ? malloc((size_t)sz[i]) : NULL;
            ok = keep[i] != NULL;
            if (ok)
                memcpy(keep[i], h, (size_t)sz[i]);
        }
        if (ok)
            rc = drv_vq_init_at(q, g, (uint16_t)num, t.features, t.desc_gpa,
                                t.driver_gpa, t.device_gpa);
        for (int i = 0; i < 3; i++) {
            if (keep[i] != NULL && rc == 0)
                memcpy(drv_gpa(g, gpa[i], sz[i]), keep[i], (size_t)sz[i]);
            free(keep[i]);
        }
        if (!ok || rc != 0)
            return rc != 0 ? rc : DRV_EINVAL;
    }
    for (size_t i = 0; i < NVQF; i++)
        (void)field_set(q, &vq_fields[i], field_get(&t, &vq_fields[i]));
    for (uint32_t id = 0; id < num; id++) {
        struct drv_id *s = &q->ids[id];
        for (size_t i = 0; i < NIDF; i++, p += 8) {
            if (field_set(s, &id_fields[i], drv_get_le64(p)) != 0)
                goto bad;
        }
        if (s->state > DRV_ID_PUBLISHED)
            goto bad;
        s->cookie =
            s->state == DRV_ID_FREE ? NULL : cookie_ptr(ctx, drv_get_le32(p));
        p += 4;
    }
    for (uint32_t i = 0; i < num; i++, p += 4) {
        q->next[i] = drv_get_le16(p);
        q->order[i] = drv_get_le16(p + 2);
        if (q->order[i] >= num)
            goto bad;
    }
    return 0;
bad:
    drv_vq_fini(q);
    return DRV_EINVAL;
}

int drv_guest_alloc_get(const struct drv_guest *g, unsigned region,
                        uint64_t *bump, uint64_t *hiwater)
{
    if (region >= g->nregions)
        return -1;
    *bump = g->bump[region];
    *hiwater = g->hiwater[region];
    return 0;
}

int drv_guest_alloc_set(struct drv_guest *g, unsigned region, uint64_t bump,
                        uint64_t hiwater)
{
    if (region >= g->nregions || bump > g->regions[region].size ||
        hiwater > g->regions[region].size || bump > hiwater)
        return -1;
    g->bump[region] = bump;
    g->hiwater[region] = hiwater;
    return 0;
}
