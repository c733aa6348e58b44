/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: memory without a file descriptor. The server reads and
 * writes it with its own requests (protocol VFIO_USER_DMA_READ,
 * VFIO_USER_DMA_WRITE, "Read and Write Operations"), which this file builds
 * and whose replies it checks; the host's `dma` hook only moves them. The
 * device reaches such memory through the memory hooks of the server's
 * memory map: a translate hands out a bounce span from the caller's
 * storage, filled by DMA_READ, and its release writes a device-writable
 * span back by DMA_WRITE (vfio_user.h, "Memory without a file
 * descriptor"). */
#include "vfio_user_internal.h"

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

#define DMA_HDR 16u /* address (8), count (8) after the message header */

/* The DMA region holding iova, or NULL. */
static const struct vfu_dma *dma_at(const struct vfu_state *s, uint64_t iova)
{
    uint32_t i;
    for (i = 0; i < s->ndma; i++) {
        const struct vfu_dma *d = &s->dma[i];
        if ((iova >= d->iova) && ((iova - d->iova) < d->size)) {
            return d;
        }
    }
    return NULL;
}

/* [iova, iova+len) lies wholly in DMA regions that allow `flag`
 * (DMA_F_READ or DMA_F_WRITE): 0 or VDM_EFAULT. Adjacent regions count. */
static int dma_allowed(const struct vfu_state *s, uint64_t iova, uint64_t len,
                       uint32_t flag)
{
    while (len != 0u) {
        const struct vfu_dma *d = dma_at(s, iova);
        uint64_t rem;
        if ((d == NULL) || ((d->flags & flag) == 0u)) {
            return VDM_EFAULT;
        }
        rem = d->size - (iova - d->iova);
        if (rem >= len) {
            break;
        }
        iova += rem;
        len -= rem;
    }
    return 0;
}

/* The largest count one request may carry: ours and the client's. */
static uint32_t xfer_max(const struct vfu_state *s)
{
    uint64_t m = s->client_max_xfer;
    return (m < (uint64_t)VDM_VFIO_USER_MAX_DATA) ? (uint32_t)m
                                                  : VDM_VFIO_USER_MAX_DATA;
}

/* Build the request header of a server-to-client command in the message
 * buffer; returns its id. */
static uint16_t put_hdr(struct vfu_state *s, uint16_t cmd, uint32_t size)
{
    uint8_t *b = s->bounce;
    uint16_t id = s->next_id;
    s->next_id = (uint16_t)(id + 1u);
    st16(b, id);
    st16(b + 2, cmd);
    st32(b + 4, size);
    st32(b + 8, VDM_VFIO_USER_F_TYPE_CMD);
    st32(b + 12, 0);
    return id;
}

/* Check the reply header now in the message buffer: the whole message
 * (rlen bytes), a reply to request `id` of command `cmd`. 0, VDM_EIO for an
 * error reply, VDM_EPROTO for anything malformed. */
static int check_hdr(const struct vfu_state *s, uint32_t rlen, uint16_t id,
                     uint16_t cmd)
{
    const uint8_t *b = s->bounce;
    uint32_t flags;
    if ((rlen < VDM_VFIO_USER_HDR_BYTES) || (rlen > VDM_VFIO_USER_DMA_MSG) ||
        (ld32(b + 4) != rlen) || (ld16(b) != id) || (ld16(b + 2) != cmd)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA reply malformed");
        return VDM_EPROTO;
    }
    flags = ld32(b + 8);
    if ((flags & VDM_VFIO_USER_F_TYPE_MASK) != VDM_VFIO_USER_F_TYPE_REPLY) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA reply not a reply");
        return VDM_EPROTO;
    }
    if ((flags & VDM_VFIO_USER_F_ERROR) != 0u) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA request refused");
        return VDM_EIO;
    }
    return 0;
}

/* Send the request of `len` bytes in the message buffer through the hook
 * and receive its reply there; the reply's length in *rlen. */
static int exchange(struct vfu_state *s, uint32_t len, uint32_t *rlen)
{
    int rc;
    *rlen = 0;
    s->in_dma = 1u;
    rc = s->dma_fn(s->host, s->bounce, len, VDM_VFIO_USER_DMA_MSG, rlen);
    s->in_dma = 0u;
    if (rc > 0) {
        rc = VDM_EIO; /* not a documented result */
    }
    return rc;
}

