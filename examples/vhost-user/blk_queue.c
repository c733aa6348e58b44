/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user blk: one thread per request queue, the library's
 * per-queue rule (vdm/devices/blk.h "Threads"): the thread of queue q
 * watches q's kick eventfd and its I/O engine's completions and is the only
 * caller of vdm_blk_process(blk, q) and of vdm_blk_complete() for q's
 * requests. Everything else (vhost-user messages, resets, a kick on a ring
 * that is not running yet) is the device thread's, which first pauses
 * every queue thread (blkq_pause): each one serves the kicks it was given,
 * completes what it has at the engine and parks until blkq_resume. So
 * GET_VRING_BASE, SET_MEM_TABLE and the reset never see a request at the
 * host. With poll-us=N a queue thread that found work keeps looking at
 * its ring for up to N microseconds before sleeping on the kick eventfd;
 * the window halves each time it finds nothing (adaptive), down to N/16.
 * A queue is given a thread when the front-end gives it a kick source;
 * queues without one (vfio-user) are served by the device thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dev_blk.h"

#define EV_WAKE   1u
#define EV_KICK   2u
#define EV_ENGINE 3u
#define POLL_MS   5 /* a ring without kick fd (VDM_VHOST_USER_FD_POLL) */

static __thread struct blk_q *self;

struct blk_q *blkq_self(void)
{
    return self;
}

/* The queue thread touched guest memory that went away: stop serving the
 * queue and have the device thread drop the front-end (the reset that
 * follows clears it, blkq_disconnected). */
static void q_fault(struct blk_q *q)
{
    if (q->dead)
        return;
    q->dead = 1;
    vd_request_disconnect(q->d,
                          "guest memory fault (SIGBUS: memory file shrank?)");
}

/* Run @p stmt with SIGBUS turned into q_fault(). */
#define QGUARD(q, stmt)                                                        \
    do {                                                                       \
        sigjmp_buf jb_;                                                        \
        if (sigsetjmp(jb_, 1) == 0) {                                          \
            vd_fault_jmp = &jb_;                                               \
            stmt;                                                              \
            vd_fault_jmp = NULL;                                               \
        } else {                                                               \
            vd_fault_jmp = NULL;                                               \
            q_fault(q);                                                        \
        }                                                                      \
    } while (0)

void blkq_complete(struct blk_q *q, void *token, int status)
{
    volatile int done = 0;
    if (!q->dead)
        QGUARD(q, vdm_blk_complete(&q->b->blk, token, status); done = 1);
    if (!done && q->orphan_n < (int32_t)q->b->qsize)
        q->orphan[q->orphan_n++] = token; /* completed after the reset */
}

