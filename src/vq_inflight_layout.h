/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the layout of one queue's vhost-user inflight region, for
 * src/virtqueue_inflight.c (tracking) and src/virtqueue_packed.c (a
 * packed resubmission walked from its record). Not installed.
 */
#ifndef VDM_VQ_INFLIGHT_LAYOUT_H
#define VDM_VQ_INFLIGHT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "virtqueue_internal.h"

/*
 * The vhost-user inflight region of one queue ("Inflight I/O tracking"),
 * native byte order (front-end and back-end share the host). Split:
 * QueueRegionSplit {u64 features; u16 version, desc_num, last_batch_head,
 * used_idx;} then DescStateSplit {u8 inflight; u8 padding[5]; u16 next;
 * u64 counter;}[desc_num]. Packed: QueueRegionPacked {u64 features; u16
 * version, desc_num, free_head, old_free_head, used_idx, old_used_idx; u8
 * used_wrap_counter, old_used_wrap_counter; u8 padding[7];} (32 bytes with
 * the alignment of the array) then DescStatePacked {u8 inflight; u8
 * padding; u16 next, last, num; u64 counter; u16 id, flags; u32 len; u64
 * addr;}[desc_num].
 */
#define IFT_VERSION  8u
#define IFT_DESC_NUM 10u
#define IFS_LBH      12u /* split: last_batch_head */
#define IFS_USED     14u /* split: used_idx */
#define IFS_HDR      16u
#define IFS_ENT      16u
#define IFS_E_INF    0u
#define IFS_E_NEXT   6u
#define IFS_E_CNT    8u
#define IFP_FREE     12u /* packed: free_head */
#define IFP_OFREE    14u
#define IFP_USED     16u
#define IFP_OUSED    18u
#define IFP_WRAP     20u
#define IFP_OWRAP    21u
#define IFP_HDR      32u
#define IFP_ENT      32u
#define IFP_E_INF    0u
#define IFP_E_NEXT   2u
#define IFP_E_LAST   4u
#define IFP_E_NUM    6u
#define IFP_E_CNT    8u
#define IFP_E_ID     16u
#define IFP_E_FLAGS  18u
#define IFP_E_LEN    20u
#define IFP_E_ADDR   24u

static inline uint16_t ift_rd16(const uint8_t *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}
static inline uint32_t ift_rd32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint64_t ift_rd64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}
static inline void ift_wr16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, 2);
}
static inline void ift_wr32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}
static inline void ift_wr64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, 8);
}
/* Entry @p i of a packed region. */
static inline uint8_t *ifp_ent(const struct vq *q, uint32_t i)
{
    return q->ift + IFP_HDR + (size_t)i * IFP_ENT;
}

#endif
