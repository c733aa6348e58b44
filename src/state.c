/* SPDX-License-Identifier: BSD-3-Clause */
/* Save and restore of the device core, its queues and the device type's
 * state (vdm/state.h). The image layout is docs/state-format.md: a header,
 * then sections (tag, flags, length, payload), every field little-endian.
 * A saved image is untrusted: everything read is checked against the
 * destination device before it is used, and a refused restore leaves the
 * device reset.
 *
 * Spec: "Device Status Field" (which status a driver can reach), "Feature
 * Bits" and "Device Initialization" (negotiated features), "Virtqueues"
 * (sizes, alignment, positions), "Device Configuration Space"
 * (generation). */
#include "vdm/state.h"

#include <stdbool.h>

#include "abi_internal.h"
#include "device_internal.h"
#include "le.h"
#include "state_internal.h"
#include "vq_state_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 13
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

VDM_OPAQUE_ACCESSORS(st, cst, vdm_dev, vdm_dev_state, VDM_DEV_MAGIC)

/* Payload sizes of format version 1. */
#define CORE_BYTES  40u
#define QUEUE_BYTES 40u

/* Queue section flags. */
#define QS_ENABLED 1u /* set up (QueueReady / queue_enable) */
#define QS_PENDING 2u /* a position to apply at the next enable */
#define QS_RESET   4u /* reset alone (RING_RESET), writable again */
#define QS_ALL     7u

/* Status bits a driver can set, and the one the device sets. */
#define ST_DRV                                                                 \
    (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER | VDM_STATUS_FEATURES_OK |     \
     VDM_STATUS_DRIVER_OK | VDM_STATUS_FAILED)
#define ST_DEAD (VDM_STATUS_DEVICE_NEEDS_RESET | VDM_STATUS_FAILED)

/* ------------------------------------------------------------------------ */
/* Writing */

void vdmi_state_sec(uint8_t *p, uint32_t tag, uint32_t len)
{
    vdm_put_le16(p, (uint16_t)tag);
    vdm_put_le16(p + 2, 0);
    vdm_put_le32(p + 4, len);
}

void vdmi_state_finish(uint8_t *buf, uint32_t total)
{
    vdm_put_le32(buf + 8, total);
}

/* Bytes the device type's section needs (0: none), or negative. */
static int class_bytes(const struct vdm_dev_state *s, const struct vdm_dev *d)
{
    if (!VDM_HAS_HOOK(s->cls, struct vdm_device_class, state_save))
        return 0;
    return s->cls->state_save(d, NULL, 0);
}

size_t vdmi_state_dev_size(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    int cb;
    size_t n;

    if (s == NULL)
        return 0;
    cb = class_bytes(s, d);
    if (cb < 0)
        return 0;
    n = VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES + CORE_BYTES +
        (size_t)s->num_queues * (VDM_STATE_SEC_BYTES + QUEUE_BYTES);
    if (cb > 0)
        n += VDM_STATE_SEC_BYTES + (size_t)cb;
    return n;
}

size_t vdm_dev_state_size(const struct vdm_dev *d)
{
    return vdmi_state_dev_size(d);
}

/* Queue q's section payload at @p p. */
static int save_queue(const struct vdm_dev_state *s, uint16_t q, uint8_t *p)
{
    const uint32_t *r = qregs(s, q);
    uint32_t fl = r[VDM_QR_FLAGS];
    uint32_t qs = 0;
    uint32_t requeued = 0;
    struct vdm_vq_state vs;
    int rc;

    __builtin_memset(p, 0, QUEUE_BYTES);
    __builtin_memset(&vs, 0, sizeof(vs));
    if ((fl & VDM_QF_ENABLED) != 0) {
        qs |= QS_ENABLED;
        if ((s->status & ST_DEAD) != 0) {
            /* Restored disabled (the device never touches a queue of a
             * dead device again); the position is only informative. */
            rc = vdm_vq_get_state(&s->queues[q], &vs);
        } else {
            rc = vdmi_vq_save_pos(&s->queues[q], &vs, &requeued);
        }
        if (rc < 0)
            return rc;
    } else if ((fl & VDM_QF_STATE) != 0) {
        qs |= QS_PENDING;
        vs.last_avail_idx = (uint16_t)r[VDM_QR_STATE_IDX];
        vs.used_idx = (uint16_t)(r[VDM_QR_STATE_IDX] >> 16);
        vs.avail_wrap = (uint8_t)r[VDM_QR_STATE_WRAP];
        vs.used_wrap = (uint8_t)(r[VDM_QR_STATE_WRAP] >> 8);
    } else {
        /* no position */
    }
    if ((fl & QF_RESET) != 0)
        qs |= QS_RESET;
    vdm_put_le16(p, q);
    vdm_put_le16(p + 2, (uint16_t)qs);
    vdm_put_le32(p + 4, r[VDM_QR_NUM]);
    vdm_put_le64(p + 8, get64(r, VDM_QR_DESC_LO));
    vdm_put_le64(p + 16, get64(r, VDM_QR_DRV_LO));
    vdm_put_le64(p + 24, get64(r, VDM_QR_DEV_LO));
    vdm_put_le16(p + 32, vs.last_avail_idx);
    vdm_put_le16(p + 34, vs.used_idx);
    p[36] = vs.avail_wrap;
    p[37] = vs.used_wrap;
    vdm_put_le16(p + 38, (uint16_t)requeued);
    return 0;
}

