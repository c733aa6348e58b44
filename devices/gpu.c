/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpu device type (2D).
 *
 * Spec: "GPU Device" -- "Feature bits", "Device configuration layout",
 * "Events", "Device Initialization", "Device Operation" (controlq,
 * cursorq, "Request header", "Command lifecycle and fencing").
 *
 * Both queues are served through the device kit with one request slot
 * each: a command is read once into a local copy, validated, executed and
 * answered before the next is taken, so fences complete in order and a
 * fenced command is answered only when its work is done. The response
 * header is at the start of the writable part (VDM_KIT_STATUS_HEAD): a
 * chain the kit cannot take is answered with ERR_UNSPEC there.
 *
 * Resources and their backing live in the caller's tables
 * (devices/gpu_res.c); pixels live in storage the host provides. */
#include "gpu_internal.h"

#include "abi_internal.h"
#include "le.h"

_Static_assert(sizeof(struct gpu) <= VDM_GPU_SIZE,
               "struct gpu does not fit VDM_GPU_SIZE");
_Static_assert(alignof(struct gpu) <= alignof(struct vdm_gpu),
               "struct vdm_gpu storage is under-aligned");

#define BPP 4u /* every virtio-gpu format */

/* Request sizes (header included) of the commands, spec structs. */
#define RQ_HDR            24u
#define RQ_RES            32u /* hdr + resource_id + padding (unref, ...) */
#define RQ_CREATE_2D      40u
#define RQ_SET_SCANOUT    48u
#define RQ_FLUSH          48u
#define RQ_TRANSFER       56u
#define RQ_ATTACH         32u
#define RQ_GET_EDID       32u
#define RQ_CAPSET         32u
#define RQ_CREATE_BLOB    56u
#define RQ_SCANOUT_BLOB   96u
#define RQ_MAP_BLOB       40u
#define RQ_CURSOR         56u
#define RQ_MAX            96u
#define RESP_DISPLAY_INFO (RQ_HDR + VDM_GPU_MAX_SCANOUTS * 24u)
#define RESP_EDID         (RQ_HDR + 8u + VDM_GPU_EDID_MAX_BYTES)
#define RESP_CAPSET_INFO  (RQ_HDR + 16u)
#define RESP_UUID         (RQ_HDR + 16u)
#define RESP_MAP_INFO     (RQ_HDR + 8u)
#define RING_IDX_MAX      63u

/* One command being served. */
struct gcmd {
    const struct vdm_chain *c;
    uint32_t n; /* request bytes read into in[] */
    uint32_t type;
    uint32_t plen; /* response payload bytes in out[] */
    uint8_t in[RQ_MAX];
    uint8_t out[VDM_GPU_MAX_SCANOUTS * 24u];
};

