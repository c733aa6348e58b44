/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file admin.h
 * @brief Administration virtqueue (VIRTIO_F_ADMIN_VQ): group administration
 *        commands of the self group, and how they reach the device type.
 *
 * A device offering VDM_F_ADMIN_VQ (vdm_dev_config::features; the host's
 * choice, never a default) has one administration virtqueue after its
 * normal queues: its index is vdm_dev_num_queues(), so the caller's queue
 * and slot arrays (vdm_dev_config::queues, slots) hold num_queues + 1
 * queues, e.g. VDM_DEV_SLOTS(num_queues + 1, queue_size_max). Only the PCI
 * transport (and vfio-user on it) presents it (spec "Virtio Over PCI Bus":
 * admin_queue_index, admin_queue_num); vdm_mmio_init() and
 * vdm_vhost_user_attach() refuse such a device.
 *
 * The library serves the queue itself (src/admin.c), synchronously, when
 * the driver notifies it: every command gets its status written. It
 * validates the group type (only the self group, 0x0), the opcode against
 * the supported and the used lists (VIRTIO_ADMIN_CMD_LIST_QUERY and
 * VIRTIO_ADMIN_CMD_LIST_USE, answered by the library) and the member id,
 * truncates or zero-extends both parts as the spec says, and answers
 * VIRTIO_ADMIN_CMD_CAP_ID_LIST_QUERY from the class's capability bitmap.
 * The capability and resource-object commands reach the device type
 * through its class's @ref vdm_admin_ops (vdm_device_class::admin). VIRTIO
 * 1.4 defines no capability or resource object of the self group for
 * device types in general (VIRTIO_DEV_PARTS_CAP and the device parts
 * object serve the SR-IOV group's commands), so without admin ops a device
 * supports only the two list commands.
 *
 * Spec: "Device groups", "Group administration commands", "Device and
 * driver capabilities", "Device resource objects", "Administration
 * Virtqueues".
 */
#ifndef VDM_ADMIN_H
#define VDM_ADMIN_H

#include "common.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Group types (spec "Device groups")
 * @{ */
#define VDM_ADMIN_GROUP_SELF   0x0u /**< The device itself (member id 0). */
#define VDM_ADMIN_GROUP_SRIOV  0x1u /**< SR-IOV VFs (not supported). */
/** @} */

/** @name Opcodes (spec "Group administration commands")
 * The spec's opcode table gives RESOURCE_OBJ_QUERY 0xb and
 * RESOURCE_OBJ_MODIFY 0xc (their paragraphs say the reverse); vdm follows
 * the table.
 * @{ */
#define VDM_ADMIN_CMD_LIST_QUERY          0x0u /**< Supported opcodes. */
#define VDM_ADMIN_CMD_LIST_USE            0x1u /**< Opcodes the driver uses. */
#define VDM_ADMIN_CMD_CAP_ID_LIST_QUERY   0x7u /**< Capability id bitmap. */
#define VDM_ADMIN_CMD_DEVICE_CAP_GET      0x8u /**< Get a device capability. */
#define VDM_ADMIN_CMD_DRIVER_CAP_SET      0x9u /**< Set a driver capability. */
#define VDM_ADMIN_CMD_RESOURCE_OBJ_CREATE 0xau /**< Create a resource object. */
#define VDM_ADMIN_CMD_RESOURCE_OBJ_QUERY  0xbu /**< Query a resource object. */
#define VDM_ADMIN_CMD_RESOURCE_OBJ_MODIFY 0xcu /**< Modify a resource object. */
#define VDM_ADMIN_CMD_RESOURCE_OBJ_DESTROY 0xdu /**< Destroy one. */
/** The capability commands (opcodes 7, 8 and 9) as a LIST_QUERY mask. */
#define VDM_ADMIN_OPS_CAPS (0x7ull << 7)
/** The resource object commands (opcodes 0xa..0xd) as a LIST_QUERY mask. */
#define VDM_ADMIN_OPS_RESOURCES (0xfull << 10)
/** @} */

/** @name Command status (spec "Group administration commands")
 * @{ */
#define VDM_ADMIN_S_OK     0u  /**< VIRTIO_ADMIN_STATUS_OK. */
#define VDM_ADMIN_S_ENXIO  6u  /**< No such capability or resource. */
#define VDM_ADMIN_S_EAGAIN 11u /**< Try again. */
#define VDM_ADMIN_S_ENOMEM 12u /**< Insufficient resources. */
#define VDM_ADMIN_S_EBUSY  16u /**< Device busy. */
/** Resource object exists ("Device resource objects"; Linux EEXIST). */
#define VDM_ADMIN_S_EEXIST 17u
#define VDM_ADMIN_S_EINVAL 22u /**< Invalid command. */
#define VDM_ADMIN_S_ENOSPC 28u /**< Resources exhausted on the device. */
/** @} */

/** @name Status qualifiers (spec "Group administration commands")
 * @{ */
#define VDM_ADMIN_Q_OK              0x0u /**< With VDM_ADMIN_S_OK. */
#define VDM_ADMIN_Q_INVALID_COMMAND 0x1u /**< No more information. */
#define VDM_ADMIN_Q_INVALID_OPCODE  0x2u /**< Unsupported or unused opcode. */
#define VDM_ADMIN_Q_INVALID_FIELD   0x3u /**< Bad command_specific_data. */
#define VDM_ADMIN_Q_INVALID_GROUP   0x4u /**< Bad group_type. */
#define VDM_ADMIN_Q_INVALID_MEMBER  0x5u /**< Bad group_member_id. */
#define VDM_ADMIN_Q_NORESOURCE      0x6u /**< Out of resources: retry. */
#define VDM_ADMIN_Q_TRYAGAIN        0x7u /**< Blocked too long: retry. */
/** @} */

/**
 * @brief A hook's answer: @p status (VDM_ADMIN_S_*) and @p qual
 *        (VDM_ADMIN_Q_*) in one word; VDM_ADMIN_RESULT(0, 0) is success.
 */
#define VDM_ADMIN_RESULT(status, qual)                                         \
    (((uint32_t)(status)&0xffffu) | (((uint32_t)(qual)&0xffffu) << 16))

/** @brief Most bytes of command_specific_data a hook sees (the rest of the
 *         device-readable part is ignored, spec "Administration
 *         Virtqueues"). */
#define VDM_ADMIN_DATA_MAX 256u
/** @brief Most bytes of command_specific_result a hook may give. */
#define VDM_ADMIN_RESULT_MAX 256u

/** @brief One capability or resource-object command, decoded for a hook. */
struct vdm_admin_cmd {
    uint16_t opcode; /**< VDM_ADMIN_CMD_* (7..0xd). */
    /** DEVICE_CAP_GET, DRIVER_CAP_SET: the capability id; RESOURCE_OBJ_*:
     *  the resource object type. */
    uint16_t id16;
    /** RESOURCE_OBJ_*: the resource object id; else 0. */
    uint32_t obj_id;
    /** RESOURCE_OBJ_CREATE, MODIFY and QUERY: flags; else 0. */
    uint64_t flags;
    /** What follows the fixed fields (DRIVER_CAP_SET: cap_specific_data;
     *  CREATE and MODIFY: resource_obj_specific_data), zero-padded to
     *  VDM_ADMIN_DATA_MAX bytes. */
    const uint8_t *data;
    /** Bytes of @ref data the driver supplied (<= VDM_ADMIN_DATA_MAX). */
    uint32_t data_len;
    uint32_t reserved; /**< 0. */
};

/**
 * @brief What a device type serves on the administration virtqueue beyond
 *        the list commands (const, referenced by vdm_device_class::admin).
 *
 * Hooks run on the thread driving the device, inside vdm_dev_queue_notify()
 * of the administration queue; they answer at once. The device type drops
 * its driver capabilities and resource objects in its class reset hook
 * (spec: "Upon a device reset, the device MUST reset all driver
 * capabilities" and "MUST destroy all the resource objects").
 */
struct vdm_admin_ops {
    uint32_t size; /**< sizeof(struct vdm_admin_ops). */
    /** Words of @ref cap_ids (0..64: capability ids end at 0xfff). */
    uint32_t cap_words;
    /** Bitmap of the supported capability ids (bit i of word w: id 64w+i),
     *  answered by CAP_ID_LIST_QUERY; DEVICE_CAP_GET and DRIVER_CAP_SET of
     *  any other id get VDM_ADMIN_S_ENXIO from the library. */
    const uint64_t *cap_ids;
    /** Opcodes served (VDM_ADMIN_OPS_CAPS, VDM_ADMIN_OPS_RESOURCES). */
    uint64_t opcodes;
    /**
     * Serve command @p c: write up to @p cap bytes of command_specific_result
     * to @p result (DEVICE_CAP_GET: cap_specific_data; RESOURCE_OBJ_QUERY:
     * resource_obj_specific_result), set @p *result_len, and return
     * VDM_ADMIN_RESULT(status, qualifier). The spec's answers are the
     * hook's: e.g. CREATE of an existing object VDM_ADMIN_S_EEXIST, an id
     * at or above the driver's limit or an unknown type VDM_ADMIN_S_EINVAL
     * with VDM_ADMIN_Q_INVALID_FIELD, MODIFY, QUERY or DESTROY of a missing
     * object VDM_ADMIN_S_ENXIO; a failure with VDM_ADMIN_S_EINVAL, EAGAIN
     * or ENOMEM must have no side effect. Required when @ref opcodes is
     * not 0.
     */
    uint32_t (*cmd)(struct vdm_dev *d, const struct vdm_admin_cmd *c,
                    void *result, uint32_t cap, uint32_t *result_len);
};

/**
 * @brief Administration virtqueues of the device: 1 when it offers
 *        VDM_F_ADMIN_VQ (the queue's index is vdm_dev_num_queues()), else 0.
 */
VDM_API uint16_t vdm_dev_admin_queue_num(const struct vdm_dev *d);

#ifdef __cplusplus
}
#endif
#endif
