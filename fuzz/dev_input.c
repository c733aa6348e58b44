/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-input (fuzz_dev.h). The host sends single events,
 * reports and batches into a small event ring; the driver sends status
 * events. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/input.h"

#define INPUT_RING 16u

static struct {
    struct vdm_input in;
    struct vdm_input_ops iops;
    struct vdm_input_config icfg;
    struct vdm_input_event iring[INPUT_RING];
} I;

static void input_status(void *host, uint16_t type, uint16_t code,
                         uint32_t value)
{
    (void)host;
    (void)type;
    (void)code;
    (void)value;
}

static int input_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                        uint8_t cb)
{
    int rc;
    memset(&I, 0, sizeof(I));
    base->num_queues = 2;
    I.icfg = (struct vdm_input_config){.size = sizeof(I.icfg)};
    switch (cb % 3) {
    case 0: rc = vdm_input_profile_keyboard(&I.icfg); break;
    case 1: rc = vdm_input_profile_mouse(&I.icfg); break;
    default: rc = vdm_input_profile_touch(&I.icfg); break;
    }
    FZ_CHECK(rc == 0, "input profile %d", rc);
    /* input.c refuses fewer than 2 entries (input.h says >= 1) */
    I.icfg.queue_len = 2u + (cb >> 2) % (INPUT_RING - 1);
    I.icfg.queue = I.iring;
    I.iops =
        (struct vdm_input_ops){.size = sizeof(I.iops), .status = input_status};
    I.icfg.ops = (cb & 0x80) ? &I.iops : NULL;
    return vdm_input_init(&I.in, dev, &I.icfg, base);
}

/* 8 bytes: one status event (statusq) */
static uint32_t input_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    (void)type;
    fz_bytes(f, req, 8);
    return 8;
}

static void input_check_used(unsigned q, const struct fd_rec *r,
                             const struct drv_used *u)
{
    (void)r;
    if (q == VDM_INPUT_QUEUE_EVENT)
        FZ_CHECK(u->len == 0 || u->len == VDM_INPUT_EVENT_BYTES,
                 "eventq used len %u", u->len);
    else
        FZ_CHECK(u->len == 0, "statusq used len %u", u->len);
}

static void input_host(uint8_t act, uint32_t arg)
{
    uint64_t dropped = vdm_input_dropped(&I.in);
    int rc;
    switch (act % 3) {
    case 0:
        rc = vdm_input_send(&I.in, (uint16_t)(arg & 0x1f),
                            (uint16_t)((arg >> 5) & 0x3ff), arg >> 15);
        FZ_CHECK(rc == 0 || rc == VDM_ENOSPC, "input send %d", rc);
        FZ_CHECK(rc == 0 || vdm_input_dropped(&I.in) > dropped,
                 "dropped event not counted");
        break;
    case 1:
        rc = vdm_input_send(&I.in, VDM_INPUT_EV_SYN, VDM_INPUT_SYN_REPORT, 0);
        FZ_CHECK(rc == 0 || rc == VDM_ENOSPC, "input syn %d", rc);
        break;
    default: {
        struct vdm_input_event ev[32];
        uint32_t n = arg % 32;
        for (uint32_t i = 0; i < n; i++) {
            ev[i].type = (i % 3 == 2) ? VDM_INPUT_EV_SYN : VDM_INPUT_EV_KEY;
            ev[i].code = (i % 3 == 2) ? VDM_INPUT_SYN_REPORT
                                      : (uint16_t)(VDM_INPUT_KEY_A + i % 20);
            ev[i].value = (i % 3 == 2) ? 0 : (i % 3);
        }
        rc = vdm_input_send_many(&I.in, ev, n);
        FZ_CHECK(rc >= 0 && (uint32_t)rc <= n, "send_many %d of %u", rc, n);
        break;
    }
    }
    FZ_CHECK(vdm_input_pending(&I.in) <= I.icfg.queue_len,
             "%u events pending in a ring of %u", vdm_input_pending(&I.in),
             I.icfg.queue_len);
}

const struct fuzz_dev_plugin fuzz_dev_input = {
    .name = "input",
    .create = input_create,
    .request = input_request,
    .check_used = input_check_used,
    .host = input_host,
};
