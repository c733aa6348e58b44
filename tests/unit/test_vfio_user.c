/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server (transports/vfio_user*.c): driven the way a vfio-user
 * client does it. A virtio-rng device behind vdm's PCI transport is found
 * by walking the configuration space read over REGION_READ, set up with
 * REGION_WRITEs to its BAR, and its bytes arrive in memory the client
 * shared with DMA_MAP; interrupts arrive as eventfd signals (MSI-X and
 * INTx, with the SET_IRQS masking rules). Hostile messages: framing,
 * VERSION JSON, payload sizes, fd counts, overlapping maps, out-of-range
 * region accesses and interrupt indexes, random junk.
 *
 * Sections cited are those of the vfio-user Protocol Specification
 * (../shared/protocols/vfio-user.rst). File descriptors are fake numbers:
 * the hooks check the library closes each one it was given exactly once. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/profile.h"

#include "vdm/device.h"
#include "vdm/devices/rng.h"
#include "vdm/mem.h"
#include "vdm/pci.h"
#include "vdm/vfio_user.h"
#include "vdm/virtqueue.h"

#define QMAX   16
#define NVEC   2
#define GPA    0x100000ull
#define GSIZE  0x10000ull
#define MEM_FD 100 /* stands for the guest memory file */
#define MAXFD  65536
#define HDR    VDM_VFIO_USER_HDR_BYTES

/* ------------------------------------------------------------------------ */
/* The test's host side */

struct fdinfo {
    int given, closes, signals;
};

static struct th {
    struct vdm_vfio_user vfu;
    struct vdm_vfio_user_ops ops;
    struct vdm_dev dev;
    struct vdm_rng rng;
    struct vdm_vq queues[1];
    uint32_t slots[VDM_DEV_SLOTS(1, QMAX)];
    uint32_t pcist[VDM_PCI_STORAGE_WORDS(1, NVEC)];
    alignas(4096) uint8_t guest[GSIZE];
    uint8_t dbuf[64]; /* DMA logging bitmap: 512 pages */
    struct fdinfo fd[MAXFD];
    int next_fd;
    int maps, unmaps;
    uint8_t reply[VDM_VFIO_USER_MAX_MSG];
    uint32_t rlen;
    uint16_t id;
    /* what the capability walk found */
    uint32_t common_bar, common_off, notify_bar, notify_off, notify_mult;
    uint32_t isr_bar, isr_off, msix_pos;
    /* memory without an fd at GPA2, the fake client's DMA_READ/WRITE */
    alignas(8) uint8_t bounce[VDM_VFIO_USER_DMA_MSG + 16384];
    uint8_t client[GSIZE];
    int fault;           /* FAULT_*: how the next reply goes wrong */
    int nread, nwrite;   /* requests served */
    uint32_t max_count;  /* largest count seen */
    int used_at_write;   /* used index when the last DMA_WRITE came */
    int nested;          /* the hook tries vdm_vfio_user_handle() */
} T;

#define GPA2  0x200000ull

static uint16_t used_idx(void);

static int h_map(void *host, int32_t fd, uint64_t off, uint64_t len,
                 uint32_t access, void **hva)
{
    (void)host;
    (void)access;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_lt(fd, MAXFD);
    ck_assert_int_eq(T.fd[fd].closes, 0);
    if (fd != MEM_FD || off > GSIZE || len > GSIZE - off)
        return VDM_EINVAL;
    *hva = T.guest + off;
    T.maps++;
    return 0;
}

static void h_unmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    ck_assert_ptr_nonnull(hva);
    ck_assert_uint_gt(len, 0);
    T.unmaps++;
}

static void h_signal(void *host, int32_t fd)
{
    (void)host;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_lt(fd, MAXFD);
    ck_assert_int_eq(T.fd[fd].given, 1);
    ck_assert_int_eq(T.fd[fd].closes, 0);
    T.fd[fd].signals++;
}

static void h_close(void *host, int32_t fd)
{
    (void)host;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_lt(fd, MAXFD);
    ck_assert_int_eq(T.fd[fd].given, 1);
    T.fd[fd].closes++;
    ck_assert_int_eq(T.fd[fd].closes, 1); /* exactly once */
}

/* How the fake client's next reply goes wrong. */
enum {
    FAULT_NONE,
    FAULT_ID,      /* another message id */
    FAULT_CMD,     /* another command */
    FAULT_SHORT,   /* below the header */
    FAULT_SIZE,    /* size field disagrees with the length */
    FAULT_ERROR,   /* error reply */
    FAULT_COUNT,   /* fewer bytes than asked */
    FAULT_ADDR,    /* another address */
    FAULT_TYPE,    /* not a reply */
    FAULT_HOOK,    /* the host fails (connection lost) */
    FAULT_LONG,    /* more than the message buffer */
};

/* The client's side of VFIO_USER_DMA_READ / VFIO_USER_DMA_WRITE ("Read and
 * Write Operations"): check the request the library built, then answer
 * from / into T.client as QEMU 11.1 does (a DMA_WRITE reply is the header
 * alone), unless T.fault says otherwise. */
static int h_dma(void *host, void *msg, uint32_t len, uint32_t cap,
                 uint32_t *reply_len)
{
    uint8_t *b = msg;
    uint16_t id, cmd;
    uint32_t size, flags;
    uint64_t addr, count;
    (void)host;
    ck_assert_uint_ge(cap, VDM_VFIO_USER_DMA_MSG);
    ck_assert_uint_ge(len, HDR + 16);
    memcpy(&id, b, 2);
    memcpy(&cmd, b + 2, 2);
    memcpy(&size, b + 4, 4);
    memcpy(&flags, b + 8, 4);
    memcpy(&addr, b + 16, 8);
    memcpy(&count, b + 24, 8);
    /* "Header": a command, its size covering the whole message */
    ck_assert_uint_eq(size, len);
    ck_assert_uint_eq(flags, VDM_VFIO_USER_F_TYPE_CMD);
    ck_assert(cmd == VDM_VFIO_USER_DMA_READ || cmd == VDM_VFIO_USER_DMA_WRITE);
    /* the request stays inside the mapped memory without an fd */
    ck_assert_uint_ge(addr, GPA2);
    ck_assert_uint_le(addr + count, GPA2 + GSIZE);
    ck_assert_uint_gt(count, 0);
    if (count > T.max_count)
        T.max_count = (uint32_t)count;
    if (T.nested) {
        /* anything but a REGION_READ is refused, with nothing to send */
        uint32_t rl = 1;
        ck_assert_int_eq(vdm_vfio_user_handle(&T.vfu, b, len, NULL, 0, T.reply,
                                              sizeof(T.reply), &rl),
                         VDM_EBUSY);
        ck_assert_uint_eq(rl, 0);
        /* a REGION_READ of the configuration space is answered */
        uint8_t rr[HDR + 16] = {0};
        uint16_t rcmd = VDM_VFIO_USER_REGION_READ;
        uint32_t rsz = HDR + 16, region = VDM_VFIO_USER_REGION_CONFIG;
        uint32_t cnt = 4;
        memcpy(rr + 2, &rcmd, 2);
        memcpy(rr + 4, &rsz, 4);
        memcpy(rr + HDR + 8, &region, 4);
        memcpy(rr + HDR + 12, &cnt, 4);
        ck_assert_int_eq(vdm_vfio_user_handle(&T.vfu, rr, rsz, NULL, 0,
                                              T.reply, sizeof(T.reply), &rl),
                         0);
        ck_assert_uint_eq(rl, HDR + 16 + 4);
        ck_assert_uint_eq(T.reply[HDR + 16] | T.reply[HDR + 17] << 8,
                          VDM_PCI_VENDOR_ID);
        /* and a nested transfer is refused (the message buffer is busy) */
        uint8_t x[4];
        ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, x, 4),
                         VDM_ESTATE);
        T.nested = 0;
    }
    if (cmd == VDM_VFIO_USER_DMA_READ) {
        ck_assert_uint_eq(len, HDR + 16);
        memcpy(b + HDR + 16, T.client + (addr - GPA2), count);
        size = HDR + 16 + (uint32_t)count;
        T.nread++;
    } else {
        ck_assert_uint_eq(len, HDR + 16 + count);
        memcpy(T.client + (addr - GPA2), b + HDR + 16, count);
        size = HDR;
        T.nwrite++;
        T.used_at_write = used_idx();
    }
    flags = VDM_VFIO_USER_F_TYPE_REPLY;
    switch (T.fault) {
    case FAULT_ID: id++; break;
    case FAULT_CMD: cmd = (uint16_t)(cmd ^ 7u); break;
    case FAULT_ERROR:
        flags |= VDM_VFIO_USER_F_ERROR;
        size = HDR;
        break;
    case FAULT_COUNT:
        if (cmd == VDM_VFIO_USER_DMA_READ)
            size--;
        else
            size = HDR + 12; /* a payload naming another count */
        count--;
        break;
    case FAULT_ADDR:
        addr++;
        if (cmd == VDM_VFIO_USER_DMA_WRITE)
            size = HDR + 12;
        break;
    case FAULT_TYPE: flags = VDM_VFIO_USER_F_TYPE_CMD; break;
    case FAULT_HOOK: return VDM_EIO;
    default: break;
    }
    memcpy(b, &id, 2);
    memcpy(b + 2, &cmd, 2);
    memcpy(b + 4, &size, 4);
    memcpy(b + 8, &flags, 4);
    memset(b + 12, 0, 4);
    if (T.fault == FAULT_ERROR)
        memcpy(b + 12, &(uint32_t){14}, 4);
    memcpy(b + 16, &addr, 8);
    memcpy(b + 24, &count, 8);
    *reply_len = size;
    if (T.fault == FAULT_SHORT)
        *reply_len = 8;
    if (T.fault == FAULT_SIZE)
        *reply_len = size + 1;
    if (T.fault == FAULT_LONG)
        *reply_len = cap + 1;
    return 0;
}

