/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Self-test of the driver simulator (tests/driver). Built by CMake as
 * drv_selftest and run as the ctest driver/selftest (in the ASan+UBSan
 * build too); an optional argument seeds its random choices.
 *
 * It contains its own minimal *device* side, written separately from the
 * simulator (its own byte-order helpers, its own event-index arithmetic),
 * reading and writing the rings exactly as the spec lays them out.
 */
#include "drv.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* ---------------------------------------------------------------- utils */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)(x >> 16);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

/* the device's own byte-order helpers: byte by byte, little-endian */
static uint16_t rd16(const void *p)
{
    const unsigned char *b = p;
    return (uint16_t)(b[0] | (b[1] << 8));
}

static uint32_t rd32(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static uint64_t rd64(const void *p)
{
    const unsigned char *b = p;
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

static void wr16(void *p, uint16_t v)
{
    unsigned char *b = p;
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}

static void wr32(void *p, uint32_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t ld16(const void *p)
{
    uint16_t raw = __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
    return rd16(&raw);
}

static void st16(void *p, uint16_t v)
{
    uint16_t raw;
    wr16(&raw, v);
    __atomic_store_n((uint16_t *)p, raw, __ATOMIC_RELEASE);
}

/* ----------------------------------------------------- the test device */

struct elem {
    uint64_t addr;
    uint32_t len;
    int write;
};

struct chain {
    uint32_t id;
    uint32_t ndesc; /* ring descriptors */
    uint32_t nel;
    struct elem *el;
    uint64_t wcap;
    uint32_t ulen;  /* what the device reports */
    int bad_poison; /* packed: a non-last descriptor carried an id != ~id */
};

struct tdev {
    struct drv_guest *g;
    unsigned char *desc, *drv, *dev;
    uint32_t num;
    int packed, eidx, inorder;
    uint32_t maxel;
    /* split */
    uint16_t last_avail, used_idx, sig_idx;
    /* packed */
    uint32_t apos, awrap, upos, uwrap, sig_pos, sig_wrap;
};

static void dev_init(struct tdev *d, struct drv_vq *q, struct drv_guest *g,
                     uint64_t feat, uint32_t maxel)
{
    memset(d, 0, sizeof(*d));
    d->g = g;
    d->num = drv_vq_num(q);
    d->packed = (feat & DRV_F_PACKED) != 0;
    d->eidx = (feat & DRV_F_EVENT_IDX) != 0;
    d->inorder = (feat & DRV_F_IN_ORDER) != 0;
    d->maxel = maxel;
    d->desc = drv_gpa(g, drv_vq_desc_gpa(q), 16ull * d->num);
    d->drv =
        drv_gpa(g, drv_vq_driver_gpa(q), d->packed ? 4 : 6 + 2ull * d->num);
    d->dev =
        drv_gpa(g, drv_vq_device_gpa(q), d->packed ? 4 : 6 + 8ull * d->num);
    CHECK(d->desc && d->drv && d->dev);
    CHECK(drv_vq_desc_gpa(q) % 16 == 0);
    CHECK(drv_vq_driver_gpa(q) % (d->packed ? 4 : 2) == 0);
    CHECK(drv_vq_device_gpa(q) % 4 == 0);
    d->awrap = d->uwrap = d->sig_wrap = 1;
}

static void add_el(struct tdev *d, struct chain *c, uint64_t addr, uint32_t len,
                   int write)
{
    CHECK(c->nel < d->maxel);
    /* writable parts after readable ones */
    if (!write && c->nel)
        CHECK(!c->el[c->nel - 1].write);
    c->el[c->nel].addr = addr;
    c->el[c->nel].len = len;
    c->el[c->nel].write = write;
    c->nel++;
    if (write)
        c->wcap += len;
    CHECK(drv_gpa(d->g, addr, len) != NULL);
}

static void read_split_table(struct tdev *d, struct chain *c, uint64_t addr,
                             uint32_t len)
{
    CHECK(len > 0 && len % 16 == 0);
    uint32_t n = len / 16;
    CHECK(n <= d->num);
    const unsigned char *t = drv_gpa(d->g, addr, len);
    CHECK(t);
    CHECK(addr % 16 == 0);
    uint32_t j = 0;
    for (uint32_t cnt = 1;; cnt++) {
        CHECK(j < n && cnt <= n);
        const unsigned char *e = t + 16u * j;
        uint16_t fl = rd16(e + 12), nx = rd16(e + 14);
        CHECK(!(fl & DRV_DESC_F_INDIRECT));
        add_el(d, c, rd64(e), rd32(e + 8), (fl & DRV_DESC_F_WRITE) != 0);
        if (!(fl & DRV_DESC_F_NEXT)) {
            CHECK(cnt == n); /* the simulator sizes tables exactly */
            break;
        }
        CHECK(nx == j + 1); /* sequential, as IN_ORDER requires */
        j = nx;
    }
}

static int split_pop(struct tdev *d, struct chain *c)
{
    uint16_t ai = ld16(d->drv + 2);
    if (ai == d->last_avail)
        return 0;
    CHECK((uint16_t)(ai - d->last_avail) <= d->num);
    uint16_t head = rd16(d->drv + 4 + 2u * (d->last_avail % d->num));
    d->last_avail++;
    CHECK(head < d->num);
    c->id = head;
    c->nel = 0;
    c->ndesc = 0;
    c->wcap = 0;
    c->bad_poison = 0;
    uint32_t i = head;
    for (;;) {
        CHECK(++c->ndesc <= d->num);
        const unsigned char *e = d->desc + 16u * i;
        uint64_t addr = rd64(e);
        uint32_t len = rd32(e + 8);
        uint16_t fl = rd16(e + 12), nx = rd16(e + 14);
        if (fl & DRV_DESC_F_INDIRECT) {
            CHECK(!(fl & DRV_DESC_F_NEXT));
            read_split_table(d, c, addr, len);
            break;
        }
        add_el(d, c, addr, len, (fl & DRV_DESC_F_WRITE) != 0);
        if (!(fl & DRV_DESC_F_NEXT))
            break;
        if (d->inorder)
            CHECK(nx == (i + 1) % d->num);
        CHECK(nx < d->num);
        i = nx;
    }
    return 1;
}

static void split_push(struct tdev *d, uint32_t id, uint32_t len, uint32_t k)
{
    unsigned char *e = d->dev + 4 + 8u * (d->used_idx % d->num);
    wr32(e, id);
    wr32(e + 4, len);
    d->used_idx = (uint16_t)(d->used_idx + k);
    st16(d->dev + 2, d->used_idx);
}

static int packed_pop(struct tdev *d, struct chain *c)
{
    const unsigned char *e = d->desc + 16u * d->apos;
    uint16_t fl = ld16(e + 14);
    int av = (fl & DRV_DESC_F_AVAIL) != 0, us = (fl & DRV_DESC_F_USED) != 0;
    if (av != (int)d->awrap || us == (int)d->awrap)
        return 0;
    c->nel = 0;
    c->ndesc = 0;
    c->wcap = 0;
    c->bad_poison = 0;
    uint16_t nonlast_ids[64];
    uint32_t nnl = 0;
    for (;;) {
        e = d->desc + 16u * d->apos;
        if (c->ndesc) {
            fl = ld16(e + 14);
            av = (fl & DRV_DESC_F_AVAIL) != 0;
            us = (fl & DRV_DESC_F_USED) != 0;
            CHECK(av == (int)d->awrap && us != (int)d->awrap);
        }
        CHECK(++c->ndesc <= d->num);
        uint64_t addr = rd64(e);
        uint32_t len = rd32(e + 8);
        uint16_t id = rd16(e + 12);
        if (fl & DRV_DESC_F_INDIRECT) {
            CHECK(c->ndesc == 1 && !(fl & DRV_DESC_F_NEXT));
            CHECK(len > 0 && len % 16 == 0 && len / 16 <= d->num);
            const unsigned char *t = drv_gpa(d->g, addr, len);
            CHECK(t);
            for (uint32_t j = 0; j < len / 16; j++) {
                uint16_t tf = rd16(t + 16u * j + 14);
                CHECK((tf & ~DRV_DESC_F_WRITE) == 0);
                add_el(d, c, rd64(t + 16u * j), rd32(t + 16u * j + 8),
                       (tf & DRV_DESC_F_WRITE) != 0);
            }
        } else {
            add_el(d, c, addr, len, (fl & DRV_DESC_F_WRITE) != 0);
        }
        if (++d->apos == d->num) {
            d->apos = 0;
            d->awrap ^= 1;
        }
        if (!(fl & DRV_DESC_F_NEXT)) {
            c->id = id; /* Buffer ID: from the last descriptor */
            break;
        }
        if (nnl < 64)
            nonlast_ids[nnl++] = id;
    }
    CHECK(c->id < d->num);
    for (uint32_t j = 0; j < nnl; j++)
        if (nonlast_ids[j] != (uint16_t)~c->id)
            c->bad_poison = 1;
    return 1;
}

static void packed_push(struct tdev *d, uint32_t id, uint32_t len,
                        uint32_t skip)
{
    unsigned char *e = d->desc + 16u * d->upos;
    wr32(e + 8, len);
    wr16(e + 12, (uint16_t)id);
    uint16_t fl = d->uwrap ? (uint16_t)(DRV_DESC_F_AVAIL | DRV_DESC_F_USED) : 0;
    if (len)
        fl |= DRV_DESC_F_WRITE;
    st16(e + 14, fl);
    d->upos += skip;
    if (d->upos >= d->num) {
        d->upos -= d->num;
        d->uwrap ^= 1;
    }
}

static int dev_pop(struct tdev *d, struct chain *c)
{
    return d->packed ? packed_pop(d, c) : split_pop(d, c);
}

/* classic event-index test: was position ev passed moving old -> nw ? */
static int need_event16(uint16_t ev, uint16_t nw, uint16_t old)
{
    return (uint16_t)(nw - ev - 1) < (uint16_t)(nw - old);
}

/* packed: is (eoff, ewrap) in [old, now) where now = (noff, nwrap) */
static int need_event_packed(uint32_t num, uint32_t eoff, uint32_t ewrap,
                             uint32_t ooff, uint32_t owrap, uint32_t noff,
                             uint32_t nwrap)
{
    long e = (long)eoff - (ewrap != nwrap ? (long)num : 0);
    long o = (long)ooff - (owrap != nwrap ? (long)num : 0);
    return e >= o && e < (long)noff;
}

/* the device's used buffer notification decision */
static int dev_should_notify(struct tdev *d)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!d->packed) {
        uint16_t old = d->sig_idx;
        d->sig_idx = d->used_idx;
        if (old == d->used_idx)
            return 0;
        if (!d->eidx)
            return !(ld16(d->drv) & DRV_AVAIL_F_NO_INTERRUPT);
        return need_event16(ld16(d->drv + 4 + 2u * d->num), d->used_idx, old);
    }
    uint32_t op = d->sig_pos, ow = d->sig_wrap;
    d->sig_pos = d->upos;
    d->sig_wrap = d->uwrap;
    if (op == d->upos && ow == d->uwrap)
        return 0;
    uint16_t fl = ld16(d->drv + 2), offw = ld16(d->drv);
    if (fl == DRV_EVENT_DISABLE)
        return 0;
    if (fl == DRV_EVENT_ENABLE)
        return 1;
    CHECK(fl == DRV_EVENT_DESC && d->eidx);
    return need_event_packed(d->num, offw & 0x7fffu, offw >> 15, op, ow,
                             d->upos, d->uwrap);
}

/* device: choose how it wants to be notified of new available buffers */
static void dev_set_avail_suppression(struct tdev *d)
{
    if (!d->packed) {
        if (!d->eidx) {
            st16(d->dev, (uint16_t)(rnd() & 1));
        } else {
            st16(d->dev, 0);
            st16(d->dev + 4 + 8u * d->num,
                 (uint16_t)(d->last_avail + rnd_below(6) - 1));
        }
        return;
    }
    uint32_t m = rnd_below(d->eidx ? 3 : 2);
    if (m == DRV_EVENT_DESC) {
        uint32_t pos = d->apos + rnd_below(4), w = d->awrap;
        while (pos >= d->num) {
            pos -= d->num;
            w ^= 1;
        }
        st16(d->dev, (uint16_t)(pos | w << 15));
    }
    st16(d->dev + 2, (uint16_t)m);
}

/* independent expectation for drv_vq_kick_needed() */
static int dev_expect_kick(struct tdev *d, uint16_t old, uint16_t nw)
{
    if (old == nw)
        return 0;
    if (!d->packed) {
        if (!d->eidx)
            return !(rd16(d->dev) & DRV_USED_F_NO_NOTIFY);
        return need_event16(rd16(d->dev + 4 + 8u * d->num), nw, old);
    }
    uint16_t fl = rd16(d->dev + 2), ow = rd16(d->dev);
    if (fl == DRV_EVENT_DISABLE)
        return 0;
    if (fl == DRV_EVENT_ENABLE)
        return 1;
    return need_event_packed(d->num, ow & 0x7fffu, ow >> 15, old & 0x7fffu,
                             old >> 15, nw & 0x7fffu, nw >> 15);
}

/* ------------------------------------------------------- guest memory */

static struct drv_guest G;

static void guest_default(uint64_t size)
{
    uint64_t gpas[2] = {0x100000ull, 0x100000000ull};
    uint64_t sizes[2] = {size, 1ull << 20};
    CHECK(drv_guest_init(&G, gpas, sizes, 2) == 0);
}

static int faults(volatile unsigned char *p, int write)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        if (write)
            *p = 1;
        else
            (void)*p;
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFSIGNALED(st) &&
           (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}

static void test_mem(void)
{
    struct drv_guest g;
    uint64_t gpas[3] = {0x10000, 0x1000000, 0x2000040};
    uint64_t sizes[3] = {1u << 20, 65536, 1000};
    CHECK(drv_guest_init(&g, gpas, sizes, 3) == 0);
    CHECK(g.nregions == 3);
    /* translation and bounds */
    unsigned char *h0 = drv_gpa(&g, 0x10000, 1);
    CHECK(h0 == g.regions[0].hva);
    CHECK(drv_gpa(&g, 0x10000 + (1u << 20) - 8, 8) == h0 + (1u << 20) - 8);
    CHECK(drv_gpa(&g, 0x10000 + (1u << 20) - 8, 9) == NULL);
    CHECK(drv_gpa(&g, 0xffff, 1) == NULL);
    CHECK(drv_gpa(&g, UINT64_MAX, 2) == NULL);
    CHECK(drv_gpa(&g, 0x10000, UINT64_MAX) == NULL);
    CHECK(drv_gpa(&g, 0x1000000 + 65535, 1) != NULL);
    CHECK(drv_gpa(&g, 0x1000000 + 65535, 2) == NULL);
    CHECK(drv_hva_to_gpa(&g, h0 + 5) == 0x10005);
    CHECK(drv_hva_to_gpa(&g, &g) == UINT64_MAX);
    /* gpa and hva congruent modulo 64 */
    CHECK(((uintptr_t)g.regions[2].hva & 63) == (0x2000040 & 63));
    /* guard pages on both sides */
    CHECK(!faults(h0, 1));
    CHECK(!faults(h0 + (1u << 20) - 1, 1));
    CHECK(faults(h0 - 1, 0));
    CHECK(faults(h0 + (1u << 20), 0));
    unsigned char *h1 = g.regions[1].hva;
    CHECK(faults(h1 + 65536, 1));
    CHECK(faults(h1 - 1, 1));
    unsigned char *h2 = g.regions[2].hva;
    CHECK(faults(h2 + 1000 + 64, 0)); /* less than 64 bytes of slack */
    /* allocator */
    uint64_t a = drv_alloc(&g, 10, 1);
    CHECK(a == 0x10000);
    uint64_t b = drv_alloc(&g, 16, 16);
    CHECK(b == 0x10010);
    CHECK(drv_alloc(&g, (1u << 20) - 64, 1) ==
          0x10020);                              /* 32 bytes left in region 0 */
    CHECK(drv_alloc(&g, 60000, 8) == 0x1000000); /* so region 1 is used */
    CHECK(drv_alloc(&g, 32, 1) == 0x10FFE0);     /* region 0 first again */
    uint64_t d = drv_alloc_in(&g, 2, 100, 64);
    CHECK(d == 0x2000040);
    memset(drv_gpa(&g, d, 100), 0xab, 100);
    drv_alloc_reset(&g);
    uint64_t e = drv_alloc_in(&g, 2, 100, 64);
    CHECK(e == d);
    unsigned char *he = drv_gpa(&g, e, 100);
    for (int i = 0; i < 100; i++)
        CHECK(he[i] == 0);
    /* overlapping regions refused */
    struct drv_guest g2;
    uint64_t og[2] = {0x1000, 0x1800};
    uint64_t os[2] = {0x1000, 0x1000};
    CHECK(drv_guest_init(&g2, og, os, 2) == -1);
    drv_guest_fini(&g);
    printf("mem: ok\n");
}

/* ---------------------------------------------------- traffic workout */

#define ELSZ 64u

struct rec {
    uint64_t seq;
    uint32_t id;
    uint32_t nout, nin;
    uint64_t *gpa;
    uint32_t *len;
    uint64_t wlen;
    uint32_t dev_len;      /* what the device reported */
    int completed_batched; /* completed inside an IN_ORDER batch, not last */
    int mode;
    struct rec *next_free;
};

struct traffic {
    const char *name;
    uint64_t feat;
    uint32_t num;
    uint32_t minel, maxel;
    uint32_t indirect_pct, mixed_pct;
    int out_of_order; /* device completes in random order (not with IN_ORDER) */
    uint32_t total;   /* buffers to push through */
};

static unsigned char out_pat(uint64_t seq, uint32_t k, uint32_t b)
{
    return (unsigned char)(seq * 131u + k * 17u + b);
}

static unsigned char in_pat(uint64_t seq, uint64_t off)
{
    return (unsigned char)((seq * 7u + off * 3u) ^ 0x5a);
}

static uint32_t chain_descs(const struct rec *r)
{
    uint32_t nel = r->nout + r->nin;
    if (r->mode == DRV_ADD_INDIRECT)
        return 1;
    if (r->mode == DRV_ADD_MIXED)
        return nel - (r->nin ? r->nin : 1) + 1;
    return nel;
}

/* fill a rec's out parts and add it */
static int add_rec(struct drv_vq *q, struct rec *r, uint64_t seq, uint32_t nout,
                   uint32_t nin, int mode)
{
    struct drv_buf ob[64], ib[64];
    CHECK(nout + nin <= 64);
    for (uint32_t k = 0; k < nout + nin; k++) {
        r->len[k] = 1 + rnd_below(ELSZ);
        if (k < nout) {
            ob[k].gpa = r->gpa[k];
            ob[k].len = r->len[k];
            unsigned char *h = drv_gpa(&G, r->gpa[k], r->len[k]);
            for (uint32_t b = 0; b < r->len[k]; b++)
                h[b] = out_pat(seq, k, b);
        } else {
            ib[k - nout].gpa = r->gpa[k];
            ib[k - nout].len = r->len[k];
        }
    }
    r->seq = seq;
    r->nout = nout;
    r->nin = nin;
    r->mode = mode;
    r->wlen = 0;
    for (uint32_t k = nout; k < nout + nin; k++)
        r->wlen += r->len[k];
    int id = drv_vq_add(q, ob, nout, ib, nin, mode, r);
    if (id >= 0)
        r->id = (uint32_t)id;
    return id;
}

/* device: check a popped chain against what the driver added */
static void dev_check_chain(const struct chain *c, const struct rec *r)
{
    CHECK(!c->bad_poison);
    CHECK(c->nel == r->nout + r->nin);
    for (uint32_t e = 0; e < c->nel; e++) {
        CHECK(c->el[e].addr == r->gpa[e]);
        CHECK(c->el[e].len == r->len[e]);
        CHECK(c->el[e].write == (e >= r->nout));
        if (e < r->nout) {
            const unsigned char *h = drv_gpa(&G, r->gpa[e], r->len[e]);
            for (uint32_t b = 0; b < r->len[e]; b++)
                CHECK(h[b] == out_pat(r->seq, e, b));
        }
    }
    CHECK(c->wcap == r->wlen);
    CHECK(c->ndesc == chain_descs(r));
}

/* device: write ulen bytes into the chain's writable parts */
static void dev_write(const struct chain *c, uint64_t seq, uint64_t ulen)
{
    uint64_t off = 0;
    for (uint32_t e = 0; e < c->nel && off < ulen; e++) {
        if (!c->el[e].write)
            continue;
        unsigned char *h = drv_gpa(&G, c->el[e].addr, c->el[e].len);
        for (uint32_t x = 0; x < c->el[e].len && off < ulen; x++, off++)
            h[x] = in_pat(seq, off);
    }
}

/* driver: check what get_used returned */
static void drv_check_used(const struct drv_used *u, struct rec **byid)
{
    struct rec *r = u->cookie;
    CHECK(r != NULL && byid[u->id] == r && r->id == u->id);
    CHECK(u->batched == (uint32_t)r->completed_batched);
    CHECK(u->len == (r->completed_batched ? r->wlen : r->dev_len));
    CHECK(u->ndesc == chain_descs(r));
    uint64_t off = 0;
    for (uint32_t k = r->nout; k < r->nout + r->nin && off < u->len; k++) {
        const unsigned char *h = drv_gpa(&G, r->gpa[k], r->len[k]);
        for (uint32_t x = 0; x < r->len[k] && off < u->len; x++, off++)
            CHECK(h[x] == in_pat(r->seq, off));
    }
}

static void run_traffic(const struct traffic *t)
{
    struct drv_vq q;
    struct tdev d;
    uint32_t num = t->num, maxel = t->maxel;
    int inorder = (t->feat & DRV_F_IN_ORDER) != 0;
    int eidx = (t->feat & DRV_F_EVENT_IDX) != 0;

    CHECK(maxel <= num && maxel <= 64 && t->minel >= 1);
    drv_alloc_reset(&G);
    CHECK(drv_vq_init(&q, &G, (uint16_t)num, t->feat) == 0);
    CHECK(drv_vq_num_free(&q) == num);
    dev_init(&d, &q, &G, t->feat, maxel);

    struct rec *recs = calloc(num, sizeof(*recs));
    struct rec **byid = calloc(num, sizeof(*byid));
    uint64_t *gpas = calloc((size_t)num * maxel, sizeof(*gpas));
    uint32_t *lens = calloc((size_t)num * maxel, sizeof(*lens));
    struct chain *pool = calloc(num, sizeof(*pool));
    struct elem *elpool = calloc((size_t)num * maxel, sizeof(*elpool));
    uint32_t *hq =
        calloc(num, sizeof(*hq)); /* held chains, ring of pool slots */
    uint32_t *cfree = calloc(num, sizeof(*cfree));
    CHECK(recs && byid && gpas && lens && pool && elpool && hq && cfree);
    uint64_t data = drv_alloc(&G, (uint64_t)num * maxel * ELSZ, 64);
    struct rec *free_recs = NULL;
    for (uint32_t i = num; i-- > 0;) {
        recs[i].gpa = gpas + (size_t)i * maxel;
        recs[i].len = lens + (size_t)i * maxel;
        for (uint32_t k = 0; k < maxel; k++)
            recs[i].gpa[k] = data + ((uint64_t)i * maxel + k) * ELSZ;
        recs[i].next_free = free_recs;
        free_recs = &recs[i];
        pool[i].el = elpool + (size_t)i * maxel;
        cfree[i] = i;
    }
    uint32_t ncfree = num;

    uint64_t seq = 0, completed = 0, next_seq_out = 0;
    uint64_t kicks = 0, kick_checks = 0, irqs = 0, irq_checks = 0, batched = 0;
    uint32_t nheld = 0, hfront = 0, outstanding = 0, done_unconsumed = 0;
    uint16_t kick_old = drv_vq_next_off_wrap(&q);

    while (completed < t->total) {
        /* ---- driver: notification preference for used buffers */
        switch (rnd_below(5)) {
        case 0: drv_vq_enable_cb(&q); break;
        case 1: drv_vq_disable_cb(&q); break;
        case 2:
            if (eidx) {
                uint16_t lu = drv_vq_last_used(&q);
                if (d.packed) {
                    uint32_t p = (lu & 0x7fffu) + rnd_below(4), w = lu >> 15;
                    while (p >= num) {
                        p -= num;
                        w ^= 1;
                    }
                    drv_vq_enable_cb_at(&q, (uint16_t)(p | w << 15));
                } else {
                    drv_vq_enable_cb_at(&q, (uint16_t)(lu + rnd_below(6) - 1));
                }
            }
            break;
        default: break;
        }

        /* ---- driver: add and publish */
        uint32_t nadd = rnd_below(num + 1);
        for (uint32_t i = 0; i < nadd && seq < t->total; i++) {
            uint32_t nel = t->minel + rnd_below(t->maxel - t->minel + 1);
            uint32_t nout = rnd_below(nel + 1), nin = nel - nout;
            int mode = DRV_ADD_DIRECT;
            if ((t->feat & DRV_F_INDIRECT) && rnd_below(100) < t->indirect_pct)
                mode = DRV_ADD_INDIRECT;
            if (mode == DRV_ADD_INDIRECT && !d.packed &&
                rnd_below(100) < t->mixed_pct)
                mode = DRV_ADD_MIXED;
            struct rec *r = free_recs;
            if (!r) { /* num buffers in flight: the ring must be full */
                CHECK(drv_vq_num_free(&q) == 0);
                break;
            }
            unsigned before = drv_vq_num_free(&q);
            int id = add_rec(&q, r, seq, nout, nin, mode);
            if (id == DRV_ENOSPC) {
                CHECK(chain_descs(r) > before);
                break;
            }
            CHECK(id >= 0 && (uint32_t)id < num);
            CHECK(drv_vq_num_free(&q) == before - chain_descs(r));
            free_recs = r->next_free;
            seq++;
            outstanding++;
            CHECK(byid[id] == NULL);
            byid[id] = r;
            if (rnd_below(4) == 0) {
                drv_vq_publish(&q);
                uint16_t nw = drv_vq_next_off_wrap(&q);
                int k = drv_vq_kick_needed(&q);
                CHECK(k == dev_expect_kick(&d, kick_old, nw));
                kicks += (uint64_t)k;
                kick_checks++;
                kick_old = nw;
            }
        }
        drv_vq_publish(&q);
        uint16_t nw = drv_vq_next_off_wrap(&q);
        int k = drv_vq_kick_needed(&q);
        CHECK(k == dev_expect_kick(&d, kick_old, nw));
        kicks += (uint64_t)k;
        kick_checks++;
        kick_old = nw;
        CHECK(drv_vq_inflight(&q) == outstanding);

        /* ---- device: pop everything available */
        for (;;) {
            if (ncfree ==
                0) /* all num buffers held: nothing can be available */
                break;
            uint32_t slot = cfree[ncfree - 1];
            if (!dev_pop(&d, &pool[slot]))
                break;
            ncfree--;
            struct rec *r = byid[pool[slot].id];
            CHECK(r != NULL);
            dev_check_chain(&pool[slot], r);
            hq[(hfront + nheld) % num] = slot;
            nheld++;
        }
        dev_set_avail_suppression(&d);

        /* ---- device: complete some, in groups, checking the notify rule */
        uint32_t ncomp = rnd_below(3) == 0 ? nheld : rnd_below(nheld + 1);
        while (ncomp) {
            uint32_t group = 1 + rnd_below(ncomp < 8 ? ncomp : 8);
            uint32_t skip = 0, last_id = 0, last_len = 0;
            for (uint32_t b = 0; b < group; b++) {
                uint32_t pick = 0;
                if (t->out_of_order && !inorder)
                    pick = rnd_below(nheld);
                uint32_t slot = hq[(hfront + pick) % num];
                hq[(hfront + pick) % num] = hq[hfront];
                hfront = (hfront + 1) % num;
                nheld--;
                struct chain *c = &pool[slot];
                struct rec *r = byid[c->id];
                /* IN_ORDER batch: all but the last are used completely */
                int in_batch = inorder && b + 1 < group;
                uint64_t ulen =
                    in_batch ? c->wcap
                             : (c->wcap ? rnd_below((uint32_t)c->wcap + 1) : 0);
                dev_write(c, r->seq, ulen);
                r->dev_len = (uint32_t)ulen;
                r->completed_batched = in_batch;
                batched += (uint64_t)in_batch;
                skip += c->ndesc;
                last_id = c->id;
                last_len = (uint32_t)ulen;
                if (!inorder) {
                    if (d.packed)
                        packed_push(&d, c->id, (uint32_t)ulen, c->ndesc);
                    else
                        split_push(&d, c->id, (uint32_t)ulen, 1);
                }
                cfree[ncfree++] = slot;
            }
            if (inorder) {
                if (d.packed)
                    packed_push(&d, last_id, last_len, skip);
                else
                    split_push(&d, last_id, last_len, group);
            }
            done_unconsumed += group;
            ncomp -= group;
            int dn = dev_should_notify(&d);
            int ex = drv_vq_interrupt_expected(&q);
            CHECK(dn == ex);
            irqs += (uint64_t)dn;
            irq_checks++;
        }

        /* ---- driver: consume some (all, sometimes) */
        CHECK(drv_vq_more_used(&q) == (done_unconsumed > 0));
        uint32_t ncons =
            rnd_below(2) ? done_unconsumed : rnd_below(done_unconsumed + 1);
        for (uint32_t i = 0; i < ncons; i++) {
            struct drv_used u;
            int r = drv_vq_get_used_ex(&q, &u);
            if (r != 1)
                fprintf(stderr, "%s: get_used %d (%s)\n", t->name, r,
                        drv_vq_error(&q) ? drv_vq_error(&q) : "-");
            CHECK(r == 1);
            drv_check_used(&u, byid);
            struct rec *rc = u.cookie;
            if (inorder)
                CHECK(rc->seq == next_seq_out);
            next_seq_out = rc->seq + 1;
            byid[u.id] = NULL;
            rc->next_free = free_recs;
            free_recs = rc;
            completed++;
            outstanding--;
            done_unconsumed--;
        }
        if (done_unconsumed == 0) {
            uint32_t id;
            CHECK(drv_vq_get_used(&q, &id, NULL, NULL) == 0);
        }
    }
    CHECK(drv_vq_num_free(&q) == num);
    CHECK(drv_vq_inflight(&q) == 0);
    CHECK(!drv_vq_more_used(&q));
    CHECK(drv_vq_error(&q) == NULL);
    printf("traffic %-28s num %5u: %7llu bufs, %6llu/%6llu kicks, %6llu/%6llu "
           "irqs, %6llu batched\n",
           t->name, num, (unsigned long long)completed,
           (unsigned long long)kicks, (unsigned long long)kick_checks,
           (unsigned long long)irqs, (unsigned long long)irq_checks,
           (unsigned long long)batched);
    drv_vq_fini(&q);
    free(recs);
    free(byid);
    free(gpas);
    free(lens);
    free(pool);
    free(elpool);
    free(hq);
    free(cfree);
}

/* ---------------------------------------------------- targeted checks */

static uint64_t scratch_gpa;
static struct elem tel[4096];

static void tq_init(struct drv_vq *q, struct tdev *d, uint32_t num,
                    uint64_t feat)
{
    drv_alloc_reset(&G);
    CHECK(drv_vq_init(q, &G, (uint16_t)num, feat) == 0);
    dev_init(d, q, &G, feat, 4096);
    scratch_gpa = drv_alloc(&G, 65536, 64);
}

static int add1(struct drv_vq *q, uint32_t nout, uint32_t nin, uint32_t inlen,
                int mode, void *cookie)
{
    struct drv_buf ob[64], ib[64];
    CHECK(nout <= 64 && nin <= 64);
    for (uint32_t k = 0; k < nout; k++) {
        ob[k].gpa = scratch_gpa + 64u * k;
        ob[k].len = 16;
    }
    for (uint32_t k = 0; k < nin; k++) {
        ib[k].gpa = scratch_gpa + 8192u + 64u * k;
        ib[k].len = inlen;
    }
    return drv_vq_add(q, ob, nout, ib, nin, mode, cookie);
}

static struct chain *tchain(void)
{
    static struct chain c;
    c.el = tel;
    return &c;
}

static void test_split_layout(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    unsigned char *desc = drv_vq_desc_hva(&q), *av = drv_vq_avail_hva(&q);
    unsigned char *us = drv_vq_used_hva(&q);
    CHECK(drv_vq_desc_gpa(&q) % 16 == 0 && drv_vq_driver_gpa(&q) % 2 == 0 &&
          drv_vq_device_gpa(&q) % 4 == 0);
    int h = add1(&q, 2, 1, 32, DRV_ADD_DIRECT, (void *)1);
    CHECK(h >= 0 && h < 8);
    CHECK(rd16(av + 2) == 0); /* not published yet */
    CHECK(rd16(av + 4) == h); /* ring[0] */
    CHECK(!split_pop(&d, c));
    const unsigned char *e0 = desc + 16 * h;
    CHECK(rd64(e0) == scratch_gpa && rd32(e0 + 8) == 16 &&
          rd16(e0 + 12) == DRV_DESC_F_NEXT);
    const unsigned char *e1 = desc + 16 * rd16(e0 + 14);
    CHECK(rd64(e1) == scratch_gpa + 64 && rd16(e1 + 12) == DRV_DESC_F_NEXT);
    const unsigned char *e2 = desc + 16 * rd16(e1 + 14);
    CHECK(rd64(e2) == scratch_gpa + 8192 && rd32(e2 + 8) == 32 &&
          rd16(e2 + 12) == DRV_DESC_F_WRITE);
    CHECK(drv_vq_num_free(&q) == 5);
    drv_vq_publish(&q);
    CHECK(rd16(av + 2) == 1);
    CHECK(rd16(us) == 0); /* used flags initialised to 0 */
    CHECK(split_pop(&d, c) == 1 && c->id == (uint32_t)h && c->nel == 3 &&
          c->wcap == 32);
    split_push(&d, c->id, 5, 1);
    uint32_t id, len;
    void *ck;
    CHECK(drv_vq_get_used(&q, &id, &len, &ck) == 1);
    CHECK(id == (uint32_t)h && len == 5 && ck == (void *)1);
    CHECK(drv_vq_get_used(&q, &id, &len, &ck) == 0);
    CHECK(drv_vq_num_free(&q) == 8);
    /* LIFO free list: the freed chain is reused first */
    CHECK(add1(&q, 1, 0, 0, DRV_ADD_DIRECT, NULL) == h);
    /* no room: 7 free, ask 8 */
    CHECK(add1(&q, 4, 4, 8, DRV_ADD_DIRECT, NULL) == DRV_ENOSPC);
    /* caller errors */
    CHECK(add1(&q, 0, 0, 0, DRV_ADD_DIRECT, NULL) == DRV_EINVAL);
    CHECK(add1(&q, 1, 0, 0, DRV_ADD_INDIRECT, NULL) ==
          DRV_EINVAL); /* not negotiated */
    CHECK(add1(&q, 5, 4, 8, DRV_ADD_DIRECT, NULL) ==
          DRV_EINVAL); /* longer than queue */
    drv_vq_fini(&q);

    /* IN_ORDER: descriptors in ring order, next = x + 1, 0 after the last */
    tq_init(&q, &d, 8, DRV_F_VERSION_1 | DRV_F_IN_ORDER);
    desc = drv_vq_desc_hva(&q);
    CHECK(add1(&q, 1, 2, 8, DRV_ADD_DIRECT, (void *)1) == 0);
    CHECK(add1(&q, 2, 1, 8, DRV_ADD_DIRECT, (void *)2) == 3);
    drv_vq_publish(&q);
    CHECK(split_pop(&d, c) == 1 && c->id == 0);
    CHECK(split_pop(&d, c) == 1 && c->id == 3);
    split_push(&d, 3, 4, 2); /* one entry for both */
    struct drv_used u;
    CHECK(drv_vq_get_used_ex(&q, &u) == 1);
    CHECK(u.id == 0 && u.batched == 1 && u.len == 16 && u.cookie == (void *)1 &&
          u.raw_len == 4);
    CHECK(drv_vq_get_used_ex(&q, &u) == 1);
    CHECK(u.id == 3 && u.batched == 0 && u.len == 4 && u.cookie == (void *)2);
    CHECK(drv_vq_get_used_ex(&q, &u) == 0);
    CHECK(add1(&q, 3, 0, 0, DRV_ADD_DIRECT, NULL) == 6);
    CHECK(rd16(desc + 16 * 6 + 14) == 7 && rd16(desc + 16 * 7 + 14) == 0);
    CHECK(rd16(desc + 16 * 7 + 12) == DRV_DESC_F_NEXT && rd16(desc + 12) == 0);
    drv_vq_fini(&q);

    /* indirect and mixed */
    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_INDIRECT);
    desc = drv_vq_desc_hva(&q);
    h = add1(&q, 2, 2, 8, DRV_ADD_INDIRECT, NULL);
    CHECK(h >= 0 && drv_vq_num_free(&q) == 3);
    CHECK(rd16(desc + 16 * h + 12) == DRV_DESC_F_INDIRECT &&
          rd32(desc + 16 * h + 8) == 64);
    CHECK(rd64(desc + 16 * h) % 16 == 0);
    int h2 = add1(&q, 2, 2, 8, DRV_ADD_MIXED, NULL);
    CHECK(h2 >= 0 && drv_vq_num_free(&q) == 0);
    CHECK(add1(&q, 5, 0, 8, DRV_ADD_INDIRECT, NULL) ==
          DRV_EINVAL); /* table > queue size */
    drv_vq_publish(&q);
    CHECK(split_pop(&d, c) == 1 && c->id == (uint32_t)h && c->nel == 4 &&
          c->ndesc == 1);
    CHECK(split_pop(&d, c) == 1 && c->id == (uint32_t)h2 && c->nel == 4 &&
          c->ndesc == 3);
    drv_vq_fini(&q);
    printf("split layout: ok\n");
}

