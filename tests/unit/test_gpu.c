/* SPDX-License-Identifier: BSD-3-Clause */
/* GPU device (spec "GPU Device"): display info and EDID, the fbdev path
 * (create, attach, scanout, transfer, flush) pixel for pixel, fences and
 * ring indices, cursor, blob resources, UUIDs, display-change events, and
 * hostile requests (rectangles, offsets, strides, backing entries,
 * resource and scanout ids, short and oversized requests), driven through
 * the device core (and MMIO/PCI) by the driver simulator. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/gpu.h"
#include "vdm/le.h"

#define QMAX  128
#define NRES  8
#define NBACK 64
#define CTRL  VDM_GPU_QUEUE_CONTROL
#define CURS  VDM_GPU_QUEUE_CURSOR

/* ------------------------------------------------------------------------ */
/* Host: storage from malloc, a screen per scanout, what it was told        */

struct host {
    int creates, destroys, scanouts, updates, cursors;
    int fail_create;
    struct vdm_gpu_scanout_info so[2];
    struct vdm_gpu_update last_update;
    struct vdm_gpu_cursor last_cursor;
    uint8_t cursor_px[64 * 64 * 4];
    uint32_t screen[2][64 * 64]; /* what each scanout shows, 64x64 max */
    uint32_t mapped;
    uint64_t map_off;
};

static struct host hs;
static struct dh h;
static struct vdm_gpu gpu;
static struct vdm_gpu_res restab[NRES];
static struct vdm_gpu_backing pool[NBACK];
static uint8_t edid0[128];

static int host_create(void *host, const struct vdm_gpu_resource_info *in,
                       void **px)
{
    struct host *x = host;
    if (x->fail_create)
        return VDM_EIO;
    x->creates++;
    *px = calloc(1, (size_t)in->bytes);
    return *px ? 0 : VDM_EIO;
}

static void host_destroy(void *host, uint32_t id, void *px)
{
    struct host *x = host;
    (void)id;
    x->destroys++;
    free(px);
}

static void host_scanout(void *host, uint32_t sc,
                         const struct vdm_gpu_scanout_info *s)
{
    struct host *x = host;
    ck_assert_uint_lt(sc, 2);
    x->scanouts++;
    x->so[sc] = *s;
}

static void host_update(void *host, uint32_t sc, const struct vdm_gpu_update *u)
{
    struct host *x = host;
    ck_assert_uint_lt(sc, 2);
    ck_assert_uint_le(u->x + u->width, 64);
    ck_assert_uint_le(u->y + u->height, 64);
    x->updates++;
    x->last_update = *u;
    for (uint32_t r = 0; r < u->height; r++)
        memcpy(&x->screen[sc][(u->y + r) * 64 + u->x],
               (const uint8_t *)u->pixels + (size_t)r * u->stride,
               (size_t)u->width * 4);
}

static void host_cursor(void *host, const struct vdm_gpu_cursor *c)
{
    struct host *x = host;
    x->cursors++;
    x->last_cursor = *c;
    if (c->pixels)
        memcpy(x->cursor_px, c->pixels, sizeof(x->cursor_px));
}

static int host_uuid(void *host, uint32_t id, uint8_t uuid[16])
{
    (void)host;
    for (int i = 0; i < 16; i++)
        uuid[i] = (uint8_t)(id * 16 + i);
    return 0;
}

static int host_map(void *host, const struct vdm_gpu_resource_info *in,
                    uint64_t off, uint32_t *info)
{
    struct host *x = host;
    x->mapped = in->id;
    x->map_off = off;
    *info = 3; /* WC */
    return 0;
}

static void host_unmap(void *host, uint32_t id)
{
    struct host *x = host;
    ck_assert_uint_eq(x->mapped, id);
    x->mapped = 0;
}

static const struct vdm_gpu_ops gpu_ops = {
    .size = sizeof(struct vdm_gpu_ops),
    .resource_create = host_create,
    .resource_destroy = host_destroy,
    .scanout = host_scanout,
    .update = host_update,
    .cursor = host_cursor,
    .assign_uuid = host_uuid,
    .blob_map = host_map,
    .blob_unmap = host_unmap,
};

static struct vdm_gpu_display disp[2];

static struct vdm_gpu_config gpu_cfg(void)
{
    struct vdm_gpu_config c = VDM_INIT(struct vdm_gpu_config);
    c.flags = VDM_GPU_EDID | VDM_GPU_BLOB | VDM_GPU_UUID;
    c.num_scanouts = 2;
    c.nresources = NRES;
    c.displays = disp;
    c.resources = restab;
    c.backing = pool;
    c.nbacking = NBACK;
    c.blob_alignment = 4096;
    c.max_resource_bytes = 1u << 20;
    c.hostmem_bytes = 1u << 20;
    c.ops = &gpu_ops;
    c.host = &hs;
    return c;
}

