/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the image reader and writer of src/state.c, for the transports'
 * save and restore (transports/mmio_state.c, transports/pci_state.c).
 * Layout: docs/state-format.md. */
#ifndef VDM_STATE_INTERNAL_H
#define VDM_STATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vdm/state.h"

/* An image whose header and section framing were checked. Each pointer is
 * a section's payload (NULL: absent) and its length. */
struct vdmi_img {
    const uint8_t *core;
    const uint8_t *queues; /* the first QUEUE section's header */
    const uint8_t *cls;
    const uint8_t *mmio;
    const uint8_t *pci;
    uint32_t core_len;
    uint32_t cls_len;
    uint32_t mmio_len;
    uint32_t pci_len;
    uint32_t nqueues; /* QUEUE sections, consecutive, in index order */
    uint32_t device_id;
    uint16_t num_queues;
};

/* Check the header and the framing of @p buf (untrusted) and find the
 * sections. 0, VDM_EINVAL (malformed), VDM_ENOTSUP (version, unknown
 * required section). */
int vdmi_state_parse(const void *buf, size_t len, struct vdmi_img *img);

/* Restore the device sections of @p img into @p d (reset first). On
 * failure @p d is left reset. */
int vdmi_state_restore_dev(struct vdm_dev *d, const struct vdmi_img *img);

/* Bytes of the header and device sections of @p d (0 on failure). */
size_t vdmi_state_dev_size(const struct vdm_dev *d);

/* Write the header and device sections of @p d into @p buf (@p len bytes);
 * returns the bytes written (where a transport appends its section) or a
 * negative VDM_E*. Finish with vdmi_state_finish(). */
int vdmi_state_save_dev(const struct vdm_dev *d, uint8_t *buf, size_t len);

/* Write a section header at @p p. */
void vdmi_state_sec(uint8_t *p, uint32_t tag, uint32_t len);

/* Set the image's total length to @p total. */
void vdmi_state_finish(uint8_t *buf, uint32_t total);

#endif
