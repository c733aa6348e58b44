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
 * daemon ends when every device is). Each device runs in a thread of its
 * own on its own epoll set (so a front-end that stalls, mid-message or not
 * reading its replies, holds no other device); a timerfd with absolute
 * CLOCK_MONOTONIC deadlines wakes devices that must run on time (sound
 * periods). A device type may run its queues on threads of their own
 * (blk: the vd_type pause/resume/watch_kick hooks); the main thread only
 * waits for signals and for the device threads to end. The Linux parts
 * (sockets, eventfd, epoll, timerfd, mmap) live here; the protocol is the
 * library's vdm_vhost_user_handle(). A device given with --vfio-user PATH
 * instead is a virtio-pci function served to a vfio-user client
 * (vfio_user_srv.c, the library's vdm_vfio_user_handle()), in the same loop.
 * The command line is args.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
#define DRAIN_WAIT_MS  30000 /* requests that never complete: drop the peer */
/* The bound on a drain in ms (DRAIN_WAIT_MS; the environment's
 * VDM_VHOST_USER_DRAIN_MS, 1 to 3600000, sets it: tests and operators). */
static unsigned drain_wait_ms = DRAIN_WAIT_MS;

int vd_verbose;

/* The epoll set of the device this thread serves (the main thread: of the
 * device being set up). */
static __thread int epfd = -1;
static struct vdev *devices[MAX_DEVICES];
static unsigned ndevices;
static int quit;         /* __atomic: SIGTERM, SIGINT or SIGHUP came */
static int done_fd = -1; /* eventfd: each device thread adds 1 as it ends */

__thread sigjmp_buf *vd_fault_jmp;

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
    flockfile(stderr); /* one line at a time from the device threads */
    fprintf(stderr, "vdm-vhost-user: %s%s%s: ", d != NULL ? d->name : "",
            d != NULL ? ": " : "", lv[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
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

void vd_epoll_add(int fd, struct vd_tag *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        vd_log(tag->d, VDM_LOG_ERROR, "epoll add: %s", strerror(errno));
}

void vd_epoll_del(int fd)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

void vd_watch_fd(int fd, struct vd_tag *tag)
{
    tag->kind = VD_TAG_FD;
    vd_epoll_add(fd, tag);
}

void vd_unwatch_fd(int fd)
{
    vd_epoll_del(fd);
}

void vd_pause(struct vdev *d)
{
    if (d->type->pause != NULL)
        d->type->pause(d);
}

void vd_resume(struct vdev *d)
{
    if (d->type->resume != NULL)
        d->type->resume(d);
}

void vd_forward_kick(struct vdev *d, uint16_t q)
{
    uint64_t one = 1;

    if (q >= 64)
        return;
    __atomic_fetch_or(&d->fwd_kicks, 1ull << q, __ATOMIC_ACQ_REL);
    if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(d, VDM_LOG_DEBUG, "wake: %s", strerror(errno));
}

/* Another thread (a queue thread) asks the device thread to drop the
 * front-end: @p why must be a string constant. */
void vd_request_disconnect(struct vdev *d, const char *why)
{
    uint64_t one = 1;

    __atomic_store_n(&d->drop_why, why, __ATOMIC_RELEASE);
    if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(d, VDM_LOG_DEBUG, "wake: %s", strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* Connections */

/* Let the device type do pending work; ms until it wants to run again. */
static int dev_poll(struct vdev *d)
{
    volatile int t = -1;
    if (d->type->poll != NULL && d->conn_fd >= 0)
        GUARDED(d, t = d->type->poll(d));
    if (d->vfio)
        vd_vfu_after(d); /* DMA requests made by that work */
    return t;
}

/* The front-end takes ring(s) @p q back and the type still has requests of
 * them at the host: let it finish those that would wait without bound. */
static void dev_finish(struct vdev *d, uint16_t q)
{
    if (d->type->finish != NULL && d->conn_fd >= 0)
        GUARDED(d, d->type->finish(d, q));
}

void vd_disconnect(struct vdev *d, const char *why)
{
    if (d->conn_fd < 0)
        return;
    vd_log(d, VDM_LOG_WARN + (why == NULL), "front-end gone%s%s",
           why != NULL ? ": " : "", why != NULL ? why : "");
    vd_dirty_end(d);
    /* Closes every fd the library holds (kick fds leave epoll through the
     * watch hook), unmaps guest memory, resets the device. */
    vd_pause(d);
    if (d->vfio)
        vd_vfu_reset(d);
    else
        vdm_vhost_user_reset(&d->vu);
    vd_epoll_del(d->conn_fd);
    close(d->conn_fd);
    d->conn_fd = -1;
    if (d->type->disconnected != NULL)
        d->type->disconnected(d);
    vd_resume(d);
    /* What the queue threads (ended now) asked about that front-end. */
    __atomic_store_n(&d->drop_why, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&d->fwd_kicks, 0, __ATOMIC_RELEASE);
    if (d->listen_fd >= 0)
        vd_epoll_add(d->listen_fd, d->listen_tag); /* serve the next one */
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
        vd_epoll_del(d->listen_fd); /* one front-end at a time */
    d->conn_tag->kind = VD_TAG_CONN;
    d->conn_tag->d = d;
    vd_epoll_add(fd, d->conn_tag);
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
    uint8_t *msg = d->msgbuf, *reply = d->replybuf; /* per device */
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
    const uint64_t t0 = vd_now_ms();
    for (;;) {
        hrc = 1;
        vd_pause(d); /* queue threads complete what they have in flight */
        GUARDED(d, hrc = vdm_vhost_user_handle(
                       &d->vu, msg, VDM_VHOST_USER_HDR_BYTES + plen, fds, nfds,
                       reply, VD_MSGBUF_BYTES, &rlen));
        vd_resume(d);
        if (hrc != VDM_EAGAIN)
            break;
        /* docs/drain.md: requests of the rings the front-end takes back
         * are still at the host (a type's `pending`); let them complete,
         * then hand the same message in again (nothing was consumed) */
        if (vd_now_ms() - t0 >= drain_wait_ms) {
            for (uint32_t i = 0; i < nfds; i++)
                close(fds[i]);
            vd_disconnect(d, "requests never completed (drain)");
            return;
        }
        dev_finish(d, d->drain_q);
        dev_poll(d);
        if (d->conn_fd < 0)
            return;
        if (d->type->pending(d, d->drain_q) != 0)
            usleep(1000);
    }
    if (hrc <= 0)
        vd_dirty_watch(d); /* SET_FEATURES (LOG_ALL), SET_LOG_BASE, ... */
    if (hrc > 0) {
        if (d->reply_fd >= 0)
            close(d->reply_fd);
        d->reply_fd = -1;
        return; /* faulted: already disconnected */
    }
    rc = hrc;
    if (rc < 0)
        vd_log(d, VDM_LOG_WARN, "%s refused: %s",
               vdm_vhost_user_request_name(req), vdm_strerror(rc));
    if (rc == VDM_EPROTO) {
        vd_disconnect(d, "protocol error");
        return;
    }
    if (rlen > 0 && d->reply_fd >= 0) {
        /* GET_INFLIGHT_FD: the region's fd goes with the reply */
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctrl;
        struct iovec iov = {reply, rlen};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctrl.buf,
                            .msg_controllen = sizeof(ctrl.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &d->reply_fd, sizeof(int));
        do
            n = sendmsg(d->conn_fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        close(d->reply_fd);
        d->reply_fd = -1;
        if (n != (ssize_t)rlen) {
            vd_disconnect(d, "reply not sent");
            return;
        }
        rlen = 0;
    }
    if (d->reply_fd >= 0) {
        close(d->reply_fd);
        d->reply_fd = -1;
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
    vd_pause(d);
    GUARDED(d, vdm_vhost_user_kick(&d->vu, q));
    vd_resume(d);
}

/* A queue thread saw a kick on a ring that is not running (yet): the
 * transport decides (keeps it until SET_VRING_ENABLE, starts the device). */
static void forwarded_kick(struct vdev *d, uint16_t q)
{
    vd_pause(d);
    GUARDED(d, vdm_vhost_user_kick(&d->vu, q));
    vd_resume(d);
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
    vd_epoll_add(fd, d->listen_tag);
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
    vd_epoll_add(fd, d->listen_tag);
    return 0;
}

static const struct vd_type *const types[] = {
    &vd_type_blk,    &vd_type_rng,  &vd_type_input, &vd_type_sound,
    &vd_type_i2c,    &vd_type_gpio, &vd_type_gpu,   &vd_type_rpmb,
    &vd_type_can,    &vd_type_spi,  &vd_type_scmi,  &vd_type_balloon,
    &vd_type_console};

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

    if (vd_parse_device(spec, &o) < 0)
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
    d->reply_fd = -1;
    d->conn_fd = -1;
    d->listen_tag = calloc(1, sizeof(*d->listen_tag));
    d->conn_tag = calloc(1, sizeof(*d->conn_tag));
    d->aux_tag = calloc(1, sizeof(*d->aux_tag));
    d->aux_fd = -1;
    d->vfio = vfio;
    d->msgbuf = malloc(VD_MSGBUF_BYTES);
    d->replybuf = malloc(VD_REPLYBUF_BYTES);
    d->wake_tag = calloc(1, sizeof(*d->wake_tag));
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->msgbuf == NULL || d->replybuf == NULL || d->wake_tag == NULL ||
        d->epfd < 0 || d->wake_fd < 0 || d->tfd < 0) {
        vd_log(d, VDM_LOG_ERROR, "out of memory or descriptors");
        return NULL;
    }
    epfd = d->epfd; /* what create and listen_on watch goes there */
    d->base = VDM_INIT(struct vdm_dev_config);
    /* admin-vq=on (any device type, vfio-user only: the administration
     * virtqueue is PCI's, vdm/admin.h) */
    {
        const char *av = vd_opt(&o, "admin-vq");
        if (av != NULL && (vd_bool(av) < 0 || (vd_bool(av) == 1 && !vfio))) {
            vd_log(d, VDM_LOG_ERROR,
                   "admin-vq wants on or off, and on needs --vfio-user");
            return NULL;
        }
        d->admin_vq = av != NULL && vd_bool(av) == 1;
    }
    /* gpu over vfio-user: its create checks for a display of its own
     * (out=DIR), the vhost-user-gpu channel being a vhost-user message. */
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

/* The device of @p spec, on @p socket_path (a vfio-user one when @p vfio)
 * or handed-over socket @p handed_fd, made and added to the table. */
int vd_add_device(const char *socket_path, int handed_fd, int vfio, char *spec)
{
    if (ndevices == MAX_DEVICES)
        return -2;
    if (make_device(socket_path, handed_fd, vfio, spec) == NULL)
        return -1;
    ndevices++;
    return 0;
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

/* Before exiting: the requests the driver made available are served (the
 * kick may still be in flight, or not yet read). A type's queue threads
 * complete what they have at the host before they answer a pause; what a
 * type reports as still at the host (its `pending` hook) is finished (its
 * `finish` hook) or waited for, a bounded time (logged when it runs out),
 * so nothing is left at the host after this. */
static void drain(struct vdev *d)
{
    vd_pause(d); /* queue threads complete what they have in flight */
    GUARDED(
        d, for (uint16_t q = 0; q < vdm_dev_num_queues(&d->dev); q++) {
            if (d->conn_fd >= 0 &&
                (d->kick_fd[q] >= 0 || d->kick_fd[q] == VDM_VHOST_USER_FD_POLL))
                vdm_vhost_user_kick(&d->vu, q);
        });
    vd_resume(d);
    vd_pause(d); /* ... and what that kick gave them */
    vd_resume(d);
    dev_poll(d);
    if (d->type->pending == NULL || d->conn_fd < 0 ||
        d->type->pending(d, UINT16_MAX) == 0)
        return;
    dev_finish(d, UINT16_MAX);
    dev_poll(d);
    for (uint64_t t0 = vd_now_ms();
         d->conn_fd >= 0 && d->type->pending(d, UINT16_MAX) != 0;) {
        if (vd_now_ms() - t0 >= drain_wait_ms) {
            vd_log(d, VDM_LOG_WARN,
                   "exit: %u request(s) still at the host after %u ms: "
                   "abandoned",
                   d->type->pending(d, UINT16_MAX), drain_wait_ms);
            return;
        }
        usleep(1000);
        dev_finish(d, UINT16_MAX);
        dev_poll(d);
    }
}

/* The device thread: serve @p arg (a struct vdev) until the daemon quits or
 * its handed-over connection ends. Everything about the device, its
 * front-end and the fds its type watches runs here. */
static void *dev_thread(void *arg)
{
    struct vdev *d = arg;
    struct vd_tag timertag = {.kind = VD_TAG_TIMER};
    uint64_t armed = 0, one = 1;
    int tfd = d->tfd;

    epfd = d->epfd;
    vd_epoll_add(tfd, &timertag);
    d->wake_tag->kind = VD_TAG_WAKE;
    d->wake_tag->d = d;
    vd_epoll_add(d->wake_fd, d->wake_tag);

    while (!__atomic_load_n(&quit, __ATOMIC_ACQUIRE) && !d->finished) {
        struct epoll_event ev[16];
        int timeout = -1, n;
        uint64_t next = 0;

        if (d->conn_fd >= 0) {
            if (d->npolled > 0)
                timeout = POLL_MS;
            int t = dev_poll(d);
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
            if (d->conn_fd >= 0 && d->type->deadline != NULL)
                next = d->type->deadline(d);
        }
        arm_timer(tfd, next, &armed);
        n = epoll_wait(epfd, ev, 16, timeout);
        if (n < 0 && errno != EINTR) {
            vd_log(d, VDM_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            exit(1);
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
            case VD_TAG_WAKE: {
                uint64_t v;
                const char *why;
                if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    vd_log(d, VDM_LOG_DEBUG, "wake: %s", strerror(errno));
                why = __atomic_exchange_n(&d->drop_why, NULL, __ATOMIC_ACQ_REL);
                if (why != NULL)
                    vd_disconnect(d, why);
                v = __atomic_exchange_n(&d->fwd_kicks, 0, __ATOMIC_ACQ_REL);
                for (uint16_t q = 0; v != 0 && d->conn_fd >= 0; q++, v >>= 1)
                    if (v & 1u)
                        forwarded_kick(d, q);
                break;
            }
            case VD_TAG_TIMER: {
                uint64_t expirations;
                if (read(tfd, &expirations, 8) < 0 && errno != EAGAIN)
                    vd_log(d, VDM_LOG_WARN, "timerfd read: %s",
                           strerror(errno));
                armed = 0; /* expired: arm again even for the same time */
                break;
            }
            default: break;
            }
            dev_poll(d);
        }
        if (d->conn_fd >= 0 && d->npolled > 0)
            poll_rings(d);
    }
    drain(d);
    vd_disconnect(d, NULL);
    if (d->socket != NULL)
        unlink(d->socket);
    d->finished = 1;
    if (write(done_fd, &one, sizeof(one)) < 0)
        vd_log(d, VDM_LOG_DEBUG, "done: %s", strerror(errno));
    return NULL;
}

int main(int argc, char **argv)
{
    struct vd_tag sigtag = {.kind = VD_TAG_SIGNAL};
    struct vd_tag donetag = {.kind = VD_TAG_WAKE};
    struct sigaction sa;
    sigset_t mask;
    unsigned ended = 0;
    int sfd, rc, mainfd;

    rc = vd_parse_args(argc, argv);
    if (rc >= 0)
        return rc;
    {
        const char *e = getenv("VDM_VHOST_USER_DRAIN_MS");
        unsigned long long ms;
        if (e != NULL && vd_uint(e, 1, 3600000, &ms) == 0)
            drain_wait_ms = (unsigned)ms;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL); /* every thread inherits it */
    mainfd = epoll_create1(EPOLL_CLOEXEC);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    done_fd = eventfd(0, EFD_CLOEXEC);
    if (mainfd < 0 || sfd < 0 || done_fd < 0) {
        perror("vdm-vhost-user: epoll, signalfd or eventfd");
        return 1;
    }

    for (unsigned i = 0; i < ndevices; i++) {
        epfd = devices[i]->epfd;
        if (listen_on(devices[i]) < 0)
            return 1;
    }
    for (unsigned i = 0; i < ndevices; i++)
        if (devices[i]->socket != NULL)
            printf("vdm-vhost-user: listening on %s\n", devices[i]->socket);
        else
            printf("vdm-vhost-user: %s fd %d\n",
                   devices[i]->listen_fd >= 0 ? "listening on" : "serving",
                   devices[i]->handed_fd);
    fflush(stdout);

    for (unsigned i = 0; i < ndevices; i++) {
        rc = pthread_create(&devices[i]->thread, NULL, dev_thread, devices[i]);
        if (rc != 0) {
            fprintf(stderr, "vdm-vhost-user: pthread_create: %s\n",
                    strerror(rc));
            return 1;
        }
    }
    epfd = mainfd;
    vd_epoll_add(sfd, &sigtag);
    vd_epoll_add(done_fd, &donetag);
    while (ended < ndevices) {
        struct epoll_event ev[2];
        int n = epoll_wait(mainfd, ev, 2, -1);
        uint64_t v;

        if (n < 0 && errno != EINTR) {
            perror("vdm-vhost-user: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct vd_tag *t = ev[i].data.ptr;
            if (t->kind == VD_TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) < 0)
                    perror("vdm-vhost-user: signalfd read");
                __atomic_store_n(&quit, 1, __ATOMIC_RELEASE);
                for (unsigned k = 0; k < ndevices; k++) {
                    v = 1;
                    if (write(devices[k]->wake_fd, &v, sizeof(v)) < 0)
                        perror("vdm-vhost-user: wake");
                }
            } else if (read(done_fd, &v, sizeof(v)) == sizeof(v)) {
                ended += (unsigned)v; /* a device thread ended */
            }
        }
    }
    for (unsigned i = 0; i < ndevices; i++)
        pthread_join(devices[i]->thread, NULL);
    return 0;
}
