/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vu_front.h
 * @brief vhost-user *front-end* for tests, the daemon tests and the fuzz
 *        seed generator: message framing, the payload layouts of the
 *        requests, the usual set-up sequences and a socket transport.
 *
 * A front-end hands every message it builds (header and payload, plus the
 * file descriptors it carries) to a transport: a back-end in the same
 * process (vdm_vhost_user_handle()), a Unix socket (vu_front_connect(),
 * SCM_RIGHTS), or an encoder that records messages as fuzz input. The
 * rings behind a front-end are the driver simulator's (drv.h).
 *
 * Every field is little-endian on the wire (drv_put_le*). Test code: hosted
 * C11; the socket transport needs Linux.
 */
#ifndef VDM_TESTS_VU_FRONT_H
#define VDM_TESTS_VU_FRONT_H

#include <stdint.h>

#include "vdm/vhost_user.h"

/** Largest message the front-end builds (room for oversized payloads). */
#define VU_FRONT_MAX_MSG (VDM_VHOST_USER_MAX_MSG + 64)

/**
 * @brief Transport: deliver one whole message.
 *
 * @p reply / @p cap / @p rlen: where an in-process back-end puts its reply
 * (the front-end's reply buffer); a transport without immediate replies
 * sets *rlen to 0 (read them with vu_front_recv()).
 * @return what the caller of vu_front_msg() gets back.
 */
typedef int (*vu_front_send_fn)(void *ctx, const uint8_t *msg, uint32_t len,
                                const int32_t *fds, uint32_t nfds,
                                uint8_t *reply, uint32_t cap, uint32_t *rlen);

/** @brief One front-end. */
struct vu_front {
    vu_front_send_fn send; /**< transport */
    void *ctx;             /**< its context */
    int sock;              /**< socket transport: the connection, else -1 */
    uint8_t *reply;        /**< reply buffer (in-process: filled by send) */
    uint32_t reply_cap;    /**< its size */
    uint32_t *rlen;        /**< reply length (header included) */
    uint32_t own_rlen;     /**< storage for rlen unless the caller gives it */
    uint8_t own_reply[VDM_VHOST_USER_MAX_MSG]; /**< default reply buffer */
    uint8_t buf[VU_FRONT_MAX_MSG];             /**< message being built */
};

/** @brief A memory region as SET_MEM_TABLE / ADD_MEM_REG describe it. */
struct vu_front_region {
    uint64_t gpa;  /**< guest-physical address */
    uint64_t size; /**< bytes */
    uint64_t uva;  /**< front-end user address */
    uint64_t off;  /**< mmap offset in its file */
};

/** @brief Front-end on transport @p send. @p reply (NULL: the front-end's
 *  own) receives replies; @p rlen (NULL: own) their length. */
void vu_front_init(struct vu_front *f, vu_front_send_fn send, void *ctx,
                   uint8_t *reply, uint32_t cap, uint32_t *rlen);

/** @brief Front-end on a Unix socket: connect to @p path (10 s receive
 *  timeout). @return 0, or -1 (errno set). */
int vu_front_connect(struct vu_front *f, const char *path);
/** @brief Front-end on a Unix stream socket already connected (one end of
 *  a socketpair, say): it becomes the front-end's (closed by
 *  vu_front_close()); 10 s receive timeout. */
void vu_front_adopt(struct vu_front *f, int sock);
/** @brief Close the socket (if any). */
void vu_front_close(struct vu_front *f);
/** @brief sendmsg() @p len bytes with @p nfds descriptors (SCM_RIGHTS) on a
 *  socket. @return bytes sent or -1. */
int vu_front_sendfds(int sock, const void *buf, uint32_t len,
                     const int32_t *fds, uint32_t nfds);

/** @brief Send raw bytes as one message (hostile framing). */
int vu_front_raw(struct vu_front *f, const void *msg, uint32_t len,
                 const int32_t *fds, uint32_t nfds);
/** @brief Send request @p req with @p flags (the version bits are added)
 *  and payload @p p of @p len bytes. */
int vu_front_msg(struct vu_front *f, uint32_t req, uint32_t flags,
                 const void *p, uint32_t len, const int32_t *fds,
                 uint32_t nfds);
/** @brief Payload: one u64 (features, ring index with its fd, status). */
int vu_front_u64(struct vu_front *f, uint32_t req, uint32_t flags, uint64_t v,
                 const int32_t *fds, uint32_t nfds);
/** @brief Payload: vring state {u32 index, u32 num}. */
int vu_front_state(struct vu_front *f, uint32_t req, uint32_t flags,
                   uint32_t idx, uint32_t num);
/** @brief SET_VRING_ADDR {index, flags 0, desc, used, avail, log 0}
 *  (front-end user addresses). */
int vu_front_addr(struct vu_front *f, uint32_t flags, uint32_t idx,
                  uint64_t desc, uint64_t used, uint64_t avail);
/** @brief Write one region description (32 bytes) at @p p. */
void vu_front_put_region(uint8_t *p, const struct vu_front_region *r);
/** @brief SET_MEM_TABLE of @p n regions, one fd each. */
int vu_front_mem_table(struct vu_front *f, uint32_t flags,
                       const struct vu_front_region *r, uint32_t n,
                       const int32_t *fds);
/** @brief ADD_MEM_REG / REM_MEM_REG of one region (@p fd < 0: none). */
int vu_front_mem_reg(struct vu_front *f, uint32_t req, uint32_t flags,
                     const struct vu_front_region *r, int32_t fd);
/** @brief Config access header {offset, size, flags} then @p len bytes of
 *  @p data (GET_CONFIG: zeros when @p data is NULL). */
int vu_front_config(struct vu_front *f, uint32_t req, uint32_t flags,
                    uint32_t off, uint32_t size, const void *data,
                    uint32_t len);

/**
 * @brief Ring set-up as a front-end starts a ring: SET_VRING_NUM, _BASE,
 *        _ADDR, _KICK, _CALL (in that order, each with @p flags).
 * @return 0, or the first non-zero transport result.
 */
int vu_front_ring(struct vu_front *f, uint32_t flags, uint32_t q, uint32_t num,
                  uint32_t base, uint64_t desc, uint64_t used, uint64_t avail,
                  int32_t kick, int32_t call);

/**
 * @brief Socket transport: read one reply. Checks it answers @p req with
 *        the reply flag; copies it (header included) into the reply buffer.
 * @return its payload size, or -1 (short read, wrong request or flags,
 *         payload too big).
 */
int vu_front_recv(struct vu_front *f, uint32_t req);
/** @brief Payload of the last reply as a u64 (0 if it has none). */
uint64_t vu_front_reply_u64(const struct vu_front *f);

#endif
