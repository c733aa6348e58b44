/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci modern transport: configuration space (identity, BAR sizing,
 * capability chain, widths), common configuration (every field, right and
 * wrong widths), ISR read-to-clear and INTx, MSI-X table, masking and
 * pending bits, the PCI configuration access window, custom layouts, a
 * hostile suite, and the transport-independent scenarios of tp_bench.h
 * through PCI (INTx, MSI-X, and the config window). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drv_pci.h"
#include "profile.h"
#include "tp_bench.h"
#include "vdm/pci.h"

#define NQ        3
#define QMAX      64
#define NVEC      4
#define MMIO_BASE 0xc0000000ull

static struct tpb b;
static struct drv_pci p;

static void setup_cfg(const struct vdm_pci_config *cfg)
{
    ck_assert_int_eq(tpb_init(&b, NQ, QMAX, VDM_F_RING_ALL), 0);
    ck_assert_int_eq(drv_pci_init(&p, &b.h.dev, cfg), 0);
    b.tp = &p.tp;
}

/* Default layout, NVEC MSI-X vectors, probed, MSI-X left off (INTx). */
static void setup(void)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.msix_vectors = NVEC;
    setup_cfg(&c);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 0), 0);
}

/* Same, MSI-X enabled by the driver. */
static void setup_msix(void)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.msix_vectors = NVEC;
    setup_cfg(&c);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_int_eq(p.msix_on, 1);
}

/* Not probed: raw config space. */
static void setup_raw(void)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.msix_vectors = NVEC;
    setup_cfg(&c);
}

/* The structures through the VIRTIO_PCI_CAP_PCI_CFG window only. */
static void setup_window(void)
{
    setup();
    p.mode = DRV_PCI_MODE_WINDOW;
    /* memory decoding off: the BARs are unreachable, the window is not */
    drv_pci_cfg_wr(&p, 0x04, 2, 0);
}

static void teardown(void)
{
    drv_pci_fini(&p);
    tpb_fini(&b);
}

static uint32_t cfg(uint32_t off, unsigned w)
{
    uint32_t v = 0xdeadbeef;
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, off, w, &v), 0);
    return v;
}

static void cfgw(uint32_t off, unsigned w, uint32_t v)
{
    ck_assert_int_eq(vdm_pci_cfg_write(&p.t, off, w, v), 0);
}

static int cr(uint32_t off, unsigned w, uint64_t *v)
{
    return vdm_pci_bar_read(&p.t, p.common.bar, p.common.off + off, w, v);
}

static int cw(uint32_t off, unsigned w, uint64_t v)
{
    return vdm_pci_bar_write(&p.t, p.common.bar, p.common.off + off, w, v);
}

static uint64_t crv(uint32_t off, unsigned w)
{
    uint64_t v = 0xdead;
    ck_assert_int_eq(cr(off, w, &v), 0);
    return v;
}

static void cwv(uint32_t off, unsigned w, uint64_t v)
{
    ck_assert_int_eq(cw(off, w, v), 0);
}

/* ------------------------------------------------------------------------ */
/* Configuration space */

START_TEST(test_pci_identity)
{
    ck_assert_uint_eq(cfg(0x00, 2), 0x1af4);
    ck_assert_uint_eq(cfg(0x02, 2), 0x1040 + ECHO_DEVICE_ID);
    ck_assert_uint_eq(cfg(0x00, 4),
                      0x1af4u | ((0x1040u + ECHO_DEVICE_ID) << 16));
    ck_assert_uint_eq(cfg(0x08, 1), 1); /* revision: non-transitional */
    ck_assert_uint_eq(cfg(0x08, 4) >> 8, VDM_PCI_CLASS_DEFAULT);
    ck_assert_uint_eq(cfg(0x0e, 1), 0); /* header type 0 */
    ck_assert_uint_eq(cfg(0x2c, 2), 0x1af4);
    ck_assert_uint_ge(cfg(0x2e, 2), 0x40);
    ck_assert_uint_eq(cfg(0x3d, 1), 1);         /* INTA# */
    ck_assert_uint_ne(cfg(0x06, 2) & 0x10u, 0); /* capability list */
    ck_assert_uint_eq(cfg(0x30, 4), 0);         /* no expansion ROM */
    ck_assert_uint_eq(cfg(0x28, 4), 0);
}
END_TEST

START_TEST(test_pci_identity_config)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.subsys_vendor_id = 0x1234;
    c.subsys_id = 0x5678;
    c.class_code = 0x0c0330; /* anything the hypervisor wants */
    c.revision = 7;
    c.flags = VDM_PCI_F_NO_INTX;
    setup_cfg(&c);
    ck_assert_uint_eq(cfg(0x2c, 4), 0x56781234u);
    ck_assert_uint_eq(cfg(0x08, 4), 0x0c033007u);
    ck_assert_uint_eq(cfg(0x3d, 1), 0);
    /* no MSI-X configured: no MSI-X capability */
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_uint_eq(p.msix_pos, 0);
    ck_assert_int_eq(p.msix_on, 0);
}
END_TEST

/* The read-only header does not change under writes; the writable fields
 * keep only their writable bits. */
START_TEST(test_pci_header_writes)
{
    uint8_t before[256];
    for (unsigned i = 0; i < 256; i++)
        before[i] = (uint8_t)cfg(i, 1);
    cfgw(0x00, 4, 0);
    cfgw(0x08, 4, 0);
    cfgw(0x2c, 4, 0);
    cfgw(0x34, 1, 0);
    cfgw(0x3d, 1, 0);
    cfgw(0x06, 2, 0xffff); /* status: nothing writable */
    for (unsigned i = 0; i < 0x10; i++)
        if (i != 4 && i != 5 && i != 0x0c)
            ck_assert_uint_eq(cfg(i, 1), before[i]);
    ck_assert_uint_eq(cfg(0x2c, 4), (uint32_t)before[0x2c] |
                                        (uint32_t)before[0x2d] << 8 |
                                        (uint32_t)before[0x2e] << 16 |
                                        (uint32_t)before[0x2f] << 24);
    ck_assert_uint_eq(cfg(0x34, 1), 0x40);
    cfgw(0x04, 2, 0xffff);
    ck_assert_uint_eq(cfg(0x04, 2), 0x0406); /* memory, master, INTx disable */
    cfgw(0x3c, 1, 0x0b);
    ck_assert_uint_eq(cfg(0x3c, 1), 0x0b);
    cfgw(0x0c, 1, 0x10);
    ck_assert_uint_eq(cfg(0x0c, 1), 0x10);
}
END_TEST

