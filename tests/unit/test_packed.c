/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed virtqueue, device side, against the driver simulator: what is
 * particular to the packed layout (what both layouts share is in
 * test_ring.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "le.h"
#include "vdm/virtqueue.h"

#define P       VDM_F_RING_PACKED
#define F_AVAIL (1u << 7)
#define F_USED  (1u << 15)

/* device used position as off | wrap << 15 */
static uint16_t dev_used(struct vqenv *e)
{
    struct vdm_vq_state s;

    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);
    return (uint16_t)(s.used_idx | (s.used_wrap << 15));
}

static uint8_t *ring_desc(struct vqenv *e, uint32_t i)
{
    return (uint8_t *)drv_vq_desc_hva(&e->dq) + 16u * i;
}

/* ---- chains --------------------------------------------------------- */

START_TEST(chain_whole_ring_odd_size)
{
    /* packed sizes need not be powers of two; a list may fill the ring */
    struct vqenv *e = vqenv_new(7, P);
    struct xfer x, y;

    xf_layout(e, &x, 4, 3, 5, DRV_ADD_DIRECT);
    xf_layout(e, &y, 2, 1, 9, DRV_ADD_DIRECT);
    for (uint32_t r = 0; r < 9; r++) {
        xf_roundtrip(e, &x, r, 20);
        ck_assert_uint_eq(e->c.ndesc, 7);
        xf_roundtrip(e, &y, 50 + r, 1); /* misaligns the next lap */
    }
    vqenv_free(e);
}
END_TEST

START_TEST(indirect)
{
    struct vqenv *e = vqenv_new(64, P | VDM_F_INDIRECT_DESC);
    struct xfer x;

    xf_layout(e, &x, 2, 1, 10, DRV_ADD_INDIRECT);
    xf_roundtrip(e, &x, 1, 4);
    ck_assert_uint_eq(e->c.ndesc, 1);
    ck_assert_uint_eq(e->c.nread, 2);
    xf_layout(e, &x, 40, 24, 3, DRV_ADD_INDIRECT);
    for (uint32_t r = 0; r < 70; r++) /* every ring slot, both wraps */
        xf_roundtrip(e, &x, 2 + r, x.wtotal - r);
    ck_assert_uint_eq(e->c.ndesc, 1);
    ck_assert_uint_eq(e->c.nread + e->c.nwrite, 64);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect_not_negotiated)
{
    struct vqenv *e = vqenv_new(8, P);
    uint64_t tab = drv_alloc(&e->gm.g, 32, 16);

    drv_vq_raw_desc(&e->dq, 0, tab, 32, DRV_DESC_F_INDIRECT | F_AVAIL, 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    ck_assert_int_eq(e->fault.err, VDM_EPROTO);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_int_eq(vdm_vq_has_avail(&e->vq), VDM_EBROKEN);
    ck_assert_uint_eq(e->fault.count, 1);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect_with_next)
{
    /* "MUST NOT write direct descriptors with VIRTQ_DESC_F_INDIRECT set in
     * a scatter-gather list linked by VIRTQ_DESC_F_NEXT" */
    struct vqenv *e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    uint64_t tab = drv_alloc(&e->gm.g, 32, 16);
    uint64_t buf = drv_alloc(&e->gm.g, 32, 16);

    drv_vq_raw_desc(&e->dq, 1, tab, 32, DRV_DESC_F_INDIRECT | F_AVAIL, 0);
    drv_vq_raw_desc(&e->dq, 0, buf, 32, DRV_DESC_F_NEXT | F_AVAIL, 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    vqenv_free(e);
}
END_TEST

START_TEST(bad_buffer_ids)
{
    struct vqenv *e = vqenv_new(8, P);
    uint64_t buf = drv_alloc(&e->gm.g, 32, 16);

    /* id >= queue size */
    drv_vq_raw_desc(&e->dq, 0, buf, 32, F_AVAIL, 8);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    vqenv_free(e);

    /* id still in flight */
    e = vqenv_new(8, P);
    buf = drv_alloc(&e->gm.g, 32, 16);
    drv_vq_raw_desc(&e->dq, 0, buf, 32, F_AVAIL, 5);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.id, 5);
    drv_vq_raw_desc(&e->dq, 1, buf, 32, F_AVAIL, 5);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(e->fault.count, 1);
    vqenv_free(e);

    /* a list running into a slot not made available */
    e = vqenv_new(8, P);
    buf = drv_alloc(&e->gm.g, 32, 16);
    drv_vq_raw_desc(&e->dq, 0, buf, 32, F_AVAIL | DRV_DESC_F_NEXT, 0);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    vqenv_free(e);
}
END_TEST

START_TEST(zero_length_descriptor)
{
    struct vqenv *e = vqenv_new(8, P);
    uint64_t a = drv_alloc(&e->gm.g, 64, 1), b = drv_alloc(&e->gm.g, 64, 1);
    struct drv_buf out[2] = {{.gpa = a, .len = 64},
                             {.gpa = 0xdead00000000ull, .len = 0}};
    struct drv_buf in[1] = {{.gpa = b, .len = 64}};
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
    ck_assert_uint_eq(e->c.iov[0].len, 64);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 64), 0);
    ck_assert_int_eq(drv_vq_get_used(&e->dq, &id, &len, NULL), 1);
    ck_assert_uint_eq(id, (uint32_t)h);
    ck_assert_uint_eq(len, 64);
    vqenv_free(e);
}
END_TEST

