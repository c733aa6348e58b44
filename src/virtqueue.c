/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue, device side: set-up, the format-independent parts of pop and
 * push (chain assembly, framing rules, per-slot bookkeeping), state save and
 * restore, and dispatch to the split (virtqueue_split.c) and packed
 * (virtqueue_packed.c) ring formats.
 *
 * Spec: "Basic Facilities of a Virtio Device / Virtqueues", "Split
 * Virtqueues", "Packed Virtqueues".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi_internal.h"
#include "atomic.h"
#include "le.h"
#include "mem_internal.h"
#include "virtqueue_internal.h"

/* ------------------------------------------------------------------------ */
/* Violations and chain assembly                                            */
/* ------------------------------------------------------------------------ */

int vq_violate(struct vq *q, int err, const char *why)
{
    q->live = 0; /* the public pop and push test this first */
    if (!(q->flags & VQ_F_BROKEN)) {
        q->flags |= VQ_F_BROKEN;
        if (q->fault != NULL) {
            q->fault(q->ctx, q->index, err, why);
        }
    }
    return VDM_EPROTO;
}

void vq_walk_abort(struct vq *q, struct vdm_iov *iov, uint32_t nspan)
{
    if (nspan != 0)
        vdm_mem_release(q->mem, iov, nspan);
}

/* The general case of vq_walk_add() (see there), and the one place its
 * violations are named. */
int vq_walk_add_slow(struct vq *q, struct vq_walk *w, uint64_t addr,
                     uint32_t len, bool write)
{
    uint32_t access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
    uint32_t filled = 0;
    int rc;

    /* "Message Framing": device-writable elements after device-readable. */
    if (write) {
        w->seen_write = true;
    } else if (w->seen_write) {
        return vq_walk_fail(w, VDM_EPROTO,
                            "device-readable descriptor after a "
                            "device-writable one");
    } else {
        /* still in the device-readable part */
    }
    if (++w->ndata > q->max_chain) {
        return vq_walk_fail(w, VDM_EPROTO,
                            "descriptor chain longer than the device's "
                            "max_chain");
    }
    if (len == 0)
        return 0; /* accepted, no span, address not checked */
    w->total += len;
    if (w->total > UINT32_MAX) {
        return vq_walk_fail(w, VDM_EPROTO,
                            "total descriptor chain length reaches 2^32 "
                            "bytes");
    }

    if (!w->truncated && w->nspan == w->cap)
        w->truncated = true; /* no room left at all: check only */
    if (!w->truncated) {
        rc = vdm_mem_map_ex(q->mem, addr, len, access, w->iov + w->nspan,
                            w->cap - w->nspan, &q->mem_hint, &filled);
        if (rc == VDM_EFAULT) {
            return vq_walk_fail(w, VDM_EFAULT,
                                write ? "device-writable buffer outside guest "
                                        "memory or in read-only memory"
                                      : "device-readable buffer outside guest "
                                        "memory");
        }
        {
            uint32_t i, sum = 0;

            for (i = 0; i < filled; i++) {
                sum += w->iov[w->nspan + i].len;
            }
            w->nspan += filled;
            if (write) {
                w->write_len += sum;
            } else {
                w->read_len += sum;
                w->nread += filled;
            }
        }
        if (rc >= 0) {
            return 0;
        }
        w->truncated = true; /* VDM_ENOSPC: keep checking the rest */
    }
    if (write && w->tmode != 0 &&
        (w->tmode == VQ_TAIL_LAST || (w->write_len == 0 && w->tail[2] == 0))) {
        w->tail[0] = (uint32_t)addr;
        w->tail[1] = (uint32_t)(addr >> 32);
        w->tail[2] = len;
    }
    rc = vdm_mem_probe(q->mem, addr, len, access, &q->mem_hint);
    if (rc != 0) {
        return vq_walk_fail(w, VDM_EFAULT,
                            write ? "device-writable buffer outside guest "
                                    "memory or in read-only memory"
                                  : "device-readable buffer outside guest "
                                    "memory");
    }
    return 0;
}

