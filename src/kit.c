/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device kit (include/vdm/kit.h): queue service, request pool, feature
 * policy.
 *
 * Slots: queue q owns the block of per_queue + 1 slots starting at
 * q * (per_queue + 1). The first is its bookkeeping (struct kit_queue); the
 * others are requests, each with iov_per_req spans in the caller's span
 * array. A request slot lives FREE -> ACTIVE (popped) -> FREE when it is
 * finished, or ACTIVE -> ZOMBIE at a reset -> FREE when the host finally
 * finishes it. The token handed out encodes the slot index and a per-slot
 * sequence number, so a stale or repeated completion is recognised instead
 * of ending someone else's request.
 */
#include "vdm/kit.h"

#include "abi_internal.h"
#include "kit_internal.h"
#include "virtqueue_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 3
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

static void *slot_at(const struct kit *s, size_t idx)
{
    return s->slots + idx * s->stride;
}

static struct kit_queue *qstate(const struct kit *s, uint16_t q)
{
    return (struct kit_queue *)slot_at(s, (size_t)q * per_block(s));
}

static struct vdm_kit_req *req_at(const struct kit *s, size_t idx)
{
    return (struct vdm_kit_req *)slot_at(s, idx);
}

/* A request slot's index, kept in its reserved1 by vdm_kit_init() (no
 * division on the request path); checked, recomputed if it was clobbered. */
static size_t req_index(const struct kit *s, const struct vdm_kit_req *r)
{
    size_t idx = r->reserved1;

    if (VDM_LIKELY(idx < (size_t)s->nq * per_block(s) && req_at(s, idx) == r))
        return idx;
    return (size_t)((const unsigned char *)r - s->slots) / s->stride;
}

/* Span array of request slot @p idx of queue @p q. */
static struct vdm_iov *req_iov(const struct kit *s, uint16_t q, size_t idx)
{
    size_t base = (size_t)q * per_block(s), k = idx - base - 1u;

    return s->iovs + ((size_t)q * s->per_q + k) * s->iov_per_req;
}

static const struct vdm_kit_queue *qdesc(const struct kit *s, uint16_t q)
{
    return &s->qd[q < s->nqdesc ? q : s->nqdesc - 1u];
}

static void kit_warn(struct kit *s, uint32_t bit, vdm_msg msg)
{
    if (!VDM_LOG_ON(VDM_LOG_WARN) || ((s->warned & bit) != 0u)) {
        return;
    }
    s->warned |= bit;
    vdmi_dev_log(s->dev, VDM_LOG_WARN, msg);
}

