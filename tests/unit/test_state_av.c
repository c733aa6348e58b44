/* SPDX-License-Identifier: BSD-3-Clause */
/* Save and restore of the gpu, sound and scmi device types (vdm/state.h,
 * docs/state-format.md "gpu", "sound", "scmi"), mid-stream, run directly,
 * behind virtio-mmio and behind virtio-pci (DH_TRANSPORT) with that
 * transport's save and restore. The destination runs on a fresh copy of
 * guest memory (same guest addresses, other host addresses) and a fresh
 * host; what the driver observes afterwards must be what the source
 * would have given it:
 *
 * - gpu (spec "GPU Device / Device Operation"): resources (2D and blob),
 *   their backing entries (the guest's memory list), their host storage,
 *   scanouts, a mapped blob, a resource UUID and events_read come back; a
 *   FLUSH right after restore shows the storage as it was (not re-read
 *   from guest memory), a TRANSFER + FLUSH then shows the guest's new
 *   pixels; a command made available before the save is served once.
 * - sound (spec "PCM Command Lifecycle", "PCM I/O Messages", "Device
 *   Operation: eventq"): a RUNNING stream with its parameters, a PREPARED
 *   one, an untouched one; tx periods at the host when saved are served
 *   again (exactly once as the driver sees it), START works on the
 *   PREPARED stream; waiting events are delivered; an eventq buffer the
 *   device held comes back and carries the next event.
 * - scmi (spec "SCMI Device / cmdq Operation", "eventq Operation"): no
 *   state of its own; a command pending at the host (token) when saved is
 *   handed to the destination's host and answered once; P2A messages go
 *   to eventq buffers posted before the save; commands answered out of
 *   order make the save VDM_EBUSY until the older one is answered.
 * - Hostile images: every field of the gpu and sound sections corrupted
 *   one at a time is refused (VDM_E*), the device is left reset and every
 *   resource the host made is given back. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "profile.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/gpu.h"
#include "vdm/devices/scmi.h"
#include "vdm/devices/sound.h"
#include "vdm/le.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/state.h"

#define QSIZE 64u

/* ------------------------------------------------------------------------ */
/* Bench: device 1 on the bench's transport, device 2 on a fresh memory map
 * of the same layout with a transport of the same kind (not probed: all
 * comes from the image). The driver works on device 1's memory. */

static struct dh h1, h2;
static int h1_live, h2_live, p2_live;
static struct drv_mmio m2;
static struct drv_pci p2;

static void bench_setup(void)
{
    h1_live = h2_live = p2_live = 0;
}

static void bench_fini(void)
{
    if (p2_live)
        drv_pci_fini(&p2);
    if (h1_live)
        dh_fini(&h1);
    if (h2_live)
        dh_fini(&h2);
    h1_live = h2_live = p2_live = 0;
}

static void start1(uint16_t nq)
{
    struct dh_opts o = {.num_queues = nq, .qsize = QSIZE};

    ck_assert_int_eq(dh_init(&h1, &o), 0);
    h1_live = 1;
}

static void start2(uint16_t nq)
{
    struct dh_opts o = {
        .num_queues = nq, .qsize = QSIZE, .transport = DH_TP_DIRECT};

    ck_assert_int_eq(dh_init(&h2, &o), 0);
    h2_live = 1;
}

/* Device 2's transport, once its device type is initialised. */
static void attach2(void)
{
    if (h1.transport == DH_TP_MMIO) {
        ck_assert_int_eq(drv_mmio_init(&m2, &h2.dev, NULL), 0);
    } else if (h1.transport == DH_TP_PCI) {
        struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
        c.msix_vectors = (uint16_t)(h1.num_queues + 1u);
        ck_assert_int_eq(drv_pci_init(&p2, &h2.dev, &c), 0);
        p2_live = 1;
    } else {
        /* direct */
    }
}

static size_t size1(void)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_state_size(&h1.mmio.t);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_state_size(&h1.pci.t);
    return vdm_dev_state_size(&h1.dev);
}

static int save1(void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_save(&h1.mmio.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_save(&h1.pci.t, buf, len);
    return vdm_dev_save(&h1.dev, buf, len);
}

static int restore2(const void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_restore(&m2.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_restore(&p2.t, buf, len);
    return vdm_dev_restore(&h2.dev, buf, len);
}

static void copy_mem(struct dh *dst, const struct dh *src)
{
    ck_assert_uint_eq(dst->g.nregions, src->g.nregions);
    for (unsigned i = 0; i < src->g.nregions; i++) {
        ck_assert_uint_eq(dst->g.regions[i].gpa, src->g.regions[i].gpa);
        ck_assert_uint_eq(dst->g.regions[i].size, src->g.regions[i].size);
        memcpy(dst->g.regions[i].hva, src->g.regions[i].hva,
               src->g.regions[i].size);
    }
}

/* The whole image of device 1 (with its transport), saved. */
static uint8_t *save_all(size_t *n)
{
    uint8_t *img;

    *n = size1();
    ck_assert_uint_gt(*n, VDM_STATE_HDR_BYTES);
    img = malloc(*n);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(save1(img, *n - 1), VDM_ENOSPC);
    ck_assert_int_eq(save1(img, *n), (int)*n);
    return img;
}

/* Migrate: memory copied, image restored into device 2. */
static void migrate(const uint8_t *img, size_t n)
{
    copy_mem(&h2, &h1);
    ck_assert_int_eq(restore2(img, n), 0);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), vdm_dev_status(&h1.dev));
    ck_assert_uint_eq(vdm_dev_features(&h2.dev), vdm_dev_features(&h1.dev));
}

/* Device 2 notified of queue @p q (the driver's memory goes over and
 * back). */
static void kick2(uint16_t q)
{
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, q, 0), 0);
    copy_mem(&h1, &h2);
}

/* A chain on queue @p q: @p len readable bytes @p req (none if 0), @p rlen
 * writable bytes (filled with 0xee). Returns the writable part's address. */
static uint64_t post(uint16_t q, const void *req, uint32_t len, uint32_t rlen,
                     void *cookie)
{
    struct drv_buf b[2];
    unsigned nout = 0;
    uint64_t r = 0;

    if (len != 0u) {
        uint64_t g = dh_alloc(&h1, len, 8);
        memcpy(dh_ptr(&h1, g, len), req, len);
        b[nout++] = (struct drv_buf){g, len};
    }
    if (rlen != 0u) {
        r = dh_alloc(&h1, rlen, 8);
        memset(dh_ptr(&h1, r, rlen), 0xee, rlen);
        b[nout] = (struct drv_buf){r, rlen};
    }
    ck_assert_int_ge(drv_vq_add(dh_vq(&h1, q), b, nout,
                                rlen != 0u ? &b[nout] : NULL,
                                rlen != 0u ? 1u : 0u, DRV_ADD_DIRECT, cookie),
                     0);
    drv_vq_publish(dh_vq(&h1, q));
    return r;
}

/* Next used buffer of queue @p q: 1 with its cookie and length, or 0. */
static int used(uint16_t q, void **cookie, uint32_t *len)
{
    return drv_vq_get_used(dh_vq(&h1, q), NULL, len, cookie);
}

