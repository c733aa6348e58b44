/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end (transports/vhost_user.c): message handling driven the
 * way a front-end does it, with the driver simulator moving real buffers
 * through split and packed rings, and hostile messages (framing, payload
 * sizes, file descriptor counts, ring addresses outside the memory table,
 * overlapping regions, memory removed under a running ring, random junk).
 *
 * File descriptors are fake numbers: the hooks track every one the test
 * hands to the library and check it is closed exactly once. Memory "fds"
 * stand for files whose contents are the driver simulator's guest regions. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdalign.h>
#include <sys/mman.h>

#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/mem.h"
#include "vdm/vhost_user.h"
#include "vdm/virtqueue.h"
#include "vu_local.h"

#define NQ       2
#define QMAX     64
#define CFG_SIZE 16
#define NUM      16 /* ring size the tests use */

#define R0_GPA  0x100000ull
#define R1_GPA  0x400000ull
#define R_SIZE  0x100000ull
#define R0_UVA  0x7f0000100000ull /* front-end user addresses, unrelated */
#define R1_UVA  0x5550000000ull   /* to the guest-physical ones */
#define R0_FOFF 0x2000ull         /* file offset of region 0 in its fd */
#define R1_FOFF 0x0ull

#define LOG_REGION 2       /* fdinfo::region of a dirty-log fd */
#define LOG_FOFF   0x3000ull /* file offset of T.logmem in its fd */
#define IFT_REGION 3       /* fdinfo::region of an inflight-region fd */

#define MAXFD   4096
#define FD_BASE 100

#define PROTO_ALL                                                              \
    ((1ull << VDM_VHOST_USER_PROTOCOL_F_MQ) |                                  \
     (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |                           \
     (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIG) |                              \
     (1ull << VDM_VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                        \
     (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                 \
     (1ull << VDM_VHOST_USER_PROTOCOL_F_STATUS))

struct fdinfo {
    int given;  /* handed to the library */
    int open;   /* not yet closed by the library */
    int region; /* memory fd: guest region it stands for, else -1 */
    uint64_t fbase;
    unsigned signals;
    unsigned closes;
};

struct th {
    struct drv_guest g;
    struct vdm_vhost_user vu;
    struct vu_front fe; /* the front-end, on vu */
    struct vdm_vhost_user_ring rings[NQ];
    struct vdm_dev dev;
    struct vdm_vq queues[NQ];
    uint32_t slots[VDM_DEV_SLOTS(NQ, QMAX)];
    struct drv_vq dq[NQ];
    int dq_live[NQ];
    struct fdinfo fd[MAXFD];
    int next_fd;
    int maps[3], unmaps[3]; /* [2]: the dirty log */
    uint8_t logmem[4096];   /* the front-end's dirty log "file" */
    int32_t watched[NQ];
    unsigned watch_calls;
    unsigned backend_msgs;
    uint32_t backend_req;
    unsigned nerr_log;
    /* the echo device */
    uint8_t cfg[CFG_SIZE];
    unsigned cfg_writes;
    uint32_t last_wr_off, last_wr_len;
    unsigned notifies[NQ];
    unsigned driver_oks;
    /* last message */
    uint8_t reply[VDM_VHOST_USER_MAX_MSG];
    uint32_t rlen;
    int rc;
    uint64_t features;
    int32_t kick[NQ], call[NQ], err[NQ];
    /* the `request` hook: 0 refuses, 1 keeps the first fd */
    int req_mode;
    unsigned req_calls;
    uint32_t req_last, req_len, req_nfds;
    /* inflight tracking and draining (test_vhost_user's "inflight" case) */
    alignas(64) uint8_t ift[8192]; /* the region ("fd" region 2) */
    unsigned ift_allocs, ift_maps, ift_unmaps, drain_calls;
    uint16_t drain_q;
    int hold; /* echo device: keep popped chains instead of pushing */
    unsigned nheld[NQ];
    uint16_t held[NQ][NUM];
};

static struct th T;

static uint32_t get32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(void *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* ------------------------------------------------------------------------ */
/* The echo device: copies each chain's readable bytes into its writable
 * part. Config: 16 bytes, the first 4 writable. */

static void echo_notify(struct vdm_dev *d, uint16_t q)
{
    struct vdm_vq *vq = vdm_dev_queue(d, q);
    T.notifies[q]++;
    if (vq == NULL)
        return;
    for (;;) {
        struct vdm_iov iov[16];
        struct vdm_chain c;
        uint8_t buf[512];
        size_t n;
        int rc;

        memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = 16;
        rc = vdm_vq_pop(vq, &c);
        if (getenv("VU_TEST_VERBOSE") != NULL)
            fprintf(stderr, "echo q%u pop %d\n", q, rc);
        if (rc == 0 || (rc < 0 && rc != VDM_ENOSPC))
            break;
        if (T.hold) {
            /* an asynchronous device: the request stays at the host */
            ck_assert_uint_lt(T.nheld[q], NUM);
            T.held[q][T.nheld[q]++] = c.id;
            continue;
        }
        n = vdm_chain_copy_from(&c, 0, buf, sizeof(buf));
        if (n > c.write_len)
            n = c.write_len;
        n = vdm_chain_copy_to(&c, 0, buf, n);
        vdm_vq_push(vq, c.id, (uint32_t)n);
    }
    vdm_dev_notify_used(d, q);
}

static void echo_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    (void)d;
    memcpy(buf, T.cfg + off, len);
}

static void echo_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                              uint32_t len)
{
    (void)d;
    T.cfg_writes++;
    T.last_wr_off = off;
    T.last_wr_len = len;
    for (uint32_t i = 0; i < len; i++)
        if (off + i < 4)
            T.cfg[off + i] = ((const uint8_t *)buf)[i];
}

static void echo_driver_ok(struct vdm_dev *d)
{
    (void)d;
    T.driver_oks++;
}

static const struct vdm_device_class echo_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 0x7e,
    .name = "echo",
    .config_size = CFG_SIZE,
    .max_queues = NQ,
    .driver_ok = echo_driver_ok,
    .queue_notify = echo_notify,
    .config_read = echo_config_read,
    .config_write = echo_config_write,
};

/* ------------------------------------------------------------------------ */
/* Host hooks */

static struct fdinfo *fdi(int32_t fd)
{
    ck_assert_msg(fd >= FD_BASE && fd < MAXFD, "bad fd %d from library", fd);
    return &T.fd[fd];
}

static int32_t new_fd(int region, uint64_t fbase)
{
    int32_t fd = T.next_fd++;
    ck_assert_int_lt(fd, MAXFD);
    T.fd[fd].given = 1;
    T.fd[fd].open = 1;
    T.fd[fd].region = region;
    T.fd[fd].fbase = fbase;
    return fd;
}

static int32_t ev_fd(void)
{
    return new_fd(-1, 0);
}
static int32_t mem_fd(int region)
{
    return new_fd(region, region == 0 ? R0_FOFF : R1_FOFF);
}

static int h_map(void *host, int32_t fd, uint64_t off, uint64_t len, void **hva)
{
    struct fdinfo *f = fdi(fd);
    struct drv_region *r;
    (void)host;
    ck_assert_msg(f->open, "map of a closed fd");
    if (f->region == IFT_REGION) { /* the inflight region */
        if (off > sizeof(T.ift) || len > sizeof(T.ift) - off)
            return VDM_EINVAL;
        *hva = T.ift + off;
        T.ift_maps++;
        return 0;
    }
    if (f->region < 0)
        return VDM_EINVAL;
    if (f->region == LOG_REGION) {
        if (off < f->fbase || off - f->fbase > sizeof(T.logmem) ||
            len > sizeof(T.logmem) - (off - f->fbase))
            return VDM_EINVAL;
        *hva = T.logmem + (off - f->fbase);
        T.maps[LOG_REGION]++;
        return 0;
    }
    r = &T.g.regions[f->region];
    if (off < f->fbase || off - f->fbase > r->size ||
        len > r->size - (off - f->fbase))
        return VDM_EINVAL;
    *hva = (uint8_t *)r->hva + (off - f->fbase);
    T.maps[f->region]++;
    return 0;
}

static void h_unmap(void *host, void *hva, uint64_t off, uint64_t len)
{
    (void)host;
    (void)off;
    (void)len;
    if ((uint8_t *)hva >= T.ift && (uint8_t *)hva < T.ift + sizeof(T.ift)) {
        T.ift_unmaps++;
        return;
    }
    for (unsigned i = 0; i < 2; i++) {
        uint8_t *b = T.g.regions[i].hva;
        if ((uint8_t *)hva >= b && (uint8_t *)hva < b + T.g.regions[i].size) {
            T.unmaps[i]++;
            return;
        }
    }
    if ((uint8_t *)hva >= T.logmem && (uint8_t *)hva < T.logmem + 4096) {
        T.unmaps[LOG_REGION]++;
        return;
    }
    ck_abort_msg("unmap of an address never mapped");
}

static void h_signal(void *host, int32_t fd)
{
    struct fdinfo *f = fdi(fd);
    (void)host;
    ck_assert_msg(f->open, "signal on a closed fd");
    f->signals++;
}

static void h_close(void *host, int32_t fd)
{
    struct fdinfo *f = fdi(fd);
    (void)host;
    ck_assert_msg(f->given, "close of an fd never given");
    ck_assert_msg(f->open, "double close of fd %d", fd);
    f->open = 0;
    f->closes++;
}

static void h_watch(void *host, uint16_t q, int32_t fd)
{
    (void)host;
    ck_assert_uint_lt(q, NQ);
    if (fd >= 0)
        ck_assert(fdi(fd)->open);
    T.watched[q] = fd;
    T.watch_calls++;
}

static int h_backend(void *host, int32_t fd, const void *m, uint32_t len)
{
    (void)host;
    ck_assert(fdi(fd)->open);
    ck_assert_uint_eq(len, VDM_VHOST_USER_HDR_BYTES);
    T.backend_msgs++;
    T.backend_req = get32(m);
    ck_assert_uint_eq(get32((const uint8_t *)m + 4), VDM_VHOST_USER_VERSION);
    return 0;
}

static void h_log(void *host, int level, const char *msg)
{
    (void)host;
    if (level == VDM_LOG_ERROR)
        T.nerr_log++;
    if (getenv("VU_TEST_VERBOSE") != NULL)
        fprintf(stderr, "log %d: %s\n", level, msg);
}

static int h_request(void *host, uint32_t req, const void *payload,
                     uint32_t len, const int32_t *fds, uint32_t nfds,
                     uint32_t *taken)
{
    (void)host;
    (void)payload;
    (void)fds;
    T.req_calls++;
    T.req_last = req;
    T.req_len = len;
    T.req_nfds = nfds;
    if (T.req_mode == 0)
        return VDM_ENOTSUP;
    if (nfds > 0)
        *taken = 1u | 0x80000000u; /* a bit beyond nfds is ignored */
    return 0;
}

static const struct vdm_vhost_user_ops vu_ops = {
    .size = sizeof(struct vdm_vhost_user_ops),
    .map = h_map,
    .unmap = h_unmap,
    .signal = h_signal,
    .close = h_close,
    .watch_kick = h_watch,
    .backend_send = h_backend,
    .log = h_log,
    .request = h_request,
};

static int h_ift_alloc(void *host, uint64_t len, int32_t *fd, void **hva)
{
    (void)host;
    if (len > sizeof(T.ift))
        return VDM_ENOSPC;
    memset(T.ift, 0, sizeof(T.ift));
    T.ift_allocs++;
    *fd = 99; /* the host's, sent with the reply: never the library's */
    *hva = T.ift;
    return 0;
}

/* Requests of ring q (UINT16_MAX: all) still at the host: wait. */
static int h_drain(void *host, uint16_t q)
{
    (void)host;
    T.drain_calls++;
    T.drain_q = q;
    for (unsigned i = 0; i < NQ; i++)
        if ((q == UINT16_MAX || q == i) && T.nheld[i] != 0)
            return VDM_EAGAIN;
    return 0;
}

static const struct vdm_vhost_user_ops vu_ops_ift = {
    .size = sizeof(struct vdm_vhost_user_ops),
    .map = h_map,
    .unmap = h_unmap,
    .signal = h_signal,
    .close = h_close,
    .watch_kick = h_watch,
    .backend_send = h_backend,
    .log = h_log,
    .request = h_request,
    .inflight_alloc = h_ift_alloc,
    .drain = h_drain,
};

static void dev_log(void *host, int level, const char *msg)
{
    h_log(host, level, msg);
}

static const struct vdm_host_ops host_ops = {
    .size = sizeof(struct vdm_host_ops),
    .log = dev_log,
};

/* ------------------------------------------------------------------------ */
/* Fixture */

static const struct vdm_vhost_user_ops *setup_ops = &vu_ops;

static void setup_with(uint64_t proto_off)
{
    uint64_t gpas[2] = {R0_GPA, R1_GPA}, sizes[2] = {R_SIZE, R_SIZE};
    struct vdm_vhost_user_config vc = VDM_INIT(struct vdm_vhost_user_config);
    struct vdm_dev_config dc = VDM_INIT(struct vdm_dev_config);

    memset(&T, 0, sizeof(T));
    T.next_fd = FD_BASE;
    for (int q = 0; q < NQ; q++)
        T.watched[q] = VDM_VHOST_USER_NO_FD;
    for (int i = 0; i < 16; i++)
        T.cfg[i] = (uint8_t)(0xa0 + i);
    ck_assert_int_eq(drv_guest_init(&T.g, gpas, sizes, 2), 0);

    vc.num_rings = NQ;
    vc.rings = T.rings;
    vc.ops = setup_ops;
    vc.protocol_features_off = proto_off;
    ck_assert_int_eq(vdm_vhost_user_init(&T.vu, &vc), 0);

    dc.num_queues = NQ;
    dc.queue_size_max = QMAX;
    dc.features = VDM_F_RING_ALL;
    dc.cls = &echo_class;
    dc.mem = vdm_vhost_user_mem(&T.vu);
    dc.ops = &host_ops;
    dc.queues = T.queues;
    dc.slots = T.slots;
    ck_assert_int_eq(vdm_dev_init(&T.dev, &dc), 0);
    ck_assert_int_eq(vdm_vhost_user_attach(&T.vu, &T.dev), 0);
    vu_local_init(&T.fe, &T.vu, T.reply, sizeof(T.reply), &T.rlen);
}

static void setup(void)
{
    setup_with(0);
}

static void teardown(void)
{
    for (int q = 0; q < NQ; q++)
        if (T.dq_live[q])
            drv_vq_fini(&T.dq[q]);
    drv_guest_fini(&T.g);
}

/* After vdm_vhost_user_reset(): every fd closed exactly once, every map
 * undone. */
static void assert_clean(void)
{
    for (int i = 0; i < MAXFD; i++)
        if (T.fd[i].given) {
            ck_assert_msg(!T.fd[i].open, "fd %d leaked", i);
            ck_assert_uint_eq(T.fd[i].closes, 1);
        }
    ck_assert_int_eq(T.maps[0], T.unmaps[0]);
    ck_assert_int_eq(T.maps[1], T.unmaps[1]);
    ck_assert_int_eq(T.maps[LOG_REGION], T.unmaps[LOG_REGION]);
}

/* ------------------------------------------------------------------------ */
/* Messages */

static int msg(uint32_t req, uint32_t flags, const void *payload, uint32_t plen,
               const int32_t *fds, uint32_t nfds)
{
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_msg(&T.fe, req, flags, payload, plen, fds, nfds);
    return T.rc;
}

static int msg0(uint32_t req)
{
    return msg(req, 0, NULL, 0, NULL, 0);
}

static int msg_u64(uint32_t req, uint32_t flags, uint64_t v, const int32_t *fds,
                   uint32_t nfds)
{
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_u64(&T.fe, req, flags, v, fds, nfds);
    return T.rc;
}

static int msg_state(uint32_t req, uint32_t flags, uint32_t idx, uint32_t num)
{
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_state(&T.fe, req, flags, idx, num);
    return T.rc;
}

static int msg_addr(uint32_t idx, uint64_t desc, uint64_t used, uint64_t avail)
{
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_addr(&T.fe, 0, idx, desc, used, avail);
    return T.rc;
}

/* Check the reply header and return its u64 payload. */
static uint64_t reply_u64(uint32_t req)
{
    ck_assert_uint_eq(T.rlen, 20);
    ck_assert_uint_eq(get32(T.reply), req);
    ck_assert_uint_eq(get32(T.reply + 4), 0x5); /* version 1 | reply */
    ck_assert_uint_eq(get32(T.reply + 8), 8);
    return get64(T.reply + 12);
}

static void region_bytes(uint8_t *p, uint64_t gpa, uint64_t size, uint64_t uva,
                         uint64_t moff)
{
    const struct vu_front_region r = {gpa, size, uva, moff};
    vu_front_put_region(p, &r);
}

static const struct vu_front_region REGION[2] = {
    {R0_GPA, R_SIZE, R0_UVA, R0_FOFF},
    {R1_GPA, R_SIZE, R1_UVA, R1_FOFF},
};

/* SET_MEM_TABLE with both regions (fresh fds). */
static int mem_table_both(void)
{
    int32_t fds[2] = {mem_fd(0), mem_fd(1)};
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_mem_table(&T.fe, 0, REGION, 2, fds);
    return T.rc;
}

static int mem_reg(uint32_t req, int region, int with_fd)
{
    int32_t fd = with_fd ? mem_fd(region) : -1;
    memset(T.reply, 0xee, sizeof(T.reply));
    T.rc = vu_front_mem_reg(&T.fe, req, VDM_VHOST_USER_F_NEED_REPLY,
                            &REGION[region != 0], fd);
    return T.rc;
}

static uint64_t g2u(uint64_t gpa)
{
    if (gpa >= R1_GPA)
        return gpa - R1_GPA + R1_UVA;
    return gpa - R0_GPA + R0_UVA;
}

/* GET_FEATURES .. SET_FEATURES as QEMU does it. */
static void negotiate(uint64_t virtio, int protocol)
{
    uint64_t offered;
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_FEATURES), 0);
    offered = reply_u64(VDM_VHOST_USER_GET_FEATURES);
    ck_assert(offered & VDM_VHOST_USER_F_PROTOCOL_FEATURES);
    if (protocol) {
        ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_PROTOCOL_FEATURES), 0);
        ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES) &
                              PROTO_ALL,
                          PROTO_ALL);
        ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                                 PROTO_ALL, NULL, 0),
                         0);
    }
    ck_assert_int_eq(msg0(VDM_VHOST_USER_SET_OWNER), 0);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_QUEUE_NUM), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GET_QUEUE_NUM), NQ);
    for (int q = 0; q < NQ; q++) {
        int32_t e = ev_fd();
        T.err[q] = e;
        ck_assert_int_eq(
            msg_u64(VDM_VHOST_USER_SET_VRING_ERR, 0, (uint64_t)q, &e, 1), 0);
    }
    virtio |= VDM_F_VERSION_1;
    ut_need(virtio, "vhost-user bring-up");
    ck_assert_uint_eq(offered & virtio, virtio);
    T.features = virtio;
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_FEATURES, VDM_VHOST_USER_F_NEED_REPLY,
                virtio | (protocol ? VDM_VHOST_USER_F_PROTOCOL_FEATURES : 0),
                NULL, 0),
        0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_FEATURES), 0);
}

