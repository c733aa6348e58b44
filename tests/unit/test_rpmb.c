/* SPDX-License-Identifier: BSD-3-Clause */
/* RPMB device (spec "RPMB Device"): configuration layout, program key, get
 * write counter, authenticated data write and read with the MAC over the
 * frames, result read, and every tampering refused with the result code
 * the spec's device requirements name (bad MAC, replayed counter, wrong
 * address, key reprogramming, block counts beyond the limits, short
 * frames); key and counter surviving a reset and a re-initialisation.
 * Driven by the driver simulator directly and behind MMIO and PCI. The
 * driver side signs with the library's HMAC-SHA256, which test_sha256
 * checks against FIPS 180-4 and RFC 4231. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "sha256.h"
#include "vdm/device.h"
#include "vdm/devices/rpmb.h"

#define QMAX  64
#define CAP   1u /* 128 KiB: 512 blocks */
#define MAXWR 2u
#define MAXRD 4u
#define FB    VDM_RPMB_FRAME_BYTES
#define NBLK  (CAP * VDM_RPMB_BLOCKS_PER_UNIT)

/* ------------------------------------------------------------------------ */
/* The host: a partition in memory with its persisted key and counter      */

struct store {
    uint8_t mem[NBLK * VDM_RPMB_BLOCK_BYTES];
    uint8_t key[32];
    int key_set;
    uint32_t counter;
    int fail_read, fail_write, fail_key;
    int nwrites, nkeys;
};

static struct store st;
static struct dh h;
static struct vdm_rpmb rp;
static const uint8_t KEY[32] = "0123456789abcdef0123456789abcdef";

static int st_read(void *host, uint32_t block, uint32_t count, void *buf)
{
    struct store *s = host;
    ck_assert_uint_le(block + count, NBLK);
    ck_assert_uint_ge(count, 1);
    ck_assert_uint_le(count, MAXRD);
    if (s->fail_read)
        return VDM_EIO;
    memcpy(buf, s->mem + block * 256u, count * 256u);
    return 0;
}

static int st_write(void *host, uint32_t block, uint32_t count, const void *buf,
                    uint32_t counter)
{
    struct store *s = host;
    ck_assert_uint_le(block + count, NBLK);
    ck_assert_uint_le(count, MAXWR);
    ck_assert_uint_eq(counter, s->counter + 1u);
    if (s->fail_write)
        return VDM_EIO;
    memcpy(s->mem + block * 256u, buf, count * 256u);
    s->counter = counter;
    s->nwrites++;
    return 0;
}

static int st_key(void *host, const uint8_t *key)
{
    struct store *s = host;
    ck_assert_int_eq(s->key_set, 0);
    if (s->fail_key)
        return VDM_EIO;
    memcpy(s->key, key, 32);
    s->key_set = 1;
    s->nkeys++;
    return 0;
}

static const struct vdm_rpmb_ops st_ops = {
    .size = sizeof(struct vdm_rpmb_ops),
    .read = st_read,
    .write = st_write,
    .program_key = st_key,
};

/* Initialise the device from what the store persisted (a "boot"). */
static int boot(void)
{
    struct vdm_rpmb_config c = VDM_INIT(struct vdm_rpmb_config);
    c.capacity = CAP;
    c.max_wr_cnt = MAXWR;
    c.max_rd_cnt = MAXRD;
    c.key_programmed = (uint8_t)st.key_set;
    memcpy(c.key, st.key, 32);
    c.write_counter = st.counter;
    c.ops = &st_ops;
    c.host = &st;
    return vdm_rpmb_init(&rp, &h.dev, &c, &h.base);
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 1, .qsize = QMAX};
    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    ck_assert_int_eq(boot(), 0);
    ck_assert_ptr_eq(vdm_rpmb_dev(&rp), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define dq (*dh_vq(&h, 0))

static void bringup(void)
{
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1, 1), 0);
}

/* ------------------------------------------------------------------------ */
/* The driver: frames                                                       */

struct fr {
    uint8_t b[FB];
};

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t rd16(const struct fr *f, unsigned off)
{
    return (uint16_t)(f->b[off] << 8 | f->b[off + 1]);
}

