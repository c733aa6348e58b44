/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entropy device: spec section "Entropy Device" (device-types/entropy).
 *
 * "When the driver requires random bytes, it places the descriptor of one
 * or more buffers in the queue. It will be completely filled by random data
 * by the device." The device normative part only requires one or more
 * random bytes per buffer and allows using less than the whole length; the
 * used length tells the driver how many bytes it got.
 */
#include "vdm/devices/rng.h"

#include "abi_internal.h"
#include "vdm/kit.h"

/* One request slot: a request is served as soon as it is popped. */
#define RNG_SLOT_BYTES VDM_KIT_SLOT_BYTES(0)

struct rng_state {
    struct vdm_kit kit;
    struct vdm_dev *dev;
    const struct vdm_rng_ops *ops;
    void *host;
    int last_err;    /* host error seen by the last pass, or 0 */
    uint32_t warned; /* RNG_WARN_* already logged since the last reset */
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(1, 1, RNG_SLOT_BYTES)];
    struct vdm_iov iov[VDM_RNG_IOV_MAX];
};

_Static_assert(sizeof(struct rng_state) <= VDM_RNG_SIZE,
               "VDM_RNG_SIZE too small for struct rng_state");
_Static_assert(alignof(struct rng_state) <= 8,
               "struct rng_state needs more alignment than vdm_rng has");

static struct rng_state *rng_state(struct vdm_rng *r)
{
    return (struct rng_state *)(void *)r->opaque;
}

#define RNG_WARN_NOWRITE   1u  /* chain without a writable byte */
#define RNG_WARN_READ      4u  /* readable part in a request */
#define RNG_WARN_HOST      8u  /* fill hook failed */
#define RNG_WARN_OVERCLAIM 16u /* fill hook claimed more than asked */

/*
 * Fill the writable spans of the chain from the host. Readable spans (a
 * driver error per "Device Operation") are skipped. Stops at the first
 * short fill. Returns bytes written (>= 0), or the host's negative code if
 * it failed before producing a single byte.
 */
static int64_t rng_fill_spans(struct rng_state *s, const struct vdm_chain *c)
{
    uint32_t nspans = c->nread + c->nwrite;
    uint64_t total = 0;

    for (uint32_t i = 0; i < nspans && i < c->iov_cap; i++) {
        const struct vdm_iov *v = &c->iov[i];
        if (!(v->flags & VDM_IOV_F_WRITE) || v->len == 0)
            continue;
        /* The hook reports its count as an int. */
        uint32_t ask =
            v->len > (uint32_t)INT32_MAX ? (uint32_t)INT32_MAX : v->len;
        int got = s->ops->fill(s->host, v->base, ask);
        if (got < 0)
            return total ? (int64_t)total : (int64_t)got;
        if ((uint32_t)got > ask) {
            /* Host bug: claims more than asked. Never report more than
             * the span holds. */
            vdm_kit_warn_once(s->dev, &s->warned, RNG_WARN_OVERCLAIM,
                              VDM_LOG_ERROR,
                              "rng: fill hook returned more bytes than asked");
            got = (int)ask;
        }
        total += (uint32_t)got;
        if ((uint32_t)got < ask)
            break; /* source drained for now */
    }
    return (int64_t)total;
}

/* "Device Operation": fill the request's writable part with random bytes.
 * A chain longer than VDM_RNG_IOV_MAX spans is served from its first spans
 * (a shorter answer is a correct one: VDM_KIT_STATUS_PREFIX). */
static int rng_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct rng_state *s = ctx;
    int64_t got;

    if (r->chain.write_len == 0) {
        vdm_kit_warn_once(s->dev, &s->warned, RNG_WARN_NOWRITE, VDM_LOG_WARN,
                          "rng: request chain has no writable buffer");
        *written = 0;
        return VDM_KIT_DONE;
    }
    if (r->chain.read_len != 0)
        vdm_kit_warn_once(s->dev, &s->warned, RNG_WARN_READ, VDM_LOG_WARN,
                          "rng: readable buffer in requestq ignored");
    got = rng_fill_spans(s, &r->chain);
    if (got <= 0) {
        /* No entropy now: keep the chain for vdm_rng_kick(). */
        if (got < 0 && got != VDM_EAGAIN) {
            vdm_kit_warn_once(s->dev, &s->warned, RNG_WARN_HOST, VDM_LOG_WARN,
                              "rng: fill hook failed, request kept");
            s->last_err = (int)got;
        }
        return VDM_EAGAIN;
    }
    *written = (uint32_t)got;
    return VDM_KIT_DONE;
}