void gpu_warn(struct gpu *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

static struct gpu *gpu_of(struct vdm_gpu *g)
{
    struct gpu *s;

    if (g == NULL)
        return NULL;
    s = (struct gpu *)(void *)g->opaque;
    return s->magic == GPU_MAGIC ? s : NULL;
}

static const struct gpu *cgpu_of(const struct vdm_gpu *g)
{
    const struct gpu *s;

    if (g == NULL)
        return NULL;
    s = (const struct gpu *)(const void *)g->opaque;
    return s->magic == GPU_MAGIC ? s : NULL;
}

static int negotiated(const struct gpu *s, uint64_t f)
{
    return (vdm_dev_features(s->dev) & f) != 0;
}

/* Is the rectangle (x, y, w, h) inside a W x H area? Overflow-safe; an
 * empty rectangle is inside when its corner is. */
static int rect_in(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t W,
                   uint32_t H)
{
    return x <= W && w <= W - x && y <= H && h <= H - y;
}

static int short_req(struct gpu *s, const struct gcmd *k, uint32_t need)
{
    if (k->n >= need)
        return 0;
    gpu_warn(s, GW_SHORT, "gpu: request shorter than its command");
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Scanouts */

static void scanout_publish(struct gpu *s, uint32_t i)
{
    const struct gscanout *so = &s->so[i];
    struct vdm_gpu_scanout_info info;
    const struct gres *r = gpu_res_find(s, so->res);

    __builtin_memset(&info, 0, sizeof(info));
    if (so->res != 0 && r != NULL) {
        info.resource_id = so->res;
        info.format = so->format;
        info.x = so->x;
        info.y = so->y;
        info.width = so->w;
        info.height = so->h;
        info.stride = so->stride;
        info.pixels = (const uint8_t *)r->pixels + so->offset +
                      (uint64_t)so->y * so->stride + (uint64_t)so->x * BPP;
    }
    s->ops->scanout(s->host, i, &info);
}

static void scanout_disable(struct gpu *s, uint32_t i)
{
    if (s->so[i].res == 0)
        return;
    __builtin_memset(&s->so[i], 0, sizeof(s->so[i]));
    scanout_publish(s, i);
}

/* ------------------------------------------------------------------------ */
/* controlq commands: each returns the response type (VDM_GPU_RESP_*) */

static uint32_t cmd_display_info(struct gpu *s, struct gcmd *k)
{
    uint32_t i;

    __builtin_memset(k->out, 0, sizeof(k->out));
    for (i = 0; i < s->num_scanouts; i++) {
        uint8_t *p = k->out + i * 24u;
        const struct vdm_gpu_display *d = &s->disp[i];

        vdm_put_le32(p, d->x);
        vdm_put_le32(p + 4, d->y);
        vdm_put_le32(p + 8, d->width);
        vdm_put_le32(p + 12, d->height);
        vdm_put_le32(p + 16, d->enabled != 0);
    }
    k->plen = VDM_GPU_MAX_SCANOUTS * 24u;
    return VDM_GPU_RESP_OK_DISPLAY_INFO;
}

/* The EDID payload goes straight into the chain (it is larger than out[]):
 * size, padding, the blob, zeros up to 1024 bytes. */
static uint32_t cmd_get_edid(struct gpu *s, struct gcmd *k)
{
    static const uint8_t zero[64];
    const struct vdm_gpu_display *d;
    uint8_t head[8];
    uint32_t sc, off;

    if (!negotiated(s, VDM_GPU_F_EDID))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_GET_EDID))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    sc = vdm_le32(k->in + 24);
    if (sc >= s->num_scanouts) {
        gpu_warn(s, GW_SCANOUT, "gpu: GET_EDID for a scanout out of range");
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    if (k->c->write_len < RESP_EDID)
        return VDM_GPU_RESP_OK_EDID; /* no response buffer: nothing to do */
    d = &s->disp[sc];
    vdm_put_le32(head, d->edid != NULL ? d->edid_len : 0u);
    vdm_put_le32(head + 4, 0);
    (void)vdm_chain_copy_to(k->c, RQ_HDR, head, sizeof(head));
    off = 0;
    if (d->edid != NULL) {
        (void)vdm_chain_copy_to(k->c, RQ_HDR + 8u, d->edid, d->edid_len);
        off = d->edid_len;
    }
    while (off < VDM_GPU_EDID_MAX_BYTES) {
        uint32_t n = VDM_GPU_EDID_MAX_BYTES - off;

        n = n < sizeof(zero) ? n : (uint32_t)sizeof(zero);
        (void)vdm_chain_copy_to(k->c, RQ_HDR + 8u + off, zero, n);
        off += n;
    }
    k->plen = RESP_EDID - RQ_HDR; /* written above */
    return VDM_GPU_RESP_OK_EDID;
}

static uint32_t cmd_create_2d(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_resource_info in;
    struct gres *r;
    uint32_t w, h;

    if (short_req(s, k, RQ_CREATE_2D))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    __builtin_memset(&in, 0, sizeof(in));
    in.id = vdm_le32(k->in + 24);
    in.format = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    if (!gpu_format_ok(in.format)) {
        gpu_warn(s, GW_FORMAT, "gpu: unknown format");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (w == 0 || h == 0 || w > UINT32_MAX / BPP) {
        gpu_warn(s, GW_RECT, "gpu: resource size out of range");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    /* stride * height, without overflow: the host limit bounds it. */
    if ((uint64_t)w * BPP > s->max_res_bytes / h) {
        gpu_warn(s, GW_HOST, "gpu: resource larger than the host allows");
        return VDM_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
    in.kind = VDM_GPU_RES_2D;
    in.width = w;
    in.height = h;
    in.stride = w * BPP;
    in.bytes = (uint64_t)in.stride * h;
    return gpu_res_create(s, &in, &r);
}

static struct gres *find_res(struct gpu *s, uint32_t id, uint32_t kind)
{
    struct gres *r = gpu_res_find(s, id);

    if (r == NULL || (kind != 0 && r->kind != kind)) {
        gpu_warn(s, GW_RES, "gpu: unknown resource id");
        return NULL;
    }
    return r;
}

static uint32_t cmd_unref(struct gpu *s, struct gcmd *k)
{
    struct gres *r;
    uint32_t i;

    if (short_req(s, k, RQ_RES))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    /* No scanout may keep showing storage that is about to go away. */
    for (i = 0; i < s->num_scanouts; i++)
        if (s->so[i].res == r->id)
            scanout_disable(s, i);
    gpu_res_destroy(s, r);
    return VDM_GPU_RESP_OK_NODATA;
}

static int scanout_id_ok(struct gpu *s, uint32_t sc)
{
    if (sc < s->num_scanouts)
        return 1;
    gpu_warn(s, GW_SCANOUT, "gpu: scanout id out of range");
    return 0;
}

/* "Scanout rectangles must be completely covered by the underlying
 * resource"; resource_id 0 disables the scanout. */
static uint32_t cmd_set_scanout(struct gpu *s, struct gcmd *k)
{
    uint32_t x, y, w, h, sc, id;
    struct gscanout *so;
    struct gres *r;

    if (short_req(s, k, RQ_SET_SCANOUT))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    sc = vdm_le32(k->in + 40);
    id = vdm_le32(k->in + 44);
    if (!scanout_id_ok(s, sc))
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    if (id == 0) {
        scanout_disable(s, sc);
        return VDM_GPU_RESP_OK_NODATA;
    }
    r = find_res(s, id, VDM_GPU_RES_2D);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (w == 0 || h == 0 || !rect_in(x, y, w, h, r->width, r->height)) {
        gpu_warn(s, GW_RECT, "gpu: scanout rectangle outside the resource");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    so = &s->so[sc];
    so->res = id;
    so->format = r->format;
    so->fb_w = r->width;
    so->fb_h = r->height;
    so->stride = r->stride;
    so->offset = 0;
    so->x = x;
    so->y = y;
    so->w = w;
    so->h = h;
    scanout_publish(s, sc);
    return VDM_GPU_RESP_OK_NODATA;
}

/* "It takes a rectangle and a resource id, and flushes any scanouts the
 * resource is being used on." Everything is checked before anything is
 * copied or shown. */
static uint32_t cmd_flush(struct gpu *s, struct gcmd *k)
{
    uint32_t x, y, w, h, i;
    struct gres *r;

    if (short_req(s, k, RQ_FLUSH))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    r = find_res(s, vdm_le32(k->in + 40), 0);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (r->kind == VDM_GPU_RES_2D &&
        !rect_in(x, y, w, h, r->width, r->height)) {
        gpu_warn(s, GW_RECT, "gpu: flush rectangle outside the resource");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    for (i = 0; i < s->num_scanouts; i++) {
        const struct gscanout *so = &s->so[i];

        if (so->res == r->id && !rect_in(x, y, w, h, so->fb_w, so->fb_h)) {
            gpu_warn(s, GW_RECT, "gpu: flush rectangle outside the scanout");
            return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
        }
    }
    for (i = 0; i < s->num_scanouts; i++) {
        const struct gscanout *so = &s->so[i];
        struct vdm_gpu_update u;
        uint32_t x0, y0, x1, y1;
        uint64_t at;

        if (so->res != r->id)
            continue;
        /* The flushed part of what this scanout shows. */
        x0 = x > so->x ? x : so->x;
        y0 = y > so->y ? y : so->y;
        x1 = (uint64_t)x + w < (uint64_t)so->x + so->w ? x + w : so->x + so->w;
        y1 = (uint64_t)y + h < (uint64_t)so->y + so->h ? y + h : so->y + so->h;
        if (x0 >= x1 || y0 >= y1)
            continue;
        at = so->offset + (uint64_t)y0 * so->stride + (uint64_t)x0 * BPP;
        /* A blob's pixels are in guest memory: bring the rows over. */
        if (r->kind == VDM_GPU_RES_BLOB &&
            gpu_backing_copy(s, r, at, at, so->stride, (x1 - x0) * BPP,
                             y1 - y0) < 0)
            return VDM_GPU_RESP_ERR_UNSPEC;
        __builtin_memset(&u, 0, sizeof(u));
        u.resource_id = r->id;
        u.format = so->format;
        u.x = x0 - so->x;
        u.y = y0 - so->y;
        u.width = x1 - x0;
        u.height = y1 - y0;
        u.stride = so->stride;
        u.pixels = (const uint8_t *)r->pixels + at;
        s->ops->update(s->host, i, &u);
    }
    return VDM_GPU_RESP_OK_NODATA;
}

/* Row i of the rectangle comes from backing offset `offset + i * stride`
 * and goes to resource row y + i at column x (the backing is laid out like
 * the resource). Rectangle in the resource, rows in the backing: both
 * checked before a byte moves. */
static uint32_t cmd_transfer(struct gpu *s, struct gcmd *k)
{
    uint32_t x, y, w, h;
    uint64_t off, last;
    struct gres *r;

    if (short_req(s, k, RQ_TRANSFER))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    off = vdm_le64(k->in + 40);
    r = find_res(s, vdm_le32(k->in + 48), VDM_GPU_RES_2D);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (r->bcount == 0) {
        gpu_warn(s, GW_BACKING, "gpu: transfer to a resource without backing");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (!rect_in(x, y, w, h, r->width, r->height)) {
        gpu_warn(s, GW_RECT, "gpu: transfer rectangle outside the resource");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (w == 0 || h == 0)
        return VDM_GPU_RESP_OK_NODATA;
    /* h <= height, so (h - 1) * stride < bytes: no overflow. */
    last = ((uint64_t)h - 1u) * r->stride + (uint64_t)w * BPP;
    if (off > r->btotal || last > r->btotal - off) {
        gpu_warn(s, GW_RECT, "gpu: transfer beyond the backing");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (gpu_backing_copy(s, r, off, (uint64_t)y * r->stride + (uint64_t)x * BPP,
                         r->stride, w * BPP, h) < 0)
        return VDM_GPU_RESP_ERR_UNSPEC;
    return VDM_GPU_RESP_OK_NODATA;
}

/* The entries follow the fixed part in the readable bytes; check they are
 * all there (nr as 64-bit: nr * 16 may not wrap). */
static int entries_present(struct gpu *s, const struct gcmd *k, uint32_t at,
                           uint32_t nr)
{
    if ((uint64_t)at + (uint64_t)nr * 16u <= k->c->read_len)
        return 1;
    gpu_warn(s, GW_SHORT, "gpu: fewer backing entries than announced");
    return 0;
}

static uint32_t cmd_attach(struct gpu *s, struct gcmd *k)
{
    struct gres *r;
    uint32_t nr;

    if (short_req(s, k, RQ_ATTACH))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    nr = vdm_le32(k->in + 28);
    if (!entries_present(s, k, RQ_ATTACH, nr))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    return gpu_backing_attach(s, r, k->c, RQ_ATTACH, nr);
}

static uint32_t cmd_detach(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (short_req(s, k, RQ_RES))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (r->bcount == 0) {
        gpu_warn(s, GW_BACKING, "gpu: detach without backing");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    gpu_backing_detach(s, r);
    return VDM_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_assign_uuid(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (!negotiated(s, VDM_GPU_F_RESOURCE_UUID))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_RES))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->has_uuid) {
        if (s->ops->assign_uuid(s->host, r->id, r->uuid) < 0) {
            gpu_warn(s, GW_HOST, "gpu: host could not assign a UUID");
            return VDM_GPU_RESP_ERR_UNSPEC;
        }
        r->has_uuid = 1;
    }
    __builtin_memcpy(k->out, r->uuid, 16);
    k->plen = 16;
    return VDM_GPU_RESP_OK_RESOURCE_UUID;
}

static int aligned(const struct gpu *s, uint64_t v)
{
    return !negotiated(s, VDM_GPU_F_BLOB_ALIGNMENT) ||
           (v & ((uint64_t)s->blob_alignment - 1u)) == 0;
}

/* Guest-only blobs (VIRTIO_GPU_BLOB_MEM_GUEST); host3d needs VIRGL. */
static uint32_t cmd_create_blob(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_resource_info in;
    uint32_t mem, nr, rc;
    uint64_t size;
    struct gres *r;

    if (!negotiated(s, VDM_GPU_F_RESOURCE_BLOB))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_CREATE_BLOB))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    __builtin_memset(&in, 0, sizeof(in));
    in.id = vdm_le32(k->in + 24);
    mem = vdm_le32(k->in + 28);
    nr = vdm_le32(k->in + 36);
    size = vdm_le64(k->in + 48);
    if (mem != VDM_GPU_BLOB_MEM_GUEST || size == 0 || !aligned(s, size)) {
        gpu_warn(s, GW_BACKING,
                 "gpu: blob not guest memory, empty or "
                 "misaligned");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (!entries_present(s, k, RQ_CREATE_BLOB, nr))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    in.kind = VDM_GPU_RES_BLOB;
    in.bytes = size;
    rc = gpu_res_create(s, &in, &r);
    if (rc != VDM_GPU_RESP_OK_NODATA)
        return rc;
    r->blob_flags = vdm_le32(k->in + 32);
    if (nr == 0)
        return VDM_GPU_RESP_OK_NODATA; /* ATTACH_BACKING later */
    rc = gpu_backing_attach(s, r, k->c, RQ_CREATE_BLOB, nr);
    if (rc == VDM_GPU_RESP_OK_NODATA && r->btotal < size) {
        gpu_warn(s, GW_BACKING, "gpu: blob backing smaller than its size");
        rc = VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (rc != VDM_GPU_RESP_OK_NODATA)
        gpu_res_destroy(s, r);
    return rc;
}

/* The framebuffer (width x height, format, strides[0], offsets[0]) must
 * lie inside the blob, and the shown rectangle inside the framebuffer. */
static uint32_t cmd_scanout_blob(struct gpu *s, struct gcmd *k)
{
    uint32_t x, y, w, h, sc, id, fw, fh, fmt, stride, offset;
    uint64_t end;
    struct gscanout *so;
    struct gres *r;

    if (!negotiated(s, VDM_GPU_F_RESOURCE_BLOB))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_SCANOUT_BLOB))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    sc = vdm_le32(k->in + 40);
    id = vdm_le32(k->in + 44);
    fw = vdm_le32(k->in + 48);
    fh = vdm_le32(k->in + 52);
    fmt = vdm_le32(k->in + 56);
    stride = vdm_le32(k->in + 64);
    offset = vdm_le32(k->in + 80);
    if (!scanout_id_ok(s, sc))
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    if (id == 0) {
        scanout_disable(s, sc);
        return VDM_GPU_RESP_OK_NODATA;
    }
    r = find_res(s, id, VDM_GPU_RES_BLOB);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!gpu_format_ok(fmt)) {
        gpu_warn(s, GW_FORMAT, "gpu: unknown format");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    /* offset + (fh - 1) * stride + fw * 4 <= blob size, each step checked
     * against the size (<= 2^63) so nothing wraps. */
    end = fh != 0 ? ((uint64_t)fh - 1u) * stride : 0;
    if (fw == 0 || fh == 0 || (uint64_t)fw * BPP > stride || end > r->bytes ||
        offset > r->bytes - end ||
        (uint64_t)fw * BPP > r->bytes - end - offset || w == 0 || h == 0 ||
        !rect_in(x, y, w, h, fw, fh)) {
        gpu_warn(s, GW_RECT, "gpu: blob scanout outside the blob");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    so = &s->so[sc];
    so->res = id;
    so->format = fmt;
    so->fb_w = fw;
    so->fb_h = fh;
    so->stride = stride;
    so->offset = offset;
    so->x = x;
    so->y = y;
    so->w = w;
    so->h = h;
    scanout_publish(s, sc);
    return VDM_GPU_RESP_OK_NODATA;
}

static int hostmem_ok(const struct gpu *s)
{
    return negotiated(s, VDM_GPU_F_RESOURCE_BLOB) && s->hostmem_bytes != 0 &&
           VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, blob_map);
}

static uint32_t cmd_map_blob(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_resource_info in;
    uint32_t info = 0;
    uint64_t off;
    struct gres *r;

    if (!hostmem_ok(s))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_MAP_BLOB))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), VDM_GPU_RES_BLOB);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    off = vdm_le64(k->in + 32);
    /* "The driver MUST not map a blob resource that is already mapped." */
    if (r->mapped || !aligned(s, off) || off > s->hostmem_bytes ||
        r->bytes > s->hostmem_bytes - off) {
        gpu_warn(s, GW_RECT,
                 "gpu: blob map mapped, misaligned or outside "
                 "the region");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    __builtin_memset(&in, 0, sizeof(in));
    in.id = r->id;
    in.kind = r->kind;
    in.bytes = r->bytes;
    if (s->ops->blob_map(s->host, &in, off, &info) < 0) {
        gpu_warn(s, GW_HOST, "gpu: host could not map the blob");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    r->mapped = 1;
    __builtin_memset(k->out, 0, 8);
    vdm_put_le32(k->out, info);
    k->plen = 8;
    return VDM_GPU_RESP_OK_MAP_INFO;
}

static uint32_t cmd_unmap_blob(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (!hostmem_ok(s))
        return VDM_GPU_RESP_ERR_UNSPEC;
    if (short_req(s, k, RQ_RES))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    r = find_res(s, vdm_le32(k->in + 24), VDM_GPU_RES_BLOB);
    if (r == NULL)
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->mapped)
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    if (VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, blob_unmap))
        s->ops->blob_unmap(s->host, r->id);
    r->mapped = 0;
    return VDM_GPU_RESP_OK_NODATA;
}

/* cursorq: "Both cursorq commands use the same command struct." The shape
 * is a 64x64 resource ("Configure mouse cursor"). */
static uint32_t cmd_cursor(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_cursor cur;
    struct gres *r = NULL;

    if (short_req(s, k, RQ_CURSOR))
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    __builtin_memset(&cur, 0, sizeof(cur));
    cur.scanout = vdm_le32(k->in + 24);
    cur.x = vdm_le32(k->in + 28);
    cur.y = vdm_le32(k->in + 32);
    if (!scanout_id_ok(s, cur.scanout))
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    if (k->type == VDM_GPU_CMD_MOVE_CURSOR) {
        cur.what = VDM_GPU_CURSOR_MOVE;
    } else {
        cur.what = VDM_GPU_CURSOR_UPDATE;
        cur.resource_id = vdm_le32(k->in + 40);
        cur.hot_x = vdm_le32(k->in + 44);
        cur.hot_y = vdm_le32(k->in + 48);
        if (cur.resource_id != 0) {
            r = find_res(s, cur.resource_id, VDM_GPU_RES_2D);
            if (r == NULL)
                return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
            if (r->width != VDM_GPU_CURSOR_DIM ||
                r->height != VDM_GPU_CURSOR_DIM) {
                gpu_warn(s, GW_CURSOR, "gpu: cursor resource not 64x64");
                return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
            }
            cur.format = r->format;
            cur.pixels = r->pixels;
        }
    }
    if (VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, cursor))
        s->ops->cursor(s->host, &cur);
    return VDM_GPU_RESP_OK_NODATA;
}

/* Bytes of the response to @p type (so a short buffer is refused before
 * the command runs). */
static uint32_t resp_bytes(uint32_t type)
{
    switch (type) {
    case VDM_GPU_CMD_GET_DISPLAY_INFO: return RESP_DISPLAY_INFO;
    case VDM_GPU_CMD_GET_EDID: return RESP_EDID;
    case VDM_GPU_CMD_GET_CAPSET_INFO: return RESP_CAPSET_INFO;
    case VDM_GPU_CMD_RESOURCE_ASSIGN_UUID: return RESP_UUID;
    case VDM_GPU_CMD_RESOURCE_MAP_BLOB: return RESP_MAP_INFO;
    default: return RQ_HDR;
    }
}

static uint32_t gpu_dispatch(struct gpu *s, struct gcmd *k, uint16_t q)
{
    if (q == VDM_GPU_QUEUE_CURSOR) {
        if (k->type == VDM_GPU_CMD_UPDATE_CURSOR ||
            k->type == VDM_GPU_CMD_MOVE_CURSOR)
            return cmd_cursor(s, k);
        gpu_warn(s, GW_UNKNOWN, "gpu: unknown command on the cursorq");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    switch (k->type) {
    case VDM_GPU_CMD_GET_DISPLAY_INFO: return cmd_display_info(s, k);
    case VDM_GPU_CMD_RESOURCE_CREATE_2D: return cmd_create_2d(s, k);
    case VDM_GPU_CMD_RESOURCE_UNREF: return cmd_unref(s, k);
    case VDM_GPU_CMD_SET_SCANOUT: return cmd_set_scanout(s, k);
    case VDM_GPU_CMD_RESOURCE_FLUSH: return cmd_flush(s, k);
    case VDM_GPU_CMD_TRANSFER_TO_HOST_2D: return cmd_transfer(s, k);
    case VDM_GPU_CMD_RESOURCE_ATTACH_BACKING: return cmd_attach(s, k);
    case VDM_GPU_CMD_RESOURCE_DETACH_BACKING: return cmd_detach(s, k);
    case VDM_GPU_CMD_GET_CAPSET_INFO:
    case VDM_GPU_CMD_GET_CAPSET:
        /* num_capsets is 0: no index or id is valid. */
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    case VDM_GPU_CMD_GET_EDID: return cmd_get_edid(s, k);
    case VDM_GPU_CMD_RESOURCE_ASSIGN_UUID: return cmd_assign_uuid(s, k);
    case VDM_GPU_CMD_RESOURCE_CREATE_BLOB: return cmd_create_blob(s, k);
    case VDM_GPU_CMD_SET_SCANOUT_BLOB: return cmd_scanout_blob(s, k);
    case VDM_GPU_CMD_RESOURCE_MAP_BLOB: return cmd_map_blob(s, k);
    case VDM_GPU_CMD_RESOURCE_UNMAP_BLOB: return cmd_unmap_blob(s, k);
    default:
        /* 3D (VIRGL is not offered), cursor commands on the controlq, and
         * anything unknown. */
        gpu_warn(s, GW_UNKNOWN, "gpu: unsupported command");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
}

/* "Request header": the response echoes the fence (FLAG_FENCE and
 * fence_id) and ctx_id; with CONTEXT_INIT negotiated also the ring index.
 * Error responses carry no payload. Returns the bytes written. */
static uint32_t respond(struct gpu *s, struct gcmd *k, uint32_t type)
{
    uint8_t hdr[RQ_HDR];
    uint32_t flags = 0, plen = type < VDM_GPU_RESP_ERR_UNSPEC ? k->plen : 0;

    __builtin_memset(hdr, 0, sizeof(hdr));
    vdm_put_le32(hdr, type);
    if (k->n >= RQ_HDR) {
        uint32_t rf = vdm_le32(k->in + 4);

        if ((rf & VDM_GPU_FLAG_FENCE) != 0) {
            flags |= VDM_GPU_FLAG_FENCE;
            __builtin_memcpy(hdr + 8, k->in + 8, 8); /* fence_id */
        }
        __builtin_memcpy(hdr + 16, k->in + 16, 4); /* ctx_id */
        if ((rf & VDM_GPU_FLAG_INFO_RING_IDX) != 0 &&
            negotiated(s, VDM_GPU_F_CONTEXT_INIT)) {
            flags |= VDM_GPU_FLAG_INFO_RING_IDX;
            hdr[20] = k->in[20];
        }
    }
    vdm_put_le32(hdr + 4, flags);
    if (k->c->write_len < RQ_HDR)
        return 0;
    (void)vdm_chain_copy_to(k->c, 0, hdr, RQ_HDR);
    if (plen != 0 && type != VDM_GPU_RESP_OK_EDID)
        (void)vdm_chain_copy_to(k->c, RQ_HDR, k->out, plen);
    return RQ_HDR + plen;
}

static int gpu_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct gpu *s = ctx;
    struct gcmd k;
    uint32_t type;

    __builtin_memset(&k, 0, sizeof(k));
    k.c = &r->chain;
    /* The request, read once. */
    k.n = (uint32_t)vdm_chain_copy_from(k.c, 0, k.in, sizeof(k.in));
    if (k.n < RQ_HDR) {
        gpu_warn(s, GW_SHORT, "gpu: request shorter than its header");
        *written = respond(s, &k, VDM_GPU_RESP_ERR_UNSPEC);
        return VDM_KIT_DONE;
    }
    k.type = vdm_le32(k.in);
    if (k.c->write_len == 0) {
        /* The cursorq carries no response buffers (nor needs any). */
        if (r->queue == VDM_GPU_QUEUE_CONTROL)
            gpu_warn(s, GW_NORESP,
                     "gpu: controlq request without a "
                     "response buffer");
    } else if (k.c->write_len < resp_bytes(k.type)) {
        gpu_warn(s, GW_RESP, "gpu: response buffer too small");
        *written = respond(s, &k, VDM_GPU_RESP_ERR_UNSPEC);
        return VDM_KIT_DONE;
    } else {
        /* room for the whole response */
    }
    if ((vdm_le32(k.in + 4) & VDM_GPU_FLAG_INFO_RING_IDX) != 0 &&
        k.in[20] > RING_IDX_MAX) {
        gpu_warn(s, GW_RING_IDX, "gpu: ring index above 63");
        type = VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    } else {
        type = gpu_dispatch(s, &k, r->queue);
    }
    *written = respond(s, &k, type);
    return VDM_KIT_DONE;
}

/* "Request header": the answer of a chain the kit cannot take (more spans
 * than a slot holds) is ERR_UNSPEC at the head of the writable part. */
static const struct vdm_kit_queue gpu_queues[] = {
    {.serve = gpu_serve,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 4,
     .status_err = {0x00, 0x12, 0x00, 0x00}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct gpu *gpu_dev(struct vdm_dev *d)
{
    struct gpu *s = (struct gpu *)vdm_dev_priv(d);

    return s != NULL && s->magic == GPU_MAGIC ? s : NULL;
}

static void gpu_reset(struct vdm_dev *d)
{
    struct gpu *s = gpu_dev(d);
    uint32_t i;

    if (s == NULL)
        return;
    vdm_kit_reset(&s->kit, UINT16_MAX);
    for (i = 0; i < s->num_scanouts; i++)
        scanout_disable(s, i);
    gpu_res_destroy_all(s);
    s->events = 0;
    s->warned = 0;
}

static void gpu_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct gpu *s = gpu_dev(d);

    if (s != NULL)
        vdm_kit_reset(&s->kit, q);
}

static void gpu_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct gpu *s = gpu_dev(d);

    if (s != NULL && q < VDM_GPU_NUM_QUEUES)
        (void)vdm_kit_run(&s->kit, q);
}

static void gpu_driver_ok(struct vdm_dev *d)
{
    struct gpu *s = gpu_dev(d);
    uint16_t q;

    if (s == NULL)
        return;
    for (q = 0; q < VDM_GPU_NUM_QUEUES; q++)
        (void)vdm_kit_run(&s->kit, q);
}

/* "Device configuration layout": struct virtio_gpu_config. */
static void gpu_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct gpu *s = gpu_dev(d);
    uint8_t cfg[VDM_GPU_CONFIG_BYTES];

    __builtin_memset(cfg, 0, sizeof(cfg));
    if (s != NULL) {
        vdm_put_le32(cfg + VDM_GPU_CFG_EVENTS_READ, s->events);
        vdm_put_le32(cfg + VDM_GPU_CFG_NUM_SCANOUTS, s->num_scanouts);
        if ((vdm_dev_device_features(d) & VDM_GPU_F_BLOB_ALIGNMENT) != 0)
            vdm_put_le32(cfg + VDM_GPU_CFG_BLOB_ALIGNMENT, s->blob_alignment);
    }
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

/* Only events_clear is writable: "Writing a '1' into a bit will clear the
 * corresponding bit in events_read". */
static void gpu_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    struct gpu *s = gpu_dev(d);
    uint8_t v[4] = {0, 0, 0, 0};
    uint32_t i;

    if (s == NULL)
        return;
    for (i = 0; i < len; i++) {
        uint64_t at = (uint64_t)off + i;

        if (at >= VDM_GPU_CFG_EVENTS_CLEAR && at < VDM_GPU_CFG_EVENTS_CLEAR + 4)
            v[at - VDM_GPU_CFG_EVENTS_CLEAR] = ((const uint8_t *)buf)[i];
        else
            gpu_warn(s, GW_UNKNOWN, "gpu: write to read-only config ignored");
    }
    s->events &= ~vdm_le32(v);
}

/* "Feature bits": BLOB_ALIGNMENT requires RESOURCE_BLOB, CONTEXT_INIT
 * requires VIRGL. */
static const struct vdm_feature_dep gpu_deps[] = {
    {VDM_GPU_F_BLOB_ALIGNMENT, VDM_GPU_F_RESOURCE_BLOB},
    {VDM_GPU_F_CONTEXT_INIT, VDM_GPU_F_VIRGL},
};

static const struct vdm_device_class gpu_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_GPU,
    .name = "gpu",
    .config_size = VDM_GPU_CONFIG_BYTES,
    .max_queues = VDM_GPU_NUM_QUEUES,
    .deps = gpu_deps,
    .ndeps = sizeof(gpu_deps) / sizeof(gpu_deps[0]),
    .reset = gpu_reset,
    .driver_ok = gpu_driver_ok,
    .queue_notify = gpu_queue_notify,
    .queue_reset = gpu_queue_reset,
    .config_read = gpu_config_read,
    .config_write = gpu_config_write,
};

