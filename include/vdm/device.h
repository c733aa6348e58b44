/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file device.h
 * @brief Device core: status state machine, feature negotiation, config
 *        space with generation, queues, reset, notifications.
 *
 * Two faces. Transports (mmio, pci, vhost-user) call the vdm_dev_* register
 * functions below on behalf of the driver. Device types (devices/NAME.c)
 * provide a `const struct vdm_device_class` and use vdm_dev_queue(),
 * vdm_dev_notify_used() and vdm_dev_config_changed(). Neither knows the
 * other: the same device runs behind any transport.
 *
 * Spec sections: "Device Status Field", "Device Initialization", "Feature
 * Bits", "Device Configuration Space", "Virtqueue Reset", "Device Reset".
 */
#ifndef VDM_DEVICE_H
#define VDM_DEVICE_H

#include "common.h"
#include "mem.h"
#include "virtqueue.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one device. */
#define VDM_DEV_SIZE 512
/** @brief Most queues one device may have. */
#define VDM_DEV_MAX_QUEUES 1024
/** @brief Slot words for @p nq queues of at most @p qmax entries. */
#define VDM_DEV_SLOTS(nq, qmax) ((size_t)(nq)*VDM_VQ_SLOTS(qmax))

/** @brief A device instance: opaque caller-owned storage. */
struct vdm_dev {
    alignas(8) unsigned char opaque[VDM_DEV_SIZE]; /**< Library state. */
};

/** @brief If @ref feature is accepted, every bit of @ref requires must be. */
struct vdm_feature_dep {
    uint64_t feature;  /**< The dependent feature bit(s). */
    uint64_t requires; /**< Bits it needs. */
};

/**
 * @brief A device type: constant, shared by all instances, no transport
 *        knowledge. Hooks may be NULL unless marked required.
 */
struct vdm_device_class {
    uint32_t size;        /**< sizeof(struct vdm_device_class). */
    uint32_t device_id;   /**< VIRTIO device id (spec "Device Types"). */
    const char *name;     /**< Short name, e.g. "blk". */
    uint32_t config_size; /**< Bytes of device-specific config space. */
    uint16_t max_queues;  /**< Most queues this type supports. */
    uint16_t reserved0;   /**< Must be 0. */
    const struct vdm_feature_dep *deps; /**< Device-type feature deps. */
    uint32_t ndeps;                     /**< Entries in @ref deps. */
    uint32_t reserved1;                 /**< Must be 0. */
    /** Extra validation at FEATURES_OK; 0 accepts, negative refuses. */
    int (*features_ok)(struct vdm_dev *d, uint64_t accepted);
    /** Device reset (status 0 written, or NEEDS_RESET cleared by reset). */
    void (*reset)(struct vdm_dev *d);
    /** The driver set DRIVER_OK; the device is live. */
    void (*driver_ok)(struct vdm_dev *d);
    /** The driver notified queue @p q (required). */
    void (*queue_notify)(struct vdm_dev *d, uint16_t q);
    /** Queue @p q was reset alone (RING_RESET) or is about to be torn down. */
    void (*queue_reset)(struct vdm_dev *d, uint16_t q);
    /** Read @p len bytes of config at @p off (bounds already checked). */
    void (*config_read)(struct vdm_dev *d, uint32_t off, void *buf,
                        uint32_t len);
    /** Driver write of config (bounds checked); NULL means read-only. */
    void (*config_write)(struct vdm_dev *d, uint32_t off, const void *buf,
                         uint32_t len);
};

/** @brief What the hypervisor provides to a device (const table). */
struct vdm_host_ops {
    uint32_t size; /**< sizeof(struct vdm_host_ops). */
    /** Used-buffer notification for queue @p q (when no transport is bound). */
    void (*notify_queue)(void *host, uint16_t q);
    /** Configuration change notification (when no transport is bound). */
    void (*notify_config)(void *host);
    /** Log a static message. May be NULL. */
    void (*log)(void *host, int level, const char *msg);
};

