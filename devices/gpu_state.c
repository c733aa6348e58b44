/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpu save and restore (vdm/state.h): the device type's section
 * (docs/state-format.md, "gpu"): events_read, every scanout and its
 * cursor, every resource with its backing entries (the guest's memory list) and its
 * host storage bytes. Restore reads an untrusted image: every field is
 * checked as the command that made it checks it (spec "GPU Device /
 * Device Operation": RESOURCE_CREATE_2D, RESOURCE_ATTACH_BACKING,
 * SET_SCANOUT, RESOURCE_CREATE_BLOB, SET_SCANOUT_BLOB, RESOURCE_MAP_BLOB,
 * RESOURCE_ASSIGN_UUID) before the host is asked for storage; a refusal
 * returns an error and the device core resets the device, which gives
 * every resource made so far back to the host. */
#include "gpu_internal.h"

#include "abi_internal.h"
#include "le.h"

#define GS_VERSION  1u
#define GS_HDR      32u /* fixed part */
#define GS_SCANOUT  60u /* per scanout of the device, with its cursor */
#define GS_RES      72u /* per resource, then its entries and storage */
#define GS_ENTRY    16u /* struct virtio_gpu_mem_entry */
#define GS_EVENTS   VDM_GPU_EVENT_DISPLAY
#define GS_MAX_SIZE ((uint64_t)INT32_MAX - 4096u)

/* Bytes of the section now, or 0 when it would not fit an image. */
static uint64_t gs_bytes(const struct gpu *s)
{
    uint64_t n = GS_HDR + ((uint64_t)s->num_scanouts * GS_SCANOUT);
    uint32_t i;

    for (i = 0; i < s->nres; i++) {
        const struct gres *r = &s->res[i];

        if (r->id != 0u) {
            n += GS_RES + ((uint64_t)r->bcount * GS_ENTRY) + r->bytes;
            if (n > GS_MAX_SIZE) {
                return 0u;
            }
        }
    }
    return n;
}

void gpu_cursor_note(struct gpu *s, const struct vdm_gpu_cursor *c)
{
    struct gcursor *k = &s->cur[c->scanout];

    if (c->what == VDM_GPU_CURSOR_UPDATE) {
        k->res = c->resource_id;
        k->hot_x = c->hot_x;
        k->hot_y = c->hot_y;
    }
    k->x = c->x;
    k->y = c->y;
}

void gpu_cursor_forget(struct gpu *s, uint32_t id)
{
    uint32_t i;

    for (i = 0; i < s->num_scanouts; i++) {
        if (s->cur[i].res == id) {
            s->cur[i].res = 0;
        }
    }
}

static void put_scanout(const struct gscanout *so, const struct gcursor *k,
                        uint8_t *p)
{
    vdm_put_le32(p, so->res);
    vdm_put_le32(&p[4], so->format);
    vdm_put_le32(&p[8], so->fb_w);
    vdm_put_le32(&p[12], so->fb_h);
    vdm_put_le32(&p[16], so->stride);
    vdm_put_le32(&p[20], so->offset);
    vdm_put_le32(&p[24], so->x);
    vdm_put_le32(&p[28], so->y);
    vdm_put_le32(&p[32], so->w);
    vdm_put_le32(&p[36], so->h);
    vdm_put_le32(&p[40], k->res);
    vdm_put_le32(&p[44], k->hot_x);
    vdm_put_le32(&p[48], k->hot_y);
    vdm_put_le32(&p[52], k->x);
    vdm_put_le32(&p[56], k->y);
}

/* Resource @p r at @p p; returns the bytes written. */
static uint64_t put_res(const struct gpu *s, const struct gres *r, uint8_t *p)
{
    uint64_t at = GS_RES;
    uint32_t k;

    __builtin_memset(p, 0, GS_RES);
    vdm_put_le32(p, r->id);
    vdm_put_le32(&p[4], r->kind);
    vdm_put_le32(&p[8], r->format);
    vdm_put_le32(&p[12], r->width);
    vdm_put_le32(&p[16], r->height);
    vdm_put_le32(&p[20], r->stride);
    vdm_put_le32(&p[24], r->blob_flags);
    vdm_put_le32(&p[28], r->bcount);
    vdm_put_le64(&p[32], r->bytes);
    vdm_put_le64(&p[40], (r->mapped != 0u) ? r->map_off : 0u);
    p[48] = r->mapped;
    p[49] = r->has_uuid;
    if (r->has_uuid != 0u) {
        __builtin_memcpy(&p[56], r->uuid, 16);
    }
    for (k = 0; k < r->bcount; k++) {
        const struct gbacking *e = &s->pool[r->bfirst + k];

        vdm_put_le64(&p[at], e->gpa);
        vdm_put_le32(&p[at + 8u], e->len);
        vdm_put_le32(&p[at + 12u], 0u);
        at += GS_ENTRY;
    }
    __builtin_memcpy(&p[at], r->pixels, (size_t)r->bytes);
    return at + r->bytes;
}

int gpu_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct gpu *s = (const struct gpu *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    uint64_t need;
    uint64_t at;
    uint32_t i;

    if ((s == NULL) || (s->magic != GPU_MAGIC)) {
        return VDM_EINVAL;
    }
    need = gs_bytes(s);
    if (need == 0u) {
        return VDM_ENOSPC; /* storage beyond what an image carries */
    }
    if (p == NULL) {
        return (int)need;
    }
    if (len < need) {
        return VDM_ENOSPC;
    }
    __builtin_memset(p, 0, GS_HDR);
    p[0] = (uint8_t)GS_VERSION;
    p[1] = (uint8_t)s->num_scanouts;
    vdm_put_le32(&p[4], s->events & GS_EVENTS);
    vdm_put_le32(&p[8], s->nlive);
    vdm_put_le32(&p[12], s->pool_used);
    vdm_put_le64(&p[16], s->total_bytes);
    at = GS_HDR;
    for (i = 0; i < s->num_scanouts; i++) {
        put_scanout(&s->so[i], &s->cur[i], &p[at]);
        at += GS_SCANOUT;
    }
    for (i = 0; i < s->nres; i++) {
        if (s->res[i].id != 0u) {
            at += put_res(s, &s->res[i], &p[at]);
        }
    }
    return (int)at;
}

/* ------------------------------------------------------------------------ */
/* Restore */

/* Overflow-safe: is (x, y, w, h) inside W x H? */
static bool gs_rect_in(uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                       uint32_t W, uint32_t H)
{
    return (x <= W) && (w <= (W - x)) && (y <= H) && (h <= (H - y));
}

static bool gs_aligned(const struct gpu *s, uint64_t v)
{
    return !gpu_negotiated(s, VDM_GPU_F_BLOB_ALIGNMENT) ||
           ((v & ((uint64_t)s->blob_alignment - 1u)) == 0u);
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    bool z = true;

    for (i = 0; i < n; i++) {
        if (p[i] != 0u) {
            z = false;
        }
    }
    return z;
}

/* The fields of a resource record a RESOURCE_CREATE_2D / _BLOB, a MAP_BLOB
 * and an ASSIGN_UUID of this device could have produced. */
static bool res_fields_ok(struct gpu *s, const uint8_t *p,
                          const struct vdm_gpu_resource_info *in)
{
    uint32_t blob_flags = vdm_le32(&p[24]);
    uint64_t off = vdm_le64(&p[40]);
    uint8_t mapped = p[48];
    uint8_t has_uuid = p[49];
    bool ok = (in->id != 0u) && (in->bytes != 0u) &&
              (in->bytes <= s->max_res_bytes) && (mapped <= 1u) &&
              (has_uuid <= 1u) && all_zero(&p[50], 6u) &&
              (gpu_res_find(s, in->id) == NULL);

    if (ok && (in->kind == VDM_GPU_RES_2D)) {
        ok = gpu_format_ok(in->format) && (in->width != 0u) &&
             (in->height != 0u) && (in->width <= (UINT32_MAX / BPP)) &&
             (in->stride == (in->width * BPP)) &&
             (in->bytes == ((uint64_t)in->stride * in->height)) &&
             (blob_flags == 0u) && (mapped == 0u);
    } else if (ok && (in->kind == VDM_GPU_RES_BLOB)) {
        ok = gpu_negotiated(s, VDM_GPU_F_RESOURCE_BLOB) &&
             (in->format == 0u) && (in->width == 0u) && (in->height == 0u) &&
             (in->stride == 0u) && gs_aligned(s, in->bytes);
    } else {
        ok = false;
    }
    if (ok && (mapped != 0u)) {
        ok = gpu_hostmem_ok(s) && gs_aligned(s, off) &&
             (off <= s->hostmem_bytes) &&
             (in->bytes <= (s->hostmem_bytes - off));
    } else if (ok) {
        ok = (off == 0u);
    } else {
        /* refused */
    }
    if (ok && (has_uuid != 0u)) {
        ok = gpu_negotiated(s, VDM_GPU_F_RESOURCE_UUID);
    } else if (ok) {
        ok = all_zero(&p[56], 16u);
    } else {
        /* refused */
    }
    return ok;
}

/* Backing entries of a resource at @p e into the pool (as an attach
 * would, without merging: the saved list is already merged). */
static int res_backing(struct gpu *s, struct gres *r, const uint8_t *e,
                       uint32_t n)
{
    uint64_t total = 0;
    uint32_t k;

    if (n > (s->npool - s->pool_used)) {
        return VDM_ERANGE;
    }
    for (k = 0; k < n; k++) {
        const uint8_t *q = &e[(size_t)k * GS_ENTRY];
        uint64_t gpa = vdm_le64(q);
        uint32_t blen = vdm_le32(&q[8]);

        if ((blen == 0u) || ((gpa + blen) < gpa) || (vdm_le32(&q[12]) != 0u)) {
            return VDM_EINVAL;
        }
        total += blen;
    }
    for (k = 0; k < n; k++) {
        const uint8_t *q = &e[(size_t)k * GS_ENTRY];
        struct gbacking *b = &s->pool[s->pool_used + k];

        b->gpa = vdm_le64(q);
        b->len = vdm_le32(&q[8]);
        b->reserved = 0;
    }
    if (n != 0u) {
        r->bfirst = s->pool_used;
        r->bcount = n;
        r->btotal = total;
        s->pool_used += n;
    }
    return 0;
}

/* Resource record at @p p (@p avail bytes left in the section); its
 * length in *used. */
static int res_restore(struct gpu *s, const uint8_t *p, uint64_t avail,
                       uint64_t *used)
{
    struct vdm_gpu_resource_info in;
    struct gres *r = NULL;
    uint32_t n;
    uint64_t need;
    uint32_t info = 0;
    int rc;

    if (avail < GS_RES) {
        return VDM_EINVAL;
    }
    __builtin_memset(&in, 0, sizeof(in));
    in.id = vdm_le32(p);
    in.kind = vdm_le32(&p[4]);
    in.format = vdm_le32(&p[8]);
    in.width = vdm_le32(&p[12]);
    in.height = vdm_le32(&p[16]);
    in.stride = vdm_le32(&p[20]);
    in.bytes = vdm_le64(&p[32]);
    n = vdm_le32(&p[28]);
    need = GS_RES + ((uint64_t)n * GS_ENTRY);
    if ((need > avail) || (in.bytes > (avail - need)) ||
        !res_fields_ok(s, p, &in)) {
        return VDM_EINVAL;
    }
    /* gpu_res_create() applies the host's limits (sizes, table room). */
    if (gpu_res_create(s, &in, &r) != VDM_GPU_RESP_OK_NODATA) {
        return VDM_ENOSPC;
    }
    r->blob_flags = vdm_le32(&p[24]);
    r->has_uuid = p[49];
    __builtin_memcpy(r->uuid, &p[56], 16);
    __builtin_memcpy(r->pixels, &p[need], (size_t)in.bytes);
    rc = res_backing(s, r, &p[GS_RES], n);
    if ((rc == 0) && (p[48] != 0u)) {
        if (s->ops->blob_map(s->host, &in, vdm_le64(&p[40]), &info) < 0) {
            rc = VDM_EIO;
        } else {
            r->mapped = 1;
            r->map_off = vdm_le64(&p[40]);
        }
    }
    *used = need + in.bytes;
    return rc;
}

/* Cursor part of scanout record @p p: a shape is a 64x64 2D resource
 * ("Configure mouse cursor"); positions and hot spots are the driver's. */
static int cursor_restore(struct gpu *s, uint32_t i, const uint8_t *p)
{
    struct gcursor k;
    const struct gres *r = NULL;

    k.res = vdm_le32(&p[40]);
    k.hot_x = vdm_le32(&p[44]);
    k.hot_y = vdm_le32(&p[48]);
    k.x = vdm_le32(&p[52]);
    k.y = vdm_le32(&p[56]);
    if (k.res != 0u) {
        r = gpu_res_find(s, k.res);
        if ((r == NULL) || (r->kind != VDM_GPU_RES_2D) ||
            (r->width != (uint32_t)VDM_GPU_CURSOR_DIM) ||
            (r->height != (uint32_t)VDM_GPU_CURSOR_DIM)) {
            return VDM_EINVAL;
        }
    }
    s->cur[i] = k;
    return 0;
}

/* Show cursor @p i at the host as the driver last set it. */
static void cursor_publish(struct gpu *s, uint32_t i)
{
    const struct gcursor *k = &s->cur[i];
    const struct gres *r = gpu_res_find(s, k->res);
    struct vdm_gpu_cursor c;

    if ((k->res == 0u) && (k->x == 0u) && (k->y == 0u) && (k->hot_x == 0u) &&
        (k->hot_y == 0u)) {
        return; /* never set */
    }
    __builtin_memset(&c, 0, sizeof(c));
    c.what = VDM_GPU_CURSOR_UPDATE;
    c.scanout = i;
    c.x = k->x;
    c.y = k->y;
    c.hot_x = k->hot_x;
    c.hot_y = k->hot_y;
    if (r != NULL) {
        c.resource_id = r->id;
        c.format = r->format;
        c.pixels = r->pixels;
    }
    gpu_cursor_show(s, &c);
}

/* Scanout record @p p against the restored resources (SET_SCANOUT's and
 * SET_SCANOUT_BLOB's checks). */
static int scanout_restore(struct gpu *s, uint32_t i, const uint8_t *p)
{
    struct gscanout so;
    const struct gres *r;
    uint64_t end;
    bool ok;

    so.res = vdm_le32(p);
    so.format = vdm_le32(&p[4]);
    so.fb_w = vdm_le32(&p[8]);
    so.fb_h = vdm_le32(&p[12]);
    so.stride = vdm_le32(&p[16]);
    so.offset = vdm_le32(&p[20]);
    so.x = vdm_le32(&p[24]);
    so.y = vdm_le32(&p[28]);
    so.w = vdm_le32(&p[32]);
    so.h = vdm_le32(&p[36]);
    if (so.res == 0u) {
        return all_zero(p, 40u) ? 0 : VDM_EINVAL;
    }
    r = gpu_res_find(s, so.res);
    if (r == NULL) {
        return VDM_EINVAL;
    }
    ok = (so.w != 0u) && (so.h != 0u) &&
         gs_rect_in(so.x, so.y, so.w, so.h, so.fb_w, so.fb_h);
    if (r->kind == VDM_GPU_RES_2D) {
        ok = ok && (so.format == r->format) && (so.fb_w == r->width) &&
             (so.fb_h == r->height) && (so.stride == r->stride) &&
             (so.offset == 0u);
    } else {
        end = ((uint64_t)so.fb_h - 1u) * so.stride; /* fb_h >= h > 0 */
        ok = ok && gpu_format_ok(so.format) &&
             (((uint64_t)so.fb_w * BPP) <= so.stride) && (end <= r->bytes) &&
             (so.offset <= (r->bytes - end)) &&
             (((uint64_t)so.fb_w * BPP) <= (r->bytes - end - so.offset));
    }
    if (!ok) {
        return VDM_EINVAL;
    }
    s->so[i] = so;
    return 0;
}

int gpu_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct gpu *s = (struct gpu *)vdm_dev_priv(d);
    const uint8_t *p = (const uint8_t *)buf;
    uint64_t at;
    uint32_t nres;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (s->magic != GPU_MAGIC) || (p == NULL) ||
        (len < GS_HDR)) {
        return VDM_EINVAL;
    }
    if (p[0] != GS_VERSION) {
        return VDM_ENOTSUP;
    }
    nres = vdm_le32(&p[8]);
    if ((p[1] != s->num_scanouts) || (vdm_le16(&p[2]) != 0u) ||
        ((vdm_le32(&p[4]) & ~(uint32_t)GS_EVENTS) != 0u) ||
        (nres > s->nres) || (vdm_le32(&p[12]) > s->npool) ||
        !all_zero(&p[24], 8u) ||
        (((uint64_t)len - GS_HDR) <
         ((uint64_t)s->num_scanouts * GS_SCANOUT))) {
        return VDM_EINVAL;
    }
    at = GS_HDR + ((uint64_t)s->num_scanouts * GS_SCANOUT);
    for (i = 0; (i < nres) && (rc == 0); i++) {
        uint64_t used = 0;

        rc = res_restore(s, &p[at], (uint64_t)len - at, &used);
        at += used;
    }
    if ((rc == 0) && ((at != len) || (s->pool_used != vdm_le32(&p[12])) ||
                      (s->total_bytes != vdm_le64(&p[16])))) {
        rc = VDM_EINVAL;
    }
    for (i = 0; (i < s->num_scanouts) && (rc == 0); i++) {
        rc = scanout_restore(s, i, &p[GS_HDR + (i * GS_SCANOUT)]);
        if (rc == 0) {
            rc = cursor_restore(s, i, &p[GS_HDR + (i * GS_SCANOUT)]);
        }
    }
    if (rc == 0) {
        s->events = vdm_le32(&p[4]);
        for (i = 0; i < s->num_scanouts; i++) {
            if (s->so[i].res != 0u) {
                gpu_scanout_publish(s, i);
            }
            cursor_publish(s, i);
        }
    }
    return rc;
}