static int rng_fill(void *host, void *buf, uint32_t len)
{
    (void)host;
    for (uint32_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(0xa0u + i);
    return (int)len;
}
static const struct vdm_rng_ops rng_ops = {.size = sizeof(rng_ops),
                                           .fill = rng_fill};

/* A fresh fake fd (never MEM_FD, which is handed out by the DMA tests). */
static int32_t newfd(void)
{
    int32_t fd = T.next_fd++;
    ck_assert_int_lt(fd, MAXFD);
    T.fd[fd].given = 1;
    return fd;
}

static int32_t memfd(void)
{
    memset(&T.fd[MEM_FD], 0, sizeof(T.fd[MEM_FD]));
    T.fd[MEM_FD].given = 1;
    return MEM_FD;
}

/* Send one command; return the handler's code. */
static int send_fds(uint16_t cmd, uint32_t flags, const void *pl, uint32_t len,
                    const int32_t *fds, uint32_t nfds)
{
    uint8_t m[VDM_VFIO_USER_MAX_MSG + 64];
    uint32_t total = HDR + len;
    ck_assert_uint_le(total, sizeof(m));
    memset(m, 0, HDR);
    uint16_t id = ++T.id;
    memcpy(m, &id, 2);
    memcpy(m + 2, &cmd, 2);
    memcpy(m + 4, &total, 4);
    memcpy(m + 8, &flags, 4);
    if (len)
        memcpy(m + HDR, pl, len);
    int rc = vdm_vfio_user_handle(&T.vfu, m, total, fds, nfds, T.reply,
                                  sizeof(T.reply), &T.rlen);
    if (T.rlen) {
        uint16_t rid, rcmd;
        uint32_t rsz, rfl;
        memcpy(&rid, T.reply, 2);
        memcpy(&rcmd, T.reply + 2, 2);
        memcpy(&rsz, T.reply + 4, 4);
        memcpy(&rfl, T.reply + 8, 4);
        /* "Header": the reply echoes id and command, sets the Reply type
         * and its size covers the whole reply. */
        ck_assert_uint_eq(rid, id);
        ck_assert_uint_eq(rcmd, cmd);
        ck_assert_uint_eq(rsz, T.rlen);
        ck_assert_uint_eq(rfl & 0xfu, VDM_VFIO_USER_F_TYPE_REPLY);
        ck_assert_uint_eq((rfl & VDM_VFIO_USER_F_ERROR) != 0, rc != 0);
        /* "If an error occurs, the reply message must only include the
         * reply header." */
        if (rc != 0)
            ck_assert_uint_eq(T.rlen, HDR);
    }
    return rc;
}

/* Host byte order, as the protocol says: the payload's leading u32 fields
 * (argsz, flags, ...) written natively, so the suite means the same on a
 * big-endian host. */
static void put32s(uint8_t *p, const uint32_t *w, unsigned n)
{
    memcpy(p, w, 4u * n);
}

static int send_msg(uint16_t cmd, const void *pl, uint32_t len)
{
    return send_fds(cmd, 0, pl, len, NULL, 0);
}

static uint32_t reply_errno(void)
{
    uint32_t e;
    memcpy(&e, T.reply + 12, 4);
    return e;
}

static uint32_t r32(uint32_t off)
{
    uint32_t v;
    memcpy(&v, T.reply + HDR + off, 4);
    return v;
}

static uint64_t r64(uint32_t off)
{
    uint64_t v;
    memcpy(&v, T.reply + HDR + off, 8);
    return v;
}

static int version(const char *json)
{
    uint8_t p[1024];
    uint16_t major = 0, minor = 1;
    memcpy(p, &major, 2);
    memcpy(p + 2, &minor, 2);
    uint32_t n = 4;
    if (json) {
        memcpy(p + 4, json, strlen(json) + 1);
        n += (uint32_t)strlen(json) + 1;
    }
    return send_msg(VDM_VFIO_USER_VERSION, p, n);
}

static int dma_map(uint32_t flags, uint64_t off, uint64_t iova, uint64_t size,
                   int withfd)
{
    uint8_t p[32];
    uint32_t argsz = 32;
    memcpy(p, &argsz, 4);
    memcpy(p + 4, &flags, 4);
    memcpy(p + 8, &off, 8);
    memcpy(p + 16, &iova, 8);
    memcpy(p + 24, &size, 8);
    int32_t fd = withfd ? memfd() : -1;
    return send_fds(VDM_VFIO_USER_DMA_MAP, 0, p, 32, &fd, withfd ? 1 : 0);
}

static int dma_unmap(uint32_t flags, uint64_t iova, uint64_t size)
{
    uint8_t p[24];
    uint32_t argsz = 24;
    memcpy(p, &argsz, 4);
    memcpy(p + 4, &flags, 4);
    memcpy(p + 8, &iova, 8);
    memcpy(p + 16, &size, 8);
    return send_msg(VDM_VFIO_USER_DMA_UNMAP, p, 24);
}

static int region_rw(uint32_t region, uint64_t off, uint32_t count, void *data,
                     int write)
{
    uint8_t p[16 + VDM_VFIO_USER_MAX_DATA];
    memcpy(p, &off, 8);
    memcpy(p + 8, &region, 4);
    memcpy(p + 12, &count, 4);
    if (write)
        memcpy(p + 16, data, count);
    int rc =
        send_msg(write ? VDM_VFIO_USER_REGION_WRITE : VDM_VFIO_USER_REGION_READ,
                 p, 16 + (write ? count : 0));
    if (rc == 0) {
        ck_assert_uint_eq(T.rlen, HDR + 16 + (write ? 0 : count));
        ck_assert_uint_eq(r64(0), off);
        ck_assert_uint_eq(r32(8), region);
        ck_assert_uint_eq(r32(12), count);
        if (!write)
            memcpy(data, T.reply + HDR + 16, count);
    }
    return rc;
}

/* Little-endian register access as a guest sees it. */
static uint64_t rd(uint32_t region, uint64_t off, uint32_t w)
{
    uint8_t b[8] = {0};
    ck_assert_int_eq(region_rw(region, off, w, b, 0), 0);
    uint64_t v = 0;
    for (uint32_t i = 0; i < w; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void wr(uint32_t region, uint64_t off, uint32_t w, uint64_t v)
{
    uint8_t b[8];
    for (uint32_t i = 0; i < w; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    ck_assert_int_eq(region_rw(region, off, w, b, 1), 0);
}

static int set_irqs(uint32_t flags, uint32_t index, uint32_t start,
                    uint32_t count, const uint8_t *bools, const int32_t *fds,
                    uint32_t nfds)
{
    uint8_t p[64];
    uint32_t n = 20 + (bools ? count : 0);
    memcpy(p, &n, 4);
    memcpy(p + 4, &flags, 4);
    memcpy(p + 8, &index, 4);
    memcpy(p + 12, &start, 4);
    memcpy(p + 16, &count, 4);
    if (bools)
        memcpy(p + 20, bools, count);
    return send_fds(VDM_VFIO_USER_DEVICE_SET_IRQS, 0, p, n, fds, nfds);
}

#define IRQ_DATA_NONE    0x01u
#define IRQ_DATA_BOOL    0x02u
#define IRQ_DATA_EVENTFD 0x04u
#define IRQ_ACT_MASK     0x08u
#define IRQ_ACT_UNMASK   0x10u
#define IRQ_ACT_TRIGGER  0x20u

static void setup_with(uint64_t bounce_size)
{
    memset(&T, 0, sizeof(T));
    T.next_fd = MEM_FD + 1;
    T.ops = (struct vdm_vfio_user_ops){.size = sizeof(T.ops),
                                       .map = h_map,
                                       .unmap = h_unmap,
                                       .signal = h_signal,
                                       .close = h_close,
                                       .dma = h_dma};
    struct vdm_vfio_user_config c = VDM_INIT(struct vdm_vfio_user_config);
    c.ops = &T.ops;
    c.dirty_bitmap = T.dbuf;
    c.dirty_bytes = sizeof(T.dbuf);
    if (bounce_size != 0) {
        c.bounce = T.bounce;
        c.bounce_size = bounce_size;
    }
    ck_assert_int_eq(vdm_vfio_user_init(&T.vfu, &c), 0);
    struct vdm_dev_config base = VDM_INIT(struct vdm_dev_config);
    base.num_queues = 1;
    base.queue_size_max = QMAX;
    base.mem = vdm_vfio_user_mem(&T.vfu);
    base.queues = T.queues;
    base.slots = T.slots;
    struct vdm_rng_config rc = VDM_INIT(struct vdm_rng_config);
    rc.ops = &rng_ops;
    ck_assert_int_eq(vdm_rng_init(&T.rng, &T.dev, &rc, &base), 0);
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
    pc.msix_vectors = NVEC;
    pc.storage = T.pcist;
    pc.storage_words = (uint32_t)(sizeof(T.pcist) / sizeof(T.pcist[0]));
    ck_assert_int_eq(vdm_vfio_user_attach(&T.vfu, &T.dev, &pc), 0);
}

static void setup(void)
{
    setup_with(0);
}

static void setup_bounce(void)
{
    /* a build without memory hooks has no bounce spans (the cases skip) */
    setup_with(VDM_CONFIG_MEM_HOOKS ? sizeof(T.bounce) : 0);
}

/* Every fd handed over is closed exactly once after the client leaves. */
static void teardown(void)
{
    vdm_vfio_user_reset(&T.vfu);
    for (int fd = 0; fd < MAXFD; fd++) {
        if (T.fd[fd].given)
            ck_assert_msg(T.fd[fd].closes == 1, "fd %d closed %d times", fd,
                          T.fd[fd].closes);
    }
    ck_assert_int_eq(T.maps, T.unmaps);
}

static void negotiate(void)
{
    ck_assert_int_eq(version("{\"capabilities\":{\"max_msg_fds\":8}}"), 0);
}

/* ------------------------------------------------------------------------ */
/* Framing and VERSION */

/* "Header": sizes below the header or above the limit cannot be framed;
 * a message whose size field disagrees with its length neither. */
START_TEST(framing)
{
    uint8_t h[HDR] = {0};
    uint32_t n = 8, len = 0;
    memcpy(h + 4, &n, 4);
    ck_assert_int_eq(vdm_vfio_user_msg_len(h, &len), VDM_EPROTO);
    n = VDM_VFIO_USER_MAX_MSG + 1;
    memcpy(h + 4, &n, 4);
    ck_assert_int_eq(vdm_vfio_user_msg_len(h, &len), VDM_EPROTO);
    n = HDR + 4;
    memcpy(h + 4, &n, 4);
    ck_assert_int_eq(vdm_vfio_user_msg_len(h, &len), 0);
    ck_assert_uint_eq(len, HDR + 4);
    /* size field says 20, 16 given; its fd is closed anyway */
    int32_t fd = newfd();
    ck_assert_int_eq(vdm_vfio_user_handle(&T.vfu, h, HDR, &fd, 1, T.reply,
                                          sizeof(T.reply), &T.rlen),
                     VDM_EPROTO);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_int_eq(T.fd[fd].closes, 1);
}
END_TEST

/* "Connection Initiation": VERSION comes first; anything else first drops
 * the connection. A reply-type message answers nothing of ours. */
START_TEST(version_first)
{
    int32_t fd = newfd();
    uint8_t p[24] = {0};
    ck_assert_int_eq(send_fds(VDM_VFIO_USER_DMA_UNMAP, 0, p, 24, &fd, 1),
                     VDM_EPROTO);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_int_eq(T.fd[fd].closes, 1);
    ck_assert_int_eq(send_fds(VDM_VFIO_USER_VERSION, VDM_VFIO_USER_F_TYPE_REPLY,
                              p, 4, NULL, 0),
                     VDM_EPROTO);
    /* major 1 is not ours: close ("closes the connection") */
    uint16_t major = 1;
    memcpy(p, &major, 2);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_VERSION, p, 4), VDM_EPROTO);
}
END_TEST

/* VFIO_USER_VERSION reply: same major, minor <= proposed, our capabilities
 * (a JSON document a strict client accepts). Unknown keys are ignored. */
START_TEST(version_ok)
{
    ck_assert_int_eq(
        version("{ \"capabilities\" : {\"max_msg_fds\": 253, "
                "\"max_data_xfer_size\":1048576, \"pgsizes\": 4096,"
                "\"migration\": {\"pgsize\":4096, \"max_bitmap_size\": 1},"
                "\"twin_socket\":{\"supported\":true}, "
                "\"write_multiple\": false, \"x\":[1,-2.5e3,\"\\u00e9\",null,"
                "[[{}]]]}, \"other\": \"y\"}\n"),
        0);
    uint16_t major, minor;
    memcpy(&major, T.reply + HDR, 2);
    memcpy(&minor, T.reply + HDR + 2, 2);
    ck_assert_uint_eq(major, 0);
    ck_assert_uint_eq(minor, 0);
    const char *j = (const char *)T.reply + HDR + 4;
    ck_assert_uint_eq(strlen(j) + 1 + 4 + HDR, T.rlen); /* NUL-terminated */
    ck_assert_ptr_nonnull(strstr(j, "\"max_msg_fds\":16"));
    ck_assert_ptr_nonnull(strstr(j, "\"max_data_xfer_size\":4096"));
    ck_assert_ptr_nonnull(strstr(j, "\"pgsizes\":4096"));
    ck_assert_ptr_null(strstr(j, "migration"));
    ck_assert_ptr_null(strstr(j, "twin_socket"));
    /* a second VERSION is refused, the session stays */
    ck_assert_int_eq(version(NULL), VDM_ESTATE);
    ck_assert_uint_eq(T.rlen, HDR);
    uint8_t p[16] = {0};
    put32s(p, (const uint32_t[]){16}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, p, 16), 0);
}
END_TEST

/* Malformed JSON, or a known capability of the wrong type, is refused with
 * an error reply; the session is not established. */
START_TEST(version_bad_json)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"capabilities\":{\"max_msg_fds\":-1}}",
        "{\"capabilities\":{\"max_msg_fds\":1.5}}",
        "{\"capabilities\":{\"max_msg_fds\":\"8\"}}",
        "{\"capabilities\":{\"max_msg_fds\":99999999999999999999}}",
        "{\"capabilities\":{\"max_msg_fds\":0}}",
        "{\"capabilities\":{\"pgsizes\":{}}}",
        "{\"capabilities\":[]}",
        "{\"capabilities\":7}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":tru}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"a\":01}",
        "{\"a\":[1 2]}",
        "{\"a\":[}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "{\"a\":\"unterminated}",
        ("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]}"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(version(bad[i]) == VDM_EINVAL, "accepted: %s", bad[i]);
        ck_assert_uint_eq(reply_errno(), 22); /* EINVAL */
    }
    /* JSON without its terminating NUL */
    uint8_t p[8] = {0, 0, 0, 0, '{', '}', ' ', ' '};
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_VERSION, p, 8), VDM_EINVAL);
    /* still no session: the next command drops the connection */
    uint8_t q[16] = {0};
    put32s(q, (const uint32_t[]){16}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, q, 16),
                     VDM_EPROTO);
    /* no JSON at all: the defaults */
    ck_assert_int_eq(version(NULL), 0);
}
END_TEST

