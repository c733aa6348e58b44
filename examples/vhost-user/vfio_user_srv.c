/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-vhost-user --vfio-user PATH: one device served as a virtio-pci
 * function (vdm's own PCI transport) to a vfio-user client, e.g. QEMU's
 * -device vfio-user-pci. The protocol is the library's
 * (include/vdm/vfio_user.h); here are the Linux parts: receiving messages
 * with their file descriptors, sending replies, mapping the client's DMA
 * file descriptors and writing interrupt eventfds.
 *
 * The client owns the socket's pace: one message at a time, each answered
 * before the next is read. A message that cannot be framed (a header whose
 * size is out of range, a truncated message, a command before VERSION)
 * drops that client; the listening socket then serves the next one.
 *
 * DMA regions without a file descriptor (QEMU's guest RAM when it is not
 * shareable) are reached with DMA_READ / DMA_WRITE requests the library
 * builds (bounce storage of VD_VFU_BOUNCE bytes): f_dma sends one on the
 * client socket and waits for its reply. Meanwhile the client may send
 * commands of its own. QEMU 11.1 handles our requests in its main loop
 * under its big lock, and a vCPU waiting for a REGION_READ reply holds that
 * lock: so a REGION_READ that arrives meanwhile is answered at once (the
 * library allows it), and every other command is queued and served, in
 * order, once the access that led to the request is over. QEMU posts its
 * BAR writes (doorbells) without waiting for a reply, so a doorbell never
 * holds the lock while we ask. A client that does not answer within
 * VD_VFU_DMA_WAIT_MS, or floods us with more than VD_VFU_DEFER_MAX
 * commands meanwhile, is dropped (once the library call returns).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/vdm.h"
#include "vdm/vfio_user.h"

/* DMA logging (DEVICE_FEATURE DMA_LOGGING_*): 1 MiB of bitmap logs
 * 32 GiB of guest memory at 4 KiB pages (coarser beyond); a REPORT's
 * bitmap travels in the reply (VD_REPLYBUF_BYTES, daemon.h). */
#define VD_DIRTY_BYTES (1u << 20)
/* Bounce storage for memory without an fd: the library's message buffer
 * and 8 MiB of spans (64 virtio-blk requests of 128 KiB in flight). */
#define VD_VFU_BOUNCE      (VDM_VFIO_USER_DMA_MSG + (8u << 20))
#define VD_VFU_DMA_WAIT_MS 10000 /* a reply to our request, at most */
#define VD_VFU_DEFER_MAX   64    /* client commands queued meanwhile */

/* A client command that arrived while a DMA request waited. */
struct vd_vfu_deferred {
    uint8_t *msg;
    uint32_t len, nfds;
    int32_t fds[VDM_VFIO_USER_MAX_FDS];
};

struct vd_vfu {
    struct vdm_vfio_user srv;
    uint32_t *pci_storage;
    uint16_t vectors;
    uint8_t dirty[VD_DIRTY_BYTES];
    void *bounce;
    const char *broken; /* set by f_dma: drop the client when back */
    int depth;          /* serve() calls in progress (1 + nested) */
    uint8_t nested_reply[VDM_VFIO_USER_MAX_MSG]; /* reply inside f_dma */
    unsigned dq_head, dq_len;
    struct vd_vfu_deferred dq[VD_VFU_DEFER_MAX];
};

static void serve(struct vdev *d, uint8_t *msg, uint32_t len, int32_t *fds,
                  uint32_t nfds);

/* ------------------------------------------------------------------------ */
/* Host hooks (host = struct vdev) */

static int f_map(void *host, int32_t fd, uint64_t offset, uint64_t len,
                 uint32_t access, void **hva)
{
    struct vdev *d = host;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), skip = offset % page;
    int prot = 0;
    struct stat st;
    void *p;

    /* A mapping past the end of the file would fault on access: check the
     * client's claim against the file. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        vd_log(d, VDM_LOG_ERROR, "DMA fd is not a regular file");
        return VDM_EINVAL;
    }
    if (len == 0 || offset > UINT64_MAX - len ||
        offset + len > (uint64_t)st.st_size || len + skip > SIZE_MAX) {
        vd_log(d, VDM_LOG_ERROR,
               "DMA region (offset %#llx, size %#llx) beyond its file "
               "(%lld bytes)",
               (unsigned long long)offset, (unsigned long long)len,
               (long long)st.st_size);
        return VDM_EINVAL;
    }
    if (access & VDM_MEM_READ)
        prot |= PROT_READ;
    if (access & VDM_MEM_WRITE)
        prot |= PROT_WRITE;
    /* mmap wants a page-aligned offset: map from the page holding the
     * first byte (f_unmap finds that page again from the address). */
    p = mmap(NULL, (size_t)(len + skip), prot != 0 ? prot : PROT_NONE,
             MAP_SHARED | MAP_NORESERVE, fd, (off_t)(offset - skip));
    if (p == MAP_FAILED) {
        vd_log(d, VDM_LOG_ERROR, "mmap of a DMA region: %s", strerror(errno));
        return VDM_EIO;
    }
    *hva = (uint8_t *)p + skip;
    vd_log(d, VDM_LOG_DEBUG, "mapped %#llx DMA bytes at file offset %#llx",
           (unsigned long long)len, (unsigned long long)offset);
    return 0;
}

