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
#include "vdm/device.h"
#include "vdm/mem.h"
#include "vdm/virtqueue.h"

struct rng_state {
    struct vdm_dev *dev;
    const struct vdm_rng_ops *ops;
    void *host;
    uint32_t warned; /* RNG_WARN_* already logged since the last reset */
    uint32_t reserved;
    struct vdm_iov iov[VDM_RNG_IOV_MAX];
};

_Static_assert(sizeof(struct rng_state) <= VDM_RNG_SIZE,
               "VDM_RNG_SIZE too small for struct rng_state");
_Static_assert(alignof(struct rng_state) <= 8,
               "struct rng_state needs more alignment than vdm_rng has");

/* Feature bits 24 to 40: queue and negotiation extensions, not device-type
 * bits (spec "Feature Bits"). */
#define RNG_GENERIC_BITS (((1ull << 41) - 1) & ~((1ull << 24) - 1))

static struct rng_state *rng_state(struct vdm_rng *r)
{
    return (struct rng_state *)(void *)r->opaque;
}

#define RNG_WARN_NOWRITE   1u  /* chain without a writable byte */
#define RNG_WARN_SPANS     2u  /* chain with more than VDM_RNG_IOV_MAX spans */
#define RNG_WARN_READ      4u  /* readable part in a request */
#define RNG_WARN_HOST      8u  /* fill hook failed */
#define RNG_WARN_OVERCLAIM 16u /* fill hook claimed more than asked */

/* Log a driver error once per device reset (a hostile guest must not be
 * able to flood the host log). */
static void rng_warn_once(struct rng_state *s, uint32_t bit, const char *msg)
{
    if (s->warned & bit)
        return;
    s->warned |= bit;
    vdm_dev_log(s->dev, VDM_LOG_WARN, msg);
}

/*
 * Fill the writable spans among the first @p nspans of s->iov from the host.
 * Readable spans (a driver error per "Device Operation") are skipped. Stops
 * at the first short fill. Returns bytes written (>= 0), or the host's
 * negative code if it failed before producing a single byte.
 */
static int64_t rng_fill_spans(struct rng_state *s, uint32_t nspans)
{
    uint64_t total = 0;

    for (uint32_t i = 0; i < nspans; i++) {
        const struct vdm_iov *v = &s->iov[i];
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
            if (!(s->warned & RNG_WARN_OVERCLAIM)) {
                s->warned |= RNG_WARN_OVERCLAIM;
                vdm_dev_log(s->dev, VDM_LOG_ERROR,
                            "rng: fill hook returned more bytes than asked");
            }
            got = (int)ask;
        }
        total += (uint32_t)got;
        if ((uint32_t)got < ask)
            break; /* source drained for now */
    }
    return (int64_t)total;
}

/*
 * Serve the requestq until it is empty or the source runs dry.
 * Returns chains completed, or a negative host error.
 */
static int rng_process(struct rng_state *s)
{
    struct vdm_vq *vq = vdm_dev_queue(s->dev, VDM_RNG_QUEUE_REQUEST);
    const struct vdm_mem *mem = vdm_dev_mem(s->dev);
    int done = 0;
    int ret = 0;

    if (!vq)
        return 0;
    for (;;) {
        struct vdm_chain c = {.iov = s->iov, .iov_cap = VDM_RNG_IOV_MAX};
        int r = vdm_vq_pop(vq, &c);
        if (r == 0)
            break;
        if (r < 0 && r != VDM_ENOSPC)
            break; /* queue broken: the device core has been told */

        uint32_t nspans = c.nread + c.nwrite;
        if (nspans > VDM_RNG_IOV_MAX)
            nspans = VDM_RNG_IOV_MAX;

        /* More spans than VDM_RNG_IOV_MAX: the spans we got are the start
         * of the chain, and filling the start of its writable part is a
         * correct (shorter) answer. */
        if (r == VDM_ENOSPC)
            rng_warn_once(s, RNG_WARN_SPANS,
                          "rng: request chain has too many spans, using the "
                          "first ones");
        if (c.write_len == 0) {
            /* Nothing to fill: return it, empty. */
            vdm_mem_release(mem, s->iov, nspans);
            rng_warn_once(s, RNG_WARN_NOWRITE,
                          "rng: request chain has no writable buffer");
            if (vdm_vq_push(vq, c.id, 0) < 0)
                break;
            done++;
            continue;
        }
        if (c.read_len)
            rng_warn_once(s, RNG_WARN_READ,
                          "rng: readable buffer in requestq ignored");

        int64_t got = rng_fill_spans(s, nspans);
        vdm_mem_release(mem, s->iov, nspans);
        if (got <= 0) {
            /* No entropy now: keep the chain for vdm_rng_kick(). */
            if (got < 0 && got != VDM_EAGAIN) {
                rng_warn_once(s, RNG_WARN_HOST,
                              "rng: fill hook failed, request kept");
                ret = (int)got;
            }
            if (vdm_vq_unpop(vq, &c) < 0) {
                /* Cannot happen (the chain was just popped); never leak
                 * it: return it empty. */
                vdm_dev_log(s->dev, VDM_LOG_ERROR,
                            "rng: could not keep request, returned empty");
                if (vdm_vq_push(vq, c.id, 0) == 0)
                    done++;
            }
            break;
        }
        if (vdm_vq_push(vq, c.id, (uint32_t)got) < 0)
            break;
        done++;
    }
    if (done)
        (void)vdm_dev_notify_used(s->dev, VDM_RNG_QUEUE_REQUEST);
    return ret < 0 ? ret : done;
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

    s->warned = 0;
}

static void rng_driver_ok(struct vdm_dev *d)
{
    /* Buffers posted before DRIVER_OK are served now. */
    (void)rng_process(vdm_dev_priv(d));
}

static const struct vdm_device_class rng_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_RNG_DEVICE_ID,
    .name = "rng",
    .config_size =
        0, /* "Device configuration layout: None currently defined" */
    .max_queues = VDM_RNG_NUM_QUEUES,
    .reset = rng_reset,
    .driver_ok = rng_driver_ok,
    .queue_notify = rng_queue_notify,
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

    dc.cls = &rng_class;
    dc.priv = s;
    /* "Feature bits: None currently defined": the ring features, plus the
     * generic bits ("Reserved Feature Bits", 24 to 40) the host offers. */
    dc.features = VDM_F_RING_ALL | (base->features & RNG_GENERIC_BITS);
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
