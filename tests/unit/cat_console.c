/* SPDX-License-Identifier: BSD-3-Clause */
/* Catalogue (test_catalogue.c, docs/security.md): the classes of public
 * bugs of virtio-console device implementations (QEMU's virtio-serial,
 * ACRN's virtio-console), each run against vdm's console device
 * (devices/console.c) with MULTIPORT, on the bench of devharness.h. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/console.h"
#include "vdm/le.h"

#include "cat_console.h"

#define CC_PORTS 2u
#define CC_NQ    VDM_CONSOLE_NUM_QUEUES(CC_PORTS)

static struct {
    struct dh h;
    struct vdm_console con;
    int ntx;
    uint32_t last_port;
    uint64_t storage[VDM_CONSOLE_STORAGE_BYTES(CC_PORTS, 2) / 8 + 1];
} CC;

static int cc_tx(void *host, uint32_t port, const struct vdm_iov *iov,
                 uint32_t n, uint32_t len, uintptr_t token)
{
    (void)host;
    (void)iov;
    (void)n;
    (void)len;
    (void)token;
    CC.ntx++;
    CC.last_port = port;
    return 0;
}

static const struct vdm_console_ops cc_ops = {
    .size = sizeof(struct vdm_console_ops),
    .transmit = cc_tx,
};

static struct drv_vq *cq(uint32_t q)
{
    return dh_vq(&CC.h, (uint16_t)q);
}

static int cc_needs_reset(void)
{
    return (dh_status(&CC.h) & VDM_STATUS_DEVICE_NEEDS_RESET) != 0;
}

/* MULTIPORT console, port 0 a console, port 1 named; DEVICE_READY not
 * sent yet. */
static void cc_setup(void)
{
    struct dh_opts o = {.num_queues = CC_NQ, .qsize = 32};
    struct vdm_console_config c = VDM_INIT(struct vdm_console_config);
    struct vdm_console_port_info p = VDM_INIT(struct vdm_console_port_info);

    memset(&CC, 0, sizeof(CC));
    ck_assert_int_eq(dh_init(&CC.h, &o), 0);
    c.max_ports = CC_PORTS;
    c.features = VDM_CONSOLE_F_MULTIPORT | VDM_CONSOLE_F_SIZE;
    c.ops = &cc_ops;
    c.tx_slots = 2;
    c.storage = CC.storage;
    c.storage_bytes = sizeof(CC.storage);
    ck_assert_int_eq(vdm_console_init(&CC.con, &CC.h.dev, &c, &CC.h.base), 0);
    p.console = 1;
    ck_assert_int_eq(vdm_console_port_add(&CC.con, 0, &p), 0);
    p.console = 0;
    p.name = "org.vdm.catalogue.port";
    p.name_len = 22;
    ck_assert_int_eq(vdm_console_port_add(&CC.con, 1, &p), 0);
    ck_assert_int_eq(dh_bring_up(&CC.h,
                                 VDM_F_VERSION_1 | VDM_CONSOLE_F_MULTIPORT |
                                     VDM_CONSOLE_F_SIZE,
                                 CC_NQ),
                     0);
}

static void cc_teardown(void)
{
    dh_fini(&CC.h);
}

/* One driver control message of @p len bytes; it is used with length 0. */
static void cc_ctl(uint32_t id, uint32_t ev, uint32_t value, uint32_t len)
{
    uint64_t g = dh_alloc(&CC.h, 16, 8);
    uint8_t *p = dh_ptr(&CC.h, g, 16);
    uint32_t used = 99;
    void *cookie = NULL;
    struct drv_buf b = {g, len};

    vdm_put_le32(p, id);
    vdm_put_le16(p + 4, (uint16_t)ev);
    vdm_put_le16(p + 6, (uint16_t)value);
    ck_assert_int_ge(drv_vq_add(cq(VDM_CONSOLE_QUEUE_CTRL_TX), &b, 1, NULL, 0,
                                DRV_ADD_DIRECT, (void *)(uintptr_t)g),
                     0);
    drv_vq_publish(cq(VDM_CONSOLE_QUEUE_CTRL_TX));
    ck_assert_int_ge(dh_kick(&CC.h, VDM_CONSOLE_QUEUE_CTRL_TX, 1), 0);
    ck_assert_int_eq(
        drv_vq_get_used(cq(VDM_CONSOLE_QUEUE_CTRL_TX), NULL, &used, &cookie),
        1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)g);
    ck_assert_uint_eq(used, 0);
}

