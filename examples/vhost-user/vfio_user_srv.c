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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/vdm.h"
#include "vdm/vfio_user.h"

struct vd_vfu {
    struct vdm_vfio_user srv;
    uint32_t *pci_storage;
    uint16_t vectors;
};

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

static const struct vdm_vfio_user_ops vfu_ops = {
    .size = sizeof(struct vdm_vfio_user_ops),
    .map = f_map,
    .unmap = f_unmap,
    .signal = f_signal,
    .close = f_close,
    .log = f_log,
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
    c.ops = &vfu_ops;
    c.host = d;
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

void vd_vfu_reset(struct vdev *d)
{
    vdm_vfio_user_reset(&d->vfu->srv);
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

void vd_vfu_message(struct vdev *d)
{
    /* The device's own buffers: devices run on threads of their own. */
    uint8_t *msg = d->msgbuf, *reply = d->replybuf;
    int32_t fds[VDM_VFIO_USER_MAX_FDS];
    uint32_t nfds = 0, len = 0, rlen = 0;
    int overflow = 0, rc;
    volatile int hrc;
    uint16_t cmd;

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
    memcpy(&cmd, msg + 2, sizeof(cmd));
    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "<- %s (%u bytes, %u fds)",
               vdm_vfio_user_command_name(cmd), len, nfds);
    hrc = 1;
    GUARDED(d, hrc = vdm_vfio_user_handle(&d->vfu->srv, msg, len, fds, nfds,
                                          reply, VD_MSGBUF_BYTES, &rlen));
    if (hrc > 0)
        return; /* faulted: already disconnected */
    rc = hrc;
    if (rc == VDM_EPROTO) {
        vd_disconnect(d, "vfio-user protocol error");
        return;
    }
    /* A refused command is the client's business (its error reply says
     * why): QEMU probes for optional features this way. */
    if (rc < 0)
        vd_log(d, VDM_LOG_INFO, "%s refused: %s",
               vdm_vfio_user_command_name(cmd), vdm_strerror(rc));
    if (rlen > 0 && send_all(d->conn_fd, reply, rlen) < 0)
        vd_disconnect(d, "reply not sent");
}