/** @brief Interrupt sink a transport installs with vdm_dev_bind(). */
struct vdm_transport_ops {
    uint32_t size; /**< sizeof(struct vdm_transport_ops). */
    /** Used-buffer notification for queue @p q. */
    void (*notify_queue)(void *ctx, uint16_t q);
    /** Configuration change notification. */
    void (*notify_config)(void *ctx);
};

/** @brief Instance configuration, caller-filled with VDM_INIT. */
struct vdm_dev_config {
    uint32_t size;           /**< sizeof(struct vdm_dev_config). */
    uint16_t num_queues;     /**< Queues of this instance (1..class max). */
    uint16_t queue_size_max; /**< Largest queue size offered (<= 32768). */
    uint64_t features;       /**< Feature bits offered besides VERSION_1
                                  (device type and ring bits). */
    const struct vdm_device_class *cls; /**< The device type. */
    void *priv;                /**< The device type's state (vdm_dev_priv). */
    const struct vdm_mem *mem; /**< Guest memory. */
    const struct vdm_host_ops *ops; /**< Host hooks (may be NULL). */
    void *host;                     /**< Passed to host hooks. */
    struct vdm_vq *queues;          /**< Caller array of num_queues queues. */
    uint32_t *slots; /**< VDM_DEV_SLOTS(num_queues, queue_size_max). */
};

/** @name Set-up and the device-type face
 * @{ */
/**
 * @brief Initialise a device in reset state (status 0).
 * @return 0, VDM_EINVAL, VDM_ESIZE.
 */
VDM_API int vdm_dev_init(struct vdm_dev *d, const struct vdm_dev_config *cfg);
/** @brief Install the transport's interrupt sink (NULL ops: host ops). */
VDM_API void vdm_dev_bind(struct vdm_dev *d,
                          const struct vdm_transport_ops *ops, void *ctx);
/** @brief The device type's state given at init. */
VDM_API void *vdm_dev_priv(const struct vdm_dev *d);
/** @brief The guest memory given at init. */
VDM_API const struct vdm_mem *vdm_dev_mem(const struct vdm_dev *d);
/** @brief Negotiated features (valid after FEATURES_OK). */
VDM_API uint64_t vdm_dev_features(const struct vdm_dev *d);
/** @brief 1 when DRIVER_OK is set and NEEDS_RESET is not. */
VDM_API int vdm_dev_live(const struct vdm_dev *d);
/** @brief Queue @p q if enabled and not broken, else NULL. */
VDM_API struct vdm_vq *vdm_dev_queue(struct vdm_dev *d, uint16_t q);
/** @brief Send a used-buffer notification if the driver wants one. */
VDM_API int vdm_dev_notify_used(struct vdm_dev *d, uint16_t q);
/** @brief Config changed: bump the generation and notify the driver. */
VDM_API void vdm_dev_config_changed(struct vdm_dev *d);
/**
 * @brief Enter DEVICE_NEEDS_RESET (sticky until reset), notify the driver
 *        with a config change, log @p why through the host log hook.
 */
VDM_API void vdm_dev_needs_reset(struct vdm_dev *d, int err, const char *why);
/** @brief Log through the host log hook, if any. */
VDM_API void vdm_dev_log(const struct vdm_dev *d, int level, const char *msg);
/** @} */

/** @name The transport face (driver register accesses)
 * @{ */
/** @brief Current device status byte. */
VDM_API uint8_t vdm_dev_status(const struct vdm_dev *d);
/**
 * @brief Driver writes the status byte. 0 resets the device. Otherwise bits
 *        may only be added; FEATURES_OK is refused (left clear) when the
 *        accepted features are not a valid subset; DRIVER_OK needs
 *        FEATURES_OK. NEEDS_RESET cannot be set by the driver.
 * @return 0, or VDM_ESTATE when a bit was refused (status still updated
 *         with the acceptable bits).
 */