/* Offset and length of the device type's section of a dev-level image. */
static size_t class_sec(const uint8_t *img, size_t n, uint32_t *plen)
{
    size_t at = VDM_STATE_HDR_BYTES;

    while (at + VDM_STATE_SEC_BYTES <= n) {
        uint32_t len = vdm_le32(img + at + 4);
        if (vdm_le16(img + at) == VDM_STATE_SEC_CLASS) {
            *plen = len;
            return at + VDM_STATE_SEC_BYTES;
        }
        at += VDM_STATE_SEC_BYTES + len;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* gpu */

#define NRES  8
#define NBACK 32
#define CTRL  ((uint16_t)VDM_GPU_QUEUE_CONTROL)
#define CURS  ((uint16_t)VDM_GPU_QUEUE_CURSOR)
#define GW    16u /* resource 1: 16 x 8 pixels */
#define GH    8u

struct ghost {
    int creates, destroys, scanouts, updates, uuids, maps, cursors;
    struct vdm_gpu_cursor cursor;
    uint8_t cursor_px[64 * 64 * 4];
    int fail_create, fail_map;
    uint32_t mapped;
    uint64_t map_off;
    struct vdm_gpu_scanout_info so[2];
    uint32_t screen[2][64 * 64];
};

static struct ghost gh1, gh2;
static struct vdm_gpu gpu1, gpu2;
static struct vdm_gpu_res restab1[NRES], restab2[NRES];
static struct vdm_gpu_backing pool1[NBACK], pool2[NBACK];
static struct vdm_gpu_display gdisp[2];

static int g_create(void *host, const struct vdm_gpu_resource_info *in,
                    void **px)
{
    struct ghost *x = host;
    if (x->fail_create)
        return VDM_EIO;
    x->creates++;
    *px = calloc(1, (size_t)in->bytes);
    return *px ? 0 : VDM_EIO;
}

static void g_destroy(void *host, uint32_t id, void *px)
{
    (void)id;
    ((struct ghost *)host)->destroys++;
    free(px);
}

static void g_scanout(void *host, uint32_t sc,
                      const struct vdm_gpu_scanout_info *s)
{
    struct ghost *x = host;
    ck_assert_uint_lt(sc, 2);
    x->scanouts++;
    x->so[sc] = *s;
}

static void g_update(void *host, uint32_t sc, const struct vdm_gpu_update *u)
{
    struct ghost *x = host;
    ck_assert_uint_lt(sc, 2);
    ck_assert_uint_le(u->x + u->width, 64);
    ck_assert_uint_le(u->y + u->height, 64);
    x->updates++;
    for (uint32_t r = 0; r < u->height; r++)
        memcpy(&x->screen[sc][(u->y + r) * 64 + u->x],
               (const uint8_t *)u->pixels + (size_t)r * u->stride,
               (size_t)u->width * 4);
}

static void g_cursor(void *host, const struct vdm_gpu_cursor *c)
{
    struct ghost *x = host;
    x->cursors++;
    x->cursor = *c;
    if (c->pixels != NULL)
        memcpy(x->cursor_px, c->pixels, sizeof(x->cursor_px));
}

static int g_uuid(void *host, uint32_t id, uint8_t uuid[16])
{
    ((struct ghost *)host)->uuids++;
    for (int i = 0; i < 16; i++)
        uuid[i] = (uint8_t)(id * 16 + i + (host == &gh2 ? 0x80 : 0));
    return 0;
}

static int g_map(void *host, const struct vdm_gpu_resource_info *in,
                 uint64_t off, uint32_t *info)
{
    struct ghost *x = host;
    if (x->fail_map)
        return VDM_EIO;
    x->maps++;
    x->mapped = in->id;
    x->map_off = off;
    *info = 3;
    return 0;
}

static void g_unmap(void *host, uint32_t id)
{
    struct ghost *x = host;
    ck_assert_uint_eq(x->mapped, id);
    x->mapped = 0;
}

static const struct vdm_gpu_ops g_ops = {
    .size = sizeof(struct vdm_gpu_ops),
    .resource_create = g_create,
    .resource_destroy = g_destroy,
    .scanout = g_scanout,
    .update = g_update,
    .cursor = g_cursor,
    .assign_uuid = g_uuid,
    .blob_map = g_map,
    .blob_unmap = g_unmap,
};

static void gpu_on(struct dh *h, struct vdm_gpu *g, struct ghost *x,
                   struct vdm_gpu_res *tab, struct vdm_gpu_backing *pool)
{
    struct vdm_gpu_config c = VDM_INIT(struct vdm_gpu_config);

    c.flags = VDM_GPU_EDID | VDM_GPU_BLOB | VDM_GPU_UUID;
    c.num_scanouts = 2;
    c.nresources = NRES;
    c.displays = gdisp;
    c.resources = tab;
    c.backing = pool;
    c.nbacking = NBACK;
    c.blob_alignment = 4096;
    c.max_resource_bytes = 1u << 20;
    c.hostmem_bytes = 1u << 20;
    c.ops = &g_ops;
    c.host = x;
    ck_assert_int_eq(vdm_gpu_init(g, &h->dev, &c, &h->base), 0);
}

static void gpu_setup(void)
{
    bench_setup();
    memset(&gh1, 0, sizeof(gh1));
    memset(&gh2, 0, sizeof(gh2));
    memset(gdisp, 0, sizeof(gdisp));
    gdisp[0] = (struct vdm_gpu_display){.width = 64, .height = 48, .enabled = 1};
    gdisp[1] = (struct vdm_gpu_display){.x = 64, .width = 32, .height = 32};
}

static void gpu_teardown(void)
{
    if (h1_live)
        dh_reset(&h1);
    if (h2_live)
        (void)vdm_dev_set_status(&h2.dev, 0);
    /* Every resource a host made is given back by the reset. */
    ck_assert_int_eq(gh1.creates, gh1.destroys);
    ck_assert_int_eq(gh2.creates, gh2.destroys);
    bench_fini();
}

#define GPU_F                                                                  \
    (VDM_F_VERSION_1 | VDM_GPU_F_EDID | VDM_GPU_F_RESOURCE_UUID |              \
     VDM_GPU_F_RESOURCE_BLOB | VDM_GPU_F_BLOB_ALIGNMENT)

struct rq {
    uint8_t b[160];
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

/* A controlq command, made available (not notified); its response
 * buffer's address in *resp (if not NULL). */
static void gpu_post(const struct rq *r, uint32_t rlen, uint64_t *resp)
{
    uint64_t g = post(CTRL, r->b, r->n, rlen, (void *)r);
    if (resp != NULL)
        *resp = g;
}

/* One controlq command served by device 1 or 2; returns the response
 * type, the response in @p out (@p rlen bytes). */
static uint32_t gpu_cmd(int dev, const struct rq *r, uint8_t *out,
                        uint32_t rlen)
{
    uint64_t g;
    void *cookie = NULL;
    uint32_t len = 0;

    gpu_post(r, rlen, &g);
    if (dev == 1)
        ck_assert_int_ge(dh_kick(&h1, CTRL, 1), 0);
    else
        kick2(CTRL);
    ck_assert_int_eq(used(CTRL, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, r);
    memcpy(out, dh_ptr(&h1, g, rlen), rlen);
    return vdm_le32(out);
}

static uint32_t gpu_ok(int dev, const struct rq *r)
{
    uint8_t out[24];
    return gpu_cmd(dev, r, out, sizeof(out));
}

static struct rq rect_cmd(uint32_t type, uint32_t w, uint32_t h)
{
    struct rq r = mk(type);
    w32(&r, 0);
    w32(&r, 0);
    w32(&r, w);
    w32(&r, h);
    return r;
}

/* Backing of resource 1: two separate guest ranges of 4 rows each. */
static uint64_t bk[2];

static void fill_backing(uint8_t seed)
{
    for (unsigned e = 0; e < 2; e++) {
        uint8_t *p = dh_ptr(&h1, bk[e], GW * 4 * GH / 2);
        for (unsigned i = 0; i < GW * 4 * GH / 2; i++)
            p[i] = (uint8_t)(seed + i * 7 + e * 3);
    }
}

/* Scanout 0 of @p x shows what fill_backing(@p seed) wrote. */
static void screen_is(const struct ghost *x, uint8_t seed)
{
    for (unsigned row = 0; row < GH; row++) {
        unsigned e = row / (GH / 2);
        uint8_t want[GW * 4];
        for (unsigned i = 0; i < GW * 4; i++)
            want[i] =
                (uint8_t)(seed + ((row % (GH / 2)) * GW * 4 + i) * 7 + e * 3);
        ck_assert_mem_eq(&x->screen[0][row * 64], want, sizeof(want));
    }
}

static uint8_t uuid1[16];

/* The source: resource 1 (2D, two backing ranges) shown on scanout 0 and
 * flushed with pattern 0x10, UUID assigned; resource 2 (blob, 4 KiB)
 * mapped at 8 KiB; events_read DISPLAY set. Then the guest writes pattern
 * 0x50 into the backing without a transfer, and a FLUSH waits in the ring.
 * Returns the image. */
static uint8_t *gpu_source(size_t *n, int dev_only)
{
    struct rq r;
    uint8_t out[64];
    uint64_t blob;
    uint8_t *img;

    start1(2);
    gpu_on(&h1, &gpu1, &gh1, restab1, pool1);
    ck_assert_int_eq(dh_bring_up(&h1, GPU_F, 2), 0);

    r = mk(VDM_GPU_CMD_RESOURCE_CREATE_2D);
    w32(&r, 1);
    w32(&r, VDM_GPU_FORMAT_B8G8R8X8_UNORM);
    w32(&r, GW);
    w32(&r, GH);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    bk[0] = dh_alloc(&h1, GW * 4 * GH / 2, 64);
    (void)dh_alloc(&h1, 64, 64); /* not adjacent */
    bk[1] = dh_alloc(&h1, GW * 4 * GH / 2, 64);
    fill_backing(0x10);
    r = mk(VDM_GPU_CMD_RESOURCE_ATTACH_BACKING);
    w32(&r, 1);
    w32(&r, 2);
    for (unsigned e = 0; e < 2; e++) {
        w64(&r, bk[e]);
        w32(&r, GW * 4 * GH / 2);
        w32(&r, 0);
    }
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    r = rect_cmd(VDM_GPU_CMD_TRANSFER_TO_HOST_2D, GW, GH);
    w64(&r, 0);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    r = rect_cmd(VDM_GPU_CMD_SET_SCANOUT, GW, GH);
    w32(&r, 0);
    w32(&r, 1);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    r = rect_cmd(VDM_GPU_CMD_RESOURCE_FLUSH, GW, GH);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    screen_is(&gh1, 0x10);
    r = mk(VDM_GPU_CMD_RESOURCE_ASSIGN_UUID);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_cmd(1, &r, out, 40), VDM_GPU_RESP_OK_RESOURCE_UUID);
    memcpy(uuid1, out + 24, 16);

    blob = dh_alloc(&h1, 4096, 4096);
    r = mk(VDM_GPU_CMD_RESOURCE_CREATE_BLOB);
    w32(&r, 2);
    w32(&r, VDM_GPU_BLOB_MEM_GUEST);
    w32(&r, 0);
    w32(&r, 1);
    w64(&r, 0);
    w64(&r, 4096);
    w64(&r, blob);
    w32(&r, 4096);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    r = mk(VDM_GPU_CMD_RESOURCE_MAP_BLOB);
    w32(&r, 2);
    w32(&r, 0);
    w64(&r, 8192);
    ck_assert_uint_eq(gpu_cmd(1, &r, out, 32), VDM_GPU_RESP_OK_MAP_INFO);
    ck_assert_uint_eq(gh1.mapped, 2);
    ck_assert_int_eq(vdm_gpu_set_display(&gpu1, 1, &gdisp[1]), 0);

    /* Resource 3: a 64x64 cursor shape (pattern from a backing), shown on
     * scanout 0 with hot spot (5, 6), then moved to (11, 21). */
    r = mk(VDM_GPU_CMD_RESOURCE_CREATE_2D);
    w32(&r, 3);
    w32(&r, VDM_GPU_FORMAT_B8G8R8X8_UNORM);
    w32(&r, 64);
    w32(&r, 64);
    ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    {
        uint64_t cb = dh_alloc(&h1, 64 * 64 * 4, 64);
        uint8_t *px = dh_ptr(&h1, cb, 64 * 64 * 4);
        for (unsigned i = 0; i < 64 * 64 * 4; i++)
            px[i] = (uint8_t)(i ^ (i >> 8));
        r = mk(VDM_GPU_CMD_RESOURCE_ATTACH_BACKING);
        w32(&r, 3);
        w32(&r, 1);
        w64(&r, cb);
        w32(&r, 64 * 64 * 4);
        w32(&r, 0);
        ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
        r = rect_cmd(VDM_GPU_CMD_TRANSFER_TO_HOST_2D, 64, 64);
        w64(&r, 0);
        w32(&r, 3);
        w32(&r, 0);
        ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
        r = mk(VDM_GPU_CMD_RESOURCE_DETACH_BACKING);
        w32(&r, 3);
        w32(&r, 0);
        ck_assert_uint_eq(gpu_ok(1, &r), VDM_GPU_RESP_OK_NODATA);
    }
    for (unsigned k = 0; k < 2; k++) {
        void *cookie;
        uint32_t ulen;
        r = mk(k == 0 ? VDM_GPU_CMD_UPDATE_CURSOR : VDM_GPU_CMD_MOVE_CURSOR);
        w32(&r, 0);            /* scanout */
        w32(&r, 10 + k);       /* x */
        w32(&r, 20 + k);       /* y */
        w32(&r, 0);            /* padding */
        w32(&r, k == 0 ? 3 : 0); /* resource */
        w32(&r, k == 0 ? 5 : 0); /* hot_x */
        w32(&r, k == 0 ? 6 : 0); /* hot_y */
        w32(&r, 0);
        (void)post(CURS, r.b, r.n, 0, &r);
        ck_assert_int_ge(dh_kick(&h1, CURS, 1), 0);
        ck_assert_int_eq(used(CURS, &cookie, &ulen), 1);
    }
    ck_assert_int_eq(gh1.cursors, 2);

    /* Mid-stream: new pixels in guest memory, not transferred; a FLUSH
     * available, not read. */
    fill_backing(0x50);
    {
        static struct rq fl;
        fl = rect_cmd(VDM_GPU_CMD_RESOURCE_FLUSH, GW, GH);
        w32(&fl, 1);
        w32(&fl, 0);
        gpu_post(&fl, 24, NULL);
    }
    if (dev_only) {
        *n = vdm_dev_state_size(&h1.dev);
        img = malloc(*n);
        ck_assert_ptr_nonnull(img);
        ck_assert_int_eq(vdm_dev_save(&h1.dev, img, *n), (int)*n);
    } else {
        img = save_all(n);
    }
    /* storage bytes travel: 512 of resource 1, 4096 of resource 2 */
    ck_assert_uint_gt(*n, 512u + 4096u + 16384u);
    return img;
}

static void gpu_dest(void)
{
    start2(2);
    gpu_on(&h2, &gpu2, &gh2, restab2, pool2);
}

START_TEST(gpu_midstream)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    size_t n;
    uint8_t *img = gpu_source(&n, 0);
    uint8_t out[64];
    uint32_t ev = 0;
    struct rq r;
    void *cookie;
    uint32_t len;

    gpu_dest();
    attach2();
    migrate(img, n);
    free(img);
    /* The host was given the resources, the scanout, the mapping again. */
    ck_assert_int_eq(gh2.creates, 3);
    ck_assert_int_eq(gh2.scanouts, 1);
    /* The cursor: shape, hot spot and last position (spec "cursorq"). */
    ck_assert_int_eq(gh2.cursors, 1);
    ck_assert_uint_eq(gh2.cursor.what, VDM_GPU_CURSOR_UPDATE);
    ck_assert_uint_eq(gh2.cursor.scanout, 0);
    ck_assert_uint_eq(gh2.cursor.resource_id, 3);
    ck_assert_uint_eq(gh2.cursor.hot_x, 5);
    ck_assert_uint_eq(gh2.cursor.hot_y, 6);
    ck_assert_uint_eq(gh2.cursor.x, 11);
    ck_assert_uint_eq(gh2.cursor.y, 21);
    ck_assert_ptr_nonnull(gh2.cursor.pixels);
    {
        uint8_t want[64 * 64 * 4];
        for (unsigned i = 0; i < sizeof(want); i++)
            want[i] = (uint8_t)(i ^ (i >> 8));
        ck_assert_mem_eq(gh2.cursor_px, want, sizeof(want));
    }
    ck_assert_uint_eq(gh2.so[0].resource_id, 1);
    ck_assert_uint_eq(gh2.so[0].width, GW);
    ck_assert_uint_eq(gh2.so[0].height, GH);
    ck_assert_uint_eq(gh2.so[0].format, VDM_GPU_FORMAT_B8G8R8X8_UNORM);
    ck_assert_int_eq(gh2.maps, 1);
    ck_assert_uint_eq(gh2.mapped, 2);
    ck_assert_uint_eq(gh2.map_off, 8192);
    /* "events_read" (spec "Device configuration layout"). */
    ck_assert_int_eq(vdm_dev_config_read(&h2.dev, VDM_GPU_CFG_EVENTS_READ, &ev,
                                         4),
                     0);
    ck_assert_uint_eq(vdm_le32(&ev), VDM_GPU_EVENT_DISPLAY);

    /* The waiting FLUSH, served once by the destination: the storage as
     * the source had it (pattern 0x10), not guest memory (0x50). */
    kick2(CTRL);
    ck_assert_int_eq(used(CTRL, &cookie, &len), 1);
    ck_assert_int_eq(used(CTRL, &cookie, &len), 0);
    ck_assert_int_eq(gh2.updates, 1);
    screen_is(&gh2, 0x10);
    /* TRANSFER through the restored backing entries, then FLUSH. */
    r = rect_cmd(VDM_GPU_CMD_TRANSFER_TO_HOST_2D, GW, GH);
    w64(&r, 0);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(2, &r), VDM_GPU_RESP_OK_NODATA);
    r = rect_cmd(VDM_GPU_CMD_RESOURCE_FLUSH, GW, GH);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(2, &r), VDM_GPU_RESP_OK_NODATA);
    screen_is(&gh2, 0x50);
    /* The UUID is the one the guest was given, not a new one. */
    r = mk(VDM_GPU_CMD_RESOURCE_ASSIGN_UUID);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_cmd(2, &r, out, 40), VDM_GPU_RESP_OK_RESOURCE_UUID);
    ck_assert_mem_eq(out + 24, uuid1, 16);
    ck_assert_int_eq(gh2.uuids, 0);
    /* Resource ids are taken: creating 1 again is refused; mapping 2
     * again too ("MUST not map a blob resource that is already mapped"). */
    r = mk(VDM_GPU_CMD_RESOURCE_CREATE_2D);
    w32(&r, 1);
    w32(&r, VDM_GPU_FORMAT_B8G8R8X8_UNORM);
    w32(&r, 4);
    w32(&r, 4);
    ck_assert_uint_eq(gpu_ok(2, &r), VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    r = mk(VDM_GPU_CMD_RESOURCE_MAP_BLOB);
    w32(&r, 2);
    w32(&r, 0);
    w64(&r, 0);
    ck_assert_uint_eq(gpu_cmd(2, &r, out, 32),
                      VDM_GPU_RESP_ERR_INVALID_PARAMETER);
    /* UNREF of resource 1 gives its storage back and blanks scanout 0. */
    r = mk(VDM_GPU_CMD_RESOURCE_UNREF);
    w32(&r, 1);
    w32(&r, 0);
    ck_assert_uint_eq(gpu_ok(2, &r), VDM_GPU_RESP_OK_NODATA);
    ck_assert_int_eq(gh2.destroys, 1);
    ck_assert_uint_eq(gh2.so[0].resource_id, 0);
}
END_TEST

