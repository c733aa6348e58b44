/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk device type (spec "Block Device"), driven through the device
 * core by the driver simulator, with a RAM disk as the host's storage that
 * completes synchronously (from inside the host call) or asynchronously
 * (when the test says so, in any order). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "profile.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/blk.h"

/* The discard and write-zeroes flags and features as built (vdm/config.h
 * VDM_CONFIG_BLK_DISCARD): 0 when the library leaves them out. */
#define DWZ_FLAGS                                                              \
    (VDM_CONFIG_BLK_DISCARD ? (VDM_BLK_DISCARD | VDM_BLK_WRITE_ZEROES) : 0u)
#define DWZ_F                                                                  \
    (VDM_CONFIG_BLK_DISCARD ? (VDM_BLK_F_DISCARD | VDM_BLK_F_WRITE_ZEROES) : 0u)

#define CAP         256u /* disk size in sectors */
#define SEC         512u
#define QSIZE       64u
#define IOV_PER_REQ 8u
#define MAXPEND     256u
#define UNTOUCHED   0xeeu /* status byte value before the device writes it */

/* ------------------------------------------------------------------------ */
/* The host: a RAM disk                                                     */

enum { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_WZ };

struct op {
    int kind;
    uint64_t sector;
    const struct vdm_iov *iov;
    uint32_t n;
    uint32_t nsec;
    uint32_t unmap;
    void *token;
};

struct ram {
    uint8_t disk[CAP * SEC];
    int async;         /* 0: complete inside the call */
    int fail;          /* non-zero: host calls return this */
    int sync_status;   /* status of synchronous completions */
    int reset_in_read; /* reset the device from inside the next read */
    struct op pend[MAXPEND];
    unsigned npend;
    unsigned nread, nwrite, nflush, ndiscard, nwz, nkick;
    uint32_t last_unmap;
    uint16_t last_kick_q;
    unsigned nwb;
    uint32_t wb;
    int last_complete_rc;
};

static struct ram ram;
static struct dh h;
static struct vdm_blk blk;
static struct vdm_blk_req *reqs;
static struct vdm_iov *iovs;
static int h_live;

/* Perform an operation on the disk and complete it. */
static int do_op(const struct op *o, int status)
{
    if (status == VDM_BLK_S_OK) {
        uint64_t off = o->sector * SEC;
        switch (o->kind) {
        case OP_READ:
            for (uint32_t i = 0; i < o->n; i++) {
                ck_assert_uint_le(off + o->iov[i].len, sizeof(ram.disk));
                memcpy(o->iov[i].base, ram.disk + off, o->iov[i].len);
                off += o->iov[i].len;
            }
            break;
        case OP_WRITE:
            for (uint32_t i = 0; i < o->n; i++) {
                ck_assert_uint_le(off + o->iov[i].len, sizeof(ram.disk));
                memcpy(ram.disk + off, o->iov[i].base, o->iov[i].len);
                off += o->iov[i].len;
            }
            break;
        case OP_DISCARD:
            ck_assert_uint_le(off + (uint64_t)o->nsec * SEC, sizeof(ram.disk));
            memset(ram.disk + off, 0xdd, (size_t)o->nsec * SEC);
            break;
        case OP_WZ:
            ck_assert_uint_le(off + (uint64_t)o->nsec * SEC, sizeof(ram.disk));
            memset(ram.disk + off, 0, (size_t)o->nsec * SEC);
            break;
        default: break;
        }
    }
    ram.last_complete_rc = vdm_blk_complete(&blk, o->token, status);
    return ram.last_complete_rc;
}

static int accept_op(struct op o)
{
    if (ram.fail)
        return ram.fail;
    if (ram.async) {
        ck_assert_uint_lt(ram.npend, MAXPEND);
        ram.pend[ram.npend++] = o;
        return 0;
    }
    do_op(&o, ram.sync_status);
    return 0;
}

static int rd_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                   uint32_t n, void *token)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nread++;
    if (ram.reset_in_read) {
        ram.reset_in_read = 0;
        vdm_dev_set_status(&h.dev, 0);
        ram.pend[ram.npend++] =
            (struct op){.kind = OP_READ, .sector = sector, .token = token};
        return 0;
    }
    return accept_op((struct op){
        .kind = OP_READ, .sector = sector, .iov = iov, .n = n, .token = token});
}

static int rd_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                    uint32_t n, void *token)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nwrite++;
    return accept_op((struct op){.kind = OP_WRITE,
                                 .sector = sector,
                                 .iov = iov,
                                 .n = n,
                                 .token = token});
}

static int rd_flush(void *host, void *token)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nflush++;
    return accept_op((struct op){.kind = OP_FLUSH, .token = token});
}

static int rd_discard(void *host, uint64_t sector, uint32_t nsec, void *token)
{
    ck_assert_ptr_eq(host, &ram);
    ram.ndiscard++;
    return accept_op((struct op){
        .kind = OP_DISCARD, .sector = sector, .nsec = nsec, .token = token});
}

static int rd_wz(void *host, uint64_t sector, uint32_t nsec, uint32_t unmap,
                 void *token)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nwz++;
    ram.last_unmap = unmap;
    return accept_op((struct op){.kind = OP_WZ,
                                 .sector = sector,
                                 .nsec = nsec,
                                 .unmap = unmap,
                                 .token = token});
}

static void rd_set_wb(void *host, uint32_t wb)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nwb++;
    ram.wb = wb;
}

static void rd_kick(void *host, uint16_t q)
{
    ck_assert_ptr_eq(host, &ram);
    ram.nkick++;
    ram.last_kick_q = q;
}

static const struct vdm_blk_ops rd_ops = {
    .size = sizeof(struct vdm_blk_ops),
    .read = rd_read,
    .write = rd_write,
    .flush = rd_flush,
    .discard = rd_discard,
    .write_zeroes = rd_wz,
    .set_writeback = rd_set_wb,
};

static const struct vdm_blk_ops rd_ops_kick = {
    .size = sizeof(struct vdm_blk_ops),
    .read = rd_read,
    .write = rd_write,
    .flush = rd_flush,
    .set_writeback = rd_set_wb,
    .kick = rd_kick,
};

/* Complete the i-th pending operation (then forget it). */
static int finish_pending(unsigned i, int status)
{
    ck_assert_uint_lt(i, ram.npend);
    struct op o = ram.pend[i];
    memmove(&ram.pend[i], &ram.pend[i + 1],
            (ram.npend - i - 1) * sizeof(ram.pend[0]));
    ram.npend--;
    return do_op(&o, status);
}

/* ------------------------------------------------------------------------ */
/* Bench set-up                                                             */

static struct vdm_blk_config default_cfg(void)
{
    struct vdm_blk_config c = VDM_INIT(struct vdm_blk_config);
    c.capacity = CAP;
    c.iov_per_req = IOV_PER_REQ;
    c.ops = &rd_ops;
    c.host = &ram;
    memcpy(c.serial, "vdm-blk-serial", 14);
    return c;
}

static void setup(void)
{
    memset(&ram, 0, sizeof(ram));
    for (size_t i = 0; i < sizeof(ram.disk); i++)
        ram.disk[i] = (uint8_t)(i * 7 + i / SEC);
    h_live = 0;
    reqs = NULL;
    iovs = NULL;
}

static void teardown(void)
{
    if (h_live)
        dh_fini(&h);
    h_live = 0;
    free(reqs);
    free(iovs);
    reqs = NULL;
    iovs = NULL;
}

/* Bench with @p opts, a blk from @p c (arrays filled in here), init only. */
static int start_init(struct vdm_blk_config *c, const struct dh_opts *opts)
{
    ck_assert_int_eq(dh_init(&h, opts), 0);
    h_live = 1;
    uint16_t nq = c->num_queues ? c->num_queues : h.num_queues;
    reqs = calloc(VDM_BLK_REQS(nq, h.qsize), sizeof(*reqs));
    iovs =
        calloc(VDM_BLK_IOVS(nq, h.qsize, c->iov_per_req ? c->iov_per_req : 1),
               sizeof(*iovs));
    ck_assert_ptr_nonnull(reqs);
    ck_assert_ptr_nonnull(iovs);
    c->reqs = reqs;
    c->iovs = iovs;
    return vdm_blk_init(&blk, &h.dev, c, &h.base);
}

/* Full start: init and bring the device up with @p features (ring
 * features default to split + indirect + event idx). */
static void start_full(struct vdm_blk_config *c, const struct dh_opts *opts,
                       uint64_t features, uint16_t nq_up)
{
    ck_assert_int_eq(start_init(c, opts), 0);
    ck_assert_int_eq(dh_bring_up(&h, features, nq_up), 0);
}

#define ALL_BLK_F 0xffffffull
#define SPLIT_F   (ALL_BLK_F | VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX)

static void start(uint32_t flags)
{
    struct vdm_blk_config c = default_cfg();
    c.flags = flags;
    start_full(&c, NULL, SPLIT_F, 1);
}

/* ------------------------------------------------------------------------ */
/* Requests from the driver side                                            */

struct req {
    uint64_t hdr_gpa, data_gpa, st_gpa;
    uint8_t *hdr, *data, *st;
    uint32_t dlen;
    int id;
};

static void put_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
    drv_put_le32(p, type);
    drv_put_le32(p + 4, 0);
    drv_put_le64(p + 8, sector);
}

