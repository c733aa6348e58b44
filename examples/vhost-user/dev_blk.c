/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the block device, backed by a file or block device, or by
 * nothing (backend=null: reads return zeros, writes are discarded; for
 * measuring the protocol's own cost). Each request queue runs on a thread
 * of its own (blk_queue.c) with its own io_uring (blk_aio.c; aio=sync:
 * preadv / pwritev / fdatasync there); the file is opened with O_DIRECT
 * when it supports it (direct=auto). Discard and write-zeroes are
 * synchronous (fallocate). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev_blk.h"

static int blk_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                    uint32_t n, void *token)
{
    struct vdev *d = host;

    if (vd_dirty_logging(d)) { /* migration: say what the log had to carry */
        uint64_t len = 0;
        for (uint32_t i = 0; i < n; i++)
            len += iov[i].len;
        vd_dirty_count(d, 1, len);
    }
    return blk_aio_rw(d->priv, BLK_OP_READ, sector, iov, n, token);
}

static int blk_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                     uint32_t n, void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;

    if (vd_dirty_logging(d))
        vd_dirty_count(d, 0, 0);
    /* crash-after-writes=N (test knob): die with this request taken from
     * the ring and not completed (queue threads count together) */
    if (b->crash_after != 0 &&
        __atomic_sub_fetch(&b->crash_after, 1, __ATOMIC_SEQ_CST) == 0)
        raise(SIGKILL);
    return blk_aio_rw(d->priv, BLK_OP_WRITE, sector, iov, n, token);
}

static int blk_flush(void *host, void *token)
{
    struct vdev *d = host;
    return blk_aio_rw(d->priv, BLK_OP_FLUSH, 0, NULL, 0, token);
}

