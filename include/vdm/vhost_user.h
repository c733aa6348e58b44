/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vhost_user.h
 * @brief vhost-user back-end: the message handling of the vhost-user
 *        protocol for one device, freestanding and allocation-free.
 *
 * The host (e.g. the bundled `vdm-vhost-user` daemon) owns the socket and
 * the event loop. It reads one message (header, payload and the file
 * descriptors that came with it), hands it to vdm_vhost_user_handle() and
 * sends back the reply the call produced, if any. Everything that needs an
 * operating system is a host hook: mapping and unmapping a memory region's
 * file descriptor, signalling an eventfd (used-buffer and error
 * notifications), closing a file descriptor, watching a ring's kick file
 * descriptor and sending a message on the back-end request channel.
 * File descriptors are plain `int32_t` numbers to the library; it never
 * does anything with them but hand them back to hooks.
 *
 * The front-end is untrusted (DESIGN.md "The guest is hostile"): every
 * message is checked (framing, payload size, file descriptor count, ring
 * index, sizes, address ranges, overlapping memory regions) before it
 * changes anything; a bad message is refused with a negative code (and a
 * REPLY_ACK failure when the front-end asked for one), never a crash.
 *
 * File descriptor ownership: every descriptor passed to
 * vdm_vhost_user_handle() belongs to the library from then on, whatever the
 * outcome. It either keeps it (kick, call, err, back-end channel) until it
 * is replaced, the ring is stopped or vdm_vhost_user_reset() runs, or hands
 * it back at once through the `close` hook (memory region descriptors after
 * `map`, descriptors of refused messages, stray extras).
 *
 * Memory: the table the front-end sends maps straight onto a vdm_mem region
 * table kept inside the object (vdm_vhost_user_mem(); give it to the device
 * as vdm_dev_config::mem). Ring addresses arrive as front-end user
 * addresses and are converted to guest-physical addresses through the
 * table, because descriptors carry guest-physical addresses.
 *
 * Mapping onto the device core (device.h, transport face):
 *  - SET_FEATURES walks the status machine (ACKNOWLEDGE | DRIVER, the
 *    driver features, FEATURES_OK);
 *  - a ring is started once it has its addresses and a kick file descriptor
 *    (or the no-fd flag); started rings are handed to the core (size,
 *    addresses, ring position, enable) and the device is set DRIVER_OK the
 *    first time it must run: a kick on a started ring, SET_VRING_ENABLE(1)
 *    or SET_STATUS with DRIVER_OK. A ring started after that re-synchronises
 *    the core (positions of running rings are kept);
 *  - GET_VRING_BASE stops the ring and returns its position (split: the
 *    next avail index; packed: last_avail_idx | avail_wrap << 15 in bits
 *    0-15 and used_idx | used_wrap << 15 in bits 16-31, both directions);
 *    when the last started ring stops, the core is reset;
 *  - a ring whose memory leaves the table (REM_MEM_REG, SET_MEM_TABLE)
 *    leaves the core alone, its position saved, while the other rings run
 *    on with their in-flight requests (when the device offers RING_RESET,
 *    which is then negotiated in the core only; otherwise the core is
 *    restarted); it waits, and comes back when ADD_MEM_REG or SET_MEM_TABLE
 *    bring its memory back;
 *  - used-buffer notifications from the device become a `signal` of the
 *    ring's call file descriptor; a device entering DEVICE_NEEDS_RESET
 *    signals the error file descriptors and, with the back-end channel,
 *    sends a config-change message.
 *
 * Feature bits the transport cannot carry are never offered:
 * ACCESS_PLATFORM (no IOTLB), NOTIFICATION_DATA (eventfd kicks carry no
 * data), RING_RESET, SR_IOV, ADMIN_VQ, NOTIF_CONFIG_DATA.
 *
 * Inflight I/O tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, offered
 * with the `inflight_alloc` hook): GET_INFLIGHT_FD gets a region from the
 * host, SET_INFLIGHT_FD maps the front-end's (checked completely: a
 * hostile front-end may send anything). Each queue's part (the split or
 * packed layout of the text, each queue's part 64-byte aligned) records
 * every request taken from the ring and not yet completed, in the order
 * the text gives, so that a back-end restarted after a crash resubmits
 * exactly those, in the order they were taken, before anything new, and
 * takes up the ring where the region says (not where SET_VRING_BASE says,
 * which after a crash is a guess). Without it nothing changes: tracked
 * queues only take the virtqueue's general paths.
 * Dirty-page logging (vhost-user "Migration"): VHOST_F_LOG_ALL and
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD are offered. SET_LOG_BASE maps the
 * front-end's log (its fd, size and offset) through the `map` hook
 * (unmapped through `unmap` when replaced or at vdm_vhost_user_reset())
 * and answers with a u64 (0: done). While VHOST_F_LOG_ALL is negotiated
 * the log is the memory map's dirty log (vdm_mem::log): the device kit
 * marks the pages of every buffer a device completes (the used length,
 * plus the status bytes of queues that keep them at the end), and rings
 * whose SET_VRING_ADDR carries VHOST_VRING_F_LOG mark their used-ring
 * writes at log_guest_addr. SET_LOG_FD is accepted and its fd closed.
 * A host that writes guest memory itself, outside the device kit, marks
 * it with vdm_mem_log_iov().
 *
 * Threads: one thread drives the object and its device at a time.
 * Requests handed to the host asynchronously by the device (e.g. blk) are
 * drained through the `drain` hook before GET_VRING_BASE, memory-table
 * changes and resets (docs/drain.md); without the hook the library logs a
 * warning when a ring stops with chains in flight.
 */
