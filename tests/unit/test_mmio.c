/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-mmio transport: the register file (every register, right and
 * wrong widths and directions), bring-up and reset sequences, interrupts,
 * NOTIFICATION_DATA, shared memory registers, a hostile suite, and the
 * transport-independent scenarios of tp_bench.h through MMIO registers. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drv_mmio.h"
#include "profile.h"
#include "tp_bench.h"
#include "vdm/mmio.h"

#define NQ   3
#define QMAX 64

static struct tpb b;
static struct drv_mmio m;

static void setup_with(const struct vdm_mmio_config *cfg)
{
    ck_assert_int_eq(tpb_init(&b, NQ, QMAX, VDM_F_RING_ALL), 0);
    ck_assert_int_eq(drv_mmio_init(&m, &b.h.dev, cfg), 0);
    b.tp = &m.tp;
}

static void setup(void)
{
    setup_with(NULL);
}

static void teardown(void)
{
    tpb_fini(&b);
}

static int rd(uint64_t off, uint32_t width, uint64_t *v)
{
    return vdm_mmio_read(&m.t, off, width, v);
}

static int wr(uint64_t off, uint32_t width, uint64_t v)
{
    return vdm_mmio_write(&m.t, off, width, v);
}

static uint32_t rd32(uint64_t off)
{
    uint64_t v = 0xdead;
    ck_assert_int_eq(rd(off, 4, &v), 0);
    return (uint32_t)v;
}

static void wr32(uint64_t off, uint32_t v)
{
    ck_assert_int_eq(wr(off, 4, v), 0);
}

/* Up to FEATURES_OK with @p f (VERSION_1 added). */
static void negotiate(uint64_t f)
{
    ck_assert_int_eq(drv_tp_negotiate(&m.tp, f), 0);
}

/* ------------------------------------------------------------------------ */
/* Register file */

/* Every register of "MMIO Device Register Layout" with its direction. */
struct reg {
    uint32_t off;
    int r, w;
};

static const struct reg regs[] = {
    {0x000, 1, 0}, {0x004, 1, 0}, {0x008, 1, 0}, {0x00c, 1, 0}, {0x010, 1, 0},
    {0x014, 0, 1}, {0x020, 0, 1}, {0x024, 0, 1}, {0x030, 0, 1}, {0x034, 1, 0},
    {0x038, 0, 1}, {0x044, 1, 1}, {0x050, 0, 1}, {0x060, 1, 0}, {0x064, 0, 1},
    {0x070, 1, 1}, {0x080, 0, 1}, {0x084, 0, 1}, {0x090, 0, 1}, {0x094, 0, 1},
    {0x0a0, 0, 1}, {0x0a4, 0, 1}, {0x0ac, 0, 1}, {0x0b0, 1, 0}, {0x0b4, 1, 0},
    {0x0b8, 1, 0}, {0x0bc, 1, 0}, {0x0c0, 1, 1}, {0x0fc, 1, 0},
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static const struct reg *find_reg(uint32_t off)
{
    for (unsigned i = 0; i < NREGS; i++)
        if (regs[i].off == off)
            return &regs[i];
    return NULL;
}

START_TEST(test_mmio_identity)
{
    ck_assert_uint_eq(rd32(VDM_MMIO_MAGIC_VALUE), 0x74726976u);
    ck_assert_uint_eq(rd32(VDM_MMIO_VERSION_REG), 2);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_ID), ECHO_DEVICE_ID);
    ck_assert_uint_eq(rd32(VDM_MMIO_VENDOR_ID), VDM_MMIO_VENDOR_DEFAULT);
    ck_assert_int_eq(drv_mmio_probe(&m), (int)ECHO_DEVICE_ID);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 0);
    ck_assert_uint_eq(vdm_mmio_window_size(&m.t), 0x200);
    ck_assert_uint_eq(vdm_mmio_interrupt_status(&m.t), 0);
}
END_TEST

START_TEST(test_mmio_vendor_config)
{
    struct vdm_mmio_config c = VDM_INIT(struct vdm_mmio_config);
    teardown();
    c.vendor_id = 0x12345678;
    setup_with(&c);
    ck_assert_uint_eq(rd32(VDM_MMIO_VENDOR_ID), 0x12345678u);
}
END_TEST

/* Readable registers with the right width succeed; writes to read-only
 * ones and reads of write-only ones are refused with VDM_ENOTSUP. */
START_TEST(test_mmio_directions)
{
    for (unsigned i = 0; i < NREGS; i++) {
        uint64_t v = 0x77;
        int rc = rd(regs[i].off, 4, &v);
        if (regs[i].r) {
            ck_assert_msg(rc == 0, "read of 0x%x: %d", regs[i].off, rc);
        } else {
            ck_assert_msg(rc == VDM_ENOTSUP, "read of 0x%x: %d", regs[i].off,
                          rc);
            ck_assert_uint_eq(v, 0);
        }
        if (!regs[i].w) {
            ck_assert_int_eq(wr(regs[i].off, 4, 0xffffffffu), VDM_ENOTSUP);
        }
    }
    /* Read-only values did not change. */
    ck_assert_uint_eq(rd32(VDM_MMIO_MAGIC_VALUE), 0x74726976u);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_ID), ECHO_DEVICE_ID);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 0);
    /* Reserved offsets are neither readable nor writable. */
    for (uint32_t off = 0; off < 0x100; off += 4) {
        uint64_t v;
        if (find_reg(off) != NULL)
            continue;
        ck_assert_int_eq(rd(off, 4, &v), VDM_ENOTSUP);
        ck_assert_int_eq(wr(off, 4, 1), VDM_ENOTSUP);
    }
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(m.tp.nwarn, 0));
}
END_TEST

