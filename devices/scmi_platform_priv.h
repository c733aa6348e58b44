/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the SCMI platform module (devices/scmi_platform*.c): the context
 * state, one command in flight, and the helpers the protocol files share.
 * Not exported.
 */
#ifndef VDM_SCMI_PLATFORM_PRIV_H
#define VDM_SCMI_PLATFORM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/scmi_platform.h"

#define SCMI_MAGIC 0x53434d50u /* "SCMP" */

/* Bit n of a 32-bit word. */
#define SCMI_BIT(n) ((uint32_t)1u << (n))
/* The host hook f is present: an ops table long enough to hold it (an
 * older caller's may be shorter) with f set. Spelt with size_t operands. */
#define SCMI_HOOK(pl, f)                                                       \
    (((pl)->ops != NULL) &&                                                    \
     (((size_t)(pl)->ops->size) >=                                             \
      ((size_t)offsetof(struct vdm_scmi_platform_ops, f) +                     \
       sizeof(((const struct vdm_scmi_platform_ops *)NULL)->f))) &&            \
     ((pl)->ops->f != NULL))

/* Common messages of every protocol (DEN0056 "Protocol discovery"). */
#define SCMI_MSG_VERSION        0u
#define SCMI_MSG_ATTRIBUTES     1u
#define SCMI_MSG_MSG_ATTRIBUTES 2u

/* Notification payload bytes, at most (SENSOR_UPDATE: agent, sensor,
 * value, timestamp). */
#define SCMI_NOTIF_PAYLOAD 24u

/* Mutable state of one clock, in the caller's state array. */
struct scmi_clock_state {
    uint64_t rate;
    uint32_t enabled;
    uint32_t pad;
};

/* One trip point as the agent armed it. */
struct scmi_trip {
    int64_t value;
    uint32_t ctrl; /* SENSOR_TRIP_POINT_CONFIG event control, bits 1:0 */
    uint32_t pad;
};

#define SCMI_SENS_TRIP_NOTIFY   1u /* SENSOR_TRIP_POINT_NOTIFY on */
#define SCMI_SENS_UPDATE_NOTIFY 2u /* SENSOR_CONTINUOUS_UPDATE_NOTIFY on */
#define SCMI_SENS_HAVE_LAST     4u /* `last` holds a reported value */

/* Mutable state of one sensor, in the caller's state array. */
struct scmi_sensor_state {
    int64_t last;
    uint32_t config; /* SENSOR_CONFIG_GET word */
    uint32_t flags;  /* SCMI_SENS_* */
    struct scmi_trip trip[VDM_SCMI_SENSOR_TRIPS_MAX];
};

/* One queued notification. */
struct scmi_notif {
    uint8_t proto;
    uint8_t msg;
    uint8_t len;
    uint8_t pad;
    uint8_t payload[SCMI_NOTIF_PAYLOAD];
};

struct scmi_pl {
    uint32_t magic;
    uint32_t impl_version;
    const char *vendor;
    const char *sub_vendor;
    const char *agent_name;
    uint32_t agent_id;
    uint32_t num_agents;
    uint32_t max_payload;
    uint32_t npower;
    uint32_t nclocks;
    uint32_t nsensors;
    uint32_t nresets;
    uint32_t qhead;  /* oldest queued notification */
    uint32_t qcount; /* queued notifications */
    uint32_t dropped;
    uint32_t no_p2a; /* nonzero: no notification channel (set_p2a) */
    const struct vdm_scmi_power_domain *power;
    const struct vdm_scmi_clock *clocks;
    const struct vdm_scmi_sensor *sensors;
    const struct vdm_scmi_reset_domain *resets;
    const struct vdm_scmi_platform_ops *ops;
    void *host;
    struct scmi_sensor_state *sstate;
    struct scmi_clock_state *cstate;
    uint32_t *pstate;
    struct scmi_notif q[VDM_SCMI_NOTIFY_QUEUE];
};

