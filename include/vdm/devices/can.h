/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file can.h
 * @brief CAN device (virtio-can, spec "CAN Device", device id 36).
 *
 * A CAN controller on a bus the host provides (a physical controller, a
 * virtual bus between virtual machines, or both). Queue 0 (Txq) carries the
 * driver's frames to the bus, queue 1 (Rxq) the bus's frames to the driver,
 * queue 2 (Controlq) the START and STOP requests.
 *
 * **Controller mode.** The controller starts STOPPED. START and STOP go to
 * the host (vdm_can_ops::start / stop, optional) and are answered when the
 * host returns. STOP, a bus-off (vdm_can_bus_off()) and a device reset
 * while started answer every frame still at the host with
 * VDM_CAN_RESULT_NOT_OK; the host forgets the tokens it was given (a late
 * vdm_can_tx_done() with one of them is refused, harmlessly).
 *
 * **Transmission.** Each Txq chain is a struct virtio_can_tx_out
 * (VDM_CAN_HDR_BYTES) followed by `length` bytes of payload (none for an RTR
 * frame), then one device-writable result byte. Every field is checked
 * before the frame reaches the host, and a frame that breaks a rule is
 * answered VDM_CAN_RESULT_NOT_OK and never transmitted: msg_type other than
 * VDM_CAN_MSG_TX; a flag bit other than FD, EXTENDED, RTR; a frame type not
 * negotiated (classic without VDM_CAN_F_CAN_CLASSIC, FD without
 * VDM_CAN_F_CAN_FD, RTR without VDM_CAN_F_RTR_FRAMES, RTR with FD); an id
 * beyond 11 bits (standard) or 29 bits (extended); a length above 8
 * (classic) or 64 (FD) or an FD length no DLC encodes (0..8, 12, 16, 20,
 * 24, 32, 48, 64); `reserved_classic_dlc` other than 0 unless a classic
 * frame of length 8 carries a DLC of 8..15; non-zero `padding` or
 * `reserved_xl_priority`; a payload shorter than `length`; the controller
 * STOPPED. A valid frame goes to vdm_can_ops::transmit with a token; the
 * host calls vdm_can_tx_done() with it when the bus took the frame (or
 * failed to). With VDM_CAN_F_LATE_TX_ACK negotiated the chain is marked
 * used only then ("after the CAN controller acknowledged the successful
 * transmission"); without it, as soon as the host accepted the frame.
 * Frames reach the host in ring order.
 *
 * **Reception.** The host delivers each frame of the bus with
 * vdm_can_receive(): checked the same way against the negotiated features,
 * written into the next Rxq buffer as a struct virtio_can_rx followed by the
 * payload (none for RTR), used length VDM_CAN_HDR_BYTES + payload.
 *
 * **Bus-off.** vdm_can_bus_off() sets VDM_CAN_S_CTRL_BUSOFF in the
 * configuration status, stops the controller and sends a configuration
 * change notification; a successful START clears the bit.
 *
 * Each kind of guest error is logged once per reset. Threads: one thread at
 * a time; the host hooks are called on the thread that drives the device,
 * and vdm_can_tx_done(), vdm_can_receive(), vdm_can_bus_off() must be called
 * there (possibly from inside a hook).
 */
#ifndef VDM_DEVICES_CAN_H
#define VDM_DEVICES_CAN_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (Txq, Rxq, Controlq). */
#define VDM_CAN_NUM_QUEUES 3u
/** @brief Index of the Txq. */
#define VDM_CAN_QUEUE_TX 0u
/** @brief Index of the Rxq. */
#define VDM_CAN_QUEUE_RX 1u
/** @brief Index of the Controlq. */
#define VDM_CAN_QUEUE_CONTROL 2u

/** @name Feature bits
 * @{ */
#define VDM_CAN_F_CAN_CLASSIC (1ull << 0) /**< Classic frames (8 bytes). */
#define VDM_CAN_F_CAN_FD      (1ull << 1) /**< CAN FD frames (64 bytes). */
#define VDM_CAN_F_RTR_FRAMES  (1ull << 2) /**< RTR frames (classic only). */
#define VDM_CAN_F_LATE_TX_ACK                                                  \
    (1ull << 3) /**< Txq used after the bus took                               \
                     the frame. */
/** @} */

/** @brief Size of struct virtio_can_config. */
#define VDM_CAN_CONFIG_BYTES 2u
/** @brief Config space offset of le16 status. */
#define VDM_CAN_CFG_STATUS 0u
/** @brief Config status bit: the controller went bus-off (stopped). */
#define VDM_CAN_S_CTRL_BUSOFF 0x1u

/** @brief Bytes of struct virtio_can_tx_out / virtio_can_rx before sdu. */
#define VDM_CAN_HDR_BYTES 16u
/** @brief Bytes of struct virtio_can_tx_in. */
#define VDM_CAN_TX_IN_BYTES 1u
/** @brief Bytes of struct virtio_can_control_out. */
#define VDM_CAN_CONTROL_OUT_BYTES 2u
/** @brief Bytes of struct virtio_can_control_in. */
#define VDM_CAN_CONTROL_IN_BYTES 1u

/** @name Message types (msg_type)
 * @{ */
#define VDM_CAN_MSG_TX              0x0001u /**< Txq: transmit a frame. */
#define VDM_CAN_MSG_RX              0x0101u /**< Rxq: a received frame. */
#define VDM_CAN_SET_CTRL_MODE_START 0x0201u /**< Controlq: start. */
#define VDM_CAN_SET_CTRL_MODE_STOP  0x0202u /**< Controlq: stop. */
/** @} */

/** @name Results (tx_in / control_in result)
 * @{ */
#define VDM_CAN_RESULT_OK     0u /**< Done. */
#define VDM_CAN_RESULT_NOT_OK 1u /**< Refused or failed. */
/** @} */

/** @name Frame flags (le32 flags)
 * @{ */
#define VDM_CAN_FLAGS_FD       0x4000u /**< CAN FD frame. */
#define VDM_CAN_FLAGS_EXTENDED 0x8000u /**< 29-bit identifier. */
#define VDM_CAN_FLAGS_RTR      0x2000u /**< Remote transmission request. */
/** @} */

/** @brief Largest standard (11-bit) identifier. */
#define VDM_CAN_SFF_MAX 0x7ffu
/** @brief Largest extended (29-bit) identifier. */
#define VDM_CAN_EFF_MAX 0x1fffffffu
/** @brief Most payload bytes of a classic frame. */
#define VDM_CAN_CLASSIC_MAX 8u
/** @brief Most payload bytes of a CAN FD frame. */
#define VDM_CAN_FD_MAX 64u

/** @brief Most spans of one request. */
#define VDM_CAN_IOV_MAX 8u
/** @brief Bytes of opaque storage for one CAN device. */
#define VDM_CAN_SIZE 256u
/** @brief Bytes of request slots for @p tx_slots frames at the host at once
 *         (vdm_can_config::storage): three queues of tx_slots + 1 slots of
 *         64 bytes plus VDM_CAN_IOV_MAX spans of 16 bytes per request. */
#define VDM_CAN_STORAGE_BYTES(tx_slots)                                        \
    ((3u * ((size_t)(tx_slots) + 1u) * 64u) +                                  \
     (3u * (size_t)(tx_slots) * (size_t)VDM_CAN_IOV_MAX * 16u))
/** @brief Most frames at the host at once. */
#define VDM_CAN_MAX_TX_SLOTS 1024u

/** @brief A CAN device: opaque caller-owned storage. */
struct vdm_can {
    alignas(8) unsigned char opaque[VDM_CAN_SIZE]; /**< Library state. */
};

/** @brief One CAN frame as the host sees it (host byte order). */
struct vdm_can_frame {
    uint32_t can_id; /**< Identifier: 11 bits, or 29 with EXTENDED. */
    uint32_t flags;  /**< VDM_CAN_FLAGS_*. */
    uint16_t length; /**< Payload bytes (RTR: the requested length). */
    /** DLC 9..15 of a classic frame of length 8 (8..15), else 0
     *  (virtio's reserved_classic_dlc). */
    uint8_t dlc;
    uint8_t reserved0;  /**< Must be 0. */
    uint32_t reserved1; /**< Must be 0. */
    uint8_t data[64];   /**< Payload (@ref length bytes; none for RTR). */
};

/** @brief What the CAN device asks of the host's bus (const table). */
struct vdm_can_ops {
    uint32_t size; /**< sizeof(struct vdm_can_ops), set by VDM_INIT. */
    /** Put frame @p f (valid and negotiated) on the bus. @return 0: accepted;
     *  the host calls vdm_can_tx_done() with @p token once, now (from inside
     *  this call) or later, unless a stop, bus-off or reset made it forget
     *  the token. Negative VDM_E*: refused, the driver gets NOT_OK.
     *  Required. */
    int (*transmit)(void *host, const struct vdm_can_frame *f, uintptr_t token);
    /** Optional: join the bus (START). @return 0 or negative (NOT_OK). */
    int (*start)(void *host);
    /** Optional: leave the bus (STOP, reset while started) and drop every
     *  frame not yet transmitted; forget their tokens. @return 0 or
     *  negative (NOT_OK; the device is stopped all the same). */
    int (*stop)(void *host);
    /** Optional: the driver added Rxq buffers (a host holding back frames
     *  for want of buffers may deliver them now). */
    void (*rx_ready)(void *host);
};

/** @brief CAN device configuration, caller-filled with VDM_INIT. */
struct vdm_can_config {
    uint32_t size;     /**< sizeof(struct vdm_can_config). */
    uint32_t tx_slots; /**< Frames at the host at once, 1..1024. */
    /** VDM_CAN_F_* the bus supports and the device offers: CLASSIC and/or
     *  FD (at least one), RTR only with CLASSIC, LATE_TX_ACK when the host
     *  learns when the bus took a frame. */
    uint64_t features;
    const struct vdm_can_ops *ops; /**< The bus (required). */
    void *host;                    /**< Passed to @ref ops hooks. */
    /** VDM_CAN_STORAGE_BYTES(tx_slots) bytes, 8-aligned, caller-owned. */
    void *storage;
    uint64_t storage_bytes; /**< Its size. */
};

/**
 * @brief Make @p dev a CAN device.
 *
 * Copies @p base (its num_queues must be 0 or 3), sets class, state and
 * features (the CAN bits of @p cfg, the ring features less IN_ORDER, the
 * platform bits of base->features) and calls vdm_dev_init(). @p can,
 * @p dev and the storage must stay in place for the device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, no transmit hook, bad feature set,
 *         tx_slots out of range, storage too small or misaligned);
 *         VDM_ESIZE (a struct's size field too small); or what
 *         vdm_dev_init() returns.
 */
VDM_API int vdm_can_init(struct vdm_can *can, struct vdm_dev *dev,
                         const struct vdm_can_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief The bus took (or failed to take) the frame handed over with
 *        @p token: with VDM_CAN_F_LATE_TX_ACK the driver's request is marked
 *        used now with @p result.
 * @param can    the device.
 * @param token  the token vdm_can_ops::transmit received.
 * @param result VDM_CAN_RESULT_OK or VDM_CAN_RESULT_NOT_OK.
 * @return 0; VDM_ENOENT when the token names no frame at the host any more
 *         (already answered: no LATE_TX_ACK, stop, bus-off, reset; or
 *         forged): nothing to do; VDM_EINVAL (NULL, bad result).
 */
VDM_API int vdm_can_tx_done(struct vdm_can *can, uintptr_t token,
                            uint32_t result);

/**
 * @brief A frame arrived from the bus: write it into the next Rxq buffer.
 * @return 1 delivered; 0 no Rxq buffer now (keep or drop it;
 *         vdm_can_ops::rx_ready tells when the driver adds some);
 *         VDM_ESTATE (device not live or controller stopped: not on the
 *         bus); VDM_ENOTSUP (a frame type not negotiated); VDM_EINVAL
 *         (NULL, or a field out of range); VDM_ENOSPC (the driver's buffer
 *         was too small: it is returned empty and the frame is dropped).
 */
VDM_API int vdm_can_receive(struct vdm_can *can, const struct vdm_can_frame *f);

/**
 * @brief The controller went bus-off: set VDM_CAN_S_CTRL_BUSOFF, stop, answer
 *        every frame at the host NOT_OK (the host forgets their tokens) and
 *        notify a configuration change.
 * @return frames answered; VDM_ESTATE when the controller was not started;
 *         VDM_EINVAL (NULL).
 */
VDM_API int vdm_can_bus_off(struct vdm_can *can);

/** @brief 1 when the controller is started, 0 when stopped, or a negative
 *         VDM_E* code. */
VDM_API int vdm_can_started(const struct vdm_can *can);

/** @brief The device this CAN device was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_can_dev(const struct vdm_can *can);

#ifdef __cplusplus
}
#endif
#endif
