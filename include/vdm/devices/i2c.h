/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file i2c.h
 * @brief I2C adapter device (virtio-i2c, spec "I2C Adapter Device", device
 *        id 34).
 *
 * One queue, the requestq. Each request is one segment of an I2C
 * transaction: an 8-byte out header {le16 addr, le16 padding, le32 flags}
 * the device reads, an optional buffer (device-readable for a write,
 * device-writable for a read, absent for a zero-length request such as
 * SMBus Quick) and a 1-byte in header (status) the device writes last.
 *
 * **Groups.** Requests with VIRTIO_I2C_FLAGS_FAIL_NEXT set belong to one
 * group with the next request; the first request with the flag clear ends
 * the group. A group is handed to the host as one combined transfer
 * (vdm_i2c_ops::transfer: the messages of a Linux I2C_RDWR, with repeated
 * starts between them), which is how write-then-read register accesses
 * work. The host reports how many leading messages succeeded; the first
 * failed request gets VIRTIO_I2C_MSG_ERR and so does every later request
 * of its group (spec "Device Operation": a device MUST set the first failed
 * request's status to ERR and MAY fail the rest of the group). A group
 * whose requests have not all arrived waits for the rest (drivers queue a
 * whole transfer before they notify).
 *
 * **Order.** Requests are processed in queue order and one group is at the
 * host at a time ("MUST guarantee the requests ... being processed in
 * order"): while a group is at the host, the queue is not read further;
 * vdm_i2c_complete() resumes it.
 *
 * **Validation** (without a host call; the request, and with it its group,
 * fails with VIRTIO_I2C_MSG_ERR): reserved flag bits set; an address that
 * is neither a 7-bit nor a 10-bit encoding of the spec's table; a read
 * (M_RD) with a device-readable buffer or a write with a device-writable
 * one (the direction must match the buffer); a buffer above
 * VDM_I2C_MSG_MAX bytes; a group of more than VDM_I2C_GROUP_MAX requests.
 * A request without a writable status byte cannot be answered: it is
 * returned with used length 0 and ends a group like a failure. A chain of
 * more than VDM_I2C_IOV_MAX spans fails like an invalid request (ERR in its
 * status byte, its group failing with it). Each kind of guest error is
 * logged once per reset.
 *
 * **Features.** VIRTIO_I2C_F_ZERO_LENGTH_REQUEST is always offered and a
 * driver that does not accept it is refused at FEATURES_OK (spec: the
 * device "MUST reject any driver that doesn't negotiate this feature").
 * There is no configuration space.
 *
 * Threads: one thread at a time; vdm_i2c_complete() is called on the thread
 * that drives the device (possibly from inside the transfer hook).
 */
#ifndef VDM_DEVICES_I2C_H
#define VDM_DEVICES_I2C_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (requestq). */
#define VDM_I2C_NUM_QUEUES 1
/** @brief Index of the requestq. */
#define VDM_I2C_QUEUE_REQUEST 0

/** @brief Feature: zero-length requests and the M_RD flag (mandatory). */
#define VDM_I2C_F_ZERO_LENGTH_REQUEST (1ull << 0)

/** @brief Bytes of struct virtio_i2c_out_hdr on the wire. */
#define VDM_I2C_OUT_HDR_BYTES 8
/** @brief Bytes of struct virtio_i2c_in_hdr on the wire. */
#define VDM_I2C_IN_HDR_BYTES 1

/** @name out_hdr.flags bits
 * @{ */
/** This request and the next one form a group. */
#define VDM_I2C_FLAGS_FAIL_NEXT 0x1u
/** Read request (buffer written by the device). */
#define VDM_I2C_FLAGS_M_RD 0x2u
/** @} */

/** @name in_hdr.status values
 * @{ */
#define VDM_I2C_MSG_OK  0 /**< Success. */
#define VDM_I2C_MSG_ERR 1 /**< Failure. */
/** @} */

/** @brief Most requests in one group (one combined transfer); this is
 *         also the most messages a Linux I2C_RDWR carries. */
#define VDM_I2C_GROUP_MAX 42
/** @brief Most bytes in one request's buffer (an I2C message length is
 *         16 bits wide in Linux and most controllers). */
#define VDM_I2C_MSG_MAX 65535u
/** @brief Most spans of one request chain (header, buffer and status,
 *         with room for buffers crossing memory regions). */
#define VDM_I2C_IOV_MAX 6
/** @brief Bytes of opaque storage for one I2C adapter device. */
#define VDM_I2C_SIZE 10240

/** @name vdm_i2c_msg::flags
 * @{ */
/** Read: the device fills the buffer from the bus. */
#define VDM_I2C_MSG_RD 0x1u
/** vdm_i2c_msg::addr is a 10-bit address. */
#define VDM_I2C_MSG_TEN 0x2u
/** @} */

/** @brief An I2C adapter device: opaque caller-owned storage. */
struct vdm_i2c {
    alignas(8) unsigned char opaque[VDM_I2C_SIZE]; /**< Library state. */
};

/**
 * @brief One message of a combined transfer, as the host sees it.
 *
 * The buffer is the request's guest memory, already mapped and
 * bounds-checked, in `niov` spans whose lengths add up to `len`: the
 * host reads them for a write and fills them for a read (each span
 * completely), and touches them no more once it has called
 * vdm_i2c_complete().
 */
struct vdm_i2c_msg {
    uint16_t addr;             /**< 7-bit (0..0x7f) or 10-bit address. */
    uint16_t flags;            /**< VDM_I2C_MSG_RD, VDM_I2C_MSG_TEN. */
    uint32_t len;              /**< Buffer bytes (0: zero-length). */
    const struct vdm_iov *iov; /**< The buffer's spans. */
    uint32_t niov;             /**< Entries of @ref iov. */
    uint32_t reserved;         /**< 0. */
};

/** @brief What the I2C adapter asks of the host's bus (const table). */
struct vdm_i2c_ops {
    uint32_t size; /**< sizeof(struct vdm_i2c_ops), set by VDM_INIT. */
    /**
     * Run @p n messages as one combined transfer (required). Return 0 when
     * accepted: the host then calls vdm_i2c_complete() with @p token
     * exactly once, now (from inside this call) or later. A negative
     * return fails the whole group now (do not complete the token).
     */
    int (*transfer)(void *host, const struct vdm_i2c_msg *msgs, uint32_t n,
                    void *token);
};

/** @brief I2C adapter configuration, caller-filled with VDM_INIT. */
struct vdm_i2c_config {
    uint32_t size;                 /**< sizeof(struct vdm_i2c_config). */
    uint32_t reserved;             /**< Must be 0. */
    const struct vdm_i2c_ops *ops; /**< The bus (required). */
    void *host;                    /**< Passed to @ref ops hooks. */
};

/**
 * @brief Make @p dev an I2C adapter device.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues must be 0 or 1), sets the class, state and features
 * (VIRTIO_I2C_F_ZERO_LENGTH_REQUEST, the ring features less IN_ORDER, and
 * the platform bits of base->features) and calls vdm_dev_init(). Both
 * @p i2c and @p dev must stay in place for the device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, no transfer hook, bad num_queues or
 *         reserved field); VDM_ESIZE (a struct's size field too small); or
 *         what vdm_dev_init() returns.
 */
VDM_API int vdm_i2c_init(struct vdm_i2c *i2c, struct vdm_dev *dev,
                         const struct vdm_i2c_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief Complete the transfer the host accepted with @p token.
 *
 * Writes every request's status (the first @p done messages OK, the rest
 * ERR; @p done < 0 fails all), returns the chains to the driver, notifies
 * it, and goes on with the requests that waited behind the group.
 * @return 0; VDM_ESTATE when the group was abandoned by a reset (dropped:
 *         no guest memory access); VDM_EINVAL for a token that is not the
 *         group at the host.
 */
VDM_API int vdm_i2c_complete(struct vdm_i2c *i2c, void *token, int done);

/**
 * @brief Requests accepted by the host and not completed (0 or 1: one
 *        group at a time), including one abandoned by a reset.
 */
VDM_API uint32_t vdm_i2c_in_flight(const struct vdm_i2c *i2c);

/** @brief The device this I2C adapter was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_i2c_dev(const struct vdm_i2c *i2c);

#ifdef __cplusplus
}
#endif
#endif
