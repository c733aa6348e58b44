/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stable C ABI (DESIGN.md "Stable C ABI"), from a caller's side:
 *  - the opaque storage sizes and alignments are the committed constants
 *    (changing one breaks every caller compiled against the old header, so
 *    it needs a new major version; tests/abi/README.md), and so are the
 *    other VDM_*_SIZE macros (wire sizes fixed by the specifications);
 *  - the macros that size caller arrays are the committed formulas;
 *  - every caller-filled struct starts with its uint32_t size field, and
 *    VDM_INIT() sets it;
 *  - a caller compiled against an older, shorter config struct still works:
 *    fields past its size are never read (they hold garbage here), and a
 *    size too short for the required fields is VDM_ESIZE.
 * scripts/test.d/abi checks that every VDM_*_SIZE opaque macro and every
 * size-prefixed struct of the public headers is named in this file.
 */
#include <check.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echo_dev.h"
#include "guestmem.h"
#include "profile.h"
#include "vdm/admin.h"
#include "vdm/common.h"
#include "vdm/device.h"
#include "vdm/kit.h"
#include "vdm/devices/blk.h"
#include "vdm/devices/can.h"
#include "vdm/devices/console.h"
#include "vdm/devices/gpio.h"
#include "vdm/devices/gpu.h"
#include "vdm/devices/i2c.h"
#include "vdm/devices/input.h"
#include "vdm/devices/balloon.h"
#include "vdm/devices/rng.h"
#include "vdm/devices/rpmb.h"
#include "vdm/devices/scmi.h"
#include "vdm/devices/scmi_platform.h"
#include "vdm/devices/spi.h"
#include "vdm/devices/sound.h"
#include "vdm/mem.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/vdm.h"
#include "vdm/vfio_user.h"
#include "vdm/vhost_user.h"
#include "vdm/virtqueue.h"

/* ------------------------------------------------------------------------ */
/* Opaque storage: committed sizes, alignment 8                             */

#define OPAQUE(type, macro, value)                                             \
    do {                                                                       \
        ck_assert_uint_eq((macro), (value));                                   \
        ck_assert_uint_eq(sizeof(type), (value));                              \
        ck_assert_uint_eq(alignof(type), 8);                                   \
    } while (0)

START_TEST(opaque_sizes)
{
    OPAQUE(struct vdm_vq, VDM_VQ_SIZE, 256);
    OPAQUE(struct vdm_dev, VDM_DEV_SIZE, 512);
    OPAQUE(struct vdm_mmio, VDM_MMIO_SIZE, 256);
    OPAQUE(struct vdm_pci, VDM_PCI_SIZE, 1024);
    OPAQUE(struct vdm_vhost_user, VDM_VHOST_USER_SIZE, 8192);
    OPAQUE(struct vdm_vhost_user_ring, VDM_VHOST_USER_RING_SIZE, 128);
    OPAQUE(struct vdm_vfio_user, VDM_VFIO_USER_SIZE, 16384);
    OPAQUE(struct vdm_rng, VDM_RNG_SIZE, 640);
    OPAQUE(struct vdm_balloon, VDM_BALLOON_SIZE, 7168);
    OPAQUE(struct vdm_scmi_platform, VDM_SCMI_PLATFORM_SIZE, 1024);
    OPAQUE(struct vdm_snd, VDM_SND_SIZE, 2048);
    OPAQUE(struct vdm_snd_req, VDM_SND_REQ_SIZE, 128);
    OPAQUE(struct vdm_kit, VDM_KIT_SIZE, 128);
    OPAQUE(struct vdm_blk, VDM_BLK_SIZE, 512);
    OPAQUE(struct vdm_blk_req, VDM_BLK_REQ_SIZE, 128);
    OPAQUE(struct vdm_i2c, VDM_I2C_SIZE, 10240);
    OPAQUE(struct vdm_gpio, VDM_GPIO_SIZE, 512);
    OPAQUE(struct vdm_can, VDM_CAN_SIZE, 256);
    OPAQUE(struct vdm_console, VDM_CONSOLE_SIZE, 256);
    OPAQUE(struct vdm_input, VDM_INPUT_SIZE, 1152);
    OPAQUE(struct vdm_gpu, VDM_GPU_SIZE, 6144);
    OPAQUE(struct vdm_gpu_res, VDM_GPU_RES_SIZE, 128);
    OPAQUE(struct vdm_gpu_backing, VDM_GPU_BACKING_SIZE, 16);
    OPAQUE(struct vdm_rpmb, VDM_RPMB_SIZE, 6144);
    OPAQUE(struct vdm_spi, VDM_SPI_SIZE, 8192);
    OPAQUE(struct vdm_scmi, VDM_SCMI_SIZE, 16384);
}
END_TEST

