/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-ring: what vdm's device side costs per descriptor chain, against two
 * floors measured in the same run.
 *
 * Rows (queue size 256), each a ring format (split, packed) and chain shape:
 *   1     one 512-byte device-writable buffer;
 *   3     16-byte and 512-byte readable buffers and a 1-byte writable
 *         status, as a block write;
 *   3-2r  the same, the 512-byte buffer in a second memory region (every
 *         chain crosses regions twice);
 *   3-ind the same three buffers in an indirect table (one ring
 *         descriptor per chain).
 *
 *   - the driver simulator (tests/driver) fills the ring with as many chains
 *     as fit and publishes them (untimed);
 *   - the device drains the ring: every chain popped and pushed back with
 *     its written length, each push published at once (timed);
 *   - the driver collects and checks the used buffers (untimed).
 *
 * "vdm" drains with vdm_vq_pop() + vdm_vq_push(). The floors drain the same
 * kind of ring (each its own, identically prepared) inline:
 *   - raw: the least any device must do: read each avail entry / descriptor
 *     once, turn each buffer into a host pointer (unchecked base + offset)
 *     and length, write the used entry and publish it with a release store
 *     -- no validation at all;
 *   - validated: the raw floor plus the minimum a safe device checks:
 *     avail idx at most a ring ahead, head / buffer id and next < num,
 *     chain length <= num (indirect: <= table length, table length a
 *     non-zero multiple of 16, no nested table), readable before writable,
 *     each buffer (and table) wholly inside one region with overflow-safe
 *     arithmetic (the region the last lookup hit tried first, its index
 *     range-checked as the table may change between calls), a
 *     device-writable buffer not in a read-only region (the host would
 *     fault writing it), total length < 2^32, and an in-flight bitmap: set
 *     on pop (a head already in flight refused), tested and cleared on
 *     push; packed also: every descriptor of a list made available ("A
 *     device MUST NOT use a descriptor unless it observes the
 *     VIRTQ_DESC_F_AVAIL bit ... being changed"), and no more descriptors
 *     in flight than the ring holds (the driver "MUST make sure there's
 *     enough space in the ring for the whole list"; past it the device's
 *     used descriptors would overwrite available ones not yet read), each
 *     id's descriptor count kept for its push.
 * The driver simulator checks what the floors wrote just as it checks vdm.
 *
 * Nanoseconds per chain are total timed nanoseconds over chains, for runs
 * of at least 0.2 s of timed work; each figure is the best of 3 runs, the
 * runs of vdm and the floors alternating. Hosted benchmark code.
 *
 * Options:
 *   --case NAME  run only one row (split1, split3, split3-2r, split3-ind,
 *                packed1, packed3, packed3-2r, packed3-ind);
 *   --notify     follow every push with a used-buffer notification decision
 *                (vdm_vq_should_notify(); the floors: full fence and a load
 *                of the driver's flags);
 *   --log        dirty-page logging on for vdm (vdm_mem::log, a bitmap over
 *                the guest): the used-ring writes are marked by the queue
 *                and each chain's written bytes by vdm_mem_log_iov(), as
 *                the device kit does; the floors log nothing. Run with and
 *                without to see what logging costs.
 *   --fills N    fixed work instead of timing: one run of exactly N ring
 *                fills per side, printing the chain count. Meant for
 *                instruction counts under valgrind --tool=callgrind with
 *                --toggle-collect=drain_vdm / drain_floor / drain_valid (the
 *                drains are never inlined), which stay repeatable on a
 *                loaded machine; scripts/bench --insns does that.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drv.h"
#include "vdm/virtqueue.h"

#define QSIZE   256u
#define GPA     0x100000ull
#define GPA2    0x8000000ull /* second region (3-2r rows) */
#define GSIZE   (16ull << 20)
#define MIN_NS  200000000ull /* timed nanoseconds per run */
#define RUNS    3
#define MAXPART 2

#define NOINLINE __attribute__((noinline))

/* Row layouts */
#define L_DIRECT   0
#define L_TWOREG   1
#define L_INDIRECT 2

static int opt_notify; /* --notify */
static int opt_log;    /* --log */
/* --log: the bitmap, 1 bit per 4 KiB up to the end of the second region */
static uint8_t log_map[(GPA2 + GSIZE) / 4096u / 8u];
static struct vdm_dirty_log log_desc;

/* One prepared ring, drained either by vdm or by one of the floors. */
struct env {
    struct drv_guest g;
    struct vdm_mem_region reg[2];
    struct vdm_mem mem;
    struct drv_vq dq;
    int packed;
    int layout;         /* L_* */
    unsigned nout, nin; /* chain shape */
    uint32_t wlen;      /* bytes reported written per chain */
    unsigned per_fill;  /* chains per ring fill */
    struct drv_buf out[QSIZE][MAXPART], in[QSIZE][MAXPART];

    /* vdm */
    struct vdm_vq vq;
    uint32_t slots[VDM_VQ_SLOTS(QSIZE)];
    struct vdm_iov iov[8];
    struct vdm_chain c;

    /* floors */
    uint8_t *desc, *drv, *dev; /* ring areas */
    uint8_t *hva0, *hva1;      /* host addresses of GPA and GPA2 */
    uint16_t f_avail;          /* split: next avail entry */
    uint16_t f_used;           /* split: used idx */
    uint16_t f_pos, f_upos;    /* packed: next descriptor / used slot */
    uint8_t f_wrap, f_uwrap;   /* packed: their wrap counters */
    uint32_t f_hint;           /* validated: region the last lookup hit */
    uint64_t busy[QSIZE / 64]; /* validated: in-flight bitmap */
    uint32_t f_ndesc;          /* validated, packed: descriptors in flight */
    uint16_t f_nring[QSIZE];   /* validated, packed: each id's descriptors */
    struct vdm_iov fiov[8];    /* the floors' "spans" */
    unsigned notified;         /* --notify: notifications decided */
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-ring: %s failed (%d)\n", what, rc);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void env_init(struct env *e, int packed, unsigned ndesc, int layout)
{
    uint64_t gpa[2] = {GPA, GPA2}, size[2] = {GSIZE, GSIZE}, feat;
    unsigned nreg = layout == L_TWOREG ? 2 : 1;
    struct vdm_vq_config cfg = VDM_INIT(struct vdm_vq_config);
    int rc;

    memset(e, 0, sizeof(*e));
    if (drv_guest_init(&e->g, gpa, size, nreg) != 0)
        die("drv_guest_init", -1);
    for (unsigned i = 0; i < nreg; i++) {
        e->reg[i].gpa = e->g.regions[i].gpa;
        e->reg[i].size = e->g.regions[i].size;
        e->reg[i].hva = e->g.regions[i].hva;
    }
    e->mem = VDM_INIT(struct vdm_mem);
    e->mem.nregions = nreg;
    e->mem.regions = e->reg;
    if (opt_log) /* (only vdm's ring looks at it) */
        e->mem.log = &log_desc;
    e->packed = packed;
    e->layout = layout;
    feat = VDM_F_VERSION_1 | (packed ? VDM_F_RING_PACKED : 0) |
           (layout == L_INDIRECT ? VDM_F_INDIRECT_DESC : 0);
    rc = drv_vq_init(&e->dq, &e->g, QSIZE, feat);
    if (rc != 0)
        die("drv_vq_init", rc);

    if (ndesc == 1) {
        e->nout = 0;
        e->nin = 1;
        e->wlen = 512;
    } else {
        e->nout = 2;
        e->nin = 1;
        e->wlen = 1;
    }
    e->per_fill = layout == L_INDIRECT ? QSIZE : QSIZE / ndesc;
    for (unsigned j = 0; j < e->per_fill; j++) {
        if (ndesc == 1) {
            e->in[j][0].len = 512;
            e->in[j][0].gpa = drv_alloc(&e->g, 512, 64);
        } else {
            e->out[j][0].len = 16;
            e->out[j][0].gpa = drv_alloc_in(&e->g, 0, 16, 16);
            e->out[j][1].len = 512;
            e->out[j][1].gpa = drv_alloc_in(&e->g, nreg - 1, 512, 64);
            e->in[j][0].len = 1;
            e->in[j][0].gpa = drv_alloc_in(&e->g, 0, 1, 1);
        }
    }

    cfg.num = QSIZE;
    cfg.features = feat;
    cfg.desc_addr = drv_vq_desc_gpa(&e->dq);
    cfg.driver_addr = drv_vq_driver_gpa(&e->dq);
    cfg.device_addr = drv_vq_device_gpa(&e->dq);
    cfg.mem = &e->mem;
    cfg.slots = e->slots;
    rc = vdm_vq_init(&e->vq, &cfg);
    if (rc != 0)
        die("vdm_vq_init", rc);
    e->c.iov = e->iov;
    e->c.iov_cap = 8;

    e->desc = drv_vq_desc_hva(&e->dq);
    e->drv = drv_vq_avail_hva(&e->dq);
    e->dev = drv_vq_used_hva(&e->dq);
    e->hva0 = e->g.regions[0].hva;
    e->hva1 = nreg > 1 ? e->g.regions[1].hva : NULL;
    e->f_wrap = 1;
    e->f_uwrap = 1;
}

static void env_fini(struct env *e)
{
    vdm_vq_reset(&e->vq);
    drv_vq_fini(&e->dq);
    drv_guest_fini(&e->g);
}

/* Driver side, untimed: fill the ring and publish. */
static void refill(struct env *e)
{
    int mode = e->layout == L_INDIRECT ? DRV_ADD_INDIRECT : DRV_ADD_DIRECT;

    for (unsigned j = 0; j < e->per_fill; j++) {
        int id = drv_vq_add(&e->dq, e->out[j], e->nout, e->in[j], e->nin, mode,
                            NULL);
        if (id < 0)
            die("drv_vq_add", id);
    }
    drv_vq_publish(&e->dq);
}

/* Driver side, untimed: collect (and so validate) every used buffer. */
static void reap(struct env *e, unsigned expect)
{
    unsigned n = 0;
    uint32_t id, len;
    int rc;

    while ((rc = drv_vq_get_used(&e->dq, &id, &len, NULL)) == 1) {
        if (len != e->wlen)
            die("used length check", (int)len);
        n++;
    }
    if (rc != 0) {
        fprintf(stderr, "bench-ring: device error: %s\n",
                drv_vq_error(&e->dq) ? drv_vq_error(&e->dq) : "?");
        exit(1);
    }
    if (n != expect)
        die("used count check", (int)n);
}

/* ---- vdm --------------------------------------------------------------- */

/* External and never inlined, so that callgrind finds them by these names
 * (a static function may be cloned under another name). */
NOINLINE unsigned drain_vdm(struct env *e);
NOINLINE unsigned drain_floor(struct env *e);
NOINLINE unsigned drain_valid(struct env *e);

NOINLINE unsigned drain_vdm(struct env *e)
{
    unsigned n = 0;

    for (;;) {
        int rc = vdm_vq_pop(&e->vq, &e->c);

        if (rc != 1) {
            if (rc != 0)
                die("vdm_vq_pop", rc);
            return n;
        }
        if (opt_log) {
            /* what the device kit does at completion */
            rc = vdm_mem_log_iov(&e->mem, e->c.iov + e->c.nread, e->c.nwrite,
                                 0, e->wlen);
            if (rc != 0)
                die("vdm_mem_log_iov", rc);
        }
        rc = vdm_vq_push(&e->vq, e->c.id, e->wlen);
        if (rc != 0)
            die("vdm_vq_push", rc);
        if (opt_notify) {
            rc = vdm_vq_should_notify(&e->vq);
            if (rc < 0)
                die("vdm_vq_should_notify", rc);
            e->notified += (unsigned)rc;
        }
        n++;
    }
}

/* ---- helpers of both floors -------------------------------------------- */

static inline uint16_t ld_acq16(const uint8_t *p)
{
    return drv_cpu_to_le16(
        __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE));
}

static inline void st_rel16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)p, drv_cpu_to_le16(v),
                     __ATOMIC_RELEASE);
}

