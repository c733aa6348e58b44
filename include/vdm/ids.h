/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ids.h
 * @brief VIRTIO device ids: every entry of the spec's "Device Types" table
 *        (VIRTIO 1.4, section "Device Types").
 *
 * Naming (stated once for all device types, see docs/device-types.md):
 * `VDM_VIRTIO_ID_<T>` is the device id; per device type `VDM_<T>_SIZE` is
 * opaque storage for the library object, `VDM_<T>_..._BYTES` a wire size,
 * `VDM_<T>_CONFIG_BYTES` the device configuration layout's size,
 * `vdm_<t>_init()` sets a device up and `vdm_<t>_dev()` returns its
 * generic device.
 */
#ifndef VDM_IDS_H
#define VDM_IDS_H

/** @defgroup ids Device ids and names
 * @brief Values of the `device_id` a transport presents, and the naming
 *        convention of every device type.
 *
 * For device type T: `VDM_VIRTIO_ID_T` (here), `VDM_T_SIZE` (opaque storage
 * of `struct vdm_t`, and nothing else), `VDM_T_..._BYTES` (wire sizes),
 * `VDM_T_CONFIG_BYTES` (device configuration layout), `VDM_T_F_...`
 * (feature bits), `vdm_t_init()`, `vdm_t_dev()`; the device core's `priv`
 * is the device type's state. See docs/device-types.md.
 * @{ */
/** Reserved (invalid). */
#define VDM_VIRTIO_ID_INVALID 0u
/** Network device. */
#define VDM_VIRTIO_ID_NET 1u
/** Block device. */
#define VDM_VIRTIO_ID_BLK 2u
/** Console. */
#define VDM_VIRTIO_ID_CONSOLE 3u
/** Entropy source. */
#define VDM_VIRTIO_ID_RNG 4u
/** Memory ballooning (traditional). */
#define VDM_VIRTIO_ID_BALLOON_LEGACY 5u
/** IoMemory. */
#define VDM_VIRTIO_ID_IOMEM 6u
/** Rpmsg. */
#define VDM_VIRTIO_ID_RPMSG 7u
/** SCSI host. */
#define VDM_VIRTIO_ID_SCSI 8u
/** 9P transport. */
#define VDM_VIRTIO_ID_9P 9u
/** Mac80211 wlan. */
#define VDM_VIRTIO_ID_MAC80211_WLAN 10u
/** Rproc serial. */
#define VDM_VIRTIO_ID_RPROC_SERIAL 11u
/** Virtio CAIF. */
#define VDM_VIRTIO_ID_CAIF 12u
/** Memory balloon. */
#define VDM_VIRTIO_ID_BALLOON 13u
/** GPU device. */
#define VDM_VIRTIO_ID_GPU 16u
/** RTC (Real Time Clock) device. */
#define VDM_VIRTIO_ID_RTC 17u
/** Input device. */
#define VDM_VIRTIO_ID_INPUT 18u
/** Socket device. */
#define VDM_VIRTIO_ID_VSOCK 19u
/** Crypto device. */
#define VDM_VIRTIO_ID_CRYPTO 20u
/** Signal Distribution Module. */
#define VDM_VIRTIO_ID_SDM 21u
/** Pstore device. */
#define VDM_VIRTIO_ID_PSTORE 22u
/** IOMMU device. */
#define VDM_VIRTIO_ID_IOMMU 23u
/** Memory device. */
#define VDM_VIRTIO_ID_MEM 24u
/** Sound device. */
#define VDM_VIRTIO_ID_SOUND 25u
/** File system device. */
#define VDM_VIRTIO_ID_FS 26u
/** PMEM device. */
#define VDM_VIRTIO_ID_PMEM 27u
/** RPMB device. */
#define VDM_VIRTIO_ID_RPMB 28u
/** Mac80211 hwsim wireless simulation device. */
#define VDM_VIRTIO_ID_MAC80211_HWSIM 29u
/** Video encoder device. */
#define VDM_VIRTIO_ID_VIDEO_ENCODER 30u
/** Video decoder device. */
#define VDM_VIRTIO_ID_VIDEO_DECODER 31u
/** SCMI device. */
#define VDM_VIRTIO_ID_SCMI 32u
/** NitroSecureModule. */
#define VDM_VIRTIO_ID_NSM 33u
/** I2C adapter. */
#define VDM_VIRTIO_ID_I2C 34u
/** Watchdog. */
#define VDM_VIRTIO_ID_WATCHDOG 35u
/** CAN device. */
#define VDM_VIRTIO_ID_CAN 36u
/** Parameter Server. */
#define VDM_VIRTIO_ID_PARAM_SERV 38u
/** Audio policy device. */
#define VDM_VIRTIO_ID_AUDIO_POLICY 39u
/** Bluetooth device. */
#define VDM_VIRTIO_ID_BT 40u
/** GPIO device. */
#define VDM_VIRTIO_ID_GPIO 41u
/** RDMA device. */
#define VDM_VIRTIO_ID_RDMA 42u
/** Camera device. */
#define VDM_VIRTIO_ID_CAMERA 43u
/** ISM device. */
#define VDM_VIRTIO_ID_ISM 44u
/** SPI controller. */
#define VDM_VIRTIO_ID_SPI 45u
/** TEE device. */
#define VDM_VIRTIO_ID_TEE 46u
/** CPU balloon device. */
#define VDM_VIRTIO_ID_CPU_BALLOON 47u
/** Media device. */
#define VDM_VIRTIO_ID_MEDIA 48u
/** USB controller. */
#define VDM_VIRTIO_ID_USB 49u
/** @} */

#endif /* VDM_IDS_H */
