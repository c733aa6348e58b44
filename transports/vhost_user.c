/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: message handling for one device. Framing and
 * dispatch, features, status, config, the public API and the device core's
 * notification sink; the memory table is in vhost_user_mem.c, ring state in
 * vhost_user_ring.c (see vhost_user_internal.h). */
#include "vhost_user_internal.h"

#if VDM_CONFIG_VHOST_USER /* vdm/config.h: the whole file */

/* Feature bits the transport never offers (see vhost_user.h). */
#define MASKED_FEATURES                                                        \
    (VDM_F_ACCESS_PLATFORM | VDM_F_NOTIFICATION_DATA | VDM_F_RING_RESET |      \
     VDM_F_SR_IOV | VDM_F_ADMIN_VQ | VDM_F_NOTIF_CONFIG_DATA |                 \
     VDM_VHOST_USER_F_PROTOCOL_FEATURES)

/* Dirty logging (vhost_user_log.c) offered only when built in
 * (vdm/config.h VDM_CONFIG_DIRTY_LOG): VHOST_F_LOG_ALL and LOG_SHMFD. */
#if VDM_CONFIG_DIRTY_LOG
#define LOG_FEATURES VDM_VHOST_F_LOG_ALL
#define LOG_PROTOCOL PF(VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD)
#else
#define LOG_FEATURES 0u
#define LOG_PROTOCOL 0u
#endif

