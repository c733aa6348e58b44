/* SPDX-License-Identifier: BSD-3-Clause */
/* SCMI device (spec "SCMI Device"): feature bits, the cmdq (one command and
 * its response per chain, synchronous and asynchronous host answers, out
 * of order, the failure-size rule), the eventq (notifications and delayed
 * responses in posted buffers), reset with commands at the host, and
 * hostile chains. The platform is a tiny fake protocol handler; the real
 * one is vdm/devices/scmi_platform.h. Driven by the driver simulator
 * directly and behind MMIO and PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/devices/scmi.h"

#define QMAX 64

/* SCMI header: message id 7..0, type 9..8, protocol 17..10, token 27..18 */
#define HDR(proto, msg, tok)                                                   \
    ((uint32_t)(msg) | ((uint32_t)(proto) << 10) | ((uint32_t)(tok) << 18))

/* ------------------------------------------------------------------------ */
/* The fake platform                                                        */

enum { M_SYNC, M_ASYNC, M_REFUSE, M_OVERLONG, M_SHORT, M_FILL };

struct plat {
    int mode;
    int ncalls;
    int nready; /* eventq_ready calls */
    int nreset; /* reset calls */
    struct vdm_scmi_cmd last;
    uint8_t lastmsg[VDM_SCMI_MSG_MAX];
    void *tokens[128];
    uint8_t kept[128][VDM_SCMI_MSG_MAX];
    int nkept;
};

static struct plat pl;
static struct dh h;
static struct vdm_scmi scmi;
static int use_indirect; /* post commands as one indirect descriptor */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Protocol 0x10 message 0 (PROTOCOL_VERSION): {hdr, SUCCESS, 0x20000}.
 * Protocol 0x99: NOT_FOUND with (wrongly) 8 bytes of return values.
 * Anything else: echo of the parameters after {hdr, SUCCESS}. */
static uint32_t answer(const uint8_t *msg, uint32_t len, uint8_t *resp)
{
    uint32_t hdr = get32(msg);
    put32(resp, hdr);
    if (((hdr >> 10) & 0xff) == 0x10 && (hdr & 0xff) == 0) {
        put32(resp + 4, 0);
        put32(resp + 8, 0x20000);
        return 12;
    }
    if (((hdr >> 10) & 0xff) == 0x99) {
        put32(resp + 4, (uint32_t)VDM_SCMI_STATUS_NOT_FOUND);
        memset(resp + 8, 0x77, 8);
        return 16;
    }
    put32(resp + 4, 0);
    memcpy(resp + 8, msg + 4, len - 4);
    return len + 4;
}

static int plat_command(void *host, const struct vdm_scmi_cmd *cmd,
                        uint8_t *resp, uint32_t *resp_len, void *token)
{
    struct plat *p = host;
    p->ncalls++;
    p->last = *cmd;
    ck_assert_uint_ge(cmd->len, 4);
    ck_assert_uint_le(cmd->len, VDM_SCMI_MSG_MAX);
    ck_assert_uint_ge(cmd->resp_max, 8);
    ck_assert_uint_le(cmd->resp_max, VDM_SCMI_MSG_MAX);
    memcpy(p->lastmsg, cmd->msg, cmd->len);
    switch (p->mode) {
    case M_ASYNC:
        ck_assert_int_lt(p->nkept, 128);
        p->tokens[p->nkept] = token;
        memcpy(p->kept[p->nkept], cmd->msg, cmd->len);
        p->nkept++;
        return VDM_SCMI_PENDING;
    case M_REFUSE: return VDM_EIO;
    case M_OVERLONG:
        memset(resp, 0, cmd->resp_max + 1);
        *resp_len = cmd->resp_max + 1;
        return 0;
    case M_SHORT:
        put32(resp, get32(cmd->msg));
        *resp_len = 4;
        return 0;
    case M_FILL:
        put32(resp, get32(cmd->msg));
        put32(resp + 4, 0);
        memset(resp + 8, 0x5a, cmd->resp_max - 8);
        *resp_len = cmd->resp_max;
        return 0;
    default: *resp_len = answer(cmd->msg, cmd->len, resp); return 0;
    }
}

static void plat_ready(void *host)
{
    ((struct plat *)host)->nready++;
}