/* Arrays the caller sizes with a macro: the formula is compiled into the
 * caller, so it is ABI as much as a struct size. */
START_TEST(array_macros)
{
    ck_assert_uint_eq(VDM_VQ_SLOTS(1), 2);
    ck_assert_uint_eq(VDM_VQ_SLOTS(256), 512);
    ck_assert_uint_eq(VDM_VQ_SLOTS(VDM_VQ_MAX_NUM), 65536);
    ck_assert_uint_eq(VDM_VQ_MAX_NUM, 32768);
    ck_assert_uint_eq(VDM_DEV_QREG_WORDS, 16);
    ck_assert_uint_eq(VDM_DEV_MAX_QUEUES, 1024);
    ck_assert_uint_eq(VDM_DEV_SLOTS(1, 8), 16 + 16);
    ck_assert_uint_eq(VDM_DEV_SLOTS(3, 256), 3 * (16 + 512));
    ck_assert_uint_eq(VDM_PCI_STORAGE_WORDS(2, 0), 0);
    ck_assert_uint_eq(VDM_PCI_STORAGE_WORDS(2, 3), 2 + 12 + 1);
    ck_assert_uint_eq(VDM_PCI_STORAGE_WORDS(1, 33), 1 + 132 + 2);
    ck_assert_uint_eq(VDM_VHOST_USER_MAX_MSG, 12 + 4096);
    ck_assert_uint_eq(VDM_VFIO_USER_MAX_MSG, 16 + 16 + 4096);
}
END_TEST

/* The other *_SIZE macros are wire sizes fixed by the VIRTIO and vhost-user
 * specifications (and register offsets): pinned too. */
START_TEST(wire_sizes)
{
    ck_assert_uint_eq(VDM_PCI_CFG_BYTES, 256);
    ck_assert_uint_eq(VDM_PCI_COMMON_BYTES, 0x40);
    ck_assert_uint_eq(VDM_PCI_COMMON_Q_SIZE, 0x18);
    ck_assert_uint_eq(VDM_MMIO_QUEUE_SIZE, 0x38);
    ck_assert_uint_eq(VDM_VHOST_USER_HDR_BYTES, 12);
    ck_assert_uint_eq(VDM_VFIO_USER_HDR_BYTES, 16);
    ck_assert_uint_eq(VDM_VFIO_USER_NUM_REGIONS, 9);
    ck_assert_uint_eq(VDM_VFIO_USER_REGION_CONFIG, 7);
    ck_assert_uint_eq(VDM_VFIO_USER_IRQ_MSIX, 2);
    ck_assert_uint_eq(VDM_BLK_SECTOR_SIZE, 512);
    ck_assert_uint_eq(VDM_BLK_CONFIG_BYTES, 60);
    /* virtio-snd wire structures (spec "Sound Device") */
    ck_assert_uint_eq(VDM_SND_CONFIG_BYTES, 16);
    ck_assert_uint_eq(VDM_SND_JACK_INFO_BYTES, 24);
    ck_assert_uint_eq(VDM_SND_PCM_INFO_BYTES, 32);
    ck_assert_uint_eq(VDM_SND_CHMAP_INFO_BYTES, 24);
    ck_assert_uint_eq(VDM_SND_CTL_INFO_BYTES, 96);
    ck_assert_uint_eq(VDM_SND_SET_PARAMS_BYTES, 24);
    ck_assert_uint_eq(VDM_SND_CTL_IEC958_BYTES, 176);
    ck_assert_uint_eq(VDM_BLK_CFG_BLK_SIZE, 20);
    ck_assert_uint_eq(VDM_BLK_CFG_MIN_IO_SIZE, 26);
    ck_assert_uint_eq(VDM_BLK_CFG_OPT_IO_SIZE, 28);
    ck_assert_uint_eq(VDM_GPIO_CFG_GPIO_NAMES_SIZE, 4);
    ck_assert_uint_eq(VDM_CAN_HDR_BYTES, 16);
    ck_assert_uint_eq(VDM_CAN_CONFIG_BYTES, 2);
    ck_assert_uint_eq(VDM_CONSOLE_CONFIG_BYTES, 12);
    ck_assert_uint_eq(VDM_CONSOLE_CONTROL_BYTES, 8);
    ck_assert_uint_eq(VDM_CONSOLE_RESIZE_BYTES, 4);
    ck_assert_uint_eq(VDM_CONSOLE_CFG_EMERG_WR, 8);
    ck_assert_uint_eq(VDM_CONSOLE_PORT_BYTES, 144);
    ck_assert_uint_eq(VDM_INPUT_EVENT_BYTES, 8);
    ck_assert_uint_eq(VDM_INPUT_CONFIG_BYTES, 136);
    ck_assert_uint_eq(VDM_INPUT_CFG_OFF_SIZE, 2);
    ck_assert_uint_eq(VDM_SCMI_RESPONSE_MIN_BYTES, 8);
    ck_assert_uint_eq(VDM_SCMI_NOTIFICATION_MAX_BYTES, 28);
    ck_assert_uint_eq(VDM_SCMI_MAX_PAYLOAD_DEFAULT, 128);
    ck_assert_uint_eq(VDM_SCMI_NOTIFY_QUEUE, 16);
    ck_assert_uint_eq(VDM_SCMI_PLATFORM_STATE_BYTES(1, 0, 0), 4);
    ck_assert_uint_eq(VDM_SCMI_PLATFORM_STATE_BYTES(0, 1, 0), 16);
    ck_assert_uint_eq(VDM_SCMI_PLATFORM_STATE_BYTES(0, 0, 1), 80);
}
END_TEST

