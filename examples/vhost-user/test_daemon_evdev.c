/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: the input device's evdev passthrough as far
 * as a host without input devices (no /dev/input, no /dev/uinput) can check
 * it: its options on both command-line forms and the refusals, each with
 * its exit status and message (the vhost-user "Backend program
 * conventions": a back-end that cannot do what it is asked fails early
 * with a status != 0 and a message on stderr). The passthrough itself runs
 * against uinput devices inside a guest: tests/e2e/evdev.sh. */
#include "test_daemon.h"

/* Run @p argv (stdout to /dev/null); its exit status, stderr in @p err. */
static int run_err(const char *const *argv, char *err, size_t cap)
{
    int p[2], st;
    size_t n = 0;
    ssize_t r;
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        close(p[0]);
        dup2(null, 1);
        dup2(p[1], 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (n + 1 < cap && (r = read(p[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void input_prog(char *buf, size_t cap)
{
    const char *slash = strrchr(daemon_path, '/');
    int dir = slash != NULL ? (int)(slash - daemon_path + 1) : 0;
    snprintf(buf, cap, "%.*svdm-vhost-user-input", dir, daemon_path);
}

/* Every refusal: exit status 1 (the device cannot be made) or 2 (bad
 * usage), the reason on stderr, no socket left behind. */
START_TEST(evdev_refusals)
{
    char sock[128], prog[256], err[2048];
    static const struct {
        const char *spec, *msg;
    } multi[] = {
        /* Not an input device: EVIOCGVERSION fails (ENOTTY). */
        {"input,evdev=/dev/null", "evdev /dev/null: not an evdev device"},
        {"input,evdev=/dev/null,grab=off",
         "evdev /dev/null: not an evdev device"},
        {"input,evdev=/nonexistent/event0",
         "evdev /nonexistent/event0: No such file or directory"},
        /* The events come from the device: no profile, no script. */
        {"input,evdev=/dev/null,profile=mouse",
         "evdev= excludes profile= and events="},
        {"input,evdev=/dev/null,events=/dev/null",
         "evdev= excludes profile= and events="},
        {"input,evdev=/dev/null,grab=maybe", "grab=maybe: on or off"},
        {"input,grab=off", "grab=off: on or off, with evdev=PATH"},
    };

    snprintf(sock, sizeof(sock), "%s/evdev.sock", top_dir);
    for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]); i++) {
        char spec[256];
        const char *argv[] = {daemon_path, "--socket", sock,
                              "--device",  spec,       NULL};
        snprintf(spec, sizeof(spec), "%s", multi[i].spec);
        ck_assert_msg(run_err(argv, err, sizeof(err)) == 1, "%s",
                      multi[i].spec);
        ck_assert_msg(strstr(err, multi[i].msg) != NULL, "%s: stderr '%s'",
                      multi[i].spec, err);
        ck_assert_int_ne(access(sock, F_OK), 0);
    }
    input_prog(prog, sizeof(prog));
    {
        /* The program form maps --evdev-path and --no-grab to the same. */
        const char *a1[] = {prog,        "--socket-path",
                            sock,        "--evdev-path=/dev/null",
                            "--no-grab", NULL};
        const char *a2[] = {prog, "--socket-path", sock, "--no-grab", NULL};
        ck_assert_int_eq(run_err(a1, err, sizeof(err)), 1);
        ck_assert_msg(strstr(err, "evdev /dev/null: not an evdev device"),
                      "stderr '%s'", err);
        ck_assert_int_eq(run_err(a2, err, sizeof(err)), 1);
        ck_assert_msg(strstr(err, "with evdev=PATH") != NULL, "stderr '%s'",
                      err);
        ck_assert_int_ne(access(sock, F_OK), 0);
    }
    {
        /* Options of vdm-vhost-user-input only. */
        char blk[256];
        const char *slash = strrchr(daemon_path, '/');
        int dir = slash != NULL ? (int)(slash - daemon_path + 1) : 0;
        snprintf(blk, sizeof(blk), "%.*svdm-vhost-user-blk", dir, daemon_path);
        const char *a1[] = {blk, "--socket-path", sock,
                            "--evdev-path=/dev/input/event0", NULL};
        const char *a2[] = {blk, "--socket-path", sock, "--no-grab", NULL};
        ck_assert_int_eq(run_err(a1, err, sizeof(err)), 2);
        ck_assert_msg(strstr(err, "--evdev-path is an option of "
                                  "vdm-vhost-user-input") != NULL,
                      "stderr '%s'", err);
        ck_assert_int_eq(run_err(a2, err, sizeof(err)), 2);
        ck_assert_msg(strstr(err, "--no-grab is an option of "
                                  "vdm-vhost-user-input") != NULL,
                      "stderr '%s'", err);
    }
}
END_TEST

void td_add_evdev(Suite *s)
{
    TD_ADD(s, evdev_refusals);
}
