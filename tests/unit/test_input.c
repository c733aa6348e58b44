/* SPDX-License-Identifier: BSD-3-Clause */
/* Input device (spec "Input Device"): the select/subsel configuration
 * protocol, the eventq (ordering, events waiting for buffers, overflow with
 * whole-sequence drops and SYN_DROPPED, undersized buffers), the statusq
 * (LED events reach the host hook) and the ready-made profiles, driven
 * through the device core by the driver simulator. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "profile.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/input.h"

#define QMAX     64
#define RING_LEN 16

#define EV_SYN      VDM_INPUT_EV_SYN
#define EV_KEY      VDM_INPUT_EV_KEY
#define EV_REL      VDM_INPUT_EV_REL
#define EV_ABS      VDM_INPUT_EV_ABS
#define EV_LED      VDM_INPUT_EV_LED
#define SYN_REPORT  VDM_INPUT_SYN_REPORT
#define SYN_DROPPED VDM_INPUT_SYN_DROPPED

/* ------------------------------------------------------------------------ */
/* Host side                                                                */

/* What the status hook saw. */
struct host {
    int status_calls;
    uint16_t st_type, st_code;
    uint32_t st_value;
    int resend; /* status hook sends an event back */
};

static struct host hs;
static struct dh h;
static struct vdm_input inp;
static struct vdm_input_event ring[RING_LEN];

static void host_status(void *h, uint16_t type, uint16_t code, uint32_t value)
{
    struct host *x = h;
    x->status_calls++;
    x->st_type = type;
    x->st_code = code;
    x->st_value = value;
    if (x->resend)
        ck_assert_int_eq(
            vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_CAPSLOCK, value), 0);
}

static const struct vdm_input_ops input_ops = {
    .size = sizeof(struct vdm_input_ops),
    .status = host_status,
};

/* A hand-made device exercising every selector. */
static const uint8_t t_props[2] = {0x02, 0x80}; /* DIRECT, prop 15 */
static const uint8_t t_keys[VDM_INPUT_BITMAP_BYTES(VDM_INPUT_BTN_TOUCH)] = {
    [VDM_INPUT_KEY_A / 8] = 1u << (VDM_INPUT_KEY_A % 8),
    [VDM_INPUT_BTN_TOUCH / 8] = 1u << (VDM_INPUT_BTN_TOUCH % 8)};
static const uint8_t t_rel[2] = {0x03, 0x01}; /* X, Y, WHEEL */
static const uint8_t t_absb[1] = {0x03};      /* X, Y */
static const struct vdm_input_bits t_ev[] = {
    {.type = EV_KEY, .len = sizeof(t_keys), .bitmap = t_keys},
    {.type = EV_REL, .len = sizeof(t_rel), .bitmap = t_rel},
    {.type = EV_ABS, .len = sizeof(t_absb), .bitmap = t_absb},
};
static const struct vdm_input_absinfo t_abs[] = {
    {.axis = VDM_INPUT_ABS_X,
     .min = -100,
     .max = 1000,
     .fuzz = 2,
     .flat = 3,
     .res = 12},
    {.axis = VDM_INPUT_ABS_Y,
     .min = 0,
     .max = 0x7fffffff,
     .fuzz = 0,
     .flat = 0,
     .res = 0},
};

static struct vdm_input_config test_cfg(void)
{
    struct vdm_input_config c = VDM_INIT(struct vdm_input_config);
    c.queue = ring;
    c.queue_len = RING_LEN;
    c.ops = &input_ops;
    c.host = &hs;
    c.name = "Test Input Device";
    c.serial = "SN-0042";
    c.ids = (struct vdm_input_devids){.bustype = VDM_INPUT_BUS_USB,
                                      .vendor = 0x1234,
                                      .product = 0xabcd,
                                      .version = 0x0102};
    c.prop_bits = t_props;
    c.prop_len = sizeof(t_props);
    c.ev = t_ev;
    c.nev = 3;
    c.abs = t_abs;
    c.nabs = 2;
    return c;
}

static void make_device(const struct vdm_input_config *c)
{
    ck_assert_int_eq(vdm_input_init(&inp, &h.dev, c, &h.base), 0);
    ck_assert_ptr_eq(vdm_input_dev(&inp), &h.dev);
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 2, .qsize = QMAX};

    memset(&hs, 0, sizeof(hs));
    memset(ring, 0xcc, sizeof(ring));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_input_config c = test_cfg();
    make_device(&c);
}

static void teardown(void)
{
    dh_fini(&h);
}

/* Driver side of the eventq and the statusq. */
#define evq (*dh_vq(&h, VDM_INPUT_QUEUE_EVENT))
#define stq (*dh_vq(&h, VDM_INPUT_QUEUE_STATUS))

/* "Device Initialization" up to (not including) DRIVER_OK. */
static void bringup_no_ok(uint64_t features, uint16_t num)
{
    ck_assert_int_eq(dh_negotiate(&h, features), 0);
    ck_assert_uint_eq(h.features, features | VDM_F_VERSION_1);
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), 2);
    ck_assert_int_eq(dh_setup_queue(&h, VDM_INPUT_QUEUE_EVENT, num), 0);
    ck_assert_int_eq(dh_setup_queue(&h, VDM_INPUT_QUEUE_STATUS, num), 0);
}