/* "Header": No_reply commands produce no reply. */
START_TEST(no_reply)
{
    negotiate();
    uint8_t p[16] = {0};
    put32s(p, (const uint32_t[]){16}, 1);
    ck_assert_int_eq(send_fds(VDM_VFIO_USER_DEVICE_GET_INFO,
                              VDM_VFIO_USER_F_NO_REPLY, p, 16, NULL, 0),
                     0);
    ck_assert_uint_eq(T.rlen, 0);
    ck_assert_int_eq(send_fds(VDM_VFIO_USER_DEVICE_GET_INFO,
                              VDM_VFIO_USER_F_NO_REPLY, p, 8, NULL, 0),
                     VDM_EINVAL);
    ck_assert_uint_eq(T.rlen, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Device, regions, interrupts information */

/* VFIO_USER_DEVICE_GET_INFO: a PCI device with reset, 9 regions, 5 IRQ
 * types; argsz below the reply is refused. */
START_TEST(device_info)
{
    negotiate();
    uint8_t p[16] = {0};
    put32s(p, (const uint32_t[]){16}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, p, 16), 0);
    ck_assert_uint_eq(r32(0), 16);
    ck_assert_uint_eq(r32(4), 3); /* RESET | PCI */
    ck_assert_uint_eq(r32(8), 9);
    ck_assert_uint_eq(r32(12), 5);
    put32s(p, (const uint32_t[]){8}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, p, 16),
                     VDM_EINVAL);
    /* the longer <linux/vfio.h> struct (cap_offset, pad) is accepted, the
     * reply is the protocol's 16 bytes; a short payload is not */
    uint8_t q[24] = {0};
    put32s(q, (const uint32_t[]){24}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, q, 24), 0);
    ck_assert_uint_eq(T.rlen, HDR + 16);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, q, 12),
                     VDM_EINVAL);
}
END_TEST

static void region_info(uint32_t idx)
{
    uint8_t p[32] = {0};
    put32s(p, (const uint32_t[]){32}, 1);
    memcpy(p + 8, &idx, 4);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_REGION_INFO, p, 32), 0);
    ck_assert_uint_eq(T.rlen, HDR + 32);
    ck_assert_uint_eq(r32(8), idx);
}

/* VFIO_USER_DEVICE_GET_REGION_INFO: config space 256 bytes, the BARs of
 * the PCI transport at their sizes, read/write, never MMAP (vdm's BARs are
 * registers only); an index out of range is refused. */
START_TEST(regions)
{
    negotiate();
    region_info(VDM_VFIO_USER_REGION_CONFIG);
    ck_assert_uint_eq(r32(4), 3); /* READ | WRITE */
    ck_assert_uint_eq(r64(16), 256);
    for (uint32_t b = 0; b < 6; b++) {
        uint64_t size = 0;
        int rc = vdm_pci_bar_info(vdm_vfio_user_pci(&T.vfu), b, NULL, &size);
        region_info(b);
        if (rc == 0) {
            ck_assert_uint_eq(r32(4), 3);
            ck_assert_uint_eq(r64(16), size);
            ck_assert_uint_gt(size, 0);
        } else {
            ck_assert_uint_eq(r32(4), 0);
            ck_assert_uint_eq(r64(16), 0);
        }
        ck_assert_uint_eq(r32(4) & 4u, 0); /* no MMAP */
    }
    region_info(VDM_VFIO_USER_REGION_ROM);
    ck_assert_uint_eq(r64(16), 0);
    uint8_t p[32] = {0};
    put32s(p, (const uint32_t[]){32}, 1);
    uint32_t idx = 9;
    memcpy(p + 8, &idx, 4);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_REGION_INFO, p, 32),
                     VDM_EINVAL);
    /* accesses outside a region, to an empty region, or too big */
    uint8_t b[8];
    ck_assert_int_eq(region_rw(VDM_VFIO_USER_REGION_CONFIG, 254, 4, b, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(region_rw(VDM_VFIO_USER_REGION_ROM, 0, 4, b, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(region_rw(42, 0, 4, b, 0), VDM_EINVAL);
    ck_assert_int_eq(
        region_rw(VDM_VFIO_USER_REGION_CONFIG, UINT64_MAX - 1, 4, b, 0),
        VDM_EINVAL);
    uint8_t q[20] = {0}; /* 16-byte head + 2 data bytes below */
    uint32_t big = VDM_VFIO_USER_MAX_DATA + 1;
    memcpy(q + 12, &big, 4);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_REGION_READ, q, 16), VDM_EINVAL);
    /* a write whose data is shorter than its count */
    uint32_t four = 4;
    memcpy(q + 12, &four, 4);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_REGION_WRITE, q, 18), VDM_EINVAL);
}
END_TEST

