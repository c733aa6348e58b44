/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: the device, its regions and its interrupts (protocol
 * VFIO_USER_DEVICE_GET_INFO, _GET_REGION_INFO, _GET_IRQ_INFO, _SET_IRQS,
 * VFIO_USER_REGION_READ/WRITE, VFIO_USER_DEVICE_RESET) and the PCI
 * function's interrupt sink (INTx level, MSI-X messages). */
#include "vfio_user_internal.h"

#include "vdm/le.h"

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

/* VFIO_DEVICE_FLAGS_* */
#define DEV_F_RESET 1u
#define DEV_F_PCI   2u
/* VFIO_REGION_INFO_FLAG_* */
#define REG_F_READ  1u
#define REG_F_WRITE 2u
/* VFIO_IRQ_INFO_* */
#define IRQ_F_EVENTFD    1u
#define IRQ_F_MASKABLE   2u
#define IRQ_F_AUTOMASKED 4u
/* VFIO_IRQ_SET_* */
#define SET_DATA_NONE    0x01u
#define SET_DATA_BOOL    0x02u
#define SET_DATA_EVENTFD 0x04u
#define SET_ACT_MASK     0x08u
#define SET_ACT_UNMASK   0x10u
#define SET_ACT_TRIGGER  0x20u
#define SET_DATA_ALL     0x07u
#define SET_ACT_ALL      0x38u

#define SZ_INFO    16u /* argsz, flags, num_regions, num_irqs */
#define SZ_REGINFO 32u /* argsz, flags, index, cap_offset, size, offset */
#define SZ_IRQINFO 16u /* argsz, flags, index, count */
#define SZ_IRQSET  20u /* argsz, flags, index, start, count */
#define SZ_RW      16u /* offset, region, count */

/* ------------------------------------------------------------------------ */
/* Interrupt delivery */

static int vbit(const uint32_t *map, uint32_t v)
{
    return ((map[v / 32u] >> (v % 32u)) & 1u) != 0u;
}

static void vset(uint32_t *map, uint32_t v, int on)
{
    if (on != 0) {
        map[v / 32u] |= 1u << (v % 32u);
    } else {
        map[v / 32u] &= ~(1u << (v % 32u));
    }
}

/* MSI-X vector v fires: a masked vector, or one without an eventfd, keeps
 * it pending (vfio_user.h). */
static void msix_fire(struct vfu_state *s, uint32_t v)
{
    if ((vbit(s->msix_mask, v) != 0) || (s->msix_fd[v] < 0)) {
        vset(s->msix_pend, v, 1);
        return;
    }
    vset(s->msix_pend, v, 0);
    s->ops->signal(s->host, s->msix_fd[v]);
}

static void msix_flush(struct vfu_state *s, uint32_t v)
{
    if (vbit(s->msix_pend, v) != 0) {
        msix_fire(s, v);
    }
}

/* INTx is level-triggered and AUTOMASKED: a raised, unmasked line signals
 * the eventfd once and masks itself until the client unmasks it. */
static void intx_check(struct vfu_state *s)
{
    if ((s->intx_level != 0u) && (s->intx_masked == 0u) && (s->intx_fd >= 0)) {
        s->intx_masked = 1;
        s->ops->signal(s->host, s->intx_fd);
    }
}

static void pci_irq_level(void *host, int level)
{
    struct vfu_state *s = (struct vfu_state *)host;
    s->intx_level = (level != 0) ? 1u : 0u;
    intx_check(s);
}

static void pci_msi(void *host, uint16_t vector, uint64_t addr, uint32_t data)
{
    struct vfu_state *s = (struct vfu_state *)host;
    (void)addr; /* the client's table holds the real message */
    (void)data;
    if (vector < s->nvec) {
        msix_fire(s, vector);
    }
}

static void pci_log(void *host, int level, const char *msg)
{
    vdmi_vfu_log((const struct vfu_state *)host, level, msg);
}

static const struct vdm_pci_ops pci_ops = {
    .size = sizeof(struct vdm_pci_ops),
    .irq_level = pci_irq_level,
    .msi = pci_msi,
    .log = pci_log,
};

const struct vdm_pci_ops *vdmi_vfu_pci_ops(void)
{
    return &pci_ops;
}

void vdmi_vfu_irqs_clear(struct vfu_state *s)
{
    uint32_t v;
    vdmi_vfu_close(s, s->intx_fd);
    s->intx_fd = -1;
    s->intx_masked = 0;
    for (v = 0; v < VDM_VFIO_USER_MAX_MSIX; v++) {
        vdmi_vfu_close(s, s->msix_fd[v]);
        s->msix_fd[v] = -1;
    }
    __builtin_memset(s->msix_mask, 0, sizeof(s->msix_mask));
    __builtin_memset(s->msix_pend, 0, sizeof(s->msix_pend));
}

