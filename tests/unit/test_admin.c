/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The administration virtqueue (VIRTIO_F_ADMIN_VQ): the self group's
 * commands, directly and through the PCI transport (admin_queue_index,
 * admin_queue_num; MMIO and vhost-user cannot present it).
 *
 * The device under test has one normal queue (0) and the administration
 * queue (1). Its class serves two capabilities and one resource object
 * type the way a device type would (VIRTIO 1.4 defines none for the self
 * group in general): capability 0x800 is a resource limit (le32, the
 * device's is 4) for objects of type 0x200, capability 0x801 a flag bitmap
 * (le64, the device's is 0x5); an object holds 8 bytes.
 *
 * Spec (VIRTIO 1.4): "Device groups", "Group administration commands"
 * (status and status_qualifier tables, device requirements), "Device and
 * driver capabilities", "Device resource objects", "Administration
 * Virtqueues" (short and long buffers), "Common configuration structure
 * layout" (admin_queue_index, admin_queue_num), "Reserved Feature Bits"
 * (ADMIN_VQ is PCI only).
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/admin.h"
#include "vdm/kit.h"
#include "vdm/mmio.h"
#include "vdm/vhost_user.h"

#define QMAX 64
#define AQ   1 /* the administration queue's index */
#define AD_ID 63u

#define CAP_LIMIT 0x800u
#define CAP_FLAGS 0x801u
#define OBJ_TYPE  0x200u
#define DEV_LIMIT 4u
#define DEV_FLAGS 0x5ull
#define NOBJ      8u

#define SPLIT (VDM_F_VERSION_1 | VDM_F_INDIRECT_DESC)

#define S_OK     VDM_ADMIN_S_OK
#define S_EINVAL VDM_ADMIN_S_EINVAL
#define S_ENXIO  VDM_ADMIN_S_ENXIO

/* The device type: capabilities and resource objects of the test. */
struct ad {
    uint32_t drv_limit; /* driver capability CAP_LIMIT (0 until set) */
    uint64_t drv_flags;
    uint8_t live[NOBJ];
    uint8_t obj[NOBJ][8];
    unsigned notifies, resets, cmds;
};

static struct dh h;
static struct ad ad;

static const uint64_t ad_caps[33] = {[32] = 0x3}; /* ids 0x800, 0x801 */

static uint32_t ad_cmd(struct vdm_dev *d, const struct vdm_admin_cmd *c,
                       void *result, uint32_t cap, uint32_t *len)
{
    struct ad *a = vdm_dev_priv(d);
    uint8_t *out = result;
    const uint32_t bad =
        VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, VDM_ADMIN_Q_INVALID_FIELD);

    a->cmds++;
    ck_assert_uint_eq(c->reserved, 0);
    ck_assert_uint_ge(cap, 16);
    switch (c->opcode) {
    case VDM_ADMIN_CMD_DEVICE_CAP_GET:
        if (c->id16 == CAP_LIMIT) {
            drv_put_le32(out, DEV_LIMIT);
            *len = 4;
        } else {
            drv_put_le64(out, DEV_FLAGS);
            *len = 8;
        }
        return 0;
    case VDM_ADMIN_CMD_DRIVER_CAP_SET:
        if (c->id16 == CAP_LIMIT) {
            uint32_t v = drv_get_le32(c->data);
            unsigned i;
            if (v > DEV_LIMIT)
                return bad;
            for (i = v; i < NOBJ; i++) {
                if (a->live[i])
                    return VDM_ADMIN_RESULT(VDM_ADMIN_S_EBUSY, 0);
            }
            a->drv_limit = v;
        } else {
            uint64_t v = drv_get_le64(c->data);
            if ((v & ~DEV_FLAGS) != 0)
                return bad;
            a->drv_flags = v;
        }
        return 0;
    default:
        break;
    }
    /* resource objects */
    if (c->id16 != OBJ_TYPE || c->obj_id >= a->drv_limit)
        return bad;
    switch (c->opcode) {
    case VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE:
        if (a->live[c->obj_id])
            return VDM_ADMIN_RESULT(VDM_ADMIN_S_EEXIST, 0);
        a->live[c->obj_id] = 1;
        memcpy(a->obj[c->obj_id], c->data, 8);
        return 0;
    case VDM_ADMIN_CMD_RESOURCE_OBJ_MODIFY:
    case VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY:
    case VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY:
        if (!a->live[c->obj_id])
            return VDM_ADMIN_RESULT(VDM_ADMIN_S_ENXIO, 0);
        if (c->opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_MODIFY)
            memcpy(a->obj[c->obj_id], c->data, 8);
        else if (c->opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY) {
            memcpy(out, a->obj[c->obj_id], 8);
            *len = 8;
        } else
            a->live[c->obj_id] = 0;
        return 0;
    default: return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, 1);
    }
}

