/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal smoke test, run under qemu-system-arm on a Cortex-M4, a
 * Cortex-M0 and a Cortex-R52 (scripts/test.d/cross): an entropy device
 * (devices/rng.c) and a block device (devices/blk.c), each behind the
 * virtio-mmio transport, driven by a tiny in-image "guest driver" through
 * the register file, on a static array that plays guest RAM. No libc, no
 * heap, no OS: everything is static storage of this file. main() returns 0
 * when every check passed, else the number of the first failed check
 * (printed too, through semihosting: bm.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "bm.h"
#include "vdm/device.h"
#include "vdm/devices/blk.h"
#include "vdm/devices/rng.h"
#include "vdm/mem.h"
#include "vdm/mmio.h"

void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define QSZ       8u
#define GPA_BASE  0x80000000ull
#define DESC_OFF  0x000u
#define AVAIL_OFF 0x100u
#define USED_OFF  0x200u
#define HDR_OFF   0x300u /* blk request header */
#define STAT_OFF  0x340u /* blk status byte */
#define BUF_OFF   0x400u /* rng buffer, blk data written */
#define BUF2_OFF  0x600u /* blk data read back */
#define BUF_LEN   64u

#define F_WRITE 2u /* VIRTQ_DESC_F_WRITE */
#define F_NEXT  1u /* VIRTQ_DESC_F_NEXT */

#define DISK_SECTORS 4u

static _Alignas(16) uint8_t ram[4096];
static const struct vdm_mem_region regions[1] = {
    {.gpa = GPA_BASE, .size = sizeof(ram), .hva = ram},
};
static const struct vdm_mem mem = {
    .size = sizeof(struct vdm_mem), .nregions = 1, .regions = regions};

/* One device at a time: the rng run, then the blk run, reuse the same
 * device, transport and queue storage. */
static struct vdm_dev dev;
static struct vdm_mmio mmio;
static struct vdm_vq queues[1];
static uint32_t slots[VDM_DEV_SLOTS(1, QSZ)];
static uint32_t irqs;

static struct vdm_rng rng;
static struct vdm_blk blk;
static struct vdm_blk_req reqs[VDM_BLK_REQS(1, QSZ)];
static struct vdm_iov iovs[VDM_BLK_IOVS(1, QSZ, VDM_BLK_IOV_PER_REQ(1))];
static uint8_t disk[DISK_SECTORS * VDM_BLK_SECTOR_SIZE];

/* The host's entropy source: a fixed xorshift stream, so the guest side can
 * check every byte. */
static uint32_t xs_state = 0x12345678u;
static uint8_t xs_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return (uint8_t)*x;
}
static int fill(void *host, void *buf, uint32_t len)
{
    uint8_t *p = buf;
    (void)host;
    for (uint32_t i = 0; i < len; i++)
        p[i] = xs_next(&xs_state);
    return (int)len;
}
static const struct vdm_rng_ops rng_ops = {.size = sizeof(rng_ops),
                                           .fill = fill};

/* The host's disk: a RAM disk, completed from inside the call. */
static int disk_io(uint64_t sector, const struct vdm_iov *iov, uint32_t n,
                   void *token, int write)
{
    uint32_t off = (uint32_t)sector * VDM_BLK_SECTOR_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = iov[i].base;
        if (off + iov[i].len > sizeof(disk))
            return VDM_EIO;
        for (uint32_t j = 0; j < iov[i].len; j++) {
            if (write)
                disk[off + j] = p[j];
            else
                p[j] = disk[off + j];
        }
        off += iov[i].len;
    }
    return vdm_blk_complete(&blk, token, VDM_BLK_S_OK) == 0 ? 0 : VDM_EIO;
}
static int disk_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                     uint32_t n, void *token)
{
    (void)host;
    return disk_io(sector, iov, n, token, 0);
}
static int disk_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                      uint32_t n, void *token)
{
    (void)host;
    return disk_io(sector, iov, n, token, 1);
}
static const struct vdm_blk_ops blk_ops = {
    .size = sizeof(blk_ops), .read = disk_read, .write = disk_write};

