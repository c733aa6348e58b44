/* SPDX-License-Identifier: BSD-3-Clause */
/* Split virtqueue, device side, against the driver simulator: what is
 * particular to the split layout (what both layouts share is in
 * test_ring.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "profile.h"
#include "le.h"
#include "vdm/virtqueue.h"

#define MEM VQENV_MEM

static uint16_t used_idx(struct vqenv *e)
{
    return vdm_le16((uint8_t *)drv_vq_used_hva(&e->dq) + 2);
}

/* ---- chains --------------------------------------------------------- */

START_TEST(chain_whole_queue)
{
    /* a direct chain as long as the queue is fine */
    struct vqenv *e = vqenv_new(16, 0);
    struct xfer x;

    xf_layout(e, &x, 10, 6, 5, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x, 5, 20);
    ck_assert_uint_eq(e->c.ndesc, 16);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect)
{
    struct vqenv *e = vqenv_new(64, VDM_F_INDIRECT_DESC);
    struct xfer x;

    xf_layout(e, &x, 2, 1, 10, DRV_ADD_INDIRECT);
    xf_roundtrip(e, &x, 1, 4);
    ck_assert_uint_eq(e->c.ndesc, 1);
    ck_assert_uint_eq(e->c.nread, 2);
    xf_layout(e, &x, 40, 24, 3, DRV_ADD_INDIRECT);
    xf_roundtrip(e, &x, 2, x.wtotal);
    ck_assert_uint_eq(e->c.ndesc, 1);
    ck_assert_uint_eq(e->c.nread + e->c.nwrite, 64);
    /* direct descriptors followed by one indirect */
    xf_layout(e, &x, 3, 5, 7, DRV_ADD_MIXED);
    xf_roundtrip(e, &x, 3, 9);
    ck_assert_uint_eq(e->c.ndesc, 4);
    xf_layout(e, &x, 3, 0, 7, DRV_ADD_MIXED);
    xf_roundtrip(e, &x, 4, 0);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect_longer_than_queue)
{
    /* a mixed chain whose total exceeds the queue size (direct part and
     * table each within it) is accepted by default... */
    struct vqenv *e = vqenv_new(8, VDM_F_INDIRECT_DESC);
    struct xfer x;

    xf_layout(e, &x, 7, 8, 2, DRV_ADD_MIXED);
    xf_roundtrip(e, &x, 1, 5);
    ck_assert_uint_eq(e->c.nread + e->c.nwrite, 15);
    /* ...and refused with a device max_chain */
    vdm_vq_reset(&e->vq);
    drv_vq_reset(&e->dq);
    e->cfg.max_chain = 14;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), 0);
    xf_add(e, &x, 1, NULL);
    drv_vq_publish(&e->dq);
    vqenv_chain(e, 64);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect_not_negotiated)
{
    struct vqenv *e = vqenv_new(8, 0);
    uint64_t tab = drv_alloc(&e->gm.g, 32, 16);

    /* hand-made: the simulator refuses to build it */
    drv_vq_raw_desc(&e->dq, 0, tab, 32, DRV_DESC_F_INDIRECT, 0);
    drv_vq_raw_avail(&e->dq, 0, 0);
    drv_vq_raw_avail_idx(&e->dq, 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    ck_assert_uint_eq(e->fault.err, VDM_EPROTO);
    ck_assert_uint_eq(e->fault.qidx, 3);
    /* the reason: a static text, none with VDM_CONFIG_LOG_TEXT=0 */
    ck_assert(VDM_CONFIG_LOG_TEXT ? e->fault.why != NULL
                                  : e->fault.why == NULL);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_push(&e->vq, 0, 0), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_should_notify(&e->vq), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), VDM_EBROKEN);
    ck_assert_uint_eq(e->fault.count, 1); /* hook called once */
    vqenv_free(e);
}
END_TEST