static void plat_reset(void *host)
{
    ((struct plat *)host)->nreset++;
}

static const struct vdm_scmi_ops plat_ops = {
    .size = sizeof(struct vdm_scmi_ops),
    .command = plat_command,
    .eventq_ready = plat_ready,
    .reset = plat_reset,
};

static void setup_with(uint64_t features, uint16_t nq)
{
    struct dh_opts o = {.num_queues = nq, .qsize = QMAX};
    memset(&pl, 0, sizeof(pl));
    use_indirect = 0;
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_scmi_config c = VDM_INIT(struct vdm_scmi_config);
    c.ops = &plat_ops;
    c.host = &pl;
    c.features = features;
    ck_assert_int_eq(vdm_scmi_init(&scmi, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_scmi_dev(&scmi), &h.dev);
}

static void setup(void)
{
    setup_with(VDM_SCMI_F_P2A_CHANNELS, 2);
}

static void setup_nop2a(void)
{
    setup_with(0, 1);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define cq (*dh_vq(&h, 0))
#define eq (*dh_vq(&h, 1))

static void bringup(uint64_t extra)
{
    uint16_t nq = h.num_queues;
    UT_NEEDS(extra); /* ring options a size profile may leave out */
    ck_assert_int_eq(
        dh_bring_up(&h, VDM_F_VERSION_1 | VDM_SCMI_F_P2A_CHANNELS | extra, nq),
        0);
    ck_assert_int_eq(vdm_dev_live(&h.dev), 1);
}

struct rq {
    uint64_t cmd, resp;
    uint32_t rlen;
};

/* A command as Linux lays it out: one readable and one writable
 * descriptor. */
static struct rq post_cmd(const uint8_t *msg, uint32_t len, uint32_t rlen)
{
    struct rq r = {0};
    struct drv_buf out[1], in[1];
    unsigned nout = 0, nin = 0;
    r.rlen = rlen;
    r.cmd = dh_alloc(&h, len ? len : 1, 8);
    if (len) {
        memcpy(dh_ptr(&h, r.cmd, len), msg, len);
        out[nout++] = (struct drv_buf){r.cmd, len};
    }
    if (rlen) {
        r.resp = dh_alloc(&h, rlen, 8);
        memset(dh_ptr(&h, r.resp, rlen), 0xee, rlen);
        in[nin++] = (struct drv_buf){r.resp, rlen};
    }
    ck_assert_int_ge(
        drv_vq_add(&cq, out, nout, in, nin,
                   use_indirect ? DRV_ADD_INDIRECT : DRV_ADD_DIRECT,
                   (void *)(uintptr_t)r.cmd),
        0);
    return r;
}

static struct rq post_hdr(uint32_t hdr, uint32_t rlen)
{
    uint8_t m[4];
    put32(m, hdr);
    return post_cmd(m, 4, rlen);
}

static void kick(uint16_t q)
{
    drv_vq_publish(dh_vq(&h, q));
    ck_assert_int_ge(dh_kick(&h, q, 1), 0);
}

static uint8_t *resp_of(const struct rq *r)
{
    return dh_ptr(&h, r->resp, r->rlen);
}

/* Take used buffers of the cmdq until @p r's; return its used length. */
static uint32_t used(const struct rq *r)
{
    uint32_t len = 0;
    void *cookie = NULL;
    for (int i = 0; i < QMAX; i++) {
        ck_assert_int_eq(drv_vq_get_used(&cq, NULL, &len, &cookie), 1);
        if (cookie == (void *)(uintptr_t)r->cmd)
            return len;
    }
    ck_abort_msg("command never used");
    return 0;
}

static uint32_t next_used(struct drv_vq *q, void **cookie)
{
    uint32_t len = 0;
    ck_assert_int_eq(drv_vq_get_used(q, NULL, &len, cookie), 1);
    return len;
}

static uint64_t post_event(uint32_t len, int readable)
{
    uint64_t b = dh_alloc(&h, len, 8);
    struct drv_buf d = {b, len};
    memset(dh_ptr(&h, b, len), 0xee, len);
    ck_assert_int_ge(drv_vq_add(&eq, readable ? &d : NULL, readable ? 1 : 0,
                                readable ? NULL : &d, readable ? 0 : 1,
                                DRV_ADD_DIRECT, (void *)(uintptr_t)b),
                     0);
    return b;
}

/* ------------------------------------------------------------------------ */

/* "Feature bits": P2A offered when the platform has notifications, never
 * SHARED_MEMORY (no statistics region implemented); device id 32; no
 * IN_ORDER (answers complete out of order). */
START_TEST(scmi_features_and_id)
{
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_SCMI);
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), 32);
    ck_assert_uint_ne(f & VDM_SCMI_F_P2A_CHANNELS, 0);
    ck_assert_uint_eq(f & VDM_SCMI_F_SHARED_MEMORY, 0);
    ck_assert_uint_eq(f & VDM_F_IN_ORDER, 0);
    bringup(0);
    ck_assert_int_eq(vdm_scmi_p2a(&scmi), 1);
}
END_TEST

