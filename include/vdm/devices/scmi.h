/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file scmi.h
 * @brief SCMI device (virtio-scmi, spec "SCMI Device", device id 32): the
 *        virtio transport of the Arm System Control and Management
 *        Interface. The device knows no SCMI protocol; the host's SCMI
 *        platform (for example the transport-agnostic one of
 *        `vdm/devices/scmi_platform.h`) answers the messages.
 *
 * **Queues.** cmdq (0): each chain is one SCMI command (device-readable:
 * le32 header and parameters) followed by the device-writable buffer its
 * response goes to (le32 header, le32 status, return values). eventq (1,
 * only with VIRTIO_SCMI_F_P2A_CHANNELS): buffers the driver posts for
 * notifications and delayed responses, which the host sends with
 * vdm_scmi_send_p2a().
 *
 * **Commands.** The device copies the command (at most VDM_SCMI_MSG_MAX
 * bytes) and hands it to vdm_scmi_ops::command together with the room the
 * driver gave for the response (`resp_max`: the chain's writable bytes, at
 * most VDM_SCMI_MSG_MAX). The host answers at once or later with
 * vdm_scmi_complete(). Commands are independent ("The device MAY process
 * available commands out of order and in parallel"): up to
 * VDM_SCMI_CMD_SLOTS are at the host at a time, further chains wait in the
 * ring until one completes.
 *
 * **What the device answers itself** (spec "cmdq Operation"; the host is
 * not called; each kind of guest error is logged once per reset). An SCMI
 * response is the command's header followed by a le32 status
 * (VDM_SCMI_STATUS_*):
 *
 * | chain | answer (used length) |
 * |---|---|
 * | writable part below 8 bytes (no room for header and status) | nothing (0) |
 * | command below 4 bytes (no whole header) | the bytes present, zero-extended,
 * as header; PROTOCOL_ERROR (8) | | command above VDM_SCMI_MSG_MAX bytes | its
 * header; COMMS_ERROR (8) | | more than VDM_SCMI_IOV_MAX spans | header 0;
 * COMMS_ERROR (8) | | host refused it (negative `command` return) | its header;
 * GENERIC_ERROR (8) | | host answer below 8 bytes or above `resp_max` | its
 * header; GENERIC_ERROR (8) |
 *
 * A host answer whose status is not SUCCESS is cut to 8 bytes ("If the
 * status field ... has a value other than SUCCESS, the device MUST set the
 * size of ret_values to the size of the status field"). The spec does not
 * say what a device answers to a chain the driver built against the
 * driver requirements; the table is vdm's choice: every chain gets a used
 * entry, and a status wherever there is room for one.
 *
 * **P2A messages.** vdm_scmi_send_p2a() puts one notification or delayed
 * response into one posted eventq buffer, or returns VDM_EAGAIN when the
 * driver has posted none: nothing is dropped silently, the host keeps the
 * message and tries again when vdm_scmi_ops::eventq_ready says buffers
 * arrived ("the device MUST send the corresponding delayed response once
 * enough buffers become available"). Buffers too small for the message or
 * with device-readable parts (both forbidden to the driver by "Setting Up
 * eventq Buffers") are returned unused (used length 0) and the next one is
 * tried. Without VIRTIO_SCMI_F_P2A_CHANNELS negotiated, the host's platform
 * must deny notification and delayed-response requests with NOT_SUPPORTED
 * (spec "cmdq Operation"): vdm_scmi_p2a() and vdm_scmi_cmd::p2a tell it.
 *
 * **Features.** VIRTIO_SCMI_F_P2A_CHANNELS is offered when the host says
 * its platform implements a notification or a delayed response
 * (vdm_scmi_config::features). VIRTIO_SCMI_F_SHARED_MEMORY is never
 * offered: it promises SCMI statistics shared memory regions (power state,
 * performance and sensor statistics), whose contents only the protocol
 * server can keep and whose window would be a transport shared memory
 * region; vdm's platform implements none, and Linux's driver does not
 * negotiate the bit. A configuration asking for it is refused
 * (VDM_ENOTSUP). There is no configuration space ("There is no
 * configuration data for the device").
 *
 * Threads: one thread at a time; vdm_scmi_complete() and
 * vdm_scmi_send_p2a() run on the thread that drives the device (possibly
 * from inside an ops hook).
 */
#ifndef VDM_DEVICES_SCMI_H
#define VDM_DEVICES_SCMI_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most queues (cmdq, eventq). */
#define VDM_SCMI_NUM_QUEUES 2
/** @brief Index of the cmdq. */
#define VDM_SCMI_QUEUE_CMD 0
/** @brief Index of the eventq (with VIRTIO_SCMI_F_P2A_CHANNELS). */
#define VDM_SCMI_QUEUE_EVENT 1

/** @brief Feature: notifications or delayed responses (the eventq). */
#define VDM_SCMI_F_P2A_CHANNELS (1ull << 0)
/** @brief Feature: SCMI statistics shared memory (never offered). */
#define VDM_SCMI_F_SHARED_MEMORY (1ull << 1)

/** @brief Bytes of the SCMI message header (le32). */
#define VDM_SCMI_HDR_BYTES 4
/** @brief Bytes of a response header plus its status (le32 each). */
#define VDM_SCMI_RESP_MIN_BYTES 8
/** @brief Largest SCMI message (header included) the device carries, in
 *         either direction (Linux uses 128 bytes plus its overhead). */
#define VDM_SCMI_MSG_MAX 256u
/** @brief Commands at the host at a time. */
#define VDM_SCMI_CMD_SLOTS 32
/** @brief Most spans of one chain. */
#define VDM_SCMI_IOV_MAX 8
/** @brief Bytes of opaque storage for one SCMI device. */
#define VDM_SCMI_SIZE 16384

/** @name SCMI status codes (le32 after a response header)
 * @{ */
#define VDM_SCMI_STATUS_SUCCESS        0     /**< Success. */
#define VDM_SCMI_STATUS_NOT_SUPPORTED  (-1)  /**< Not supported. */
#define VDM_SCMI_STATUS_INVALID_PARAMS (-2)  /**< Invalid parameters. */
#define VDM_SCMI_STATUS_DENIED         (-3)  /**< Denied. */
#define VDM_SCMI_STATUS_NOT_FOUND      (-4)  /**< Not found. */
#define VDM_SCMI_STATUS_OUT_OF_RANGE   (-5)  /**< Out of range. */
#define VDM_SCMI_STATUS_BUSY           (-6)  /**< Busy. */
#define VDM_SCMI_STATUS_COMMS_ERROR    (-7)  /**< Communication error. */
#define VDM_SCMI_STATUS_GENERIC_ERROR  (-8)  /**< Generic error. */
#define VDM_SCMI_STATUS_HARDWARE_ERROR (-9)  /**< Hardware error. */
#define VDM_SCMI_STATUS_PROTOCOL_ERROR (-10) /**< Protocol error. */
/** @} */

/** @name SCMI message types (bits 9..8 of the header)
 * @{ */
#define VDM_SCMI_TYPE_COMMAND      0u /**< Command / its response. */
#define VDM_SCMI_TYPE_DELAYED_RESP 2u /**< Delayed response. */
#define VDM_SCMI_TYPE_NOTIFICATION 3u /**< Notification. */
/** @} */

/** @brief vdm_scmi_ops::command result: the host keeps the command and
 *         answers it later with vdm_scmi_complete(). */
#define VDM_SCMI_PENDING 1

/** @brief An SCMI device: opaque caller-owned storage. */
struct vdm_scmi {
    alignas(8) unsigned char opaque[VDM_SCMI_SIZE]; /**< Library state. */
};

/** @brief One command as the host sees it (valid during the call only). */
struct vdm_scmi_cmd {
    const uint8_t *msg; /**< The command: le32 header, parameters. */
    uint32_t len;       /**< Bytes of @ref msg (4..VDM_SCMI_MSG_MAX). */
    uint32_t resp_max;  /**< Most response bytes the driver has room for
                             (8..VDM_SCMI_MSG_MAX): SCMI list commands
                             (DESCRIBE_RATES and the like) return as many
                             entries as fit. */
    uint32_t p2a;       /**< 1: VIRTIO_SCMI_F_P2A_CHANNELS negotiated;
                             0: notifications and delayed responses must
                             be refused with NOT_SUPPORTED. */
    uint32_t reserved;  /**< 0. */
};

/** @brief What the SCMI device asks of the host's platform (const table). */
struct vdm_scmi_ops {
    uint32_t size;     /**< sizeof(struct vdm_scmi_ops), set by VDM_INIT. */
    uint32_t reserved; /**< Must be 0. */
    /**
     * Answer command @p cmd (required). Either write the response (header,
     * status, return values) into @p resp, set `*resp_len` and return 0;
     * or keep @p token, return VDM_SCMI_PENDING and call
     * vdm_scmi_complete() with it exactly once (copy the command first:
     * @p cmd is gone when the call returns). A negative return answers
     * GENERIC_ERROR.
     */
    int (*command)(void *host, const struct vdm_scmi_cmd *cmd, uint8_t *resp,
                   uint32_t *resp_len, void *token);
    /**
     * The driver posted eventq buffers (optional): P2A messages refused
     * with VDM_EAGAIN may be sent again now (vdm_scmi_send_p2a() may be
     * called from inside this hook).
     */
    void (*eventq_ready)(void *host);
    /**
     * The device was reset (optional): put the platform back in its
     * initial state (subscriptions, pending notifications). Commands still
     * at the host are abandoned: completing them returns VDM_ESTATE.
     */
    void (*reset)(void *host);
};

/** @brief SCMI device configuration, caller-filled with VDM_INIT. */
struct vdm_scmi_config {
    uint32_t size;     /**< sizeof(struct vdm_scmi_config). */
    uint32_t reserved; /**< Must be 0. */
    /** What the platform implements: VDM_SCMI_F_P2A_CHANNELS when it has
     *  a notification or a delayed response ("The device MUST offer
     *  VIRTIO_SCMI_F_P2A_CHANNELS if ..."). Other bits: VDM_ENOTSUP. */
    uint64_t features;
    const struct vdm_scmi_ops *ops; /**< The platform (required). */
    void *host;                     /**< Passed to @ref ops hooks. */
};

/**
 * @brief Make @p dev an SCMI device.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues: 0 picks 2 with VDM_SCMI_F_P2A_CHANNELS and 1 without; 2 is
 * also allowed without it, as vhost-user front-ends set up both queues),
 * sets the class, state and features (the configured P2A bit, the ring
 * features less IN_ORDER, the platform bits of base->features) and calls
 * vdm_dev_init(). Both @p scmi and @p dev must stay in place for the
 * device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, no command hook, bad num_queues or
 *   reserved field); VDM_ENOTSUP (a feature other than P2A asked for);
 *   VDM_ESIZE (a struct's size field too small); or what vdm_dev_init()
 *   returns.
 */
VDM_API int vdm_scmi_init(struct vdm_scmi *scmi, struct vdm_dev *dev,
                          const struct vdm_scmi_config *cfg,
                          const struct vdm_dev_config *base);

/**
 * @brief Answer the command the host kept with @p token.
 *
 * @p resp / @p len as for a synchronous answer (checked the same way: an
 * answer below 8 or above `resp_max` bytes turns into GENERIC_ERROR, a
 * failure status is cut to 8 bytes). @p resp may be NULL with @p len 0 to
 * fail the command (GENERIC_ERROR).
 * @return 0; VDM_ESTATE when the command was abandoned by a reset
 *   (dropped: no guest memory access, no interrupt); VDM_EINVAL for an
 *   unknown, stale or repeated token.
 */
VDM_API int vdm_scmi_complete(struct vdm_scmi *scmi, void *token,
                              const uint8_t *resp, uint32_t len);

/**
 * @brief Send one P2A message (a notification or a delayed response:
 *        header and payload, @p len bytes) in one posted eventq buffer.
 * @return 0 sent; VDM_EAGAIN no (big enough) buffer is posted: keep the
 *   message and try again after vdm_scmi_ops::eventq_ready; VDM_ENOTSUP
 *   VIRTIO_SCMI_F_P2A_CHANNELS not negotiated; VDM_ESTATE device or
 *   eventq not live (before DRIVER_OK, after a reset, needing reset, the
 *   eventq not enabled or broken, also by a bad chain met in this call);
 *   VDM_EINVAL (NULL,
 *   @p len below 4 or above VDM_SCMI_MSG_MAX).
 */
VDM_API int vdm_scmi_send_p2a(struct vdm_scmi *scmi, const uint8_t *msg,
                              uint32_t len);

/** @brief 1 when VIRTIO_SCMI_F_P2A_CHANNELS is negotiated, else 0. */
VDM_API int vdm_scmi_p2a(const struct vdm_scmi *scmi);

/** @brief Commands at the host (live and abandoned by a reset). */
VDM_API uint32_t vdm_scmi_in_flight(const struct vdm_scmi *scmi);

/** @brief The device this SCMI device was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_scmi_dev(const struct vdm_scmi *scmi);

#ifdef __cplusplus
}
#endif
#endif