START_TEST(zero_length_descriptor)
{
    /* a zero-length descriptor produces no span; its address (here far
     * outside guest memory) is not checked */
    struct vqenv *e = vqenv_new(8, 0);
    uint64_t a = drv_alloc(&e->gm.g, 64, 1), b = drv_alloc(&e->gm.g, 64, 1);
    struct drv_buf out[2] = {{.gpa = a, .len = 64},
                             {.gpa = 0xdead00000000ull, .len = 0}};
    struct drv_buf in[1] = {{.gpa = b, .len = 64}};
    uint8_t tmp[64];
    uint32_t id, len;
    int h;

    gm_fill(&e->gm, a, 64, 4, 0);
    h = drv_vq_add(&e->dq, out, 2, in, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(h, 0);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.ndesc, 3);
    ck_assert_uint_eq(e->c.nread, 1);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->c.read_len, 64);
    ck_assert_uint_eq(vdm_chain_copy_from(&e->c, 0, tmp, 64), 64);
    ck_assert(memcmp(tmp, gm_ptr(&e->gm, a, 64), 64) == 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used(&e->dq, &id, &len, NULL), 1);
    ck_assert_uint_eq(id, (uint32_t)h);
    vqenv_free(e);
}
END_TEST

START_TEST(straddling_regions)
{
    /* buffers crossing from one guest region into the next (separate host
     * mappings): two spans each, data intact */
    struct vqenv *e = malloc(sizeof(*e));
    uint64_t gpas[2] = {0x10000, 0x10000 + (1u << 20)};
    uint64_t sizes[2] = {1u << 20, 1u << 20};
    uint64_t a = 0x10000 + (1u << 20) - 40;
    struct drv_buf out[1] = {{.gpa = a, .len = 100}};
    struct drv_buf in[1] = {{.gpa = a + 200 - (1u << 19), .len = 10}};
    uint8_t tmp[100];
    uint32_t id, len;

    ck_assert_ptr_nonnull(e);
    memset(e, 0, sizeof(*e));
    gm_init(&e->gm, gpas, sizes, 2);
    e->num = 4;
    e->features = VDM_F_VERSION_1;
    ck_assert_int_eq(drv_vq_init(&e->dq, &e->gm.g, 4, e->features), 0);
    e->slots = calloc(VDM_VQ_SLOTS(4), sizeof(uint32_t));
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    vqenv_chain(e, 8);
    gm_fill(&e->gm, a, 40, 6, 0);
    gm_fill(&e->gm, a + 40, 60, 6, 40);
    ck_assert_int_ge(drv_vq_add(&e->dq, out, 1, in, 1, DRV_ADD_DIRECT, NULL),
                     0);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.nread, 2);
    ck_assert_uint_eq(e->c.iov[0].len, 40);
    ck_assert_uint_eq(e->c.iov[1].len, 60);
    ck_assert_uint_eq(vdm_chain_copy_from(&e->c, 0, tmp, 100), 100);
    for (unsigned i = 0; i < 100; i++)
        ck_assert_uint_eq(tmp[i], gm_pat(6, i));
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used(&e->dq, &id, &len, NULL), 1);
    vqenv_free(e);
}
END_TEST

START_TEST(enospc_truncates)
{
    struct vqenv *e = vqenv_new(16, 0);
    struct xfer x;
    struct drv_used u;
    int id;

    xf_layout(e, &x, 3, 2, 10, DRV_ADD_DIRECT);
    id = xf_add(e, &x, 1, NULL);
    drv_vq_publish(&e->dq);
    vqenv_chain(e, 2);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ENOSPC);
    ck_assert_int_eq(e->c.id, id);
    ck_assert_uint_eq(e->c.nread, 2);
    ck_assert_uint_eq(e->c.nwrite, 0);
    ck_assert_uint_eq(e->c.read_len, x.out_len[0] + x.out_len[1]);
    ck_assert_uint_eq(e->c.write_len, 0);
    ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 1);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used_ex(&e->dq, &u), 1);
    ck_assert_uint_eq(u.id, (uint32_t)id);
    ck_assert_uint_eq(u.len, 0);
    /* the queue goes on */
    xf_roundtrip(e, &x, 2, 5);
    /* a truncated chain is still validated to its end */
    x.in_gpa[1] = 0x7000000000ull;
    xf_add(e, &x, 3, NULL);
    drv_vq_publish(&e->dq);
    vqenv_chain(e, 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_int_eq(e->fault.err, VDM_EFAULT);
    vqenv_free(e);
}
END_TEST

/* ---- notifications -------------------------------------------------- */

