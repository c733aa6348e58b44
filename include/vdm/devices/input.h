/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file input.h
 * @brief Input device (virtio-input, spec "Input Device", device id 18).
 *
 * One instance is one evdev-like input device: keyboard, mouse, tablet,
 * touch screen. Queue 0 (eventq) carries events device to driver, queue 1
 * (statusq) carries feedback driver to device (e.g. keyboard LEDs). Both
 * use the 8-byte event {le16 type, le16 code, le32 value} with Linux evdev
 * meanings (the VDM_INPUT_* codes below).
 *
 * Configuration space (spec "Device configuration layout"): the driver
 * writes `select` and `subsel`; the device answers in `size` and the union.
 * What it answers comes from the caller's vdm_input_config: name, serial,
 * ids, the property bitmap, one event-code bitmap per supported event type
 * and one absinfo per absolute axis. Unknown or unsupported selections,
 * and selections whose subsel must be zero but is not, give size 0.
 *
 * Event delivery: vdm_input_send() appends to a caller-sized ring buffer
 * and delivers what the driver has buffers for, in order, at once. Events
 * sent while the driver has no buffers (or before DRIVER_OK) wait in the
 * ring and go out on the next eventq notification or send.
 *
 * Overflow (spec "Device Operation": the device SHOULD buffer or drop an
 * entire sequence, never part of one): when an event finds the ring full,
 * the unfinished sequence it belongs to is dropped as a whole: the events
 * of it still waiting in the ring are removed, and it and every further
 * event up to and including the sequence's terminating SYN_REPORT are
 * discarded. All of these count in vdm_input_dropped(). Once that sequence
 * has ended and the ring has room for two events (after the driver took
 * events, or when the host sends the next one), the device queues
 * SYN_DROPPED (EV_SYN / SYN_DROPPED), as Linux evdev does, followed by
 * its own SYN_REPORT, so that a driver ignoring "events up to and
 * including the next SYN_REPORT" after SYN_DROPPED loses nothing more.
 * One SYN_DROPPED is emitted per loss, however many events went.
 *
 * Driver errors, handled without breaking the device:
 * - an eventq buffer with fewer than 8 writable bytes (spec: buffers MUST
 *   be at least the size of the event) is returned with used length 0 and
 *   the event stays queued for the next buffer; readable parts of eventq
 *   buffers are ignored;
 * - a statusq buffer with fewer than 8 readable bytes is returned unread;
 *   of a longer one, only the first event is read (one event per buffer, as
 *   drivers send them);
 * - of a chain with more than 8 spans only the first 8 are used.
 * Each such error is logged once per device reset through the host log
 * hook.
 *
 * Device reset discards events still waiting in the ring (a new driver
 * starts from a clean state, as a newly opened evdev client does) and the
 * pending SYN_DROPPED; the dropped counter is kept.
 *
 * Threads: one thread at a time; vdm_input_send() must be called on the
 * thread that drives the device.
 */
#ifndef VDM_DEVICES_INPUT_H
#define VDM_DEVICES_INPUT_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (eventq, statusq). */
#define VDM_INPUT_NUM_QUEUES 2
/** @brief Index of the eventq (device to driver). */
#define VDM_INPUT_QUEUE_EVENT 0
/** @brief Index of the statusq (driver to device). */
#define VDM_INPUT_QUEUE_STATUS 1
/** @brief Bytes of one virtio_input_event on the wire. */
#define VDM_INPUT_EVENT_BYTES 8
/** @brief Size of virtio_input_config (8-byte header + 128-byte union). */
#define VDM_INPUT_CONFIG_BYTES 136
/** @brief Largest string or bitmap in the config union, in bytes. */
#define VDM_INPUT_CFG_DATA_MAX 128
/** @brief Bytes of opaque storage for one input device. */
#define VDM_INPUT_SIZE 1152
/** @brief Bytes of a bitmap that holds codes 0..@p max_code. */
#define VDM_INPUT_BITMAP_BYTES(max_code) ((uint32_t)(max_code) / 8u + 1u)

