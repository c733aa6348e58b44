/* SPDX-License-Identifier: BSD-3-Clause */
/* Save and restore (vdm/state.h, docs/state-format.md).
 *
 * - Mid-stream migration of a block device, split and packed rings
 *   (spec "Split Virtqueues", "Packed Virtqueues": a chain the device read
 *   but did not use is still the device's, so the restored device reads it
 *   again): requests completed before the save, requests in flight at the
 *   host, requests available and not yet read. The restored device runs on
 *   a fresh copy of guest memory (same guest addresses, other host
 *   addresses); the driver sees every request completed exactly once with
 *   the right data. Run directly, behind virtio-mmio and behind virtio-pci
 *   (DH_TRANSPORT), with that transport's save and restore.
 * - The byte layout, written as literals (little-endian whatever the host:
 *   the s390x cross run checks it), and every refusal of restore.
 * - Transport registers: MMIO InterruptStatus and selectors; PCI
 *   configuration space, MSI-X table, PBA and vectors (spec "MMIO Device
 *   Register Layout", "MSI-X Vector Configuration").
 * - Device types: input's select/subsel and waiting events, rng without
 *   state. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/devices/balloon.h"
#include "vdm/devices/blk.h"
#include "vdm/devices/input.h"
#include "vdm/devices/rng.h"
#include "vdm/le.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/state.h"

#define CAP   256u /* sectors */
#define SEC   512u
#define QSIZE 64u
#define IOVR  8u
#define NPEND 64u

/* ------------------------------------------------------------------------ */
/* The host: one disk, one asynchronous request list per device instance. */

struct op {
    int write;
    uint64_t sector;
    const struct vdm_iov *iov;
    uint32_t n;
    void *token;
};

struct host {
    struct vdm_blk *blk;
    struct op pend[NPEND];
    unsigned npend;
    unsigned nwb;
};

static uint8_t disk[CAP * SEC];
static struct host host1, host2;
static struct dh h1, h2;
static int h1_live, h2_live;
static struct vdm_blk blk1, blk2;
static struct vdm_blk_req *reqs1, *reqs2;
static struct vdm_iov *iovs1, *iovs2;
static struct drv_mmio m2;
static struct drv_pci p2;
static int p2_live;

static int h_rw(void *host, int write, uint64_t sector,
                const struct vdm_iov *iov, uint32_t n, void *token)
{
    struct host *hs = host;
    ck_assert_uint_lt(hs->npend, NPEND);
    hs->pend[hs->npend++] =
        (struct op){.write = write, .sector = sector, .iov = iov, .n = n,
                    .token = token};
    return 0;
}

static int h_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                  uint32_t n, void *token)
{
    return h_rw(host, 0, sector, iov, n, token);
}

static int h_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                   uint32_t n, void *token)
{
    return h_rw(host, 1, sector, iov, n, token);
}

static int h_flush(void *host, void *token)
{
    return h_rw(host, 2, 0, NULL, 0, token);
}

static void h_wb(void *host, uint32_t wb)
{
    (void)wb;
    ((struct host *)host)->nwb++;
}

static const struct vdm_blk_ops hops = {
    .size = sizeof(struct vdm_blk_ops),
    .read = h_read,
    .write = h_write,
    .flush = h_flush,
    .set_writeback = h_wb,
};

/* Do the i-th pending operation of @p hs on the disk and complete it. */
static void complete(struct host *hs, unsigned i)
{
    struct op o;
    uint64_t off;

    ck_assert_uint_lt(i, hs->npend);
    o = hs->pend[i];
    memmove(&hs->pend[i], &hs->pend[i + 1],
            (hs->npend - i - 1) * sizeof(hs->pend[0]));
    hs->npend--;
    off = o.sector * SEC;
    for (uint32_t k = 0; k < o.n && o.write < 2; k++) {
        ck_assert_uint_le(off + o.iov[k].len, sizeof(disk));
        if (o.write)
            memcpy(disk + off, o.iov[k].base, o.iov[k].len);
        else
            memcpy(o.iov[k].base, disk + off, o.iov[k].len);
        off += o.iov[k].len;
    }
    ck_assert_int_eq(vdm_blk_complete(hs->blk, o.token, VDM_BLK_S_OK), 0);
}

/* ------------------------------------------------------------------------ */
/* Bench */

static struct vdm_blk_config blk_cfg(struct host *hs)
{
    struct vdm_blk_config c = VDM_INIT(struct vdm_blk_config);
    c.capacity = CAP;
    c.iov_per_req = IOVR;
    c.ops = &hops;
    c.host = hs;
    c.flags = VDM_BLK_FLUSH | VDM_BLK_WCE | VDM_BLK_WRITEBACK;
    return c;
}

static void blk_on(struct dh *h, struct vdm_blk *b, struct host *hs,
                   struct vdm_blk_req **reqs, struct vdm_iov **iovs)
{
    struct vdm_blk_config c = blk_cfg(hs);

    *reqs = calloc(VDM_BLK_REQS(1, h->qsize), sizeof(**reqs));
    *iovs = calloc(VDM_BLK_IOVS(1, h->qsize, IOVR), sizeof(**iovs));
    ck_assert_ptr_nonnull(*reqs);
    ck_assert_ptr_nonnull(*iovs);
    c.reqs = *reqs;
    c.iovs = *iovs;
    hs->blk = b;
    ck_assert_int_eq(vdm_blk_init(b, &h->dev, &c, &h->base), 0);
}

static void setup(void)
{
    memset(&host1, 0, sizeof(host1));
    memset(&host2, 0, sizeof(host2));
    for (size_t i = 0; i < sizeof(disk); i++)
        disk[i] = (uint8_t)(i * 13 + i / SEC);
    h1_live = h2_live = p2_live = 0;
    reqs1 = reqs2 = NULL;
    iovs1 = iovs2 = NULL;
}

static void teardown(void)
{
    if (p2_live)
        drv_pci_fini(&p2);
    if (h1_live)
        dh_fini(&h1);
    if (h2_live)
        dh_fini(&h2);
    free(reqs1);
    free(reqs2);
    free(iovs1);
    free(iovs2);
    h1_live = h2_live = p2_live = 0;
}

