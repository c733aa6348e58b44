/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest suite (DESIGN.md "The guest is hostile"): one test per class
 * of guest protocol violation, on the split and the packed ring where the
 * class applies, then the same violations through the device core.
 *
 * What every violation test asserts:
 *  - the call that meets the bad chain returns VDM_EPROTO, the fault hook
 *    ran exactly once with the documented err (VDM_EFAULT for memory,
 *    VDM_EPROTO otherwise) and the queue index;
 *  - every later call returns VDM_EBROKEN and does not call the hook again;
 *  - the used side (split: the used ring; packed: the descriptor ring and
 *    the device event suppression area) is byte-for-byte unchanged;
 *  - nothing outside guest memory was touched: every region is its own
 *    mapping with PROT_NONE guard pages on both sides, regions are
 *    separated by holes, and hostile buffers and tables are placed flush
 *    against region ends (a stray access kills the forked test);
 *  - after vdm_vq_reset()/vdm_vq_init() the queue works again.
 *
 * Guest memory of the ring tests:
 *   R0  [0x10000, 0x110000)        rings and ordinary buffers
 *   R1  [0x200000, 0x210000)       adjacent in guest space to R2 but a
 *   R2  [0x210000, 0x220000)       separate host mapping (legal straddle)
 *   R3  [2^64 - 0x20000, 2^64 - 0x10000)   near the top (wrap-around)
 *   BIG [4 GiB, 5 GiB)             only in the chain-length tests, and
 *                                  PROT_NONE there: pop must not access it
 * and holes everywhere else.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devharness.h"
#include "profile.h"
#include "guestmem.h"
#include "vdm/device.h"
#include "vdm/virtqueue.h"

#define QN 16u /* queue size of the ring tests */

#define R0_GPA   0x10000ull
#define R0_SIZE  0x100000ull
#define R0_END   (R0_GPA + R0_SIZE)
#define HOLE     0x180000ull /* between R0 and R1 */
#define R1_GPA   0x200000ull
#define R1_SIZE  0x10000ull
#define R2_GPA   0x210000ull
#define R2_SIZE  0x10000ull
#define R2_END   (R2_GPA + R2_SIZE)
#define R3_GPA   0xFFFFFFFFFFFE0000ull
#define R3_SIZE  0x10000ull
#define R3_END   (R3_GPA + R3_SIZE)
#define BIG_GPA  0x100000000ull
#define BIG_SIZE 0x40000000ull /* 1 GiB */
#define GIB      0x40000000u

#define QIDX 3 /* vqenv_init_vq's queue index */

/* ------------------------------------------------------------------------ */
/* Environment                                                              */
/* ------------------------------------------------------------------------ */

static int is_packed(const struct vqenv *e)
{
    return (e->features & VDM_F_RING_PACKED) != 0;
}

/* @p big adds the BIG region, made PROT_NONE. */
static struct vqenv *hx_new(int packed, uint64_t features, int big)
{
    const uint64_t gpas[5] = {R0_GPA, R1_GPA, R2_GPA, R3_GPA, BIG_GPA};
    const uint64_t sizes[5] = {R0_SIZE, R1_SIZE, R2_SIZE, R3_SIZE, BIG_SIZE};
    struct vqenv *e = calloc(1, sizeof(*e));

    ck_assert_ptr_nonnull(e);
    gm_init(&e->gm, gpas, sizes, big ? 5u : 4u);
    if (big) {
        /* a region that exists for vdm but whose bytes may not be touched */
        ck_assert_int_eq(mprotect(e->gm.g.regions[4].hva, BIG_SIZE, PROT_NONE),
                         0);
    }
    e->features = features | VDM_F_VERSION_1 | (packed ? VDM_F_RING_PACKED : 0);
    ut_need(e->features, "hostile env");
    e->num = QN;
    ck_assert_int_eq(drv_vq_init(&e->dq, &e->gm.g, QN, e->features), 0);
    e->slots = calloc(VDM_VQ_SLOTS(QN), sizeof(uint32_t));
    ck_assert_ptr_nonnull(e->slots);
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    vqenv_chain(e, 1024);
    return e;
}

/* An ordinary buffer in R0. */
static uint64_t buf(struct vqenv *e, uint32_t len)
{
    return drv_alloc_in(&e->gm.g, 0, len, 16);
}

/* ------------------------------------------------------------------------ */
/* Raw ring writers                                                         */
/* ------------------------------------------------------------------------ */

/* One descriptor as the guest writes it; x is the split next index or the
 * packed buffer id. Flags hold NEXT/WRITE/INDIRECT only: the packed
 * AVAIL/USED bits are added by the writers. */
struct rd {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t x;
};

#define R   0u
#define W   DRV_DESC_F_WRITE
#define NX  DRV_DESC_F_NEXT
#define IND DRV_DESC_F_INDIRECT

/* Where the guest writes next (a raw write does not move the simulator). */
struct cur {
    struct drv_vq *q;
    uint16_t aidx; /* split: avail idx to publish next */
    uint16_t pos;  /* packed: next ring slot */
    uint8_t wrap;  /* packed: its wrap counter */
};

static void cur_init(struct cur *c, struct drv_vq *q)
{
    uint16_t v = drv_vq_avail_idx(q);

    memset(c, 0, sizeof(*c));
    c->q = q;
    if (q->packed) {
        c->pos = v & 0x7fffu;
        c->wrap = (uint8_t)(v >> 15);
    } else {
        c->aidx = v;
    }
}

static uint16_t pk_avail_bits(uint8_t wrap)
{
    return wrap ? (uint16_t)DRV_DESC_F_AVAIL : (uint16_t)DRV_DESC_F_USED;
}

/* Packed: write d[0..n) at the cursor, the first descriptor last. */
static void packed_put(struct cur *c, const struct rd *d, unsigned n, int link)
{
    uint16_t num = (uint16_t)drv_vq_num(c->q);

    for (unsigned i = n; i-- > 0;) {
        uint32_t p = c->pos + i;
        uint8_t w = c->wrap;
        uint16_t fl = d[i].flags;

        while (p >= num) {
            p -= num;
            w ^= 1u;
        }
        if (link && i + 1 < n)
            fl |= NX;
        drv_vq_raw_desc(c->q, (uint16_t)p, d[i].addr, d[i].len,
                        (uint16_t)(fl | pk_avail_bits(w)),
                        link ? d[n - 1].x : d[i].x);
    }
    for (unsigned i = 0; i < n; i++) {
        if (++c->pos == num) {
            c->pos = 0;
            c->wrap ^= 1u;
        }
    }
}

/* Split: d[0..n) at table slots ts.., head ts into the next avail slot,
 * avail idx published. */
static void split_put(struct cur *c, const struct rd *d, unsigned n,
                      uint16_t ts, int link)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t fl = d[i].flags;

        if (link && i + 1 < n)
            fl |= NX;
        drv_vq_raw_desc(c->q, (uint16_t)(ts + i), d[i].addr, d[i].len, fl,
                        link ? (uint16_t)(ts + i + 1) : d[i].x);
    }
    drv_vq_raw_avail(c->q, c->aidx, ts);
    c->aidx++;
    drv_vq_raw_avail_idx(c->q, c->aidx);
}

/* A linear chain: NEXT on all but the last element (split: next = the
 * following table slot; packed: the buffer id d[n-1].x in every
 * descriptor). */
static void post(struct cur *c, const struct rd *d, unsigned n)
{
    if (c->q->packed)
        packed_put(c, d, n, 1);
    else
        split_put(c, d, n, 0, 1);
}

/* Descriptors exactly as given (flags and x verbatim). */
static void post_raw(struct cur *c, const struct rd *d, unsigned n)
{
    if (c->q->packed)
        packed_put(c, d, n, 0);
    else
        split_put(c, d, n, 0, 0);
}

/* Write entry i of an indirect table at @p tgpa in the ring's format (byte
 * by byte: the entry may cross from one region into the next). */
