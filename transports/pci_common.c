/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci transport: the structures in the BARs. Common
 * configuration, notifications, ISR status and device-specific
 * configuration, and the BAR access dispatch. Spec "Common configuration
 * structure layout", "Notification structure layout", "ISR status
 * capability", "Device-specific configuration"; see pci_internal.h. */
#include "pci_internal.h"

#if VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* ------------------------------------------------------------------------ */
/* Common configuration */

/* Spec "Common configuration structure layout" note on config_generation:
 * an 8-bit counter could wrap back to a value the driver saw; it moves
 * by one whenever the driver looks (generation or device config) after the
 * device core's generation changed, so any change is seen as a change. */
static void gen_sync(struct pci_state *s)
{
    uint32_t g = vdm_dev_config_generation(s->dev);
    if (g != s->gen_seen) {
        s->gen_seen = g;
        s->gen8++;
    }
}

static int32_t sel_queue(const struct pci_state *s)
{
    return s->queue_sel < s->nq ? (int32_t)s->queue_sel : -1;
}

static uint16_t check_vector(struct pci_state *s, uint32_t v, int *rc)
{
    *rc = 0;
    if (v == VDM_PCI_NO_VECTOR || v < s->nvec)
        return (uint16_t)v;
    /* Spec "MSI-X Vector Configuration": a failed mapping reads back as
     * NO_VECTOR. */
    plog(s, VDM_LOG_WARN, "pci: MSI-X vector outside the table, not mapped");
    *rc = VDM_ERANGE;
    return VDM_PCI_NO_VECTOR;
}

static void vectors_reset(struct pci_state *s)
{
    uint32_t i;
    s->config_vector = VDM_PCI_NO_VECTOR;
    if (s->nvec == 0)
        return;
    for (i = 0; i < s->nq; i++)
        s->qvec[i] = VDM_PCI_NO_VECTOR;
    for (i = 0; i < (s->nvec + 31u) / 32u; i++)
        s->pba[i] = 0;
}

/* Transport part of a device reset: spec "MSI-X Vector Configuration": all
 * events unmapped upon reset; the ISR byte is device state too. */
void vdmi_pci_regs_reset(struct pci_state *s)
{
    vectors_reset(s);
    s->isr = 0;
    s->dfselect = 0;
    s->gfselect = 0;
    s->queue_sel = 0;
    vdmi_pci_update_intx(s);
}

/* Natural width of the common config field at @p off (0: none there);
 * 64-bit fields take 4 at either half or 8 at the start. */
static int common_width_ok(uint32_t off, uint32_t width)
{
    if (off >= VDM_PCI_COMMON_Q_DESC && off < VDM_PCI_COMMON_Q_NDATA)
        return (width == 4 && (off & 3u) == 0) ||
               (width == 8 && (off & 7u) == 0);
    if (off < VDM_PCI_COMMON_MSIX)
        return width == 4 && (off & 3u) == 0;
    if (off == VDM_PCI_COMMON_STATUS || off == VDM_PCI_COMMON_CFGGEN)
        return width == 1;
    return width == 2 && (off & 1u) == 0;
}