START_TEST(enospc_truncates)
{
    struct vqenv *e = vqenv_new(16, P);
    struct xfer x;
    struct drv_used u;
    int id;

    xf_layout(e, &x, 2, 3, 10, DRV_ADD_DIRECT);
    id = xf_add(e, &x, 1, NULL);
    drv_vq_publish(&e->dq);
    vqenv_chain(e, 3);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_ENOSPC);
    ck_assert_int_eq(e->c.id, id);
    ck_assert_uint_eq(e->c.ndesc, 5);
    ck_assert_uint_eq(e->c.nread, 2);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->c.write_len, x.in_len[0]);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, x.in_len[0] + 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
    ck_assert_int_eq(drv_vq_get_used_ex(&e->dq, &u), 1);
    ck_assert_uint_eq(u.id, (uint32_t)id);
    /* the next chain is found after skipping all five descriptors */
    xf_roundtrip(e, &x, 2, 5);
    vqenv_free(e);
}
END_TEST

/* ---- notifications -------------------------------------------------- */

START_TEST(notify_event_idx)
{
    /* odd size, 2-descriptor chains: event slots that are skipped (not
     * chain heads) must still trigger */
    struct vqenv *e = vqenv_new(13, P | VDM_F_EVENT_IDX);
    struct xfer *xs = xf_layouts(e, 5, 1, 1, 8);

    xf_push_check(e, xs, 1, 1);
    for (unsigned r = 0; r < 3000; r++) {
        uint16_t u = dev_used(e);
        uint32_t off = u & 0x7fffu, wrap = u >> 15;
        uint32_t ahead = r % 9; /* 0 .. 8 slots ahead */

        off += ahead;
        if (off >= 13) {
            off -= 13;
            wrap ^= 1;
        }
        switch (r % 4) {
        case 0:
            drv_vq_enable_cb_at(&e->dq, (uint16_t)(off | wrap << 15));
            break;
        case 1: drv_vq_enable_cb(&e->dq); break;
        case 2: drv_vq_disable_cb(&e->dq); break;
        default: break;
        }
        xf_push_check(e, xs, 1 + r % 4, 100 + r);
    }
    /* exact cases: event slot = second descriptor of the next chain */
    {
        uint16_t u = dev_used(e);
        uint32_t off = (u & 0x7fffu) + 1, wrap = u >> 15;

        if (off >= 13) {
            off -= 13;
            wrap ^= 1;
        }
        drv_vq_enable_cb_at(&e->dq, (uint16_t)(off | wrap << 15));
        xf_add(e, &xs[0], 7, NULL);
        drv_vq_publish(&e->dq);
        xf_serve(e, &xs[0], 7, 1, 1);
        ck_assert_int_eq(vdm_vq_should_notify(&e->vq), 1);
        ck_assert_int_eq(drv_vq_interrupt_expected(&e->dq), 1);
        xf_reap(e, &xs[0], e->c.id, 7, 1);
        xf_add(e, &xs[0], 8, NULL);
        drv_vq_publish(&e->dq);
        xf_serve(e, &xs[0], 8, 1, 1);
        ck_assert_int_eq(vdm_vq_should_notify(&e->vq), 0); /* passed */
        ck_assert_int_eq(drv_vq_interrupt_expected(&e->dq), 0);
        xf_reap(e, &xs[0], e->c.id, 8, 1);
    }
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    ck_assert_uint_eq(e->fault.count, 0);
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- IN_ORDER ------------------------------------------------------- */

START_TEST(in_order_batch)
{
    struct vqenv *e = vqenv_new(20, P | VDM_F_IN_ORDER);
    struct xfer *xs = calloc(5, sizeof(*xs));
    struct vdm_used u[5];
    int ids[5];

    ck_assert_ptr_nonnull(xs);
    for (unsigned i = 0; i < 5; i++) /* 1 to 3 descriptors each */
        xf_layout(e, &xs[i], 1, i % 3, 6 + i, DRV_ADD_DIRECT);
    for (unsigned r = 0; r < 12; r++) { /* wraps the 20-slot ring */
        uint16_t first = dev_used(e);
        uint32_t total = 0;
        uint8_t *d;

        for (unsigned i = 0; i < 5; i++)
            ids[i] = xf_add(e, &xs[i], r * 10 + i, NULL);
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < 5; i++) {
            u[i].id = xf_serve(e, &xs[i], r * 10 + i, xs[i].wtotal, 0);
            u[i].len = xs[i].wtotal;
            ck_assert_uint_eq(u[i].id, (uint32_t)ids[i]);
            total += e->c.ndesc;
        }
        u[4].len = 2;
        ck_assert_int_eq(
            vdm_vq_push_batch(&e->vq, u, 5, VDM_PUSH_F_INORDER_BATCH), 5);
        /* one used descriptor at the first position, id of the last */
        d = ring_desc(e, first & 0x7fffu);
        ck_assert_uint_eq(vdm_le16(d + 12), u[4].id);
        ck_assert_uint_eq(vdm_le32(d + 8), 2);
        ck_assert_uint_eq(vdm_le16(d + 14) & (F_AVAIL | F_USED),
                          (first >> 15) ? (F_AVAIL | F_USED) : 0);
        /* the used position skipped the whole batch */
        {
            uint32_t want = (first & 0x7fffu) + total, w = first >> 15;

            if (want >= 20) {
                want -= 20;
                w ^= 1;
            }
            ck_assert_uint_eq(dev_used(e), want | w << 15);
        }
        ck_assert_int_eq(vdm_vq_should_notify(&e->vq),
                         drv_vq_interrupt_expected(&e->dq));
        for (unsigned i = 0; i < 5; i++) {
            struct drv_used du;

            ck_assert_int_eq(drv_vq_get_used_ex(&e->dq, &du), 1);
            ck_assert_uint_eq(du.id, (uint32_t)ids[i]);
            ck_assert_uint_eq(du.batched, i < 4 ? 1 : 0);
            ck_assert_uint_eq(du.len, i < 4 ? xs[i].wtotal : 2);
        }
    }
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- batches, errors ------------------------------------------------ */

START_TEST(push_batch_out_of_order)
{
    /* chains of 3, 1 and 2 descriptors completed newest first: each used
     * descriptor is written where the previous one's skip ends */
    struct vqenv *e = vqenv_new(10, P);
    struct xfer xs[3];
    struct vdm_used u[3];
    uint32_t ndesc[3];

    xf_layout(e, &xs[0], 2, 1, 5, DRV_ADD_DIRECT);
    xf_layout(e, &xs[1], 1, 0, 6, DRV_ADD_DIRECT);
    xf_layout(e, &xs[2], 1, 1, 7, DRV_ADD_DIRECT);
    for (unsigned r = 0; r < 7; r++) {
        for (unsigned i = 0; i < 3; i++)
            xf_add(e, &xs[i], r * 3 + i, NULL);
        drv_vq_publish(&e->dq);
        for (unsigned i = 0; i < 3; i++) {
            u[2 - i].id = xf_serve(e, &xs[i], r * 3 + i, xs[i].wtotal, 0);
            u[2 - i].len = xs[i].wtotal;
            ndesc[i] = e->c.ndesc;
        }
        ck_assert_uint_eq(ndesc[0] + ndesc[1] + ndesc[2], 6);
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 3, 0), 3);
        for (unsigned i = 0; i < 3; i++)
            xf_reap(e, &xs[2 - i], u[i].id, r * 3 + 2 - i, u[i].len);
    }
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    vqenv_free(e);
}
END_TEST

