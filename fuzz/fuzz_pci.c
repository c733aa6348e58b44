/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-pci modern function. A real device (blk, rng or
 * input) sits behind vdm_pci with a fuzzed layout (BAR width, prefetch,
 * INTx, MSI-X table size); the input is a stream of configuration space
 * accesses (BAR sizing and placement, command register, capability
 * registers, the PCI config access window, MSI-X control), BAR accesses
 * (common configuration, notifications, ISR, device configuration, MSI-X
 * table and PBA) by BAR number or by guest-physical address through
 * vdm_pci_decode(), function resets, host config changes and driver
 * traffic on the rings the stream programmed (fuzz_dev.h).
 *
 * Oracles: the identification registers never change; an ignored access
 * reads 0; an MSI is only sent for a vector of the table; INTx changes
 * level on every call and matches vdm_pci_intx_level();
 * the config-space BARs agree with vdm_pci_bar_info(); plus everything
 * fuzz_dev.c checks on the traffic.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/pci.h"

#define MAXVEC 8u

struct cap {
    uint8_t pos, bar;
    uint32_t off, len;
};

static struct {
    struct vdm_pci t;
    struct vdm_pci_ops ops;
    uint32_t storage[VDM_PCI_STORAGE_WORDS(FD_MAXQ, MAXVEC)];
    struct vdm_dev *dev;
    uint16_t nvec;
    int intx;
    uint8_t msix_pos;
    struct cap common, notify;
    uint32_t notify_mult;
    unsigned long st_cfg, st_bar, st_msi;
} P;

static void pirq(void *host, int level)
{
    (void)host;
    FZ_CHECK(level == !P.intx, "INTx %d while at %d (transitions only)", level,
             P.intx);
    P.intx = level;
}

static void pmsi(void *host, uint16_t vector, uint64_t addr, uint32_t data)
{
    (void)host;
    (void)addr;
    (void)data;
    FZ_CHECK(vector < P.nvec, "MSI for vector %u of %u", vector, P.nvec);
    P.st_msi++;
}

static void plog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG,
             "bad log call");
}

static uint32_t cfg_rd(uint32_t off, uint32_t w)
{
    uint32_t v = 0;
    vdm_pci_cfg_read(&P.t, off, w, &v);
    return v;
}

/* Find the structures the harness itself needs (a read-only walk). */
static void walk_caps(void)
{
    unsigned pos = cfg_rd(0x34, 1) & ~3u, n = 0;
    while (pos >= 0x40 && pos < 0x100 && n++ < 48) {
        uint32_t id = cfg_rd(pos, 1);
        if (id == 0x11)
            P.msix_pos = (uint8_t)pos;
        if (id == 0x09) {
            uint32_t type = cfg_rd(pos + 3, 1);
            struct cap c = {(uint8_t)pos, (uint8_t)cfg_rd(pos + 4, 1),
                            cfg_rd(pos + 8, 4), cfg_rd(pos + 12, 4)};
            if (type == VDM_PCI_CAP_COMMON_CFG && !P.common.pos)
                P.common = c;
            if (type == VDM_PCI_CAP_NOTIFY_CFG && !P.notify.pos) {
                P.notify = c;
                P.notify_mult = cfg_rd(pos + 16, 4);
            }
        }
        pos = cfg_rd(pos + 1, 1) & ~3u;
    }
}

static void after_access(void)
{
    FZ_CHECK(cfg_rd(0, 2) == VDM_PCI_VENDOR_ID, "vendor id changed");
    FZ_CHECK(cfg_rd(2, 2) == VDM_PCI_DEVICE_ID_BASE + vdm_dev_device_id(P.dev),
             "device id changed");
    for (uint32_t b = 0; b < 6; b++) {
        uint64_t addr, sz;
        if (vdm_pci_bar_info(&P.t, b, &addr, &sz) != 0)
            continue;
        FZ_CHECK(sz >= 4096 && (sz & (sz - 1)) == 0, "BAR %u size %#llx", b,
                 (unsigned long long)sz);
        uint64_t lo = cfg_rd(0x10 + 4 * b, 4);
        FZ_CHECK((lo & ~0xfull) == (addr & 0xfffffff0ull),
                 "BAR %u register %#llx vs info %#llx", b,
                 (unsigned long long)lo, (unsigned long long)addr);
    }
    fd_poll();
}

static void bar_read(uint32_t bar, uint64_t off, uint32_t w)
{
    uint64_t v = 0x5555555555555555ull;
    int rc = vdm_pci_bar_read(&P.t, bar, off, w, &v);
    P.st_bar++;
    if (rc != 0)
        FZ_CHECK(v == 0, "refused BAR read (%d) yields %#llx", rc,
                 (unsigned long long)v);
    else
        FZ_CHECK(w >= 8 || (v >> (8 * w)) == 0, "BAR read width %u: %#llx", w,
                 (unsigned long long)v);
}

static void bar_write(uint32_t bar, uint64_t off, uint32_t w, uint64_t v)
{
    vdm_pci_bar_write(&P.t, bar, off, w, v);
    P.st_bar++;
}