START_TEST(notify_event_idx)
{
    struct vqenv *e = vqenv_new(16, VDM_F_EVENT_IDX);
    struct xfer *xs = xf_layouts(e, 5, 1, 1, 8);

    /* used_event: at the next entry, then further away, then disabled */
    xf_push_check(e, xs, 1, 1);
    drv_vq_enable_cb_at(&e->dq, (uint16_t)(used_idx(e) + 2));
    xf_push_check(e, xs, 2, 10); /* entries idx, idx+1: not reached */
    xf_push_check(e, xs, 1, 20); /* idx+2 == used_event: notify */
    xf_push_check(e, xs, 1, 30); /* passed: no */
    drv_vq_disable_cb(&e->dq);
    xf_push_check(e, xs, 3, 40);
    drv_vq_enable_cb(&e->dq);
    xf_push_check(e, xs, 3, 50);
    /* walk used_event around the ring and across the 16-bit wrap */
    {
        uint32_t total = 11;

        for (unsigned r = 0; r < 25000; r++) {
            unsigned k = 1 + r % 5;

            if (r % 3 == 0)
                drv_vq_enable_cb_at(&e->dq, (uint16_t)(used_idx(e) + r % 7));
            else if (r % 3 == 1)
                drv_vq_enable_cb(&e->dq);
            xf_push_check(e, xs, k, 100 + r);
            total += k;
        }
        ck_assert_uint_gt(total, 65536);
        ck_assert_uint_eq(used_idx(e), (uint16_t)total);
    }

    /* avail_event: armed at the next entry */
    (void)drv_vq_kick_needed(&e->dq); /* start a fresh window */
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 0);
    xf_add(e, &xs[0], 900, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 1);
    xf_add(e, &xs[1], 901, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 0); /* not popped yet */
    /* popping with notifications on moves avail_event along */
    xf_serve(e, &xs[0], 900, 0, 1);
    xf_serve(e, &xs[1], 901, 0, 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 0);
    xf_add(e, &xs[2], 902, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 1);
    /* disabled: after the device moved on, no more kicks */
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 0), 0);
    xf_serve(e, &xs[2], 902, 0, 1);
    for (unsigned i = 0; i < 3; i++) {
        xf_add(e, &xs[i], 903 + i, NULL);
        drv_vq_publish(&e->dq);
        ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 0);
    }
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 1);
    for (unsigned i = 0; i < 3; i++)
        xf_serve(e, &xs[i], 903 + i, 0, 1);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 0);
    xf_add(e, &xs[3], 906, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 1);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- IN_ORDER ------------------------------------------------------- */

START_TEST(in_order_batch)
{
    struct vqenv *e = vqenv_new(32, VDM_F_IN_ORDER);
    struct xfer *xs = xf_layouts(e, 6, 1, 2, 12);
    struct vdm_used u[6];
    int ids[6];
    uint16_t before;
    uint8_t *ring;

    for (unsigned r = 0; r < 8; r++) { /* wraps the 32-entry ring */
        for (unsigned i = 0; i < 6; i++)
            ids[i] = xf_add(e, &xs[i], r * 10 + i, NULL);
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < 6; i++) {
            u[i].id = xf_serve(e, &xs[i], r * 10 + i, xs[i].wtotal, 0);
            u[i].len = xs[i].wtotal;
            ck_assert_uint_eq(u[i].id, (uint32_t)ids[i]);
        }
        u[5].len = 5;
        before = used_idx(e);
        ring = (uint8_t *)drv_vq_used_hva(&e->dq) + 4;
        memset(ring + 8u * ((before + 1u) & 31u), 0xab, 8);
        ck_assert_int_eq(
            vdm_vq_push_batch(&e->vq, u, 6, VDM_PUSH_F_INORDER_BATCH), 6);
        ck_assert_uint_eq(used_idx(e), (uint16_t)(before + 6));
        /* one entry, id of the last buffer; the next slot untouched */
        ck_assert_uint_eq(vdm_le32(ring + 8u * (before & 31u)), u[5].id);
        ck_assert_uint_eq(vdm_le32(ring + 8u * (before & 31u) + 4), 5);
        ck_assert_uint_eq(ring[8u * ((before + 1u) & 31u)], 0xab);
        ck_assert_int_eq(vdm_vq_should_notify(&e->vq),
                         drv_vq_interrupt_expected(&e->dq));
        for (unsigned i = 0; i < 6; i++) {
            struct drv_used du;

            ck_assert_int_eq(drv_vq_get_used_ex(&e->dq, &du), 1);
            ck_assert_uint_eq(du.id, (uint32_t)ids[i]);
            ck_assert_uint_eq(du.batched, i < 5 ? 1 : 0);
            ck_assert_uint_eq(du.len, i < 5 ? xs[i].wtotal : 5);
            ck_assert(gm_check(&e->gm, xs[i].in_gpa[0], xs[i].in_len[0],
                               (r * 10 + i) ^ 0x5555u, 0));
        }
    }
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- the entry points' state word ------------------------------------ */