static const struct vdm_admin_ops ad_ops = {
    .size = sizeof(struct vdm_admin_ops),
    .cap_words = 33,
    .cap_ids = ad_caps,
    .opcodes = VDM_ADMIN_OPS_CAPS | VDM_ADMIN_OPS_RESOURCES,
    .cmd = ad_cmd,
};

static void ad_notify(struct vdm_dev *d, uint16_t q)
{
    struct ad *a = vdm_dev_priv(d);
    ck_assert_uint_eq(q, 0); /* never the administration queue */
    a->notifies++;
}

static void ad_reset(struct vdm_dev *d)
{
    struct ad *a = vdm_dev_priv(d);
    unsigned r = a->resets + 1;
    /* spec: a reset drops driver capabilities and resource objects */
    memset(a, 0, sizeof(*a));
    a->resets = r;
}

static void ad_queue_reset(struct vdm_dev *d, uint16_t q)
{
    (void)d;
    ck_assert_uint_eq(q, 0);
}

static const struct vdm_device_class ad_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = AD_ID,
    .name = "admin-test",
    .max_queues = 1,
    .reset = ad_reset,
    .queue_notify = ad_notify,
    .queue_reset = ad_queue_reset,
    .admin = &ad_ops,
};

static const struct vdm_device_class plain_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = AD_ID,
    .name = "admin-plain",
    .max_queues = 1,
    .queue_notify = ad_notify,
};

/* The administration engine (src/admin.c) is the PCI transport's to
 * attach (vdm_pci_init()): driving the device core directly, the test
 * stands in for it; through PCI (DH_TRANSPORT=pci) every test here checks
 * that the transport attached it. */
static void attach_engine(void)
{
    if (h.transport == DH_TP_DIRECT)
        vdmi_dev_admin_attach(&h.dev);
}

/* A device of class @p cls offering @p features over the suite's
 * transport with the engine attached, or (@p direct) driven without a
 * transport and without the engine. */
static void make_dev(const struct vdm_device_class *cls, unsigned nregions,
                     uint64_t features, bool direct)
{
    struct dh_opts o = {.num_queues = 2, .qsize = QMAX, .nregions = nregions};
    struct vdm_dev_config dc;

    if (direct)
        o.transport = DH_TP_DIRECT;
    memset(&ad, 0, sizeof(ad));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    dc = h.base;
    dc.num_queues = 1; /* the arrays hold one more: the admin queue */
    dc.cls = cls;
    dc.priv = &ad;
    dc.features = features;
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
    if (!direct)
        attach_engine();
}

static void make(const struct vdm_device_class *cls, unsigned nregions)
{
    make_dev(cls, nregions, VDM_F_ADMIN_VQ | VDM_F_INDIRECT_DESC, false);
}

static void bring_up(void)
{
    ck_assert_int_eq(dh_negotiate(&h, SPLIT | VDM_F_ADMIN_VQ), 0);
    ck_assert_uint_ne(h.features & VDM_F_ADMIN_VQ, 0);
    ck_assert_int_eq(dh_setup_queue(&h, 0, 0), 0);
    ck_assert_int_eq(dh_setup_queue(&h, AQ, 0), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);
}

static void start_cls(const struct vdm_device_class *cls, unsigned nregions)
{
    UT_NEEDS_OPTION(VDM_CONFIG_ADMIN_VQ);
    make(cls, nregions);
    bring_up();
}

static void start(void)
{
    start_cls(&ad_class, 1);
}

static void teardown(void)
{
    dh_fini(&h);
}

/* One command. */
struct cmd {
    uint16_t opcode, group;
    uint64_t member;
    uint8_t data[64];
    uint32_t dlen;
    uint32_t wlen; /* writable bytes (0: 64) */
    /* answer */
    uint32_t used;
    uint16_t status, qual;
    uint8_t res[512]; /* command_specific_result as written */
    uint64_t wgpa;
};

static void put_cmd_hdr(uint8_t *p, const struct cmd *c)
{
    memset(p, 0, 24);
    drv_put_le16(p, c->opcode);
    drv_put_le16(p + 2, c->group);
    drv_put_le64(p + 16, c->member);
}

/* Add @p out / @p in, notify the administration queue, take the answer. */
static void roundtrip(struct cmd *c, const struct drv_buf *out, unsigned nout,
                      const struct drv_buf *in, unsigned nin)
{
    uint32_t id, len;
    int added = drv_vq_add(dh_vq(&h, AQ), out, nout, in, nin, DRV_ADD_DIRECT,
                           NULL);

    ck_assert_int_ge(added, 0);
    (void)dh_kick(&h, AQ, 1);
    dh_service(&h);
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, AQ), &id, &len, NULL), 1);
    ck_assert_uint_eq(id, (uint32_t)added);
    c->used = len;
}