static void driver_ok(void)
{
    ck_assert_int_eq(dh_driver_ok(&h), 0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

static void bringup(uint64_t features, uint16_t num)
{
    bringup_no_ok(features, num);
    driver_ok();
}

/* The driver notifies queue @p q (as its rules say it must). */
static void notify(uint16_t q)
{
    ck_assert_int_eq(dh_kick(&h, q, 0), 0);
}

/* Post @p n writable eventq buffers of @p len bytes, no notification. */
static void post_events(int n, uint32_t len)
{
    for (int i = 0; i < n; i++) {
        uint64_t gpa = dh_alloc(&h, len ? len : 1, 8);
        memset(dh_ptr(&h, gpa, len ? len : 1), 0xee, len ? len : 1);
        struct drv_buf b = {gpa, len};
        ck_assert_int_ge(drv_vq_add(&evq, NULL, 0, &b, 1, DRV_ADD_DIRECT,
                                    (void *)(uintptr_t)gpa),
                         0);
    }
    drv_vq_publish(&evq);
}

/* Next used eventq buffer must hold exactly (type, code, value). */
static void expect_event(uint16_t type, uint16_t code, uint32_t value)
{
    uint32_t len = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, &cookie), 1);
    ck_assert_uint_eq(len, 8);
    const uint8_t *p = dh_ptr(&h, (uint64_t)(uintptr_t)cookie, 8);
    ck_assert_uint_eq(drv_get_le16(p + 0), type);
    ck_assert_uint_eq(drv_get_le16(p + 2), code);
    ck_assert_uint_eq(drv_get_le32(p + 4), value);
}

static void expect_no_event(void)
{
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, NULL, NULL), 0);
}

/* ---- the configuration protocol, as a driver does it ---- */

static void cfg_write8(uint32_t off, uint8_t v)
{
    ck_assert_int_eq(dh_config_write(&h, off, &v, 1), 0);
}

static uint8_t cfg_read8(uint32_t off)
{
    uint8_t v = 0xa5;
    ck_assert_int_eq(dh_config_read(&h, off, &v, 1), 0);
    return v;
}

/* Select as a driver does (two byte writes), read the whole config space
 * back. Returns size, or -1 if the answer is malformed: select/subsel not
 * read back, size > 128, reserved bytes or the union past size not zero.
 * Plain C (no Check assertion) so that exhaustive loops stay fast. */
static int cfg_query_raw(uint8_t select, uint8_t subsel, uint8_t *u)
{
    uint8_t cs[VDM_INPUT_CONFIG_BYTES];

    if (dh_config_write(&h, VDM_INPUT_CFG_OFF_SELECT, &select, 1) ||
        dh_config_write(&h, VDM_INPUT_CFG_OFF_SUBSEL, &subsel, 1) ||
        dh_config_read(&h, 0, cs, sizeof(cs)))
        return -1;
    uint8_t size = cs[VDM_INPUT_CFG_OFF_SIZE];
    if (cs[0] != select || cs[1] != subsel || size > 128)
        return -1;
    for (unsigned i = 3; i < 8; i++) /* reserved[5] */
        if (cs[i])
            return -1;
    for (unsigned i = size; i < 128; i++)
        if (cs[VDM_INPUT_CFG_OFF_U + i])
            return -1;
    if (u)
        memcpy(u, cs + VDM_INPUT_CFG_OFF_U, 128);
    return size;
}

/* cfg_query_raw(), also checking the field-by-field reads a driver does. */
static uint8_t cfg_query(uint8_t select, uint8_t subsel, uint8_t *u)
{
    int size = cfg_query_raw(select, subsel, u);
    ck_assert_int_ge(size, 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SELECT), select);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SUBSEL), subsel);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), (unsigned)size);
    return (uint8_t)size;
}

static int bit(const uint8_t *map, unsigned n)
{
    return (map[n / 8] >> (n % 8)) & 1;
}

/* ------------------------------------------------------------------------ */
/* Configuration space                                                      */

START_TEST(input_config_identity)
{
    uint8_t u[128];

    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), VDM_INPUT_CONFIG_BYTES);
    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), 136);
    /* "Device ID: 18", eventq and statusq, no feature bits. */
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), 2);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & ((1ull << 24) - 1), 0);

    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, u), 17);
    ck_assert_mem_eq(u, "Test Input Device", 17); /* no NUL */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_SERIAL, 0, u), 7);
    ck_assert_mem_eq(u, "SN-0042", 7);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_DEVIDS, 0, u), 8);
    ck_assert_uint_eq(drv_get_le16(u + 0), VDM_INPUT_BUS_USB);
    ck_assert_uint_eq(drv_get_le16(u + 2), 0x1234);
    ck_assert_uint_eq(drv_get_le16(u + 4), 0xabcd);
    ck_assert_uint_eq(drv_get_le16(u + 6), 0x0102);
}
END_TEST

START_TEST(input_config_bitmaps_and_absinfo)
{
    uint8_t u[128];

    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_PROP_BITS, 0, u), 2);
    ck_assert_uint_eq(u[0], 0x02);
    ck_assert_uint_eq(u[1], 0x80);

    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_KEY, u),
                      sizeof(t_keys));
    ck_assert_mem_eq(u, t_keys, sizeof(t_keys));
    ck_assert(bit(u, VDM_INPUT_KEY_A));
    ck_assert(bit(u, VDM_INPUT_BTN_TOUCH));
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_REL, u), 2);
    ck_assert_uint_eq(u[0], 0x03);
    ck_assert_uint_eq(u[1], 0x01);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_ABS, u), 1);
    ck_assert_uint_eq(u[0], 0x03);

    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_X, u),
                      20);
    ck_assert_int_eq((int32_t)drv_get_le32(u + 0), -100); /* min */
    ck_assert_int_eq((int32_t)drv_get_le32(u + 4), 1000); /* max */
    ck_assert_uint_eq(drv_get_le32(u + 8), 2);            /* fuzz */
    ck_assert_uint_eq(drv_get_le32(u + 12), 3);           /* flat */
    ck_assert_uint_eq(drv_get_le32(u + 16), 12);          /* res */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_Y, u),
                      20);
    ck_assert_uint_eq(drv_get_le32(u + 4), 0x7fffffff);
}
END_TEST

