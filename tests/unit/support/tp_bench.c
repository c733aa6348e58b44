/* SPDX-License-Identifier: BSD-3-Clause */
/* Transport test bench and transport-independent scenarios: see tp_bench.h. */
#include "tp_bench.h"
#include "profile.h"

#include <check.h>
#include <string.h>

#define ST_ACK         1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u
#define ST_NEEDS_RESET 64u

/* Everything that shows a refused access: transport return codes (not
 * visible through the PCI config window), transport and device logs. */
static unsigned complaints(const struct tpb *b)
{
    return b->tp->refused + b->tp->nwarn + b->tp->nerror + b->h.nwarn +
           b->h.nerror;
}

int tpb_init(struct tpb *b, uint16_t nq, uint16_t qsize, uint64_t ring_features)
{
    struct dh_opts o = {0};

    memset(b, 0, sizeof(*b));
    o.num_queues = nq;
    o.qsize = qsize;
    o.guest_size = 8ull << 20;
    if (dh_init(&b->h, &o) != 0)
        return -1;
    b->nq = nq;
    if (echo_init(&b->echo, &b->h.dev, &b->h.base, ring_features) != 0) {
        dh_fini(&b->h);
        return -1;
    }
    return 0;
}

void tpb_drop_queues(struct tpb *b)
{
    for (unsigned i = 0; i < ECHO_MAX_QUEUES; i++) {
        if (b->live[i])
            drv_vq_fini(&b->vq[i]);
        b->live[i] = 0;
    }
}

void tpb_fini(struct tpb *b)
{
    tpb_drop_queues(b);
    dh_fini(&b->h);
}

int tpb_bring_up(struct tpb *b, uint64_t want, uint16_t nq, uint16_t num)
{
    int rc;
    tpb_drop_queues(b);
    rc = drv_tp_bring_up(b->tp, want, nq, b->vq, &b->h.g, num);
    if (rc == 0) {
        for (uint16_t q = 0; q < nq; q++)
            b->live[q] = 1;
    }
    return rc;
}

void tpb_echo(struct tpb *b, uint16_t q, uint32_t len, int mode)
{
    struct drv_vq *vq = &b->vq[q];
    uint64_t out = drv_alloc(&b->h.g, len, 8);
    uint64_t in = drv_alloc(&b->h.g, len, 8);
    uint8_t *po = drv_gpa(&b->h.g, out, len);
    uint8_t *pi = drv_gpa(&b->h.g, in, len);
    struct drv_buf ob = {out, len}, ib = {in, len};
    uint32_t id, used_len;
    void *cookie = NULL;
    int added;

    ck_assert_ptr_nonnull(po);
    ck_assert_ptr_nonnull(pi);
    for (uint32_t i = 0; i < len; i++)
        po[i] = (uint8_t)(i * 7u + q);
    added = drv_vq_add(vq, &ob, 1, &ib, 1, mode, pi);
    ck_assert_int_ge(added, 0);
    drv_vq_enable_cb(vq);
    ck_assert_int_eq(drv_tp_kick(b->tp, q, vq, 0), 1);
    ck_assert_uint_ne(drv_tp_interrupt(b->tp) & DRV_TP_INT_VRING, 0);
    ck_assert_int_eq(drv_vq_get_used(vq, &id, &used_len, &cookie), 1);
    ck_assert_uint_eq(id, (uint32_t)added);
    ck_assert_uint_eq(used_len, len);
    ck_assert_ptr_eq(cookie, pi);
    {
        /* one assertion for the whole buffer: Check records every passing
         * assertion, so a per-byte one would dominate the run time */
        uint32_t bad = len;
        for (uint32_t i = 0; i < len && bad == len; i++)
            if (pi[i] != po[len - 1 - i])
                bad = i;
        ck_assert_msg(bad == len, "echo byte %u wrong", bad);
    }
    ck_assert_str_eq(drv_vq_error(vq) ? drv_vq_error(vq) : "", "");
}

