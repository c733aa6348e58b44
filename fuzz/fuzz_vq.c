/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: one device-side virtqueue (split, or packed when built with
 * FUZZ_PACKED) on rings whose descriptors, indexes and event fields come
 * from the input, driven by a fuzzed sequence of pop, push, push_batch,
 * unpop, should_notify, set_notify, has_avail and set_state calls, with
 * the driver simulator adding well-formed buffers in between and raw
 * writes corrupting anything.
 *
 * Oracles, beyond "no crash, no out-of-bounds access" (guard pages, ASan):
 *  - every pop is compared with an independent walk of the same chain
 *    written from the spec rules listed in virtqueue.h: a chain the walk
 *    finds valid must be popped with the same id, descriptor count and
 *    byte counts, a violation must break the queue, an empty ring must pop
 *    nothing;
 *  - every span lies in guest memory the device may access that way, and
 *    points exactly where the harness's own translation of the walked
 *    descriptors says (fm_lib_hva() of each descriptor's next bytes vs
 *    iov[i].base), so a span in the wrong place is caught even when it
 *    lands in other valid guest memory and the totals agree;
 *  - push / push_batch / unpop succeed exactly when the API says, and the
 *    used entry read back from the ring carries the id and a length no
 *    larger than the chain's writable bytes;
 *  - the in-flight count matches, the fault hook runs at most once per
 *    breakage, every translate-hook mapping is given back;
 *  - while only the driver simulator wrote the rings, it finds nothing to
 *    complain about in what the device wrote, and the device never skips a
 *    used-buffer notification the driver asked for.
 */
#include <stdint.h>
#include <string.h>

#include "drv.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/virtqueue.h"

#ifdef FUZZ_PACKED
#define PACKED 1
#else
#define PACKED 0
#endif

#define MAXNUM  256u
#define IOV_MAX 64u

#define F_NEXT     1u
#define F_WRITE    2u
#define F_INDIRECT 4u
#define F_AVAIL    (1u << 7)
#define F_USED     (1u << 15)

static const uint16_t vq_packed_sizes[11] = {1,  2,  3,  4,   5,  8,
                                             16, 17, 64, 128, 256};

struct flight {
    uint16_t id, ndesc, seq;
    uint32_t write_len;
    uint32_t nspan;
    struct vdm_chain c;
    struct vdm_iov iov[IOV_MAX];
};

/* A data descriptor with bytes, as the reference walk read it. */
struct rdesc {
    uint64_t addr;
    uint32_t len;
    int write;
};

struct ref {
    int status; /* 0 empty, 1 chain, -1 violation */
    uint16_t id, ndesc;
    uint64_t read_len, write_len;
    /* The first IOV_MAX data descriptors with bytes: every span of a pop
     * (at most IOV_MAX) comes from one of them. */
    struct rdesc d[IOV_MAX];
    unsigned nd;
};

static struct {
    struct vdm_vq vq;
    struct vdm_vq_config cfg;
    uint32_t slots[VDM_VQ_SLOTS(MAXNUM)];
    struct drv_vq dq;
    int dq_live;
    uint16_t num;
    uint64_t features;
    uint32_t max_chain;
    uint64_t desc, drv, dev;
    int inited; /* vdm_vq_init succeeded */
    int broken; /* we saw it break */
    int clean;  /* only the driver simulator wrote the rings */
    unsigned faults;
    struct flight fl[MAXNUM];
    unsigned nfl;
    uint16_t pop_seq;
    unsigned pushes_since_notify;
    struct vdm_iov iov[IOV_MAX];
    unsigned long st_pop, st_push, st_reap, st_viol;
} V;

static void on_fault(void *ctx, uint16_t q, int err, const char *why)
{
    (void)ctx;
    (void)q;
    FZ_CHECK(err == VDM_EPROTO || err == VDM_EFAULT, "fault err %d", err);
    FZ_CHECK(why != NULL, "fault without a reason");
    V.faults++;
}

static const struct vdm_vq_ops vq_ops = {.size = sizeof(struct vdm_vq_ops),
                                         .fault = on_fault};

/* ---- the reference walk (spec rules, virtqueue.h list) ---------------- */

static int flight_find(uint16_t id)
{
    for (unsigned i = 0; i < V.nfl; i++) {
        if (V.fl[i].id == id)
            return (int)i;
    }
    return -1;
}

static unsigned flight_descs(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < V.nfl; i++)
        n += V.fl[i].ndesc;
    return n;
}

struct walk {
    int seen_write;
    uint64_t ndata, total, rd, wr;
    struct ref *r; /* records the data descriptors */
};

