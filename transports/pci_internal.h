/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to the virtio-pci transport (transports/pci_*.c): the state
 * behind struct vdm_pci and the functions its files share. Not installed,
 * not exported (no VDM_API); cross-file functions are named vdmi_pci_*.
 *
 * virtio-pci modern (non-transitional) transport. Spec: "Virtio Over PCI
 * Bus": "PCI Device Discovery", "Virtio Structure PCI Capabilities",
 * "Common configuration structure layout", "Notification structure layout",
 * "ISR status capability", "Device-specific configuration", "PCI
 * configuration access capability", "MSI-X Vector Configuration", "Used
 * Buffer Notifications", "Notification of Device Configuration Changes";
 * and the PCI Local Bus rules for the type 0 header, BAR sizing and the
 * MSI-X capability, table and PBA.
 *
 * The files follow the spec's structure:
 *   pci_cfg.c     configuration space image, capabilities, BAR layout and
 *                 decoding, the PCI configuration access window; set-up
 *   pci_irq.c     MSI-X (table, PBA, masking) and INTx
 *   pci_common.c  BAR structures: common configuration, notifications,
 *                 ISR status, device-specific configuration
 *
 * The configuration space is kept as a 256-byte image; a per-dword mask
 * says which bits the guest may change, which gives BAR sizing and
 * read-only fields at no cost. The device core owns status, features, queue
 * registers and the config generation; the transport keeps the selectors,
 * the vector map, the MSI-X table, the ISR byte and the INTx level. */
#ifndef VDM_PCI_INTERNAL_H
#define VDM_PCI_INTERNAL_H

#include "vdm/admin.h"
#include "vdm/pci.h"

#include "abi_internal.h"
#include "le.h"

#define PCI_MAGIC_STATE 0x69637076u /* "vpci": set by init */

/* Type 0 header (PCI Local Bus). */
#define CFG_VENDOR        0x00u
#define CFG_DEVICE        0x02u
#define CFG_COMMAND       0x04u
#define CFG_STATUS        0x06u
#define CFG_REVISION      0x08u
#define CFG_CACHE_LINE    0x0cu
#define CFG_BAR0          0x10u
#define CFG_SUBSYS_VENDOR 0x2cu
#define CFG_SUBSYS_ID     0x2eu
#define CFG_CAP_PTR       0x34u
#define CFG_INT_LINE      0x3cu
#define CFG_INT_PIN       0x3du
#define CFG_CAPS_START    0x40u

#define CMD_MEMORY       0x0002u
#define CMD_MASTER       0x0004u
#define CMD_INTX_DISABLE 0x0400u
#define STATUS_INTX      0x0008u
#define STATUS_CAP_LIST  0x0010u

#define BAR_MEM_64       0x4u
#define BAR_MEM_PREFETCH 0x8u

#define CAP_ID_VNDR       0x09u
#define CAP_ID_MSIX       0x11u
#define VCAP_LEN          16u /* struct virtio_pci_cap */
#define VCAP_NOTIFY_LEN   20u /* + notify_off_multiplier */
#define VCAP_PCICFG_LEN   20u /* + pci_cfg_data[4] */
#define MSIX_CAP_LEN      12u
#define MSIX_CTRL_ENABLE  0x8000u
#define MSIX_CTRL_FMASK   0x4000u
#define MSIX_ENTRY_MASKED 1u

#define PAGE                4096u
#define ISR_LEN             4u
#define NOTIFY_MULT_DEFAULT 4u

enum { R_COMMON, R_ISR, R_DEVICE, R_NOTIFY, R_TABLE, R_PBA, R_COUNT };