START_TEST(scmi_no_p2a_offered_without_notifications)
{
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(f & VDM_SCMI_F_P2A_CHANNELS, 0);
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1, 1), 0);
    ck_assert_int_eq(vdm_scmi_p2a(&scmi), 0);
    /* "If VIRTIO_SCMI_F_P2A_CHANNELS was not negotiated, the device MUST
     * deny any request for an SCMI notification": the platform is told. */
    struct rq r = post_hdr(HDR(0x10, 0, 1), 16);
    kick(0);
    ck_assert_uint_eq(used(&r), 12);
    ck_assert_uint_eq(pl.last.p2a, 0);
    uint8_t ev[8] = {0};
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 8), VDM_ENOTSUP);
}
END_TEST

START_TEST(scmi_init_rejects_bad_config)
{
    struct vdm_scmi s2;
    struct vdm_dev d2;
    struct vdm_scmi_config c = VDM_INIT(struct vdm_scmi_config);
    struct vdm_dev_config b = h.base;
    c.ops = &plat_ops;
    c.features = VDM_SCMI_F_SHARED_MEMORY;
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_ENOTSUP);
    c.features = VDM_SCMI_F_P2A_CHANNELS;
    b.num_queues = 1; /* P2A needs the eventq */
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_EINVAL);
    b.num_queues = 3;
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_EINVAL);
    b.num_queues = 2;
    c.ops = NULL;
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_EINVAL);
    struct vdm_scmi_ops o = {.size = sizeof(o)};
    c.ops = &o;
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_EINVAL);
    c.ops = &plat_ops;
    c.size = 4;
    ck_assert_int_eq(vdm_scmi_init(&s2, &d2, &c, &b), VDM_ESIZE);
    ck_assert_int_eq(vdm_scmi_init(NULL, &d2, &c, &b), VDM_EINVAL);
    ck_assert_ptr_null(vdm_scmi_dev(NULL));
    ck_assert_int_eq(vdm_scmi_complete(NULL, (void *)1, NULL, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_send_p2a(NULL, (const uint8_t *)"", 4),
                     VDM_EINVAL);
}
END_TEST

/* "cmdq Operation": the response is in the same buffer as the command;
 * the platform sees the command bytes once and the room for the answer. */
START_TEST(scmi_command_round_trip)
{
    bringup(0);
    uint8_t m[12];
    put32(m, HDR(0x14, 3, 9));
    put32(m + 4, 0xdeadbeef);
    put32(m + 8, 0x01020304);
    struct rq v = post_hdr(HDR(0x10, 0, 5), 136);
    struct rq e = post_cmd(m, sizeof(m), 136);
    kick(0);
    ck_assert_int_eq(pl.ncalls, 2);
    ck_assert_uint_eq(used(&v), 12);
    ck_assert_uint_eq(get32(resp_of(&v)), HDR(0x10, 0, 5));
    ck_assert_uint_eq(get32(resp_of(&v) + 4), 0);
    ck_assert_uint_eq(get32(resp_of(&v) + 8), 0x20000);
    ck_assert_uint_eq(resp_of(&v)[12], 0xee); /* nothing beyond */
    ck_assert_uint_eq(used(&e), 16);
    ck_assert_uint_eq(get32(resp_of(&e) + 8), 0xdeadbeef);
    ck_assert_uint_eq(get32(resp_of(&e) + 12), 0x01020304);
    ck_assert_uint_eq(pl.last.len, 12);
    ck_assert_uint_eq(pl.last.resp_max, 136);
    ck_assert_uint_eq(pl.last.p2a, 1);
    ck_assert_int_eq(memcmp(pl.lastmsg, m, sizeof(m)), 0);
    ck_assert_uint_ge(h.irq_queue[0], 1);
    ck_assert_uint_eq(h.nwarn, 0);
}
END_TEST

