/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user balloon: the guest's inflated and reported pages are given
 * back to the host by punching holes in the guest memory files the daemon
 * mapped (madvise(MADV_REMOVE) on the shared mapping: the kernel turns it
 * into fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) on the memfd
 * at the file offset the mapping covers, so every process mapping the file,
 * the front-end included, sees zeros and the file's blocks are freed).
 * The target comes from target-mib=N and, at run time, from target-file=PATH
 * re-read on SIGUSR1; stats are asked for every stats-ms and on SIGUSR1,
 * logged and written to stats-file=PATH. Linux host code, not part of the
 * library. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/balloon.h"

#define BAL_QSIZE 256

struct balloon {
    struct vdm_balloon b;
    const char *target_file;
    const char *stats_file;
    unsigned stats_ms;
    uint64_t next_stats; /* vd_now_ms() of the next stats request */
    int sfd;             /* signalfd for SIGUSR1, or -1 */
    uint64_t released;   /* bytes given back since start */
    uint64_t rss_logged; /* RSS at the last log line */
};

static struct vdev *bal_vdev(void *host)
{
    return host;
}

/* Resident set size of this process, in bytes (0 if unknown). */
static uint64_t rss_bytes(void)
{
    unsigned long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Give [hva, hva + len) back to the host: a hole in the backing file. */
static int discard(struct vdev *d, void *hva, uint64_t len)
{
    struct balloon *s = d->priv;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)hva, e = a + (uintptr_t)len;

    /* Whole host pages only (a host page larger than 4 KiB). */
    a = (a + (uintptr_t)pg - 1u) & ~((uintptr_t)pg - 1u);
    e &= ~((uintptr_t)pg - 1u);
    if (e <= a)
        return 0;
    if (madvise((void *)a, e - a, MADV_REMOVE) < 0) {
        vd_log(d, VDM_LOG_WARN, "madvise(MADV_REMOVE): %s", strerror(errno));
        return VDM_EIO;
    }
    s->released += e - a;
    return 0;
}

static int bal_release(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    struct vdev *d = bal_vdev(host);
    vd_log(d, VDM_LOG_DEBUG, "inflate %#llx+%#llx", (unsigned long long)gpa,
           (unsigned long long)len);
    return discard(d, hva, len);
}

static int bal_acquire(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    /* A punched hole fills with zeros again on the guest's first touch. */
    (void)hva;
    vd_log(bal_vdev(host), VDM_LOG_DEBUG, "deflate %#llx+%#llx",
           (unsigned long long)gpa, (unsigned long long)len);
    return 0;
}

static void bal_report(void *host, uint64_t gpa, void *hva, uint64_t len,
                       uint32_t flags)
{
    struct vdev *d = bal_vdev(host);
    vd_log(d, VDM_LOG_DEBUG, "free page report %#llx+%#llx%s",
           (unsigned long long)gpa, (unsigned long long)len,
           (flags & VDM_BALLOON_REPORT_KEEP) ? " (kept: poisoned)" : "");
    if ((flags & VDM_BALLOON_REPORT_KEEP) == 0)
        (void)discard(d, hva, len);
}

static const char *const stat_names[VDM_BALLOON_S_NR] = {
    "swap-in", "swap-out",  "major-faults", "minor-faults",  "free",
    "total",   "available", "caches",       "hugetlb-alloc", "hugetlb-fail"};

static void bal_stats(void *host, uint32_t valid, const uint64_t *val)
{
    struct vdev *d = bal_vdev(host);
    struct balloon *s = d->priv;
    char line[512];
    size_t n = 0;

    for (unsigned t = 0; t < VDM_BALLOON_S_NR; t++)
        if ((valid & (1u << t)) != 0 && n < sizeof(line))
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu",
                                  stat_names[t], (unsigned long long)val[t]);
    line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
    vd_log(d, VDM_LOG_INFO, "stats:%s", line);
    if (s->stats_file != NULL) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", s->stats_file);
        f = fopen(tmp, "we");
        if (f != NULL) {
            for (unsigned t = 0; t < VDM_BALLOON_S_NR; t++)
                if ((valid & (1u << t)) != 0)
                    fprintf(f, "%s %llu\n", stat_names[t],
                            (unsigned long long)val[t]);
            fclose(f);
            (void)rename(tmp, s->stats_file);
        }
    }
}

static void bal_actual(void *host, uint32_t pages)
{
    struct vdev *d = bal_vdev(host);
    struct balloon *s = d->priv;
    uint64_t rss = rss_bytes();

    vd_log(d, VDM_LOG_INFO,
           "actual %u pages (%llu MiB), target %u; released %llu MiB so far; "
           "RSS %llu -> %llu MiB",
           pages, (unsigned long long)pages / 256u, vdm_balloon_target(&s->b),
           (unsigned long long)(s->released >> 20),
           (unsigned long long)(s->rss_logged >> 20),
           (unsigned long long)(rss >> 20));
    s->rss_logged = rss;
}

static const struct vdm_balloon_ops bal_ops = {
    .size = sizeof(struct vdm_balloon_ops),
    .release = bal_release,
    .acquire = bal_acquire,
    .stats = bal_stats,
    .report = bal_report,
    .actual = bal_actual,
};

static void set_target_mib(struct vdev *d, unsigned long long mib)
{
    struct balloon *s = d->priv;
    uint64_t pages = mib * 256u;
    if (pages > UINT32_MAX)
        pages = UINT32_MAX;
    vd_log(d, VDM_LOG_INFO, "target %llu MiB (%llu pages)", mib,
           (unsigned long long)pages);
    (void)vdm_balloon_set_target(&s->b, (uint32_t)pages);
}

