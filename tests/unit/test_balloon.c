/* SPDX-License-Identifier: BSD-3-Clause */
/* Traditional memory balloon (spec "Traditional Memory Balloon Device"):
 * inflate and deflate PFN arrays checked against the memory map, the target
 * and `actual`, the stats buffer the device keeps, free page hinting and its
 * command ids, page poison, free page reporting, queue numbering by the
 * negotiated features, and hostile requests, driven by the driver simulator
 * directly and through MMIO and PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/devices/balloon.h"
#include "vdm/le.h"

#define QMAX 64
#define PG   4096u

/* ------------------------------------------------------------------------ */
/* The host: records every hook call                                         */

struct call {
    uint64_t gpa;
    void *hva;
    uint64_t len;
    uint32_t arg; /* report flags, hint cmd id */
};

struct host {
    struct call rel[64], acq[64], rep[64], hint[64];
    unsigned nrel, nacq, nrep, nhint;
    unsigned nstats;
    uint32_t stats_valid;
    uint64_t stats_val[VDM_BALLOON_S_NR];
    unsigned nactual;
    uint32_t actual;
    int fail;
};

static struct host H;
static struct dh h;
static struct vdm_balloon bal;

static void rec(struct call *a, unsigned *n, uint64_t gpa, void *hva,
                uint64_t len, uint32_t arg)
{
    if (*n < 64) /* the first 64 calls are kept, all are counted */
        a[*n] = (struct call){gpa, hva, len, arg};
    (*n)++;
}

static int h_release(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    struct host *x = host;
    rec(x->rel, &x->nrel, gpa, hva, len, 0);
    memset(hva, 0, len); /* what a hole punch leaves */
    return x->fail;
}

static int h_acquire(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    struct host *x = host;
    rec(x->acq, &x->nacq, gpa, hva, len, 0);
    return x->fail;
}

static void h_stats(void *host, uint32_t valid, const uint64_t *val)
{
    struct host *x = host;
    x->nstats++;
    x->stats_valid = valid;
    memcpy(x->stats_val, val, sizeof(x->stats_val));
}

static void h_hint(void *host, uint32_t id, uint64_t gpa, void *hva,
                   uint64_t len)
{
    struct host *x = host;
    rec(x->hint, &x->nhint, gpa, hva, len, id);
}

static void h_report(void *host, uint64_t gpa, void *hva, uint64_t len,
                     uint32_t flags)
{
    struct host *x = host;
    rec(x->rep, &x->nrep, gpa, hva, len, flags);
}

static void h_actual(void *host, uint32_t pages)
{
    struct host *x = host;
    x->nactual++;
    x->actual = pages;
}

static const struct vdm_balloon_ops ops = {
    .size = sizeof(struct vdm_balloon_ops),
    .release = h_release,
    .acquire = h_acquire,
    .stats = h_stats,
    .hint = h_hint,
    .report = h_report,
    .actual = h_actual,
};

static uint16_t nq_for(uint64_t f)
{
    return (uint16_t)(2 + !!(f & VDM_BALLOON_F_STATS_VQ) +
                      !!(f & VDM_BALLOON_F_FREE_PAGE_HINT) +
                      !!(f & VDM_BALLOON_F_REPORTING));
}

/* A bench with a balloon offering @p offer. */
static void make(uint64_t offer, unsigned nregions)
{
    struct dh_opts o = {
        .num_queues = nq_for(offer), .qsize = QMAX, .nregions = nregions};
    struct vdm_balloon_config c = VDM_INIT(struct vdm_balloon_config);

    memset(&H, 0, sizeof(H));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    c.num_pages = 0;
    c.features = offer;
    c.ops = &ops;
    c.host = &H;
    ck_assert_int_eq(vdm_balloon_init(&bal, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_balloon_dev(&bal), &h.dev);
}

static void setup(void)
{
    memset(&h, 0, sizeof(h));
}

static void teardown(void)
{
    dh_fini(&h);
}

/* ACK .. DRIVER_OK with @p f; every queue the features give. */
static void up(uint64_t f)
{
    ut_need(f, "up");
    ck_assert_int_eq(dh_bring_up(&h, f, nq_for(f)), 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

static uint16_t qi(uint32_t role)
{
    uint16_t q = vdm_balloon_queue_index(&bal, role);
    ck_assert_uint_ne(q, UINT16_MAX);
    return q;
}

/* The driver adds a device-readable buffer of @p len bytes at @p gpa (or a
 * new one filled from @p data) on queue @p q and kicks. */
static uint64_t send_out(uint16_t q, const void *data, uint32_t len)
{
    uint64_t gpa = dh_alloc(&h, len ? len : 1, 16);
    if (data)
        memcpy(dh_ptr(&h, gpa, len), data, len);
    struct drv_buf b = {gpa, len};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, q), &b, 1, NULL, 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)gpa),
                     0);
    drv_vq_publish(dh_vq(&h, q));
    dh_kick(&h, q, 1);
    return gpa;
}