/* Control registers take only 32-bit aligned accesses; anything else is
 * ignored, logged and reported, never fatal. */
START_TEST(test_mmio_wrong_widths)
{
    static const uint32_t widths[] = {0, 1, 2, 3, 5, 8, 16};
    negotiate(0);
    for (uint32_t off = 0; off < 0x100; off++) {
        for (unsigned w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
            uint64_t v = 0x55;
            unsigned nw = m.tp.nwarn;
            ck_assert_int_eq(rd(off, widths[w], &v), VDM_EINVAL);
            ck_assert_uint_eq(v, 0);
            ck_assert_int_eq(wr(off, widths[w], 0), VDM_EINVAL);
            UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(m.tp.nwarn, nw + 2));
        }
        if ((off & 3u) != 0) {
            uint64_t v = 1;
            ck_assert_int_eq(rd(off, 4, &v), VDM_EINVAL);
            ck_assert_uint_eq(v, 0);
            ck_assert_int_eq(wr(off, 4, 0), VDM_EINVAL);
        }
    }
    /* None of it touched the device: a byte write of 0 to Status did not
     * reset it. */
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert(m.tp.last_log != NULL || m.tp.last_event != 0));
    ck_assert_int_eq(vdm_mmio_read(&m.t, 0, 4, NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_mmio_read(NULL, 0, 4, NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_mmio_write(NULL, 0, 4, 0), VDM_EINVAL);
}
END_TEST

START_TEST(test_mmio_features)
{
    uint64_t offered = vdm_dev_device_features(&b.h.dev);
    ck_assert_uint_ne(offered & VDM_F_VERSION_1, 0);
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES), (uint32_t)offered);
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES),
                      (uint32_t)(offered >> 32));
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 2);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES), 0);
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 0xffffffffu);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES), 0);

    /* Driver features before DRIVER: refused by the device core. */
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    ck_assert_int_eq(wr(VDM_MMIO_DRIVER_FEATURES, 4, 1), VDM_ESTATE);
    wr32(VDM_MMIO_STATUS, 1);
    wr32(VDM_MMIO_STATUS, 3);
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    wr32(VDM_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    wr32(VDM_MMIO_DRIVER_FEATURES, (uint32_t)ECHO_F_A);
    ck_assert_uint_eq(vdm_dev_driver_features(&b.h.dev),
                      VDM_F_VERSION_1 | ECHO_F_A);
    /* A third word: zero accepted, bits refused. */
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 2);
    ck_assert_int_eq(wr(VDM_MMIO_DRIVER_FEATURES, 4, 0), 0);
    ck_assert_int_eq(wr(VDM_MMIO_DRIVER_FEATURES, 4, 1), VDM_EINVAL);
    ck_assert_uint_eq(vdm_dev_driver_features(&b.h.dev),
                      VDM_F_VERSION_1 | ECHO_F_A);
    wr32(VDM_MMIO_STATUS, 0x0b);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
    ck_assert_uint_eq(vdm_dev_features(&b.h.dev), VDM_F_VERSION_1 | ECHO_F_A);
    /* After FEATURES_OK the features are frozen. */
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    ck_assert_int_eq(wr(VDM_MMIO_DRIVER_FEATURES, 4, 3), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_features(&b.h.dev), VDM_F_VERSION_1 | ECHO_F_A);
}
END_TEST

/* Regression (issue 10, bug 3): spec "Feature Bits": the device MUST NOT
 * accept a feature it did not offer, so FEATURES_OK stays clear ("Device
 * Initialization"); "Virtio Over MMIO / Features reserved for future use":
 * ADMIN_VQ is not supported over MMIO. The transport used to strip the bit
 * from the driver's features and accept FEATURES_OK, so the driver
 * believed ADMIN_VQ negotiated. */
START_TEST(test_mmio_features_ok_refuses_unoffered)
{
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES) & (1u << (41 - 32)), 0);
    wr32(VDM_MMIO_STATUS, 1);
    wr32(VDM_MMIO_STATUS, 3);
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    wr32(VDM_MMIO_DRIVER_FEATURES, 1u | (1u << (41 - 32)));
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 0x0b), VDM_ESTATE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 3);
    ck_assert_uint_eq(vdm_dev_features(&b.h.dev), 0);
    /* Any other bit not offered (SR_IOV, a device-type bit) likewise. */
    wr32(VDM_MMIO_DRIVER_FEATURES, 1u | (1u << (37 - 32)));
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 0x0b), VDM_ESTATE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 3);
    wr32(VDM_MMIO_DRIVER_FEATURES, 1u);
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    wr32(VDM_MMIO_DRIVER_FEATURES, 1u << 7);
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 0x0b), VDM_ESTATE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 3);
    /* The driver drops the bit and negotiation succeeds. */
    wr32(VDM_MMIO_DRIVER_FEATURES, 0);
    wr32(VDM_MMIO_STATUS, 0x0b);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
    ck_assert_uint_eq(vdm_dev_features(&b.h.dev), VDM_F_VERSION_1);
}
END_TEST

