/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzzed devices and their driver side: see fuzz_dev.h. */
#include "fuzz_dev.h"

#include <stdio.h>
#include <string.h>

#include "fuzz_mem.h"
#include "vdm/devices/blk.h"
#include "vdm/devices/input.h"
#include "vdm/devices/rng.h"

#define BLK_CAPACITY 64u /* sectors */
#define BLK_IOV_MAX  8u
#define PENDING_MAX  512u
#define INPUT_RING   16u

/* What the harness remembers of one buffer it added. */
struct rec {
    uint8_t valid;
    uint8_t checkable; /* every part fresh memory: contents are ours */
    uint32_t type;     /* blk request type */
    uint64_t status_gpa;
    uint64_t wlen;
    uint32_t nin;
};

struct fq {
    struct drv_vq dq;
    int live;
    int clean;
    uint32_t epoch; /* bumped when the device drops the queue */
    uint16_t num;
    uint64_t feat;
    uint64_t a[3];
    struct rec recs[FD_QMAX];
};

struct pend {
    void *token;
    uint16_t q;
    uint32_t epoch;
};

static struct {
    unsigned kind;
    uint16_t nq, qmax;
    struct vdm_dev dev;
    struct vdm_vq queues[FD_MAXQ];
    uint32_t slots[VDM_DEV_SLOTS(FD_MAXQ, FD_QMAX)];
    struct vdm_host_ops hops;
    struct vdm_dev_config base;
    fd_notify_fn notify;
    void *notify_ctx;
    int tainted;
    int lenient;
    uint8_t last_status;
    struct fq fq[FD_MAXQ];

    /* blk */
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

    /* rng */
    struct vdm_rng rng;
    struct vdm_rng_ops rops;
    unsigned rng_mode;

    /* input */
    struct vdm_input in;
    struct vdm_input_ops iops;
    struct vdm_input_config icfg;
    struct vdm_input_event iring[INPUT_RING];

    unsigned long st_add, st_reap, st_kick, st_host, st_logs;
} D;

static void hlog(void *host, int level, const char *msg)
{
    (void)host;
    FZ_CHECK(msg != NULL && strlen(msg) < 1000, "bad log message");
    FZ_CHECK(level >= VDM_LOG_ERROR && level <= VDM_LOG_DEBUG, "log level %d",
             level);
    D.st_logs++;
    if (fz_trace())
        fprintf(stderr, "  log %d: %s\n", level, msg);
}

static void hnotify_queue(void *host, uint16_t q)
{
    (void)host;
    FZ_CHECK(q < D.nq, "notification for queue %u of %u", q, D.nq);
}

static void hnotify_config(void *host)
{
    (void)host;
}

/* ---- host backends ----------------------------------------------------- */

static void spans_check(const struct vdm_iov *iov, uint32_t n, int write,
                        uint64_t *total)
{
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        FZ_CHECK(fm_span_ok(iov[i].base, iov[i].len, write),
                 "span %u (%p, %u) handed to the host is not guest memory "
                 "the device may %s",
                 i, iov[i].base, iov[i].len, write ? "write" : "read");
        *total += iov[i].len;
    }
}

static int blk_accept(void *token)
{
    int q = vdm_blk_token_queue(&D.blk, token);
    FZ_CHECK(q >= 0 && q < (int)D.nq, "token queue %d", q);
    unsigned m = D.blk_mode == 3 ? (D.blk_alt++ % 3) : D.blk_mode;
    if (m == 2)
        return VDM_EIO;
    if (m == 1) {
        int rc = vdm_blk_complete(&D.blk, token, VDM_BLK_S_OK);
        FZ_CHECK(rc == 0, "completion inside the host call: %d", rc);
        return 0;
    }
    if (D.npend == PENDING_MAX)
        return VDM_EIO;
    D.pend[D.npend++] = (struct pend){token, (uint16_t)q, D.fq[q].epoch};
    return 0;
}

static void range_check(uint64_t sector, uint64_t nsect, const char *what)
{
    FZ_CHECK(sector <= D.capacity && nsect <= D.capacity - sector,
             "%s of %llu sectors at %llu beyond capacity %llu", what,
             (unsigned long long)nsect, (unsigned long long)sector,
             (unsigned long long)D.capacity);
}