START_TEST(input_config_unknown_selection_size_zero)
{
    /* "A device MUST set the size field to zero if it doesn't support a
     * given select and subsel combination." */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_UNSET, 0, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_UNSET, 5, NULL), 0);
    static const uint8_t bad_sel[] = {0x04, 0x0f, 0x13, 0x20, 0x7f, 0xff};
    for (unsigned i = 0; i < sizeof(bad_sel); i++)
        ck_assert_uint_eq(cfg_query(bad_sel[i], 0, NULL), 0);
    /* subsel must be zero for these */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_NAME, 1, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_SERIAL, 0xff, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_DEVIDS, 1, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_PROP_BITS, 1, NULL), 0);
    /* unsupported event types and axes */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_SYN, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_LED, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, VDM_INPUT_EV_REP, NULL),
                      0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, 0xff, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_Z, NULL),
                      0);
    ck_assert_uint_eq(
        cfg_query(VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_MT_SLOT, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ABS_INFO, 0xff, NULL), 0);
    /* every (select, subsel) pair: a well-formed answer, and a non-zero
     * size only where this device has something to say */
    unsigned bad = 0, answered = 0;
    for (unsigned sel = 0; sel < 256; sel++) {
        for (unsigned sub = 0; sub < 256; sub++) {
            int size = cfg_query_raw((uint8_t)sel, (uint8_t)sub, NULL);
            if (size < 0)
                bad++;
            else if (size > 0)
                answered++;
        }
    }
    ck_assert_uint_eq(bad, 0);
    /* name, serial, devids, props, 3 event types, 2 axes */
    ck_assert_uint_eq(answered, 9);
}
END_TEST

START_TEST(input_config_no_serial_no_props)
{
    struct vdm_input_config c = test_cfg();
    c.serial = NULL;
    c.name = NULL;
    c.prop_bits = NULL;
    c.prop_len = 0;
    make_device(&c);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_SERIAL, 0, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_PROP_BITS, 0, NULL), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_DEVIDS, 0, NULL), 8);
}
END_TEST

START_TEST(input_config_select_subsel_any_order)
{
    uint8_t u[128];

    /* "A driver MUST set both select and subsel ... in any order." */
    cfg_write8(VDM_INPUT_CFG_OFF_SUBSEL, EV_REL);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 0); /* UNSET */
    cfg_write8(VDM_INPUT_CFG_OFF_SELECT, VDM_INPUT_CFG_EV_BITS);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 2);

    /* both in one 16-bit access */
    uint8_t two[2] = {VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_X};
    ck_assert_int_eq(dh_config_write(&h, 0, two, 2), 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 20);
    ck_assert_int_eq(dh_config_read(&h, VDM_INPUT_CFG_OFF_U, u, 4), 0);
    ck_assert_int_eq((int32_t)drv_get_le32(u), -100);

    /* Writes to other fields are ignored ("A driver MUST NOT write to
     * configuration fields other than select and subsel"). */
    uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(dh_config_write(&h, 2, junk, 6), 0);
    ck_assert_int_eq(dh_config_write(&h, VDM_INPUT_CFG_OFF_U, junk, 8), 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SELECT),
                      VDM_INPUT_CFG_ABS_INFO);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 20);
    ck_assert_int_eq(dh_config_read(&h, VDM_INPUT_CFG_OFF_U, u, 4), 0);
    ck_assert_int_eq((int32_t)drv_get_le32(u), -100);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1)); /* once */

    /* a 32-bit write at 0 sets select and subsel, ignores the rest */
    uint8_t four[4] = {VDM_INPUT_CFG_ID_NAME, 0, 0x55, 0x55};
    ck_assert_int_eq(dh_config_write(&h, 0, four, 4), 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 17);

    /* outside the 136 bytes: refused by the core (asked directly: what a
     * transport makes of it is its own business) */
    ck_assert_int_eq(vdm_dev_config_write(&h.dev, 136, junk, 1), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_read(&h.dev, 130, u, 8), VDM_ERANGE);
}
END_TEST

START_TEST(input_config_long_name_truncated)
{
    char name[200];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    struct vdm_input_config c = test_cfg();
    c.name = name;
    make_device(&c);
    uint8_t u[128];
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, u), 128);
    for (int i = 0; i < 128; i++)
        ck_assert_uint_eq(u[i], 'n');
}
END_TEST

START_TEST(input_config_reset_unselects)
{
    cfg_write8(0, VDM_INPUT_CFG_ID_NAME);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 17);
    ck_assert_int_eq(dh_set_status(&h, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_int_eq(dh_set_status(&h, 0), 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SELECT), 0);
    ck_assert_uint_eq(cfg_read8(VDM_INPUT_CFG_OFF_SIZE), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* eventq                                                                   */

START_TEST(input_events_before_buffers_delivered_in_order)
{
    bringup_no_ok(VDM_F_VERSION_1, 16);
    /* before DRIVER_OK: queued */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 1), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    driver_ok();
    /* live, but no buffers yet */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 0), 0);
    ck_assert_int_eq(
        vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_X, (uint32_t)-5), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    ck_assert_uint_eq(vdm_input_pending(&inp), 5);
    expect_no_event();
    ck_assert_uint_eq(h.irq_queue[0], 0);

    /* The driver populates the eventq and notifies: 3 buffers first. */
    post_events(3, 8);
    notify(0);
    ck_assert_uint_eq(vdm_input_pending(&inp), 2);
    ck_assert_uint_eq(h.irq_queue[0], 1);
    expect_event(EV_KEY, VDM_INPUT_KEY_A, 1);
    expect_event(EV_SYN, SYN_REPORT, 0);
    expect_event(EV_KEY, VDM_INPUT_KEY_A, 0);
    expect_no_event();

    /* More buffers: the rest, then later events go straight through. */
    post_events(4, 8);
    notify(0);
    expect_event(EV_REL, VDM_INPUT_REL_X, 0xfffffffbu);
    expect_event(EV_SYN, SYN_REPORT, 0);
    ck_assert_uint_eq(vdm_input_pending(&inp), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_B, 1), 0);
    expect_event(EV_KEY, VDM_INPUT_KEY_B, 1);
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    expect_event(EV_SYN, SYN_REPORT, 0);
    expect_no_event();
    ck_assert_uint_eq(vdm_input_dropped(&inp), 0);
    ck_assert_ptr_null(drv_vq_error(&evq));
}
END_TEST

