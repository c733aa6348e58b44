/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file common.h
 * @brief Version, visibility, error codes, feature and status bits shared by
 *        every vdm layer.
 *
 * Memory contract (stated once, holds for the whole library): vdm never
 * allocates. Every object is storage the caller owns, of an ABI-fixed size
 * given by a `VDM_*_SIZE` macro; arrays that grow with queue size are caller
 * arrays whose element count a macro gives. Nothing is freed: a reset is the
 * only teardown. vdm holds no global mutable state.
 */
#ifndef VDM_COMMON_H
#define VDM_COMMON_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a symbol exported from the shared library. */
#if defined(VDM_BUILDING) && defined(__GNUC__)
#define VDM_API __attribute__((visibility("default")))
#else
#define VDM_API
#endif

/** @brief Major version: bumped on any ABI-incompatible change (SONAME). */
#define VDM_VERSION_MAJOR 0
/** @brief Minor version: bumped when API is added compatibly. */
#define VDM_VERSION_MINOR 1
/** @brief Patch version: bug fixes only. */
#define VDM_VERSION_PATCH 0
/** @brief The version as one number: major << 16 | minor << 8 | patch. */
#define VDM_VERSION_HEX                                                        \
    ((VDM_VERSION_MAJOR << 16) | (VDM_VERSION_MINOR << 8) | VDM_VERSION_PATCH)

/**
 * @brief Initialise a caller-filled ABI struct: zero it and set its leading
 *        `size` member, e.g. `struct vdm_vq_config c = VDM_INIT(struct
 * vdm_vq_config);`.
 *
 * The library treats a struct whose `size` is smaller than its own
 * definition as coming from an older caller: missing fields read as zero.
 */
#define VDM_INIT(type) ((type){.size = (uint32_t)sizeof(type)})

/** @name Error codes
 * Every function returning `int` returns >= 0 on success (or a count) and
 * one of these negative values on failure. vdm_strerror() names them.
 * @{ */
#define VDM_OK     0    /**< Success. */
#define VDM_EINVAL (-1) /**< Invalid argument from the caller. */
#define VDM_ENOSPC (-2) /**< A caller-provided array is too small. */
#define VDM_EFAULT (-3) /**< Guest address range not mapped / not allowed. */
/** The guest broke the protocol; object now broken. */
#define VDM_EPROTO (-4)
/** Object broken by an earlier violation; reset it. */
#define VDM_EBROKEN (-5)
#define VDM_ENOTSUP (-6)  /**< Operation or feature not supported. */
#define VDM_ESTATE  (-7)  /**< Not allowed in the current state. */
#define VDM_ERANGE  (-8)  /**< Index (queue, vector, id, ...) out of range. */
#define VDM_EAGAIN  (-9)  /**< Try again later (nothing to do now). */
#define VDM_EIO     (-10) /**< Host-side I/O error. */
#define VDM_EBUSY   (-11) /**< Resource busy (e.g. requests in flight). */
#define VDM_ENOENT  (-12) /**< No such object. */
#define VDM_ESIZE   (-13) /**< ABI struct size field invalid (too small). */
/** @} */

/** @name Generic feature bits (spec "Reserved Feature Bits")
 * @{ */
#define VDM_F_INDIRECT_DESC     (1ull << 28) /**< Indirect descriptors. */
#define VDM_F_EVENT_IDX         (1ull << 29) /**< used_event / avail_event. */
#define VDM_F_VERSION_1         (1ull << 32) /**< VIRTIO 1.x; always offered. */
#define VDM_F_ACCESS_PLATFORM   (1ull << 33) /**< Platform IOMMU access. */
#define VDM_F_RING_PACKED       (1ull << 34) /**< Packed virtqueue layout. */
#define VDM_F_IN_ORDER          (1ull << 35) /**< Buffers used in order. */
#define VDM_F_ORDER_PLATFORM    (1ull << 36) /**< Platform memory ordering. */
#define VDM_F_SR_IOV            (1ull << 37) /**< SR-IOV. */
#define VDM_F_NOTIFICATION_DATA (1ull << 38) /**< Extra data on notify. */
/** Device-supplied notify data. */
#define VDM_F_NOTIF_CONFIG_DATA (1ull << 39)
#define VDM_F_RING_RESET        (1ull << 40) /**< Per-queue reset. */
#define VDM_F_ADMIN_VQ          (1ull << 41) /**< Admin virtqueue. */
#define VDM_F_SUSPEND           (1ull << 43) /**< SUSPEND status bit. */
/** Ring features the vdm virtqueue implements for any device type, as
 *  built (vdm/config.h). */
