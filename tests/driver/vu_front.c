/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user front-end for tests, fuzz seeds and the daemon tests: message
 * framing and payload layouts ("Vhost-user Protocol", QEMU
 * docs/interop/vhost-user.rst), and a Unix socket transport.
 */
#include "vu_front.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "drv.h"

/* vhost-user messages are in the host's byte order (the front-end and the
 * back-end share the machine), unlike the rings, which are little-endian. */
static void ne_put32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void ne_put64(void *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t ne_get32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t ne_get64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

void vu_front_init(struct vu_front *f, vu_front_send_fn send, void *ctx,
                   uint8_t *reply, uint32_t cap, uint32_t *rlen)
{
    memset(f, 0, sizeof(*f));
    f->send = send;
    f->ctx = ctx;
    f->sock = -1;
    f->reply = reply != NULL ? reply : f->own_reply;
    f->reply_cap = reply != NULL ? cap : (uint32_t)sizeof(f->own_reply);
    f->rlen = rlen != NULL ? rlen : &f->own_rlen;
}

int vu_front_sendfds(int sock, const void *buf, uint32_t len,
                     const int32_t *fds, uint32_t nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 64)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {(void *)(uintptr_t)buf, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    if (nfds > 64) {
        errno = EINVAL;
        return -1;
    }
    if (nfds > 0) {
        struct cmsghdr *c;
        int v[64];

        for (uint32_t i = 0; i < nfds; i++)
            v[i] = fds[i];
        memset(&ctrl, 0, sizeof(ctrl));
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), v, sizeof(int) * (size_t)nfds);
    }
    return (int)sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Socket transport: 0 when the whole message went out, else -1. */
static int sock_send(void *ctx, const uint8_t *msg, uint32_t len,
                     const int32_t *fds, uint32_t nfds, uint8_t *reply,
                     uint32_t cap, uint32_t *rlen)
{
    struct vu_front *f = ctx;

    (void)reply;
    (void)cap;
    *rlen = 0;
    return vu_front_sendfds(f->sock, msg, len, fds, nfds) == (int)len ? 0 : -1;
}

void vu_front_adopt(struct vu_front *f, int sock)
{
    struct timeval tv = {.tv_sec = 10};

    vu_front_init(f, sock_send, f, NULL, 0, NULL);
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    f->sock = sock;
}

int vu_front_connect(struct vu_front *f, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int s;

    vu_front_init(f, sock_send, f, NULL, 0, NULL);
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    strcpy(sa.sun_path, path);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(s);
        return -1;
    }
    vu_front_adopt(f, s);
    return 0;
}

void vu_front_close(struct vu_front *f)
{
    if (f->sock >= 0)
        close(f->sock);
    f->sock = -1;
}

int vu_front_raw(struct vu_front *f, const void *msg, uint32_t len,
                 const int32_t *fds, uint32_t nfds)
{
    *f->rlen = 0;
    return f->send(f->ctx, msg, len, fds, nfds, f->reply, f->reply_cap,
                   f->rlen);
}

int vu_front_msg(struct vu_front *f, uint32_t req, uint32_t flags,
                 const void *p, uint32_t len, const int32_t *fds, uint32_t nfds)
{
    if (len > sizeof(f->buf) - VDM_VHOST_USER_HDR_BYTES)
        len = (uint32_t)sizeof(f->buf) - VDM_VHOST_USER_HDR_BYTES;
    ne_put32(f->buf, req);
    ne_put32(f->buf + 4, VDM_VHOST_USER_VERSION | flags);
    ne_put32(f->buf + 8, len);
    if (len > 0)
        memcpy(f->buf + VDM_VHOST_USER_HDR_BYTES, p, len);
    return vu_front_raw(f, f->buf, VDM_VHOST_USER_HDR_BYTES + len, fds, nfds);
}

int vu_front_u64(struct vu_front *f, uint32_t req, uint32_t flags, uint64_t v,
                 const int32_t *fds, uint32_t nfds)
{
    uint8_t p[8];

    ne_put64(p, v);
    return vu_front_msg(f, req, flags, p, 8, fds, nfds);
}

int vu_front_state(struct vu_front *f, uint32_t req, uint32_t flags,
                   uint32_t idx, uint32_t num)
{
    uint8_t p[8];

    ne_put32(p, idx);
    ne_put32(p + 4, num);
    return vu_front_msg(f, req, flags, p, 8, NULL, 0);
}

