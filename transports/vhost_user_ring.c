/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: ring state. SET_VRING_NUM / ADDR / BASE / KICK /
 * CALL / ERR / ENABLE and GET_VRING_BASE, the ring position encoding, and
 * the device core derived from the rings (vhost-user "Ring states"; see
 * vhost_user_internal.h for the model). */
#include "vhost_user_internal.h"

#include <stdbool.h>

#if VDM_CONFIG_VHOST_USER /* vdm/config.h: the whole file */

/* Bytes of ring area @p a for a queue of @p num entries (spec "Virtqueues":
 * split descriptor table 16 * num, avail 4 + 2 * num (+ 2 used_event), used
 * 4 + 8 * num (+ 2 avail_event); packed descriptor ring 16 * num, each event
 * suppression structure 4). */
uint64_t vdmi_vu_area_len(const struct vu_state *s, int a, uint32_t num)
{
    uint64_t ev = (s->features & VDM_F_EVENT_IDX) != 0 ? 2 : 0;
    if (a == A_DESC)
        return 16ULL * num;
    if (packed(s))
        return 4;
    if (a == A_DRIVER)
        return 4ULL + (2ULL * num) + ev;
    return 4ULL + (8ULL * num) + ev;
}

/* ------------------------------------------------------------------------ */
/* Ring positions: SET_VRING_BASE / GET_VRING_BASE encoding */

/* Split: the next avail index (16 bits). Packed: bits 0-14 last_avail_idx,
 * bit 15 the driver ring wrap counter, bits 16-30 used_idx, bit 31 the
 * device ring wrap counter. A packed value with zero upper half (front-ends
 * that send only the avail part) means used = avail. */
static int decode_base(const struct vu_state *s, uint32_t base, uint32_t num,
                       struct vdm_vq_state *vs)
{
    __builtin_memset(vs, 0, sizeof(*vs));
    if (!packed(s)) {
        if (base > 0xffffu)
            return VDM_EINVAL;
        vs->last_avail_idx = (uint16_t)base;
        vs->used_idx = (uint16_t)base;
        vs->avail_wrap = 1;
        vs->used_wrap = 1;
        return 0;
    }
    vs->last_avail_idx = (uint16_t)(base & 0x7fffu);
    vs->avail_wrap = (uint8_t)((base >> 15) & 1u);
    if ((base >> 16) == 0) {
        vs->used_idx = vs->last_avail_idx;
        vs->used_wrap = vs->avail_wrap;
    } else {
        vs->used_idx = (uint16_t)((base >> 16) & 0x7fffu);
        vs->used_wrap = (uint8_t)(base >> 31);
    }
    if (vs->last_avail_idx >= num || vs->used_idx >= num)
        return VDM_EINVAL;
    return 0;
}

static uint32_t encode_base(const struct vu_state *s,
                            const struct vdm_vq_state *vs)
{
    if (!packed(s))
        return vs->last_avail_idx;
    return ((uint32_t)vs->last_avail_idx & 0x7fffu) |
           ((uint32_t)(vs->avail_wrap & 1u) << 15) |
           (((uint32_t)vs->used_idx & 0x7fffu) << 16) |
           ((uint32_t)(vs->used_wrap & 1u) << 31);
}

/* Save the position of ring q from the core into its base. */
static void snapshot(struct vu_state *s, uint16_t q)
{
    struct vu_ring *r = ring(s, q);
    struct vdm_vq_state vs;
    struct vdm_vq *vq;

    if ((r->flags & (RF_CORE | RF_STALE)) != RF_CORE)
        return; /* a stale ring's position is the one already reported */
    if (vdm_dev_queue_get_state(s->dev, q, &vs) == 0)
        r->base = encode_base(s, &vs);
    vq = vdm_dev_queue(s->dev, q);
    if (vq != NULL && vdm_vq_in_flight(vq) != 0)
        vlog(s, VDM_LOG_WARN,
             "vhost-user: ring stopped with requests in flight; they are "
             "lost to the front-end");
}

