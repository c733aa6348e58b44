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

#include "atomic.h"
#include "le.h"
#include "mem_internal.h"
#include "vdm/virtqueue.h"

/* Hot-path helpers are forced inline; cold paths (indirect tables, errors)
 * are kept out of line so the common loop stays small. */
#define VQ_INLINE   static inline __attribute__((always_inline))
#define VQ_NOINLINE __attribute__((noinline))
/* Out of line and rarely taken (violations, the general walks): the
 * compiler lays the fast paths out, and keeps their registers, for the
 * case that does not call these. */
#define VQ_COLD __attribute__((noinline, cold))

/* Speed or size. A speed-optimised build (VQ_SPEED 1) adds the pops'
 * one-descriptor fast paths and forces the hot helpers (VQ_HOT) inline; a
 * size-optimised one (-Os: __OPTIMIZE_SIZE__) leaves the fast paths out
 * (the general walks reach the same verdicts) and lets the compiler keep
 * one copy of each VQ_HOT helper. */
#if defined(__OPTIMIZE_SIZE__)
#define VQ_SPEED 0
#define VQ_HOT   static
#define VQ_WALK  static /* one caller: the compiler may merge them */
#else
#define VQ_SPEED 1
#define VQ_HOT   VQ_INLINE
#define VQ_WALK  static VQ_NOINLINE /* entered by a tail call */
#endif

/* "vdmQ": set by a successful vdm_vq_init, cleared by reset. */
#define VQ_MAGIC 0x766d6451u

/* struct vq::live: the one word the public pop and push test for their
 * common case. VQ_LIVE_SPLIT or VQ_LIVE_PACKED (the ring format) only while
 * the queue is initialised (magic), not broken and without IN_ORDER; else 0
 * and they take their general path, which tests magic and flags. Set last
 * by vdm_vq_init(), cleared with VQ_F_BROKEN by vq_violate() (the one place
 * that sets it) and by every reset (the whole struct zeroed). */
#define VQ_LIVE_SPLIT  0x53716456u /* "VdqS" */
#define VQ_LIVE_PACKED 0x50716456u /* "VdqP" */

/* Descriptor flags, both formats (spec "The Virtqueue Descriptor Table"). */
#define VQ_DESC_F_NEXT     1u
#define VQ_DESC_F_WRITE    2u
#define VQ_DESC_F_INDIRECT 4u
#define VQ_DESC_F_AVAIL    0x0080u /* packed, bit 7 */
#define VQ_DESC_F_USED     0x8000u /* packed, bit 15 */
/* Split ring flags. */
#define VQ_AVAIL_F_NO_INTERRUPT 1u
#define VQ_USED_F_NO_NOTIFY     1u
/* Packed event suppression flags. */
#define VQ_EVENT_ENABLE  0u
#define VQ_EVENT_DISABLE 1u
#define VQ_EVENT_DESC    2u

/* Largest indirect table, in descriptors (spec: queue sizes <= 32768). */
#define VQ_INDIRECT_MAX 32768u

/* struct vq::flags. A feature left out of the build (vdm/config.h) has
 * flag 0: every test of it is constant false and its code drops out. */
