/* SPDX-License-Identifier: BSD-3-Clause */
/* I2C adapter device (spec "I2C Adapter Device"): the mandatory feature,
 * groups handed to the host as one combined transfer, status of the first
 * failed request and the rest of its group, zero-length requests, 10-bit
 * addresses, in-order processing with one group at the host, asynchronous
 * completion, reset with a group at the host, and hostile requests. Driven
 * by the driver simulator directly and behind MMIO and PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "profile.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/i2c.h"

#define QMAX 64

/* ------------------------------------------------------------------------ */
/* The host: a bus with a 256-byte EEPROM-like chip at 0x50               */

struct bus {
    uint8_t mem[256];
    uint8_t ptr;    /* the chip's address pointer */
    int async;      /* keep the token instead of completing */
    int fail_at;    /* >= 0: messages from this index fail */
    int refuse;     /* transfer returns this (< 0) */
    void *token;    /* kept token */
    int ntransfers; /* transfer calls */
    uint32_t nmsgs; /* messages of the last transfer */
    struct vdm_i2c_msg last[VDM_I2C_GROUP_MAX];
    uint32_t lastlen; /* bytes of the last write message */
};

static struct bus bus;
static struct dh h;
static struct vdm_i2c i2c;
static int use_indirect; /* post chains as one indirect descriptor */

/* Copy a message's spans to or from a flat buffer. */
static void msg_io(const struct vdm_i2c_msg *m, uint8_t *flat, int to_guest)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < m->niov; i++) {
        if (to_guest)
            memcpy(m->iov[i].base, flat + off, m->iov[i].len);
        else
            memcpy(flat + off, m->iov[i].base, m->iov[i].len);
        off += m->iov[i].len;
    }
    ck_assert_uint_eq(off, m->len);
}

/* Run the messages against the chip: a write sets the pointer (first byte)
 * and stores the rest; a read reads from the pointer. Returns messages
 * done. */
static int run(const struct vdm_i2c_msg *msgs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct vdm_i2c_msg *m = &msgs[i];
        uint8_t flat[VDM_I2C_MSG_MAX];
        if (bus.fail_at >= 0 && (int)i >= bus.fail_at)
            return (int)i;
        if (m->addr != 0x50 || (m->flags & VDM_I2C_MSG_TEN))
            return (int)i; /* nobody answers */
        if (m->flags & VDM_I2C_MSG_RD) {
            for (uint32_t j = 0; j < m->len; j++)
                flat[j] = bus.mem[(uint8_t)(bus.ptr + j)];
            bus.ptr = (uint8_t)(bus.ptr + m->len);
            msg_io(m, flat, 1);
        } else {
            msg_io(m, flat, 0);
            bus.lastlen = m->len;
            if (m->len > 0)
                bus.ptr = flat[0];
            for (uint32_t j = 1; j < m->len; j++)
                bus.mem[bus.ptr++] = flat[j];
        }
    }
    return (int)n;
}

static int bus_transfer(void *host, const struct vdm_i2c_msg *msgs, uint32_t n,
                        void *token)
{
    struct bus *b = host;
    b->ntransfers++;
    b->nmsgs = n;
    ck_assert_uint_le(n, VDM_I2C_GROUP_MAX);
    memcpy(b->last, msgs, n * sizeof(*msgs));
    if (b->refuse)
        return b->refuse;
    if (b->async) {
        b->token = token;
        return 0;
    }
    ck_assert_int_eq(vdm_i2c_complete(&i2c, token, run(msgs, n)), 0);
    return 0;
}

static const struct vdm_i2c_ops bus_ops = {
    .size = sizeof(struct vdm_i2c_ops),
    .transfer = bus_transfer,
};