/* ------------------------------------------------------------------------ */
/* The device core */

/* Reset the core (status 0): every ring leaves it. */
void vdmi_vu_core_reset(struct vu_state *s)
{
    uint32_t q;
    if (vdm_dev_status(s->dev) != 0)
        (void)vdm_dev_set_status(s->dev, 0);
    for (q = 0; q < s->num_rings; q++)
        ring(s, q)->flags &= ~(RF_CORE | RF_FAILED | RF_STALE | RF_NOMEM);
    s->flags &= ~(VF_SYNCED | VF_ERRSIG);
}

/* Save the running rings' positions, then reset the core. */
void vdmi_vu_core_stop(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    for (q = 0; q < n; q++)
        snapshot(s, q);
    vdmi_vu_core_reset(s);
}

/* Walk the status machine to FEATURES_OK with the front-end's features
 * (spec "Device Initialization" steps 1-5). */
int vdmi_vu_core_features(struct vu_state *s)
{
    uint8_t status = vdm_dev_status(s->dev);

    if ((status & VDM_STATUS_FEATURES_OK) != 0)
        return 0;
    if ((s->flags & VF_FEATURES) == 0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: rings used before SET_FEATURES");
        return VDM_ESTATE;
    }
    if ((status & (VDM_STATUS_FAILED | VDM_STATUS_DEVICE_NEEDS_RESET |
                   VDM_STATUS_DRIVER_OK)) != 0) {
        vdmi_vu_core_reset(s);
        status = 0;
    }
    (void)vdm_dev_set_status(s->dev,
                             (uint8_t)(status | VDM_STATUS_ACKNOWLEDGE));
    (void)vdm_dev_set_status(
        s->dev, (uint8_t)(status | VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER));
    /* RING_RESET is never offered to the front-end but, when the device
     * offers it, negotiated in the core: it lets one ring leave the running
     * core and come back (memory-table changes, vdmi_vu_ring_leave) without
     * a restart of the others. */
    (void)vdm_dev_set_driver_features(
        s->dev, (s->features & ~VDM_VHOST_USER_F_PROTOCOL_FEATURES) |
                    (vdm_dev_device_features(s->dev) & VDMI_F_RING_RESET));
    (void)vdm_dev_set_status(s->dev, (uint8_t)(VDM_STATUS_ACKNOWLEDGE |
                                               VDM_STATUS_DRIVER |
                                               VDM_STATUS_FEATURES_OK));
    if ((vdm_dev_status(s->dev) & VDM_STATUS_FEATURES_OK) == 0) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: the device refused the negotiated features");
        return VDM_ESTATE;
    }
    return 0;
}

/* Hand started ring q to the core (before DRIVER_OK). */
static int ring_setup(struct vu_state *s, uint16_t q)
{
    struct vu_ring *r = ring(s, q);
    struct vdm_vq_state vs;
    uint32_t num =
        (r->flags & RF_NUM) != 0 ? r->num : vdm_dev_queue_size_max(s->dev, q);
    uint64_t gpa[3];
    int a, rc;

    if (!packed(s) && !is_pow2(num)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: split ring size is not a power of 2");
        rc = VDM_EINVAL;
        goto fail;
    }
    rc = decode_base(s, r->base, num, &vs);
    if (rc < 0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ring base out of range");
        goto fail;
    }
    for (a = 0; a < 3; a++) {
        rc = vdmi_vu_uva_to_gpa(s, r->uva[a], vdmi_vu_area_len(s, a, num),
                                &gpa[a]);
        if (rc < 0) {
            /* Not a failure: the front-end may add the memory later (a
             * region removed and added back); vdmi_vu_rings_retry(). */
            vlog(s, VDM_LOG_WARN,
                 "vhost-user: ring memory not in the memory table; the ring "
                 "waits for it");
            r->flags |= RF_NOMEM;
            return rc;
        }
    }
    rc = vdm_dev_queue_set_size(s->dev, q, (uint16_t)num);
    if (rc == 0)
        rc = vdm_dev_queue_set_addr(s->dev, q, gpa[A_DESC], gpa[A_DRIVER],
                                    gpa[A_DEVICE]);
    if (rc == 0)
        rc = vdm_dev_queue_set_state(s->dev, q, &vs);
    if (rc == 0)
        rc = vdm_dev_queue_enable(s->dev, q);
    if (rc < 0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: the device refused the ring");
        goto fail;
    }
    for (a = 0; a < 3; a++)
        r->gpa[a] = gpa[a];
    r->core_num = (uint16_t)num;
    r->flags |= RF_CORE;
    return 0;
fail:
    r->flags |= RF_FAILED;
    signal_err(s, r);
    return rc;
}