static void test_packed_layout(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();

    tq_init(&q, &d, 5, DRV_F_VERSION_1 | DRV_F_PACKED | DRV_F_INDIRECT);
    unsigned char *desc = drv_vq_desc_hva(&q);
    unsigned char *drvev = drv_vq_avail_hva(&q), *devev = drv_vq_used_hva(&q);
    CHECK(rd32(drvev) == 0 && rd32(devev) == 0);
    int id = add1(&q, 2, 1, 32, DRV_ADD_DIRECT, (void *)7);
    CHECK(id >= 0 && id < 5);
    CHECK(rd16(desc + 14) == 0); /* first descriptor not yet available */
    CHECK(rd16(desc + 16 + 14) == (DRV_DESC_F_AVAIL | DRV_DESC_F_NEXT));
    CHECK(rd16(desc + 32 + 14) == (DRV_DESC_F_AVAIL | DRV_DESC_F_WRITE));
    CHECK(rd16(desc + 32 + 12) == id);
    CHECK(rd16(desc + 12) == (uint16_t)~id &&
          rd16(desc + 16 + 12) == (uint16_t)~id);
    CHECK(!packed_pop(&d, c));
    drv_vq_publish(&q);
    CHECK(rd16(desc + 14) == (DRV_DESC_F_AVAIL | DRV_DESC_F_NEXT));
    CHECK(drv_vq_next_off_wrap(&q) == (3 | 1u << 15));
    /* id in every descriptor on request */
    drv_vq_set_opts(&q, DRV_OPT_PACKED_ID_ALL);
    int id2 = add1(&q, 1, 1, 16, DRV_ADD_DIRECT, (void *)8);
    CHECK(id2 >= 0 && id2 != id);
    CHECK(rd16(desc + 48 + 12) == id2 && rd16(desc + 64 + 12) == id2);
    drv_vq_set_opts(&q, 0);
    CHECK(drv_vq_num_free(&q) == 0);
    CHECK(add1(&q, 1, 0, 0, DRV_ADD_INDIRECT, NULL) == DRV_ENOSPC);
    drv_vq_publish(&q);
    CHECK(drv_vq_next_off_wrap(&q) == 0); /* slot 0, wrap 0 */
    CHECK(packed_pop(&d, c) == 1 && c->id == (uint32_t)id && c->ndesc == 3);
    CHECK(packed_pop(&d, c) == 1 && c->id == (uint32_t)id2 && c->ndesc == 2);
    CHECK(!packed_pop(&d, c));
    /* complete out of order: id2 first, at used slot 0 */
    packed_push(&d, (uint32_t)id2, 3, 2);
    packed_push(&d, (uint32_t)id, 0, 3);
    struct drv_used u;
    CHECK(drv_vq_get_used_ex(&q, &u) == 1);
    CHECK(u.id == (uint32_t)id2 && u.len == 3 && u.cookie == (void *)8 &&
          (u.raw_flags & DRV_DESC_F_WRITE));
    CHECK(drv_vq_get_used_ex(&q, &u) == 1);
    CHECK(u.id == (uint32_t)id && u.len == 0 && u.cookie == (void *)7);
    CHECK(drv_vq_get_used_ex(&q, &u) == 0);
    /* second lap: available = USED bit set, AVAIL clear */
    int id3 = add1(&q, 3, 0, 0, DRV_ADD_INDIRECT, (void *)9);
    CHECK(id3 >= 0);
    CHECK(rd16(desc + 14) == (DRV_DESC_F_AVAIL | DRV_DESC_F_USED |
                              DRV_DESC_F_WRITE)); /* stale used */
    drv_vq_publish(&q);
    CHECK(rd16(desc + 14) == (DRV_DESC_F_USED | DRV_DESC_F_INDIRECT));
    CHECK(rd32(desc + 8) == 48 && rd16(desc + 12) == id3);
    const unsigned char *tab = drv_gpa(&G, rd64(desc), 48);
    CHECK(tab && rd16(tab + 14) == 0 && rd16(tab + 12) == 0);
    CHECK(packed_pop(&d, c) == 1 && c->id == (uint32_t)id3 && c->nel == 3 &&
          c->ndesc == 1);
    CHECK(add1(&q, 1, 1, 8, DRV_ADD_MIXED, NULL) ==
          DRV_EINVAL); /* not in packed */
    drv_vq_fini(&q);
    printf("packed layout: ok\n");
}

