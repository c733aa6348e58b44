/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: message handling for one device.
 *
 * Protocol: the vhost-user specification ("Message Specification",
 * "Communication", "Ring states", "Memory access", "Front-end message
 * types", "VHOST_USER_PROTOCOL_F_REPLY_ACK"). Virtio rules it maps onto:
 * "Device Status Field", "Device Initialization", "Virtqueues" (ring area
 * sizes and alignment), "Packed Virtqueues" (wrap counters).
 *
 * Model. The transport keeps the truth about each ring as the front-end set
 * it (size, user addresses, position, kick/call/err descriptors, enable).
 * The device core is a derived copy, rebuilt on demand: when the device must
 * run (a kick, SET_VRING_ENABLE, SET_STATUS with DRIVER_OK) every started
 * ring is handed to the core and DRIVER_OK is set (core_sync). When the
 * started set changes under a live device, the positions of the running
 * rings are saved, the core is reset and rebuilt. The front-end is
 * untrusted: each message is validated completely before it changes state.
 */
#include "vdm/vhost_user.h"

#include "abi_internal.h"
#include "vdm/device.h"
#include "vdm/mem.h"
#include "vdm/virtqueue.h"

#define VU_MAGIC 0x76687573u /* "vhus": set by init */

/* Ring flags (vu_ring::flags). */
#define RF_NUM  0x001u /* SET_VRING_NUM seen */
#define RF_ADDR 0x002u /* SET_VRING_ADDR accepted */
#define RF_KICK 0x004u /* kick fd (or the no-fd flag) set */
#define RF_POLL 0x008u /* kick is the no-fd flag: host polls */
#define RF_ENABLED                                                             \
    0x010u                /* enabled (SET_VRING_ENABLE, or no protocol         \
                             features) */
#define RF_CORE    0x020u /* enabled in the device core */
#define RF_FAILED  0x040u /* could not be handed to the core */
#define RF_PENDING 0x080u /* kick seen while disabled */
#define RF_STALE                                                               \
    0x100u /* stopped, but the core still holds the old ring                   \
              (others run): rebuild before using it again */
#define RF_NOMEM                                                               \
    0x200u /* started, but its memory is not in the table: out of the core,    \
              retried when the table changes (rings_retry) */
#define RF_STARTED (RF_ADDR | RF_KICK)

/* Object flags (vu_state::flags). */
#define VF_OWNER    0x1u /* SET_OWNER seen */
#define VF_FEATURES 0x2u /* SET_FEATURES accepted */
#define VF_SYNCED   0x4u /* core live with every started ring */
#define VF_ERRSIG   0x8u /* err fds signalled for the current NEEDS_RESET */
#define VF_ATTACHED 0x10u

/* Ring areas, in vu_ring::uva / gpa order. */
#define A_DESC   0
#define A_DRIVER 1
#define A_DEVICE 2

/* Feature bits the transport never offers (see vhost_user.h). */
#define MASKED_FEATURES                                                        \
    (VDM_F_ACCESS_PLATFORM | VDM_F_NOTIFICATION_DATA | VDM_F_RING_RESET |      \
     VDM_F_SR_IOV | VDM_F_ADMIN_VQ | VDM_F_NOTIF_CONFIG_DATA |                 \
     VDM_VHOST_F_LOG_ALL | VDM_VHOST_USER_F_PROTOCOL_FEATURES)

#define PF(bit) (1ull << (bit))
/* Protocol features offered (BACKEND_REQ only with the backend_send hook). */
#define BASE_PROTOCOL                                                          \
    (PF(VDM_VHOST_USER_PROTOCOL_F_MQ) |                                        \
     PF(VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                 \
     PF(VDM_VHOST_USER_PROTOCOL_F_CONFIG) |                                    \
     PF(VDM_VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                              \
     PF(VDM_VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                       \
     PF(VDM_VHOST_USER_PROTOCOL_F_STATUS))

/* Payload sizes (vhost-user "Message Specification"). */
#define SZ_U64    8u
#define SZ_STATE  8u  /* index, num */
#define SZ_ADDR   40u /* index, flags, desc, used, avail, log */
#define SZ_REGION 32u /* guest address, size, user address, mmap offset */
#define SZ_MEMHDR 8u  /* num regions, padding */
#define SZ_CFGHDR 12u /* offset, size, flags */

struct vu_ring {
    uint64_t uva[3];   /* desc, driver (avail), device (used): user addresses */
    uint64_t gpa[3];   /* the same, guest-physical, while RF_CORE */
    uint64_t log;      /* log address (kept, logging is not supported) */
    uint32_t flags;    /* RF_* */
    uint32_t base;     /* ring position as SET/GET_VRING_BASE encode it */
    int32_t kick;      /* kick fd, VDM_VHOST_USER_NO_FD if none */
    int32_t call;      /* call fd */
    int32_t err;       /* err fd */
    uint16_t num;      /* SET_VRING_NUM value */
    uint16_t core_num; /* size handed to the core (for area checks) */
};

struct vu_state {
    uint32_t magic;
    uint32_t flags;     /* VF_* */
    uint64_t features;  /* SET_FEATURES value, bit 30 included */
    uint64_t protocol;  /* negotiated protocol features */
    uint64_t proto_off; /* protocol features the host masked out */
    struct vdm_dev *dev;
    const struct vdm_vhost_user_ops *ops;
    void *host;
    struct vdm_vhost_user_ring *rings;
    uint32_t num_rings;
    int32_t backend_fd;
    struct vdm_mem mem;
    struct vdm_mem_region regions[VDM_VHOST_USER_MAX_REGIONS];
    uint64_t uva[VDM_VHOST_USER_MAX_REGIONS];  /* user address of region i */
    uint64_t moff[VDM_VHOST_USER_MAX_REGIONS]; /* its mmap offset */
    /* The config bytes the front-end last saw (its GET_CONFIG answer, then
     * what it wrote): front-ends that cache the config write the whole
     * cached struct back with one field changed (see on_set_config). */
    uint32_t seen_off;
    uint32_t seen_len; /* 0: nothing seen */
    uint8_t seen[VDM_VHOST_USER_MAX_CONFIG];
};

_Static_assert(sizeof(struct vu_state) <= VDM_VHOST_USER_SIZE,
               "struct vu_state does not fit VDM_VHOST_USER_SIZE");
_Static_assert(alignof(struct vu_state) <= alignof(struct vdm_vhost_user),
               "struct vdm_vhost_user storage is under-aligned");
_Static_assert(sizeof(struct vu_ring) <= VDM_VHOST_USER_RING_SIZE,
               "struct vu_ring does not fit VDM_VHOST_USER_RING_SIZE");
_Static_assert(alignof(struct vu_ring) <= alignof(struct vdm_vhost_user_ring),
               "struct vdm_vhost_user_ring storage is under-aligned");
_Static_assert(VDM_VHOST_USER_MAX_MSG >= VDM_VHOST_USER_HDR_SIZE + SZ_CFGHDR +
                                             VDM_VHOST_USER_MAX_CONFIG,
               "reply buffer too small for GET_CONFIG");

/* One message being handled. */
struct vu_msg {
    uint32_t req;
    uint32_t flags;
    uint32_t size;    /* payload bytes */
    const uint8_t *p; /* payload */
    const int32_t *fds;
    uint32_t nfds;
    uint32_t taken; /* bit i: fds[i] consumed by the handler */
    uint8_t *reply;
    uint32_t cap;
    uint32_t rlen; /* reply bytes written (0: none) */
    int has_reply; /* the request has its own reply body */
};

/* ------------------------------------------------------------------------ */
/* Small helpers */

VDM_OPAQUE_ACCESSORS(st, cst, vdm_vhost_user, vu_state, VU_MAGIC)

static struct vu_ring *ring(const struct vu_state *s, uint32_t q)
{
    return (struct vu_ring *)(void *)s->rings[q].opaque;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}
static void wr64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}

static void vlog(const struct vu_state *s, int level, const char *msg)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, log))
        s->ops->log(s->host, level, msg);
}

