/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the vhost-user back-end message handler. A real device
 * (blk, rng or input) is served by vdm_vhost_user; the input is a stream of
 * front-end messages (any request, flags, payload and file descriptors),
 * ring kicks, front-end disconnects and driver traffic on the rings the
 * messages described (fuzz_dev.h).
 *
 * File descriptors are fake: every descriptor a message carries is a fresh
 * number, standing for one of the fuzz_mem regions as a "memory file"
 * (which the map hook maps onto that region) or for an eventfd. The hooks
 * check ownership: the library may only map, signal, watch or close a
 * descriptor it was given and has not closed, must close each exactly once
 * (by the end of the input, after vdm_vhost_user_reset()), and must unmap
 * exactly what it mapped.
 *
 * Hosted test code, not part of the library.
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/vhost_user.h"

#define NRINGS   4u
#define FD_BASE  1000
#define FD_MAX   (FD_BASE + 16384)
#define MAPS_MAX 512u

enum { FD_FREE = 0, FD_OWNED, FD_CLOSED };

struct map {
    void *hva;
    uint64_t off, len;
};

static struct {
    struct vdm_vhost_user vu;
    struct vdm_vhost_user_ring rings[NRINGS];
    struct vdm_vhost_user_ops ops;
    struct vdm_dev *dev;
    uint8_t fdstate[FD_MAX - FD_BASE];
    uint8_t fdfile[FD_MAX - FD_BASE]; /* 0..5 memory file, else eventfd */
    int32_t next_fd;
    struct map maps[MAPS_MAX];
    unsigned nmaps;
    uint8_t msg[VDM_VHOST_USER_MAX_MSG + 16];
    uint8_t reply[VDM_VHOST_USER_MAX_MSG];
    unsigned long st_msg, st_ok, st_signal, st_map, st_drain;
    int drain_arm; /* the drain hook answers VDM_EAGAIN once per message */
    alignas(64) uint8_t ift[64 * 1024]; /* inflight regions the host makes */
} U;

static uint8_t *fdst(int32_t fd)
{
    FZ_CHECK(fd >= FD_BASE && fd < U.next_fd,
             "hook called with file descriptor %d never handed over", fd);
    return &U.fdstate[fd - FD_BASE];
}

static void check_owned(int32_t fd, const char *what)
{
    uint8_t *s = fdst(fd);
    FZ_CHECK(*s == FD_OWNED, "%s on file descriptor %d already closed", what,
             fd);
}

static int vmap(void *host, int32_t fd, uint64_t offset, uint64_t len,
                void **hva)
{
    (void)host;
    check_owned(fd, "map");
    unsigned file = U.fdfile[fd - FD_BASE];
    uint64_t size = 0;
    uint8_t *base = fm_file(file, &size);
    if (!base || len == 0 || offset > size || len > size - offset ||
        U.nmaps == MAPS_MAX)
        return VDM_EINVAL;
    *hva = base + offset;
    U.maps[U.nmaps++] = (struct map){base + offset, offset, len};
    U.st_map++;
    return 0;
}

static void vunmap(void *host, void *hva, uint64_t offset, uint64_t len)
{
    (void)host;
    for (unsigned i = 0; i < U.nmaps; i++) {
        if (U.maps[i].hva == hva && U.maps[i].off == offset &&
            U.maps[i].len == len) {
            U.maps[i] = U.maps[--U.nmaps];
            return;
        }
    }
    FZ_CHECK(0, "unmap of %p (+%llu, %llu bytes) that was not mapped", hva,
             (unsigned long long)offset, (unsigned long long)len);
}

/* GET_INFLIGHT_FD: a zero-filled region of the host's (unmapped through
 * vunmap like the others). */
static int vift_alloc(void *host, uint64_t len, int32_t *fd, void **hva)
{
    (void)host;
    if (len == 0 || len > sizeof(U.ift) || U.nmaps == MAPS_MAX)
        return VDM_ENOSPC;
    for (unsigned i = 0; i < U.nmaps; i++)
        FZ_CHECK(U.maps[i].hva != U.ift, "inflight region allocated twice");
    memset(U.ift, 0, (size_t)len);
    U.maps[U.nmaps++] = (struct map){U.ift, 0, len};
    *fd = 0x7fff; /* the host's: sent with the reply, never the library's */
    *hva = U.ift;
    return 0;
}

/* Draining: each disruptive message is first refused (VDM_EAGAIN), the
 * host completes what it holds and hands the same message in again. */