/* VFIO_USER_DEVICE_GET_IRQ_INFO: INTx (1, maskable, automasked), MSI-X (the
 * table size, maskable), nothing else. */
START_TEST(irq_info)
{
    negotiate();
    static const uint32_t count[5] = {1, 0, NVEC, 0, 0};
    for (uint32_t i = 0; i < 5; i++) {
        uint8_t p[16] = {0};
        put32s(p, (const uint32_t[]){16}, 1);
        memcpy(p + 8, &i, 4);
        ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_IRQ_INFO, p, 16), 0);
        ck_assert_uint_eq(r32(8), i);
        ck_assert_uint_eq(r32(12), count[i]);
        ck_assert_uint_eq(r32(4) & 1u, 1u); /* EVENTFD */
    }
    uint8_t p[16] = {0};
    put32s(p, (const uint32_t[]){16}, 1);
    uint32_t i = 5;
    memcpy(p + 8, &i, 4);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_IRQ_INFO, p, 16),
                     VDM_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* DMA */

/* VFIO_USER_DMA_MAP / UNMAP: an fd-backed map enters the memory table and
 * its fd is closed once mapped; a map over an existing one fails with
 * EEXIST; an unmap must match a map exactly; UNMAP replies with the entry. */
START_TEST(dma)
{
    negotiate();
    const struct vdm_mem *m = vdm_vfio_user_mem(&T.vfu);
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    ck_assert_int_eq(T.fd[MEM_FD].closes, 1);
    ck_assert_uint_eq(m->nregions, 1);
    void *hva = NULL;
    ck_assert_int_eq(vdm_mem_lookup(m, GPA + 16, 16, VDM_MEM_WRITE, &hva), 0);
    ck_assert_ptr_eq(hva, T.guest + 16);
    /* overlap, even partial, even without fd */
    ck_assert_int_eq(dma_map(3, 0, GPA + GSIZE - 1, 4096, 0), VDM_EINVAL);
    ck_assert_uint_eq(reply_errno(), 17); /* EEXIST */
    /* a map without fd: recorded, not reachable */
    ck_assert_int_eq(dma_map(1, 0, 0x900000, 0x1000, 0), 0);
    ck_assert_uint_eq(m->nregions, 1);
    ck_assert_int_eq(vdm_mem_lookup(m, 0x900000, 4, VDM_MEM_READ, &hva),
                     VDM_EFAULT);
    /* unmap must match exactly */
    ck_assert_int_eq(dma_unmap(0, GPA, GSIZE - 4096), VDM_ENOENT);
    ck_assert_uint_eq(reply_errno(), 2); /* ENOENT */
    ck_assert_int_eq(dma_unmap(0, GPA, GSIZE), 0);
    ck_assert_uint_eq(T.rlen, HDR + 24);
    ck_assert_uint_eq(r64(8), GPA);
    ck_assert_uint_eq(r64(16), GSIZE);
    ck_assert_uint_eq(m->nregions, 0);
    ck_assert_int_eq(T.unmaps, 1);
    /* read-only map: read-only region */
    ck_assert_int_eq(dma_map(1, 0x1000, GPA, 0x1000, 1), 0);
    ck_assert_int_eq(vdm_mem_lookup(m, GPA, 4, VDM_MEM_WRITE, &hva),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(m, GPA, 4, VDM_MEM_READ, &hva), 0);
    ck_assert_ptr_eq(hva, T.guest + 0x1000);
    /* UNMAP_ALL (vfio.h flag 2) drops everything */
    ck_assert_int_eq(dma_unmap(2, 0, 0), 0);
    ck_assert_uint_eq(m->nregions, 0);
    ck_assert_int_eq(T.maps, T.unmaps);
}
END_TEST

/* Hostile DMA_MAP / DMA_UNMAP: zero size, wrap-around, unknown flags, two
 * fds, the host refusing the map, dirty-page bitmaps, a full table. */
START_TEST(dma_hostile)
{
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, 0, 1), VDM_EINVAL);
    ck_assert_int_eq(T.fd[MEM_FD].closes, 1);
    ck_assert_int_eq(dma_map(3, 0, UINT64_MAX - 10, 4096, 1), VDM_EINVAL);
    ck_assert_int_eq(dma_map(4, 0, GPA, 4096, 1), VDM_EINVAL);
    ck_assert_int_eq(dma_map(3, GSIZE, GPA, 4096, 1), VDM_EINVAL); /* map */
    ck_assert_uint_eq(reply_errno(), 14);                          /* EFAULT */
    ck_assert_int_eq(T.fd[MEM_FD].closes, 1);
    uint8_t p[32] = {0};
    put32s(p, (const uint32_t[]){32}, 1);
    int32_t fds[2] = {newfd(), newfd()};
    ck_assert_int_eq(send_fds(VDM_VFIO_USER_DMA_MAP, 0, p, 32, fds, 2),
                     VDM_EINVAL);
    ck_assert_int_eq(T.fd[fds[0]].closes + T.fd[fds[1]].closes, 2);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DMA_MAP, p, 31), VDM_EINVAL);
    /* dirty bitmap: not supported (no dirty-page logging) */
    ck_assert_int_eq(dma_unmap(1, GPA, 4096), VDM_ENOTSUP);
    ck_assert_uint_eq(reply_errno(), 95);
    ck_assert_int_eq(dma_unmap(2, GPA, 4096), VDM_EINVAL);
    for (uint32_t i = 0; i < VDM_VFIO_USER_MAX_DMA; i++)
        ck_assert_int_eq(
            dma_map(3, 0, 0x10000000ull + i * 0x1000ull, 0x1000, 0), 0);
    ck_assert_int_eq(dma_map(3, 0, 0x20000000ull, 0x1000, 0), VDM_ENOSPC);
    /* DEVICE_FEATURE (migration, DMA logging) is refused */
    uint8_t f[8];
    put32s(f, (const uint32_t[]){8, 6u | (1u << 16)}, 2);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_FEATURE, f, 8), VDM_ENOTSUP);
    ck_assert_uint_eq(reply_errno(), 95);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A virtio-rng driven through the regions */

static uint32_t cfg8(const uint8_t *c, uint32_t o)
{
    return c[o];
}

/* Walk the capability list of the configuration space, read in one
 * REGION_READ of the whole region (as a client does at start-up). */
static void enumerate(void)
{
    uint8_t c[256];
    ck_assert_int_eq(region_rw(VDM_VFIO_USER_REGION_CONFIG, 0, 256, c, 0), 0);
    ck_assert_uint_eq(c[0] | (c[1] << 8), VDM_PCI_VENDOR_ID);
    ck_assert_uint_eq(c[2] | (c[3] << 8),
                      VDM_PCI_DEVICE_ID_BASE + VDM_VIRTIO_ID_RNG);
    /* the same bytes dword by dword */
    for (uint32_t o = 0; o < 256; o += 4)
        ck_assert_uint_eq(rd(VDM_VFIO_USER_REGION_CONFIG, o, 4),
                          (uint32_t)c[o] | (uint32_t)c[o + 1] << 8 |
                              (uint32_t)c[o + 2] << 16 |
                              (uint32_t)c[o + 3] << 24);
    for (uint32_t p = cfg8(c, 0x34); p != 0; p = cfg8(c, p + 1)) {
        if (c[p] == 0x11)
            T.msix_pos = p;
        if (c[p] != 0x09)
            continue;
        uint32_t off = (uint32_t)c[p + 8] | (uint32_t)c[p + 9] << 8 |
                       (uint32_t)c[p + 10] << 16 | (uint32_t)c[p + 11] << 24;
        switch (c[p + 3]) {
        case VDM_PCI_CAP_COMMON_CFG:
            T.common_bar = c[p + 4];
            T.common_off = off;
            break;
        case VDM_PCI_CAP_NOTIFY_CFG:
            T.notify_bar = c[p + 4];
            T.notify_off = off;
            T.notify_mult = (uint32_t)c[p + 16] | (uint32_t)c[p + 17] << 8;
            break;
        case VDM_PCI_CAP_ISR_CFG:
            T.isr_bar = c[p + 4];
            T.isr_off = off;
            break;
        default: break;
        }
    }
    ck_assert_uint_ne(T.msix_pos, 0);
}

#define CC(f) T.common_bar, T.common_off + (f)

/* Bring the rng up with one queue at GPA (desc 0, avail 0x100, used 0x200,
 * buffer 0x1000); queue vector @p qvec. */