void tps_bring_up_echo(struct tpb *b, uint64_t features)
{
    int modes[3] = {DRV_ADD_DIRECT, DRV_ADD_INDIRECT, DRV_ADD_DIRECT};

    ck_assert_int_eq(tpb_bring_up(b, features | ECHO_F_A, b->nq, 0), 0);
    ck_assert_uint_eq(
        b->tp->features & ~(features | ECHO_F_A | DRV_F_VERSION_1), 0);
    ck_assert_uint_eq(b->tp->ops->get_status(b->tp),
                      ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    for (unsigned round = 0; round < 70; round++) {
        for (uint16_t q = 0; q < b->nq; q++) {
            int mode = modes[round % 3];
            if (mode == DRV_ADD_INDIRECT &&
                (b->tp->features & DRV_F_INDIRECT) == 0)
                mode = DRV_ADD_DIRECT;
            tpb_echo(b, q, 1 + (round * 37u) % 1500u, mode);
        }
    }
    ck_assert_uint_eq(b->echo.chains, 70u * b->nq);
    ck_assert_int_eq(b->echo.last_err, 0);
    ck_assert_uint_eq(b->tp->refused, 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(b->tp->nwarn + b->tp->nerror, 0));
}

void tps_reset_reinit(struct tpb *b)
{
    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 0), 0);
    tpb_echo(b, 0, 64, DRV_ADD_DIRECT);
    ck_assert_int_eq(drv_tp_reset(b->tp), 0);
    tpb_drop_queues(b);
    ck_assert_uint_eq(b->tp->ops->get_status(b->tp), 0);
    for (uint16_t q = 0; q < b->nq; q++) {
        ck_assert_int_eq(b->tp->ops->queue_enabled(b->tp, q), 0);
        ck_assert_uint_gt(b->tp->ops->queue_max(b->tp, q), 0);
    }
    ck_assert_uint_eq(b->tp->ops->interrupt(b->tp), 0);
    ck_assert_uint_ge(b->echo.resets, 1);
    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 16), 0);
    for (uint16_t q = 0; q < b->nq; q++)
        tpb_echo(b, q, 100, DRV_ADD_DIRECT);
    ck_assert_uint_eq(b->tp->refused, 0);
}

void tps_queue_setup_after_driver_ok(struct tpb *b)
{
    uint64_t d0, r0, e0, d, r, e;
    unsigned c0;

    ck_assert_uint_ge(b->nq, 2);
    /* Only queue 0 set up; queue 1 left unused. */
    ck_assert_int_eq(tpb_bring_up(b, 0, 1, 32), 0);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b->h.dev, 0, &d0, &r0, &e0), 0);

    c0 = complaints(b);
    b->tp->ops->queue_config(b->tp, 0, 16, 0x200000, 0x201000, 0x202000);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(complaints(b), c0));
    ck_assert_uint_eq(vdm_dev_queue_size(&b->h.dev, 0), 32);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b->h.dev, 0, &d, &r, &e), 0);
    ck_assert_uint_eq(d, d0);
    ck_assert_uint_eq(r, r0);
    ck_assert_uint_eq(e, e0);
    /* Queue 1 after DRIVER_OK: refused as well (no RING_RESET). */
    c0 = complaints(b);
    b->tp->ops->queue_config(b->tp, 1, 16, 0x200000, 0x201000, 0x202000);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(complaints(b), c0));
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b->h.dev, 1, &d, &r, &e), 0);
    ck_assert_uint_eq(d | r | e, 0);
    c0 = complaints(b);
    b->tp->ops->queue_enable(b->tp, 1);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(complaints(b), c0));
    ck_assert_int_eq(b->tp->ops->queue_enabled(b->tp, 1), 0);
    ck_assert_int_eq(vdm_dev_queue_enabled(&b->h.dev, 1), 0);
    /* The live queue still works. */
    c0 = complaints(b);
    tpb_echo(b, 0, 33, DRV_ADD_DIRECT);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(complaints(b), c0));
}