/* Device 1: the bench's transport (DH_TRANSPORT), blk, brought up. */
static void start1(uint64_t features)
{
    struct dh_opts o = {.num_queues = 1, .qsize = QSIZE};

    ck_assert_int_eq(dh_init(&h1, &o), 0);
    h1_live = 1;
    blk_on(&h1, &blk1, &host1, &reqs1, &iovs1);
    ck_assert_int_eq(dh_bring_up(&h1, features, 1), 0);
}

/* Device 2: a fresh memory map of the same layout, blk of the same
 * configuration, a transport of the same kind as device 1's (not
 * probed: everything comes from the image). */
static void start2(void)
{
    struct dh_opts o = {
        .num_queues = 1, .qsize = QSIZE, .transport = DH_TP_DIRECT};

    ck_assert_int_eq(dh_init(&h2, &o), 0);
    h2_live = 1;
    blk_on(&h2, &blk2, &host2, &reqs2, &iovs2);
    if (h1.transport == DH_TP_MMIO) {
        ck_assert_int_eq(drv_mmio_init(&m2, &h2.dev, NULL), 0);
    } else if (h1.transport == DH_TP_PCI) {
        struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
        c.msix_vectors = 2;
        ck_assert_int_eq(drv_pci_init(&p2, &h2.dev, &c), 0);
        p2_live = 1;
    } else {
        /* direct */
    }
}

static size_t state_size1(void)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_state_size(&h1.mmio.t);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_state_size(&h1.pci.t);
    return vdm_dev_state_size(&h1.dev);
}

static int save1(void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_save(&h1.mmio.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_save(&h1.pci.t, buf, len);
    return vdm_dev_save(&h1.dev, buf, len);
}

static int restore2(const void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_restore(&m2.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_restore(&p2.t, buf, len);
    return vdm_dev_restore(&h2.dev, buf, len);
}

/* Guest memory of @p src copied over @p dst (same layout). */
static void copy_mem(struct dh *dst, const struct dh *src)
{
    ck_assert_uint_eq(dst->g.nregions, src->g.nregions);
    for (unsigned i = 0; i < src->g.nregions; i++) {
        ck_assert_uint_eq(dst->g.regions[i].gpa, src->g.regions[i].gpa);
        ck_assert_uint_eq(dst->g.regions[i].size, src->g.regions[i].size);
        ck_assert_ptr_ne(dst->g.regions[i].hva, src->g.regions[i].hva);
        memcpy(dst->g.regions[i].hva, src->g.regions[i].hva,
               src->g.regions[i].size);
    }
}

/* A request of the driver on device 1's memory. */
struct req {
    uint64_t hdr, data, st;
    int id;
    int write;
    uint64_t sector;
    uint8_t seed;
    int done;
};

static void add_req(struct req *r, int write, uint64_t sector, uint8_t seed)
{
    struct drv_buf rd[2], wr[2];
    unsigned nrd = 0, nwr = 0;
    uint8_t *hdr, *data;

    memset(r, 0, sizeof(*r));
    r->write = write;
    r->sector = sector;
    r->seed = seed;
    r->hdr = dh_alloc(&h1, 16, 16);
    hdr = dh_ptr(&h1, r->hdr, 16);
    drv_put_le32(hdr, write ? VDM_BLK_T_OUT : VDM_BLK_T_IN);
    drv_put_le32(hdr + 4, 0);
    drv_put_le64(hdr + 8, sector);
    r->data = dh_alloc(&h1, SEC, 8);
    data = dh_ptr(&h1, r->data, SEC);
    if (write)
        memset(data, seed, SEC);
    r->st = dh_alloc(&h1, 1, 1);
    *(uint8_t *)dh_ptr(&h1, r->st, 1) = 0xee;
    rd[nrd++] = (struct drv_buf){r->hdr, 16};
    if (write)
        rd[nrd++] = (struct drv_buf){r->data, SEC};
    else
        wr[nwr++] = (struct drv_buf){r->data, SEC};
    wr[nwr++] = (struct drv_buf){r->st, 1};
    r->id = drv_vq_add(dh_vq(&h1, 0), rd, nrd, wr, nwr, DRV_ADD_DIRECT, r);
    ck_assert_int_ge(r->id, 0);
}

/* Collect every used buffer: each must be a request not done yet, with
 * status OK and (reads) the bytes @p expect gives. */
static unsigned collect(struct req *rs, unsigned n,
                        const uint8_t *(*expect)(const struct req *))
{
    unsigned got = 0;
    uint32_t id, len;
    void *cookie;

    while (drv_vq_get_used(dh_vq(&h1, 0), &id, &len, &cookie) == 1) {
        struct req *r = cookie;
        ck_assert_ptr_nonnull(r);
        ck_assert(r >= rs && r < rs + n);
        ck_assert_int_eq(r->id, (int)id);
        ck_assert_int_eq(r->done, 0); /* never twice */
        r->done = 1;
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r->st, 1), VDM_BLK_S_OK);
        if (!r->write) {
            ck_assert_uint_eq(len, SEC + 1u);
            ck_assert_mem_eq(dh_ptr(&h1, r->data, SEC), expect(r), SEC);
        }
        got++;
    }
    return got;
}

static uint8_t pattern[CAP][SEC]; /* disk content the driver expects */

static const uint8_t *expect_disk(const struct req *r)
{
    return pattern[r->sector];
}

/* ------------------------------------------------------------------------ */
/* Mid-stream migration */

#define BLK_F (VDM_BLK_F_FLUSH | VDM_BLK_F_CONFIG_WCE | VDM_F_EVENT_IDX)