static void rng_up(uint16_t qvec)
{
    wr(CC(VDM_PCI_COMMON_STATUS), 1, 0);
    wr(CC(VDM_PCI_COMMON_STATUS), 1, 3);
    wr(CC(VDM_PCI_COMMON_GFSELECT), 4, 1);
    wr(CC(VDM_PCI_COMMON_GF), 4, 1); /* VERSION_1 */
    wr(CC(VDM_PCI_COMMON_STATUS), 1, 11);
    ck_assert_uint_eq(rd(CC(VDM_PCI_COMMON_STATUS), 1), 11);
    wr(CC(VDM_PCI_COMMON_MSIX), 2, 0);
    wr(CC(VDM_PCI_COMMON_Q_SELECT), 2, 0);
    ck_assert_uint_eq(rd(CC(VDM_PCI_COMMON_Q_SIZE), 2), QMAX);
    wr(CC(VDM_PCI_COMMON_Q_SIZE), 2, 8);
    wr(CC(VDM_PCI_COMMON_Q_MSIX), 2, qvec);
    wr(CC(VDM_PCI_COMMON_Q_DESC), 8, GPA);
    wr(CC(VDM_PCI_COMMON_Q_DRIVER), 8, GPA + 0x100);
    wr(CC(VDM_PCI_COMMON_Q_DEVICE), 8, GPA + 0x200);
    wr(CC(VDM_PCI_COMMON_Q_ENABLE), 2, 1);
    wr(CC(VDM_PCI_COMMON_STATUS), 1, 15);
}

/* Post a device-writable buffer of len bytes at a as entry n and notify
 * queue 0. */
static void rng_post_at(uint16_t n, uint64_t a, uint32_t len)
{
    uint8_t *d = T.guest + 16u * (n % 8u);
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(a >> (8 * i));
    for (int i = 0; i < 4; i++)
        d[8 + i] = (uint8_t)(len >> (8 * i));
    d[12] = 2; /* WRITE */
    d[13] = d[14] = d[15] = 0;
    uint8_t *av = T.guest + 0x100;
    av[4 + 2 * (n % 8u)] = (uint8_t)(n % 8u);
    av[5 + 2 * (n % 8u)] = 0;
    av[2] = (uint8_t)(n + 1);
    av[3] = 0;
    uint32_t qoff = (uint32_t)rd(CC(VDM_PCI_COMMON_Q_NOFF), 2);
    wr(T.notify_bar, T.notify_off + qoff * T.notify_mult, 2, 0);
}

/* Post buffer n (16 bytes at 0x1000 + 16n) and notify queue 0. */
static void rng_post(uint16_t n)
{
    rng_post_at(n, GPA + 0x1000 + 16u * n, 16);
}

static uint16_t used_idx(void)
{
    return (uint16_t)(T.guest[0x202] | T.guest[0x203] << 8);
}

/* The whole path: DMA_MAP with an fd, MSI-X eventfds through SET_IRQS, MSI-X
 * enabled in config space, the device set up through its BAR, a request
 * answered with the host's exact bytes in the shared memory and the queue's
 * eventfd signalled. Then SET_IRQS masking: a masked vector keeps the
 * message pending and sends it at unmask ("VFIO_USER_DEVICE_SET_IRQS"). */
START_TEST(rng_msix)
{
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    enumerate();
    int32_t fds[NVEC] = {newfd(), newfd()};
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSIX, 0, NVEC, NULL, fds, NVEC),
                     0);
    ck_assert_int_eq(T.fd[fds[0]].closes, 0);
    /* MSI-X Enable, as the client forwards the guest's config write */
    uint32_t ctl = (uint32_t)rd(VDM_VFIO_USER_REGION_CONFIG, T.msix_pos + 2, 2);
    wr(VDM_VFIO_USER_REGION_CONFIG, T.msix_pos + 2, 2, ctl | 0x8000u);
    rng_up(1);
    rng_post(0);
    ck_assert_uint_eq(used_idx(), 1);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(T.guest[0x1000 + i], 0xa0u + i);
    ck_assert_int_eq(T.fd[fds[1]].signals, 1);
    ck_assert_int_eq(T.fd[fds[0]].signals, 0);

    /* mask vector 1 (DATA_BOOL with start 1), serve: pending, no signal */
    uint8_t yes = 1;
    ck_assert_int_eq(set_irqs(IRQ_DATA_BOOL | IRQ_ACT_MASK,
                              VDM_VFIO_USER_IRQ_MSIX, 1, 1, &yes, NULL, 0),
                     0);
    rng_post(1);
    ck_assert_uint_eq(used_idx(), 2);
    ck_assert_int_eq(T.fd[fds[1]].signals, 1);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_UNMASK,
                              VDM_VFIO_USER_IRQ_MSIX, 1, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fds[1]].signals, 2);
    /* the client triggers the vector itself */
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSIX, 0, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fds[0]].signals, 1);
    /* de-assign vector 1 (DATA_EVENTFD without fds): its fd is closed and
     * the next message waits for a new one */
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSIX, 1, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fds[1]].closes, 1);
    rng_post(2);
    ck_assert_uint_eq(used_idx(), 3);
    int32_t nfd = newfd();
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSIX, 1, 1, NULL, &nfd, 1),
                     0);
    ck_assert_int_eq(T.fd[nfd].signals, 1);
    /* count 0 with DATA_NONE disables every interrupt of the index */
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSIX, 0, 0, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fds[0]].closes, 1);
    ck_assert_int_eq(T.fd[nfd].closes, 1);

    /* DEVICE_RESET: the function back to its initial state */
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_RESET, NULL, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&T.dev), 0);
    ck_assert_uint_eq(rd(CC(VDM_PCI_COMMON_STATUS), 1), 0);
}
END_TEST

/* INTx (MSI-X off): AUTOMASKED, one signal per assertion until UNMASK;
 * an unmask with the line still high signals again; reading ISR lowers
 * the line. */
START_TEST(rng_intx)
{
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    enumerate();
    int32_t fd = newfd();
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, &fd, 1),
                     0);
    rng_up(VDM_PCI_NO_VECTOR);
    rng_post(0);
    ck_assert_uint_eq(used_idx(), 1);
    ck_assert_int_eq(T.fd[fd].signals, 1);
    rng_post(1); /* line still high, automasked: no new signal */
    ck_assert_int_eq(T.fd[fd].signals, 1);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_UNMASK,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fd].signals, 2); /* still high: again */
    ck_assert_uint_eq(rd(T.isr_bar, T.isr_off, 1), VDM_PCI_ISR_QUEUE);
    ck_assert_int_eq(vdm_pci_intx_level(vdm_vfio_user_pci(&T.vfu)), 0);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_UNMASK,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fd].signals, 2); /* low: nothing */
    /* masked by the client: the next assertion waits for the unmask */
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_MASK,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, NULL, 0),
                     0);
    rng_post(2);
    ck_assert_int_eq(T.fd[fd].signals, 2);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_UNMASK,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, NULL, 0),
                     0);
    ck_assert_int_eq(T.fd[fd].signals, 3);
}
END_TEST

/* Hostile SET_IRQS: several data or action flags, unknown flags, argsz not
 * the payload size, sub-indexes out of range, an fd count that is neither
 * 0 nor count, mask eventfds, interrupts of types without any. Every fd is
 * closed. */
START_TEST(irqs_hostile)
{
    negotiate();
    int32_t f[4];
    for (int i = 0; i < 4; i++)
        f[i] = newfd();
    const uint32_t X = VDM_VFIO_USER_IRQ_MSIX;
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_DATA_BOOL | IRQ_ACT_MASK, X,
                              0, 1, NULL, NULL, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_MASK | IRQ_ACT_UNMASK, X,
                              0, 1, NULL, NULL, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(
        set_irqs(0x40u | IRQ_DATA_NONE | IRQ_ACT_MASK, X, 0, 1, NULL, NULL, 0),
        VDM_EINVAL);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_NONE | IRQ_ACT_MASK, X, 1, NVEC, NULL, NULL, 0),
        VDM_ERANGE);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_NONE | IRQ_ACT_MASK, X, UINT32_MAX, 2, NULL, NULL, 0),
        VDM_ERANGE);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER, X, 0, 2, NULL, f, 1),
        VDM_EINVAL);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER, X, 0, 1, NULL, f + 1, 3),
        VDM_EINVAL);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER, X, 0, 0, NULL, NULL, 0),
        VDM_EINVAL);
    ck_assert_int_eq(set_irqs(IRQ_DATA_NONE | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_MSI, 0, 1, NULL, NULL, 0),
                     VDM_ERANGE);
    ck_assert_int_eq(
        set_irqs(IRQ_DATA_NONE | IRQ_ACT_TRIGGER, 7, 0, 1, NULL, NULL, 0),
        VDM_EINVAL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(T.fd[f[i]].closes, 1);
    int32_t g = newfd();
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_UNMASK,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, &g, 1),
                     VDM_ENOTSUP);
    ck_assert_int_eq(T.fd[g].closes, 1);
    /* argsz must be the payload size */
    uint8_t p[20] = {0};
    put32s(p, (const uint32_t[]){24, IRQ_DATA_NONE | IRQ_ACT_MASK}, 2);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_SET_IRQS, p, 20),
                     VDM_EINVAL);
    /* more fds than max_msg_fds: refused, all closed */
    int32_t many[VDM_VFIO_USER_MAX_FDS + 1];
    for (unsigned i = 0; i <= VDM_VFIO_USER_MAX_FDS; i++)
        many[i] = newfd();
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER, X, 0, NVEC,
                              NULL, many, VDM_VFIO_USER_MAX_FDS + 1),
                     VDM_EINVAL);
    for (unsigned i = 0; i <= VDM_VFIO_USER_MAX_FDS; i++)
        ck_assert_int_eq(T.fd[many[i]].closes, 1);
}
END_TEST

/* Random junk after negotiation: any command, any payload, fds attached.
 * The server never crashes, every reply is well-formed (checked in
 * send_fds) and every fd is closed exactly once by the end (teardown). */
