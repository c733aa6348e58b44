/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file le.h
 * @brief The one place guest-visible little-endian fields are converted
 *        (device requests, config images).
 *
 * Any host endianness and alignment: on a little-endian host a plain move,
 * elsewhere byte-wise loads and stores (VDM_LE_NATIVE).
 */
#ifndef VDM_PUBLIC_LE_H
#define VDM_PUBLIC_LE_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&            \
    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
/**
 * @brief 1 on a little-endian host: the helpers below are plain (possibly
 *        unaligned) moves, which the compiler emits as one load or store
 *        where the target allows unaligned access and as byte moves where
 *        it does not; 0: byte-wise conversion.
 */
#define VDM_LE_NATIVE 1
#else
/** @brief 0: not a little-endian host (or not known to be one): byte-wise
 *         conversion. */
#define VDM_LE_NATIVE 0
#endif

/** @brief Load a little-endian 16-bit value. */
static inline uint16_t vdm_le16(const void *p)
{
#if VDM_LE_NATIVE
    uint16_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
#else
    const uint8_t *b = (const uint8_t *)p;
    return (uint16_t)(b[0] | (b[1] << 8));
#endif
}

/** @brief Load a little-endian 32-bit value. */
static inline uint32_t vdm_le32(const void *p)
{
#if VDM_LE_NATIVE
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
#else
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
#endif
}

/** @brief Load a little-endian 64-bit value. */
static inline uint64_t vdm_le64(const void *p)
{
#if VDM_LE_NATIVE
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
#else
    const uint8_t *b = (const uint8_t *)p;
    return (uint64_t)vdm_le32(b) | ((uint64_t)vdm_le32(b + 4) << 32);
#endif
}

/** @brief Store a 16-bit value little-endian. */
static inline void vdm_put_le16(void *p, uint16_t v)
{
#if VDM_LE_NATIVE
    __builtin_memcpy(p, &v, sizeof(v));
#else
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
#endif
}

/** @brief Store a 32-bit value little-endian. */
static inline void vdm_put_le32(void *p, uint32_t v)
{
#if VDM_LE_NATIVE
    __builtin_memcpy(p, &v, sizeof(v));
#else
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
#endif
}

/** @brief Store a 64-bit value little-endian. */
static inline void vdm_put_le64(void *p, uint64_t v)
{
#if VDM_LE_NATIVE
    __builtin_memcpy(p, &v, sizeof(v));
#else
    vdm_put_le32(p, (uint32_t)v);
    vdm_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
#endif
}

#endif