static uint32_t rd32(const struct fr *f, unsigned off)
{
    return (uint32_t)f->b[off] << 24 | (uint32_t)f->b[off + 1] << 16 |
           (uint32_t)f->b[off + 2] << 8 | f->b[off + 3];
}

static void frame(struct fr *f, uint16_t type, uint16_t addr, uint16_t count,
                  uint32_t counter)
{
    memset(f, 0, sizeof(*f));
    f->b[500] = (uint8_t)(counter >> 24);
    f->b[501] = (uint8_t)(counter >> 16);
    f->b[502] = (uint8_t)(counter >> 8);
    f->b[503] = (uint8_t)counter;
    be16(f->b + VDM_RPMB_OFF_ADDRESS, addr);
    be16(f->b + VDM_RPMB_OFF_BLOCK_COUNT, count);
    be16(f->b + VDM_RPMB_OFF_REQ_RESP, type);
}

/* The MAC of frames f[0..n-1] with @p key. */
static void mac_of(const struct fr *f, unsigned n, const uint8_t *key,
                   uint8_t out[32])
{
    struct vdm_hmac_sha256 hm;
    vdm_hmac_sha256_init(&hm, key, 32);
    for (unsigned i = 0; i < n; i++)
        vdm_hmac_sha256_update(&hm, f[i].b + VDM_RPMB_OFF_DATA,
                               FB - VDM_RPMB_OFF_DATA);
    vdm_hmac_sha256_final(&hm, out);
}

static void sign(struct fr *f, unsigned n, const uint8_t *key)
{
    mac_of(f, n, key, f[n - 1].b + VDM_RPMB_OFF_KEY_MAC);
}

static void check_mac(const struct fr *f, unsigned n, const uint8_t *key)
{
    uint8_t m[32];
    mac_of(f, n, key, m);
    ck_assert_mem_eq(f[n - 1].b + VDM_RPMB_OFF_KEY_MAC, m, 32);
}

static int split; /* post each frame in two descriptors of odd sizes */

/* Post @p nout frames (readable) and room for @p nin (writable), each a
 * descriptor of its own as Linux front-ends do; kick; copy the response
 * frames back into @p in. @return the used length. */
static uint32_t xfer(const struct fr *out, unsigned nout, struct fr *in,
                     unsigned nin)
{
    struct drv_buf o[2 * 20], w[2 * 20];
    unsigned no = 0, nw = 0;
    uint64_t ig[20];
    uint32_t len = 0;
    void *cookie = NULL;

    ck_assert_uint_le(nout, 20);
    ck_assert_uint_le(nin, 20);
    for (unsigned i = 0; i < nout; i++) {
        uint64_t g = dh_alloc(&h, FB, 8);
        memcpy(dh_ptr(&h, g, FB), out[i].b, FB);
        if (split) {
            o[no++] = (struct drv_buf){g, 301};
            o[no++] = (struct drv_buf){g + 301, FB - 301};
        } else {
            o[no++] = (struct drv_buf){g, FB};
        }
    }
    for (unsigned i = 0; i < nin; i++) {
        ig[i] = dh_alloc(&h, FB, 8);
        memset(dh_ptr(&h, ig[i], FB), 0xee, FB);
        if (split) {
            w[nw++] = (struct drv_buf){ig[i], 7};
            w[nw++] = (struct drv_buf){ig[i] + 7, FB - 7};
        } else {
            w[nw++] = (struct drv_buf){ig[i], FB};
        }
    }
    ck_assert_int_ge(drv_vq_add(&dq, o, no, w, nw, DRV_ADD_DIRECT, (void *)1),
                     0);
    drv_vq_publish(&dq);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
    for (unsigned i = 0; i < nin; i++)
        memcpy(in[i].b, dh_ptr(&h, ig[i], FB), FB);
    return len;
}