/* Regression (class: entry check hoisted into one state word): the public
 * pop and push test one word for their common case; a queue that broke
 * with a chain in flight, one that was reset, and one with IN_ORDER must
 * still get every check of the general path. */
START_TEST(entry_state_word)
{
    struct vqenv *e = vqenv_new(16, 0);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 20);
    uint16_t id0, before;

    xf_add(e, &xs[0], 0, NULL);
    drv_vq_publish(&e->dq);
    vqenv_chain(e, 8);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1); /* one in flight */
    id0 = e->c.id;
    drv_vq_raw_avail(&e->dq, 1, 99); /* chain head >= queue size */
    drv_vq_raw_avail_idx(&e->dq, 2);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    before = used_idx(e);
    /* broken: the chain in flight is not pushed, nothing popped */
    ck_assert_int_eq(vdm_vq_push(&e->vq, id0, 0), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_uint_eq(used_idx(e), before);
    ck_assert_uint_eq(e->fault.count, 1);
    vdm_vq_reset(&e->vq);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_push(&e->vq, id0, 0), VDM_ESTATE);
    free(xs);
    vqenv_free(e);
}
END_TEST

/* The same with IN_ORDER (not in the common state): pushes in pop order
 * only. */
START_TEST(entry_state_word_in_order)
{
    struct vqenv *e = vqenv_new(16, VDM_F_IN_ORDER);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 20);

    {
        uint16_t ids[2];

        for (unsigned i = 0; i < 2; i++)
            xf_add(e, &xs[i], i, NULL);
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < 2; i++) {
            vqenv_chain(e, 8);
            ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
            ids[i] = e->c.id;
        }
        ck_assert_int_eq(vdm_vq_push(&e->vq, ids[1], 0), VDM_EINVAL);
        ck_assert_int_eq(vdm_vq_push(&e->vq, ids[0], 0), 0);
        ck_assert_int_eq(vdm_vq_push(&e->vq, ids[1], 0), 0);
        ck_assert_uint_eq(used_idx(e), 2);
    }
    ck_assert_uint_eq(e->fault.count, 0);
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- batches, errors ------------------------------------------------ */

START_TEST(push_batch_out_of_order)
{
    struct vqenv *e = vqenv_new(16, 0);
    struct xfer *xs = xf_layouts(e, 4, 1, 1, 20);
    struct vdm_used u[4];

    for (unsigned i = 0; i < 4; i++)
        xf_add(e, &xs[i], i, NULL);
    drv_vq_publish(&e->dq);
    for (unsigned i = 0; i < 4; i++) {
        u[3 - i].id = xf_serve(e, &xs[i], i, i, 0);
        u[3 - i].len = i;
    }
    ck_assert_uint_eq(used_idx(e), 0);
    ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 4, 0), 4);
    ck_assert_uint_eq(used_idx(e), 4);
    for (unsigned i = 0; i < 4; i++)
        xf_reap(e, &xs[3 - i], u[i].id, 3 - i, 3 - i);
    free(xs);
    ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 0, 0), 0);
    ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 1, VDM_PUSH_F_INORDER_BATCH),
                     VDM_EINVAL); /* IN_ORDER not negotiated */
    vqenv_free(e);
}
END_TEST

