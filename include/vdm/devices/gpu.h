/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file gpu.h
 * @brief GPU device (virtio-gpu, spec "GPU Device", device id 16): 2D
 *        resources, scanouts, EDID, cursor, fences, resource UUIDs and
 *        guest-memory blob resources.
 *
 * Two queues: the controlq (resources, transfers, scanouts, display
 * queries) and the cursorq (cursor shape and position). Every command is
 * processed to completion before its response is returned, so a fenced
 * command (VIRTIO_GPU_FLAG_FENCE) is answered only after it is done, and
 * the responses of one queue come back in order (spec "Command lifecycle
 * and fencing").
 *
 * **What the library does.** It reads each request once, checks every
 * resource id, scanout id, format, rectangle, offset, stride and backing
 * entry with overflow-safe arithmetic against the resource, its backing and
 * the host's limits *before* any byte moves, copies pixels from guest
 * memory into the host's storage for a resource (TRANSFER_TO_HOST_2D, and
 * for blob scanouts at RESOURCE_FLUSH), and tells the host what to show.
 *
 * **What the host does** (@ref vdm_gpu_ops): it owns the pixels. A
 * resource's storage comes from `resource_create` (the host may take it
 * from a pool or allocate it) and goes back through `resource_destroy`;
 * the library tracks resources in the caller's table (@ref vdm_gpu_res,
 * `max_resources` entries) and backing entries in the caller's pool
 * (@ref vdm_gpu_backing). The host shows pixels on `scanout` and `update`
 * and the cursor on `cursor`.
 *
 * **Answered as unsupported**: 3D (VIRTIO_GPU_F_VIRGL is never offered;
 * CTX_*, *_3D, SUBMIT_3D answer VIRTIO_GPU_RESP_ERR_UNSPEC); capability
 * sets (num_capsets is 0: GET_CAPSET_INFO and GET_CAPSET answer
 * ERR_INVALID_PARAMETER); host3d blobs (ERR_INVALID_PARAMETER);
 * VIRTIO_GPU_F_CONTEXT_INIT is not offered (the spec makes it depend on
 * VIRGL): a request's ring index is echoed only once it is negotiated, and
 * an out-of-range ring index (> 63) is refused with ERR_INVALID_PARAMETER.
 *
 * Threads: one thread drives the device; host calls are made from it.
 */
#ifndef VDM_DEVICES_GPU_H
#define VDM_DEVICES_GPU_H