/* "If the status field ... has a value other than SUCCESS, the device MUST
 * set the size of ret_values to the size of the status field." */
START_TEST(scmi_failure_status_is_eight_bytes)
{
    bringup(0);
    struct rq r = post_hdr(HDR(0x99, 1, 2), 64);
    kick(0);
    ck_assert_uint_eq(used(&r), 8);
    ck_assert_uint_eq(get32(resp_of(&r) + 4),
                      (uint32_t)VDM_SCMI_STATUS_NOT_FOUND);
    ck_assert_uint_eq(resp_of(&r)[8], 0xee);
}
END_TEST

/* The room the platform is given is the chain's writable part, at most
 * VDM_SCMI_MSG_MAX (list commands size their answer to it). */
START_TEST(scmi_resp_max_follows_the_buffer)
{
    bringup(0);
    pl.mode = M_FILL;
    struct rq a = post_hdr(HDR(0x14, 4, 1), 24);
    struct rq b = post_hdr(HDR(0x14, 4, 2), 1024);
    kick(0);
    ck_assert_uint_eq(used(&a), 24);
    ck_assert_uint_eq(used(&b), VDM_SCMI_MSG_MAX);
    ck_assert_uint_eq(pl.last.resp_max, VDM_SCMI_MSG_MAX);
    ck_assert_uint_eq(resp_of(&b)[VDM_SCMI_MSG_MAX], 0xee);
}
END_TEST

/* Chains a device cannot serve still get a used entry, and a status where
 * there is room for one (scmi.h table); the platform never sees them. */
START_TEST(scmi_hostile_commands)
{
    bringup(0);
    uint8_t big[VDM_SCMI_MSG_MAX + 4];
    memset(big, 0, sizeof(big));
    put32(big, HDR(0x10, 0, 3));
    uint8_t two[2] = {0x34, 0x12};
    struct rq nowr = post_hdr(HDR(0x10, 0, 1), 0);
    struct rq small = post_hdr(HDR(0x10, 0, 2), 7);
    struct rq shrt = post_cmd(two, 2, 16);
    struct rq none = post_cmd(NULL, 0, 16);
    struct rq lng = post_cmd(big, sizeof(big), 16);
    kick(0);
    ck_assert_int_eq(pl.ncalls, 0);
    ck_assert_uint_eq(used(&nowr), 0);
    ck_assert_uint_eq(used(&small), 0);
    ck_assert_uint_eq(resp_of(&small)[0], 0xee);
    ck_assert_uint_eq(used(&shrt), 8);
    ck_assert_uint_eq(get32(resp_of(&shrt)), 0x1234);
    ck_assert_uint_eq(get32(resp_of(&shrt) + 4),
                      (uint32_t)VDM_SCMI_STATUS_PROTOCOL_ERROR);
    ck_assert_uint_eq(used(&none), 8);
    ck_assert_uint_eq(get32(resp_of(&none)), 0);
    ck_assert_uint_eq(get32(resp_of(&none) + 4),
                      (uint32_t)VDM_SCMI_STATUS_PROTOCOL_ERROR);
    ck_assert_uint_eq(used(&lng), 8);
    ck_assert_uint_eq(get32(resp_of(&lng)), HDR(0x10, 0, 3));
    ck_assert_uint_eq(get32(resp_of(&lng) + 4),
                      (uint32_t)VDM_SCMI_STATUS_COMMS_ERROR);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_ge(h.nwarn, 1));
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_le(h.nwarn, 3)); /* once per kind */
    /* a second round logs nothing new */
    unsigned w = h.nwarn;
    struct rq again = post_hdr(HDR(0x10, 0, 1), 4);
    kick(0);
    ck_assert_uint_eq(used(&again), 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, w));
}
END_TEST

/* A chain with more spans than the device holds (VDM_SCMI_IOV_MAX): the
 * command cannot be read whole; a zero header and COMMS_ERROR. */
