/* SPDX-License-Identifier: BSD-3-Clause */
/* VIRTIO_F_SUSPEND: the SUSPEND bit of the device status.
 *
 * Spec "Device Suspend": the driver sets SUSPEND (with DRIVER_OK set); the
 * device stops consuming buffers, lets what it is processing be used and
 * notified, then presents SUSPEND 1 and DRIVER_OK 0. While suspended it
 * touches no virtqueue, sends no notification and holds configuration
 * change notices. The driver resumes it by setting DRIVER_OK; the device
 * presents SUSPEND 0 and DRIVER_OK 1 and sends the held notices. A device
 * that fails either way sets DEVICE_NEEDS_RESET.
 *
 * In the device core, "suspending" is SUSPEND and DRIVER_OK both set (the
 * queues are still live, so chains in flight can complete, but the device
 * kit pops nothing: vdm_dev_suspending()); "suspended" is SUSPEND without
 * DRIVER_OK (vdm_dev_live() is 0: no queue is handed out).
 *
 * Left out with VDM_CONFIG_SUSPEND 0 (vdm/config.h): the feature is never
 * offered and the two public calls report "not suspending". */
#include "vdm/device.h"

#include <stddef.h>

#include "abi_internal.h"
#include "device_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 12
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

VDM_OPAQUE_ACCESSORS(st, cst, vdm_dev, vdm_dev_state, VDM_DEV_MAGIC)

#if VDM_CONFIG_SUSPEND /* vdm/config.h */

/* The status bits the driver sets during initialisation. */
#define INIT_BITS                                                              \
    (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER | VDM_STATUS_FEATURES_OK)

static int class_suspend(struct vdm_dev *d, const struct vdm_dev_state *s,
                         int on)
{
    int rc = 0;

    if (CLS_HAS(s->cls, suspend) && (s->cls->suspend != NULL)) {
        rc = s->cls->suspend(d, on);
    }
    return rc;
}

int vdm_dev_suspending(const struct vdm_dev *d)
{
    const struct vdm_dev_state *s = cst(d);
    int on = 0;

    if ((s != NULL) && ((s->status & VDM_STATUS_SUSPEND) != 0u)) {
        on = 1;
    }
    return on;
}

int vdm_dev_suspend_poll(struct vdm_dev *d)
{
    struct vdm_dev_state *s = st(d);
    uint16_t q;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if ((s->status & VDM_STATUS_SUSPEND) == 0u) {
        return 0;
    }
    if ((s->status & VDM_STATUS_DRIVER_OK) == 0u) {
        return 1; /* suspended already */
    }
    if ((s->status & (VDM_STATUS_DEVICE_NEEDS_RESET | VDM_STATUS_FAILED)) !=
        0u) {
        return 0; /* only a reset helps now */
    }
    for (q = 0; q < s->num_queues; q++) {
        if (((qregs(s, q)[VDM_QR_FLAGS] & VDM_QF_ENABLED) != 0u) &&
            (vdm_vq_in_flight(&s->queues[q]) != 0u)) {
            return 0; /* still processing: used and notified first */
        }
    }
    s->status &= (uint8_t)~VDM_STATUS_DRIVER_OK;
    slog(s, VDM_LOG_INFO, VDM_MSG("device suspended"));
    return 1;
}

/* The driver sets SUSPEND on a device that is not suspending. */
static int suspend(struct vdm_dev *d, struct vdm_dev_state *s, uint8_t val,
                   int *rc)
{
    /* Spec "Device Suspend": the device MUST ignore the SUSPEND bit unless
     * the device is completely initialised (DRIVER_OK, and VIRTIO_F_SUSPEND
     * negotiated); the generic path refuses the bit as unknown. */
    if ((s->negotiated & VDM_F_SUSPEND) == 0u) {
        slog(s, VDM_LOG_WARN, VDM_MSG("SUSPEND without VIRTIO_F_SUSPEND"));
        return 0;
    }
    if ((s->status & (VDM_STATUS_DRIVER_OK | VDM_STATUS_DEVICE_NEEDS_RESET |
                      VDM_STATUS_FAILED)) != VDM_STATUS_DRIVER_OK) {
        slog(s, VDM_LOG_WARN,
             VDM_MSG("SUSPEND ignored: device not initialised and running"));
        return 0;
    }
    /* Anything but SUSPEND added to, or a bit cleared from, the status:
     * the generic path judges the write (and refuses SUSPEND in it). */
    if (val != (uint8_t)(s->status | VDM_STATUS_SUSPEND)) {
        return 0;
    }
    s->status |= VDM_STATUS_SUSPEND;
    slog(s, VDM_LOG_INFO, VDM_MSG("driver suspends the device"));
    *rc = 0;
    if (class_suspend(d, s, 1) < 0) {
        vdmi_dev_needs_reset(d, VDM_EIO,
                             VDM_MSG("device type failed to suspend"));
        return 1;
    }
    (void)vdm_dev_suspend_poll(d);
    return 1;
}

