/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI platform module (include/vdm/devices/scmi_platform.h): every
 * command of the protocols served, paging, error statuses, hostile
 * messages and notifications. Section names are those of Arm DEN0056
 * (SCMI); payload layouts are those of the protocol versions advertised,
 * as the Linux 6.12 agent parses them.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vdm/devices/scmi_platform.h"
#include "vdm/le.h"

#define P_BASE   VDM_SCMI_PROTOCOL_BASE
#define P_POWER  VDM_SCMI_PROTOCOL_POWER
#define P_CLOCK  VDM_SCMI_PROTOCOL_CLOCK
#define P_SENSOR VDM_SCMI_PROTOCOL_SENSOR
#define P_RESET  VDM_SCMI_PROTOCOL_RESET

static const struct vdm_scmi_power_domain power_tbl[] = {
    {.name = "gpu", .init_state = VDM_SCMI_POWER_OFF},
    {.name = "a-very-long-power-domain-name", .init_state = VDM_SCMI_POWER_ON},
};
static const uint64_t rates0[] = {100000000ull, 200000000ull, 400000000ull,
                                  800000000ull};
static uint64_t many_rates[40];
static struct vdm_scmi_clock clock_tbl[3];
static struct vdm_scmi_sensor sensor_tbl[7];
static const struct vdm_scmi_reset_domain reset_tbl[] = {
    {.name = "usb", .latency_us = 10},
    {.name = "a-reset-domain-with-long-name", .latency_us = 0},
};

/* What the host hooks saw, and what they answer. */
static struct {
    uint32_t calls;
    uint32_t id, a;
    uint64_t rate;
    int err;
    int64_t sensor_value;
} hk;

static int h_power_set(void *host, uint32_t id, uint32_t st)
{
    (void)host;
    hk.calls++;
    hk.id = id;
    hk.a = st;
    return hk.err;
}
static int h_clock_set(void *host, uint32_t id, uint64_t rate)
{
    (void)host;
    hk.calls++;
    hk.id = id;
    hk.rate = rate;
    return hk.err;
}
static int h_clock_enable(void *host, uint32_t id, uint32_t on)
{
    (void)host;
    hk.calls++;
    hk.id = id;
    hk.a = on;
    return hk.err;
}
static int h_sensor_read(void *host, uint32_t id, int64_t *v)
{
    (void)host;
    hk.calls++;
    hk.id = id;
    *v = hk.sensor_value;
    return hk.err;
}
static int h_reset(void *host, uint32_t id, uint32_t flags, uint32_t state)
{
    (void)host;
    hk.calls++;
    hk.id = id;
    hk.a = flags;
    hk.rate = state;
    return hk.err;
}

static const struct vdm_scmi_platform_ops hooks = {
    .size = sizeof(struct vdm_scmi_platform_ops),
    .power_set = h_power_set,
    .clock_set_rate = h_clock_set,
    .clock_enable = h_clock_enable,
    .sensor_read = h_sensor_read,
    .reset = h_reset,
};

static struct vdm_scmi_platform pl;
static _Alignas(8) uint8_t state[VDM_SCMI_PLATFORM_STATE_BYTES(2, 3, 7)];
static struct vdm_scmi_platform_config cfg;
static uint8_t rsp[512];
static uint32_t rlen;

static void tables(void)
{
    for (unsigned i = 0; i < 40; i++)
        many_rates[i] = 1000000ull * (i + 1);
    memset(clock_tbl, 0, sizeof(clock_tbl));
    clock_tbl[0] = (struct vdm_scmi_clock){.name = "cpu",
                                           .rates = rates0,
                                           .nrates = 4,
                                           .flags = VDM_SCMI_CLOCK_F_ENABLED,
                                           .init_rate = 200000000ull,
                                           .enable_latency_us = 7};
    clock_tbl[1] = (struct vdm_scmi_clock){.name = "uart-clock-longer-name",
                                           .min = 1000,
                                           .max = 10000,
                                           .step = 1000,
                                           .init_rate = 5000};
    clock_tbl[2] = (struct vdm_scmi_clock){.name = "many",
                                           .rates = many_rates,
                                           .nrates = 40,
                                           .init_rate = 1000000};
    memset(sensor_tbl, 0, sizeof(sensor_tbl));
    for (unsigned i = 0; i < 7; i++)
        sensor_tbl[i] = (struct vdm_scmi_sensor){.name = "s", .type = 2};
    sensor_tbl[0] =
        (struct vdm_scmi_sensor){.name = "soc-temp",
                                 .type = 2, /* degrees C */
                                 .scale = -3,
                                 .ntrips = 2,
                                 .flags = VDM_SCMI_SENSOR_F_UPDATE_NOTIFY,
                                 .update_secs = 5,
                                 .update_exp = -1};
    sensor_tbl[1] =
        (struct vdm_scmi_sensor){.name = "a-sensor-with-a-long-name",
                                 .type = 5,
                                 .scale = 2,
                                 .flags = VDM_SCMI_SENSOR_F_DISABLED};
}

static void setup_with(const struct vdm_scmi_platform_ops *ops)
{
    tables();
    memset(&hk, 0, sizeof(hk));
    memset(state, 0xa5, sizeof(state));
    cfg = VDM_INIT(struct vdm_scmi_platform_config);
    cfg.impl_version = 0x10203;
    cfg.vendor = "vdm";
    cfg.sub_vendor = "a-sub-vendor-name-too-long";
    cfg.agent_name = "OSPM";
    cfg.npower = 2;
    cfg.power = power_tbl;
    cfg.nclocks = 3;
    cfg.clocks = clock_tbl;
    cfg.nsensors = 7;
    cfg.sensors = sensor_tbl;
    cfg.nresets = 2;
    cfg.resets = reset_tbl;
    cfg.state = state;
    cfg.state_bytes = sizeof(state);
    cfg.ops = ops;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), 0);
}

static void setup(void)
{
    setup_with(NULL);
}

static void teardown(void)
{
}

/* Send a command with n parameter words; returns its status, checks the
 * echoed header. */
static int32_t cmdn(uint32_t proto, uint32_t msg, uint32_t cap,
                    const uint32_t *p, unsigned n)
{
    uint8_t req[64];
    uint32_t hdr = VDM_SCMI_HDR(msg, 0, proto, 0x2a5);

    vdm_put_le32(req, hdr);
    for (unsigned i = 0; i < n; i++)
        vdm_put_le32(req + 4 + 4 * i, p[i]);
    memset(rsp, 0xee, sizeof(rsp));
    ck_assert_int_eq(
        vdm_scmi_platform_handle(&pl, req, 4 + 4 * n, rsp, cap, &rlen), 0);
    ck_assert_uint_ge(rlen, 8);
    ck_assert_uint_le(rlen, cap);
    ck_assert_uint_le(rlen, 8 + 128);
    ck_assert_uint_eq(vdm_le32(rsp), hdr);
    return (int32_t)vdm_le32(rsp + 4);
}