#define VQ_F_BROKEN    0x01u
#define VQ_F_PACKED    (VDM_CONFIG_PACKED ? 0x02u : 0u)
#define VQ_F_INDIRECT  (VDM_CONFIG_INDIRECT ? 0x04u : 0u)  /* negotiated */
#define VQ_F_EVENT_IDX (VDM_CONFIG_EVENT_IDX ? 0x08u : 0u) /* negotiated */
#define VQ_F_IN_ORDER  (VDM_CONFIG_IN_ORDER ? 0x10u : 0u)  /* negotiated */
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
    uint32_t live; /* VQ_LIVE_* or 0 */
    uint16_t num;
    uint16_t mask;         /* split: num - 1 */
    uint16_t last_avail;   /* split: wraps at 2^16; packed: ring position */
    uint16_t shadow_avail; /* split: avail idx last read */
    uint16_t used_idx;     /* split: wraps at 2^16; packed: ring position */
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
    uint32_t chain_lim;     /* min(num, max_chain): the pops' fast bound */
    uint16_t index;
    uint8_t hooked; /* VQ_H_* */
    uint8_t reserved0;
    uint32_t mem_hint;  /* region the last buffer lookup hit (only an index:
                           the table itself is read afresh every time) */
    uint32_t mem_hint2; /* the pops' second region: the one their last
                           lookup outside mem_hint's found (an index too) */
    uint64_t desc_len, drv_len, dev_len; /* ring area sizes (for unmap) */
    void (*fault)(void *ctx, uint16_t qidx, int err, const char *why);
    void *ctx;
    /* vhost-user inflight tracking (virtqueue_inflight.c); ift NULL: off,
     * and then nothing below is used. While ift is set, live is 0: pops
     * and pushes take their general paths, which record in the region. */
    uint8_t *ift;         /* this queue's region (vhost-user layout) */
    uint64_t ift_counter; /* counter the next pop records */
    uint64_t ift_limit;   /* resubmit only entries with counter below */
    uint64_t ift_cur;     /* counter of the last entry resubmitted */
    uint64_t ift_pcur;    /* ift_cur before it (unpop of a resubmission) */
    uint32_t ift_resub;   /* resubmissions left */
    uint16_t ift_cur_i;   /* its index (order: counter, then index) */
    uint16_t ift_pcur_i;
    uint16_t ift_dnum;    /* entries in the region (>= num) */
    uint16_t ift_free;    /* packed: free_head (the region's, shadowed) */
    uint16_t ift_ofree;   /* packed: old_free_head */
    uint16_t ift_last;    /* packed: head entry of the last pop */
    uint8_t ift_started;  /* a resubmission has been made (ift_cur valid) */
    uint8_t ift_pstarted;
    uint8_t ift_lastres;  /* the last pop was a resubmission */
    uint8_t ift_pad;
    uint32_t log_flags; /* VDM_VQ_LOG_* (dirty logging, below; here it
                           fills the hole before the pointers) */
    /* dirty logging (vdm_vq_set_log): *logp is the memory's log (&mem->log,
     * read afresh at every ring write: the caller switches it on and off),
     * or this queue's nolog (NULL) for an older struct vdm_mem */
    const struct vdm_dirty_log *const *logp;
    const struct vdm_dirty_log *nolog;
    uint64_t log_dev;   /* guest address device-area writes are logged at */
    uint64_t log_desc;  /* guest address of the descriptor ring (packed) */
    uint64_t dev_gpa;   /* guest address of the device area */
    /* the inflight engine (virtqueue_inflight.c) vdmi_vq_ift_attach()
     * installed with ift: reached only through it, so that an image
     * without vhost-user does not link the engine */
    const struct vq_ift_ops *ift_ops;
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
 * into the caller's spans. The common case (a buffer wholly inside the
 * region the previous lookup hit, room for its span) is inline; everything
 * else, and every error, goes through vq_walk_add_slow(), which starts over
 * from the same state.
 */
struct vq_walk {
    struct vdm_iov *iov;          /* the caller's span array (c->iov) */
    uint32_t cap;                 /* its capacity (c->iov_cap) */
    uint32_t nspan;               /* spans filled */
    uint32_t nread;               /* readable spans filled */
    uint32_t ndata;               /* data descriptors seen (max_chain) */
    uint32_t read_len, write_len; /* bytes of the filled spans */
    uint64_t total;               /* sum of descriptor lengths */
    bool seen_write;
    bool truncated; /* iov_cap ran out: later spans only checked */
    uint32_t tmode; /* VQ_TAIL_*: which unmapped descriptor to record */
    uint32_t *tail; /* c->reserved: recorded descriptor (see VQ_TAIL_*) */
    int err;        /* set when vq_walk_add fails */
    const char *why;
};

/* Record a guest violation: break the queue, call the fault hook once.
 * Returns VDM_EPROTO. Built with VDM_CONFIG_LOG_TEXT=0 the fault hook gets
 * no text (NULL) and the texts are not in the image. */
VQ_COLD int vq_violate(struct vq *q, int err, const char *why);
#if VDM_CONFIG_LOG_TEXT
#define vq_violation(q, err, why) vq_violate((q), (err), (why))
#else
#define vq_violation(q, err, why) ((void)(why), vq_violate((q), (err), NULL))
#endif

