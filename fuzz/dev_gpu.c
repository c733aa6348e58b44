/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-gpu (fuzz_dev.h). Control and cursor commands with
 * fuzzed fields (ids and sizes mostly kept small so resources, backing and
 * scanouts meet), backing entries into the fuzz memory map, and host
 * display changes. Oracles: every pixel the device hands the host lies
 * inside the storage the host gave for that resource; responses are a
 * whole header or nothing; resources never outlive a reset. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_mem.h"
#include "vdm/devices/gpu.h"
#include "vdm/le.h"

#define GPU_NRES  6u
#define GPU_NBACK 16u
#define GPU_MAXB  (64u * 1024u) /* bytes of one resource */

struct store {
    uint32_t id;
    uint8_t *p;
    uint64_t bytes;
};

static struct {
    struct vdm_gpu gpu;
    struct vdm_gpu_ops ops;
    struct vdm_gpu_config cfg;
    struct vdm_gpu_res res[GPU_NRES];
    struct vdm_gpu_backing back[GPU_NBACK];
    struct vdm_gpu_display disp[2];
    uint8_t edid[128];
    struct store st[GPU_NRES];
    unsigned live;
} G;

/* The storage [p, p + n) lies inside resource @p id's storage. */
static void in_store(uint32_t id, const uint8_t *p, uint64_t n,
                     const char *what)
{
    for (unsigned i = 0; i < GPU_NRES; i++)
        if (G.st[i].id == id && G.st[i].p != NULL) {
            FZ_CHECK(p >= G.st[i].p && n <= G.st[i].bytes &&
                         (uint64_t)(p - G.st[i].p) <= G.st[i].bytes - n,
                     "%s outside resource %u storage", what, id);
            return;
        }
    FZ_CHECK(0, "%s of resource %u the host does not hold", what, id);
}

static int gpu_create_res(void *host, const struct vdm_gpu_resource_info *in,
                          void **px)
{
    (void)host;
    FZ_CHECK(in->id != 0 && in->bytes != 0 && in->bytes <= GPU_MAXB,
             "resource %u of %llu bytes", in->id,
             (unsigned long long)in->bytes);
    for (unsigned i = 0; i < GPU_NRES; i++) {
        FZ_CHECK(G.st[i].id != in->id || G.st[i].p == NULL,
                 "resource %u created twice", in->id);
    }
    for (unsigned i = 0; i < GPU_NRES; i++)
        if (G.st[i].p == NULL) {
            G.st[i].p = calloc(1, (size_t)in->bytes);
            if (G.st[i].p == NULL)
                return VDM_EIO;
            G.st[i].id = in->id;
            G.st[i].bytes = in->bytes;
            *px = G.st[i].p;
            G.live++;
            return 0;
        }
    FZ_CHECK(0, "more resources than the table holds");
    return VDM_EIO;
}

static void gpu_destroy_res(void *host, uint32_t id, void *px)
{
    (void)host;
    for (unsigned i = 0; i < GPU_NRES; i++)
        if (G.st[i].p == px && px != NULL) {
            FZ_CHECK(G.st[i].id == id, "destroy of %u with %u's storage", id,
                     G.st[i].id);
            free(G.st[i].p);
            G.st[i].p = NULL;
            G.st[i].id = 0;
            G.live--;
            return;
        }
    FZ_CHECK(0, "destroy of unknown storage (resource %u)", id);
}

static void gpu_scanout(void *host, uint32_t sc,
                        const struct vdm_gpu_scanout_info *s)
{
    (void)host;
    FZ_CHECK(sc < G.cfg.num_scanouts, "scanout %u", sc);
    if (s->resource_id == 0)
        return;
    FZ_CHECK(s->width != 0 && s->height != 0 &&
                 (uint64_t)s->width * 4 <= s->stride,
             "scanout %ux%u stride %u", s->width, s->height, s->stride);
    in_store(s->resource_id, s->pixels,
             (uint64_t)(s->height - 1) * s->stride + (uint64_t)s->width * 4,
             "scanout");
}

static void gpu_update(void *host, uint32_t sc, const struct vdm_gpu_update *u)
{
    volatile uint8_t sink = 0;
    (void)host;
    FZ_CHECK(sc < G.cfg.num_scanouts, "update of scanout %u", sc);
    FZ_CHECK(u->width != 0 && u->height != 0, "empty update");
    in_store(u->resource_id, u->pixels,
             (uint64_t)(u->height - 1) * u->stride + (uint64_t)u->width * 4,
             "update");
    for (uint32_t r = 0; r < u->height; r++) /* touch: ASan checks it */
        sink ^=
            ((const uint8_t *)
                 u->pixels)[(size_t)r * u->stride + (size_t)u->width * 4 - 1];
    (void)sink;
}

static void gpu_cursor(void *host, const struct vdm_gpu_cursor *c)
{
    (void)host;
    FZ_CHECK(c->scanout < G.cfg.num_scanouts, "cursor on scanout %u",
             c->scanout);
    if (c->pixels != NULL)
        in_store(c->resource_id, c->pixels, 64u * 64u * 4u, "cursor");
}

