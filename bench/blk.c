/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-blk: a vhost-user front-end of our own that loads a vhost-user-blk
 * back-end with random block requests and measures it.
 *
 *   bench-blk [--secs S] [--rounds R] [--qd D] [--bs B] [--count N]
 *             DAEMON [DAEMON...]
 *   bench-blk --connect SOCK [--secs S] [--qd D] [--bs B] [--queues Q]
 *             [--rw read|write|mix] [--disk-mb M] [--poll-us U]
 *
 * First form (A/B of daemon binaries): per round, each daemon in turn (the
 * order rotates every round): start it with one blk device backed by a
 * file in /dev/shm (page cache only, so the daemon's own work is what is
 * measured, not a disk), connect as the front-end (memfd guest memory, one
 * split ring of 256 descriptors, eventfd kick and call), keep D read
 * requests of B bytes in flight (header, data, status: 3 descriptors) for S
 * seconds, and read the daemon's user and system CPU time from /proc
 * before and after. Prints per round and daemon requests/s and daemon CPU
 * microseconds per request, then the medians and, against the first
 * daemon, the median of the per-round ratios (IOPS ratio: higher is
 * faster; CPU ratio: lower is cheaper).
 *
 * --count N: instead, exactly N requests per daemon, one round, no timing
 * (for instruction counts: run the daemon under valgrind through a wrapper
 * script, at two values of N, and divide the difference; scripts/bench
 * --blk-insns does that).
 *
 * Second form (--connect, what bench/blk runs against vdm-vhost-user and
 * qemu-storage-daemon alike): connect to a back-end already listening on
 * SOCK (retrying for 10 s), negotiate VIRTIO_BLK_F_MQ when Q > 1, and drive
 * each of the Q queues from a thread of its own with D requests in flight
 * (random B-byte reads, writes, or an even random mix, over the first M
 * MiB), 0.3 s of warm-up then S seconds. Prints one line:
 *   iops=N lat_med_us=N lat_p99_us=N requests=N
 * (latency: from publishing a request to seeing it used). Every completion
 * is checked (its id, status byte OK). Hosted Linux benchmark code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdm/vhost_user.h"

#define NUM      256u
#define MEM_SIZE (8u << 20)
#define DESC     0x1000u
#define AVAIL    (DESC + 16u * NUM)
#define USED     (AVAIL + 0x1000u)
#define BUFS     0x10000u
#define DISK_MB  64u
#define MAXD     8

static void die(const char *what)
{
    fprintf(stderr, "bench-blk: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the daemon -------------------------------------------------------- */

struct daemon {
    pid_t pid;
    char sock[100];
};

static char dir[48], disk[96];

static void start(struct daemon *dm, const char *path, int idx)
{
    char dev[200], line[512];
    int out[2], seen = 0;
    FILE *f;

    snprintf(dm->sock, sizeof(dm->sock), "%s/blk%d.sock", dir, idx);
    unlink(dm->sock);
    snprintf(dev, sizeof(dev), "blk,file=%s,num-queues=1", disk);
    if (pipe(out) != 0)
        die("pipe");
    dm->pid = fork();
    if (dm->pid < 0)
        die("fork");
    if (dm->pid == 0) {
        const char *argv[] = {path,       "--socket", dm->sock,
                              "--device", dev,        NULL};

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (!seen && fgets(line, sizeof(line), f) != NULL)
        seen = strncmp(line, "vdm-vhost-user: listening on ", 29) == 0;
    fclose(f);
    if (!seen) {
        fprintf(stderr, "bench-blk: %s did not start\n", path);
        exit(1);
    }
}

static void stop(struct daemon *dm)
{
    int st;

    kill(dm->pid, SIGTERM);
    waitpid(dm->pid, &st, 0);
}

/* utime + stime of the daemon, in clock ticks */
static uint64_t cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL)
        die("/proc/PID/stat");
    fclose(f);
    p = strrchr(buf, ')');
    /* fields after the name: state(3) ... utime(14) stime(15) */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        die("parse /proc/PID/stat");
    return (uint64_t)ut + st;
}

/* ---- the front-end ----------------------------------------------------- */

/* Guest memory: one 1 MiB span per queue: descriptors, avail and used
 * rings, then data buffers (each a multiple of 4 KiB apart, like a guest's
 * page cache), then request headers and status bytes. */
#define QSPAN  0x100000u
#define MAXQ   (MEM_SIZE / QSPAN)
#define HDRS   0xc0000u
#define LATMAX (1u << 22)

struct fe;

struct ring {
    struct fe *f;
    unsigned q;
    uint8_t *base;
    int kick, call;
    uint16_t avail_idx, used_seen;
    uint64_t rnd;
    uint64_t t_sub[NUM]; /* publish time per slot */
    uint32_t *lat;       /* ns, when measuring */
    uint64_t nlat;
    int measure;
    unsigned qd;
    uint64_t done;
};

struct fe {
    int sock, memfd;
    uint8_t *mem;
    unsigned nq;
    struct ring r[MAXQ];
};

static int sendfds(int s, const void *buf, size_t len, const int *fds, int n)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {(void *)buf, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    if (n > 0) {
        struct cmsghdr *c;

        mh.msg_control = ctrl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), fds, sizeof(int));
    }
    return (int)sendmsg(s, &mh, MSG_NOSIGNAL);
}

