/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device kit (vdm/kit.h) through the bench: a small device type with an
 * asynchronous queue (status in the last byte, like blk) and a synchronous
 * one (status in the first two bytes, like a control queue), driven by the
 * driver simulator directly and behind MMIO and PCI.
 *
 * Spec rules checked: "Message Framing" and "The Virtqueue Used Ring" (the
 * used length is what the device wrote; every chain the driver made
 * available comes back), "Used Buffer Notification Suppression" (one
 * decision per batch), "Device Reset" (nothing touched after a reset), and
 * "Feature Bits" (never offer what cannot be honoured).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/kit.h"

#define QMAX      32 /* ring size */
#define PER       8  /* request slots per queue */
#define IOV_PER   2
#define KD_ID     63u
#define TAIL_ERR  0xeeu
#define UNTOUCHED 0x5au

struct kd_req { /* the device's part of a slot */
    uint32_t magic;
};

#define KD_SLOT VDM_KIT_SLOT_BYTES(sizeof(struct kd_req))

struct kd {
    struct vdm_kit kit;
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(2, PER, KD_SLOT)];
    struct vdm_iov iovs[VDM_KIT_IOVS(2, PER, IOV_PER)];
    uintptr_t held[64]; /* tokens handed to the "host" by queue 0 */
    unsigned nheld;
    unsigned served[2];
    int again;       /* queue 0 answers VDM_EAGAIN */
    int finish_live; /* 1: last finish found the request live */
    int answer_err;  /* queue 1 answers with vdm_kit_answer_error() */
    uint32_t warned;
};

static struct dh h;
static struct kd kd;

/* Queue 0: keep the request; the test completes it later. */
static int kd_serve_async(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct kd *k = ctx;

    (void)written;
    k->served[0]++;
    if (k->again)
        return VDM_EAGAIN;
    ((struct kd_req *)vdm_kit_req_priv(r))->magic = 0x4b44u;
    ck_assert_uint_lt(k->nheld, 64);
    k->held[k->nheld++] = vdm_kit_token(&k->kit, r);
    return VDM_KIT_PENDING;
}

/* Queue 1: answer "OK" in the first two writable bytes at once. */
static int kd_serve_sync(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct kd *k = ctx;
    static const uint8_t ok[2] = {'O', 'K'};

    k->served[1]++;
    if (k->answer_err) {
        *written = vdm_kit_answer_error(&k->kit, r);
        return VDM_KIT_DONE;
    }
    *written = (uint32_t)vdm_chain_copy_to(&r->chain, 0, ok, 2);
    return VDM_KIT_DONE;
}

static const struct vdm_kit_queue kd_queues[] = {
    {.serve = kd_serve_async,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = 1,
     .status_err = {TAIL_ERR}},
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
}

static void kd_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct kd *k = vdm_dev_priv(d);
    vdm_kit_reset(&k->kit, q);
}

static const struct vdm_device_class kd_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = KD_ID,
    .name = "kit-test",
    .max_queues = 2,
    .reset = kd_reset,
    .queue_notify = kd_notify,
    .queue_reset = kd_queue_reset,
};

static uint64_t kd_features;

static void start(uint32_t budget, uint64_t ring)
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
    kc.slot_bytes = KD_SLOT;
    kc.per_queue = PER;
    kc.iov_per_req = IOV_PER;
    kc.budget = budget;
    ck_assert_int_eq(vdm_kit_init(&kd.kit, &h.dev, &kc), 0);
    dc = h.base;
    dc.cls = &kd_class;
    dc.priv = &kd;
    dc.features = vdm_kit_features(0, 0, 0);
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
    kd_features = ring;
    ck_assert_int_eq(dh_bring_up(&h, ring, 2), 0);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define SPLIT  (VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX)
#define PACKED (SPLIT | VDM_F_RING_PACKED)

/* One request on queue q: `nr` readable 16-byte buffers, `nw` writable
 * 16-byte buffers; the writable ones start UNTOUCHED. */
struct kreq {
    uint64_t rd[4], wr[4];
    int id;
};

