/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the device kit's state (src/kit.c) and the request-path helpers
 * device types inside the library use inline (tokens, lookups): the public
 * vdm_kit_token()/vdm_kit_lookup()/vdm_kit_req_live() are these, behind a
 * call.
 */
#ifndef VDM_KIT_INTERNAL_H
#define VDM_KIT_INTERNAL_H

#include "vdm/kit.h"

#define KIT_MAGIC 0x6b69744bu /* "Ktik" */
#define NONE      UINT32_MAX

/* Tokens: slot index in the low bits, sequence number above. */
#define TOKEN_SHIFT    26
#define TOKEN_IDX_MASK ((((uintptr_t)1) << TOKEN_SHIFT) - (uintptr_t)1)
#define TOKEN_SEQ_MASK (UINTPTR_MAX >> TOKEN_SHIFT)

#define DEFAULT_BUDGET 256u

#define WARN_TRUNCATED 1u /* chain with more spans than a slot holds */
#define WARN_NOSTATUS  2u /* ... and no room for its error status */
#define WARN_PUSH      4u /* push failed */

enum { SLOT_FREE = 0, SLOT_ACTIVE = 1, SLOT_ZOMBIE = 2 };

/* A queue's bookkeeping slot. */
struct kit_queue {
    uint32_t free_head; /* slot index, NONE when all are taken */
    uint32_t nactive;   /* slots ACTIVE */
    uint32_t nzombie;   /* slots ZOMBIE */
    uint32_t gen;       /* bumped by every reset of the queue */
    uint32_t npushed;   /* pushed during the running pass */
    uint8_t busy;       /* a pass is running */
    uint8_t stalled;    /* the last pass stopped for want of a slot */
    uint8_t reserved[2];
};

_Static_assert(sizeof(struct kit_queue) <= sizeof(struct vdm_kit_req),
               "queue bookkeeping must fit a slot");
_Static_assert(sizeof(struct kit_queue) <=
                   (size_t)offsetof(struct vdm_kit_req, reserved1),
               "queue bookkeeping must leave a slot's reserved1 alone");

struct kit {
    uint32_t magic;
    uint16_t nq;
    uint16_t nqdesc;
    struct vdm_dev *dev;
    const struct vdm_kit_queue *qd;
    void *ctx;
    unsigned char *slots;
    struct vdm_iov *iovs;
    uint32_t stride;
    uint32_t per_q;
    uint32_t iov_per_req;
    uint32_t budget;
    uint32_t warned;
    uint32_t nslots; /* nq * (per_q + 1) */
};

_Static_assert(sizeof(struct kit) <= (size_t)VDM_KIT_SIZE,
               "VDM_KIT_SIZE too small for struct kit");
_Static_assert((size_t)alignof(struct kit) <= (size_t)alignof(struct vdm_kit),
               "struct vdm_kit storage is under-aligned");

static inline struct kit *kit_of(struct vdm_kit *k)
{
    struct kit *s;

    if (k == NULL)
        return NULL;
    s = (struct kit *)(void *)k->opaque;
    return (s->magic == KIT_MAGIC) ? s : NULL;
}

static inline const struct kit *ckit_of(const struct vdm_kit *k)
{
    const struct kit *s;

    if (k == NULL)
        return NULL;
    s = (const struct kit *)(const void *)k->opaque;
    return (s->magic == KIT_MAGIC) ? s : NULL;
}

static inline size_t per_block(const struct kit *s)
{
    return (size_t)s->per_q + 1u;
}

/* The state of an initialised kit (no magic check: the device owning it was
 * initialised). */
static inline const struct kit *vdmi_kit(const struct vdm_kit *k)
{
    return (const struct kit *)(const void *)k->opaque;
}

/* The token of request @p r: sequence number above the slot index (kept in
 * reserved1 by vdm_kit_init()). */
static inline uintptr_t vdmi_kit_token(const struct vdm_kit_req *r)
{
    return ((uintptr_t)r->seq << TOKEN_SHIFT) | (uintptr_t)r->reserved1;
}

/* The kit's integer token carried by the host's `void *token` (the device
 * types hand it over as a pointer). The only place the library converts a
 * void * to an integer: MISRA 11.6, deviated here (docs/misra.md D9); the
 * value is never dereferenced, vdm_kit_lookup() checks it. */
static inline uintptr_t vdmi_kit_token_of(const void *token)
{
    return (uintptr_t)token;
}

/* The request a token names if it is in flight, else NULL (src/kit.c:
 * one copy for the kit and the device types). */
struct vdm_kit_req *vdmi_kit_lookup(const struct kit *s, uintptr_t token);

static inline int vdmi_kit_req_live(const struct vdm_kit_req *r)
{
    return r->state == SLOT_ACTIVE;
}

#endif