START_TEST(push_errors)
{
    struct vqenv *e = vqenv_new(16, 0);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 20);
    struct xfer x = xs[0];
    uint16_t a, b, before;

    xf_add(e, &xs[0], 1, NULL);
    xf_add(e, &xs[1], 2, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 1, x.wtotal, 0);
    b = xf_serve(e, &xs[1], 2, 0, 0);
    before = used_idx(e);
    ck_assert_int_eq(vdm_vq_push(&e->vq, 15, 0), VDM_EINVAL); /* not popped */
    ck_assert_int_eq(vdm_vq_push(&e->vq, 16, 0), VDM_EINVAL); /* >= num */
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, x.wtotal + 1), VDM_EINVAL);
    {
        /* one bad element: nothing published, nothing consumed */
        struct vdm_used u[3] = {{a, 1}, {b, xs[1].wtotal + 1}, {a, 0}};
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 2, 0), VDM_EINVAL);
        u[1].len = 0;
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 3, 0), VDM_EINVAL);
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, NULL, 1, 0), VDM_EINVAL);
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 1, 0x80), VDM_EINVAL);
    }
    ck_assert_uint_eq(used_idx(e), before);
    ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 2);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, x.wtotal), 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 0), VDM_EINVAL); /* twice */
    ck_assert_int_eq(vdm_vq_push(&e->vq, b, 0), 0);
    xf_reap(e, &xs[0], a, 1, x.wtotal);
    xf_reap(e, &xs[1], b, 2, 0);
    free(xs);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 0);
    ck_assert_uint_eq(e->fault.count, 0);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    vqenv_free(e);
}
END_TEST

/* ---- unpop, state --------------------------------------------------- */

START_TEST(unpop)
{
    struct vqenv *e = vqenv_new(8, 0);
    struct xfer *xs = xf_layouts(e, 2, 2, 1, 8);
    struct vdm_chain first;
    uint16_t a, b;

    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), VDM_ESTATE);
    xf_add(e, &xs[0], 1, NULL);
    xf_add(e, &xs[1], 2, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 1, 0, 0);
    first = e->c;
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), 0);
    ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 0);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), VDM_ESTATE);
    ck_assert_int_eq(xf_serve(e, &xs[0], 1, 0, 0), a); /* same chain again */
    b = xf_serve(e, &xs[1], 2, 0, 0);
    /* the older one is not the most recent */
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &first), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), 0);  /* b */
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &first), 0); /* then a */
    ck_assert_int_eq(xf_serve(e, &xs[0], 1, 0, 0), a);
    ck_assert_int_eq(xf_serve(e, &xs[1], 2, 3, 0), b);
    ck_assert_int_eq(vdm_vq_push(&e->vq, b, 3), 0);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), VDM_ESTATE); /* pushed */
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 0), 0);
    xf_reap(e, &xs[1], b, 2, 3);
    xf_reap(e, &xs[0], a, 1, 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 0);
    free(xs);
    vqenv_free(e);
}
END_TEST

START_TEST(state_resume)
{
    struct vqenv *e = vqenv_new(8, VDM_F_EVENT_IDX);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 8);
    struct xfer x = xs[0];
    struct vdm_vq_state s, s2;
    uint16_t a;

    for (uint32_t r = 0; r < 13; r++)
        xf_roundtrip(e, &x, r, 1);
    xf_add(e, &xs[0], 50, NULL);
    xf_add(e, &xs[1], 51, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 50, 2, 0);
    /* in flight: no set_state */
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);
    ck_assert_uint_eq(s.last_avail_idx, 14);
    ck_assert_uint_eq(s.used_idx, 13);
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 2), 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);

    /* a new device instance on the same rings resumes where this one
     * stopped: the pending chain is next */
    vdm_vq_reset(&e->vq);
    ck_assert_uint_eq(vdm_vq_num(&e->vq), 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ESTATE);
    memset(e->slots, 0xff, VDM_VQ_SLOTS(8) * sizeof(uint32_t));
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s), 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s2), 0);
    ck_assert_mem_eq(&s, &s2, sizeof(s));
    xf_serve(e, &xs[1], 51, 3, 1);
    xf_reap(e, &xs[0], a, 50, 2);
    xf_reap(e, &xs[1], (uint32_t)e->c.id, 51, 3);
    for (uint32_t r = 0; r < 20; r++)
        xf_roundtrip(e, &x, 100 + r, r % 8);
    s.reserved = 1;
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s), VDM_EINVAL);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- init ----------------------------------------------------------- */

