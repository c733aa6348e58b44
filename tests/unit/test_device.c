/* SPDX-License-Identifier: BSD-3-Clause */
/* Device core: status state machine, feature negotiation, config space,
 * queue registers, reset, NEEDS_RESET and notifications; then a full
 * bring-up with the driver simulator moving buffers through a real ring. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/kit.h"
#include "vdm/state.h"

/* ------------------------------------------------------------------------ */
/* A small fake device type                                                 */

#define FAKE_F_A    (1ull << 0) /* plain feature */
#define FAKE_F_B    (1ull << 1) /* requires FAKE_F_A (class deps) */
#define FAKE_F_VETO (1ull << 2) /* refused by the features_ok hook */
#define FAKE_F_OFF  (1ull << 5) /* never offered */

#define NQ      4
#define QMAX    256
#define CFG_LEN 16

#define GUEST_GPA  0x100000ull
#define GUEST_SIZE (1ull << 20)

struct fake {
    uint8_t config[CFG_LEN];
    int resets, driver_oks, notifies, queue_resets, features_oks;
    int last_notify_q, last_reset_q;
    uint64_t last_accepted;
    /* bring-up test: what the device did */
    int popped, pushed, pop_rc, push_rc, notify_rc;
    uint8_t got[64];
    uint32_t got_len;
};

struct host {
    int notify_queue, notify_config, logs, errors;
    int last_q, last_level;
    const char *last_msg;
};

struct tport {
    int notify_queue, notify_config, last_q;
};

static struct fake fk;
static struct host hs;
static struct tport tp;
static struct vdm_dev dev;
static struct vdm_vq queues[NQ];
static uint32_t slots[VDM_DEV_SLOTS(NQ, QMAX)];
static struct drv_guest guest;
static struct vdm_mem_region region;
static struct vdm_mem mem;

static int fake_features_ok(struct vdm_dev *d, uint64_t accepted)
{
    struct fake *f = vdm_dev_priv(d);
    f->features_oks++;
    f->last_accepted = accepted;
    return (accepted & FAKE_F_VETO) ? VDM_ENOTSUP : 0;
}

static void fake_reset(struct vdm_dev *d)
{
    struct fake *f = vdm_dev_priv(d);
    f->resets++;
}

static void fake_driver_ok(struct vdm_dev *d)
{
    struct fake *f = vdm_dev_priv(d);
    f->driver_oks++;
}

static void fake_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct fake *f = vdm_dev_priv(d);
    f->notifies++;
    f->last_notify_q = q;
}

static void fake_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct fake *f = vdm_dev_priv(d);
    f->queue_resets++;
    f->last_reset_q = q;
}

static void fake_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct fake *f = vdm_dev_priv(d);
    ck_assert_uint_le(off + (uint64_t)len, CFG_LEN);
    memcpy(buf, f->config + off, len);
}

static void fake_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                              uint32_t len)
{
    struct fake *f = vdm_dev_priv(d);
    ck_assert_uint_le(off + (uint64_t)len, CFG_LEN);
    memcpy(f->config + off, buf, len);
}

/* The echo device of the bring-up tests: pops one chain, copies what the
 * driver wrote, answers "ok:" + the data, pushes and notifies. */
static void echo_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct fake *f = vdm_dev_priv(d);
    struct vdm_vq *vq = vdm_dev_queue(d, q);
    struct vdm_iov iov[8];
    struct vdm_chain c;
    uint8_t reply[68];
    int rc;

    f->notifies++;
    f->last_notify_q = q;
    if (vq == NULL)
        return;
    for (;;) {
        memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = 8;
        rc = vdm_vq_pop(vq, &c);
        f->pop_rc = rc;
        if (rc <= 0)
            return;
        f->popped++;
        f->got_len =
            (uint32_t)vdm_chain_copy_from(&c, 0, f->got, sizeof(f->got));
        memcpy(reply, "ok:", 3);
        memcpy(reply + 3, f->got, f->got_len);
        size_t w = vdm_chain_copy_to(&c, 0, reply, 3 + f->got_len);
        f->push_rc = vdm_vq_push(vq, c.id, (uint32_t)w);
        if (f->push_rc == 0)
            f->pushed++;
        f->notify_rc = vdm_dev_notify_used(d, q);
    }
}

static const struct vdm_feature_dep fake_deps[] = {
    {FAKE_F_B, FAKE_F_A},
};

static struct vdm_device_class fake_cls = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 42,
    .name = "fake",
    .config_size = CFG_LEN,
    .max_queues = NQ,
    .deps = fake_deps,
    .ndeps = 1,
    .features_ok = fake_features_ok,
    .reset = fake_reset,
    .driver_ok = fake_driver_ok,
    .queue_notify = fake_queue_notify,
    .queue_reset = fake_queue_reset,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
};

static void host_notify_queue(void *h, uint16_t q)
{
    struct host *x = h;
    x->notify_queue++;
    x->last_q = q;
}

static void host_notify_config(void *h)
{
    struct host *x = h;
    x->notify_config++;
}

static void host_log(void *h, int level, const char *msg)
{
    struct host *x = h;
    /* A text, or (VDM_CONFIG_LOG_TEXT=0) an event code naming one. */
    ck_assert(msg != NULL || VDM_LOG_EVENT(level) != 0);
    x->logs++;
    if (VDM_LOG_LEVEL(level) == VDM_LOG_ERROR)
        x->errors++;
    x->last_level = level;
    x->last_msg = msg;
}

static const struct vdm_host_ops host_ops = {
    .size = sizeof(struct vdm_host_ops),
    .notify_queue = host_notify_queue,
    .notify_config = host_notify_config,
    .log = host_log,
};

static void tp_notify_queue(void *ctx, uint16_t q)
{
    struct tport *t = ctx;
    t->notify_queue++;
    t->last_q = q;
}

static void tp_notify_config(void *ctx)
{
    struct tport *t = ctx;
    t->notify_config++;
}

static const struct vdm_transport_ops tp_ops = {
    .size = sizeof(struct vdm_transport_ops),
    .notify_queue = tp_notify_queue,
    .notify_config = tp_notify_config,
};

static struct vdm_dev_config base_cfg(void)
{
    struct vdm_dev_config c = VDM_INIT(struct vdm_dev_config);
    c.num_queues = NQ;
    c.queue_size_max = QMAX;
    c.features = FAKE_F_A | FAKE_F_B | FAKE_F_VETO | VDM_F_RING_ALL;
    c.cls = &fake_cls;
    c.priv = &fk;
    c.mem = &mem;
    c.ops = &host_ops;
    c.host = &hs;
    c.queues = queues;
    c.slots = slots;
    return c;
}