#include "../common.h"
#include "../device.h"
#include "../ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup gpu GPU device
 * @brief virtio-gpu device type (2D).
 * @{ */

/** @brief Number of queues (controlq, cursorq). */
#define VDM_GPU_NUM_QUEUES 2
/** @brief Index of the controlq. */
#define VDM_GPU_QUEUE_CONTROL 0
/** @brief Index of the cursorq. */
#define VDM_GPU_QUEUE_CURSOR 1
/** @brief Most scanouts (spec: VIRTIO_GPU_MAX_SCANOUTS). */
#define VDM_GPU_MAX_SCANOUTS 16
/** @brief Most spans one request chain may have. */
#define VDM_GPU_IOV_MAX 64
/** @brief Bytes of opaque storage for one GPU device. */
#define VDM_GPU_SIZE 6144
/** @brief Bytes of opaque storage for one resource table entry. */
#define VDM_GPU_RES_SIZE 128
/** @brief Bytes of opaque storage for one backing pool entry. */
#define VDM_GPU_BACKING_SIZE 16
/** @brief Bytes of the device configuration layout (struct
 *         virtio_gpu_config). */
#define VDM_GPU_CONFIG_BYTES 20
/** @brief Bytes of struct virtio_gpu_ctrl_hdr on the wire. */
#define VDM_GPU_HDR_BYTES 24
/** @brief Most EDID bytes one scanout may have (struct
 *         virtio_gpu_resp_edid). */
#define VDM_GPU_EDID_MAX_BYTES 1024
/** @brief Cursor width and height in pixels (spec "Configure mouse
 *         cursor"). */
#define VDM_GPU_CURSOR_DIM 64

/** @name Feature bits (spec "GPU Device / Feature bits")
 * @{ */
#define VDM_GPU_F_VIRGL          (1ull << 0) /**< 3D; never offered. */
#define VDM_GPU_F_EDID           (1ull << 1) /**< GET_EDID. */
#define VDM_GPU_F_RESOURCE_UUID  (1ull << 2) /**< RESOURCE_ASSIGN_UUID. */
#define VDM_GPU_F_RESOURCE_BLOB  (1ull << 3) /**< Blob resources. */
#define VDM_GPU_F_CONTEXT_INIT   (1ull << 4) /**< Needs VIRGL; not offered. */
#define VDM_GPU_F_BLOB_ALIGNMENT (1ull << 5) /**< blob_alignment valid. */
/** @} */

/** @name Config offsets (struct virtio_gpu_config)
 * @{ */
#define VDM_GPU_CFG_EVENTS_READ    0  /**< le32, read-only. */
#define VDM_GPU_CFG_EVENTS_CLEAR   4  /**< le32, write 1 to clear. */
#define VDM_GPU_CFG_NUM_SCANOUTS   8  /**< le32. */
#define VDM_GPU_CFG_NUM_CAPSETS    12 /**< le32. */
#define VDM_GPU_CFG_BLOB_ALIGNMENT 16 /**< le32. */
/** @} */

/** @brief Event bit: the display configuration changed. */
#define VDM_GPU_EVENT_DISPLAY 1u

/** @name Commands and responses (enum virtio_gpu_ctrl_type)
 * @{ */
#define VDM_GPU_CMD_GET_DISPLAY_INFO         0x0100u /**< Display info. */
#define VDM_GPU_CMD_RESOURCE_CREATE_2D       0x0101u /**< Create 2D. */
#define VDM_GPU_CMD_RESOURCE_UNREF           0x0102u /**< Destroy. */
#define VDM_GPU_CMD_SET_SCANOUT              0x0103u /**< Scanout. */
#define VDM_GPU_CMD_RESOURCE_FLUSH           0x0104u /**< Flush. */
#define VDM_GPU_CMD_TRANSFER_TO_HOST_2D      0x0105u /**< Transfer. */
#define VDM_GPU_CMD_RESOURCE_ATTACH_BACKING  0x0106u /**< Attach. */
#define VDM_GPU_CMD_RESOURCE_DETACH_BACKING  0x0107u /**< Detach. */
#define VDM_GPU_CMD_GET_CAPSET_INFO          0x0108u /**< Capset info. */
#define VDM_GPU_CMD_GET_CAPSET               0x0109u /**< Capset. */
#define VDM_GPU_CMD_GET_EDID                 0x010au /**< EDID. */
#define VDM_GPU_CMD_RESOURCE_ASSIGN_UUID     0x010bu /**< UUID. */
#define VDM_GPU_CMD_RESOURCE_CREATE_BLOB     0x010cu /**< Blob. */
#define VDM_GPU_CMD_SET_SCANOUT_BLOB         0x010du /**< Blob scanout. */
#define VDM_GPU_CMD_CTX_CREATE               0x0200u /**< 3D (refused). */
#define VDM_GPU_CMD_SUBMIT_3D                0x0207u /**< 3D (refused). */
#define VDM_GPU_CMD_RESOURCE_MAP_BLOB        0x0208u /**< Map blob. */
#define VDM_GPU_CMD_RESOURCE_UNMAP_BLOB      0x0209u /**< Unmap blob. */
#define VDM_GPU_CMD_UPDATE_CURSOR            0x0300u /**< Cursor shape. */
#define VDM_GPU_CMD_MOVE_CURSOR              0x0301u /**< Cursor move. */
#define VDM_GPU_RESP_OK_NODATA               0x1100u /**< OK. */
#define VDM_GPU_RESP_OK_DISPLAY_INFO         0x1101u /**< Display info. */
#define VDM_GPU_RESP_OK_CAPSET_INFO          0x1102u /**< Capset info. */
#define VDM_GPU_RESP_OK_CAPSET               0x1103u /**< Capset. */
#define VDM_GPU_RESP_OK_EDID                 0x1104u /**< EDID. */
#define VDM_GPU_RESP_OK_RESOURCE_UUID        0x1105u /**< UUID. */
#define VDM_GPU_RESP_OK_MAP_INFO             0x1106u /**< Map info. */
#define VDM_GPU_RESP_ERR_UNSPEC              0x1200u /**< Error. */
#define VDM_GPU_RESP_ERR_OUT_OF_MEMORY       0x1201u /**< No room. */
#define VDM_GPU_RESP_ERR_INVALID_SCANOUT_ID  0x1202u /**< Bad scanout. */
#define VDM_GPU_RESP_ERR_INVALID_RESOURCE_ID 0x1203u /**< Bad resource. */
#define VDM_GPU_RESP_ERR_INVALID_CONTEXT_ID  0x1204u /**< Bad context. */
#define VDM_GPU_RESP_ERR_INVALID_PARAMETER   0x1205u /**< Bad parameter. */
/** @} */

/** @name Header flags
 * @{ */
#define VDM_GPU_FLAG_FENCE         1u /**< Fenced command. */
#define VDM_GPU_FLAG_INFO_RING_IDX 2u /**< ring_idx valid (CONTEXT_INIT). */
/** @} */

/** @name Formats (enum virtio_gpu_formats; all 4 bytes per pixel)
 * @{ */
#define VDM_GPU_FORMAT_B8G8R8A8_UNORM 1u   /**< Bytes B, G, R, A. */
#define VDM_GPU_FORMAT_B8G8R8X8_UNORM 2u   /**< Bytes B, G, R, X. */
#define VDM_GPU_FORMAT_A8R8G8B8_UNORM 3u   /**< Bytes A, R, G, B. */
#define VDM_GPU_FORMAT_X8R8G8B8_UNORM 4u   /**< Bytes X, R, G, B. */
#define VDM_GPU_FORMAT_R8G8B8A8_UNORM 67u  /**< Bytes R, G, B, A. */
#define VDM_GPU_FORMAT_X8B8G8R8_UNORM 68u  /**< Bytes X, B, G, R. */
#define VDM_GPU_FORMAT_A8B8G8R8_UNORM 121u /**< Bytes A, B, G, R. */
#define VDM_GPU_FORMAT_R8G8B8X8_UNORM 134u /**< Bytes R, G, B, X. */
/** @} */

/** @name Blob memory types and flags
 * @{ */
#define VDM_GPU_BLOB_MEM_GUEST         1u /**< Guest-only blob (supported). */
#define VDM_GPU_BLOB_MEM_HOST3D        2u /**< Needs 3D (refused). */
#define VDM_GPU_BLOB_MEM_HOST3D_GUEST  3u /**< Needs 3D (refused). */
#define VDM_GPU_BLOB_FLAG_USE_MAPPABLE 1u /**< May be mapped. */
/** @} */

/** @name Resource kinds (@ref vdm_gpu_resource_info::kind)
 * @{ */
#define VDM_GPU_RES_2D   1u /**< RESOURCE_CREATE_2D. */
#define VDM_GPU_RES_BLOB 2u /**< RESOURCE_CREATE_BLOB (guest memory). */
/** @} */

/** @name Configuration flags (@ref vdm_gpu_config::flags)
 * @{ */
#define VDM_GPU_EDID 1u /**< Offer VIRTIO_GPU_F_EDID. */
#define VDM_GPU_BLOB 2u /**< Offer VIRTIO_GPU_F_RESOURCE_BLOB. */
#define VDM_GPU_UUID                                                           \
    4u /**< Offer VIRTIO_GPU_F_RESOURCE_UUID (needs the                        \
            `assign_uuid` hook). */
/** @} */

/** @brief A GPU device: opaque caller-owned storage. */
struct vdm_gpu {
    alignas(8) unsigned char opaque[VDM_GPU_SIZE]; /**< Library state. */
};

/** @brief One entry of the caller's resource table (opaque). */
struct vdm_gpu_res {
    alignas(8) unsigned char opaque[VDM_GPU_RES_SIZE]; /**< Library state. */
};

/** @brief One entry of the caller's backing pool (opaque). */
struct vdm_gpu_backing {
    alignas(8) unsigned char opaque[VDM_GPU_BACKING_SIZE]; /**< State. */
};

/** @brief One display (scanout) as the host describes it. */
struct vdm_gpu_display {
    uint32_t x;          /**< Position of the display (arrangement). */
    uint32_t y;          /**< Position of the display (arrangement). */
    uint32_t width;      /**< Preferred width in pixels. */
    uint32_t height;     /**< Preferred height in pixels. */
    uint32_t enabled;    /**< 1: connected. */
    uint32_t edid_len;   /**< Bytes at @ref edid (<= VDM_GPU_EDID_MAX_BYTES). */
    const uint8_t *edid; /**< EDID blob (caller memory, kept), or NULL. */
};

/** @brief A resource as the host sees it (`resource_create`). */
struct vdm_gpu_resource_info {
    uint32_t id;     /**< Guest-chosen resource id (never 0). */
    uint32_t kind;   /**< VDM_GPU_RES_2D or VDM_GPU_RES_BLOB. */
    uint32_t format; /**< VDM_GPU_FORMAT_* (2D); 0 for a blob. */
    uint32_t width;  /**< Pixels (2D); 0 for a blob. */
    uint32_t height; /**< Pixels (2D); 0 for a blob. */
    uint32_t stride; /**< Bytes per row (2D: width * 4); 0 for a blob. */
    uint64_t bytes;  /**< Bytes of storage the host provides. */
};

/** @brief What a scanout shows (`scanout`). */
struct vdm_gpu_scanout_info {
    uint32_t resource_id; /**< 0: the scanout is disabled. */
    uint32_t format;      /**< VDM_GPU_FORMAT_*. */
    uint32_t x;           /**< Shown rectangle within the framebuffer. */
    uint32_t y;           /**< Shown rectangle within the framebuffer. */
    uint32_t width;       /**< Shown width (the display's mode). */
    uint32_t height;      /**< Shown height (the display's mode). */
    uint32_t stride;      /**< Bytes per framebuffer row. */
    uint32_t reserved;    /**< 0. */
    /** Top-left pixel of the shown rectangle in the resource storage;
     *  valid until the next `scanout` call for this scanout. */
    const void *pixels;
};

/** @brief A flushed rectangle (`update`), in scanout coordinates. */
struct vdm_gpu_update {
    uint32_t resource_id; /**< Resource shown. */
    uint32_t format;      /**< VDM_GPU_FORMAT_*. */
    uint32_t x;           /**< Left, in the scanout. */
    uint32_t y;           /**< Top, in the scanout. */
    uint32_t width;       /**< Pixels per row. */
    uint32_t height;      /**< Rows. */
    uint32_t stride;      /**< Bytes from one row to the next at @ref pixels. */
    uint32_t reserved;    /**< 0. */
    const void *pixels;   /**< Pixel (x, y); valid during the call only. */
};

/** @name Cursor events (@ref vdm_gpu_cursor::what)
 * @{ */
#define VDM_GPU_CURSOR_UPDATE 1u /**< New shape (or hidden) and position. */
#define VDM_GPU_CURSOR_MOVE   2u /**< New position only. */
/** @} */

/** @brief A cursor event (`cursor`). */
struct vdm_gpu_cursor {
    uint32_t what;        /**< VDM_GPU_CURSOR_*. */
    uint32_t scanout;     /**< Scanout the cursor is on. */
    uint32_t x;           /**< Position. */
    uint32_t y;           /**< Position. */
    uint32_t hot_x;       /**< Hot spot (UPDATE). */
    uint32_t hot_y;       /**< Hot spot (UPDATE). */
    uint32_t resource_id; /**< Shape resource (UPDATE); 0: hidden. */
    uint32_t format;      /**< Its format (UPDATE, shown). */
    /** UPDATE with a shape: 64x64 pixels, 256 bytes per row, valid during
     *  the call only; NULL otherwise. */
    const void *pixels;
};

/** @brief What the GPU device asks of the host (const table). */
struct vdm_gpu_ops {
    uint32_t size; /**< sizeof(struct vdm_gpu_ops), set by VDM_INIT. */
    /**
     * Provide @p info->bytes bytes of storage for a new resource
     * (required). The library writes only inside it.
     * @return 0 with `*pixels` set; negative: the guest gets
     *   ERR_OUT_OF_MEMORY.
     */
    int (*resource_create)(void *host, const struct vdm_gpu_resource_info *info,
                           void **pixels);
    /** Take back the storage of resource @p id (required). No scanout
     *  shows it any more when this is called. */
    void (*resource_destroy)(void *host, uint32_t id, void *pixels);
    /** Scanout @p scanout now shows @p s (or is disabled: resource 0)
     *  (required). */
    void (*scanout)(void *host, uint32_t scanout,
                    const struct vdm_gpu_scanout_info *s);
    /** Rectangle @p u of scanout @p scanout changed: present it
     *  (required). */
    void (*update)(void *host, uint32_t scanout,
                   const struct vdm_gpu_update *u);
    /** Cursor shape or position (optional). */
    void (*cursor)(void *host, const struct vdm_gpu_cursor *c);
    /**
     * A UUID for resource @p id to export it (optional; needed for
     * VDM_GPU_UUID). Asked once per resource.
     * @return 0 with @p uuid filled, or negative (ERR_UNSPEC).
     */
    int (*assign_uuid)(void *host, uint32_t id, uint8_t uuid[16]);
    /**
     * Map blob resource @p info at @p offset of the host-visible memory
     * region (optional; with vdm_gpu_config::hostmem_bytes != 0). The
     * library checked the range fits the region.
     * @return 0 with `*map_info` (VIRTIO_GPU_MAP_CACHE_*), or negative.
     */
    int (*blob_map)(void *host, const struct vdm_gpu_resource_info *info,
                    uint64_t offset, uint32_t *map_info);
    /** Undo a successful `blob_map` of resource @p id (optional). */
    void (*blob_unmap)(void *host, uint32_t id);
};

/** @brief GPU configuration, caller-filled with VDM_INIT. */
struct vdm_gpu_config {
    uint32_t size;         /**< sizeof(struct vdm_gpu_config). */
    uint32_t flags;        /**< VDM_GPU_EDID, VDM_GPU_BLOB, VDM_GPU_UUID. */
    uint32_t num_scanouts; /**< 1..VDM_GPU_MAX_SCANOUTS. */
    uint32_t nresources;   /**< Entries of @ref resources (>= 1): the most
                                resources the guest may have at once. */
    /** @ref num_scanouts displays (copied; EDID blobs are kept). */
    const struct vdm_gpu_display *displays;
    struct vdm_gpu_res *resources;   /**< Caller's resource table. */
    struct vdm_gpu_backing *backing; /**< Caller's backing pool. */
    uint32_t nbacking;           /**< Entries of @ref backing (>= 1): backing
                                      entries of all resources together (adjacent
                                      guest ranges are merged). */
    uint32_t blob_alignment;     /**< 0, or a power of two to offer
                                      VIRTIO_GPU_F_BLOB_ALIGNMENT (with
                                      VDM_GPU_BLOB). */
    uint64_t max_resource_bytes; /**< Most storage bytes of one resource
                                      (0: 256 MiB). */
    uint64_t max_total_bytes;    /**< Most storage bytes of all resources
                                      (0: no limit beyond the per-resource one). */
    uint64_t hostmem_bytes;      /**< Size of the host-visible memory region for
                                      RESOURCE_MAP_BLOB (0: none). */
    const struct vdm_gpu_ops *ops; /**< Host hooks (required). */
    void *host;                    /**< Passed to @ref ops hooks. */
};

/**
 * @brief Create a GPU device on @p dev.
 *
 * Copies @p base (its num_queues must be 0 or 2), sets class, state and
 * features (the kit's policy: VDM_F_RING_ALL, the platform bits of
 * base->features and the GPU bits @p cfg asks for) and calls
 * vdm_dev_init(). @p g, @p dev, the resource table, the backing pool and
 * the EDID blobs must stay in place for the device's lifetime.
 * @return 0; VDM_EINVAL (NULL, missing hook, bad counts, unknown flags,
 *   EDID too long, blob_alignment not a power of two); VDM_ESIZE (a size
 *   field too small); or what vdm_dev_init() returns.
 */
VDM_API int vdm_gpu_init(struct vdm_gpu *g, struct vdm_dev *dev,
                         const struct vdm_gpu_config *cfg,
                         const struct vdm_dev_config *base);

/** @brief The device this GPU was created on (NULL if @p g is not one). */
VDM_API struct vdm_dev *vdm_gpu_dev(const struct vdm_gpu *g);

/**
 * @brief The host changed display @p scanout (resolution, connection,
 *        EDID): store it, set VIRTIO_GPU_EVENT_DISPLAY in `events_read` and
 *        send a configuration change notification (spec "Events").
 * @return 0; VDM_EINVAL (NULL, EDID too long); VDM_ERANGE (scanout).
 */
VDM_API int vdm_gpu_set_display(struct vdm_gpu *g, uint32_t scanout,
                                const struct vdm_gpu_display *d);

/** @brief Resources the guest holds now. */
VDM_API uint32_t vdm_gpu_resources(const struct vdm_gpu *g);

/**
 * @brief Write a 128-byte EDID 1.4 base block for a @p width x @p height
 *        display (one preferred detailed timing at 60 Hz, the established
 *        640x480, 800x600 and 1024x768 modes, monitor name
 *        @p name (up to 13 characters), range limits, checksum) into
 *        @p buf.
 * @return 128; VDM_EINVAL (NULL, @p cap < 128, width or height 0 or above
 *   4095).
 */
VDM_API int vdm_gpu_edid(uint8_t *buf, uint32_t cap, uint32_t width,
                         uint32_t height, const char *name);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