static void setup(void)
{
    struct dh_opts o = {.num_queues = 1, .qsize = QMAX};

    memset(&bus, 0, sizeof(bus));
    bus.fail_at = -1;
    use_indirect = 0;
    for (unsigned i = 0; i < sizeof(bus.mem); i++)
        bus.mem[i] = (uint8_t)(i ^ 0xa5);
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_i2c_config c = VDM_INIT(struct vdm_i2c_config);
    c.ops = &bus_ops;
    c.host = &bus;
    ck_assert_int_eq(vdm_i2c_init(&i2c, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_i2c_dev(&i2c), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define dq (*dh_vq(&h, 0))

static void bringup(void)
{
    ck_assert_int_eq(
        dh_bring_up(&h, VDM_F_VERSION_1 | VDM_I2C_F_ZERO_LENGTH_REQUEST, 1), 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

/* A request as the Linux driver lays it out: header, buffer, status, each
 * its own descriptor. */
struct rq {
    uint64_t hdr, buf, st;
    uint32_t len;
};

#define ADDR7(a) ((uint16_t)((a) << 1))

static struct rq post_raw(uint16_t addr, uint32_t flags, const void *wdata,
                          uint32_t len, int rd)
{
    struct rq r = {0};
    struct drv_buf out[2], in[2];
    unsigned nout = 0, nin = 0;

    r.len = len;
    r.hdr = dh_alloc(&h, 8, 8);
    uint8_t *p = dh_ptr(&h, r.hdr, 8);
    p[0] = (uint8_t)addr;
    p[1] = (uint8_t)(addr >> 8);
    p[2] = p[3] = 0;
    p[4] = (uint8_t)flags;
    p[5] = (uint8_t)(flags >> 8);
    p[6] = (uint8_t)(flags >> 16);
    p[7] = (uint8_t)(flags >> 24);
    out[nout++] = (struct drv_buf){r.hdr, 8};
    if (len > 0) {
        r.buf = dh_alloc(&h, len, 8);
        if (rd) {
            memset(dh_ptr(&h, r.buf, len), 0xee, len);
            in[nin++] = (struct drv_buf){r.buf, len};
        } else {
            memcpy(dh_ptr(&h, r.buf, len), wdata, len);
            out[nout++] = (struct drv_buf){r.buf, len};
        }
    }
    r.st = dh_alloc(&h, 1, 1);
    *(uint8_t *)dh_ptr(&h, r.st, 1) = 0xee;
    in[nin++] = (struct drv_buf){r.st, 1};
    ck_assert_int_ge(
        drv_vq_add(&dq, out, nout, in, nin,
                   use_indirect ? DRV_ADD_INDIRECT : DRV_ADD_DIRECT,
                   (void *)(uintptr_t)r.hdr),
        0);
    return r;
}

static struct rq post_write(uint16_t a7, const void *d, uint32_t len,
                            int fail_next)
{
    return post_raw(ADDR7(a7), fail_next ? VDM_I2C_FLAGS_FAIL_NEXT : 0, d, len,
                    0);
}

static struct rq post_read(uint16_t a7, uint32_t len, int fail_next)
{
    return post_raw(ADDR7(a7),
                    VDM_I2C_FLAGS_M_RD |
                        (fail_next ? VDM_I2C_FLAGS_FAIL_NEXT : 0u),
                    NULL, len, 1);
}

static void kick(void)
{
    drv_vq_publish(&dq);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
}

static uint8_t status(const struct rq *r)
{
    return *(uint8_t *)dh_ptr(&h, r->st, 1);
}

/* Take used buffers until @p r's; return its used length. */
static uint32_t used(const struct rq *r)
{
    uint32_t len = 0;
    void *cookie = NULL;
    for (int i = 0; i < QMAX; i++) {
        ck_assert_int_eq(drv_vq_get_used(&dq, NULL, &len, &cookie), 1);
        if (cookie == (void *)(uintptr_t)r->hdr)
            return len;
    }
    ck_abort_msg("request never used");
    return 0;
}

static void no_used(void)
{
    ck_assert_int_eq(drv_vq_get_used(&dq, NULL, NULL, NULL), 0);
}

/* ------------------------------------------------------------------------ */

START_TEST(i2c_offers_zero_length_and_refuses_driver_without_it)
{
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_ne(f & VDM_I2C_F_ZERO_LENGTH_REQUEST, 0);
    ck_assert_uint_eq(f & VDM_F_IN_ORDER, 0);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_I2C);
    /* "MUST reject any driver that doesn't negotiate this feature." */
    ck_assert_int_ne(dh_negotiate(&h, VDM_F_VERSION_1), 0);
    ck_assert_uint_eq(dh_status(&h) & VDM_STATUS_FEATURES_OK, 0);
}
END_TEST

START_TEST(i2c_write_read_group_is_one_transfer)
{
    bringup();
    uint8_t reg = 0x10;
    struct rq w = post_write(0x50, &reg, 1, 1);
    struct rq r = post_read(0x50, 8, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(bus.nmsgs, 2);
    ck_assert_uint_eq(bus.last[0].addr, 0x50);
    ck_assert_uint_eq(bus.last[0].flags, 0);
    ck_assert_uint_eq(bus.last[1].flags, VDM_I2C_MSG_RD);
    ck_assert_uint_eq(used(&w), 1);
    ck_assert_uint_eq(used(&r), 9);
    ck_assert_uint_eq(status(&w), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(status(&r), VDM_I2C_MSG_OK);
    const uint8_t *got = dh_ptr(&h, r.buf, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(got[i], (0x10 + i) ^ 0xa5);
    ck_assert_uint_ge(h.irq_queue[0], 1);
    ck_assert_uint_eq(h.nwarn, 0);
}
END_TEST

START_TEST(i2c_single_requests_are_separate_transfers)
{
    bringup();
    uint8_t d[3] = {0x20, 1, 2};
    struct rq a = post_write(0x50, d, 3, 0);
    struct rq b = post_write(0x50, d, 1, 0);
    struct rq c = post_read(0x50, 2, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 3);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(used(&c), 3);
    ck_assert_mem_eq(dh_ptr(&h, c.buf, 2), "\x01\x02", 2);
    /* "A device MUST not change the value of the buf for a write" */
    ck_assert_mem_eq(dh_ptr(&h, a.buf, 3), d, 3);
}
END_TEST

START_TEST(i2c_zero_length_request)
{
    bringup();
    struct rq q = post_write(0x50, NULL, 0, 0);
    struct rq r = post_read(0x50, 0, 0);
    struct rq n = post_write(0x51, NULL, 0, 0); /* nobody there */
    kick();
    ck_assert_int_eq(bus.ntransfers, 3);
    ck_assert_uint_eq(used(&q), 1);
    ck_assert_uint_eq(status(&q), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(used(&r), 1);
    ck_assert_uint_eq(status(&r), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(used(&n), 1);
    ck_assert_uint_eq(status(&n), VDM_I2C_MSG_ERR);
}
END_TEST

/* "Operation Status": the first failed request is ERR; the rest of its
 * group fail too, the requests before it keep their OK. */
START_TEST(i2c_failed_message_fails_rest_of_group)
{
    bringup();
    uint8_t reg = 0;
    bus.fail_at = 1;
    struct rq a = post_write(0x50, &reg, 1, 1);
    struct rq b = post_read(0x50, 4, 1);
    struct rq c = post_read(0x50, 4, 0);
    struct rq d = post_read(0x50, 1, 0); /* next group */
    kick();
    ck_assert_int_eq(bus.ntransfers, 2);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&c), 1);
    ck_assert_uint_eq(status(&c), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&d), 2); /* its own group: fail_at 1 spares it */
    ck_assert_uint_eq(status(&d), VDM_I2C_MSG_OK);
}
END_TEST

START_TEST(i2c_refused_transfer_fails_group)
{
    bringup();
    bus.refuse = VDM_EIO;
    struct rq a = post_write(0x50, "x", 1, 1);
    struct rq b = post_read(0x50, 1, 0);
    kick();
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(vdm_i2c_in_flight(&i2c), 0);
}
END_TEST

/* "MUST guarantee the requests in the virtqueue being processed in order":
 * one group at the host, the rest waits. */
START_TEST(i2c_async_one_group_at_a_time_in_order)
{
    bringup();
    bus.async = 1;
    uint8_t reg = 4;
    struct rq a = post_write(0x50, &reg, 1, 1);
    struct rq b = post_read(0x50, 2, 0);
    struct rq c = post_read(0x50, 2, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(vdm_i2c_in_flight(&i2c), 1);
    no_used();
    kick(); /* a notification changes nothing */
    ck_assert_int_eq(bus.ntransfers, 1);

    void *t = bus.token;
    ck_assert_int_eq(vdm_i2c_complete(&i2c, (void *)0x12345, 2), VDM_EINVAL);
    ck_assert_int_eq(vdm_i2c_complete(&i2c, t, run(bus.last, bus.nmsgs)), 0);
    /* the waiting request went to the host right after */
    ck_assert_int_eq(bus.ntransfers, 2);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(used(&b), 3);
    ck_assert_mem_eq(dh_ptr(&h, b.buf, 2), "\xa1\xa0", 2); /* 4^a5, 5^a5 */
    no_used();
    ck_assert_int_eq(vdm_i2c_complete(&i2c, t, 2), VDM_EINVAL); /* again */
    ck_assert_int_eq(
        vdm_i2c_complete(&i2c, bus.token, run(bus.last, bus.nmsgs)), 0);
    ck_assert_uint_eq(used(&c), 3);
    ck_assert_mem_eq(dh_ptr(&h, c.buf, 2), "\xa3\xa2", 2);
    ck_assert_uint_eq(vdm_i2c_in_flight(&i2c), 0);
}
END_TEST

START_TEST(i2c_reset_with_group_at_host)
{
    bringup();
    bus.async = 1;
    struct rq a = post_read(0x50, 4, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    void *t = bus.token;
    dh_reset(&h);
    ck_assert_uint_eq(vdm_i2c_in_flight(&i2c), 1); /* still at the host */
    /* The late completion touches nothing. */
    ck_assert_int_eq(vdm_i2c_complete(&i2c, t, 1), VDM_ESTATE);
    ck_assert_uint_eq(status(&a), 0xee);
    ck_assert_uint_eq(vdm_i2c_in_flight(&i2c), 0);

    bringup();
    bus.async = 0;
    struct rq b = post_read(0x50, 1, 0);
    kick();
    ck_assert_uint_eq(used(&b), 2);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_OK);
}
END_TEST

START_TEST(i2c_reset_while_group_collecting)
{
    bringup();
    struct rq a = post_write(0x50, "\x00", 1, 1); /* group left open */
    kick();
    ck_assert_int_eq(bus.ntransfers, 0);
    dh_reset(&h);
    ck_assert_uint_eq(status(&a), 0xee);
    bringup();
    struct rq b = post_read(0x50, 1, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(bus.nmsgs, 1); /* the old member is gone */
    ck_assert_uint_eq(used(&b), 2);
}
END_TEST

START_TEST(i2c_ten_bit_address)
{
    bringup();
    /* 10-bit 0x2a5: A7..A0 = 0xa5 in bits 15..8, 11110 A9 A8 0 = 0xf4 */
    struct rq a = post_raw(0xa5f4, 0, "\x01", 1, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(bus.last[0].addr, 0x2a5);
    ck_assert_uint_eq(bus.last[0].flags, VDM_I2C_MSG_TEN);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_ERR); /* bus has no such chip */
}
END_TEST

/* Hostile requests: failed without reaching the host, logged once. */
START_TEST(i2c_hostile_requests_fail_without_host)
{
    bringup();
    struct rq a = post_raw(ADDR7(0x50), 0x4, "\x00", 1, 0); /* reserved */
    struct rq b = post_raw(0x00a1, 0, "\x00", 1, 0);        /* bit 0 */
    struct rq c = post_raw(0x1234, 0, "\x00", 1, 0); /* high byte, no 11110 */
    struct rq d = post_raw(ADDR7(0x50), 0x4, "\x00", 1, 0); /* again */
    kick();
    ck_assert_int_eq(bus.ntransfers, 0);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&c), 1);
    ck_assert_uint_eq(status(&c), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&d), 1);
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert_uint_eq(h.nwarn, 2)); /* flags once, address once */
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

/* The direction must match the buffer: M_RD with a readable buffer, a
 * write with a writable one. */
START_TEST(i2c_direction_mismatch)
{
    bringup();
    struct rq a = post_raw(ADDR7(0x50), VDM_I2C_FLAGS_M_RD, "\x00", 1, 0);
    struct rq b = post_raw(ADDR7(0x50), 0, NULL, 4, 1);
    kick();
    ck_assert_int_eq(bus.ntransfers, 0);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_ERR);
    ck_assert_mem_eq(dh_ptr(&h, b.buf, 4), "\xee\xee\xee\xee", 4);
}
END_TEST

/* A bad member fails its whole group and the rest of it, up to the
 * request that ends the group; the next group runs. */
START_TEST(i2c_bad_member_fails_group)
{
    bringup();
    struct rq a = post_write(0x50, "\x00", 1, 1);
    struct rq b = post_raw(0x00a1, VDM_I2C_FLAGS_FAIL_NEXT, "\x00", 1, 0);
    struct rq c = post_read(0x50, 1, 1);
    struct rq d = post_read(0x50, 1, 0);
    struct rq e = post_read(0x50, 1, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1); /* e only */
    ck_assert_uint_eq(bus.nmsgs, 1);
    ck_assert_uint_eq(used(&a), 1);
    ck_assert_uint_eq(status(&a), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&b), 1);
    ck_assert_uint_eq(status(&b), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&c), 1);
    ck_assert_uint_eq(status(&c), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&d), 1);
    ck_assert_uint_eq(status(&d), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&e), 2);
    ck_assert_uint_eq(status(&e), VDM_I2C_MSG_OK);
}
END_TEST