static void setup(void)
{
    uint64_t gpa = GUEST_GPA, size = GUEST_SIZE;
    memset(&fk, 0, sizeof(fk));
    fake_cls.queue_notify = fake_queue_notify;
    memset(&hs, 0, sizeof(hs));
    memset(&tp, 0, sizeof(tp));
    fk.last_notify_q = fk.last_reset_q = -1;
    for (int i = 0; i < CFG_LEN; i++)
        fk.config[i] = (uint8_t)(0xa0 + i);
    ck_assert_int_eq(drv_guest_init(&guest, &gpa, &size, 1), 0);
    memset(&region, 0, sizeof(region));
    region.gpa = guest.regions[0].gpa;
    region.size = guest.regions[0].size;
    region.hva = guest.regions[0].hva;
    mem = VDM_INIT(struct vdm_mem);
    mem.nregions = 1;
    mem.regions = &region;
    memset(slots, 0xee, sizeof(slots)); /* garbage: init must not care */
    memset(queues, 0xee, sizeof(queues));
    struct vdm_dev_config c = base_cfg();
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
}

static void teardown(void)
{
    drv_guest_fini(&guest);
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns set_status's rc. */
static int negotiate(uint64_t f)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_int_eq(
        vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER),
        0);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, f), 0);
    return vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                        VDM_STATUS_FEATURES_OK);
}

#define S_AD  (VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER)
#define S_ADF (S_AD | VDM_STATUS_FEATURES_OK)
#define S_ALL (S_ADF | VDM_STATUS_DRIVER_OK)

/* After a refused FEATURES_OK: write other features, set FEATURES_OK again. */
static int renegotiate(uint64_t f)
{
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, f), 0);
    return vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                        VDM_STATUS_FEATURES_OK);
}

static void go_live(uint64_t f)
{
    ut_need(f, "go_live");
    ck_assert_int_eq(negotiate(f), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 1);
}

/* ------------------------------------------------------------------------ */
/* Initialisation */

START_TEST(init_rejects_bad_config)
{
    struct vdm_dev d2;
    struct vdm_dev_config c;
    struct vdm_device_class cls2;

    c = base_cfg();
    ck_assert_int_eq(vdm_dev_init(NULL, &c), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_init(&d2, NULL), VDM_EINVAL);
    c.size = 8;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_ESIZE);
    c = base_cfg();
    c.cls = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    cls2 = fake_cls;
    cls2.size = 4;
    c.cls = &cls2;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_ESIZE);
    cls2 = fake_cls;
    cls2.queue_notify = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    cls2 = fake_cls;
    cls2.reserved0 = 1;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    cls2 = fake_cls;
    cls2.deps = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);

    c = base_cfg();
    c.num_queues = 0;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.num_queues = NQ + 1; /* more than the class supports */
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    cls2 = fake_cls;
    cls2.max_queues = 2000;
    c.cls = &cls2;
    c.num_queues = VDM_DEV_MAX_QUEUES + 1;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);

    c = base_cfg();
    c.queue_size_max = 0;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.queue_size_max = 32769;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c = base_cfg();
    c.queues = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c = base_cfg();
    c.slots = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c = base_cfg();
    c.mem = NULL;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
}
END_TEST

START_TEST(init_rejects_bad_offer)
{
    struct vdm_dev d2;
    struct vdm_dev_config c = base_cfg();

    /* A device may not offer a feature needing one it does not offer. */
    c.features = FAKE_F_B;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    /* Nor reserved / legacy-only / unimplemented generic bits. */
    c.features = 1ull << 24; /* NOTIFY_ON_EMPTY (legacy) */
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.features = 1ull << 30; /* UNUSED (legacy) */
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.features = 1ull << 44; /* reserved for future extensions */
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.features = 1ull << 49;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.features = FAKE_F_A | FAKE_F_B | VDM_F_RING_ALL | VDM_F_ACCESS_PLATFORM |
                 VDM_F_ORDER_PLATFORM;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), 0);
}
END_TEST

/* Regression (issue 10, bug 3): spec "Reserved Feature Bits": a device
 * MUST NOT offer VIRTIO_F_SR_IOV unless it presents a PCI SR-IOV
 * capability, which vdm does not implement, so offering it is refused at
 * init. (VIRTIO_F_ADMIN_VQ and VIRTIO_F_SUSPEND are offered on the host's
 * request: tests/unit/test_admin.c, test_suspend.c.) */
START_TEST(init_rejects_unhonourable_generic_features)
{
    struct vdm_dev d2;
    struct vdm_dev_config c = base_cfg();

    c.features = FAKE_F_A | VDM_F_RING_ALL | VDM_F_SR_IOV;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), VDM_EINVAL);
    c.features = FAKE_F_A | VDM_F_RING_ALL | VDM_F_NOTIF_CONFIG_DATA;
    ck_assert_int_eq(vdm_dev_init(&d2, &c), 0);
}
END_TEST

START_TEST(init_reset_state)
{
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    ck_assert_uint_eq(vdm_dev_device_features(&dev),
                      FAKE_F_A | FAKE_F_B | FAKE_F_VETO | VDM_F_RING_ALL |
                          VDM_F_VERSION_1);
    ck_assert_uint_eq(vdm_dev_driver_features(&dev), 0);
    ck_assert_uint_eq(vdm_dev_features(&dev), 0);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 0);
    ck_assert_uint_eq(vdm_dev_config_size(&dev), CFG_LEN);
    ck_assert_uint_eq(vdm_dev_num_queues(&dev), NQ);
    ck_assert_uint_eq(vdm_dev_device_id(&dev), 42);
    ck_assert_ptr_eq(vdm_dev_priv(&dev), &fk);
    ck_assert_ptr_eq(vdm_dev_mem(&dev), &mem);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
    for (uint16_t q = 0; q < NQ; q++) {
        uint64_t a = 1, b = 1, c = 1;
        ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, q), QMAX);
        ck_assert_uint_eq(vdm_dev_queue_size(&dev, q), QMAX);
        ck_assert_int_eq(vdm_dev_queue_enabled(&dev, q), 0);
        ck_assert_ptr_null(vdm_dev_queue(&dev, q));
        ck_assert_int_eq(vdm_dev_queue_get_addr(&dev, q, &a, &b, &c), 0);
        ck_assert_uint_eq(a | b | c, 0);
    }
    ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, NQ), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, NQ), 0);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&dev, NQ, NULL, NULL, NULL),
                     VDM_ERANGE);
    /* An uninitialised device is refused, not touched. */
    struct vdm_dev junk;
    memset(&junk, 0, sizeof(junk));
    ck_assert_int_eq(vdm_dev_set_status(&junk, 1), VDM_EINVAL);
    ck_assert_ptr_null(vdm_dev_queue(&junk, 0));
    ck_assert_uint_eq(vdm_dev_device_id(&junk), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Status state machine */

START_TEST(status_normal_bringup)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | FAKE_F_A), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ADF);
    ck_assert_uint_eq(vdm_dev_features(&dev), VDM_F_VERSION_1 | FAKE_F_A);
    ck_assert_int_eq(fk.features_oks, 1);
    ck_assert_uint_eq(fk.last_accepted, VDM_F_VERSION_1 | FAKE_F_A);
    ck_assert_int_eq(fk.driver_oks, 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
    ck_assert_int_eq(fk.driver_oks, 1);
    ck_assert_int_eq(vdm_dev_live(&dev), 1);
    /* Writing the same status again changes nothing. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_int_eq(fk.driver_oks, 1);
}
END_TEST

START_TEST(status_all_bits_in_one_write)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
    ck_assert_int_eq(fk.driver_oks, 1);
}
END_TEST

START_TEST(status_clearing_bit_ignored)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    int logs = hs.logs;
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE),
                     VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_int_gt(hs.logs, logs));
    /* A write adding a bit while clearing another is ignored as a whole. */
    ck_assert_int_eq(
        vdm_dev_set_status(&dev, VDM_STATUS_DRIVER | VDM_STATUS_FEATURES_OK),
        VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_int_eq(fk.features_oks, 0);
    ck_assert_int_eq(fk.resets, 0);
}
END_TEST

START_TEST(status_driver_needs_acknowledge)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_DRIVER), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
}
END_TEST

