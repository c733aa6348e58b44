/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Traditional memory balloon: spec section "Traditional Memory Balloon
 * Device" (device-types/balloon).
 *
 * Every request is served as soon as it is popped and answered with used
 * length 0 (the device writes nothing into any balloon buffer), except the
 * stats buffer, which the device keeps until the host wants fresh
 * statistics ("Memory Statistics": "The device pops the buffer (retaining
 * it to initiate a subsequent request)").
 *
 * Guest-chosen addresses: a PFN names a 4 KiB page in guest space. It is
 * acted on only when the whole page lies inside one writable region of the
 * memory map; scatter-gather spans (free page hints and reports) are mapped
 * by the kit and turned back into guest addresses through the same table.
 * Anything else is skipped, counted and logged once per reset.
 */
#include "vdm/devices/balloon.h"

#include "abi_internal.h"
#include "vdm/kit.h"

#define BAL_MAGIC 0x62616c6cu /* "ball" */

/* Two slots a queue: the statsq keeps one buffer while the next arrives. */
#define BAL_PER_QUEUE  2u
#define BAL_SLOT_BYTES VDM_KIT_SLOT_BYTES(0)
#define BAL_NQ         ((uint32_t)VDM_BALLOON_MAX_QUEUES)

/* PFNs read from guest memory per step of an inflate/deflate request. */
#define BAL_PFN_CHUNK 64u

#define BAL_WARN_PFN      1u   /* PFN outside the memory map */
#define BAL_WARN_ODD      2u   /* array length not a multiple of 4 */
#define BAL_WARN_LONG     4u   /* more than VDM_BALLOON_PFNS_MAX PFNs */
#define BAL_WARN_WRITE    8u   /* writable part where none belongs */
#define BAL_WARN_STATSLEN 16u  /* stats buffer not a multiple of 10 */
#define BAL_WARN_CFG      32u  /* write to a read-only config field */
#define BAL_WARN_CMD      64u  /* free page command of a wrong size or id */
#define BAL_WARN_SPAN     128u /* hinted/reported span outside the map */
#define BAL_WARN_QUEUE    256u /* request on a queue that does not exist */
#define BAL_WARN_READ     512u /* readable part in a hint/report chain */

struct bal_state {
    uint32_t magic;
    uint32_t warned; /* BAL_WARN_* logged since the last reset */
    struct vdm_kit kit;
    struct vdm_dev *dev;
    struct vdm_balloon_ops ops; /* the caller's table, full size */
    void *host;
    uint64_t offered; /* VDM_BALLOON_F_* offered */
    uint32_t num_pages;
    uint32_t actual;
    uint32_t cmd_id;      /* free_page_hint_cmd_id */
    uint32_t next_cmd_id; /* next id vdm_balloon_hint_start() hands out */
    uint32_t hint_id;     /* id the driver is hinting under, 0: none */
    uint32_t poison;
    uint8_t role[BAL_NQ]; /* queue number -> VDM_BALLOON_Q_* */
    uint8_t reserved[3];
    struct vdm_kit_req *stats_held; /* the stats buffer the device keeps */
    struct vdm_balloon_counters cnt;
    uint64_t stat_val[VDM_BALLOON_S_NR];
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(BAL_NQ, BAL_PER_QUEUE,
                                                       BAL_SLOT_BYTES)];
    struct vdm_iov
        iov[VDM_KIT_IOVS(BAL_NQ, BAL_PER_QUEUE, VDM_BALLOON_IOV_MAX)];
};

_Static_assert(sizeof(struct bal_state) <= (size_t)VDM_BALLOON_SIZE,
               "VDM_BALLOON_SIZE too small for struct bal_state");
_Static_assert((size_t)alignof(struct bal_state) <=
                   (size_t)alignof(struct vdm_balloon),
               "struct bal_state needs more alignment than vdm_balloon has");

static struct bal_state *bal_of(const struct vdm_balloon *b)
{
    struct bal_state *s;

    if (b == NULL) {
        return NULL;
    }
    s = (struct bal_state *)(void *)(uintptr_t)b->opaque;
    return (s->magic == BAL_MAGIC) ? s : NULL;
}

