/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user blk: the I/O engines. On a queue thread with io_uring
 * (liburing, when the daemon was built with it and the kernel allows it),
 * requests are queued on that thread's ring and completed when their CQE
 * comes; everywhere else (aio=sync, no liburing, the device thread serving
 * a queue that has no thread) preadv / pwritev / fdatasync complete them
 * inside the call. With O_DIRECT, a request whose spans break the file's
 * alignment rules goes through an aligned bounce buffer; one whose offset
 * or length does goes to the same file opened without O_DIRECT. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>
#ifdef VDM_HAVE_LIBURING
#include <liburing.h>
#endif

#include "dev_blk.h"

int blk_status_of(int err)
{
    return err == 0 ? VDM_BLK_S_OK : VDM_BLK_S_IOERR;
}

int blk_rw_sync(struct blk *b, int fd, const struct vdm_iov *v, uint32_t n,
                uint64_t off, uint64_t skip_bytes, int write, struct iovec *iov)
{
    uint32_t i = 0;
    size_t skip = 0; /* bytes of v[i] already done */

    (void)b;
    while (i < n && skip_bytes >= v[i].len) { /* the part already done */
        skip_bytes -= v[i].len;
        off += v[i].len;
        i++;
    }
    skip = (size_t)skip_bytes;
    off += skip;
    while (i < n) {
        uint32_t k = 0;
        ssize_t r;
        for (uint32_t j = i; j < n && k < BLK_IOV_MAX; j++, k++) {
            iov[k].iov_base = (uint8_t *)v[j].base + (j == i ? skip : 0);
            iov[k].iov_len = v[j].len - (j == i ? skip : 0);
        }
        r = write ? pwritev(fd, iov, (int)k, (off_t)off)
                  : preadv(fd, iov, (int)k, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0) {
            if (write)
                return -EIO;
            /* Past the end of the file (it shrank): read zeroes. */
            for (; i < n; i++, skip = 0)
                memset((uint8_t *)v[i].base + skip, 0, v[i].len - skip);
            return 0;
        }
        off += (uint64_t)r;
        while (r > 0 && i < n) {
            size_t left = v[i].len - skip;
            if ((size_t)r >= left) {
                r -= (ssize_t)left;
                i++;
                skip = 0;
            } else {
                skip += (size_t)r;
                r = 0;
            }
        }
    }
    return 0;
}

/* O_DIRECT: which fd, and whether the spans need a bounce buffer. */
static int direct_fd(const struct blk *b, const struct vdm_iov *v, uint32_t n,
                     uint64_t off, uint64_t len, int *bounce)
{
    *bounce = 0;
    if (!b->direct)
        return b->fd;
    if (off % b->off_align != 0 || len % b->off_align != 0)
        return b->fd_buffered; /* would need read-modify-write */
    for (uint32_t i = 0; i < n; i++)
        if ((uintptr_t)v[i].base % b->mem_align != 0 ||
            v[i].len % b->mem_align != 0) {
            *bounce = 1;
            break;
        }
    return b->fd;
}

static void gather(void *dst, const struct vdm_iov *v, uint32_t n)
{
    uint8_t *p = dst;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p, v[i].base, v[i].len);
        p += v[i].len;
    }
}

static void scatter(const struct vdm_iov *v, uint32_t n, const void *src)
{
    const uint8_t *p = src;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(v[i].base, p, v[i].len);
        p += v[i].len;
    }
}

static uint64_t total_len(const struct vdm_iov *v, uint32_t n)
{
    uint64_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += v[i].len;
    return len;
}

static void *bounce_alloc(const struct blk *b, uint64_t len)
{
    void *p = NULL;
    size_t a = b->mem_align < sizeof(void *) ? sizeof(void *) : b->mem_align;
    if (posix_memalign(&p, a, len == 0 ? a : (size_t)len) != 0)
        return NULL;
    return p;
}

/* The synchronous path: the request completes inside the call. */
static int rw_now(struct blk *b, struct iovec *scratch, int op, uint64_t sector,
                  const struct vdm_iov *v, uint32_t n)
{
    uint64_t off = sector * VDM_BLK_SECTOR_SIZE, len = total_len(v, n);
    int err = 0, bounce, fd;

    if (op == BLK_OP_FLUSH)
        return fdatasync(b->fd) < 0 ? -errno : 0;
    fd = direct_fd(b, v, n, off, len, &bounce);
    if (bounce) {
        void *p = bounce_alloc(b, len);
        struct vdm_iov one = {p, (uint32_t)len, 0};
        if (p == NULL)
            return -ENOMEM;
        if (op == BLK_OP_WRITE)
            gather(p, v, n);
        err = blk_rw_sync(b, fd, &one, 1, off, 0, op == BLK_OP_WRITE, scratch);
        if (err == 0 && op == BLK_OP_READ)
            scatter(v, n, p);
        free(p);
    } else {
        err = blk_rw_sync(b, fd, v, n, off, 0, op == BLK_OP_WRITE, scratch);
    }
    if (err == 0 && op == BLK_OP_WRITE && !b->writeback && fdatasync(fd) < 0)
        err = -errno;
    return err;
}

