/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci modern (non-transitional) transport.
 *
 * Spec: "Virtio Over PCI Bus": "PCI Device Discovery", "Virtio Structure PCI
 * Capabilities", "Common configuration structure layout", "Notification
 * structure layout", "ISR status capability", "Device-specific
 * configuration", "PCI configuration access capability", "MSI-X Vector
 * Configuration", "Used Buffer Notifications", "Notification of Device
 * Configuration Changes"; and the PCI Local Bus rules for the type 0
 * header, BAR sizing and the MSI-X capability, table and PBA.
 *
 * The configuration space is kept as a 256-byte image; a per-dword mask
 * says which bits the guest may change, which gives BAR sizing and
 * read-only fields at no cost. The device core owns status, features, queue
 * registers and the config generation; this file keeps the selectors, the
 * vector map, the MSI-X table, the ISR byte and the INTx level. */
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
    uint8_t cfg[VDM_PCI_CFG_SIZE];
};

_Static_assert(sizeof(struct pci_state) <= VDM_PCI_SIZE,
               "struct pci_state does not fit VDM_PCI_SIZE");
_Static_assert(alignof(struct pci_state) <= alignof(struct vdm_pci),
               "struct vdm_pci storage is under-aligned");

VDM_OPAQUE_ACCESSORS(st, cst, vdm_pci, pci_state, PCI_MAGIC_STATE)

static void plog(const struct pci_state *s, int level, const char *msg)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_pci_ops, log))
        s->ops->log(s->host, level, msg);
}

/* ------------------------------------------------------------------------ */
/* Interrupts */

static uint16_t cfg16(const struct pci_state *s, uint32_t off)
{
    return vdm_le16(s->cfg + off);
}

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

static void msix_flush_all(struct pci_state *s)
{
    uint16_t v;
    for (v = 0; v < s->nvec; v++)
        msix_flush(s, v);
}

/* INTx follows the ISR byte while MSI-X is off (spec "ISR status
 * capability": Interrupt Status = OR of the ISR bits; the line obeys the
 * Command register's INTx Disable). */
static void update_intx(struct pci_state *s)
{
    int pending = s->isr != 0 && !msix_enabled(s);
    uint16_t status = cfg16(s, CFG_STATUS);
    int line;

    if (pending)
        status |= STATUS_INTX;
    else
        status &= (uint16_t)~STATUS_INTX;
    vdm_put_le16(s->cfg + CFG_STATUS, status);
    line = pending && (cfg16(s, CFG_COMMAND) & CMD_INTX_DISABLE) == 0 &&
           (s->flags & VDM_PCI_F_NO_INTX) == 0;
    if (line != s->intx) {
        s->intx = (uint8_t)line;
        if (VDM_HAS_HOOK(s->ops, struct vdm_pci_ops, irq_level))
            s->ops->irq_level(s->host, line);
    }
}

/* Spec "Used Buffer Notifications". */
static void on_queue(void *ctx, uint16_t q)
{
    struct pci_state *s = st((struct vdm_pci *)ctx);
    if (s == NULL)
        return;
    if (msix_enabled(s)) {
        if (q < s->nq && s->qvec[q] != VDM_PCI_NO_VECTOR)
            msix_fire(s, (uint16_t)s->qvec[q]);
        return; /* NO_VECTOR: the device MUST NOT interrupt */
    }
    s->isr |= VDM_PCI_ISR_QUEUE;
    update_intx(s);
}

/* Spec "Notification of Device Configuration Changes" and "ISR status
 * capability": the config bit is set before any notification. */
static void on_config(void *ctx)
{
    struct pci_state *s = st((struct vdm_pci *)ctx);
    if (s == NULL)
        return;
    s->isr |= VDM_PCI_ISR_CONFIG;
    if (msix_enabled(s)) {
        if (s->config_vector != VDM_PCI_NO_VECTOR)
            msix_fire(s, s->config_vector);
        return;
    }
    update_intx(s);
}

static const struct vdm_transport_ops pci_sink = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = on_queue,
    .notify_config = on_config,
};

