/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104 / FIPS 198-1), freestanding
 * and allocation-free: the caller owns the context. Internal to the library
 * (not exported); used by the RPMB device for its frame MACs. */
#ifndef VDM_SHA256_H
#define VDM_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a SHA-256 digest. */
#define VDM_SHA256_BYTES 32u
/* Bytes of a SHA-256 message block. */
#define VDM_SHA256_BLOCK 64u

/* A running SHA-256 computation. */
struct vdm_sha256 {
    uint32_t h[8];                 /* intermediate hash value H(i) */
    uint64_t len;                  /* message bytes so far */
    uint32_t nbuf;                 /* bytes in buf */
    uint8_t buf[VDM_SHA256_BLOCK]; /* the incomplete block */
};

/* A running HMAC-SHA256 computation: the inner hash and the outer hash
 * already keyed (K0 ^ opad absorbed). */
struct vdm_hmac_sha256 {
    struct vdm_sha256 inner;
    struct vdm_sha256 outer;
};

void vdm_sha256_init(struct vdm_sha256 *c);
void vdm_sha256_update(struct vdm_sha256 *c, const void *data, size_t n);
void vdm_sha256_final(struct vdm_sha256 *c, uint8_t out[VDM_SHA256_BYTES]);

void vdm_hmac_sha256_init(struct vdm_hmac_sha256 *h, const void *key,
                          size_t keylen);
void vdm_hmac_sha256_update(struct vdm_hmac_sha256 *h, const void *data,
                            size_t n);
void vdm_hmac_sha256_final(struct vdm_hmac_sha256 *h,
                           uint8_t out[VDM_SHA256_BYTES]);

/* 1 when the @p n bytes at @p a and @p b are equal, else 0; the time taken
 * does not depend on where they differ (MAC comparison). */
int vdm_ct_equal(const void *a, const void *b, size_t n);

/* Overwrite @p n bytes at @p p with zeros (not optimised away). */
void vdm_wipe(void *p, size_t n);

#endif