START_TEST(test_mmio_queue_registers)
{
    uint64_t d, r, e;

    negotiate(0);
    /* Out-of-range selections: QueueSizeMax 0, QueueReady 0, writes refused. */
    for (uint32_t sel = NQ; sel < 0x20000; sel = sel * 3 + 1) {
        wr32(VDM_MMIO_QUEUE_SEL, sel);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 0);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_RESET), 0);
        ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, 8), VDM_ERANGE);
        ck_assert_int_eq(wr(VDM_MMIO_QUEUE_DESC_LOW, 4, 0x1000), VDM_ERANGE);
        ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 1), VDM_ERANGE);
        ck_assert_int_eq(wr(VDM_MMIO_QUEUE_RESET, 4, 1), VDM_ERANGE);
    }
    for (uint16_t q = 0; q < NQ; q++) {
        wr32(VDM_MMIO_QUEUE_SEL, q);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), QMAX);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    }
    /* Each half of each address goes where it belongs. */
    wr32(VDM_MMIO_QUEUE_SEL, 1);
    wr32(VDM_MMIO_QUEUE_SIZE, 16);
    wr32(VDM_MMIO_QUEUE_DESC_LOW, 0x11110000u);
    wr32(VDM_MMIO_QUEUE_DESC_HIGH, 0x1u);
    wr32(VDM_MMIO_QUEUE_DRIVER_LOW, 0x22220000u);
    wr32(VDM_MMIO_QUEUE_DRIVER_HIGH, 0x2u);
    wr32(VDM_MMIO_QUEUE_DEVICE_LOW, 0x33330000u);
    wr32(VDM_MMIO_QUEUE_DEVICE_HIGH, 0x3u);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b.h.dev, 1, &d, &r, &e), 0);
    ck_assert_uint_eq(d, 0x111110000ull);
    ck_assert_uint_eq(r, 0x222220000ull);
    ck_assert_uint_eq(e, 0x333330000ull);
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 1), 16);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b.h.dev, 0, &d, &r, &e), 0);
    ck_assert_uint_eq(d | r | e, 0);
    /* Sizes the device refuses. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, QMAX + 1), VDM_EINVAL);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, 0x10010), VDM_EINVAL);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, 0), VDM_EINVAL);
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 1), 16);
    /* QueueReady values other than 0 and 1. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 2), VDM_EINVAL);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 0), 0);
    /* A ring outside guest memory: enabling puts the device in NEEDS_RESET. */
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_READY, 4, 1), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_uint_ne(rd32(VDM_MMIO_STATUS) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(test_mmio_queue_write_while_ready)
{
    uint64_t d0, d;
    negotiate(0);
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 0, &b.vq[0], &b.h.g, 32), 0);
    b.live[0] = 1;
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b.h.dev, 0, &d0, NULL, NULL), 0);
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, 16), VDM_ESTATE);
    for (uint32_t off = VDM_MMIO_QUEUE_DESC_LOW;
         off <= VDM_MMIO_QUEUE_DEVICE_HIGH; off += 4) {
        if ((off & 0xfu) >= 8)
            continue;
        ck_assert_int_eq(wr(off, 4, 0x4000), VDM_ESTATE);
    }
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b.h.dev, 0, &d, NULL, NULL), 0);
    ck_assert_uint_eq(d, d0);
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 0), 32);
    /* Writing 1 again is harmless. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 1), 0);
    /* QueueReset needs RING_RESET: refused, still ready. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_RESET, 4, 1), VDM_ENOTSUP);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 1);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_RESET, 4, 2), VDM_EINVAL);
    /* QueueReady 0 stops the queue whatever the features (see
     * test_mmio_queue_ready_zero_stops_queue). */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 0), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
}
END_TEST

/* Regression (issue 10, bug 2): spec "MMIO Device Register Layout":
 * QueueReady "returns the last value written to it"; "to stop using the
 * queue the driver MUST write zero (0x0) to QueueReady and MUST read the
 * value back"; "the device MUST NOT access virtqueue contents when
 * QueueReady is zero". Linux vm_del_vq() and vm_setup_vq()'s error path do
 * this without RING_RESET, before and after DRIVER_OK, WARN_ON a non-zero
 * read-back and free the ring. Only re-enabling after DRIVER_OK needs
 * RING_RESET ("Virtqueue Reset"). */
