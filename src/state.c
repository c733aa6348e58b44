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
#define VDM_LOG_FILE 14
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

#if VDM_CONFIG_STATE /* vdm/config.h */

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
/* Every bit a status can have: ST_DRV, DEVICE_NEEDS_RESET and SUSPEND. */
#define ST_KNOWN 0xdfu
_Static_assert(ST_KNOWN == (ST_DRV | VDM_STATUS_DEVICE_NEEDS_RESET |
                            VDM_STATUS_SUSPEND),
               "ST_KNOWN");

/* ------------------------------------------------------------------------ */
/* Writing */

void vdmi_state_sec(uint8_t *p, uint32_t tag, uint32_t len)
{
    vdm_put_le16(p, (uint16_t)tag);
    vdm_put_le16(&p[2], 0u);
    vdm_put_le32(&p[4], len);
}

void vdmi_state_finish(uint8_t *buf, uint32_t total)
{
    vdm_put_le32(&buf[8], total);
}

/* A class as long as ours has the state hooks (NULL or not); a shorter one
 * comes from a caller built before them. */
static bool class_has_hooks(const struct vdm_device_class *c)
{
    return c->size >= sizeof(struct vdm_device_class);
}

/* Bytes the device type's section needs (0: none), or negative. */
static int class_bytes(const struct vdm_dev_state *s, const struct vdm_dev *d)
{
    int n = 0;

    if (class_has_hooks(s->cls) && (s->cls->state_save != NULL)) {
        n = s->cls->state_save(d, NULL, 0);
    }
    return n;
}

size_t vdmi_state_dev_size(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    int cb;
    size_t n;

    if (s == NULL) {
        return 0;
    }
    cb = class_bytes(s, d);
    if (cb < 0) {
        return 0;
    }
    n = (size_t)VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES + CORE_BYTES +
        ((size_t)s->num_queues * (VDM_STATE_SEC_BYTES + QUEUE_BYTES));
    if (cb > 0) {
        n += (size_t)VDM_STATE_SEC_BYTES + (size_t)cb;
    }
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
    uint32_t qs = 0u;
    uint32_t requeued = 0u;
    struct vdm_vq_state vs;
    int rc = 0;

    __builtin_memset(p, 0, QUEUE_BYTES);
    __builtin_memset(&vs, 0, sizeof(vs));
    if ((fl & VDM_QF_ENABLED) != 0u) {
        qs |= QS_ENABLED;
        if ((s->status & ST_DEAD) != 0u) {
            /* Restored disabled (the device never touches a queue of a
             * dead device again); the position is only informative. */
            rc = vdm_vq_get_state(&s->queues[q], &vs);
        } else {
            rc = vdmi_vq_save_pos(&s->queues[q], &vs, &requeued);
        }
    } else if ((fl & VDM_QF_STATE) != 0u) {
        qs |= QS_PENDING;
        vs.last_avail_idx = (uint16_t)r[VDM_QR_STATE_IDX];
        vs.used_idx = (uint16_t)(r[VDM_QR_STATE_IDX] >> 16);
        vs.avail_wrap = (uint8_t)r[VDM_QR_STATE_WRAP];
        vs.used_wrap = (uint8_t)(r[VDM_QR_STATE_WRAP] >> 8);
    } else {
        /* no position */
    }
    if ((fl & QF_RESET) != 0u) {
        qs |= QS_RESET;
    }
    if (rc == 0) {
        vdm_put_le16(p, q);
        vdm_put_le16(&p[2], (uint16_t)qs);
        vdm_put_le32(&p[4], r[VDM_QR_NUM]);
        vdm_put_le64(&p[8], get64(r, VDM_QR_DESC_LO));
        vdm_put_le64(&p[16], get64(r, VDM_QR_DRV_LO));
        vdm_put_le64(&p[24], get64(r, VDM_QR_DEV_LO));
        vdm_put_le16(&p[32], vs.last_avail_idx);
        vdm_put_le16(&p[34], vs.used_idx);
        p[36] = vs.avail_wrap;
        p[37] = vs.used_wrap;
        vdm_put_le16(&p[38], (uint16_t)requeued);
    }
    return rc;
}