static void setup(void)
{
    struct dh_opts o = {
        .num_queues = 2, .qsize = QMAX, .guest_size = 16u << 20};
    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(vdm_gpu_edid(edid0, sizeof(edid0), 64, 48, "vdm test"),
                     128);
    memset(disp, 0, sizeof(disp));
    disp[0] = (struct vdm_gpu_display){.width = 64,
                                       .height = 48,
                                       .enabled = 1,
                                       .edid_len = 128,
                                       .edid = edid0};
    disp[1] = (struct vdm_gpu_display){.x = 64, .width = 32, .height = 32};
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_gpu_config c = gpu_cfg();
    ck_assert_int_eq(vdm_gpu_init(&gpu, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_gpu_dev(&gpu), &h.dev);
}

static void teardown(void)
{
    dh_reset(&h); /* the device gives every resource back */
    ck_assert_int_eq(hs.creates, hs.destroys);
    dh_fini(&h);
}

#define ALL_F                                                                  \
    (VDM_F_VERSION_1 | VDM_GPU_F_EDID | VDM_GPU_F_RESOURCE_UUID |              \
     VDM_GPU_F_RESOURCE_BLOB | VDM_GPU_F_BLOB_ALIGNMENT)

static void bringup(uint64_t f)
{
    ck_assert_int_eq(dh_bring_up(&h, f, 2), 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

/* ------------------------------------------------------------------------ */
/* Driver side: one command, its response                                   */

static uint8_t resp[2048];

/* Send @p req (plus @p extra readable bytes in a second buffer) on queue
 * @p q with a response buffer of @p rlen bytes; returns the used length,
 * the response in resp[]. */
static uint32_t send2(uint16_t q, const void *req, uint32_t len,
                      const void *extra, uint32_t elen, uint32_t rlen)
{
    struct drv_buf b[3];
    unsigned nout = 0;
    uint64_t g = dh_alloc(&h, len, 8);
    memcpy(dh_ptr(&h, g, len), req, len);
    b[nout++] = (struct drv_buf){g, len};
    if (elen) {
        uint64_t e = dh_alloc(&h, elen, 8);
        memcpy(dh_ptr(&h, e, elen), extra, elen);
        b[nout++] = (struct drv_buf){e, elen};
    }
    uint64_t r = 0;
    if (rlen) {
        r = dh_alloc(&h, rlen, 8);
        memset(dh_ptr(&h, r, rlen), 0xee, rlen);
        b[nout] = (struct drv_buf){r, rlen};
    }
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, q), b, nout, rlen ? &b[nout] : NULL,
                                rlen ? 1 : 0, DRV_ADD_DIRECT, (void *)1),
                     0);
    drv_vq_publish(dh_vq(&h, q));
    ck_assert_int_ge(dh_kick(&h, q, 1), 0);
    uint32_t ulen = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), NULL, &ulen, &cookie), 1);
    memset(resp, 0, sizeof(resp));
    if (rlen)
        memcpy(resp, dh_ptr(&h, r, rlen), rlen);
    return ulen;
}

static uint32_t send(const void *req, uint32_t len, uint32_t rlen)
{
    return send2(CTRL, req, len, NULL, 0, rlen);
}

/* A request: header then le32 words. */
struct rq {
    uint8_t b[128];
    uint32_t n;
};

static struct rq mk(uint32_t type)
{
    struct rq r;
    memset(&r, 0, sizeof(r));
    vdm_put_le32(r.b, type);
    r.n = 24;
    return r;
}

static void w32(struct rq *r, uint32_t v)
{
    vdm_put_le32(r->b + r->n, v);
    r->n += 4;
}

static void w64(struct rq *r, uint64_t v)
{
    vdm_put_le64(r->b + r->n, v);
    r->n += 8;
}

/* Send a request with a 24-byte response; returns the response type. */
static uint32_t run(struct rq *r)
{
    ck_assert_uint_eq(send(r->b, r->n, 24), 24);
    return vdm_le32(resp);
}

static uint32_t create_2d(uint32_t id, uint32_t fmt, uint32_t w, uint32_t hh)
{
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_CREATE_2D);
    w32(&r, id);
    w32(&r, fmt);
    w32(&r, w);
    w32(&r, hh);
    return run(&r);
}

/* Attach @p n entries (gpa, len) pairs. */
static uint32_t attach(uint32_t id, const uint64_t *gpa, const uint32_t *len,
                       uint32_t n, uint32_t nr_claimed)
{
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_ATTACH_BACKING);
    uint8_t ent[16 * 16];
    w32(&r, id);
    w32(&r, nr_claimed);
    memset(ent, 0, sizeof(ent));
    for (uint32_t i = 0; i < n; i++) {
        vdm_put_le64(ent + i * 16, gpa[i]);
        vdm_put_le32(ent + i * 16 + 8, len[i]);
    }
    ck_assert_uint_eq(send2(CTRL, r.b, r.n, ent, n * 16, 24), 24);
    return vdm_le32(resp);
}

static uint32_t set_scanout(uint32_t sc, uint32_t id, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t hh)
{
    struct rq r = mk(VDM_GPU_CMD_SET_SCANOUT);
    w32(&r, x);
    w32(&r, y);
    w32(&r, w);
    w32(&r, hh);
    w32(&r, sc);
    w32(&r, id);
    return run(&r);
}

static uint32_t transfer(uint32_t id, uint32_t x, uint32_t y, uint32_t w,
                         uint32_t hh, uint64_t off)
{
    struct rq r = mk(VDM_GPU_CMD_TRANSFER_TO_HOST_2D);
    w32(&r, x);
    w32(&r, y);
    w32(&r, w);
    w32(&r, hh);
    w64(&r, off);
    w32(&r, id);
    w32(&r, 0);
    return run(&r);
}

static uint32_t flush(uint32_t id, uint32_t x, uint32_t y, uint32_t w,
                      uint32_t hh)
{
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_FLUSH);
    w32(&r, x);
    w32(&r, y);
    w32(&r, w);
    w32(&r, hh);
    w32(&r, id);
    w32(&r, 0);
    return run(&r);
}

static uint32_t res_cmd(uint32_t type, uint32_t id)
{
    struct rq r = mk(type);
    w32(&r, id);
    w32(&r, 0);
    return run(&r);
}

#define OK VDM_GPU_RESP_OK_NODATA

/* A framebuffer of w x h pixels in three guest pieces that are not
 * adjacent (a scatter list); returns the host pointer of each piece. */
struct fb {
    uint32_t w, h;
    uint64_t gpa[3];
    uint32_t len[3];
};

static void fb_make(struct fb *f, uint32_t id, uint32_t w, uint32_t hh)
{
    uint32_t bytes = w * hh * 4, a = bytes / 3 & ~3u, b = bytes / 3 & ~3u;
    f->w = w;
    f->h = hh;
    f->len[0] = a;
    f->len[1] = b;
    f->len[2] = bytes - a - b;
    for (int i = 0; i < 3; i++) {
        f->gpa[i] = dh_alloc(&h, f->len[i], 64);
        (void)dh_alloc(&h, 64, 64); /* a gap: not adjacent */
    }
    ck_assert_uint_eq(create_2d(id, VDM_GPU_FORMAT_B8G8R8X8_UNORM, w, hh), OK);
    ck_assert_uint_eq(attach(id, f->gpa, f->len, 3, 3), OK);
}

