/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci modern driver, register level, and a firmware-style probe:
 * see drv_pci.h. Written from the spec's "Virtio Over PCI Bus" driver rules
 * (capability walk, first capability of each type, natural-width accesses,
 * 64-bit fields as two 32-bit halves, MSI-X vector read-back) and the PCI
 * rules for BAR sizing and the MSI-X table. */
#include "drv_pci.h"
#include "vdm/admin.h"

#include <stddef.h>
#include <stdlib.h>

#define TP2P(t) ((struct drv_pci *)(void *)(t))

#define VIRTIO_VENDOR 0x1af4u

/* ------------------------------------------------------------------------ */
/* Host side */

static void h_irq_level(void *host, int level)
{
    struct drv_pci *p = host;
    p->intx = level;
    if (level)
        p->intx_raises++;
}

static void h_msi(void *host, uint16_t vector, uint64_t addr, uint32_t data)
{
    struct drv_pci *p = host;
    p->msi_total++;
    p->msi_last_vector = vector;
    p->msi_last_addr = addr;
    p->msi_last_data = data;
    if (vector < DRV_PCI_MAX_VEC) {
        p->msi_count[vector]++;
        p->msi_unhandled |= 1ull << vector;
    }
}

static void h_log(void *host, int level, const char *msg)
{
    drv_tp_log(&((struct drv_pci *)host)->tp, level, msg);
}

/* ------------------------------------------------------------------------ */
/* Accesses */

uint32_t drv_pci_cfg_rd(struct drv_pci *p, uint32_t off, unsigned width)
{
    uint32_t v = 0;
    drv_tp_count(&p->tp, vdm_pci_cfg_read(&p->t, off, width, &v));
    return v;
}

void drv_pci_cfg_wr(struct drv_pci *p, uint32_t off, unsigned width,
                    uint32_t val)
{
    drv_tp_count(&p->tp, vdm_pci_cfg_write(&p->t, off, width, val));
}

/* Memory access at a guest-physical address, as the hypervisor routes it:
 * a miss reads all ones (master abort). */
static uint64_t mem_rd(struct drv_pci *p, uint64_t gpa, unsigned width)
{
    uint32_t bar;
    uint64_t off, v = 0;
    int rc = vdm_pci_decode(&p->t, gpa, &bar, &off);
    if (rc != 0) {
        drv_tp_count(&p->tp, rc);
        return ~(uint64_t)0;
    }
    drv_tp_count(&p->tp, vdm_pci_bar_read(&p->t, bar, off, width, &v));
    return v;
}

static void mem_wr(struct drv_pci *p, uint64_t gpa, unsigned width,
                   uint64_t val)
{
    uint32_t bar;
    uint64_t off;
    int rc = vdm_pci_decode(&p->t, gpa, &bar, &off);
    if (rc != 0) {
        drv_tp_count(&p->tp, rc);
        return;
    }
    drv_tp_count(&p->tp, vdm_pci_bar_write(&p->t, bar, off, width, val));
}

/* "PCI configuration access capability": bar, length, offset, then the
 * data window. */
static void window_set(struct drv_pci *p, uint8_t bar, uint32_t off,
                       unsigned width)
{
    uint8_t c = p->pcicfg.pos;
    drv_pci_cfg_wr(p, c + 4u, 1, bar);
    drv_pci_cfg_wr(p, c + 12u, 4, width);
    drv_pci_cfg_wr(p, c + 8u, 4, off);
}

uint64_t drv_pci_bar_rd(struct drv_pci *p, uint8_t bar, uint32_t off,
                        unsigned width)
{
    uint32_t v;
    if (p->mode != DRV_PCI_MODE_WINDOW)
        return mem_rd(p, p->bar_addr[bar] + off, width);
    if (width == 8)
        return drv_pci_bar_rd(p, bar, off, 4) |
               (drv_pci_bar_rd(p, bar, off + 4u, 4) << 32);
    window_set(p, bar, off, width);
    v = drv_pci_cfg_rd(p, p->pcicfg.pos + 16u, 4);
    return width == 4 ? v : v & ((1u << (8 * width)) - 1u);
}