/* One DMA_READ of n <= xfer_max() bytes into dst. */
static int read_one(struct vfu_state *s, uint64_t iova, uint8_t *dst,
                    uint32_t n)
{
    uint8_t *b = s->bounce;
    uint32_t rlen = 0;
    uint16_t id = put_hdr(s, VDM_VFIO_USER_DMA_READ,
                          VDM_VFIO_USER_HDR_BYTES + DMA_HDR);
    int rc;

    st64(b + 16, iova);
    st64(b + 24, n);
    rc = exchange(s, VDM_VFIO_USER_HDR_BYTES + DMA_HDR, &rlen);
    if (rc == 0) {
        rc = check_hdr(s, rlen, id, VDM_VFIO_USER_DMA_READ);
    }
    if (rc != 0) {
        return rc;
    }
    /* protocol: the reply is address, count and the data read */
    if ((rlen != (VDM_VFIO_USER_HDR_BYTES + DMA_HDR + n)) ||
        (ld64(b + 16) != iova) || (ld64(b + 24) != n)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_READ reply mismatch");
        return VDM_EPROTO;
    }
    __builtin_memcpy(dst, b + VDM_VFIO_USER_HDR_BYTES + DMA_HDR, n);
    return 0;
}

/* One DMA_WRITE of n <= xfer_max() bytes from src. */
static int write_one(struct vfu_state *s, uint64_t iova, const uint8_t *src,
                     uint32_t n)
{
    uint8_t *b = s->bounce;
    uint32_t rlen = 0;
    uint32_t size = VDM_VFIO_USER_HDR_BYTES + DMA_HDR + n;
    uint16_t id = put_hdr(s, VDM_VFIO_USER_DMA_WRITE, size);
    int rc;

    st64(b + 16, iova);
    st64(b + 24, n);
    __builtin_memcpy(b + VDM_VFIO_USER_HDR_BYTES + DMA_HDR, src, n);
    rc = exchange(s, size, &rlen);
    if (rc == 0) {
        rc = check_hdr(s, rlen, id, VDM_VFIO_USER_DMA_WRITE);
    }
    if (rc != 0) {
        return rc;
    }
    /* protocol: the reply is address (8) and count (4); QEMU 11.1 sends
     * the header alone. A payload, when there is one, must match. */
    if (rlen == VDM_VFIO_USER_HDR_BYTES) {
        return 0;
    }
    if (((rlen != (VDM_VFIO_USER_HDR_BYTES + 12u)) &&
         (rlen != (VDM_VFIO_USER_HDR_BYTES + 16u))) ||
        (ld64(b + 16) != iova) || (ld32(b + 24) != n)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_WRITE reply mismatch");
        return VDM_EPROTO;
    }
    return 0;
}

/* Checks shared by the public reads and writes and the bounce hooks. */
static int can_xfer(const struct vfu_state *s)
{
    if ((s->bounce == NULL) || (s->dma_fn == NULL)) {
        return VDM_ENOTSUP;
    }
    if ((s->in_dma != 0u) || ((s->flags & XF_VERSION) == 0u) ||
        (s->client_max_xfer == 0u)) {
        return VDM_ESTATE;
    }
    return 0;
}

/* Read into dst (src NULL) or write from src (dst NULL) len bytes at iova,
 * in requests of at most xfer_max() bytes. */
static int xfer(struct vfu_state *s, uint64_t iova, uint8_t *dst,
                const uint8_t *src, uint64_t len)
{
    uint32_t max;
    uint64_t done = 0;
    int rc = can_xfer(s);

    if (rc != 0) {
        return rc;
    }
    if ((len != 0u) && ((len - 1u) > (UINT64_MAX - iova))) {
        return VDM_EFAULT;
    }
    rc = dma_allowed(s, iova, len, (src != NULL) ? DMA_F_WRITE : DMA_F_READ);
    max = xfer_max(s);
    while ((rc == 0) && (done < len)) {
        uint64_t left = len - done;
        uint32_t n = (left < (uint64_t)max) ? (uint32_t)left : max;
        if (src != NULL) {
            rc = write_one(s, iova + done, &src[done], n);
        } else {
            rc = read_one(s, iova + done, &dst[done], n);
        }
        done += n;
    }
    return rc;
}

int vdm_vfio_user_dma_read(struct vdm_vfio_user *vfu, uint64_t iova, void *dst,
                           uint64_t len)
{
    struct vfu_state *s = vdmi_vfu_state(vfu);
    if ((s == NULL) || ((dst == NULL) && (len != 0u))) {
        return VDM_EINVAL;
    }
    return xfer(s, iova, (uint8_t *)dst, NULL, len);
}

int vdm_vfio_user_dma_write(struct vdm_vfio_user *vfu, uint64_t iova,
                            const void *src, uint64_t len)
{
    struct vfu_state *s = vdmi_vfu_state(vfu);
    if ((s == NULL) || ((src == NULL) && (len != 0u))) {
        return VDM_EINVAL;
    }
    return xfer(s, iova, NULL, (const uint8_t *)src, len);
}

/* ------------------------------------------------------------------------ */
/* Bounce spans: the translate / unmap hooks of the server's memory map */

#if VDM_CONFIG_MEM_HOOKS

/* Bounce spans start at 8-byte offsets in the storage. */
static uint64_t align8(uint64_t v)
{
    return (v + 7u) & ~(uint64_t)7u;
}

