/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file console.h
 * @brief Console device (virtio-console, spec "Console Device", id 3).
 *
 * A console with one or more ports, each a byte stream between the guest
 * and a host endpoint (a pty, a socket, a file). Queue 0 and 1 are port 0's
 * receiveq and transmitq. With VDM_CONSOLE_F_MULTIPORT queue 2 and 3 are
 * the control receiveq (device to driver) and control transmitq (driver to
 * device), and port p >= 1 has queues 2p + 2 (receiveq) and 2p + 3
 * (transmitq) (@ref VDM_CONSOLE_QUEUE_RX, @ref VDM_CONSOLE_QUEUE_TX).
 *
 * **Ports.** The host describes its ports with vdm_console_port_add()
 * (name, console or not) before or after the driver starts: without
 * MULTIPORT only port 0 exists and it is the console; with MULTIPORT the
 * device announces each port the host added (DEVICE_ADD) once the driver
 * sent DEVICE_READY, and after the driver's PORT_READY for it sends
 * CONSOLE_PORT (console ports), PORT_NAME (named ports), PORT_OPEN
 * (when the host side is open) and RESIZE (console ports with a size).
 * vdm_console_port_remove() sends DEVICE_REMOVE (hot-unplug). Messages wait
 * for control receiveq buffers: each port keeps at most one message of
 * each kind outstanding, so nothing the host does can overflow the device.
 *
 * **Data.** Host to guest: vdm_console_write() fills the port's posted
 * receiveq buffers and returns how many bytes were taken; it never drops
 * bytes (0: no buffer, or, with MULTIPORT, the guest has not opened the
 * port; vdm_console_ops::rx_ready and vdm_console_ops::guest_open say when
 * to try again). Guest to host: each transmitq buffer goes to
 * vdm_console_ops::transmit, which consumes it at once, keeps it
 * (completed later with vdm_console_tx_done()) or pushes back
 * (VDM_EAGAIN: the host resumes the port with vdm_console_tx_kick()).
 * Buffers reach the host in ring order, one port at a time.
 *
 * **Size.** vdm_console_resize() updates `cols`/`rows` of the configuration
 * for port 0 (VDM_CONSOLE_F_SIZE: a configuration change notification) and,
 * with MULTIPORT, sends a RESIZE control message for a console port.
 *
 * **Emergency write.** With VDM_CONSOLE_F_EMERG_WRITE offered, a write to
 * `emerg_wr` at any time (even before the driver set FEATURES_OK) hands its
 * low byte to vdm_console_ops::emerg_write (spec "Device Initialization").
 *
 * **Hostile driver.** Control messages naming a port that does not exist or
 * was not announced, events only a device may send, PORT_OPEN before
 * PORT_READY, values other than 0 and 1, short messages, device-writable
 * buffers on a transmitq and device-readable buffers on a receiveq, chains
 * with more than VDM_CONSOLE_IOV_MAX spans: each is used with length 0 (or
 * skipped), logged once per reset, and changes nothing.
 *
 * Threads: one thread at a time; host hooks are called on the thread that
 * drives the device, and the vdm_console_* calls must be made there
 * (possibly from inside a hook, except vdm_console_write() from inside
 * vdm_console_ops::transmit of the same port).
 */