/* ------------------------------------------------------------------------ */
/* Information */

int vdmi_vfu_get_info(struct vfu_state *s, struct vfu_msg *m)
{
    (void)s;
    if ((m->len < SZ_INFO) || (ld32(m->p) < SZ_INFO) || (m->rcap < SZ_INFO)) {
        return VDM_EINVAL;
    }
    st32(m->r, SZ_INFO);
    st32(m->r + 4, DEV_F_RESET | DEV_F_PCI);
    st32(m->r + 8, VDM_VFIO_USER_NUM_REGIONS);
    st32(m->r + 12, VDM_VFIO_USER_NUM_IRQS);
    m->rlen = SZ_INFO;
    return 0;
}

/* Size of region @p idx (0: not implemented). */
static uint64_t region_size(const struct vfu_state *s, uint32_t idx)
{
    uint64_t size = 0;
    if (idx == VDM_VFIO_USER_REGION_CONFIG) {
        return VDM_PCI_CFG_BYTES;
    }
    if ((idx <= 5u) && (vdm_pci_bar_info(&s->pci, idx, NULL, &size) == 0)) {
        return size;
    }
    return 0;
}

int vdmi_vfu_region_info(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t idx;
    uint64_t size;

    if ((m->len < SZ_REGINFO) || (ld32(m->p) < SZ_REGINFO) ||
        (m->rcap < SZ_REGINFO)) {
        return VDM_EINVAL;
    }
    idx = ld32(m->p + 8);
    if (idx >= VDM_VFIO_USER_NUM_REGIONS) {
        return VDM_EINVAL;
    }
    size = region_size(s, idx);
    st32(m->r, SZ_REGINFO); /* no capabilities: nothing is mappable */
    st32(m->r + 4, (size != 0u) ? (REG_F_READ | REG_F_WRITE) : 0u);
    st32(m->r + 8, idx);
    st32(m->r + 12, 0);
    st64(m->r + 16, size);
    st64(m->r + 24, 0);
    m->rlen = SZ_REGINFO;
    return 0;
}

static uint32_t irq_count(struct vfu_state *s, uint32_t idx)
{
    if (idx == VDM_VFIO_USER_IRQ_INTX) {
        uint32_t pin = 0; /* Interrupt Pin 0: no INTx (VDM_PCI_F_NO_INTX) */
        (void)vdm_pci_cfg_read(&s->pci, 0x3du, 1u, &pin);
        return (pin != 0u) ? 1u : 0u;
    }
    if (idx == VDM_VFIO_USER_IRQ_MSIX) {
        return s->nvec;
    }
    return 0;
}