static void bal_warn(struct bal_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

/* "Virtqueues": inflateq and deflateq, then statsq, free_page_vq and
 * reporting_vq for the features in @p f, numbered one after the other as
 * Linux's virtio_find_vqs() does (a queue that does not exist takes no
 * number). */
static void bal_number_queues(struct bal_state *s, uint64_t f)
{
    uint32_t n;

    for (uint32_t i = 0u; i < BAL_NQ; i++) {
        s->role[i] = (uint8_t)VDM_BALLOON_Q_NONE;
    }
    s->role[0] = (uint8_t)VDM_BALLOON_Q_INFLATE;
    s->role[1] = (uint8_t)VDM_BALLOON_Q_DEFLATE;
    n = 2u;
    if ((f & VDM_BALLOON_F_STATS_VQ) != 0u) {
        s->role[n] = (uint8_t)VDM_BALLOON_Q_STATS;
        n++;
    }
    if ((f & VDM_BALLOON_F_FREE_PAGE_HINT) != 0u) {
        s->role[n] = (uint8_t)VDM_BALLOON_Q_FREE_PAGE;
        n++;
    }
    if ((f & VDM_BALLOON_F_REPORTING) != 0u) {
        s->role[n] = (uint8_t)VDM_BALLOON_Q_REPORTING;
    }
}

static uint16_t bal_queues_for(uint64_t f)
{
    uint16_t n = 2;

    n = (uint16_t)(n + (((f & VDM_BALLOON_F_STATS_VQ) != 0u) ? 1u : 0u));
    n = (uint16_t)(n + (((f & VDM_BALLOON_F_FREE_PAGE_HINT) != 0u) ? 1u : 0u));
    n = (uint16_t)(n + (((f & VDM_BALLOON_F_REPORTING) != 0u) ? 1u : 0u));
    return n;
}

/* The region holding [gpa, gpa + len) whole and writable, or NULL. */
static const struct vdm_mem_region *bal_region(const struct bal_state *s,
                                               uint64_t gpa, uint64_t len)
{
    const struct vdm_mem *m = vdm_dev_mem(s->dev);

    if ((m == NULL) || (m->regions == NULL)) {
        return NULL;
    }
    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct vdm_mem_region *r = &m->regions[i];
        if ((r->size == 0u) || (r->hva == NULL) || (gpa < r->gpa)) {
            continue;
        }
        if (((gpa - r->gpa) > r->size) || (len > (r->size - (gpa - r->gpa)))) {
            continue;
        }
        if ((r->flags & VDM_MEM_REGION_RDONLY) != 0u) {
            return NULL;
        }
        return r;
    }
    return NULL;
}

/* The guest address of a span the kit mapped from a region, or UINT64_MAX
 * (a hook mapping, a read-only region, or no region holds it whole). */
static uint64_t bal_span_gpa(const struct bal_state *s, const struct vdm_iov *v)
{
    const struct vdm_mem *m = vdm_dev_mem(s->dev);
    uintptr_t p = (uintptr_t)v->base;

    if ((m == NULL) || (m->regions == NULL) ||
        ((v->flags & VDM_IOV_F_HOOK) != 0u)) {
        return UINT64_MAX;
    }
    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct vdm_mem_region *r = &m->regions[i];
        uintptr_t h = (uintptr_t)r->hva;
        if ((r->size == 0u) || (r->hva == NULL) || (p < h)) {
            continue;
        }
        if (((uint64_t)(p - h) > r->size) ||
            ((uint64_t)v->len > (r->size - (uint64_t)(p - h)))) {
            continue;
        }
        if ((r->flags & VDM_MEM_REGION_RDONLY) != 0u) {
            return UINT64_MAX;
        }
        return r->gpa + (uint64_t)(p - h);
    }
    return UINT64_MAX;
}

/* A run of adjacent pages of one inflate/deflate request. */
struct bal_run {
    const struct vdm_mem_region *r;
    uint64_t gpa;
    uint64_t len;
};