/* Add a well-formed request: header, @p dlen data bytes (device-readable
 * when @p out, else writable), status byte. Not published. */
static void add_req(uint16_t q, struct req *r, uint32_t type, uint64_t sector,
                    uint32_t dlen, int out, int mode)
{
    struct drv_buf rd[2], wr[2];
    unsigned nrd = 0, nwr = 0;

    memset(r, 0, sizeof(*r));
    r->hdr_gpa = dh_alloc(&h, 16, 16);
    r->hdr = dh_ptr(&h, r->hdr_gpa, 16);
    put_hdr(r->hdr, type, sector);
    rd[nrd++] = (struct drv_buf){r->hdr_gpa, 16};
    r->dlen = dlen;
    if (dlen) {
        r->data_gpa = dh_alloc(&h, dlen, 8);
        r->data = dh_ptr(&h, r->data_gpa, dlen);
        if (out)
            rd[nrd++] = (struct drv_buf){r->data_gpa, dlen};
        else
            wr[nwr++] = (struct drv_buf){r->data_gpa, dlen};
    }
    r->st_gpa = dh_alloc(&h, 1, 1);
    r->st = dh_ptr(&h, r->st_gpa, 1);
    *r->st = UNTOUCHED;
    wr[nwr++] = (struct drv_buf){r->st_gpa, 1};
    r->id = drv_vq_add(dh_vq(&h, q), rd, nrd, wr, nwr, mode, r);
    ck_assert_int_ge(r->id, 0);
}

/* One used buffer from queue q: returns its len, checks the id. */
static uint32_t used_one(uint16_t q, int id)
{
    uint32_t uid, len;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), &uid, &len, &cookie), 1);
    ck_assert_uint_eq(uid, (uint32_t)id);
    return len;
}

static void no_used(uint16_t q)
{
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), NULL, NULL, NULL), 0);
}

/* Submit one request on queue 0 and wait (sync host) for it. */
static uint32_t run_req(struct req *r, uint32_t type, uint64_t sector,
                        uint32_t dlen, int out)
{
    add_req(0, r, type, sector, dlen, out, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    return used_one(0, r->id);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 13 + i / 97);
}

/* ------------------------------------------------------------------------ */
/* Set-up, features and config space                                        */

START_TEST(test_blk_init_validation)
{
    struct vdm_blk_config c = default_cfg();
    struct vdm_blk_ops ops = rd_ops;

    ck_assert_int_eq(dh_init(&h, NULL), 0);
    h_live = 1;
    reqs = calloc(VDM_BLK_REQS(1, h.qsize), sizeof(*reqs));
    iovs = calloc(VDM_BLK_IOVS(1, h.qsize, IOV_PER_REQ), sizeof(*iovs));
    c.reqs = reqs;
    c.iovs = iovs;

    ck_assert_int_eq(vdm_blk_init(NULL, &h.dev, &c, &h.base), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_init(&blk, NULL, &c, &h.base), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, NULL, &h.base), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, NULL), VDM_EINVAL);

#define BAD(field, value, err)                                                 \
    do {                                                                       \
        struct vdm_blk_config b = c;                                           \
        b.field = value;                                                       \
        ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &b, &h.base), err);        \
    } while (0)
    BAD(size, 8, VDM_ESIZE);
    BAD(ops, NULL, VDM_EINVAL);
    BAD(flags, VDM_BLK_WCE, VDM_EINVAL);       /* CONFIG_WCE needs FLUSH */
    BAD(flags, VDM_BLK_WRITEBACK, VDM_EINVAL); /* writeback needs FLUSH */
    BAD(flags, 1u << 20, VDM_EINVAL);
    BAD(iov_per_req, 2, VDM_EINVAL);
    BAD(seg_max, IOV_PER_REQ - 1, VDM_EINVAL);
    BAD(blk_size, 1000, VDM_EINVAL);
    BAD(blk_size, 256, VDM_EINVAL);
    BAD(num_queues, 2, VDM_EINVAL); /* more than base->num_queues */
    BAD(reqs, NULL, VDM_EINVAL);
    BAD(iovs, NULL, VDM_EINVAL);
    BAD(reserved0, 1, VDM_EINVAL);
#undef BAD
    ops.read = NULL;
    c.ops = &ops;
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), VDM_EINVAL);
    ops = rd_ops;
    ops.write = NULL;
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), VDM_EINVAL);
    c.flags = VDM_BLK_RO; /* a read-only disk needs no write */
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), 0);
    ops = rd_ops;
    ops.flush = NULL;
    c.flags = VDM_BLK_FLUSH;
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), VDM_EINVAL);
    ops.size = 4;
    c.flags = 0;
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), VDM_ESIZE);

    /* An object that failed init is refused by every call. */
    memset(&blk, 0, sizeof(blk));
    ck_assert_int_eq(vdm_blk_complete(&blk, (void *)1, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_set_capacity(&blk, 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_process(&blk, 0), VDM_EINVAL);
    ck_assert_uint_eq(vdm_blk_capacity(&blk), 0);
}
END_TEST

START_TEST(test_blk_features_offered)
{
    struct vdm_blk_config c = default_cfg();
    ck_assert_int_eq(start_init(&c, NULL), 0);
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert(f & VDM_F_VERSION_1);
    ck_assert(f & VDM_BLK_F_SEG_MAX);
    /* The ring features as built (vdm/config.h), and only those. */
    ck_assert_uint_eq(f & UT_RING_OPTIONAL,
                      VDM_F_RING_ALL &
                          (VDM_F_RING_PACKED | VDM_F_INDIRECT_DESC |
                           VDM_F_EVENT_IDX | VDM_F_RING_RESET |
                           VDM_F_NOTIFICATION_DATA));
    ck_assert(!(f & VDM_F_IN_ORDER)); /* completes out of order */
    ck_assert_uint_eq(f & ALL_BLK_F, VDM_BLK_F_SEG_MAX);
    dh_fini(&h);
    h_live = 0;
    free(reqs);
    free(iovs);

    struct dh_opts o = {.num_queues = 4};
    c = default_cfg();
    c.flags =
        VDM_BLK_RO | VDM_BLK_FLUSH | VDM_BLK_WCE | VDM_BLK_TOPOLOGY | DWZ_FLAGS;
    c.size_max = 65536;
    c.blk_size = 4096;
    c.cylinders = 10;
    ck_assert_int_eq(start_init(&c, &o), 0);
    f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(
        f & ALL_BLK_F,
        VDM_BLK_F_SIZE_MAX | VDM_BLK_F_SEG_MAX | VDM_BLK_F_GEOMETRY |
            VDM_BLK_F_RO | VDM_BLK_F_BLK_SIZE | VDM_BLK_F_FLUSH |
            VDM_BLK_F_TOPOLOGY | VDM_BLK_F_CONFIG_WCE | VDM_BLK_F_MQ | DWZ_F);
    ck_assert(!(f & VDM_F_IN_ORDER));
}
END_TEST

/* Regression (issue 10, bug 3): spec "Feature Bits": the device MUST NOT
 * offer a feature it cannot honour. blk forwarded every host bit from 24
 * up; bits 41, 42 and 50 and up are device-type bits blk does not define
 * (and 41 is ADMIN_VQ), so only the generic bits 24..40 may pass. */
START_TEST(test_blk_features_no_unknown_host_bits)
{
    struct vdm_blk_config c = default_cfg();
    ck_assert_int_eq(dh_init(&h, NULL), 0);
    h_live = 1;
    reqs = calloc(VDM_BLK_REQS(h.num_queues, h.qsize), sizeof(*reqs));
    iovs = calloc(VDM_BLK_IOVS(h.num_queues, h.qsize, 1), sizeof(*iovs));
    ck_assert_ptr_nonnull(reqs);
    ck_assert_ptr_nonnull(iovs);
    c.reqs = reqs;
    c.iovs = iovs;
    h.base.features =
        VDM_F_ACCESS_PLATFORM | (1ull << 42) | (1ull << 50) | (1ull << 63);
    ck_assert_int_eq(vdm_blk_init(&blk, &h.dev, &c, &h.base), 0);
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert(f & VDM_F_ACCESS_PLATFORM);
    ck_assert_uint_eq(f & ~((1ull << 41) - 1), 0);
}
END_TEST

START_TEST(test_blk_config_le)
{
    struct dh_opts o = {.num_queues = 3};
    struct vdm_blk_config c = default_cfg();
    c.capacity = 0x0102030405060708ull;
    c.size_max = 0x11223344;
    c.seg_max = 5;
    c.cylinders = 0xa1b2;
    c.heads = 0xc3;
    c.sectors = 0xd4;
    c.blk_size = 0x1000;
    c.flags = VDM_BLK_TOPOLOGY | VDM_BLK_FLUSH | VDM_BLK_WRITEBACK;
    if (VDM_CONFIG_BLK_DISCARD)
        c.flags |= DWZ_FLAGS | VDM_BLK_WZ_MAY_UNMAP;
    c.physical_block_exp = 3;
    c.alignment_offset = 1;
    c.min_io_size = 0x0203;
    c.opt_io_size = 0x04050607;
    c.max_discard_sectors = 0x08090a0b;
    c.max_discard_seg = 0x0c0d0e0f;
    c.discard_sector_alignment = 0x10111213;
    c.max_write_zeroes_sectors = 0x14151617;
    c.max_write_zeroes_seg = 0x18191a1b;
    ck_assert_int_eq(start_init(&c, &o), 0);

    uint8_t want[VDM_BLK_CONFIG_BYTES] = {
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* capacity */
        0x44, 0x33, 0x22, 0x11,                         /* size_max */
        0x05, 0x00, 0x00, 0x00,                         /* seg_max */
        0xb2, 0xa1, 0xc3, 0xd4,                         /* geometry */
        0x00, 0x10, 0x00, 0x00,                         /* blk_size */
        0x03, 0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, /* topology */
        0x01, 0x00,                                     /* writeback, unused0 */
        0x03, 0x00,                                     /* num_queues */
        0x0b, 0x0a, 0x09, 0x08, /* max_discard_sectors */
        0x0f, 0x0e, 0x0d, 0x0c, /* max_discard_seg */
        0x13, 0x12, 0x11, 0x10, /* discard alignment */
        0x17, 0x16, 0x15, 0x14, /* max_wz_sectors */
        0x1b, 0x1a, 0x19, 0x18, /* max_wz_seg */
        0x01, 0x00, 0x00, 0x00, /* may_unmap, unused1 */
    };
    uint8_t got[VDM_BLK_CONFIG_BYTES];
    if (!VDM_CONFIG_BLK_DISCARD) /* not offered: the fields read 0 */
        memset(want + VDM_BLK_CFG_MAX_DISCARD_SECTORS, 0,
               VDM_BLK_CONFIG_BYTES - VDM_BLK_CFG_MAX_DISCARD_SECTORS);
    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), VDM_BLK_CONFIG_BYTES);
    ck_assert_int_eq(dh_config_read(&h, 0, got, sizeof(got)), 0);
    ck_assert_mem_eq(got, want, sizeof(want));
    /* Field-wise accesses of every width agree. */
    for (uint32_t off = 0; off < VDM_BLK_CONFIG_BYTES; off++) {
        ck_assert_uint_eq(dh_config(&h, off, 1), want[off]);
        if (off + 4 <= VDM_BLK_CONFIG_BYTES)
            ck_assert_uint_eq(dh_config(&h, off, 4),
                              want[off] | want[off + 1] << 8 |
                                  want[off + 2] << 16 |
                                  (uint32_t)want[off + 3] << 24);
    }
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_CAPACITY, 8),
                      0x0102030405060708ull);
    ck_assert_int_eq(vdm_dev_config_read(&h.dev, 58, got, 4), VDM_ERANGE);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Each request type                                                         */