/* Send a PFN array on queue @p q. */
static uint64_t send_pfns(uint16_t q, const uint32_t *pfn, unsigned n)
{
    uint8_t buf[4 * 512];
    ck_assert_uint_le(n, 512);
    for (unsigned i = 0; i < n; i++)
        vdm_put_le32(&buf[i * 4], pfn[i]);
    return send_out(q, buf, n * 4);
}

/* The next used buffer of @p q is @p gpa with length 0. */
static void used0(uint16_t q, uint64_t gpa)
{
    uint32_t len = 99;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)gpa);
    ck_assert_uint_eq(len, 0);
}

static void no_used(uint16_t q)
{
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), NULL, NULL, NULL), 0);
}

static uint32_t pfn_of(uint64_t gpa)
{
    return (uint32_t)(gpa / PG);
}

static struct vdm_balloon_counters counters(void)
{
    struct vdm_balloon_counters c = VDM_INIT(struct vdm_balloon_counters);
    ck_assert_int_eq(vdm_balloon_counters(&bal, &c), 0);
    return c;
}

static void no_needs_reset(void)
{
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}

/* ------------------------------------------------------------------------ */
/* Identity, features, queue numbering                                       */

/* "Device ID": 5; "Device configuration layout": 16 bytes; "Virtqueues". */
START_TEST(balloon_identity_and_queues)
{
    make(VDM_BALLOON_F_ALL, 1);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), 5);
    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), VDM_BALLOON_CONFIG_BYTES);
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), 5);
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(f & 0xffffffu, VDM_BALLOON_F_ALL);
    ck_assert_uint_ne(f & VDM_F_VERSION_1, 0);
    for (uint32_t r = 0; r < 5; r++) {
        ck_assert_uint_eq(vdm_balloon_queue_index(&bal, r), r);
        ck_assert_uint_eq(vdm_balloon_queue_role(&bal, (uint16_t)r), r);
    }
    ck_assert_uint_eq(vdm_balloon_queue_role(&bal, 5), VDM_BALLOON_Q_NONE);
    ck_assert_uint_eq(vdm_balloon_queue_index(&bal, 9), UINT16_MAX);
}
END_TEST

/* "Virtqueues": statsq, free_page_vq, reporting_vq exist only with their
 * features. Linux (virtio_find_vqs) gives queues that exist consecutive
 * numbers, by the features negotiated: the device follows. */
START_TEST(balloon_queue_numbers_follow_negotiated_features)
{
    make(VDM_BALLOON_F_ALL, 1);
    /* The driver accepts REPORTING but neither STATS_VQ nor FREE_PAGE_HINT. */
    ck_assert_int_eq(dh_negotiate(&h, VDM_F_VERSION_1 |
                                          VDM_BALLOON_F_MUST_TELL_HOST |
                                          VDM_BALLOON_F_REPORTING),
                     0);
    ck_assert_uint_eq(vdm_balloon_queue_index(&bal, VDM_BALLOON_Q_REPORTING),
                      2);
    ck_assert_uint_eq(vdm_balloon_queue_index(&bal, VDM_BALLOON_Q_STATS),
                      UINT16_MAX);
    ck_assert_uint_eq(vdm_balloon_queue_role(&bal, 3), VDM_BALLOON_Q_NONE);
    for (uint16_t q = 0; q < 3; q++)
        ck_assert_int_eq(dh_setup_queue(&h, q, 16), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);

    /* A report on queue 2 is a report. */
    uint64_t pg = dh_alloc(&h, PG, PG);
    struct drv_buf in = {pg, PG};
    ck_assert_int_ge(
        drv_vq_add(dh_vq(&h, 2), NULL, 0, &in, 1, DRV_ADD_DIRECT, &in), 0);
    drv_vq_publish(dh_vq(&h, 2));
    dh_kick(&h, 2, 1);
    ck_assert_uint_eq(H.nrep, 1);
    ck_assert_uint_eq(H.rep[0].gpa, pg);

    /* STATS_VQ + REPORTING: reporting_vq is 3. */
    dh_reset(&h);
    ck_assert_int_eq(
        dh_negotiate(&h, VDM_F_VERSION_1 | VDM_BALLOON_F_MUST_TELL_HOST |
                             VDM_BALLOON_F_STATS_VQ | VDM_BALLOON_F_REPORTING),
        0);
    ck_assert_uint_eq(vdm_balloon_queue_index(&bal, VDM_BALLOON_Q_STATS), 2);
    ck_assert_uint_eq(vdm_balloon_queue_index(&bal, VDM_BALLOON_Q_REPORTING),
                      3);
}
END_TEST

/* "Feature bits": a device offering MUST_TELL_HOST MAY fail FEATURES_OK
 * when the driver does not accept it. */
START_TEST(balloon_must_tell_host_required_when_offered)
{
    make(VDM_BALLOON_F_MUST_TELL_HOST, 1);
    ck_assert_int_ne(dh_negotiate(&h, VDM_F_VERSION_1), 0);
    dh_reset(&h);
    ck_assert_int_eq(
        dh_negotiate(&h, VDM_F_VERSION_1 | VDM_BALLOON_F_MUST_TELL_HOST), 0);
}
END_TEST

