/* SPDX-License-Identifier: BSD-3-Clause */
/* Driver-side transport steps shared by the MMIO and PCI drivers: see
 * drv_transport.h. Written from the spec's "Device Initialization" and
 * "Device Configuration Space" driver rules. */
#include "drv_transport.h"

#include <string.h>

#include "vdm/common.h"

#define ST_ACK         1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u

static void trace(struct drv_tp *t, const char *step)
{
    if (t->trace != NULL)
        t->trace(t->trace_ctx, step);
}

void drv_tp_count(struct drv_tp *t, int rc)
{
    t->accesses++;
    if (rc != 0) {
        t->refused++;
        t->last_rc = rc;
    }
}

void drv_tp_log(struct drv_tp *t, int level, const char *msg)
{
    t->nlog++;
    /* VDM_CONFIG_LOG_TEXT=0: an event code above the level, no text */
    if (VDM_LOG_LEVEL(level) == VDM_LOG_ERROR)
        t->nerror++;
    else if (VDM_LOG_LEVEL(level) == VDM_LOG_WARN)
        t->nwarn++;
    t->last_log = msg;
    t->last_event = VDM_LOG_EVENT(level);
}

int drv_tp_reset(struct drv_tp *t)
{
    int i;
    t->ops->set_status(t, 0);
    /* "Device Reset": the driver waits for status to read 0. */
    for (i = 0; i < 1000; i++) {
        if (t->ops->get_status(t) == 0)
            return 0;
    }
    return -1;
}

int drv_tp_negotiate(struct drv_tp *t, uint64_t want)
{
    uint64_t offered, f;
    uint8_t s;

    trace(t, "reset the device (status 0), wait until it reads 0");
    if (drv_tp_reset(t) != 0)
        return -1;
    trace(t, "set ACKNOWLEDGE");
    t->ops->set_status(t, ST_ACK);
    trace(t, "set DRIVER");
    t->ops->set_status(t, ST_ACK | ST_DRIVER);
    s = t->ops->get_status(t);
    if (s != (ST_ACK | ST_DRIVER))
        return -2;
    trace(t, "read the device feature bits");
    offered = t->ops->device_features(t);
    if ((offered & DRV_F_VERSION_1) == 0)
        return -3;
    f = (want | DRV_F_VERSION_1) & offered;
    trace(t, "write the driver feature bits (a subset of the offer)");
    t->ops->driver_features(t, f);
    trace(t, "set FEATURES_OK");
    t->ops->set_status(t, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    trace(t, "re-read status: FEATURES_OK must still be set");
    s = t->ops->get_status(t);
    if ((s & ST_FEATURES_OK) == 0)
        return -4;
    t->features = f;
    return 0;
}

int drv_tp_setup_queue(struct drv_tp *t, uint16_t q, struct drv_vq *vq,
                       struct drv_guest *g, uint16_t num)
{
    uint16_t max = t->ops->queue_max(t, q);

    if (max == 0)
        return -1;
    if (t->ops->queue_enabled(t, q))
        return -2;
    if (num == 0 || num > max)
        num = max;
    if (drv_vq_init(vq, g, num, t->features) != 0)
        return -3;
    t->ops->queue_config(t, q, num, drv_vq_desc_gpa(vq), drv_vq_driver_gpa(vq),
                         drv_vq_device_gpa(vq));
    t->ops->queue_enable(t, q);
    if (!t->ops->queue_enabled(t, q)) {
        drv_vq_fini(vq);
        return -4;
    }
    return 0;
}

int drv_tp_driver_ok(struct drv_tp *t)
{
    uint8_t s = t->ops->get_status(t);
    trace(t, "set DRIVER_OK: the device is live");
    t->ops->set_status(t, (uint8_t)(s | ST_DRIVER_OK));
    return (t->ops->get_status(t) & ST_DRIVER_OK) != 0 ? 0 : -1;
}

int drv_tp_bring_up(struct drv_tp *t, uint64_t want, uint16_t nq,
                    struct drv_vq *vqs, struct drv_guest *g, uint16_t num)
{
    int rc = drv_tp_negotiate(t, want);
    uint16_t q;

    if (rc != 0)
        return rc - 10;
    if (t->ops->post_features != NULL)
        t->ops->post_features(t);
    for (q = 0; q < nq; q++) {
        trace(t, "set a queue up: select, check not ready, read max size, "
                 "write size and ring addresses, enable, read back");
        rc = drv_tp_setup_queue(t, q, &vqs[q], g, num);
        if (rc != 0) {
            while (q-- > 0)
                drv_vq_fini(&vqs[q]);
            return rc - 20;
        }
    }
    rc = drv_tp_driver_ok(t);
    if (rc != 0) {
        for (q = 0; q < nq; q++)
            drv_vq_fini(&vqs[q]);
        return rc - 30;
    }
    return 0;
}

int drv_tp_kick(struct drv_tp *t, uint16_t q, struct drv_vq *vq, int force)
{
    uint32_t value = q;

    drv_vq_publish(vq);
    if (!drv_vq_kick_needed(vq) && !force)
        return 0;
    /* "Driver Notifications": vq index in bits 0-15, next_off/next_wrap in
     * bits 16-31 when NOTIFICATION_DATA is negotiated. */
    if ((t->features & DRV_F_NOTIFICATION_DATA) != 0)
        value |= (uint32_t)drv_vq_next_off_wrap(vq) << 16;
    t->ops->notify(t, q, value);
    return 1;
}

unsigned drv_tp_interrupt(struct drv_tp *t)
{
    return t->ops->interrupt(t);
}

int drv_tp_config_read(struct drv_tp *t, uint32_t off, void *buf, uint32_t len)
{
    uint8_t *b = buf;
    int round;

    for (round = 0; round < 100; round++) {
        uint32_t before = t->ops->config_generation(t), after, i = 0;
        while (i < len) {
            unsigned w = 1;
            uint32_t v;
            if (((off + i) & 3u) == 0 && len - i >= 4)
                w = 4;
            else if (((off + i) & 1u) == 0 && len - i >= 2)
                w = 2;
            v = t->ops->config_read(t, off + i, w);
            for (unsigned k = 0; k < w; k++)
                b[i + k] = (uint8_t)(v >> (8 * k));
            i += w;
        }
        after = t->ops->config_generation(t);
        if (after == before)
            return round;
    }
    return -1;
}