static int blk_read(void *host, uint64_t sector, const struct vdm_iov *iov,
                    uint32_t n, void *token)
{
    uint64_t total;
    (void)host;
    spans_check(iov, n, 1, &total);
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
    FZ_CHECK(!(D.bcfg.flags & VDM_BLK_RO), "write on a read-only device");
    spans_check(iov, n, 0, &total);
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
    FZ_CHECK(q < D.nq, "kick for queue %u", q);
}

static void blk_complete_at(unsigned i, int status)
{
    struct pend p = D.pend[i];
    D.pend[i] = D.pend[--D.npend];
    int rc = vdm_blk_complete(&D.blk, p.token, status);
    if (p.epoch == D.fq[p.q].epoch && !D.lenient)
        FZ_CHECK(rc == 0, "completion of a live request: %d", rc);
    else
        FZ_CHECK(rc == 0 || rc == VDM_ESTATE, "completion after a reset: %d",
                 rc);
}

static int rng_fill(void *host, void *buf, uint32_t len)
{
    (void)host;
    FZ_CHECK(len > 0, "fill of 0 bytes");
    switch (D.rng_mode) {
    case 0:
        memset(buf, 0x5a, len);
        return (int)(len > 0x7fffffff ? 0x7fffffff : len);
    case 1: memset(buf, 0x5a, len / 2); return (int)(len / 2);
    case 2: return 0;
    case 3: return VDM_EAGAIN;
    default: return VDM_EIO;
    }
}

static void input_status(void *host, uint16_t type, uint16_t code,
                         uint32_t value)
{
    (void)host;
    (void)type;
    (void)code;
    (void)value;
}

/* ---- creation ---------------------------------------------------------- */

struct vdm_dev *fd_create(unsigned kind, uint8_t cb, uint16_t qmax,
                          const struct vdm_mem *mem)
{
    int rc = 0;
    for (unsigned q = 0; q < FD_MAXQ; q++) {
        if (D.fq[q].live)
            drv_vq_fini(&D.fq[q].dq);
    }
    memset(&D, 0, sizeof(D));
    D.kind = kind % FZ_KIND_COUNT;
    D.qmax = qmax == 0 ? 1 : qmax > FD_QMAX ? FD_QMAX : qmax;
    D.hops = (struct vdm_host_ops){.size = sizeof(D.hops),
                                   .notify_queue = hnotify_queue,
                                   .notify_config = hnotify_config,
                                   .log = hlog};
    D.base = (struct vdm_dev_config){.size = sizeof(D.base)};
    D.base.queue_size_max = D.qmax;
    D.base.mem = mem ? mem : fm_mem();
    D.base.ops = &D.hops;
    D.base.queues = D.queues;
    D.base.slots = D.slots;
    switch (D.kind) {
    case FZ_KIND_BLK:
        D.nq = (cb & 0x40) ? 2 : 1;
        D.base.num_queues = D.nq;
        D.bops =
            (struct vdm_blk_ops){.size = sizeof(D.bops),
                                 .read = blk_read,
                                 .write = blk_write,
                                 .flush = blk_flush,
                                 .discard = blk_discard,
                                 .write_zeroes = blk_wz,
                                 .set_writeback = blk_set_wb,
                                 .kick = (cb & 0x08) ? blk_kick_hook : NULL};
        D.blk_kick = !!(cb & 0x08);
        D.capacity = BLK_CAPACITY;
        D.bcfg = (struct vdm_blk_config){.size = sizeof(D.bcfg)};
        D.bcfg.capacity = BLK_CAPACITY;
        if (cb & 0x01)
            D.bcfg.flags |= VDM_BLK_RO;
        if (cb & 0x02)
            D.bcfg.flags |= VDM_BLK_FLUSH | VDM_BLK_WCE;
        if ((cb & 0x82) == 0x82)
            D.bcfg.flags |= VDM_BLK_WRITEBACK;
        if (cb & 0x04)
            D.bcfg.flags |=
                VDM_BLK_DISCARD | VDM_BLK_WRITE_ZEROES | VDM_BLK_WZ_MAY_UNMAP;
        if (cb & 0x10) {
            D.bcfg.flags |= VDM_BLK_TOPOLOGY;
            D.bcfg.cylinders = 2;
            D.bcfg.heads = 4;
            D.bcfg.sectors = 8;
            D.bcfg.blk_size = 4096;
            D.bcfg.size_max = 4096;
        }
        D.bcfg.max_discard_seg = 2;
        D.bcfg.max_write_zeroes_seg = 2;
        D.bcfg.max_discard_sectors = 32;
        D.bcfg.iov_per_req = (cb & 0x20) ? 3 : BLK_IOV_MAX;
        memcpy(D.bcfg.serial, "vdm-fuzz-serial-0123", VDM_BLK_ID_BYTES);
        D.bcfg.ops = &D.bops;
        D.bcfg.reqs = D.reqs;
        D.bcfg.iovs = D.iovs;
        rc = vdm_blk_init(&D.blk, &D.dev, &D.bcfg, &D.base);
        break;
    case FZ_KIND_RNG: {
        struct vdm_rng_config rc_ = {.size = sizeof(rc_)};
        D.nq = 1;
        D.base.num_queues = 1;
        D.rops = (struct vdm_rng_ops){.size = sizeof(D.rops), .fill = rng_fill};
        rc_.ops = &D.rops;
        rc = vdm_rng_init(&D.rng, &D.dev, &rc_, &D.base);
        break;
    }
    default: {
        D.nq = 2;
        D.base.num_queues = 2;
        D.icfg = (struct vdm_input_config){.size = sizeof(D.icfg)};
        switch (cb % 3) {
        case 0: rc = vdm_input_profile_keyboard(&D.icfg); break;
        case 1: rc = vdm_input_profile_mouse(&D.icfg); break;
        default: rc = vdm_input_profile_touch(&D.icfg); break;
        }
        FZ_CHECK(rc == 0, "input profile %d", rc);
        /* input.c refuses fewer than 2 entries (input.h says >= 1) */
        D.icfg.queue_len = 2u + (cb >> 2) % (INPUT_RING - 1);
        D.icfg.queue = D.iring;
        D.iops = (struct vdm_input_ops){.size = sizeof(D.iops),
                                        .status = input_status};
        D.icfg.ops = (cb & 0x80) ? &D.iops : NULL;
        rc = vdm_input_init(&D.in, &D.dev, &D.icfg, &D.base);
        break;
    }
    }
    FZ_CHECK(rc == 0, "device init (kind %u, config %#x): %d", D.kind, cb, rc);
    for (unsigned q = 0; q < FD_MAXQ; q++)
        D.fq[q].clean = 1;
    return &D.dev;
}