START_TEST(balloon_init_rejects_bad_config)
{
    make(0, 1);
    struct vdm_balloon b2;
    struct vdm_dev d2;
    struct vdm_balloon_config c = VDM_INIT(struct vdm_balloon_config);
    struct vdm_dev_config bc = h.base;

    ck_assert_int_eq(vdm_balloon_init(NULL, &d2, &c, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_balloon_init(&b2, &d2, NULL, &bc), VDM_EINVAL);
    c.features = 1ull << 6;
    ck_assert_int_eq(vdm_balloon_init(&b2, &d2, &c, &bc), VDM_EINVAL);
    c.features = VDM_BALLOON_F_STATS_VQ; /* needs 3 queues, base has 2 */
    ck_assert_int_eq(vdm_balloon_init(&b2, &d2, &c, &bc), VDM_EINVAL);
    c.features = 0;
    c.size = 4;
    ck_assert_int_eq(vdm_balloon_init(&b2, &d2, &c, &bc), VDM_ESIZE);
    c = (struct vdm_balloon_config)VDM_INIT(struct vdm_balloon_config);
    bc.num_queues = 0; /* the device's own count */
    ck_assert_int_eq(vdm_balloon_init(&b2, &d2, &c, &bc), 0);
    ck_assert_uint_eq(vdm_dev_num_queues(&d2), 2);
    /* Calls on a balloon never set up are refused, not followed. */
    struct vdm_balloon zero;
    memset(&zero, 0, sizeof(zero));
    ck_assert_int_eq(vdm_balloon_set_target(&zero, 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_balloon_stats_request(NULL), VDM_EINVAL);
    ck_assert_ptr_null(vdm_balloon_dev(&zero));
    ck_assert_int_eq(vdm_balloon_hint_start(&zero, NULL), VDM_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Inflate and deflate                                                       */

/* "Device Operation": inflate with an array of PFNs (address / 4096); the
 * device acknowledges by using the descriptor. Adjacent pages reach the
 * host as one range. */
START_TEST(balloon_inflate_releases_pages)
{
    make(VDM_BALLOON_F_MUST_TELL_HOST, 1);
    up(VDM_F_VERSION_1 | VDM_BALLOON_F_MUST_TELL_HOST);
    uint64_t a = dh_alloc(&h, 4 * PG, PG), b = dh_alloc(&h, PG, PG);
    dh_alloc(&h, PG, PG);
    uint64_t c = dh_alloc(&h, PG, PG);
    memset(dh_ptr(&h, a, 4 * PG), 0xa5, 4 * PG);
    uint32_t pfns[] = {pfn_of(a), pfn_of(a) + 1, pfn_of(a) + 2, pfn_of(c),
                       pfn_of(a) + 3};
    (void)b;
    uint64_t req = send_pfns(0, pfns, 5);
    used0(0, req);
    ck_assert_uint_eq(H.nrel, 3);
    ck_assert_uint_eq(H.rel[0].gpa, a);
    ck_assert_uint_eq(H.rel[0].len, 3 * PG);
    ck_assert_ptr_eq(H.rel[0].hva, dh_ptr(&h, a, PG));
    ck_assert_uint_eq(H.rel[1].gpa, c);
    ck_assert_uint_eq(H.rel[1].len, PG);
    ck_assert_uint_eq(H.rel[2].gpa, a + 3 * PG);
    struct vdm_balloon_counters k = counters();
    ck_assert_uint_eq(k.inflated, 5);
    ck_assert_uint_eq(k.rejected, 0);
    ck_assert_uint_eq(H.nacq, 0);
    ck_assert_uint_eq(h.irq_queue[0], 1);

    /* Deflate: the host gets them back before the acknowledgement
     * ("MUST_TELL_HOST ... MUST NOT use pages ... until the device has
     * acknowledged the deflate request"). */
    uint64_t d = send_pfns(1, pfns, 3);
    ck_assert_uint_eq(H.nacq, 1);
    ck_assert_uint_eq(H.acq[0].gpa, a);
    ck_assert_uint_eq(H.acq[0].len, 3 * PG);
    used0(1, d);
    ck_assert_uint_eq(counters().deflated, 3);
    no_needs_reset();
}
END_TEST

/* Hostile PFNs: outside guest memory, below it, the last page straddling
 * the end, the largest PFN, a read-only region. Skipped and counted,
 * never acted on; the valid ones in between still are. */
START_TEST(balloon_pfn_outside_memory_skipped)
{
    make(0, 2);
    up(VDM_F_VERSION_1);
    uint64_t end = h.regions[1].gpa + h.regions[1].size;
    uint64_t ok = dh_alloc(&h, PG, PG);
    uint32_t pfns[] = {0,           pfn_of(h.regions[0].gpa) - 1,
                       pfn_of(end), pfn_of(end) + 100,
                       UINT32_MAX,  pfn_of(ok)};
    uint64_t r = send_pfns(0, pfns, 6);
    used0(0, r);
    ck_assert_uint_eq(H.nrel, 1);
    ck_assert_uint_eq(H.rel[0].gpa, ok);
    ck_assert_uint_eq(counters().rejected, 5);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1)); /* once per reset */

    /* Region 1 becomes read-only (ROM): its pages are not given away. */
    h.regions[1].flags = VDM_MEM_REGION_RDONLY;
    uint32_t rom[] = {pfn_of(h.regions[1].gpa), pfn_of(end) - 1};
    r = send_pfns(1, rom, 2);
    used0(1, r);
    ck_assert_uint_eq(H.nacq, 0);
    ck_assert_uint_eq(counters().rejected, 7);
    h.regions[1].flags = 0;

    /* Pages either side of the boundary between regions: two ranges, one
     * per region (the host mappings are separate). */
    uint32_t edge[] = {pfn_of(h.regions[1].gpa) - 1, pfn_of(h.regions[1].gpa)};
    r = send_pfns(0, edge, 2);
    used0(0, r);
    ck_assert_uint_eq(H.nrel, 3);
    ck_assert_uint_eq(H.rel[1].len, PG);
    ck_assert_uint_eq(H.rel[2].len, PG);
    ck_assert_ptr_eq(H.rel[2].hva, h.regions[1].hva);
    no_needs_reset();
}
END_TEST

/* An array not a multiple of 4 bytes: the whole PFNs count, the tail is
 * ignored; empty arrays and writable parts are answered too. */
START_TEST(balloon_odd_and_empty_arrays)
{
    make(0, 1);
    up(VDM_F_VERSION_1);
    uint64_t p = dh_alloc(&h, PG, PG);
    uint8_t buf[7];
    vdm_put_le32(buf, pfn_of(p));
    memset(buf + 4, 0xff, 3);
    uint64_t r = send_out(0, buf, 7);
    used0(0, r);
    ck_assert_uint_eq(H.nrel, 1);
    ck_assert_uint_eq(counters().rejected, 0);

    r = send_out(0, buf, 3); /* less than one PFN */
    used0(0, r);
    ck_assert_uint_eq(H.nrel, 1);

    /* A chain with a writable part only. */
    uint64_t w = dh_alloc(&h, 64, 16);
    struct drv_buf in = {w, 64};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, 0), NULL, 0, &in, 1, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)w),
                     0);
    drv_vq_publish(dh_vq(&h, 0));
    dh_kick(&h, 0, 1);
    used0(0, w);
    ck_assert_uint_eq(H.nrel, 1);
    no_needs_reset();
}
END_TEST