/* One data descriptor: 0 ok, -1 violation. */
static int walk_data(struct walk *w, uint64_t addr, uint32_t len, int write)
{
    if (write)
        w->seen_write = 1;
    else if (w->seen_write)
        return -1;
    if (++w->ndata > V.max_chain)
        return -1;
    if (len == 0)
        return 0;
    w->total += len;
    if (w->total > UINT32_MAX)
        return -1;
    if (!fm_range_ok(addr, len, write))
        return -1;
    if (write)
        w->wr += len;
    else
        w->rd += len;
    if (w->r->nd < IOV_MAX)
        w->r->d[w->r->nd++] = (struct rdesc){addr, len, !!write};
    return 0;
}

static int table_ok(uint64_t addr, uint32_t len)
{
    return len != 0 && len % 16 == 0 && len <= 32768u * 16u &&
           fm_range_ok(addr, len, 0);
}

static uint8_t *ring_hva(uint64_t gpa, uint64_t len)
{
    return fm_hva(gpa, len);
}

static struct ref ref_split(uint16_t la)
{
    struct ref r = {.status = -1};
    struct walk w = {.r = &r};
    uint8_t *desc = ring_hva(V.desc, 16u * V.num);
    uint8_t *avail = ring_hva(V.drv, 6u + 2u * V.num);
    uint16_t head = drv_get_le16(avail + 4 + 2 * (la % V.num));
    uint32_t ring_n = 0, ind_n = 0, tlen = 0, idx = head;
    uint64_t tgpa = 0;
    int in_ind = 0;

    if (head >= V.num || flight_find(head) >= 0)
        return r;
    for (;;) {
        uint8_t d[16];
        if (!in_ind) {
            if (++ring_n > V.num)
                return r;
            memcpy(d, desc + 16 * idx, 16);
        } else {
            if (++ind_n > tlen)
                return r;
            if (fm_read(tgpa + 16ull * idx, d, 16) != 0)
                return r;
        }
        uint64_t addr = drv_get_le64(d);
        uint32_t len = drv_get_le32(d + 8);
        uint16_t fl = drv_get_le16(d + 12), nx = drv_get_le16(d + 14);
        if (fl & F_INDIRECT) {
            if (!(V.features & VDM_F_INDIRECT_DESC) || in_ind ||
                (fl & F_NEXT) || !table_ok(addr, len))
                return r;
            in_ind = 1;
            tgpa = addr;
            tlen = len / 16;
            idx = 0;
            continue;
        }
        if (walk_data(&w, addr, len, fl & F_WRITE) != 0)
            return r;
        if (!(fl & F_NEXT))
            break;
        if (nx >= (in_ind ? tlen : V.num))
            return r;
        idx = nx;
    }
    r.status = 1;
    r.id = head;
    r.ndesc = (uint16_t)ring_n;
    r.read_len = w.rd;
    r.write_len = w.wr;
    return r;
}

static int pavail(uint16_t fl, int wrap)
{
    return !!(fl & F_AVAIL) == wrap && !!(fl & F_USED) != wrap;
}

static struct ref ref_packed(uint16_t la, int aw)
{
    struct ref r = {.status = -1};
    struct walk w = {.r = &r};
    uint8_t *desc = ring_hva(V.desc, 16u * V.num);
    uint32_t pos = la, ring_n = 0;
    int wrap = aw;
    uint16_t id = 0;

    if (!pavail(drv_get_le16(desc + 16 * pos + 14), wrap)) {
        r.status = 0;
        return r;
    }
    for (;;) {
        uint8_t d[16];
        if (++ring_n > V.num)
            return r;
        memcpy(d, desc + 16 * pos, 16);
        uint64_t addr = drv_get_le64(d);
        uint32_t len = drv_get_le32(d + 8);
        uint16_t bid = drv_get_le16(d + 12), fl = drv_get_le16(d + 14);
        if (!pavail(fl, wrap))
            return r;
        if (++pos == V.num) {
            pos = 0;
            wrap ^= 1;
        }
        if (fl & F_INDIRECT) {
            if (!(V.features & VDM_F_INDIRECT_DESC) || ring_n != 1 ||
                (fl & F_NEXT) || !table_ok(addr, len))
                return r;
            for (uint32_t i = 0; i < len / 16; i++) {
                uint8_t e[16];
                if (fm_read(addr + 16ull * i, e, 16) != 0)
                    return r;
                uint16_t efl = drv_get_le16(e + 14);
                if (efl & F_INDIRECT)
                    return r;
                if (walk_data(&w, drv_get_le64(e), drv_get_le32(e + 8),
                              efl & F_WRITE) != 0)
                    return r;
            }
            id = bid;
            break;
        }
        if (walk_data(&w, addr, len, fl & F_WRITE) != 0)
            return r;
        if (!(fl & F_NEXT)) {
            id = bid;
            break;
        }
    }
    if (flight_descs() + ring_n > V.num || id >= V.num || flight_find(id) >= 0)
        return r;
    r.status = 1;
    r.id = id;
    r.ndesc = (uint16_t)ring_n;
    r.read_len = w.rd;
    r.write_len = w.wr;
    return r;
}