/* Protocol features offered (BACKEND_REQ only with the backend_send hook). */
#define BASE_PROTOCOL                                                          \
    (PF(VDM_VHOST_USER_PROTOCOL_F_MQ) |                                        \
     PF(VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                 \
     PF(VDM_VHOST_USER_PROTOCOL_F_CONFIG) |                                    \
     PF(VDM_VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                              \
     PF(VDM_VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                       \
     PF(VDM_VHOST_USER_PROTOCOL_F_STATUS) | LOG_PROTOCOL)

VDM_OPAQUE_ACCESSORS(st, cst, vdm_vhost_user, vu_state, VU_MAGIC)

static uint64_t offered_features(const struct vu_state *s)
{
    /* VHOST_F_LOG_ALL: dirty logging (vhost_user_log.c) */
    return (vdm_dev_device_features(s->dev) & ~MASKED_FEATURES) |
           VDM_VHOST_USER_F_PROTOCOL_FEATURES | LOG_FEATURES;
}

static uint64_t offered_protocol(const struct vu_state *s)
{
    uint64_t p = BASE_PROTOCOL;
    if (VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, backend_send))
        p |= PF(VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ);
    /* VDM_CONFIG_INFLIGHT 0: tracking left out, never offered */
    if (VDM_CONFIG_INFLIGHT && vdmi_vu_hook_inflight_alloc(s)) {
        p |= PF(VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
    }
    return p & ~s->proto_off;
}

/* ------------------------------------------------------------------------ */
/* Transport ops installed in the device core */

static void tr_notify_queue(void *ctx, uint16_t q)
{
    struct vu_state *s = (struct vu_state *)ctx;
    const struct vu_ring *r;

    if (q >= s->num_rings)
        return;
    r = ring(s, q);
    if (started(r) && r->call >= 0)
        s->ops->signal(s->host, r->call);
}

static void tr_notify_config(void *ctx)
{
    struct vu_state *s = (struct vu_state *)ctx;
    uint8_t status = vdm_dev_status(s->dev);
    uint64_t need = PF(VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
                    PF(VDM_VHOST_USER_PROTOCOL_F_CONFIG);

    if ((status & VDM_STATUS_DEVICE_NEEDS_RESET) != 0 &&
        (s->flags & VF_ERRSIG) == 0) {
        uint16_t q, n = dev_queues(s);
        s->flags |= VF_ERRSIG;
        for (q = 0; q < n; q++)
            if (started(ring(s, q)))
                signal_err(s, ring(s, q));
    }
    if (s->backend_fd >= 0 && (s->protocol & need) == need &&
        VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, backend_send)) {
        uint8_t m[VDM_VHOST_USER_HDR_BYTES];
        wr32(m, VDM_VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
        wr32(m + 4, VDM_VHOST_USER_VERSION);
        wr32(m + 8, 0);
        if (s->ops->backend_send(s->host, s->backend_fd, m, sizeof(m)) < 0)
            vlog(s, VDM_LOG_WARN, "vhost-user: config change message not sent");
    }
}

static const struct vdm_transport_ops vu_tops = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = tr_notify_queue,
    .notify_config = tr_notify_config,
};

/* ------------------------------------------------------------------------ */
/* Features, status, config, reset */

/* Transport bits a front-end implements on its own side and may pass on
 * anyway: QEMU's generic vhost-user front-ends (vhost-user-gpu) forward the
 * guest's features unfiltered, VIRTIO_F_RING_RESET included, and reset a
 * queue with ring messages. Accepted and dropped: the device never sees
 * them. */
#define FRONTEND_OWN_FEATURES VDM_F_RING_RESET

static int on_set_features(struct vu_state *s, struct vu_msg *m)
{
    uint64_t f = rd64(m->p) & ~FRONTEND_OWN_FEATURES;
    uint64_t virt =
        f & ~(VDM_VHOST_USER_F_PROTOCOL_FEATURES | VDM_VHOST_F_LOG_ALL);
    uint16_t q, n = dev_queues(s);
    int busy = 0;

    if ((f & ~offered_features(s)) != 0) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_FEATURES: feature bits not offered");
        return VDM_EINVAL;
    }
    for (q = 0; q < n; q++)
        if (started(ring(s, q)) || (ring(s, q)->flags & RF_CORE) != 0)
            busy = 1;
    if (busy) {
        /* Front-ends resend the features while rings run (e.g. logging
         * changes): fine as long as the virtio bits stay. */
        if ((s->flags & VF_FEATURES) != 0 &&
            virt == (s->features & ~(VDM_VHOST_USER_F_PROTOCOL_FEATURES |
                                     VDM_VHOST_F_LOG_ALL))) {
            s->features = f;
            vdmi_vu_log_apply(s); /* "Migration": LOG_ALL starts/stops */
            return 0;
        }
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_FEATURES: features changed while rings run");
        return VDM_ESTATE;
    }
    s->features = f;
    s->flags |= VF_FEATURES;
    vdmi_vu_log_apply(s);
    vdmi_vu_core_reset(s);
    return vdmi_vu_core_features(s);
}

static int on_set_protocol_features(struct vu_state *s, struct vu_msg *m)
{
    uint64_t p = rd64(m->p);
    if ((p & ~offered_protocol(s)) != 0) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_PROTOCOL_FEATURES: bits not offered");
        return VDM_EINVAL;
    }
    s->protocol = p;
    return 0;
}

static int on_set_status(struct vu_state *s, struct vu_msg *m)
{
    uint64_t v = rd64(m->p);
    uint8_t want, cur;

    if (v > 0xffu) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_STATUS: not a status byte");
        return VDM_EINVAL;
    }
    want = (uint8_t)v;
    if (want == 0) {
        vdmi_vu_core_stop(s);
        return 0;
    }
    cur = vdm_dev_status(s->dev);
    if ((want & VDM_STATUS_FAILED) != 0) {
        if (cur != 0)
            (void)vdm_dev_set_status(s->dev,
                                     (uint8_t)(cur | VDM_STATUS_FAILED));
        return 0;
    }
    if ((want & (VDM_STATUS_FEATURES_OK | VDM_STATUS_DRIVER_OK)) == 0) {
        /* ACKNOWLEDGE / DRIVER: mirror them while negotiation is open. */
        uint8_t add =
            (uint8_t)(want & (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER));
        if ((cur & VDM_STATUS_FEATURES_OK) == 0 && (cur | add) != cur) {
            (void)vdm_dev_set_status(s->dev,
                                     (uint8_t)(cur | VDM_STATUS_ACKNOWLEDGE));
            if ((add & VDM_STATUS_DRIVER) != 0)
                (void)vdm_dev_set_status(
                    s->dev, (uint8_t)(cur | VDM_STATUS_ACKNOWLEDGE |
                                      VDM_STATUS_DRIVER));
        }
        return 0;
    }
    if ((want & VDM_STATUS_DRIVER_OK) != 0)
        return vdmi_vu_core_sync(s);
    return vdmi_vu_core_features(s);
}