int vdmi_state_save_dev(const struct vdm_dev *d, uint8_t *buf, size_t len)
{
    const struct vdm_dev_state *s = cst(d);
    size_t need;
    size_t pos;
    uint8_t *p;
    uint16_t q;
    int rc;

    if (s == NULL || buf == NULL)
        return VDM_EINVAL;
    need = vdmi_state_dev_size(d);
    if (need == 0)
        return VDM_EINVAL;
    if (len < need)
        return VDM_ENOSPC;
    if (need > (size_t)INT32_MAX)
        return VDM_ENOSPC;
    /* Header. */
    vdm_put_le32(buf, VDM_STATE_MAGIC);
    vdm_put_le16(buf + 4, (uint16_t)VDM_STATE_VERSION);
    vdm_put_le16(buf + 6, (uint16_t)VDM_STATE_HDR_BYTES);
    vdm_put_le32(buf + 8, 0);
    vdm_put_le32(buf + 12, s->cls->device_id);
    vdm_put_le16(buf + 16, s->num_queues);
    vdm_put_le16(buf + 18, 0);
    vdm_put_le32(buf + 20, 0);
    pos = VDM_STATE_HDR_BYTES;
    /* Core. */
    p = buf + pos;
    vdmi_state_sec(p, VDM_STATE_SEC_CORE, CORE_BYTES);
    p += VDM_STATE_SEC_BYTES;
    __builtin_memset(p, 0, CORE_BYTES);
    p[0] = s->status;
    p[1] = (uint8_t)(s->flags & VDM_DF_CONFIG_PENDING);
    vdm_put_le32(p + 4, s->generation);
    vdm_put_le64(p + 8, s->offered);
    vdm_put_le64(p + 16, s->driver_features);
    vdm_put_le64(p + 24, s->negotiated);
    vdm_put_le16(p + 32, s->qmax);
    vdm_put_le16(p + 34, s->num_queues);
    pos += VDM_STATE_SEC_BYTES + CORE_BYTES;
    /* Queues. */
    for (q = 0; q < s->num_queues; q++) {
        p = buf + pos;
        vdmi_state_sec(p, VDM_STATE_SEC_QUEUE, QUEUE_BYTES);
        rc = save_queue(s, q, p + VDM_STATE_SEC_BYTES);
        if (rc < 0)
            return rc;
        pos += VDM_STATE_SEC_BYTES + QUEUE_BYTES;
    }
    /* Device type. */
    rc = class_bytes(s, d);
    if (rc > 0) {
        uint32_t room = (uint32_t)(need - pos - VDM_STATE_SEC_BYTES);
        rc = s->cls->state_save(d, buf + pos + VDM_STATE_SEC_BYTES, room);
        if (rc < 0)
            return rc;
        if ((uint32_t)rc > room)
            return VDM_EINVAL; /* a hook writing past its room: a bug */
        vdmi_state_sec(buf + pos, VDM_STATE_SEC_CLASS, (uint32_t)rc);
        pos += VDM_STATE_SEC_BYTES + (size_t)rc;
    }
    vdmi_state_finish(buf, (uint32_t)pos);
    return (int)pos;
}