START_TEST(input_event_wire_format_little_endian)
{
    bringup(VDM_F_VERSION_1, 8);
    post_events(1, 8);
    notify(0);
    ck_assert_int_eq(vdm_input_send(&inp, 0x0102, 0x0304, 0x05060708u), 0);
    uint32_t len;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, &cookie), 1);
    ck_assert_uint_eq(len, 8);
    static const uint8_t want[8] = {0x02, 0x01, 0x04, 0x03,
                                    0x08, 0x07, 0x06, 0x05};
    ck_assert_mem_eq(dh_ptr(&h, (uint64_t)(uintptr_t)cookie, 8), want, 8);
}
END_TEST

START_TEST(input_send_many_one_notification)
{
    bringup(VDM_F_VERSION_1, 16);
    post_events(8, 8);
    notify(0);
    ck_assert_uint_eq(h.irq_queue[0], 0); /* nothing to deliver yet */
    const struct vdm_input_event evs[3] = {
        {EV_REL, VDM_INPUT_REL_X, 3},
        {EV_REL, VDM_INPUT_REL_Y, 4},
        {EV_SYN, SYN_REPORT, 0},
    };
    ck_assert_int_eq(vdm_input_send_many(&inp, evs, 3), 3);
    ck_assert_uint_eq(h.irq_queue[0], 1);
    expect_event(EV_REL, VDM_INPUT_REL_X, 3);
    expect_event(EV_REL, VDM_INPUT_REL_Y, 4);
    expect_event(EV_SYN, SYN_REPORT, 0);
    ck_assert_int_eq(vdm_input_send_many(&inp, NULL, 0), 0);
    ck_assert_int_eq(vdm_input_send_many(&inp, NULL, 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_input_send_many(NULL, evs, 1), VDM_EINVAL);
}
END_TEST

/* Fill the 16-entry ring with 8 two-event sequences (KEY_1.. down, SYN). */
static void fill_ring(void)
{
    for (uint16_t i = 0; i < RING_LEN / 2; i++) {
        ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_1 + i, 1),
                         0);
        ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    }
    ck_assert_uint_eq(vdm_input_pending(&inp), RING_LEN);
}

static void expect_ring_sequences(void)
{
    for (uint16_t i = 0; i < RING_LEN / 2; i++) {
        expect_event(EV_KEY, VDM_INPUT_KEY_1 + i, 1);
        expect_event(EV_SYN, SYN_REPORT, 0);
    }
}

START_TEST(input_overflow_drops_counts_and_syn_dropped)
{
    bringup(VDM_F_VERSION_1, 64);
    fill_ring();
    /* A three-event sequence finds the ring full: all of it is dropped. */
    ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_X, 1),
                     VDM_ENOSPC);
    ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_Y, 1),
                     VDM_ENOSPC);
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), VDM_ENOSPC);
    ck_assert_uint_eq(vdm_input_dropped(&inp), 3);
    ck_assert_uint_eq(vdm_input_pending(&inp), RING_LEN);

    /* Space returns: the waiting sequences, then SYN_DROPPED (closed by its
     * own SYN_REPORT). */
    post_events(32, 8);
    notify(0);
    expect_ring_sequences();
    expect_event(EV_SYN, SYN_DROPPED, 0);
    expect_event(EV_SYN, SYN_REPORT, 0);
    expect_no_event();
    ck_assert_uint_eq(vdm_input_pending(&inp), 0);

    /* Back to normal, and only one SYN_DROPPED per loss. */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_Z, 1), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    expect_event(EV_KEY, VDM_INPUT_KEY_Z, 1);
    expect_event(EV_SYN, SYN_REPORT, 0);
    expect_no_event();
    ck_assert_uint_eq(vdm_input_dropped(&inp), 3);
}
END_TEST

START_TEST(input_overflow_drops_whole_sequence)
{
    /* "It SHOULD NOT drop individual input events if they are part of a
     * sequence forming one input device update." */
    bringup(VDM_F_VERSION_1, 64);
    for (uint16_t i = 0; i < RING_LEN / 2 - 1; i++) {
        ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_1 + i, 1),
                         0);
        ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
    }
    /* 14 waiting; a sequence of four events starts: two fit... */
    ck_assert_int_eq(vdm_input_send(&inp, EV_ABS, VDM_INPUT_ABS_X, 10), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_ABS, VDM_INPUT_ABS_Y, 20), 0);
    /* ...the third does not: the two already queued go too. */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_BTN_TOUCH, 1),
                     VDM_ENOSPC);
    ck_assert_uint_eq(vdm_input_pending(&inp), RING_LEN - 2);
    ck_assert_uint_eq(vdm_input_dropped(&inp), 3);
    /* the rest of the sequence is dropped even though there is room now */
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), VDM_ENOSPC);
    ck_assert_uint_eq(vdm_input_dropped(&inp), 4);
    /* the next sequence is accepted, preceded by SYN_DROPPED */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_Q, 1),
                     VDM_ENOSPC);
    /* (no room for SYN_DROPPED + SYN_REPORT + this event: 2 free) */
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), VDM_ENOSPC);
    ck_assert_uint_eq(vdm_input_dropped(&inp), 6);

    post_events(32, 8);
    notify(0);
    for (uint16_t i = 0; i < RING_LEN / 2 - 1; i++) {
        expect_event(EV_KEY, VDM_INPUT_KEY_1 + i, 1);
        expect_event(EV_SYN, SYN_REPORT, 0);
    }
    expect_event(EV_SYN, SYN_DROPPED, 0);
    expect_event(EV_SYN, SYN_REPORT, 0);
    expect_no_event(); /* no ABS_X / ABS_Y fragment */
    ck_assert_uint_eq(vdm_input_dropped(&inp), 6);
}
END_TEST