static void test_kick_split(void)
{
    struct drv_vq q;
    struct tdev d;

    tq_init(&q, &d, 4, DRV_F_VERSION_1);
    unsigned char *us = drv_vq_used_hva(&q);
    CHECK(drv_vq_kick_needed(&q) == 0); /* nothing published */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    CHECK(drv_vq_kick_needed(&q) == 0); /* added, not published */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(us, DRV_USED_F_NO_NOTIFY);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(us, 2);
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE && drv_vq_error(&q));
    drv_vq_fini(&q);

    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_EVENT_IDX);
    us = drv_vq_used_hva(&q);
    /* avail_event = 0: the first entry (idx 0) triggers */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    wr16(us + 4 + 8 * 4, 3);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* idx 1 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* idx 2 */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* idx 3 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(us, 1); /* flags must be 0 with EVENT_IDX */
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE);
    drv_vq_fini(&q);
    printf("split kick: ok\n");
}

static void test_kick_packed(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();

    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED);
    unsigned char *ev = drv_vq_used_hva(&q);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1); /* ENABLE */
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(ev + 2, DRV_EVENT_DISABLE);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(ev + 2, DRV_EVENT_DESC); /* not valid without EVENT_IDX */
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE);
    drv_vq_fini(&q);

    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED | DRV_F_EVENT_IDX);
    ev = drv_vq_used_hva(&q);
    wr16(ev, 1 | 1u << 15);
    wr16(ev + 2, DRV_EVENT_DESC);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* slot 0 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* slot 1 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    wr16(ev, 3 | 1u << 15); /* second descriptor of the next chain */
    CHECK(add1(&q, 2, 0, 0, 0, NULL) >= 0); /* slots 2, 3 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    /* device uses all, driver collects */
    for (int i = 0; i < 3; i++) {
        CHECK(packed_pop(&d, c) == 1);
        packed_push(&d, c->id, 0, c->ndesc);
    }
    for (int i = 0; i < 3; i++)
        CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    /* next lap (wrap 0) */
    wr16(ev, 1);                            /* slot 1, wrap 0 */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* slot 0 wrap 0 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    CHECK(add1(&q, 2, 0, 0, 0, NULL) >= 0); /* slots 1, 2 wrap 0 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 1);
    wr16(ev, 0 | 1u << 15); /* slot 0 of the past lap: already passed */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* slot 3 wrap 0 */
    drv_vq_publish(&q);
    CHECK(drv_vq_kick_needed(&q) == 0);
    wr16(ev, 7); /* offset beyond the ring */
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE);
    drv_vq_fini(&q);

    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED | DRV_F_EVENT_IDX);
    wr16(drv_vq_used_hva(&q) + 2, 3);
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE);
    drv_vq_fini(&q);
    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED | DRV_F_EVENT_IDX);
    wr16(drv_vq_used_hva(&q) + 2, 0x10);
    CHECK(drv_vq_kick_needed(&q) == DRV_EDEVICE);
    drv_vq_fini(&q);
    printf("packed kick: ok\n");
}