#ifndef VDM_VHOST_USER_H
#define VDM_VHOST_USER_H

#include "common.h"
#include "device.h"
#include "mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one vhost-user back-end. */
#define VDM_VHOST_USER_SIZE 8192
/** @brief Bytes of opaque storage for one ring's transport state. */
#define VDM_VHOST_USER_RING_SIZE 128
/** @brief Memory regions one back-end holds (GET_MAX_MEM_SLOTS answer). */
#define VDM_VHOST_USER_MAX_REGIONS 128
/** @brief Regions of one SET_MEM_TABLE message (protocol limit). */
#define VDM_VHOST_USER_MEM_TABLE_MAX 8
/** @brief Most file descriptors one message may carry. */
#define VDM_VHOST_USER_MAX_FDS 8
/** @brief Bytes of the message header (request, flags, size). */
#define VDM_VHOST_USER_HDR_BYTES 12
/** @brief Largest payload accepted (bigger ones break the framing). */
#define VDM_VHOST_USER_MAX_PAYLOAD 4096
/** @brief Largest whole message, and the reply buffer size to provide. */
#define VDM_VHOST_USER_MAX_MSG                                                 \
    (VDM_VHOST_USER_HDR_BYTES + VDM_VHOST_USER_MAX_PAYLOAD)
/** @brief Largest config space access (GET/SET_CONFIG payload). */
#define VDM_VHOST_USER_MAX_CONFIG 256

/** @brief "No file descriptor" (a ring without kick, call or err fd). */
#define VDM_VHOST_USER_NO_FD (-1)
/** @brief Kick "descriptor" meaning: no fd, poll the ring (no-fd flag). */
#define VDM_VHOST_USER_FD_POLL (-2)

/** @name Header flags
 * @{ */
#define VDM_VHOST_USER_VERSION      0x1u /**< Protocol version (bits 0-1). */
#define VDM_VHOST_USER_VERSION_MASK 0x3u /**< Version bits. */
#define VDM_VHOST_USER_F_REPLY      0x4u /**< Set on every reply. */
#define VDM_VHOST_USER_F_NEED_REPLY 0x8u /**< Front-end wants a REPLY_ACK. */
/** @} */