START_TEST(input_overflow_without_syn_report)
{
    /* A host that never terminates sequences: the whole waiting run is one
     * unfinished sequence and goes when it overflows. */
    bringup(VDM_F_VERSION_1, 64);
    for (uint32_t i = 0; i < RING_LEN; i++)
        ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_X, i), 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_X, 99),
                     VDM_ENOSPC);
    ck_assert_uint_eq(vdm_input_pending(&inp), 0);
    ck_assert_uint_eq(vdm_input_dropped(&inp), RING_LEN + 1);
    /* The driver posts buffers: nothing to say until the sequence ends. */
    post_events(8, 8);
    notify(0);
    expect_no_event();
    ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), VDM_ENOSPC);
    expect_event(EV_SYN, SYN_DROPPED, 0);
    expect_event(EV_SYN, SYN_REPORT, 0);
    ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_Y, 7), 0);
    expect_event(EV_REL, VDM_INPUT_REL_Y, 7);
    ck_assert_uint_eq(vdm_input_dropped(&inp), RING_LEN + 2);
}
END_TEST

START_TEST(input_small_eventq_buffer_skipped)
{
    bringup(VDM_F_VERSION_1, 16);
    /* A 4-byte buffer (driver error), then a good one. */
    uint64_t small = dh_alloc(&h, 4, 8);
    memset(dh_ptr(&h, small, 4), 0xee, 4);
    struct drv_buf b = {small, 4};
    ck_assert_int_ge(drv_vq_add(&evq, NULL, 0, &b, 1, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)small),
                     0);
    drv_vq_publish(&evq);
    post_events(1, 8);
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 1), 0);
    /* The small buffer comes back with used length 0, untouched; the event
     * goes into the next buffer. */
    uint32_t len = 99;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)small);
    ck_assert_uint_eq(len, 0);
    const uint8_t *p = dh_ptr(&h, small, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(p[i], 0xee);
    expect_event(EV_KEY, VDM_INPUT_KEY_A, 1);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
    ck_assert_uint_eq(vdm_input_dropped(&inp), 0);

    /* A zero-length... is not a buffer; a readable-only one is wrong too. */
    uint64_t r = dh_alloc(&h, 8, 8);
    struct drv_buf ob = {r, 8};
    ck_assert_int_ge(
        drv_vq_add(&evq, &ob, 1, NULL, 0, DRV_ADD_DIRECT, (void *)(uintptr_t)r),
        0);
    drv_vq_publish(&evq);
    post_events(1, 16); /* bigger than needed is fine */
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 0), 0);
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)r);
    ck_assert_uint_eq(len, 0);
    expect_event(EV_KEY, VDM_INPUT_KEY_A, 0);
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert_uint_eq(h.nwarn, 1)); /* logged once per reset */
}
END_TEST

START_TEST(input_split_event_buffer)
{
    /* An event buffer in two parts (3 + 5 bytes) is fine. */
    bringup(VDM_F_VERSION_1, 16);
    uint64_t a = dh_alloc(&h, 3, 8), b = dh_alloc(&h, 5, 8);
    struct drv_buf in[2] = {{a, 3}, {b, 5}};
    ck_assert_int_ge(drv_vq_add(&evq, NULL, 0, in, 2, DRV_ADD_DIRECT, NULL), 0);
    drv_vq_publish(&evq);
    ck_assert_int_eq(vdm_input_send(&inp, EV_ABS, 0x0a0b, 0x11223344u), 0);
    uint32_t len;
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 8);
    uint8_t got[8];
    memcpy(got, dh_ptr(&h, a, 3), 3);
    memcpy(got + 3, dh_ptr(&h, b, 5), 5);
    ck_assert_uint_eq(drv_get_le16(got), EV_ABS);
    ck_assert_uint_eq(drv_get_le16(got + 2), 0x0a0b);
    ck_assert_uint_eq(drv_get_le32(got + 4), 0x11223344u);
}
END_TEST

START_TEST(input_long_chains)
{
    bringup(VDM_F_VERSION_1, 32);
    /* An event buffer of ten 1-byte parts: the first eight carry it. */
    struct drv_buf in[10];
    for (int i = 0; i < 10; i++) {
        in[i].gpa = dh_alloc(&h, 1, 8);
        in[i].len = 1;
        *(uint8_t *)dh_ptr(&h, in[i].gpa, 1) = 0xee;
    }
    ck_assert_int_ge(drv_vq_add(&evq, NULL, 0, in, 10, DRV_ADD_DIRECT, NULL),
                     0);
    drv_vq_publish(&evq);
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, 0x0201, 0x06050403u), 0);
    uint32_t len;
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 8);
    static const uint8_t want[10] = {EV_KEY, 0,    0x01, 0x02, 0x03,
                                     0x04,   0x05, 0x06, 0xee, 0xee};
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, in[i].gpa, 1), want[i]);

    /* Nine readable parts before the writable one: no writable span among
     * the first eight, so the buffer comes back unused and the event
     * waits for the next one. */
    struct drv_buf out[9], w = {dh_alloc(&h, 8, 8), 8};
    for (int i = 0; i < 9; i++)
        out[i] = (struct drv_buf){dh_alloc(&h, 1, 8), 1};
    ck_assert_int_ge(drv_vq_add(&evq, out, 9, &w, 1, DRV_ADD_DIRECT, NULL), 0);
    drv_vq_publish(&evq);
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_B, 1), 0);
    ck_assert_int_eq(drv_vq_get_used(&evq, NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(vdm_input_pending(&inp), 1);
    post_events(1, 8);
    notify(0);
    expect_event(EV_KEY, VDM_INPUT_KEY_B, 1);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}
END_TEST

START_TEST(input_packed_ring)
{
    UT_NEEDS(VDM_F_RING_PACKED);
    bringup(VDM_F_VERSION_1 | VDM_F_RING_PACKED, 4);
    for (uint32_t round = 0; round < 5; round++) { /* wraps */
        post_events(3, 8);
        notify(0);
        ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_X, round),
                         0);
        ck_assert_int_eq(vdm_input_send(&inp, EV_REL, VDM_INPUT_REL_Y, round),
                         0);
        ck_assert_int_eq(vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0), 0);
        expect_event(EV_REL, VDM_INPUT_REL_X, round);
        expect_event(EV_REL, VDM_INPUT_REL_Y, round);
        expect_event(EV_SYN, SYN_REPORT, 0);
    }
    ck_assert_ptr_null(drv_vq_error(&evq));
}
END_TEST

