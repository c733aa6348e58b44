/* SPDX-License-Identifier: BSD-3-Clause */
/* Virtqueue behaviour that is the same for both layouts, device side,
 * against the driver simulator: every test runs once on split rings and
 * once on packed rings (one Check case per layout). Layout-specific,
 * byte-level tests stay in test_split.c and test_packed.c. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "le.h"
#include "vdm/virtqueue.h"

/* The layout under test: 0 (split) or VDM_F_RING_PACKED; set by the
 * case's fixture (in the forked child). */
static uint64_t L;
#define PACKED (L != 0)

static void layout_split(void)
{
    L = 0;
}

static void layout_packed(void)
{
    L = VDM_F_RING_PACKED;
}

/* ---- chains --------------------------------------------------------- */

START_TEST(chain_1)
{
    struct vqenv *e = vqenv_new(256, L);
    struct xfer x;

    xf_layout(e, &x, 1, 0, 100, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x, 1, 0);
    ck_assert_uint_eq(e->c.nread, 1);
    ck_assert_uint_eq(e->c.nwrite, 0);
    ck_assert_uint_eq(e->c.ndesc, 1);
    xf_layout(e, &x, 0, 1, 300, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x, 2, 300);
    ck_assert_uint_eq(e->c.nread, 0);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->c.iov[0].flags, VDM_IOV_F_WRITE);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 0);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

START_TEST(chain_3)
{
    struct vqenv *e = vqenv_new(256, L);
    struct xfer x;

    xf_layout(e, &x, 2, 1, 16, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x, 7, x.wtotal);
    ck_assert_uint_eq(e->c.nread, 2);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_uint_eq(e->c.ndesc, 3);
    ck_assert_uint_eq(e->c.iov[0].flags, 0);
    ck_assert_uint_eq(e->c.iov[2].flags, VDM_IOV_F_WRITE);
    /* written less than the writable part */
    xf_roundtrip(e, &x, 8, 3);
    if (PACKED) {
        /* the id is read from the last descriptor only (the others carry
         * ~id), or from all when the driver writes it everywhere */
        drv_vq_set_opts(&e->dq, DRV_OPT_PACKED_ID_ALL);
        xf_roundtrip(e, &x, 9, 1);
    }
    vqenv_free(e);
}
END_TEST

START_TEST(chain_64)
{
    struct vqenv *e = vqenv_new(256, L);
    struct xfer x;

    xf_layout(e, &x, 32, 32, 1, DRV_ADD_DIRECT);
    /* split: the free list gets scattered; packed: crosses the ring end
     * twice */
    for (uint32_t r = 0; r < (PACKED ? 10u : 6u); r++)
        xf_roundtrip(e, &x, 100 + r, x.wtotal - r);
    ck_assert_uint_eq(e->c.nread, 32);
    ck_assert_uint_eq(e->c.nwrite, 32);
    ck_assert_uint_eq(e->c.ndesc, 64);
    vqenv_free(e);
}
END_TEST

/* ---- notifications -------------------------------------------------- */

START_TEST(notify_flags)
{
    struct vqenv *e = vqenv_new(32, L);
    struct xfer *xs = xf_layouts(e, 5, 1, 1, 8);

    /* used buffer notifications follow NO_INTERRUPT */
    xf_push_check(e, xs, 1, 1);
    drv_vq_disable_cb(&e->dq);
    xf_push_check(e, xs, 3, 10);
    drv_vq_enable_cb(&e->dq);
    xf_push_check(e, xs, 2, 20);
    ck_assert_int_eq(vdm_vq_should_notify(&e->vq), 0); /* nothing new */
    ck_assert_int_eq(drv_vq_interrupt_expected(&e->dq), 0);
    if (PACKED) {
        for (unsigned r = 0; r < 200; r++) {
            if (r % 4 == 0)
                drv_vq_disable_cb(&e->dq);
            else if (r % 4 == 1)
                drv_vq_enable_cb(&e->dq);
            xf_push_check(e, xs, 1 + r % 5, 100 + r);
        }
    }

    /* available buffer notifications follow NO_NOTIFY */
    (void)drv_vq_kick_needed(&e->dq); /* start a fresh window */
    xf_add(e, &xs[0], 30, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 1);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 0), 0);
    xf_add(e, &xs[1], 31, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 0);
    /* re-enabling reports what arrived meanwhile */
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 1);
    xf_serve(e, &xs[0], 30, 0, 1);
    xf_serve(e, &xs[1], 31, 0, 1);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 0);
    xf_add(e, &xs[2], 32, NULL);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(drv_vq_kick_needed(&e->dq), 1);
    ck_assert_int_eq(vdm_vq_has_avail(&e->vq), 1);
    ck_assert_uint_eq(e->fault.count, 0);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- IN_ORDER ------------------------------------------------------- */