#define CMD(proto, msg, ...)                                                   \
    cmdn((proto), (msg), sizeof(rsp),                                          \
         (const uint32_t[]){0, ##__VA_ARGS__} + 1,                             \
         sizeof((uint32_t[]){0, ##__VA_ARGS__}) / 4 - 1)

static uint32_t r32(unsigned off)
{
    return vdm_le32(rsp + 8 + off);
}
static uint64_t r64(unsigned off)
{
    return vdm_le64(rsp + 8 + off);
}
static uint32_t payload(void)
{
    return rlen - 8;
}

/* DEN0056 4.1 "Protocol discovery": PROTOCOL_VERSION of each protocol is the
 * version whose layouts are served. */
START_TEST(versions)
{
    ck_assert_int_eq(CMD(P_BASE, 0), 0);
    ck_assert_uint_eq(r32(0), 0x20000);
    ck_assert_int_eq(CMD(P_POWER, 0), 0);
    ck_assert_uint_eq(r32(0), 0x30000);
    ck_assert_int_eq(CMD(P_CLOCK, 0), 0);
    ck_assert_uint_eq(r32(0), 0x20000);
    ck_assert_int_eq(CMD(P_SENSOR, 0), 0);
    ck_assert_uint_eq(r32(0), 0x30000);
    ck_assert_int_eq(CMD(P_RESET, 0), 0);
    ck_assert_uint_eq(r32(0), 0x30000);
    ck_assert_uint_eq(payload(), 4);
}
END_TEST

/* DEN0056 4.2 "Base protocol": attributes, vendor, sub-vendor,
 * implementation version. */
START_TEST(base_discovery)
{
    ck_assert_int_eq(CMD(P_BASE, 1), 0);
    ck_assert_uint_eq(payload(), 4);
    ck_assert_uint_eq(rsp[8], 4); /* protocols other than base */
    ck_assert_uint_eq(rsp[9], 1); /* agents */
    ck_assert_int_eq(CMD(P_BASE, 3), 0);
    ck_assert_uint_eq(payload(), 16);
    ck_assert_str_eq((char *)rsp + 8, "vdm");
    ck_assert_int_eq(CMD(P_BASE, 4), 0);
    ck_assert_uint_eq(payload(), 16);
    ck_assert_int_eq(memcmp(rsp + 8, "a-sub-vendor-na", 15), 0);
    ck_assert_uint_eq(rsp[8 + 15], 0); /* always NUL-terminated */
    ck_assert_int_eq(CMD(P_BASE, 5), 0);
    ck_assert_uint_eq(r32(0), 0x10203);
}
END_TEST

/* DEN0056 4.2.2.7 DISCOVER_LIST_PROTOCOLS: skip, count, bytes padded to a
 * word (Linux checks the padded length). */
START_TEST(base_list_protocols)
{
    ck_assert_int_eq(CMD(P_BASE, 6, 0), 0);
    ck_assert_uint_eq(r32(0), 4);
    ck_assert_uint_eq(payload(), 8);
    ck_assert_int_eq(memcmp(rsp + 12, "\x11\x14\x15\x16", 4), 0);
    ck_assert_int_eq(CMD(P_BASE, 6, 3), 0);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_uint_eq(payload(), 8);
    ck_assert_uint_eq(rsp[12], 0x16);
    ck_assert_uint_eq(rsp[13], 0);
    ck_assert_int_eq(CMD(P_BASE, 6, 4), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_uint_eq(payload(), 4);
    ck_assert_int_eq(CMD(P_BASE, 6, 5), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_uint_eq(payload(), 0);
    ck_assert_int_eq(CMD(P_BASE, 6, 0xffffffffu), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_BASE, 6), VDM_SCMI_PROTOCOL_ERROR);
    /* A buffer with room for 12 bytes of payload: paged to one word. */
    uint32_t skip = 0;
    ck_assert_int_eq(cmdn(P_BASE, 6, 8 + 12, &skip, 1), 0);
    ck_assert_uint_eq(r32(0), 4);
    skip = 0;
    ck_assert_int_eq(cmdn(P_BASE, 6, 8 + 7, &skip, 1), VDM_SCMI_COMMS_ERROR);
}
END_TEST

/* DEN0056 4.2.2.8 DISCOVER_AGENT: 0 the platform, 0xFFFFFFFF the caller. */
START_TEST(base_discover_agent)
{
    ck_assert_int_eq(CMD(P_BASE, 7, 0), 0);
    ck_assert_uint_eq(payload(), 20);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_str_eq((char *)rsp + 12, "platform");
    ck_assert_int_eq(CMD(P_BASE, 7, 0xffffffffu), 0);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_str_eq((char *)rsp + 12, "OSPM");
    ck_assert_int_eq(CMD(P_BASE, 7, 1), 0);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_int_eq(CMD(P_BASE, 7, 2), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_BASE, 7), VDM_SCMI_PROTOCOL_ERROR);
    /* BASE_NOTIFY_ERRORS and the 2.0 permission messages are not served. */
    ck_assert_int_eq(CMD(P_BASE, 8, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_BASE, 9, 1, 1, 1), VDM_SCMI_NOT_SUPPORTED);
}
END_TEST

/* DEN0056 4.1 PROTOCOL_MESSAGE_ATTRIBUTES, every protocol, all 256 ids:
 * SUCCESS with attributes 0 exactly for the ids implemented, NOT_FOUND
 * for the rest; a command to each id is NOT_SUPPORTED exactly when the
 * message attributes said NOT_FOUND. */
START_TEST(message_attributes_all_ids)
{
    static const uint32_t protos[] = {P_BASE, P_POWER, P_CLOCK, P_SENSOR,
                                      P_RESET};
    static const unsigned nimpl[] = {8, 7, 9, 12, 6};
    for (unsigned p = 0; p < 5; p++) {
        unsigned found = 0;
        for (uint32_t id = 0; id < 300; id++) {
            int32_t st = CMD(protos[p], 2, id);
            if (st == 0) {
                ck_assert_uint_eq(payload(), 4);
                ck_assert_uint_eq(r32(0), 0);
                found++;
            } else {
                ck_assert_int_eq(st, VDM_SCMI_NOT_FOUND);
                ck_assert_uint_eq(payload(), 0);
            }
            if (id > 255)
                continue;
            /* The command itself with generous parameters. */
            int32_t c = CMD(protos[p], id, 0, 0, 0, 0, 0, 0);
            if (st != 0)
                ck_assert_int_eq(c, VDM_SCMI_NOT_SUPPORTED);
            else
                ck_assert_int_ne(c, VDM_SCMI_NOT_SUPPORTED);
        }
        ck_assert_uint_eq(found, nimpl[p]);
    }
    ck_assert_int_eq(CMD(P_POWER, 2), VDM_SCMI_PROTOCOL_ERROR);
}
END_TEST

/* DEN0056 4.1: an unknown protocol is NOT_SUPPORTED, and so is a protocol
 * the platform has nothing for (not listed). */
START_TEST(unknown_protocols)
{
    for (uint32_t p = 0; p < 256; p++) {
        int32_t st = CMD(p, 0);
        if (p == P_BASE || p == P_POWER || p == P_CLOCK || p == P_SENSOR ||
            p == P_RESET)
            ck_assert_int_eq(st, 0);
        else
            ck_assert_int_eq(st, VDM_SCMI_NOT_SUPPORTED);
    }
    cfg.npower = 0;
    cfg.nresets = 0;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), 0);
    ck_assert_int_eq(CMD(P_POWER, 0), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_RESET, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_BASE, 1), 0);
    ck_assert_uint_eq(rsp[8], 2);
    ck_assert_int_eq(CMD(P_BASE, 6, 0), 0);
    ck_assert_uint_eq(r32(0), 2);
    ck_assert_int_eq(memcmp(rsp + 12, "\x14\x15\0\0", 4), 0);
}
END_TEST

/* DEN0056 "Message header format": a message type other than command is
 * answered NOT_SUPPORTED with the header echoed; fewer than 4 bytes get
 * no answer. */
START_TEST(hostile_headers)
{
    uint8_t req[8] = {0};
    uint32_t n = 99;
    for (uint32_t type = 1; type < 4; type++) {
        vdm_put_le32(req, VDM_SCMI_HDR(0, type, P_BASE, 3));
        ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, rsp, 64, &n), 0);
        ck_assert_uint_eq(n, 8);
        ck_assert_uint_eq(vdm_le32(rsp), VDM_SCMI_HDR(0, type, P_BASE, 3));
        ck_assert_int_eq((int32_t)vdm_le32(rsp + 4), VDM_SCMI_NOT_SUPPORTED);
    }
    /* Reserved header bits 31:28 are echoed, not interpreted. */
    vdm_put_le32(req, 0xf0000000u | VDM_SCMI_HDR(0, 0, P_BASE, 3));
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, rsp, 64, &n), 0);
    ck_assert_uint_eq(n, 12);
    ck_assert_uint_eq(vdm_le32(rsp),
                      0xf0000000u | VDM_SCMI_HDR(0, 0, P_BASE, 3));
    for (uint32_t len = 0; len < 4; len++) {
        n = 99;
        ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, len, rsp, 64, &n),
                         VDM_EPROTO);
        ck_assert_uint_eq(n, 0);
    }
    n = 99;
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, rsp, 7, &n),
                     VDM_ENOSPC);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(vdm_scmi_platform_handle(NULL, req, 4, rsp, 64, &n),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, NULL, 4, rsp, 64, &n),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, NULL, 64, &n),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, rsp, 64, NULL),
                     VDM_EINVAL);
    /* A cap of exactly 8: room for no payload, the status says so. */
    vdm_put_le32(req, VDM_SCMI_HDR(0, 0, P_BASE, 3));
    ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4, rsp, 8, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq((int32_t)vdm_le32(rsp + 4), VDM_SCMI_COMMS_ERROR);
}
END_TEST

