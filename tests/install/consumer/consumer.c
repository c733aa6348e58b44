/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program outside the source tree that uses an installed vdm: it includes
 * only <vdm/...> headers and links only what pkg-config or find_package(vdm)
 * give it. It prints the library version, then plays both sides of one
 * split virtqueue on a small guest memory buffer (the driver posts a
 * readable and a writable buffer, the device pops, copies and pushes), and
 * brings up an entropy device behind the virtio-mmio transport. Exit 0 when
 * everything behaved.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vdm/devices/rng.h>
#include <vdm/mmio.h>
#include <vdm/vdm.h>

#define QSZ 4u
#define GPA 0x100000ull

static _Alignas(4096) uint8_t ram[8192];

static void put16(uint64_t gpa, uint16_t v)
{
    ram[gpa - GPA] = (uint8_t)v;
    ram[gpa - GPA + 1] = (uint8_t)(v >> 8);
}
static void put32(uint64_t gpa, uint32_t v)
{
    put16(gpa, (uint16_t)v);
    put16(gpa + 2, (uint16_t)(v >> 16));
}
static void put64(uint64_t gpa, uint64_t v)
{
    put32(gpa, (uint32_t)v);
    put32(gpa + 4, (uint32_t)(v >> 32));
}
static uint32_t get32(uint64_t gpa)
{
    const uint8_t *p = ram + (gpa - GPA);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "consumer: %s:%d: %s failed\n", __FILE__,          \
                    __LINE__, #cond);                                          \
            return 1;                                                          \
        }                                                                      \
    } while (0)

static int vq_roundtrip(const struct vdm_mem *mem)
{
    const uint64_t desc = GPA, avail = GPA + 0x100, used = GPA + 0x200;
    const uint64_t in = GPA + 0x1000, out = GPA + 0x1100;
    static uint32_t slots[VDM_VQ_SLOTS(QSZ)];
    struct vdm_vq vq;
    struct vdm_vq_config cfg = VDM_INIT(struct vdm_vq_config);
    struct vdm_iov iov[4];
    struct vdm_chain c = {.iov = iov, .iov_cap = 4};
    char buf[16] = {0};

    cfg.num = QSZ;
    cfg.features = VDM_F_VERSION_1;
    cfg.desc_addr = desc;
    cfg.driver_addr = avail;
    cfg.device_addr = used;
    cfg.mem = mem;
    cfg.slots = slots;
    CHECK(vdm_vq_init(&vq, &cfg) == 0);
    CHECK(vdm_vq_pop(&vq, &c) == 0); /* nothing available yet */

    /* Driver: "hello" readable (desc 0, NEXT) then 16 bytes writable. */
    memcpy(ram + (in - GPA), "hello", 5);
    put64(desc, in);
    put32(desc + 8, 5);
    put16(desc + 12, 1); /* VIRTQ_DESC_F_NEXT */
    put16(desc + 14, 1);
    put64(desc + 16, out);
    put32(desc + 24, 16);
    put16(desc + 28, 2); /* VIRTQ_DESC_F_WRITE */
    put16(avail + 4, 0);
    put16(avail + 2, 1);

    CHECK(vdm_vq_pop(&vq, &c) == 1);
    CHECK(c.nread == 1 && c.nwrite == 1 && c.read_len == 5 &&
          c.write_len == 16);
    CHECK(vdm_chain_copy_from(&c, 0, buf, sizeof(buf)) == 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK(vdm_chain_copy_to(&c, 0, "HELLO", 5) == 5);
    CHECK(vdm_vq_push(&vq, c.id, 5) == 0);
    CHECK(get32(used) >> 16 == 1); /* used idx */
    CHECK(get32(used + 4) == 0);   /* id */
    CHECK(get32(used + 8) == 5);   /* len */
    CHECK(memcmp(ram + (out - GPA), "HELLO", 5) == 0);
    vdm_vq_reset(&vq);
    return 0;
}

static int fill(void *host, void *buf, uint32_t len)
{
    (void)host;
    memset(buf, 0xa5, len);
    return (int)len;
}

static int rng_over_mmio(const struct vdm_mem *mem)
{
    static const struct vdm_rng_ops ops = {.size = sizeof(ops), .fill = fill};
    static struct vdm_vq queues[1];
    static uint32_t slots[VDM_DEV_SLOTS(1, QSZ)];
    struct vdm_dev dev;
    struct vdm_rng rng;
    struct vdm_mmio mmio;
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);
    struct vdm_rng_config rc = VDM_INIT(struct vdm_rng_config);
    struct vdm_mmio_config mc = VDM_INIT(struct vdm_mmio_config);
    uint64_t v = 0;

    base.queue_size_max = QSZ;
    base.mem = mem;
    base.queues = queues;
    base.slots = slots;
    rc.ops = &ops;
    CHECK(vdm_rng_init(&rng, &dev, &rc, &base) == 0);
    CHECK(vdm_rng_dev(&rng) == &dev);
    CHECK(vdm_mmio_init(&mmio, &dev, &mc) == 0);
    CHECK(vdm_mmio_read(&mmio, VDM_MMIO_MAGIC_VALUE, 4, &v) == 0 &&
          v == VDM_MMIO_MAGIC);
    CHECK(vdm_mmio_read(&mmio, VDM_MMIO_DEVICE_ID, 4, &v) == 0 &&
          v == VDM_VIRTIO_ID_RNG);
    CHECK(vdm_dev_device_id(&dev) == VDM_VIRTIO_ID_RNG);
    return 0;
}

int main(void)
{
    const struct vdm_mem_region reg = {
        .gpa = GPA, .size = sizeof(ram), .hva = ram};
    struct vdm_mem mem = VDM_INIT(struct vdm_mem);
    char want[32];

    mem.nregions = 1;
    mem.regions = &reg;
    snprintf(want, sizeof(want), "%d.%d.%d", VDM_VERSION_MAJOR,
             VDM_VERSION_MINOR, VDM_VERSION_PATCH);
    printf("consumer: vdm %s (headers %s)\n", vdm_version_string(), want);
    CHECK(strcmp(vdm_version_string(), want) == 0);
    CHECK(vdm_version() == VDM_VERSION_HEX);
    CHECK(vdm_mem_check(&mem) == 0);
    if (vq_roundtrip(&mem) != 0 || rng_over_mmio(&mem) != 0)
        return 1;
    printf("consumer: ok\n");
    return 0;
}