/* Pixel (x, y) of the guest framebuffer. */
static uint32_t *fb_px(struct fb *f, uint32_t x, uint32_t y)
{
    uint64_t off = ((uint64_t)y * f->w + x) * 4;
    for (int i = 0; i < 3; i++) {
        if (off < f->len[i])
            return dh_ptr(&h, f->gpa[i] + off, 4);
        off -= f->len[i];
    }
    ck_abort_msg("pixel outside the framebuffer");
    return NULL;
}

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
    return (x * 4u) | (y * 4u) << 8 | (seed & 0xffu) << 16 |
           ((x ^ y) & 1u) << 24;
}

static void fb_fill(struct fb *f, uint32_t seed)
{
    for (uint32_t y = 0; y < f->h; y++)
        for (uint32_t x = 0; x < f->w; x++)
            *fb_px(f, x, y) = pattern(x, y, seed);
}

/* ------------------------------------------------------------------------ */

/* "GET_DISPLAY_INFO": per-scanout rectangle and enabled; fence echoed. */
START_TEST(gpu_display_info_and_fence)
{
    bringup(ALL_F);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_NUM_SCANOUTS, 4), 2);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_NUM_CAPSETS, 4), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_BLOB_ALIGNMENT, 4), 4096);
    struct rq r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    vdm_put_le32(r.b + 4, VDM_GPU_FLAG_FENCE);
    vdm_put_le64(r.b + 8, 0x1122334455667788ull);
    vdm_put_le32(r.b + 16, 7);
    ck_assert_uint_eq(send(r.b, r.n, 408), 408);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_OK_DISPLAY_INFO);
    ck_assert_uint_eq(vdm_le32(resp + 4), VDM_GPU_FLAG_FENCE);
    ck_assert_uint_eq(vdm_le64(resp + 8), 0x1122334455667788ull);
    ck_assert_uint_eq(vdm_le32(resp + 16), 7);
    ck_assert_uint_eq(vdm_le32(resp + 24 + 8), 64);
    ck_assert_uint_eq(vdm_le32(resp + 24 + 12), 48);
    ck_assert_uint_eq(vdm_le32(resp + 24 + 16), 1);
    ck_assert_uint_eq(vdm_le32(resp + 48), 64); /* scanout 1: x */
    ck_assert_uint_eq(vdm_le32(resp + 48 + 16), 0);
    for (int i = 2 * 24; i < 16 * 24; i++)
        ck_assert_uint_eq(resp[24 + i], 0);
    /* Without FENCE: flags 0. */
    r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    ck_assert_uint_eq(send(r.b, r.n, 408), 408);
    ck_assert_uint_eq(vdm_le32(resp + 4), 0);
}
END_TEST

/* "GET_EDID": the host's blob, zero-padded to 1024 bytes. */
START_TEST(gpu_edid_served)
{
    bringup(ALL_F);
    struct rq r = mk(VDM_GPU_CMD_GET_EDID);
    w32(&r, 0);
    w32(&r, 0);
    ck_assert_uint_eq(send(r.b, r.n, 1056), 1056);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_OK_EDID);
    ck_assert_uint_eq(vdm_le32(resp + 24), 128);
    ck_assert_mem_eq(resp + 32, edid0, 128);
    for (int i = 32 + 128; i < 1056; i++)
        ck_assert_uint_eq(resp[i], 0);
    /* The generated block: header, checksum, the preferred mode. */
    static const uint8_t head[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    ck_assert_mem_eq(edid0, head, 8);
    unsigned sum = 0;
    for (int i = 0; i < 128; i++)
        sum += edid0[i];
    ck_assert_uint_eq(sum & 0xff, 0);
    ck_assert_uint_eq(edid0[56] | (edid0[58] >> 4) << 8, 64);
    ck_assert_uint_eq(edid0[59] | (edid0[61] >> 4) << 8, 48);
    /* Scanout out of range. */
    r = mk(VDM_GPU_CMD_GET_EDID);
    w32(&r, 2);
    w32(&r, 0);
    ck_assert_uint_eq(send(r.b, r.n, 1056), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    ck_assert_int_eq(vdm_gpu_edid(edid0, 127, 64, 48, NULL), VDM_EINVAL);
    ck_assert_int_eq(vdm_gpu_edid(edid0, 128, 4096, 48, NULL), VDM_EINVAL);
}
END_TEST

/* Without F_EDID negotiated, GET_EDID is an unsupported command. */
START_TEST(gpu_edid_needs_feature)
{
    bringup(VDM_F_VERSION_1);
    struct rq r = mk(VDM_GPU_CMD_GET_EDID);
    w32(&r, 0);
    w32(&r, 0);
    ck_assert_uint_eq(send(r.b, r.n, 1056), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_UNSPEC);
}
END_TEST

/* "Create a framebuffer and configure scanout" + "Update a framebuffer
 * and scanout": the screen equals the guest's pixels, exactly. */
START_TEST(gpu_fbdev_path_pixel_exact)
{
    struct fb f;
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 5, 64, 48);
    ck_assert_uint_eq(set_scanout(0, 5, 0, 0, 64, 48), OK);
    ck_assert_uint_eq(hs.so[0].resource_id, 5);
    ck_assert_uint_eq(hs.so[0].stride, 256);
    fb_fill(&f, 1);
    ck_assert_uint_eq(transfer(5, 0, 0, 64, 48, 0), OK);
    ck_assert_uint_eq(flush(5, 0, 0, 64, 48), OK);
    for (uint32_t y = 0; y < 48; y++)
        for (uint32_t x = 0; x < 64; x++)
            ck_assert_uint_eq(hs.screen[0][y * 64 + x], pattern(x, y, 1));
    /* A partial update: only the rectangle moves. */
    fb_fill(&f, 2);
    ck_assert_uint_eq(transfer(5, 10, 7, 20, 5, (7 * 64 + 10) * 4), OK);
    ck_assert_uint_eq(flush(5, 10, 7, 20, 5), OK);
    ck_assert_uint_eq(hs.last_update.x, 10);
    ck_assert_uint_eq(hs.last_update.width, 20);
    for (uint32_t y = 0; y < 48; y++)
        for (uint32_t x = 0; x < 64; x++) {
            int in = x >= 10 && x < 30 && y >= 7 && y < 12;
            ck_assert_uint_eq(hs.screen[0][y * 64 + x],
                              pattern(x, y, in ? 2 : 1));
        }
    /* A scanout showing a window of the resource: scanout coordinates. */
    ck_assert_uint_eq(set_scanout(1, 5, 32, 16, 32, 32), OK);
    ck_assert_uint_eq(transfer(5, 0, 0, 64, 48, 0), OK);
    ck_assert_uint_eq(flush(5, 0, 0, 64, 48), OK);
    for (uint32_t y = 0; y < 32; y++)
        for (uint32_t x = 0; x < 32; x++)
            ck_assert_uint_eq(hs.screen[1][y * 64 + x],
                              pattern(x + 32, y + 16, 2));
    ck_assert_uint_eq(vdm_gpu_resources(&gpu), 1);
}
END_TEST