/* One corruption of the gpu section: offset in the section, bytes. */
struct gbad {
    uint32_t at;
    uint32_t width; /* 1, 4 or 8 */
    uint64_t v;
    int rc;
};

/* Section offsets: header 32, scanouts 2 x 60 at 32, resource 1 at 152
 * (72 + 2 entries x 16 + 512 storage = 616 bytes), resource 2 at 768
 * (72 + 16 + 4096), resource 3 at 4952 (72 + 16384). */
#define R1 152u
#define R2 (R1 + 616u)
#define R3 (R2 + 72u + 16u + 4096u)
#define S0 32u
#define S1 92u

static const struct gbad gbads[] = {
    {0, 1, 2, VDM_ENOTSUP},           /* version */
    {1, 1, 1, VDM_EINVAL},            /* scanout count */
    {2, 1, 1, VDM_EINVAL},            /* reserved */
    {4, 4, 2, VDM_EINVAL},            /* unknown event bit */
    {8, 4, NRES + 1, VDM_EINVAL},     /* more resources than the table */
    {8, 4, 1, VDM_EINVAL},            /* fewer resources than present */
    {12, 4, NBACK + 1, VDM_EINVAL},   /* more entries than the pool */
    {16, 8, 1, VDM_EINVAL},           /* total storage bytes */
    {24, 4, 1, VDM_EINVAL},           /* reserved */
    {R1 + 0, 4, 0, VDM_EINVAL},       /* resource id 0 */
    {R2 + 0, 4, 1, VDM_EINVAL},       /* id twice */
    {R1 + 4, 4, 3, VDM_EINVAL},       /* unknown kind */
    {R1 + 8, 4, 99, VDM_EINVAL},      /* unknown format */
    {R1 + 12, 4, 0, VDM_EINVAL},      /* width 0 */
    {R1 + 12, 4, 0x40000000u, VDM_EINVAL}, /* width * 4 wraps */
    {R1 + 20, 4, GW * 4 + 4, VDM_EINVAL},  /* stride */
    {R1 + 24, 4, 1, VDM_EINVAL},      /* blob flags on a 2D resource */
    {R1 + 28, 4, 3, VDM_EINVAL},      /* entry count off by one */
    {R1 + 28, 4, 0x10000000u, VDM_EINVAL}, /* entries beyond the image */
    {R1 + 32, 8, 0x7fffffffffffffffull, VDM_EINVAL}, /* storage bytes */
    {R1 + 48, 1, 1, VDM_EINVAL},      /* a 2D resource mapped */
    {R1 + 49, 1, 2, VDM_EINVAL},      /* has_uuid */
    {R1 + 50, 1, 1, VDM_EINVAL},      /* reserved */
    {R1 + 72 + 8, 4, 0, VDM_EINVAL},  /* backing entry of 0 bytes */
    {R1 + 72, 8, 0xffffffffffffff80ull, VDM_EINVAL}, /* entry wraps */
    {R1 + 72 + 12, 4, 1, VDM_EINVAL}, /* entry padding */
    {R2 + 8, 4, 2, VDM_EINVAL},       /* a blob with a format */
    {R2 + 32, 8, 4000, VDM_EINVAL},   /* blob size not aligned */
    {R2 + 32, 8, 2u << 20, VDM_EINVAL}, /* above max_resource_bytes */
    {R2 + 40, 8, 100, VDM_EINVAL},    /* map offset misaligned */
    {R2 + 40, 8, 1u << 20, VDM_EINVAL}, /* mapping beyond hostmem */
    {R2 + 48, 1, 2, VDM_EINVAL},      /* mapped flag */
    {R2 + 56, 1, 1, VDM_EINVAL},      /* a UUID byte without has_uuid */
    {S0 + 0, 4, 7, VDM_EINVAL},       /* scanout of an unknown resource */
    {S0 + 4, 4, 1, VDM_EINVAL},       /* format not the resource's */
    {S0 + 8, 4, GW + 1, VDM_EINVAL},  /* framebuffer not the resource */
    {S0 + 20, 4, 4, VDM_EINVAL},      /* offset on a 2D scanout */
    {S0 + 24, 4, 1, VDM_EINVAL},      /* rectangle out of the resource */
    {S0 + 32, 4, 0, VDM_EINVAL},      /* empty rectangle */
    {S0 + 32, 4, 0xffffffffu, VDM_EINVAL}, /* x + w wraps */
    {S1 + 24, 4, 1, VDM_EINVAL},      /* disabled scanout not all 0 */
    {S0 + 40, 4, 7, VDM_EINVAL},      /* cursor of an unknown resource */
    {S0 + 40, 4, 1, VDM_EINVAL},      /* cursor shape not 64x64 */
    {S1 + 40, 4, 2, VDM_EINVAL},      /* cursor shape a blob */
};

