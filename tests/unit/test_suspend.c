/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIRTIO_F_SUSPEND: the SUSPEND bit of the device status, directly and
 * through the MMIO and PCI transports (the device status register of
 * each), on a device-kit device with one asynchronous queue (requests held
 * by the "host" until the test finishes them) and one synchronous queue.
 *
 * Spec (VIRTIO 1.4): "Device Status Field" (SUSPEND 16), "Reserved Feature
 * Bits" (VIRTIO_F_SUSPEND 43), "Device Suspend" and its driver and device
 * requirements, "Device Reset".
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/kit.h"
#include "vdm/state.h"

#define QMAX    32
#define PER     8
#define KD_ID   63u
#define CFG_LEN 8u

#define S_ACK       VDM_STATUS_ACKNOWLEDGE
#define S_DRV       VDM_STATUS_DRIVER
#define S_FOK       VDM_STATUS_FEATURES_OK
#define S_DOK       VDM_STATUS_DRIVER_OK
#define S_SUSP      VDM_STATUS_SUSPEND
#define S_NR        VDM_STATUS_DEVICE_NEEDS_RESET
#define S_LIVE      (S_ACK | S_DRV | S_FOK | S_DOK)
#define S_SUSPENDED (S_ACK | S_DRV | S_FOK | S_SUSP)

/* No EVENT_IDX: every used buffer raises its notification, counted. */
#define SPLIT (VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC)

struct kd {
    struct vdm_kit kit;
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(2, PER,
                                                       VDM_KIT_SLOT_BYTES(0))];
    struct vdm_iov iovs[VDM_KIT_IOVS(2, PER, 2)];
    uintptr_t held[PER];
    unsigned nheld, served[2];
    int suspend_calls[2]; /* class hook calls with on = 0, 1 */
    int fail_suspend, fail_resume;
    uint8_t config[CFG_LEN];
    unsigned config_writes;
};

static struct dh h;
static struct kd kd;

/* Queue 0: held by the "host" until the test finishes it. */
static int kd_serve_async(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct kd *k = ctx;
    (void)written;
    k->served[0]++;
    ck_assert_uint_lt(k->nheld, PER);
    k->held[k->nheld++] = vdm_kit_token(&k->kit, r);
    return VDM_KIT_PENDING;
}

/* Queue 1: answers "OK" at once. */
static int kd_serve_sync(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct kd *k = ctx;
    k->served[1]++;
    *written = (uint32_t)vdm_chain_copy_to(&r->chain, 0, "OK", 2);
    return VDM_KIT_DONE;
}

static const struct vdm_kit_queue kd_queues[] = {
    {.serve = kd_serve_async,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = 1,
     .status_err = {0xee}},
    {.serve = kd_serve_sync,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 2,
     .status_err = {0xab, 0xcd}},
};

static void kd_notify(struct vdm_dev *d, uint16_t q)
{
    struct kd *k = vdm_dev_priv(d);
    (void)vdm_kit_run(&k->kit, q);
}

static void kd_reset(struct vdm_dev *d)
{
    struct kd *k = vdm_dev_priv(d);
    vdm_kit_reset(&k->kit, UINT16_MAX);
    k->nheld = 0;
}

static void kd_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct kd *k = vdm_dev_priv(d);
    vdm_kit_reset(&k->kit, q);
}

static int kd_suspend(struct vdm_dev *d, int on)
{
    struct kd *k = vdm_dev_priv(d);
    k->suspend_calls[on != 0]++;
    if (on && k->fail_suspend)
        return VDM_EIO;
    if (!on && k->fail_resume)
        return VDM_EIO;
    return 0;
}

static void kd_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                           uint32_t len)
{
    struct kd *k = vdm_dev_priv(d);
    memcpy(buf, k->config + off, len);
}

static void kd_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                            uint32_t len)
{
    struct kd *k = vdm_dev_priv(d);
    memcpy(k->config + off, buf, len);
    k->config_writes++;
}