static void tbl_put(struct vqenv *e, uint64_t tgpa, unsigned i, uint64_t addr,
                    uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t ent[16];

    drv_put_le64(ent, addr);
    drv_put_le32(ent + 8, len);
    if (is_packed(e)) {
        drv_put_le16(ent + 12, 0);
        drv_put_le16(ent + 14, flags);
    } else {
        drv_put_le16(ent + 12, flags);
        drv_put_le16(ent + 14, next);
    }
    for (unsigned k = 0; k < 16; k++)
        *(uint8_t *)gm_ptr(&e->gm, tgpa + 16u * i + k, 1) = ent[k];
}

/* A linear indirect table of n entries from d (NEXT links for split). */
static void tbl_linear(struct vqenv *e, uint64_t tgpa, const struct rd *d,
                       unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t fl = d[i].flags;

        if (!is_packed(e) && i + 1 < n)
            fl |= NX;
        tbl_put(e, tgpa, i, d[i].addr, d[i].len, fl, (uint16_t)(i + 1));
    }
}

/* ------------------------------------------------------------------------ */
/* Assertions                                                               */
/* ------------------------------------------------------------------------ */

#define SNAP_MAX (16u * QN + 64u)

/* The bytes the device writes when it uses a buffer. */
static size_t snap(struct vqenv *e, uint8_t *out)
{
    if (is_packed(e)) {
        memcpy(out, drv_vq_desc_hva(&e->dq), 16u * QN);
        memcpy(out + 16u * QN, drv_vq_used_hva(&e->dq), 4);
        return 16u * QN + 4;
    }
    memcpy(out, drv_vq_used_hva(&e->dq), DRV_SPLIT_USED_SIZE(QN));
    return DRV_SPLIT_USED_SIZE(QN);
}

/* Both sides back to a fresh queue on the same rings. */
static void hx_reset(struct vqenv *e)
{
    vdm_vq_reset(&e->vq);
    drv_vq_reset(&e->dq);
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    memset(&e->fault, 0, sizeof(e->fault));
}

/* After a reset the queue carries ordinary traffic again (twice round). */
static void hx_recovers(struct vqenv *e)
{
    struct xfer x;

    hx_reset(e);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 0);
    xf_layout(e, &x, 2, 1, 24, DRV_ADD_DIRECT);
    for (uint32_t i = 0; i < 2 * QN; i++)
        xf_roundtrip(e, &x, i, x.wtotal - (i % 3));
    ck_assert_uint_eq(e->fault.count, 0);
    hx_reset(e);
}

#define VIA_POP       0
#define VIA_HAS_AVAIL 1

/*
 * The chain now published is a violation: the first call (pop or
 * has_avail) reports it, with @p err to the hook and @p why_part in its
 * reason; then the queue is broken for good, the hook is not called again,
 * and nothing was written to the used side. Ends with the queue recovered
 * and reset.
 */
static void expect_violation_via(struct vqenv *e, int via, int err,
                                 const char *why_part)
{
    static uint8_t before[SNAP_MAX], after[SNAP_MAX];
    struct vdm_used u = {0, 0};
    size_t n;

    n = snap(e, before);
    vqenv_chain(e, 1024);
    if (via == VIA_POP)
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    else
        ck_assert_int_eq(vdm_vq_has_avail(&e->vq), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    ck_assert_int_eq(e->fault.err, err);
    ck_assert_uint_eq(e->fault.qidx, QIDX);
#if VDM_CONFIG_LOG_TEXT
    ck_assert_ptr_nonnull(e->fault.why);
    if (why_part != NULL && strcasestr(e->fault.why, why_part) == NULL)
        ck_abort_msg("fault reason \"%s\" does not mention \"%s\"",
                     e->fault.why, why_part);
#else
    (void)why_part; /* no texts in this build: no reason given */
    ck_assert_ptr_null(e->fault.why);
#endif
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 1);

    /* broken until reset, and the hook stays quiet */
    vqenv_chain(e, 1024);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_has_avail(&e->vq), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), VDM_EBROKEN);
    for (uint16_t id = 0; id < QN; id++)
        ck_assert_int_eq(vdm_vq_push(&e->vq, id, 0), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_push_batch(&e->vq, &u, 1, 0), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_should_notify(&e->vq), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 0), VDM_EBROKEN);
    ck_assert_uint_eq(e->fault.count, 1);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 1);

    /* the bad chain (and anything in flight) was not used */
    ck_assert_uint_eq(snap(e, after), n);
    ck_assert(memcmp(before, after, n) == 0);

    hx_recovers(e);
}

static void expect_violation(struct vqenv *e, int err, const char *why_part)
{
    expect_violation_via(e, VIA_POP, err, why_part);
}

/* Post d[0..n) as a linear chain on a fresh queue and expect a violation. */
static void bad_chain(struct vqenv *e, const struct rd *d, unsigned n, int err,
                      const char *why_part)
{
    struct cur c;

    cur_init(&c, &e->dq);
    post(&c, d, n);
    expect_violation(e, err, why_part);
}

/* Post d[0..n) as a linear chain and expect it accepted; push it back with
 * nothing written. Returns with the queue reset. */
static void good_chain(struct vqenv *e, const struct rd *d, unsigned n,
                       uint32_t nread, uint32_t nwrite)
{
    struct cur c;

    cur_init(&c, &e->dq);
    post(&c, d, n);
    vqenv_chain(e, 1024);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.nread, nread);
    ck_assert_uint_eq(e->c.nwrite, nwrite);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    ck_assert_uint_eq(e->fault.count, 0);
    hx_reset(e);
}

/* One INDIRECT ring descriptor pointing at a table. */
static void bad_indirect(struct vqenv *e, uint64_t tgpa, uint32_t tlen, int err,
                         const char *why_part)
{
    struct rd d[1] = {{tgpa, tlen, IND, 0}};

    bad_chain(e, d, 1, err, why_part);
}

/* ------------------------------------------------------------------------ */
/* Descriptor loops and over-long chains                                    */
/* ------------------------------------------------------------------------ */

