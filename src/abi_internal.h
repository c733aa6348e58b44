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
#include "vdm/config.h"
#if VDM_CONFIG_LOG_TEXT
#include "vdm/device.h" /* vdm_dev_log(), vdm_dev_needs_reset() */
#endif

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

/* Status bits saying the driver brought the device up: DRIVER_OK, or
 * SUSPEND, which stands in for it while the device is suspended (spec
 * "Device Suspend"). A device type's state_restore hook accepts state only
 * the driver's requests make when one of them is set. */
#define VDMI_STATUS_RAN (VDM_STATUS_DRIVER_OK | VDM_STATUS_SUSPEND)

/* Log messages (vdm/config.h VDM_CONFIG_LOG_TEXT). Library code writes
 * every message as VDM_MSG("text") and passes it around as a vdm_msg:
 * with the texts built in, that is the text; without them, it is the event
 * code VDM_LOG_FILE << 12 | __LINE__ (each source file that logs defines
 * VDM_LOG_FILE, a number 1-15 unique in the library; scripts/log-event
 * maps a code back to the file and line), and the text is not in the image.
 * 16 bits: one 32-bit Thumb-2 instruction loads it, where a text costs a
 * literal-pool word and its bytes.
 * VDM_LOG_HOOK calls a host log hook either way: the text with a plain
 * level, or a NULL text with the code in the level's upper bits
 * (VDM_LOG_EVENT()). */
#if VDM_CONFIG_LOG_TEXT
typedef const char *vdm_msg;
#define VDM_MSG(text)                    (text)
#define VDM_LOG_HOOK(fn, host, level, m) (fn)((host), (level), (m))
#else
typedef uint32_t vdm_msg;
#define VDM_MSG(text)                                                          \
    (((uint32_t)VDM_LOG_FILE << 12) | ((uint32_t)__LINE__ & 0xfffu))
#define VDM_LOG_HOOK(fn, host, level, m)                                       \
    (fn)((host), (int)((uint32_t)(level) | ((m) << 8)), NULL)
#endif

/* Inline at every call site, whatever the optimisation (the log wrappers:
 * a constant level folds there). */
#define VDMI_ALWAYS_INLINE inline __attribute__((always_inline))

/* Is a message of @p level built in (vdm/config.h VDM_CONFIG_LOG_LEVEL)?
 * The level is a constant at nearly every call: a message above the level
 * built in folds away with its call. */
#define VDM_LOG_ON(level) ((int)(level) <= (int)VDM_CONFIG_LOG_LEVEL)
_Static_assert((VDM_CONFIG_LOG_LEVEL >= VDM_LOG_ERROR) &&
                   (VDM_CONFIG_LOG_LEVEL <= VDM_LOG_DEBUG),
               "VDM_CONFIG_LOG_LEVEL is 0 (errors) to 3 (debug)");

/* The device core's log and fault entry points for library code: a vdm_msg
 * instead of vdm_dev_log()'s and vdm_dev_needs_reset()'s text. */
struct vdm_dev;
#if VDM_CONFIG_LOG_TEXT
#define vdmi_dev_log_emit    vdm_dev_log
#define vdmi_dev_needs_reset vdm_dev_needs_reset
#else
void vdmi_dev_log_emit(const struct vdm_dev *d, int level, vdm_msg msg);
void vdmi_dev_needs_reset(struct vdm_dev *d, int err, vdm_msg why);
#endif

/* Log @p msg at @p level through the device's host log hook, if the level
 * is built in. */
static VDMI_ALWAYS_INLINE void vdmi_dev_log(const struct vdm_dev *d,
                                            int level, vdm_msg msg)
{
    if (VDM_LOG_ON(level)) {
        vdmi_dev_log_emit(d, level, msg);
    }
}

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
