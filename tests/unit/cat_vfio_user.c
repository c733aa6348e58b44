/* SPDX-License-Identifier: BSD-3-Clause */
/* Catalogue (test_catalogue.c, docs/security.md): the classes of public
 * vfio-user server bugs (libvfio-user, SPDK's vfio-user target), each run
 * against vdm's vfio-user server (transports/vfio_user*.c) with an echo
 * device behind its PCI function. File descriptors are fake numbers the
 * hooks account for: each one handed over must be closed exactly once. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "echo_dev.h"
#include "vdm/device.h"
#include "vdm/pci.h"
#include "vdm/vfio_user.h"

#include "cat_vfio_user.h"

#define CV_QMAX  16
#define CV_NVEC  3
#define CV_MAXFD 512
#define CV_HDR   VDM_VFIO_USER_HDR_BYTES

static struct {
    struct vdm_vfio_user vfu;
    struct vdm_dev dev;
    struct echo_dev echo;
    struct vdm_vq queues[1];
    uint32_t slots[VDM_DEV_SLOTS(1, CV_QMAX)];
    uint32_t pcist[VDM_PCI_STORAGE_WORDS(1, CV_NVEC)];
    alignas(4096) uint8_t mem[0x4000];
    int given[CV_MAXFD], closed[CV_MAXFD], signals[CV_MAXFD];
    int next_fd, maps, unmaps;
    uint8_t reply[VDM_VFIO_USER_MAX_MSG];
    uint32_t rlen;
} C;

static int cv_map(void *host, int32_t fd, uint64_t off, uint64_t len,
                  uint32_t access, void **hva)
{
    (void)host;
    (void)access;
    ck_assert_int_eq(C.closed[fd], 0);
    if (off > sizeof(C.mem) || len > sizeof(C.mem) - off)
        return VDM_EINVAL;
    *hva = C.mem + off;
    C.maps++;
    return 0;
}

static void cv_unmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    (void)hva;
    (void)len;
    C.unmaps++;
}

static void cv_signal(void *host, int32_t fd)
{
    (void)host;
    ck_assert_int_eq(C.given[fd], 1);
    ck_assert_int_eq(C.closed[fd], 0);
    C.signals[fd]++;
}

static void cv_close(void *host, int32_t fd)
{
    (void)host;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_lt(fd, CV_MAXFD);
    ck_assert_int_eq(C.given[fd], 1);
    ck_assert_int_eq(C.closed[fd], 0);
    C.closed[fd] = 1;
}

static const struct vdm_vfio_user_ops cv_ops = {
    .size = sizeof(struct vdm_vfio_user_ops),
    .map = cv_map,
    .unmap = cv_unmap,
    .signal = cv_signal,
    .close = cv_close,
};

static int32_t cv_fd(void)
{
    int32_t fd = C.next_fd++;
    ck_assert_int_lt(fd, CV_MAXFD);
    C.given[fd] = 1;
    return fd;
}

static int cv_msg(uint16_t cmd, const void *pl, uint32_t len,
                  const int32_t *fds, uint32_t nfds)
{
    uint8_t m[CV_HDR + 256];
    uint32_t total = CV_HDR + len;
    memset(m, 0, CV_HDR);
    memcpy(m + 2, &cmd, 2);
    memcpy(m + 4, &total, 4);
    if (len)
        memcpy(m + CV_HDR, pl, len);
    return vdm_vfio_user_handle(&C.vfu, m, total, fds, nfds, C.reply,
                                sizeof(C.reply), &C.rlen);
}

static void cv_setup(void)
{
    struct vdm_vfio_user_config c = VDM_INIT(struct vdm_vfio_user_config);
    struct vdm_dev_config dc = VDM_INIT(struct vdm_dev_config);
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
    uint8_t v[4] = {0};

    memset(&C, 0, sizeof(C));
    C.next_fd = 10;
    c.ops = &cv_ops;
    ck_assert_int_eq(vdm_vfio_user_init(&C.vfu, &c), 0);
    dc.num_queues = 1;
    dc.queue_size_max = CV_QMAX;
    dc.mem = vdm_vfio_user_mem(&C.vfu);
    dc.queues = C.queues;
    dc.slots = C.slots;
    ck_assert_int_eq(echo_init(&C.echo, &C.dev, &dc, 0), 0);
    pc.msix_vectors = CV_NVEC;
    pc.storage = C.pcist;
    pc.storage_words = (uint32_t)(sizeof(C.pcist) / sizeof(C.pcist[0]));
    ck_assert_int_eq(vdm_vfio_user_attach(&C.vfu, &C.dev, &pc), 0);
    ck_assert_int_eq(cv_msg(VDM_VFIO_USER_VERSION, v, 4, NULL, 0), 0);
}

static void cv_teardown(void)
{
    vdm_vfio_user_reset(&C.vfu);
    for (int fd = 0; fd < CV_MAXFD; fd++)
        ck_assert_int_eq(C.closed[fd], C.given[fd]);
    ck_assert_int_eq(C.maps, C.unmaps);
}

static int cv_set_irqs(uint32_t flags, uint32_t index, uint32_t start,
                       uint32_t count, const int32_t *fds, uint32_t nfds)
{
    uint32_t w[5] = {20, flags, index, start, count};
    return cv_msg(VDM_VFIO_USER_DEVICE_SET_IRQS, w, 20, fds, nfds);
}

/* Class: SET_IRQS start/count outside the interrupt table (SPDK #3289:
 * libvfio-user's irqs_disable indexed its fd table out of bounds). Every
 * start/count pair is checked against the index's count with
 * overflow-safe arithmetic; nothing is touched. */