START_TEST(i2c_group_too_long_fails)
{
    UT_NEEDS(VDM_F_INDIRECT_DESC);
    ck_assert_int_eq(dh_bring_up(&h,
                                 VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC |
                                     VDM_I2C_F_ZERO_LENGTH_REQUEST,
                                 1),
                     0);
    use_indirect = 1;
    struct rq r[VDM_I2C_GROUP_MAX + 1];
    for (int i = 0; i < VDM_I2C_GROUP_MAX + 1; i++)
        r[i] = post_read(0x50, 1, i < VDM_I2C_GROUP_MAX);
    struct rq last = post_read(0x50, 1, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    for (int i = 0; i < VDM_I2C_GROUP_MAX + 1; i++) {
        ck_assert_uint_eq(used(&r[i]), 1);
        ck_assert_uint_eq(status(&r[i]), VDM_I2C_MSG_ERR);
    }
    ck_assert_uint_eq(used(&last), 2);
    ck_assert_uint_eq(status(&last), VDM_I2C_MSG_OK);
}
END_TEST

START_TEST(i2c_longest_group_runs)
{
    UT_NEEDS(VDM_F_INDIRECT_DESC);
    ck_assert_int_eq(dh_bring_up(&h,
                                 VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC |
                                     VDM_I2C_F_ZERO_LENGTH_REQUEST,
                                 1),
                     0);
    use_indirect = 1;
    struct rq r[VDM_I2C_GROUP_MAX];
    for (int i = 0; i < VDM_I2C_GROUP_MAX; i++)
        r[i] = post_read(0x50, 1, i < VDM_I2C_GROUP_MAX - 1);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(bus.nmsgs, VDM_I2C_GROUP_MAX);
    for (int i = 0; i < VDM_I2C_GROUP_MAX; i++)
        ck_assert_uint_eq(used(&r[i]), 2);
}
END_TEST

START_TEST(i2c_no_status_byte_or_short_header)
{
    bringup();
    uint64_t hd = dh_alloc(&h, 8, 8);
    memset(dh_ptr(&h, hd, 8), 0, 8);
    struct drv_buf out = {hd, 8};
    /* no writable byte at all */
    ck_assert_int_ge(drv_vq_add(&dq, &out, 1, NULL, 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)hd),
                     0);
    /* a 4-byte header */
    uint64_t h4 = dh_alloc(&h, 4, 8), st = dh_alloc(&h, 1, 1);
    struct drv_buf o4 = {h4, 4}, in = {st, 1};
    ck_assert_int_ge(
        drv_vq_add(&dq, &o4, 1, &in, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)h4),
        0);
    kick();
    struct rq x = {.hdr = hd};
    struct rq y = {.hdr = h4, .st = st};
    ck_assert_uint_eq(used(&x), 0);
    ck_assert_uint_eq(used(&y), 1);
    ck_assert_uint_eq(status(&y), VDM_I2C_MSG_ERR);
    ck_assert_int_eq(bus.ntransfers, 0);
}
END_TEST

