/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * M-profile (ARMv6-M and ARMv7-M) vector table: the initial stack pointer,
 * then the fifteen system exception vectors. The core loads SP and PC from
 * here at reset (VTOR resets to 0, where link.ld puts this table). No
 * external interrupt is enabled, so the table stops before them. Every
 * exception other than reset reports its number (IPSR) and fails the run.
 */
#include <stdint.h>

#include "bm.h"

extern uint32_t _estack[];

static void on_exception(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    bm_exception(ipsr & 0x1ffu);
}

typedef void (*vector)(void);

__attribute__((section(".isr_vector"),
               used)) static const vector vectors[16] = {
    (vector)(uintptr_t)_estack, /* initial SP */
    bm_start,                   /* 1 reset */
    on_exception,               /* 2 NMI */
    on_exception,               /* 3 HardFault */
    on_exception,               /* 4 MemManage (v7-M) */
    on_exception,               /* 5 BusFault (v7-M) */
    on_exception,               /* 6 UsageFault (v7-M) */
    0,
    0,
    0,
    0,
    on_exception, /* 11 SVCall */
    on_exception, /* 12 DebugMonitor (v7-M) */
    0,
    on_exception, /* 14 PendSV */
    on_exception, /* 15 SysTick */
};
