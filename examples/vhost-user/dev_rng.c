/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the entropy device. source=PATH reads a file or device
 * (a regular file is read in a loop, so a test can feed known bytes);
 * without it, getrandom(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/rng.h"

#define RNG_QSIZE 256

struct rng {
    struct vdm_rng rng;
    int fd;      /* source, -1: getrandom */
    int regular; /* rewind at end of file */
    int starved; /* the source ran dry: retry from the poll hook */
};

static int rng_fill(void *host, void *buf, uint32_t len)
{
    struct vdev *d = host;
    struct rng *r = d->priv;
    ssize_t n;

    if (r->fd < 0) {
        n = getrandom(buf, len, GRND_NONBLOCK);
        if (n < 0 && errno == EAGAIN) {
            r->starved = 1;
            return VDM_EAGAIN;
        }
        return n < 0 ? VDM_EIO : (int)n;
    }
    n = read(r->fd, buf, len);
    if (n == 0 && r->regular && lseek(r->fd, 0, SEEK_SET) == 0)
        n = read(r->fd, buf, len);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            r->starved = 1;
            return VDM_EAGAIN;
        }
        vd_log(d, VDM_LOG_ERROR, "entropy source: %s", strerror(errno));
        return VDM_EIO;
    }
    if (n == 0)
        r->starved = 1;
    return (int)n;
}

/* Retry a starved source every 10 ms. */
static int rng_poll(struct vdev *d)
{
    struct rng *r = d->priv;
    if (!r->starved)
        return -1;
    r->starved = 0;
    vdm_rng_kick(&r->rng);
    return r->starved ? 10 : -1;
}

static void rng_disconnected(struct vdev *d)
{
    ((struct rng *)d->priv)->starved = 0;
}

static const struct vdm_rng_ops rng_ops = {
    .size = sizeof(struct vdm_rng_ops),
    .fill = rng_fill,
};

static int rng_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_rng_config c = VDM_INIT(struct vdm_rng_config);
    const char *src = vd_opt(o, "source");
    struct rng *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return -1;
    d->priv = r; /* reachable on every error path */
    r->fd = -1;
    if (src != NULL) {
        struct stat st;
        r->fd = open(src, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0 || fstat(r->fd, &st) < 0) {
            vd_log(d, VDM_LOG_ERROR, "source %s: %s", src, strerror(errno));
            return -1;
        }
        r->regular = S_ISREG(st.st_mode);
        if (r->regular && st.st_size == 0) {
            vd_log(d, VDM_LOG_ERROR, "source %s is empty", src);
            return -1;
        }
    }
    d->priv = r;
    if (vd_alloc_queues(d, VDM_RNG_NUM_QUEUES, RNG_QSIZE) < 0)
        return -1;
    c.ops = &rng_ops;
    c.host = d;
    rc = vdm_rng_init(&r->rng, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "rng init: %s", vdm_strerror(rc));
        return -1;
    }
    return 0;
}

const struct vd_type vd_type_rng = {
    .name = "rng",
    .create = rng_create,
    .disconnected = rng_disconnected,
    .poll = rng_poll,
};
