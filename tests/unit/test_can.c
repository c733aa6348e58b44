/* SPDX-License-Identifier: BSD-3-Clause */
/* CAN device (spec "CAN Device"): configuration layout and feature rules,
 * controller mode (START/STOP on the Controlq), transmission with and
 * without VIRTIO_CAN_F_LATE_TX_ACK, every frame field validated, reception
 * of classic, FD and RTR frames, bus-off indication, reset, and hostile
 * chains. Driven by the driver simulator directly and behind MMIO and
 * PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/can.h"

#define QMAX  32
#define NSLOT 4
#define MAXTX 16

#define ALLF                                                                   \
    (VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD | VDM_CAN_F_RTR_FRAMES |         \
     VDM_CAN_F_LATE_TX_ACK)

/* ------------------------------------------------------------------------ */
/* The host: a bus that records what it was given                          */

struct host {
    struct vdm_can_frame tx[MAXTX];
    uintptr_t token[MAXTX];
    int ntx, nstart, nstop, nrxready;
    int fail_tx, fail_start, fail_stop;
    int done_inside; /* transmit() completes the frame itself */
};

static struct host hs;
static struct dh h;
static struct vdm_can can;
static uint64_t storage[VDM_CAN_STORAGE_BYTES(NSLOT) / 8 + 1];

static int h_tx(void *host, const struct vdm_can_frame *f, uintptr_t token)
{
    struct host *x = host;
    ck_assert_int_lt(x->ntx, MAXTX);
    if (x->fail_tx)
        return x->fail_tx;
    x->tx[x->ntx] = *f;
    x->token[x->ntx] = token;
    x->ntx++;
    if (x->done_inside)
        ck_assert_int_eq(vdm_can_tx_done(&can, token, VDM_CAN_RESULT_OK), 0);
    return 0;
}

static int h_start(void *host)
{
    struct host *x = host;
    x->nstart++;
    return x->fail_start;
}

static int h_stop(void *host)
{
    struct host *x = host;
    x->nstop++;
    return x->fail_stop;
}

static void h_rxready(void *host)
{
    ((struct host *)host)->nrxready++;
}

static const struct vdm_can_ops ops = {
    .size = sizeof(struct vdm_can_ops),
    .transmit = h_tx,
    .start = h_start,
    .stop = h_stop,
    .rx_ready = h_rxready,
};

static struct vdm_can_config cfg(uint64_t features)
{
    struct vdm_can_config c = VDM_INIT(struct vdm_can_config);
    c.tx_slots = NSLOT;
    c.features = features;
    c.ops = &ops;
    c.host = &hs;
    c.storage = storage;
    c.storage_bytes = sizeof(storage);
    return c;
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 3, .qsize = QMAX};

    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_can_config c = cfg(ALLF);
    ck_assert_int_eq(vdm_can_init(&can, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_can_dev(&can), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define txq  (*dh_vq(&h, VDM_CAN_QUEUE_TX))
#define rxq  (*dh_vq(&h, VDM_CAN_QUEUE_RX))
#define ctlq (*dh_vq(&h, VDM_CAN_QUEUE_CONTROL))

static void bringup(uint64_t f)
{
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1 | f, 3), 0);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

/* Take the next used buffer of @p q: it must be @p r; return its len. */
static uint32_t used_on(struct drv_vq *q, uint64_t r)
{
    uint32_t len = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(q, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)r);
    return len;
}

static void none_used(struct drv_vq *q)
{
    ck_assert_int_eq(drv_vq_get_used(q, NULL, NULL, NULL), 0);
}

static uint8_t byte_at(uint64_t g)
{
    return *(uint8_t *)dh_ptr(&h, g, 1);
}

/* Controlq: one request, answered at once; returns the result byte. */
static int ctl(uint32_t type)
{
    uint64_t g = dh_alloc(&h, 2, 2), r = dh_alloc(&h, 1, 1);
    put16(dh_ptr(&h, g, 2), type);
    *(uint8_t *)dh_ptr(&h, r, 1) = 0xee;
    struct drv_buf o = {g, 2}, i = {r, 1};
    ck_assert_int_ge(
        drv_vq_add(&ctlq, &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)r),
        0);
    drv_vq_publish(&ctlq);
    ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_CONTROL, 1), 0);
    ck_assert_uint_eq(used_on(&ctlq, r), 1);
    return byte_at(r);
}

