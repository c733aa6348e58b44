/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to the vhost-user back-end (transports/vhost_user*.c): the state
 * behind struct vdm_vhost_user and struct vdm_vhost_user_ring, and the
 * functions its files share. Not installed, not exported (no VDM_API);
 * cross-file functions are named vdmi_vu_*.
 *
 * Protocol: the vhost-user specification ("Message Specification",
 * "Communication", "Ring states", "Memory access", "Front-end message
 * types", "VHOST_USER_PROTOCOL_F_REPLY_ACK"). Virtio rules it maps onto:
 * "Device Status Field", "Device Initialization", "Virtqueues" (ring area
 * sizes and alignment), "Packed Virtqueues" (wrap counters).
 *
 * The files:
 *   vhost_user.c       framing, dispatch, features, status, config, the
 *                      public API and the device core's notification sink
 *   vhost_user_mem.c   the memory table (SET_MEM_TABLE, ADD/REM_MEM_REG) and
 *                      user address translation
 *   vhost_user_ring.c  ring state (SET/GET_VRING_*), the base encoding and
 *                      the derived device core
 *
 * Model. The transport keeps the truth about each ring as the front-end set
 * it (size, user addresses, position, kick/call/err descriptors, enable).
 * The device core is a derived copy, rebuilt on demand: when the device must
 * run (a kick, SET_VRING_ENABLE, SET_STATUS with DRIVER_OK) every started
 * ring is handed to the core and DRIVER_OK is set (vdmi_vu_core_sync). When
 * the started set changes under a live device, the positions of the running
 * rings are saved, the core is reset and rebuilt. The front-end is
 * untrusted: each message is validated completely before it changes state.
 */
#ifndef VDM_VHOST_USER_INTERNAL_H
#define VDM_VHOST_USER_INTERNAL_H

#include "vdm/vhost_user.h"

#include <stdbool.h>

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
              retried when the table grows (vdmi_vu_rings_retry) */
#define RF_LOG 0x400u /* VHOST_VRING_F_LOG: used-ring writes are logged */
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

/* Payload sizes (vhost-user "Message Specification"). */
#define SZ_U64    8u
#define SZ_STATE  8u  /* index, num */
#define SZ_ADDR   40u /* index, flags, desc, used, avail, log */
#define SZ_REGION 32u /* guest address, size, user address, mmap offset */
#define SZ_MEMHDR 8u  /* num regions, padding */
#define SZ_CFGHDR 12u /* offset, size, flags */
#define SZ_LOG    16u /* log size, log offset ("Log description") */

#define PF(bit) (1ULL << (bit))
/* SET_VRING_ADDR flags: VHOST_VRING_F_LOG */
#define VU_VRING_F_LOG 1u

struct vu_ring {
    uint64_t uva[3];   /* desc, driver (avail), device (used): user addresses */
    uint64_t gpa[3];   /* the same, guest-physical, while RF_CORE */
    uint64_t log;      /* log_guest_addr (used ring logging, RF_LOG) */
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
    struct vdm_dirty_log log; /* SET_LOG_BASE (bitmap: the mapping) */
    void *log_hva;            /* the log mapping, NULL if none */
    uint64_t log_off;         /* its mmap offset */
    struct vdm_mem_region regions[VDM_VHOST_USER_MAX_REGIONS];
    uint64_t uva[VDM_VHOST_USER_MAX_REGIONS];  /* user address of region i */
    uint64_t moff[VDM_VHOST_USER_MAX_REGIONS]; /* its mmap offset */
    /* The config bytes the front-end last saw (its GET_CONFIG answer, then
     * what it wrote): front-ends that cache the config write the whole
     * cached struct back with one field changed (see on_set_config). */
    uint32_t seen_off;
    uint32_t seen_len; /* 0: nothing seen */
    uint8_t seen[VDM_VHOST_USER_MAX_CONFIG];
    /* inflight tracking (vhost_user_inflight.c): the region, NULL if none */
    uint8_t *ift_hva;
    uint64_t ift_len;    /* bytes mapped */
    uint64_t ift_off;    /* mmap offset (for unmap) */
    uint64_t ift_qbytes; /* one queue's part */
    uint16_t ift_nq;     /* queues in it */
    uint16_t ift_qs;     /* entries per queue */
    uint8_t ift_packed;  /* layout: 1 packed, 0 split */
    uint8_t ift_pad[3];
};

_Static_assert(sizeof(struct vu_state) <= VDM_VHOST_USER_SIZE,
               "struct vu_state does not fit VDM_VHOST_USER_SIZE");
_Static_assert(alignof(struct vu_state) <= alignof(struct vdm_vhost_user),
               "struct vdm_vhost_user storage is under-aligned");
_Static_assert(sizeof(struct vu_ring) <= VDM_VHOST_USER_RING_SIZE,
               "struct vu_ring does not fit VDM_VHOST_USER_RING_SIZE");
_Static_assert(alignof(struct vu_ring) <= alignof(struct vdm_vhost_user_ring),
               "struct vdm_vhost_user_ring storage is under-aligned");
_Static_assert(VDM_VHOST_USER_MAX_MSG >= VDM_VHOST_USER_HDR_BYTES + SZ_CFGHDR +
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

static inline struct vu_ring *ring(const struct vu_state *s, uint32_t q)
{
    return (struct vu_ring *)(void *)s->rings[q].opaque;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}
static inline void wr64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}

static inline void vlog(const struct vu_state *s, int level, const char *msg)
{
    if (VDM_LOG_ON(level) &&
        VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, log))
        s->ops->log(s->host, level, msg);
}