/* Driver side of ring q, in region q. */
static void drv_setup(int q)
{
    unsigned reg = (unsigned)q;
    int pk = (T.features & VDM_F_RING_PACKED) != 0;
    uint64_t d = drv_alloc_in(&T.g, reg, 16 * NUM, 16);
    uint64_t a = drv_alloc_in(&T.g, reg, pk ? 4 : 6 + 2 * NUM, 4);
    uint64_t u = drv_alloc_in(&T.g, reg, pk ? 4 : 6 + 8 * NUM, 4);
    ck_assert_int_eq(drv_vq_init_at(&T.dq[q], &T.g, NUM, T.features, d, a, u),
                     0);
    T.dq_live[q] = 1;
}

/* The position of a fresh ring: packed wrap counters start at 1. */
static uint32_t base0(void)
{
    return (T.features & VDM_F_RING_PACKED) != 0 ? 0x80008000u : 0;
}

/* NUM, BASE, ADDR, KICK, CALL for ring q (as vhost_virtqueue_start). */
static int skip_num; /* ring_start leaves the size as it is */

static void ring_start(int q, uint32_t base)
{
    struct drv_vq *v = &T.dq[q];
    int32_t k = ev_fd(), c = ev_fd();
    if (!skip_num)
        ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, q, NUM), 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_BASE, 0, q, base), 0);
    ck_assert_int_eq(msg_addr(q, g2u(drv_vq_desc_gpa(v)),
                              g2u(drv_vq_device_gpa(v)),
                              g2u(drv_vq_driver_gpa(v))),
                     0);
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, (uint64_t)q, &k, 1), 0);
    ck_assert_int_eq(T.watched[q], k);
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_VRING_CALL, 0, (uint64_t)q, &c, 1), 0);
    T.kick[q] = k;
    T.call[q] = c;
}

static void ring_enable(int q, uint32_t on)
{
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_ENABLE,
                               VDM_VHOST_USER_F_NEED_REPLY, q, on),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_VRING_ENABLE), 0);
}

/* Add one out + one in buffer carrying @p text on ring q; publish. */
static void add_text(int q, const char *text)
{
    size_t n = strlen(text);
    uint64_t out = drv_alloc(&T.g, 64, 8), in = drv_alloc(&T.g, 64, 8);
    struct drv_buf o = {out, (uint32_t)n}, i = {in, 64};
    memcpy(drv_gpa(&T.g, out, n), text, n);
    ck_assert_int_ge(drv_vq_add(&T.dq[q], &o, 1, &i, 1, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)in),
                     0);
    drv_vq_publish(&T.dq[q]);
}

/* Collect one used buffer from ring q and check it echoes @p text. */
static void expect_echo(int q, const char *text)
{
    uint32_t id, len;
    void *cookie;
    size_t n = strlen(text);
    ck_assert_int_eq(drv_vq_get_used(&T.dq[q], &id, &len, &cookie), 1);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(drv_gpa(&T.g, (uint64_t)(uintptr_t)cookie, n), text, n);
    drv_vq_enable_cb(&T.dq[q]);
}

/* One buffer through ring q: add, kick, echo, call fd signalled. */
static void roundtrip(int q, const char *text)
{
    unsigned calls = T.fd[T.call[q]].signals;
    add_text(q, text);
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, (uint16_t)q), 0);
    expect_echo(q, text);
    ck_assert_uint_gt(T.fd[T.call[q]].signals, calls);
}