/* A huge array: at most VDM_BALLOON_PFNS_MAX PFNs are acted on, the rest
 * is counted as rejected. The array spans many descriptors. */
START_TEST(balloon_huge_array_bounded)
{
    make(0, 1);
    up(VDM_F_VERSION_1);
    uint64_t p = dh_alloc(&h, 2 * PG, PG); /* the host zeroes p and p+1 */
    const unsigned n = VDM_BALLOON_PFNS_MAX + 1000;
    uint64_t arr = dh_alloc(&h, (uint64_t)n * 4, 16);
    uint8_t *a = dh_ptr(&h, arr, (uint64_t)n * 4);
    for (unsigned i = 0; i < n; i++)
        vdm_put_le32(a + 4 * i, pfn_of(p) + (i & 1)); /* never adjacent */
    struct drv_buf parts[4];
    for (unsigned i = 0; i < 4; i++)
        parts[i] = (struct drv_buf){arr + i * (n / 4) * 4, (n / 4) * 4};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, 0), parts, 4, NULL, 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)arr),
                     0);
    drv_vq_publish(dh_vq(&h, 0));
    dh_kick(&h, 0, 1);
    used0(0, arr);
    /* p, p+1 adjacent: one range; then p again starts another. */
    ck_assert_uint_eq(H.nrel, VDM_BALLOON_PFNS_MAX / 2);
    struct vdm_balloon_counters k = counters();
    ck_assert_uint_eq(k.inflated, VDM_BALLOON_PFNS_MAX);
    ck_assert_uint_eq(k.rejected, 1000);
}
END_TEST

/* A host that fails release/acquire: the request is still acknowledged
 * (releasing memory is something the device MAY do) and the error counted. */
START_TEST(balloon_host_errors_still_acknowledged)
{
    make(0, 1);
    up(VDM_F_VERSION_1);
    H.fail = VDM_EIO;
    uint64_t p = dh_alloc(&h, PG, PG);
    uint32_t pfn = pfn_of(p);
    uint64_t r = send_pfns(0, &pfn, 1);
    used0(0, r);
    r = send_pfns(1, &pfn, 1);
    used0(1, r);
    ck_assert_uint_eq(counters().host_errors, 2);
}
END_TEST

