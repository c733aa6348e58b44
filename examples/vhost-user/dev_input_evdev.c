/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: evdev passthrough of the input device
 * (`input,evdev=PATH[,grab=on|off]`, vdm-vhost-user-input --evdev-path=PATH
 * [--no-grab]).
 *
 * Configuration: what the driver selects (VIRTIO 1.4 "Input Device",
 * "Device configuration layout") is answered from the host device, queried
 * once when the daemon starts: ID_NAME (EVIOCGNAME), ID_SERIAL
 * (EVIOCGUNIQ; none: size 0), ID_DEVIDS (EVIOCGID), PROP_BITS (EVIOCGPROP),
 * EV_BITS of every event type the device has (EVIOCGBIT; EV_REP, which
 * has no EVIOCGBIT, as REP_DELAY and REP_PERIOD), ABS_INFO of every axis
 * (EVIOCGABS). Bitmaps end at their last set byte (a type or property map
 * with no bit set answers size 0). EV_FF, EV_PWR and EV_FF_STATUS are not
 * offered: the statusq carries no force-feedback uploads.
 *
 * Events: every struct input_event read is forwarded as is (type, code,
 * value) while the driver's eventq runs. The library holds what the driver
 * has no buffers for in its ring (dev_input.c: INPUT_RING events); when
 * the ring is full it drops the unfinished update as a whole and queues
 * SYN_DROPPED + SYN_REPORT once there is room (include/vdm/devices/
 * input.h): counted, and logged here at most once a second. Events read
 * while the eventq does not run (no front-end, driver not ready) are
 * discarded (counted); when the eventq runs again in the middle of an
 * update, forwarding starts with the next one (after its SYN_REPORT), so a
 * driver never sees the tail of a frame. A SYN_DROPPED of
 * the host kernel (its buffer for us overflowed) is passed on as
 * SYN_DROPPED + SYN_REPORT, and the events up to and including the next
 * SYN_REPORT are discarded, as the evdev interface asks of a reader.
 *
 * Status: EV_LED, EV_SND and EV_REP events of the driver are written to
 * the evdev, each followed by SYN_REPORT (so that other readers see the
 * change); others are ignored: a guest must not type on the host.
 *
 * Removal: a read that fails with ENODEV (the device was unplugged) is
 * logged; the fd is closed and no longer watched, and the device keeps
 * serving its configuration and the statusq (status events then go
 * nowhere). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dev_input.h"

#define BITS_MAX VDM_INPUT_CFG_DATA_MAX /* bytes of one bitmap */
#define READ_EVS 64                     /* events per read() */
#define READS    16                     /* reads per readable fd */

struct vd_evdev {
    int fd;
    int grabbed;
    char path[256];
    char name[VDM_INPUT_CFG_DATA_MAX + 1];
    char serial[VDM_INPUT_CFG_DATA_MAX + 1];
    uint8_t prop[BITS_MAX];
    uint8_t bits[VDM_INPUT_EV_MAX + 1][BITS_MAX];
    struct vdm_input_bits ev[VDM_INPUT_EV_MAX + 1];
    struct vdm_input_absinfo abs[VDM_INPUT_ABS_MAX + 1];
    int skip;              /* discard up to and including a SYN_REPORT */
    uint64_t not_running;  /* events discarded: the eventq did not run */
    uint64_t host_dropped; /* SYN_DROPPED seen from the host kernel */
    uint64_t logged_drops; /* vdm_input_dropped() at the last log */
    uint64_t logged_host;  /* host_dropped at the last log */
    uint64_t log_ms;       /* time of that log */
    uint32_t warned;       /* status event types already logged, bit */
    int ro;                /* opened read-only: no status write-back */
};

/* Bytes of @p b up to its last non-zero one (0: none set). */
static uint32_t used_len(const uint8_t *b, uint32_t n)
{
    while (n > 0 && b[n - 1] == 0)
        n--;
    return n;
}

static int test_bit(const uint8_t *b, unsigned n)
{
    return (b[n / 8] >> (n % 8)) & 1;
}

/* EVIOCGNAME / EVIOCGUNIQ into @p s (NUL-terminated, "" when none). */
static void get_string(int fd, unsigned long req, char *s)
{
    memset(s, 0, VDM_INPUT_CFG_DATA_MAX + 1);
    if (ioctl(fd, req, s) < 0)
        s[0] = '\0';
    s[VDM_INPUT_CFG_DATA_MAX] = '\0';
}