static void add(uint16_t q, struct kreq *r, unsigned nr, unsigned nw)
{
    struct drv_buf rb[4], wb[4];

    for (unsigned i = 0; i < nr; i++) {
        r->rd[i] = dh_alloc(&h, 16, 16);
        memset(dh_ptr(&h, r->rd[i], 16), 0x11, 16);
        rb[i] = (struct drv_buf){r->rd[i], 16};
    }
    for (unsigned i = 0; i < nw; i++) {
        r->wr[i] = dh_alloc(&h, 16, 16);
        memset(dh_ptr(&h, r->wr[i], 16), UNTOUCHED, 16);
        wb[i] = (struct drv_buf){r->wr[i], 16};
    }
    r->id = drv_vq_add(dh_vq(&h, q), rb, nr, wb, nw, DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(r->id, 0);
}

static uint8_t *wbyte(const struct kreq *r, unsigned i, unsigned off)
{
    return (uint8_t *)dh_ptr(&h, r->wr[i], 16) + off;
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

/* A synchronous queue: every chain comes back with what the handler wrote,
 * and a batch raises one used-buffer notification. */
START_TEST(sync_batch_one_notification)
{
    struct kreq r[5];
    unsigned before;

    start(0, _i ? PACKED : SPLIT);
    for (int i = 0; i < 5; i++)
        add(1, &r[i], 1, 1);
    before = h.irq_queue[1];
    ck_assert_int_le(dh_kick(&h, 1, 1), 1);
    dh_service(&h);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(used_one(1, r[i].id), 2);
        ck_assert_mem_eq(wbyte(&r[i], 0, 0), "OK", 2);
    }
    ck_assert_uint_eq(h.irq_queue[1] - before, 1);
    ck_assert_uint_eq(kd.served[1], 5);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 0);
}
END_TEST

/* Asynchronous requests: nothing is used until the host finishes them;
 * tokens name one request once (a repeated or stale token is refused). */
START_TEST(async_tokens_round_trip)
{
    struct kreq r[3];
    struct vdm_kit_req *kr;

    start(0, _i ? PACKED : SPLIT);
    for (int i = 0; i < 3; i++)
        add(0, &r[i], 1, 1);
    dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.nheld, 3);
    no_used(0);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_ne(kd.held[i], 0);
    /* finish the second first: out of order */
    kr = vdm_kit_lookup(&kd.kit, kd.held[1]);
    ck_assert_ptr_nonnull(kr);
    ck_assert_uint_eq(kr->queue, 0);
    ck_assert_uint_eq(((struct kd_req *)vdm_kit_req_priv(kr))->magic, 0x4b44u);
    ck_assert_int_eq(vdm_kit_req_live(kr), 1);
    *wbyte(&r[1], 0, 15) = 0; /* the device's status */
    ck_assert_int_eq(vdm_kit_finish(&kd.kit, kr, 1), 0);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, r[1].id), 1);
    /* the same token again: unknown now */
    ck_assert_ptr_null(vdm_kit_lookup(&kd.kit, kd.held[1]));
    ck_assert_ptr_null(vdm_kit_lookup(&kd.kit, 0));
    ck_assert_ptr_null(vdm_kit_lookup(&kd.kit, ~(uintptr_t)0));
    for (int i = 0; i < 3; i += 2)
        ck_assert_int_eq(
            vdm_kit_finish(&kd.kit, vdm_kit_lookup(&kd.kit, kd.held[i]), 1), 0);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, r[0].id), 1);
    ck_assert_uint_eq(used_one(0, r[2].id), 1);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 0);
}
END_TEST

/* "Device Reset": requests at the host when the driver resets are
 * abandoned; their late completion is recognised and dropped without a
 * used entry, a guest write or an interrupt. */