void tps_config_generation_race(struct tpb *b)
{
    uint32_t g0, g1, lo, hi;
    uint8_t buf[8];
    uint64_t v;

    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 0), 0);
    ck_assert_uint_eq(b->tp->ops->interrupt(b->tp), 0);
    /* Stable read. */
    ck_assert_int_eq(drv_tp_config_read(b->tp, 0, buf, 8), 0);
    ck_assert_uint_eq(buf[0], 0x88);
    ck_assert_uint_eq(buf[7], 0x11);

    /* The 64-bit field read in two halves while the host changes it. */
    g0 = b->tp->ops->config_generation(b->tp);
    lo = b->tp->ops->config_read(b->tp, 0, 4);
    echo_set_capacity(&b->echo, &b->h.dev, 0xaabbccdd00000001ull);
    hi = b->tp->ops->config_read(b->tp, 4, 4);
    g1 = b->tp->ops->config_generation(b->tp);
    ck_assert_uint_eq(lo, 0x55667788u);
    ck_assert_uint_eq(hi, 0xaabbccddu);
    ck_assert_uint_ne(g0, g1); /* the driver must retry */
    ck_assert_uint_eq(b->tp->ops->interrupt(b->tp) & DRV_TP_INT_CONFIG,
                      DRV_TP_INT_CONFIG);
    /* Re-read: consistent, the generation now stable. */
    ck_assert_int_eq(drv_tp_config_read(b->tp, 0, buf, 8), 0);
    v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    ck_assert_uint_eq(v, 0xaabbccdd00000001ull);
    ck_assert_uint_eq(b->tp->ops->config_generation(b->tp), g1);

    /* Many changes between two generation reads still show a change. */
    g0 = b->tp->ops->config_generation(b->tp);
    for (int i = 0; i < 256; i++)
        echo_set_capacity(&b->echo, &b->h.dev, (uint64_t)i);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 0, 4), 255);
    ck_assert_uint_ne(b->tp->ops->config_generation(b->tp), g0);
    (void)b->tp->ops->interrupt(b->tp);
    ck_assert_uint_eq(b->tp->refused, 0);
}

void tps_config_write(struct tpb *b)
{
    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 0), 0);
    b->tp->ops->config_write(b->tp, 8, 4, 0xdeadbeefu);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 8, 4), 0xdeadbeefu);
    b->tp->ops->config_write(b->tp, 10, 2, 0x1234u);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 8, 4), 0x1234beefu);
    b->tp->ops->config_write(b->tp, 14, 1, 0x5au);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 14, 1), 0x5au);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 12, 2), b->nq);
    /* read-only field: ignored by the device type */
    b->tp->ops->config_write(b->tp, 12, 2, 0x7777u);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 12, 2), b->nq);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 16, 4), 0);
    tpb_echo(b, 0, 40, DRV_ADD_DIRECT);
    ck_assert_uint_eq(b->tp->ops->config_read(b->tp, 16, 4), 40);
    ck_assert_uint_eq(b->tp->refused, 0);
    /* past the end: refused (and reads 0) */
    {
        unsigned c0 = complaints(b);
        ck_assert_uint_eq(
            b->tp->ops->config_read(b->tp, ECHO_CONFIG_SIZE - 2, 4), 0);
        UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(complaints(b), c0));
    }
}