START_TEST(push_errors)
{
    struct vqenv *e = vqenv_new(16, P);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 20);
    uint16_t a, b, before;

    xf_add(e, &xs[0], 1, NULL);
    xf_add(e, &xs[1], 2, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 1, xs[0].wtotal, 0);
    b = xf_serve(e, &xs[1], 2, 0, 0);
    before = dev_used(e);
    ck_assert_int_eq(vdm_vq_push(&e->vq, (uint16_t)(a ^ b ^ 7), 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_push(&e->vq, 16, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, xs[0].wtotal + 1), VDM_EINVAL);
    {
        struct vdm_used u[3] = {{a, 1}, {b, 0}, {b, 0}};
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 3, 0), VDM_EINVAL);
        ck_assert_int_eq(
            vdm_vq_push_batch(&e->vq, u, 1, VDM_PUSH_F_INORDER_BATCH),
            VDM_EINVAL);
    }
    ck_assert_uint_eq(dev_used(e), before);
    ck_assert_int_eq(drv_vq_more_used(&e->dq), 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, xs[0].wtotal), 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_push(&e->vq, b, 0), 0);
    xf_reap(e, &xs[0], a, 1, xs[0].wtotal);
    xf_reap(e, &xs[1], b, 2, 0);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    ck_assert_uint_eq(e->fault.count, 0);
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- unpop, state --------------------------------------------------- */