struct pci_state {
    uint32_t magic;
    uint32_t flags;
    struct vdm_dev *dev;
    const struct vdm_pci_ops *ops;
    void *host;
    uint32_t *qvec;  /* [nq]: queue_msix_vector of each queue */
    uint32_t *table; /* [4 * nvec]: addr lo, addr hi, data, vector control */
    uint32_t *pba;   /* [(nvec + 31) / 32] pending bits */
    uint64_t bar_size[6];
    uint32_t reg_off[R_COUNT];
    uint32_t reg_len[R_COUNT]; /* 0: region absent */
    uint8_t reg_bar[R_COUNT];
    uint8_t bar64;      /* BARs are 64-bit */
    uint8_t cap_pcicfg; /* position of the PCI config access capability */
    uint8_t cap_msix;   /* position of the MSI-X capability (0: none) */
    uint8_t revision;
    uint16_t nq;
    uint16_t nvec;
    uint16_t subsys_vendor;
    uint16_t subsys_id;
    uint32_t class_code;
    uint32_t notify_mult;
    uint32_t dfselect;
    uint32_t gfselect;
    uint32_t gen_seen; /* device core generation behind gen8 */
    uint16_t config_vector;
    uint16_t queue_sel;
    uint8_t gen8; /* config_generation presented to the driver */
    uint8_t isr;  /* ISR status */
    uint8_t intx; /* INTx line level last signalled */
    uint8_t reserved;
    uint8_t cfg[VDM_PCI_CFG_BYTES];
};

_Static_assert(sizeof(struct pci_state) <= VDM_PCI_SIZE,
               "struct pci_state does not fit VDM_PCI_SIZE");
_Static_assert(alignof(struct pci_state) <= alignof(struct vdm_pci),
               "struct vdm_pci storage is under-aligned");

/* The state in the opaque storage of @p t; NULL when not initialised. */
static inline struct pci_state *pci_st(struct vdm_pci *t)
{
    struct pci_state *s;
    if (t == NULL)
        return NULL;
    s = (struct pci_state *)(void *)t->opaque;
    return s->magic == PCI_MAGIC_STATE ? s : NULL;
}

static inline const struct pci_state *pci_cst(const struct vdm_pci *t)
{
    const struct pci_state *s;
    if (t == NULL)
        return NULL;
    s = (const struct pci_state *)(const void *)t->opaque;
    return s->magic == PCI_MAGIC_STATE ? s : NULL;
}

static inline void plog(const struct pci_state *s, int level, const char *msg)
{
    if (VDM_LOG_ON(level) && VDM_HAS_HOOK(s->ops, struct vdm_pci_ops, log))
        s->ops->log(s->host, level, msg);
}

static inline uint16_t cfg16(const struct pci_state *s, uint32_t off)
{
    return vdm_le16(s->cfg + off);
}

/* pci_cfg.c: which bits of config dword @p dw the guest may write (for
 * pci_state.c). */
uint32_t vdmi_pci_wmask(const struct pci_state *s, uint32_t dw);

/* pci_irq.c: MSI-X and INTx */

/* Bind device @p d to transport @p t: the device core's notifications
 * become MSI-X messages or INTx. */
void vdmi_pci_bind(struct vdm_pci *t, struct vdm_dev *d);
/* Drive the INTx line and the Interrupt Status bit from the ISR byte. */
void vdmi_pci_update_intx(struct pci_state *s);
/* Send every pending message whose vector is no longer masked. */
void vdmi_pci_msix_flush_all(struct pci_state *s);
/* MSI-X table access at @p off (width 4 or 8). */
int vdmi_pci_table_access(struct pci_state *s, uint32_t off, uint32_t width,
                          uint64_t *rval, uint64_t wval, int write);
/* MSI-X PBA read at @p off (width 4 or 8). */
int vdmi_pci_pba_read(struct pci_state *s, uint32_t off, uint32_t width,
                      uint64_t *val);

/* pci_common.c: the structures in the BARs */

/* Transport part of a device reset (vectors, ISR, selectors). */
void vdmi_pci_regs_reset(struct pci_state *s);
/* An access of @p width bytes at @p off in BAR @p bar. */
int vdmi_pci_bar_access(struct pci_state *s, uint32_t bar, uint64_t off,
                        uint32_t width, uint64_t *rval, uint64_t wval,
                        int write);

#endif /* VDM_PCI_INTERNAL_H */
