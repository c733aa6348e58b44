/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-blk (fuzz_dev.h). The host holds requests
 * asynchronously, completes them inside the call, fails them or
 * alternates; completions after a reset must be recognised as stale. */
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_mem.h"
#include "vdm/devices/blk.h"

#define BLK_CAPACITY 64u /* sectors */
#define BLK_IOV_MAX  8u
#define PENDING_MAX  512u

struct pend {
    void *token;
    uint16_t q;
    uint32_t epoch;
};

static struct {
    struct vdm_blk blk;
    struct vdm_blk_ops bops;
    struct vdm_blk_config bcfg;
    struct vdm_blk_req reqs[VDM_BLK_REQS(FD_MAXQ, FD_QMAX)];
    struct vdm_iov iovs[VDM_BLK_IOVS(FD_MAXQ, FD_QMAX, BLK_IOV_MAX)];
    struct pend pend[PENDING_MAX];
    unsigned npend;
    unsigned blk_mode; /* 0 async, 1 complete inside, 2 fail, 3 alternate */
    unsigned blk_alt;
    int blk_kick;
    uint64_t capacity;
} B;

static int blk_accept(void *token)
{
    int q = vdm_blk_token_queue(&B.blk, token);
    FZ_CHECK(q >= 0 && q < (int)fd_num_queues(), "token queue %d", q);
    unsigned m = B.blk_mode == 3 ? (B.blk_alt++ % 3) : B.blk_mode;
    if (m == 2)
        return VDM_EIO;
    if (m == 1) {
        int rc = vdm_blk_complete(&B.blk, token, VDM_BLK_S_OK);
        FZ_CHECK(rc == 0, "completion inside the host call: %d", rc);
        return 0;
    }
    if (B.npend == PENDING_MAX)
        return VDM_EIO;
    B.pend[B.npend++] =
        (struct pend){token, (uint16_t)q, fd_queue_epoch((unsigned)q)};
    return 0;
}

static void range_check(uint64_t sector, uint64_t nsect, const char *what)
{
    FZ_CHECK(sector <= B.capacity && nsect <= B.capacity - sector,
             "%s of %llu sectors at %llu beyond capacity %llu", what,
             (unsigned long long)nsect, (unsigned long long)sector,
             (unsigned long long)B.capacity);
}

static int blk_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                    uint32_t n, void *token)
{
    uint64_t total;
    (void)host;
    fd_spans_check(iov, n, 1, &total);
    FZ_CHECK(total % VDM_BLK_SECTOR_SIZE == 0, "read of %llu bytes",
             (unsigned long long)total);
    range_check(sector, total / VDM_BLK_SECTOR_SIZE, "read");
    for (uint32_t i = 0; i < n; i++)
        memset(iov[i].base, (int)(sector & 0xff), iov[i].len);
    return blk_accept(token);
}

static int blk_write(void *host, uint64_t sector, const struct vdm_iov *iov,
                     uint32_t n, void *token)
{
    uint64_t total;
    volatile uint8_t sink = 0;
    (void)host;
    FZ_CHECK(!(B.bcfg.flags & VDM_BLK_RO), "write on a read-only device");
    fd_spans_check(iov, n, 0, &total);
    FZ_CHECK(total % VDM_BLK_SECTOR_SIZE == 0, "write of %llu bytes",
             (unsigned long long)total);
    range_check(sector, total / VDM_BLK_SECTOR_SIZE, "write");
    for (uint32_t i = 0; i < n; i++)
        sink ^= ((const uint8_t *)iov[i].base)[iov[i].len - 1];
    (void)sink;
    return blk_accept(token);
}

static int blk_flush(void *host, void *token)
{
    (void)host;
    return blk_accept(token);
}

static int blk_discard(void *host, uint64_t sector, uint32_t nsect, void *token)
{
    (void)host;
    FZ_CHECK(nsect > 0, "discard of 0 sectors");
    range_check(sector, nsect, "discard");
    return blk_accept(token);
}

static int blk_wz(void *host, uint64_t sector, uint32_t nsect, uint32_t unmap,
                  void *token)
{
    (void)host;
    FZ_CHECK(nsect > 0 && unmap <= 1, "write zeroes %u sectors unmap %u", nsect,
             unmap);
    range_check(sector, nsect, "write zeroes");
    return blk_accept(token);
}

static void blk_set_wb(void *host, uint32_t wb)
{
    (void)host;
    FZ_CHECK(wb <= 1, "writeback %u", wb);
}

static void blk_kick_hook(void *host, uint16_t q)
{
    (void)host;
    FZ_CHECK(q < fd_num_queues(), "kick for queue %u", q);
}

static void blk_complete_at(unsigned i, int status)
{
    struct pend p = B.pend[i];
    B.pend[i] = B.pend[--B.npend];
    int rc = vdm_blk_complete(&B.blk, p.token, status);
    if (p.epoch == fd_queue_epoch(p.q) && !fd_lenient())
        FZ_CHECK(rc == 0, "completion of a live request: %d", rc);
    else
        FZ_CHECK(rc == 0 || rc == VDM_ESTATE, "completion after a reset: %d",
                 rc);
}