static void midstream(uint64_t ring_f)
{
    struct req r[10];
    uint8_t *img;
    size_t n;
    int rc;

    for (unsigned s = 0; s < CAP; s++)
        memcpy(pattern[s], disk + (size_t)s * SEC, SEC);
    start1(BLK_F | ring_f);
    /* The driver turns the write cache off (CONFIG_WCE): class state. */
    {
        uint8_t wb = 0;
        ck_assert_int_eq(dh_config_write(&h1, VDM_BLK_CFG_WRITEBACK, &wb, 1),
                         0);
        ck_assert_uint_eq(vdm_blk_writeback(&blk1), 0);
    }
    /* r0..r2 write sectors 2, 4, 6; r3..r5 read 20..22. */
    for (unsigned i = 0; i < 3; i++)
        add_req(&r[i], 1, 2 + 2 * i, (uint8_t)(0x40 + i));
    for (unsigned i = 3; i < 6; i++)
        add_req(&r[i], 0, 17 + i, 0);
    dh_kick(&h1, 0, 1);
    ck_assert_uint_eq(host1.npend, 6);
    /* The first two complete before the save. */
    complete(&host1, 0);
    complete(&host1, 0);
    memset(pattern[2], 0x40, SEC);
    memset(pattern[4], 0x41, SEC);
    ck_assert_uint_eq(collect(r, 10, expect_disk), 2);
    /* r6 (read sector 2: r0's data) and r7 (write 30) made available, not
     * yet read by the device. */
    add_req(&r[6], 0, 2, 0);
    add_req(&r[7], 1, 30, 0x77);
    drv_vq_publish(dh_vq(&h1, 0));

    n = state_size1();
    ck_assert_uint_gt(n, VDM_STATE_HDR_BYTES);
    img = malloc(n);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(save1(img, n - 1), VDM_ENOSPC);
    rc = save1(img, n);
    ck_assert_int_eq(rc, (int)n);
    /* The source stops: its host requests are dropped, never completed. */
    host1.npend = 0;

    start2();
    copy_mem(&h2, &h1);
    ck_assert_int_eq(restore2(img, n), 0);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), vdm_dev_status(&h1.dev));
    ck_assert_uint_eq(vdm_dev_features(&h2.dev), vdm_dev_features(&h1.dev));
    ck_assert_uint_eq(vdm_blk_writeback(&blk2), 0);
    ck_assert_int_eq(vdm_dev_queue_enabled(&h2.dev, 0), 1);

    /* Kick after restore: the 4 re-queued and the 2 new ones. */
    ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, 0, 0), 0);
    ck_assert_uint_eq(host2.npend, 6);
    while (host2.npend > 0)
        complete(&host2, host2.npend - 1); /* newest first */
    memset(pattern[6], 0x42, SEC);
    memset(pattern[30], 0x77, SEC);
    copy_mem(&h1, &h2);
    /* r6 reads sector 2 as r0 wrote it; served in reverse order, so r6
     * may have run before r2, which writes sector 6 (not 2). */
    ck_assert_uint_eq(collect(r, 10, expect_disk), 6);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_int_eq(r[i].done, 1);
    ck_assert_mem_eq(disk + 6 * SEC, pattern[6], SEC);
    ck_assert_mem_eq(disk + 30 * SEC, pattern[30], SEC);

    /* And the restored device keeps serving. */
    add_req(&r[8], 0, 6, 0);
    dh_kick(&h1, 0, 1); /* goes to device 1's registers: ignored there */
    host1.npend = 0;
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, 0, 0), 0);
    ck_assert_uint_eq(host2.npend, 1);
    complete(&host2, 0);
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(collect(r, 10, expect_disk), 1);
    free(img);
}

START_TEST(test_midstream_split)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    midstream(VDM_F_INDIRECT_DESC);
}
END_TEST

START_TEST(test_midstream_packed)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    UT_NEEDS(VDM_F_RING_PACKED);
    midstream(VDM_F_RING_PACKED);
}
END_TEST

/* Chains in flight that are not the newest popped: a save would serve a
 * completed one twice; refused until the host drains. */
START_TEST(test_busy_until_drained)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct req r[4];
    uint8_t img[1024];
    struct vdm_vq_state vs;

    start1(BLK_F);
    for (unsigned i = 0; i < 3; i++)
        add_req(&r[i], 0, i, 0);
    dh_kick(&h1, 0, 1);
    ck_assert_uint_eq(host1.npend, 3);
    complete(&host1, 1); /* r1 before r0 */
    ck_assert_uint_le(state_size1(), sizeof(img));
    ck_assert_int_eq(save1(img, sizeof(img)), VDM_EBUSY);
    complete(&host1, 0);
    /* r2 alone in flight, the newest: accepted, re-queued */
    ck_assert_int_gt(save1(img, sizeof(img)), 0);
    ck_assert_uint_eq(vdm_le16(img + VDM_STATE_HDR_BYTES + 8 + 40 + 8 + 38),
                      1);
    ck_assert_uint_eq(vdm_le16(img + VDM_STATE_HDR_BYTES + 8 + 40 + 8 + 32),
                      2); /* last_avail moved back over r2 */
    complete(&host1, 0);
    ck_assert_int_gt(save1(img, sizeof(img)), 0);
    ck_assert_uint_eq(vdm_le16(img + VDM_STATE_HDR_BYTES + 8 + 40 + 8 + 38),
                      0);
    ck_assert_int_eq(vdm_dev_queue_get_state(&h1.dev, 0, &vs), 0);
    ck_assert_uint_eq(vs.last_avail_idx, 3);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The byte layout, and restore's refusals */

/* Split queue 0: 16 entries at these addresses. */
#define DESC_GPA 0x101000u
#define DRV_GPA  0x102000u
#define DEV_GPA  0x103000u

/* The image of a blk brought up with VERSION_1 | FLUSH, queue 0 as above,
 * capacity 256, writeback 1: bytes written out by hand. */
static const uint8_t golden_head[24] = {
    'V', 'D', 'M', 'S', 1, 0, 24, 0, 144, 0, 0, 0, /* magic, ver, len */
    2,   0,   0,   0,   1, 0, 0,  0, 0,   0, 0, 0}; /* blk, 1 queue */
static const uint8_t golden_core_sec[8] = {1, 0, 0, 0, 40, 0, 0, 0};
static const uint8_t golden_queue[48] = {
    2,    0,    0,    0,    40, 0, 0, 0, /* section */
    0,    0,    1,    0,                 /* queue 0, enabled */
    16,   0,    0,    0,                 /* num */
    0,    0x10, 0x10, 0,    0,  0, 0, 0, /* desc */
    0,    0x20, 0x10, 0,    0,  0, 0, 0, /* driver */
    0,    0x30, 0x10, 0,    0,  0, 0, 0, /* device */
    0,    0,    0,    0,    0,  0, 0, 0};
static const uint8_t golden_class[24] = {
    3, 0, 0, 0, 16, 0, 0, 0, /* section */
    0, 1, 0, 0, 0,  0, 0, 0, /* capacity 256 */
    1, 0, 0, 0, 0,  0, 0, 0}; /* writeback */