/* One command being answered: parameters in, return values out. */
struct scmi_msg {
    uint32_t msg_id;
    const uint8_t *in; /* parameters (after the header) */
    uint32_t in_len;
    uint8_t *out;     /* return values (after the status) */
    uint32_t out_cap; /* room at out: min(caller buffer, max payload) */
    uint32_t out_len; /* set by a handler that succeeds */
};

/* A protocol: its version, the message ids it implements (bit n: message
 * id n; all ids it serves are below 32), those of them that exist only
 * for notifications (not implemented while there is no P2A channel) and
 * its handler for ids 1 and
 * 3..31 (version and message attributes are common). The handler
 * returns an SCMI status; on success it has set out_len. */
struct scmi_proto {
    uint32_t id;
    uint32_t version;
    uint32_t msgs;
    uint32_t p2a_msgs; /* of msgs, those that only serve notifications */
    int32_t (*handle)(struct scmi_pl *pl, struct scmi_msg *m);
};

/* Hidden like every library-internal symbol (-fvisibility=hidden covers
 * definitions only): a PIC build then reaches these tables directly instead
 * of through the GOT, and the archive stays free of _GLOBAL_OFFSET_TABLE_
 * (scripts/check-freestanding). */
#define SCMI_INTERNAL __attribute__((visibility("hidden")))
extern SCMI_INTERNAL const struct scmi_proto scmi_proto_power;
extern SCMI_INTERNAL const struct scmi_proto scmi_proto_clock;
extern SCMI_INTERNAL const struct scmi_proto scmi_proto_sensor;
extern SCMI_INTERNAL const struct scmi_proto scmi_proto_reset;

/* Parameter word i (little-endian) of the command. The caller checked
 * in_len with scmi_params(). */
uint32_t scmi_in32(const struct scmi_msg *m, uint32_t i);
/* True when the command carries at least n parameter words. */
bool scmi_params(const struct scmi_msg *m, uint32_t n);
/* Reserve n bytes of return values (zeroed); false when they do not fit
 * (the answer becomes COMMS_ERROR). */
bool scmi_reserve(struct scmi_msg *m, uint32_t n);
/* Store return word at byte offset off. */
void scmi_out32(struct scmi_msg *m, uint32_t off, uint32_t v);
/* Copy at most max bytes of the NUL-terminated name (NULL: "") to dst,
 * NUL-padded up to max + 1 bytes. */
void scmi_put_name(uint8_t *dst, const char *name, uint32_t max);
/* Length of a name, capped at VDM_SCMI_NAME_MAX + 1. */
uint32_t scmi_name_len(const char *name);
/* The *_NAME_GET answer: flags 0 and the 64-byte extended name. */
int32_t scmi_answer_name(struct scmi_msg *m, const char *name);
/* A host hook's return (0 or VDM_E*) as an SCMI status. */
int32_t scmi_status(int err);
/* Queue a notification (drops the oldest when full). */
void scmi_notify(struct scmi_pl *pl, uint32_t proto, uint32_t msg,
                 const uint8_t *payload, uint32_t len);

/* The host reported a new value of sensor id (valid): store it, queue
 * the notifications due; returns how many. */
int scmi_sensor_update(struct scmi_pl *pl, uint32_t id, int64_t value);
/* Reset the state of the protocols to what the tables say. */
void scmi_power_reset(struct scmi_pl *pl);
void scmi_clock_reset(struct scmi_pl *pl);
void scmi_sensor_reset(struct scmi_pl *pl);
/* Check the caller's tables at init: 0 or VDM_EINVAL. */
int scmi_clock_check(const struct vdm_scmi_clock *c, uint32_t n);
int scmi_sensor_check(const struct vdm_scmi_sensor *s, uint32_t n);
/* Round rate as CLOCK_RATE_SET flags bits 3:2 ask: 0 when the clock can
 * run at *rate after rounding, else OUT_OF_RANGE. */
int32_t scmi_clock_round(const struct vdm_scmi_clock *c, uint64_t *rate,
                         uint32_t flags);

#endif
