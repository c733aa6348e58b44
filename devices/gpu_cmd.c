/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpu commands (spec "GPU Device / Device Operation": controlq and
 * cursorq): each reads its request from the local copy the queue service
 * made (devices/gpu.c), checks every id, rectangle, offset, stride and
 * format with overflow-safe arithmetic against the resource, its backing
 * and the host's limits, and only then moves bytes or tells the host. */
#include "gpu_internal.h"

#include "abi_internal.h"
#include "le.h"

/* Is the rectangle (x, y, w, h) inside a W x H area? Overflow-safe; an
 * empty rectangle is inside when its corner is. */
static bool rect_in(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t W,
                    uint32_t H)
{
    return (x <= W) && (w <= (W - x)) && (y <= H) && (h <= (H - y));
}

static bool short_req(struct gpu *s, const struct gcmd *k, uint32_t need)
{
    if (k->n >= need) {
        return false;
    }
    gpu_warn(s, GW_SHORT, "gpu: request shorter than its command");
    return true;
}

/* ------------------------------------------------------------------------ */
/* Scanouts */

void gpu_scanout_publish(struct gpu *s, uint32_t i)
{
    const struct gscanout *so = &s->so[i];
    struct vdm_gpu_scanout_info info;
    const struct gres *r = gpu_res_find(s, so->res);

    __builtin_memset(&info, 0, sizeof(info));
    if ((so->res != 0u) && (r != NULL)) {
        info.resource_id = so->res;
        info.format = so->format;
        info.x = so->x;
        info.y = so->y;
        info.width = so->w;
        info.height = so->h;
        info.stride = so->stride;
        info.pixels = (const uint8_t *)r->pixels + so->offset +
                      ((uint64_t)so->y * so->stride) + ((uint64_t)so->x * BPP);
    }
    s->ops->scanout(s->host, i, &info);
}

void gpu_scanout_disable(struct gpu *s, uint32_t i)
{
    if (s->so[i].res == 0u) {
        return;
    }
    __builtin_memset(&s->so[i], 0, sizeof(s->so[i]));
    gpu_scanout_publish(s, i);
}

/* ------------------------------------------------------------------------ */
/* controlq commands: each returns the response type (VDM_GPU_RESP_*) */

static uint32_t cmd_display_info(struct gpu *s, struct gcmd *k)
{
    uint32_t i;

    __builtin_memset(k->out, 0, sizeof(k->out));
    for (i = 0; i < s->num_scanouts; i++) {
        uint8_t *p = k->out + (i * 24u);
        const struct vdm_gpu_display *d = &s->disp[i];

        vdm_put_le32(p, d->x);
        vdm_put_le32(p + 4, d->y);
        vdm_put_le32(p + 8, d->width);
        vdm_put_le32(p + 12, d->height);
        vdm_put_le32(p + 16, (d->enabled != 0u) ? 1u : 0u);
    }
    k->plen = (uint32_t)VDM_GPU_MAX_SCANOUTS * 24u;
    return VDM_GPU_RESP_OK_DISPLAY_INFO;
}

/* The EDID payload goes straight into the chain (it is larger than out[]):
 * size, padding, the blob, zeros up to 1024 bytes. */