START_TEST(status_driver_ok_needs_features_ok)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD | VDM_STATUS_DRIVER_OK),
                     VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_int_eq(fk.driver_oks, 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
}
END_TEST

START_TEST(status_features_ok_refused_unoffered)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | FAKE_F_OFF), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_uint_eq(vdm_dev_features(&dev), 0);
    ck_assert_int_eq(fk.features_oks, 0);
    /* DRIVER_OK cannot follow. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD | VDM_STATUS_DRIVER_OK),
                     VDM_ESTATE);
    ck_assert_int_eq(fk.driver_oks, 0);
    /* The driver may fix its features and retry. */
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ADF), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ADF);
}
END_TEST

START_TEST(status_features_ok_refused_without_version_1)
{
    ck_assert_int_eq(negotiate(FAKE_F_A), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_uint_eq(vdm_dev_features(&dev), 0);
    ck_assert_int_eq(renegotiate(0), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
}
END_TEST

START_TEST(status_features_ok_refused_broken_class_dep)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | FAKE_F_B), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_int_eq(fk.features_oks, 0);
    ck_assert_int_eq(renegotiate(VDM_F_VERSION_1 | FAKE_F_B | FAKE_F_A), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ADF);
    ck_assert_uint_eq(vdm_dev_features(&dev),
                      VDM_F_VERSION_1 | FAKE_F_A | FAKE_F_B);
}
END_TEST

START_TEST(status_features_ok_vetoed_by_hook)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | FAKE_F_VETO), VDM_ESTATE);
    ck_assert_int_eq(fk.features_oks, 1);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD);
    ck_assert_uint_eq(vdm_dev_features(&dev), 0);
}
END_TEST

START_TEST(status_driver_cannot_set_needs_reset)
{
    ck_assert_int_eq(
        vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE |
                                     VDM_STATUS_DEVICE_NEEDS_RESET),
        VDM_ESTATE);
    /* The acceptable bit is still taken. */
    ck_assert_uint_eq(vdm_dev_status(&dev), VDM_STATUS_ACKNOWLEDGE);
    /* Unknown bits (SUSPEND 16, 32) likewise. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE | 16),
                     VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), VDM_STATUS_ACKNOWLEDGE);
}
END_TEST

START_TEST(status_failed_recorded)
{
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    int errors = hs.errors;
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD | VDM_STATUS_FAILED), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD | VDM_STATUS_FAILED);
    ck_assert_int_gt(hs.errors, errors);
    /* Nothing but a reset after FAILED. */
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ADF | VDM_STATUS_FAILED),
                     VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_AD | VDM_STATUS_FAILED);
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
}
END_TEST

START_TEST(driver_features_window)
{
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1),
                     VDM_ESTATE); /* status 0 */
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1),
                     VDM_ESTATE); /* no DRIVER yet */
    ck_assert_uint_eq(vdm_dev_driver_features(&dev), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ck_assert_int_eq(
        vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1 | FAKE_F_A), 0);
    ck_assert_uint_eq(vdm_dev_driver_features(&dev),
                      VDM_F_VERSION_1 | FAKE_F_A);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ADF), 0);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, VDM_F_VERSION_1),
                     VDM_ESTATE); /* after FEATURES_OK */
    ck_assert_uint_eq(vdm_dev_driver_features(&dev),
                      VDM_F_VERSION_1 | FAKE_F_A);
    ck_assert_uint_eq(vdm_dev_features(&dev), VDM_F_VERSION_1 | FAKE_F_A);
}
END_TEST

START_TEST(reset_clears_everything)
{
    go_live(VDM_F_VERSION_1 | FAKE_F_A | VDM_F_RING_RESET);
    vdm_dev_config_changed(&dev);
    vdm_dev_config_changed(&dev);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 2);
    /* Queue 1 reconfigured after a queue reset, left disabled. */
    ck_assert_int_eq(vdm_dev_queue_reset(&dev, 1), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 16), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 1, 0x1000, 0x2000, 0x3000),
                     0);
    vdm_dev_needs_reset(&dev, VDM_EPROTO, "test");
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);

    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(fk.resets, 1);
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    ck_assert_uint_eq(vdm_dev_features(&dev), 0);
    ck_assert_uint_eq(vdm_dev_driver_features(&dev), 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), QMAX);
    uint64_t a, b, c;
    ck_assert_int_eq(vdm_dev_queue_get_addr(&dev, 1, &a, &b, &c), 0);
    ck_assert_uint_eq(a | b | c, 0);
    /* The generation never goes back. */
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 2);
    /* Offered features unchanged; the device can be brought up again. */
    ck_assert_uint_eq(vdm_dev_device_features(&dev) & FAKE_F_A, FAKE_F_A);
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(fk.driver_oks, 2);
    /* Another reset calls the hook again. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(fk.resets, 2);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Config space */

START_TEST(config_read_write_bounds)
{
    uint8_t buf[CFG_LEN + 4];

    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(vdm_dev_config_read(&dev, 0, buf, CFG_LEN), 0);
    ck_assert_mem_eq(buf, fk.config, CFG_LEN);
    ck_assert_int_eq(vdm_dev_config_read(&dev, CFG_LEN - 4, buf, 4), 0);
    ck_assert_uint_eq(buf[0], 0xa0 + CFG_LEN - 4);
    ck_assert_int_eq(vdm_dev_config_read(&dev, CFG_LEN, buf, 0), 0);
    ck_assert_int_eq(vdm_dev_config_read(&dev, CFG_LEN - 1, buf, 2),
                     VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_read(&dev, CFG_LEN + 1, buf, 0),
                     VDM_ERANGE);
    /* off + len wrapping around 2^32 */
    ck_assert_int_eq(vdm_dev_config_read(&dev, 0xfffffffeu, buf, 4),
                     VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_read(&dev, 4, buf, 0xfffffffeu),
                     VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_read(&dev, 0, NULL, 4), VDM_EINVAL);

    uint8_t w[2] = {0x11, 0x22};
    ck_assert_int_eq(vdm_dev_config_write(&dev, 6, w, 2), 0);
    ck_assert_uint_eq(fk.config[6], 0x11);
    ck_assert_uint_eq(fk.config[7], 0x22);
    ck_assert_int_eq(vdm_dev_config_write(&dev, CFG_LEN - 1, w, 2), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_write(&dev, 0xffffffffu, w, 2), VDM_ERANGE);
    ck_assert_uint_eq(fk.config[CFG_LEN - 1], 0xa0 + CFG_LEN - 1);
    /* A driver write does not change the generation. */
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 0);
}
END_TEST