/* One message; with @p reply, wait for its u64 answer (REPLY_ACK or the
 * value asked for). */
static uint64_t msg(struct fe *f, uint32_t req, const void *p, uint32_t len,
                    int fd, int reply, int need_ack)
{
    uint8_t buf[512], h[12];
    uint32_t flags =
        VDM_VHOST_USER_VERSION | (need_ack ? VDM_VHOST_USER_F_NEED_REPLY : 0);
    uint64_t v = 0;
    uint32_t size;

    memcpy(buf, &req, 4);
    memcpy(buf + 4, &flags, 4);
    memcpy(buf + 8, &len, 4);
    if (len > 0)
        memcpy(buf + 12, p, len);
    if (sendfds(f->sock, buf, 12 + len, &fd, fd >= 0) != (int)(12 + len))
        die("sendmsg");
    if (!reply && !need_ack)
        return 0;
    if (recv(f->sock, h, 12, MSG_WAITALL) != 12)
        die("recv");
    memcpy(&size, h + 8, 4);
    if (size != 8 || recv(f->sock, &v, 8, MSG_WAITALL) != 8)
        die("reply");
    return v;
}

/* Connect (retrying for 10 s while the back-end starts) and set up @p nq
 * queues of NUM entries. */
static void fe_open(struct fe *f, const char *sock, unsigned nq)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint64_t feat, proto, a[5], p[4];
    uint32_t st[2];
    uint8_t mt[8 + 32] = {1};
    int tries = 0;

    memset(f, 0, sizeof(*f));
    f->nq = nq;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    for (;;) {
        f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (f->sock < 0)
            die("socket");
        if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        close(f->sock);
        if (++tries > 1000)
            die("connect");
        usleep(10000);
    }
    f->memfd = memfd_create("guest", MFD_CLOEXEC);
    if (f->memfd < 0 || ftruncate(f->memfd, MEM_SIZE) != 0)
        die("memfd");
    f->mem =
        mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
    if (f->mem == MAP_FAILED)
        die("mmap");
    feat = msg(f, VDM_VHOST_USER_GET_FEATURES, NULL, 0, -1, 1, 0);
    if (!(feat & VDM_VHOST_USER_F_PROTOCOL_FEATURES)) {
        fprintf(stderr, "bench-blk: no protocol features\n");
        exit(1);
    }
    if (nq > 1 && !(feat & (1ull << 12))) {
        fprintf(stderr, "bench-blk: no VIRTIO_BLK_F_MQ\n");
        exit(1);
    }
    proto = msg(f, VDM_VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, -1, 1, 0);
    proto &= 1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK;
    msg(f, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, &proto, 8, -1, 0, 0);
    msg(f, VDM_VHOST_USER_SET_OWNER, NULL, 0, -1, 0, 0);
    feat = (1ull << 32) | VDM_VHOST_USER_F_PROTOCOL_FEATURES |
           (nq > 1 ? 1ull << 12 : 0);
    msg(f, VDM_VHOST_USER_SET_FEATURES, &feat, 8, -1, 0, 1);
    p[0] = 0;
    p[1] = MEM_SIZE;
    p[2] = (uint64_t)(uintptr_t)f->mem;
    p[3] = 0;
    memcpy(mt + 8, p, 32);
    msg(f, VDM_VHOST_USER_SET_MEM_TABLE, mt, sizeof(mt), f->memfd, 0, 1);
    for (unsigned q = 0; q < nq; q++) {
        struct ring *r = &f->r[q];
        uint64_t idx = q;

        r->f = f;
        r->q = q;
        r->base = f->mem + (size_t)q * QSPAN;
        r->rnd = 88172645463325252ull + 7919u * q;
        r->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        st[0] = q;
        st[1] = NUM;
        msg(f, VDM_VHOST_USER_SET_VRING_NUM, st, 8, -1, 0, 1);
        st[1] = 0;
        msg(f, VDM_VHOST_USER_SET_VRING_BASE, st, 8, -1, 0, 1);
        memset(a, 0, sizeof(a));
        a[0] = q;
        a[1] = (uint64_t)(uintptr_t)(r->base + DESC);
        a[2] = (uint64_t)(uintptr_t)(r->base + USED);
        a[3] = (uint64_t)(uintptr_t)(r->base + AVAIL);
        msg(f, VDM_VHOST_USER_SET_VRING_ADDR, a, 40, -1, 0, 1);
        msg(f, VDM_VHOST_USER_SET_VRING_KICK, &idx, 8, r->kick, 0, 1);
        msg(f, VDM_VHOST_USER_SET_VRING_CALL, &idx, 8, r->call, 0, 1);
        st[1] = 1;
        msg(f, VDM_VHOST_USER_SET_VRING_ENABLE, st, 8, -1, 0, 1);
    }
}