START_TEST(test_mmio_queue_ready_zero_stops_queue)
{
    uint32_t n = 0;
    /* Before DRIVER_OK (vm_setup_vq() error path, probe failure). */
    negotiate(0);
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 0, &b.vq[0], &b.h.g, 32), 0);
    b.live[0] = 1;
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 1);
    wr32(VDM_MMIO_QUEUE_READY, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_uint_eq(b.echo.queue_resets, 1);
    ck_assert_int_eq(vdm_dev_queue_enabled(&b.h.dev, 0), 0);
    /* The driver frees the ring, sets the queue up again and goes live. */
    drv_vq_fini(&b.vq[0]);
    b.live[0] = 0;
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 0, &b.vq[0], &b.h.g, 16), 0);
    b.live[0] = 1;
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 1, &b.vq[1], &b.h.g, 16), 0);
    b.live[1] = 1;
    ck_assert_int_eq(drv_tp_driver_ok(&m.tp), 0);
    tpb_echo(&b, 0, 20, DRV_ADD_DIRECT);
    /* After DRIVER_OK, without RING_RESET (vm_del_vq() on driver removal). */
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    wr32(VDM_MMIO_QUEUE_READY, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_uint_eq(b.echo.queue_resets, 2);
    ck_assert_ptr_null(vdm_dev_queue(&b.h.dev, 0));
    /* The ring is not touched any more: a posted buffer stays unused. */
    uint64_t out = drv_alloc(&b.h.g, 16, 16);
    struct drv_buf ob = {out, 4};
    unsigned chains = b.echo.chains;
    ck_assert_int_ge(
        drv_vq_add(&b.vq[0], &ob, 1, NULL, 0, DRV_ADD_DIRECT, NULL), 0);
    drv_vq_publish(&b.vq[0]);
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0), 0);
    ck_assert_uint_eq(b.echo.chains, chains);
    ck_assert_int_eq(drv_vq_get_used(&b.vq[0], NULL, &n, NULL), 0);
    /* Re-enabling after DRIVER_OK needs RING_RESET: refused, still 0. */
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_READY, 4, 1), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    /* Other queues are not affected, and the device does not need reset. */
    tpb_echo(&b, 1, 8, DRV_ADD_DIRECT);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(test_mmio_queue_ready_zero_ring_reset)
{
    UT_NEEDS(VDM_F_RING_RESET);
    ck_assert_int_eq(tpb_bring_up(&b, DRV_F_RING_RESET, 1, 16), 0);
    tpb_echo(&b, 0, 20, DRV_ADD_DIRECT);
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    /* With RING_RESET, QueueReady 0 stops the queue (a queue reset). */
    wr32(VDM_MMIO_QUEUE_READY, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_uint_eq(b.echo.queue_resets, 1);
    /* Its registers are writable again and it can come back. */
    drv_vq_fini(&b.vq[0]);
    b.live[0] = 0;
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 0, &b.vq[0], &b.h.g, 32), 0);
    b.live[0] = 1;
    tpb_echo(&b, 0, 21, DRV_ADD_DIRECT);
    ck_assert_uint_eq(m.tp.refused, 0);
}
END_TEST

/* Regression (issue 10, bug 4): spec "Split Virtqueues": the queue size is
 * a power of 2; Linux vm_setup_vq() takes QueueSizeMax as the ring size and
 * fails probe ("Bad virtqueue length") otherwise. With a host maximum of
 * 1000, QueueSizeMax reads 512 for a split ring and 1000 once RING_PACKED
 * is negotiated (any size is valid for a packed ring). */
START_TEST(test_mmio_queue_size_max_power_of_2)
{
    teardown();
    ck_assert_int_eq(tpb_init(&b, NQ, 1000, VDM_F_RING_ALL), 0);
    ck_assert_int_eq(drv_mmio_init(&m, &b.h.dev, NULL), 0);
    b.tp = &m.tp;
    negotiate(0);
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 512);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_SIZE, 4, 1000), VDM_EINVAL);
    /* A driver taking QueueSizeMax as its ring size works. */
    ck_assert_int_eq(drv_tp_setup_queue(&m.tp, 0, &b.vq[0], &b.h.g, 0), 0);
    b.live[0] = 1;
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 0), 512);
    ck_assert_int_eq(drv_tp_driver_ok(&m.tp), 0);
    tpb_echo(&b, 0, 16, DRV_ADD_DIRECT);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    /* Packed ring: the whole maximum. */
    UT_NEEDS(VDM_F_RING_PACKED);
    wr32(VDM_MMIO_STATUS, 0);
    tpb_drop_queues(&b);
    negotiate(VDM_F_RING_PACKED);
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 1000);
    wr32(VDM_MMIO_QUEUE_SIZE, 1000);
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 0), 1000);
}
END_TEST

START_TEST(test_mmio_status_register)
{
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 0x100), VDM_EINVAL);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0);
    wr32(VDM_MMIO_STATUS, 1);
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 0x101), VDM_EINVAL);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 1);
    /* DRIVER_OK before FEATURES_OK refused. */
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 1 | 2 | 4), VDM_ESTATE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS) & 4u, 0);
    /* The driver may not set NEEDS_RESET. */
    ck_assert_int_eq(wr(VDM_MMIO_STATUS, 4, 1 | 2 | 64), VDM_ESTATE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS) & 64u, 0);
    wr32(VDM_MMIO_STATUS, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0);
}
END_TEST

/* "MMIO Device Register Layout": bits stay set until acknowledged; reset
 * clears them; the line follows. */
