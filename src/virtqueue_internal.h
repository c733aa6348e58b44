/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the real layout behind struct vdm_vq, the per-slot words kept in
 * the caller's slot array, and the interface between the common virtqueue
 * code (virtqueue.c) and the two ring formats (virtqueue_split.c,
 * virtqueue_packed.c).
 */
#ifndef VDM_VIRTQUEUE_INTERNAL_H
#define VDM_VIRTQUEUE_INTERNAL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/virtqueue.h"

/* "vdmQ": set by a successful vdm_vq_init, cleared by reset. */
#define VQ_MAGIC 0x766d6451u

/* Descriptor flags, both formats (spec "The Virtqueue Descriptor Table"). */
#define VQ_DESC_F_NEXT     1u
#define VQ_DESC_F_WRITE    2u
#define VQ_DESC_F_INDIRECT 4u
#define VQ_DESC_F_AVAIL    (1u << 7)  /* packed */
#define VQ_DESC_F_USED     (1u << 15) /* packed */
/* Split ring flags. */
#define VQ_AVAIL_F_NO_INTERRUPT 1u
#define VQ_USED_F_NO_NOTIFY     1u
/* Packed event suppression flags. */
#define VQ_EVENT_ENABLE  0u
#define VQ_EVENT_DISABLE 1u
#define VQ_EVENT_DESC    2u

/* Largest indirect table, in descriptors (spec: queue sizes <= 32768). */
#define VQ_INDIRECT_MAX 32768u

/* struct vq::flags */
#define VQ_F_BROKEN    0x01u
#define VQ_F_PACKED    0x02u
#define VQ_F_INDIRECT  0x04u /* VIRTIO_F_INDIRECT_DESC negotiated */
#define VQ_F_EVENT_IDX 0x08u /* VIRTIO_F_EVENT_IDX negotiated */
#define VQ_F_IN_ORDER  0x10u /* VIRTIO_F_IN_ORDER negotiated */
#define VQ_F_NOTIFY_ON 0x20u /* available-buffer notifications wanted */

/* struct vq::hooked: ring areas mapped through the translate hook */
#define VQ_H_DESC 1u
#define VQ_H_DRV  2u
#define VQ_H_DEV  4u

/*
 * Per-slot state in the caller's array: slot s (split: head index, packed:
 * buffer id) owns words [2s, 2s + 1] (VDM_VQ_SLOTS(num) = 2 * num):
 *   word 0 (meta): bit 31      in flight (popped, not yet pushed)
 *                  bits 16..30 ring descriptors the chain used, minus 1
 *                  bits 0..15  pop sequence number (IN_ORDER push order,
 *                              unpop of the most recent chain)
 *   word 1:        writable bytes of the chain (upper bound for push len)
 */
#define VQ_SLOT_META(s)  (2u * (uint32_t)(s))
#define VQ_SLOT_WLEN(s)  (2u * (uint32_t)(s) + 1u)
#define VQ_META_INFLIGHT 0x80000000u
#define VQ_META_NDESC(m) ((((m) >> 16) & 0x7fffu) + 1u)
#define VQ_META_SEQ(m)   ((uint16_t)((m)&0xffffu))
#define VQ_META(ndesc, seq)                                                    \
    (VQ_META_INFLIGHT | ((((uint32_t)(ndesc)-1u) & 0x7fffu) << 16) |           \
     (uint32_t)(uint16_t)(seq))

struct vq {
    /* hot: ring pointers cached at init */
    uint8_t *desc; /* descriptor table (split) / descriptor ring (packed) */
    uint8_t *drv;  /* avail ring (split) / driver event suppression */
    uint8_t *dev;  /* used ring (split) / device event suppression */
    uint32_t *slots;
    const struct vdm_mem *mem;
    uint32_t magic;
    uint16_t num;
    uint16_t mask;         /* split: num - 1 */
    uint16_t last_avail;   /* split: free-running; packed: ring position */
    uint16_t shadow_avail; /* split: avail idx last read */
    uint16_t used_idx;     /* split: free-running; packed: ring position */
    uint16_t signalled;    /* used position at the last notify decision */
    uint8_t avail_wrap;    /* packed: Driver Ring Wrap Counter we expect */
    uint8_t used_wrap;     /* packed: Device Ring Wrap Counter */
    uint8_t signalled_wrap;
    uint8_t flags;     /* VQ_F_* */
    uint16_t pop_seq;  /* sequence number the next pop gets */
    uint16_t push_seq; /* IN_ORDER: sequence number the next push must have */
    uint32_t inflight; /* chains popped, not pushed */
    uint32_t inflight_desc; /* packed: ring descriptors of those */
    uint32_t unsignalled;   /* used entries (split) / ring descriptors
                               (packed) published since the last notify
                               decision, saturating */
    uint32_t max_chain;     /* longest chain accepted, in descriptors */
    uint16_t index;
    uint8_t hooked; /* VQ_H_* */
    uint8_t reserved0;
    uint64_t desc_len, drv_len, dev_len; /* ring area sizes (for unmap) */
    void (*fault)(void *ctx, uint16_t qidx, int err, const char *why);
    void *ctx;
};