/* Loop index 0: synchronous host, 1: asynchronous. */
static void complete_all(void)
{
    while (ram.npend > 0)
        ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
}

START_TEST(test_blk_read_ok)
{
    struct req r;
    start(0);
    ram.async = _i;
    add_req(0, &r, VDM_BLK_T_IN, 5, 3 * SEC, 0, DRV_ADD_DIRECT);
    memset(r.data, 0x5a, 3 * SEC);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.nread, 1);
    if (_i) {
        no_used(0);
        ck_assert_uint_eq(*r.st, UNTOUCHED);
        ck_assert_uint_eq(vdm_blk_in_flight(&blk), 1);
        complete_all();
    }
    ck_assert_uint_eq(used_one(0, r.id), 3 * SEC + 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_mem_eq(r.data, ram.disk + 5 * SEC, 3 * SEC);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
    ck_assert_uint_ge(h.irq_queue[0], 1);
}
END_TEST

START_TEST(test_blk_write_ok)
{
    struct req r;
    uint8_t before[CAP * SEC];
    start(0);
    ram.async = _i;
    memcpy(before, ram.disk, sizeof(before));
    add_req(0, &r, VDM_BLK_T_OUT, 10, 2 * SEC, 1, DRV_ADD_DIRECT);
    fill(r.data, 2 * SEC, 0x31);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.nwrite, 1);
    if (_i) {
        no_used(0);
        complete_all();
    }
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_mem_eq(ram.disk + 10 * SEC, r.data, 2 * SEC);
    /* Nothing else on the disk changed. */
    ck_assert_mem_eq(ram.disk, before, 10 * SEC);
    ck_assert_mem_eq(ram.disk + 12 * SEC, before + 12 * SEC, (CAP - 12) * SEC);
}
END_TEST

START_TEST(test_blk_flush)
{
    struct req r;
    start(VDM_BLK_FLUSH);
    ram.async = _i;
    add_req(0, &r, VDM_BLK_T_FLUSH, 0, 0, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.nflush, 1);
    complete_all();
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
}
END_TEST

START_TEST(test_blk_flush_unsupported)
{
    struct req r;
    start(0); /* FLUSH not offered */
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_FLUSH, 0, 0, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.nflush, 0);
}
END_TEST

START_TEST(test_blk_get_id)
{
    struct req r;
    start(0);
    add_req(0, &r, VDM_BLK_T_GET_ID, 0, VDM_BLK_ID_BYTES, 0, DRV_ADD_DIRECT);
    memset(r.data, 0xaa, VDM_BLK_ID_BYTES);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), VDM_BLK_ID_BYTES + 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_mem_eq(r.data, "vdm-blk-serial\0\0\0\0\0\0", VDM_BLK_ID_BYTES);
}
END_TEST

START_TEST(test_blk_get_id_full_length)
{
    struct req r;
    struct vdm_blk_config c = default_cfg();
    memcpy(c.serial, "ABCDEFGHIJKLMNOPQRST", 20); /* no NUL terminator */
    start_full(&c, NULL, SPLIT_F, 1);
    /* A larger buffer: only 20 bytes are written. */
    add_req(0, &r, VDM_BLK_T_GET_ID, 0, 32, 0, DRV_ADD_DIRECT);
    memset(r.data, 0xaa, 32);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), VDM_BLK_ID_BYTES + 1);
    ck_assert_mem_eq(r.data, "ABCDEFGHIJKLMNOPQRST", 20);
    ck_assert_uint_eq(r.data[20], 0xaa);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    /* A shorter one gets what fits. */
    add_req(0, &r, VDM_BLK_T_GET_ID, 0, 8, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), 9);
    ck_assert_mem_eq(r.data, "ABCDEFGH", 8);
}
END_TEST

START_TEST(test_blk_unsupp_unknown_type)
{
    static const uint32_t types[] = {2,
                                     3,
                                     5,
                                     VDM_BLK_T_GET_LIFETIME,
                                     VDM_BLK_T_SECURE_ERASE,
                                     15,
                                     16,
                                     24,
                                     VDM_BLK_T_DISCARD,
                                     VDM_BLK_T_WRITE_ZEROES,
                                     0x80000000u,
                                     0xffffffffu};
    start(0);
    for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct req r;
        add_req(0, &r, types[i], 0, 16, 1, DRV_ADD_DIRECT);
        ck_assert_int_le(dh_kick(&h, 0, 0), 1);
        ck_assert_uint_eq(used_one(0, r.id), 1);
        ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    }
    ck_assert_uint_eq(ram.nread + ram.nwrite + ram.ndiscard + ram.nwz, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

START_TEST(test_blk_beyond_capacity)
{
    static const struct {
        uint64_t sector;
        uint32_t nsec;
        uint8_t status;
    } cases[] = {
        {CAP - 1, 1, VDM_BLK_S_OK},
        {0, CAP, VDM_BLK_S_OK},
        {CAP, 0, VDM_BLK_S_OK}, /* empty, at the end */
        {CAP, 1, VDM_BLK_S_IOERR},
        {CAP - 1, 2, VDM_BLK_S_IOERR},
        {CAP + 1, 0, VDM_BLK_S_IOERR},
        {UINT64_MAX, 1, VDM_BLK_S_IOERR},
        {UINT64_MAX - 1, 4, VDM_BLK_S_IOERR},       /* sector + n wraps */
        {UINT64_MAX / SEC + 1, 1, VDM_BLK_S_IOERR}, /* bytes would wrap */
    };
    start(0);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int out = 0; out < 2; out++) {
            struct req r;
            unsigned calls = ram.nread + ram.nwrite;
            uint32_t len = run_req(&r, out ? VDM_BLK_T_OUT : VDM_BLK_T_IN,
                                   cases[i].sector, cases[i].nsec * SEC, out);
            ck_assert_msg(*r.st == cases[i].status, "case %u out %d: %u", i,
                          out, *r.st);
            if (cases[i].status != VDM_BLK_S_OK) {
                ck_assert_uint_eq(len, 1);
                ck_assert_uint_eq(ram.nread + ram.nwrite, calls);
            } else if (!out) {
                ck_assert_uint_eq(len, cases[i].nsec * SEC + 1);
            }
        }
    }
}
END_TEST

