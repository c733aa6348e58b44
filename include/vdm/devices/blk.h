/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file blk.h
 * @brief virtio-blk device type (spec "Block Device").
 *
 * One vdm_blk turns a vdm_dev into a VIRTIO block device. It knows no
 * transport: bind the vdm_dev to MMIO, PCI or vhost-user as usual. The host
 * provides the storage through @ref vdm_blk_ops ("host driver calls"); every
 * data call is asynchronous: it returns 0 when accepted and the host later
 * calls vdm_blk_complete() with the token it was given (possibly from inside
 * the call itself).
 *
 * Supported: VIRTIO_BLK_T_IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES;
 * features SIZE_MAX, SEG_MAX (always offered), GEOMETRY, RO, BLK_SIZE,
 * FLUSH, TOPOLOGY, CONFIG_WCE, MQ, DISCARD, WRITE_ZEROES, plus the ring
 * features of the vdm virtqueue except IN_ORDER (blk completes out of
 * order). Any other request type completes with VIRTIO_BLK_S_UNSUPP.
 * DISCARD and WRITE_ZEROES may be left out of the library
 * (VDM_CONFIG_BLK_DISCARD 0, vdm/config.h): then neither is offered and
 * both complete with VIRTIO_BLK_S_UNSUPP.
 *
 * Malformed requests (spec "Device Operation", DESIGN.md "The guest is
 * hostile"): the 16-byte header is copied once into a local before it is
 * looked at and may span several descriptors; the status byte is the last
 * byte of the device-writable part. A request without a complete header,
 * with a data length not a multiple of 512 (IN/OUT), reaching beyond
 * capacity (overflow-safe), a write on a read-only device, or bad
 * discard/write-zeroes segments completes with VIRTIO_BLK_S_IOERR (unknown
 * segment flags: VIRTIO_BLK_S_UNSUPP). A chain with no device-writable byte
 * at all has nowhere to put a status: it is returned with 0 bytes written
 * (and logged), never given to the host. A chain longer than the request's
 * span array (see @ref vdm_blk_config::iov_per_req) is returned the same way.
 *
 * Used length: exactly the bytes written into the device-writable part,
 * data plus the status byte (IN: data length + 1 on success, GET_ID: the
 * id bytes written + 1, everything else and every error: 1).
 *
 * Threads: with VIRTIO_BLK_F_MQ each queue is independent and may be driven
 * by its own thread: everything a request touches is per queue (its slot
 * range in @ref vdm_blk_config::reqs and its iov storage). The rules:
 *  - vdm_blk_process() for queue q and vdm_blk_complete() for a request of
 *    queue q run on the thread that owns queue q (or are serialised with it);
 *    vdm_blk_token_queue() tells which queue a token belongs to;
 *  - everything else (transport register accesses, reset, config,
 *    vdm_blk_set_capacity()) runs on the control thread while no queue
 *    thread is inside the library.
 *
 * Reset: a device reset (or a RING_RESET queue reset) with requests still at
 * the host abandons them: the library never touches their guest buffers or
 * the queue again. Their slots stay reserved until the host completes them;
 * that completion is recognised as stale, dropped and answered with
 * VDM_ESTATE. The host should cancel or finish such requests promptly: the
 * spans it was given point into guest memory the guest may reuse.
 */
#ifndef VDM_DEVICES_BLK_H
#define VDM_DEVICES_BLK_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Feature bits (spec "Block Device / Feature bits")
 * @{ */
#define VDM_BLK_F_SIZE_MAX     (1ull << 1)  /**< size_max is valid. */
#define VDM_BLK_F_SEG_MAX      (1ull << 2)  /**< seg_max is valid. */
#define VDM_BLK_F_GEOMETRY     (1ull << 4)  /**< geometry is valid. */
#define VDM_BLK_F_RO           (1ull << 5)  /**< Read-only device. */
#define VDM_BLK_F_BLK_SIZE     (1ull << 6)  /**< blk_size is valid. */
#define VDM_BLK_F_FLUSH        (1ull << 9)  /**< FLUSH command. */
#define VDM_BLK_F_TOPOLOGY     (1ull << 10) /**< topology is valid. */
#define VDM_BLK_F_CONFIG_WCE   (1ull << 11) /**< writeback is writable. */
#define VDM_BLK_F_MQ           (1ull << 12) /**< num_queues is valid. */
#define VDM_BLK_F_DISCARD      (1ull << 13) /**< DISCARD command. */
#define VDM_BLK_F_WRITE_ZEROES (1ull << 14) /**< WRITE_ZEROES command. */
/** @} */

/** @name Request types (spec "Block Device / Device Operation")
 * @{ */
#define VDM_BLK_T_IN           0u  /**< Read sectors. */
#define VDM_BLK_T_OUT          1u  /**< Write sectors. */
#define VDM_BLK_T_FLUSH        4u  /**< Flush the write cache. */
#define VDM_BLK_T_GET_ID       8u  /**< Read the device id string. */
#define VDM_BLK_T_GET_LIFETIME 10u /**< Not supported (UNSUPP). */
#define VDM_BLK_T_DISCARD      11u /**< Discard sector ranges. */
#define VDM_BLK_T_WRITE_ZEROES 13u /**< Zero sector ranges. */
#define VDM_BLK_T_SECURE_ERASE 14u /**< Not supported (UNSUPP). */
/** @} */

/** @name Request status byte values
 * @{ */
#define VDM_BLK_S_OK     0u /**< VIRTIO_BLK_S_OK. */
#define VDM_BLK_S_IOERR  1u /**< VIRTIO_BLK_S_IOERR: device or driver error. */
#define VDM_BLK_S_UNSUPP 2u /**< VIRTIO_BLK_S_UNSUPP: request unsupported. */
/** @} */

/** @brief Protocol sector size in bytes (always 512, whatever blk_size). */
#define VDM_BLK_SECTOR_SIZE 512u
/** @brief Length of the device id string returned by GET_ID. */
#define VDM_BLK_ID_BYTES 20u
/** @brief Bytes of a request header (type, reserved, sector). */
#define VDM_BLK_HDR_BYTES 16u
/** @brief Bytes of one discard / write-zeroes segment. */
#define VDM_BLK_SEG_BYTES 16u
/** @brief Segment flag: write zeroes may deallocate (spec `unmap`). */
#define VDM_BLK_SEG_F_UNMAP 1u

/** @name Config space layout (struct virtio_blk_config byte offsets)
 * @{ */
#define VDM_BLK_CFG_CAPACITY            0u  /**< le64 capacity (sectors). */
#define VDM_BLK_CFG_SIZE_MAX            8u  /**< le32 size_max. */
#define VDM_BLK_CFG_SEG_MAX             12u /**< le32 seg_max. */
#define VDM_BLK_CFG_CYLINDERS           16u /**< le16 geometry.cylinders. */
#define VDM_BLK_CFG_HEADS               18u /**< u8 geometry.heads. */
#define VDM_BLK_CFG_SECTORS             19u /**< u8 geometry.sectors. */
#define VDM_BLK_CFG_BLK_SIZE            20u /**< le32 blk_size. */
#define VDM_BLK_CFG_PHYS_BLOCK_EXP      24u /**< u8 topology.physical_block_exp. */
#define VDM_BLK_CFG_ALIGN_OFFSET        25u /**< u8 topology.alignment_offset. */
#define VDM_BLK_CFG_MIN_IO_SIZE         26u /**< le16 topology.min_io_size. */
#define VDM_BLK_CFG_OPT_IO_SIZE         28u /**< le32 topology.opt_io_size. */
#define VDM_BLK_CFG_WRITEBACK           32u /**< u8 writeback. */
#define VDM_BLK_CFG_NUM_QUEUES          34u /**< le16 num_queues. */
#define VDM_BLK_CFG_MAX_DISCARD_SECTORS 36u /**< le32 max_discard_sectors. */
#define VDM_BLK_CFG_MAX_DISCARD_SEG     40u /**< le32 max_discard_seg. */
#define VDM_BLK_CFG_DISCARD_ALIGN       44u /**< le32 discard_sector_alignment. */
#define VDM_BLK_CFG_MAX_WZ_SECTORS      48u /**< le32 max_write_zeroes_sectors. */
#define VDM_BLK_CFG_MAX_WZ_SEG          52u /**< le32 max_write_zeroes_seg. */
#define VDM_BLK_CFG_WZ_MAY_UNMAP        56u /**< u8 write_zeroes_may_unmap. */
/** Config space size: through unused1 (secure erase and zoned not offered). */
#define VDM_BLK_CONFIG_BYTES 60u
/** @} */

/** @name vdm_blk_config::flags
 * @{ */
#define VDM_BLK_RO    1u /**< Read-only: offer RO, writes get IOERR. */
#define VDM_BLK_FLUSH 2u /**< Offer FLUSH (needs ops->flush). */
#define VDM_BLK_WCE   4u /**< Offer CONFIG_WCE (needs VDM_BLK_FLUSH). */
/** Cache starts in writeback mode (needs VDM_BLK_FLUSH); else writethrough. */
#define VDM_BLK_WRITEBACK 8u
#define VDM_BLK_TOPOLOGY  16u /**< Offer TOPOLOGY (the topology fields). */
#define VDM_BLK_DISCARD   32u /**< Offer DISCARD (needs ops->discard). */
/** Offer WRITE_ZEROES (needs ops->write_zeroes). */
#define VDM_BLK_WRITE_ZEROES 64u
#define VDM_BLK_WZ_MAY_UNMAP 128u /**< write_zeroes_may_unmap = 1. */
/** @} */

/** @brief Bytes of opaque storage for one block device. */
#define VDM_BLK_SIZE 512
/** @brief Bytes of one in-flight request slot. */
#define VDM_BLK_REQ_SIZE 128

/** @brief A block device: opaque caller-owned storage. */
struct vdm_blk {
    alignas(8) unsigned char opaque[VDM_BLK_SIZE]; /**< Library state. */
};

/** @brief One request slot: opaque caller-owned storage. */
struct vdm_blk_req {
    alignas(8) unsigned char opaque[VDM_BLK_REQ_SIZE]; /**< Library state. */
};

/**
 * @brief Request slots for @p nq queues of at most @p qsize entries
 *        (qsize = vdm_dev_config::queue_size_max): one per ring entry plus
 *        one per queue for its bookkeeping.
 */
#define VDM_BLK_REQS(nq, qsize) ((size_t)(nq) * ((size_t)(qsize) + 1u))
/**
 * @brief Least spans per request for @p seg_max data segments: the data
 *        segments plus header and status. Add slack when a guest buffer can
 *        cross a memory region boundary (each crossing costs one span).
 */
#define VDM_BLK_IOV_PER_REQ(seg_max) ((uint32_t)(seg_max) + 2u)
/** @brief Entries of the caller's iov array (see vdm_blk_config::iovs). */
#define VDM_BLK_IOVS(nq, qsize, iov_per_req)                                   \
    ((size_t)(nq) * (size_t)(qsize) * (size_t)(iov_per_req))

/**
 * @brief What the block device asks of the host's storage ("host driver
 *        calls"). All calls of queue q come from the thread driving queue q.
 *
 * Data calls return 0 when accepted: the host then calls vdm_blk_complete()
 * exactly once with @p token, now (from inside the call) or later. A negative
 * return means failed now: the request completes with VIRTIO_BLK_S_IOERR and
 * the host must not complete the token.
 */
struct vdm_blk_ops {
    uint32_t size; /**< sizeof(struct vdm_blk_ops), set by VDM_INIT. */
    /** Read sectors from @p sector into the @p n spans (lengths add up to a
     *  multiple of 512). Required. */
    int (*read)(void *host, uint64_t sector, const struct vdm_iov *iov,
                uint32_t n, void *token);
    /** Write the @p n spans to @p sector. Required unless VDM_BLK_RO. */
    int (*write)(void *host, uint64_t sector, const struct vdm_iov *iov,
                 uint32_t n, void *token);
    /** Make every completed write stable. Required with VDM_BLK_FLUSH. */
    int (*flush)(void *host, void *token);
    /** Discard @p nsectors (> 0) from @p sector. Required with
     *  VDM_BLK_DISCARD. Called once per segment with the same token: each
     *  accepted call is completed separately. */
    int (*discard)(void *host, uint64_t sector, uint32_t nsectors, void *token);
    /** Zero @p nsectors (> 0) from @p sector; @p unmap 1 allows
     *  deallocation. Required with VDM_BLK_WRITE_ZEROES. Once per segment,
     *  like discard. */
    int (*write_zeroes)(void *host, uint64_t sector, uint32_t nsectors,
                        uint32_t unmap, void *token);
    /** Optional: the cache mode changed (1 writeback, 0 writethrough: commit
     *  each write before completing it). Called at FEATURES_OK, on a driver
     *  write of `writeback`, and at reset. */
    void (*set_writeback)(void *host, uint32_t writeback);
    /** Optional: queue @p q has new requests. When set, a driver
     *  notification does no I/O on the caller's thread: the host calls
     *  vdm_blk_process(blk, q) from the thread owning queue q. When NULL
     *  the queue is processed at once, inside the notification. */
    void (*kick)(void *host, uint16_t q);
};

/**
 * @brief Block device configuration, caller-filled with VDM_INIT.
 *
 * Features are offered from what is filled in: SIZE_MAX when size_max != 0,
 * GEOMETRY when any geometry field != 0, BLK_SIZE when blk_size != 0, MQ when
 * more than one queue, the rest from @ref flags. SEG_MAX is always offered.
 */
struct vdm_blk_config {
    uint32_t size;       /**< sizeof(struct vdm_blk_config). */
    uint32_t flags;      /**< VDM_BLK_RO, VDM_BLK_FLUSH, ... */
    uint64_t capacity;   /**< Size in 512-byte sectors. */
    uint32_t blk_size;   /**< Optimal block size: 0 or a power of 2 >= 512. */
    uint32_t seg_max;    /**< Most data segments per request; 0 means
                              iov_per_req - 2 (must not exceed that). */
    uint32_t size_max;   /**< Largest segment in bytes, 0: not offered.
                              Advice to the driver, not enforced. */
    uint16_t num_queues; /**< Request queues; 0 means base->num_queues. */
    uint16_t cylinders;  /**< geometry.cylinders. */
    uint8_t heads;       /**< geometry.heads. */
    uint8_t sectors;     /**< geometry.sectors. */
    uint8_t physical_block_exp; /**< topology: log2 logical per physical. */
    uint8_t alignment_offset;   /**< topology: first aligned logical block. */
    uint16_t min_io_size; /**< topology: suggested minimum I/O (blocks). */
    uint16_t reserved0;   /**< Must be 0. */
    uint32_t opt_io_size; /**< topology: optimal I/O size (blocks). */
    uint32_t max_discard_sectors;      /**< Per segment; 0 means UINT32_MAX. */
    uint32_t max_discard_seg;          /**< Segments per request; 0 means 1. */
    uint32_t discard_sector_alignment; /**< Advice, in sectors. */
    uint32_t max_write_zeroes_sectors; /**< Per segment; 0: UINT32_MAX. */
    uint32_t max_write_zeroes_seg;     /**< Per request; 0 means 1. */
    uint8_t serial[VDM_BLK_ID_BYTES];  /**< GET_ID string, NUL padded. */
    uint32_t iov_per_req;              /**< Spans per request slot, >= 3: see
                                            VDM_BLK_IOV_PER_REQ(). */
    const struct vdm_blk_ops *ops;     /**< Storage calls (required). */
    void *host;                        /**< Passed to @ref ops. */
    /** Caller array of VDM_BLK_REQS(num_queues, base->queue_size_max). */
    struct vdm_blk_req *reqs;
    /** Caller array of VDM_BLK_IOVS(num_queues, base->queue_size_max,
     *  iov_per_req) spans: the buffers of the requests in flight. */
    struct vdm_iov *iovs;
};

/**
 * @brief Make @p dev a block device.
 *
 * Checks @p cfg, then calls vdm_dev_init(@p dev, ...) with a copy of
 * @p base completed with the block device class, @p blk as its private state
 * and the offered features. From @p base: mem, ops, host, queues, slots,
 * queue_size_max and num_queues (the most queues the arrays hold); its
 * features bits 24 and up are offered in addition to the ring features
 * (VDM_F_RING_ALL), IN_ORDER always removed; its cls, priv and device-type
 * feature bits are ignored.
 * @return 0; VDM_EINVAL (NULL pointer, missing op, inconsistent flags,
 *         bad sizes); VDM_ESIZE (a struct size field too small);
 *         VDM_ENOTSUP (VDM_BLK_DISCARD, VDM_BLK_WRITE_ZEROES or
 *         VDM_BLK_WZ_MAY_UNMAP in a library built with
 *         VDM_CONFIG_BLK_DISCARD 0, vdm/config.h); or what vdm_dev_init()
 *         returns.
 */
VDM_API int vdm_blk_init(struct vdm_blk *blk, struct vdm_dev *dev,
                         const struct vdm_blk_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief Complete a request (or one segment of a discard / write zeroes)
 *        that a host call accepted.
 *
 * Writes the status byte, returns the chain to the driver and sends a
 * used-buffer notification when the driver wants one (deferred to the end
 * of the batch when called from inside a host call). Safe to call from
 * inside the host call that received @p token.
 * @param blk    the block device.
 * @param token  the token the host call received.
 * @param status VDM_BLK_S_OK, VDM_BLK_S_IOERR or VDM_BLK_S_UNSUPP; a negative
 *        VDM_E* code or any other value counts as VDM_BLK_S_IOERR.
 * @return 0; VDM_ESTATE when the request was abandoned by a reset (the
 *         completion is dropped, the slot freed); VDM_EINVAL for a token that
 *         is not in flight (already completed, or not a token): ignored.
 */
VDM_API int vdm_blk_complete(struct vdm_blk *blk, void *token, int status);

/**
 * @brief Process the requests queue @p q has (only needed when
 *        vdm_blk_ops::kick is set; harmless otherwise).
 * @return 0; VDM_EINVAL; VDM_ERANGE for a queue the device does not use.
 */
VDM_API int vdm_blk_process(struct vdm_blk *blk, uint16_t q);

/**
 * @brief The queue a token belongs to, so a host with per-queue threads can
 *        complete it on the right one.
 * @return the queue index, or VDM_EINVAL when @p token is not in flight.
 */
VDM_API int vdm_blk_token_queue(const struct vdm_blk *blk, const void *token);

/**
 * @brief Change the capacity (spec "Device Operation": the device MAY change
 *        capacity and SHOULD send a configuration change notification).
 *        Bumps the config generation and notifies the driver. Control thread
 *        only. @return 0 or VDM_EINVAL.
 */
VDM_API int vdm_blk_set_capacity(struct vdm_blk *blk, uint64_t capacity);

/** @brief Current capacity in sectors (0 for an uninitialised object). */
VDM_API uint64_t vdm_blk_capacity(const struct vdm_blk *blk);

/** @brief Current cache mode: 1 writeback, 0 writethrough. */
VDM_API uint32_t vdm_blk_writeback(const struct vdm_blk *blk);

/**
 * @brief Requests accepted by the host and not yet completed, including the
 *        ones abandoned by a reset. The host's buffers may be released (and
 *        guest memory unmapped) once this is 0.
 */
VDM_API uint32_t vdm_blk_in_flight(const struct vdm_blk *blk);

/**
 * @brief Draining (docs/drain.md): walk the requests of queue @p q that the
 *        host received and has not completed (live, or abandoned by a
 *        reset). Start with `*cursor = 0`; each call gives the next token.
 *        To finish them the host completes each as usual; to cancel them it
 *        completes each with VDM_BLK_S_IOERR (spec "Device Operation": the
 *        status of a request the device failed). Either way
 *        vdm_blk_in_flight() reaches 0 with the last one.
 * @return 1 with `*token` set; 0 at the end; VDM_ERANGE (bad queue);
 *         VDM_EINVAL (NULL argument, uninitialised object).
 */
VDM_API int vdm_blk_pending(const struct vdm_blk *blk, uint16_t q,
                            uint32_t *cursor, void **token);

/** @brief The generic device @p blk was set up on (NULL if none). */
VDM_API struct vdm_dev *vdm_blk_dev(const struct vdm_blk *blk);

#ifdef __cplusplus
}
#endif
#endif