/* One descriptor, read once: split {addr, len, flags, next}, packed {addr,
 * len, id, flags}. */
struct fdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t w12, w14;
};

static inline void fetch(struct fdesc *d, const uint8_t *p)
{
    uint8_t b[16];

    memcpy(b, p, 16);
    d->addr = drv_get_le64(b);
    d->len = drv_get_le32(b + 8);
    d->w12 = drv_get_le16(b + 12);
    d->w14 = drv_get_le16(b + 14);
}

/* Split used entry, published at once (+ the notify decision). */
static inline void split_put_used(struct env *e, uint16_t *ui, uint16_t head)
{
    uint8_t *u = e->dev + DRV_SPLIT_USED_RING(*ui & (QSIZE - 1));

    drv_put_le32(u, head);
    drv_put_le32(u + 4, e->wlen);
    (*ui)++;
    st_rel16(e->dev + DRV_SPLIT_USED_IDX, *ui);
    if (opt_notify) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        e->notified += !(drv_get_le16(e->drv + DRV_SPLIT_AVAIL_FLAGS) & 1u);
    }
}

/* Packed used descriptor for a chain of @p nring ring descriptors. */
static inline void packed_put_used(struct env *e, uint16_t *upos,
                                   uint8_t *uwrap, uint16_t id, unsigned nring)
{
    uint8_t *u = e->desc + 16u * *upos;

    drv_put_le32(u + DRV_PDESC_LEN, e->wlen);
    drv_put_le16(u + DRV_PDESC_ID, id);
    st_rel16(u + DRV_PDESC_FLAGS,
             (uint16_t)((*uwrap ? DRV_DESC_F_AVAIL | DRV_DESC_F_USED : 0) |
                        (e->wlen ? DRV_DESC_F_WRITE : 0)));
    *upos = (uint16_t)(*upos + nring);
    if (*upos >= QSIZE) {
        *upos = (uint16_t)(*upos - QSIZE);
        *uwrap ^= 1u;
    }
    if (opt_notify) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        e->notified += (ld_acq16(e->drv + 2u) & 3u) != DRV_EVENT_DISABLE;
    }
}