START_TEST(cat_vfu_irq_set_out_of_range)
{
    static const uint32_t bad[][2] = {
        {CV_NVEC, 1},    {0, CV_NVEC + 1}, {1, CV_NVEC},
        {UINT32_MAX, 2}, {2, UINT32_MAX},  {UINT32_MAX, UINT32_MAX},
    };
    const uint32_t msix = VDM_VFIO_USER_IRQ_MSIX;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* DATA_NONE | TRIGGER, DATA_NONE | MASK, DATA_EVENTFD de-assign */
        ck_assert_int_eq(cv_set_irqs(0x21, msix, bad[i][0], bad[i][1], NULL, 0),
                         VDM_ERANGE);
        ck_assert_int_eq(cv_set_irqs(0x09, msix, bad[i][0], bad[i][1], NULL, 0),
                         VDM_ERANGE);
        ck_assert_int_eq(cv_set_irqs(0x24, msix, bad[i][0], bad[i][1], NULL, 0),
                         VDM_ERANGE);
    }
    /* "disable all" (count 0) with a non-zero start is not that */
    ck_assert_int_eq(cv_set_irqs(0x21, msix, 5, 0, NULL, 0), VDM_EINVAL);
}
END_TEST

/* Class: interrupt index confusion (libvfio-user PR #731: ERR and REQ
 * eventfds were stored in the MSI-X table and later signalled as MSI-X
 * vectors). Index types without interrupts accept nothing; an MSI-X
 * vector's eventfd is never replaced by another index's. */
START_TEST(cat_vfu_irq_index_confusion)
{
    int32_t v0 = cv_fd();
    ck_assert_int_eq(cv_set_irqs(0x24, VDM_VFIO_USER_IRQ_MSIX, 0, 1, &v0, 1),
                     0);
    for (uint32_t idx = VDM_VFIO_USER_IRQ_MSI; idx <= VDM_VFIO_USER_IRQ_REQ;
         idx++) {
        if (idx == VDM_VFIO_USER_IRQ_MSIX)
            continue;
        int32_t f = cv_fd();
        ck_assert_int_eq(cv_set_irqs(0x24, idx, 0, 1, &f, 1), VDM_ERANGE);
        ck_assert_int_eq(C.closed[f], 1);
        ck_assert_int_eq(cv_set_irqs(0x21, idx, 0, 1, NULL, 0), VDM_ERANGE);
    }
    ck_assert_int_eq(C.closed[v0], 0); /* still vector 0's */
    ck_assert_int_eq(C.signals[v0], 0);
    ck_assert_int_eq(cv_set_irqs(0x21, VDM_VFIO_USER_IRQ_MSIX, 0, 1, NULL, 0),
                     0);
    ck_assert_int_eq(C.signals[v0], 1);
}
END_TEST