START_TEST(reset_abandons_late_completion_dropped)
{
    struct kreq r[2];
    uintptr_t tok[2];
    uint32_t cursor = 0;
    uintptr_t t;
    int n = 0;

    start(0, _i ? PACKED : SPLIT);
    add(0, &r[0], 1, 1);
    add(0, &r[1], 1, 1);
    dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.nheld, 2);
    tok[0] = kd.held[0];
    tok[1] = kd.held[1];
    /* the host can list what it still holds */
    while (vdm_kit_pending(&kd.kit, 0, &cursor, &t) == 1) {
        ck_assert(t == tok[0] || t == tok[1]);
        n++;
    }
    ck_assert_int_eq(n, 2);
    dh_reset(&h);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 2); /* still at the host */
    struct vdm_kit_req *kr = vdm_kit_lookup(&kd.kit, tok[0]);
    ck_assert_ptr_nonnull(kr);
    ck_assert_int_eq(vdm_kit_req_live(kr), 0);
    unsigned irq = h.irq_queue[0];
    ck_assert_int_eq(vdm_kit_finish(&kd.kit, kr, 1), VDM_ESTATE);
    ck_assert_int_eq(
        vdm_kit_finish(&kd.kit, vdm_kit_lookup(&kd.kit, tok[1]), 1),
        VDM_ESTATE);
    ck_assert_uint_eq(h.irq_queue[0], irq);
    ck_assert_uint_eq(*wbyte(&r[0], 0, 15), UNTOUCHED);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 0);
    ck_assert_ptr_null(vdm_kit_lookup(&kd.kit, tok[0]));
}
END_TEST

/* All slots of a queue at the host: the queue waits, and resumes by itself
 * when one comes back. */
START_TEST(stall_and_resume)
{
    struct kreq r[PER + 2];

    start(0, _i ? PACKED : SPLIT);
    for (int i = 0; i < PER + 2; i++)
        add(0, &r[i], 1, 1);
    dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.nheld, PER); /* every slot taken, two wait */
    no_used(0);
    /* a slot comes back: the next request is taken without a new kick */
    ck_assert_int_eq(
        vdm_kit_finish(&kd.kit, vdm_kit_lookup(&kd.kit, kd.held[3]), 1), 0);
    ck_assert_uint_eq(kd.nheld, PER + 1);
    dh_service(&h);
    ck_assert_uint_eq(used_one(0, r[3].id), 1);
    /* another one: the last waiting request is taken */
    ck_assert_int_eq(
        vdm_kit_finish(&kd.kit, vdm_kit_lookup(&kd.kit, kd.held[0]), 1), 0);
    ck_assert_uint_eq(kd.nheld, PER + 2);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), PER);
}
END_TEST

/* A chain with more spans than a slot holds never reaches the handler;
 * the kit writes the queue's error status where the driver looks for it:
 * the last byte of the chain (a status byte, blk-like) ... */
START_TEST(truncated_tail_status)
{
    struct kreq r;

    start(0, _i ? PACKED : SPLIT);
    add(0, &r, 1, 3); /* 4 spans, the slot holds 2 */
    dh_kick(&h, 0, 1);
    dh_service(&h);
    ck_assert_uint_eq(kd.served[0], 0);
    ck_assert_uint_eq(used_one(0, r.id), 1);
    ck_assert_uint_eq(*wbyte(&r, 2, 15), TAIL_ERR);
    ck_assert_uint_eq(*wbyte(&r, 0, 0), UNTOUCHED);
    ck_assert_uint_eq(*wbyte(&r, 2, 14), UNTOUCHED);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 0);
}
END_TEST

/* ... or the first bytes of the writable part (a response header), both
 * when they are among the spans that fit and when they are not. */
START_TEST(truncated_head_status)
{
    struct kreq a, b;

    start(0, _i ? PACKED : SPLIT);
    add(1, &a, 1, 3); /* first writable span fits */
    add(1, &b, 3, 1); /* only readable spans fit */
    dh_kick(&h, 1, 1);
    dh_service(&h);
    ck_assert_uint_eq(kd.served[1], 0);
    ck_assert_uint_eq(used_one(1, a.id), 2);
    ck_assert_uint_eq(*wbyte(&a, 0, 0), 0xab);
    ck_assert_uint_eq(*wbyte(&a, 0, 1), 0xcd);
    ck_assert_uint_eq(*wbyte(&a, 0, 2), UNTOUCHED);
    ck_assert_uint_eq(used_one(1, b.id), 2);
    ck_assert_uint_eq(*wbyte(&b, 0, 0), 0xab);
    ck_assert_uint_eq(*wbyte(&b, 0, 1), 0xcd);
}
END_TEST

