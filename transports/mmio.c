/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-mmio version 2 transport.
 *
 * Spec: "Virtio Over MMIO", "MMIO Device Register Layout" (device and driver
 * requirements), "MMIO-specific Initialization And Device Operation",
 * "Driver Notifications", "Shared Memory Regions".
 *
 * The register file is a thin adapter over the device core's transport
 * face: the device core owns status, features, queue registers and the
 * config generation; this file keeps only the selector registers, the
 * InterruptStatus bits and the line level. */
#include "vdm/mmio.h"

#include "abi_internal.h"
#include "le.h"
#include "mmio_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 4
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

#if VDM_CONFIG_MMIO /* vdm/config.h: the whole file */

_Static_assert(sizeof(struct mmio_state) <= VDM_MMIO_SIZE,
               "struct mmio_state does not fit VDM_MMIO_SIZE");
_Static_assert(alignof(struct mmio_state) <= alignof(struct vdm_mmio),
               "struct vdm_mmio storage is under-aligned");

VDM_OPAQUE_ACCESSORS(st, cst, vdm_mmio, mmio_state, MMIO_MAGIC_STATE)

static void mlog_emit(const struct mmio_state *s, int level, vdm_msg msg)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_mmio_ops, log)) {
        VDM_LOG_HOOK(s->ops->log, s->host, level, msg);
    }
}

/* The transport's log hook, for a level built in (VDM_LOG_ON). */
static VDMI_ALWAYS_INLINE void mlog(const struct mmio_state *s, int level,
                                    vdm_msg msg)
{
    if (VDM_LOG_ON(level)) {
        mlog_emit(s, level, msg);
    }
}

static void set_line(const struct mmio_state *s, int level)
{
    if (VDM_HAS_HOOK(s->ops, struct vdm_mmio_ops, irq))
        s->ops->irq(s->host, level);
}

/* Spec "Notifications From The Device": one line, asserted while any
 * InterruptStatus bit is set; bits stay until the driver acknowledges. */
static void raise_event(struct mmio_state *s, uint32_t bit)
{
    s->int_status |= bit;
    set_line(s, 1);
}

static void ack_events(struct mmio_state *s, uint32_t bits)
{
    uint32_t before = s->int_status;
    s->int_status &= ~bits;
    if (before != 0 && s->int_status == 0)
        set_line(s, 0);
}

/* Interrupt sink installed in the device core. */
static void on_queue(void *ctx, uint16_t q)
{
    struct mmio_state *s = st((struct vdm_mmio *)ctx);
    (void)q;
    if (s != NULL)
        raise_event(s, VDM_MMIO_INT_VRING);
}

static void on_config(void *ctx)
{
    struct mmio_state *s = st((struct vdm_mmio *)ctx);
    if (s != NULL)
        raise_event(s, VDM_MMIO_INT_CONFIG);
}

static const struct vdm_transport_ops mmio_sink = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = on_queue,
    .notify_config = on_config,
};

/* Transport part of a reset: spec "MMIO Device Register Layout": upon reset
 * the device clears every InterruptStatus bit (QueueReady is cleared by the
 * device core tearing the queues down). */
static void regs_reset(struct mmio_state *s)
{
    ack_events(s, ~0u);
    s->dev_features_sel = 0;
    s->drv_features_sel = 0;
    s->queue_sel = 0;
    s->shm_sel = 0;
}

static const struct vdm_mmio_shm *find_shm(const struct mmio_state *s,
                                           uint32_t id)
{
    uint32_t i;
    for (i = 0; i < s->nshm; i++) {
        if (s->shm[i].id == id)
            return &s->shm[i];
    }
    return NULL;
}

int vdm_mmio_init(struct vdm_mmio *t, struct vdm_dev *d,
                  const struct vdm_mmio_config *cfg)
{
    struct mmio_state *s;
    const struct vdm_mmio_shm *shm = NULL;
    uint32_t nshm = 0, i, j;

    if (t == NULL || d == NULL || cfg == NULL)
        return VDM_EINVAL;
    if (!VDM_SIZE_HAS(cfg->size, struct vdm_mmio_config, host))
        return VDM_ESIZE;
    if (cfg->ops != NULL && cfg->ops->size < sizeof(uint32_t))
        return VDM_ESIZE;
    if (VDM_SIZE_HAS(cfg->size, struct vdm_mmio_config, nshm)) {
        shm = cfg->shm;
        nshm = cfg->nshm;
    }
    if (VDM_SIZE_HAS(cfg->size, struct vdm_mmio_config, reserved) &&
        cfg->reserved != 0)
        return VDM_EINVAL;
    if (nshm > 0 && shm == NULL)
        return VDM_EINVAL;
    /* Spec "Reserved Feature Bits": VIRTIO_F_ADMIN_VQ is PCI only; over
     * MMIO it is reserved, so a device offering it cannot be presented. */
    if ((vdm_dev_device_features(d) & VDM_F_ADMIN_VQ) != 0u) {
        return VDM_ENOTSUP;
    }
    for (i = 0; i < nshm; i++) {
        if (shm[i].reserved != 0)
            return VDM_EINVAL;
        for (j = 0; j < i; j++) {
            if (shm[j].id == shm[i].id)
                return VDM_EINVAL;
        }
    }

    __builtin_memset(t, 0, sizeof(*t));
    s = (struct mmio_state *)(void *)t->opaque;
    s->vendor_id =
        cfg->vendor_id != 0 ? cfg->vendor_id : VDM_MMIO_VENDOR_DEFAULT;
    s->dev = d;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->shm = nshm > 0 ? shm : NULL;
    s->nshm = nshm;
    s->magic = MMIO_MAGIC_STATE;
    vdm_dev_bind(d, &mmio_sink, t);
    return 0;
}

