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
 * This file is the queue service, the device class and the public API; the
 * commands are in devices/gpu_cmd.c, resources and their backing (the
 * caller's tables) in devices/gpu_res.c, the EDID generator in
 * devices/gpu_edid.c. Pixels live in storage the host provides. */
#include "gpu_internal.h"

#include "abi_internal.h"
#include "le.h"

_Static_assert(sizeof(struct gpu) <= (size_t)VDM_GPU_SIZE,
               "struct gpu does not fit VDM_GPU_SIZE");
_Static_assert((size_t)alignof(struct gpu) <= (size_t)alignof(struct vdm_gpu),
               "struct vdm_gpu storage is under-aligned");

void gpu_warn(struct gpu *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

static struct gpu *gpu_of(struct vdm_gpu *g)
{
    struct gpu *s;

    if (g == NULL) {
        return NULL;
    }
    s = (struct gpu *)(void *)g->opaque;
    return (s->magic == GPU_MAGIC) ? s : NULL;
}

static const struct gpu *cgpu_of(const struct vdm_gpu *g)
{
    const struct gpu *s;

    if (g == NULL) {
        return NULL;
    }
    s = (const struct gpu *)(const void *)g->opaque;
    return (s->magic == GPU_MAGIC) ? s : NULL;
}

/* "Request header": the response echoes the fence (FLAG_FENCE and
 * fence_id) and ctx_id; with CONTEXT_INIT negotiated also the ring index.
 * Error responses carry no payload. Returns the bytes written. */
static uint32_t respond(struct gpu *s, struct gcmd *k, uint32_t type)
{
    uint8_t hdr[RQ_HDR];
    uint32_t flags = 0u;
    uint32_t plen = (type < VDM_GPU_RESP_ERR_UNSPEC) ? k->plen : 0u;

    __builtin_memset(hdr, 0, sizeof(hdr));
    vdm_put_le32(hdr, type);
    if (k->n >= RQ_HDR) {
        uint32_t rf = vdm_le32(k->in + 4);

        if ((rf & VDM_GPU_FLAG_FENCE) != 0u) {
            flags |= VDM_GPU_FLAG_FENCE;
            __builtin_memcpy(hdr + 8, k->in + 8, 8); /* fence_id */
        }
        __builtin_memcpy(hdr + 16, k->in + 16, 4); /* ctx_id */
        if (((rf & VDM_GPU_FLAG_INFO_RING_IDX) != 0u) &&
            gpu_negotiated(s, VDM_GPU_F_CONTEXT_INIT)) {
            flags |= VDM_GPU_FLAG_INFO_RING_IDX;
            hdr[20] = k->in[20];
        }
    }
    vdm_put_le32(hdr + 4, flags);
    if (k->c->write_len < RQ_HDR) {
        return 0u;
    }
    (void)vdm_chain_copy_to(k->c, 0, hdr, RQ_HDR);
    if ((plen != 0u) && (type != VDM_GPU_RESP_OK_EDID)) {
        (void)vdm_chain_copy_to(k->c, RQ_HDR, k->out, plen);
    }
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
    if (k.c->write_len == 0u) {
        /* The cursorq carries no response buffers (nor needs any). */
        if (r->queue == (uint16_t)VDM_GPU_QUEUE_CONTROL) {
            gpu_warn(s, GW_NORESP,
                     "gpu: controlq request without a "
                     "response buffer");
        }
    } else if (k.c->write_len < gpu_resp_bytes(k.type)) {
        gpu_warn(s, GW_RESP, "gpu: response buffer too small");
        *written = respond(s, &k, VDM_GPU_RESP_ERR_UNSPEC);
        return VDM_KIT_DONE;
    } else {
        /* room for the whole response */
    }
    if (((vdm_le32(k.in + 4) & VDM_GPU_FLAG_INFO_RING_IDX) != 0u) &&
        (k.in[20] > RING_IDX_MAX)) {
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

    return ((s != NULL) && (s->magic == GPU_MAGIC)) ? s : NULL;
}

static void gpu_reset(struct vdm_dev *d)
{
    struct gpu *s = gpu_dev(d);
    uint32_t i;

    if (s == NULL) {
        return;
    }
    vdm_kit_reset(&s->kit, UINT16_MAX);
    for (i = 0; i < s->num_scanouts; i++) {
        gpu_scanout_disable(s, i);
    }
    gpu_res_destroy_all(s);
    __builtin_memset(s->cur, 0, sizeof(s->cur));
    s->events = 0;
    s->warned = 0;
}

static void gpu_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct gpu *s = gpu_dev(d);

    if (s != NULL) {
        vdm_kit_reset(&s->kit, q);
    }
}

static void gpu_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct gpu *s = gpu_dev(d);

    if ((s != NULL) && (q < (uint16_t)VDM_GPU_NUM_QUEUES)) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void gpu_driver_ok(struct vdm_dev *d)
{
    struct gpu *s = gpu_dev(d);
    uint16_t q;

    if (s == NULL) {
        return;
    }
    for (q = 0; q < (uint16_t)VDM_GPU_NUM_QUEUES; q++) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

/* "Device configuration layout": struct virtio_gpu_config. */
static void gpu_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct gpu *s = gpu_dev(d);
    uint8_t cfg[VDM_GPU_CONFIG_BYTES];

    __builtin_memset(cfg, 0, sizeof(cfg));
    if (s != NULL) {
        vdm_put_le32(&cfg[VDM_GPU_CFG_EVENTS_READ], s->events);
        vdm_put_le32(cfg + VDM_GPU_CFG_NUM_SCANOUTS, s->num_scanouts);
        if ((vdm_dev_device_features(d) & VDM_GPU_F_BLOB_ALIGNMENT) != 0u) {
            vdm_put_le32(cfg + VDM_GPU_CFG_BLOB_ALIGNMENT, s->blob_alignment);
        }
    }
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

#define CFG_CLEAR ((uint64_t)VDM_GPU_CFG_EVENTS_CLEAR)

/* Only events_clear is writable: "Writing a '1' into a bit will clear the
 * corresponding bit in events_read". */
static void gpu_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    struct gpu *s = gpu_dev(d);
    uint8_t v[4] = {0, 0, 0, 0};
    uint32_t i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < len; i++) {
        uint64_t at = (uint64_t)off + i;

        if ((at >= CFG_CLEAR) && (at < (CFG_CLEAR + 4u))) {
            v[at - CFG_CLEAR] = ((const uint8_t *)buf)[i];
        } else {
            gpu_warn(s, GW_UNKNOWN, "gpu: write to read-only config ignored");
        }
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
    .state_save = gpu_state_save,
    .state_restore = gpu_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

#define GPU_FLAGS_ALL   (VDM_GPU_EDID | VDM_GPU_BLOB | VDM_GPU_UUID)
#define DEFAULT_MAX_RES (256ULL << 20)

static bool display_ok(const struct vdm_gpu_display *d)
{
    return (d->edid_len <= (uint32_t)VDM_GPU_EDID_MAX_BYTES) &&
           ((d->edid != NULL) || (d->edid_len == 0u));
}

static int gpu_check_config(const struct vdm_gpu_config *cfg)
{
    const struct vdm_gpu_ops *ops = cfg->ops;
    uint32_t i;

    if (!VDM_HAS(cfg, struct vdm_gpu_config, host)) {
        return VDM_ESIZE;
    }
    if (ops == NULL) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(ops, struct vdm_gpu_ops, update)) {
        return VDM_ESIZE;
    }
    if ((ops->resource_create == NULL) || (ops->resource_destroy == NULL) ||
        (ops->scanout == NULL) || (ops->update == NULL)) {
        return VDM_EINVAL;
    }
    if (((cfg->flags & ~GPU_FLAGS_ALL) != 0u) ||
        (((cfg->flags & VDM_GPU_UUID) != 0u) &&
         !VDM_HAS_HOOK(ops, struct vdm_gpu_ops, assign_uuid))) {
        return VDM_EINVAL;
    }
    if ((cfg->num_scanouts == 0u) ||
        (cfg->num_scanouts > (uint32_t)VDM_GPU_MAX_SCANOUTS) ||
        (cfg->displays == NULL) || (cfg->resources == NULL) ||
        (cfg->nresources == 0u) || (cfg->backing == NULL) ||
        (cfg->nbacking == 0u)) {
        return VDM_EINVAL;
    }
    if ((cfg->blob_alignment & (cfg->blob_alignment - 1u)) != 0u) {
        return VDM_EINVAL;
    }
    for (i = 0; i < cfg->num_scanouts; i++) {
        if (!display_ok(&cfg->displays[i])) {
            return VDM_EINVAL;
        }
    }
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

    if ((g == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    rc = gpu_check_config(cfg);
    if (rc < 0) {
        return rc;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = (uint16_t)VDM_GPU_NUM_QUEUES;
    }
    if (dc.num_queues != (uint16_t)VDM_GPU_NUM_QUEUES) {
        return VDM_EINVAL;
    }

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
    s->max_res_bytes = (cfg->max_resource_bytes != 0u) ? cfg->max_resource_bytes
                                                       : DEFAULT_MAX_RES;
    if (s->max_res_bytes > (UINT64_MAX >> 1)) {
        s->max_res_bytes = UINT64_MAX >> 1;
    }
    s->max_total_bytes = cfg->max_total_bytes;
    s->hostmem_bytes = cfg->hostmem_bytes;
    for (i = 0; i < s->num_scanouts; i++) {
        s->disp[i] = cfg->displays[i];
    }
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
    if (rc < 0) {
        return rc;
    }

    if ((cfg->flags & VDM_GPU_EDID) != 0u) {
        f |= VDM_GPU_F_EDID;
    }
    if ((cfg->flags & VDM_GPU_UUID) != 0u) {
        f |= VDM_GPU_F_RESOURCE_UUID;
    }
    if ((cfg->flags & VDM_GPU_BLOB) != 0u) {
        f |= VDM_GPU_F_RESOURCE_BLOB;
        if (cfg->blob_alignment != 0u) {
            f |= VDM_GPU_F_BLOB_ALIGNMENT;
        }
    }
    dc.features = vdm_kit_features(f, base->features, 0);
    dc.cls = &gpu_class;
    dc.priv = s;
    s->magic = GPU_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
    }
    return rc;
}

struct vdm_dev *vdm_gpu_dev(const struct vdm_gpu *g)
{
    const struct gpu *s = cgpu_of(g);

    return (s != NULL) ? s->dev : NULL;
}

int vdm_gpu_set_display(struct vdm_gpu *g, uint32_t scanout,
                        const struct vdm_gpu_display *d)
{
    struct gpu *s = gpu_of(g);

    if ((s == NULL) || (d == NULL) || !display_ok(d)) {
        return VDM_EINVAL;
    }
    if (scanout >= s->num_scanouts) {
        return VDM_ERANGE;
    }
    s->disp[scanout] = *d;
    /* "Events": VIRTIO_GPU_EVENT_DISPLAY, then a config change notice. */
    s->events |= VDM_GPU_EVENT_DISPLAY;
    vdm_dev_config_changed(s->dev);
    return 0;
}

uint32_t vdm_gpu_resources(const struct vdm_gpu *g)
{
    const struct gpu *s = cgpu_of(g);

    return (s != NULL) ? s->nlive : 0u;
}