START_TEST(unpop_across_wrap)
{
    /* ring of 4: a 3-descriptor chain starting at slot 2 wraps; giving it
     * back restores position and wrap counter */
    struct vqenv *e = vqenv_new(4, P);
    struct xfer x1, x3;
    struct vdm_vq_state s0, s1;
    uint16_t id;

    xf_layout(e, &x1, 1, 0, 5, DRV_ADD_DIRECT);
    xf_layout(e, &x3, 2, 1, 5, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x1, 1, 0);
    xf_roundtrip(e, &x1, 2, 0);
    xf_add(e, &x3, 3, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s0), 0);
    ck_assert_uint_eq(s0.last_avail_idx, 2);
    ck_assert_uint_eq(s0.avail_wrap, 1);
    id = xf_serve(e, &x3, 3, 0, 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s1), 0);
    ck_assert_uint_eq(s1.last_avail_idx, 1);
    ck_assert_uint_eq(s1.avail_wrap, 0);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s1), 0);
    ck_assert_mem_eq(&s0, &s1, sizeof(s0));
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), VDM_ESTATE);
    ck_assert_int_eq(xf_serve(e, &x3, 3, 2, 1), id);
    xf_reap(e, &x3, id, 3, 2);
    xf_roundtrip(e, &x1, 4, 0);
    vqenv_free(e);
}
END_TEST

START_TEST(unpop_two)
{
    struct vqenv *e = vqenv_new(8, P);
    struct xfer *xs = xf_layouts(e, 2, 2, 1, 8);
    struct vdm_chain first;
    uint16_t a, b;

    xf_add(e, &xs[0], 1, NULL);
    xf_add(e, &xs[1], 2, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 1, 0, 0);
    first = e->c;
    b = xf_serve(e, &xs[1], 2, 0, 0);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &first), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &e->c), 0);
    ck_assert_int_eq(vdm_vq_unpop(&e->vq, &first), 0);
    ck_assert_uint_eq(vdm_vq_in_flight(&e->vq), 0);
    ck_assert_int_eq(xf_serve(e, &xs[0], 1, 1, 1), a);
    ck_assert_int_eq(xf_serve(e, &xs[1], 2, 2, 1), b);
    xf_reap(e, &xs[0], a, 1, 1);
    xf_reap(e, &xs[1], b, 2, 2);
    free(xs);
    vqenv_free(e);
}
END_TEST