START_TEST(init_checks)
{
    struct vqenv *e = vqenv_new(16, 0);
    struct vdm_vq_config c = e->cfg;
    uint64_t top = 0x10000 + MEM;

    c.size = (uint32_t)offsetof(struct vdm_vq_config, slots);
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_ESIZE);
    ck_assert_uint_eq(vdm_vq_num(&e->vq), 0);
    c = e->cfg;
    c.num = 0;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c.num = 12; /* split: power of two */
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.desc_addr += 8;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.driver_addr += 1;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.device_addr += 2;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.mem = NULL;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.slots = NULL;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    /* ring areas must lie entirely in guest memory */
    c = e->cfg;
    c.device_addr = top - 64; /* 6 + 8 * 16 bytes do not fit */
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    c = e->cfg;
    c.desc_addr = 0;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    c = e->cfg;
    c.driver_addr = top - 38; /* 6 + 2 * 16 = 38: fits exactly */
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), 0);
    c.driver_addr = top - 36;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    c = e->cfg;
    c.device_addr = UINT64_MAX - 3;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    /* read-only used ring */
    e->gm.regs[0].flags = VDM_MEM_REGION_RDONLY;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), VDM_EFAULT);
    e->gm.regs[0].flags = 0;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), 0);
    ck_assert_uint_eq(vdm_vq_num(&e->vq), 16);
    ck_assert_int_eq(vdm_vq_init(NULL, &e->cfg), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_init(&e->vq, NULL), VDM_EINVAL);
    vqenv_free(e);
}
END_TEST

/* ---- guest memory only through a translate hook --------------------- */

struct thook {
    struct drv_guest *g;
    unsigned ntrans, nunmap;
};

static int th_translate(void *host, uint64_t addr, uint64_t len,
                        uint32_t access, void **hva, uint64_t *maplen)
{
    struct thook *t = host;
    void *p = drv_gpa(t->g, addr, len);

    (void)access;
    if (p == NULL)
        return VDM_EFAULT;
    t->ntrans++;
    *hva = p;
    *maplen = len;
    return 0;
}

static void th_unmap(void *host, void *hva, uint64_t len)
{
    struct thook *t = host;

    (void)hva;
    (void)len;
    t->nunmap++;
}

static const struct vdm_mem_ops th_ops = {.size = sizeof(struct vdm_mem_ops),
                                          .translate = th_translate,
                                          .unmap = th_unmap};

START_TEST(hook_only_memory)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    struct vqenv *e = vqenv_new(8, VDM_F_INDIRECT_DESC);
    struct thook t = {.g = &e->gm.g};
    struct xfer x;

    vdm_vq_reset(&e->vq);
    e->gm.mem.nregions = 0;
    e->gm.mem.ops = &th_ops;
    e->gm.mem.host = &t;
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    ck_assert_uint_eq(t.ntrans, 3); /* three ring areas, kept mapped */
    ck_assert_uint_eq(t.nunmap, 0);
    xf_layout(e, &x, 2, 2, 30, DRV_ADD_INDIRECT);
    for (uint32_t r = 0; r < 5; r++) {
        int id = xf_add(e, &x, r, NULL);

        drv_vq_publish(&e->dq);
        xf_serve(e, &x, r, 7, 0);
        for (uint32_t i = 0; i < e->c.nread + e->c.nwrite; i++)
            ck_assert_uint_ne(e->c.iov[i].flags & VDM_IOV_F_HOOK, 0);
        vdm_mem_release(&e->gm.mem, e->c.iov, e->c.nread + e->c.nwrite);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 7), 0);
        xf_reap(e, &x, (uint32_t)id, r, 7);
    }
    /* 3 rings stay; everything else (tables, buffers) was given back */
    ck_assert_uint_eq(t.ntrans - t.nunmap, 3);
    vdm_vq_reset(&e->vq);
    ck_assert_uint_eq(t.ntrans, t.nunmap);
    vqenv_free(e);
}
END_TEST

/* ---- violations (the hostile suite has the full set) ---------------- */

static void expect_violation(struct vqenv *e, int err)
{
    vqenv_chain(e, 64);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    ck_assert_int_eq(e->fault.err, err);
    /* the reason: a static text, none with VDM_CONFIG_LOG_TEXT=0 */
    ck_assert(VDM_CONFIG_LOG_TEXT ? e->fault.why != NULL
                                  : e->fault.why == NULL);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_uint_eq(e->fault.count, 1);
}

enum {
    V_LOOP,
    V_NEXT_RANGE,
    V_HEAD_RANGE,
    V_AVAIL_AHEAD,
    V_READ_AFTER_WRITE,
    V_OUTSIDE,
    V_PARTLY_OUTSIDE,
    V_WRAPS,
    V_IND_LEN,
    V_IND_ZERO,
    V_IND_NESTED,
    V_IND_NEXT,
    V_IND_OUTSIDE,
    V_HEAD_IN_FLIGHT,
    V_COUNT
};