static int query(struct vdev *d, struct vd_evdev *e, struct vdm_input_config *c)
{
    uint8_t types[(VDM_INPUT_EV_MAX + 8) / 8];
    struct input_id id;
    uint32_t nev = 0, nabs = 0, n;

    get_string(e->fd, EVIOCGNAME(VDM_INPUT_CFG_DATA_MAX), e->name);
    get_string(e->fd, EVIOCGUNIQ(VDM_INPUT_CFG_DATA_MAX), e->serial);
    if (ioctl(e->fd, EVIOCGID, &id) < 0) {
        vd_log(d, VDM_LOG_ERROR, "evdev %s: EVIOCGID: %s", e->path,
               strerror(errno));
        return -1;
    }
    c->name = e->name[0] != '\0' ? e->name : NULL;
    c->serial = e->serial[0] != '\0' ? e->serial : NULL;
    c->ids.bustype = id.bustype;
    c->ids.vendor = id.vendor;
    c->ids.product = id.product;
    c->ids.version = id.version;
    memset(e->prop, 0, sizeof(e->prop));
    if (ioctl(e->fd, EVIOCGPROP(sizeof(e->prop)), e->prop) < 0)
        memset(e->prop, 0, sizeof(e->prop)); /* kernels before 2.6.38 */
    n = used_len(e->prop, sizeof(e->prop));
    c->prop_bits = n > 0 ? e->prop : NULL;
    c->prop_len = n;

    memset(types, 0, sizeof(types));
    if (ioctl(e->fd, EVIOCGBIT(0, sizeof(types)), types) < 0) {
        vd_log(d, VDM_LOG_ERROR, "evdev %s: EVIOCGBIT: %s", e->path,
               strerror(errno));
        return -1;
    }
    for (unsigned t = 1; t <= VDM_INPUT_EV_MAX; t++) {
        uint8_t *b = e->bits[t];
        if (!test_bit(types, t))
            continue;
        memset(b, 0, BITS_MAX);
        if (t == EV_REP) {
            b[0] = (1u << REP_DELAY) | (1u << REP_PERIOD);
        } else if (t == EV_FF || t == EV_PWR || t == EV_FF_STATUS ||
                   ioctl(e->fd, EVIOCGBIT(t, BITS_MAX), b) < 0) {
            vd_log(d, VDM_LOG_INFO, "evdev %s: event type %u not offered",
                   e->path, t);
            continue;
        }
        n = used_len(b, BITS_MAX);
        if (n == 0)
            continue;
        e->ev[nev].type = (uint8_t)t;
        e->ev[nev].len = n;
        e->ev[nev].bitmap = b;
        nev++;
    }
    for (unsigned a = 0; test_bit(types, EV_ABS) && a <= VDM_INPUT_ABS_MAX;
         a++) {
        struct input_absinfo ai;
        if (!test_bit(e->bits[EV_ABS], a))
            continue;
        if (ioctl(e->fd, EVIOCGABS(a), &ai) < 0) {
            vd_log(d, VDM_LOG_ERROR, "evdev %s: EVIOCGABS(%u): %s", e->path, a,
                   strerror(errno));
            return -1;
        }
        memset(&e->abs[nabs], 0, sizeof(e->abs[nabs]));
        e->abs[nabs].axis = (uint8_t)a;
        e->abs[nabs].min = ai.minimum;
        e->abs[nabs].max = ai.maximum;
        e->abs[nabs].fuzz = ai.fuzz;
        e->abs[nabs].flat = ai.flat;
        e->abs[nabs].res = ai.resolution;
        nabs++;
    }
    c->ev = e->ev;
    c->nev = nev;
    c->abs = e->abs;
    c->nabs = nabs;
    vd_log(d, VDM_LOG_INFO,
           "evdev %s: \"%s\" bus 0x%x vendor 0x%x product 0x%x version "
           "0x%x, %u event types, %u axes%s",
           e->path, e->name, id.bustype, id.vendor, id.product, id.version, nev,
           nabs, e->grabbed ? ", grabbed" : "");
    return 0;
}

int vd_evdev_open(struct vdev *d, const char *path, int grab,
                  struct vdm_input_config *c, struct vd_evdev **out)
{
    struct vd_evdev *e = calloc(1, sizeof(*e));
    int version;

    *out = NULL;
    if (e == NULL)
        return -1;
    snprintf(e->path, sizeof(e->path), "%s", path);
    e->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (e->fd < 0 && (errno == EACCES || errno == EROFS)) {
        e->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        e->ro = 1;
    }
    if (e->fd < 0) {
        vd_log(d, VDM_LOG_ERROR, "evdev %s: %s", path, strerror(errno));
        free(e);
        return -1;
    }
    if (ioctl(e->fd, EVIOCGVERSION, &version) < 0) {
        vd_log(d, VDM_LOG_ERROR, "evdev %s: not an evdev device (%s)", path,
               strerror(errno));
        goto fail;
    }
    if (grab) {
        if (ioctl(e->fd, EVIOCGRAB, 1) < 0) {
            vd_log(d, VDM_LOG_ERROR, "evdev %s: cannot grab it (%s)%s", path,
                   strerror(errno),
                   errno == EBUSY ? ": another reader has; grab=off shares"
                                  : "");
            goto fail;
        }
        e->grabbed = 1;
    }
    if (query(d, e, c) < 0)
        goto fail;
    if (e->ro)
        vd_log(d, VDM_LOG_WARN,
               "evdev %s: opened read-only: status events (LEDs) are not "
               "written to it",
               path);
    *out = e; /* a new reader's stream starts with a whole update */
    return 0;
fail:
    close(e->fd);
    free(e);
    return -1;
}