static inline int packed_avail(uint16_t fl, uint8_t wrap)
{
    return ((fl & DRV_DESC_F_AVAIL) != 0) == (wrap != 0) &&
           ((fl & DRV_DESC_F_USED) != 0) != (wrap != 0);
}

/* ---- raw floor --------------------------------------------------------- */

/* Unchecked translation (the second region, when there is one, lies above
 * the first). */
static inline uint8_t *raw_hva(const struct env *e, uint64_t addr)
{
    if (addr >= GPA2)
        return e->hva1 + (addr - GPA2);
    return e->hva0 + (addr - GPA);
}

static inline unsigned raw_span(struct env *e, unsigned k,
                                const struct fdesc *d, uint16_t fl)
{
    e->fiov[k & 7].base = raw_hva(e, d->addr);
    e->fiov[k & 7].len = d->len;
    e->fiov[k & 7].flags = fl & DRV_DESC_F_WRITE;
    return k + 1;
}

/* Split: avail idx read once per batch, each chain followed through its
 * NEXT links (into its indirect table), one used entry per chain
 * published at once. */
static unsigned drain_floor_split(struct env *e)
{
    const uint16_t mask = QSIZE - 1;
    uint16_t la = e->f_avail, ui = e->f_used;
    unsigned n = 0;

    for (;;) {
        uint16_t ai = ld_acq16(e->drv + DRV_SPLIT_AVAIL_IDX);

        if (ai == la)
            break;
        while (la != ai) {
            uint16_t head =
                drv_get_le16(e->drv + DRV_SPLIT_AVAIL_RING(la & mask));
            const uint8_t *tbl = e->desc;
            uint16_t idx = head;
            unsigned k = 0;

            for (;;) {
                struct fdesc d;

                fetch(&d, tbl + 16u * idx);
                if (d.w12 & DRV_DESC_F_INDIRECT) {
                    tbl = raw_hva(e, d.addr);
                    idx = 0;
                    continue;
                }
                k = raw_span(e, k, &d, d.w12);
                if (!(d.w12 & DRV_DESC_F_NEXT))
                    break;
                idx = d.w14;
            }
            split_put_used(e, &ui, head);
            la++;
            n++;
        }
    }
    e->f_avail = la;
    e->f_used = ui;
    return n;
}

