/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user as a process: this test plays the front-end over the real
 * socket (the shared front-end tests/driver/vu_front.h; memfd guest memory,
 * eventfd kicks and calls, the driver simulator's split rings), serves rng,
 * blk, input, i2c (simulated EEPROM and LM75) and gpio (simulated lines)
 * requests, rpmb (program key, authenticated write and read, tampering, and
 * a restart keeping key and counter), spi (a simulated NOR flash: JEDEC
 * id, page program, read back, sector erase, a restart), and feeds the daemon
 * garbage: random bytes, truncated and oversized messages, too many fds, memory
 * beyond its file, a memory file that shrinks under the daemon, a front-end
 * that stalls mid-message. After each, the daemon must still be running, must
 * not have leaked file descriptors, and must serve the next front-end. Also
 * blk's null backend and the vhost-user backend program conventions
 * (--print-capabilities JSON, vdm-vhost-user-blk on a handed-over listening
 * or connected --fd, SIGTERM: requests submitted just before it complete and
 * the program exits within a second). vfio-user (--vfio-user PATH, next
 * to a vhost-user socket in one process): VERSION, DEVICE_GET_INFO, the
 * PCI ids read from configuration space, a DMA map's lifetime, hostile
 * clients dropped without leaks. Usage:
 * test_vhost_user_daemon PATH-TO-vdm-vhost-user
 *
 * This file is the runner: the harness is test_daemon_lib.c (test_daemon.h),
 * the cases, by device or subject, are in test_daemon_*.c. */
#include "test_daemon.h"

int main(int argc, char **argv)
{
    Suite *s;
    SRunner *sr;
    int failed;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-vdm-vhost-user\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    strcpy(top_dir, "/tmp/vdm-vu-test.XXXXXX");
    if (mkdtemp(top_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    s = suite_create("vhost_user_daemon");
    /* One case per test, so CK_RUN_CASE=NAME runs one; by file. */
    td_add_rng_blk_input(s);
    td_add_i2c_gpio(s);
    td_add_can(s);
    td_add_console(s);
    td_add_robust(s);
    td_add_programs(s);
    td_add_evdev(s);
    td_add_rpmb(s);
    td_add_spi(s);
    td_add_scmi(s);
    td_add_gpu(s);
    td_add_balloon(s);
    td_add_vfio_user(s);
    td_add_sound(s);
    td_add_inflight(s);
    td_add_dirty(s);
    td_add_blk_aio(s);
    td_add_drain(s);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", top_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", top_dir);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