static struct dh hd;
static struct vdm_blk blkd;
static struct host hostd;
static struct vdm_blk_req *reqsd;
static struct vdm_iov *iovsd;

static void golden_device(void)
{
    struct dh_opts o = {
        .num_queues = 1, .qsize = QSIZE, .transport = DH_TP_DIRECT};

    memset(&hostd, 0, sizeof(hostd));
    ck_assert_int_eq(dh_init(&hd, &o), 0);
    blk_on(&hd, &blkd, &hostd, &reqsd, &iovsd);
}

static void golden_teardown(void)
{
    dh_fini(&hd);
    free(reqsd);
    free(iovsd);
}

static void golden_bring_up(struct vdm_dev *d)
{
    ck_assert_int_eq(vdm_dev_set_status(d, 1), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, 3), 0);
    ck_assert_int_eq(
        vdm_dev_set_driver_features(d, VDM_F_VERSION_1 | VDM_BLK_F_FLUSH), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, 11), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(d, 0, 16), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(d, 0, DESC_GPA, DRV_GPA, DEV_GPA),
                     0);
    ck_assert_int_eq(vdm_dev_queue_enable(d, 0), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, 15), 0);
}

/* The whole expected image, built from the literals only. */
static void golden_image(uint8_t *img, uint64_t offered)
{
    uint8_t *c = img + 32;
    memcpy(img, golden_head, 24);
    memcpy(img + 24, golden_core_sec, 8);
    memset(c, 0, 40);
    c[0] = 15;
    for (unsigned i = 0; i < 8; i++)
        c[8 + i] = (uint8_t)(offered >> (8 * i));
    c[16 + 1] = 0x02; /* FLUSH: bit 9 */
    c[16 + 4] = 0x01; /* VERSION_1: bit 32 */
    c[24 + 1] = 0x02;
    c[24 + 4] = 0x01;
    c[32] = QSIZE;
    c[34] = 1;
    memcpy(img + 72, golden_queue, 48);
    memcpy(img + 120, golden_class, 24);
}

START_TEST(test_layout_le)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t img[256], want[144];
    uint64_t desc, drv, dev;

    golden_device();
    golden_bring_up(&hd.dev);
    ck_assert_uint_eq(vdm_dev_state_size(&hd.dev), 144);
    ck_assert_int_eq(vdm_dev_save(&hd.dev, img, sizeof(img)), 144);
    golden_image(want, vdm_dev_device_features(&hd.dev));
    ck_assert_mem_eq(img, want, 144);

    /* The literal image restores into a fresh device of the same kind. */
    ck_assert_int_eq(vdm_dev_set_status(&hd.dev, 0), 0);
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, want, sizeof(want)), 0);
    ck_assert_uint_eq(vdm_dev_status(&hd.dev), 15);
    ck_assert_uint_eq(vdm_dev_features(&hd.dev),
                      VDM_F_VERSION_1 | VDM_BLK_F_FLUSH);
    ck_assert_int_eq(vdm_dev_queue_enabled(&hd.dev, 0), 1);
    ck_assert_uint_eq(vdm_dev_queue_size(&hd.dev, 0), 16);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&hd.dev, 0, &desc, &drv, &dev), 0);
    ck_assert_uint_eq(desc, DESC_GPA);
    ck_assert_uint_eq(drv, DRV_GPA);
    ck_assert_uint_eq(dev, DEV_GPA);
    ck_assert_uint_eq(vdm_blk_writeback(&blkd), 1);
    golden_teardown();
}
END_TEST

/* One way to spoil the golden image: set @p len bytes at @p off. */
struct spoil {
    unsigned off;
    uint8_t val[3];
    unsigned len;
    int rc;
    const char *what;
};

static const struct spoil spoils[] = {
    {0, {'W'}, 1, VDM_EINVAL, "magic"},
    {4, {2}, 1, VDM_ENOTSUP, "format version"},
    {6, {32}, 1, VDM_EINVAL, "header length"},
    {8, {145}, 1, VDM_EINVAL, "total beyond the buffer"},
    {8, {20}, 1, VDM_EINVAL, "total inside the header"},
    {12, {3}, 1, VDM_EINVAL, "device type"},
    {16, {2}, 1, VDM_EINVAL, "queue count"},
    {18, {1}, 1, VDM_EINVAL, "header flags"},
    {20, {1}, 1, VDM_EINVAL, "header reserved"},
    {24, {0x44}, 1, VDM_ENOTSUP, "unknown required section"},
    {24, {0x44, 0, 1}, 3, VDM_EINVAL, "core skipped (optional): missing"},
    {26, {2}, 1, VDM_EINVAL, "unknown section flag"},
    {28, {41}, 1, VDM_EINVAL, "core length"},
    {28, {0xff, 0xff}, 2, VDM_EINVAL, "section beyond the image"},
    {72, {1}, 1, VDM_EINVAL, "core twice"},
    {32, {0x0d}, 1, VDM_EINVAL, "FEATURES_OK without DRIVER"},
    {32, {0x07}, 1, VDM_EINVAL, "DRIVER_OK without FEATURES_OK"},
    {32, {0x1f}, 1, VDM_EINVAL, "unknown status bit"},
    {32, {0x40}, 1, VDM_EINVAL, "NEEDS_RESET from reset"},
    {33, {1}, 1, VDM_EINVAL, "held config notice after DRIVER_OK"},
    {33, {2}, 1, VDM_EINVAL, "unknown core flag"},
    {34, {1}, 1, VDM_EINVAL, "core reserved"},
    {53, {0x03}, 1, VDM_ENOTSUP, "driver features differ from negotiated"},
    {66, {2}, 1, VDM_EINVAL, "core queue count"},
    {80, {1}, 1, VDM_EINVAL, "queue index"},
    {82, {8}, 1, VDM_EINVAL, "unknown queue flag"},
    {82, {3}, 1, VDM_EINVAL, "enabled with a pending position"},
    {82, {4}, 1, VDM_EINVAL, "queue reset without RING_RESET"},
    {84, {128}, 1, VDM_EINVAL, "queue size above the maximum"},
    {84, {24}, 1, VDM_EINVAL, "split queue size not a power of 2"},
    {88, {8}, 1, VDM_EINVAL, "descriptor table misaligned"},
    {95, {0x80}, 1, VDM_EFAULT, "descriptor table outside memory"},
    {111, {0x40}, 1, VDM_EFAULT, "used ring outside memory"},
    {112, {0x50}, 1, VDM_ERANGE, "avail index beyond the ring"},
    {116, {2}, 1, VDM_ERANGE, "wrap counter"},
    {119, {0x90}, 1, VDM_ERANGE, "re-queued count"},
    {128, {2}, 1, VDM_EINVAL, "blk: other capacity"},
    {136, {2}, 1, VDM_EINVAL, "blk: writeback 2"},
    {137, {1}, 1, VDM_EINVAL, "blk: reserved"},
    {124, {15}, 1, VDM_EINVAL, "class section length"},
};