START_TEST(test_blk_ro_write_refused)
{
    struct req r;
    uint8_t before[CAP * SEC];
    struct vdm_blk_config c = default_cfg();
    c.flags = VDM_BLK_RO | DWZ_FLAGS;
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert(h.features & VDM_BLK_F_RO);
    memcpy(before, ram.disk, sizeof(before));

    add_req(0, &r, VDM_BLK_T_OUT, 0, SEC, 1, DRV_ADD_DIRECT);
    memset(r.data, 0x77, SEC);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(ram.nwrite, 0);

    add_req(0, &r, VDM_BLK_T_WRITE_ZEROES, 0, 16, 1, DRV_ADD_DIRECT);
    drv_put_le64(r.data, 0);
    drv_put_le32(r.data + 8, 1);
    drv_put_le32(r.data + 12, 0);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    /* a command left out of the build (VDM_CONFIG_BLK_DISCARD) is UNSUPP */
    ck_assert_uint_eq(*r.st, VDM_CONFIG_BLK_DISCARD ? VDM_BLK_S_IOERR
                                                    : VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.nwz, 0);
    ck_assert_mem_eq(ram.disk, before, sizeof(before));

    /* Reads still work. */
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 1, SEC, 0), SEC + 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_mem_eq(r.data, ram.disk + SEC, SEC);
}
END_TEST

START_TEST(test_blk_bad_data_length)
{
    struct req r;
    uint8_t before[CAP * SEC];
    start(0);
    memcpy(before, ram.disk, sizeof(before));
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, 100, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_OUT, 0, SEC + 1, 1), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(ram.nread + ram.nwrite, 0);
    ck_assert_mem_eq(ram.disk, before, sizeof(before));
}
END_TEST

/* Dirty-page logging through the device kit (vdm_mem::log; vhost-user
 * "Migration"): blk keeps its status at the end of the writable part
 * ("Device Operation": u8 status last), the used length counts the data
 * plus that byte. A read marks the data pages and the status page; a
 * failed read only the status page (and the used ring). */
START_TEST(test_blk_dirty_log)
{
    static uint8_t bm[512];
    struct vdm_dirty_log l = VDM_INIT(struct vdm_dirty_log);
    struct req r;
    uint64_t ring_pg;

    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    l.page_shift = 12;
    l.bytes = sizeof(bm);
    l.bitmap = bm;
    start(0);
    h.mem.log = &l;
    ring_pg = drv_vq_device_gpa(dh_vq(&h, 0)) >> 12;
    /* data of 8 sectors (one page) starting 256 bytes into a page, so it
     * straddles two pages; the status byte lands on a third */
    (void)dh_alloc(&h, 4096, 4096);
    memset(bm, 0, sizeof(bm));
    {
        uint64_t pad = dh_alloc(&h, 256, 1);
        (void)pad;
    }
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, 8 * SEC, 0), 8 * SEC + 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    for (uint64_t p = 0; p < sizeof(bm) * 8; p++) {
        int want = p == r.data_gpa >> 12 ||
                   p == (r.data_gpa + 8 * SEC - 1) >> 12 ||
                   p == r.st_gpa >> 12 || p == ring_pg ||
                   p == (drv_vq_device_gpa(dh_vq(&h, 0)) + 6 + 8 * 64 - 1) >>
                            12;
        int got = (bm[p / 8] >> (p % 8)) & 1;
        if (!want)
            ck_assert_msg(!got, "page %#llx marked", (unsigned long long)p);
    }
    ck_assert(bm[(r.data_gpa >> 12) / 8] & (1u << ((r.data_gpa >> 12) % 8)));
    ck_assert(bm[((r.data_gpa + 8 * SEC - 1) >> 12) / 8] &
              (1u << (((r.data_gpa + 8 * SEC - 1) >> 12) % 8)));
    ck_assert(bm[(r.st_gpa >> 12) / 8] & (1u << ((r.st_gpa >> 12) % 8)));
    /* a failed read: used length 1, the data untouched and unmarked */
    ram.fail = VDM_EIO;
    (void)dh_alloc(&h, 4096, 4096);
    memset(bm, 0, sizeof(bm));
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, 8 * SEC, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert(bm[(r.st_gpa >> 12) / 8] & (1u << ((r.st_gpa >> 12) % 8)));
    ck_assert(!(bm[(r.data_gpa >> 12) / 8] & (1u << ((r.data_gpa >> 12) % 8))));
    h.mem.log = NULL;
}
END_TEST

START_TEST(test_blk_host_refuses)
{
    struct req r;
    start(VDM_BLK_FLUSH);
    ram.fail = VDM_EIO;
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, SEC, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_OUT, 0, SEC, 1), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_FLUSH, 0, 0, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);

    /* Completion statuses: errors of any kind become IOERR. */
    ram.fail = 0;
    static const struct {
        int in;
        uint8_t out;
    } st[] = {{VDM_BLK_S_IOERR, VDM_BLK_S_IOERR},
              {VDM_BLK_S_UNSUPP, VDM_BLK_S_UNSUPP},
              {VDM_EIO, VDM_BLK_S_IOERR},
              {7, VDM_BLK_S_IOERR},
              {-1000, VDM_BLK_S_IOERR}};
    for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        ram.sync_status = st[i].in;
        ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, SEC, 0), 1);
        ck_assert_uint_eq(*r.st, st[i].out);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Framing                                                                   */

/* The header spread over three descriptors, the third also carrying the
 * first data bytes; a read whose last data descriptor also holds the
 * status byte. */
START_TEST(test_blk_header_split_across_descriptors)
{
    struct drv_vq *v;
    start(0);
    v = dh_vq(&h, 0);

    /* OUT: [5 hdr][7 hdr][4 hdr + 300 data][724 data] | [status] */
    uint64_t a = dh_alloc(&h, 5, 1), b = dh_alloc(&h, 7, 1),
             cgpa = dh_alloc(&h, 4 + 300, 1), d = dh_alloc(&h, 724, 1),
             s = dh_alloc(&h, 1, 1);
    uint8_t hdr[16], data[2 * SEC];
    put_hdr(hdr, VDM_BLK_T_OUT, 7);
    fill(data, sizeof(data), 0x42);
    memcpy(dh_ptr(&h, a, 5), hdr, 5);
    memcpy(dh_ptr(&h, b, 7), hdr + 5, 7);
    memcpy(dh_ptr(&h, cgpa, 4), hdr + 12, 4);
    memcpy(dh_ptr(&h, cgpa + 4, 300), data, 300);
    memcpy(dh_ptr(&h, d, 724), data + 300, 724);
    uint8_t *st = dh_ptr(&h, s, 1);
    *st = UNTOUCHED;
    struct drv_buf rd[] = {{a, 5}, {b, 7}, {cgpa, 304}, {d, 724}};
    struct drv_buf wr[] = {{s, 1}};
    int id = drv_vq_add(v, rd, 4, wr, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(id, 0);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_uint_eq(*st, VDM_BLK_S_OK);
    ck_assert_mem_eq(ram.disk + 7 * SEC, data, sizeof(data));
    /* The device gave the spans back as the driver wrote them. */
    ck_assert_mem_eq(dh_ptr(&h, cgpa + 4, 300), data, 300);

    /* IN: [16 hdr] | [600 data][424 data + status] */
    uint64_t hg = dh_alloc(&h, 16, 1), d1 = dh_alloc(&h, 600, 1),
             d2 = dh_alloc(&h, 425, 1);
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_IN, 20);
    memset(dh_ptr(&h, d1, 600), 0, 600);
    memset(dh_ptr(&h, d2, 425), UNTOUCHED, 425);
    struct drv_buf rd2[] = {{hg, 16}};
    struct drv_buf wr2[] = {{d1, 600}, {d2, 425}};
    id = drv_vq_add(v, rd2, 1, wr2, 2, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(id, 0);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 2 * SEC + 1);
    ck_assert_mem_eq(dh_ptr(&h, d1, 600), ram.disk + 20 * SEC, 600);
    ck_assert_mem_eq(dh_ptr(&h, d2, 424), ram.disk + 20 * SEC + 600, 424);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, d2 + 424, 1), VDM_BLK_S_OK);

    /* The whole request in one readable and one writable descriptor. */
    uint64_t one = dh_alloc(&h, 16 + SEC, 1), w = dh_alloc(&h, 1, 1);
    put_hdr(dh_ptr(&h, one, 16), VDM_BLK_T_OUT, 30);
    fill(dh_ptr(&h, one + 16, SEC), SEC, 9);
    struct drv_buf rd3[] = {{one, 16 + SEC}};
    struct drv_buf wr3[] = {{w, 1}};
    id = drv_vq_add(v, rd3, 1, wr3, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_mem_eq(ram.disk + 30 * SEC, dh_ptr(&h, one + 16, SEC), SEC);
}
END_TEST

START_TEST(test_blk_missing_status)
{
    struct drv_vq *v;
    start(0);
    v = dh_vq(&h, 0);

    /* No writable part at all: nowhere to put a status. */
    uint64_t hg = dh_alloc(&h, 16 + SEC, 1);
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_OUT, 0);
    struct drv_buf rd[] = {{hg, 16 + SEC}};
    int id = drv_vq_add(v, rd, 1, NULL, 0, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(id, 0);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 0);
    ck_assert_uint_eq(ram.nwrite, 0);

    /* A header shorter than 16 bytes: IOERR in the status byte. */
    uint64_t sh = dh_alloc(&h, 8, 1), s = dh_alloc(&h, 1, 1);
    put_hdr(dh_ptr(&h, sh, 8), VDM_BLK_T_IN, 0); /* first 8 bytes only */
    *(uint8_t *)dh_ptr(&h, s, 1) = UNTOUCHED;
    struct drv_buf rd2[] = {{sh, 8}};
    struct drv_buf wr2[] = {{s, 1}};
    id = drv_vq_add(v, rd2, 1, wr2, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, s, 1), VDM_BLK_S_IOERR);

    /* No readable part: IOERR too. */
    id = drv_vq_add(v, NULL, 0, wr2, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, s, 1), VDM_BLK_S_IOERR);

    /* A read whose only writable byte is the status: no data, OK. */
    struct req r;
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 0, 0, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_uint_eq(ram.nread + ram.nwrite, 0);
    /* The device is still fine. */
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
}
END_TEST