void fd_set_notify(fd_notify_fn fn, void *ctx)
{
    D.notify = fn;
    D.notify_ctx = ctx;
}

void fd_set_lenient(int on)
{
    D.lenient = on;
}

void fd_taint(void)
{
    D.tainted = 1;
}

uint64_t fd_offered(void)
{
    return vdm_dev_device_features(&D.dev);
}

/* ---- driver side ------------------------------------------------------- */

static uint64_t area_len(const struct fq *f, int i)
{
    int packed = !!(f->feat & VDM_F_RING_PACKED);
    if (i == 0)
        return 16ull * f->num;
    if (packed)
        return 4;
    return i == 1 ? 6ull + 2ull * f->num : 6ull + 8ull * f->num;
}

static void detach(unsigned q)
{
    struct fq *f = &D.fq[q];
    if (fz_trace())
        fprintf(stderr, "  detach queue %u\n", q);
    if (f->live)
        drv_vq_fini(&f->dq);
    f->live = 0;
    f->epoch++;
    memset(f->recs, 0, sizeof(f->recs));
}

static void attach(unsigned q)
{
    struct fq *f = &D.fq[q];
    struct vdm_vq_state st;
    uint64_t feat = vdm_dev_features(&D.dev);

    f->num = vdm_dev_queue_size(&D.dev, (uint16_t)q);
    f->feat = feat;
    vdm_dev_queue_get_addr(&D.dev, (uint16_t)q, &f->a[0], &f->a[1], &f->a[2]);
    /* The driver simulator starts from zeroed rings; if the rings held
     * anything, the device may have acted on it already (DRIVER_OK, a
     * notification): the simulator's view is then not the truth. */
    int dirty = 0;
    for (int i = 0; i < 3; i++) {
        const uint8_t *p = fm_hva(f->a[i], area_len(f, i));
        for (uint64_t k = 0; p && k < area_len(f, i) && !dirty; k++)
            dirty = p[k] != 0;
    }
    /* The driver simulator knows these ring features. */
    uint64_t df = feat & (DRV_F_INDIRECT | DRV_F_EVENT_IDX | DRV_F_VERSION_1 |
                          DRV_F_PACKED | DRV_F_IN_ORDER);
    if (drv_vq_init_at(&f->dq, fm_guest(), f->num, df, f->a[0], f->a[1],
                       f->a[2]) != 0)
        return;
    f->live = 1;
    f->clean = !dirty;
    memset(f->recs, 0, sizeof(f->recs));
    if (fz_trace())
        fprintf(stderr,
                "  attach queue %u: num %u features %#llx rings %#llx "
                "%#llx %#llx\n",
                q, f->num, (unsigned long long)feat,
                (unsigned long long)f->a[0], (unsigned long long)f->a[1],
                (unsigned long long)f->a[2]);
    /* The driver view is the truth only for rings apart from everything
     * else the harness writes, starting where a fresh queue starts. */
    for (int i = 0; i < 3; i++) {
        if (fm_hits_harness(f->a[i], area_len(f, i)))
            f->clean = 0;
        for (int j = i + 1; j < 3; j++)
            if (f->a[i] < f->a[j] + area_len(f, j) &&
                f->a[j] < f->a[i] + area_len(f, i))
                f->clean = 0;
        for (unsigned o = 0; o < FD_MAXQ; o++) {
            const struct fq *g = &D.fq[o];
            if (o == q || !g->live)
                continue;
            for (int j = 0; j < 3; j++)
                if (f->a[i] < g->a[j] + area_len(g, j) &&
                    g->a[j] < f->a[i] + area_len(f, i)) {
                    f->clean = 0;
                    D.fq[o].clean = 0;
                }
        }
    }
    if (fz_trace() && vdm_dev_queue_get_state(&D.dev, (uint16_t)q, &st) == 0)
        fprintf(stderr, "  device position %u/%u wraps %u/%u\n",
                st.last_avail_idx, st.used_idx, st.avail_wrap, st.used_wrap);
    if (vdm_dev_queue_get_state(&D.dev, (uint16_t)q, &st) == 0 &&
        (st.last_avail_idx != 0 || st.used_idx != 0 ||
         ((feat & VDM_F_RING_PACKED) &&
          (st.avail_wrap != 1 || st.used_wrap != 1))))
        f->clean = 0;
}