static void assert_reset(struct vdm_dev *d)
{
    ck_assert_uint_eq(vdm_dev_status(d), 0);
    ck_assert_uint_eq(vdm_dev_features(d), 0);
    for (uint16_t q = 0; q < vdm_dev_num_queues(d); q++)
        ck_assert_int_eq(vdm_dev_queue_enabled(d, q), 0);
}

START_TEST(test_refusals)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t want[144], bad[144];
    unsigned i;

    golden_device();
    golden_image(want, vdm_dev_device_features(&hd.dev));
    for (i = 0; i < sizeof(spoils) / sizeof(spoils[0]); i++) {
        const struct spoil *s = &spoils[i];
        memcpy(bad, want, sizeof(bad));
        memcpy(bad + s->off, s->val, s->len);
        golden_bring_up(&hd.dev); /* whatever it was, it ends reset */
        ck_assert_msg(vdm_dev_restore(&hd.dev, bad, sizeof(bad)) == s->rc,
                      "%s: %d", s->what,
                      vdm_dev_restore(&hd.dev, bad, sizeof(bad)));
        assert_reset(&hd.dev);
    }
    /* Feature not offered (ADMIN_VQ, bit 41), in both feature words. */
    memcpy(bad, want, sizeof(bad));
    bad[32 + 16 + 5] |= 0x02;
    bad[32 + 24 + 5] |= 0x02;
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, bad, sizeof(bad)), VDM_ENOTSUP);
    assert_reset(&hd.dev);
    /* The writeback mode changes only with CONFIG_WCE. */
    memcpy(bad, want, sizeof(bad));
    bad[136] = 0;
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, bad, sizeof(bad)), VDM_EINVAL);
    assert_reset(&hd.dev);
    /* Short buffers. */
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, want, 143), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, want, 10), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, NULL, 144), VDM_EINVAL);
    assert_reset(&hd.dev);
    /* An unknown optional section is skipped; a missing class section
     * leaves the device type's state as reset made it. */
    memcpy(bad, want, sizeof(bad));
    bad[120] = 0x45;
    bad[122] = 1;
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(vdm_dev_status(&hd.dev), 15);
    /* After all that, the good image still restores. */
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, want, sizeof(want)), 0);
    ck_assert_uint_eq(vdm_dev_status(&hd.dev), 15);
    ck_assert_int_eq(vdm_dev_queue_enabled(&hd.dev, 0), 1);
    golden_teardown();
}
END_TEST

/* Packed ring positions must lie inside the ring (spec "Packed
 * Virtqueues"). */
START_TEST(test_packed_position_range)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t img[256];
    int n;

    UT_NEEDS(VDM_F_RING_PACKED);
    golden_device();
    ck_assert_int_eq(vdm_dev_set_status(&hd.dev, 3), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(
                         &hd.dev, VDM_F_VERSION_1 | VDM_F_RING_PACKED),
                     0);
    ck_assert_int_eq(vdm_dev_set_status(&hd.dev, 11), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&hd.dev, 0, 24), 0);
    ck_assert_int_eq(
        vdm_dev_queue_set_addr(&hd.dev, 0, DESC_GPA, DRV_GPA, DEV_GPA), 0);
    ck_assert_int_eq(vdm_dev_queue_enable(&hd.dev, 0), 0);
    ck_assert_int_eq(vdm_dev_set_status(&hd.dev, 15), 0);
    n = vdm_dev_save(&hd.dev, img, sizeof(img));
    ck_assert_int_eq(n, 144);
    ck_assert_uint_eq(img[116], 1); /* avail wrap counter starts at 1 */
    ck_assert_uint_eq(img[117], 1);
    img[112] = 24; /* last_avail == size */
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, img, (size_t)n), VDM_ERANGE);
    assert_reset(&hd.dev);
    img[112] = 23;
    img[114] = 24; /* used_idx == size */
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, img, (size_t)n), VDM_ERANGE);
    img[114] = 23;
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, img, (size_t)n), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&hd.dev, 0), 24);
    golden_teardown();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Transports */

