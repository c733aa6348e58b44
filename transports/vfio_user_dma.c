/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: DMA_MAP / DMA_UNMAP (protocol VFIO_USER_DMA_MAP,
 * VFIO_USER_DMA_UNMAP) and the memory table the device reads. Every map is
 * recorded; the fd-backed ones, mapped by the host, are also the regions of
 * the device's memory table (vdm_vfio_user_mem()), rebuilt after each
 * change. Maps without a file descriptor are recorded for the overlap and
 * unmap rules only: this server does not send DMA_READ / DMA_WRITE, so the
 * device cannot reach them (vfio_user.h). */
#include "vfio_user_internal.h"

#include <stdbool.h>

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

#define SZ_MAP   32u /* argsz, flags, offset, address, size */
#define SZ_UNMAP 24u /* argsz, flags, address, size */

static void rebuild(struct vfu_state *s)
{
    uint32_t i;
    uint32_t n = 0;
    for (i = 0; i < s->ndma; i++) {
        const struct vfu_dma *d = &s->dma[i];
        struct vdm_mem_region *r;
        if (d->hva == NULL) {
            continue;
        }
        r = &s->regions[n];
        n++;
        r->gpa = d->iova;
        r->size = d->size;
        r->hva = d->hva;
        r->flags = 0;
        if ((d->flags & DMA_F_WRITE) == 0u) {
            r->flags = VDM_MEM_REGION_RDONLY;
        }
        r->reserved = 0;
    }
    s->nregions = n;
    s->mem.nregions = n;
}

static int overlaps(const struct vfu_state *s, uint64_t iova, uint64_t size)
{
    uint32_t i;
    for (i = 0; i < s->ndma; i++) {
        const struct vfu_dma *d = &s->dma[i];
        /* [iova, iova+size) and [d->iova, d->iova+d->size), no wrap */
        if ((iova <= (d->iova + (d->size - 1u))) &&
            (d->iova <= (iova + (size - 1u)))) {
            return 1;
        }
    }
    return 0;
}

int vdmi_vfu_dma_map(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t argsz;
    uint32_t flags;
    uint64_t off;
    uint64_t iova;
    uint64_t size;
    struct vfu_dma *d;
    void *hva = NULL;
    int rc;

    if ((m->len != SZ_MAP) || (m->nfds > 1u)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_MAP malformed");
        return VDM_EINVAL;
    }
    argsz = ld32(m->p);
    flags = ld32(m->p + 4);
    off = ld64(m->p + 8);
    iova = ld64(m->p + 16);
    size = ld64(m->p + 24);
    if ((argsz < SZ_MAP) || ((flags & ~(DMA_F_READ | DMA_F_WRITE)) != 0u) ||
        (size == 0u) || (iova > (UINT64_MAX - (size - 1u))) ||
        ((m->nfds == 1u) && (m->fds[0] < 0))) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_MAP bad region");
        return VDM_EINVAL;
    }
    if (overlaps(s, iova, size) != 0) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_MAP over a mapping");
        m->err = XE_EXIST; /* protocol: "must be failed ... with EEXIST" */
        return VDM_EINVAL;
    }
    if (s->ndma == VDM_VFIO_USER_MAX_DMA) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA table full");
        return VDM_ENOSPC;
    }
    if (m->nfds == 1u) {
        uint32_t access = 0;
        if ((flags & DMA_F_READ) != 0u) {
            access |= VDM_MEM_READ;
        }
        if ((flags & DMA_F_WRITE) != 0u) {
            access |= VDM_MEM_WRITE;
        }
        /* the fd is consumed here whatever happens */
        m->used |= 1u;
        rc = s->ops->map(s->host, m->fds[0], off, size, access, &hva);
        vdmi_vfu_close(s, m->fds[0]);
        if ((rc != 0) || (hva == NULL)) {
            vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_MAP map failed");
            m->err = XE_FAULT;
            return (rc != 0) ? rc : VDM_EFAULT;
        }
    }
    d = &s->dma[s->ndma];
    s->ndma++;
    d->iova = iova;
    d->size = size;
    d->offset = off;
    d->hva = hva;
    d->flags = flags;
    d->reserved = 0;
    rebuild(s);
    return 0;
}

/* Bytes of ring area a (0 descriptors, 1 driver, 2 device) of a queue of
 * @p num entries (spec "Split Virtqueues", "Packed Virtqueues"; the event
 * fields of EVENT_IDX counted in, whether negotiated or not). */
static uint64_t ring_bytes(bool packed, int a, uint64_t num)
{
    if (a == 0) {
        return 16u * num;
    }
    if (packed) {
        return 4u;
    }
    return (a == 1) ? (6u + (2u * num)) : (6u + (8u * num));
}