/* ---- set-up ------------------------------------------------------------ */

static int vq_init_lib(void)
{
    memset(&V.cfg, 0, sizeof(V.cfg));
    V.cfg.size = sizeof(V.cfg);
    V.cfg.num = V.num;
    V.cfg.index = 0;
    V.cfg.features = V.features;
    V.cfg.desc_addr = V.desc;
    V.cfg.driver_addr = V.drv;
    V.cfg.device_addr = V.dev;
    V.cfg.mem = fm_mem();
    V.cfg.slots = V.slots;
    V.cfg.max_chain = V.max_chain == UINT32_MAX ? 0 : V.max_chain;
    V.cfg.ops = &vq_ops;
    int rc = vdm_vq_init(&V.vq, &V.cfg);
    V.inited = rc == 0;
    V.broken = 0;
    V.faults = 0;
    V.pop_seq = 0;
    V.pushes_since_notify = 0;
    return rc;
}

static void release_flight(struct flight *f)
{
    vdm_mem_release(fm_mem(), f->iov, f->nspan);
    f->nspan = 0;
}

static void drop_all(void)
{
    for (unsigned i = 0; i < V.nfl; i++)
        release_flight(&V.fl[i]);
    V.nfl = 0;
}

static int expect_broken(int rc)
{
    /* A broken or unset queue answers every ring call the same way. */
    if (!V.inited) {
        FZ_CHECK(rc == VDM_ESTATE, "call on an uninitialised queue: %d", rc);
        return 1;
    }
    if (V.broken) {
        FZ_CHECK(rc == VDM_EBROKEN, "call on a broken queue returned %d", rc);
        return 1;
    }
    return 0;
}

static void note_violation(int rc)
{
    FZ_CHECK(rc == VDM_EPROTO, "violation reported as %d", rc);
    FZ_CHECK(V.faults == 1, "fault hook ran %u times", V.faults);
    FZ_CHECK(vdm_vq_broken(&V.vq) == 1, "queue not marked broken");
    V.broken = 1;
    V.st_viol++;
}

/* ---- operations -------------------------------------------------------- */

static int host_overlap(const void *p, uint64_t n, uint64_t gpa, uint64_t len)
{
    const uint8_t *h = fm_hva(gpa, len);
    const uint8_t *a = p;
    return h != NULL && a < h + len && h < a + n;
}

/* A device write into this span would change what the driver simulator
 * keeps in guest memory (rings, indirect tables): its view is then no
 * longer the truth. */
static int span_hits_driver(const struct vdm_iov *v)
{
    return host_overlap(v->base, v->len, FM_HEAP_GPA, FM_HEAP_DRV) ||
           host_overlap(v->base, v->len, V.desc, 16u * V.num) ||
           host_overlap(v->base, v->len, V.drv, PACKED ? 4 : 6u + 2u * V.num) ||
           host_overlap(v->base, v->len, V.dev, PACKED ? 4 : 6u + 8u * V.num);
}

/*
 * Where each span points: the oracle's own translation of the chain's data
 * descriptors (fm_lib_hva), in order, against iov[i].base. A span covers
 * the next bytes of the current descriptor and lies in one region (or the
 * hook window); spans may split a descriptor anywhere, never join two.
 * A truncated chain (VDM_ENOSPC) is a prefix.
 */
static void check_where(const struct vdm_chain *c, const struct ref *r,
                        int complete)
{
    uint64_t gpa = 0, left = 0;
    unsigned di = 0;
    for (uint32_t i = 0; i < c->nread + c->nwrite; i++) {
        const struct vdm_iov *v = &c->iov[i];
        if (left == 0) {
            FZ_CHECK(di < r->nd, "span %u beyond the chain's %u descriptors", i,
                     r->nd);
            gpa = r->d[di].addr;
            left = r->d[di].len;
            FZ_CHECK(!!(v->flags & VDM_IOV_F_WRITE) == r->d[di].write,
                     "span %u write flag %#x, descriptor %u is %s", i, v->flags,
                     di, r->d[di].write ? "writable" : "readable");
            di++;
        }
        FZ_CHECK(v->len <= left,
                 "span %u (%u bytes) runs past descriptor %u (%llu bytes "
                 "left at %#llx)",
                 i, v->len, di - 1, (unsigned long long)left,
                 (unsigned long long)gpa);
        void *want = fm_lib_hva(gpa, v->len);
        FZ_CHECK(want == v->base,
                 "span %u points to %p, descriptor %u at gpa %#llx (%u "
                 "bytes) is at %p",
                 i, v->base, di - 1, (unsigned long long)gpa, v->len, want);
        gpa += v->len;
        left -= v->len;
    }
    if (complete)
        FZ_CHECK(left == 0 && di == r->nd,
                 "spans cover %u of %u descriptors (%llu bytes missing)", di,
                 r->nd, (unsigned long long)left);
}

