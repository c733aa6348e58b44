/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: vhost-user inflight I/O tracking of a virtqueue (vhost-user
 * "Inflight I/O tracking"), for transports/vhost_user_inflight.c. Not
 * installed, not exported. The region layout is in vq_inflight_layout.h.
 */
#ifndef VDM_VQ_INFLIGHT_H
#define VDM_VQ_INFLIGHT_H

#include <stdint.h>

#include "vdm/virtqueue.h"

/* Bytes of one queue's region for queues of @p qsize entries (header and
 * qsize entries, rounded up to 64 bytes so every queue's region starts on
 * a cache line); 0 for qsize 0 or over VDM_VQ_MAX_NUM. */
uint64_t vdmi_ift_queue_bytes(uint32_t qsize, int packed);

/* Write a fresh region for queues of @p qsize entries (version 1, nothing
 * in flight; packed: every entry on the free list). @p rgn holds
 * vdmi_ift_queue_bytes() bytes. */
void vdmi_ift_format(void *rgn, uint16_t qsize, int packed);

/*
 * Track queue @p vq (initialised, nothing popped yet) in region @p rgn of
 * @p dnum entries: validate it (a hostile front-end wrote it), recover it
 * after a back-end crash as the text's "When reconnecting" steps say, set
 * the queue's ring positions from it (split: avail = the used ring's idx
 * plus the requests in flight; packed: the region's used position plus
 * their descriptors) and queue those requests for resubmission, in counter
 * order, before any new one. A region of version 0 is formatted first.
 * 0; VDM_EINVAL (malformed region: the queue is left untracked and as it
 * was); VDM_ESTATE (queue not initialised or with chains popped).
 */
int vdmi_vq_ift_attach(struct vdm_vq *vq, void *rgn, uint16_t dnum);

/* Requests the last attach queued for resubmission and not yet popped. */
uint32_t vdmi_vq_ift_resubmits(const struct vdm_vq *vq);

#endif
