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
/**
 * @brief Words of per-queue register state (size, ring addresses, enable,
 *        saved ring position) the device core keeps at the start of each
 *        queue's part of the slot array.
 */
#define VDM_DEV_QREG_WORDS 16
/**
 * @brief uint32_t words of the slot array (vdm_dev_config::slots) for
 *        @p nq queues of at most @p qmax entries.
 *
 * Queue q owns the words [q * W, (q + 1) * W), W = VDM_DEV_QREG_WORDS +
 * VDM_VQ_SLOTS(qmax): first its VDM_DEV_QREG_WORDS register words, then the
 * in-flight slots of its virtqueue. The library owns the whole array from
 * vdm_dev_init() on; the caller only provides the storage.
 */
#define VDM_DEV_SLOTS(nq, qmax)                                                \
    ((size_t)(nq) * (VDM_DEV_QREG_WORDS + VDM_VQ_SLOTS(qmax)))

struct vdm_admin_ops;

/** @brief A device instance: opaque caller-owned storage. */
struct vdm_dev {
    alignas(8) unsigned char opaque[VDM_DEV_SIZE]; /**< Library state. */
};

/** @brief If the bits in `feature` are accepted, every bit of `needs` must be.
 */
struct vdm_feature_dep {
    uint64_t feature; /**< The dependent feature bit(s). */
    uint64_t needs;   /**< Bits it needs (not `requires`: a C++20 keyword). */
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
    /**
     * Save the device type's state (vdm/state.h), little-endian, for
     * @ref state_restore. With @p buf NULL, return the bytes a save needs
     * now; else write at most @p len bytes and return how many. Negative
     * VDM_E* on failure. NULL: the device type has no state of its own.
     */
    int (*state_save)(const struct vdm_dev *d, void *buf, uint32_t len);
    /**
     * Restore the state @ref state_save wrote. Called after the device core
     * is restored (features negotiated, queues set up), before any queue is
     * served. @p buf is untrusted: check every field; return 0 or a negative
     * VDM_E* (the device is then reset).
     */
    int (*state_restore)(struct vdm_dev *d, const void *buf, uint32_t len);
    /**
     * VIRTIO_F_SUSPEND (spec "Device Suspend"); may be NULL. Called with
     * @p on 1 when the driver sets SUSPEND: the device takes no new buffer
     * from now on (vdm_dev_suspending(); the device kit stops popping) and
     * should finish what it holds; the device core presents the device as
     * suspended once no chain is in flight on any queue. Called with 0 when
     * the driver resumes the device. A negative return puts the device into
     * DEVICE_NEEDS_RESET (the spec's answer to a failed suspend or resume).
     */
    int (*suspend)(struct vdm_dev *d, int on);
    /** Administration virtqueue commands the device type serves beyond the
     *  list commands (vdm/admin.h); NULL: none. */
    const struct vdm_admin_ops *admin;
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
    uint16_t queue_size_max; /**< Largest queue size offered (<= 32768;
                                  split rings: see vdm_dev_queue_size_max). */
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
 *
 * Checks @p cfg: the size fields of @p cfg and its class, a class with
 * queue_notify and zero reserved fields, 1 <= num_queues <= class
 * max_queues (and VDM_DEV_MAX_QUEUES), 1 <= queue_size_max <= 32768,
 * queues, slots and mem given. The offered features are cfg->features |
 * VDM_F_VERSION_1; offering a generic bit vdm cannot honour (legacy-only
 * bits 24, 27, 30, reserved bits 25, 26, 31, bits 44..49 and SR_IOV 37,
 * which no vdm transport can honour) or a feature without a feature it
 * requires (generic or class deps) is VDM_EINVAL (spec "Feature Bits").
 * VDM_F_SUSPEND (the SUSPEND status bit, spec "Device Suspend") and
 * VDM_F_ADMIN_VQ (an administration virtqueue at index num_queues, see
 * vdm/admin.h: the queue and slot arrays then hold num_queues + 1 queues)
 * are offered only when the host puts them in cfg->features; ADMIN_VQ in a
 * library built without it (VDM_CONFIG_ADMIN_VQ 0) is VDM_ENOTSUP. A class
 * whose size ends before its suspend field (an older caller) is accepted
 * and has neither hook. The queue array is zeroed and the slot
 * array taken over; their previous contents do not matter. Memory with a
 * translate hook in a library built without hooks (VDM_CONFIG_MEM_HOOKS 0,
 * vdm/config.h) is VDM_ENOTSUP.
 * @return 0, VDM_EINVAL, VDM_ESIZE, VDM_ENOTSUP.
 */
VDM_API int vdm_dev_init(struct vdm_dev *d, const struct vdm_dev_config *cfg);
/**
 * @brief Install the transport's interrupt sink (NULL ops: host ops). A
 *        hook missing from the bound table falls back to the host hook.
 */
VDM_API void vdm_dev_bind(struct vdm_dev *d,
                          const struct vdm_transport_ops *ops, void *ctx);
/** @brief The device type's state given at init. */
VDM_API void *vdm_dev_priv(const struct vdm_dev *d);
/** @brief The guest memory given at init. */
VDM_API const struct vdm_mem *vdm_dev_mem(const struct vdm_dev *d);
/** @brief Negotiated features (0 until FEATURES_OK is accepted). */
VDM_API uint64_t vdm_dev_features(const struct vdm_dev *d);
/** @brief 1 when DRIVER_OK is set and neither NEEDS_RESET nor FAILED is. */
VDM_API int vdm_dev_live(const struct vdm_dev *d);
/**
 * @brief Queue @p q if enabled, the device live (vdm_dev_live()) and the
 *        queue not broken, else NULL. Device types fetch their queue through
 *        this on every use, so they never touch a ring before DRIVER_OK,
 *        after a reset or while the device needs reset.
 */
VDM_API struct vdm_vq *vdm_dev_queue(struct vdm_dev *d, uint16_t q);
/**
 * @brief Send a used-buffer notification if the driver wants one
 *        (vdm_vq_should_notify()), through the bound transport or else the
 *        host notify_queue hook.
 * @return 1 sent, 0 suppressed by the driver, VDM_ERANGE for a bad index,
 *         VDM_ESTATE when the queue is not usable (see vdm_dev_queue()).
 */
VDM_API int vdm_dev_notify_used(struct vdm_dev *d, uint16_t q);
/**
 * @brief Config changed: bump the generation and notify the driver. With
 *        DRIVER_OK set the notice goes out at once; during initialisation it
 *        is held and sent when the driver sets DRIVER_OK; in reset state
 *        (status 0) only the generation moves (spec "Device Reset").
 */
VDM_API void vdm_dev_config_changed(struct vdm_dev *d);
/**
 * @brief Enter DEVICE_NEEDS_RESET (sticky until status 0 is written), log
 *        @p why (a static string; may be NULL) at VDM_LOG_ERROR and, if
 *        DRIVER_OK is set, notify the driver with a config change (spec
 *        "Device Status Field"). Calling it again only logs, and so does
 *        calling it in reset state (status 0), which the status keeps so
 *        that a driver polling for the end of a reset sees it. Also called by
 *        the device core itself when a virtqueue reports a guest protocol
 *        violation or a queue cannot be enabled.
 */
VDM_API void vdm_dev_needs_reset(struct vdm_dev *d, int err, const char *why);
/** @brief Log through the host log hook, if any. */
VDM_API void vdm_dev_log(const struct vdm_dev *d, int level, const char *msg);
/**
 * @brief 1 while the driver has the device suspending or suspended (the
 *        SUSPEND status bit is set, VIRTIO_F_SUSPEND), else 0.
 *
 * Spec "Device Suspend": from the driver's SUSPEND write on, the device
 * consumes no more buffers; chains already popped are still completed
 * (vdm_dev_queue() keeps handing out the queues until the device is
 * suspended) and their notifications sent. The device kit stops popping on
 * its own; a device type popping chains itself checks this first.
 */
VDM_API int vdm_dev_suspending(const struct vdm_dev *d);
/**
 * @brief Finish a pending suspend: when the driver has set SUSPEND and no
 *        chain is in flight on any queue any more, the device is suspended
 *        now (DRIVER_OK presented as 0, spec "Device Suspend").
 *
 * The device core calls it itself at the SUSPEND write and on every
 * vdm_dev_notify_used(); a host completing requests without notifying may
 * call it. It reads every queue's in-flight count: with queues served on
 * threads of their own (multi-queue blk), the host serialises it with them
 * (DESIGN.md "Threads"), e.g. by completing on the thread driving the
 * device while SUSPEND is set.
 * Built without VIRTIO_F_SUSPEND (vdm/config.h VDM_CONFIG_SUSPEND 0), it
 * and vdm_dev_suspending() always report 0: the feature is never offered.
 * @return 1 suspended, 0 not (still draining, or not suspending),
 *         VDM_EINVAL for a bad device.
 */
VDM_API int vdm_dev_suspend_poll(struct vdm_dev *d);
/** @} */

/** @name The transport face (driver register accesses)
 * @{ */
/**
 * @brief VIRTIO device id of the device type (spec "Device Types"), for the
 *        transport's identification registers; 0 for an uninitialised
 *        device.
 */
VDM_API uint32_t vdm_dev_device_id(const struct vdm_dev *d);
/** @brief Current device status byte. */
VDM_API uint8_t vdm_dev_status(const struct vdm_dev *d);
/**
 * @brief Driver writes the status byte. 0 resets the device: class reset
 *        and queue_reset hooks, every queue torn down and its registers back
 *        to defaults, driver features and NEEDS_RESET cleared (the config
 *        generation keeps counting). Otherwise bits may only be added: a
 *        write that would clear a driver-set bit is ignored as a whole.
 *        DRIVER needs ACKNOWLEDGE; FEATURES_OK needs DRIVER and is refused
 *        (left clear, spec "Device Initialization") unless the driver's
 *        features are a subset of the offered ones, include VERSION_1 and
 *        satisfy the generic and class dependencies and the class
 *        features_ok hook; DRIVER_OK needs FEATURES_OK and no NEEDS_RESET,
 *        then calls the class driver_ok hook. With VIRTIO_F_SUSPEND
 *        negotiated and DRIVER_OK set, SUSPEND suspends the device (spec
 *        "Device Suspend": class suspend hook, DRIVER_OK presented as 0
 *        once nothing is in flight, see vdm_dev_suspend_poll()); while
 *        suspended, a write with DRIVER_OK resumes it (SUSPEND presented as
 *        0, held config notices sent, every queue's queue_notify hook
 *        called to look for buffers made available meanwhile); queue
 *        registers, config writes and notifications are refused while
 *        SUSPEND is set. FAILED is recorded and logged,
 *        and the device is no longer live (vdm_dev_live());
 *        after it only a reset is accepted. NEEDS_RESET, unknown bits and
 *        SUSPEND without the feature or before DRIVER_OK cannot be set by
 *        the driver.
 * @return 0, or VDM_ESTATE when a bit was refused (status still updated
 *         with the acceptable bits).
 */
VDM_API int vdm_dev_set_status(struct vdm_dev *d, uint8_t status);
/** @brief Features the device offers (always includes VERSION_1). */
VDM_API uint64_t vdm_dev_device_features(const struct vdm_dev *d);
/** @brief Features the driver has written so far. */
VDM_API uint64_t vdm_dev_driver_features(const struct vdm_dev *d);
/**
 * @brief Driver writes its features; only with DRIVER set, before
 *        FEATURES_OK (VDM_ESTATE otherwise). Validated at FEATURES_OK.
 */
VDM_API int vdm_dev_set_driver_features(struct vdm_dev *d, uint64_t f);
/** @brief Config generation counter (spec "Device Configuration Space"). */
VDM_API uint32_t vdm_dev_config_generation(const struct vdm_dev *d);
/** @brief Device config size in bytes. */
VDM_API uint32_t vdm_dev_config_size(const struct vdm_dev *d);
/**
 * @brief Read config; VDM_ERANGE when [off, off+len) is outside it. A class
 *        without config_read reads as zeros.
 */
VDM_API int vdm_dev_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                                uint32_t len);
/** @brief Write config; VDM_ERANGE outside, VDM_ENOTSUP if read-only. */
VDM_API int vdm_dev_config_write(struct vdm_dev *d, uint32_t off,
                                 const void *buf, uint32_t len);
