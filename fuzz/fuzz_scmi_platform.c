/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the SCMI platform module (vdm/devices/scmi_platform.h):
 * random SCMI messages, host sensor reports, notification drains and
 * resets against a platform with every protocol populated.
 *
 * Input: byte 0 picks the configuration (bit 0: host hooks, bits 2:1: the
 * error the hooks return, bit 3: smallest max payload); then records
 *   0 len bytes[len] cap    one message (cap: response buffer bytes)
 *   1 id value(8)           vdm_scmi_platform_sensor_update
 *   2 cap                   vdm_scmi_platform_next_notification
 *   3                       vdm_scmi_platform_reset
 * Every buffer is allocated at its exact size so ASan sees any access past
 * it. Invariants: a response fits the buffer and the max payload and
 * echoes the header; a notification fits its buffer.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "vdm/devices/scmi_platform.h"
#include "vdm/le.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vdm_scmi_power_domain power[] = {
    {.name = "pd0", .init_state = VDM_SCMI_POWER_OFF},
    {.name = "a-long-power-domain-name-over-15", .init_state = 0},
};
static const uint64_t rates[] = {1, 1000, 1000000, 0xffffffffffffull,
                                 UINT64_MAX};
static const struct vdm_scmi_clock clocks[] = {
    {.name = "list", .rates = rates, .nrates = 5, .init_rate = 1000},
    {.name = "range", .min = 0, .max = UINT64_MAX, .step = 3, .init_rate = 3},
    {.name = "range1", .min = 10, .max = 10, .init_rate = 10},
};
static const struct vdm_scmi_sensor sensors[] = {
    {.name = "t",
     .type = 2,
     .scale = -16,
     .ntrips = VDM_SCMI_SENSOR_TRIPS_MAX,
     .flags = VDM_SCMI_SENSOR_F_UPDATE_NOTIFY,
     .update_secs = 0xffff,
     .update_exp = 15},
    {.name = "sensor-with-a-long-name", .type = 255, .scale = 15, .ntrips = 1},
    {.name = NULL, .flags = VDM_SCMI_SENSOR_F_DISABLED},
};
static const struct vdm_scmi_reset_domain resets[] = {
    {.name = "r0", .latency_us = 1},
};

static int hook_err;
static int h_power_set(void *h, uint32_t id, uint32_t s)
{
    (void)h;
    CHECK(id < 2);
    (void)s;
    return hook_err;
}
static int h_power_get(void *h, uint32_t id, uint32_t *s)
{
    (void)h;
    CHECK(id < 2);
    *s = 0x40000000u;
    return hook_err;
}
static int h_clock_rate(void *h, uint32_t id, uint64_t r)
{
    (void)h;
    (void)r;
    CHECK(id < 3);
    return hook_err;
}
static int h_clock_get(void *h, uint32_t id, uint64_t *r)
{
    (void)h;
    CHECK(id < 3);
    *r = 7;
    return hook_err;
}
static int h_clock_enable(void *h, uint32_t id, uint32_t on)
{
    (void)h;
    CHECK(id < 3 && on <= 1);
    return hook_err;
}
static int h_sensor_read(void *h, uint32_t id, int64_t *v)
{
    (void)h;
    CHECK(id < 3);
    *v = -1;
    return hook_err;
}
static int h_sensor_enable(void *h, uint32_t id, uint32_t on)
{
    (void)h;
    CHECK(id < 3 && on <= 1);
    return hook_err;
}
static int h_reset(void *h, uint32_t id, uint32_t f, uint32_t s)
{
    (void)h;
    (void)s;
    CHECK(id < 1 && f <= 2);
    return hook_err;
}
static const struct vdm_scmi_platform_ops ops = {
    .size = sizeof(struct vdm_scmi_platform_ops),
    .power_set = h_power_set,
    .power_get = h_power_get,
    .clock_set_rate = h_clock_rate,
    .clock_get_rate = h_clock_get,
    .clock_enable = h_clock_enable,
    .sensor_read = h_sensor_read,
    .sensor_enable = h_sensor_enable,
    .reset = h_reset,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int errs[] = {0, VDM_EIO, VDM_EINVAL, VDM_EBUSY};
    static struct vdm_scmi_platform p;
    static _Alignas(8) uint8_t state[VDM_SCMI_PLATFORM_STATE_BYTES(2, 3, 3)];
    struct vdm_scmi_platform_config c =
        VDM_INIT(struct vdm_scmi_platform_config);
    struct fz f;
    uint8_t sel;
    uint32_t maxp;

    fz_init(&f, data, size);
    sel = fz_u8(&f);
    hook_err = errs[(sel >> 1) & 3];
    maxp = (sel & 8) ? VDM_SCMI_MAX_PAYLOAD_MIN : 0;
    c.vendor = "fuzz";
    c.agent_name = "agent-name-longer-than-15";
    c.max_payload = maxp;
    c.npower = 2;
    c.power = power;
    c.nclocks = 3;
    c.clocks = clocks;
    c.nsensors = 3;
    c.sensors = sensors;
    c.nresets = 1;
    c.resets = resets;
    c.state = state;
    c.state_bytes = sizeof(state);
    c.ops = (sel & 1) ? &ops : NULL;
    CHECK(vdm_scmi_platform_init(&p, &c) == 0);
    if (maxp == 0)
        maxp = VDM_SCMI_MAX_PAYLOAD_DEFAULT;

    while (!fz_done(&f)) {
        switch (fz_u8(&f) % 4) {
        case 0: {
            uint32_t len = fz_u8(&f);
            uint8_t *req = malloc(len ? len : 1);
            len = (uint32_t)fz_bytes(&f, req, len);
            uint32_t cap = fz_u8(&f);
            uint8_t *rsp = malloc(cap ? cap : 1);
            uint32_t n = 77;
            int r = vdm_scmi_platform_handle(&p, req, len, rsp, cap, &n);
            if (len < 4) {
                CHECK(r == VDM_EPROTO && n == 0);
            } else if (cap < VDM_SCMI_RESPONSE_MIN_BYTES) {
                CHECK(r == VDM_ENOSPC && n == 0);
            } else {
                CHECK(r == 0);
                CHECK(n >= 8 && n <= cap && n <= 8 + maxp);
                CHECK(memcmp(rsp, req, 4) == 0);
                CHECK((int32_t)vdm_le32(rsp + 4) <= 0 &&
                      (int32_t)vdm_le32(rsp + 4) >= VDM_SCMI_PROTOCOL_ERROR);
            }
            free(req);
            free(rsp);
            break;
        }
        case 1: {
            uint32_t id = fz_u8(&f) % 4;
            int r =
                vdm_scmi_platform_sensor_update(&p, id, (int64_t)fz_u64(&f));
            CHECK(id < 3 ? r >= 0 : r == VDM_ERANGE);
            break;
        }
        case 2: {
            uint32_t cap = fz_u8(&f) % 64;
            uint8_t *b = malloc(cap ? cap : 1);
            uint32_t n = 77;
            int r = vdm_scmi_platform_next_notification(&p, b, cap, &n);
            CHECK(r == 0 || r == 1 || r == VDM_ENOSPC);
            CHECK(r == 1 ? (n >= 4 && n <= cap &&
                            n <= VDM_SCMI_NOTIFICATION_MAX_BYTES)
                         : n == 0);
            free(b);
            break;
        }
        default: vdm_scmi_platform_reset(&p); break;
        }
    }
    return 0;
}
