/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: what the library asks of its host, for one device
 * (host = struct vdev): guest memory mapped from the front-end's fds,
 * call eventfds written (once per fd per batch while a queue thread defers
 * them), kick fds watched on the device thread's epoll set or handed to the
 * device type's queue thread, the inflight region as a memfd, draining
 * through the device type's `pending`, and the device's queue storage and
 * base configuration (vd_alloc_queues). main.c runs the threads and
 * connections around them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/vdm.h"

/* ------------------------------------------------------------------------ */
/* Host hooks for the vhost-user back-end (host = struct vdev) */

static int h_map(void *host, int32_t fd, uint64_t offset, uint64_t len,
                 void **hva)
{
    struct vdev *d = host;
    struct stat st;
    void *p;

    /* A mapping past the end of the file would fault on access: check the
     * front-end's claim against the file. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        vd_log(d, VDM_LOG_ERROR, "memory fd is not a regular file");
        return VDM_EINVAL;
    }
    if (len == 0 || offset > UINT64_MAX - len ||
        offset + len > (uint64_t)st.st_size || offset + len > SIZE_MAX) {
        vd_log(d, VDM_LOG_ERROR,
               "memory region (offset %#llx, size %#llx) beyond its file "
               "(%lld bytes)",
               (unsigned long long)offset, (unsigned long long)len,
               (long long)st.st_size);
        return VDM_EINVAL;
    }
    /* Map from file offset 0: offsets need no page alignment then. */
    p = mmap(NULL, (size_t)(offset + len), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        vd_log(d, VDM_LOG_ERROR, "mmap of guest memory: %s", strerror(errno));
        return VDM_EIO;
    }
    *hva = (uint8_t *)p + offset;
    vd_log(d, VDM_LOG_DEBUG, "mapped %#llx bytes at file offset %#llx",
           (unsigned long long)len, (unsigned long long)offset);
    return 0;
}

static void h_unmap(void *host, void *hva, uint64_t offset, uint64_t len)
{
    (void)host;
    munmap((uint8_t *)hva - offset, (size_t)(offset + len));
}

/* Inflight I/O tracking: a zero-filled memfd, shared with the front-end
 * (which keeps it across our restarts and hands it back). */
static int h_inflight_alloc(void *host, uint64_t len, int32_t *fd, void **hva)
{
    struct vdev *d = host;
    int mfd;
    void *p;

    if (len == 0 || len > SIZE_MAX)
        return VDM_EINVAL;
    mfd = memfd_create("vdm-inflight", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, (off_t)len) < 0) {
        vd_log(d, VDM_LOG_ERROR, "inflight region: %s", strerror(errno));
        if (mfd >= 0)
            close(mfd);
        return VDM_EIO;
    }
    p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (p == MAP_FAILED) {
        vd_log(d, VDM_LOG_ERROR, "inflight region: %s", strerror(errno));
        close(mfd);
        return VDM_EIO;
    }
    if (d->reply_fd >= 0)
        close(d->reply_fd);
    d->reply_fd = mfd; /* sent with the reply (on_message) */
    *fd = mfd;
    *hva = p;
    return 0;
}

/* Draining: wait while the device type has requests of the ring(s) at the
 * host (synchronous types never do). */
static int h_drain(void *host, uint16_t q)
{
    struct vdev *d = host;

    d->drain_q = q; /* for the type's finish hook, outside the library */
    if (d->type->pending != NULL && d->type->pending(d, q) != 0)
        return VDM_EAGAIN;
    return 0;
}

/* Deferred used-buffer notifications of this thread (vd_defer_signals). */
static __thread int defer_on, defer_n;
static __thread int32_t defer_fd[8];

static void signal_now(void *host, int32_t fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(host, VDM_LOG_DEBUG, "eventfd write: %s", strerror(errno));
}

static void h_signal(void *host, int32_t fd)
{
    if (defer_on) { /* once per fd per batch */
        for (int i = 0; i < defer_n; i++)
            if (defer_fd[i] == fd)
                return;
        if (defer_n < (int)(sizeof(defer_fd) / sizeof(defer_fd[0]))) {
            defer_fd[defer_n++] = fd;
            return;
        }
    }
    signal_now(host, fd);
}

void vd_defer_signals(void)
{
    defer_on = 1;
}

void vd_flush_signals(struct vdev *d)
{
    for (int i = 0; i < defer_n; i++)
        signal_now(d, defer_fd[i]);
    defer_n = 0;
    defer_on = 0;
}

static void h_close(void *host, int32_t fd)
{
    (void)host;
    close(fd);
}