static void check_spans(const struct vdm_chain *c)
{
    uint64_t rd = 0, wr = 0;
    for (uint32_t i = 0; i < c->nread + c->nwrite; i++) {
        const struct vdm_iov *v = &c->iov[i];
        int write = i >= c->nread;
        FZ_CHECK(v->len > 0, "empty span %u", i);
        FZ_CHECK(!!(v->flags & VDM_IOV_F_WRITE) == write,
                 "span %u write flag %#x", i, v->flags);
        FZ_CHECK(fm_span_ok(v->base, v->len, write),
                 "span %u (%p, %u bytes, %s) outside guest memory", i, v->base,
                 v->len, write ? "write" : "read");
        if (write) {
            wr += v->len;
            if (V.clean && span_hits_driver(v))
                V.clean = 0;
        } else {
            rd += v->len;
        }
    }
    FZ_CHECK(rd == c->read_len && wr == c->write_len,
             "span sums %llu/%llu vs read_len %u write_len %u",
             (unsigned long long)rd, (unsigned long long)wr, c->read_len,
             c->write_len);
    /* Touch the memory through the chain helpers (bounded). */
    static uint8_t buf[4096];
    size_t n = c->read_len < sizeof(buf) ? c->read_len : sizeof(buf);
    FZ_CHECK(vdm_chain_copy_from(c, 0, buf, n) == n, "copy_from short");
    n = c->write_len < sizeof(buf) ? c->write_len : sizeof(buf);
    memset(buf, 0xa5, n);
    FZ_CHECK(vdm_chain_copy_to(c, 0, buf, n) == n, "copy_to short");
    if (c->write_len > n)
        FZ_CHECK(vdm_chain_copy_to(c, c->write_len - 1, buf, 8) == 1,
                 "copy_to at the last byte");
}

static void op_pop(struct fz *f)
{
    uint8_t cap = fz_u8(f);
    struct vdm_vq_state st;
    struct ref r = {0};
    struct vdm_chain c = {0};
    uint16_t ai = 0;

    c.iov = V.iov;
    c.iov_cap = cap == 0 ? IOV_MAX : cap % (IOV_MAX + 1);
    if (V.inited && !V.broken) {
        FZ_CHECK(vdm_vq_get_state(&V.vq, &st) == 0, "get_state");
        if (PACKED) {
            r = ref_packed(st.last_avail_idx, st.avail_wrap);
        } else {
            r = ref_split(st.last_avail_idx);
            ai = drv_get_le16((uint8_t *)ring_hva(V.drv, 4) + 2);
        }
    }
    unsigned live_before = fm_hook_live();
    int rc = vdm_vq_pop(&V.vq, &c);
    if (expect_broken(rc))
        return;
    if (rc == 0) {
        FZ_CHECK(V.faults == 0, "fault hook on an empty pop");
        if (PACKED)
            FZ_CHECK(r.status == 0, "pop found nothing, a chain is available");
        else
            FZ_CHECK(ai == st.last_avail_idx,
                     "pop found nothing with avail idx %u, last_avail %u", ai,
                     st.last_avail_idx);
        return;
    }
    if (rc == VDM_EPROTO) {
        int idx_bad = !PACKED && (uint16_t)(ai - st.last_avail_idx) > V.num;
        FZ_CHECK(r.status == -1 || idx_bad,
                 "valid chain (id %u, %u descs, %llu/%llu bytes) refused as "
                 "a violation",
                 r.id, r.ndesc, (unsigned long long)r.read_len,
                 (unsigned long long)r.write_len);
        FZ_CHECK(fm_hook_live() <= live_before,
                 "refused pop left hook mappings behind");
        note_violation(rc);
        return;
    }
    FZ_CHECK(rc == 1 || rc == VDM_ENOSPC, "pop returned %d", rc);
    FZ_CHECK(r.status == 1,
             "pop accepted a chain the spec rules refuse (id %u, %u descs, "
             "rc %d)",
             c.id, c.ndesc, rc);
    FZ_CHECK(c.id == r.id && c.ndesc == r.ndesc,
             "chain id/ndesc %u/%u, expected %u/%u", c.id, c.ndesc, r.id,
             r.ndesc);
    if (rc == 1)
        FZ_CHECK(c.read_len == r.read_len && c.write_len == r.write_len,
                 "chain lengths %u/%u, expected %llu/%llu", c.read_len,
                 c.write_len, (unsigned long long)r.read_len,
                 (unsigned long long)r.write_len);
    else
        FZ_CHECK(c.read_len <= r.read_len && c.write_len <= r.write_len &&
                     c.nread + c.nwrite <= c.iov_cap,
                 "truncated chain claims %u/%u bytes in %u spans", c.read_len,
                 c.write_len, c.nread + c.nwrite);
    check_spans(&c);
    check_where(&c, &r, rc == 1);
    FZ_CHECK(V.nfl < MAXNUM, "more chains in flight than the queue size");
    struct flight *fl = &V.fl[V.nfl++];
    fl->id = c.id;
    fl->ndesc = c.ndesc;
    fl->seq = V.pop_seq++;
    fl->write_len = c.write_len;
    fl->nspan = c.nread + c.nwrite;
    memcpy(fl->iov, c.iov, fl->nspan * sizeof(c.iov[0]));
    fl->c = c;
    fl->c.iov = fl->iov;
    V.st_pop++;
    FZ_CHECK(vdm_vq_in_flight(&V.vq) == V.nfl, "in_flight %u, expected %u",
             vdm_vq_in_flight(&V.vq), V.nfl);
}