void drv_pci_bar_wr(struct drv_pci *p, uint8_t bar, uint32_t off,
                    unsigned width, uint64_t val)
{
    if (p->mode != DRV_PCI_MODE_WINDOW) {
        mem_wr(p, p->bar_addr[bar] + off, width, val);
        return;
    }
    if (width == 8) {
        drv_pci_bar_wr(p, bar, off, 4, (uint32_t)val);
        drv_pci_bar_wr(p, bar, off + 4u, 4, val >> 32);
        return;
    }
    window_set(p, bar, off, width);
    drv_pci_cfg_wr(p, p->pcicfg.pos + 16u, width, (uint32_t)val);
}

uint64_t drv_pci_common_rd(struct drv_pci *p, uint32_t off, unsigned width)
{
    return drv_pci_bar_rd(p, p->common.bar, p->common.off + off, width);
}

void drv_pci_common_wr(struct drv_pci *p, uint32_t off, unsigned width,
                       uint64_t val)
{
    drv_pci_bar_wr(p, p->common.bar, p->common.off + off, width, val);
}

uint16_t drv_pci_queue_vector(const struct drv_pci *p, uint16_t q)
{
    if (!p->msix_on)
        return VDM_PCI_NO_VECTOR;
    if (p->msix_size < 2)
        return 0; /* one vector for everything */
    return (uint16_t)(1u + q % (p->msix_size - 1u));
}

/* ------------------------------------------------------------------------ */
/* struct drv_tp */

static uint8_t p_get_status(struct drv_tp *t)
{
    return (uint8_t)drv_pci_common_rd(TP2P(t), VDM_PCI_COMMON_STATUS, 1);
}

static void p_set_status(struct drv_tp *t, uint8_t s)
{
    drv_pci_common_wr(TP2P(t), VDM_PCI_COMMON_STATUS, 1, s);
}

static uint64_t p_device_features(struct drv_tp *t)
{
    struct drv_pci *p = TP2P(t);
    uint64_t f;
    drv_pci_common_wr(p, VDM_PCI_COMMON_DFSELECT, 4, 0);
    f = drv_pci_common_rd(p, VDM_PCI_COMMON_DF, 4);
    drv_pci_common_wr(p, VDM_PCI_COMMON_DFSELECT, 4, 1);
    f |= drv_pci_common_rd(p, VDM_PCI_COMMON_DF, 4) << 32;
    return f;
}

static void p_driver_features(struct drv_tp *t, uint64_t f)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_GFSELECT, 4, 0);
    drv_pci_common_wr(p, VDM_PCI_COMMON_GF, 4, (uint32_t)f);
    drv_pci_common_wr(p, VDM_PCI_COMMON_GFSELECT, 4, 1);
    drv_pci_common_wr(p, VDM_PCI_COMMON_GF, 4, f >> 32);
}

/* Map config changes to a vector after FEATURES_OK, as Linux does before
 * it sets the queues up; a failed mapping reads back NO_VECTOR. */
static void p_post_features(struct drv_tp *t)
{
    struct drv_pci *p = TP2P(t);
    if (!p->msix_on)
        return;
    drv_pci_common_wr(p, VDM_PCI_COMMON_MSIX, 2, p->config_vector);
    if (drv_pci_common_rd(p, VDM_PCI_COMMON_MSIX, 2) != p->config_vector) {
        t->refused++; /* the mapping failed */
        t->last_rc = -1000;
    }
}

static uint16_t p_queue_max(struct drv_tp *t, uint16_t q)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    /* "Virtqueue Configuration": queue_size reads the maximum on reset. */
    return (uint16_t)drv_pci_common_rd(p, VDM_PCI_COMMON_Q_SIZE, 2);
}

static int p_queue_enabled(struct drv_tp *t, uint16_t q)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    return drv_pci_common_rd(p, VDM_PCI_COMMON_Q_ENABLE, 2) != 0;
}