static void close_fd(const struct vu_state *s, int32_t fd)
{
    if (fd >= 0)
        s->ops->close(s->host, fd);
}

static void watch_kick(const struct vu_state *s, uint16_t q, int32_t fd)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, watch_kick))
        s->ops->watch_kick(s->host, q, fd);
}

static int started(const struct vu_ring *r)
{
    return (r->flags & RF_STARTED) == RF_STARTED;
}

static int is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static uint16_t dev_queues(const struct vu_state *s)
{
    return s->dev != NULL ? vdm_dev_num_queues(s->dev) : 0;
}

static uint64_t offered_features(const struct vu_state *s)
{
    return (vdm_dev_device_features(s->dev) & ~MASKED_FEATURES) |
           VDM_VHOST_USER_F_PROTOCOL_FEATURES;
}

static uint64_t offered_protocol(const struct vu_state *s)
{
    uint64_t p = BASE_PROTOCOL;
    if (VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, backend_send))
        p |= PF(VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ);
    return p & ~s->proto_off;
}

static int packed(const struct vu_state *s)
{
    return (s->features & VDM_F_RING_PACKED) != 0;
}

/* Bytes of ring area @p a for a queue of @p num entries (spec "Virtqueues":
 * split descriptor table 16 * num, avail 4 + 2 * num (+ 2 used_event), used
 * 4 + 8 * num (+ 2 avail_event); packed descriptor ring 16 * num, each event
 * suppression structure 4). */
