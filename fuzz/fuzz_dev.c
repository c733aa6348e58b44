/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzzed devices and their driver side: see fuzz_dev.h. */
#include "fuzz_dev.h"

#include <stdio.h>
#include <string.h>

#include "fuzz_mem.h"

/* The plug-ins in kind order (fuzz_devices.h). */
#define FD_PLUGIN_REF(l, u) &fuzz_dev_##l,
static const struct fuzz_dev_plugin *const plugins[FZ_KIND_COUNT] = {
    FUZZ_DEVICES(FD_PLUGIN_REF)};
#undef FD_PLUGIN_REF

struct fq {
    struct drv_vq dq;
    int live;
    int clean;
    uint32_t epoch; /* bumped when the device drops the queue */
    uint16_t num;
    uint64_t feat;
    uint64_t a[3];
    struct fd_rec recs[FD_QMAX];
};

static struct {
    unsigned kind;
    const struct fuzz_dev_plugin *p;
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

void fd_spans_check(const struct vdm_iov *iov, uint32_t n, int write,
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

struct vdm_dev *fd_dev(void)
{
    return &D.dev;
}

unsigned fd_num_queues(void)
{
    return D.nq;
}

uint32_t fd_queue_epoch(unsigned q)
{
    return q < FD_MAXQ ? D.fq[q].epoch : 0;
}

int fd_lenient(void)
{
    return D.lenient;
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
    D.p = plugins[D.kind];
    rc = D.p->create(&D.dev, &D.base, cb);
    D.nq = D.base.num_queues;
    FZ_CHECK(D.nq <= FD_MAXQ, "%u queues", D.nq);
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
    uint8_t req[FD_REQ_BUF];
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
    if (D.p->request != NULL)
        reqlen = D.p->request(f, req, &type);
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
    fq->recs[id] = (struct fd_rec){.valid = 1,
                                   .checkable = (uint8_t)all_fresh,
                                   .type = type,
                                   .status_gpa = status_gpa,
                                   .wlen = wlen,
                                   .nin = nin};
    D.st_add++;
}

static void check_used(unsigned q, const struct drv_used *u)
{
    struct fd_rec *r = u->id < FD_QMAX ? &D.fq[q].recs[u->id] : NULL;
    if (!r || !r->valid || !qclean(q))
        return;
    r->valid = 0;
    FZ_CHECK(u->len <= r->wlen, "used len %u > writable %llu", u->len,
             (unsigned long long)r->wlen);
    if (!r->checkable || u->batched)
        return;
    if (D.p->check_used != NULL)
        D.p->check_used(q, r, u);
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
    if (D.p->host != NULL)
        D.p->host(act, arg);
}

void fd_config_change(uint32_t arg)
{
    if (D.p->config_change != NULL)
        D.p->config_change(arg);
    else
        vdm_dev_config_changed(&D.dev);
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
    if (D.p->complete_all != NULL)
        D.p->complete_all();
}

void fd_finish(void)
{
    fd_complete_all();
    vdm_dev_set_status(&D.dev, 0);
    fd_poll();
    if (D.p->finish != NULL)
        D.p->finish();
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
             "%s status %#x features %#llx: %lu added, %lu kicks, %lu "
             "reaped, %lu host ops, %lu log lines, tainted %d",
             D.p != NULL ? D.p->name : "-", vdm_dev_status(&D.dev),
             (unsigned long long)vdm_dev_features(&D.dev), D.st_add, D.st_kick,
             D.st_reap, D.st_host, D.st_logs, D.tainted);
}