static void irq(void *host, int level)
{
    (void)host;
    if (level)
        irqs++;
}
static const struct vdm_mmio_ops mmio_ops = {.size = sizeof(mmio_ops),
                                             .irq = irq};

/* Little-endian guest stores and loads (the wire format, any host). */
static void st16(uint32_t off, uint16_t v)
{
    ram[off] = (uint8_t)v;
    ram[off + 1] = (uint8_t)(v >> 8);
}
static void st32(uint32_t off, uint32_t v)
{
    st16(off, (uint16_t)v);
    st16(off + 2, (uint16_t)(v >> 16));
}
static void st64(uint32_t off, uint64_t v)
{
    st32(off, (uint32_t)v);
    st32(off + 4, (uint32_t)(v >> 32));
}
static uint32_t ld16(uint32_t off)
{
    return (uint32_t)ram[off] | (uint32_t)ram[off + 1] << 8;
}
static uint32_t ld32(uint32_t off)
{
    return ld16(off) | ld16(off + 2) << 16;
}

static uint32_t rd(uint32_t off)
{
    uint64_t v = 0;
    if (vdm_mmio_read(&mmio, off, 4, &v) != 0)
        return 0xdeadbeefu;
    return (uint32_t)v;
}
static int wr(uint32_t off, uint32_t v)
{
    return vdm_mmio_write(&mmio, off, 4, v);
}

static struct vdm_dev_config base_config(void)
{
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);
    base.num_queues = 1;
    base.queue_size_max = QSZ;
    base.mem = &mem;
    base.queues = queues;
    base.slots = slots;
    return base;
}

static int bind_mmio(void)
{
    struct vdm_mmio_config mc = VDM_INIT(struct vdm_mmio_config);
    mc.ops = &mmio_ops;
    return vdm_mmio_init(&mmio, &dev, &mc);
}

/* The guest driver, spec "Device Initialization" over "MMIO Device Register
 * Layout": VERSION_1 only, queue 0 of QSZ entries in ram[]. */
static int driver_init(uint32_t device_id)
{
    uint32_t st = VDM_STATUS_ACKNOWLEDGE;

    memset(ram, 0, sizeof(ram));
    irqs = 0;
    if (rd(VDM_MMIO_MAGIC_VALUE) != VDM_MMIO_MAGIC ||
        rd(VDM_MMIO_VERSION_REG) != 2 || rd(VDM_MMIO_DEVICE_ID) != device_id)
        return 1;
    wr(VDM_MMIO_STATUS, 0);
    wr(VDM_MMIO_STATUS, st);
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_DRIVER);
    wr(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    if ((rd(VDM_MMIO_DEVICE_FEATURES) & 1u) == 0) /* VERSION_1 */
        return 2;
    wr(VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VDM_MMIO_DRIVER_FEATURES, 1);
    wr(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VDM_MMIO_DRIVER_FEATURES, 0);
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_FEATURES_OK);
    if ((rd(VDM_MMIO_STATUS) & VDM_STATUS_FEATURES_OK) == 0)
        return 3;
    wr(VDM_MMIO_QUEUE_SEL, 0);
    if (rd(VDM_MMIO_QUEUE_SIZE_MAX) < QSZ)
        return 4;
    wr(VDM_MMIO_QUEUE_SIZE, QSZ);
    wr(VDM_MMIO_QUEUE_DESC_LOW, (uint32_t)(GPA_BASE + DESC_OFF));
    wr(VDM_MMIO_QUEUE_DESC_HIGH, (uint32_t)((GPA_BASE + DESC_OFF) >> 32));
    wr(VDM_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(GPA_BASE + AVAIL_OFF));
    wr(VDM_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((GPA_BASE + AVAIL_OFF) >> 32));
    wr(VDM_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(GPA_BASE + USED_OFF));
    wr(VDM_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((GPA_BASE + USED_OFF) >> 32));
    if (wr(VDM_MMIO_QUEUE_READY, 1) != 0)
        return 5;
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_DRIVER_OK);
    if (rd(VDM_MMIO_STATUS) != st)
        return 6;
    return 0;
}