/* Every command of every protocol with its parameters cut short, word by
 * word: PROTOCOL_ERROR, never a read past the message (ASan). */
START_TEST(short_parameters)
{
    static const struct {
        uint32_t proto, msg, words;
    } need[] = {
        {P_BASE, 2, 1},    {P_BASE, 6, 1},    {P_BASE, 7, 1},
        {P_POWER, 3, 1},   {P_POWER, 4, 3},   {P_POWER, 5, 1},
        {P_POWER, 8, 1},   {P_CLOCK, 3, 1},   {P_CLOCK, 4, 2},
        {P_CLOCK, 5, 4},   {P_CLOCK, 6, 1},   {P_CLOCK, 7, 2},
        {P_CLOCK, 8, 1},   {P_SENSOR, 3, 1},  {P_SENSOR, 4, 2},
        {P_SENSOR, 5, 4},  {P_SENSOR, 6, 2},  {P_SENSOR, 8, 2},
        {P_SENSOR, 9, 1},  {P_SENSOR, 10, 2}, {P_SENSOR, 11, 2},
        {P_SENSOR, 12, 1}, {P_RESET, 3, 1},   {P_RESET, 4, 3},
        {P_RESET, 6, 1},
    };
    uint32_t zeros[8] = {0};
    for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        for (uint32_t w = 0; w < need[i].words; w++) {
            /* Also a partial trailing word. */
            uint8_t req[40] = {0};
            vdm_put_le32(req, VDM_SCMI_HDR(need[i].msg, 0, need[i].proto, 1));
            ck_assert_int_eq(vdm_scmi_platform_handle(&pl, req, 4 + 4 * w + 3,
                                                      rsp, sizeof(rsp), &rlen),
                             0);
            ck_assert_int_eq((int32_t)vdm_le32(rsp + 4),
                             VDM_SCMI_PROTOCOL_ERROR);
            ck_assert_int_eq(
                cmdn(need[i].proto, need[i].msg, sizeof(rsp), zeros, w),
                VDM_SCMI_PROTOCOL_ERROR);
            ck_assert_uint_eq(rlen, 8);
        }
    }
}
END_TEST