/* ------------------------------------------------------------------------ */
/* Configuration space image */

static uint32_t default_class(uint32_t device_id)
{
    switch (device_id) {
    case 1: /* network */ return 0x020000u;   /* network controller, Ethernet */
    case 2:                                   /* block */
    case 8: /* SCSI host */ return 0x010000u; /* mass storage, SCSI */
    case 3:                                   /* console */
        return 0x078000u;                  /* communication controller, other */
    case 16: /* GPU */ return 0x038000u;   /* display controller, other */
    case 18: /* input */ return 0x098000u; /* input device, other */
    case 25: /* sound */ return 0x040100u; /* multimedia, audio */
    case 26: /* file system */ return 0x018000u; /* mass storage, other */
    default: return VDM_PCI_CLASS_DEFAULT;
    }
}

/* One struct virtio_pci_cap at @p pos; returns its length. */
static uint32_t put_vcap(struct pci_state *s, uint32_t pos, uint8_t type,
                         int region, uint32_t len)
{
    uint8_t *c = s->cfg + pos;
    c[0] = CAP_ID_VNDR;
    c[2] = (uint8_t)len;
    c[3] = type;
    if (region >= 0) {
        c[4] = s->reg_bar[region];
        vdm_put_le32(c + 8, s->reg_off[region]);
        vdm_put_le32(c + 12, s->reg_len[region]);
    }
    return len;
}

static void build_image(struct pci_state *s)
{
    uint8_t *c = s->cfg;
    uint32_t pos = CFG_CAPS_START, prev = CFG_CAP_PTR, i;
    uint32_t devid = vdm_dev_device_id(s->dev);

    __builtin_memset(c, 0, sizeof(s->cfg));
    vdm_put_le16(c + CFG_VENDOR, (uint16_t)VDM_PCI_VENDOR_ID);
    vdm_put_le16(c + CFG_DEVICE, (uint16_t)(VDM_PCI_DEVICE_ID_BASE + devid));
    vdm_put_le16(c + CFG_STATUS, STATUS_CAP_LIST);
    vdm_put_le32(c + CFG_REVISION,
                 (uint32_t)s->revision | (s->class_code << 8));
    for (i = 0; i < 6; i++) {
        if (s->bar_size[i] != 0)
            vdm_put_le32(c + CFG_BAR0 + 4 * i,
                         (s->bar64 ? BAR_MEM_64 : 0u) |
                             ((s->flags & VDM_PCI_F_PREFETCH) != 0
                                  ? BAR_MEM_PREFETCH
                                  : 0u));
    }
    vdm_put_le16(c + CFG_SUBSYS_VENDOR, s->subsys_vendor);
    vdm_put_le16(c + CFG_SUBSYS_ID, s->subsys_id);
    c[CFG_INT_PIN] = (s->flags & VDM_PCI_F_NO_INTX) != 0 ? 0 : 1; /* INTA# */

    /* Capability list, in the order the spec suggests drivers prefer:
     * common, notify, ISR, device, PCI config access, then MSI-X. */
#define LINK(len)                                                              \
    do {                                                                       \
        c[prev] = (uint8_t)pos;                                                \
        prev = pos + 1;                                                        \
        pos += (len);                                                          \
    } while (0)
    LINK(put_vcap(s, pos, VDM_PCI_CAP_COMMON_CFG, R_COMMON, VCAP_LEN));
    vdm_put_le32(c + pos + 16, s->notify_mult);
    LINK(put_vcap(s, pos, VDM_PCI_CAP_NOTIFY_CFG, R_NOTIFY, VCAP_NOTIFY_LEN));
    LINK(put_vcap(s, pos, VDM_PCI_CAP_ISR_CFG, R_ISR, VCAP_LEN));
    if (s->reg_len[R_DEVICE] != 0)
        LINK(put_vcap(s, pos, VDM_PCI_CAP_DEVICE_CFG, R_DEVICE, VCAP_LEN));
    s->cap_pcicfg = (uint8_t)pos;
    LINK(put_vcap(s, pos, VDM_PCI_CAP_PCI_CFG, -1, VCAP_PCICFG_LEN));
    if (s->nvec > 0) {
        s->cap_msix = (uint8_t)pos;
        c[pos] = CAP_ID_MSIX;
        vdm_put_le16(c + pos + 2, (uint16_t)(s->nvec - 1u));
        vdm_put_le32(c + pos + 4, s->reg_off[R_TABLE] | s->reg_bar[R_TABLE]);
        vdm_put_le32(c + pos + 8, s->reg_off[R_PBA] | s->reg_bar[R_PBA]);
        LINK(MSIX_CAP_LEN);
    }
#undef LINK
}

