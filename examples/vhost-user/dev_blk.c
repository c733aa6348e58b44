/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the block device, backed by a file or block device, or by
 * nothing (backend=null: reads return zeros, writes are discarded; for
 * measuring the protocol's own cost). I/O is synchronous (preadv / pwritev /
 * fdatasync / fallocate) and each request completes inside the host call
 * through vdm_blk_complete(). */
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
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/blk.h"

#define BLK_QSIZE          256 /* largest ring the front-end may choose */
#define BLK_SEG_MAX        126 /* data segments per request */
#define BLK_IOV_SLACK      4   /* region crossings */
#define BLK_MAX_QUEUES     64
#define BLK_DEFAULT_QUEUES 16 /* QEMU asks for one per vCPU by default */

struct blk {
    struct vdm_blk blk;
    int fd; /* -1: the null backend */
    int ro;
    int writeback;
    int punch; /* fallocate(PUNCH_HOLE) works */
    int zero;  /* fallocate(ZERO_RANGE) works */
    unsigned long long crash_after; /* test knob: SIGKILL at that write */
    struct vdm_blk_req *reqs;
    struct vdm_iov *iovs;
    struct iovec iov[BLK_SEG_MAX + 2 + BLK_IOV_SLACK];
};

/* Read or write all of @p n spans at byte offset @p off. 0 or -errno. */
static int rw_full(struct blk *b, const struct vdm_iov *v, uint32_t n,
                   uint64_t off, int write)
{
    uint32_t i = 0;
    size_t skip = 0; /* bytes of v[i] already done */

    while (i < n) {
        uint32_t k = 0;
        ssize_t r;
        for (uint32_t j = i; j < n && k < sizeof(b->iov) / sizeof(b->iov[0]);
             j++, k++) {
            b->iov[k].iov_base = (uint8_t *)v[j].base + (j == i ? skip : 0);
            b->iov[k].iov_len = v[j].len - (j == i ? skip : 0);
        }
        r = write ? pwritev(b->fd, b->iov, (int)k, (off_t)off)
                  : preadv(b->fd, b->iov, (int)k, (off_t)off);
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

static int status_of(int err)
{
    return err == 0 ? VDM_BLK_S_OK : VDM_BLK_S_IOERR;
}

static int blk_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                    uint32_t n, void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    int err = 0;
    if (b->fd < 0) {
        for (uint32_t i = 0; i < n; i++)
            memset(iov[i].base, 0, iov[i].len);
    } else {
        err = rw_full(b, iov, n, sector * VDM_BLK_SECTOR_SIZE, 0);
    }
    if (err < 0)
        vd_log(d, VDM_LOG_WARN, "read at sector %llu: %s",
               (unsigned long long)sector, strerror(-err));
    vdm_blk_complete(&b->blk, token, status_of(err));
    return 0;
}

static int blk_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                     uint32_t n, void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    int err;
    if (b->crash_after != 0 && --b->crash_after == 0)
        raise(SIGKILL); /* crash-after-writes=N: die with it in flight */
    if (b->fd < 0) { /* null: discarded */
        vdm_blk_complete(&b->blk, token, VDM_BLK_S_OK);
        return 0;
    }
    err = rw_full(b, iov, n, sector * VDM_BLK_SECTOR_SIZE, 1);
    if (err == 0 && !b->writeback && fdatasync(b->fd) < 0)
        err = -errno;
    if (err < 0)
        vd_log(d, VDM_LOG_WARN, "write at sector %llu: %s",
               (unsigned long long)sector, strerror(-err));
    vdm_blk_complete(&b->blk, token, status_of(err));
    return 0;
}

static int blk_flush(void *host, void *token)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    int err = b->fd >= 0 && fdatasync(b->fd) < 0 ? -errno : 0;
    vdm_blk_complete(&b->blk, token, status_of(err));
    return 0;
}

/* Write zeroes the slow way. */
static int write_zero_bytes(struct blk *b, uint64_t off, uint64_t len)
{
    static const uint8_t zero[65536];
    while (len > 0) {
        size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
        ssize_t r = pwrite(b->fd, zero, n, (off_t)off);
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
    vdm_blk_complete(&b->blk, token, status_of(err));
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

static int blk_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_blk_config c = VDM_INIT(struct vdm_blk_config);
    const char *file = vd_opt(o, "file"), *v;
    const char *backend = vd_opt(o, "backend"), *size = vd_opt(o, "size");
    unsigned long long nq = BLK_DEFAULT_QUEUES, qsize = BLK_QSIZE;
    struct blk *b = calloc(1, sizeof(*b));
    uint64_t bytes;
    struct stat st;
    int discard = 1, writeback = 1, rc;

    if (b == NULL)
        return -1;
    d->priv = b; /* reachable on every error path */
    b->fd = -1;
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
    } else if ((b->fd = open(file, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC)) <
                   0 ||
               fstat(b->fd, &st) < 0) {
        vd_log(d, VDM_LOG_ERROR, "%s: %s", file, strerror(errno));
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
    d->priv = b;

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
    vd_log(d, VDM_LOG_INFO, "%s: %llu sectors%s, %llu queues", file,
           (unsigned long long)c.capacity, b->ro ? " (read-only)" : "", nq);
    return 0;
}

const struct vd_type vd_type_blk = {
    .name = "blk",
    .create = blk_create,
};