START_TEST(test_pci_cfg_widths)
{
    uint32_t v = 1;
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 1, 2, &v), VDM_EINVAL);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 2, 4, &v), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 0, 3, &v), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 0, 8, &v), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 0, 0, &v), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_write(&p.t, 5, 2, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_write(&p.t, 4, 8, 0), VDM_EINVAL);
    ck_assert_uint_eq(cfg(0x04, 2), 0x0006); /* unchanged by the bad write */
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 0x1000, 4, &v), VDM_ERANGE);
    ck_assert_int_eq(vdm_pci_cfg_write(&p.t, 0xfffffffc, 4, 0), VDM_ERANGE);
    ck_assert_int_eq(vdm_pci_cfg_read(&p.t, 0, 4, NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_cfg_read(NULL, 0, 4, &v), VDM_EINVAL);
    /* PCIe extended space: present, empty. */
    for (uint32_t off = 0x100; off < 0x1000; off += 4) {
        ck_assert_uint_eq(cfg(off, 4), 0);
        cfgw(off, 4, 0xffffffffu);
        ck_assert_uint_eq(cfg(off, 4), 0);
    }
}
END_TEST

/* BAR sizing: all ones reads back the size mask and the type bits. */
START_TEST(test_pci_bar_sizing)
{
    uint64_t addr, size;
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 0, NULL, &size), 0);
    ck_assert_uint_eq(size & (size - 1), 0);
    ck_assert_uint_ge(size, 4096);
    cfgw(0x10, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg(0x10, 4), ((uint32_t) ~(size - 1) & ~0xfu) | 0x4u);
    cfgw(0x14, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg(0x14, 4), 0xffffffffu);
    cfgw(0x10, 4, 0x12345678u);
    cfgw(0x14, 4, 0x9);
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 0, &addr, NULL), 0);
    ck_assert_uint_eq(addr,
                      (0x9ull << 32) | (0x12345678u & ~(uint32_t)(size - 1)));
    for (unsigned i = 2; i < 6; i++) {
        cfgw(0x10 + 4 * i, 4, 0xffffffffu);
        ck_assert_uint_eq(cfg(0x10 + 4 * i, 4), 0);
        ck_assert_int_eq(vdm_pci_bar_info(&p.t, i, NULL, NULL), VDM_ENOENT);
    }
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 1, NULL, NULL), VDM_ENOENT);
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 6, NULL, NULL), VDM_EINVAL);
    /* byte writes into a BAR keep the low type bits */
    cfgw(0x10, 1, 0xff);
    ck_assert_uint_eq(cfg(0x10, 1) & 0xfu, 0x4u);
}
END_TEST

/* Regression (issue 10, bug 4): spec "Split Virtqueues": the queue size is
 * a power of 2; Linux vp_modern_get_queue_size() takes queue_size as the
 * ring size and fails probe ("Bad virtqueue length") otherwise. With a host
 * maximum of 1000, queue_size reads 512 for a split ring and 1000 once
 * RING_PACKED is negotiated. */
START_TEST(test_pci_queue_size_power_of_2)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.msix_vectors = NVEC;
    ck_assert_int_eq(tpb_init(&b, NQ, 1000, VDM_F_RING_ALL), 0);
    ck_assert_int_eq(drv_pci_init(&p, &b.h.dev, &c), 0);
    b.tp = &p.tp;
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_int_eq(drv_tp_negotiate(&p.tp, 0), 0);
    cwv(VDM_PCI_COMMON_Q_SELECT, 2, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), 512);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_SIZE, 2, 1000), VDM_EINVAL);
    ck_assert_int_eq(drv_tp_setup_queue(&p.tp, 0, &b.vq[0], &b.h.g, 0), 0);
    b.live[0] = 1;
    ck_assert_uint_eq(vdm_dev_queue_size(&b.h.dev, 0), 512);
    ck_assert_int_eq(drv_tp_driver_ok(&p.tp), 0);
    tpb_echo(&b, 0, 16, DRV_ADD_DIRECT);
    tpb_drop_queues(&b);
    UT_NEEDS(VDM_F_RING_PACKED); /* the rest is about packed rings */
    ck_assert_int_eq(drv_tp_negotiate(&p.tp, VDM_F_RING_PACKED), 0);
    cwv(VDM_PCI_COMMON_Q_SELECT, 2, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), 1000);
}
END_TEST

START_TEST(test_pci_bar32_prefetch)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    c.flags = VDM_PCI_F_BAR32 | VDM_PCI_F_PREFETCH;
    c.cfg_bar = 2;
    c.msix_bar = 5;
    c.msix_vectors = 3;
    setup_cfg(&c);
    ck_assert_uint_eq(cfg(0x18, 4) & 0xfu, 0x8u);
    ck_assert_uint_eq(cfg(0x24, 4) & 0xfu, 0x8u);
    ck_assert_uint_eq(cfg(0x10, 4), 0);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_uint_eq(p.common.bar, 2);
    ck_assert_uint_eq(p.msix_bar, 5);
    ck_assert_uint_eq(p.msix_size, 3);
    ck_assert_uint_ne(p.bar_addr[5], 0);
    tps_bring_up_echo(&b, 0);
}
END_TEST

/* The capability chain: the virtio structures and MSI-X, well formed. */
START_TEST(test_pci_capabilities)
{
    uint64_t bar_size;
    ck_assert_uint_ne(p.common.pos, 0);
    ck_assert_uint_ne(p.notify.pos, 0);
    ck_assert_uint_ne(p.isr.pos, 0);
    ck_assert_uint_ne(p.device.pos, 0);
    ck_assert_uint_ne(p.pcicfg.pos, 0);
    ck_assert_uint_ne(p.msix_pos, 0);
    ck_assert_uint_eq(p.msix_size, NVEC);
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, p.common.bar, NULL, &bar_size), 0);
    /* lengths and alignments from "Virtio Structure PCI Capabilities" */
    ck_assert_uint_ge(p.common.len, VDM_PCI_COMMON_BYTES);
    ck_assert_uint_eq(p.common.off % 4, 0);
    ck_assert_uint_eq(p.device.off % 4, 0);
    ck_assert_uint_eq(p.device.len, ECHO_CONFIG_SIZE);
    ck_assert_uint_ge(p.isr.len, 1);
    ck_assert_uint_eq(p.notify.off % 4, 0);
    ck_assert_uint_eq(p.notify_mult % 4, 0);
    ck_assert_uint_ge(p.notify.len, (NQ - 1) * p.notify_mult + 4);
    ck_assert_uint_le((uint64_t)p.common.off + p.common.len, bar_size);
    ck_assert_uint_le((uint64_t)p.notify.off + p.notify.len, bar_size);
    ck_assert_uint_le((uint64_t)p.device.off + p.device.len, bar_size);
    ck_assert_uint_eq(cfg(p.common.pos + 2, 1), 16);
    ck_assert_uint_eq(cfg(p.notify.pos + 2, 1), 20);
    ck_assert_uint_eq(cfg(p.pcicfg.pos + 2, 1), 20);
    ck_assert_uint_eq(p.msix_table % 8, 0);
    ck_assert_uint_eq(cfg(p.msix_pos + 2, 2) & 0x7ffu, NVEC - 1);
    ck_assert_uint_eq(cfg(p.msix_pos + 8, 4) % 8, p.msix_bar);
    /* Writes to the vendor capabilities (other than the window) are
     * ignored. */
    cfgw(p.common.pos + 8, 4, 0x1000);
    cfgw(p.common.pos + 4, 1, 3);
    ck_assert_uint_eq(cfg(p.common.pos + 8, 4), p.common.off);
    ck_assert_uint_eq(cfg(p.common.pos + 4, 1), p.common.bar);
    cfgw(p.notify.pos + 16, 4, 0);
    ck_assert_uint_eq(cfg(p.notify.pos + 16, 4), p.notify_mult);
}
END_TEST