#if VDM_CONFIG_INDIRECT
int vq_map_indirect(struct vq *q, uint64_t addr, uint32_t len,
                    const uint8_t **tbl, int *hooked)
{
    uint32_t hint = VDM_MEM_NO_HINT;
    const uint8_t *t = NULL;
    void *p = NULL;
    int rc = 0;

#if VDM_CONFIG_FAST_WALK
    /* the region the last lookup hit, then a scan of the table: the
     * lookup below reaches the same verdict, in more steps */
    t = vdm_mem_hit(q->mem, addr, len, VDM_MEM_READ, q->mem_hint);
    if (t == NULL) {
        t = vdm_mem_hit_scan(q->mem, addr, len, VDM_MEM_READ, &q->mem_hint);
    }
#endif
    *hooked = 0;
    if (VDM_LIKELY(t != NULL)) {
        /* the whole table in one region */
    } else if (vdm_mem_lookup_ex(q->mem, addr, len, VDM_MEM_READ, &p, hooked) ==
               0) {
        t = (const uint8_t *)p;
    } else {
        /* Not host-contiguous (straddles regions): read entry by entry. */
        *hooked = 0;
        rc = vdm_mem_probe(q->mem, addr, len, VDM_MEM_READ, &hint);
    }
    *tbl = t;
    return rc;
}

void vq_unmap_indirect(struct vq *q, const uint8_t *tbl, uint32_t len,
                       int hooked)
{
    if (hooked)
        vdm_mem_unmap_hva(q->mem, (void *)(uintptr_t)tbl, len);
}

int vq_read_indirect(struct vq *q, const uint8_t *tbl, uint64_t tgpa,
                     uint32_t i, uint8_t d[16])
{
    if (tbl != NULL) {
        __builtin_memcpy(d, tbl + (size_t)i * 16u, 16);
        return 0;
    }
    return vdm_mem_read(q->mem, tgpa + (uint64_t)i * 16u, d, 16);
}
#endif

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */
/* ------------------------------------------------------------------------ */

#define CFG_HAS(cfg, field) VDM_HAS(cfg, struct vdm_vq_config, field)

static int map_ring(struct vq *q, uint64_t gpa, uint64_t len, uint32_t access,
                    uint8_t **p, uint8_t hbit)
{
    void *hva = NULL;
    int hooked = 0;

    /* VDM_MEM_KEEP: the ring stays mapped and shared with the driver, so a
     * translate hook must not hand out a copy (vdm/mem.h). */
    if (vdm_mem_lookup_ex(q->mem, gpa, len, access | VDM_MEM_KEEP, &hva,
                          &hooked) != 0) {
        return VDM_EFAULT;
    }
    if (hooked)
        q->hooked |= hbit;
    *p = (uint8_t *)hva;
    /* Shared 16-bit fields are accessed atomically: the host mapping must
     * keep the guest's 2-byte alignment. */
    if (((uintptr_t)hva & 1u) != 0)
        return VDM_EFAULT;
    return 0;
}

static void unmap_rings(struct vq *q)
{
    if (q->hooked & VQ_H_DESC)
        vdm_mem_unmap_hva(q->mem, q->desc, q->desc_len);
    if (q->hooked & VQ_H_DRV)
        vdm_mem_unmap_hva(q->mem, q->drv, q->drv_len);
    if (q->hooked & VQ_H_DEV)
        vdm_mem_unmap_hva(q->mem, q->dev, q->dev_len);
    q->hooked = 0;
}