/* First fit of n bytes in the bounce area: the offset, or 0 if none (the
 * area starts after the message buffer, so 0 is never a span). */
static uint64_t place(const struct vfu_state *s, uint64_t n)
{
    uint64_t at = align8(VDM_VFIO_USER_DMA_MSG);
    uint32_t i;
    int moved = 1;

    /* Move past every span that overlaps [at, at+n) until none does; each
     * pass only moves forward, so at most one pass per slot. */
    while (moved != 0) {
        moved = 0;
        if ((at > s->bounce_size) || (n > (s->bounce_size - at))) {
            return 0;
        }
        for (i = 0; i < VDM_VFIO_USER_BOUNCE_SLOTS; i++) {
            const struct vfu_slot *k = &s->slots[i];
            if ((k->len != 0u) && (k->off < (at + n)) &&
                (at < (k->off + k->len))) {
                at = align8(k->off + k->len);
                moved = 1;
            }
        }
    }
    return at;
}

static int b_translate(void *host, uint64_t addr, uint64_t len,
                       uint32_t access, void **hva, uint64_t *maplen)
{
    struct vfu_state *s = (struct vfu_state *)host;
    const struct vfu_dma *d = dma_at(s, addr);
    struct vfu_slot *k = NULL;
    uint64_t n = len;
    uint64_t off;
    uint32_t i;
    int rc;

    if ((d == NULL) || (d->hva != NULL) || ((access & VDM_MEM_KEEP) != 0u)) {
        /* not client memory without an fd, or a ring (never a copy) */
        return VDM_EFAULT;
    }
    if ((((access & VDM_MEM_WRITE) != 0u) && ((d->flags & DMA_F_WRITE) == 0u)) ||
        ((d->flags & DMA_F_READ) == 0u)) {
        return VDM_EFAULT; /* the copy is filled by a read in every case */
    }
    if (n > (d->size - (addr - d->iova))) {
        n = d->size - (addr - d->iova); /* a prefix: the rest is asked again */
    }
    if ((n == 0u) || (n > UINT32_MAX)) {
        return VDM_EFAULT;
    }
    for (i = 0; i < VDM_VFIO_USER_BOUNCE_SLOTS; i++) {
        if (s->slots[i].len == 0u) {
            k = &s->slots[i];
            break;
        }
    }
    off = (k != NULL) ? place(s, n) : 0u;
    if (off == 0u) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: bounce storage exhausted");
        return VDM_ENOSPC;
    }
    /* The copy starts as the guest's bytes, also for a device-writable
     * span: what the device leaves alone goes back unchanged. */
    rc = xfer(s, addr, &s->bounce[off], NULL, n);
    if (rc != 0) {
        return rc;
    }
    k->gpa = addr;
    k->off = off;
    k->len = (uint32_t)n;
    k->access = access;
    s->nslots++;
    *hva = s->bounce + off;
    *maplen = n;
    return 0;
}

static void b_unmap(void *host, void *hva, uint64_t len)
{
    struct vfu_state *s = (struct vfu_state *)host;
    uint32_t i;

    for (i = 0; i < VDM_VFIO_USER_BOUNCE_SLOTS; i++) {
        struct vfu_slot *k = &s->slots[i];
        if ((k->len != 0u) && ((s->bounce + k->off) == (uint8_t *)hva)) {
            if ((len > k->len) || (len == 0u)) {
                return; /* not a span this table handed out */
            }
            /* Back before the span is freed: the caller publishes the used
             * entry after this returns (vdm_kit_finish()). */
            if (((k->access & VDM_MEM_WRITE) != 0u) &&
                (s->no_writeback == 0u) &&
                (xfer(s, k->gpa, NULL, &s->bounce[k->off], len) != 0)) {
                vdmi_vfu_log(s, VDM_LOG_ERROR,
                             "vfio-user: DMA_WRITE of a device-written span "
                             "failed (data lost)");
            }
            k->len = 0;
            s->nslots--;
            return;
        }
    }
}

#endif /* VDM_CONFIG_MEM_HOOKS */

int vdmi_vfu_bounce_init(struct vfu_state *s, void *bounce, uint64_t size)
{
    if ((bounce == NULL) && (size == 0u)) {
        return 0;
    }
#if VDM_CONFIG_MEM_HOOKS
    if ((bounce == NULL) || (size < VDM_VFIO_USER_BOUNCE_MIN) ||
        (s->dma_fn == NULL)) {
        return VDM_EINVAL;
    }
    s->bounce = (uint8_t *)bounce;
    s->bounce_size = size;
    s->mops.size = sizeof(s->mops);
    s->mops.translate = b_translate;
    s->mops.unmap = b_unmap;
    s->mem.ops = &s->mops;
    s->mem.host = s;
    return 0;
#else
    (void)s;
    return VDM_ENOTSUP; /* no memory hooks in this build */
#endif
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouser_bounce_left_out;
#endif
