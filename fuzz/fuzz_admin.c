/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the administration virtqueue (VIRTIO_F_ADMIN_VQ, src/admin.c)
 * of a device with one normal queue and the admin queue, driven through
 * the device core: commands of any opcode, group, member id and data, in
 * readable and writable parts of any length and split, at fresh or
 * input-chosen guest addresses; resets, queue resets, SUSPEND and resume,
 * raw status writes.
 *
 * Input: flags byte (bit 0 translate hooks, bit 1 packed ring, bit 2 a
 * device type with capability and resource-object ops, bit 3 negotiate
 * SUSPEND), queue size byte, then operations until the input ends (at most
 * 1024), each an op byte (mod ADM_OP_COUNT) and its arguments:
 *   ADM_OP_CMD     le16 opcode, le16 group, u8 member selector (even: 0,
 *                  odd: le64 follows), u8 data length, the data, u8
 *                  readable pieces (mod 4), le16 writable length (mod 1100),
 *                  u8 writable pieces (mod 3), u8 placement (0: fresh
 *                  memory; else each part's address from fm_gpa_ex)
 *   ADM_OP_RESET   device reset and bring-up again
 *   ADM_OP_SUSPEND u8: even suspend, odd resume (status writes)
 *   ADM_OP_STATUS  u8 raw status value
 *   ADM_OP_QRESET  reset the admin queue alone and set it up again
 *   ADM_OP_USE_ALL LIST_USE of every supported opcode
 *
 * Oracles (FZ_CHECK), for commands in fresh memory: every command comes
 * back used (while no hostile writable buffer was handed to the device
 * since the queue was set up: such a buffer may lie on the rings, and the
 * device's answer then rewrote them as the driver asked); the used length never exceeds the writable bytes, and covers
 * status and qualifier when there is room; status is one the spec lists
 * (or EEXIST) and the qualifier 0 with OK; the group, opcode and member
 * checks give exactly the spec's status and qualifier in the spec's order,
 * against a model of the supported and used opcode lists; LIST_QUERY
 * answers the supported list; nothing is answered while suspended; hook
 * mappings are all given back.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "drv.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/admin.h"
#include "vdm/device.h"

/* Internal (src/admin_internal.h; fuzz targets see the public headers
 * only): attach the administration engine, as vdm_pci_init() does. */
void vdmi_dev_admin_attach(struct vdm_dev *d);

enum {
    ADM_OP_CMD,
    ADM_OP_RESET,
    ADM_OP_SUSPEND,
    ADM_OP_STATUS,
    ADM_OP_QRESET,
    ADM_OP_USE_ALL,
    ADM_OP_COUNT
};

#define NQ    1u /* normal queues; the admin queue is index NQ */
#define QMAXF 64u
#define NOBJ  4u
#define OPS_ALL (0x3ull | VDM_ADMIN_OPS_CAPS | VDM_ADMIN_OPS_RESOURCES)

static const uint64_t caps[33] = {[32] = 0x1}; /* capability 0x800 */

static struct {
    struct vdm_dev dev;
    struct vdm_vq queues[NQ + 1];
    uint32_t slots[VDM_DEV_SLOTS(NQ + 1, QMAXF)];
    struct vdm_host_ops hops;
    struct drv_vq dq;
    int live;
    uint16_t qsize;
    uint64_t rings[3];
    uint64_t want;
    int with_ops;
    uint64_t used_model; /* opcodes in use, as the spec defines it */
    int model_valid;     /* 0 once a command the oracle cannot see ran */
    int ring_suspect;    /* a hostile writable buffer was handed to the
                          * device: it may lie on the rings, which the
                          * device's answer then overwrote; cleared when
                          * the queue is set up afresh */
    uint32_t limit;      /* the class's driver capability */
    uint8_t objs[NOBJ];
    unsigned cmds, answered, hook_calls;
} A;

static uint32_t cls_cmd(struct vdm_dev *d, const struct vdm_admin_cmd *c,
                        void *result, uint32_t cap, uint32_t *len)
{
    (void)d;
    A.hook_calls++;
    FZ_CHECK(cap == VDM_ADMIN_RESULT_MAX, "result room %u", cap);
    FZ_CHECK(c->data_len <= VDM_ADMIN_DATA_MAX, "data %u", c->data_len);
    FZ_CHECK(c->opcode >= VDM_ADMIN_CMD_CAP_ID_LIST_QUERY &&
                 c->opcode <= VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY &&
                 c->opcode != VDM_ADMIN_CMD_CAP_ID_LIST_QUERY,
             "opcode %#x reached the class", c->opcode);
    switch (c->opcode) {
    case VDM_ADMIN_CMD_DEVICE_CAP_GET:
    case VDM_ADMIN_CMD_DRIVER_CAP_SET:
        FZ_CHECK(c->id16 == 0x800, "capability %#x not reported", c->id16);
        if (c->opcode == VDM_ADMIN_CMD_DEVICE_CAP_GET) {
            memset(result, 0, 4);
            ((uint8_t *)result)[0] = NOBJ;
            *len = 4;
            return 0;
        }
        if (c->data[0] > NOBJ || c->data[1] | c->data[2] | c->data[3])
            return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL,
                                    VDM_ADMIN_Q_INVALID_FIELD);
        A.limit = c->data[0];
        return 0;
    default: break;
    }
    if (c->id16 != 0x200 || c->obj_id >= A.limit)
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, VDM_ADMIN_Q_INVALID_FIELD);
    if (c->opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE) {
        if (A.objs[c->obj_id])
            return VDM_ADMIN_RESULT(VDM_ADMIN_S_EEXIST, 0);
        A.objs[c->obj_id] = 1;
        return 0;
    }
    if (!A.objs[c->obj_id])
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_ENXIO, 0);
    if (c->opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY)
        A.objs[c->obj_id] = 0;
    if (c->opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY) {
        memset(result, 0x42, 8);
        *len = 8;
    }
    return 0;
}