/* DEN0056 4.3 "Power domain management protocol" (v3.0). */
START_TEST(power_domains)
{
    ck_assert_int_eq(CMD(P_POWER, 1), 0);
    ck_assert_uint_eq(payload(), 16);
    ck_assert_uint_eq(r32(0), 2);
    ck_assert_uint_eq(r32(4), 0);
    /* POWER_DOMAIN_ATTRIBUTES: sync set only (bit 29), no notify/async. */
    ck_assert_int_eq(CMD(P_POWER, 3, 0), 0);
    ck_assert_uint_eq(payload(), 20);
    ck_assert_uint_eq(r32(0), 1u << 29);
    ck_assert_str_eq((char *)rsp + 12, "gpu");
    /* A long name: short name cut to 15, extended names (bit 27). */
    ck_assert_int_eq(CMD(P_POWER, 3, 1), 0);
    ck_assert_uint_eq(r32(0), (1u << 29) | (1u << 27));
    ck_assert_int_eq(memcmp(rsp + 12, "a-very-long-pow\0", 16), 0);
    ck_assert_int_eq(CMD(P_POWER, 8, 1), 0);
    ck_assert_uint_eq(payload(), 68);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_str_eq((char *)rsp + 12, "a-very-long-power-domain-name");
    ck_assert_int_eq(CMD(P_POWER, 3, 2), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_POWER, 8, 0xffffffffu), VDM_SCMI_NOT_FOUND);
    /* POWER_STATE_GET / SET. */
    ck_assert_int_eq(CMD(P_POWER, 5, 0), 0);
    ck_assert_uint_eq(r32(0), VDM_SCMI_POWER_OFF);
    ck_assert_int_eq(CMD(P_POWER, 4, 0, 0, VDM_SCMI_POWER_ON), 0);
    ck_assert_uint_eq(payload(), 0);
    ck_assert_int_eq(CMD(P_POWER, 5, 0), 0);
    ck_assert_uint_eq(r32(0), VDM_SCMI_POWER_ON);
    ck_assert_int_eq(CMD(P_POWER, 4, 0, 0, 0x12345),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_POWER, 4, 1, 0, 0), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_POWER, 4, 2, 0, 0), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_POWER, 4, 0, 2, 0), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_POWER, 5, 7), VDM_SCMI_NOT_FOUND);
    /* POWER_STATE_NOTIFY is not served. */
    ck_assert_int_eq(CMD(P_POWER, 6, 0, 1), VDM_SCMI_NOT_SUPPORTED);
    vdm_scmi_platform_reset(&pl);
    ck_assert_int_eq(CMD(P_POWER, 5, 0), 0);
    ck_assert_uint_eq(r32(0), VDM_SCMI_POWER_OFF);
}
END_TEST

START_TEST(power_hooks)
{
    setup_with(&hooks);
    ck_assert_int_eq(CMD(P_POWER, 4, 0, 1, 0x12345), 0);
    ck_assert_uint_eq(hk.calls, 1);
    ck_assert_uint_eq(hk.id, 1);
    ck_assert_uint_eq(hk.a, 0x12345);
    ck_assert_int_eq(CMD(P_POWER, 5, 1), 0);
    ck_assert_uint_eq(r32(0), 0x12345);
    static const struct {
        int err;
        int32_t st;
    } map[] = {{VDM_EINVAL, VDM_SCMI_INVALID_PARAMETERS},
               {VDM_ERANGE, VDM_SCMI_OUT_OF_RANGE},
               {VDM_ENOTSUP, VDM_SCMI_NOT_SUPPORTED},
               {VDM_ESTATE, VDM_SCMI_DENIED},
               {VDM_ENOENT, VDM_SCMI_NOT_FOUND},
               {VDM_EBUSY, VDM_SCMI_BUSY},
               {VDM_EAGAIN, VDM_SCMI_BUSY},
               {VDM_EIO, VDM_SCMI_HARDWARE_ERROR},
               {VDM_EFAULT, VDM_SCMI_GENERIC_ERROR},
               {-1000, VDM_SCMI_GENERIC_ERROR}};
    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        hk.err = map[i].err;
        ck_assert_int_eq(CMD(P_POWER, 4, 0, 1, 7), map[i].st);
        ck_assert_uint_eq(payload(), 0);
    }
    /* A failed set leaves the state alone. */
    hk.err = 0;
    ck_assert_int_eq(CMD(P_POWER, 5, 1), 0);
    ck_assert_uint_eq(r32(0), 0x12345);
}
END_TEST

/* DEN0056 4.6 "Clock management protocol" (v2.0): attributes. */
START_TEST(clock_attributes)
{
    ck_assert_int_eq(CMD(P_CLOCK, 1), 0);
    ck_assert_uint_eq(payload(), 4);
    ck_assert_uint_eq(r32(0), 3); /* 3 clocks, max_async_req 0 */
    ck_assert_int_eq(CMD(P_CLOCK, 3, 0), 0);
    ck_assert_uint_eq(payload(), 24);
    ck_assert_uint_eq(r32(0), 1); /* enabled */
    ck_assert_str_eq((char *)rsp + 12, "cpu");
    ck_assert_uint_eq(r32(20), 7);
    ck_assert_int_eq(CMD(P_CLOCK, 3, 1), 0);
    ck_assert_uint_eq(r32(0), 1u << 29); /* disabled, extended name */
    ck_assert_int_eq(CMD(P_CLOCK, 8, 1), 0);
    ck_assert_str_eq((char *)rsp + 12, "uart-clock-longer-name");
    ck_assert_int_eq(CMD(P_CLOCK, 3, 3), VDM_SCMI_NOT_FOUND);
    /* CLOCK_CONFIG_SET: bit 0 enable, other bits reserved. */
    ck_assert_int_eq(CMD(P_CLOCK, 7, 1, 1), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 3, 1), 0);
    ck_assert_uint_eq(r32(0) & 1, 1);
    ck_assert_int_eq(CMD(P_CLOCK, 7, 0, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 3, 0), 0);
    ck_assert_uint_eq(r32(0) & 1, 0);
    ck_assert_int_eq(CMD(P_CLOCK, 7, 0, 3), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_CLOCK, 7, 9, 1), VDM_SCMI_NOT_FOUND);
}
END_TEST

/* DEN0056 4.6.2.5 CLOCK_DESCRIBE_RATES: a discrete list paged with
 * returned / remaining, a range as one triplet (bit 12). */