/* Which bits of config dword @p dw the guest may write. */
static uint32_t wmask(const struct pci_state *s, uint32_t dw)
{
    if (dw == CFG_COMMAND)
        return CMD_MEMORY | CMD_MASTER | CMD_INTX_DISABLE;
    if (dw == CFG_CACHE_LINE)
        return 0xffu;
    if (dw >= CFG_BAR0 && dw < CFG_BAR0 + 24u) {
        uint32_t i = (dw - CFG_BAR0) / 4u;
        if (s->bar_size[i] != 0)
            return (uint32_t) ~(s->bar_size[i] - 1u) & ~0xfu;
        if (i > 0 && s->bar64 && s->bar_size[i - 1] != 0)
            return (uint32_t)(~(s->bar_size[i - 1] - 1u) >> 32);
        return 0;
    }
    if (dw == CFG_INT_LINE)
        return 0xffu;
    if (s->cap_msix != 0 && dw == s->cap_msix)
        return (uint32_t)(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) << 16;
    if (dw == s->cap_pcicfg + 4u)
        return 0xffu; /* cap.bar */
    if (dw == s->cap_pcicfg + 8u || dw == s->cap_pcicfg + 12u ||
        dw == s->cap_pcicfg + 16u)
        return 0xffffffffu; /* cap.offset, cap.length, pci_cfg_data */
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Layout */

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = PAGE;
    while (p < n)
        p <<= 1;
    return p;
}

static int bar_ok(const struct pci_state *s, uint32_t bar)
{
    return bar <= (s->bar64 ? 4u : 5u);
}

