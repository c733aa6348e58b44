/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the vfio-user server message handler. A real device (any
 * fuzzed kind) sits behind the server's virtio-pci function; the input is a
 * stream of client messages (any command, flags, payload and file
 * descriptors), driver traffic on the rings the client programmed through
 * REGION_WRITEs (fuzz_dev.h; its notifications go out as REGION_WRITEs to
 * the notify region), and client disconnects.
 *
 * File descriptors are fake: every descriptor a message carries is a fresh
 * number standing for one of the fuzz_mem regions as a "memory file" (which
 * the map hook maps onto that region) or for an eventfd. The hooks check
 * ownership: the library may only map, signal or close a descriptor it was
 * given and has not closed, must close each exactly once (by the end of the
 * input, after vdm_vfio_user_reset()) and unmap exactly what it mapped.
 * Replies are checked for framing (id and command echoed, Reply type, size
 * field, error replies header-only).
 *
 * DMA regions without a file descriptor reach the device through the
 * server's own DMA_READ / DMA_WRITE requests (bounce spans): the dma hook
 * checks each request the library built (framing, count within
 * VDM_VFIO_USER_MAX_DATA, the address inside guest memory), then answers
 * as the input says: served from / into the fuzz_mem memory, or a reply
 * whose id, command, type, size, error flag, address or count the input
 * chooses, or a failed hook.
 *
 * Hosted test code, not part of the library.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/vfio_user.h"

#define MAXVEC   8u
#define FD_BASE  1000
#define FD_MAX   (FD_BASE + 16384)
#define MAPS_MAX 512u

enum { FD_FREE = 0, FD_OWNED, FD_CLOSED };

struct map {
    void *hva;
    uint64_t len;
};

static struct {
    struct vdm_vfio_user vfu;
    struct vdm_vfio_user_ops ops;
    uint32_t storage[VDM_PCI_STORAGE_WORDS(FD_MAXQ, MAXVEC)];
    struct vdm_dev *dev;
    uint8_t fdstate[FD_MAX - FD_BASE];
    uint8_t fdfile[FD_MAX - FD_BASE];
    int32_t next_fd;
    struct map maps[MAPS_MAX];
    unsigned nmaps;
    uint16_t id;
    uint8_t dirty[256]; /* DMA logging bitmap (DEVICE_FEATURE) */
    uint8_t msg[VDM_VFIO_USER_MAX_MSG + 16];
    uint8_t reply[VDM_VFIO_USER_MAX_MSG];
    alignas(8) uint8_t bounce[VDM_VFIO_USER_DMA_MSG + 65536];
    struct fz *f; /* the input, for the dma hook's answers */
    unsigned long st_dma, st_dma_bad;
    /* where the harness finds the common and notify structures */
    uint32_t common_bar, common_off, notify_bar, notify_off, notify_mult;
    int have_caps;
    unsigned long st_msg, st_ok, st_signal, st_map;
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
                uint32_t access, void **hva)
{
    (void)host;
    check_owned(fd, "map");
    FZ_CHECK((access & ~(uint32_t)(VDM_MEM_READ | VDM_MEM_WRITE)) == 0,
             "map access %#x", access);
    unsigned file = U.fdfile[fd - FD_BASE];
    uint64_t size = 0;
    uint8_t *base = fm_file(file, &size);
    if (!base || len == 0 || offset > size || len > size - offset ||
        U.nmaps == MAPS_MAX)
        return VDM_EINVAL;
    *hva = base + offset;
    U.maps[U.nmaps++] = (struct map){base + offset, len};
    U.st_map++;
    return 0;
}

static void vunmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    for (unsigned i = 0; i < U.nmaps; i++) {
        if (U.maps[i].hva == hva && U.maps[i].len == len) {
            U.maps[i] = U.maps[--U.nmaps];
            return;
        }
    }
    FZ_CHECK(0, "unmap of %p (%llu bytes) that was not mapped", hva,
             (unsigned long long)len);
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