static void f_unmap(void *host, void *hva, uint64_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)hva, base = a - a % page;
    (void)host;
    munmap((void *)base, (size_t)(len + (a - base)));
}

static void f_signal(void *host, int32_t fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vd_log(host, VDM_LOG_DEBUG, "eventfd write: %s", strerror(errno));
}

static void f_close(void *host, int32_t fd)
{
    (void)host;
    close(fd);
}

static void f_log(void *host, int level, const char *msg)
{
    vd_log(host, level, "%s", msg);
}

static int send_all(int fd, const uint8_t *buf, size_t len);

/* Receive the rest of a message whose header is in @p buf. 0 or -1. */
static int recv_rest(struct vdev *d, uint8_t *buf, uint32_t len, int32_t *fds,
                     uint32_t *nfds)
{
    int overflow = 0;
    if (len <= VDM_VFIO_USER_HDR_BYTES)
        return 0;
    return vd_recv_full(d, buf + VDM_VFIO_USER_HDR_BYTES,
                        len - VDM_VFIO_USER_HDR_BYTES, fds, nfds,
                        VDM_VFIO_USER_MAX_FDS, &overflow) == 0
               ? 0
               : -1;
}

/* The library's DMA_READ / DMA_WRITE request: send it, wait for its reply
 * (answering REGION_READs and queueing other commands meanwhile). Nothing
 * here drops the client: the library is still running, so f_dma only
 * notes why (vd_vfu_after() drops it). */
static int f_dma(void *host, void *msg, uint32_t len, uint32_t cap,
                 uint32_t *reply_len)
{
    struct vdev *d = host;
    struct vd_vfu *v = d->vfu;
    uint8_t *m = msg;
    uint16_t id, rcmd;

    if (d->conn_fd < 0 || v->broken != NULL)
        return VDM_EIO;
    memcpy(&id, m, sizeof(id));
    memcpy(&rcmd, m + 2, sizeof(rcmd));
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "-> %s (%u bytes)",
               vdm_vfio_user_command_name(rcmd), len);
    if (send_all(d->conn_fd, m, len) < 0) {
        v->broken = "DMA request not sent";
        return VDM_EIO;
    }
    for (;;) {
        struct pollfd pfd = {.fd = d->conn_fd, .events = POLLIN};
        uint8_t h[VDM_VFIO_USER_HDR_BYTES];
        int32_t fds[VDM_VFIO_USER_MAX_FDS];
        uint32_t nfds = 0, size, flags;
        uint16_t rid, cmd;
        int overflow = 0, rc;

        rc = poll(&pfd, 1, VD_VFU_DMA_WAIT_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            v->broken = "no reply to a DMA request";
            return VDM_EIO;
        }
        rc = vd_recv_full(d, h, sizeof(h), fds, &nfds, VDM_VFIO_USER_MAX_FDS,
                          &overflow);
        if (rc == 0 && vdm_vfio_user_msg_len(h, &size) < 0)
            rc = -1;
        if (rc != 0) {
            for (uint32_t i = 0; i < nfds; i++)
                close(fds[i]);
            v->broken = "connection lost during a DMA request";
            return VDM_EIO;
        }
        memcpy(&rid, h, 2);
        memcpy(&cmd, h + 2, 2);
        memcpy(&flags, h + 8, 4);
        if ((flags & VDM_VFIO_USER_F_TYPE_MASK) != VDM_VFIO_USER_F_TYPE_CMD) {
            /* a reply: ours, whole, without fds; else the stream is lost */
            for (uint32_t i = 0; i < nfds; i++)
                close(fds[i]);
            if (rid != id || size > cap || nfds != 0) {
                v->broken = "unexpected reply from the client";
                return VDM_EPROTO;
            }
            memcpy(m, h, sizeof(h));
            if (recv_rest(d, m, size, fds, &nfds) < 0 || nfds != 0) {
                for (uint32_t i = 0; i < nfds; i++)
                    close(fds[i]);
                v->broken = "truncated reply from the client";
                return VDM_EIO;
            }
            *reply_len = size;
            return 0;
        }
        /* a command of the client's */
        uint8_t *c = malloc(size);
        if (c == NULL || v->dq_len == VD_VFU_DEFER_MAX) {
            free(c);
            for (uint32_t i = 0; i < nfds; i++)
                close(fds[i]);
            v->broken = c == NULL ? "out of memory"
                                  : "too many commands during a DMA request";
            return VDM_EIO;
        }
        memcpy(c, h, sizeof(h));
        if (recv_rest(d, c, size, fds, &nfds) < 0) {
            free(c);
            for (uint32_t i = 0; i < nfds; i++)
                close(fds[i]);
            v->broken = "truncated message from the client";
            return VDM_EIO;
        }
        if (cmd == VDM_VFIO_USER_REGION_READ && nfds == 0 && v->dq_len == 0) {
            /* answered now: the client may hold what its DMA handler
             * needs until it has this reply. Behind queued commands it
             * waits with them (a read never passes a posted write), and
             * a client holding its lock across it stalls until one side's
             * timeout. */
            serve(d, c, size, fds, 0);
            free(c);
            if (d->conn_fd < 0 || v->broken != NULL)
                return VDM_EIO;
            continue;
        }
        struct vd_vfu_deferred *q =
            &v->dq[(v->dq_head + v->dq_len) % VD_VFU_DEFER_MAX];
        q->msg = c;
        q->len = size;
        q->nfds = nfds;
        memcpy(q->fds, fds, nfds * sizeof(fds[0]));
        v->dq_len++;
    }
}