int vd_evdev_fd(const struct vd_evdev *e)
{
    return e->fd;
}

static void gone(struct vdev *d, struct vd_evdev *e, int err)
{
    vd_log(d, VDM_LOG_WARN,
           "evdev %s: %s: no more events from it; the device keeps serving",
           e->path, err == ENODEV ? "the device is gone" : strerror(err));
    vd_watch_aux(d, -1);
    close(e->fd);
    e->fd = -1;
}

/* Forward @p n events read to @p in, honouring e->skip. */
static void forward(struct vdev *d, struct vd_evdev *e, struct vdm_input *in,
                    const struct input_event *ev, size_t n)
{
    struct vdm_input_event out[READ_EVS + 2];
    uint32_t k = 0;
    int running = vd_queue_ready(d, VDM_INPUT_QUEUE_EVENT);

    for (size_t i = 0; i < n; i++) {
        int report = ev[i].type == EV_SYN && ev[i].code == SYN_REPORT;
        if (ev[i].type == EV_SYN && ev[i].code == SYN_DROPPED) {
            e->host_dropped++;
            if (running && !e->skip) {
                out[k++] = (struct vdm_input_event){EV_SYN, SYN_DROPPED, 0};
                out[k++] = (struct vdm_input_event){EV_SYN, SYN_REPORT, 0};
            }
            e->skip = 1;
            continue;
        }
        if (!running) {
            /* A driver that comes later starts with the next update. */
            e->not_running++;
            e->skip = !report;
            continue;
        }
        if (e->skip) {
            if (report)
                e->skip = 0;
            continue;
        }
        out[k].type = ev[i].type;
        out[k].code = ev[i].code;
        out[k].value = (uint32_t)ev[i].value;
        k++;
    }
    if (k > 0)
        (void)vdm_input_send_many(in, out, k);
}

void vd_evdev_read(struct vdev *d, struct vd_evdev *e, struct vdm_input *in)
{
    struct input_event ev[READ_EVS];
    uint64_t dropped, now;

    for (unsigned r = 0; r < READS && e->fd >= 0; r++) {
        ssize_t got = read(e->fd, ev, sizeof(ev));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                gone(d, e, errno);
            break;
        }
        if (got == 0) {
            gone(d, e, ENODEV);
            break;
        }
        forward(d, e, in, ev, (size_t)got / sizeof(ev[0]));
        if ((size_t)got < sizeof(ev))
            break;
    }
    dropped = vdm_input_dropped(in);
    now = vd_now_ms();
    if ((dropped != e->logged_drops || e->host_dropped != e->logged_host) &&
        now - e->log_ms >= 1000) {
        if (dropped != e->logged_drops)
            vd_log(d, VDM_LOG_WARN,
                   "evdev %s: %llu events dropped since the last report "
                   "(ring full, the driver adds no buffers: whole updates "
                   "dropped, SYN_DROPPED queued)",
                   e->path, (unsigned long long)(dropped - e->logged_drops));
        if (e->host_dropped != e->logged_host)
            vd_log(d, VDM_LOG_WARN,
                   "evdev %s: the host kernel dropped events for us %llu "
                   "times since the last report (SYN_DROPPED passed on, the "
                   "rest of each update discarded)",
                   e->path,
                   (unsigned long long)(e->host_dropped - e->logged_host));
        e->logged_drops = dropped;
        e->logged_host = e->host_dropped;
        e->log_ms = now;
    }
}

void vd_evdev_status(struct vdev *d, struct vd_evdev *e, uint16_t type,
                     uint16_t code, uint32_t value)
{
    struct input_event w[2];

    if (type != EV_LED && type != EV_SND && type != EV_REP) {
        if (type < 32 && !(e->warned & (1u << type))) {
            e->warned |= 1u << type;
            vd_log(d, VDM_LOG_WARN,
                   "evdev %s: status event of type %u ignored (only LED, "
                   "sound and repeat go to the host device)",
                   e->path, type);
        }
        return;
    }
    if (e->fd < 0 || e->ro)
        return;
    memset(w, 0, sizeof(w));
    w[0].type = type;
    w[0].code = code;
    w[0].value = (int32_t)value;
    w[1].type = EV_SYN;
    w[1].code = SYN_REPORT;
    if (write(e->fd, w, sizeof(w)) != (ssize_t)sizeof(w))
        vd_log(d, VDM_LOG_WARN, "evdev %s: status event not written: %s",
               e->path, strerror(errno));
}
