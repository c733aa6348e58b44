/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: inflight I/O tracking (vhost-user "Inflight I/O
 * tracking", GET_INFLIGHT_FD and SET_INFLIGHT_FD, "Inflight description")
 * and draining before the front-end takes rings or memory back. The
 * per-queue recording and recovery are the virtqueue's
 * (src/virtqueue_inflight.c); this file owns the region and hands each
 * queue its part when the queue starts running. */
#include "vhost_user_internal.h"

#include "vq_inflight.h"

#if VDM_CONFIG_VHOST_USER /* vdm/config.h: the whole file */

/* The host's table holds the two hooks appended together for inflight
 * tracking (`inflight_alloc`, then `drain`); an older caller's shorter
 * table has neither. */
static bool ift_hooks_in(const struct vu_state *s)
{
    return (s->ops != NULL) && VDM_HAS(s->ops, struct vdm_vhost_user_ops, drain);
}

bool vdmi_vu_hook_inflight_alloc(const struct vu_state *s)
{
    return ift_hooks_in(s) && (s->ops->inflight_alloc != NULL);
}

/* The description both messages carry. */
struct ift_desc {
    uint64_t size;
    uint64_t off;
    uint16_t nq;
    uint16_t qs;
};

/* Parse and check a description: 1..num_rings queues of 1..32768
 * entries. 0 or VDM_EINVAL. */
static int read_desc(const struct vu_state *s, const struct vu_msg *m,
                     struct ift_desc *d)
{
    uint16_t v;

    if ((s->protocol & ((uint64_t)1u << VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) ==
        0u) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: inflight message without INFLIGHT_SHMFD");
        return VDM_EINVAL;
    }
    /* front-ends send the C struct: 20 bytes and its padding */
    if ((m->size < SZ_INFLIGHT) || (m->size > (SZ_INFLIGHT + 4u))) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: inflight description size");
        return VDM_EINVAL;
    }
    d->size = rd64(m->p);
    d->off = rd64(m->p + 8);
    __builtin_memcpy(&v, m->p + 16, 2);
    d->nq = v;
    __builtin_memcpy(&v, m->p + 18, 2);
    d->qs = v;
    if ((d->nq == 0u) || (d->nq > s->num_rings) || (d->nq > dev_queues(s)) ||
        (d->qs == 0u) || (d->qs > (uint32_t)VDM_VQ_MAX_NUM)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: inflight description: queue count or size out of "
             "range");
        return VDM_EINVAL;
    }
    return 0;
}

/* May the region change now? Not while a ring runs on it. */
static int rings_idle(const struct vu_state *s)
{
    uint16_t q;
    uint16_t n = dev_queues(s);

    for (q = 0; q < n; q++) {
        if ((ring(s, q)->flags & RF_CORE) != 0u) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: inflight region changed while rings run");
            return 0;
        }
    }
    return 1;
}

void vdmi_vu_ift_clear(struct vu_state *s)
{
    if (s->ift_hva != NULL) {
        s->ops->unmap(s->host, s->ift_hva, s->ift_off, s->ift_len);
    }
    s->ift_hva = NULL;
    s->ift_len = 0;
    s->ift_off = 0;
    s->ift_qbytes = 0;
    s->ift_nq = 0;
    s->ift_qs = 0;
    s->ift_packed = 0;
}

static void ift_set(struct vu_state *s, void *hva, uint64_t off, uint64_t len,
                    const struct ift_desc *d, uint64_t qbytes)
{
    vdmi_vu_ift_clear(s);
    s->ift_hva = (uint8_t *)hva;
    s->ift_off = off;
    s->ift_len = len;
    s->ift_qbytes = qbytes;
    s->ift_nq = d->nq;
    s->ift_qs = d->qs;
    s->ift_packed = packed(s) ? 1u : 0u;
}