START_TEST(config_read_only_class)
{
    struct vdm_device_class ro = fake_cls;
    struct vdm_dev_config c = base_cfg();
    uint8_t buf[4] = {1, 2, 3, 4};

    ro.config_write = NULL;
    ro.config_read = NULL;
    c.cls = &ro;
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    int logs = hs.logs;
    ck_assert_int_eq(vdm_dev_config_write(&dev, 0, buf, 4), VDM_ENOTSUP);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_int_gt(hs.logs, logs));
    ck_assert_uint_eq(fk.config[0], 0xa0);
    /* No read hook: reads as zeros. */
    ck_assert_int_eq(vdm_dev_config_read(&dev, 0, buf, 4), 0);
    ck_assert_uint_eq(buf[0] | buf[1] | buf[2] | buf[3], 0);
}
END_TEST

START_TEST(config_changed_notifies)
{
    /* In reset state: generation moves, no notification. */
    vdm_dev_config_changed(&dev);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 1);
    ck_assert_int_eq(hs.notify_config, 0);
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(hs.notify_config, 0);

    vdm_dev_config_changed(&dev);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 2);
    ck_assert_int_eq(hs.notify_config, 1);

    /* A bound transport takes the notification instead of the host. */
    vdm_dev_bind(&dev, &tp_ops, &tp);
    vdm_dev_config_changed(&dev);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 3);
    ck_assert_int_eq(tp.notify_config, 1);
    ck_assert_int_eq(hs.notify_config, 1);
    /* Unbinding returns to the host hooks. */
    vdm_dev_bind(&dev, NULL, NULL);
    vdm_dev_config_changed(&dev);
    ck_assert_int_eq(hs.notify_config, 2);
    ck_assert_int_eq(tp.notify_config, 1);
}
END_TEST

START_TEST(config_changed_during_init_notified_at_driver_ok)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    vdm_dev_config_changed(&dev);
    ck_assert_int_eq(hs.notify_config, 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_int_eq(hs.notify_config, 1);
    ck_assert_uint_eq(vdm_dev_config_generation(&dev), 1);
}
END_TEST

START_TEST(needs_reset_sticky_until_reset)
{
    go_live(VDM_F_VERSION_1);
    int errors = hs.errors;
    vdm_dev_needs_reset(&dev, VDM_EPROTO, "bad thing");
    ck_assert_uint_eq(vdm_dev_status(&dev),
                      S_ALL | VDM_STATUS_DEVICE_NEEDS_RESET);
    ck_assert_int_eq(hs.notify_config, 1);
    ck_assert_int_eq(hs.errors, errors + 1);
    ck_assert_str_eq(hs.last_msg, "bad thing");
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
    /* Again: logged, no second notification. */
    vdm_dev_needs_reset(&dev, VDM_EPROTO, "again");
    ck_assert_int_eq(hs.notify_config, 1);
    /* A status write without the bit does not clear it. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL | VDM_STATUS_FAILED), 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    /* Notifications are ignored now. */
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    ck_assert_int_eq(fk.notifies, 0);
    /* Only reset clears it. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(vdm_dev_live(&dev), 1);
}
END_TEST

/* Regression (issue 10, bug 7): spec "Device Reset": the driver writes 0
 * and waits until it reads 0 back (Linux vp_reset()/vm_reset() poll the
 * status). A host fault reported while the device is in reset must not
 * make the status non-zero, or that poll never ends. */
START_TEST(needs_reset_in_reset_state_keeps_status_0)
{
    int errors = hs.errors;
    vdm_dev_needs_reset(&dev, VDM_EIO, "fault in reset state");
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    ck_assert_int_eq(hs.errors, errors + 1); /* still reported to the host */
    ck_assert_int_eq(hs.notify_config, 0);
    /* After a reset of a live device, too. */
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    vdm_dev_needs_reset(&dev, VDM_EIO, "fault after reset");
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    ck_assert_int_eq(hs.notify_config, 0);
    /* The device comes up normally afterwards. */
    go_live(VDM_F_VERSION_1);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
}
END_TEST

START_TEST(needs_reset_before_driver_ok)
{
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    vdm_dev_needs_reset(&dev, VDM_EIO, NULL);
    ck_assert_uint_eq(vdm_dev_status(&dev),
                      S_ADF | VDM_STATUS_DEVICE_NEEDS_RESET);
    ck_assert_int_eq(hs.notify_config, 0); /* DRIVER_OK not set */
    ck_assert_int_gt(hs.errors, 0);
    /* The device cannot go live any more. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), VDM_ESTATE);
    ck_assert_int_eq(fk.driver_oks, 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Queue registers and notifications without rings */

START_TEST(queue_regs_before_driver_ok)
{
    uint64_t a, b, c;
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 2, 64), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 2), 64);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 2, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 2, QMAX + 1), VDM_EINVAL);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 2), 64);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, NQ, 64), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0xffff, 64), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 2, 0xfedcba9876543210ull,
                                            0x1122334455667788ull, 0x40),
                     0);
    ck_assert_int_eq(vdm_dev_queue_get_addr(&dev, 2, &a, &b, &c), 0);
    ck_assert_uint_eq(a, 0xfedcba9876543210ull);
    ck_assert_uint_eq(b, 0x1122334455667788ull);
    ck_assert_uint_eq(c, 0x40);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, NQ, 0, 0, 0), VDM_ERANGE);
    /* Other queues untouched. */
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), QMAX);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 3), QMAX);
}
END_TEST

START_TEST(queue_regs_refused_after_driver_ok)
{
    go_live(VDM_F_VERSION_1 | (VDM_F_RING_ALL & VDM_F_RING_RESET));
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 64), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 0, 0x1000, 0x2000, 0x3000),
                     VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 0), QMAX);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
}
END_TEST

START_TEST(queue_regs_accepted_after_ring_reset)
{
    go_live(VDM_F_VERSION_1 | VDM_F_RING_RESET);
    ck_assert_int_eq(vdm_dev_queue_reset(&dev, 1), 0);
    ck_assert_int_eq(fk.queue_resets, 0); /* was not enabled */
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 64), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 1, 0x1000, 0x2000, 0x3000),
                     0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 64);
    /* Only for the queue that was reset. */
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 64), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_reset(&dev, NQ), VDM_ERANGE);
}
END_TEST

START_TEST(queue_reset_refused_without_ring_reset)
{
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(vdm_dev_queue_reset(&dev, 1), VDM_ENOTSUP);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 64), VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), QMAX);
}
END_TEST

/* VDM_CONFIG_LOG_TEXT and VDM_CONFIG_LOG_LEVEL (vdm/config.h): the
 * library's own messages reach the log hook as a text with a plain level,
 * or (LOG_TEXT 0) as no text and an event code naming this library's
 * src/device.c (file number 1) above the level; a text a device or the
 * host hands to vdm_dev_log()/vdm_dev_needs_reset() stays a text in both.
 * A message of a level above VDM_CONFIG_LOG_LEVEL never reaches the hook,
 * and what it reports still happens (the write refused); errors always do.
 * Runs in every profile (split-only builds errors only). */