int vdm_mmio_reset(struct vdm_mmio *t)
{
    struct mmio_state *s = st(t);
    if (s == NULL)
        return VDM_EINVAL;
    (void)vdm_dev_set_status(s->dev, 0);
    regs_reset(s);
    return 0;
}

uint32_t vdm_mmio_interrupt_status(const struct vdm_mmio *t)
{
    const struct mmio_state *s = cst(t);
    return s != NULL ? s->int_status : 0;
}

uint64_t vdm_mmio_window_size(const struct vdm_mmio *t)
{
    const struct mmio_state *s = cst(t);
    uint64_t n;
    if (s == NULL)
        return 0;
    n = (uint64_t)VDM_MMIO_CONFIG + vdm_dev_config_size(s->dev);
    return (n + 0xffu) & ~(uint64_t)0xffu;
}

static int valid_width(uint32_t w)
{
    return w == 1 || w == 2 || w == 4 || w == 8;
}

/* Device-specific configuration: byte-granular, little-endian. The device
 * core checks the range (an offset past 4 GiB reaches it as UINT32_MAX, out
 * of range of any config space) and logs a refusal. */
static uint32_t config_off(uint64_t off)
{
    return (off > UINT32_MAX) ? UINT32_MAX : (uint32_t)off;
}

static int config_read(struct mmio_state *s, uint64_t off, uint32_t width,
                       uint64_t *val)
{
    uint8_t buf[8];
    int rc;

    __builtin_memset(buf, 0, sizeof(buf));
    rc = vdm_dev_config_read(s->dev, config_off(off), buf, width);
    if (rc < 0)
        return rc;
    *val = vdm_le64(buf);
    return 0;
}

static int config_write(struct mmio_state *s, uint64_t off, uint32_t width,
                        uint64_t val)
{
    uint8_t buf[8];

    vdm_put_le64(buf, val);
    return vdm_dev_config_write(s->dev, config_off(off), buf, width);
}

/* The selected queue as the device core's queue index: a QueueSel past
 * 65535 becomes 65535, beyond VDM_DEV_MAX_QUEUES, so the device core finds
 * no such queue either way (reads as 0, writes refused). */
static uint16_t selected_queue(const struct mmio_state *s)
{
    return (s->queue_sel > 0xffffu) ? (uint16_t)0xffffu
                                     : (uint16_t)s->queue_sel;
}

