/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the virtqueue's part of a device save (src/virtqueue_state.c),
 * for src/state.c. */
#ifndef VDM_VQ_STATE_INTERNAL_H
#define VDM_VQ_STATE_INTERNAL_H

#include <stdint.h>

#include "vdm/virtqueue.h"

/* The ring position a save records for the initialised queue @p vq: its
 * position moved back over the chains in flight (*requeued of them), so
 * that a queue restored there reads them again. VDM_EBUSY when the chains
 * in flight are not the most recently popped ones (a chain popped after
 * one of them was completed: moving back would serve it twice); VDM_ESTATE
 * for a queue not set up. Works on a broken queue too. */
int vdmi_vq_save_pos(const struct vdm_vq *vq, struct vdm_vq_state *out,
                     uint32_t *requeued);

#endif