static void test_irq_oracle(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();

    /* split, no EVENT_IDX: flags */
    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    for (int i = 0; i < 4; i++)
        CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(drv_vq_interrupt_expected(&q) == 0); /* nothing used */
    CHECK(split_pop(&d, c) == 1);
    split_push(&d, c->id, 0, 1);
    CHECK(drv_vq_interrupt_expected(&q) == 1);
    drv_vq_disable_cb(&q);
    CHECK(rd16(drv_vq_avail_hva(&q)) == DRV_AVAIL_F_NO_INTERRUPT);
    CHECK(split_pop(&d, c) == 1);
    split_push(&d, c->id, 0, 1);
    CHECK(drv_vq_interrupt_expected(&q) == 0);
    drv_vq_enable_cb(&q);
    CHECK(drv_vq_more_used(&q) == 1);
    drv_vq_fini(&q);

    /* split, EVENT_IDX */
    tq_init(&q, &d, 8, DRV_F_VERSION_1 | DRV_F_EVENT_IDX);
    unsigned char *av = drv_vq_avail_hva(&q);
    drv_vq_enable_cb_at(&q, 2);
    CHECK(rd16(av + 4 + 2 * 8) == 2 && rd16(av) == 0);
    for (int i = 0; i < 5; i++)
        CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    for (int i = 0; i < 5; i++)
        CHECK(split_pop(&d, c) == 1 && (split_push(&d, c->id, 0, 1), 1));
    CHECK(drv_vq_used_event_triggered(&q, 0, 2) == 0);
    CHECK(drv_vq_used_event_triggered(&q, 0, 3) == 1);
    CHECK(drv_vq_used_event_triggered(&q, 2, 3) == 1);
    CHECK(drv_vq_used_event_triggered(&q, 3, 5) == 0);
    CHECK(drv_vq_interrupt_expected(&q) == 1); /* 0 -> 5 passes 2 */
    for (int i = 0; i < 5; i++)
        CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    drv_vq_enable_cb(&q);
    CHECK(rd16(av + 4 + 2 * 8) == 5);
    drv_vq_disable_cb(&q);
    CHECK(rd16(av + 4 + 2 * 8) == 4 && rd16(av) == 0);
    drv_vq_fini(&q);

    /* packed, EVENT_IDX: DESC event at a slot inside a chain */
    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED | DRV_F_EVENT_IDX);
    unsigned char *dev = drv_vq_avail_hva(&q);
    CHECK(add1(&q, 3, 0, 0, 0, NULL) >= 0); /* slots 0..2 */
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0); /* slot 3 */
    drv_vq_publish(&q);
    drv_vq_enable_cb_at(&q, 2 | 1u << 15);
    CHECK(rd16(dev) == (2 | 1u << 15) && rd16(dev + 2) == DRV_EVENT_DESC);
    CHECK(packed_pop(&d, c) == 1 && c->ndesc == 3);
    packed_push(&d, c->id, 0, 3); /* device moves 0 -> 3 */
    CHECK(drv_vq_interrupt_expected(&q) == 1);
    CHECK(drv_vq_used_event_triggered(&q, 0 | 1u << 15, 2 | 1u << 15) == 0);
    CHECK(drv_vq_used_event_triggered(&q, 0 | 1u << 15, 3 | 1u << 15) == 1);
    CHECK(drv_vq_used_event_triggered(&q, 3 | 1u << 15, 0) == 0);
    CHECK(packed_pop(&d, c) == 1);
    packed_push(&d, c->id, 0, 1); /* 3 -> 0 (wrap 0) */
    CHECK(drv_vq_interrupt_expected(&q) == 0);
    CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    drv_vq_enable_cb(&q); /* DESC at the next used slot: 0, wrap 0 */
    CHECK(rd16(dev) == 0 && rd16(dev + 2) == DRV_EVENT_DESC);
    drv_vq_disable_cb(&q);
    CHECK(rd16(dev + 2) == DRV_EVENT_DISABLE);
    drv_vq_fini(&q);

    /* packed, no EVENT_IDX */
    tq_init(&q, &d, 4, DRV_F_VERSION_1 | DRV_F_PACKED);
    dev = drv_vq_avail_hva(&q);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    CHECK(packed_pop(&d, c) == 1);
    packed_push(&d, c->id, 0, 1);
    CHECK(drv_vq_interrupt_expected(&q) == 1);
    drv_vq_disable_cb(&q);
    CHECK(packed_pop(&d, c) == 1);
    packed_push(&d, c->id, 0, 1);
    CHECK(drv_vq_interrupt_expected(&q) == 0);
    drv_vq_enable_cb(&q);
    CHECK(rd16(dev + 2) == DRV_EVENT_ENABLE);
    drv_vq_fini(&q);
    printf("irq oracle: ok\n");
}