static void wake(struct blk_q *q)
{
    uint64_t one = 1;
    if (write(q->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(q->d, VDM_LOG_DEBUG, "wake: %s", strerror(errno));
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Serve the ring: the library pops, checks and hands requests to the
 * engine (blk_aio_rw); a ring not running yet is the device thread's. */
static void q_run(struct blk_q *q)
{
    if (q->dead)
        return;
    if (!vd_queue_ready(q->d, q->idx)) {
        vd_forward_kick(q->d, q->idx);
        return;
    }
    QGUARD(q, vdm_blk_process(&q->b->blk, q->idx));
    blk_aio_submit(q);
    if (q->in_flight > 0)
        blk_aio_reap(q, 0); /* page cache hits complete at submission */
}

/* Whether ring @p vq has requests (a fault: no). Its own function: a
 * sigsetjmp in q_poll would put its locals at risk of longjmp. */
static int has_avail(struct blk_q *q, struct vdm_vq *vq)
{
    volatile int avail = 0;
    QGUARD(q, avail = vdm_vq_has_avail(vq) > 0);
    return avail && !q->dead;
}

/* Busy-poll the ring and the engine for up to the current window. */
static void q_poll(struct blk_q *q)
{
    struct vdm_vq *vq;
    uint64_t end;
    int found = 0;

    if (q->dead || q->poll_us == 0 || !vd_queue_ready(q->d, q->idx))
        return;
    vq = vdm_dev_queue(&q->d->dev, q->idx);
    if (vq == NULL)
        return;
    end = now_us() + q->poll_us;
    /* Until the window ends, or the device thread wants the library. */
    while (now_us() < end &&
           !__atomic_load_n(&q->pause_req, __ATOMIC_ACQUIRE)) {
        int avail = has_avail(q, vq);
        if (q->dead)
            return;
        vd_defer_signals();
        if (avail) {
            q_run(q);
            found = 1;
            end = now_us() + q->poll_us;
        }
        if (q->in_flight > 0 && blk_aio_reap(q, 0) > 0) {
            found = 1;
            end = now_us() + q->poll_us;
        }
        vd_flush_signals(q->d);
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    if (found)
        q->poll_us = q->b->poll_us;
    else if (q->poll_us > q->b->poll_us / 16u && q->poll_us > 1)
        q->poll_us /= 2u;
}

/* One round: sleep until a kick, a completion or a wake-up, then serve. */
static void q_work(struct blk_q *q)
{
    struct epoll_event ev[4];
    int timeout = q->kick_fd == VDM_VHOST_USER_FD_POLL ? POLL_MS : -1;
    int n = epoll_wait(q->epfd, ev, 4, timeout), run = n == 0, reap = 0;
    uint64_t v;

    for (int i = 0; i < n; i++) {
        switch (ev[i].data.u32) {
        case EV_KICK:
            if (q->kick_fd >= 0 && read(q->kick_fd, &v, sizeof(v)) < 0 &&
                errno != EAGAIN)
                vd_log(q->d, VDM_LOG_DEBUG, "kick: %s", strerror(errno));
            run = 1;
            break;
        case EV_WAKE:
            if (read(q->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                vd_log(q->d, VDM_LOG_DEBUG, "wake: %s", strerror(errno));
            break;
        case EV_ENGINE: reap = 1; break;
        default: break;
        }
    }
    vd_defer_signals();
    if (reap)
        blk_aio_reap(q, 0);
    if (__atomic_exchange_n(&q->pending, 0, __ATOMIC_ACQ_REL))
        run = 1;
    if (run)
        q_run(q);
    vd_flush_signals(q->d);
    if (run || reap)
        q_poll(q);
}

static void *q_thread(void *arg)
{
    struct blk_q *q = arg;

    self = q;
    if (blk_aio_start(q) == 0 && q->engine_fd >= 0) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = EV_ENGINE};
        epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->engine_fd, &e);
    }
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->pause_req || q->quit) {
            /* Catch up with the kicks given, then complete everything at
             * the engine: the device thread is about to change the ring
             * or the memory under it. */
            unsigned gen;
            int quit = q->quit;
            pthread_mutex_unlock(&q->mu);
            if (!quit && __atomic_exchange_n(&q->pending, 0, __ATOMIC_ACQ_REL))
                q_run(q);
            while (q->in_flight > 0)
                blk_aio_reap(q, 1);
            pthread_mutex_lock(&q->mu);
            if (q->quit)
                break;
            /* Parked until the next resume (a new generation), even if a
             * new pause comes before this thread sees the resume: it then
             * catches up again before answering that pause. */
            gen = q->gen;
            q->paused = 1;
            pthread_cond_broadcast(&q->cv);
            while (q->gen == gen && !q->quit)
                pthread_cond_wait(&q->cv, &q->mu);
            q->paused = 0;
            continue;
        }
        pthread_mutex_unlock(&q->mu);
        q_work(q);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    blk_aio_stop(q);
    return NULL;
}

int blkq_init(struct blk *b)
{
    b->q = calloc(b->nq, sizeof(*b->q));
    if (b->q == NULL)
        return -1;
    for (unsigned i = 0; i < b->nq; i++) {
        struct blk_q *q = &b->q[i];
        q->b = b;
        q->d = b->d;
        q->idx = (uint16_t)i;
        q->epfd = q->wake_fd = q->engine_fd = -1;
        q->kick_fd = VDM_VHOST_USER_NO_FD;
        q->poll_us = b->poll_us;
    }
    return 0;
}

/* Give queue @p q its thread (device thread, device paused). */
static int q_start(struct blk_q *q)
{
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = EV_WAKE};
    int rc;

    q->orphan = calloc(q->b->qsize, sizeof(*q->orphan));
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->orphan == NULL || q->epfd < 0 || q->wake_fd < 0 ||
        epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->wake_fd, &e) < 0) {
        vd_log(q->d, VDM_LOG_ERROR, "queue %u: %s", q->idx, strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->pause_req = q->b->pause_depth > 0;
    rc = pthread_create(&q->th, NULL, q_thread, q);
    if (rc != 0) {
        vd_log(q->d, VDM_LOG_ERROR, "queue %u: thread: %s", q->idx,
               strerror(rc));
        goto fail;
    }
    q->started = 1;
    return 0;
fail:
    if (q->epfd >= 0)
        close(q->epfd);
    if (q->wake_fd >= 0)
        close(q->wake_fd);
    q->epfd = q->wake_fd = -1;
    free(q->orphan);
    q->orphan = NULL;
    return -1;
}

int blkq_watch_kick(struct vdev *d, uint16_t qi, int32_t fd)
{
    struct blk *b = d->priv;
    struct blk_q *q;

    if (d->vfio || qi >= b->nq)
        return 0;
    q = &b->q[qi];
    if (!q->started && fd == VDM_VHOST_USER_NO_FD)
        return 0; /* nothing to watch and nobody watching */
    if (!q->started && q_start(q) < 0)
        return 0; /* the device thread serves it */
    if (q->kick_fd >= 0)
        epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->kick_fd, NULL);
    q->kick_fd = fd;
    if (fd >= 0) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = EV_KICK};
        if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
            vd_log(d, VDM_LOG_ERROR, "queue %u: watch kick: %s", qi,
                   strerror(errno));
    }
    wake(q); /* a new timeout when it polls */
    return 1;
}