/* Transfer rectangles and offsets: every bound, overflow-safe. */
START_TEST(gpu_hostile_transfer)
{
    struct fb f;
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 1, 64, 48);
    uint32_t inval = VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    ck_assert_uint_eq(transfer(1, 0xffffffffu, 0, 2, 1, 0), inval);
    ck_assert_uint_eq(transfer(1, 1, 0, 0xffffffffu, 1, 0), inval);
    ck_assert_uint_eq(transfer(1, 0, 47, 1, 2, 0), inval);
    ck_assert_uint_eq(transfer(1, 0, 0, 65, 1, 0), inval);
    /* offset past the backing, or the last row past it */
    ck_assert_uint_eq(transfer(1, 0, 0, 64, 48, 4), inval);
    ck_assert_uint_eq(transfer(1, 0, 0, 1, 1, 64 * 48 * 4), inval);
    ck_assert_uint_eq(transfer(1, 0, 0, 1, 1, UINT64_MAX - 2), inval);
    ck_assert_uint_eq(transfer(1, 0, 0, 1, 1, 64 * 48 * 4 - 4), OK);
    ck_assert_uint_eq(transfer(1, 0, 0, 0, 0, 0), OK); /* empty */
    /* unknown resource; resource without backing */
    ck_assert_uint_eq(transfer(9, 0, 0, 1, 1, 0),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    ck_assert_uint_eq(create_2d(2, VDM_GPU_FORMAT_B8G8R8X8_UNORM, 8, 8), OK);
    ck_assert_uint_eq(transfer(2, 0, 0, 1, 1, 0), VDM_GPU_RESP_ERR_UNSPEC);
    /* flush and scanout rectangles */
    ck_assert_uint_eq(flush(1, 0xfffffff0u, 0, 0x20, 1), inval);
    ck_assert_uint_eq(set_scanout(0, 1, 1, 0, 64, 48), inval);
    ck_assert_uint_eq(set_scanout(0, 1, 0, 0, 0, 48), inval);
    ck_assert_uint_eq(set_scanout(2, 1, 0, 0, 64, 48),
                      VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    ck_assert_uint_eq(set_scanout(0xffffffffu, 1, 0, 0, 64, 48),
                      VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    ck_assert_uint_eq(set_scanout(0, 77, 0, 0, 64, 48),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    ck_assert_int_eq(hs.updates, 0);
    ck_assert_int_eq(hs.scanouts, 0);
}
END_TEST

/* Resource creation: ids, formats, stride * height overflow, host limits. */
START_TEST(gpu_hostile_create)
{
    bringup(VDM_F_VERSION_1);
    uint32_t fmt = VDM_GPU_FORMAT_B8G8R8X8_UNORM;
    ck_assert_uint_eq(create_2d(0, fmt, 8, 8),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    ck_assert_uint_eq(create_2d(1, 0, 8, 8),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(create_2d(1, 5, 8, 8),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(create_2d(1, fmt, 0, 8),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(create_2d(1, fmt, 0x40000000u, 0x40000000u),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(create_2d(1, fmt, 0x3fffffffu, 0x40000001u),
                      VDM_GPU_RESP_ERR_OUT_OF_MEMORY);
    ck_assert_uint_eq(create_2d(1, fmt, 1024, 1024), /* 4 MiB > 1 MiB */
                      VDM_GPU_RESP_ERR_OUT_OF_MEMORY);
    ck_assert_int_eq(hs.creates, 0);
    ck_assert_uint_eq(create_2d(1, fmt, 8, 8), OK);
    /* An id in use may not be created again. */
    ck_assert_uint_eq(create_2d(1, fmt, 8, 8),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* The table is the limit. */
    for (uint32_t id = 2; id <= NRES; id++)
        ck_assert_uint_eq(create_2d(id, fmt, 8, 8), OK);
    ck_assert_uint_eq(create_2d(100, fmt, 8, 8),
                      VDM_GPU_RESP_ERR_OUT_OF_MEMORY);
    /* Host refusal. */
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_UNREF, 3), OK);
    hs.fail_create = 1;
    ck_assert_uint_eq(create_2d(3, fmt, 8, 8), VDM_GPU_RESP_ERR_OUT_OF_MEMORY);
    hs.fail_create = 0;
    ck_assert_uint_eq(vdm_gpu_resources(&gpu), NRES - 1);
    /* Use after unref. */
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_UNREF, 3),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    ck_assert_uint_eq(flush(3, 0, 0, 1, 1),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
}
END_TEST

/* Backing entries: counts, wrapping ranges, double attach, the pool. */
START_TEST(gpu_hostile_backing)
{
    bringup(VDM_F_VERSION_1);
    uint32_t fmt = VDM_GPU_FORMAT_B8G8R8X8_UNORM;
    uint64_t g = dh_alloc(&h, 4096, 64);
    uint64_t gpa[4] = {g, UINT64_MAX - 10, g + 4096, 0};
    uint32_t len[4] = {256, 100, 256, 0};
    ck_assert_uint_eq(create_2d(1, fmt, 8, 8), OK);
    /* nr_entries far beyond the pool / the request. */
    ck_assert_uint_eq(attach(1, gpa, len, 1, 0xffffffffu),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(attach(1, gpa, len, 1, NBACK + 1),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    /* a range that wraps, an empty entry, no entries */
    ck_assert_uint_eq(attach(1, gpa, len, 2, 2),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(attach(1, &gpa[3], &len[3], 1, 1),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(attach(1, gpa, len, 0, 0),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(attach(9, gpa, len, 1, 1),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* Adjacent entries merge: 16 entries of 16 bytes take one pool slot. */
    {
        uint64_t gg[16];
        uint32_t ll[16];
        for (int i = 0; i < 16; i++) {
            gg[i] = g + 16u * i;
            ll[i] = 16;
        }
        ck_assert_uint_eq(attach(1, gg, ll, 16, 16), OK);
    }
    /* Attaching twice is refused. */
    ck_assert_uint_eq(attach(1, gpa, len, 1, 1), VDM_GPU_RESP_ERR_UNSPEC);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_DETACH_BACKING, 1), OK);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_DETACH_BACKING, 1),
                      VDM_GPU_RESP_ERR_UNSPEC);
    /* Backing outside guest memory: the transfer fails, nothing breaks. */
    uint64_t bad = 0x7000000000ull;
    uint32_t blen = 256;
    ck_assert_uint_eq(attach(1, &bad, &blen, 1, 1), OK);
    ck_assert_uint_eq(transfer(1, 0, 0, 8, 8, 0), VDM_GPU_RESP_ERR_UNSPEC);
    /* Detach compacts the pool: another resource's backing still works. */
    ck_assert_uint_eq(create_2d(2, fmt, 8, 8), OK);
    ck_assert_uint_eq(attach(2, &g, (uint32_t[]){256}, 1, 1), OK);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_DETACH_BACKING, 1), OK);
    memset(dh_ptr(&h, g, 256), 0x5a, 256);
    ck_assert_uint_eq(set_scanout(0, 2, 0, 0, 8, 8), OK);
    ck_assert_uint_eq(transfer(2, 0, 0, 8, 8, 0), OK);
    ck_assert_uint_eq(flush(2, 0, 0, 8, 8), OK);
    ck_assert_uint_eq(hs.screen[0][7 * 64 + 7], 0x5a5a5a5au);
}
END_TEST

/* Unref of a resource on a scanout disables the scanout first. */
START_TEST(gpu_unref_disables_scanout)
{
    struct fb f;
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 4, 16, 16);
    ck_assert_uint_eq(set_scanout(0, 4, 0, 0, 16, 16), OK);
    ck_assert_uint_eq(set_scanout(1, 4, 0, 0, 8, 8), OK);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_UNREF, 4), OK);
    ck_assert_uint_eq(hs.so[0].resource_id, 0);
    ck_assert_ptr_null(hs.so[1].pixels);
    ck_assert_int_eq(hs.destroys, 1);
    /* scanout 0 off by resource 0 */
    fb_make(&f, 5, 16, 16);
    ck_assert_uint_eq(set_scanout(0, 5, 0, 0, 16, 16), OK);
    ck_assert_uint_eq(set_scanout(0, 0, 0, 0, 0, 0), OK);
    ck_assert_uint_eq(hs.so[0].resource_id, 0);
}
END_TEST

/* Short requests, small response buffers, unknown and 3D commands,
 * capsets, ring index. */
START_TEST(gpu_hostile_requests)
{
    bringup(VDM_F_VERSION_1);
    uint8_t tiny[8] = {0};
    ck_assert_uint_eq(send(tiny, 8, 24), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_UNSPEC);
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_CREATE_2D);
    w32(&r, 1); /* missing format, width, height */
    ck_assert_uint_eq(run(&r), VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_int_eq(hs.creates, 0);
    /* Display info into a 24-byte buffer: header only, ERR_UNSPEC. */
    r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    ck_assert_uint_eq(send(r.b, r.n, 100), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_UNSPEC);
    ck_assert_uint_eq(resp[24], 0xee); /* nothing beyond the header */
    /* A response buffer below a header: nothing written. */
    r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    ck_assert_uint_eq(send(r.b, r.n, 10), 0);
    /* 3D and unknown commands. */
    static const uint32_t refused[] = {0x0200, 0x0201, 0x0204, 0x0207,
                                       0x0300, 0x0000, 0x1100, 0xffffffffu};
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        r = mk(refused[i]);
        r.n = 96;
        ck_assert_uint_eq(run(&r), VDM_GPU_RESP_ERR_UNSPEC);
    }
    /* num_capsets is 0: any capset index or id is invalid, and the
     * response carries nothing uninitialised. */
    r = mk(VDM_GPU_CMD_GET_CAPSET_INFO);
    w32(&r, 0);
    w32(&r, 0);
    ck_assert_uint_eq(send(r.b, r.n, 40), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(resp[24], 0xee);
    r = mk(VDM_GPU_CMD_GET_CAPSET);
    w32(&r, 1);
    w32(&r, 1);
    ck_assert_uint_eq(run(&r), VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Blob commands without the feature. */
    r = mk(VDM_GPU_CMD_RESOURCE_CREATE_BLOB);
    r.n = 56;
    ck_assert_uint_eq(run(&r), VDM_GPU_RESP_ERR_UNSPEC);
    /* Ring index beyond 63; a valid one is not echoed without
     * CONTEXT_INIT. */
    r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    vdm_put_le32(r.b + 4, VDM_GPU_FLAG_INFO_RING_IDX | VDM_GPU_FLAG_FENCE);
    r.b[20] = 64;
    ck_assert_uint_eq(send(r.b, r.n, 408), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    ck_assert_uint_eq(vdm_le32(resp + 4), VDM_GPU_FLAG_FENCE);
    r.b[20] = 5;
    ck_assert_uint_eq(send(r.b, r.n, 408), 408);
    ck_assert_uint_eq(vdm_le32(resp + 4), VDM_GPU_FLAG_FENCE);
    ck_assert_uint_eq(resp[20], 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}
END_TEST

/* A chain with more spans than the device takes: the kit answers
 * ERR_UNSPEC in the response header. */
START_TEST(gpu_too_many_spans_answered)
{
    bringup(VDM_F_VERSION_1);
    struct drv_buf b[VDM_GPU_IOV_MAX + 2];
    uint64_t g = dh_alloc(&h, 24 * (VDM_GPU_IOV_MAX + 1), 8);
    for (int i = 0; i <= VDM_GPU_IOV_MAX; i++)
        b[i] = (struct drv_buf){g + 24u * i, 1};
    uint64_t r = dh_alloc(&h, 24, 8);
    b[VDM_GPU_IOV_MAX + 1] = (struct drv_buf){r, 24};
    ck_assert_int_ge(drv_vq_add(dh_vq(&h, CTRL), b, VDM_GPU_IOV_MAX + 1,
                                &b[VDM_GPU_IOV_MAX + 1], 1, DRV_ADD_DIRECT,
                                (void *)1),
                     0);
    drv_vq_publish(dh_vq(&h, CTRL));
    ck_assert_int_ge(dh_kick(&h, CTRL, 1), 0);
    uint32_t len = 0;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, CTRL), NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(vdm_le32(dh_ptr(&h, r, 4)), VDM_GPU_RESP_ERR_UNSPEC);
}
END_TEST

/* "Configure mouse cursor": a 64x64 resource on the cursorq, no response
 * buffer; MOVE_CURSOR only moves. */
START_TEST(gpu_cursor)
{
    struct fb f;
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 9, 64, 64);
    fb_fill(&f, 3);
    ck_assert_uint_eq(transfer(9, 0, 0, 64, 64, 0), OK);
    struct rq r = mk(VDM_GPU_CMD_UPDATE_CURSOR);
    w32(&r, 0);  /* scanout */
    w32(&r, 10); /* x */
    w32(&r, 20); /* y */
    w32(&r, 0);
    w32(&r, 9); /* resource */
    w32(&r, 3); /* hot */
    w32(&r, 4);
    w32(&r, 0);
    ck_assert_uint_eq(send2(CURS, r.b, r.n, NULL, 0, 0), 0);
    ck_assert_int_eq(hs.cursors, 1);
    ck_assert_uint_eq(hs.last_cursor.what, VDM_GPU_CURSOR_UPDATE);
    ck_assert_uint_eq(hs.last_cursor.x, 10);
    ck_assert_uint_eq(hs.last_cursor.hot_y, 4);
    for (uint32_t y = 0; y < 64; y++)
        for (uint32_t x = 0; x < 64; x++) {
            uint32_t v;
            memcpy(&v, hs.cursor_px + (y * 64 + x) * 4, 4);
            ck_assert_uint_eq(v, pattern(x, y, 3));
        }
    vdm_put_le32(r.b, VDM_GPU_CMD_MOVE_CURSOR);
    vdm_put_le32(r.b + 28, 33);
    ck_assert_uint_eq(send2(CURS, r.b, r.n, NULL, 0, 24), 24);
    ck_assert_uint_eq(vdm_le32(resp), OK);
    ck_assert_uint_eq(hs.last_cursor.what, VDM_GPU_CURSOR_MOVE);
    ck_assert_uint_eq(hs.last_cursor.x, 33);
    ck_assert_ptr_null(hs.last_cursor.pixels);
    /* A cursor resource that is not 64x64; a bad scanout; hiding. */
    ck_assert_uint_eq(create_2d(10, VDM_GPU_FORMAT_B8G8R8A8_UNORM, 32, 32), OK);
    vdm_put_le32(r.b, VDM_GPU_CMD_UPDATE_CURSOR);
    vdm_put_le32(r.b + 40, 10);
    ck_assert_uint_eq(send2(CURS, r.b, r.n, NULL, 0, 24), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    vdm_put_le32(r.b + 24, 16);
    ck_assert_uint_eq(send2(CURS, r.b, r.n, NULL, 0, 24), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    vdm_put_le32(r.b + 24, 0);
    vdm_put_le32(r.b + 40, 0);
    ck_assert_uint_eq(send2(CURS, r.b, r.n, NULL, 0, 0), 0);
    ck_assert_uint_eq(hs.last_cursor.resource_id, 0);
    ck_assert_ptr_null(hs.last_cursor.pixels);
    /* Control commands on the cursorq are refused. */
    struct rq d = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    ck_assert_uint_eq(send2(CURS, d.b, d.n, NULL, 0, 408), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_UNSPEC);
}
END_TEST

static uint32_t create_blob(uint32_t id, uint32_t mem, uint64_t size,
                            const uint64_t *gpa, const uint32_t *len,
                            uint32_t n)
{
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_CREATE_BLOB);
    uint8_t ent[4 * 16];
    w32(&r, id);
    w32(&r, mem);
    w32(&r, VDM_GPU_BLOB_FLAG_USE_MAPPABLE);
    w32(&r, n);
    w64(&r, 0);
    w64(&r, size);
    for (uint32_t i = 0; i < n; i++) {
        vdm_put_le64(ent + i * 16, gpa[i]);
        vdm_put_le32(ent + i * 16 + 8, len[i]);
        vdm_put_le32(ent + i * 16 + 12, 0);
    }
    ck_assert_uint_eq(send2(CTRL, r.b, r.n, ent, n * 16, 24), 24);
    return vdm_le32(resp);
}

static uint32_t scanout_blob(uint32_t sc, uint32_t id, uint32_t w, uint32_t hh,
                             uint32_t stride, uint32_t off)
{
    struct rq r = mk(VDM_GPU_CMD_SET_SCANOUT_BLOB);
    w32(&r, 0);
    w32(&r, 0);
    w32(&r, w);
    w32(&r, hh);
    w32(&r, sc);
    w32(&r, id);
    w32(&r, w);
    w32(&r, hh);
    w32(&r, VDM_GPU_FORMAT_B8G8R8X8_UNORM);
    w32(&r, 0);
    w32(&r, stride);
    r.n += 12;
    w32(&r, off);
    r.n += 12;
    return run(&r);
}

/* Guest-memory blobs: the scanout reads the guest's pages at flush;
 * strides and offsets are checked against the blob. */
START_TEST(gpu_blob_scanout)
{
    bringup(ALL_F);
    uint64_t g = dh_alloc(&h, 8192, 4096);
    uint32_t n = 8192;
    uint32_t inval = VDM_GPU_RESP_ERR_INVALID_PARAMETER;
    ck_assert_uint_eq(create_blob(1, VDM_GPU_BLOB_MEM_HOST3D, 8192, &g, &n, 1),
                      inval);
    ck_assert_uint_eq(create_blob(1, VDM_GPU_BLOB_MEM_GUEST, 100, &g, &n, 1),
                      inval); /* not aligned to 4096 */
    ck_assert_uint_eq(create_blob(1, VDM_GPU_BLOB_MEM_GUEST, 16384, &g, &n, 1),
                      inval); /* backing smaller than the blob */
    ck_assert_uint_eq(create_blob(1, VDM_GPU_BLOB_MEM_GUEST, 8192, &g, &n, 1),
                      OK);
    /* 32x32 at offset 64 with stride 160 (> 32 * 4) */
    ck_assert_uint_eq(scanout_blob(0, 1, 32, 32, 100, 0), inval);
    ck_assert_uint_eq(scanout_blob(0, 1, 32, 64, 160, 64), inval);
    ck_assert_uint_eq(scanout_blob(0, 1, 32, 32, 0xffffffffu, 0), inval);
    ck_assert_uint_eq(scanout_blob(0, 1, 32, 32, 160, 0xfffffff0u), inval);
    ck_assert_uint_eq(scanout_blob(0, 1, 32, 32, 160, 64), OK);
    uint8_t *p = dh_ptr(&h, g, 8192);
    for (uint32_t y = 0; y < 32; y++)
        for (uint32_t x = 0; x < 32; x++)
            memcpy(p + 64 + y * 160 + x * 4, &(uint32_t){pattern(x, y, 9)}, 4);
    ck_assert_uint_eq(flush(1, 0, 0, 32, 32), OK);
    for (uint32_t y = 0; y < 32; y++)
        for (uint32_t x = 0; x < 32; x++)
            ck_assert_uint_eq(hs.screen[0][y * 64 + x], pattern(x, y, 9));
    ck_assert_uint_eq(flush(1, 0, 0, 33, 32), inval);
    /* A blob is not a 2D resource. */
    ck_assert_uint_eq(set_scanout(1, 1, 0, 0, 8, 8),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    ck_assert_uint_eq(transfer(1, 0, 0, 1, 1, 0),
                      VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* Map into the host-visible region: once, aligned, inside. */
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_MAP_BLOB);
    w32(&r, 1);
    w32(&r, 0);
    w64(&r, (1u << 20) - 4096);
    ck_assert_uint_eq(send(r.b, r.n, 32), 24);
    ck_assert_uint_eq(vdm_le32(resp), inval);
    vdm_put_le64(r.b + 32, 100);
    ck_assert_uint_eq(send(r.b, r.n, 32), 24);
    ck_assert_uint_eq(vdm_le32(resp), inval);
    vdm_put_le64(r.b + 32, 8192);
    ck_assert_uint_eq(send(r.b, r.n, 32), 32);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_OK_MAP_INFO);
    ck_assert_uint_eq(vdm_le32(resp + 24), 3);
    ck_assert_uint_eq(hs.mapped, 1);
    ck_assert_uint_eq(send(r.b, r.n, 32), 24);
    ck_assert_uint_eq(vdm_le32(resp), inval);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_UNMAP_BLOB, 1), OK);
    ck_assert_uint_eq(hs.mapped, 0);
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_UNMAP_BLOB, 1), inval);
    /* Detached backing: a flush fails, nothing is read. */
    ck_assert_uint_eq(res_cmd(VDM_GPU_CMD_RESOURCE_DETACH_BACKING, 1), OK);
    ck_assert_uint_eq(flush(1, 0, 0, 32, 32), VDM_GPU_RESP_ERR_UNSPEC);
}
END_TEST

/* RESOURCE_ASSIGN_UUID: the host's UUID, the same one each time. */
START_TEST(gpu_uuid)
{
    bringup(ALL_F);
    ck_assert_uint_eq(create_2d(3, VDM_GPU_FORMAT_B8G8R8X8_UNORM, 4, 4), OK);
    struct rq r = mk(VDM_GPU_CMD_RESOURCE_ASSIGN_UUID);
    w32(&r, 3);
    w32(&r, 0);
    ck_assert_uint_eq(send(r.b, r.n, 40), 40);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_OK_RESOURCE_UUID);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(resp[24 + i], 48 + i);
    vdm_put_le32(r.b + 24, 4);
    ck_assert_uint_eq(send(r.b, r.n, 40), 24);
    ck_assert_uint_eq(vdm_le32(resp), VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
}
END_TEST

/* "Events": a display change sets events_read and notifies; events_clear
 * clears it; events_read is read-only. */
START_TEST(gpu_display_event)
{
    bringup(ALL_F);
    unsigned before = h.irq_config;
    struct vdm_gpu_display d = {.width = 32, .height = 16, .enabled = 1};
    ck_assert_int_eq(vdm_gpu_set_display(&gpu, 1, &d), 0);
    ck_assert_int_eq(vdm_gpu_set_display(&gpu, 2, &d), VDM_ERANGE);
    d.edid_len = 2000;
    ck_assert_int_eq(vdm_gpu_set_display(&gpu, 1, &d), VDM_EINVAL);
    ck_assert_uint_gt(h.irq_config, before);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_EVENTS_READ, 4),
                      VDM_GPU_EVENT_DISPLAY);
    uint8_t v[4];
    vdm_put_le32(v, 0);
    ck_assert_int_eq(dh_config_write(&h, VDM_GPU_CFG_EVENTS_READ, v, 4), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_EVENTS_READ, 4), 1);
    vdm_put_le32(v, VDM_GPU_EVENT_DISPLAY);
    ck_assert_int_eq(dh_config_write(&h, VDM_GPU_CFG_EVENTS_CLEAR, v, 4), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPU_CFG_EVENTS_READ, 4), 0);
    struct rq r = mk(VDM_GPU_CMD_GET_DISPLAY_INFO);
    ck_assert_uint_eq(send(r.b, r.n, 408), 408);
    ck_assert_uint_eq(vdm_le32(resp + 48 + 8), 32);
    ck_assert_uint_eq(vdm_le32(resp + 48 + 16), 1);
}
END_TEST

