/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file sound.h
 * @brief virtio-snd device type (spec "Sound Device").
 *
 * One vdm_snd turns a vdm_dev into a VIRTIO sound card. It knows no
 * transport. The card is described by the caller's constant tables: jacks
 * (@ref vdm_snd_jack), PCM streams (@ref vdm_snd_pcm), channel maps
 * (@ref vdm_snd_chmap) and control elements (@ref vdm_snd_ctl, offered
 * with VIRTIO_SND_F_CTLS when there is at least one). The library has no
 * clock: the host's audio back end paces the streams.
 *
 * Queues: 0 controlq, 1 eventq, 2 txq, 3 rxq.
 *
 * Control requests: JACK_INFO, JACK_REMAP, PCM_INFO, PCM_SET_PARAMS,
 * PCM_PREPARE, PCM_RELEASE, PCM_START, PCM_STOP, CHMAP_INFO and, with
 * VIRTIO_SND_F_CTLS, CTL_INFO, CTL_ENUM_ITEMS, CTL_READ, CTL_WRITE,
 * CTL_TLV_READ, CTL_TLV_WRITE, CTL_TLV_COMMAND. Every request is read once
 * into a local copy and validated before anything reaches the host: ids are
 * range-checked (BAD_MSG), parameters checked against the stream's table
 * entry (NOT_SUPP for a format, rate, channel count or feature it does not
 * offer; BAD_MSG for malformed sizes), control values against the element's
 * type and range (BAD_MSG). A response buffer too small for its answer gets
 * BAD_MSG when the status fits; a chain without room for a status is
 * returned with 0 bytes written.
 *
 * PCM state machine (spec "PCM Command Lifecycle"): SET_PARAMS from the
 * initial, parameters-set, prepared or released state; PREPARE once
 * parameters are set (also from prepared and released); START from prepared
 * or stopped; STOP from running; RELEASE from prepared or stopped. Any other
 * transition answers BAD_MSG and leaves the stream as it was. RELEASE calls
 * the host's release hook and is answered only when every I/O request of
 * the stream has been completed (spec "Stream Release").
 *
 * I/O (txq, rxq): struct virtio_snd_pcm_xfer in the readable part, PCM
 * frames (tx: readable, rx: writable), struct virtio_snd_pcm_status in the
 * last 8 writable bytes. A request for an unknown stream, a stream of the
 * other direction, a stream not prepared, running or stopped, or with a
 * data length that is not a whole number of frames (or zero) is answered
 * at once with VIRTIO_SND_S_IO_ERR and never reaches the host. Valid ones
 * are handed to vdm_snd_ops::io with a token; the host completes them with
 * vdm_snd_complete() when the period has been played (tx) or recorded
 * (rx), in its own time.
 *
 * Events (eventq): raised by the host with vdm_snd_jack_set(),
 * vdm_snd_pcm_event() and vdm_snd_ctl_notify(); up to
 * @ref VDM_SND_EVENTS_MAX wait for driver buffers, further ones are dropped
 * (counted by vdm_snd_events_dropped()).
 *
 * Reset: a device reset abandons the requests at the host (their late
 * completions are recognised and dropped with VDM_ESTATE), stops and
 * releases the streams at the host and forgets their parameters.
 *
 * Threads: one thread drives the device (notifications, completions, events).
 */
