/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file scmi_platform.h
 * @brief SCMI platform module: answers the messages of an SCMI agent (Arm
 *        System Control and Management Interface, DEN0056) for the power
 *        domains, clocks, sensors and reset domains a hypervisor describes.
 *
 * Transport-agnostic: vdm_scmi_platform_handle() takes the bytes of one
 * SCMI command (a 32-bit little-endian header followed by its parameters,
 * as any SCMI transport carries them: virtio-scmi's cmdq, a shared-memory
 * mailbox, an SMC) and writes the response bytes (the same header, an
 * int32 status, then the return values). Notifications
 * (vdm_scmi_platform_next_notification()) are complete messages too (a
 * notification header plus payload), ready for virtio-scmi's eventq.
 * Nothing here knows VIRTIO.
 *
 * Protocols and versions served (the versions Linux 6.12's agent accepts
 * without negotiation; every payload follows the layout of that version):
 * | protocol | id | version | messages (message id) |
 * |---|---|---|---|
 * | Base | 0x10 | 2.0 | PROTOCOL_VERSION (0), PROTOCOL_ATTRIBUTES (1),
 * PROTOCOL_MESSAGE_ATTRIBUTES (2), DISCOVER_VENDOR (3), DISCOVER_SUB_VENDOR
 * (4), DISCOVER_IMPLEMENTATION_VERSION (5), DISCOVER_LIST_PROTOCOLS (6),
 * DISCOVER_AGENT (7) | | Power domain | 0x11 | 3.0 | 0, 1, 2,
 * POWER_DOMAIN_ATTRIBUTES (3), POWER_STATE_SET (4, synchronous only),
 * POWER_STATE_GET (5), POWER_DOMAIN_NAME_GET (8) | | Clock | 0x14 | 2.0 | 0, 1,
 * 2, CLOCK_ATTRIBUTES (3), CLOCK_DESCRIBE_RATES (4), CLOCK_RATE_SET (5,
 * synchronous only), CLOCK_RATE_GET (6), CLOCK_CONFIG_SET (7), CLOCK_NAME_GET
 * (8) | | Sensor | 0x15 | 3.0 | 0, 1, 2, SENSOR_DESCRIPTION_GET (3),
 * SENSOR_TRIP_POINT_NOTIFY (4), SENSOR_TRIP_POINT_CONFIG (5),
 * SENSOR_READING_GET (6, synchronous only), SENSOR_LIST_UPDATE_INTERVALS (8),
 * SENSOR_CONFIG_GET (9), SENSOR_CONFIG_SET (10),
 * SENSOR_CONTINUOUS_UPDATE_NOTIFY (11), SENSOR_NAME_GET (12) | | Reset domain |
 * 0x16 | 3.0 | 0, 1, 2, RESET_DOMAIN_ATTRIBUTES (3), RESET (4, synchronous
 * only), RESET_DOMAIN_NAME_GET (6) |
 *
 * A protocol whose table is empty is not implemented: it is not listed by
 * DISCOVER_LIST_PROTOCOLS and its messages are answered NOT_SUPPORTED.
 * Every other message id (BASE_NOTIFY_ERRORS, POWER_STATE_NOTIFY,
 * RESET_NOTIFY, the clock notifications, axis messages, ...) is answered
 * NOT_SUPPORTED, and PROTOCOL_MESSAGE_ATTRIBUTES answers NOT_FOUND for it.
 * Notifications produced: SENSOR_TRIP_POINT_EVENT and SENSOR_UPDATE (the
 * ones Linux 6.12's agent can subscribe to), when the host reports a new
 * value with vdm_scmi_platform_sensor_update().
 *
 * State: the module keeps the state the agent sets (power state of each
 * domain, rate and enable of each clock, sensor configuration, trip points
 * and subscriptions) in a caller array (vdm_scmi_platform_config::state,
 * VDM_SCMI_PLATFORM_STATE_BYTES()) and applies each change through the
 * optional host hooks; a hook that fails leaves the state unchanged and
 * its error becomes the SCMI status. With no hooks at all the module is a
 * complete model of virtual resources.
 *
 * The agent is hostile: every message length, id, index and skip value is
 * checked; a command shorter than its parameters is answered
 * PROTOCOL_ERROR; every response fits both the caller's buffer and the
 * configured maximum payload (paged answers return fewer entries).
 *
 * Threads: one thread at a time per context (no locks inside).
 */
#ifndef VDM_DEVICES_SCMI_PLATFORM_H
#define VDM_DEVICES_SCMI_PLATFORM_H

#include "../common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one SCMI platform context. */
#define VDM_SCMI_PLATFORM_SIZE 1024

/** @name Protocol ids (DEN0056 "Protocol identifiers")
 * @{ */
#define VDM_SCMI_PROTOCOL_BASE   0x10u /**< Base protocol. */
#define VDM_SCMI_PROTOCOL_POWER  0x11u /**< Power domain management. */
#define VDM_SCMI_PROTOCOL_CLOCK  0x14u /**< Clock management. */
#define VDM_SCMI_PROTOCOL_SENSOR 0x15u /**< Sensor management. */
#define VDM_SCMI_PROTOCOL_RESET  0x16u /**< Reset domain management. */
/** @} */

/** @name Protocol versions served (major << 16 | minor)
 * @{ */
#define VDM_SCMI_BASE_VERSION   0x20000u /**< Base 2.0. */
#define VDM_SCMI_POWER_VERSION  0x30000u /**< Power domain 3.0. */
#define VDM_SCMI_CLOCK_VERSION  0x20000u /**< Clock 2.0. */
#define VDM_SCMI_SENSOR_VERSION 0x30000u /**< Sensor 3.0. */
#define VDM_SCMI_RESET_VERSION  0x30000u /**< Reset domain 3.0. */
/** @} */

/** @name Message header fields (DEN0056 "Message header format")
 * @{ */
/** Build a header: message id, type, protocol id, token. */
#define VDM_SCMI_HDR(msg, type, proto, token)                                  \
    (((uint32_t)(msg)&0xffu) | (((uint32_t)(type)&3u) << 8) |                  \
     (((uint32_t)(proto)&0xffu) << 10) | (((uint32_t)(token)&0x3ffu) << 18))
#define VDM_SCMI_HDR_MSG(h)            ((h)&0xffu)       /**< Message id. */
#define VDM_SCMI_HDR_TYPE(h)           (((h) >> 8) & 3u) /**< Message type. */
#define VDM_SCMI_HDR_PROTO(h)          (((h) >> 10) & 0xffu) /**< Protocol id. */
#define VDM_SCMI_HDR_TOKEN(h)          (((h) >> 18) & 0x3ffu) /**< Token. */
#define VDM_SCMI_MSG_TYPE_COMMAND      0u /**< A command (agent to platform). */
#define VDM_SCMI_MSG_TYPE_DELAYED_RESP 2u /**< A delayed response. */
#define VDM_SCMI_MSG_TYPE_NOTIFICATION 3u /**< A notification. */
/** @} */

/** @name SCMI status codes (DEN0056 "Status codes"), int32 on the wire
 * @{ */
#define VDM_SCMI_SUCCESS            0     /**< Success. */
#define VDM_SCMI_NOT_SUPPORTED      (-1)  /**< Message not supported. */
#define VDM_SCMI_INVALID_PARAMETERS (-2)  /**< Bad parameters. */
#define VDM_SCMI_DENIED             (-3)  /**< Not allowed. */
#define VDM_SCMI_NOT_FOUND          (-4)  /**< Entity not found. */
#define VDM_SCMI_OUT_OF_RANGE       (-5)  /**< Value out of range. */
#define VDM_SCMI_BUSY               (-6)  /**< Platform busy. */
#define VDM_SCMI_COMMS_ERROR        (-7)  /**< Communication error. */
#define VDM_SCMI_GENERIC_ERROR      (-8)  /**< Generic error. */
#define VDM_SCMI_HARDWARE_ERROR     (-9)  /**< Hardware error. */
#define VDM_SCMI_PROTOCOL_ERROR     (-10) /**< Protocol error. */
/** @} */

/** @name Sizes
 * @{ */
/** Header plus status: the smallest response. */
#define VDM_SCMI_RESPONSE_MIN_BYTES 8u
/** Default (and Linux virtio-scmi's) maximum payload after header and
 *  status. */
#define VDM_SCMI_MAX_PAYLOAD_DEFAULT 128u
/** Smallest maximum payload accepted (an extended name answer fits). */
#define VDM_SCMI_MAX_PAYLOAD_MIN 68u
/** Largest notification message (header plus payload). */
#define VDM_SCMI_NOTIFICATION_MAX_BYTES 28u
/** Notifications held before the oldest undelivered ones are dropped. */
#define VDM_SCMI_NOTIFY_QUEUE 16u
/** Longest name served (bytes, without the terminating NUL); longer names
 *  are cut. Names of more than 15 bytes are served through the protocol's
 *  *_NAME_GET message (extended names). */
#define VDM_SCMI_NAME_MAX 63u
/** Longest vendor / sub-vendor / agent name (bytes, without the NUL). */
#define VDM_SCMI_SHORT_NAME_MAX 15u
/** Most trip points one sensor may have. */
#define VDM_SCMI_SENSOR_TRIPS_MAX 4u
/** @} */

/** @name Power states (DEN0056 power domain "Power state parameter")
 * @{ */
#define VDM_SCMI_POWER_ON  0x00000000u /**< Generic ON state. */
#define VDM_SCMI_POWER_OFF 0x40000000u /**< Generic OFF state. */
/** @} */

/** @name Reset flags handed to vdm_scmi_platform_ops::reset
 * @{ */
#define VDM_SCMI_RESET_AUTONOMOUS 1u /**< Assert then de-assert. */
#define VDM_SCMI_RESET_ASSERT     2u /**< Explicit assert (hold in reset). */
#define VDM_SCMI_RESET_DEASSERT   0u /**< Explicit de-assert. */
/** @} */

/**
 * @brief Bytes of the caller's state array (vdm_scmi_platform_config::
 *        state, 8-byte aligned) for @p npower power domains, @p nclocks
 *        clocks and @p nsensors sensors.
 */
#define VDM_SCMI_PLATFORM_STATE_BYTES(npower, nclocks, nsensors)               \
    (((uint32_t)(npower)*4u) + ((uint32_t)(nclocks)*16u) +                     \
     ((uint32_t)(nsensors)*80u))

/** @brief One power domain (caller table entry). */
struct vdm_scmi_power_domain {
    const char *name;    /**< NUL-terminated; NULL serves "". */
    uint32_t init_state; /**< State at init and reset (e.g. POWER_OFF). */
    uint32_t reserved;   /**< Must be 0. */
};

/** @brief Clock flag: enabled at init and reset. */
#define VDM_SCMI_CLOCK_F_ENABLED 1u

/**
 * @brief One clock (caller table entry): a discrete rate list or a range.
 *
 * With @ref rates non-NULL the clock has the @ref nrates rates listed
 * (strictly ascending, Hz); otherwise it runs from @ref min to @ref max in
 * steps of @ref step (step 0 is read as 1 Hz). A CLOCK_RATE_SET below the
 * lowest or above the highest rate is OUT_OF_RANGE; a rate in between
 * that the clock cannot run at is rounded as the command's flags ask
 * (down, up, or to the nearest: DEN0056 CLOCK_RATE_SET).
 */
struct vdm_scmi_clock {
    const char *name;           /**< NUL-terminated; NULL serves "". */
    const uint64_t *rates;      /**< Discrete rates, or NULL for a range. */
    uint32_t nrates;            /**< Entries of @ref rates (1..). */
    uint32_t flags;             /**< VDM_SCMI_CLOCK_F_* bits. */
    uint64_t min;               /**< Range: lowest rate (Hz). */
    uint64_t max;               /**< Range: highest rate (Hz). */
    uint64_t step;              /**< Range: step (Hz). */
    uint64_t init_rate;         /**< Rate at init and reset (a valid rate). */
    uint32_t enable_latency_us; /**< Worst enable latency; 0 unknown. */
    uint32_t reserved;          /**< Must be 0. */
};

/** @brief Sensor flag: supports SENSOR_UPDATE (continuous update)
 *         notifications. */
#define VDM_SCMI_SENSOR_F_UPDATE_NOTIFY 1u
/** @brief Sensor flag: disabled at init and reset (SENSOR_CONFIG_SET
 *         enables it). */
#define VDM_SCMI_SENSOR_F_DISABLED 2u

/** @brief One sensor (caller table entry), a scalar sensor (no axes). */
struct vdm_scmi_sensor {
    const char *name;     /**< NUL-terminated; NULL serves "". */
    uint32_t type;        /**< DEN0056 sensor type / unit code (2 = °C). */
    int32_t scale;        /**< Power-of-ten exponent of the value, -16..15. */
    uint32_t ntrips;      /**< Trip points, 0..VDM_SCMI_SENSOR_TRIPS_MAX. */
    uint32_t flags;       /**< VDM_SCMI_SENSOR_F_* bits. */
    uint32_t update_secs; /**< Update interval mantissa, 0..65535 (0: none). */
    int32_t update_exp;   /**< Update interval power-of-ten, -16..15. */
};

/** @brief One reset domain (caller table entry). */
struct vdm_scmi_reset_domain {
    const char *name;    /**< NUL-terminated; NULL serves "". */
    uint32_t latency_us; /**< Worst reset latency; 0 unknown. */
    uint32_t reserved;   /**< Must be 0. */
};

/**
 * @brief What the platform asks of the host (const table, every hook
 *        optional).
 *
 * Hooks return 0 or a negative VDM_E* code, turned into the SCMI status:
 * VDM_EINVAL INVALID_PARAMETERS, VDM_ERANGE OUT_OF_RANGE, VDM_ENOTSUP
 * NOT_SUPPORTED, VDM_ESTATE DENIED, VDM_ENOENT NOT_FOUND, VDM_EBUSY and
 * VDM_EAGAIN BUSY, VDM_EIO HARDWARE_ERROR, anything else GENERIC_ERROR.
 * Ids handed to hooks are always valid indexes into the caller's tables.
 */
struct vdm_scmi_platform_ops {
    uint32_t size; /**< sizeof(struct vdm_scmi_platform_ops), VDM_INIT. */
    /** Set power domain @p id to @p state (already checked when the hook
     *  is absent: only VDM_SCMI_POWER_ON / _OFF are then accepted). */
    int (*power_set)(void *host, uint32_t id, uint32_t state);
    /** Read the power state; absent: the last state set. */
    int (*power_get)(void *host, uint32_t id, uint32_t *state);
    /** Run clock @p id at @p rate Hz (a rate of its table). */
    int (*clock_set_rate)(void *host, uint32_t id, uint64_t rate);
    /** Read the clock rate; absent: the last rate set. */
    int (*clock_get_rate)(void *host, uint32_t id, uint64_t *rate);
    /** Gate clock @p id on (@p enable 1) or off (0). */
    int (*clock_enable)(void *host, uint32_t id, uint32_t enable);
    /** Read sensor @p id; absent: the last value reported with
     *  vdm_scmi_platform_sensor_update() (0 before any). */
    int (*sensor_read)(void *host, uint32_t id, int64_t *value);
    /** Sensor @p id was enabled (1) or disabled (0) by the agent. */
    int (*sensor_enable)(void *host, uint32_t id, uint32_t enable);
    /** Reset domain @p id: @p flags a VDM_SCMI_RESET_* value, @p state the
     *  DEN0056 reset state (0: architectural cold reset; bit 31 set:
     *  implementation defined). Absent: cold reset succeeds, every other
     *  state is NOT_SUPPORTED. */
    int (*reset)(void *host, uint32_t id, uint32_t flags, uint32_t state);
};

/** @brief SCMI platform configuration, caller-filled with VDM_INIT. */
struct vdm_scmi_platform_config {
    uint32_t size;          /**< sizeof(struct ...), VDM_INIT. */
    uint32_t impl_version;  /**< DISCOVER_IMPLEMENTATION_VERSION. */
    const char *vendor;     /**< DISCOVER_VENDOR (<= 15 bytes used). */
    const char *sub_vendor; /**< DISCOVER_SUB_VENDOR (<= 15 bytes). */
    const char *agent_name; /**< The calling agent's name ("OSPM"). */
    uint32_t agent_id;      /**< The calling agent's id (0: 1). */
    uint32_t num_agents;    /**< Agents of the system (0: 1). */
    uint32_t max_payload;   /**< Max response payload after header and
                                 status (0: VDM_SCMI_MAX_PAYLOAD_DEFAULT;
                                 at least VDM_SCMI_MAX_PAYLOAD_MIN). */
    uint32_t npower;        /**< Entries of @ref power (0..65535). */
    const struct vdm_scmi_power_domain *power; /**< Power domains. */
    uint32_t nclocks;  /**< Entries of @ref clocks (0..65535). */
    uint32_t nsensors; /**< Entries of @ref sensors (0..65535). */
    const struct vdm_scmi_clock *clocks;        /**< Clocks. */
    const struct vdm_scmi_sensor *sensors;      /**< Sensors. */
    const struct vdm_scmi_reset_domain *resets; /**< Reset domains. */
    uint32_t nresets;     /**< Entries of @ref resets (0..65535). */
    uint32_t state_bytes; /**< Bytes at @ref state. */
    void *state;          /**< VDM_SCMI_PLATFORM_STATE_BYTES() bytes,
                               8-byte aligned, caller-owned. */
    const struct vdm_scmi_platform_ops *ops; /**< Host hooks or NULL. */
    void *host;                              /**< Passed to every hook. */
};

/** @brief An SCMI platform: opaque caller-owned storage. */
struct vdm_scmi_platform {
    alignas(8) unsigned char opaque[VDM_SCMI_PLATFORM_SIZE]; /**< State. */
};

/**
 * @brief Set a platform up from @p cfg.
 *
 * The tables, strings, state array and ops stay the caller's and must
 * outlive @p p (they are read, never copied, except the ops pointer and
 * the scalar fields). Puts every resource in its initial state.
 * @return 0; VDM_EINVAL (NULL pointer, a count over 65535, a table NULL
 *         with a non-zero count, a clock with no rates or rates not
 *         strictly ascending, min > max, an init_rate the clock cannot
 *         run at, ntrips over VDM_SCMI_SENSOR_TRIPS_MAX, scale or
 *         update_exp out of -16..15, max_payload below
 *         VDM_SCMI_MAX_PAYLOAD_MIN, a misaligned state array);
 *         VDM_ENOSPC (state_bytes too small); VDM_ESIZE (a size field too
 *         small).
 */
VDM_API int vdm_scmi_platform_init(struct vdm_scmi_platform *p,
                                   const struct vdm_scmi_platform_config *cfg);

/**
 * @brief Back to the initial state: resources as after init, every
 *        subscription and trip point off, pending notifications dropped;
 *        each sensor keeps the last value the host reported. Call when
 *        the transport resets (e.g. the virtio device reset). Host hooks
 *        are not called.
 */
VDM_API void vdm_scmi_platform_reset(struct vdm_scmi_platform *p);

/**
 * @brief Answer one SCMI command.
 *
 * @p req holds @p len bytes: the message header (little-endian) and the
 * parameters. On success @p resp holds @p *resp_len bytes (at most @p cap
 * and at most 8 + max_payload): the request's header, the int32 status,
 * and the return values. Every request with a full header gets a
 * response, also an unknown protocol or message (NOT_SUPPORTED), a
 * message type other than command (NOT_SUPPORTED) or parameters cut short
 * (PROTOCOL_ERROR). A fixed-size answer that does not fit @p cap is
 * replaced by status COMMS_ERROR; paged answers shrink to fit.
 * @return 0 when a response was written (whatever its SCMI status: read
 *         it at byte 4 of @p resp); nothing is written and *resp_len is 0
 *         on VDM_EINVAL (a NULL pointer), VDM_EPROTO (@p len below 4: no
 *         header to answer) and VDM_ENOSPC (@p cap below
 *         VDM_SCMI_RESPONSE_MIN_BYTES).
 */
VDM_API int vdm_scmi_platform_handle(struct vdm_scmi_platform *p,
                                     const void *req, uint32_t len, void *resp,
                                     uint32_t cap, uint32_t *resp_len);

/**
 * @brief The host reports a new value of sensor @p id.
 *
 * Stored as the sensor's last value. If the sensor is enabled: queues a
 * SENSOR_UPDATE notification when the agent subscribed
 * (SENSOR_CONTINUOUS_UPDATE_NOTIFY), and a SENSOR_TRIP_POINT_EVENT for
 * each trip point the agent armed and the value crossed since the
 * previous report (ascending: previous < trip <= value; descending:
 * previous >= trip > value) when the agent subscribed
 * (SENSOR_TRIP_POINT_NOTIFY). A full queue drops the oldest entry.
 * @return number of notifications queued (0..); VDM_EINVAL (NULL);
 *         VDM_ERANGE (no such sensor).
 */
VDM_API int vdm_scmi_platform_sensor_update(struct vdm_scmi_platform *p,
                                            uint32_t id, int64_t value);

/**
 * @brief Take the oldest pending notification.
 *
 * Writes one complete notification message (header with type 3, the
 * protocol and the notification's message id, token 0; then its payload)
 * of @p *len bytes (at most VDM_SCMI_NOTIFICATION_MAX_BYTES).
 * @return 1 one written; 0 none pending (*len 0); VDM_ENOSPC @p cap too
 *         small (the notification stays queued); VDM_EINVAL (NULL).
 */
VDM_API int vdm_scmi_platform_next_notification(struct vdm_scmi_platform *p,
                                                void *buf, uint32_t cap,
                                                uint32_t *len);

/**
 * @brief Say whether the transport has a platform-to-agent channel.
 *
 * On by default. With @p on 0 (e.g. virtio-scmi without
 * VIRTIO_SCMI_F_P2A_CHANNELS; virtio "SCMI Device / Device Operation /
 * cmdq Operation") the module answers as if no
 * notification were implemented: SENSOR_TRIP_POINT_NOTIFY,
 * SENSOR_TRIP_POINT_CONFIG and SENSOR_CONTINUOUS_UPDATE_NOTIFY are
 * NOT_SUPPORTED, PROTOCOL_MESSAGE_ATTRIBUTES says NOT_FOUND for them, and
 * sensor descriptions show no trip points and no update notification.
 * Kept across vdm_scmi_platform_reset(). Set it when the transport's
 * features are known (or before each command); NULL is ignored.
 */
VDM_API void vdm_scmi_platform_set_p2a(struct vdm_scmi_platform *p, int on);

/** @brief Notifications dropped because the queue was full, since init or
 *         reset. */
VDM_API uint32_t vdm_scmi_platform_dropped(const struct vdm_scmi_platform *p);

#ifdef __cplusplus
}
#endif
#endif