/* Bring both rings up the QEMU way (features, table, rings, enable). */
static void bring_up(uint64_t virtio)
{
    negotiate(virtio, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    for (int q = 0; q < NQ; q++) {
        drv_setup(q);
        ring_start(q, base0());
    }
    for (int q = 0; q < NQ; q++)
        ring_enable(q, 1);
    ck_assert(vdm_dev_live(&T.dev));
}

/* ------------------------------------------------------------------------ */
/* Normal operation */

START_TEST(features_masked_and_protocol_bit)
{
    uint64_t f;
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_FEATURES), 0);
    f = reply_u64(VDM_VHOST_USER_GET_FEATURES);
    ck_assert(f & VDM_VHOST_USER_F_PROTOCOL_FEATURES);
    ck_assert(f & VDM_F_VERSION_1);
    /* The ring features as built (vdm/config.h). */
    ck_assert_uint_eq(f & (VDM_F_RING_PACKED | VDM_F_EVENT_IDX),
                      VDM_F_RING_ALL & (VDM_F_RING_PACKED | VDM_F_EVENT_IDX));
    /* The device offers these, the transport cannot carry them. */
    ck_assert(!(f & VDM_F_NOTIFICATION_DATA));
    ck_assert(!(f & VDM_F_RING_RESET));
    ck_assert(!(f & VDM_F_ACCESS_PLATFORM));
    /* vhost-user "Migration": dirty logging is offered when built in
     * (VDM_CONFIG_DIRTY_LOG). */
    ck_assert_uint_eq(f & VDM_VHOST_F_LOG_ALL,
                      VDM_CONFIG_DIRTY_LOG ? VDM_VHOST_F_LOG_ALL : 0ull);
    /* ... and refuses them when set anyway. */
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_FEATURES, VDM_VHOST_USER_F_NEED_REPLY,
                VDM_F_VERSION_1 | VDM_F_NOTIFICATION_DATA, NULL, 0),
        VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_FEATURES), 1);
    /* RING_RESET is the front-end's own (QEMU's vhost-user-gpu forwards
     * the guest's features unfiltered): accepted (the core negotiates it
     * on its own anyway, vhost_user_ring.c). */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_FEATURES,
                             VDM_VHOST_USER_F_NEED_REPLY,
                             VDM_F_VERSION_1 | VDM_F_RING_RESET, NULL, 0),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_FEATURES), 0);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_MAX_MEM_SLOTS), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GET_MAX_MEM_SLOTS),
                      VDM_VHOST_USER_MAX_REGIONS);
    ck_assert_str_eq(vdm_vhost_user_request_name(VDM_VHOST_USER_SET_MEM_TABLE),
                     "SET_MEM_TABLE");
    ck_assert_str_eq(vdm_vhost_user_request_name(12345), "UNKNOWN");
}
END_TEST

START_TEST(set_features_walks_status_machine)
{
    negotiate(VDM_F_EVENT_IDX, 1);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_STATUS), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GET_STATUS),
                      VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                          VDM_STATUS_FEATURES_OK);
    /* RING_RESET is never offered to the front-end, but negotiated in the
     * core when the device offers it (one ring may leave the core alone);
     * only when built in (vdm/config.h). */
    ck_assert_uint_eq(vdm_dev_features(&T.dev),
                      VDM_F_VERSION_1 | VDM_F_EVENT_IDX |
                          (VDM_F_RING_ALL & VDM_F_RING_RESET));
    ck_assert_uint_eq(T.driver_oks, 0);
}
END_TEST

START_TEST(reply_ack_only_when_asked)
{
    negotiate(0, 1);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, NUM), 0);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM,
                               VDM_VHOST_USER_F_NEED_REPLY, 0, NUM),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_VRING_NUM), 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM,
                               VDM_VHOST_USER_F_NEED_REPLY, 0, 3),
                     VDM_EINVAL); /* split size not a power of 2 */
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_VRING_NUM), 1);
    /* A request with its own reply answers with it, need_reply or not. */
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_FEATURES,
                         VDM_VHOST_USER_F_NEED_REPLY, NULL, 0, NULL, 0),
                     0);
    ck_assert(reply_u64(VDM_VHOST_USER_GET_FEATURES) & VDM_F_VERSION_1);
}
END_TEST

static void split_or_packed_roundtrip(uint64_t ring_features)
{
    bring_up(ring_features | VDM_F_EVENT_IDX);
    ck_assert_uint_eq(T.driver_oks, 1);
    ck_assert(vdm_vhost_user_queue_ready(&T.vu, 0));
    ck_assert(vdm_vhost_user_queue_ready(&T.vu, 1));
    roundtrip(0, "hello");
    roundtrip(1, "rings live in region 1");
    roundtrip(0, "again");
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_STATUS), 0);
    ck_assert(reply_u64(VDM_VHOST_USER_GET_STATUS) & VDM_STATUS_DRIVER_OK);
    vdm_vhost_user_reset(&T.vu);
    ck_assert_int_eq(vdm_dev_status(&T.dev), 0);
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 0));
    assert_clean();
}

START_TEST(split_roundtrip)
{
    split_or_packed_roundtrip(0);
}
END_TEST

START_TEST(packed_roundtrip)
{
    split_or_packed_roundtrip(VDM_F_RING_PACKED);
}
END_TEST

START_TEST(split_get_vring_base_stop_and_resume)
{
    bring_up(0);
    roundtrip(0, "one");
    roundtrip(0, "two");
    roundtrip(1, "three");
    /* Stop like vhost_dev_stop: disable, GET_VRING_BASE, status 0. */
    ring_enable(0, 0);
    ring_enable(1, 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    ck_assert_uint_eq(T.rlen, 20);
    ck_assert_uint_eq(get32(T.reply + 12), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 2); /* next avail index */
    ck_assert_int_eq(T.watched[0], VDM_VHOST_USER_NO_FD);
    ck_assert(!T.fd[T.kick[0]].open); /* the ring's kick and call are gone */
    ck_assert(!T.fd[T.call[0]].open);
    ck_assert(vdm_dev_live(&T.dev)); /* ring 1 still runs */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 1, 0), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 1);
    ck_assert_int_eq(vdm_dev_status(&T.dev), 0); /* last ring: core reset */
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), VDM_ESTATE);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 0, NULL, 0), 0);

    /* Resume where it stopped (the driver simulator keeps its state). */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_FEATURES, 0,
                             T.features | VDM_VHOST_USER_F_PROTOCOL_FEATURES,
                             NULL, 0),
                     0);
    ring_start(0, 2);
    ring_start(1, 1);
    ring_enable(0, 1);
    ring_enable(1, 1);
    roundtrip(0, "four");
    roundtrip(1, "five");
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 3);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(packed_vring_base_encoding_and_wrap)
{
    uint32_t b;
    bring_up(VDM_F_RING_PACKED);
    /* 12 buffers of 2 descriptors on a 16-entry ring: 24 descriptors, the
     * device wrapped once (wrap counters 0), both at 8. */
    for (int i = 0; i < 12; i++)
        roundtrip(0, "wrap");
    ring_enable(0, 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    b = get32(T.reply + 16);
    ck_assert_uint_eq(b & 0x7fff, 8);         /* last_avail_idx */
    ck_assert_uint_eq((b >> 15) & 1, 0);      /* avail wrap counter */
    ck_assert_uint_eq((b >> 16) & 0x7fff, 8); /* used_idx */
    ck_assert_uint_eq(b >> 31, 0);            /* used wrap counter */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 1, 0), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 0x80008000u); /* untouched ring */

    /* Restart from the encoded position and keep going across the next
     * wrap: the device must be exactly where the driver is. */
    ring_start(0, b);
    ring_start(1, 0x80008000u);
    ring_enable(0, 1);
    ring_enable(1, 1);
    for (int i = 0; i < 9; i++)
        roundtrip(0, "after");
    roundtrip(1, "other");
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    b = get32(T.reply + 16);
    ck_assert_uint_eq(b, (10u | 0x8000u) | ((10u | 0x8000u) << 16));
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(packed_base_avail_half_only)
{
    /* A front-end sending only bits 0-15 means used = avail. */
    bring_up(VDM_F_RING_PACKED);
    for (int i = 0; i < 3; i++)
        roundtrip(0, "x");
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 0x80068006u);
    ring_start(0, 0x8006u);
    roundtrip(0, "half");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(packed_bad_base_refused_at_start)
{
    negotiate(VDM_F_RING_PACKED, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    drv_setup(1);
    /* last_avail_idx 20 >= ring size 16: the ring fails, err fd signalled,
     * the other ring still runs. */
    ring_start(0, 20 | 0x8000u);
    ring_start(1, 0x80008000u);
    ring_enable(1, 1);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_ENABLE, 0, 0, 1), 0);
    ck_assert_uint_ge(T.fd[T.err[0]].signals, 1);
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 0));
    roundtrip(1, "fine");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(kick_held_until_enabled)
{
    negotiate(0, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    drv_setup(1);
    ring_start(0, 0);
    ring_start(1, 0);
    add_text(0, "early");
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), 0);
    ck_assert_uint_eq(T.notifies[0], 0); /* disabled: nothing processed */
    ck_assert(!vdm_dev_live(&T.dev));
    ring_enable(0, 1);
    expect_echo(0, "early");
    ring_enable(1, 1);
    roundtrip(1, "late");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(no_protocol_features_rings_start_enabled)
{
    negotiate(0, 0);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    drv_setup(1);
    ring_start(0, 0);
    ring_start(1, 0);
    ck_assert(!vdm_dev_live(&T.dev));
    roundtrip(0, "first kick starts the device");
    roundtrip(1, "second ring too");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(ring_joining_live_device_keeps_positions)
{
    /* A front-end that starts and enables one ring at a time. */
    negotiate(0, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    drv_setup(1);
    ring_start(0, 0);
    ring_enable(0, 1);
    ck_assert(vdm_dev_live(&T.dev));
    roundtrip(0, "a");
    roundtrip(0, "b");
    ring_start(1, 0);
    ring_enable(1, 1);
    ck_assert(vdm_dev_live(&T.dev));
    roundtrip(0, "c"); /* ring 0 position survived the rebuild */
    roundtrip(1, "d");
    ck_assert_uint_eq(T.driver_oks, 2);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(status_messages_drive_device)
{
    negotiate(0, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    drv_setup(1);
    ring_start(0, 0);
    ring_start(1, 0);
    /* vhost_user_dev_start: GET_STATUS, SET_STATUS(s | ACK | DRIVER | OK) */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_STATUS), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GET_STATUS),
                      VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                          VDM_STATUS_FEATURES_OK);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS,
                             VDM_VHOST_USER_F_NEED_REPLY, 0x0f, NULL, 0),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_STATUS), 0);
    ck_assert(vdm_dev_live(&T.dev));
    ring_enable(0, 1);
    roundtrip(0, "status");
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 0, NULL, 0), 0);
    ck_assert_int_eq(vdm_dev_status(&T.dev), 0);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 0x100, NULL, 0),
                     VDM_EINVAL);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(poll_mode_kick_and_no_call_fd)
{
    int32_t none = -1;
    negotiate(0, 1);
    ck_assert_int_eq(mem_table_both(), 0);
    drv_setup(0);
    ring_start(0, 0);
    /* Switch to polling (no-fd flag) and drop the call fd. */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0,
                             VDM_VHOST_USER_VRING_NOFD | 0, NULL, 0),
                     0);
    ck_assert_int_eq(T.watched[0], VDM_VHOST_USER_FD_POLL);
    ck_assert(!T.fd[T.kick[0]].open);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_CALL, 0,
                             VDM_VHOST_USER_VRING_NOFD | 0, NULL, 0),
                     0);
    ck_assert(!T.fd[T.call[0]].open);
    (void)none;
    ring_enable(0, 1);
    add_text(0, "polled");
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), 0);
    expect_echo(0, "polled");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(config_get_pads_and_set_writes_changes_only)
{
    uint8_t p[12 + 24];
    negotiate(0, 1);
    /* GET_CONFIG longer than the device's 16 bytes: the rest reads 0. */
    memset(p, 0, sizeof(p));
    put32(p, 0);
    put32(p + 4, 24);
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0),
                     0);
    ck_assert_uint_eq(T.rlen, 12 + 12 + 24);
    ck_assert_uint_eq(get32(T.reply + 8), 36);
    ck_assert_uint_eq(get32(T.reply + 16), 24);
    ck_assert_mem_eq(T.reply + 24, T.cfg, 16);
    for (int i = 16; i < 24; i++)
        ck_assert_uint_eq(T.reply[24 + i], 0);
    /* Offset past the config: empty payload (the protocol's error). */
    put32(p, 17);
    put32(p + 4, 4);
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_CONFIG, 0, p, 12 + 4, NULL, 0),
                     VDM_ERANGE);
    ck_assert_uint_eq(T.rlen, 12);
    ck_assert_uint_eq(get32(T.reply + 8), 0);

    /* A 1-byte register write goes through as is. */
    put32(p, 1);
    put32(p + 4, 1);
    put32(p + 8, 0);
    p[12] = 0x55;
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_CONFIG, 0, p, 13, NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 1);
    ck_assert_uint_eq(T.cfg[1], 0x55);
    /* A whole-struct echo with one byte changed writes that byte only. */
    put32(p, 0);
    put32(p + 4, 16);
    memcpy(p + 12, T.cfg, 16);
    p[12 + 2] = 0x77;
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_CONFIG, 0, p, 12 + 16, NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 2);
    ck_assert_uint_eq(T.last_wr_off, 2);
    ck_assert_uint_eq(T.last_wr_len, 1);
    ck_assert_uint_eq(T.cfg[2], 0x77);
    /* Bad flags, offset out of range, size mismatch. */
    put32(p + 8, 7);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_CONFIG, 0, p, 12 + 16, NULL, 0),
                     VDM_EINVAL);
    put32(p, 16);
    put32(p + 4, 1);
    put32(p + 8, 0);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_CONFIG, 0, p, 13, NULL, 0),
                     VDM_ERANGE);
    put32(p, 0);
    put32(p + 4, 5);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_CONFIG, 0, p, 13, NULL, 0),
                     VDM_EINVAL);
    ck_assert_uint_eq(T.cfg_writes, 2);
}
END_TEST

