/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user inflight I/O tracking of one virtqueue (vhost-user "Inflight
 * I/O tracking"): the region shared with the front-end records which
 * requests the back-end took and has not completed, in the order the text
 * gives, so that a back-end restarted after a crash finds them again and
 * resubmits them, in the order it took them, before anything new.
 *
 * A tracked queue (struct vq::ift set) has live 0: its pops and pushes take
 * the general paths, which call in here through the engine table the
 * attach installs (struct vq::ift_ops); an untracked one never does, and
 * nothing else refers to this file, so an image without vhost-user does not
 * link it.
 * The region is written by the back-end only while the queue runs; it is
 * read back and validated (a hostile front-end may have written anything)
 * only when tracking starts (vdmi_vq_ift_attach()). While running, every
 * index read back from the region (free list links) is range-checked and
 * tracking stops for the queue if one is out of range.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "le.h"
#include "virtqueue_internal.h"
#include "vq_inflight_layout.h"
#include "vq_inflight.h"

#if VQ_INFLIGHT /* vdm/config.h: only vhost-user tracks */

/* The inflight byte of an entry: stored last (release), so a crash before
 * it leaves the entry as it was. */
static inline void set_inflight(uint8_t *e, uint8_t v)
{
    __atomic_store_n(e, v, __ATOMIC_RELEASE);
}

static inline uint8_t *ifs_ent(const struct vq *q, uint32_t i)
{
    return q->ift + IFS_HDR + (size_t)i * IFS_ENT;
}

uint64_t vdmi_ift_queue_bytes(uint32_t qsize, int packed)
{
    uint64_t b;

    if ((qsize == 0u) || (qsize > (uint32_t)VDM_VQ_MAX_NUM)) {
        return 0;
    }
    b = (packed != 0) ? (IFP_HDR + ((uint64_t)IFP_ENT * qsize))
                      : (IFS_HDR + ((uint64_t)IFS_ENT * qsize));
    return (b + 63u) & ~(uint64_t)63u;
}

/* Format with a starting used position (packed: index and wrap). */
static void format(uint8_t *r, uint16_t qsize, int packed, uint16_t used,
                   uint8_t wrap)
{
    uint32_t i;

    __builtin_memset(r, 0, (size_t)vdmi_ift_queue_bytes(qsize, packed));
    ift_wr16(r + IFT_DESC_NUM, qsize);
    if (packed != 0) {
        /* the free list: every entry, in order; the last one links to
         * qsize, which ends it */
        for (i = 0; i < qsize; i++) {
            ift_wr16(r + IFP_HDR + ((size_t)i * IFP_ENT) + IFP_E_NEXT,
                     (uint16_t)(i + 1u));
        }
        ift_wr16(r + IFP_USED, used);
        ift_wr16(r + IFP_OUSED, used);
        r[IFP_WRAP] = wrap;
        r[IFP_OWRAP] = wrap;
    } else {
        ift_wr16(r + IFS_USED, used);
    }
    vdm_wmb();
    ift_wr16(r + IFT_VERSION, 1);
}

void vdmi_ift_format(void *rgn, uint16_t qsize, int packed)
{
    format((uint8_t *)rgn, qsize, packed, 0, 1);
}

/* Split, "When reconnecting": the last batch, then the count of entries in
 * flight and their largest counter. 0 or VDM_EINVAL. */
static int split_recover(struct vq *q, uint8_t *r, uint16_t dnum,
                         uint32_t *count, uint64_t *max)
{
    uint16_t used = vdm_load_acquire_le16(q->dev + 2u);
    uint16_t ui = ift_rd16(r + IFS_USED);
    uint32_t i;

    if (ui != used) {
        /* entries of the last batch may still say in flight */
        uint16_t batch = (uint16_t)(used - ui);
        uint16_t x = ift_rd16(r + IFS_LBH);

        if (batch > q->num) {
            return VDM_EINVAL;
        }
        for (i = 0; i < batch; i++) { /* check the whole list first */
            if (x >= q->num) {
                return VDM_EINVAL;
            }
            x = ift_rd16(r + IFS_HDR + ((size_t)x * IFS_ENT) + IFS_E_NEXT);
        }
        x = ift_rd16(r + IFS_LBH);
        for (i = 0; i < batch; i++) {
            uint8_t *e = r + IFS_HDR + ((size_t)x * IFS_ENT);

            set_inflight(e + IFS_E_INF, 0);
            x = ift_rd16(e + IFS_E_NEXT);
        }
        ift_wr16(r + IFS_USED, used);
    }
    *count = 0;
    *max = 0;
    for (i = 0; i < dnum; i++) {
        const uint8_t *e = r + IFS_HDR + ((size_t)i * IFS_ENT);
        uint8_t inf = e[IFS_E_INF];
        uint64_t cnt = ift_rd64(e + IFS_E_CNT);

        if ((inf > 1u) || ((inf != 0u) && (i >= q->num))) {
            return VDM_EINVAL; /* only heads of this ring are in flight */
        }
        if (inf != 0u) {
            (*count)++;
            *max = (cnt > *max) ? cnt : *max;
        }
    }
    q->used_idx = used;
    q->signalled = used;
    q->last_avail = (uint16_t)(used + *count);
    q->shadow_avail = q->last_avail;
    return 0;
}

#if VDM_CONFIG_PACKED
/* Packed, "When reconnecting": roll back or commit the interrupted push,
 * clear the free list, count the entries in flight. 0 or VDM_EINVAL. */
static int packed_recover(struct vq *q, uint8_t *r, uint16_t dnum,
                          uint32_t *count, uint64_t *max)
{
    uint16_t fh = ift_rd16(r + IFP_FREE);
    uint16_t ofh = ift_rd16(r + IFP_OFREE);
    uint16_t ui = ift_rd16(r + IFP_USED);
    uint16_t oui = ift_rd16(r + IFP_OUSED);
    uint8_t w = r[IFP_WRAP];
    uint8_t ow = r[IFP_OWRAP];
    uint32_t i;
    uint32_t descs = 0;
    uint32_t pos;
    uint16_t x;
    uint8_t aw;

    if ((fh > dnum) || (ofh > dnum) || (ui >= q->num) || (oui >= q->num) ||
        (w > 1u) || (ow > 1u)) {
        return VDM_EINVAL;
    }
    if ((ui != oui) || (w != ow)) {
        /* The descriptor at old_used_idx: still available (flags as the
         * driver made them with old_used_wrap_counter) means the push did
         * not reach the ring: roll back; else commit it. */
        uint16_t fl = vdm_load_acquire_le16(q->desc + ((size_t)oui * 16u) +
                                            14u);
        uint16_t avail = ow ? VQ_DESC_F_AVAIL : VQ_DESC_F_USED;

        if ((fl & (VQ_DESC_F_AVAIL | VQ_DESC_F_USED)) != avail) {
            ofh = fh;
            oui = ui;
            ow = w;
            ift_wr16(r + IFP_OFREE, ofh);
            ift_wr16(r + IFP_OUSED, oui);
            r[IFP_OWRAP] = ow;
        }
    }
    ift_wr16(r + IFP_FREE, ofh);
    ift_wr16(r + IFP_USED, oui);
    r[IFP_WRAP] = ow;
    /* nothing on the free list is in flight (bounded: dnum steps) */
    x = ofh;
    for (i = 0; (i < dnum) && (x < dnum); i++) {
        uint8_t *e = r + IFP_HDR + ((size_t)x * IFP_ENT);

        set_inflight(e + IFP_E_INF, 0);
        x = ift_rd16(e + IFP_E_NEXT);
    }
    *count = 0;
    *max = 0;
    for (i = 0; i < dnum; i++) {
        const uint8_t *e = r + IFP_HDR + ((size_t)i * IFP_ENT);
        uint8_t inf = e[IFP_E_INF];
        uint16_t n = ift_rd16(e + IFP_E_NUM);
        uint64_t cnt = ift_rd64(e + IFP_E_CNT);

        if (inf > 1u) {
            return VDM_EINVAL;
        }
        if (inf != 0u) {
            /* each list's own links are checked when it is resubmitted */
            if ((n == 0u) || (n > q->num) || ((descs + n) > q->num)) {
                return VDM_EINVAL;
            }
            descs += n;
            (*count)++;
            *max = (cnt > *max) ? cnt : *max;
        }
    }
    pos = (uint32_t)oui + descs;
    aw = ow;
    if (pos >= q->num) {
        pos -= q->num;
        aw ^= 1u;
    }
    q->used_idx = oui;
    q->used_wrap = ow;
    q->signalled = oui;
    q->signalled_wrap = ow;
    q->last_avail = (uint16_t)pos;
    q->avail_wrap = aw;
    q->inflight_desc = 0;
    q->ift_free = ofh;
    q->ift_ofree = ofh;
    return 0;
}
#else
static int packed_recover(struct vq *q, uint8_t *r, uint16_t dnum,
                          uint32_t *count, uint64_t *max)
{
    (void)q, (void)r, (void)dnum, (void)count, (void)max;
    return VDM_EINVAL;
}
#endif

static int ift_pop(struct vq *q, struct vdm_chain *c);
static int ift_unpop(struct vq *q, uint16_t id, uint32_t meta);
static void ift_push_pre(struct vq *q, const struct vdm_used *u, uint32_t n);
static void ift_push_post(struct vq *q, const struct vdm_used *u, uint32_t n);
static int ift_push1(struct vq *q, uint16_t id, uint32_t written,
                     uint32_t meta);

/* The engine a tracked queue's pops and pushes call (struct vq::ift_ops):
 * installed by the attach below, the only reference to it, so that an image
 * without vhost-user leaves this file out. */
static const struct vq_ift_ops ift_engine = {
    .pop = ift_pop,
    .unpop = ift_unpop,
    .push_pre = ift_push_pre,
    .push_post = ift_push_post,
    .push1 = ift_push1,
};

int vdmi_vq_ift_attach(struct vdm_vq *vq, void *rgn, uint16_t dnum)
{
    struct vq *q;
    uint8_t *r = (uint8_t *)rgn;
    bool packed;
    uint32_t count = 0;
    uint64_t max = 0;
    uint16_t ver;
    int rc;

    if ((vq == NULL) || (rgn == NULL)) {
        return VDM_EINVAL;
    }
    q = vq_of(vq);
    if ((q->magic != VQ_MAGIC) || ((q->flags & VQ_F_BROKEN) != 0u) ||
        (q->inflight != 0u)) {
        return VDM_ESTATE;
    }
    if (dnum < q->num) {
        return VDM_EINVAL;
    }
    packed = (q->flags & VQ_F_PACKED) != 0u;
    ver = ift_rd16(r + IFT_VERSION);
    if (ver == 0u) {
        /* "Zero value indicates an uninitialized buffer": start it at the
         * ring's position */
        if (packed) {
            format(r, dnum, 1, q->used_idx, q->used_wrap);
        } else {
            format(r, dnum, 0, vdm_load_acquire_le16(q->dev + 2u), 1);
        }
    } else if ((ver != 1u) || (ift_rd16(r + IFT_DESC_NUM) != dnum)) {
        return VDM_EINVAL;
    } else {
        /* a region of version 1 and the right size: recover it below */
    }
    rc = packed ? packed_recover(q, r, dnum, &count, &max)
                : split_recover(q, r, dnum, &count, &max);
    if (rc != 0) {
        return rc;
    }
    if (max == UINT64_MAX) {
        return VDM_EINVAL;
    }
    if (!packed && (q->flags & (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
                       (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) {
        vdm_store_le16(q->dev + 4u + (8u * (size_t)q->num), q->last_avail);
    }
    q->unsignalled = 0;
    q->ift_ops = &ift_engine;
    q->ift = r;
    q->ift_dnum = dnum;
    q->ift_counter = max + 1u;
    q->ift_limit = max + 1u;
    q->ift_resub = count;
    q->ift_started = 0;
    q->ift_lastres = 0;
    q->live = 0; /* pops and pushes take the general paths, which record */
    return 0;
}

uint32_t vdmi_vq_ift_resubmits(const struct vdm_vq *vq)
{
    const struct vq *q;

    if (vq == NULL) {
        return 0;
    }
    q = vq_of_const(vq);
    return ((q->magic == VQ_MAGIC) && (q->ift != NULL)) ? q->ift_resub : 0u;
}

/* Stop tracking (the region no longer makes sense); the queue runs on. */
static void ift_drop(struct vq *q)
{
    q->ift = NULL;
}

/* The next entry to resubmit: in flight, recorded before the attach, and
 * after the last one resubmitted in (counter, index) order; -1 if none. */
static int32_t next_resubmit(const struct vq *q, bool packed)
{
    uint32_t i;
    uint32_t lim = packed ? q->ift_dnum : q->num;
    int32_t best = -1;
    uint64_t bc = 0;

    for (i = 0; i < lim; i++) {
        const uint8_t *e = packed ? ifp_ent(q, i) : ifs_ent(q, i);
        uint64_t c;

        if (e[0] != 1u) { /* inflight is byte 0 of both layouts */
            continue;
        }
        c = ift_rd64(e + 8u); /* counter: byte 8 of both */
        if (c >= q->ift_limit) {
            continue;
        }
        if (q->ift_started &&
            ((c < q->ift_cur) || ((c == q->ift_cur) && (i <= q->ift_cur_i)))) {
            continue;
        }
        if ((best < 0) || (c < bc)) {
            best = (int32_t)i;
            bc = c;
        }
    }
    return best;
}

/* Record a new packed pop of @p n ring descriptors from position @p pos
 * (wrap @p wrap): "When receiving available buffers from the driver". */
static void packed_record(struct vq *q, uint32_t pos, uint32_t n)
{
    uint8_t *r = q->ift;
    uint16_t dnum = q->ift_dnum;
    uint16_t h = q->ift_ofree;
    uint16_t x = q->ift_free;
    uint8_t *eh;
    uint32_t k;

    if ((h >= dnum) || (x != h)) {
        ift_drop(q);
        return;
    }
    eh = ifp_ent(q, h);
    ift_wr16(eh + IFP_E_NUM, 0);
    ift_wr64(eh + IFP_E_CNT, q->ift_counter);
    q->ift_counter++;
    vdm_wmb();
    set_inflight(eh + IFP_E_INF, 1);
    for (k = 0; k < n; k++) {
        const uint8_t *d = q->desc + ((size_t)pos * 16u);
        uint8_t *ex;
        uint64_t a;
        uint32_t l;
        uint16_t id;
        uint16_t fl;

        if (x >= dnum) {
            ift_drop(q);
            return;
        }
        ex = ifp_ent(q, x);
        /* the driver does not touch these until they are used */
        __builtin_memcpy(&a, d, 8);
        __builtin_memcpy(&l, d + 8, 4);
        __builtin_memcpy(&id, d + 12, 2);
        __builtin_memcpy(&fl, d + 14, 2);
        if ((k + 1u) == n) {
            ift_wr16(eh + IFP_E_LAST, x);
        }
        ift_wr16(eh + IFP_E_NUM, (uint16_t)(k + 1u));
        ift_wr64(ex + IFP_E_ADDR, vdm_le64(&a));
        ift_wr32(ex + IFP_E_LEN, vdm_le32(&l));
        ift_wr16(ex + IFP_E_FLAGS, vdm_le16(&fl));
        ift_wr16(ex + IFP_E_ID, vdm_le16(&id));
        x = ift_rd16(ex + IFP_E_NEXT);
        vdm_wmb();
        ift_wr16(r + IFP_FREE, x);
        if (++pos == q->num) {
            pos = 0;
        }
    }
    q->ift_free = x;
    vdm_wmb();
    ift_wr16(r + IFP_OFREE, x);
    q->ift_ofree = x;
    q->ift_last = h;
}

static int ift_pop(struct vq *q, struct vdm_chain *c)
{
    bool packed = (q->flags & VQ_F_PACKED) != 0u;
    uint32_t pos = q->last_avail;
    int rc;

    while (q->ift_resub != 0u) {
        int32_t e = next_resubmit(q, packed);

        if (e < 0) {
            q->ift_resub = 0; /* the front-end changed the region */
            break;
        }
        q->ift_pcur = q->ift_cur;
        q->ift_pcur_i = q->ift_cur_i;
        q->ift_pstarted = q->ift_started;
        q->ift_cur = ift_rd64((packed ? ifp_ent(q, (uint32_t)e)
                                      : ifs_ent(q, (uint32_t)e)) +
                              8u);
        q->ift_cur_i = (uint16_t)e;
        q->ift_started = 1;
        q->ift_resub--;
        q->ift_lastres = 1;
        /* already recorded (inflight, counter): only walked again */
        return packed ? vq_packed_pop_rec(q, c, (uint16_t)e)
                      : vq_split_pop_head(q, c, (uint16_t)e);
    }
    q->ift_lastres = 0;
    if (packed) {
        rc = vq_packed_pop(q, c);
    } else {
        rc = vq_split_pop(q, c);
    }
    if (((rc == 1) || (rc == VDM_ENOSPC)) && (q->ift != NULL)) {
        if (packed) {
            packed_record(q, pos, c->ndesc);
        } else {
            uint8_t *e = ifs_ent(q, c->id);

            ift_wr64(e + IFS_E_CNT, q->ift_counter);
            q->ift_counter++;
            vdm_wmb();
            set_inflight(e + IFS_E_INF, 1);
        }
    }
    return rc;
}

static int ift_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    bool packed = (q->flags & VQ_F_PACKED) != 0u;

    if (q->ift_lastres != 0u) {
        /* a resubmission given back: it will be resubmitted again; the
         * ring position never moved for it */
        q->ift_resub++;
        q->ift_cur = q->ift_pcur;
        q->ift_cur_i = q->ift_pcur_i;
        q->ift_started = q->ift_pstarted;
        q->ift_lastres = 0;
        if (packed) {
            q->inflight_desc -= VQ_META_NDESC(meta);
        }
        return 0;
    }
    q->ift_counter--;
    if (packed) {
        uint16_t h = q->ift_last;

        if (h < q->ift_dnum) {
            set_inflight(ifp_ent(q, h) + IFP_E_INF, 0);
            ift_wr16(q->ift + IFP_FREE, h);
            ift_wr16(q->ift + IFP_OFREE, h);
            q->ift_free = h;
            q->ift_ofree = h;
        }
        return vq_packed_unpop(q, id, meta);
    }
    set_inflight(ifs_ent(q, id) + IFS_E_INF, 0);
    return vq_split_unpop(q, id, meta);
}

/* The packed head entry recording buffer @p id (in flight, its last
 * descriptor carrying the id); -1 if none. */
static int32_t packed_find(const struct vq *q, uint16_t id)
{
    uint32_t i;

    for (i = 0; i < q->ift_dnum; i++) {
        const uint8_t *e = ifp_ent(q, i);
        uint16_t last = ift_rd16(e + IFP_E_LAST);

        if ((e[IFP_E_INF] == 1u) && (last < q->ift_dnum) &&
            ift_rd16(ifp_ent(q, last) + IFP_E_ID) == id) {
            return (int32_t)i;
        }
    }
    return -1;
}

static void ift_push_pre(struct vq *q, const struct vdm_used *u, uint32_t n)
{
    uint8_t *r = q->ift;
    uint32_t i;

    if ((q->flags & VQ_F_PACKED) == 0u) {
        /* "When supplying used buffers": the batch list */
        for (i = 0; i < n; i++) {
            ift_wr16(ifs_ent(q, u[i].id) + IFS_E_NEXT, ift_rd16(r + IFS_LBH));
            vdm_wmb();
            ift_wr16(r + IFS_LBH, (uint16_t)u[i].id);
        }
        return;
    }
    {
        uint32_t pos = q->used_idx;
        uint8_t wrap = q->used_wrap;

        for (i = 0; i < n; i++) {
            int32_t h = packed_find(q, (uint16_t)u[i].id);
            uint16_t last;

            pos += VQ_META_NDESC(q->slots[VQ_SLOT_META(u[i].id)]);
            if (pos >= q->num) {
                pos -= q->num;
                wrap ^= 1u;
            }
            if (h < 0) {
                ift_drop(q); /* the front-end changed the region */
                return;
            }
            /* its list goes back to the front of the free list */
            last = ift_rd16(ifp_ent(q, (uint32_t)h) + IFP_E_LAST);
            ift_wr16(ifp_ent(q, last) + IFP_E_NEXT, q->ift_free);
            vdm_wmb();
            ift_wr16(r + IFP_FREE, (uint16_t)h);
            q->ift_free = (uint16_t)h;
        }
        ift_wr16(r + IFP_USED, (uint16_t)pos);
        r[IFP_WRAP] = wrap;
        vdm_wmb();
    }
}

static void ift_push_post(struct vq *q, const struct vdm_used *u, uint32_t n)
{
    uint8_t *r = q->ift;
    uint32_t i;

    if (r == NULL) {
        return; /* dropped by the pre step */
    }
    vdm_wmb(); /* the ring's used entries before these */
    if ((q->flags & VQ_F_PACKED) == 0u) {
        for (i = 0; i < n; i++) {
            set_inflight(ifs_ent(q, u[i].id) + IFS_E_INF, 0);
        }
        vdm_wmb();
        ift_wr16(r + IFS_USED, q->used_idx);
        return;
    }
    for (i = 0; i < n; i++) {
        int32_t h = packed_find(q, (uint16_t)u[i].id);

        if (h >= 0) {
            set_inflight(ifp_ent(q, (uint32_t)h) + IFP_E_INF, 0);
        }
    }
    vdm_wmb();
    ift_wr16(r + IFP_OFREE, q->ift_free);
    ift_wr16(r + IFP_OUSED, q->used_idx);
    r[IFP_OWRAP] = q->used_wrap;
    q->ift_ofree = q->ift_free;
}

/* vdm_vq_push() of one element on a tracked queue (slot already out of
 * flight, @p meta its record): the region's steps around the
 * publication. */
static int ift_push1(struct vq *q, uint16_t id, uint32_t written, uint32_t meta)
{
    struct vdm_used u;

    u.id = id;
    u.len = written;
    ift_push_pre(q, &u, 1);
    if ((q->flags & VQ_F_PACKED) != 0u) {
        (void)vq_packed_push1(q, id, written, meta);
    } else {
        (void)vq_split_push1(q, id, written);
    }
    ift_push_post(q, &u, 1);
    return 0;
}

#elif VDM_CONFIG_VHOST_USER
/* Tracking left out (VDM_CONFIG_INFLIGHT 0): the vhost-user backend never
 * offers INFLIGHT_SHMFD, so it refuses the inflight messages before these
 * are reached; they still answer: no region, no queue tracked. */
uint64_t vdmi_ift_queue_bytes(uint32_t qsize, int packed)
{
    (void)qsize;
    (void)packed;
    return 0;
}

void vdmi_ift_format(void *rgn, uint16_t qsize, int packed)
{
    (void)rgn;
    (void)qsize;
    (void)packed;
}

int vdmi_vq_ift_attach(struct vdm_vq *vq, void *rgn, uint16_t dnum)
{
    (void)vq;
    (void)rgn;
    (void)dnum;
    return VDM_ENOTSUP;
}

uint32_t vdmi_vq_ift_resubmits(const struct vdm_vq *vq)
{
    (void)vq;
    return 0;
}
#endif
