/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz input reading and invariant checks shared by every vdm fuzz target.
 *
 * A target reads its input as a stream of small integers with fz_u8() and
 * friends; reading past the end yields zeros and sets fz->done, so a target
 * simply loops "while (!fz_done(&fz))". FZ_CHECK() is the oracle: when an
 * invariant the library promises does not hold, it prints where and why and
 * aborts, which libFuzzer (and the standalone replayer) report as a crash.
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_FUZZ_UTIL_H
#define VDM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** @brief The remaining input. */
struct fz {
    const uint8_t *p; /**< Next unread byte. */
    size_t n;         /**< Bytes left. */
    int done;         /**< A read went past the end. */
};

static inline void fz_init(struct fz *f, const uint8_t *p, size_t n)
{
    f->p = p;
    f->n = n;
    f->done = 0;
}

static inline int fz_done(const struct fz *f)
{
    return f->done || f->n == 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
    if (f->n == 0) {
        f->done = 1;
        return 0;
    }
    f->n--;
    return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
    uint16_t v = fz_u8(f);
    return (uint16_t)(v | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
    uint32_t v = fz_u16(f);
    return v | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
    uint64_t v = fz_u32(f);
    return v | (uint64_t)fz_u32(f) << 32;
}

/** @brief Copy up to @p n bytes; the rest of @p dst is zeroed. */
static inline size_t fz_bytes(struct fz *f, void *dst, size_t n)
{
    size_t k = n < f->n ? n : f->n;
    memcpy(dst, f->p, k);
    memset((uint8_t *)dst + k, 0, n - k);
    f->p += k;
    f->n -= k;
    if (k < n)
        f->done = 1;
    return k;
}

/** @brief A value in [0, n) (n > 0) from one byte (two when n > 256). */
static inline uint32_t fz_pick(struct fz *f, uint32_t n)
{
    if (n <= 256)
        return fz_u8(f) % n;
    return fz_u16(f) % n;
}

/** @brief Little-endian byte emitters for generators (see gen_corpus.c). */
struct fz_out {
    uint8_t buf[65536]; /**< The input being built. */
    size_t n;           /**< Bytes used. */
};

static inline void fo_u8(struct fz_out *o, uint32_t v)
{
    if (o->n < sizeof(o->buf))
        o->buf[o->n++] = (uint8_t)v;
}

static inline void fo_u16(struct fz_out *o, uint32_t v)
{
    fo_u8(o, v & 0xff);
    fo_u8(o, (v >> 8) & 0xff);
}

static inline void fo_u32(struct fz_out *o, uint32_t v)
{
    fo_u16(o, v & 0xffff);
    fo_u16(o, v >> 16);
}

static inline void fo_u64(struct fz_out *o, uint64_t v)
{
    fo_u32(o, (uint32_t)v);
    fo_u32(o, (uint32_t)(v >> 32));
}

static inline void fo_bytes(struct fz_out *o, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fo_u8(o, ((const uint8_t *)p)[i]);
}

/** @brief Report a broken library invariant and abort (a fuzzer finding). */
#define FZ_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FUZZ INVARIANT FAILED at %s:%d: %s\n  ",          \
                    __FILE__, __LINE__, #cond);                                \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/** @brief Verbose per-input summary when FUZZ_VERBOSE is set (replayer). */
int fz_verbose(void);
/** @brief Operation trace when FUZZ_TRACE is set. */
int fz_trace(void);

#endif