/* The client's side of VFIO_USER_DMA_READ / VFIO_USER_DMA_WRITE. */
static int vdma(void *host, void *msg, uint32_t len, uint32_t cap,
                uint32_t *reply_len)
{
    uint8_t *b = msg;
    uint16_t id, cmd;
    uint32_t size, flags;
    uint64_t addr, count;
    (void)host;
    FZ_CHECK(cap >= VDM_VFIO_USER_DMA_MSG && len >= 32 && len <= cap,
             "dma request of %u bytes in %u", len, cap);
    memcpy(&id, b, 2);
    memcpy(&cmd, b + 2, 2);
    memcpy(&size, b + 4, 4);
    memcpy(&flags, b + 8, 4);
    memcpy(&addr, b + 16, 8);
    memcpy(&count, b + 24, 8);
    FZ_CHECK(size == len && flags == VDM_VFIO_USER_F_TYPE_CMD &&
                 (cmd == VDM_VFIO_USER_DMA_READ ||
                  cmd == VDM_VFIO_USER_DMA_WRITE),
             "dma request header %u/%u/%#x", cmd, size, flags);
    FZ_CHECK(count > 0 && count <= VDM_VFIO_USER_MAX_DATA &&
                 len == 32u + (cmd == VDM_VFIO_USER_DMA_WRITE ? count : 0u),
             "dma request count %llu in %u bytes", (unsigned long long)count,
             len);
    U.st_dma++;
    /* guest memory of the fuzz layout (a map without fd may name any
     * address: then the client has nothing there, an error reply) */
    uint8_t *g = fm_hva(addr, count);
    uint8_t how = fz_u8(U.f);
    uint32_t rsize = VDM_VFIO_USER_HDR_BYTES;
    uint32_t rflags = VDM_VFIO_USER_F_TYPE_REPLY;
    if (g == NULL) {
        rflags |= VDM_VFIO_USER_F_ERROR;
    } else if (cmd == VDM_VFIO_USER_DMA_READ) {
        memcpy(b + 32, g, count);
        rsize = 32u + (uint32_t)count;
    } else {
        memcpy(g, b + 32, count);
        rsize = (how & 0x40) ? 28u : VDM_VFIO_USER_HDR_BYTES;
    }
    if (how >= 0xc0) {
        /* hostile: the input picks a field to spoil */
        U.st_dma_bad++;
        switch (how & 7u) {
        case 0: id = fz_u16(U.f); break;
        case 1: cmd = fz_u8(U.f); break;
        case 2: rsize = fz_u16(U.f); break;
        case 3: rflags = fz_u8(U.f); break;
        case 4: addr += fz_u8(U.f); break;
        case 5: count = fz_u32(U.f); break;
        case 6: return -(int)(fz_u8(U.f) % 14u) - 1;
        default: break;
        }
    }
    memcpy(b, &id, 2);
    memcpy(b + 2, &cmd, 2);
    memcpy(b + 4, &rsize, 4);
    memcpy(b + 8, &rflags, 4);
    memset(b + 12, 0, 4);
    memcpy(b + 16, &addr, 8);
    memcpy(b + 24, &count, 8);
    *reply_len = rsize;
    if (how >= 0xc0 && (how & 7u) == 7u)
        *reply_len = fz_u16(U.f) % (cap + 64u);
    if (*reply_len > cap)
        *reply_len = cap; /* the host never receives more than cap */
    return 0;
}

static void vlog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG,
             "bad log call");
}

/* The driver simulator sees guest memory through the fuzz_mem layout; if
 * the client's maps say otherwise its view is not the truth. */
static void check_table(void)
{
    const struct vdm_mem *m = vdm_vfio_user_mem(&U.vfu);
    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct vdm_mem_region *r = &m->regions[i];
        if (fm_hva(r->gpa, r->size) != r->hva)
            fd_taint();
    }
}

static void check_reply(uint16_t id, uint16_t cmd, int rc, uint32_t rlen)
{
    FZ_CHECK(rlen <= sizeof(U.reply), "reply of %u bytes", rlen);
    if (rlen == 0)
        return;
    uint16_t rid, rcmd;
    uint32_t rsz, rfl;
    FZ_CHECK(rlen >= VDM_VFIO_USER_HDR_BYTES, "reply of %u bytes", rlen);
    memcpy(&rid, U.reply, 2);
    memcpy(&rcmd, U.reply + 2, 2);
    memcpy(&rsz, U.reply + 4, 4);
    memcpy(&rfl, U.reply + 8, 4);
    FZ_CHECK(rid == id && rcmd == cmd, "reply %u/%u to %u/%u", rid, rcmd, id,
             cmd);
    FZ_CHECK(rsz == rlen, "reply size field %u for %u bytes", rsz, rlen);
    FZ_CHECK((rfl & VDM_VFIO_USER_F_TYPE_MASK) == VDM_VFIO_USER_F_TYPE_REPLY,
             "reply flags %#x", rfl);
    FZ_CHECK(((rfl & VDM_VFIO_USER_F_ERROR) != 0) == (rc != 0),
             "error flag %#x for %d", rfl, rc);
    FZ_CHECK(rc == 0 || rlen == VDM_VFIO_USER_HDR_BYTES,
             "error reply of %u bytes", rlen);
}

