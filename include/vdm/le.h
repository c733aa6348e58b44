/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file le.h
 * @brief The one place guest-visible little-endian fields are converted
 *        (device requests, config images).
 *
 * Byte-wise loads and stores work on any host endianness and alignment;
 * compilers fold them into single moves on little-endian targets.
 */
#ifndef VDM_PUBLIC_LE_H
#define VDM_PUBLIC_LE_H

#include <stdint.h>

/** @brief Load a little-endian 16-bit value. */
static inline uint16_t vdm_le16(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint16_t)(b[0] | (b[1] << 8));
}

/** @brief Load a little-endian 32-bit value. */
static inline uint32_t vdm_le32(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

/** @brief Load a little-endian 64-bit value. */
static inline uint64_t vdm_le64(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint64_t)vdm_le32(b) | ((uint64_t)vdm_le32(b + 4) << 32);
}

/** @brief Store a 16-bit value little-endian. */
static inline void vdm_put_le16(void *p, uint16_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

/** @brief Store a 32-bit value little-endian. */
static inline void vdm_put_le32(void *p, uint32_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/** @brief Store a 64-bit value little-endian. */
static inline void vdm_put_le64(void *p, uint64_t v)
{
    vdm_put_le32(p, (uint32_t)v);
    vdm_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