START_TEST(clock_describe_rates)
{
    ck_assert_int_eq(CMD(P_CLOCK, 4, 0, 0), 0);
    ck_assert_uint_eq(r32(0), 4);
    ck_assert_uint_eq(payload(), 4 + 32);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(r64(4 + 8 * i), rates0[i]);
    ck_assert_int_eq(CMD(P_CLOCK, 4, 0, 3), 0);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_uint_eq(r64(4), rates0[3]);
    ck_assert_int_eq(CMD(P_CLOCK, 4, 0, 4), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 4, 0, 5), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_CLOCK, 4, 0, 0xffffffffu),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_CLOCK, 4, 1, 0), 0);
    ck_assert_uint_eq(r32(0), 3u | (1u << 12));
    ck_assert_uint_eq(r64(4), 1000);
    ck_assert_uint_eq(r64(12), 10000);
    ck_assert_uint_eq(r64(20), 1000);
    /* 40 rates in 128-byte payloads: 15 a page, as Linux's iterator reads
     * them (desc_index += returned until remaining is 0). */
    uint32_t idx = 0, pages = 0;
    for (;;) {
        ck_assert_int_eq(CMD(P_CLOCK, 4, 2, idx), 0);
        uint32_t ret = r32(0) & 0xfff, rem = r32(0) >> 16;
        ck_assert_uint_le(payload(), 128);
        ck_assert_uint_eq(payload(), 4 + 8 * ret);
        for (uint32_t i = 0; i < ret; i++)
            ck_assert_uint_eq(r64(4 + 8 * i), many_rates[idx + i]);
        idx += ret;
        pages++;
        ck_assert_uint_eq(rem, 40 - idx);
        if (rem == 0)
            break;
    }
    ck_assert_uint_eq(idx, 40);
    ck_assert_uint_eq(pages, 3);
    uint32_t p2[2] = {2, 0};
    ck_assert_int_eq(cmdn(P_CLOCK, 4, 8 + 11, p2, 2), VDM_SCMI_COMMS_ERROR);
    ck_assert_int_eq(cmdn(P_CLOCK, 4, 8 + 12, p2, 2), 0);
    ck_assert_uint_eq(r32(0), 1u | (39u << 16));
    ck_assert_int_eq(CMD(P_CLOCK, 4, 3, 0), VDM_SCMI_NOT_FOUND);
}
END_TEST

/* DEN0056 4.6.2.6/7 CLOCK_RATE_SET / CLOCK_RATE_GET: synchronous; out of
 * range is OUT_OF_RANGE; a rate between supported ones is rounded as
 * flags bits 3:2 say. */
START_TEST(clock_rates)
{
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(payload(), 8);
    ck_assert_uint_eq(r64(0), 200000000ull);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 400000000u, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 400000000ull);
    /* 300 MHz: down 200, up 400, auto nearest (tie goes up). */
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 300000000u, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 200000000ull);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 4, 0, 300000000u, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 400000000ull);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 8, 0, 250000000u, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 200000000ull);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 8, 0, 700000000u, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 800000000ull);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 99999999u, 0),
                     VDM_SCMI_OUT_OF_RANGE);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 800000001u, 0),
                     VDM_SCMI_OUT_OF_RANGE);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 0, 1), VDM_SCMI_OUT_OF_RANGE);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 800000000ull); /* unchanged */
    /* Range clock: steps of 1000 from 1000 to 10000. */
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 1, 2500, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 1), 0);
    ck_assert_uint_eq(r64(0), 2000);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 4, 1, 2001, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 1), 0);
    ck_assert_uint_eq(r64(0), 3000);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 4, 1, 10000, 0), 0);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 1, 10001, 0), VDM_SCMI_OUT_OF_RANGE);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 1, 999, 0), VDM_SCMI_OUT_OF_RANGE);
    /* Async (never advertised: max_async_req 0) and reserved flags. */
    ck_assert_int_eq(CMD(P_CLOCK, 5, 1, 0, 400000000u, 0),
                     VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 16, 0, 400000000u, 0),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 3, 1, 0), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 3), VDM_SCMI_NOT_FOUND);
    vdm_scmi_platform_reset(&pl);
    ck_assert_int_eq(CMD(P_CLOCK, 6, 1), 0);
    ck_assert_uint_eq(r64(0), 5000);
}
END_TEST

START_TEST(clock_hooks)
{
    setup_with(&hooks);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 4, 0, 300000000u, 0), 0);
    ck_assert_uint_eq(hk.rate, 400000000ull); /* the rounded rate */
    ck_assert_int_eq(CMD(P_CLOCK, 7, 1, 1), 0);
    ck_assert_uint_eq(hk.id, 1);
    ck_assert_uint_eq(hk.a, 1);
    hk.err = VDM_EIO;
    ck_assert_int_eq(CMD(P_CLOCK, 7, 1, 0), VDM_SCMI_HARDWARE_ERROR);
    ck_assert_int_eq(CMD(P_CLOCK, 3, 1), 0);
    ck_assert_uint_eq(r32(0) & 1, 1); /* still enabled */
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 100000000u, 0),
                     VDM_SCMI_HARDWARE_ERROR);
    hk.err = 0;
    ck_assert_int_eq(CMD(P_CLOCK, 6, 0), 0);
    ck_assert_uint_eq(r64(0), 400000000ull);
}
END_TEST

/* DEN0056 4.7 "Sensor management protocol" (v3.0): attributes and
 * descriptors (28 bytes without extended attributes), paged. */
START_TEST(sensor_descriptions)
{
    ck_assert_int_eq(CMD(P_SENSOR, 1), 0);
    ck_assert_uint_eq(payload(), 16);
    ck_assert_uint_eq(r32(0), 7);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 0), 0);
    /* 128-byte payload: 4 descriptors of 28 bytes. */
    ck_assert_uint_eq(r32(0), 4u | (3u << 16));
    ck_assert_uint_eq(payload(), 4 + 4 * 28);
    ck_assert_uint_eq(r32(4), 0);
    ck_assert_uint_eq(r32(8), 2u | (1u << 30));     /* trips, update notify */
    ck_assert_uint_eq(r32(12), (0x1du << 11) | 2u); /* scale -3, type 2 */
    ck_assert_str_eq((char *)rsp + 8 + 16, "soc-temp");
    ck_assert_uint_eq(r32(32), 1);
    ck_assert_uint_eq(r32(36), 1u << 29); /* extended name */
    ck_assert_uint_eq(r32(40), (2u << 11) | 5u);
    ck_assert_int_eq(CMD(P_SENSOR, 12, 1), 0);
    ck_assert_str_eq((char *)rsp + 12, "a-sensor-with-a-long-name");
    ck_assert_int_eq(CMD(P_SENSOR, 3, 4), 0);
    ck_assert_uint_eq(r32(0), 3u);
    ck_assert_uint_eq(r32(4), 4);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 7), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 8), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 0x80000000u),
                     VDM_SCMI_INVALID_PARAMETERS);
    uint32_t z = 0;
    ck_assert_int_eq(cmdn(P_SENSOR, 3, 8 + 31, &z, 1), VDM_SCMI_COMMS_ERROR);
    ck_assert_int_eq(cmdn(P_SENSOR, 3, 8 + 32, &z, 1), 0);
    ck_assert_uint_eq(r32(0), 1u | (6u << 16));
    /* Axis messages (7, 13) are not served: scalar sensors only. */
    ck_assert_int_eq(CMD(P_SENSOR, 7, 0, 0), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 13, 0, 0), VDM_SCMI_NOT_SUPPORTED);
}
END_TEST