START_TEST(log_text_follows_config)
{
    go_live(VDM_F_VERSION_1);
    /* a status write clearing bits: refused, and the device core warns */
    int logs = hs.logs;
    ck_assert_int_lt(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
    if (UT_LOG_ON(VDM_LOG_WARN)) {
        ck_assert_int_eq(hs.logs, logs + 1);
        ck_assert_int_eq(VDM_LOG_LEVEL(hs.last_level), VDM_LOG_WARN);
#if VDM_CONFIG_LOG_TEXT
        ck_assert_ptr_nonnull(hs.last_msg);
        ck_assert_uint_eq(VDM_LOG_EVENT(hs.last_level), 0);
#else
        ck_assert_ptr_null(hs.last_msg);
        ck_assert_uint_eq(VDM_LOG_EVENT(hs.last_level) >> 12, 1);
        ck_assert_uint_ne(VDM_LOG_EVENT(hs.last_level) & 0xfffu, 0);
#endif
    } else {
        ck_assert_int_eq(hs.logs, logs); /* left out of the build */
    }
    logs = hs.logs;
    vdm_dev_log(&dev, VDM_LOG_INFO, "host text");
    if (UT_LOG_ON(VDM_LOG_INFO)) {
        ck_assert_str_eq(hs.last_msg, "host text");
        ck_assert_int_eq(hs.last_level, VDM_LOG_INFO);
    } else {
        ck_assert_int_eq(hs.logs, logs);
    }
    logs = hs.logs;
    vdm_dev_needs_reset(&dev, VDM_EPROTO, "bad thing");
    ck_assert_uint_eq(vdm_dev_status(&dev),
                      S_ALL | VDM_STATUS_DEVICE_NEEDS_RESET);
    /* errors are always built in */
    ck_assert_int_eq(hs.logs, logs + 1);
    ck_assert_str_eq(hs.last_msg, "bad thing");
    ck_assert_int_eq(hs.last_level, VDM_LOG_ERROR);
}
END_TEST

/* The profile (vdm/config.h) as the library sees it: the device offers the
 * ring features built in and refuses to offer one left out (it could not
 * honour it); a left-out one cannot be negotiated and its queue reset is
 * refused. Runs in every
 * profile, so a profile build cannot pass by skipping. */
/* A translate hook that maps nothing. */
static int hook_translate_none(void *host, uint64_t addr, uint64_t len,
                               uint32_t access, void **hva, uint64_t *maplen)
{
    (void)host;
    (void)addr;
    (void)len;
    (void)access;
    (void)hva;
    (void)maplen;
    return VDM_EFAULT;
}

START_TEST(profile_features_follow_config)
{
    static const uint64_t bits[] = {
        VDM_F_INDIRECT_DESC, VDM_F_EVENT_IDX,         VDM_F_RING_PACKED,
        VDM_F_IN_ORDER,      VDM_F_NOTIFICATION_DATA, VDM_F_RING_RESET,
    };
    uint64_t f = vdm_dev_device_features(&dev);

    ck_assert_uint_eq(f & UT_RING_OPTIONAL, VDM_F_RING_ALL);
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        struct vdm_dev_config c = base_cfg();
        struct vdm_dev d2;
        c.features = bits[i];
        ck_assert_int_eq(vdm_dev_init(&d2, &c),
                         (VDM_F_RING_ALL & bits[i]) != 0 ? 0 : VDM_EINVAL);
    }
    {
        /* The memory hooks (VDM_CONFIG_MEM_HOOKS): memory with a translate
         * hook is refused at init when the build left them out. */
        struct vdm_mem_ops mops = VDM_INIT(struct vdm_mem_ops);
        struct vdm_mem m2 = mem;
        struct vdm_dev_config c = base_cfg();
        struct vdm_dev d2;
        mops.translate = hook_translate_none;
        m2.ops = &mops;
        c.mem = &m2;
        ck_assert_int_eq(vdm_dev_init(&d2, &c),
                         VDM_CONFIG_MEM_HOOKS ? 0 : VDM_ENOTSUP);
    }
    if ((VDM_F_RING_ALL & VDM_F_RING_RESET) == 0) {
        /* Asked for anyway: refused at FEATURES_OK, no queue reset. */
        ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | VDM_F_RING_RESET),
                         VDM_ESTATE);
        ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
        go_live(VDM_F_VERSION_1);
        ck_assert_int_eq(vdm_dev_queue_reset(&dev, 1), VDM_ENOTSUP);
    }
}
END_TEST

/* The facility options of vdm/config.h (VDM_CONFIG_SUSPEND, DIRTY_LOG,
 * STATE) in every profile: built in, they work; left out, the device never
 * offers what it cannot do (spec "Feature Bits": a device MUST NOT offer a
 * feature it cannot honour; "Device Suspend": SUSPEND without
 * VIRTIO_F_SUSPEND is not a bit the driver may set) and the API answers
 * VDM_ENOTSUP. */
START_TEST(profile_options_follow_config)
{
    uint8_t bits[8] = {0};
    struct vdm_dirty_log log = VDM_INIT(struct vdm_dirty_log);
    uint8_t img[4096];

    {
        struct vdm_dev_config c = base_cfg();
        struct vdm_dev d2;
        c.features = VDM_F_SUSPEND;
        ck_assert_int_eq(vdm_dev_init(&d2, &c),
                         VDM_CONFIG_SUSPEND ? 0 : VDM_ENOTSUP);
        ck_assert_uint_eq(vdm_kit_features(0, VDM_F_SUSPEND, 0) &
                              VDM_F_SUSPEND,
                          VDM_CONFIG_SUSPEND ? VDM_F_SUSPEND : 0);
    }
    /* SUSPEND never offered here: the bit is unknown, ignored, whatever
     * the build. */
    go_live(VDM_F_VERSION_1);
    ck_assert_int_eq(vdm_dev_set_status(&dev, (uint8_t)(vdm_dev_status(&dev) |
                                                       VDM_STATUS_SUSPEND)),
                     VDM_ESTATE);
    ck_assert_uint_eq(vdm_dev_status(&dev) & VDM_STATUS_SUSPEND, 0);
    ck_assert_int_eq(vdm_dev_suspending(&dev), 0);
    ck_assert_int_eq(vdm_dev_suspend_poll(&dev), 0);
    ck_assert_int_eq(vdm_dev_suspend_poll(NULL), VDM_EINVAL);

    log.page_shift = 12;
    log.bytes = sizeof(bits);
    log.bitmap = bits;
    ck_assert_int_eq(vdm_dirty_log_check(&log),
                     VDM_CONFIG_DIRTY_LOG ? 0 : VDM_ENOTSUP);
    ck_assert_int_eq(vdm_dirty_mark(&log, 0, 1),
                     VDM_CONFIG_DIRTY_LOG ? 0 : VDM_ENOTSUP);
    ck_assert_uint_eq(bits[0], VDM_CONFIG_DIRTY_LOG ? 1u : 0u);
    {
        struct vdm_mem m2 = mem;
        struct vdm_dev_config c = base_cfg();
        struct vdm_dev d2;
        m2.log = &log;
        c.mem = &m2;
        ck_assert_int_eq(vdm_mem_check(&m2),
                         VDM_CONFIG_DIRTY_LOG ? 0 : VDM_ENOTSUP);
        ck_assert_int_eq(vdm_dev_init(&d2, &c),
                         VDM_CONFIG_DIRTY_LOG ? 0 : VDM_ENOTSUP);
        ck_assert_int_eq(vdm_mem_log_iov(&m2, NULL, 0, 0, 0),
                         VDM_CONFIG_DIRTY_LOG ? 0 : VDM_ENOTSUP);
    }

    if (VDM_CONFIG_STATE) {
        ck_assert_uint_gt(vdm_dev_state_size(&dev), 0);
        ck_assert_uint_le(vdm_dev_state_size(&dev), sizeof(img));
        ck_assert_int_gt(vdm_dev_save(&dev, img, sizeof(img)), 0);
    } else {
        uint8_t st = vdm_dev_status(&dev);
        ck_assert_uint_eq(vdm_dev_state_size(&dev), 0);
        ck_assert_int_eq(vdm_dev_save(&dev, img, sizeof(img)), VDM_ENOTSUP);
        ck_assert_int_eq(vdm_dev_restore(&dev, img, sizeof(img)),
                         VDM_ENOTSUP);
        ck_assert_uint_eq(vdm_dev_status(&dev), st); /* untouched */
    }
}
END_TEST