/** @name Config selectors (spec virtio_input_config_select)
 * @{ */
#define VDM_INPUT_CFG_UNSET     0x00 /**< Nothing selected. */
#define VDM_INPUT_CFG_ID_NAME   0x01 /**< Device name, u.string. */
#define VDM_INPUT_CFG_ID_SERIAL 0x02 /**< Serial number, u.string. */
/** Bus/vendor/product/version, u.ids. */
#define VDM_INPUT_CFG_ID_DEVIDS 0x03
#define VDM_INPUT_CFG_PROP_BITS 0x10 /**< INPUT_PROP_* bitmap. */
#define VDM_INPUT_CFG_EV_BITS   0x11 /**< Code bitmap of event type subsel. */
#define VDM_INPUT_CFG_ABS_INFO  0x12 /**< absinfo of axis subsel, u.abs. */
/** @} */

/** @name Config space offsets (struct virtio_input_config)
 * @{ */
#define VDM_INPUT_CFG_OFF_SELECT 0 /**< u8 select (driver writes). */
#define VDM_INPUT_CFG_OFF_SUBSEL 1 /**< u8 subsel (driver writes). */
#define VDM_INPUT_CFG_OFF_SIZE   2 /**< u8 size (device answers). */
#define VDM_INPUT_CFG_OFF_U      8 /**< The 128-byte union. */
/** @} */

/** @name Linux input ABI: event types (EV_*)
 * @{ */
#define VDM_INPUT_EV_SYN 0x00 /**< Synchronisation. */
#define VDM_INPUT_EV_KEY 0x01 /**< Keys and buttons. */
#define VDM_INPUT_EV_REL 0x02 /**< Relative axes. */
#define VDM_INPUT_EV_ABS 0x03 /**< Absolute axes. */
#define VDM_INPUT_EV_MSC 0x04 /**< Miscellaneous. */
#define VDM_INPUT_EV_SW  0x05 /**< Switches. */
#define VDM_INPUT_EV_LED 0x11 /**< LEDs. */
#define VDM_INPUT_EV_SND 0x12 /**< Sounds. */
#define VDM_INPUT_EV_REP 0x14 /**< Autorepeat. */
#define VDM_INPUT_EV_FF  0x15 /**< Force feedback. */
#define VDM_INPUT_EV_MAX 0x1f /**< Highest event type. */
/** @} */

/** @name Linux input ABI: EV_SYN codes
 * @{ */
#define VDM_INPUT_SYN_REPORT    0 /**< End of one device update. */
#define VDM_INPUT_SYN_CONFIG    1 /**< Configuration changed. */
#define VDM_INPUT_SYN_MT_REPORT 2 /**< End of one contact (type A MT). */
#define VDM_INPUT_SYN_DROPPED   3 /**< Events were lost: resynchronise. */
/** @} */

/** @name Linux input ABI: relative axes (REL_*)
 * @{ */
#define VDM_INPUT_REL_X      0x00 /**< Horizontal motion. */
#define VDM_INPUT_REL_Y      0x01 /**< Vertical motion. */
#define VDM_INPUT_REL_Z      0x02 /**< Depth motion. */
#define VDM_INPUT_REL_HWHEEL 0x06 /**< Horizontal wheel. */
#define VDM_INPUT_REL_WHEEL  0x08 /**< Vertical wheel. */
#define VDM_INPUT_REL_MAX    0x0f /**< Highest relative axis. */
/** @} */

/** @name Linux input ABI: absolute axes (ABS_*)
 * @{ */