int vu_front_addr(struct vu_front *f, uint32_t flags, uint32_t idx,
                  uint64_t desc, uint64_t used, uint64_t avail)
{
    uint8_t p[40];

    memset(p, 0, sizeof(p));
    ne_put32(p, idx);
    ne_put64(p + 8, desc);
    ne_put64(p + 16, used);
    ne_put64(p + 24, avail);
    return vu_front_msg(f, VDM_VHOST_USER_SET_VRING_ADDR, flags, p, 40, NULL,
                        0);
}

void vu_front_put_region(uint8_t *p, const struct vu_front_region *r)
{
    ne_put64(p, r->gpa);
    ne_put64(p + 8, r->size);
    ne_put64(p + 16, r->uva);
    ne_put64(p + 24, r->off);
}

int vu_front_mem_table(struct vu_front *f, uint32_t flags,
                       const struct vu_front_region *r, uint32_t n,
                       const int32_t *fds)
{
    uint8_t p[8 + 32 * VDM_VHOST_USER_MEM_TABLE_MAX];

    if (n > VDM_VHOST_USER_MEM_TABLE_MAX)
        n = VDM_VHOST_USER_MEM_TABLE_MAX;
    memset(p, 0, 8);
    ne_put32(p, n);
    for (uint32_t i = 0; i < n; i++)
        vu_front_put_region(p + 8 + 32 * i, &r[i]);
    return vu_front_msg(f, VDM_VHOST_USER_SET_MEM_TABLE, flags, p, 8 + 32 * n,
                        fds, n);
}

int vu_front_mem_reg(struct vu_front *f, uint32_t req, uint32_t flags,
                     const struct vu_front_region *r, int32_t fd)
{
    uint8_t p[40];

    memset(p, 0, 8);
    vu_front_put_region(p + 8, r);
    return vu_front_msg(f, req, flags, p, 40, fd >= 0 ? &fd : NULL,
                        fd >= 0 ? 1 : 0);
}

int vu_front_config(struct vu_front *f, uint32_t req, uint32_t flags,
                    uint32_t off, uint32_t size, const void *data, uint32_t len)
{
    uint8_t p[12 + VDM_VHOST_USER_MAX_CONFIG];

    if (len > VDM_VHOST_USER_MAX_CONFIG)
        len = VDM_VHOST_USER_MAX_CONFIG;
    ne_put32(p, off);
    ne_put32(p + 4, size);
    ne_put32(p + 8, 0);
    if (data != NULL)
        memcpy(p + 12, data, len);
    else
        memset(p + 12, 0, len);
    return vu_front_msg(f, req, flags, p, 12 + len, NULL, 0);
}

int vu_front_ring(struct vu_front *f, uint32_t flags, uint32_t q, uint32_t num,
                  uint32_t base, uint64_t desc, uint64_t used, uint64_t avail,
                  int32_t kick, int32_t call)
{
    int rc;

    if ((rc = vu_front_state(f, VDM_VHOST_USER_SET_VRING_NUM, flags, q, num)) !=
            0 ||
        (rc = vu_front_state(f, VDM_VHOST_USER_SET_VRING_BASE, flags, q,
                             base)) != 0 ||
        (rc = vu_front_addr(f, flags, q, desc, used, avail)) != 0 ||
        (rc = vu_front_u64(f, VDM_VHOST_USER_SET_VRING_KICK, flags, q, &kick,
                           1)) != 0)
        return rc;
    return vu_front_u64(f, VDM_VHOST_USER_SET_VRING_CALL, flags, q, &call, 1);
}

int vu_front_recv(struct vu_front *f, uint32_t req)
{
    uint8_t *h = f->reply;
    uint32_t size;

    *f->rlen = 0;
    if (f->sock < 0 || f->reply_cap < VDM_VHOST_USER_HDR_BYTES)
        return -1;
    if (recv(f->sock, h, VDM_VHOST_USER_HDR_BYTES, MSG_WAITALL) !=
        VDM_VHOST_USER_HDR_BYTES)
        return -1;
    size = ne_get32(h + 8);
    if (ne_get32(h) != req ||
        ne_get32(h + 4) != (VDM_VHOST_USER_VERSION | VDM_VHOST_USER_F_REPLY) ||
        size > f->reply_cap - VDM_VHOST_USER_HDR_BYTES)
        return -1;
    if (size > 0 && recv(f->sock, h + VDM_VHOST_USER_HDR_BYTES, size,
                         MSG_WAITALL) != (ssize_t)size)
        return -1;
    *f->rlen = VDM_VHOST_USER_HDR_BYTES + size;
    return (int)size;
}

uint64_t vu_front_reply_u64(const struct vu_front *f)
{
    if (*f->rlen < VDM_VHOST_USER_HDR_BYTES + 8)
        return 0;
    return ne_get64(f->reply + VDM_VHOST_USER_HDR_BYTES);
}