START_TEST(scmi_too_many_spans)
{
    bringup(0);
    struct drv_buf out[VDM_SCMI_IOV_MAX], in[2];
    for (int i = 0; i < VDM_SCMI_IOV_MAX; i++) {
        uint64_t b = dh_alloc(&h, 1, 1);
        *(uint8_t *)dh_ptr(&h, b, 1) = 0;
        out[i] = (struct drv_buf){b, 1};
    }
    uint64_t resp = dh_alloc(&h, 16, 8);
    memset(dh_ptr(&h, resp, 16), 0xee, 16);
    in[0] = (struct drv_buf){resp, 8};
    in[1] = (struct drv_buf){resp + 8, 8};
    ck_assert_int_ge(drv_vq_add(&cq, out, VDM_SCMI_IOV_MAX, in, 2,
                                DRV_ADD_DIRECT, (void *)(uintptr_t)resp),
                     0);
    struct rq ok = post_hdr(HDR(0x10, 0, 1), 16);
    kick(0);
    void *cookie;
    ck_assert_uint_eq(next_used(&cq, &cookie), 8);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)resp);
    uint8_t *p = dh_ptr(&h, resp, 16);
    ck_assert_uint_eq(get32(p), 0);
    ck_assert_uint_eq(get32(p + 4), (uint32_t)VDM_SCMI_STATUS_COMMS_ERROR);
    ck_assert_uint_eq(used(&ok), 12);
    ck_assert_int_eq(pl.ncalls, 1);
}
END_TEST

/* A host that refuses, answers too short or too long: GENERIC_ERROR with
 * the command's header, never bytes beyond the buffer. */
START_TEST(scmi_bad_host_answers)
{
    bringup(0);
    int modes[] = {M_REFUSE, M_SHORT, M_OVERLONG};
    for (unsigned i = 0; i < 3; i++) {
        pl.mode = modes[i];
        struct rq r = post_hdr(HDR(0x15, 6, i), 16);
        kick(0);
        ck_assert_uint_eq(used(&r), 8);
        ck_assert_uint_eq(get32(resp_of(&r)), HDR(0x15, 6, i));
        ck_assert_uint_eq(get32(resp_of(&r) + 4),
                          (uint32_t)VDM_SCMI_STATUS_GENERIC_ERROR);
        ck_assert_uint_eq(resp_of(&r)[8], 0xee);
    }
}
END_TEST

/* "The device MAY process available commands out of order and in
 * parallel": answers kept by the host complete in any order; stale,
 * repeated and forged tokens are refused. */
START_TEST(scmi_async_out_of_order)
{
    bringup(0);
    pl.mode = M_ASYNC;
    struct rq r[3];
    for (int i = 0; i < 3; i++)
        r[i] = post_hdr(HDR(0x10, 0, i), 16);
    kick(0);
    ck_assert_int_eq(pl.nkept, 3);
    ck_assert_uint_eq(vdm_scmi_in_flight(&scmi), 3);
    ck_assert_int_eq(drv_vq_get_used(&cq, NULL, NULL, NULL), 0);
    for (int k = 2; k >= 0; k--) {
        uint8_t a[16];
        uint32_t n = answer(pl.kept[k], 4, a);
        ck_assert_int_eq(vdm_scmi_complete(&scmi, pl.tokens[k], a, n), 0);
        void *cookie;
        ck_assert_uint_eq(next_used(&cq, &cookie), 12);
        ck_assert_ptr_eq(cookie, (void *)(uintptr_t)r[k].cmd);
        ck_assert_uint_eq(get32(resp_of(&r[k])), HDR(0x10, 0, k));
        /* repeated */
        ck_assert_int_eq(vdm_scmi_complete(&scmi, pl.tokens[k], a, n),
                         VDM_EINVAL);
    }
    ck_assert_int_eq(
        vdm_scmi_complete(&scmi, (void *)(uintptr_t)0x12345, NULL, 0),
        VDM_EINVAL);
    ck_assert_uint_eq(vdm_scmi_in_flight(&scmi), 0);
}
END_TEST

/* "The device MUST process all available commands eventually, even in the
 * case of bursts": more commands than slots wait in the ring and are
 * served as answers free slots. */