#define VDM_INPUT_ABS_X              0x00 /**< X position. */
#define VDM_INPUT_ABS_Y              0x01 /**< Y position. */
#define VDM_INPUT_ABS_Z              0x02 /**< Z position. */
#define VDM_INPUT_ABS_PRESSURE       0x18 /**< Pressure. */
#define VDM_INPUT_ABS_MT_SLOT        0x2f /**< Multi-touch slot. */
#define VDM_INPUT_ABS_MT_TOUCH_MAJOR 0x30 /**< Contact major axis. */
#define VDM_INPUT_ABS_MT_POSITION_X  0x35 /**< Contact X. */
#define VDM_INPUT_ABS_MT_POSITION_Y  0x36 /**< Contact Y. */
#define VDM_INPUT_ABS_MT_TRACKING_ID 0x39 /**< Contact id (-1: lifted). */
#define VDM_INPUT_ABS_MT_PRESSURE    0x3a /**< Contact pressure. */
#define VDM_INPUT_ABS_MAX            0x3f /**< Highest absolute axis. */
/** @} */

/** @name Linux input ABI: LEDs (LED_*)
 * @{ */
#define VDM_INPUT_LED_NUML    0x00 /**< Num Lock. */
#define VDM_INPUT_LED_CAPSL   0x01 /**< Caps Lock. */
#define VDM_INPUT_LED_SCROLLL 0x02 /**< Scroll Lock. */
#define VDM_INPUT_LED_COMPOSE 0x03 /**< Compose. */
#define VDM_INPUT_LED_KANA    0x04 /**< Kana. */
#define VDM_INPUT_LED_MAX     0x0f /**< Highest LED. */
/** @} */

/** @name Linux input ABI: autorepeat (REP_*)
 * @{ */
#define VDM_INPUT_REP_DELAY  0x00 /**< Delay before repeat. */
#define VDM_INPUT_REP_PERIOD 0x01 /**< Repeat period. */
/** @} */

/** @name Linux input ABI: properties (INPUT_PROP_*)
 * @{ */
#define VDM_INPUT_PROP_POINTER   0x00 /**< Needs a pointer (touchpad). */
#define VDM_INPUT_PROP_DIRECT    0x01 /**< Direct input (touch screen). */
#define VDM_INPUT_PROP_BUTTONPAD 0x02 /**< Buttons under the pad. */
#define VDM_INPUT_PROP_MAX       0x1f /**< Highest property. */
/** @} */

/** @name Linux input ABI: bus types (BUS_*)
 * @{ */
#define VDM_INPUT_BUS_USB     0x03 /**< USB. */
#define VDM_INPUT_BUS_VIRTUAL 0x06 /**< Virtual device. */
/** @} */

/** @name Linux input ABI: buttons (BTN_*)
 * @{ */
#define VDM_INPUT_BTN_LEFT   0x110 /**< Left mouse button. */
#define VDM_INPUT_BTN_RIGHT  0x111 /**< Right mouse button. */
#define VDM_INPUT_BTN_MIDDLE 0x112 /**< Middle mouse button. */
#define VDM_INPUT_BTN_SIDE   0x113 /**< Side mouse button. */
#define VDM_INPUT_BTN_EXTRA  0x114 /**< Extra mouse button. */
#define VDM_INPUT_BTN_TOUCH  0x14a /**< Touching the surface. */
/** @} */

/** @name Linux input ABI: keys (KEY_*), the standard PC keyboard
 * @{ */