static int vdrain(void *host, uint16_t q)
{
    (void)host;
    (void)q;
    if (!U.drain_arm)
        return 0;
    U.drain_arm = 0;
    U.st_drain++;
    return VDM_EAGAIN;
}

static void vsignal(void *host, int32_t fd)
{
    (void)host;
    check_owned(fd, "signal");
    U.st_signal++;
}

static void vclose(void *host, int32_t fd)
{
    (void)host;
    check_owned(fd, "close");
    U.fdstate[fd - FD_BASE] = FD_CLOSED;
}

static void vwatch(void *host, uint16_t q, int32_t fd)
{
    (void)host;
    FZ_CHECK(q < NRINGS, "watch_kick for ring %u", q);
    if (fd != VDM_VHOST_USER_NO_FD && fd != VDM_VHOST_USER_FD_POLL)
        check_owned(fd, "watch_kick");
}

static int vsend(void *host, int32_t fd, const void *msg, uint32_t len)
{
    (void)host;
    check_owned(fd, "backend_send");
    FZ_CHECK(msg != NULL && len >= VDM_VHOST_USER_HDR_BYTES &&
                 len <= VDM_VHOST_USER_MAX_MSG,
             "backend message of %u bytes", len);
    uint32_t size;
    memcpy(&size, (const uint8_t *)msg + 8, 4);
    FZ_CHECK(size == len - VDM_VHOST_USER_HDR_BYTES,
             "backend message size field %u, %u bytes", size, len);
    return (fd & 3) == 3 ? VDM_EIO : 0;
}

static void vlog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG,
             "bad log call");
}

/* The driver simulator sees guest memory through the fuzz_mem layout; if
 * the front-end's table says otherwise its view is not the truth. */
static void check_table(void)
{
    const struct vdm_mem *m = vdm_vhost_user_mem(&U.vu);
    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct vdm_mem_region *r = &m->regions[i];
        if (r->size == 0)
            continue;
        if (fm_hva(r->gpa, r->size) != r->hva)
            fd_taint();
    }
}

static void do_msg(struct fz *f)
{
    uint32_t req = fz_u8(f);
    uint32_t flags = fz_u8(f);
    uint16_t plen = fz_u16(f);
    unsigned nfds = fz_u8(f) % (VDM_VHOST_USER_MAX_FDS + 2);
    int32_t fds[VDM_VHOST_USER_MAX_FDS + 2];
    int trunc = plen & 0x8000;

    plen &= 0x1fff;
    if (plen > VDM_VHOST_USER_MAX_PAYLOAD + 8)
        plen = VDM_VHOST_USER_MAX_PAYLOAD + 8;
    for (unsigned i = 0; i < nfds; i++) {
        uint8_t file = fz_u8(f);
        if (U.next_fd >= FD_MAX) {
            nfds = i;
            break;
        }
        fds[i] = U.next_fd++;
        U.fdstate[fds[i] - FD_BASE] = FD_OWNED;
        U.fdfile[fds[i] - FD_BASE] = file;
    }
    memcpy(U.msg, &req, 4);
    memcpy(U.msg + 4, &flags, 4);
    uint32_t sz = plen;
    memcpy(U.msg + 8, &sz, 4);
    fz_bytes(f, U.msg + 12, plen);
    uint32_t len = 12u + plen - (trunc && plen ? 1u : 0u);
    uint32_t rlen = 0xffffffffu;
    U.drain_arm = 1;
    int rc = vdm_vhost_user_handle(&U.vu, U.msg, len, nfds ? fds : NULL, nfds,
                                   U.reply, sizeof(U.reply), &rlen);
    if (rc == VDM_EAGAIN) {
        /* nothing happened: no reply, every descriptor still ours */
        FZ_CHECK(rlen == 0, "reply of %u bytes with VDM_EAGAIN", rlen);
        for (unsigned i = 0; i < nfds; i++)
            FZ_CHECK(U.fdstate[fds[i] - FD_BASE] == FD_OWNED,
                     "descriptor %d taken although the message waits",
                     fds[i]);
        fd_complete_all();
        fd_poll();
        rlen = 0xffffffffu;
        rc = vdm_vhost_user_handle(&U.vu, U.msg, len, nfds ? fds : NULL, nfds,
                                   U.reply, sizeof(U.reply), &rlen);
    }
    U.drain_arm = 0;
    U.st_msg++;
    if (fz_trace())
        fprintf(stderr, "  %s (%u bytes, %u fds): %d, reply %u\n",
                vdm_vhost_user_request_name(req), plen, nfds, rc, rlen);
    if (rc == 0)
        U.st_ok++;
    FZ_CHECK(rlen <= sizeof(U.reply), "reply of %u bytes", rlen);
    if (rlen > 0) {
        uint32_t rreq, rfl, rsz;
        FZ_CHECK(rlen >= 12, "reply of %u bytes", rlen);
        memcpy(&rreq, U.reply, 4);
        memcpy(&rfl, U.reply + 4, 4);
        memcpy(&rsz, U.reply + 8, 4);
        FZ_CHECK(rreq == req, "reply to %u names request %u", req, rreq);
        FZ_CHECK((rfl & VDM_VHOST_USER_F_REPLY) &&
                     (rfl & VDM_VHOST_USER_VERSION_MASK) ==
                         VDM_VHOST_USER_VERSION,
                 "reply flags %#x", rfl);
        FZ_CHECK(rsz == rlen - 12, "reply size field %u for %u bytes", rsz,
                 rlen);
    }
    /* Every descriptor is the library's now: kept or closed, never lost
     * track of (checked at the end). */
    check_table();
    fd_poll();
}