/* Program @p key with a result read; @return the result. */
static uint16_t program(const uint8_t *key, uint16_t count)
{
    struct fr rq[2], rs;
    frame(&rq[0], VDM_RPMB_REQ_PROGRAM_KEY, 0, count, 0);
    memcpy(rq[0].b + VDM_RPMB_OFF_KEY_MAC, key, 32);
    frame(&rq[1], VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
    ck_assert_uint_eq(xfer(rq, 2, &rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_REQ_RESP),
                      VDM_RPMB_RESP_PROGRAM_KEY);
    return rd16(&rs, VDM_RPMB_OFF_RESULT);
}

/* Get the write counter; @return the result, the counter in *@p ctr. */
static uint16_t counter(uint32_t *ctr)
{
    struct fr rq, rs;
    frame(&rq, VDM_RPMB_REQ_GET_WRITE_COUNTER, 0, 1, 0);
    memset(rq.b + VDM_RPMB_OFF_NONCE, 0x5c, 16);
    ck_assert_uint_eq(xfer(&rq, 1, &rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_REQ_RESP),
                      VDM_RPMB_RESP_GET_COUNTER);
    ck_assert_mem_eq(rs.b + VDM_RPMB_OFF_NONCE, rq.b + VDM_RPMB_OFF_NONCE, 16);
    if (rd16(&rs, VDM_RPMB_OFF_RESULT) == VDM_RPMB_RES_OK)
        check_mac(&rs, 1, KEY);
    *ctr = rd32(&rs, VDM_RPMB_OFF_COUNTER);
    return rd16(&rs, VDM_RPMB_OFF_RESULT);
}

/* Build @p n signed data frames for blocks at @p addr, byte pattern @p seed. */
static void data_frames(struct fr *f, unsigned n, uint16_t addr, uint32_t ctr,
                        uint8_t seed)
{
    for (unsigned i = 0; i < n; i++) {
        frame(&f[i], VDM_RPMB_REQ_DATA_WRITE, addr, (uint16_t)n, ctr);
        for (unsigned j = 0; j < 256; j++)
            f[i].b[VDM_RPMB_OFF_DATA + j] = (uint8_t)(seed + i * 31u + j);
    }
    sign(f, n, KEY);
}

/* Send the @p n frames of @p f as a write with a result read. @return the
 * result; the response frame in *@p rs. */
static uint16_t write_frames(const struct fr *f, unsigned n, struct fr *rs)
{
    struct fr rq[20];
    memcpy(rq, f, n * sizeof(*f));
    frame(&rq[n], VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
    ck_assert_uint_eq(xfer(rq, n + 1, rs, 1), FB);
    ck_assert_uint_eq(rd16(rs, VDM_RPMB_OFF_REQ_RESP),
                      VDM_RPMB_RESP_DATA_WRITE);
    return rd16(rs, VDM_RPMB_OFF_RESULT);
}

/* Read @p count blocks at @p addr into @p rs (room for @p room frames).
 * @return the result of the first response frame; the used length in
 * *@p used. */
static uint16_t read_blocks(uint16_t addr, uint16_t count, struct fr *rs,
                            unsigned room, uint32_t *used)
{
    struct fr rq;
    frame(&rq, VDM_RPMB_REQ_DATA_READ, addr, count, 0);
    memset(rq.b + VDM_RPMB_OFF_NONCE, 0xa7, 16);
    *used = xfer(&rq, 1, rs, room);
    ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_REQ_RESP),
                      VDM_RPMB_RESP_DATA_READ);
    ck_assert_mem_eq(rs[0].b + VDM_RPMB_OFF_NONCE, rq.b + VDM_RPMB_OFF_NONCE,
                     16);
    return rd16(&rs[0], VDM_RPMB_OFF_RESULT);
}

static void keyed(void)
{
    bringup();
    ck_assert_uint_eq(program(KEY, 1), VDM_RPMB_RES_OK);
}

/* ------------------------------------------------------------------------ */

/* "Device configuration layout", "Feature bits: None", "Device ID": 28 */
START_TEST(rpmb_config_and_id)
{
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_RPMB);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & 0xffffffull, 0);
    bringup();
    ck_assert_uint_eq(dh_config(&h, 0, 1), CAP);
    ck_assert_uint_eq(dh_config(&h, 1, 1), MAXWR);
    ck_assert_uint_eq(dh_config(&h, 2, 1), MAXRD);
}
END_TEST

