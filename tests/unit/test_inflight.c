/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user inflight I/O tracking of a virtqueue (src/virtqueue_inflight.c)
 * against the text (vhost-user "Inflight I/O tracking"): the split and
 * packed queue regions byte for byte as pops and pushes go, the
 * "When reconnecting" recovery after a crash at each step, resubmission in
 * counter order before anything new with nothing dropped or duplicated as
 * the driver sees it, and hostile regions (sizes, versions, indexes out of
 * range, duplicate heads, counters) refused or breaking only the queue. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "le.h"
#include "profile.h"
#include "vdm/virtqueue.h"
#include "vq_inflight.h"

#define N 8

static uint16_t r16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static uint32_t r32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t r64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static void w16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static void w64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* QueueRegionSplit / DescStateSplit offsets (the text's structs) */
#define S_VER(r)     r16((r) + 8)
#define S_DNUM(r)    r16((r) + 10)
#define S_LBH(r)     r16((r) + 12)
#define S_USED(r)    r16((r) + 14)
#define S_E(r, i)    ((r) + 16 + 16 * (size_t)(i))
#define S_INF(r, i)  (S_E(r, i)[0])
#define S_NEXT(r, i) r16(S_E(r, i) + 6)
#define S_CNT(r, i)  r64(S_E(r, i) + 8)
/* QueueRegionPacked / DescStatePacked */
#define P_FREE(r)     r16((r) + 12)
#define P_OFREE(r)    r16((r) + 14)
#define P_USED(r)     r16((r) + 16)
#define P_OUSED(r)    r16((r) + 18)
#define P_WRAP(r)     ((r)[20])
#define P_OWRAP(r)    ((r)[21])
#define P_E(r, i)     ((r) + 32 + 32 * (size_t)(i))
#define P_INF(r, i)   (P_E(r, i)[0])
#define P_NEXT(r, i)  r16(P_E(r, i) + 2)
#define P_LAST(r, i)  r16(P_E(r, i) + 4)
#define P_NUM(r, i)   r16(P_E(r, i) + 6)
#define P_CNT(r, i)   r64(P_E(r, i) + 8)
#define P_ID(r, i)    r16(P_E(r, i) + 16)
#define P_FLAGS(r, i) r16(P_E(r, i) + 18)
#define P_LEN(r, i)   r32(P_E(r, i) + 20)
#define P_ADDR(r, i)  r64(P_E(r, i) + 24)

struct t {
    struct vqenv *e;
    uint8_t *rgn;
    struct xfer x[12];
};

static void t_new(struct t *t, uint64_t features)
{
    UT_NEEDS(features);
    UT_NEEDS_OPTION(VDM_CONFIG_VHOST_USER);
    t->e = vqenv_new(N, features);
    t->rgn = calloc(1, vdmi_ift_queue_bytes(N, (features & VDM_F_RING_PACKED)
                                                   ? 1
                                                   : 0));
    ck_assert_ptr_nonnull(t->rgn);
    for (unsigned i = 0; i < 12; i++)
        xf_layout(t->e, &t->x[i], 1, 1, 40 + 8 * i, DRV_ADD_DIRECT);
}

static void t_free(struct t *t)
{
    free(t->rgn);
    vqenv_free(t->e);
}

/* A back-end restart: the device queue starts again on the same rings (the
 * driver simulator keeps its state) and takes the region back. */
static int t_restart(struct t *t)
{
    vdm_vq_reset(&t->e->vq);
    ck_assert_int_eq(vqenv_init_vq(t->e), 0);
    return vdmi_vq_ift_attach(&t->e->vq, t->rgn, N);
}

static void add(struct t *t, unsigned k)
{
    xf_add(t->e, &t->x[k], 1000 + k, (void *)(uintptr_t)(k + 1));
    drv_vq_publish(&t->e->dq);
}

/* device pops layout k (checks it carries stream 1000 + k) */
static uint16_t serve(struct t *t, unsigned k)
{
    return xf_serve(t->e, &t->x[k], 1000 + k, 0, 0);
}

/* device completes id, driver takes exactly it back */
static void done(struct t *t, uint16_t id)
{
    uint32_t uid, len;
    void *cookie;
    ck_assert_int_eq(vdm_vq_push(&t->e->vq, id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used(&t->e->dq, &uid, &len, &cookie), 1);
    ck_assert_uint_eq(uid, id);
}

static void nothing_used(struct t *t)
{
    uint32_t uid, len;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(&t->e->dq, &uid, &len, &cookie), 0);
}

START_TEST(queue_bytes_follow_the_layouts)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* split: 16-byte header + 16 per entry; packed: 32 + 32 per entry;
     * each queue's part rounded up to 64 bytes */
    ck_assert_uint_eq(vdmi_ift_queue_bytes(8, 0), 192);     /* 144 */
    ck_assert_uint_eq(vdmi_ift_queue_bytes(128, 0), 2112);  /* 2064 */
    ck_assert_uint_eq(vdmi_ift_queue_bytes(8, 1), 320);     /* 288 */
    ck_assert_uint_eq(vdmi_ift_queue_bytes(256, 1), 8256);  /* 8224 */
    ck_assert_uint_eq(vdmi_ift_queue_bytes(32768, 1), 1048640);
    ck_assert_uint_eq(vdmi_ift_queue_bytes(0, 0), 0);
    ck_assert_uint_eq(vdmi_ift_queue_bytes(32769, 0), 0);
}
END_TEST