/* QEMU writes its whole cached config back, stale bytes included, with
 * the byte the guest changed: only that byte may reach the device. */
START_TEST(config_whole_struct_write_against_what_frontend_saw)
{
    uint8_t get[12 + 16], set[12 + 16];
    negotiate(0, 1);
    memset(get, 0, sizeof(get));
    put32(get + 4, 16);
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_GET_CONFIG, 0, get, sizeof(get), NULL, 0), 0);
    /* The device changes a read-only byte behind the front-end's back. */
    T.cfg[9] = 0x11;
    /* Guest writes byte 0: the front-end sends its stale cache. */
    memcpy(set, get, 12);
    memcpy(set + 12, T.reply + 24, 16);
    set[12 + 0] = 0x42;
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_SET_CONFIG, 0, set, sizeof(set), NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 1);
    ck_assert_uint_eq(T.last_wr_off, 0);
    ck_assert_uint_eq(T.last_wr_len, 1);
    /* Then byte 1, without reading in between. */
    set[12 + 1] = 0x43;
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_SET_CONFIG, 0, set, sizeof(set), NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 2);
    ck_assert_uint_eq(T.last_wr_off, 1);
    ck_assert_uint_eq(T.last_wr_len, 1);
    ck_assert_uint_eq(T.cfg[0], 0x42);
    ck_assert_uint_eq(T.cfg[1], 0x43);
    ck_assert_uint_eq(T.cfg[9], 0x11);
}
END_TEST

/* Before any GET_CONFIG a caching front-end's copy is zeroed: a
 * whole-struct write changes only its non-zero bytes. */
START_TEST(config_whole_struct_write_before_any_read)
{
    uint8_t set[12 + 16];
    negotiate(0, 1);
    memset(set, 0, sizeof(set));
    put32(set + 4, 16);
    set[12 + 0] = 0x42;
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_SET_CONFIG, 0, set, sizeof(set), NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 1);
    ck_assert_uint_eq(T.last_wr_off, 0);
    ck_assert_uint_eq(T.last_wr_len, 1);
    set[12 + 1] = 0x43;
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_SET_CONFIG, 0, set, sizeof(set), NULL, 0), 0);
    ck_assert_uint_eq(T.cfg_writes, 2);
    ck_assert_uint_eq(T.last_wr_off, 1);
    ck_assert_uint_eq(T.cfg[2], 0xa2); /* read-only bytes untouched */
}
END_TEST

START_TEST(kick_fd_before_addresses_and_odd_orders)
{
    struct drv_vq *v;
    int32_t k;
    /* SET_VRING_NUM 3 before the features say split: refused at start. */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 1, 3), 0);
    /* Rings started before SET_FEATURES cannot run. */
    ck_assert_int_eq(mem_table_both(), 0);
    T.features = VDM_F_VERSION_1;
    drv_setup(0);
    v = &T.dq[0];
    k = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 0, &k, 1), 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, NUM), 0);
    /* The kick came first; the addresses start the ring. */
    ck_assert_int_eq(msg_addr(0, g2u(drv_vq_desc_gpa(v)),
                              g2u(drv_vq_device_gpa(v)),
                              g2u(drv_vq_driver_gpa(v))),
                     0);
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), VDM_ESTATE);
    ck_assert(!vdm_dev_live(&T.dev));
    /* SET_STATUS: ACKNOWLEDGE and DRIVER are mirrored, FAILED recorded,
     * FEATURES_OK needs the features. */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 1, NULL, 0), 0);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 3, NULL, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&T.dev), 3);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 0xb, NULL, 0),
                     VDM_ESTATE);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_STATUS, 0, 0x83, NULL, 0), 0);
    ck_assert(vdm_dev_status(&T.dev) & VDM_STATUS_FAILED);
    /* Now the features: the device restarts clean; ring 1 (size 3, split)
     * fails when the device starts, ring 0 runs. */
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_FEATURES, 0, VDM_F_VERSION_1, NULL, 0),
        VDM_ESTATE); /* ring 0 is started: no new features */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_FEATURES, 0, VDM_F_VERSION_1, NULL, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&T.dev), 0xb);
    T.err[1] = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_ERR, 0, 1, &T.err[1], 1),
                     0);
    drv_setup(1);
    ring_start(0, 0);
    skip_num = 1; /* ring 1 keeps size 3 */
    ring_start(1, 0);
    skip_num = 0;
    roundtrip(0, "no protocol features: kick starts it");
    ck_assert_uint_ge(T.fd[T.err[1]].signals, 1);
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 1));
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(mem_slots_fill_and_remove_middle)
{
    uint8_t p[40];
    uint32_t i;
    negotiate(0, 1);
    /* Fill every slot with 4 KiB pieces of region 0's file. */
    for (i = 0; i < VDM_VHOST_USER_MAX_REGIONS; i++) {
        int32_t fd = mem_fd(0);
        memset(p, 0, 8);
        region_bytes(p + 8, R0_GPA + 0x1000ull * i, 0x1000,
                     R0_UVA + 0x1000ull * i, R0_FOFF + 0x1000ull * i);
        ck_assert_int_eq(msg(VDM_VHOST_USER_ADD_MEM_REG, 0, p, 40, &fd, 1), 0);
    }
    {
        int32_t fd = mem_fd(1);
        region_bytes(p + 8, R1_GPA, R_SIZE, R1_UVA, R1_FOFF);
        ck_assert_int_eq(msg(VDM_VHOST_USER_ADD_MEM_REG, 0, p, 40, &fd, 1),
                         VDM_ENOSPC);
        ck_assert(!T.fd[fd].open);
    }
    /* Remove one in the middle: the table stays compact and usable. */
    region_bytes(p + 8, R0_GPA + 0x1000ull * 5, 0x1000, R0_UVA + 0x1000ull * 5,
                 0);
    ck_assert_int_eq(msg(VDM_VHOST_USER_REM_MEM_REG, 0, p, 40, NULL, 0), 0);
    ck_assert_uint_eq(vdm_vhost_user_mem(&T.vu)->nregions,
                      VDM_VHOST_USER_MAX_REGIONS - 1);
    {
        void *hva;
        const struct vdm_mem *m = vdm_vhost_user_mem(&T.vu);
        ck_assert_int_eq(vdm_mem_check(m), 0);
        ck_assert_int_eq(
            vdm_mem_lookup(m, R0_GPA + 0x1000ull * 5, 1, VDM_MEM_READ, &hva),
            VDM_EFAULT);
        ck_assert_int_eq(vdm_mem_lookup(m, R0_GPA + 0x1000ull * 6 + 8, 8,
                                        VDM_MEM_READ, &hva),
                         0);
        ck_assert_ptr_eq(hva, (uint8_t *)T.g.regions[0].hva + 0x6008);
    }
    /* Two fds on REM_MEM_REG. */
    {
        int32_t fds[2] = {ev_fd(), ev_fd()};
        ck_assert_int_eq(msg(VDM_VHOST_USER_REM_MEM_REG, 0, p, 40, fds, 2),
                         VDM_EINVAL);
    }
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(add_rem_mem_reg)
{
    negotiate(0, 1);
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_ADD_MEM_REG, 0, 1), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_ADD_MEM_REG), 0);
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_ADD_MEM_REG, 1, 1), 0);
    ck_assert_uint_eq(vdm_vhost_user_mem(&T.vu)->nregions, 2);
    ck_assert_int_eq(T.maps[0] + T.maps[1], 2);
    /* The same region again is accepted without a second mapping. */
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_ADD_MEM_REG, 1, 1), 0);
    ck_assert_int_eq(T.maps[1], 1);
    drv_setup(0);
    drv_setup(1);
    ring_start(0, 0);
    ring_start(1, 0);
    ring_enable(0, 1);
    ring_enable(1, 1);
    roundtrip(0, "slots");
    roundtrip(1, "slots");
    /* REM_MEM_REG may come with one (stray) fd: closed, not used. */
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_REM_MEM_REG, 1, 1), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_REM_MEM_REG), 0);
    ck_assert_int_eq(T.unmaps[1], 1);
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_REM_MEM_REG, 1, 0), VDM_ENOENT);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_REM_MEM_REG), 1);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(mem_table_resend_keeps_mappings)
{
    bring_up(0);
    roundtrip(0, "before");
    /* Front-ends resend the whole table on any change. */
    ck_assert_int_eq(mem_table_both(), 0);
    ck_assert_int_eq(T.maps[0], 1);
    ck_assert_int_eq(T.maps[1], 1);
    ck_assert_int_eq(T.unmaps[0] + T.unmaps[1], 0);
    ck_assert(vdm_dev_live(&T.dev));
    roundtrip(0, "after");
    roundtrip(1, "after");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(memory_removed_under_running_ring)
{
    uint8_t p[8 + 32];
    int32_t fd;
    bring_up(0);
    roundtrip(0, "a");
    roundtrip(1, "b");
    /* New table without region 1, where ring 1 lives. */
    fd = mem_fd(0);
    put32(p, 1);
    put32(p + 4, 0);
    region_bytes(p + 8, R0_GPA, R_SIZE, R0_UVA, R0_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), &fd, 1),
                     0);
    ck_assert_int_eq(T.unmaps[1], 1);
    ck_assert_int_eq(T.unmaps[0], 0);
    /* Prove nothing touches region 1 any more. */
    ck_assert_int_eq(
        mprotect(T.g.regions[1].hva, T.g.regions[1].size, PROT_NONE), 0);
    ck_assert_uint_eq(T.fd[T.err[1]].signals, 0); /* waits for memory */
    ck_assert(vdm_dev_live(&T.dev));
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 1));
    roundtrip(0, "ring 0 survives");
    vdm_vhost_user_kick(&T.vu, 1); /* must not touch region 1 */
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
    mprotect(T.g.regions[1].hva, T.g.regions[1].size, PROT_READ | PROT_WRITE);
}
END_TEST