static const struct vdm_device_class noconfig_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 1, /* presented as a network device */
    .name = "noconfig",
    .config_size = 0,
    .max_queues = 4,
    .queue_notify = NULL,
};

static void nop_notify(struct vdm_dev *d, uint16_t q)
{
    (void)d;
    (void)q;
}

START_TEST(test_pci_no_device_cfg)
{
    struct vdm_device_class cls = noconfig_class;
    struct vdm_dev_config dc = b.h.base;
    struct vdm_dev dev;
    struct drv_pci p2;

    cls.queue_notify = nop_notify;
    dc.cls = &cls;
    dc.num_queues = 2;
    dc.queues = calloc(2, sizeof(struct vdm_vq));
    dc.slots = calloc(VDM_DEV_SLOTS(2, QMAX), sizeof(uint32_t));
    ck_assert_ptr_nonnull(dc.queues);
    ck_assert_ptr_nonnull(dc.slots);
    ck_assert_int_eq(vdm_dev_init(&dev, &dc), 0);
    ck_assert_int_eq(drv_pci_init(&p2, &dev, NULL), 0);
    ck_assert_int_eq(drv_pci_probe(&p2, MMIO_BASE, 1), 0);
    ck_assert_uint_eq(p2.device.pos, 0);
    ck_assert_uint_eq(p2.msix_pos, 0);
    ck_assert_uint_eq(drv_pci_cfg_rd(&p2, 0x02, 2), 0x1041);
    ck_assert_uint_eq(drv_pci_cfg_rd(&p2, 0x08, 4) >> 8, 0x020000);
    ck_assert_uint_eq(drv_pci_common_rd(&p2, VDM_PCI_COMMON_NUMQ, 2), 2);
    drv_pci_fini(&p2);
    free(dc.queues);
    free(dc.slots);
}
END_TEST

START_TEST(test_pci_decode)
{
    uint32_t bar;
    uint64_t off;
    ck_assert_int_eq(vdm_pci_decode(&p.t, p.bar_addr[0] + 0x10, &bar, &off), 0);
    ck_assert_uint_eq(bar, 0);
    ck_assert_uint_eq(off, 0x10);
    ck_assert_int_eq(
        vdm_pci_decode(&p.t, p.bar_addr[0] + p.bar_size[0], &bar, &off),
        VDM_ENOENT);
    ck_assert_int_eq(vdm_pci_decode(&p.t, p.bar_addr[0] - 1, &bar, &off),
                     VDM_ENOENT);
    cfgw(0x04, 2, 0x0004); /* memory decoding off */
    ck_assert_int_eq(vdm_pci_decode(&p.t, p.bar_addr[0] + 0x10, &bar, &off),
                     VDM_ENOENT);
    ck_assert_int_eq(vdm_pci_decode(&p.t, 0, NULL, &off), VDM_EINVAL);
}
END_TEST

START_TEST(test_pci_function_reset)
{
    tps_bring_up_echo(&b, 0);
    cfgw(p.msix_pos + 2, 2, 0x8000);
    ck_assert_int_eq(vdm_pci_reset(&p.t), 0);
    ck_assert_uint_eq(cfg(0x04, 2), 0);
    ck_assert_uint_eq(cfg(0x10, 4), 0x4);
    ck_assert_uint_eq(cfg(0x14, 4), 0);
    ck_assert_uint_eq(cfg(p.msix_pos + 2, 2), NVEC - 1);
    ck_assert_uint_eq(vdm_dev_status(&b.h.dev), 0);
    ck_assert_int_eq(vdm_pci_reset(NULL), VDM_EINVAL);
    /* The MSI-X table is masked again. */
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 0), 0);
    {
        uint64_t v;
        ck_assert_int_eq(
            vdm_pci_bar_read(&p.t, p.msix_bar, p.msix_table + 12, 4, &v), 0);
        ck_assert_uint_eq(v, 1);
    }
}
END_TEST