/* DEN0056 4.7.2.8 SENSOR_READING_GET (v3 reading: value then timestamp),
 * SENSOR_CONFIG_GET / SET, SENSOR_LIST_UPDATE_INTERVALS. */
START_TEST(sensor_reading_config)
{
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, -42000), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 0, 0), 0);
    ck_assert_uint_eq(payload(), 16);
    ck_assert_int_eq((int64_t)r64(0), -42000);
    ck_assert_uint_eq(r64(8), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 0, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 0, 2), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 7, 0), VDM_SCMI_NOT_FOUND);
    /* Sensor 1 starts disabled. */
    ck_assert_int_eq(CMD(P_SENSOR, 6, 1, 0), VDM_SCMI_DENIED);
    ck_assert_int_eq(CMD(P_SENSOR, 9, 1), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 1, 1), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 9, 1), 0);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 1, 0), 0);
    /* Sensor 0: interval 5 x 10^-1 s in the config word. */
    ck_assert_int_eq(CMD(P_SENSOR, 9, 0), 0);
    ck_assert_uint_eq(r32(0), (5u << 16) | (0x1fu << 11) | 1u);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, 2 | 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, 4 | 1), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, (3u << 9) | 1),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, (7u << 16) | (2u << 9) | 1), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 9, 0), 0);
    ck_assert_uint_eq(r32(0), (5u << 16) | (0x1fu << 11) | 1u);
    ck_assert_int_eq(CMD(P_SENSOR, 10, 2, 7u << 16), VDM_SCMI_NOT_SUPPORTED);
    /* LIST_UPDATE_INTERVALS: one discrete interval, secs 20:5 exp 4:0. */
    ck_assert_int_eq(CMD(P_SENSOR, 8, 0, 0), 0);
    ck_assert_uint_eq(payload(), 8);
    ck_assert_uint_eq(r32(0), 1);
    ck_assert_uint_eq(r32(4), (5u << 5) | 0x1fu);
    ck_assert_int_eq(CMD(P_SENSOR, 8, 0, 1), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 8, 0, 2), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 8, 2, 0), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_uint_eq(payload(), 4);
}
END_TEST

START_TEST(sensor_hook)
{
    setup_with(&hooks);
    hk.sensor_value = 0x123456789ll;
    ck_assert_int_eq(CMD(P_SENSOR, 6, 3, 0), 0);
    ck_assert_uint_eq(hk.id, 3);
    ck_assert_uint_eq(r64(0), 0x123456789ull);
    hk.err = VDM_EBUSY;
    ck_assert_int_eq(CMD(P_SENSOR, 6, 3, 0), VDM_SCMI_BUSY);
    ck_assert_uint_eq(payload(), 0);
}
END_TEST

static uint32_t next_notif(uint8_t *b)
{
    uint32_t n = 0;
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 64, &n), 1);
    return n;
}

/* DEN0056 4.7.3 sensor notifications: SENSOR_UPDATE (message 1) after
 * SENSOR_CONTINUOUS_UPDATE_NOTIFY, SENSOR_TRIP_POINT_EVENT (message 0)
 * after SENSOR_TRIP_POINT_NOTIFY and _CONFIG, crossings both ways. */
START_TEST(sensor_notifications)
{
    uint8_t b[64];
    uint32_t n = 7;

    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 10), 0);
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 64, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* Continuous updates: only where the descriptor says so. */
    ck_assert_int_eq(CMD(P_SENSOR, 11, 2, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 2), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 1), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, -5), 1);
    n = next_notif(b);
    ck_assert_uint_eq(n, 28);
    ck_assert_uint_eq(vdm_le32(b), VDM_SCMI_HDR(1, 3, P_SENSOR, 0));
    ck_assert_uint_eq(vdm_le32(b + 4), 0); /* agent: platform */
    ck_assert_uint_eq(vdm_le32(b + 8), 0); /* sensor */
    ck_assert_int_eq((int64_t)vdm_le64(b + 12), -5);
    ck_assert_uint_eq(vdm_le64(b + 20), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 0), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 3), 0);
    /* Trip points: sensor 0 has two; ids beyond are refused. */
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, (2u << 4) | 3, 0, 0),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, (1u << 12) | 3, 0, 0),
                     VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, (0u << 4) | 1, 100, 0), 0);
    ck_assert_int_eq(
        CMD(P_SENSOR, 5, 0, (1u << 4) | 3, (uint32_t)-50, 0xffffffffu), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 5, 2, 0, 0, 0),
                     VDM_SCMI_INVALID_PARAMETERS); /* no trips */
    ck_assert_int_eq(CMD(P_SENSOR, 4, 2, 1), VDM_SCMI_NOT_SUPPORTED);
    /* Armed but not subscribed: nothing. */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 200), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 4, 0, 1), 0);
    /* 200 -> 50: trip 0 is ascending only; nothing. */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 50), 0);
    /* 50 -> 100: trip 0 crossed ascending (reaching it counts). */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 100), 1);
    n = next_notif(b);
    ck_assert_uint_eq(n, 16);
    ck_assert_uint_eq(vdm_le32(b), VDM_SCMI_HDR(0, 3, P_SENSOR, 0));
    ck_assert_uint_eq(vdm_le32(b + 8), 0);
    ck_assert_uint_eq(vdm_le32(b + 12), (1u << 16) | 0u);
    /* 100 -> -100: trip 1 (-50) crossed descending. */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, -100), 1);
    next_notif(b);
    ck_assert_uint_eq(vdm_le32(b + 12), 1u);
    /* -100 -> 150: both ascending. */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 150), 2);
    next_notif(b);
    ck_assert_uint_eq(vdm_le32(b + 12), (1u << 16) | 0u);
    next_notif(b);
    ck_assert_uint_eq(vdm_le32(b + 12), (1u << 16) | 1u);
    /* Disarmed trip 0 (event control 0). */
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, 0, 100, 0), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 50), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 120), 0);
    /* A disabled sensor reports nothing. */
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, 0), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, -100), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 7, 0), VDM_ERANGE);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(NULL, 0, 0), VDM_EINVAL);
    /* Reset: subscriptions and trips off. */
    ck_assert_int_eq(CMD(P_SENSOR, 10, 0, 1), 0);
    vdm_scmi_platform_reset(&pl);
    /* The last value reported before the reset (-100) stays: re-armed,
     * the first report after the reset is compared with it. */
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, (0u << 4) | 1, 100, 0), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 4, 0, 1), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 150), 1);
    next_notif(b);
    ck_assert_uint_eq(vdm_le32(b + 12), (1u << 16) | 0u);
    vdm_scmi_platform_reset(&pl);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 1000), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, -1000), 0);
}
END_TEST