int vdmi_vu_on_get_inflight_fd(struct vu_state *s, struct vu_msg *m)
{
    uint8_t *o = m->reply + VDM_VHOST_USER_HDR_BYTES;
    struct ift_desc d;
    uint64_t qbytes;
    uint64_t len;
    int32_t fd = VDM_VHOST_USER_NO_FD;
    void *hva = NULL;
    int rc;

    rc = read_desc(s, m, &d);
    if (rc < 0) {
        return rc;
    }
    /* negotiated (read_desc) means offered, which needs inflight_alloc */
    if (!rings_idle(s)) {
        return VDM_ESTATE;
    }
    /* the layout follows the negotiated ring format (split before
     * SET_FEATURES) */
    qbytes = vdmi_ift_queue_bytes(d.qs, packed(s));
    len = qbytes * d.nq;
    /* A front-end asking again gives up the region it had (no ring uses
     * it: they are idle): released before the new one is made, so a host
     * never holds two. */
    vdmi_vu_ift_clear(s);
    rc = s->ops->inflight_alloc(s->host, len, &fd, &hva);
    if ((rc < 0) || (hva == NULL)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: inflight region: no memory");
        return (rc < 0) ? rc : VDM_EIO;
    }
    /* zero-filled: version 0, formatted by each queue when it starts */
    ift_set(s, hva, 0, len, &d, qbytes);
    wr64(o, len);
    wr64(o + 8, 0);
    __builtin_memcpy(o + 16, &d.nq, 2);
    __builtin_memcpy(o + 18, &d.qs, 2);
    wr32(o + 20, 0);
    m->rlen = (uint32_t)VDM_VHOST_USER_HDR_BYTES + SZ_INFLIGHT + 4u;
    (void)fd; /* the host sends it with this reply */
    return 0;
}

int vdmi_vu_on_set_inflight_fd(struct vu_state *s, struct vu_msg *m)
{
    struct ift_desc d;
    uint64_t qbytes;
    uint64_t len;
    void *hva = NULL;
    int rc;

    rc = read_desc(s, m, &d);
    if (rc < 0) {
        return rc;
    }
    if (m->nfds != 1u) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_INFLIGHT_FD without its fd");
        return VDM_EINVAL;
    }
    if (!rings_idle(s)) {
        return VDM_ESTATE;
    }
    qbytes = vdmi_ift_queue_bytes(d.qs, packed(s));
    len = qbytes * d.nq;
    /* the front-end's size must hold every queue's part; only that much is
     * mapped, whatever it says beyond */
    if ((d.size < len) || (d.off > (UINT64_MAX - len))) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_INFLIGHT_FD: region too small for its queues");
        return VDM_EINVAL;
    }
    m->taken |= 1u; /* map's, then closed below */
    rc = s->ops->map(s->host, m->fds[0], d.off, len, &hva);
    close_fd(s, m->fds[0]);
    if ((rc < 0) || (hva == NULL)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_INFLIGHT_FD: map failed");
        return (rc < 0) ? rc : VDM_EFAULT;
    }
    ift_set(s, hva, d.off, len, &d, qbytes);
    return 0;
}

void vdmi_vu_ift_attach(struct vu_state *s, uint16_t q)
{
    struct vdm_vq *vq;
    int rc;

    if ((s->ift_hva == NULL) || (q >= s->ift_nq)) {
        return;
    }
    if (s->ift_packed != ((packed(s) != 0) ? 1u : 0u)) {
        vlog(s, VDM_LOG_WARN,
             "vhost-user: inflight region of the other ring format; ring "
             "not tracked");
        return;
    }
    vq = vdm_dev_queue(s->dev, q);
    if (vq == NULL) {
        return;
    }
    rc = vdmi_vq_ift_attach(vq, s->ift_hva + (s->ift_qbytes * q), s->ift_qs);
    if (rc < 0) {
        vlog(s, VDM_LOG_WARN,
             "vhost-user: inflight region of a ring malformed; ring not "
             "tracked");
    } else if (vdmi_vq_ift_resubmits(vq) != 0u) {
        vlog(s, VDM_LOG_INFO,
             "vhost-user: resubmitting requests the previous back-end left "
             "in flight");
    } else {
        /* tracked, nothing to resubmit */
    }
}

int vdmi_vu_drain(struct vu_state *s, const struct vu_msg *m)
{
    uint16_t q = UINT16_MAX;
    uint32_t idx;

    if (!ift_hooks_in(s) || (s->ops->drain == NULL)) {
        return 0;
    }
    switch (m->req) {
    case VDM_VHOST_USER_GET_VRING_BASE:
        if (m->size != SZ_STATE) {
            return 0; /* refused by the handler */
        }
        idx = rd32(m->p);
        if ((idx >= dev_queues(s)) || (idx >= s->num_rings) ||
            (ring(s, idx)->flags & RF_CORE) == 0u) {
            return 0; /* nothing of it at the host */
        }
        q = (uint16_t)idx;
        break;
    case VDM_VHOST_USER_SET_MEM_TABLE:
    case VDM_VHOST_USER_REM_MEM_REG:
    case VDM_VHOST_USER_RESET_DEVICE:
    case VDM_VHOST_USER_RESET_OWNER: break;
    default: return 0;
    }
    return s->ops->drain(s->host, q) == VDM_EAGAIN ? VDM_EAGAIN : 0;
}

#endif