START_TEST(test_pci_init_errors)
{
    struct vdm_pci t;
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    struct vdm_pci_ops ops = VDM_INIT(struct vdm_pci_ops);
    uint32_t st[256];

    ck_assert_int_eq(vdm_pci_init(NULL, &b.h.dev, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_init(&t, NULL, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, NULL), VDM_EINVAL);
    c.size = 4;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_ESIZE);
    c = VDM_INIT(struct vdm_pci_config);
    c.reserved0 = 1;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c = VDM_INIT(struct vdm_pci_config);
    c.flags = 0x100;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    /* BAR numbers */
    c = VDM_INIT(struct vdm_pci_config);
    c.cfg_bar = 5; /* 64-bit BAR 5 has no upper half */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.flags = VDM_PCI_F_BAR32;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), 0);
    c = VDM_INIT(struct vdm_pci_config);
    c.cfg_bar = 6;
    c.flags = VDM_PCI_F_BAR32;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    /* MSI-X: an msi hook and storage are needed */
    c = VDM_INIT(struct vdm_pci_config);
    c.msix_vectors = 2;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    ops.msi = (void (*)(void *, uint16_t, uint64_t, uint32_t))NULL;
    c.ops = &ops;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.ops = &p.hops;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.storage = st;
    c.storage_words = (uint32_t)VDM_PCI_STORAGE_WORDS(NQ, 2) - 1;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_ENOSPC);
    c.storage_words = (uint32_t)VDM_PCI_STORAGE_WORDS(NQ, 2);
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), 0);
    c.msix_vectors = VDM_PCI_MSIX_MAX + 1;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    /* 64-bit BARs may not overlap */
    c = VDM_INIT(struct vdm_pci_config);
    c.ops = &p.hops;
    c.storage = st;
    c.storage_words = 256;
    c.msix_vectors = 2;
    c.cfg_bar = 0;
    c.msix_bar = 1;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.msix_bar = 2;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), 0);
    /* custom layouts */
    c.flags = VDM_PCI_F_LAYOUT;
    c.notify_off_multiplier = 4;
    c.common_off = 0;
    c.isr_off = 0x40;
    c.device_off = 0x80;
    c.notify_off = 0x100;
    c.msix_table_off = 0;
    c.msix_pba_off = 0x800;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), 0);
    c.isr_off = 0x3f; /* overlaps common */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.isr_off = 0x40;
    c.device_off = 0x82; /* misaligned */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.device_off = 0x80;
    c.notify_off_multiplier = 6;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.notify_off_multiplier = 2;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.notify_off_multiplier = 0x80000000u; /* notify region past 4 GiB */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.notify_off_multiplier = 4;
    c.msix_pba_off = 0x4; /* overlaps the table, misaligned */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    c.msix_pba_off = 0xfffffff8u; /* fits, BAR of 4 GiB */
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), 0);
    c.flags |= VDM_PCI_F_BAR32; /* a 4 GiB 32-bit BAR does not exist */
    c.msix_bar = 1;
    ck_assert_int_eq(vdm_pci_init(&t, &b.h.dev, &c), VDM_EINVAL);
    /* an uninitialised transport */
    memset(&t, 0, sizeof(t));
    {
        uint64_t v = 3;
        ck_assert_int_eq(vdm_pci_bar_read(&t, 0, 0, 4, &v), VDM_EINVAL);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(vdm_pci_bar_write(&t, 0, 0, 4, 0), VDM_EINVAL);
        ck_assert_int_eq(vdm_pci_intx_level(&t), 0);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Common configuration */

struct field {
    uint32_t off;
    unsigned width;
    int ro;
};

static const struct field fields[] = {
    {0x00, 4, 0}, {0x04, 4, 1}, {0x08, 4, 0}, {0x0c, 4, 0}, {0x10, 2, 0},
    {0x12, 2, 1}, {0x14, 1, 0}, {0x15, 1, 1}, {0x16, 2, 0}, {0x18, 2, 0},
    {0x1a, 2, 0}, {0x1c, 2, 0}, {0x1e, 2, 1}, {0x20, 4, 0}, {0x24, 4, 0},
    {0x28, 4, 0}, {0x2c, 4, 0}, {0x30, 4, 0}, {0x34, 4, 0}, {0x38, 2, 1},
    {0x3a, 2, 0}, {0x3c, 2, 1}, {0x3e, 2, 1},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct field *field_at(uint32_t off, unsigned w)
{
    for (unsigned i = 0; i < NFIELDS; i++)
        if (fields[i].off == off && fields[i].width == w)
            return &fields[i];
    /* 64-bit fields also as one 8-byte access */
    if (w == 8 && (off == 0x20 || off == 0x28 || off == 0x30))
        return &fields[0];
    return NULL;
}

START_TEST(test_pci_common_widths)
{
    static const unsigned widths[] = {1, 2, 4, 8};
    ck_assert_int_eq(drv_tp_negotiate(&p.tp, 0), 0);
    for (uint32_t off = 0; off < VDM_PCI_COMMON_BYTES; off++) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned w = widths[i];
            uint64_t v = 0x99;
            int rc;
            if (off + w > VDM_PCI_COMMON_BYTES)
                continue;
            rc = cr(off, w, &v);
            if (field_at(off, w) != NULL) {
                ck_assert_msg(rc == 0, "read %u@0x%x: %d", w, off, rc);
            } else {
                ck_assert_msg(rc == VDM_EINVAL, "read %u@0x%x: %d", w, off, rc);
                ck_assert_uint_eq(v, 0);
                /* and the write is ignored too */
                ck_assert_int_eq(cw(off, w, 0), VDM_EINVAL);
            }
        }
    }
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_STATUS, 1), 0x0b);
    /* read-only fields */
    for (unsigned i = 0; i < NFIELDS; i++) {
        if (fields[i].ro)
            ck_assert_int_eq(cw(fields[i].off, fields[i].width, 0x1234),
                             VDM_ENOTSUP);
    }
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_NUMQ, 2), NQ);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_ADM_Q_IDX, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_ADM_Q_NUM, 2), 0);
    /* past the structure */
    {
        uint64_t v;
        ck_assert_int_eq(cr(VDM_PCI_COMMON_BYTES - 2, 4, &v), VDM_ERANGE);
    }
}
END_TEST

START_TEST(test_pci_common_fields)
{
    uint64_t offered = vdm_dev_device_features(&b.h.dev), d, r, e;
    cwv(VDM_PCI_COMMON_DFSELECT, 4, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_DFSELECT, 4), 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_DF, 4), offered >> 32);
    cwv(VDM_PCI_COMMON_DFSELECT, 4, 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_DF, 4), (uint32_t)offered);
    cwv(VDM_PCI_COMMON_DFSELECT, 4, 7);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_DF, 4), 0);
    cwv(VDM_PCI_COMMON_STATUS, 1, 1);
    cwv(VDM_PCI_COMMON_STATUS, 1, 3);
    cwv(VDM_PCI_COMMON_GFSELECT, 4, 1);
    cwv(VDM_PCI_COMMON_GF, 4, 1);
    cwv(VDM_PCI_COMMON_GFSELECT, 4, 0);
    cwv(VDM_PCI_COMMON_GF, 4, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_GF, 4), 1);
    cwv(VDM_PCI_COMMON_GFSELECT, 4, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_GF, 4), 1);
    cwv(VDM_PCI_COMMON_GFSELECT, 4, 2);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_GF, 4, 1), VDM_EINVAL);
    ck_assert_uint_eq(vdm_dev_driver_features(&b.h.dev), VDM_F_VERSION_1 | 1);
    cwv(VDM_PCI_COMMON_STATUS, 1, 0x0b);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_STATUS, 1), 0x0b);

    /* queue fields */
    cwv(VDM_PCI_COMMON_Q_SELECT, 2, 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SELECT, 2), 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), QMAX);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_NOFF, 2), 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_NDATA, 2), 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_ENABLE, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_RESET, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_MSIX, 2), VDM_PCI_NO_VECTOR);
    cwv(VDM_PCI_COMMON_Q_SIZE, 2, 32);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), 32);
    cwv(VDM_PCI_COMMON_Q_DESC, 4, 0x1000);
    cwv(VDM_PCI_COMMON_Q_DESC + 4, 4, 0x1);
    cwv(VDM_PCI_COMMON_Q_DRIVER, 8, 0x200002000ull);
    cwv(VDM_PCI_COMMON_Q_DEVICE + 4, 4, 0x3);
    cwv(VDM_PCI_COMMON_Q_DEVICE, 4, 0x3000);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&b.h.dev, 2, &d, &r, &e), 0);
    ck_assert_uint_eq(d, 0x100001000ull);
    ck_assert_uint_eq(r, 0x200002000ull);
    ck_assert_uint_eq(e, 0x300003000ull);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_DESC, 8), 0x100001000ull);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_DRIVER + 4, 4), 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_DEVICE, 4), 0x3000);
    /* vectors: within the table or NO_VECTOR, else a failed mapping */
    cwv(VDM_PCI_COMMON_Q_MSIX, 2, NVEC - 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_MSIX, 2), NVEC - 1);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_MSIX, 2, NVEC), VDM_ERANGE);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_MSIX, 2), VDM_PCI_NO_VECTOR);
    cwv(VDM_PCI_COMMON_MSIX, 2, 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_MSIX, 2), 0);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_MSIX, 2, 0x7ff), VDM_ERANGE);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_MSIX, 2), VDM_PCI_NO_VECTOR);
    /* queue_enable 0 is not for the driver to write */
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_ENABLE, 2, 0), VDM_EINVAL);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_RESET, 2, 3), VDM_EINVAL);
    /* a device reset unmaps every event */
    cwv(VDM_PCI_COMMON_Q_MSIX, 2, 1);
    cwv(VDM_PCI_COMMON_MSIX, 2, 1);
    cwv(VDM_PCI_COMMON_STATUS, 1, 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_STATUS, 1), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_MSIX, 2), VDM_PCI_NO_VECTOR);
    cwv(VDM_PCI_COMMON_Q_SELECT, 2, 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_MSIX, 2), VDM_PCI_NO_VECTOR);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), QMAX);
}
END_TEST

