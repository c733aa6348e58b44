/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci transport: interrupts. MSI-X (table, PBA, per-vector and
 * function masking) and INTx. Spec "MSI-X Vector Configuration", "Used
 * Buffer Notifications", "Notification of Device Configuration Changes",
 * "ISR status capability"; see pci_internal.h. */
#include "pci_internal.h"

#include <stdbool.h>

#if VDM_CONFIG_PCI /* vdm/config.h: the whole file */

static int msix_enabled(const struct pci_state *s)
{
    return s->cap_msix != 0 &&
           (cfg16(s, s->cap_msix + 2u) & MSIX_CTRL_ENABLE) != 0;
}

static int msix_fmasked(const struct pci_state *s)
{
    return (cfg16(s, s->cap_msix + 2u) & MSIX_CTRL_FMASK) != 0;
}

static int vec_masked(const struct pci_state *s, uint16_t v)
{
    if ((s->flags & VDM_PCI_F_MSIX_HOST) != 0u) {
        return 0; /* the host masks (vdm/pci.h) */
    }
    return msix_fmasked(s) || (s->table[4u * v + 3u] & MSIX_ENTRY_MASKED) != 0;
}

static int vec_pending(const struct pci_state *s, uint16_t v)
{
    return (s->pba[v / 32u] >> (v % 32u)) & 1u;
}

static void send_msi(const struct pci_state *s, uint16_t v)
{
    const uint32_t *e = &s->table[4u * v];
    if (VDM_HAS_HOOK(s->ops, struct vdm_pci_ops, msi))
        s->ops->msi(s->host, v, (uint64_t)e[0] | ((uint64_t)e[1] << 32), e[2]);
}

/* MSI-X: a masked vector records the message in the PBA; unmasking sends it. */
static void msix_fire(struct pci_state *s, uint16_t v)
{
    if (v >= s->nvec)
        return;
    if (vec_masked(s, v)) {
        s->pba[v / 32u] |= 1u << (v % 32u);
        return;
    }
    send_msi(s, v);
}

static void msix_flush(struct pci_state *s, uint16_t v)
{
    if (!msix_enabled(s) || vec_masked(s, v) || !vec_pending(s, v))
        return;
    s->pba[v / 32u] &= ~(1u << (v % 32u));
    send_msi(s, v);
}

void vdmi_pci_msix_flush_all(struct pci_state *s)
{
    uint16_t v;
    for (v = 0; v < s->nvec; v++)
        msix_flush(s, v);
}

/* INTx follows the ISR byte while MSI-X is off (spec "ISR status
 * capability": Interrupt Status = OR of the ISR bits; the line obeys the
 * Command register's INTx Disable). */
void vdmi_pci_update_intx(struct pci_state *s)
{
    bool pending = (s->isr != 0u) && !msix_enabled(s);
    uint16_t status = cfg16(s, CFG_STATUS);
    int line;

    if (pending)
        status |= STATUS_INTX;
    else
        status = (uint16_t)(status & ~STATUS_INTX);
    vdm_put_le16(s->cfg + CFG_STATUS, status);
    line = 0;
    if (pending && ((cfg16(s, CFG_COMMAND) & CMD_INTX_DISABLE) == 0u) &&
        ((s->flags & VDM_PCI_F_NO_INTX) == 0u)) {
        line = 1;
    }
    if (line != s->intx) {
        s->intx = (uint8_t)line;
        if (VDM_HAS_HOOK(s->ops, struct vdm_pci_ops, irq_level))
            s->ops->irq_level(s->host, line);
    }
}

/* Spec "Used Buffer Notifications". */
static void on_queue(void *ctx, uint16_t q)
{
    struct pci_state *s = pci_st((struct vdm_pci *)ctx);
    if (s == NULL)
        return;
    if (msix_enabled(s)) {
        if (q < s->nq && s->qvec[q] != VDM_PCI_NO_VECTOR)
            msix_fire(s, (uint16_t)s->qvec[q]);
        return; /* NO_VECTOR: the device MUST NOT interrupt */
    }
    s->isr |= VDM_PCI_ISR_QUEUE;
    vdmi_pci_update_intx(s);
}

/* Spec "Notification of Device Configuration Changes" and "ISR status
 * capability": the config bit is set before any notification. */
static void on_config(void *ctx)
{
    struct pci_state *s = pci_st((struct vdm_pci *)ctx);
    if (s == NULL)
        return;
    s->isr |= VDM_PCI_ISR_CONFIG;
    if (msix_enabled(s)) {
        if (s->config_vector != VDM_PCI_NO_VECTOR)
            msix_fire(s, s->config_vector);
        return;
    }
    vdmi_pci_update_intx(s);
}

static const struct vdm_transport_ops pci_sink = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = on_queue,
    .notify_config = on_config,
};

void vdmi_pci_bind(struct vdm_pci *t, struct vdm_dev *d)
{
    vdm_dev_bind(d, &pci_sink, t);
}

int vdmi_pci_table_access(struct pci_state *s, uint32_t off, uint32_t width,
                          uint64_t *rval, uint64_t wval, int write)
{
    uint32_t e = off / 16u, w = (off % 16u) / 4u, i;
    uint32_t before;

    if (!((width == 4 && (off & 3u) == 0) || (width == 8 && (off & 7u) == 0))) {
        plog(s, VDM_LOG_WARN, "pci: MSI-X table access of the wrong width");
        return VDM_EINVAL;
    }
    if (!write) {
        *rval = s->table[4u * e + w];
        if (width == 8)
            *rval |= (uint64_t)s->table[4u * e + w + 1u] << 32;
        return 0;
    }
    before = s->table[4u * e + 3u];
    for (i = 0; i < width / 4u; i++, w++) {
        uint32_t sh = 32u * i;
        uint32_t v = (uint32_t)(wval >> sh);
        if (w == 0)
            v &= ~3u; /* Message Address is dword aligned */
        else if (w == 3)
            v &= MSIX_ENTRY_MASKED;
        else {
            /* Message Address high, Message Data: as written */
        }
        s->table[4u * e + w] = v;
    }
    if ((before & MSIX_ENTRY_MASKED) != 0 &&
        (s->table[4u * e + 3u] & MSIX_ENTRY_MASKED) == 0)
        msix_flush(s, (uint16_t)e);
    return 0;
}

int vdmi_pci_pba_read(struct pci_state *s, uint32_t off, uint32_t width,
                      uint64_t *val)
{
    uint32_t w = off / 4u, nw = (s->nvec + 31u) / 32u;
    if (!((width == 4 && (off & 3u) == 0) || (width == 8 && (off & 7u) == 0))) {
        plog(s, VDM_LOG_WARN, "pci: MSI-X PBA access of the wrong width");
        return VDM_EINVAL;
    }
    *val = w < nw ? s->pba[w] : 0u;
    if (width == 8 && w + 1u < nw)
        *val |= (uint64_t)s->pba[w + 1u] << 32;
    return 0;
}

int vdm_pci_intx_level(const struct vdm_pci *t)
{
    const struct pci_state *s = pci_cst(t);
    return s != NULL ? s->intx : 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_pciirq_left_out;
#endif