/* Make the core run every started ring (see the model at the top). */
int vdmi_vu_core_sync(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    uint8_t status;
    int need = 0, held = 0, rc;

    if ((s->flags & VF_SYNCED) != 0)
        return 0;
    status = vdm_dev_status(s->dev);
    if ((status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0)
        return VDM_ESTATE; /* sticky until the front-end resets the device */
    for (q = 0; q < n; q++) {
        const struct vu_ring *r = ring(s, q);
        if (started(r) && ((r->flags & (RF_CORE | RF_FAILED | RF_NOMEM)) == 0 ||
                           (r->flags & RF_STALE) != 0))
            need = 1;
        if ((r->flags & RF_CORE) != 0)
            held = 1;
    }
    if ((status & VDM_STATUS_DRIVER_OK) != 0 && !need) {
        s->flags |= VF_SYNCED;
        return 0;
    }
    if (held) {
        /* A ring joined a live device: keep the running rings' positions
         * and rebuild (the core takes no new ring after DRIVER_OK). */
        for (q = 0; q < n; q++)
            if (started(ring(s, q)))
                snapshot(s, q);
        vdmi_vu_core_reset(s);
    }
    rc = vdmi_vu_core_features(s);
    if (rc < 0)
        return rc;
    for (q = 0; q < n; q++) {
        const struct vu_ring *r = ring(s, q);
        if (started(r) && (r->flags & (RF_CORE | RF_FAILED | RF_NOMEM)) == 0)
            (void)ring_setup(s, q);
    }
    status = vdm_dev_status(s->dev);
    (void)vdm_dev_set_status(s->dev, (uint8_t)(status | VDM_STATUS_DRIVER_OK));
    if ((vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) == 0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: the device did not start");
        return VDM_ESTATE;
    }
    s->flags |= VF_SYNCED;
    /* Inflight tracking: each ring in the core takes its part of the
     * region (and, after a back-end restart, its requests to resubmit). */
    for (q = 0; q < n; q++) {
        if ((ring(s, q)->flags & RF_CORE) != 0u) {
            vdmi_vu_ift_attach(s, q);
        }
    }
    /* Buffers may already wait (a restart, or kicks before this point). */
    for (q = 0; q < n; q++) {
        struct vu_ring *r = ring(s, q);
        if (started(r) &&
            (r->flags & (RF_CORE | RF_ENABLED)) == (RF_CORE | RF_ENABLED)) {
            r->flags &= ~RF_PENDING;
            (void)vdm_dev_queue_notify(s->dev, q, 0);
        }
    }
    return 0;
}

/* A ring just became started (it has addresses and a kick). */
static void ring_started(struct vu_state *s, struct vu_ring *r)
{
    /* "Ring states": without VHOST_USER_F_PROTOCOL_FEATURES a ring starts
     * enabled; with it, SET_VRING_ENABLE decides. */
    if ((s->features & VDM_VHOST_USER_F_PROTOCOL_FEATURES) == 0)
        r->flags |= RF_ENABLED;
    r->flags &= ~(RF_FAILED | RF_PENDING | RF_NOMEM);
    s->flags &= ~VF_SYNCED;
}

/* Stop ring q ("Ring states": GET_VRING_BASE stops a ring). */
static void ring_stop(struct vu_state *s, uint16_t q)
{
    struct vu_ring *r = ring(s, q);
    uint16_t i, n = dev_queues(s);
    int any = 0;

    snapshot(s, q);
    if ((r->flags & RF_KICK) != 0) {
        watch_kick(s, q, VDM_VHOST_USER_NO_FD);
        close_fd(s, r->kick);
    }
    close_fd(s, r->call);
    r->kick = VDM_VHOST_USER_NO_FD;
    r->call = VDM_VHOST_USER_NO_FD;
    r->flags &= ~(RF_KICK | RF_POLL | RF_PENDING | RF_FAILED | RF_NOMEM);
    /* The core keeps the ring while others run (it takes no ring change
     * after DRIVER_OK): marked stale, rebuilt if the ring starts again.
     * When the last one stops, reset the core. */
    for (i = 0; i < n; i++)
        if (started(ring(s, i)))
            any = 1;
    if (!any)
        vdmi_vu_core_reset(s);
    else if ((r->flags & RF_CORE) != 0)
        r->flags |= RF_STALE;
    else {
        /* not in the core: nothing to redo */
    }
}

#if VDM_CONFIG_RING_RESET
int vdmi_vu_core_one_ring(const struct vu_state *s)
{
    return (vdm_dev_status(s->dev) &
            (VDM_STATUS_DRIVER_OK | VDM_STATUS_DEVICE_NEEDS_RESET)) ==
               VDM_STATUS_DRIVER_OK &&
           (vdm_dev_features(s->dev) & VDM_F_RING_RESET) != 0;
}

void vdmi_vu_ring_leave(struct vu_state *s, uint16_t q)
{
    struct vu_ring *r = ring(s, q);

    snapshot(s, q);
    (void)vdm_dev_queue_reset(s->dev, q);
    r->flags &= ~(RF_CORE | RF_STALE);
    if (started(r))
        r->flags |= RF_NOMEM;
}
#endif

/* Is all of started ring q's memory in the table now? */
static int ring_mem_present(const struct vu_state *s, uint16_t q)
{
    const struct vu_ring *r = ring(s, q);
    uint32_t num =
        (r->flags & RF_NUM) != 0 ? r->num : vdm_dev_queue_size_max(s->dev, q);
    uint64_t gpa;
    int a;
    for (a = 0; a < 3; a++)
        if (vdmi_vu_uva_to_gpa(s, r->uva[a], vdmi_vu_area_len(s, a, num),
                               &gpa) < 0)
            return 0;
    return 1;
}

void vdmi_vu_rings_retry(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    int all = 0;
    for (q = 0; q < n; q++) {
        struct vu_ring *r = ring(s, q);
        if (!started(r) || (r->flags & RF_NOMEM) == 0 ||
            !ring_mem_present(s, q))
            continue;
        r->flags &= ~RF_NOMEM;
        if ((s->flags & VF_SYNCED) == 0 || !vdmi_vu_core_one_ring(s)) {
            all = 1;
            continue;
        }
        /* Alone into the running core, the others keep running. Queue
         * reset first: after DRIVER_OK the core takes ring registers only
         * for a queue reset alone. */
        (void)vdm_dev_queue_reset(s->dev, q);
        if (ring_setup(s, q) == 0) {
            vdmi_vu_ift_attach(s, q);
        }
        if ((r->flags & (RF_CORE | RF_ENABLED)) == (RF_CORE | RF_ENABLED)) {
            r->flags &= ~RF_PENDING;
            (void)vdm_dev_queue_notify(s->dev, q, 0);
        }
    }
    if (all) {
        s->flags &= ~VF_SYNCED;
        if ((vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) != 0)
            (void)vdmi_vu_core_sync(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Rings */

/* Ring index of a state / address payload, checked. */
static int ring_index(const struct vu_state *s, uint32_t idx, const char *what)
{
    if (idx >= dev_queues(s)) {
        vlog(s, VDM_LOG_ERROR, what);
        return VDM_ERANGE;
    }
    return 0;
}

int vdmi_vu_on_set_vring_num(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p), num = rd32(m->p + 4);
    struct vu_ring *r;

    if (ring_index(s, idx, "vhost-user: SET_VRING_NUM: bad ring index") < 0)
        return VDM_ERANGE;
    r = ring(s, idx);
    if (started(r)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_VRING_NUM on a started ring");
        return VDM_ESTATE;
    }
    if (num == 0 || num > vdm_dev_queue_size_max(s->dev, (uint16_t)idx) ||
        ((s->flags & VF_FEATURES) != 0 && !packed(s) && !is_pow2(num))) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_VRING_NUM: bad ring size");
        return VDM_EINVAL;
    }
    r->num = (uint16_t)num;
    r->flags |= RF_NUM;
    return 0;
}

int vdmi_vu_on_set_vring_addr(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p), flags = rd32(m->p + 4);
    uint64_t uva[3], gpa;
    struct vu_ring *r;
    uint32_t num;
    int a;

    if (ring_index(s, idx, "vhost-user: SET_VRING_ADDR: bad ring index") < 0)
        return VDM_ERANGE;
    r = ring(s, idx);
    uva[A_DESC] = rd64(m->p + 8);
    uva[A_DEVICE] = rd64(m->p + 16); /* used */
    uva[A_DRIVER] = rd64(m->p + 24); /* avail */
    if (flags != 0) {
        /* VHOST_VRING_F_LOG (bit 0) or unknown bits: dirty logging is not
         * offered (no VHOST_F_LOG_ALL), so neither is valid. */
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_VRING_ADDR: ring flags (logging) not supported");
        return VDM_ENOTSUP;
    }
    if (started(r)) {
        if (uva[0] == r->uva[0] && uva[1] == r->uva[1] && uva[2] == r->uva[2])
            return 0;
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_VRING_ADDR: new addresses on a started ring");
        return VDM_ESTATE;
    }
    /* Checked again, with the then current table, when the ring starts. */
    num = (r->flags & RF_NUM) != 0 ? r->num : 1;
    for (a = 0; a < 3; a++)
        if (vdmi_vu_uva_to_gpa(s, uva[a], vdmi_vu_area_len(s, a, num), &gpa) <
            0) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: SET_VRING_ADDR: ring outside the memory table");
            r->flags &= ~RF_ADDR;
            return VDM_EFAULT;
        }
    for (a = 0; a < 3; a++)
        r->uva[a] = uva[a];
    r->log = rd64(m->p + 32);
    r->flags |= RF_ADDR;
    if (started(r))
        ring_started(s, r);
    return 0;
}