/* A flood of requests: every one answered, none lost. */
START_TEST(balloon_flood_answered)
{
    make(0, 1);
    up(VDM_F_VERSION_1);
    uint64_t p = dh_alloc(&h, PG, PG);
    uint32_t pfn = pfn_of(p) + 5000; /* outside: no host call to record */
    uint8_t b[4];
    vdm_put_le32(b, pfn);
    uint64_t gpa = dh_alloc(&h, 4, 4);
    memcpy(dh_ptr(&h, gpa, 4), b, 4);
    unsigned sent = 0, got = 0;
    for (int round = 0; round < 20; round++) {
        struct drv_buf o = {gpa, 4};
        while (drv_vq_add(dh_vq(&h, 0), &o, 1, NULL, 0, DRV_ADD_DIRECT, NULL) >=
               0)
            sent++;
        drv_vq_publish(dh_vq(&h, 0));
        dh_kick(&h, 0, 1);
        while (drv_vq_get_used(dh_vq(&h, 0), NULL, NULL, NULL) == 1)
            got++;
    }
    ck_assert_uint_eq(got, sent);
    ck_assert_uint_eq(counters().rejected, sent);
    no_needs_reset();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Configuration: target and actual                                          */

/* "Device Operation": num_pages is the host's target, actual the
 * driver's; a new target is a configuration change. */
START_TEST(balloon_target_and_actual)
{
    make(0, 1);
    up(VDM_F_VERSION_1);
    unsigned irq = h.irq_config;
    ck_assert_int_eq(vdm_balloon_set_target(&bal, 256), 0);
    ck_assert_uint_eq(h.irq_config, irq + 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_NUM_PAGES, 4), 256);
    ck_assert_uint_eq(vdm_balloon_target(&bal), 256);
    ck_assert_int_eq(vdm_balloon_set_target(&bal, 256), 0);
    ck_assert_uint_eq(h.irq_config, irq + 1); /* no change, no notice */

    uint8_t v[4];
    vdm_put_le32(v, 200);
    ck_assert_int_eq(dh_config_write(&h, VDM_BALLOON_CFG_ACTUAL, v, 4), 0);
    ck_assert_uint_eq(vdm_balloon_actual(&bal), 200);
    ck_assert_uint_eq(H.actual, 200);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_ACTUAL, 4), 200);

    /* num_pages and free_page_hint_cmd_id are read-only for the driver. */
    vdm_put_le32(v, 7);
    dh_config_write(&h, VDM_BALLOON_CFG_NUM_PAGES, v, 4);
    dh_config_write(&h, VDM_BALLOON_CFG_CMD_ID, v, 4);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_NUM_PAGES, 4), 256);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_CMD_ID, 4), 0);
    /* poison_val without PAGE_POISON: ignored. */
    dh_config_write(&h, VDM_BALLOON_CFG_POISON, v, 4);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_POISON, 4), 0);
    ck_assert_int_eq(vdm_balloon_poison(&bal, NULL), 0);

    /* Reset: actual back to 0, the host's target stays. */
    dh_reset(&h);
    ck_assert_uint_eq(vdm_balloon_actual(&bal), 0);
    ck_assert_uint_eq(vdm_balloon_target(&bal), 256);
}
END_TEST

/* "Page Poison": the driver writes poison_val before DRIVER_OK and MUST
 * NOT change it while DRIVER_OK is set. With a non-zero poison_val the
 * device MUST NOT change reported pages to anything else: the report
 * hook is told to keep them. */
START_TEST(balloon_page_poison)
{
    uint64_t f =
        VDM_F_VERSION_1 | VDM_BALLOON_F_PAGE_POISON | VDM_BALLOON_F_REPORTING;
    make(f & ~VDM_F_VERSION_1, 1);
    ck_assert_int_eq(dh_negotiate(&h, f), 0);
    uint8_t v[4];
    vdm_put_le32(v, 0xaaaaaaaau);
    ck_assert_int_eq(dh_config_write(&h, VDM_BALLOON_CFG_POISON, v, 4), 0);
    for (uint16_t q = 0; q < 3; q++)
        ck_assert_int_eq(dh_setup_queue(&h, q, 16), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);
    uint32_t pv = 0;
    ck_assert_int_eq(vdm_balloon_poison(&bal, &pv), 1);
    ck_assert_uint_eq(pv, 0xaaaaaaaau);
    vdm_put_le32(v, 0);
    dh_config_write(&h, VDM_BALLOON_CFG_POISON, v, 4); /* after DRIVER_OK */
    ck_assert_int_eq(vdm_balloon_poison(&bal, &pv), 1);
    ck_assert_uint_eq(pv, 0xaaaaaaaau);

    uint64_t pg = dh_alloc(&h, PG, PG);
    struct drv_buf in = {pg, PG};
    uint16_t rq = qi(VDM_BALLOON_Q_REPORTING);
    ck_assert_int_ge(
        drv_vq_add(dh_vq(&h, rq), NULL, 0, &in, 1, DRV_ADD_DIRECT, &in), 0);
    drv_vq_publish(dh_vq(&h, rq));
    dh_kick(&h, rq, 1);
    ck_assert_uint_eq(H.nrep, 1);
    ck_assert_uint_eq(H.rep[0].arg, VDM_BALLOON_REPORT_KEEP);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

static void put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
    vdm_put_le16(p, tag);
    vdm_put_le64(p + 2, val);
}

/* "Memory Statistics": the device keeps the buffer, reads the stats (any
 * order, unknown tags ignored) and gives the buffer back to ask for fresh
 * ones; the driver then supplies a new one. */