#ifndef VDM_DEVICES_SOUND_H
#define VDM_DEVICES_SOUND_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Queues (spec "Sound Device / Virtqueues")
 * @{ */
#define VDM_SND_QUEUE_CONTROL 0u /**< controlq. */
#define VDM_SND_QUEUE_EVENT   1u /**< eventq. */
#define VDM_SND_QUEUE_TX      2u /**< txq: output streams. */
#define VDM_SND_QUEUE_RX      3u /**< rxq: input streams. */
#define VDM_SND_NUM_QUEUES    4u /**< Queues of a sound device. */
/** @} */

/** @brief Feature bit VIRTIO_SND_F_CTLS: control elements. */
#define VDM_SND_F_CTLS (1ull << 0)

/** @name Request codes (struct virtio_snd_hdr::code, driver to device)
 * @{ */
#define VDM_SND_R_JACK_INFO       0x0001u /**< Jack information. */
#define VDM_SND_R_JACK_REMAP      0x0002u /**< Jack association/sequence. */
#define VDM_SND_R_PCM_INFO        0x0100u /**< Stream information. */
#define VDM_SND_R_PCM_SET_PARAMS  0x0101u /**< Set stream parameters. */
#define VDM_SND_R_PCM_PREPARE     0x0102u /**< Prepare a stream. */
#define VDM_SND_R_PCM_RELEASE     0x0103u /**< Release a stream. */
#define VDM_SND_R_PCM_START       0x0104u /**< Start a stream. */
#define VDM_SND_R_PCM_STOP        0x0105u /**< Stop a stream. */
#define VDM_SND_R_CHMAP_INFO      0x0200u /**< Channel map information. */
#define VDM_SND_R_CTL_INFO        0x0300u /**< Control element information. */
#define VDM_SND_R_CTL_ENUM_ITEMS  0x0301u /**< Enumerated item names. */
#define VDM_SND_R_CTL_READ        0x0302u /**< Read a control value. */
#define VDM_SND_R_CTL_WRITE       0x0303u /**< Write a control value. */
#define VDM_SND_R_CTL_TLV_READ    0x0304u /**< Read control metadata. */
#define VDM_SND_R_CTL_TLV_WRITE   0x0305u /**< Write control metadata. */
#define VDM_SND_R_CTL_TLV_COMMAND 0x0306u /**< Metadata command. */
/** @} */

/** @name Event codes (struct virtio_snd_event::hdr.code)
 * @{ */
#define VDM_SND_EVT_JACK_CONNECTED     0x1000u /**< data: jack id. */
#define VDM_SND_EVT_JACK_DISCONNECTED  0x1001u /**< data: jack id. */
#define VDM_SND_EVT_PCM_PERIOD_ELAPSED 0x1100u /**< data: stream id. */
#define VDM_SND_EVT_PCM_XRUN           0x1101u /**< data: stream id. */
#define VDM_SND_EVT_CTL_NOTIFY         0x1200u /**< data: id | mask << 16. */
/** @} */

/** @name Status codes
 * @{ */
#define VDM_SND_S_OK      0x8000u /**< Success. */
#define VDM_SND_S_BAD_MSG 0x8001u /**< Malformed request or bad parameter. */
#define VDM_SND_S_NOT_SUPP                                                     \
    0x8002u                      /**< Operation or parameters unsupported.     \
                                  */
#define VDM_SND_S_IO_ERR 0x8003u /**< I/O error. */
/** @} */

/** @name Data flow directions
 * @{ */
#define VDM_SND_D_OUTPUT 0u /**< Playback (txq). */
#define VDM_SND_D_INPUT  1u /**< Capture (rxq). */
/** @} */

/** @brief Jack feature bit VIRTIO_SND_JACK_F_REMAP (as a mask). */
#define VDM_SND_JACK_F_REMAP (1u << 0)

/** @name PCM stream feature bits (masks)
 * @{ */
#define VDM_SND_PCM_F_SHMEM_HOST        (1u << 0) /**< Placeholder. */
#define VDM_SND_PCM_F_SHMEM_GUEST       (1u << 1) /**< Placeholder. */
#define VDM_SND_PCM_F_MSG_POLLING       (1u << 2) /**< Polling mode. */
#define VDM_SND_PCM_F_EVT_SHMEM_PERIODS (1u << 3) /**< Period events. */
#define VDM_SND_PCM_F_EVT_XRUNS         (1u << 4) /**< XRUN events. */
/** @} */

/** @name PCM sample formats (bit numbers of vdm_snd_pcm::formats)
 * @{ */
#define VDM_SND_PCM_FMT_IMA_ADPCM       0u  /**< 4/4 bits. */
#define VDM_SND_PCM_FMT_MU_LAW          1u  /**< 8/8 bits. */
#define VDM_SND_PCM_FMT_A_LAW           2u  /**< 8/8 bits. */
#define VDM_SND_PCM_FMT_S8              3u  /**< 8/8 bits. */
#define VDM_SND_PCM_FMT_U8              4u  /**< 8/8 bits. */
#define VDM_SND_PCM_FMT_S16             5u  /**< 16/16 bits. */
#define VDM_SND_PCM_FMT_U16             6u  /**< 16/16 bits. */
#define VDM_SND_PCM_FMT_S18_3           7u  /**< 18/24 bits. */
#define VDM_SND_PCM_FMT_U18_3           8u  /**< 18/24 bits. */
#define VDM_SND_PCM_FMT_S20_3           9u  /**< 20/24 bits. */
#define VDM_SND_PCM_FMT_U20_3           10u /**< 20/24 bits. */
#define VDM_SND_PCM_FMT_S24_3           11u /**< 24/24 bits. */
#define VDM_SND_PCM_FMT_U24_3           12u /**< 24/24 bits. */
#define VDM_SND_PCM_FMT_S20             13u /**< 20/32 bits. */
#define VDM_SND_PCM_FMT_U20             14u /**< 20/32 bits. */
#define VDM_SND_PCM_FMT_S24             15u /**< 24/32 bits. */
#define VDM_SND_PCM_FMT_U24             16u /**< 24/32 bits. */
#define VDM_SND_PCM_FMT_S32             17u /**< 32/32 bits. */
#define VDM_SND_PCM_FMT_U32             18u /**< 32/32 bits. */
#define VDM_SND_PCM_FMT_FLOAT           19u /**< 32/32 bits. */
#define VDM_SND_PCM_FMT_FLOAT64         20u /**< 64/64 bits. */
#define VDM_SND_PCM_FMT_DSD_U8          21u /**< 8/8 bits. */
#define VDM_SND_PCM_FMT_DSD_U16         22u /**< 16/16 bits. */
#define VDM_SND_PCM_FMT_DSD_U32         23u /**< 32/32 bits. */
#define VDM_SND_PCM_FMT_IEC958_SUBFRAME 24u /**< 32/32 bits. */
#define VDM_SND_PCM_FMT_COUNT           25u /**< Formats defined. */
/** @} */

/** @name PCM frame rates (bit numbers of vdm_snd_pcm::rates)
 * @{ */
#define VDM_SND_PCM_RATE_5512   0u  /**< 5512 Hz. */
#define VDM_SND_PCM_RATE_8000   1u  /**< 8000 Hz. */
#define VDM_SND_PCM_RATE_11025  2u  /**< 11025 Hz. */
#define VDM_SND_PCM_RATE_16000  3u  /**< 16000 Hz. */
#define VDM_SND_PCM_RATE_22050  4u  /**< 22050 Hz. */
#define VDM_SND_PCM_RATE_32000  5u  /**< 32000 Hz. */
#define VDM_SND_PCM_RATE_44100  6u  /**< 44100 Hz. */
#define VDM_SND_PCM_RATE_48000  7u  /**< 48000 Hz. */
#define VDM_SND_PCM_RATE_64000  8u  /**< 64000 Hz. */
#define VDM_SND_PCM_RATE_88200  9u  /**< 88200 Hz. */
#define VDM_SND_PCM_RATE_96000  10u /**< 96000 Hz. */
#define VDM_SND_PCM_RATE_176400 11u /**< 176400 Hz. */
#define VDM_SND_PCM_RATE_192000 12u /**< 192000 Hz. */
#define VDM_SND_PCM_RATE_384000 13u /**< 384000 Hz. */
#define VDM_SND_PCM_RATE_12000  14u /**< 12000 Hz. */
#define VDM_SND_PCM_RATE_24000  15u /**< 24000 Hz. */
#define VDM_SND_PCM_RATE_COUNT  16u /**< Rates defined. */
/** @} */

/** @name Channel positions (vdm_snd_chmap::positions), a selection
 * @{ */
#define VDM_SND_CHMAP_NONE 0u  /**< Undefined. */
#define VDM_SND_CHMAP_NA   1u  /**< Silent. */
#define VDM_SND_CHMAP_MONO 2u  /**< Mono stream. */
#define VDM_SND_CHMAP_FL   3u  /**< Front left. */
#define VDM_SND_CHMAP_FR   4u  /**< Front right. */
#define VDM_SND_CHMAP_RL   5u  /**< Rear left. */
#define VDM_SND_CHMAP_RR   6u  /**< Rear right. */
#define VDM_SND_CHMAP_FC   7u  /**< Front center. */
#define VDM_SND_CHMAP_LFE  8u  /**< Low frequency. */
#define VDM_SND_CHMAP_BRC  36u /**< Bottom right center: the last defined. */
/** @brief Most channels of a channel map (VIRTIO_SND_CHMAP_MAX_SIZE). */
#define VDM_SND_CHMAP_MAX 18u
/** @} */

/** @name Control element roles, types and access bits
 * @{ */
#define VDM_SND_CTL_ROLE_UNDEFINED     0u /**< No role. */
#define VDM_SND_CTL_ROLE_VOLUME        1u /**< Volume (role << 1 | direction). */
#define VDM_SND_CTL_ROLE_MUTE          2u /**< Mute switch. */
#define VDM_SND_CTL_ROLE_GAIN          3u /**< Gain. */
#define VDM_SND_CTL_TYPE_BOOLEAN       0u /**< 0 or 1, 32-bit values. */
#define VDM_SND_CTL_TYPE_INTEGER       1u /**< 32-bit values. */
#define VDM_SND_CTL_TYPE_INTEGER64     2u /**< 64-bit values. */
#define VDM_SND_CTL_TYPE_ENUMERATED    3u /**< Item indexes, 32-bit. */
#define VDM_SND_CTL_TYPE_BYTES         4u /**< Bytes. */
#define VDM_SND_CTL_TYPE_IEC958        5u /**< struct virtio_snd_ctl_iec958. */
#define VDM_SND_CTL_ACCESS_READ        (1u << 0) /**< Value readable. */
#define VDM_SND_CTL_ACCESS_WRITE       (1u << 1) /**< Value writable. */
#define VDM_SND_CTL_ACCESS_VOLATILE    (1u << 2) /**< Changes unnotified. */
#define VDM_SND_CTL_ACCESS_INACTIVE    (1u << 3) /**< Does nothing. */
#define VDM_SND_CTL_ACCESS_TLV_READ    (1u << 4) /**< Metadata readable. */
#define VDM_SND_CTL_ACCESS_TLV_WRITE   (1u << 5) /**< Metadata writable. */
#define VDM_SND_CTL_ACCESS_TLV_COMMAND (1u << 6) /**< Metadata command. */
#define VDM_SND_CTL_EVT_MASK_VALUE     (1u << 0) /**< Value changed. */
#define VDM_SND_CTL_EVT_MASK_INFO      (1u << 1) /**< Information changed. */
#define VDM_SND_CTL_EVT_MASK_TLV       (1u << 2) /**< Metadata changed. */
/** @} */

/** @name Wire sizes (bytes)
 * @{ */
#define VDM_SND_CONFIG_BYTES      16u  /**< struct virtio_snd_config. */
#define VDM_SND_HDR_BYTES         4u   /**< struct virtio_snd_hdr. */
#define VDM_SND_QUERY_INFO_BYTES  16u  /**< struct virtio_snd_query_info. */
#define VDM_SND_JACK_INFO_BYTES   24u  /**< struct virtio_snd_jack_info. */
#define VDM_SND_JACK_REMAP_BYTES  16u  /**< struct virtio_snd_jack_remap. */
#define VDM_SND_PCM_HDR_BYTES     8u   /**< struct virtio_snd_pcm_hdr. */
#define VDM_SND_PCM_INFO_BYTES    32u  /**< struct virtio_snd_pcm_info. */
#define VDM_SND_SET_PARAMS_BYTES  24u  /**< struct virtio_snd_pcm_set_params. */
#define VDM_SND_PCM_XFER_BYTES    4u   /**< struct virtio_snd_pcm_xfer. */
#define VDM_SND_PCM_STATUS_BYTES  8u   /**< struct virtio_snd_pcm_status. */
#define VDM_SND_CHMAP_INFO_BYTES  24u  /**< struct virtio_snd_chmap_info. */
#define VDM_SND_CTL_HDR_BYTES     8u   /**< struct virtio_snd_ctl_hdr. */
#define VDM_SND_CTL_INFO_BYTES    96u  /**< struct virtio_snd_ctl_info. */
#define VDM_SND_CTL_NAME_BYTES    44u  /**< virtio_snd_ctl_info::name. */
#define VDM_SND_CTL_ITEM_BYTES    64u  /**< struct virtio_snd_ctl_enum_item. */
#define VDM_SND_CTL_VALUE_BYTES   512u /**< struct virtio_snd_ctl_value. */
#define VDM_SND_CTL_IEC958_BYTES  176u /**< struct virtio_snd_ctl_iec958. */
#define VDM_SND_CTL_TLV_HDR_BYTES 8u   /**< struct virtio_snd_ctl_tlv head. */
#define VDM_SND_EVENT_BYTES       8u   /**< struct virtio_snd_event. */
/** @} */

/** @brief Most TLV bytes a TLV_WRITE / TLV_COMMAND may carry here (the
 *         payload after the TLV header; larger ones answer NOT_SUPP). */
#define VDM_SND_TLV_MAX_BYTES 256u
/** @brief Events that wait for eventq buffers before new ones are dropped. */
#define VDM_SND_EVENTS_MAX 32u
/** @brief Most PCM streams of one device. */
#define VDM_SND_MAX_STREAMS 16u
/** @brief Most jacks of one device. */
#define VDM_SND_MAX_JACKS 32u

/** @brief One jack (an entry of vdm_snd_config::jacks). */
struct vdm_snd_jack {
    uint32_t hda_fn_nid;      /**< HDA function group node id. */
    uint32_t features;        /**< VDM_SND_JACK_F_REMAP or 0. */
    uint32_t hda_reg_defconf; /**< HDA pin default configuration. */
    uint32_t hda_reg_caps;    /**< HDA pin capabilities. */
    uint32_t connected;       /**< Initial state: 1 connected, 0 not. */
    uint32_t reserved;        /**< Must be 0. */
};

/** @brief One PCM stream (an entry of vdm_snd_config::pcms). */
struct vdm_snd_pcm {
    uint32_t hda_fn_nid;  /**< HDA function group node id. */
    uint32_t features;    /**< VDM_SND_PCM_F_* the driver may select (no
                               SHMEM bits). */
    uint64_t formats;     /**< 1 << VDM_SND_PCM_FMT_* (non-zero). */
    uint64_t rates;       /**< 1 << VDM_SND_PCM_RATE_* (non-zero). */
    uint8_t direction;    /**< VDM_SND_D_OUTPUT or VDM_SND_D_INPUT. */
    uint8_t channels_min; /**< >= 1. */
    uint8_t channels_max; /**< >= channels_min. */
    uint8_t reserved[5];  /**< Must be 0. */
};

/** @brief One channel map (an entry of vdm_snd_config::chmaps). */
struct vdm_snd_chmap {
    uint32_t hda_fn_nid; /**< HDA function group node id. */
    uint8_t direction;   /**< VDM_SND_D_*. */
    uint8_t channels;    /**< Valid positions (1..VDM_SND_CHMAP_MAX). */
    uint8_t positions[VDM_SND_CHMAP_MAX]; /**< VDM_SND_CHMAP_*. */
    uint8_t reserved[2];                  /**< Must be 0. */
};

/** @brief One control element (an entry of vdm_snd_config::ctls). */
struct vdm_snd_ctl {
    uint32_t hda_fn_nid;      /**< HDA function group node id. */
    uint32_t role;            /**< VDM_SND_CTL_ROLE_* << 1 | direction, or 0. */
    uint32_t type;            /**< VDM_SND_CTL_TYPE_*. */
    uint32_t access;          /**< VDM_SND_CTL_ACCESS_* bits. */
    uint32_t count;           /**< Values (1..128; INTEGER64 64, BYTES 512,
                                   IEC958 1). */
    uint32_t index;           /**< Index of elements sharing a name. */
    const char *name;         /**< Non-empty, < VDM_SND_CTL_NAME_BYTES chars. */
    int64_t min;              /**< INTEGER/INTEGER64: least value. */
    int64_t max;              /**< INTEGER/INTEGER64: greatest value. */
    int64_t step;             /**< INTEGER/INTEGER64: step, 0 any. */
    uint32_t nitems;          /**< ENUMERATED: items (>= 1). */
    uint32_t tlv_words;       /**< Words of @ref tlv (0: no metadata). */
    const char *const *items; /**< ENUMERATED: item names (each non-empty,
                                   < VDM_SND_CTL_ITEM_BYTES chars). */
    /** TLV_READ metadata in host byte order: type, length in bytes, values
     *  (e.g. an ALSA dB scale: 1, 8, min in 0.01 dB, step | mute << 16). */
    const uint32_t *tlv;
};

/** @brief Stream parameters accepted by SET_PARAMS, decoded. */
struct vdm_snd_params {
    uint32_t size;         /**< sizeof(struct vdm_snd_params). */
    uint32_t buffer_bytes; /**< Driver's buffer (a multiple of period). */
    uint32_t period_bytes; /**< Period (a multiple of the frame size). */
    uint32_t features;     /**< VDM_SND_PCM_F_* selected. */
    uint32_t rate_hz;      /**< Frame rate in Hz. */
    uint32_t frame_bytes;  /**< Bytes per frame (channels * sample). */
    uint8_t channels;      /**< Channels. */
    uint8_t format;        /**< VDM_SND_PCM_FMT_*. */
    uint8_t rate;          /**< VDM_SND_PCM_RATE_*. */
    uint8_t sample_bytes;  /**< Physical bytes per sample (0: ADPCM). */
};

/**
 * @brief What the sound card asks of the host's audio back end. Return 0
 *        on success; VDM_ENOTSUP answers NOT_SUPP, any other negative value
 *        IO_ERR.
 */
struct vdm_snd_ops {
    uint32_t size; /**< sizeof(struct vdm_snd_ops), set by VDM_INIT. */
    /** Optional: stream @p stream takes parameters @p p (validated). */
    int (*set_params)(void *host, uint32_t stream,
                      const struct vdm_snd_params *p);
    /** Optional: prepare @p stream (buffers may follow). */
    int (*prepare)(void *host, uint32_t stream);
    /** Optional: start @p stream (its clock runs). */
    int (*start)(void *host, uint32_t stream);
    /** Optional: stop @p stream (its clock stops; I/O stays pending). */
    int (*stop)(void *host, uint32_t stream);
    /** Optional: release @p stream. The host must complete every I/O
     *  request of the stream it holds (now, from inside this call, or
     *  soon): the RELEASE is answered when the last one completes. Also
     *  called at a device reset for streams that were prepared. */
    int (*release)(void *host, uint32_t stream);
    /** Required: one period of @p stream. Output: @p iov holds @p bytes of
     *  frames to play; input: @p iov has room for @p bytes to record. The
     *  host calls vdm_snd_complete() with @p token once, now or later. A
     *  negative return means refused now (IO_ERR; do not complete). */
    int (*io)(void *host, uint32_t stream, const struct vdm_iov *iov,
              uint32_t n, uint32_t bytes, void *token);
    /** With controls: read control @p id into @p value
     *  (VDM_SND_CTL_VALUE_BYTES, struct virtio_snd_ctl_value wire layout,
     *  little-endian). */
    int (*ctl_read)(void *host, uint32_t id, uint8_t *value);
    /** With writable controls: control @p id takes @p value (same layout;
     *  validated against the element's type, count and range). */
    int (*ctl_write)(void *host, uint32_t id, const uint8_t *value);
    /** Optional: TLV_WRITE or TLV_COMMAND (@p code) for control @p id:
     *  @p tlv is the struct virtio_snd_ctl_tlv, @p len bytes. */
    int (*ctl_tlv)(void *host, uint32_t id, uint32_t code, const uint8_t *tlv,
                   uint32_t len);
    /** Optional: the driver remapped jack @p jack. */
    int (*jack_remap)(void *host, uint32_t jack, uint32_t association,
                      uint32_t sequence);
};

/** @brief Bytes of opaque storage for one sound device. */
#define VDM_SND_SIZE 2048
/** @brief Bytes of one request slot. */
#define VDM_SND_REQ_SIZE 128

/** @brief A sound device: opaque caller-owned storage. */
struct vdm_snd {
    alignas(8) unsigned char opaque[VDM_SND_SIZE]; /**< Library state. */
};

/** @brief One request slot: opaque caller-owned storage. */
struct vdm_snd_req {
    alignas(8) unsigned char opaque[VDM_SND_REQ_SIZE]; /**< Library state. */
};

/** @brief Request slots for queues of at most @p qsize entries
 *         (vdm_dev_config::queue_size_max): four queues, each one slot per
 *         ring entry plus one for its bookkeeping. */
#define VDM_SND_REQS(qsize)                                                    \
    ((size_t)VDM_SND_NUM_QUEUES * ((size_t)(qsize) + 1u))
/** @brief Entries of the caller's span array (vdm_snd_config::iovs). */
#define VDM_SND_IOVS(qsize, iov_per_req)                                       \
    ((size_t)VDM_SND_NUM_QUEUES * (size_t)(qsize) * (size_t)(iov_per_req))

/** @brief Sound device configuration, caller-filled with VDM_INIT. The
 *         tables are read in place for the life of the device. */
struct vdm_snd_config {
    uint32_t size;        /**< sizeof(struct vdm_snd_config). */
    uint32_t njacks;      /**< Entries of @ref jacks (<= VDM_SND_MAX_JACKS). */
    uint32_t npcms;       /**< Entries of @ref pcms (<= VDM_SND_MAX_STREAMS). */
    uint32_t nchmaps;     /**< Entries of @ref chmaps. */
    uint32_t nctls;       /**< Entries of @ref ctls (> 0 offers F_CTLS). */
    uint32_t iov_per_req; /**< Spans per request slot (>= 3). */
    const struct vdm_snd_jack *jacks;   /**< Jacks. */
    const struct vdm_snd_pcm *pcms;     /**< PCM streams. */
    const struct vdm_snd_chmap *chmaps; /**< Channel maps. */
    const struct vdm_snd_ctl *ctls;     /**< Control elements. */
    const struct vdm_snd_ops *ops;      /**< Back-end calls (required). */
    void *host;                         /**< Passed to @ref ops. */
    /** Caller array of VDM_SND_REQS(base->queue_size_max) slots. */
    struct vdm_snd_req *reqs;
    /** Caller array of VDM_SND_IOVS(base->queue_size_max, iov_per_req). */
    struct vdm_iov *iovs;
};

/**
 * @brief Make @p dev a sound device.
 *
 * Checks @p cfg and its tables (spec device requirements: defined feature,
 * format, rate, direction, role, type and access values only, channels and
 * counts within limits, non-empty names), then calls vdm_dev_init() with a
 * copy of @p base completed with the sound class (4 queues).
 * @return 0; VDM_EINVAL (NULL, bad table entry, missing hook); VDM_ESIZE;
 *   or what vdm_dev_init() returns.
 */
VDM_API int vdm_snd_init(struct vdm_snd *snd, struct vdm_dev *dev,
                         const struct vdm_snd_config *cfg,
                         const struct vdm_dev_config *base);

/**
 * @brief Complete an I/O request the host accepted in vdm_snd_ops::io.
 * @param snd     the device.
 * @param token   the token io() received.
 * @param status  0 (OK) or negative (IO_ERR).
 * @param latency_bytes the device latency now, in bytes (the status's
 *        latency_bytes).
 * @param rx_bytes input: frames bytes recorded into the buffer (at most the
 *        bytes asked; the spec wants a full buffer except at the end of the
 *        stream); output: ignored.
 * @return 0; VDM_ESTATE when the request had been abandoned by a reset
 *   (dropped); VDM_EINVAL for a token not in flight.
 */
VDM_API int vdm_snd_complete(struct vdm_snd *snd, void *token, int status,
                             uint32_t latency_bytes, uint32_t rx_bytes);

/**
 * @brief Set jack @p jack's connection state and, if it changed, send
 *        JACK_CONNECTED or JACK_DISCONNECTED.
 * @return 0; VDM_ERANGE; VDM_ENOSPC (event dropped: no room); VDM_EINVAL.
 */
VDM_API int vdm_snd_jack_set(struct vdm_snd *snd, uint32_t jack,
                             uint32_t connected);

/**
 * @brief Send a PCM event for @p stream: VDM_SND_EVT_PCM_PERIOD_ELAPSED or
 *        VDM_SND_EVT_PCM_XRUN. An XRUN is sent only when the driver selected
 *        VDM_SND_PCM_F_EVT_XRUNS in SET_PARAMS, a period event only with
 *        VDM_SND_PCM_F_EVT_SHMEM_PERIODS.
 * @return 0; 1 when the driver did not ask for it (nothing sent);
 *   VDM_ERANGE; VDM_ENOSPC; VDM_EINVAL.
 */
VDM_API int vdm_snd_pcm_event(struct vdm_snd *snd, uint32_t stream,
                              uint32_t code);

/**
 * @brief Send CTL_NOTIFY for control @p id with @p mask
 *        (VDM_SND_CTL_EVT_MASK_* bits), e.g. after the host changed a value.
 *        Only with VIRTIO_SND_F_CTLS negotiated.
 * @return 0; 1 when F_CTLS is not negotiated (nothing sent); VDM_ERANGE;
 *   VDM_ENOSPC; VDM_EINVAL.
 */
VDM_API int vdm_snd_ctl_notify(struct vdm_snd *snd, uint32_t id, uint32_t mask);

/**
 * @brief Serve queue @p q again (e.g. from a host thread after a kick).
 * @return 0; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_snd_process(struct vdm_snd *snd, uint16_t q);

/** @brief I/O requests of @p stream at the host (live ones). */
VDM_API uint32_t vdm_snd_pending(const struct vdm_snd *snd, uint32_t stream);

/** @brief Requests at the host on all queues, including abandoned ones. */
VDM_API uint32_t vdm_snd_in_flight(const struct vdm_snd *snd);

/** @brief Events dropped for want of eventq room since init. */
VDM_API uint32_t vdm_snd_events_dropped(const struct vdm_snd *snd);

/** @name Stream states (vdm_snd_stream_state())
 * @{ */
#define VDM_SND_STATE_INIT      0u /**< No parameters yet. */
#define VDM_SND_STATE_PARAMS    1u /**< Parameters set. */
#define VDM_SND_STATE_PREPARED  2u /**< Prepared. */
#define VDM_SND_STATE_RUNNING   3u /**< Started. */
#define VDM_SND_STATE_STOPPED   4u /**< Stopped. */
#define VDM_SND_STATE_RELEASING 5u /**< RELEASE waiting for its I/O. */
#define VDM_SND_STATE_RELEASED  6u /**< Released. */
/** @} */

/**
 * @brief State of @p stream (VDM_SND_STATE_*), the parameters into @p p
 *        when not NULL (p->size set by the caller).
 * @return the state; VDM_ERANGE; VDM_EINVAL.
 */
VDM_API int vdm_snd_stream_state(const struct vdm_snd *snd, uint32_t stream,
                                 struct vdm_snd_params *p);

/** @brief The generic device @p snd was set up on (NULL if none). */
VDM_API struct vdm_dev *vdm_snd_dev(const struct vdm_snd *snd);

/**
 * @brief Bytes per sample of format @p fmt (0 for IMA ADPCM or an
 *        unknown format). For hosts decoding vdm_snd_params::format.
 */
VDM_API uint32_t vdm_snd_format_bytes(uint32_t fmt);

/** @brief Frame rate in Hz of rate code @p rate (0 if unknown). */
VDM_API uint32_t vdm_snd_rate_hz(uint32_t rate);

#ifdef __cplusplus
}
#endif
#endif