/* BLK_AIO_MMAP: the request is a copy between the guest's spans and the
 * file's shared mapping (the library checked it against the capacity, so
 * it lies inside the file as it was opened); a write-through write is on
 * stable storage, with the mapping's dirty pages, before its status. A
 * file shrunk under the mapping faults like guest memory does (the
 * front-end is dropped: vd_fault_jmp). */
static int rw_map(struct blk *b, int op, uint64_t sector,
                  const struct vdm_iov *v, uint32_t n)
{
    uint64_t off = sector * VDM_BLK_SECTOR_SIZE;

    if (op == BLK_OP_FLUSH)
        return fdatasync(b->fd) < 0 ? -errno : 0;
    for (uint32_t i = 0; i < n; i++) {
        if (off > b->bytes || v[i].len > b->bytes - off)
            return -EIO;
        if (op == BLK_OP_WRITE)
            memcpy(b->map + off, v[i].base, v[i].len);
        else
            memcpy(v[i].base, b->map + off, v[i].len);
        off += v[i].len;
    }
    if (op == BLK_OP_WRITE && !b->writeback && fdatasync(b->fd) < 0)
        return -errno;
    return 0;
}

static void log_err(struct blk *b, int op, uint64_t sector, int err)
{
    vd_log(b->d, VDM_LOG_WARN, "%s at sector %llu: %s",
           op == BLK_OP_READ    ? "read"
           : op == BLK_OP_WRITE ? "write"
                                : "flush",
           (unsigned long long)sector, strerror(-err));
}

#ifdef VDM_HAVE_LIBURING
/* One queue thread's io_uring. */
struct uring {
    struct io_uring ring;
    int efd; /* registered: a CQE is waiting */
    int queued;
    struct blk_io *ios;
    struct blk_io *free;
};

static struct blk_io *io_get(struct uring *u)
{
    struct blk_io *io = u->free;
    if (io != NULL)
        u->free = io->next_free;
    return io;
}

static void io_put(struct uring *u, struct blk_io *io)
{
    free(io->bounce);
    io->bounce = NULL;
    io->next_free = u->free;
    u->free = io;
}