/* Values compiled into callers: error codes, version, bits. */
START_TEST(constants)
{
    static const int codes[] = {
        VDM_OK,      VDM_EINVAL,  VDM_ENOSPC, VDM_EFAULT, VDM_EPROTO,
        VDM_EBROKEN, VDM_ENOTSUP, VDM_ESTATE, VDM_ERANGE, VDM_EAGAIN,
        VDM_EIO,     VDM_EBUSY,   VDM_ENOENT, VDM_ESIZE};
    for (int i = 0; i < (int)(sizeof(codes) / sizeof(codes[0])); i++) {
        ck_assert_int_eq(codes[i], -i);
        ck_assert_ptr_nonnull(vdm_strerror(codes[i]));
    }
    ck_assert_int_eq(VDM_VERSION_MAJOR, 0);
    ck_assert_uint_eq(vdm_version() >> 16, VDM_VERSION_MAJOR);
    ck_assert_uint_eq(vdm_version(), VDM_VERSION_HEX);
    ck_assert_uint_eq(VDM_STATUS_ACKNOWLEDGE, 1);
    ck_assert_uint_eq(VDM_STATUS_DRIVER, 2);
    ck_assert_uint_eq(VDM_STATUS_DRIVER_OK, 4);
    ck_assert_uint_eq(VDM_STATUS_FEATURES_OK, 8);
    ck_assert_uint_eq(VDM_STATUS_DEVICE_NEEDS_RESET, 64);
    ck_assert_uint_eq(VDM_STATUS_FAILED, 128);
    ck_assert_uint_eq(VDM_F_VERSION_1, 1ull << 32);
    ck_assert_uint_eq(VDM_F_RING_PACKED, 1ull << 34);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Caller-filled structs: leading uint32_t size, set by VDM_INIT            */

#define SIZED(type)                                                            \
    do {                                                                       \
        type v_ = VDM_INIT(type);                                              \
        ck_assert_uint_eq(offsetof(type, size), 0);                            \
        ck_assert_uint_eq(sizeof(v_.size), sizeof(uint32_t));                  \
        ck_assert_uint_eq(v_.size, sizeof(type));                              \
    } while (0)

START_TEST(size_first)
{
    SIZED(struct vdm_mem_ops);
    SIZED(struct vdm_mem);
    SIZED(struct vdm_dirty_log);
    SIZED(struct vdm_vq_ops);
    SIZED(struct vdm_vq_config);
    SIZED(struct vdm_device_class);
    SIZED(struct vdm_admin_ops);
    SIZED(struct vdm_host_ops);
    SIZED(struct vdm_transport_ops);
    SIZED(struct vdm_dev_config);
    SIZED(struct vdm_mmio_ops);
    SIZED(struct vdm_mmio_config);
    SIZED(struct vdm_pci_ops);
    SIZED(struct vdm_pci_config);
    SIZED(struct vdm_vhost_user_ops);
    SIZED(struct vdm_vhost_user_config);
    SIZED(struct vdm_vfio_user_ops);
    SIZED(struct vdm_vfio_user_config);
    SIZED(struct vdm_rng_ops);
    SIZED(struct vdm_rng_config);
    SIZED(struct vdm_balloon_ops);
    SIZED(struct vdm_balloon_config);
    SIZED(struct vdm_balloon_counters);
    SIZED(struct vdm_scmi_platform_ops);
    SIZED(struct vdm_scmi_platform_config);
    SIZED(struct vdm_snd_ops);
    SIZED(struct vdm_snd_config);
    SIZED(struct vdm_snd_params);
    SIZED(struct vdm_blk_ops);
    SIZED(struct vdm_blk_config);
    SIZED(struct vdm_input_ops);
    SIZED(struct vdm_input_config);
    SIZED(struct vdm_kit_config);
    SIZED(struct vdm_i2c_ops);
    SIZED(struct vdm_i2c_config);
    SIZED(struct vdm_gpio_ops);
    SIZED(struct vdm_gpio_config);
    SIZED(struct vdm_gpu_ops);
    SIZED(struct vdm_gpu_config);
    SIZED(struct vdm_rpmb_ops);
    SIZED(struct vdm_rpmb_config);
    SIZED(struct vdm_can_ops);
    SIZED(struct vdm_can_config);
    SIZED(struct vdm_console_ops);
    SIZED(struct vdm_console_config);
    SIZED(struct vdm_console_port_info);
    SIZED(struct vdm_spi_ops);
    SIZED(struct vdm_spi_config);
    SIZED(struct vdm_scmi_ops);
    SIZED(struct vdm_scmi_config);
}
END_TEST

/* Fixed-width ABI structs have the same layout on every target (32/64-bit,
 * either endianness). */
START_TEST(fixed_layouts)
{
    ck_assert_uint_eq(sizeof(struct vdm_vq_state), 8);
    ck_assert_uint_eq(offsetof(struct vdm_vq_state, used_idx), 2);
    ck_assert_uint_eq(offsetof(struct vdm_vq_state, avail_wrap), 4);
    ck_assert_uint_eq(offsetof(struct vdm_vq_state, used_wrap), 5);
    ck_assert_uint_eq(sizeof(struct vdm_used), 8);
    ck_assert_uint_eq(offsetof(struct vdm_used, len), 4);
    ck_assert_uint_eq(sizeof(struct vdm_feature_dep), 16);
    ck_assert_uint_eq(offsetof(struct vdm_feature_dep, needs), 8);
    ck_assert_uint_eq(offsetof(struct vdm_mem_region, size), 8);
    ck_assert_uint_eq(offsetof(struct vdm_mem_region, hva), 16);
    ck_assert_uint_eq(sizeof(struct vdm_input_event), 8);
    ck_assert_uint_eq(offsetof(struct vdm_input_event, value), 4);
    ck_assert_uint_eq(offsetof(struct vdm_mmio_shm, id), 16);
    ck_assert_uint_eq(sizeof(struct vdm_mmio_shm), 24);
    ck_assert_uint_eq(offsetof(struct vdm_spi_transfer, mode), 8);
    ck_assert_uint_eq(offsetof(struct vdm_spi_transfer, len), 32);
    ck_assert_uint_eq(offsetof(struct vdm_spi_transfer, tx), 40);
    ck_assert_uint_eq(sizeof(struct vdm_can_frame), 80);
    ck_assert_uint_eq(offsetof(struct vdm_can_frame, length), 8);
    ck_assert_uint_eq(offsetof(struct vdm_can_frame, dlc), 10);
    ck_assert_uint_eq(offsetof(struct vdm_can_frame, data), 16);
    ck_assert_uint_eq(offsetof(struct vdm_console_config, storage),
                      offsetof(struct vdm_console_config, tx_slots) + 8);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Older callers                                                            */

struct hookrec {
    unsigned faults, logs, translates, unmaps;
};

static void rec_fault(void *ctx, uint16_t q, int err, const char *why)
{
    (void)q;
    (void)err;
    (void)why;
    ((struct hookrec *)ctx)->faults++;
}
static const struct vdm_vq_ops rec_vq_ops = {.size = sizeof(struct vdm_vq_ops),
                                             .fault = rec_fault};

/* Garbage in the bytes past an older caller's struct. */
#define JUNK_PTR ((void *)(uintptr_t)0x5a5a5a5a5a5a5a5aull)

static struct vqenv *old_vq_env(uint32_t cfg_size, struct hookrec *rec, int *rc)
{
    struct vqenv *e = vqenv_new(8, 0);

    vdm_vq_reset(&e->vq);
    e->cfg.size = cfg_size;
    e->cfg.max_chain = 1;     /* would refuse every 2-descriptor chain */
    e->cfg.ops = &rec_vq_ops; /* would count the violation below */
    e->cfg.ctx = rec;
    *rc = vdm_vq_init(&e->vq, &e->cfg);
    return e;
}

/* A caller of the first vdm_vq_config (up to `slots`): max_chain, ops and
 * ctx are not read. */
START_TEST(vq_config_older_prefix)
{
    struct hookrec rec = {0};
    int rc;
    struct vqenv *e = old_vq_env(
        (uint32_t)offsetof(struct vdm_vq_config, max_chain), &rec, &rc);
    struct drv_buf out = {drv_alloc(&e->gm.g, 64, 16), 64};
    struct drv_buf in = {drv_alloc(&e->gm.g, 64, 16), 64};

    ck_assert_int_eq(rc, 0);
    ck_assert_int_ge(drv_vq_add(&e->dq, &out, 1, &in, 1, DRV_ADD_DIRECT, NULL),
                     0);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1); /* max_chain ignored */
    ck_assert_uint_eq(e->c.nread, 1);
    ck_assert_uint_eq(e->c.nwrite, 1);
    ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);

    /* A violation: avail idx far ahead. The fault hook past the caller's
     * struct must not be called. */
    drv_vq_raw_avail_idx(&e->dq, (uint16_t)(drv_vq_avail_idx(&e->dq) + 100));
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(rec.faults, 0);
    vqenv_free(e);
}
END_TEST