/* Header and core section of @p s at @p buf; returns the bytes written. */
static size_t save_core(const struct vdm_dev_state *s, uint8_t *buf)
{
    uint8_t *p = &buf[VDM_STATE_HDR_BYTES];

    vdm_put_le32(buf, VDM_STATE_MAGIC);
    vdm_put_le16(&buf[4], (uint16_t)VDM_STATE_VERSION);
    vdm_put_le16(&buf[6], (uint16_t)VDM_STATE_HDR_BYTES);
    vdm_put_le32(&buf[8], 0u);
    vdm_put_le32(&buf[12], s->cls->device_id);
    vdm_put_le16(&buf[16], s->num_queues);
    vdm_put_le16(&buf[18], 0u);
    vdm_put_le32(&buf[20], 0u);
    vdmi_state_sec(p, VDM_STATE_SEC_CORE, CORE_BYTES);
    p = &p[VDM_STATE_SEC_BYTES];
    __builtin_memset(p, 0, CORE_BYTES);
    p[0] = s->status;
    p[1] = (uint8_t)(s->flags & VDM_DF_CONFIG_PENDING);
    vdm_put_le32(&p[4], s->generation);
    vdm_put_le64(&p[8], s->offered);
    vdm_put_le64(&p[16], s->driver_features);
    vdm_put_le64(&p[24], s->negotiated);
    vdm_put_le16(&p[32], s->qmax);
    vdm_put_le16(&p[34], s->num_queues);
    return (size_t)VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES + CORE_BYTES;
}

/* The device type's section at @p buf + @p pos (room up to @p need);
 * returns the new position, or 0 with *rc set. */
static size_t save_class(const struct vdm_dev_state *s,
                         const struct vdm_dev *d, uint8_t *buf, size_t pos,
                         size_t need, int *rc)
{
    size_t at = pos;
    int n = class_bytes(s, d);

    *rc = 0;
    if (n > 0) {
        uint32_t room = (uint32_t)(need - pos - VDM_STATE_SEC_BYTES);
        n = s->cls->state_save(d, &buf[pos + VDM_STATE_SEC_BYTES], room);
        if (n < 0) {
            *rc = n;
            at = 0u;
        } else if ((uint32_t)n > room) {
            *rc = VDM_EINVAL; /* a hook writing past its room: a bug */
            at = 0u;
        } else {
            vdmi_state_sec(&buf[pos], VDM_STATE_SEC_CLASS, (uint32_t)n);
            at = pos + VDM_STATE_SEC_BYTES + (size_t)n;
        }
    } else if (n < 0) {
        *rc = n;
        at = 0u;
    } else {
        /* no device type state */
    }
    return at;
}

int vdmi_state_save_dev(const struct vdm_dev *d, uint8_t *buf, size_t len)
{
    const struct vdm_dev_state *s = cst(d);
    size_t need;
    size_t pos;
    uint16_t q;
    int rc = 0;

    if ((s == NULL) || (buf == NULL)) {
        return VDM_EINVAL;
    }
    need = vdmi_state_dev_size(d);
    if (need == 0u) {
        return VDM_EINVAL;
    }
    if ((len < need) || (need > (size_t)INT32_MAX)) {
        return VDM_ENOSPC;
    }
    pos = save_core(s, buf);
    for (q = 0u; (q < s->num_queues) && (rc == 0); q++) {
        vdmi_state_sec(&buf[pos], VDM_STATE_SEC_QUEUE, QUEUE_BYTES);
        rc = save_queue(s, q, &buf[pos + VDM_STATE_SEC_BYTES]);
        pos += (size_t)VDM_STATE_SEC_BYTES + QUEUE_BYTES;
    }
    if (rc == 0) {
        pos = save_class(s, d, buf, pos, need, &rc);
    }
    if (rc == 0) {
        vdmi_state_finish(buf, (uint32_t)pos);
        rc = (int)pos;
    }
    return rc;
}

int vdm_dev_save(const struct vdm_dev *d, void *buf, size_t len)
{
    return vdmi_state_save_dev(d, (uint8_t *)buf, len);
}

/* ------------------------------------------------------------------------ */
/* Reading: framing */

/* Record section @p h (tag @p tag, payload length @p plen) in @p img:
 * 0, VDM_EINVAL (twice), VDM_ENOTSUP (unknown and required). */
