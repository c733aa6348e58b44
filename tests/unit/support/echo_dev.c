/* SPDX-License-Identifier: BSD-3-Clause */
/* Echo device type for transport tests: see echo_dev.h. */
#include "echo_dev.h"

#include <string.h>

#include "vdm/virtqueue.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void echo_reset(struct vdm_dev *d)
{
    struct echo_dev *e = vdm_dev_priv(d);
    vdm_kit_reset(&e->kit, UINT16_MAX);
    e->resets++;
    put_le(e->config + 8, 0, 4); /* scratch */
    e->config[14] = 0;           /* mode */
}

static void echo_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct echo_dev *e = vdm_dev_priv(d);
    vdm_kit_reset(&e->kit, q);
    e->queue_resets++;
}

/* Echo the readable bytes back, reversed (a chain of more than 16 spans
 * is returned empty by the kit: VDM_KIT_STATUS_NONE). */
static int echo_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct echo_dev *e = ctx;
    uint8_t buf[4096];
    uint32_t n, i;

    n = r->chain.read_len < sizeof(buf) ? r->chain.read_len
                                        : (uint32_t)sizeof(buf);
    n = (uint32_t)vdm_chain_copy_from(&r->chain, 0, buf, n);
    if (n > r->chain.write_len)
        n = r->chain.write_len;
    for (i = 0; i < n / 2; i++) {
        uint8_t t = buf[i];
        buf[i] = buf[n - 1 - i];
        buf[n - 1 - i] = t;
    }
    *written = (uint32_t)vdm_chain_copy_to(&r->chain, 0, buf, n);
    e->chains++;
    put_le(e->config + 16, get_le(e->config + 16, 8) + *written, 8);
    return VDM_KIT_DONE;
}

static const struct vdm_kit_queue echo_queues[] = {
    {.serve = echo_serve, .status_at = VDM_KIT_STATUS_NONE},
};

static void echo_notify(struct vdm_dev *d, uint16_t q)
{
    struct echo_dev *e = vdm_dev_priv(d);
    struct vdm_vq *vq;

    e->notifies++;
    (void)vdm_kit_run(&e->kit, q);
    vq = vdm_dev_queue(d, q);
    if (vq == NULL && (vdm_dev_status(d) & VDM_STATUS_DEVICE_NEEDS_RESET) != 0)
        e->last_err = VDM_EPROTO;
}

static void echo_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct echo_dev *e = vdm_dev_priv(d);
    memcpy(buf, e->config + off, len);
}

static void echo_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                              uint32_t len)
{
    struct echo_dev *e = vdm_dev_priv(d);
    const uint8_t *b = buf;
    /* Only scratch (8..11) and mode (14) are writable. */
    for (uint32_t i = 0; i < len; i++) {
        uint32_t o = off + i;
        if ((o >= 8 && o < 12) || o == 14)
            e->config[o] = b[i];
    }
}

static const struct vdm_feature_dep echo_deps[] = {
    {ECHO_F_B, ECHO_F_A},
};

const struct vdm_device_class echo_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = ECHO_DEVICE_ID,
    .name = "echo",
    .config_size = ECHO_CONFIG_SIZE,
    .max_queues = ECHO_MAX_QUEUES,
    .deps = echo_deps,
    .ndeps = 1,
    .reset = echo_reset,
    .queue_notify = echo_notify,
    .queue_reset = echo_queue_reset,
    .config_read = echo_config_read,
    .config_write = echo_config_write,
};

int echo_init(struct echo_dev *e, struct vdm_dev *d,
              const struct vdm_dev_config *base, uint64_t ring_features)
{
    struct vdm_dev_config c = *base;
    struct vdm_kit_config k = VDM_INIT(struct vdm_kit_config);
    int rc;

    memset(e, 0, sizeof(*e));
    k.num_queues = base->num_queues != 0 && base->num_queues <= ECHO_MAX_QUEUES
                       ? base->num_queues
                       : ECHO_MAX_QUEUES;
    k.nqdesc = 1;
    k.queues = echo_queues;
    k.ctx = e;
    k.slots = e->req;
    k.iovs = e->iov;
    k.slot_bytes = VDM_KIT_SLOT_BYTES(0);
    k.per_queue = 1;
    k.iov_per_req = 16;
    rc = vdm_kit_init(&e->kit, d, &k);
    if (rc < 0)
        return rc;
    put_le(e->config, 0x1122334455667788ull, 8);
    put_le(e->config + 12, base->num_queues, 2);
    c.cls = &echo_class;
    c.priv = e;
    c.features = ECHO_F_A | ECHO_F_B | ring_features;
    return vdm_dev_init(d, &c);
}

void echo_set_capacity(struct echo_dev *e, struct vdm_dev *d, uint64_t cap)
{
    put_le(e->config, cap, 8);
    vdm_dev_config_changed(d);
}