/* A raw tx_out header. */
struct hdr {
    uint16_t type, length;
    uint8_t dlc, padding;
    uint16_t xl;
    uint32_t flags, id;
};

static struct hdr frame(uint32_t id, uint32_t flags, uint16_t len)
{
    struct hdr x = {
        .type = VDM_CAN_MSG_TX, .length = len, .flags = flags, .id = id};
    return x;
}

static uint8_t pay(unsigned k)
{
    return (uint8_t)(k * 13 + 5);
}

/* Post one Txq request: header, @p plen payload bytes (header and payload
 * in one span, or two when @p split), one result byte; kick. Returns the
 * result gpa (the cookie). */
static uint64_t post_tx_n(const struct hdr *x, uint32_t plen, int split,
                          uint32_t rlen)
{
    uint64_t g = dh_alloc(&h, 16 + 64, 8), r = dh_alloc(&h, 8, 8);
    uint8_t *p = dh_ptr(&h, g, 16 + 64);
    p[0] = (uint8_t)x->type;
    p[1] = (uint8_t)(x->type >> 8);
    put16(p + 2, x->length);
    p[4] = x->dlc;
    p[5] = x->padding;
    put16(p + 6, x->xl);
    put32(p + 8, x->flags);
    put32(p + 12, x->id);
    for (unsigned k = 0; k < 64; k++)
        p[16 + k] = pay(k);
    memset(dh_ptr(&h, r, 8), 0xee, 8);
    struct drv_buf o[2] = {{g, 16 + plen}, {g + 16, plen}};
    struct drv_buf i = {r, rlen};
    unsigned no = 1;
    if (split && plen > 0) {
        o[0].len = 16;
        no = 2;
    }
    ck_assert_int_ge(drv_vq_add(&txq, o, no, &i, rlen ? 1 : 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)r),
                     0);
    drv_vq_publish(&txq);
    ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_TX, 1), 0);
    return r;
}

static uint64_t post_tx(const struct hdr *x, uint32_t plen)
{
    return post_tx_n(x, plen, 0, 1);
}

/* Transmit one frame that is answered at once; returns its result. */
static int tx_now(const struct hdr *x, uint32_t plen)
{
    uint64_t r = post_tx(x, plen);
    ck_assert_uint_eq(used_on(&txq, r), 1);
    return byte_at(r);
}

/* Post one Rxq buffer of @p len bytes. */
static uint64_t post_rx(uint32_t len)
{
    uint64_t r = dh_alloc(&h, len, 8);
    memset(dh_ptr(&h, r, len), 0xee, len);
    struct drv_buf i = {r, len};
    ck_assert_int_ge(
        drv_vq_add(&rxq, NULL, 0, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)r),
        0);
    drv_vq_publish(&rxq);
    ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_RX, 1), 0);
    return r;
}

static void check_host_frame(int k, uint32_t id, uint32_t flags, uint16_t len)
{
    const struct vdm_can_frame *f = &hs.tx[k];
    ck_assert_uint_eq(f->can_id, id);
    ck_assert_uint_eq(f->flags, flags);
    ck_assert_uint_eq(f->length, len);
    if (!(flags & VDM_CAN_FLAGS_RTR))
        for (unsigned i = 0; i < len; i++)
            ck_assert_uint_eq(f->data[i], pay(i));
}

/* ------------------------------------------------------------------------ */

/* "Device ID" 36, "Feature bits", "Device configuration layout". */
START_TEST(can_config_layout_and_features)
{
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_CAN);
    ck_assert_uint_eq(f & ALLF, ALLF);
    ck_assert_uint_eq(f & VDM_F_IN_ORDER, 0);
    ck_assert_int_eq(dh_negotiate(&h, VDM_F_VERSION_1 | VDM_CAN_F_CAN_FD), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_CAN_CFG_STATUS, 2), 0);
    ck_assert_int_eq(vdm_can_started(&can), 0);
}
END_TEST