/* vdm_kit_answer_error() on a chain that fits: the queue's error answer
 * where the driver looks (first writable bytes here), and nowhere else. */
START_TEST(answer_error_in_place)
{
    struct kreq a;

    start(0, _i ? PACKED : SPLIT);
    kd.answer_err = 1;
    add(1, &a, 1, 2);
    dh_kick(&h, 1, 1);
    dh_service(&h);
    ck_assert_uint_eq(used_one(1, a.id), 2);
    ck_assert_uint_eq(*wbyte(&a, 0, 0), 0xab);
    ck_assert_uint_eq(*wbyte(&a, 0, 1), 0xcd);
    ck_assert_uint_eq(*wbyte(&a, 0, 2), UNTOUCHED);
    ck_assert_uint_eq(*wbyte(&a, 1, 15), UNTOUCHED);
}
END_TEST

/* A bounded pass: one queue cannot hold the caller for ever. */
START_TEST(budget_bounds_a_pass)
{
    struct kreq r[5];

    start(2, _i ? PACKED : SPLIT);
    for (int i = 0; i < 5; i++)
        add(1, &r[i], 1, 1);
    drv_vq_publish(dh_vq(&h, 1)); /* no notification */
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 1), 2);
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 1), 2);
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 1), 1);
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 1), 0);
    dh_service(&h);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(used_one(1, r[i].id), 2);
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 2), VDM_ERANGE);
}
END_TEST

/* VDM_EAGAIN: the chain goes back to the ring and is served later. */
START_TEST(eagain_puts_back)
{
    struct kreq r;

    start(0, _i ? PACKED : SPLIT);
    add(0, &r, 1, 1);
    kd.again = 1;
    dh_kick(&h, 0, 1);
    ck_assert_uint_eq(kd.served[0], 1);
    ck_assert_uint_eq(vdm_kit_in_flight(&kd.kit), 0);
    no_used(0);
    kd.again = 0;
    ck_assert_int_eq(vdm_kit_run(&kd.kit, 0), 1);
    ck_assert_uint_eq(kd.served[0], 2);
    ck_assert_uint_eq(kd.nheld, 1);
}
END_TEST

/* vdm_kit_take(): device-initiated queues (events). */
START_TEST(take_and_put_back)
{
    struct kreq r;
    struct vdm_kit_req *kr = NULL;

    start(0, _i ? PACKED : SPLIT);
    ck_assert_int_eq(vdm_kit_take(&kd.kit, 1, &kr), 0);
    add(1, &r, 0, 1);
    drv_vq_publish(dh_vq(&h, 1));
    ck_assert_int_eq(vdm_kit_take(&kd.kit, 1, &kr), 1);
    ck_assert_int_eq(vdm_kit_put_back(&kd.kit, kr), 0);
    ck_assert_int_eq(vdm_kit_take(&kd.kit, 1, &kr), 1);
    ck_assert_uint_eq(kr->chain.write_len, 16);
    ck_assert_uint_eq(vdm_chain_copy_to(&kr->chain, 0, "ev", 2), 2);
    ck_assert_int_eq(vdm_kit_finish(&kd.kit, kr, 2), 0);
    dh_service(&h);
    ck_assert_uint_eq(used_one(1, r.id), 2);
    ck_assert_int_eq(vdm_kit_finish(&kd.kit, kr, 2), VDM_EINVAL);
}
END_TEST

/* "Feature Bits": a device offers its own bits, the ring features vdm
 * implements less those it cannot honour, and only the host's platform
 * bits; never a transport-only or reserved bit. */