static uint64_t area_len(const struct vu_state *s, int a, uint32_t num)
{
    uint64_t ev = (s->features & VDM_F_EVENT_IDX) != 0 ? 2 : 0;
    if (a == A_DESC)
        return 16ull * num;
    if (packed(s))
        return 4;
    if (a == A_DRIVER)
        return 4 + 2ull * num + ev;
    return 4 + 8ull * num + ev;
}

/* Spec "Memory access": a user address maps to the region containing it.
 * The whole [uva, uva + len) must lie in that one region. */
static int uva_to_gpa(const struct vu_state *s, uint64_t uva, uint64_t len,
                      uint64_t *gpa)
{
    uint32_t i;
    if (len == 0)
        len = 1;
    for (i = 0; i < s->mem.nregions; i++) {
        uint64_t off;
        if (uva < s->uva[i])
            continue;
        off = uva - s->uva[i];
        if (off >= s->regions[i].size || len > s->regions[i].size - off)
            continue;
        *gpa = s->regions[i].gpa + off;
        return 0;
    }
    return VDM_EFAULT;
}

/* Does [a, a + alen) meet [b, b + blen)? Both ranges are known not to wrap. */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen != 0 && blen != 0 && a <= b + (blen - 1) && b <= a + (alen - 1);
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
static void core_reset(struct vu_state *s)
{
    uint32_t q;
    if (vdm_dev_status(s->dev) != 0)
        vdm_dev_set_status(s->dev, 0);
    for (q = 0; q < s->num_rings; q++)
        ring(s, q)->flags &= ~(RF_CORE | RF_FAILED | RF_STALE | RF_NOMEM);
    s->flags &= ~(VF_SYNCED | VF_ERRSIG);
}

/* Save the running rings' positions, then reset the core. */
static void core_stop(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    for (q = 0; q < n; q++)
        snapshot(s, q);
    core_reset(s);
}

/* Walk the status machine to FEATURES_OK with the front-end's features
 * (spec "Device Initialization" steps 1-5). */
static int core_features(struct vu_state *s)
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
        core_reset(s);
        status = 0;
    }
    vdm_dev_set_status(s->dev, (uint8_t)(status | VDM_STATUS_ACKNOWLEDGE));
    vdm_dev_set_status(
        s->dev, (uint8_t)(status | VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER));
    /* RING_RESET is never offered to the front-end but, when the device
     * offers it, negotiated in the core: it lets one ring leave the running
     * core and come back (memory-table changes, see rings_leave) without a
     * restart of the others. */
    vdm_dev_set_driver_features(
        s->dev, (s->features & ~VDM_VHOST_USER_F_PROTOCOL_FEATURES) |
                    (vdm_dev_device_features(s->dev) & VDM_F_RING_RESET));
    vdm_dev_set_status(s->dev,
                       (uint8_t)(VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                 VDM_STATUS_FEATURES_OK));
    if ((vdm_dev_status(s->dev) & VDM_STATUS_FEATURES_OK) == 0) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: the device refused the negotiated features");
        return VDM_ESTATE;
    }
    return 0;
}