START_TEST(balloon_stats_protocol)
{
    uint64_t f = VDM_F_VERSION_1 | VDM_BALLOON_F_STATS_VQ;
    make(VDM_BALLOON_F_STATS_VQ, 1);
    up(f);
    uint16_t sq = qi(VDM_BALLOON_Q_STATS);
    ck_assert_uint_eq(sq, 2);
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 0); /* none yet */

    uint8_t s[4 * 10];
    put_stat(s, VDM_BALLOON_S_MEMTOT, 1u << 30);
    put_stat(s + 10, 0x1234, 77); /* unknown: ignored */
    put_stat(s + 20, VDM_BALLOON_S_MEMFREE, 5u << 20);
    put_stat(s + 30, VDM_BALLOON_S_SWAP_IN, 3);
    uint64_t b1 = send_out(sq, s, sizeof(s));
    no_used(sq);
    ck_assert_uint_eq(H.nstats, 1);
    ck_assert_uint_eq(H.stats_valid, (1u << VDM_BALLOON_S_MEMTOT) |
                                         (1u << VDM_BALLOON_S_MEMFREE) |
                                         (1u << VDM_BALLOON_S_SWAP_IN));
    ck_assert_uint_eq(H.stats_val[VDM_BALLOON_S_MEMTOT], 1u << 30);
    ck_assert_uint_eq(H.stats_val[VDM_BALLOON_S_MEMFREE], 5u << 20);
    ck_assert_uint_eq(H.stats_val[VDM_BALLOON_S_SWAP_IN], 3);

    unsigned irq = h.irq_queue[sq];
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 1);
    ck_assert_uint_eq(h.irq_queue[sq], irq + 1);
    used0(sq, b1);
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 0);

    put_stat(s, VDM_BALLOON_S_MEMTOT, 2u << 30);
    send_out(sq, s, 10);
    ck_assert_uint_eq(H.nstats, 2);
    ck_assert_uint_eq(H.stats_val[VDM_BALLOON_S_MEMTOT], 2u << 30);
    ck_assert_uint_eq(H.stats_valid, 1u << VDM_BALLOON_S_MEMTOT);
    ck_assert_uint_eq(counters().stats, 2);
}
END_TEST

/* Hostile stats buffers: odd sizes (the whole entries count), empty, huge,
 * writable, and more than one at a time (the one kept is given back). */
START_TEST(balloon_stats_hostile_buffers)
{
    make(VDM_BALLOON_F_STATS_VQ, 1);
    up(VDM_F_VERSION_1 | VDM_BALLOON_F_STATS_VQ);
    uint16_t sq = qi(VDM_BALLOON_Q_STATS);
    uint8_t s[25];
    put_stat(s, VDM_BALLOON_S_AVAIL, 9);
    put_stat(s + 10, VDM_BALLOON_S_CACHES, 8);
    memset(s + 20, 0x77, 5);
    uint64_t b1 = send_out(sq, s, sizeof(s));
    ck_assert_uint_eq(H.stats_valid, (1u << VDM_BALLOON_S_AVAIL) |
                                         (1u << VDM_BALLOON_S_CACHES));
    /* A second buffer while one is kept: the first comes back. */
    uint64_t b2 = send_out(sq, s, 3);
    used0(sq, b1);
    ck_assert_uint_eq(H.stats_valid, 0);
    /* A huge buffer: read up to VDM_BALLOON_STATS_MAX entries. */
    uint64_t big = dh_alloc(&h, 64 * 1024, 16);
    uint8_t *bp = dh_ptr(&h, big, 64 * 1024);
    memset(bp, 0xff, 64 * 1024);
    put_stat(bp + 10 * (VDM_BALLOON_STATS_MAX - 1), VDM_BALLOON_S_MINFLT, 1);
    put_stat(bp + 10 * VDM_BALLOON_STATS_MAX, VDM_BALLOON_S_MAJFLT, 1);
    struct drv_buf o = {big, 64 * 1024};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, sq), &o, 1, NULL, 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)big),
                     0);
    drv_vq_publish(dh_vq(&h, sq));
    dh_kick(&h, sq, 1);
    used0(sq, b2);
    ck_assert_uint_eq(H.stats_valid, 1u << VDM_BALLOON_S_MINFLT);
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 1);
    used0(sq, big);
    no_needs_reset();
}
END_TEST

/* A device reset drops the kept stats buffer: nothing is written or
 * returned after it, and the device serves again after bring-up. */
START_TEST(balloon_reset_drops_kept_stats_buffer)
{
    make(VDM_BALLOON_F_STATS_VQ, 1);
    up(VDM_F_VERSION_1 | VDM_BALLOON_F_STATS_VQ);
    uint8_t s[10];
    put_stat(s, VDM_BALLOON_S_MEMTOT, 1);
    /* Kept buffers abandoned by resets must not keep their slots: a leak
     * would leave the statsq without one after two resets. */
    for (int i = 0; i < 4; i++) {
        send_out(2, s, 10);
        ck_assert_uint_eq(H.nstats, (unsigned)i + 1u);
        dh_reset(&h);
        ck_assert_int_eq(vdm_balloon_stats_request(&bal), 0);
        drv_alloc_reset(&h.g);
        up(VDM_F_VERSION_1 | VDM_BALLOON_F_STATS_VQ);
    }
    uint64_t b = send_out(2, s, 10);
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 1);
    used0(2, b);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Free page hinting                                                         */