int vdm_mmio_read(struct vdm_mmio *t, uint64_t off, uint32_t width,
                  uint64_t *val)
{
    struct mmio_state *s = st(t);
    const struct vdm_mmio_shm *r;
    uint64_t f;
    uint32_t reg;
    uint32_t v;
    uint16_t q;

    if (val != NULL)
        *val = 0;
    if (s == NULL || val == NULL)
        return VDM_EINVAL;
    if (!valid_width(width)) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: read with an invalid width ignored"));
        return VDM_EINVAL;
    }
    if (off >= VDM_MMIO_CONFIG)
        return config_read(s, off - VDM_MMIO_CONFIG, width, val);
    /* Spec "MMIO Device Register Layout": the driver MUST use 32-bit wide
     * and aligned accesses for the control registers. */
    if (width != 4 || (off & 3u) != 0) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: control register read not 32-bit wide and aligned "
                     "ignored"));
        return VDM_EINVAL;
    }
    q = selected_queue(s);
    /* below VDM_MMIO_CONFIG: a 32-bit switch (a jump table, not a 64-bit
     * compare tree); every register is 32 bits, stored once */
    reg = (uint32_t)off;
    switch (reg) {
    case VDM_MMIO_MAGIC_VALUE: v = VDM_MMIO_MAGIC; break;
    case VDM_MMIO_VERSION_REG: v = VDM_MMIO_VERSION; break;
    case VDM_MMIO_DEVICE_ID: v = vdm_dev_device_id(s->dev); break;
    case VDM_MMIO_VENDOR_ID: v = s->vendor_id; break;
    case VDM_MMIO_DEVICE_FEATURES:
        /* words 2 and up: no features there */
        f = (s->dev_features_sel < 2u) ? vdm_dev_device_features(s->dev) : 0u;
        v = (uint32_t)((s->dev_features_sel == 1u) ? (f >> 32) : f);
        break;
    case VDM_MMIO_QUEUE_SIZE_MAX:
        /* 0 for a queue that does not exist (QueueSel out of range). */
        v = vdm_dev_queue_size_max(s->dev, q);
        break;
    case VDM_MMIO_QUEUE_READY:
        v = (uint32_t)vdm_dev_queue_enabled(s->dev, q);
        break;
    case VDM_MMIO_INTERRUPT_STATUS: v = s->int_status; break;
    case VDM_MMIO_STATUS: v = vdm_dev_status(s->dev); break;
    case VDM_MMIO_SHM_LEN_LOW:
    case VDM_MMIO_SHM_LEN_HIGH:
    case VDM_MMIO_SHM_BASE_LOW:
    case VDM_MMIO_SHM_BASE_HIGH:
        /* A region that does not exist reads as length and base -1. */
        r = find_shm(s, s->shm_sel);
        if (reg == VDM_MMIO_SHM_LEN_LOW || reg == VDM_MMIO_SHM_LEN_HIGH)
            f = (r != NULL) ? r->len : ~(uint64_t)0;
        else
            f = (r != NULL) ? r->base : ~(uint64_t)0;
        v = (uint32_t)(((reg & 4u) != 0u) ? (f >> 32) : f);
        break;
    case VDM_MMIO_QUEUE_RESET:
        /* Queue resets complete synchronously: never seen in progress. */
        v = 0;
        break;
    case VDM_MMIO_CONFIG_GENERATION:
        v = vdm_dev_config_generation(s->dev);
        break;
    default:
        mlog(
            s, VDM_LOG_WARN,
            VDM_MSG("mmio: read of a write-only or reserved register ignored"));
        return VDM_ENOTSUP;
    }
    *val = v;
    return 0;
}

/* The queue registers (QueueSize, QueueReady, the areas, QueueReset) of
 * a QueueSel that names no queue: ignored. Whether the queue may be
 * written now (not ready; after DRIVER_OK only once reset alone: spec "MMIO
 * Device Register Layout", "Virtqueue Reset") is the device core's check. */
static int no_queue(struct mmio_state *s)
{
    if (s->queue_sel < vdm_dev_num_queues(s->dev))
        return 0;
    mlog(s, VDM_LOG_WARN,
         VDM_MSG("mmio: queue register write with no such queue selected"));
    return VDM_ERANGE;
}

static int write_area(struct mmio_state *s, uint16_t q, uint32_t off,
                      uint32_t v)
{
    uint64_t a[3];
    uint64_t *p;
    int rc = vdm_dev_queue_get_addr(s->dev, q, &a[0], &a[1], &a[2]);

    if (rc < 0)
        return rc;
    /* 0x80/0x84 desc, 0x90/0x94 driver, 0xa0/0xa4 device. */
    p = &a[(off - VDM_MMIO_QUEUE_DESC_LOW) >> 4];
    if ((off & 4u) != 0)
        *p = (*p & 0xffffffffu) | ((uint64_t)v << 32);
    else
        *p = (*p & ~(uint64_t)0xffffffffu) | v;
    return vdm_dev_queue_set_addr(s->dev, q, a[0], a[1], a[2]);
}

/* QueueNotify. Spec "Available Buffer Notifications": without
 * NOTIFICATION_DATA the value is the 16-bit queue index; with it, bits 0-15
 * are the index and bits 16-31 next_off/next_wrap. */
static int queue_notify(struct mmio_state *s, uint32_t v)
{
    if ((v > 0xffffu) &&
        (vdm_dev_features(s->dev) & VDMI_F_NOTIFICATION_DATA) == 0) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: QueueNotify value is not a queue index, ignored"));
        return VDM_EINVAL;
    }
    return vdm_dev_queue_notify(s->dev, (uint16_t)(v & 0xffffu), v);
}

static int write_features(struct mmio_state *s, uint32_t v)
{
    uint64_t f = vdm_dev_driver_features(s->dev);

    if (s->drv_features_sel == 0) {
        f = (f & ~(uint64_t)0xffffffffu) | v;
    } else if (s->drv_features_sel == 1) {
        f = (f & 0xffffffffu) | ((uint64_t)v << 32);
    } else {
        if (v == 0)
            return 0;
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: driver feature bits beyond bit 63 ignored"));
        return VDM_EINVAL;
    }
    /* Kept as written: a bit the device did not offer makes the device
     * core refuse FEATURES_OK (spec "Feature Bits"). */
    return vdm_dev_set_driver_features(s->dev, f);
}

