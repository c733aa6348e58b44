/* SPDX-License-Identifier: BSD-3-Clause */
/* Entropy device (spec "Entropy Device"): buffers filled with exactly the
 * host's bytes, used lengths, a drained source and vdm_rng_kick(), several
 * chains, driver errors (readable parts, no writable part), split and
 * packed rings, driven through the device core by the driver simulator. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "profile.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/rng.h"

#define QMAX 64

/* ------------------------------------------------------------------------ */
/* The host: an entropy pool of known bytes                                 */

struct pool {
    uint8_t bytes[4096]; /* the stream the device must hand out, in order */
    uint32_t pos;        /* next byte to hand out */
    uint32_t avail;      /* bytes the source may produce before running dry */
    int fail;            /* if non-zero: return this instead */
    int calls;
    int overclaim; /* return len + overclaim (a buggy host) */
};

static struct pool pool;
static struct dh h;
static struct vdm_rng rng;

static int pool_fill(void *host, void *buf, uint32_t len)
{
    struct pool *p = host;
    p->calls++;
    if (p->fail)
        return p->fail;
    uint32_t n = len < p->avail ? len : p->avail;
    ck_assert_uint_le(p->pos + n, sizeof(p->bytes));
    memcpy(buf, p->bytes + p->pos, n);
    p->pos += n;
    p->avail -= n;
    if (p->overclaim)
        return (int)(n + (uint32_t)p->overclaim);
    return (int)n;
}

static const struct vdm_rng_ops rng_ops = {
    .size = sizeof(struct vdm_rng_ops),
    .fill = pool_fill,
};

static struct vdm_rng_config rng_cfg(void)
{
    struct vdm_rng_config c = VDM_INIT(struct vdm_rng_config);
    c.ops = &rng_ops;
    c.host = &pool;
    return c;
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 1, .qsize = QMAX};

    memset(&pool, 0, sizeof(pool));
    for (uint32_t i = 0; i < sizeof(pool.bytes); i++)
        pool.bytes[i] = (uint8_t)(i * 7u + 3u + (i >> 8)); /* no 0 runs */
    pool.avail = sizeof(pool.bytes);
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_rng_config rc = rng_cfg();
    ck_assert_int_eq(vdm_rng_init(&rng, &h.dev, &rc, &h.base), 0);
    ck_assert_ptr_eq(vdm_rng_dev(&rng), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

/* The driver side of the requestq. */
#define dq (*dh_vq(&h, 0))

/* A driver bringing the device up ("Device Initialization"). */
static void bringup(uint64_t features, uint16_t num)
{
    ut_need(features, "bringup");
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & features, features);
    ck_assert_int_eq(dh_negotiate(&h, features), 0);
    ck_assert_uint_eq(h.features, features | VDM_F_VERSION_1);
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), 1);
    ck_assert_int_eq(dh_setup_queue(&h, 0, num), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

/* Post one writable buffer of @p len bytes (poisoned); returns its gpa. */
static uint64_t post(uint32_t len)
{
    uint64_t gpa = dh_alloc(&h, len ? len : 1, 16);
    memset(dh_ptr(&h, gpa, len), 0xee, len);
    struct drv_buf b = {gpa, len};
    ck_assert_int_ge(
        drv_vq_add(&dq, NULL, 0, &b, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)gpa),
        0);
    drv_vq_publish(&dq);
    return gpa;
}

/* Notify the requestq, as the driver rules say it must. */
static void kick_queue(void)
{
    ck_assert_int_eq(dh_kick(&h, 0, 0), 0);
}

/* Take the next used buffer; check it is @p gpa and return its length. */
static uint32_t used(uint64_t gpa)
{
    uint32_t len = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)gpa);
    return len;
}

static void no_used(void)
{
    ck_assert_int_eq(drv_vq_get_used(&dq, NULL, NULL, NULL), 0);
}

/* The guest buffer at @p gpa holds pool bytes [from, from + n) and poison
 * after them up to @p len. */