START_TEST(split_region_as_the_text_says)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t a, b, c;

    t_new(&t, 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    /* version 0 (fresh) formatted: version 1, desc_num, nothing else */
    ck_assert_uint_eq(r64(t.rgn), 0);
    ck_assert_uint_eq(S_VER(t.rgn), 1);
    ck_assert_uint_eq(S_DNUM(t.rgn), N);
    ck_assert_uint_eq(S_USED(t.rgn), 0);
    add(&t, 0);
    add(&t, 1);
    add(&t, 2);
    /* receiving: desc[head].counter = counter++, inflight = 1 */
    a = serve(&t, 0);
    b = serve(&t, 1);
    c = serve(&t, 2);
    ck_assert_uint_eq(S_INF(t.rgn, a), 1);
    ck_assert_uint_eq(S_INF(t.rgn, b), 1);
    ck_assert_uint_eq(S_INF(t.rgn, c), 1);
    ck_assert_uint_eq(S_CNT(t.rgn, b), S_CNT(t.rgn, a) + 1);
    ck_assert_uint_eq(S_CNT(t.rgn, c), S_CNT(t.rgn, b) + 1);
    /* supplying: next = last_batch_head, last_batch_head = i, used idx
     * moved, inflight 0, used_idx = used ring idx */
    done(&t, b);
    ck_assert_uint_eq(S_LBH(t.rgn), b);
    ck_assert_uint_eq(S_USED(t.rgn), 1);
    ck_assert_uint_eq(S_INF(t.rgn, b), 0);
    ck_assert_uint_eq(S_INF(t.rgn, a), 1);
    done(&t, a);
    ck_assert_uint_eq(S_LBH(t.rgn), a);
    ck_assert_uint_eq(S_NEXT(t.rgn, a), b);
    ck_assert_uint_eq(S_USED(t.rgn), 2);
    ck_assert_uint_eq(S_INF(t.rgn, a), 0);
    ck_assert_uint_eq(S_INF(t.rgn, c), 1);
    /* a batch: both entries listed, one used_idx update */
    {
        struct vdm_used u[1] = {{c, 0}};
        uint32_t uid, len;
        void *ck;
        ck_assert_int_eq(vdm_vq_push_batch(&t.e->vq, u, 1, 0), 1);
        ck_assert_int_eq(drv_vq_get_used(&t.e->dq, &uid, &len, &ck), 1);
    }
    ck_assert_uint_eq(S_INF(t.rgn, c), 0);
    ck_assert_uint_eq(S_USED(t.rgn), 3);
    t_free(&t);
}
END_TEST

