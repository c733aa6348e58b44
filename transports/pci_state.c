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

#include <stdbool.h>

#include "vdm/state.h"

#include "state_internal.h"

#if VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* PCI section payload, format version 1: a fixed part, then nq vector
 * words (when MSI-X is present), 4 words per table entry, the PBA words. */
#define PCI_FIXED 280u

static size_t pci_bytes(const struct pci_state *s)
{
    size_t nv = s->nvec;
    size_t n = (size_t)PCI_FIXED + (16u * nv) + (4u * ((nv + 31u) / 32u));

    if (nv > 0u) {
        n += 2u * (size_t)s->nq;
    }
    return n;
}

/* Bytes of the image: the device's and the PCI section (0: bad). */
static size_t image_bytes(const struct pci_state *s)
{
    size_t n = vdmi_state_dev_size(s->dev);

    if (n != 0u) {
        n += (size_t)VDM_STATE_SEC_BYTES + pci_bytes(s);
    }
    return n;
}

size_t vdm_pci_state_size(const struct vdm_pci *t)
{
    const struct pci_state *s = pci_cst(t);

    /* VDM_CONFIG_STATE 0 (vdm/config.h): no image */
    return ((VDM_CONFIG_STATE != 0) && (s != NULL)) ? image_bytes(s) : 0u;
}

/* The PCI payload at @p p (pci_bytes() bytes). */
static void save_pci(const struct pci_state *s, uint8_t *p)
{
    uint32_t i;
    uint32_t nv = s->nvec;
    uint8_t *v = &p[PCI_FIXED];

    __builtin_memcpy(p, s->cfg, VDM_PCI_CFG_BYTES);
    vdm_put_le16(&p[256], s->nq);
    vdm_put_le16(&p[258], s->nvec);
    vdm_put_le32(&p[260], s->dfselect);
    vdm_put_le32(&p[264], s->gfselect);
    vdm_put_le32(&p[268], s->gen_seen);
    vdm_put_le16(&p[272], s->config_vector);
    vdm_put_le16(&p[274], s->queue_sel);
    p[276] = s->gen8;
    p[277] = s->isr;
    vdm_put_le16(&p[278], 0u);
    if (nv > 0u) {
        for (i = 0u; i < s->nq; i++) {
            vdm_put_le16(&v[2u * i], (uint16_t)s->qvec[i]);
        }
        v = &v[2u * (uint32_t)s->nq];
        for (i = 0u; i < (4u * nv); i++) {
            vdm_put_le32(&v[4u * i], s->table[i]);
        }
        v = &v[16u * nv];
        for (i = 0u; i < ((nv + 31u) / 32u); i++) {
            vdm_put_le32(&v[4u * i], s->pba[i]);
        }
    }
}

int vdm_pci_save(const struct vdm_pci *t, void *buf, size_t len)
{
    const struct pci_state *s = pci_cst(t);
    uint8_t *b = (uint8_t *)buf;
    size_t own;
    size_t n;
    int pos;

    if (VDM_CONFIG_STATE == 0) {
        return VDM_ENOTSUP; /* save and restore left out (vdm/config.h) */
    }
    if ((s == NULL) || (b == NULL)) {
        return VDM_EINVAL;
    }
    n = image_bytes(s);
    if (n == 0u) {
        return VDM_EINVAL;
    }
    if (len < n) {
        return VDM_ENOSPC;
    }
    own = pci_bytes(s);
    pos = vdmi_state_save_dev(s->dev, b, n - VDM_STATE_SEC_BYTES - own);
    if (pos > 0) {
        size_t at = (size_t)pos;
        vdmi_state_sec(&b[at], VDM_STATE_SEC_PCI, (uint32_t)own);
        save_pci(s, &b[at + VDM_STATE_SEC_BYTES]);
        at += (size_t)VDM_STATE_SEC_BYTES + own;
        vdmi_state_finish(b, (uint32_t)at);
        pos = (int)at;
    }
    return pos;
}

/* Spec "MSI-X Vector Configuration": a vector is NO_VECTOR or in the
 * table. */
static bool vec_ok(const struct pci_state *s, uint32_t v)
{
    return (v == VDM_PCI_NO_VECTOR) || (v < s->nvec);
}

/* Configuration space: only what the guest may write can differ (the
 * same device, the same capabilities and BAR sizes); the INTx status bit
 * is recomputed. */
static int check_cfg(const struct pci_state *s, const uint8_t *p)
{
    uint32_t dw;
    int rc = 0;

    for (dw = 0u; dw < VDM_PCI_CFG_BYTES; dw += 4u) {
        uint32_t diff = vdm_le32(&p[dw]) ^ vdm_le32(&s->cfg[dw]);
        uint32_t ok = vdmi_pci_wmask(s, dw);

        if (dw == CFG_COMMAND) {
            ok |= (uint32_t)STATUS_INTX << 16;
        }
        if ((diff & ~ok) != 0u) {
            rc = VDM_EINVAL;
        }
    }
    return rc;
}