static int blk_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    memset(&B, 0, sizeof(B));
    base->num_queues = (cb & 0x40) ? 2 : 1;
    B.bops = (struct vdm_blk_ops){.size = sizeof(B.bops),
                                  .read = blk_read,
                                  .write = blk_write,
                                  .flush = blk_flush,
                                  .discard = blk_discard,
                                  .write_zeroes = blk_wz,
                                  .set_writeback = blk_set_wb,
                                  .kick = (cb & 0x08) ? blk_kick_hook : NULL};
    B.blk_kick = !!(cb & 0x08);
    B.capacity = BLK_CAPACITY;
    B.bcfg = (struct vdm_blk_config){.size = sizeof(B.bcfg)};
    B.bcfg.capacity = BLK_CAPACITY;
    if (cb & 0x01)
        B.bcfg.flags |= VDM_BLK_RO;
    if (cb & 0x02)
        B.bcfg.flags |= VDM_BLK_FLUSH | VDM_BLK_WCE;
    if ((cb & 0x82) == 0x82)
        B.bcfg.flags |= VDM_BLK_WRITEBACK;
    if (cb & 0x04)
        B.bcfg.flags |=
            VDM_BLK_DISCARD | VDM_BLK_WRITE_ZEROES | VDM_BLK_WZ_MAY_UNMAP;
    if (cb & 0x10) {
        B.bcfg.flags |= VDM_BLK_TOPOLOGY;
        B.bcfg.cylinders = 2;
        B.bcfg.heads = 4;
        B.bcfg.sectors = 8;
        B.bcfg.blk_size = 4096;
        B.bcfg.size_max = 4096;
    }
    B.bcfg.max_discard_seg = 2;
    B.bcfg.max_write_zeroes_seg = 2;
    B.bcfg.max_discard_sectors = 32;
    B.bcfg.iov_per_req = (cb & 0x20) ? 3 : BLK_IOV_MAX;
    memcpy(B.bcfg.serial, "vdm-fuzz-serial-0123", VDM_BLK_ID_BYTES);
    B.bcfg.ops = &B.bops;
    B.bcfg.reqs = B.reqs;
    B.bcfg.iovs = B.iovs;
    return vdm_blk_init(&B.blk, dev, &B.bcfg, base);
}

/* u32 type, u64 sector, u8 segments (discard / write zeroes), 16 bytes
 * each */
static uint32_t blk_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    *type = fz_u32(f);
    uint64_t sector = fz_u64(f);
    unsigned nseg = fz_u8(f) % 5;
    drv_put_le32(req, *type);
    drv_put_le32(req + 4, 0);
    drv_put_le64(req + 8, sector);
    fz_bytes(f, req + 16, 16u * nseg);
    return 16 + 16 * nseg;
}

static void blk_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    (void)q;
    if (u->len == 0)
        return;
    const uint8_t *st = fm_hva(r->status_gpa, 1);
    FZ_CHECK(st != NULL, "status byte not mapped");
    FZ_CHECK(*st <= VDM_BLK_S_UNSUPP,
             "blk status byte %#x (type %u, used len %u)", *st, r->type,
             u->len);
    if (*st != VDM_BLK_S_OK ||
        (r->type != VDM_BLK_T_IN && r->type != VDM_BLK_T_GET_ID))
        FZ_CHECK(u->len == 1, "blk type %u status %u used len %u", r->type, *st,
                 u->len);
    else if (r->type == VDM_BLK_T_IN)
        FZ_CHECK(u->len == r->wlen, "blk read used len %u of %llu", u->len,
                 (unsigned long long)r->wlen);
    else
        FZ_CHECK(u->len >= 1 && u->len <= VDM_BLK_ID_BYTES + 1,
                 "blk get-id used len %u", u->len);
}

static void blk_config_change(uint32_t arg)
{
    B.capacity = arg % 256;
    FZ_CHECK(vdm_blk_set_capacity(&B.blk, B.capacity) == 0, "set_capacity");
}

static void blk_host(uint8_t act, uint32_t arg)
{
    switch (act % 6) {
    case 0:
        if (B.npend) {
            static const int st[5] = {VDM_BLK_S_OK, VDM_BLK_S_IOERR,
                                      VDM_BLK_S_UNSUPP, VDM_EIO, 77};
            blk_complete_at(arg % B.npend, st[(arg >> 16) % 5]);
        }
        break;
    case 1:
        while (B.npend)
            blk_complete_at(B.npend - 1, VDM_BLK_S_OK);
        break;
    case 2: fd_config_change(arg); break;
    case 3: B.blk_mode = arg % 4; break;
    case 4: {
        int rc = vdm_blk_process(&B.blk, (uint16_t)(arg % 4));
        FZ_CHECK(rc == 0 || rc == VDM_ERANGE, "process %d", rc);
        break;
    }
    default: {
        int rc = vdm_blk_complete(&B.blk, &B.pend[arg % PENDING_MAX], 0);
        FZ_CHECK(rc == VDM_EINVAL, "bogus token completed: %d", rc);
        break;
    }
    }
}

static void blk_complete_all(void)
{
    while (B.npend)
        blk_complete_at(B.npend - 1, VDM_BLK_S_OK);
}

static void blk_finish(void)
{
    FZ_CHECK(vdm_blk_in_flight(&B.blk) == 0,
             "%u blk requests still in flight after every completion",
             vdm_blk_in_flight(&B.blk));
}

const struct fuzz_dev_plugin fuzz_dev_blk = {
    .name = "blk",
    .create = blk_create,
    .request = blk_request,
    .check_used = blk_check_used,
    .host = blk_host,
    .config_change = blk_config_change,
    .complete_all = blk_complete_all,
    .finish = blk_finish,
};
