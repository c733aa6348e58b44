/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-vhost-user: serve vdm devices to vhost-user front-ends (QEMU, ...).
 *
 *   vdm-vhost-user [-v] (--socket PATH | --vfio-user PATH | --fd N)
 *                  --device TYPE[,key=value...] [... --device ...]...
 *   vdm-vhost-user-blk (--socket-path=PATH | --fd=N) --blk-file=PATH ...
 *       (and -input, -rng, -gpu: one program per device type, the vhost-user
 *       "Backend program conventions"; the same binary, named by argv[0])
 *
 * One listening socket per device; each serves one front-end at a time and
 * waits for the next when it goes away. A socket handed over with --fd is
 * either listening (served the same way) or already connected (served
 * once: the device is finished when that front-end goes away, and the
 * daemon ends when every device is). Everything runs in one thread on
 * one epoll set; a timerfd with absolute CLOCK_MONOTONIC deadlines wakes
 * devices that must run on time (sound periods). The Linux parts (sockets,
 * eventfd, epoll, timerfd, mmap) live here;
 * the protocol is the library's vdm_vhost_user_handle(). A device given
 * with --vfio-user PATH instead is a virtio-pci function served to a
 * vfio-user client (vfio_user_srv.c, the library's vdm_vfio_user_handle()),
 * in the same loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/vdm.h"

#define MAX_DEVICES    32
#define POLL_MS        5 /* period for rings in no-fd (polling) mode */
#define RECV_TIMEOUT_S 5 /* a front-end stuck mid-message is dropped */

int vd_verbose;

static int epfd = -1;
static struct vdev *devices[MAX_DEVICES];
static unsigned ndevices;
static volatile sig_atomic_t quit;

sigjmp_buf *vd_fault_jmp;

/* ------------------------------------------------------------------------ */
/* Small helpers */

void vd_log(const struct vdev *d, int level, const char *fmt, ...)
{
    static const char *const lv[] = {"error", "warning", "info", "debug"};
    va_list ap;
    if (level > VDM_LOG_WARN + vd_verbose)
        return;
    if (level < 0 || level > 3)
        level = 3;
    fprintf(stderr, "vdm-vhost-user: %s%s%s: ", d != NULL ? d->name : "",
            d != NULL ? ": " : "", lv[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

uint64_t vd_now_ms(void)
{
    return vd_now_ns() / 1000000u;
}

uint64_t vd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The earliest device deadline: arm @p tfd for it (absolute), or disarm.
 * A deadline already past fires at once (the kernel's rule for
 * TFD_TIMER_ABSTIME). */
static void arm_timer(int tfd, uint64_t deadline_ns, uint64_t *armed)
{
    struct itimerspec its = {{0, 0}, {0, 0}};

    if (deadline_ns == *armed)
        return;
    if (deadline_ns != 0) {
        its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        perror("vdm-vhost-user: timerfd_settime");
    *armed = deadline_ns;
}

const char *vd_opt(struct vd_opts *o, const char *key)
{
    for (unsigned i = 0; i < o->n; i++)
        if (strcmp(o->key[i], key) == 0) {
            o->used[i] = 1;
            return o->val[i];
        }
    return NULL;
}

int vd_bool(const char *v)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1") ||
        !strcmp(v, "true"))
        return 1;
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0") ||
        !strcmp(v, "false"))
        return 0;
    return -1;
}

int vd_uint(const char *v, unsigned long long lo, unsigned long long hi,
            unsigned long long *out)
{
    char *end;
    unsigned long long x;
    if (v == NULL || *v == '\0' || *v == '-')
        return -1;
    errno = 0;
    x = strtoull(v, &end, 0);
    if (errno != 0 || *end != '\0' || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static void epoll_add(int fd, struct vd_tag *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        vd_log(tag->d, VDM_LOG_ERROR, "epoll add: %s", strerror(errno));
}

static void epoll_del(int fd)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

void vd_watch_fd(int fd, struct vd_tag *tag)
{
    tag->kind = VD_TAG_FD;
    epoll_add(fd, tag);
}

void vd_unwatch_fd(int fd)
{
    epoll_del(fd);
}

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

static void h_signal(void *host, int32_t fd)
{
    uint64_t one = 1;
    (void)host;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(host, VDM_LOG_DEBUG, "eventfd write: %s", strerror(errno));
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

    if (old >= 0)
        epoll_del(old);
    if (old == VDM_VHOST_USER_FD_POLL)
        d->npolled--;
    d->kick_fd[q] = fd;
    if (fd >= 0) {
        d->kick_tag[q].kind = VD_TAG_KICK;
        d->kick_tag[q].d = d;
        d->kick_tag[q].q = q;
        epoll_add(fd, &d->kick_tag[q]);
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
        epoll_del(d->aux_fd);
    d->aux_fd = fd;
    if (fd >= 0) {
        d->aux_tag->kind = VD_TAG_AUX;
        d->aux_tag->d = d;
        epoll_add(fd, d->aux_tag);
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
};

static const struct vdm_host_ops dev_ops = {
    .size = sizeof(struct vdm_host_ops),
    .log = h_log,
};

int vd_alloc_queues(struct vdev *d, uint16_t nq, uint16_t qmax)
{
    struct vdm_vhost_user_config vc = VDM_INIT(struct vdm_vhost_user_config);
    int rc;

    d->rings = calloc(nq, sizeof(*d->rings));
    d->queues = calloc(nq, sizeof(*d->queues));
    d->slots = calloc(VDM_DEV_SLOTS(nq, qmax), sizeof(uint32_t));
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
    d->base.num_queues = nq;
    d->base.queue_size_max = qmax;
    d->base.ops = &dev_ops;
    d->base.host = d;
    d->base.queues = d->queues;
    d->base.slots = d->slots;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Connections */

/* Let the device type do pending work; ms until it wants to run again. */
static int dev_poll(struct vdev *d)
{
    volatile int t = -1;
    if (d->type->poll != NULL && d->conn_fd >= 0)
        GUARDED(d, t = d->type->poll(d));
    return t;
}

void vd_disconnect(struct vdev *d, const char *why)
{
    if (d->conn_fd < 0)
        return;
    vd_log(d, VDM_LOG_WARN + (why == NULL), "front-end gone%s%s",
           why != NULL ? ": " : "", why != NULL ? why : "");
    /* Closes every fd the library holds (kick fds leave epoll through the
     * watch hook), unmaps guest memory, resets the device. */
    if (d->vfio)
        vd_vfu_reset(d);
    else
        vdm_vhost_user_reset(&d->vu);
    epoll_del(d->conn_fd);
    close(d->conn_fd);
    d->conn_fd = -1;
    if (d->type->disconnected != NULL)
        d->type->disconnected(d);
    if (d->listen_fd >= 0)
        epoll_add(d->listen_fd, d->listen_tag); /* serve the next one */
    else
        d->finished = 1; /* a handed-over connection: nobody comes next */
}

/* Serve front-end connection @p fd. */
static void adopt_conn(struct vdev *d, int fd)
{
    struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    d->conn_fd = fd;
    if (d->listen_fd >= 0)
        epoll_del(d->listen_fd); /* one front-end at a time */
    d->conn_tag->kind = VD_TAG_CONN;
    d->conn_tag->d = d;
    epoll_add(fd, d->conn_tag);
    vd_log(d, VDM_LOG_INFO, "front-end connected");
    if (d->type->connected != NULL)
        d->type->connected(d);
}

static void on_accept(struct vdev *d)
{
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            vd_log(d, VDM_LOG_WARN, "accept: %s", strerror(errno));
        return;
    }
    adopt_conn(d, fd);
}

/* Largest fd count of either protocol (control buffer size). */
#define RECV_MAX_FDS                                                           \
    (VDM_VFIO_USER_MAX_FDS > VDM_VHOST_USER_MAX_FDS ? VDM_VFIO_USER_MAX_FDS    \
                                                    : VDM_VHOST_USER_MAX_FDS)

int vd_recv_full(struct vdev *d, uint8_t *buf, size_t len, int32_t *fds,
                 uint32_t *nfds, uint32_t maxfds, int *fd_overflow)
{
    size_t got = 0;
    while (got < len) {
        union {
            char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
            struct cmsghdr align;
        } ctrl;
        struct iovec iov = {buf + got, len - got};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctrl.buf,
                            .msg_controllen = sizeof(ctrl.buf)};
        struct cmsghdr *c;
        ssize_t n = recvmsg(d->conn_fd, &mh, MSG_CMSG_CLOEXEC);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vd_log(d, VDM_LOG_WARN, "receive: %s", strerror(errno));
            return -1;
        }
        for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *p = (int *)(void *)CMSG_DATA(c);
            for (size_t i = 0; i < k; i++) {
                /* Never block on a front-end's fd: an eventfd or pipe it
                 * stops draining must not stall the daemon (no effect on
                 * memory files). */
                int fl = fcntl(p[i], F_GETFL);
                if (fl >= 0 && !(fl & O_NONBLOCK))
                    fcntl(p[i], F_SETFL, fl | O_NONBLOCK);
                if (*nfds < maxfds) {
                    fds[(*nfds)++] = p[i];
                } else {
                    close(p[i]);
                    *fd_overflow = 1;
                }
            }
        }
        if (mh.msg_flags & MSG_CTRUNC)
            *fd_overflow = 1;
        if (n == 0)
            return got == 0 ? 1 : -1;
        got += (size_t)n;
    }
    return 0;
}

static void on_message(struct vdev *d)
{
    static uint8_t msg[VDM_VHOST_USER_MAX_MSG];
    static uint8_t reply[VDM_VHOST_USER_MAX_MSG];
    int32_t fds[VDM_VHOST_USER_MAX_FDS];
    uint32_t nfds = 0, plen, rlen = 0;
    int overflow = 0, rc;
    volatile int hrc = 0;
    uint32_t req;

    if (d->vfio) {
        vd_vfu_message(d);
        return;
    }
    rc = vd_recv_full(d, msg, VDM_VHOST_USER_HDR_BYTES, fds, &nfds,
                      VDM_VHOST_USER_MAX_FDS, &overflow);
    if (rc == 0 && vdm_vhost_user_payload_len(msg, &plen) < 0)
        rc = -2;
    if (rc == 0 && plen > 0)
        rc = vd_recv_full(d, msg + VDM_VHOST_USER_HDR_BYTES, plen, fds, &nfds,
                          VDM_VHOST_USER_MAX_FDS, &overflow);
    if (rc == 0 && overflow)
        rc = -3;
    if (rc != 0) {
        for (uint32_t i = 0; i < nfds; i++)
            close(fds[i]);
        vd_disconnect(d, rc == 1    ? NULL
                         : rc == -2 ? "malformed message header"
                         : rc == -3 ? "too many file descriptors"
                                    : "truncated message");
        return;
    }
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "<- %s (%u bytes, %u fds)",
               vdm_vhost_user_request_name(*(uint32_t *)(void *)msg), plen,
               nfds);

    memcpy(&req, msg, sizeof(req));
    hrc = 1;
    GUARDED(d, hrc = vdm_vhost_user_handle(&d->vu, msg,
                                           VDM_VHOST_USER_HDR_BYTES + plen, fds,
                                           nfds, reply, sizeof(reply), &rlen));
    if (hrc > 0)
        return; /* faulted: already disconnected */
    rc = hrc;
    if (rc < 0)
        vd_log(d, VDM_LOG_WARN, "%s refused: %s",
               vdm_vhost_user_request_name(req), vdm_strerror(rc));
    if (rc == VDM_EPROTO) {
        vd_disconnect(d, "protocol error");
        return;
    }
    if (rlen > 0) {
        size_t off = 0;
        while (off < rlen) {
            ssize_t n = send(d->conn_fd, reply + off, rlen - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                vd_disconnect(d, "reply not sent");
                return;
            }
            off += (size_t)n;
        }
    }
}

static void on_kick(struct vdev *d, uint16_t q)
{
    uint64_t v;
    if (read(d->kick_fd[q], &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "kick on queue %u", q);
    GUARDED(d, vdm_vhost_user_kick(&d->vu, q));
}

/* The device type's own fd (vd_watch_aux) is readable. */
static void on_aux(struct vdev *d)
{
    GUARDED(d, d->type->aux(d));
}

/* A device's extra fd (vd_watch_fd) is readable. Its own function: a
 * sigsetjmp in main() would put main's locals at risk of longjmp. */
static void on_fd(struct vd_tag *t)
{
    GUARDED(t->d, t->fn(t->d, t->arg));
}

static void poll_rings(struct vdev *d)
{
    GUARDED(
        d, for (uint16_t q = 0; q < vdm_dev_num_queues(&d->dev); q++) {
            if (d->kick_fd[q] == VDM_VHOST_USER_FD_POLL)
                vdm_vhost_user_kick(&d->vu, q);
        });
}

/* ------------------------------------------------------------------------ */
/* Set-up */

/* --fd=N: a Unix stream socket the management layer opened for us. The
 * vhost-user text ("Backend program conventions") only says the program is
 * started "with the vhost-user socket" as that fd; management layers hand
 * over either a listening socket (virtiofsd's convention) or one end of a
 * socketpair (libvirt's for vhost-user-gpu). Both are served: a listening
 * one like --socket, a connected one as the only front-end. */
static int use_handed_fd(struct vdev *d)
{
    int fd = d->handed_fd, type = 0, listening = 0, fl;
    socklen_t len = sizeof(type);
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        type != SOCK_STREAM) {
        vd_log(d, VDM_LOG_ERROR, "--fd=%d is not an open stream socket", fd);
        return -1;
    }
    len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
        vd_log(d, VDM_LOG_ERROR, "--fd=%d: %s", fd, strerror(errno));
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (!listening) {
        fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        adopt_conn(d, fd);
        return 0;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    d->listen_fd = fd;
    d->listen_tag->kind = VD_TAG_LISTEN;
    d->listen_tag->d = d;
    epoll_add(fd, d->listen_tag);
    return 0;
}

static int listen_on(struct vdev *d)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (d->socket == NULL)
        return use_handed_fd(d);

    if (strlen(d->socket) >= sizeof(sa.sun_path)) {
        vd_log(d, VDM_LOG_ERROR, "socket path too long: %s", d->socket);
        return -1;
    }
    strcpy(sa.sun_path, d->socket);
    if (lstat(d->socket, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(d->socket); /* a stale socket from an earlier run */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4) < 0) {
        vd_log(d, VDM_LOG_ERROR, "listen on %s: %s", d->socket,
               strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->listen_fd = fd;
    d->listen_tag->kind = VD_TAG_LISTEN;
    d->listen_tag->d = d;
    epoll_add(fd, d->listen_tag);
    return 0;
}

static const struct vd_type *const types[] = {
    &vd_type_blk,    &vd_type_rng,  &vd_type_input, &vd_type_sound,
    &vd_type_i2c,    &vd_type_gpio, &vd_type_gpu,   &vd_type_rpmb,
    &vd_type_can,    &vd_type_spi,  &vd_type_scmi,  &vd_type_balloon,
    &vd_type_console};

/* "TYPE,key=value,..." -> o (the string is modified in place). */
static int parse_device(char *spec, struct vd_opts *o)
{
    char *save = NULL, *tok;
    memset(o, 0, sizeof(*o));
    o->type = strtok_r(spec, ",", &save);
    if (o->type == NULL)
        return -1;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (eq == NULL || eq == tok || o->n == VD_MAX_OPTS) {
            fprintf(stderr, "vdm-vhost-user: bad device option '%s'\n", tok);
            return -1;
        }
        *eq = '\0';
        o->key[o->n] = tok;
        o->val[o->n] = eq + 1;
        o->n++;
    }
    return 0;
}

static struct vdev *make_device(const char *socket_path, int handed_fd,
                                int vfio, char *spec)
{
    /* One instance counter per device type (names: blk0, sound0, ...). */
    static unsigned counts[sizeof(types) / sizeof(types[0])];
    struct vd_opts o;
    struct vdev *d;
    char name[32];
    unsigned t;
    int rc;

    if (parse_device(spec, &o) < 0)
        return NULL;
    for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
        if (strcmp(types[t]->name, o.type) == 0)
            break;
    if (t == sizeof(types) / sizeof(types[0])) {
        fprintf(
            stderr,
            "vdm-vhost-user: unknown device type '%s' "
            "(blk, rng, input, sound, i2c, gpio, gpu, rpmb, can, spi, scmi, "
            "balloon, console)\n",
            o.type);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    /* Reachable from the table at once, so an early error exit leaks
     * nothing (the process ends right after a failed make_device). */
    devices[ndevices] = d;
    snprintf(name, sizeof(name), "%s%u", o.type, counts[t]++);
    d->name = strdup(name);
    d->socket = socket_path;
    d->handed_fd = handed_fd;
    d->type = types[t];
    d->listen_fd = -1;
    d->conn_fd = -1;
    d->listen_tag = calloc(1, sizeof(*d->listen_tag));
    d->conn_tag = calloc(1, sizeof(*d->conn_tag));
    d->aux_tag = calloc(1, sizeof(*d->aux_tag));
    d->aux_fd = -1;
    d->vfio = vfio;
    d->base = VDM_INIT(struct vdm_dev_config);
    if (vfio && d->type->request != NULL) {
        /* gpu: its display channel is a vhost-user message */
        vd_log(d, VDM_LOG_ERROR,
               "%s needs vhost-user (--socket), not "
               "--vfio-user",
               o.type);
        return NULL;
    }
    if (d->type->create(d, &o) < 0)
        return NULL;
    for (unsigned i = 0; i < o.n; i++)
        if (!o.used[i]) {
            vd_log(d, VDM_LOG_ERROR, "unknown option '%s' for %s", o.key[i],
                   o.type);
            return NULL;
        }
    if (d->vfio)
        return vd_vfu_attach(d) < 0 ? NULL : d;
    rc = vdm_vhost_user_attach(&d->vu, &d->dev);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "attach: %s", vdm_strerror(rc));
        return NULL;
    }
    return d;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: vdm-vhost-user [-v] (--socket PATH | --vfio-user PATH | --fd N)"
        " --device SPEC [(--socket PATH | --vfio-user PATH | --fd N)\n"
        "                      --device SPEC]...\n"
        "       vdm-vhost-user --print-capabilities --device TYPE\n"
        "\n"
        "Serves vdm VIRTIO devices over vhost-user or vfio-user sockets (one\n"
        "per device).\n"
        "One program per device type as well: vdm-vhost-user-blk, -input,\n"
        "-rng, -gpu (try vdm-vhost-user-blk --help).\n"
        "\n"
        "  --socket PATH, --socket-path=PATH  socket of the next --device\n"
        "  --vfio-user PATH   vfio-user socket of the next --device: served\n"
        "                     as a virtio-pci function (vdm's PCI transport,\n"
        "                     MSI-X and INTx) to a vfio-user client such as\n"
        "                     QEMU's -device vfio-user-pci\n"
        "  --fd N, --fd=N     a socket handed over as file descriptor N\n"
        "                     (listening, or connected: then served once)\n"
        "  --device SPEC      TYPE[,key=value...]:\n"
        "      blk,file=PATH[,ro=on|off][,serial=STR][,num-queues=N]\n"
        "          [,queue-size=N][,discard=on|off][,writeback=on|off]\n"
        "      balloon[,target-mib=N][,target-file=PATH (read on SIGUSR1)]\n"
        "          [,stats-file=PATH][,stats-ms=N][,stats=on|off]\n"
        "          [,reporting=on|off][,deflate-on-oom=on|off]\n"
        "          [,must-tell-host=on|off]  (inflated and reported pages:\n"
        "          holes punched in the guest memory files)\n"
        "      rng[,source=PATH]          (default: getrandom(); a regular\n"
        "                                  file is repeated without end)\n"
        "      input,profile=keyboard|mouse|touch[,events=PATH]\n"
        "      i2c[,eeprom=ADDR:24c02|24c32:PATH][,lm75=ADDR:PATH]\n"
        "         [,adapter=/dev/i2c-N,allow=ADDR[:ADDR...]]\n"
        "      gpio,state=PATH[,events=PATH] | gpio,chip=/dev/gpiochipN\n"
        "          events file lines: 'TYPE CODE VALUE', 'key CODE',\n"
        "          'syn', 'sleep MS', 'wait-status [TYPE CODE VALUE]',\n"
        "          '# comment'; names like EV_KEY, KEY_A, BTN_LEFT,\n"
        "          REL_X, ABS_X, SYN_REPORT, LED_NUML or numbers; replayed\n"
        "          once per front-end when the driver is ready\n"
        "      rpmb,file=PATH[,capacity=N][,max_wr=N][,max_rd=N]\n"
        "          file-backed partition with its key and write counter;\n"
        "          capacity in 128 KiB units (1..128) for a new file\n"
        "      sound[,playback=SINK][,capture=SOURCE][,pace=realtime|fast]\n"
        "          [,jacks=0|1|2][,controls=on|off]\n"
        "          SINK/SOURCE: null (default), FILE.wav, alsa:DEVICE\n"
        "      gpu[,outputs=N][,width=W][,height=H][,edid=on|off]\n"
        "          [,max-mem=MiB][,out=DIR]  (2D; pixels go to the\n"
        "          front-end's vhost-user-gpu channel; out=DIR also writes\n"
        "          DIR/scanoutN.ppm after every flush)\n"
        "      can,bus=PATH | can,if=IFNAME [,fd=on|off][,late-ack=on|off]\n"
        "          [,tx-slots=N]  bus: virtual CAN bus (unix socket) shared\n"
        "          with other daemons; if: SocketCAN interface (raw, FD)\n"
        "      spi,flash=PATH[,size=N] | spi,dev=/dev/spidevB.C\n"
        "          flash: simulated SPI NOR flash in PATH (N bytes, a power\n"
        "          of two, default 1 MiB); dev: spidev passthrough\n"
        "      scmi[,sensors=FILE][,poll-ms=N][,p2a=on|off]  SCMI platform\n"
        "          of a demo SoC (clocks, power and reset domains, sensors);\n"
        "          FILE: sensor values (re-read on reads and every N ms)\n"
        "      console,port0=BACKEND[,portN=BACKEND][,nameN=NAME]\n"
        "          [,consoleN=on|off][,cols=C,rows=R]  BACKEND: pty[:LINK]\n"
        "          (raw pty; LINK: a symlink to it; its window size is the\n"
        "          console's), unix:PATH (listening socket, one client),\n"
        "          file:PATH (guest output appended); ports other than 0\n"
        "          or names turn MULTIPORT on (port 0 a console)\n"
        "  -v, --verbose      more log on stderr (twice: every message)\n"
        "  -h, --help         this text\n"
        "\n"
        "Prints 'vdm-vhost-user: listening on PATH' on stdout per socket\n"
        "once it accepts connections ('listening on fd N' or 'serving fd N'\n"
        "for --fd). SIGTERM/SIGINT end it: requests already in the rings\n"
        "are completed first.\n");
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (vd_fault_jmp != NULL)
        siglongjmp(*vd_fault_jmp, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------------------ */
/* One program per device type (vhost-user "Backend program conventions"):
 * vdm-vhost-user-TYPE is this binary under another name (a symlink). */

struct prog {
    const char *name;     /* device type, vdm-vhost-user-NAME */
    const char *qapi;     /* its VHostUserBackendType (vhost-user.json) */
    const char *features; /* --print-capabilities features, comma-separated;
                             NULL: the schema has no features for the type */
};

static const struct prog progs[] = {
    {"blk", "block", "read-only,blk-file"},
    {"input", "input", ""},
    {"rng", "rng", NULL},
    {"gpu", "gpu", ""},
};

static const struct prog *prog_by_type(const char *type, size_t len)
{
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        if (strlen(progs[i].name) == len && !strncmp(progs[i].name, type, len))
            return &progs[i];
    return NULL;
}

/* The VHostUserBackendCapabilities object of vhost-user.json. */
static void print_capabilities(const struct prog *p)
{
    printf("{\n  \"type\": \"%s\"", p->qapi);
    if (p->features != NULL) {
        const char *f = p->features;
        printf(",\n  \"features\": [");
        while (*f != '\0') {
            size_t n = strcspn(f, ",");
            printf("%s\n    \"%.*s\"", f == p->features ? "" : ",", (int)n, f);
            f += n + (f[n] == ',');
        }
        printf("%s]", p->features[0] != '\0' ? "\n  " : "");
    }
    printf("\n}\n");
    fflush(stdout);
}

static void usage_prog(FILE *f, const struct prog *p)
{
    fprintf(
        f,
        "usage: vdm-vhost-user-%s (--socket-path=PATH | --fd=FDNUM)%s\n"
        "           [-o KEY=VALUE[,KEY=VALUE...]]... [-v]\n"
        "       vdm-vhost-user-%s --print-capabilities\n"
        "\n"
        "Serves one vdm %s device over vhost-user (the vhost-user\n"
        "\"Backend program conventions\").\n"
        "\n"
        "  --socket-path=PATH    listen on PATH\n"
        "  --fd=FDNUM            a socket handed over as FDNUM (listening,\n"
        "                        or connected: then served once)\n"
        "%s"
        "  -o, --option K=V,...  more options of the device, as in\n"
        "                        vdm-vhost-user --device %s,K=V,...\n"
        "  --print-capabilities  print the capabilities (JSON), exit\n"
        "  -v, --verbose         more log on stderr\n",
        p->name,
        strcmp(p->name, "blk") == 0 ? " --blk-file=PATH [--read-only]" : "",
        p->name, p->name,
        strcmp(p->name, "blk") == 0
            ? "  --blk-file=PATH       the image: a file or block device\n"
              "  --read-only           read-only device\n"
            : "",
        p->name);
}

/* Append ",@p text" to @p spec (of @p cap bytes). -1 when it does not fit. */
static int spec_add(char *spec, size_t cap, const char *key, const char *val)
{
    size_t n = strlen(spec);
    int w = snprintf(spec + n, cap - n, ",%s%s", key, val);
    return w < 0 || (size_t)w >= cap - n ? -1 : 0;
}

/* Only --print-capabilities, whatever else is there ("Other options and
 * arguments should be ignored"). */
static int wants_capabilities(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--print-capabilities") == 0)
            return 1;
    return 0;
}

/* Parse a --fd value. -1 when not a descriptor number. */
static int parse_fd(const char *v)
{
    unsigned long long x;
    return vd_uint(v, 0, 65535, &x) < 0 ? -1 : (int)x;
}

/* vdm-vhost-user-TYPE: its options -> one device. -1 to go on, else the
 * exit status. */
static int parse_prog(const struct prog *p, int argc, char **argv)
{
    enum { O_FD = 256, O_BLK_FILE, O_READ_ONLY, O_CAPS };
    static const struct option longopts[] = {
        {"socket-path", required_argument, NULL, 's'},
        {"fd", required_argument, NULL, O_FD},
        {"blk-file", required_argument, NULL, O_BLK_FILE},
        {"read-only", no_argument, NULL, O_READ_ONLY},
        {"option", required_argument, NULL, 'o'},
        {"print-capabilities", no_argument, NULL, O_CAPS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char spec[4096];
    const char *socket_path = NULL, *blk_file = NULL;
    int fd = -1, ro = 0, c, is_blk = strcmp(p->name, "blk") == 0;

    if (wants_capabilities(argc, argv)) {
        print_capabilities(p);
        return 0;
    }
    snprintf(spec, sizeof(spec), "%s", p->name);
    while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': socket_path = optarg; break;
        case O_FD:
            if ((fd = parse_fd(optarg)) < 0) {
                fprintf(stderr,
                        "vdm-vhost-user-%s: --fd=%s: not a file "
                        "descriptor number\n",
                        p->name, optarg);
                return 2;
            }
            break;
        case O_BLK_FILE:
        case O_READ_ONLY:
            if (!is_blk) {
                fprintf(stderr,
                        "vdm-vhost-user-%s: --%s is an option of "
                        "vdm-vhost-user-blk\n",
                        p->name, c == O_BLK_FILE ? "blk-file" : "read-only");
                return 2;
            }
            if (c == O_BLK_FILE)
                blk_file = optarg;
            else
                ro = 1;
            break;
        case 'o':
            if (spec_add(spec, sizeof(spec), "", optarg) < 0) {
                fprintf(stderr, "vdm-vhost-user-%s: options too long\n",
                        p->name);
                return 2;
            }
            break;
        case 'v': vd_verbose++; break;
        case 'h': usage_prog(stdout, p); return 0;
        default: usage_prog(stderr, p); return 2;
        }
    }
    if (optind < argc || (socket_path == NULL) == (fd < 0)) {
        fprintf(stderr, "vdm-vhost-user-%s: %s\n", p->name,
                optind < argc ? "unexpected arguments"
                : fd < 0      ? "needs --socket-path=PATH or --fd=FDNUM"
                              : "--socket-path and --fd exclude each other");
        return 2;
    }
    if ((blk_file != NULL &&
         spec_add(spec, sizeof(spec), "file=", blk_file) < 0) ||
        (ro && spec_add(spec, sizeof(spec), "ro=", "on") < 0)) {
        fprintf(stderr, "vdm-vhost-user-%s: options too long\n", p->name);
        return 2;
    }
    if (make_device(socket_path, fd, 0, spec) == NULL)
        return 1;
    ndevices++;
    return -1;
}

/* vdm-vhost-user: (--socket PATH | --fd N) --device SPEC pairs. -1 to go
 * on, else the exit status. */
static int parse_multi(int argc, char **argv)
{
    enum { O_FD = 256, O_CAPS, O_VFU };
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"socket-path", required_argument, NULL, 's'},
        {"fd", required_argument, NULL, O_FD},
        {"vfio-user", required_argument, NULL, O_VFU},
        {"device", required_argument, NULL, 'd'},
        {"print-capabilities", no_argument, NULL, O_CAPS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *socket_path = NULL;
    int fd = -1, vfio = 0, c;

    if (wants_capabilities(argc, argv)) {
        /* The type of the (first) --device names the capabilities. */
        for (int i = 1; i < argc; i++) {
            const char *v = NULL, *p;
            if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
                v = argv[i + 1];
            else if (strncmp(argv[i], "--device=", 9) == 0)
                v = argv[i] + 9;
            if (v == NULL)
                continue;
            p = strchr(v, ',');
            const struct prog *pr =
                prog_by_type(v, p ? (size_t)(p - v) : strlen(v));
            if (pr == NULL)
                break;
            print_capabilities(pr);
            return 0;
        }
        fprintf(stderr, "vdm-vhost-user: --print-capabilities needs "
                        "--device TYPE (blk, input, rng or gpu)\n");
        return 2;
    }
    while ((c = getopt_long(argc, argv, "s:d:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            socket_path = optarg;
            fd = -1;
            vfio = 0;
            break;
        case O_VFU:
            socket_path = optarg;
            fd = -1;
            vfio = 1;
            break;
        case O_FD:
            if ((fd = parse_fd(optarg)) < 0) {
                fprintf(stderr,
                        "vdm-vhost-user: --fd=%s: not a file "
                        "descriptor number\n",
                        optarg);
                return 2;
            }
            socket_path = NULL;
            vfio = 0;
            break;
        case 'd':
            if (socket_path == NULL && fd < 0) {
                fprintf(stderr, "vdm-vhost-user: --device needs a --socket, "
                                "--vfio-user or --fd before it\n");
                return 2;
            }
            if (ndevices == MAX_DEVICES) {
                fprintf(stderr, "vdm-vhost-user: too many devices\n");
                return 2;
            }
            if (make_device(socket_path, fd, vfio, optarg) == NULL)
                return 1;
            ndevices++;
            socket_path = NULL;
            fd = -1;
            vfio = 0;
            break;
        case 'v': vd_verbose++; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || ndevices == 0 || socket_path != NULL || fd >= 0) {
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Before exiting: the requests the driver made available are served (the
 * kick may still be in flight, or not yet read); the device types complete
 * their I/O synchronously, so nothing is left at the host after this. */
static void drain(struct vdev *d)
{
    GUARDED(
        d, for (uint16_t q = 0; q < vdm_dev_num_queues(&d->dev); q++) {
            if (d->conn_fd >= 0 &&
                (d->kick_fd[q] >= 0 || d->kick_fd[q] == VDM_VHOST_USER_FD_POLL))
                vdm_vhost_user_kick(&d->vu, q);
        });
    dev_poll(d);
}

static const char *prog_suffix(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base != NULL ? base + 1 : argv0;
    return strncmp(base, "vdm-vhost-user-", 15) == 0 ? base + 15 : NULL;
}

int main(int argc, char **argv)
{
    const char *suffix = prog_suffix(argc > 0 ? argv[0] : "");
    struct vd_tag sigtag = {.kind = VD_TAG_SIGNAL};
    struct vd_tag timertag = {.kind = VD_TAG_TIMER};
    uint64_t armed = 0;
    int tfd;
    struct sigaction sa;
    sigset_t mask;
    int sfd, rc;

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("vdm-vhost-user: epoll_create1");
        return 1;
    }
    if (suffix != NULL) {
        const struct prog *p = prog_by_type(suffix, strlen(suffix));
        if (p == NULL) {
            fprintf(stderr,
                    "vdm-vhost-user: no device type for program "
                    "name '%s' (blk, input, rng, gpu)\n",
                    argv[0]);
            return 2;
        }
        rc = parse_prog(p, argc, argv);
    } else {
        rc = parse_multi(argc, argv);
    }
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    epoll_add(sfd, &sigtag);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) {
        perror("vdm-vhost-user: timerfd_create");
        return 1;
    }
    epoll_add(tfd, &timertag);

    for (unsigned i = 0; i < ndevices; i++)
        if (listen_on(devices[i]) < 0)
            return 1;
    for (unsigned i = 0; i < ndevices; i++)
        if (devices[i]->socket != NULL)
            printf("vdm-vhost-user: listening on %s\n", devices[i]->socket);
        else
            printf("vdm-vhost-user: %s fd %d\n",
                   devices[i]->listen_fd >= 0 ? "listening on" : "serving",
                   devices[i]->handed_fd);
    fflush(stdout);

    while (!quit) {
        struct epoll_event ev[16];
        int timeout = -1, n;
        uint64_t next = 0;
        unsigned finished = 0;

        for (unsigned i = 0; i < ndevices; i++)
            finished += devices[i]->finished != 0;
        if (finished == ndevices)
            break; /* every handed-over connection ended */

        for (unsigned i = 0; i < ndevices; i++) {
            struct vdev *d = devices[i];
            if (d->conn_fd < 0)
                continue;
            if (d->npolled > 0 && (timeout < 0 || timeout > POLL_MS))
                timeout = POLL_MS;
            int t = dev_poll(d);
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
            if (d->conn_fd >= 0 && d->type->deadline != NULL) {
                uint64_t u = d->type->deadline(d);
                if (u != 0 && (next == 0 || u < next))
                    next = u;
            }
        }
        arm_timer(tfd, next, &armed);
        n = epoll_wait(epfd, ev, 16, timeout);
        if (n < 0 && errno != EINTR) {
            perror("vdm-vhost-user: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct vd_tag *t = ev[i].data.ptr;
            switch (t->kind) {
            case VD_TAG_LISTEN:
                if (t->d->conn_fd < 0)
                    on_accept(t->d);
                break;
            case VD_TAG_CONN:
                if (t->d->conn_fd >= 0)
                    on_message(t->d);
                break;
            case VD_TAG_KICK:
                if (t->d->conn_fd >= 0 && t->d->kick_fd[t->q] >= 0)
                    on_kick(t->d, t->q);
                break;
            case VD_TAG_AUX:
                if (t->d->aux_fd >= 0 && t->d->type->aux != NULL)
                    on_aux(t->d);
                break;
            case VD_TAG_FD: on_fd(t); break;
            case VD_TAG_SIGNAL: quit = 1; break;
            case VD_TAG_TIMER: {
                uint64_t expirations;
                if (read(tfd, &expirations, 8) < 0 && errno != EAGAIN)
                    perror("vdm-vhost-user: timerfd read");
                armed = 0; /* expired: arm again even for the same time */
                break;
            }
            default: break;
            }
            if (t->d != NULL)
                dev_poll(t->d);
        }
        for (unsigned i = 0; i < ndevices; i++)
            if (devices[i]->conn_fd >= 0 && devices[i]->npolled > 0)
                poll_rings(devices[i]);
    }
    for (unsigned i = 0; i < ndevices; i++) {
        drain(devices[i]);
        vd_disconnect(devices[i], NULL);
        if (devices[i]->socket != NULL)
            unlink(devices[i]->socket);
    }
    return 0;
}