static const struct vdm_device_class kd_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = KD_ID,
    .name = "suspend-test",
    .config_size = CFG_LEN,
    .max_queues = 2,
    .reset = kd_reset,
    .queue_notify = kd_notify,
    .queue_reset = kd_queue_reset,
    .config_read = kd_config_read,
    .config_write = kd_config_write,
    .suspend = kd_suspend,
};

/* A device offering what the host asks for (@p host_bits). */
static void make(uint64_t host_bits)
{
    struct dh_opts o = {.num_queues = 2, .qsize = QMAX};
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;

    memset(&kd, 0, sizeof(kd));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    kc.num_queues = 2;
    kc.nqdesc = 2;
    kc.queues = kd_queues;
    kc.ctx = &kd;
    kc.slots = kd.slots;
    kc.iovs = kd.iovs;
    kc.slot_bytes = VDM_KIT_SLOT_BYTES(0);
    kc.per_queue = PER;
    kc.iov_per_req = 2;
    ck_assert_int_eq(vdm_kit_init(&kd.kit, &h.dev, &kc), 0);
    dc = h.base;
    dc.cls = &kd_class;
    dc.priv = &kd;
    dc.features = vdm_kit_features(0, host_bits, 0);
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
}

static void start(uint64_t want)
{
    make(VDM_F_SUSPEND);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT | want, 2), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
}

static void teardown(void)
{
    dh_fini(&h);
}

struct req {
    uint64_t rd, wr;
    int id;
};

static void add(uint16_t q, struct req *r)
{
    struct drv_buf rb, wb;

    r->rd = dh_alloc(&h, 16, 16);
    r->wr = dh_alloc(&h, 16, 16);
    memset(dh_ptr(&h, r->rd, 16), 0x11, 16);
    memset(dh_ptr(&h, r->wr, 16), 0x5a, 16);
    rb = (struct drv_buf){r->rd, 16};
    wb = (struct drv_buf){r->wr, 16};
    r->id = drv_vq_add(dh_vq(&h, q), &rb, 1, &wb, 1, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(r->id, 0);
}

static uint32_t used_one(uint16_t q, int id)
{
    uint32_t uid, len;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), &uid, &len, NULL), 1);
    ck_assert_uint_eq(uid, (uint32_t)id);
    return len;
}

static void no_used(uint16_t q)
{
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, q), NULL, NULL, NULL), 0);
}

/* One synchronous round trip on queue 1, with its interrupt. */
static void sync_round_trip(void)
{
    struct req r;
    unsigned irq = h.irq_queue[1];

    add(1, &r);
    (void)dh_kick(&h, 1, 1);
    dh_service(&h);
    ck_assert_uint_eq(used_one(1, r.id), 2);
    ck_assert_mem_eq(dh_ptr(&h, r.wr, 2), "OK", 2);
    ck_assert_uint_eq(h.irq_queue[1] - irq, 1);
}

static void finish_held(unsigned i)
{
    struct vdm_kit_req *kr = vdm_kit_lookup(&kd.kit, kd.held[i]);
    ck_assert_ptr_nonnull(kr);
    ck_assert_int_eq(vdm_kit_finish(&kd.kit, kr, 1), 0);
}

/* "Reserved Feature Bits" / "Feature Bits": VIRTIO_F_SUSPEND is offered
 * only when the host asks for it; unasked, nothing changes. */
START_TEST(suspend_offered_only_on_request)
{
    /* unasked (or left out of the build): the bit is unknown, ignored */
    make(0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_F_SUSPEND, 0);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT | VDM_F_SUSPEND, 2), 0);
    ck_assert_uint_eq(h.features & VDM_F_SUSPEND, 0);
    /* The SUSPEND bit is unknown to this device: ignored. */
    (void)dh_set_status(&h, S_LIVE | S_SUSP);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    ck_assert_int_eq(kd.suspend_calls[1], 0);
    sync_round_trip();
    dh_fini(&h);
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    make(VDM_F_SUSPEND);
    ck_assert_uint_ne(vdm_dev_device_features(&h.dev) & VDM_F_SUSPEND, 0);
}
END_TEST

