/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file gpio.h
 * @brief GPIO device (virtio-gpio, spec "GPIO Device", device id 41).
 *
 * A controller of `ngpio` lines, each named or not, each an input, an output
 * or unused. Queue 0 (requestq) carries the driver's messages (get names,
 * get/set direction, get/set value, set IRQ type); queue 1 (eventq, only
 * with VIRTIO_GPIO_F_IRQ) carries one buffer pair per line whose interrupt
 * the driver has unmasked, returned when the line's interrupt fires.
 *
 * **Lines** come from the caller's table (vdm_gpio_line: name, initial
 * direction, what the line allows). Names are 7-bit ASCII and unique; the
 * names block (gpio_names_size) is the names, each NUL-terminated, in line
 * order, an empty name being one NUL; it is 0 when no line has a name.
 *
 * **Requests** are answered at once through the synchronous host hooks.
 * The request must be exactly 8 device-readable bytes and the response
 * exactly 2 device-writable bytes (1 + gpio_names_size for GET_LINE_NAMES),
 * as the driver checks the used length exactly. A request that breaks a
 * rule is answered VIRTIO_GPIO_STATUS_ERR: unknown type; line >= ngpio;
 * direction or value out of range; a direction the line does not allow;
 * SET_IRQ_TYPE without VIRTIO_GPIO_F_IRQ, on an output line, on a line
 * without VDM_GPIO_LINE_IRQ, or with a type that is not one of the spec's;
 * a failed host hook. A chain of the wrong shape gets ERR in the bytes it
 * has (used length: those bytes).
 *
 * **Values.** SET_VALUE is remembered per line and driven through
 * vdm_gpio_ops::set_value when the line is (or later becomes) an output
 * ("this output value must be used by the device"). GET_VALUE asks the host.
 * SET_DIRECTION NONE discards the line's state: remembered value, IRQ type,
 * latched edge, and returns its event buffer.
 *
 * **Interrupts** (spec "eventq Operation"). The host reports what it senses
 * on an input line with vdm_gpio_line_event(): value 1 is a rising edge and
 * a high level, 0 a falling edge and a low level. An interrupt goes to the
 * driver only when it is both enabled (SET_IRQ_TYPE) and unmasked (an event
 * buffer is queued for the line); returning the buffer masks it again.
 * Edge types latch one event while masked and deliver it at the next
 * unmask; a disabled interrupt drops the latch. Level types are never
 * latched: at unmask, and whenever the host reports the active level, the
 * device delivers if the line is at the active level (the value last
 * reported, else asked of the host through get_value). An event buffer for
 * a line whose interrupt is not enabled, a second buffer for the same line,
 * or one for a line >= ngpio is returned at once with
 * VIRTIO_GPIO_IRQ_STATUS_INVALID; disabling the interrupt (IRQ type NONE or
 * direction NONE) returns the line's buffer INVALID. The first of these is
 * logged at VDM_LOG_DEBUG only (the spec's message flow lets a driver
 * unmask before it enables, and Linux re-queues a buffer it got back
 * INVALID as soon as it has enabled the line again); the others warn.
 * The device tells no edge direction (the event carries none): a driver
 * reads the line for that (GET_VALUE), so the value it reads is the
 * line's level at that moment, not at the edge.
 *
 * Each kind of guest error is logged once per reset. Reset returns every
 * line to the table's direction (through set_direction for lines whose
 * direction changed), disables every interrupt (set_irq_type NONE where one
 * was enabled) and forgets values and latches.
 *
 * Threads: one thread at a time; the host hooks are called on the thread
 * that drives the device and vdm_gpio_line_event() must be called there.
 */
#ifndef VDM_DEVICES_GPIO_H
#define VDM_DEVICES_GPIO_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (requestq, eventq). */
#define VDM_GPIO_NUM_QUEUES 2
/** @brief Index of the requestq. */
#define VDM_GPIO_QUEUE_REQUEST 0
/** @brief Index of the eventq (with VDM_GPIO_F_IRQ). */
#define VDM_GPIO_QUEUE_EVENT 1

/** @brief Feature: interrupts on GPIO lines (the eventq). */
#define VDM_GPIO_F_IRQ (1ull << 0)

/** @brief Size of struct virtio_gpio_config. */
#define VDM_GPIO_CONFIG_BYTES 8
/** @name Config space offsets (struct virtio_gpio_config)
 * @{ */
#define VDM_GPIO_CFG_NGPIO           0 /**< le16 ngpio. */
#define VDM_GPIO_CFG_GPIO_NAMES_SIZE 4 /**< le32 gpio_names_size. */
/** @} */