/** @name Front-end requests (vhost-user "Front-end message types")
 * @{ */
#define VDM_VHOST_USER_GET_FEATURES          1u  /**< reply u64 */
#define VDM_VHOST_USER_SET_FEATURES          2u  /**< u64 */
#define VDM_VHOST_USER_SET_OWNER             3u  /**< - */
#define VDM_VHOST_USER_RESET_OWNER           4u  /**< - (deprecated) */
#define VDM_VHOST_USER_SET_MEM_TABLE         5u  /**< memory table + fds */
#define VDM_VHOST_USER_SET_LOG_BASE          6u  /**< log description + fd */
#define VDM_VHOST_USER_SET_LOG_FD            7u  /**< fd (accepted, closed) */
#define VDM_VHOST_USER_SET_VRING_NUM         8u  /**< vring state */
#define VDM_VHOST_USER_SET_VRING_ADDR        9u  /**< vring address */
#define VDM_VHOST_USER_SET_VRING_BASE        10u /**< vring state */
#define VDM_VHOST_USER_GET_VRING_BASE        11u /**< vring state, reply same */
#define VDM_VHOST_USER_SET_VRING_KICK        12u /**< u64 + fd */
#define VDM_VHOST_USER_SET_VRING_CALL        13u /**< u64 + fd */
#define VDM_VHOST_USER_SET_VRING_ERR         14u /**< u64 + fd */
#define VDM_VHOST_USER_GET_PROTOCOL_FEATURES 15u /**< reply u64 */
#define VDM_VHOST_USER_SET_PROTOCOL_FEATURES 16u /**< u64 */
#define VDM_VHOST_USER_GET_QUEUE_NUM         17u /**< reply u64 */
#define VDM_VHOST_USER_SET_VRING_ENABLE      18u /**< vring state */
#define VDM_VHOST_USER_SEND_RARP             19u /**< not supported */
#define VDM_VHOST_USER_NET_SET_MTU           20u /**< not supported */
#define VDM_VHOST_USER_SET_BACKEND_REQ_FD    21u /**< fd */
#define VDM_VHOST_USER_IOTLB_MSG             22u /**< not supported */
#define VDM_VHOST_USER_SET_VRING_ENDIAN      23u /**< not supported */
#define VDM_VHOST_USER_GET_CONFIG            24u /**< config, reply same */
#define VDM_VHOST_USER_SET_CONFIG            25u /**< config */
#define VDM_VHOST_USER_POSTCOPY_END          30u /**< not supported */
#define VDM_VHOST_USER_GET_INFLIGHT_FD       31u /**< inflight desc., reply + fd */
#define VDM_VHOST_USER_SET_INFLIGHT_FD       32u /**< inflight description + fd */
#define VDM_VHOST_USER_GPU_SET_SOCKET        33u /**< to the `request` hook */
#define VDM_VHOST_USER_RESET_DEVICE          34u /**< - */
#define VDM_VHOST_USER_VRING_KICK            35u /**< not supported */
#define VDM_VHOST_USER_GET_MAX_MEM_SLOTS     36u /**< reply u64 */
#define VDM_VHOST_USER_ADD_MEM_REG           37u /**< region + fd */
#define VDM_VHOST_USER_REM_MEM_REG           38u /**< region */
#define VDM_VHOST_USER_SET_STATUS            39u /**< u64 */
#define VDM_VHOST_USER_GET_STATUS            40u /**< reply u64 */
/** @} */

/** @brief Back-end request: the device configuration changed. */
#define VDM_VHOST_USER_BACKEND_CONFIG_CHANGE_MSG 2u

/** @name Protocol feature bits (vhost-user "Protocol features")
 * @{ */