/* The same queue with the whole struct: both fields take effect (so the
 * test above proves something). */
START_TEST(vq_config_full)
{
    struct hookrec rec = {0};
    int rc;
    struct vqenv *e = old_vq_env(sizeof(struct vdm_vq_config), &rec, &rc);
    struct drv_buf out = {drv_alloc(&e->gm.g, 64, 16), 64};
    struct drv_buf in = {drv_alloc(&e->gm.g, 64, 16), 64};

    ck_assert_int_eq(rc, 0);
    ck_assert_int_ge(drv_vq_add(&e->dq, &out, 1, &in, 1, DRV_ADD_DIRECT, NULL),
                     0);
    drv_vq_publish(&e->dq);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(rec.faults, 1);
    vqenv_free(e);
}
END_TEST

/* Too short for the required fields, or not set at all: VDM_ESIZE. */
START_TEST(vq_config_too_short)
{
    struct hookrec rec = {0};
    int rc;
    struct vqenv *e =
        old_vq_env((uint32_t)offsetof(struct vdm_vq_config, slots), &rec, &rc);

    ck_assert_int_eq(rc, VDM_ESIZE);
    e->cfg.size = 0;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), VDM_ESIZE);
    e->cfg.size = sizeof(struct vdm_vq_config);
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), 0);
    vqenv_free(e);
}
END_TEST