/** @brief Bytes of struct virtio_gpio_request. */
#define VDM_GPIO_REQUEST_BYTES 8
/** @brief Bytes of struct virtio_gpio_response. */
#define VDM_GPIO_RESPONSE_BYTES 2
/** @brief Bytes of struct virtio_gpio_irq_request. */
#define VDM_GPIO_IRQ_REQUEST_BYTES 2
/** @brief Bytes of struct virtio_gpio_irq_response. */
#define VDM_GPIO_IRQ_RESPONSE_BYTES 1

/** @name Message types (virtio_gpio_request::type)
 * @{ */
#define VDM_GPIO_MSG_GET_LINE_NAMES 0x0001 /**< Names block. */
#define VDM_GPIO_MSG_GET_DIRECTION  0x0002 /**< A line's direction. */
#define VDM_GPIO_MSG_SET_DIRECTION  0x0003 /**< Set a line's direction. */
#define VDM_GPIO_MSG_GET_VALUE      0x0004 /**< A line's value. */
#define VDM_GPIO_MSG_SET_VALUE      0x0005 /**< Set a line's output value. */
#define VDM_GPIO_MSG_SET_IRQ_TYPE   0x0006 /**< Enable/disable an IRQ. */
/** @} */

/** @name Response status
 * @{ */
#define VDM_GPIO_STATUS_OK  0x0 /**< Success. */
#define VDM_GPIO_STATUS_ERR 0x1 /**< Failure. */
/** @} */

/** @name Directions
 * @{ */
#define VDM_GPIO_DIRECTION_NONE 0x00 /**< Unused (inactive). */
#define VDM_GPIO_DIRECTION_OUT  0x01 /**< Output. */
#define VDM_GPIO_DIRECTION_IN   0x02 /**< Input. */
/** @} */

/** @name Interrupt trigger types
 * @{ */
#define VDM_GPIO_IRQ_TYPE_NONE         0x00 /**< Disabled. */
#define VDM_GPIO_IRQ_TYPE_EDGE_RISING  0x01 /**< Rising edge. */
#define VDM_GPIO_IRQ_TYPE_EDGE_FALLING 0x02 /**< Falling edge. */
#define VDM_GPIO_IRQ_TYPE_EDGE_BOTH    0x03 /**< Both edges. */
#define VDM_GPIO_IRQ_TYPE_LEVEL_HIGH   0x04 /**< High level. */
#define VDM_GPIO_IRQ_TYPE_LEVEL_LOW    0x08 /**< Low level. */
/** @} */

/** @name Interrupt status (virtio_gpio_irq_response::status)
 * @{ */
#define VDM_GPIO_IRQ_STATUS_INVALID 0x0 /**< Buffer returned unused. */
#define VDM_GPIO_IRQ_STATUS_VALID   0x1 /**< The interrupt fired. */
/** @} */

/** @brief Most lines of one device. */
#define VDM_GPIO_MAX_LINES 1024
/** @brief Most spans of one request or event chain. */
#define VDM_GPIO_IOV_MAX 4
/** @brief Bytes of opaque storage for one GPIO device. */
#define VDM_GPIO_SIZE 512
/** @brief Bytes of per-line state and request slots for @p ngpio lines
 *         (vdm_gpio_config::storage): 16 per line, two request slots of
 *         96 bytes plus 4 spans of 16 bytes per line and queue. */
#define VDM_GPIO_STORAGE_BYTES(ngpio)                                          \
    (((size_t)(ngpio)*16u) + (2u * ((size_t)(ngpio) + 1u) * 96u) +             \
     (2u * (size_t)(ngpio) * (size_t)VDM_GPIO_IOV_MAX * 16u))

/** @name vdm_gpio_line::flags: what a line allows
 * @{ */
/** The driver may make the line an input. */
#define VDM_GPIO_LINE_IN 0x1u
/** The driver may make the line an output. */
#define VDM_GPIO_LINE_OUT 0x2u
/** The line can raise interrupts (input lines, with VDM_GPIO_F_IRQ). */
#define VDM_GPIO_LINE_IRQ 0x4u
/** @} */

/** @brief A GPIO device: opaque caller-owned storage. */
struct vdm_gpio {
    alignas(8) unsigned char opaque[VDM_GPIO_SIZE]; /**< Library state. */
};

/** @brief One line of the caller's table (const, kept by pointer). */
struct vdm_gpio_line {
    const char *name;  /**< 7-bit ASCII, unique; NULL or "" for none. */
    uint8_t direction; /**< Initial VDM_GPIO_DIRECTION_*. */
    uint8_t value;     /**< Initial output value (0 or 1). */
    uint16_t flags;    /**< VDM_GPIO_LINE_*. */
    uint32_t reserved; /**< Must be 0. */
};