static uint16_t run(struct cmd *c)
{
    uint32_t wlen = c->wlen != 0 ? c->wlen : 64;
    uint64_t rd = dh_alloc(&h, 24 + c->dlen, 8);
    uint64_t wr = dh_alloc(&h, wlen, 8);
    uint8_t *w = dh_ptr(&h, wr, wlen);
    struct drv_buf ob = {rd, 24 + c->dlen}, ib = {wr, wlen};

    put_cmd_hdr(dh_ptr(&h, rd, 24), c);
    memcpy((uint8_t *)dh_ptr(&h, rd, 24 + c->dlen) + 24, c->data, c->dlen);
    memset(w, 0xa5, wlen);
    roundtrip(c, &ob, 1, &ib, 1);
    ck_assert_uint_le(c->used, wlen);
    c->wgpa = wr;
    /* Spec: the device MUST initialise status and status_qualifier, and a
     * multiple of 64 bits. */
    ck_assert_uint_ge(c->used, 8);
    ck_assert_uint_eq(c->used % 8, 0);
    c->status = drv_get_le16(w);
    c->qual = drv_get_le16(w + 2);
    ck_assert_uint_eq(drv_get_le32(w + 4), 0); /* reserved2 */
    memset(c->res, 0, sizeof(c->res));
    memcpy(c->res, w + 8, c->used - 8);
    if (c->status == S_OK)
        ck_assert_uint_eq(c->qual, VDM_ADMIN_Q_OK);
    else
        ck_assert_uint_eq(c->used, 8); /* no result with an error */
    /* nothing written past the used length */
    for (uint32_t i = c->used; i < wlen; i++)
        ck_assert_uint_eq(w[i], 0xa5);
    return c->status;
}

static void expect(uint16_t opcode, uint16_t group, uint64_t member,
                   uint16_t status, uint16_t qual)
{
    struct cmd c = {.opcode = opcode, .group = group, .member = member};
    ck_assert_uint_eq(run(&c), status);
    ck_assert_uint_eq(c.qual, qual);
}

static void list_use(uint64_t ops, uint16_t status, uint16_t qual)
{
    struct cmd c = {.opcode = VDM_ADMIN_CMD_LIST_USE, .dlen = 8};
    drv_put_le64(c.data, ops);
    ck_assert_uint_eq(run(&c), status);
    ck_assert_uint_eq(c.qual, qual);
}

#define ALL_OPS (0x3ull | VDM_ADMIN_OPS_CAPS | VDM_ADMIN_OPS_RESOURCES)

static void use_all(void)
{
    list_use(ALL_OPS, S_OK, 0);
}

/* One object command: type, id, flags, 8 bytes of data. */
static uint16_t obj(uint16_t opcode, uint16_t type, uint32_t id,
                    const char *data, struct cmd *out)
{
    struct cmd c = {.opcode = opcode, .dlen = 24};
    drv_put_le16(c.data, type);
    drv_put_le32(c.data + 4, id);
    if (data != NULL)
        memcpy(c.data + 16, data, 8);
    if (opcode == VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY)
        c.dlen = 8;
    run(&c);
    if (out != NULL)
        *out = c;
    return c.status;
}

static uint16_t cap_cmd(uint16_t opcode, uint16_t id, uint64_t val,
                        struct cmd *out)
{
    struct cmd c = {.opcode = opcode, .dlen = 16};
    drv_put_le16(c.data, id);
    drv_put_le64(c.data + 8, val);
    run(&c);
    if (out != NULL)
        *out = c;
    return c.status;
}

/* ------------------------------------------------------------------------ */

/* "Reserved Feature Bits": ADMIN_VQ is offered only when the host asks;
 * it is PCI only, so MMIO and vhost-user refuse such a device. */
START_TEST(admin_offer_and_transports)
{
    struct vdm_mmio m;
    struct vdm_mmio_config mc = VDM_INIT(struct vdm_mmio_config);

    UT_NEEDS_OPTION(VDM_CONFIG_ADMIN_VQ);
    make(&ad_class, 1);
    ck_assert_uint_ne(vdm_dev_device_features(&h.dev) & VDM_F_ADMIN_VQ, 0);
    ck_assert_uint_eq(vdm_dev_num_queues(&h.dev), 1);
    ck_assert_uint_eq(vdm_dev_admin_queue_num(&h.dev), 1);
    ck_assert_int_eq(vdm_mmio_init(&m, &h.dev, &mc), VDM_ENOTSUP);
    /* Without the request, nothing changes. */
    {
        struct vdm_dev d2;
        struct vdm_dev_config dc = h.base;
        dc.num_queues = 1;
        dc.cls = &ad_class;
        dc.priv = &ad;
        ck_assert_int_eq(vdm_dev_init(&d2, &dc), 0);
        ck_assert_uint_eq(vdm_dev_device_features(&d2) & VDM_F_ADMIN_VQ, 0);
        ck_assert_uint_eq(vdm_dev_admin_queue_num(&d2), 0);
        ck_assert_int_eq(vdm_mmio_init(&m, &d2, &mc), 0);
    }
}
END_TEST

/* The size profile (vdm/config.h VDM_CONFIG_ADMIN_VQ): without the admin
 * virtqueue built in, a device asking for it is refused (VDM_ENOTSUP) and
 * the device kit never passes the bit on; with it, both work. Runs in
 * every profile. */