/* Regression (issue 10, bug 6): spec "Device Status Field": after the
 * driver sets FAILED (Linux: probe failure, then the rings are freed) the
 * device is not live: host-initiated events must not be written into the
 * eventq buffers the driver posted before. */
START_TEST(input_failed_stops_events)
{
    bringup(VDM_F_VERSION_1, 8);
    post_events(4, 8);
    notify(0);
    unsigned irqs = h.irq_queue[0];
    ck_assert_int_eq(
        vdm_dev_set_status(
            &h.dev, (uint8_t)(vdm_dev_status(&h.dev) | VDM_STATUS_FAILED)),
        0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 0);
    (void)vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 1);
    (void)vdm_input_send(&inp, EV_SYN, SYN_REPORT, 0);
    expect_no_event();
    ck_assert_uint_eq(h.irq_queue[0], irqs);
}
END_TEST

START_TEST(input_reset_discards_waiting_events)
{
    bringup(VDM_F_VERSION_1, 8);
    ck_assert_int_eq(vdm_input_send(&inp, EV_KEY, VDM_INPUT_KEY_A, 1), 0);
    ck_assert_uint_eq(vdm_input_pending(&inp), 1);
    dh_reset(&h);
    drv_alloc_reset(&h.g);
    bringup(VDM_F_VERSION_1, 8);
    ck_assert_uint_eq(vdm_input_pending(&inp), 0);
    post_events(2, 8);
    notify(0);
    expect_no_event();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* statusq                                                                  */

static uint64_t post_status(uint16_t type, uint16_t code, uint32_t value,
                            uint32_t len)
{
    uint64_t gpa = dh_alloc(&h, 16, 8);
    uint8_t *p = dh_ptr(&h, gpa, 16);
    drv_put_le16(p, type);
    drv_put_le16(p + 2, code);
    drv_put_le32(p + 4, value);
    struct drv_buf b = {gpa, len};
    ck_assert_int_ge(drv_vq_add(&stq, &b, 1, NULL, 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)gpa),
                     0);
    drv_vq_publish(&stq);
    return gpa;
}

static void expect_status_used(uint64_t gpa)
{
    uint32_t len = 99;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(&stq, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)gpa);
    ck_assert_uint_eq(len, 0);
}

START_TEST(input_status_led_reaches_host)
{
    bringup(VDM_F_VERSION_1, 8);
    uint64_t s = post_status(EV_LED, VDM_INPUT_LED_CAPSL, 1, 8);
    notify(1);
    ck_assert_int_eq(hs.status_calls, 1);
    ck_assert_uint_eq(hs.st_type, EV_LED);
    ck_assert_uint_eq(hs.st_code, VDM_INPUT_LED_CAPSL);
    ck_assert_uint_eq(hs.st_value, 1);
    expect_status_used(s);
    ck_assert_uint_eq(h.irq_queue[1], 1);

    /* two more in one notification, in order */
    post_status(EV_LED, VDM_INPUT_LED_NUML, 0, 8);
    uint64_t s3 = post_status(EV_LED, VDM_INPUT_LED_SCROLLL, 0xdeadbeefu, 8);
    notify(1);
    ck_assert_int_eq(hs.status_calls, 3);
    ck_assert_uint_eq(hs.st_code, VDM_INPUT_LED_SCROLLL);
    ck_assert_uint_eq(hs.st_value, 0xdeadbeefu);
    ck_assert_int_eq(drv_vq_get_used(&stq, NULL, NULL, NULL), 1);
    expect_status_used(s3);
}
END_TEST

START_TEST(input_status_short_buffer_ignored)
{
    bringup(VDM_F_VERSION_1, 8);
    uint64_t s = post_status(EV_LED, VDM_INPUT_LED_CAPSL, 1, 6);
    notify(1);
    ck_assert_int_eq(hs.status_calls, 0);
    expect_status_used(s); /* returned, not leaked */
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    /* a longer buffer: the first event counts */
    s = post_status(EV_LED, VDM_INPUT_LED_NUML, 1, 16);
    notify(1);
    ck_assert_int_eq(hs.status_calls, 1);
    ck_assert_uint_eq(hs.st_code, VDM_INPUT_LED_NUML);
    expect_status_used(s);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}
END_TEST

START_TEST(input_status_hook_may_send)
{
    bringup(VDM_F_VERSION_1, 8);
    post_events(2, 8);
    notify(0);
    hs.resend = 1;
    uint64_t s = post_status(EV_LED, VDM_INPUT_LED_CAPSL, 1, 8);
    notify(1);
    ck_assert_int_eq(hs.status_calls, 1);
    expect_status_used(s);
    expect_event(EV_KEY, VDM_INPUT_KEY_CAPSLOCK, 1);
}
END_TEST

START_TEST(input_status_without_hook)
{
    struct vdm_input_config c = test_cfg();
    c.ops = NULL;
    make_device(&c);
    bringup(VDM_F_VERSION_1, 8);
    uint64_t s = post_status(EV_LED, VDM_INPUT_LED_CAPSL, 1, 8);
    notify(1);
    expect_status_used(s);
    ck_assert_int_eq(hs.status_calls, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Profiles and init                                                        */

static void use_profile(int (*profile)(struct vdm_input_config *))
{
    struct vdm_input_config c = VDM_INIT(struct vdm_input_config);
    c.queue = ring;
    c.queue_len = RING_LEN;
    ck_assert_int_eq(profile(&c), 0);
    ck_assert_ptr_eq(c.queue, ring); /* left alone */
    make_device(&c);
    uint8_t u[128];
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_DEVIDS, 0, u), 8);
    ck_assert_uint_eq(drv_get_le16(u), VDM_INPUT_BUS_VIRTUAL);
}

static unsigned popcount(const uint8_t *u, unsigned n)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n * 8; i++)
        c += (unsigned)bit(u, i);
    return c;
}