void blkq_kick(void *host, uint16_t qi)
{
    struct vdev *d = host;
    struct blk *b = d->priv;
    struct blk_q *q;

    if (qi >= b->nq)
        return;
    q = &b->q[qi];
    __atomic_store_n(&q->pending, 1, __ATOMIC_RELEASE);
    if (q->started) {
        if (q != self)
            wake(q);
    } else {
        __atomic_store_n(&b->need_poll, 1, __ATOMIC_RELEASE);
    }
}

int blkq_poll(struct vdev *d)
{
    struct blk *b = d->priv;

    if (!__atomic_exchange_n(&b->need_poll, 0, __ATOMIC_ACQ_REL))
        return -1;
    for (unsigned i = 0; i < b->nq; i++)
        if (!b->q[i].started &&
            __atomic_exchange_n(&b->q[i].pending, 0, __ATOMIC_ACQ_REL))
            vdm_blk_process(&b->blk, (uint16_t)i);
    return -1;
}

void blkq_pause(struct vdev *d)
{
    struct blk *b = d->priv;

    if (b->pause_depth++ > 0)
        return;
    for (unsigned i = 0; i < b->nq; i++) {
        struct blk_q *q = &b->q[i];
        if (!q->started)
            continue;
        pthread_mutex_lock(&q->mu);
        __atomic_store_n(&q->pause_req, 1, __ATOMIC_RELEASE);
        q->paused = 0; /* answered once it has caught up */
        pthread_mutex_unlock(&q->mu);
        wake(q);
    }
    for (unsigned i = 0; i < b->nq; i++) {
        struct blk_q *q = &b->q[i];
        if (!q->started)
            continue;
        pthread_mutex_lock(&q->mu);
        while (!q->paused)
            pthread_cond_wait(&q->cv, &q->mu);
        pthread_mutex_unlock(&q->mu);
    }
}

void blkq_resume(struct vdev *d)
{
    struct blk *b = d->priv;

    if (b->pause_depth == 0 || --b->pause_depth > 0)
        return;
    for (unsigned i = 0; i < b->nq; i++) {
        struct blk_q *q = &b->q[i];
        if (!q->started)
            continue;
        pthread_mutex_lock(&q->mu);
        __atomic_store_n(&q->pause_req, 0, __ATOMIC_RELEASE);
        q->gen++;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
}

void blkq_disconnected(struct vdev *d)
{
    struct blk *b = d->priv;

    /* Paused, after the reset (every kick fd closed): the queue threads
     * end with the connection; what a fault left uncompleted is stale now
     * (the library drops it without touching guest memory). */
    for (unsigned i = 0; i < b->nq; i++) {
        struct blk_q *q = &b->q[i];
        if (!q->started)
            continue;
        pthread_mutex_lock(&q->mu);
        q->quit = 1;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        wake(q);
        pthread_join(q->th, NULL);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        for (int32_t k = 0; k < q->orphan_n; k++)
            vdm_blk_complete(&b->blk, q->orphan[k], VDM_BLK_S_IOERR);
        close(q->epfd);
        close(q->wake_fd);
        free(q->orphan);
        q->orphan = NULL;
        q->orphan_n = 0;
        q->epfd = q->wake_fd = -1;
        q->kick_fd = VDM_VHOST_USER_NO_FD;
        q->started = q->quit = q->dead = q->paused = q->pause_req = 0;
        q->pending = 0;
        q->poll_us = b->poll_us;
    }
}