static uint32_t pick_len(struct fz *f, uint32_t wl)
{
    switch (fz_u8(f) % 4) {
    case 0: return wl;
    case 1: return 0;
    case 2: return wl + 1;
    default: return fz_u32(f);
    }
}

/* Check used entry/descriptor at (pos, wrap) after a push. */
static void check_used(uint32_t pos, int wrap, uint16_t id, uint32_t len)
{
    if (!PACKED) {
        uint8_t *e = ring_hva(V.dev + 4 + 8ull * (pos % V.num), 8);
        FZ_CHECK(drv_get_le32(e) == id && drv_get_le32(e + 4) == len,
                 "used entry {%u, %u}, pushed {%u, %u}", drv_get_le32(e),
                 drv_get_le32(e + 4), id, len);
    } else {
        uint8_t *d = ring_hva(V.desc + 16ull * pos, 16);
        uint16_t fl = drv_get_le16(d + 14);
        FZ_CHECK(drv_get_le16(d + 12) == id, "used id %u, pushed %u",
                 drv_get_le16(d + 12), id);
        FZ_CHECK(!!(fl & F_AVAIL) == wrap && !!(fl & F_USED) == wrap,
                 "used flags %#x at wrap %d", fl, wrap);
        if (len)
            FZ_CHECK((fl & F_WRITE) && drv_get_le32(d + 8) == len,
                     "used len %u flags %#x, pushed %u", drv_get_le32(d + 8),
                     fl, len);
    }
}

static void advance(uint32_t *pos, int *wrap, uint32_t n)
{
    *pos += n;
    if (*pos >= V.num) {
        *pos -= V.num;
        *wrap ^= 1;
    }
}

static void do_push(const struct vdm_used *u, const int *fi, uint32_t n,
                    uint32_t flags, int batch_call)
{
    struct vdm_vq_state st = {0};
    int inorder = !!(V.features & VDM_F_IN_ORDER);
    int ok = 1;

    if (V.inited && !V.broken)
        vdm_vq_get_state(&V.vq, &st);
    if (flags & ~VDM_PUSH_F_INORDER_BATCH)
        ok = 0;
    if ((flags & VDM_PUSH_F_INORDER_BATCH) && !inorder)
        ok = 0;
    if (n > V.num)
        ok = 0;
    for (uint32_t i = 0; i < n && ok; i++) {
        if (fi[i] < 0 || u[i].len > V.fl[fi[i]].write_len)
            ok = 0;
        for (uint32_t j = 0; j < i; j++)
            if (fi[j] == fi[i])
                ok = 0;
        if (inorder && fi[i] != (int)i)
            ok = 0;
    }
    int rc = batch_call ? vdm_vq_push_batch(&V.vq, u, n, flags)
                        : vdm_vq_push(&V.vq, (uint16_t)u[0].id, u[0].len);
    if (expect_broken(rc))
        return;
    if (!ok) {
        FZ_CHECK(rc == VDM_EINVAL, "bad push accepted (%d)", rc);
        return;
    }
    FZ_CHECK(rc == (batch_call ? (int)n : 0), "push of %u returned %d", n, rc);
    uint32_t pos = st.used_idx;
    int wrap = st.used_wrap;
    if (flags & VDM_PUSH_F_INORDER_BATCH) {
        check_used(pos, wrap, (uint16_t)u[n - 1].id, u[n - 1].len);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            check_used(pos, wrap, (uint16_t)u[i].id, u[i].len);
            advance(&pos, &wrap, PACKED ? V.fl[fi[i]].ndesc : 1);
        }
    }
    /* Remove the pushed entries (indexes into V.fl, highest first). */
    int idx[8];
    memcpy(idx, fi, n * sizeof(int));
    for (uint32_t i = 0; i < n; i++) {
        int hi = -1, at = 0;
        for (uint32_t j = 0; j < n; j++)
            if (idx[j] > hi) {
                hi = idx[j];
                at = (int)j;
            }
        idx[at] = -1;
        release_flight(&V.fl[hi]);
        memmove(&V.fl[hi], &V.fl[hi + 1], (V.nfl - hi - 1) * sizeof(V.fl[0]));
        V.nfl--;
        for (unsigned k = hi; k < V.nfl; k++)
            V.fl[k].c.iov = V.fl[k].iov;
    }
    V.st_push += n;
    V.pushes_since_notify += n;
    FZ_CHECK(vdm_vq_in_flight(&V.vq) == V.nfl, "in_flight %u after push, %u",
             vdm_vq_in_flight(&V.vq), V.nfl);
}