static int gpu_uuid(void *host, uint32_t id, uint8_t uuid[16])
{
    (void)host;
    memset(uuid, (int)id, 16);
    return 0;
}

static int gpu_map(void *host, const struct vdm_gpu_resource_info *in,
                   uint64_t off, uint32_t *info)
{
    (void)host;
    FZ_CHECK(off <= G.cfg.hostmem_bytes &&
                 in->bytes <= G.cfg.hostmem_bytes - off,
             "blob map outside the region");
    *info = 1;
    return 0;
}

static int gpu_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    memset(&G, 0, sizeof(G));
    base->num_queues = 2;
    (void)vdm_gpu_edid(G.edid, sizeof(G.edid), 640, 480, "fuzz");
    G.disp[0] = (struct vdm_gpu_display){.width = 640,
                                         .height = 480,
                                         .enabled = 1,
                                         .edid_len = 128,
                                         .edid = G.edid};
    G.disp[1] = (struct vdm_gpu_display){.width = 64, .height = 64};
    G.ops = (struct vdm_gpu_ops){
        .size = sizeof(G.ops),
        .resource_create = gpu_create_res,
        .resource_destroy = gpu_destroy_res,
        .scanout = gpu_scanout,
        .update = gpu_update,
        .cursor = (cb & 0x10) ? NULL : gpu_cursor,
        .assign_uuid = gpu_uuid,
        .blob_map = gpu_map,
    };
    G.cfg = (struct vdm_gpu_config){.size = sizeof(G.cfg)};
    G.cfg.flags = cb & 7u;
    G.cfg.num_scanouts = 1u + ((cb >> 3) & 1u);
    G.cfg.nresources = GPU_NRES;
    G.cfg.displays = G.disp;
    G.cfg.resources = G.res;
    G.cfg.backing = G.back;
    G.cfg.nbacking = GPU_NBACK;
    G.cfg.blob_alignment = (cb & 0x20) ? 64 : 0;
    G.cfg.max_resource_bytes = GPU_MAXB;
    G.cfg.max_total_bytes = (cb & 0x40) ? 3u * GPU_MAXB : 0;
    G.cfg.hostmem_bytes = (cb & 0x80) ? 1u << 20 : 0;
    G.cfg.ops = &G.ops;
    return vdm_gpu_init(&G.gpu, dev, &G.cfg, base);
}

static const uint32_t gpu_types[] = {
    VDM_GPU_CMD_GET_DISPLAY_INFO,
    VDM_GPU_CMD_RESOURCE_CREATE_2D,
    VDM_GPU_CMD_RESOURCE_UNREF,
    VDM_GPU_CMD_SET_SCANOUT,
    VDM_GPU_CMD_RESOURCE_FLUSH,
    VDM_GPU_CMD_TRANSFER_TO_HOST_2D,
    VDM_GPU_CMD_RESOURCE_ATTACH_BACKING,
    VDM_GPU_CMD_RESOURCE_DETACH_BACKING,
    VDM_GPU_CMD_GET_CAPSET_INFO,
    VDM_GPU_CMD_GET_CAPSET,
    VDM_GPU_CMD_GET_EDID,
    VDM_GPU_CMD_RESOURCE_ASSIGN_UUID,
    VDM_GPU_CMD_RESOURCE_CREATE_BLOB,
    VDM_GPU_CMD_SET_SCANOUT_BLOB,
    VDM_GPU_CMD_CTX_CREATE,
    VDM_GPU_CMD_SUBMIT_3D,
    VDM_GPU_CMD_RESOURCE_MAP_BLOB,
    VDM_GPU_CMD_RESOURCE_UNMAP_BLOB,
    VDM_GPU_CMD_UPDATE_CURSOR,
    VDM_GPU_CMD_MOVE_CURSOR,
};
#define NTYPES (sizeof(gpu_types) / sizeof(gpu_types[0]))

/* Where the command keeps its resource id (0: none) and its scanout id. */
static unsigned res_at(uint32_t t)
{
    switch (t) {
    case VDM_GPU_CMD_SET_SCANOUT: return 44;
    case VDM_GPU_CMD_SET_SCANOUT_BLOB: return 44;
    case VDM_GPU_CMD_RESOURCE_FLUSH: return 40;
    case VDM_GPU_CMD_TRANSFER_TO_HOST_2D: return 48;
    case VDM_GPU_CMD_UPDATE_CURSOR:
    case VDM_GPU_CMD_MOVE_CURSOR: return 40;
    case VDM_GPU_CMD_GET_DISPLAY_INFO:
    case VDM_GPU_CMD_GET_EDID:
    case VDM_GPU_CMD_GET_CAPSET_INFO:
    case VDM_GPU_CMD_GET_CAPSET: return 0;
    default: return 24;
    }
}