static void bal_flush(struct bal_state *s, struct bal_run *run, int inflate)
{
    int rc = 0;
    void *hva;
    uint64_t pages;

    if (run->len == 0u) {
        return;
    }
    hva = (unsigned char *)run->r->hva + (run->gpa - run->r->gpa);
    pages = run->len / VDM_BALLOON_PAGE_BYTES;
    if (inflate != 0) {
        if ((s->ops.release != NULL)) {
            rc = s->ops.release(s->host, run->gpa, hva, run->len);
        }
        s->cnt.inflated += pages;
    } else {
        if ((s->ops.acquire != NULL)) {
            rc = s->ops.acquire(s->host, run->gpa, hva, run->len);
        }
        s->cnt.deflated += pages;
    }
    if (rc < 0) {
        s->cnt.host_errors++;
    }
    run->len = 0;
}

/* Add page @p pfn to the run, flushing it when the page does not extend it. */
static void bal_page(struct bal_state *s, struct bal_run *run, uint32_t pfn,
                     int inflate)
{
    uint64_t gpa = (uint64_t)pfn * VDM_BALLOON_PAGE_BYTES;
    const struct vdm_mem_region *r;

    /* A run holds at least one page of its region: size >= 4096. */
    if ((run->len != 0u) && (gpa == (run->gpa + run->len)) &&
        ((gpa - run->r->gpa) <= (run->r->size - VDM_BALLOON_PAGE_BYTES))) {
        run->len += VDM_BALLOON_PAGE_BYTES;
        return;
    }
    r = bal_region(s, gpa, VDM_BALLOON_PAGE_BYTES);
    if (r == NULL) {
        s->cnt.rejected++;
        bal_warn(s, BAL_WARN_PFN, "balloon: PFN outside guest memory skipped");
        return;
    }
    bal_flush(s, run, inflate);
    run->r = r;
    run->gpa = gpa;
    run->len = VDM_BALLOON_PAGE_BYTES;
}

/* "Device Operation": an inflate or deflate request is a device-readable
 * array of le32 PFNs. Each PFN is read once, checked, then acted on. */
static void bal_pfns(struct bal_state *s, struct vdm_kit_req *r, int inflate)
{
    uint8_t buf[BAL_PFN_CHUNK * 4u];
    struct bal_run run = {NULL, 0, 0};
    uint32_t npfn = r->chain.read_len / 4u;
    size_t off = 0;

    if (r->chain.write_len != 0u) {
        bal_warn(s, BAL_WARN_WRITE,
                 "balloon: writable part of a PFN array ignored");
    }
    if ((r->chain.read_len % 4u) != 0u) {
        bal_warn(s, BAL_WARN_ODD,
                 "balloon: PFN array not a multiple of 4 bytes, tail ignored");
    }
    if (npfn > VDM_BALLOON_PFNS_MAX) {
        bal_warn(s, BAL_WARN_LONG, "balloon: PFN array too long, tail skipped");
        s->cnt.rejected += npfn - VDM_BALLOON_PFNS_MAX;
        npfn = VDM_BALLOON_PFNS_MAX;
    }
    while (npfn > 0u) {
        uint32_t n = (npfn < BAL_PFN_CHUNK) ? npfn : BAL_PFN_CHUNK;
        size_t want = (size_t)n * 4u;
        size_t got = vdm_chain_copy_from(&r->chain, off, buf, want);

        for (uint32_t i = 0; i < (uint32_t)(got / 4u); i++) {
            bal_page(s, &run, vdm_le32(&buf[i * 4u]), inflate);
        }
        if (got < want) {
            break; /* the chain ended early (cut to the spans a slot holds) */
        }
        off += got;
        npfn -= n;
    }
    bal_flush(s, &run, inflate);
}

/* "Memory Statistics": an array of 10-byte (le16 tag, le64 value) entries;
 * unknown tags are ignored, entries come in any order. */