/* "Device Initialization": capacity a multiple of 128 KiB up to 16 MiB;
 * the block limits and the ops are checked. */
START_TEST(rpmb_init_validates)
{
    struct vdm_rpmb x;
    struct vdm_rpmb_config c = VDM_INIT(struct vdm_rpmb_config);
    struct vdm_rpmb_ops bad = st_ops;
    c.capacity = 1;
    c.ops = &st_ops;
    ck_assert_int_eq(vdm_rpmb_init(NULL, &h.dev, &c, &h.base), VDM_EINVAL);
    c.capacity = 0;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    c.capacity = VDM_RPMB_CAPACITY_MAX + 1u;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    c.capacity = VDM_RPMB_CAPACITY_MAX;
    c.max_wr_cnt = VDM_RPMB_RW_MAX + 1u;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    c.max_wr_cnt = 0;
    c.max_rd_cnt = VDM_RPMB_RW_MAX + 1u;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    c.max_rd_cnt = 0;
    c.key_programmed = 2;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    c.key_programmed = 0;
    bad.write = NULL;
    c.ops = &bad;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_EINVAL);
    bad = st_ops;
    bad.size = 8;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_ESIZE);
    c.ops = &st_ops;
    c.size = 8;
    ck_assert_int_eq(vdm_rpmb_init(&x, &h.dev, &c, &h.base), VDM_ESIZE);
    ck_assert_uint_eq(vdm_rpmb_write_counter(NULL), 0);
    ck_assert_int_eq(vdm_rpmb_key_programmed(NULL), 0);
    ck_assert_ptr_null(vdm_rpmb_dev(NULL));
}
END_TEST

/* "Get Write Counter" / "Data Write" / "Data Read": NO_AUTH_KEY before the
 * key is programmed. */
START_TEST(rpmb_no_key_refuses_everything)
{
    struct fr f[2], rs[2];
    uint32_t ctr, used;
    bringup();
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_NO_AUTH_KEY);
    data_frames(f, 1, 0, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_NO_AUTH_KEY);
    ck_assert_uint_eq(read_blocks(0, 1, rs, 1, &used),
                      VDM_RPMB_RES_NO_AUTH_KEY);
    ck_assert_int_eq(st.nwrites, 0);
}
END_TEST

/* "Program Key": the response carries RESP_PROGRAM_KEY, OK and a MAC; the
 * key reaches the host once; the counter starts at 0. */
START_TEST(rpmb_program_key_and_counter)
{
    uint32_t ctr = 1;
    keyed();
    ck_assert_int_eq(st.nkeys, 1);
    ck_assert_mem_eq(st.key, KEY, 32);
    ck_assert_int_eq(vdm_rpmb_key_programmed(&rp), 1);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, 0);
}
END_TEST

/* "Data Write" then "Data Read": the data comes back, the MAC covers all
 * response frames, the counter went up by one and reached the host. */
static void write_read_roundtrip(void)
{
    struct fr f[2], rs[4];
    uint32_t ctr, used;
    keyed();
    data_frames(f, 2, 100, 0, 7);
    ck_assert_uint_eq(write_frames(f, 2, rs), VDM_RPMB_RES_OK);
    check_mac(rs, 1, KEY);
    ck_assert_uint_eq(rd32(&rs[0], VDM_RPMB_OFF_COUNTER), 1);
    ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_ADDRESS), 100);
    ck_assert_uint_eq(st.counter, 1);
    ck_assert_uint_eq(vdm_rpmb_write_counter(&rp), 1);
    ck_assert_mem_eq(st.mem + 100 * 256, f[0].b + VDM_RPMB_OFF_DATA, 256);
    ck_assert_mem_eq(st.mem + 101 * 256, f[1].b + VDM_RPMB_OFF_DATA, 256);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, 1);

    ck_assert_uint_eq(read_blocks(100, 2, rs, 2, &used), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(used, 2 * FB);
    check_mac(rs, 2, KEY);
    for (unsigned i = 0; i < 2; i++) {
        ck_assert_mem_eq(rs[i].b + VDM_RPMB_OFF_DATA,
                         f[i].b + VDM_RPMB_OFF_DATA, 256);
        ck_assert_uint_eq(rd16(&rs[i], VDM_RPMB_OFF_ADDRESS), 100);
        ck_assert_uint_eq(rd16(&rs[i], VDM_RPMB_OFF_BLOCK_COUNT), 2);
        ck_assert_uint_eq(rd16(&rs[i], VDM_RPMB_OFF_RESULT), 0);
    }
    /* one block of a longer range, at the end of the partition */
    ck_assert_uint_eq(read_blocks(NBLK - 1, 1, rs, 1, &used), VDM_RPMB_RES_OK);
    check_mac(rs, 1, KEY);
}