START_TEST(admin_follows_profile)
{
    struct dh_opts o = {.num_queues = 2, .qsize = QMAX};
    struct vdm_dev_config dc;

    memset(&ad, 0, sizeof(ad));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    dc = h.base;
    dc.num_queues = 1;
    dc.cls = &ad_class;
    dc.priv = &ad;
    dc.features = VDM_F_ADMIN_VQ;
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc),
                     VDM_CONFIG_ADMIN_VQ ? 0 : VDM_ENOTSUP);
    ck_assert_uint_eq(vdm_kit_features(0, VDM_F_ADMIN_VQ, 0) & VDM_F_ADMIN_VQ,
                      VDM_CONFIG_ADMIN_VQ ? VDM_F_ADMIN_VQ : 0);
    dc.features = 0;
    ck_assert_int_eq(vdm_dev_init(&h.dev, &dc), 0);
    ck_assert_uint_eq(vdm_dev_admin_queue_num(&h.dev), 0);
}
END_TEST

/* "Common configuration structure layout": num_queues excludes the
 * administration queue; admin_queue_index >= num_queues; admin_queue_num
 * is the count. The driver sets the queue up at that index. */
START_TEST(admin_pci_common_fields)
{
    start();
    if (h.transport == DH_TP_PCI) {
        ck_assert_uint_eq(
            drv_pci_common_rd(&h.pci, VDM_PCI_COMMON_NUMQ, 2), 1);
        ck_assert_uint_eq(
            drv_pci_common_rd(&h.pci, VDM_PCI_COMMON_ADM_Q_IDX, 2), 1);
        ck_assert_uint_eq(
            drv_pci_common_rd(&h.pci, VDM_PCI_COMMON_ADM_Q_NUM, 2), 1);
        /* read-only for the driver */
        drv_pci_common_wr(&h.pci, VDM_PCI_COMMON_ADM_Q_IDX, 2, 7);
        ck_assert_uint_eq(
            drv_pci_common_rd(&h.pci, VDM_PCI_COMMON_ADM_Q_IDX, 2), 1);
        /* the admin queue's notify address and vector work (below) */
    }
    ck_assert_int_eq(vdm_dev_queue_enabled(&h.dev, AQ), 1);
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_OK, 0);
    ck_assert_uint_eq(ad.notifies, 0);
}
END_TEST

/* "Group administration commands": LIST_QUERY answers the supported
 * opcodes (bits 0 and 1 always set); until LIST_USE only LIST_QUERY and
 * LIST_USE are in use; LIST_USE of an unsupported opcode is EINVAL with
 * INVALID_FIELD and changes nothing; commands outside the list in use are
 * EINVAL with INVALID_OPCODE; the driver may block the list commands. */
START_TEST(admin_list_query_use)
{
    struct cmd c = {.opcode = VDM_ADMIN_CMD_LIST_QUERY};

    start();
    ck_assert_uint_eq(run(&c), S_OK);
    ck_assert_uint_eq(c.used, 16);
    ck_assert_uint_eq(drv_get_le64(c.res), ALL_OPS);
    /* not yet in use */
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    /* an opcode not supported (LEGACY_COMMON_CFG_WRITE, 2): refused */
    list_use(ALL_OPS | (1ull << 2), S_EINVAL, VDM_ADMIN_Q_INVALID_FIELD);
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    /* a longer list with more all-zero words, or junk past the expected
     * length ("Administration Virtqueues": ignored) */
    {
        struct cmd u = {.opcode = VDM_ADMIN_CMD_LIST_USE, .dlen = 24};
        drv_put_le64(u.data, 0x3ull | VDM_ADMIN_OPS_CAPS);
        drv_put_le64(u.data + 16, 0xffff);
        ck_assert_uint_eq(run(&u), S_OK);
        ck_assert_uint_eq(u.used, 8);
    }
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_OK, 0);
    expect(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    use_all();
    /* the driver blocks LIST_QUERY and LIST_USE */
    list_use(VDM_ADMIN_OPS_CAPS, S_OK, 0);
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    list_use(ALL_OPS, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    /* a reset brings back the initial list */
    dh_reset(&h);
    bring_up();
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_OK, 0);
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    use_all();
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_OK, 0);
}
END_TEST

/* "Group administration commands", device requirements: the group type is
 * checked first (INVALID_GROUP: only the self group exists here, SR-IOV
 * included), then the opcode (INVALID_OPCODE: unknown, reserved 0x8000+,
 * legacy), then the member id where the command uses it (INVALID_MEMBER:
 * the self group's only member is 0; LIST_QUERY and LIST_USE ignore it). */
