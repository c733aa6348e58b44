/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-mmio driver, register level: see drv_mmio.h. Written from the
 * spec's "Virtio Over MMIO" driver rules (32-bit aligned accesses, selector
 * registers before the windows they select, QueueReady read back). */
#include "drv_mmio.h"

#include <stddef.h>

#define TP2M(t) ((struct drv_mmio *)(void *)(t))

static void h_irq(void *host, int level)
{
    struct drv_mmio *m = host;
    m->line = level;
    if (level)
        m->raises++;
    else
        m->lowers++;
}

static void h_log(void *host, int level, const char *msg)
{
    drv_tp_log(&((struct drv_mmio *)host)->tp, level, msg);
}

uint32_t drv_mmio_rd(struct drv_mmio *m, uint32_t off)
{
    uint64_t v = 0;
    drv_tp_count(&m->tp, vdm_mmio_read(&m->t, off, 4, &v));
    return (uint32_t)v;
}

void drv_mmio_wr(struct drv_mmio *m, uint32_t off, uint32_t val)
{
    drv_tp_count(&m->tp, vdm_mmio_write(&m->t, off, 4, val));
}

int drv_mmio_probe(struct drv_mmio *m)
{
    if (drv_mmio_rd(m, VDM_MMIO_MAGIC_VALUE) != 0x74726976u)
        return -1;
    if (drv_mmio_rd(m, VDM_MMIO_VERSION_REG) != 2)
        return -2;
    return (int)drv_mmio_rd(m, VDM_MMIO_DEVICE_ID);
}

static uint8_t m_get_status(struct drv_tp *t)
{
    return (uint8_t)drv_mmio_rd(TP2M(t), VDM_MMIO_STATUS);
}

static void m_set_status(struct drv_tp *t, uint8_t s)
{
    drv_mmio_wr(TP2M(t), VDM_MMIO_STATUS, s);
}

static uint64_t m_device_features(struct drv_tp *t)
{
    struct drv_mmio *m = TP2M(t);
    uint64_t f;
    drv_mmio_wr(m, VDM_MMIO_DEVICE_FEATURES_SEL, 0);
    f = drv_mmio_rd(m, VDM_MMIO_DEVICE_FEATURES);
    drv_mmio_wr(m, VDM_MMIO_DEVICE_FEATURES_SEL, 1);
    f |= (uint64_t)drv_mmio_rd(m, VDM_MMIO_DEVICE_FEATURES) << 32;
    return f;
}

static void m_driver_features(struct drv_tp *t, uint64_t f)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_DRIVER_FEATURES_SEL, 0);
    drv_mmio_wr(m, VDM_MMIO_DRIVER_FEATURES, (uint32_t)f);
    drv_mmio_wr(m, VDM_MMIO_DRIVER_FEATURES_SEL, 1);
    drv_mmio_wr(m, VDM_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static uint16_t m_queue_max(struct drv_tp *t, uint16_t q)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SEL, q);
    return (uint16_t)drv_mmio_rd(m, VDM_MMIO_QUEUE_SIZE_MAX);
}

static int m_queue_enabled(struct drv_tp *t, uint16_t q)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SEL, q);
    return drv_mmio_rd(m, VDM_MMIO_QUEUE_READY) != 0;
}

static void m_queue_config(struct drv_tp *t, uint16_t q, uint16_t num,
                           uint64_t desc, uint64_t driver, uint64_t device)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SEL, q);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SIZE, num);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DRIVER_LOW, (uint32_t)driver);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DEVICE_LOW, (uint32_t)device);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
}

static void m_queue_enable(struct drv_tp *t, uint16_t q)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SEL, q);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_READY, 1);
}

static int m_queue_reset(struct drv_tp *t, uint16_t q)
{
    struct drv_mmio *m = TP2M(t);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_SEL, q);
    drv_mmio_wr(m, VDM_MMIO_QUEUE_RESET, 1);
    /* Complete when QueueReset and QueueReady both read 0. */
    if (drv_mmio_rd(m, VDM_MMIO_QUEUE_RESET) != 0)
        return -1;
    return drv_mmio_rd(m, VDM_MMIO_QUEUE_READY) != 0 ? -1 : 0;
}

static void m_notify(struct drv_tp *t, uint16_t q, uint32_t value)
{
    (void)q;
    drv_mmio_wr(TP2M(t), VDM_MMIO_QUEUE_NOTIFY, value);
}

static uint32_t m_config_generation(struct drv_tp *t)
{
    return drv_mmio_rd(TP2M(t), VDM_MMIO_CONFIG_GENERATION);
}

static uint32_t m_config_read(struct drv_tp *t, uint32_t off, unsigned width)
{
    struct drv_mmio *m = TP2M(t);
    uint64_t v = 0;
    drv_tp_count(t, vdm_mmio_read(&m->t, VDM_MMIO_CONFIG + off, width, &v));
    return (uint32_t)v;
}

static void m_config_write(struct drv_tp *t, uint32_t off, unsigned width,
                           uint32_t val)
{
    struct drv_mmio *m = TP2M(t);
    drv_tp_count(t, vdm_mmio_write(&m->t, VDM_MMIO_CONFIG + off, width, val));
}

/* "Notifications From The Device": read InterruptStatus, acknowledge the
 * bits handled. */
static unsigned m_interrupt(struct drv_tp *t)
{
    struct drv_mmio *m = TP2M(t);
    uint32_t st;
    if (!m->line)
        return 0;
    st = drv_mmio_rd(m, VDM_MMIO_INTERRUPT_STATUS);
    drv_mmio_wr(m, VDM_MMIO_INTERRUPT_ACK, st);
    return st & (DRV_TP_INT_VRING | DRV_TP_INT_CONFIG);
}

static const struct drv_tp_ops mmio_ops = {
    .get_status = m_get_status,
    .set_status = m_set_status,
    .device_features = m_device_features,
    .driver_features = m_driver_features,
    .post_features = NULL,
    .queue_max = m_queue_max,
    .queue_enabled = m_queue_enabled,
    .queue_config = m_queue_config,
    .queue_enable = m_queue_enable,
    .queue_reset = m_queue_reset,
    .notify = m_notify,
    .config_generation = m_config_generation,
    .config_read = m_config_read,
    .config_write = m_config_write,
    .interrupt = m_interrupt,
};

int drv_mmio_init(struct drv_mmio *m, struct vdm_dev *d,
                  const struct vdm_mmio_config *cfg)
{
    struct vdm_mmio_config c = VDM_INIT(struct vdm_mmio_config);

    if (cfg != NULL)
        c = *cfg;
    *m = (struct drv_mmio){0};
    m->tp.ops = &mmio_ops;
    m->tp.name = "mmio";
    m->hops = VDM_INIT(struct vdm_mmio_ops);
    m->hops.irq = h_irq;
    m->hops.log = h_log;
    c.ops = &m->hops;
    c.host = m;
    return vdm_mmio_init(&m->t, d, &c);
}