/* Regression (issue 10, bug 5): vhost-user "Memory regions", REM_MEM_REG
 * and ADD_MEM_REG: QEMU removes a region and adds it back when it changes
 * (virtio-mem, hotplug). A ring whose memory is missing stays out of the
 * core and is retried when the memory is back (ADD_MEM_REG, SET_MEM_TABLE);
 * a ring whose memory stays in place runs on, not restarted (its in-flight
 * requests are not abandoned). */
START_TEST(rem_then_add_mem_reg_revives_ring)
{
    UT_NEEDS(VDM_F_RING_RESET); /* one ring leaves the core alone */
    uint8_t p[8 + 32];
    int32_t fd;
    bring_up(0);
    roundtrip(0, "a");
    roundtrip(1, "b");
    unsigned oks = T.driver_oks;
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_REM_MEM_REG, 1, 0), 0);
    ck_assert_int_eq(T.unmaps[1], 1);
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 1));
    ck_assert_uint_eq(T.fd[T.err[1]].signals, 0); /* waiting, not failed */
    roundtrip(0, "ring 0 runs on");
    ck_assert_int_eq(mem_reg(VDM_VHOST_USER_ADD_MEM_REG, 1, 1), 0);
    ck_assert(vdm_vhost_user_queue_ready(&T.vu, 1));
    roundtrip(1, "ring 1 is back");
    roundtrip(0, "ring 0 still");
    ck_assert_uint_eq(T.driver_oks, oks); /* ring 0 never restarted */
    /* The same through SET_MEM_TABLE: without region 1, then with it. */
    fd = mem_fd(0);
    put32(p, 1);
    put32(p + 4, 0);
    region_bytes(p + 8, R0_GPA, R_SIZE, R0_UVA, R0_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), &fd, 1),
                     0);
    ck_assert(!vdm_vhost_user_queue_ready(&T.vu, 1));
    roundtrip(0, "ring 0 runs on again");
    ck_assert_int_eq(mem_table_both(), 0);
    ck_assert(vdm_vhost_user_queue_ready(&T.vu, 1));
    roundtrip(1, "ring 1 is back again");
    ck_assert_uint_eq(T.driver_oks, oks);
    ck_assert_uint_eq(T.fd[T.err[1]].signals, 0);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(needs_reset_signals_err_and_backend)
{
    int32_t b = ev_fd();
    bring_up(0);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_BACKEND_REQ_FD,
                         VDM_VHOST_USER_F_NEED_REPLY, NULL, 0, &b, 1),
                     VDM_EINVAL); /* BACKEND_REQ was not negotiated */
    ck_assert(!T.fd[b].open);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                             PROTO_ALL | (1ull << 5), NULL, 0),
                     0);
    b = ev_fd();
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_BACKEND_REQ_FD, 0, NULL, 0, &b, 1),
                     0);
    vdm_dev_config_changed(&T.dev);
    ck_assert_uint_eq(T.backend_msgs, 1);
    ck_assert_uint_eq(T.backend_req, VDM_VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    /* The guest runs its avail index far ahead: a protocol violation. */
    drv_vq_raw_avail_idx(&T.dq[0], NUM + 5);
    vdm_vhost_user_kick(&T.vu, 0);
    ck_assert(vdm_dev_status(&T.dev) & VDM_STATUS_DEVICE_NEEDS_RESET);
    ck_assert_uint_ge(T.fd[T.err[0]].signals, 1);
    ck_assert_uint_ge(T.fd[T.err[1]].signals, 1);
    ck_assert_uint_eq(T.backend_msgs, 2);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_STATUS), 0);
    ck_assert(reply_u64(VDM_VHOST_USER_GET_STATUS) &
              VDM_STATUS_DEVICE_NEEDS_RESET);
    /* RESET_DEVICE clears it. */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_RESET_DEVICE), 0);
    ck_assert_int_eq(vdm_dev_status(&T.dev), 0);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

/* A request the transport does not know goes to the host's `request`
 * hook (vhost-user-gpu's GPU_SET_SOCKET): fds it keeps stay open, the
 * others are closed, REPLY_ACK follows its result. */
START_TEST(host_request_hook_takes_side_channel)
{
    uint8_t pl[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t fds[2] = {ev_fd(), ev_fd()};
    bring_up(0);
    T.req_mode = 0;
    ck_assert_int_eq(msg(VDM_VHOST_USER_GPU_SET_SOCKET,
                         VDM_VHOST_USER_F_NEED_REPLY, NULL, 0, fds, 1),
                     VDM_ENOTSUP);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GPU_SET_SOCKET), 1);
    ck_assert(!T.fd[fds[0]].open);
    fds[0] = ev_fd();
    T.req_mode = 1;
    ck_assert_int_eq(msg(VDM_VHOST_USER_GPU_SET_SOCKET,
                         VDM_VHOST_USER_F_NEED_REPLY, pl, sizeof(pl), fds, 2),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_GPU_SET_SOCKET), 0);
    ck_assert_uint_eq(T.req_last, VDM_VHOST_USER_GPU_SET_SOCKET);
    ck_assert_uint_eq(T.req_len, sizeof(pl));
    ck_assert_uint_eq(T.req_nfds, 2);
    ck_assert(T.fd[fds[0]].open); /* kept by the host */
    ck_assert(!T.fd[fds[1]].open);
    ck_assert_uint_eq(T.req_calls, 2);
    /* Known requests never reach the hook. */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_STATUS), 0);
    ck_assert_uint_eq(T.req_calls, 2);
    h_close(NULL, fds[0]); /* the host's own close */
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Hostile front-end */