int vdm_vq_init(struct vdm_vq *vq, const struct vdm_vq_config *cfg)
{
    struct vq *q;
    uint32_t num;
    bool packed;
    int rc;

    if (vq == NULL || cfg == NULL)
        return VDM_EINVAL;
    q = vq_of(vq);
    __builtin_memset(q, 0, sizeof(*q));
    if (!CFG_HAS(cfg, slots)) {
        return VDM_ESIZE;
    }
    if (cfg->mem == NULL || cfg->slots == NULL)
        return VDM_EINVAL;
    /* vdm/config.h: a ring feature left out of the build */
    if ((cfg->features & ~VDM_F_RING_ALL &
         (VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX | VDM_F_RING_PACKED |
          VDM_F_IN_ORDER)) != 0)
        return VDM_ENOTSUP;
    num = cfg->num;
    /* constant false without VDM_CONFIG_PACKED (refused just above) */
    packed = (VDM_CONFIG_PACKED != 0) &&
             ((cfg->features & VDM_F_RING_PACKED) != 0u);
    if (num == 0 || num > VDM_VQ_MAX_NUM)
        return VDM_EINVAL;
    if (!packed && (num & (num - 1u)) != 0)
        return VDM_EINVAL;
    /* "Virtqueues" / "Structure Size and Alignment" */
    if ((cfg->desc_addr & 15u) != 0 ||
        (cfg->driver_addr & (packed ? 3u : 1u)) != 0 ||
        (cfg->device_addr & 3u) != 0)
        return VDM_EINVAL;

    q->mem = cfg->mem;
    q->dev_gpa = cfg->device_addr;
#if VDM_CONFIG_DIRTY_LOG /* vdm/config.h: else vq_logging() is false */
    /* dirty logging: the memory's log when its struct has the field */
    q->nolog = NULL;
    if ((size_t)cfg->mem->size >=
        ((size_t)offsetof(struct vdm_mem, log) + sizeof(cfg->mem->log))) {
        q->logp = &cfg->mem->log;
    } else {
        q->logp = &q->nolog;
    }
    q->log_dev = cfg->device_addr;
    q->log_desc = cfg->desc_addr;
    q->log_flags = VDM_VQ_LOG_RING;
#endif
    q->slots = cfg->slots;
    q->num = (uint16_t)num;
    q->mask = (uint16_t)(num - 1u);
    q->index = cfg->index;
    /* DESIGN.md: chain length <= queue size (indirect: <= table length),
     * which the ring walks enforce; max_chain adds a device limit on the
     * data descriptors of a chain, indirect entries included. */
    q->max_chain = CFG_HAS(cfg, max_chain) ? cfg->max_chain : 0;
    if (q->max_chain == 0)
        q->max_chain = UINT32_MAX;
    q->chain_lim = q->max_chain < num ? q->max_chain : num;
    if (CFG_HAS(cfg, ops) && cfg->ops != NULL) {
        const struct vdm_vq_ops *ops = cfg->ops;

        if (ops->size >=
            offsetof(struct vdm_vq_ops, fault) + sizeof(ops->fault)) {
            q->fault = ops->fault;
        }
    }
    if (CFG_HAS(cfg, ctx)) {
        q->ctx = cfg->ctx;
    }

    q->desc_len = 16u * (uint64_t)num;
    if (packed) {
        q->drv_len = 4;
        q->dev_len = 4;
    } else {
        q->drv_len = 6u + 2u * (uint64_t)num;
        q->dev_len = 6u + 8u * (uint64_t)num;
    }
    rc = map_ring(q, cfg->desc_addr, q->desc_len,
                  packed ? (VDM_MEM_READ | VDM_MEM_WRITE) : VDM_MEM_READ,
                  &q->desc, VQ_H_DESC);
    if (rc == 0) {
        rc = map_ring(q, cfg->driver_addr, q->drv_len, VDM_MEM_READ, &q->drv,
                      VQ_H_DRV);
    }
    if (rc == 0) {
        rc = map_ring(q, cfg->device_addr, q->dev_len,
                      VDM_MEM_READ | VDM_MEM_WRITE, &q->dev, VQ_H_DEV);
    }
    if (rc != 0) {
        unmap_rings(q);
        __builtin_memset(q, 0, sizeof(*q));
        return rc;
    }

    q->flags = VQ_F_NOTIFY_ON;
    if (packed) {
        q->flags |= VQ_F_PACKED;
    }
    if (cfg->features & VDM_F_INDIRECT_DESC)
        q->flags |= VQ_F_INDIRECT;
    if (cfg->features & VDM_F_EVENT_IDX)
        q->flags |= VQ_F_EVENT_IDX;
    if (cfg->features & VDM_F_IN_ORDER)
        q->flags |= VQ_F_IN_ORDER;
    if (packed) {
        q->avail_wrap = 1;
        q->used_wrap = 1;
        q->signalled_wrap = 1;
    }
    __builtin_memset(q->slots, 0, (size_t)VDM_VQ_SLOTS(num) * sizeof(uint32_t));
    q->magic = VQ_MAGIC;
    if ((q->flags & VQ_F_IN_ORDER) == 0u) {
        q->live = packed ? VQ_LIVE_PACKED : VQ_LIVE_SPLIT;
    }
    return 0;
}