static void expect_bytes(uint64_t gpa, uint32_t len, uint32_t from, uint32_t n)
{
    const uint8_t *p = dh_ptr(&h, gpa, len);
    ck_assert_mem_eq(p, pool.bytes + from, n);
    for (uint32_t i = n; i < len; i++)
        ck_assert_uint_eq(p[i], 0xee);
}

/* ------------------------------------------------------------------------ */

START_TEST(rng_fills_buffer_with_host_bytes)
{
    bringup(VDM_F_VERSION_1, 8);
    uint64_t b = post(32);
    kick_queue();
    ck_assert_uint_eq(used(b), 32);
    expect_bytes(b, 32, 0, 32);
    ck_assert_uint_eq(pool.pos, 32);
    ck_assert_uint_eq(h.irq_queue[0], 1);
    ck_assert_int_eq(drv_vq_interrupt_expected(&dq), 1);
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

START_TEST(rng_multiple_chains_in_order)
{
    bringup(VDM_F_VERSION_1, 8);
    uint64_t a = post(16), b = post(7), c = post(64);
    /* one chain of two writable parts */
    uint64_t d1 = dh_alloc(&h, 5, 16), d2 = dh_alloc(&h, 11, 16);
    memset(dh_ptr(&h, d1, 5), 0xee, 5);
    memset(dh_ptr(&h, d2, 11), 0xee, 11);
    struct drv_buf parts[2] = {{d1, 5}, {d2, 11}};
    ck_assert_int_ge(drv_vq_add(&dq, NULL, 0, parts, 2, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)d1),
                     0);
    drv_vq_publish(&dq);
    kick_queue();

    ck_assert_uint_eq(used(a), 16);
    expect_bytes(a, 16, 0, 16);
    ck_assert_uint_eq(used(b), 7);
    expect_bytes(b, 7, 16, 7);
    ck_assert_uint_eq(used(c), 64);
    expect_bytes(c, 64, 23, 64);
    ck_assert_uint_eq(used(d1), 16);
    expect_bytes(d1, 5, 87, 5);
    expect_bytes(d2, 11, 92, 11);
    no_used();
    /* one pass, one notification */
    ck_assert_uint_eq(h.irq_queue[0], 1);
}
END_TEST

START_TEST(rng_short_fill_reports_bytes_written)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.avail = 10;
    uint64_t b = post(32);
    kick_queue();
    /* "The device MUST place one or more random bytes into the buffer,
     * but it MAY use less than the entire buffer length." */
    ck_assert_uint_eq(used(b), 10);
    expect_bytes(b, 32, 0, 10);
}
END_TEST

START_TEST(rng_empty_source_keeps_chain_until_kick)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.avail = 0;
    uint64_t a = post(16), b = post(16);
    kick_queue();
    no_used(); /* nothing lost, nothing returned empty */
    ck_assert_uint_eq(h.irq_queue[0], 0);
    ck_assert_uint_eq(drv_vq_inflight(&dq), 2);

    /* Still dry: a kick does nothing. */
    ck_assert_int_eq(vdm_rng_kick(&rng), 0);
    no_used();

    /* A new buffer and driver notification retry (and keep the chains). */
    uint64_t c = post(16);
    kick_queue();
    no_used();
    ck_assert_uint_eq(drv_vq_inflight(&dq), 3);

    /* Half refilled: the first chain completes partly, the others wait. */
    pool.avail = 12;
    ck_assert_int_eq(vdm_rng_kick(&rng), 1);
    ck_assert_uint_eq(used(a), 12);
    expect_bytes(a, 16, 0, 12);
    no_used();

    pool.avail = 100;
    ck_assert_int_eq(vdm_rng_kick(&rng), 2);
    ck_assert_uint_eq(used(b), 16);
    expect_bytes(b, 16, 12, 16);
    ck_assert_uint_eq(used(c), 16);
    expect_bytes(c, 16, 28, 16);
    ck_assert_uint_eq(h.irq_queue[0], 2);
    ck_assert_int_eq(vdm_rng_kick(&rng), 0); /* nothing waiting */
}
END_TEST