#ifndef VDM_DEVICES_CONSOLE_H
#define VDM_DEVICES_CONSOLE_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Feature bits
 * @{ */
#define VDM_CONSOLE_F_SIZE        (1ull << 0) /**< cols/rows are valid. */
#define VDM_CONSOLE_F_MULTIPORT   (1ull << 1) /**< Ports and control queues. */
#define VDM_CONSOLE_F_EMERG_WRITE (1ull << 2) /**< emerg_wr is valid. */
/** @} */

/** @brief Size of struct virtio_console_config. */
#define VDM_CONSOLE_CONFIG_BYTES 12u
/** @brief Config offset of le16 cols. */
#define VDM_CONSOLE_CFG_COLS 0u
/** @brief Config offset of le16 rows. */
#define VDM_CONSOLE_CFG_ROWS 2u
/** @brief Config offset of le32 max_nr_ports. */
#define VDM_CONSOLE_CFG_MAX_NR_PORTS 4u
/** @brief Config offset of le32 emerg_wr. */
#define VDM_CONSOLE_CFG_EMERG_WR 8u

/** @brief Bytes of struct virtio_console_control (le32 id, le16 event,
 *         le16 value). */
#define VDM_CONSOLE_CONTROL_BYTES 8u
/** @brief Bytes of struct virtio_console_resize (le16 cols, le16 rows). */
#define VDM_CONSOLE_RESIZE_BYTES 4u

/** @name Control events (virtio_console_control::event)
 * @{ */
#define VDM_CONSOLE_DEVICE_READY  0u /**< Driver: ready (value 1) or not. */
#define VDM_CONSOLE_DEVICE_ADD    1u /**< Device: a new port. */
#define VDM_CONSOLE_DEVICE_REMOVE 2u /**< Device: a port is gone. */
#define VDM_CONSOLE_PORT_READY    3u /**< Driver: port set up (value 1). */
#define VDM_CONSOLE_CONSOLE_PORT  4u /**< Device: the port is a console. */
#define VDM_CONSOLE_RESIZE        5u /**< Device: a console size change. */
#define VDM_CONSOLE_PORT_OPEN     6u /**< Both: port open (1) or closed. */
#define VDM_CONSOLE_PORT_NAME     7u /**< Device: the port's name follows. */
/** @} */

/** @brief Index of port 0's receiveq. */
#define VDM_CONSOLE_QUEUE_RX0 0u
/** @brief Index of port 0's transmitq. */
#define VDM_CONSOLE_QUEUE_TX0 1u
/** @brief Index of the control receiveq (MULTIPORT). */
#define VDM_CONSOLE_QUEUE_CTRL_RX 2u
/** @brief Index of the control transmitq (MULTIPORT). */
#define VDM_CONSOLE_QUEUE_CTRL_TX 3u
/** @brief The receiveq of port @p p. */
#define VDM_CONSOLE_QUEUE_RX(p)                                                \
    (((uint32_t)(p) == 0u) ? 0u : ((2u * (uint32_t)(p)) + 2u))
/** @brief The transmitq of port @p p. */
#define VDM_CONSOLE_QUEUE_TX(p) (VDM_CONSOLE_QUEUE_RX(p) + 1u)
/** @brief Queues of a device with @p max_ports ports (2 without
 *         MULTIPORT, i.e. @p max_ports 1 and no MULTIPORT offered). */
#define VDM_CONSOLE_NUM_QUEUES(max_ports) (2u * ((uint32_t)(max_ports) + 1u))

/** @brief Most ports of one device (queues stay within
 *         VDM_DEV_MAX_QUEUES). */
#define VDM_CONSOLE_MAX_PORTS 511u
/** @brief Longest port name (bytes of UTF-8, no NUL). */
#define VDM_CONSOLE_NAME_MAX 120u
/** @brief Most spans of one buffer. */
#define VDM_CONSOLE_IOV_MAX 16u
/** @brief Most transmitq buffers of one port at the host at once. */
#define VDM_CONSOLE_MAX_TX_SLOTS 256u
/** @brief Bytes of opaque storage for one console device. */
#define VDM_CONSOLE_SIZE 256u
/** @brief Bytes of per-port state in the storage. */
#define VDM_CONSOLE_PORT_BYTES 144u
/** @brief Bytes of caller storage (vdm_console_config::storage) for
 *         @p max_ports ports and @p tx_slots buffers at the host per port:
 *         the ports' state, then request slots of 64 bytes and
 *         VDM_CONSOLE_IOV_MAX spans of 16 bytes for every queue. */
#define VDM_CONSOLE_STORAGE_BYTES(max_ports, tx_slots)                         \
    (((size_t)(max_ports) * (size_t)VDM_CONSOLE_PORT_BYTES) +                  \
     ((size_t)2u * ((size_t)(max_ports) + 1u) * ((size_t)(tx_slots) + 1u) *    \
      64u) +                                                                   \
     ((size_t)2u * ((size_t)(max_ports) + 1u) * (size_t)(tx_slots) *           \
      (size_t)VDM_CONSOLE_IOV_MAX * 16u))

/** @name Port state bits (vdm_console_port_state())
 * @{ */
#define VDM_CONSOLE_PS_ADDED      0x01u /**< The host added the port. */
#define VDM_CONSOLE_PS_CONSOLE    0x02u /**< A console port. */
#define VDM_CONSOLE_PS_ANNOUNCED  0x04u /**< DEVICE_ADD reached the driver. */
#define VDM_CONSOLE_PS_READY      0x08u /**< The driver sent PORT_READY 1. */
#define VDM_CONSOLE_PS_GUEST_OPEN 0x10u /**< The guest has the port open. */
#define VDM_CONSOLE_PS_HOST_OPEN  0x20u /**< The host side is open. */
/** @} */

/** @brief Result of vdm_console_ops::transmit: the host keeps the buffer
 *         and calls vdm_console_tx_done() later. */
#define VDM_CONSOLE_TX_PENDING 1

/** @brief A console device: opaque caller-owned storage. */
struct vdm_console {
    alignas(8) unsigned char opaque[VDM_CONSOLE_SIZE]; /**< Library state. */
};

/** @brief What the console device asks of the host (const table). */
struct vdm_console_ops {
    uint32_t size; /**< sizeof(struct vdm_console_ops), set by VDM_INIT. */
    /** The guest wrote @p len bytes to port @p port, in @p n spans of
     *  guest memory (valid until the buffer is completed). @return 0:
     *  consumed, the buffer is used now; VDM_CONSOLE_TX_PENDING: kept, the
     *  host calls vdm_console_tx_done() with @p token once (possibly from
     *  inside this call); VDM_EAGAIN: not now, the buffer stays in the ring
     *  and the port's transmitq waits for vdm_console_tx_kick(); other
     *  negative VDM_E*: the bytes are dropped, the buffer is used. Required. */
    int (*transmit)(void *host, uint32_t port, const struct vdm_iov *iov,
                    uint32_t n, uint32_t len, uintptr_t token);
    /** Optional: the guest opened (1) or closed (0) port @p port
     *  (PORT_OPEN; without MULTIPORT: at DRIVER_OK and reset). */
    void (*guest_open)(void *host, uint32_t port, uint32_t open);
    /** Optional: the driver posted receiveq buffers for port @p port
     *  (a host holding back data may write it now). */
    void (*rx_ready)(void *host, uint32_t port);
    /** Optional: the driver answered DEVICE_ADD for @p port with
     *  PORT_READY: @p ok 1 set up, 0 failed. */
    void (*port_ready)(void *host, uint32_t port, uint32_t ok);
    /** Optional: the driver wrote @p c to emerg_wr. */
    void (*emerg_write)(void *host, uint8_t c);
};

/** @brief Console device configuration, caller-filled with VDM_INIT. */
struct vdm_console_config {
    uint32_t size;      /**< sizeof(struct vdm_console_config). */
    uint32_t max_ports; /**< Ports (max_nr_ports), 1..VDM_CONSOLE_MAX_PORTS;
                             1 unless MULTIPORT is offered. */
    /** VDM_CONSOLE_F_* offered. */
    uint64_t features;
    const struct vdm_console_ops *ops; /**< Required. */
    void *host;                        /**< Passed to @ref ops hooks. */
    uint32_t tx_slots; /**< Transmitq buffers per port at the host at once,
                            1..VDM_CONSOLE_MAX_TX_SLOTS. */
    uint16_t cols;     /**< Initial console width (F_SIZE). */
    uint16_t rows;     /**< Initial console height (F_SIZE). */
    /** VDM_CONSOLE_STORAGE_BYTES(max_ports, tx_slots) bytes, 8-aligned. */
    void *storage;
    uint64_t storage_bytes; /**< Its size. */
};

/** @brief A port as the host describes it, caller-filled with VDM_INIT. */
struct vdm_console_port_info {
    uint32_t size;      /**< sizeof(struct vdm_console_port_info). */
    uint32_t console;   /**< 1: a console port (hvc in Linux), 0: generic. */
    const char *name;   /**< UTF-8 name (no NUL needed), may be NULL; copied. */
    uint32_t name_len;  /**< Bytes of @ref name, <= VDM_CONSOLE_NAME_MAX. */
    uint32_t host_open; /**< 1: the host side starts open. */
};

/**
 * @brief Make @p dev a console device.
 *
 * Copies @p base (its num_queues must be 0 or
 * VDM_CONSOLE_NUM_QUEUES(max_ports) with MULTIPORT offered, 0 or 2
 * without) and calls vdm_dev_init(). @p con, @p dev and the storage stay in
 * place for the device's lifetime. No port exists until
 * vdm_console_port_add().
 * @return 0; VDM_EINVAL (NULL pointer, no transmit hook, unknown feature
 *         bits, max_ports out of range or above 1 without MULTIPORT,
 *         tx_slots out of range, storage too small or misaligned);
 *         VDM_ESIZE (a struct's size field too small); or what
 *         vdm_dev_init() returns.
 */
VDM_API int vdm_console_init(struct vdm_console *con, struct vdm_dev *dev,
                             const struct vdm_console_config *cfg,
                             const struct vdm_dev_config *base);

/**
 * @brief Add port @p port (hot-plug when the driver is running).
 * @return 0; VDM_EBUSY (already added); VDM_ERANGE (port >= max_ports);
 *         VDM_EINVAL (NULL, name too long, console other than 0/1).
 */
VDM_API int vdm_console_port_add(struct vdm_console *con, uint32_t port,
                                 const struct vdm_console_port_info *info);

/**
 * @brief Remove port @p port (DEVICE_REMOVE for a port the driver knows).
 *        Buffers still at the host complete as before.
 * @return 0; VDM_ENOENT (not added); VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_console_port_remove(struct vdm_console *con, uint32_t port);

/**
 * @brief Host to guest: copy up to @p len bytes into port @p port's posted
 *        receiveq buffers, one buffer after another.
 * @return bytes taken (0..len; the rest is the caller's to keep);
 *         VDM_ESTATE (device not live); VDM_ENOENT (no such port);
 *         VDM_EINVAL (NULL).
 */
VDM_API int vdm_console_write(struct vdm_console *con, uint32_t port,
                              const void *data, uint32_t len);

/**
 * @brief The host side of port @p port opened (1) or closed (0): a
 *        PORT_OPEN message with MULTIPORT.
 * @return 0; VDM_ENOENT; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_console_set_host_open(struct vdm_console *con, uint32_t port,
                                      uint32_t open);

/**
 * @brief The console of port @p port is now @p cols x @p rows: port 0's
 *        size in the configuration (F_SIZE: configuration change
 *        notification), and a RESIZE message for a console port with
 *        MULTIPORT.
 * @return 0; VDM_ENOENT; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_console_resize(struct vdm_console *con, uint32_t port,
                               uint16_t cols, uint16_t rows);

/**
 * @brief Complete a transmitq buffer the host kept
 *        (VDM_CONSOLE_TX_PENDING).
 * @return 0; VDM_ENOENT (unknown, repeated or stale token: nothing done);
 *         VDM_EINVAL.
 */
VDM_API int vdm_console_tx_done(struct vdm_console *con, uintptr_t token);

/**
 * @brief The host can take data of port @p port again after
 *        vdm_console_ops::transmit said VDM_EAGAIN: serve its transmitq.
 * @return 0; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_console_tx_kick(struct vdm_console *con, uint32_t port);

/** @brief VDM_CONSOLE_PS_* bits of port @p port, or a negative VDM_E*. */
VDM_API int vdm_console_port_state(const struct vdm_console *con,
                                   uint32_t port);

/** @brief The device this console was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_console_dev(const struct vdm_console *con);

#ifdef __cplusplus
}
#endif
#endif