/** @brief Number of queues of this instance. */
VDM_API uint16_t vdm_dev_num_queues(const struct vdm_dev *d);
/**
 * @brief Largest size queue @p q accepts; 0 for an out-of-range index.
 *
 * The configured queue_size_max while VIRTIO_F_RING_PACKED is negotiated;
 * otherwise (also before FEATURES_OK) the largest power of 2 not above it,
 * since a split ring's size is a power of 2 (spec "Split Virtqueues").
 */
VDM_API uint16_t vdm_dev_queue_size_max(const struct vdm_dev *d, uint16_t q);
/**
 * @brief Queue size the driver chose; until it writes one (and after a
 *        reset), vdm_dev_queue_size_max().
 */
VDM_API uint16_t vdm_dev_queue_size(const struct vdm_dev *d, uint16_t q);
/**
 * @brief Driver sets the queue size (1..vdm_dev_queue_size_max();
 *        VDM_EINVAL otherwise). Only while the queue is not enabled, and
 *        before DRIVER_OK or after the queue was reset alone (RING_RESET);
 *        VDM_ESTATE otherwise. The split ring's power-of-two rule is checked
 *        at enable.
 */
VDM_API int vdm_dev_queue_set_size(struct vdm_dev *d, uint16_t q, uint16_t num);
/**
 * @brief Driver sets ring addresses; same window as
 *        vdm_dev_queue_set_size().
 */