static void bal_stats(struct bal_state *s, struct vdm_kit_req *r)
{
    uint8_t buf[VDM_BALLOON_STATS_MAX * VDM_BALLOON_STAT_BYTES];
    uint32_t len = r->chain.read_len;
    uint32_t valid = 0;
    size_t got;

    if (r->chain.write_len != 0u) {
        bal_warn(s, BAL_WARN_WRITE,
                 "balloon: writable part of a stats buffer ignored");
    }
    if ((len % VDM_BALLOON_STAT_BYTES) != 0u) {
        bal_warn(s, BAL_WARN_STATSLEN,
                 "balloon: stats buffer not a multiple of 10 bytes");
    }
    if (len > sizeof(buf)) {
        len = (uint32_t)sizeof(buf);
    }
    got = vdm_chain_copy_from(&r->chain, 0, buf, len);
    for (size_t o = 0u; (o + VDM_BALLOON_STAT_BYTES) <= got;
         o += VDM_BALLOON_STAT_BYTES) {
        uint16_t tag = vdm_le16(&buf[o]);
        if (tag >= VDM_BALLOON_S_NR) {
            continue;
        }
        s->stat_val[tag] = vdm_le64(&buf[o + 2u]);
        valid |= (uint32_t)1u << tag;
    }
    s->cnt.stats++;
    if ((s->ops.stats != NULL)) {
        s->ops.stats(s->host, valid, s->stat_val);
    }
}

/* Hand each writable span of a hint or report chain to @p report (1) or to
 * the hint hook (0) with its guest address. */
static void bal_spans(struct bal_state *s, struct vdm_kit_req *r, int report)
{
    const struct vdm_chain *c = &r->chain;
    uint32_t n = c->nread + c->nwrite;
    uint32_t flags = 0;

    if (((vdm_dev_features(s->dev) & VDM_BALLOON_F_PAGE_POISON) != 0u) &&
        (s->poison != 0u)) {
        flags |= VDM_BALLOON_REPORT_KEEP;
    }
    if (c->read_len != 0u) {
        bal_warn(s, BAL_WARN_READ,
                 "balloon: readable part of a page list ignored");
    }
    for (uint32_t i = 0u; (i < n) && (i < c->iov_cap); i++) {
        const struct vdm_iov *v = &c->iov[i];
        uint64_t gpa;
        if (((v->flags & VDM_IOV_F_WRITE) == 0u) || (v->len == 0u)) {
            continue;
        }
        gpa = bal_span_gpa(s, v);
        if (gpa == UINT64_MAX) {
            s->cnt.rejected++;
            bal_warn(s, BAL_WARN_SPAN,
                     "balloon: page range outside guest memory skipped");
            continue;
        }
        if (report != 0) {
            s->cnt.reported += v->len;
            if ((s->ops.report != NULL)) {
                s->ops.report(s->host, gpa, v->base, v->len, flags);
            }
        } else {
            s->cnt.hinted += v->len;
            if ((s->ops.hint != NULL)) {
                s->ops.hint(s->host, s->hint_id, gpa, v->base, v->len);
            }
        }
    }
}

/* "Free Page Hinting": a 4-byte output buffer carries a command id (the
 * current one starts a round, STOP ends it); input buffers are hinted
 * pages, acted on only under the current id. */
static void bal_free_page(struct bal_state *s, struct vdm_kit_req *r)
{
    uint8_t idb[4];
    uint32_t id;

    if (r->chain.read_len == 0u) {
        if ((s->hint_id >= 2u) && (s->hint_id == s->cmd_id)) {
            bal_spans(s, r, 0);
        }
        /* else "The device MUST ignore pages that are provided with a
         * command ID that does not match the current value". */
        return;
    }
    if ((r->chain.read_len != 4u) ||
        vdm_chain_copy_from(&r->chain, 0, idb, 4) != 4u) {
        bal_warn(s, BAL_WARN_CMD,
                 "balloon: free page command not 4 bytes, ignored");
        return;
    }
    id = vdm_le32(idb);
    if (id == VDM_BALLOON_CMD_ID_STOP) {
        if ((s->hint_id != 0u) && (s->ops.hint != NULL)) {
            s->ops.hint(s->host, s->hint_id, 0, NULL, 0);
        }
        s->hint_id = 0;
    } else if ((id >= 2u) && (id == s->cmd_id)) {
        s->hint_id = id;
    } else {
        bal_warn(s, BAL_WARN_CMD,
                 "balloon: free page command id not current, ignored");
        s->hint_id = 0;
    }
}