void tps_features_refused(struct tpb *b)
{
    uint8_t s;
    ck_assert_int_eq(drv_tp_reset(b->tp), 0);
    b->tp->ops->set_status(b->tp, ST_ACK);
    b->tp->ops->set_status(b->tp, ST_ACK | ST_DRIVER);
    ck_assert_uint_eq(b->tp->ops->device_features(b->tp) &
                          (ECHO_F_A | ECHO_F_B | DRV_F_VERSION_1),
                      ECHO_F_A | ECHO_F_B | DRV_F_VERSION_1);
    b->tp->ops->driver_features(b->tp, ECHO_F_B | DRV_F_VERSION_1);
    b->tp->ops->set_status(b->tp, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    s = b->tp->ops->get_status(b->tp);
    ck_assert_uint_eq(s & ST_FEATURES_OK, 0);
    /* Queues cannot be enabled without FEATURES_OK. */
    b->tp->refused = 0;
    b->tp->ops->queue_enable(b->tp, 0);
    ck_assert_int_eq(b->tp->ops->queue_enabled(b->tp, 0), 0);
    /* A correct second try after reset. */
    ck_assert_int_eq(tpb_bring_up(b, ECHO_F_A | ECHO_F_B, b->nq, 0), 0);
    ck_assert_uint_eq(b->tp->features & (ECHO_F_A | ECHO_F_B),
                      ECHO_F_A | ECHO_F_B);
    ck_assert_uint_eq(vdm_dev_features(&b->h.dev), b->tp->features);
}

void tps_queue_reset(struct tpb *b)
{
    UT_NEEDS(VDM_F_RING_RESET);
    ck_assert_int_eq(tpb_bring_up(b, DRV_F_RING_RESET, b->nq, 32), 0);
    ck_assert_uint_ne(b->tp->features & DRV_F_RING_RESET, 0);
    tpb_echo(b, 0, 10, DRV_ADD_DIRECT);
    ck_assert_int_eq(b->tp->ops->queue_reset(b->tp, 0), 0);
    ck_assert_uint_ge(b->echo.queue_resets, 1);
    ck_assert_int_eq(b->tp->ops->queue_enabled(b->tp, 0), 0);
    /* Other queues keep running. */
    if (b->nq > 1)
        tpb_echo(b, 1, 11, DRV_ADD_DIRECT);
    drv_vq_fini(&b->vq[0]);
    b->live[0] = 0;
    /* Re-enable with another size, as the driver may. */
    ck_assert_int_eq(drv_tp_setup_queue(b->tp, 0, &b->vq[0], &b->h.g, 8), 0);
    b->live[0] = 1;
    for (int i = 0; i < 20; i++)
        tpb_echo(b, 0, 12, DRV_ADD_DIRECT);
    ck_assert_uint_eq(b->tp->refused, 0);
}

void tps_needs_reset(struct tpb *b)
{
    struct drv_vq *vq;
    unsigned bits;

    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 16), 0);
    vq = &b->vq[0];
    /* The driver publishes an avail index 100 entries ahead. */
    drv_vq_raw_avail_idx(vq, 100);
    b->tp->ops->notify(b->tp, 0, 0);
    ck_assert_uint_ne(b->tp->ops->get_status(b->tp) & ST_NEEDS_RESET, 0);
    bits = b->tp->ops->interrupt(b->tp);
    ck_assert_uint_ne(bits & DRV_TP_INT_CONFIG, 0);
    /* Sticky: more notifications change nothing. */
    b->tp->ops->notify(b->tp, 0, 0);
    ck_assert_uint_ne(b->tp->ops->get_status(b->tp) & ST_NEEDS_RESET, 0);
    /* Reset heals. */
    ck_assert_int_eq(tpb_bring_up(b, 0, b->nq, 16), 0);
    ck_assert_uint_eq(b->tp->ops->get_status(b->tp) & ST_NEEDS_RESET, 0);
    tpb_echo(b, 0, 5, DRV_ADD_DIRECT);
}

void tps_bad_notify(struct tpb *b)
{
    unsigned n0;

    ck_assert_uint_ge(b->nq, 2);
    ck_assert_int_eq(drv_tp_negotiate(b->tp, 0), 0);
    n0 = b->echo.notifies;
    b->tp->ops->notify(b->tp, 0, 0); /* before DRIVER_OK */
    ck_assert_uint_eq(b->echo.notifies, n0);
    ck_assert_int_eq(drv_tp_setup_queue(b->tp, 0, &b->vq[0], &b->h.g, 16), 0);
    b->live[0] = 1;
    ck_assert_int_eq(drv_tp_driver_ok(b->tp), 0);
    b->tp->ops->notify(b->tp, 1, 1); /* queue 1 is not enabled */
    ck_assert_uint_eq(b->echo.notifies, n0);
    ck_assert_uint_eq(b->tp->ops->get_status(b->tp) & ST_NEEDS_RESET, 0);
    ck_assert_uint_eq(b->tp->ops->interrupt(b->tp), 0);
    tpb_echo(b, 0, 9, DRV_ADD_DIRECT);
    ck_assert_uint_eq(b->echo.notifies, n0 + 1);
}