VDM_API int vdm_dev_queue_set_addr(struct vdm_dev *d, uint16_t q, uint64_t desc,
                                   uint64_t driver, uint64_t device);
/** @brief Read back ring addresses. */
VDM_API int vdm_dev_queue_get_addr(const struct vdm_dev *d, uint16_t q,
                                   uint64_t *desc, uint64_t *driver,
                                   uint64_t *device);
/**
 * @brief Driver enables the queue (queue_enable / QueueReady = 1). Needs
 *        FEATURES_OK and no NEEDS_RESET; before DRIVER_OK, or after a queue
 *        reset with RING_RESET (VDM_ESTATE otherwise). A position given
 *        with vdm_dev_queue_set_state() is applied. A bad ring (size,
 *        alignment, memory) or position puts the device into NEEDS_RESET and
 *        returns the error. Enabling an enabled queue is a no-op.
 */
VDM_API int vdm_dev_queue_enable(struct vdm_dev *d, uint16_t q);
/** @brief 1 if queue @p q is enabled. */
VDM_API int vdm_dev_queue_enabled(const struct vdm_dev *d, uint16_t q);
/**
 * @brief Per-queue reset (RING_RESET negotiated, else VDM_ENOTSUP): the
 *        class queue_reset hook (if the queue was enabled), the ring torn
 *        down, registers back to defaults and writable again, even after
 *        DRIVER_OK, until the queue is re-enabled.
 */