#define VDM_VHOST_USER_PROTOCOL_F_MQ           0  /**< GET_QUEUE_NUM. */
/** SET_LOG_BASE carries the log's shared memory fd. */
#define VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD 1
#define VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK 3 /**< need_reply. */
#define VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ  5  /**< Back-end channel. */
#define VDM_VHOST_USER_PROTOCOL_F_CONFIG       9  /**< GET/SET_CONFIG. */
/** GET/SET_INFLIGHT_FD (offered when the `inflight_alloc` hook is set). */
#define VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VDM_VHOST_USER_PROTOCOL_F_RESET_DEVICE 13 /**< RESET_DEVICE. */
/** ADD/REM_MEM_REG. */
#define VDM_VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VDM_VHOST_USER_PROTOCOL_F_STATUS              16 /**< SET/GET_STATUS. */
/** @} */

/** @brief Feature bit 30: the back-end speaks protocol features. */
#define VDM_VHOST_USER_F_PROTOCOL_FEATURES (1ull << 30)
/** @brief Feature bit 26: dirty logging (offered, with protocol feature
 *         LOG_SHMFD; see "Dirty-page logging" above). */
#define VDM_VHOST_F_LOG_ALL (1ull << 26)
/** @brief SET_VRING_KICK/CALL/ERR payload: ring index bits. */
#define VDM_VHOST_USER_VRING_IDX_MASK 0xffull
/** @brief SET_VRING_KICK/CALL/ERR payload: no fd in the message. */
#define VDM_VHOST_USER_VRING_NOFD (1ull << 8)

/** @brief A vhost-user back-end: opaque caller-owned storage. */
struct vdm_vhost_user {
    alignas(8) unsigned char opaque[VDM_VHOST_USER_SIZE]; /**< Library state. */
};

/** @brief One ring's transport state: opaque caller-owned storage. */
struct vdm_vhost_user_ring {
    alignas(8) unsigned char opaque[VDM_VHOST_USER_RING_SIZE]; /**< State. */
};

/**
 * @brief What the host provides (const table, VDM_INIT). `map`, `unmap`,
 *        `signal` and `close` are required; the others may be NULL.
 */