START_TEST(hostile_descriptor_loop_split)
{
    struct vqenv *e = hx_new(0, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    struct cur c;

    /* 0 -> 1 -> 0 */
    {
        struct rd d[2] = {{b, 16, R | NX, 1}, {b + 16, 16, R | NX, 0}};
        cur_init(&c, &e->dq);
        post_raw(&c, d, 2);
        expect_violation(e, VDM_EPROTO, "loop");
    }
    /* 0 -> 0 */
    {
        struct rd d[1] = {{b, 16, R | NX, 0}};
        cur_init(&c, &e->dq);
        post_raw(&c, d, 1);
        expect_violation(e, VDM_EPROTO, "loop");
    }
    /* 0 -> 1 -> 2 -> 1, writable tail */
    {
        struct rd d[3] = {{b, 16, R | NX, 1},
                          {b + 16, 16, W | NX, 2},
                          {b + 32, 16, W | NX, 1}};
        cur_init(&c, &e->dq);
        post_raw(&c, d, 3);
        expect_violation(e, VDM_EPROTO, "loop");
    }
    /* a loop inside an indirect table: entry 0 -> 1 -> 0 */
    tbl_put(e, t, 0, b, 16, R | NX, 1);
    tbl_put(e, t, 1, b + 16, 16, R | NX, 0);
    bad_indirect(e, t, 32, VDM_EPROTO, "table");
    /* an indirect entry looping onto itself */
    tbl_put(e, t, 0, b, 16, R | NX, 0);
    bad_indirect(e, t, 16, VDM_EPROTO, "table");
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_descriptor_loop_packed)
{
    /* A packed ring has no links: the loop is a list whose NEXT flags never
     * stop, running all the way round the ring. */
    struct vqenv *e = hx_new(1, 0, 0);
    uint64_t b = buf(e, 16 * QN);
    struct rd d[QN];
    struct cur c;

    for (unsigned i = 0; i < QN; i++)
        d[i] = (struct rd){b + 16 * i, 16, R | NX, 0};
    cur_init(&c, &e->dq);
    post_raw(&c, d, QN);
    expect_violation(e, VDM_EPROTO, "queue size");
    vqenv_free(e);
}
END_TEST

static void chain_longer(int packed)
{
    struct vqenv *e = hx_new(packed, 0, 0);
    uint64_t b = buf(e, 16 * QN);
    struct rd d[QN];
    struct cur c;

    for (unsigned i = 0; i < QN; i++)
        d[i] = (struct rd){b + 16 * i, 16, i < QN / 2 ? R : W, 0};
    /* exactly the queue size is fine */
    good_chain(e, d, QN, QN / 2, QN / 2);
    /* one more is not: split 0 -> 1 -> ... -> QN-1 -> 0 (every descriptor
     * visited, then the first again); packed NEXT on every slot */
    for (unsigned i = 0; i < QN; i++) {
        d[i].flags = R | NX; /* all readable: only the length is wrong */
        d[i].x = (uint16_t)((i + 1) % QN);
    }
    cur_init(&c, &e->dq);
    post_raw(&c, d, QN);
    expect_violation(e, VDM_EPROTO, "queue size");
    vqenv_free(e);
}

START_TEST(hostile_chain_longer_than_queue_split)
{
    chain_longer(0);
}
END_TEST

START_TEST(hostile_chain_longer_than_queue_packed)
{
    chain_longer(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Indirect descriptors                                                     */
/* ------------------------------------------------------------------------ */

static void indirect_in_indirect(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t1 = buf(e, 64), t2 = buf(e, 64);
    struct rd inner[1] = {{b + 32, 16, W, 0}};
    struct rd outer[2] = {{b, 16, R, 0}, {t2, 16, IND, 0}};

    tbl_linear(e, t2, inner, 1);
    tbl_linear(e, t1, outer, 2);
    bad_indirect(e, t1, 32, VDM_EPROTO, "inside an indirect");
    /* nested table as the first entry */
    tbl_put(e, t1, 0, t2, 16, IND, 0);
    bad_indirect(e, t1, 16, VDM_EPROTO, "inside an indirect");
    vqenv_free(e);
}

START_TEST(hostile_indirect_in_indirect_split)
{
    indirect_in_indirect(0);
}
END_TEST

START_TEST(hostile_indirect_in_indirect_packed)
{
    indirect_in_indirect(1);
}
END_TEST

static void indirect_bad_len(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    uint64_t huge = drv_alloc_in(&e->gm.g, 0, 32768u * 16u + 16u, 16);
    static const uint32_t lens[] = {1, 8, 15, 17, 24, 40};
    struct rd ent[2] = {{b, 16, R, 0}, {b + 16, 16, W, 0}};

    tbl_linear(e, t, ent, 2);
    /* control: the same table with a proper length */
    {
        struct rd d[1] = {{t, 32, IND, 0}};
        good_chain(e, d, 1, 1, 1);
    }
    /* length 0, even at an address no region covers */
    bad_indirect(e, t, 0, VDM_EPROTO, "indirect table length");
    bad_indirect(e, HOLE, 0, VDM_EPROTO, "indirect table length");
    /* not a multiple of 16; the table is flush against the end of R0, so
     * rounding the length up would read the guard page */
    for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint64_t at = R0_END - lens[i];

        memset(gm_ptr(&e->gm, at, lens[i]), 0, lens[i]);
        bad_indirect(e, at, lens[i], VDM_EPROTO, "indirect table length");
    }
    /* more than 32768 entries, all in guest memory */
    bad_indirect(e, huge, 32768u * 16u + 16u, VDM_EPROTO,
                 "indirect table length");
    vqenv_free(e);
}

START_TEST(hostile_indirect_bad_length_split)
{
    indirect_bad_len(0);
}
END_TEST

START_TEST(hostile_indirect_bad_length_packed)
{
    indirect_bad_len(1);
}
END_TEST

static void indirect_not_negotiated(int packed)
{
    struct vqenv *e = hx_new(packed, 0, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    struct rd ent[2] = {{b, 16, R, 0}, {b + 16, 16, W, 0}};
    struct rd d[2] = {{b + 32, 16, R, 0}, {t, 32, IND, 0}};

    tbl_linear(e, t, ent, 2);
    bad_indirect(e, t, 32, VDM_EPROTO, "INDIRECT_DESC");
    if (!packed) {
        /* direct descriptors followed by an indirect one */
        bad_chain(e, d, 2, VDM_EPROTO, "INDIRECT_DESC");
    }
    vqenv_free(e);
}

START_TEST(hostile_indirect_not_negotiated_split)
{
    indirect_not_negotiated(0);
}
END_TEST

START_TEST(hostile_indirect_not_negotiated_packed)
{
    indirect_not_negotiated(1);
}
END_TEST

START_TEST(hostile_indirect_with_next_split)
{
    struct vqenv *e = hx_new(0, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    struct rd ent[1] = {{b, 16, R, 0}};
    struct rd d[2] = {{t, 16, IND | NX, 1}, {b + 16, 16, W, 0}};
    struct cur c;

    tbl_linear(e, t, ent, 1);
    cur_init(&c, &e->dq);
    post_raw(&c, d, 2);
    expect_violation(e, VDM_EPROTO, "NEXT");
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_indirect_in_list_packed)
{
    struct vqenv *e = hx_new(1, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    struct rd ent[1] = {{b, 16, W, 0}};

    tbl_linear(e, t, ent, 1);
    /* a direct descriptor, then an indirect one */
    {
        struct rd d[2] = {{b + 16, 16, R, 1}, {t, 16, IND, 1}};
        bad_chain(e, d, 2, VDM_EPROTO, "NEXT");
    }
    /* an indirect descriptor with NEXT set */
    {
        struct rd d[2] = {{t, 16, IND, 1}, {b + 16, 16, W, 1}};
        bad_chain(e, d, 2, VDM_EPROTO, "NEXT");
    }
    vqenv_free(e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Buffers and tables outside guest memory                                  */
/* ------------------------------------------------------------------------ */

/* A one-element chain {addr, len} readable and writable, direct, as the
 * second element behind a good one, and as an indirect table entry; and a
 * table at {addr, tlen}: each must fault with VDM_EFAULT. */
static void bad_range(struct vqenv *e, uint64_t addr, uint32_t len,
                      uint32_t tlen)
{
    uint64_t b = buf(e, 64), t = buf(e, 64);

    {
        struct rd d[1] = {{addr, len, R, 0}};
        bad_chain(e, d, 1, VDM_EFAULT, "outside");
    }
    {
        struct rd d[1] = {{addr, len, W, 0}};
        bad_chain(e, d, 1, VDM_EFAULT, "outside");
    }
    /* behind good elements (only while the total stays below 2^32, so
     * that it is the range that is wrong) */
    if (len > UINT32_MAX - 64)
        return;
    {
        struct rd d[3] = {{b, 16, R, 0}, {b + 16, 16, W, 0}, {addr, len, W, 0}};
        bad_chain(e, d, 3, VDM_EFAULT, "outside");
    }
    if (!(e->features & VDM_F_INDIRECT_DESC))
        return;
    {
        struct rd ent[2] = {{b, 16, R, 0}, {addr, len, R, 0}};

        tbl_linear(e, t, ent, 2);
        bad_indirect(e, t, 32, VDM_EFAULT, "outside");
    }
    if (tlen != 0)
        bad_indirect(e, addr, tlen, VDM_EFAULT, "outside");
}

static void address_overflow(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);

    /* the last bytes of the address space and a little more */
    bad_range(e, UINT64_MAX, 2, 0);
    bad_range(e, UINT64_MAX - 15, 32, 32);
    /* start inside R3, wrap past 2^64 and end inside R0: a check of the
     * form "gpa >= start && gpa + len <= end" would accept it */
    bad_range(e, R3_GPA, 0x30010, 0x30010);
    bad_range(e, R3_END - 16, 0x20020, 0x20020);
    /* start in the hole above R3, wrap to inside R0 */
    bad_range(e, 0xFFFFFFFFFFFFF000ull, 0x20000, 0x20000);
    /* the largest len a descriptor can carry */
    bad_range(e, R3_GPA, UINT32_MAX, 0);
    vqenv_free(e);
}

START_TEST(hostile_address_overflow_split)
{
    address_overflow(0);
}
END_TEST

START_TEST(hostile_address_overflow_packed)
{
    address_overflow(1);
}
END_TEST

static void outside_regions(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);

    bad_range(e, HOLE, 64, 64);                /* between R0 and R1 */
    bad_range(e, 0, 16, 16);                   /* below R0 */
    bad_range(e, R0_GPA - 16, 16, 16);         /* just below R0 */
    bad_range(e, R0_END, 16, 16);              /* just above R0 */
    bad_range(e, R2_END, 1, 0);                /* just above R2 */
    bad_range(e, 0x8000000000ull, 4096, 4096); /* far away */
    bad_range(e, R3_END, 16, 16);              /* above R3 */
    bad_range(e, BIG_GPA, 16, 16); /* BIG is not mapped in these tests */
    vqenv_free(e);
}

START_TEST(hostile_outside_regions_split)
{
    outside_regions(0);
}
END_TEST

START_TEST(hostile_outside_regions_packed)
{
    outside_regions(1);
}
END_TEST

static void straddle_hole(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 128), tb = R2_GPA - 16;

    /* control: R1 -> R2 are adjacent in guest space, so a buffer and a
     * table crossing from one to the other are fine (two spans; the table
     * is read entry by entry) */
    {
        struct rd d[2] = {{R2_GPA - 8, 16, R, 0}, {R2_GPA - 40, 64, W, 0}};
        good_chain(e, d, 2, 2, 2);
    }
    {
        struct rd ent[2] = {{b, 16, R, 0}, {R2_GPA + 64, 8, W, 0}};
        struct rd d[1] = {{tb, 32, IND, 0}};

        tbl_linear(e, tb, ent, 2);
        good_chain(e, d, 1, 1, 1);
        /* no alignment is required of an indirect table: one whose first
         * entry itself crosses into R2, and one at an odd address */
        d[0].addr = R2_GPA - 8;
        tbl_linear(e, d[0].addr, ent, 2);
        good_chain(e, d, 1, 1, 1);
        d[0].addr = b + 33;
        tbl_linear(e, d[0].addr, ent, 2);
        good_chain(e, d, 1, 1, 1);
    }
    /* one byte into the hole, from each region end */
    bad_range(e, R0_END - 8, 9, 0);
    bad_range(e, R0_END - 4096, 4097, 0);
    bad_range(e, R2_END - 1, 2, 0);
    bad_range(e, R1_GPA - 1, 2, 0); /* from the hole into R1 */
    bad_range(e, R3_END - 8, 16, 0);
    /* from R1 across R2 into the hole behind it */
    bad_range(e, R2_GPA - 16, (uint32_t)R2_SIZE + 32, 0);
    /* tables flush against a region end whose second entry is in the
     * hole: reading it would hit the guard page */
    {
        uint64_t t = R0_END - 16;

        tbl_put(e, t, 0, b, 16, is_packed(e) ? R : (R | NX), 1);
        bad_indirect(e, t, 32, VDM_EFAULT, "outside");
        t = R2_END - 16;
        tbl_put(e, t, 0, b, 16, is_packed(e) ? R : (R | NX), 1);
        bad_indirect(e, t, 32, VDM_EFAULT, "outside");
        bad_indirect(e, R2_GPA - 32, (uint32_t)R2_SIZE + 48, VDM_EFAULT,
                     "outside");
    }
    vqenv_free(e);
}

START_TEST(hostile_straddle_hole_split)
{
    straddle_hole(0);
}
END_TEST

START_TEST(hostile_straddle_hole_packed)
{
    straddle_hole(1);
}
END_TEST

/*
 * The pops cache a second region for chains spread over two
 * (vdm_mem_cache_hit2(), vdm_mem_miss()), kept across pops by its index:
 * once it is primed, spans still point where each descriptor says, and a
 * buffer that starts in either cached region and leaves it is refused.
 */
static void second_region(int packed)
{
    struct vqenv *e = hx_new(packed, 0, 0);
    uint64_t b = buf(e, 64);
    const uint64_t want[3] = {b, R1_GPA + 64, b + 16};
    struct rd g[3] = {
        {want[0], 16, R, 1}, {want[1], 16, R, 1}, {want[2], 16, W, 1}};
    struct cur c;

    cur_init(&c, &e->dq);
    /* twice: the second pop starts from the region the first ended in */
    for (int k = 0; k < 2; k++) {
        post(&c, g, 3);
        vqenv_chain(e, 1024);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_uint_eq(e->c.nread, 2);
        ck_assert_uint_eq(e->c.nwrite, 1);
        for (unsigned i = 0; i < 3; i++)
            ck_assert_uint_eq(drv_hva_to_gpa(&e->gm.g, e->c.iov[i].base),
                              want[i]);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    }
    /* R1, R0, then from R0 one byte past its end */
    {
        struct rd d[3] = {
            {R1_GPA + 64, 16, R, 2}, {b, 16, R, 2}, {R0_END - 8, 9, W, 2}};

        post(&c, d, 3);
        expect_violation(e, VDM_EFAULT, "outside");
    }
    /* primed again (R1 cached, R0 second), then a buffer from R1 into the
     * adjacent R2: two spans, not one through either cached region */
    cur_init(&c, &e->dq);
    post(&c, g, 3);
    vqenv_chain(e, 1024);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    {
        struct rd d[3] = {
            {b, 16, R, 3}, {R1_GPA + 64, 16, R, 3}, {R2_GPA - 8, 16, W, 3}};

        post(&c, d, 3);
        vqenv_chain(e, 1024);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_uint_eq(e->c.nread, 2);
        ck_assert_uint_eq(e->c.nwrite, 2);
        ck_assert_uint_eq(drv_hva_to_gpa(&e->gm.g, e->c.iov[0].base), b);
        ck_assert_uint_eq(drv_hva_to_gpa(&e->gm.g, e->c.iov[2].base),
                          R2_GPA - 8);
        ck_assert_uint_eq(e->c.iov[2].len, 8);
        ck_assert_uint_eq(drv_hva_to_gpa(&e->gm.g, e->c.iov[3].base), R2_GPA);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
        ck_assert_uint_eq(e->fault.count, 0);
    }
    vqenv_free(e);
}

START_TEST(hostile_second_region_split)
{
    second_region(0);
}
END_TEST

START_TEST(hostile_second_region_packed)
{
    second_region(1);
}
END_TEST

static void write_rdonly(int packed)
{
    /* R1 becomes read-only for the device: buffers there may be read, and
     * a device-writable one is a fault */
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);

    e->gm.regs[1].flags = VDM_MEM_REGION_RDONLY;
    {
        struct rd d[2] = {{R1_GPA, 64, R, 0}, {b, 16, W, 0}};
        good_chain(e, d, 2, 1, 1);
    }
    {
        struct rd d[2] = {{b, 16, R, 0}, {R1_GPA, 64, W, 0}};
        bad_chain(e, d, 2, VDM_EFAULT, "read-only");
        /* crossing from read-only R1 into writable R2 */
        d[1] = (struct rd){R2_GPA - 8, 16, W, 0};
        bad_chain(e, d, 2, VDM_EFAULT, "read-only");
        tbl_linear(e, t, d, 2);
        bad_indirect(e, t, 32, VDM_EFAULT, "read-only");
    }
    /* an indirect table in read-only memory is fine: it is only read */
    {
        struct rd ent[2] = {{b, 16, R, 0}, {b + 16, 16, W, 0}};
        struct rd d[1] = {{R1_GPA + 256, 32, IND, 0}};

        tbl_linear(e, R1_GPA + 256, ent, 2);
        good_chain(e, d, 1, 1, 1);
    }
    vqenv_free(e);
}

START_TEST(hostile_write_to_rdonly_split)
{
    write_rdonly(0);
}
END_TEST

START_TEST(hostile_write_to_rdonly_packed)
{
    write_rdonly(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Total chain length                                                       */
/* ------------------------------------------------------------------------ */

static void chain_len_overflow(int packed)
{
    /* BIG is a 1 GiB region vdm may map but whose bytes are PROT_NONE: pop
     * must decide on lengths and addresses alone. */
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 1);
    uint64_t t = buf(e, 16 * 8);

    /* control: 2^32 - 1 bytes in total is accepted */
    {
        struct rd d[4] = {{BIG_GPA, GIB, R, 0},
                          {BIG_GPA, GIB, R, 0},
                          {BIG_GPA, GIB, W, 0},
                          {BIG_GPA + 1, GIB - 1, W, 0}};
        struct cur c;

        cur_init(&c, &e->dq);
        post(&c, d, 4);
        vqenv_chain(e, 1024);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_uint_eq(e->c.read_len, 2u * GIB);
        ck_assert_uint_eq(e->c.write_len, 2u * GIB - 1);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
        hx_reset(e);
    }
    /* exactly 2^32 */
    {
        struct rd d[4] = {{BIG_GPA, GIB, R, 0},
                          {BIG_GPA, GIB, R, 0},
                          {BIG_GPA, GIB, W, 0},
                          {BIG_GPA, GIB, W, 0}};
        bad_chain(e, d, 4, VDM_EPROTO, "2^32");
        /* through an indirect table */
        tbl_linear(e, t, d, 4);
        bad_indirect(e, t, 64, VDM_EPROTO, "2^32");
    }
    /* 2^34 + 2^30: a 32-bit sum would wrap back to 1 GiB */
    {
        struct rd d[QN];

        for (unsigned i = 0; i < QN; i++)
            d[i] = (struct rd){BIG_GPA, GIB, i < 8 ? R : W, 0};
        bad_chain(e, d, QN, VDM_EPROTO, "2^32");
        tbl_linear(e, t, d, 5);
        bad_indirect(e, t, 5 * 16, VDM_EPROTO, "2^32");
    }
    /* the largest descriptor plus one byte */
    {
        struct rd d[2] = {{BIG_GPA, GIB, R, 0}, {BIG_GPA, UINT32_MAX, W, 0}};
        struct vdm_chain *c = &e->c;
        struct cur cu;

        /* UINT32_MAX exceeds BIG itself: either rule may fire, but it must
         * be a violation */
        cur_init(&cu, &e->dq);
        post(&cu, d, 2);
        vqenv_chain(e, 1024);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, c), VDM_EPROTO);
        ck_assert_uint_eq(e->fault.count, 1);
        hx_reset(e);
    }
    vqenv_free(e);
}

START_TEST(hostile_chain_len_overflow_split)
{
    chain_len_overflow(0);
}
END_TEST

START_TEST(hostile_chain_len_overflow_packed)
{
    chain_len_overflow(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Zero-length descriptors (documented: accepted, no span, no access)      */
/* ------------------------------------------------------------------------ */

static void zero_length(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t a = buf(e, 16), b = buf(e, 32), t = buf(e, 64);
    uint8_t *ha = gm_ptr(&e->gm, a, 16), *hb = gm_ptr(&e->gm, b, 32);
    /* zero-length descriptors at addresses whose naive translation is the
     * guard page right after R0, a hole, and the top of the address space */
    struct rd d[6] = {{a, 16, R, 5},         {R0_END, 0, R, 5}, {HOLE, 0, R, 5},
                      {UINT64_MAX, 0, W, 5}, {R2_END, 0, W, 5}, {b, 32, W, 5}};
    struct cur c;

    cur_init(&c, &e->dq);
    post(&c, d, 6);
    vqenv_chain(e, 1024);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.ndesc, 6);
    ck_assert_uint_eq(e->c.nread, 1);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->c.read_len, 16);
    ck_assert_uint_eq(e->c.write_len, 32);
    ck_assert_ptr_eq(e->c.iov[0].base, ha);
    ck_assert_ptr_eq(e->c.iov[1].base, hb);
    ck_assert_uint_eq(e->c.iov[1].len, 32);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 32), 0);
    /* the used entry went out */
    if (packed) {
        uint8_t *u = drv_vq_desc_hva(&e->dq);

        ck_assert_uint_eq(drv_get_le16(u + DRV_PDESC_ID), 5);
        ck_assert_uint_eq(drv_get_le32(u + DRV_PDESC_LEN), 32);
        ck_assert_uint_eq(drv_get_le16(u + DRV_PDESC_FLAGS) &
                              (DRV_DESC_F_AVAIL | DRV_DESC_F_USED),
                          DRV_DESC_F_AVAIL | DRV_DESC_F_USED);
    } else {
        uint8_t *u = drv_vq_used_hva(&e->dq);

        ck_assert_uint_eq(drv_get_le16(u + DRV_SPLIT_USED_IDX), 1);
        ck_assert_uint_eq(drv_get_le32(u + DRV_SPLIT_USED_RING(0)), 0);
        ck_assert_uint_eq(drv_get_le32(u + DRV_SPLIT_USED_RING(0) + 4), 32);
    }
    hx_reset(e);

    /* a chain of nothing but zero-length descriptors */
    {
        struct rd z[2] = {{R0_END, 0, R, 1}, {R3_END, 0, W, 1}};

        good_chain(e, z, 2, 0, 0);
    }
    /* the same inside an indirect table */
    {
        struct rd ent[4] = {{R0_END, 0, R, 0},
                            {a, 16, R, 0},
                            {UINT64_MAX, 0, W, 0},
                            {b, 32, W, 0}};
        struct rd dd[1] = {{t, 64, IND, 2}};

        tbl_linear(e, t, ent, 4);
        good_chain(e, dd, 1, 1, 1);
    }
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}

