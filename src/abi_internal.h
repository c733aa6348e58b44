/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: helpers for the ABI conventions of DESIGN.md "Stable C ABI",
 * shared by src/, transports/ and devices/. Not exported (no VDM_API).
 *
 * - Caller-filled structs begin with `uint32_t size`; a shorter struct comes
 *   from an older caller and lacks the fields past its size.
 * - Library-owned objects are opaque storage holding a state struct whose
 *   first check is a magic number. */
#ifndef VDM_ABI_INTERNAL_H
#define VDM_ABI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vdm/common.h"

/* The ring-reset and notification-data feature bits as built
 * (vdm/config.h): 0 when the option is left out, so every test on them
 * folds to a constant and the code behind it is left out too. */
#if VDM_CONFIG_RING_RESET
#define VDMI_F_RING_RESET VDM_F_RING_RESET
#else
#define VDMI_F_RING_RESET 0ull
#endif
#if VDM_CONFIG_NOTIFICATION_DATA
#define VDMI_F_NOTIFICATION_DATA VDM_F_NOTIFICATION_DATA
#else
#define VDMI_F_NOTIFICATION_DATA 0ull
#endif

/* True when a struct of `sz` bytes holds `field` of `type`. */
#define VDM_SIZE_HAS(sz, type, field)                                          \
    ((sz) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* True when the size-prefixed caller struct `p` holds `field` of `type`. */
#define VDM_HAS(p, type, field) VDM_SIZE_HAS((p)->size, type, field)

/* A hook is present when the caller's table is given, long enough to hold it
 * (shorter tables come from older callers) and not NULL. */
#define VDM_HAS_HOOK(tbl, type, field)                                         \
    ((tbl) != NULL && VDM_HAS(tbl, type, field) && (tbl)->field != NULL)

/*
 * Copy the size-prefixed caller struct `src` (possibly from an older caller,
 * so possibly shorter than ours) into the full-size `dst` of `dst_size`
 * bytes: the fields the caller has are copied, the rest are zero, and
 * dst's size field is set to dst_size. VDM_ESIZE (dst untouched) when the
 * caller's size is below `min_size`, else 0.
 */
static inline int vdm_copy_sized(void *dst, size_t dst_size, const void *src,
                                 size_t min_size)
{
    uint32_t n;
    uint32_t sz = (uint32_t)dst_size;

    __builtin_memcpy(&n, src, sizeof(n));
    if (n < min_size)
        return VDM_ESIZE;
    __builtin_memset(dst, 0, dst_size);
    __builtin_memcpy(dst, src, n < dst_size ? (size_t)n : dst_size);
    __builtin_memcpy(dst, &sz, sizeof(sz));
    return 0;
}

/*
 * Define `sname` and `cname`, the accessors from the opaque storage of a
 * library-owned object (`pub` has `opaque[]`) to its state (`state` has
 * `uint32_t magic`): NULL for a NULL object or one whose magic is not
 * `mgc` (never initialised, or reset).
 */
#define VDM_OPAQUE_ACCESSORS(sname, cname, pub, state, mgc)                    \
    static struct state *sname(struct pub *o)                                  \
    {                                                                          \
        struct state *s;                                                       \
        if (o == NULL)                                                         \
            return NULL;                                                       \
        s = (struct state *)(void *)o->opaque;                                 \
        return s->magic == (mgc) ? s : NULL;                                   \
    }                                                                          \
    static const struct state *cname(const struct pub *o)                      \
    {                                                                          \
        const struct state *s;                                                 \
        if (o == NULL)                                                         \
            return NULL;                                                       \
        s = (const struct state *)(const void *)o->opaque;                     \
        return s->magic == (mgc) ? s : NULL;                                   \
    }

#endif /* VDM_ABI_INTERNAL_H */