static int bal_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct bal_state *s = ctx;
    uint32_t role =
        (r->queue < BAL_NQ) ? s->role[r->queue] : VDM_BALLOON_Q_NONE;

    *written = 0;
    switch (role) {
    case VDM_BALLOON_Q_INFLATE: bal_pfns(s, r, 1); break;
    case VDM_BALLOON_Q_DEFLATE: bal_pfns(s, r, 0); break;
    case VDM_BALLOON_Q_STATS:
        /* "The driver MUST make at most one buffer available": one kept
         * already is given back before this one is kept. */
        if (s->stats_held != NULL) {
            (void)vdm_kit_finish(&s->kit, s->stats_held, 0);
            s->stats_held = NULL;
        }
        bal_stats(s, r);
        s->stats_held = r;
        return VDM_KIT_PENDING;
    case VDM_BALLOON_Q_FREE_PAGE: bal_free_page(s, r); break;
    case VDM_BALLOON_Q_REPORTING: bal_spans(s, r, 1); break;
    default:
        bal_warn(s, BAL_WARN_QUEUE,
                 "balloon: request on a queue not negotiated, returned");
        break;
    }
    return VDM_KIT_DONE;
}

/* Prefix: the spans that fit a slot are a valid shorter request. */
static const struct vdm_kit_queue bal_queues[] = {
    {.serve = bal_serve, .status_at = VDM_KIT_STATUS_PREFIX},
};

/* --- device class hooks ------------------------------------------------ */

/* "Feature bits": "If the device offers the VIRTIO_BALLOON_F_MUST_TELL_HOST
 * feature bit, and if the driver did not accept this feature bit, the
 * device MAY signal failure by failing to set FEATURES_OK". The queues are
 * numbered for what the driver accepted. */
static int bal_features_ok(struct vdm_dev *d, uint64_t accepted)
{
    struct bal_state *s = vdm_dev_priv(d);

    if (((s->offered & VDM_BALLOON_F_MUST_TELL_HOST) != 0u) &&
        ((accepted & VDM_BALLOON_F_MUST_TELL_HOST) == 0u)) {
        return VDM_EINVAL;
    }
    bal_number_queues(s, accepted);
    return 0;
}

static void bal_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct bal_state *s = vdm_dev_priv(d);

    (void)vdm_kit_run(&s->kit, q);
}

static void bal_driver_ok(struct vdm_dev *d)
{
    struct bal_state *s = vdm_dev_priv(d);

    /* Buffers posted before DRIVER_OK (the first stats buffer) are
     * served now. */
    for (uint16_t q = 0; q < vdm_dev_num_queues(d); q++) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

/* The kept stats buffer after a reset abandoned it: the kit drops it (its
 * hook spans given back, its slot freed; no guest access, no interrupt). */
static void bal_drop_held(struct bal_state *s)
{
    if (s->stats_held != NULL) {
        (void)vdm_kit_finish(&s->kit, s->stats_held, 0u);
        s->stats_held = NULL;
    }
}

static void bal_reset(struct vdm_dev *d)
{
    struct bal_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, UINT16_MAX);
    bal_drop_held(s);
    s->warned = 0;
    s->actual = 0;
    s->poison = 0;
    s->hint_id = 0;
    s->cmd_id = VDM_BALLOON_CMD_ID_STOP;
    bal_number_queues(s, s->offered);
}

static void bal_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct bal_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, q);
    if ((s->stats_held != NULL) && (s->stats_held->queue == q)) {
        bal_drop_held(s);
    }
}

static void bal_config_image(const struct bal_state *s,
                             uint8_t img[VDM_BALLOON_CONFIG_BYTES])
{
    vdm_put_le32(&img[VDM_BALLOON_CFG_NUM_PAGES], s->num_pages);
    vdm_put_le32(&img[VDM_BALLOON_CFG_ACTUAL], s->actual);
    vdm_put_le32(&img[VDM_BALLOON_CFG_CMD_ID], s->cmd_id);
    vdm_put_le32(&img[VDM_BALLOON_CFG_POISON], s->poison);
}