/* One message through the handler (the harness's own or the input's). */
static int handle(uint16_t cmd, uint32_t flags, uint32_t plen, uint32_t len,
                  const int32_t *fds, unsigned nfds)
{
    uint16_t id = ++U.id;
    uint32_t size = VDM_VFIO_USER_HDR_BYTES + plen;
    uint32_t rlen = 0xffffffffu;
    memcpy(U.msg, &id, 2);
    memcpy(U.msg + 2, &cmd, 2);
    memcpy(U.msg + 4, &size, 4);
    memcpy(U.msg + 8, &flags, 4);
    memset(U.msg + 12, 0, 4);
    int rc = vdm_vfio_user_handle(&U.vfu, U.msg, len, nfds ? fds : NULL, nfds,
                                  U.reply, sizeof(U.reply), &rlen);
    U.st_msg++;
    if (rc == 0)
        U.st_ok++;
    if (fz_trace())
        fprintf(stderr, "  %s (%u bytes, %u fds): %d, reply %u\n",
                vdm_vfio_user_command_name(cmd), plen, nfds, rc, rlen);
    check_reply(id, cmd, rc, rlen);
    check_table();
    return rc;
}

/* A region access as a client sends it; the read value or 0. */
static uint64_t region_rw(uint32_t region, uint64_t off, uint32_t w,
                          uint64_t val, int write)
{
    uint8_t *p = U.msg + VDM_VFIO_USER_HDR_BYTES;
    uint64_t v = 0;
    memcpy(p, &off, 8);
    memcpy(p + 8, &region, 4);
    memcpy(p + 12, &w, 4);
    for (uint32_t i = 0; i < w; i++)
        p[16 + i] = (uint8_t)(val >> (8 * i));
    uint32_t plen = 16 + (write ? w : 0);
    int rc =
        handle(write ? VDM_VFIO_USER_REGION_WRITE : VDM_VFIO_USER_REGION_READ,
               0, plen, VDM_VFIO_USER_HDR_BYTES + plen, NULL, 0);
    if (rc == 0 && !write) {
        for (uint32_t i = 0; i < w; i++)
            v |= (uint64_t)U.reply[VDM_VFIO_USER_HDR_BYTES + 16 + i] << (8 * i);
    }
    return v;
}

static uint32_t cfg_rd(struct vdm_pci *t, uint32_t off, uint32_t w)
{
    uint32_t v = 0;
    (void)vdm_pci_cfg_read(t, off, w, &v);
    return v;
}

/* The structures the harness needs, found once on the host side. */
static void walk_caps(void)
{
    struct vdm_pci *t = vdm_vfio_user_pci(&U.vfu);
    unsigned pos = cfg_rd(t, 0x34, 1) & ~3u, n = 0;
    int common = 0, notify = 0;
    while (pos >= 0x40 && pos < 0x100 && n++ < 48) {
        if (cfg_rd(t, pos, 1) == 0x09) {
            uint32_t type = cfg_rd(t, pos + 3, 1);
            if (type == VDM_PCI_CAP_COMMON_CFG && !common) {
                U.common_bar = cfg_rd(t, pos + 4, 1);
                U.common_off = cfg_rd(t, pos + 8, 4);
                common = 1;
            }
            if (type == VDM_PCI_CAP_NOTIFY_CFG && !notify) {
                U.notify_bar = cfg_rd(t, pos + 4, 1);
                U.notify_off = cfg_rd(t, pos + 8, 4);
                U.notify_mult = cfg_rd(t, pos + 16, 4);
                notify = 1;
            }
        }
        pos = cfg_rd(t, pos + 1, 1) & ~3u;
    }
    U.have_caps = common && notify;
}

/* The simulator kicks a queue: as a driver, over REGION_READ/WRITE. */
static void vfu_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    if (!U.have_caps)
        return;
    uint32_t c = U.common_off;
    uint64_t sel =
        region_rw(U.common_bar, c + VDM_PCI_COMMON_Q_SELECT, 2, 0, 0);
    region_rw(U.common_bar, c + VDM_PCI_COMMON_Q_SELECT, 2, q, 1);
    uint64_t noff = region_rw(U.common_bar, c + VDM_PCI_COMMON_Q_NOFF, 2, 0, 0);
    region_rw(U.common_bar, c + VDM_PCI_COMMON_Q_SELECT, 2, sel, 1);
    int nd = !!(vdm_dev_features(U.dev) & VDM_F_NOTIFICATION_DATA);
    region_rw(U.notify_bar, U.notify_off + noff * U.notify_mult, nd ? 4 : 2,
              nd ? value : q, 1);
}