static int note_section(struct vdmi_img *img, const uint8_t *h, uint32_t tag,
                        uint32_t flags, uint32_t plen)
{
    const uint8_t *pl = &h[VDM_STATE_SEC_BYTES];
    const uint8_t **slot = NULL;
    uint32_t *slot_len = NULL;
    int rc = 0;

    if (tag == VDM_STATE_SEC_CORE) {
        slot = &img->core;
        slot_len = &img->core_len;
    } else if (tag == VDM_STATE_SEC_CLASS) {
        slot = &img->cls;
        slot_len = &img->cls_len;
    } else if (tag == VDM_STATE_SEC_MMIO) {
        slot = &img->mmio;
        slot_len = &img->mmio_len;
    } else if (tag == VDM_STATE_SEC_PCI) {
        slot = &img->pci;
        slot_len = &img->pci_len;
    } else if ((flags & VDM_STATE_SEC_F_OPTIONAL) == 0u) {
        rc = VDM_ENOTSUP;
    } else {
        /* an optional section of a later version: skipped */
    }
    if (slot != NULL) {
        if (*slot != NULL) {
            rc = VDM_EINVAL; /* twice */
        } else {
            *slot = pl;
            *slot_len = plen;
        }
    }
    return rc;
}

/* Check the header (its total length in *total): 0 or a negative VDM_E*. */
static int check_header(const uint8_t *b, size_t len, uint32_t *total)
{
    int rc = 0;

    *total = vdm_le32(&b[8]);
    if (vdm_le32(b) != VDM_STATE_MAGIC) {
        rc = VDM_EINVAL;
    } else if (vdm_le16(&b[4]) != VDM_STATE_VERSION) {
        rc = VDM_ENOTSUP;
    } else if ((vdm_le16(&b[6]) != VDM_STATE_HDR_BYTES) ||
               (*total < VDM_STATE_HDR_BYTES) || ((size_t)*total > len) ||
               (vdm_le16(&b[18]) != 0u) || (vdm_le32(&b[20]) != 0u)) {
        rc = VDM_EINVAL;
    } else {
        /* good */
    }
    return rc;
}