void vdm_vq_reset(struct vdm_vq *vq)
{
    struct vq *q;

    if (vq == NULL) {
        return;
    }
    q = vq_of(vq);
    if (q->magic == VQ_MAGIC) {
        unmap_rings(q);
    }
    __builtin_memset(q, 0, sizeof(*q));
}

/* Entry check shared by the operations that touch the rings. */
static inline int vq_usable(const struct vq *q)
{
    if (q->magic != VQ_MAGIC) {
        return VDM_ESTATE;
    }
    if (q->flags & VQ_F_BROKEN)
        return VDM_EBROKEN;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Pop, unpop                                                               */
/* ------------------------------------------------------------------------ */

/* vdm_vq_pop(): in virtqueue_split.c, beside the split ring's pop. */

int vdm_vq_unpop(struct vdm_vq *vq, const struct vdm_chain *c)
{
    struct vq *q;
    uint32_t meta;
    int rc;

    if (vq == NULL || c == NULL)
        return VDM_EINVAL;
    q = vq_of(vq);
    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if (c->id >= q->num) {
        return VDM_ESTATE;
    }
    meta = q->slots[VQ_SLOT_META(c->id)];
    /* Only the most recently popped chain, still in flight. */
    if (!(meta & VQ_META_INFLIGHT) ||
        VQ_META_SEQ(meta) != (uint16_t)(q->pop_seq - 1u)) {
        return VDM_ESTATE;
    }
    if (vq_ift_on(q)) {
        rc = vq_ift_unpop(q, c->id, meta); /* vhost-user inflight tracking */
    } else if (q->flags & VQ_F_PACKED)
        rc = vq_packed_unpop(q, c->id, meta);
    else {
        rc = vq_split_unpop(q, c->id, meta);
    }
    q->slots[VQ_SLOT_META(c->id)] = 0;
    q->slots[VQ_SLOT_WLEN(c->id)] = 0;
    q->pop_seq--;
    q->inflight--;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Push                                                                     */
/* ------------------------------------------------------------------------ */

static int push_common(struct vq *q, const struct vdm_used *u, uint32_t n,
                       uint32_t flags)
{
    bool batch = (flags & VDM_PUSH_F_INORDER_BATCH) != 0;
    bool in_order = (q->flags & VQ_F_IN_ORDER) != 0;
    uint32_t i, j;
    int rc;

    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if ((flags & ~VDM_PUSH_F_INORDER_BATCH) != 0 || (batch && !in_order))
        return VDM_EINVAL;
    if (n == 0)
        return 0;
    if (u == NULL || n > q->num)
        return VDM_EINVAL;

    /* Validate everything before publishing anything; each slot is taken
     * out of flight as it is checked so duplicates are caught. */
    for (i = 0; i < n; i++) {
        uint32_t meta = vq_push_check(q, u[i].id, u[i].len);

        if (meta != 0 && in_order &&
            VQ_META_SEQ(meta) != (uint16_t)(q->push_seq + i))
            meta = 0; /* IN_ORDER: buffers are used in the order popped */
        if (meta == 0) {
            for (j = 0; j < i; j++) {
                q->slots[VQ_SLOT_META(u[j].id)] |= VQ_META_INFLIGHT;
            }
            return VDM_EINVAL;
        }
        q->slots[VQ_SLOT_META(u[i].id)] = meta & ~VQ_META_INFLIGHT;
    }

    if (vq_ift_on(q)) {
        vq_ift_push_pre(q, u, n);
    }
    if (q->flags & VQ_F_PACKED)
        rc = vq_packed_push(q, u, n, batch);
    else {
        rc = vq_split_push(q, u, n, batch);
    }
    if (vq_ift_on(q)) {
        vq_ift_push_post(q, u, n);
    }
    q->inflight -= n;
    if (in_order) {
        q->push_seq = (uint16_t)(q->push_seq + n);
    }
    return rc < 0 ? rc : (int)n;
}

/* One element: push_common() for n = 1, checks in the same order. */
/* vdm_vq_push() of a queue that is not in the common state (struct
 * vq::live): not initialised, broken, or IN_ORDER. */
/* Every push the fast paths do not take (in a speed build a call of its
 * own, entered by a tail call: the fast paths need no register saved
 * across a call). */
VQ_WALK int push_general(struct vq *q, uint16_t id, uint32_t written)
{
    uint32_t meta;
    uint8_t fl;

    if (VDM_UNLIKELY(q->magic != VQ_MAGIC)) {
        return VDM_ESTATE;
    }
    fl = q->flags;
    if (VDM_UNLIKELY(fl & VQ_F_BROKEN)) {
        return VDM_EBROKEN;
    }
    meta = vq_push_check(q, id, written);
    if (VDM_UNLIKELY(meta == 0)) {
        return VDM_EINVAL;
    }
    if (fl & VQ_F_IN_ORDER) {
        /* buffers are used in the order popped */
        if (VDM_UNLIKELY(VQ_META_SEQ(meta) != q->push_seq)) {
            return VDM_EINVAL;
        }
        q->push_seq = (uint16_t)(q->push_seq + 1u);
    }
    q->slots[VQ_SLOT_META(id)] = meta & ~VQ_META_INFLIGHT;
    q->inflight--;
    if (vq_ift_on(q)) {
        /* vhost-user inflight tracking: the engine publishes it */
        return vq_ift_push1(q, id, written, meta);
    }
    if (fl & VQ_F_PACKED)
        return vq_packed_push1(q, id, written, meta);
    return vq_split_push1(q, id, written);
}

#if VQ_SPEED
/* vdm_vq_push() of a packed queue in the common state (struct vq::live):
 * out of line, so that the split push keeps its few registers. */
static VQ_NOINLINE int push_packed(struct vq *q, uint16_t id, uint32_t written)
{
    uint32_t meta = vq_push_check(q, id, written);
    int rc;

    if (VDM_UNLIKELY(meta == 0u)) {
        rc = VDM_EINVAL;
    } else {
        q->slots[VQ_SLOT_META(id)] = meta & ~VQ_META_INFLIGHT;
        q->inflight--;
        rc = vq_packed_push1(q, id, written, meta);
    }
    return rc;
}
#endif

int vdm_vq_push(struct vdm_vq *vq, uint16_t id, uint32_t written)
{
    struct vq *q;
    int rc;

    if (VDM_UNLIKELY(vq == NULL)) {
        rc = VDM_EINVAL;
    } else {
        q = vq_of(vq);
#if VQ_SPEED
        /* the common case, one word tested (struct vq::live): initialised,
         * not broken, no IN_ORDER */
        if (VDM_LIKELY(q->live == VQ_LIVE_SPLIT)) {
            uint32_t meta = vq_push_check(q, id, written);

            if (VDM_UNLIKELY(meta == 0u)) {
                rc = VDM_EINVAL;
            } else {
                q->slots[VQ_SLOT_META(id)] = meta & ~VQ_META_INFLIGHT;
                q->inflight--;
                rc = vq_split_push1(q, id, written);
            }
        } else if (VDM_LIKELY(q->live == VQ_LIVE_PACKED)) {
            rc = push_packed(q, id, written);
        } else
#endif
        {
            rc = push_general(q, id, written);
        }
    }
    return rc;
}

int vdm_vq_push_batch(struct vdm_vq *vq, const struct vdm_used *u, uint32_t n,
                      uint32_t flags)
{
    if (vq == NULL) {
        return VDM_EINVAL;
    }
    return push_common(vq_of(vq), u, n, flags);
}

/* ------------------------------------------------------------------------ */
/* Notifications                                                            */
/* ------------------------------------------------------------------------ */

int vdm_vq_should_notify(struct vdm_vq *vq)
{
    struct vq *q;
    int rc;

    if (vq == NULL) {
        return VDM_EINVAL;
    }
    q = vq_of(vq);
    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if (q->flags & VQ_F_PACKED)
        return vq_packed_should_notify(q);
    return vq_split_should_notify(q);
}

int vdm_vq_set_notify(struct vdm_vq *vq, int enable)
{
    struct vq *q;
    int rc;

    if (vq == NULL) {
        return VDM_EINVAL;
    }
    q = vq_of(vq);
    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if (q->flags & VQ_F_PACKED)
        return vq_packed_set_notify(q, enable);
    return vq_split_set_notify(q, enable);
}

int vdm_vq_has_avail(struct vdm_vq *vq)
{
    struct vq *q;
    int rc;

    if (vq == NULL) {
        return VDM_EINVAL;
    }
    q = vq_of(vq);
    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if (q->flags & VQ_F_PACKED)
        return vq_packed_has_avail(q);
    return vq_split_has_avail(q);
}

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

uint32_t vdm_vq_in_flight(const struct vdm_vq *vq)
{
    const struct vq *q;

    if (vq == NULL) {
        return 0;
    }
    q = vq_of_const(vq);
    return q->magic == VQ_MAGIC ? q->inflight : 0;
}

int vdm_vq_get_state(const struct vdm_vq *vq, struct vdm_vq_state *s)
{
    const struct vq *q;

    if (vq == NULL || s == NULL)
        return VDM_EINVAL;
    q = vq_of_const(vq);
    if (q->magic != VQ_MAGIC) {
        return VDM_ESTATE;
    }
    /* Allowed on a broken queue too: the position is still meaningful. */
    s->last_avail_idx = q->last_avail;
    s->used_idx = q->used_idx;
    s->avail_wrap = (q->flags & VQ_F_PACKED) ? q->avail_wrap : 0;
    s->used_wrap = (q->flags & VQ_F_PACKED) ? q->used_wrap : 0;
    s->reserved = 0;
    return 0;
}

int vdm_vq_set_state(struct vdm_vq *vq, const struct vdm_vq_state *s)
{
    struct vq *q;
    int rc;

    if (vq == NULL || s == NULL)
        return VDM_EINVAL;
    q = vq_of(vq);
    rc = vq_usable(q);
    if (rc != 0) {
        return rc;
    }
    if (q->inflight != 0)
        return VDM_ESTATE;
    if (s->reserved != 0)
        return VDM_EINVAL;
    if (q->flags & VQ_F_PACKED) {
        if (s->last_avail_idx >= q->num || s->used_idx >= q->num ||
            s->avail_wrap > 1 || s->used_wrap > 1)
            return VDM_EINVAL;
        q->avail_wrap = s->avail_wrap;
        q->used_wrap = s->used_wrap;
        q->signalled_wrap = s->used_wrap;
        q->inflight_desc = 0;
    }
    q->last_avail = s->last_avail_idx;
    q->shadow_avail = s->last_avail_idx;
    q->used_idx = s->used_idx;
    q->signalled = s->used_idx;
    q->unsignalled = 0;
    q->pop_seq = 0;
    q->push_seq = 0;
    if ((q->flags & (VQ_F_PACKED | VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) ==
        (VQ_F_EVENT_IDX | VQ_F_NOTIFY_ON)) {
        vdm_store_le16(q->dev + 4u + 8u * (size_t)q->num, q->last_avail);
        if (vq_logging(q)) {
            vq_log_dev(q, 4u + (8u * (uint32_t)q->num), 2u);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Dirty logging of ring writes                                             */
/* ------------------------------------------------------------------------ */

void vq_log_dev(const struct vq *q, uint32_t off, uint32_t len)
{
    const struct vdm_dirty_log *log = vq_logging(q) ? *q->logp : NULL;

    if ((log != NULL) && ((q->log_flags & VDM_VQ_LOG_RING) != 0u)) {
        (void)vdm_dirty_mark(log, q->log_dev + off, len);
    }
}

void vq_log_desc(const struct vq *q, uint32_t off, uint32_t len)
{
    const struct vdm_dirty_log *log = vq_logging(q) ? *q->logp : NULL;

    if ((log != NULL) && ((q->log_flags & VDM_VQ_LOG_RING) != 0u)) {
        (void)vdm_dirty_mark(log, q->log_desc + off, len);
    }
}

int vq_split_push1_log(const struct vq *q, uint32_t eoff)
{
    vq_log_dev(q, eoff, 8u);
    vq_log_dev(q, 2u, 2u);
    return 0;
}

int vq_packed_push1_log(const struct vq *q, uint32_t pos)
{
    vq_log_desc(q, (pos * 16u) + 8u, 8u);
    return 0;
}

int vdm_vq_set_log(struct vdm_vq *vq, uint32_t flags, uint64_t addr)
{
    struct vq *q;
    uint64_t dev;

    if (VDM_CONFIG_DIRTY_LOG == 0) {
        return VDM_ENOTSUP; /* dirty logging left out (vdm/config.h) */
    }
    if ((vq == NULL) ||
        ((flags & ~(VDM_VQ_LOG_RING | VDM_VQ_LOG_ADDR)) != 0u)) {
        return VDM_EINVAL;
    }
    q = vq_of(vq);
    if (q->magic != VQ_MAGIC) {
        return VDM_ESTATE;
    }
    if ((flags & VDM_VQ_LOG_ADDR) != 0u) {
        /* the device area's last byte must not wrap */
        if ((q->dev_len - 1u) > (UINT64_MAX - addr)) {
            return VDM_EINVAL;
        }
        dev = addr;
    } else {
        dev = q->dev_gpa;
    }
    q->log_dev = dev;
    q->log_flags = flags;
    return 0;
}

int vdm_vq_broken(const struct vdm_vq *vq)
{
    const struct vq *q;

    if (vq == NULL) {
        return 0;
    }
    q = vq_of_const(vq);
    return q->magic == VQ_MAGIC && (q->flags & VQ_F_BROKEN) ? 1 : 0;
}

uint16_t vdm_vq_num(const struct vdm_vq *vq)
{
    const struct vq *q;

    if (vq == NULL) {
        return 0;
    }
    q = vq_of_const(vq);
    return q->magic == VQ_MAGIC ? q->num : 0;
}

/* ------------------------------------------------------------------------ */
/* Chain data                                                               */
/* ------------------------------------------------------------------------ */

size_t vdm_chain_copy_from(const struct vdm_chain *c, size_t off, void *dst,
                           size_t n)
{
    if (c == NULL) {
        return 0;
    }
    return vdm_iov_copy_from(c->iov, c->nread, off, dst, n);
}

size_t vdm_chain_copy_to(const struct vdm_chain *c, size_t off, const void *src,
                         size_t n)
{
    if (c == NULL || c->iov == NULL)
        return 0;
    return vdm_iov_copy_to(c->iov + c->nread, c->nwrite, off, src, n);
}