START_TEST(test_blk_too_many_spans)
{
    struct vdm_blk_config c = default_cfg();
    c.iov_per_req = 3; /* header, one data segment, status */
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_SEG_MAX, 4), 1);

    struct drv_vq *v = dh_vq(&h, 0);
    uint64_t hg = dh_alloc(&h, 16, 1), d1 = dh_alloc(&h, SEC, 1),
             d2 = dh_alloc(&h, SEC, 1), s = dh_alloc(&h, 1, 1);
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_IN, 0);
    *(uint8_t *)dh_ptr(&h, s, 1) = UNTOUCHED;
    struct drv_buf rd[] = {{hg, 16}};
    struct drv_buf wr[] = {{d1, SEC}, {d2, SEC}, {s, 1}};
    int id = drv_vq_add(v, rd, 1, wr, 3, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    /* Spec "Block Device / Device Operation": the status byte is the last
     * byte of the chain and the driver reads it whatever happened; a
     * request the device cannot take is answered VIRTIO_BLK_S_IOERR
     * (issue 10 bug 1: it used to be returned with the byte untouched, so
     * Linux saw a stale OK). */
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, s, 1), VDM_BLK_S_IOERR);
    ck_assert_uint_eq(ram.nread, 0);

    /* Within seg_max all is well. */
    struct req r;
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 3, SEC, 0), SEC + 1);
    ck_assert_mem_eq(r.data, ram.disk + 3 * SEC, SEC);
}
END_TEST

START_TEST(test_blk_region_crossing)
{
    /* Two regions adjacent in guest space, apart in the host: a buffer
     * across the boundary becomes two spans. */
    struct dh_opts o = {.nregions = 2};
    struct vdm_blk_config c = default_cfg();
    start_full(&c, &o, SPLIT_F, 1);
    struct drv_vq *v = dh_vq(&h, 0);
    uint64_t boundary = h.g.regions[1].gpa;
    uint64_t buf = boundary - 700; /* 700 bytes before, 324 after */
    uint64_t hg = dh_alloc(&h, 16, 1), s = dh_alloc(&h, 1, 1);

    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_IN, 40);
    struct drv_buf rd[] = {{hg, 16}};
    struct drv_buf wr[] = {{buf, 2 * SEC}, {s, 1}};
    int id = drv_vq_add(v, rd, 1, wr, 2, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 2 * SEC + 1);
    ck_assert_mem_eq(dh_ptr(&h, buf, 700), ram.disk + 40 * SEC, 700);
    ck_assert_mem_eq(dh_ptr(&h, boundary, 324), ram.disk + 40 * SEC + 700, 324);

    /* And a write from it. */
    fill(dh_ptr(&h, buf, 700), 700, 1);
    fill(dh_ptr(&h, boundary, 324), 324, 2);
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_OUT, 50);
    struct drv_buf rd2[] = {{hg, 16}, {buf, 2 * SEC}};
    struct drv_buf wr2[] = {{s, 1}};
    id = drv_vq_add(v, rd2, 2, wr2, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_mem_eq(ram.disk + 50 * SEC, dh_ptr(&h, buf, 700), 700);
    ck_assert_mem_eq(ram.disk + 50 * SEC + 700, dh_ptr(&h, boundary, 324), 324);
}
END_TEST

/* An IOMMU-style translate hook instead of a region table: every span the
 * device maps for a request is given back, exactly as it was mapped, when
 * the request completes. Data-area mappings stop at 256-byte guest
 * boundaries, so headers and data are cut into many spans. */
#define MAXMAP 4096
static struct {
    void *hva[MAXMAP];
    uint64_t len[MAXMAP];
    unsigned n, total, bad_unmap;
    uint64_t chunk_from; /* gpa from which mappings are chunked */
} maps;

static int tr_translate(void *host, uint64_t addr, uint64_t len,
                        uint32_t access, void **hva, uint64_t *maplen)
{
    (void)host;
    (void)access;
    uint64_t n = len;
    if (maps.chunk_from != 0 && addr >= maps.chunk_from) {
        uint64_t room = 256 - (addr & 255);
        if (n > room)
            n = room;
    }
    void *p = dh_ptr(&h, addr, n);
    if (p == NULL || maps.n == MAXMAP)
        return VDM_EFAULT;
    maps.hva[maps.n] = p;
    maps.len[maps.n] = n;
    maps.n++;
    maps.total++;
    *hva = p;
    *maplen = n;
    return 0;
}

static void tr_unmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    for (unsigned i = 0; i < maps.n; i++) {
        if (maps.hva[i] == hva && maps.len[i] == len) {
            maps.hva[i] = maps.hva[maps.n - 1];
            maps.len[i] = maps.len[maps.n - 1];
            maps.n--;
            return;
        }
    }
    maps.bad_unmap++;
}

static const struct vdm_mem_ops tr_ops = {
    .size = sizeof(struct vdm_mem_ops),
    .translate = tr_translate,
    .unmap = tr_unmap,
};

START_TEST(test_blk_translate_hook_released)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    struct vdm_blk_config c = default_cfg();
    memset(&maps, 0, sizeof(maps));
    c.iov_per_req = 32;
    ck_assert_int_eq(start_init(&c, NULL), 0);
    h.mem.nregions = 0; /* everything through the hook */
    h.mem.ops = &tr_ops;
    ck_assert_int_eq(dh_bring_up(&h, SPLIT_F, 1), 0);
    ram.async = _i;
    unsigned rings = maps.n;

    struct drv_vq *v = dh_vq(&h, 0);
    /* The header starts 8 bytes before a 256-byte boundary. */
    uint64_t base = dh_alloc(&h, 4096, 256);
    maps.chunk_from = base;
    uint64_t hg = base + 248, data = hg + 16, st = base + 2048;
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_OUT, 9);
    fill(dh_ptr(&h, data, 2 * SEC), 2 * SEC, 0x11);
    *(uint8_t *)dh_ptr(&h, st, 1) = UNTOUCHED;
    struct drv_buf rd[] = {{hg, 16 + 2 * SEC}}; /* header and data */
    struct drv_buf wr[] = {{st, 1}};
    int id = drv_vq_add(v, rd, 1, wr, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    complete_all();
    ck_assert_uint_eq(used_one(0, id), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, st, 1), VDM_BLK_S_OK);
    ck_assert_mem_eq(ram.disk + 9 * SEC, dh_ptr(&h, data, 2 * SEC), 2 * SEC);

    /* A read whose data and status share one descriptor. */
    uint64_t buf = base + 3000 - 2 * SEC;
    put_hdr(dh_ptr(&h, hg, 16), VDM_BLK_T_IN, 30);
    struct drv_buf rd2[] = {{hg, 16}};
    struct drv_buf wr2[] = {{buf, 2 * SEC + 1}};
    id = drv_vq_add(v, rd2, 1, wr2, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    complete_all();
    ck_assert_uint_eq(used_one(0, id), 2 * SEC + 1);
    ck_assert_mem_eq(dh_ptr(&h, buf, 2 * SEC), ram.disk + 30 * SEC, 2 * SEC);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, buf + 2 * SEC, 1), VDM_BLK_S_OK);

    ck_assert_uint_gt(maps.total, rings + 8);
    ck_assert_uint_eq(maps.bad_unmap, 0);
    ck_assert_uint_eq(maps.n, rings); /* only the rings stay mapped */
    dh_reset(&h);
    ck_assert_uint_eq(maps.bad_unmap, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Discard and write zeroes                                                  */

static struct req dwz_req(uint32_t type, const uint64_t *sector,
                          const uint32_t *nsec, const uint32_t *flags,
                          unsigned nseg, uint32_t extra)
{
    struct req r;
    add_req(0, &r, type, 0, nseg * 16 + extra, 1, DRV_ADD_DIRECT);
    for (unsigned i = 0; i < nseg; i++) {
        drv_put_le64(r.data + 16 * i, sector[i]);
        drv_put_le32(r.data + 16 * i + 8, nsec[i]);
        drv_put_le32(r.data + 16 * i + 12, flags[i]);
    }
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    return r;
}

/* The discard and write-zeroes commands follow the build (vdm/config.h
 * VDM_CONFIG_BLK_DISCARD): offered when asked for and built in, refused
 * at init (VDM_ENOTSUP) when left out; a device not offering them answers
 * such a request with UNSUPP, writing the status, never touching the
 * disk. */
START_TEST(test_blk_discard_follows_config)
{
    struct req r;
    struct vdm_blk_config c = default_cfg();
    c.flags = VDM_BLK_DISCARD;
    if (VDM_CONFIG_BLK_DISCARD) {
        start_full(&c, NULL, SPLIT_F, 1);
        ck_assert(h.features & VDM_BLK_F_DISCARD);
        return;
    }
    ck_assert_int_eq(start_init(&c, NULL), VDM_ENOTSUP);
    dh_fini(&h);
    h_live = 0;
    free(reqs);
    free(iovs);
    c = default_cfg();
    c.flags = VDM_BLK_WZ_MAY_UNMAP;
    ck_assert_int_eq(start_init(&c, NULL), VDM_ENOTSUP);
    dh_fini(&h);
    h_live = 0;
    free(reqs);
    free(iovs);
    c = default_cfg();
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert_uint_eq(h.features & (VDM_BLK_F_DISCARD | VDM_BLK_F_WRITE_ZEROES),
                      0);
    add_req(0, &r, VDM_BLK_T_DISCARD, 0, 16, 1, DRV_ADD_DIRECT);
    drv_put_le64(r.data, 0);
    drv_put_le32(r.data + 8, 1);
    drv_put_le32(r.data + 12, 0);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.ndiscard, 0);
}
END_TEST