START_TEST(hostile_framing)
{
    uint8_t buf[64];
    int32_t fds[3] = {ev_fd(), ev_fd(), ev_fd()};
    /* Truncated header, with fds: refused, fds closed, nothing to send. */
    put32(buf, VDM_VHOST_USER_GET_FEATURES);
    put32(buf + 4, 1);
    ck_assert_int_eq(vdm_vhost_user_handle(&T.vu, buf, 8, fds, 3, T.reply,
                                           sizeof(T.reply), &T.rlen),
                     VDM_EPROTO);
    ck_assert_uint_eq(T.rlen, 0);
    for (int i = 0; i < 3; i++)
        ck_assert(!T.fd[fds[i]].open);
    /* Announced size differs from what arrived. */
    put32(buf + 8, 8);
    ck_assert_int_eq(vdm_vhost_user_handle(&T.vu, buf, 12 + 4, NULL, 0, T.reply,
                                           sizeof(T.reply), &T.rlen),
                     VDM_EPROTO);
    /* Wrong version. */
    put32(buf + 4, 2);
    put32(buf + 8, 0);
    ck_assert_int_eq(vdm_vhost_user_handle(&T.vu, buf, 12, NULL, 0, T.reply,
                                           sizeof(T.reply), &T.rlen),
                     VDM_EPROTO);
    /* Huge payload announced. */
    put32(buf + 4, 1);
    put32(buf + 8, 0x7fffffff);
    uint32_t plen = 1;
    ck_assert_int_eq(vdm_vhost_user_payload_len(buf, &plen), VDM_EPROTO);
    put32(buf + 8, 40);
    ck_assert_int_eq(vdm_vhost_user_payload_len(buf, &plen), 0);
    ck_assert_uint_eq(plen, 40);
    /* Reply buffer too small: a caller bug, fds still consumed. */
    int32_t fd = ev_fd();
    put32(buf + 8, 0);
    ck_assert_int_eq(
        vdm_vhost_user_handle(&T.vu, buf, 12, &fd, 1, T.reply, 16, &T.rlen),
        VDM_EINVAL);
    ck_assert(!T.fd[fd].open);
    /* Still serves. */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_FEATURES), 0);
    reply_u64(VDM_VHOST_USER_GET_FEATURES);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(hostile_payload_sizes)
{
    uint8_t p[128];
    memset(p, 0, sizeof(p));
    /* Truncated u64. */
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_FEATURES,
                         VDM_VHOST_USER_F_NEED_REPLY, p, 4, NULL, 0),
                     VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_FEATURES), 1);
    /* Truncated vring address. */
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_VRING_ADDR, 0, p, 39, NULL, 0),
                     VDM_EINVAL);
    /* GET_VRING_BASE truncated: still answered (empty), so the stream
     * stays in step. */
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_VRING_BASE, 0, p, 4, NULL, 0),
                     VDM_EINVAL);
    ck_assert_uint_eq(T.rlen, 12);
    /* Memory table: count says 3, payload holds 2. */
    put32(p, 3);
    ck_assert_int_eq(
        msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, 8 + 2 * 32, NULL, 0),
        VDM_EINVAL);
    /* Memory table with 9 regions (protocol limit 8). */
    {
        static uint8_t big[8 + 9 * 32];
        put32(big, 9);
        ck_assert_int_eq(
            msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, big, sizeof(big), NULL, 0),
            VDM_EINVAL);
    }
    /* Config: size over the protocol maximum. */
    put32(p, 0);
    put32(p + 4, 300);
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_CONFIG, 0, p, 12, NULL, 0),
                     VDM_EINVAL);
    ck_assert_uint_eq(T.rlen, 12);
    /* Unknown request: refused; with need_reply, a failure ack. */
    ck_assert_int_eq(msg(999, 0, p, 8, NULL, 0), VDM_ENOTSUP);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_int_eq(msg(999, VDM_VHOST_USER_F_NEED_REPLY, p, 8, NULL, 0),
                     VDM_ENOTSUP);
    ck_assert_uint_eq(reply_u64(999), 1);
    /* Unsupported but known requests with a u64 status reply. */
    ck_assert_int_eq(msg(VDM_VHOST_USER_IOTLB_MSG, 0, p, 24, NULL, 0),
                     VDM_ENOTSUP);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_IOTLB_MSG), 1);
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, 1ull << 14, NULL, 0),
        VDM_EINVAL); /* in-band notifications: not offered */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_FEATURES), 0);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(hostile_fd_counts)
{
    uint8_t p[8 + 64];
    int32_t fds[4];
    negotiate(0, 1);
    /* Two regions, one fd. */
    fds[0] = mem_fd(0);
    put32(p, 2);
    put32(p + 4, 0);
    region_bytes(p + 8, R0_GPA, R_SIZE, R0_UVA, R0_FOFF);
    region_bytes(p + 40, R1_GPA, R_SIZE, R1_UVA, R1_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE,
                         VDM_VHOST_USER_F_NEED_REPLY, p, sizeof(p), fds, 1),
                     VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_MEM_TABLE), 1);
    ck_assert(!T.fd[fds[0]].open);
    ck_assert_int_eq(T.maps[0] + T.maps[1], 0);
    /* Two regions, three fds. */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    fds[2] = ev_fd();
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 3),
                     VDM_EINVAL);
    for (int i = 0; i < 3; i++)
        ck_assert(!T.fd[fds[i]].open);
    /* Kick without an fd and without the no-fd flag. */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 0, NULL, 0),
                     VDM_EINVAL);
    /* No-fd flag but an fd anyway. */
    fds[0] = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_CALL, 0,
                             VDM_VHOST_USER_VRING_NOFD, fds, 1),
                     VDM_EINVAL);
    ck_assert(!T.fd[fds[0]].open);
    /* Two fds for one ring. */
    fds[0] = ev_fd();
    fds[1] = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 1, fds, 2),
                     VDM_EINVAL);
    ck_assert(!T.fd[fds[0]].open && !T.fd[fds[1]].open);
    ck_assert_uint_eq(T.watch_calls, 0);
    /* fds on a request that takes none. */
    fds[0] = ev_fd();
    ck_assert_int_eq(msg(VDM_VHOST_USER_GET_FEATURES, 0, NULL, 0, fds, 1),
                     VDM_EINVAL);
    ck_assert(!T.fd[fds[0]].open);
    /* Reserved bits / bad ring index in a vring fd message. */
    fds[0] = ev_fd();
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 1ull << 9, fds, 1),
        VDM_EINVAL);
    fds[0] = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 7, fds, 1),
                     VDM_ERANGE);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_QUEUE_NUM), 0);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(hostile_regions)
{
    uint8_t p[8 + 64];
    int32_t fds[2];
    negotiate(0, 1);
    put32(p, 2);
    put32(p + 4, 0);
    /* Overlapping guest ranges: refused before anything is mapped. */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    region_bytes(p + 8, R0_GPA, R_SIZE, R0_UVA, R0_FOFF);
    region_bytes(p + 40, R0_GPA + R_SIZE / 2, R_SIZE, R1_UVA, R1_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 2),
                     VDM_EINVAL);
    ck_assert_int_eq(T.maps[0] + T.maps[1], 0);
    /* A region wrapping past 2^64. */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    region_bytes(p + 8, R0_GPA, R_SIZE, R0_UVA, R0_FOFF);
    region_bytes(p + 40, UINT64_MAX - 10, R_SIZE, R1_UVA, R1_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 2),
                     VDM_EINVAL);
    /* A zero-size region. */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    region_bytes(p + 40, R1_GPA, 0, R1_UVA, R1_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 2),
                     VDM_EINVAL);
    /* The second map fails: the first is undone. */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    region_bytes(p + 40, R1_GPA, R_SIZE * 2, R1_UVA, R1_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 2),
                     VDM_EINVAL);
    ck_assert_int_eq(T.maps[0], 1);
    ck_assert_int_eq(T.unmaps[0], 1);
    ck_assert_uint_eq(vdm_vhost_user_mem(&T.vu)->nregions, 0);
    /* ADD_MEM_REG overlapping an existing region. */
    ck_assert_int_eq(mem_table_both(), 0);
    {
        uint8_t r[40];
        int32_t fd = mem_fd(1);
        memset(r, 0, 8);
        region_bytes(r + 8, R1_GPA + 0x1000, 0x1000, R1_UVA + 0x1000,
                     R1_FOFF + 0x1000);
        ck_assert_int_eq(msg(VDM_VHOST_USER_ADD_MEM_REG, 0, r, 40, &fd, 1),
                         VDM_EINVAL);
        ck_assert(!T.fd[fd].open);
        ck_assert_int_eq(T.maps[1], 1); /* only the table's mapping */
    }
    ck_assert_uint_eq(vdm_vhost_user_mem(&T.vu)->nregions, 2);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(hostile_ring_addresses)
{
    negotiate(0, 1);
    /* Before any memory table: nothing maps. */
    ck_assert_int_eq(msg_addr(0, R0_UVA, R0_UVA + 0x1000, R0_UVA + 0x2000),
                     VDM_EFAULT);
    ck_assert_int_eq(mem_table_both(), 0);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, NUM), 0);
    /* Guest-physical instead of user addresses. */
    ck_assert_int_eq(msg_addr(0, R0_GPA, R0_GPA + 0x1000, R0_GPA + 0x2000),
                     VDM_EFAULT);
    /* Descriptor table running past the end of region 0. */
    ck_assert_int_eq(msg_addr(0, R0_UVA + R_SIZE - 16 * NUM + 16,
                              R0_UVA + 0x1000, R0_UVA + 0x2000),
                     VDM_EFAULT);
    /* Used ring in the middle of nowhere. */
    ck_assert_int_eq(msg_addr(0, R0_UVA, UINT64_MAX - 4, R0_UVA + 0x2000),
                     VDM_EFAULT);
    /* Logging flag. */
    {
        uint8_t p[40];
        memset(p, 0, sizeof(p));
        put32(p + 4, 1);
        put64(p + 8, R0_UVA);
        put64(p + 16, R0_UVA + 0x1000);
        put64(p + 24, R0_UVA + 0x2000);
        /* vhost-user "Migration": VHOST_VRING_F_LOG is accepted ... */
        ck_assert_int_eq(msg(VDM_VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0),
                         0);
        /* ... but not a log_guest_addr whose used ring wraps ... */
        put64(p + 32, UINT64_MAX - 8);
        ck_assert_int_eq(msg(VDM_VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0),
                         VDM_EINVAL);
        /* ... nor unknown flag bits. */
        put64(p + 32, 0);
        put32(p + 4, 2);
        ck_assert_int_eq(msg(VDM_VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0),
                         VDM_EINVAL);
        /* (and the ring's addresses fail again, for what follows) */
        ck_assert_int_eq(
            msg_addr(0, R0_UVA, UINT64_MAX - 4, R0_UVA + 0x2000), VDM_EFAULT);
    }
    /* Bad ring indexes and sizes. */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 200, NUM),
                     VDM_ERANGE);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, QMAX * 2),
                     VDM_EINVAL);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_BASE, 0, 0, 0x10000),
                     VDM_EINVAL);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_ENABLE, 0, 0, 2),
                     VDM_EINVAL);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 77, 0),
                     VDM_ERANGE);
    ck_assert_uint_eq(T.rlen, 20); /* answered anyway */
    /* A ring whose addresses failed never starts. */
    int32_t k = ev_fd();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_VRING_KICK, 0, 0, &k, 1), 0);
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 9), VDM_ERANGE);
    ck_assert(!vdm_dev_live(&T.dev));
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(hostile_started_ring_changes)
{
    bring_up(0);
    struct drv_vq *v = &T.dq[0];
    /* Started rings take no new size, base or addresses. */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_NUM, 0, 0, 8),
                     VDM_ESTATE);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_SET_VRING_BASE, 0, 0, 5),
                     VDM_ESTATE);
    ck_assert_int_eq(msg_addr(0, g2u(drv_vq_desc_gpa(v)) + 0x1000,
                              g2u(drv_vq_device_gpa(v)),
                              g2u(drv_vq_driver_gpa(v))),
                     VDM_ESTATE);
    /* The same addresses again are fine (front-ends resend them). */
    ck_assert_int_eq(msg_addr(0, g2u(drv_vq_desc_gpa(v)),
                              g2u(drv_vq_device_gpa(v)),
                              g2u(drv_vq_driver_gpa(v))),
                     0);
    /* Changing the ring format while rings run. */
    UT_NEEDS(VDM_F_RING_PACKED);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_FEATURES, 0,
                             VDM_F_VERSION_1 | VDM_F_RING_PACKED |
                                 VDM_VHOST_USER_F_PROTOCOL_FEATURES,
                             NULL, 0),
                     VDM_ESTATE);
    /* A resend of the same features is fine. */
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_FEATURES, 0,
                             T.features | VDM_VHOST_USER_F_PROTOCOL_FEATURES,
                             NULL, 0),
                     0);
    roundtrip(0, "still fine");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

/* Small deterministic PRNG (xorshift64*). */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}

START_TEST(hostile_random_messages)
{
    static uint8_t buf[VDM_VHOST_USER_MAX_MSG];
    rnd_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
    bring_up(_i % 2 ? VDM_F_RING_PACKED : 0);
    for (int n = 0; n < 3000; n++) {
        uint32_t req = (uint32_t)(rnd() % 44);
        uint32_t plen =
            (uint32_t)(rnd() % 5 == 0 ? rnd() % 300 : (rnd() % 6) * 8);
        uint32_t nfds = (uint32_t)(rnd() % 4 == 0 ? rnd() % 4 : 0);
        int32_t fds[4];
        uint32_t i;

        put32(buf, req);
        put32(buf + 4, 1 | (uint32_t)(rnd() & 0xc));
        put32(buf + 8, plen);
        for (i = 0; i < plen; i++) {
            uint64_t r = rnd();
            /* small numbers are likelier to hit the interesting paths */
            buf[12 + i] = (uint8_t)((r & 3) == 0 ? r >> 8 : (r >> 8) & 3);
        }
        if (req == VDM_VHOST_USER_RESET_DEVICE ||
            req == VDM_VHOST_USER_RESET_OWNER)
            continue; /* keep the rings running, for the kicks below */
        for (i = 0; i < nfds; i++)
            fds[i] = (rnd() & 1) ? mem_fd((int)(rnd() & 1)) : ev_fd();
        vdm_vhost_user_handle(&T.vu, buf, 12 + plen, nfds ? fds : NULL, nfds,
                              T.reply, sizeof(T.reply), &T.rlen);
        ck_assert_uint_le(T.rlen, sizeof(T.reply));
        if (T.rlen > 0)
            ck_assert_uint_eq(get32(T.reply + 8) + 12, T.rlen);
        if (n % 50 == 0) {
            vdm_vhost_user_kick(&T.vu, 0);
            vdm_vhost_user_kick(&T.vu, 1);
        }
    }
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(reset_closes_everything_and_serves_again)
{
    bring_up(0);
    roundtrip(0, "first front-end");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
    ck_assert_int_eq(vdm_dev_status(&T.dev), 0);
    /* A new front-end, new rings at the same place. */
    drv_vq_fini(&T.dq[0]);
    drv_vq_fini(&T.dq[1]);
    T.dq_live[0] = T.dq_live[1] = 0;
    drv_alloc_reset(&T.g);
    bring_up(VDM_F_RING_PACKED);
    roundtrip(0, "second front-end");
    roundtrip(1, "second front-end");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

START_TEST(api_argument_checks)
{
    struct vdm_vhost_user vu2;
    struct vdm_vhost_user_config vc = VDM_INIT(struct vdm_vhost_user_config);
    struct vdm_vhost_user_ops bad = vu_ops;
    ck_assert_int_eq(vdm_vhost_user_init(NULL, &vc), VDM_EINVAL);
    ck_assert_int_eq(vdm_vhost_user_init(&vu2, &vc), VDM_EINVAL);
    vc.rings = T.rings;
    vc.num_rings = NQ;
    bad.signal = NULL;
    vc.ops = &bad;
    ck_assert_int_eq(vdm_vhost_user_init(&vu2, &vc), VDM_EINVAL);
    bad = vu_ops;
    bad.size = 8;
    ck_assert_int_eq(vdm_vhost_user_init(&vu2, &vc), VDM_ESIZE);
    vc.ops = &vu_ops;
    vc.size = 4;
    ck_assert_int_eq(vdm_vhost_user_init(&vu2, &vc), VDM_ESIZE);
    ck_assert_ptr_null(vdm_vhost_user_mem(NULL));
    /* A device on other memory cannot be attached. */
    vc.size = sizeof(vc);
    vc.num_rings = 1;
    ck_assert_int_eq(vdm_vhost_user_init(&vu2, &vc), 0);
    ck_assert_int_eq(vdm_vhost_user_attach(&vu2, &T.dev), VDM_EINVAL);
    ck_assert_int_eq(vdm_vhost_user_attach(&T.vu, &T.dev), VDM_EINVAL);
    ck_assert_int_eq(vdm_vhost_user_kick(NULL, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_vhost_user_queue_ready(NULL, 0), 0);
    vdm_vhost_user_reset(NULL);
}
END_TEST

START_TEST(protocol_features_masked_by_host)
{
    uint64_t p;
    teardown();
    setup_with(1ull << VDM_VHOST_USER_PROTOCOL_F_STATUS);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_PROTOCOL_FEATURES), 0);
    p = reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    ck_assert(!(p & (1ull << VDM_VHOST_USER_PROTOCOL_F_STATUS)));
    ck_assert(p & (1ull << VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ));
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                             1ull << VDM_VHOST_USER_PROTOCOL_F_STATUS, NULL, 0),
                     VDM_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Inflight I/O tracking (vhost-user "Inflight I/O tracking",
 * GET_INFLIGHT_FD / SET_INFLIGHT_FD, "Inflight description") and draining
 * (docs/drain.md) */

#define PF_IFT (1ull << VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)

static void setup_ift(void)
{
    setup_ops = &vu_ops_ift;
    setup_with(0);
    setup_ops = &vu_ops;
}

/* u64 mmap size, u64 mmap offset, u16 num queues, u16 queue size, and the
 * C struct's padding (QEMU sends 24 bytes) */
static int ift_msg(uint32_t req, uint64_t size, uint64_t off, uint16_t nq,
                   uint16_t qs, const int32_t *fds, uint32_t nfds,
                   uint32_t plen)
{
    uint8_t p[32] = {0};
    put64(p, size);
    put64(p + 8, off);
    memcpy(p + 16, &nq, 2);
    memcpy(p + 18, &qs, 2);
    return msg(req, 0, p, plen, fds, nfds);
}

static uint64_t ift_qbytes(void)
{
    uint64_t b = (T.features & VDM_F_RING_PACKED) ? 32 + 32 * NUM
                                                   : 16 + 16 * NUM;
    return (b + 63) & ~63ull;
}

/* Rings up with the region: from GET_INFLIGHT_FD or, with @p set, handed
 * back with SET_INFLIGHT_FD (a restarted back-end); rings at @p base (-1:
 * a fresh ring's). */
static void ift_bring_up(uint64_t virtio, int set, int64_t base)
{
    negotiate(virtio, 1);
    if (base < 0)
        base = base0();
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                             PROTO_ALL | PF_IFT, NULL, 0),
                     0);
    if (!set) {
        ck_assert_int_eq(ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, NUM,
                                 NULL, 0, 24),
                         0);
        ck_assert_uint_eq(T.rlen, 12 + 24);
        ck_assert_uint_eq(get32(T.reply + 8), 24);
        ck_assert_uint_eq(get64(T.reply + 12), NQ * ift_qbytes());
        ck_assert_uint_eq(get64(T.reply + 20), 0);
        {
            uint16_t nq, qs; /* native byte order, as the protocol says */
            memcpy(&nq, T.reply + 28, 2);
            memcpy(&qs, T.reply + 30, 2);
            ck_assert_uint_eq(nq, NQ);
            ck_assert_uint_eq(qs, NUM);
        }
    } else {
        int32_t fd = new_fd(IFT_REGION, 0);
        ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD,
                                 NQ * ift_qbytes(), 0, NQ, NUM, &fd, 1, 24),
                         0);
        ck_assert(!T.fd[fd].open); /* mapped, then closed */
    }
    ck_assert_int_eq(mem_table_both(), 0);
    for (int q = 0; q < NQ; q++) {
        if (!set)
            drv_setup(q);
        ring_start(q, (uint32_t)base);
    }
    for (int q = 0; q < NQ; q++)
        ring_enable(q, 1);
    ck_assert(vdm_dev_live(&T.dev));
}

