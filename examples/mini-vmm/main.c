/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mini-vmm: an in-process hypervisor model.
 *
 * It places guest RAM in a host buffer, describes it to vdm with a region
 * table, instantiates devices behind the virtio-mmio and virtio-pci
 * transports, and lets a spec-following driver (the simulator from
 * tests/driver plus the register-level MMIO and PCI drivers from
 * tests/unit/support) bring each device up the way Linux does -- reset,
 * ACKNOWLEDGE, DRIVER, features, FEATURES_OK and its re-read, queue set-up,
 * DRIVER_OK -- through register accesses only, then move data and check it.
 *
 * Devices: the example "echo" type (echo_device.c, written as a vendor
 * would) over MMIO and over PCI with MSI-X; and the entropy device
 * (devices/rng.c) over MMIO and over PCI with INTx when the library has it.
 *
 * With --snapshot, --restore or --snapshot-test, it saves a machine in the
 * middle of its I/O to a file and restores it in a fresh process instead
 * (snapshot.c).
 *
 * Prints every step; exits 0 when everything worked, 1 otherwise.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv.h"
#include "drv_mmio.h"
#include "drv_pci.h"
#include "drv_transport.h"
#include "echo_device.h"
#include "snapshot.h"
#include "vdm/device.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"

#if defined(__has_include)
#if __has_include("vdm/devices/rng.h")
#include "vdm/devices/rng.h"
#define HAVE_RNG 1
#endif
#endif
#ifndef HAVE_RNG
#define HAVE_RNG 0
#endif

#define RAM_GPA          0x40000000ull
#define RAM_SIZE         (16ull << 20)
#define MMIO0_GPA        0x0a000000ull
#define MMIO1_GPA        0x0a000200ull
#define PCI_WINDOW0      0xe0000000ull
#define PCI_WINDOW1      0xe1000000ull
#define PCI_MSIX_VECTORS 4

/* ------------------------------------------------------------------------ */
/* Bookkeeping and output */

static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    failures++;
}

static void step(void *ctx, const char *what)
{
    printf("    [%s] %s\n", (const char *)ctx, what);
}

/* Device core log lines (host hook): shown, and counted as failures when
 * they are warnings or errors, since a correct driver causes none. */
static void dev_log(void *host, int level, const char *msg)
{
    printf("    [%s] device log (%s): %s\n", (const char *)host,
           level == VDM_LOG_ERROR  ? "error"
           : level == VDM_LOG_WARN ? "warning"
                                   : "info",
           msg);
    if (level <= VDM_LOG_WARN)
        failures++;
}

static const struct vdm_host_ops host_ops = {
    .size = sizeof(struct vdm_host_ops),
    .notify_queue = NULL, /* the transports deliver the interrupts */
    .notify_config = NULL,
    .log = dev_log,
};

/* ------------------------------------------------------------------------ */
/* The machine */

static struct drv_guest ram;
static struct vdm_mem_region ram_region;
static struct vdm_mem mem;

static int ram_init(void)
{
    uint64_t gpa = RAM_GPA, size = RAM_SIZE;

    if (drv_guest_init(&ram, &gpa, &size, 1) != 0) {
        fail("cannot map guest RAM");
        return -1;
    }
    /* The region table vdm reads: guest-physical range -> host buffer. */
    ram_region.gpa = ram.regions[0].gpa;
    ram_region.size = ram.regions[0].size;
    ram_region.hva = ram.regions[0].hva;
    mem = VDM_INIT(struct vdm_mem);
    mem.nregions = 1;
    mem.regions = &ram_region;
    if (vdm_mem_check(&mem) != 0) {
        fail("vdm_mem_check refused the region table");
        return -1;
    }
    printf("guest RAM: %" PRIu64 " MiB at gpa 0x%" PRIx64 ", host buffer %p\n",
           (uint64_t)(RAM_SIZE >> 20), (uint64_t)RAM_GPA, ram_region.hva);
    return 0;
}

/* A device slot: one device behind one transport, and its guest driver. */
struct slot {
    const char *name;
    struct drv_tp *tp;
    struct drv_mmio *mmio;
    struct drv_pci *pci;
    struct drv_vq vq;
    int vq_live;
    unsigned roundtrips;
};