static void test_init_at(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();
    uint64_t end = G.regions[1].gpa + G.regions[1].size;

    /* split rings flush against the trailing guard page */
    uint64_t used = end - 72, avail = used - 24, desc = avail - 128;
    CHECK(drv_vq_init_at(&q, &G, 8, DRV_F_VERSION_1, desc + 8, avail, used) ==
          DRV_EINVAL);
    CHECK(drv_vq_init_at(&q, &G, 8, DRV_F_VERSION_1, desc, avail + 1, used) ==
          DRV_EINVAL);
    CHECK(drv_vq_init_at(&q, &G, 8, DRV_F_VERSION_1, desc, avail, used + 2) ==
          DRV_EINVAL);
    CHECK(drv_vq_init_at(&q, &G, 8, DRV_F_VERSION_1, desc, avail, end - 64) ==
          DRV_EINVAL); /* used ring would cross the end */
    CHECK(drv_vq_init_at(&q, &G, 6, DRV_F_VERSION_1, desc, avail, used) ==
          DRV_EINVAL); /* split sizes are powers of two */
    CHECK(drv_vq_init_at(&q, &G, 8, DRV_F_VERSION_1, desc, avail, used) == 0);
    dev_init(&d, &q, &G, DRV_F_VERSION_1, 4096);
    scratch_gpa = drv_alloc(&G, 65536, 64);
    for (int i = 0; i < 40; i++) {
        int h = add1(&q, 1, 1, 8, 0, NULL);
        CHECK(h >= 0);
        drv_vq_publish(&q);
        CHECK(split_pop(&d, c) == 1 && c->id == (uint32_t)h);
        split_push(&d, c->id, 8, 1);
        CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    }
    drv_vq_fini(&q);

    /* packed: any size, 4-byte event structures */
    CHECK(drv_vq_init_at(&q, &G, 7, DRV_F_VERSION_1 | DRV_F_PACKED, end - 128,
                         end - 8, end - 4) == 0);
    dev_init(&d, &q, &G, DRV_F_VERSION_1 | DRV_F_PACKED, 4096);
    for (int i = 0; i < 40; i++) {
        int id = add1(&q, 2, 1, 8, 0, NULL);
        CHECK(id >= 0);
        drv_vq_publish(&q);
        CHECK(packed_pop(&d, c) == 1 && c->id == (uint32_t)id);
        packed_push(&d, c->id, 8, c->ndesc);
        CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    }
    drv_vq_reset(&q); /* queue reset: back to wrap 1, slot 0 */
    CHECK(drv_vq_next_off_wrap(&q) == (1u << 15) && drv_vq_num_free(&q) == 7);
    drv_vq_fini(&q);
    printf("init_at / reset: ok\n");
}