START_TEST(input_profile_keyboard)
{
    uint8_t u[128];
    use_profile(vdm_input_profile_keyboard);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, u), 12);
    ck_assert_mem_eq(u, "vdm keyboard", 12);
    uint8_t n = cfg_query(VDM_INPUT_CFG_EV_BITS, EV_KEY, u);
    ck_assert_uint_ge(n, VDM_INPUT_BITMAP_BYTES(VDM_INPUT_KEY_COMPOSE));
    ck_assert_uint_eq(popcount(u, n), 105);
    ck_assert(!bit(u, VDM_INPUT_KEY_RESERVED));
    static const unsigned keys[] = {
        VDM_INPUT_KEY_ESC,        VDM_INPUT_KEY_1,
        VDM_INPUT_KEY_0,          VDM_INPUT_KEY_A,
        VDM_INPUT_KEY_Z,          VDM_INPUT_KEY_ENTER,
        VDM_INPUT_KEY_SPACE,      VDM_INPUT_KEY_LEFTSHIFT,
        VDM_INPUT_KEY_RIGHTSHIFT, VDM_INPUT_KEY_LEFTCTRL,
        VDM_INPUT_KEY_RIGHTCTRL,  VDM_INPUT_KEY_LEFTALT,
        VDM_INPUT_KEY_RIGHTALT,   VDM_INPUT_KEY_LEFTMETA,
        VDM_INPUT_KEY_COMPOSE,    VDM_INPUT_KEY_F1,
        VDM_INPUT_KEY_F10,        VDM_INPUT_KEY_F11,
        VDM_INPUT_KEY_F12,        VDM_INPUT_KEY_KPDOT,
        VDM_INPUT_KEY_102ND,      VDM_INPUT_KEY_KPENTER,
        VDM_INPUT_KEY_SYSRQ,      VDM_INPUT_KEY_HOME,
        VDM_INPUT_KEY_UP,         VDM_INPUT_KEY_LEFT,
        VDM_INPUT_KEY_RIGHT,      VDM_INPUT_KEY_DOWN,
        VDM_INPUT_KEY_DELETE,     VDM_INPUT_KEY_PAUSE,
        VDM_INPUT_KEY_CAPSLOCK,   VDM_INPUT_KEY_NUMLOCK,
        VDM_INPUT_KEY_SCROLLLOCK,
    };
    for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(bit(u, keys[i]), "key %u missing", keys[i]);
    /* unassigned codes stay clear */
    ck_assert(!bit(u, 84));
    ck_assert(!bit(u, 101));
    ck_assert(!bit(u, 112));
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_LED, u), 1);
    ck_assert_uint_eq(u[0], 0x07); /* NUML, CAPSL, SCROLLL */
    ck_assert_uint_gt(cfg_query(VDM_INPUT_CFG_EV_BITS, VDM_INPUT_EV_REP, u), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_REL, u), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_ABS, u), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_PROP_BITS, 0, u), 0);
}
END_TEST

START_TEST(input_profile_mouse)
{
    uint8_t u[128];
    use_profile(vdm_input_profile_mouse);
    ck_assert_uint_gt(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, u), 0);
    uint8_t n = cfg_query(VDM_INPUT_CFG_EV_BITS, EV_REL, u);
    ck_assert_uint_gt(n, 0);
    ck_assert(bit(u, VDM_INPUT_REL_X));
    ck_assert(bit(u, VDM_INPUT_REL_Y));
    ck_assert(bit(u, VDM_INPUT_REL_WHEEL));
    ck_assert_uint_eq(popcount(u, n), 3);
    n = cfg_query(VDM_INPUT_CFG_EV_BITS, EV_KEY, u);
    ck_assert_uint_ge(n, VDM_INPUT_BITMAP_BYTES(VDM_INPUT_BTN_MIDDLE));
    ck_assert(bit(u, VDM_INPUT_BTN_LEFT));
    ck_assert(bit(u, VDM_INPUT_BTN_RIGHT));
    ck_assert(bit(u, VDM_INPUT_BTN_MIDDLE));
    ck_assert_uint_eq(popcount(u, n), 3);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_ABS, u), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_LED, u), 0);
}
END_TEST

START_TEST(input_profile_touch)
{
    uint8_t u[128], a[128];
    use_profile(vdm_input_profile_touch);
    ck_assert_uint_gt(cfg_query(VDM_INPUT_CFG_ID_NAME, 0, u), 0);
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_PROP_BITS, 0, u), 1);
    ck_assert(bit(u, VDM_INPUT_PROP_DIRECT));
    uint8_t n = cfg_query(VDM_INPUT_CFG_EV_BITS, EV_KEY, u);
    ck_assert_uint_gt(n, 0);
    ck_assert(bit(u, VDM_INPUT_BTN_TOUCH));
    n = cfg_query(VDM_INPUT_CFG_EV_BITS, EV_ABS, u);
    ck_assert_uint_gt(n, 0);
    static const unsigned axes[] = {VDM_INPUT_ABS_X,
                                    VDM_INPUT_ABS_Y,
                                    VDM_INPUT_ABS_MT_SLOT,
                                    VDM_INPUT_ABS_MT_POSITION_X,
                                    VDM_INPUT_ABS_MT_POSITION_Y,
                                    VDM_INPUT_ABS_MT_TRACKING_ID};
    for (unsigned i = 0; i < 6; i++)
        ck_assert_msg(bit(u, axes[i]), "axis %u missing", axes[i]);
    ck_assert_uint_eq(popcount(u, n), 6);
    /* every advertised axis has absinfo with min < max, and no other */
    for (unsigned ax = 0; ax <= VDM_INPUT_ABS_MAX; ax++) {
        uint8_t sz = cfg_query(VDM_INPUT_CFG_ABS_INFO, (uint8_t)ax, a);
        if (ax < n * 8u && bit(u, ax)) {
            ck_assert_uint_eq(sz, 20);
            ck_assert_int_lt((int32_t)drv_get_le32(a),
                             (int32_t)drv_get_le32(a + 4));
        } else {
            ck_assert_uint_eq(sz, 0);
        }
    }
    cfg_query(VDM_INPUT_CFG_ABS_INFO, VDM_INPUT_ABS_MT_SLOT, a);
    ck_assert_int_eq((int32_t)drv_get_le32(a), 0);
    ck_assert_int_eq((int32_t)drv_get_le32(a + 4), 9); /* 10 contacts */
    ck_assert_uint_eq(cfg_query(VDM_INPUT_CFG_EV_BITS, EV_REL, u), 0);
}
END_TEST