START_TEST(feature_policy)
{
    uint64_t host = VDM_F_ACCESS_PLATFORM | VDM_F_ORDER_PLATFORM |
                    VDM_F_SR_IOV | VDM_F_ADMIN_VQ | (1ull << 27) |
                    (1ull << 24) | (1ull << 5) | (1ull << 45);
    uint64_t f = vdm_kit_features((1ull << 3) | (1ull << 30) | (1ull << 55),
                                  host, VDM_F_IN_ORDER);

    /* ADMIN_VQ is the host's to ask for (it sizes the queue arrays), when
     * built in (VDM_CONFIG_ADMIN_VQ); SR_IOV never passes. */
    ck_assert_uint_eq(f, (1ull << 3) | (1ull << 55) | VDM_F_ACCESS_PLATFORM |
                             VDM_F_ORDER_PLATFORM |
                             (VDM_CONFIG_ADMIN_VQ ? VDM_F_ADMIN_VQ : 0ull) |
                             (VDM_F_RING_ALL & ~VDM_F_IN_ORDER));
    /* SUSPEND likewise, when built in (VDM_CONFIG_SUSPEND) */
    ck_assert_uint_eq(vdm_kit_features(0, VDM_F_SUSPEND, 0),
                      VDM_F_RING_ALL |
                          (VDM_CONFIG_SUSPEND ? VDM_F_SUSPEND : 0ull));
    ck_assert_uint_eq(vdm_kit_features(0, 0, 0), VDM_F_RING_ALL);
}
END_TEST

START_TEST(warn_once_and_config_copy)
{
    uint8_t img[4] = {1, 2, 3, 4}, out[6];
    unsigned n;

    start(0, SPLIT);
    n = h.nwarn;
    vdm_kit_warn_once(&h.dev, &kd.warned, 4, VDM_LOG_WARN, "kit test: once");
    vdm_kit_warn_once(&h.dev, &kd.warned, 4, VDM_LOG_WARN, "kit test: once");
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn - n, 1));
    memset(out, 0xff, sizeof(out));
    vdm_kit_config_copy(img, 4, 2, out, 6);
    ck_assert_mem_eq(out, "\x03\x04\0\0\0\0", 6);
    vdm_kit_config_copy(img, 4, UINT32_MAX, out, 6);
    ck_assert_mem_eq(out, "\0\0\0\0\0\0", 6);
}
END_TEST

START_TEST(init_rejects_bad_config)
{
    struct vdm_kit k;
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);

    start(0, SPLIT);
    kc.num_queues = 2;
    kc.nqdesc = 2;
    kc.queues = kd_queues;
    kc.slots = kd.slots;
    kc.iovs = kd.iovs;
    kc.slot_bytes = KD_SLOT;
    kc.per_queue = PER;
    kc.iov_per_req = IOV_PER;
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), 0);
    kc.slot_bytes = sizeof(struct vdm_kit_req) - 8;
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), VDM_EINVAL);
    kc.slot_bytes = KD_SLOT + 4; /* not a multiple of 8 */
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), VDM_EINVAL);
    kc.slot_bytes = KD_SLOT;
    kc.slots = kd.slots + 4; /* misaligned */
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), VDM_EINVAL);
    kc.slots = kd.slots;
    kc.per_queue = 0;
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), VDM_EINVAL);
    kc.per_queue = PER;
    kc.size = 4;
    ck_assert_int_eq(vdm_kit_init(&k, &h.dev, &kc), VDM_ESIZE);
    ck_assert_int_eq(vdm_kit_run(NULL, 0), VDM_EINVAL);
    ck_assert_ptr_null(vdm_kit_lookup(NULL, 1));
    ck_assert_uint_eq(vdm_kit_in_flight(NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kit");
    TCase *t = tcase_create("kit");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(t, NULL, teardown);
    /* _i: 0 split ring, 1 packed ring */
    tcase_add_loop_test(t, sync_batch_one_notification, 0, 2);
    tcase_add_loop_test(t, async_tokens_round_trip, 0, 2);
    tcase_add_loop_test(t, reset_abandons_late_completion_dropped, 0, 2);
    tcase_add_loop_test(t, stall_and_resume, 0, 2);
    tcase_add_loop_test(t, truncated_tail_status, 0, 2);
    tcase_add_loop_test(t, truncated_head_status, 0, 2);
    tcase_add_loop_test(t, answer_error_in_place, 0, 2);
    tcase_add_loop_test(t, budget_bounds_a_pass, 0, 2);
    tcase_add_loop_test(t, eagain_puts_back, 0, 2);
    tcase_add_loop_test(t, take_and_put_back, 0, 2);
    tcase_add_test(t, feature_policy);
    tcase_add_test(t, warn_once_and_config_copy);
    tcase_add_test(t, init_rejects_bad_config);
    suite_add_tcase(s, t);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