START_TEST(queue_notify_ignored)
{
    int logs = hs.logs;
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, NQ, 0), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0xffff, 0), VDM_ERANGE);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    /* Live, but queue 0 was never enabled. */
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, NQ, 0), VDM_ERANGE);
    ck_assert_int_eq(fk.notifies, 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_int_ge(hs.logs, logs + 5));
    /* Nothing to notify used buffers for either. */
    ck_assert_int_eq(vdm_dev_notify_used(&dev, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_notify_used(&dev, NQ), VDM_ERANGE);
    ck_assert_int_eq(hs.notify_queue, 0);
}
END_TEST

START_TEST(queue_enable_needs_features_ok)
{
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, NQ), VDM_ERANGE);
    ck_assert_uint_eq(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(queue_enable_split_size_not_power_of_2)
{
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 48), 0);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

/* Regression (issue 10, bug 4): spec "Split Virtqueues": "Queue Size value
 * is always a power of 2" (Linux: "Bad virtqueue length" and probe fails),
 * while a packed ring may have any size up to 32768. With a host maximum of
 * 1000 the device presents 512 unless RING_PACKED is negotiated. */
START_TEST(queue_size_max_power_of_2_for_split)
{
    static uint32_t big_slots[VDM_DEV_SLOTS(NQ, 1000)];
    struct vdm_dev_config c = base_cfg();
    c.queue_size_max = 1000;
    c.slots = big_slots;
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    /* Reset state: nothing negotiated yet, so split rules. */
    ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, 0), 512);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 0), 512);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, 1), 512);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 512);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 1000), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 513), VDM_EINVAL);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 256), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 256);
    /* Packed: the whole host maximum. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 512);
    UT_NEEDS(VDM_F_RING_PACKED); /* the rest is about packed rings */
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1 | VDM_F_RING_PACKED), 0);
    ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, 1), 1000);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 1000);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 1000), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 1, 999), 0);
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 1), 999);
    ck_assert_uint_eq(vdm_dev_queue_size_max(&dev, NQ), 0);
}
END_TEST

START_TEST(queue_enable_rings_outside_memory)
{
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 8), 0);
    /* Past the end of the only region. */
    uint64_t out = GUEST_GPA + GUEST_SIZE;
    ck_assert_int_eq(
        vdm_dev_queue_set_addr(&dev, 0, out, out + 0x1000, out + 0x2000), 0);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    int errors = hs.errors;
    int rc = vdm_dev_queue_enable(&dev, 0);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    ck_assert_int_gt(hs.errors, errors);
    /* A ring straddling the end of memory too (used ring of 8 is 70 bytes). */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 8), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 0, GUEST_GPA,
                                            GUEST_GPA + 0x1000,
                                            GUEST_GPA + GUEST_SIZE - 32),
                     0);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    ck_assert_int_lt(vdm_dev_queue_enable(&dev, 0), 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

START_TEST(queue_state_saved_before_enable)
{
    struct vdm_vq_state s;
    ck_assert_int_eq(vdm_dev_queue_get_state(&dev, 0, &s), 0);
    ck_assert_uint_eq(s.last_avail_idx, 0);
    ck_assert_uint_eq(s.used_idx, 0);
    ck_assert_uint_eq(s.avail_wrap, 1);
    ck_assert_uint_eq(s.used_wrap, 1);
    memset(&s, 0, sizeof(s));
    s.last_avail_idx = 7;
    s.used_idx = 5;
    s.avail_wrap = 0;
    s.used_wrap = 1;
    ck_assert_int_eq(vdm_dev_queue_set_state(&dev, 1, &s), 0);
    memset(&s, 0xff, sizeof(s));
    ck_assert_int_eq(vdm_dev_queue_get_state(&dev, 1, &s), 0);
    ck_assert_uint_eq(s.last_avail_idx, 7);
    ck_assert_uint_eq(s.used_idx, 5);
    ck_assert_uint_eq(s.avail_wrap, 0);
    ck_assert_uint_eq(s.used_wrap, 1);
    ck_assert_uint_eq(s.reserved, 0);
    s.avail_wrap = 2;
    ck_assert_int_eq(vdm_dev_queue_set_state(&dev, 1, &s), VDM_EINVAL);
    s.avail_wrap = 1;
    ck_assert_int_eq(vdm_dev_queue_set_state(&dev, NQ, &s), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_queue_get_state(&dev, NQ, &s), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_queue_set_state(&dev, 1, NULL), VDM_EINVAL);
    /* Reset forgets it. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_queue_get_state(&dev, 1, &s), 0);
    ck_assert_uint_eq(s.last_avail_idx, 0);
}
END_TEST

START_TEST(no_hooks_no_crash)
{
    /* A class with only queue_notify and no host ops at all. */
    struct vdm_device_class bare = {
        .size = sizeof(struct vdm_device_class),
        .max_queues = 1,
        .queue_notify = fake_queue_notify,
    };
    struct vdm_dev_config c = base_cfg();
    uint8_t buf[4];
    c.cls = &bare;
    c.num_queues = 1;
    c.ops = NULL;
    c.features = 0;
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    ck_assert_uint_eq(vdm_dev_config_size(&dev), 0);
    ck_assert_int_eq(vdm_dev_config_read(&dev, 0, buf, 1), VDM_ERANGE);
    ck_assert_int_eq(vdm_dev_config_write(&dev, 0, buf, 0), VDM_ENOTSUP);
    go_live(VDM_F_VERSION_1);
    vdm_dev_config_changed(&dev);
    vdm_dev_log(&dev, VDM_LOG_INFO, "hello");
    vdm_dev_needs_reset(&dev, VDM_EIO, "x");
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0x20), VDM_ESTATE);
    /* Short host ops table: hooks past its size are not called. */
    struct vdm_host_ops shortops = host_ops;
    shortops.size = (uint32_t)offsetof(struct vdm_host_ops, notify_config);
    c = base_cfg();
    c.ops = &shortops;
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    go_live(VDM_F_VERSION_1);
    vdm_dev_config_changed(&dev);
    ck_assert_int_eq(hs.notify_config, 0);
    vdm_dev_log(&dev, VDM_LOG_INFO, "hello");
    ck_assert_int_eq(hs.logs, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* With the driver simulator: real rings                                     */

static struct drv_vq dq;

/* Full bring-up of queue 0 as a spec driver does it. */
static void sim_bringup(uint64_t features, uint16_t num)
{
    fake_cls.queue_notify = echo_queue_notify;
    struct vdm_dev_config c = base_cfg();
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    vdm_dev_bind(&dev, &tp_ops, &tp);

    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, VDM_STATUS_ACKNOWLEDGE), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_AD), 0);
    ut_need(features, "sim_bringup");
    ck_assert_uint_eq(vdm_dev_device_features(&dev) & features, features);
    ck_assert_int_eq(vdm_dev_set_driver_features(&dev, features), 0);
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ADF), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ADF);

    ck_assert_int_eq(drv_vq_init(&dq, &guest, num, features), 0);
    ck_assert_uint_ge(vdm_dev_queue_size_max(&dev, 0), num);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, num), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 0, drv_vq_desc_gpa(&dq),
                                            drv_vq_driver_gpa(&dq),
                                            drv_vq_device_gpa(&dq)),
                     0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), 0);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 1);
    /* Not live yet: the device may not touch the queue. */
    ck_assert_ptr_null(vdm_dev_queue(&dev, 0));
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL), 0);
    ck_assert_ptr_eq(vdm_dev_queue(&dev, 0), &queues[0]);
}

