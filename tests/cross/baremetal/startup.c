/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Minimal Cortex-M start-up for the bare-metal image (link.ld): the vector
 * table, a reset handler that sets up .data and .bss and calls main(), and
 * a default handler for every fault. No C library, no heap.
 */
#include <stdint.h>

int main(void);
void Reset_Handler(void);
void Default_Handler(void);

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

/** main()'s return value, for a debugger (0: the smoke run passed). */
volatile int vdm_bm_result = -1;

void Default_Handler(void)
{
    for (;;)
        __asm__ volatile("bkpt #0");
}

void Reset_Handler(void)
{
    uint32_t *s = _sidata, *d = _sdata;
    while (d < _edata)
        *d++ = *s++;
    for (d = _sbss; d < _ebss; d++)
        *d = 0;
    vdm_bm_result = main();
    for (;;)
        __asm__ volatile("wfi");
}

/* Initial stack pointer, reset, NMI, HardFault, MemManage, BusFault,
 * UsageFault (ARMv7-M vector table). */
__attribute__((section(".isr_vector"),
               used)) static void (*const vectors[])(void) = {
    (void (*)(void))(uintptr_t)_estack,
    Reset_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
};