/** @brief What the GPIO device asks of the host's lines (const table). */
struct vdm_gpio_ops {
    uint32_t size; /**< sizeof(struct vdm_gpio_ops), set by VDM_INIT. */
    /** The level sensed (input) or driven (output) on @p line: 0 or 1, or a
     *  negative VDM_E* code (the request fails). Required. */
    int (*get_value)(void *host, uint16_t line);
    /** Drive output @p line to @p value (0 or 1). Required when a line
     *  allows VDM_GPIO_LINE_OUT. @return 0 or a negative VDM_E* code. */
    int (*set_value)(void *host, uint16_t line, uint32_t value);
    /** Optional: make @p line an input, an output driving @p value, or
     *  release it (VDM_GPIO_DIRECTION_NONE). @return 0 or negative. */
    int (*set_direction)(void *host, uint16_t line, uint32_t direction,
                         uint32_t value);
    /** Optional: start (a VDM_GPIO_IRQ_TYPE_*) or stop (NONE) watching
     *  @p line so the host calls vdm_gpio_line_event() for it.
     *  @return 0 or negative (the SET_IRQ_TYPE request fails). */
    int (*set_irq_type)(void *host, uint16_t line, uint32_t type);
};

/** @brief GPIO device configuration, caller-filled with VDM_INIT. */
struct vdm_gpio_config {
    uint32_t size;  /**< sizeof(struct vdm_gpio_config). */
    uint16_t ngpio; /**< Lines, 1..VDM_GPIO_MAX_LINES. */
    uint16_t irq;   /**< 1: offer VDM_GPIO_F_IRQ (the eventq). */
    const struct vdm_gpio_line *lines; /**< ngpio entries (required). */
    const struct vdm_gpio_ops *ops;    /**< The lines (required). */
    void *host;                        /**< Passed to @ref ops hooks. */
    /** VDM_GPIO_STORAGE_BYTES(ngpio) bytes, 8-aligned, caller-owned. */
    void *storage;
    uint64_t storage_bytes; /**< Its size. */
};

/**
 * @brief Make @p dev a GPIO device.
 *
 * Checks the line table (names 7-bit ASCII and unique, directions the
 * flags allow, IRQ only with VDM_GPIO_LINE_IN), copies @p base (its
 * num_queues must be 0 or 2), sets class, state and features (VDM_GPIO_F_IRQ
 * when asked, the ring features less IN_ORDER, and the platform bits of
 * base->features) and calls vdm_dev_init(). @p gpio, @p dev, the line table
 * and the storage must stay in place for the device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, missing hook, bad table, ngpio out
 *         of range, storage too small or misaligned); VDM_ESIZE (a struct's
 *         size field too small); or what vdm_dev_init() returns.
 */
VDM_API int vdm_gpio_init(struct vdm_gpio *gpio, struct vdm_dev *dev,
                          const struct vdm_gpio_config *cfg,
                          const struct vdm_dev_config *base);

/**
 * @brief The host sensed @p value on input @p line: a rising edge and high
 *        level for 1, a falling edge and low level for 0.
 *
 * Delivers the interrupt when enabled for it and unmasked; latches an edge
 * when enabled and masked; otherwise only the level is noted.
 * @return 1 an event was delivered; 0 latched or nothing to do;
 *         VDM_EINVAL (NULL, value not 0/1); VDM_ERANGE (line >= ngpio).
 */
VDM_API int vdm_gpio_line_event(struct vdm_gpio *gpio, uint16_t line,
                                uint32_t value);

/** @brief A line's current direction (VDM_GPIO_DIRECTION_*), or a negative
 *         VDM_E* code. */
VDM_API int vdm_gpio_direction(const struct vdm_gpio *gpio, uint16_t line);

/** @brief A line's current IRQ type (VDM_GPIO_IRQ_TYPE_*), or a negative
 *         VDM_E* code. */
VDM_API int vdm_gpio_irq_type(const struct vdm_gpio *gpio, uint16_t line);

/**
 * @brief Whether the driver has unmasked @p line's interrupt: the device
 *        holds the line's event buffer pair (spec "Device Operation:
 *        eventq": queuing the pair unmasks, returning it masks).
 *
 * A host that must not let two edges merge into one latched event (a
 * test, a replay) waits for 1 before making the next edge: an edge made
 * while the interrupt is masked is latched, and every further edge until
 * the driver queues the buffer again is the same one latched event. A
 * driver that reads the line to tell the edge of an EDGE_BOTH interrupt
 * (Linux does, after the event) has read it by the time it unmasks.
 *
 * @return 1 unmasked (buffer held); 0 masked; VDM_EINVAL (NULL);
 *         VDM_ERANGE (line >= ngpio).
 */
VDM_API int vdm_gpio_irq_unmasked(const struct vdm_gpio *gpio, uint16_t line);

/** @brief The device this GPIO device was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_gpio_dev(const struct vdm_gpio *gpio);

#ifdef __cplusplus
}
#endif
#endif