START_TEST(split_restart_resubmits_in_counter_order_once)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t h[4];
    uint32_t uid, len;
    void *ck;

    t_new(&t, 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    for (unsigned k = 0; k < 4; k++)
        add(&t, k);
    for (unsigned k = 0; k < 4; k++)
        h[k] = serve(&t, k);
    done(&t, h[2]); /* out of order: C done */
    add(&t, 4);     /* E available, never taken */
    /* the back-end dies; A's counter made the latest (order by counter,
     * not by head or avail position) */
    w64(S_E(t.rgn, h[0]) + 8, 100);
    ck_assert_int_eq(t_restart(&t), 0);
    ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 3);
    /* B, D, A again (same chains, same data), then E from the ring */
    ck_assert_uint_eq(serve(&t, 1), h[1]);
    ck_assert_uint_eq(serve(&t, 3), h[3]);
    ck_assert_uint_eq(serve(&t, 0), h[0]);
    serve(&t, 4);
    ck_assert_int_eq(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    /* every one completes exactly once as the driver sees it */
    done(&t, h[1]);
    done(&t, h[3]);
    done(&t, h[0]);
    ck_assert_int_eq(vdm_vq_push(&t.e->vq, t.e->c.id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used(&t.e->dq, &uid, &len, &ck), 1);
    ck_assert_ptr_eq(ck, (void *)(uintptr_t)5);
    nothing_used(&t);
    ck_assert_uint_eq(t.e->fault.count, 0);
    t_free(&t);
}
END_TEST

START_TEST(split_crash_inside_a_push_is_completed_on_restart)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t a, b;

    t_new(&t, 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    add(&t, 1);
    a = serve(&t, 0);
    b = serve(&t, 1);
    done(&t, a);
    /* crash after the used ring's idx moved but before the region caught
     * up: inflight still 1, used_idx the old value */
    S_INF(t.rgn, a) = 1;
    w16(t.rgn + 14, 0);
    ck_assert_int_eq(t_restart(&t), 0);
    /* the last batch (a) is cleared; only b comes again */
    ck_assert_uint_eq(S_INF(t.rgn, a), 0);
    ck_assert_uint_eq(S_USED(t.rgn), 1);
    ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 1);
    ck_assert_uint_eq(serve(&t, 1), b);
    ck_assert_int_eq(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    done(&t, b);
    nothing_used(&t);
    t_free(&t);
}
END_TEST

START_TEST(unpop_gives_the_record_back)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t a;
    uint64_t cnt;

    t_new(&t, _i ? VDM_F_RING_PACKED : 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    a = serve(&t, 0);
    cnt = _i ? P_CNT(t.rgn, 0) : S_CNT(t.rgn, a);
    ck_assert_int_eq(vdm_vq_unpop(&t.e->vq, &t.e->c), 0);
    if (_i) {
        ck_assert_uint_eq(P_INF(t.rgn, 0), 0);
        ck_assert_uint_eq(P_FREE(t.rgn), 0);
        ck_assert_uint_eq(P_OFREE(t.rgn), 0);
    } else {
        ck_assert_uint_eq(S_INF(t.rgn, a), 0);
    }
    ck_assert_uint_eq(serve(&t, 0), a);
    ck_assert_uint_eq(_i ? P_CNT(t.rgn, 0) : S_CNT(t.rgn, a), cnt);
    done(&t, a);
    t_free(&t);
}
END_TEST

START_TEST(unpop_of_a_resubmission_keeps_the_ring_position)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* a resubmitted chain given back comes again, and the ring's own
     * buffers follow from where they were */
    struct t t;
    uint16_t a, b;

    t_new(&t, _i ? VDM_F_RING_PACKED : 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    a = serve(&t, 0);
    add(&t, 1);
    ck_assert_int_eq(t_restart(&t), 0);
    ck_assert_uint_eq(serve(&t, 0), a);
    ck_assert_int_eq(vdm_vq_unpop(&t.e->vq, &t.e->c), 0);
    ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 1);
    ck_assert_uint_eq(serve(&t, 0), a);
    b = serve(&t, 1);
    ck_assert_int_eq(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    done(&t, b);
    done(&t, a);
    nothing_used(&t);
    ck_assert_uint_eq(t.e->fault.count, 0);
    t_free(&t);
}
END_TEST

START_TEST(packed_region_as_the_text_says)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t a, b;
    const uint8_t *d;

    t_new(&t, VDM_F_RING_PACKED);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    ck_assert_uint_eq(r16(t.rgn + 8), 1);
    ck_assert_uint_eq(r16(t.rgn + 10), N);
    ck_assert_uint_eq(P_FREE(t.rgn), 0);
    ck_assert_uint_eq(P_USED(t.rgn), 0);
    ck_assert_uint_eq(P_WRAP(t.rgn), 1);
    ck_assert_uint_eq(P_OWRAP(t.rgn), 1);
    for (unsigned i = 0; i < N; i++)
        ck_assert_uint_eq(P_NEXT(t.rgn, i), i + 1); /* the free list */
    add(&t, 0);
    add(&t, 1);
    a = serve(&t, 0); /* 2 descriptors: ring 0, 1 -> entries 0, 1 */
    ck_assert_uint_eq(P_INF(t.rgn, 0), 1);
    ck_assert_uint_eq(P_NUM(t.rgn, 0), 2);
    ck_assert_uint_eq(P_LAST(t.rgn, 0), 1);
    ck_assert_uint_eq(P_FREE(t.rgn), 2);
    ck_assert_uint_eq(P_OFREE(t.rgn), 2);
    for (unsigned i = 0; i < 2; i++) {
        d = (const uint8_t *)drv_vq_desc_hva(&t.e->dq) + 16 * i;
        ck_assert_uint_eq(P_ADDR(t.rgn, i), vdm_le64(d));
        ck_assert_uint_eq(P_LEN(t.rgn, i), vdm_le32(d + 8));
        ck_assert_uint_eq(P_ID(t.rgn, i), vdm_le16(d + 12));
        ck_assert_uint_eq(P_FLAGS(t.rgn, i), vdm_le16(d + 14));
    }
    ck_assert_uint_eq(P_ID(t.rgn, 1), a);
    b = serve(&t, 1); /* entries 2, 3 */
    ck_assert_uint_eq(P_INF(t.rgn, 2), 1);
    ck_assert_uint_eq(P_CNT(t.rgn, 2), P_CNT(t.rgn, 0) + 1);
    ck_assert_uint_eq(P_LAST(t.rgn, 2), 3);
    /* supplying b: desc[last].next = free_head, free_head = its head,
     * used_idx += 2, inflight 0, old_* = the new values */
    done(&t, b);
    ck_assert_uint_eq(P_NEXT(t.rgn, 3), 4);
    ck_assert_uint_eq(P_FREE(t.rgn), 2);
    ck_assert_uint_eq(P_OFREE(t.rgn), 2);
    ck_assert_uint_eq(P_USED(t.rgn), 2);
    ck_assert_uint_eq(P_OUSED(t.rgn), 2);
    ck_assert_uint_eq(P_INF(t.rgn, 2), 0);
    ck_assert_uint_eq(P_INF(t.rgn, 0), 1);
    done(&t, a);
    ck_assert_uint_eq(P_FREE(t.rgn), 0);
    ck_assert_uint_eq(P_NEXT(t.rgn, 1), 2);
    ck_assert_uint_eq(P_USED(t.rgn), 4);
    t_free(&t);
}
END_TEST