/* An ops table from a caller that predates the fault hook. */
START_TEST(vq_ops_older)
{
    struct hookrec rec = {0};
    int rc;
    struct vqenv *e = old_vq_env(sizeof(struct vdm_vq_config), &rec, &rc);
    struct vdm_vq_ops ops = {.size =
                                 (uint32_t)offsetof(struct vdm_vq_ops, fault),
                             .fault = rec_fault};

    vdm_vq_reset(&e->vq);
    e->cfg.max_chain = 0;
    e->cfg.ops = &ops;
    ck_assert_int_eq(vdm_vq_init(&e->vq, &e->cfg), 0);
    drv_vq_raw_avail_idx(&e->dq, 100);
    ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), VDM_EPROTO);
    ck_assert_uint_eq(rec.faults, 0);
    vqenv_free(e);
}
END_TEST

/* Guest memory: a vdm_mem / vdm_mem_ops of an older caller. */
static struct hookrec mem_rec;
static uint8_t hook_page[4096];

static int rec_translate(void *host, uint64_t addr, uint64_t len,
                         uint32_t access, void **hva, uint64_t *maplen)
{
    (void)host;
    (void)access;
    mem_rec.translates++;
    *hva = hook_page + (addr & 0xfffu);
    *maplen = len < 4096u - (addr & 0xfffu) ? len : 4096u - (addr & 0xfffu);
    return 0;
}
static void rec_unmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    (void)hva;
    (void)len;
    mem_rec.unmaps++;
}