/* Place the regions, check them and size the BARs. */
static int layout(struct pci_state *s, const struct vdm_pci_config *cfg,
                  uint32_t cfg_size)
{
    uint64_t end[6] = {0, 0, 0, 0, 0, 0};
    uint32_t cfg_bar = cfg->cfg_bar, msix_bar = cfg->msix_bar;
    uint64_t notify_len;
    int i, j;

    if (!bar_ok(s, cfg_bar))
        return VDM_EINVAL;
    if (s->nvec > 0) {
        if (!bar_ok(s, msix_bar))
            return VDM_EINVAL;
        if (s->bar64 && msix_bar != cfg_bar &&
            (msix_bar == cfg_bar + 1u || cfg_bar == msix_bar + 1u))
            return VDM_EINVAL; /* overlaps the other 64-bit BAR */
    }
    s->notify_mult = (s->flags & VDM_PCI_F_LAYOUT) != 0
                         ? cfg->notify_off_multiplier
                         : NOTIFY_MULT_DEFAULT;
    /* Spec "Notification capability": 0, or a power of 2 that is a
     * multiple of 4 (NOTIFICATION_DATA may be offered). */
    if (s->notify_mult != 0 &&
        (s->notify_mult < 4u || (s->notify_mult & (s->notify_mult - 1u)) != 0))
        return VDM_EINVAL;
    notify_len = (uint64_t)(s->nq - 1u) * s->notify_mult + 4u;
    if (notify_len > 0xffffffffu)
        return VDM_EINVAL;

    s->reg_len[R_COMMON] = VDM_PCI_COMMON_SIZE;
    s->reg_len[R_ISR] = ISR_LEN;
    s->reg_len[R_DEVICE] = cfg_size;
    s->reg_len[R_NOTIFY] = (uint32_t)notify_len;
    s->reg_len[R_TABLE] = 16u * s->nvec;
    s->reg_len[R_PBA] = s->nvec > 0 ? 8u * ((s->nvec + 63u) / 64u) : 0u;
    for (i = 0; i < R_COUNT; i++)
        s->reg_bar[i] = (uint8_t)(i >= R_TABLE ? msix_bar : cfg_bar);

    if ((s->flags & VDM_PCI_F_LAYOUT) != 0) {
        s->reg_off[R_COMMON] = cfg->common_off;
        s->reg_off[R_ISR] = cfg->isr_off;
        s->reg_off[R_DEVICE] = cfg->device_off;
        s->reg_off[R_NOTIFY] = cfg->notify_off;
        s->reg_off[R_TABLE] = cfg->msix_table_off;
        s->reg_off[R_PBA] = cfg->msix_pba_off;
        if ((s->reg_off[R_COMMON] & 3u) != 0 ||
            (s->reg_off[R_DEVICE] & 3u) != 0 ||
            (s->reg_off[R_NOTIFY] & 3u) != 0 ||
            (s->reg_off[R_TABLE] & 7u) != 0 || (s->reg_off[R_PBA] & 7u) != 0)
            return VDM_EINVAL;
    } else {
        uint64_t next[6] = {0, 0, 0, 0, 0, 0};
        for (i = 0; i < R_COUNT; i++) {
            uint32_t b = s->reg_bar[i];
            if (s->reg_len[i] == 0)
                continue;
            if (next[b] > 0xffffffffu)
                return VDM_EINVAL;
            s->reg_off[i] = (uint32_t)next[b];
            next[b] +=
                ((uint64_t)s->reg_len[i] + PAGE - 1u) & ~(uint64_t)(PAGE - 1u);
        }
    }

    for (i = 0; i < R_COUNT; i++) {
        uint64_t e = (uint64_t)s->reg_off[i] + s->reg_len[i];
        if (s->reg_len[i] == 0)
            continue;
        if (e > 0x100000000ull)
            return VDM_EINVAL;
        for (j = 0; j < i; j++) {
            if (s->reg_len[j] == 0 || s->reg_bar[j] != s->reg_bar[i])
                continue;
            if (s->reg_off[i] < (uint64_t)s->reg_off[j] + s->reg_len[j] &&
                s->reg_off[j] < e)
                return VDM_EINVAL;
        }
        if (e > end[s->reg_bar[i]])
            end[s->reg_bar[i]] = e;
    }
    for (i = 0; i < 6; i++) {
        if (end[i] == 0)
            continue;
        s->bar_size[i] = pow2_at_least(end[i]);
        if (!s->bar64 && s->bar_size[i] > 0x80000000ull)
            return VDM_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Set-up */

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
static void regs_reset(struct pci_state *s)
{
    vectors_reset(s);
    s->isr = 0;
    s->dfselect = 0;
    s->gfselect = 0;
    s->queue_sel = 0;
    update_intx(s);
}

/* PCI function reset; @p reset_dev also resets the device (a device just
 * initialised is in reset state already). */
static void function_reset(struct pci_state *s, int reset_dev)
{
    uint32_t i;
    if (reset_dev)
        (void)vdm_dev_set_status(s->dev, 0);
    build_image(s);
    for (i = 0; i < s->nvec; i++) {
        s->table[4u * i] = 0;
        s->table[4u * i + 1u] = 0;
        s->table[4u * i + 2u] = 0;
        s->table[4u * i + 3u] = MSIX_ENTRY_MASKED;
    }
    regs_reset(s);
}

int vdm_pci_init(struct vdm_pci *t, struct vdm_dev *d,
                 const struct vdm_pci_config *cfg)
{
    struct pci_state *s;
    uint32_t devid;
    size_t need;
    int rc;

    if (t == NULL || d == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (!VDM_SIZE_HAS(cfg->size, struct vdm_pci_config, host))
        return VDM_ESIZE;
    if (cfg->ops != NULL && cfg->ops->size < sizeof(uint32_t))
        return VDM_ESIZE;
    if (cfg->reserved0 != 0 || cfg->reserved1 != 0 ||
        (cfg->flags & ~(uint32_t)(VDM_PCI_F_LAYOUT | VDM_PCI_F_BAR32 |
                                  VDM_PCI_F_PREFETCH | VDM_PCI_F_NO_INTX)) != 0)
        return VDM_EINVAL;
    if (vdm_dev_num_queues(d) == 0)
        return VDM_EINVAL; /* not an initialised device */
    if (cfg->msix_vectors > VDM_PCI_MSIX_MAX)
        return VDM_EINVAL;
    if (cfg->msix_vectors > 0 &&
        !VDM_HAS_HOOK(cfg->ops, struct vdm_pci_ops, msi))
        return VDM_EINVAL;
    need = VDM_PCI_STORAGE_WORDS(vdm_dev_num_queues(d), cfg->msix_vectors);
    if (need > 0 && cfg->storage == NULL)
        return VDM_EINVAL;
    if (cfg->storage_words < need)
        return VDM_ENOSPC;

    __builtin_memset(t, 0, sizeof(*t));
    s = (struct pci_state *)(void *)t->opaque;
    s->flags = cfg->flags;
    s->dev = d;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->nq = vdm_dev_num_queues(d);
    s->nvec = cfg->msix_vectors;
    if (s->nvec > 0) {
        s->qvec = cfg->storage;
        s->table = s->qvec + s->nq;
        s->pba = s->table + 4u * s->nvec;
    }
    s->bar64 = (cfg->flags & VDM_PCI_F_BAR32) == 0;
    devid = vdm_dev_device_id(d);
    s->revision = cfg->revision != 0 ? cfg->revision : 1u;
    s->subsys_vendor = cfg->subsys_vendor_id != 0 ? cfg->subsys_vendor_id
                                                  : (uint16_t)VDM_PCI_VENDOR_ID;
    s->subsys_id = cfg->subsys_id != 0 ? cfg->subsys_id
                                       : (uint16_t)VDM_PCI_SUBSYS_ID_DEFAULT;
    s->class_code =
        (cfg->class_code != 0 ? cfg->class_code : default_class(devid)) &
        0xffffffu;
    rc = layout(s, cfg, vdm_dev_config_size(d));
    if (rc < 0) {
        __builtin_memset(t, 0, sizeof(*t));
        return rc;
    }
    s->gen_seen = vdm_dev_config_generation(d);
    s->magic = PCI_MAGIC_STATE;
    function_reset(s, 0);
    vdm_dev_bind(d, &pci_sink, t);
    return 0;
}

int vdm_pci_reset(struct vdm_pci *t)
{
    struct pci_state *s = st(t);
    if (s == NULL)
        return VDM_EINVAL;
    function_reset(s, 1);
    return 0;
}

int vdm_pci_intx_level(const struct vdm_pci *t)
{
    const struct pci_state *s = cst(t);
    return s != NULL ? s->intx : 0;
}

static uint64_t bar_addr(const struct pci_state *s, uint32_t bar)
{
    uint64_t a = vdm_le32(s->cfg + CFG_BAR0 + 4u * bar) & ~(uint64_t)0xfu;
    if (s->bar64)
        a |= (uint64_t)vdm_le32(s->cfg + CFG_BAR0 + 4u * (bar + 1u)) << 32;
    return a;
}

int vdm_pci_bar_info(const struct vdm_pci *t, uint32_t bar, uint64_t *addr,
                     uint64_t *size)
{
    const struct pci_state *s = cst(t);
    if (s == NULL || bar > 5)
        return VDM_EINVAL;
    if (s->bar_size[bar] == 0)
        return VDM_ENOENT;
    if (addr != NULL)
        *addr = bar_addr(s, bar);
    if (size != NULL)
        *size = s->bar_size[bar];
    return 0;
}

int vdm_pci_decode(const struct vdm_pci *t, uint64_t addr, uint32_t *bar,
                   uint64_t *off)
{
    const struct pci_state *s = cst(t);
    uint32_t i;

    if (s == NULL || bar == NULL || off == NULL)
        return VDM_EINVAL;
    if ((cfg16(s, CFG_COMMAND) & CMD_MEMORY) == 0)
        return VDM_ENOENT;
    for (i = 0; i < 6; i++) {
        uint64_t base;
        if (s->bar_size[i] == 0)
            continue;
        base = bar_addr(s, i);
        if (base == 0 || addr < base || addr - base >= s->bar_size[i])
            continue;
        *bar = i;
        *off = addr - base;
        return 0;
    }
    return VDM_ENOENT;
}

/* ------------------------------------------------------------------------ */
/* BAR regions */

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
    case VDM_PCI_COMMON_NUMQ: *val = s->nq; return 0;
    case VDM_PCI_COMMON_STATUS: *val = vdm_dev_status(s->dev); return 0;
    case VDM_PCI_COMMON_CFGGEN:
        gen_sync(s);
        *val = s->gen8;
        return 0;
    case VDM_PCI_COMMON_Q_SELECT: *val = s->queue_sel; return 0;
    case VDM_PCI_COMMON_ADM_Q_IDX:
    case VDM_PCI_COMMON_ADM_Q_NUM: return 0; /* no administration virtqueues */
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
            regs_reset(s);
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

/* Spec "Available Buffer Notifications" / "Notification structure layout":
 * queue q's address is notify_off + q * notify_off_multiplier. */
static int notify_write(struct pci_state *s, uint32_t off, uint32_t width,
                        uint64_t val)
{
    uint32_t v = (uint32_t)val;
    uint32_t q;

    if (width != 2 && width != 4) {
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

static int table_access(struct pci_state *s, uint32_t off, uint32_t width,
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
        uint32_t v = (uint32_t)(wval >> (32u * i));
        if (w == 0)
            v &= ~3u; /* Message Address is dword aligned */
        else if (w == 3)
            v &= MSIX_ENTRY_MASKED;
        s->table[4u * e + w] = v;
    }
    if ((before & MSIX_ENTRY_MASKED) != 0 &&
        (s->table[4u * e + 3u] & MSIX_ENTRY_MASKED) == 0)
        msix_flush(s, (uint16_t)e);
    return 0;
}

static int pba_read(struct pci_state *s, uint32_t off, uint32_t width,
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

static int bar_access(struct pci_state *s, uint32_t bar, uint64_t off,
                      uint32_t width, uint64_t *rval, uint64_t wval, int write)
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
    if (width < 8)
        wval &= ((uint64_t)1 << (8u * width)) - 1u;
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
                update_intx(s);
            }
            return 0;
        case R_DEVICE: return dev_config(s, roff, width, rval, wval, write);
        case R_NOTIFY:
            if (!write) {
                plog(s, VDM_LOG_WARN, "pci: notify region read ignored");
                return VDM_ENOTSUP;
            }
            return notify_write(s, roff, width, wval);
        case R_TABLE: return table_access(s, roff, width, rval, wval, write);
        default: /* R_PBA */
            if (write) {
                plog(s, VDM_LOG_WARN, "pci: PBA write ignored");
                return VDM_ENOTSUP;
            }
            return pba_read(s, roff, width, rval);
        }
    }
    plog(s, VDM_LOG_WARN, "pci: BAR access outside every structure ignored");
    return VDM_ERANGE;
}

int vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                     uint32_t width, uint64_t *val)
{
    struct pci_state *s = st(t);
    if (val != NULL)
        *val = 0;
    if (s == NULL || val == NULL)
        return VDM_EINVAL;
    return bar_access(s, bar, off, width, val, 0, 0);
}

int vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                      uint32_t width, uint64_t val)
{
    struct pci_state *s = st(t);
    if (s == NULL)
        return VDM_EINVAL;
    return bar_access(s, bar, off, width, NULL, val, 1);
}

/* ------------------------------------------------------------------------ */
/* Configuration space accesses */

/* Spec "PCI configuration access capability": pci_cfg_data is a window of
 * cap.length (1, 2 or 4) bytes at cap.offset in BAR cap.bar. Returns 0 when
 * the window is usable and fills bar/off/len. */
static int window(struct pci_state *s, uint32_t *bar, uint32_t *off,
                  uint32_t *len)
{
    const uint8_t *c = s->cfg + s->cap_pcicfg;
    *bar = c[4];
    *off = vdm_le32(c + 8);
    *len = vdm_le32(c + 12);
    if ((*len != 1 && *len != 2 && *len != 4) || *off % *len != 0) {
        plog(s, VDM_LOG_WARN,
             "pci: config access window with a bad length or offset ignored");
        return VDM_EINVAL;
    }
    return 0;
}

static void window_read(struct pci_state *s)
{
    uint8_t *data = s->cfg + s->cap_pcicfg + 16u;
    uint32_t bar, off, len, i;
    uint64_t v = 0;

    if (window(s, &bar, &off, &len) < 0) {
        __builtin_memset(data, 0, 4); /* nothing read: the window shows 0 */
        return;
    }
    (void)bar_access(s, bar, off, len, &v, 0, 0);
    for (i = 0; i < len; i++)
        data[i] = (uint8_t)(v >> (8u * i));
}