static void expect_broken(struct drv_vq *q, const char *what)
{
    uint32_t id;
    int r = drv_vq_get_used(q, &id, NULL, NULL);
    if (r != DRV_EDEVICE)
        fprintf(stderr, "misbehaviour not caught: %s (get_used %d)\n", what, r);
    CHECK(r == DRV_EDEVICE);
    CHECK(drv_vq_error(q) != NULL);
    CHECK(drv_vq_get_used(q, &id, NULL, NULL) == DRV_EDEVICE); /* sticky */
    CHECK(add1(q, 1, 0, 0, 0, NULL) == DRV_EDEVICE);
    drv_vq_fini(q);
}

static void test_misbehave_split(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();
    int h;

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    CHECK(add1(&q, 1, 1, 8, 0, NULL) >= 0);
    drv_vq_publish(&q);
    split_push(&d, 9, 0, 1);
    expect_broken(&q, "split id out of range");

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    h = add1(&q, 3, 0, 0, 0, NULL);
    drv_vq_publish(&q);
    split_push(&d, rd16(drv_vq_desc_hva(&q) + 16 * h + 14), 0, 1);
    expect_broken(&q, "split id not a head");

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    h = add1(&q, 1, 1, 8, 0, NULL);
    drv_vq_publish(&q);
    split_push(&d, (uint32_t)h, 9, 1);
    expect_broken(&q, "split len > writable");

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    h = add1(&q, 1, 0, 0, 0, NULL);
    drv_vq_publish(&q);
    split_push(&d, (uint32_t)h, 0, 2);
    expect_broken(&q, "split used idx ahead");

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    h = add1(&q, 1, 0, 0, 0, NULL); /* not published */
    split_push(&d, (uint32_t)h, 0, 1);
    expect_broken(&q, "split unpublished buffer used");

    tq_init(&q, &d, 8, DRV_F_VERSION_1);
    h = add1(&q, 1, 0, 0, 0, NULL);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    split_push(&d, (uint32_t)h, 0, 1);
    CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    split_push(&d, (uint32_t)h, 0, 1);
    expect_broken(&q, "split buffer used twice");

    tq_init(&q, &d, 8, DRV_F_VERSION_1 | DRV_F_IN_ORDER);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 0);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 1);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 2);
    drv_vq_publish(&q);
    split_push(&d, 2, 0, 2); /* entry for 3 buffers, idx moved by 2 */
    expect_broken(&q, "split IN_ORDER batch > idx advance");

    tq_init(&q, &d, 8, DRV_F_VERSION_1 | DRV_F_IN_ORDER);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 0);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 1);
    drv_vq_publish(&q);
    split_push(&d, 1, 0, 2);
    CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    CHECK(drv_vq_get_used(&q, NULL, NULL, NULL) == 1);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 2);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) == 3);
    drv_vq_publish(&q);
    split_push(&d, 0, 0, 1); /* 0 is no longer in flight */
    expect_broken(&q, "split IN_ORDER stale id");
    (void)c;
    printf("split misbehaviour: ok\n");
}

