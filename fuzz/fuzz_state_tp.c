/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: restore through the transports (vdm_mmio_restore(),
 * vdm_pci_restore()), then the transport driven. A real device of any
 * type sits behind virtio-mmio or virtio-pci (MSI-X vectors programmed by
 * the harness at bring-up); the input mixes driver traffic, saves of the
 * transport's image (bytes flipped, end cut off) restored at once, raw
 * images, register accesses (MMIO registers; PCI configuration space and
 * BARs), notifications through the transport, host completions and
 * transport resets. So a restored but inconsistent state (queue
 * addresses, sizes, positions, MSI-X vectors and table, status bits, the
 * device type's section) meets guest register accesses and notifications
 * afterwards.
 *
 * Oracles: a save succeeds with exactly the transport's state size or
 * says VDM_EBUSY; a refused restore leaves the device reset (status 0, no
 * queue enabled) and the transport quiet (MMIO InterruptStatus 0, PCI INTx
 * low); an accepted image saves again and restores to the same bytes;
 * MMIO: the line follows InterruptStatus; PCI: MSI only for vectors of the
 * table, INTx only changes level; nothing touches memory outside the
 * guest's (fuzz_mem.h); plus everything fuzz_dev.c checks on the traffic.
 *
 * Hosted test code, not part of the library.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/state.h"

/* Largest image: a gpu with its resources' storage (fuzz/dev_gpu.c). */
#define IMG_MAX (512u * 1024u)
#define MAXVEC  8u

static const uint16_t qsizes[7] = {1, 2, 4, 8, 16, 32, 64};

struct tps {
    struct vdm_dev *dev;
    int pci;
    uint16_t qsize;
    uint64_t rings[FD_MAXQ][3];
    /* MMIO */
    struct vdm_mmio m;
    struct vdm_mmio_ops mops;
    int line;
    /* PCI */
    struct vdm_pci p;
    struct vdm_pci_ops pops;
    uint32_t storage[VDM_PCI_STORAGE_WORDS(FD_MAXQ, MAXVEC)];
    uint16_t nvec;
    int intx;
    uint8_t msix_pos;
    uint8_t common_bar, notify_bar;
    uint32_t common_off, notify_off, notify_mult;
    /* images */
    uint8_t img[IMG_MAX];
    uint8_t again[IMG_MAX];
    uint8_t third[IMG_MAX];
    unsigned long restores, accepted, msis, regs;
};

static struct tps T;

/* ------------------------------------------------------------------------ */
/* Transport callbacks and oracles */

static void mirq(void *host, int level)
{
    (void)host;
    FZ_CHECK(level == 0 || level == 1, "irq level %d", level);
    T.line = level;
}

static void pirq(void *host, int level)
{
    (void)host;
    FZ_CHECK(level == !T.intx, "INTx %d while at %d (transitions only)", level,
             T.intx);
    T.intx = level;
}

static void pmsi(void *host, uint16_t vector, uint64_t addr, uint32_t data)
{
    (void)host;
    (void)addr;
    (void)data;
    FZ_CHECK(vector < T.nvec, "MSI for vector %u of %u", vector, T.nvec);
    T.msis++;
}

static void tlog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG,
             "bad log call");
}

static void check_transport(void)
{
    if (!T.pci) {
        uint32_t is = vdm_mmio_interrupt_status(&T.m);
        FZ_CHECK(T.line == (is != 0), "line %d with InterruptStatus %#x",
                 T.line, is);
        FZ_CHECK((is & ~3u) == 0, "InterruptStatus %#x", is);
    } else {
        FZ_CHECK(vdm_pci_intx_level(&T.p) == T.intx, "INTx %d, told %d",
                 vdm_pci_intx_level(&T.p), T.intx);
    }
}

static uint32_t cfg_rd(uint32_t off, uint32_t w)
{
    uint32_t v = 0;
    vdm_pci_cfg_read(&T.p, off, w, &v);
    return v;
}

static void cfg_wr(uint32_t off, uint32_t w, uint32_t v)
{
    vdm_pci_cfg_write(&T.p, off, w, v);
}

static void common_wr(uint32_t off, uint32_t w, uint64_t v)
{
    vdm_pci_bar_write(&T.p, T.common_bar, T.common_off + off, w, v);
}

