/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vfio_user.h
 * @brief vfio-user server: one vdm device behind vdm's own virtio-pci
 *        transport, served to a vfio-user client (e.g. QEMU's
 *        vfio-user-pci), freestanding and allocation-free.
 *
 * The host owns the socket and the event loop. It reads one message (the
 * 16-byte header, vdm_vfio_user_msg_len() to learn the rest, then the rest
 * and the file descriptors that came with it), hands it to
 * vdm_vfio_user_handle() and sends back the reply the call produced, if
 * any. Everything that needs an operating system is a host hook: mapping a
 * DMA region's file descriptor, unmapping it, signalling an eventfd and
 * closing a file descriptor. File descriptors are plain `int32_t` numbers to
 * the library; it never does anything with them but hand them back to
 * hooks, and it consumes every descriptor a message brings (kept, or given
 * to `close`), whatever the outcome.
 *
 * What the client sees (protocol "vfio-user Protocol Specification"):
 *  - VERSION 0.0 with the capabilities max_msg_fds
 *    (@ref VDM_VFIO_USER_MAX_FDS), max_data_xfer_size
 *    (@ref VDM_VFIO_USER_MAX_DATA), max_dma_maps (@ref VDM_VFIO_USER_MAX_DMA)
 *    and pgsizes (4096). The client's capabilities JSON is parsed without
 *    allocation or recursion; unknown keys are ignored, malformed JSON or a
 *    known key of the wrong type is refused. Twin-socket mode, migration and
 *    write_multiple are not offered;
 *  - a PCI device (DEVICE_GET_INFO: VFIO_DEVICE_FLAGS_PCI | RESET, 9
 *    regions, 5 interrupt types): region 7 is the 256-byte configuration
 *    space (vdm_pci_cfg_read()/vdm_pci_cfg_write()), regions 0-5 the BARs
 *    the transport implements (vdm_pci_bar_read()/vdm_pci_bar_write()),
 *    readable and writable, never mappable: every byte of a vdm BAR is a
 *    trapped register, so there is no sparse mmap area to offer. ROM and
 *    VGA have size 0;
 *  - interrupts: INTx (one, EVENTFD | MASKABLE | AUTOMASKED: the eventfd is
 *    signalled when the line rises and the interrupt masks itself until the
 *    client unmasks it; an unmask with the line still high signals again)
 *    and MSI-X (one per table entry, EVENTFD | MASKABLE: a message to a
 *    vector masked through SET_IRQS, or without an eventfd, is kept pending
 *    and sent when it is unmasked or gets one). The client owns the MSI-X
 *    table (it emulates it for the guest): the transport runs with
 *    VDM_PCI_F_MSIX_HOST, so vdm's own table mask bits are not consulted.
 *    MSI, ERR and REQ have no interrupts;
 *  - DMA_MAP / DMA_UNMAP: regions with a file descriptor are mapped by the
 *    host (`map`) and enter the memory table the device uses
 *    (vdm_vfio_user_mem()); regions without one are reached through
 *    DMA_READ / DMA_WRITE messages the server sends (see "Memory without
 *    a file descriptor" below) when the host gives the `dma` hook and
 *    bounce storage, and are otherwise recorded only (a device access to
 *    them then fails cleanly: VDM_EFAULT, DEVICE_NEEDS_RESET);
 *  - DEVICE_RESET: PCI function reset (vdm_pci_reset()); DMA maps and
 *    interrupt eventfds stay, the SET_IRQS masks are cleared;
 *  - DEVICE_FEATURE: DMA_LOGGING_START / _STOP (SET, PROBE) and
 *    DMA_LOGGING_REPORT (GET, PROBE) when the host gives a bitmap buffer
 *    (vdm_vfio_user_config::dirty_bitmap): while logging runs, every
 *    device write into DMA memory marks its pages (vdm_mem::log: rings,
 *    and the used length of each request completed through the device
 *    kit); a REPORT returns the pages of its range written since the last
 *    report (read and clear; a logged page that reaches past the range
 *    keeps its bit). The START reply names the page size chosen (the
 *    hint, within 4 KiB..1 GiB, coarser when the buffer is too small for
 *    the ranges). A REPORT whose bitmap does not fit argsz or the reply
 *    buffer fails with E2BIG: give a larger reply buffer for larger
 *    ranges. The migration features (MIGRATION, MIG_DEVICE_STATE) are
 *    refused with EOPNOTSUPP, as are GET_REGION_IO_FDS, REGION_WRITE_MULTI
 *    and the migration data messages.
 *
 * Errors travel as the reply's Error flag and a Linux errno value
 * (vdm_vfio_user_errno()); the protocol says "UNIX errno value" and
 * vfio-user runs on Linux hosts. All header and payload fields are in the
 * host's byte order, as the protocol says; region data is the device's
 * bytes (PCI: little-endian registers).
 *
 * Memory without a file descriptor (protocol VFIO_USER_DMA_READ,
 * VFIO_USER_DMA_WRITE, "Read and Write Operations"): the library builds the
 * server-to-client requests and checks the client's replies; the host's
 * `dma` hook only moves them (send one message, receive the reply with the
 * same id). A transfer is split into requests of at most
 * min(VDM_VFIO_USER_MAX_DATA, the client's max_data_xfer_size) bytes. A
 * reply is hostile input: a wrong id, command, type or size, or a count or
 * address other than asked fails the access (VDM_EPROTO), as does an error
 * reply (VDM_EIO). The device reaches such memory through the memory hooks
 * of vdm_vfio_user_mem() (vdm_mem_ops, VDM_CONFIG_MEM_HOOKS): a translate
 * of a range inside a DMA region without a file descriptor takes a bounce
 * span from the caller's storage (vdm_vfio_user_config::bounce) and fills
 * it with DMA_READ (device-writable spans too, so bytes the device leaves
 * alone are written back unchanged); the span's release writes a
 * device-writable span back with DMA_WRITE, whole (the library does not
 * know which bytes the device wrote). Devices on the device kit release
 * every span before the used-ring entry is published (vdm_kit_finish()), so
 * the driver never sees a used entry before its data is written back.
 * Storage: its first VDM_VFIO_USER_DMA_MSG bytes are the message buffer,
 * the rest the bounce area, shared by at most VDM_VFIO_USER_BOUNCE_SLOTS
 * spans; size it for the bytes of every request in flight at once (a
 * virtio-blk request of 128 KiB needs 128 KiB). When the area or the slots
 * run out, or a transfer fails, the translate fails: to the device it is
 * memory it cannot reach (the request cannot be served; the queue is
 * stopped and the device goes to DEVICE_NEEDS_RESET, as for any unmapped
 * buffer), never a crash or a leaked span. Rings are never bounced: the
 * virtqueue maps them with VDM_MEM_KEEP, which a copy cannot honour, so a
 * ring in such memory fails the queue's enabling cleanly. (QEMU 11.1 with
 * guest RAM that is not shareable, a plain -m, maps all of it without a
 * file descriptor, rings included: such a guest needs shareable RAM, e.g.
 * memory-backend-memfd with share=on, for the device to run; the bounce
 * path serves buffers in other memory without one.) A release whose
 * DMA_WRITE fails is logged (the data is lost, the span freed).
 *
 * Threads: one thread drives the object and its device at a time. Requests
 * a device handed to the host asynchronously should be drained before DMA
 * memory is unmapped (the protocol wants every reference released before
 * the DMA_UNMAP reply).
 */
#ifndef VDM_VFIO_USER_H
#define VDM_VFIO_USER_H

#include "common.h"
#include "device.h"
#include "mem.h"
#include "pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of opaque storage for one vfio-user server. */
#define VDM_VFIO_USER_SIZE 16384
/** @brief Bytes of the message header (id, command, size, flags, error). */
#define VDM_VFIO_USER_HDR_BYTES 16u
/** @brief max_data_xfer_size offered: the largest REGION_READ/WRITE. */
#define VDM_VFIO_USER_MAX_DATA 4096u
/** @brief Largest payload accepted (a REGION_WRITE of MAX_DATA bytes). */
#define VDM_VFIO_USER_MAX_PAYLOAD (16u + VDM_VFIO_USER_MAX_DATA)
/** @brief Largest whole message, and the reply buffer size to provide. */
#define VDM_VFIO_USER_MAX_MSG                                                  \
    (VDM_VFIO_USER_HDR_BYTES + VDM_VFIO_USER_MAX_PAYLOAD)
/** @brief max_msg_fds offered: most file descriptors one message may carry
 *         (more are closed and the message refused). */
#define VDM_VFIO_USER_MAX_FDS 16u
/** @brief max_dma_maps offered: DMA regions held at once. */
#define VDM_VFIO_USER_MAX_DMA 128u
/** @brief Most MSI-X vectors a served PCI function may have. */
#define VDM_VFIO_USER_MAX_MSIX 256u
/** @brief Bytes of the server's own message buffer (a DMA_READ reply or a
 *         DMA_WRITE request of VDM_VFIO_USER_MAX_DATA bytes), taken from the
 *         start of the bounce storage. */
#define VDM_VFIO_USER_DMA_MSG (VDM_VFIO_USER_HDR_BYTES + 16u + VDM_VFIO_USER_MAX_DATA)
/** @brief Smallest bounce storage accepted: the message buffer and 4 KiB. */
#define VDM_VFIO_USER_BOUNCE_MIN (VDM_VFIO_USER_DMA_MSG + 4096u)
/** @brief Most bounce spans (fd-less memory the device holds) at once. */
#define VDM_VFIO_USER_BOUNCE_SLOTS 64u
/** @brief Protocol major version served. */
#define VDM_VFIO_USER_MAJOR 0u
/** @brief Protocol minor version served (the reply's is min(client, this)). */
#define VDM_VFIO_USER_MINOR 0u

/** @name Header flags
 * @{ */
#define VDM_VFIO_USER_F_TYPE_MASK  0xfu  /**< Message type bits. */
#define VDM_VFIO_USER_F_TYPE_CMD   0x0u  /**< Type: command. */
#define VDM_VFIO_USER_F_TYPE_REPLY 0x1u  /**< Type: reply. */
#define VDM_VFIO_USER_F_NO_REPLY   0x10u /**< Command wants no reply. */
#define VDM_VFIO_USER_F_ERROR      0x20u /**< Reply: the command failed. */
/** @} */

/** @name Commands (protocol "Commands")
 * @{ */
#define VDM_VFIO_USER_VERSION                  1u  /**< version + JSON */
#define VDM_VFIO_USER_DMA_MAP                  2u  /**< region (+ fd) */
#define VDM_VFIO_USER_DMA_UNMAP                3u  /**< region */
#define VDM_VFIO_USER_DEVICE_GET_INFO          4u  /**< device info */
#define VDM_VFIO_USER_DEVICE_GET_REGION_INFO   5u  /**< region info */
#define VDM_VFIO_USER_DEVICE_GET_REGION_IO_FDS 6u  /**< not supported */
#define VDM_VFIO_USER_DEVICE_GET_IRQ_INFO      7u  /**< irq info */
#define VDM_VFIO_USER_DEVICE_SET_IRQS          8u  /**< irq set (+ eventfds) */
#define VDM_VFIO_USER_REGION_READ              9u  /**< region access */
#define VDM_VFIO_USER_REGION_WRITE             10u /**< region access */
#define VDM_VFIO_USER_DMA_READ                 11u /**< server->client */
#define VDM_VFIO_USER_DMA_WRITE                12u /**< server->client */
#define VDM_VFIO_USER_DEVICE_RESET             13u /**< - */
#define VDM_VFIO_USER_REGION_WRITE_MULTI       15u /**< not supported */
#define VDM_VFIO_USER_DEVICE_FEATURE           16u /**< DMA logging only */
#define VDM_VFIO_USER_MIG_DATA_READ            17u /**< not supported */
#define VDM_VFIO_USER_MIG_DATA_WRITE           18u /**< not supported */
/** @} */

/** @name PCI region indexes (VFIO_PCI_*_REGION_INDEX)
 * @{ */
#define VDM_VFIO_USER_REGION_BAR0   0u /**< BARs 0-5 are indexes 0-5. */
#define VDM_VFIO_USER_REGION_ROM    6u /**< Expansion ROM (size 0). */
#define VDM_VFIO_USER_REGION_CONFIG 7u /**< Configuration space. */
#define VDM_VFIO_USER_REGION_VGA    8u /**< VGA (size 0). */
#define VDM_VFIO_USER_NUM_REGIONS   9u /**< Regions reported. */
/** @} */

/** @name PCI interrupt indexes (VFIO_PCI_*_IRQ_INDEX)
 * @{ */
#define VDM_VFIO_USER_IRQ_INTX 0u /**< Legacy INTx. */
#define VDM_VFIO_USER_IRQ_MSI  1u /**< MSI (none). */
#define VDM_VFIO_USER_IRQ_MSIX 2u /**< MSI-X. */
#define VDM_VFIO_USER_IRQ_ERR  3u /**< Error (none). */
#define VDM_VFIO_USER_IRQ_REQ  4u /**< Request (none). */
#define VDM_VFIO_USER_NUM_IRQS 5u /**< Interrupt types reported. */
/** @} */

/** @brief A vfio-user server: opaque caller-owned storage. */
struct vdm_vfio_user {
    alignas(8) unsigned char opaque[VDM_VFIO_USER_SIZE]; /**< Library state. */
};

/**
 * @brief What the host provides (const table, VDM_INIT). `map`, `unmap`,
 *        `signal` and `close` are required; `log` may be NULL.
 */
struct vdm_vfio_user_ops {
    uint32_t size; /**< sizeof(struct vdm_vfio_user_ops). */
    /**
     * Map @p len bytes of DMA file descriptor @p fd from file offset
     * @p offset, shared, with @p access (VDM_MEM_READ and/or VDM_MEM_WRITE)
     * and return the address of the first byte in @p hva. The library calls
     * `close` on @p fd right after (the mapping keeps its own reference).
     * @return 0 or a negative VDM_E* code (the DMA_MAP fails).
     */
    int (*map)(void *host, int32_t fd, uint64_t offset, uint64_t len,
               uint32_t access, void **hva);
    /** Undo a `map` that returned @p hva for @p len bytes. */
    void (*unmap)(void *host, void *hva, uint64_t len);
    /** Signal eventfd @p fd (write the 8-byte value 1): an interrupt. */
    void (*signal)(void *host, int32_t fd);
    /** Close @p fd; the library will not use it again. */
    void (*close)(void *host, int32_t fd);
    /** Log a static message (VDM_LOG_* level). May be NULL. */
    void (*log)(void *host, int level, const char *msg);
    /**
     * Optional (NULL: memory without a file descriptor stays unreachable).
     * Send the first @p len bytes of @p msg to the client as one message
     * (a DMA_READ or DMA_WRITE request the library built), then receive
     * the reply that carries the same message id into @p msg (at most
     * @p cap bytes, header included) and store its length in
     * @p reply_len. The library checks everything in the reply. Commands
     * the client sends meanwhile are the host's to queue and hand over
     * after the call that led here returns; from inside this hook
     * vdm_vfio_user_handle() takes REGION_READ only (a client may wait for
     * one while holding what its DMA handler needs) and refuses anything
     * else with VDM_EBUSY (nothing sent, fds closed).
     * @return 0, or a negative VDM_E* code (no reply: the access fails).
     */
    int (*dma)(void *host, void *msg, uint32_t len, uint32_t cap,
               uint32_t *reply_len);
};

/** @brief Server configuration, caller-filled with VDM_INIT. */
struct vdm_vfio_user_config {
    uint32_t size;                       /**< sizeof(this struct). */
    uint32_t reserved;                   /**< Must be 0. */
    const struct vdm_vfio_user_ops *ops; /**< Host hooks (required). */
    void *host;                          /**< Passed to the hooks. */
    /**
     * Storage for DMA dirty-page logging (DEVICE_FEATURE
     * DMA_LOGGING_START / _STOP / _REPORT): one bit per logged page of the
     * hull of the ranges the client names; NULL: logging is not offered
     * (the features are refused with EOPNOTSUPP). 32 KiB log 1 GiB at
     * 4 KiB pages; a larger hull gets coarser pages (the page size the
     * START reply names).
     */
    uint8_t *dirty_bitmap;
    uint64_t dirty_bytes; /**< Bytes of @ref dirty_bitmap. */
    /** Bounce storage for memory without a file descriptor (with the `dma`
     *  hook), caller-owned for the server's life (spans start at 8-byte
     *  offsets from it); NULL: none. */
    void *bounce;
    /** Bytes of the bounce storage: 0, or at least
     *  VDM_VFIO_USER_BOUNCE_MIN. */
    uint64_t bounce_size;
};

/**
 * @brief Set up a server with an empty DMA table. Step one of three: then
 *        create the device with vdm_vfio_user_mem() as its memory, then
 *        vdm_vfio_user_attach().
 * @return 0; VDM_EINVAL (NULL, a missing required hook, reserved not 0,
 *         bounce storage below VDM_VFIO_USER_BOUNCE_MIN or given without
 *         the `dma` hook); VDM_ENOTSUP (bounce storage in a build without
 *         memory hooks, VDM_CONFIG_MEM_HOOKS 0); VDM_ESIZE (a size field too
 *         small; a configuration without the bounce fields is an older
 *         caller's and has none).
 */
VDM_API int vdm_vfio_user_init(struct vdm_vfio_user *vfu,
                               const struct vdm_vfio_user_config *cfg);

/**
 * @brief The guest memory map the client's DMA_MAP messages fill; give it
 *        to the device (vdm_dev_config::mem). NULL for an uninitialised
 *        object.
 */
VDM_API const struct vdm_mem *
vdm_vfio_user_mem(const struct vdm_vfio_user *vfu);

/**
 * @brief Serve device @p dev (initialised with vdm_vfio_user_mem() as its
 *        memory) through a virtio-pci function the server holds.
 *
 * @p pci is the PCI function's configuration as for vdm_pci_init(); its
 * `ops` and `host` are ignored (the server takes the function's interrupts)
 * and VDM_PCI_F_MSIX_HOST is added to its flags. The storage it names is
 * the caller's and must live as long as the server.
 * @return 0; VDM_EINVAL (NULL, the device does not use this memory map,
 *         already attached, more than VDM_VFIO_USER_MAX_MSIX vectors);
 *         VDM_ESIZE (@p pci too short); or what vdm_pci_init() returns.
 */
VDM_API int vdm_vfio_user_attach(struct vdm_vfio_user *vfu, struct vdm_dev *dev,
                                 const struct vdm_pci_config *pci);

/** @brief The PCI function served (after vdm_vfio_user_attach()), or NULL. */
VDM_API struct vdm_pci *vdm_vfio_user_pci(struct vdm_vfio_user *vfu);

/**
 * @brief Whole message length announced by a header, checked.
 * @param hdr the first VDM_VFIO_USER_HDR_BYTES bytes of a message.
 * @param[out] len bytes of the whole message, header included.
 * @return 0; VDM_EPROTO when the size is below the header or above
 *         VDM_VFIO_USER_MAX_MSG (drop the connection).
 */
VDM_API int vdm_vfio_user_msg_len(const void *hdr, uint32_t *len);

/**
 * @brief Handle one client message.
 *
 * @param vfu       the server.
 * @param msg       the whole message: header then payload.
 * @param len       bytes in @p msg.
 * @param fds       file descriptors that came with it (may be NULL if 0).
 * @param nfds      how many (any number: those not kept are closed).
 * @param reply     buffer for the reply (header + payload).
 * @param reply_cap its size; VDM_VFIO_USER_MAX_MSG is always enough.
 * @param[out] reply_len bytes to send back; 0: send nothing (No_reply).
 * @return 0 handled; a negative VDM_E* when the command was refused
 *         (malformed, not allowed now, unsupported): the state is unchanged
 *         and the error reply in @p reply should still be sent;
 *         VDM_EPROTO when the message cannot be framed (truncated, size
 *         mismatch, not a command, a command before VERSION, an unsupported
 *         major version): nothing to send, close the connection;
 *         VDM_EBUSY when called from inside the `dma` hook with anything
 *         but a REGION_READ (nothing to send; hand it over later). File
 *         descriptors are consumed in every case.
 */
VDM_API int vdm_vfio_user_handle(struct vdm_vfio_user *vfu, const void *msg,
                                 uint32_t len, const int32_t *fds,
                                 uint32_t nfds, void *reply, uint32_t reply_cap,
                                 uint32_t *reply_len);

/**
 * @brief Read @p len bytes of client DMA memory at @p iova through
 *        DMA_READ requests (the `dma` hook), whether or not the region has
 *        a file descriptor mapped.
 * @return 0; VDM_EINVAL (NULL); VDM_ENOTSUP (no `dma` hook or no bounce
 *         storage); VDM_ESTATE (before VERSION, or from inside the `dma`
 *         hook); VDM_EFAULT (a byte outside the DMA regions or in one the
 *         client did not allow reading); VDM_EPROTO (a malformed reply);
 *         VDM_EIO (an error reply); or what the hook returned. @p dst may
 *         hold part of the data on an error.
 */
VDM_API int vdm_vfio_user_dma_read(struct vdm_vfio_user *vfu, uint64_t iova,
                                   void *dst, uint64_t len);

/**
 * @brief Write @p len bytes to client DMA memory at @p iova through
 *        DMA_WRITE requests; as vdm_vfio_user_dma_read() (VDM_EFAULT also
 *        for a region the client did not allow writing). On an error a
 *        prefix may have been written.
 */
VDM_API int vdm_vfio_user_dma_write(struct vdm_vfio_user *vfu, uint64_t iova,
                                    const void *src, uint64_t len);

/**
 * @brief The client went away (protocol "Client Disconnection"): unmap
 *        every DMA region, close every interrupt eventfd, forget the
 *        negotiated version and reset the PCI function (its rings pointed
 *        into memory that is gone). Ready for the next client.
 */
VDM_API void vdm_vfio_user_reset(struct vdm_vfio_user *vfu);

/**
 * @brief The Linux errno value an error reply carries for VDM_E* code
 *        @p rc (EINVAL for codes without a closer match).
 */
VDM_API int32_t vdm_vfio_user_errno(int rc);

/** @brief Name of a command ("DMA_MAP"), "UNKNOWN" if none. */
VDM_API const char *vdm_vfio_user_command_name(uint32_t cmd);

#ifdef __cplusplus
}
#endif
#endif