void fd_poll(void)
{
    uint8_t st = vdm_dev_status(&D.dev);
    if (D.last_status != 0 && st == 0) {
        for (unsigned q = 0; q < FD_MAXQ; q++)
            if (D.fq[q].live)
                detach(q);
            else
                D.fq[q].epoch++;
    }
    D.last_status = st;
    for (unsigned q = 0; q < D.nq; q++) {
        struct fq *f = &D.fq[q];
        int en = vdm_dev_queue_enabled(&D.dev, (uint16_t)q) == 1 &&
                 (st & VDM_STATUS_FEATURES_OK);
        if (!en) {
            if (f->live)
                detach(q);
            continue;
        }
        uint64_t a[3];
        vdm_dev_queue_get_addr(&D.dev, (uint16_t)q, &a[0], &a[1], &a[2]);
        if (f->live && (a[0] != f->a[0] || a[1] != f->a[1] || a[2] != f->a[2] ||
                        vdm_dev_queue_size(&D.dev, (uint16_t)q) != f->num ||
                        vdm_dev_features(&D.dev) != f->feat))
            detach(q);
        if (!f->live)
            attach(q);
    }
}

static int qclean(unsigned q)
{
    return !D.tainted && D.fq[q].clean;
}

/* Request bytes written into the readable parts, in order; only into
 * fresh memory (a part elsewhere may be a ring: the driver would corrupt
 * its own queue), the request stream skips the others. */
static void fill_readable(const struct drv_buf *out, unsigned nout,
                          const int *fresh, const uint8_t *req, uint32_t reqlen)
{
    uint32_t done = 0;
    for (unsigned i = 0; i < nout; i++) {
        uint32_t k = out[i].len;
        if (done < reqlen) {
            uint32_t c = reqlen - done < k ? reqlen - done : k;
            if (fresh[i])
                fm_write(out[i].gpa, req + done, c);
            done += c;
        }
    }
}