START_TEST(junk)
{
    negotiate();
    uint32_t seed = 1;
    uint8_t p[256];
    for (int n = 0; n < 20000; n++) {
        seed = seed * 1103515245u + 12345u;
        uint16_t cmd = (uint16_t)((seed >> 16) % 20u);
        uint32_t len = (seed >> 8) % 64u;
        for (uint32_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = (uint8_t)(seed >> 24);
            if ((seed & 0x300u) == 0)
                p[i] = (uint8_t)(i < 4 ? len : (seed >> 12) % 10u);
        }
        if (cmd == VDM_VFIO_USER_DEVICE_RESET && (seed & 1u))
            len = 0;
        int32_t fds[3];
        uint32_t nfds = (seed >> 4) % 4u;
        if (T.next_fd > MAXFD - 8)
            break;
        for (uint32_t i = 0; i < nfds; i++)
            fds[i] = newfd();
        int rc = send_fds(cmd, (seed >> 20) & 0x10u, p, len, fds, nfds);
        ck_assert_int_ne(rc, VDM_EPROTO); /* framed, negotiated */
    }
}
END_TEST

/* "Client Disconnection": memory unmapped and every fd closed (teardown
 * checks); the next client negotiates afresh. */
START_TEST(disconnect)
{
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    int32_t fd = newfd();
    ck_assert_int_eq(set_irqs(IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                              VDM_VFIO_USER_IRQ_INTX, 0, 1, NULL, &fd, 1),
                     0);
    vdm_vfio_user_reset(&T.vfu);
    ck_assert_int_eq(T.fd[fd].closes, 1);
    ck_assert_int_eq(T.unmaps, 1);
    ck_assert_uint_eq(vdm_vfio_user_mem(&T.vfu)->nregions, 0);
    uint8_t p[16] = {0};
    put32s(p, (const uint32_t[]){16}, 1);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_GET_INFO, p, 16),
                     VDM_EPROTO);
    negotiate();
}
END_TEST

/* Set-up arguments. */
START_TEST(init_args)
{
    struct vdm_vfio_user v;
    struct vdm_vfio_user_config c = VDM_INIT(struct vdm_vfio_user_config);
    ck_assert_int_eq(vdm_vfio_user_init(NULL, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL); /* no ops */
    struct vdm_vfio_user_ops o = T.ops;
    c.ops = &o;
    o.signal = NULL;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL);
    o = T.ops;
    o.size = 8;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_ESIZE);
    o = T.ops;
    c.size = 4;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_ESIZE);
    c.size = sizeof(c);
    c.reserved = 1;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL);
    c.reserved = 0;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), 0);
    ck_assert_ptr_null(vdm_vfio_user_pci(&v));
    /* attach: the device must use this server's memory; once only */
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
    ck_assert_int_eq(vdm_vfio_user_attach(&v, &T.dev, &pc), VDM_EINVAL);
    ck_assert_int_eq(vdm_vfio_user_attach(&T.vfu, &T.dev, &pc), VDM_EINVAL);
    ck_assert_str_eq(vdm_vfio_user_command_name(2), "DMA_MAP");
    ck_assert_str_eq(vdm_vfio_user_command_name(14), "UNKNOWN");
    ck_assert_str_eq(vdm_vfio_user_command_name(99999), "UNKNOWN");
    ck_assert_int_eq(vdm_vfio_user_errno(VDM_ENOTSUP), 95);
    ck_assert_int_eq(vdm_vfio_user_errno(-999), 22);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* DMA logging ("VFIO_USER_DEVICE_FEATURE", "Device Features",
 * "VFIO_DEVICE_FEATURE_DMA_LOGGING_START / _STOP", "..._REPORT")          */

#define FEAT_GET   (1u << 16)
#define FEAT_SET   (1u << 17)
#define FEAT_PROBE (1u << 18)

static int feature(uint32_t argsz, uint32_t flags, const void *data,
                   uint32_t dlen)
{
    uint8_t p[8 + 512];
    ck_assert_uint_le(dlen, 512);
    put32s(p, (const uint32_t[]){argsz, flags}, 2);
    if (dlen != 0)
        memcpy(p + 8, data, dlen);
    return send_msg(VDM_VFIO_USER_DEVICE_FEATURE, p, 8 + dlen);
}

static int log_start(uint64_t ps, uint32_t nr, const uint64_t *ranges)
{
    uint8_t d[16 + 16 * 16];
    ck_assert_uint_le(nr, 16);
    memcpy(d, &ps, 8);
    memcpy(d + 8, &nr, 4);
    memset(d + 12, 0, 4);
    if (nr != 0)
        memcpy(d + 16, ranges, 16u * nr);
    return feature(8 + 16 + 16 * nr, 6u | FEAT_SET, d, 16 + 16 * nr);
}

/* REPORT of [iova, iova + len) in units of ps; the first u64 of the bitmap
 * (the tests' ranges need no more). */
static int log_report(uint64_t iova, uint64_t len, uint64_t ps, uint64_t *w)
{
    uint64_t d[3] = {iova, len, ps};
    int rc = feature(4096, 8u | FEAT_GET, d, 24);
    if (rc == 0) {
        /* reply: header, argsz, flags, the request's data, the bitmap */
        ck_assert_uint_ge(T.rlen, HDR + 8 + 24 + 8);
        ck_assert_uint_eq(r32(0), T.rlen - HDR); /* argsz: reply payload */
        ck_assert_uint_eq(r64(8), iova);
        *w = r64(32);
    }
    return rc;
}

/* The rng writes 16 bytes at GPA + 0x1000 + 16n (page 1 of the guest) and
 * its used ring at GPA + 0x200 (page 0): a report over the guest names
 * exactly those pages, once. */
START_TEST(dma_logging)
{
    uint64_t w, r1[2] = {GPA, GSIZE};

    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    enumerate();
    /* PROBE: the logging features are there, migration is not */
    ck_assert_int_eq(feature(8, 6u | FEAT_SET | FEAT_PROBE, NULL, 0), 0);
    ck_assert_uint_eq(r32(4), 6u | FEAT_SET | FEAT_PROBE);
    ck_assert_int_eq(feature(8, 7u | FEAT_SET | FEAT_PROBE, NULL, 0), 0);
    ck_assert_int_eq(feature(8, 8u | FEAT_GET | FEAT_PROBE, NULL, 0), 0);
    ck_assert_int_eq(feature(8, 8u | FEAT_SET | FEAT_PROBE, NULL, 0),
                     VDM_ENOTSUP);
    ck_assert_int_eq(feature(8, 1u | FEAT_GET | FEAT_PROBE, NULL, 0),
                     VDM_ENOTSUP);
    ck_assert_int_eq(feature(8, 2u | FEAT_SET, NULL, 0), VDM_ENOTSUP);
    ck_assert_uint_eq(reply_errno(), 95);
    /* REPORT before START */
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), VDM_ESTATE);
    /* START over the guest, 4 KiB pages */
    ck_assert_int_eq(log_start(4096, 1, r1), 0);
    ck_assert_uint_eq(r64(8), 4096); /* the page size chosen */
    ck_assert_ptr_nonnull(vdm_vfio_user_mem(&T.vfu)->log);
    ck_assert_int_eq(log_start(4096, 1, r1), VDM_EBUSY);
    rng_up(VDM_PCI_NO_VECTOR);
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), 0);
    /* set-up writes the used ring's flags at most */
    ck_assert_uint_eq(w & ~1ull, 0);
    rng_post(0);
    ck_assert_uint_eq(used_idx(), 1);
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), 0);
    ck_assert_uint_eq(w, 0x3); /* used ring page, buffer page */
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), 0);
    ck_assert_uint_eq(w, 0); /* read and cleared */
    /* a coarser report unit: both pages in one bit */
    rng_post(1);
    ck_assert_int_eq(log_report(GPA, GSIZE, 8192, &w), 0);
    ck_assert_uint_eq(w, 0x1);
    /* a finer one: bits replicated */
    rng_post(2);
    ck_assert_int_eq(log_report(GPA, 0x2000, 2048, &w), 0);
    ck_assert_uint_eq(w, 0xf);
    /* a report over part of a logged page names it and keeps its bit */
    rng_post(3);
    ck_assert_int_eq(log_report(GPA + 0x1000, 0x800, 0x800, &w), 0);
    ck_assert_uint_eq(w, 0x1);
    ck_assert_int_eq(log_report(GPA + 0x1000, 0x1000, 0x1000, &w), 0);
    ck_assert_uint_eq(w, 0x1);
    ck_assert_int_eq(log_report(GPA, 0x2000, 0x1000, &w), 0);
    ck_assert_uint_eq(w, 0x1); /* only the used ring page left */
    /* outside the logged range: nothing */
    ck_assert_int_eq(log_report(0x40000000, 0x1000, 0x1000, &w), 0);
    ck_assert_uint_eq(w, 0);
    /* STOP: logging off */
    ck_assert_int_eq(feature(8, 7u | FEAT_SET, NULL, 0), 0);
    ck_assert_ptr_null(vdm_vfio_user_mem(&T.vfu)->log);
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), VDM_ESTATE);
    /* num_ranges 0: "all writes", the DMA space mapped now */
    ck_assert_int_eq(log_start(4096, 0, NULL), 0);
    rng_post(4);
    ck_assert_int_eq(log_report(GPA, GSIZE, 4096, &w), 0);
    ck_assert_uint_eq(w, 0x3);
    ck_assert_int_eq(feature(8, 7u | FEAT_SET, NULL, 0), 0);
    /* ranges the buffer cannot hold at 4 KiB: coarser pages (64 bytes of
     * bitmap over 1 GiB: 2 MiB pages) */
    uint64_t big[2] = {0, 1ull << 30};
    ck_assert_int_eq(log_start(4096, 1, big), 0);
    ck_assert_uint_eq(r64(8), 2u << 20);
    rng_post(5);
    ck_assert_int_eq(log_report(0, 0x400000, 2u << 20, &w), 0);
    ck_assert_uint_eq(w, 0x1); /* GPA 1 MiB: in the first 2 MiB page */
    ck_assert_int_eq(feature(8, 7u | FEAT_SET, NULL, 0), 0);
}
END_TEST