static inline void close_fd(const struct vu_state *s, int32_t fd)
{
    if (fd >= 0)
        s->ops->close(s->host, fd);
}

static inline void watch_kick(const struct vu_state *s, uint16_t q, int32_t fd)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_vhost_user_ops, watch_kick))
        s->ops->watch_kick(s->host, q, fd);
}

static inline int started(const struct vu_ring *r)
{
    return (r->flags & RF_STARTED) == RF_STARTED;
}

static inline int is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static inline uint16_t dev_queues(const struct vu_state *s)
{
    return s->dev != NULL ? vdm_dev_num_queues(s->dev) : 0;
}

static inline int packed(const struct vu_state *s)
{
    return (s->features & VDM_F_RING_PACKED) != 0;
}

/* Does [a, a + alen) meet [b, b + blen)? Both ranges are known not to wrap. */
static inline int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen != 0 && blen != 0 && a <= b + (blen - 1) && b <= a + (alen - 1);
}

static inline void signal_err(const struct vu_state *s, const struct vu_ring *r)
{
    if (r->err >= 0)
        s->ops->signal(s->host, r->err);
}

/* vhost_user_ring.c: rings and the device core */

/* Bytes of ring area @p a (A_*) for a queue of @p num entries. */
uint64_t vdmi_vu_area_len(const struct vu_state *s, int a, uint32_t num);
/* Reset the core (status 0): every ring leaves it. */
void vdmi_vu_core_reset(struct vu_state *s);
/* Save the running rings' positions, then reset the core. */
void vdmi_vu_core_stop(struct vu_state *s);
/* Walk the core's status machine to FEATURES_OK. */
int vdmi_vu_core_features(struct vu_state *s);
/* Make the core run every started ring. */
int vdmi_vu_core_sync(struct vu_state *s);
#if VDM_CONFIG_RING_RESET
/* May one ring leave the running core and come back alone (RING_RESET
 * negotiated in the core, see vdmi_vu_core_features)? */
int vdmi_vu_core_one_ring(const struct vu_state *s);
/* Ring q, held by the running core, leaves it alone (position saved); a
 * started one waits for its memory (RF_NOMEM). Needs
 * vdmi_vu_core_one_ring(). */
void vdmi_vu_ring_leave(struct vu_state *s, uint16_t q);
#else
/* RING_RESET left out (vdm/config.h): a ring never leaves the core alone,
 * the whole core restarts instead; the one-ring paths fold away. */
static inline int vdmi_vu_core_one_ring(const struct vu_state *s)
{
    (void)s;
    return 0;
}
static inline void vdmi_vu_ring_leave(struct vu_state *s, uint16_t q)
{
    (void)s;
    (void)q;
}
#endif
/* After the memory table grew: rings waiting for their memory come back. */
void vdmi_vu_rings_retry(struct vu_state *s);
/* RESET_DEVICE: disable all rings and reset the device. */
void vdmi_vu_reset_device(struct vu_state *s);
int vdmi_vu_on_set_vring_num(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_set_vring_addr(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_set_vring_base(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_get_vring_base(struct vu_state *s, struct vu_msg *m);
/* SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR. */
int vdmi_vu_on_set_vring_fd(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_set_vring_enable(struct vu_state *s, struct vu_msg *m);

/* vhost_user_inflight.c: inflight I/O tracking and draining */

/* Payload of GET/SET_INFLIGHT_FD: u64 mmap size, u64 mmap offset, u16
 * num queues, u16 queue size (20 bytes; front-ends send the C struct's 24,
 * padding included). */
#define SZ_INFLIGHT 20u
int vdmi_vu_on_get_inflight_fd(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_set_inflight_fd(struct vu_state *s, struct vu_msg *m);
/* Ring q was just handed to the running core: track it in the region. */
void vdmi_vu_ift_attach(struct vu_state *s, uint16_t q);
/* Unmap the region. */
void vdmi_vu_ift_clear(struct vu_state *s);
/* Has the host the `inflight_alloc` hook? */
bool vdmi_vu_hook_inflight_alloc(const struct vu_state *s);
/* Ask the host to drain before message @p m (see the `drain` hook): 0 or
 * VDM_EAGAIN. */
int vdmi_vu_drain(struct vu_state *s, const struct vu_msg *m);
/* vhost_user_log.c: dirty-page logging */

/* mem.log follows VHOST_F_LOG_ALL and the mapped log. */
void vdmi_vu_log_apply(struct vu_state *s);
/* Unmap the log, logging off. */
void vdmi_vu_log_clear(struct vu_state *s);
int vdmi_vu_on_set_log_base(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_set_log_fd(struct vu_state *s, struct vu_msg *m);
/* Hand ring q's log settings (RF_LOG, log_guest_addr) to its core queue. */
void vdmi_vu_ring_log(struct vu_state *s, uint16_t q);

/* vhost_user.c: a u64 reply body. */
int vdmi_vu_reply_u64(struct vu_msg *m, uint64_t v);

/* vhost_user_mem.c: the memory table */

/* The guest-physical address of [uva, uva + len), which must lie in one
 * region; VDM_EFAULT if it does not. */
int vdmi_vu_uva_to_gpa(const struct vu_state *s, uint64_t uva, uint64_t len,
                       uint64_t *gpa);
int vdmi_vu_on_set_mem_table(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_add_mem_reg(struct vu_state *s, struct vu_msg *m);
int vdmi_vu_on_rem_mem_reg(struct vu_state *s, struct vu_msg *m);
/* Unmap every region and empty the table. */
void vdmi_vu_mem_clear(struct vu_state *s);

#endif /* VDM_VHOST_USER_INTERNAL_H */
