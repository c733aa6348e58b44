/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci transport: save and restore (vdm/state.h). The image is the
 * device's (src/state.c) plus one PCI section: the configuration space
 * image, the selectors, the ISR byte, the config generation presented, the
 * MSI-X vector map, table and pending bits (docs/state-format.md).
 *
 * Spec: "Common configuration structure layout" (device_feature_select,
 * driver_feature_select, queue_select, config_msix_vector,
 * queue_msix_vector, config_generation), "ISR status capability", "MSI-X
 * Vector Configuration"; PCI Local Bus: the type 0 header and the MSI-X
 * capability, table and PBA. */
#include "pci_internal.h"

#include "vdm/state.h"

#include "state_internal.h"

#if VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* PCI section payload, format version 1: a fixed part, then nq vector
 * words (when MSI-X is present), 4 words per table entry, the PBA words. */
#define PCI_FIXED 280u

static size_t pci_bytes(const struct pci_state *s)
{
    size_t nv = s->nvec;

    return PCI_FIXED + (nv > 0 ? 2u * (size_t)s->nq : 0u) + 16u * nv +
           4u * ((nv + 31u) / 32u);
}

size_t vdm_pci_state_size(const struct vdm_pci *t)
{
    const struct pci_state *s = pci_cst(t);
    size_t n;

    if (s == NULL)
        return 0;
    n = vdmi_state_dev_size(s->dev);
    return n != 0 ? n + VDM_STATE_SEC_BYTES + pci_bytes(s) : 0;
}

int vdm_pci_save(const struct vdm_pci *t, void *buf, size_t len)
{
    const struct pci_state *s = pci_cst(t);
    uint8_t *b = (uint8_t *)buf;
    uint8_t *p;
    size_t own, n;
    uint32_t i;
    int pos;

    if (s == NULL || b == NULL)
        return VDM_EINVAL;
    n = vdm_pci_state_size(t);
    if (n == 0 || len < n)
        return n == 0 ? VDM_EINVAL : VDM_ENOSPC;
    own = pci_bytes(s);
    pos = vdmi_state_save_dev(s->dev, b, len - VDM_STATE_SEC_BYTES - own);
    if (pos < 0)
        return pos;
    p = b + pos;
    vdmi_state_sec(p, VDM_STATE_SEC_PCI, (uint32_t)own);
    p += VDM_STATE_SEC_BYTES;
    __builtin_memcpy(p, s->cfg, VDM_PCI_CFG_BYTES);
    vdm_put_le16(p + 256, s->nq);
    vdm_put_le16(p + 258, s->nvec);
    vdm_put_le32(p + 260, s->dfselect);
    vdm_put_le32(p + 264, s->gfselect);
    vdm_put_le32(p + 268, s->gen_seen);
    vdm_put_le16(p + 272, s->config_vector);
    vdm_put_le16(p + 274, s->queue_sel);
    p[276] = s->gen8;
    p[277] = s->isr;
    vdm_put_le16(p + 278, 0);
    p += PCI_FIXED;
    if (s->nvec > 0) {
        for (i = 0; i < s->nq; i++, p += 2)
            vdm_put_le16(p, (uint16_t)s->qvec[i]);
        for (i = 0; i < 4u * (uint32_t)s->nvec; i++, p += 4)
            vdm_put_le32(p, s->table[i]);
        for (i = 0; i < ((uint32_t)s->nvec + 31u) / 32u; i++, p += 4)
            vdm_put_le32(p, s->pba[i]);
    }
    pos += (int)(VDM_STATE_SEC_BYTES + own);
    vdmi_state_finish(b, (uint32_t)pos);
    return pos;
}

/* Spec "MSI-X Vector Configuration": a vector is NO_VECTOR or in the
 * table. */
static int vec_ok(const struct pci_state *s, uint32_t v)
{
    return v == VDM_PCI_NO_VECTOR || v < s->nvec;
}