static int cv_map_msg(uint32_t flags, uint64_t iova, uint64_t size, int fd)
{
    uint8_t p[32];
    uint32_t argsz = 32;
    uint64_t off = 0;
    int32_t f = fd ? cv_fd() : -1;
    memcpy(p, &argsz, 4);
    memcpy(p + 4, &flags, 4);
    memcpy(p + 8, &off, 8);
    memcpy(p + 16, &iova, 8);
    memcpy(p + 24, &size, 8);
    return cv_msg(VDM_VFIO_USER_DMA_MAP, p, 32, &f, fd ? 1 : 0);
}

/* Class: overlapping DMA regions (libvfio-user #50, #463: overlapping maps
 * were accepted or half-handled, leaking mappings). Any overlap is refused
 * with EEXIST as the protocol says; the table is unchanged and the fd
 * closed. */
START_TEST(cat_vfu_dma_overlap)
{
    ck_assert_int_eq(cv_map_msg(3, 0x10000, 0x2000, 1), 0);
    static const uint64_t bad[][2] = {
        {0x10000, 0x2000}, {0x11000, 0x2000}, {0xf000, 0x2000},
        {0x11fff, 1},      {0x0, 0x100000},   {0x10fff, 0x10},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(cv_map_msg(3, bad[i][0], bad[i][1], 1), VDM_EINVAL);
        uint32_t e;
        memcpy(&e, C.reply + 12, 4);
        ck_assert_uint_eq(e, 17); /* EEXIST */
    }
    ck_assert_uint_eq(vdm_vfio_user_mem(&C.vfu)->nregions, 1);
    ck_assert_int_eq(C.maps, 1);
    /* adjacent is not overlapping */
    ck_assert_int_eq(cv_map_msg(3, 0x12000, 0x1000, 0), 0);
    ck_assert_int_eq(cv_map_msg(3, 0xf000, 0x1000, 0), 0);
}
END_TEST

/* Class: unknown DMA_MAP flags accepted (libvfio-user PR #553 dropped a
 * flag and had to fail on unknown ones; #216: protection flags ignored).
 * Unknown bits are refused; the read/write bits become the region's
 * access (a read-only map is a read-only region). */
START_TEST(cat_vfu_dma_flags)
{
    for (uint32_t bit = 2; bit < 32; bit++)
        ck_assert_int_eq(cv_map_msg(3u | (1u << bit), 0x10000, 0x1000, 1),
                         VDM_EINVAL);
    ck_assert_int_eq(C.maps, 0);
    ck_assert_int_eq(cv_map_msg(1, 0x10000, 0x1000, 1), 0);
    void *hva;
    const struct vdm_mem *m = vdm_vfio_user_mem(&C.vfu);
    ck_assert_int_eq(vdm_mem_lookup(m, 0x10000, 4, VDM_MEM_WRITE, &hva),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(m, 0x10000, 4, VDM_MEM_READ, &hva), 0);
}
END_TEST

static int cv_unmap_msg(uint64_t iova, uint64_t size)
{
    uint8_t p[24];
    uint32_t argsz = 24, flags = 0;
    memcpy(p, &argsz, 4);
    memcpy(p + 4, &flags, 4);
    memcpy(p + 8, &iova, 8);
    memcpy(p + 16, &size, 8);
    return cv_msg(VDM_VFIO_USER_DMA_UNMAP, p, 24, NULL, 0);
}

/* Class: DMA_UNMAP under a running ring (SPDK #2100: an unmap with
 * requests in flight tripped libvfio-user's reference count assertion;
 * vdm-vhost-user wrote a used ring through the stale mapping, found by
 * tests/e2e/vfu_hostile.py). The protocol wants every reference gone
 * before the reply: unmapping memory that holds an enabled queue's ring
 * stops that queue as if the driver had disabled it, so no notification
 * touches the ring again; unmapping other memory leaves it running. QEMU
 * does this at exit, so it is no error. */