static void signal_err(const struct vu_state *s, const struct vu_ring *r)
{
    if (r->err >= 0)
        s->ops->signal(s->host, r->err);
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
        rc = uva_to_gpa(s, r->uva[a], area_len(s, a, num), &gpa[a]);
        if (rc < 0) {
            /* Not a failure: the front-end may add the memory later (a
             * region removed and added back); rings_retry() tries again. */
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
static int core_sync(struct vu_state *s)
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
        core_reset(s);
    }
    rc = core_features(s);
    if (rc < 0)
        return rc;
    for (q = 0; q < n; q++) {
        const struct vu_ring *r = ring(s, q);
        if (started(r) && (r->flags & (RF_CORE | RF_FAILED | RF_NOMEM)) == 0)
            (void)ring_setup(s, q);
    }
    status = vdm_dev_status(s->dev);
    vdm_dev_set_status(s->dev, (uint8_t)(status | VDM_STATUS_DRIVER_OK));
    if ((vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) == 0) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: the device did not start");
        return VDM_ESTATE;
    }
    s->flags |= VF_SYNCED;
    /* Buffers may already wait (a restart, or kicks before this point). */
    for (q = 0; q < n; q++) {
        struct vu_ring *r = ring(s, q);
        if (started(r) &&
            (r->flags & (RF_CORE | RF_ENABLED)) == (RF_CORE | RF_ENABLED)) {
            r->flags &= ~RF_PENDING;
            vdm_dev_queue_notify(s->dev, q, 0);
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
        core_reset(s);
    else if ((r->flags & RF_CORE) != 0)
        r->flags |= RF_STALE;
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
        uint8_t m[VDM_VHOST_USER_HDR_SIZE];
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
/* Memory table */

struct vu_region {
    uint64_t gpa, size, uva, moff;
};

static void read_region(const uint8_t *p, struct vu_region *r)
{
    r->gpa = rd64(p);
    r->size = rd64(p + 8);
    r->uva = rd64(p + 16);
    r->moff = rd64(p + 24);
}

/* Sizes non-zero, no range wraps past 2^64. */
static int region_valid(const struct vu_region *r)
{
    uint64_t last = r->size - 1;
    return r->size != 0 && r->gpa <= UINT64_MAX - last &&
           r->uva <= UINT64_MAX - last && r->moff <= UINT64_MAX - last;
}

static int region_same(const struct vu_state *s, uint32_t i,
                       const struct vu_region *r)
{
    return s->regions[i].gpa == r->gpa && s->regions[i].size == r->size &&
           s->uva[i] == r->uva && s->moff[i] == r->moff;
}

/* Does ring r, held by the core, lie (partly) in a region marked in
 * @p gone? */
static int ring_in_gone(const struct vu_state *s, const struct vu_ring *r,
                        const uint8_t *gone)
{
    uint32_t i;
    int a;
    if ((r->flags & RF_CORE) == 0)
        return 0;
    for (i = 0; i < s->mem.nregions; i++) {
        if (!gone[i])
            continue;
        for (a = 0; a < 3; a++)
            if (overlaps(r->gpa[a], area_len(s, a, r->core_num),
                         s->regions[i].gpa, s->regions[i].size))
                return 1;
    }
    return 0;
}

/* May one ring leave the running core and come back alone (RING_RESET
 * negotiated in the core, see core_features)? */
static int core_one_ring(const struct vu_state *s)
{
    return (vdm_dev_status(s->dev) &
            (VDM_STATUS_DRIVER_OK | VDM_STATUS_DEVICE_NEEDS_RESET)) ==
               VDM_STATUS_DRIVER_OK &&
           (vdm_dev_features(s->dev) & VDM_F_RING_RESET) != 0;
}

static void region_unmap(const struct vu_state *s, uint32_t i)
{
    s->ops->unmap(s->host, s->regions[i].hva, s->moff[i], s->regions[i].size);
}

static void region_put(struct vu_state *s, uint32_t i,
                       const struct vu_region *r, void *hva)
{
    s->regions[i].gpa = r->gpa;
    s->regions[i].size = r->size;
    s->regions[i].hva = hva;
    s->regions[i].flags = 0;
    s->regions[i].reserved = 0;
    s->uva[i] = r->uva;
    s->moff[i] = r->moff;
}

static void region_remove(struct vu_state *s, uint32_t i)
{
    uint32_t n = s->mem.nregions;
    for (; i + 1 < n; i++) {
        s->regions[i] = s->regions[i + 1];
        s->uva[i] = s->uva[i + 1];
        s->moff[i] = s->moff[i + 1];
    }
    __builtin_memset(&s->regions[n - 1], 0, sizeof(s->regions[0]));
    s->mem.nregions = n - 1;
}

/* Before old regions go (bit i of @p gone set): the rings the core holds
 * in them leave the core, their positions saved; a started one waits for
 * its memory (RF_NOMEM, rings_retry). The other rings run on, their
 * in-flight requests kept. Without RING_RESET in the core, the whole core
 * is stopped instead; returns 1 when it was running and should be
 * restarted afterwards. */
static int rings_leave(struct vu_state *s, const uint8_t *gone)
{
    uint16_t q, n = dev_queues(s);
    int busy = 0, live;
    for (q = 0; q < n && !busy; q++)
        if (ring_in_gone(s, ring(s, q), gone))
            busy = 1;
    if (!busy)
        return 0;
    if (core_one_ring(s)) {
        for (q = 0; q < n; q++) {
            struct vu_ring *r = ring(s, q);
            if (!ring_in_gone(s, r, gone))
                continue;
            snapshot(s, q);
            (void)vdm_dev_queue_reset(s->dev, q);
            r->flags &= ~(RF_CORE | RF_STALE);
            if (started(r))
                r->flags |= RF_NOMEM;
        }
        vlog(s, VDM_LOG_WARN,
             "vhost-user: memory under a running ring removed; the ring "
             "waits for it");
        return 0;
    }
    live = (vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) != 0;
    vlog(s, VDM_LOG_WARN,
         "vhost-user: memory under a running ring removed; device restarted");
    core_stop(s);
    return live;
}

/* Is all of started ring q's memory in the table now? */
static int ring_mem_present(const struct vu_state *s, uint16_t q)
{
    const struct vu_ring *r = ring(s, q);
    uint32_t num =
        (r->flags & RF_NUM) != 0 ? r->num : vdm_dev_queue_size_max(s->dev, q);
    uint64_t gpa;
    int a;
    for (a = 0; a < 3; a++)
        if (uva_to_gpa(s, r->uva[a], area_len(s, a, num), &gpa) < 0)
            return 0;
    return 1;
}

/* After the memory table grew: rings that waited for their memory come
 * back, alone into the running core when it can take them (the others
 * keep running), else through a core restart. */
static void rings_retry(struct vu_state *s)
{
    uint16_t q, n = dev_queues(s);
    int all = 0;
    for (q = 0; q < n; q++) {
        struct vu_ring *r = ring(s, q);
        if (!started(r) || (r->flags & RF_NOMEM) == 0 ||
            !ring_mem_present(s, q))
            continue;
        r->flags &= ~RF_NOMEM;
        if ((s->flags & VF_SYNCED) == 0 || !core_one_ring(s)) {
            all = 1;
            continue;
        }
        /* Queue reset first: the core takes ring registers after DRIVER_OK
         * only for a queue reset alone. */
        (void)vdm_dev_queue_reset(s->dev, q);
        if (ring_setup(s, q) == 0 && (r->flags & RF_ENABLED) != 0) {
            r->flags &= ~RF_PENDING;
            (void)vdm_dev_queue_notify(s->dev, q, 0);
        }
    }
    if (all) {
        s->flags &= ~VF_SYNCED;
        if ((vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) != 0)
            (void)core_sync(s);
    }
}

static int on_set_mem_table(struct vu_state *s, struct vu_msg *m)
{
    struct vu_region nr[VDM_VHOST_USER_MEM_TABLE_MAX];
    void *hva[VDM_VHOST_USER_MEM_TABLE_MAX];
    int32_t keep[VDM_VHOST_USER_MEM_TABLE_MAX];
    uint8_t gone[VDM_VHOST_USER_MAX_REGIONS];
    uint32_t n, i, j;
    int restart, rc;

    if (m->size < SZ_MEMHDR)
        goto malformed;
    n = rd32(m->p);
    if (n > VDM_VHOST_USER_MEM_TABLE_MAX ||
        m->size != SZ_MEMHDR + n * SZ_REGION)
        goto malformed;
    if (m->nfds != n) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_MEM_TABLE: fd count differs from region count");
        return VDM_EINVAL;
    }
    for (i = 0; i < n; i++) {
        read_region(m->p + SZ_MEMHDR + i * SZ_REGION, &nr[i]);
        if (!region_valid(&nr[i])) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: SET_MEM_TABLE: empty or wrapping region");
            return VDM_EINVAL;
        }
        for (j = 0; j < i; j++)
            if (overlaps(nr[i].gpa, nr[i].size, nr[j].gpa, nr[j].size)) {
                vlog(s, VDM_LOG_ERROR,
                     "vhost-user: SET_MEM_TABLE: overlapping regions");
                return VDM_EINVAL;
            }
    }
    /* Map what is new; regions identical to current ones keep their
     * mapping (front-ends resend the whole table on every change). */
    for (i = 0; i < n; i++) {
        keep[i] = -1;
        hva[i] = NULL;
        for (j = 0; j < s->mem.nregions; j++)
            if (region_same(s, j, &nr[i]))
                keep[i] = (int32_t)j;
        if (keep[i] >= 0) {
            hva[i] = s->regions[keep[i]].hva;
            continue;
        }
        rc = s->ops->map(s->host, m->fds[i], nr[i].moff, nr[i].size, &hva[i]);
        if (rc < 0 || hva[i] == NULL) {
            vlog(s, VDM_LOG_ERROR, "vhost-user: SET_MEM_TABLE: map failed");
            for (j = 0; j < i; j++)
                if (keep[j] < 0)
                    s->ops->unmap(s->host, hva[j], nr[j].moff, nr[j].size);
            return rc < 0 ? rc : VDM_EIO;
        }
    }
    /* (The fds are closed by the caller of the handler, untaken.) */
    for (j = 0; j < s->mem.nregions; j++) {
        gone[j] = 1;
        for (i = 0; i < n; i++)
            if (keep[i] == (int32_t)j)
                gone[j] = 0;
    }
    restart = rings_leave(s, gone);
    for (j = 0; j < s->mem.nregions; j++)
        if (gone[j])
            region_unmap(s, j);
    for (i = 0; i < n; i++)
        region_put(s, i, &nr[i], hva[i]);
    for (i = n; i < s->mem.nregions; i++)
        __builtin_memset(&s->regions[i], 0, sizeof(s->regions[i]));
    s->mem.nregions = n;
    if (restart)
        (void)core_sync(s);
    rings_retry(s);
    return 0;
malformed:
    vlog(s, VDM_LOG_ERROR, "vhost-user: SET_MEM_TABLE: malformed payload");
    return VDM_EINVAL;
}

