/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-mmio register file. A real device (blk, rng or
 * input, picked by the input) sits behind vdm_mmio; the input is a stream
 * of guest register reads and writes of any offset, width and value,
 * interleaved with driver traffic on whatever rings the stream programmed
 * (fuzz_dev.h), hardware resets and host config changes.
 *
 * Oracles: identification registers always read right; an ignored access
 * reads 0; the interrupt line is high exactly while InterruptStatus is
 * non-zero; writing Status 0 resets the device; plus everything fuzz_dev.c
 * checks on the traffic.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/mmio.h"

static struct {
    struct vdm_mmio t;
    struct vdm_mmio_ops ops;
    struct vdm_mmio_shm shm[2];
    struct vdm_dev *dev;
    int line;
    unsigned raises;
    unsigned long st_reg;
} M;

static void mirq(void *host, int level)
{
    (void)host;
    FZ_CHECK(level == 0 || level == 1, "irq level %d", level);
    if (level)
        M.raises++;
    M.line = level;
}

static void mlog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG,
             "bad log call");
}

static void check_line(void)
{
    uint32_t is = vdm_mmio_interrupt_status(&M.t);
    FZ_CHECK(M.line == (is != 0), "line %d with InterruptStatus %#x", M.line,
             is);
    FZ_CHECK((is & ~3u) == 0, "InterruptStatus %#x", is);
}

static void reg_read(uint64_t off, uint32_t width)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    int rc = vdm_mmio_read(&M.t, off, width, &v);
    M.st_reg++;
    if (rc != 0) {
        FZ_CHECK(v == 0, "refused read (%d) at %#llx yields %#llx", rc,
                 (unsigned long long)off, (unsigned long long)v);
        return;
    }
    FZ_CHECK(width == 8 || (v >> (8 * width)) == 0,
             "read of width %u gave %#llx", width, (unsigned long long)v);
    if (width == 4) {
        if (off == VDM_MMIO_MAGIC_VALUE)
            FZ_CHECK(v == VDM_MMIO_MAGIC, "magic %#llx", (unsigned long long)v);
        if (off == VDM_MMIO_VERSION_REG)
            FZ_CHECK(v == VDM_MMIO_VERSION, "version %llu",
                     (unsigned long long)v);
        if (off == VDM_MMIO_DEVICE_ID)
            FZ_CHECK(v == vdm_dev_device_id(M.dev), "device id %llu",
                     (unsigned long long)v);
        if (off == VDM_MMIO_STATUS)
            FZ_CHECK(v == vdm_dev_status(M.dev), "status %#llx vs %#x",
                     (unsigned long long)v, vdm_dev_status(M.dev));
        if (off == VDM_MMIO_INTERRUPT_STATUS)
            FZ_CHECK(v == vdm_mmio_interrupt_status(&M.t),
                     "InterruptStatus register %#llx", (unsigned long long)v);
    }
    FZ_CHECK(off < vdm_mmio_window_size(&M.t), "read at %#llx past the window",
             (unsigned long long)off);
}

static void reg_write(uint64_t off, uint32_t width, uint64_t val)
{
    int rc = vdm_mmio_write(&M.t, off, width, val);
    M.st_reg++;
    if (fz_trace())
        fprintf(stderr, "  write %#llx/%u = %#llx: %d\n",
                (unsigned long long)off, width, (unsigned long long)val, rc);
    if (rc == 0 && off == VDM_MMIO_STATUS && width == 4 && val == 0)
        FZ_CHECK(vdm_dev_status(M.dev) == 0 &&
                     vdm_mmio_interrupt_status(&M.t) == 0,
                 "status write 0 did not reset (status %#x, int %#x)",
                 vdm_dev_status(M.dev), vdm_mmio_interrupt_status(&M.t));
    fd_poll();
}

static void mmio_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    (void)q;
    reg_write(VDM_MMIO_QUEUE_NOTIFY, 4, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    unsigned kind = fz_u8(&f) % FZ_KIND_COUNT;
    uint8_t cb = fz_u8(&f);
    uint16_t qmax = (uint16_t)(1u << (fz_u8(&f) % 7));
    uint8_t fl = fz_u8(&f);

    fm_reset(!!(fl & VQF_HOOKS), 0);
    memset(&M, 0, sizeof(M));
    M.dev = fd_create(kind, cb, qmax, NULL);
    M.ops =
        (struct vdm_mmio_ops){.size = sizeof(M.ops), .irq = mirq, .log = mlog};
    M.shm[0] =
        (struct vdm_mmio_shm){.base = 0x100000000ull, .len = 0x10000, .id = 0};
    M.shm[1] =
        (struct vdm_mmio_shm){.base = 0x200000000ull, .len = 0x1000, .id = 7};
    struct vdm_mmio_config cfg = {.size = sizeof(cfg),
                                  .vendor_id = (fl & 1) ? 0x1234 : 0,
                                  .ops = &M.ops,
                                  .shm = (fl & 2) ? M.shm : NULL,
                                  .nshm = (fl & 2) ? 2 : 0};
    int rc = vdm_mmio_init(&M.t, M.dev, &cfg);
    FZ_CHECK(rc == 0, "mmio init %d", rc);
    fd_set_notify(mmio_notify, NULL);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 4096) {
        unsigned op = fz_u8(&f) % MMIO_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u\n", ops, op);
        switch (op) {
        case MMIO_OP_READ: {
            uint16_t off = fz_u16(&f);
            reg_read(off, fz_u8(&f));
            break;
        }
        case MMIO_OP_WRITE: {
            uint16_t off = fz_u16(&f);
            uint8_t w = fz_u8(&f);
            reg_write(off, w, fz_u64(&f));
            break;
        }
        case MMIO_OP_DEV: fd_dev_op(&f); break;
        case MMIO_OP_RESET:
            FZ_CHECK(vdm_mmio_reset(&M.t) == 0, "mmio reset");
            FZ_CHECK(vdm_dev_status(M.dev) == 0, "status after reset");
            fd_poll();
            break;
        default: fd_config_change(fz_u32(&f)); break;
        }
        check_line();
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr, "mmio: %lu register accesses, %u raises; %s\n",
                M.st_reg, M.raises, buf);
    }
    vdm_mmio_reset(&M.t);
    check_line();
    fd_finish();
    return 0;
}
