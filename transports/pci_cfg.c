/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-pci transport: the configuration space (type 0 header and
 * capability list), the BAR layout, decoding and sizing, the PCI
 * configuration access window, and set-up. Spec "PCI Device Discovery",
 * "Virtio Structure PCI Capabilities", "PCI configuration access
 * capability"; see pci_internal.h. */
#include "pci_internal.h"
#include "admin_internal.h"
#include "vdm/ids.h"

#if VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* ------------------------------------------------------------------------ */
/* Configuration space image */

static uint32_t default_class(uint32_t device_id)
{
    switch (device_id) {
    case VDM_VIRTIO_ID_NET: return 0x020000u; /* network controller, Ethernet */
    case VDM_VIRTIO_ID_BLK:
    case VDM_VIRTIO_ID_SCSI: return 0x010000u;    /* mass storage, SCSI */
    case VDM_VIRTIO_ID_CONSOLE: return 0x078000u; /* communication, other */
    case VDM_VIRTIO_ID_GPU: return 0x038000u;     /* display controller */
    case VDM_VIRTIO_ID_INPUT: return 0x098000u;   /* input device, other */
    case VDM_VIRTIO_ID_SOUND: return 0x040100u;   /* multimedia, audio */
    case VDM_VIRTIO_ID_FS: return 0x018000u;      /* mass storage, other */
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
        return ((uint32_t)MSIX_CTRL_ENABLE | (uint32_t)MSIX_CTRL_FMASK) << 16;
    if (dw == s->cap_pcicfg + 4u)
        return 0xffu; /* cap.bar */
    if (dw == s->cap_pcicfg + 8u || dw == s->cap_pcicfg + 12u ||
        dw == s->cap_pcicfg + 16u)
        return 0xffffffffu; /* cap.offset, cap.length, pci_cfg_data */
    return 0;
}

uint32_t vdmi_pci_wmask(const struct pci_state *s, uint32_t dw)
{
    return wmask(s, dw);
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

    s->reg_len[R_COMMON] = VDM_PCI_COMMON_BYTES;
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
                ((uint64_t)s->reg_len[i] + PAGE - 1u) & ~((uint64_t)PAGE - 1u);
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
    vdmi_pci_regs_reset(s);
}

int vdm_pci_init(struct vdm_pci *t, struct vdm_dev *d,
                 const struct vdm_pci_config *cfg)
{
    struct pci_state *s;
    uint32_t devid;
    uint16_t nq;
    size_t need;
    int rc;

    if (t == NULL || d == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (!VDM_SIZE_HAS(cfg->size, struct vdm_pci_config, host))
        return VDM_ESIZE;
    if (cfg->ops != NULL && cfg->ops->size < sizeof(uint32_t))
        return VDM_ESIZE;
    if (cfg->reserved0 != 0 || cfg->reserved1 != 0 ||
        (cfg->flags &
         ~(VDM_PCI_F_LAYOUT | VDM_PCI_F_BAR32 | VDM_PCI_F_PREFETCH |
           VDM_PCI_F_NO_INTX | VDM_PCI_F_MSIX_HOST)) != 0)
        return VDM_EINVAL;
    if (vdm_dev_num_queues(d) == 0)
        return VDM_EINVAL; /* not an initialised device */
    if (cfg->msix_vectors > VDM_PCI_MSIX_MAX)
        return VDM_EINVAL;
    if (cfg->msix_vectors > 0 &&
        !VDM_HAS_HOOK(cfg->ops, struct vdm_pci_ops, msi))
        return VDM_EINVAL;
    /* The administration queue (vdm/admin.h) follows the device's queues
     * and has its vector and notify address like them. */
    nq = (uint16_t)(vdm_dev_num_queues(d) + vdm_dev_admin_queue_num(d));
    need = VDM_PCI_STORAGE_WORDS(nq, cfg->msix_vectors);
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
    s->nq = nq;
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
    vdmi_pci_bind(t, d);
    /* The one transport that can present an administration queue (spec
     * "Reserved Feature Bits": ADMIN_VQ is PCI only): it brings the
     * engine, which an image without it never links. */
    vdmi_dev_admin_attach(d);
    return 0;
}

int vdm_pci_reset(struct vdm_pci *t)
{
    struct pci_state *s = pci_st(t);
    if (s == NULL)
        return VDM_EINVAL;
    function_reset(s, 1);
    return 0;
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
    const struct pci_state *s = pci_cst(t);
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
    const struct pci_state *s = pci_cst(t);
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
/* Configuration space accesses */

/* Spec "PCI configuration access capability": pci_cfg_data is a window of
 * cap.length (1, 2 or 4) bytes at cap.offset in BAR cap.bar. Returns 0 when
 * the window is usable and fills bar/off/len. A read through a window
 * never set up (length 0, as after reset) is what a dump of the whole
 * configuration space does (lspci -xxx, a vfio-user client reading it at
 * start): logged at debug level only (@p reading); any other bad window is
 * a driver fault (warning). */
static int window(struct pci_state *s, uint32_t *bar, uint32_t *off,
                  uint32_t *len, int reading)
{
    const uint8_t *c = s->cfg + s->cap_pcicfg;
    *bar = c[4];
    *off = vdm_le32(c + 8);
    *len = vdm_le32(c + 12);
    if (((*len != 1u) && (*len != 2u) && (*len != 4u)) ||
        ((*off % *len) != 0u)) {
        plog(s, ((reading != 0) && (*len == 0u)) ? VDM_LOG_DEBUG : VDM_LOG_WARN,
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

    if (window(s, &bar, &off, &len, 1) < 0) {
        __builtin_memset(data, 0, 4); /* nothing read: the window shows 0 */
        return;
    }
    (void)vdmi_pci_bar_access(s, bar, off, len, &v, 0, 0);
    for (i = 0; i < len; i++) {
        uint32_t sh = 8u * i;
        data[i] = (uint8_t)(v >> sh);
    }
}

static void window_write(struct pci_state *s)
{
    const uint8_t *data = s->cfg + s->cap_pcicfg + 16u;
    uint32_t bar, off, len, i;
    uint64_t v = 0;

    if (window(s, &bar, &off, &len, 0) < 0)
        return;
    for (i = 0; i < len; i++) {
        uint32_t sh = 8u * i;
        v |= (uint64_t)data[i] << sh;
    }
    (void)vdmi_pci_bar_access(s, bar, off, len, NULL, v, 1);
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
    struct pci_state *s = pci_st(t);
    uint32_t dw;
    int rc;

    if (val != NULL)
        *val = 0;
    if (s == NULL || val == NULL)
        return VDM_EINVAL;
    rc = cfg_check(s, off, width);
    if (rc < 0 || off >= VDM_PCI_CFG_BYTES)
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
    struct pci_state *s = pci_st(t);
    uint32_t dw, shift, m, wm, old, neu;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    rc = cfg_check(s, off, width);
    if (rc < 0 || off >= VDM_PCI_CFG_BYTES)
        return rc;
    dw = off & ~3u;
    shift = 8u * (off & 3u);
    m = (width == 4 ? 0xffffffffu : ((1u << (8u * width)) - 1u)) << shift;
    wm = wmask(s, dw) & m;
    old = vdm_le32(s->cfg + dw);
    neu = (old & ~wm) | ((val << shift) & wm);
    vdm_put_le32(s->cfg + dw, neu);

    if (dw == CFG_COMMAND) {
        vdmi_pci_update_intx(s);
    } else if (s->cap_msix != 0 && dw == s->cap_msix) {
        /* MSI-X Enable or Function Mask changed: INTx is off while MSI-X
         * is enabled; unmasking delivers what is pending. */
        vdmi_pci_update_intx(s);
        vdmi_pci_msix_flush_all(s);
    } else if (dw == s->cap_pcicfg + 16u) {
        window_write(s);
    } else {
        /* plain config bytes: stored above */
    }
    return 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_pcicfg_left_out;
#endif