static void window_write(struct pci_state *s)
{
    const uint8_t *data = s->cfg + s->cap_pcicfg + 16u;
    uint32_t bar, off, len, i;
    uint64_t v = 0;

    if (window(s, &bar, &off, &len) < 0)
        return;
    for (i = 0; i < len; i++)
        v |= (uint64_t)data[i] << (8u * i);
    (void)bar_access(s, bar, off, len, NULL, v, 1);
}

static int cfg_check(struct pci_state *s, uint32_t off, uint32_t width)
{
    if ((width != 1 && width != 2 && width != 4) || (off & (width - 1u)) != 0) {
        plog(s, VDM_LOG_WARN, "pci: config space access of a bad width");
        return VDM_EINVAL;
    }
    if (off >= 0x1000u) {
        plog(s, VDM_LOG_WARN, "pci: config space access beyond 4 KiB");
        return VDM_ERANGE;
    }
    return 0;
}

int vdm_pci_cfg_read(struct vdm_pci *t, uint32_t off, uint32_t width,
                     uint32_t *val)
{
    struct pci_state *s = st(t);
    uint32_t dw;
    int rc;

    if (val != NULL)
        *val = 0;
    if (s == NULL || val == NULL)
        return VDM_EINVAL;
    rc = cfg_check(s, off, width);
    if (rc < 0 || off >= VDM_PCI_CFG_SIZE)
        return rc;
    dw = off & ~3u;
    if (dw == s->cap_pcicfg + 16u)
        window_read(s);
    *val = vdm_le32(s->cfg + dw) >> (8u * (off & 3u));
    if (width < 4)
        *val &= (1u << (8u * width)) - 1u;
    return 0;
}

int vdm_pci_cfg_write(struct vdm_pci *t, uint32_t off, uint32_t width,
                      uint32_t val)
{
    struct pci_state *s = st(t);
    uint32_t dw, shift, m, wm, old, neu;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    rc = cfg_check(s, off, width);
    if (rc < 0 || off >= VDM_PCI_CFG_SIZE)
        return rc;
    dw = off & ~3u;
    shift = 8u * (off & 3u);
    m = (width == 4 ? 0xffffffffu : ((1u << (8u * width)) - 1u)) << shift;
    wm = wmask(s, dw) & m;
    old = vdm_le32(s->cfg + dw);
    neu = (old & ~wm) | ((val << shift) & wm);
    vdm_put_le32(s->cfg + dw, neu);

    if (dw == CFG_COMMAND) {
        update_intx(s);
    } else if (s->cap_msix != 0 && dw == s->cap_msix) {
        /* MSI-X Enable or Function Mask changed: INTx is off while MSI-X
         * is enabled; unmasking delivers what is pending. */
        update_intx(s);
        msix_flush_all(s);
    } else if (dw == s->cap_pcicfg + 16u) {
        window_write(s);
    }
    return 0;
}