START_TEST(test_pci_bring_up_sequence)
{
    /* The whole Linux sequence through the generic driver, INTx. */
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 0), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_STATUS, 1), 0x0f);
    for (uint16_t q = 0; q < NQ; q++) {
        cwv(VDM_PCI_COMMON_Q_SELECT, 2, q);
        ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_ENABLE, 2), 1);
    }
    tpb_echo(&b, 0, 100, DRV_ADD_DIRECT);
    ck_assert_uint_eq(p.msi_total, 0);
    ck_assert_uint_ge(p.intx_raises, 1);
    ck_assert_uint_eq(p.tp.refused, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Interrupts */

START_TEST(test_pci_isr_read_clears)
{
    uint64_t v;
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    ck_assert_int_eq(p.intx, 0);
    echo_set_capacity(&b.echo, &b.h.dev, 1);
    ck_assert_int_eq(p.intx, 1);
    ck_assert_int_eq(vdm_pci_intx_level(&p.t), 1);
    ck_assert_uint_ne(cfg(0x06, 2) & 0x08u, 0); /* Interrupt Status */
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 1, &v), 0);
    ck_assert_uint_eq(v, VDM_PCI_ISR_CONFIG);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_uint_eq(cfg(0x06, 2) & 0x08u, 0);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 4, &v), 0);
    ck_assert_uint_eq(v, 0);
    /* ISR is read-only */
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.isr.bar, p.isr.off, 1, 3),
                     VDM_ENOTSUP);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 8, &v),
                     VDM_ERANGE); /* wider than the ISR structure */
    /* INTx Disable masks the line, not the status bit */
    cfgw(0x04, 2, 0x0406);
    echo_set_capacity(&b.echo, &b.h.dev, 2);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_uint_ne(cfg(0x06, 2) & 0x08u, 0);
    cfgw(0x04, 2, 0x0006);
    ck_assert_int_eq(p.intx, 1);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 2, &v), 0);
    ck_assert_uint_eq(v, VDM_PCI_ISR_CONFIG);
    ck_assert_int_eq(p.intx, 0);
    /* used buffers set bit 0 */
    tpb_echo(&b, 1, 8, DRV_ADD_DIRECT);
    ck_assert_int_eq(p.intx, 0);
    /* reset clears a pending ISR and lowers the line */
    echo_set_capacity(&b.echo, &b.h.dev, 3);
    ck_assert_int_eq(p.intx, 1);
    ck_assert_int_eq(drv_tp_reset(&p.tp), 0);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 1, &v), 0);
    ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_pci_msix_delivery)
{
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_MSIX, 2), 0);
    for (uint16_t q = 0; q < NQ; q++) {
        unsigned before = p.msi_count[drv_pci_queue_vector(&p, q)];
        tpb_echo(&b, q, 16, DRV_ADD_DIRECT);
        ck_assert_uint_eq(p.msi_count[drv_pci_queue_vector(&p, q)], before + 1);
        ck_assert_uint_eq(p.msi_last_addr, DRV_PCI_MSI_ADDR);
        ck_assert_uint_eq(p.msi_last_data, drv_pci_queue_vector(&p, q));
    }
    /* config change on vector 0, and the ISR config bit is set too */
    echo_set_capacity(&b.echo, &b.h.dev, 77);
    ck_assert_uint_eq(p.msi_last_vector, 0);
    ck_assert_uint_eq(drv_tp_interrupt(&p.tp), DRV_TP_INT_CONFIG);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_uint_eq(p.intx_raises, 0);
    {
        uint64_t v;
        ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.isr.bar, p.isr.off, 1, &v),
                         0);
        ck_assert_uint_eq(v, VDM_PCI_ISR_CONFIG);
    }
}
END_TEST

/* Vector mask and PBA: a masked vector's message is held and sent on
 * unmask; Function Mask likewise; NO_VECTOR means no interrupt at all. */