/* Packed: the first descriptor's flags read with acquire, the rest of the
 * list (or its indirect table) plainly, one used descriptor per chain,
 * flags stored last. */
static unsigned drain_floor_packed(struct env *e)
{
    uint16_t pos = e->f_pos, upos = e->f_upos;
    uint8_t wrap = e->f_wrap, uwrap = e->f_uwrap;
    unsigned n = 0;

    for (;;) {
        uint16_t f0 = ld_acq16(e->desc + 16u * pos + DRV_PDESC_FLAGS);
        unsigned k = 0, nring = 0;
        uint16_t id;

        if (!packed_avail(f0, wrap))
            break;
        for (;;) {
            struct fdesc d;

            fetch(&d, e->desc + 16u * pos);
            id = d.w12;
            nring++;
            if (++pos == QSIZE) {
                pos = 0;
                wrap ^= 1u;
            }
            if (d.w14 & DRV_DESC_F_INDIRECT) {
                const uint8_t *tbl = raw_hva(e, d.addr);

                for (uint32_t i = 0; i < d.len / 16u; i++) {
                    struct fdesc t;

                    fetch(&t, tbl + 16u * i);
                    k = raw_span(e, k, &t, t.w14);
                }
                break;
            }
            k = raw_span(e, k, &d, d.w14);
            if (!(d.w14 & DRV_DESC_F_NEXT))
                break;
        }
        packed_put_used(e, &upos, &uwrap, id, nring);
        n++;
    }
    e->f_pos = pos;
    e->f_upos = upos;
    e->f_wrap = wrap;
    e->f_uwrap = uwrap;
    return n;
}