static int bring_up(struct slot *s, uint64_t want)
{
    int rc;

    printf("\n== %s: guest driver initialisation (Linux order, registers "
           "only)\n",
           s->name);
    s->tp->trace = step;
    s->tp->trace_ctx = (void *)s->name;
    rc = drv_tp_bring_up(s->tp, want, 1, &s->vq, &ram, 0);
    s->tp->trace = NULL;
    if (rc != 0) {
        fail("%s: bring-up failed at step %d", s->name, rc);
        return -1;
    }
    s->vq_live = 1;
    printf("    [%s] negotiated features 0x%016" PRIx64 " (%s ring%s%s%s)\n",
           s->name, s->tp->features,
           (s->tp->features & DRV_F_PACKED) ? "packed" : "split",
           (s->tp->features & DRV_F_EVENT_IDX) ? ", EVENT_IDX" : "",
           (s->tp->features & DRV_F_INDIRECT) ? ", INDIRECT_DESC" : "",
           (s->tp->features & DRV_F_NOTIFICATION_DATA) ? ", NOTIFICATION_DATA"
                                                       : "");
    printf("    [%s] queue 0: %u entries, descriptors at 0x%" PRIx64
           ", driver area 0x%" PRIx64 ", device area 0x%" PRIx64 "\n",
           s->name, drv_vq_num(&s->vq), drv_vq_desc_gpa(&s->vq),
           drv_vq_driver_gpa(&s->vq), drv_vq_device_gpa(&s->vq));
    printf("    [%s] status 0x%02x: ACKNOWLEDGE | DRIVER | FEATURES_OK | "
           "DRIVER_OK\n",
           s->name, s->tp->ops->get_status(s->tp));
    return 0;
}

static const char *irq_text(struct slot *s, unsigned bits)
{
    static char buf[96];
    if (s->mmio != NULL)
        snprintf(buf, sizeof(buf), "interrupt line, InterruptStatus 0x%x",
                 bits);
    else if (s->pci->msix_on)
        snprintf(buf, sizeof(buf),
                 "MSI-X vector %u (addr 0x%" PRIx64 ", data 0x%x)",
                 s->pci->msi_last_vector, s->pci->msi_last_addr,
                 s->pci->msi_last_data);
    else
        snprintf(buf, sizeof(buf), "INTx, ISR 0x%x (read clears it)", bits);
    return buf;
}

/* Make one buffer available, notify, take the interrupt, collect it. */
static int transact(struct slot *s, const struct drv_buf *out, unsigned nout,
                    const struct drv_buf *in, unsigned nin, uint32_t *used)
{
    uint32_t id;
    unsigned bits;
    int added;

    added = drv_vq_add(&s->vq, out, nout, in, nin, DRV_ADD_DIRECT, NULL);
    if (added < 0) {
        fail("%s: drv_vq_add: %d", s->name, added);
        return -1;
    }
    drv_vq_enable_cb(&s->vq);
    if (!drv_tp_kick(s->tp, 0, &s->vq, 0)) {
        fail("%s: the ring said no notification was needed", s->name);
        return -1;
    }
    bits = drv_tp_interrupt(s->tp);
    if ((bits & DRV_TP_INT_VRING) == 0) {
        fail("%s: no used buffer interrupt", s->name);
        return -1;
    }
    if (drv_vq_get_used(&s->vq, &id, used, NULL) != 1 ||
        id != (uint32_t)added) {
        fail("%s: used buffer missing or wrong (%s)", s->name,
             drv_vq_error(&s->vq) ? drv_vq_error(&s->vq) : "no error");
        return -1;
    }
    printf("    [%s] kick -> device ran -> %s -> used id %u, %u bytes\n",
           s->name, irq_text(s, bits), id, *used);
    s->roundtrips++;
    return 0;
}