START_TEST(test_pci_msix_mask_pending)
{
    uint16_t v1;
    uint32_t ctrl_off;
    uint64_t pba;
    uint32_t pba_off = cfg(p.msix_pos + 8, 4) & ~7u;
    unsigned total;

    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    v1 = drv_pci_queue_vector(&p, 1);
    ctrl_off = p.msix_table + 16u * v1 + 12u;
    /* mask vector v1 */
    drv_pci_bar_wr(&p, p.msix_bar, ctrl_off, 4, 1);
    total = p.msi_total;
    {
        struct drv_vq *vq = &b.vq[1];
        uint64_t o = drv_alloc(&b.h.g, 8, 8), i = drv_alloc(&b.h.g, 8, 8);
        struct drv_buf ob = {o, 8}, ib = {i, 8};
        ck_assert_int_ge(drv_vq_add(vq, &ob, 1, &ib, 1, DRV_ADD_DIRECT, NULL),
                         0);
        drv_vq_enable_cb(vq);
        ck_assert_int_eq(drv_tp_kick(&p.tp, 1, vq, 0), 1);
    }
    ck_assert_uint_eq(p.msi_total, total);
    pba = drv_pci_bar_rd(&p, p.msix_bar, pba_off, 8);
    ck_assert_uint_eq(pba, 1ull << v1);
    /* PBA is read-only */
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.msix_bar, pba_off, 4, 0),
                     VDM_ENOTSUP);
    /* unmask: delivered, pending cleared */
    drv_pci_bar_wr(&p, p.msix_bar, ctrl_off, 4, 0);
    ck_assert_uint_eq(p.msi_total, total + 1);
    ck_assert_uint_eq(p.msi_last_vector, v1);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, pba_off, 4), 0);

    /* Function Mask holds every vector */
    cfgw(p.msix_pos + 2, 2, 0xc000);
    echo_set_capacity(&b.echo, &b.h.dev, 1);
    ck_assert_uint_eq(p.msi_total, total + 1);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, pba_off, 4), 1);
    cfgw(p.msix_pos + 2, 2, 0x8000);
    ck_assert_uint_eq(p.msi_total, total + 2);
    ck_assert_uint_eq(p.msi_last_vector, 0);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, pba_off, 4), 0);

    /* NO_VECTOR: the device MUST NOT deliver an interrupt */
    cwv(VDM_PCI_COMMON_MSIX, 2, VDM_PCI_NO_VECTOR);
    echo_set_capacity(&b.echo, &b.h.dev, 2);
    ck_assert_uint_eq(p.msi_total, total + 2);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, pba_off, 4), 0);

    /* Disabling MSI-X with a pending message: INTx takes over from ISR */
    drv_pci_bar_wr(&p, p.msix_bar, ctrl_off, 4, 1);
    tpb_echo(&b, 0, 4, DRV_ADD_DIRECT); /* vector of queue 0 not masked */
    cfgw(p.msix_pos + 2, 2, 0x0000);
    p.msix_on = 0;
    echo_set_capacity(&b.echo, &b.h.dev, 3);
    ck_assert_int_eq(p.intx, 1);
    ck_assert_uint_ne(drv_tp_interrupt(&p.tp) & DRV_TP_INT_CONFIG, 0);
    ck_assert_int_eq(p.intx, 0);
}
END_TEST

START_TEST(test_pci_msix_table)
{
    uint32_t t = p.msix_table;
    uint64_t v;
    /* the probe wrote address, data, unmasked */
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, t + 16 * 2, 8),
                      DRV_PCI_MSI_ADDR);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, t + 16 * 2 + 8, 4), 2);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, t + 16 * 2 + 12, 4), 0);
    /* 8-byte write of data + control; reserved control bits read 0;
     * address bits 1:0 are 0 */
    drv_pci_bar_wr(&p, p.msix_bar, t + 16 * 3 + 8, 8, 0xfffffffe00001234ull);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, t + 16 * 3 + 8, 8),
                      0x00001234ull);
    drv_pci_bar_wr(&p, p.msix_bar, t + 16 * 3, 4, 0xfee0000fu);
    ck_assert_uint_eq(drv_pci_bar_rd(&p, p.msix_bar, t + 16 * 3, 4),
                      0xfee0000cu);
    ck_assert_uint_eq(p.tp.refused, 0);
    /* wrong widths and alignments */
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.msix_bar, t + 2, 4, &v),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.msix_bar, t + 4, 8, &v),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.msix_bar, t, 2, &v), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.msix_bar, t, 1, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.msix_bar, t + 16 * NVEC, 4, &v),
                     VDM_ERANGE);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* PCI configuration access window */

START_TEST(test_pci_window)
{
    uint8_t c = p.pcicfg.pos;
    uint64_t offered = vdm_dev_device_features(&b.h.dev);

    /* device_feature through the window, 4 bytes */
    cfgw(c + 4, 1, p.common.bar);
    cfgw(c + 12, 4, 4);
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_DFSELECT);
    cfgw(c + 16, 4, 1);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_DFSELECT, 4), 1);
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_DF);
    ck_assert_uint_eq(cfg(c + 16, 4), (uint32_t)(offered >> 32));
    ck_assert_uint_eq(cfg(c + 18, 2), (uint32_t)(offered >> 48));
    /* 2 bytes: num_queues */
    cfgw(c + 12, 4, 2);
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_NUMQ);
    ck_assert_uint_eq(cfg(c + 16, 2), NQ);
    /* write through it: queue_select */
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_Q_SELECT);
    cfgw(c + 16, 2, 2);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SELECT, 2), 2);
    /* a byte: device_status */
    cfgw(c + 12, 4, 1);
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_STATUS);
    cfgw(c + 16, 1, 1);
    ck_assert_uint_eq(vdm_dev_status(&b.h.dev), 1);
    ck_assert_uint_eq(cfg(c + 16, 1), 1);
    /* a length other than 1, 2, 4: nothing happens */
    cfgw(c + 12, 4, 3);
    cfgw(c + 16, 1, 0);
    ck_assert_uint_eq(vdm_dev_status(&b.h.dev), 1);
    /* an offset that is not a multiple of the length: nothing happens */
    cfgw(c + 12, 4, 2);
    cfgw(c + 8, 4, p.common.off + VDM_PCI_COMMON_Q_SELECT + 1);
    cfgw(c + 16, 2, 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SELECT, 2), 2);
    /* a BAR the function does not have reads 0 */
    cfgw(c + 4, 1, 3);
    cfgw(c + 12, 4, 4);
    cfgw(c + 8, 4, 0);
    ck_assert_uint_eq(cfg(c + 16, 4), 0);
    cfgw(c + 4, 1, 0xff);
    ck_assert_uint_eq(cfg(c + 16, 4), 0);
    /* the fields read back as written */
    ck_assert_uint_eq(cfg(c + 4, 1), 0xff);
    ck_assert_uint_eq(cfg(c + 12, 4), 4);
    ck_assert_uint_eq(cfg(c + 8, 4), 0);
    /* the ISR byte through the window is read-to-clear as well */
    cwv(VDM_PCI_COMMON_STATUS, 1, 0);
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    echo_set_capacity(&b.echo, &b.h.dev, 4);
    ck_assert_int_eq(p.intx, 1);
    cfgw(c + 4, 1, p.isr.bar);
    cfgw(c + 12, 4, 1);
    cfgw(c + 8, 4, p.isr.off);
    ck_assert_uint_eq(cfg(c + 16, 1), VDM_PCI_ISR_CONFIG);
    ck_assert_int_eq(p.intx, 0);
    ck_assert_uint_eq(cfg(c + 16, 1), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Custom layouts */

START_TEST(test_pci_layout_shared_notify)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    unsigned n0;
    c.flags = VDM_PCI_F_LAYOUT;
    c.cfg_bar = 2;
    c.msix_bar = 4;
    c.msix_vectors = 2;
    c.notify_off_multiplier = 0; /* one address for every queue */
    c.common_off = 0x100;
    c.isr_off = 0x7; /* no alignment rule */
    c.device_off = 0x200;
    c.notify_off = 0x40;
    c.msix_table_off = 0x1000;
    c.msix_pba_off = 0x10;
    setup_cfg(&c);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_uint_eq(p.notify_mult, 0);
    ck_assert_uint_eq(p.notify.off, 0x40);
    ck_assert_uint_eq(p.isr.off, 7);
    ck_assert_uint_eq(p.msix_size, 2);
    tps_bring_up_echo(&b, DRV_F_EVENT_IDX);
    /* the value names the queue */
    n0 = b.echo.notifies;
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, 2, 0x40, 2, 1), 0);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, 2, 0x40, 2, 9), VDM_ERANGE);
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, 2, 0x42, 2, 1), VDM_EINVAL);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
}
END_TEST