START_TEST(test_mmio_interrupt_status_ack)
{
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    ck_assert_int_eq(m.line, 0);
    echo_set_capacity(&b.echo, &b.h.dev, 5);
    ck_assert_int_eq(m.line, 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), VDM_MMIO_INT_CONFIG);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), VDM_MMIO_INT_CONFIG);
    /* Used buffer: a second bit, line still up, one more raise. */
    {
        struct drv_vq *vq = &b.vq[0];
        uint64_t in = drv_alloc(&b.h.g, 16, 8), out = drv_alloc(&b.h.g, 16, 8);
        struct drv_buf ob = {out, 16}, ib = {in, 16};
        unsigned raises = m.raises;
        ck_assert_int_ge(drv_vq_add(vq, &ob, 1, &ib, 1, DRV_ADD_DIRECT, NULL),
                         0);
        drv_tp_kick(&m.tp, 0, vq, 1);
        ck_assert_uint_eq(m.raises, raises + 1);
    }
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS),
                      VDM_MMIO_INT_CONFIG | VDM_MMIO_INT_VRING);
    /* Undefined bits acked: nothing happens. */
    wr32(VDM_MMIO_INTERRUPT_ACK, 0xfffffffcu);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 3);
    ck_assert_int_eq(m.line, 1);
    /* Partial ack keeps the line up. */
    wr32(VDM_MMIO_INTERRUPT_ACK, VDM_MMIO_INT_VRING);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), VDM_MMIO_INT_CONFIG);
    ck_assert_int_eq(m.line, 1);
    ck_assert_uint_eq(m.lowers, 0);
    wr32(VDM_MMIO_INTERRUPT_ACK, VDM_MMIO_INT_CONFIG);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 0);
    ck_assert_int_eq(m.line, 0);
    ck_assert_uint_eq(m.lowers, 1);
    /* Reset clears pending bits and lowers the line. */
    echo_set_capacity(&b.echo, &b.h.dev, 6);
    ck_assert_int_eq(m.line, 1);
    wr32(VDM_MMIO_STATUS, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 0);
    ck_assert_int_eq(m.line, 0);
    for (uint16_t q = 0; q < NQ; q++) {
        wr32(VDM_MMIO_QUEUE_SEL, q);
        ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    }
    /* No config notice for a reset device. */
    echo_set_capacity(&b.echo, &b.h.dev, 7);
    ck_assert_int_eq(m.line, 0);
}
END_TEST

START_TEST(test_mmio_system_reset)
{
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    echo_set_capacity(&b.echo, &b.h.dev, 9);
    wr32(VDM_MMIO_QUEUE_SEL, 2);
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    ck_assert_int_eq(vdm_mmio_reset(&m.t), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_INTERRUPT_STATUS), 0);
    ck_assert_int_eq(m.line, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0); /* QueueSel back to 0 */
    ck_assert_uint_eq(rd32(VDM_MMIO_DEVICE_FEATURES),
                      (uint32_t)vdm_dev_device_features(&b.h.dev));
    ck_assert_int_eq(vdm_mmio_reset(NULL), VDM_EINVAL);
}
END_TEST

/* Bring-up seen register by register (reads and writes in Linux's order). */
START_TEST(test_mmio_bring_up_sequence)
{
    uint64_t f;
    ck_assert_int_eq(drv_mmio_probe(&m), (int)ECHO_DEVICE_ID);
    wr32(VDM_MMIO_STATUS, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0);
    wr32(VDM_MMIO_STATUS, VDM_STATUS_ACKNOWLEDGE);
    wr32(VDM_MMIO_STATUS, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER);
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    f = (uint64_t)rd32(VDM_MMIO_DEVICE_FEATURES) << 32;
    wr32(VDM_MMIO_DEVICE_FEATURES_SEL, 0);
    f |= rd32(VDM_MMIO_DEVICE_FEATURES);
    ck_assert_uint_ne(f & VDM_F_VERSION_1, 0);
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    wr32(VDM_MMIO_DRIVER_FEATURES, 1);
    wr32(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    wr32(VDM_MMIO_DRIVER_FEATURES, 0);
    wr32(VDM_MMIO_STATUS, 0x0b);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
    ck_assert_int_eq(drv_vq_init(&b.vq[0], &b.h.g, 8, VDM_F_VERSION_1), 0);
    b.live[0] = 1;
    wr32(VDM_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 0);
    ck_assert_uint_ge(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 8);
    wr32(VDM_MMIO_QUEUE_SIZE, 8);
    wr32(VDM_MMIO_QUEUE_DESC_LOW, (uint32_t)drv_vq_desc_gpa(&b.vq[0]));
    wr32(VDM_MMIO_QUEUE_DESC_HIGH, (uint32_t)(drv_vq_desc_gpa(&b.vq[0]) >> 32));
    wr32(VDM_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv_vq_driver_gpa(&b.vq[0]));
    wr32(VDM_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr32(VDM_MMIO_QUEUE_DEVICE_LOW, (uint32_t)drv_vq_device_gpa(&b.vq[0]));
    wr32(VDM_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr32(VDM_MMIO_QUEUE_READY, 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_READY), 1);
    wr32(VDM_MMIO_STATUS, 0x0f);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0f);
    ck_assert_int_eq(vdm_dev_live(&b.h.dev), 1);
    m.tp.features = VDM_F_VERSION_1;
    tpb_echo(&b, 0, 3, DRV_ADD_DIRECT);
    ck_assert_uint_eq(m.tp.refused, 0);
}
END_TEST

/* "Available Buffer Notifications": with NOTIFICATION_DATA the queue index
 * is bits 0-15; without it a value above 0xffff is not a queue. */
START_TEST(test_mmio_notification_data)
{
    unsigned n0;
    UT_NEEDS(VDM_F_NOTIFICATION_DATA);
    ck_assert_int_eq(tpb_bring_up(&b, DRV_F_NOTIFICATION_DATA, 2, 16), 0);
    ck_assert_uint_ne(m.tp.features & DRV_F_NOTIFICATION_DATA, 0);
    for (int i = 0; i < 40; i++)
        tpb_echo(&b, (uint16_t)(i & 1), 7, DRV_ADD_DIRECT);
    n0 = b.echo.notifies;
    /* next_off/next_wrap junk with queue 1: notifies queue 1. */
    wr32(VDM_MMIO_QUEUE_NOTIFY, 0xffff0001u);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
    /* A queue that does not exist. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0x00050007u), VDM_ERANGE);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
    /* A queue that exists but is not enabled. */
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0x00000002u), VDM_ESTATE);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(test_mmio_notify_without_data)
{
    unsigned n0;
    ck_assert_int_eq(tpb_bring_up(&b, 0, 1, 16), 0);
    n0 = b.echo.notifies;
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0x10000u), VDM_EINVAL);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0xffffffffu), VDM_EINVAL);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0xffffu), VDM_ERANGE);
    ck_assert_uint_eq(b.echo.notifies, n0);
    wr32(VDM_MMIO_QUEUE_NOTIFY, 0);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
}
END_TEST