START_TEST(admin_validation_order)
{
    start();
    use_all();
    expect(0x7777, VDM_ADMIN_GROUP_SRIOV, 3, S_EINVAL,
           VDM_ADMIN_Q_INVALID_GROUP);
    expect(VDM_ADMIN_CMD_LIST_QUERY, VDM_ADMIN_GROUP_SRIOV, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_GROUP);
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0xffff, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_GROUP);
    expect(0x0013, 0, 0, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    expect(0x8000, 0, 0, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    expect(0xffff, 0, 7, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    expect(0x0002, 0, 0, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    expect(0x0011, 0, 0, S_EINVAL, VDM_ADMIN_Q_INVALID_OPCODE);
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 1, S_EINVAL,
           VDM_ADMIN_Q_INVALID_MEMBER);
    expect(VDM_ADMIN_CMD_DEVICE_CAP_GET, 0, ~0ull, S_EINVAL,
           VDM_ADMIN_Q_INVALID_MEMBER);
    expect(VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY, 0, 1ull << 63, S_EINVAL,
           VDM_ADMIN_Q_INVALID_MEMBER);
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 12345, S_OK, 0);
    ck_assert_uint_eq(ad.cmds, 0); /* none reached the device type */
}
END_TEST

/* "Device and driver capabilities": CAP_ID_LIST_QUERY answers the bitmap
 * (ids 0x800 and 0x801: 33 words); DEVICE_CAP_GET and DRIVER_CAP_SET of
 * an id not reported are ENXIO; the device type checks values against its
 * own (EINVAL) and refuses to shrink below live objects (EBUSY). */
START_TEST(admin_capabilities)
{
    struct cmd c = {.opcode = VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, .wlen = 512};

    start();
    use_all();
    ck_assert_uint_eq(run(&c), S_OK);
    ck_assert_uint_eq(c.used, 8 + 33 * 8);
    for (unsigned i = 0; i < 32; i++)
        ck_assert_uint_eq(drv_get_le64(c.res + 8 * i), 0);
    ck_assert_uint_eq(drv_get_le64(c.res + 8 * 32), 0x3);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DEVICE_CAP_GET, CAP_LIMIT, 0, &c),
                      S_OK);
    ck_assert_uint_eq(c.used, 16); /* 4 bytes, padded to 64 bits */
    ck_assert_uint_eq(drv_get_le32(c.res), DEV_LIMIT);
    ck_assert_uint_eq(drv_get_le32(c.res + 4), 0);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DEVICE_CAP_GET, CAP_FLAGS, 0, &c),
                      S_OK);
    ck_assert_uint_eq(drv_get_le64(c.res), DEV_FLAGS);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DEVICE_CAP_GET, 0x802, 0, &c),
                      S_ENXIO);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DEVICE_CAP_GET, 0x0, 0, &c),
                      S_ENXIO);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, 0xffff, 1, &c),
                      S_ENXIO);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_LIMIT, 5, &c),
                      S_EINVAL);
    ck_assert_uint_eq(c.qual, VDM_ADMIN_Q_INVALID_FIELD);
    ck_assert_uint_eq(ad.drv_limit, 0);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_LIMIT, 2, &c),
                      S_OK);
    ck_assert_uint_eq(c.used, 8);
    ck_assert_uint_eq(ad.drv_limit, 2);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_FLAGS, 2, &c),
                      S_EINVAL);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_FLAGS, 4, &c),
                      S_OK);
    ck_assert_uint_eq(ad.drv_flags, 4);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 1,
                          "12345678", NULL),
                      S_OK);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_LIMIT, 1, &c),
                      VDM_ADMIN_S_EBUSY);
    ck_assert_uint_eq(ad.drv_limit, 2);
}
END_TEST

/* "Device resource objects": create, query (the data of the last create
 * or modify), modify, destroy; EEXIST on a second create, ENXIO on a
 * missing object, EINVAL for an id at or past the driver's limit or an
 * unknown type; a destroyed id can be created again; a reset destroys
 * every object and the driver capabilities. */
START_TEST(admin_resource_objects)
{
    struct cmd c;

    start();
    use_all();
    /* no driver limit yet: treated as 0 */
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 0,
                          "abcdefgh", NULL),
                      S_EINVAL);
    ck_assert_uint_eq(cap_cmd(VDM_ADMIN_CMD_DRIVER_CAP_SET, CAP_LIMIT, 2, &c),
                      S_OK);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 0,
                          "abcdefgh", &c),
                      S_OK);
    ck_assert_uint_eq(c.used, 8);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 0,
                          "zzzzzzzz", NULL),
                      VDM_ADMIN_S_EEXIST);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 2,
                          "zzzzzzzz", &c),
                      S_EINVAL);
    ck_assert_uint_eq(c.qual, VDM_ADMIN_Q_INVALID_FIELD);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, 0x201, 0,
                          "zzzzzzzz", NULL),
                      S_EINVAL);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY, OBJ_TYPE, 0, NULL, &c), S_OK);
    ck_assert_uint_eq(c.used, 16);
    ck_assert_mem_eq(c.res, "abcdefgh", 8);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_MODIFY, OBJ_TYPE, 0,
                          "ABCDEFGH", NULL),
                      S_OK);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY, OBJ_TYPE, 0, NULL, &c), S_OK);
    ck_assert_mem_eq(c.res, "ABCDEFGH", 8);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY, OBJ_TYPE, 1, NULL, NULL),
        S_ENXIO);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_MODIFY, OBJ_TYPE, 1,
                          "ABCDEFGH", NULL),
                      S_ENXIO);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY, OBJ_TYPE, 0, NULL, NULL),
        S_OK);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY, OBJ_TYPE, 0, NULL, NULL),
        S_ENXIO);
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY, OBJ_TYPE, 0, NULL, NULL),
        S_ENXIO);
    ck_assert_uint_eq(obj(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, OBJ_TYPE, 0,
                          "again...", NULL),
                      S_OK);
    /* reset: everything gone, the list too */
    dh_reset(&h);
    ck_assert_uint_eq(ad.drv_limit, 0);
    ck_assert_uint_eq(ad.live[0], 0);
    bring_up();
    use_all();
    ck_assert_uint_eq(
        obj(VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY, OBJ_TYPE, 0, NULL, NULL),
        S_EINVAL);
}
END_TEST