static int on_get_config(struct vu_state *s, struct vu_msg *m)
{
    uint32_t off, len, csize, have;
    uint8_t *o = m->reply + VDM_VHOST_USER_HDR_BYTES;

    m->rlen = VDM_VHOST_USER_HDR_BYTES; /* empty payload: the error answer */
    if (m->size < SZ_CFGHDR)
        goto malformed;
    off = rd32(m->p);
    len = rd32(m->p + 4);
    if (len > VDM_VHOST_USER_MAX_CONFIG || m->size != SZ_CFGHDR + len)
        goto malformed;
    csize = vdm_dev_config_size(s->dev);
    if (off > csize) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: GET_CONFIG: offset out of range");
        return VDM_ERANGE;
    }
    /* Front-ends ask for the size of their own config struct, which may be
     * longer than this device's: the bytes past it read as 0. */
    have = csize - off < len ? csize - off : len;
    __builtin_memcpy(o, m->p, SZ_CFGHDR);
    __builtin_memset(o + SZ_CFGHDR, 0, len);
    if (have > 0 && vdm_dev_config_read(s->dev, off, o + SZ_CFGHDR, have) < 0)
        return VDM_EIO;
    m->rlen = VDM_VHOST_USER_HDR_BYTES + SZ_CFGHDR + len;
    s->seen_off = off;
    s->seen_len = len;
    __builtin_memcpy(s->seen, o + SZ_CFGHDR, len);
    return 0;
malformed:
    vlog(s, VDM_LOG_ERROR, "vhost-user: GET_CONFIG: malformed payload");
    return VDM_EINVAL;
}

static int on_set_config(struct vu_state *s, struct vu_msg *m)
{
    uint8_t cur[VDM_VHOST_USER_MAX_CONFIG];
    const uint8_t *data;
    uint32_t off, len, flags, csize, i;
    int rc = 0;

    if (m->size < SZ_CFGHDR)
        goto malformed;
    off = rd32(m->p);
    len = rd32(m->p + 4);
    flags = rd32(m->p + 8);
    if (len > VDM_VHOST_USER_MAX_CONFIG || m->size != SZ_CFGHDR + len ||
        flags > 1)
        goto malformed;
    data = m->p + SZ_CFGHDR;
    csize = vdm_dev_config_size(s->dev);
    if (off >= csize) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_CONFIG: offset out of range");
        return VDM_ERANGE;
    }
    if (len > csize - off)
        len = csize - off; /* past the device's config: ignored */
    if (len <= 8) {
        rc = vdm_dev_config_write(s->dev, off, data, len); /* a register */
        goto seen;
    }
    /* A whole-struct write: QEMU, for one, writes back its cached copy of
     * the config with the byte the guest changed, without reading first.
     * Write only the bytes that differ from what the front-end last saw,
     * one run at a time, so read-only and stale bytes are never written.
     * A front-end that saw nothing yet has a zeroed cache. */
    if (s->seen_len == 0) {
        s->seen_off = off;
        s->seen_len = len;
        __builtin_memset(s->seen, 0, len);
    }
    if (vdm_dev_config_read(s->dev, off, cur, len) < 0)
        return VDM_EIO;
    for (i = 0; i < len; i++) {
        uint32_t at = off + i;
        if (s->seen_len > 0 && at >= s->seen_off &&
            at - s->seen_off < s->seen_len)
            cur[i] = s->seen[at - s->seen_off];
    }
    i = 0;
    while (i < len) {
        uint32_t j;
        if (cur[i] == data[i]) {
            i++;
            continue;
        }
        j = i;
        while (j < len && cur[j] != data[j])
            j++;
        if (vdm_dev_config_write(s->dev, off + i, data + i, j - i) < 0)
            rc = VDM_EINVAL;
        i = j;
    }
seen:
    /* The front-end's copy now holds what it wrote. */
    for (i = 0; i < len; i++) {
        uint32_t at = off + i;
        if (s->seen_len > 0 && at >= s->seen_off &&
            at - s->seen_off < s->seen_len)
            s->seen[at - s->seen_off] = data[i];
    }
    return rc;
malformed:
    vlog(s, VDM_LOG_ERROR, "vhost-user: SET_CONFIG: malformed payload");
    return VDM_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