NOINLINE unsigned drain_floor(struct env *e)
{
    return e->packed ? drain_floor_packed(e) : drain_floor_split(e);
}

/* ---- validated floor --------------------------------------------------- */

/* A chain as the validated floor pops it. */
struct vchain {
    uint16_t id;
    uint32_t total;
    unsigned k;
    int seen_write;
};

/* [addr, addr + len) wholly inside one region (hint first), with
 * overflow-safe arithmetic, and not in a read-only region when the device
 * is to write it (a device-writable buffer in read-only host memory would
 * fault the host: the table may have such regions); its host address or
 * NULL. len > 0. The hint is range-checked: the table may change between
 * calls. */
static inline uint8_t *valid_hva(struct env *e, uint64_t addr, uint32_t len,
                                 int write)
{
    uint32_t h = e->f_hint;
    const struct vdm_mem_region *r = &e->mem.regions[h];
    uint64_t off = addr - r->gpa;

    if (h < e->mem.nregions && addr >= r->gpa && off < r->size &&
        len <= r->size - off && !(write && (r->flags & VDM_MEM_REGION_RDONLY)))
        return (uint8_t *)r->hva + off;
    for (uint32_t i = 0; i < e->mem.nregions; i++) {
        r = &e->mem.regions[i];
        off = addr - r->gpa;
        if (addr >= r->gpa && off < r->size && len <= r->size - off) {
            if (write && (r->flags & VDM_MEM_REGION_RDONLY))
                return NULL;
            e->f_hint = i;
            return (uint8_t *)r->hva + off;
        }
    }
    return NULL;
}

