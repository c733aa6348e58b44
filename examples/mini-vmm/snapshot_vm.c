/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mini-vmm snapshot: the machine and its workload (see snapshot_vm.h; the
 * scenario is described in snapshot.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_vm.h"

int vm_failures;
int vm_quiet;

void vm_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    vm_failures++;
}

static void dev_log(void *host, int level, const char *msg)
{
    if (vm_quiet)
        return;
    printf("    [%s] device log: %s\n", (const char *)host, msg);
    if (level <= VDM_LOG_WARN)
        vm_failures++;
}

static const struct vdm_host_ops host_ops = {
    .size = sizeof(struct vdm_host_ops),
    .log = dev_log,
};

struct drv_guest vm_ram;
struct vdm_mem_region vm_region;
static struct vdm_mem vm_mem;
static struct blkdev blk0, blk1;
static struct echo_device echo0;
struct slot vm_devs[NDEV] = {
    {.name = "blk-mmio",
     .want = DRV_F_EVENT_IDX | DRV_F_INDIRECT,
     .blk = &blk0},
    {.name = "blk-pci",
     .pci = 1,
     .want = DRV_F_PACKED | DRV_F_EVENT_IDX,
     .blk = &blk1},
    {.name = "echo-mmio", .echo = &echo0},
};

static void fill(uint8_t *p, uint32_t block, uint32_t seed)
{
    for (uint32_t k = 0; k < BLOCK; k++)
        p[k] = (uint8_t)((k * 131u) ^ (block * 29u) ^ (seed * 97u) ^ (k >> 8));
}

/* Host storage calls: the request waits in the pending list. */
static int host_rw(void *host, uint32_t op, uint64_t sector,
                   const struct vdm_iov *iov, uint32_t n, void *token)
{
    struct blkdev *b = host;
    if (b->npend == QSIZE)
        return VDM_EBUSY; /* cannot happen: one slot per ring entry */
    b->pend[b->npend++] = (struct hreq){op, sector, iov, n, token};
    return 0;
}

static int h_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                  uint32_t n, void *token)
{
    return host_rw(host, 0, sector, iov, n, token);
}

static int h_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                   uint32_t n, void *token)
{
    return host_rw(host, 1, sector, iov, n, token);
}

static int h_flush(void *host, void *token)
{
    return host_rw(host, 2, 0, NULL, 0, token);
}

/* A notification: only recorded; the I/O loop (vm_host_poll) serves it. */
static void h_kick(void *host, uint16_t q)
{
    (void)q;
    ((struct blkdev *)host)->kicked = 1;
}

static const struct vdm_blk_ops blk_ops = {
    .size = sizeof(struct vdm_blk_ops),
    .read = h_read,
    .write = h_write,
    .flush = h_flush,
    .kick = h_kick,
};

/* The hypervisor's I/O loop: pop what a notification announced. */
void vm_host_poll(struct blkdev *b)
{
    if (b->kicked) {
        b->kicked = 0;
        (void)vdm_blk_process(&b->blk, 0);
    }
}

/* Do the @p i-th pending request on the RAM disk and complete it. */
void vm_host_complete(struct slot *s, unsigned i)
{
    struct blkdev *b = s->blk;
    struct hreq h = b->pend[i];
    uint64_t off = h.sector * VDM_BLK_SECTOR_SIZE;
    int st = VDM_BLK_S_OK;

    memmove(&b->pend[i], &b->pend[i + 1], (b->npend - i - 1) * sizeof(h));
    b->npend--;
    for (uint32_t k = 0; k < h.n && h.op < 2; k++) {
        if (off > DISK_SIZE || h.iov[k].len > DISK_SIZE - off) {
            st = VDM_BLK_S_IOERR;
            break;
        }
        if (h.op == 1)
            memcpy(b->disk + off, h.iov[k].base, h.iov[k].len);
        else
            memcpy(h.iov[k].base, b->disk + off, h.iov[k].len);
        off += h.iov[k].len;
    }
    if (vdm_blk_complete(&b->blk, h.token, st) != 0)
        vm_fail("%s: completion refused", s->name);
}

int vm_ram_init(void)
{
    uint64_t gpa = RAM_GPA, size = RAM_SIZE;

    if (drv_guest_init(&vm_ram, &gpa, &size, 1) != 0)
        return -1;
    vm_region.gpa = RAM_GPA;
    vm_region.size = RAM_SIZE;
    vm_region.hva = vm_ram.regions[0].hva;
    vm_mem = VDM_INIT(struct vdm_mem);
    vm_mem.nregions = 1;
    vm_mem.regions = &vm_region;
    printf("guest RAM: %" PRIu64 " MiB at gpa 0x%" PRIx64 ", host %p\n",
           (uint64_t)(RAM_SIZE >> 20), (uint64_t)RAM_GPA, vm_region.hva);
    return vdm_mem_check(&vm_mem);
}