START_TEST(rng_eagain_keeps_chain)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.fail = VDM_EAGAIN;
    uint64_t a = post(8);
    kick_queue();
    no_used();
    ck_assert_int_eq(vdm_rng_kick(&rng), 0);
    no_used();
    ck_assert_uint_eq(h.nwarn, 0); /* EAGAIN is not worth a warning */
    pool.fail = 0;
    ck_assert_int_eq(vdm_rng_kick(&rng), 1);
    ck_assert_uint_eq(used(a), 8);
    expect_bytes(a, 8, 0, 8);
}
END_TEST

START_TEST(rng_host_error_keeps_chain)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.fail = VDM_EIO;
    uint64_t a = post(8);
    kick_queue();
    no_used();
    ck_assert_int_eq(vdm_rng_kick(&rng), VDM_EIO);
    no_used();
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert_uint_eq(h.nwarn, 1)); /* logged once, not per retry */
    pool.fail = 0;
    ck_assert_int_eq(vdm_rng_kick(&rng), 1);
    ck_assert_uint_eq(used(a), 8);
    expect_bytes(a, 8, 0, 8);
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

START_TEST(rng_host_overclaim_clamped)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.overclaim = 100;
    uint64_t a = post(8);
    kick_queue();
    ck_assert_uint_eq(used(a), 8); /* never more than the buffer */
    expect_bytes(a, 8, 0, 8);
    ck_assert_int_ge((int)h.nerror, 1);
}
END_TEST

