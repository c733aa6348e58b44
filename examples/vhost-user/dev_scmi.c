/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the SCMI device, serving the SCMI platform module
 * (vdm/devices/scmi_platform.h) with a small demo SoC:
 *
 *   clocks   0 "cpu"   discrete 200/400/800/1200 MHz, starts at 800 MHz
 *            1 "uart"  range 1..100 MHz in 1 kHz steps, starts at 48 MHz
 *   power    0 "gpu"   starts off
 *            1 "dsp"   starts on
 *   sensors  0 "soc_temp"   temperature, millidegrees Celsius (type 2, scale
 * -3) 1 "board_temp" temperature, millidegrees Celsius (type 2, scale -3) 2
 * "vcore"      voltage, millivolts (type 5, scale -3) resets   0 "gpu_rst", 1
 * "usb_rst"
 *
 * Options (after --device scmi):
 *   sensors=FILE   the sensor values: integers in sensor order (soc_temp
 *                  board_temp vcore), separated by blanks or new lines,
 *                  '#' starts a comment; fewer values leave the others
 *                  at their defaults (45000 38000 900). Re-read on every
 *                  SENSOR_READING_GET and every poll-ms; a changed value
 *                  is reported to the platform (SENSOR_UPDATE and trip
 *                  point notifications to a subscribed guest).
 *   poll-ms=N      how often FILE is checked for changes (default 200,
 *                  1..60000).
 *   p2a=on|off     offer VIRTIO_SCMI_F_P2A_CHANNELS (default on; the
 *                  platform has notifications, so the spec wants it on).
 *
 * Notifications the eventq has no buffer for wait in the platform's queue
 * (VDM_SCMI_NOTIFY_QUEUE deep, oldest dropped beyond) and go out when the
 * driver posts buffers. Without P2A negotiated the daemon answers the
 * notification subscriptions itself with NOT_SUPPORTED and reports them
 * as not implemented in PROTOCOL_MESSAGE_ATTRIBUTES (spec "cmdq
 * Operation"), since the platform module cannot be told. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "vdm/devices/scmi.h"
#include "vdm/devices/scmi_platform.h"

/* QEMU's virtio-mmio transport (-device vhost-user-scmi on -M virt) reports
 * QueueNumMax 1024 for every queue and Linux's virtio-mmio driver takes the
 * maximum, so the front-end asks SET_VRING_NUM 1024: refusing it leaves
 * the guest's SCMI stack without a device (tests/e2e/scmi.sh). */
#define SCMI_QSIZE 1024
#define NSENSORS   3u

static const uint64_t cpu_rates[] = {200000000ull, 400000000ull, 800000000ull,
                                     1200000000ull};

static const struct vdm_scmi_clock soc_clocks[] = {
    {.name = "cpu",
     .rates = cpu_rates,
     .nrates = 4,
     .flags = VDM_SCMI_CLOCK_F_ENABLED,
     .init_rate = 800000000ull},
    {.name = "uart",
     .min = 1000000ull,
     .max = 100000000ull,
     .step = 1000ull,
     .flags = VDM_SCMI_CLOCK_F_ENABLED,
     .init_rate = 48000000ull},
};

static const struct vdm_scmi_power_domain soc_power[] = {
    {.name = "gpu", .init_state = VDM_SCMI_POWER_OFF},
    {.name = "dsp", .init_state = VDM_SCMI_POWER_ON},
};

static const struct vdm_scmi_sensor soc_sensors[NSENSORS] = {
    {.name = "soc_temp",
     .type = 2,
     .scale = -3,
     .ntrips = 2,
     .flags = VDM_SCMI_SENSOR_F_UPDATE_NOTIFY},
    {.name = "board_temp",
     .type = 2,
     .scale = -3,
     .flags = VDM_SCMI_SENSOR_F_UPDATE_NOTIFY},
    {.name = "vcore",
     .type = 5,
     .scale = -3,
     .flags = VDM_SCMI_SENSOR_F_UPDATE_NOTIFY},
};

static const struct vdm_scmi_reset_domain soc_resets[] = {
    {.name = "gpu_rst"},
    {.name = "usb_rst"},
};

static const int64_t sensor_default[NSENSORS] = {45000, 38000, 900};

#define STATE_BYTES VDM_SCMI_PLATFORM_STATE_BYTES(2, 2, NSENSORS)

struct scmi_dev {
    struct vdm_scmi scmi;
    struct vdm_scmi_platform pl;
    uint64_t state[(STATE_BYTES + 7u) / 8u];
    const char *file;               /* sensors=FILE or NULL */
    unsigned poll_ms;               /* FILE check period */
    uint64_t next_ms;               /* next FILE check */
    int64_t value[NSENSORS];        /* current values (FILE or defaults) */
    int64_t reported[NSENSORS];     /* last values given to sensor_update */
    uint8_t held[VDM_SCMI_MSG_MAX]; /* a notification no buffer took yet */
    uint32_t held_len;
    uint64_t sent, dropped; /* notifications */
};

/* ------------------------------------------------------------------------ */
/* Sensor values from FILE                                                  */

static void read_values(struct vdev *d)
{
    struct scmi_dev *s = d->priv;
    char buf[4096];
    size_t n;
    unsigned i = 0;
    FILE *f;

    if (s->file == NULL)
        return;
    f = fopen(s->file, "re");
    if (f == NULL) {
        vd_log(d, VDM_LOG_WARN, "sensors %s: %s", s->file, strerror(errno));
        return;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    for (char *p = buf; *p != 0 && i < NSENSORS;) {
        char *end;
        long long v;
        if (*p == '#') {
            while (*p != 0 && *p != '\n')
                p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        errno = 0;
        v = strtoll(p, &end, 0);
        if (end == p || errno != 0) {
            vd_log(d, VDM_LOG_WARN, "sensors %s: bad value at '%.16s'", s->file,
                   p);
            return;
        }
        s->value[i++] = v;
        p = end;
    }
}

/* ------------------------------------------------------------------------ */
/* Notifications (eventq)                                                   */

/* Send what the platform has queued while the driver has buffers. */
static void flush_notifications(struct vdev *d)
{
    struct scmi_dev *s = d->priv;

    for (;;) {
        int rc;
        if (s->held_len == 0) {
            uint32_t len = 0;
            if (vdm_scmi_platform_next_notification(&s->pl, s->held,
                                                    sizeof(s->held), &len) != 1)
                return;
            s->held_len = len;
        }
        rc = vdm_scmi_send_p2a(&s->scmi, s->held, s->held_len);
        if (rc == VDM_EAGAIN)
            return; /* kept until eventq_ready */
        if (rc == 0) {
            s->sent++;
        } else {
            s->dropped++; /* P2A not negotiated or device not live */
            vd_log(d, VDM_LOG_INFO, "notification dropped: %s",
                   vdm_strerror(rc));
        }
        s->held_len = 0;
    }
}

/* Report changed values to the platform (notifications follow). */
static void report_changes(struct vdev *d)
{
    struct scmi_dev *s = d->priv;
    int queued = 0;

    for (unsigned i = 0; i < NSENSORS; i++) {
        if (s->value[i] == s->reported[i])
            continue;
        s->reported[i] = s->value[i];
        if (vdm_scmi_platform_sensor_update(&s->pl, i, s->value[i]) > 0)
            queued = 1;
    }
    if (queued)
        flush_notifications(d);
}

/* ------------------------------------------------------------------------ */
/* Platform hooks                                                           */

static int pl_sensor_read(void *host, uint32_t id, int64_t *value)
{
    struct vdev *d = host;
    struct scmi_dev *s = d->priv;

    if (id >= NSENSORS)
        return VDM_ERANGE;
    read_values(d);
    *value = s->value[id];
    return 0;
}

static const struct vdm_scmi_platform_ops pl_ops = {
    .size = sizeof(struct vdm_scmi_platform_ops),
    .sensor_read = pl_sensor_read,
};

/* ------------------------------------------------------------------------ */
/* Device hooks                                                             */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int scmi_command(void *host, const struct vdm_scmi_cmd *cmd,
                        uint8_t *resp, uint32_t *resp_len, void *token)
{
    struct vdev *d = host;
    struct scmi_dev *s = d->priv;
    int rc;

    (void)token;
    /* Without P2A the platform answers as if no notification existed
     * (virtio "SCMI Device / cmdq Operation" device requirements). */
    vdm_scmi_platform_set_p2a(&s->pl, cmd->p2a);
    rc = vdm_scmi_platform_handle(&s->pl, cmd->msg, cmd->len, resp,
                                  cmd->resp_max, resp_len);
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG,
               "cmd proto 0x%02x msg %u len %u -> %d, %u bytes status %d",
               (rd32(cmd->msg) >> 10) & 0xffu, rd32(cmd->msg) & 0xffu, cmd->len,
               rc, *resp_len, *resp_len >= 8 ? (int32_t)rd32(resp + 4) : 0);
    /* values read by this command may have changed: report them (their
     * notifications go out after the answer) */
    report_changes(d);
    return rc < 0 ? rc : 0;
}

static void scmi_eventq_ready(void *host)
{
    flush_notifications(host);
}

static void scmi_reset(void *host)
{
    struct vdev *d = host;
    struct scmi_dev *s = d->priv;

    /* subscriptions and queued notifications belong to the old driver */
    vdm_scmi_platform_reset(&s->pl);
    s->held_len = 0;
}

static const struct vdm_scmi_ops scmi_ops = {
    .size = sizeof(struct vdm_scmi_ops),
    .command = scmi_command,
    .eventq_ready = scmi_eventq_ready,
    .reset = scmi_reset,
};

/* ------------------------------------------------------------------------ */
/* Daemon hooks                                                             */

static int scmi_poll(struct vdev *d)
{
    struct scmi_dev *s = d->priv;
    uint64_t now;

    if (s->file == NULL)
        return -1;
    now = vd_now_ms();
    if (now >= s->next_ms) {
        read_values(d);
        report_changes(d);
        s->next_ms = now + s->poll_ms;
    }
    return (int)(s->next_ms - now);
}

static void scmi_disconnected(struct vdev *d)
{
    scmi_reset(d);
}

static int scmi_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_scmi_platform_config pc =
        VDM_INIT(struct vdm_scmi_platform_config);
    struct vdm_scmi_config c = VDM_INIT(struct vdm_scmi_config);
    const char *v;
    unsigned long long n;
    struct scmi_dev *s = calloc(1, sizeof(*s));
    int p2a = 1, rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->poll_ms = 200;
    memcpy(s->value, sensor_default, sizeof(s->value));
    s->file = vd_opt(o, "sensors");
    if ((v = vd_opt(o, "poll-ms")) != NULL) {
        if (vd_uint(v, 1, 60000, &n) < 0) {
            vd_log(d, VDM_LOG_ERROR, "poll-ms=%s: 1..60000", v);
            return -1;
        }
        s->poll_ms = (unsigned)n;
    }
    if ((v = vd_opt(o, "p2a")) != NULL && (p2a = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "p2a=%s: on or off", v);
        return -1;
    }
    if (s->file != NULL) {
        FILE *f = fopen(s->file, "re");
        if (f == NULL) {
            vd_log(d, VDM_LOG_ERROR, "sensors %s: %s", s->file,
                   strerror(errno));
            return -1;
        }
        fclose(f);
        read_values(d);
    }

    pc.vendor = "vdm";
    pc.sub_vendor = "demo-soc";
    pc.agent_name = "OSPM";
    pc.impl_version = 1;
    pc.npower = 2;
    pc.power = soc_power;
    pc.nclocks = 2;
    pc.clocks = soc_clocks;
    pc.nsensors = NSENSORS;
    pc.sensors = soc_sensors;
    pc.nresets = 2;
    pc.resets = soc_resets;
    pc.state = s->state;
    pc.state_bytes = sizeof(s->state);
    pc.ops = &pl_ops;
    pc.host = d;
    rc = vdm_scmi_platform_init(&s->pl, &pc);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "scmi platform init: %s", vdm_strerror(rc));
        return -1;
    }
    /* the platform's "last value" starts as the file's */
    for (unsigned i = 0; i < NSENSORS; i++) {
        (void)vdm_scmi_platform_sensor_update(&s->pl, i, s->value[i]);
        s->reported[i] = s->value[i];
    }
    vdm_scmi_platform_reset(&s->pl); /* nothing subscribed, nothing queued */

    if (vd_alloc_queues(d, VDM_SCMI_NUM_QUEUES, SCMI_QSIZE) < 0)
        return -1;
    c.ops = &scmi_ops;
    c.host = d;
    c.features = p2a ? VDM_SCMI_F_P2A_CHANNELS : 0;
    rc = vdm_scmi_init(&s->scmi, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "scmi init: %s", vdm_strerror(rc));
        return -1;
    }
    s->next_ms = vd_now_ms() + s->poll_ms;
    return 0;
}

const struct vd_type vd_type_scmi = {
    .name = "scmi",
    .create = scmi_create,
    .disconnected = scmi_disconnected,
    .poll = scmi_poll,
};