/* Driver sends "ping", device answers "ok:ping". */
static void sim_roundtrip(const char *msg)
{
    uint64_t out = drv_alloc(&guest, 64, 16);
    uint64_t in = drv_alloc(&guest, 64, 16);
    size_t n = strlen(msg);
    memcpy(drv_gpa(&guest, out, 64), msg, n);
    struct drv_buf ob = {out, (uint32_t)n};
    struct drv_buf ib = {in, 64};
    int tp_before = tp.notify_queue;
    int pushed = fk.pushed;

    int id = drv_vq_add(&dq, &ob, 1, &ib, 1, DRV_ADD_DIRECT, (void *)msg);
    ck_assert_int_ge(id, 0);
    drv_vq_publish(&dq);
    ck_assert_int_eq(drv_vq_kick_needed(&dq), 1);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, drv_vq_next_off_wrap(&dq)),
                     0);
    ck_assert_int_eq(fk.last_notify_q, 0);
    ck_assert_int_eq(fk.pushed, pushed + 1);
    ck_assert_uint_eq(fk.got_len, n);
    ck_assert_mem_eq(fk.got, msg, n);
    ck_assert_int_eq(drv_vq_interrupt_expected(&dq), 1);
    ck_assert_int_eq(fk.notify_rc, 1);
    ck_assert_int_eq(tp.notify_queue, tp_before + 1);
    ck_assert_int_eq(tp.last_q, 0);
    ck_assert_int_eq(hs.notify_queue, 0); /* the transport took it */

    uint32_t uid, len;
    void *cookie;
    ck_assert_int_eq(drv_vq_get_used(&dq, &uid, &len, &cookie), 1);
    ck_assert_uint_eq(uid, (uint32_t)id);
    ck_assert_uint_eq(len, n + 3);
    ck_assert_ptr_eq(cookie, msg);
    ck_assert_mem_eq(drv_gpa(&guest, in, 3), "ok:", 3);
    ck_assert_mem_eq((uint8_t *)drv_gpa(&guest, in, 3 + n) + 3, msg, n);
    ck_assert_ptr_null(drv_vq_error(&dq));
}