static const struct vdm_admin_ops cls_ops = {
    .size = sizeof(struct vdm_admin_ops),
    .cap_words = 33,
    .cap_ids = caps,
    .opcodes = VDM_ADMIN_OPS_CAPS | VDM_ADMIN_OPS_RESOURCES,
    .cmd = cls_cmd,
};

static void cls_notify(struct vdm_dev *d, uint16_t q)
{
    (void)d;
    FZ_CHECK(q < NQ, "class notified for queue %u", q);
}

static void cls_reset(struct vdm_dev *d)
{
    (void)d;
    A.limit = 0;
    memset(A.objs, 0, sizeof(A.objs));
}

static void cls_queue_reset(struct vdm_dev *d, uint16_t q)
{
    (void)d;
    FZ_CHECK(q < NQ, "class queue reset for queue %u", q);
}

static const struct vdm_device_class cls_with = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 63,
    .name = "admin-fuzz",
    .max_queues = NQ,
    .reset = cls_reset,
    .queue_notify = cls_notify,
    .queue_reset = cls_queue_reset,
    .admin = &cls_ops,
};

static const struct vdm_device_class cls_plain = {
    .size = sizeof(struct vdm_device_class),
    .device_id = 63,
    .name = "admin-fuzz-plain",
    .max_queues = NQ,
    .reset = cls_reset,
    .queue_notify = cls_notify,
    .queue_reset = cls_queue_reset,
};

static uint64_t supported(void)
{
    return A.with_ops ? OPS_ALL : 0x3ull;
}

static void detach(void)
{
    if (A.live)
        drv_vq_fini(&A.dq);
    A.live = 0;
}

static void setup_admin_queue(void)
{
    static const uint8_t zero[16u * QMAXF];
    uint64_t feat = vdm_dev_features(&A.dev);

    detach();
    A.ring_suspect = 0;
    fm_write(A.rings[0], zero, 16u * A.qsize);
    fm_write(A.rings[1], zero, 6u + 2u * A.qsize);
    fm_write(A.rings[2], zero, 6u + 8u * A.qsize);
    vdm_dev_queue_set_size(&A.dev, NQ, A.qsize);
    vdm_dev_queue_set_addr(&A.dev, NQ, A.rings[0], A.rings[1], A.rings[2]);
    if (vdm_dev_queue_enable(&A.dev, NQ) != 0)
        return;
    if (drv_vq_init_at(&A.dq, fm_guest(), A.qsize,
                       feat & (DRV_F_INDIRECT | DRV_F_VERSION_1 | DRV_F_PACKED),
                       A.rings[0], A.rings[1], A.rings[2]) == 0)
        A.live = 1;
}