static void tp_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    if (!T.pci) {
        vdm_mmio_write(&T.m, VDM_MMIO_QUEUE_NOTIFY, 4, value);
    } else if (T.notify_bar < 6) {
        uint64_t noff = 0, sel = 0;
        vdm_pci_bar_read(&T.p, T.common_bar,
                         T.common_off + VDM_PCI_COMMON_Q_SELECT, 2, &sel);
        common_wr(VDM_PCI_COMMON_Q_SELECT, 2, q);
        vdm_pci_bar_read(&T.p, T.common_bar,
                         T.common_off + VDM_PCI_COMMON_Q_NOFF, 2, &noff);
        common_wr(VDM_PCI_COMMON_Q_SELECT, 2, sel);
        int nd = !!(vdm_dev_features(T.dev) & VDM_F_NOTIFICATION_DATA);
        vdm_pci_bar_write(&T.p, T.notify_bar,
                          T.notify_off + noff * T.notify_mult, nd ? 4 : 2,
                          nd ? value : q);
    }
    fd_poll();
}

/* The structures the harness needs (a read-only walk). */
static void walk_caps(void)
{
    unsigned pos = cfg_rd(0x34, 1) & ~3u, n = 0;
    T.notify_bar = 0xff;
    while (pos >= 0x40 && pos < 0x100 && n++ < 48) {
        uint32_t id = cfg_rd(pos, 1);
        if (id == 0x11)
            T.msix_pos = (uint8_t)pos;
        if (id == 0x09) {
            uint32_t type = cfg_rd(pos + 3, 1);
            if (type == VDM_PCI_CAP_COMMON_CFG && T.common_off == 0) {
                T.common_bar = (uint8_t)cfg_rd(pos + 4, 1);
                T.common_off = cfg_rd(pos + 8, 4);
            }
            if (type == VDM_PCI_CAP_NOTIFY_CFG && T.notify_bar == 0xff) {
                T.notify_bar = (uint8_t)cfg_rd(pos + 4, 1);
                T.notify_off = cfg_rd(pos + 8, 4);
                T.notify_mult = cfg_rd(pos + 16, 4);
            }
        }
        pos = cfg_rd(pos + 1, 1) & ~3u;
    }
}

/* MSI-X on: every table entry unmasked, the configuration vector 0 and
 * queue q vector (q + 1) % nvec, as a driver sets them. */
static void msix_on(void)
{
    uint32_t tab, bir;

    if (!T.pci || T.nvec == 0 || T.msix_pos == 0)
        return;
    tab = cfg_rd(T.msix_pos + 4u, 4);
    bir = tab & 7u;
    for (uint32_t v = 0; v < T.nvec; v++) {
        uint64_t at = (uint64_t)(tab & ~7u) + 16u * v;
        vdm_pci_bar_write(&T.p, bir, at, 4, 0xfee00000u);
        vdm_pci_bar_write(&T.p, bir, at + 4, 4, 0);
        vdm_pci_bar_write(&T.p, bir, at + 8, 4, 0x40u + v);
        vdm_pci_bar_write(&T.p, bir, at + 12, 4, 0);
    }
    cfg_wr(T.msix_pos + 2u, 2, 0x8000u);
    common_wr(VDM_PCI_COMMON_MSIX, 2, 0);
    for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++) {
        common_wr(VDM_PCI_COMMON_Q_SELECT, 2, q);
        common_wr(VDM_PCI_COMMON_Q_MSIX, 2, (uint16_t)((q + 1u) % T.nvec));
    }
}

/* ------------------------------------------------------------------------ */
/* Bring-up, save, restore */

static void setup_queue(uint16_t q)
{
    static const uint8_t zero[16u * 64u];
    uint64_t *a = T.rings[q];
    fm_write(a[0], zero, 16u * T.qsize);
    fm_write(a[1], zero, 6u + 2u * T.qsize);
    fm_write(a[2], zero, 6u + 8u * T.qsize);
    vdm_dev_queue_set_size(T.dev, q, T.qsize);
    vdm_dev_queue_set_addr(T.dev, q, a[0], a[1], a[2]);
    vdm_dev_queue_enable(T.dev, q);
}

static void bring_up(uint64_t want)
{
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE);
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER);
    vdm_dev_set_driver_features(T.dev, (want & fd_offered()) | VDM_F_VERSION_1);
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                  VDM_STATUS_FEATURES_OK);
    for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
        setup_queue(q);
    msix_on();
    vdm_dev_set_status(T.dev, vdm_dev_status(T.dev) | VDM_STATUS_DRIVER_OK);
    fd_poll();
}

static size_t tp_size(void)
{
    return T.pci ? vdm_pci_state_size(&T.p) : vdm_mmio_state_size(&T.m);
}

static int tp_save(uint8_t *buf, size_t len)
{
    return T.pci ? vdm_pci_save(&T.p, buf, len)
                 : vdm_mmio_save(&T.m, buf, len);
}

static int tp_restore(const uint8_t *buf, size_t len)
{
    return T.pci ? vdm_pci_restore(&T.p, buf, len)
                 : vdm_mmio_restore(&T.m, buf, len);
}