/* The header and the data in one descriptor: the host still sees the data
 * only. */
START_TEST(i2c_header_and_data_share_a_span)
{
    bringup();
    uint64_t g = dh_alloc(&h, 11, 8), st = dh_alloc(&h, 1, 1);
    uint8_t *p = dh_ptr(&h, g, 11);
    memcpy(p, "\xa0\x00\x00\x00\x00\x00\x00\x00\x30\x41\x42", 11);
    struct drv_buf o = {g, 11}, in = {st, 1};
    ck_assert_int_ge(
        drv_vq_add(&dq, &o, 1, &in, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)g),
        0);
    kick();
    struct rq x = {.hdr = g, .st = st};
    ck_assert_uint_eq(used(&x), 1);
    ck_assert_uint_eq(status(&x), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(bus.lastlen, 3);
    ck_assert_uint_eq(bus.mem[0x30], 0x41);
    ck_assert_uint_eq(bus.mem[0x31], 0x42);
    /* a read into one span holding data and status */
    uint64_t hd = dh_alloc(&h, 8, 8), rs = dh_alloc(&h, 3, 1);
    memcpy(dh_ptr(&h, hd, 8), "\xa0\x00\x00\x00\x02\x00\x00\x00", 8);
    struct drv_buf o2 = {hd, 8}, in2 = {rs, 3};
    ck_assert_int_ge(
        drv_vq_add(&dq, &o2, 1, &in2, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)hd),
        0);
    bus.ptr = 0x30;
    kick();
    struct rq y = {.hdr = hd, .st = rs + 2};
    ck_assert_uint_eq(used(&y), 3);
    ck_assert_mem_eq(dh_ptr(&h, rs, 3), "\x41\x42\x00", 3);
}
END_TEST