/* "Device Suspend": the device MUST ignore SUSPEND when the feature was
 * not negotiated (offered, refused by the driver). */
START_TEST(suspend_refused_without_feature)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    start(0);
    ck_assert_uint_eq(h.features & VDM_F_SUSPEND, 0);
    (void)dh_set_status(&h, S_LIVE | S_SUSP);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    ck_assert_int_eq(vdm_dev_suspending(&h.dev), 0);
    ck_assert_int_eq(kd.suspend_calls[1], 0);
    sync_round_trip();
}
END_TEST

/* "Device Suspend": the device MUST ignore SUSPEND before it is completely
 * initialised (before DRIVER_OK). */
START_TEST(suspend_ignored_before_driver_ok)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    make(VDM_F_SUSPEND);
    ck_assert_int_eq(dh_negotiate(&h, SPLIT | VDM_F_SUSPEND), 0);
    ck_assert_uint_ne(h.features & VDM_F_SUSPEND, 0);
    (void)dh_set_status(&h, S_ACK | S_DRV | S_FOK | S_SUSP);
    ck_assert_uint_eq(dh_status(&h), S_ACK | S_DRV | S_FOK);
    ck_assert_int_eq(kd.suspend_calls[1], 0);
    ck_assert_int_eq(dh_setup_queue(&h, 0, 0), 0);
    ck_assert_int_eq(dh_setup_queue(&h, 1, 0), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    sync_round_trip();
}
END_TEST

/* "Device Suspend": with nothing in flight the device is suspended at
 * once: SUSPEND reads 1 and DRIVER_OK 0. While suspended it consumes no
 * buffer, sends no used-buffer notification and holds configuration change
 * notices; setting DRIVER_OK resumes it (SUSPEND 0, DRIVER_OK 1), sends the
 * held notice, and the buffers made available meanwhile are served. */
START_TEST(suspend_set_read_back_and_resume)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    struct req r;
    unsigned irq, cfg_irq;

    start(VDM_F_SUSPEND);
    sync_round_trip();
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    ck_assert_int_eq(vdm_dev_suspending(&h.dev), 1);
    ck_assert_int_eq(vdm_dev_suspend_poll(&h.dev), 1);
    ck_assert_int_eq(kd.suspend_calls[1], 1);

    /* A hostile driver adds and notifies anyway: nothing is consumed. */
    irq = h.irq_queue[1];
    cfg_irq = h.irq_config;
    add(1, &r);
    (void)dh_kick(&h, 1, 1);
    dh_service(&h);
    no_used(1);
    ck_assert_uint_eq(kd.served[1], 1);
    ck_assert_uint_eq(h.irq_queue[1], irq);
    /* A config change while suspended: no notice yet. */
    vdm_dev_config_changed(&h.dev);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config, cfg_irq);

    /* Resume: DRIVER_OK set by the driver. */
    ck_assert_int_eq(dh_set_status(&h, S_SUSPENDED | S_DOK), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    ck_assert_int_eq(vdm_dev_suspending(&h.dev), 0);
    ck_assert_int_eq(kd.suspend_calls[0], 1);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config - cfg_irq, 1);
    ck_assert_uint_eq(used_one(1, r.id), 2);
    ck_assert_uint_eq(h.irq_queue[1] - irq, 1);
    sync_round_trip();
}
END_TEST

/* "Device Suspend": the device stops consuming buffers at once, lets what
 * it is processing be used and notified, and only then presents SUSPEND 1
 * with DRIVER_OK 0. */
