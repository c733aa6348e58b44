/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal smoke image: an entropy device (devices/rng.c) behind the
 * virtio-mmio transport, driven by a tiny in-image "guest driver" through
 * the register file, on a static array that plays guest RAM. No libc, no
 * heap, no OS: everything is static storage of this file. main() returns 0
 * when the device filled the guest's buffer with the host's bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "vdm/device.h"
#include "vdm/devices/rng.h"
#include "vdm/mem.h"
#include "vdm/mmio.h"

#define QSZ       8u
#define GPA_BASE  0x80000000ull
#define DESC_OFF  0x000u
#define AVAIL_OFF 0x100u
#define USED_OFF  0x200u
#define BUF_OFF   0x400u
#define BUF_LEN   64u

static _Alignas(16) uint8_t ram[4096];
static const struct vdm_mem_region regions[1] = {
    {.gpa = GPA_BASE, .size = sizeof(ram), .hva = ram},
};
static const struct vdm_mem mem = {
    .size = sizeof(struct vdm_mem), .nregions = 1, .regions = regions};

static struct vdm_dev dev;
static struct vdm_rng rng;
static struct vdm_mmio mmio;
static struct vdm_vq queues[1];
static uint32_t slots[VDM_DEV_SLOTS(1, QSZ)];
static uint32_t irqs;

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

static int set_up(void)
{
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);
    struct vdm_rng_config rc = VDM_INIT(struct vdm_rng_config);
    struct vdm_mmio_config mc = VDM_INIT(struct vdm_mmio_config);

    base.queue_size_max = QSZ;
    base.mem = &mem;
    base.queues = queues;
    base.slots = slots;
    rc.ops = &rng_ops;
    mc.ops = &mmio_ops;
    if (vdm_mem_check(&mem) != 0 || vdm_rng_init(&rng, &dev, &rc, &base) != 0 ||
        vdm_mmio_init(&mmio, &dev, &mc) != 0)
        return 1;
    return 0;
}

/* The guest driver, spec "Device Initialization" over "MMIO Device Register
 * Layout". */
static int drive(void)
{
    const char *v = vdm_version_string();
    uint32_t st = VDM_STATUS_ACKNOWLEDGE;

    if (v == NULL || v[0] < '0' || v[0] > '9')
        return 10;
    if (rd(VDM_MMIO_MAGIC_VALUE) != VDM_MMIO_MAGIC ||
        rd(VDM_MMIO_VERSION_REG) != 2 ||
        rd(VDM_MMIO_DEVICE_ID) != VDM_VIRTIO_ID_RNG)
        return 11;
    wr(VDM_MMIO_STATUS, 0);
    wr(VDM_MMIO_STATUS, st);
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_DRIVER);
    wr(VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    if ((rd(VDM_MMIO_DEVICE_FEATURES) & 1u) == 0) /* VERSION_1 */
        return 12;
    wr(VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VDM_MMIO_DRIVER_FEATURES, 1);
    wr(VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VDM_MMIO_DRIVER_FEATURES, 0);
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_FEATURES_OK);
    if ((rd(VDM_MMIO_STATUS) & VDM_STATUS_FEATURES_OK) == 0)
        return 13;
    wr(VDM_MMIO_QUEUE_SEL, 0);
    if (rd(VDM_MMIO_QUEUE_SIZE_MAX) < QSZ)
        return 14;
    wr(VDM_MMIO_QUEUE_SIZE, QSZ);
    wr(VDM_MMIO_QUEUE_DESC_LOW, (uint32_t)(GPA_BASE + DESC_OFF));
    wr(VDM_MMIO_QUEUE_DESC_HIGH, (uint32_t)((GPA_BASE + DESC_OFF) >> 32));
    wr(VDM_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(GPA_BASE + AVAIL_OFF));
    wr(VDM_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((GPA_BASE + AVAIL_OFF) >> 32));
    wr(VDM_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(GPA_BASE + USED_OFF));
    wr(VDM_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((GPA_BASE + USED_OFF) >> 32));
    if (wr(VDM_MMIO_QUEUE_READY, 1) != 0)
        return 15;
    wr(VDM_MMIO_STATUS, st |= VDM_STATUS_DRIVER_OK);
    if (rd(VDM_MMIO_STATUS) != st)
        return 16;

    /* One device-writable buffer (VIRTQ_DESC_F_WRITE = 2), made available. */
    st64(DESC_OFF, GPA_BASE + BUF_OFF);
    st32(DESC_OFF + 8, BUF_LEN);
    st16(DESC_OFF + 12, 2);
    st16(DESC_OFF + 14, 0);
    st16(AVAIL_OFF + 4, 0); /* ring[0] = head 0 */
    st16(AVAIL_OFF + 2, 1); /* idx = 1 */
    if (wr(VDM_MMIO_QUEUE_NOTIFY, 0) != 0)
        return 17;

    if (ld16(USED_OFF + 2) != 1 || ld32(USED_OFF + 4) != 0 ||
        ld32(USED_OFF + 8) != BUF_LEN)
        return 18;
    {
        uint32_t x = 0x12345678u;
        for (uint32_t i = 0; i < BUF_LEN; i++)
            if (ram[BUF_OFF + i] != xs_next(&x))
                return 19;
    }
    if (irqs == 0 || (rd(VDM_MMIO_INTERRUPT_STATUS) & VDM_MMIO_INT_VRING) == 0)
        return 20;
    wr(VDM_MMIO_INTERRUPT_ACK, VDM_MMIO_INT_VRING);
    return rd(VDM_MMIO_INTERRUPT_STATUS) == 0 ? 0 : 21;
}

int main(void)
{
    if (set_up() != 0)
        return 2;
    return drive();
}