/* ------------------------------------------------------------------------ */
/* Public API */

#define GPU_FLAGS_ALL   (VDM_GPU_EDID | VDM_GPU_BLOB | VDM_GPU_UUID)
#define DEFAULT_MAX_RES (256ULL << 20)

static int display_ok(const struct vdm_gpu_display *d)
{
    return d->edid_len <= VDM_GPU_EDID_MAX_BYTES &&
           (d->edid != NULL || d->edid_len == 0);
}

static int gpu_check_config(const struct vdm_gpu_config *cfg)
{
    const struct vdm_gpu_ops *ops = cfg->ops;
    uint32_t i;

    if (!VDM_HAS(cfg, struct vdm_gpu_config, host))
        return VDM_ESIZE;
    if (ops == NULL)
        return VDM_EINVAL;
    if (!VDM_HAS(ops, struct vdm_gpu_ops, update))
        return VDM_ESIZE;
    if (ops->resource_create == NULL || ops->resource_destroy == NULL ||
        ops->scanout == NULL || ops->update == NULL)
        return VDM_EINVAL;
    if ((cfg->flags & ~(uint32_t)GPU_FLAGS_ALL) != 0 ||
        ((cfg->flags & VDM_GPU_UUID) != 0 &&
         !VDM_HAS_HOOK(ops, struct vdm_gpu_ops, assign_uuid)))
        return VDM_EINVAL;
    if (cfg->num_scanouts == 0 || cfg->num_scanouts > VDM_GPU_MAX_SCANOUTS ||
        cfg->displays == NULL || cfg->resources == NULL ||
        cfg->nresources == 0 || cfg->backing == NULL || cfg->nbacking == 0)
        return VDM_EINVAL;
    if ((cfg->blob_alignment & (cfg->blob_alignment - 1u)) != 0)
        return VDM_EINVAL;
    for (i = 0; i < cfg->num_scanouts; i++)
        if (!display_ok(&cfg->displays[i]))
            return VDM_EINVAL;
    return 0;
}