static uint32_t cmd_get_edid(struct gpu *s, struct gcmd *k)
{
    static const uint8_t zero[64];
    const struct vdm_gpu_display *d;
    uint8_t head[8];
    uint32_t sc;
    uint32_t off;

    if (!gpu_negotiated(s, VDM_GPU_F_EDID)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_GET_EDID)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    sc = vdm_le32(k->in + 24);
    if (sc >= s->num_scanouts) {
        gpu_warn(s, GW_SCANOUT, "gpu: GET_EDID for a scanout out of range");
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    if (k->c->write_len < RESP_EDID) {
        return VDM_GPU_RESP_OK_EDID; /* no response buffer: nothing to do */
    }
    d = &s->disp[sc];
    vdm_put_le32(head, (d->edid != NULL) ? d->edid_len : 0u);
    vdm_put_le32(head + 4, 0u);
    (void)vdm_chain_copy_to(k->c, RQ_HDR, head, sizeof(head));
    off = 0;
    if (d->edid != NULL) {
        (void)vdm_chain_copy_to(k->c, RQ_HDR + 8u, d->edid, d->edid_len);
        off = d->edid_len;
    }
    while (off < (uint32_t)VDM_GPU_EDID_MAX_BYTES) {
        uint32_t n = (uint32_t)VDM_GPU_EDID_MAX_BYTES - off;

        n = (n < sizeof(zero)) ? n : (uint32_t)sizeof(zero);
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
    uint32_t w;
    uint32_t h;

    if (short_req(s, k, RQ_CREATE_2D)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    __builtin_memset(&in, 0, sizeof(in));
    in.id = vdm_le32(k->in + 24);
    in.format = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    if (!gpu_format_ok(in.format)) {
        gpu_warn(s, GW_FORMAT, "gpu: unknown format");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if ((w == 0u) || (h == 0u) || (w > (UINT32_MAX / BPP))) {
        gpu_warn(s, GW_RECT, "gpu: resource size out of range");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    /* stride * height, without overflow: the host limit bounds it. */
    if (((uint64_t)w * BPP) > (s->max_res_bytes / h)) {
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

    if ((r == NULL) || ((kind != 0u) && (r->kind != kind))) {
        gpu_warn(s, GW_RES, "gpu: unknown resource id");
        return NULL;
    }
    return r;
}

static uint32_t cmd_unref(struct gpu *s, struct gcmd *k)
{
    struct gres *r;
    uint32_t i;

    if (short_req(s, k, RQ_RES)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    /* No scanout may keep showing storage that is about to go away. */
    for (i = 0; i < s->num_scanouts; i++) {
        if (s->so[i].res == r->id) {
            gpu_scanout_disable(s, i);
        }
    }
    gpu_cursor_forget(s, r->id);
    gpu_res_destroy(s, r);
    return VDM_GPU_RESP_OK_NODATA;
}

static bool scanout_id_ok(struct gpu *s, uint32_t sc)
{
    if (sc < s->num_scanouts) {
        return true;
    }
    gpu_warn(s, GW_SCANOUT, "gpu: scanout id out of range");
    return false;
}

/* "Scanout rectangles must be completely covered by the underlying
 * resource"; resource_id 0 disables the scanout. */
static uint32_t cmd_set_scanout(struct gpu *s, struct gcmd *k)
{
    uint32_t x;
    uint32_t y;
    uint32_t w;
    uint32_t h;
    uint32_t sc;
    uint32_t id;
    struct gscanout *so;
    struct gres *r;

    if (short_req(s, k, RQ_SET_SCANOUT)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    sc = vdm_le32(k->in + 40);
    id = vdm_le32(k->in + 44);
    if (!scanout_id_ok(s, sc)) {
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    if (id == 0u) {
        gpu_scanout_disable(s, sc);
        return VDM_GPU_RESP_OK_NODATA;
    }
    r = find_res(s, id, VDM_GPU_RES_2D);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if ((w == 0u) || (h == 0u) || !rect_in(x, y, w, h, r->width, r->height)) {
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
    gpu_scanout_publish(s, sc);
    return VDM_GPU_RESP_OK_NODATA;
}

/* "It takes a rectangle and a resource id, and flushes any scanouts the
 * resource is being used on." Everything is checked before anything is
 * copied or shown. */
static uint32_t cmd_flush(struct gpu *s, struct gcmd *k)
{
    uint32_t x;
    uint32_t y;
    uint32_t w;
    uint32_t h;
    uint32_t i;
    struct gres *r;

    if (short_req(s, k, RQ_FLUSH)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    r = find_res(s, vdm_le32(k->in + 40), 0);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if ((r->kind == VDM_GPU_RES_2D) &&
        !rect_in(x, y, w, h, r->width, r->height)) {
        gpu_warn(s, GW_RECT, "gpu: flush rectangle outside the resource");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    for (i = 0; i < s->num_scanouts; i++) {
        const struct gscanout *so = &s->so[i];

        if ((so->res == r->id) && !rect_in(x, y, w, h, so->fb_w, so->fb_h)) {
            gpu_warn(s, GW_RECT, "gpu: flush rectangle outside the scanout");
            return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
        }
    }
    for (i = 0; i < s->num_scanouts; i++) {
        const struct gscanout *so = &s->so[i];
        struct vdm_gpu_update u;
        uint32_t x0;
        uint32_t y0;
        uint32_t x1;
        uint32_t y1;
        uint64_t at;

        if (so->res != r->id) {
            continue;
        }
        /* The flushed part of what this scanout shows. */
        x0 = (x > so->x) ? x : so->x;
        y0 = (y > so->y) ? y : so->y;
        if (((uint64_t)x + w) < ((uint64_t)so->x + so->w)) {
            x1 = x + w;
        } else {
            x1 = so->x + so->w;
        }
        if (((uint64_t)y + h) < ((uint64_t)so->y + so->h)) {
            y1 = y + h;
        } else {
            y1 = so->y + so->h;
        }
        if ((x0 >= x1) || (y0 >= y1)) {
            continue;
        }
        at = so->offset + ((uint64_t)y0 * so->stride) + ((uint64_t)x0 * BPP);
        /* A blob's pixels are in guest memory: bring the rows over. */
        if ((r->kind == VDM_GPU_RES_BLOB) &&
            (gpu_backing_copy(s, r, at, at, so->stride, (x1 - x0) * BPP,
                              y1 - y0) < 0)) {
            return VDM_GPU_RESP_ERR_UNSPEC;
        }
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
    uint32_t x;
    uint32_t y;
    uint32_t w;
    uint32_t h;
    uint64_t off;
    uint64_t last;
    struct gres *r;

    if (short_req(s, k, RQ_TRANSFER)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    x = vdm_le32(k->in + 24);
    y = vdm_le32(k->in + 28);
    w = vdm_le32(k->in + 32);
    h = vdm_le32(k->in + 36);
    off = vdm_le64(k->in + 40);
    r = find_res(s, vdm_le32(k->in + 48), VDM_GPU_RES_2D);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (r->bcount == 0u) {
        gpu_warn(s, GW_BACKING, "gpu: transfer to a resource without backing");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (!rect_in(x, y, w, h, r->width, r->height)) {
        gpu_warn(s, GW_RECT, "gpu: transfer rectangle outside the resource");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if ((w == 0u) || (h == 0u)) {
        return VDM_GPU_RESP_OK_NODATA;
    }
    /* h <= height, so (h - 1) * stride < bytes: no overflow. */
    last = (((uint64_t)h - 1u) * r->stride) + ((uint64_t)w * BPP);
    if ((off > r->btotal) || (last > (r->btotal - off))) {
        gpu_warn(s, GW_RECT, "gpu: transfer beyond the backing");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (gpu_backing_copy(s, r, off,
                         ((uint64_t)y * r->stride) + ((uint64_t)x * BPP),
                         r->stride, w * BPP, h) < 0) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    return VDM_GPU_RESP_OK_NODATA;
}

/* The entries follow the fixed part in the readable bytes; check they are
 * all there (nr as 64-bit: nr * 16 may not wrap). */
static bool entries_present(struct gpu *s, const struct gcmd *k, uint32_t at,
                            uint32_t nr)
{
    if (((uint64_t)at + ((uint64_t)nr * 16u)) <= k->c->read_len) {
        return true;
    }
    gpu_warn(s, GW_SHORT, "gpu: fewer backing entries than announced");
    return false;
}

static uint32_t cmd_attach(struct gpu *s, struct gcmd *k)
{
    struct gres *r;
    uint32_t nr;

    if (short_req(s, k, RQ_ATTACH)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    nr = vdm_le32(k->in + 28);
    if (!entries_present(s, k, RQ_ATTACH, nr)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    return gpu_backing_attach(s, r, k->c, RQ_ATTACH, nr);
}

static uint32_t cmd_detach(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (short_req(s, k, RQ_RES)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (r->bcount == 0u) {
        gpu_warn(s, GW_BACKING, "gpu: detach without backing");
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    gpu_backing_detach(s, r);
    return VDM_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_assign_uuid(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (!gpu_negotiated(s, VDM_GPU_F_RESOURCE_UUID)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_RES)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), 0);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (r->has_uuid == 0u) {
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

static bool aligned(const struct gpu *s, uint64_t v)
{
    return !gpu_negotiated(s, VDM_GPU_F_BLOB_ALIGNMENT) ||
           ((v & ((uint64_t)s->blob_alignment - 1u)) == 0u);
}

/* Guest-only blobs (VIRTIO_GPU_BLOB_MEM_GUEST); host3d needs VIRGL. */
static uint32_t cmd_create_blob(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_resource_info in;
    uint32_t mem;
    uint32_t nr;
    uint32_t rc;
    uint64_t size;
    struct gres *r;

    if (!gpu_negotiated(s, VDM_GPU_F_RESOURCE_BLOB)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_CREATE_BLOB)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    __builtin_memset(&in, 0, sizeof(in));
    in.id = vdm_le32(k->in + 24);
    mem = vdm_le32(k->in + 28);
    nr = vdm_le32(k->in + 36);
    size = vdm_le64(k->in + 48);
    if ((mem != VDM_GPU_BLOB_MEM_GUEST) || (size == 0u) || !aligned(s, size)) {
        gpu_warn(s, GW_BACKING,
                 "gpu: blob not guest memory, empty or "
                 "misaligned");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (!entries_present(s, k, RQ_CREATE_BLOB, nr)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    in.kind = VDM_GPU_RES_BLOB;
    in.bytes = size;
    rc = gpu_res_create(s, &in, &r);
    if (rc != VDM_GPU_RESP_OK_NODATA) {
        return rc;
    }
    r->blob_flags = vdm_le32(k->in + 32);
    if (nr == 0u) {
        return VDM_GPU_RESP_OK_NODATA; /* ATTACH_BACKING later */
    }
    rc = gpu_backing_attach(s, r, k->c, RQ_CREATE_BLOB, nr);
    if ((rc == VDM_GPU_RESP_OK_NODATA) && (r->btotal < size)) {
        gpu_warn(s, GW_BACKING, "gpu: blob backing smaller than its size");
        rc = VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (rc != VDM_GPU_RESP_OK_NODATA) {
        gpu_res_destroy(s, r);
    }
    return rc;
}

/* The framebuffer (width x height, format, strides[0], offsets[0]) must
 * lie inside the blob, and the shown rectangle inside the framebuffer. */
static uint32_t cmd_scanout_blob(struct gpu *s, struct gcmd *k)
{
    uint32_t x;
    uint32_t y;
    uint32_t w;
    uint32_t h;
    uint32_t sc;
    uint32_t id;
    uint32_t fw;
    uint32_t fh;
    uint32_t fmt;
    uint32_t stride;
    uint32_t offset;
    uint64_t end;
    struct gscanout *so;
    struct gres *r;

    if (!gpu_negotiated(s, VDM_GPU_F_RESOURCE_BLOB)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_SCANOUT_BLOB)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
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
    if (!scanout_id_ok(s, sc)) {
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    if (id == 0u) {
        gpu_scanout_disable(s, sc);
        return VDM_GPU_RESP_OK_NODATA;
    }
    r = find_res(s, id, VDM_GPU_RES_BLOB);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!gpu_format_ok(fmt)) {
        gpu_warn(s, GW_FORMAT, "gpu: unknown format");
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    /* offset + (fh - 1) * stride + fw * 4 <= blob size, each step checked
     * against the size (<= 2^63) so nothing wraps. */
    end = (fh != 0u) ? (((uint64_t)fh - 1u) * stride) : 0u;
    if ((fw == 0u) || (fh == 0u) || (((uint64_t)fw * BPP) > stride) ||
        (end > r->bytes) || (offset > (r->bytes - end)) ||
        (((uint64_t)fw * BPP) > (r->bytes - end - offset)) || (w == 0u) ||
        (h == 0u) || !rect_in(x, y, w, h, fw, fh)) {
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
    gpu_scanout_publish(s, sc);
    return VDM_GPU_RESP_OK_NODATA;
}

bool gpu_hostmem_ok(const struct gpu *s)
{
    return gpu_negotiated(s, VDM_GPU_F_RESOURCE_BLOB) &&
           (s->hostmem_bytes != 0u) &&
           VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, blob_map);
}

static uint32_t cmd_map_blob(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_resource_info in;
    uint32_t info = 0;
    uint64_t off;
    struct gres *r;

    if (!gpu_hostmem_ok(s)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_MAP_BLOB)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), VDM_GPU_RES_BLOB);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    off = vdm_le64(k->in + 32);
    /* "The driver MUST not map a blob resource that is already mapped." */
    if ((r->mapped != 0u) || !aligned(s, off) || (off > s->hostmem_bytes) ||
        (r->bytes > (s->hostmem_bytes - off))) {
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
    r->map_off = off;
    __builtin_memset(k->out, 0, 8);
    vdm_put_le32(k->out, info);
    k->plen = 8;
    return VDM_GPU_RESP_OK_MAP_INFO;
}

static uint32_t cmd_unmap_blob(struct gpu *s, struct gcmd *k)
{
    struct gres *r;

    if (!gpu_hostmem_ok(s)) {
        return VDM_GPU_RESP_ERR_UNSPEC;
    }
    if (short_req(s, k, RQ_RES)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    r = find_res(s, vdm_le32(k->in + 24), VDM_GPU_RES_BLOB);
    if (r == NULL) {
        return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (r->mapped == 0u) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, blob_unmap)) {
        s->ops->blob_unmap(s->host, r->id);
    }
    r->mapped = 0;
    r->map_off = 0;
    return VDM_GPU_RESP_OK_NODATA;
}

void gpu_cursor_show(struct gpu *s, const struct vdm_gpu_cursor *c)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_gpu_ops, cursor)) {
        s->ops->cursor(s->host, c);
    }
}

/* cursorq: "Both cursorq commands use the same command struct." The shape
 * is a 64x64 resource ("Configure mouse cursor"). */
static uint32_t cmd_cursor(struct gpu *s, struct gcmd *k)
{
    struct vdm_gpu_cursor cur;
    struct gres *r = NULL;

    if (short_req(s, k, RQ_CURSOR)) {
        return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    __builtin_memset(&cur, 0, sizeof(cur));
    cur.scanout = vdm_le32(k->in + 24);
    cur.x = vdm_le32(k->in + 28);
    cur.y = vdm_le32(k->in + 32);
    if (!scanout_id_ok(s, cur.scanout)) {
        return VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    if (k->type == VDM_GPU_CMD_MOVE_CURSOR) {
        cur.what = VDM_GPU_CURSOR_MOVE;
    } else {
        cur.what = VDM_GPU_CURSOR_UPDATE;
        cur.resource_id = vdm_le32(k->in + 40);
        cur.hot_x = vdm_le32(k->in + 44);
        cur.hot_y = vdm_le32(k->in + 48);
        if (cur.resource_id != 0u) {
            r = find_res(s, cur.resource_id, VDM_GPU_RES_2D);
            if (r == NULL) {
                return VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID;
            }
            if ((r->width != (uint32_t)VDM_GPU_CURSOR_DIM) ||
                (r->height != (uint32_t)VDM_GPU_CURSOR_DIM)) {
                gpu_warn(s, GW_CURSOR, "gpu: cursor resource not 64x64");
                return VDM_GPU_RESP_ERR_INVALID_PARAMETER;
            }
            cur.format = r->format;
            cur.pixels = r->pixels;
        }
    }
    gpu_cursor_show(s, &cur);
    gpu_cursor_note(s, &cur);
    return VDM_GPU_RESP_OK_NODATA;
}

/* Bytes of the response to @p type (so a short buffer is refused before
 * the command runs). */
uint32_t gpu_resp_bytes(uint32_t type)
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

uint32_t gpu_dispatch(struct gpu *s, struct gcmd *k, uint16_t q)
{
    if (q == (uint16_t)VDM_GPU_QUEUE_CURSOR) {
        if ((k->type == VDM_GPU_CMD_UPDATE_CURSOR) ||
            (k->type == VDM_GPU_CMD_MOVE_CURSOR)) {
            return cmd_cursor(s, k);
        }
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