static void p_queue_config(struct drv_tp *t, uint16_t q, uint16_t num,
                           uint64_t desc, uint64_t driver, uint64_t device)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SIZE, 2, num);
    /* 64-bit fields as two 32-bit halves, low first. */
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DESC, 4, (uint32_t)desc);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DESC + 4u, 4, desc >> 32);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DRIVER, 4, (uint32_t)driver);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DRIVER + 4u, 4, driver >> 32);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DEVICE, 4, (uint32_t)device);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_DEVICE + 4u, 4, device >> 32);
    if (p->msix_on) {
        uint16_t v = drv_pci_queue_vector(p, q);
        drv_pci_common_wr(p, VDM_PCI_COMMON_Q_MSIX, 2, v);
        if (drv_pci_common_rd(p, VDM_PCI_COMMON_Q_MSIX, 2) != v) {
            t->refused++; /* the mapping failed */
            t->last_rc = -1000;
        }
    }
}

static void p_queue_enable(struct drv_tp *t, uint16_t q)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_ENABLE, 2, 1);
}

static int p_queue_reset(struct drv_tp *t, uint16_t q)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_RESET, 2, 1);
    if (drv_pci_common_rd(p, VDM_PCI_COMMON_Q_RESET, 2) != 0)
        return -1;
    return drv_pci_common_rd(p, VDM_PCI_COMMON_Q_ENABLE, 2) != 0 ? -1 : 0;
}

/* "Notification structure layout": cap.offset + queue_notify_off *
 * notify_off_multiplier; 16-bit value, 32-bit with NOTIFICATION_DATA. */
static void p_notify(struct drv_tp *t, uint16_t q, uint32_t value)
{
    struct drv_pci *p = TP2P(t);
    uint32_t noff;
    drv_pci_common_wr(p, VDM_PCI_COMMON_Q_SELECT, 2, q);
    noff = (uint32_t)drv_pci_common_rd(p, VDM_PCI_COMMON_Q_NOFF, 2);
    drv_pci_bar_wr(p, p->notify.bar, p->notify.off + noff * p->notify_mult,
                   (t->features & DRV_F_NOTIFICATION_DATA) != 0 ? 4 : 2, value);
}

static uint32_t p_config_generation(struct drv_tp *t)
{
    return (uint32_t)drv_pci_common_rd(TP2P(t), VDM_PCI_COMMON_CFGGEN, 1);
}

static uint32_t p_config_read(struct drv_tp *t, uint32_t off, unsigned width)
{
    struct drv_pci *p = TP2P(t);
    return (uint32_t)drv_pci_bar_rd(p, p->device.bar, p->device.off + off,
                                    width);
}

static void p_config_write(struct drv_tp *t, uint32_t off, unsigned width,
                           uint32_t val)
{
    struct drv_pci *p = TP2P(t);
    drv_pci_bar_wr(p, p->device.bar, p->device.off + off, width, val);
}

/* "Driver Handling Interrupts": MSI-X: the vector says what; INTx: read
 * (and so clear) the ISR byte. */
static unsigned p_interrupt(struct drv_tp *t)
{
    struct drv_pci *p = TP2P(t);
    unsigned bits = 0;

    if (p->msix_on) {
        uint64_t u = p->msi_unhandled;
        p->msi_unhandled = 0;
        for (unsigned v = 0; v < DRV_PCI_MAX_VEC && u != 0; v++) {
            if ((u & (1ull << v)) == 0)
                continue;
            u &= ~(1ull << v);
            if (v == p->config_vector)
                bits |= DRV_TP_INT_CONFIG;
            if (v != p->config_vector || p->msix_size < 2)
                bits |= DRV_TP_INT_VRING;
        }
        return bits;
    }
    if (!p->intx)
        return 0;
    return (unsigned)drv_pci_bar_rd(p, p->isr.bar, p->isr.off, 1) &
           (DRV_TP_INT_VRING | DRV_TP_INT_CONFIG);
}

static const struct drv_tp_ops pci_ops = {
    .get_status = p_get_status,
    .set_status = p_set_status,
    .device_features = p_device_features,
    .driver_features = p_driver_features,
    .post_features = p_post_features,
    .queue_max = p_queue_max,
    .queue_enabled = p_queue_enabled,
    .queue_config = p_queue_config,
    .queue_enable = p_queue_enable,
    .queue_reset = p_queue_reset,
    .notify = p_notify,
    .config_generation = p_config_generation,
    .config_read = p_config_read,
    .config_write = p_config_write,
    .interrupt = p_interrupt,
};

