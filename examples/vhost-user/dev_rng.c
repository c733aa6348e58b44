/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the entropy device. Without source=, getrandom().
 *
 * source=PATH, a regular file: its bytes repeated without end. At the end
 * of the file the read goes on at its start within the same request, so
 * every request is filled completely and the driver sees the file, then the
 * file again, with no seam and no short answer. (The spec lets a device
 * answer short, "Device Operation": it "MAY use less than the entire buffer
 * length"; but Linux 6.12.96 and later stall for good on some short answers,
 * see tests/e2e/README.md, and a test pattern should not depend on the
 * driver's bookkeeping.)
 *
 * source=PATH, anything else (character device, FIFO): read non-blocking as
 * it comes. When it has nothing (EAGAIN, or end of file: a FIFO without a
 * writer), the device holds the driver's requests, as the spec allows (it
 * sets no deadline and a device "MUST place one or more random bytes" in
 * each buffer it returns), retries every 10 ms, and says so once in the log;
 * it logs again when bytes flow once more. */
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

#define RNG_QSIZE    256
#define RNG_RETRY_MS 10

struct rng {
    struct vdm_rng rng;
    const char *path; /* source, for logs */
    int fd;           /* source, -1: getrandom */
    int regular;      /* repeat at end of file */
    int starved;      /* the source ran dry: retry from the poll hook */
    int dry_logged;   /* "no data" logged for this dry spell */
};

/* The source has nothing now: the library keeps the request. */
static int rng_dry(struct vdev *d, struct rng *r, const char *why)
{
    r->starved = 1;
    if (!r->dry_logged) {
        r->dry_logged = 1;
        vd_log(d, VDM_LOG_WARN,
               "entropy source %s: %s; requests wait (retried every %d ms)",
               r->path != NULL ? r->path : "getrandom", why, RNG_RETRY_MS);
    }
    return 0;
}

static int rng_flowing(struct vdev *d, struct rng *r, int n)
{
    if (n > 0 && r->dry_logged) {
        r->dry_logged = 0;
        vd_log(d, VDM_LOG_INFO, "entropy source %s: data again",
               r->path != NULL ? r->path : "getrandom");
    }
    return n;
}

/* A regular file, repeated: fill all of @p len, going on at the start of
 * the file at its end. Stops short only if the file has become empty. */
static int rng_fill_file(struct vdev *d, struct rng *r, uint8_t *buf,
                         uint32_t len)
{
    uint32_t got = 0;
    int rewound = 0; /* rewound with nothing read since */

    while (got < len) {
        ssize_t n = read(r->fd, buf + got, len - got);
        if (n > 0) {
            got += (uint32_t)n;
            rewound = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vd_log(d, VDM_LOG_ERROR, "entropy source %s: %s", r->path,
                   strerror(errno));
            return got > 0 ? (int)got : VDM_EIO;
        }
        if (rewound || lseek(r->fd, 0, SEEK_SET) != 0)
            break; /* empty now (truncated after start) */
        rewound = 1;
    }
    if (got == 0)
        return rng_dry(d, r, "the file is empty");
    return rng_flowing(d, r, (int)got);
}

static int rng_fill(void *host, void *buf, uint32_t len)
{
    struct vdev *d = host;
    struct rng *r = d->priv;
    ssize_t n;

    if (r->fd < 0) {
        n = getrandom(buf, len, GRND_NONBLOCK);
        if (n < 0 && errno == EAGAIN) {
            (void)rng_dry(d, r, "not initialised yet");
            return VDM_EAGAIN;
        }
        return n < 0 ? VDM_EIO : rng_flowing(d, r, (int)n);
    }
    if (r->regular)
        return rng_fill_file(d, r, buf, len);
    n = read(r->fd, buf, len);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            (void)rng_dry(d, r, "no data");
            return VDM_EAGAIN;
        }
        vd_log(d, VDM_LOG_ERROR, "entropy source %s: %s", r->path,
               strerror(errno));
        return VDM_EIO;
    }
    if (n == 0)
        return rng_dry(d, r, "end of file");
    return rng_flowing(d, r, (int)n);
}

/* Retry a starved source every RNG_RETRY_MS. */
static int rng_poll(struct vdev *d)
{
    struct rng *r = d->priv;
    if (!r->starved)
        return -1;
    r->starved = 0;
    vdm_rng_kick(&r->rng);
    return r->starved ? RNG_RETRY_MS : -1;
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
    r->path = src;
    if (src != NULL) {
        struct stat st;
        /* Non-blocking: a FIFO without a writer, or a device with nothing
         * to give, must not stop the daemon (open or read). */
        r->fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
