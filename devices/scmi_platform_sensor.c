/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI sensor management protocol, version 3.0 (DEN0056 "Sensor
 * management protocol") for scalar sensors (no axes): paged
 * descriptions without extended attributes, trip points
 * (SENSOR_TRIP_POINT_NOTIFY / _CONFIG, SENSOR_TRIP_POINT_EVENT),
 * synchronous readings (value, timestamp 0), one update interval,
 * sensor configuration (enable), continuous update notifications
 * (SENSOR_UPDATE), extended names. No asynchronous reads, no timestamps.
 */
#include "abi_internal.h"
#include "scmi_platform_priv.h"
#include "vdm/le.h"

#define SENSOR_DESCRIPTION_GET          3u
#define SENSOR_TRIP_POINT_NOTIFY        4u
#define SENSOR_TRIP_POINT_CONFIG        5u
#define SENSOR_READING_GET              6u
#define SENSOR_LIST_UPDATE_INTERVALS    8u
#define SENSOR_CONFIG_GET               9u
#define SENSOR_CONFIG_SET               10u
#define SENSOR_CONTINUOUS_UPDATE_NOTIFY 11u
#define SENSOR_NAME_GET                 12u
/* Notification message ids. */
#define SENSOR_TRIP_POINT_EVENT 0u
#define SENSOR_UPDATE           1u

/* Descriptor without extended attributes: id, attributes_low,
 * attributes_high, name[16]. */
#define DESC_BYTES          28u
#define ATTRL_UPDATE_NOTIFY SCMI_BIT(30)
#define ATTRL_EXT_NAME      SCMI_BIT(29)
/* sensor_config. */
#define CFG_ENABLED       1u
#define CFG_TIMESTAMP     2u
#define CFG_ROUND_SHIFT   9u
#define CFG_EXP_SHIFT     11u
#define CFG_SECS_SHIFT    16u
#define CFG_INTERVAL_MASK 0xfffff800u /* bits 31:11 */
/* SENSOR_TRIP_POINT_CONFIG event control: bits 1:0 when to notify, bits
 * 11:4 trip point id, the rest reserved. */
#define TP_EV_MASK   3u
#define TP_EV_UP     1u
#define TP_EV_DOWN   2u
#define TP_ID_SHIFT  4u
#define TP_CTRL_MASK (TP_EV_MASK | (0xffu << TP_ID_SHIFT))
/* SENSOR_TRIP_POINT_EVENT trip_point_desc: bit 16 set when crossed
 * ascending; bits 7:0 the trip point id. */
#define TP_DESC_UP SCMI_BIT(16)

static uint32_t five_bits(int32_t v)
{
    return (uint32_t)v & 0x1fu;
}

/* The one update interval, in the SENSOR_CONFIG_GET encoding. */
static uint32_t interval_cfg(const struct vdm_scmi_sensor *s)
{
    return (s->update_secs << CFG_SECS_SHIFT) |
           (five_bits(s->update_exp) << CFG_EXP_SHIFT);
}

int scmi_sensor_check(const struct vdm_scmi_sensor *s, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if ((s[i].ntrips > VDM_SCMI_SENSOR_TRIPS_MAX) || (s[i].type > 0xffu) ||
            (s[i].scale < -16) || (s[i].scale > 15) ||
            (s[i].update_exp < -16) || (s[i].update_exp > 15) ||
            (s[i].update_secs > 0xffffu)) {
            return VDM_EINVAL;
        }
    }
    return 0;
}

void scmi_sensor_reset(struct scmi_pl *pl)
{
    uint32_t i;
    struct scmi_sensor_state *st;

    /* Subscriptions, trip points and configuration go back to the
     * tables; the last value the host reported is a fact about the
     * hardware and stays, so the first report after a reset is compared
     * with it (a crossing is not lost or invented by the reset). */
    for (i = 0; i < pl->nsensors; i++) {
        int64_t last;
        uint32_t have;

        st = &pl->sstate[i];
        last = st->last;
        have = st->flags & SCMI_SENS_HAVE_LAST;
        __builtin_memset(st, 0, sizeof(*st));
        st->last = last;
        st->flags = have;
        st->config = interval_cfg(&pl->sensors[i]);
        if ((pl->sensors[i].flags & VDM_SCMI_SENSOR_F_DISABLED) == 0u) {
            st->config |= CFG_ENABLED;
        }
    }
}