START_TEST(in_order_push_order)
{
    struct vqenv *e = vqenv_new(8, L | VDM_F_IN_ORDER);
    struct xfer *xs = xf_layouts(e, 2, 1, 1, 12);
    uint16_t a, b;

    xf_add(e, &xs[0], 1, NULL);
    xf_add(e, &xs[1], 2, NULL);
    drv_vq_publish(&e->dq);
    a = xf_serve(e, &xs[0], 1, 1, 0);
    b = xf_serve(e, &xs[1], 2, 2, 0);
    /* the newer one first: a device bug under IN_ORDER */
    ck_assert_int_eq(vdm_vq_push(&e->vq, b, 2), VDM_EINVAL);
    {
        struct vdm_used u[2] = {{b, 2}, {a, 1}};
        ck_assert_int_eq(vdm_vq_push_batch(&e->vq, u, 2, 0), VDM_EINVAL);
    }
    ck_assert_int_eq(vdm_vq_push(&e->vq, a, 1), 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, b, 2), 0);
    xf_reap(e, &xs[0], a, 1, 1);
    xf_reap(e, &xs[1], b, 2, 2);
    ck_assert_int_eq(vdm_vq_broken(&e->vq), 0);
    free(xs);
    vqenv_free(e);
}
END_TEST

/* ---- wrap-around ---------------------------------------------------- */

static void wrap_run(uint16_t num, uint64_t features)
{
    struct vqenv *e = vqenv_new(num, L | features);
    struct xfer x1, x2;
    uint32_t rounds = 3u * num + 7u;
    struct vdm_used *u = calloc(num, sizeof(*u));
    int *ids = calloc(num, sizeof(*ids));
    struct vdm_vq_state s;

    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(ids);
    xf_layout(e, &x1, 1, 0, 9, DRV_ADD_DIRECT);
    xf_layout(e, &x2, 1, 1, 4, DRV_ADD_DIRECT);
    /* one at a time, alternating 1- and 2-descriptor chains */
    for (uint32_t r = 0; r < rounds; r++) {
        const struct xfer *x = (num >= 2 && (r & 1)) ? &x2 : &x1;

        xf_roundtrip(e, x, r, x->wtotal ? (r % x->wtotal) : 0);
    }
    /* full rings, three times round, completed as one batch */
    for (uint32_t r = 0; r < 3; r++) {
        /* one payload buffer shared by the whole batch: same stream */
        for (uint32_t i = 0; i < num; i++)
            ids[i] = xf_add(e, &x1, 1000 + r, NULL);
        drv_vq_publish(&e->dq);
        for (uint32_t i = 0; i < num; i++) {
            u[i].id = xf_serve(e, &x1, 1000 + r, 0, 0);
            u[i].len = 0;
            REQUIRE_EQ(u[i].id, (uint32_t)ids[i]);
        }
        REQUIRE_EQ(vdm_vq_pop(&e->vq, &e->c), 0);
        REQUIRE_EQ(vdm_vq_has_avail(&e->vq), 0);
        REQUIRE_EQ(vdm_vq_push_batch(&e->vq, u, num, 0), (int)num);
        REQUIRE_EQ(vdm_vq_should_notify(&e->vq),
                   drv_vq_interrupt_expected(&e->dq));
        for (uint32_t i = 0; i < num; i++) {
            uint32_t id, len;

            REQUIRE_EQ(drv_vq_get_used(&e->dq, &id, &len, NULL), 1);
            REQUIRE_EQ(id, (uint32_t)ids[i]);
        }
    }
    /* device and driver agree on the position and wrap counters */
    ck_assert_int_eq(vdm_vq_get_state(&e->vq, &s), 0);
    ck_assert_uint_eq(s.used_idx | (uint32_t)s.used_wrap << 15,
                      drv_vq_last_used(&e->dq));
    ck_assert_uint_eq(s.last_avail_idx | (uint32_t)s.avail_wrap << 15,
                      drv_vq_avail_idx(&e->dq));
    REQUIRE_EQ(e->fault.count, 0);
    ck_assert_ptr_null(drv_vq_error(&e->dq));
    free(u);
    free(ids);
    vqenv_free(e);
}

START_TEST(wrap_1)
{
    wrap_run(1, 0);
}
END_TEST

START_TEST(wrap_2)
{
    wrap_run(2, VDM_F_EVENT_IDX);
}
END_TEST

START_TEST(wrap_3)
{
    wrap_run(3, 0); /* an odd ring size: packed only */
}
END_TEST

START_TEST(wrap_256)
{
    wrap_run(256, 0);
}
END_TEST

START_TEST(wrap_256_event_idx)
{
    wrap_run(256, VDM_F_EVENT_IDX);
}
END_TEST

START_TEST(wrap_32768)
{
    wrap_run(32768, 0);
}
END_TEST

START_TEST(wrap_32768_event_idx)
{
    wrap_run(32768, VDM_F_EVENT_IDX);
}
END_TEST

static TCase *ring_case(const char *name, void (*layout)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, layout, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chain_1);
    tcase_add_test(tc, chain_3);
    tcase_add_test(tc, chain_64);
    tcase_add_test(tc, notify_flags);
    tcase_add_test(tc, in_order_push_order);
    tcase_add_test(tc, wrap_1);
    tcase_add_test(tc, wrap_2);
    if (layout == layout_packed)
        tcase_add_test(tc, wrap_3);
    tcase_add_test(tc, wrap_256);
    tcase_add_test(tc, wrap_256_event_idx);
    tcase_add_test(tc, wrap_32768);
    tcase_add_test(tc, wrap_32768_event_idx);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("ring");
    SRunner *sr;
    int failed;

    suite_add_tcase(s, ring_case("split", layout_split));
    suite_add_tcase(s, ring_case("packed", layout_packed));
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