START_TEST(cat_vfu_dma_unmap_under_ring)
{
    struct vdm_dev *d = &C.dev;
    const uint8_t drv = VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER;

    ck_assert_int_eq(cv_map_msg(3, 0x10000, 0x4000, 1), 0);
    ck_assert_int_eq(cv_map_msg(3, 0x20000, 0x1000, 1), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, drv), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(d, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, drv | VDM_STATUS_FEATURES_OK), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(d, 0, CV_QMAX), 0);
    /* the used ring ends 2 bytes before the end of the first map */
    ck_assert_int_eq(vdm_dev_queue_set_addr(d, 0, 0x10000, 0x11000,
                                            0x14000 - 8 - 8 * CV_QMAX),
                     0);
    ck_assert_int_eq(vdm_dev_queue_enable(d, 0), 0);
    ck_assert_int_eq(vdm_dev_set_status(d, drv | VDM_STATUS_FEATURES_OK |
                                               VDM_STATUS_DRIVER_OK),
                     0);
    /* other memory goes: the device runs on */
    ck_assert_int_eq(cv_unmap_msg(0x20000, 0x1000), 0);
    ck_assert_int_eq(vdm_dev_live(d), 1);
    /* the ring's memory goes: nothing may touch it any more */
    memset(C.mem, 0xa5, sizeof(C.mem));
    ck_assert_int_eq(cv_unmap_msg(0x10000, 0x4000), 0);
    ck_assert_int_eq(C.maps, C.unmaps);
    ck_assert_int_eq(vdm_dev_queue_enabled(d, 0), 0);
    ck_assert_int_eq(vdm_dev_queue_notify(d, 0, 0), VDM_ESTATE);
    for (size_t i = 0; i < sizeof(C.mem); i++)
        ck_assert_uint_eq(C.mem[i], 0xa5);
    /* a reset brings it back */
    ck_assert_int_eq(vdm_dev_set_status(d, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(d), 0);
}
END_TEST

/* Class: DMA_UNMAP of a map that came without a file descriptor (SPDK
 * #1813: libvfio-user unmapped such a region's NULL address and crashed).
 * A map without fd is recorded but never mapped: its unmap succeeds, calls
 * no host `unmap`, and a second unmap of it is refused (ENOENT). */
START_TEST(cat_vfu_unmap_map_without_fd)
{
    ck_assert_int_eq(cv_map_msg(3, 0x40000, 0x2000, 0), 0);
    ck_assert_int_eq(C.maps, 0);
    ck_assert_uint_eq(vdm_vfio_user_mem(&C.vfu)->nregions, 0);
    ck_assert_int_eq(cv_unmap_msg(0x40000, 0x2000), 0);
    ck_assert_int_eq(C.unmaps, 0);
    ck_assert_int_eq(cv_unmap_msg(0x40000, 0x2000), VDM_ENOENT);
}
END_TEST

/* Class: DMA maps outliving their client (SPDK #2092: maps left by one
 * client overwrote the next one's state). vdm_vfio_user_reset() (the
 * client went away) unmaps every region; the next client starts with an
 * empty table, so the same map is accepted again, not EEXIST. */
START_TEST(cat_vfu_dma_maps_outlive_client)
{
    uint8_t v[4] = {0};
    ck_assert_int_eq(cv_map_msg(3, 0x10000, 0x2000, 1), 0);
    ck_assert_int_eq(cv_map_msg(3, 0x20000, 0x1000, 0), 0);
    vdm_vfio_user_reset(&C.vfu);
    ck_assert_int_eq(C.unmaps, 1);
    ck_assert_uint_eq(vdm_vfio_user_mem(&C.vfu)->nregions, 0);
    ck_assert_int_eq(cv_msg(VDM_VFIO_USER_VERSION, v, 4, NULL, 0), 0);
    ck_assert_int_eq(cv_map_msg(3, 0x10000, 0x2000, 1), 0);
    ck_assert_int_eq(cv_map_msg(3, 0x20000, 0x1000, 0), 0);
    ck_assert_uint_eq(vdm_vfio_user_mem(&C.vfu)->nregions, 1);
}
END_TEST

void cat_vfu_add(Suite *s)
{
    TCase *t = tcase_create("vfio_user");
    tcase_add_checked_fixture(t, cv_setup, cv_teardown);
    tcase_add_test(t, cat_vfu_irq_set_out_of_range);
    tcase_add_test(t, cat_vfu_irq_index_confusion);
    tcase_add_test(t, cat_vfu_dma_overlap);
    tcase_add_test(t, cat_vfu_dma_flags);
    tcase_add_test(t, cat_vfu_dma_unmap_under_ring);
    tcase_add_test(t, cat_vfu_unmap_map_without_fd);
    tcase_add_test(t, cat_vfu_dma_maps_outlive_client);
    suite_add_tcase(s, t);
}