/*
 * Truncated chains (VDM_ENOSPC): a caller that must still answer the chain
 * (a status byte at the end of the writable part, a response header at its
 * start) asks, by setting c->reserved[2] to VQ_TAIL_LAST or VQ_TAIL_FIRST
 * before the pop, for the device-writable descriptor beyond the spans
 * returned to be recorded: the last one (LAST) or, when no writable span
 * fitted, the first one (FIRST). After the pop c->reserved[0] and [1] hold
 * its guest address (low, high) and c->reserved[2] its length (0: nothing
 * recorded). The push bound grows by that length. Used by src/kit.c.
 */
#define VQ_TAIL_LAST  1u
#define VQ_TAIL_FIRST 2u

static inline void vq_walk_start(struct vq_walk *w, struct vdm_chain *c)
{
    w->iov = c->iov;
    w->cap = c->iov_cap;
    w->nspan = 0;
    w->nread = 0;
    w->ndata = 0;
    w->read_len = 0;
    w->write_len = 0;
    w->total = 0;
    w->seen_write = false;
    w->truncated = false;
    w->tmode = c->reserved[2] & 3u;
    w->tail = c->reserved;
    c->reserved[2] = 0;
    /* err and why are only read after a failure, which sets them */
}

/* A walk taking over from a pop's fast loop, with what it gathered: @p
 * ndata data descriptors, as @p nspan spans (no truncation yet). */
VQ_INLINE void vq_walk_resume(struct vq_walk *w, struct vdm_chain *c,
                              uint32_t nspan, uint32_t nread, uint32_t ndata,
                              uint32_t read_len, uint32_t write_len,
                              bool seen_write)
{
    w->iov = c->iov;
    w->cap = c->iov_cap;
    w->nspan = nspan;
    w->nread = nread;
    w->ndata = ndata;
    w->read_len = read_len;
    w->write_len = write_len;
    w->total = (uint64_t)read_len + write_len;
    w->seen_write = seen_write;
    w->truncated = false;
    w->tmode = c->reserved[2] & 3u; /* VQ_TAIL_*: the caller's request */
    w->tail = c->reserved;
    c->reserved[2] = 0;
}

/* Record why a walk failed; returns -1. */
static inline int vq_walk_failed(struct vq_walk *w, int err, const char *why)
{
    w->err = err;
    w->why = why;
    return -1;
}
#if VDM_CONFIG_LOG_TEXT
#define vq_walk_fail(w, err, why) vq_walk_failed((w), (err), (why))
#else
#define vq_walk_fail(w, err, why)                                              \
    ((void)(why), vq_walk_failed((w), (err), NULL))
#endif

/* vq_walk_add() for every case (the fast path falls back to it). */
int vq_walk_add_slow(struct vq *q, struct vq_walk *w, uint64_t addr,
                     uint32_t len, bool write);

/* One data descriptor. 0, or -1 with w->err and w->why describing the
 * violation: the caller cleans up (vq_walk_abort, tables) and then calls
 * vq_violation, always last, since the fault hook may reset the queue. */
VQ_INLINE int vq_walk_add(struct vq *q, struct vq_walk *w, uint64_t addr,
                          uint32_t len, bool write)
{
#if VDM_CONFIG_FAST_WALK
    /* Fast path: exactly the checks of vq_walk_add_slow for a buffer that
     * passes them all as one span ("Message Framing" order, max_chain,
     * total length < 2^32, span room, guest memory); state is only
     * changed once all have passed. */
    if (VDM_LIKELY(len != 0 && w->nspan < w->cap && (write || !w->seen_write) &&
                   w->ndata < q->max_chain && w->total + len <= UINT32_MAX)) {
        uint32_t access = write ? VDM_MEM_WRITE : VDM_MEM_READ;
        uint8_t *p = vdm_mem_hit(q->mem, addr, len, access, q->mem_hint);

        if (p == NULL)
            p = vdm_mem_hit_scan(q->mem, addr, len, access, &q->mem_hint);
        if (VDM_LIKELY(p != NULL)) {
            struct vdm_iov *v = w->iov + w->nspan;

            v->base = p;
            v->len = len;
            v->flags = write ? VDM_IOV_F_WRITE : 0;
            w->nspan++;
            w->ndata++;
            w->total += len;
            if (write) {
                w->seen_write = true;
                w->write_len += len;
            } else {
                w->read_len += len;
                w->nread++;
            }
            return 0;
        }
    }
#endif
    return vq_walk_add_slow(q, w, addr, len, write);
}

