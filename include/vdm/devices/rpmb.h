/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file rpmb.h
 * @brief RPMB device (virtio-rpmb, spec "RPMB Device", device id 28): a
 *        Replay Protected Memory Block as eMMC 6.6.22 defines it.
 *
 * One queue, the requestq. A request chain is a sequence of 512-byte RPMB
 * frames (struct virtio_rpmb_frame, big-endian fields) in its readable part
 * and room for the response frames in its writable part:
 *
 * | request | readable frames | writable frames |
 * |---|---|---|
 * | program key | key frame [+ RESULT_READ frame] | 1 if RESULT_READ |
 * | get write counter | 1 | 1 |
 * | data write | block_count data frames [+ RESULT_READ frame] | 1 if
 * RESULT_READ | | data read | 1 | block_count | | result read (alone) | 1 | 1:
 * the result of the last program key or write |
 *
 * The MAC is HMAC-SHA256 with the 256-bit authentication key over bytes
 * 228..511 (data, nonce, write counter, address, block count, result,
 * req_resp) of every frame of a request or response, in order; it sits in
 * the last frame. The library computes it itself (a freestanding SHA-256).
 *
 * **Checks**, in the order of the spec's device requirements, each answered
 * with its VDM_RPMB_RES_* result and nothing written: program key with a
 * block count other than 1 or a key already programmed (GENERAL_FAILURE);
 * read, write or counter without a key (NO_AUTH_KEY); a block count of 0 or
 * above max_wr_cnt/max_rd_cnt, or a number of frames that does not match it
 * (GENERAL_FAILURE); a write with the counter at 0xFFFFFFFF
 * (WRITE_COUNTER_EXPIRED); blocks beyond the capacity (ADDR_FAILURE); a
 * MAC that does not match (AUTH_FAILURE, compared in constant time); a
 * write counter other than the device's (COUNT_FAILURE: a replayed frame).
 * A host hook failing gives WRITE_FAILURE or READ_FAILURE. A readable part
 * that is not a whole number of frames, or frames in an order the table
 * does not know, is answered GENERAL_FAILURE without doing anything.
 * Every frame is read from guest memory once; written data is the copy
 * that was authenticated. Each kind of guest error is logged once per
 * reset.
 *
 * **Persistence.** The key is programmable once and the write counter is
 * monotonic; both survive a device reset. The host persists them through
 * its hooks (vdm_rpmb_ops::program_key, vdm_rpmb_ops::write, which carries
 * the new counter with the data) and hands them back at init
 * (vdm_rpmb_config::key, vdm_rpmb_config::write_counter).
 *
 * The host hooks are synchronous: a request is served completely inside
 * the queue notification. There are no feature bits; the configuration
 * space (capacity, max_wr_cnt, max_rd_cnt) is read-only.
 *
 * Threads: one thread at a time.
 */
#ifndef VDM_DEVICES_RPMB_H
#define VDM_DEVICES_RPMB_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (requestq). */
#define VDM_RPMB_NUM_QUEUES 1
/** @brief Index of the requestq. */
#define VDM_RPMB_QUEUE_REQUEST 0

/** @brief Bytes of struct virtio_rpmb_frame on the wire. */
#define VDM_RPMB_FRAME_BYTES 512u
/** @brief Bytes of one RPMB block (a half sector). */
#define VDM_RPMB_BLOCK_BYTES 256u
/** @brief Bytes of the authentication key and of a MAC. */
#define VDM_RPMB_KEY_BYTES 32u
/** @brief Bytes of the nonce. */
#define VDM_RPMB_NONCE_BYTES 16u
/** @brief Bytes of struct virtio_rpmb_config. */
#define VDM_RPMB_CONFIG_BYTES 3u

/** @name Offsets in struct virtio_rpmb_frame
 * @{ */
#define VDM_RPMB_OFF_KEY_MAC     196u /**< u8 key_mac[32]. */
#define VDM_RPMB_OFF_DATA        228u /**< u8 data[256]; MAC input starts. */
#define VDM_RPMB_OFF_NONCE       484u /**< u8 nonce[16]. */
#define VDM_RPMB_OFF_COUNTER     500u /**< be32 write_counter. */
#define VDM_RPMB_OFF_ADDRESS     504u /**< be16 address. */
#define VDM_RPMB_OFF_BLOCK_COUNT 506u /**< be16 block_count. */
#define VDM_RPMB_OFF_RESULT      508u /**< be16 result. */
#define VDM_RPMB_OFF_REQ_RESP    510u /**< be16 req_resp. */
/** @} */

/** @name Request types (req_resp of a request frame)
 * @{ */
#define VDM_RPMB_REQ_PROGRAM_KEY       0x0001u /**< Program the key. */
#define VDM_RPMB_REQ_GET_WRITE_COUNTER 0x0002u /**< Read the counter. */
#define VDM_RPMB_REQ_DATA_WRITE        0x0003u /**< Authenticated write. */
#define VDM_RPMB_REQ_DATA_READ         0x0004u /**< Authenticated read. */
#define VDM_RPMB_REQ_RESULT_READ       0x0005u /**< Result of the above. */
/** @} */

/** @name Response types (req_resp of a response frame)
 * @{ */
#define VDM_RPMB_RESP_PROGRAM_KEY 0x0100u /**< Program key result. */
#define VDM_RPMB_RESP_GET_COUNTER 0x0200u /**< Write counter. */
#define VDM_RPMB_RESP_DATA_WRITE  0x0300u /**< Data write result. */
#define VDM_RPMB_RESP_DATA_READ   0x0400u /**< Data read. */
/** @} */