/* MMIO: selectors and InterruptStatus come back; the line is raised. */
START_TEST(test_mmio_registers)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct req r[2];
    uint8_t *img;
    size_t n;

    UT_NEEDS_OPTION(VDM_CONFIG_MMIO);
    start1(BLK_F);
    ck_assert_int_eq(h1.transport, DH_TP_MMIO); /* DH_TRANSPORT=mmio */
    add_req(&r[0], 0, 1, 0);
    dh_kick(&h1, 0, 1);
    complete(&host1, 0); /* InterruptStatus VRING, not acknowledged */
    ck_assert_uint_eq(vdm_mmio_interrupt_status(&h1.mmio.t),
                      VDM_MMIO_INT_VRING);
    drv_mmio_wr(&h1.mmio, VDM_MMIO_QUEUE_SEL, 7);
    drv_mmio_wr(&h1.mmio, VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    drv_mmio_wr(&h1.mmio, VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    n = vdm_mmio_state_size(&h1.mmio.t);
    img = malloc(n);
    ck_assert_int_eq(vdm_mmio_save(&h1.mmio.t, img, n), (int)n);
    start2();
    copy_mem(&h2, &h1);
    /* InterruptStatus bits a device cannot have. */
    img[n - 8] = 4;
    ck_assert_int_eq(vdm_mmio_restore(&m2.t, img, n), VDM_EINVAL);
    assert_reset(&h2.dev);
    ck_assert_uint_eq(vdm_mmio_interrupt_status(&m2.t), 0);
    img[n - 8] = VDM_MMIO_INT_VRING;
    /* An image without the MMIO section: the device's alone. */
    {
        size_t dn = vdm_dev_state_size(&h1.dev);
        uint8_t *dimg = malloc(dn);
        ck_assert_int_eq(vdm_dev_save(&h1.dev, dimg, dn), (int)dn);
        ck_assert_int_eq(vdm_mmio_restore(&m2.t, dimg, dn), VDM_EINVAL);
        assert_reset(&h2.dev);
        free(dimg);
    }
    m2.raises = 0;
    ck_assert_int_eq(vdm_mmio_restore(&m2.t, img, n), 0);
    ck_assert_uint_eq(m2.raises, 1);
    ck_assert_int_eq(m2.line, 1);
    for (uint32_t off = 0; off < VDM_MMIO_CONFIG; off += 4) {
        if (off == VDM_MMIO_QUEUE_NOTIFY || off == VDM_MMIO_INTERRUPT_ACK ||
            off == VDM_MMIO_QUEUE_SEL || off == VDM_MMIO_DEVICE_FEATURES_SEL ||
            off == VDM_MMIO_DRIVER_FEATURES_SEL)
            continue; /* write-only */
        ck_assert_msg(drv_mmio_rd(&m2, off) == drv_mmio_rd(&h1.mmio, off),
                      "register 0x%x", off);
    }
    /* the selectors: QueueSel 7 is out of range on both */
    drv_mmio_wr(&m2, VDM_MMIO_QUEUE_SEL, 0);
    drv_mmio_wr(&h1.mmio, VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(drv_mmio_rd(&m2, VDM_MMIO_QUEUE_READY), 1);
    free(img);
    (void)r;
}
END_TEST

/* PCI: configuration space (BARs, command, MSI-X enable), vectors, table
 * and a pending bit of a masked vector, which is sent once unmasked. */
START_TEST(test_pci_registers)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct req r[2];
    uint8_t *img;
    size_t n;
    uint16_t v0;
    uint32_t ent;

    UT_NEEDS_OPTION(VDM_CONFIG_PCI);
    start1(BLK_F);
    ck_assert_int_eq(h1.transport, DH_TP_PCI); /* DH_TRANSPORT=pci */
    v0 = drv_pci_queue_vector(&h1.pci, 0);
    ck_assert_uint_ne(v0, VDM_PCI_NO_VECTOR);
    /* mask queue 0's vector, complete a request: pending bit */
    ent = h1.pci.msix_table + 16u * v0;
    drv_pci_bar_wr(&h1.pci, h1.pci.msix_bar, ent + 12, 4, 1);
    add_req(&r[0], 0, 1, 0);
    dh_kick(&h1, 0, 1);
    h1.pci.msi_total = 0;
    complete(&host1, 0);
    ck_assert_uint_eq(h1.pci.msi_total, 0);
    n = vdm_pci_state_size(&h1.pci.t);
    img = malloc(n);
    ck_assert_int_eq(vdm_pci_save(&h1.pci.t, img, n), (int)n);
    start2();
    copy_mem(&h2, &h1);
    {
        /* the PCI section's payload starts 280 + 2 + 2 * 16 + 4 bytes
         * before the end (1 queue, 2 vectors) */
        uint8_t *pci = img + n - (280 + 2 + 32 + 4);
        uint8_t keep;

        keep = pci[0];
        pci[0] ^= 1; /* vendor id: read-only */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_EINVAL);
        assert_reset(&h2.dev);
        pci[0] = keep;
        keep = pci[280];
        pci[280] = 2; /* queue vector beyond the table */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_ERANGE);
        pci[280] = keep;
        keep = pci[272];
        pci[272] = 9; /* config vector beyond the table */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_ERANGE);
        pci[272] = keep;
        pci[n - (size_t)(pci - img) - 4] |= 4; /* pending bit 2 */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_ERANGE);
        pci[n - (size_t)(pci - img) - 4] &= (uint8_t)~4u;
        keep = pci[282 + 12];
        pci[282 + 12] = 3; /* vector control: reserved bit */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_EINVAL);
        pci[282 + 12] = keep;
        keep = pci[277];
        pci[277] = 4; /* ISR bit */
        ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), VDM_EINVAL);
        pci[277] = keep;
    }
    ck_assert_int_eq(vdm_pci_restore(&p2.t, img, n), 0);
    p2.msi_total = 0;
    /* configuration space, byte for byte */
    for (uint32_t off = 0; off < VDM_PCI_CFG_BYTES; off += 4)
        ck_assert_msg(drv_pci_cfg_rd(&p2, off, 4) ==
                          drv_pci_cfg_rd(&h1.pci, off, 4),
                      "config 0x%x", off);
    /* the BARs decode at the same addresses: copy the driver's view */
    memcpy(p2.bar_addr, h1.pci.bar_addr, sizeof(p2.bar_addr));
    memcpy(p2.bar_size, h1.pci.bar_size, sizeof(p2.bar_size));
    p2.common = h1.pci.common;
    p2.notify = h1.pci.notify;
    p2.isr = h1.pci.isr;
    p2.device = h1.pci.device;
    p2.msix_bar = h1.pci.msix_bar;
    p2.msix_table = h1.pci.msix_table;
    for (uint32_t off = 0; off < 2u * 16u; off += 4)
        ck_assert_uint_eq(
            drv_pci_bar_rd(&p2, p2.msix_bar, p2.msix_table + off, 4),
            drv_pci_bar_rd(&h1.pci, h1.pci.msix_bar, h1.pci.msix_table + off,
                           4));
    ck_assert_uint_eq(drv_pci_common_rd(&p2, VDM_PCI_COMMON_MSIX, 2),
                      drv_pci_common_rd(&h1.pci, VDM_PCI_COMMON_MSIX, 2));
    drv_pci_common_wr(&p2, VDM_PCI_COMMON_Q_SELECT, 2, 0);
    drv_pci_common_wr(&h1.pci, VDM_PCI_COMMON_Q_SELECT, 2, 0);
    ck_assert_uint_eq(drv_pci_common_rd(&p2, VDM_PCI_COMMON_Q_MSIX, 2), v0);
    ck_assert_uint_eq(drv_pci_common_rd(&p2, VDM_PCI_COMMON_Q_ENABLE, 2), 1);
    ck_assert_uint_eq(drv_pci_common_rd(&p2, VDM_PCI_COMMON_CFGGEN, 1),
                      drv_pci_common_rd(&h1.pci, VDM_PCI_COMMON_CFGGEN, 1));
    /* the pending bit is there; unmasking sends the message */
    ck_assert_uint_ne(vdm_le32(img + n - 4) & (1u << v0), 0);
    ck_assert_uint_eq(p2.msi_total, 0);
    drv_pci_bar_wr(&p2, p2.msix_bar, p2.msix_table + 16u * v0 + 12, 4, 0);
    ck_assert_uint_eq(p2.msi_total, 1);
    ck_assert_uint_eq(p2.msi_last_vector, v0);
    free(img);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Device types */

