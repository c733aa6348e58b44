/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic device test bench: see devharness.h. */
#include "devharness.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h" /* the device's bound sink (MMIO attribution) */
#include "vdm/mmio.h"
#include "vdm/pci.h"

/* Where the PCI probe places the BARs: far above any bench's RAM. */
#define DH_PCI_BAR_BASE 0x4000000000ull

#define DH_ST_ACK         1u
#define DH_ST_DRIVER      2u
#define DH_ST_DRIVER_OK   4u
#define DH_ST_FEATURES_OK 8u

/* Direct mode, or a device no transport is bound to. */
static void h_notify_queue(void *host, uint16_t q)
{
    struct dh *h = host;
    if (q < DH_MAX_QUEUES)
        h->irq_queue[q]++;
    if (h->tp != NULL)
        h->irq_unbound++;
}

static void h_notify_config(void *host)
{
    struct dh *h = host;
    h->irq_config++;
    if (h->tp != NULL)
        h->irq_unbound++;
}

static void h_log(void *host, int level, const char *msg)
{
    struct dh *h = host;
    h->nlog++;
    /* VDM_CONFIG_LOG_TEXT=0: an event code above the level, no text */
    if (VDM_LOG_LEVEL(level) == VDM_LOG_WARN)
        h->nwarn++;
    if (VDM_LOG_LEVEL(level) == VDM_LOG_ERROR)
        h->nerror++;
    h->last_log = msg;
}

/* ------------------------------------------------------------------------ */
/* Transport mode: interrupts */

static struct dh *dh_of_mmio(void *m)
{
    return (struct dh *)(void *)((char *)m - offsetof(struct dh, mmio));
}

static struct dh *dh_of_pci(void *p)
{
    return (struct dh *)(void *)((char *)p - offsetof(struct dh, pci));
}

/* MMIO: the interrupt line names no event, so the bench sits between the
 * device core and the transport's sink (vdm_dev_bind) and notes which event
 * the device is signalling; the count is taken when the transport raises
 * the line. */
#define DH_EV_NONE   (-1)
#define DH_EV_CONFIG (-2)

static void sink_queue(void *ctx, uint16_t q)
{
    struct dh *h = ctx;
    int saved = h->mmio_ev;
    h->mmio_ev = q;
    h->mmio_sink->notify_queue(h->mmio_sink_ctx, q);
    h->mmio_ev = saved;
}

static void sink_config(void *ctx)
{
    struct dh *h = ctx;
    int saved = h->mmio_ev;
    h->mmio_ev = DH_EV_CONFIG;
    h->mmio_sink->notify_config(h->mmio_sink_ctx);
    h->mmio_ev = saved;
}

static const struct vdm_transport_ops dh_sink = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = sink_queue,
    .notify_config = sink_config,
};

/* Chained after drv_mmio's hook: each raise of the line is one event
 * (vdm_mmio_ops::irq is called again for every new one). */
static void tp_mmio_irq(void *host, int level)
{
    struct dh *h = dh_of_mmio(host);

    h->mmio_irq(host, level);
    if (!level)
        return;
    if (h->mmio_ev == DH_EV_CONFIG)
        h->irq_config++;
    else if (h->mmio_ev >= 0 && h->mmio_ev < DH_MAX_QUEUES)
        h->irq_queue[h->mmio_ev]++;
    else
        h->irq_stray++; /* raised outside any device event */
}

/* Chained after drv_pci's hook: the vector names the event. */
static void tp_pci_msi(void *host, uint16_t vector, uint64_t addr,
                       uint32_t data)
{
    struct dh *h = dh_of_pci(host);

    h->pci_msi(host, vector, addr, data);
    if (vector == h->pci.config_vector) {
        h->irq_config++;
        return;
    }
    for (uint16_t q = 0; q < h->num_queues; q++) {
        if (drv_pci_queue_vector(&h->pci, q) == vector) {
            h->irq_queue[q]++;
            return;
        }
    }
    h->irq_stray++; /* a vector no event is mapped to */
}

static const struct vdm_dev_state *dstate(const struct dh *h)
{
    return (const struct vdm_dev_state *)(const void *)h->dev.opaque;
}

static void tp_close(struct dh *h)
{
    if (h->tp == &h->pci.tp)
        drv_pci_fini(&h->pci);
    h->tp = NULL;
    h->tp_bound = NULL;
}

/* Create the transport and probe it as firmware and a driver would: at the
 * first routed call (after the device type's init), and again when the
 * device was initialised anew (vdm_dev_init() forgets the bound sink). */