int vdm_kit_init(struct vdm_kit *k, struct vdm_dev *dev,
                 const struct vdm_kit_config *cfg)
{
    struct vdm_kit_config c;
    struct kit *s;
    uint64_t nslots;
    uint16_t q;

    if (k == NULL || dev == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (vdm_copy_sized(&c, sizeof(c), cfg, sizeof(c)) < 0)
        return VDM_ESIZE;
    if (c.num_queues == 0 || c.num_queues > VDM_DEV_MAX_QUEUES ||
        c.nqdesc == 0 || c.queues == NULL || c.slots == NULL ||
        c.iovs == NULL || c.per_queue == 0 || c.iov_per_req == 0 ||
        c.slot_bytes < sizeof(struct vdm_kit_req) || c.slot_bytes % 8u != 0 ||
        ((uintptr_t)c.slots & 7u) != 0)
        return VDM_EINVAL;
    nslots = (uint64_t)c.num_queues * ((uint64_t)c.per_queue + 1u);
    if (nslots > ((uint64_t)1 << TOKEN_SHIFT))
        return VDM_EINVAL;
    for (q = 0; q < c.nqdesc; q++)
        if (c.queues[q].serve == NULL || c.queues[q].status_len > 8u ||
            c.queues[q].status_at > VDM_KIT_STATUS_PREFIX)
            return VDM_EINVAL;

    __builtin_memset(k, 0, sizeof(*k));
    s = (struct kit *)(void *)k->opaque;
    s->nq = c.num_queues;
    s->nqdesc = c.nqdesc;
    s->dev = dev;
    s->qd = c.queues;
    s->ctx = c.ctx;
    s->slots = (unsigned char *)c.slots;
    s->iovs = c.iovs;
    s->stride = c.slot_bytes;
    s->per_q = c.per_queue;
    s->iov_per_req = c.iov_per_req;
    s->budget = c.budget != 0 ? c.budget : DEFAULT_BUDGET;
    s->nslots = (uint32_t)nslots;
    __builtin_memset(s->slots, 0, (size_t)nslots * s->stride);
    for (q = 0; q < s->nq; q++) {
        size_t base = (size_t)q * per_block(s);
        uint32_t i;

        qstate(s, q)->free_head = (uint32_t)base + 1u;
        /* the bookkeeping slot's bytes past struct kit_queue: never a
         * request (vdm_kit_lookup) */
        req_at(s, base)->reserved1 = NONE;
        for (i = 1; i <= s->per_q; i++) {
            req_at(s, base + i)->next_free =
                i < s->per_q ? (uint32_t)(base + i + 1u) : NONE;
            req_at(s, base + i)->reserved1 = (uint32_t)(base + i);
            req_at(s, base + i)->chain.iov = req_iov(s, q, base + i);
            req_at(s, base + i)->chain.iov_cap = s->iov_per_req;
        }
    }
    s->magic = KIT_MAGIC;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Taking and ending requests */

static void free_slot(struct kit *s, struct kit_queue *qs,
                      struct vdm_kit_req *r)
{
    r->state = SLOT_FREE;
    r->next_free = qs->free_head;
    qs->free_head = (uint32_t)req_index(s, r);
}

static uint32_t chain_spans(const struct vdm_kit_req *r)
{
    uint32_t n = r->chain.nread + r->chain.nwrite;

    return n > r->chain.iov_cap ? r->chain.iov_cap : n;
}

static int kit_run_queue(struct kit *s, uint16_t q);
static int kit_put_back(struct kit *s, struct vdm_kit_req *r);

/* Dirty logging (vdm_mem::log): the pages of the writable spans the
 * device wrote. The used length counts the bytes written from the start of
 * the writable part ("The Virtqueue Used Ring": len), except on a queue
 * whose status sits at the end of it (VDM_KIT_STATUS_TAIL: blk, i2c, spi,
 * sound), where it counts the data written from the start plus the status
 * at the end. */
static VQ_NOINLINE void kit_log(const struct kit *s, const struct vdm_mem *m,
                                const struct vdm_kit_req *r, uint32_t written)
{
    const struct vdm_chain *c = &r->chain;
    const struct vdm_kit_queue *d = qdesc(s, r->queue);
    uint32_t n = chain_spans(r);
    uint32_t nr = (c->nread < n) ? c->nread : n;
    uint32_t st = d->status_len;

    if ((d->status_at == VDM_KIT_STATUS_TAIL) && (st != 0u) &&
        (c->write_len >= st) && (written != 0u)) {
        /* the data, then the status in the last st bytes */
        (void)vdm_mem_log_iov(m, c->iov + nr, n - nr, 0,
                              ((written > st) ? (written - st) : 0u));
        (void)vdm_mem_log_iov(m, c->iov + nr, n - nr, c->write_len - st, st);
    } else {
        (void)vdm_mem_log_iov(m, c->iov + nr, n - nr, 0, written);
    }
}

static int kit_finish(struct kit *s, struct vdm_kit_req *r, uint32_t written)
{
    struct kit_queue *qs = qstate(s, r->queue);
    const struct vdm_mem *m = vdm_dev_mem(s->dev);
    int rc = 0;

    if (VDM_UNLIKELY((m != NULL) && (vdm_mem_log(m) != NULL))) {
        kit_log(s, m, r, written);
    }
    vdm_mem_release(m, r->chain.iov, chain_spans(r));
    if (r->state == SLOT_ZOMBIE) {
        qs->nzombie--;
        rc = VDM_ESTATE;
    } else {
        struct vdm_vq *vq = vdm_dev_queue(s->dev, r->queue);

        if (vq != NULL) {
            if (vdm_vq_push(vq, r->chain.id, written) < 0)
                kit_warn(s, WARN_PUSH, VDM_MSG("kit: used push failed"));
            else if (qs->busy != 0u)
                qs->npushed++;
            else
                (void)vdm_dev_notify_used(s->dev, r->queue);
        }
        qs->nactive--;
    }
    free_slot(s, qs, r);
    return rc;
}

/* A slot came free (outside a pass) for a queue that ran out of them: take
 * up its waiting chains. Called by the public entry points only, so the
 * queue service is never re-entered from below. */
static void kit_resume(struct kit *s, uint16_t q)
{
    const struct kit_queue *qs = qstate(s, q);

    if (qs->stalled != 0u && qs->busy == 0u)
        (void)kit_run_queue(s, q);
}

/* A chain with more spans than a slot holds: answer it with the queue's
 * error status where the driver looks for it, so it never completes as
 * "nothing happened". Returns the bytes written. */
static uint32_t write_error(struct kit *s, struct vdm_kit_req *r,
                            const struct vdm_kit_queue *d)
{
    const struct vdm_chain *c = &r->chain;
    /* The descriptor the pop recorded beyond the spans that fit (see
     * VQ_TAIL_*): only a truncated pop leaves one. */
    uint64_t gpa = (uint64_t)c->reserved[0] | ((uint64_t)c->reserved[1] << 32);
    uint32_t tlen = (r->truncated != 0u) ? c->reserved[2] : 0u;
    uint32_t n = d->status_len;

    if (d->status_at == VDM_KIT_STATUS_NONE || n == 0)
        return 0;
    if (d->status_at == VDM_KIT_STATUS_TAIL) {
        if (tlen == 0 && c->write_len >= n &&
            vdm_chain_copy_to(c, c->write_len - n, d->status_err, n) == n)
            return n;
        if (tlen >= n && vdm_mem_write(vdm_dev_mem(s->dev), gpa + tlen - n,
                                       d->status_err, n) == 0)
            return n;
    } else {
        if (c->write_len >= n && vdm_chain_copy_to(c, 0, d->status_err, n) == n)
            return n;
        if (c->write_len == 0 && tlen >= n &&
            vdm_mem_write(vdm_dev_mem(s->dev), gpa, d->status_err, n) == 0)
            return n;
    }
    kit_warn(s, WARN_NOSTATUS, VDM_MSG("kit: no room for the error status"));
    return 0;
}

static uint32_t answer_truncated(struct kit *s, struct vdm_kit_req *r,
                                 const struct vdm_kit_queue *d)
{
    kit_warn(s, WARN_TRUNCATED,
             VDM_MSG("kit: request has more spans than the device takes"));
    return write_error(s, r, d);
}

/* Pop one chain of queue q into a free slot. 1: *out set; 2: a truncated
 * chain was answered; 0: queue empty; VDM_EBUSY: no free slot; other
 * negative: queue not usable. */
static inline int take_one(struct kit *s, uint16_t q, struct vdm_vq *vq,
                           struct vdm_kit_req **out)
{
    struct kit_queue *qs = qstate(s, q);
    const struct vdm_kit_queue *d = qdesc(s, q);
    struct vdm_kit_req *r;
    uint32_t idx = qs->free_head;
    int rc;

    if (idx == NONE) {
        qs->stalled = 1;
        return VDM_EBUSY;
    }
    r = req_at(s, idx);
    /* chain.iov and iov_cap are the slot's own, set at init; the pop
     * fills the rest */
    r->chain.reserved[2] = d->status_at == VDM_KIT_STATUS_TAIL   ? VQ_TAIL_LAST
                           : d->status_at == VDM_KIT_STATUS_HEAD ? VQ_TAIL_FIRST
                                                                 : 0u;
    rc = vdm_vq_pop(vq, &r->chain);
    if (rc == 0)
        return 0;
    if (rc < 0 && rc != VDM_ENOSPC)
        return rc;
    qs->free_head = r->next_free;
    qs->nactive++;
    r->state = SLOT_ACTIVE;
    r->queue = q;
    r->seq = (r->seq + 1u) & (uint32_t)TOKEN_SEQ_MASK;
    if (r->seq == 0)
        r->seq = 1; /* tokens are never 0 */
    r->truncated = rc == VDM_ENOSPC;
    if ((rc == VDM_ENOSPC) && (d->status_at == VDM_KIT_STATUS_PREFIX)) {
        kit_warn(
            s, WARN_TRUNCATED,
            VDM_MSG("kit: request has more spans than the device takes, using "
                    "the first ones"));
    } else if ((rc == VDM_ENOSPC) &&
               ((d->flags & VDM_KIT_Q_SERVE_TRUNCATED) != 0u)) {
        kit_warn(s, WARN_TRUNCATED,
                 VDM_MSG("kit: request has more spans than the device takes"));
    } else if (rc == VDM_ENOSPC) {
        (void)kit_finish(s, r, answer_truncated(s, r, d));
        return 2;
    } else {
        /* the whole chain fits the slot */
    }
    *out = r;
    return 1;
}

static int kit_run_queue(struct kit *s, uint16_t q)
{
    struct kit_queue *qs = qstate(s, q);
    const struct vdm_kit_queue *d = qdesc(s, q);
    struct vdm_vq *vq;
    uint32_t gen = qs->gen, n = 0;
    int empty = 0;

    if (qs->busy)
        return 0;
    vq = vdm_dev_queue(s->dev, q);
    /* Spec "Device Suspend": no new buffer once the driver set SUSPEND. */
    if ((vq == NULL) || (vdm_dev_suspending(s->dev) != 0))
        return 0;
    qs->busy = 1;
    qs->stalled = 0;
    qs->npushed = 0;
    (void)vdm_vq_set_notify(vq, 0);
    while (n < s->budget) {
        struct vdm_kit_req *r = NULL;
        uint32_t written = 0;
        int rc = take_one(s, q, vq, &r);

        if (qs->gen != gen)
            break; /* reset from inside a host call: the ring is gone */
        if (rc == 0) {
            /* "Driver Notifications" / EVENT_IDX: re-enable, then look
             * again for chains that arrived in between. */
            if (vdm_vq_set_notify(vq, 1) != 1) {
                empty = 1;
                break;
            }
            (void)vdm_vq_set_notify(vq, 0);
            continue;
        }
        if (rc < 0)
            break;
        n++;
        if (rc == 2)
            continue;
        rc = d->serve(s->ctx, r, &written);
        if (rc == VDM_KIT_PENDING)
            ; /* the device finishes it */
        else if (rc == VDM_EAGAIN && qs->gen == gen) {
            n--;
            (void)kit_put_back(s, r);
            break;
        } else
            (void)kit_finish(s, r, written);
        if (qs->gen != gen)
            break;
    }
    if (qs->gen == gen) {
        if (!empty)
            (void)vdm_vq_set_notify(vq, 1);
        if (qs->npushed != 0)
            (void)vdm_dev_notify_used(s->dev, q);
        qs->npushed = 0;
        qs->busy = 0;
    }
    return (int)n;
}

int vdm_kit_run(struct vdm_kit *k, uint16_t q)
{
    struct kit *s = kit_of(k);

    if (s == NULL)
        return VDM_EINVAL;
    if (q >= s->nq)
        return VDM_ERANGE;
    return kit_run_queue(s, q);
}

int vdm_kit_take(struct vdm_kit *k, uint16_t q, struct vdm_kit_req **out)
{
    struct kit *s = kit_of(k);
    struct vdm_vq *vq;

    if (s == NULL || out == NULL)
        return VDM_EINVAL;
    if (q >= s->nq)
        return VDM_ERANGE;
    vq = vdm_dev_queue(s->dev, q);
    if (vq == NULL)
        return VDM_ESTATE;
    if (vdm_dev_suspending(s->dev) != 0) {
        return 0; /* spec "Device Suspend": no new buffer */
    }
    for (;;) {
        int rc = take_one(s, q, vq, out);

        if (rc == VDM_EBUSY)
            return 0;
        if (rc != 2)
            return rc;
    }
}

static int kit_put_back(struct kit *s, struct vdm_kit_req *r)
{
    struct kit_queue *qs;
    struct vdm_vq *vq;

    if (r->state == SLOT_ZOMBIE)
        return kit_finish(s, r, 0);
    qs = qstate(s, r->queue);
    vq = vdm_dev_queue(s->dev, r->queue);
    if (vq == NULL || vdm_vq_unpop(vq, &r->chain) < 0) {
        /* Not the last chain popped: never leak it, return it empty. */
        (void)kit_finish(s, r, 0);
        return VDM_ESTATE;
    }
    vdm_mem_release(vdm_dev_mem(s->dev), r->chain.iov, chain_spans(r));
    qs->nactive--;
    free_slot(s, qs, r);
    return 0;
}

uint32_t vdm_kit_answer_error(struct vdm_kit *k, struct vdm_kit_req *r)
{
    struct kit *s = kit_of(k);

    if ((s == NULL) || (r == NULL) || (r->state != SLOT_ACTIVE)) {
        return 0;
    }
    return write_error(s, r, qdesc(s, r->queue));
}

int vdm_kit_put_back(struct vdm_kit *k, struct vdm_kit_req *r)
{
    struct kit *s = kit_of(k);
    uint16_t q;
    int rc;

    if (s == NULL || r == NULL || r->state == SLOT_FREE)
        return VDM_EINVAL;
    q = r->queue;
    rc = kit_put_back(s, r);
    kit_resume(s, q);
    return rc;
}

int vdm_kit_finish(struct vdm_kit *k, struct vdm_kit_req *r, uint32_t written)
{
    struct kit *s = kit_of(k);
    uint16_t q;
    int rc;

    if (s == NULL || r == NULL || r->state == SLOT_FREE)
        return VDM_EINVAL;
    q = r->queue;
    rc = kit_finish(s, r, written);
    kit_resume(s, q);
    return rc;
}

uintptr_t vdm_kit_token(const struct vdm_kit *k, const struct vdm_kit_req *r)
{
    if (ckit_of(k) == NULL || r == NULL)
        return 0;
    /* a clobbered reserved1 makes a token vdm_kit_lookup() refuses, never
     * a wrong request */
    return vdmi_kit_token(r);
}

struct vdm_kit_req *vdmi_kit_lookup(const struct kit *s, uintptr_t token)
{
    size_t idx = (size_t)(token & TOKEN_IDX_MASK);
    struct vdm_kit_req *r;

    if (idx >= s->nslots)
        return NULL;
    r = (struct vdm_kit_req *)(void *)(s->slots + idx * s->stride);
    /* reserved1: a request slot's own index, NONE in bookkeeping slots */
    if ((r->reserved1 != idx) || (r->state == SLOT_FREE) ||
        ((uintptr_t)r->seq != (token >> TOKEN_SHIFT)))
        return NULL;
    return r;
}

struct vdm_kit_req *vdm_kit_lookup(const struct vdm_kit *k, uintptr_t token)
{
    const struct kit *s = ckit_of(k);

    return s != NULL ? vdmi_kit_lookup(s, token) : NULL;
}

int vdm_kit_req_live(const struct vdm_kit_req *r)
{
    return r != NULL && vdmi_kit_req_live(r);
}

static void abandon_queue(struct kit *s, uint16_t q)
{
    struct kit_queue *qs = qstate(s, q);
    size_t base = (size_t)q * per_block(s);
    uint32_t i;

    qs->gen++;
    qs->stalled = 0;
    qs->npushed = 0;
    /* A pass cut short (a reset from inside a host call, or a host that
     * unwound out of one, e.g. on SIGBUS) must not block the next one; a
     * pass still running sees the new generation and stops. */
    qs->busy = 0;
    for (i = 1; i <= s->per_q && qs->nactive != 0; i++) {
        struct vdm_kit_req *r = req_at(s, base + i);

        if (r->state == SLOT_ACTIVE) {
            r->state = SLOT_ZOMBIE;
            qs->nactive--;
            qs->nzombie++;
        }
    }
}

void vdm_kit_reset(struct vdm_kit *k, uint16_t q)
{
    struct kit *s = kit_of(k);
    uint16_t i;

    if (s == NULL)
        return;
    if (q != UINT16_MAX) {
        if (q < s->nq)
            abandon_queue(s, q);
        return;
    }
    for (i = 0; i < s->nq; i++)
        abandon_queue(s, i);
    s->warned = 0;
}

int vdm_kit_pending(const struct vdm_kit *k, uint16_t q, uint32_t *cursor,
                    uintptr_t *token)
{
    const struct kit *s = ckit_of(k);
    size_t base;

    if (s == NULL || cursor == NULL || token == NULL)
        return VDM_EINVAL;
    if (q >= s->nq)
        return VDM_ERANGE;
    base = (size_t)q * per_block(s);
    while (*cursor < s->per_q) {
        const struct vdm_kit_req *r = req_at(s, base + 1u + *cursor);

        (*cursor)++;
        if (r->state != SLOT_FREE) {
            *token = vdm_kit_token(k, r);
            return 1;
        }
    }
    return 0;
}

uint32_t vdm_kit_in_flight(const struct vdm_kit *k)
{
    const struct kit *s = ckit_of(k);
    uint32_t n = 0;
    uint16_t q;

    if (s == NULL)
        return 0;
    for (q = 0; q < s->nq; q++) {
        const struct kit_queue *qs = qstate(s, q);
        n += qs->nactive + qs->nzombie;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Policy and small helpers */

uint64_t vdm_kit_features(uint64_t type_bits, uint64_t host_bits,
                          uint64_t ring_off)
{
    return (type_bits & VDM_KIT_F_TYPE_BITS) | (VDM_F_RING_ALL & ~ring_off) |
           (host_bits & VDM_KIT_F_HOST_BITS);
}

void vdm_kit_warn_once(const struct vdm_dev *d, uint32_t *seen, uint32_t bit,
                       int level, const char *msg)
{
    if (seen == NULL || (*seen & bit) != 0)
        return;
    *seen |= bit;
    vdm_dev_log(d, level, msg);
}

void vdm_kit_config_copy(const void *image, uint32_t image_len, uint32_t off,
                         void *buf, uint32_t len)
{
    const uint8_t *src = (const uint8_t *)image;
    uint8_t *dst = (uint8_t *)buf;
    uint32_t i;

    if (dst == NULL)
        return;
    for (i = 0; i < len; i++) {
        uint64_t at = (uint64_t)off + i;
        dst[i] = (src != NULL && at < image_len) ? src[at] : 0u;
    }
}
