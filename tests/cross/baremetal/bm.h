/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the bare-metal images' start-up code (crt.c) gives the smoke driver
 * (main.c): console output and the exit status, both through Arm
 * semihosting, which QEMU serves with
 * -semihosting-config enable=on,target=native.
 */
#ifndef VDM_BM_H
#define VDM_BM_H

/** Print a NUL-terminated string on the host console (SYS_WRITE0). */
void bm_puts(const char *s);
/** Print an unsigned number in decimal. */
void bm_putu(unsigned long v);
/** End the run with @p code as the emulator's exit status
 *  (SYS_EXIT_EXTENDED); never returns. */
__attribute__((noreturn)) void bm_exit(int code);
/** Entry from the reset vector with a valid stack: set up .data and .bss,
 *  run main(), exit with its value. */
__attribute__((noreturn)) void bm_start(void);
/** Report exception @p n (IPSR on M-profile, the vector offset / 4 on the
 *  R-profile) and exit with 128 + @p n. */
__attribute__((noreturn)) void bm_exception(unsigned n);

#endif