/* ------------------------------------------------------------------------ */
/* Set-up and probe */

int drv_pci_init(struct drv_pci *p, struct vdm_dev *d,
                 const struct vdm_pci_config *cfg)
{
    struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
    size_t words;
    int rc;

    if (cfg != NULL)
        c = *cfg;
    *p = (struct drv_pci){0};
    p->tp.ops = &pci_ops;
    p->tp.name = "pci";
    p->hops = VDM_INIT(struct vdm_pci_ops);
    p->hops.irq_level = h_irq_level;
    p->hops.msi = h_msi;
    p->hops.log = h_log;
    /* the administration queue, if any, has a vector like the others */
    words = VDM_PCI_STORAGE_WORDS(
        vdm_dev_num_queues(d) + vdm_dev_admin_queue_num(d), c.msix_vectors);
    if (words > 0) {
        p->storage = calloc(words, sizeof(uint32_t));
        if (p->storage == NULL)
            return -100;
    }
    c.storage = p->storage;
    c.storage_words = (uint32_t)words;
    c.ops = &p->hops;
    c.host = p;
    rc = vdm_pci_init(&p->t, d, &c);
    if (rc != 0)
        drv_pci_fini(p);
    return rc;
}

void drv_pci_fini(struct drv_pci *p)
{
    free(p->storage);
    p->storage = NULL;
}

/* Size BAR @p i; returns the number of BAR registers it uses (1 or 2), 0
 * when unused, -1 when ill-formed. */
static int size_bar(struct drv_pci *p, unsigned i)
{
    uint32_t reg = 0x10u + 4u * i, orig, v, orig_hi, vh = 0xffffffffu;
    uint64_t mask;
    int n = 1;

    orig = drv_pci_cfg_rd(p, reg, 4);
    drv_pci_cfg_wr(p, reg, 4, 0xffffffffu);
    v = drv_pci_cfg_rd(p, reg, 4);
    drv_pci_cfg_wr(p, reg, 4, orig);
    if (v == 0)
        return 0;
    if ((v & 1u) != 0)
        return -1; /* an I/O BAR: a virtio-pci modern function has none here */
    if ((v & 6u) == 4u) {
        if (i == 5)
            return -1;
        orig_hi = drv_pci_cfg_rd(p, reg + 4u, 4);
        drv_pci_cfg_wr(p, reg + 4u, 4, 0xffffffffu);
        vh = drv_pci_cfg_rd(p, reg + 4u, 4);
        drv_pci_cfg_wr(p, reg + 4u, 4, orig_hi);
        n = 2;
    }
    mask = ((uint64_t)vh << 32) | (v & ~0xfu);
    p->bar_size[i] = ~mask + 1u;
    if (p->bar_size[i] == 0 || (p->bar_size[i] & (p->bar_size[i] - 1u)) != 0)
        return -1;
    return n;
}

static void place_bar(struct drv_pci *p, unsigned i, int n, uint64_t *cursor)
{
    uint64_t a = (*cursor + p->bar_size[i] - 1u) & ~(p->bar_size[i] - 1u);
    uint32_t reg = 0x10u + 4u * i;
    p->bar_addr[i] = a;
    *cursor = a + p->bar_size[i];
    drv_pci_cfg_wr(p, reg, 4, (uint32_t)a);
    if (n == 2)
        drv_pci_cfg_wr(p, reg + 4u, 4, (uint32_t)(a >> 32));
}

static void found(struct drv_pci *p, struct drv_pci_cap *c, uint8_t pos)
{
    if (c->pos != 0)
        return; /* the driver uses the first of each type */
    c->pos = pos;
    c->bar = (uint8_t)drv_pci_cfg_rd(p, pos + 4u, 1);
    c->off = drv_pci_cfg_rd(p, pos + 8u, 4);
    c->len = drv_pci_cfg_rd(p, pos + 12u, 4);
}