/* [a, a+alen) and [b, b+blen) share a byte; lengths not 0, no wrap of
 * the second (a DMA map), the first clamped. */
static int spans_meet(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    uint64_t alast =
        (a > (UINT64_MAX - (alen - 1u))) ? UINT64_MAX : (a + (alen - 1u));
    return (a <= (b + (blen - 1u))) && (b <= alast);
}

/* Map i is about to go (protocol "VFIO_USER_DMA_UNMAP": every reference
 * released before the reply). An enabled queue with any part of its rings
 * in it would keep using addresses about to be unmapped: the queue is
 * stopped as if the driver had disabled it (the device never touches it
 * again and drops what it held of it; a reset sets it up anew). Quietly,
 * at INFO: QEMU unmaps guest memory under live rings when it exits. */
static void rings_guard(struct vfu_state *s, uint32_t i)
{
    const struct vfu_dma *d = &s->dma[i];
    uint16_t q;
    uint16_t n;
    bool packed;
    bool stopped = false;
    int a;

    if ((d->hva == NULL) || ((s->flags & XF_ATTACHED) == 0u)) {
        return;
    }
    packed = (vdm_dev_driver_features(s->dev) & VDM_F_RING_PACKED) != 0u;
    n = vdm_dev_num_queues(s->dev);
    for (q = 0; q < n; q++) {
        uint64_t gpa[3];
        uint64_t num = vdm_dev_queue_size(s->dev, q);
        if ((vdm_dev_queue_enabled(s->dev, q) != 1) ||
            (vdm_dev_queue_get_addr(s->dev, q, &gpa[0], &gpa[1], &gpa[2]) !=
             0)) {
            continue;
        }
        for (a = 0; a < 3; a++) {
            if (spans_meet(gpa[a], ring_bytes(packed, a, num), d->iova,
                           d->size) != 0) {
                (void)vdm_dev_queue_disable(s->dev, q);
                stopped = true;
                break;
            }
        }
    }
    if (stopped) {
        vdmi_vfu_log(s, VDM_LOG_INFO,
                     "vfio-user: DMA_UNMAP of memory under a running ring: "
                     "its queue stopped");
    }
}

static void drop(struct vfu_state *s, uint32_t i)
{
    struct vfu_dma *d = &s->dma[i];
    if (d->hva != NULL) {
        rings_guard(s, i);
        s->ops->unmap(s->host, d->hva, d->size);
    }
    s->ndma--;
    if (i != s->ndma) {
        s->dma[i] = s->dma[s->ndma];
    }
}

int vdmi_vfu_dma_unmap(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t argsz;
    uint32_t flags;
    uint32_t i;
    uint64_t iova;
    uint64_t size;

    if ((m->len != SZ_UNMAP) || (m->nfds != 0u)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_UNMAP malformed");
        return VDM_EINVAL;
    }
    argsz = ld32(m->p);
    flags = ld32(m->p + 4);
    iova = ld64(m->p + 8);
    size = ld64(m->p + 16);
    if ((flags & UNMAP_F_DIRTY) != 0u) {
        vdmi_vfu_log(s, VDM_LOG_INFO, "vfio-user: dirty bitmap not supported");
        return VDM_ENOTSUP;
    }
    if ((argsz < SZ_UNMAP) || ((flags & ~UNMAP_F_ALL) != 0u) ||
        (((flags & UNMAP_F_ALL) != 0u) && ((iova != 0u) || (size != 0u))) ||
        (m->rcap < SZ_UNMAP)) {
        return VDM_EINVAL;
    }
    if ((flags & UNMAP_F_ALL) != 0u) {
        vdmi_vfu_dma_clear(s);
    } else {
        /* protocol: "must match exactly a previous mapping" */
        for (i = 0; i < s->ndma; i++) {
            if ((s->dma[i].iova == iova) && (s->dma[i].size == size)) {
                break;
            }
        }
        if (i == s->ndma) {
            vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: DMA_UNMAP of no map");
            return VDM_ENOENT;
        }
        drop(s, i);
        rebuild(s);
    }
    /* "The server responds with the original DMA entry in the request." */
    __builtin_memcpy(m->r, m->p, SZ_UNMAP);
    m->rlen = SZ_UNMAP;
    return 0;
}

void vdmi_vfu_dma_clear(struct vfu_state *s)
{
    while (s->ndma > 0u) {
        drop(s, s->ndma - 1u);
    }
    rebuild(s);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouser_dma_left_out;
#endif