START_TEST(rng_readable_part_ignored)
{
    bringup(VDM_F_VERSION_1, 8);
    /* The driver MUST NOT place device-readable buffers: the device
     * ignores the readable part and fills the writable part. */
    uint64_t r = dh_alloc(&h, 8, 16), w = dh_alloc(&h, 16, 16);
    memset(dh_ptr(&h, r, 8), 0x5a, 8);
    memset(dh_ptr(&h, w, 16), 0xee, 16);
    struct drv_buf out = {r, 8}, in = {w, 16};
    ck_assert_int_ge(
        drv_vq_add(&dq, &out, 1, &in, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)w),
        0);
    drv_vq_publish(&dq);
    kick_queue();
    ck_assert_uint_eq(used(w), 16);
    expect_bytes(w, 16, 0, 16);
    const uint8_t *rp = dh_ptr(&h, r, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(rp[i], 0x5a);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

START_TEST(rng_readonly_chain_returned_empty)
{
    bringup(VDM_F_VERSION_1, 8);
    uint64_t r = dh_alloc(&h, 8, 16);
    memset(dh_ptr(&h, r, 8), 0x5a, 8);
    struct drv_buf out = {r, 8};
    ck_assert_int_ge(
        drv_vq_add(&dq, &out, 1, NULL, 0, DRV_ADD_DIRECT, (void *)(uintptr_t)r),
        0);
    drv_vq_publish(&dq);
    uint64_t good = post(4);
    kick_queue();
    ck_assert_uint_eq(used(r), 0);   /* returned, nothing written */
    ck_assert_int_eq(pool.calls, 1); /* only for the good buffer */
    ck_assert_uint_eq(used(good), 4);
    expect_bytes(good, 4, 0, 4);
    const uint8_t *rp = dh_ptr(&h, r, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(rp[i], 0x5a);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}
END_TEST

START_TEST(rng_driver_errors_logged_once_per_reset)
{
    bringup(VDM_F_VERSION_1, 8);
    for (int i = 0; i < 3; i++) {
        uint64_t r = dh_alloc(&h, 8, 16);
        struct drv_buf out = {r, 8};
        ck_assert_int_ge(drv_vq_add(&dq, &out, 1, NULL, 0, DRV_ADD_DIRECT,
                                    (void *)(uintptr_t)r),
                         0);
        drv_vq_publish(&dq);
        kick_queue();
        ck_assert_uint_eq(used(r), 0);
    }
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
}
END_TEST

START_TEST(rng_long_chain_uses_first_spans)
{
    /* 20 writable parts of 2 bytes: more than VDM_RNG_IOV_MAX spans. The
     * device fills the first VDM_RNG_IOV_MAX and says so in the used
     * length. */
    bringup(VDM_F_VERSION_1, 32);
    struct drv_buf in[20];
    for (int i = 0; i < 20; i++) {
        in[i].gpa = dh_alloc(&h, 2, 16);
        in[i].len = 2;
        memset(dh_ptr(&h, in[i].gpa, 2), 0xee, 2);
    }
    ck_assert_int_ge(drv_vq_add(&dq, NULL, 0, in, 20, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)in[0].gpa),
                     0);
    drv_vq_publish(&dq);
    kick_queue();
    ck_assert_uint_eq(used(in[0].gpa), 2 * VDM_RNG_IOV_MAX);
    for (uint32_t i = 0; i < 20; i++)
        expect_bytes(in[i].gpa, 2, i * 2, i < VDM_RNG_IOV_MAX ? 2 : 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
    /* and the queue goes on */
    uint64_t b = post(4);
    kick_queue();
    ck_assert_uint_eq(used(b), 4);
    expect_bytes(b, 4, 2 * VDM_RNG_IOV_MAX, 4);
}
END_TEST

START_TEST(rng_packed_ring)
{
    bringup(VDM_F_VERSION_1 | VDM_F_RING_PACKED, 6);
    uint64_t b[8];
    for (int round = 0; round < 3; round++) { /* wraps the packed ring */
        for (int i = 0; i < 4; i++)
            b[i] = post((uint32_t)(i + 1) * 3);
        kick_queue();
        for (int i = 0; i < 4; i++)
            ck_assert_uint_eq(used(b[i]), (uint32_t)(i + 1) * 3);
    }
    ck_assert_uint_eq(pool.pos, 3 * (3 + 6 + 9 + 12));
    ck_assert_ptr_null(drv_vq_error(&dq));
}
END_TEST

START_TEST(rng_indirect_chain)
{
    uint64_t f = VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC;
    bringup(f, 8);
    uint64_t w[3];
    struct drv_buf in[3];
    for (int i = 0; i < 3; i++) {
        w[i] = dh_alloc(&h, 4, 16);
        memset(dh_ptr(&h, w[i], 4), 0xee, 4);
        in[i] = (struct drv_buf){w[i], 4};
    }
    ck_assert_int_ge(drv_vq_add(&dq, NULL, 0, in, 3, DRV_ADD_INDIRECT,
                                (void *)(uintptr_t)w[0]),
                     0);
    drv_vq_publish(&dq);
    kick_queue();
    ck_assert_uint_eq(used(w[0]), 12);
    for (int i = 0; i < 3; i++)
        expect_bytes(w[i], 4, (uint32_t)i * 4, 4);
}
END_TEST

START_TEST(rng_kick_before_driver_ok_does_nothing)
{
    ck_assert_int_eq(vdm_rng_kick(&rng), 0);
    ck_assert_int_eq(pool.calls, 0);
    ck_assert_int_eq(vdm_rng_kick(NULL), VDM_EINVAL);
    /* no configuration space */
    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), 0);
    uint8_t x;
    ck_assert_int_eq(vdm_dev_config_read(&h.dev, 0, &x, 1), VDM_ERANGE);
}
END_TEST

START_TEST(rng_device_identity)
{
    /* "Device ID: 4", one queue, no feature bits beyond the ring ones. */
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert(f & VDM_F_VERSION_1);
    ck_assert_uint_eq(f & ((1ull << 24) - 1), 0);
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), VDM_RNG_NUM_QUEUES);
    ck_assert_uint_eq(vdm_dev_queue_size_max(&h.dev, 0), QMAX);
}
END_TEST