START_TEST(packed_restart_resubmits_from_the_record)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    uint16_t a, b, c;

    t_new(&t, VDM_F_RING_PACKED);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    add(&t, 1);
    add(&t, 2);
    a = serve(&t, 0);
    b = serve(&t, 1);
    c = serve(&t, 2);
    /* b used first: its used descriptor overwrites a's in the ring */
    done(&t, b);
    add(&t, 3);
    ck_assert_int_eq(t_restart(&t), 0);
    ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 2);
    /* a (from the record: the ring no longer has it), c, then d new */
    ck_assert_uint_eq(serve(&t, 0), a);
    ck_assert_uint_eq(serve(&t, 2), c);
    serve(&t, 3);
    ck_assert_int_eq(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    done(&t, c);
    done(&t, a);
    done(&t, t.e->c.id);
    nothing_used(&t);
    ck_assert_uint_eq(t.e->fault.count, 0);
    t_free(&t);
}
END_TEST

START_TEST(packed_crash_inside_a_push_rolls_back_or_commits)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* _i 0: the crash came before the used descriptor reached the ring
     * (roll back: a again); 1: after (commit: a is done) */
    struct t t;
    uint16_t a;
    uint8_t save[64];

    t_new(&t, VDM_F_RING_PACKED);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    a = serve(&t, 0);
    memcpy(save, t.rgn, 32);
    if (_i == 0) {
        /* the region's first push steps only: free_head, used_idx moved */
        w16(t.rgn + 12, 0);
        w16(t.rgn + 16, 2);
    } else {
        done(&t, a);
        /* the last step (old_* = new) never happened, inflight still 1 */
        memcpy(t.rgn + 14, save + 14, 2);
        memcpy(t.rgn + 18, save + 18, 2);
        t.rgn[21] = save[21];
        P_INF(t.rgn, 0) = 1;
    }
    ck_assert_int_eq(t_restart(&t), 0);
    if (_i == 0) {
        ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 1);
        ck_assert_uint_eq(P_USED(t.rgn), 0);
        ck_assert_uint_eq(P_FREE(t.rgn), 2);
        ck_assert_uint_eq(serve(&t, 0), a);
        done(&t, a);
    } else {
        ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 0);
        ck_assert_uint_eq(P_USED(t.rgn), 2);
        ck_assert_uint_eq(P_OUSED(t.rgn), 2);
        ck_assert_uint_eq(P_INF(t.rgn, 0), 0);
        ck_assert_int_eq(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    }
    add(&t, 1);
    done(&t, serve(&t, 1));
    nothing_used(&t);
    t_free(&t);
}
END_TEST