/* Check the PCI section against the freshly reset function @p s. */
static int check_pci(const struct pci_state *s, const struct vdmi_img *img)
{
    const uint8_t *p = img->pci;
    uint32_t dw, i, nw;

    if (p == NULL || img->pci_len != pci_bytes(s) ||
        vdm_le16(p + 256) != s->nq || vdm_le16(p + 258) != s->nvec ||
        vdm_le16(p + 278) != 0)
        return VDM_EINVAL;
    /* Configuration space: only what the guest may write can differ (the
     * same device, the same capabilities and BAR sizes); the INTx status
     * bit is recomputed. */
    for (dw = 0; dw < VDM_PCI_CFG_BYTES; dw += 4u) {
        uint32_t diff = vdm_le32(p + dw) ^ vdm_le32(s->cfg + dw);
        uint32_t ok = vdmi_pci_wmask(s, dw);

        if (dw == CFG_COMMAND)
            ok |= (uint32_t)STATUS_INTX << 16;
        if ((diff & ~ok) != 0)
            return VDM_EINVAL;
    }
    if ((p[277] & (uint8_t) ~(VDM_PCI_ISR_QUEUE | VDM_PCI_ISR_CONFIG)) != 0)
        return VDM_EINVAL;
    if (!vec_ok(s, vdm_le16(p + 272)))
        return VDM_ERANGE;
    if (s->nvec == 0)
        return 0;
    p += PCI_FIXED;
    for (i = 0; i < s->nq; i++, p += 2) {
        if (!vec_ok(s, vdm_le16(p)))
            return VDM_ERANGE;
    }
    for (i = 0; i < s->nvec; i++, p += 16) {
        /* Message Address dword aligned; Vector Control: Mask only. */
        if ((vdm_le32(p) & 3u) != 0 ||
            (vdm_le32(p + 12) & ~(uint32_t)MSIX_ENTRY_MASKED) != 0)
            return VDM_EINVAL;
    }
    nw = ((uint32_t)s->nvec + 31u) / 32u;
    if ((s->nvec % 32u) != 0 &&
        (vdm_le32(p + 4u * (nw - 1u)) >> (s->nvec % 32u)) != 0)
        return VDM_ERANGE; /* pending bits beyond the table */
    return 0;
}

int vdm_pci_restore(struct vdm_pci *t, const void *buf, size_t len)
{
    struct pci_state *s = pci_st(t);
    struct vdmi_img img;
    const uint8_t *p;
    uint32_t i;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    (void)vdm_pci_reset(t); /* function, device, image back to init */
    rc = vdmi_state_parse(buf, len, &img);
    if (rc == 0)
        rc = check_pci(s, &img);
    if (rc == 0)
        rc = vdmi_state_restore_dev(s->dev, &img);
    if (rc < 0) {
        (void)vdm_pci_reset(t);
        return rc;
    }
    p = img.pci;
    __builtin_memcpy(s->cfg, p, VDM_PCI_CFG_BYTES);
    s->dfselect = vdm_le32(p + 260);
    s->gfselect = vdm_le32(p + 264);
    s->gen_seen = vdm_le32(p + 268);
    s->config_vector = vdm_le16(p + 272);
    s->queue_sel = vdm_le16(p + 274);
    s->gen8 = p[276];
    s->isr = p[277];
    if (s->nvec > 0) {
        p += PCI_FIXED;
        for (i = 0; i < s->nq; i++, p += 2)
            s->qvec[i] = vdm_le16(p);
        for (i = 0; i < 4u * (uint32_t)s->nvec; i++, p += 4)
            s->table[i] = vdm_le32(p);
        for (i = 0; i < ((uint32_t)s->nvec + 31u) / 32u; i++, p += 4)
            s->pba[i] = vdm_le32(p);
    }
    /* INTx level and status bit from the ISR byte and the command
     * register; pending messages of unmasked vectors go out. */
    vdmi_pci_update_intx(s);
    vdmi_pci_msix_flush_all(s);
    return 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_pcistate_left_out;
#endif