START_TEST(scmi_flood_all_answered)
{
    bringup(VDM_F_INDIRECT_DESC);
    use_indirect = 1;
    pl.mode = M_ASYNC;
    struct rq r[QMAX];
    for (int i = 0; i < QMAX; i++)
        r[i] = post_hdr(HDR(0x10, 0, i), 16);
    kick(0);
    ck_assert_int_eq(pl.nkept, VDM_SCMI_CMD_SLOTS);
    for (int k = 0; k < pl.nkept; k++) {
        uint8_t a[16];
        uint32_t n = answer(pl.kept[k], 4, a);
        ck_assert_int_eq(vdm_scmi_complete(&scmi, pl.tokens[k], a, n), 0);
    }
    ck_assert_int_eq(pl.nkept, QMAX);
    for (int i = 0; i < QMAX; i++) {
        ck_assert_uint_eq(used(&r[i]), 12);
        ck_assert_uint_eq(get32(resp_of(&r[i])), HDR(0x10, 0, i));
    }
    ck_assert_uint_eq(vdm_scmi_in_flight(&scmi), 0);
}
END_TEST

/* Reset with commands at the host: a late answer touches no guest memory
 * and raises no interrupt; the slot comes back. */
START_TEST(scmi_reset_with_commands_at_host)
{
    bringup(0);
    pl.mode = M_ASYNC;
    struct rq r = post_hdr(HDR(0x10, 0, 1), 16);
    kick(0);
    ck_assert_int_eq(pl.nkept, 1);
    int resets = pl.nreset;
    dh_reset(&h);
    ck_assert_int_gt(pl.nreset, resets); /* the platform is told */
    unsigned irq = h.irq_queue[0];
    uint8_t a[16];
    uint32_t n = answer(pl.kept[0], 4, a);
    ck_assert_int_eq(vdm_scmi_complete(&scmi, pl.tokens[0], a, n), VDM_ESTATE);
    ck_assert_uint_eq(resp_of(&r)[0], 0xee);
    ck_assert_uint_eq(h.irq_queue[0], irq);
    ck_assert_uint_eq(vdm_scmi_in_flight(&scmi), 0);
    ck_assert_int_eq(vdm_scmi_complete(&scmi, pl.tokens[0], a, n), VDM_EINVAL);
    uint8_t ev[8] = {0};
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 8), VDM_ESTATE);
}
END_TEST

/* "eventq Operation": one notification per posted buffer, never dropped
 * silently (VDM_EAGAIN while none is posted); eventq_ready when the driver
 * posts. */
START_TEST(scmi_eventq_notifications)
{
    uint8_t ev[16];
    put32(ev, HDR(0x15, 0, 0) | (VDM_SCMI_TYPE_NOTIFICATION << 8));
    for (int i = 4; i < 16; i++)
        ev[i] = (uint8_t)i;
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 16), VDM_ESTATE);
    bringup(0);
    int ready = pl.nready;
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 16), VDM_EAGAIN);
    uint64_t b1 = post_event(136, 0);
    uint64_t b2 = post_event(136, 0);
    kick(1);
    ck_assert_int_gt(pl.nready, ready);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 16), 0);
    ev[15] = 0x99;
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 16), 0);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 16), VDM_EAGAIN);
    void *cookie;
    ck_assert_uint_eq(next_used(&eq, &cookie), 16);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)b1);
    ck_assert_uint_eq(next_used(&eq, &cookie), 16);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)b2);
    ck_assert_int_eq(memcmp(dh_ptr(&h, b2, 16), ev, 16), 0);
    ck_assert_uint_eq(((uint8_t *)dh_ptr(&h, b2, 17))[16], 0xee);
    ck_assert_uint_ge(h.irq_queue[1], 1);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 2), VDM_EINVAL);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, VDM_SCMI_MSG_MAX + 1),
                     VDM_EINVAL);
}
END_TEST

/* A delayed response with a failure status: "the device MUST set the size
 * of payload to the size of the status field"; a notification is carried
 * whole. */