static int blk_create(struct slot *s)
{
    struct blkdev *b = s->blk;
    struct vdm_blk_config c = VDM_INIT(struct vdm_blk_config);
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);

    c.capacity = DISK_SIZE / VDM_BLK_SECTOR_SIZE;
    c.iov_per_req = IOVR;
    c.flags = VDM_BLK_FLUSH;
    c.ops = &blk_ops;
    c.host = b;
    c.reqs = b->reqs;
    c.iovs = b->iovs;
    base.num_queues = 1;
    base.queue_size_max = QSIZE;
    base.mem = &vm_mem;
    base.ops = &host_ops;
    base.host = (void *)s->name;
    base.queues = &b->queue;
    base.slots = b->slots;
    return vdm_blk_init(&b->blk, &b->dev, &c, &base);
}

/* Create every device and transport: identical in both phases, as
 * docs/state-format.md step 4 asks (same type, queues, sizes, features,
 * configuration, transport options, MSI-X vectors). */
int vm_create(void)
{
    for (unsigned i = 0; i < NDEV; i++) {
        struct slot *s = &vm_devs[i];
        int rc;

        if (s->blk != NULL) {
            rc = blk_create(s);
            s->dev = &s->blk->dev;
        } else {
            rc = echo_device_init(s->echo, &vm_mem, &host_ops, (void *)s->name);
            s->dev = &s->echo->dev;
        }
        if (rc == 0 && s->pci) {
            struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
            pc.msix_vectors = 4;
            rc = drv_pci_init(&s->pcid, s->dev, &pc);
            s->tp = &s->pcid.tp;
        } else if (rc == 0) {
            rc = drv_mmio_init(&s->mmio, s->dev, NULL);
            s->tp = &s->mmio.tp;
        }
        if (rc != 0) {
            vm_fail("%s: set-up failed (%s)", s->name, vdm_strerror(rc));
            return -1;
        }
    }
    return 0;
}

void vm_destroy(void)
{
    for (unsigned i = 0; i < NDEV; i++) {
        if (vm_devs[i].vq_live)
            drv_vq_fini(&vm_devs[i].vq);
        vm_devs[i].vq_live = 0;
        if (vm_devs[i].pci)
            drv_pci_fini(&vm_devs[i].pcid);
    }
    drv_guest_fini(&vm_ram);
}

/* ------------------------------------------------------------------------ */
/* The guest driver */

uint8_t *vm_gptr(uint64_t gpa, uint64_t len)
{
    return drv_gpa(&vm_ram, gpa, len);
}

static void submit(struct slot *s, uint32_t write, uint32_t block)
{
    struct blkdev *b = s->blk;
    struct req *r = &b->req[b->nreq];
    struct drv_buf rd[2], wr[2];
    unsigned nrd = 0, nwr = 0;
    uint8_t *p;
    int id, mode = DRV_ADD_DIRECT;

    if (b->nreq == NREQ) {
        vm_fail("%s: request table full", s->name);
        return;
    }
    /* Reads go through an indirect table when it was negotiated, so that
     * the restored device walks indirect chains it re-reads too. */
    if (!write && (s->tp->features & DRV_F_INDIRECT) != 0)
        mode = DRV_ADD_INDIRECT;
    r->state = REQ_INFLIGHT;
    r->write = write;
    r->block = block;
    /* writes: a new pattern; reads: what the driver knows is there (no
     * write to the same block is in flight in this scenario) */
    r->seed = write ? b->nreq + 1u : b->model[block];
    r->completions = 0;
    r->buf = drv_alloc(&vm_ram, 64u + BLOCK, 64);
    p = vm_gptr(r->buf, 64u + BLOCK);
    drv_put_le32(p, write ? VDM_BLK_T_OUT : VDM_BLK_T_IN);
    drv_put_le32(p + 4, 0);
    drv_put_le64(p + 8, (uint64_t)block * (BLOCK / VDM_BLK_SECTOR_SIZE));
    p[16] = 0xee; /* status: not written yet */
    rd[nrd++] = (struct drv_buf){r->buf, VDM_BLK_HDR_BYTES};
    if (write) {
        fill(p + 64, block, r->seed);
        rd[nrd++] = (struct drv_buf){r->buf + 64u, BLOCK};
    } else {
        wr[nwr++] = (struct drv_buf){r->buf + 64u, BLOCK};
    }
    wr[nwr++] = (struct drv_buf){r->buf + 16u, 1};
    id = drv_vq_add(&s->vq, rd, nrd, wr, nwr, mode, r);
    if (id < 0)
        vm_fail("%s: drv_vq_add: %d", s->name, id);
    b->nreq++;
}