/* A device type without admin ops: only the two list commands exist. */
START_TEST(admin_no_class_ops)
{
    struct cmd c = {.opcode = VDM_ADMIN_CMD_LIST_QUERY};

    start_cls(&plain_class, 1);
    ck_assert_uint_eq(run(&c), S_OK);
    ck_assert_uint_eq(drv_get_le64(c.res), 0x3);
    list_use(ALL_OPS, S_EINVAL, VDM_ADMIN_Q_INVALID_FIELD);
    list_use(0x3, S_OK, 0);
    expect(VDM_ADMIN_CMD_CAP_ID_LIST_QUERY, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
    expect(VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE, 0, 0, S_EINVAL,
           VDM_ADMIN_Q_INVALID_OPCODE);
}
END_TEST

/* "Administration Virtqueues", device requirements: a device-readable part
 * shorter than the structure reads as zeros; a device-writable part
 * shorter than the answer gets what fits; longer parts are ignored past
 * the structure and the used length is what was written. The device MUST
 * NOT fail a command for the length of its buffers. */
START_TEST(admin_short_and_long_buffers)
{
    struct cmd c = {0};
    uint8_t *w;
    uint64_t rd, wr;
    struct drv_buf ob, ib;

    start();
    /* readable part of 2 bytes: opcode LIST_QUERY, the rest zero */
    rd = dh_alloc(&h, 2, 8);
    wr = dh_alloc(&h, 64, 8);
    drv_put_le16(dh_ptr(&h, rd, 2), VDM_ADMIN_CMD_LIST_QUERY);
    ob = (struct drv_buf){rd, 2};
    ib = (struct drv_buf){wr, 64};
    w = dh_ptr(&h, wr, 64);
    memset(w, 0xa5, 64);
    roundtrip(&c, &ob, 1, &ib, 1);
    ck_assert_uint_eq(c.used, 16);
    ck_assert_uint_eq(drv_get_le16(w), S_OK);
    ck_assert_uint_eq(drv_get_le64(w + 8), ALL_OPS);
    /* no readable part at all: opcode 0 (LIST_QUERY), group 0 */
    memset(w, 0xa5, 64);
    roundtrip(&c, NULL, 0, &ib, 1);
    ck_assert_uint_eq(c.used, 16);
    ck_assert_uint_eq(drv_get_le16(w), S_OK);
    /* writable part of 4 bytes: status and qualifier only */
    {
        struct cmd e = {.opcode = 0x55};
        uint64_t r2 = dh_alloc(&h, 24, 8);
        put_cmd_hdr(dh_ptr(&h, r2, 24), &e);
        ob = (struct drv_buf){r2, 24};
        ib = (struct drv_buf){wr, 4};
        memset(w, 0xa5, 64);
        roundtrip(&c, &ob, 1, &ib, 1);
        ck_assert_uint_eq(c.used, 4);
        ck_assert_uint_eq(drv_get_le16(w), S_EINVAL);
        ck_assert_uint_eq(drv_get_le16(w + 2), VDM_ADMIN_Q_INVALID_OPCODE);
        ck_assert_uint_eq(w[4], 0xa5);
        /* 12 bytes for a LIST_QUERY: the header and half the result */
        e.opcode = VDM_ADMIN_CMD_LIST_QUERY;
        put_cmd_hdr(dh_ptr(&h, r2, 24), &e);
        ib = (struct drv_buf){wr, 12};
        memset(w, 0xa5, 64);
        roundtrip(&c, &ob, 1, &ib, 1);
        ck_assert_uint_eq(c.used, 12);
        ck_assert_uint_eq(drv_get_le32(w + 8), (uint32_t)ALL_OPS);
        ck_assert_uint_eq(w[12], 0xa5);
        /* no writable part: nothing to answer in, the buffer comes back */
        roundtrip(&c, &ob, 1, NULL, 0);
        ck_assert_uint_eq(c.used, 0);
    }
    /* a 4 KiB writable part: 16 bytes used, the rest untouched */
    {
        struct cmd l = {.opcode = VDM_ADMIN_CMD_LIST_QUERY, .wlen = 4096};
        ck_assert_uint_eq(run(&l), S_OK);
        ck_assert_uint_eq(l.used, 16);
    }
    /* the queue still works */
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_OK, 0);
    ck_assert_uint_eq(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

/* DESIGN.md "The guest is hostile": a command in one-byte pieces, more
 * spans than the device takes at once, and a command across two guest
 * memory regions (separate host mappings) are all answered in place. */
START_TEST(admin_scattered_and_cross_region)
{
    struct cmd c = {0};
    struct drv_buf ob[24], ib[2];
    uint8_t hdr[24], *w;
    uint64_t base, wr;

    start_cls(&ad_class, 2);
    /* 24 one-byte readable spans + a writable one: the first 16 spans are
     * taken, the command still gets an answer (the writable span is not
     * among them: used length 0) and the queue keeps working */
    memset(hdr, 0, sizeof(hdr));
    base = dh_alloc(&h, 24, 8);
    for (unsigned i = 0; i < 24; i++)
        ob[i] = (struct drv_buf){base + i, 1};
    wr = dh_alloc(&h, 16, 8);
    ib[0] = (struct drv_buf){wr, 16};
    roundtrip(&c, ob, 24, ib, 1);
    ck_assert_uint_le(c.used, 16);
    /* the header in 8 pieces of 3 bytes, answer in two pieces of 8 */
    {
        struct cmd q = {.opcode = VDM_ADMIN_CMD_LIST_QUERY, .member = 99};
        uint64_t w2 = dh_alloc(&h, 8, 8);
        put_cmd_hdr(hdr, &q);
        memcpy(dh_ptr(&h, base, 24), hdr, 24);
        for (unsigned i = 0; i < 8; i++)
            ob[i] = (struct drv_buf){base + 3 * i, 3};
        ib[1] = (struct drv_buf){w2, 8};
        memset(dh_ptr(&h, wr, 16), 0xa5, 16);
        memset(dh_ptr(&h, w2, 8), 0xa5, 8);
        roundtrip(&c, ob, 8, ib, 2);
        ck_assert_uint_eq(c.used, 16);
        w = dh_ptr(&h, wr, 16);
        ck_assert_uint_eq(drv_get_le16(w), S_OK);
        ck_assert_uint_eq(drv_get_le64(w + 8), ALL_OPS);
        ck_assert_uint_eq(drv_get_le64(dh_ptr(&h, w2, 8)), 0xa5a5a5a5a5a5a5a5ull);
    }
    /* across the boundary of the two regions */
    {
        uint64_t edge = h.regions[1].gpa;
        struct cmd q = {.opcode = VDM_ADMIN_CMD_LIST_QUERY};
        uint8_t *lo = dh_ptr(&h, edge - 12, 12), *hi = dh_ptr(&h, edge, 28);
        ck_assert_ptr_nonnull(lo);
        ck_assert_ptr_nonnull(hi);
        ck_assert_ptr_null(dh_ptr(&h, edge - 12, 24));
        put_cmd_hdr(hdr, &q);
        memcpy(lo, hdr, 12);
        memcpy(hi, hdr + 12, 12);
        memset(hi + 12, 0xa5, 16);
        ob[0] = (struct drv_buf){edge - 12, 24};
        ib[0] = (struct drv_buf){edge + 12, 16};
        roundtrip(&c, ob, 1, ib, 1);
        ck_assert_uint_eq(c.used, 16);
        ck_assert_uint_eq(drv_get_le16(hi + 12), S_OK);
        ck_assert_uint_eq(drv_get_le64(hi + 20), ALL_OPS);
    }
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_OK, 0);
}
END_TEST

/* "Message Framing" / DESIGN.md: a chain with a device-readable part after
 * a device-writable one is a protocol violation: the device needs reset
 * (with a config change notice), nothing is answered, a reset heals. */
START_TEST(admin_write_then_read_breaks_queue)
{
    uint64_t a, b;
    struct drv_vq *vq;
    unsigned cfg;
    uint16_t head;

    start();
    cfg = h.irq_config;
    vq = dh_vq(&h, AQ);
    a = dh_alloc(&h, 16, 8);
    b = dh_alloc(&h, 24, 8);
    /* descriptor 0 writable, then descriptor 1 readable */
    head = 0;
    drv_vq_raw_desc(vq, 0, a, 16, 1 | 2, 1);
    drv_vq_raw_desc(vq, 1, b, 24, 0, 0);
    drv_vq_raw_avail(vq, 0, head);
    drv_vq_raw_avail_idx(vq, 1);
    /* the transports' entry point (dh_kick would publish the driver
     * simulator's own avail index over the raw one) */
    ck_assert_int_eq(vdm_dev_queue_notify(&h.dev, AQ, AQ), 0);
    dh_service(&h);
    ck_assert_uint_ne(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    ck_assert_uint_eq(h.irq_config - cfg, 1);
    dh_reset(&h);
    bring_up();
    expect(VDM_ADMIN_CMD_LIST_QUERY, 0, 0, S_OK, 0);
}
END_TEST

/* "Device Suspend": the administration queue is a virtqueue too: nothing
 * is taken while suspended; the commands are served on resume. */
/* The driver adds a LIST_QUERY command (24 bytes) with a 16-byte result
 * buffer to the administration queue. */
static void add_list_query(void)
{
    struct cmd c = {.opcode = VDM_ADMIN_CMD_LIST_QUERY};
    uint64_t rd = dh_alloc(&h, 24, 8);
    uint64_t wr = dh_alloc(&h, 16, 8);
    struct drv_buf ob = {rd, 24};
    struct drv_buf ib = {wr, 16};

    put_cmd_hdr(dh_ptr(&h, rd, 24), &c);
    ck_assert_int_ge(
        drv_vq_add(dh_vq(&h, AQ), &ob, 1, &ib, 1, DRV_ADD_DIRECT, NULL), 0);
}

START_TEST(admin_queue_quiet_while_suspended)
{
    uint32_t len;
    uint8_t st;

    UT_NEEDS_OPTION(VDM_CONFIG_ADMIN_VQ);
    make_dev(&ad_class, 0, VDM_F_ADMIN_VQ | VDM_F_SUSPEND, false);
    ck_assert_int_eq(dh_negotiate(&h, SPLIT | VDM_F_ADMIN_VQ | VDM_F_SUSPEND),
                     0);
    ck_assert_int_eq(dh_setup_queue(&h, 0, 0), 0);
    ck_assert_int_eq(dh_setup_queue(&h, AQ, 0), 0);
    ck_assert_int_eq(dh_driver_ok(&h), 0);
    st = dh_status(&h);
    ck_assert_int_eq(dh_set_status(&h, st | VDM_STATUS_SUSPEND), 0);
    st = dh_status(&h);
    ck_assert_uint_eq(st & VDM_STATUS_DRIVER_OK, 0);
    add_list_query();
    (void)dh_kick(&h, AQ, 1);
    dh_service(&h);
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, AQ), NULL, &len, NULL), 0);
    ck_assert_int_eq(dh_set_status(&h, st | VDM_STATUS_DRIVER_OK), 0);
    dh_service(&h);
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, AQ), NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 16);
}
END_TEST