static void test_misbehave_packed(void)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();
    int id;
    uint64_t f = DRV_F_VERSION_1 | DRV_F_PACKED;

    tq_init(&q, &d, 4, f);
    packed_push(&d, 0, 0, 1); /* nothing available */
    expect_broken(&q, "packed used with nothing available");

    tq_init(&q, &d, 4, f);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    wr16(drv_vq_desc_hva(&q) + 14,
         DRV_DESC_F_USED); /* AVAIL=0 USED=1 in lap 1 */
    expect_broken(&q, "packed bad flags");

    tq_init(&q, &d, 4, f);
    id = add1(&q, 1, 0, 0, 0, NULL);
    drv_vq_publish(&q);
    CHECK(packed_pop(&d, c) == 1);
    packed_push(&d, (uint32_t)id + 1, 0, 1);
    expect_broken(&q, "packed id not in flight");

    tq_init(&q, &d, 4, f);
    id = add1(&q, 1, 1, 8, 0, NULL);
    drv_vq_publish(&q);
    CHECK(packed_pop(&d, c) == 1);
    packed_push(&d, (uint32_t)id, 9, 2);
    expect_broken(&q, "packed len > writable");

    /* len without WRITE is reserved: ignored, reported as 0 */
    tq_init(&q, &d, 4, f);
    id = add1(&q, 1, 0, 0, 0, NULL);
    drv_vq_publish(&q);
    unsigned char *e = drv_vq_desc_hva(&q);
    wr32(e + 8, 1234);
    wr16(e + 12, (uint16_t)id);
    st16(e + 14, DRV_DESC_F_AVAIL | DRV_DESC_F_USED);
    uint32_t len = 99;
    CHECK(drv_vq_get_used(&q, NULL, &len, NULL) == 1 && len == 0);
    drv_vq_fini(&q);

    /* IN_ORDER: used id of a buffer not yet published */
    tq_init(&q, &d, 4, f | DRV_F_IN_ORDER);
    CHECK(add1(&q, 1, 0, 0, 0, NULL) >= 0);
    drv_vq_publish(&q);
    id = add1(&q, 1, 0, 0, 0, NULL);
    packed_push(&d, (uint32_t)id, 0, 2);
    expect_broken(&q, "packed IN_ORDER batch includes unpublished");
    printf("packed misbehaviour: ok\n");
}

/* 16-bit index wrap-around and many packed laps with tiny queues */
static void test_long_run(uint64_t feat, uint32_t num, uint32_t rounds)
{
    struct drv_vq q;
    struct tdev d;
    struct chain *c = tchain();

    tq_init(&q, &d, num, feat | DRV_F_EVENT_IDX);
    for (uint32_t i = 0; i < rounds; i++) {
        /* device asks for a kick at the next entry */
        if (d.packed) {
            st16(d.dev, (uint16_t)(d.apos | d.awrap << 15));
            st16(d.dev + 2, DRV_EVENT_DESC);
        } else {
            st16(d.dev + 4 + 8 * num, d.last_avail);
        }
        drv_vq_enable_cb(&q);
        int id = add1(&q, 0, 1, 4, 0, (void *)(uintptr_t)(i + 1));
        CHECK(id >= 0);
        drv_vq_publish(&q);
        CHECK(drv_vq_kick_needed(&q) == 1);
        CHECK(dev_pop(&d, c) == 1 && c->id == (uint32_t)id);
        if (d.packed)
            packed_push(&d, c->id, 3, c->ndesc);
        else
            split_push(&d, c->id, 3, 1);
        CHECK(dev_should_notify(&d) == 1);
        CHECK(drv_vq_interrupt_expected(&q) == 1);
        uint32_t uid, len;
        void *ck;
        CHECK(drv_vq_get_used(&q, &uid, &len, &ck) == 1);
        CHECK(uid == (uint32_t)id && len == 3 &&
              ck == (void *)(uintptr_t)(i + 1));
        drv_vq_disable_cb(&q);
    }
    CHECK(drv_vq_num_free(&q) == num);
    if (!d.packed)
        CHECK(drv_vq_avail_idx(&q) == (uint16_t)rounds);
    drv_vq_fini(&q);
}

/*
 * Device in another thread: exercises the memory ordering of the rings
 * (the rings themselves carry the data; the lock below never covers a ring
 * access). Neither side spins: the driver bumps `avail_gen` after each
 * publish (its "kick") and the device sleeps on it once the ring is empty;
 * the device bumps `used_gen` after each push (its "interrupt") and the
 * driver sleeps on it when it can neither add nor reap. Each side reads
 * the generation before looking at the ring, so a wake-up between the look
 * and the wait is never lost.
 */
struct thr {
    struct tdev d;
    struct rec **byid;
    struct chain c;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned avail_gen, used_gen; /* under lock */
    int stop;                     /* under lock */
};

static unsigned thr_gen(struct thr *t, const unsigned *gen, int *stop)
{
    CHECK(pthread_mutex_lock(&t->lock) == 0);
    unsigned g = *gen;
    if (stop)
        *stop = t->stop;
    CHECK(pthread_mutex_unlock(&t->lock) == 0);
    return g;
}

static void thr_bump(struct thr *t, unsigned *gen)
{
    CHECK(pthread_mutex_lock(&t->lock) == 0);
    (*gen)++;
    CHECK(pthread_cond_broadcast(&t->cond) == 0);
    CHECK(pthread_mutex_unlock(&t->lock) == 0);
}

/* Sleep until *gen moves on from seen (or stop). */
static void thr_wait(struct thr *t, const unsigned *gen, unsigned seen)
{
    CHECK(pthread_mutex_lock(&t->lock) == 0);
    while (*gen == seen && !t->stop)
        CHECK(pthread_cond_wait(&t->cond, &t->lock) == 0);
    CHECK(pthread_mutex_unlock(&t->lock) == 0);
}