START_TEST(rpmb_write_then_read)
{
    write_read_roundtrip();
}
END_TEST

/* The same with every frame split across two descriptors of odd sizes. */
START_TEST(rpmb_frames_split_across_descriptors)
{
    split = 1;
    write_read_roundtrip();
    split = 0;
}
END_TEST

/* "Data Write": "If the two MAC's are different then
 * VIRTIO_RPMB_RES_AUTH_FAILURE": a frame changed after signing (its data,
 * its address, its block count) is refused and nothing is written. */
START_TEST(rpmb_bad_mac_refused)
{
    struct fr f[2], rs;
    uint32_t ctr;
    keyed();
    data_frames(f, 2, 10, 0, 3);
    f[1].b[VDM_RPMB_OFF_DATA + 9] ^= 1; /* data tampered */
    ck_assert_uint_eq(write_frames(f, 2, &rs), VDM_RPMB_RES_AUTH_FAILURE);
    data_frames(f, 1, 10, 0, 3);
    be16(f[0].b + VDM_RPMB_OFF_ADDRESS, 11); /* wrong address */
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_AUTH_FAILURE);
    data_frames(f, 1, 10, 0, 3);
    f[0].b[VDM_RPMB_OFF_KEY_MAC] ^= 0x80; /* the MAC itself */
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_AUTH_FAILURE);
    {
        /* signed with another key */
        uint8_t other[32];
        memset(other, 0x11, 32);
        data_frames(f, 1, 10, 0, 3);
        sign(f, 1, other);
        ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_AUTH_FAILURE);
    }
    ck_assert_int_eq(st.nwrites, 0);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, 0);
}
END_TEST

/* "If the writer counter in the request is different from the one
 * maintained by the device then VIRTIO_RPMB_RES_COUNT_FAILURE": a frame
 * replayed after it was accepted, and one from the future. */
START_TEST(rpmb_replayed_counter_refused)
{
    struct fr f[1], g[1], rs;
    keyed();
    data_frames(f, 1, 20, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_OK);
    st.mem[20 * 256] ^= 0xff; /* the replay would restore it */
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_COUNT_FAILURE);
    ck_assert_uint_eq(rd32(&rs, VDM_RPMB_OFF_COUNTER), 1);
    check_mac(&rs, 1, KEY);
    data_frames(g, 1, 20, 5, 1);
    ck_assert_uint_eq(write_frames(g, 1, &rs), VDM_RPMB_RES_COUNT_FAILURE);
    ck_assert_int_eq(st.nwrites, 1);
    ck_assert_uint_eq(st.mem[20 * 256],
                      (uint8_t)(f[0].b[VDM_RPMB_OFF_DATA] ^ 0xff));
    ck_assert_uint_eq(vdm_rpmb_write_counter(&rp), 1);
}
END_TEST

/* "If there is an error in the address (out of range) then
 * VIRTIO_RPMB_RES_ADDR_FAILURE", for writes and reads. */
