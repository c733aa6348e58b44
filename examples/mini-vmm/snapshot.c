/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mini-vmm snapshot: save a machine in the middle of its I/O, restore it in
 * a fresh process, and let the guest driver finish as if nothing happened.
 *
 * The machine: guest RAM, and three devices with their guest drivers
 *   blk-mmio  virtio-blk over virtio-mmio (split ring, EVENT_IDX, INDIRECT)
 *   blk-pci   virtio-blk over virtio-pci with MSI-X (packed ring when the
 *             library has it, EVENT_IDX)
 *   echo-mmio the example echo device over virtio-mmio
 * Each blk device is backed by a RAM disk of the hypervisor and completes
 * asynchronously: a driver notification only marks the queue for the
 * hypervisor's I/O loop (vdm_blk_ops::kick), which pops the requests into
 * its pending list (vdm_blk_process()), and completes them later, in any
 * order (vdm_blk_complete()).
 *
 * Phase 1 (snapshot_save_run) leaves, in each blk queue, requests the
 * device completed that the driver has not collected, requests at the host
 * (popped, not completed), and requests the driver made available and
 * notified that the I/O loop has not popped yet; the echo queue has a
 * buffer made available whose notification never came. The save follows
 * docs/state-format.md "Using it": a vdm_*_save() that answers VDM_EBUSY
 * (out-of-order completions) is retried after completing the oldest request
 * at the host (draining), until it succeeds. From then on the source
 * completes nothing: its host requests are dropped.
 *
 * Phase 2 (snapshot_restore_run), in a new process: map RAM at the same
 * guest-physical address (another host address), create the same devices
 * and transports, put RAM and the disks back, check that corrupted device
 * images are refused with the device left reset, vdm_*_restore() each
 * device, rebuild the guest driver's bookkeeping, and notify every queue
 * once (vdm/state.h "After a restore"). The restored devices pop again the
 * requests that were at the source's host, and the new ones; the host
 * completes them; the driver checks every request completed exactly once
 * with status OK, every block read equals what it wrote, byte for byte,
 * and, at the end, the disks equal its model of them, the used positions
 * of device and driver agree and no device asked for a reset.
 *
 * The snapshot file, all integers little-endian:
 *   0   8 bytes  "MVMSNAP1"
 *   8   le32     number of records
 *   12  le32     0
 *   16  records: le32 tag, le32 device (index in vm_devs[], RAM: 0xffffffff),
 *                le64 payload length, payload
 * Tags:
 *   1 RAM     le64 gpa, le64 size, le64 allocator bump, le64 high-water,
 *             then the bytes of guest RAM
 *   2 DEVICE  the image of vdm_mmio_save() / vdm_pci_save()
 *             (docs/state-format.md), written as the library gives it
 *   3 DISK    the RAM disk's bytes
 *   4 HOST    le32 n, then n x {le32 op, le32 bytes, le64 sector}: the
 *             requests at the host when it stopped (they are not resumed
 *             from here: the restored device serves them again, and
 *             phase 2 checks that it does)
 *   5 DRIVER  the guest driver: le64 negotiated features; PCI devices:
 *             one le64 per member of pci_fields[] below (the driver's
 *             enumeration, and the interrupt controller's pending MSI
 *             vectors); le32 length + drv_vq_snap_save() image; then blk:
 *             le32 requests issued, NREQ x {le32 state, le32 write, le32
 *             block, le32 seed, le32 completions, le64 buffer gpa}, the
 *             driver's model of the disk (NBLOCKS bytes, a seed a block);
 *             echo: le64 message gpa, le64 reply gpa
 * A real VMM keeps the guest driver in guest RAM: the DRIVER record is
 * only there because this driver is a simulator living in host memory.
 *
 * What the checks stand on (VIRTIO 1.4): a buffer the device has taken
 * still belongs to it until it is used, and the driver sees each buffer
 * used once (split-ring.tex "The Virtqueue Used Ring" and "Receiving Used
 * Buffers From The Device", packed-ring.tex "Receiving Used Buffers From
 * The Device"); a completed block request has its status byte written, and
 * a read's data (device-types/blk "Device Operation"); a device that keeps
 * working sets no DEVICE_NEEDS_RESET (content.tex "Device Status Field").
 *
 * This file is the snapshot file, the save and the restore; the machine
 * and the guest's workload are in snapshot_vm.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"
#include "snapshot_vm.h"
#include "vdm/state.h"

enum { TAG_RAM = 1, TAG_DEVICE, TAG_DISK, TAG_HOST, TAG_DRIVER };

/* ------------------------------------------------------------------------ */
/* The snapshot file */

struct sbuf {
    unsigned char *p;
    size_t len, cap;
    unsigned nrec;
};

static unsigned char *sb_room(struct sbuf *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->len < n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            fprintf(stderr, "mini-vmm: out of memory\n");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    b->len += n;
    return b->p + b->len - n;
}

static void sb_le32(struct sbuf *b, uint32_t v)
{
    drv_put_le32(sb_room(b, 4), v);
}

static void sb_le64(struct sbuf *b, uint64_t v)
{
    drv_put_le64(sb_room(b, 8), v);
}

static void sb_bytes(struct sbuf *b, const void *p, size_t n)
{
    memcpy(sb_room(b, n), p, n);
}

/* Open a record; sb_end() fills its length in. */
static size_t sb_begin(struct sbuf *b, uint32_t tag, uint32_t dev)
{
    sb_le32(b, tag);
    sb_le32(b, dev);
    sb_le64(b, 0);
    b->nrec++;
    return b->len;
}

static void sb_end(struct sbuf *b, size_t start)
{
    drv_put_le64(b->p + start - 8, b->len - start);
}

/* A record read back: a view into the file's bytes. */
struct rec {
    uint32_t tag, dev;
    const unsigned char *p;
    size_t len;
};

/* Reading with bounds: every read past the end fails the cursor. */
struct cur {
    const unsigned char *p;
    size_t left;
    int bad;
};

static const unsigned char *cur_take(struct cur *c, size_t n)
{
    const unsigned char *p = c->p;
    if (c->bad || n > c->left) {
        c->bad = 1;
        return NULL;
    }
    c->p += n;
    c->left -= n;
    return p;
}

static uint32_t cur_le32(struct cur *c)
{
    const unsigned char *p = cur_take(c, 4);
    return p ? drv_get_le32(p) : 0;
}

static uint64_t cur_le64(struct cur *c)
{
    const unsigned char *p = cur_take(c, 8);
    return p ? drv_get_le64(p) : 0;
}

/* The PCI driver's knowledge from enumeration, and the interrupt
 * controller's pending MSI vectors (host side, part of the VM too). */
#define PF(m) DRV_SNAP_FIELD(struct drv_pci, m)
static const struct drv_snap_field pci_fields[] = {
    PF(mode),          PF(bar_addr[0]), PF(bar_addr[1]), PF(bar_addr[2]),
    PF(bar_addr[3]),   PF(bar_addr[4]), PF(bar_addr[5]), PF(bar_size[0]),
    PF(bar_size[1]),   PF(bar_size[2]), PF(bar_size[3]), PF(bar_size[4]),
    PF(bar_size[5]),   PF(common.pos),  PF(common.bar),  PF(common.off),
    PF(common.len),    PF(notify.pos),  PF(notify.bar),  PF(notify.off),
    PF(notify.len),    PF(isr.pos),     PF(isr.bar),     PF(isr.off),
    PF(isr.len),       PF(device.pos),  PF(device.bar),  PF(device.off),
    PF(device.len),    PF(pcicfg.pos),  PF(pcicfg.bar),  PF(pcicfg.off),
    PF(pcicfg.len),    PF(notify_mult), PF(msix_pos),    PF(msix_size),
    PF(msix_bar),      PF(msix_table),  PF(msix_on),     PF(config_vector),
    PF(msi_unhandled),
};
#define NPCIF (sizeof(pci_fields) / sizeof(pci_fields[0]))

/* Cookies of the driver's buffers: request number + 1 (echo: 1). */
static uint32_t cookie_id(void *ctx, void *cookie)
{
    struct slot *s = ctx;
    if (s->blk == NULL)
        return 1;
    return (uint32_t)((struct req *)cookie - s->blk->req) + 1u;
}

static void *cookie_ptr(void *ctx, uint32_t id)
{
    struct slot *s = ctx;
    if (s->blk == NULL)
        return id == 1 ? (void *)s : NULL;
    return id >= 1 && id <= NREQ ? (void *)&s->blk->req[id - 1] : NULL;
}

static void save_driver(struct sbuf *sb, struct slot *s)
{
    size_t n = drv_vq_snap_size(&s->vq);

    sb_le64(sb, s->tp->features);
    if (s->pci)
        drv_snap_fields_save(&s->pcid, pci_fields, NPCIF,
                             sb_room(sb, 8 * NPCIF));
    sb_le32(sb, (uint32_t)n);
    if (drv_vq_snap_save(&s->vq, sb_room(sb, n), n, cookie_id, s) < 0)
        vm_fail("%s: the driver's queue cannot be saved", s->name);
    if (s->blk != NULL) {
        sb_le32(sb, s->blk->nreq);
        for (unsigned i = 0; i < NREQ; i++) {
            const struct req *r = &s->blk->req[i];
            sb_le32(sb, r->state);
            sb_le32(sb, r->write);
            sb_le32(sb, r->block);
            sb_le32(sb, r->seed);
            sb_le32(sb, r->completions);
            sb_le64(sb, r->buf);
        }
        sb_bytes(sb, s->blk->model, NBLOCKS);
    } else {
        sb_le64(sb, s->msg);
        sb_le64(sb, s->reply);
    }
}

static int load_driver(struct slot *s, const struct rec *r)
{
    struct cur c = {r->p, r->len, 0};
    const unsigned char *p;
    uint32_t n;

    s->tp->features = cur_le64(&c);
    if (s->pci) {
        p = cur_take(&c, 8 * NPCIF);
        if (p == NULL ||
            drv_snap_fields_load(&s->pcid, pci_fields, NPCIF, p) != 0)
            return -1;
    }
    n = cur_le32(&c);
    p = cur_take(&c, n);
    if (p == NULL ||
        drv_vq_snap_load(&s->vq, &vm_ram, p, n, cookie_ptr, s) != 0)
        return -1;
    s->vq_live = 1;
    if (s->blk != NULL) {
        s->blk->nreq = cur_le32(&c);
        for (unsigned i = 0; i < NREQ; i++) {
            struct req *q = &s->blk->req[i];
            q->state = cur_le32(&c);
            q->write = cur_le32(&c);
            q->block = cur_le32(&c);
            q->seed = cur_le32(&c);
            q->completions = cur_le32(&c);
            q->buf = cur_le64(&c);
            if (q->block >= NBLOCKS || q->state > REQ_DONE ||
                (q->state != REQ_FREE && vm_gptr(q->buf, 64u + BLOCK) == NULL))
                c.bad = 1;
        }
        p = cur_take(&c, NBLOCKS);
        if (p != NULL)
            memcpy(s->blk->model, p, NBLOCKS);
        if (s->blk->nreq > NREQ)
            c.bad = 1;
    } else {
        s->msg = cur_le64(&c);
        s->reply = cur_le64(&c);
    }
    return c.bad || c.left != 0 ? -1 : 0;
}

/* Save one device through its transport, draining while it says
 * VDM_EBUSY (docs/state-format.md "Using it", step 2). */
static void save_device(struct sbuf *sb, unsigned i)
{
    struct slot *s = &vm_devs[i];
    size_t need = s->pci ? vdm_pci_state_size(&s->pcid.t)
                         : vdm_mmio_state_size(&s->mmio.t);
    unsigned drained = 0;
    size_t start = sb_begin(sb, TAG_DEVICE, i);
    unsigned char *img = sb_room(sb, need);
    int rc;

    for (;;) {
        rc = s->pci ? vdm_pci_save(&s->pcid.t, img, need)
                    : vdm_mmio_save(&s->mmio.t, img, need);
        if (rc != VDM_EBUSY || s->blk == NULL || s->blk->npend == 0)
            break;
        vm_host_complete(s, 0); /* drain: finish the oldest request */
        drained++;
    }
    if (rc < 0) {
        vm_fail("%s: save: %s", s->name, vdm_strerror(rc));
        return;
    }
    sb->len -= need - (size_t)rc;
    sb_end(sb, start);
    printf("    [%s] saved: %d-byte image%s", s->name, rc,
           drained ? ", after VDM_EBUSY and draining " : "");
    if (drained)
        printf("%u request%s", drained, drained > 1 ? "s" : "");
    printf("\n");
    if (s->blk != NULL && drained == 0)
        vm_fail("%s: expected VDM_EBUSY (a completion out of order)", s->name);
}

int snapshot_save_run(const char *file)
{
    static struct sbuf sb;
    uint64_t bump, hiwater;
    FILE *f;
    size_t start;

    printf("== snapshot, phase 1: run the guest, save mid-I/O\n");
    if (vm_ram_init() != 0 || vm_create() != 0)
        return 1;
    vm_phase1();
    if (vm_failures != 0)
        return 1;

    /* The machine stops here (no vCPU, no I/O loop runs any more). */
    memcpy(sb_room(&sb, 16), "MVMSNAP1\0\0\0\0\0\0\0\0", 16);
    for (unsigned i = 0; i < NDEV; i++)
        save_device(&sb, i);
    for (unsigned i = 0; i < NDEV; i++) {
        struct blkdev *b = vm_devs[i].blk;
        if (b == NULL)
            continue;
        start = sb_begin(&sb, TAG_DISK, i);
        sb_bytes(&sb, b->disk, DISK_SIZE);
        sb_end(&sb, start);
        start = sb_begin(&sb, TAG_HOST, i);
        sb_le32(&sb, b->npend);
        for (unsigned k = 0; k < b->npend; k++) {
            uint32_t bytes = 0;
            for (uint32_t j = 0; j < b->pend[k].n; j++)
                bytes += b->pend[k].iov[j].len;
            sb_le32(&sb, b->pend[k].op);
            sb_le32(&sb, bytes);
            sb_le64(&sb, b->pend[k].sector);
        }
        sb_end(&sb, start);
    }
    for (unsigned i = 0; i < NDEV; i++) {
        start = sb_begin(&sb, TAG_DRIVER, i);
        save_driver(&sb, &vm_devs[i]);
        sb_end(&sb, start);
    }
    /* Guest RAM last: everything above has been written to it. */
    (void)drv_guest_alloc_get(&vm_ram, 0, &bump, &hiwater);
    start = sb_begin(&sb, TAG_RAM, UINT32_MAX);
    sb_le64(&sb, RAM_GPA);
    sb_le64(&sb, RAM_SIZE);
    sb_le64(&sb, bump);
    sb_le64(&sb, hiwater);
    sb_bytes(&sb, vm_region.hva, RAM_SIZE);
    sb_end(&sb, start);
    drv_put_le32(sb.p + 8, sb.nrec);

    f = fopen(file, "wb");
    if (f == NULL || fwrite(sb.p, 1, sb.len, f) != sb.len || fclose(f) != 0) {
        vm_fail("cannot write %s", file);
        return 1;
    }
    printf("    snapshot written: %s, %zu bytes, %u records; the source "
           "drops its %u + %u requests at the host\n",
           file, sb.len, sb.nrec, vm_devs[0].blk->npend, vm_devs[1].blk->npend);
    free(sb.p);
    vm_destroy();
    return vm_failures == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* Phase 2 */

/* Bytes of the blk-mmio image (split ring) whose every value restore may
 * accept (docs/state-format.md): core generation (36-39), offered
 * features and queue size maximum (information: 40-47, 64-65), the queue's
 * ring addresses (88-111: the restored ring may be anywhere in RAM that is
 * aligned), its re-queued count (information: 118-119), the MMIO
 * selectors the guest writes freely (152-167). Any other byte inverted
 * must be refused. */
static int free_byte(size_t i)
{
    return (i >= 36 && i <= 47) || i == 64 || i == 65 ||
           (i >= 88 && i <= 111) || i == 118 || i == 119 ||
           (i >= 152 && i <= 167);
}

static int restore_dev(struct slot *s, const void *img, size_t len)
{
    return s->pci ? vdm_pci_restore(&s->pcid.t, img, len)
                  : vdm_mmio_restore(&s->mmio.t, img, len);
}

/* Corrupted images of device @p s must be refused and leave it reset;
 * @p sweep: also every byte inverted in turn (blk-mmio's layout). */
static void refusals(struct slot *s, const struct rec *img, int sweep)
{
    static const struct {
        size_t off;
        uint8_t xor_;
        int rc;
        const char *what;
    } spoil[] = {
        {0, 0xff, VDM_EINVAL, "magic"},
        {4, 0x03, VDM_ENOTSUP, "format version"},
        /* header 24 + section header 8: core status, an unknown bit 5 */
        {32, 0x20, VDM_EINVAL, "core status"},
        /* + core 40 + section header 8: queue 0, descriptor area high
         * byte: the ring outside guest memory */
        {80 + 15, 0x80, VDM_EFAULT, "queue descriptor area"},
    };
    unsigned char *buf = img != NULL ? malloc(img->len) : NULL;
    unsigned refused = 0, accepted = 0;
    int rc;

    if (img == NULL || buf == NULL) {
        free(buf);
        return;
    }
    vm_quiet = 1;
    for (size_t i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
        memcpy(buf, img->p, img->len);
        buf[spoil[i].off] ^= spoil[i].xor_;
        rc = restore_dev(s, buf, img->len);
        printf("    [%s] corrupted %s: restore says %s\n", s->name,
               spoil[i].what, vdm_strerror(rc));
        if (rc != spoil[i].rc)
            vm_fail("%s: corrupted %s: %s, expected %s", s->name, spoil[i].what,
                    vdm_strerror(rc), vdm_strerror(spoil[i].rc));
        if (vdm_dev_status(s->dev) != 0 || vdm_dev_queue_enabled(s->dev, 0))
            vm_fail("%s: refused restore left the device not reset", s->name);
    }
    rc = restore_dev(s, img->p, img->len - 1);
    if (rc >= 0 || vdm_dev_status(s->dev) != 0)
        vm_fail("%s: a truncated image was not refused", s->name);
    /* Every single byte inverted in turn: refused with the device reset,
     * or accepted (fields the format leaves free); never anything else. */
    for (size_t i = 0; sweep && i < img->len; i++) {
        memcpy(buf, img->p, img->len);
        buf[i] ^= 0xff;
        rc = restore_dev(s, buf, img->len);
        if (rc == 0) {
            accepted++;
            if (!free_byte(i))
                vm_fail("%s: byte %zu inverted: accepted", s->name, i);
            continue;
        }
        refused++;
        if (vdm_dev_status(s->dev) != 0 || vdm_dev_queue_enabled(s->dev, 0) ||
            s->tp->ops->get_status(s->tp) != 0)
            vm_fail("%s: byte %zu inverted: refused (%s) but not reset",
                    s->name, i, vdm_strerror(rc));
    }
    vm_quiet = 0;
    s->tp->nwarn = s->tp->nerror = 0;
    if (sweep)
        printf("    [%s] every byte inverted in turn: %u refused (device "
               "left reset), %u accepted (free fields)\n",
               s->name, refused, accepted);
    free(buf);
}

static const struct rec *find(const struct rec *rs, unsigned n, uint32_t tag,
                              uint32_t dev)
{
    for (unsigned i = 0; i < n; i++) {
        if (rs[i].tag == tag && rs[i].dev == dev)
            return &rs[i];
    }
    vm_fail("snapshot: record %u of device %u missing", tag, dev);
    return NULL;
}

/* The host's requests after restore must begin with exactly those the
 * source dropped (same operation, sector and length), in the same order. */
static void check_resubmitted(struct slot *s, const struct rec *h)
{
    struct cur c = {h->p, h->len, 0};
    uint32_t n = cur_le32(&c);

    for (uint32_t k = 0; k < n && !c.bad; k++) {
        uint32_t op = cur_le32(&c), bytes = cur_le32(&c), got = 0;
        uint64_t sector = cur_le64(&c);
        if (k >= s->blk->npend) {
            vm_fail("%s: request %u at the source's host not served again",
                    s->name, k);
            return;
        }
        for (uint32_t j = 0; j < s->blk->pend[k].n; j++)
            got += s->blk->pend[k].iov[j].len;
        if (s->blk->pend[k].op != op || s->blk->pend[k].sector != sector ||
            got != bytes)
            vm_fail("%s: host request %u differs from the source's", s->name,
                    k);
    }
    printf("    [%s] the host got again the %u requests the source dropped, "
           "then %u new\n",
           s->name, n, s->blk->npend - n);
}

int snapshot_restore_run(const char *file)
{
    struct rec rs[32];
    unsigned nrec = 0, nfile;
    unsigned char *data = NULL;
    long flen = 0;
    FILE *f;
    struct cur c;

    printf("== snapshot, phase 2 (a fresh process image): restore from %s\n",
           file);
    f = fopen(file, "rb");
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (flen = ftell(f)) >= 16 &&
        fseek(f, 0, SEEK_SET) == 0)
        data = malloc((size_t)flen);
    if (data == NULL || fread(data, 1, (size_t)flen, f) != (size_t)flen) {
        vm_fail("cannot read %s", file);
        free(data);
        if (f != NULL)
            fclose(f);
        return 1;
    }
    fclose(f);
    c = (struct cur){data, (size_t)flen, 0};
    if (memcmp(cur_take(&c, 8), "MVMSNAP1", 8) != 0)
        c.bad = 1;
    nfile = cur_le32(&c);
    (void)cur_le32(&c);
    while (!c.bad && c.left > 0 && nrec < 32) {
        struct rec *r = &rs[nrec++];
        r->tag = cur_le32(&c);
        r->dev = cur_le32(&c);
        uint64_t len = cur_le64(&c);
        r->len = len <= c.left ? (size_t)len : 0;
        r->p = cur_take(&c, len <= c.left ? (size_t)len : c.left + 1);
    }
    if (c.bad || c.left != 0 || nrec != nfile) {
        vm_fail("%s: not a snapshot of this program", file);
        free(data);
        return 1;
    }

    /* The machine, as phase 1 created it; then guest RAM and the disks. */
    if (vm_ram_init() != 0 || vm_create() != 0)
        return 1;
    {
        const struct rec *r = find(rs, nrec, TAG_RAM, UINT32_MAX);
        struct cur rc = {r ? r->p : NULL, r ? r->len : 0, 0};
        uint64_t gpa = cur_le64(&rc), size = cur_le64(&rc);
        uint64_t bump = cur_le64(&rc), hiwater = cur_le64(&rc);
        const unsigned char *bytes = cur_take(&rc, RAM_SIZE);
        if (bytes == NULL || gpa != RAM_GPA || size != RAM_SIZE ||
            rc.left != 0 ||
            drv_guest_alloc_set(&vm_ram, 0, bump, hiwater) != 0) {
            vm_fail("snapshot: bad RAM record");
            return 1;
        }
        memcpy(vm_region.hva, bytes, RAM_SIZE);
    }
    for (unsigned i = 0; i < NDEV; i++) {
        const struct rec *d;
        if (vm_devs[i].blk == NULL)
            continue;
        d = find(rs, nrec, TAG_DISK, i);
        if (d == NULL || d->len != DISK_SIZE)
            return 1;
        memcpy(vm_devs[i].blk->disk, d->p, DISK_SIZE);
    }
    if (vm_failures != 0)
        return 1;

    /* Corrupted images first (the device must stay reset), then the real
     * restore of every device, and of the guest driver. */
    refusals(&vm_devs[0], find(rs, nrec, TAG_DEVICE, 0), 1);
    refusals(&vm_devs[1], find(rs, nrec, TAG_DEVICE, 1), 0);
    for (unsigned i = 0; i < NDEV; i++) {
        struct slot *s = &vm_devs[i];
        const struct rec *img = find(rs, nrec, TAG_DEVICE, i);
        const struct rec *drv = find(rs, nrec, TAG_DRIVER, i);
        int rc;

        if (img == NULL || drv == NULL)
            return 1;
        rc = restore_dev(s, img->p, img->len);
        if (rc != 0) {
            vm_fail("%s: restore: %s", s->name, vdm_strerror(rc));
            return 1;
        }
        if (load_driver(s, drv) != 0) {
            vm_fail("%s: bad driver record", s->name);
            return 1;
        }
        printf("    [%s] restored: status 0x%02x, queue 0 %s\n", s->name,
               s->tp->ops->get_status(s->tp),
               vdm_dev_queue_enabled(s->dev, 0) ? "enabled" : "disabled");
    }
    /* vdm/state.h "After a restore": notify every enabled queue once. */
    for (unsigned i = 0; i < NDEV; i++)
        (void)vdm_dev_queue_notify(vm_devs[i].dev, 0, 0);
    for (unsigned i = 0; i < NDEV; i++) {
        struct slot *s = &vm_devs[i];
        if (s->blk == NULL)
            continue;
        vm_host_poll(s->blk);
        check_resubmitted(s, find(rs, nrec, TAG_HOST, i));
        vm_blk_finish(s);
    }
    vm_echo_finish(&vm_devs[2]);
    for (unsigned i = 0; i < NDEV; i++) {
        struct slot *s = &vm_devs[i];
        if (vdm_dev_status(s->dev) & VDM_STATUS_DEVICE_NEEDS_RESET)
            vm_fail("%s: DEVICE_NEEDS_RESET", s->name);
        if (s->tp->refused != 0 || s->tp->nwarn + s->tp->nerror != 0)
            vm_fail("%s: transport refused %u accesses, logged %u warnings",
                    s->name, s->tp->refused, s->tp->nwarn + s->tp->nerror);
        if (drv_tp_reset(s->tp) != 0)
            vm_fail("%s: reset did not complete", s->name);
    }
    free(data);
    vm_destroy();
    printf("snapshot: %s\n", vm_failures == 0 ? "restored, every request "
                                                "finished with the right data"
                                              : "FAILED");
    return vm_failures == 0 ? 0 : 1;
}

int snapshot_test(const char *self, const char *file)
{
    char *argv[4];

    if (snapshot_save_run(file) != 0)
        return 1;
    fflush(stdout);
    argv[0] = (char *)self;
    argv[1] = (char *)"--restore";
    argv[2] = (char *)file;
    argv[3] = NULL;
    /* A new process image: nothing of phase 1 survives but the file. */
    execv("/proc/self/exe", argv);
    execv(self, argv);
    perror("mini-vmm: execv");
    return 1;
}