static void do_msg(struct fz *f)
{
    uint16_t cmd = fz_u8(f);
    uint32_t flags = fz_u8(f);
    uint16_t plen = fz_u16(f);
    unsigned nfds = fz_u8(f) % (VDM_VFIO_USER_MAX_FDS + 2);
    int32_t fds[VDM_VFIO_USER_MAX_FDS + 2];
    int trunc = plen & 0x8000;

    plen &= 0x1fff;
    if (plen > VDM_VFIO_USER_MAX_PAYLOAD + 8)
        plen = VDM_VFIO_USER_MAX_PAYLOAD + 8;
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
    fz_bytes(f, U.msg + VDM_VFIO_USER_HDR_BYTES, plen);
    uint32_t len = VDM_VFIO_USER_HDR_BYTES + plen - (trunc && plen ? 1u : 0u);
    /* the header written by handle() says plen; a truncated length is a
     * framing error the handler must catch */
    (void)handle(cmd, flags, plen, len, fds, nfds);
    fd_poll();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    unsigned kind = fz_u8(&f) % FZ_KIND_COUNT;
    uint8_t cb = fz_u8(&f);
    uint16_t qmax = (uint16_t)(1u << (fz_u8(&f) % 7));
    uint8_t pf = fz_u8(&f);

    fm_reset(0, 0);
    fm_accept_alias(1);
    memset(&U, 0, sizeof(U));
    U.next_fd = FD_BASE;
    U.ops = (struct vdm_vfio_user_ops){.size = sizeof(U.ops),
                                       .map = vmap,
                                       .unmap = vunmap,
                                       .signal = vsignal,
                                       .close = vclose,
                                       .log = vlog,
                                       .dma = vdma};
    struct vdm_vfio_user_config vc = VDM_INIT(struct vdm_vfio_user_config);
    vc.ops = &U.ops;
    vc.dirty_bitmap = U.dirty;
    vc.dirty_bytes = sizeof(U.dirty);
    U.f = &f;
#if VDM_CONFIG_MEM_HOOKS
    vc.bounce = U.bounce;
    vc.bounce_size = sizeof(U.bounce);
#endif
    int rc = vdm_vfio_user_init(&U.vfu, &vc);
    FZ_CHECK(rc == 0, "vfio-user init %d", rc);
    U.dev = fd_create(kind, cb, qmax, vdm_vfio_user_mem(&U.vfu));
    struct vdm_pci_config pc = VDM_INIT(struct vdm_pci_config);
    pc.msix_vectors = (uint16_t)(pf % (MAXVEC + 1));
    pc.flags = (pf & 0x10) ? VDM_PCI_F_NO_INTX : 0;
    pc.storage = U.storage;
    pc.storage_words = (uint32_t)(sizeof(U.storage) / sizeof(U.storage[0]));
    rc = vdm_vfio_user_attach(&U.vfu, U.dev, &pc);
    FZ_CHECK(rc == 0, "vfio-user attach %d", rc);
    walk_caps();
    fd_set_notify(vfu_notify, NULL);
    fd_set_lenient(1);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 2048) {
        unsigned op = fz_u8(&f) % VFU_OP_COUNT;
        switch (op) {
        case VFU_OP_MSG: do_msg(&f); break;
        case VFU_OP_DEV: fd_dev_op(&f); break;
        default:
            vdm_vfio_user_reset(&U.vfu);
            FZ_CHECK(U.nmaps == 0, "%u mapping(s) left after a disconnect",
                     U.nmaps);
            check_table();
            fd_poll();
            break;
        }
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr,
                "vfio-user: %lu messages (%lu ok), %lu maps, %lu signals, "
                "%lu DMA requests (%lu spoilt); %s\n",
                U.st_msg, U.st_ok, U.st_map, U.st_signal, U.st_dma,
                U.st_dma_bad, buf);
    }
    /* The client goes away: everything must be given back. */
    fd_complete_all();
    vdm_vfio_user_reset(&U.vfu);
    fd_finish();
    FZ_CHECK(U.nmaps == 0, "%u region mapping(s) left after reset", U.nmaps);
    for (int32_t fd = FD_BASE; fd < U.next_fd; fd++)
        FZ_CHECK(U.fdstate[fd - FD_BASE] == FD_CLOSED,
                 "file descriptor %d never closed", fd);
    return 0;
}
