/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-mmio transport: save and restore (vdm/state.h). The image is the
 * device's (src/state.c) plus one MMIO section with the registers this
 * transport keeps: the selectors and InterruptStatus (docs/state-format.md).
 *
 * Spec: "MMIO Device Register Layout" (DeviceFeaturesSel,
 * DriverFeaturesSel, QueueSel, SHMSel, InterruptStatus). */
#include "vdm/mmio.h"

#include "vdm/state.h"

#include "abi_internal.h"
#include "le.h"
#include "mmio_internal.h"
#include "state_internal.h"

#if VDM_CONFIG_MMIO /* vdm/config.h: the whole file */

VDM_OPAQUE_ACCESSORS(st, cst, vdm_mmio, mmio_state, MMIO_MAGIC_STATE)

/* MMIO section payload, format version 1. */
#define MMIO_BYTES 24u

/* Bytes of the image: the device's and the MMIO section (0: bad). */
static size_t image_bytes(const struct mmio_state *s)
{
    size_t n = vdmi_state_dev_size(s->dev);

    if (n != 0u) {
        n += (size_t)VDM_STATE_SEC_BYTES + MMIO_BYTES;
    }
    return n;
}

size_t vdm_mmio_state_size(const struct vdm_mmio *t)
{
    const struct mmio_state *s = cst(t);

    /* VDM_CONFIG_STATE 0 (vdm/config.h): no image */
    return ((VDM_CONFIG_STATE != 0) && (s != NULL)) ? image_bytes(s) : 0u;
}

int vdm_mmio_save(const struct vdm_mmio *t, void *buf, size_t len)
{
    const struct mmio_state *s = cst(t);
    uint8_t *b = (uint8_t *)buf;
    uint8_t *p;
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
    pos = vdmi_state_save_dev(s->dev, b, n - VDM_STATE_SEC_BYTES - MMIO_BYTES);
    if (pos > 0) {
        size_t at = (size_t)pos;
        p = &b[at];
        vdmi_state_sec(p, VDM_STATE_SEC_MMIO, MMIO_BYTES);
        p = &p[VDM_STATE_SEC_BYTES];
        vdm_put_le32(p, s->dev_features_sel);
        vdm_put_le32(&p[4], s->drv_features_sel);
        vdm_put_le32(&p[8], s->queue_sel);
        vdm_put_le32(&p[12], s->shm_sel);
        vdm_put_le32(&p[16], s->int_status);
        vdm_put_le32(&p[20], 0u);
        at += (size_t)VDM_STATE_SEC_BYTES + MMIO_BYTES;
        vdmi_state_finish(b, (uint32_t)at);
        pos = (int)at;
    }
    return pos;
}

/* Check the MMIO section before anything is applied. */
static int check_mmio(const struct vdmi_img *img)
{
    int rc = 0;

    if ((img->mmio == NULL) || (img->mmio_len != MMIO_BYTES)) {
        rc = VDM_EINVAL;
    } else if (((vdm_le32(&img->mmio[16]) &
                 ~((uint32_t)VDM_MMIO_INT_VRING | (uint32_t)VDM_MMIO_INT_CONFIG)) !=
                0u) ||
               (vdm_le32(&img->mmio[20]) != 0u)) {
        /* Spec "MMIO Device Register Layout": InterruptStatus has two
         * bits. */
        rc = VDM_EINVAL;
    } else {
        /* good */
    }
    return rc;
}

int vdm_mmio_restore(struct vdm_mmio *t, const void *buf, size_t len)
{
    struct mmio_state *s = st(t);
    struct vdmi_img img;
    const uint8_t *p;
    int rc;

    if (VDM_CONFIG_STATE == 0) {
        return VDM_ENOTSUP; /* save and restore left out (vdm/config.h) */
    }
    if (s == NULL) {
        return VDM_EINVAL;
    }
    (void)vdm_mmio_reset(t); /* device and registers */
    rc = vdmi_state_parse(buf, len, &img);
    if (rc == 0) {
        rc = check_mmio(&img);
    }
    if (rc == 0) {
        rc = vdmi_state_restore_dev(s->dev, &img);
    }
    if (rc < 0) {
        (void)vdm_mmio_reset(t);
        return rc;
    }
    p = img.mmio;
    s->dev_features_sel = vdm_le32(p);
    s->drv_features_sel = vdm_le32(&p[4]);
    s->queue_sel = vdm_le32(&p[8]);
    s->shm_sel = vdm_le32(&p[12]);
    s->int_status = vdm_le32(&p[16]);
    /* The line follows InterruptStatus (level-triggered). */
    if ((s->int_status != 0u) && (s->ops != NULL) &&
        (s->ops->size > (uint32_t)offsetof(struct vdm_mmio_ops, irq)) &&
        (s->ops->irq != NULL)) {
        s->ops->irq(s->host, 1);
    }
    return 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_mmiostate_left_out;
#endif /* VDM_CONFIG_MMIO */
