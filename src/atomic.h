/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: memory ordering over the __atomic builtins, the only place the
 * library states barriers. Ring index fields shared with the driver are
 * naturally aligned 16-bit little-endian words: on big-endian hosts the
 * value is byte-swapped after an atomic 16-bit load. */
#ifndef VDM_ATOMIC_H
#define VDM_ATOMIC_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VDM_HOST_BE 1
static inline uint16_t vdm_bswap16(uint16_t v)
{
    return (uint16_t)((v >> 8) | (v << 8));
}
#define VDM_FROM_LE16(v) vdm_bswap16(v)
#define VDM_TO_LE16(v)   vdm_bswap16(v)
#else
#define VDM_HOST_BE      0
#define VDM_FROM_LE16(v) (v)
#define VDM_TO_LE16(v)   (v)
#endif

/* Acquire load of a guest-shared le16 (avail idx, packed flags). */
static inline uint16_t vdm_load_acquire_le16(const volatile void *p)
{
    uint16_t v =
        __atomic_load_n((const volatile uint16_t *)p, __ATOMIC_ACQUIRE);
    return VDM_FROM_LE16(v);
}

/* Relaxed (single, untorn) load of a guest-shared le16. */
static inline uint16_t vdm_load_le16(const volatile void *p)
{
    uint16_t v =
        __atomic_load_n((const volatile uint16_t *)p, __ATOMIC_RELAXED);
    return VDM_FROM_LE16(v);
}

/* Release store of a guest-shared le16 (used idx, packed flags). */
static inline void vdm_store_release_le16(volatile void *p, uint16_t v)
{
    __atomic_store_n((volatile uint16_t *)p, VDM_TO_LE16(v), __ATOMIC_RELEASE);
}

/* Relaxed store of a guest-shared le16. */
static inline void vdm_store_le16(volatile void *p, uint16_t v)
{
    __atomic_store_n((volatile uint16_t *)p, VDM_TO_LE16(v), __ATOMIC_RELAXED);
}

/* Full barrier: orders a store before a later load (event idx checks). */
static inline void vdm_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
/* Read barrier: descriptors after the index that published them. */
static inline void vdm_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
/* Write barrier: buffer contents before the index that publishes them. */
static inline void vdm_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/* OR @p mask into a byte another thread may change (a dirty log bit),
 * release ordering: writes before it are visible before the bit. Targets
 * without byte-wide atomic read-modify-write (ARMv6-M) get a plain load
 * and store: a library there has no concurrent log reader to race. */
static inline void vdm_atomic_or8(volatile uint8_t *p, uint8_t mask)
{
#if defined(__GCC_ATOMIC_CHAR_LOCK_FREE) && __GCC_ATOMIC_CHAR_LOCK_FREE == 2
    (void)__atomic_fetch_or(p, mask, __ATOMIC_RELEASE);
#else
    __atomic_thread_fence(__ATOMIC_RELEASE);
    *p = (uint8_t)(*p | mask);
#endif
}

/* AND @p mask into such a byte; the old value (read-and-clear of log
 * bits). Same fallback as vdm_atomic_or8(). */
static inline uint8_t vdm_atomic_and8(volatile uint8_t *p, uint8_t mask)
{
#if defined(__GCC_ATOMIC_CHAR_LOCK_FREE) && __GCC_ATOMIC_CHAR_LOCK_FREE == 2
    return __atomic_fetch_and(p, mask, __ATOMIC_ACQ_REL);
#else
    uint8_t old = *p;
    *p = (uint8_t)(old & mask);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return old;
#endif
}

/* Relaxed load of a byte another thread may change. */
static inline uint8_t vdm_load8(const volatile uint8_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#endif