static void echo_traffic(struct slot *s)
{
    static const char *msgs[] = {"Hello, VIRTIO!", "vdm moves bytes",
                                 "through the ring and back"};
    uint32_t count = 0;
    uint8_t cfg[4];
    int retries;

    printf("== %s: traffic\n", s->name);
    for (unsigned i = 0; i < 3; i++) {
        size_t n = strlen(msgs[i]);
        uint64_t o = drv_alloc(&ram, n, 8), r = drv_alloc(&ram, 64, 8);
        struct drv_buf ob = {o, (uint32_t)n}, ib = {r, 64};
        char *po = drv_gpa(&ram, o, n), *pr = drv_gpa(&ram, r, 64);
        uint32_t used = 0;
        int ok = 1;

        memcpy(po, msgs[i], n);
        printf("    [%s] guest sends \"%s\"\n", s->name, msgs[i]);
        if (transact(s, &ob, 1, &ib, 1, &used) != 0)
            return;
        ok = used == n;
        for (size_t k = 0; ok && k < n; k++)
            ok = pr[k] == msgs[i][n - 1 - k];
        printf("    [%s] guest got   \"%.*s\" %s\n", s->name, (int)used, pr,
               ok ? "(reversed: OK)" : "(WRONG)");
        if (!ok)
            fail("%s: echo mismatch", s->name);
    }
    retries = drv_tp_config_read(s->tp, 0, cfg, 4);
    count = (uint32_t)cfg[0] | (uint32_t)cfg[1] << 8 | (uint32_t)cfg[2] << 16 |
            (uint32_t)cfg[3] << 24;
    printf("    [%s] config space (generation-checked read, %d retries): "
           "%u chains echoed\n",
           s->name, retries, count);
    if (count != 3)
        fail("%s: config space says %u chains, expected 3", s->name, count);
}

#if HAVE_RNG
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* The host's entropy source (a real hypervisor would use getrandom()). */
static int rng_fill(void *host, void *buf, uint32_t len)
{
    uint8_t *b = buf;
    (void)host;
    for (uint32_t i = 0; i < len; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        b[i] = (uint8_t)rng_state;
    }
    return (int)len;
}

static const struct vdm_rng_ops rng_ops = {
    .size = sizeof(struct vdm_rng_ops),
    .fill = rng_fill,
};

struct rng_device {
    struct vdm_rng rng;
    struct vdm_dev dev;
    struct vdm_vq queue;
    uint32_t slots[VDM_DEV_SLOTS(1, 64)];
};

static int rng_device_init(struct rng_device *r, const char *name)
{
    struct vdm_rng_config c = VDM_INIT(struct vdm_rng_config);
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);

    c.ops = &rng_ops;
    base.num_queues = 1;
    base.queue_size_max = 64;
    base.mem = &mem;
    base.ops = &host_ops;
    base.host = (void *)name;
    base.queues = &r->queue;
    base.slots = r->slots;
    return vdm_rng_init(&r->rng, &r->dev, &c, &base);
}

static void rng_traffic(struct slot *s)
{
    printf("== %s: traffic\n", s->name);
    for (unsigned i = 0; i < 2; i++) {
        uint64_t g = drv_alloc(&ram, 16, 8);
        struct drv_buf ib = {g, 16};
        uint8_t *p = drv_gpa(&ram, g, 16);
        uint32_t used = 0;
        unsigned nz = 0;

        if (transact(s, NULL, 0, &ib, 1, &used) != 0)
            return;
        printf("    [%s] guest got %u random bytes:", s->name, used);
        for (uint32_t k = 0; k < used; k++) {
            printf(" %02x", p[k]);
            nz += p[k] != 0;
        }
        printf("\n");
        if (used != 16 || nz == 0)
            fail("%s: expected 16 random bytes", s->name);
    }
}
#endif

/* The driver unloads: reset, and the device reads back status 0. */
static void shut_down(struct slot *s)
{
    if (drv_tp_reset(s->tp) != 0)
        fail("%s: reset did not complete", s->name);
    else
        printf("    [%s] driver unloaded: status 0 written, device reset "
               "(queue ready reads %d)\n",
               s->name, s->tp->ops->queue_enabled(s->tp, 0));
    if (s->vq_live)
        drv_vq_fini(&s->vq);
    s->vq_live = 0;
}