static void tp_reset(void)
{
    if (T.pci)
        FZ_CHECK(vdm_pci_reset(&T.p) == 0, "pci reset");
    else
        FZ_CHECK(vdm_mmio_reset(&T.m) == 0, "mmio reset");
    FZ_CHECK(vdm_dev_status(T.dev) == 0, "status after a transport reset");
    fd_poll();
}

/* Save into @p buf; 0 when busy, else the image length. */
static size_t save(uint8_t *buf)
{
    size_t n = tp_size();
    int rc;

    FZ_CHECK(n >= VDM_STATE_HDR_BYTES && n <= IMG_MAX, "state size %zu", n);
    rc = tp_save(buf, n);
    if (rc == VDM_EBUSY)
        return 0;
    FZ_CHECK(rc == (int)n, "save %d, size %zu", rc, n);
    FZ_CHECK(tp_save(buf, n - 1) == VDM_ENOSPC, "save into a short buffer");
    return n;
}

static void restore(const uint8_t *img, size_t len)
{
    int rc;

    /* the harness's driver forgets its queues, as at any reset */
    tp_reset();
    rc = tp_restore(img, len);
    T.restores++;
    if (fz_trace())
        fprintf(stderr, "  restore of %zu bytes: %d\n", len, rc);
    if (rc < 0) {
        FZ_CHECK(vdm_dev_status(T.dev) == 0, "refused restore (%d), status %#x",
                 rc, vdm_dev_status(T.dev));
        for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
            FZ_CHECK(vdm_dev_queue_enabled(T.dev, q) == 0,
                     "refused restore (%d), queue %u enabled", rc, q);
        if (T.pci)
            FZ_CHECK(vdm_pci_intx_level(&T.p) == 0,
                     "refused restore (%d), INTx high", rc);
        else
            FZ_CHECK(vdm_mmio_interrupt_status(&T.m) == 0,
                     "refused restore (%d), InterruptStatus %#x", rc,
                     vdm_mmio_interrupt_status(&T.m));
        check_transport();
        fd_poll();
        return;
    }
    FZ_CHECK(rc == 0, "restore %d", rc);
    T.accepted++;
    check_transport();
    /* Its own image restores to the same bytes. */
    size_t n1 = save(T.again);
    FZ_CHECK(n1 != 0, "busy right after a restore");
    tp_reset();
    rc = tp_restore(T.again, n1);
    FZ_CHECK(rc == 0, "own image refused: %d", rc);
    size_t n2 = save(T.third);
    FZ_CHECK(n2 == n1 && memcmp(T.again, T.third, n1) == 0,
             "image changed by a round trip (%zu, %zu bytes)", n1, n2);
    check_transport();
    /* The harness's view of the rings is stale now. */
    fd_taint();
    fd_set_lenient(1);
    fd_poll();
    /* a notification per queue, through the transport, as a host does */
    for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
        tp_notify(NULL, q, q);
    fd_poll();
}

/* ------------------------------------------------------------------------ */
/* Register accesses */

static void reg_read(uint8_t where, uint32_t off, uint8_t w)
{
    uint64_t v = 0x5555555555555555ull;
    int rc;

    T.regs++;
    if (!T.pci) {
        rc = vdm_mmio_read(&T.m, off & 0xffffu, w, &v);
        if (rc != 0)
            FZ_CHECK(v == 0, "refused MMIO read (%d) yields %#llx", rc,
                     (unsigned long long)v);
        else if (off == VDM_MMIO_STATUS && w == 4)
            FZ_CHECK(v == vdm_dev_status(T.dev), "Status %#llx vs %#x",
                     (unsigned long long)v, vdm_dev_status(T.dev));
    } else if (where % 7u == 0) {
        uint32_t c = 0x55555555u;
        rc = vdm_pci_cfg_read(&T.p, off & 0xfffu, w, &c);
        if (rc != 0)
            FZ_CHECK(c == 0, "refused cfg read (%d) yields %#x", rc, c);
    } else {
        rc = vdm_pci_bar_read(&T.p, where % 7u - 1u, off, w, &v);
        if (rc != 0)
            FZ_CHECK(v == 0, "refused BAR read (%d) yields %#llx", rc,
                     (unsigned long long)v);
    }
}

static void reg_write(uint8_t where, uint32_t off, uint8_t w, uint64_t v)
{
    T.regs++;
    if (!T.pci)
        vdm_mmio_write(&T.m, off & 0xffffu, w, v);
    else if (where % 7u == 0)
        vdm_pci_cfg_write(&T.p, off & 0xfffu, w, (uint32_t)v);
    else
        vdm_pci_bar_write(&T.p, where % 7u - 1u, off, w, v);
    fd_poll();
}

/* ------------------------------------------------------------------------ */