START_TEST(gpu_hostile)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    size_t n;
    uint8_t *img = gpu_source(&n, 1);
    uint8_t *bad = malloc(n);
    uint32_t plen = 0;
    size_t cs = class_sec(img, n, &plen);

    ck_assert_ptr_nonnull(bad);
    ck_assert_uint_gt(cs, 0);
    ck_assert_uint_eq(plen, R3 + 72 + 16384);
    {
        /* Little-endian on every host (the s390x cross run checks it):
         * the header and resource 1's record written out by hand. */
        static const uint8_t head[32] = {
            1, 2, 0, 0, 1, 0, 0, 0,       /* version, scanouts, DISPLAY */
            3, 0, 0, 0, 3, 0, 0, 0,       /* resources, backing entries */
            0, 0x52, 0, 0, 0, 0, 0, 0,    /* 512 + 4096 + 16384 bytes */
            0, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t res1[40] = {
            1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,  /* id, 2D, B8G8R8X8 */
            16, 0, 0, 0, 8, 0, 0, 0, 64, 0, 0, 0, /* 16 x 8, stride 64 */
            0, 0, 0, 0, 2, 0, 0, 0,               /* flags, 2 entries */
            0, 2, 0, 0, 0, 0, 0, 0};              /* 512 bytes */
        ck_assert_mem_eq(img + cs, head, sizeof(head));
        ck_assert_mem_eq(img + cs + R1, res1, sizeof(res1));
        ck_assert_uint_eq(img[cs + R1 + 49], 1); /* UUID assigned */
        ck_assert_mem_eq(img + cs + R1 + 56, uuid1, 16);
        ck_assert_uint_eq(vdm_le64(img + cs + R1 + 72), bk[0]);
        ck_assert_uint_eq(vdm_le64(img + cs + R2 + 40), 8192); /* mapped */
        ck_assert_uint_eq(img[cs + R2 + 48], 1);
    }
    gpu_dest();
    for (unsigned i = 0; i < sizeof(gbads) / sizeof(gbads[0]); i++) {
        const struct gbad *b = &gbads[i];
        uint8_t *p = bad + cs + b->at;
        memcpy(bad, img, n);
        if (b->width == 1)
            p[0] = (uint8_t)b->v;
        else if (b->width == 4)
            vdm_put_le32(p, (uint32_t)b->v);
        else
            vdm_put_le64(p, b->v);
        ck_assert_msg(vdm_dev_restore(&h2.dev, bad, n) == b->rc,
                      "corruption %u (offset %u) not refused as expected", i,
                      b->at);
        /* left reset, every resource given back, nothing shown */
        ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
        ck_assert_int_eq(gh2.creates, gh2.destroys);
        ck_assert_uint_eq(gh2.mapped, 0);
    }
    /* The host refusing storage or the mapping: refused, undone. */
    gh2.fail_create = 1;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), VDM_ENOSPC);
    gh2.fail_create = 0;
    gh2.fail_map = 1;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), VDM_EIO);
    ck_assert_int_eq(gh2.creates, gh2.destroys);
    gh2.fail_map = 0;
    /* A section cut short (section and image lengths kept consistent). */
    for (uint32_t cut = 1; cut <= 600; cut += 599) {
        memcpy(bad, img, n);
        vdm_put_le32(bad + cs - 4, plen - cut);
        vdm_put_le32(bad + 8, (uint32_t)(n - cut));
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, bad, n - cut), VDM_EINVAL);
        ck_assert_int_eq(gh2.creates, gh2.destroys);
    }
    /* And the image itself is accepted. */
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), 0);
    ck_assert_int_eq(gh2.creates - gh2.destroys, 3);
    free(bad);
    free(img);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* sound */