/* A reset gives every resource back to the host; the device serves again
 * from scratch. */
START_TEST(gpu_reset_releases_everything)
{
    struct fb f;
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 1, 16, 16);
    ck_assert_uint_eq(set_scanout(0, 1, 0, 0, 16, 16), OK);
    ck_assert_uint_eq(create_2d(2, VDM_GPU_FORMAT_B8G8R8X8_UNORM, 4, 4), OK);
    dh_reset(&h);
    ck_assert_int_eq(hs.destroys, 2);
    ck_assert_uint_eq(hs.so[0].resource_id, 0);
    ck_assert_uint_eq(vdm_gpu_resources(&gpu), 0);
    bringup(VDM_F_VERSION_1);
    fb_make(&f, 1, 16, 16); /* id 1 is free again, and so is the pool */
}
END_TEST

/* Features: never VIRGL or CONTEXT_INIT; the host's choices; bad
 * configurations refused. */
START_TEST(gpu_features_and_config)
{
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(f & (VDM_GPU_F_VIRGL | VDM_GPU_F_CONTEXT_INIT), 0);
    ck_assert_uint_eq(f & ALL_F, ALL_F);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), 16);
    struct vdm_gpu g2;
    struct vdm_dev d2;
    struct vdm_gpu_config c = gpu_cfg();
    c.num_scanouts = 17;
    ck_assert_int_eq(vdm_gpu_init(&g2, &d2, &c, &h.base), VDM_EINVAL);
    c = gpu_cfg();
    c.blob_alignment = 3000;
    ck_assert_int_eq(vdm_gpu_init(&g2, &d2, &c, &h.base), VDM_EINVAL);
    c = gpu_cfg();
    c.size = 8;
    ck_assert_int_eq(vdm_gpu_init(&g2, &d2, &c, &h.base), VDM_ESIZE);
    c = gpu_cfg();
    c.flags = 0x80;
    ck_assert_int_eq(vdm_gpu_init(&g2, &d2, &c, &h.base), VDM_EINVAL);
    c = gpu_cfg();
    c.nbacking = 0;
    ck_assert_int_eq(vdm_gpu_init(&g2, &d2, &c, &h.base), VDM_EINVAL);
    ck_assert_ptr_null(vdm_gpu_dev(NULL));
}
END_TEST