static struct io_uring_sqe *sqe_get(struct uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe == NULL) { /* full: hand the queued ones to the kernel */
        io_uring_submit(&u->ring);
        u->queued = 0;
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* Queue @p io (phase 0: its data; 1: the fdatasync after a write). */
static int queue_io(struct uring *u, struct blk_io *io, int fd)
{
    struct io_uring_sqe *sqe = sqe_get(u);
    if (sqe == NULL)
        return -1;
    if (io->op == BLK_OP_FLUSH || io->phase == 1)
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    else if (io->op == BLK_OP_READ)
        io_uring_prep_readv(sqe, fd, io->iov, io->niov, io->off);
    else
        io_uring_prep_writev(sqe, fd, io->iov, io->niov, io->off);
    io_uring_sqe_set_data(sqe, io);
    u->queued++;
    io->q->in_flight++;
    return 0;
}
#endif

int blk_aio_rw(struct blk *b, int op, uint64_t sector, const struct vdm_iov *v,
               uint32_t n, void *token)
{
    struct blk_q *q = blkq_self();
    int err;

    if (b->fd < 0) { /* null: reads return zeroes, the rest is discarded */
        if (op == BLK_OP_READ)
            for (uint32_t i = 0; i < n; i++)
                memset(v[i].base, 0, v[i].len);
        vdm_blk_complete(&b->blk, token, VDM_BLK_S_OK);
        return 0;
    }
    if (b->map != NULL) {
        err = rw_map(b, op, sector, v, n);
        if (err < 0)
            log_err(b, op, sector, err);
        vdm_blk_complete(&b->blk, token, blk_status_of(err));
        return 0;
    }
#ifdef VDM_HAVE_LIBURING
    if (q != NULL && q->engine != NULL && n <= BLK_IOV_MAX) {
        struct uring *u = q->engine;
        struct blk_io *io = io_get(u);
        uint64_t off = sector * VDM_BLK_SECTOR_SIZE;
        int bounce = 0, fd = b->fd;

        if (io == NULL)
            goto sync; /* more in flight than slots: the synchronous way */
        io->q = q;
        io->token = token;
        io->v = v;
        io->op = op;
        io->phase = 0;
        io->off = off;
        io->len = total_len(v, n);
        io->n = io->niov = n;
        if (op != BLK_OP_FLUSH) {
            fd = direct_fd(b, v, n, off, io->len, &bounce);
            if (bounce) {
                io->bounce = bounce_alloc(b, io->len);
                if (io->bounce == NULL) {
                    io_put(u, io);
                    goto sync;
                }
                if (op == BLK_OP_WRITE)
                    gather(io->bounce, v, n);
                io->iov[0].iov_base = io->bounce;
                io->iov[0].iov_len = (size_t)io->len;
                io->niov = 1;
            } else {
                for (uint32_t i = 0; i < n; i++) {
                    io->iov[i].iov_base = v[i].base;
                    io->iov[i].iov_len = v[i].len;
                }
            }
        }
        io->fd = fd;
        if (queue_io(u, io, fd) < 0) {
            io_put(u, io);
            goto sync;
        }
        return 0;
    }
sync:
#endif
    err = rw_now(b, q != NULL ? q->scratch : b->iov, op, sector, v, n);
    if (err < 0)
        log_err(b, op, sector, err);
    vdm_blk_complete(&b->blk, token, blk_status_of(err));
    return 0;
}

void blk_aio_submit(struct blk_q *q)
{
#ifdef VDM_HAVE_LIBURING
    struct uring *u = q->engine;
    if (u != NULL && u->queued > 0) {
        io_uring_submit(&u->ring);
        u->queued = 0;
    }
#else
    (void)q;
#endif
}

#ifdef VDM_HAVE_LIBURING
/* @p io's CQE said @p res: finish it, or start its second phase. */
static void finish(struct uring *u, struct blk_io *io, int res)
{
    struct blk *b = io->q->b;
    int fd = io->fd;
    uint64_t sector = io->off / VDM_BLK_SECTOR_SIZE;
    int err = res < 0 ? res : 0;

    if (io->op != BLK_OP_FLUSH && io->phase == 0 && res >= 0 &&
        (uint64_t)res < io->len) {
        /* Short: the rest the synchronous way (a read past the end of a
         * file that shrank reads zeroes). */
        struct vdm_iov one = {io->bounce, (uint32_t)io->len, 0};
        err = io->bounce != NULL
                  ? blk_rw_sync(b, fd, &one, 1, io->off, (uint64_t)res,
                                io->op == BLK_OP_WRITE, io->q->scratch)
                  : blk_rw_sync(b, fd, io->v, io->n, io->off, (uint64_t)res,
                                io->op == BLK_OP_WRITE, io->q->scratch);
    }
    if (err == 0 && io->op == BLK_OP_WRITE && io->phase == 0 && !b->writeback) {
        io->phase = 1; /* writethrough: commit it before completing */
        if (queue_io(u, io, fd) == 0)
            return;
        err = fdatasync(fd) < 0 ? -errno : 0;
    }
    if (err == 0 && io->op == BLK_OP_READ && io->bounce != NULL)
        scatter(io->v, io->n, io->bounce);
    if (err < 0)
        log_err(b, io->op, sector, err);
    blkq_complete(io->q, io->token, blk_status_of(err));
    io_put(u, io);
}
#endif

int blk_aio_reap(struct blk_q *q, int wait)
{
#ifdef VDM_HAVE_LIBURING
    struct uring *u = q->engine;
    struct io_uring_cqe *cqe;
    int got = 0;
    uint64_t v;

    if (u == NULL)
        return 0;
    if (read(u->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        vd_log(q->d, VDM_LOG_DEBUG, "io_uring eventfd: %s", strerror(errno));
again:
    for (;;) {
        int rc = wait && got == 0 ? io_uring_wait_cqe(&u->ring, &cqe)
                                  : io_uring_peek_cqe(&u->ring, &cqe);
        struct blk_io *io;
        int res;
        if (rc == -EINTR)
            continue;
        if (rc < 0 || cqe == NULL)
            break;
        io = io_uring_cqe_get_data(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        q->in_flight--;
        got++;
        finish(u, io, res);
    }
    blk_aio_submit(q); /* second phases */
    /* What completed at that submission. */
    if (io_uring_cq_ready(&u->ring) > 0)
        goto again;
    return got;
#else
    (void)q;
    (void)wait;
    return 0;
#endif
}

/* A file whose pages live only in memory (tmpfs, ramfs, hugetlbfs): a
 * read or write there is a copy that never waits for a device, so copying
 * through a shared mapping of the file finishes it sooner than a system
 * call, let alone a ring round trip, does (bench/blk). */
static int memory_backed(int fd)
{
    struct statfs sf;

    if (fstatfs(fd, &sf) < 0)
        return 0;
    return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC ||
           sf.f_type == HUGETLBFS_MAGIC;
}

/* BLK_AIO_MMAP: map the whole file shared (not with O_DIRECT, whose point
 * is to bypass the page cache a mapping is made of). 0 or -errno. */
static int map_file(struct blk *b)
{
    void *p;

    if (b->direct || b->bytes == 0 || b->bytes > SIZE_MAX)
        return -EINVAL;
    p = mmap(NULL, (size_t)b->bytes, PROT_READ | (b->ro ? 0 : PROT_WRITE),
             MAP_SHARED, b->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    b->map = p;
    return 0;
}

int blk_aio_probe(struct blk *b)
{
    if (b->aio == BLK_AIO_SYNC || b->fd < 0)
        return 0;
    if (b->aio == BLK_AIO_MMAP ||
        (b->aio == BLK_AIO_AUTO && memory_backed(b->fd))) {
        int rc = map_file(b);
        if (rc == 0) {
            vd_log(b->d, VDM_LOG_INFO,
                   "aio=%s: the file is mapped (copies, no system calls)",
                   b->aio == BLK_AIO_MMAP ? "mmap" : "auto, a file in memory");
            b->aio = BLK_AIO_MMAP;
            return 0;
        }
        if (b->aio == BLK_AIO_MMAP) {
            vd_log(b->d, VDM_LOG_ERROR, "aio=mmap: %s",
                   rc == -EINVAL ? "not with O_DIRECT or an empty file"
                                 : strerror(-rc));
            return -1;
        }
        vd_log(b->d, VDM_LOG_INFO, "no mapping (%s): preadv and pwritev",
               strerror(-rc));
        b->aio = BLK_AIO_SYNC;
        return 0;
    }
#ifdef VDM_HAVE_LIBURING
    {
        struct io_uring ring;
        int rc = io_uring_queue_init(4, &ring, 0);
        if (rc == 0) {
            io_uring_queue_exit(&ring);
            return 0;
        }
        if (b->aio == BLK_AIO_IO_URING) {
            vd_log(b->d, VDM_LOG_ERROR, "aio=io_uring: %s", strerror(-rc));
            return -1;
        }
        vd_log(b->d, VDM_LOG_INFO, "no io_uring (%s): preadv and pwritev",
               strerror(-rc));
        b->aio = BLK_AIO_SYNC;
        return 0;
    }
#else
    if (b->aio == BLK_AIO_IO_URING) {
        vd_log(b->d, VDM_LOG_ERROR,
               "aio=io_uring: the daemon was built without liburing");
        return -1;
    }
    b->aio = BLK_AIO_SYNC;
    return 0;
#endif
}

int blk_aio_start(struct blk_q *q)
{
    struct blk *b = q->b;

    q->engine = NULL;
    q->engine_fd = -1;
    if (b->aio == BLK_AIO_SYNC || b->aio == BLK_AIO_MMAP || b->fd < 0)
        return 0;
#ifdef VDM_HAVE_LIBURING
    {
        /* More requests than this at once go the synchronous way. */
        unsigned slots = b->qsize < BLK_QSIZE ? b->qsize : BLK_QSIZE;
        struct uring *u = calloc(1, sizeof(*u));
        int rc = -ENOMEM;

        if (u != NULL)
            u->ios = calloc(slots, sizeof(*u->ios));
        if (u != NULL && u->ios != NULL) {
            u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            rc = io_uring_queue_init(slots, &u->ring, 0);
            /* Every CQE signals it (the async-only variant skips block
             * I/O completed through task work: not that one). */
            if (rc == 0 && (u->efd < 0 ||
                            io_uring_register_eventfd(&u->ring, u->efd) < 0)) {
                io_uring_queue_exit(&u->ring);
                rc = -EIO;
            }
        }
        if (rc == 0) {
            for (unsigned i = 0; i < slots; i++)
                io_put(u, &u->ios[i]);
            q->engine = u;
            q->engine_fd = u->efd;
            return 0;
        }
        if (u != NULL) {
            if (u->efd >= 0)
                close(u->efd);
            free(u->ios);
            free(u);
        }
        vd_log(q->d, VDM_LOG_WARN, "queue %u: no io_uring (%s): preadv", q->idx,
               strerror(-rc));
        return 0;
    }
#else
    return 0;
#endif
}

void blk_aio_stop(struct blk_q *q)
{
#ifdef VDM_HAVE_LIBURING
    struct uring *u = q->engine;
    if (u == NULL)
        return;
    io_uring_queue_exit(&u->ring);
    close(u->efd);
    free(u->ios);
    free(u);
#endif
    q->engine = NULL;
    q->engine_fd = -1;
}