static void op_buf(struct fz *f)
{
    unsigned q = fz_u8(f) % FD_MAXQ;
    unsigned nout = fz_u8(f) % 5, nin = fz_u8(f) % 5;
    int mode = fz_u8(f) % 3;
    struct drv_buf out[4], in[4];
    int all_fresh = 1, fresh_out[4] = {0};
    uint8_t req[16 + 4 * 16];
    uint32_t reqlen = 0, type = 0;

    if (nout + nin == 0)
        nin = 1;
    for (unsigned i = 0; i < nout + nin; i++) {
        struct drv_buf *b = i < nout ? &out[i] : &in[i - nout];
        int fresh;
        b->len = fz_u16(f) % 4097;
        b->gpa = fm_gpa_ex(f, b->len, &fresh);
        if (i < nout)
            fresh_out[i] = fresh;
        if (!fresh) {
            all_fresh = 0;
            if (i >= nout && b->len > 0)
                D.tainted = 1; /* the device may write anywhere now */
        }
    }
    switch (D.kind) {
    case FZ_KIND_BLK: {
        type = fz_u32(f);
        uint64_t sector = fz_u64(f);
        unsigned nseg = fz_u8(f) % 5;
        drv_put_le32(req, type);
        drv_put_le32(req + 4, 0);
        drv_put_le64(req + 8, sector);
        fz_bytes(f, req + 16, 16u * nseg);
        reqlen = 16 + 16 * nseg;
        break;
    }
    case FZ_KIND_INPUT:
        fz_bytes(f, req, 8);
        reqlen = 8;
        break;
    default: break;
    }
    struct fq *fq = &D.fq[q];
    if (q >= D.nq || !fq->live)
        return;
    fill_readable(out, nout, fresh_out, req, reqlen);
    uint64_t wlen = 0, status_gpa = 0;
    uint8_t ff = 0xff;
    for (unsigned i = 0; i < nin; i++) {
        wlen += in[i].len;
        if (in[i].len)
            status_gpa = in[i].gpa + in[i].len - 1;
    }
    if (all_fresh && status_gpa)
        fm_write(status_gpa, &ff, 1);
    if (!(fq->feat & VDM_F_INDIRECT_DESC) || fm_drv_room() < 4096)
        mode = DRV_ADD_DIRECT;
    if ((fq->feat & VDM_F_RING_PACKED) && mode == DRV_ADD_MIXED)
        mode = DRV_ADD_INDIRECT;
    int id = drv_vq_add(&fq->dq, out, nout, in, nin, mode, NULL);
    if (fz_trace()) {
        fprintf(stderr, "  buf q%u mode %d -> id %d:", q, mode, id);
        for (unsigned i = 0; i < nout + nin; i++)
            fprintf(
                stderr, " %s%#llx+%u", i < nout ? "r" : "w",
                (unsigned long long)(i < nout ? out[i].gpa : in[i - nout].gpa),
                i < nout ? out[i].len : in[i - nout].len);
        fprintf(stderr, "\n");
    }
    if (id < 0 || id >= (int)FD_QMAX)
        return;
    fq->recs[id] = (struct rec){.valid = 1,
                                .checkable = (uint8_t)all_fresh,
                                .type = type,
                                .status_gpa = status_gpa,
                                .wlen = wlen,
                                .nin = nin};
    D.st_add++;
}

static void check_used(unsigned q, const struct drv_used *u)
{
    struct rec *r = u->id < FD_QMAX ? &D.fq[q].recs[u->id] : NULL;
    if (!r || !r->valid || !qclean(q))
        return;
    r->valid = 0;
    FZ_CHECK(u->len <= r->wlen, "used len %u > writable %llu", u->len,
             (unsigned long long)r->wlen);
    if (!r->checkable || u->batched)
        return;
    switch (D.kind) {
    case FZ_KIND_BLK: {
        if (u->len == 0)
            return;
        const uint8_t *st = fm_hva(r->status_gpa, 1);
        FZ_CHECK(st != NULL, "status byte not mapped");
        FZ_CHECK(*st <= VDM_BLK_S_UNSUPP,
                 "blk status byte %#x (type %u, used len %u)", *st, r->type,
                 u->len);
        if (*st != VDM_BLK_S_OK ||
            (r->type != VDM_BLK_T_IN && r->type != VDM_BLK_T_GET_ID))
            FZ_CHECK(u->len == 1, "blk type %u status %u used len %u", r->type,
                     *st, u->len);
        else if (r->type == VDM_BLK_T_IN)
            FZ_CHECK(u->len == r->wlen, "blk read used len %u of %llu", u->len,
                     (unsigned long long)r->wlen);
        else
            FZ_CHECK(u->len >= 1 && u->len <= VDM_BLK_ID_BYTES + 1,
                     "blk get-id used len %u", u->len);
        break;
    }
    case FZ_KIND_INPUT:
        if (q == VDM_INPUT_QUEUE_EVENT)
            FZ_CHECK(u->len == 0 || u->len == VDM_INPUT_EVENT_BYTES,
                     "eventq used len %u", u->len);
        else
            FZ_CHECK(u->len == 0, "statusq used len %u", u->len);
        break;
    default: break;
    }
}