START_TEST(hostile_zero_length_split)
{
    zero_length(0);
}
END_TEST

START_TEST(hostile_zero_length_packed)
{
    zero_length(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Framing                                                                  */
/* ------------------------------------------------------------------------ */

static void write_before_read(int packed)
{
    struct vqenv *e = hx_new(packed, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    const char *why = "readable descriptor after";

    {
        struct rd d[2] = {{b, 16, W, 0}, {b + 16, 16, R, 0}};
        bad_chain(e, d, 2, VDM_EPROTO, why);
        tbl_linear(e, t, d, 2);
        bad_indirect(e, t, 32, VDM_EPROTO, why);
    }
    {
        struct rd d[3] = {{b, 16, R, 0}, {b + 16, 16, W, 0}, {b + 32, 1, R, 0}};
        bad_chain(e, d, 3, VDM_EPROTO, why);
    }
    /* a zero-length writable descriptor counts for the order too */
    {
        struct rd d[2] = {{HOLE, 0, W, 0}, {b, 16, R, 0}};
        bad_chain(e, d, 2, VDM_EPROTO, why);
    }
    if (!packed) {
        /* direct writable descriptors, then an indirect table that starts
         * readable */
        struct rd ent[1] = {{b + 32, 16, R, 0}};
        struct rd d[2] = {{b, 16, W, 0}, {t, 16, IND, 0}};

        tbl_linear(e, t, ent, 1);
        bad_chain(e, d, 2, VDM_EPROTO, why);
    }
    vqenv_free(e);
}

START_TEST(hostile_write_before_read_split)
{
    write_before_read(0);
}
END_TEST

START_TEST(hostile_write_before_read_packed)
{
    write_before_read(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Split: indexes                                                           */
/* ------------------------------------------------------------------------ */

START_TEST(hostile_next_out_of_range_split)
{
    struct vqenv *e = hx_new(0, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 64);
    static const uint16_t bad[] = {QN, QN + 1, 0x8000, 0xFFFF};
    struct cur c;

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rd d[2] = {{b, 16, R | NX, 1}, {b + 16, 16, W | NX, bad[i]}};

        cur_init(&c, &e->dq);
        post_raw(&c, d, 2);
        expect_violation(e, VDM_EPROTO, "next index");
    }
    /* inside an indirect table of 2 entries: next = 2, and next = QN */
    tbl_put(e, t, 0, b, 16, R | NX, 2);
    tbl_put(e, t, 1, b + 16, 16, W, 0);
    bad_indirect(e, t, 32, VDM_EPROTO, "next index");
    tbl_put(e, t, 0, b, 16, R | NX, 1);
    tbl_put(e, t, 1, b + 16, 16, W | NX, QN);
    bad_indirect(e, t, 32, VDM_EPROTO, "next index");
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_head_out_of_range_split)
{
    struct vqenv *e = hx_new(0, 0, 0);
    uint64_t b = buf(e, 64);
    static const uint16_t bad[] = {QN, QN + 1, 0x8000, 0xFFFF};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        drv_vq_raw_desc(&e->dq, 0, b, 16, R, 0);
        drv_vq_raw_avail(&e->dq, 0, bad[i]);
        drv_vq_raw_avail_idx(&e->dq, 1);
        expect_violation(e, VDM_EPROTO, "head");
    }
    /* after a good chain */
    {
        struct rd d[1] = {{b, 16, R, 0}};
        struct cur c;

        cur_init(&c, &e->dq);
        post(&c, d, 1);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
        drv_vq_raw_avail(&e->dq, c.aidx, QN);
        drv_vq_raw_avail_idx(&e->dq, (uint16_t)(c.aidx + 1));
        expect_violation(e, VDM_EPROTO, "head");
    }
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_head_in_flight_split)
{
    struct vqenv *e = hx_new(0, 0, 0);
    uint64_t b = buf(e, 64);
    struct rd d[2] = {{b, 16, R, 0}, {b + 16, 16, W, 0}};
    struct cur c;

    /* head 0 popped, then offered again before it was used */
    cur_init(&c, &e->dq);
    post(&c, d, 2);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.id, 0);
    drv_vq_raw_avail(&e->dq, c.aidx, 0);
    drv_vq_raw_avail_idx(&e->dq, (uint16_t)(c.aidx + 1));
    expect_violation(e, VDM_EPROTO, "in flight");

    /* twice in the same batch of avail entries */
    cur_init(&c, &e->dq);
    drv_vq_raw_desc(&e->dq, 3, b, 16, R, 0);
    drv_vq_raw_avail(&e->dq, 0, 3);
    drv_vq_raw_avail(&e->dq, 1, 3);
    drv_vq_raw_avail_idx(&e->dq, 2);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.id, 3);
    expect_violation(e, VDM_EPROTO, "in flight");

    /* still in flight after others were pushed */
    drv_vq_raw_desc(&e->dq, 1, b, 16, R, 0);
    drv_vq_raw_desc(&e->dq, 2, b, 16, R, 0);
    drv_vq_raw_avail(&e->dq, 0, 1);
    drv_vq_raw_avail(&e->dq, 1, 2);
    drv_vq_raw_avail(&e->dq, 2, 1);
    drv_vq_raw_avail_idx(&e->dq, 3);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_int_eq(vdm_vq_push(&e->vq, 2, 0), 0);
    expect_violation(e, VDM_EPROTO, "in flight");
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_avail_idx_jump_split)
{
    struct vqenv *e = hx_new(0, 0, 0);
    uint64_t b = buf(e, 16 * QN);

    /* exactly a ring's worth ahead is fine; one more is not */
    for (unsigned i = 0; i < QN; i++) {
        drv_vq_raw_desc(&e->dq, (uint16_t)i, b + 16 * i, 16, R, 0);
        drv_vq_raw_avail(&e->dq, (uint16_t)i, (uint16_t)i);
    }
    drv_vq_raw_avail_idx(&e->dq, QN);
    for (unsigned i = 0; i < QN; i++) {
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    }
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 0);
    drv_vq_raw_avail_idx(&e->dq, 2 * QN + 1);
    expect_violation(e, VDM_EPROTO, "avail idx");

    /* from the start: QN + 1, half the index space, going backwards */
    static const uint16_t bad[] = {QN + 1, 0x8000, 0xFFFF};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        drv_vq_raw_desc(&e->dq, 0, b, 16, R, 0);
        for (unsigned s = 0; s < QN; s++)
            drv_vq_raw_avail(&e->dq, (uint16_t)s, 0);
        drv_vq_raw_avail_idx(&e->dq, bad[i]);
        expect_violation(e, VDM_EPROTO, "avail idx");
        /* the same, found by has_avail */
        drv_vq_raw_avail_idx(&e->dq, bad[i]);
        expect_violation_via(e, VIA_HAS_AVAIL, VDM_EPROTO, "avail idx");
    }
    vqenv_free(e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Packed: buffer ids and availability                                      */
/* ------------------------------------------------------------------------ */

START_TEST(hostile_id_out_of_range_packed)
{
    struct vqenv *e = hx_new(1, VDM_F_INDIRECT_DESC, 0);
    uint64_t b = buf(e, 64), t = buf(e, 32);
    static const uint16_t bad[] = {QN, QN + 1, 0x8000, 0xFFFF};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rd one[1] = {{b, 16, R, bad[i]}};
        /* only the last descriptor's id counts: the first one's is fine */
        struct rd two[2] = {{b, 16, R | NX, 0}, {b + 16, 16, W, bad[i]}};
        struct rd ind[1] = {{t, 16, IND, bad[i]}};

        bad_chain(e, one, 1, VDM_EPROTO, "buffer id");
        {
            struct cur c;

            cur_init(&c, &e->dq);
            post_raw(&c, two, 2);
            expect_violation(e, VDM_EPROTO, "buffer id");
        }
        tbl_put(e, t, 0, b, 16, W, 0);
        bad_chain(e, ind, 1, VDM_EPROTO, "buffer id");
    }
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_id_in_flight_packed)
{
    struct vqenv *e = hx_new(1, 0, 0);
    uint64_t b = buf(e, 64);
    struct rd a[1] = {{b, 16, R, 5}};
    struct rd d2[2] = {{b, 16, R, 5}, {b + 16, 16, W, 5}};
    struct cur c;

    /* id 5 popped, then a second buffer with id 5 */
    cur_init(&c, &e->dq);
    post(&c, a, 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.id, 5);
    post(&c, d2, 2);
    expect_violation(e, VDM_EPROTO, "in flight");

    /* still in flight after another id was used */
    {
        struct rd x[1] = {{b, 16, R, 7}};

        cur_init(&c, &e->dq);
        post(&c, a, 1);
        post(&c, x, 1);
        post(&c, a, 1);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_uint_eq(e->c.id, 7);
        ck_assert_int_eq(vdm_vq_push(&e->vq, 7, 0), 0);
        expect_violation(e, VDM_EPROTO, "in flight");
    }
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_partial_list_packed)
{
    /* the head is available but a later descriptor of its list is not:
     * never the case for a driver that publishes the head last */
    struct vqenv *e = hx_new(1, 0, 0);
    uint64_t b = buf(e, 64);

    drv_vq_raw_desc(&e->dq, 1, b + 16, 16, W, 0); /* AVAIL/USED both 0 */
    drv_vq_raw_desc(&e->dq, 0, b, 16, R | NX | DRV_DESC_F_AVAIL, 0);
    expect_violation(e, VDM_EPROTO, "not made available");
    /* AVAIL and USED both set (a used descriptor of this lap) */
    drv_vq_raw_desc(&e->dq, 1, b + 16, 16,
                    W | DRV_DESC_F_AVAIL | DRV_DESC_F_USED, 0);
    drv_vq_raw_desc(&e->dq, 0, b, 16, R | NX | DRV_DESC_F_AVAIL, 0);
    expect_violation(e, VDM_EPROTO, "not made available");
    /* a list crossing the end of the ring whose continuation in slot 0
     * still carries the previous lap's flags (AVAIL set, USED clear): the
     * device's wrap counter flipped, so it is not available */
    {
        struct rd one[1] = {{b, 16, R, 1}};
        struct cur c;

        cur_init(&c, &e->dq);
        for (unsigned i = 0; i < QN - 1; i++) {
            post(&c, one, 1);
            ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
            ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
        }
        ck_assert_uint_eq(c.pos, QN - 1);
        drv_vq_raw_desc(&e->dq, 0, b + 16, 16, W | DRV_DESC_F_AVAIL, 1);
        drv_vq_raw_desc(&e->dq, QN - 1, b, 16, R | NX | DRV_DESC_F_AVAIL, 1);
        expect_violation(e, VDM_EPROTO, "not made available");
    }
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_overcommit_packed)
{
    /* a buffer of QN - 1 descriptors in flight, then two more descriptors
     * offered: the ring cannot hold them */
    struct vqenv *e = hx_new(1, 0, 0);
    uint64_t b = buf(e, 16 * QN);
    struct rd big[QN - 1], two[2] = {{b, 16, R, 2}, {b + 16, 16, W, 2}};
    struct cur c;

    for (unsigned i = 0; i < QN - 1; i++)
        big[i] = (struct rd){b + 16 * i, 16, R, 1};
    cur_init(&c, &e->dq);
    post(&c, big, QN - 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.ndesc, QN - 1);
    post(&c, two, 2); /* slot QN-1, then slot 0 of the next lap */
    expect_violation(e, VDM_EPROTO, "free");
    vqenv_free(e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* No slot leak after ENOSPC                                                */
/* ------------------------------------------------------------------------ */

static void no_slot_leak(int packed)
{
    const uint16_t num = 8;
    struct vqenv *e =
        vqenv_new(num, VDM_F_INDIRECT_DESC | (packed ? VDM_F_RING_PACKED : 0));
    struct xfer ind, dir, small;
    unsigned cycled = 0;

    xf_layout(e, &ind, 3, 2, 8, DRV_ADD_INDIRECT); /* 5 spans, 1 desc */
    xf_layout(e, &dir, 2, 1, 8, DRV_ADD_DIRECT);   /* 3 spans, 3 descs */
    xf_layout(e, &small, 1, 1, 8, DRV_ADD_DIRECT);

    for (unsigned round = 0; round < 3; round++) {
        int ids[16], popped[16];
        unsigned k = 0;

        /* fill the ring with chains that need more spans than iov_cap */
        for (;;) {
            const struct xfer *x = (k & 1) ? &dir : &ind;
            unsigned need = (k & 1) ? 3 : 1;

            if (drv_vq_num_free(&e->dq) < need)
                break;
            ids[k] = xf_add(e, x, round * 100 + k, NULL);
            k++;
        }
        ck_assert_uint_ge(k, 3);
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < k; i++) {
            vqenv_chain(e, 2);
            ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ENOSPC);
            ck_assert_int_eq(e->c.id, ids[i]);
            ck_assert_uint_le(e->c.nread + e->c.nwrite, 2);
            popped[i] = e->c.id;
        }
        vqenv_chain(e, 2);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 0);
        ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), k);
        /* back in reverse order, nothing written */
        for (unsigned i = k; i-- > 0;)
            ck_assert_int_eq(vdm_vq_push(&e->vq, (uint16_t)popped[i], 0), 0);
        for (unsigned i = k; i-- > 0;) {
            uint32_t id, len;

            ck_assert_int_eq(drv_vq_get_used(&e->dq, &id, &len, NULL), 1);
            ck_assert_uint_eq(id, (uint32_t)popped[i]);
            ck_assert_uint_eq(len, 0);
        }
        ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 0);
        ck_assert_uint_eq(drv_vq_num_free(&e->dq), num);
        cycled += k;
    }
    ck_assert_uint_ge(cycled, num);
    /* then the queue still goes round three times its size */
    for (unsigned i = 0; i < 3u * num; i++) {
        const struct xfer *x = (i % 3 == 0)   ? &ind
                               : (i % 3 == 1) ? &dir
                                              : &small;
        xf_roundtrip(e, x, 1000 + i, x->wtotal / 2);
    }
    /* every slot (one indirect descriptor each) at once */
    {
        struct xfer *xs = xf_layouts(e, num, 1, 1, 8);
        int ids[8];

        for (unsigned i = 0; i < num; i++) {
            xs[i].mode = DRV_ADD_INDIRECT;
            ids[i] = xf_add(e, &xs[i], 2000 + i, NULL);
        }
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < num; i++)
            ck_assert_int_eq(xf_serve(e, &xs[i], 2000 + i, 1, 1), ids[i]);
        for (unsigned i = 0; i < num; i++)
            xf_reap(e, &xs[i], (uint32_t)ids[i], 2000 + i, 1);
        free(xs);
    }
    ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 0);
    ck_assert_uint_eq(drv_vq_num_free(&e->dq), num);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}