START_TEST(test_mmio_shm_none)
{
    for (uint32_t id = 0; id < 300; id += 37) {
        wr32(VDM_MMIO_SHM_SEL, id);
        ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_LOW), 0xffffffffu);
        ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_HIGH), 0xffffffffu);
        ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_LOW), 0xffffffffu);
        ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_HIGH), 0xffffffffu);
    }
}
END_TEST

static const struct vdm_mmio_shm shm_regions[2] = {
    {0x4000000000ull, 0x10000000ull, 0, 0},
    {0x123456789000ull, 0x2000ull, 7, 0},
};

START_TEST(test_mmio_shm_regions)
{
    struct vdm_mmio_config c = VDM_INIT(struct vdm_mmio_config);
    teardown();
    c.shm = shm_regions;
    c.nshm = 2;
    setup_with(&c);
    wr32(VDM_MMIO_SHM_SEL, 7);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_LOW), 0x2000u);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_HIGH), 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_LOW), 0x56789000u);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_HIGH), 0x1234u);
    wr32(VDM_MMIO_SHM_SEL, 0);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_LOW), 0x10000000u);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_HIGH), 0x40u);
    wr32(VDM_MMIO_SHM_SEL, 1);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_LEN_LOW), 0xffffffffu);
    ck_assert_uint_eq(rd32(VDM_MMIO_SHM_BASE_LOW), 0xffffffffu);
}
END_TEST

static int beyond_size_called;
static void log_beyond_size(void *host, int level, const char *msg)
{
    (void)host;
    (void)level;
    (void)msg;
    beyond_size_called = 1;
}

START_TEST(test_mmio_init_errors)
{
    struct vdm_mmio t;
    struct vdm_mmio_config c = VDM_INIT(struct vdm_mmio_config);
    struct vdm_mmio_shm dup[2] = {{1, 1, 3, 0}, {2, 2, 3, 0}};
    struct vdm_mmio_ops ops = {0};

    ck_assert_int_eq(vdm_mmio_init(NULL, &b.h.dev, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_mmio_init(&t, NULL, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, NULL), VDM_EINVAL);
    c.size = 8;
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c), VDM_ESIZE);
    c = VDM_INIT(struct vdm_mmio_config);
    c.reserved = 1;
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c = VDM_INIT(struct vdm_mmio_config);
    c.nshm = 1;
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.shm = dup;
    c.nshm = 2;
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c = VDM_INIT(struct vdm_mmio_config);
    c.ops = &ops; /* size 0 */
    ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c), VDM_ESIZE);
    /* An uninitialised transport answers nothing. */
    memset(&t, 0, sizeof(t));
    {
        uint64_t v = 1;
        ck_assert_int_eq(vdm_mmio_read(&t, 0, 4, &v), VDM_EINVAL);
        ck_assert_uint_eq(v, 0);
    }
    ck_assert_uint_eq(vdm_mmio_window_size(&t), 0);
    /* An ops table with only irq (older caller, shorter struct). */
    {
        struct vdm_mmio_config c2 = VDM_INIT(struct vdm_mmio_config);
        ops.size =
            (uint32_t)(offsetof(struct vdm_mmio_ops, irq) + sizeof(ops.irq));
        ops.irq = NULL;
        ops.log = log_beyond_size; /* past ops.size: never called */
        c2.ops = &ops;
        ck_assert_int_eq(vdm_mmio_init(&t, &b.h.dev, &c2), 0);
        ck_assert_int_eq(vdm_mmio_write(&t, 0x18, 4, 0), VDM_ENOTSUP);
        ck_assert_int_eq(beyond_size_called, 0);
    }
}
END_TEST