/* Take the interrupt and collect every used buffer, checking each. */
static unsigned collect(struct slot *s)
{
    struct blkdev *b = s->blk;
    uint8_t expect[BLOCK];
    unsigned got = 0;
    uint32_t id, len;
    void *cookie;
    int rc;

    (void)drv_tp_interrupt(s->tp);
    for (;;) {
        struct req *r;
        rc = drv_vq_get_used(&s->vq, &id, &len, &cookie);
        if (rc != 1)
            break;
        r = cookie;
        got++;
        if (r == NULL || r->state != REQ_INFLIGHT) {
            vm_fail("%s: buffer %u completed twice or unknown", s->name, id);
            continue;
        }
        r->state = REQ_DONE;
        r->completions++;
        if (vm_gptr(r->buf + 16u, 1)[0] != VDM_BLK_S_OK)
            vm_fail("%s: request %u status %u", s->name, (unsigned)(r - b->req),
                    vm_gptr(r->buf + 16u, 1)[0]);
        if (r->write) {
            b->model[r->block] = (uint8_t)r->seed;
            continue;
        }
        fill(expect, r->block, r->seed);
        if (len != BLOCK + 1u ||
            memcmp(vm_gptr(r->buf + 64u, BLOCK), expect, BLOCK) != 0)
            vm_fail("%s: read of block %u: wrong data (len %u)", s->name,
                    r->block, len);
    }
    if (rc < 0)
        vm_fail("%s: the driver saw a device error: %s", s->name,
                drv_vq_error(&s->vq));
    drv_vq_enable_cb(&s->vq);
    return got;
}

static int vm_bring_up(struct slot *s)
{
    int rc = drv_tp_bring_up(s->tp, s->want, 1, &s->vq, &vm_ram, QSIZE);
    if (rc != 0) {
        vm_fail("%s: bring-up failed at step %d", s->name, rc);
        return -1;
    }
    s->vq_live = 1;
    printf("    [%s] up over %s, %s ring, features 0x%" PRIx64 "\n", s->name,
           s->pci ? "virtio-pci (MSI-X)" : "virtio-mmio",
           (s->tp->features & DRV_F_PACKED) ? "packed" : "split",
           s->tp->features);
    return 0;
}

/* Phase 1 of a blk device: leave it with requests in every state. */
static void vm_blk_phase1(struct slot *s)
{
    struct blkdev *b = s->blk;
    unsigned got;

    for (uint32_t k = 0; k < NBLOCKS; k++)
        fill(b->disk + (size_t)k * BLOCK, k, 0);
    if (vm_bring_up(s) != 0)
        return;
    /* 8 writes (blocks 0-7), 4 reads (blocks 20-23), one notification */
    for (uint32_t k = 0; k < 8; k++)
        submit(s, 1, k);
    for (uint32_t k = 20; k < 24; k++)
        submit(s, 0, k);
    drv_tp_kick(s->tp, 0, &s->vq, 0);
    vm_host_poll(s->blk);
    if (b->npend != 12)
        vm_fail("%s: %u requests at the host, expected 12", s->name, b->npend);
    /* The host completes the two oldest; the driver collects them. */
    vm_host_complete(s, 0);
    vm_host_complete(s, 0);
    got = collect(s);
    if (got != 2)
        vm_fail("%s: driver collected %u, expected 2", s->name, got);
    /* The host completes the 2nd oldest (W3) before the oldest (W2): out
     * of order, not collected by the driver. */
    vm_host_complete(s, 1);
    /* 4 more made available and notified; the I/O loop has not run. */
    submit(s, 1, 8);
    submit(s, 1, 9);
    submit(s, 0, 0); /* W0 is done: reads the pattern of request 1 */
    submit(s, 0, 24);
    drv_tp_kick(s->tp, 0, &s->vq, 1);
    printf("    [%s] mid-I/O: %u requests issued, 2 collected, at the host "
           "%u (one completed out of order), 4 notified not popped\n",
           s->name, b->nreq, b->npend);
}

