/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up and semihosting for the bare-metal images, common to every core:
 * the vector tables (vectors_m.c for M-profile, vectors_r.S for the
 * Cortex-R52) set up a stack and come to bm_start().
 *
 * Semihosting (Arm "Semihosting for AArch32 and AArch64"): operation in r0,
 * parameter in r1, result in r0, trapped by BKPT 0xAB on M-profile and by
 * HLT (A32 0xF000, T32 0x3C) on A- and R-profile cores. HLT rather than
 * SVC because the R52 image runs at EL2 (Hyp mode), where an SVC would be
 * a Hyp trap; QEMU takes the HLT form at every exception level.
 */
#include <stdint.h>

#include "bm.h"

#define SYS_WRITE0           0x04u
#define SYS_EXIT             0x18u
#define SYS_EXIT_EXTENDED    0x20u
#define ADP_APPLICATION_EXIT 0x20026u

int main(void);

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
#elif defined(__thumb__)
    __asm__ volatile("hlt 0x3c" : "+r"(r0) : "r"(r1) : "memory");
#else
    __asm__ volatile("hlt 0xf000" : "+r"(r0) : "r"(r1) : "memory");
#endif
    return r0;
}

void bm_puts(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void bm_putu(unsigned long v)
{
    char buf[12];
    unsigned i = sizeof(buf) - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u && i > 0u);
    bm_puts(&buf[i]);
}

void bm_exit(int code)
{
    /* On AArch32 only the EXTENDED call carries a status: a parameter block
     * of reason and subcode. */
    const uint32_t block[2] = {ADP_APPLICATION_EXIT, (uint32_t)code};
    semihost(SYS_EXIT_EXTENDED, block);
    /* A debugger without it: plain exit (status 0 or 1 only). */
    semihost(
        SYS_EXIT,
        (const void *)(uintptr_t)(code == 0 ? ADP_APPLICATION_EXIT : 0x20023u));
    for (;;)
        __asm__ volatile("wfi");
}

void bm_exception(unsigned n)
{
    bm_puts("vdm-bm: FAIL: exception ");
    bm_putu(n);
    bm_puts("\n");
    bm_exit(128 + (int)n);
}

void bm_start(void)
{
    uint32_t *s = _sidata, *d = _sdata;
    while (d < _edata)
        *d++ = *s++;
    for (d = _sbss; d < _ebss; d++)
        *d = 0;
    bm_exit(main());
}