/* One data buffer: readable before writable, non-empty, inside one region,
 * running total < 2^32. 0 or -1. */
static inline int valid_span(struct env *e, struct vchain *c,
                             const struct fdesc *d, int write)
{
    uint8_t *p;

    if (d->len == 0 || (!write && c->seen_write) ||
        (uint64_t)c->total + d->len > UINT32_MAX)
        return -1;
    p = valid_hva(e, d->addr, d->len, write);
    if (p == NULL)
        return -1;
    c->seen_write |= write;
    c->total += d->len;
    e->fiov[c->k & 7].base = p;
    e->fiov[c->k & 7].len = d->len;
    e->fiov[c->k & 7].flags = write ? DRV_DESC_F_WRITE : 0;
    c->k++;
    return 0;
}

/* An indirect table: length a non-zero multiple of 16, inside one region;
 * its host address and entry count, or NULL. */
static inline const uint8_t *valid_table(struct env *e, const struct fdesc *d,
                                         uint32_t *n)
{
    if (d->len == 0 || (d->len & 15u) != 0)
        return NULL;
    *n = d->len >> 4;
    return valid_hva(e, d->addr, d->len, 0);
}

static inline int busy_set(struct env *e, uint16_t id)
{
    uint64_t bit = 1ull << (id & 63u);

    if (id >= QSIZE || (e->busy[id >> 6] & bit))
        return -1;
    e->busy[id >> 6] |= bit;
    return 0;
}

/* The push side: the id must be in flight. */
static inline int busy_clear(struct env *e, uint16_t id)
{
    uint64_t bit = 1ull << (id & 63u);

    if (id >= QSIZE || !(e->busy[id >> 6] & bit))
        return -1;
    e->busy[id >> 6] &= ~bit;
    return 0;
}

/* Keeps the push from being folded into the pop (a device does work in
 * between). */
#define BETWEEN_POP_AND_PUSH() __asm__ volatile("" ::: "memory")

static unsigned drain_valid_split(struct env *e)
{
    const uint16_t mask = QSIZE - 1;
    uint16_t la = e->f_avail, ui = e->f_used;
    unsigned n = 0;

    for (;;) {
        uint16_t ai = ld_acq16(e->drv + DRV_SPLIT_AVAIL_IDX);

        if (ai == la)
            break;
        if ((uint16_t)(ai - la) > QSIZE)
            die("validated floor: avail idx", ai);
        while (la != ai) {
            struct vchain c = {0, 0, 0, 0};
            uint16_t head =
                drv_get_le16(e->drv + DRV_SPLIT_AVAIL_RING(la & mask));
            const uint8_t *tbl = e->desc;
            uint32_t tn = QSIZE, steps = 0;
            uint16_t idx = head;

            if (head >= QSIZE || busy_set(e, head) != 0)
                die("validated floor: head", head);
            for (;;) {
                struct fdesc d;

                if (++steps > tn)
                    die("validated floor: chain length", (int)steps);
                fetch(&d, tbl + 16u * idx);
                if (d.w12 & DRV_DESC_F_INDIRECT) {
                    if (tbl != e->desc || (d.w12 & DRV_DESC_F_NEXT))
                        die("validated floor: indirect", 0);
                    tbl = valid_table(e, &d, &tn);
                    if (tbl == NULL)
                        die("validated floor: table", 0);
                    idx = 0;
                    steps = 0;
                    continue;
                }
                if (valid_span(e, &c, &d, (d.w12 & DRV_DESC_F_WRITE) != 0))
                    die("validated floor: buffer", (int)c.k);
                if (!(d.w12 & DRV_DESC_F_NEXT))
                    break;
                if (d.w14 >= tn)
                    die("validated floor: next", d.w14);
                idx = d.w14;
            }
            c.id = head;
            la++;
            BETWEEN_POP_AND_PUSH();
            if (busy_clear(e, c.id) != 0)
                die("validated floor: push", c.id);
            split_put_used(e, &ui, c.id);
            n++;
        }
    }
    e->f_avail = la;
    e->f_used = ui;
    return n;
}