START_TEST(suspend_waits_for_in_flight)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    struct req a, b, c;
    unsigned irq;

    start(VDM_F_SUSPEND);
    add(0, &a);
    add(0, &b);
    (void)dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.nheld, 2);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    /* Still processing: SUSPEND set, DRIVER_OK not yet cleared. */
    ck_assert_uint_eq(dh_status(&h), S_LIVE | S_SUSP);
    ck_assert_int_eq(vdm_dev_suspend_poll(&h.dev), 0);
    /* No new buffer is taken meanwhile. */
    add(0, &c);
    (void)dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.served[0], 2);
    irq = h.irq_queue[0];
    finish_held(1);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, b.id), 1);
    ck_assert_uint_eq(dh_status(&h), S_LIVE | S_SUSP);
    finish_held(0);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, a.id), 1);
    ck_assert_uint_eq(h.irq_queue[0] - irq, 2);
    /* The last one used and notified: suspended. */
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    no_used(0);
    ck_assert_uint_eq(kd.served[0], 2);
    /* Resume: the third request is taken. */
    ck_assert_int_eq(dh_set_status(&h, S_SUSPENDED | S_DOK), 0);
    ck_assert_uint_eq(kd.served[0], 3);
    finish_held(2);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, c.id), 1);
}
END_TEST

/* The image of the device with its transport (vdm/state.h: a transport's
 * save adds its registers -- MSI-X vectors, interrupt status -- to the
 * device's). */
static int save_all(void *buf, size_t len)
{
    if (h.transport == DH_TP_MMIO)
        return vdm_mmio_save(&h.mmio.t, buf, len);
    if (h.transport == DH_TP_PCI)
        return vdm_pci_save(&h.pci.t, buf, len);
    return vdm_dev_save(&h.dev, buf, len);
}

static int restore_all(const void *buf, size_t len)
{
    if (h.transport == DH_TP_MMIO)
        return vdm_mmio_restore(&h.mmio.t, buf, len);
    if (h.transport == DH_TP_PCI)
        return vdm_pci_restore(&h.pci.t, buf, len);
    return vdm_dev_restore(&h.dev, buf, len);
}

/* "Device Suspend" with state save/restore (vdm/state.h): a driver
 * suspends the device before it is saved, so a suspended device's image
 * is restored suspended -- SUSPEND 1, DRIVER_OK 0, the device type told
 * through its suspend hook, the held configuration notice kept -- and
 * resumes on the driver's DRIVER_OK, serving what was made available
 * meanwhile. SUSPEND in an image whose features lack VIRTIO_F_SUSPEND, or
 * without FEATURES_OK, is refused ("Device Status Field"). */
START_TEST(suspend_saved_and_restored)
{
    static uint8_t img[4096];
    uint8_t bad[4096];
    struct req a, b;
    unsigned cfg_irq;
    int len;

    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);

    start(VDM_F_SUSPEND);
    add(0, &a);
    (void)dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.nheld, 1);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    finish_held(0);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, a.id), 1);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    cfg_irq = h.irq_config;
    vdm_dev_config_changed(&h.dev);
    add(1, &b);
    (void)dh_kick(&h, 1, 1);
    dh_service(&h);
    no_used(1);

    len = save_all(img, sizeof(img));
    ck_assert_int_gt(len, 0);
    ck_assert_uint_eq(img[VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES],
                      S_SUSPENDED);

    /* Restored (after a reset, as on a fresh destination). */
    (void)dh_set_status(&h, 0);
    ck_assert_int_eq(kd.suspend_calls[1], 1);
    ck_assert_int_eq(restore_all(img, (size_t)len), 0);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    ck_assert_int_eq(vdm_dev_suspending(&h.dev), 1);
    ck_assert_int_eq(kd.suspend_calls[1], 2);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config, cfg_irq);
    no_used(1);
    ck_assert_uint_eq(kd.served[1], 0);

    ck_assert_int_eq(dh_set_status(&h, S_SUSPENDED | S_DOK), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    ck_assert_int_eq(kd.suspend_calls[0], 1);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config - cfg_irq, 1);
    ck_assert_uint_eq(used_one(1, b.id), 2);
    sync_round_trip();

    /* Hostile images: SUSPEND without FEATURES_OK, and SUSPEND with the
     * feature taken out of both feature words (core section: status at
     * 0, driver features at 16, negotiated at 24). The device is left
     * reset (over PCI with its configuration space, so the status is read
     * from the core). */
    memcpy(bad, img, (size_t)len);
    bad[VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES] =
        (uint8_t)(S_ACK | S_DRV | S_SUSP);
    ck_assert_int_eq(restore_all(bad, (size_t)len), VDM_EINVAL);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), 0); /* and reset */
    memcpy(bad, img, (size_t)len);
    for (unsigned w = 16; w <= 24; w += 8)
        bad[VDM_STATE_HDR_BYTES + VDM_STATE_SEC_BYTES + w + 5] &=
            (uint8_t) ~(1u << (43 - 40));
    ck_assert_int_ne(restore_all(bad, (size_t)len), 0);
    ck_assert_uint_eq(vdm_dev_status(&h.dev), 0); /* and reset */
}
END_TEST