static const struct vdm_vfio_user_ops vfu_ops = {
    .size = sizeof(struct vdm_vfio_user_ops),
    .map = f_map,
    .unmap = f_unmap,
    .signal = f_signal,
    .close = f_close,
    .log = f_log,
    .dma = f_dma,
};

/* ------------------------------------------------------------------------ */

int vd_vfu_init(struct vdev *d)
{
    struct vdm_vfio_user_config c = VDM_INIT(struct vdm_vfio_user_config);
    int rc;

    d->vfu = calloc(1, sizeof(*d->vfu));
    if (d->vfu == NULL) {
        vd_log(d, VDM_LOG_ERROR, "out of memory");
        return -1;
    }
    /* 8-byte aligned, touched only as spans are used */
    d->vfu->bounce = malloc(VD_VFU_BOUNCE);
    if (d->vfu->bounce == NULL) {
        vd_log(d, VDM_LOG_ERROR, "out of memory");
        return -1;
    }
    c.ops = &vfu_ops;
    c.host = d;
    c.dirty_bitmap = d->vfu->dirty;
    c.dirty_bytes = sizeof(d->vfu->dirty);
    c.bounce = d->vfu->bounce;
    c.bounce_size = VD_VFU_BOUNCE;
    rc = vdm_vfio_user_init(&d->vfu->srv, &c);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "vfio-user init: %s", vdm_strerror(rc));
        return -1;
    }
    d->base.mem = vdm_vfio_user_mem(&d->vfu->srv);
    return 0;
}

int vd_vfu_attach(struct vdev *d)
{
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
    /* the administration queue (admin-vq=on) has a vector like the rest */
    uint16_t nq = (uint16_t)(vdm_dev_num_queues(&d->dev) +
                             vdm_dev_admin_queue_num(&d->dev));
    size_t words;
    int rc;

    /* One MSI-X vector per queue and one for configuration changes, as
     * QEMU's virtio-pci gives by default. */
    d->vfu->vectors =
        (uint16_t)(nq + 1u > VDM_VFIO_USER_MAX_MSIX ? VDM_VFIO_USER_MAX_MSIX
                                                    : nq + 1u);
    words = VDM_PCI_STORAGE_WORDS(nq, d->vfu->vectors);
    d->vfu->pci_storage = calloc(words, sizeof(uint32_t));
    if (d->vfu->pci_storage == NULL) {
        vd_log(d, VDM_LOG_ERROR, "out of memory");
        return -1;
    }
    pc.msix_vectors = d->vfu->vectors;
    pc.storage = d->vfu->pci_storage;
    pc.storage_words = (uint32_t)words;
    rc = vdm_vfio_user_attach(&d->vfu->srv, &d->dev, &pc);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "vfio-user attach: %s", vdm_strerror(rc));
        return -1;
    }
    return 0;
}

/* Forget the queued commands of a client that is gone. */
static void drop_deferred(struct vd_vfu *v)
{
    while (v->dq_len > 0) {
        struct vd_vfu_deferred *q = &v->dq[v->dq_head];
        for (uint32_t i = 0; i < q->nfds; i++)
            close(q->fds[i]);
        free(q->msg);
        v->dq_head = (v->dq_head + 1) % VD_VFU_DEFER_MAX;
        v->dq_len--;
    }
    v->dq_head = 0;
}