static unsigned drain_valid_packed(struct env *e)
{
    uint16_t pos = e->f_pos, upos = e->f_upos;
    uint8_t wrap = e->f_wrap, uwrap = e->f_uwrap;
    unsigned n = 0;

    for (;;) {
        uint16_t f0 = ld_acq16(e->desc + 16u * pos + DRV_PDESC_FLAGS);
        struct vchain c = {0, 0, 0, 0};
        unsigned nring = 0;

        if (!packed_avail(f0, wrap))
            break;
        for (;;) {
            struct fdesc d;

            if (++nring > QSIZE)
                die("validated floor: chain length", (int)nring);
            fetch(&d, e->desc + 16u * pos);
            /* every descriptor of the list made available (the first
             * one's flags were checked above, with acquire) */
            if (nring > 1 && !packed_avail(d.w14, wrap))
                die("validated floor: not available", (int)nring);
            c.id = d.w12;
            if (++pos == QSIZE) {
                pos = 0;
                wrap ^= 1u;
            }
            if (d.w14 & DRV_DESC_F_INDIRECT) {
                const uint8_t *tbl;
                uint32_t tn;

                if (nring != 1 || (d.w14 & DRV_DESC_F_NEXT))
                    die("validated floor: indirect", 0);
                tbl = valid_table(e, &d, &tn);
                if (tbl == NULL)
                    die("validated floor: table", 0);
                for (uint32_t i = 0; i < tn; i++) {
                    struct fdesc t;

                    fetch(&t, tbl + 16u * i);
                    if ((t.w14 & DRV_DESC_F_INDIRECT) ||
                        valid_span(e, &c, &t, (t.w14 & DRV_DESC_F_WRITE) != 0))
                        die("validated floor: buffer", (int)c.k);
                }
                break;
            }
            if (valid_span(e, &c, &d, (d.w14 & DRV_DESC_F_WRITE) != 0))
                die("validated floor: buffer", (int)c.k);
            if (!(d.w14 & DRV_DESC_F_NEXT))
                break;
        }
        /* ring space: no more descriptors outstanding than the ring has */
        if (e->f_ndesc + nring > QSIZE)
            die("validated floor: ring space", (int)nring);
        if (busy_set(e, c.id) != 0)
            die("validated floor: buffer id", c.id);
        e->f_ndesc += nring;
        e->f_nring[c.id] = (uint16_t)nring;
        BETWEEN_POP_AND_PUSH();
        if (busy_clear(e, c.id) != 0)
            die("validated floor: push", c.id);
        e->f_ndesc -= e->f_nring[c.id];
        packed_put_used(e, &upos, &uwrap, c.id, e->f_nring[c.id]);
        n++;
    }
    e->f_pos = pos;
    e->f_upos = upos;
    e->f_wrap = wrap;
    e->f_uwrap = uwrap;
    return n;
}

NOINLINE unsigned drain_valid(struct env *e)
{
    return e->packed ? drain_valid_packed(e) : drain_valid_split(e);
}

/* ---- measurement ------------------------------------------------------- */

/* One run: fill, time the drain, reap, until MIN_NS of drains. */
static double run(struct env *e, unsigned (*drain)(struct env *))
{
    uint64_t total = 0, chains = 0;

    while (total < MIN_NS) {
        uint64_t t0, t1;
        unsigned n;

        refill(e);
        t0 = now_ns();
        n = drain(e);
        t1 = now_ns();
        if (n != e->per_fill)
            die("drain count", (int)n);
        reap(e, n);
        total += t1 - t0;
        chains += n;
    }
    return (double)total / (double)chains;
}