/* The driver sets DRIVER_OK on a suspended device. */
static void resume(struct vdm_dev *d, struct vdm_dev_state *s)
{
    uint16_t q;

    s->status = (uint8_t)((s->status & (uint8_t)~VDM_STATUS_SUSPEND) |
                          VDM_STATUS_DRIVER_OK);
    slog(s, VDM_LOG_INFO, VDM_MSG("device resumed"));
    if (class_suspend(d, s, 0) < 0) {
        vdmi_dev_needs_reset(d, VDM_EIO, VDM_MSG("device type failed to resume"));
        return;
    }
    /* Spec "Device Suspend": a configuration change while suspended is
     * notified when the device resumes. */
    if ((s->flags & VDM_DF_CONFIG_PENDING) != 0u) {
        s->flags &= (uint8_t)~VDM_DF_CONFIG_PENDING;
        vdmi_dev_send_config(s);
    }
    /* Buffers made available while suspending were not taken: look. */
    for (q = 0; (q < s->num_queues) && (vdm_dev_live(d) != 0); q++) {
        if ((qregs(s, q)[VDM_QR_FLAGS] & VDM_QF_ENABLED) == 0u) {
            continue;
        }
        if (q >= type_queues(s)) {
            vdmi_dev_admin_notify(d, s, q);
        } else {
            s->cls->queue_notify(d, q);
        }
    }
}

int vdmi_suspend_status(struct vdm_dev *d, struct vdm_dev_state *s,
                        uint8_t val, int *rc)
{
    if ((s->status & VDM_STATUS_SUSPEND) == 0u) {
        return suspend(d, s, val, rc);
    }
    /* SUSPEND is set: suspending (DRIVER_OK still set) or suspended. */
    if ((s->status & INIT_BITS & (uint8_t)~val) != 0u) {
        return 0; /* clears an initialisation bit: the generic path ignores
                     the write */
    }
    if (((s->status & VDM_STATUS_DRIVER_OK) == 0u) &&
        ((val & VDM_STATUS_DRIVER_OK) != 0u)) {
        if ((s->status & (VDM_STATUS_DEVICE_NEEDS_RESET | VDM_STATUS_FAILED)) !=
            0u) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("resume refused: device needs reset or failed"));
            *rc = VDM_ESTATE;
            return 1;
        }
        resume(d, s);
        *rc = 0;
        return 1;
    }
    if ((val & VDM_STATUS_FAILED) != 0u) {
        return 0; /* FAILED is recorded by the generic path */
    }
    if ((val & VDM_STATUS_SUSPEND) == 0u) {
        /* Spec "Device Status Field": the driver MUST NOT clear a bit; it
         * resumes by setting DRIVER_OK. */
        slog(s, VDM_LOG_WARN, VDM_MSG("status write clearing SUSPEND ignored"));
        *rc = VDM_ESTATE;
        return 1;
    }
    return 0;
}

int vdmi_suspend_restored(struct vdm_dev *d)
{
    struct vdm_dev_state *s = st(d);
    int rc = VDM_EINVAL;

    if ((s != NULL) && ((s->status & VDM_STATUS_SUSPEND) != 0u)) {
        rc = class_suspend(d, s, 1);
        if (rc == 0) {
            /* Nothing is in flight after a restore (chains in flight were
             * given back to the ring): a suspending device is suspended. */
            (void)vdm_dev_suspend_poll(d);
        }
    }
    return rc;
}
#else /* !VDM_CONFIG_SUSPEND: never offered, so never suspending */

int vdm_dev_suspending(const struct vdm_dev *d)
{
    (void)cst(d);
    return 0;
}

int vdm_dev_suspend_poll(struct vdm_dev *d)
{
    return (st(d) != NULL) ? 0 : VDM_EINVAL;
}

int vdmi_suspend_restored(struct vdm_dev *d)
{
    (void)d;
    return VDM_EINVAL; /* the status check refuses SUSPEND before this */
}
#endif