static void vu_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    (void)value;
    int rc = vdm_vhost_user_kick(&U.vu, q);
    FZ_CHECK(rc == 0 || rc == VDM_ESTATE || rc == VDM_ERANGE, "kick %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    unsigned kind = fz_u8(&f) % FZ_KIND_COUNT;
    uint8_t cb = fz_u8(&f);
    uint16_t qmax = (uint16_t)(1u << (fz_u8(&f) % 7));
    uint8_t poff = fz_u8(&f);

    fm_reset(0, 0);
    fm_accept_alias(1);
    memset(&U, 0, sizeof(U));
    U.next_fd = FD_BASE;
    U.ops = (struct vdm_vhost_user_ops){.size = sizeof(U.ops),
                                        .map = vmap,
                                        .unmap = vunmap,
                                        .signal = vsignal,
                                        .close = vclose,
                                        .watch_kick = vwatch,
                                        .backend_send =
                                            (poff & 0x80) ? NULL : vsend,
                                        .log = vlog,
                                        .inflight_alloc = vift_alloc,
                                        .drain = vdrain};
    struct vdm_vhost_user_config vc = {
        .size = sizeof(vc),
        .num_rings = NRINGS,
        .rings = U.rings,
        .ops = &U.ops,
        .protocol_features_off = (poff & 0x40) ? (poff & 0x3f) << 10 : 0};
    int rc = vdm_vhost_user_init(&U.vu, &vc);
    FZ_CHECK(rc == 0, "vhost-user init %d", rc);
    U.dev = fd_create(kind, cb, qmax, vdm_vhost_user_mem(&U.vu));
    rc = vdm_vhost_user_attach(&U.vu, U.dev);
    FZ_CHECK(rc == 0, "vhost-user attach %d", rc);
    fd_set_notify(vu_notify, NULL);
    fd_set_lenient(1);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 2048) {
        unsigned op = fz_u8(&f) % VU_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u status %#x\n", ops, op,
                    vdm_dev_status(U.dev));
        switch (op) {
        case VU_OP_MSG: do_msg(&f); break;
        case VU_OP_KICK: {
            uint8_t q = fz_u8(&f);
            vu_notify(NULL, q % (NRINGS + 1), 0);
            fd_poll();
            break;
        }
        case VU_OP_DEV: fd_dev_op(&f); break;
        default:
            vdm_vhost_user_reset(&U.vu);
            check_table();
            fd_poll();
            break;
        }
        for (uint16_t q = 0; q < NRINGS; q++)
            FZ_CHECK(!vdm_vhost_user_queue_ready(&U.vu, q) ||
                         vdm_dev_live(U.dev),
                     "ring %u ready in a device that is not live", q);
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr,
                "vhost-user: %lu messages (%lu ok), %lu maps, %lu signals; "
                "%s\n",
                U.st_msg, U.st_ok, U.st_map, U.st_signal, buf);
    }
    /* The front-end goes away: everything must be given back. */
    fd_complete_all();
    vdm_vhost_user_reset(&U.vu);
    fd_finish();
    FZ_CHECK(U.nmaps == 0, "%u region mapping(s) left after reset", U.nmaps);
    for (int32_t fd = FD_BASE; fd < U.next_fd; fd++)
        FZ_CHECK(U.fdstate[fd - FD_BASE] == FD_CLOSED,
                 "file descriptor %d never closed", fd);
    return 0;
}
