/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The four functions every freestanding GCC/Clang environment must provide
 * (libvdm.a needs nothing else), plus the ARM EABI run-time helpers GCC may
 * call for block moves and clears (RTABI "Memory copying, clearing and
 * setting"). Byte loops: small and obviously correct, not fast. Compiled
 * with -fno-builtin -fno-tree-loop-distribute-patterns so that GCC does not
 * turn these loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((uintptr_t)d - (uintptr_t)s >= n) { /* no harmful overlap: forward */
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

/* ARM EABI helpers. The numbered variants may assume aligned pointers; byte
 * loops are correct for any alignment. Note the argument order of
 * __aeabi_memset (dest, n, c). */
void __aeabi_memcpy(void *d, const void *s, size_t n);
void __aeabi_memcpy4(void *d, const void *s, size_t n);
void __aeabi_memcpy8(void *d, const void *s, size_t n);
void __aeabi_memmove(void *d, const void *s, size_t n);
void __aeabi_memmove4(void *d, const void *s, size_t n);
void __aeabi_memmove8(void *d, const void *s, size_t n);
void __aeabi_memset(void *d, size_t n, int c);
void __aeabi_memset4(void *d, size_t n, int c);
void __aeabi_memset8(void *d, size_t n, int c);
void __aeabi_memclr(void *d, size_t n);
void __aeabi_memclr4(void *d, size_t n);
void __aeabi_memclr8(void *d, size_t n);

void __aeabi_memcpy(void *d, const void *s, size_t n)
{
    memcpy(d, s, n);
}
void __aeabi_memcpy4(void *d, const void *s, size_t n)
{
    memcpy(d, s, n);
}
void __aeabi_memcpy8(void *d, const void *s, size_t n)
{
    memcpy(d, s, n);
}
void __aeabi_memmove(void *d, const void *s, size_t n)
{
    memmove(d, s, n);
}
void __aeabi_memmove4(void *d, const void *s, size_t n)
{
    memmove(d, s, n);
}
void __aeabi_memmove8(void *d, const void *s, size_t n)
{
    memmove(d, s, n);
}
void __aeabi_memset(void *d, size_t n, int c)
{
    memset(d, c, n);
}
void __aeabi_memset4(void *d, size_t n, int c)
{
    memset(d, c, n);
}
void __aeabi_memset8(void *d, size_t n, int c)
{
    memset(d, c, n);
}
void __aeabi_memclr(void *d, size_t n)
{
    memset(d, 0, n);
}
void __aeabi_memclr4(void *d, size_t n)
{
    memset(d, 0, n);
}
void __aeabi_memclr8(void *d, size_t n)
{
    memset(d, 0, n);
}
