/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpu internals shared by devices/gpu.c (queues, commands) and
 * devices/gpu_res.c (resource table, backing pool, pixel copies). */
#ifndef VDM_DEVICES_GPU_INTERNAL_H
#define VDM_DEVICES_GPU_INTERNAL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/gpu.h"
#include "vdm/kit.h"

#define GPU_MAGIC 0x67707544u /* "Dupg" */

/* One entry of the caller's backing pool: a guest range. */
struct gbacking {
    uint64_t gpa;
    uint32_t len;
    uint32_t reserved;
};

/* One entry of the caller's resource table; id 0 = free. */
struct gres {
    uint32_t id;
    uint32_t kind; /* VDM_GPU_RES_* */
    uint32_t format;
    uint32_t width;
    uint32_t height;
    uint32_t stride;
    uint32_t blob_flags;
    uint32_t bfirst; /* first backing entry in the pool */
    uint32_t bcount; /* backing entries (0: none attached) */
    uint8_t mapped;  /* RESOURCE_MAP_BLOB done */
    uint8_t has_uuid;
    uint8_t reserved[2];
    uint64_t bytes;  /* host storage bytes (2D: stride * height) */
    uint64_t btotal; /* sum of the backing lengths */
    void *pixels;    /* host storage */
    uint8_t uuid[16];
    uint64_t map_off; /* RESOURCE_MAP_BLOB offset (mapped != 0) */
};

/* What a scanout shows: a view of a resource. */
struct gscanout {
    uint32_t res;    /* resource id, 0: disabled */
    uint32_t format; /* VDM_GPU_FORMAT_* */
    uint32_t fb_w;   /* framebuffer (2D: the resource) */
    uint32_t fb_h;
    uint32_t stride;
    uint32_t offset; /* of pixel (0, 0) in the storage (blob offsets[0]) */
    uint32_t x;      /* shown rectangle in the framebuffer */
    uint32_t y;
    uint32_t w;
    uint32_t h;
};

/* The cursor of a scanout as the cursorq left it. */
struct gcursor {
    uint32_t res; /* shape resource, 0: none */
    uint32_t hot_x;
    uint32_t hot_y;
    uint32_t x;
    uint32_t y;
};

struct gpu {
    uint32_t magic;
    uint32_t flags; /* VDM_GPU_* from the config */
    struct vdm_dev *dev;
    const struct vdm_gpu_ops *ops;
    void *host;
    struct gres *res; /* caller's table */
    struct gbacking *pool;
    uint32_t nres;
    uint32_t npool;
    uint32_t pool_used;
    uint32_t nlive; /* resources in use */
    uint32_t num_scanouts;
    uint32_t blob_alignment;
    uint32_t events; /* events_read */
    uint32_t warned;
    uint64_t max_res_bytes;
    uint64_t max_total_bytes;
    uint64_t total_bytes;
    uint64_t hostmem_bytes;
    struct vdm_gpu_display disp[VDM_GPU_MAX_SCANOUTS];
    struct gscanout so[VDM_GPU_MAX_SCANOUTS];
    struct gcursor cur[VDM_GPU_MAX_SCANOUTS];
    struct vdm_kit kit;
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(VDM_GPU_NUM_QUEUES, 1,
                                                       VDM_KIT_SLOT_BYTES(0))];
    struct vdm_iov iov[VDM_GPU_NUM_QUEUES * VDM_GPU_IOV_MAX];
};

/* s->warned bits: guest errors logged once per reset */
#define GW_SHORT    1u   /* request shorter than its command */
#define GW_RESP     2u   /* response buffer too small */
#define GW_UNKNOWN  4u   /* unknown or unsupported command */
#define GW_RES      8u   /* bad resource id */
#define GW_RECT     16u  /* rectangle, offset or stride out of bounds */
#define GW_BACKING  32u  /* bad backing entries */
#define GW_MEM      64u  /* guest memory not readable */
#define GW_SCANOUT  128u /* bad scanout id */
#define GW_FORMAT   256u /* bad format */
#define GW_HOST     512u /* host hook failed */
#define GW_CURSOR   1024u
#define GW_NORESP   2048u /* controlq request without a response buffer */
#define GW_RING_IDX 4096u

void gpu_warn(struct gpu *s, uint32_t bit, const char *msg);

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
#define RQ_CREATE_BLOB    56u
#define RQ_SCANOUT_BLOB   96u
#define RQ_MAP_BLOB       40u
#define RQ_CURSOR         56u
#define RQ_MAX            96u
#define RESP_DISPLAY_INFO (RQ_HDR + ((uint32_t)VDM_GPU_MAX_SCANOUTS * 24u))
#define RESP_EDID         (RQ_HDR + 8u + (uint32_t)VDM_GPU_EDID_MAX_BYTES)
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
    uint8_t out[(uint32_t)VDM_GPU_MAX_SCANOUTS * 24u];
};

static inline bool gpu_negotiated(const struct gpu *s, uint64_t f)
{
    return (vdm_dev_features(s->dev) & f) != 0u;
}

/* gpu_cmd.c: the commands. Returns the response type (VDM_GPU_RESP_*);
 * a payload goes to k->out / k->plen (GET_EDID writes its own). */
uint32_t gpu_dispatch(struct gpu *s, struct gcmd *k, uint16_t q);
/* Bytes of the response to command @p type. */
uint32_t gpu_resp_bytes(uint32_t type);
/* Scanout @p i shows nothing any more (the host is told). */
void gpu_scanout_disable(struct gpu *s, uint32_t i);
/* Tell the host what scanout @p i shows now. */
void gpu_scanout_publish(struct gpu *s, uint32_t i);
/* The host's cursor hook, if it has one. */
void gpu_cursor_show(struct gpu *s, const struct vdm_gpu_cursor *c);
/* Host-visible memory for blobs: negotiated, a region, a blob_map hook. */
bool gpu_hostmem_ok(const struct gpu *s);

/* gpu_state.c: the device type's save and restore hooks (vdm/state.h),
 * and the cursor record they carry: a cursor command served, a resource
 * going away. */
void gpu_cursor_note(struct gpu *s, const struct vdm_gpu_cursor *c);
void gpu_cursor_forget(struct gpu *s, uint32_t id);
int gpu_state_save(const struct vdm_dev *d, void *buf, uint32_t len);
int gpu_state_restore(struct vdm_dev *d, const void *buf, uint32_t len);

/* gpu_res.c: the resource table and the backing pool. */
int gpu_format_ok(uint32_t format);
struct gres *gpu_res_find(struct gpu *s, uint32_t id);
/* Returns VDM_GPU_RESP_*: */
uint32_t gpu_res_create(struct gpu *s, const struct vdm_gpu_resource_info *in,
                        struct gres **out);
void gpu_res_destroy(struct gpu *s, struct gres *r);
void gpu_res_destroy_all(struct gpu *s);
/* Attach @p n entries read from the chain at @p off (the request checked
 * the chain holds them); VDM_GPU_RESP_*. */
uint32_t gpu_backing_attach(struct gpu *s, struct gres *r,
                            const struct vdm_chain *c, uint32_t off,
                            uint32_t n);
void gpu_backing_detach(struct gpu *s, struct gres *r);
/* Copy @p h rows of @p len bytes, row i from backing offset
 * src + i * stride to storage offset dst + i * stride. All ranges were
 * checked. 0 or VDM_EFAULT (guest memory not readable). */
int gpu_backing_copy(struct gpu *s, const struct gres *r, uint64_t src,
                     uint64_t dst, uint64_t stride, uint32_t len, uint32_t h);

#endif