int vdmi_state_parse(const void *buf, size_t len, struct vdmi_img *img)
{
    const uint8_t *b = (const uint8_t *)buf;
    uint32_t total = 0u;
    uint32_t pos;
    bool in_queues = false;
    bool past_queues = false;
    int rc;

    if ((b == NULL) || (img == NULL) || (len < VDM_STATE_HDR_BYTES)) {
        return VDM_EINVAL;
    }
    __builtin_memset(img, 0, sizeof(*img));
    rc = check_header(b, len, &total);
    if (rc < 0) {
        return rc;
    }
    img->device_id = vdm_le32(&b[12]);
    img->num_queues = vdm_le16(&b[16]);
    pos = VDM_STATE_HDR_BYTES;
    while ((pos < total) && (rc == 0)) {
        const uint8_t *h = &b[pos];
        uint32_t tag;
        uint32_t flags;
        uint32_t plen;

        if ((total - pos) < VDM_STATE_SEC_BYTES) {
            return VDM_EINVAL;
        }
        tag = vdm_le16(h);
        flags = vdm_le16(&h[2]);
        plen = vdm_le32(&h[4]);
        if (((flags & ~(uint32_t)VDM_STATE_SEC_F_OPTIONAL) != 0u) ||
            (plen > (total - pos - VDM_STATE_SEC_BYTES))) {
            return VDM_EINVAL;
        }
        if (tag == VDM_STATE_SEC_QUEUE) {
            /* consecutive: one run of QUEUE sections */
            if (past_queues) {
                return VDM_EINVAL;
            }
            if (!in_queues) {
                img->queues = h;
            }
            in_queues = true;
            img->nqueues++;
        } else {
            if (in_queues) {
                past_queues = true;
            }
            in_queues = false;
            rc = note_section(img, h, tag, flags, plen);
        }
        pos += VDM_STATE_SEC_BYTES + plen;
    }
    if ((rc == 0) && (img->core == NULL)) {
        rc = VDM_EINVAL;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading: the device */

/* Spec "Device Status Field" / "Device Initialization": a status the
 * driver's writes (and the device's NEEDS_RESET) can have produced. */
static bool status_possible(uint32_t st, uint32_t flags)
{
    bool ok = true;

    if ((st & ~ST_KNOWN) != 0u) {
        ok = false;
    } else if (((st & VDM_STATUS_DRIVER) != 0u) &&
               ((st & VDM_STATUS_ACKNOWLEDGE) == 0u)) {
        ok = false;
    } else if (((st & VDM_STATUS_FEATURES_OK) != 0u) &&
               ((st & VDM_STATUS_DRIVER) == 0u)) {
        ok = false;
    } else if (((st & VDM_STATUS_DRIVER_OK) != 0u) &&
               ((st & VDM_STATUS_FEATURES_OK) == 0u)) {
        ok = false;
    } else if (((st & VDM_STATUS_SUSPEND) != 0u) &&
               ((st & VDM_STATUS_FEATURES_OK) == 0u)) {
        /* Spec "Device Suspend": SUSPEND is only taken from a device that
         * is completely initialised; suspended, it reads SUSPEND without
         * DRIVER_OK (suspending: both). */
        ok = false;
    } else if (((st & VDM_STATUS_DEVICE_NEEDS_RESET) != 0u) &&
               ((st & ST_DRV) == 0u)) {
        /* NEEDS_RESET is never entered from the reset state. */
        ok = false;
    } else if ((flags & ~(uint32_t)VDM_DF_CONFIG_PENDING) != 0u) {
        ok = false;
    } else if (((flags & VDM_DF_CONFIG_PENDING) != 0u) &&
               ((st == 0u) ||
                ((st & (VDM_STATUS_DRIVER_OK | VDM_STATUS_SUSPEND)) ==
                 VDM_STATUS_DRIVER_OK))) {
        /* A held config notice: only between reset and DRIVER_OK, or
         * while suspended (sent at resume). */
        ok = false;
    } else {
        /* reachable */
    }
    return ok;
}

/* Positions of an enabled queue of a live device (spec "Packed
 * Virtqueues": inside the ring; "Split Virtqueues": without IN_ORDER
 * batching every chain read has its own used entry, and at most a ring
 * of them (none in flight after a save) are not yet used). */
static int check_position(const struct vdm_dev_state *s, uint32_t num,
                          uint32_t la, uint32_t ui)
{
    uint32_t n = (num != 0u) ? num : (uint32_t)qmax_now(s);
    int rc = 0;

    if ((s->negotiated & VDM_F_RING_PACKED) != 0u) {
        if ((la >= n) || (ui >= n)) {
            rc = VDM_ERANGE;
        }
    } else if (((s->negotiated & VDM_F_IN_ORDER) == 0u) &&
               ((uint32_t)(uint16_t)(la - ui) > n)) {
        rc = VDM_ERANGE;
    } else {
        /* split, IN_ORDER: one used entry may stand for many */
    }
    return rc;
}

/* Check queue q's section (before anything is applied) against the
 * restored features and the image's @p status. */
static int check_queue(const struct vdm_dev_state *s, const uint8_t *h,
                       uint16_t q, uint32_t status)
{
    const uint8_t *p = &h[VDM_STATE_SEC_BYTES];
    uint32_t qs;
    uint32_t num;
    uint32_t i;
    int rc = 0;

    if ((vdm_le32(&h[4]) != QUEUE_BYTES) || (vdm_le16(p) != q)) {
        return VDM_EINVAL;
    }
    qs = vdm_le16(&p[2]);
    num = vdm_le32(&p[4]);
    if ((qs & ~QS_ALL) != 0u) {
        rc = VDM_EINVAL;
    } else if (((qs & QS_ENABLED) != 0u) &&
               (((qs & (QS_PENDING | QS_RESET)) != 0u) ||
                ((s->status & VDM_STATUS_FEATURES_OK) == 0u))) {
        rc = VDM_EINVAL;
    } else if (((qs & QS_RESET) != 0u) &&
               ((s->negotiated & VDMI_F_RING_RESET) == 0u)) {
        rc = VDM_EINVAL;
    } else if (num > qmax_now(s)) {
        /* Spec "Virtqueues": a size the device offers (the split ring's
         * power-of-two rule is checked when the queue is set up). */
        rc = VDM_EINVAL;
    } else if ((qs & (QS_ENABLED | QS_PENDING)) == 0u) {
        /* no position: every position byte 0 */
        for (i = 32u; i < QUEUE_BYTES; i++) {
            if (p[i] != 0u) {
                rc = VDM_EINVAL;
            }
        }
    } else if ((p[36] > 1u) || (p[37] > 1u) ||
               (vdm_le16(&p[38]) > (uint32_t)VDM_VQ_MAX_NUM)) {
        rc = VDM_ERANGE;
    } else if (((qs & QS_ENABLED) != 0u) && ((status & ST_DEAD) == 0u)) {
        rc = check_position(s, num, vdm_le16(&p[32]), vdm_le16(&p[34]));
    } else {
        /* a pending position: checked when the queue is enabled */
    }
    return rc;
}

/* Apply queue q's checked section; the device has FEATURES_OK (if the
 * image has) but not DRIVER_OK yet, so vdm_dev_queue_enable() may run. */
static int apply_queue(struct vdm_dev *d, struct vdm_dev_state *s,
                       const uint8_t *h, uint16_t q, uint32_t status)
{
    const uint8_t *p = &h[VDM_STATE_SEC_BYTES];
    uint32_t *r = qregs(s, q);
    uint32_t qs = vdm_le16(&p[2]);
    uint32_t pos_idx =
        (uint32_t)vdm_le16(&p[32]) | ((uint32_t)vdm_le16(&p[34]) << 16);
    uint32_t pos_wrap = (uint32_t)p[36] | ((uint32_t)p[37] << 8);
    int rc = 0;

    r[VDM_QR_NUM] = vdm_le32(&p[4]);
    put64(r, VDM_QR_DESC_LO, vdm_le64(&p[8]));
    put64(r, VDM_QR_DRV_LO, vdm_le64(&p[16]));
    put64(r, VDM_QR_DEV_LO, vdm_le64(&p[24]));
    if (((qs & QS_ENABLED) != 0u) && ((status & ST_DEAD) != 0u)) {
        /* A dead device's queue stays down; its last position is kept
         * as a pending one (vdm_dev_queue_get_state() reports it). */
        qs = QS_PENDING;
    }
    if ((qs & (QS_ENABLED | QS_PENDING)) != 0u) {
        r[VDM_QR_STATE_IDX] = pos_idx;
        r[VDM_QR_STATE_WRAP] = pos_wrap;
        r[VDM_QR_FLAGS] |= VDM_QF_STATE;
    }
    if ((qs & QS_ENABLED) != 0u) {
        rc = vdm_dev_queue_enable(d, q);
    }
    if ((qs & QS_RESET) != 0u) {
        r[VDM_QR_FLAGS] |= QF_RESET;
    }
    return rc;
}

/* Status and features of the core section; the status is left at
 * FEATURES_OK (if the image has it) for the queues to be set up. */
static int restore_features(struct vdm_dev *d, struct vdm_dev_state *s,
                            const uint8_t *c)
{
    uint32_t status = c[0];
    uint64_t drv = vdm_le64(&c[16]);
    uint64_t neg = vdm_le64(&c[24]);
    int rc = 0;

    if ((vdm_le16(&c[2]) != 0u) || (vdm_le32(&c[36]) != 0u) ||
        (vdm_le16(&c[34]) != s->num_queues) || !status_possible(status, c[1])) {
        rc = VDM_EINVAL;
    } else if ((status & VDM_STATUS_FEATURES_OK) != 0u) {
        /* Spec "Feature Bits": only features the device offers, accepted
         * by the same rules as at FEATURES_OK. */
        if ((neg != drv) || ((neg & ~s->offered) != 0u)) {
            rc = VDM_ENOTSUP;
        } else if (((status & VDM_STATUS_SUSPEND) != 0u) &&
                   ((neg & VDM_F_SUSPEND) == 0u)) {
            rc = VDM_EINVAL; /* SUSPEND without VIRTIO_F_SUSPEND */
        } else if (vdmi_dev_check_features(d, neg) < 0) {
            rc = VDM_ENOTSUP;
        } else {
            /* accepted */
        }
    } else if (neg != 0u) {
        rc = VDM_EINVAL;
    } else {
        /* features still being negotiated: driver_features as written */
    }
    if (rc == 0) {
        s->negotiated = neg;
        s->driver_features = drv;
        s->status = (uint8_t)(status & VDM_STATUS_FEATURES_OK);
    }
    return rc;
}

static int restore_core(struct vdm_dev *d, struct vdm_dev_state *s,
                        const struct vdmi_img *img)
{
    const uint8_t *c = img->core;
    const uint8_t *h;
    uint16_t q;
    int rc;

    if ((img->device_id != s->cls->device_id) ||
        (img->num_queues != s->num_queues) ||
        (img->nqueues != s->num_queues) || (img->core_len != CORE_BYTES)) {
        return VDM_EINVAL;
    }
    rc = restore_features(d, s, c);
    /* Queues are checked against the restored features. */
    h = img->queues;
    for (q = 0u; (q < s->num_queues) && (rc == 0); q++) {
        rc = check_queue(s, h, q, c[0]);
        h = &h[VDM_STATE_SEC_BYTES + QUEUE_BYTES];
    }
    if (rc == 0) {
        s->generation = vdm_le32(&c[4]);
        s->flags = c[1];
    }
    h = img->queues;
    for (q = 0u; (q < s->num_queues) && (rc == 0); q++) {
        rc = apply_queue(d, s, h, q, c[0]);
        h = &h[VDM_STATE_SEC_BYTES + QUEUE_BYTES];
    }
    if (rc == 0) {
        s->status = c[0];
    }
    return rc;
}

int vdmi_state_restore_dev(struct vdm_dev *d, const struct vdmi_img *img)
{
    struct vdm_dev_state *s = st(d);
    int rc;

    if ((s == NULL) || (img == NULL)) {
        return VDM_EINVAL;
    }
    (void)vdm_dev_set_status(d, 0u);
    rc = restore_core(d, s, img);
    if ((rc == 0) && (img->cls != NULL)) {
        if (class_has_hooks(s->cls) && (s->cls->state_restore != NULL)) {
            rc = s->cls->state_restore(d, img->cls, img->cls_len);
        } else {
            rc = VDM_ENOTSUP; /* state this device type cannot take */
        }
    }
    if ((rc == 0) && ((s->status & VDM_STATUS_SUSPEND) != 0u)) {
        /* Saved suspended or suspending: the device type is told, as the
         * source's was when its driver set SUSPEND. */
        rc = vdmi_suspend_restored(d);
    }
    if (rc < 0) {
        slog(s, VDM_LOG_WARN, VDM_MSG("state restore refused: device reset"));
        (void)vdm_dev_set_status(d, 0u);
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
        if (cst(d) != NULL) {
            (void)vdm_dev_set_status(d, 0u);
        }
    } else {
        rc = vdmi_state_restore_dev(d, &img);
    }
    return rc;
}

#else /* !VDM_CONFIG_STATE: save and restore left out, every call refused */

size_t vdmi_state_dev_size(const struct vdm_dev *d)
{
    (void)d;
    return 0;
}

int vdmi_state_save_dev(const struct vdm_dev *d, uint8_t *buf, size_t len)
{
    (void)d;
    (void)buf;
    (void)len;
    return VDM_ENOTSUP;
}

void vdmi_state_sec(uint8_t *p, uint32_t tag, uint32_t len)
{
    (void)p;
    (void)tag;
    (void)len;
}

void vdmi_state_finish(uint8_t *buf, uint32_t total)
{
    (void)buf;
    (void)total;
}

int vdmi_state_parse(const void *buf, size_t len, struct vdmi_img *img)
{
    (void)buf;
    (void)len;
    (void)img;
    return VDM_ENOTSUP;
}

int vdmi_state_restore_dev(struct vdm_dev *d, const struct vdmi_img *img)
{
    (void)d;
    (void)img;
    return VDM_ENOTSUP;
}

size_t vdm_dev_state_size(const struct vdm_dev *d)
{
    (void)d;
    return 0;
}

int vdm_dev_save(const struct vdm_dev *d, void *buf, size_t len)
{
    (void)d;
    (void)buf;
    (void)len;
    return VDM_ENOTSUP;
}

int vdm_dev_restore(struct vdm_dev *d, const void *buf, size_t len)
{
    (void)d;
    (void)buf;
    (void)len;
    return VDM_ENOTSUP;
}
#endif
