/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-ring: what vdm's device side costs per descriptor chain, against a
 * floor measured in the same run.
 *
 * For each ring format (split, packed) and chain shape (1 descriptor: one
 * 512-byte device-writable buffer; 3 descriptors: 16-byte and 512-byte
 * readable buffers and a 1-byte writable status, as a block write), queue
 * size 256:
 *
 *   - the driver simulator (tests/driver) fills the ring with as many chains
 *     as fit and publishes them (untimed);
 *   - the device drains the ring: every chain popped and pushed back with
 *     its written length, each push published at once (timed);
 *   - the driver collects and checks the used buffers (untimed).
 *
 * "vdm" drains with vdm_vq_pop() + vdm_vq_push(). The "floor" drains the
 * same kind of ring (a second, identically prepared one) with the least any
 * device must do: read each avail entry / descriptor once, turn each buffer
 * into a host pointer (unchecked base + offset) and length, write the used
 * entry and publish it with a release store -- no validation at all. The
 * driver simulator checks what the floor wrote just as it checks vdm.
 *
 * Nanoseconds per chain are total timed nanoseconds over chains, for runs
 * of at least 0.2 s of timed work; each figure is the best of 3 runs, the
 * runs of vdm and floor alternating. Hosted benchmark code.
 *
 * Options:
 *   --case NAME  run only split1, split3, packed1 or packed3;
 *   --notify     follow every push with a used-buffer notification decision
 *                (vdm_vq_should_notify(); the floor: full fence and a load
 *                of the driver's flags);
 *   --fills N    fixed work instead of timing: one run of exactly N ring
 *                fills per side, printing the chain count. Meant for
 *                instruction counts under valgrind --tool=callgrind with
 *                --toggle-collect=drain_vdm / drain_floor (the drains are
 *                never inlined), which stay repeatable on a loaded machine;
 *                scripts/bench --insns does that.
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
#define GSIZE   (16ull << 20)
#define MIN_NS  200000000ull /* timed nanoseconds per run */
#define RUNS    3
#define MAXPART 2

#define NOINLINE __attribute__((noinline))

static int opt_notify; /* --notify */

/* One prepared ring, drained either by vdm or by the floor. */
struct env {
    struct drv_guest g;
    struct vdm_mem_region reg;
    struct vdm_mem mem;
    struct drv_vq dq;
    int packed;
    unsigned nout, nin; /* chain shape */
    uint32_t wlen;      /* bytes reported written per chain */
    unsigned per_fill;  /* chains per ring fill */
    struct drv_buf out[QSIZE][MAXPART], in[QSIZE][MAXPART];

    /* vdm */
    struct vdm_vq vq;
    uint32_t slots[VDM_VQ_SLOTS(QSIZE)];
    struct vdm_iov iov[8];
    struct vdm_chain c;

    /* floor */
    uint8_t *desc, *drv, *dev; /* ring areas */
    uint8_t *hva0;             /* host address of GPA */
    uint16_t f_avail;          /* split: next avail entry */
    uint16_t f_used;           /* split: used idx */
    uint16_t f_pos, f_upos;    /* packed: next descriptor / used slot */
    uint8_t f_wrap, f_uwrap;   /* packed: their wrap counters */
    struct vdm_iov fiov[8];    /* the floor's "spans" */
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

static void env_init(struct env *e, int packed, unsigned ndesc)
{
    uint64_t gpa = GPA, size = GSIZE, feat;
    struct vdm_vq_config cfg = VDM_INIT(struct vdm_vq_config);
    int rc;

    memset(e, 0, sizeof(*e));
    if (drv_guest_init(&e->g, &gpa, &size, 1) != 0)
        die("drv_guest_init", -1);
    e->reg.gpa = e->g.regions[0].gpa;
    e->reg.size = e->g.regions[0].size;
    e->reg.hva = e->g.regions[0].hva;
    e->mem = VDM_INIT(struct vdm_mem);
    e->mem.nregions = 1;
    e->mem.regions = &e->reg;
    e->packed = packed;
    feat = VDM_F_VERSION_1 | (packed ? VDM_F_RING_PACKED : 0);
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
    e->per_fill = QSIZE / ndesc;
    for (unsigned j = 0; j < e->per_fill; j++) {
        if (ndesc == 1) {
            e->in[j][0].len = 512;
            e->in[j][0].gpa = drv_alloc(&e->g, 512, 64);
        } else {
            e->out[j][0].len = 16;
            e->out[j][0].gpa = drv_alloc(&e->g, 16, 16);
            e->out[j][1].len = 512;
            e->out[j][1].gpa = drv_alloc(&e->g, 512, 64);
            e->in[j][0].len = 1;
            e->in[j][0].gpa = drv_alloc(&e->g, 1, 1);
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
    for (unsigned j = 0; j < e->per_fill; j++) {
        int id = drv_vq_add(&e->dq, e->out[j], e->nout, e->in[j], e->nin,
                            DRV_ADD_DIRECT, NULL);
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

/* ---- floor ------------------------------------------------------------- */

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

/* Split: avail idx read once per batch, each chain followed through its
 * NEXT links, one used entry per chain published at once. */
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
            uint16_t idx = head;
            unsigned k = 0;
            uint8_t *u;

            for (;;) {
                uint8_t d[16];
                uint16_t fl;

                memcpy(d, e->desc + 16u * idx, 16);
                fl = drv_get_le16(d + DRV_SDESC_FLAGS);
                e->fiov[k & 7].base =
                    e->hva0 + (drv_get_le64(d + DRV_SDESC_ADDR) - GPA);
                e->fiov[k & 7].len = drv_get_le32(d + DRV_SDESC_LEN);
                e->fiov[k & 7].flags = fl & DRV_DESC_F_WRITE;
                k++;
                if (!(fl & DRV_DESC_F_NEXT))
                    break;
                idx = drv_get_le16(d + DRV_SDESC_NEXT);
            }
            u = e->dev + DRV_SPLIT_USED_RING(ui & mask);
            drv_put_le32(u, head);
            drv_put_le32(u + 4, e->wlen);
            ui++;
            st_rel16(e->dev + DRV_SPLIT_USED_IDX, ui);
            if (opt_notify) {
                __atomic_thread_fence(__ATOMIC_SEQ_CST);
                e->notified +=
                    !(drv_get_le16(e->drv + DRV_SPLIT_AVAIL_FLAGS) & 1u);
            }
            la++;
            n++;
        }
    }
    e->f_avail = la;
    e->f_used = ui;
    return n;
}

/* Packed: the first descriptor's flags read with acquire, the rest of the
 * list plainly, one used descriptor per chain, flags stored last. */
static unsigned drain_floor_packed(struct env *e)
{
    uint16_t pos = e->f_pos, upos = e->f_upos;
    uint8_t wrap = e->f_wrap, uwrap = e->f_uwrap;
    unsigned n = 0;

    for (;;) {
        uint16_t f0 = ld_acq16(e->desc + 16u * pos + DRV_PDESC_FLAGS);
        uint16_t id = 0, fl = f0;
        unsigned k = 0;
        uint8_t *u;

        if (((f0 & DRV_DESC_F_AVAIL) != 0) != (wrap != 0) ||
            ((f0 & DRV_DESC_F_USED) != 0) == (wrap != 0))
            break;
        for (;;) {
            uint8_t d[16];

            memcpy(d, e->desc + 16u * pos, 16);
            if (k != 0)
                fl = drv_get_le16(d + DRV_PDESC_FLAGS);
            e->fiov[k & 7].base =
                e->hva0 + (drv_get_le64(d + DRV_PDESC_ADDR) - GPA);
            e->fiov[k & 7].len = drv_get_le32(d + DRV_PDESC_LEN);
            e->fiov[k & 7].flags = fl & DRV_DESC_F_WRITE;
            id = drv_get_le16(d + DRV_PDESC_ID);
            k++;
            if (++pos == QSIZE) {
                pos = 0;
                wrap ^= 1u;
            }
            if (!(fl & DRV_DESC_F_NEXT))
                break;
        }
        u = e->desc + 16u * upos;
        drv_put_le32(u + DRV_PDESC_LEN, e->wlen);
        drv_put_le16(u + DRV_PDESC_ID, id);
        st_rel16(u + DRV_PDESC_FLAGS,
                 (uint16_t)((uwrap ? DRV_DESC_F_AVAIL | DRV_DESC_F_USED : 0) |
                            (e->wlen ? DRV_DESC_F_WRITE : 0)));
        upos = (uint16_t)(upos + k);
        if (upos >= QSIZE) {
            upos = (uint16_t)(upos - QSIZE);
            uwrap ^= 1u;
        }
        if (opt_notify) {
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            e->notified += (ld_acq16(e->drv + 2u) & 3u) != DRV_EVENT_DISABLE;
        }
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

static void usage(void)
{
    fprintf(stderr, "usage: bench-ring [--case split1|split3|packed1|packed3] "
                    "[--notify] [--fills N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct env ev, ef; /* vdm's ring and the floor's */
    static const struct {
        int packed;
        unsigned ndesc;
        const char *name;
    } cases[] = {{0, 1, "split1"},
                 {0, 3, "split3"},
                 {1, 1, "packed1"},
                 {1, 3, "packed3"}};
    const char *only = NULL;
    unsigned long fills = 0; /* 0: timed runs */

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--notify") == 0) {
            opt_notify = 1;
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

    if (fills != 0) {
        printf("bench-ring: queue size %u; fixed work: %lu ring fills per "
               "side%s\n",
               QSIZE, fills, opt_notify ? ", notify decision per push" : "");
    } else {
        printf("bench-ring: queue size %u; a full ring drained per timed "
               "interval (pop + push\n"
               "per chain, each push published%s); best of %d runs of >= "
               "%.1f s each\n\n",
               QSIZE, opt_notify ? ", then a notify decision" : "", RUNS,
               (double)MIN_NS / 1e9);
        printf("%-7s %11s %11s %13s %15s %10s\n", "ring", "desc/chain",
               "chains/fill", "vdm ns/chain", "floor ns/chain", "vdm/floor");
    }
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double best_v = 0, best_f = 0;

        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        env_init(&ev, cases[i].packed, cases[i].ndesc);
        env_init(&ef, cases[i].packed, cases[i].ndesc);
        if (fills != 0) {
            for (unsigned long k = 0; k < fills; k++) {
                refill(&ev);
                if (drain_vdm(&ev) != ev.per_fill)
                    die("drain count", -1);
                reap(&ev, ev.per_fill);
                refill(&ef);
                if (drain_floor(&ef) != ef.per_fill)
                    die("drain count", -1);
                reap(&ef, ef.per_fill);
            }
            printf("case %s chains %lu\n", cases[i].name, fills * ev.per_fill);
            env_fini(&ev);
            env_fini(&ef);
            continue;
        }
        for (int r = 0; r < RUNS; r++) {
            double v = run(&ev, drain_vdm);
            double f = run(&ef, drain_floor);

            if (r == 0 || v < best_v)
                best_v = v;
            if (r == 0 || f < best_f)
                best_f = f;
        }
        printf("%-7s %11u %11u %13.1f %15.1f %10.2f\n",
               cases[i].packed ? "packed" : "split", cases[i].ndesc,
               ev.per_fill, best_v, best_f, best_v / best_f);
        fflush(stdout);
        env_fini(&ev);
        env_fini(&ef);
    }
    if (only != NULL && strcmp(only, "split1") != 0 &&
        strcmp(only, "split3") != 0 && strcmp(only, "packed1") != 0 &&
        strcmp(only, "packed3") != 0)
        usage();
    return 0;
}