START_TEST(hostile_no_slot_leak_split)
{
    no_slot_leak(0);
}
END_TEST

START_TEST(hostile_no_slot_leak_packed)
{
    no_slot_leak(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Through the device core                                                  */
/* ------------------------------------------------------------------------ */

/* A tiny device type: every queue notify pops everything, writes nothing
 * and pushes it back. */
struct tiny {
    unsigned notifies; /* queue_notify calls */
    unsigned no_queue; /* ... that found no usable queue */
    unsigned chains;   /* chains served */
    unsigned errors;   /* pops that failed */
    int last_err;
    unsigned resets;
};

static void tiny_notify(struct vdm_dev *d, uint16_t q)
{
    struct tiny *t = vdm_dev_priv(d);
    struct vdm_vq *vq = vdm_dev_queue(d, q);
    struct vdm_iov iov[8];
    struct vdm_chain c;
    int rc;

    t->notifies++;
    if (vq == NULL) {
        t->no_queue++;
        return;
    }
    for (;;) {
        memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = 8;
        rc = vdm_vq_pop(vq, &c);
        if (rc == 0)
            break;
        if (rc < 0 && rc != VDM_ENOSPC) {
            t->errors++;
            t->last_err = rc;
            return;
        }
        if (vdm_vq_push(vq, c.id, 0) != 0) {
            t->errors++;
            return;
        }
        t->chains++;
    }
    (void)vdm_dev_notify_used(d, q);
}

static void tiny_reset(struct vdm_dev *d)
{
    ((struct tiny *)vdm_dev_priv(d))->resets++;
}

static const struct vdm_device_class tiny_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 63,
    .name = "tiny",
    .config_size = 0,
    .max_queues = 1,
    .reset = tiny_reset,
    .queue_notify = tiny_notify,
};

#define DEV_LOOP    0
#define DEV_OUTSIDE 1
#define DEV_INDEX   2

/* One good buffer through the driver simulator. */
static void dev_roundtrip(struct dh *h, struct tiny *t)
{
    struct drv_vq *v = dh_vq(h, 0);
    uint64_t b = dh_alloc(h, 64, 16);
    struct drv_buf out = {b, 16}, in = {b + 32, 16};
    unsigned before = t->chains;
    uint32_t id, len;
    int hd;

    hd = drv_vq_add(v, &out, 1, &in, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(hd, 0);
    ck_assert_int_eq(dh_kick(h, 0, 1), 0);
    ck_assert_uint_eq(t->chains, before + 1);
    ck_assert_int_eq(drv_vq_get_used(v, &id, &len, NULL), 1);
    ck_assert_uint_eq(id, (uint32_t)hd);
    ck_assert_uint_eq(len, 0);
}

static void dev_case(int packed, int kind)
{
    const uint8_t live = VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                         VDM_STATUS_FEATURES_OK | VDM_STATUS_DRIVER_OK;
    uint64_t ring = packed ? VDM_F_RING_PACKED : 0;
    struct dh_opts o = {.qsize = QN};
    static uint8_t before[16 * QN + 64], after[16 * QN + 64];
    struct vdm_dev_config cfg;
    struct tiny t;
    struct dh h;
    struct drv_vq *v;
    struct cur c;
    uint64_t b;
    size_t n;
    uint8_t st;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    cfg = h.base;
    cfg.cls = &tiny_class;
    cfg.priv = &t;
    cfg.features = ring;
    ut_need(ring, "hostile device");
    ck_assert_int_eq(vdm_dev_init(&h.dev, &cfg), 0);
    ck_assert_int_eq(dh_bring_up(&h, ring, 1), 0);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), live);
    dev_roundtrip(&h, &t);
    ck_assert_uint_eq(h.irq_config, 0);
    ck_assert_uint_eq(h.nerror, 0);

    /* the guest misbehaves */
    v = dh_vq(&h, 0);
    b = dh_alloc(&h, 64, 16);
    cur_init(&c, v);
    if (kind == DEV_LOOP) {
        struct rd d[QN];

        /* split 0 -> 1 -> 0; packed NEXT all the way round */
        for (unsigned i = 0; i < QN; i++)
            d[i] = (struct rd){b, 16, R | NX, (uint16_t)((i + 1) % 2)};
        post_raw(&c, d, packed ? QN : 2);
    } else if (kind == DEV_OUTSIDE) {
        struct rd d[2] = {{b, 16, R, 0}, {0x7000000000ull, 16, W, 0}};

        post(&c, d, 2);
    } else {
        struct rd d[1] = {{b, 16, R, QN}};

        if (packed) {
            post(&c, d, 1);
        } else {
            drv_vq_raw_desc(v, 0, b, 16, R, 0);
            drv_vq_raw_avail(v, c.aidx, QN);
            drv_vq_raw_avail_idx(v, (uint16_t)(c.aidx + 1));
        }
    }
    if (packed) {
        memcpy(before, drv_vq_desc_hva(v), 16u * QN);
        n = 16u * QN;
    } else {
        memcpy(before, drv_vq_used_hva(v), DRV_SPLIT_USED_SIZE(QN));
        n = DRV_SPLIT_USED_SIZE(QN);
    }
    ck_assert_int_eq(vdm_dev_queue_notify(&h.dev, 0, 0), 0);
    ck_assert_uint_eq(t.errors, 1);
    ck_assert_int_eq(t.last_err, VDM_EPROTO);

    /* NEEDS_RESET, one config-change notice, one error logged */
    st = vdm_dev_status(&h.dev);
    ck_assert_uint_eq(st, live | VDM_STATUS_DEVICE_NEEDS_RESET);
    ck_assert_uint_eq(h.irq_config, 1);
    ck_assert_uint_eq(h.nerror, 1);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 0);
    ck_assert_ptr_null(vdm_dev_queue(&h.dev, 0));
    ck_assert_int_eq(vdm_dev_notify_used(&h.dev, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_broken(&h.queues[0]), 1);

    /* sticky: kicks are ignored, a status write of the driver's bits and
     * another DRIVER_OK do not clear it, nothing more is sent */
    {
        unsigned notifies = t.notifies;

        ck_assert_int_eq(vdm_dev_queue_notify(&h.dev, 0, 0), VDM_ESTATE);
        ck_assert_uint_eq(t.notifies, notifies);
        (void)vdm_dev_set_status(&h.dev, live);
        ck_assert_uint_eq(vdm_dev_status(&h.dev) &
                              VDM_STATUS_DEVICE_NEEDS_RESET,
                          VDM_STATUS_DEVICE_NEEDS_RESET);
        (void)dh_driver_ok(&h);
        ck_assert_uint_eq(vdm_dev_status(&h.dev) &
                              VDM_STATUS_DEVICE_NEEDS_RESET,
                          VDM_STATUS_DEVICE_NEEDS_RESET);
        ck_assert_int_eq(vdm_dev_queue_notify(&h.dev, 0, 0), VDM_ESTATE);
        ck_assert_uint_eq(t.notifies, notifies);
        ck_assert_int_eq(vdm_vq_pop(&h.queues[0], &(struct vdm_chain){0}),
                         VDM_EBROKEN);
        ck_assert_uint_eq(h.irq_config, 1);
        ck_assert_uint_eq(h.nerror, 1);
        ck_assert_uint_eq(t.errors, 1);
    }

    /* the used side was not written */
    memcpy(after, packed ? drv_vq_desc_hva(v) : drv_vq_used_hva(v), n);
    ck_assert(memcmp(before, after, n) == 0);

    /* status 0, a fresh bring-up, and the queue works again */
    dh_reset(&h);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), 0);
    ck_assert_uint_ge(t.resets, 1);
    ck_assert_int_eq(dh_bring_up(&h, ring, 1), 0);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), live);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
    for (unsigned i = 0; i < 3 * QN; i++)
        dev_roundtrip(&h, &t);
    ck_assert_uint_eq(h.irq_config, 1);
    ck_assert_uint_eq(h.nerror, 1);
    ck_assert_uint_eq(t.errors, 1);
    dh_fini(&h);
}