static void bal_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    struct bal_state *s = vdm_dev_priv(d);
    uint8_t img[VDM_BALLOON_CONFIG_BYTES];

    bal_config_image(s, img);
    vdm_kit_config_copy(img, sizeof(img), off, buf, len);
}

/* `actual` is the driver's ("The driver MUST update actual"); poison_val is
 * the driver's with PAGE_POISON, before DRIVER_OK ("MUST NOT modify
 * poison_val while the DRIVER_OK bit is set"). The rest is read-only. Bytes
 * are merged one by one, so partial writes land where they belong. */
static void bal_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    struct bal_state *s = vdm_dev_priv(d);
    const uint8_t *p = buf;
    uint8_t img[VDM_BALLOON_CONFIG_BYTES];
    uint32_t poison_ok = 0u;
    int actual_written = 0;

    if (((vdm_dev_driver_features(d) & VDM_BALLOON_F_PAGE_POISON) != 0u) &&
        ((vdm_dev_status(d) & VDM_STATUS_DRIVER_OK) == 0u)) {
        poison_ok = 1u;
    }
    bal_config_image(s, img);
    for (uint32_t i = 0; i < len; i++) {
        uint32_t o = off + i;
        if ((o >= VDM_BALLOON_CFG_ACTUAL) && (o < VDM_BALLOON_CFG_CMD_ID)) {
            img[o] = p[i];
            actual_written = 1;
        } else if ((o >= VDM_BALLOON_CFG_POISON) &&
                   (o < (uint32_t)VDM_BALLOON_CONFIG_BYTES) &&
                   (poison_ok != 0u)) {
            img[o] = p[i];
        } else {
            bal_warn(s, BAL_WARN_CFG,
                     "balloon: write to read-only config ignored");
        }
    }
    s->actual = vdm_le32(&img[VDM_BALLOON_CFG_ACTUAL]);
    s->poison = vdm_le32(&img[VDM_BALLOON_CFG_POISON]);
    if ((actual_written != 0) && (s->ops.actual != NULL)) {
        s->ops.actual(s->host, s->actual);
    }
}

#if VDM_CONFIG_STATE /* vdm/config.h: save and restore */
/* Save and restore (vdm/state.h): 24 bytes, le32 each: num_pages,
 * actual, free_page_hint_cmd_id, the next command id, the id the driver is
 * hinting under, poison_val (docs/state-format.md). */
#define BAL_STATE_BYTES 24u

static int bal_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct bal_state *s = vdm_dev_priv(d);
    uint8_t *p = buf;
    int rc = (int)BAL_STATE_BYTES;

    if ((s == NULL) || (s->magic != BAL_MAGIC)) {
        rc = VDM_EINVAL;
    } else if (p == NULL) {
        /* the size only */
    } else if (len < BAL_STATE_BYTES) {
        rc = VDM_ENOSPC;
    } else {
        vdm_put_le32(p, s->num_pages);
        vdm_put_le32(&p[4], s->actual);
        vdm_put_le32(&p[8], s->cmd_id);
        vdm_put_le32(&p[12], s->next_cmd_id);
        vdm_put_le32(&p[16], s->hint_id);
        vdm_put_le32(&p[20], s->poison);
    }
    return rc;
}

/* Spec "Traditional Memory Balloon Device": command ids are STOP, DONE or
 * one the device handed out (>= 2); poison_val is written only with
 * PAGE_POISON. The host hears the restored `actual`. */
static int bal_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct bal_state *s = vdm_dev_priv(d);
    const uint8_t *p = buf;
    uint32_t cmd;
    uint32_t next;
    uint32_t hint;
    uint32_t poison;

    if ((s == NULL) || (p == NULL) || (len != BAL_STATE_BYTES)) {
        return VDM_EINVAL;
    }
    cmd = vdm_le32(&p[8]);
    next = vdm_le32(&p[12]);
    hint = vdm_le32(&p[16]);
    poison = vdm_le32(&p[20]);
    if ((next < 2u) || (hint == VDM_BALLOON_CMD_ID_DONE) ||
        ((cmd >= 2u) && (cmd != (next - 1u)) &&
         ((cmd != UINT32_MAX) || (next != 2u)))) {
        return VDM_EINVAL;
    }
    if ((poison != 0u) &&
        ((vdm_dev_features(d) & VDM_BALLOON_F_PAGE_POISON) == 0u)) {
        return VDM_EINVAL;
    }
    s->num_pages = vdm_le32(p);
    s->actual = vdm_le32(&p[4]);
    s->cmd_id = cmd;
    s->next_cmd_id = next;
    s->hint_id = hint;
    s->poison = poison;
    if (s->ops.actual != NULL) {
        s->ops.actual(s->host, s->actual);
    }
    return 0;
}
#endif