#define SIOV 8u
#define MAXP 16u
#define PER  64u /* tx period bytes: 16 frames of S16 stereo */

struct spend {
    uint32_t stream;
    uint32_t bytes;
    void *token;
    uint8_t data[PER];
};

struct shost {
    int calls[5]; /* set_params, prepare, start, stop, release */
    int fail_params;
    struct vdm_snd_params last;
    struct spend p[MAXP];
    unsigned np;
};

enum { S_PARAMS, S_PREPARE, S_START, S_STOP, S_RELEASE };

static struct shost sh1, sh2;
static struct vdm_snd snd1, snd2;
static struct vdm_snd_req *sreqs1, *sreqs2;
static struct vdm_iov *siovs1, *siovs2;

static int s_params(void *x, uint32_t s, const struct vdm_snd_params *p)
{
    struct shost *h = x;
    (void)s;
    if (h->fail_params)
        return VDM_EIO;
    h->calls[S_PARAMS]++;
    h->last = *p;
    return 0;
}
static int s_prepare(void *x, uint32_t s)
{
    (void)s;
    ((struct shost *)x)->calls[S_PREPARE]++;
    return 0;
}
static int s_start(void *x, uint32_t s)
{
    (void)s;
    ((struct shost *)x)->calls[S_START]++;
    return 0;
}
static int s_stop(void *x, uint32_t s)
{
    (void)s;
    ((struct shost *)x)->calls[S_STOP]++;
    return 0;
}
static int s_release(void *x, uint32_t s)
{
    (void)s;
    ((struct shost *)x)->calls[S_RELEASE]++;
    return 0;
}
static int s_io(void *x, uint32_t s, const struct vdm_iov *iov, uint32_t n,
                uint32_t bytes, void *token)
{
    struct shost *h = x;
    struct spend *p;
    uint32_t at = 0;

    ck_assert_uint_lt(h->np, MAXP);
    ck_assert_uint_le(bytes, PER);
    p = &h->p[h->np++];
    p->stream = s;
    p->bytes = bytes;
    p->token = token;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p->data + at, iov[i].base, iov[i].len);
        at += iov[i].len;
    }
    return 0;
}
static int s_ctl_read(void *x, uint32_t id, uint8_t *v)
{
    (void)x;
    (void)id;
    (void)v;
    return 0;
}
static int s_ctl_write(void *x, uint32_t id, const uint8_t *v)
{
    (void)x;
    (void)id;
    (void)v;
    return 0;
}

static const struct vdm_snd_ops s_ops = {
    .size = sizeof(struct vdm_snd_ops),
    .set_params = s_params,
    .prepare = s_prepare,
    .start = s_start,
    .stop = s_stop,
    .release = s_release,
    .io = s_io,
    .ctl_read = s_ctl_read,
    .ctl_write = s_ctl_write,
};

static const struct vdm_snd_jack sjacks[] = {
    {.hda_reg_defconf = 0x01214010, .connected = 1},
    {.hda_reg_defconf = 0x01a19020},
};
#define SFMTS ((1ull << VDM_SND_PCM_FMT_S16) | (1ull << VDM_SND_PCM_FMT_U8))
#define SRATES                                                                 \
    ((1ull << VDM_SND_PCM_RATE_48000) | (1ull << VDM_SND_PCM_RATE_8000))
static const struct vdm_snd_pcm spcms[] = {
    {.features = VDM_SND_PCM_F_EVT_XRUNS,
     .formats = SFMTS,
     .rates = SRATES,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 2},
    {.formats = SFMTS,
     .rates = SRATES,
     .direction = VDM_SND_D_INPUT,
     .channels_min = 1,
     .channels_max = 2},
    {.formats = SFMTS,
     .rates = SRATES,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 1},
};
static const struct vdm_snd_ctl sctls[] = {
    {.type = VDM_SND_CTL_TYPE_BOOLEAN,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE,
     .count = 1,
     .name = "Master Playback Switch"},
};

static void snd_on(struct dh *h, struct vdm_snd *s, struct shost *x,
                   struct vdm_snd_req **reqs, struct vdm_iov **iovs)
{
    struct vdm_snd_config c = VDM_INIT(struct vdm_snd_config);

    *reqs = calloc(VDM_SND_REQS(QSIZE), sizeof(**reqs));
    *iovs = calloc(VDM_SND_IOVS(QSIZE, SIOV), sizeof(**iovs));
    ck_assert_ptr_nonnull(*reqs);
    ck_assert_ptr_nonnull(*iovs);
    c.njacks = 2;
    c.jacks = sjacks;
    c.npcms = 3;
    c.pcms = spcms;
    c.nctls = 1;
    c.ctls = sctls;
    c.iov_per_req = SIOV;
    c.reqs = *reqs;
    c.iovs = *iovs;
    c.ops = &s_ops;
    c.host = x;
    ck_assert_int_eq(vdm_snd_init(s, &h->dev, &c, &h->base), 0);
}

static void snd_setup(void)
{
    bench_setup();
    memset(&sh1, 0, sizeof(sh1));
    memset(&sh2, 0, sizeof(sh2));
    sreqs1 = sreqs2 = NULL;
    siovs1 = siovs2 = NULL;
}

static void snd_teardown(void)
{
    bench_fini();
    free(sreqs1);
    free(sreqs2);
    free(siovs1);
    free(siovs2);
}

#define SCTL ((uint16_t)VDM_SND_QUEUE_CONTROL)
#define SEVT ((uint16_t)VDM_SND_QUEUE_EVENT)
#define STX  ((uint16_t)VDM_SND_QUEUE_TX)

/* A PCM control request for @p stream to device 1 or 2; its status. */
static uint32_t pcm(int dev, uint32_t code, uint32_t stream)
{
    uint8_t rq[VDM_SND_SET_PARAMS_BYTES];
    uint32_t len = 8;
    uint64_t g;
    void *cookie = NULL;
    uint32_t ulen = 0;

    memset(rq, 0, sizeof(rq));
    vdm_put_le32(rq, code);
    vdm_put_le32(rq + 4, stream);
    if (code == VDM_SND_R_PCM_SET_PARAMS) {
        vdm_put_le32(rq + 8, 4 * PER); /* buffer */
        vdm_put_le32(rq + 12, PER);    /* period */
        vdm_put_le32(rq + 16, stream == 0 ? VDM_SND_PCM_F_EVT_XRUNS : 0);
        rq[20] = stream == 2 ? 1 : 2;  /* channels */
        rq[21] = VDM_SND_PCM_FMT_S16;
        rq[22] = VDM_SND_PCM_RATE_48000;
        len = VDM_SND_SET_PARAMS_BYTES;
    }
    g = post(SCTL, rq, len, 4, rq);
    if (dev == 1)
        ck_assert_int_ge(dh_kick(&h1, SCTL, 1), 0);
    else
        kick2(SCTL);
    ck_assert_int_eq(used(SCTL, &cookie, &ulen), 1);
    ck_assert_ptr_eq(cookie, rq);
    return vdm_le32(dh_ptr(&h1, g, 4));
}

/* A tx period of stream 0 (pattern @p seed), made available. */
struct period {
    uint64_t st;
    int done;
};