/*
 * The host address of a data descriptor's buffer [addr, addr + len) for
 * the pops' fast walks, or NULL for the general walk to decide: len 0, the
 * chain's total (@p total bytes so far) reaching 2^32, or the buffer not
 * wholly in the cached region (@p k, vdm_mem_cache_hit()) nor in the one
 * vdm_mem_miss() finds (the second cached region, or one it finds in the
 * table and then caches).
 */
VQ_INLINE uint8_t *vq_fast_map(struct vq *q, struct vdm_mem_cache *k,
                               uint64_t addr, uint32_t len, uint32_t total,
                               uint32_t access)
{
    uint8_t *p = NULL;

    /* len != 0 and total + len <= UINT32_MAX */
    if (VDM_LIKELY((len - 1u) < (UINT32_MAX - total))) {
        p = vdm_mem_cache_hit(k, addr, len);
#if VQ_SPEED
        /* (-Os: vdm_mem_miss() tries the second region, same verdict) */
        if (VDM_UNLIKELY(p == NULL)) {
            /* another region (a chain spread over several) */
            p = vdm_mem_cache_hit2(k, addr, len);
        }
#endif
        if (VDM_UNLIKELY(p == NULL)) {
            p = vdm_mem_miss(q->mem, addr, len, access, &q->mem_hint,
                             &q->mem_hint2, k);
        }
    }
    return p;
}

/* The fast walks' outcomes (vq_fast_*). */
#define VQ_FAST_RUN  0u /* walking */
#define VQ_FAST_DONE 1u /* chain complete */
#define VQ_FAST_SLOW 2u /* d fetched, for the general walk */
#define VQ_FAST_IND  3u /* d is an INDIRECT ring descriptor */
#define VQ_FAST_END  4u /* rc holds the result (a violation) */

/* One span of a fast walk. */
VQ_INLINE void vq_fast_span(struct vdm_iov *v, uint8_t *p, uint32_t len,
                            bool write)
{
    v->base = p;
    v->len = len;
    v->flags = write ? VDM_IOV_F_WRITE : 0u;
}

/* Give back hook spans of a chain being abandoned (the walk's iov, nspan). */
void vq_walk_abort(struct vq *q, struct vdm_iov *iov, uint32_t nspan);

/* Fill the chain (spans already in c->iov); mark slot @p id in flight with
 * @p ndesc ring descriptors. Returns 1, or VDM_ENOSPC when truncated. */
VQ_INLINE int vq_pop_finish(struct vq *q, struct vdm_chain *c, uint16_t id,
                            uint16_t ndesc, uint32_t nspan, uint32_t nread,
                            uint32_t read_len, uint32_t write_len,
                            bool truncated)
{
    uint16_t seq = q->pop_seq;

    c->id = id;
    c->ndesc = ndesc;
    c->nread = nread;
    c->nwrite = nspan - nread;
    c->read_len = read_len;
    c->write_len = write_len;
    /* c->reserved is left alone: nothing is kept there */
    q->slots[VQ_SLOT_META(id)] = VQ_META(ndesc, seq);
    if (VDM_UNLIKELY(truncated)) {
        /* a recorded tail descriptor may be written too (see VQ_TAIL_*) */
        uint32_t t = c->reserved[2];
        write_len = t > UINT32_MAX - write_len ? UINT32_MAX : write_len + t;
    }
    q->slots[VQ_SLOT_WLEN(id)] = write_len;
    q->pop_seq = (uint16_t)(seq + 1u);
    q->inflight++;
    return VDM_UNLIKELY(truncated) ? VDM_ENOSPC : 1;
}

/* vq_pop_finish() from a walk. */
VQ_INLINE int vq_walk_finish(struct vq *q, const struct vq_walk *w,
                             struct vdm_chain *c, uint16_t id, uint16_t ndesc)
{
    return vq_pop_finish(q, c, id, ndesc, w->nspan, w->nread, w->read_len,
                         w->write_len, w->truncated);
}

/*
 * One descriptor as the device sees it: split ring and indirect entries
 * {le64 addr; le32 len; le16 flags; le16 next}, packed {le64 addr; le32 len;
 * le16 id; le16 flags}. vq_desc_fetch() reads the 16 bytes from guest
 * memory once, field by field into local copies, and only those copies are
 * used afterwards (never fetched twice). (Field-wise copies rather than one
 * 16-byte copy: GCC keeps those in registers as they are, where it
 * re-assembles a 16-byte copy byte by byte.)
 */
struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t w12; /* split: flags; packed: buffer id */
    uint16_t w14; /* split: next; packed: flags */
};

VQ_INLINE void vq_desc_fetch(struct vq_desc *d, const uint8_t *src)
{
    uint64_t a;
    uint32_t l;
    uint16_t x, y;

    __builtin_memcpy(&a, src, 8);
    __builtin_memcpy(&l, src + 8, 4);
    __builtin_memcpy(&x, src + 12, 2);
    __builtin_memcpy(&y, src + 14, 2);
    d->addr = vdm_le64(&a);
    d->len = vdm_le32(&l);
    d->w12 = vdm_le16(&x);
    d->w14 = vdm_le16(&y);
}

#if VDM_CONFIG_INDIRECT
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
#else
/* Never called: VQ_F_INDIRECT is 0, the ring walks refuse the table first. */
static inline int vq_read_indirect(struct vq *q, const uint8_t *tbl,
                                   uint64_t tgpa, uint32_t i, uint8_t d[16])
{
    (void)q, (void)tbl, (void)tgpa, (void)i, (void)d;
    return VDM_EFAULT;
}
static inline int vq_map_indirect(struct vq *q, uint64_t addr, uint32_t len,
                                  const uint8_t **tbl, int *hooked)
{
    (void)q, (void)addr, (void)len, (void)tbl, (void)hooked;
    return VDM_EFAULT;
}
static inline void vq_unmap_indirect(struct vq *q, const uint8_t *tbl,
                                     uint32_t len, int hooked)
{
    (void)q, (void)tbl, (void)len, (void)hooked;
}
#endif

/* Ring writes with dirty logging on (vq_logging): mark [off, off + len) of
 * the device area (split used ring, packed device event suppression) or of
 * the packed descriptor ring in the log, when the queue logs its ring
 * writes (VDM_VQ_LOG_RING). Out of line: only taken while logging. */
VQ_COLD void vq_log_dev(const struct vq *q, uint32_t off, uint32_t len);
VQ_COLD void vq_log_desc(const struct vq *q, uint32_t off, uint32_t len);
/* The marks of a one-element push, made last and returning 0: a tail call,
 * so the push itself needs no register saved across a call (virtqueue.c).
 * Split: the used element at @p eoff of the device area and idx; packed:
 * the id/len/flags of the descriptor at ring position @p pos. */
VQ_COLD int vq_split_push1_log(const struct vq *q, uint32_t eoff);
VQ_COLD int vq_packed_push1_log(const struct vq *q, uint32_t pos);

/* Is dirty logging on (the memory has a log)? One load through logp;
 * constant false when logging is left out (VDM_CONFIG_DIRTY_LOG 0: no
 * memory with a log gets this far, vdm_dev_init()). */
VQ_INLINE bool vq_logging(const struct vq *q)
{
#if VDM_CONFIG_DIRTY_LOG
    return VDM_UNLIKELY(*q->logp != NULL);
#else
    (void)q;
    return false;
#endif
}

/* Common push validation of one element; returns the slot meta (in flight
 * bit set), or 0 when @p id is not in flight or @p written exceeds its
 * writable bytes. */
static inline uint32_t vq_push_check(const struct vq *q, uint32_t id,
                                     uint32_t written)
{
    uint32_t meta;

    if (VDM_UNLIKELY(id >= q->num))
        return 0;
    meta = q->slots[VQ_SLOT_META(id)];
    if (VDM_UNLIKELY(!(meta & VQ_META_INFLIGHT) ||
                     written > q->slots[VQ_SLOT_WLEN(id)]))
        return 0;
    return meta;
}

/* vhost-user inflight tracking (virtqueue_inflight.c): built in with
 * vhost-user and VDM_CONFIG_INFLIGHT (vdm/config.h). */
#define VQ_INFLIGHT (VDM_CONFIG_VHOST_USER && VDM_CONFIG_INFLIGHT)

/* The inflight engine of a tracked queue (virtqueue_inflight.c), installed
 * by vdmi_vq_ift_attach() with the region: the core reaches it only
 * through struct vq::ift_ops, so an image that never attaches a region
 * (no vhost-user transport) does not link it. */