static const struct vdm_device_class bal_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_BALLOON_LEGACY,
    .name = "balloon",
    .config_size = VDM_BALLOON_CONFIG_BYTES,
    .max_queues = VDM_BALLOON_MAX_QUEUES,
    .features_ok = bal_features_ok,
    .reset = bal_reset,
    .driver_ok = bal_driver_ok,
    .queue_notify = bal_queue_notify,
    .queue_reset = bal_queue_reset,
    .config_read = bal_config_read,
    .config_write = bal_config_write,
#if VDM_CONFIG_STATE
    .state_save = bal_state_save,
    .state_restore = bal_state_restore,
#endif
};

/* --- public API --------------------------------------------------------- */

int vdm_balloon_init(struct vdm_balloon *b, struct vdm_dev *dev,
                     const struct vdm_balloon_config *cfg,
                     const struct vdm_dev_config *base)
{
    struct vdm_dev_config dc;
    struct bal_state *s;
    uint16_t nq;

    if ((b == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (cfg->size < (uint32_t)sizeof(struct vdm_balloon_config)) {
        return VDM_ESIZE;
    }
    if ((cfg->features & ~VDM_BALLOON_F_ALL) != 0u) {
        return VDM_EINVAL;
    }
    if ((cfg->ops != NULL) && (cfg->ops->size < (sizeof(uint32_t) * 2u))) {
        return VDM_ESIZE;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    nq = bal_queues_for(cfg->features);
    if (dc.num_queues == 0u) {
        dc.num_queues = nq;
    }
    if (dc.num_queues != nq) {
        return VDM_EINVAL;
    }

    __builtin_memset(b, 0, sizeof(*b));
    s = (struct bal_state *)(void *)b->opaque;
    s->dev = dev;
    if (cfg->ops != NULL) {
        /* An older caller's shorter table: the hooks it lacks are NULL. */
        (void)vdm_copy_sized(&s->ops, sizeof(s->ops), cfg->ops,
                             sizeof(uint32_t) * 2u);
    }
    s->host = cfg->host;
    s->offered = cfg->features;
    s->num_pages = cfg->num_pages;
    s->cmd_id = VDM_BALLOON_CMD_ID_STOP;
    s->next_cmd_id = 2;
    s->cnt.size = (uint32_t)sizeof(s->cnt);
    bal_number_queues(s, s->offered);
    {
        struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
        int rc;

        kc.num_queues = nq;
        kc.nqdesc = 1;
        kc.queues = bal_queues;
        kc.ctx = s;
        kc.slots = s->slots;
        kc.iovs = s->iov;
        kc.slot_bytes = BAL_SLOT_BYTES;
        kc.per_queue = BAL_PER_QUEUE;
        kc.iov_per_req = VDM_BALLOON_IOV_MAX;
        rc = vdm_kit_init(&s->kit, dev, &kc);
        if (rc < 0) {
            return rc;
        }
    }
    s->magic = BAL_MAGIC;
    dc.cls = &bal_class;
    dc.priv = s;
    dc.features = vdm_kit_features(cfg->features, base->features, 0);
    return vdm_dev_init(dev, &dc);
}

struct vdm_dev *vdm_balloon_dev(const struct vdm_balloon *b)
{
    const struct bal_state *s = bal_of(b);

    return (s != NULL) ? s->dev : NULL;
}

int vdm_balloon_set_target(struct vdm_balloon *b, uint32_t pages)
{
    struct bal_state *s = bal_of(b);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if (s->num_pages != pages) {
        s->num_pages = pages;
        vdm_dev_config_changed(s->dev);
    }
    return 0;
}

uint32_t vdm_balloon_target(const struct vdm_balloon *b)
{
    const struct bal_state *s = bal_of(b);

    return (s != NULL) ? s->num_pages : 0u;
}

uint32_t vdm_balloon_actual(const struct vdm_balloon *b)
{
    const struct bal_state *s = bal_of(b);

    return (s != NULL) ? s->actual : 0u;
}

int vdm_balloon_poison(const struct vdm_balloon *b, uint32_t *val)
{
    const struct bal_state *s = bal_of(b);

    if ((s == NULL) ||
        ((vdm_dev_features(s->dev) & VDM_BALLOON_F_PAGE_POISON) == 0u)) {
        return 0;
    }
    if (val != NULL) {
        *val = s->poison;
    }
    return 1;
}

uint16_t vdm_balloon_queue_index(const struct vdm_balloon *b, uint32_t role)
{
    const struct bal_state *s = bal_of(b);

    if ((s == NULL) || (role == VDM_BALLOON_Q_NONE)) {
        return UINT16_MAX;
    }
    for (uint16_t q = 0u; q < BAL_NQ; q++) {
        if (s->role[q] == role) {
            return q;
        }
    }
    return UINT16_MAX;
}

uint32_t vdm_balloon_queue_role(const struct vdm_balloon *b, uint16_t q)
{
    const struct bal_state *s = bal_of(b);

    return ((s != NULL) && (q < BAL_NQ)) ? s->role[q] : VDM_BALLOON_Q_NONE;
}

int vdm_balloon_stats_request(struct vdm_balloon *b)
{
    struct bal_state *s = bal_of(b);
    struct vdm_kit_req *r;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    r = s->stats_held;
    if ((r == NULL) || (vdm_dev_live(s->dev) == 0)) {
        return 0;
    }
    s->stats_held = NULL;
    return (vdm_kit_finish(&s->kit, r, 0u) == 0) ? 1 : 0;
}

static int bal_hint_ok(const struct bal_state *s)
{
    if (s == NULL) {
        return VDM_EINVAL;
    }
    if ((vdm_dev_features(s->dev) & VDM_BALLOON_F_FREE_PAGE_HINT) == 0u) {
        return VDM_ESTATE;
    }
    return 0;
}

int vdm_balloon_hint_start(struct vdm_balloon *b, uint32_t *cmd_id)
{
    struct bal_state *s = bal_of(b);
    int rc = bal_hint_ok(s);

    if (rc < 0) {
        return rc;
    }
    /* "The device MUST NOT reuse a command ID": ids only grow (2^32 - 2
     * rounds before one could come back). */
    s->cmd_id = s->next_cmd_id;
    s->next_cmd_id =
        (s->next_cmd_id == UINT32_MAX) ? 2u : (s->next_cmd_id + 1u);
    if (cmd_id != NULL) {
        *cmd_id = s->cmd_id;
    }
    vdm_dev_config_changed(s->dev);
    return 0;
}

int vdm_balloon_hint_end(struct vdm_balloon *b, uint32_t cmd)
{
    struct bal_state *s = bal_of(b);
    int rc = bal_hint_ok(s);

    if (rc < 0) {
        return rc;
    }
    if ((cmd != VDM_BALLOON_CMD_ID_STOP) && (cmd != VDM_BALLOON_CMD_ID_DONE)) {
        return VDM_EINVAL;
    }
    s->cmd_id = cmd;
    vdm_dev_config_changed(s->dev);
    return 0;
}

int vdm_balloon_counters(const struct vdm_balloon *b,
                         struct vdm_balloon_counters *c)
{
    const struct bal_state *s = bal_of(b);
    uint32_t n;

    if ((s == NULL) || (c == NULL)) {
        return VDM_EINVAL;
    }
    n = c->size;
    if (n < sizeof(uint32_t)) {
        return VDM_ESIZE;
    }
    if (n > sizeof(s->cnt)) {
        n = (uint32_t)sizeof(s->cnt);
    }
    __builtin_memcpy((uint8_t *)c + sizeof(uint32_t),
                     (const uint8_t *)&s->cnt + sizeof(uint32_t),
                     n - sizeof(uint32_t));
    return 0;
}