/* Hostile DEVICE_FEATURE messages: refused, nothing logged, nothing
 * changed. */
START_TEST(dma_logging_hostile)
{
    uint64_t w, r1[2] = {GPA, GSIZE};
    uint8_t d[64];

    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    negotiate();
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    /* too short, GET and SET together, unknown operation bits, none */
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_FEATURE, d, 4),
                     VDM_EINVAL);
    ck_assert_int_eq(feature(8, 6u | FEAT_SET | FEAT_GET, NULL, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(feature(8, 6u | (1u << 19), NULL, 0), VDM_EINVAL);
    ck_assert_int_eq(feature(8, 6u, NULL, 0), VDM_EINVAL);
    /* START: no data, reserved set, sizes that disagree, a huge count, an
     * empty or wrapping range, ranges too large for the buffer */
    ck_assert_int_eq(feature(8, 6u | FEAT_SET, NULL, 0), VDM_EINVAL);
    memset(d, 0, sizeof(d));
    d[12] = 1;
    ck_assert_int_eq(feature(24, 6u | FEAT_SET, d, 16), VDM_EINVAL);
    memset(d, 0, sizeof(d));
    d[8] = 2; /* two ranges announced, one sent */
    ck_assert_int_eq(feature(40, 6u | FEAT_SET, d, 32), VDM_EINVAL);
    memset(d + 8, 0xff, 4);
    ck_assert_int_eq(feature(40, 6u | FEAT_SET, d, 32), VDM_EINVAL);
    uint64_t empty[2] = {GPA, 0}, wrap[2] = {UINT64_MAX - 10, 100},
             huge[2] = {0, 1ull << 50};
    ck_assert_int_eq(log_start(4096, 1, empty), VDM_EINVAL);
    ck_assert_int_eq(log_start(4096, 1, wrap), VDM_EINVAL);
    ck_assert_int_eq(log_start(4096, 1, huge), VDM_ENOSPC);
    ck_assert_ptr_null(vdm_vfio_user_mem(&T.vfu)->log);
    /* a page size hint that is no power of two: 4 KiB */
    ck_assert_int_eq(log_start(12345, 1, r1), 0);
    ck_assert_uint_eq(r64(8), 4096);
    /* REPORT: bad unit, empty, wrapping, bitmap beyond argsz or the reply */
    ck_assert_int_eq(log_report(GPA, GSIZE, 3, &w), VDM_EINVAL);
    ck_assert_int_eq(log_report(GPA, 0, 4096, &w), VDM_EINVAL);
    ck_assert_int_eq(log_report(UINT64_MAX - 10, 100, 4096, &w), VDM_EINVAL);
    ck_assert_int_eq(log_report(0, UINT64_MAX, 1, &w), VDM_ESIZE);
    ck_assert_uint_eq(reply_errno(), 7); /* E2BIG */
    {
        uint64_t q[3] = {GPA, GSIZE, 4096};
        ck_assert_int_eq(feature(8 + 24, 8u | FEAT_GET, q, 24), VDM_ESIZE);
        ck_assert_int_eq(feature(4096, 8u | FEAT_GET, q, 16), VDM_EINVAL);
    }
    /* the client leaves: logging stops with it */
    vdm_vfio_user_reset(&T.vfu);
    ck_assert_ptr_null(vdm_vfio_user_mem(&T.vfu)->log);
}
END_TEST

/* Memory without a file descriptor: the server's own requests (protocol
 * "Read and Write Operations", VFIO_USER_DMA_READ, VFIO_USER_DMA_WRITE) and
 * the bounce spans that give the device such memory. */

static void negotiate_xfer(uint32_t max)
{
    char j[128];
    snprintf(j, sizeof(j),
             "{\"capabilities\":{\"max_msg_fds\":8,"
             "\"max_data_xfer_size\":%u}}",
             max);
    ck_assert_int_eq(version(j), 0);
}

/* VFIO_USER_DMA_READ / _WRITE: "count ... must not exceed the value of
 * max_data_xfer_size" of the peer ("Read and Write Operations"): a long
 * transfer is split at the client's limit, or at ours when the client
 * allows more; the bytes arrive exactly. Ranges outside the DMA regions,
 * writes to a read-only one and wrapping ranges send nothing. */
START_TEST(dma_rw_split)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    static uint8_t buf[10000], back[5000];
    uint8_t b4[4];
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, b4, 4), VDM_ESTATE);
    negotiate_xfer(1000);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    for (uint32_t i = 0; i < GSIZE; i++)
        T.client[i] = (uint8_t)(i * 7u + 1u);
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2 + 3, buf, 5000), 0);
    ck_assert_int_eq(T.nread, 5);
    ck_assert_uint_eq(T.max_count, 1000);
    ck_assert(memcmp(buf, T.client + 3, 5000) == 0);
    for (uint32_t i = 0; i < sizeof(back); i++)
        back[i] = (uint8_t)(i ^ 0x5au);
    ck_assert_int_eq(
        vdm_vfio_user_dma_write(&T.vfu, GPA2 + 0x2000, back, 2500), 0);
    ck_assert_int_eq(T.nwrite, 3);
    ck_assert(memcmp(T.client + 0x2000, back, 2500) == 0);
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, NULL, 0), 0);
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, NULL, 4),
                     VDM_EINVAL);
    /* outside, read-only, wrapping: refused before anything is sent */
    ck_assert_int_eq(dma_map(1, 0, 0x900000, 0x1000, 0), 0);
    int n = T.nread + T.nwrite;
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2 + GSIZE - 4, b4, 8),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_vfio_user_dma_write(&T.vfu, 0x900000, b4, 4),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, UINT64_MAX - 2, b4, 4),
                     VDM_EFAULT);
    ck_assert_int_eq(T.nread + T.nwrite, n);
    /* a client allowing 1 MiB still gets our VDM_VFIO_USER_MAX_DATA */
    vdm_vfio_user_reset(&T.vfu);
    negotiate_xfer(1048576);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    T.max_count = 0;
    T.nread = 0;
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, buf, 10000), 0);
    ck_assert_uint_eq(T.max_count, VDM_VFIO_USER_MAX_DATA);
    ck_assert_int_eq(T.nread, 3);
    ck_assert(memcmp(buf, T.client, 10000) == 0);
}
END_TEST

/* A reply is the client's word ("Header": it echoes the request's id and
 * command, Reply type, its size the whole message; DMA_READ's reply carries
 * address, count and the data, DMA_WRITE's address and count): every way
 * one can be wrong fails the transfer with nothing copied past the check,
 * and the next transfer works. */
START_TEST(dma_reply_hostile)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    static const struct {
        int fault, rc;
    } cases[] = {
        {FAULT_ID, VDM_EPROTO},   {FAULT_CMD, VDM_EPROTO},
        {FAULT_SHORT, VDM_EPROTO}, {FAULT_SIZE, VDM_EPROTO},
        {FAULT_ERROR, VDM_EIO},   {FAULT_COUNT, VDM_EPROTO},
        {FAULT_ADDR, VDM_EPROTO}, {FAULT_TYPE, VDM_EPROTO},
        {FAULT_HOOK, VDM_EIO},    {FAULT_LONG, VDM_EPROTO},
    };
    uint8_t b[64], w[64];
    negotiate_xfer(4096);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    for (uint32_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(0x30u + i);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        T.fault = cases[c].fault;
        memset(b, 0x11, sizeof(b));
        ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2 + 8, b, 64),
                         cases[c].rc);
        ck_assert_int_eq(vdm_vfio_user_dma_write(&T.vfu, GPA2 + 8, w, 64),
                         cases[c].rc);
        T.fault = FAULT_NONE;
        ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2 + 8, b, 64), 0);
        ck_assert(memcmp(b, T.client + 8, 64) == 0);
    }
    /* a DMA_WRITE reply with the protocol's payload (address, count) */
    ck_assert_int_eq(vdm_vfio_user_dma_write(&T.vfu, GPA2, w, 64), 0);
    ck_assert(memcmp(T.client, w, 64) == 0);
}
END_TEST

/* From inside the dma hook the library takes a REGION_READ only (the
 * client may block on it while its DMA handler waits), refuses other
 * commands and nested transfers (vfio_user.h `dma`). */
START_TEST(dma_nested_refused)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    uint8_t b[8];
    negotiate_xfer(4096);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    T.nested = 1;
    ck_assert_int_eq(vdm_vfio_user_dma_read(&T.vfu, GPA2, b, 8), 0);
    ck_assert_int_eq(T.nested, 0);
}
END_TEST

/* A virtio-rng whose rings are in shared memory (a map with an fd) and
 * whose buffers are in memory without one: each buffer is read into a
 * bounce span, filled by the device and written back by DMA_WRITE before
 * the used entry is published (VIRTIO 1.4 "The Virtqueue Used Ring": the
 * driver may read the buffer once it sees the used entry), byte for byte,
 * nothing past the buffer; spans are given back (40 requests through a
 * 16 KiB area). */