START_TEST(test_blk_discard)
{
    UT_NEEDS_OPTION(VDM_CONFIG_BLK_DISCARD);
    struct vdm_blk_config c = default_cfg();
    c.flags = VDM_BLK_DISCARD;
    c.max_discard_seg = 3;
    c.max_discard_sectors = 8;
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert(h.features & VDM_BLK_F_DISCARD);
    ram.async = _i;

    /* Two segments: both discarded, one completion per segment. */
    uint64_t sec[] = {4, 100, 0, 0};
    uint32_t n[] = {2, 8, 1, 1}, fl[] = {0, 0, 0, 0};
    struct req r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 2, 0);
    ck_assert_uint_eq(ram.ndiscard, 2);
    if (_i) {
        ck_assert_int_eq(finish_pending(1, VDM_BLK_S_OK), 0);
        no_used(0); /* one segment still out */
        ck_assert_uint_eq(*r.st, UNTOUCHED);
        ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    }
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    for (unsigned i = 0; i < 2 * SEC; i++)
        ck_assert_uint_eq(ram.disk[4 * SEC + i], 0xdd);
    for (unsigned i = 0; i < 8 * SEC; i++)
        ck_assert_uint_eq(ram.disk[100 * SEC + i], 0xdd);
    ck_assert_uint_ne(ram.disk[6 * SEC], 0xdd);
    ram.async = 0;

    /* Device requirement: unmap on a discard, or any unknown flag: UNSUPP. */
    unsigned before = ram.ndiscard;
    fl[0] = VDM_BLK_SEG_F_UNMAP;
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    fl[0] = 1u << 5;
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.ndiscard, before);

    /* An out-of-range segment followed by one with a bad flag: UNSUPP. */
    uint64_t sec2[] = {CAP, 0};
    uint32_t n2[] = {1, 1}, fl2[] = {0, 0x80000000u};
    r = dwz_req(VDM_BLK_T_DISCARD, sec2, n2, fl2, 2, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);

    /* IOERR: too many segments, too many sectors, beyond capacity, a
     * length that is no multiple of 16, no segment at all. */
    fl[0] = 0;
    uint64_t sec4[] = {0, 1, 2, 3};
    uint32_t n4[] = {1, 1, 1, 1}, fl4[] = {0, 0, 0, 0};
    r = dwz_req(VDM_BLK_T_DISCARD, sec4, n4, fl4, 4, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    n[0] = 9;
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    uint64_t far[] = {UINT64_MAX - 2};
    uint32_t n1[] = {4};
    r = dwz_req(VDM_BLK_T_DISCARD, far, n1, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    n[0] = 1;
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 1, 8);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 0, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(ram.ndiscard, before);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
}
END_TEST

START_TEST(test_blk_write_zeroes)
{
    UT_NEEDS_OPTION(VDM_CONFIG_BLK_DISCARD);
    struct vdm_blk_config c = default_cfg();
    c.flags = VDM_BLK_WRITE_ZEROES | VDM_BLK_WZ_MAY_UNMAP;
    c.max_write_zeroes_seg = 2;
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert(h.features & VDM_BLK_F_WRITE_ZEROES);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_WZ_MAY_UNMAP, 1), 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_MAX_WZ_SECTORS, 4), UINT32_MAX);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_MAX_WZ_SEG, 4), 2);

    uint64_t sec[] = {10, 200};
    uint32_t n[] = {3, 1}, fl[] = {VDM_BLK_SEG_F_UNMAP, 0};
    struct req r = dwz_req(VDM_BLK_T_WRITE_ZEROES, sec, n, fl, 2, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);
    ck_assert_uint_eq(ram.nwz, 2);
    ck_assert_uint_eq(ram.last_unmap, 0);
    static const uint8_t zero[3 * SEC];
    ck_assert_mem_eq(ram.disk + 10 * SEC, zero, 3 * SEC);
    ck_assert_mem_eq(ram.disk + 200 * SEC, zero, SEC);
    ck_assert_uint_ne(ram.disk[13 * SEC + 1], 0);

    /* unmap is passed through; reserved flag bits are UNSUPP. */
    r = dwz_req(VDM_BLK_T_WRITE_ZEROES, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(ram.last_unmap, 1);
    fl[0] = 2;
    unsigned before = ram.nwz;
    r = dwz_req(VDM_BLK_T_WRITE_ZEROES, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.nwz, before);

    /* Discard not offered on this disk. */
    fl[0] = 0;
    r = dwz_req(VDM_BLK_T_DISCARD, sec, n, fl, 1, 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_UNSUPP);
    ck_assert_uint_eq(ram.ndiscard, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Asynchronous completion, reset                                            */

START_TEST(test_blk_async_out_of_order)
{
    struct req r[3];
    start(0);
    ram.async = 1;
    for (int i = 0; i < 3; i++)
        add_req(0, &r[i], VDM_BLK_T_IN, (uint64_t)i * 10, SEC, 0,
                DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 3);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 3);
    ck_assert_int_eq(vdm_blk_token_queue(&blk, ram.pend[1].token), 0);

    /* Complete 2, 0, 1: the used ring shows that order. */
    ck_assert_int_eq(finish_pending(2, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(used_one(0, r[2].id), SEC + 1);
    no_used(0);
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_IOERR), 0);
    ck_assert_uint_eq(used_one(0, r[0].id), 1);
    void *tok1 = ram.pend[0].token;
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(used_one(0, r[1].id), SEC + 1);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(*r[i].st, i == 0 ? VDM_BLK_S_IOERR : VDM_BLK_S_OK);
    ck_assert_mem_eq(r[1].data, ram.disk + 10 * SEC, SEC);
    ck_assert_mem_eq(r[2].data, ram.disk + 20 * SEC, SEC);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
    ck_assert_uint_ge(h.irq_queue[0], 1);

    /* Tokens no longer in flight are refused, also when their slot has
     * been taken by a new request meanwhile (the last slot freed is the
     * first reused). */
    struct req again;
    add_req(0, &again, VDM_BLK_T_IN, 0, SEC, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 1);
    ck_assert_int_eq(vdm_blk_complete(&blk, tok1, VDM_BLK_S_IOERR), VDM_EINVAL);
    no_used(0);
    ck_assert_uint_eq(*again.st, UNTOUCHED);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 1);
    struct op stale = ram.pend[0];
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    ck_assert_int_eq(vdm_blk_complete(&blk, stale.token, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_complete(&blk, NULL, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_complete(&blk, (void *)(uintptr_t)0x3ffffff, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_token_queue(&blk, stale.token), VDM_EINVAL);
    ck_assert_uint_eq(used_one(0, again.id), SEC + 1);
    no_used(0);
}
END_TEST

/* Draining (docs/drain.md): the host lists what is still at it, finishes
 * one and cancels the others; cancelled requests get VIRTIO_BLK_S_IOERR
 * (spec "Block Device / Device Operation"), nothing is left in flight. */
START_TEST(test_blk_drain_pending_and_cancel)
{
    struct req r[3];
    uint32_t cursor = 0;
    void *tok, *seen[4];
    unsigned n = 0;

    start(0);
    ram.async = 1;
    for (int i = 0; i < 3; i++)
        add_req(0, &r[i], i == 1 ? VDM_BLK_T_OUT : VDM_BLK_T_IN,
                (uint64_t)i * 10, SEC, i == 1, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 3);
    while (vdm_blk_pending(&blk, 0, &cursor, &tok) == 1) {
        ck_assert_uint_lt(n, 4);
        seen[n++] = tok;
    }
    ck_assert_uint_eq(n, 3);
    for (unsigned i = 0; i < 3; i++) {
        int found = 0;
        for (unsigned j = 0; j < n; j++)
            found |= seen[j] == ram.pend[i].token;
        ck_assert(found);
    }
    cursor = 0;
    ck_assert_int_eq(vdm_blk_pending(&blk, 1, &cursor, &tok), VDM_ERANGE);
    ck_assert_int_eq(vdm_blk_pending(&blk, 0, &cursor, NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_blk_pending(NULL, 0, &cursor, &tok), VDM_EINVAL);
    /* finish the first, cancel the rest */
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 2);
    while (ram.npend > 0)
        ck_assert_int_eq(vdm_blk_complete(&blk, ram.pend[--ram.npend].token,
                                          VDM_BLK_S_IOERR),
                         0);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
    cursor = 0;
    ck_assert_int_eq(vdm_blk_pending(&blk, 0, &cursor, &tok), 0);
    ck_assert_uint_eq(*r[0].st, VDM_BLK_S_OK);
    ck_assert_uint_eq(*r[1].st, VDM_BLK_S_IOERR);
    ck_assert_uint_eq(*r[2].st, VDM_BLK_S_IOERR);
}
END_TEST

START_TEST(test_blk_complete_after_reset)
{
    struct req r[2];
    start(0);
    ram.async = 1;
    add_req(0, &r[0], VDM_BLK_T_IN, 1, SEC, 0, DRV_ADD_DIRECT);
    add_req(0, &r[1], VDM_BLK_T_OUT, 2, SEC, 1, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 2);
    struct op old[2] = {ram.pend[0], ram.pend[1]};
    unsigned irqs = h.irq_queue[0];

    dh_reset(&h);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 2);
    /* The host finishes late: dropped, nothing written to the guest. */
    ram.npend = 0;
    ck_assert_int_eq(vdm_blk_complete(&blk, old[0].token, VDM_BLK_S_OK),
                     VDM_ESTATE);
    ck_assert_uint_eq(*r[0].st, UNTOUCHED);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 1);
    ck_assert_int_eq(vdm_blk_complete(&blk, old[0].token, VDM_BLK_S_OK),
                     VDM_EINVAL); /* twice */
    ck_assert_uint_eq(h.irq_queue[0], irqs);

    /* The device works again after a new bring-up, while one old request
     * is still out; its slot is not reused. */
    ck_assert_int_eq(dh_bring_up(&h, SPLIT_F, 1), 0);
    struct req n;
    add_req(0, &n, VDM_BLK_T_IN, 3, SEC, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 1);
    ck_assert_ptr_ne(ram.pend[0].token, old[1].token);
    ck_assert_int_eq(vdm_blk_complete(&blk, old[1].token, VDM_BLK_S_OK),
                     VDM_ESTATE);
    ck_assert_uint_eq(*r[1].st, UNTOUCHED);
    no_used(0);
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(used_one(0, n.id), SEC + 1);
    ck_assert_mem_eq(n.data, ram.disk + 3 * SEC, SEC);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
}
END_TEST

/* Slots held by abandoned requests: the queue waits for them and resumes
 * when the host gives them back. */
START_TEST(test_blk_stall_on_abandoned_slots)
{
    UT_NEEDS(VDM_F_INDIRECT_DESC);
    struct dh_opts o = {.qsize = 4};
    struct vdm_blk_config c = default_cfg();
    struct req r[4];
    start_full(&c, &o, SPLIT_F, 1);
    ram.async = 1;
    for (int i = 0; i < 4; i++)
        add_req(0, &r[i], VDM_BLK_T_IN, (uint64_t)i, SEC, 0, DRV_ADD_INDIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 4);
    struct op old[4];
    memcpy(old, ram.pend, sizeof(old));
    ram.npend = 0;

    dh_reset(&h);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT_F, 1), 0);
    for (int i = 0; i < 4; i++)
        add_req(0, &r[i], VDM_BLK_T_IN, (uint64_t)(i + 8), SEC, 0,
                DRV_ADD_INDIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 1), 1);
    ck_assert_uint_eq(ram.npend, 0); /* no free slot */
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 4);

    ck_assert_int_eq(vdm_blk_complete(&blk, old[2].token, 0), VDM_ESTATE);
    ck_assert_uint_eq(ram.npend, 1); /* one slot back: one request taken */
    ck_assert_int_eq(vdm_blk_complete(&blk, old[0].token, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_blk_complete(&blk, old[1].token, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_blk_complete(&blk, old[3].token, 0), VDM_ESTATE);
    ck_assert_uint_eq(ram.npend, 4);
    complete_all();
    for (int i = 0; i < 4; i++) {
        uint32_t id, len;
        ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, 0), &id, &len, NULL), 1);
        ck_assert_uint_eq(len, SEC + 1);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(*r[i].st, VDM_BLK_S_OK);
        ck_assert_mem_eq(r[i].data, ram.disk + (uint64_t)(i + 8) * SEC, SEC);
    }
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
}
END_TEST