/* "Device Reset": a reset clears SUSPEND with every other bit; the device
 * initialises again normally. */
START_TEST(suspend_cleared_by_reset)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    start(VDM_F_SUSPEND);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    dh_reset(&h);
    ck_assert_uint_eq(dh_status(&h), 0);
    ck_assert_int_eq(vdm_dev_suspending(&h.dev), 0);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT, 2), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    sync_round_trip();
}
END_TEST

/* "Device Status Field": the driver MUST NOT clear a bit; it resumes by
 * setting DRIVER_OK. A write clearing SUSPEND alone, or an initialisation
 * bit, is ignored. */
START_TEST(suspend_clear_without_driver_ok_ignored)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    start(VDM_F_SUSPEND);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    (void)dh_set_status(&h, S_ACK | S_DRV | S_FOK);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    (void)dh_set_status(&h, S_ACK | S_SUSP | S_DOK);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    ck_assert_int_eq(kd.suspend_calls[0], 0);
    /* A repeated SUSPEND write changes nothing. */
    (void)dh_set_status(&h, S_SUSPENDED);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    ck_assert_int_eq(kd.suspend_calls[1], 1);
}
END_TEST

/* "Device Suspend": the driver changes no configuration while the device
 * is suspended; the device ignores config writes and (DESIGN.md: queue
 * registers are writable only before DRIVER_OK) queue set-up, and a
 * suspended device accepts nothing on its queues. */
START_TEST(suspend_refuses_config_and_queue_writes)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    uint8_t v = 0x77;

    start(VDM_F_SUSPEND);
    kd.config[0] = 1;
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    (void)dh_config_write(&h, 0, &v, 1);
    ck_assert_uint_eq(kd.config[0], 1);
    ck_assert_uint_eq(kd.config_writes, 0);
    ck_assert_int_eq(vdm_dev_config_write(&h.dev, 0, &v, 1), VDM_ESTATE);
    /* Queue registers of an enabled queue, and enable. */
    ck_assert_int_eq(vdm_dev_queue_set_size(&h.dev, 0, 8), VDM_ESTATE);
    ck_assert_int_eq(vdm_dev_queue_enable(&h.dev, 0), 0); /* enabled already */
    ck_assert_ptr_null(vdm_dev_queue(&h.dev, 0));
    ck_assert_int_eq(vdm_dev_queue_notify(&h.dev, 1, 1), VDM_ESTATE);
    /* Config reads stay possible. */
    ck_assert_uint_eq(dh_config(&h, 0, 1), 1);
    /* After resume, writes work again. */
    ck_assert_int_eq(dh_set_status(&h, S_SUSPENDED | S_DOK), 0);
    (void)dh_config_write(&h, 0, &v, 1);
    ck_assert_uint_eq(kd.config[0], 0x77);
}
END_TEST

/* "Device Suspend": a device that fails to suspend (or to resume) sets
 * DEVICE_NEEDS_RESET, with a configuration change notification while
 * DRIVER_OK is set ("Device Status Field"). */