START_TEST(bounce_rng)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    negotiate_xfer(4096);
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    enumerate();
    rng_up(0xffff);
    memset(T.client, 0xee, GSIZE);
    for (uint16_t n = 0; n < 40; n++) {
        uint32_t at = 0x100u + 1000u * n;
        rng_post_at(n, GPA2 + at, 1000);
        ck_assert_uint_eq(used_idx(), n + 1u);
        ck_assert_int_eq(T.used_at_write, n); /* written back first */
        for (uint32_t i = 0; i < 1000; i++)
            ck_assert_uint_eq(T.client[at + i], (uint8_t)(0xa0u + i));
        ck_assert_uint_eq(T.client[at + 1000], 0xee);
    }
    ck_assert_int_eq(T.nwrite, 40);
    ck_assert_uint_eq(T.client[0xff], 0xee);
    ck_assert_uint_eq(vdm_dev_status(&T.dev) & 64u, 0);
}
END_TEST

/* Bounce storage runs out (a buffer larger than the area): the device
 * cannot reach the buffer, goes to DEVICE_NEEDS_RESET ("Device Status
 * Field") without a crash or a used entry; after a reset it serves again
 * (no span leaked). A ring in memory without an fd is never bounced
 * (VDM_MEM_KEEP): nothing is read for it. */
START_TEST(bounce_exhausted)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    negotiate_xfer(4096);
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 1), 0);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    enumerate();
    rng_up(0xffff);
    rng_post_at(0, GPA2, 16384 + 8);
    ck_assert_uint_eq(used_idx(), 0);
    ck_assert_uint_ne(vdm_dev_status(&T.dev) & 64u, 0);
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_RESET, NULL, 0), 0);
    memset(T.guest, 0, 0x1000);
    rng_up(0xffff);
    for (uint16_t n = 0; n < 20; n++) {
        rng_post_at(n, GPA2 + 8192u * (n % 2u), 8192);
        ck_assert_uint_eq(used_idx(), n + 1u);
    }
    ck_assert_uint_eq(vdm_dev_status(&T.dev) & 64u, 0);

    /* rings without an fd */
    ck_assert_int_eq(send_msg(VDM_VFIO_USER_DEVICE_RESET, NULL, 0), 0);
    ck_assert_int_eq(dma_unmap(0, GPA, GSIZE), 0);
    ck_assert_int_eq(dma_map(3, 0, GPA, GSIZE, 0), 0);
    int reads = T.nread;
    rng_up(0xffff);
    ck_assert_int_eq(T.nread, reads);
    ck_assert(rd(CC(VDM_PCI_COMMON_Q_ENABLE), 2) == 0 ||
              (vdm_dev_status(&T.dev) & 64u) != 0);
}
END_TEST

/* Bounce storage set-up: at least VDM_VFIO_USER_BOUNCE_MIN, and only with
 * the dma hook; a configuration of the size before the bounce
 * fields is an older caller's and has none (VDM_ENOTSUP on a transfer). */
START_TEST(bounce_init_args)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    static struct vdm_vfio_user v;
    struct vdm_vfio_user_config c = VDM_INIT(struct vdm_vfio_user_config);
    struct vdm_vfio_user_ops o = T.ops;
    c.ops = &o;
    c.bounce = T.bounce;
    c.bounce_size = VDM_VFIO_USER_BOUNCE_MIN - 1;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL);
    c.bounce = NULL;
    c.bounce_size = VDM_VFIO_USER_BOUNCE_MIN;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL);
    c.bounce = T.bounce;
    o.dma = NULL;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), VDM_EINVAL);
    o.dma = h_dma;
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), 0);
    ck_assert_ptr_nonnull(vdm_vfio_user_mem(&v)->ops);
    c.size = (uint32_t)offsetof(struct vdm_vfio_user_config, bounce);
    ck_assert_int_eq(vdm_vfio_user_init(&v, &c), 0);
    ck_assert_ptr_null(vdm_vfio_user_mem(&v)->ops);
    uint8_t b[4];
    ck_assert_int_eq(vdm_vfio_user_dma_read(&v, 0, b, 4), VDM_ENOTSUP);
    ck_assert_int_eq(vdm_vfio_user_dma_write(NULL, 0, b, 4), VDM_EINVAL);
}
END_TEST

/* The memory contract of a bounce span, through the server's memory map
 * directly (vdm/mem.h translate / release): a device-readable span holds
 * the guest's bytes and is never written back; a device-writable span is
 * written back whole at its release (bytes the device left alone
 * unchanged), not before; a mapping to keep (VDM_MEM_KEEP, rings) is
 * refused without a request; a read-only map refuses write access; a range
 * across the map's end is refused; spans are never leaked (all 64 slots and
 * the whole area usable after failures). */
START_TEST(bounce_map_release)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    const struct vdm_mem *m = vdm_vfio_user_mem(&T.vfu);
    struct vdm_iov iov[4];
    void *hva = NULL;
    negotiate_xfer(4096);
    ck_assert_int_eq(dma_map(3, 0, GPA2, GSIZE, 0), 0);
    ck_assert_int_eq(dma_map(1, 0, 0x900000, 0x1000, 0), 0);
    for (uint32_t i = 0; i < 256; i++)
        T.client[i] = (uint8_t)i;
    /* device-readable: a copy, no write-back */
    ck_assert_int_eq(vdm_mem_map(m, GPA2 + 16, 100, VDM_MEM_READ, iov, 4), 1);
    ck_assert_uint_eq(iov[0].len, 100);
    ck_assert_uint_ne(iov[0].flags & VDM_IOV_F_HOOK, 0);
    ck_assert(memcmp(iov[0].base, T.client + 16, 100) == 0);
    ((uint8_t *)iov[0].base)[0] = 0x55; /* a misbehaving device */
    vdm_mem_release(m, iov, 1);
    ck_assert_int_eq(T.nwrite, 0);
    ck_assert_uint_eq(T.client[16], 16);
    /* device-writable: written back whole at release, not before */
    ck_assert_int_eq(vdm_mem_map(m, GPA2 + 32, 64, VDM_MEM_WRITE, iov, 4), 1);
    ((uint8_t *)iov[0].base)[3] = 0xaa;
    ck_assert_int_eq(T.nwrite, 0);
    ck_assert_uint_eq(T.client[35], 35);
    vdm_mem_release(m, iov, 1);
    ck_assert_int_eq(T.nwrite, 1);
    ck_assert_uint_eq(T.client[35], 0xaa);
    ck_assert_uint_eq(T.client[34], 34);
    ck_assert_uint_eq(T.client[95], 95);
    /* a ring (VDM_MEM_KEEP), a write to a read-only map, across the end */
    int n = T.nread;
    ck_assert_int_eq(vdm_mem_lookup(m, GPA2, 64, VDM_MEM_READ | VDM_MEM_KEEP,
                                    &hva),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_map(m, 0x900000, 16, VDM_MEM_WRITE, iov, 4),
                     VDM_EFAULT);
    ck_assert_int_eq(T.nread, n);
    /* the part inside is read (a prefix span), then given back */
    ck_assert_int_eq(vdm_mem_map(m, GPA2 + GSIZE - 8, 16, VDM_MEM_READ, iov,
                                 4),
                     VDM_EFAULT);
    /* a failed fill leaves no span behind: 64 spans still fit after */
    T.fault = FAULT_ERROR;
    ck_assert_int_eq(vdm_mem_map(m, GPA2, 16, VDM_MEM_READ, iov, 4),
                     VDM_EFAULT);
    T.fault = FAULT_NONE;
    static struct vdm_iov many[VDM_VFIO_USER_BOUNCE_SLOTS + 1];
    for (uint32_t i = 0; i < VDM_VFIO_USER_BOUNCE_SLOTS; i++)
        ck_assert_int_eq(vdm_mem_map(m, GPA2 + 64u * i, 64, VDM_MEM_READ,
                                     &many[i], 1),
                         1);
    /* the 65th span: no slot */
    ck_assert_int_eq(vdm_mem_map(m, GPA2 + 0x8000, 64, VDM_MEM_READ,
                                 &many[VDM_VFIO_USER_BOUNCE_SLOTS], 1),
                     VDM_EFAULT);
    vdm_mem_release(m, many, VDM_VFIO_USER_BOUNCE_SLOTS);
    ck_assert_int_eq(vdm_mem_map(m, GPA2, 16384, VDM_MEM_READ, iov, 4), 1);
    vdm_mem_release(m, iov, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vfio_user");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, framing);
    tcase_add_test(t, version_first);
    tcase_add_test(t, version_ok);
    tcase_add_test(t, version_bad_json);
    tcase_add_test(t, no_reply);
    tcase_add_test(t, device_info);
    tcase_add_test(t, regions);
    tcase_add_test(t, irq_info);
    tcase_add_test(t, dma);
    tcase_add_test(t, dma_hostile);
    tcase_add_test(t, rng_msix);
    tcase_add_test(t, rng_intx);
    tcase_add_test(t, irqs_hostile);
    tcase_add_test(t, junk);
    tcase_add_test(t, disconnect);
    tcase_add_test(t, init_args);
    tcase_add_test(t, dma_logging);
    tcase_add_test(t, dma_logging_hostile);
    suite_add_tcase(s, t);
    TCase *b = tcase_create("dma_bounce");
    tcase_add_checked_fixture(b, setup_bounce, teardown);
    tcase_add_test(b, dma_rw_split);
    tcase_add_test(b, dma_reply_hostile);
    tcase_add_test(b, dma_nested_refused);
    tcase_add_test(b, bounce_rng);
    tcase_add_test(b, bounce_exhausted);
    tcase_add_test(b, bounce_init_args);
    tcase_add_test(b, bounce_map_release);
    suite_add_tcase(s, b);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