START_TEST(hostile_dev_descriptor_loop_split)
{
    dev_case(0, DEV_LOOP);
}
END_TEST

START_TEST(hostile_dev_descriptor_loop_packed)
{
    dev_case(1, DEV_LOOP);
}
END_TEST

START_TEST(hostile_dev_outside_regions_split)
{
    dev_case(0, DEV_OUTSIDE);
}
END_TEST

START_TEST(hostile_dev_outside_regions_packed)
{
    dev_case(1, DEV_OUTSIDE);
}
END_TEST

START_TEST(hostile_dev_head_out_of_range_split)
{
    dev_case(0, DEV_INDEX);
}
END_TEST

START_TEST(hostile_dev_id_out_of_range_packed)
{
    dev_case(1, DEV_INDEX);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("split");

    tcase_add_test(tc, hostile_descriptor_loop_split);
    tcase_add_test(tc, hostile_chain_longer_than_queue_split);
    tcase_add_test(tc, hostile_indirect_in_indirect_split);
    tcase_add_test(tc, hostile_indirect_bad_length_split);
    tcase_add_test(tc, hostile_indirect_not_negotiated_split);
    tcase_add_test(tc, hostile_indirect_with_next_split);
    tcase_add_test(tc, hostile_address_overflow_split);
    tcase_add_test(tc, hostile_outside_regions_split);
    tcase_add_test(tc, hostile_straddle_hole_split);
    tcase_add_test(tc, hostile_second_region_split);
    tcase_add_test(tc, hostile_write_to_rdonly_split);
    tcase_add_test(tc, hostile_chain_len_overflow_split);
    tcase_add_test(tc, hostile_zero_length_split);
    tcase_add_test(tc, hostile_write_before_read_split);
    tcase_add_test(tc, hostile_next_out_of_range_split);
    tcase_add_test(tc, hostile_head_out_of_range_split);
    tcase_add_test(tc, hostile_head_in_flight_split);
    tcase_add_test(tc, hostile_avail_idx_jump_split);
    tcase_add_test(tc, hostile_no_slot_leak_split);
    suite_add_tcase(s, tc);

    tc = tcase_create("packed");
    tcase_add_test(tc, hostile_descriptor_loop_packed);
    tcase_add_test(tc, hostile_chain_longer_than_queue_packed);
    tcase_add_test(tc, hostile_indirect_in_indirect_packed);
    tcase_add_test(tc, hostile_indirect_bad_length_packed);
    tcase_add_test(tc, hostile_indirect_not_negotiated_packed);
    tcase_add_test(tc, hostile_indirect_in_list_packed);
    tcase_add_test(tc, hostile_address_overflow_packed);
    tcase_add_test(tc, hostile_outside_regions_packed);
    tcase_add_test(tc, hostile_straddle_hole_packed);
    tcase_add_test(tc, hostile_second_region_packed);
    tcase_add_test(tc, hostile_write_to_rdonly_packed);
    tcase_add_test(tc, hostile_chain_len_overflow_packed);
    tcase_add_test(tc, hostile_zero_length_packed);
    tcase_add_test(tc, hostile_write_before_read_packed);
    tcase_add_test(tc, hostile_id_out_of_range_packed);
    tcase_add_test(tc, hostile_id_in_flight_packed);
    tcase_add_test(tc, hostile_partial_list_packed);
    tcase_add_test(tc, hostile_overcommit_packed);
    tcase_add_test(tc, hostile_no_slot_leak_packed);
    suite_add_tcase(s, tc);

    tc = tcase_create("device");
    tcase_add_test(tc, hostile_dev_descriptor_loop_split);
    tcase_add_test(tc, hostile_dev_descriptor_loop_packed);
    tcase_add_test(tc, hostile_dev_outside_regions_split);
    tcase_add_test(tc, hostile_dev_outside_regions_packed);
    tcase_add_test(tc, hostile_dev_head_out_of_range_split);
    tcase_add_test(tc, hostile_dev_id_out_of_range_packed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