static void h_watch_kick(void *host, uint16_t q, int32_t fd)
{
    struct vdev *d = host;
    int32_t old = d->kick_fd[q];

    if (d->type->watch_kick != NULL && d->type->watch_kick(d, q, fd)) {
        d->kick_fd[q] = fd; /* the device type's queue thread watches it */
        return;
    }
    if (old >= 0)
        vd_epoll_del(old);
    if (old == VDM_VHOST_USER_FD_POLL)
        d->npolled--;
    d->kick_fd[q] = fd;
    if (fd >= 0) {
        d->kick_tag[q].kind = VD_TAG_KICK;
        d->kick_tag[q].d = d;
        d->kick_tag[q].q = q;
        vd_epoll_add(fd, &d->kick_tag[q]);
    } else if (fd == VDM_VHOST_USER_FD_POLL) {
        d->npolled++;
    }
}

static int h_backend_send(void *host, int32_t fd, const void *msg, uint32_t len)
{
    ssize_t n = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)host;
    return n == (ssize_t)len ? 0 : VDM_EIO;
}

static void h_log(void *host, int level, const char *msg)
{
    vd_log(host, level, "%s", msg);
}

static int h_request(void *host, uint32_t req, const void *payload,
                     uint32_t len, const int32_t *fds, uint32_t nfds,
                     uint32_t *taken)
{
    struct vdev *d = host;
    if (d->type->request == NULL)
        return VDM_ENOTSUP;
    return d->type->request(d, req, payload, len, fds, nfds, taken);
}

int vd_queue_ready(const struct vdev *d, uint16_t q)
{
    if (d->vfio)
        return vdm_dev_live(&d->dev) && vdm_dev_queue_enabled(&d->dev, q) == 1;
    return vdm_vhost_user_queue_ready(&d->vu, q);
}

void vd_watch_aux(struct vdev *d, int fd)
{
    if (d->aux_fd >= 0)
        vd_epoll_del(d->aux_fd);
    d->aux_fd = fd;
    if (fd >= 0) {
        d->aux_tag->kind = VD_TAG_AUX;
        d->aux_tag->d = d;
        vd_epoll_add(fd, d->aux_tag);
    }
}

static const struct vdm_vhost_user_ops vu_ops = {
    .size = sizeof(struct vdm_vhost_user_ops),
    .map = h_map,
    .unmap = h_unmap,
    .signal = h_signal,
    .close = h_close,
    .watch_kick = h_watch_kick,
    .backend_send = h_backend_send,
    .log = h_log,
    .request = h_request,
    .inflight_alloc = h_inflight_alloc,
    .drain = h_drain,
};

static const struct vdm_host_ops dev_ops = {
    .size = sizeof(struct vdm_host_ops),
    .log = h_log,
};

int vd_alloc_queues(struct vdev *d, uint16_t nq, uint16_t qmax)
{
    struct vdm_vhost_user_config vc = VDM_INIT(struct vdm_vhost_user_config);
    int rc;

    /* admin-vq=on: room for the administration queue after the others */
    uint16_t na = (uint16_t)(nq + (d->admin_vq ? 1u : 0u));

    d->rings = calloc(nq, sizeof(*d->rings));
    d->queues = calloc(na, sizeof(*d->queues));
    d->slots = calloc(VDM_DEV_SLOTS(na, qmax), sizeof(uint32_t));
    d->kick_fd = calloc(nq, sizeof(*d->kick_fd));
    d->kick_tag = calloc(nq, sizeof(*d->kick_tag));
    if (!d->rings || !d->queues || !d->slots || !d->kick_fd || !d->kick_tag) {
        vd_log(d, VDM_LOG_ERROR, "out of memory");
        return -1;
    }
    for (unsigned q = 0; q < nq; q++)
        d->kick_fd[q] = VDM_VHOST_USER_NO_FD;
    if (d->vfio) {
        rc = vd_vfu_init(d);
        if (rc < 0)
            return -1;
        goto base;
    }
    vc.num_rings = nq;
    vc.rings = d->rings;
    vc.ops = &vu_ops;
    vc.host = d;
    rc = vdm_vhost_user_init(&d->vu, &vc);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "vhost-user init: %s", vdm_strerror(rc));
        return -1;
    }
    d->base.mem = vdm_vhost_user_mem(&d->vu);
base:
    if (d->admin_vq)
        d->base.features |= VDM_F_ADMIN_VQ;
    d->base.num_queues = nq;
    d->base.queue_size_max = qmax;
    d->base.ops = &dev_ops;
    d->base.host = d;
    d->base.queues = d->queues;
    d->base.slots = d->slots;
    return 0;
}