VDM_API int vdm_dev_set_status(struct vdm_dev *d, uint8_t status);
/** @brief Features the device offers (always includes VERSION_1). */
VDM_API uint64_t vdm_dev_device_features(const struct vdm_dev *d);
/** @brief Features the driver has written so far. */
VDM_API uint64_t vdm_dev_driver_features(const struct vdm_dev *d);
/** @brief Driver writes its features; only with DRIVER set, before FEATURES_OK.
 */
VDM_API int vdm_dev_set_driver_features(struct vdm_dev *d, uint64_t f);
/** @brief Config generation counter (spec "Device Configuration Space"). */
VDM_API uint32_t vdm_dev_config_generation(const struct vdm_dev *d);
/** @brief Device config size in bytes. */
VDM_API uint32_t vdm_dev_config_size(const struct vdm_dev *d);
/** @brief Read config; VDM_ERANGE when [off, off+len) is outside it. */
VDM_API int vdm_dev_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                                uint32_t len);
/** @brief Write config; VDM_ERANGE outside, VDM_ENOTSUP if read-only. */
VDM_API int vdm_dev_config_write(struct vdm_dev *d, uint32_t off,
                                 const void *buf, uint32_t len);
/** @brief Number of queues of this instance. */
VDM_API uint16_t vdm_dev_num_queues(const struct vdm_dev *d);
/** @brief Largest size queue @p q accepts; 0 for an out-of-range index. */
VDM_API uint16_t vdm_dev_queue_size_max(const struct vdm_dev *d, uint16_t q);
/** @brief Queue size the driver chose (defaults to the max). */
VDM_API uint16_t vdm_dev_queue_size(const struct vdm_dev *d, uint16_t q);
/** @brief Driver sets the queue size; only while the queue is not enabled. */
VDM_API int vdm_dev_queue_set_size(struct vdm_dev *d, uint16_t q, uint16_t num);
/** @brief Driver sets ring addresses; only while the queue is not enabled. */
VDM_API int vdm_dev_queue_set_addr(struct vdm_dev *d, uint16_t q, uint64_t desc,
                                   uint64_t driver, uint64_t device);
/** @brief Read back ring addresses. */
VDM_API int vdm_dev_queue_get_addr(const struct vdm_dev *d, uint16_t q,
                                   uint64_t *desc, uint64_t *driver,
                                   uint64_t *device);
/**
 * @brief Driver enables the queue (queue_enable / QueueReady = 1). Needs
 *        FEATURES_OK; before DRIVER_OK, or after a queue reset with
 *        RING_RESET. A bad ring (size, alignment, memory) puts the device
 *        into NEEDS_RESET.
 */
VDM_API int vdm_dev_queue_enable(struct vdm_dev *d, uint16_t q);
/** @brief 1 if queue @p q is enabled. */
VDM_API int vdm_dev_queue_enabled(const struct vdm_dev *d, uint16_t q);
/** @brief Per-queue reset (RING_RESET negotiated); queue returns to defaults.
 */
VDM_API int vdm_dev_queue_reset(struct vdm_dev *d, uint16_t q);
/** @brief Set the ring position before enabling (vhost-user, restore). */
VDM_API int vdm_dev_queue_set_state(struct vdm_dev *d, uint16_t q,
                                    const struct vdm_vq_state *s);
/** @brief Read the ring position. */
VDM_API int vdm_dev_queue_get_state(const struct vdm_dev *d, uint16_t q,
                                    struct vdm_vq_state *s);
/**
 * @brief Driver notified queue @p q (available buffers). @p data is the
 *        NOTIFICATION_DATA value when negotiated (else ignored). Ignored
 *        (and logged) for a bad index, a disabled queue or before DRIVER_OK.
 */
VDM_API int vdm_dev_queue_notify(struct vdm_dev *d, uint16_t q, uint32_t data);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