/* The MSI-X part: vectors, table entries, pending bits. */
static int check_msix(const struct pci_state *s, const uint8_t *v)
{
    uint32_t i;
    uint32_t nv = s->nvec;
    uint32_t nw = (nv + 31u) / 32u;
    const uint8_t *e = &v[2u * (uint32_t)s->nq];
    const uint8_t *pba = &e[16u * nv];
    int rc = 0;

    for (i = 0u; i < s->nq; i++) {
        if (!vec_ok(s, vdm_le16(&v[2u * i]))) {
            rc = VDM_ERANGE;
        }
    }
    for (i = 0u; i < nv; i++) {
        /* Message Address dword aligned; Vector Control: Mask only. */
        if (((vdm_le32(&e[16u * i]) & 3u) != 0u) ||
            ((vdm_le32(&e[(16u * i) + 12u]) & ~(uint32_t)MSIX_ENTRY_MASKED) !=
             0u)) {
            rc = VDM_EINVAL;
        }
    }
    if (((nv % 32u) != 0u) &&
        ((vdm_le32(&pba[4u * (nw - 1u)]) >> (nv % 32u)) != 0u)) {
        rc = VDM_ERANGE; /* pending bits beyond the table */
    }
    return rc;
}

/* Check the PCI section against the freshly reset function @p s. */
static int check_pci(const struct pci_state *s, const struct vdmi_img *img)
{
    const uint8_t *p = img->pci;
    int rc = 0;

    if ((p == NULL) || ((size_t)img->pci_len != pci_bytes(s)) ||
        (vdm_le16(&p[256]) != s->nq) || (vdm_le16(&p[258]) != s->nvec) ||
        (vdm_le16(&p[278]) != 0u)) {
        rc = VDM_EINVAL;
    } else if (check_cfg(s, p) < 0) {
        rc = VDM_EINVAL;
    } else if ((p[277] & ~((uint32_t)VDM_PCI_ISR_QUEUE |
                               (uint32_t)VDM_PCI_ISR_CONFIG)) != 0u) {
        rc = VDM_EINVAL;
    } else if (!vec_ok(s, vdm_le16(&p[272]))) {
        rc = VDM_ERANGE;
    } else if (s->nvec > 0u) {
        rc = check_msix(s, &p[PCI_FIXED]);
    } else {
        /* no MSI-X */
    }
    return rc;
}

/* Apply the checked PCI payload @p p. */
static void apply_pci(struct pci_state *s, const uint8_t *p)
{
    uint32_t i;
    uint32_t nv = s->nvec;
    const uint8_t *v = &p[PCI_FIXED];

    __builtin_memcpy(s->cfg, p, VDM_PCI_CFG_BYTES);
    s->dfselect = vdm_le32(&p[260]);
    s->gfselect = vdm_le32(&p[264]);
    s->gen_seen = vdm_le32(&p[268]);
    s->config_vector = vdm_le16(&p[272]);
    s->queue_sel = vdm_le16(&p[274]);
    s->gen8 = p[276];
    s->isr = p[277];
    if (nv > 0u) {
        for (i = 0u; i < s->nq; i++) {
            s->qvec[i] = vdm_le16(&v[2u * i]);
        }
        v = &v[2u * (uint32_t)s->nq];
        for (i = 0u; i < (4u * nv); i++) {
            s->table[i] = vdm_le32(&v[4u * i]);
        }
        v = &v[16u * nv];
        for (i = 0u; i < ((nv + 31u) / 32u); i++) {
            s->pba[i] = vdm_le32(&v[4u * i]);
        }
    }
}

int vdm_pci_restore(struct vdm_pci *t, const void *buf, size_t len)
{
    struct pci_state *s = pci_st(t);
    struct vdmi_img img;
    int rc;

    if (VDM_CONFIG_STATE == 0) {
        return VDM_ENOTSUP; /* save and restore left out (vdm/config.h) */
    }
    if (s == NULL) {
        return VDM_EINVAL;
    }
    (void)vdm_pci_reset(t); /* function, device, image back to init */
    rc = vdmi_state_parse(buf, len, &img);
    if (rc == 0) {
        rc = check_pci(s, &img);
    }
    if (rc == 0) {
        rc = vdmi_state_restore_dev(s->dev, &img);
    }
    if (rc < 0) {
        (void)vdm_pci_reset(t);
        return rc;
    }
    apply_pci(s, img.pci);
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