int vdmi_vu_on_set_vring_base(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p), base = rd32(m->p + 4);
    struct vu_ring *r;

    if (ring_index(s, idx, "vhost-user: SET_VRING_BASE: bad ring index") < 0)
        return VDM_ERANGE;
    r = ring(s, idx);
    if (started(r)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_VRING_BASE on a started ring");
        return VDM_ESTATE;
    }
    if ((s->flags & VF_FEATURES) != 0 && !packed(s) && base > 0xffffu) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_VRING_BASE: split index over 16 bits");
        return VDM_EINVAL;
    }
    r->base = base;
    return 0;
}

int vdmi_vu_on_get_vring_base(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p);
    uint8_t *o = m->reply + VDM_VHOST_USER_HDR_BYTES;
    struct vu_ring *r;
    int rc;

    m->rlen = VDM_VHOST_USER_HDR_BYTES + SZ_STATE;
    wr32(o, idx);
    wr32(o + 4, 0);
    rc = ring_index(s, idx, "vhost-user: GET_VRING_BASE: bad ring index");
    if (rc < 0)
        return rc;
    r = ring(s, idx);
    if (started(r))
        ring_stop(s, (uint16_t)idx);
    wr32(o + 4, r->base);
    return 0;
}

/* SET_VRING_KICK / CALL / ERR payload: ring index and the no-fd flag. */
static int vring_fd(const struct vu_state *s, struct vu_msg *m, uint16_t *q,
                    int32_t *fd)
{
    uint64_t v = rd64(m->p);
    bool nofd = (v & VDM_VHOST_USER_VRING_NOFD) != 0u;

    if ((v & ~(VDM_VHOST_USER_VRING_IDX_MASK | VDM_VHOST_USER_VRING_NOFD)) !=
        0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: vring fd message: reserved bits");
        return VDM_EINVAL;
    }
    if (ring_index(s, (uint32_t)(v & VDM_VHOST_USER_VRING_IDX_MASK),
                   "vhost-user: vring fd message: bad ring index") < 0)
        return VDM_ERANGE;
    if (m->nfds != (nofd ? 0u : 1u)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: vring fd message: fd count does not match flag");
        return VDM_EINVAL;
    }
    *q = (uint16_t)(v & VDM_VHOST_USER_VRING_IDX_MASK);
    if (nofd) {
        *fd = VDM_VHOST_USER_NO_FD;
    } else {
        *fd = m->fds[0];
        m->taken |= 1u;
    }
    return 0;
}