/* A hostile split region: each refused, the queue runs on untracked. */
START_TEST(hostile_split_regions_refused)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    struct t t;
    int k = _i;

    t_new(&t, 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    add(&t, 1);
    serve(&t, 0);
    serve(&t, 1);
    switch (k) {
    case 0: w16(t.rgn + 8, 2); break;                   /* version */
    case 1: w16(t.rgn + 10, N / 2); break;              /* desc_num */
    case 2: S_INF(t.rgn, 3) = 2; break;                 /* inflight byte */
    case 3: w16(t.rgn + 14, (uint16_t)(0 - N - 1)); break; /* batch > num */
    case 4: /* last batch list through an index out of range */
        w16(t.rgn + 14, 0xffff);
        w16(t.rgn + 12, N + 3);
        break;
    case 5: w64(S_E(t.rgn, 0) + 8, UINT64_MAX); break;  /* counter */
    default: break;
    }
    ck_assert_int_eq(t_restart(&t), VDM_EINVAL);
    ck_assert_uint_eq(vdmi_vq_ift_resubmits(&t.e->vq), 0);
    /* untracked, the ring from position 0 as the queue was set up */
    add(&t, 2);
    ck_assert_int_ge(vdm_vq_pop(&t.e->vq, &t.e->c), 0);
    /* fewer entries than the ring, and entries beyond it in flight */
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N - 1), VDM_ESTATE);
    t_free(&t);
}
END_TEST

START_TEST(hostile_split_region_bigger_than_ring)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* desc_num 16 for a ring of 8: an entry at 12 in flight is refused */
    struct vqenv *e;
    uint8_t *r;

    UT_NEEDS_OPTION(VDM_CONFIG_VHOST_USER);
    e = vqenv_new(N, 0);
    r = calloc(1, vdmi_ift_queue_bytes(16, 0));
    vdmi_ift_format(r, 16, 0);
    r[16 + 16 * 12] = 1;
    ck_assert_int_eq(vdmi_vq_ift_attach(&e->vq, r, 16), VDM_EINVAL);
    ck_assert_int_eq(vdmi_vq_ift_attach(&e->vq, r, 4), VDM_EINVAL);
    r[16 + 16 * 12] = 0;
    ck_assert_int_eq(vdmi_vq_ift_attach(&e->vq, r, 16), 0);
    free(r);
    vqenv_free(e);
}
END_TEST