static void op_reap(unsigned q)
{
    struct fq *f = &D.fq[q];
    if (q >= D.nq || !f->live)
        return;
    for (unsigned i = 0; i <= f->num; i++) {
        struct drv_used u;
        int rc = drv_vq_get_used_ex(&f->dq, &u);
        if (qclean(q))
            FZ_CHECK(rc != DRV_EDEVICE,
                     "driver found a device error on queue %u: %s", q,
                     drv_vq_error(&f->dq));
        if (rc != 1)
            break;
        if (fz_trace())
            fprintf(stderr, "  used q%u id %u len %u\n", q, u.id, u.len);
        check_used(q, &u);
        D.st_reap++;
    }
}

static void op_kick(uint8_t b)
{
    unsigned q = (b & 0x7f) % FD_MAXQ;
    struct fq *f = &D.fq[q];
    if (q >= D.nq || !f->live)
        return;
    drv_vq_publish(&f->dq);
    int need = drv_vq_kick_needed(&f->dq);
    if (!need && !(b & 0x80))
        return;
    uint32_t value = q;
    if (vdm_dev_features(&D.dev) & VDM_F_NOTIFICATION_DATA)
        value = q | (uint32_t)drv_vq_next_off_wrap(&f->dq) << 16;
    D.st_kick++;
    if (fz_trace()) {
        const uint8_t *a = fm_hva(f->a[1], 4);
        fprintf(stderr, "  kick q%u value %#x avail flags/idx %u/%u\n", q,
                value, a ? drv_get_le16(a) : 0, a ? drv_get_le16(a + 2) : 0);
    }
    if (D.notify)
        D.notify(D.notify_ctx, (uint16_t)q, value);
    else
        vdm_dev_queue_notify(&D.dev, (uint16_t)q, value);
}

static void op_host(uint8_t act, uint32_t arg)
{
    D.st_host++;
    switch (D.kind) {
    case FZ_KIND_BLK:
        switch (act % 6) {
        case 0:
            if (D.npend) {
                static const int st[5] = {VDM_BLK_S_OK, VDM_BLK_S_IOERR,
                                          VDM_BLK_S_UNSUPP, VDM_EIO, 77};
                blk_complete_at(arg % D.npend, st[(arg >> 16) % 5]);
            }
            break;
        case 1:
            while (D.npend)
                blk_complete_at(D.npend - 1, VDM_BLK_S_OK);
            break;
        case 2: fd_config_change(arg); break;
        case 3: D.blk_mode = arg % 4; break;
        case 4: {
            int rc = vdm_blk_process(&D.blk, (uint16_t)(arg % 4));
            FZ_CHECK(rc == 0 || rc == VDM_ERANGE, "process %d", rc);
            break;
        }
        default: {
            int rc = vdm_blk_complete(&D.blk, &D.pend[arg % PENDING_MAX], 0);
            FZ_CHECK(rc == VDM_EINVAL, "bogus token completed: %d", rc);
            break;
        }
        }
        break;
    case FZ_KIND_RNG:
        if (act % 2 == 0) {
            D.rng_mode = arg % 5;
        } else {
            int rc = vdm_rng_kick(&D.rng);
            FZ_CHECK(rc >= 0 || rc == VDM_EIO, "rng kick %d", rc);
        }
        break;
    default: {
        uint64_t dropped = vdm_input_dropped(&D.in);
        int rc;
        switch (act % 3) {
        case 0:
            rc = vdm_input_send(&D.in, (uint16_t)(arg & 0x1f),
                                (uint16_t)((arg >> 5) & 0x3ff), arg >> 15);
            FZ_CHECK(rc == 0 || rc == VDM_ENOSPC, "input send %d", rc);
            FZ_CHECK(rc == 0 || vdm_input_dropped(&D.in) > dropped,
                     "dropped event not counted");
            break;
        case 1:
            rc = vdm_input_send(&D.in, VDM_INPUT_EV_SYN, VDM_INPUT_SYN_REPORT,
                                0);
            FZ_CHECK(rc == 0 || rc == VDM_ENOSPC, "input syn %d", rc);
            break;
        default: {
            struct vdm_input_event ev[32];
            uint32_t n = arg % 32;
            for (uint32_t i = 0; i < n; i++) {
                ev[i].type = (i % 3 == 2) ? VDM_INPUT_EV_SYN : VDM_INPUT_EV_KEY;
                ev[i].code = (i % 3 == 2)
                                 ? VDM_INPUT_SYN_REPORT
                                 : (uint16_t)(VDM_INPUT_KEY_A + i % 20);
                ev[i].value = (i % 3 == 2) ? 0 : (i % 3);
            }
            rc = vdm_input_send_many(&D.in, ev, n);
            FZ_CHECK(rc >= 0 && (uint32_t)rc <= n, "send_many %d of %u", rc, n);
            break;
        }
        }
        FZ_CHECK(vdm_input_pending(&D.in) <= D.icfg.queue_len,
                 "%u events pending in a ring of %u", vdm_input_pending(&D.in),
                 D.icfg.queue_len);
        break;
    }
    }
}