/* Descriptor i: guest offset, length, flags (F_NEXT chains to i + 1). */
static void desc(uint16_t i, uint32_t off, uint32_t len, uint16_t flags)
{
    st64(DESC_OFF + 16u * i, GPA_BASE + off);
    st32(DESC_OFF + 16u * i + 8, len);
    st16(DESC_OFF + 16u * i + 12, flags);
    st16(DESC_OFF + 16u * i + 14, (uint16_t)(i + 1u));
}

/* Make chain @p head available as the n-th buffer (n from 0), notify, and
 * check the device used it: returns the used length, or -1. */
static int64_t submit(uint16_t n, uint16_t head)
{
    st16(AVAIL_OFF + 4 + 2u * (n % QSZ), head);
    st16(AVAIL_OFF + 2, (uint16_t)(n + 1u));
    if (wr(VDM_MMIO_QUEUE_NOTIFY, 0) != 0)
        return -1;
    if (ld16(USED_OFF + 2) != (uint16_t)(n + 1u) ||
        ld32(USED_OFF + 4 + 8u * (n % QSZ)) != head)
        return -1;
    return ld32(USED_OFF + 8 + 8u * (n % QSZ));
}

/* The driver's side of an interrupt: one was raised, the status says
 * "used buffer", acknowledging clears it. */
static int interrupt_seen(void)
{
    if (irqs == 0 || (rd(VDM_MMIO_INTERRUPT_STATUS) & VDM_MMIO_INT_VRING) == 0)
        return 0;
    wr(VDM_MMIO_INTERRUPT_ACK, VDM_MMIO_INT_VRING);
    irqs = 0;
    return rd(VDM_MMIO_INTERRUPT_STATUS) == 0;
}

static int run_rng(void)
{
    struct vdm_dev_config base = base_config();
    struct vdm_rng_config rc = VDM_INIT(struct vdm_rng_config);
    int r;

    rc.ops = &rng_ops;
    if (vdm_rng_init(&rng, &dev, &rc, &base) != 0 || bind_mmio() != 0)
        return 10;
    if ((r = driver_init(VDM_VIRTIO_ID_RNG)) != 0)
        return 10 + r;
    /* One device-writable buffer. */
    desc(0, BUF_OFF, BUF_LEN, F_WRITE);
    if (submit(0, 0) != BUF_LEN)
        return 20;
    {
        uint32_t x = 0x12345678u;
        for (uint32_t i = 0; i < BUF_LEN; i++)
            if (ram[BUF_OFF + i] != xs_next(&x))
                return 21;
    }
    return interrupt_seen() ? 0 : 22;
}

/* A three-descriptor blk request at descriptor 0: header (type, sector),
 * @p len data bytes at @p data_off (device-writable when @p in), status. */
static int64_t blk_request(uint16_t n, uint32_t type, uint64_t sector,
                           uint32_t data_off, uint32_t len, int in)
{
    st32(HDR_OFF, type);
    st32(HDR_OFF + 4, 0);
    st64(HDR_OFF + 8, sector);
    ram[STAT_OFF] = 0xff;
    desc(0, HDR_OFF, VDM_BLK_HDR_BYTES, F_NEXT);
    desc(1, data_off, len, (uint16_t)(F_NEXT | (in ? F_WRITE : 0u)));
    desc(2, STAT_OFF, 1, F_WRITE);
    return submit(n, 0);
}