/* The host resets the device from inside a host call: the pass stops, no
 * ring or buffer is touched afterwards. */
START_TEST(test_blk_reset_inside_host_call)
{
    struct req r[2];
    start(0);
    ram.reset_in_read = 1;
    add_req(0, &r[0], VDM_BLK_T_IN, 1, SEC, 0, DRV_ADD_DIRECT);
    add_req(0, &r[1], VDM_BLK_T_IN, 2, SEC, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.nread, 1);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), 0);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 1);
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), VDM_ESTATE);
    ck_assert_uint_eq(*r[0].st, UNTOUCHED);
    ck_assert_uint_eq(*r[1].st, UNTOUCHED);
    ck_assert_uint_eq(vdm_blk_in_flight(&blk), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Config changes, cache mode                                                */

START_TEST(test_blk_capacity_change)
{
    struct req r;
    start(0);
    uint32_t gen = vdm_dev_config_generation(&h.dev);
    unsigned irq = h.irq_config;
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_CAPACITY, 8), CAP);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, CAP - 1, SEC, 0), SEC + 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_OK);

    /* Shrink: the config says so, the generation moved, the driver was
     * told, and the old last sector is now out of range. */
    ck_assert_int_eq(vdm_blk_set_capacity(&blk, CAP / 2), 0);
    ck_assert_uint_ne(vdm_dev_config_generation(&h.dev), gen);
    ck_assert_uint_eq(h.irq_config, irq + 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_CAPACITY, 8), CAP / 2);
    ck_assert_uint_eq(vdm_blk_capacity(&blk), CAP / 2);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, CAP - 1, SEC, 0), 1);
    ck_assert_uint_eq(*r.st, VDM_BLK_S_IOERR);

    gen = vdm_dev_config_generation(&h.dev);
    ck_assert_int_eq(vdm_blk_set_capacity(&blk, CAP), 0);
    ck_assert_uint_ne(vdm_dev_config_generation(&h.dev), gen);
    ck_assert_uint_eq(h.irq_config, irq + 2);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, CAP - 1, SEC, 0), SEC + 1);
}
END_TEST