/* "Feature bit requirements": RTR needs CLASSIC; one of CLASSIC/FD. */
START_TEST(can_feature_requirements)
{
    ck_assert_int_lt(dh_negotiate(&h, VDM_F_VERSION_1), 0);
    dh_reset(&h);
    ck_assert_int_lt(dh_negotiate(&h, VDM_F_VERSION_1 | VDM_CAN_F_CAN_FD |
                                          VDM_CAN_F_RTR_FRAMES),
                     0);
    dh_reset(&h);
    ck_assert_int_eq(dh_negotiate(&h, VDM_F_VERSION_1 | VDM_CAN_F_CAN_CLASSIC |
                                          VDM_CAN_F_RTR_FRAMES),
                     0);
}
END_TEST

/* "Initially the CAN controller is in the STOPPED state"; stopped frames
 * are NOT_OK and never transmitted; START/STOP answered in order. */
START_TEST(can_controller_mode)
{
    bringup(VDM_CAN_F_CAN_CLASSIC);
    struct hdr x = frame(0x123, 0, 2);
    ck_assert_int_eq(tx_now(&x, 2), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(hs.ntx, 0);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(hs.nstart, 1);
    ck_assert_int_eq(vdm_can_started(&can), 1);
    ck_assert_int_eq(tx_now(&x, 2), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(hs.ntx, 1);
    check_host_frame(0, 0x123, 0, 2);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_STOP), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(hs.nstop, 1);
    ck_assert_int_eq(tx_now(&x, 2), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(hs.ntx, 1);
    /* the host refuses to start: NOT_OK, still stopped */
    hs.fail_start = VDM_EIO;
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(vdm_can_started(&can), 0);
    /* unknown message, short request: NOT_OK */
    ck_assert_int_eq(ctl(0x0203), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(ctl(0x0001), VDM_CAN_RESULT_NOT_OK);
    uint64_t g = dh_alloc(&h, 2, 2), r = dh_alloc(&h, 1, 1);
    struct drv_buf o = {g, 1}, i = {r, 1};
    ck_assert_int_ge(
        drv_vq_add(&ctlq, &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)r),
        0);
    drv_vq_publish(&ctlq);
    ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_CONTROL, 1), 0);
    ck_assert_uint_eq(used_on(&ctlq, r), 1);
    ck_assert_uint_eq(byte_at(r), VDM_CAN_RESULT_NOT_OK);
}
END_TEST

/* Without LATE_TX_ACK the request may be used once scheduled; the host's
 * later completion is harmless. Classic, extended, two-span chains. */
START_TEST(can_tx_early_ack)
{
    bringup(VDM_CAN_F_CAN_CLASSIC);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr a = frame(0x7ff, 0, 8);
    struct hdr b = frame(0x1fffffff, VDM_CAN_FLAGS_EXTENDED, 3);
    struct hdr z = frame(0, 0, 0);
    ck_assert_int_eq(tx_now(&a, 8), VDM_CAN_RESULT_OK);
    uint64_t r = post_tx_n(&b, 3, 1, 1);
    ck_assert_uint_eq(used_on(&txq, r), 1);
    ck_assert_uint_eq(byte_at(r), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(tx_now(&z, 0), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(hs.ntx, 3);
    check_host_frame(0, 0x7ff, 0, 8);
    check_host_frame(1, 0x1fffffff, VDM_CAN_FLAGS_EXTENDED, 3);
    check_host_frame(2, 0, 0, 0);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[0], VDM_CAN_RESULT_OK),
                     VDM_ENOENT);
    none_used(&txq);
    /* the host refuses a frame: NOT_OK */
    hs.fail_tx = VDM_EIO;
    ck_assert_int_eq(tx_now(&a, 8), VDM_CAN_RESULT_NOT_OK);
}
END_TEST

/* "If feature VIRTIO_CAN_F_CAN_LATE_TX_ACK has been negotiated the
 * transmission request MUST be marked as used ... after the CAN controller
 * acknowledged the successful transmission on the CAN bus." */