static void tp_init(uint8_t tpb)
{
    int rc;

    if (!T.pci) {
        T.mops = (struct vdm_mmio_ops){
            .size = sizeof(T.mops), .irq = mirq, .log = tlog};
        struct vdm_mmio_config cfg = {.size = sizeof(cfg), .ops = &T.mops};
        rc = vdm_mmio_init(&T.m, T.dev, &cfg);
        FZ_CHECK(rc == 0, "mmio init %d", rc);
        return;
    }
    T.pops = (struct vdm_pci_ops){
        .size = sizeof(T.pops), .irq_level = pirq, .msi = pmsi, .log = tlog};
    struct vdm_pci_config cfg = {.size = sizeof(cfg)};
    if (tpb & 2)
        cfg.flags |= VDM_PCI_F_BAR32;
    if (tpb & 4)
        cfg.flags |= VDM_PCI_F_NO_INTX;
    if (tpb & 8) {
        cfg.cfg_bar = 0;
        cfg.msix_bar = (tpb & 2) ? 1 : 2;
    }
    cfg.msix_vectors = T.nvec;
    cfg.storage = T.storage;
    cfg.storage_words = (uint32_t)VDM_PCI_STORAGE_WORDS(FD_MAXQ, MAXVEC);
    cfg.ops = &T.pops;
    rc = vdm_pci_init(&T.p, T.dev, &cfg);
    FZ_CHECK(rc == 0, "pci init %d (%#x, %u vectors)", rc, tpb, T.nvec);
    walk_caps();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    unsigned kind = fz_u8(&f) % FZ_KIND_COUNT;
    uint8_t cb = fz_u8(&f);
    uint16_t qsize = qsizes[fz_u8(&f) % 7];
    uint64_t want = fz_u64(&f);
    uint8_t fl = fz_u8(&f);
    uint8_t tpb = fz_u8(&f);
    uint16_t nvec = fz_u16(&f) % (MAXVEC + 1u);

    fm_reset(!!(fl & VQF_HOOKS), 0);
    /* the images are large: clear only the state */
    memset(&T, 0, offsetof(struct tps, img));
    T.pci = tpb & 1;
    T.qsize = qsize;
    T.nvec = T.pci ? nvec : 0;
    T.dev = fd_create(kind, cb, T.qsize, NULL);
    fd_set_lenient(0);
    tp_init(tpb);
    fd_set_notify(tp_notify, NULL);
    for (unsigned q = 0; q < FD_MAXQ; q++) {
        T.rings[q][0] = fm_ring_alloc(16u * T.qsize, 16);
        T.rings[q][1] = fm_ring_alloc(6u + 2u * T.qsize, 4);
        T.rings[q][2] = fm_ring_alloc(6u + 8u * T.qsize, 4);
    }
    bring_up(want);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 2048) {
        unsigned op = fz_u8(&f) % TPS_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u status %#x\n", ops, op,
                    vdm_dev_status(T.dev));
        switch (op) {
        case TPS_OP_DEV: fd_dev_op(&f); break;
        case TPS_OP_SAVE: {
            size_t n = save(T.img);
            unsigned nmut = fz_u8(&f);
            for (unsigned i = 0; i < nmut; i++) {
                uint32_t off = fz_u32(&f);
                uint8_t x = fz_u8(&f);
                if (n > 0)
                    T.img[off % n] ^= x;
            }
            uint16_t cut = fz_u16(&f);
            if (n > 0)
                restore(T.img, n - (cut < n ? cut : n));
            break;
        }
        case TPS_OP_RAW: {
            size_t n = fz_u16(&f);
            n = fz_bytes(&f, T.img, n);
            restore(T.img, n);
            break;
        }
        case TPS_OP_READ: {
            uint8_t where = fz_u8(&f);
            uint32_t off = fz_u32(&f);
            reg_read(where, off, fz_u8(&f));
            break;
        }
        case TPS_OP_WRITE: {
            uint8_t where = fz_u8(&f);
            uint32_t off = fz_u32(&f);
            uint8_t w = fz_u8(&f);
            reg_write(where, off, w, fz_u64(&f));
            break;
        }
        case TPS_OP_NOTIFY: {
            uint8_t q = fz_u8(&f);
            tp_notify(NULL, q, fz_u32(&f));
            break;
        }
        case TPS_OP_HOST:
            fd_complete_all();
            fd_poll();
            break;
        default: tp_reset(); break;
        }
        check_transport();
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr,
                "state_transport (%s): %lu restores, %lu accepted, %lu "
                "register accesses, %lu MSIs; %s\n",
                T.pci ? "pci" : "mmio", T.restores, T.accepted, T.regs, T.msis,
                buf);
    }
    tp_reset();
    check_transport();
    fd_finish();
    return 0;
}