START_TEST(mem_older)
{
    static uint8_t ram[4096];
    const struct vdm_mem_region reg = {
        .gpa = 0x1000, .size = sizeof(ram), .hva = ram};
    struct vdm_mem_ops ops = VDM_INIT(struct vdm_mem_ops);
    struct vdm_mem m = VDM_INIT(struct vdm_mem);
    struct vdm_iov iov[2];
    void *hva = NULL;
    int n;

    ops.translate = rec_translate;
    ops.unmap = rec_unmap;
    m.nregions = 1;
    m.regions = &reg;
    m.ops = &ops;
    memset(&mem_rec, 0, sizeof(mem_rec));

    /* A caller from before the hooks: ops and host are not read. */
    m.size = (uint32_t)offsetof(struct vdm_mem, ops);
    m.host = JUNK_PTR;
    ck_assert_int_eq(vdm_mem_check(&m), 0);
    ck_assert_int_eq(vdm_mem_lookup(&m, 0x1010, 16, VDM_MEM_READ, &hva), 0);
    ck_assert_ptr_eq(hva, ram + 0x10);
    ck_assert_int_eq(vdm_mem_lookup(&m, 0x9000, 16, VDM_MEM_READ, &hva),
                     VDM_EFAULT);
    ck_assert_uint_eq(mem_rec.translates, 0);

    /* The whole struct: the hook maps what no region covers. */
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    m.size = sizeof(struct vdm_mem);
    m.host = NULL;
    n = vdm_mem_map(&m, 0x9000, 16, VDM_MEM_READ, iov, 2);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(mem_rec.translates, 1);
    ck_assert_uint_ne(iov[0].flags & VDM_IOV_F_HOOK, 0);
    vdm_mem_release(&m, iov, (uint32_t)n);
    ck_assert_uint_eq(mem_rec.unmaps, 1);

    /* An ops table from before `unmap`: spans are not given back. */
    ops.size = (uint32_t)offsetof(struct vdm_mem_ops, unmap);
    n = vdm_mem_map(&m, 0x9000, 16, VDM_MEM_READ, iov, 2);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(mem_rec.translates, 2);
    vdm_mem_release(&m, iov, (uint32_t)n);
    ck_assert_uint_eq(mem_rec.unmaps, 1);
}
END_TEST

/* Device core: the host ops table of an older caller (no log hook). */
static unsigned host_logs;
static void rec_log(void *host, int level, const char *msg)
{
    (void)host;
    (void)level;
    (void)msg;
    host_logs++;
}

struct devenv {
    struct gm gm;
    struct vdm_dev dev;
    struct echo_dev echo;
    struct vdm_vq queues[1];
    uint32_t slots[VDM_DEV_SLOTS(1, 8)];
    struct vdm_dev_config base;
};

static struct devenv *devenv_new(const struct vdm_host_ops *ops)
{
    struct devenv *e = calloc(1, sizeof(*e));

    ck_assert_ptr_nonnull(e);
    gm_init1(&e->gm, 0x10000, 1u << 20);
    e->base = VDM_INIT(struct vdm_dev_config);
    e->base.num_queues = 1;
    e->base.queue_size_max = 8;
    e->base.mem = &e->gm.mem;
    e->base.ops = ops;
    e->base.queues = e->queues;
    e->base.slots = e->slots;
    ck_assert_int_eq(echo_init(&e->echo, &e->dev, &e->base, 0), 0);
    return e;
}