/** @name Operation results (result of a response frame)
 * @{ */
#define VDM_RPMB_RES_OK                    0x0000u /**< Success. */
#define VDM_RPMB_RES_GENERAL_FAILURE       0x0001u /**< Bad request. */
#define VDM_RPMB_RES_AUTH_FAILURE          0x0002u /**< MAC mismatch. */
#define VDM_RPMB_RES_COUNT_FAILURE         0x0003u /**< Counter mismatch. */
#define VDM_RPMB_RES_ADDR_FAILURE          0x0004u /**< Out of range. */
#define VDM_RPMB_RES_WRITE_FAILURE         0x0005u /**< Host write failed. */
#define VDM_RPMB_RES_READ_FAILURE          0x0006u /**< Host read failed. */
#define VDM_RPMB_RES_NO_AUTH_KEY           0x0007u /**< Key not programmed. */
#define VDM_RPMB_RES_WRITE_COUNTER_EXPIRED 0x0080u /**< Counter at max. */
/** @} */

/** @brief Most capacity, in 128 KiB units (16 MiB). */
#define VDM_RPMB_CAPACITY_MAX 0x80u
/** @brief Blocks in one capacity unit (128 KiB / 256 B). */
#define VDM_RPMB_BLOCKS_PER_UNIT 512u
/** @brief Most blocks one write or read request takes: the largest
 *         max_wr_cnt / max_rd_cnt the device offers. */
#define VDM_RPMB_RW_MAX 16u
/** @brief Most spans of one request chain (every frame its own buffer,
 *         with room for frames crossing memory regions). */
#define VDM_RPMB_IOV_MAX 40
/** @brief Bytes of opaque storage for one RPMB device. */
#define VDM_RPMB_SIZE 6144

/** @brief An RPMB device: opaque caller-owned storage. */
struct vdm_rpmb {
    alignas(8) unsigned char opaque[VDM_RPMB_SIZE]; /**< Library state. */
};

/** @brief What the RPMB device asks of the host's storage (const table).
 *         Every hook is synchronous and required. */
struct vdm_rpmb_ops {
    uint32_t size;     /**< sizeof(struct vdm_rpmb_ops), set by VDM_INIT. */
    uint32_t reserved; /**< Must be 0. */
    /**
     * Read @p count blocks (256 bytes each) starting at block @p block
     * into @p buf (@p count * 256 bytes). The range lies inside the
     * capacity. Return 0, or a negative value (READ_FAILURE).
     */
    int (*read)(void *host, uint32_t block, uint32_t count, void *buf);
    /**
     * Write @p count blocks from @p buf at block @p block and persist
     * @p counter, the write counter after this write, as one step as far
     * as the host can make it one. Return 0; a negative value fails the
     * write (WRITE_FAILURE; the device keeps its old counter).
     */
    int (*write)(void *host, uint32_t block, uint32_t count, const void *buf,
                 uint32_t counter);
    /**
     * Persist the authentication key (@ref VDM_RPMB_KEY_BYTES bytes at
     * @p key), programmed once. Return 0; a negative value fails the
     * programming (WRITE_FAILURE; the device stays without a key).
     */
    int (*program_key)(void *host, const uint8_t *key);
};

/** @brief RPMB device configuration, caller-filled with VDM_INIT. */
struct vdm_rpmb_config {
    uint32_t size;          /**< sizeof(struct vdm_rpmb_config). */
    uint8_t capacity;       /**< 128 KiB units, 1..VDM_RPMB_CAPACITY_MAX. */
    uint8_t max_wr_cnt;     /**< Blocks per write, 1..VDM_RPMB_RW_MAX (0: the
                                 maximum). */
    uint8_t max_rd_cnt;     /**< Blocks per read, 1..VDM_RPMB_RW_MAX (0: the
                                 maximum). */
    uint8_t key_programmed; /**< 1: @ref key holds the key programmed
                                 before (persisted); 0: none yet. */
    uint32_t write_counter; /**< The persisted write counter (0 at first). */
    uint32_t reserved;      /**< Must be 0. */
    uint8_t key[VDM_RPMB_KEY_BYTES]; /**< The persisted key, if any. The
                                          library keeps a copy; wipe this
                                          one after init. */
    const struct vdm_rpmb_ops *ops;  /**< The storage (required). */
    void *host;                      /**< Passed to @ref ops hooks. */
};

/**
 * @brief Make @p dev an RPMB device.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues must be 0 or 1), sets the class, state and features (the
 * ring features and the platform bits of base->features) and calls
 * vdm_dev_init(). Both @p rpmb and @p dev must stay in place for the
 * device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, missing hook, capacity, block counts
 *         or key_programmed out of range, reserved field set, bad
 *         num_queues); VDM_ESIZE (a struct's size field too small); or what
 *         vdm_dev_init() returns.
 */
VDM_API int vdm_rpmb_init(struct vdm_rpmb *rpmb, struct vdm_dev *dev,
                          const struct vdm_rpmb_config *cfg,
                          const struct vdm_dev_config *base);

/** @brief The device's write counter (0 for a NULL or uninitialised one). */
VDM_API uint32_t vdm_rpmb_write_counter(const struct vdm_rpmb *rpmb);

/** @brief 1 when the authentication key is programmed, else 0. */
VDM_API int vdm_rpmb_key_programmed(const struct vdm_rpmb *rpmb);

/** @brief The device this RPMB device was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_rpmb_dev(const struct vdm_rpmb *rpmb);

#ifdef __cplusplus
}
#endif
#endif
