/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the RPMB device. file=PATH is the partition: a 256-byte
 * header (magic "VDMRPMB1", key programmed flag, write counter, capacity,
 * key; little-endian) followed by capacity x 128 KiB of data. A missing
 * file is created with capacity=N (128 KiB units, default 1) and no key;
 * an existing one keeps its own capacity, key and counter. max_wr=N and
 * max_rd=N (1..16, default 16) set the block limits per request.
 *
 * Persistence: the key is written and synced before the device uses it;
 * a data write goes to the file first, then the new counter, then one
 * fdatasync, so a crash can lose a write but never show a counter ahead
 * of its data. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/rpmb.h"

#define RPMB_QSIZE 64
#define HDR_BYTES  256u
#define UNIT_BYTES (VDM_RPMB_BLOCKS_PER_UNIT * VDM_RPMB_BLOCK_BYTES)

/* Header offsets */
#define H_MAGIC    0
#define H_KEYSET   8
#define H_COUNTER  12
#define H_CAPACITY 16
#define H_KEY      32

static const char magic[8] = "VDMRPMB1";

struct rpmb {
    struct vdm_rpmb rpmb;
    int fd;
    uint8_t hdr[HDR_BYTES];
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int pio(int fd, void *buf, size_t n, off_t off, int wr)
{
    while (n > 0) {
        ssize_t k = wr ? pwrite(fd, buf, n, off) : pread(fd, buf, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        buf = (uint8_t *)buf + k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

static int save_hdr(struct rpmb *r)
{
    if (pio(r->fd, r->hdr, HDR_BYTES, 0, 1) < 0 || fdatasync(r->fd) < 0)
        return VDM_EIO;
    return 0;
}

static int rpmb_read(void *host, uint32_t block, uint32_t count, void *buf)
{
    struct vdev *d = host;
    struct rpmb *r = d->priv;
    off_t off = (off_t)HDR_BYTES + (off_t)block * VDM_RPMB_BLOCK_BYTES;

    if (pio(r->fd, buf, (size_t)count * VDM_RPMB_BLOCK_BYTES, off, 0) < 0) {
        vd_log(d, VDM_LOG_ERROR, "read: %s", strerror(errno));
        return VDM_EIO;
    }
    return 0;
}

static int rpmb_write(void *host, uint32_t block, uint32_t count,
                      const void *buf, uint32_t counter)
{
    struct vdev *d = host;
    struct rpmb *r = d->priv;
    off_t off = (off_t)HDR_BYTES + (off_t)block * VDM_RPMB_BLOCK_BYTES;

    if (pio(r->fd, (void *)buf, (size_t)count * VDM_RPMB_BLOCK_BYTES, off, 1) <
        0) {
        vd_log(d, VDM_LOG_ERROR, "write: %s", strerror(errno));
        return VDM_EIO;
    }
    put32(r->hdr + H_COUNTER, counter);
    return save_hdr(r);
}

static int rpmb_program_key(void *host, const uint8_t *key)
{
    struct vdev *d = host;
    struct rpmb *r = d->priv;

    memcpy(r->hdr + H_KEY, key, VDM_RPMB_KEY_BYTES);
    put32(r->hdr + H_KEYSET, 1);
    if (save_hdr(r) < 0) {
        memset(r->hdr + H_KEY, 0, VDM_RPMB_KEY_BYTES);
        put32(r->hdr + H_KEYSET, 0);
        vd_log(d, VDM_LOG_ERROR, "persisting the key: %s", strerror(errno));
        return VDM_EIO;
    }
    vd_log(d, VDM_LOG_INFO, "authentication key programmed");
    return 0;
}

static const struct vdm_rpmb_ops rpmb_ops = {
    .size = sizeof(struct vdm_rpmb_ops),
    .read = rpmb_read,
    .write = rpmb_write,
    .program_key = rpmb_program_key,
};

/* Open or create the partition file; fills r->hdr. */
static int open_file(struct vdev *d, struct rpmb *r, const char *path,
                     unsigned cap)
{
    struct stat st;

    r->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r->fd < 0 || fstat(r->fd, &st) < 0) {
        vd_log(d, VDM_LOG_ERROR, "file %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        memset(r->hdr, 0, HDR_BYTES);
        memcpy(r->hdr + H_MAGIC, magic, sizeof(magic));
        put32(r->hdr + H_CAPACITY, cap);
        if (ftruncate(r->fd, (off_t)HDR_BYTES + (off_t)cap * UNIT_BYTES) < 0 ||
            save_hdr(r) < 0) {
            vd_log(d, VDM_LOG_ERROR, "file %s: %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (pio(r->fd, r->hdr, HDR_BYTES, 0, 0) < 0 ||
        memcmp(r->hdr + H_MAGIC, magic, sizeof(magic)) != 0) {
        vd_log(d, VDM_LOG_ERROR, "file %s is not an RPMB partition", path);
        return -1;
    }
    cap = get32(r->hdr + H_CAPACITY);
    if (cap == 0 || cap > VDM_RPMB_CAPACITY_MAX ||
        get32(r->hdr + H_KEYSET) > 1 ||
        st.st_size < (off_t)HDR_BYTES + (off_t)cap * UNIT_BYTES) {
        vd_log(d, VDM_LOG_ERROR, "file %s: bad header or short data", path);
        return -1;
    }
    return 0;
}

static int rpmb_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_rpmb_config c = VDM_INIT(struct vdm_rpmb_config);
    const char *path = vd_opt(o, "file");
    const char *v;
    unsigned long long cap = 1, wr = 0, rd = 0;
    struct rpmb *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return -1;
    d->priv = r;
    r->fd = -1;
    if (path == NULL) {
        vd_log(d, VDM_LOG_ERROR, "rpmb needs file=PATH");
        return -1;
    }
    if ((v = vd_opt(o, "capacity")) != NULL &&
        vd_uint(v, 1, VDM_RPMB_CAPACITY_MAX, &cap) < 0) {
        vd_log(d, VDM_LOG_ERROR, "capacity=%s: 1..128 (128 KiB units)", v);
        return -1;
    }
    if ((v = vd_opt(o, "max_wr")) != NULL &&
        vd_uint(v, 1, VDM_RPMB_RW_MAX, &wr) < 0) {
        vd_log(d, VDM_LOG_ERROR, "max_wr=%s: 1..%u", v, VDM_RPMB_RW_MAX);
        return -1;
    }
    if ((v = vd_opt(o, "max_rd")) != NULL &&
        vd_uint(v, 1, VDM_RPMB_RW_MAX, &rd) < 0) {
        vd_log(d, VDM_LOG_ERROR, "max_rd=%s: 1..%u", v, VDM_RPMB_RW_MAX);
        return -1;
    }
    if (open_file(d, r, path, (unsigned)cap) < 0)
        return -1;
    if (vd_alloc_queues(d, VDM_RPMB_NUM_QUEUES, RPMB_QSIZE) < 0)
        return -1;
    c.capacity = (uint8_t)get32(r->hdr + H_CAPACITY);
    c.max_wr_cnt = (uint8_t)wr;
    c.max_rd_cnt = (uint8_t)rd;
    c.key_programmed = (uint8_t)get32(r->hdr + H_KEYSET);
    memcpy(c.key, r->hdr + H_KEY, VDM_RPMB_KEY_BYTES);
    c.write_counter = get32(r->hdr + H_COUNTER);
    c.ops = &rpmb_ops;
    c.host = d;
    rc = vdm_rpmb_init(&r->rpmb, &d->dev, &c, &d->base);
    memset(c.key, 0, sizeof(c.key));
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "rpmb init: %s", vdm_strerror(rc));
        return -1;
    }
    vd_log(d, VDM_LOG_INFO, "%s: %u x 128 KiB, key %s, write counter %u", path,
           (unsigned)c.capacity, c.key_programmed ? "set" : "not set",
           c.write_counter);
    return 0;
}

const struct vd_type vd_type_rpmb = {
    .name = "rpmb",
    .create = rpmb_create,
};