START_TEST(can_tx_late_ack)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr a = frame(0x10, 0, 4);
    struct hdr b = frame(0x11, VDM_CAN_FLAGS_FD, 64);
    uint64_t ra = post_tx(&a, 4), rb = post_tx(&b, 64);
    ck_assert_int_eq(hs.ntx, 2);
    none_used(&txq);
    ck_assert_uint_eq(byte_at(ra), 0xee);
    check_host_frame(1, 0x11, VDM_CAN_FLAGS_FD, 64);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[0], VDM_CAN_RESULT_OK), 0);
    ck_assert_uint_eq(used_on(&txq, ra), 1);
    ck_assert_uint_eq(byte_at(ra), VDM_CAN_RESULT_OK);
    none_used(&txq);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[1], VDM_CAN_RESULT_NOT_OK),
                     0);
    ck_assert_uint_eq(used_on(&txq, rb), 1);
    ck_assert_uint_eq(byte_at(rb), VDM_CAN_RESULT_NOT_OK);
    /* repeated, forged, bad result */
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[1], VDM_CAN_RESULT_OK),
                     VDM_ENOENT);
    ck_assert_int_eq(vdm_can_tx_done(&can, 0x12345, VDM_CAN_RESULT_OK),
                     VDM_ENOENT);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[1], 2), VDM_EINVAL);
    none_used(&txq);
    /* completed from inside transmit() */
    hs.done_inside = 1;
    ck_assert_int_eq(tx_now(&a, 4), VDM_CAN_RESULT_OK);
    none_used(&txq);
}
END_TEST

/* Every field of struct virtio_can_tx_out is checked; a bad frame is
 * NOT_OK and never reaches the bus. */
START_TEST(can_tx_fields_validated)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_RTR_FRAMES);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr x;
#define BAD(expr, plen)                                                        \
    do {                                                                       \
        x = frame(0x100, 0, 8);                                                \
        expr;                                                                  \
        ck_assert_int_eq(tx_now(&x, plen), VDM_CAN_RESULT_NOT_OK);             \
    } while (0)
    BAD(x.type = VDM_CAN_MSG_RX, 8);
    BAD(x.type = 0, 8);
    BAD(x.flags = 0x1, 8);              /* undefined flag */
    BAD(x.flags = 0x80000000, 8);       /* undefined flag */
    BAD(x.flags = VDM_CAN_FLAGS_FD, 8); /* FD not negotiated */
    BAD(x.flags = VDM_CAN_FLAGS_FD | VDM_CAN_FLAGS_RTR, 0);
    BAD(x.id = 0x800, 8); /* 11 bits */
    BAD((x.id = 0x20000000, x.flags = VDM_CAN_FLAGS_EXTENDED), 8);
    BAD(x.id = 0x80000100, 8); /* "3 most significant bits ... are 0" */
    BAD(x.length = 9, 9);
    BAD(x.length = 0xffff, 64);
    BAD(x.padding = 1, 8);
    BAD(x.xl = 1, 8);
    BAD((x.length = 7, x.dlc = 9), 7); /* DLC only with length 8 */
    BAD(x.dlc = 16, 8);
    BAD(x.dlc = 3, 8);
    BAD(, 7); /* payload shorter than length */
    ck_assert_int_eq(hs.ntx, 0);
    /* header short; no writable byte at all */
    x = frame(0x100, 0, 0);
    uint64_t r = post_tx_n(&x, 0, 0, 1);
    ck_assert_uint_eq(used_on(&txq, r), 1);
    {
        uint64_t g = dh_alloc(&h, 16, 8), rr = dh_alloc(&h, 1, 1);
        struct drv_buf o = {g, 15}, i = {rr, 1};
        memset(dh_ptr(&h, g, 16), 0, 16);
        ck_assert_int_ge(drv_vq_add(&txq, &o, 1, &i, 1, DRV_ADD_DIRECT,
                                    (void *)(uintptr_t)rr),
                         0);
        drv_vq_publish(&txq);
        ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_TX, 1), 0);
        ck_assert_uint_eq(used_on(&txq, rr), 1);
        ck_assert_uint_eq(byte_at(rr), VDM_CAN_RESULT_NOT_OK);
    }
    r = post_tx_n(&x, 0, 0, 0);
    ck_assert_uint_eq(used_on(&txq, r), 0);
    ck_assert_int_eq(hs.ntx, 1);
    /* valid edge cases: DLC 15 with length 8; RTR with length 8 and no
     * payload bytes; extended id 0 */
    x = frame(0x100, 0, 8);
    x.dlc = 15;
    ck_assert_int_eq(tx_now(&x, 8), VDM_CAN_RESULT_OK);
    ck_assert_uint_eq(hs.tx[1].dlc, 15);
    x = frame(0x101, VDM_CAN_FLAGS_RTR, 8);
    ck_assert_int_eq(tx_now(&x, 0), VDM_CAN_RESULT_OK);
    check_host_frame(2, 0x101, VDM_CAN_FLAGS_RTR, 8);
    x = frame(0, VDM_CAN_FLAGS_EXTENDED | VDM_CAN_FLAGS_RTR, 0);
    ck_assert_int_eq(tx_now(&x, 0), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(hs.ntx, 4);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_ge(h.nwarn, 1));