static void tx_post(struct period *p, uint8_t seed)
{
    uint8_t b[4 + PER];

    vdm_put_le32(b, 0);
    for (unsigned i = 0; i < PER; i++)
        b[4 + i] = (uint8_t)(seed + i);
    memset(p, 0, sizeof(*p));
    p->st = post(STX, b, sizeof(b), VDM_SND_PCM_STATUS_BYTES, p);
}

/* Used tx periods: each once, status OK. */
static unsigned tx_collect(struct period *ps, unsigned n)
{
    void *cookie;
    uint32_t len;
    unsigned got = 0;

    while (used(STX, &cookie, &len) == 1) {
        struct period *p = cookie;
        ck_assert(p >= ps && p < ps + n);
        ck_assert_int_eq(p->done, 0);
        p->done = 1;
        ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, p->st, 4)), VDM_SND_S_OK);
        got++;
    }
    return got;
}

static void snd_source(void)
{
    start1(4);
    snd_on(&h1, &snd1, &sh1, &sreqs1, &siovs1);
    ck_assert_int_eq(
        dh_bring_up(&h1, VDM_SND_F_CTLS | VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX,
                    4),
        0);
    /* stream 0 RUNNING, stream 1 PREPARED, stream 2 untouched */
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_SET_PARAMS, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_SET_PARAMS, 1), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_PREPARE, 1), VDM_SND_S_OK);
}

static void snd_dest(void)
{
    start2(4);
    snd_on(&h2, &snd2, &sh2, &sreqs2, &siovs2);
    attach2();
}

START_TEST(sound_midstream)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct period tx[4];
    struct vdm_snd_params p = VDM_INIT(struct vdm_snd_params);
    void *cookie;
    uint32_t len;
    uint64_t evb;
    uint8_t *img;
    size_t n;

    snd_source();
    /* Three periods to the host, the first played before the save. */
    for (unsigned i = 0; i < 3; i++)
        tx_post(&tx[i], (uint8_t)(0x20 * (i + 1)));
    ck_assert_int_ge(dh_kick(&h1, STX, 1), 0);
    ck_assert_uint_eq(sh1.np, 3);
    ck_assert_int_eq(vdm_snd_complete(&snd1, sh1.p[0].token, 0, 0, 0), 0);
    ck_assert_uint_eq(tx_collect(tx, 4), 1);
    /* Two events wait for eventq buffers (none posted yet). */
    ck_assert_int_eq(vdm_snd_pcm_event(&snd1, 0, VDM_SND_EVT_PCM_XRUN), 0);
    ck_assert_int_eq(vdm_snd_jack_set(&snd1, 1, 1), 0);
    img = save_all(&n);
    sh1.np = 0; /* the source stops: its host requests are dropped */

    snd_dest();
    migrate(img, n);
    free(img);
    /* The host's streams were brought to the same states. */
    ck_assert_int_eq(sh2.calls[S_PARAMS], 2);
    ck_assert_int_eq(sh2.calls[S_PREPARE], 2);
    ck_assert_int_eq(sh2.calls[S_START], 1);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 0, &p), VDM_SND_STATE_RUNNING);
    ck_assert_uint_eq(p.buffer_bytes, 4 * PER);
    ck_assert_uint_eq(p.period_bytes, PER);
    ck_assert_uint_eq(p.features, VDM_SND_PCM_F_EVT_XRUNS);
    ck_assert_uint_eq(p.channels, 2);
    ck_assert_uint_eq(p.format, VDM_SND_PCM_FMT_S16);
    ck_assert_uint_eq(p.rate, VDM_SND_PCM_RATE_48000);
    ck_assert_uint_eq(p.frame_bytes, 4);
    ck_assert_uint_eq(p.rate_hz, 48000);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 1, NULL),
                     VDM_SND_STATE_PREPARED);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 2, NULL), VDM_SND_STATE_INIT);

    /* The periods in flight are played again, by the destination. */
    tx_post(&tx[3], 0x80);
    kick2(STX);
    ck_assert_uint_eq(sh2.np, 3);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t want[PER];
        for (unsigned k = 0; k < PER; k++)
            want[k] = (uint8_t)(0x20 * (i + 2) + k);
        ck_assert_uint_eq(sh2.p[i].bytes, PER);
        ck_assert_mem_eq(sh2.p[i].data, want, PER);
        ck_assert_int_eq(vdm_snd_complete(&snd2, sh2.p[i].token, 0, 0, 0), 0);
    }
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(tx_collect(tx, 4), 3);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(tx[i].done, 1);

    /* The waiting events, oldest first. */
    for (unsigned i = 0; i < 2; i++) {
        evb = post(SEVT, NULL, 0, VDM_SND_EVENT_BYTES, &tx[i]);
        kick2(SEVT);
        ck_assert_int_eq(used(SEVT, &cookie, &len), 1);
        ck_assert_ptr_eq(cookie, &tx[i]);
        ck_assert_uint_eq(len, VDM_SND_EVENT_BYTES);
        ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, evb, 4)),
                          i == 0 ? VDM_SND_EVT_PCM_XRUN
                                 : VDM_SND_EVT_JACK_CONNECTED);
        ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, evb + 4, 4)), i == 0 ? 0 : 1);
    }
    /* The lifecycle goes on: STOP, RELEASE on stream 0, START stream 1. */
    ck_assert_uint_eq(pcm(2, VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(2, VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(2, VDM_SND_R_PCM_START, 1), VDM_SND_S_OK);
    ck_assert_int_eq(sh2.calls[S_START], 2);
    /* Stream 2 never had parameters: PREPARE is still refused. */
    ck_assert_uint_eq(pcm(2, VDM_SND_R_PCM_PREPARE, 2), VDM_SND_S_BAD_MSG);
}
END_TEST

/* An eventq buffer the device held (no event for it) at save time is a
 * chain in flight: the destination takes it again and fills it with the
 * next event, once. */
START_TEST(sound_held_event_buffer)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    void *cookie;
    uint32_t len;
    uint64_t evb;
    uint8_t *img;
    size_t n;
    int mark;

    snd_source();
    evb = post(SEVT, NULL, 0, VDM_SND_EVENT_BYTES, &mark);
    ck_assert_int_ge(dh_kick(&h1, SEVT, 1), 0);
    ck_assert_int_eq(used(SEVT, &cookie, &len), 0);
    img = save_all(&n);
    /* the image moves the eventq back over the held buffer */
    snd_dest();
    migrate(img, n);
    free(img);
    kick2(SEVT);
    ck_assert_int_eq(used(SEVT, &cookie, &len), 0);
    ck_assert_int_eq(vdm_snd_jack_set(&snd2, 0, 0), 0);
    copy_mem(&h1, &h2);
    ck_assert_int_eq(used(SEVT, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &mark);
    ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, evb, 4)),
                      VDM_SND_EVT_JACK_DISCONNECTED);
    ck_assert_int_eq(used(SEVT, &cookie, &len), 0);
}
END_TEST

/* A RELEASE waiting for its stream's I/O when saved: both are chains in
 * flight; on the destination the stream ends RELEASED and every chain is
 * answered once. */
START_TEST(sound_releasing)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct period tx[1];
    void *cookie;
    uint32_t len;
    uint64_t g;
    uint8_t rq[8];
    uint8_t *img;
    size_t n;

    snd_source();
    tx_post(&tx[0], 1);
    ck_assert_int_ge(dh_kick(&h1, STX, 1), 0);
    ck_assert_uint_eq(pcm(1, VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    vdm_put_le32(rq, VDM_SND_R_PCM_RELEASE);
    vdm_put_le32(rq + 4, 0);
    g = post(SCTL, rq, 8, 4, rq);
    ck_assert_int_ge(dh_kick(&h1, SCTL, 1), 0);
    ck_assert_int_eq(used(SCTL, &cookie, &len), 0); /* waits for the I/O */
    ck_assert_int_eq(vdm_snd_stream_state(&snd1, 0, NULL),
                     VDM_SND_STATE_RELEASING);
    img = save_all(&n);
    snd_dest();
    migrate(img, n);
    free(img);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 0, NULL),
                     VDM_SND_STATE_STOPPED);
    /* The period first (the host completes it), then the RELEASE. */
    kick2(STX);
    ck_assert_uint_eq(sh2.np, 1);
    kick2(SCTL);
    ck_assert_int_eq(used(SCTL, &cookie, &len), 0);
    ck_assert_int_eq(vdm_snd_complete(&snd2, sh2.p[0].token, 0, 0, 0), 0);
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(tx_collect(tx, 1), 1);
    ck_assert_int_eq(used(SCTL, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, rq);
    ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, g, 4)), VDM_SND_S_OK);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 0, NULL),
                     VDM_SND_STATE_RELEASED);
}
END_TEST