static void pci_describe(struct slot *s)
{
    struct drv_pci *p = s->pci;
    printf("    [%s] config space: vendor 0x%04x device 0x%04x class 0x%06x "
           "revision %u\n",
           s->name, drv_pci_cfg_rd(p, 0x00, 2), drv_pci_cfg_rd(p, 0x02, 2),
           drv_pci_cfg_rd(p, 0x08, 4) >> 8, drv_pci_cfg_rd(p, 0x08, 1));
    for (unsigned i = 0; i < 6; i++) {
        if (p->bar_size[i] != 0)
            printf("    [%s] BAR%u: sized 0x%" PRIx64
                   " bytes, placed at 0x%" PRIx64 "\n",
                   s->name, i, p->bar_size[i], p->bar_addr[i]);
    }
    printf("    [%s] capabilities: common @BAR%u+0x%x, notify @BAR%u+0x%x "
           "(multiplier %u), ISR @BAR%u+0x%x, ",
           s->name, p->common.bar, p->common.off, p->notify.bar, p->notify.off,
           p->notify_mult, p->isr.bar, p->isr.off);
    if (p->device.pos != 0)
        printf("device config @BAR%u+0x%x, ", p->device.bar, p->device.off);
    else
        printf("no device config, ");
    printf("PCI config access @0x%02x", p->pcicfg.pos);
    if (p->msix_pos != 0)
        printf(", MSI-X %u vectors (%s)", p->msix_size,
               p->msix_on ? "enabled" : "disabled, INTx");
    printf("\n");
}

static int usage(void)
{
    fprintf(stderr,
            "usage: mini-vmm                        the tour of the devices\n"
            "       mini-vmm --snapshot FILE        run, save mid-I/O to FILE\n"
            "       mini-vmm --restore FILE         restore FILE, finish the "
            "I/O\n"
            "       mini-vmm --snapshot-test FILE   both, the restore in a "
            "fresh process (execv)\n");
    return 2;
}

static int tour(void);

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 1)
        return tour();
    if (argc != 3)
        return usage();
    /* Snapshot and restore: snapshot.c */
    if (strcmp(argv[1], "--snapshot") == 0)
        return snapshot_save_run(argv[2]);
    if (strcmp(argv[1], "--restore") == 0)
        return snapshot_restore_run(argv[2]);
    if (strcmp(argv[1], "--snapshot-test") == 0)
        return snapshot_test(argv[0], argv[2]);
    return usage();
}