#undef BAD
}
END_TEST

/* FD lengths: only those a DLC encodes; RTR not negotiated. */
START_TEST(can_fd_lengths)
{
    static const uint16_t ok[] = {0, 1, 8, 12, 16, 20, 24, 32, 48, 64};
    static const uint16_t bad[] = {9, 10, 13, 25, 33, 49, 63, 65, 2048};
    bringup(VDM_CAN_F_CAN_FD);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    for (unsigned k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
        struct hdr x = frame(k, VDM_CAN_FLAGS_FD, ok[k]);
        ck_assert_int_eq(tx_now(&x, ok[k]), VDM_CAN_RESULT_OK);
    }
    for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct hdr x = frame(k, VDM_CAN_FLAGS_FD, bad[k]);
        ck_assert_int_eq(tx_now(&x, 64), VDM_CAN_RESULT_NOT_OK);
    }
    /* classic not negotiated; RTR not negotiated */
    struct hdr c = frame(1, 0, 1);
    ck_assert_int_eq(tx_now(&c, 1), VDM_CAN_RESULT_NOT_OK);
    c = frame(1, VDM_CAN_FLAGS_RTR, 1);
    ck_assert_int_eq(tx_now(&c, 0), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(hs.ntx, (int)(sizeof(ok) / sizeof(ok[0])));
}
END_TEST

/* "On transition to the STOPPED state the device cancels all CAN messages
 * already pending for transmission and marks them as used with result
 * VIRTIO_CAN_RESULT_NOT_OK." */
START_TEST(can_stop_cancels_pending)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr a = frame(1, 0, 1);
    uint64_t r0 = post_tx(&a, 1), r1 = post_tx(&a, 1);
    none_used(&txq);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_STOP), VDM_CAN_RESULT_OK);
    uint32_t len;
    void *ck;
    int seen = 0;
    while (drv_vq_get_used(&txq, NULL, &len, &ck) == 1) {
        ck_assert(ck == (void *)(uintptr_t)r0 || ck == (void *)(uintptr_t)r1);
        ck_assert_uint_eq(len, 1);
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    ck_assert_uint_eq(byte_at(r0), VDM_CAN_RESULT_NOT_OK);
    ck_assert_uint_eq(byte_at(r1), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[0], VDM_CAN_RESULT_OK),
                     VDM_ENOENT);
    none_used(&txq);
}
END_TEST

/* More frames than slots: the rest wait in the ring, nothing lost, host
 * order is ring order. */
START_TEST(can_tx_flood_waits_for_slots)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    uint64_t r[12];
    for (int k = 0; k < 12; k++) {
        struct hdr x = frame((uint32_t)k, 0, 1);
        r[k] = post_tx(&x, 1);
    }
    ck_assert_int_eq(hs.ntx, NSLOT);
    for (int k = 0; k < 12; k++) {
        ck_assert_int_lt(k, hs.ntx);
        ck_assert_uint_eq(hs.tx[k].can_id, (uint32_t)k);
        ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[k], VDM_CAN_RESULT_OK),
                         0);
        ck_assert_uint_eq(used_on(&txq, r[k]), 1);
        dh_service(&h);
    }
    ck_assert_int_eq(hs.ntx, 12);
}
END_TEST