START_TEST(inflight_offered_only_with_the_hook)
{
    /* without inflight_alloc: not offered, the messages refused */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_PROTOCOL_FEATURES), 0);
    ck_assert(!(reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES) & PF_IFT));
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, NUM, NULL, 0, 24),
        VDM_EINVAL);
    ck_assert_uint_eq(T.rlen, 12); /* its reply, empty: failed */
    teardown();
    setup_ift();
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_PROTOCOL_FEATURES), 0);
    if (!VDM_CONFIG_INFLIGHT) {
        /* tracking left out (vdm/config.h): not offered, even with it */
        ck_assert(!(reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES) & PF_IFT));
    }
    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    ck_assert(reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES) & PF_IFT);
    /* not negotiated yet: refused */
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, NUM, NULL, 0, 24),
        VDM_EINVAL);
    ck_assert_uint_eq(T.ift_allocs, 0);
}
END_TEST

/* A back-end with requests at the host dies; the next one gets the region
 * back and resubmits them, once, before anything new. */
START_TEST(inflight_restart_resubmits)
{
    uint64_t pk = _i ? VDM_F_RING_PACKED : 0;

    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    teardown();
    setup_ift();
    ift_bring_up(pk, 0, -1);
    roundtrip(0, "before");
    T.hold = 1;
    add_text(0, "held one");
    add_text(0, "held two");
    add_text(1, "held three");
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), 0);
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 1), 0);
    ck_assert_uint_eq(T.nheld[0], 2);
    ck_assert_uint_eq(T.nheld[1], 1);
    /* the crash: nothing completed; the front-end loses the back-end */
    vdm_vhost_user_reset(&T.vu);
    ck_assert_uint_eq(T.ift_unmaps, 1);
    T.hold = 0;
    T.nheld[0] = T.nheld[1] = 0;
    /* the new back-end: QEMU sends the used idx as split base (its
     * guess), the stale start value for packed; the region decides */
    ift_bring_up(pk, 1, pk ? -1 : 1);
    expect_echo(0, "held one");
    expect_echo(0, "held two");
    expect_echo(1, "held three");
    {
        uint32_t id, len;
        void *ck;
        ck_assert_int_eq(drv_vq_get_used(&T.dq[0], &id, &len, &ck), 0);
        ck_assert_int_eq(drv_vq_get_used(&T.dq[1], &id, &len, &ck), 0);
    }
    roundtrip(0, "after");
    roundtrip(1, "after too");
    vdm_vhost_user_reset(&T.vu);
    ck_assert_uint_eq(T.ift_maps, 1);
    ck_assert_uint_eq(T.ift_unmaps, 2);
    assert_clean();
}
END_TEST

START_TEST(hostile_inflight_messages)
{
    uint64_t len;
    int32_t fd, fds[2];

    UT_NEEDS_OPTION(VDM_CONFIG_INFLIGHT);
    teardown();
    setup_ift();
    negotiate(0, 1);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                             PROTO_ALL | PF_IFT, NULL, 0),
                     0);
    len = NQ * ift_qbytes();
    /* payload sizes, queue counts and sizes */
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             &fd, 1, 19),
                     VDM_EINVAL);
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             &fd, 1, 29),
                     VDM_EINVAL);
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, 0, NUM, NULL, 0, 24),
        VDM_EINVAL);
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ + 1, NUM, NULL, 0, 24),
        VDM_EINVAL);
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, 0, NULL, 0, 24),
        VDM_EINVAL);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, 32769,
                             NULL, 0, 24),
                     VDM_EINVAL);
    /* a GET_INFLIGHT_FD carrying an fd: refused, the fd closed */
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, NUM, &fd, 1, 24),
        VDM_EINVAL);
    /* SET: no fd, two fds, size short of the queues, offset past the
     * file, huge offset */
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             NULL, 0, 24),
                     VDM_EINVAL);
    fds[0] = new_fd(IFT_REGION, 0);
    fds[1] = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             fds, 2, 24),
                     VDM_EINVAL);
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len - 1, 0, NQ,
                             NUM, &fd, 1, 24),
                     VDM_EINVAL);
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 8000, NQ,
                             NUM, &fd, 1, 24),
                     VDM_EINVAL);
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len,
                             UINT64_MAX - 10, NQ, NUM, &fd, 1, 24),
                     VDM_EINVAL);
    ck_assert_uint_eq(T.ift_maps, 0);
    /* a region full of junk: refused ring by ring at start, rings run
     * untracked */
    memset(T.ift, 0xa5, sizeof(T.ift));
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             &fd, 1, 24),
                     0);
    ck_assert_int_eq(mem_table_both(), 0);
    for (int q = 0; q < NQ; q++) {
        drv_setup(q);
        ring_start(q, base0());
    }
    for (int q = 0; q < NQ; q++)
        ring_enable(q, 1);
    roundtrip(0, "untracked");
    roundtrip(1, "untracked too");
    /* no region change while rings run */
    fd = new_fd(IFT_REGION, 0);
    ck_assert_int_eq(ift_msg(VDM_VHOST_USER_SET_INFLIGHT_FD, len, 0, NQ, NUM,
                             &fd, 1, 24),
                     VDM_ESTATE);
    ck_assert_int_eq(
        ift_msg(VDM_VHOST_USER_GET_INFLIGHT_FD, 0, 0, NQ, NUM, NULL, 0, 24),
        VDM_ESTATE);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
    ck_assert_uint_eq(T.ift_maps, T.ift_unmaps);
}
END_TEST

/* GET_VRING_BASE never returns while a completion can still land: the
 * host is asked to drain; VDM_EAGAIN leaves everything as it was. */
START_TEST(drain_before_disruption)
{
    int32_t fds[2];
    uint32_t id, len;
    void *ck;

    teardown();
    setup_ift();
    bring_up(0);
    roundtrip(0, "one");
    T.hold = 1;
    add_text(0, "at the host");
    ck_assert_int_eq(vdm_vhost_user_kick(&T.vu, 0), 0);
    ck_assert_uint_eq(T.nheld[0], 1);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0),
                     VDM_EAGAIN);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_uint_eq(T.drain_q, 0);
    ck_assert(vdm_vhost_user_queue_ready(&T.vu, 0)); /* not stopped */
    ck_assert(T.fd[T.kick[0]].open);
    /* ring 1 has nothing at the host: served at once */
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 1, 0), 0);
    /* a memory-table change waits for every ring; its fds stay ours */
    fds[0] = mem_fd(0);
    fds[1] = mem_fd(1);
    ck_assert_int_eq(vu_front_mem_table(&T.fe, 0, REGION, 2, fds), VDM_EAGAIN);
    ck_assert_uint_eq(T.drain_q, UINT16_MAX);
    ck_assert(T.fd[fds[0]].open && T.fd[fds[1]].open);
    ck_assert_int_eq(msg0(VDM_VHOST_USER_RESET_DEVICE), VDM_EAGAIN);
    ck_assert(vdm_dev_live(&T.dev));
    /* the host completes it: it lands in the ring, then the stop */
    ck_assert_int_eq(vdm_vq_push(vdm_dev_queue(&T.dev, 0), T.held[0][0], 0),
                     0);
    T.nheld[0] = 0;
    T.hold = 0;
    ck_assert_int_eq(drv_vq_get_used(&T.dq[0], &id, &len, &ck), 1);
    ck_assert_int_eq(msg_state(VDM_VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
    ck_assert_uint_eq(get32(T.reply + 16), 2);
    ck_assert_int_eq(vu_front_mem_table(&T.fe, 0, REGION, 2, fds), 0);
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

/* Dirty-page logging (vhost-user "Migration", "Dirty pages logging",
 * "VHOST_USER_SET_LOG_BASE", "Log description")                          */

#define LOG_BYTES 0x200u      /* covers 16 MiB of guest-physical space */
#define LOG_GA    0x800000ull /* a log_guest_addr outside guest memory */

static void put_log(uint8_t *p, uint64_t size, uint64_t off)
{
    put64(p, size);
    put64(p + 8, off);
}

static int set_log_base(uint64_t size, uint64_t off, int nfds)
{
    uint8_t p[16];
    int32_t fds[2] = {-1, -1};
    for (int i = 0; i < nfds; i++)
        fds[i] = new_fd(LOG_REGION, LOG_FOFF);
    put_log(p, size, off);
    return msg(VDM_VHOST_USER_SET_LOG_BASE, 0, p, 16, fds, (uint32_t)nfds);
}

static void proto_log_shmfd(void)
{
    ck_assert_int_eq(msg0(VDM_VHOST_USER_GET_PROTOCOL_FEATURES), 0);
    ck_assert(reply_u64(VDM_VHOST_USER_GET_PROTOCOL_FEATURES) &
              (1ull << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD));
    ck_assert_int_eq(
        msg_u64(VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0,
                PROTO_ALL | (1ull << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD),
                NULL, 0),
        0);
}

/* SET_VRING_ADDR of ring q at its current addresses with ring @p flags and
 * log_guest_addr @p log (QEMU's vhost_dev_set_log on a running ring). */
static int ring_addr_log(int q, uint32_t flags, uint64_t log)
{
    struct drv_vq *v = &T.dq[q];
    uint8_t p[40];
    put32(p, (uint32_t)q);
    put32(p + 4, flags);
    put64(p + 8, g2u(drv_vq_desc_gpa(v)));
    put64(p + 16, g2u(drv_vq_device_gpa(v)));
    put64(p + 24, g2u(drv_vq_driver_gpa(v)));
    put64(p + 32, log);
    return msg(VDM_VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0);
}

static int log_bit(uint64_t gpa)
{
    uint64_t page = gpa >> 12;
    return (T.logmem[page / 8] >> (page % 8)) & 1;
}

static unsigned log_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < LOG_BYTES; i++)
        n += (unsigned)__builtin_popcount(T.logmem[i]);
    return n;
}

