/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mini-vmm snapshot: the machine that is saved and restored (guest RAM, two
 * blk devices and an echo device, their transports, the hypervisor's RAM
 * disks and I/O loop, the guest driver's requests) and the workload that
 * leaves it mid-I/O (snapshot_vm.c). snapshot.c saves and restores it.
 */
#ifndef MINIVMM_SNAPSHOT_VM_H
#define MINIVMM_SNAPSHOT_VM_H

#include <stdint.h>

#include "drv.h"
#include "drv_mmio.h"
#include "drv_pci.h"
#include "drv_transport.h"
#include "echo_device.h"
#include "vdm/devices/blk.h"

#define RAM_GPA   0x40000000ull
#define RAM_SIZE  (4ull << 20)
#define PCI_BASE  0xe0000000ull
#define QSIZE     64u
#define IOVR      VDM_BLK_IOV_PER_REQ(1)
#define BLOCK     4096u /* bytes of one request's data */
#define NBLOCKS   32u   /* RAM disk: 128 KiB */
#define DISK_SIZE (NBLOCKS * BLOCK)
#define NREQ      48u /* requests one blk driver may issue over the run */

enum { REQ_FREE = 0, REQ_INFLIGHT, REQ_DONE };

/* A request the host holds (popped by the device, not completed). */
struct hreq {
    uint32_t op; /* 0 read, 1 write, 2 flush */
    uint64_t sector;
    const struct vdm_iov *iov;
    uint32_t n;
    void *token;
};

/* A request of the guest driver. Its buffer (one guest allocation): the
 * 16-byte header, the status byte at 16, the data at 64. */
struct req {
    uint32_t state; /* REQ_* */
    uint32_t write;
    uint32_t block;
    uint32_t seed; /* the pattern written, or expected (0: initial) */
    uint32_t completions;
    uint64_t buf;
};

struct blkdev {
    /* device side: the hypervisor's */
    struct vdm_blk blk;
    struct vdm_dev dev;
    struct vdm_vq queue;
    uint32_t slots[VDM_DEV_SLOTS(1, QSIZE)];
    struct vdm_blk_req reqs[VDM_BLK_REQS(1, QSIZE)];
    struct vdm_iov iovs[VDM_BLK_IOVS(1, QSIZE, IOVR)];
    uint8_t disk[DISK_SIZE];
    struct hreq pend[QSIZE]; /* in the order received */
    unsigned npend;
    int kicked; /* the I/O loop has a notification to serve */
    /* guest side */
    struct req req[NREQ];
    unsigned nreq;
    uint8_t model[NBLOCKS]; /* seed of each block as the driver knows it */
};

/* One device slot: a device behind a transport, and its guest driver. */
struct slot {
    const char *name;
    int pci;       /* 0 virtio-mmio, 1 virtio-pci (MSI-X) */
    uint64_t want; /* ring features the driver asks for */
    struct vdm_dev *dev;
    struct blkdev *blk;       /* NULL: echo */
    struct echo_device *echo; /* NULL: blk */
    struct drv_mmio mmio;
    struct drv_pci pcid;
    struct drv_tp *tp;
    struct drv_vq vq;
    int vq_live;
    uint64_t msg, reply; /* echo: the pending message and its reply buffer */
};

#define NDEV 3
extern struct slot vm_devs[NDEV];       /* blk-mmio, blk-pci, echo-mmio */
extern struct drv_guest vm_ram;         /* guest RAM, the guest's view */
extern struct vdm_mem_region vm_region; /* and the region vdm reads */
extern int vm_failures;                 /* checks that failed */
extern int vm_quiet; /* 1: log lines of deliberate refusals don't count */

/* Print a failed check and count it. */
void vm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Map guest RAM and describe it to vdm. */
int vm_ram_init(void);
/* Create every device and transport (identical in both phases). */
int vm_create(void);
void vm_destroy(void);
/* Host pointer of a guest range (NULL when outside RAM). */
uint8_t *vm_gptr(uint64_t gpa, uint64_t len);

/* The hypervisor: its I/O loop pops what a notification announced; a
 * completion does the @p i-th pending request on the RAM disk. */
void vm_host_poll(struct blkdev *b);
void vm_host_complete(struct slot *s, unsigned i);

/* The guest: phase 1 of each device (leave it mid-I/O) and, after the
 * restore, its end (finish, read back, check). */
void vm_phase1(void);
void vm_blk_finish(struct slot *s);
void vm_echo_finish(struct slot *s);

#endif