/* ACRN's virtio_console_control_tx() crashed on a malformed control
 * message from the guest (fuzzing found a SEGV reading past the port
 * table; projectacrn/acrn-hypervisor#6851, fixed by "dm: validate input of
 * virtio_console_control_tx()", #6852). Guest-chosen port ids at and beyond
 * max_nr_ports, the "bad id" 0xffffffff, events only a device sends and
 * messages shorter than the header change nothing, each is used, and the
 * device keeps working. */
START_TEST(cat_console_control_port_ids)
{
    static const uint32_t ids[] = {CC_PORTS, 3,           0x7fffu,
                                   0x8000u,  0x80000000u, 0xffffffffu};
    static const uint32_t evs[] = {VDM_CONSOLE_PORT_READY,
                                   VDM_CONSOLE_PORT_OPEN,
                                   VDM_CONSOLE_DEVICE_ADD,
                                   VDM_CONSOLE_DEVICE_REMOVE,
                                   VDM_CONSOLE_RESIZE,
                                   VDM_CONSOLE_PORT_NAME,
                                   VDM_CONSOLE_CONSOLE_PORT,
                                   8,
                                   0xffff};

    cc_setup();
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (unsigned e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
            cc_ctl(ids[i], evs[e], 1, 8);
            cc_ctl(ids[i], evs[e], 1, 6); /* short: no value field */
            cc_ctl(ids[i], evs[e], 1, 0);
        }
    }
    for (uint32_t p = 0; p < CC_PORTS; p++)
        ck_assert_int_eq(vdm_console_port_state(&CC.con, p),
                         VDM_CONSOLE_PS_ADDED |
                             (p == 0 ? VDM_CONSOLE_PS_CONSOLE : 0));
    ck_assert(!cc_needs_reset());
    /* still serving: DEVICE_READY announces both ports */
    uint64_t r = dh_alloc(&CC.h, 64, 8);
    struct drv_buf b = {r, 64};
    ck_assert_int_ge(drv_vq_add(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, 0, &b, 1,
                                DRV_ADD_DIRECT, NULL),
                     0);
    drv_vq_publish(cq(VDM_CONSOLE_QUEUE_CTRL_RX));
    cc_ctl(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    uint32_t len = 0;
    ck_assert_int_eq(
        drv_vq_get_used(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(vdm_le16((uint8_t *)dh_ptr(&CC.h, r, 8) + 4),
                      VDM_CONSOLE_DEVICE_ADD);
    cc_teardown();
}
END_TEST

/* ACRN's virtio_console_notify_tx() dereferenced a port's backend hook
 * that was NULL when the guest kicked the transmitq of a port with no
 * backend ("dm: fix potential NULL pointer access in virtio_console.c",
 * projectacrn/acrn-hypervisor#6391, tracked in #6388). Data on the
 * transmitq of a port the host never added (or that the driver was never
 * told of) is used with length 0 and never reaches the host. */
START_TEST(cat_console_tx_on_missing_port)
{
    cc_setup();
    ck_assert_int_eq(vdm_console_port_remove(&CC.con, 1), 0);
    for (uint32_t p = 0; p < CC_PORTS; p++) {
        uint32_t q = VDM_CONSOLE_QUEUE_TX(p);
        uint64_t g = dh_alloc(&CC.h, 8, 8);
        struct drv_buf b = {g, 8};
        uint32_t len = 99;
        memcpy(dh_ptr(&CC.h, g, 8), "datadata", 8);
        ck_assert_int_ge(drv_vq_add(cq(q), &b, 1, NULL, 0, DRV_ADD_DIRECT,
                                    (void *)(uintptr_t)g),
                         0);
        drv_vq_publish(cq(q));
        ck_assert_int_ge(dh_kick(&CC.h, (uint16_t)q, 1), 0);
        ck_assert_int_eq(drv_vq_get_used(cq(q), NULL, &len, NULL), 1);
        ck_assert_uint_eq(len, 0);
    }
    /* port 0 exists: its data reached the host; port 1 is gone */
    ck_assert_int_eq(CC.ntx, 1);
    ck_assert_uint_eq(CC.last_port, 0);
    ck_assert(!cc_needs_reset());
    cc_teardown();
}
END_TEST

/* QEMU's send_control_msg() copied each control message into the first
 * span of the driver's buffer, assuming it was big enough (CVE-2015-5745,
 * https://nvd.nist.gov/vuln/detail/CVE-2015-5745: a guest crashes QEMU with
 * a crafted buffer; fixed by "virtio-serial: fix ANY_LAYOUT"). vdm writes
 * messages through the chain: a buffer of many 1-byte spans gets the whole
 * message, a name cut to what fits, and a buffer shorter than the header
 * gets nothing (used 0, the message stays owed) and nothing is written past
 * any span. */
START_TEST(cat_console_control_message_across_spans)
{
    cc_setup();
    /* 1: 6 bytes in one span, too small for any message */
    uint64_t small = dh_alloc(&CC.h, 16, 8);
    memset(dh_ptr(&CC.h, small, 16), 0xa5, 16);
    struct drv_buf sb = {small, 6};
    ck_assert_int_ge(drv_vq_add(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, 0, &sb, 1,
                                DRV_ADD_DIRECT, (void *)1),
                     0);
    /* 2, 3: 12 spans of one byte each, 2 bytes apart (guards between) */
    uint64_t g[2];
    for (unsigned k = 0; k < 2; k++) {
        struct drv_buf sp[12];
        g[k] = dh_alloc(&CC.h, 24, 8);
        memset(dh_ptr(&CC.h, g[k], 24), 0xa5, 24);
        for (unsigned i = 0; i < 12; i++)
            sp[i] = (struct drv_buf){g[k] + 2u * i, 1};
        ck_assert_int_ge(drv_vq_add(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, 0, sp,
                                    12, DRV_ADD_DIRECT,
                                    (void *)(uintptr_t)(2 + k)),
                         0);
    }
    drv_vq_publish(cq(VDM_CONSOLE_QUEUE_CTRL_RX));
    cc_ctl(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    uint32_t len = 99;
    void *ck = NULL;
    ck_assert_int_eq(
        drv_vq_get_used(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, &len, &ck), 1);
    ck_assert_ptr_eq(ck, (void *)1);
    ck_assert_uint_eq(len, 0);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_uint_eq(((uint8_t *)dh_ptr(&CC.h, small, 16))[i], 0xa5);
    for (unsigned k = 0; k < 2; k++) {
        uint8_t m[12];
        const uint8_t *p = dh_ptr(&CC.h, g[k], 24);
        ck_assert_int_eq(
            drv_vq_get_used(cq(VDM_CONSOLE_QUEUE_CTRL_RX), NULL, &len, &ck), 1);
        ck_assert_uint_eq(len, 8);
        for (unsigned i = 0; i < 12; i++) {
            m[i] = p[2 * i];
            ck_assert_uint_eq(p[2 * i + 1], 0xa5); /* the guards */
        }
        ck_assert_uint_eq(vdm_le32(m), k);
        ck_assert_uint_eq(vdm_le16(m + 4), VDM_CONSOLE_DEVICE_ADD);
        ck_assert_uint_eq(m[8], 0xa5); /* used 8: nothing beyond */
    }
    ck_assert(!cc_needs_reset());
    cc_teardown();
}
END_TEST

void cat_console_add(Suite *s)
{
    TCase *t = tcase_create("console");
    tcase_add_test(t, cat_console_control_port_ids);
    tcase_add_test(t, cat_console_tx_on_missing_port);
    tcase_add_test(t, cat_console_control_message_across_spans);
    suite_add_tcase(s, t);
}