static void set_log_all(int on)
{
    uint64_t f = T.features | VDM_VHOST_USER_F_PROTOCOL_FEATURES |
                 (on ? VDM_VHOST_F_LOG_ALL : 0);
    ck_assert_int_eq(msg_u64(VDM_VHOST_USER_SET_FEATURES,
                             VDM_VHOST_USER_F_NEED_REPLY, f, NULL, 0),
                     0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_FEATURES), 0);
    ck_assert((vdm_vhost_user_mem(&T.vu)->log != NULL) == (on != 0));
}

static void dirty_used_ring(uint64_t ring_features)
{
    const struct drv_vq *v;

    bring_up(ring_features | VDM_F_EVENT_IDX);
    v = &T.dq[0];
    proto_log_shmfd();
    /* "Communication": SET_LOG_BASE answers (LOG_SHMFD), 0 = done */
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 1), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_LOG_BASE), 0);
    ck_assert_int_eq(T.maps[LOG_REGION], 1);
    /* logging starts with VHOST_F_LOG_ALL only */
    ck_assert_ptr_null(vdm_vhost_user_mem(&T.vu)->log);
    roundtrip(0, "not logged");
    ck_assert_uint_eq(log_count(), 0);
    set_log_all(1);
    /* without VHOST_VRING_F_LOG the used ring is not logged ("Migration":
     * "Modifications to used vring should be marked if VHOST_VRING_F_LOG
     * is part of ring's flags"); this device writes its buffers itself,
     * outside the device kit (vdm_mem_log_iov is its to call) */
    roundtrip(0, "ring not logged");
    ck_assert_uint_eq(log_count(), 0);
    /* the front-end turns ring logging on for the running ring */
    ck_assert_int_eq(ring_addr_log(0, 1, LOG_GA), 0);
    roundtrip(0, "ring logged");
    if (ring_features & VDM_F_RING_PACKED) {
        /* used descriptors go back into the descriptor ring: marked at
         * their guest address; nothing else but the device area at
         * log_guest_addr */
        ck_assert(log_bit(drv_vq_desc_gpa(v)));
        ck_assert_uint_le(log_count(), 2);
        if (log_count() == 2)
            ck_assert(log_bit(LOG_GA));
    } else {
        /* the used ring is marked at log_guest_addr, not at its own gpa */
        ck_assert(log_bit(LOG_GA));
        ck_assert(!log_bit(drv_vq_device_gpa(v)));
        ck_assert_uint_eq(log_count(), 1);
    }
    /* ring 1 has no F_LOG: its used ring stays unmarked */
    memset(T.logmem, 0, sizeof(T.logmem));
    roundtrip(1, "other ring");
    ck_assert_uint_eq(log_count(), 0);
    /* LOG_ALL off: nothing logged any more, even with F_LOG */
    set_log_all(0);
    roundtrip(0, "off again");
    ck_assert_uint_eq(log_count(), 0);
    /* on again, with F_LOG cleared on the ring */
    set_log_all(1);
    ck_assert_int_eq(ring_addr_log(0, 0, 0), 0);
    roundtrip(0, "flag cleared");
    ck_assert_uint_eq(log_count(), 0);
    /* a new log replaces the old one (unmapped) */
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 1), 0);
    ck_assert_int_eq(T.maps[LOG_REGION], 2);
    ck_assert_int_eq(T.unmaps[LOG_REGION], 1);
    vdm_vhost_user_reset(&T.vu);
    ck_assert_ptr_null(vdm_vhost_user_mem(&T.vu)->log);
    assert_clean();
}

START_TEST(dirty_log_split_used_ring)
{
    dirty_used_ring(0);
}
END_TEST

START_TEST(dirty_log_packed_used_ring)
{
    ut_need(VDM_F_RING_PACKED, "packed rings");
    dirty_used_ring(VDM_F_RING_PACKED);
}
END_TEST

/* Hostile SET_LOG_BASE / SET_LOG_FD: refused, nothing mapped or leaked,
 * the reply the front-end waits for still sent. */
START_TEST(hostile_log_messages)
{
    uint8_t p[16];
    int32_t fd;

    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    bring_up(0);
    /* LOG_SHMFD not negotiated: no fd-based log, and no reply */
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 1), VDM_ENOTSUP);
    ck_assert_uint_eq(T.rlen, 0);
    proto_log_shmfd();
    /* payload of the wrong size */
    fd = new_fd(LOG_REGION, LOG_FOFF);
    put_log(p, LOG_BYTES, LOG_FOFF);
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_LOG_BASE, 0, p, 8, &fd, 1),
                     VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_LOG_BASE), 1);
    /* no fd, two fds */
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 0), VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_LOG_BASE), 1);
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 2), VDM_EINVAL);
    ck_assert_uint_ge(T.rlen, 12); /* answered */
    /* size 0, offset + size wrapping, absurd size */
    ck_assert_int_eq(set_log_base(0, LOG_FOFF, 1), VDM_EINVAL);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_LOG_BASE), 1);
    ck_assert_int_eq(set_log_base(LOG_BYTES, UINT64_MAX - 8, 1), VDM_EINVAL);
    ck_assert_int_eq(set_log_base(1ull << 62, LOG_FOFF, 1), VDM_EINVAL);
    /* the host cannot map it (past the end of the file) */
    ck_assert_int_lt(set_log_base(8192, LOG_FOFF, 1), 0);
    ck_assert_uint_eq(reply_u64(VDM_VHOST_USER_SET_LOG_BASE), 1);
    /* an fd that is no memory at all */
    fd = ev_fd();
    ck_assert_int_lt(msg(VDM_VHOST_USER_SET_LOG_BASE, 0, p, 16, &fd, 1), 0);
    ck_assert_int_eq(T.maps[LOG_REGION], 0);
    ck_assert_ptr_null(vdm_vhost_user_mem(&T.vu)->log);
    /* SET_LOG_FD: one fd, kept by nobody (closed) */
    ck_assert_int_eq(msg0(VDM_VHOST_USER_SET_LOG_FD), VDM_EINVAL);
    fd = ev_fd();
    ck_assert_int_eq(msg(VDM_VHOST_USER_SET_LOG_FD, 0, NULL, 0, &fd, 1), 0);
    ck_assert(!T.fd[fd].open);
    /* a good log after all that: the ring still serves */
    ck_assert_int_eq(set_log_base(LOG_BYTES, LOG_FOFF, 1), 0);
    set_log_all(1);
    roundtrip(0, "still serving");
    vdm_vhost_user_reset(&T.vu);
    assert_clean();
}
END_TEST

static Suite *vhost_user_suite(void)
{
    Suite *s = suite_create("vhost_user");
    TCase *tc = tcase_create("protocol");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, features_masked_and_protocol_bit);
    tcase_add_test(tc, set_features_walks_status_machine);
    tcase_add_test(tc, reply_ack_only_when_asked);
    tcase_add_test(tc, split_roundtrip);
    tcase_add_test(tc, host_request_hook_takes_side_channel);
    tcase_add_test(tc, packed_roundtrip);
    tcase_add_test(tc, split_get_vring_base_stop_and_resume);
    tcase_add_test(tc, packed_vring_base_encoding_and_wrap);
    tcase_add_test(tc, packed_base_avail_half_only);
    tcase_add_test(tc, packed_bad_base_refused_at_start);
    tcase_add_test(tc, kick_held_until_enabled);
    tcase_add_test(tc, no_protocol_features_rings_start_enabled);
    tcase_add_test(tc, ring_joining_live_device_keeps_positions);
    tcase_add_test(tc, status_messages_drive_device);
    tcase_add_test(tc, poll_mode_kick_and_no_call_fd);
    tcase_add_test(tc, config_get_pads_and_set_writes_changes_only);
    tcase_add_test(tc, config_whole_struct_write_against_what_frontend_saw);
    tcase_add_test(tc, config_whole_struct_write_before_any_read);
    tcase_add_test(tc, kick_fd_before_addresses_and_odd_orders);
    tcase_add_test(tc, mem_slots_fill_and_remove_middle);
    tcase_add_test(tc, add_rem_mem_reg);
    tcase_add_test(tc, mem_table_resend_keeps_mappings);
    tcase_add_test(tc, memory_removed_under_running_ring);
    tcase_add_test(tc, rem_then_add_mem_reg_revives_ring);
    tcase_add_test(tc, needs_reset_signals_err_and_backend);
    tcase_add_test(tc, reset_closes_everything_and_serves_again);
    tcase_add_test(tc, api_argument_checks);
    tcase_add_test(tc, protocol_features_masked_by_host);
    tcase_add_test(tc, inflight_offered_only_with_the_hook);
    tcase_add_loop_test(tc, inflight_restart_resubmits, 0, 2);
    tcase_add_test(tc, drain_before_disruption);
    tcase_add_test(tc, dirty_log_split_used_ring);
    tcase_add_test(tc, dirty_log_packed_used_ring);
    suite_add_tcase(s, tc);

    TCase *h = tcase_create("hostile");
    tcase_add_checked_fixture(h, setup, teardown);
    tcase_add_test(h, hostile_framing);
    tcase_add_test(h, hostile_payload_sizes);
    tcase_add_test(h, hostile_fd_counts);
    tcase_add_test(h, hostile_regions);
    tcase_add_test(h, hostile_ring_addresses);
    tcase_add_test(h, hostile_log_messages);
    tcase_add_test(h, hostile_started_ring_changes);
    tcase_add_test(h, hostile_inflight_messages);
    tcase_add_loop_test(h, hostile_random_messages, 0, 8);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vhost_user_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