struct vq_ift_ops {
    /* Pop with tracking: resubmissions first, then the ring. */
    int (*pop)(struct vq *q, struct vdm_chain *c);
    /* The most recent pop (slot @p id, record @p meta) given back (for a
     * resubmission, the ring position never moved); 0 or the format's
     * unpop's code. */
    int (*unpop)(struct vq *q, uint16_t id, uint32_t meta);
    /* Before / after a push of @p n checked elements (slots already out of
     * flight): the steps of "Inflight I/O tracking" around the
     * publication. */
    void (*push_pre)(struct vq *q, const struct vdm_used *u, uint32_t n);
    void (*push_post)(struct vq *q, const struct vdm_used *u, uint32_t n);
    /* vdm_vq_push() of one element (slot @p id already out of flight,
     * @p meta its record): publication with those steps around it; 0. */
    int (*push1)(struct vq *q, uint16_t id, uint32_t written, uint32_t meta);
};

/* vq_ift_on(): is queue @p q tracked (one load and a branch)? Constant
 * false when tracking is left out. The vq_ift_*() calls below are for a
 * tracked queue only (ift_ops set with ift). */
#if VQ_INFLIGHT
#define vq_ift_on(q) ((q)->ift != NULL)
static inline int vq_ift_pop(struct vq *q, struct vdm_chain *c)
{
    return q->ift_ops->pop(q, c);
}
static inline void vq_ift_push_pre(struct vq *q, const struct vdm_used *u,
                                   uint32_t n)
{
    q->ift_ops->push_pre(q, u, n);
}
static inline void vq_ift_push_post(struct vq *q, const struct vdm_used *u,
                                    uint32_t n)
{
    q->ift_ops->push_post(q, u, n);
}
static inline int vq_ift_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    return q->ift_ops->unpop(q, id, meta);
}
static inline int vq_ift_push1(struct vq *q, uint16_t id, uint32_t written,
                               uint32_t meta)
{
    return q->ift_ops->push1(q, id, written, meta);
}
#else
#define vq_ift_on(q) 0
static inline int vq_ift_pop(struct vq *q, struct vdm_chain *c)
{
    (void)q;
    (void)c;
    return VDM_ENOTSUP;
}
static inline void vq_ift_push_pre(struct vq *q, const struct vdm_used *u,
                                   uint32_t n)
{
    (void)q;
    (void)u;
    (void)n;
}
static inline void vq_ift_push_post(struct vq *q, const struct vdm_used *u,
                                    uint32_t n)
{
    (void)q;
    (void)u;
    (void)n;
}
static inline int vq_ift_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    (void)q;
    (void)id;
    (void)meta;
    return 0;
}
static inline int vq_ift_push1(struct vq *q, uint16_t id, uint32_t written,
                               uint32_t meta)
{
    (void)q;
    (void)id;
    (void)written;
    (void)meta;
    return 0;
}
#endif

/* split (vdm_vq_pop() is in virtqueue_split.c) */
/* The split ring's pop (no tracking). */
int vq_split_pop(struct vq *q, struct vdm_chain *c);
/* Pop the chain at head @p head again (a resubmission: no avail entry). */
int vq_split_pop_head(struct vq *q, struct vdm_chain *c, uint16_t head);
int vq_split_unpop(struct vq *q, uint16_t id, uint32_t meta);
int vq_split_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                  bool inorder_batch);

/* One element, already checked (vdm_vq_push); returns 0. Inline: the
 * public push is one call. */
VQ_INLINE int vq_split_push1(struct vq *q, uint16_t id, uint32_t len)
{
    uint16_t ui = q->used_idx;
    /* used ring: {le16 flags; le16 idx; {le32 id; le32 len} ring[num]} */
    uint8_t *dev = q->dev;
    uint32_t eoff = 4u + (8u * (uint32_t)(ui & q->mask));
    uint8_t *e = &dev[eoff];
    uint32_t un = q->unsignalled;

    vdm_put_le32(e, id);
    vdm_put_le32(&e[4], len);
    ui = (uint16_t)(ui + 1u);
    q->used_idx = ui;
    /* len and id before idx ("The Virtqueue Used Ring"). */
    vdm_store_release_le16(&dev[2], ui);
    q->unsignalled = un + (un != UINT32_MAX); /* saturating */
    if (vq_logging(q)) {
        return vq_split_push1_log(q, eoff);
    }
    return 0;
}
int vq_split_should_notify(struct vq *q);
int vq_split_set_notify(struct vq *q, int enable);
int vq_split_has_avail(struct vq *q);