static const struct {
    int packed;
    unsigned ndesc;
    int layout;
    const char *name;
} cases[] = {
    {0, 1, L_DIRECT, "split1"},     {0, 3, L_DIRECT, "split3"},
    {0, 3, L_TWOREG, "split3-2r"},  {0, 3, L_INDIRECT, "split3-ind"},
    {1, 1, L_DIRECT, "packed1"},    {1, 3, L_DIRECT, "packed3"},
    {1, 3, L_TWOREG, "packed3-2r"}, {1, 3, L_INDIRECT, "packed3-ind"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-ring [--case NAME] [--notify] [--log] [--fills N]\n"
                    "  NAME:");
    for (unsigned i = 0; i < NCASES; i++)
        fprintf(stderr, " %s", cases[i].name);
    fprintf(stderr, "\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct env ev, ef, es; /* vdm's ring, the raw and valid floors' */
    static unsigned (*const drains[3])(struct env *) = {drain_vdm, drain_floor,
                                                        drain_valid};
    struct env *envs[3] = {&ev, &ef, &es};
    const char *only = NULL;
    unsigned long fills = 0; /* 0: timed runs */
    int found = 0;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--notify") == 0) {
            opt_notify = 1;
        } else if (strcmp(argv[a], "--log") == 0) {
            opt_log = 1;
            log_desc = VDM_INIT(struct vdm_dirty_log);
            log_desc.page_shift = 12;
            log_desc.bytes = sizeof(log_map);
            log_desc.bitmap = log_map;
        } else if (strcmp(argv[a], "--case") == 0 && a + 1 < argc) {
            only = argv[++a];
        } else if (strcmp(argv[a], "--fills") == 0 && a + 1 < argc) {
            char *end;

            fills = strtoul(argv[++a], &end, 10);
            if (*end != '\0' || fills == 0)
                usage();
        } else {
            usage();
        }
    }
    for (unsigned i = 0; i < NCASES; i++)
        found |= only == NULL || strcmp(only, cases[i].name) == 0;
    if (!found)
        usage();

    if (fills != 0) {
        printf("bench-ring: queue size %u; fixed work: %lu ring fills per "
               "side%s\n",
               QSIZE, fills, opt_notify ? ", notify decision per push" : "");
    } else {
        printf("bench-ring: queue size %u; a full ring drained per timed "
               "interval (pop + push\n"
               "per chain, each push published%s%s); best of %d runs of >= "
               "%.1f s each\n\n",
               QSIZE, opt_notify ? ", then a notify decision" : "",
               opt_log ? ", dirty logging on for vdm" : "", RUNS,
               (double)MIN_NS / 1e9);
        printf("%-12s %6s %6s %8s %8s %8s %8s %8s\n", "row", "desc", "chains",
               "vdm ns", "raw ns", "valid ns", "vdm/raw", "vdm/valid");
    }
    for (unsigned i = 0; i < NCASES; i++) {
        double best[3] = {0, 0, 0};

        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        for (int s = 0; s < 3; s++)
            env_init(envs[s], cases[i].packed, cases[i].ndesc, cases[i].layout);
        if (fills != 0) {
            for (unsigned long k = 0; k < fills; k++) {
                for (int s = 0; s < 3; s++) {
                    refill(envs[s]);
                    if (drains[s](envs[s]) != envs[s]->per_fill)
                        die("drain count", s);
                    reap(envs[s], envs[s]->per_fill);
                }
            }
            printf("case %s chains %lu\n", cases[i].name, fills * ev.per_fill);
        } else {
            for (int r = 0; r < RUNS; r++) {
                for (int s = 0; s < 3; s++) {
                    double v = run(envs[s], drains[s]);

                    if (r == 0 || v < best[s])
                        best[s] = v;
                }
            }
            printf("%-12s %6u %6u %8.1f %8.1f %8.1f %8.2f %8.2f\n",
                   cases[i].name, cases[i].ndesc, ev.per_fill, best[0], best[1],
                   best[2], best[0] / best[1], best[0] / best[2]);
            fflush(stdout);
        }
        for (int s = 0; s < 3; s++)
            env_fini(envs[s]);
    }
    return 0;
}