START_TEST(i2c_init_rejects_bad_config)
{
    struct vdm_i2c x;
    struct vdm_dev d;
    struct vdm_i2c_config c = VDM_INIT(struct vdm_i2c_config);
    ck_assert_int_eq(vdm_i2c_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.ops = &bus_ops;
    c.reserved = 1;
    ck_assert_int_eq(vdm_i2c_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.reserved = 0;
    c.size = 4;
    ck_assert_int_eq(vdm_i2c_init(&x, &d, &c, &h.base), VDM_ESIZE);
    c.size = sizeof(c);
    struct vdm_i2c_ops none = {.size = sizeof(none)};
    c.ops = &none;
    ck_assert_int_eq(vdm_i2c_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.ops = &bus_ops;
    struct vdm_dev_config b = h.base;
    b.num_queues = 2;
    ck_assert_int_eq(vdm_i2c_init(&x, &d, &c, &b), VDM_EINVAL);
    ck_assert_int_eq(vdm_i2c_init(NULL, &d, &c, &h.base), VDM_EINVAL);
    ck_assert_ptr_null(vdm_i2c_dev(NULL));
    ck_assert_int_eq(vdm_i2c_complete(NULL, (void *)1, 0), VDM_EINVAL);
}
END_TEST

START_TEST(i2c_indirect_and_packed)
{
    ck_assert_int_eq(dh_bring_up(&h,
                                 VDM_F_VERSION_1 | VDM_F_RING_PACKED |
                                     VDM_I2C_F_ZERO_LENGTH_REQUEST,
                                 1),
                     0);
    uint8_t reg = 0x40;
    struct rq w = post_write(0x50, &reg, 1, 1);
    struct rq r = post_read(0x50, 3, 0);
    kick();
    ck_assert_uint_eq(used(&w), 1);
    ck_assert_uint_eq(used(&r), 4);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r.buf, 1), 0x40 ^ 0xa5);
}
END_TEST

/* A chain with more spans than the device takes (VDM_I2C_IOV_MAX) is still
 * a member of its group: spec "Operation Status" -- it fails with ERR in
 * its status byte (the last byte of the chain, beyond the spans the device
 * holds), and the whole group fails with it; nothing reaches the bus. */
START_TEST(i2c_too_many_spans_fails_its_group)
{
    bringup();
    uint8_t reg = 0x10;
    struct rq w = post_write(0x50, &reg, 1, 1);
    /* a read of 8 bytes in 8 one-byte buffers: header + 8 + status spans */
    struct rq big = {0};
    struct drv_buf out[1], in[9];
    big.hdr = dh_alloc(&h, 8, 8);
    uint8_t *p = dh_ptr(&h, big.hdr, 8);
    memset(p, 0, 8);
    p[0] = (uint8_t)ADDR7(0x50);
    p[4] = (uint8_t)(VDM_I2C_FLAGS_M_RD | VDM_I2C_FLAGS_FAIL_NEXT);
    out[0] = (struct drv_buf){big.hdr, 8};
    for (int i = 0; i < 8; i++)
        in[i] = (struct drv_buf){dh_alloc(&h, 1, 1), 1};
    big.st = dh_alloc(&h, 1, 1);
    *(uint8_t *)dh_ptr(&h, big.st, 1) = 0xee;
    in[8] = (struct drv_buf){big.st, 1};
    ck_assert_int_ge(drv_vq_add(&dq, out, 1, in, 9, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)big.hdr),
                     0);
    struct rq r = post_read(0x50, 4, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 0);
    ck_assert_uint_eq(used(&w), 1);
    ck_assert_uint_eq(status(&w), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&big), 1);
    ck_assert_uint_eq(status(&big), VDM_I2C_MSG_ERR);
    ck_assert_uint_eq(used(&r), 1);
    ck_assert_uint_eq(status(&r), VDM_I2C_MSG_ERR);
    /* the device is fine: the next group goes through */
    struct rq ok = post_read(0x50, 2, 0);
    kick();
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(used(&ok), 3);
    ck_assert_uint_eq(status(&ok), VDM_I2C_MSG_OK);
}
END_TEST