static int common_read(struct pci_state *s, uint32_t off, uint32_t width,
                       uint64_t *val)
{
    int32_t q = sel_queue(s);
    uint64_t a[3] = {0, 0, 0};
    uint64_t f;

    if (!common_width_ok(off, width)) {
        plog(s, VDM_LOG_WARN,
             "pci: common config read of the wrong width ignored");
        return VDM_EINVAL;
    }
    switch (off) {
    case VDM_PCI_COMMON_DFSELECT: *val = s->dfselect; return 0;
    case VDM_PCI_COMMON_DF:
        f = vdm_dev_device_features(s->dev);
        *val = s->dfselect == 0   ? (uint32_t)f
               : s->dfselect == 1 ? (uint32_t)(f >> 32)
                                  : 0u;
        return 0;
    case VDM_PCI_COMMON_GFSELECT: *val = s->gfselect; return 0;
    case VDM_PCI_COMMON_GF:
        f = vdm_dev_driver_features(s->dev);
        *val = s->gfselect == 0   ? (uint32_t)f
               : s->gfselect == 1 ? (uint32_t)(f >> 32)
                                  : 0u;
        return 0;
    case VDM_PCI_COMMON_MSIX: *val = s->config_vector; return 0;
    /* Spec "Common configuration structure layout": num_queues excludes
     * the administration virtqueues, which follow the others. */
    case VDM_PCI_COMMON_NUMQ: *val = vdm_dev_num_queues(s->dev); return 0;
    case VDM_PCI_COMMON_STATUS: *val = vdm_dev_status(s->dev); return 0;
    case VDM_PCI_COMMON_CFGGEN:
        gen_sync(s);
        *val = s->gen8;
        return 0;
    case VDM_PCI_COMMON_Q_SELECT: *val = s->queue_sel; return 0;
    case VDM_PCI_COMMON_ADM_Q_IDX:
        *val = (vdm_dev_admin_queue_num(s->dev) != 0u)
                   ? vdm_dev_num_queues(s->dev)
                   : 0u;
        return 0;
    case VDM_PCI_COMMON_ADM_Q_NUM:
        *val = vdm_dev_admin_queue_num(s->dev);
        return 0;
    default: break;
    }
    /* Queue fields: the selected queue, or the values of an absent one
     * (size 0 means unavailable). */
    if (q < 0) {
        if (off == VDM_PCI_COMMON_Q_MSIX)
            *val = VDM_PCI_NO_VECTOR;
        return 0;
    }
    switch (off) {
    case VDM_PCI_COMMON_Q_SIZE:
        *val = vdm_dev_queue_size(s->dev, (uint16_t)q);
        return 0;
    case VDM_PCI_COMMON_Q_MSIX:
        *val = s->nvec > 0 ? s->qvec[q] : VDM_PCI_NO_VECTOR;
        return 0;
    case VDM_PCI_COMMON_Q_ENABLE:
        *val = vdm_dev_queue_enabled(s->dev, (uint16_t)q) ? 1u : 0u;
        return 0;
    case VDM_PCI_COMMON_Q_NOFF:
    case VDM_PCI_COMMON_Q_NDATA:
        /* Notify address of queue q: notify_off + q * multiplier; the
         * notification config data is the queue index. */
        *val = (uint16_t)q;
        return 0;
    case VDM_PCI_COMMON_Q_RESET:
        return 0; /* queue resets complete synchronously */
    default: break;
    }
    (void)vdm_dev_queue_get_addr(s->dev, (uint16_t)q, &a[0], &a[1], &a[2]);
    f = a[(off - VDM_PCI_COMMON_Q_DESC) / 8u];
    *val = width == 8 ? f : (uint32_t)(f >> (8u * (off & 4u)));
    return 0;
}

static int write_features(struct pci_state *s, uint32_t v)
{
    uint64_t f = vdm_dev_driver_features(s->dev);
    if (s->gfselect == 0) {
        f = (f & ~(uint64_t)0xffffffffu) | v;
    } else if (s->gfselect == 1) {
        f = (f & 0xffffffffu) | ((uint64_t)v << 32);
    } else {
        if (v == 0)
            return 0;
        plog(s, VDM_LOG_WARN, "pci: driver feature bits beyond 63 ignored");
        return VDM_EINVAL;
    }
    return vdm_dev_set_driver_features(s->dev, f);
}

static int write_queue_addr(struct pci_state *s, uint16_t q, uint32_t off,
                            uint32_t width, uint64_t v)
{
    uint64_t a[3];
    uint64_t *p;
    int rc = vdm_dev_queue_get_addr(s->dev, q, &a[0], &a[1], &a[2]);
    if (rc < 0)
        return rc;
    p = &a[(off - VDM_PCI_COMMON_Q_DESC) / 8u];
    if (width == 8)
        *p = v;
    else if ((off & 4u) != 0)
        *p = (*p & 0xffffffffu) | (v << 32);
    else
        *p = (*p & ~(uint64_t)0xffffffffu) | v;
    return vdm_dev_queue_set_addr(s->dev, q, a[0], a[1], a[2]);
}