#define VDM_INPUT_KEY_RESERVED   0     /**< Not a key. */
#define VDM_INPUT_KEY_ESC        1     /**< Escape. */
#define VDM_INPUT_KEY_1          2     /**< 1. */
#define VDM_INPUT_KEY_2          3     /**< 2. */
#define VDM_INPUT_KEY_3          4     /**< 3. */
#define VDM_INPUT_KEY_4          5     /**< 4. */
#define VDM_INPUT_KEY_5          6     /**< 5. */
#define VDM_INPUT_KEY_6          7     /**< 6. */
#define VDM_INPUT_KEY_7          8     /**< 7. */
#define VDM_INPUT_KEY_8          9     /**< 8. */
#define VDM_INPUT_KEY_9          10    /**< 9. */
#define VDM_INPUT_KEY_0          11    /**< 0. */
#define VDM_INPUT_KEY_MINUS      12    /**< -. */
#define VDM_INPUT_KEY_EQUAL      13    /**< =. */
#define VDM_INPUT_KEY_BACKSPACE  14    /**< Backspace. */
#define VDM_INPUT_KEY_TAB        15    /**< Tab. */
#define VDM_INPUT_KEY_Q          16    /**< Q. */
#define VDM_INPUT_KEY_W          17    /**< W. */
#define VDM_INPUT_KEY_E          18    /**< E. */
#define VDM_INPUT_KEY_R          19    /**< R. */
#define VDM_INPUT_KEY_T          20    /**< T. */
#define VDM_INPUT_KEY_Y          21    /**< Y. */
#define VDM_INPUT_KEY_U          22    /**< U. */
#define VDM_INPUT_KEY_I          23    /**< I. */
#define VDM_INPUT_KEY_O          24    /**< O. */
#define VDM_INPUT_KEY_P          25    /**< P. */
#define VDM_INPUT_KEY_LEFTBRACE  26    /**< [. */
#define VDM_INPUT_KEY_RIGHTBRACE 27    /**< ]. */
#define VDM_INPUT_KEY_ENTER      28    /**< Enter. */
#define VDM_INPUT_KEY_LEFTCTRL   29    /**< Left Ctrl. */
#define VDM_INPUT_KEY_A          30    /**< A. */
#define VDM_INPUT_KEY_S          31    /**< S. */
#define VDM_INPUT_KEY_D          32    /**< D. */
#define VDM_INPUT_KEY_F          33    /**< F. */
#define VDM_INPUT_KEY_G          34    /**< G. */
#define VDM_INPUT_KEY_H          35    /**< H. */
#define VDM_INPUT_KEY_J          36    /**< J. */
#define VDM_INPUT_KEY_K          37    /**< K. */
#define VDM_INPUT_KEY_L          38    /**< L. */
#define VDM_INPUT_KEY_SEMICOLON  39    /**< ;. */
#define VDM_INPUT_KEY_APOSTROPHE 40    /**< '. */
#define VDM_INPUT_KEY_GRAVE      41    /**< `. */
#define VDM_INPUT_KEY_LEFTSHIFT  42    /**< Left Shift. */
#define VDM_INPUT_KEY_BACKSLASH  43    /**< Backslash. */
#define VDM_INPUT_KEY_Z          44    /**< Z. */
#define VDM_INPUT_KEY_X          45    /**< X. */
#define VDM_INPUT_KEY_C          46    /**< C. */
#define VDM_INPUT_KEY_V          47    /**< V. */
#define VDM_INPUT_KEY_B          48    /**< B. */
#define VDM_INPUT_KEY_N          49    /**< N. */
#define VDM_INPUT_KEY_M          50    /**< M. */
#define VDM_INPUT_KEY_COMMA      51    /**< ,. */
#define VDM_INPUT_KEY_DOT        52    /**< .. */
#define VDM_INPUT_KEY_SLASH      53    /**< /. */
#define VDM_INPUT_KEY_RIGHTSHIFT 54    /**< Right Shift. */
#define VDM_INPUT_KEY_KPASTERISK 55    /**< Keypad *. */
#define VDM_INPUT_KEY_LEFTALT    56    /**< Left Alt. */
#define VDM_INPUT_KEY_SPACE      57    /**< Space. */
#define VDM_INPUT_KEY_CAPSLOCK   58    /**< Caps Lock. */
#define VDM_INPUT_KEY_F1         59    /**< F1. */
#define VDM_INPUT_KEY_F2         60    /**< F2. */
#define VDM_INPUT_KEY_F3         61    /**< F3. */
#define VDM_INPUT_KEY_F4         62    /**< F4. */
#define VDM_INPUT_KEY_F5         63    /**< F5. */
#define VDM_INPUT_KEY_F6         64    /**< F6. */
#define VDM_INPUT_KEY_F7         65    /**< F7. */
#define VDM_INPUT_KEY_F8         66    /**< F8. */
#define VDM_INPUT_KEY_F9         67    /**< F9. */
#define VDM_INPUT_KEY_F10        68    /**< F10. */
#define VDM_INPUT_KEY_NUMLOCK    69    /**< Num Lock. */
#define VDM_INPUT_KEY_SCROLLLOCK 70    /**< Scroll Lock. */
#define VDM_INPUT_KEY_KP7        71    /**< Keypad 7. */
#define VDM_INPUT_KEY_KP8        72    /**< Keypad 8. */
#define VDM_INPUT_KEY_KP9        73    /**< Keypad 9. */
#define VDM_INPUT_KEY_KPMINUS    74    /**< Keypad -. */
#define VDM_INPUT_KEY_KP4        75    /**< Keypad 4. */
#define VDM_INPUT_KEY_KP5        76    /**< Keypad 5. */
#define VDM_INPUT_KEY_KP6        77    /**< Keypad 6. */
#define VDM_INPUT_KEY_KPPLUS     78    /**< Keypad +. */
#define VDM_INPUT_KEY_KP1        79    /**< Keypad 1. */
#define VDM_INPUT_KEY_KP2        80    /**< Keypad 2. */
#define VDM_INPUT_KEY_KP3        81    /**< Keypad 3. */
#define VDM_INPUT_KEY_KP0        82    /**< Keypad 0. */
#define VDM_INPUT_KEY_KPDOT      83    /**< Keypad .. */
#define VDM_INPUT_KEY_102ND      86    /**< The key left of Z on ISO boards. */
#define VDM_INPUT_KEY_F11        87    /**< F11. */
#define VDM_INPUT_KEY_F12        88    /**< F12. */
#define VDM_INPUT_KEY_KPENTER    96    /**< Keypad Enter. */
#define VDM_INPUT_KEY_RIGHTCTRL  97    /**< Right Ctrl. */
#define VDM_INPUT_KEY_KPSLASH    98    /**< Keypad /. */
#define VDM_INPUT_KEY_SYSRQ      99    /**< SysRq / Print Screen. */
#define VDM_INPUT_KEY_RIGHTALT   100   /**< Right Alt / AltGr. */
#define VDM_INPUT_KEY_HOME       102   /**< Home. */
#define VDM_INPUT_KEY_UP         103   /**< Up arrow. */
#define VDM_INPUT_KEY_PAGEUP     104   /**< Page Up. */
#define VDM_INPUT_KEY_LEFT       105   /**< Left arrow. */
#define VDM_INPUT_KEY_RIGHT      106   /**< Right arrow. */
#define VDM_INPUT_KEY_END        107   /**< End. */
#define VDM_INPUT_KEY_DOWN       108   /**< Down arrow. */
#define VDM_INPUT_KEY_PAGEDOWN   109   /**< Page Down. */
#define VDM_INPUT_KEY_INSERT     110   /**< Insert. */
#define VDM_INPUT_KEY_DELETE     111   /**< Delete. */
#define VDM_INPUT_KEY_PAUSE      119   /**< Pause / Break. */
#define VDM_INPUT_KEY_LEFTMETA   125   /**< Left Meta (Windows key). */
#define VDM_INPUT_KEY_RIGHTMETA  126   /**< Right Meta. */
#define VDM_INPUT_KEY_COMPOSE    127   /**< Menu / Compose. */
#define VDM_INPUT_KEY_MAX        0x2ff /**< Highest key or button code. */
/** @} */