START_TEST(test_pci_layout_page_per_queue)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    uint64_t size;
    c.flags = VDM_PCI_F_LAYOUT;
    c.notify_off_multiplier = 0x1000;
    c.common_off = 0;
    c.isr_off = 0x1000;
    c.device_off = 0x2000;
    c.notify_off = 0x10000;
    setup_cfg(&c);
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 0, NULL, &size), 0);
    ck_assert_uint_eq(size, 0x20000);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 0), 0);
    ck_assert_uint_eq(p.notify.len, (NQ - 1) * 0x1000 + 4);
    tps_bring_up_echo(&b, DRV_F_NOTIFICATION_DATA);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Hostile guest */

START_TEST(test_pci_hostile_queue_select)
{
    ck_assert_int_eq(drv_tp_negotiate(&p.tp, 0), 0);
    cwv(VDM_PCI_COMMON_Q_SELECT, 2, 0xffff);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SELECT, 2), 0xffff);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_SIZE, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_ENABLE, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_MSIX, 2), VDM_PCI_NO_VECTOR);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_NOFF, 2), 0);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_Q_DESC, 8), 0);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_SIZE, 2, 8), VDM_ERANGE);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_MSIX, 2, 0), VDM_ERANGE);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_ENABLE, 2, 1), VDM_ERANGE);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_RESET, 2, 1), VDM_ERANGE);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_DESC, 4, 0x1000), VDM_ERANGE);
    ck_assert_int_eq(cw(VDM_PCI_COMMON_Q_DEVICE, 8, 0x1000), VDM_ERANGE);
    ck_assert_uint_eq(crv(VDM_PCI_COMMON_STATUS, 1), 0x0b);
}
END_TEST