static struct vdm_input_event ring1[8], ring2[8];
static const struct vdm_input_bits in_ev[] = {
    {.type = 1, .len = 1, .bitmap = (const uint8_t[]){0x3e}},
};

static void input_on(struct dh *h, struct vdm_input *in,
                     struct vdm_input_event *ring)
{
    struct vdm_input_config c = VDM_INIT(struct vdm_input_config);
    c.queue = ring;
    c.queue_len = 8;
    c.name = "state test";
    c.ev = in_ev;
    c.nev = 1;
    ck_assert_int_eq(vdm_input_init(in, &h->dev, &c, &h->base), 0);
}

START_TEST(test_input_state)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct dh_opts o = {.num_queues = 2, .qsize = 16,
                        .transport = DH_TP_DIRECT};
    struct vdm_input in1, in2;
    uint8_t sel[2] = {VDM_INPUT_CFG_EV_BITS, 1};
    uint8_t c1[VDM_INPUT_CONFIG_BYTES], c2[VDM_INPUT_CONFIG_BYTES];
    uint8_t img[512];
    int n;

    ck_assert_int_eq(dh_init(&h1, &o), 0);
    h1_live = 1;
    ck_assert_int_eq(dh_init(&h2, &o), 0);
    h2_live = 1;
    input_on(&h1, &in1, ring1);
    input_on(&h2, &in2, ring2);
    ck_assert_int_eq(dh_bring_up(&h1, 0, 2), 0);
    ck_assert_int_eq(dh_config_write(&h1, VDM_INPUT_CFG_OFF_SELECT, sel, 2),
                     0);
    /* three events wait: the driver gave no buffer yet */
    ck_assert_int_eq(vdm_input_send(&in1, 1, 2, 1), 0);
    ck_assert_int_eq(vdm_input_send(&in1, 0, 0, 0), 0);
    ck_assert_int_eq(vdm_input_send(&in1, 1, 2, 0), 0);
    ck_assert_uint_eq(vdm_input_pending(&in1), 3);
    n = vdm_dev_save(&h1.dev, img, sizeof(img));
    ck_assert_int_eq((size_t)n, vdm_dev_state_size(&h1.dev));
    /* the class section: 24 bytes + 3 events, select 0x11 subsel 1 */
    ck_assert_uint_eq(vdm_le32(img + n - (24 + 24) - 4), 48);
    ck_assert_uint_eq(img[n - 48], VDM_INPUT_CFG_EV_BITS);
    ck_assert_uint_eq(img[n - 47], 1);
    copy_mem(&h2, &h1);
    /* more waiting events than the ring holds */
    {
        uint8_t bad[512];
        memcpy(bad, img, (size_t)n);
        bad[n - 48 + 16] = 9;
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n),
                         VDM_ERANGE);
        assert_reset(&h2.dev);
        memcpy(bad, img, (size_t)n);
        bad[n - 48 + 4] = 4; /* unknown flag */
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n),
                         VDM_EINVAL);
    }
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
    ck_assert_uint_eq(vdm_input_pending(&in2), 3);
    ck_assert_int_eq(vdm_dev_config_read(&h1.dev, 0, c1, sizeof(c1)), 0);
    ck_assert_int_eq(vdm_dev_config_read(&h2.dev, 0, c2, sizeof(c2)), 0);
    ck_assert_mem_eq(c1, c2, sizeof(c1));
    ck_assert_uint_eq(c2[VDM_INPUT_CFG_OFF_SIZE], 1);
    /* the driver posts buffers: the events arrive, in order */
    for (unsigned i = 0; i < 3; i++) {
        struct drv_buf b = {dh_alloc(&h1, 8, 8), 8};
        ck_assert_int_ge(drv_vq_add(dh_vq(&h1, 0), NULL, 0, &b, 1,
                                    DRV_ADD_DIRECT, NULL),
                         0);
    }
    drv_vq_publish(dh_vq(&h1, 0));
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, 0, 0), 0);
    ck_assert_uint_eq(vdm_input_pending(&in2), 0);
    copy_mem(&h1, &h2);
    for (unsigned i = 0; i < 3; i++) {
        struct drv_used u;
        ck_assert_int_eq(drv_vq_get_used_ex(dh_vq(&h1, 0), &u), 1);
        ck_assert_uint_eq(u.len, 8);
    }
}
END_TEST

static int rng_fill(void *host, void *buf, uint32_t len)
{
    (void)host;
    memset(buf, 0x5a, len);
    return (int)len;
}