START_TEST(rng_offers_generic_host_features_only)
{
    struct vdm_rng r2;
    struct vdm_dev d2;
    struct vdm_dev_config bc = h.base;
    struct vdm_rng_config rc = rng_cfg();

    bc.features = VDM_F_ACCESS_PLATFORM | (1ull << 3); /* 3: device bit */
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), 0);
    uint64_t f = vdm_dev_device_features(&d2);
    ck_assert_uint_eq(f & VDM_F_ACCESS_PLATFORM, VDM_F_ACCESS_PLATFORM);
    ck_assert_uint_eq(f & (1ull << 3), 0);
    ck_assert_uint_eq(f & VDM_F_RING_ALL, VDM_F_RING_ALL);
}
END_TEST

START_TEST(rng_init_rejects_bad_config)
{
    struct vdm_rng r2;
    struct vdm_dev d2;
    struct vdm_dev_config bc = h.base;
    struct vdm_rng_config rc = rng_cfg();

    ck_assert_int_eq(vdm_rng_init(NULL, &d2, &rc, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_rng_init(&r2, NULL, &rc, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, NULL, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, NULL), VDM_EINVAL);

    rc.size = 4;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), VDM_ESIZE);
    rc = rng_cfg();
    rc.ops = NULL;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), VDM_EINVAL);
    struct vdm_rng_ops nofill = VDM_INIT(struct vdm_rng_ops);
    rc.ops = &nofill;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), VDM_EINVAL);
    struct vdm_rng_ops shortops = {.size = 4, .fill = pool_fill};
    rc.ops = &shortops;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), VDM_ESIZE);

    rc = rng_cfg();
    bc.num_queues = 2;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), VDM_EINVAL);
    bc = h.base;
    bc.num_queues = 1;
    ck_assert_int_eq(vdm_rng_init(&r2, &d2, &rc, &bc), 0);
}
END_TEST

START_TEST(rng_reset_then_serve_again)
{
    bringup(VDM_F_VERSION_1, 8);
    pool.avail = 0;
    post(8);
    kick_queue();
    no_used();
    /* The driver resets with a chain still kept: nothing to leak. */
    dh_reset(&h);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), 0);
    ck_assert_int_eq(vdm_rng_kick(&rng), 0);
    drv_alloc_reset(&h.g);
    pool.avail = sizeof(pool.bytes);
    bringup(VDM_F_VERSION_1, 8);
    uint64_t b = post(8);
    kick_queue();
    ck_assert_uint_eq(used(b), 8);
    expect_bytes(b, 8, 0, 8);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("rng");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rng_fills_buffer_with_host_bytes);
    tcase_add_test(tc, rng_multiple_chains_in_order);
    tcase_add_test(tc, rng_short_fill_reports_bytes_written);
    tcase_add_test(tc, rng_empty_source_keeps_chain_until_kick);
    tcase_add_test(tc, rng_eagain_keeps_chain);
    tcase_add_test(tc, rng_host_error_keeps_chain);
    tcase_add_test(tc, rng_host_overclaim_clamped);
    tcase_add_test(tc, rng_readable_part_ignored);
    tcase_add_test(tc, rng_readonly_chain_returned_empty);
    tcase_add_test(tc, rng_driver_errors_logged_once_per_reset);
    tcase_add_test(tc, rng_long_chain_uses_first_spans);
    tcase_add_test(tc, rng_packed_ring);
    tcase_add_test(tc, rng_indirect_chain);
    tcase_add_test(tc, rng_kick_before_driver_ok_does_nothing);
    tcase_add_test(tc, rng_device_identity);
    tcase_add_test(tc, rng_offers_generic_host_features_only);
    tcase_add_test(tc, rng_init_rejects_bad_config);
    tcase_add_test(tc, rng_reset_then_serve_again);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
