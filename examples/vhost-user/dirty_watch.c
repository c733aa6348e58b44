/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: dirty logging for live migration as the daemon sees it
 * (vhost-user "Migration", "Dirty pages logging"). The library owns the
 * log (SET_LOG_BASE maps it, VHOST_F_LOG_ALL switches it on, the device
 * kit marks the pages of every buffer it completes); this file only says
 * so in the daemon's log, at info level (-v): when the log comes on, and
 * when it goes off or the front-end goes, how many requests the device
 * took while it was on. tests/e2e/migrate.sh checks those lines. */
#define _GNU_SOURCE
#include <inttypes.h>

#include "daemon.h"

int vd_dirty_logging(const struct vdev *d)
{
    /* The log changes only while the device thread holds the library
     * (queue threads paused, vd_pause), so a queue thread reads it safely. */
    return d->base.mem != NULL && d->base.mem->log != NULL;
}

void vd_dirty_count(struct vdev *d, int read, uint64_t bytes)
{
    __atomic_add_fetch(&d->dirty_reqs, 1, __ATOMIC_RELAXED);
    if (read) {
        __atomic_add_fetch(&d->dirty_reads, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&d->dirty_bytes, bytes, __ATOMIC_RELAXED);
    }
}

static void report(struct vdev *d, const char *why)
{
    vd_log(d, VDM_LOG_INFO,
           "dirty logging: %" PRIu64 " requests taken while on (%" PRIu64
           " reads, %" PRIu64 " bytes into guest memory), %s",
           __atomic_load_n(&d->dirty_reqs, __ATOMIC_RELAXED),
           __atomic_load_n(&d->dirty_reads, __ATOMIC_RELAXED),
           __atomic_load_n(&d->dirty_bytes, __ATOMIC_RELAXED), why);
}

void vd_dirty_watch(struct vdev *d)
{
    int on = vd_dirty_logging(d);

    if (on && !d->dirty_on) {
        const struct vdm_dirty_log *l = d->base.mem->log;

        __atomic_store_n(&d->dirty_reqs, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&d->dirty_reads, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&d->dirty_bytes, 0, __ATOMIC_RELAXED);
        vd_log(d, VDM_LOG_INFO,
               "dirty logging on (VHOST_F_LOG_ALL, the log of SET_LOG_BASE): "
               "%" PRIu64 " bytes, %u-byte pages",
               l->bytes, 1u << l->page_shift);
    } else if (!on && d->dirty_on) {
        report(d, "now off");
    }
    d->dirty_on = on;
}

void vd_dirty_end(struct vdev *d)
{
    if (d->dirty_on)
        report(d, "front-end gone");
    d->dirty_on = 0;
}