VDM_API int vdm_dev_queue_reset(struct vdm_dev *d, uint16_t q);
/**
 * @brief The driver stops using queue @p q (virtio-mmio QueueReady = 0):
 *        allowed whatever the features and the status. An enabled queue is
 *        torn down like a queue reset (class queue_reset hook, ring torn
 *        down, registers back to defaults), so the device never touches it
 *        again; a queue that is not enabled only has its registers put
 *        back to defaults. Setting the queue up again after DRIVER_OK needs
 *        VIRTIO_F_RING_RESET (as after vdm_dev_queue_reset()); before
 *        DRIVER_OK it is always allowed.
 * @return 0, VDM_ERANGE for a bad index, VDM_EINVAL for a bad device.
 */
VDM_API int vdm_dev_queue_disable(struct vdm_dev *d, uint16_t q);
/**
 * @brief Set the ring position (vhost-user, restore). On a disabled queue it
 *        is kept and applied at enable; on an enabled one it goes to
 *        vdm_vq_set_state() at once. Wrap counters must be 0 or 1.
 */
VDM_API int vdm_dev_queue_set_state(struct vdm_dev *d, uint16_t q,
                                    const struct vdm_vq_state *s);
/**
 * @brief Read the ring position: the live ring's, else the saved one, else
 *        the initial position (indexes 0, wrap counters 1).
 */
VDM_API int vdm_dev_queue_get_state(const struct vdm_dev *d, uint16_t q,
                                    struct vdm_vq_state *s);
/**
 * @brief Driver notified queue @p q (available buffers): calls the class
 *        queue_notify hook. @p data is the NOTIFICATION_DATA value when
 *        negotiated, a hint that is never trusted (else ignored). Ignored
 *        and logged for a bad index (VDM_ERANGE), before DRIVER_OK, while
 *        the device needs reset, after FAILED or for a disabled queue
 *        (VDM_ESTATE).
 */
VDM_API int vdm_dev_queue_notify(struct vdm_dev *d, uint16_t q, uint32_t data);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