static int tp_open(struct dh *h)
{
    int rc;

    if (h->transport == DH_TP_DIRECT)
        return 0;
    if (h->tp != NULL) {
        if (dstate(h)->tops == h->tp_bound)
            return 0;
        tp_close(h);
    }
    if (h->transport == DH_TP_MMIO) {
        rc = drv_mmio_init(&h->mmio, &h->dev, NULL);
        if (rc != 0)
            return rc;
        h->mmio_irq = h->mmio.hops.irq;
        h->mmio.hops.irq = tp_mmio_irq;
        h->mmio_ev = DH_EV_NONE;
        h->mmio_sink = dstate(h)->tops;
        h->mmio_sink_ctx = dstate(h)->tctx;
        if (h->mmio_sink == NULL || h->mmio_sink->notify_queue == NULL ||
            h->mmio_sink->notify_config == NULL)
            return -1;
        vdm_dev_bind(&h->dev, &dh_sink, h);
        if (drv_mmio_probe(&h->mmio) < 0)
            return -1;
        h->tp = &h->mmio.tp;
    } else {
        struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
        /* vector 0: config changes; 1 + q: queue q (drv_pci_queue_vector) */
        c.msix_vectors = (uint16_t)(h->num_queues + 1u);
        rc = drv_pci_init(&h->pci, &h->dev, &c);
        if (rc != 0)
            return rc;
        h->pci_msi = h->pci.hops.msi;
        h->pci.hops.msi = tp_pci_msi;
        rc = drv_pci_probe(&h->pci, DH_PCI_BAR_BASE, 1);
        if (rc == 0 && !h->pci.msix_on)
            rc = -1;
        if (rc != 0) {
            drv_pci_fini(&h->pci);
            return rc;
        }
        h->tp = &h->pci.tp;
    }
    h->tp_bound = dstate(h)->tops;
    return 0;
}

/* The code of a register access refused since @p before, else 0. */
static int tp_rc(const struct dh *h, unsigned before)
{
    if (h->tp->refused == before)
        return 0;
    return h->tp->last_rc != 0 ? h->tp->last_rc : -1;
}

unsigned dh_service(struct dh *h)
{
    if (h->tp == NULL)
        return 0;
    return drv_tp_interrupt(h->tp);
}

const char *dh_transport_name(const struct dh *h)
{
    switch (h->transport) {
    case DH_TP_MMIO: return "mmio";
    case DH_TP_PCI: return "pci";
    default: return "direct";
    }
}