_Static_assert(sizeof(struct vq) <= VDM_VQ_SIZE,
               "struct vq does not fit VDM_VQ_SIZE");
_Static_assert(alignof(struct vq) <= 8, "struct vq needs more than 8-byte "
                                        "alignment");
_Static_assert(alignof(struct vdm_vq) >= alignof(struct vq),
               "struct vdm_vq storage is under-aligned");

static inline struct vq *vq_of(struct vdm_vq *v)
{
    return (struct vq *)(void *)v->opaque;
}

static inline const struct vq *vq_of_const(const struct vdm_vq *v)
{
    return (const struct vq *)(const void *)v->opaque;
}

/*
 * Chain assembly shared by both formats: descriptors are fed in chain order
 * with vq_walk_add(); it enforces the framing rules and maps the buffers
 * into the caller's spans.
 */
struct vq_walk {
    struct vdm_chain *c;
    uint64_t total;               /* sum of descriptor lengths */
    uint32_t nspan;               /* spans filled */
    uint32_t nread;               /* readable spans filled */
    uint32_t ndata;               /* data descriptors seen (max_chain) */
    uint32_t read_len, write_len; /* bytes of the filled spans */
    uint32_t hint;                /* region hint for vdm_mem_map_ex */
    bool seen_write;
    bool truncated; /* iov_cap ran out: later spans only checked */
    int err;        /* set when vq_walk_add fails */
    const char *why;
};

/* Record a guest violation: break the queue, call the fault hook once.
 * Returns VDM_EPROTO. */
int vq_violation(struct vq *q, int err, const char *why);

void vq_walk_start(struct vq *q, struct vq_walk *w, struct vdm_chain *c);
/* One data descriptor. 0, or -1 with w->err and w->why describing the
 * violation: the caller cleans up (vq_walk_abort, tables) and then calls
 * vq_violation, always last, since the fault hook may reset the queue. */
int vq_walk_add(struct vq *q, struct vq_walk *w, uint64_t addr, uint32_t len,
                bool write);
/* Give back hook spans of a chain being abandoned. */
void vq_walk_abort(struct vq *q, struct vq_walk *w);
/* Fill the chain from the walk; mark slot @p id in flight with @p ndesc ring
 * descriptors. Returns 1, or VDM_ENOSPC when truncated. */
int vq_walk_finish(struct vq *q, struct vq_walk *w, uint16_t id,
                   uint16_t ndesc);

/* Read an indirect table entry @p i into d[16], once. Table either mapped
 * (tbl != NULL) or read through guest memory at tgpa. 0 or VDM_EFAULT. */
int vq_read_indirect(struct vq *q, const uint8_t *tbl, uint64_t tgpa,
                     uint32_t i, uint8_t d[16]);
/* Map an indirect table for reading: *tbl set (maybe NULL: read entry by
 * entry), *hooked set. 0 or VDM_EFAULT. */
int vq_map_indirect(struct vq *q, uint64_t addr, uint32_t len,
                    const uint8_t **tbl, int *hooked);
void vq_unmap_indirect(struct vq *q, const uint8_t *tbl, uint32_t len,
                       int hooked);

/* Common push validation of one element; returns the slot meta or 0 with
 * *err set. */
uint32_t vq_push_check(struct vq *q, uint32_t id, uint32_t written, int *err);

/* split */
int vq_split_pop(struct vq *q, struct vdm_chain *c);
int vq_split_unpop(struct vq *q, uint16_t id, uint32_t meta);
int vq_split_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                  bool inorder_batch);
int vq_split_should_notify(struct vq *q);
int vq_split_set_notify(struct vq *q, int enable);
int vq_split_has_avail(struct vq *q);

/* packed */
int vq_packed_pop(struct vq *q, struct vdm_chain *c);
int vq_packed_unpop(struct vq *q, uint16_t id, uint32_t meta);
int vq_packed_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                   bool inorder_batch);
int vq_packed_should_notify(struct vq *q);
int vq_packed_set_notify(struct vq *q, int enable);
int vq_packed_has_avail(struct vq *q);

#endif