static void devenv_free(struct devenv *e)
{
    gm_fini(&e->gm);
    free(e);
}

START_TEST(host_ops_older)
{
    struct vdm_host_ops ops = VDM_INIT(struct vdm_host_ops);
    struct devenv *e;

    ops.log = rec_log;
    ops.size = (uint32_t)offsetof(struct vdm_host_ops, log);
    e = devenv_new(&ops);
    host_logs = 0;
    vdm_dev_log(&e->dev, VDM_LOG_ERROR, "not seen");
    /* Out of reset state: NEEDS_RESET is not set while status is 0. */
    ck_assert_int_eq(vdm_dev_set_status(&e->dev, VDM_STATUS_ACKNOWLEDGE), 0);
    vdm_dev_needs_reset(&e->dev, VDM_EPROTO, "not seen either");
    ck_assert_uint_eq(host_logs, 0);
    ck_assert_uint_ne(vdm_dev_status(&e->dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
    devenv_free(e);

    ops.size = sizeof(struct vdm_host_ops);
    e = devenv_new(&ops);
    vdm_dev_log(&e->dev, VDM_LOG_ERROR, "seen");
    ck_assert_uint_eq(host_logs, 1);
    devenv_free(e);
}
END_TEST

/* vdm_dev_config has no optional tail yet: any shorter size is refused. */
START_TEST(dev_config_too_short)
{
    struct devenv *e = devenv_new(NULL);
    struct vdm_dev_config c = e->base;

    c.cls = &echo_class;
    c.priv = &e->echo;
    ck_assert_int_eq(vdm_dev_init(&e->dev, &c), 0);
    c.size = (uint32_t)offsetof(struct vdm_dev_config, slots);
    ck_assert_int_eq(vdm_dev_init(&e->dev, &c), VDM_ESIZE);
    c.size = 0;
    ck_assert_int_eq(vdm_dev_init(&e->dev, &c), VDM_ESIZE);
    devenv_free(e);
}
END_TEST

/* virtio-mmio: a config from before shared memory regions. */
START_TEST(mmio_config_older_prefix)
{
    struct devenv *e = devenv_new(NULL);
    struct vdm_mmio t;
    struct vdm_mmio_config c = VDM_INIT(struct vdm_mmio_config);
    uint64_t v = 0;

    c.vendor_id = 0x1234;
    c.shm = JUNK_PTR;
    c.nshm = 3;
    c.reserved = 7;
    ck_assert_int_eq(vdm_mmio_init(&t, &e->dev, &c), VDM_EINVAL);
    c.size = (uint32_t)offsetof(struct vdm_mmio_config, shm);
    ck_assert_int_eq(vdm_mmio_init(&t, &e->dev, &c), 0);
    ck_assert_int_eq(vdm_mmio_read(&t, VDM_MMIO_VENDOR_ID, 4, &v), 0);
    ck_assert_uint_eq(v, 0x1234);
    /* No shared memory region: SHMLen reads as all ones (spec). */
    ck_assert_int_eq(vdm_mmio_write(&t, VDM_MMIO_SHM_SEL, 4, 0), 0);
    ck_assert_int_eq(vdm_mmio_read(&t, VDM_MMIO_SHM_LEN_LOW, 4, &v), 0);
    ck_assert_uint_eq(v, 0xffffffffu);
    c.size = (uint32_t)offsetof(struct vdm_mmio_config, host);
    ck_assert_int_eq(vdm_mmio_init(&t, &e->dev, &c), VDM_ESIZE);
    devenv_free(e);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *t = tcase_create("layout");

    tcase_add_test(t, opaque_sizes);
    tcase_add_test(t, array_macros);
    tcase_add_test(t, wire_sizes);
    tcase_add_test(t, constants);
    tcase_add_test(t, size_first);
    tcase_add_test(t, fixed_layouts);
    suite_add_tcase(s, t);

    t = tcase_create("older_callers");
    tcase_add_test(t, vq_config_older_prefix);
    tcase_add_test(t, vq_config_full);
    tcase_add_test(t, vq_config_too_short);
    tcase_add_test(t, vq_ops_older);
    tcase_add_test(t, mem_older);
    tcase_add_test(t, host_ops_older);
    tcase_add_test(t, dev_config_too_short);
    tcase_add_test(t, mmio_config_older_prefix);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(abi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