static int pick_flight(struct fz *f, struct vdm_used *u)
{
    uint8_t p = fz_u8(f);
    if (V.nfl > 0 && p < 0xf0) {
        int i = p % V.nfl;
        u->id = V.fl[i].id;
        u->len = pick_len(f, V.fl[i].write_len);
        return i;
    }
    u->id = fz_u16(f);
    u->len = pick_len(f, 0);
    return flight_find((uint16_t)u->id);
}

static void op_push(struct fz *f)
{
    struct vdm_used u;
    int fi = pick_flight(f, &u);
    if (u.id > 0xffff) /* the single push takes a 16-bit id */
        u.id &= 0xffff;
    do_push(&u, &fi, 1, 0, 0);
}

static void op_push_batch(struct fz *f)
{
    uint32_t n = fz_u8(f) % 8 + 1;
    uint32_t flags = fz_u8(f);
    struct vdm_used u[8];
    int fi[8];
    flags = flags >= 0x80 ? flags : flags & VDM_PUSH_F_INORDER_BATCH;
    for (uint32_t i = 0; i < n; i++)
        fi[i] = pick_flight(f, &u[i]);
    do_push(u, fi, n, flags, 1);
}

static void op_unpop(struct fz *f)
{
    uint8_t p = fz_u8(f);
    if (V.nfl == 0) {
        struct vdm_chain c = {0};
        c.id = p;
        int rc = vdm_vq_unpop(&V.vq, &c);
        if (!expect_broken(rc))
            FZ_CHECK(rc == VDM_ESTATE, "unpop with nothing in flight: %d", rc);
        return;
    }
    int i = (int)V.nfl - 1 - (int)(p % V.nfl);
    int newest = V.fl[i].seq == (uint16_t)(V.pop_seq - 1);
    int rc = vdm_vq_unpop(&V.vq, &V.fl[i].c);
    if (expect_broken(rc))
        return;
    if (!newest) {
        FZ_CHECK(rc == VDM_ESTATE, "unpop of an older chain: %d", rc);
        return;
    }
    FZ_CHECK(rc == 0, "unpop of the newest chain: %d", rc);
    release_flight(&V.fl[i]);
    memmove(&V.fl[i], &V.fl[i + 1], (V.nfl - i - 1) * sizeof(V.fl[0]));
    V.nfl--;
    for (unsigned k = i; k < V.nfl; k++)
        V.fl[k].c.iov = V.fl[k].iov;
    V.pop_seq--;
}

static void op_notify(void)
{
    int expect = -1;
    int rc = vdm_vq_should_notify(&V.vq);
    if (expect_broken(rc))
        return;
    FZ_CHECK(rc == 0 || rc == 1, "should_notify %d", rc);
    if (V.clean && V.dq_live) {
        /* Called at every device decision so both see the same window. */
        expect = drv_vq_interrupt_expected(&V.dq);
        FZ_CHECK(!(expect == 1 && rc == 0) || V.pushes_since_notify >= V.num,
                 "no used-buffer notification where the driver asked for one");
    }
    V.pushes_since_notify = 0;
}

static void op_set_state(struct fz *f)
{
    struct vdm_vq_state s = {0};
    s.last_avail_idx = fz_u16(f);
    s.used_idx = fz_u16(f);
    s.avail_wrap = fz_u8(f);
    s.used_wrap = fz_u8(f);
    if (!PACKED) {
        s.avail_wrap = 0;
        s.used_wrap = 0;
    }
    int ok = V.nfl == 0;
    if (PACKED && (s.last_avail_idx >= V.num || s.used_idx >= V.num ||
                   s.avail_wrap > 1 || s.used_wrap > 1))
        ok = 0;
    int rc = vdm_vq_set_state(&V.vq, &s);
    if (expect_broken(rc))
        return;
    if (!ok) {
        FZ_CHECK(rc != 0, "set_state accepted a bad position");
        return;
    }
    FZ_CHECK(rc == 0, "set_state %d", rc);
    struct vdm_vq_state g;
    FZ_CHECK(vdm_vq_get_state(&V.vq, &g) == 0 &&
                 g.last_avail_idx == s.last_avail_idx &&
                 g.used_idx == s.used_idx && g.avail_wrap == s.avail_wrap &&
                 g.used_wrap == s.used_wrap,
             "get_state does not read back set_state");
    V.pop_seq = 0;
    V.clean = 0;
}