int vdmi_vfu_irq_info(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t idx;
    uint32_t flags;

    if ((m->len < SZ_IRQINFO) || (ld32(m->p) < SZ_IRQINFO) ||
        (m->rcap < SZ_IRQINFO)) {
        return VDM_EINVAL;
    }
    idx = ld32(m->p + 8);
    if (idx >= VDM_VFIO_USER_NUM_IRQS) {
        return VDM_EINVAL;
    }
    if (idx == VDM_VFIO_USER_IRQ_INTX) {
        flags = IRQ_F_EVENTFD | IRQ_F_MASKABLE | IRQ_F_AUTOMASKED;
    } else if (idx == VDM_VFIO_USER_IRQ_MSIX) {
        flags = IRQ_F_EVENTFD | IRQ_F_MASKABLE;
    } else {
        flags = IRQ_F_EVENTFD;
    }
    st32(m->r, SZ_IRQINFO);
    st32(m->r + 4, flags);
    st32(m->r + 8, idx);
    st32(m->r + 12, irq_count(s, idx));
    m->rlen = SZ_IRQINFO;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* SET_IRQS */

/* Apply a NONE/BOOL action to sub-index v of index idx. */
static void irq_action(struct vfu_state *s, uint32_t idx, uint32_t v,
                       uint32_t act)
{
    if (idx == VDM_VFIO_USER_IRQ_INTX) {
        if (act == SET_ACT_MASK) {
            s->intx_masked = 1;
        } else if (act == SET_ACT_UNMASK) {
            s->intx_masked = 0;
            intx_check(s); /* still high: signal again (AUTOMASKED) */
        } else if (s->intx_fd >= 0) {
            s->ops->signal(s->host, s->intx_fd);
        } else {
            /* no eventfd: nothing to trigger */
        }
        return;
    }
    if (act == SET_ACT_MASK) {
        vset(s->msix_mask, v, 1);
    } else if (act == SET_ACT_UNMASK) {
        vset(s->msix_mask, v, 0);
        msix_flush(s, v);
    } else {
        msix_fire(s, v);
    }
}

/* Give sub-index v of index idx the eventfd fd (-1: none). */
static void irq_set_fd(struct vfu_state *s, uint32_t idx, uint32_t v,
                       int32_t fd)
{
    if (idx == VDM_VFIO_USER_IRQ_INTX) {
        vdmi_vfu_close(s, s->intx_fd);
        s->intx_fd = fd;
        intx_check(s);
        return;
    }
    vdmi_vfu_close(s, s->msix_fd[v]);
    s->msix_fd[v] = fd;
    if (fd >= 0) {
        msix_flush(s, v); /* a message kept for want of an eventfd */
    }
}

int vdmi_vfu_set_irqs(struct vfu_state *s, struct vfu_msg *m)
{
    uint32_t flags;
    uint32_t idx;
    uint32_t start;
    uint32_t count;
    uint32_t data;
    uint32_t act;
    uint32_t max;
    uint32_t want;
    uint32_t i;

    if ((m->len < SZ_IRQSET) || (ld32(m->p) != m->len)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: SET_IRQS malformed");
        return VDM_EINVAL;
    }
    flags = ld32(m->p + 4);
    idx = ld32(m->p + 8);
    start = ld32(m->p + 12);
    count = ld32(m->p + 16);
    data = flags & SET_DATA_ALL;
    act = flags & SET_ACT_ALL;
    /* one data kind, one action, nothing else */
    if (((flags & ~(SET_DATA_ALL | SET_ACT_ALL)) != 0u) ||
        ((data != SET_DATA_NONE) && (data != SET_DATA_BOOL) &&
         (data != SET_DATA_EVENTFD)) ||
        ((act != SET_ACT_MASK) && (act != SET_ACT_UNMASK) &&
         (act != SET_ACT_TRIGGER)) ||
        (idx >= VDM_VFIO_USER_NUM_IRQS)) {
        return VDM_EINVAL;
    }
    want = SZ_IRQSET;
    if (data == SET_DATA_BOOL) {
        want += count; /* count <= len - 20 is checked by the equality */
    }
    if ((m->len != want) || ((data == SET_DATA_BOOL) && (want < count)) ||
        ((data != SET_DATA_EVENTFD) && (m->nfds != 0u))) {
        return VDM_EINVAL;
    }
    max = irq_count(s, idx);
    /* count 0 with DATA_NONE: disable every interrupt of the index */
    if (count == 0u) {
        if ((data != SET_DATA_NONE) || (start != 0u)) {
            return VDM_EINVAL;
        }
        if (act == SET_ACT_TRIGGER) {
            for (i = 0; i < max; i++) {
                irq_set_fd(s, idx, i, -1);
            }
        }
        return 0;
    }
    if ((start >= max) || (count > (max - start))) {
        return VDM_ERANGE;
    }
    if (data == SET_DATA_EVENTFD) {
        if (act != SET_ACT_TRIGGER) {
            /* mask/unmask notification eventfds: not offered */
            vdmi_vfu_log(s, VDM_LOG_INFO,
                         "vfio-user: SET_IRQS mask eventfds not supported");
            return VDM_ENOTSUP;
        }
        if ((m->nfds != 0u) && (m->nfds != count)) {
            return VDM_EINVAL;
        }
        for (i = 0; i < m->nfds; i++) {
            if (m->fds[i] < 0) {
                return VDM_EINVAL;
            }
        }
        /* no fds: de-assign (protocol SET_IRQS, DATA_EVENTFD) */
        for (i = 0; i < count; i++) {
            irq_set_fd(s, idx, start + i, (m->nfds != 0u) ? m->fds[i] : -1);
            if ((i < 32u) && (m->nfds != 0u)) {
                m->used |= (uint32_t)1u << (i & 31u);
            }
        }
        return 0;
    }
    for (i = 0; i < count; i++) {
        if ((data == SET_DATA_NONE) || (m->p[SZ_IRQSET + i] != 0u)) {
            irq_action(s, idx, start + i, act);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Region access */

/* One access of width w (1, 2, 4, 8; naturally aligned) at off. Refused
 * accesses read 0 and are otherwise ignored: the client completes the
 * guest's access in any case (vdm/pci.h). */
static uint64_t access1(struct vfu_state *s, uint32_t idx, uint64_t off,
                        uint32_t w, int write, uint64_t val)
{
    uint64_t v = 0;
    if (idx == VDM_VFIO_USER_REGION_CONFIG) {
        uint32_t v32 = 0;
        if (write != 0) {
            (void)vdm_pci_cfg_write(&s->pci, (uint32_t)off, w, (uint32_t)val);
        } else if (vdm_pci_cfg_read(&s->pci, (uint32_t)off, w, &v32) == 0) {
            v = v32;
        } else {
            /* refused: reads 0 */
        }
        return v;
    }
    if (write != 0) {
        (void)vdm_pci_bar_write(&s->pci, idx, off, w, val);
    } else if (vdm_pci_bar_read(&s->pci, idx, off, w, &v) != 0) {
        v = 0;
    } else {
        /* read */
    }
    return v;
}

static uint64_t ld_le(const uint8_t *p, uint32_t w)
{
    return (w == 1u)   ? p[0]
           : (w == 2u) ? vdm_le16(p)
           : (w == 4u) ? vdm_le32(p)
                       : vdm_le64(p);
}

static void st_le(uint8_t *p, uint32_t w, uint64_t v)
{
    if (w == 1u) {
        p[0] = (uint8_t)v;
    } else if (w == 2u) {
        vdm_put_le16(p, (uint16_t)v);
    } else if (w == 4u) {
        vdm_put_le32(p, (uint32_t)v);
    } else {
        vdm_put_le64(p, v);
    }
}

/* Width of the next piece at off with n bytes left: the whole access when
 * it is one naturally aligned 1, 2, 4 (or, in a BAR, 8) byte access, else
 * the largest naturally aligned 4, 2 or 1. */
static uint32_t piece(uint32_t idx, uint64_t off, uint32_t n, uint32_t total)
{
    uint32_t w;
    if ((n == total) &&
        ((n == 1u) || (n == 2u) || (n == 4u) ||
         ((n == 8u) && (idx != VDM_VFIO_USER_REGION_CONFIG))) &&
        ((off & ((uint64_t)n - 1u)) == 0u)) {
        return n;
    }
    for (w = 4u; w > 1u; w /= 2u) {
        if ((n >= w) && ((off & ((uint64_t)w - 1u)) == 0u)) {
            return w;
        }
    }
    return 1u;
}

int vdmi_vfu_region_rw(struct vfu_state *s, struct vfu_msg *m, int write)
{
    uint64_t off;
    uint64_t size;
    uint32_t idx;
    uint32_t count;
    uint32_t done = 0;
    uint32_t in_len = 0;
    uint32_t out_len = 0;
    const uint8_t *in;
    uint8_t *out;

    if (m->len < SZ_RW) {
        return VDM_EINVAL;
    }
    off = ld64(m->p);
    idx = ld32(m->p + 8);
    count = ld32(m->p + 12);
    if (write != 0) {
        in_len = count;
    } else {
        out_len = count;
    }
    if ((count > VDM_VFIO_USER_MAX_DATA) || (m->len != (SZ_RW + in_len)) ||
        (m->rcap < (SZ_RW + out_len))) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: region access malformed");
        return VDM_EINVAL;
    }
    size = (idx < VDM_VFIO_USER_NUM_REGIONS) ? region_size(s, idx) : 0u;
    if ((size == 0u) || (off > size) || (count > (size - off))) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: region access out of range");
        return VDM_EINVAL;
    }
    in = m->p + SZ_RW;
    out = m->r + SZ_RW;
    while (done < count) {
        uint32_t w = piece(idx, off + done, count - done, count);
        uint64_t pos = off + done;
        if (write != 0) {
            (void)access1(s, idx, pos, w, 1, ld_le(in + done, w));
        } else {
            st_le(out + done, w, access1(s, idx, pos, w, 0, 0));
        }
        done += w;
    }
    /* reply: offset, region, count (+ data for a read) */
    __builtin_memcpy(m->r, m->p, SZ_RW);
    m->rlen = SZ_RW + out_len;
    return 0;
}

int vdmi_vfu_device_reset(struct vfu_state *s)
{
    int rc = vdm_pci_reset(&s->pci);
    __builtin_memset(s->msix_mask, 0, sizeof(s->msix_mask));
    __builtin_memset(s->msix_pend, 0, sizeof(s->msix_pend));
    s->intx_masked = 0;
    return rc;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouser_dev_left_out;
#endif