static int write_ready(struct mmio_state *s, uint16_t q, uint32_t v)
{
    if (v == 1)
        return vdm_dev_queue_enable(s->dev, q);
    if (v != 0) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: QueueReady value not 0 or 1 ignored"));
        return VDM_EINVAL;
    }
    if (!vdm_dev_queue_enabled(s->dev, q))
        return 0;
    /* Spec "MMIO Device Register Layout": QueueReady reads back the last
     * value written, and the device MUST NOT access the queue while it is
     * 0. The driver stops using the queue (Linux vm_del_vq(), also before
     * DRIVER_OK and without RING_RESET, then frees the ring): tear it down
     * whatever the features. Only setting it up again after DRIVER_OK
     * needs RING_RESET (the device core checks). */
    return vdm_dev_queue_disable(s->dev, q);
}

int vdm_mmio_write(struct vdm_mmio *t, uint64_t off, uint32_t width,
                   uint64_t val)
{
    struct mmio_state *s = st(t);
    uint32_t v;
    uint32_t reg;
    uint16_t q;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    if (!valid_width(width)) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: write with an invalid width ignored"));
        return VDM_EINVAL;
    }
    if (width < 8) {
        /* 1, 2 or 4 bytes: the low 32 bits at most */
        uint32_t low = (uint32_t)val & (0xffffffffu >> (32u - (8u * width)));
        val = low;
    }
    if (off >= VDM_MMIO_CONFIG)
        return config_write(s, off - VDM_MMIO_CONFIG, width, val);
    if (width != 4 || (off & 3u) != 0) {
        mlog(s, VDM_LOG_WARN,
             VDM_MSG("mmio: control register write not 32-bit wide and aligned "
                     "ignored"));
        return VDM_EINVAL;
    }
    v = (uint32_t)val;
    q = selected_queue(s);
    reg = (uint32_t)off; /* below VDM_MMIO_CONFIG: a 32-bit switch */
    switch (reg) {
    case VDM_MMIO_DEVICE_FEATURES_SEL: s->dev_features_sel = v; return 0;
    case VDM_MMIO_DRIVER_FEATURES: return write_features(s, v);
    case VDM_MMIO_DRIVER_FEATURES_SEL: s->drv_features_sel = v; return 0;
    case VDM_MMIO_QUEUE_SEL: s->queue_sel = v; return 0;
    case VDM_MMIO_QUEUE_SIZE:
        /* above 65535: passed on as 0, a size the device core refuses */
        rc = no_queue(s);
        if (rc == 0)
            rc = vdm_dev_queue_set_size(s->dev, q,
                                        (v > 0xffffu) ? 0u : (uint16_t)v);
        return rc;
    case VDM_MMIO_QUEUE_READY:
        rc = no_queue(s);
        return (rc == 0) ? write_ready(s, q, v) : rc;
    case VDM_MMIO_QUEUE_NOTIFY: return queue_notify(s, v);
    case VDM_MMIO_INTERRUPT_ACK: ack_events(s, v); return 0;
    case VDM_MMIO_STATUS: {
        if (v > 0xffu) {
            mlog(s, VDM_LOG_WARN,
                 VDM_MSG("mmio: Status value above 0xff ignored"));
            return VDM_EINVAL;
        }
        rc = vdm_dev_set_status(s->dev, (uint8_t)v);
        if (v == 0)
            regs_reset(s);
        return rc;
    }
    case VDM_MMIO_QUEUE_DESC_LOW:
    case VDM_MMIO_QUEUE_DESC_HIGH:
    case VDM_MMIO_QUEUE_DRIVER_LOW:
    case VDM_MMIO_QUEUE_DRIVER_HIGH:
    case VDM_MMIO_QUEUE_DEVICE_LOW:
    case VDM_MMIO_QUEUE_DEVICE_HIGH:
        rc = no_queue(s);
        return (rc == 0) ? write_area(s, q, reg, v) : rc;
    case VDM_MMIO_SHM_SEL: s->shm_sel = v; return 0;
    case VDM_MMIO_QUEUE_RESET:
        rc = no_queue(s);
        if ((rc < 0) || (v == 0u))
            return rc;
        if (v != 1) {
            mlog(s, VDM_LOG_WARN,
                 VDM_MSG("mmio: QueueReset value not 0 or 1 ignored"));
            return VDM_EINVAL;
        }
        return vdm_dev_queue_reset(s->dev, q);
    default:
        mlog(
            s, VDM_LOG_WARN,
            VDM_MSG("mmio: write to a read-only or reserved register ignored"));
        return VDM_ENOTSUP;
    }
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_mmio_left_out;
#endif