static void bring_up(void)
{
    detach();
    vdm_dev_set_status(&A.dev, 0);
    A.used_model = 0x3;
    A.model_valid = 1;
    vdm_dev_set_status(&A.dev, VDM_STATUS_ACKNOWLEDGE);
    vdm_dev_set_status(&A.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER);
    vdm_dev_set_driver_features(&A.dev,
                                A.want & vdm_dev_device_features(&A.dev));
    vdm_dev_set_status(&A.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                   VDM_STATUS_FEATURES_OK);
    setup_admin_queue();
    vdm_dev_set_status(&A.dev, vdm_dev_status(&A.dev) | VDM_STATUS_DRIVER_OK);
}

/* What the spec says the device answers for the group, opcode and member
 * checks, or 0xffffffff when they pass (the command itself decides). */
static uint32_t expected_check(uint16_t opcode, uint16_t group,
                               uint64_t member)
{
    uint64_t bit = opcode < 64 ? 1ull << opcode : 0;
    if (group != 0)
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, VDM_ADMIN_Q_INVALID_GROUP);
    if ((supported() & bit) == 0 || (A.used_model & bit) == 0)
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL,
                                VDM_ADMIN_Q_INVALID_OPCODE);
    if (opcode > VDM_ADMIN_CMD_LIST_USE && member != 0)
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL,
                                VDM_ADMIN_Q_INVALID_MEMBER);
    return 0xffffffffu;
}

static int status_known(uint16_t s)
{
    return s == 0 || s == 6 || s == 11 || s == 12 || s == 16 || s == 17 ||
           s == 22 || s == 28;
}

/* Split @p len bytes at @p gpa into @p n pieces. */
static unsigned pieces(struct drv_buf *b, uint64_t gpa, uint32_t len,
                       unsigned n)
{
    unsigned k = 0;
    if (len == 0)
        return 0;
    if (n > len)
        n = len;
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = len * i / n, e = len * (i + 1) / n;
        b[k++] = (struct drv_buf){gpa + a, e - a};
    }
    return k;
}