START_TEST(violations)
{
    struct vqenv *e = vqenv_new(8, VDM_F_INDIRECT_DESC);
    uint64_t b = drv_alloc(&e->gm.g, 64, 16);
    uint64_t t = drv_alloc(&e->gm.g, 64, 16);
    uint64_t top = 0x10000 + VQENV_MEM;
    int err = VDM_EPROTO;
    uint8_t *tab = gm_ptr(&e->gm, t, 64);

    drv_vq_raw_avail(&e->dq, 0, 0);
    drv_vq_raw_desc(&e->dq, 0, b, 16, 0, 0);
    switch (_i) {
    case V_LOOP:
        drv_vq_raw_desc(&e->dq, 0, b, 16, DRV_DESC_F_NEXT, 1);
        drv_vq_raw_desc(&e->dq, 1, b, 16, DRV_DESC_F_NEXT, 0);
        break;
    case V_NEXT_RANGE:
        drv_vq_raw_desc(&e->dq, 0, b, 16, DRV_DESC_F_NEXT, 8);
        break;
    case V_HEAD_RANGE: drv_vq_raw_avail(&e->dq, 0, 8); break;
    case V_AVAIL_AHEAD:
        drv_vq_raw_avail_idx(&e->dq, 9);
        expect_violation(e, VDM_EPROTO);
        vqenv_free(e);
        return;
    case V_READ_AFTER_WRITE:
        drv_vq_raw_desc(&e->dq, 0, b, 16, DRV_DESC_F_NEXT | DRV_DESC_F_WRITE,
                        1);
        drv_vq_raw_desc(&e->dq, 1, b, 16, 0, 0);
        break;
    case V_OUTSIDE:
        drv_vq_raw_desc(&e->dq, 0, 0x7000000000ull, 16, 0, 0);
        err = VDM_EFAULT;
        break;
    case V_PARTLY_OUTSIDE:
        drv_vq_raw_desc(&e->dq, 0, top - 8, 16, DRV_DESC_F_WRITE, 0);
        err = VDM_EFAULT;
        break;
    case V_WRAPS:
        drv_vq_raw_desc(&e->dq, 0, UINT64_MAX - 4, 16, 0, 0);
        err = VDM_EFAULT;
        break;
    case V_IND_LEN:
        drv_vq_raw_desc(&e->dq, 0, t, 24, DRV_DESC_F_INDIRECT, 0);
        break;
    case V_IND_ZERO:
        drv_vq_raw_desc(&e->dq, 0, t, 0, DRV_DESC_F_INDIRECT, 0);
        break;
    case V_IND_NESTED:
        drv_put_le64(tab, t);
        drv_put_le32(tab + 8, 16);
        drv_put_le16(tab + 12, DRV_DESC_F_INDIRECT);
        drv_vq_raw_desc(&e->dq, 0, t, 32, DRV_DESC_F_INDIRECT, 0);
        break;
    case V_IND_NEXT:
        drv_vq_raw_desc(&e->dq, 0, t, 32, DRV_DESC_F_INDIRECT | DRV_DESC_F_NEXT,
                        1);
        break;
    case V_IND_OUTSIDE:
        drv_vq_raw_desc(&e->dq, 0, top - 16, 32, DRV_DESC_F_INDIRECT, 0);
        err = VDM_EFAULT;
        break;
    case V_HEAD_IN_FLIGHT:
        drv_vq_raw_avail_idx(&e->dq, 1);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        drv_vq_raw_avail(&e->dq, 1, 0);
        drv_vq_raw_avail_idx(&e->dq, 2);
        expect_violation(e, VDM_EPROTO);
        vqenv_free(e);
        return;
    default: break;
    }
    drv_vq_raw_avail_idx(&e->dq, 1);
    expect_violation(e, err);
    vqenv_free(e);
}
END_TEST