void fd_config_change(uint32_t arg)
{
    if (D.kind == FZ_KIND_BLK) {
        D.capacity = arg % 256;
        FZ_CHECK(vdm_blk_set_capacity(&D.blk, D.capacity) == 0, "set_capacity");
    } else {
        vdm_dev_config_changed(&D.dev);
    }
}

void fd_dev_op(struct fz *f)
{
    unsigned op = fz_u8(f) % DEV_OP_COUNT;
    if (fz_trace())
        fprintf(stderr, "  dev op %u\n", op);
    switch (op) {
    case DEV_OP_BUF: op_buf(f); break;
    case DEV_OP_KICK: op_kick(fz_u8(f)); break;
    case DEV_OP_REAP: op_reap(fz_u8(f) % FD_MAXQ); break;
    case DEV_OP_HOST: {
        uint8_t act = fz_u8(f);
        op_host(act, fz_u32(f));
        break;
    }
    default: {
        unsigned q = fz_u8(f) % FD_MAXQ;
        uint8_t en = fz_u8(f);
        if (q < D.nq && D.fq[q].live) {
            if (en & 1)
                drv_vq_enable_cb(&D.fq[q].dq);
            else
                drv_vq_disable_cb(&D.fq[q].dq);
        }
        break;
    }
    }
    fd_poll();
}

void fd_complete_all(void)
{
    fd_poll(); /* notice a reset the caller just did */
    if (D.kind == FZ_KIND_BLK) {
        while (D.npend)
            blk_complete_at(D.npend - 1, VDM_BLK_S_OK);
    }
}

void fd_finish(void)
{
    fd_complete_all();
    vdm_dev_set_status(&D.dev, 0);
    fd_poll();
    if (D.kind == FZ_KIND_BLK)
        FZ_CHECK(vdm_blk_in_flight(&D.blk) == 0,
                 "%u blk requests still in flight after every completion",
                 vdm_blk_in_flight(&D.blk));
    for (unsigned q = 0; q < FD_MAXQ; q++) {
        FZ_CHECK(vdm_vq_in_flight(&D.queues[q]) == 0 || q >= D.nq,
                 "queue %u holds chains after reset", q);
        if (D.fq[q].live)
            drv_vq_fini(&D.fq[q].dq);
        D.fq[q].live = 0;
    }
    fm_check_released();
}

void fd_stats(char *buf, unsigned len)
{
    snprintf(buf, len,
             "kind %u status %#x features %#llx: %lu added, %lu kicks, %lu "
             "reaped, %lu host ops, %lu log lines, tainted %d",
             D.kind, vdm_dev_status(&D.dev),
             (unsigned long long)vdm_dev_features(&D.dev), D.st_add, D.st_kick,
             D.st_reap, D.st_host, D.st_logs, D.tainted);
}