int vdm_dev_save(const struct vdm_dev *d, void *buf, size_t len)
{
    return vdmi_state_save_dev(d, (uint8_t *)buf, len);
}

/* ------------------------------------------------------------------------ */
/* Reading: framing */

int vdmi_state_parse(const void *buf, size_t len, struct vdmi_img *img)
{
    const uint8_t *b = (const uint8_t *)buf;
    uint32_t total;
    uint32_t pos;
    bool in_queues = false;
    bool past_queues = false;

    if (b == NULL || img == NULL || len < VDM_STATE_HDR_BYTES)
        return VDM_EINVAL;
    __builtin_memset(img, 0, sizeof(*img));
    if (vdm_le32(b) != VDM_STATE_MAGIC)
        return VDM_EINVAL;
    if (vdm_le16(b + 4) != VDM_STATE_VERSION)
        return VDM_ENOTSUP;
    total = vdm_le32(b + 8);
    if (vdm_le16(b + 6) != VDM_STATE_HDR_BYTES || total < VDM_STATE_HDR_BYTES ||
        total > len || vdm_le16(b + 18) != 0 || vdm_le32(b + 20) != 0)
        return VDM_EINVAL;
    img->device_id = vdm_le32(b + 12);
    img->num_queues = vdm_le16(b + 16);
    pos = VDM_STATE_HDR_BYTES;
    while (pos < total) {
        const uint8_t *h = b + pos;
        uint32_t tag, flags, plen;

        if (total - pos < VDM_STATE_SEC_BYTES)
            return VDM_EINVAL;
        tag = vdm_le16(h);
        flags = vdm_le16(h + 2);
        plen = vdm_le32(h + 4);
        if ((flags & ~(uint32_t)VDM_STATE_SEC_F_OPTIONAL) != 0 ||
            plen > total - pos - VDM_STATE_SEC_BYTES)
            return VDM_EINVAL;
        if (tag == VDM_STATE_SEC_QUEUE) {
            /* consecutive: one run of QUEUE sections */
            if (past_queues)
                return VDM_EINVAL;
            if (!in_queues)
                img->queues = h;
            in_queues = true;
            img->nqueues++;
        } else {
            if (in_queues)
                past_queues = true;
            in_queues = false;
            if (tag == VDM_STATE_SEC_CORE && img->core == NULL) {
                img->core = h + VDM_STATE_SEC_BYTES;
                img->core_len = plen;
            } else if (tag == VDM_STATE_SEC_CLASS && img->cls == NULL) {
                img->cls = h + VDM_STATE_SEC_BYTES;
                img->cls_len = plen;
            } else if (tag == VDM_STATE_SEC_MMIO && img->mmio == NULL) {
                img->mmio = h + VDM_STATE_SEC_BYTES;
                img->mmio_len = plen;
            } else if (tag == VDM_STATE_SEC_PCI && img->pci == NULL) {
                img->pci = h + VDM_STATE_SEC_BYTES;
                img->pci_len = plen;
            } else if (tag == VDM_STATE_SEC_CORE ||
                       tag == VDM_STATE_SEC_CLASS ||
                       tag == VDM_STATE_SEC_MMIO || tag == VDM_STATE_SEC_PCI) {
                return VDM_EINVAL; /* twice */
            } else if ((flags & VDM_STATE_SEC_F_OPTIONAL) == 0) {
                return VDM_ENOTSUP;
            } else {
                /* an optional section of a later version: skipped */
            }
        }
        pos += VDM_STATE_SEC_BYTES + plen;
    }
    if (img->core == NULL)
        return VDM_EINVAL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading: the device */

/* Spec "Device Status Field" / "Device Initialization": a status the
 * driver's writes (and the device's NEEDS_RESET) can have produced. */
static bool status_possible(uint8_t st, uint8_t flags)
{
    if ((st & (uint8_t) ~(ST_DRV | VDM_STATUS_DEVICE_NEEDS_RESET)) != 0)
        return false;
    if ((st & VDM_STATUS_DRIVER) != 0 && (st & VDM_STATUS_ACKNOWLEDGE) == 0)
        return false;
    if ((st & VDM_STATUS_FEATURES_OK) != 0 && (st & VDM_STATUS_DRIVER) == 0)
        return false;
    if ((st & VDM_STATUS_DRIVER_OK) != 0 &&
        (st & VDM_STATUS_FEATURES_OK) == 0)
        return false;
    /* NEEDS_RESET is never entered from the reset state. */
    if ((st & VDM_STATUS_DEVICE_NEEDS_RESET) != 0 && (st & ST_DRV) == 0)
        return false;
    /* A held config notice: only between reset and DRIVER_OK. */
    if ((flags & (uint8_t) ~VDM_DF_CONFIG_PENDING) != 0)
        return false;
    if ((flags & VDM_DF_CONFIG_PENDING) != 0 &&
        (st == 0 || (st & VDM_STATUS_DRIVER_OK) != 0))
        return false;
    return true;
}

/* Check queue q's section (before anything is applied). */
static int check_queue(const struct vdm_dev_state *s, const uint8_t *h,
                       uint16_t q)
{
    const uint8_t *p = h + VDM_STATE_SEC_BYTES;
    uint32_t qs, num, i;
    uint16_t la, ui;

    if (vdm_le32(h + 4) != QUEUE_BYTES || vdm_le16(p) != q)
        return VDM_EINVAL;
    qs = vdm_le16(p + 2);
    num = vdm_le32(p + 4);
    la = vdm_le16(p + 32);
    ui = vdm_le16(p + 34);
    if ((qs & ~QS_ALL) != 0)
        return VDM_EINVAL;
    if ((qs & QS_ENABLED) != 0 &&
        ((qs & (QS_PENDING | QS_RESET)) != 0 ||
         (s->status & VDM_STATUS_FEATURES_OK) == 0))
        return VDM_EINVAL;
    if ((qs & QS_RESET) != 0 && (s->negotiated & VDMI_F_RING_RESET) == 0)
        return VDM_EINVAL;
    /* Spec "Virtqueues": a size the device offers (the split ring's
     * power-of-two rule is checked when the queue is set up). */
    if (num > qmax_now(s))
        return VDM_EINVAL;
    if ((qs & (QS_ENABLED | QS_PENDING)) == 0) {
        /* no position: every position byte 0 */
        for (i = 32; i < QUEUE_BYTES; i++) {
            if (p[i] != 0)
                return VDM_EINVAL;
        }
        return 0;
    }
    if (p[36] > 1 || p[37] > 1)
        return VDM_ERANGE;
    if (vdm_le16(p + 38) > VDM_VQ_MAX_NUM)
        return VDM_ERANGE;
    if ((qs & QS_ENABLED) != 0 && (s->status & ST_DEAD) == 0) {
        uint32_t n = num != 0 ? num : qmax_now(s);
        if ((s->negotiated & VDM_F_RING_PACKED) != 0) {
            /* Spec "Packed Virtqueues": positions inside the ring. */
            if (la >= n || ui >= n)
                return VDM_ERANGE;
        } else if ((s->negotiated & VDM_F_IN_ORDER) == 0 &&
                   (uint16_t)(la - ui) > n) {
            /* Spec "Split Virtqueues": without IN_ORDER batching every
             * chain read has its own used entry; at most a ring of them
             * (none in flight after a save) are not yet used. */
            return VDM_ERANGE;
        } else {
            /* split, IN_ORDER: one used entry may stand for many */
        }
    }
    return 0;
}

/* Apply queue q's checked section; the device has FEATURES_OK (if the
 * image has) but not DRIVER_OK yet, so vdm_dev_queue_enable() may run. */
static int apply_queue(struct vdm_dev *d, struct vdm_dev_state *s,
                       const uint8_t *h, uint16_t q, uint8_t status)
{
    const uint8_t *p = h + VDM_STATE_SEC_BYTES;
    uint32_t *r = qregs(s, q);
    uint32_t qs = vdm_le16(p + 2);
    uint32_t pos_idx = (uint32_t)vdm_le16(p + 32) |
                       ((uint32_t)vdm_le16(p + 34) << 16);
    uint32_t pos_wrap = (uint32_t)p[36] | ((uint32_t)p[37] << 8);
    int rc;

    r[VDM_QR_NUM] = vdm_le32(p + 4);
    put64(r, VDM_QR_DESC_LO, vdm_le64(p + 8));
    put64(r, VDM_QR_DRV_LO, vdm_le64(p + 16));
    put64(r, VDM_QR_DEV_LO, vdm_le64(p + 24));
    if ((qs & QS_ENABLED) != 0 && (status & ST_DEAD) != 0) {
        /* A dead device's queue stays down; its last position is kept
         * as a pending one (vdm_dev_queue_get_state() reports it). */
        qs = QS_PENDING;
    }
    if ((qs & (QS_ENABLED | QS_PENDING)) != 0) {
        r[VDM_QR_STATE_IDX] = pos_idx;
        r[VDM_QR_STATE_WRAP] = pos_wrap;
        r[VDM_QR_FLAGS] |= VDM_QF_STATE;
    }
    if ((qs & QS_ENABLED) != 0) {
        rc = vdm_dev_queue_enable(d, q);
        if (rc < 0)
            return rc;
    }
    if ((qs & QS_RESET) != 0)
        r[VDM_QR_FLAGS] |= QF_RESET;
    return 0;
}

static int restore_core(struct vdm_dev *d, struct vdm_dev_state *s,
                        const struct vdmi_img *img)
{
    const uint8_t *c = img->core;
    const uint8_t *h;
    uint8_t status, flags;
    uint64_t drv, neg;
    uint16_t q;
    int rc;

    if (img->device_id != s->cls->device_id ||
        img->num_queues != s->num_queues || img->nqueues != s->num_queues ||
        img->core_len != CORE_BYTES)
        return VDM_EINVAL;
    status = c[0];
    flags = c[1];
    drv = vdm_le64(c + 16);
    neg = vdm_le64(c + 24);
    if (vdm_le16(c + 2) != 0 || vdm_le32(c + 36) != 0 ||
        vdm_le16(c + 34) != s->num_queues || !status_possible(status, flags))
        return VDM_EINVAL;
    if ((status & VDM_STATUS_FEATURES_OK) != 0) {
        /* Spec "Feature Bits": only features the device offers, accepted
         * by the same rules as at FEATURES_OK. */
        if (neg != drv || (neg & ~s->offered) != 0)
            return VDM_ENOTSUP;
        if (vdmi_dev_check_features(d, neg) < 0)
            return VDM_ENOTSUP;
    } else if (neg != 0) {
        return VDM_EINVAL;
    } else {
        /* features still being negotiated: driver_features as written */
    }
    /* Queues are checked against the restored features. */
    s->negotiated = neg;
    s->status = (uint8_t)(status & VDM_STATUS_FEATURES_OK);
    h = img->queues;
    for (q = 0; q < s->num_queues; q++) {
        rc = check_queue(s, h, q);
        if (rc < 0)
            return rc;
        h += VDM_STATE_SEC_BYTES + QUEUE_BYTES;
    }
    s->generation = vdm_le32(c + 4);
    s->driver_features = drv;
    s->flags = flags;
    h = img->queues;
    for (q = 0; q < s->num_queues; q++) {
        rc = apply_queue(d, s, h, q, status);
        if (rc < 0)
            return rc;
        h += VDM_STATE_SEC_BYTES + QUEUE_BYTES;
    }
    s->status = status;
    return 0;
}

int vdmi_state_restore_dev(struct vdm_dev *d, const struct vdmi_img *img)
{
    struct vdm_dev_state *s = st(d);
    int rc;

    if (s == NULL || img == NULL)
        return VDM_EINVAL;
    (void)vdm_dev_set_status(d, 0);
    rc = restore_core(d, s, img);
    if (rc == 0 && img->cls != NULL) {
        if (VDM_HAS_HOOK(s->cls, struct vdm_device_class, state_restore))
            rc = s->cls->state_restore(d, img->cls, img->cls_len);
        else
            rc = VDM_ENOTSUP; /* state this device type cannot take */
    }
    if (rc < 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("state restore refused: device reset"));
        (void)vdm_dev_set_status(d, 0);
    } else {
        slog(s, VDM_LOG_INFO, VDM_MSG("state restored"));
    }
    return rc;
}

int vdm_dev_restore(struct vdm_dev *d, const void *buf, size_t len)
{
    struct vdmi_img img;
    int rc = vdmi_state_parse(buf, len, &img);

    if (rc < 0) {
        if (cst(d) != NULL)
            (void)vdm_dev_set_status(d, 0);
        return rc;
    }
    return vdmi_state_restore_dev(d, &img);
}