START_TEST(state_resume)
{
    struct vqenv *e = vqenv_new(6, P | VDM_F_EVENT_IDX);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 8);
    struct vdm_vq_state s, s2;
    uint16_t a;

    for (uint32_t r = 0; r < 9; r++) /* past the first wrap */
        xf_roundtrip(e, &xs[r & 1], r, 1);
    xf_add(e, &xs[0], 50, NULL);
    xf_add(e, &xs[1], 51, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 50, 2, 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s), VDM_ESTATE);
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 2), 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);
    ck_assert_uint_eq(s.avail_wrap, 0); /* 20 descriptors into a 6 ring */
    ck_assert_uint_eq(s.last_avail_idx, 20 - 18);

    vdm_vq_reset(&e->vq);
    memset(e->slots, 0xff, VDM_VQ_SLOTS(6) * sizeof(uint32_t));
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s), 0);
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s2), 0);
    ck_assert_mem_eq(&s, &s2, sizeof(s));
    xf_serve(e, &xs[1], 51, 3, 1);
    xf_reap(e, &xs[0], a, 50, 2);
    xf_reap(e, &xs[1], e->c.id, 51, 3);
    for (uint32_t r = 0; r < 20; r++)
        xf_roundtrip(e, &xs[r & 1], 100 + r, r % 8);
    /* packed positions are ring slots with a 1-bit wrap */
    s2 = s;
    s2.last_avail_idx = 6;
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s2), VDM_EINVAL);
    s2 = s;
    s2.used_wrap = 2;
    ck_assert_int_eq(vdm_vq_set_state(&e->vq, &s2), VDM_EINVAL);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

START_TEST(init_checks)
{
    struct vqenv *e = vqenv_new(3, P);
    struct vdm_vq_config c = e->cfg;
    uint64_t top = 0x10000 + VQENV_MEM;

    ck_assert_uint_eq(vdm_vq_num(&e->vq), 3);
    c.num = 0;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.driver_addr += 2; /* event suppression: 4-aligned */
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.device_addr += 2;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EINVAL);
    c = e->cfg;
    c.desc_addr = top - 32; /* 48 bytes needed */
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    c.desc_addr = top - 48;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), 0);
    c = e->cfg;
    c.device_addr = top;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), VDM_EFAULT);
    c.device_addr = top - 4;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &c), 0);
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    xf_push_check(e, &(struct xfer){0}, 0, 0); /* nothing: no notify */
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
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 1);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EBROKEN);
    ck_assert_uint_eq(e->fault.count, 1);
}

START_TEST(read_after_write)
{
    struct vqenv *e = vqenv_new(8, P);
    uint64_t b = drv_alloc(&e->gm.g, 64, 16);

    drv_vq_raw_desc(&e->dq, 1, b, 16, F_AVAIL, 0);
    drv_vq_raw_desc(&e->dq, 0, b, 16,
                    F_AVAIL | DRV_DESC_F_WRITE | DRV_DESC_F_NEXT, 0);
    expect_violation(e, VDM_EPROTO);
    vqenv_free(e);
}
END_TEST

START_TEST(ring_overrun)
{
    /* with 6 of 8 descriptors in flight, a 3-descriptor list can only be
     * there by overwriting in-flight descriptors */
    struct vqenv *e = vqenv_new(8, P);
    struct xfer x;
    uint64_t b = drv_alloc(&e->gm.g, 64, 16);

    xf_layout(e, &x, 3, 3, 4, DRV_ADD_DIRECT);
    xf_add(e, &x, 1, NULL);
    drv_vq_publish(&e->dq);
    xf_serve(e, &x, 1, 0, 0);
    /* slot 0 of the next lap: wrap 0, AVAIL clear, USED set */
    drv_vq_raw_desc(&e->dq, 0, b, 16, F_USED, 3);
    drv_vq_raw_desc(&e->dq, 7, b, 16, F_AVAIL | DRV_DESC_F_NEXT, 3);
    drv_vq_raw_desc(&e->dq, 6, b, 16, F_AVAIL | DRV_DESC_F_NEXT, 3);
    expect_violation(e, VDM_EPROTO);
    vqenv_free(e);
}
END_TEST