int vdmi_vu_reply_u64(struct vu_msg *m, uint64_t v)
{
    wr64(m->reply + VDM_VHOST_USER_HDR_BYTES, v);
    m->rlen = VDM_VHOST_USER_HDR_BYTES + SZ_U64;
    return 0;
}

/* Payload size a request must have (fixed-size requests), or -1. */
static int32_t fixed_size(uint32_t req)
{
    switch (req) {
    case VDM_VHOST_USER_GET_FEATURES:
    case VDM_VHOST_USER_SET_OWNER:
    case VDM_VHOST_USER_RESET_OWNER:
    case VDM_VHOST_USER_GET_PROTOCOL_FEATURES:
    case VDM_VHOST_USER_GET_QUEUE_NUM:
    case VDM_VHOST_USER_SET_BACKEND_REQ_FD:
    case VDM_VHOST_USER_RESET_DEVICE:
    case VDM_VHOST_USER_GET_MAX_MEM_SLOTS:
    case VDM_VHOST_USER_GET_STATUS: return 0;
    case VDM_VHOST_USER_SET_FEATURES:
    case VDM_VHOST_USER_SET_PROTOCOL_FEATURES:
    case VDM_VHOST_USER_SET_VRING_KICK:
    case VDM_VHOST_USER_SET_VRING_CALL:
    case VDM_VHOST_USER_SET_VRING_ERR:
    case VDM_VHOST_USER_SET_STATUS: return SZ_U64;
    case VDM_VHOST_USER_SET_VRING_NUM:
    case VDM_VHOST_USER_SET_VRING_BASE:
    case VDM_VHOST_USER_GET_VRING_BASE:
    case VDM_VHOST_USER_SET_VRING_ENABLE: return SZ_STATE;
    case VDM_VHOST_USER_SET_VRING_ADDR: return SZ_ADDR;
    case VDM_VHOST_USER_SET_LOG_FD: return 0;
    default: return -1;
    }
}

/* File descriptors a request may carry at most (exact counts are checked by
 * the handlers); -1 for requests this back-end does not handle. */
static int32_t max_fds(uint32_t req)
{
    switch (req) {
    case VDM_VHOST_USER_GET_FEATURES:
    case VDM_VHOST_USER_SET_FEATURES:
    case VDM_VHOST_USER_SET_OWNER:
    case VDM_VHOST_USER_RESET_OWNER:
    case VDM_VHOST_USER_SET_VRING_NUM:
    case VDM_VHOST_USER_SET_VRING_ADDR:
    case VDM_VHOST_USER_SET_VRING_BASE:
    case VDM_VHOST_USER_GET_VRING_BASE:
    case VDM_VHOST_USER_GET_PROTOCOL_FEATURES:
    case VDM_VHOST_USER_SET_PROTOCOL_FEATURES:
    case VDM_VHOST_USER_GET_QUEUE_NUM:
    case VDM_VHOST_USER_SET_VRING_ENABLE:
    case VDM_VHOST_USER_GET_CONFIG:
    case VDM_VHOST_USER_SET_CONFIG:
    case VDM_VHOST_USER_RESET_DEVICE:
    case VDM_VHOST_USER_GET_MAX_MEM_SLOTS:
    case VDM_VHOST_USER_SET_STATUS:
    case VDM_VHOST_USER_GET_STATUS:
    case VDM_VHOST_USER_GET_INFLIGHT_FD: return 0;
    case VDM_VHOST_USER_SET_MEM_TABLE: return VDM_VHOST_USER_MEM_TABLE_MAX;
    case VDM_VHOST_USER_SET_INFLIGHT_FD:
    case VDM_VHOST_USER_SET_VRING_KICK:
    case VDM_VHOST_USER_SET_VRING_CALL:
    case VDM_VHOST_USER_SET_VRING_ERR:
    case VDM_VHOST_USER_SET_BACKEND_REQ_FD:
    case VDM_VHOST_USER_ADD_MEM_REG:
    case VDM_VHOST_USER_REM_MEM_REG:
    case VDM_VHOST_USER_SET_LOG_BASE:
    case VDM_VHOST_USER_SET_LOG_FD: return 1;
    default: return -1;
    }
}

/* A request of the host's own (a device type's side channel such as
 * GPU_SET_SOCKET): the host's `request` hook, if it has one. */