static int on_add_mem_reg(struct vu_state *s, struct vu_msg *m)
{
    struct vu_region r;
    void *hva = NULL;
    uint32_t i;
    int rc;

    if (m->size != SZ_U64 + SZ_REGION) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: malformed payload");
        return VDM_EINVAL;
    }
    if (m->nfds != 1) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: needs one fd");
        return VDM_EINVAL;
    }
    read_region(m->p + SZ_U64, &r);
    if (!region_valid(&r)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: ADD_MEM_REG: empty or wrapping region");
        return VDM_EINVAL;
    }
    for (i = 0; i < s->mem.nregions; i++) {
        if (region_same(s, i, &r))
            return 0; /* already there */
        if (overlaps(r.gpa, r.size, s->regions[i].gpa, s->regions[i].size)) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: ADD_MEM_REG: region overlaps another");
            return VDM_EINVAL;
        }
    }
    if (s->mem.nregions >= VDM_VHOST_USER_MAX_REGIONS) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: every slot in use");
        return VDM_ENOSPC;
    }
    rc = s->ops->map(s->host, m->fds[0], r.moff, r.size, &hva);
    if (rc < 0 || hva == NULL) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: map failed");
        return rc < 0 ? rc : VDM_EIO;
    }
    region_put(s, s->mem.nregions, &r, hva);
    s->mem.nregions++;
    rings_retry(s);
    return 0;
}