int vdmi_vu_on_set_vring_fd(struct vu_state *s, struct vu_msg *m)
{
    struct vu_ring *r;
    int32_t fd, old;
    uint16_t q;
    int rc = vring_fd(s, m, &q, &fd);

    if (rc < 0)
        return rc;
    r = ring(s, q);
    switch (m->req) {
    case VDM_VHOST_USER_SET_VRING_KICK: {
        int was = started(r);
        old = r->kick;
        watch_kick(s, q, fd >= 0 ? fd : VDM_VHOST_USER_FD_POLL);
        close_fd(s, old);
        r->kick = fd;
        r->flags |= RF_KICK;
        if (fd < 0)
            r->flags |= RF_POLL;
        else
            r->flags &= ~RF_POLL;
        if (!was && started(r))
            ring_started(s, r);
        break;
    }
    case VDM_VHOST_USER_SET_VRING_CALL:
        old = r->call;
        r->call = fd;
        close_fd(s, old);
        break;
    default: /* SET_VRING_ERR */
        old = r->err;
        r->err = fd;
        close_fd(s, old);
        break;
    }
    return 0;
}

int vdmi_vu_on_set_vring_enable(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p), on = rd32(m->p + 4);
    struct vu_ring *r;

    if (ring_index(s, idx, "vhost-user: SET_VRING_ENABLE: bad ring index") < 0)
        return VDM_ERANGE;
    if (on > 1) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_VRING_ENABLE: not 0 or 1");
        return VDM_EINVAL;
    }
    r = ring(s, idx);
    if (!on) {
        r->flags &= ~RF_ENABLED;
        return 0;
    }
    r->flags |= RF_ENABLED;
    if (!started(r))
        return 0;
    if ((s->flags & VF_SYNCED) == 0)
        return vdmi_vu_core_sync(s); /* notifies the enabled rings */
    r->flags &= ~RF_PENDING;
    if ((r->flags & (RF_CORE | RF_STALE)) == RF_CORE)
        (void)vdm_dev_queue_notify(s->dev, (uint16_t)idx, 0);
    return 0;
}

/* RESET_DEVICE (and the deprecated RESET_OWNER): disable all rings and reset
 * the device; the connection state (owner, protocol features, memory,
 * back-end channel, err fds) stays. */
void vdmi_vu_reset_device(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    for (q = 0; q < n; q++) {
        struct vu_ring *r = ring(s, q);
        int32_t err = r->err;
        if ((r->flags & RF_KICK) != 0) {
            watch_kick(s, q, VDM_VHOST_USER_NO_FD);
            close_fd(s, r->kick);
        }
        close_fd(s, r->call);
        __builtin_memset(r, 0, sizeof(*r));
        r->kick = VDM_VHOST_USER_NO_FD;
        r->call = VDM_VHOST_USER_NO_FD;
        r->err = err;
    }
    vdmi_vu_core_reset(s);
    s->features = 0;
    s->flags &= ~VF_FEATURES;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vhostuserring_left_out;
#endif