static void pci_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    uint64_t sel = 0, noff = 0;
    if (!P.common.pos || !P.notify.pos)
        return;
    /* As a driver: select the queue, read its notify offset. */
    vdm_pci_bar_read(&P.t, P.common.bar, P.common.off + VDM_PCI_COMMON_Q_SELECT,
                     2, &sel);
    vdm_pci_bar_write(&P.t, P.common.bar,
                      P.common.off + VDM_PCI_COMMON_Q_SELECT, 2, q);
    vdm_pci_bar_read(&P.t, P.common.bar, P.common.off + VDM_PCI_COMMON_Q_NOFF,
                     2, &noff);
    vdm_pci_bar_write(&P.t, P.common.bar,
                      P.common.off + VDM_PCI_COMMON_Q_SELECT, 2, sel);
    int nd = !!(vdm_dev_features(P.dev) & VDM_F_NOTIFICATION_DATA);
    bar_write(P.notify.bar, P.notify.off + noff * P.notify_mult, nd ? 4 : 2,
              nd ? value : q);
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
    uint8_t lay = fz_u8(&f);
    uint16_t nvec = fz_u16(&f) % (MAXVEC + 1);

    fm_reset(!!(fl & VQF_HOOKS), 0);
    memset(&P, 0, sizeof(P));
    P.dev = fd_create(kind, cb, qmax, NULL);
    P.nvec = nvec;
    P.ops = (struct vdm_pci_ops){
        .size = sizeof(P.ops), .irq_level = pirq, .msi = pmsi, .log = plog};
    struct vdm_pci_config cfg = {.size = sizeof(cfg)};
    if (lay & 1)
        cfg.flags |= VDM_PCI_F_BAR32;
    if (lay & 2)
        cfg.flags |= VDM_PCI_F_PREFETCH;
    if (lay & 4)
        cfg.flags |= VDM_PCI_F_NO_INTX;
    if (lay & 8) {
        /* the MSI-X table in a BAR of its own */
        cfg.cfg_bar = 0;
        cfg.msix_bar = (lay & 1) ? 1 : 2;
    }
    if (lay & 16) {
        cfg.cfg_bar = (lay & 1) ? 5 : 4;
        cfg.msix_bar = cfg.cfg_bar;
    }
    cfg.msix_vectors = nvec;
    cfg.storage = P.storage;
    cfg.storage_words = (uint32_t)VDM_PCI_STORAGE_WORDS(FD_MAXQ, MAXVEC);
    cfg.ops = &P.ops;
    int rc = vdm_pci_init(&P.t, P.dev, &cfg);
    FZ_CHECK(rc == 0, "pci init %d (layout %#x, %u vectors)", rc, lay, nvec);
    walk_caps();
    fd_set_notify(pci_notify, NULL);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 4096) {
        unsigned op = fz_u8(&f) % PCI_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u\n", ops, op);
        switch (op) {
        case PCI_OP_CFG_READ: {
            uint16_t off = fz_u16(&f);
            uint8_t w = fz_u8(&f);
            uint32_t v = 0x55555555u;
            int r = vdm_pci_cfg_read(&P.t, off, w, &v);
            if (r != 0)
                FZ_CHECK(v == 0, "refused cfg read (%d) yields %#x", r, v);
            P.st_cfg++;
            break;
        }
        case PCI_OP_CFG_WRITE: {
            uint16_t off = fz_u16(&f);
            uint8_t w = fz_u8(&f);
            vdm_pci_cfg_write(&P.t, off, w, fz_u32(&f));
            P.st_cfg++;
            break;
        }
        case PCI_OP_BAR_READ: {
            uint8_t bar = fz_u8(&f);
            uint32_t off = fz_u32(&f);
            bar_read(bar, off, fz_u8(&f));
            break;
        }
        case PCI_OP_BAR_WRITE: {
            uint8_t bar = fz_u8(&f);
            uint32_t off = fz_u32(&f);
            uint8_t w = fz_u8(&f);
            bar_write(bar, off, w, fz_u64(&f));
            break;
        }
        case PCI_OP_DEV: fd_dev_op(&f); break;
        case PCI_OP_RESET:
            FZ_CHECK(vdm_pci_reset(&P.t) == 0, "pci reset");
            FZ_CHECK(vdm_dev_status(P.dev) == 0 &&
                         vdm_pci_intx_level(&P.t) == 0,
                     "function reset left status %#x, INTx %d",
                     vdm_dev_status(P.dev), vdm_pci_intx_level(&P.t));
            break;
        case PCI_OP_CONFIG: fd_config_change(fz_u32(&f)); break;
        case PCI_OP_MEM_READ:
        case PCI_OP_MEM_WRITE: {
            uint64_t addr = fz_u64(&f);
            uint8_t w = fz_u8(&f);
            uint64_t v = op == PCI_OP_MEM_WRITE ? fz_u64(&f) : 0;
            uint32_t bar;
            uint64_t off;
            if (vdm_pci_decode(&P.t, addr, &bar, &off) != 0)
                break;
            uint64_t base, sz;
            FZ_CHECK(vdm_pci_bar_info(&P.t, bar, &base, &sz) == 0 &&
                         addr - base == off && off < sz,
                     "decode of %#llx gave BAR %u offset %#llx",
                     (unsigned long long)addr, bar, (unsigned long long)off);
            if (op == PCI_OP_MEM_READ)
                bar_read(bar, off, w);
            else
                bar_write(bar, off, w, v);
            break;
        }
        }
        FZ_CHECK(vdm_pci_intx_level(&P.t) == P.intx, "INTx level %d, host %d",
                 vdm_pci_intx_level(&P.t), P.intx);
        after_access();
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr, "pci: %lu cfg, %lu bar accesses, %lu MSIs; %s\n",
                P.st_cfg, P.st_bar, P.st_msi, buf);
    }
    vdm_pci_reset(&P.t);
    fd_finish();
    return 0;
}
