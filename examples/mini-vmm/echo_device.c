/* SPDX-License-Identifier: BSD-3-Clause */
/* The example echo device type: see echo_device.h. */
#include "echo_device.h"

#include <string.h>

#define ECHO_MAX_SPANS 8
#define ECHO_MAX_BYTES 4096

/* One request: echo the readable bytes back, reversed, into the writable
 * part. The kit has popped and mapped the chain; it pushes it with
 * *written bytes when this returns. */
static int echo_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct echo_device *e = ctx;
    uint8_t buf[ECHO_MAX_BYTES];
    size_t n = vdm_chain_copy_from(&r->chain, 0, buf, sizeof(buf)), i;

    if (n > r->chain.write_len)
        n = r->chain.write_len;
    for (i = 0; i < n / 2; i++) {
        uint8_t t = buf[i];
        buf[i] = buf[n - 1 - i];
        buf[n - 1 - i] = t;
    }
    *written = (uint32_t)vdm_chain_copy_to(&r->chain, 0, buf, n);
    e->echoed++;
    return VDM_KIT_DONE;
}

/* A chain of more than ECHO_MAX_SPANS spans is returned empty. */
static const struct vdm_kit_queue echo_queues[] = {
    {.serve = echo_serve, .status_at = VDM_KIT_STATUS_NONE},
};

/* The driver made buffers available: the kit serves every chain, then
 * tells the driver (one notification decision for the batch). */
static void echo_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct echo_device *e = vdm_dev_priv(d);

    (void)vdm_kit_run(&e->kit, q);
}

static void echo_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct echo_device *e = vdm_dev_priv(d);
    uint8_t le[4];
    /* Config space is little-endian on every host. */
    le[0] = (uint8_t)e->echoed;
    le[1] = (uint8_t)(e->echoed >> 8);
    le[2] = (uint8_t)(e->echoed >> 16);
    le[3] = (uint8_t)(e->echoed >> 24);
    memcpy(buf, le + off, len); /* the core checked off + len <= 4 */
}

static void echo_reset(struct vdm_dev *d)
{
    struct echo_device *e = vdm_dev_priv(d);
    vdm_kit_reset(&e->kit, UINT16_MAX);
    e->echoed = 0;
}

static void echo_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct echo_device *e = vdm_dev_priv(d);
    vdm_kit_reset(&e->kit, q);
}

static const struct vdm_device_class echo_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = ECHO_ID,
    .name = "echo",
    .config_size = 4,
    .max_queues = 1,
    .reset = echo_reset,
    .queue_notify = echo_queue_notify,
    .queue_reset = echo_queue_reset,
    .config_read = echo_config_read,
};

int echo_device_init(struct echo_device *e, const struct vdm_mem *mem,
                     const struct vdm_host_ops *ops, void *host)
{
    struct vdm_dev_config c = VDM_INIT(struct vdm_dev_config);
    struct vdm_kit_config k = VDM_INIT(struct vdm_kit_config);
    int rc;

    memset(e, 0, sizeof(*e));
    k.num_queues = 1;
    k.nqdesc = 1;
    k.queues = echo_queues;
    k.ctx = e;
    k.slots = e->req;
    k.iovs = e->iov;
    k.slot_bytes = VDM_KIT_SLOT_BYTES(0);
    k.per_queue = 1;
    k.iov_per_req = ECHO_MAX_SPANS;
    rc = vdm_kit_init(&e->kit, &e->dev, &k);
    if (rc < 0)
        return rc;
    c.num_queues = 1;
    c.queue_size_max = ECHO_QUEUE_SIZE;
    c.features = vdm_kit_features(0, 0, 0); /* the kit's policy */
    c.cls = &echo_class;
    c.priv = e;
    c.mem = mem;
    c.ops = ops;
    c.host = host;
    c.queues = &e->queue;
    c.slots = e->slots;
    return vdm_dev_init(&e->dev, &c);
}