static void *dev_thread(void *arg)
{
    struct thr *t = arg;
    uint32_t batch = 0, last_id = 0, skip = 0;
    for (;;) {
        int stop;
        unsigned seen = thr_gen(t, &t->avail_gen, &stop);
        if (stop)
            break;
        if (!dev_pop(&t->d, &t->c)) {
            thr_wait(t, &t->avail_gen, seen);
            continue;
        }
        struct rec *r = t->byid[t->c.id];
        CHECK(r != NULL);
        dev_check_chain(&t->c, r);
        uint64_t ulen = t->c.wcap / 2;
        dev_write(&t->c, r->seq, ulen);
        r->dev_len = (uint32_t)ulen;
        r->completed_batched = 0;
        (void)batch;
        (void)last_id;
        (void)skip;
        if (t->d.packed)
            packed_push(&t->d, t->c.id, (uint32_t)ulen, t->c.ndesc);
        else
            split_push(&t->d, t->c.id, (uint32_t)ulen, 1);
        thr_bump(t, &t->used_gen);
    }
    return NULL;
}

static void test_threaded(uint64_t feat, uint32_t num, uint32_t total)
{
    struct drv_vq q;
    static struct thr t;
    uint32_t maxel = 4;

    drv_alloc_reset(&G);
    CHECK(drv_vq_init(&q, &G, (uint16_t)num, feat) == 0);
    memset(&t, 0, sizeof(t));
    CHECK(pthread_mutex_init(&t.lock, NULL) == 0);
    CHECK(pthread_cond_init(&t.cond, NULL) == 0);
    dev_init(&t.d, &q, &G, feat, maxel);
    t.c.el = tel;
    struct rec *recs = calloc(num, sizeof(*recs));
    t.byid = calloc(num, sizeof(*t.byid));
    uint64_t *gpas = calloc((size_t)num * maxel, sizeof(*gpas));
    uint32_t *lens = calloc((size_t)num * maxel, sizeof(*lens));
    CHECK(recs && t.byid && gpas && lens);
    uint64_t data = drv_alloc(&G, (uint64_t)num * maxel * ELSZ, 64);
    struct rec *free_recs = NULL;
    for (uint32_t i = num; i-- > 0;) {
        recs[i].gpa = gpas + (size_t)i * maxel;
        recs[i].len = lens + (size_t)i * maxel;
        for (uint32_t k = 0; k < maxel; k++)
            recs[i].gpa[k] = data + ((uint64_t)i * maxel + k) * ELSZ;
        recs[i].next_free = free_recs;
        free_recs = &recs[i];
    }
    pthread_t th;
    CHECK(pthread_create(&th, NULL, dev_thread, &t) == 0);
    uint64_t seq = 0, done = 0, kicks = 0;
    while (done < total) {
        unsigned used_seen = thr_gen(&t, &t.used_gen, NULL);
        uint64_t added = 0, reaped = 0;
        while (seq < total && free_recs) {
            uint32_t nel = 1 + rnd_below(maxel);
            uint32_t nout = rnd_below(nel + 1);
            int mode =
                (feat & DRV_F_INDIRECT) && rnd_below(2) ? DRV_ADD_INDIRECT : 0;
            struct rec *r = free_recs;
            int id = add_rec(&q, r, seq, nout, nel - nout, mode);
            if (id == DRV_ENOSPC)
                break;
            CHECK(id >= 0);
            free_recs = r->next_free;
            t.byid[id] = r;
            seq++;
            added++;
            if (rnd_below(3) == 0)
                break;
        }
        drv_vq_publish(&q);
        if (added)
            thr_bump(&t, &t.avail_gen);
        int k = drv_vq_kick_needed(&q);
        CHECK(k == 0 || k == 1);
        kicks += (uint64_t)k;
        struct drv_used u;
        int r;
        while ((r = drv_vq_get_used_ex(&q, &u)) == 1) {
            drv_check_used(&u, t.byid);
            struct rec *rc = u.cookie;
            t.byid[u.id] = NULL;
            rc->next_free = free_recs;
            free_recs = rc;
            done++;
            reaped++;
        }
        CHECK(r == 0);
        if (!added && !reaped)
            thr_wait(&t, &t.used_gen, used_seen);
    }
    CHECK(pthread_mutex_lock(&t.lock) == 0);
    t.stop = 1;
    CHECK(pthread_cond_broadcast(&t.cond) == 0);
    CHECK(pthread_mutex_unlock(&t.lock) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_cond_destroy(&t.cond) == 0);
    CHECK(pthread_mutex_destroy(&t.lock) == 0);
    CHECK(drv_vq_num_free(&q) == num);
    printf("threaded %s%s num %u: %llu bufs, %llu kicks\n",
           (feat & DRV_F_PACKED) ? "packed" : "split",
           (feat & DRV_F_INDIRECT) ? "+indirect" : "", num,
           (unsigned long long)done, (unsigned long long)kicks);
    drv_vq_fini(&q);
    free(recs);
    free(t.byid);
    free(gpas);
    free(lens);
}

int main(int argc, char **argv)
{
    uint64_t V = DRV_F_VERSION_1, P = DRV_F_PACKED, I = DRV_F_INDIRECT,
             E = DRV_F_EVENT_IDX, O = DRV_F_IN_ORDER;
    if (argc > 1)
        rng_state = strtoull(argv[1], NULL, 0) | 1;
    setvbuf(stdout, NULL, _IONBF, 0);

    test_mem();
    guest_default(128ull << 20);
    test_split_layout();
    test_packed_layout();
    test_kick_split();
    test_kick_packed();
    test_irq_oracle();
    test_init_at();
    test_misbehave_split();
    test_misbehave_packed();
    test_long_run(V, 1, 70000);
    test_long_run(V, 2, 70000);
    test_long_run(V | P, 1, 70000);
    test_long_run(V | P, 3, 70000);
    printf("long runs (16-bit wrap, packed laps): ok\n");

    for (int packed = 0; packed < 2; packed++) {
        uint64_t B = V | (packed ? P : 0);
        const char *fmt = packed ? "packed" : "split";
        char nm[64];
        struct traffic ts[] = {
            {"1-desc", B, 256, 1, 1, 0, 0, 0, 2000},
            {"3-desc", B, 256, 3, 3, 0, 0, 0, 2000},
            {"64-desc", B, 256, 64, 64, 0, 0, 0, 1000},
            {"64-desc indirect", B | I, 256, 64, 64, 100, 0, 0, 2000},
            {"indirect mixed ooo", B | I, 256, 1, 64, 50, 40, 1, 3000},
            {"event_idx ooo", B | E, 256, 1, 4, 0, 0, 1, 3000},
            {"event_idx indirect", B | E | I, 256, 1, 8, 30, 30, 0, 3000},
            {"in_order", B | O, 256, 1, 4, 0, 0, 0, 3000},
            {"in_order 64-desc", B | O, 256, 64, 64, 0, 0, 0, 1000},
            {"in_order+event_idx+indirect", B | O | E | I, 256, 1, 16, 40, 30,
             0, 4000},
            {"size 1", B, 1, 1, 1, 0, 0, 0, 50},
            {"size 1 eidx+in_order+ind", B | E | O | I, 1, 1, 1, 50, 0, 0, 50},
            {"size 2", B | E, 2, 1, 2, 0, 0, 1, 100},
            {"size 2 in_order+ind", B | O | I, 2, 1, 2, 50, 50, 0, 100},
            {"size 32768 eidx ooo", B | E | I, 32768, 1, 3, 20, 0, 1,
             3 * 32768 + 7},
            {"size 32768 in_order", B | O | E, 32768, 1, 2, 0, 0, 0,
             3 * 32768 + 7},
        };
        for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
            snprintf(nm, sizeof(nm), "%s %s", fmt, ts[i].name);
            ts[i].name = nm;
            run_traffic(&ts[i]);
        }
    }
    /* packed sizes need not be powers of two */
    struct traffic odd[] = {
        {"packed size 3", V | P | E, 3, 1, 3, 0, 0, 1, 300},
        {"packed size 5 in_order", V | P | O | I, 5, 1, 5, 30, 0, 0, 300},
        {"packed size 255 eidx ind", V | P | E | I, 255, 1, 8, 30, 0, 1, 2000},
        {"packed size 32767 in_order", V | P | O | E, 32767, 1, 2, 0, 0, 0,
         3 * 32767 + 5},
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
        run_traffic(&odd[i]);

    test_threaded(V, 64, 200000);
    test_threaded(V | I | E, 64, 200000);
    test_threaded(V | P, 64, 200000);
    test_threaded(V | P | I | E, 63, 200000);

    drv_guest_fini(&G);
    printf("all ok\n");
    return 0;
}