static int transport_from_env(void)
{
    const char *e = getenv("DH_TRANSPORT");
    if (e == NULL || *e == 0 || strcmp(e, "direct") == 0)
        return DH_TP_DIRECT;
    if (strcmp(e, "mmio") == 0)
        return DH_TP_MMIO;
    if (strcmp(e, "pci") == 0)
        return DH_TP_PCI;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Bench */

int dh_init(struct dh *h, const struct dh_opts *opts)
{
    struct dh_opts o = {0};
    uint64_t gpas[DRV_MAX_REGIONS], sizes[DRV_MAX_REGIONS], per;
    unsigned i;

    memset(h, 0, sizeof(*h));
    if (opts != NULL)
        o = *opts;
    if (o.num_queues == 0)
        o.num_queues = 1;
    if (o.qsize == 0)
        o.qsize = 64;
    if (o.guest_gpa == 0)
        o.guest_gpa = 0x100000;
    if (o.guest_size == 0)
        o.guest_size = 4ull << 20;
    if (o.nregions == 0)
        o.nregions = 1;
    if (o.num_queues > DH_MAX_QUEUES || o.nregions > DRV_MAX_REGIONS)
        return -1;
    h->transport =
        o.transport == DH_TP_ENV ? transport_from_env() : o.transport;
    if (h->transport < DH_TP_DIRECT || h->transport > DH_TP_PCI)
        return -1;
    per = (o.guest_size / o.nregions) & ~(uint64_t)4095;
    for (i = 0; i < o.nregions; i++) {
        gpas[i] = o.guest_gpa + i * per;
        sizes[i] = per;
    }
    if (drv_guest_init(&h->g, gpas, sizes, o.nregions) != 0)
        return -1;
    for (i = 0; i < o.nregions; i++) {
        h->regions[i].gpa = h->g.regions[i].gpa;
        h->regions[i].size = h->g.regions[i].size;
        h->regions[i].hva = h->g.regions[i].hva;
    }
    h->mem = VDM_INIT(struct vdm_mem);
    h->mem.nregions = o.nregions;
    h->mem.regions = h->regions;

    h->hops = VDM_INIT(struct vdm_host_ops);
    h->hops.notify_queue = h_notify_queue;
    h->hops.notify_config = h_notify_config;
    h->hops.log = h_log;

    h->num_queues = o.num_queues;
    h->qsize = o.qsize;
    h->queues = calloc(o.num_queues, sizeof(*h->queues));
    h->slots = calloc(VDM_DEV_SLOTS(o.num_queues, o.qsize), sizeof(uint32_t));
    if (h->queues == NULL || h->slots == NULL) {
        dh_fini(h);
        return -1;
    }
    h->base = VDM_INIT(struct vdm_dev_config);
    h->base.num_queues = o.num_queues;
    h->base.queue_size_max = o.qsize;
    h->base.mem = &h->mem;
    h->base.ops = &h->hops;
    h->base.host = h;
    h->base.queues = h->queues;
    h->base.slots = h->slots;
    return 0;
}

static void drop_queues(struct dh *h)
{
    for (unsigned i = 0; i < DH_MAX_QUEUES; i++) {
        if (h->dq_live[i])
            drv_vq_fini(&h->dq[i]);
        h->dq_live[i] = 0;
    }
}

void dh_fini(struct dh *h)
{
    drop_queues(h);
    tp_close(h);
    free(h->queues);
    free(h->slots);
    h->queues = NULL;
    h->slots = NULL;
    if (h->g.nregions > 0)
        drv_guest_fini(&h->g);
}

/* dh_negotiate through the transport: the same steps, register accesses. */
static int tp_negotiate(struct dh *h, uint64_t features)
{
    struct drv_tp *t;
    unsigned r;
    uint64_t f;

    if (tp_open(h) != 0)
        return -1;
    t = h->tp;
    r = t->refused;
    t->ops->set_status(t, DH_ST_ACK);
    if (tp_rc(h, r) != 0)
        return -1;
    t->ops->set_status(t, DH_ST_ACK | DH_ST_DRIVER);
    if (tp_rc(h, r) != 0)
        return -2;
    f = (features | VDM_F_VERSION_1) & t->ops->device_features(t);
    t->ops->driver_features(t, f);
    if (tp_rc(h, r) != 0)
        return -3;
    t->ops->set_status(t, DH_ST_ACK | DH_ST_DRIVER | DH_ST_FEATURES_OK);
    if (tp_rc(h, r) != 0)
        return -4;
    if ((t->ops->get_status(t) & DH_ST_FEATURES_OK) == 0)
        return -5;
    t->features = f;
    h->features = f;
    /* PCI: map config changes to their vector, as Linux does here. */
    if (t->ops->post_features != NULL)
        t->ops->post_features(t);
    return tp_rc(h, r) != 0 ? -6 : 0;
}

int dh_negotiate(struct dh *h, uint64_t features)
{
    struct vdm_dev *d = &h->dev;
    uint64_t f;

    if (h->transport != DH_TP_DIRECT)
        return tp_negotiate(h, features);
    if (vdm_dev_set_status(d, VDM_STATUS_ACKNOWLEDGE) != 0)
        return -1;
    if (vdm_dev_set_status(d, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER) != 0)
        return -2;
    f = (features | VDM_F_VERSION_1) & vdm_dev_device_features(d);
    if (vdm_dev_set_driver_features(d, f) != 0)
        return -3;
    if (vdm_dev_set_status(d, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                  VDM_STATUS_FEATURES_OK) != 0)
        return -4;
    /* "Device Initialization": re-read status to see FEATURES_OK stuck. */
    if ((vdm_dev_status(d) & VDM_STATUS_FEATURES_OK) == 0)
        return -5;
    h->features = f;
    return 0;
}

int dh_setup_queue(struct dh *h, uint16_t q, uint16_t num)
{
    struct drv_vq *v;
    int rc;

    if (q >= h->num_queues)
        return -1;
    if (tp_open(h) != 0)
        return -1;
    if (num == 0)
        num = h->tp != NULL ? h->tp->ops->queue_max(h->tp, q)
                            : vdm_dev_queue_size_max(&h->dev, q);
    v = &h->dq[q];
    if (h->dq_live[q])
        drv_vq_fini(v);
    h->dq_live[q] = 0;
    rc = drv_vq_init(v, &h->g, num, h->features);
    if (rc != 0)
        return rc;
    h->dq_live[q] = 1;
    if (h->tp != NULL) {
        struct drv_tp *t = h->tp;
        unsigned r = t->refused;
        t->ops->queue_config(t, q, num, drv_vq_desc_gpa(v),
                             drv_vq_driver_gpa(v), drv_vq_device_gpa(v));
        rc = tp_rc(h, r);
        if (rc != 0)
            return rc;
        t->ops->queue_enable(t, q);
        return tp_rc(h, r);
    }
    rc = vdm_dev_queue_set_size(&h->dev, q, num);
    if (rc != 0)
        return rc;
    rc = vdm_dev_queue_set_addr(&h->dev, q, drv_vq_desc_gpa(v),
                                drv_vq_driver_gpa(v), drv_vq_device_gpa(v));
    if (rc != 0)
        return rc;
    return vdm_dev_queue_enable(&h->dev, q);
}

int dh_driver_ok(struct dh *h)
{
    if (tp_open(h) != 0)
        return -1;
    if (h->tp != NULL) {
        struct drv_tp *t = h->tp;
        unsigned r = t->refused;
        t->ops->set_status(t,
                           (uint8_t)(t->ops->get_status(t) | DH_ST_DRIVER_OK));
        return tp_rc(h, r);
    }
    return vdm_dev_set_status(&h->dev,
                              vdm_dev_status(&h->dev) | VDM_STATUS_DRIVER_OK);
}

int dh_bring_up(struct dh *h, uint64_t features, uint16_t nq)
{
    int rc = dh_negotiate(h, features);
    if (rc != 0)
        return rc;
    for (uint16_t q = 0; q < nq; q++) {
        rc = dh_setup_queue(h, q, 0);
        if (rc != 0)
            return rc;
    }
    return dh_driver_ok(h);
}

int dh_set_status(struct dh *h, uint8_t status)
{
    if (tp_open(h) != 0)
        return -1;
    if (h->tp != NULL) {
        unsigned r = h->tp->refused;
        h->tp->ops->set_status(h->tp, status);
        return tp_rc(h, r);
    }
    return vdm_dev_set_status(&h->dev, status);
}

uint8_t dh_status(struct dh *h)
{
    if (tp_open(h) != 0 || h->tp == NULL)
        return vdm_dev_status(&h->dev);
    return h->tp->ops->get_status(h->tp);
}

void dh_reset(struct dh *h)
{
    if (h->transport != DH_TP_DIRECT && tp_open(h) == 0) {
        (void)drv_tp_reset(h->tp);
        (void)dh_service(h);
        h->tp->features = 0;
    } else {
        (void)vdm_dev_set_status(&h->dev, 0);
    }
    drop_queues(h);
    h->features = 0;
}

struct drv_vq *dh_vq(struct dh *h, uint16_t q)
{
    return q < DH_MAX_QUEUES && h->dq_live[q] ? &h->dq[q] : NULL;
}

int dh_kick(struct dh *h, uint16_t q, int force)
{
    struct drv_vq *v = dh_vq(h, q);
    int need;

    if (v == NULL)
        return -1;
    drv_vq_publish(v);
    need = drv_vq_kick_needed(v);
    if (!need && !force)
        return 1;
    if (h->tp != NULL) {
        struct drv_tp *t = h->tp;
        unsigned r = t->refused;
        uint32_t value = q;
        (void)dh_service(h);
        /* "Driver Notifications": next_off/next_wrap in bits 16-31 with
         * NOTIFICATION_DATA. */
        if ((t->features & DRV_F_NOTIFICATION_DATA) != 0)
            value |= (uint32_t)drv_vq_next_off_wrap(v) << 16;
        t->ops->notify(t, q, value);
        return tp_rc(h, r);
    }
    return vdm_dev_queue_notify(&h->dev, q, drv_vq_next_off_wrap(v));
}

uint64_t dh_alloc(struct dh *h, uint64_t size, uint64_t align)
{
    return drv_alloc(&h->g, size, align);
}

void *dh_ptr(struct dh *h, uint64_t gpa, uint64_t len)
{
    return drv_gpa(&h->g, gpa, len);
}

int dh_config_read(struct dh *h, uint32_t off, void *buf, uint32_t len)
{
    struct drv_tp *t;
    unsigned r;

    if (tp_open(h) != 0)
        return -1;
    t = h->tp;
    if (t == NULL)
        return vdm_dev_config_read(&h->dev, off, buf, len);
    (void)dh_service(h);
    r = t->refused;
    if (drv_tp_config_read(t, off, buf, len) < 0)
        return -1;
    return tp_rc(h, r);
}

int dh_config_write(struct dh *h, uint32_t off, const void *buf, uint32_t len)
{
    const uint8_t *b = buf;
    struct drv_tp *t;
    unsigned r;
    uint32_t i = 0;

    if (tp_open(h) != 0)
        return -1;
    t = h->tp;
    if (t == NULL)
        return vdm_dev_config_write(&h->dev, off, buf, len);
    r = t->refused;
    /* Naturally aligned accesses of up to 4 bytes, in order. */
    while (i < len) {
        unsigned w = 1;
        uint32_t v = 0;
        if (((off + i) & 3u) == 0 && len - i >= 4)
            w = 4;
        else if (((off + i) & 1u) == 0 && len - i >= 2)
            w = 2;
        for (unsigned k = 0; k < w; k++)
            v |= (uint32_t)b[i + k] << (8 * k);
        t->ops->config_write(t, off + i, w, v);
        i += w;
    }
    return tp_rc(h, r);
}

uint64_t dh_config(struct dh *h, uint32_t off, unsigned width)
{
    uint8_t b[8] = {0};
    uint64_t v = 0;

    if (width > 8 || dh_config_read(h, off, b, width) != 0)
        return UINT64_MAX;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}