/** @brief An opaque input device: caller-owned storage. */
struct vdm_input {
    alignas(8) unsigned char opaque[VDM_INPUT_SIZE]; /**< Library state. */
};

/** @brief One event, host byte order (one slot of the caller's ring). */
struct vdm_input_event {
    uint16_t type;  /**< VDM_INPUT_EV_*. */
    uint16_t code;  /**< Code within the type (KEY_*, REL_*, ...). */
    uint32_t value; /**< Value (a signed evdev value, two's complement). */
};

/** @brief Answer to VIRTIO_INPUT_CFG_ID_DEVIDS (host byte order). */
struct vdm_input_devids {
    uint16_t bustype; /**< VDM_INPUT_BUS_*. */
    uint16_t vendor;  /**< Vendor id. */
    uint16_t product; /**< Product id. */
    uint16_t version; /**< Version. */
};

/** @brief Supported codes of one event type (answer to CFG_EV_BITS). */
struct vdm_input_bits {
    uint8_t type;          /**< The event type, VDM_INPUT_EV_* (subsel). */
    uint8_t reserved[3];   /**< Must be 0. */
    uint32_t len;          /**< Bytes in @ref bitmap, 1..128; the `size`
                                answered. */
    const uint8_t *bitmap; /**< Bit n of byte n/8 (LSB first): code n. */
};