START_TEST(rpmb_address_out_of_range)
{
    struct fr f[2], rs[4];
    uint32_t used;
    keyed();
    data_frames(f, 2, NBLK - 1, 0, 1);
    ck_assert_uint_eq(write_frames(f, 2, rs), VDM_RPMB_RES_ADDR_FAILURE);
    data_frames(f, 1, 0xffff, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_ADDR_FAILURE);
    ck_assert_uint_eq(read_blocks(NBLK - 1, 2, rs, 2, &used),
                      VDM_RPMB_RES_ADDR_FAILURE);
    ck_assert_uint_eq(read_blocks(0xffff, 4, rs, 4, &used),
                      VDM_RPMB_RES_ADDR_FAILURE);
    ck_assert_int_eq(st.nwrites, 0);
}
END_TEST

/* "one-time programmable authentication key. It cannot be overwritten":
 * a second program key fails and the first key stays in force. */
START_TEST(rpmb_key_reprogramming_refused)
{
    uint8_t other[32];
    struct fr f[1], rs;
    keyed();
    memset(other, 0x42, 32);
    ck_assert_uint_eq(program(other, 1), VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_int_eq(st.nkeys, 1);
    ck_assert_mem_eq(st.key, KEY, 32);
    data_frames(f, 1, 0, 0, 9); /* signed with the first key */
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_OK);
    check_mac(&rs, 1, KEY);
}
END_TEST

/* Block counts: program key and get counter take exactly 1; writes and
 * reads 1..max_wr_cnt / max_rd_cnt ("GENERAL_FAILURE"). */