/* Device config from 0x100: any width 1/2/4/8 inside it, little-endian. */
START_TEST(test_mmio_config_space)
{
    uint64_t v;
    ck_assert_int_eq(rd(0x100, 8, &v), 0);
    ck_assert_uint_eq(v, 0x1122334455667788ull);
    ck_assert_int_eq(rd(0x100, 4, &v), 0);
    ck_assert_uint_eq(v, 0x55667788u);
    ck_assert_int_eq(rd(0x104, 4, &v), 0);
    ck_assert_uint_eq(v, 0x11223344u);
    ck_assert_int_eq(rd(0x101, 2, &v), 0);
    ck_assert_uint_eq(v, 0x6677u);
    ck_assert_int_eq(rd(0x107, 1, &v), 0);
    ck_assert_uint_eq(v, 0x11u);
    ck_assert_int_eq(rd(0x10c, 2, &v), 0);
    ck_assert_uint_eq(v, NQ);
    ck_assert_int_eq(wr(0x108, 4, 0xcafef00du), 0);
    ck_assert_int_eq(rd(0x108, 4, &v), 0);
    ck_assert_uint_eq(v, 0xcafef00du);
    /* Past the end of the config space, or of the window. */
    v = 5;
    ck_assert_int_eq(rd(0x100 + ECHO_CONFIG_SIZE, 1, &v), VDM_ERANGE);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(rd(0x100 + ECHO_CONFIG_SIZE - 4, 8, &v), VDM_ERANGE);
    ck_assert_int_eq(rd(UINT64_MAX, 1, &v), VDM_ERANGE);
    ck_assert_int_eq(rd(UINT64_MAX - 3, 4, &v), VDM_ERANGE);
    ck_assert_int_eq(wr(0x100 + ECHO_CONFIG_SIZE - 1, 2, 0), VDM_ERANGE);
    ck_assert_int_eq(wr(0x1000000000ull, 4, 0), VDM_ERANGE);
    ck_assert_int_eq(rd(0x100, 3, &v), VDM_EINVAL);
    ck_assert_int_eq(rd(0x100, 16, &v), VDM_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Hostile guest */

START_TEST(test_mmio_hostile_queue_select)
{
    negotiate(0);
    wr32(VDM_MMIO_QUEUE_SEL, 0xffff);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 0);
    for (uint32_t off = 0x38; off <= 0xc0; off += 4) {
        const struct reg *r = find_reg(off);
        if (r == NULL || !r->w || off == VDM_MMIO_QUEUE_NOTIFY ||
            off == VDM_MMIO_INTERRUPT_ACK || off == VDM_MMIO_STATUS ||
            off == VDM_MMIO_SHM_SEL)
            continue;
        ck_assert_int_eq(wr(off, 4, 1), VDM_ERANGE);
    }
    wr32(VDM_MMIO_QUEUE_SEL, 0xffffffffu);
    ck_assert_uint_eq(rd32(VDM_MMIO_QUEUE_SIZE_MAX), 0);
    ck_assert_int_eq(wr(VDM_MMIO_QUEUE_READY, 4, 1), VDM_ERANGE);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
}
END_TEST

START_TEST(test_mmio_hostile_notify)
{
    unsigned n0 = b.echo.notifies;
    /* Before any set-up, during negotiation, on disabled and absent queues. */
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0), 0);
    negotiate(0);
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0), 0);
    ck_assert_int_lt(wr(VDM_MMIO_QUEUE_NOTIFY, 4, 0xffff), 0);
    ck_assert_uint_eq(b.echo.notifies, n0);
    ck_assert_uint_eq(rd32(VDM_MMIO_STATUS), 0x0b);
}
END_TEST

/* Every offset, width and a spread of values, reads and writes: nothing
 * crashes, and a reset brings back a working device. */