/* Write zeroes the slow way. */
static int write_zero_bytes(struct blk *b, uint64_t off, uint64_t len)
{
    static const uint8_t zero[65536];
    while (len > 0) {
        size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
        ssize_t r = pwrite(b->fd_buffered, zero, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

static int blk_discard(void *host, uint64_t sector, uint32_t nsectors,
                       void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    uint64_t off = sector * VDM_BLK_SECTOR_SIZE;
    uint64_t len = (uint64_t)nsectors * VDM_BLK_SECTOR_SIZE;

    /* Discard is advice: where the file cannot punch holes, do nothing. */
    if (b->punch &&
        fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) < 0 &&
        (errno == EOPNOTSUPP || errno == ENOSYS))
        b->punch = 0;
    vdm_blk_complete(&b->blk, token, VDM_BLK_S_OK);
    return 0;
}

static int blk_write_zeroes(void *host, uint64_t sector, uint32_t nsectors,
                            uint32_t unmap, void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    uint64_t off = sector * VDM_BLK_SECTOR_SIZE;
    uint64_t len = (uint64_t)nsectors * VDM_BLK_SECTOR_SIZE;
    int err = -EOPNOTSUPP;

    if (b->fd < 0) { /* null: nothing to zero */
        vdm_blk_complete(&b->blk, token, VDM_BLK_S_OK);
        return 0;
    }
    if (unmap && b->punch) {
        err = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        (off_t)off, (off_t)len) < 0
                  ? -errno
                  : 0;
        if (err == -EOPNOTSUPP || err == -ENOSYS)
            b->punch = 0;
    }
    if (err != 0 && b->zero) {
        err = fallocate(b->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) < 0
                  ? -errno
                  : 0;
        if (err == -EOPNOTSUPP || err == -ENOSYS)
            b->zero = 0;
    }
    if (err != 0)
        err = write_zero_bytes(b, off, len);
    if (err == 0 && !b->writeback && fdatasync(b->fd) < 0)
        err = -errno;
    vdm_blk_complete(&b->blk, token, blk_status_of(err));
    return 0;
}

static void blk_set_writeback(void *host, uint32_t wb)
{
    struct vdev *d = host;
    ((struct blk *)d->priv)->writeback = wb != 0;
    vd_log(d, VDM_LOG_INFO, "cache mode %s", wb ? "writeback" : "writethrough");
}

static const struct vdm_blk_ops blk_ops = {
    .size = sizeof(struct vdm_blk_ops),
    .read = blk_read,
    .write = blk_write,
    .flush = blk_flush,
    .discard = blk_discard,
    .write_zeroes = blk_write_zeroes,
    .set_writeback = blk_set_writeback,
    .kick = blkq_kick,
};

/* "N[K|M|G|T]" (binary units) -> bytes; -1 when malformed or overflowing. */
static int parse_size(const char *v, uint64_t *out)
{
    static const char units[] = "KMGT";
    char num[32];
    size_t n = strlen(v);
    unsigned shift = 0;
    unsigned long long x;
    const char *u;

    if (n == 0 || n >= sizeof(num))
        return -1;
    memcpy(num, v, n + 1);
    if ((u = strchr(units, toupper((unsigned char)num[n - 1]))) != NULL) {
        shift = 10u * (unsigned)(u - units + 1);
        num[n - 1] = '\0';
    }
    if (vd_uint(num, 0, UINT64_MAX, &x) < 0 || x > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)x << shift;
    return 0;
}

/* O_DIRECT's rules for @p fd: statx's, else the block device's logical
 * sector size, else 4096 (anything less aligned is bounced). 1 when the
 * file system or device told them. */
static int dio_align(struct blk *b, int fd, const struct stat *st)
{
    int ss = 0;

    b->mem_align = b->off_align = 4096;
#ifdef STATX_DIOALIGN
    {
        struct statx sx;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
            (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0 &&
            sx.stx_dio_mem_align != 0) {
            b->mem_align = sx.stx_dio_mem_align;
            b->off_align = sx.stx_dio_offset_align;
            return 1;
        }
    }
#endif
    if (S_ISBLK(st->st_mode) && ioctl(fd, BLKSSZGET, &ss) == 0 && ss > 0 &&
        (ss & (ss - 1)) == 0) {
        b->mem_align = b->off_align = (uint32_t)ss;
        return 1;
    }
    return 0;
}

/* Open @p file: with O_DIRECT when @p direct is 1, or -1 (auto) and the
 * file system takes it and says its alignment rules (statx DIOALIGN; tmpfs,
 * whose O_DIRECT is the page cache anyway, does not); a second descriptor
 * without it for what O_DIRECT cannot do (unaligned offsets, write-zeroes from
 * a small buffer). */
static int open_file(struct blk *b, const char *file, int direct,
                     struct stat *st)
{
    int fl = (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;

    b->fd_buffered = open(file, fl);
    if (b->fd_buffered < 0 || fstat(b->fd_buffered, st) < 0) {
        vd_log(b->d, VDM_LOG_ERROR, "%s: %s", file, strerror(errno));
        return -1;
    }
    b->fd = b->fd_buffered;
    if (direct != 0 && (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))) {
        int fd = open(file, fl | O_DIRECT);
        if (fd >= 0 && (dio_align(b, fd, st) || direct == 1)) {
            b->fd = fd;
            b->direct = 1;
        } else if (fd >= 0) {
            close(fd);
        } else if (direct == 1) {
            vd_log(b->d, VDM_LOG_ERROR, "%s: direct=on: %s", file,
                   strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int blk_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_blk_config c = VDM_INIT(struct vdm_blk_config);
    const char *file = vd_opt(o, "file"), *v;
    const char *backend = vd_opt(o, "backend"), *size = vd_opt(o, "size");
    unsigned long long nq = BLK_DEFAULT_QUEUES, qsize = BLK_QSIZE;
    struct blk *b = calloc(1, sizeof(*b));
    unsigned long long poll_us = 0;
    uint64_t bytes;
    struct stat st;
    int discard = 1, writeback = 1, direct = -1, rc;

    if (b == NULL)
        return -1;
    d->priv = b; /* reachable on every error path */
    b->d = d;
    b->fd = b->fd_buffered = -1;
    if (backend != NULL && strcmp(backend, "file") != 0 &&
        strcmp(backend, "null") != 0) {
        vd_log(d, VDM_LOG_ERROR, "backend=%s: expected file or null", backend);
        return -1;
    }
    if (backend != NULL && strcmp(backend, "null") == 0) {
        if (file != NULL || size == NULL) {
            vd_log(d, VDM_LOG_ERROR,
                   "backend=null takes size=BYTES and no "
                   "file");
            return -1;
        }
        if (parse_size(size, &bytes) < 0 || bytes == 0 ||
            bytes % VDM_BLK_SECTOR_SIZE != 0) {
            vd_log(d, VDM_LOG_ERROR,
                   "size=%s: expected a non-zero multiple of 512 bytes "
                   "(suffixes K, M, G, T)",
                   size);
            return -1;
        }
    } else if (file == NULL || size != NULL) {
        vd_log(d, VDM_LOG_ERROR,
               "blk needs file=PATH (size= is for "
               "backend=null)");
        return -1;
    }
    if ((v = vd_opt(o, "ro")) != NULL && (b->ro = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "ro=%s: expected on or off", v);
        return -1;
    }
    if ((v = vd_opt(o, "discard")) != NULL && (discard = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "discard=%s: expected on or off", v);
        return -1;
    }
    if ((v = vd_opt(o, "writeback")) != NULL && (writeback = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "writeback=%s: expected on or off", v);
        return -1;
    }
    /* Test knob (e2e/reconnect): the daemon kills itself with SIGKILL on
     * the Nth write request, taken from the ring and not completed. */
    if ((v = vd_opt(o, "crash-after-writes")) != NULL &&
        vd_uint(v, 1, UINT32_MAX, &b->crash_after) < 0) {
        vd_log(d, VDM_LOG_ERROR, "crash-after-writes: a count >= 1");
        return -1;
    }
    if ((v = vd_opt(o, "num-queues")) != NULL &&
        vd_uint(v, 1, BLK_MAX_QUEUES, &nq) < 0) {
        vd_log(d, VDM_LOG_ERROR, "num-queues=%s: expected 1..%d", v,
               BLK_MAX_QUEUES);
        return -1;
    }
    if ((v = vd_opt(o, "queue-size")) != NULL &&
        (vd_uint(v, 1, 32768, &qsize) < 0 || (qsize & (qsize - 1)) != 0)) {
        vd_log(d, VDM_LOG_ERROR, "queue-size=%s: expected a power of 2", v);
        return -1;
    }
    if ((v = vd_opt(o, "aio")) != NULL) {
        if (strcmp(v, "auto") == 0)
            b->aio = BLK_AIO_AUTO;
        else if (strcmp(v, "sync") == 0)
            b->aio = BLK_AIO_SYNC;
        else if (strcmp(v, "io_uring") == 0)
            b->aio = BLK_AIO_IO_URING;
        else if (strcmp(v, "mmap") == 0)
            b->aio = BLK_AIO_MMAP;
        else {
            vd_log(d, VDM_LOG_ERROR,
                   "aio=%s: expected auto, io_uring, sync or mmap", v);
            return -1;
        }
    }
    if ((v = vd_opt(o, "direct")) != NULL && strcmp(v, "auto") != 0 &&
        (direct = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "direct=%s: expected auto, on or off", v);
        return -1;
    }
    if ((v = vd_opt(o, "poll-us")) != NULL &&
        vd_uint(v, 0, BLK_POLL_US_MAX, &poll_us) < 0) {
        vd_log(d, VDM_LOG_ERROR, "poll-us=%s: expected 0..%d", v,
               BLK_POLL_US_MAX);
        return -1;
    }
    b->poll_us = (unsigned)poll_us;
    if ((v = vd_opt(o, "serial")) != NULL) {
        if (strlen(v) > VDM_BLK_ID_BYTES) {
            vd_log(d, VDM_LOG_ERROR, "serial longer than %u bytes",
                   VDM_BLK_ID_BYTES);
            return -1;
        }
        memcpy(c.serial, v, strlen(v));
    }
    if (file == NULL) {
        file = "null"; /* for the log line */
        st.st_mode = 0;
    } else if (open_file(b, file, direct, &st) < 0) {
        return -1;
    }
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0) {
            vd_log(d, VDM_LOG_ERROR, "%s: size: %s", file, strerror(errno));
            return -1;
        }
    } else if (S_ISREG(st.st_mode)) {
        bytes = (uint64_t)st.st_size;
    } else if (b->fd >= 0) {
        vd_log(d, VDM_LOG_ERROR, "%s: not a file or block device", file);
        return -1;
    }
    if (bytes % VDM_BLK_SECTOR_SIZE != 0)
        vd_log(d, VDM_LOG_WARN,
               "%s: size not a multiple of 512; the tail "
               "is not visible",
               file);
    b->punch = b->zero = S_ISREG(st.st_mode);
    b->writeback = writeback;
    b->nq = (unsigned)nq;
    b->qsize = (uint16_t)qsize;
    b->bytes = bytes;
    if (blk_aio_probe(b) < 0 || blkq_init(b) < 0)
        return -1;

    if (vd_alloc_queues(d, (uint16_t)nq, (uint16_t)qsize) < 0)
        return -1;
    c.iov_per_req = VDM_BLK_IOV_PER_REQ(BLK_SEG_MAX) + BLK_IOV_SLACK;
    c.seg_max = BLK_SEG_MAX;
    c.capacity = bytes / VDM_BLK_SECTOR_SIZE;
    c.blk_size = 512;
    c.num_queues = (uint16_t)nq;
    c.flags = VDM_BLK_FLUSH | VDM_BLK_WCE | (writeback ? VDM_BLK_WRITEBACK : 0);
    if (b->ro)
        c.flags |= VDM_BLK_RO;
    else if (discard)
        c.flags |= VDM_BLK_DISCARD | VDM_BLK_WRITE_ZEROES |
                   (b->punch ? VDM_BLK_WZ_MAY_UNMAP : 0);
    c.max_discard_sectors = 1u << 22; /* 2 GiB per segment */
    c.max_discard_seg = 1;
    c.discard_sector_alignment = 8;
    c.max_write_zeroes_sectors = 1u << 22;
    c.max_write_zeroes_seg = 1;
    c.ops = &blk_ops;
    c.host = d;
    b->reqs = calloc(VDM_BLK_REQS(nq, qsize), sizeof(*b->reqs));
    b->iovs = calloc(VDM_BLK_IOVS(nq, qsize, c.iov_per_req), sizeof(*b->iovs));
    if (b->reqs == NULL || b->iovs == NULL) {
        vd_log(d, VDM_LOG_ERROR, "out of memory");
        return -1;
    }
    c.reqs = b->reqs;
    c.iovs = b->iovs;
    rc = vdm_blk_init(&b->blk, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "blk init: %s", vdm_strerror(rc));
        return -1;
    }
    vd_log(d, VDM_LOG_INFO,
           "%s: %llu sectors%s, %llu queues, aio=%s%s, poll-us=%u", file,
           (unsigned long long)c.capacity, b->ro ? " (read-only)" : "", nq,
           b->aio == BLK_AIO_SYNC   ? "sync"
           : b->aio == BLK_AIO_MMAP ? "mmap"
                                    : "io_uring",
           b->direct ? ", O_DIRECT" : "", b->poll_us);
    return 0;
}

const struct vd_type vd_type_blk = {
    .name = "blk",
    .create = blk_create,
    .disconnected = blkq_disconnected,
    .poll = blkq_poll,
    .pause = blkq_pause,
    .resume = blkq_resume,
    .watch_kick = blkq_watch_kick,
};