START_TEST(rpmb_block_counts_checked)
{
    struct fr f[4], rs[8], rq;
    uint32_t used;
    bringup();
    ck_assert_uint_eq(program(KEY, 0), VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_uint_eq(program(KEY, 2), VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_int_eq(vdm_rpmb_key_programmed(&rp), 0);
    ck_assert_uint_eq(program(KEY, 1), VDM_RPMB_RES_OK);
    frame(&rq, VDM_RPMB_REQ_GET_WRITE_COUNTER, 0, 2, 0);
    ck_assert_uint_eq(xfer(&rq, 1, rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_RESULT),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    data_frames(f, MAXWR + 1, 0, 0, 1); /* above max_wr_cnt */
    ck_assert_uint_eq(write_frames(f, MAXWR + 1, rs),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    data_frames(f, 1, 0, 0, 1);
    be16(f[0].b + VDM_RPMB_OFF_BLOCK_COUNT, 0); /* zero */
    sign(f, 1, KEY);
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_uint_eq(read_blocks(0, MAXRD + 1, rs, MAXRD + 1, &used),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_uint_eq(used, FB);
    ck_assert_uint_eq(read_blocks(0, 0, rs, 1, &used),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    /* room for fewer frames than the block count */
    ck_assert_uint_eq(read_blocks(0, 3, rs, 2, &used),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_int_eq(st.nwrites, 0);
}
END_TEST

/* Short frames: a readable part that is not whole frames, a write whose
 * block count names more frames than it carries, a request without room
 * for its answer, an unknown type: refused, nothing done. */
START_TEST(rpmb_short_frames_refused)
{
    struct fr f[2], rs[2];
    uint32_t len = 0;
    void *cookie;
    keyed();
    /* 500 readable bytes */
    {
        uint64_t g = dh_alloc(&h, FB, 8), w = dh_alloc(&h, FB, 8);
        struct drv_buf o = {g, 500}, i = {w, FB};
        frame(&f[0], VDM_RPMB_REQ_GET_WRITE_COUNTER, 0, 1, 0);
        memcpy(dh_ptr(&h, g, FB), f[0].b, FB);
        ck_assert_int_ge(drv_vq_add(&dq, &o, 1, &i, 1, DRV_ADD_DIRECT, &h), 0);
        drv_vq_publish(&dq);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
        ck_assert_uint_eq(len, FB);
        memcpy(rs[0].b, dh_ptr(&h, w, FB), FB);
        ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_RESULT),
                          VDM_RPMB_RES_GENERAL_FAILURE);
    }
    /* block count 2, one data frame (+ result read) */
    data_frames(f, 2, 0, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_GENERAL_FAILURE);
    /* a response frame cut short: nothing written, nothing done */
    data_frames(f, 1, 0, 0, 1);
    {
        struct fr rq[2];
        uint64_t g0 = dh_alloc(&h, FB, 8), g1 = dh_alloc(&h, FB, 8);
        uint64_t w = dh_alloc(&h, FB, 8);
        memcpy(rq, f, sizeof(f[0]));
        frame(&rq[1], VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
        memcpy(dh_ptr(&h, g0, FB), rq[0].b, FB);
        memcpy(dh_ptr(&h, g1, FB), rq[1].b, FB);
        struct drv_buf o[2] = {{g0, FB}, {g1, FB}}, i = {w, 100};
        ck_assert_int_ge(drv_vq_add(&dq, o, 2, &i, 1, DRV_ADD_DIRECT, &h), 0);
        drv_vq_publish(&dq);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
        ck_assert_uint_eq(len, 0);
        /* the write itself was authenticated and done */
        ck_assert_int_eq(st.nwrites, 1);
    }
    /* unknown request type */
    frame(&f[0], 0x0042, 0, 1, 0);
    ck_assert_uint_eq(xfer(f, 1, rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_RESULT),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    /* result read followed by another frame */
    frame(&f[0], VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
    frame(&f[1], VDM_RPMB_REQ_GET_WRITE_COUNTER, 0, 1, 0);
    ck_assert_uint_eq(xfer(f, 2, rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs[0], VDM_RPMB_OFF_RESULT),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    /* the queue still works */
    ck_assert_uint_eq(counter(&len), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

/* "Result Read" in a chain of its own returns the last program key or
 * write result (eMMC's result register); a write without a result read
 * is answered with nothing. */
START_TEST(rpmb_result_read_alone)
{
    struct fr f[1], rs, rq;
    keyed();
    data_frames(f, 1, 3, 0, 1);
    ck_assert_uint_eq(xfer(f, 1, &rs, 0), 0);
    ck_assert_int_eq(st.nwrites, 1);
    frame(&rq, VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
    ck_assert_uint_eq(xfer(&rq, 1, &rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_REQ_RESP),
                      VDM_RPMB_RESP_DATA_WRITE);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_RESULT), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(rd32(&rs, VDM_RPMB_OFF_COUNTER), 1);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_ADDRESS), 3);
    check_mac(&rs, 1, KEY);
    /* "If the block_count has not been set to 1" */
    frame(&rq, VDM_RPMB_REQ_RESULT_READ, 0, 0, 0);
    ck_assert_uint_eq(xfer(&rq, 1, &rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_RESULT),
                      VDM_RPMB_RES_GENERAL_FAILURE);
}
END_TEST

/* "After the counter has reached its maximum value 0xFFFF FFFF, it will
 * not be incremented anymore": WRITE_COUNTER_EXPIRED. */
START_TEST(rpmb_counter_expired)
{
    struct fr f[1], rs;
    uint32_t ctr;
    memcpy(st.key, KEY, 32);
    st.key_set = 1;
    st.counter = UINT32_MAX;
    ck_assert_int_eq(boot(), 0);
    bringup();
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, UINT32_MAX);
    data_frames(f, 1, 0, UINT32_MAX, 1);
    ck_assert_uint_eq(write_frames(f, 1, &rs),
                      VDM_RPMB_RES_WRITE_COUNTER_EXPIRED);
    ck_assert_int_eq(st.nwrites, 0);
}
END_TEST

/* Host failures: WRITE_FAILURE (key, data; nothing changes) and
 * READ_FAILURE. */
START_TEST(rpmb_host_failures)
{
    struct fr f[1], rs[1];
    uint32_t used;
    bringup();
    st.fail_key = 1;
    ck_assert_uint_eq(program(KEY, 1), VDM_RPMB_RES_WRITE_FAILURE);
    ck_assert_int_eq(vdm_rpmb_key_programmed(&rp), 0);
    st.fail_key = 0;
    ck_assert_uint_eq(program(KEY, 1), VDM_RPMB_RES_OK);
    st.fail_write = 1;
    data_frames(f, 1, 0, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_WRITE_FAILURE);
    ck_assert_uint_eq(vdm_rpmb_write_counter(&rp), 0);
    st.fail_write = 0;
    ck_assert_uint_eq(write_frames(f, 1, rs), VDM_RPMB_RES_OK);
    st.fail_read = 1;
    ck_assert_uint_eq(read_blocks(0, 1, rs, 1, &used),
                      VDM_RPMB_RES_READ_FAILURE);
}
END_TEST

/* "This key MUST be kept regardless of device reset or reboot", and so
 * must the counter: a device reset, and a new init from what the host
 * persisted. A reset forgets the result register. */
START_TEST(rpmb_key_and_counter_survive_reset_and_reboot)
{
    struct fr f[1], rs, rq;
    uint32_t ctr;
    keyed();
    data_frames(f, 1, 0, 0, 1);
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_OK);
    dh_reset(&h);
    bringup();
    frame(&rq, VDM_RPMB_REQ_RESULT_READ, 0, 1, 0);
    ck_assert_uint_eq(xfer(&rq, 1, &rs, 1), FB);
    ck_assert_uint_eq(rd16(&rs, VDM_RPMB_OFF_RESULT),
                      VDM_RPMB_RES_GENERAL_FAILURE);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, 1);
    ck_assert_uint_eq(program(KEY, 1), VDM_RPMB_RES_GENERAL_FAILURE);
    /* reboot: a fresh bench, the device from the store */
    dh_fini(&h);
    struct dh_opts o = {.num_queues = 1, .qsize = QMAX};
    ck_assert_int_eq(dh_init(&h, &o), 0);
    ck_assert_int_eq(boot(), 0);
    bringup();
    ck_assert_int_eq(vdm_rpmb_key_programmed(&rp), 1);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(ctr, 1);
    data_frames(f, 1, 1, 1, 2);
    ck_assert_uint_eq(write_frames(f, 1, &rs), VDM_RPMB_RES_OK);
    ck_assert_uint_eq(st.counter, 2);
}
END_TEST

/* A chain with more spans than the device takes is returned unanswered
 * and the queue goes on. */
START_TEST(rpmb_too_many_spans)
{
    struct drv_buf o[VDM_RPMB_IOV_MAX + 1], w = {0, FB};
    uint32_t len = 1, ctr;
    void *cookie;
    keyed();
    uint64_t g = dh_alloc(&h, 64 * (VDM_RPMB_IOV_MAX + 1), 8);
    for (unsigned i = 0; i < VDM_RPMB_IOV_MAX + 1; i++)
        o[i] = (struct drv_buf){g + 64 * i, 64};
    w.gpa = dh_alloc(&h, FB, 8);
    ck_assert_int_ge(
        drv_vq_add(&dq, o, VDM_RPMB_IOV_MAX + 1, &w, 1, DRV_ADD_DIRECT, &h), 0);
    drv_vq_publish(&dq);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(counter(&ctr), VDM_RPMB_RES_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rpmb");
    TCase *tc = tcase_create("rpmb");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rpmb_config_and_id);
    tcase_add_test(tc, rpmb_init_validates);
    tcase_add_test(tc, rpmb_no_key_refuses_everything);
    tcase_add_test(tc, rpmb_program_key_and_counter);
    tcase_add_test(tc, rpmb_write_then_read);
    tcase_add_test(tc, rpmb_frames_split_across_descriptors);
    tcase_add_test(tc, rpmb_bad_mac_refused);
    tcase_add_test(tc, rpmb_replayed_counter_refused);
    tcase_add_test(tc, rpmb_address_out_of_range);
    tcase_add_test(tc, rpmb_key_reprogramming_refused);
    tcase_add_test(tc, rpmb_block_counts_checked);
    tcase_add_test(tc, rpmb_short_frames_refused);
    tcase_add_test(tc, rpmb_result_read_alone);
    tcase_add_test(tc, rpmb_counter_expired);
    tcase_add_test(tc, rpmb_host_failures);
    tcase_add_test(tc, rpmb_key_and_counter_survive_reset_and_reboot);
    tcase_add_test(tc, rpmb_too_many_spans);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