static int common_write(struct pci_state *s, uint32_t off, uint32_t width,
                        uint64_t val)
{
    int32_t q = sel_queue(s);
    int rc = 0;

    if (!common_width_ok(off, width)) {
        plog(s, VDM_LOG_WARN,
             "pci: common config write of the wrong width ignored");
        return VDM_EINVAL;
    }
    switch (off) {
    case VDM_PCI_COMMON_DFSELECT: s->dfselect = (uint32_t)val; return 0;
    case VDM_PCI_COMMON_GFSELECT: s->gfselect = (uint32_t)val; return 0;
    case VDM_PCI_COMMON_GF: return write_features(s, (uint32_t)val);
    case VDM_PCI_COMMON_MSIX:
        s->config_vector = check_vector(s, (uint32_t)val, &rc);
        return rc;
    case VDM_PCI_COMMON_STATUS:
        rc = vdm_dev_set_status(s->dev, (uint8_t)val);
        if (val == 0)
            vdmi_pci_regs_reset(s);
        return rc;
    case VDM_PCI_COMMON_Q_SELECT: s->queue_sel = (uint16_t)val; return 0;
    case VDM_PCI_COMMON_DF:
    case VDM_PCI_COMMON_NUMQ:
    case VDM_PCI_COMMON_CFGGEN:
    case VDM_PCI_COMMON_Q_NOFF:
    case VDM_PCI_COMMON_Q_NDATA:
    case VDM_PCI_COMMON_ADM_Q_IDX:
    case VDM_PCI_COMMON_ADM_Q_NUM:
        plog(s, VDM_LOG_WARN,
             "pci: write to a read-only common config field ignored");
        return VDM_ENOTSUP;
    default: break;
    }
    if (q < 0) {
        plog(s, VDM_LOG_WARN,
             "pci: queue field write with no such queue selected");
        return VDM_ERANGE;
    }
    switch (off) {
    case VDM_PCI_COMMON_Q_MSIX:
        if (s->nvec == 0) {
            plog(s, VDM_LOG_WARN, "pci: no MSI-X, queue vector not mapped");
            return VDM_ERANGE; /* reads back NO_VECTOR */
        }
        s->qvec[q] = check_vector(s, (uint32_t)val, &rc);
        return rc;
    case VDM_PCI_COMMON_Q_ENABLE:
        if (val == 1)
            return vdm_dev_queue_enable(s->dev, (uint16_t)q);
        /* Spec: the driver MUST NOT write 0 to queue_enable. */
        plog(s, VDM_LOG_WARN, "pci: queue_enable value other than 1 ignored");
        return VDM_EINVAL;
    case VDM_PCI_COMMON_Q_RESET:
        if (val == 0)
            return 0;
        if (val != 1) {
            plog(s, VDM_LOG_WARN, "pci: queue_reset value not 0 or 1 ignored");
            return VDM_EINVAL;
        }
        rc = vdm_dev_queue_reset(s->dev, (uint16_t)q);
        if (rc == 0 && s->nvec > 0)
            s->qvec[q] = VDM_PCI_NO_VECTOR; /* back to the default state */
        return rc;
    default: break;
    }
    /* queue_size and the ring addresses: only while the queue is off (the
     * device core also refuses them after DRIVER_OK unless the queue was
     * reset alone). */
    if (vdm_dev_queue_enabled(s->dev, (uint16_t)q)) {
        plog(s, VDM_LOG_WARN, "pci: queue field write while enabled ignored");
        return VDM_ESTATE;
    }
    if (off == VDM_PCI_COMMON_Q_SIZE)
        return vdm_dev_queue_set_size(s->dev, (uint16_t)q, (uint16_t)val);
    return write_queue_addr(s, (uint16_t)q, off, width, val);
}

/* ------------------------------------------------------------------------ */
/* Notifications, device configuration, BAR dispatch */

/* Spec "Available Buffer Notifications" / "Notification structure layout":
 * queue q's address is notify_off + q * notify_off_multiplier. */
static int notify_write(struct pci_state *s, uint32_t off, uint32_t width,
                        uint64_t val)
{
    uint32_t v = (uint32_t)val;
    uint32_t q;

    /* Spec "Available Buffer Notifications": a 16-bit queue index, 32 bits
     * with NOTIFICATION_DATA (only when built in, vdm/config.h). */
    if (width != 2 && (width != 4 || !VDM_CONFIG_NOTIFICATION_DATA)) {
        plog(s, VDM_LOG_WARN, "pci: notify write of the wrong width ignored");
        return VDM_EINVAL;
    }
    if (s->notify_mult == 0) {
        if (off != 0) {
            plog(s, VDM_LOG_WARN, "pci: notify write off the notify address");
            return VDM_EINVAL;
        }
        q = v & 0xffffu;
    } else {
        if (off % s->notify_mult != 0) {
            plog(s, VDM_LOG_WARN, "pci: notify write off a queue address");
            return VDM_EINVAL;
        }
        q = off / s->notify_mult;
        if (q >= s->nq) {
            plog(s, VDM_LOG_WARN, "pci: notify address of no queue ignored");
            return VDM_ERANGE;
        }
        if ((v & 0xffffu) != q)
            plog(s, VDM_LOG_WARN,
                 "pci: notify value names another queue than its address");
    }
    return vdm_dev_queue_notify(s->dev, (uint16_t)q, v);
}

