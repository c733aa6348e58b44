/* SPDX-License-Identifier: BSD-3-Clause */
/* The administration virtqueue (VIRTIO_F_ADMIN_VQ): group administration
 * commands of the self group, served synchronously by the device core.
 *
 * Spec: "Group administration commands" (struct virtio_admin_cmd, status
 * and status_qualifier values, LIST_QUERY / LIST_USE and the device
 * requirements), "Device and driver capabilities", "Device resource
 * objects", "Administration Virtqueues" (short and long buffers). */
#include "vdm/admin.h"

#include <stddef.h>

#include "vdm/le.h"
#include "abi_internal.h"
#include "admin_internal.h"
#include "device_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 13
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

#if VDM_CONFIG_ADMIN_VQ

/* LIST_QUERY and LIST_USE (device_internal.h). */
#define LIST_OPS VDMI_ADMIN_LIST_OPS

/* struct virtio_admin_cmd: device-readable header (opcode, group_type,
 * reserved1[12], group_member_id) and device-writable header (status,
 * status_qualifier, reserved2[4]). */
#define CMD_HDR 24u
#define RES_HDR 8u
/* Spans of one command taken at a time: more are answered with the first
 * ones (Linux sends 2 to 4). */
#define ADMIN_IOV 16u
/* The largest result: CAP_ID_LIST_QUERY's 64 words (ids up to 0xfff). */
#define RESULT_BUF 512u

struct admin_req {
    uint16_t opcode;
    uint16_t group;
    uint64_t member;
    uint8_t data[VDM_ADMIN_DATA_MAX]; /* zero beyond data_len */
    uint32_t data_len;
    alignas(8) uint8_t result[RESULT_BUF];
    uint32_t result_len;
};

static uint64_t supported(const struct vdm_dev_state *s)
{
    const struct vdm_admin_ops *ao = cls_admin(s->cls);
    uint64_t ops = LIST_OPS;

    if (ao != NULL) {
        ops |= ao->opcodes & (VDM_ADMIN_OPS_CAPS | VDM_ADMIN_OPS_RESOURCES);
    }
    return ops;
}

static int cap_known(const struct vdm_admin_ops *ao, uint16_t id)
{
    uint32_t w = (uint32_t)id / 64u;
    int known = 0;

    if ((w < ao->cap_words) && (((ao->cap_ids[w] >> (id % 64u)) & 1u) != 0u)) {
        known = 1;
    }
    return known;
}

/* LIST_USE: the list's expected length is one word (every opcode vdm
 * knows is below 64); what follows is ignored ("Administration
 * Virtqueues"). An opcode not supported is an invalid field, and the list
 * in use stays as it was. */
static uint32_t list_use(struct vdm_dev_state *s, const struct admin_req *r)
{
    uint64_t use = vdm_le64(r->data);

    if ((use & ~supported(s)) != 0u) {
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, VDM_ADMIN_Q_INVALID_FIELD);
    }
    s->admin_used = use;
    return 0;
}

/* The capability and resource-object commands: decoded, then the class. */
static uint32_t class_cmd(struct vdm_dev *d, const struct vdm_admin_ops *ao,
                          struct admin_req *r)
{
    struct vdm_admin_cmd c;
    uint32_t fixed = 8;
    uint32_t res;
    uint32_t n = 0;

    __builtin_memset(&c, 0, sizeof(c));
    c.opcode = r->opcode;
    c.id16 = vdm_le16(r->data);
    switch (r->opcode) {
    case VDM_ADMIN_CMD_DEVICE_CAP_GET:
    case VDM_ADMIN_CMD_DRIVER_CAP_SET:
        /* Spec "Device and driver capabilities": an id not reported by
         * CAP_ID_LIST_QUERY is VIRTIO_ADMIN_STATUS_ENXIO. */
        if (cap_known(ao, c.id16) == 0) {
            return VDM_ADMIN_RESULT(VDM_ADMIN_S_ENXIO,
                                    VDM_ADMIN_Q_INVALID_FIELD);
        }
        break;
    case VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY:
        c.obj_id = vdm_le32(r->data + 4);
        break;
    default: /* CREATE, QUERY, MODIFY: header, then le64 flags */
        c.obj_id = vdm_le32(r->data + 4);
        c.flags = vdm_le64(r->data + 8);
        fixed = 16;
        break;
    }
    c.data = r->data + fixed;
    c.data_len = (r->data_len > fixed) ? (r->data_len - fixed) : 0u;
    res = ao->cmd(d, &c, r->result, VDM_ADMIN_RESULT_MAX, &n);
    if ((res & 0xffffu) == VDM_ADMIN_S_OK) {
        r->result_len = (n < VDM_ADMIN_RESULT_MAX) ? n : VDM_ADMIN_RESULT_MAX;
        return 0; /* the qualifier is 0 with OK */
    }
    return res;
}

static uint32_t dispatch(struct vdm_dev *d, struct vdm_dev_state *s,
                         struct admin_req *r)
{
    const struct vdm_admin_ops *ao = cls_admin(s->cls);
    uint64_t sup = supported(s);
    uint64_t bit = 0;
    uint32_t i;
    uint32_t words;