/* Regression (host-reported state lost on reset): a reset drops what the
 * agent set, not the value the host reported: a reading right after a
 * reset is that value (it was 0), and an armed trip point's first crossing
 * is seen (it was lost: Linux's agent resets the device at probe, and a
 * host reporting on change only, the daemon, missed the first trip point
 * event of tests/e2e/scmi.sh). */
START_TEST(sensor_value_survives_reset)
{
    uint8_t b[64];

    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 10), 0);
    vdm_scmi_platform_reset(&pl);
    ck_assert_int_eq(CMD(P_SENSOR, 6, 0, 0), 0);
    ck_assert_int_eq((int64_t)r64(0), 10);
    ck_assert_int_eq(CMD(P_SENSOR, 4, 0, 1), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, (0u << 4) | 1, 100, 0), 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 150), 1);
    next_notif(b);
    ck_assert_uint_eq(vdm_le32(b), VDM_SCMI_HDR(0, 3, P_SENSOR, 0));
    ck_assert_uint_eq(vdm_le32(b + 12), (1u << 16) | 0u);
}
END_TEST

/* virtio "SCMI Device / Device Operation / cmdq Operation" device
 * requirements: without VIRTIO_SCMI_F_P2A_CHANNELS the device MUST deny
 * any request for a notification and MUST NOT indicate in
 * PROTOCOL_MESSAGE_ATTRIBUTES (nor, here, in the sensor descriptions) that
 * one is implemented. vdm_scmi_platform_set_p2a(0) is that mode. */
START_TEST(no_p2a_channel)
{
    uint8_t b[64];
    uint32_t n = 7;

    vdm_scmi_platform_set_p2a(&pl, 0);
    ck_assert_int_eq(CMD(P_SENSOR, 2, 4), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_SENSOR, 2, 5), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_SENSOR, 2, 11), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_SENSOR, 2, 6), 0); /* reading stays */
    ck_assert_int_eq(CMD(P_SENSOR, 4, 0, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 5, 0, 1, 100, 0), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 1), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 0), 0);
    ck_assert_uint_eq(r32(8), 0); /* no trips, no update notify */
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 5), 0);
    /* Back on (and kept across a reset): subscriptions work again. */
    vdm_scmi_platform_set_p2a(&pl, 1);
    vdm_scmi_platform_reset(&pl);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 0), 0);
    ck_assert_uint_eq(r32(8), 2u | (1u << 30));
    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 1), 0);
    /* A subscription made with P2A produces nothing once it is gone. */
    vdm_scmi_platform_set_p2a(&pl, 0);
    ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, 6), 0);
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 64, &n), 0);
    vdm_scmi_platform_set_p2a(NULL, 0);
}
END_TEST

/* Bounded queue: the oldest goes, counted; a small buffer keeps the
 * notification queued. */
START_TEST(notification_queue_bounded)
{
    uint8_t b[64];
    uint32_t n;

    ck_assert_int_eq(CMD(P_SENSOR, 11, 0, 1), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(vdm_scmi_platform_sensor_update(&pl, 0, i), 1);
    ck_assert_uint_eq(vdm_scmi_platform_dropped(&pl), 40 - 16);
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 27, &n),
                     VDM_ENOSPC);
    ck_assert_uint_eq(n, 0);
    for (int i = 24; i < 40; i++) {
        n = next_notif(b);
        ck_assert_int_eq((int64_t)vdm_le64(b + 12), i);
    }
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 64, &n), 0);
    ck_assert_int_eq(vdm_scmi_platform_next_notification(NULL, b, 64, &n),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_platform_next_notification(&pl, b, 64, NULL),
                     VDM_EINVAL);
    vdm_scmi_platform_reset(&pl);
    ck_assert_uint_eq(vdm_scmi_platform_dropped(&pl), 0);
}
END_TEST

/* DEN0056 4.8 "Reset domain management protocol" (v3.0). */
START_TEST(reset_domains)
{
    ck_assert_int_eq(CMD(P_RESET, 1), 0);
    ck_assert_uint_eq(payload(), 4);
    ck_assert_uint_eq(r32(0), 2);
    ck_assert_int_eq(CMD(P_RESET, 3, 0), 0);
    ck_assert_uint_eq(payload(), 24);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_uint_eq(r32(4), 10);
    ck_assert_str_eq((char *)rsp + 16, "usb");
    ck_assert_int_eq(CMD(P_RESET, 3, 1), 0);
    ck_assert_uint_eq(r32(0), 1u << 29);
    ck_assert_int_eq(CMD(P_RESET, 6, 1), 0);
    ck_assert_str_eq((char *)rsp + 12, "a-reset-domain-with-long-name");
    ck_assert_int_eq(CMD(P_RESET, 3, 2), VDM_SCMI_NOT_FOUND);
    /* RESET without hook: architectural cold reset only. */
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 1, 0), 0);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 2, 0), 0);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 0, 0), 0);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 1, 0x80000001u),
                     VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 1, 1), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 4 | 1, 0), VDM_SCMI_NOT_SUPPORTED);
    ck_assert_int_eq(CMD(P_RESET, 4, 0, 8, 0), VDM_SCMI_INVALID_PARAMETERS);
    ck_assert_int_eq(CMD(P_RESET, 4, 2, 1, 0), VDM_SCMI_NOT_FOUND);
    ck_assert_int_eq(CMD(P_RESET, 5, 0, 1), VDM_SCMI_NOT_SUPPORTED);
}
END_TEST

START_TEST(reset_hook)
{
    setup_with(&hooks);
    ck_assert_int_eq(CMD(P_RESET, 4, 1, 1 | 2, 0), 0);
    ck_assert_uint_eq(hk.id, 1);
    ck_assert_uint_eq(hk.a, VDM_SCMI_RESET_AUTONOMOUS);
    ck_assert_int_eq(CMD(P_RESET, 4, 1, 2, 0x80000005u), 0);
    ck_assert_uint_eq(hk.a, VDM_SCMI_RESET_ASSERT);
    ck_assert_uint_eq(hk.rate, 0x80000005u);
    ck_assert_int_eq(CMD(P_RESET, 4, 1, 0, 0), 0);
    ck_assert_uint_eq(hk.a, VDM_SCMI_RESET_DEASSERT);
    hk.err = VDM_ESTATE;
    ck_assert_int_eq(CMD(P_RESET, 4, 1, 0, 0), VDM_SCMI_DENIED);
}
END_TEST

