/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-256 as FIPS 180-4 section 6.2 describes it (preprocessing 5.1.1 and
 * 5.2.1, initial hash value 5.3.3, functions 4.1.2, constants 4.2.2), and
 * HMAC over it as FIPS 198-1 section 4 describes it. No table is mutable;
 * the message schedule lives on the stack. */
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t k256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
    0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
    0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
    0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
    0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
    0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
    0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
    0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

/* FIPS 180-4 5.3.3: H(0). */
static const uint32_t h0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u,
                               0xa54ff53au, 0x510e527fu, 0x9b05688cu,
                               0x1f83d9abu, 0x5be0cd19u};

/* ROTR^n(x), 0 < n < 32 (FIPS 180-4 3.2). */
static uint32_t rotr(uint32_t x, uint32_t n)
{
    return (x >> n) | (x << (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: process one 512-bit block M(i). */
static void compress(uint32_t h[8], const uint8_t *m)
{
    uint32_t w[64];
    uint32_t a = h[0];
    uint32_t b = h[1];
    uint32_t c = h[2];
    uint32_t d = h[3];
    uint32_t e = h[4];
    uint32_t f = h[5];
    uint32_t g = h[6];
    uint32_t hh = h[7];
    uint32_t t;

    /* 1. The message schedule. */
    for (t = 0u; t < 16u; t++) {
        w[t] = load_be32(&m[t * 4u]);
    }
    for (t = 16u; t < 64u; t++) {
        uint32_t s0 =
            rotr(w[t - 15u], 7u) ^ rotr(w[t - 15u], 18u) ^ (w[t - 15u] >> 3);
        uint32_t s1 =
            rotr(w[t - 2u], 17u) ^ rotr(w[t - 2u], 19u) ^ (w[t - 2u] >> 10);
        w[t] = s1 + w[t - 7u] + s0 + w[t - 16u];
    }
    /* 3. The 64 rounds: T1 = h + SIGMA1(e) + Ch(e,f,g) + K + W,
     *    T2 = SIGMA0(a) + Maj(a,b,c). */
    for (t = 0u; t < 64u; t++) {
        uint32_t big1 = rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u);
        uint32_t ch = (e & f) ^ ((~e) & g);
        uint32_t t1 = hh + big1 + ch + k256[t] + w[t];
        uint32_t big0 = rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big0 + maj;

        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    /* 4. H(i) = H(i-1) + the working variables. */
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void vdm_sha256_init(struct vdm_sha256 *c)
{
    uint32_t i;

    for (i = 0u; i < 8u; i++) {
        c->h[i] = h0[i];
    }
    c->len = 0u;
    c->nbuf = 0u;
    __builtin_memset(c->buf, 0, sizeof(c->buf));
}

void vdm_sha256_update(struct vdm_sha256 *c, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t left = n;

    c->len += (uint64_t)n;
    if (c->nbuf != 0u) {
        size_t take = (size_t)(VDM_SHA256_BLOCK - c->nbuf);

        if (take > left) {
            take = left;
        }
        __builtin_memcpy(&c->buf[c->nbuf], p, take);
        c->nbuf += (uint32_t)take;
        p = &p[take];
        left -= take;
        if (c->nbuf == VDM_SHA256_BLOCK) {
            compress(c->h, c->buf);
            c->nbuf = 0u;
        }
    }
    while (left >= (size_t)VDM_SHA256_BLOCK) {
        compress(c->h, p);
        p = &p[VDM_SHA256_BLOCK];
        left -= (size_t)VDM_SHA256_BLOCK;
    }
    if (left != 0u) {
        __builtin_memcpy(c->buf, p, left);
        c->nbuf = (uint32_t)left;
    }
}

/* FIPS 180-4 5.1.1: append the bit "1", zeros up to 448 mod 512 bits, and
 * the message length in bits as a 64-bit big-endian number. */
void vdm_sha256_final(struct vdm_sha256 *c, uint8_t out[VDM_SHA256_BYTES])
{
    uint64_t bits = c->len * 8u;
    uint32_t i;

    c->buf[c->nbuf] = 0x80u;
    c->nbuf++;
    if (c->nbuf > (VDM_SHA256_BLOCK - 8u)) {
        __builtin_memset(&c->buf[c->nbuf], 0, VDM_SHA256_BLOCK - c->nbuf);
        compress(c->h, c->buf);
        c->nbuf = 0u;
    }
    __builtin_memset(&c->buf[c->nbuf], 0, (VDM_SHA256_BLOCK - 8u) - c->nbuf);
    store_be32(&c->buf[56], (uint32_t)(bits >> 32));
    store_be32(&c->buf[60], (uint32_t)bits);
    compress(c->h, c->buf);
    for (i = 0u; i < 8u; i++) {
        store_be32(&out[i * 4u], c->h[i]);
    }
    vdm_wipe(c, sizeof(*c));
}

/* FIPS 198-1 section 4: K0 is the key (hashed first when longer than the
 * block) padded with zeros to the block size; MAC = H((K0 ^ opad) ||
 * H((K0 ^ ipad) || text)). */
void vdm_hmac_sha256_init(struct vdm_hmac_sha256 *h, const void *key,
                          size_t keylen)
{
    uint8_t k0[VDM_SHA256_BLOCK];
    uint8_t pad[VDM_SHA256_BLOCK];
    uint32_t i;

    __builtin_memset(k0, 0, sizeof(k0));
    if (keylen > (size_t)VDM_SHA256_BLOCK) {
        vdm_sha256_init(&h->inner);
        vdm_sha256_update(&h->inner, key, keylen);
        vdm_sha256_final(&h->inner, k0);
    } else if (keylen != 0u) {
        __builtin_memcpy(k0, key, keylen);
    } else {
        /* empty key: K0 is all zeros */
    }
    for (i = 0u; i < VDM_SHA256_BLOCK; i++) {
        pad[i] = (uint8_t)(k0[i] ^ 0x36u);
    }
    vdm_sha256_init(&h->inner);
    vdm_sha256_update(&h->inner, pad, sizeof(pad));
    for (i = 0u; i < VDM_SHA256_BLOCK; i++) {
        pad[i] = (uint8_t)(k0[i] ^ 0x5cu);
    }
    vdm_sha256_init(&h->outer);
    vdm_sha256_update(&h->outer, pad, sizeof(pad));
    vdm_wipe(k0, sizeof(k0));
    vdm_wipe(pad, sizeof(pad));
}

void vdm_hmac_sha256_update(struct vdm_hmac_sha256 *h, const void *data,
                            size_t n)
{
    vdm_sha256_update(&h->inner, data, n);
}

void vdm_hmac_sha256_final(struct vdm_hmac_sha256 *h,
                           uint8_t out[VDM_SHA256_BYTES])
{
    uint8_t ih[VDM_SHA256_BYTES];

    vdm_sha256_final(&h->inner, ih);
    vdm_sha256_update(&h->outer, ih, sizeof(ih));
    vdm_sha256_final(&h->outer, out);
    vdm_wipe(ih, sizeof(ih));
}

int vdm_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint32_t diff = 0u;
    size_t i;

    for (i = 0u; i < n; i++) {
        diff |= (uint32_t)x[i] ^ (uint32_t)y[i];
    }
    return (diff == 0u) ? 1 : 0;
}

void vdm_wipe(void *p, size_t n)
{
    volatile uint8_t *q = (volatile uint8_t *)p;
    size_t i;

    for (i = 0u; i < n; i++) {
        q[i] = 0u;
    }
}