struct vdm_vhost_user_ops {
    uint32_t size; /**< sizeof(struct vdm_vhost_user_ops). */
    /**
     * Map @p len bytes of memory file descriptor @p fd starting at file
     * offset @p offset, shared and read-write, and return the address of
     * the first byte in @p hva. The library calls `close` on @p fd right
     * after (the mapping keeps its own reference). 0 or a negative VDM_E*.
     */
    int (*map)(void *host, int32_t fd, uint64_t offset, uint64_t len,
               void **hva);
    /** Undo a `map` that returned @p hva for (@p offset, @p len). */
    void (*unmap)(void *host, void *hva, uint64_t offset, uint64_t len);
    /** Signal eventfd @p fd (write the 8-byte value 1): call and err. */
    void (*signal)(void *host, int32_t fd);
    /** Close @p fd; the library will not use it again. */
    void (*close)(void *host, int32_t fd);
    /**
     * Ring @p q's kick source changed: watch @p fd for readability and call
     * vdm_vhost_user_kick() (after draining the eventfd) when it fires;
     * VDM_VHOST_USER_FD_POLL: no fd, poll the ring with vdm_vhost_user_kick()
     * from time to time; VDM_VHOST_USER_NO_FD: stop watching. Called before
     * the old fd is closed.
     */
    void (*watch_kick)(void *host, uint16_t q, int32_t fd);
    /**
     * Send @p len bytes (a complete message, header included) on the
     * back-end request channel @p fd. Optional: without it the back-end does
     * not offer VHOST_USER_PROTOCOL_F_BACKEND_REQ. 0 or negative VDM_E*.
     */
    int (*backend_send)(void *host, int32_t fd, const void *msg, uint32_t len);
    /** Log a static message (VDM_LOG_* level). May be NULL. */
    void (*log)(void *host, int level, const char *msg);
    /**
     * A front-end request the back-end does not handle itself (e.g.
     * VDM_VHOST_USER_GPU_SET_SOCKET, a device type's side channel).
     * Optional: without it such requests fail with VDM_ENOTSUP. @p payload
     * is the message body (@p len bytes), @p fds the file descriptors that
     * came with it. Set bit i of `*taken` for each fds[i] the host keeps;
     * the library closes the others. Such requests have no reply body
     * (only the REPLY_ACK the front-end may ask for, from the result).
     * @return 0 (handled) or a negative VDM_E* code.
     */
    int (*request)(void *host, uint32_t req, const void *payload, uint32_t len,
                   const int32_t *fds, uint32_t nfds, uint32_t *taken);
    /**
     * Inflight I/O tracking (vhost-user "Inflight I/O tracking"): create a
     * shared memory object of @p len bytes, filled with zeros, map it
     * shared and read-write, return its file descriptor in @p fd and the
     * address of its first byte in @p hva. The host sends @p fd with the
     * reply of the GET_INFLIGHT_FD message being handled, then closes it;
     * the library unmaps the region with `unmap` (offset 0, @p len) when it
     * is replaced or at vdm_vhost_user_reset(). Optional: without it the
     * back-end does not offer VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD.
     * @return 0 or a negative VDM_E* code.
     */
    int (*inflight_alloc)(void *host, uint64_t len, int32_t *fd, void **hva);
    /**
     * Draining (docs/drain.md): the front-end is about to take ring @p q
     * away (GET_VRING_BASE) or, with @p q = UINT16_MAX, every ring (a
     * memory-table change, RESET_DEVICE, RESET_OWNER). Requests of those
     * rings the device handed to the host (e.g. blk reads and writes not
     * yet completed) must be finished or cancelled first, because the
     * library may not put a completion in a ring the front-end has taken
     * back. Return 0 when none is left, or VDM_EAGAIN: the message is not
     * handled (vdm_vhost_user_handle() returns VDM_EAGAIN, sends nothing,
     * changes nothing and keeps no file descriptor); the host completes or
     * cancels the requests and hands the same message (and descriptors)
     * in again. Optional: without it such messages are handled at once.
     */
    int (*drain)(void *host, uint16_t q);
};

/** @brief Back-end configuration, caller-filled with VDM_INIT. */
struct vdm_vhost_user_config {
    uint32_t size;      /**< sizeof(struct vdm_vhost_user_config). */
    uint32_t num_rings; /**< Entries in @ref rings (>= the device's queues). */
    struct vdm_vhost_user_ring *rings;    /**< Caller array of rings. */
    const struct vdm_vhost_user_ops *ops; /**< Host hooks (required). */
    void *host;                           /**< Passed to the hooks. */
    /** Extra protocol features to mask out (bit n: feature n), e.g. to
     *  test a front-end without STATUS. 0 for the default set. */
    uint64_t protocol_features_off;
};

/**
 * @brief Set up a back-end with an empty memory table. Step one of three:
 *        then create the device with vdm_vhost_user_mem() as its memory,
 *        then vdm_vhost_user_attach().
 * @return 0; VDM_EINVAL (NULL, missing required hook, no rings);
 *         VDM_ESIZE (a size field too small).
 */
VDM_API int vdm_vhost_user_init(struct vdm_vhost_user *vu,
                                const struct vdm_vhost_user_config *cfg);

/**
 * @brief The guest memory map the front-end's table fills; give it to the
 *        device (vdm_dev_config::mem). Valid from vdm_vhost_user_init() on;
 *        NULL for an uninitialised object.
 */
VDM_API const struct vdm_mem *
vdm_vhost_user_mem(const struct vdm_vhost_user *vu);