/* SIGUSR1: read the target file (a number of MiB), ask for fresh stats. */
static void bal_aux(struct vdev *d)
{
    struct balloon *s = d->priv;
    struct signalfd_siginfo si;
    unsigned long long mib;

    while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ;
    if (s->target_file != NULL) {
        FILE *f = fopen(s->target_file, "re");
        char buf[64];
        if (f == NULL) {
            vd_log(d, VDM_LOG_WARN, "target file %s: %s", s->target_file,
                   strerror(errno));
        } else {
            if (fgets(buf, sizeof(buf), f) != NULL) {
                buf[strcspn(buf, " \t\r\n")] = '\0';
                if (vd_uint(buf, 0, 1ull << 32, &mib) == 0)
                    set_target_mib(d, mib);
                else
                    vd_log(d, VDM_LOG_WARN, "target file %s: not a number",
                           s->target_file);
            }
            fclose(f);
        }
    }
    (void)vdm_balloon_stats_request(&s->b);
}

static int bal_poll(struct vdev *d)
{
    struct balloon *s = d->priv;
    uint64_t now = vd_now_ms();

    if (s->stats_ms == 0)
        return -1;
    if (now >= s->next_stats) {
        (void)vdm_balloon_stats_request(&s->b);
        s->next_stats = now + s->stats_ms;
    }
    return (int)(s->next_stats - now);
}

static int onoff(struct vdev *d, struct vd_opts *o, const char *key, int def)
{
    const char *v = vd_opt(o, key);
    int b;
    if (v == NULL)
        return def;
    b = vd_bool(v);
    if (b < 0)
        vd_log(d, VDM_LOG_ERROR, "%s=%s: on or off", key, v);
    return b;
}

static int bal_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_balloon_config c = VDM_INIT(struct vdm_balloon_config);
    struct balloon *s = calloc(1, sizeof(*s));
    const char *v;
    unsigned long long x;
    int stats, report, oom, tell;
    sigset_t mask;
    int rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->sfd = -1;
    s->target_file = vd_opt(o, "target-file");
    s->stats_file = vd_opt(o, "stats-file");
    s->stats_ms = 5000;
    if ((v = vd_opt(o, "target-mib")) != NULL) {
        if (vd_uint(v, 0, 1ull << 32, &x) < 0) {
            vd_log(d, VDM_LOG_ERROR, "target-mib=%s: a number of MiB", v);
            return -1;
        }
        c.num_pages = x * 256u > UINT32_MAX ? UINT32_MAX : (uint32_t)(x * 256u);
    }
    if ((v = vd_opt(o, "stats-ms")) != NULL) {
        if (vd_uint(v, 0, 3600000, &x) < 0) {
            vd_log(d, VDM_LOG_ERROR, "stats-ms=%s: 0..3600000", v);
            return -1;
        }
        s->stats_ms = (unsigned)x;
    }
    stats = onoff(d, o, "stats", 1);
    report = onoff(d, o, "reporting", 1);
    oom = onoff(d, o, "deflate-on-oom", 1);
    tell = onoff(d, o, "must-tell-host", 0);
    if (stats < 0 || report < 0 || oom < 0 || tell < 0)
        return -1;
    c.features = VDM_BALLOON_F_PAGE_POISON |
                 (stats ? VDM_BALLOON_F_STATS_VQ : 0) |
                 (report ? VDM_BALLOON_F_REPORTING : 0) |
                 (oom ? VDM_BALLOON_F_DEFLATE_ON_OOM : 0) |
                 (tell ? VDM_BALLOON_F_MUST_TELL_HOST : 0);
    if (vd_alloc_queues(d, (uint16_t)(2 + stats + report), BAL_QSIZE) < 0)
        return -1;
    c.ops = &bal_ops;
    c.host = d;
    rc = vdm_balloon_init(&s->b, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "balloon init: %s", vdm_strerror(rc));
        return -1;
    }
    /* SIGUSR1 through a signalfd of our own: re-read the target file. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sfd < 0) {
        vd_log(d, VDM_LOG_ERROR, "signalfd: %s", strerror(errno));
        return -1;
    }
    vd_watch_aux(d, s->sfd);
    s->rss_logged = rss_bytes();
    s->next_stats = vd_now_ms() + s->stats_ms;
    return 0;
}

/* docs/drain.md: the stats buffer the device keeps between two requests
 * ("Memory Statistics": the device gives it back to ask for fresh
 * statistics, the driver fills it and adds it again) is taken from the
 * statsq and not used: 1 when queue @p q (UINT16_MAX: any) is that queue
 * and holds it. */
static unsigned bal_pending(struct vdev *d, uint16_t q)
{
    struct balloon *s = d->priv;
    uint16_t sq = vdm_balloon_queue_index(&s->b, VDM_BALLOON_Q_STATS);
    struct vdm_vq *vq;

    if (sq == UINT16_MAX || (q != UINT16_MAX && q != sq))
        return 0;
    vq = vdm_dev_queue(&d->dev, sq);
    return vq != NULL ? vdm_vq_in_flight(vq) : 0;
}

/* The front-end takes the statsq back (or every ring): kept, the buffer
 * would be lost to the driver (the ring's base counts it taken, nobody
 * would use it), so the device asks for statistics now, which gives it
 * back; the driver adds it again, to whoever serves the ring next. */
static void bal_finish(struct vdev *d, uint16_t q)
{
    struct balloon *s = d->priv;

    if (bal_pending(d, q) != 0)
        (void)vdm_balloon_stats_request(&s->b);
}

const struct vd_type vd_type_balloon = {
    .name = "balloon",
    .create = bal_create,
    .poll = bal_poll,
    .aux = bal_aux,
    .pending = bal_pending,
    .finish = bal_finish,
};