START_TEST(outside_memory)
{
    struct vqenv *e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    uint64_t top = 0x10000 + VQENV_MEM;

    drv_vq_raw_desc(&e->dq, 0, top - 4, 16, F_AVAIL | DRV_DESC_F_WRITE, 0);
    expect_violation(e, VDM_EFAULT);
    vqenv_free(e);

    e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    drv_vq_raw_desc(&e->dq, 0, top - 16, 32, F_AVAIL | DRV_DESC_F_INDIRECT, 0);
    expect_violation(e, VDM_EFAULT);
    vqenv_free(e);
}
END_TEST

START_TEST(indirect_tables)
{
    struct vqenv *e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    uint64_t t = drv_alloc(&e->gm.g, 64, 16);
    uint8_t *tab = gm_ptr(&e->gm, t, 64);

    drv_vq_raw_desc(&e->dq, 0, t, 40, F_AVAIL | DRV_DESC_F_INDIRECT, 0);
    expect_violation(e, VDM_EPROTO);
    vqenv_free(e);

    e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    t = drv_alloc(&e->gm.g, 64, 16);
    tab = gm_ptr(&e->gm, t, 64);
    drv_put_le64(tab, t);
    drv_put_le32(tab + 8, 16);
    drv_put_le16(tab + 14, DRV_DESC_F_INDIRECT);
    drv_vq_raw_desc(&e->dq, 0, t, 16, F_AVAIL | DRV_DESC_F_INDIRECT, 0);
    expect_violation(e, VDM_EPROTO);
    vqenv_free(e);

    /* NEXT and the id inside a table are reserved and ignored */
    e = vqenv_new(8, P | VDM_F_INDIRECT_DESC);
    t = drv_alloc(&e->gm.g, 64, 16);
    tab = gm_ptr(&e->gm, t, 64);
    drv_put_le64(tab, t + 32);
    drv_put_le32(tab + 8, 8);
    drv_put_le16(tab + 12, 77);
    drv_put_le16(tab + 14, DRV_DESC_F_NEXT);
    drv_put_le64(tab + 16, t + 40);
    drv_put_le32(tab + 24, 8);
    drv_put_le16(tab + 30, DRV_DESC_F_WRITE | DRV_DESC_F_NEXT);
    drv_vq_raw_desc(&e->dq, 0, t, 32, F_AVAIL | DRV_DESC_F_INDIRECT, 2);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
    ck_assert_uint_eq(e->c.id, 2);
    ck_assert_uint_eq(e->c.nread, 1);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

static Suite *packed_suite(void)
{
    Suite *s = suite_create("packed");
    TCase *tc = tcase_create("chains");

    tcase_add_test(tc, chain_whole_ring_odd_size);
    tcase_add_test(tc, indirect);
    tcase_add_test(tc, indirect_not_negotiated);
    tcase_add_test(tc, indirect_with_next);
    tcase_add_test(tc, bad_buffer_ids);
    tcase_add_test(tc, zero_length_descriptor);
    tcase_add_test(tc, enospc_truncates);
    tcase_add_test(tc, read_after_write);
    tcase_add_test(tc, ring_overrun);
    tcase_add_test(tc, outside_memory);
    tcase_add_test(tc, indirect_tables);
    suite_add_tcase(s, tc);

    tc = tcase_create("notify");
    tcase_add_test(tc, notify_event_idx);
    suite_add_tcase(s, tc);

    tc = tcase_create("push");
    tcase_add_test(tc, in_order_batch);
    tcase_add_test(tc, push_batch_out_of_order);
    tcase_add_test(tc, push_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, unpop_across_wrap);
    tcase_add_test(tc, unpop_two);
    tcase_add_test(tc, state_resume);
    tcase_add_test(tc, init_checks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(packed_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