/* Packed ring: the fbdev path works the same. */
START_TEST(gpu_packed_ring)
{
    struct fb f;
    bringup(VDM_F_VERSION_1 | VDM_F_RING_PACKED);
    fb_make(&f, 1, 32, 32);
    ck_assert_uint_eq(set_scanout(0, 1, 0, 0, 32, 32), OK);
    for (uint32_t round = 0; round < 40; round++) { /* wraps the ring */
        fb_fill(&f, round);
        ck_assert_uint_eq(transfer(1, 0, 0, 32, 32, 0), OK);
        ck_assert_uint_eq(flush(1, 0, 0, 32, 32), OK);
        ck_assert_uint_eq(hs.screen[0][31 * 64 + 31], pattern(31, 31, round));
    }
}
END_TEST

static Suite *gpu_suite(void)
{
    Suite *s = suite_create("gpu");
    TCase *tc = tcase_create("gpu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gpu_display_info_and_fence);
    tcase_add_test(tc, gpu_edid_served);
    tcase_add_test(tc, gpu_edid_needs_feature);
    tcase_add_test(tc, gpu_fbdev_path_pixel_exact);
    tcase_add_test(tc, gpu_hostile_transfer);
    tcase_add_test(tc, gpu_hostile_create);
    tcase_add_test(tc, gpu_hostile_backing);
    tcase_add_test(tc, gpu_unref_disables_scanout);
    tcase_add_test(tc, gpu_hostile_requests);
    tcase_add_test(tc, gpu_too_many_spans_answered);
    tcase_add_test(tc, gpu_cursor);
    tcase_add_test(tc, gpu_blob_scanout);
    tcase_add_test(tc, gpu_uuid);
    tcase_add_test(tc, gpu_display_event);
    tcase_add_test(tc, gpu_reset_releases_everything);
    tcase_add_test(tc, gpu_features_and_config);
    tcase_add_test(tc, gpu_packed_ring);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gpu_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
