/* SPDX-License-Identifier: BSD-3-Clause */
/* The vdm-vhost-user daemon test's shared harness (test_daemon_lib.c): the
 * daemon processes, the front-end (the shared tests/driver/vu_front.h on the
 * socket, the driver simulator's split rings in a memfd the daemon maps
 * too), and what the case files (test_daemon_*.c) register with the one
 * suite that test_daemon.c runs. Include it first: it sets _GNU_SOURCE. */
#ifndef VDM_TEST_DAEMON_H
#define VDM_TEST_DAEMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drv.h"
#include "vdm/vhost_user.h"
#include "vdm/le.h"
#include "vu_front.h"

/* The daemon under test (argv[1]). */
extern const char *daemon_path;
/* Every daemon's files live under this directory, which main() removes at
 * the end, failed checks or not. */
extern char top_dir[64];

/* ------------------------------------------------------------------------ */
/* The daemon processes */

/* The multi-device daemon: rng, blk, input, i2c and gpio on five sockets. */
struct daemon {
    pid_t pid;
    char dir[96];
    char rng_sock[128], blk_sock[128], in_sock[128];
    char i2c_sock[128], gpio_sock[128];
    char pattern[128], disk[128], events[128];
    char eeprom[128], temp[128], gstate[128], gevents[128];
};

void start_daemon(struct daemon *dm);
int alive(const struct daemon *dm);
/* The daemon's open file descriptors. */
int count_fds(const struct daemon *dm);
/* Wait (up to 2 s) until the daemon has @p want descriptors open. */
void wait_fds(const struct daemon *dm, int want);
/* SIGTERM; it exits 0 and removes its sockets; its directory goes. */
void stop_daemon(struct daemon *dm);

/* A one-device daemon ("-v --socket SOCK --device SPEC"), up once it says
 * it is listening. */
pid_t sp_start(const char *sock, const char *spec);
/* Start @p prog with @p argv, stdout on a pipe; its start line into
 * @p line. Descriptors the child inherits stay open in it. */
pid_t spawn_daemon(const char *prog, const char *const *argv, char *line,
                   size_t cap);
/* SIGTERM @p pid; it must exit 0. (Two names, one job.) */
void stop_pid(pid_t pid);
void rp_stop(pid_t pid);

void write_file(const char *path, const void *data, size_t n);
/* The byte pattern of the rng source file, the EEPROM and blk data. */
uint8_t pat(size_t i);

/* ------------------------------------------------------------------------ */
/* A front-end */

#define MEM_SIZE (1u << 20)
#define NUM      8

struct fe {
    struct vu_front v;
    int memfd;
    uint8_t *mem;
    struct drv_guest g;
    struct drv_vq q[6]; /* console with two ports: six rings */
    int live[6];
    int32_t kick[6], call[6];
};

/* The guest-memory area the requests below use. */
#define BUF 0x10000u

void fe_connect(struct vu_front *v, const char *path);
void fe_send(struct vu_front *v, uint32_t req, uint32_t flags, const void *p,
             uint32_t len, const int32_t *fds, int nfds);
uint32_t fe_recv(struct vu_front *v, uint32_t req, void *payload, uint32_t cap);
uint64_t fe_u64(struct vu_front *v, uint32_t req);
uint64_t fe_acked(struct vu_front *v, uint32_t req, const void *p, uint32_t len,
                  const int32_t *fds, int nfds);
void fe_state(struct vu_front *v, uint32_t req, uint32_t idx, uint32_t num);

/* Connect to @p path (or adopt connected @p sock) and set up: VERSION_1 and
 * @p dev_feat, a memfd of @p mem_file_size bytes mapped as MEM_SIZE of
 * guest memory, rings 0 .. @p nrings - 1 of @p num (NUM) entries, enabled. */
void fe_open_nf(struct fe *f, const char *path, int nrings,
                uint64_t mem_file_size, uint16_t num, uint64_t dev_feat);
void fe_open_fd(struct fe *f, int sock, int nrings, uint64_t mem_file_size);
void fe_open(struct fe *f, const char *path, int nrings,
             uint64_t mem_file_size);
void fe_open_n(struct fe *f, const char *path, int nrings,
               uint64_t mem_file_size, uint16_t num);
void fe_open_feat(struct fe *f, const char *path, int nrings,
                  uint64_t mem_file_size, uint64_t dev_feat);
void fe_close(struct fe *f);

/* Add a buffer to ring @p q and publish it (no kick); kick ring @p q;
 * collect @p n used buffers (5 s at most), returning the last used length. */
void add(struct fe *f, int q, const struct drv_buf *out, unsigned nout,
         const struct drv_buf *in, unsigned nin, uintptr_t cookie);
void kick(struct fe *f, int q);
uint32_t wait_used_n(struct fe *f, int q, unsigned n, uintptr_t *cookies);
uint32_t wait_used(struct fe *f, int q);

/* An rng request of 64 bytes (a slice of pat()); a blk request. */
void rng_request(struct fe *f);
uint8_t blk_request(struct fe *f, uint32_t type, uint64_t sector, int data_in,
                    int data_out, uint32_t *used_len);

/* ------------------------------------------------------------------------ */
/* The cases: each test_daemon_NAME.c adds its own to the suite, one TCase
 * per test so CK_RUN_CASE=NAME runs one. */

#define TD_ADD(s, name)                                                        \
    do {                                                                       \
        TCase *tc_ = tcase_create(#name);                                      \
        tcase_set_timeout(tc_, 60);                                            \
        tcase_add_test(tc_, name);                                             \
        suite_add_tcase(s, tc_);                                               \
    } while (0)

void td_add_rng_blk_input(Suite *s);
void td_add_i2c_gpio(Suite *s);
void td_add_can(Suite *s);
void td_add_console(Suite *s);
void td_add_robust(Suite *s);
void td_add_programs(Suite *s);
void td_add_evdev(Suite *s);
void td_add_rpmb(Suite *s);
void td_add_spi(Suite *s);
void td_add_scmi(Suite *s);
void td_add_gpu(Suite *s);
void td_add_balloon(Suite *s);
void td_add_vfio_user(Suite *s);
void td_add_sound(Suite *s);
void td_add_inflight(Suite *s);
void td_add_dirty(Suite *s);
void td_add_blk_aio(Suite *s);
void td_add_drain(Suite *s);

#endif
