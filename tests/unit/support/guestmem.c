/* SPDX-License-Identifier: BSD-3-Clause */
/* Test support: guest memory and queue environments (see guestmem.h). */
#include "guestmem.h"
#include "profile.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void gm_init(struct gm *gm, const uint64_t *gpas, const uint64_t *sizes,
             unsigned n)
{
    memset(gm, 0, sizeof(*gm));
    ck_assert_int_eq(drv_guest_init(&gm->g, gpas, sizes, n), 0);
    for (unsigned i = 0; i < gm->g.nregions; i++) {
        gm->regs[i].gpa = gm->g.regions[i].gpa;
        gm->regs[i].size = gm->g.regions[i].size;
        gm->regs[i].hva = gm->g.regions[i].hva;
    }
    gm->mem.size = sizeof(gm->mem);
    gm->mem.nregions = gm->g.nregions;
    gm->mem.regions = gm->regs;
    ck_assert_int_eq(vdm_mem_check(&gm->mem), 0);
}

void gm_init1(struct gm *gm, uint64_t gpa, uint64_t size)
{
    gm_init(gm, &gpa, &size, 1);
}

void gm_fini(struct gm *gm)
{
    drv_guest_fini(&gm->g);
}

void *gm_ptr(struct gm *gm, uint64_t gpa, uint64_t len)
{
    void *p = drv_gpa(&gm->g, gpa, len);

    REQUIRE(p != NULL);
    return p;
}

void gm_fill(struct gm *gm, uint64_t gpa, uint32_t len, uint32_t seed,
             uint64_t from)
{
    uint8_t *p = gm_ptr(gm, gpa, len);

    for (uint32_t i = 0; i < len; i++)
        p[i] = gm_pat(seed, from + i);
}

int gm_check(struct gm *gm, uint64_t gpa, uint32_t len, uint32_t seed,
             uint64_t from)
{
    const uint8_t *p = gm_ptr(gm, gpa, len);

    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != gm_pat(seed, from + i))
            return 0;
    }
    return 1;
}

static void fault_hook(void *ctx, uint16_t qidx, int err, const char *why)
{
    struct fault_rec *f = ctx;

    f->count++;
    f->err = err;
    f->qidx = qidx;
    f->why = why;
}

const struct vdm_vq_ops gm_fault_ops = {
    .size = sizeof(struct vdm_vq_ops),
    .fault = fault_hook,
};

int vqenv_init_vq(struct vqenv *e)
{
    e->cfg = VDM_INIT(struct vdm_vq_config);
    e->cfg.num = e->num;
    e->cfg.index = 3;
    e->cfg.features = e->features;
    e->cfg.desc_addr = drv_vq_desc_gpa(&e->dq);
    e->cfg.driver_addr = drv_vq_driver_gpa(&e->dq);
    e->cfg.device_addr = drv_vq_device_gpa(&e->dq);
    e->cfg.mem = &e->gm.mem;
    e->cfg.slots = e->slots;
    e->cfg.ops = &gm_fault_ops;
    e->cfg.ctx = &e->fault;
    return vdm_vq_init(&e->vq, &e->cfg);
}

void vqenv_chain(struct vqenv *e, uint32_t cap)
{
    memset(&e->c, 0, sizeof(e->c));
    e->c.iov = e->iov;
    e->c.iov_cap = cap;
}

void vqenv_setup(struct vqenv *e, uint16_t num, uint64_t features,
                 uint64_t memsize)
{
    ut_need(features, "vqenv_setup");
    memset(e, 0, sizeof(*e));
    gm_init1(&e->gm, 0x10000, memsize);
    e->features = features | VDM_F_VERSION_1;
    e->num = num;
    ck_assert_int_eq(drv_vq_init(&e->dq, &e->gm.g, num, e->features), 0);
    e->slots = calloc(VDM_VQ_SLOTS(num), sizeof(uint32_t));
    ck_assert_ptr_nonnull(e->slots);
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    vqenv_chain(e, 1024);
}

struct vqenv *vqenv_new(uint16_t num, uint64_t features)
{
    struct vqenv *e = malloc(sizeof(*e));

    ck_assert_ptr_nonnull(e);
    vqenv_setup(e, num, features, VQENV_MEM);
    return e;
}

void vqenv_free(struct vqenv *e)
{
    vqenv_teardown(e);
    free(e);
}

void vqenv_teardown(struct vqenv *e)
{
    vdm_vq_reset(&e->vq);
    drv_vq_fini(&e->dq);
    free(e->slots);
    gm_fini(&e->gm);
}

/* ---- round trips ---------------------------------------------------- */

void xf_layout(struct vqenv *e, struct xfer *x, unsigned nout, unsigned nin,
               uint32_t len0, int mode)
{
    memset(x, 0, sizeof(*x));
    REQUIRE(nout <= XF_MAX);
    REQUIRE(nin <= XF_MAX);
    x->nout = nout;
    x->nin = nin;
    x->mode = mode;
    for (unsigned i = 0; i < nout; i++) {
        x->out_len[i] = len0 + (i * 37u) % 61u;
        x->out_gpa[i] = drv_alloc(&e->gm.g, x->out_len[i], 1);
        x->rtotal += x->out_len[i];
    }
    for (unsigned i = 0; i < nin; i++) {
        x->in_len[i] = len0 + (i * 53u) % 67u;
        x->in_gpa[i] = drv_alloc(&e->gm.g, x->in_len[i], 1);
        x->wtotal += x->in_len[i];
    }
}