static int on_rem_mem_reg(struct vu_state *s, struct vu_msg *m)
{
    uint8_t gone[VDM_VHOST_USER_MAX_REGIONS];
    struct vu_region r;
    uint32_t i;
    int restart;

    if (m->size != SZ_U64 + SZ_REGION) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: malformed payload");
        return VDM_EINVAL;
    }
    /* "No file descriptors SHOULD be passed ... the back-end MAY accept
     * messages with one file descriptor" (closed unused). */
    if (m->nfds > 1) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: too many fds");
        return VDM_EINVAL;
    }
    read_region(m->p + SZ_U64, &r);
    for (i = 0; i < s->mem.nregions; i++)
        if (s->regions[i].gpa == r.gpa && s->regions[i].size == r.size &&
            s->uva[i] == r.uva)
            break;
    if (i == s->mem.nregions) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: no such region");
        return VDM_ENOENT;
    }
    __builtin_memset(gone, 0, sizeof(gone));
    gone[i] = 1;
    restart = rings_leave(s, gone);
    region_unmap(s, i);
    region_remove(s, i);
    if (restart)
        (void)core_sync(s);
    return 0;
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

static int on_set_vring_num(struct vu_state *s, struct vu_msg *m)
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

static int on_set_vring_addr(struct vu_state *s, struct vu_msg *m)
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
        if (uva_to_gpa(s, uva[a], area_len(s, a, num), &gpa) < 0) {
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

static int on_set_vring_base(struct vu_state *s, struct vu_msg *m)
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

static int on_get_vring_base(struct vu_state *s, struct vu_msg *m)
{
    uint32_t idx = rd32(m->p);
    uint8_t *o = m->reply + VDM_VHOST_USER_HDR_SIZE;
    struct vu_ring *r;
    int rc;

    m->rlen = VDM_VHOST_USER_HDR_SIZE + SZ_STATE;
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
    uint32_t nofd = (v & VDM_VHOST_USER_VRING_NOFD) != 0;

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

static int on_set_vring_fd(struct vu_state *s, struct vu_msg *m)
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

static int on_set_vring_enable(struct vu_state *s, struct vu_msg *m)
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
        return core_sync(s); /* notifies the enabled rings */
    r->flags &= ~RF_PENDING;
    if ((r->flags & (RF_CORE | RF_STALE)) == RF_CORE)
        vdm_dev_queue_notify(s->dev, (uint16_t)idx, 0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Features, status, config, reset */

static int on_set_features(struct vu_state *s, struct vu_msg *m)
{
    uint64_t f = rd64(m->p);
    uint64_t virt = f & ~VDM_VHOST_USER_F_PROTOCOL_FEATURES;
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
            virt == (s->features & ~VDM_VHOST_USER_F_PROTOCOL_FEATURES)) {
            s->features = f;
            return 0;
        }
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_FEATURES: features changed while rings run");
        return VDM_ESTATE;
    }
    s->features = f;
    s->flags |= VF_FEATURES;
    core_reset(s);
    return core_features(s);
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
        core_stop(s);
        return 0;
    }
    cur = vdm_dev_status(s->dev);
    if ((want & VDM_STATUS_FAILED) != 0) {
        if (cur != 0)
            vdm_dev_set_status(s->dev, (uint8_t)(cur | VDM_STATUS_FAILED));
        return 0;
    }
    if ((want & (VDM_STATUS_FEATURES_OK | VDM_STATUS_DRIVER_OK)) == 0) {
        /* ACKNOWLEDGE / DRIVER: mirror them while negotiation is open. */
        uint8_t add =
            (uint8_t)(want & (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER));
        if ((cur & VDM_STATUS_FEATURES_OK) == 0 && (cur | add) != cur) {
            vdm_dev_set_status(s->dev, (uint8_t)(cur | VDM_STATUS_ACKNOWLEDGE));
            if ((add & VDM_STATUS_DRIVER) != 0)
                vdm_dev_set_status(s->dev,
                                   (uint8_t)(cur | VDM_STATUS_ACKNOWLEDGE |
                                             VDM_STATUS_DRIVER));
        }
        return 0;
    }
    if ((want & VDM_STATUS_DRIVER_OK) != 0)
        return core_sync(s);
    return core_features(s);
}