static int run_blk(void)
{
    static const char serial[] = "vdm-baremetal";
    struct vdm_dev_config base = base_config();
    struct vdm_blk_config bc = VDM_INIT(struct vdm_blk_config);
    uint16_t n = 0;
    int r;

    bc.capacity = DISK_SECTORS;
    bc.iov_per_req = VDM_BLK_IOV_PER_REQ(1);
    bc.ops = &blk_ops;
    bc.reqs = reqs;
    bc.iovs = iovs;
    for (unsigned i = 0; i < sizeof(serial); i++)
        bc.serial[i] = (uint8_t)serial[i];
    if (vdm_blk_init(&blk, &dev, &bc, &base) != 0 || bind_mmio() != 0)
        return 30;
    if ((r = driver_init(VDM_VIRTIO_ID_BLK)) != 0)
        return 30 + r;
    /* Config space: capacity (le64) and seg_max (le32). */
    if (rd(VDM_MMIO_CONFIG + VDM_BLK_CFG_CAPACITY) != DISK_SECTORS ||
        rd(VDM_MMIO_CONFIG + VDM_BLK_CFG_CAPACITY + 4) != 0 ||
        rd(VDM_MMIO_CONFIG + VDM_BLK_CFG_SEG_MAX) != 1)
        return 40;

    /* Write sector 1 with a pattern. */
    for (uint32_t i = 0; i < VDM_BLK_SECTOR_SIZE; i++)
        ram[BUF_OFF + i] = (uint8_t)(i * 7u + 3u);
    if (blk_request(n++, VDM_BLK_T_OUT, 1, BUF_OFF, VDM_BLK_SECTOR_SIZE, 0) !=
            1 ||
        ram[STAT_OFF] != VDM_BLK_S_OK)
        return 41;
    if (memcmp(&disk[VDM_BLK_SECTOR_SIZE], &ram[BUF_OFF],
               VDM_BLK_SECTOR_SIZE) != 0)
        return 42;
    if (!interrupt_seen())
        return 43;
    /* Read it back into another buffer. */
    if (blk_request(n++, VDM_BLK_T_IN, 1, BUF2_OFF, VDM_BLK_SECTOR_SIZE, 1) !=
            VDM_BLK_SECTOR_SIZE + 1 ||
        ram[STAT_OFF] != VDM_BLK_S_OK)
        return 44;
    if (memcmp(&ram[BUF2_OFF], &ram[BUF_OFF], VDM_BLK_SECTOR_SIZE) != 0)
        return 45;
    /* Past the end: IOERR, the status byte alone written. */
    if (blk_request(n++, VDM_BLK_T_IN, DISK_SECTORS, BUF2_OFF,
                    VDM_BLK_SECTOR_SIZE, 1) != 1 ||
        ram[STAT_OFF] != VDM_BLK_S_IOERR)
        return 46;
    /* GET_ID: the serial, NUL padded to 20 bytes. */
    if (blk_request(n++, VDM_BLK_T_GET_ID, 0, BUF2_OFF, VDM_BLK_ID_BYTES, 1) !=
            VDM_BLK_ID_BYTES + 1 ||
        ram[STAT_OFF] != VDM_BLK_S_OK ||
        memcmp(&ram[BUF2_OFF], serial, sizeof(serial)) != 0)
        return 47;
    /* An unknown request type: UNSUPP. */
    if (blk_request(n++, 0x7fu, 0, BUF2_OFF, VDM_BLK_SECTOR_SIZE, 1) != 1 ||
        ram[STAT_OFF] != VDM_BLK_S_UNSUPP)
        return 48;
    if (!interrupt_seen())
        return 49;
    /* Reset: status reads back 0. */
    wr(VDM_MMIO_STATUS, 0);
    return rd(VDM_MMIO_STATUS) == 0 ? 0 : 50;
}

static int step(const char *name, int r)
{
    bm_puts("vdm-bm: ");
    bm_puts(name);
    if (r == 0) {
        bm_puts(" over mmio: ok\n");
    } else {
        bm_puts(" over mmio: FAIL at check ");
        bm_putu((unsigned long)r);
        bm_puts("\n");
    }
    return r;
}

int main(void)
{
    const char *v = vdm_version_string();
    int r;

    if (v == NULL || v[0] < '0' || v[0] > '9')
        return 1;
    bm_puts("vdm-bm: libvdm ");
    bm_puts(v);
    bm_puts("\n");
    if ((r = step("rng", run_rng())) != 0 || (r = step("blk", run_blk())) != 0)
        return r;
    bm_puts("vdm-bm: PASS\n");
    return 0;
}