static void put_desc(struct scmi_pl *pl, uint8_t *d, uint32_t id)
{
    const struct vdm_scmi_sensor *s = &pl->sensors[id];
    uint32_t lo = (pl->no_p2a != 0u) ? 0u : s->ntrips;

    /* Without a P2A channel no notification is advertised (virtio
     * "SCMI Device / cmdq Operation": the device MUST NOT indicate that any is
     * implemented). */
    if (((s->flags & VDM_SCMI_SENSOR_F_UPDATE_NOTIFY) != 0u) &&
        (pl->no_p2a == 0u)) {
        lo |= ATTRL_UPDATE_NOTIFY;
    }
    if (scmi_name_len(s->name) > VDM_SCMI_SHORT_NAME_MAX) {
        lo |= ATTRL_EXT_NAME;
    }
    vdm_put_le32(d, id);
    vdm_put_le32(d + 4, lo);
    /* attributes_high: scale bits 15:11, type bits 7:0, no axes. */
    vdm_put_le32(d + 8, (five_bits(s->scale) << 11) | s->type);
    scmi_put_name(d + 12, s->name, VDM_SCMI_SHORT_NAME_MAX);
}

static int32_t sensor_describe(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t idx;
    uint32_t n;
    uint32_t i;

    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    idx = scmi_in32(m, 0);
    if (idx > pl->nsensors) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if (m->out_cap < (4u + DESC_BYTES)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    n = pl->nsensors - idx;
    if (n > (m->out_cap - 4u) / DESC_BYTES) {
        n = (m->out_cap - 4u) / DESC_BYTES;
    }
    (void)scmi_reserve(m, 4u + (n * DESC_BYTES));
    /* num_returned (bits 11:0), num_remaining (bits 31:16). */
    scmi_out32(m, 0, n | ((pl->nsensors - idx - n) << 16));
    for (i = 0; i < n; i++) {
        put_desc(pl, &m->out[4u + (i * DESC_BYTES)], idx + i);
    }
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_notify_set(struct scmi_pl *pl, struct scmi_msg *m,
                                 uint32_t id, uint32_t flag)
{
    uint32_t ctl;

    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    ctl = scmi_in32(m, 1);
    if ((ctl & ~1u) != 0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if ((flag == SCMI_SENS_UPDATE_NOTIFY) &&
        ((pl->sensors[id].flags & VDM_SCMI_SENSOR_F_UPDATE_NOTIFY) == 0u)) {
        return VDM_SCMI_NOT_SUPPORTED;
    }
    if ((flag == SCMI_SENS_TRIP_NOTIFY) && (pl->sensors[id].ntrips == 0u)) {
        return VDM_SCMI_NOT_SUPPORTED;
    }
    if (ctl != 0u) {
        pl->sstate[id].flags |= flag;
    } else {
        pl->sstate[id].flags &= ~flag;
    }
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_trip_config(struct scmi_pl *pl, struct scmi_msg *m,
                                  uint32_t id)
{
    uint32_t ctl;
    uint32_t tp;
    uint64_t raw;
    struct scmi_trip *t;

    if (!scmi_params(m, 4)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    ctl = scmi_in32(m, 1);
    tp = (ctl >> TP_ID_SHIFT) & 0xffu;
    if (((ctl & ~TP_CTRL_MASK) != 0u) || (tp >= pl->sensors[id].ntrips)) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    t = &pl->sstate[id].trip[tp];
    t->ctrl = ctl & TP_EV_MASK;
    raw = (uint64_t)scmi_in32(m, 2) | ((uint64_t)scmi_in32(m, 3) << 32);
    t->value = (int64_t)raw;
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_read(struct scmi_pl *pl, struct scmi_msg *m, uint32_t id)
{
    uint32_t flags;
    int64_t v = pl->sstate[id].last;
    int err = 0;

    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    flags = scmi_in32(m, 1);
    if ((flags & ~1u) != 0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if (flags != 0u) {
        return VDM_SCMI_NOT_SUPPORTED; /* descriptors say no async read */
    }
    if ((pl->sstate[id].config & CFG_ENABLED) == 0u) {
        return VDM_SCMI_DENIED;
    }
    if (SCMI_HOOK(pl, sensor_read)) {
        err = pl->ops->sensor_read(pl->host, id, &v);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    /* Version 3.0 reading: value (64 bits), timestamp (64 bits, 0). */
    if (!scmi_reserve(m, 16)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    scmi_out32(m, 0, (uint32_t)(uint64_t)v);
    scmi_out32(m, 4, (uint32_t)((uint64_t)v >> 32));
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_intervals(struct scmi_pl *pl, struct scmi_msg *m,
                                uint32_t id)
{
    const struct vdm_scmi_sensor *s = &pl->sensors[id];
    uint32_t total = 0u;
    uint32_t idx;
    uint32_t n;

    if (s->update_secs != 0u) {
        total = 1u;
    }
    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    idx = scmi_in32(m, 1);
    if (idx > total) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    n = total - idx;
    if (!scmi_reserve(m, 4u + (n * 4u))) {
        return VDM_SCMI_COMMS_ERROR;
    }
    /* num_intervals_flags: returned bits 11:0, discrete (bit 12 clear),
     * remaining bits 31:16; interval: seconds bits 20:5, exponent 4:0. */
    scmi_out32(m, 0, n);
    if (n > 0u) {
        scmi_out32(m, 4, (s->update_secs << 5) | five_bits(s->update_exp));
    }
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_config_set(struct scmi_pl *pl, struct scmi_msg *m,
                                 uint32_t id)
{
    uint32_t cfg;
    uint32_t on;
    uint32_t want;
    int err = 0;

    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    cfg = scmi_in32(m, 1);
    /* Bits 8:2 reserved; rounding 3 reserved; timestamps unsupported. */
    if (((cfg & 0x1fcu) != 0u) || (((cfg >> CFG_ROUND_SHIFT) & 3u) == 3u)) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if ((cfg & CFG_TIMESTAMP) != 0u) {
        return VDM_SCMI_NOT_SUPPORTED;
    }
    /* An update interval other than 0 (keep) is rounded to the one
     * interval the sensor has; none at all cannot be set. */
    want = cfg & CFG_INTERVAL_MASK;
    if ((want != 0u) && (pl->sensors[id].update_secs == 0u)) {
        return VDM_SCMI_NOT_SUPPORTED;
    }
    on = cfg & CFG_ENABLED;
    if (on != (pl->sstate[id].config & CFG_ENABLED) &&
        SCMI_HOOK(pl, sensor_enable)) {
        err = pl->ops->sensor_enable(pl->host, id, on);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    pl->sstate[id].config = interval_cfg(&pl->sensors[id]) | on;
    return VDM_SCMI_SUCCESS;
}

static int32_t sensor_handle(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;

    switch (m->msg_id) {
    case SCMI_MSG_ATTRIBUTES:
        /* num_sensors, max_pending 0, reserved, no shared registers. */
        if (!scmi_reserve(m, 16)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->nsensors);
        return VDM_SCMI_SUCCESS;
    case SENSOR_DESCRIPTION_GET: return sensor_describe(pl, m);
    default: break;
    }
    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    if (id >= pl->nsensors) {
        return VDM_SCMI_NOT_FOUND;
    }
    switch (m->msg_id) {
    case SENSOR_TRIP_POINT_NOTIFY:
        return sensor_notify_set(pl, m, id, SCMI_SENS_TRIP_NOTIFY);
    case SENSOR_TRIP_POINT_CONFIG: return sensor_trip_config(pl, m, id);
    case SENSOR_READING_GET: return sensor_read(pl, m, id);
    case SENSOR_LIST_UPDATE_INTERVALS: return sensor_intervals(pl, m, id);
    case SENSOR_CONFIG_GET:
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->sstate[id].config);
        return VDM_SCMI_SUCCESS;
    case SENSOR_CONFIG_SET: return sensor_config_set(pl, m, id);
    case SENSOR_CONTINUOUS_UPDATE_NOTIFY:
        return sensor_notify_set(pl, m, id, SCMI_SENS_UPDATE_NOTIFY);
    case SENSOR_NAME_GET: return scmi_answer_name(m, pl->sensors[id].name);
    default: return VDM_SCMI_NOT_SUPPORTED;
    }
}

const struct scmi_proto scmi_proto_sensor = {
    .id = VDM_SCMI_PROTOCOL_SENSOR,
    .version = VDM_SCMI_SENSOR_VERSION,
    .p2a_msgs = SCMI_BIT(SENSOR_TRIP_POINT_NOTIFY) |
                SCMI_BIT(SENSOR_TRIP_POINT_CONFIG) |
                SCMI_BIT(SENSOR_CONTINUOUS_UPDATE_NOTIFY),
    .msgs =
        SCMI_BIT(SCMI_MSG_VERSION) | SCMI_BIT(SCMI_MSG_ATTRIBUTES) |
        SCMI_BIT(SCMI_MSG_MSG_ATTRIBUTES) | SCMI_BIT(SENSOR_DESCRIPTION_GET) |
        SCMI_BIT(SENSOR_TRIP_POINT_NOTIFY) |
        SCMI_BIT(SENSOR_TRIP_POINT_CONFIG) | SCMI_BIT(SENSOR_READING_GET) |
        SCMI_BIT(SENSOR_LIST_UPDATE_INTERVALS) | SCMI_BIT(SENSOR_CONFIG_GET) |
        SCMI_BIT(SENSOR_CONFIG_SET) |
        SCMI_BIT(SENSOR_CONTINUOUS_UPDATE_NOTIFY) | SCMI_BIT(SENSOR_NAME_GET),
    .handle = sensor_handle,
};

/* ---- host reports -------------------------------------------------------- */

int scmi_sensor_update(struct scmi_pl *pl, uint32_t id, int64_t value)
{
    struct scmi_sensor_state *st = &pl->sstate[id];
    uint8_t pay[SCMI_NOTIF_PAYLOAD];
    int64_t prev = st->last;
    bool had = (st->flags & SCMI_SENS_HAVE_LAST) != 0u;
    uint32_t i;
    uint32_t up;
    int queued = 0;

    st->last = value;
    st->flags |= SCMI_SENS_HAVE_LAST;
    if (((st->config & CFG_ENABLED) == 0u) || (pl->no_p2a != 0u)) {
        return 0;
    }
    __builtin_memset(pay, 0, sizeof(pay));
    vdm_put_le32(pay + 4, id); /* agent_id 0: the platform */
    if ((st->flags & SCMI_SENS_UPDATE_NOTIFY) != 0u) {
        vdm_put_le32(pay + 8, (uint32_t)(uint64_t)value);
        vdm_put_le32(pay + 12, (uint32_t)((uint64_t)value >> 32));
        scmi_notify(pl, VDM_SCMI_PROTOCOL_SENSOR, SENSOR_UPDATE, pay, 24u);
        queued++;
    }
    if (!had || (st->flags & SCMI_SENS_TRIP_NOTIFY) == 0u) {
        return queued;
    }
    for (i = 0; i < pl->sensors[id].ntrips; i++) {
        const struct scmi_trip *t = &st->trip[i];

        if ((prev < t->value) && (value >= t->value) &&
            ((t->ctrl & TP_EV_UP) != 0u)) {
            up = TP_DESC_UP;
        } else if ((prev >= t->value) && (value < t->value) &&
                   ((t->ctrl & TP_EV_DOWN) != 0u)) {
            up = 0u;
        } else {
            continue;
        }
        vdm_put_le32(pay + 8, up | i);
        scmi_notify(pl, VDM_SCMI_PROTOCOL_SENSOR, SENSOR_TRIP_POINT_EVENT, pay,
                    12u);
        queued++;
    }
    return queued;
}