static int walk_caps(struct drv_pci *p)
{
    uint32_t pos;
    int guard = 0;

    if ((drv_pci_cfg_rd(p, 0x06, 2) & 0x10u) == 0)
        return -3;
    pos = drv_pci_cfg_rd(p, 0x34, 1) & ~3u;
    while (pos != 0) {
        uint8_t id, type, bar;
        if (pos < 0x40 || pos > 0xfc || ++guard > 48)
            return -3;
        id = (uint8_t)drv_pci_cfg_rd(p, pos, 1);
        if (id == 0x09) {
            if (drv_pci_cfg_rd(p, pos + 2u, 1) < 16)
                return -3;
            type = (uint8_t)drv_pci_cfg_rd(p, pos + 3u, 1);
            bar = (uint8_t)drv_pci_cfg_rd(p, pos + 4u, 1);
            /* "Virtio Structure PCI Capabilities": ignore reserved
             * bar values and types (the access window names no BAR). */
            if (bar <= 5 || type == VDM_PCI_CAP_PCI_CFG) {
                switch (type) {
                case VDM_PCI_CAP_COMMON_CFG:
                    found(p, &p->common, (uint8_t)pos);
                    break;
                case VDM_PCI_CAP_NOTIFY_CFG:
                    if (p->notify.pos == 0)
                        p->notify_mult = drv_pci_cfg_rd(p, pos + 16u, 4);
                    found(p, &p->notify, (uint8_t)pos);
                    break;
                case VDM_PCI_CAP_ISR_CFG:
                    found(p, &p->isr, (uint8_t)pos);
                    break;
                case VDM_PCI_CAP_DEVICE_CFG:
                    found(p, &p->device, (uint8_t)pos);
                    break;
                case VDM_PCI_CAP_PCI_CFG:
                    found(p, &p->pcicfg, (uint8_t)pos);
                    break;
                default: break;
                }
            }
        } else if (id == 0x11 && p->msix_pos == 0) {
            uint32_t tab = drv_pci_cfg_rd(p, pos + 4u, 4);
            p->msix_pos = (uint8_t)pos;
            p->msix_size =
                (uint16_t)((drv_pci_cfg_rd(p, pos + 2u, 2) & 0x7ffu) + 1u);
            p->msix_bar = (uint8_t)(tab & 7u);
            p->msix_table = tab & ~7u;
        }
        pos = drv_pci_cfg_rd(p, pos + 1u, 1) & ~3u;
    }
    if (p->common.pos == 0 || p->notify.pos == 0 || p->isr.pos == 0 ||
        p->pcicfg.pos == 0)
        return -4;
    return 0;
}

int drv_pci_probe(struct drv_pci *p, uint64_t mmio_base, int use_msix)
{
    uint32_t dev;
    uint64_t cursor = mmio_base;
    unsigned i;
    int n, rc;

    if (drv_pci_cfg_rd(p, 0x00, 2) != VIRTIO_VENDOR)
        return -1;
    dev = drv_pci_cfg_rd(p, 0x02, 2);
    if (dev < 0x1040 || dev > 0x107f)
        return -1;
    for (i = 0; i < 6; i++) {
        n = size_bar(p, i);
        if (n < 0)
            return -2;
        if (n == 0)
            continue;
        place_bar(p, i, n, &cursor);
        i += (unsigned)n - 1u;
    }
    drv_pci_cfg_wr(p, 0x04, 2, drv_pci_cfg_rd(p, 0x04, 2) | 0x0006u);
    rc = walk_caps(p);
    if (rc != 0)
        return rc;
    if (use_msix && p->msix_pos != 0) {
        uint16_t ctrl;
        for (i = 0; i < p->msix_size; i++) {
            uint32_t e = p->msix_table + 16u * i;
            drv_pci_bar_wr(p, p->msix_bar, e, 4, (uint32_t)DRV_PCI_MSI_ADDR);
            drv_pci_bar_wr(p, p->msix_bar, e + 4u, 4, DRV_PCI_MSI_ADDR >> 32);
            drv_pci_bar_wr(p, p->msix_bar, e + 8u, 4, i);
            drv_pci_bar_wr(p, p->msix_bar, e + 12u, 4, 0); /* unmask */
        }
        ctrl = (uint16_t)drv_pci_cfg_rd(p, p->msix_pos + 2u, 2);
        drv_pci_cfg_wr(p, p->msix_pos + 2u, 2, ctrl | 0x8000u);
        p->msix_on = 1;
        p->config_vector = 0;
    }
    return 0;
}