/** @brief One absolute axis (answer to CFG_ABS_INFO), host byte order. */
struct vdm_input_absinfo {
    uint8_t axis;        /**< VDM_INPUT_ABS_* (subsel). */
    uint8_t reserved[3]; /**< Must be 0. */
    int32_t min;         /**< Smallest value. */
    int32_t max;         /**< Largest value. */
    int32_t fuzz;        /**< Noise filter. */
    int32_t flat;        /**< Dead zone. */
    int32_t res;         /**< Resolution (units per mm). */
};

/** @brief What the input device asks of the host (const table). */
struct vdm_input_ops {
    uint32_t size; /**< sizeof(struct vdm_input_ops), set by VDM_INIT. */
    /**
     * The driver sent a status event on the statusq (e.g. EV_LED for a
     * keyboard LED, EV_REP to set the repeat rate). May be NULL: status
     * events are then consumed and ignored.
     */
    void (*status)(void *host, uint16_t type, uint16_t code, uint32_t value);
};

/**
 * @brief Input device configuration, caller-filled with VDM_INIT.
 *
 * Every table and string is caller-owned and must outlive the device;
 * the device reads them when the driver selects config and never writes
 * them. vdm_input_profile_keyboard() and friends fill the identity and
 * capability fields with ready-made library tables.
 */
struct vdm_input_config {
    uint32_t size;      /**< sizeof(struct vdm_input_config). */
    uint32_t queue_len; /**< Entries of @ref queue (>= 2: room for SYN_DROPPED +
                           SYN_REPORT). */
    /** Caller ring holding events the driver has no buffer for yet. */
    struct vdm_input_event *queue;
    const struct vdm_input_ops *ops; /**< Host hooks (may be NULL). */
    void *host;                      /**< Passed to @ref ops hooks. */
    /** NUL-terminated device name (CFG_ID_NAME); NULL: size 0. Only the
     *  first 128 bytes are shown. */
    const char *name;
    /** NUL-terminated serial (CFG_ID_SERIAL); NULL: size 0. */
    const char *serial;
    struct vdm_input_devids ids; /**< CFG_ID_DEVIDS answer (always given). */
    uint32_t prop_len;           /**< Bytes of @ref prop_bits, 0..128. */
    uint32_t nev;                /**< Entries of @ref ev. */
    const uint8_t *prop_bits;    /**< INPUT_PROP_* bitmap; NULL: size 0. */
    const struct vdm_input_bits *ev;     /**< One entry per event type. */
    const struct vdm_input_absinfo *abs; /**< One entry per axis. */
    uint32_t nabs;                       /**< Entries of @ref abs. */
    uint32_t reserved;                   /**< Must be 0. */
};