START_TEST(test_pci_hostile_notify)
{
    unsigned n0 = b.echo.notifies;
    uint64_t v;
    ck_assert_int_eq(tpb_bring_up(&b, 0, 1, 16), 0);
    /* queue 1 is not enabled; queue NQ has no notify address */
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.notify.bar,
                                       p.notify.off + 1 * p.notify_mult, 2, 1),
                     VDM_ESTATE);
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.notify.bar,
                                       p.notify.off + NQ * p.notify_mult, 2,
                                       NQ),
                     VDM_ERANGE);
    /* between two queue addresses */
    ck_assert_int_eq(
        vdm_pci_bar_write(&p.t, p.notify.bar, p.notify.off + 2, 2, 0),
        VDM_EINVAL);
    /* wrong widths, reads */
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.notify.bar, p.notify.off, 1, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_write(&p.t, p.notify.bar, p.notify.off, 8, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_pci_bar_read(&p.t, p.notify.bar, p.notify.off, 2, &v),
                     VDM_ENOTSUP);
    ck_assert_uint_eq(b.echo.notifies, n0);
    /* a value naming another queue: the address decides */
    ck_assert_int_eq(
        vdm_pci_bar_write(&p.t, p.notify.bar, p.notify.off, 2, 0xffff), 0);
    ck_assert_uint_eq(b.echo.notifies, n0 + 1);
    ck_assert_uint_eq(vdm_dev_status(&b.h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

/* "Capability walk with every offset": read config space at every offset
 * with every width, then write junk everywhere; the function stays sane. */
START_TEST(test_pci_hostile_config_space)
{
    static const unsigned widths[] = {1, 2, 4};
    uint32_t v;
    srand(99);
    for (uint32_t off = 0; off < 0x1100; off++) {
        for (unsigned i = 0; i < 3; i++) {
            int rc = vdm_pci_cfg_read(&p.t, off, widths[i], &v);
            if (off % widths[i] != 0)
                ck_assert_int_eq(rc, VDM_EINVAL);
            else if (off >= 0x1000)
                ck_assert_int_eq(rc, VDM_ERANGE);
            else
                ck_assert_int_eq(rc, 0);
        }
    }
    for (int round = 0; round < 4; round++) {
        for (uint32_t off = 0; off < 0x100; off++) {
            for (unsigned i = 0; i < 3; i++) {
                uint32_t junk = (uint32_t)rand() * 2654435761u;
                (void)vdm_pci_cfg_write(&p.t, off, widths[i], junk);
                (void)vdm_pci_cfg_read(&p.t, off & ~3u, 4, &v);
            }
        }
    }
    /* identity and the capability chain survive */
    ck_assert_uint_eq(cfg(0x00, 4),
                      0x1af4u | ((0x1040u + ECHO_DEVICE_ID) << 16));
    ck_assert_uint_eq(cfg(0x34, 1), 0x40);
    vdm_pci_reset(&p.t);
    {
        struct drv_pci_cap common = p.common;
        memset(&p.common, 0, sizeof(p.common));
        memset(&p.notify, 0, sizeof(p.notify));
        memset(&p.isr, 0, sizeof(p.isr));
        memset(&p.device, 0, sizeof(p.device));
        memset(&p.pcicfg, 0, sizeof(p.pcicfg));
        p.msix_pos = 0;
        ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
        ck_assert_uint_eq(p.common.off, common.off);
    }
    p.tp.refused = 0;
    p.tp.nwarn = 0;
    p.tp.nerror = 0;
    tps_bring_up_echo(&b, DRV_F_EVENT_IDX);
}
END_TEST

START_TEST(test_pci_hostile_bar_fuzz)
{
    static const unsigned widths[] = {0, 1, 2, 3, 4, 8, 16};
    uint64_t v, size;
    srand(7);
    ck_assert_int_eq(tpb_bring_up(&b, DRV_F_RING_RESET, NQ, 16), 0);
    ck_assert_int_eq(vdm_pci_bar_info(&p.t, 0, NULL, &size), 0);
    for (uint64_t off = 0; off < size + 16; off += 1 + (off > 0x100 ? 3 : 0)) {
        for (unsigned i = 0; i < 7; i++) {
            uint64_t junk = ((uint64_t)rand() << 32) | (uint64_t)rand();
            (void)vdm_pci_bar_read(&p.t, 0, off, widths[i], &v);
            /* keep the device status and MSI-X alone: tested elsewhere */
            if (off == p.common.off + VDM_PCI_COMMON_STATUS)
                continue;
            (void)vdm_pci_bar_write(&p.t, 0, off, widths[i], junk);
        }
    }
    for (uint32_t bar = 0; bar < 8; bar++)
        (void)vdm_pci_bar_read(&p.t, bar, UINT64_MAX - 1, 4, &v);
    tpb_drop_queues(&b);
    p.tp.refused = 0;
    /* re-program the MSI-X table the fuzz scrambled */
    vdm_pci_reset(&p.t);
    ck_assert_int_eq(drv_pci_probe(&p, MMIO_BASE, 1), 0);
    ck_assert_int_eq(tpb_bring_up(&b, 0, NQ, 16), 0);
    for (uint16_t q = 0; q < NQ; q++)
        tpb_echo(&b, q, 30, DRV_ADD_DIRECT);
    ck_assert_uint_eq(p.tp.refused, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Transport-independent scenarios through PCI */

#define SCENARIO(name, body)                                                   \
    START_TEST(name)                                                           \
    {                                                                          \
        body;                                                                  \
    }                                                                          \
    END_TEST

SCENARIO(test_pci_echo_split, tps_bring_up_echo(&b, 0))
SCENARIO(test_pci_echo_split_event_idx_indirect,
         tps_bring_up_echo(&b, DRV_F_EVENT_IDX | DRV_F_INDIRECT))
SCENARIO(test_pci_echo_packed, tps_bring_up_echo(&b, DRV_F_PACKED))
SCENARIO(test_pci_echo_packed_all,
         tps_bring_up_echo(&b, DRV_F_PACKED | DRV_F_EVENT_IDX | DRV_F_INDIRECT |
                                   DRV_F_IN_ORDER | DRV_F_NOTIFICATION_DATA))
SCENARIO(test_pci_echo_notification_data,
         tps_bring_up_echo(&b, DRV_F_NOTIFICATION_DATA | DRV_F_EVENT_IDX))
SCENARIO(test_pci_reset_reinit, tps_reset_reinit(&b))
SCENARIO(test_pci_queue_setup_after_driver_ok,
         tps_queue_setup_after_driver_ok(&b))
SCENARIO(test_pci_config_generation_race, tps_config_generation_race(&b))
SCENARIO(test_pci_config_write, tps_config_write(&b))
SCENARIO(test_pci_features_refused, tps_features_refused(&b))
SCENARIO(test_pci_queue_reset, tps_queue_reset(&b))
SCENARIO(test_pci_needs_reset, tps_needs_reset(&b))
SCENARIO(test_pci_bad_notify, tps_bad_notify(&b))

static void add_scenarios(TCase *tc)
{
    tcase_add_test(tc, test_pci_echo_split);
    tcase_add_test(tc, test_pci_echo_split_event_idx_indirect);
    tcase_add_test(tc, test_pci_echo_packed);
    tcase_add_test(tc, test_pci_echo_packed_all);
    tcase_add_test(tc, test_pci_echo_notification_data);
    tcase_add_test(tc, test_pci_reset_reinit);
    tcase_add_test(tc, test_pci_queue_setup_after_driver_ok);
    tcase_add_test(tc, test_pci_config_generation_race);
    tcase_add_test(tc, test_pci_config_write);
    tcase_add_test(tc, test_pci_features_refused);
    tcase_add_test(tc, test_pci_queue_reset);
    tcase_add_test(tc, test_pci_needs_reset);
    tcase_add_test(tc, test_pci_bad_notify);
}

static Suite *pci_suite(void)
{
    Suite *s = suite_create("pci");
    TCase *raw = tcase_create("config-space");
    TCase *regs = tcase_create("registers");
    TCase *msix = tcase_create("msix");
    TCase *intx = tcase_create("scenarios-intx");
    TCase *msx = tcase_create("scenarios-msix");
    TCase *win = tcase_create("scenarios-window");
    TCase *custom = tcase_create("layouts");
    TCase *hostile = tcase_create("hostile");

    tcase_add_checked_fixture(raw, setup_raw, teardown);
    tcase_add_test(raw, test_pci_identity);
    tcase_add_test(raw, test_pci_header_writes);
    tcase_add_test(raw, test_pci_bar_sizing);
    tcase_add_test(raw, test_pci_init_errors);
    suite_add_tcase(s, raw);

    tcase_add_checked_fixture(custom, NULL, teardown);
    tcase_add_test(custom, test_pci_identity_config);
    tcase_add_test(custom, test_pci_bar32_prefetch);
    tcase_add_test(custom, test_pci_layout_shared_notify);
    tcase_add_test(custom, test_pci_layout_page_per_queue);
    tcase_add_test(custom, test_pci_queue_size_power_of_2);
    suite_add_tcase(s, custom);

    tcase_add_checked_fixture(regs, setup, teardown);
    tcase_add_test(regs, test_pci_cfg_widths);
    tcase_add_test(regs, test_pci_capabilities);
    tcase_add_test(regs, test_pci_no_device_cfg);
    tcase_add_test(regs, test_pci_decode);
    tcase_add_test(regs, test_pci_common_widths);
    tcase_add_test(regs, test_pci_common_fields);
    tcase_add_test(regs, test_pci_bring_up_sequence);
    tcase_add_test(regs, test_pci_isr_read_clears);
    tcase_add_test(regs, test_pci_window);
    suite_add_tcase(s, regs);

    tcase_add_checked_fixture(msix, setup_msix, teardown);
    tcase_add_test(msix, test_pci_msix_delivery);
    tcase_add_test(msix, test_pci_msix_mask_pending);
    tcase_add_test(msix, test_pci_msix_table);
    tcase_add_test(msix, test_pci_function_reset);
    suite_add_tcase(s, msix);

    tcase_add_checked_fixture(intx, setup, teardown);
    add_scenarios(intx);
    suite_add_tcase(s, intx);
    tcase_add_checked_fixture(msx, setup_msix, teardown);
    add_scenarios(msx);
    suite_add_tcase(s, msx);
    tcase_add_checked_fixture(win, setup_window, teardown);
    add_scenarios(win);
    suite_add_tcase(s, win);

    tcase_add_checked_fixture(hostile, setup_msix, teardown);
    tcase_add_test(hostile, test_pci_hostile_queue_select);
    tcase_add_test(hostile, test_pci_hostile_notify);
    tcase_add_test(hostile, test_pci_hostile_config_space);
    tcase_add_test(hostile, test_pci_hostile_bar_fuzz);
    suite_add_tcase(s, hostile);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pci_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