static void fe_close(struct fe *f)
{
    close(f->sock);
    munmap(f->mem, MEM_SIZE);
    close(f->memfd);
    for (unsigned q = 0; q < f->nq; q++) {
        close(f->r[q].kick);
        close(f->r[q].call);
        free(f->r[q].lat);
    }
}

static void put_desc(struct ring *r, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = r->base + DESC + 16u * i;

    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static uint32_t bs = 4096;
static uint64_t nsect; /* disk sectors */
static int rw_mode;    /* 0 read, 1 write, 2 an even random mix */
static unsigned gen_poll_us; /* --poll-us: look at the used ring this long
                              * before sleeping on the call eventfd */

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* (Re)queue request slot @p s (descriptors 3s..3s+2) at a random sector. */
static void submit(struct ring *r, uint16_t s)
{
    uint16_t h = (uint16_t)(3u * s);
    uint64_t gbase = (uint64_t)(uintptr_t)(r->base - r->f->mem);
    uint64_t data = gbase + BUFS + (uint64_t)s * ((bs + 4095u) & ~4095u);
    uint64_t hdr = gbase + HDRS + (uint64_t)s * 64u, sector;
    uint32_t type = rw_mode == 0   ? 0
                    : rw_mode == 1 ? 1
                                   : (uint32_t)(xorshift(&r->rnd) >> 63);
    uint8_t *hp = r->f->mem + hdr;

    sector = (xorshift(&r->rnd) % (nsect / (bs / 512u))) * (bs / 512u);
    memcpy(hp, &type, 4);
    memset(hp + 4, 0, 4);
    memcpy(hp + 8, &sector, 8);
    hp[16] = 0xff;
    put_desc(r, h, hdr, 16, 1, (uint16_t)(h + 1));
    put_desc(r, (uint16_t)(h + 1), data, bs, (uint16_t)(type ? 1 : 2 | 1),
             (uint16_t)(h + 2));
    put_desc(r, (uint16_t)(h + 2), hdr + 16, 1, 2, 0);
    memcpy(r->base + AVAIL + 4 + 2u * (r->avail_idx % NUM), &h, 2);
    r->avail_idx++;
}

static void publish_kick(struct ring *r)
{
    uint64_t one = 1;

    __atomic_store_n((uint16_t *)(void *)(r->base + AVAIL + 2), r->avail_idx,
                     __ATOMIC_RELEASE);
    if (write(r->kick, &one, 8) != 8)
        die("kick");
}

/* Keep @p qd requests in flight until @p deadline_ns or @p count requests
 * completed (0: no limit); returns completions. */
static uint64_t drive(struct ring *r, unsigned qd, uint64_t deadline_ns,
                      uint64_t count)
{
    uint64_t done = 0, issued = 0, t = now_ns();

    for (unsigned s = 0; s < qd && (count == 0 || issued < count); s++) {
        submit(r, (uint16_t)s);
        r->t_sub[s] = t;
        issued++;
    }
    publish_kick(r);
    for (;;) {
        struct pollfd p = {.fd = r->call, .events = POLLIN};
        uint16_t used = __atomic_load_n(
            (uint16_t *)(void *)(r->base + USED + 2), __ATOMIC_ACQUIRE);
        int again = 0;

        if (used == r->used_seen && gen_poll_us != 0) {
            uint64_t until = now_ns() + (uint64_t)gen_poll_us * 1000u;
            do {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                used = __atomic_load_n(
                    (uint16_t *)(void *)(r->base + USED + 2), __ATOMIC_ACQUIRE);
            } while (used == r->used_seen && now_ns() < until);
        }
        if (used == r->used_seen) {
            uint64_t v;

            if (poll(&p, 1, 5000) != 1) {
                fprintf(stderr, "bench-blk: back-end stalled\n");
                exit(1);
            }
            if (read(r->call, &v, 8) < 0 && errno != EAGAIN)
                die("call");
            continue;
        }
        t = now_ns();
        while (r->used_seen != used) {
            uint32_t id;
            uint8_t *e = r->base + USED + 4 + 8u * (r->used_seen % NUM);
            uint16_t s;

            memcpy(&id, e, 4);
            s = (uint16_t)(id / 3u);
            if (id % 3u != 0 || s >= qd ||
                r->base[HDRS + (uint64_t)s * 64u + 16] != 0) {
                fprintf(stderr, "bench-blk: bad completion (id %u)\n", id);
                exit(1);
            }
            if (r->measure && r->nlat < LATMAX)
                r->lat[r->nlat++] =
                    (uint32_t)(t - r->t_sub[s] < UINT32_MAX ? t - r->t_sub[s]
                                                            : UINT32_MAX);
            r->used_seen++;
            done++;
            if ((count == 0 && t < deadline_ns) ||
                (count != 0 && issued < count)) {
                submit(r, s);
                r->t_sub[s] = t;
                issued++;
                again = 1;
            }
        }
        if (again)
            publish_kick(r);
        if (done == issued && !again)
            return done;
    }
}

/* ---- main -------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* --connect: one queue's thread. */
struct qarg {
    struct ring *r;
    double secs;
    pthread_barrier_t *start;
};

static void *queue_thread(void *arg)
{
    struct qarg *a = arg;
    struct ring *r = a->r;

    pthread_barrier_wait(a->start);
    drive(r, r->qd, now_ns() + 300000000ull, 0); /* warm up */
    pthread_barrier_wait(a->start);
    r->measure = 1;
    r->done = drive(r, r->qd, now_ns() + (uint64_t)(a->secs * 1e9), 0);
    return NULL;
}

static int run_connect(const char *sock, unsigned nq, unsigned qd, double secs,
                       unsigned disk_mb)
{
    static struct fe f;
    struct qarg qa[MAXQ];
    pthread_t th[MAXQ];
    pthread_barrier_t start;
    uint64_t t0, t1, n = 0, nl = 0;
    uint32_t *all;

    nsect = (uint64_t)disk_mb << 11;
    fe_open(&f, sock, nq);
    pthread_barrier_init(&start, NULL, nq + 1);
    for (unsigned q = 0; q < nq; q++) {
        f.r[q].qd = qd;
        f.r[q].lat = malloc(LATMAX * sizeof(uint32_t));
        if (f.r[q].lat == NULL)
            die("malloc");
        qa[q] = (struct qarg){&f.r[q], secs, &start};
        if (pthread_create(&th[q], NULL, queue_thread, &qa[q]) != 0)
            die("pthread_create");
    }
    pthread_barrier_wait(&start); /* warm-up begins */
    pthread_barrier_wait(&start); /* measuring begins */
    t0 = now_ns();
    for (unsigned q = 0; q < nq; q++)
        pthread_join(th[q], NULL);
    t1 = now_ns();
    for (unsigned q = 0; q < nq; q++) {
        n += f.r[q].done;
        nl += f.r[q].nlat;
    }
    all = malloc((nl + 1) * sizeof(*all));
    if (all == NULL)
        die("malloc");
    nl = 0;
    for (unsigned q = 0; q < nq; q++) {
        memcpy(all + nl, f.r[q].lat, f.r[q].nlat * sizeof(*all));
        nl += f.r[q].nlat;
    }
    qsort(all, nl, sizeof(*all), cmp_u32);
    printf("iops=%.0f lat_med_us=%.1f lat_p99_us=%.1f requests=%llu\n",
           (double)n * 1e9 / (double)(t1 - t0), nl ? all[nl / 2] / 1000.0 : 0.0,
           nl ? all[nl * 99 / 100] / 1000.0 : 0.0, (unsigned long long)n);
    free(all);
    fe_close(&f);
    return 0;
}

int main(int argc, char **argv)
{
    static double iops[MAXD][64], cpu[MAXD][64], ri[MAXD][64], rc[MAXD][64];
    double secs = 2;
    int rounds = 5, nd = 0, a;
    unsigned qd = 32;
    unsigned long count = 0;
    const char *paths[MAXD], *sock = NULL;
    long hz = sysconf(_SC_CLK_TCK);
    unsigned nq = 1, disk_mb = DISK_MB;
    int fd;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--secs") == 0 && a + 1 < argc)
            secs = atof(argv[++a]);
        else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
            rounds = atoi(argv[++a]);
        else if (strcmp(argv[a], "--qd") == 0 && a + 1 < argc)
            qd = (unsigned)atoi(argv[++a]);
        else if (strcmp(argv[a], "--bs") == 0 && a + 1 < argc)
            bs = (uint32_t)atoi(argv[++a]);
        else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc)
            count = strtoul(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--connect") == 0 && a + 1 < argc)
            sock = argv[++a];
        else if (strcmp(argv[a], "--queues") == 0 && a + 1 < argc)
            nq = (unsigned)atoi(argv[++a]);
        else if (strcmp(argv[a], "--poll-us") == 0 && a + 1 < argc)
            gen_poll_us = (unsigned)atoi(argv[++a]);
        else if (strcmp(argv[a], "--disk-mb") == 0 && a + 1 < argc)
            disk_mb = (unsigned)atoi(argv[++a]);
        else if (strcmp(argv[a], "--rw") == 0 && a + 1 < argc) {
            a++;
            rw_mode = strcmp(argv[a], "read") == 0    ? 0
                      : strcmp(argv[a], "write") == 0 ? 1
                      : strcmp(argv[a], "mix") == 0   ? 2
                                                      : -1;
        } else if (argv[a][0] != '-' && nd < MAXD)
            paths[nd++] = argv[a];
        else
            break;
    }
    if (a < argc || (nd == 0) == (sock == NULL) || rounds < 1 || rounds > 64 ||
        qd < 1 || qd > NUM / 3 || bs < 512 || bs % 512 != 0 ||
        (uint64_t)qd * ((bs + 4095u) & ~4095u) > HDRS - BUFS || secs <= 0 ||
        nq < 1 || nq > MAXQ || rw_mode < 0 || disk_mb < 1) {
        fprintf(stderr,
                "usage: bench-blk [--secs S] [--rounds R] [--qd D] "
                "[--bs B] [--count N] DAEMON [DAEMON...]\n"
                "       bench-blk --connect SOCK [--secs S] [--qd D] [--bs B] "
                "[--queues Q] [--rw read|write|mix] [--disk-mb M] "
                "[--poll-us U]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (sock != NULL)
        return run_connect(sock, nq, qd, secs, disk_mb);
    snprintf(dir, sizeof(dir), "/dev/shm/bench-blk.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(disk, sizeof(disk), "%s/disk.img", dir);
    fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)DISK_MB << 20) != 0)
        die("disk");
    {
        static uint8_t blk[1 << 20];

        memset(blk, 0x5a, sizeof(blk));
        for (unsigned i = 0; i < DISK_MB; i++)
            if (write(fd, blk, sizeof(blk)) != (ssize_t)sizeof(blk))
                die("disk write");
    }
    close(fd);
    nsect = (uint64_t)DISK_MB << 11;

    if (count != 0)
        rounds = 1;
    else
        printf("bench-blk: %u-byte random reads, %u in flight, %.1f s per "
               "daemon per round, %d rounds (order rotating)\n\n",
               bs, qd, secs, rounds);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < nd; k++) {
            int i = (k + r) % nd;
            struct daemon dm;
            static struct fe f;
            uint64_t t0, t1, c0, c1, n;

            start(&dm, paths[i], i);
            fe_open(&f, dm.sock, 1);
            if (count != 0) {
                n = drive(&f.r[0], qd, 0, count);
                printf("daemon %d: %llu requests\n", i, (unsigned long long)n);
            } else {
                drive(&f.r[0], qd, now_ns() + 200000000ull, 0); /* warm up */
                c0 = cpu_ticks(dm.pid);
                t0 = now_ns();
                n = drive(&f.r[0], qd, t0 + (uint64_t)(secs * 1e9), 0);
                t1 = now_ns();
                c1 = cpu_ticks(dm.pid);
                iops[i][r] = (double)n * 1e9 / (double)(t1 - t0);
                cpu[i][r] = (double)(c1 - c0) * 1e6 / (double)hz / (double)n;
                printf("round %d daemon %d: %9.0f req/s %7.2f us CPU/req\n", r,
                       i, iops[i][r], cpu[i][r]);
                fflush(stdout);
            }
            fe_close(&f);
            stop(&dm);
        }
        for (int i = 0; i < nd && count == 0; i++) {
            ri[i][r] = iops[i][r] / iops[0][r];
            rc[i][r] = cpu[i][r] / cpu[0][r];
        }
    }
    if (count == 0) {
        printf("\n%-3s %-40s %11s %9s %10s %9s\n", "", "daemon", "median r/s",
               "us/req", "r/s vs 0", "CPU vs 0");
        for (int i = 0; i < nd; i++) {
            double lo = iops[i][0], hi = iops[i][0];

            for (int r = 1; r < rounds; r++) {
                lo = iops[i][r] < lo ? iops[i][r] : lo;
                hi = iops[i][r] > hi ? iops[i][r] : hi;
            }
            printf(
                "%-3d %-40.40s %11.0f %9.2f %10.3f %9.3f  (r/s %.0f..%.0f)\n",
                i, paths[i], median(iops[i], rounds), median(cpu[i], rounds),
                median(ri[i], rounds), median(rc[i], rounds), lo, hi);
        }
    }
    unlink(disk);
    rmdir(dir);
    return 0;
}
