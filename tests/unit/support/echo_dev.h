/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file echo_dev.h
 * @brief A small device type for transport tests: each queue echoes a
 *        chain's readable bytes, reversed, into its writable part.
 *
 * Device id 63 (one the spec has not assigned; 0x1040 + 63 is the last
 * non-transitional PCI device id). Config space (little-endian):
 *   0  le64 capacity  read-only, changed by the host (echo_set_capacity)
 *   8  le32 scratch   read-write
 *   12 le16 queues    read-only
 *   14 u8   mode      read-write
 *   15 u8   pad
 *   16 le64 echoed    read-only: bytes echoed so far
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_TESTS_ECHO_DEV_H
#define VDM_TESTS_ECHO_DEV_H

#include <stdint.h>

#include "vdm/kit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECHO_DEVICE_ID   63u         /**< VIRTIO device id used. */
#define ECHO_CONFIG_SIZE 24u         /**< Bytes of config space. */
#define ECHO_MAX_QUEUES  8u          /**< Most queues. */
#define ECHO_F_A         (1ull << 0) /**< Device feature bit 0 (offered). */
#define ECHO_F_B         (1ull << 1) /**< Device feature bit 1 (needs ECHO_F_A). */

/** @brief Device-type state (vdm_dev_priv). */
struct echo_dev {
    uint8_t config[ECHO_CONFIG_SIZE]; /**< Config space image. */
    unsigned notifies;                /**< queue_notify calls. */
    unsigned chains;                  /**< Chains echoed. */
    unsigned resets;                  /**< Device resets. */
    unsigned queue_resets;            /**< Queue resets. */
    int last_err;                     /**< Queue broken: VDM_EPROTO. */
    struct vdm_kit kit;               /**< Serves the queues. */
    /** Request slots: one per queue. */
    alignas(8) unsigned char req[VDM_KIT_SLOTS_BYTES(ECHO_MAX_QUEUES, 1,
                                                     VDM_KIT_SLOT_BYTES(0))];
    struct vdm_iov iov[ECHO_MAX_QUEUES * 16]; /**< Their spans. */
};

/** @brief The device class. */
extern const struct vdm_device_class echo_class;

/**
 * @brief Initialise @p d as an echo device over @p base (its cls, priv and
 *        features are set here: ECHO_F_A | ECHO_F_B | @p ring_features).
 * @return vdm_dev_init()'s result.
 */
int echo_init(struct echo_dev *e, struct vdm_dev *d,
              const struct vdm_dev_config *base, uint64_t ring_features);

/** @brief Host changes the capacity: config change (generation, notice). */
void echo_set_capacity(struct echo_dev *e, struct vdm_dev *d, uint64_t cap);

#ifdef __cplusplus
}
#endif
#endif