void vd_vfu_reset(struct vdev *d)
{
    vdm_vfio_user_reset(&d->vfu->srv);
    drop_deferred(d->vfu);
    d->vfu->broken = NULL;
}

void vd_vfu_after(struct vdev *d)
{
    struct vd_vfu *v = d->vfu;

    if (v == NULL || d->conn_fd < 0)
        return;
    /* serve what came during DMA requests, in order; more may queue up */
    while (v->dq_len > 0 && v->broken == NULL && d->conn_fd >= 0) {
        struct vd_vfu_deferred q = v->dq[v->dq_head];
        v->dq_head = (v->dq_head + 1) % VD_VFU_DEFER_MAX;
        v->dq_len--;
        serve(d, q.msg, q.len, q.fds, q.nfds);
        free(q.msg);
    }
    if (v->broken != NULL && d->conn_fd >= 0)
        vd_disconnect(d, v->broken);
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Hand one whole client message to the library and send its reply. */
static void serve(struct vdev *d, uint8_t *msg, uint32_t len, int32_t *fds,
                  uint32_t nfds)
{
    /* one reply buffer per nesting level: a REGION_READ answered inside
     * f_dma is served while the outer message's reply is not built yet */
    struct vd_vfu *v = d->vfu;
    int nested = v->depth > 0; /* inside f_dma: the library call goes on */
    uint8_t *reply = nested ? v->nested_reply : d->replybuf;
    uint32_t cap = nested ? (uint32_t)sizeof(v->nested_reply)
                          : (uint32_t)VD_REPLYBUF_BYTES;
    uint32_t rlen = 0;
    volatile int hrc;
    uint16_t cmd;
    int rc;

    memcpy(&cmd, msg + 2, sizeof(cmd));
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "<- %s (%u bytes, %u fds)",
               vdm_vfio_user_command_name(cmd), len, nfds);
    sigjmp_buf *outer = vd_fault_jmp; /* the library call f_dma is in */
    hrc = 1;
    v->depth++;
    GUARDED(d, hrc = vdm_vfio_user_handle(&v->srv, msg, len, fds, nfds, reply,
                                          cap, &rlen));
    v->depth--;
    vd_fault_jmp = outer;
    if (hrc > 0)
        return; /* faulted: already disconnected */
    rc = hrc;
    if (rc == VDM_EPROTO) {
        if (nested)
            d->vfu->broken = "vfio-user protocol error";
        else
            vd_disconnect(d, "vfio-user protocol error");
        return;
    }
    /* A refused command is the client's business (its error reply says
     * why): QEMU probes for optional features this way. */
    if (rc < 0)
        vd_log(d, VDM_LOG_INFO, "%s refused: %s",
               vdm_vfio_user_command_name(cmd), vdm_strerror(rc));
    if (rlen > 0 && d->conn_fd >= 0 &&
        send_all(d->conn_fd, reply, rlen) < 0) {
        if (nested)
            d->vfu->broken = "reply not sent";
        else
            vd_disconnect(d, "reply not sent");
    }
}

void vd_vfu_message(struct vdev *d)
{
    /* The device's own buffer: devices run on threads of their own. */
    uint8_t *msg = d->msgbuf;
    int32_t fds[VDM_VFIO_USER_MAX_FDS];
    uint32_t nfds = 0, len = 0;
    int overflow = 0, rc;

    vd_vfu_after(d); /* anything queued came before this message */
    if (d->conn_fd < 0)
        return;

    rc = vd_recv_full(d, msg, VDM_VFIO_USER_HDR_BYTES, fds, &nfds,
                      VDM_VFIO_USER_MAX_FDS, &overflow);
    if (rc == 0 && vdm_vfio_user_msg_len(msg, &len) < 0)
        rc = -2;
    if (rc == 0 && len > VDM_VFIO_USER_HDR_BYTES) {
        rc = vd_recv_full(d, msg + VDM_VFIO_USER_HDR_BYTES,
                          len - VDM_VFIO_USER_HDR_BYTES, fds, &nfds,
                          VDM_VFIO_USER_MAX_FDS, &overflow);
        if (rc == 1)
            rc = -1; /* end of file inside a message */
    }
    if (rc != 0) {
        for (uint32_t i = 0; i < nfds; i++)
            close(fds[i]);
        vd_disconnect(d, rc == 1    ? NULL
                         : rc == -2 ? "malformed vfio-user header"
                                    : "truncated vfio-user message");
        return;
    }
    /* More fds than max_msg_fds: the library closes those it is given and
     * refuses the message; the rest were closed on receipt. */
    serve(d, msg, len, fds, nfds);
    vd_vfu_after(d);
}