static void send_cmd(uint16_t q, uint32_t id)
{
    uint8_t b[4];
    vdm_put_le32(b, id);
    uint64_t g = send_out(q, b, 4);
    used0(q, g);
}

static void send_hint_page(uint16_t q, uint64_t pg, uint32_t len)
{
    struct drv_buf in = {pg, len};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, q), NULL, 0, &in, 1, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)pg),
                     0);
    drv_vq_publish(dh_vq(&h, q));
    dh_kick(&h, q, 1);
    used0(q, pg);
}

/* "Free Page Hinting": the device sets a command id >= 2; the driver sends
 * it, then pages, then STOP. Pages under any other id are ignored; ids are
 * never reused; STOP and DONE from the host end the round. */
START_TEST(balloon_free_page_hint_rounds)
{
    uint64_t f = VDM_F_VERSION_1 | VDM_BALLOON_F_FREE_PAGE_HINT;
    make(VDM_BALLOON_F_FREE_PAGE_HINT, 1);
    ck_assert_int_eq(vdm_balloon_hint_start(&bal, NULL), VDM_ESTATE);
    up(f);
    uint16_t fq = qi(VDM_BALLOON_Q_FREE_PAGE);
    ck_assert_uint_eq(fq, 2);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_CMD_ID, 4),
                      VDM_BALLOON_CMD_ID_STOP);
    uint64_t pg = dh_alloc(&h, 8 * PG, PG);

    /* Pages before any round: ignored. */
    send_hint_page(fq, pg, PG);
    ck_assert_uint_eq(H.nhint, 0);

    unsigned irq = h.irq_config;
    uint32_t id = 0;
    ck_assert_int_eq(vdm_balloon_hint_start(&bal, &id), 0);
    ck_assert_uint_ge(id, 2);
    ck_assert_uint_eq(h.irq_config, irq + 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_CMD_ID, 4), id);
    send_cmd(fq, id);
    send_hint_page(fq, pg, 4 * PG);
    send_hint_page(fq, pg + 4 * PG, PG);
    ck_assert_uint_eq(H.nhint, 2);
    ck_assert_uint_eq(H.hint[0].gpa, pg);
    ck_assert_uint_eq(H.hint[0].len, 4 * PG);
    ck_assert_uint_eq(H.hint[0].arg, id);
    ck_assert_uint_eq(counters().hinted, 5 * PG);
    send_cmd(fq, VDM_BALLOON_CMD_ID_STOP);
    ck_assert_uint_eq(H.nhint, 3);
    ck_assert_uint_eq(H.hint[2].len, 0); /* the driver's STOP */
    ck_assert_uint_eq(H.hint[2].arg, id);
    /* After STOP: pages are ignored. */
    send_hint_page(fq, pg, PG);
    ck_assert_uint_eq(H.nhint, 3);

    /* A new round: a new id. A stale id from the driver is ignored. */
    uint32_t id2 = 0;
    ck_assert_int_eq(vdm_balloon_hint_start(&bal, &id2), 0);
    ck_assert_uint_gt(id2, id);
    send_cmd(fq, id);
    send_hint_page(fq, pg, PG);
    ck_assert_uint_eq(H.nhint, 3);
    send_cmd(fq, id2);
    send_hint_page(fq, pg, PG);
    ck_assert_uint_eq(H.nhint, 4);
    /* The host stops the round: pages under id2 are ignored from now on. */
    ck_assert_int_eq(vdm_balloon_hint_end(&bal, VDM_BALLOON_CMD_ID_DONE), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_BALLOON_CFG_CMD_ID, 4),
                      VDM_BALLOON_CMD_ID_DONE);
    send_hint_page(fq, pg, PG);
    ck_assert_uint_eq(H.nhint, 4);
    ck_assert_int_eq(vdm_balloon_hint_end(&bal, 5), VDM_EINVAL);
    no_needs_reset();
}
END_TEST

/* Hostile free page commands: not 4 bytes, a reserved id other than STOP,
 * pages outside guest memory. */