static void op_cmd(struct fz *f, uint16_t opcode, uint16_t group,
                   uint64_t member, const uint8_t *data, uint32_t dlen,
                   unsigned nr, uint32_t wlen, unsigned nw, int hostile)
{
    uint8_t rd[24 + 255], wr[1100];
    struct drv_buf out[8], in[8];
    unsigned no, ni;
    uint64_t rgpa, wgpa;
    int fresh_r = 1, fresh_w = 1;
    uint32_t id, len;
    int added, got;
    uint8_t st = vdm_dev_status(&A.dev);
    int serving = A.live &&
                  (st & (VDM_STATUS_DRIVER_OK | VDM_STATUS_DEVICE_NEEDS_RESET |
                         VDM_STATUS_FAILED | VDM_STATUS_SUSPEND)) ==
                      VDM_STATUS_DRIVER_OK;

    memset(rd, 0, 24);
    rd[0] = (uint8_t)opcode;
    rd[1] = (uint8_t)(opcode >> 8);
    rd[2] = (uint8_t)group;
    rd[3] = (uint8_t)(group >> 8);
    for (unsigned i = 0; i < 8; i++)
        rd[16 + i] = (uint8_t)(member >> (8 * i));
    memcpy(rd + 24, data, dlen);
    if (hostile) {
        rgpa = fm_gpa_ex(f, 24 + dlen, &fresh_r);
        wgpa = fm_gpa_ex(f, wlen, &fresh_w);
    } else {
        rgpa = fm_gpa_buf(24 + dlen);
        wgpa = fm_gpa_buf(wlen);
    }
    if (!A.live)
        return;
    if (fresh_r)
        fm_write(rgpa, rd, 24 + dlen);
    memset(wr, 0xa5, sizeof(wr));
    if (fresh_w)
        fm_write(wgpa, wr, wlen);
    no = pieces(out, rgpa, 24 + dlen, nr);
    ni = pieces(in, wgpa, wlen, nw);
    if (no + ni == 0)
        return;
    if (no == 0) { /* no readable part: the device reads zeros */
        opcode = 0;
        group = 0;
        member = 0;
        dlen = 0;
    }
    if (!fresh_r || !fresh_w || fm_buf_wrapped())
        A.model_valid = 0; /* what the device read is not known here */
    if (!fresh_w)
        A.ring_suspect = 1;
    added = drv_vq_add(&A.dq, out, no, in, ni, DRV_ADD_DIRECT, NULL);
    if (added < 0)
        return;
    drv_vq_publish(&A.dq);
    A.cmds++;
    (void)vdm_dev_queue_notify(&A.dev, NQ, NQ);
    /* Commands added while suspended were served at the resume or come
     * first now: skip to this one. */
    do
        got = drv_vq_get_used(&A.dq, &id, &len, NULL);
    while (got == 1 && id != (uint32_t)added);
    if (got < 0) {
        FZ_CHECK(!fresh_r || !fresh_w || fm_buf_wrapped() || !serving ||
                     A.ring_suspect,
                 "driver queue broken: %s", drv_vq_error(&A.dq));
        detach();
        return;
    }
    if (!serving) {
        /* Spec "Device Suspend" (and no queue before DRIVER_OK): nothing
         * is taken now; a resume may serve it unseen. */
        A.model_valid = 0;
        FZ_CHECK(got == 0 || (st & VDM_STATUS_SUSPEND) == 0,
                 "admin command answered while suspended");
        return;
    }
    if (!fresh_r || !fresh_w || fm_buf_wrapped() || A.ring_suspect ||
        (vdm_dev_status(&A.dev) & VDM_STATUS_DEVICE_NEEDS_RESET) != 0) {
        A.model_valid = 0;
        return;
    }
    FZ_CHECK(got == 1, "admin command not answered");
    FZ_CHECK(id == (uint32_t)added, "used id %u, added %d", id, added);
    A.answered++;
    FZ_CHECK(len <= wlen, "used %u of %u writable", len, wlen);
    FZ_CHECK(len >= (wlen < 8 ? wlen : 8), "used %u of %u: no status", len,
             wlen);
    uint32_t exp = expected_check(opcode, group, member);
    uint64_t use = 0;
    for (unsigned i = 0; i < 8 && i < dlen; i++)
        use |= (uint64_t)data[i] << (8 * i);
    int use_ok = exp == 0xffffffffu && opcode == VDM_ADMIN_CMD_LIST_USE &&
                 (use & ~supported()) == 0;
    int valid = A.model_valid;
    if (valid && use_ok)
        A.used_model = use;
    if (wlen < 4)
        return;
    FZ_CHECK(fm_read(wgpa, wr, wlen) == 0, "writable part unreadable");
    uint16_t s = (uint16_t)(wr[0] | wr[1] << 8);
    uint16_t q = (uint16_t)(wr[2] | wr[3] << 8);
    FZ_CHECK(status_known(s), "status %u", s);
    FZ_CHECK(s != 0 || q == 0, "qualifier %u with OK", q);
    for (uint32_t i = len; i < wlen; i++)
        FZ_CHECK(wr[i] == 0xa5, "byte %u written past the used length %u", i,
                 len);
    if (!valid) {
        /* a LIST_USE seen to succeed tells the list in use again */
        if (opcode == VDM_ADMIN_CMD_LIST_USE && group == 0 && s == 0) {
            A.used_model = use;
            A.model_valid = 1;
        }
        return;
    }
    if (exp != 0xffffffffu)
        FZ_CHECK(s == (exp & 0xffff) && q == exp >> 16,
                 "opcode %#x group %#x member %#llx: status %u/%u, spec %u/%u",
                 opcode, group, (unsigned long long)member, s, q,
                 exp & 0xffff, exp >> 16);
    else if (opcode == VDM_ADMIN_CMD_LIST_QUERY) {
        FZ_CHECK(s == 0, "LIST_QUERY failed %u", s);
        if (wlen >= 16) {
            uint64_t v = 0;
            for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t)wr[8 + i] << (8 * i);
            FZ_CHECK(v == supported(), "LIST_QUERY %#llx",
                     (unsigned long long)v);
        }
    } else if (opcode == VDM_ADMIN_CMD_LIST_USE) {
        FZ_CHECK((s == 0) == use_ok, "LIST_USE %#llx: %u",
                 (unsigned long long)use, s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t qsizes[7] = {1, 2, 4, 8, 16, 32, 64};
    struct vdm_dev_config dc = VDM_INIT(struct vdm_dev_config);
    struct fz f;

    fz_init(&f, data, size);
    uint8_t fl = fz_u8(&f);
    detach();
    memset(&A, 0, sizeof(A));
    A.qsize = qsizes[fz_u8(&f) % 7];
    fm_reset(fl & 1, 0);
    A.with_ops = (fl >> 2) & 1;
    A.want = VDM_F_VERSION_1 | VDM_F_ADMIN_VQ | VDM_F_INDIRECT_DESC |
             VDM_F_RING_RESET | ((fl & 2) ? VDM_F_RING_PACKED : 0) |
             ((fl & 8) ? VDM_F_SUSPEND : 0);
    A.hops = (struct vdm_host_ops){.size = sizeof(A.hops)};
    dc.num_queues = NQ;
    dc.queue_size_max = QMAXF;
    dc.features = (VDM_F_RING_ALL & ~VDM_F_IN_ORDER) | VDM_F_ADMIN_VQ |
                  VDM_F_SUSPEND;
    dc.cls = A.with_ops ? &cls_with : &cls_plain;
    dc.mem = fm_mem();
    dc.ops = &A.hops;
    dc.queues = A.queues;
    dc.slots = A.slots;
    FZ_CHECK(vdm_dev_init(&A.dev, &dc) == 0, "device init");
    /* the engine the PCI transport attaches (vdm_pci_init()): the target
     * drives the device core directly and stands in for it */
    vdmi_dev_admin_attach(&A.dev);
    for (int i = 0; i < 3; i++)
        A.rings[i] = fm_ring_alloc(i == 0 ? 16u * QMAXF : 6u + 8u * QMAXF,
                                   16);
    bring_up();

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 1024) {
        unsigned op = fz_u8(&f) % ADM_OP_COUNT;
        switch (op) {
        case ADM_OP_CMD: {
            uint8_t d[255];
            uint16_t opcode = fz_u16(&f), group = fz_u16(&f);
            uint64_t member = (fz_u8(&f) & 1) ? fz_u64(&f) : 0;
            uint32_t dlen = fz_u8(&f);
            memset(d, 0, sizeof(d));
            dlen = (uint32_t)fz_bytes(&f, d, dlen);
            unsigned nr = fz_u8(&f) % 4;
            uint32_t wlen = fz_u16(&f) % 1100;
            unsigned nw = fz_u8(&f) % 3 + 1;
            int hostile = fz_u8(&f) != 0;
            op_cmd(&f, opcode, group, member, d, dlen, nr, wlen, nw, hostile);
            break;
        }
        case ADM_OP_RESET: bring_up(); break;
        case ADM_OP_SUSPEND: {
            uint8_t st = vdm_dev_status(&A.dev);
            if (fz_u8(&f) & 1)
                vdm_dev_set_status(&A.dev, st | VDM_STATUS_DRIVER_OK);
            else
                vdm_dev_set_status(&A.dev, st | VDM_STATUS_SUSPEND);
            break;
        }
        case ADM_OP_STATUS: {
            uint8_t v = fz_u8(&f);
            vdm_dev_set_status(&A.dev, v);
            if (v == 0) {
                detach();
                A.used_model = 0x3;
                A.model_valid = 1;
            }
            break;
        }
        case ADM_OP_QRESET:
            if (vdm_dev_queue_reset(&A.dev, NQ) == 0) {
                FZ_CHECK(vdm_dev_queue_enabled(&A.dev, NQ) == 0,
                         "admin queue enabled after its reset");
                setup_admin_queue();
            }
            break;
        default: { /* ADM_OP_USE_ALL */
            uint8_t d[8];
            for (unsigned i = 0; i < 8; i++)
                d[i] = (uint8_t)(supported() >> (8 * i));
            op_cmd(&f, VDM_ADMIN_CMD_LIST_USE, 0, 0, d, 8, 1, 8, 1, 0);
            break;
        }
        }
    }
    vdm_dev_set_status(&A.dev, 0);
    detach();
    fm_check_released();
    if (fz_verbose())
        fprintf(stderr, "admin: %u commands, %u answered, %u reached the "
                        "device type\n",
                A.cmds, A.answered, A.hook_calls);
    return 0;
}