/* Byte 0: command (bit 7: keep every field raw); byte 1: flags for the
 * header; then the fields. Unless raw, ids are made small, sizes modest
 * and backing entries point into the fuzz memory map. */
static uint32_t gpu_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t sel = fz_u8(f), fl = fz_u8(f);
    uint32_t t = gpu_types[(sel & 0x7f) % NTYPES];
    unsigned at = res_at(t);

    memset(req, 0, FD_REQ_MAX);
    (void)fz_bytes(f, req + 4, FD_REQ_MAX - 4);
    vdm_put_le32(req, t);
    *type = t;
    if (sel & 0x80)
        return FD_REQ_MAX;
    vdm_put_le32(req + 4, fl & 3u);
    req[20] = (uint8_t)(req[20] & 0x7fu); /* ring index, sometimes > 63 */
    if (at != 0)
        vdm_put_le32(req + at, req[at] & 7u);
    switch (t) {
    case VDM_GPU_CMD_RESOURCE_CREATE_2D:
        vdm_put_le32(req + 28, 1u + req[28] % 4u);  /* a valid format */
        vdm_put_le32(req + 32, 1u + req[32] % 96u); /* width */
        vdm_put_le32(req + 36, 1u + req[36] % 96u); /* height */
        break;
    case VDM_GPU_CMD_SET_SCANOUT:
    case VDM_GPU_CMD_RESOURCE_FLUSH:
    case VDM_GPU_CMD_TRANSFER_TO_HOST_2D:
        for (unsigned i = 24; i < 40; i += 4)
            vdm_put_le32(req + i, req[i] % 100u);
        if (t == VDM_GPU_CMD_SET_SCANOUT)
            vdm_put_le32(req + 40, req[40] & 1u);
        if (t == VDM_GPU_CMD_TRANSFER_TO_HOST_2D)
            vdm_put_le64(req + 40, (uint64_t)req[40] * 4u);
        break;
    case VDM_GPU_CMD_RESOURCE_ATTACH_BACKING:
    case VDM_GPU_CMD_RESOURCE_CREATE_BLOB: {
        unsigned first = t == VDM_GPU_CMD_RESOURCE_ATTACH_BACKING ? 32 : 56;
        unsigned n = (FD_REQ_MAX - first) / 16u;
        vdm_put_le32(req + (t == VDM_GPU_CMD_RESOURCE_ATTACH_BACKING ? 28 : 36),
                     req[28] % (n + 2u));
        if (t == VDM_GPU_CMD_RESOURCE_CREATE_BLOB) {
            vdm_put_le32(req + 28, 1u + (req[29] & 1u) * (req[29] >> 1 & 1u));
            vdm_put_le64(req + 48, 64u * (1u + req[48] % 64u));
        }
        for (unsigned i = 0; i < n; i++) {
            uint8_t *e = req + first + 16u * i;
            uint64_t base = (e[0] & 1) ? FM_DATA1_GPA : FM_HEAP_GPA;
            vdm_put_le64(e, base + (uint64_t)(e[1] & 0x3f) * 256u);
            vdm_put_le32(e + 8, 256u * (1u + (e[8] & 0x3f)));
        }
        break;
    }
    case VDM_GPU_CMD_UPDATE_CURSOR:
    case VDM_GPU_CMD_MOVE_CURSOR:
    case VDM_GPU_CMD_GET_EDID: vdm_put_le32(req + 24, req[24] & 1u); break;
    default: break;
    }
    return FD_REQ_MAX;
}

/* The response is a whole header (24 bytes), a whole payload response, or
 * nothing (no room); the kit's error answer is the 4-byte type. */
static void gpu_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    (void)q;
    (void)r;
    FZ_CHECK(u->len == 0 || u->len == 4 || u->len == 24 || u->len == 32 ||
                 u->len == 40 || u->len == 408 || u->len == 1056,
             "gpu used len %u", u->len);
}

static void gpu_host(uint8_t act, uint32_t arg)
{
    struct vdm_gpu_display d = {.width = 16u + (arg & 0x3ff),
                                .height = 16u + (arg >> 10 & 0x3ff),
                                .enabled = arg >> 31,
                                .edid_len = (act & 1) ? 128u : 0u,
                                .edid = (act & 1) ? G.edid : NULL};
    int rc = vdm_gpu_set_display(&G.gpu, arg >> 20 & 1u, &d);
    FZ_CHECK(rc == 0 || rc == VDM_ERANGE, "set_display %d", rc);
    FZ_CHECK(vdm_gpu_resources(&G.gpu) == G.live, "resources %u, host %u",
             vdm_gpu_resources(&G.gpu), G.live);
}

static void gpu_finish(void)
{
    FZ_CHECK(G.live == 0, "%u resources outlive the reset", G.live);
}

const struct fuzz_dev_plugin fuzz_dev_gpu = {
    .name = "gpu",
    .create = gpu_create,
    .request = gpu_request,
    .check_used = gpu_check_used,
    .host = gpu_host,
    .finish = gpu_finish,
};
