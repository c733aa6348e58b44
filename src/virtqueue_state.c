/* SPDX-License-Identifier: BSD-3-Clause */
/* Virtqueue, the position a save records (vdm/state.h): the ring position
 * before the chains in flight, so the restored device reads them again.
 *
 * Spec "Split Virtqueues" / "Packed Virtqueues": a chain the device has
 * read but not used still belongs to the device; the driver changes
 * neither its avail entry (split: the driver may reuse an avail entry only
 * for a new buffer, and at most queue-size buffers are outstanding) nor its
 * ring descriptors (packed: a descriptor slot returns to the driver only
 * when the device writes a used element over it, and used elements are
 * written at the used position, which never passes the oldest popped
 * descriptor still unread by the driver). Moving the device's read
 * position back over chains in flight is therefore exact when they are the
 * most recently popped chains: everything between the new position and the
 * old one is theirs, untouched. */
#include "vdm/state.h"

#include "virtqueue_internal.h"
#include "vq_state_internal.h"

/* The chains in flight must carry the last q->inflight pop sequence
 * numbers: pop_seq - inflight .. pop_seq - 1 (each distinct: fewer than
 * 2^16 chains are ever in flight). Their ring descriptors in *ndesc;
 * VDM_EBUSY when they are not the newest. */
static int newest_in_flight(const struct vq *q, uint32_t *ndesc)
{
    uint32_t i;
    uint32_t found = 0u;
    int rc = 0;

    *ndesc = 0u;
    for (i = 0u; (i < q->num) && (rc == 0); i++) {
        uint32_t meta = q->slots[VQ_SLOT_META(i)];

        if ((meta & VQ_META_INFLIGHT) != 0u) {
            uint32_t age = (uint32_t)(uint16_t)(q->pop_seq - VQ_META_SEQ(meta));
            if ((age == 0u) || (age > q->inflight)) {
                rc = VDM_EBUSY;
            }
            found++;
            *ndesc += VQ_META_NDESC(meta);
        }
    }
    if ((rc == 0) && (found != q->inflight)) {
        rc = VDM_EBUSY; /* slot words inconsistent: refuse to guess */
    }
    return rc;
}

int vdmi_vq_save_pos(const struct vdm_vq *vq, struct vdm_vq_state *out,
                     uint32_t *requeued)
{
    const struct vq *q;
    uint32_t ndesc = 0u;
    int rc = 0;

    if ((vq == NULL) || (out == NULL) || (requeued == NULL)) {
        return VDM_EINVAL;
    }
    q = vq_of_const(vq);
    if (q->magic != VQ_MAGIC) {
        return VDM_ESTATE;
    }
    out->last_avail_idx = q->last_avail;
    out->used_idx = q->used_idx;
    out->avail_wrap = ((q->flags & VQ_F_PACKED) != 0u) ? q->avail_wrap : 0u;
    out->used_wrap = ((q->flags & VQ_F_PACKED) != 0u) ? q->used_wrap : 0u;
    out->reserved = 0u;
    *requeued = q->inflight;
    if (q->inflight != 0u) {
        rc = newest_in_flight(q, &ndesc);
    }
    if ((rc != 0) || (q->inflight == 0u)) {
        /* busy, or nothing to move back over */
    } else if ((q->flags & VQ_F_PACKED) != 0u) {
        /* Back over the ring descriptors of those chains. */
        if (ndesc > q->num) {
            rc = VDM_EBUSY;
        } else if (ndesc <= q->last_avail) {
            out->last_avail_idx = (uint16_t)(q->last_avail - ndesc);
        } else {
            out->last_avail_idx =
                (uint16_t)((q->last_avail + (uint32_t)q->num) - ndesc);
            out->avail_wrap = (uint8_t)(out->avail_wrap ^ 1u);
        }
    } else {
        /* Split: one avail entry per chain, free-running index. */
        out->last_avail_idx = (uint16_t)(q->last_avail - q->inflight);
    }
    return rc;
}
