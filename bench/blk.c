/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-blk: block requests per second through vdm-vhost-user, and the
 * daemon's CPU time per request, for one or more daemon binaries measured
 * in the same run (A/B: e.g. a build of an older tree against this one).
 *
 *   bench-blk [--secs S] [--rounds R] [--qd D] [--bs B] [--count N]
 *             DAEMON [DAEMON...]
 *
 * Per round, each daemon in turn (the order rotates every round): start it
 * with one blk device backed by a file in /dev/shm (page cache only, so the
 * daemon's own work is what is measured, not a disk), connect as the
 * front-end (memfd guest memory, one split ring of 256 descriptors, eventfd
 * kick and call), keep D read requests of B bytes in flight (header,
 * data, status: 3 descriptors) for S seconds, and read the daemon's user
 * and system CPU time from /proc before and after. Prints per round and
 * daemon requests/s and daemon CPU microseconds per request, then the
 * medians and, against the first daemon, the median of the per-round
 * ratios (IOPS ratio: higher is faster; CPU ratio: lower is cheaper).
 *
 * --count N: instead, exactly N requests per daemon, one round, no timing
 * (for instruction counts: run the daemon under valgrind through a wrapper
 * script, at two values of N, and divide the difference; scripts/bench
 * --blk-insns does that). Hosted Linux benchmark code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

struct fe {
    int sock, memfd, kick, call;
    uint8_t *mem;
    uint16_t avail_idx, used_seen;
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

static void fe_open(struct fe *f, const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint64_t feat, proto, a[5], p[4];
    uint32_t st[2];
    uint8_t mt[8 + 32] = {1};

    memset(f, 0, sizeof(*f));
    f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (f->sock < 0 || connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)))
        die("connect");
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
    proto = msg(f, VDM_VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, -1, 1, 0);
    proto &= 1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK;
    msg(f, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, &proto, 8, -1, 0, 0);
    msg(f, VDM_VHOST_USER_SET_OWNER, NULL, 0, -1, 0, 0);
    feat = (1ull << 32) | VDM_VHOST_USER_F_PROTOCOL_FEATURES;
    msg(f, VDM_VHOST_USER_SET_FEATURES, &feat, 8, -1, 0, 1);
    p[0] = 0;
    p[1] = MEM_SIZE;
    p[2] = (uint64_t)(uintptr_t)f->mem;
    p[3] = 0;
    memcpy(mt + 8, p, 32);
    msg(f, VDM_VHOST_USER_SET_MEM_TABLE, mt, sizeof(mt), f->memfd, 0, 1);
    f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    st[0] = 0;
    st[1] = NUM;
    msg(f, VDM_VHOST_USER_SET_VRING_NUM, st, 8, -1, 0, 1);
    st[1] = 0;
    msg(f, VDM_VHOST_USER_SET_VRING_BASE, st, 8, -1, 0, 1);
    memset(a, 0, sizeof(a));
    a[1] = (uint64_t)(uintptr_t)(f->mem + DESC);
    a[2] = (uint64_t)(uintptr_t)(f->mem + USED);
    a[3] = (uint64_t)(uintptr_t)(f->mem + AVAIL);
    msg(f, VDM_VHOST_USER_SET_VRING_ADDR, a, 40, -1, 0, 1);
    feat = 0;
    msg(f, VDM_VHOST_USER_SET_VRING_KICK, &feat, 8, f->kick, 0, 1);
    msg(f, VDM_VHOST_USER_SET_VRING_CALL, &feat, 8, f->call, 0, 1);
    st[1] = 1;
    msg(f, VDM_VHOST_USER_SET_VRING_ENABLE, st, 8, -1, 0, 1);
}

static void fe_close(struct fe *f)
{
    close(f->sock);
    munmap(f->mem, MEM_SIZE);
    close(f->memfd);
    close(f->kick);
    close(f->call);
}