/* "Reserved Feature Bits": VIRTIO_F_ADMIN_VQ is for the PCI transport
 * only, and the PCI transport brings the engine that serves the queue
 * (so that an image without it does not link the engine). A device core
 * driven without it (no engine attached: MMIO and vhost-user refuse such a
 * device, so only a hand-made transport gets here) ignores a notification
 * of the administration queue with a warning: nothing is taken from the
 * ring, the device stays healthy; once the engine is attached, the same
 * command is answered. */
START_TEST(admin_notify_without_engine_ignored)
{
    uint32_t len;
    unsigned warn;

    UT_NEEDS_OPTION(VDM_CONFIG_ADMIN_VQ);
    make_dev(&ad_class, 0, VDM_F_ADMIN_VQ, true);
    bring_up();
    add_list_query();
    warn = h.nwarn;
    ck_assert_int_eq(dh_kick(&h, AQ, 1), 0);
    dh_service(&h);
    ck_assert_uint_eq(h.nwarn - warn, 1);
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, AQ), NULL, &len, NULL), 0);
    ck_assert_uint_eq(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
    ck_assert_uint_eq(ad.notifies, 0); /* not the device type's either */
    /* the engine attached, the command waiting in the ring is served */
    vdmi_dev_admin_attach(&h.dev);
    warn = h.nwarn;
    ck_assert_int_eq(dh_kick(&h, AQ, 1), 0);
    dh_service(&h);
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, AQ), NULL, &len, NULL), 1);
    ck_assert_uint_eq(len, 16);
    ck_assert_uint_eq(h.nwarn, warn);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("self-group");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, admin_follows_profile);
    tcase_add_test(tc, admin_offer_and_transports);
    tcase_add_test(tc, admin_notify_without_engine_ignored);
    tcase_add_test(tc, admin_pci_common_fields);
    tcase_add_test(tc, admin_list_query_use);
    tcase_add_test(tc, admin_validation_order);
    tcase_add_test(tc, admin_capabilities);
    tcase_add_test(tc, admin_resource_objects);
    tcase_add_test(tc, admin_no_class_ops);
    tcase_add_test(tc, admin_short_and_long_buffers);
    tcase_add_test(tc, admin_scattered_and_cross_region);
    tcase_add_test(tc, admin_write_then_read_breaks_queue);
    tcase_add_test(tc, admin_queue_quiet_while_suspended);
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