/* Section offsets: header 16, streams 3 x 20 at 16, events at 76. */
#define ST0 16u
#define ST1 36u
#define ST2 56u
#define EV0 76u

static const struct gbad sbads[] = {
    {0, 1, 2, VDM_ENOTSUP},           /* version */
    {1, 1, 2, VDM_EINVAL},            /* stream count */
    {2, 1, 1, VDM_EINVAL},            /* reserved */
    {4, 4, 3, VDM_EINVAL},            /* event count not the length */
    {4, 4, 33, VDM_EINVAL},           /* more events than the device keeps */
    {12, 4, 1, VDM_EINVAL},           /* reserved */
    {ST0 + 0, 1, VDM_SND_STATE_RELEASING, VDM_EINVAL},
    {ST0 + 0, 1, 7, VDM_EINVAL},      /* unknown state */
    {ST0 + 0, 1, VDM_SND_STATE_INIT, VDM_EINVAL}, /* INIT with params */
    {ST0 + 1, 1, 2, VDM_EINVAL},      /* have_params */
    {ST0 + 2, 1, 3, VDM_EINVAL},      /* channels not offered */
    {ST0 + 3, 1, 64, VDM_EINVAL},     /* format as a shift count */
    {ST0 + 3, 1, VDM_SND_PCM_FMT_S32, VDM_EINVAL}, /* format not offered */
    {ST0 + 4, 1, 200, VDM_EINVAL},    /* rate as a shift count */
    {ST0 + 5, 1, 1, VDM_EINVAL},      /* reserved */
    {ST0 + 8, 4, PER + 2, VDM_EINVAL}, /* buffer not whole periods */
    {ST0 + 12, 4, 0, VDM_EINVAL},     /* period 0 */
    {ST0 + 12, 4, 6, VDM_EINVAL},     /* period not whole frames */
    {ST0 + 16, 4, VDM_SND_PCM_F_SHMEM_HOST, VDM_EINVAL},
    {ST0 + 16, 4, 0x100, VDM_EINVAL}, /* undefined feature */
    {ST1 + 16, 4, VDM_SND_PCM_F_EVT_XRUNS, VDM_EINVAL}, /* not offered */
    {ST2 + 0, 1, VDM_SND_STATE_RUNNING, VDM_EINVAL}, /* without params */
    {ST2 + 2, 1, 2, VDM_EINVAL},      /* params bytes of an INIT stream */
    {EV0 + 0, 4, 0x1300, VDM_EINVAL}, /* unknown event */
    {EV0 + 4, 4, 3, VDM_EINVAL},      /* XRUN of stream 3 */
    {EV0 + 8, 4, VDM_SND_EVT_JACK_CONNECTED, VDM_EINVAL}, /* jack 7 */
    {EV0 + 8, 4, VDM_SND_EVT_CTL_NOTIFY, VDM_EINVAL}, /* mask 0 */
};

START_TEST(sound_hostile)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t *img, *bad;
    uint32_t plen = 0;
    size_t n, cs;

    snd_source();
    ck_assert_int_eq(vdm_snd_pcm_event(&snd1, 0, VDM_SND_EVT_PCM_XRUN), 0);
    ck_assert_int_eq(vdm_snd_jack_set(&snd1, 1, 1), 0);
    n = vdm_dev_state_size(&h1.dev);
    img = malloc(n);
    bad = malloc(n);
    ck_assert_ptr_nonnull(img);
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(vdm_dev_save(&h1.dev, img, n), (int)n);
    cs = class_sec(img, n, &plen);
    ck_assert_uint_gt(cs, 0);
    ck_assert_uint_eq(plen, EV0 + 16);
    ck_assert_uint_eq(vdm_le32(img + cs + EV0 + 12), 1); /* jack 1 */
    /* make the second event's jack id 7 reachable by one byte */
    start2(4);
    snd_on(&h2, &snd2, &sh2, &sreqs2, &siovs2);
    for (unsigned i = 0; i < sizeof(sbads) / sizeof(sbads[0]); i++) {
        const struct gbad *b = &sbads[i];
        uint8_t *p = bad + cs + b->at;
        memcpy(bad, img, n);
        if (b->width == 1) {
            p[0] = (uint8_t)b->v;
        } else {
            vdm_put_le32(p, (uint32_t)b->v);
        }
        if (b->at == EV0 + 8 && b->v == VDM_SND_EVT_JACK_CONNECTED)
            vdm_put_le32(p + 4, 7);
        if (b->at == EV0 + 8 && b->v == VDM_SND_EVT_CTL_NOTIFY)
            vdm_put_le32(p + 4, 0);
        ck_assert_msg(vdm_dev_restore(&h2.dev, bad, n) == b->rc,
                      "corruption %u (offset %u) not refused as expected", i,
                      b->at);
        ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
        ck_assert_int_eq(vdm_snd_stream_state(&snd2, 0, NULL),
                         VDM_SND_STATE_INIT);
        /* nothing was told to the host before the checks ended */
        ck_assert_int_eq(sh2.calls[S_PARAMS], 0);
    }
    /* The host refusing the parameters: refused, nothing left set up. */
    sh2.fail_params = 1;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), VDM_EIO);
    ck_assert_int_eq(vdm_snd_stream_state(&snd2, 0, NULL), VDM_SND_STATE_INIT);
    sh2.fail_params = 0;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), 0);
    ck_assert_int_eq(sh2.calls[S_START], 1);
    /* The reset after it stops and releases what the restore set up. */
    ck_assert_int_eq(vdm_dev_set_status(&h2.dev, 0), 0);
    ck_assert_int_eq(sh2.calls[S_STOP], 1);
    ck_assert_int_eq(sh2.calls[S_RELEASE], 2);
    free(bad);
    free(img);
}
END_TEST

/* The sound section written out by hand: little-endian on every host
 * (the s390x cross run checks it). Stream 0 RUNNING (S16 = 5, 2 channels,
 * 48000 Hz = 7, buffer 256, period 64, EVT_XRUNS = 0x10), stream 1
 * PREPARED (features 0), stream 2 INIT; one XRUN of stream 0 waiting, one
 * event dropped before it (no room was never reached: 0). */
static const uint8_t snd_golden[16 + 60 + 8] = {
    1, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* header */
    3, 1, 2, 5, 7, 0, 0, 0, 0, 1, 0, 0, 64, 0, 0, 0, 0x10, 0, 0, 0,
    2, 1, 2, 5, 7, 0, 0, 0, 0, 1, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x01, 0x11, 0, 0, 0, 0, 0, 0}; /* XRUN (0x1101), stream 0 */

START_TEST(sound_layout_le)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t *img;
    uint32_t plen = 0;
    size_t n, cs;

    snd_source();
    ck_assert_int_eq(vdm_snd_pcm_event(&snd1, 0, VDM_SND_EVT_PCM_XRUN), 0);
    n = vdm_dev_state_size(&h1.dev);
    img = malloc(n);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(vdm_dev_save(&h1.dev, img, n), (int)n);
    cs = class_sec(img, n, &plen);
    ck_assert_uint_eq(plen, sizeof(snd_golden));
    ck_assert_mem_eq(img + cs, snd_golden, sizeof(snd_golden));
    free(img);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* scmi */

#define SCMI_HDR(proto, msg, tok)                                              \
    ((uint32_t)(msg) | ((uint32_t)(proto) << 10) | ((uint32_t)(tok) << 18))

struct plat {
    int async;
    int ncalls;
    void *tokens[8];
    uint32_t kept[8];
    int nkept;
};

static struct plat pl1, pl2;
static struct vdm_scmi scmi1, scmi2;

static int plat_command(void *host, const struct vdm_scmi_cmd *cmd,
                        uint8_t *resp, uint32_t *resp_len, void *token)
{
    struct plat *p = host;
    p->ncalls++;
    if (p->async) {
        ck_assert_int_lt(p->nkept, 8);
        p->tokens[p->nkept] = token;
        p->kept[p->nkept++] = vdm_le32(cmd->msg);
        return VDM_SCMI_PENDING;
    }
    vdm_put_le32(resp, vdm_le32(cmd->msg));
    vdm_put_le32(resp + 4, 0);
    vdm_put_le32(resp + 8, 0x20000);
    *resp_len = 12;
    return 0;
}

static void plat_ready(void *host)
{
    (void)host;
}

static const struct vdm_scmi_ops plat_ops = {
    .size = sizeof(struct vdm_scmi_ops),
    .command = plat_command,
    .eventq_ready = plat_ready,
};