void vm_blk_finish(struct slot *s)
{
    struct blkdev *b = s->blk;
    struct vdm_vq_state vs;
    unsigned issued;

    /* The host completes everything, newest first; the driver collects. */
    while (b->npend > 0)
        vm_host_complete(s, b->npend - 1);
    (void)collect(s);
    /* Then the driver reads back every block it wrote and the one it
     * never touched, and checks them against what it wrote. */
    issued = b->nreq;
    for (uint32_t k = 0; k < 10; k++)
        submit(s, 0, k);
    submit(s, 0, 30);
    drv_tp_kick(s->tp, 0, &s->vq, 0);
    vm_host_poll(b);
    while (b->npend > 0)
        vm_host_complete(s, 0);
    (void)collect(s);
    for (unsigned i = 0; i < b->nreq; i++) {
        if (b->req[i].state != REQ_DONE || b->req[i].completions != 1)
            vm_fail("%s: request %u completed %u times", s->name, i,
                    b->req[i].completions);
    }
    for (uint32_t k = 0; k < NBLOCKS; k++) {
        uint8_t expect[BLOCK];
        fill(expect, k, b->model[k]);
        if (memcmp(b->disk + (size_t)k * BLOCK, expect, BLOCK) != 0)
            vm_fail("%s: disk block %u differs from the driver's model",
                    s->name, k);
    }
    /* Used positions: the device's next used slot is the driver's next. */
    if (vdm_dev_queue_get_state(s->dev, 0, &vs) != 0 ||
        (uint16_t)(vs.used_idx | ((s->tp->features & DRV_F_PACKED)
                                      ? (uint16_t)(vs.used_wrap << 15)
                                      : 0u)) != drv_vq_last_used(&s->vq))
        vm_fail("%s: device used position %u/%u, driver %u", s->name,
                vs.used_idx, vs.used_wrap, drv_vq_last_used(&s->vq));
    else if (!(s->tp->features & DRV_F_PACKED) && vs.used_idx != b->nreq)
        vm_fail("%s: used idx %u after %u requests", s->name, vs.used_idx,
                b->nreq);
    printf("    [%s] all %u requests completed exactly once (%u read back "
           "after restore), RAM disk equals the driver's model, used "
           "position %u on both sides\n",
           s->name, b->nreq, b->nreq - issued, drv_vq_last_used(&s->vq));
}

/* Phase 1 of the whole machine: firmware probe, then each device. */
void vm_phase1(void)
{
    if (drv_mmio_probe(&vm_devs[0].mmio) != (int)VDM_VIRTIO_ID_BLK ||
        drv_pci_probe(&vm_devs[1].pcid, PCI_BASE, 1) != 0 ||
        drv_mmio_probe(&vm_devs[2].mmio) != (int)ECHO_ID)
        vm_fail("probe failed");
    vm_blk_phase1(&vm_devs[0]);
    vm_blk_phase1(&vm_devs[1]);
    /* echo: a message made available; the vCPU stopped before its
     * notification. */
    if (vm_bring_up(&vm_devs[2]) == 0) {
        struct drv_buf ob, ib;
        vm_devs[2].msg = drv_alloc(&vm_ram, 16, 8);
        vm_devs[2].reply = drv_alloc(&vm_ram, 16, 8);
        memcpy(vm_gptr(vm_devs[2].msg, 16), "snapshot-restore", 16);
        ob = (struct drv_buf){vm_devs[2].msg, 16};
        ib = (struct drv_buf){vm_devs[2].reply, 16};
        if (drv_vq_add(&vm_devs[2].vq, &ob, 1, &ib, 1, DRV_ADD_DIRECT,
                       &vm_devs[2]) < 0)
            vm_fail("echo-mmio: drv_vq_add failed");
        drv_vq_publish(&vm_devs[2].vq);
    }
}

/* After the restore: the echo message made available before the save has
 * been served by the notification the host sends after the restore. */
void vm_echo_finish(struct slot *s)
{
    uint32_t id, len;
    void *cookie;
    const uint8_t *rep = vm_gptr(s->reply, 16);

    (void)drv_tp_interrupt(s->tp);
    if (drv_vq_get_used(&s->vq, &id, &len, &cookie) != 1 || cookie != s ||
        len != 16 || memcmp(rep, "erotser-tohspans", 16) != 0)
        vm_fail("%s: the message made available before the save was not "
                "echoed",
                s->name);
    else
        printf("    [%s] the message made available before the save came "
               "back as \"%.16s\"\n",
               s->name, (const char *)rep);
}
