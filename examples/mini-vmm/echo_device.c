/* SPDX-License-Identifier: BSD-3-Clause */
/* The example echo device type: see echo_device.h. */
#include "echo_device.h"

#include <string.h>

#include "vdm/virtqueue.h"

#define ECHO_MAX_SPANS 8
#define ECHO_MAX_BYTES 4096

/* The driver made buffers available: serve every chain, then tell the
 * driver (vdm_dev_notify_used asks the ring whether it wants to hear). */
static void echo_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct echo_device *e = vdm_dev_priv(d);
    struct vdm_vq *vq = vdm_dev_queue(d, q);
    struct vdm_iov iov[ECHO_MAX_SPANS];
    uint8_t buf[ECHO_MAX_BYTES];
    struct vdm_chain c;
    int rc;

    if (vq == NULL)
        return; /* not live, or the queue broke: nothing to do */
    for (;;) {
        size_t n, i;
        memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = ECHO_MAX_SPANS;
        rc = vdm_vq_pop(vq, &c);
        if (rc == 0)
            break; /* ring empty */
        if (rc < 0 && rc != VDM_ENOSPC)
            return; /* the guest broke the ring: the core set NEEDS_RESET */
        n = rc == VDM_ENOSPC ? 0 : vdm_chain_copy_from(&c, 0, buf, sizeof(buf));
        if (n > c.write_len)
            n = c.write_len;
        for (i = 0; i < n / 2; i++) {
            uint8_t t = buf[i];
            buf[i] = buf[n - 1 - i];
            buf[n - 1 - i] = t;
        }
        n = vdm_chain_copy_to(&c, 0, buf, n);
        if (vdm_vq_push(vq, c.id, (uint32_t)n) < 0)
            return;
        e->echoed++;
    }
    (void)vdm_dev_notify_used(d, q);
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
    e->echoed = 0;
}

static const struct vdm_device_class echo_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = ECHO_ID,
    .name = "echo",
    .config_size = 4,
    .max_queues = 1,
    .reset = echo_reset,
    .queue_notify = echo_queue_notify,
    .config_read = echo_config_read,
};

int echo_device_init(struct echo_device *e, const struct vdm_mem *mem,
                     const struct vdm_host_ops *ops, void *host)
{
    struct vdm_dev_config c = VDM_INIT(struct vdm_dev_config);

    memset(e, 0, sizeof(*e));
    c.num_queues = 1;
    c.queue_size_max = ECHO_QUEUE_SIZE;
    c.features = VDM_F_RING_ALL; /* every ring feature vdm implements */
    c.cls = &echo_class;
    c.priv = e;
    c.mem = mem;
    c.ops = ops;
    c.host = host;
    c.queues = &e->queue;
    c.slots = e->slots;
    return vdm_dev_init(&e->dev, &c);
}