static int on_get_config(struct vu_state *s, struct vu_msg *m)
{
    uint32_t off, len, csize, have;
    uint8_t *o = m->reply + VDM_VHOST_USER_HDR_SIZE;

    m->rlen = VDM_VHOST_USER_HDR_SIZE; /* empty payload: the error answer */
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
    m->rlen = VDM_VHOST_USER_HDR_SIZE + SZ_CFGHDR + len;
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
    for (i = 0; i < len;) {
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

/* RESET_DEVICE (and the deprecated RESET_OWNER): disable all rings and reset
 * the device; the connection state (owner, protocol features, memory,
 * back-end channel, err fds) stays. */
static void reset_device(struct vu_state *s)
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
    core_reset(s);
    s->features = 0;
    s->flags &= ~VF_FEATURES;
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

static int reply_u64(struct vu_msg *m, uint64_t v)
{
    wr64(m->reply + VDM_VHOST_USER_HDR_SIZE, v);
    m->rlen = VDM_VHOST_USER_HDR_SIZE + SZ_U64;
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
    case VDM_VHOST_USER_GET_STATUS: return 0;
    case VDM_VHOST_USER_SET_MEM_TABLE: return VDM_VHOST_USER_MEM_TABLE_MAX;
    case VDM_VHOST_USER_SET_VRING_KICK:
    case VDM_VHOST_USER_SET_VRING_CALL:
    case VDM_VHOST_USER_SET_VRING_ERR:
    case VDM_VHOST_USER_SET_BACKEND_REQ_FD:
    case VDM_VHOST_USER_ADD_MEM_REG:
    case VDM_VHOST_USER_REM_MEM_REG: return 1;
    default: return -1;
    }
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
    case VDM_VHOST_USER_GET_FEATURES: return reply_u64(m, offered_features(s));
    case VDM_VHOST_USER_SET_FEATURES: return on_set_features(s, m);
    case VDM_VHOST_USER_GET_PROTOCOL_FEATURES:
        return reply_u64(m, offered_protocol(s));
    case VDM_VHOST_USER_SET_PROTOCOL_FEATURES:
        return on_set_protocol_features(s, m);
    case VDM_VHOST_USER_SET_OWNER: s->flags |= VF_OWNER; return 0;
    case VDM_VHOST_USER_RESET_OWNER:
    case VDM_VHOST_USER_RESET_DEVICE: reset_device(s); return 0;
    case VDM_VHOST_USER_SET_MEM_TABLE: return on_set_mem_table(s, m);
    case VDM_VHOST_USER_ADD_MEM_REG: return on_add_mem_reg(s, m);
    case VDM_VHOST_USER_REM_MEM_REG: return on_rem_mem_reg(s, m);
    case VDM_VHOST_USER_GET_MAX_MEM_SLOTS:
        return reply_u64(m, VDM_VHOST_USER_MAX_REGIONS);
    case VDM_VHOST_USER_SET_VRING_NUM: return on_set_vring_num(s, m);
    case VDM_VHOST_USER_SET_VRING_ADDR: return on_set_vring_addr(s, m);
    case VDM_VHOST_USER_SET_VRING_BASE: return on_set_vring_base(s, m);
    case VDM_VHOST_USER_GET_VRING_BASE: return on_get_vring_base(s, m);
    case VDM_VHOST_USER_SET_VRING_KICK:
    case VDM_VHOST_USER_SET_VRING_CALL:
    case VDM_VHOST_USER_SET_VRING_ERR: return on_set_vring_fd(s, m);
    case VDM_VHOST_USER_SET_VRING_ENABLE: return on_set_vring_enable(s, m);
    case VDM_VHOST_USER_GET_QUEUE_NUM: return reply_u64(m, dev_queues(s));
    case VDM_VHOST_USER_GET_CONFIG: return on_get_config(s, m);
    case VDM_VHOST_USER_SET_CONFIG: return on_set_config(s, m);
    case VDM_VHOST_USER_SET_STATUS: return on_set_status(s, m);
    case VDM_VHOST_USER_GET_STATUS: return reply_u64(m, vdm_dev_status(s->dev));
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
        reply_u64(m, 1);
        vlog(s, VDM_LOG_ERROR, "vhost-user: unsupported request");
        return VDM_ENOTSUP;
    default:
        vlog(s, VDM_LOG_ERROR, "vhost-user: unknown or unsupported request");
        return VDM_ENOTSUP;
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
    if (b == NULL || len < VDM_VHOST_USER_HDR_SIZE ||
        vdm_vhost_user_payload_len(b, &psize) < 0 ||
        psize != len - VDM_VHOST_USER_HDR_SIZE) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: malformed message framing");
        rc = VDM_EPROTO;
        goto out;
    }
    m.req = rd32(b);
    m.flags = rd32(b + 4);
    m.size = psize;
    m.p = b + VDM_VHOST_USER_HDR_SIZE;
    m.reply = (uint8_t *)reply;
    m.cap = reply_cap;
    m.has_reply = has_own_reply(m.req);
    rc = dispatch(s, &m);
    if (!m.has_reply && (m.flags & VDM_VHOST_USER_F_NEED_REPLY) != 0) {
        /* "REPLY_ACK": zero on success, non-zero on failure. */
        reply_u64(&m, rc < 0 ? 1u : 0u);
    }
    if (m.has_reply && m.rlen == 0) {
        /* Every request with a reply body gets one, so the front-end's
         * stream stays in step: an empty payload says "failed". */
        m.rlen = VDM_VHOST_USER_HDR_SIZE;
    }
    if (m.rlen > 0) {
        wr32(m.reply, m.req);
        wr32(m.reply + 4, VDM_VHOST_USER_VERSION | VDM_VHOST_USER_F_REPLY);
        wr32(m.reply + 8, m.rlen - VDM_VHOST_USER_HDR_SIZE);
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
        return core_sync(s); /* notifies every enabled ring */
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
    uint32_t i;

    if (s == NULL)
        return;
    if (s->dev != NULL) {
        uint16_t q, n = dev_queues(s);
        reset_device(s);
        for (q = 0; q < n; q++) {
            struct vu_ring *r = ring(s, q);
            close_fd(s, r->err);
            r->err = VDM_VHOST_USER_NO_FD;
        }
    }
    close_fd(s, s->backend_fd);
    s->backend_fd = VDM_VHOST_USER_NO_FD;
    for (i = 0; i < s->mem.nregions; i++)
        region_unmap(s, i);
    __builtin_memset(s->regions, 0, sizeof(s->regions));
    s->mem.nregions = 0;
    s->features = 0;
    s->protocol = 0;
    s->seen_len = 0;
    s->flags &= VF_ATTACHED;
}

const char *vdm_vhost_user_request_name(uint32_t request)
{
    static const char *const names[] = {
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