static void op_reset(void)
{
    drop_all();
    vdm_vq_reset(&V.vq);
    fm_check_released();
    FZ_CHECK(vdm_vq_num(&V.vq) == 0, "reset queue still has a size");
    int was = V.inited;
    int rc = vq_init_lib();
    FZ_CHECK((rc == 0) == was, "re-init gave %d", rc);
    V.clean = 0;
}

static void op_drv_add(struct fz *f)
{
    struct drv_buf out[4], in[4];
    unsigned nout = fz_u8(f) % 5, nin = fz_u8(f) % 5;
    int mode = fz_u8(f) % 3;
    if (nout + nin == 0)
        nin = 1;
    for (unsigned i = 0; i < nout + nin; i++) {
        struct drv_buf *b = i < nout ? &out[i] : &in[i - nout];
        b->len = fz_u16(f) % 4097;
        b->gpa = fm_gpa(f, b->len);
    }
    if (!V.dq_live)
        return;
    if (!(V.features & VDM_F_INDIRECT_DESC) || fm_drv_room() < 4096)
        mode = DRV_ADD_DIRECT;
    if (PACKED && mode == DRV_ADD_MIXED)
        mode = DRV_ADD_INDIRECT;
    drv_vq_add(&V.dq, out, nout, in, nin, mode, NULL);
}

static void op_drv_reap(void)
{
    if (!V.dq_live)
        return;
    for (unsigned i = 0; i <= V.num; i++) {
        struct drv_used u;
        int rc = drv_vq_get_used_ex(&V.dq, &u);
        if (V.clean)
            FZ_CHECK(rc != DRV_EDEVICE, "driver found a device error: %s",
                     drv_vq_error(&V.dq));
        if (rc != 1)
            break;
        V.st_reap++;
    }
}

static void op_raw_mem(struct fz *f)
{
    uint64_t gpa = fm_gpa(f, 16);
    uint8_t buf[64];
    unsigned n = fz_u8(f) % 65;
    fz_bytes(f, buf, n);
    uint8_t *p = fm_hva(gpa, n);
    if (p)
        memcpy(p, buf, n);
    V.clean = 0;
}