START_TEST(test_mmio_hostile_fuzz)
{
    static const uint32_t vals[] = {
        0, 1, 2, 3, 0xf, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff};
    uint64_t v;
    srand(1234);
    ck_assert_int_eq(tpb_bring_up(&b, DRV_F_RING_RESET, NQ, 16), 0);
    for (int round = 0; round < 3; round++) {
        for (uint32_t off = 0; off < 0x140; off++) {
            for (uint32_t w = 0; w <= 9; w++) {
                (void)rd(off, w, &v);
                if (off == VDM_MMIO_STATUS && w == 4)
                    continue; /* tested elsewhere; keep the device up */
                (void)wr(
                    off, w,
                    vals[(unsigned)rand() % (sizeof(vals) / sizeof(vals[0]))]);
            }
        }
        (void)rd(0xffffffffffffull, 4, &v);
        (void)wr(0xfffffffffffffffcull, 4, 1);
    }
    tpb_drop_queues(&b);
    m.tp.refused = 0;
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    for (uint16_t q = 0; q < NQ; q++)
        tpb_echo(&b, q, 50, DRV_ADD_DIRECT);
    ck_assert_uint_eq(m.tp.refused, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The transport-independent scenarios through MMIO */

START_TEST(test_mmio_echo_split)
{
    tps_bring_up_echo(&b, 0);
}
END_TEST

START_TEST(test_mmio_echo_split_event_idx_indirect)
{
    tps_bring_up_echo(&b, DRV_F_EVENT_IDX | DRV_F_INDIRECT);
}
END_TEST

START_TEST(test_mmio_echo_packed)
{
    tps_bring_up_echo(&b, DRV_F_PACKED);
}
END_TEST

START_TEST(test_mmio_echo_packed_all)
{
    tps_bring_up_echo(&b, DRV_F_PACKED | DRV_F_EVENT_IDX | DRV_F_INDIRECT |
                              DRV_F_IN_ORDER | DRV_F_NOTIFICATION_DATA);
}
END_TEST

START_TEST(test_mmio_echo_notification_data)
{
    tps_bring_up_echo(&b, DRV_F_NOTIFICATION_DATA | DRV_F_EVENT_IDX);
}
END_TEST

START_TEST(test_mmio_reset_reinit)
{
    tps_reset_reinit(&b);
}
END_TEST

START_TEST(test_mmio_queue_setup_after_driver_ok)
{
    tps_queue_setup_after_driver_ok(&b);
}
END_TEST

START_TEST(test_mmio_config_generation_race)
{
    tps_config_generation_race(&b);
}
END_TEST

START_TEST(test_mmio_config_write)
{
    tps_config_write(&b);
}
END_TEST

START_TEST(test_mmio_features_refused)
{
    tps_features_refused(&b);
}
END_TEST

START_TEST(test_mmio_queue_reset)
{
    tps_queue_reset(&b);
}
END_TEST

START_TEST(test_mmio_needs_reset)
{
    tps_needs_reset(&b);
}
END_TEST

START_TEST(test_mmio_bad_notify)
{
    tps_bad_notify(&b);
}
END_TEST

static Suite *mmio_suite(void)
{
    Suite *s = suite_create("mmio");
    TCase *regs_tc = tcase_create("registers");
    TCase *seq = tcase_create("sequences");
    TCase *hostile = tcase_create("hostile");

    tcase_add_checked_fixture(regs_tc, setup, teardown);
    tcase_add_test(regs_tc, test_mmio_identity);
    tcase_add_test(regs_tc, test_mmio_vendor_config);
    tcase_add_test(regs_tc, test_mmio_directions);
    tcase_add_test(regs_tc, test_mmio_wrong_widths);
    tcase_add_test(regs_tc, test_mmio_features);
    tcase_add_test(regs_tc, test_mmio_features_ok_refuses_unoffered);
    tcase_add_test(regs_tc, test_mmio_queue_registers);
    tcase_add_test(regs_tc, test_mmio_queue_write_while_ready);
    tcase_add_test(regs_tc, test_mmio_queue_ready_zero_ring_reset);
    tcase_add_test(regs_tc, test_mmio_queue_ready_zero_stops_queue);
    tcase_add_test(regs_tc, test_mmio_queue_size_max_power_of_2);
    tcase_add_test(regs_tc, test_mmio_status_register);
    tcase_add_test(regs_tc, test_mmio_interrupt_status_ack);
    tcase_add_test(regs_tc, test_mmio_system_reset);
    tcase_add_test(regs_tc, test_mmio_notification_data);
    tcase_add_test(regs_tc, test_mmio_notify_without_data);
    tcase_add_test(regs_tc, test_mmio_shm_none);
    tcase_add_test(regs_tc, test_mmio_shm_regions);
    tcase_add_test(regs_tc, test_mmio_init_errors);
    tcase_add_test(regs_tc, test_mmio_config_space);
    suite_add_tcase(s, regs_tc);

    tcase_add_checked_fixture(seq, setup, teardown);
    tcase_add_test(seq, test_mmio_bring_up_sequence);
    tcase_add_test(seq, test_mmio_echo_split);
    tcase_add_test(seq, test_mmio_echo_split_event_idx_indirect);
    tcase_add_test(seq, test_mmio_echo_packed);
    tcase_add_test(seq, test_mmio_echo_packed_all);
    tcase_add_test(seq, test_mmio_echo_notification_data);
    tcase_add_test(seq, test_mmio_reset_reinit);
    tcase_add_test(seq, test_mmio_queue_setup_after_driver_ok);
    tcase_add_test(seq, test_mmio_config_generation_race);
    tcase_add_test(seq, test_mmio_config_write);
    tcase_add_test(seq, test_mmio_features_refused);
    tcase_add_test(seq, test_mmio_queue_reset);
    tcase_add_test(seq, test_mmio_needs_reset);
    tcase_add_test(seq, test_mmio_bad_notify);
    suite_add_tcase(s, seq);

    tcase_add_checked_fixture(hostile, setup, teardown);
    tcase_add_test(hostile, test_mmio_hostile_queue_select);
    tcase_add_test(hostile, test_mmio_hostile_notify);
    tcase_add_test(hostile, test_mmio_hostile_fuzz);
    suite_add_tcase(s, hostile);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mmio_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