START_TEST(sim_split_buffer_roundtrip)
{
    sim_bringup(VDM_F_VERSION_1, 8);
    sim_roundtrip("ping");
    sim_roundtrip("second buffer");
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_packed_buffer_roundtrip)
{
    sim_bringup(VDM_F_VERSION_1 | VDM_F_RING_PACKED, 6);
    sim_roundtrip("ping");
    sim_roundtrip("packed again");
    ck_assert_uint_eq(vdm_dev_status(&dev), S_ALL);
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_suppressed_notification_not_sent)
{
    sim_bringup(VDM_F_VERSION_1, 8);
    drv_vq_disable_cb(&dq);
    uint64_t out = drv_alloc(&guest, 16, 16);
    struct drv_buf ob = {out, 4};
    ck_assert_int_ge(drv_vq_add(&dq, &ob, 1, NULL, 0, DRV_ADD_DIRECT, NULL), 0);
    drv_vq_publish(&dq);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), 0);
    ck_assert_int_eq(fk.pushed, 1);
    ck_assert_int_eq(fk.notify_rc, 0);
    ck_assert_int_eq(drv_vq_interrupt_expected(&dq), 0);
    ck_assert_int_eq(tp.notify_queue, 0);
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_device_reset_tears_queues_down)
{
    sim_bringup(VDM_F_VERSION_1, 8);
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_int_eq(fk.queue_resets, 1);
    ck_assert_int_eq(fk.last_reset_q, 0);
    ck_assert_int_eq(fk.resets, 2); /* one in sim_bringup */
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
    ck_assert_ptr_null(vdm_dev_queue(&dev, 0));
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 0), QMAX);
    /* Bring it up again on fresh rings. */
    drv_vq_fini(&dq);
    drv_alloc_reset(&guest);
    sim_bringup(VDM_F_VERSION_1, 8);
    sim_roundtrip("after reset");
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_ring_reset_and_reenable)
{
    sim_bringup(VDM_F_VERSION_1 | VDM_F_RING_RESET, 8);
    sim_roundtrip("before");
    /* Registers cannot change while the queue is enabled. */
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 4), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_reset(&dev, 0), 0);
    ck_assert_int_eq(fk.queue_resets, 1);
    ck_assert_int_eq(vdm_dev_queue_enabled(&dev, 0), 0);
    ck_assert_ptr_null(vdm_dev_queue(&dev, 0));
    ck_assert_uint_eq(vdm_dev_queue_size(&dev, 0), QMAX);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    /* Re-enable with new rings and a new size, while DRIVER_OK. */
    drv_vq_fini(&dq);
    ck_assert_int_eq(drv_vq_init(&dq, &guest, 4, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 4), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 0, drv_vq_desc_gpa(&dq),
                                            drv_vq_driver_gpa(&dq),
                                            drv_vq_device_gpa(&dq)),
                     0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), 0);
    ck_assert_ptr_nonnull(vdm_dev_queue(&dev, 0));
    sim_roundtrip("after");
    /* Window closed again. */
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 2), VDM_ESTATE);
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_ring_violation_sets_needs_reset)
{
    sim_bringup(VDM_F_VERSION_1, 8);
    /* The driver claims 100 buffers on a queue of 8. */
    drv_vq_raw_avail_idx(&dq, 100);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), 0);
    ck_assert_int_lt(fk.pop_rc, 0);
    ck_assert_uint_ne(vdm_dev_status(&dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    ck_assert_int_eq(tp.notify_config, 1);
    ck_assert_ptr_null(vdm_dev_queue(&dev, 0));
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    /* Reset recovers. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    ck_assert_uint_eq(vdm_dev_status(&dev), 0);
    drv_vq_fini(&dq);
}
END_TEST

/* Regression (issue 10, bug 6): spec "Device Status Field": FAILED means
 * the driver gave up on the device (Linux sets it on probe failure and
 * frees the rings). The device is not live any more: no ring access, no
 * notification handled, no used-buffer notification sent. */
START_TEST(sim_failed_stops_device)
{
    sim_bringup(VDM_F_VERSION_1, 8);
    sim_roundtrip("before");
    ck_assert_int_eq(vdm_dev_set_status(&dev, S_ALL | VDM_STATUS_FAILED), 0);
    ck_assert_int_eq(vdm_dev_live(&dev), 0);
    ck_assert_ptr_null(vdm_dev_queue(&dev, 0));
    ck_assert_int_eq(vdm_dev_notify_used(&dev, 0), VDM_ESTATE);
    /* A buffer the driver posted is not parsed. */
    uint64_t out = drv_alloc(&guest, 16, 16);
    struct drv_buf ob = {out, 4};
    int popped = fk.popped;
    ck_assert_int_ge(drv_vq_add(&dq, &ob, 1, NULL, 0, DRV_ADD_DIRECT, NULL), 0);
    drv_vq_publish(&dq);
    ck_assert_int_eq(vdm_dev_queue_notify(&dev, 0, 0), VDM_ESTATE);
    ck_assert_int_eq(fk.popped, popped);
    /* A reset brings it back. */
    ck_assert_int_eq(vdm_dev_set_status(&dev, 0), 0);
    drv_vq_fini(&dq);
    drv_alloc_reset(&guest);
    sim_bringup(VDM_F_VERSION_1, 8);
    sim_roundtrip("after");
    drv_vq_fini(&dq);
}
END_TEST

START_TEST(sim_saved_state_applied_at_enable)
{
    fake_cls.queue_notify = echo_queue_notify;
    struct vdm_dev_config c = base_cfg();
    ck_assert_int_eq(vdm_dev_init(&dev, &c), 0);
    ck_assert_int_eq(negotiate(VDM_F_VERSION_1), 0);
    ck_assert_int_eq(drv_vq_init(&dq, &guest, 8, VDM_F_VERSION_1), 0);
    ck_assert_int_eq(vdm_dev_queue_set_size(&dev, 0, 8), 0);
    ck_assert_int_eq(vdm_dev_queue_set_addr(&dev, 0, drv_vq_desc_gpa(&dq),
                                            drv_vq_driver_gpa(&dq),
                                            drv_vq_device_gpa(&dq)),
                     0);
    struct vdm_vq_state s;
    memset(&s, 0, sizeof(s));
    s.last_avail_idx = 3;
    s.used_idx = 3;
    s.avail_wrap = 1;
    s.used_wrap = 1;
    ck_assert_int_eq(vdm_dev_queue_set_state(&dev, 0, &s), 0);
    ck_assert_int_eq(vdm_dev_queue_enable(&dev, 0), 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(vdm_dev_queue_get_state(&dev, 0, &s), 0);
    ck_assert_uint_eq(s.last_avail_idx, 3);
    ck_assert_uint_eq(s.used_idx, 3);
    drv_vq_fini(&dq);
}
END_TEST

static Suite *device_suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, init_rejects_bad_config);
    tcase_add_test(tc, init_rejects_bad_offer);
    tcase_add_test(tc, init_rejects_unhonourable_generic_features);
    tcase_add_test(tc, init_reset_state);
    tcase_add_test(tc, status_normal_bringup);
    tcase_add_test(tc, status_all_bits_in_one_write);
    tcase_add_test(tc, status_clearing_bit_ignored);
    tcase_add_test(tc, status_driver_needs_acknowledge);
    tcase_add_test(tc, status_driver_ok_needs_features_ok);
    tcase_add_test(tc, status_features_ok_refused_unoffered);
    tcase_add_test(tc, status_features_ok_refused_without_version_1);
    tcase_add_test(tc, status_features_ok_refused_broken_class_dep);
    tcase_add_test(tc, status_features_ok_vetoed_by_hook);
    tcase_add_test(tc, status_driver_cannot_set_needs_reset);
    tcase_add_test(tc, status_failed_recorded);
    tcase_add_test(tc, driver_features_window);
    tcase_add_test(tc, reset_clears_everything);
    tcase_add_test(tc, config_read_write_bounds);
    tcase_add_test(tc, config_read_only_class);
    tcase_add_test(tc, config_changed_notifies);
    tcase_add_test(tc, config_changed_during_init_notified_at_driver_ok);
    tcase_add_test(tc, needs_reset_sticky_until_reset);
    tcase_add_test(tc, needs_reset_before_driver_ok);
    tcase_add_test(tc, needs_reset_in_reset_state_keeps_status_0);
    tcase_add_test(tc, queue_regs_before_driver_ok);
    tcase_add_test(tc, queue_regs_refused_after_driver_ok);
    tcase_add_test(tc, queue_regs_accepted_after_ring_reset);
    tcase_add_test(tc, queue_reset_refused_without_ring_reset);
    tcase_add_test(tc, profile_features_follow_config);
    tcase_add_test(tc, profile_options_follow_config);
    tcase_add_test(tc, log_text_follows_config);
    tcase_add_test(tc, queue_notify_ignored);
    tcase_add_test(tc, queue_enable_needs_features_ok);
    tcase_add_test(tc, queue_enable_split_size_not_power_of_2);
    tcase_add_test(tc, queue_size_max_power_of_2_for_split);
    tcase_add_test(tc, queue_state_saved_before_enable);
    tcase_add_test(tc, no_hooks_no_crash);
    suite_add_tcase(s, tc);

    TCase *sim = tcase_create("driver_sim");
    tcase_add_checked_fixture(sim, setup, teardown);
    tcase_add_test(sim, queue_enable_rings_outside_memory);
    tcase_add_test(sim, sim_split_buffer_roundtrip);
    tcase_add_test(sim, sim_packed_buffer_roundtrip);
    tcase_add_test(sim, sim_suppressed_notification_not_sent);
    tcase_add_test(sim, sim_device_reset_tears_queues_down);
    tcase_add_test(sim, sim_ring_reset_and_reenable);
    tcase_add_test(sim, sim_ring_violation_sets_needs_reset);
    tcase_add_test(sim, sim_saved_state_applied_at_enable);
    tcase_add_test(sim, sim_failed_stops_device);
    suite_add_tcase(s, sim);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(device_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