/* Every answer fits the configured payload limit (here the smallest). */
START_TEST(small_max_payload)
{
    cfg.max_payload = VDM_SCMI_MAX_PAYLOAD_MIN;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), 0);
    ck_assert_int_eq(CMD(P_SENSOR, 3, 0), 0);
    ck_assert_uint_eq(r32(0), 2u | (5u << 16));
    ck_assert_int_eq(CMD(P_CLOCK, 4, 2, 0), 0);
    ck_assert_uint_eq(r32(0) & 0xfff, 8);
    ck_assert_int_eq(CMD(P_SENSOR, 12, 1), 0);
    ck_assert_uint_eq(payload(), 68);
}
END_TEST

START_TEST(init_rejects_bad_config)
{
    struct vdm_scmi_platform_config c;
    static const uint64_t unsorted[] = {2, 1};
    ck_assert_int_eq(vdm_scmi_platform_init(NULL, &cfg), VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, NULL), VDM_EINVAL);
    c = cfg;
    c.size = 8;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_ESIZE);
    c = cfg;
    c.state_bytes -= 1;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_ENOSPC);
    c = cfg;
    c.state = state + 4;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.state = NULL;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.power = NULL;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.nsensors = 0x10000;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.max_payload = VDM_SCMI_MAX_PAYLOAD_MIN - 1;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.agent_id = 0xffffffffu;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    c = cfg;
    c.num_agents = 256;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_EINVAL);
    clock_tbl[0].rates = unsorted;
    clock_tbl[0].nrates = 2;
    clock_tbl[0].init_rate = 1;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    clock_tbl[0].init_rate = 300000000ull; /* not a rate of the clock */
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    clock_tbl[1].min = 20000;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    clock_tbl[0].nrates = 0;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    sensor_tbl[0].ntrips = VDM_SCMI_SENSOR_TRIPS_MAX + 1;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    sensor_tbl[0].scale = 16;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    sensor_tbl[0].update_exp = -17;
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &cfg), VDM_EINVAL);
    tables();
    c = cfg;
    c.ops = &(struct vdm_scmi_platform_ops){.size = 0};
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), VDM_ESIZE);
    /* A failed init leaves an object nobody may use. */
    struct vdm_scmi_platform fresh;
    uint8_t req[4];
    uint32_t n;
    memset(&fresh, 0, sizeof(fresh));
    vdm_put_le32(req, 0);
    ck_assert_int_eq(vdm_scmi_platform_handle(&fresh, req, 4, rsp, 64, &n),
                     VDM_EINVAL);
    /* Nothing at all: base only, no state needed. */
    c = VDM_INIT(struct vdm_scmi_platform_config);
    ck_assert_int_eq(vdm_scmi_platform_init(&pl, &c), 0);
    ck_assert_int_eq(CMD(P_BASE, 6, 0), 0);
    ck_assert_uint_eq(r32(0), 0);
    ck_assert_uint_eq(payload(), 4);
    ck_assert_int_eq(CMD(P_BASE, 3), 0);
    ck_assert_uint_eq(rsp[8], 0);
}
END_TEST

/* An older caller's ops table, shorter than ours: the hooks past its size
 * are never called. */
START_TEST(short_ops_table)
{
    struct vdm_scmi_platform_ops o = hooks;
    o.size = offsetof(struct vdm_scmi_platform_ops, clock_set_rate);
    setup_with(&o);
    ck_assert_int_eq(CMD(P_CLOCK, 5, 0, 0, 400000000u, 0), 0);
    ck_assert_uint_eq(hk.calls, 0);
    ck_assert_int_eq(CMD(P_POWER, 4, 0, 0, 0x777), 0);
    ck_assert_uint_eq(hk.calls, 1);
}
END_TEST

/* Random messages: every answer is bounded and echoes the header. */
START_TEST(random_messages)
{
    uint8_t req[160];
    uint32_t seed = 1;
    setup_with(&hooks);
    for (int it = 0; it < 50000; it++) {
        uint32_t len = 0;
        for (unsigned i = 0; i < sizeof(req); i++) {
            seed = seed * 1103515245u + 12345u;
            req[i] = (uint8_t)(seed >> 16);
        }
        len = (seed >> 8) % 40;
        /* Bias toward real protocols and small ids. */
        uint32_t p = 0x10 + (req[1] % 7), m = req[2] % 16;
        vdm_put_le32(req, VDM_SCMI_HDR(m, req[3] % 8 == 0 ? 1 : 0, p, 5));
        uint32_t cap = 8 + (req[5] % 200);
        uint32_t n = 0;
        int r = vdm_scmi_platform_handle(&pl, req, len, rsp, cap, &n);
        if (len < 4) {
            ck_assert_int_eq(r, VDM_EPROTO);
            continue;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_uint_ge(n, 8);
        ck_assert_uint_le(n, cap);
        ck_assert_uint_le(n, 8 + 128);
        if (req[7] == 0)
            (void)vdm_scmi_platform_sensor_update(&pl, req[8] % 8,
                                                  (int8_t)req[9]);
    }
}
END_TEST

static Suite *scmi_suite(void)
{
    Suite *s = suite_create("scmi_platform");
    TCase *tc = tcase_create("scmi_platform");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, versions);
    tcase_add_test(tc, base_discovery);
    tcase_add_test(tc, base_list_protocols);
    tcase_add_test(tc, base_discover_agent);
    tcase_add_test(tc, message_attributes_all_ids);
    tcase_add_test(tc, unknown_protocols);
    tcase_add_test(tc, hostile_headers);
    tcase_add_test(tc, short_parameters);
    tcase_add_test(tc, power_domains);
    tcase_add_test(tc, power_hooks);
    tcase_add_test(tc, clock_attributes);
    tcase_add_test(tc, clock_describe_rates);
    tcase_add_test(tc, clock_rates);
    tcase_add_test(tc, clock_hooks);
    tcase_add_test(tc, sensor_descriptions);
    tcase_add_test(tc, sensor_reading_config);
    tcase_add_test(tc, sensor_hook);
    tcase_add_test(tc, no_p2a_channel);
    tcase_add_test(tc, sensor_notifications);
    tcase_add_test(tc, sensor_value_survives_reset);
    tcase_add_test(tc, notification_queue_bounded);
    tcase_add_test(tc, reset_domains);
    tcase_add_test(tc, reset_hook);
    tcase_add_test(tc, small_max_payload);
    tcase_add_test(tc, init_rejects_bad_config);
    tcase_add_test(tc, short_ops_table);
    tcase_add_test(tc, random_messages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scmi_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
