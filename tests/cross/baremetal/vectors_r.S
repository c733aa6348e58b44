/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cortex-R52 (ARMv8-R AArch32) exception vectors and reset. The core leaves
 * reset at EL2 (Hyp mode), which is where a hypervisor (vdm's user) runs,
 * so the image stays there: HVBAR points at the table below (32-byte
 * aligned, A32 code: HSCTLR.TE is 0 out of reset). Only core 0 runs the
 * test; any other core parks. Every exception fails the run with its
 * vector number (offset / 4). The MPU stays off: EL2 then uses the default
 * memory map, in which the DDR the image lives in is Normal memory.
 */
    .syntax unified
    .arm
    .section .vectors, "ax", %progbits
    .balign 32
    .global bm_vectors
bm_vectors:
    b       reset          /* 0x00 reset */
    b       exc1           /* 0x04 undefined instruction */
    b       exc2           /* 0x08 hypervisor call (HVC, SVC at EL2) */
    b       exc3           /* 0x0c prefetch abort */
    b       exc4           /* 0x10 data abort */
    b       exc5           /* 0x14 hyp trap */
    b       exc6           /* 0x18 IRQ */
    b       exc7           /* 0x1c FIQ */

reset:
    mrc     p15, 0, r0, c0, c0, 5   /* MPIDR */
    ands    r0, r0, #0xff           /* Aff0: core number */
    bne     park
    ldr     r0, =bm_vectors
    mcr     p15, 4, r0, c12, c0, 0  /* HVBAR */
    isb
    ldr     sp, =_estack
    ldr     r0, =bm_start
    bx      r0                      /* C code may be Thumb */
park:
    wfi
    b       park

    .macro exc n
exc\n:
    ldr     sp, =_estack
    mov     r0, #\n
    ldr     r1, =bm_exception
    bx      r1
    .endm
    exc 1
    exc 2
    exc 3
    exc 4
    exc 5
    exc 6
    exc 7
    .ltorg