START_TEST(hostile_packed_regions)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* 0-4 refused at attach; 5-7 break only the queue when resubmitted */
    struct t t;
    int k = _i;
    int rc;

    t_new(&t, VDM_F_RING_PACKED);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    add(&t, 1);
    serve(&t, 0); /* entries 0, 1 */
    serve(&t, 1); /* entries 2, 3 */
    switch (k) {
    case 0: w16(t.rgn + 12, N + 1); break;   /* free_head */
    case 1: w16(t.rgn + 18, N); break;       /* old_used_idx >= num */
    case 2: t.rgn[21] = 2; break;            /* wrap counter */
    case 3: w16(P_E(t.rgn, 0) + 6, 0); break;  /* num 0 in flight */
    case 4: w16(P_E(t.rgn, 0) + 6, N); break;  /* descriptors > ring */
    case 5: w16(P_E(t.rgn, 0) + 2, N + 5); break; /* link out of range */
    case 6: /* duplicate head: both lists end at entry 3 (same id) */
        w16(P_E(t.rgn, 0) + 2, 3);
        w16(P_E(t.rgn, 0) + 4, 3);
        break;
    case 7: w16(P_E(t.rgn, 1) + 18, 0x7); break; /* INDIRECT|NEXT|WRITE */
    default: break;
    }
    rc = t_restart(&t);
    if (k <= 4) {
        ck_assert_int_eq(rc, VDM_EINVAL);
    } else {
        ck_assert_int_eq(rc, 0);
        vqenv_chain(t.e, 1024);
        rc = vdm_vq_pop(&t.e->vq, &t.e->c);
        if (k == 6 && rc == 1)
            rc = vdm_vq_pop(&t.e->vq, &t.e->c);
        ck_assert_int_eq(rc, VDM_EPROTO);
        ck_assert_uint_eq(t.e->fault.count, 1);
        ck_assert_int_eq(vdm_vq_broken(&t.e->vq), 1);
    }
    t_free(&t);
}
END_TEST

START_TEST(hostile_split_duplicate_resubmission)
{
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    /* a head recorded in flight whose chain is in flight again cannot
     * come twice: the queue breaks instead */
    struct t t;
    uint16_t a;

    t_new(&t, 0);
    ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), 0);
    add(&t, 0);
    a = serve(&t, 0);
    ck_assert_int_eq(t_restart(&t), 0);
    ck_assert_uint_eq(serve(&t, 0), a);
    /* the front-end forges a second resubmission of the same head */
    t.e->c.id = a;
    S_INF(t.rgn, a) = 1;
    w64(S_E(t.rgn, a) + 8, 0);
    {
        /* re-attach is refused while chains are popped */
        ck_assert_int_eq(vdmi_vq_ift_attach(&t.e->vq, t.rgn, N), VDM_ESTATE);
    }
    done(&t, a);
    t_free(&t);
}
END_TEST

static Suite *inflight_suite(void)
{
    Suite *s = suite_create("inflight");
    TCase *tc = tcase_create("layouts");
    tcase_add_test(tc, queue_bytes_follow_the_layouts);
    tcase_add_test(tc, split_region_as_the_text_says);
    tcase_add_test(tc, split_restart_resubmits_in_counter_order_once);
    tcase_add_test(tc, split_crash_inside_a_push_is_completed_on_restart);
    tcase_add_loop_test(tc, unpop_gives_the_record_back, 0, 2);
    tcase_add_loop_test(tc, unpop_of_a_resubmission_keeps_the_ring_position,
                        0, 2);
    tcase_add_test(tc, packed_region_as_the_text_says);
    tcase_add_test(tc, packed_restart_resubmits_from_the_record);
    tcase_add_loop_test(tc, packed_crash_inside_a_push_rolls_back_or_commits,
                        0, 2);
    suite_add_tcase(s, tc);
    TCase *h = tcase_create("hostile");
    tcase_add_loop_test(h, hostile_split_regions_refused, 0, 6);
    tcase_add_test(h, hostile_split_region_bigger_than_ring);
    tcase_add_loop_test(h, hostile_packed_regions, 0, 8);
    tcase_add_test(h, hostile_split_duplicate_resubmission);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(inflight_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