static int on_other(struct vu_state *s, struct vu_msg *m)
{
    uint32_t taken = 0;
    int rc;

    if (!VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, request)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: unknown or unsupported request");
        return VDM_ENOTSUP;
    }
    rc = s->ops->request(s->host, m->req, m->p, m->size, m->fds, m->nfds,
                         &taken);
    if (m->nfds < 32u) {
        taken &= ((uint32_t)1u << m->nfds) - 1u;
    }
    m->taken |= taken;
    return (rc < 0) ? rc : 0;
}

static int dispatch(struct vu_state *s, struct vu_msg *m)
{
    int32_t want = fixed_size(m->req), fdmax = max_fds(m->req);

    if (want >= 0 && m->size != (uint32_t)want) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: payload size wrong for request");
        return VDM_EINVAL;
    }
    if (fdmax >= 0 && m->nfds > (uint32_t)fdmax) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: too many file descriptors");
        return VDM_EINVAL;
    }
    switch (m->req) {
    case VDM_VHOST_USER_GET_FEATURES: return vdmi_vu_reply_u64(m, offered_features(s));
    case VDM_VHOST_USER_SET_FEATURES: return on_set_features(s, m);
    case VDM_VHOST_USER_GET_PROTOCOL_FEATURES:
        return vdmi_vu_reply_u64(m, offered_protocol(s));
    case VDM_VHOST_USER_SET_PROTOCOL_FEATURES:
        return on_set_protocol_features(s, m);
    case VDM_VHOST_USER_SET_OWNER: s->flags |= VF_OWNER; return 0;
    case VDM_VHOST_USER_RESET_OWNER:
    case VDM_VHOST_USER_RESET_DEVICE: vdmi_vu_reset_device(s); return 0;
    case VDM_VHOST_USER_SET_MEM_TABLE: return vdmi_vu_on_set_mem_table(s, m);
    case VDM_VHOST_USER_ADD_MEM_REG: return vdmi_vu_on_add_mem_reg(s, m);
    case VDM_VHOST_USER_REM_MEM_REG: return vdmi_vu_on_rem_mem_reg(s, m);
    case VDM_VHOST_USER_GET_MAX_MEM_SLOTS:
        return vdmi_vu_reply_u64(m, VDM_VHOST_USER_MAX_REGIONS);
    case VDM_VHOST_USER_SET_VRING_NUM: return vdmi_vu_on_set_vring_num(s, m);
    case VDM_VHOST_USER_SET_VRING_ADDR: return vdmi_vu_on_set_vring_addr(s, m);
    case VDM_VHOST_USER_SET_VRING_BASE: return vdmi_vu_on_set_vring_base(s, m);
    case VDM_VHOST_USER_GET_VRING_BASE: return vdmi_vu_on_get_vring_base(s, m);
    case VDM_VHOST_USER_SET_VRING_KICK:
    case VDM_VHOST_USER_SET_VRING_CALL:
    case VDM_VHOST_USER_SET_VRING_ERR: return vdmi_vu_on_set_vring_fd(s, m);
    case VDM_VHOST_USER_SET_VRING_ENABLE:
        return vdmi_vu_on_set_vring_enable(s, m);
    case VDM_VHOST_USER_SET_LOG_BASE: return vdmi_vu_on_set_log_base(s, m);
    case VDM_VHOST_USER_SET_LOG_FD: return vdmi_vu_on_set_log_fd(s, m);
    case VDM_VHOST_USER_GET_QUEUE_NUM: return vdmi_vu_reply_u64(m, dev_queues(s));
    case VDM_VHOST_USER_GET_CONFIG: return on_get_config(s, m);
    case VDM_VHOST_USER_SET_CONFIG: return on_set_config(s, m);
    case VDM_VHOST_USER_SET_STATUS: return on_set_status(s, m);
    case VDM_VHOST_USER_GET_STATUS: return vdmi_vu_reply_u64(m, vdm_dev_status(s->dev));
    case VDM_VHOST_USER_GET_INFLIGHT_FD: return vdmi_vu_on_get_inflight_fd(s, m);
    case VDM_VHOST_USER_SET_INFLIGHT_FD: return vdmi_vu_on_set_inflight_fd(s, m);
    case VDM_VHOST_USER_SET_BACKEND_REQ_FD:
        if (m->nfds != 1 ||
            (s->protocol & PF(VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ)) == 0) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: SET_BACKEND_REQ_FD: not negotiated or no fd");
            return VDM_EINVAL;
        }
        close_fd(s, s->backend_fd);
        s->backend_fd = m->fds[0];
        m->taken |= 1u;
        return 0;
    case VDM_VHOST_USER_IOTLB_MSG:
    case VDM_VHOST_USER_POSTCOPY_END:
        /* These answer with a u64 status of their own: non-zero, failure. */
        (void)vdmi_vu_reply_u64(m, 1);
        vlog(s, VDM_LOG_ERROR, "vhost-user: unsupported request");
        return VDM_ENOTSUP;
    default: return on_other(s, m);
    }
}

