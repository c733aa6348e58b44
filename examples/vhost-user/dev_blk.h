/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user blk: what the device (dev_blk.c), its queue threads
 * (blk_queue.c) and its I/O engines (blk_aio.c) share. Linux host code. */
#ifndef VDM_VHOST_USER_DEV_BLK_H
#define VDM_VHOST_USER_DEV_BLK_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "daemon.h"
#include "vdm/devices/blk.h"

#define BLK_QSIZE          256 /* largest ring the front-end may choose */
#define BLK_SEG_MAX        126 /* data segments per request */
#define BLK_IOV_SLACK      4   /* region crossings */
#define BLK_IOV_MAX        (BLK_SEG_MAX + 2 + BLK_IOV_SLACK)
#define BLK_MAX_QUEUES     64
#define BLK_DEFAULT_QUEUES 16 /* QEMU asks for one per vCPU by default */
#define BLK_POLL_US_MAX    1000000

/* aio= */
#define BLK_AIO_AUTO     0 /* io_uring when it works, else sync */
#define BLK_AIO_SYNC     1 /* preadv / pwritev on the queue's thread */
#define BLK_AIO_IO_URING 2
#define BLK_AIO_MMAP     3 /* the file mapped: memcpy on the queue's thread */

struct blk;
struct blk_q;

/* One request at the host, on the engine of its queue thread. */
struct blk_io {
    struct blk_q *q;
    void *token;
    const struct vdm_iov *v; /* the library's spans (valid until completed) */
    uint32_t n;              /* ... how many */
    uint32_t niov;           /* iov[] entries submitted (1 when bounced) */
    uint64_t off;            /* file offset */
    uint64_t len;            /* bytes */
    int op;                  /* BLK_OP_* */
    int phase;    /* 1: the data is done, the fdatasync after it runs */
    int fd;       /* the fd it goes to */
    void *bounce; /* O_DIRECT: an aligned copy (NULL: the guest's spans) */
    struct blk_io *next_free;
    struct iovec iov[BLK_IOV_MAX];
};

#define BLK_OP_READ  0
#define BLK_OP_WRITE 1
#define BLK_OP_FLUSH 2

/* One request queue's thread (blk_queue.c). */
struct blk_q {
    struct blk *b;
    struct vdev *d;
    uint16_t idx;
    int started; /* thread running (device thread only) */
    pthread_t th;
    int epfd;    /* the thread's epoll set: wake, kick, completions */
    int wake_fd; /* eventfd */
    int32_t kick_fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pause_req;      /* under mu: the device thread wants the library */
    int paused;         /* under mu: ... and has it */
    unsigned gen;       /* under mu: resumes so far */
    int quit;           /* under mu */
    int pending;        /* __atomic: the library's kick hook fired */
    int dead;           /* a guest memory fault: wait for the reset */
    unsigned poll_us;   /* the adaptive busy-poll window now */
    void *engine;       /* blk_aio.c's per-queue state (NULL: sync) */
    int engine_fd;      /* readable when completions are waiting, or -1 */
    unsigned in_flight; /* requests at the engine */
    struct iovec scratch[BLK_IOV_MAX]; /* synchronous I/O */
    int32_t orphan_n;                  /* tokens a fault left uncompleted */
    void **orphan;                     /* qsize of them */
};

struct blk {
    struct vdm_blk blk;
    struct vdev *d;
    int fd;          /* -1: the null backend */
    int fd_buffered; /* the same file without O_DIRECT (unaligned offsets) */
    int ro;
    int writeback;
    int punch;                     /* fallocate(PUNCH_HOLE) works */
    int zero;                      /* fallocate(ZERO_RANGE) works */
    int aio;                       /* BLK_AIO_*: asked for */
    int direct;                    /* the file is open with O_DIRECT */
    uint8_t *map;                  /* BLK_AIO_MMAP: the whole file, shared */
    uint64_t bytes;                /* the file's size (the disk's bytes) */
    uint32_t mem_align, off_align; /* O_DIRECT's alignment rules */
    unsigned poll_us;              /* poll-us=: busy-poll bound, 0 off */
    unsigned nq;
    uint16_t qsize;
    struct vdm_blk_req *reqs;
    struct vdm_iov *iovs;
    struct blk_q *q; /* nq of them */
    int pause_depth; /* device thread */
    unsigned long long crash_after; /* test knob: SIGKILL at that write */
    int need_poll;   /* __atomic: a queue without a thread has a kick */
    struct iovec iov[BLK_IOV_MAX]; /* the device thread's sync I/O */
};

/* blk_queue.c */
/** Set up the queue thread records (no thread yet). 0 or -1. */
int blkq_init(struct blk *b);
/** The vd_type hooks. */
void blkq_pause(struct vdev *d);
void blkq_resume(struct vdev *d);
int blkq_watch_kick(struct vdev *d, uint16_t q, int32_t fd);
/** The library's kick hook (vdm_blk_ops::kick). */
void blkq_kick(void *host, uint16_t q);
/** The disconnected hook (paused, after the reset). */
void blkq_disconnected(struct vdev *d);
/** The device thread's poll hook: queues without a thread of their own. */
int blkq_poll(struct vdev *d);
/** The queue thread the caller is, or NULL. */
struct blk_q *blkq_self(void);
/** Complete @p token of queue thread @p q (on it), guarded against guest
 *  memory faults. */
void blkq_complete(struct blk_q *q, void *token, int status);

/* blk_aio.c: the engines. The data calls complete the request (now or
 * later, on the queue thread) through vdm_blk_complete(). */
/** At create: whether aio= can be had (aio=auto settles here). 0 or -1. */
int blk_aio_probe(struct blk *b);
/** The engine of queue thread @p q (on that thread): io_uring when the
 *  device asks for it and it works. 0, or -1 when aio=io_uring was asked
 *  for and cannot be had (logged). */
int blk_aio_start(struct blk_q *q);
/** Tear it down (nothing in flight). */
void blk_aio_stop(struct blk_q *q);
/** Submit what was queued since the last call. */
void blk_aio_submit(struct blk_q *q);
/** Reap completions (@p wait: at least one, blocking). Returns how many. */
int blk_aio_reap(struct blk_q *q, int wait);
/** A data request: read, write or flush, on the caller's queue thread's
 *  engine (or synchronously). Always accepted (0). */
int blk_aio_rw(struct blk *b, int op, uint64_t sector,
               const struct vdm_iov *iov, uint32_t n, void *token);
/** Synchronous read or write of the @p n spans at byte offset @p off,
 *  skipping the first @p skip bytes of them: 0 or -errno. */
int blk_rw_sync(struct blk *b, int fd, const struct vdm_iov *v, uint32_t n,
                uint64_t off, uint64_t skip, int write, struct iovec *iov);
/** The status for an errno-style result. */
int blk_status_of(int err);

#endif