/* "CAN Message Reception": classic, FD, RTR frames bit-exact. */
START_TEST(can_rx_frames)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD | VDM_CAN_F_RTR_FRAMES);
    struct vdm_can_frame f = {.can_id = 0x1abcdef0 >> 3,
                              .flags =
                                  VDM_CAN_FLAGS_EXTENDED | VDM_CAN_FLAGS_FD,
                              .length = 48};
    for (unsigned k = 0; k < 64; k++)
        f.data[k] = pay(k);
    ck_assert_int_eq(vdm_can_receive(&can, &f), VDM_ESTATE); /* stopped */
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(vdm_can_receive(&can, &f), 0); /* no buffer */
    int before = hs.nrxready;
    uint64_t b0 = post_rx(16 + 64), b1 = post_rx(16 + 64), b2 = post_rx(16 + 8);
    ck_assert_int_gt(hs.nrxready, before);
    ck_assert_int_eq(vdm_can_receive(&can, &f), 1);
    ck_assert_uint_eq(used_on(&rxq, b0), 16 + 48);
    const uint8_t *p = dh_ptr(&h, b0, 16 + 64);
    static const uint8_t hdr0[16] = {0x01, 0x01, 48, 0, 0,    0,    0,    0,
                                     0x00, 0xc0, 0,  0, 0xde, 0x9b, 0x57, 0x03};
    ck_assert_mem_eq(p, hdr0, 16);
    ck_assert_mem_eq(p + 16, f.data, 48);
    ck_assert_uint_eq(p[16 + 48], 0xee); /* nothing beyond */
    /* RTR: no payload; classic DLC 12 */
    struct vdm_can_frame r = {
        .can_id = 0x7ff, .flags = VDM_CAN_FLAGS_RTR, .length = 8};
    ck_assert_int_eq(vdm_can_receive(&can, &r), 1);
    ck_assert_uint_eq(used_on(&rxq, b1), 16);
    p = dh_ptr(&h, b1, 17);
    ck_assert_uint_eq(p[8], 0x00);
    ck_assert_uint_eq(p[9], 0x20);
    ck_assert_uint_eq(p[2], 8);
    ck_assert_uint_eq(p[16], 0xee);
    struct vdm_can_frame c = {.can_id = 5, .length = 8, .dlc = 12};
    memcpy(c.data, "ABCDEFGH", 8);
    ck_assert_int_eq(vdm_can_receive(&can, &c), 1);
    ck_assert_uint_eq(used_on(&rxq, b2), 24);
    p = dh_ptr(&h, b2, 24);
    ck_assert_uint_eq(p[4], 12);
    ck_assert_mem_eq(p + 16, "ABCDEFGH", 8);
    /* host frames out of range */
    post_rx(16 + 64);
    c.dlc = 7;
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_EINVAL);
    c.dlc = 0;
    c.can_id = 0x800;
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_EINVAL);
    c.can_id = 1;
    c.flags = 0x10;
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_ENOTSUP);
    c.flags = VDM_CAN_FLAGS_FD;
    c.length = 9;
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_EINVAL);
    c.flags = VDM_CAN_FLAGS_FD | VDM_CAN_FLAGS_RTR;
    c.length = 8;
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_ENOTSUP);
    ck_assert_int_eq(vdm_can_receive(&can, NULL), VDM_EINVAL);
    none_used(&rxq);
}
END_TEST

/* A classic-only driver gets no FD frames; a buffer too small for a frame
 * is returned empty. */
START_TEST(can_rx_negotiation_and_small_buffers)
{
    bringup(VDM_CAN_F_CAN_CLASSIC);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct vdm_can_frame fd = {
        .can_id = 1, .flags = VDM_CAN_FLAGS_FD, .length = 12};
    struct vdm_can_frame rtr = {.can_id = 1, .flags = VDM_CAN_FLAGS_RTR};
    struct vdm_can_frame c = {.can_id = 1, .length = 8};
    uint64_t b = post_rx(16 + 4);
    ck_assert_int_eq(vdm_can_receive(&can, &fd), VDM_ENOTSUP);
    ck_assert_int_eq(vdm_can_receive(&can, &rtr), VDM_ENOTSUP);
    none_used(&rxq);
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_ENOSPC);
    ck_assert_uint_eq(used_on(&rxq, b), 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
}
END_TEST

