/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entry point for running the very same bare-metal objects under
 * qemu-arm (Linux user-mode emulation) as a smoke test: call main() and
 * leave through the Linux EABI exit system call with its return value.
 * The library and main.o are byte-for-byte the ones of the bare-metal
 * image; only this file replaces startup.c and link.ld.
 */
int main(void);
void _start(void);

__attribute__((noreturn)) static void sys_exit(int code)
{
    register int r0 __asm__("r0") = code;
    register int r7 __asm__("r7") = 1; /* __NR_exit */
    __asm__ volatile("svc #0" : : "r"(r0), "r"(r7) : "memory");
    for (;;)
        ;
}

void _start(void)
{
    sys_exit(main());
}