static Suite *i2c_suite(void)
{
    Suite *s = suite_create("i2c");
    TCase *tc = tcase_create("i2c");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, i2c_offers_zero_length_and_refuses_driver_without_it);
    tcase_add_test(tc, i2c_write_read_group_is_one_transfer);
    tcase_add_test(tc, i2c_single_requests_are_separate_transfers);
    tcase_add_test(tc, i2c_zero_length_request);
    tcase_add_test(tc, i2c_failed_message_fails_rest_of_group);
    tcase_add_test(tc, i2c_refused_transfer_fails_group);
    tcase_add_test(tc, i2c_async_one_group_at_a_time_in_order);
    tcase_add_test(tc, i2c_reset_with_group_at_host);
    tcase_add_test(tc, i2c_reset_while_group_collecting);
    tcase_add_test(tc, i2c_ten_bit_address);
    tcase_add_test(tc, i2c_hostile_requests_fail_without_host);
    tcase_add_test(tc, i2c_direction_mismatch);
    tcase_add_test(tc, i2c_bad_member_fails_group);
    tcase_add_test(tc, i2c_group_too_long_fails);
    tcase_add_test(tc, i2c_longest_group_runs);
    tcase_add_test(tc, i2c_no_status_byte_or_short_header);
    tcase_add_test(tc, i2c_header_and_data_share_a_span);
    tcase_add_test(tc, i2c_init_rejects_bad_config);
    tcase_add_test(tc, i2c_indirect_and_packed);
    tcase_add_test(tc, i2c_too_many_spans_fails_its_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(i2c_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