START_TEST(input_profile_rejects_bad_args)
{
    struct vdm_input_config c = VDM_INIT(struct vdm_input_config);
    ck_assert_int_eq(vdm_input_profile_keyboard(NULL), VDM_EINVAL);
    c.size = 8;
    ck_assert_int_eq(vdm_input_profile_mouse(&c), VDM_ESIZE);
    ck_assert_ptr_null(c.name);
}
END_TEST

START_TEST(input_init_rejects_bad_config)
{
    struct vdm_input i2;
    struct vdm_dev d2;
    struct vdm_dev_config bc = h.base;
    struct vdm_input_config c = test_cfg();

    ck_assert_int_eq(vdm_input_init(NULL, &d2, &c, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_input_init(&i2, NULL, &c, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_input_init(&i2, &d2, NULL, &bc), VDM_EINVAL);
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, NULL), VDM_EINVAL);

    c.size = 16;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_ESIZE);
    c = test_cfg();
    c.queue = NULL;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    c = test_cfg();
    c.queue_len = 1;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);

    struct vdm_input_bits bad[2] = {
        {.type = EV_KEY, .len = 129, .bitmap = t_keys},
        {.type = EV_KEY, .len = 1, .bitmap = t_keys},
    };
    c = test_cfg();
    c.ev = bad;
    c.nev = 1; /* bitmap longer than the union */
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    bad[0].len = 1;
    c.nev = 2; /* the same type twice */
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    bad[1].type = 0x20; /* beyond EV_MAX */
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    bad[1].type = EV_REL;
    bad[1].bitmap = NULL;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    bad[1].bitmap = t_rel;
    bad[1].len = 0;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);

    c = test_cfg();
    c.prop_len = 129;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    c = test_cfg();
    struct vdm_input_absinfo dup[2] = {t_abs[0], t_abs[0]};
    c.abs = dup;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    dup[1].axis = 0x40;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    c = test_cfg();
    struct vdm_input_ops short_ops = {.size = 4, .status = host_status};
    c.ops = &short_ops;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_ESIZE);

    c = test_cfg();
    bc.num_queues = 1;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), VDM_EINVAL);
    bc.num_queues = 2;
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), 0);

    /* generic host features pass, device-type bits do not */
    bc.features = VDM_F_ACCESS_PLATFORM | (1ull << 0);
    ck_assert_int_eq(vdm_input_init(&i2, &d2, &c, &bc), 0);
    ck_assert_uint_eq(vdm_dev_device_features(&d2) &
                          (VDM_F_ACCESS_PLATFORM | 1ull | VDM_F_RING_ALL),
                      VDM_F_ACCESS_PLATFORM | VDM_F_RING_ALL);

    ck_assert_int_eq(vdm_input_send(NULL, 0, 0, 0), VDM_EINVAL);
    ck_assert_uint_eq(vdm_input_dropped(NULL), 0);
    ck_assert_uint_eq(vdm_input_pending(NULL), 0);
}
END_TEST

static Suite *input_suite(void)
{
    Suite *s = suite_create("input");
    TCase *cfg = tcase_create("config");
    tcase_add_checked_fixture(cfg, setup, teardown);
    tcase_add_test(cfg, input_config_identity);
    tcase_add_test(cfg, input_config_bitmaps_and_absinfo);
    tcase_add_test(cfg, input_config_unknown_selection_size_zero);
    tcase_add_test(cfg, input_config_no_serial_no_props);
    tcase_add_test(cfg, input_config_select_subsel_any_order);
    tcase_add_test(cfg, input_config_long_name_truncated);
    tcase_add_test(cfg, input_config_reset_unselects);
    suite_add_tcase(s, cfg);

    TCase *ev = tcase_create("eventq");
    tcase_add_checked_fixture(ev, setup, teardown);
    tcase_add_test(ev, input_events_before_buffers_delivered_in_order);
    tcase_add_test(ev, input_event_wire_format_little_endian);
    tcase_add_test(ev, input_send_many_one_notification);
    tcase_add_test(ev, input_overflow_drops_counts_and_syn_dropped);
    tcase_add_test(ev, input_overflow_drops_whole_sequence);
    tcase_add_test(ev, input_overflow_without_syn_report);
    tcase_add_test(ev, input_small_eventq_buffer_skipped);
    tcase_add_test(ev, input_split_event_buffer);
    tcase_add_test(ev, input_long_chains);
    tcase_add_test(ev, input_packed_ring);
    tcase_add_test(ev, input_reset_discards_waiting_events);
    tcase_add_test(ev, input_failed_stops_events);
    suite_add_tcase(s, ev);

    TCase *st = tcase_create("statusq");
    tcase_add_checked_fixture(st, setup, teardown);
    tcase_add_test(st, input_status_led_reaches_host);
    tcase_add_test(st, input_status_short_buffer_ignored);
    tcase_add_test(st, input_status_hook_may_send);
    tcase_add_test(st, input_status_without_hook);
    suite_add_tcase(s, st);

    TCase *pr = tcase_create("profiles");
    tcase_add_checked_fixture(pr, setup, teardown);
    tcase_add_test(pr, input_profile_keyboard);
    tcase_add_test(pr, input_profile_mouse);
    tcase_add_test(pr, input_profile_touch);
    tcase_add_test(pr, input_profile_rejects_bad_args);
    tcase_add_test(pr, input_init_rejects_bad_config);
    suite_add_tcase(s, pr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(input_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