/**
 * @brief Create an input device on @p dev.
 *
 * Checks @p cfg (queue present; bitmaps 1..128 bytes and non-NULL; no
 * reserved event type or axis beyond the Linux maxima), copies @p base
 * (memory, host hooks, queues, slots, queue_size_max; its num_queues must
 * be 0 or 2), sets the device class, state and features (VDM_F_RING_ALL
 * plus the generic bits 24..40 of base->features, e.g.
 * VDM_F_ACCESS_PLATFORM; input has no device-type bits) and calls
 * vdm_dev_init(). @p in and @p dev must stay in place for the device's
 * lifetime.
 * @return 0; VDM_EINVAL; VDM_ESIZE (a struct's size field too small); or
 *         what vdm_dev_init() returns.
 */
VDM_API int vdm_input_init(struct vdm_input *in, struct vdm_dev *dev,
                           const struct vdm_input_config *cfg,
                           const struct vdm_dev_config *base);

/**
 * @brief Inject one event, e.g. (EV_KEY, KEY_A, 1) then (EV_SYN,
 *        SYN_REPORT, 0).
 *
 * The event joins the ring and everything the driver has eventq buffers for
 * is delivered at once (used-buffer notification as the driver asks).
 * Terminate each device update with SYN_REPORT: a sequence is the unit the
 * device keeps or drops on overflow.
 * @return 0 when queued or delivered; VDM_ENOSPC when the event was dropped
 *         for lack of room (counted in vdm_input_dropped(); do not retry,
 *         SYN_DROPPED tells the driver); VDM_EINVAL for a NULL @p in.
 */
VDM_API int vdm_input_send(struct vdm_input *in, uint16_t type, uint16_t code,
                           uint32_t value);

/**
 * @brief Inject @p n events with one delivery pass and one notification.
 * @return the number of events queued or delivered (the others were
 *         dropped and counted); VDM_EINVAL.
 */
VDM_API int vdm_input_send_many(struct vdm_input *in,
                                const struct vdm_input_event *ev, uint32_t n);

/** @brief Events dropped for lack of ring room since vdm_input_init(). */
VDM_API uint64_t vdm_input_dropped(const struct vdm_input *in);

/** @brief Events waiting in the ring for eventq buffers. */
VDM_API uint32_t vdm_input_pending(const struct vdm_input *in);

/** @brief The device this input device was created on. */
VDM_API struct vdm_dev *vdm_input_dev(const struct vdm_input *in);

/**
 * @brief Fill @p cfg as a 105-key PC keyboard: name "vdm keyboard",
 *        bus VIRTUAL, EV_KEY (the keys VDM_INPUT_KEY_ESC..COMPOSE defined
 *        above), EV_REP, EV_LED (NUML, CAPSL, SCROLLL).
 *
 * Sets name, serial (NULL), ids, prop, ev and abs fields; leaves size,
 * queue, queue_len, ops and host alone.
 * @return 0; VDM_EINVAL for NULL; VDM_ESIZE if @p cfg->size is too small.
 */
VDM_API int vdm_input_profile_keyboard(struct vdm_input_config *cfg);

/**
 * @brief Fill @p cfg as a wheel mouse: EV_REL (X, Y, WHEEL), EV_KEY
 *        (BTN_LEFT, BTN_RIGHT, BTN_MIDDLE). As vdm_input_profile_keyboard().
 */
VDM_API int vdm_input_profile_mouse(struct vdm_input_config *cfg);

/**
 * @brief Fill @p cfg as a 10-finger multi-touch screen: INPUT_PROP_DIRECT,
 *        EV_KEY (BTN_TOUCH), EV_ABS (X, Y, MT_SLOT 0..9, MT_POSITION_X/Y,
 *        MT_TRACKING_ID) with absinfo; positions range 0..32767 on both
 *        axes. As vdm_input_profile_keyboard().
 */
VDM_API int vdm_input_profile_touch(struct vdm_input_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