    /* Spec "Group administration commands", device requirements: group
     * first, then opcode (supported and in the list in use), then the
     * member id where the command uses it. */
    if (r->group != VDM_ADMIN_GROUP_SELF) {
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL, VDM_ADMIN_Q_INVALID_GROUP);
    }
    if (r->opcode < 64u) {
        bit = (uint64_t)1u << r->opcode;
    }
    if (((sup & bit) == 0u) || ((s->admin_used & bit) == 0u)) {
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL,
                                VDM_ADMIN_Q_INVALID_OPCODE);
    }
    switch (r->opcode) {
    case VDM_ADMIN_CMD_LIST_QUERY: /* group_member_id unused */
        vdm_put_le64(r->result, sup);
        r->result_len = 8;
        return 0;
    case VDM_ADMIN_CMD_LIST_USE: /* group_member_id unused */
        return list_use(s, r);
    default:
        break;
    }
    /* The self group's only member is 0. */
    if (r->member != 0u) {
        return VDM_ADMIN_RESULT(VDM_ADMIN_S_EINVAL,
                                VDM_ADMIN_Q_INVALID_MEMBER);
    }
    if (r->opcode == VDM_ADMIN_CMD_CAP_ID_LIST_QUERY) {
        words = (ao->cap_words > 0u) ? ao->cap_words : 1u;
        for (i = 0; i < words; i++) {
            vdm_put_le64(&r->result[8u * i],
                         (i < ao->cap_words) ? ao->cap_ids[i] : 0u);
        }
        r->result_len = 8u * words;
        return 0;
    }
    return class_cmd(d, ao, r);
}

/* One command: read it, answer it; the bytes written. */
static uint32_t serve(struct vdm_dev *d, struct vdm_dev_state *s,
                      const struct vdm_chain *c, struct admin_req *r)
{
    uint8_t hdr[CMD_HDR];
    uint8_t res[RES_HDR];
    uint32_t ans;
    uint32_t len;
    uint32_t w;

    /* Spec "Administration Virtqueues": what the driver did not supply
     * reads as zero; what lies past the expected length is ignored. */
    __builtin_memset(hdr, 0, sizeof(hdr));
    __builtin_memset(r, 0, sizeof(*r));
    (void)vdm_chain_copy_from(c, 0, hdr, sizeof(hdr));
    r->opcode = vdm_le16(hdr);
    r->group = vdm_le16(hdr + 2);
    r->member = vdm_le64(hdr + 16);
    r->data_len = (uint32_t)vdm_chain_copy_from(c, CMD_HDR, r->data,
                                                sizeof(r->data));
    ans = dispatch(d, s, r);
    __builtin_memset(res, 0, sizeof(res));
    vdm_put_le16(res, (uint16_t)ans);
    vdm_put_le16(res + 2, (uint16_t)(ans >> 16));
    if (ans != 0u) {
        r->result_len = 0;
    }
    /* The result in whole 64-bit words (spec: the device initialises a
     * multiple of 64 bits), cut to the driver's buffer. */
    len = (r->result_len + 7u) & ~7u;
    w = (uint32_t)vdm_chain_copy_to(c, 0, res, sizeof(res));
    if ((w == sizeof(res)) && (len > 0u)) {
        w += (uint32_t)vdm_chain_copy_to(c, RES_HDR, r->result, len);
    }
    if (ans != 0u) {
        slog(s, VDM_LOG_DEBUG, VDM_MSG("admin: command failed"));
    }
    return w;
}

/* The engine (struct vdm_dev_state::admin_notify): serve administration
 * queue @p q. */
static void admin_notify(struct vdm_dev *d, struct vdm_dev_state *s, uint16_t q)
{
    struct vdm_iov iov[ADMIN_IOV];
    struct admin_req r;
    struct vdm_chain c;
    struct vdm_vq *vq;
    uint32_t n;
    uint32_t w;
    int rc;

    /* A bound on one call (a driver adding commands as fast as they are
     * served cannot keep the device here forever). */
    for (n = 0; n < 65536u; n++) {
        /* Fetched anew each time: a command cannot reset the device, but
         * a fault can break the queue. Spec "Device Suspend": no buffer
         * is taken while suspending. */
        vq = vdm_dev_queue(d, q);
        if ((vq == NULL) || (vdm_dev_suspending(d) != 0)) {
            return;
        }
        __builtin_memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = ADMIN_IOV;
        rc = vdm_vq_pop(vq, &c);
        if ((rc == 0) || ((rc < 0) && (rc != VDM_ENOSPC))) {
            return; /* empty, or a fault (the core set NEEDS_RESET) */
        }
        if (rc == VDM_ENOSPC) {
            slog(s, VDM_LOG_WARN,
                 VDM_MSG("admin: command with too many spans, the first "
                         "ones used"));
        }
        w = serve(d, s, &c, &r);
        vdm_mem_release(s->mem, c.iov, c.nread + c.nwrite);
        rc = vdm_vq_push(vq, c.id, w);
        if (rc < 0) {
            return;
        }
        (void)vdm_dev_notify_used(d, q);
    }
}

void vdmi_dev_admin_attach(struct vdm_dev *d)
{
    struct vdm_dev_state *s;

    if (d != NULL) {
        s = (struct vdm_dev_state *)(void *)d->opaque;
        if (s->magic == VDM_DEV_MAGIC) {
            s->admin_notify = admin_notify;
        }
    }
}

#else /* !VDM_CONFIG_ADMIN_VQ: vdm_dev_init() never makes an admin queue */

void vdmi_dev_admin_attach(struct vdm_dev *d)
{
    (void)d;
}

#endif