static const struct vdm_kit_queue rng_queues[] = {
    {.serve = rng_serve, .status_at = VDM_KIT_STATUS_PREFIX},
};

/* Serve the requestq until it is empty or the source runs dry.
 * Returns chains completed, or a negative host error. */
static int rng_process(struct rng_state *s)
{
    int n;

    s->last_err = 0;
    n = vdm_kit_run(&s->kit, VDM_RNG_QUEUE_REQUEST);
    return s->last_err < 0 ? s->last_err : n;
}

/* --- device class hooks ------------------------------------------------ */

static void rng_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct rng_state *s = vdm_dev_priv(d);

    if (q == VDM_RNG_QUEUE_REQUEST)
        (void)rng_process(s);
}

static void rng_reset(struct vdm_dev *d)
{
    struct rng_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, UINT16_MAX);
    s->warned = 0;
}

static void rng_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct rng_state *s = vdm_dev_priv(d);

    vdm_kit_reset(&s->kit, q);
}

static void rng_driver_ok(struct vdm_dev *d)
{
    /* Buffers posted before DRIVER_OK are served now. */
    (void)rng_process(vdm_dev_priv(d));
}

static const struct vdm_device_class rng_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_RNG,
    .name = "rng",
    .config_size =
        0, /* "Device configuration layout: None currently defined" */
    .max_queues = VDM_RNG_NUM_QUEUES,
    .reset = rng_reset,
    .driver_ok = rng_driver_ok,
    .queue_notify = rng_queue_notify,
    .queue_reset = rng_queue_reset,
};

/* --- public API --------------------------------------------------------- */

int vdm_rng_init(struct vdm_rng *r, struct vdm_dev *dev,
                 const struct vdm_rng_config *cfg,
                 const struct vdm_dev_config *base)
{
    if (!r || !dev || !cfg || !base)
        return VDM_EINVAL;
    if (!VDM_HAS(cfg, struct vdm_rng_config, host))
        return VDM_ESIZE;
    if (!cfg->ops)
        return VDM_EINVAL;
    if (!VDM_HAS(cfg->ops, struct vdm_rng_ops, fill))
        return VDM_ESIZE;
    if (!cfg->ops->fill)
        return VDM_EINVAL;

    struct vdm_dev_config dc;
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0)
        return VDM_ESIZE;
    if (dc.num_queues == 0)
        dc.num_queues = VDM_RNG_NUM_QUEUES;
    if (dc.num_queues != VDM_RNG_NUM_QUEUES)
        return VDM_EINVAL;

    struct rng_state *s = rng_state(r);
    __builtin_memset(r, 0, sizeof(*r));
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    {
        struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
        int rc;

        kc.num_queues = VDM_RNG_NUM_QUEUES;
        kc.nqdesc = 1;
        kc.queues = rng_queues;
        kc.ctx = s;
        kc.slots = s->slots;
        kc.iovs = s->iov;
        kc.slot_bytes = RNG_SLOT_BYTES;
        kc.per_queue = 1;
        kc.iov_per_req = VDM_RNG_IOV_MAX;
        rc = vdm_kit_init(&s->kit, dev, &kc);
        if (rc < 0)
            return rc;
    }

    dc.cls = &rng_class;
    dc.priv = s;
    /* "Feature bits: None currently defined": the kit's policy. */
    dc.features = vdm_kit_features(0, base->features, 0);
    return vdm_dev_init(dev, &dc);
}

int vdm_rng_kick(struct vdm_rng *r)
{
    if (!r)
        return VDM_EINVAL;
    struct rng_state *s = rng_state(r);
    if (!s->dev || !vdm_dev_live(s->dev))
        return 0;
    return rng_process(s);
}

struct vdm_dev *vdm_rng_dev(const struct vdm_rng *r)
{
    return r ? ((const struct rng_state *)(const void *)r->opaque)->dev : NULL;
}