int xf_add(struct vqenv *e, const struct xfer *x, uint32_t seed, void *cookie)
{
    struct drv_buf out[XF_MAX], in[XF_MAX];
    uint64_t off = 0;
    int id;

    /* parts outside guest memory (hostile layouts) are left alone */
    for (unsigned i = 0; i < x->nout; i++) {
        out[i].gpa = x->out_gpa[i];
        out[i].len = x->out_len[i];
        if (x->out_len[i] != 0 &&
            drv_gpa(&e->gm.g, x->out_gpa[i], x->out_len[i]) != NULL)
            gm_fill(&e->gm, x->out_gpa[i], x->out_len[i], seed, off);
        off += x->out_len[i];
    }
    for (unsigned i = 0; i < x->nin; i++) {
        void *p = drv_gpa(&e->gm.g, x->in_gpa[i], x->in_len[i]);

        in[i].gpa = x->in_gpa[i];
        in[i].len = x->in_len[i];
        if (x->in_len[i] != 0 && p != NULL)
            memset(p, 0, x->in_len[i]);
    }
    id = drv_vq_add(&e->dq, out, x->nout, in, x->nin, x->mode, cookie);
    if (id < 0)
        ck_abort_msg("drv_vq_add: %d (%s)", id,
                     drv_vq_error(&e->dq) ? drv_vq_error(&e->dq) : "-");
    return id;
}

uint16_t xf_serve(struct vqenv *e, const struct xfer *x, uint32_t seed,
                  uint32_t wr, int push)
{
    uint8_t *buf;
    size_t n = x->rtotal > wr ? x->rtotal : wr;
    int rc;

    vqenv_chain(e, 1024);
    rc = vdm_vq_pop(&e->vq, &e->c);
    if (rc != 1)
        ck_abort_msg("pop: %d (%s)", rc, e->fault.why ? e->fault.why : "-");
    REQUIRE_EQ(e->c.read_len, x->rtotal);
    REQUIRE_EQ(e->c.write_len, x->wtotal);
    REQUIRE(wr <= x->wtotal);
    buf = malloc(n + 1);
    REQUIRE(buf != NULL);
    REQUIRE_EQ(vdm_chain_copy_from(&e->c, 0, buf, x->rtotal + 1), x->rtotal);
    for (uint32_t i = 0; i < x->rtotal; i++) {
        if (buf[i] != gm_pat(seed, i))
            ck_abort_msg("device read byte %u wrong", (unsigned)i);
    }
    for (uint32_t i = 0; i < wr; i++)
        buf[i] = gm_pat(seed ^ 0x5555u, i);
    REQUIRE_EQ(vdm_chain_copy_to(&e->c, 0, buf, wr), wr);
    free(buf);
    if (push)
        REQUIRE_EQ(vdm_vq_push(&e->vq, e->c.id, wr), 0);
    return e->c.id;
}

void xf_reap(struct vqenv *e, const struct xfer *x, uint32_t id, uint32_t seed,
             uint32_t wr)
{
    struct drv_used u;
    uint64_t off = 0;
    int rc;

    rc = drv_vq_get_used_ex(&e->dq, &u);
    if (rc != 1)
        ck_abort_msg("get_used: %d (%s)", rc,
                     drv_vq_error(&e->dq) ? drv_vq_error(&e->dq) : "-");
    REQUIRE_EQ(u.id, id);
    REQUIRE_EQ(u.len, wr);
    for (unsigned i = 0; i < x->nin && off < wr; i++) {
        uint32_t k = x->in_len[i];

        if (k > wr - off)
            k = (uint32_t)(wr - off);
        if (k != 0)
            REQUIRE(gm_check(&e->gm, x->in_gpa[i], k, seed ^ 0x5555u, off));
        off += x->in_len[i];
    }
}

void xf_roundtrip(struct vqenv *e, const struct xfer *x, uint32_t seed,
                  uint32_t wr)
{
    int id = xf_add(e, x, seed, (void *)(uintptr_t)(seed + 1));

    drv_vq_publish(&e->dq);
    REQUIRE_EQ(xf_serve(e, x, seed, wr, 1), id);
    xf_reap(e, x, (uint32_t)id, seed, wr);
    REQUIRE_EQ(vdm_vq_in_flight(&e->vq), 0);
}

struct xfer *xf_layouts(struct vqenv *e, unsigned n, unsigned nout,
                        unsigned nin, uint32_t len0)
{
    struct xfer *xs = calloc(n, sizeof(*xs));

    ck_assert_ptr_nonnull(xs);
    for (unsigned i = 0; i < n; i++)
        xf_layout(e, &xs[i], nout, nin, len0 + i, DRV_ADD_DIRECT);
    return xs;
}

void xf_push_check(struct vqenv *e, const struct xfer *xs, unsigned k,
                   uint32_t seed)
{
    int ids[64];
    int dev, want;

    REQUIRE(k <= 64);
    for (unsigned i = 0; i < k; i++)
        ids[i] = xf_add(e, &xs[i], seed + i, NULL);
    drv_vq_publish(&e->dq);
    for (unsigned i = 0; i < k; i++)
        REQUIRE_EQ(xf_serve(e, &xs[i], seed + i, 1, 1), ids[i]);
    dev = vdm_vq_should_notify(&e->vq);
    want = drv_vq_interrupt_expected(&e->dq);
    REQUIRE(dev >= 0);
    REQUIRE_EQ(dev, want);
    for (unsigned i = 0; i < k; i++)
        xf_reap(e, &xs[i], (uint32_t)ids[i], seed + i, 1);
}