/* Requests that answer with a body of their own (vhost-user
 * "Communication"); the others answer only to need_reply. */
static int has_own_reply(uint32_t req)
{
    switch (req) {
    case VDM_VHOST_USER_GET_FEATURES:
    case VDM_VHOST_USER_GET_PROTOCOL_FEATURES:
    case VDM_VHOST_USER_GET_VRING_BASE:
    case VDM_VHOST_USER_GET_QUEUE_NUM:
    case VDM_VHOST_USER_GET_CONFIG:
    case VDM_VHOST_USER_GET_MAX_MEM_SLOTS:
    case VDM_VHOST_USER_GET_STATUS:
    case VDM_VHOST_USER_GET_INFLIGHT_FD:
    case VDM_VHOST_USER_IOTLB_MSG:
    case VDM_VHOST_USER_POSTCOPY_END: return 1;
    default: return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Public API */

int vdm_vhost_user_init(struct vdm_vhost_user *vu,
                        const struct vdm_vhost_user_config *cfg)
{
    struct vu_state *s;
    uint32_t q;

    if (vu == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (!VDM_SIZE_HAS(cfg->size, struct vdm_vhost_user_config, host))
        return VDM_ESIZE;
    if (cfg->ops == NULL || cfg->rings == NULL || cfg->num_rings == 0 ||
        cfg->num_rings > VDM_DEV_MAX_QUEUES)
        return VDM_EINVAL;
    if (!VDM_SIZE_HAS(cfg->ops->size, struct vdm_vhost_user_ops, close))
        return VDM_ESIZE;
    if (cfg->ops->map == NULL || cfg->ops->unmap == NULL ||
        cfg->ops->signal == NULL || cfg->ops->close == NULL)
        return VDM_EINVAL;
    s = (struct vu_state *)(void *)vu->opaque;
    __builtin_memset(s, 0, sizeof(*s));
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->rings = cfg->rings;
    s->num_rings = cfg->num_rings;
    if (VDM_SIZE_HAS(cfg->size, struct vdm_vhost_user_config,
                     protocol_features_off))
        s->proto_off = cfg->protocol_features_off;
    s->backend_fd = VDM_VHOST_USER_NO_FD;
    s->mem.size = sizeof(s->mem);
    s->mem.nregions = 0;
    s->mem.regions = s->regions;
    for (q = 0; q < s->num_rings; q++) {
        struct vu_ring *r = ring(s, q);
        __builtin_memset(r, 0, sizeof(*r));
        r->kick = VDM_VHOST_USER_NO_FD;
        r->call = VDM_VHOST_USER_NO_FD;
        r->err = VDM_VHOST_USER_NO_FD;
    }
    s->magic = VU_MAGIC;
    return 0;
}

const struct vdm_mem *vdm_vhost_user_mem(const struct vdm_vhost_user *vu)
{
    const struct vu_state *s = cst(vu);
    return s != NULL ? &s->mem : NULL;
}

int vdm_vhost_user_attach(struct vdm_vhost_user *vu, struct vdm_dev *dev)
{
    struct vu_state *s = st(vu);

    if (s == NULL || dev == NULL || (s->flags & VF_ATTACHED) != 0)
        return VDM_EINVAL;
    if (vdm_dev_mem(dev) != &s->mem) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: the device does not use the back-end's memory");
        return VDM_EINVAL;
    }
    if (vdm_dev_num_queues(dev) > s->num_rings)
        return VDM_ENOSPC;
    /* The front-end owns the device status and the transport: it has no
     * way to reach an administration queue or the SUSPEND bit here. */
    if ((vdm_dev_device_features(dev) & (VDM_F_ADMIN_VQ | VDM_F_SUSPEND)) !=
        0u) {
        return VDM_ENOTSUP;
    }
    s->dev = dev;
    s->flags |= VF_ATTACHED;
    vdm_dev_bind(dev, &vu_tops, s);
    return 0;
}

int vdm_vhost_user_payload_len(const void *hdr, uint32_t *len)
{
    const uint8_t *h = (const uint8_t *)hdr;
    uint32_t size;

    if (hdr == NULL || len == NULL)
        return VDM_EINVAL;
    if ((rd32(h + 4) & VDM_VHOST_USER_VERSION_MASK) != VDM_VHOST_USER_VERSION)
        return VDM_EPROTO;
    size = rd32(h + 8);
    if (size > VDM_VHOST_USER_MAX_PAYLOAD)
        return VDM_EPROTO;
    *len = size;
    return 0;
}

int vdm_vhost_user_handle(struct vdm_vhost_user *vu, const void *msg,
                          uint32_t len, const int32_t *fds, uint32_t nfds,
                          void *reply, uint32_t reply_cap, uint32_t *reply_len)
{
    struct vu_state *s = st(vu);
    const uint8_t *b = (const uint8_t *)msg;
    struct vu_msg m;
    uint32_t i, psize;
    int rc;

    if (reply_len != NULL)
        *reply_len = 0;
    if (s == NULL || (fds == NULL && nfds > 0))
        return VDM_EINVAL; /* nothing can be closed without the hooks */
    __builtin_memset(&m, 0, sizeof(m));
    m.fds = fds;
    m.nfds = nfds;
    if (s->dev == NULL || reply == NULL || reply_len == NULL ||
        reply_cap < VDM_VHOST_USER_MAX_MSG) {
        rc = VDM_EINVAL;
        goto out;
    }
    /* Framing ("Message Specification"): a header, version 1, and exactly
     * the announced payload. Anything else loses the stream. */
    if (b == NULL || len < VDM_VHOST_USER_HDR_BYTES ||
        vdm_vhost_user_payload_len(b, &psize) < 0 ||
        psize != len - VDM_VHOST_USER_HDR_BYTES) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: malformed message framing");
        rc = VDM_EPROTO;
        goto out;
    }
    m.req = rd32(b);
    m.flags = rd32(b + 4);
    m.size = psize;
    m.p = b + VDM_VHOST_USER_HDR_BYTES;
    m.reply = (uint8_t *)reply;
    m.cap = reply_cap;
    /* SET_LOG_BASE answers only with LOG_SHMFD ("Communication") */
    m.has_reply =
        has_own_reply(m.req) ||
        ((m.req == VDM_VHOST_USER_SET_LOG_BASE) &&
         ((s->protocol & PF(VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD)) != 0u));
    if (vdmi_vu_drain(s, &m) == VDM_EAGAIN) {
        /* the host drains first and hands the message in again: nothing
         * sent, nothing changed, its descriptors still its own */
        return VDM_EAGAIN;
    }
    rc = dispatch(s, &m);
    if (!m.has_reply && (m.flags & VDM_VHOST_USER_F_NEED_REPLY) != 0) {
        /* "REPLY_ACK": zero on success, non-zero on failure. */
        vdmi_vu_reply_u64(&m, rc < 0 ? 1u : 0u);
    }
    if (m.has_reply && m.rlen == 0) {
        /* Every request with a reply body gets one, so the front-end's
         * stream stays in step: an empty payload says "failed". */
        m.rlen = VDM_VHOST_USER_HDR_BYTES;
    }
    if (m.rlen > 0) {
        wr32(m.reply, m.req);
        wr32(m.reply + 4, VDM_VHOST_USER_VERSION | VDM_VHOST_USER_F_REPLY);
        wr32(m.reply + 8, m.rlen - VDM_VHOST_USER_HDR_BYTES);
        *reply_len = m.rlen;
    }
out:
    for (i = 0; i < nfds; i++)
        if (i >= 32 || (m.taken & (1u << i)) == 0)
            close_fd(s, fds[i]);
    return rc;
}

int vdm_vhost_user_kick(struct vdm_vhost_user *vu, uint16_t q)
{
    struct vu_state *s = st(vu);
    struct vu_ring *r;

    if (s == NULL || s->dev == NULL)
        return VDM_EINVAL;
    if (q >= dev_queues(s))
        return VDM_ERANGE;
    r = ring(s, q);
    if (!started(r))
        return VDM_ESTATE;
    if ((r->flags & RF_ENABLED) == 0) {
        r->flags |= RF_PENDING; /* delivered by SET_VRING_ENABLE(1) */
        return 0;
    }
    if ((s->flags & VF_SYNCED) == 0)
        return vdmi_vu_core_sync(s); /* notifies every enabled ring */
    if ((r->flags & (RF_CORE | RF_STALE)) != RF_CORE)
        return VDM_ESTATE;
    return vdm_dev_queue_notify(s->dev, q, 0);
}

int vdm_vhost_user_queue_ready(const struct vdm_vhost_user *vu, uint16_t q)
{
    const struct vu_state *s = cst(vu);
    const struct vu_ring *r;

    if (s == NULL || s->dev == NULL || q >= dev_queues(s))
        return 0;
    r = ring(s, q);
    return started(r) &&
           (r->flags & (RF_ENABLED | RF_CORE | RF_STALE)) ==
               (RF_ENABLED | RF_CORE) &&
           vdm_dev_live(s->dev);
}

void vdm_vhost_user_reset(struct vdm_vhost_user *vu)
{
    struct vu_state *s = st(vu);

    if (s == NULL)
        return;
    if (s->dev != NULL) {
        uint16_t q, n = dev_queues(s);
        vdmi_vu_reset_device(s);
        for (q = 0; q < n; q++) {
            struct vu_ring *r = ring(s, q);
            close_fd(s, r->err);
            r->err = VDM_VHOST_USER_NO_FD;
        }
    }
    close_fd(s, s->backend_fd);
    s->backend_fd = VDM_VHOST_USER_NO_FD;
    vdmi_vu_log_clear(s);
    vdmi_vu_mem_clear(s);
    vdmi_vu_ift_clear(s);
    s->features = 0;
    s->protocol = 0;
    s->seen_len = 0;
    s->flags &= VF_ATTACHED;
}

const char *vdm_vhost_user_request_name(uint32_t request)
{
    static const char *const names[VDM_VHOST_USER_GET_STATUS + 1u] = {
        [VDM_VHOST_USER_GET_FEATURES] = "GET_FEATURES",
        [VDM_VHOST_USER_SET_FEATURES] = "SET_FEATURES",
        [VDM_VHOST_USER_SET_OWNER] = "SET_OWNER",
        [VDM_VHOST_USER_RESET_OWNER] = "RESET_OWNER",
        [VDM_VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VDM_VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
        [VDM_VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
        [VDM_VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
        [VDM_VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VDM_VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
        [VDM_VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
        [VDM_VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
        [VDM_VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
        [VDM_VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
        [VDM_VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VDM_VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VDM_VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VDM_VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VDM_VHOST_USER_SEND_RARP] = "SEND_RARP",
        [VDM_VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
        [VDM_VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
        [VDM_VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
        [VDM_VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
        [VDM_VHOST_USER_GET_CONFIG] = "GET_CONFIG",
        [VDM_VHOST_USER_SET_CONFIG] = "SET_CONFIG",
        [26] = "CREATE_CRYPTO_SESSION",
        [27] = "CLOSE_CRYPTO_SESSION",
        [28] = "POSTCOPY_ADVISE",
        [29] = "POSTCOPY_LISTEN",
        [VDM_VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
        [VDM_VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
        [VDM_VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
        [33] = "GPU_SET_SOCKET",
        [VDM_VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
        [VDM_VHOST_USER_VRING_KICK] = "VRING_KICK",
        [VDM_VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
        [VDM_VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
        [VDM_VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
        [VDM_VHOST_USER_SET_STATUS] = "SET_STATUS",
        [VDM_VHOST_USER_GET_STATUS] = "GET_STATUS",
    };
    if (request < sizeof(names) / sizeof(names[0]) && names[request] != NULL)
        return names[request];
    return "UNKNOWN";
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vhostuser_left_out;
#endif
