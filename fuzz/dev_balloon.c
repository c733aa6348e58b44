/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-balloon (fuzz_dev.h). The config byte picks the
 * offered features (at most FD_MAXQ queues); requests are PFN arrays (near
 * guest memory or anywhere), stats arrays or free page command ids; the
 * host moves the target, asks for stats, starts and ends hinting. Every
 * range handed to the host must be guest memory, every used length 0. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/balloon.h"
#include "vdm/le.h"

static struct {
    struct vdm_balloon b;
    struct vdm_balloon_ops ops;
    uint32_t cmd_id;
} B;

static void bal_check_range(uint64_t gpa, void *hva, uint64_t len, int write)
{
    struct vdm_iov v = {hva, (uint32_t)len, 0};
    uint64_t total;

    (void)gpa;
    FZ_CHECK(hva != NULL && len != 0 && len <= UINT32_MAX, "range %p+%llu", hva,
             (unsigned long long)len);
    fd_spans_check(&v, 1, write, &total);
}

static int bal_release(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    (void)host;
    FZ_CHECK(len % VDM_BALLOON_PAGE_BYTES == 0 &&
                 gpa % VDM_BALLOON_PAGE_BYTES == 0,
             "release not whole pages");
    bal_check_range(gpa, hva, len, 1);
    return (len & 0x1000) ? VDM_EIO : 0;
}

static int bal_acquire(void *host, uint64_t gpa, void *hva, uint64_t len)
{
    (void)host;
    FZ_CHECK(len % VDM_BALLOON_PAGE_BYTES == 0, "acquire not whole pages");
    bal_check_range(gpa, hva, len, 1);
    return 0;
}

static void bal_stats(void *host, uint32_t valid, const uint64_t *val)
{
    (void)host;
    (void)val;
    FZ_CHECK(valid < (1u << VDM_BALLOON_S_NR), "stats mask %x", valid);
}

static void bal_hint(void *host, uint32_t id, uint64_t gpa, void *hva,
                     uint64_t len)
{
    (void)host;
    FZ_CHECK(id >= 2, "hint under reserved id %u", id);
    if (len != 0)
        bal_check_range(gpa, hva, len, 1);
}

static void bal_report(void *host, uint64_t gpa, void *hva, uint64_t len,
                       uint32_t flags)
{
    (void)host;
    (void)flags;
    bal_check_range(gpa, hva, len, 1);
}

static int bal_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    struct vdm_balloon_config c = {.size = sizeof(c)};
    uint64_t f = cb & VDM_BALLOON_F_ALL;

    memset(&B, 0, sizeof(B));
    /* Five queues with every optional one: drop reporting (FD_MAXQ 4). */
    if ((f & (VDM_BALLOON_F_STATS_VQ | VDM_BALLOON_F_FREE_PAGE_HINT |
              VDM_BALLOON_F_REPORTING)) ==
        (VDM_BALLOON_F_STATS_VQ | VDM_BALLOON_F_FREE_PAGE_HINT |
         VDM_BALLOON_F_REPORTING))
        f &= (cb & 0x40) ? ~VDM_BALLOON_F_REPORTING : ~VDM_BALLOON_F_STATS_VQ;
    base->num_queues = (uint16_t)(2 + !!(f & VDM_BALLOON_F_STATS_VQ) +
                                  !!(f & VDM_BALLOON_F_FREE_PAGE_HINT) +
                                  !!(f & VDM_BALLOON_F_REPORTING));
    B.ops = (struct vdm_balloon_ops){.size = sizeof(B.ops),
                                     .release = bal_release,
                                     .acquire = bal_acquire,
                                     .stats = bal_stats,
                                     .hint = bal_hint,
                                     .report = bal_report};
    c.features = f;
    c.num_pages = 16;
    c.ops = (cb & 0x80) ? NULL : &B.ops;
    return vdm_balloon_init(&B.b, dev, &c, base);
}

/* A request: mode byte, then PFNs (near the first region or raw), stats
 * entries, or a command id (the current one, STOP, or raw). */
static uint32_t bal_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t mode = fz_u8(f);
    uint32_t n = fz_u8(f);
    const struct vdm_mem *m = vdm_dev_mem(fd_dev());
    uint64_t base = (m && m->nregions) ? m->regions[0].gpa : 0;
    uint32_t len = 0;

    *type = mode % 4u;
    switch (mode % 4u) {
    case 0: /* PFNs near guest memory */
        n %= FD_REQ_MAX / 4u + 1u;
        for (uint32_t i = 0; i < n; i++)
            vdm_put_le32(req + 4u * i,
                         (uint32_t)(base / VDM_BALLOON_PAGE_BYTES) +
                             (uint32_t)fz_u16(f) - 16u);
        len = 4u * n;
        break;
    case 1: /* raw bytes: PFNs anywhere, odd lengths */
        len = n % (FD_REQ_MAX + 1u);
        fz_bytes(f, req, len);
        break;
    case 2: /* stats entries */
        n %= FD_REQ_MAX / VDM_BALLOON_STAT_BYTES + 1u;
        for (uint32_t i = 0; i < n; i++) {
            vdm_put_le16(req + 10u * i, fz_u8(f) % 12u);
            vdm_put_le64(req + 10u * i + 2u, fz_u64(f));
        }
        len = 10u * n;
        break;
    default: /* free page command id */
        vdm_put_le32(req, (n & 1u)   ? B.cmd_id
                          : (n & 2u) ? VDM_BALLOON_CMD_ID_STOP
                                     : fz_u32(f));
        len = (n & 4u) ? 4u : (n >> 3) % 9u;
        break;
    }
    return len;
}

static void bal_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    (void)r;
    FZ_CHECK(u->len == 0, "balloon queue %u used len %u", q, u->len);
}

static void bal_host(uint8_t act, uint32_t arg)
{
    int rc;
    switch (act % 5u) {
    case 0: rc = vdm_balloon_set_target(&B.b, arg); break;
    case 1: rc = vdm_balloon_stats_request(&B.b); break;
    case 2: rc = vdm_balloon_hint_start(&B.b, &B.cmd_id); break;
    case 3:
        rc = vdm_balloon_hint_end(&B.b, arg & 1u);
        FZ_CHECK(rc == 0 || rc == VDM_ESTATE, "hint end %d", rc);
        return;
    default: {
        struct vdm_balloon_counters c = {.size = sizeof(c)};
        rc = vdm_balloon_counters(&B.b, &c);
        (void)vdm_balloon_poison(&B.b, NULL);
        (void)vdm_balloon_actual(&B.b);
        for (uint16_t q = 0; q < 6; q++) {
            uint32_t role = vdm_balloon_queue_role(&B.b, q);
            FZ_CHECK(role == VDM_BALLOON_Q_NONE ||
                         vdm_balloon_queue_index(&B.b, role) == q,
                     "queue %u role %u", q, role);
        }
        break;
    }
    }
    FZ_CHECK(rc >= 0 || rc == VDM_ESTATE, "balloon host act %u: %d", act % 5u,
             rc);
}

const struct fuzz_dev_plugin fuzz_dev_balloon = {
    .name = "balloon",
    .create = bal_create,
    .request = bal_request,
    .check_used = bal_check_used,
    .host = bal_host,
};
