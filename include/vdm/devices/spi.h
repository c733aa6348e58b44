/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file spi.h
 * @brief SPI controller device (virtio-spi, spec "SPI Controller Device",
 *        device id 45).
 *
 * One queue, the requestq. Each request is one SPI transfer:
 *
 * | part | direction | bytes |
 * |---|---|---|
 * | struct virtio_spi_transfer_head | device-readable | 32 |
 * | tx_buf (half-duplex write, full duplex) | device-readable | n |
 * | rx_buf (half-duplex read, full duplex) | device-writable | n |
 * | struct virtio_spi_transfer_result | device-writable | 1 |
 *
 * The readable bytes after the head are tx_buf; the writable bytes before
 * the last one are rx_buf; the last writable byte is the result. Both
 * present is a full-duplex transfer, and their lengths must be equal;
 * neither present is a transfer of no words (chip select and delays only,
 * as a Linux zero-length transfer).
 *
 * **Validation** (spec "Device Operation", device requirements: every
 * parameter is checked and a request that fails is answered
 * VIRTIO_SPI_PARAM_ERR without reaching the host), against the caller's
 * configuration (@ref vdm_spi_config, which is also the configuration
 * space the driver reads):
 * - chip_select_id below cs_max_number;
 * - bits_per_word 1..32 and, with a non-zero bits_per_word_mask, its bit
 *   set; the buffer length a whole number of words (1 byte per word up to
 *   8 bits, 2 up to 16, 4 up to 32);
 * - cs_change 0 or 1, and 1 only with cs_change_supported;
 * - tx_nbits and rx_nbits 0, 1, 2, 4 or 8, DUAL/QUAD/OCTAL only when
 *   tx_nbits_supported / rx_nbits_supported has their bit;
 * - mode bits 0..4 only; the CPHA and CPOL values among those
 *   mode_func_supported allows; CS_HIGH, LSB_FIRST and LOOP only when
 *   supported;
 * - freq at most max_freq_hz (when that is not 0; a freq of 0 asks for
 *   the host's default rate);
 * - word_delay_ns, cs_setup_ns, cs_delay_hold_ns and
 *   cs_change_delay_inactive_ns at most max_word_delay_ns, max_cs_setup_ns,
 *   max_cs_hold_ns and max_cs_inactive_ns (a maximum of 0: only 0);
 * - the reserved bytes 0 ("some fields are set as non-zero values but the
 *   corresponding features are not supported");
 * - tx_buf and rx_buf of the same length for a full-duplex transfer, and
 *   not longer than vdm_spi_config::max_len (when not 0).
 *
 * A request without a writable result byte cannot be answered: it is
 * returned with used length 0. A chain of more than VDM_SPI_IOV_MAX spans
 * is answered VIRTIO_SPI_PARAM_ERR. Each kind of guest error is logged
 * once per reset.
 *
 * **Transfers.** A valid request goes to vdm_spi_ops::transfer with its
 * buffers as the guest memory spans (mapped and bounds-checked) and a
 * token; the host runs it on the bus and calls vdm_spi_complete() once,
 * from inside the hook or later. Up to VDM_SPI_INFLIGHT_MAX transfers may
 * be at the host; they reach it in queue order and the host runs them on
 * the bus in that order (the transfers of one SPI message follow each
 * other, chip select held between them unless cs_change says otherwise).
 * The used length is the rx_buf length plus the result byte when the
 * transfer succeeded, else 1: the device writes nothing into rx_buf the
 * driver may use otherwise ("MUST not use rx_buf if the result ... is not
 * VIRTIO_SPI_TRANS_OK"). tx_buf is never written.
 *
 * **Features.** None are defined; the ring features less IN_ORDER (an
 * invalid request is answered at once while earlier ones are at the
 * host) and the platform bits of the host are offered.
 *
 * Threads: one thread at a time; vdm_spi_complete() is called on the
 * thread that drives the device (possibly from inside the transfer hook).
 */
#ifndef VDM_DEVICES_SPI_H
#define VDM_DEVICES_SPI_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of queues (requestq). */
#define VDM_SPI_NUM_QUEUES 1
/** @brief Index of the requestq. */
#define VDM_SPI_QUEUE_REQUEST 0

/** @brief Bytes of struct virtio_spi_transfer_head on the wire. */
#define VDM_SPI_HEAD_BYTES 32u
/** @brief Bytes of struct virtio_spi_transfer_result on the wire. */
#define VDM_SPI_RESULT_BYTES 1u
/** @brief Bytes of struct virtio_spi_config. */
#define VDM_SPI_CONFIG_BYTES 32u

/** @name Offsets in struct virtio_spi_transfer_head
 * @{ */
#define VDM_SPI_OFF_CHIP_SELECT   0u  /**< u8 chip_select_id. */
#define VDM_SPI_OFF_BITS_PER_WORD 1u  /**< u8 bits_per_word. */
#define VDM_SPI_OFF_CS_CHANGE     2u  /**< u8 cs_change. */
#define VDM_SPI_OFF_TX_NBITS      3u  /**< u8 tx_nbits. */
#define VDM_SPI_OFF_RX_NBITS      4u  /**< u8 rx_nbits. */
#define VDM_SPI_OFF_RESERVED      5u  /**< u8 reserved[3]. */
#define VDM_SPI_OFF_MODE          8u  /**< le32 mode. */
#define VDM_SPI_OFF_FREQ          12u /**< le32 freq. */
#define VDM_SPI_OFF_WORD_DELAY    16u /**< le32 word_delay_ns. */
#define VDM_SPI_OFF_CS_SETUP      20u /**< le32 cs_setup_ns. */
#define VDM_SPI_OFF_CS_HOLD       24u /**< le32 cs_delay_hold_ns. */
#define VDM_SPI_OFF_CS_INACTIVE   28u /**< le32 cs_change_delay_inactive_ns. */
/** @} */

/** @name Transfer results (struct virtio_spi_transfer_result)
 * @{ */
#define VDM_SPI_TRANS_OK  0u /**< The transfer completed. */
#define VDM_SPI_PARAM_ERR 1u /**< A parameter is invalid or unsupported. */
#define VDM_SPI_TRANS_ERR 2u /**< Valid, but the transfer failed. */
/** @} */

/** @name mode bits of a transfer
 * @{ */
#define VDM_SPI_MODE_CPHA      0x01u /**< Clock phase 1. */
#define VDM_SPI_MODE_CPOL      0x02u /**< Clock polarity 1 (idles high). */
#define VDM_SPI_MODE_CS_HIGH   0x04u /**< Chip select active high. */
#define VDM_SPI_MODE_LSB_FIRST 0x08u /**< Least significant bit first. */
#define VDM_SPI_MODE_LOOP      0x10u /**< Loopback mode. */
/** @} */

/** @name mode_func_supported bits of the configuration
 * @{ */
#define VDM_SPI_FUNC_CPHA_0    0x01u /**< CPHA=0 supported. */
#define VDM_SPI_FUNC_CPHA_1    0x02u /**< CPHA=1 supported. */
#define VDM_SPI_FUNC_CPOL_0    0x04u /**< CPOL=0 supported. */
#define VDM_SPI_FUNC_CPOL_1    0x08u /**< CPOL=1 supported. */
#define VDM_SPI_FUNC_CS_HIGH   0x10u /**< Chip select active high. */
#define VDM_SPI_FUNC_LSB_FIRST 0x20u /**< LSB first. */
#define VDM_SPI_FUNC_LOOP      0x40u /**< Loopback mode. */
/** @} */

/** @name tx_nbits_supported / rx_nbits_supported bits (SINGLE is implied)
 * @{ */
#define VDM_SPI_NBITS_DUAL  0x01u /**< 2-bit transfers. */
#define VDM_SPI_NBITS_QUAD  0x02u /**< 4-bit transfers. */
#define VDM_SPI_NBITS_OCTAL 0x04u /**< 8-bit transfers. */
/** @} */

/** @brief Most spans of one request chain (head, buffers and result, with
 *         room for buffers crossing memory regions and pages). */
#define VDM_SPI_IOV_MAX 16
/** @brief Most transfers at the host at once. */
#define VDM_SPI_INFLIGHT_MAX 8
/** @brief Bytes of opaque storage for one SPI controller device. */
#define VDM_SPI_SIZE 8192

/** @brief An SPI controller device: opaque caller-owned storage. */
struct vdm_spi {
    alignas(8) unsigned char opaque[VDM_SPI_SIZE]; /**< Library state. */
};

/**
 * @brief One validated transfer, as the host sees it.
 *
 * The parameters are the request's head, checked against the
 * configuration. The buffers are the request's guest memory, already
 * mapped and bounds-checked: the host reads the @ref ntx spans of @ref tx
 * (when there are any) and fills the @ref nrx spans of @ref rx completely
 * (when there are any); each set adds up to @ref len bytes. The host
 * touches them no more once it has called vdm_spi_complete().
 */
struct vdm_spi_transfer {
    uint8_t chip_select;      /**< chip_select_id (< cs_max_number). */
    uint8_t bits_per_word;    /**< 1..32. */
    uint8_t cs_change;        /**< 1: deselect before the next transfer. */
    uint8_t tx_nbits;         /**< 1, 2, 4 or 8 (a 0 on the wire is 1). */
    uint8_t rx_nbits;         /**< 1, 2, 4 or 8 (a 0 on the wire is 1). */
    uint8_t reserved[3];      /**< 0. */
    uint32_t mode;            /**< VDM_SPI_MODE_* bits. */
    uint32_t freq;            /**< Hz; 0: the host's default. */
    uint32_t word_delay_ns;   /**< Delay between words. */
    uint32_t cs_setup_ns;     /**< Delay after chip select is asserted. */
    uint32_t cs_hold_ns;      /**< Delay before it is deasserted. */
    uint32_t cs_inactive_ns;  /**< Delay after it is deasserted. */
    uint32_t len;             /**< Bytes of tx and/or rx (0: no words). */
    uint32_t reserved2;       /**< 0. */
    const struct vdm_iov *tx; /**< tx_buf spans (NULL: half-duplex read). */
    const struct vdm_iov *rx; /**< rx_buf spans (NULL: half-duplex write). */
    uint32_t ntx;             /**< Entries of @ref tx. */
    uint32_t nrx;             /**< Entries of @ref rx. */
};

/** @brief What the SPI controller asks of the host's bus (const table). */
struct vdm_spi_ops {
    uint32_t size;     /**< sizeof(struct vdm_spi_ops), set by VDM_INIT. */
    uint32_t reserved; /**< Must be 0. */
    /**
     * Run transfer @p t (required). Return 0 when accepted: the host then
     * calls vdm_spi_complete() with @p token exactly once, now (from
     * inside this call) or later. A negative return fails the transfer
     * now with VIRTIO_SPI_TRANS_ERR (do not complete the token).
     */
    int (*transfer)(void *host, const struct vdm_spi_transfer *t,
                    uintptr_t token);
};

/** @brief SPI controller configuration, caller-filled with VDM_INIT. The
 *         limits are also the device configuration space. */
struct vdm_spi_config {
    uint32_t size;                 /**< sizeof(struct vdm_spi_config). */
    uint8_t cs_max_number;         /**< Chip selects, 1..255. */
    uint8_t cs_change_supported;   /**< 0 or 1. */
    uint8_t tx_nbits_supported;    /**< VDM_SPI_NBITS_* bits. */
    uint8_t rx_nbits_supported;    /**< VDM_SPI_NBITS_* bits. */
    uint32_t bits_per_word_mask;   /**< Bit n: n+1 bits per word (0: any
                                        of 1..32). */
    uint32_t mode_func_supported;  /**< VDM_SPI_FUNC_* bits; at least one
                                        CPHA and one CPOL value. */
    uint32_t max_freq_hz;          /**< 0: no limit. */
    uint32_t max_word_delay_ns;    /**< 0: no word delay. */
    uint32_t max_cs_setup_ns;      /**< 0: no setup delay. */
    uint32_t max_cs_hold_ns;       /**< 0: no hold delay. */
    uint32_t max_cs_inactive_ns;   /**< 0: no inactive delay. */
    uint32_t max_len;              /**< Most bytes per transfer the host
                                        takes (0: no limit); longer ones are
                                        PARAM_ERR. Not in config space. */
    const struct vdm_spi_ops *ops; /**< The bus (required). */
    void *host;                    /**< Passed to @ref ops hooks. */
};

/**
 * @brief Make @p dev an SPI controller device.
 *
 * Copies @p base (memory, host hooks, queues, slots, queue_size_max; its
 * num_queues must be 0 or 1), builds the configuration space from @p cfg,
 * sets the class, state and features (the ring features less IN_ORDER and
 * the platform bits of base->features) and calls vdm_dev_init(). Both
 * @p spi and @p dev must stay in place for the device's lifetime.
 * @return 0; VDM_EINVAL (NULL pointer, no transfer hook, a reserved field
 *         set, cs_max_number 0, cs_change_supported above 1, reserved
 *         nbits or mode_func bits set, no CPHA or no CPOL value supported,
 *         bad num_queues); VDM_ESIZE (a struct's size field too small); or
 *         what vdm_dev_init() returns.
 */
VDM_API int vdm_spi_init(struct vdm_spi *spi, struct vdm_dev *dev,
                         const struct vdm_spi_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief Complete the transfer the host accepted with @p token.
 *
 * Writes the result (VDM_SPI_TRANS_OK or VDM_SPI_TRANS_ERR), returns the
 * chain to the driver with the used length the header describes, and
 * notifies it.
 * @param spi    the device.
 * @param token  the token vdm_spi_ops::transfer received.
 * @param result VDM_SPI_TRANS_OK or VDM_SPI_TRANS_ERR.
 * @return 0; VDM_ENOENT when the token names no transfer at the host (a
 *         repeated or forged token) or one a reset abandoned (then it is
 *         dropped: no guest memory access, no interrupt); VDM_EINVAL for a
 *         NULL device or another result.
 */
VDM_API int vdm_spi_complete(struct vdm_spi *spi, uintptr_t token,
                             uint32_t result);

/** @brief Transfers at the host and not completed (live and abandoned). */
VDM_API uint32_t vdm_spi_in_flight(const struct vdm_spi *spi);

/** @brief The device this SPI controller was created on (NULL if none). */
VDM_API struct vdm_dev *vdm_spi_dev(const struct vdm_spi *spi);

#ifdef __cplusplus
}
#endif
#endif