/* "BusOff Indication": status bit, STOPPED, pending frames NOT_OK, config
 * change notice; START clears the bit. */
START_TEST(can_bus_off)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(vdm_can_bus_off(&can), VDM_ESTATE);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr a = frame(1, 0, 1);
    uint64_t r0 = post_tx(&a, 1);
    unsigned irq = h.irq_config;
    ck_assert_int_eq(vdm_can_bus_off(&can), 1);
    ck_assert_uint_eq(h.irq_config, irq + 1);
    ck_assert_uint_eq(dh_config(&h, VDM_CAN_CFG_STATUS, 2),
                      VDM_CAN_S_CTRL_BUSOFF);
    ck_assert_uint_eq(used_on(&txq, r0), 1);
    ck_assert_uint_eq(byte_at(r0), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(vdm_can_started(&can), 0);
    ck_assert_int_eq(tx_now(&a, 1), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(hs.ntx, 1);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    ck_assert_uint_eq(dh_config(&h, VDM_CAN_CFG_STATUS, 2), 0);
    post_tx(&a, 1);
    ck_assert_int_eq(hs.ntx, 2); /* on the bus again */
}
END_TEST

/* Reset: frames at the host are dropped (no guest access, no interrupt),
 * the host is stopped, the controller is STOPPED again. */
START_TEST(can_reset_drops_pending)
{
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    struct hdr a = frame(1, 0, 1);
    uint64_t r0 = post_tx(&a, 1);
    dh_reset(&h);
    ck_assert_int_eq(hs.nstop, 1);
    ck_assert_int_eq(vdm_can_started(&can), 0);
    ck_assert_int_eq(vdm_can_tx_done(&can, hs.token[0], VDM_CAN_RESULT_OK),
                     VDM_ENOENT);
    ck_assert_uint_eq(byte_at(r0), 0xee);
    bringup(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK);
    ck_assert_int_eq(vdm_can_started(&can), 0);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    /* every slot is free again */
    for (int k = 0; k < NSLOT; k++)
        post_tx(&a, 1);
    ck_assert_int_eq(hs.ntx, 1 + NSLOT);
}
END_TEST

/* A Txq chain with more spans than a slot holds is answered NOT_OK by the
 * kit; a readable-only Rxq buffer is returned empty. */
START_TEST(can_hostile_chains)
{
    bringup(VDM_CAN_F_CAN_CLASSIC);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    uint64_t g = dh_alloc(&h, 64, 8), r = dh_alloc(&h, 1, 1);
    uint8_t *p = dh_ptr(&h, g, 64);
    memset(p, 0, 64);
    p[0] = 1;
    p[2] = 8;
    struct drv_buf o[VDM_CAN_IOV_MAX + 2];
    for (unsigned k = 0; k < VDM_CAN_IOV_MAX + 1; k++)
        o[k] = (struct drv_buf){g + (uint64_t)k * 2, 2};
    o[VDM_CAN_IOV_MAX + 1] = (struct drv_buf){r, 1};
    *(uint8_t *)dh_ptr(&h, r, 1) = 0xee;
    ck_assert_int_ge(drv_vq_add(&txq, o, VDM_CAN_IOV_MAX + 1,
                                &o[VDM_CAN_IOV_MAX + 1], 1, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)r),
                     0);
    drv_vq_publish(&txq);
    ck_assert_int_ge(dh_kick(&h, VDM_CAN_QUEUE_TX, 1), 0);
    ck_assert_uint_eq(used_on(&txq, r), 1);
    ck_assert_uint_eq(byte_at(r), VDM_CAN_RESULT_NOT_OK);
    ck_assert_int_eq(hs.ntx, 0);
    /* a readable buffer on the Rxq */
    struct drv_buf ro = {g, 16};
    ck_assert_int_ge(
        drv_vq_add(&rxq, &ro, 1, NULL, 0, DRV_ADD_DIRECT, (void *)(uintptr_t)g),
        0);
    drv_vq_publish(&rxq);
    struct vdm_can_frame c = {.can_id = 1, .length = 1};
    ck_assert_int_eq(vdm_can_receive(&can, &c), VDM_ENOSPC);
    ck_assert_uint_eq(used_on(&rxq, g), 0);
    ck_assert_uint_eq(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(can_init_rejects_bad_configs)
{
    struct vdm_can_config c;
    struct vdm_can_ops o = ops;
#define REJ(expr, want)                                                        \
    do {                                                                       \
        c = cfg(ALLF);                                                         \
        expr;                                                                  \
        ck_assert_int_eq(vdm_can_init(&can, &h.dev, &c, &h.base), want);       \
    } while (0)
    REJ(c.features = 0, VDM_EINVAL);
    REJ(c.features = VDM_CAN_F_LATE_TX_ACK, VDM_EINVAL);
    REJ(c.features = VDM_CAN_F_CAN_FD | VDM_CAN_F_RTR_FRAMES, VDM_EINVAL);
    REJ(c.features = VDM_CAN_F_CAN_FD | (1ull << 4), VDM_EINVAL);
    REJ(c.tx_slots = 0, VDM_EINVAL);
    REJ(c.tx_slots = VDM_CAN_MAX_TX_SLOTS + 1, VDM_EINVAL);
    REJ(c.storage_bytes = VDM_CAN_STORAGE_BYTES(NSLOT) - 1, VDM_EINVAL);
    REJ(c.storage = (uint8_t *)storage + 4, VDM_EINVAL);
    REJ(c.storage = NULL, VDM_EINVAL);
    REJ(c.ops = NULL, VDM_EINVAL);
    REJ(c.size = 8, VDM_ESIZE);
    o.transmit = NULL;
    REJ(c.ops = &o, VDM_EINVAL);
    o.size = 4;
    REJ(c.ops = &o, VDM_ESIZE);
    ck_assert_int_eq(vdm_can_init(NULL, &h.dev, &c, &h.base), VDM_EINVAL);
    ck_assert_int_eq(vdm_can_started(NULL), VDM_EINVAL);
    ck_assert_ptr_null(vdm_can_dev(NULL));
    ck_assert_int_eq(vdm_can_bus_off(NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_can_tx_done(NULL, 1, 0), VDM_EINVAL);
    /* classic-only device without the optional hooks */
    static const struct vdm_can_ops min = {.size = sizeof(struct vdm_can_ops),
                                           .transmit = h_tx};
    c = cfg(VDM_CAN_F_CAN_CLASSIC);
    c.ops = &min;
    ck_assert_int_eq(vdm_can_init(&can, &h.dev, &c, &h.base), 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & ALLF,
                      VDM_CAN_F_CAN_CLASSIC);
    bringup(VDM_CAN_F_CAN_CLASSIC);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_START), VDM_CAN_RESULT_OK);
    ck_assert_int_eq(ctl(VDM_CAN_SET_CTRL_MODE_STOP), VDM_CAN_RESULT_OK);
#undef REJ
}
END_TEST

static Suite *can_suite(void)
{
    Suite *s = suite_create("can");
    TCase *tc = tcase_create("can");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, can_config_layout_and_features);
    tcase_add_test(tc, can_feature_requirements);
    tcase_add_test(tc, can_controller_mode);
    tcase_add_test(tc, can_tx_early_ack);
    tcase_add_test(tc, can_tx_late_ack);
    tcase_add_test(tc, can_tx_fields_validated);
    tcase_add_test(tc, can_fd_lengths);
    tcase_add_test(tc, can_stop_cancels_pending);
    tcase_add_test(tc, can_tx_flood_waits_for_slots);
    tcase_add_test(tc, can_rx_frames);
    tcase_add_test(tc, can_rx_negotiation_and_small_buffers);
    tcase_add_test(tc, can_bus_off);
    tcase_add_test(tc, can_reset_drops_pending);
    tcase_add_test(tc, can_hostile_chains);
    tcase_add_test(tc, can_init_rejects_bad_configs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(can_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