int vdm_gpu_init(struct vdm_gpu *g, struct vdm_dev *dev,
                 const struct vdm_gpu_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    uint64_t f = 0;
    struct gpu *s;
    uint32_t i;
    int rc;

    if (g == NULL || dev == NULL || cfg == NULL || base == NULL)
        return VDM_EINVAL;
    rc = gpu_check_config(cfg);
    if (rc < 0)
        return rc;
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0)
        return VDM_ESIZE;
    if (dc.num_queues == 0)
        dc.num_queues = VDM_GPU_NUM_QUEUES;
    if (dc.num_queues != VDM_GPU_NUM_QUEUES)
        return VDM_EINVAL;

    __builtin_memset(g, 0, sizeof(*g));
    s = (struct gpu *)(void *)g->opaque;
    s->flags = cfg->flags;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->res = (struct gres *)(void *)cfg->resources;
    s->nres = cfg->nresources;
    s->pool = (struct gbacking *)(void *)cfg->backing;
    s->npool = cfg->nbacking;
    s->num_scanouts = cfg->num_scanouts;
    s->blob_alignment = cfg->blob_alignment;
    s->max_res_bytes = cfg->max_resource_bytes != 0 ? cfg->max_resource_bytes
                                                    : DEFAULT_MAX_RES;
    if (s->max_res_bytes > (UINT64_MAX >> 1))
        s->max_res_bytes = UINT64_MAX >> 1;
    s->max_total_bytes = cfg->max_total_bytes;
    s->hostmem_bytes = cfg->hostmem_bytes;
    for (i = 0; i < s->num_scanouts; i++)
        s->disp[i] = cfg->displays[i];
    __builtin_memset(cfg->resources, 0,
                     (size_t)cfg->nresources * sizeof(struct vdm_gpu_res));

    kc.num_queues = VDM_GPU_NUM_QUEUES;
    kc.nqdesc = 1;
    kc.queues = gpu_queues;
    kc.ctx = s;
    kc.slots = s->slots;
    kc.iovs = s->iov;
    kc.slot_bytes = VDM_KIT_SLOT_BYTES(0);
    kc.per_queue = 1;
    kc.iov_per_req = VDM_GPU_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0)
        return rc;

    if ((cfg->flags & VDM_GPU_EDID) != 0)
        f |= VDM_GPU_F_EDID;
    if ((cfg->flags & VDM_GPU_UUID) != 0)
        f |= VDM_GPU_F_RESOURCE_UUID;
    if ((cfg->flags & VDM_GPU_BLOB) != 0) {
        f |= VDM_GPU_F_RESOURCE_BLOB;
        if (cfg->blob_alignment != 0)
            f |= VDM_GPU_F_BLOB_ALIGNMENT;
    }
    dc.features = vdm_kit_features(f, base->features, 0);
    dc.cls = &gpu_class;
    dc.priv = s;
    s->magic = GPU_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0)
        s->magic = 0;
    return rc;
}

struct vdm_dev *vdm_gpu_dev(const struct vdm_gpu *g)
{
    const struct gpu *s = cgpu_of(g);

    return s != NULL ? s->dev : NULL;
}

int vdm_gpu_set_display(struct vdm_gpu *g, uint32_t scanout,
                        const struct vdm_gpu_display *d)
{
    struct gpu *s = gpu_of(g);

    if (s == NULL || d == NULL || !display_ok(d))
        return VDM_EINVAL;
    if (scanout >= s->num_scanouts)
        return VDM_ERANGE;
    s->disp[scanout] = *d;
    /* "Events": VIRTIO_GPU_EVENT_DISPLAY, then a config change notice. */
    s->events |= VDM_GPU_EVENT_DISPLAY;
    vdm_dev_config_changed(s->dev);
    return 0;
}

uint32_t vdm_gpu_resources(const struct vdm_gpu *g)
{
    const struct gpu *s = cgpu_of(g);

    return s != NULL ? s->nlive : 0;
}