START_TEST(test_rng_no_class_state)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct dh_opts o = {.num_queues = 1, .qsize = 16,
                        .transport = DH_TP_DIRECT};
    static const struct vdm_rng_ops ops = {.size = sizeof(struct vdm_rng_ops),
                                           .fill = rng_fill};
    struct vdm_rng_config c = VDM_INIT(struct vdm_rng_config);
    struct vdm_rng r1, r2;
    uint8_t img[512], bad[512];
    int n;

    c.ops = &ops;
    ck_assert_int_eq(dh_init(&h1, &o), 0);
    h1_live = 1;
    ck_assert_int_eq(dh_init(&h2, &o), 0);
    h2_live = 1;
    ck_assert_int_eq(vdm_rng_init(&r1, &h1.dev, &c, &h1.base), 0);
    ck_assert_int_eq(vdm_rng_init(&r2, &h2.dev, &c, &h2.base), 0);
    ck_assert_int_eq(dh_bring_up(&h1, 0, 1), 0);
    n = vdm_dev_save(&h1.dev, img, sizeof(img));
    ck_assert_int_eq(n, 24 + 48 + 48); /* header, core, one queue */
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), vdm_dev_status(&h1.dev));
    /* a device-type section rng cannot take */
    memcpy(bad, img, (size_t)n);
    vdm_put_le16(bad + n, VDM_STATE_SEC_CLASS);
    vdm_put_le16(bad + n + 2, 0);
    vdm_put_le32(bad + n + 4, 0);
    vdm_put_le32(bad + 8, (uint32_t)n + 8);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n + 8),
                     VDM_ENOTSUP);
    assert_reset(&h2.dev);
    /* a device of another type */
    bad[12] = 2;
    vdm_put_le32(bad + 8, (uint32_t)n);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n), VDM_EINVAL);
    /* served after a restore */
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
    {
        struct drv_buf b = {dh_alloc(&h1, 32, 8), 32};
        ck_assert_int_ge(
            drv_vq_add(dh_vq(&h1, 0), NULL, 0, &b, 1, DRV_ADD_DIRECT, NULL),
            0);
        drv_vq_publish(dh_vq(&h1, 0));
        copy_mem(&h2, &h1);
        ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, 0, 0), 0);
        copy_mem(&h1, &h2);
        uint32_t len;
        ck_assert_int_eq(drv_vq_get_used(dh_vq(&h1, 0), NULL, &len, NULL), 1);
        ck_assert_uint_eq(len, 32);
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, b.gpa, 1), 0x5a);
    }
}
END_TEST

static uint32_t bal_actual_seen;

static void bal_actual(void *host, uint32_t actual)
{
    (void)host;
    bal_actual_seen = actual;
}

/* Balloon: target, actual (the driver's), command ids, poison_val. */
START_TEST(test_balloon_state)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct dh_opts o = {.num_queues = 2, .qsize = 16,
                        .transport = DH_TP_DIRECT};
    static const struct vdm_balloon_ops ops = {
        .size = sizeof(struct vdm_balloon_ops), .actual = bal_actual};
    struct vdm_balloon_config c = VDM_INIT(struct vdm_balloon_config);
    struct vdm_balloon b1, b2;
    uint8_t img[512], bad[512];
    uint8_t act[4] = {5, 0, 0, 0};
    uint32_t cmd = 0;
    int n;

    c.num_pages = 100;
    c.ops = &ops;
    ck_assert_int_eq(dh_init(&h1, &o), 0);
    h1_live = 1;
    ck_assert_int_eq(dh_init(&h2, &o), 0);
    h2_live = 1;
    ck_assert_int_eq(vdm_balloon_init(&b1, &h1.dev, &c, &h1.base), 0);
    c.num_pages = 7; /* the destination's own start value: replaced */
    ck_assert_int_eq(vdm_balloon_init(&b2, &h2.dev, &c, &h2.base), 0);
    ck_assert_int_eq(dh_bring_up(&h1, 0, 2), 0);
    ck_assert_int_eq(
        dh_config_write(&h1, VDM_BALLOON_CFG_ACTUAL, act, sizeof(act)), 0);
    ck_assert_int_eq(vdm_balloon_set_target(&b1, 64), 0);
    (void)vdm_balloon_hint_start(&b1, &cmd);
    n = vdm_dev_save(&h1.dev, img, sizeof(img));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(vdm_le32(img + n - 24), 64);
    ck_assert_uint_eq(vdm_le32(img + n - 20), 5);
    copy_mem(&h2, &h1);
    memcpy(bad, img, (size_t)n);
    bad[n - 4] = 1; /* poison_val without PAGE_POISON */
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n), VDM_EINVAL);
    assert_reset(&h2.dev);
    memcpy(bad, img, (size_t)n);
    vdm_put_le32(bad + n - 12, 1); /* next command id below 2 */
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, (size_t)n), VDM_EINVAL);
    bal_actual_seen = 0;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
    ck_assert_uint_eq(vdm_balloon_target(&b2), 64);
    ck_assert_uint_eq(vdm_balloon_actual(&b2), 5);
    ck_assert_uint_eq(bal_actual_seen, 5);
    {
        uint8_t c1[VDM_BALLOON_CONFIG_BYTES], c2[VDM_BALLOON_CONFIG_BYTES];
        ck_assert_int_eq(vdm_dev_config_read(&h1.dev, 0, c1, sizeof(c1)), 0);
        ck_assert_int_eq(vdm_dev_config_read(&h2.dev, 0, c2, sizeof(c2)), 0);
        ck_assert_mem_eq(c1, c2, sizeof(c1));
    }
}
END_TEST

/* A device that needs reset is restored needing reset, its queues down. */
START_TEST(test_needs_reset_kept)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t img[256];
    int n;

    golden_device();
    golden_bring_up(&hd.dev);
    vdm_dev_needs_reset(&hd.dev, VDM_EPROTO, NULL);
    n = vdm_dev_save(&hd.dev, img, sizeof(img));
    ck_assert_int_eq(n, 144);
    ck_assert_int_eq(vdm_dev_restore(&hd.dev, img, (size_t)n), 0);
    ck_assert_uint_eq(vdm_dev_status(&hd.dev),
                      15 | VDM_STATUS_DEVICE_NEEDS_RESET);
    ck_assert_int_eq(vdm_dev_queue_enabled(&hd.dev, 0), 0);
    ck_assert_ptr_null(vdm_dev_queue(&hd.dev, 0));
    golden_teardown();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    const char *tp = getenv("DH_TRANSPORT");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_midstream_split);
    tcase_add_test(tc, test_midstream_packed);
    tcase_add_test(tc, test_busy_until_drained);
    if (tp == NULL || strcmp(tp, "direct") == 0) {
        tcase_add_test(tc, test_layout_le);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_packed_position_range);
        tcase_add_test(tc, test_input_state);
        tcase_add_test(tc, test_rng_no_class_state);
        tcase_add_test(tc, test_needs_reset_kept);
        tcase_add_test(tc, test_balloon_state);
    } else if (strcmp(tp, "mmio") == 0) {
        tcase_add_test(tc, test_mmio_registers);
    } else if (strcmp(tp, "pci") == 0) {
        tcase_add_test(tc, test_pci_registers);
    } else {
        /* unknown: dh_init refuses it in the tests above */
    }
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
