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

size_t vdm_mmio_state_size(const struct vdm_mmio *t)
{
    const struct mmio_state *s = cst(t);
    size_t n;

    if (s == NULL)
        return 0;
    n = vdmi_state_dev_size(s->dev);
    return n != 0 ? n + VDM_STATE_SEC_BYTES + MMIO_BYTES : 0;
}

int vdm_mmio_save(const struct vdm_mmio *t, void *buf, size_t len)
{
    const struct mmio_state *s = cst(t);
    uint8_t *b = (uint8_t *)buf;
    uint8_t *p;
    int pos;

    if (s == NULL || b == NULL)
        return VDM_EINVAL;
    if (len < vdm_mmio_state_size(t))
        return VDM_ENOSPC;
    pos = vdmi_state_save_dev(s->dev, b, len - VDM_STATE_SEC_BYTES - MMIO_BYTES);
    if (pos < 0)
        return pos;
    p = b + pos;
    vdmi_state_sec(p, VDM_STATE_SEC_MMIO, MMIO_BYTES);
    p += VDM_STATE_SEC_BYTES;
    vdm_put_le32(p, s->dev_features_sel);
    vdm_put_le32(p + 4, s->drv_features_sel);
    vdm_put_le32(p + 8, s->queue_sel);
    vdm_put_le32(p + 12, s->shm_sel);
    vdm_put_le32(p + 16, s->int_status);
    vdm_put_le32(p + 20, 0);
    pos += (int)(VDM_STATE_SEC_BYTES + MMIO_BYTES);
    vdmi_state_finish(b, (uint32_t)pos);
    return pos;
}

/* Check the MMIO section before anything is applied. */
static int check_mmio(const struct vdmi_img *img)
{
    if (img->mmio == NULL || img->mmio_len != MMIO_BYTES)
        return VDM_EINVAL;
    /* Spec "MMIO Device Register Layout": InterruptStatus has two bits. */
    if ((vdm_le32(img->mmio + 16) &
         ~(uint32_t)(VDM_MMIO_INT_VRING | VDM_MMIO_INT_CONFIG)) != 0 ||
        vdm_le32(img->mmio + 20) != 0)
        return VDM_EINVAL;
    return 0;
}

int vdm_mmio_restore(struct vdm_mmio *t, const void *buf, size_t len)
{
    struct mmio_state *s = st(t);
    struct vdmi_img img;
    const uint8_t *p;
    int rc;

    if (s == NULL)
        return VDM_EINVAL;
    (void)vdm_mmio_reset(t); /* device and registers */
    rc = vdmi_state_parse(buf, len, &img);
    if (rc == 0)
        rc = check_mmio(&img);
    if (rc == 0)
        rc = vdmi_state_restore_dev(s->dev, &img);
    if (rc < 0) {
        (void)vdm_mmio_reset(t);
        return rc;
    }
    p = img.mmio;
    s->dev_features_sel = vdm_le32(p);
    s->drv_features_sel = vdm_le32(p + 4);
    s->queue_sel = vdm_le32(p + 8);
    s->shm_sel = vdm_le32(p + 12);
    s->int_status = vdm_le32(p + 16);
    /* The line follows InterruptStatus (level-triggered). */
    if (s->int_status != 0 &&
        VDM_HAS_HOOK(s->ops, struct vdm_mmio_ops, irq))
        s->ops->irq(s->host, 1);
    return 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_mmiostate_left_out;
#endif /* VDM_CONFIG_MMIO */