START_TEST(total_length_2_32)
{
    /* two mapped descriptors of 2^32 - 1 and 1 bytes: the total is 2^32 */
    struct vqenv *e = malloc(sizeof(*e));
    uint64_t b;

    ck_assert_ptr_nonnull(e);
    vqenv_setup(e, 4, 0, (5ull << 30));
    b = drv_alloc(&e->gm.g, 1ull << 32, 16);
    drv_vq_raw_desc(&e->dq, 0, b, UINT32_MAX, DRV_DESC_F_NEXT, 1);
    drv_vq_raw_desc(&e->dq, 1, b, 1, 0, 0);
    drv_vq_raw_avail(&e->dq, 0, 0);
    drv_vq_raw_avail_idx(&e->dq, 1);
    expect_violation(e, VDM_EPROTO);
    vqenv_free(e);
}
END_TEST

/* A fault hook that resets the queue from inside the failing pop: the pop
 * must have released everything before calling it. */
struct reset_ctx {
    struct vdm_vq *vq;
    unsigned calls;
};

static void reset_fault(void *ctx, uint16_t qidx, int err, const char *why)
{
    struct reset_ctx *r = ctx;

    (void)qidx;
    (void)err;
    (void)why;
    r->calls++;
    vdm_vq_reset(r->vq);
}

static const struct vdm_vq_ops reset_ops = {.size = sizeof(struct vdm_vq_ops),
                                            .fault = reset_fault};

START_TEST(fault_hook_resets_queue)
{
    struct vqenv *e = vqenv_new(8, VDM_F_INDIRECT_DESC);
    struct thook t = {.g = &e->gm.g};
    struct reset_ctx rc = {.vq = &e->vq};
    uint64_t tab = drv_alloc(&e->gm.g, 64, 16);
    uint64_t b = drv_alloc(&e->gm.g, 64, 16);
    uint8_t *tp = gm_ptr(&e->gm, tab, 64);

    vdm_vq_reset(&e->vq);
    e->gm.mem.nregions = 0; /* everything through the hook */
    e->gm.mem.ops = &th_ops;
    e->gm.mem.host = &t;
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    e->cfg.ops = &reset_ops;
    e->cfg.ctx = &rc;
    vdm_vq_reset(&e->vq);
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), 0);
    /* table: one good readable entry, then one outside memory */
    drv_put_le64(tp, b);
    drv_put_le32(tp + 8, 16);
    drv_put_le16(tp + 12, DRV_DESC_F_NEXT);
    drv_put_le16(tp + 14, 1);
    drv_put_le64(tp + 16, 0x7000000000ull);
    drv_put_le32(tp + 24, 16);
    drv_vq_raw_desc(&e->dq, 0, tab, 32, DRV_DESC_F_INDIRECT, 0);
    drv_vq_raw_avail(&e->dq, 0, 0);
    drv_vq_raw_avail_idx(&e->dq, 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(rc.calls, 1);
    ck_assert_uint_eq(vdm_vq_num(&e->vq), 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ESTATE);
    /* rings, table and the first buffer span were all given back */
    ck_assert_uint_eq(t.ntrans, t.nunmap);
    vqenv_free(e);
}
END_TEST

static Suite *split_suite(void)
{
    Suite *s = suite_create("split");
    TCase *tc = tcase_create("chains");

    tcase_add_test(tc, chain_whole_queue);
    tcase_add_test(tc, indirect);
    tcase_add_test(tc, indirect_longer_than_queue);
    tcase_add_test(tc, indirect_not_negotiated);
    tcase_add_test(tc, zero_length_descriptor);
    tcase_add_test(tc, straddling_regions);
    tcase_add_test(tc, enospc_truncates);
    tcase_add_test(tc, hook_only_memory);
    suite_add_tcase(s, tc);

    tc = tcase_create("violations");
    tcase_add_loop_test(tc, violations, 0, V_COUNT);
    tcase_add_test(tc, total_length_2_32);
    tcase_add_test(tc, fault_hook_resets_queue);
    suite_add_tcase(s, tc);

    tc = tcase_create("notify");
    tcase_add_test(tc, notify_event_idx);
    suite_add_tcase(s, tc);

    tc = tcase_create("push");
    tcase_add_test(tc, in_order_batch);
    tcase_add_test(tc, entry_state_word);
    tcase_add_test(tc, entry_state_word_in_order);
    tcase_add_test(tc, push_batch_out_of_order);
    tcase_add_test(tc, push_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, unpop);
    tcase_add_test(tc, state_resume);
    tcase_add_test(tc, init_checks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(split_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