static void scmi_on(struct dh *h, struct vdm_scmi *s, struct plat *p)
{
    struct vdm_scmi_config c = VDM_INIT(struct vdm_scmi_config);
    c.features = VDM_SCMI_F_P2A_CHANNELS;
    c.ops = &plat_ops;
    c.host = p;
    ck_assert_int_eq(vdm_scmi_init(s, &h->dev, &c, &h->base), 0);
}

static void scmi_setup(void)
{
    bench_setup();
    memset(&pl1, 0, sizeof(pl1));
    memset(&pl2, 0, sizeof(pl2));
}

#define SCMD ((uint16_t)VDM_SCMI_QUEUE_CMD)
#define SEVQ ((uint16_t)VDM_SCMI_QUEUE_EVENT)

static uint64_t scmi_post(uint32_t hdr, void *cookie)
{
    uint8_t m[4];
    vdm_put_le32(m, hdr);
    return post(SCMD, m, 4, 16, cookie);
}

START_TEST(scmi_midstream)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    void *cookie;
    uint32_t len;
    uint64_t a, b, e[2];
    uint8_t resp[12];
    uint8_t *img;
    size_t n;
    int ca, cb, ce[2];

    start1(2);
    scmi_on(&h1, &scmi1, &pl1);
    ck_assert_int_eq(dh_bring_up(&h1, VDM_SCMI_F_P2A_CHANNELS, 2), 0);
    /* Two eventq buffers posted (they stay in the ring until a P2A
     * message needs one). */
    for (unsigned i = 0; i < 2; i++)
        e[i] = post(SEVQ, NULL, 0, 32, &ce[i]);
    ck_assert_int_ge(dh_kick(&h1, SEVQ, 1), 0);
    /* A answered at once; B pending at the platform (delayed answer). */
    a = scmi_post(SCMI_HDR(0x10, 0, 1), &ca);
    ck_assert_int_ge(dh_kick(&h1, SCMD, 1), 0);
    ck_assert_int_eq(used(SCMD, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &ca);
    ck_assert_uint_eq(vdm_le32(dh_ptr(&h1, a, 4)), SCMI_HDR(0x10, 0, 1));
    pl1.async = 1;
    b = scmi_post(SCMI_HDR(0x14, 6, 2), &cb);
    ck_assert_int_ge(dh_kick(&h1, SCMD, 1), 0);
    ck_assert_int_eq(pl1.nkept, 1);
    ck_assert_uint_eq(vdm_scmi_in_flight(&scmi1), 1);
    img = save_all(&n);
    /* no device type section: scmi keeps no state of its own */
    {
        uint32_t plen;
        uint8_t *dimg;
        size_t dn = vdm_dev_state_size(&h1.dev);
        dimg = malloc(dn);
        ck_assert_ptr_nonnull(dimg);
        ck_assert_int_eq(vdm_dev_save(&h1.dev, dimg, dn), (int)dn);
        ck_assert_uint_eq(class_sec(dimg, dn, &plen), 0);
        free(dimg);
    }
    start2(2);
    scmi_on(&h2, &scmi2, &pl2);
    attach2();
    pl2.async = 1;
    migrate(img, n);
    free(img);
    /* B goes to the destination's platform, which answers it later. */
    kick2(SCMD);
    ck_assert_int_eq(pl2.nkept, 1);
    ck_assert_uint_eq(pl2.kept[0], SCMI_HDR(0x14, 6, 2));
    ck_assert_int_eq(used(SCMD, &cookie, &len), 0);
    vdm_put_le32(resp, SCMI_HDR(0x14, 6, 2));
    vdm_put_le32(resp + 4, 0);
    vdm_put_le32(resp + 8, 0x1234);
    ck_assert_int_eq(vdm_scmi_complete(&scmi2, pl2.tokens[0], resp, 12), 0);
    copy_mem(&h1, &h2);
    ck_assert_int_eq(used(SCMD, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &cb);
    ck_assert_uint_eq(len, 12);
    ck_assert_mem_eq(dh_ptr(&h1, b, 12), resp, 12);
    ck_assert_int_eq(used(SCMD, &cookie, &len), 0);
    /* The source's token means nothing to the destination. */
    ck_assert_int_eq(vdm_scmi_complete(&scmi2, pl1.tokens[0], resp, 12),
                     VDM_EINVAL);
    /* A delayed response (P2A) into the first eventq buffer. */
    vdm_put_le32(resp, SCMI_HDR(0x14, 6, 2) | (2u << 8));
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi2, resp, 12), 0);
    copy_mem(&h1, &h2);
    ck_assert_int_eq(used(SEVQ, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &ce[0]);
    ck_assert_mem_eq(dh_ptr(&h1, e[0], 12), resp, 12);
}
END_TEST

/* Commands answered out of order (no IN_ORDER, spec "SCMI Device"): an
 * older command still at the platform after a newer one was answered
 * cannot be re-queued without serving the newer one twice: VDM_EBUSY
 * until the platform answers it. */
START_TEST(scmi_busy_until_answered)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t img[4096];
    uint8_t resp[12];
    void *cookie;
    uint32_t len;
    int c[2];

    start1(2);
    scmi_on(&h1, &scmi1, &pl1);
    ck_assert_int_eq(dh_bring_up(&h1, VDM_SCMI_F_P2A_CHANNELS, 2), 0);
    pl1.async = 1;
    (void)scmi_post(SCMI_HDR(0x10, 0, 1), &c[0]);
    (void)scmi_post(SCMI_HDR(0x10, 0, 2), &c[1]);
    ck_assert_int_ge(dh_kick(&h1, SCMD, 1), 0);
    ck_assert_int_eq(pl1.nkept, 2);
    vdm_put_le32(resp + 4, 0);
    vdm_put_le32(resp + 8, 0);
    vdm_put_le32(resp, pl1.kept[1]);
    ck_assert_int_eq(vdm_scmi_complete(&scmi1, pl1.tokens[1], resp, 12), 0);
    ck_assert_uint_le(size1(), sizeof(img));
    ck_assert_int_eq(save1(img, sizeof(img)), VDM_EBUSY);
    vdm_put_le32(resp, pl1.kept[0]);
    ck_assert_int_eq(vdm_scmi_complete(&scmi1, pl1.tokens[0], resp, 12), 0);
    ck_assert_int_gt(save1(img, sizeof(img)), 0);
    ck_assert_int_eq(used(SCMD, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &c[1]);
    ck_assert_int_eq(used(SCMD, &cookie, &len), 1);
    ck_assert_ptr_eq(cookie, &c[0]);
}
END_TEST

/* An image carrying a device type section for scmi (which has none) is
 * refused. */
START_TEST(scmi_refuses_class_section)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t *img;
    size_t n;

    start1(2);
    scmi_on(&h1, &scmi1, &pl1);
    ck_assert_int_eq(dh_bring_up(&h1, VDM_SCMI_F_P2A_CHANNELS, 2), 0);
    n = vdm_dev_state_size(&h1.dev);
    img = calloc(1, n + 8);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(vdm_dev_save(&h1.dev, img, n), (int)n);
    img[n] = VDM_STATE_SEC_CLASS; /* empty section at the end */
    vdm_put_le32(img + 8, (uint32_t)(n + 8));
    start2(2);
    scmi_on(&h2, &scmi2, &pl2);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n + 8), VDM_ENOTSUP);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), VDM_EINVAL);
    vdm_put_le32(img + 8, (uint32_t)n);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, n), 0);
    free(img);
}
END_TEST

static Suite *suite(void)
{
    const char *tp = getenv("DH_TRANSPORT");
    /* The refusals read device-level images: once is enough. */
    int direct = (tp == NULL) || (strcmp(tp, "direct") == 0);
    Suite *s = suite_create("state_av");
    TCase *tc = tcase_create("gpu");

    tcase_add_checked_fixture(tc, gpu_setup, gpu_teardown);
    tcase_add_test(tc, gpu_midstream);
    if (direct)
        tcase_add_test(tc, gpu_hostile);
    suite_add_tcase(s, tc);
    tc = tcase_create("sound");
    tcase_add_checked_fixture(tc, snd_setup, snd_teardown);
    tcase_add_test(tc, sound_midstream);
    tcase_add_test(tc, sound_held_event_buffer);
    tcase_add_test(tc, sound_releasing);
    if (direct) {
        tcase_add_test(tc, sound_hostile);
        tcase_add_test(tc, sound_layout_le);
    }
    suite_add_tcase(s, tc);
    tc = tcase_create("scmi");
    tcase_add_checked_fixture(tc, scmi_setup, bench_fini);
    tcase_add_test(tc, scmi_midstream);
    tcase_add_test(tc, scmi_busy_until_answered);
    if (direct)
        tcase_add_test(tc, scmi_refuses_class_section);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