#define VDM_F_RING_ALL                                                         \
    ((VDM_CONFIG_INDIRECT ? VDM_F_INDIRECT_DESC : 0ull) |                      \
     (VDM_CONFIG_EVENT_IDX ? VDM_F_EVENT_IDX : 0ull) |                         \
     (VDM_CONFIG_PACKED ? VDM_F_RING_PACKED : 0ull) |                          \
     (VDM_CONFIG_IN_ORDER ? VDM_F_IN_ORDER : 0ull) |                           \
     (VDM_CONFIG_RING_RESET ? VDM_F_RING_RESET : 0ull) |                       \
     (VDM_CONFIG_NOTIFICATION_DATA ? VDM_F_NOTIFICATION_DATA : 0ull))
/** @} */

/** @name Device status bits (spec "Device Status Field")
 * @{ */
#define VDM_STATUS_ACKNOWLEDGE        1u   /**< Guest noticed the device. */
#define VDM_STATUS_DRIVER             2u   /**< Guest knows how to drive it. */
#define VDM_STATUS_DRIVER_OK          4u   /**< Driver is ready. */
#define VDM_STATUS_FEATURES_OK        8u   /**< Feature negotiation done. */
/** Device suspended (VIRTIO_F_SUSPEND, spec "Device Suspend"). */
#define VDM_STATUS_SUSPEND 16u
#define VDM_STATUS_DEVICE_NEEDS_RESET 64u  /**< Device hit an error. */
#define VDM_STATUS_FAILED             128u /**< Driver gave up. */
/** @} */

/** @name Log levels for host log hooks
 * @{ */
/** A guest or host error (e.g. protocol violation). */
#define VDM_LOG_ERROR 0
#define VDM_LOG_WARN  1 /**< Something suspicious, handled. */
#define VDM_LOG_INFO  2 /**< State changes. */
#define VDM_LOG_DEBUG 3 /**< Chatty. */
/**
 * @brief The level (VDM_LOG_*) of a log hook's @p level argument.
 *
 * Built with VDM_CONFIG_LOG_TEXT=0 (vdm/config.h), the upper bits of the
 * argument carry an event code: compare levels through this macro.
 */
#define VDM_LOG_LEVEL(level) ((int)((unsigned)(level)&0xffu))
/**
 * @brief The event code of a log hook's @p level argument: 0 when the
 *        message came as a text; else (VDM_CONFIG_LOG_TEXT=0, `msg` NULL)
 *        file number << 12 | line of the message in the library source
 *        (`scripts/log-event CODE` prints it).
 */
#define VDM_LOG_EVENT(level) ((uint32_t)(unsigned)(level) >> 8)
/** @} */

/** @name vdm_iov flags
 * @{ */
#define VDM_IOV_F_WRITE 1u /**< The device may write this span. */
/** Mapped by a translate hook; release with vdm_mem_release(). */
#define VDM_IOV_F_HOOK 2u
/** @} */

/** @brief One host-virtual span of guest memory, already bounds-checked. */
struct vdm_iov {
    void *base;     /**< Host address of the span. */
    uint32_t len;   /**< Length in bytes. */
    uint32_t flags; /**< VDM_IOV_F_* bits. */
};

/** @brief Library version as VDM_VERSION_HEX of the linked library. */
VDM_API uint32_t vdm_version(void);
/** @brief Library version as a "major.minor.patch" string. */
VDM_API const char *vdm_version_string(void);
/**
 * @brief Name an error code.
 * @param err a VDM_E* code (negative) or 0.
 * @return a static string; "unknown error" for anything else.
 */
VDM_API const char *vdm_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