static void setup(struct fz *f)
{
    uint8_t s = fz_u8(f), fl = fz_u8(f), mc = fz_u8(f), gr = fz_u8(f);
    uint8_t place = fz_u8(f);

    V.num = PACKED ? vq_packed_sizes[s % 11] : (uint16_t)(1u << (s % 9));
    V.features = VDM_F_VERSION_1 | (PACKED ? VDM_F_RING_PACKED : 0);
    if (fl & VQF_INDIRECT)
        V.features |= VDM_F_INDIRECT_DESC;
    if (fl & VQF_EVENT_IDX)
        V.features |= VDM_F_EVENT_IDX;
    if (fl & VQF_IN_ORDER)
        V.features |= VDM_F_IN_ORDER;
    V.max_chain = (fl & VQF_MAX_CHAIN) ? (uint32_t)mc % 17 : 0;
    if (V.max_chain == 0)
        V.max_chain = UINT32_MAX;
    fm_reset(!!(fl & VQF_HOOKS), gr == 0 ? 0 : 1u << (gr % 13));
    V.nfl = 0;
    V.clean = 1;
    V.dq_live = 0;
    V.st_pop = V.st_push = V.st_reap = V.st_viol = 0;
    if (place == 0) {
        if (drv_vq_init(&V.dq, fm_guest(), V.num, V.features) == 0)
            V.dq_live = 1;
        V.desc = V.dq.desc_gpa;
        V.drv = V.dq.driver_gpa;
        V.dev = V.dq.device_gpa;
    } else {
        V.desc = fm_gpa(f, 16u * V.num);
        V.drv = fm_gpa(f, 6u + 2u * V.num);
        V.dev = fm_gpa(f, 6u + 8u * V.num);
        if (drv_vq_init_at(&V.dq, fm_guest(), V.num, V.features, V.desc, V.drv,
                           V.dev) == 0)
            V.dq_live = 1;
        /* Overlapping ring areas: the driver's own view is inconsistent. */
        uint64_t a[3] = {V.desc, V.drv, V.dev};
        uint64_t l[3] = {16u * V.num, PACKED ? 4 : 6u + 2u * V.num,
                         PACKED ? 4 : 6u + 8u * V.num};
        for (int i = 0; i < 3; i++) {
            for (int j = i + 1; j < 3; j++)
                if (a[i] < a[j] + l[j] && a[j] < a[i] + l[i])
                    V.clean = 0;
            /* where the driver allocates its indirect tables */
            if (a[i] < FM_HEAP_GPA + FM_HEAP_DRV && FM_HEAP_GPA < a[i] + l[i])
                V.clean = 0;
        }
    }
    int rc = vq_init_lib();
    if (fz_trace())
        fprintf(stderr,
                "setup: num %u features %#llx rings %#llx %#llx %#llx "
                "drv %d lib %d\n",
                V.num, (unsigned long long)V.features,
                (unsigned long long)V.desc, (unsigned long long)V.drv,
                (unsigned long long)V.dev, V.dq_live, rc);
    if (rc == 0)
        /* The reference walk reads rings through the harness view. */
        FZ_CHECK(fm_hva(V.desc, 16u * V.num) &&
                     fm_hva(V.drv, PACKED ? 4 : 6u + 2u * V.num) &&
                     fm_hva(V.dev, PACKED ? 4 : 6u + 8u * V.num),
                 "init accepted rings outside guest memory (%#llx %#llx "
                 "%#llx)",
                 (unsigned long long)V.desc, (unsigned long long)V.drv,
                 (unsigned long long)V.dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    setup(&f);
    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 4096) {
        unsigned op = fz_u8(&f) % VQ_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u (in flight %u, clean %d)\n", ops, op,
                    V.nfl, V.clean);
        switch (op) {
        case VQ_OP_POP: op_pop(&f); break;
        case VQ_OP_PUSH: op_push(&f); break;
        case VQ_OP_PUSH_BATCH: op_push_batch(&f); break;
        case VQ_OP_UNPOP: op_unpop(&f); break;
        case VQ_OP_NOTIFY: op_notify(); break;
        case VQ_OP_SET_NOTIFY: {
            int rc = vdm_vq_set_notify(&V.vq, fz_u8(&f) & 1);
            if (!expect_broken(rc)) {
                if (rc == VDM_EPROTO)
                    note_violation(rc);
                else
                    FZ_CHECK(rc == 0 || rc == 1, "set_notify %d", rc);
            }
            break;
        }
        case VQ_OP_HAS_AVAIL: {
            int rc = vdm_vq_has_avail(&V.vq);
            if (!expect_broken(rc)) {
                if (rc == VDM_EPROTO)
                    note_violation(rc);
                else
                    FZ_CHECK(rc == 0 || rc == 1, "has_avail %d", rc);
            }
            break;
        }
        case VQ_OP_SET_STATE: op_set_state(&f); break;
        case VQ_OP_RESET: op_reset(); break;
        case VQ_OP_DRV_ADD: op_drv_add(&f); break;
        case VQ_OP_DRV_PUBLISH:
            if (V.dq_live)
                drv_vq_publish(&V.dq);
            break;
        case VQ_OP_DRV_REAP: op_drv_reap(); break;
        case VQ_OP_DRV_CB: {
            uint8_t m = fz_u8(&f) % 3;
            uint16_t pos = m == 2 ? fz_u16(&f) : 0;
            if (!V.dq_live)
                break;
            if (m == 0)
                drv_vq_disable_cb(&V.dq);
            else if (m == 1)
                drv_vq_enable_cb(&V.dq);
            else
                drv_vq_enable_cb_at(&V.dq, pos);
            break;
        }
        case VQ_OP_RAW_DESC: {
            uint16_t i = fz_u16(&f);
            uint64_t a = fm_gpa(&f, 64);
            uint32_t len = fz_u32(&f);
            uint16_t fl = fz_u16(&f), nx = fz_u16(&f);
            if (V.dq_live)
                drv_vq_raw_desc(&V.dq, i, a, len, fl, nx);
            V.clean = 0;
            break;
        }
        case VQ_OP_RAW_AVAIL: {
            uint16_t slot = fz_u16(&f), head = fz_u16(&f);
            if (V.dq_live)
                drv_vq_raw_avail(&V.dq, slot, head);
            V.clean = 0;
            break;
        }
        case VQ_OP_RAW_IDX: {
            uint16_t idx = fz_u16(&f);
            if (V.dq_live)
                drv_vq_raw_avail_idx(&V.dq, idx);
            V.clean = 0;
            break;
        }
        case VQ_OP_RAW_EVENT: {
            uint16_t fl = fz_u16(&f), ev = fz_u16(&f);
            if (V.dq_live) {
                drv_vq_raw_driver_flags(&V.dq, fl);
                drv_vq_raw_used_event(&V.dq, ev);
            }
            V.clean = 0;
            break;
        }
        case VQ_OP_RAW_MEM: op_raw_mem(&f); break;
        }
    }
    if (fz_verbose())
        fprintf(stderr,
                "vq: num %u features %#llx init %d: %lu pops, %lu pushes, "
                "%lu reaped, %lu violations, clean %d\n",
                V.num, (unsigned long long)V.features, V.inited, V.st_pop,
                V.st_push, V.st_reap, V.st_viol, V.clean);
    drop_all();
    vdm_vq_reset(&V.vq);
    fm_check_released();
    if (V.dq_live)
        drv_vq_fini(&V.dq);
    return 0;
}