/**
 * @brief Serve device @p dev (initialised with vdm_vhost_user_mem() as its
 *        memory) and install the transport as its notification sink
 *        (vdm_dev_bind()).
 * @return 0; VDM_EINVAL (NULL, the device does not use this memory map);
 *         VDM_ENOSPC (fewer rings than the device has queues);
 *         VDM_ENOTSUP (the device offers VDM_F_ADMIN_VQ or VDM_F_SUSPEND,
 *         which a vhost-user back-end cannot present).
 */
VDM_API int vdm_vhost_user_attach(struct vdm_vhost_user *vu,
                                  struct vdm_dev *dev);

/**
 * @brief Payload length announced by a message header, checked.
 * @param hdr the first VDM_VHOST_USER_HDR_BYTES bytes of a message.
 * @param[out] len the payload length that follows the header.
 * @return 0; VDM_EPROTO when the version is wrong or the payload is longer
 *         than VDM_VHOST_USER_MAX_PAYLOAD (drop the connection).
 */
VDM_API int vdm_vhost_user_payload_len(const void *hdr, uint32_t *len);

/**
 * @brief Handle one front-end message.
 *
 * @param vu        the back-end.
 * @param msg       the whole message: header then payload (native byte
 *                  order, as the protocol says).
 * @param len       bytes in @p msg (header + payload).
 * @param fds       file descriptors that came with it (may be NULL if 0).
 * @param nfds      how many (any number: extras are closed).
 * @param reply     buffer for the reply (header + payload).
 * @param reply_cap its size; VDM_VHOST_USER_MAX_MSG is always enough.
 * @param[out] reply_len bytes to send back; 0: send nothing.
 * @return 0 handled; a negative VDM_E* when the message was refused
 *         (malformed, not allowed now, unsupported): the state is unchanged
 *         except where noted, and any reply in @p reply (a REPLY_ACK failure
 *         or an error-shaped answer) should still be sent;
 *         VDM_EPROTO when the message cannot even be framed (truncated,
 *         wrong version, length mismatch): nothing to send, close the
 *         connection; VDM_EAGAIN when the `drain` hook asked to wait:
 *         nothing to send, nothing changed, the file descriptors are still
 *         the host's, hand the same message in again later. File
 *         descriptors are consumed in every other case.
 */
VDM_API int vdm_vhost_user_handle(struct vdm_vhost_user *vu, const void *msg,
                                  uint32_t len, const int32_t *fds,
                                  uint32_t nfds, void *reply,
                                  uint32_t reply_cap, uint32_t *reply_len);

/**
 * @brief The kick file descriptor of ring @p q fired (the host has drained
 *        it), or a polled ring is due: pass an available-buffer
 *        notification to the device. Starts the device on the first kick.
 *        A kick on a disabled ring is kept and delivered when the
 *        front-end enables it (SET_VRING_ENABLE).
 * @return 0 (also when kept); VDM_ERANGE (bad index); VDM_ESTATE (ring
 *         stopped or not handed to the device, device needing reset, or
 *         rings used before SET_FEATURES); VDM_EINVAL (not attached).
 */
VDM_API int vdm_vhost_user_kick(struct vdm_vhost_user *vu, uint16_t q);

/**
 * @brief 1 when ring @p q is started, enabled and running in a live
 *        device: the device may put used buffers on it. 0 otherwise.
 */
VDM_API int vdm_vhost_user_queue_ready(const struct vdm_vhost_user *vu,
                                       uint16_t q);

/**
 * @brief The front-end went away: stop every ring, reset the device, close
 *        every file descriptor the library holds, unmap every region and
 *        forget the negotiated features. The object is ready for the next
 *        front-end.
 */
VDM_API void vdm_vhost_user_reset(struct vdm_vhost_user *vu);

/** @brief Name of a front-end request ("SET_MEM_TABLE"), "UNKNOWN" if none. */
VDM_API const char *vdm_vhost_user_request_name(uint32_t request);

#ifdef __cplusplus
}
#endif
#endif