START_TEST(balloon_free_page_hostile)
{
    make(VDM_BALLOON_F_FREE_PAGE_HINT, 1);
    up(VDM_F_VERSION_1 | VDM_BALLOON_F_FREE_PAGE_HINT);
    uint32_t id = 0;
    ck_assert_int_eq(vdm_balloon_hint_start(&bal, &id), 0);
    uint8_t b[8] = {0};
    vdm_put_le32(b, id);
    uint64_t g = send_out(2, b, 8); /* 8 bytes: not a command */
    used0(2, g);
    uint64_t pg = dh_alloc(&h, PG, PG);
    send_hint_page(2, pg, PG);
    ck_assert_uint_eq(H.nhint, 0);
    send_cmd(2, VDM_BALLOON_CMD_ID_DONE); /* reserved, not current */
    send_hint_page(2, pg, PG);
    ck_assert_uint_eq(H.nhint, 0);
    send_cmd(2, id);
    send_hint_page(2, pg, PG);
    ck_assert_uint_eq(H.nhint, 1);
    no_needs_reset();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Free page reporting                                                       */

/* "Free Page Reporting": the driver adds a scatter-gather list of free
 * ranges; the device MAY discard them (no PAGE_POISON) and acknowledges by
 * using the descriptor. */
START_TEST(balloon_reporting_reports_ranges)
{
    make(VDM_BALLOON_F_REPORTING, 2);
    up(VDM_F_VERSION_1 | VDM_BALLOON_F_REPORTING);
    uint16_t rq = qi(VDM_BALLOON_Q_REPORTING);
    ck_assert_uint_eq(rq, 2);
    uint64_t a = dh_alloc(&h, 16 * PG, PG);
    uint64_t b = h.regions[1].gpa; /* in the second region */
    struct drv_buf in[3] = {{a, 8 * PG}, {a + 8 * PG, 8 * PG}, {b, 2 * PG}};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, rq), NULL, 0, in, 3, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)a),
                     0);
    drv_vq_publish(dh_vq(&h, rq));
    dh_kick(&h, rq, 1);
    used0(rq, a);
    ck_assert_uint_eq(H.nrep, 3);
    ck_assert_uint_eq(H.rep[0].gpa, a);
    ck_assert_uint_eq(H.rep[0].len, 8 * PG);
    ck_assert_uint_eq(H.rep[0].arg, 0);
    ck_assert_uint_eq(H.rep[2].gpa, b);
    ck_assert_ptr_eq(H.rep[2].hva, h.regions[1].hva);
    ck_assert_uint_eq(counters().reported, 18 * PG);

    /* A chain with more ranges than a request holds: the first
     * VDM_BALLOON_IOV_MAX are reported, the chain is answered. */
    struct drv_buf many[40];
    uint64_t m = dh_alloc(&h, 40 * 64, 64);
    for (unsigned i = 0; i < 40; i++)
        many[i] = (struct drv_buf){m + i * 64, 32};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, rq), NULL, 0, many, 40,
                                DRV_ADD_DIRECT, (void *)(uintptr_t)m),
                     0);
    drv_vq_publish(dh_vq(&h, rq));
    H.nrep = 0;
    dh_kick(&h, rq, 1);
    used0(rq, m);
    ck_assert_uint_le(H.nrep, VDM_BALLOON_IOV_MAX);
    no_needs_reset();
}
END_TEST

/* Every queue in a packed ring and with indirect descriptors. */
START_TEST(balloon_packed_indirect)
{
    uint64_t f = VDM_F_VERSION_1 | VDM_F_RING_PACKED | VDM_F_INDIRECT_DESC |
                 VDM_BALLOON_F_STATS_VQ;
    UT_NEEDS(f);
    make(VDM_BALLOON_F_STATS_VQ, 1);
    up(f);
    uint64_t p = dh_alloc(&h, 2 * PG, PG);
    uint8_t buf[8];
    vdm_put_le32(buf, pfn_of(p));
    vdm_put_le32(buf + 4, pfn_of(p) + 1);
    uint64_t g = dh_alloc(&h, 8, 8);
    memcpy(dh_ptr(&h, g, 8), buf, 8);
    struct drv_buf o[2] = {{g, 4}, {g + 4, 4}};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, 0), o, 2, NULL, 0, DRV_ADD_INDIRECT,
                                (void *)(uintptr_t)g),
                     0);
    drv_vq_publish(dh_vq(&h, 0));
    dh_kick(&h, 0, 1);
    used0(0, g);
    ck_assert_uint_eq(H.nrel, 1);
    ck_assert_uint_eq(H.rel[0].len, 2 * PG);
    uint8_t s[10];
    put_stat(s, VDM_BALLOON_S_MEMTOT, 42);
    uint64_t sb = send_out(2, s, 10);
    ck_assert_uint_eq(H.stats_val[VDM_BALLOON_S_MEMTOT], 42);
    ck_assert_int_eq(vdm_balloon_stats_request(&bal), 1);
    used0(2, sb);
}
END_TEST

static Suite *balloon_suite(void)
{
    Suite *s = suite_create("balloon");
    TCase *tc = tcase_create("balloon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, balloon_identity_and_queues);
    tcase_add_test(tc, balloon_queue_numbers_follow_negotiated_features);
    tcase_add_test(tc, balloon_must_tell_host_required_when_offered);
    tcase_add_test(tc, balloon_init_rejects_bad_config);
    tcase_add_test(tc, balloon_inflate_releases_pages);
    tcase_add_test(tc, balloon_pfn_outside_memory_skipped);
    tcase_add_test(tc, balloon_odd_and_empty_arrays);
    tcase_add_test(tc, balloon_huge_array_bounded);
    tcase_add_test(tc, balloon_host_errors_still_acknowledged);
    tcase_add_test(tc, balloon_flood_answered);
    tcase_add_test(tc, balloon_target_and_actual);
    tcase_add_test(tc, balloon_page_poison);
    tcase_add_test(tc, balloon_stats_protocol);
    tcase_add_test(tc, balloon_stats_hostile_buffers);
    tcase_add_test(tc, balloon_reset_drops_kept_stats_buffer);
    tcase_add_test(tc, balloon_free_page_hint_rounds);
    tcase_add_test(tc, balloon_free_page_hostile);
    tcase_add_test(tc, balloon_reporting_reports_ranges);
    tcase_add_test(tc, balloon_packed_indirect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(balloon_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