START_TEST(scmi_eventq_delayed_response_failure_size)
{
    bringup(0);
    uint8_t dr[16];
    memset(dr, 0x42, sizeof(dr));
    put32(dr, HDR(0x14, 5, 7) | (VDM_SCMI_TYPE_DELAYED_RESP << 8));
    put32(dr + 4, (uint32_t)VDM_SCMI_STATUS_HARDWARE_ERROR);
    uint64_t b = post_event(64, 0);
    kick(1);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, dr, 16), 0);
    void *cookie;
    ck_assert_uint_eq(next_used(&eq, &cookie), 8);
    ck_assert_uint_eq(((uint8_t *)dh_ptr(&h, b, 9))[8], 0xee);
    /* the same shape as a notification is not cut */
    put32(dr, HDR(0x14, 5, 7) | (VDM_SCMI_TYPE_NOTIFICATION << 8));
    post_event(64, 0);
    kick(1);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, dr, 16), 0);
    ck_assert_uint_eq(next_used(&eq, &cookie), 16);
}
END_TEST

/* Buffers the driver must not post ("Setting Up eventq Buffers": too
 * small, device-readable) come back unused and the next one is taken; a
 * flood of them cannot hold the host in the call. */
START_TEST(scmi_eventq_bad_buffers)
{
    bringup(0);
    uint8_t ev[32] = {0};
    put32(ev, HDR(0x15, 0, 0) | (VDM_SCMI_TYPE_NOTIFICATION << 8));
    uint64_t tiny = post_event(8, 0);
    uint64_t rd = post_event(64, 1);
    uint64_t good = post_event(64, 0);
    kick(1);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 32), 0);
    void *cookie;
    ck_assert_uint_eq(next_used(&eq, &cookie), 0);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)tiny);
    ck_assert_uint_eq(next_used(&eq, &cookie), 0);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)rd);
    ck_assert_uint_eq(next_used(&eq, &cookie), 32);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)good);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_le(h.nwarn, 2));
    /* a queue full of tiny buffers: bounded work, VDM_EAGAIN */
    for (int i = 0; i < QMAX; i++)
        post_event(4, 0);
    kick(1);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 32), VDM_EAGAIN);
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 32), VDM_EAGAIN);
}
END_TEST

/* Packed ring and indirect descriptors carry the same commands. */
START_TEST(scmi_packed_ring)
{
    bringup(VDM_F_RING_PACKED | VDM_F_INDIRECT_DESC);
    struct rq r = post_hdr(HDR(0x10, 0, 3), 16);
    kick(0);
    ck_assert_uint_eq(used(&r), 12);
    ck_assert_uint_eq(get32(resp_of(&r) + 8), 0x20000);
    uint64_t b = post_event(32, 0);
    kick(1);
    uint8_t ev[12] = {0};
    put32(ev, HDR(0x15, 0, 0) | (VDM_SCMI_TYPE_NOTIFICATION << 8));
    ck_assert_int_eq(vdm_scmi_send_p2a(&scmi, ev, 12), 0);
    void *cookie;
    ck_assert_uint_eq(next_used(&eq, &cookie), 12);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)b);
}
END_TEST

static Suite *scmi_suite(void)
{
    Suite *s = suite_create("scmi");
    TCase *tc = tcase_create("p2a");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scmi_features_and_id);
    tcase_add_test(tc, scmi_init_rejects_bad_config);
    tcase_add_test(tc, scmi_command_round_trip);
    tcase_add_test(tc, scmi_failure_status_is_eight_bytes);
    tcase_add_test(tc, scmi_resp_max_follows_the_buffer);
    tcase_add_test(tc, scmi_hostile_commands);
    tcase_add_test(tc, scmi_too_many_spans);
    tcase_add_test(tc, scmi_bad_host_answers);
    tcase_add_test(tc, scmi_async_out_of_order);
    tcase_add_test(tc, scmi_flood_all_answered);
    tcase_add_test(tc, scmi_reset_with_commands_at_host);
    tcase_add_test(tc, scmi_eventq_notifications);
    tcase_add_test(tc, scmi_eventq_delayed_response_failure_size);
    tcase_add_test(tc, scmi_eventq_bad_buffers);
    tcase_add_test(tc, scmi_packed_ring);
    suite_add_tcase(s, tc);
    TCase *t2 = tcase_create("no_p2a");
    tcase_add_checked_fixture(t2, setup_nop2a, teardown);
    tcase_add_test(t2, scmi_no_p2a_offered_without_notifications);
    suite_add_tcase(s, t2);
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