static int dev_config(struct pci_state *s, uint32_t off, uint32_t width,
                      uint64_t *rval, uint64_t wval, int write)
{
    uint8_t buf[8];
    int rc;

    if (width != 1 && width != 2 && width != 4 && width != 8) {
        plog(s, VDM_LOG_WARN, "pci: device config access of a bad width");
        return VDM_EINVAL;
    }
    if (write) {
        vdm_put_le64(buf, wval);
        return vdm_dev_config_write(s->dev, off, buf, width);
    }
    gen_sync(s);
    __builtin_memset(buf, 0, sizeof(buf));
    rc = vdm_dev_config_read(s->dev, off, buf, width);
    if (rc < 0)
        return rc;
    *rval = vdm_le64(buf);
    gen_sync(s); /* a change while reading is seen by the next gen read */
    return 0;
}

int vdmi_pci_bar_access(struct pci_state *s, uint32_t bar, uint64_t off,
                        uint32_t width, uint64_t *rval, uint64_t wval,
                        int write)
{
    int r;
    uint32_t roff;

    if (width != 1 && width != 2 && width != 4 && width != 8) {
        plog(s, VDM_LOG_WARN, "pci: BAR access with an invalid width ignored");
        return VDM_EINVAL;
    }
    if (bar > 5 || s->bar_size[bar] == 0 || off >= s->bar_size[bar]) {
        plog(s, VDM_LOG_WARN, "pci: access outside every BAR ignored");
        return VDM_ERANGE;
    }
    if (width < 8) {
        uint32_t sh = 8u * width;
        wval &= ((uint64_t)1 << sh) - 1u;
    }
    for (r = 0; r < R_COUNT; r++) {
        if (s->reg_len[r] == 0 || s->reg_bar[r] != bar || off < s->reg_off[r] ||
            off - s->reg_off[r] >= s->reg_len[r])
            continue;
        roff = (uint32_t)(off - s->reg_off[r]);
        if (width > s->reg_len[r] - roff) {
            plog(s, VDM_LOG_WARN, "pci: access across a structure end ignored");
            return VDM_ERANGE;
        }
        switch (r) {
        case R_COMMON:
            return write ? common_write(s, roff, width, wval)
                         : common_read(s, roff, width, rval);
        case R_ISR:
            if (write) {
                plog(s, VDM_LOG_WARN, "pci: ISR write ignored");
                return VDM_ENOTSUP;
            }
            if (width > 4u) {
                plog(s, VDM_LOG_WARN, "pci: ISR read of a bad width ignored");
                return VDM_EINVAL;
            }
            /* Spec "ISR status capability": reading clears the bits and
             * de-asserts the interrupt. */
            if (roff == 0) {
                *rval = s->isr;
                s->isr = 0;
                vdmi_pci_update_intx(s);
            }
            return 0;
        case R_DEVICE: return dev_config(s, roff, width, rval, wval, write);
        case R_NOTIFY:
            if (!write) {
                plog(s, VDM_LOG_WARN, "pci: notify region read ignored");
                return VDM_ENOTSUP;
            }
            return notify_write(s, roff, width, wval);
        case R_TABLE:
            return vdmi_pci_table_access(s, roff, width, rval, wval, write);
        default: /* R_PBA */
            if (write) {
                plog(s, VDM_LOG_WARN, "pci: PBA write ignored");
                return VDM_ENOTSUP;
            }
            return vdmi_pci_pba_read(s, roff, width, rval);
        }
    }
    plog(s, VDM_LOG_WARN, "pci: BAR access outside every structure ignored");
    return VDM_ERANGE;
}

int vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                     uint32_t width, uint64_t *val)
{
    struct pci_state *s = pci_st(t);
    if (val != NULL)
        *val = 0;
    if (s == NULL || val == NULL)
        return VDM_EINVAL;
    return vdmi_pci_bar_access(s, bar, off, width, val, 0, 0);
}

int vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                      uint32_t width, uint64_t val)
{
    struct pci_state *s = pci_st(t);
    if (s == NULL)
        return VDM_EINVAL;
    return vdmi_pci_bar_access(s, bar, off, width, NULL, val, 1);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_pcicommon_left_out;
#endif