static void put_desc(struct fe *f, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = f->mem + DESC + 16u * i;

    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static uint32_t bs = 4096;
static uint64_t nsect; /* disk sectors */
static uint64_t rnd = 88172645463325252ull;

/* (Re)queue request slot @p s (descriptors 3s..3s+2) at a random sector. */
static void submit(struct fe *f, uint16_t s)
{
    uint16_t h = (uint16_t)(3u * s);
    uint64_t buf = BUFS + (uint64_t)s * (bs + 64u), sector;
    uint32_t type = 0; /* VIRTIO_BLK_T_IN */
    uint8_t *hdr = f->mem + buf;

    rnd ^= rnd << 13;
    rnd ^= rnd >> 7;
    rnd ^= rnd << 17;
    sector = (rnd % (nsect / (bs / 512u))) * (bs / 512u);
    memcpy(hdr, &type, 4);
    memset(hdr + 4, 0, 4);
    memcpy(hdr + 8, &sector, 8);
    f->mem[buf + 16] = 0xff;
    put_desc(f, h, buf, 16, 1, (uint16_t)(h + 1));
    put_desc(f, (uint16_t)(h + 1), buf + 64, bs, 2 | 1, (uint16_t)(h + 2));
    put_desc(f, (uint16_t)(h + 2), buf + 16, 1, 2, 0);
    memcpy(f->mem + AVAIL + 4 + 2u * (f->avail_idx % NUM), &h, 2);
    f->avail_idx++;
}

static void publish_kick(struct fe *f)
{
    uint64_t one = 1;

    __atomic_store_n((uint16_t *)(void *)(f->mem + AVAIL + 2), f->avail_idx,
                     __ATOMIC_RELEASE);
    if (write(f->kick, &one, 8) != 8)
        die("kick");
}

/* Keep @p qd requests in flight until @p deadline_ns or @p count requests
 * completed (0: no limit); returns completions. */
static uint64_t drive(struct fe *f, unsigned qd, uint64_t deadline_ns,
                      uint64_t count)
{
    uint64_t done = 0, issued = 0;

    for (unsigned s = 0; s < qd && (count == 0 || issued < count); s++) {
        submit(f, (uint16_t)s);
        issued++;
    }
    publish_kick(f);
    for (;;) {
        struct pollfd p = {.fd = f->call, .events = POLLIN};
        uint16_t used = __atomic_load_n((uint16_t *)(void *)(f->mem + USED + 2),
                                        __ATOMIC_ACQUIRE);
        int again = 0;

        if (used == f->used_seen) {
            uint64_t v;

            if (poll(&p, 1, 1000) != 1) {
                fprintf(stderr, "bench-blk: daemon stalled\n");
                exit(1);
            }
            if (read(f->call, &v, 8) < 0 && errno != EAGAIN)
                die("call");
            continue;
        }
        while (f->used_seen != used) {
            uint32_t id;
            uint8_t *e = f->mem + USED + 4 + 8u * (f->used_seen % NUM);

            memcpy(&id, e, 4);
            if (id % 3u != 0 || id / 3u >= qd ||
                f->mem[BUFS + (uint64_t)(id / 3u) * (bs + 64u) + 16] != 0) {
                fprintf(stderr, "bench-blk: bad completion (id %u)\n", id);
                exit(1);
            }
            f->used_seen++;
            done++;
            if ((count == 0 && now_ns() < deadline_ns) ||
                (count != 0 && issued < count)) {
                submit(f, (uint16_t)(id / 3u));
                issued++;
                again = 1;
            }
        }
        if (again)
            publish_kick(f);
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

int main(int argc, char **argv)
{
    static double iops[MAXD][64], cpu[MAXD][64], ri[MAXD][64], rc[MAXD][64];
    double secs = 2;
    int rounds = 5, nd = 0, a;
    unsigned qd = 32;
    unsigned long count = 0;
    const char *paths[MAXD];
    long hz = sysconf(_SC_CLK_TCK);
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
        else if (argv[a][0] != '-' && nd < MAXD)
            paths[nd++] = argv[a];
        else
            break;
    }
    if (a < argc || nd == 0 || rounds < 1 || rounds > 64 || qd < 1 ||
        qd > NUM / 3 || bs < 512 || bs % 512 != 0 ||
        (uint64_t)(qd) * (bs + 64u) > MEM_SIZE - BUFS || secs <= 0) {
        fprintf(stderr, "usage: bench-blk [--secs S] [--rounds R] [--qd D] "
                        "[--bs B] [--count N] DAEMON [DAEMON...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
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
            struct fe f;
            uint64_t t0, t1, c0, c1, n;

            start(&dm, paths[i], i);
            fe_open(&f, dm.sock);
            if (count != 0) {
                n = drive(&f, qd, 0, count);
                printf("daemon %d: %llu requests\n", i, (unsigned long long)n);
            } else {
                drive(&f, qd, now_ns() + 200000000ull, 0); /* warm up */
                c0 = cpu_ticks(dm.pid);
                t0 = now_ns();
                n = drive(&f, qd, t0 + (uint64_t)(secs * 1e9), 0);
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