START_TEST(suspend_failure_needs_reset)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    unsigned cfg_irq;

    start(VDM_F_SUSPEND);
    kd.fail_suspend = 1;
    cfg_irq = h.irq_config;
    (void)dh_set_status(&h, S_LIVE | S_SUSP);
    dh_service(&h);
    ck_assert_uint_ne(dh_status(&h) & S_NR, 0);
    ck_assert_uint_eq(h.irq_config - cfg_irq, 1);
    /* Never presented as suspended; a reset heals. */
    ck_assert_uint_ne(dh_status(&h) & S_DOK, 0);
    dh_reset(&h);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT | VDM_F_SUSPEND, 2), 0);
    kd.fail_suspend = 0;
    kd.fail_resume = 1;
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    (void)dh_set_status(&h, S_SUSPENDED | S_DOK);
    ck_assert_uint_ne(dh_status(&h) & S_NR, 0);
    ck_assert_ptr_null(vdm_dev_queue(&h.dev, 1));
}
END_TEST

/* "Device Suspend" / "Device Status Field": SUSPEND on a device needing
 * reset is ignored, and so is a resume of one that came to need reset. */
START_TEST(suspend_ignored_when_needs_reset)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    start(VDM_F_SUSPEND);
    vdm_dev_needs_reset(&h.dev, VDM_EIO, "test fault");
    (void)dh_set_status(&h, S_LIVE | S_NR | S_SUSP);
    ck_assert_uint_eq(dh_status(&h), S_LIVE | S_NR);
    ck_assert_int_eq(kd.suspend_calls[1], 0);
    dh_reset(&h);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT | VDM_F_SUSPEND, 2), 0);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    vdm_dev_needs_reset(&h.dev, VDM_EIO, "test fault");
    (void)dh_set_status(&h, S_SUSPENDED | S_NR | S_DOK);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED | S_NR);
    ck_assert_int_eq(kd.suspend_calls[0], 0);
}
END_TEST

static int never_suspend(struct vdm_dev *d, int on)
{
    (void)d;
    (void)on;
    ck_abort_msg("hook past the class's size called");
    return VDM_EIO;
}

/* DESIGN.md "Stable C ABI": a class from an older caller ends before its
 * suspend hook; it is accepted, and nothing past its size is read (the
 * hook there here must never run). */
START_TEST(suspend_class_of_older_caller)
{
    UT_NEEDS_OPTION(VDM_CONFIG_SUSPEND);
    struct vdm_device_class old = kd_class;
    struct vdm_dev_config dc;

    make(VDM_F_SUSPEND);
    old.size = (uint32_t)offsetof(struct vdm_device_class, suspend);
    old.suspend = never_suspend;
    dc = h.base;
    dc.cls = &old;
    dc.priv = &kd;
    dc.features = VDM_F_SUSPEND;
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
    ck_assert_int_eq(dh_bring_up(&h, SPLIT | VDM_F_SUSPEND, 2), 0);
    ck_assert_int_eq(dh_set_status(&h, S_LIVE | S_SUSP), 0);
    ck_assert_uint_eq(dh_status(&h), S_SUSPENDED);
    ck_assert_int_eq(dh_set_status(&h, S_SUSPENDED | S_DOK), 0);
    ck_assert_uint_eq(dh_status(&h), S_LIVE);
    /* the first ABI's class ends before the state hooks (which come
     * before suspend): shorter than that is refused */
    old.size = (uint32_t)offsetof(struct vdm_device_class, state_save);
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
    old.size = (uint32_t)offsetof(struct vdm_device_class, state_save) - 1u;
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), VDM_ESIZE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("suspend");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, suspend_offered_only_on_request);
    tcase_add_test(tc, suspend_refused_without_feature);
    tcase_add_test(tc, suspend_ignored_before_driver_ok);
    tcase_add_test(tc, suspend_set_read_back_and_resume);
    tcase_add_test(tc, suspend_waits_for_in_flight);
    tcase_add_test(tc, suspend_saved_and_restored);
    tcase_add_test(tc, suspend_cleared_by_reset);
    tcase_add_test(tc, suspend_clear_without_driver_ok_ignored);
    tcase_add_test(tc, suspend_refuses_config_and_queue_writes);
    tcase_add_test(tc, suspend_failure_needs_reset);
    tcase_add_test(tc, suspend_ignored_when_needs_reset);
    tcase_add_test(tc, suspend_class_of_older_caller);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