/* The tour: every device brought up, used and shut down. */
static int tour(void)
{
    static struct echo_device echo_mmio, echo_pci;
    static struct drv_mmio mmio0;
    static struct drv_pci pci0;
    struct slot slots[4];
    unsigned nslots = 0;
    unsigned long accesses = 0;
    unsigned roundtrips = 0;
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
#if HAVE_RNG
    static struct rng_device rng_mmio, rng_pci;
    static struct drv_mmio mmio1;
    static struct drv_pci pci1;
    struct vdm_pci_config pc1 = VDM_INIT(struct vdm_pci_config);
#endif

    printf("mini-vmm: an in-process hypervisor driving vdm %s devices "
           "through virtio-mmio and virtio-pci\n\n",
           vdm_version_string());
    if (ram_init() != 0)
        return 1;
    memset(slots, 0, sizeof(slots));

    /* echo behind virtio-mmio */
    if (echo_device_init(&echo_mmio, &mem, &host_ops, "echo-mmio") != 0 ||
        drv_mmio_init(&mmio0, &echo_mmio.dev, NULL) != 0) {
        fail("echo-mmio: set-up failed");
        return 1;
    }
    slots[nslots] =
        (struct slot){.name = "echo-mmio", .tp = &mmio0.tp, .mmio = &mmio0};
    printf("echo-mmio: echo device behind virtio-mmio at gpa 0x%" PRIx64
           ", window 0x%" PRIx64 " bytes (device tree: compatible "
           "\"virtio,mmio\", reg <0x%" PRIx64 " 0x%" PRIx64 ">)\n",
           (uint64_t)MMIO0_GPA, vdm_mmio_window_size(&mmio0.t),
           (uint64_t)MMIO0_GPA, vdm_mmio_window_size(&mmio0.t));
    nslots++;

    /* echo behind virtio-pci, MSI-X */
    if (echo_device_init(&echo_pci, &mem, &host_ops, "echo-pci") != 0) {
        fail("echo-pci: device set-up failed");
        return 1;
    }
    pc.msix_vectors = PCI_MSIX_VECTORS;
    if (drv_pci_init(&pci0, &echo_pci.dev, &pc) != 0) {
        fail("echo-pci: transport set-up failed");
        return 1;
    }
    slots[nslots] =
        (struct slot){.name = "echo-pci", .tp = &pci0.tp, .pci = &pci0};
    printf("echo-pci: echo device behind virtio-pci at 00:01.0, MSI-X\n");
    nslots++;

#if HAVE_RNG
    if (rng_device_init(&rng_mmio, "rng-mmio") != 0 ||
        drv_mmio_init(&mmio1, &rng_mmio.dev, NULL) != 0) {
        fail("rng-mmio: set-up failed");
        return 1;
    }
    slots[nslots] =
        (struct slot){.name = "rng-mmio", .tp = &mmio1.tp, .mmio = &mmio1};
    printf("rng-mmio: entropy device behind virtio-mmio at gpa 0x%" PRIx64 "\n",
           (uint64_t)MMIO1_GPA);
    nslots++;
    if (rng_device_init(&rng_pci, "rng-pci") != 0 ||
        drv_pci_init(&pci1, &rng_pci.dev, &pc1) != 0) {
        fail("rng-pci: set-up failed");
        return 1;
    }
    slots[nslots] =
        (struct slot){.name = "rng-pci", .tp = &pci1.tp, .pci = &pci1};
    printf("rng-pci: entropy device behind virtio-pci at 00:02.0, INTx\n");
    nslots++;
#else
    printf("(the library has no entropy device: only echo devices run)\n");
#endif

    /* Discovery, as firmware and the guest do it. */
    printf("\n== discovery\n");
    {
        int id = drv_mmio_probe(&mmio0);
        printf("    [echo-mmio] MagicValue \"virt\", Version 2, DeviceID %d\n",
               id);
        if (id != (int)ECHO_ID)
            fail("echo-mmio: probe returned %d", id);
    }
    if (drv_pci_probe(&pci0, PCI_WINDOW0, 1) != 0)
        fail("echo-pci: PCI probe failed");
    pci_describe(&slots[1]);
#if HAVE_RNG
    {
        int id = drv_mmio_probe(&mmio1);
        printf("    [rng-mmio] MagicValue \"virt\", Version 2, DeviceID %d\n",
               id);
        if (id != VDM_VIRTIO_ID_RNG)
            fail("rng-mmio: probe returned %d", id);
    }
    if (drv_pci_probe(&pci1, PCI_WINDOW1, 0) != 0)
        fail("rng-pci: PCI probe failed");
    pci_describe(&slots[3]);
#endif
    if (failures != 0)
        goto out;

    /* Bring-up and traffic. */
    if (bring_up(&slots[0], DRV_F_EVENT_IDX | DRV_F_INDIRECT) == 0)
        echo_traffic(&slots[0]);
    if (bring_up(&slots[1],
                 DRV_F_PACKED | DRV_F_EVENT_IDX | DRV_F_NOTIFICATION_DATA) == 0)
        echo_traffic(&slots[1]);
#if HAVE_RNG
    if (bring_up(&slots[2], 0) == 0)
        rng_traffic(&slots[2]);
    if (bring_up(&slots[3], DRV_F_PACKED) == 0)
        rng_traffic(&slots[3]);
#endif

    printf("\n== shutdown\n");
    for (unsigned i = 0; i < nslots; i++)
        shut_down(&slots[i]);

out:
    for (unsigned i = 0; i < nslots; i++) {
        accesses += slots[i].tp->accesses;
        roundtrips += slots[i].roundtrips;
        if (slots[i].tp->refused != 0)
            fail("%s: the transport refused %u register accesses (last %d)",
                 slots[i].name, slots[i].tp->refused, slots[i].tp->last_rc);
        if (slots[i].tp->nwarn + slots[i].tp->nerror != 0)
            fail("%s: the transport logged %u warnings/errors (last: %s)",
                 slots[i].name, slots[i].tp->nwarn + slots[i].tp->nerror,
                 slots[i].tp->last_log);
    }
    drv_pci_fini(&pci0);
#if HAVE_RNG
    drv_pci_fini(&pci1);
#endif
    drv_guest_fini(&ram);
    printf("\nsummary: %u devices, %u round trips, %lu register accesses, "
           "%s\n",
           nslots, roundtrips, accesses,
           failures == 0 ? "everything worked" : "FAILED");
    return failures == 0 ? 0 : 1;
}