START_TEST(test_blk_writeback_toggle)
{
    struct vdm_blk_config c = default_cfg();
    uint8_t v;
    c.flags = VDM_BLK_FLUSH | VDM_BLK_WCE | VDM_BLK_WRITEBACK;
    start_full(&c, NULL, SPLIT_F, 1);
    ck_assert(h.features & VDM_BLK_F_CONFIG_WCE);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_WRITEBACK, 1), 1);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 1);
    ck_assert_uint_eq(ram.wb, 1);

    v = 0;
    ck_assert_int_eq(dh_config_write(&h, VDM_BLK_CFG_WRITEBACK, &v, 1), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_WRITEBACK, 1), 0);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 0);
    ck_assert_uint_eq(ram.wb, 0);
    v = 2; /* not a mode */
    dh_config_write(&h, VDM_BLK_CFG_WRITEBACK, &v, 1);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 0);
    /* A wider write covering writeback. */
    uint8_t w4[4] = {1, 0, 0x55, 0x55};
    dh_config_write(&h, VDM_BLK_CFG_WRITEBACK, w4, 4);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 1);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_NUM_QUEUES, 2), 1);
    /* Other fields are read-only. */
    uint8_t cap[8] = {0};
    dh_config_write(&h, VDM_BLK_CFG_CAPACITY, cap, 8);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_CAPACITY, 8), CAP);

    /* CONFIG_WCE without FLUSH: writeback MUST start at 0. */
    dh_reset(&h);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT_F & ~VDM_BLK_F_FLUSH, 1), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_WRITEBACK, 1), 0);
    ck_assert_uint_eq(ram.wb, 0);

    /* Without CONFIG_WCE the field cannot be written. */
    dh_reset(&h);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT_F & ~VDM_BLK_F_CONFIG_WCE, 1), 0);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 1);
    v = 0;
    dh_config_write(&h, VDM_BLK_CFG_WRITEBACK, &v, 1);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 1);

    /* Neither FLUSH nor CONFIG_WCE: writethrough. */
    dh_reset(&h);
    ck_assert_int_eq(
        dh_bring_up(&h, SPLIT_F & ~(VDM_BLK_F_CONFIG_WCE | VDM_BLK_F_FLUSH), 1),
        0);
    ck_assert_uint_eq(vdm_blk_writeback(&blk), 0);
    ck_assert_uint_eq(ram.wb, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Queues                                                                    */

START_TEST(test_blk_multiqueue)
{
    struct dh_opts o = {.num_queues = 2};
    struct vdm_blk_config c = default_cfg();
    struct req r0, r1, r1b;
    start_full(&c, &o, SPLIT_F, 2);
    ck_assert(h.features & VDM_BLK_F_MQ);
    ck_assert_uint_eq(dh_config(&h, VDM_BLK_CFG_NUM_QUEUES, 2), 2);
    ram.async = 1;

    add_req(0, &r0, VDM_BLK_T_IN, 1, SEC, 0, DRV_ADD_DIRECT);
    add_req(1, &r1, VDM_BLK_T_OUT, 2, SEC, 1, DRV_ADD_DIRECT);
    fill(r1.data, SEC, 0x99);
    add_req(1, &r1b, VDM_BLK_T_IN, 3, SEC, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.npend, 1);
    ck_assert_int_le(dh_kick(&h, 1, 0), 1);
    ck_assert_uint_eq(ram.npend, 3);
    ck_assert_int_eq(vdm_blk_token_queue(&blk, ram.pend[0].token), 0);
    ck_assert_int_eq(vdm_blk_token_queue(&blk, ram.pend[1].token), 1);
    ck_assert_int_eq(vdm_blk_token_queue(&blk, ram.pend[2].token), 1);

    /* Queue 1 first: queue 0 sees nothing. */
    unsigned irq0 = h.irq_queue[0];
    ck_assert_int_eq(finish_pending(2, VDM_BLK_S_OK), 0);
    ck_assert_int_eq(finish_pending(1, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(used_one(1, r1b.id), SEC + 1);
    ck_assert_uint_eq(used_one(1, r1.id), 1);
    no_used(0);
    ck_assert_uint_eq(h.irq_queue[0], irq0);
    ck_assert_uint_ge(h.irq_queue[1], 1);
    ck_assert_mem_eq(ram.disk + 2 * SEC, r1.data, SEC);
    ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0);
    ck_assert_uint_eq(used_one(0, r0.id), SEC + 1);
    no_used(1);
    ck_assert_mem_eq(r0.data, ram.disk + SEC, SEC);
    ck_assert_int_eq(vdm_blk_process(&blk, 1), 0);
    ck_assert_int_eq(vdm_blk_process(&blk, 2), VDM_ERANGE);
}
END_TEST

/* Without MQ negotiated there is one request queue: queue 1 is ignored. */
START_TEST(test_blk_mq_not_negotiated)
{
    struct dh_opts o = {.num_queues = 2};
    struct vdm_blk_config c = default_cfg();
    struct req r;
    start_full(&c, &o, SPLIT_F & ~VDM_BLK_F_MQ, 2);
    add_req(1, &r, VDM_BLK_T_IN, 1, SEC, 0, DRV_ADD_DIRECT);
    dh_kick(&h, 1, 1);
    ck_assert_uint_eq(ram.nread, 0);
    no_used(1);
    ck_assert_int_eq(vdm_blk_process(&blk, 1), VDM_ERANGE);
    ck_assert_uint_eq(run_req(&r, VDM_BLK_T_IN, 1, SEC, 0), SEC + 1);
}
END_TEST

START_TEST(test_blk_kick_deferred)
{
    struct vdm_blk_config c = default_cfg();
    struct req r;
    c.ops = &rd_ops_kick;
    start_full(&c, NULL, SPLIT_F, 1);
    add_req(0, &r, VDM_BLK_T_IN, 4, SEC, 0, DRV_ADD_DIRECT);
    ck_assert_int_le(dh_kick(&h, 0, 0), 1);
    ck_assert_uint_eq(ram.nkick, 1);
    ck_assert_uint_eq(ram.last_kick_q, 0);
    ck_assert_uint_eq(ram.nread, 0);
    no_used(0);
    ck_assert_int_eq(vdm_blk_process(&blk, 0), 0);
    ck_assert_uint_eq(ram.nread, 1);
    ck_assert_uint_eq(used_one(0, r.id), SEC + 1);
    ck_assert_mem_eq(r.data, ram.disk + 4 * SEC, SEC);
}
END_TEST

/* Read and write over the packed ring and through indirect tables. */
START_TEST(test_blk_packed_and_indirect)
{
    UT_NEEDS(VDM_F_INDIRECT_DESC | (_i ? VDM_F_RING_PACKED : 0));
    struct vdm_blk_config c = default_cfg();
    uint64_t f = _i ? (SPLIT_F | VDM_F_RING_PACKED) : SPLIT_F;
    start_full(&c, NULL, f, 1);
    ck_assert_uint_eq(!!(h.features & VDM_F_RING_PACKED), _i);
    ram.async = 1;
    for (int round = 0; round < 3; round++) {
        struct req w, rd, rd2;
        int mode = round == 0 ? DRV_ADD_DIRECT : DRV_ADD_INDIRECT;
        add_req(0, &w, VDM_BLK_T_OUT, 60, 2 * SEC, 1, mode);
        fill(w.data, 2 * SEC, (uint8_t)(round * 3));
        add_req(0, &rd, VDM_BLK_T_IN, 61, SEC, 0, mode);
        add_req(0, &rd2, VDM_BLK_T_GET_ID, 0, 20, 0, mode);
        ck_assert_int_le(dh_kick(&h, 0, 0), 1);
        ck_assert_uint_eq(ram.npend, 2); /* GET_ID is answered at once */
        ck_assert_uint_eq(used_one(0, rd2.id), 21);
        ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0); /* write */
        ck_assert_int_eq(finish_pending(0, VDM_BLK_S_OK), 0); /* read */
        ck_assert_uint_eq(used_one(0, w.id), 1);
        ck_assert_uint_eq(used_one(0, rd.id), SEC + 1);
        ck_assert_mem_eq(rd.data, w.data + SEC, SEC);
        ck_assert_mem_eq(ram.disk + 60 * SEC, w.data, 2 * SEC);
    }
    ck_assert_ptr_null(drv_vq_error(dh_vq(&h, 0)));
}
END_TEST

/* Many requests through a small ring, more than its size in total, with
 * every notification checked against the driver-side oracle. */
START_TEST(test_blk_many_requests_notifications)
{
    UT_NEEDS(VDM_F_INDIRECT_DESC | (_i ? VDM_F_RING_PACKED : 0));
    struct dh_opts o = {.qsize = 8};
    struct vdm_blk_config c = default_cfg();
    uint64_t f = _i ? (SPLIT_F | VDM_F_RING_PACKED) : SPLIT_F;
    start_full(&c, &o, f, 1);
    struct drv_vq *v = dh_vq(&h, 0);
    for (int round = 0; round < 20; round++) {
        struct req r[5];
        for (int i = 0; i < 5; i++)
            add_req(0, &r[i], VDM_BLK_T_IN, (uint64_t)(round + i), SEC, 0,
                    DRV_ADD_INDIRECT);
        unsigned before = h.irq_queue[0];
        ck_assert_int_le(dh_kick(&h, 0, 0), 1);
        int expected = drv_vq_interrupt_expected(v);
        if (expected)
            ck_assert_uint_gt(h.irq_queue[0], before);
        for (int i = 0; i < 5; i++) {
            ck_assert_uint_eq(used_one(0, r[i].id), SEC + 1);
            ck_assert_mem_eq(r[i].data, ram.disk + (uint64_t)(round + i) * SEC,
                             SEC);
        }
        drv_vq_enable_cb(v);
    }
    ck_assert_ptr_null(drv_vq_error(v));
}
END_TEST

static Suite *blk_suite(void)
{
    Suite *s = suite_create("blk");
    TCase *tc = tcase_create("blk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_blk_init_validation);
    tcase_add_test(tc, test_blk_dirty_log);
    tcase_add_test(tc, test_blk_features_offered);
    tcase_add_test(tc, test_blk_features_no_unknown_host_bits);
    tcase_add_test(tc, test_blk_config_le);
    tcase_add_loop_test(tc, test_blk_read_ok, 0, 2);
    tcase_add_loop_test(tc, test_blk_write_ok, 0, 2);
    tcase_add_loop_test(tc, test_blk_flush, 0, 2);
    tcase_add_test(tc, test_blk_flush_unsupported);
    tcase_add_test(tc, test_blk_get_id);
    tcase_add_test(tc, test_blk_get_id_full_length);
    tcase_add_test(tc, test_blk_unsupp_unknown_type);
    tcase_add_test(tc, test_blk_beyond_capacity);
    tcase_add_test(tc, test_blk_ro_write_refused);
    tcase_add_test(tc, test_blk_bad_data_length);
    tcase_add_test(tc, test_blk_host_refuses);
    tcase_add_test(tc, test_blk_header_split_across_descriptors);
    tcase_add_test(tc, test_blk_missing_status);
    tcase_add_test(tc, test_blk_too_many_spans);
    tcase_add_test(tc, test_blk_region_crossing);
    tcase_add_loop_test(tc, test_blk_translate_hook_released, 0, 2);
    tcase_add_test(tc, test_blk_discard_follows_config);
    tcase_add_loop_test(tc, test_blk_discard, 0, 2);
    tcase_add_test(tc, test_blk_write_zeroes);
    tcase_add_test(tc, test_blk_async_out_of_order);
    tcase_add_test(tc, test_blk_drain_pending_and_cancel);
    tcase_add_test(tc, test_blk_complete_after_reset);
    tcase_add_test(tc, test_blk_stall_on_abandoned_slots);
    tcase_add_test(tc, test_blk_reset_inside_host_call);
    tcase_add_test(tc, test_blk_capacity_change);
    tcase_add_test(tc, test_blk_writeback_toggle);
    tcase_add_test(tc, test_blk_multiqueue);
    tcase_add_test(tc, test_blk_mq_not_negotiated);
    tcase_add_test(tc, test_blk_kick_deferred);
    tcase_add_loop_test(tc, test_blk_packed_and_indirect, 0, 2);
    tcase_add_loop_test(tc, test_blk_many_requests_notifications, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(blk_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