/* packed; left out of the build (VDM_CONFIG_PACKED 0), never called:
 * VQ_F_PACKED is 0 and vdm_vq_init() refuses RING_PACKED. */
#if VDM_CONFIG_PACKED
int vq_packed_pop(struct vq *q, struct vdm_chain *c);
/* A resubmission: the list recorded at entry @p e of the packed inflight
 * region (virtqueue_inflight.c layout), walked from the record. */
int vq_packed_pop_rec(struct vq *q, struct vdm_chain *c, uint16_t e);
int vq_packed_unpop(struct vq *q, uint16_t id, uint32_t meta);
int vq_packed_push(struct vq *q, const struct vdm_used *u, uint32_t n,
                   bool inorder_batch);
/* One element, already checked (vdm_vq_push); @p meta its slot word.
 * Returns 0. Inline: the public push is one call. */
VQ_INLINE int vq_packed_push1(struct vq *q, uint16_t id, uint32_t len,
                              uint32_t meta)
{
    uint32_t pos = q->used_idx, nd = VQ_META_NDESC(meta);
    uint32_t at = pos; /* the descriptor written */
    uint32_t un = q->unsignalled;
    uint8_t wrap = q->used_wrap;
    /* descriptor {le64 addr; le32 len; le16 id; le16 flags} */
    uint8_t *d = &q->desc[(size_t)pos * 16u];
    uint16_t fl = wrap ? (uint16_t)(VQ_DESC_F_AVAIL | VQ_DESC_F_USED) : 0;

    /* "Write Flag": in a used descriptor WRITE says data was written. */
    if (len != 0)
        fl |= VQ_DESC_F_WRITE;
    vdm_put_le32(&d[8], len);
    vdm_put_le16(&d[12], id);
    vdm_store_release_le16(&d[14], fl);
    pos += nd; /* nd <= num: at most one wrap */
    if (pos >= q->num) {
        pos -= q->num;
        wrap ^= 1u;
    }
    q->used_idx = (uint16_t)pos;
    q->used_wrap = wrap;
    q->inflight_desc -= nd;
    q->unsignalled = ((un + nd) < un) ? UINT32_MAX : (un + nd);
    if (vq_logging(q)) {
        /* the descriptor written, at the position before the move */
        return vq_packed_push1_log(q, at);
    }
    return 0;
}
int vq_packed_should_notify(struct vq *q);
int vq_packed_set_notify(struct vq *q, int enable);
int vq_packed_has_avail(struct vq *q);

#else
static inline int vq_packed_fail(const struct vq *q)
{
    (void)q;
    return VDM_ENOTSUP;
}
static inline int vq_packed_pop(struct vq *q, struct vdm_chain *c)
{
    (void)c;
    return vq_packed_fail(q);
}
static inline int vq_packed_pop_rec(struct vq *q, struct vdm_chain *c,
                                    uint16_t e)
{
    (void)c;
    (void)e;
    return vq_packed_fail(q);
}
static inline int vq_packed_unpop(struct vq *q, uint16_t id, uint32_t meta)
{
    (void)id;
    (void)meta;
    return vq_packed_fail(q);
}
static inline int vq_packed_push(struct vq *q, const struct vdm_used *u,
                                 uint32_t n, bool inorder_batch)
{
    (void)u;
    (void)n;
    (void)inorder_batch;
    return vq_packed_fail(q);
}
static inline int vq_packed_push1(struct vq *q, uint16_t id, uint32_t len,
                                  uint32_t meta)
{
    (void)id;
    (void)len;
    (void)meta;
    return vq_packed_fail(q);
}
static inline int vq_packed_should_notify(struct vq *q)
{
    return vq_packed_fail(q);
}
static inline int vq_packed_set_notify(struct vq *q, int enable)
{
    (void)enable;
    return vq_packed_fail(q);
}
static inline int vq_packed_has_avail(struct vq *q)
{
    return vq_packed_fail(q);
}
#endif

#endif
