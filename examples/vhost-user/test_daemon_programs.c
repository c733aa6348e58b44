/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: the program: bad arguments, blk's null backend
 * and the vhost-user backend program conventions (--print-capabilities JSON,
 * vdm-vhost-user-blk on a handed-over --fd, SIGTERM). */
#include "test_daemon.h"

static int run_status(const char *const *argv)
{
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(bad_arguments_fail_early)
{
    const char *a1[] = {daemon_path, "--device", "rng", NULL};
    const char *a2[] = {daemon_path, "--socket", "/tmp/x.sock",
                        "--device",  "floppy",   NULL};
    const char *a3[] = {daemon_path, "--socket", "/tmp/x.sock",
                        "--device",  "blk",      NULL};
    const char *a4[] = {daemon_path, "--socket",        "/tmp/x.sock",
                        "--device",  "rng,colour=blue", NULL};
    const char *a5[] = {daemon_path,
                        "--socket",
                        "/tmp/x.sock",
                        "--device",
                        "blk,file=/nonexistent/disk",
                        NULL};
    const char *a6[] = {daemon_path, "--help", NULL};
    /* gpu's display channel is vhost-user's: not over vfio-user without
     * a display of the daemon's own (out=DIR) */
    const char *a7[] = {daemon_path, "--vfio-user", "/tmp/x.sock",
                        "--device",  "gpu",         NULL};
    const char *a8[] = {daemon_path, "--vfio-user", "/tmp/x.sock", NULL};
    ck_assert_int_eq(run_status(a7), 1);
    ck_assert_int_eq(run_status(a8), 2);
    ck_assert_int_eq(run_status(a1), 2);
    ck_assert_int_eq(run_status(a2), 1);
    ck_assert_int_eq(run_status(a3), 1);
    ck_assert_int_eq(run_status(a4), 1);
    ck_assert_int_eq(run_status(a5), 1);
    ck_assert_int_eq(run_status(a6), 0);
}
END_TEST

/* ---- blk: the null backend; the vhost-user backend program conventions */

/* The program vdm-vhost-user-@p type next to the daemon (a symlink to it). */
static void prog_path(char *buf, size_t cap, const char *type)
{
    const char *slash = strrchr(daemon_path, '/');
    int dir = slash != NULL ? (int)(slash - daemon_path + 1) : 0;
    snprintf(buf, cap, "%.*svdm-vhost-user-%s", dir, daemon_path, type);
}

/* One blk request with a 16-byte discard / write-zeroes segment. */
static uint8_t blk_seg_request(struct fe *f, uint32_t type, uint64_t sector,
                               uint32_t nsec, uint32_t flags)
{
    uint8_t *h = f->mem + BUF;
    uint32_t zero = 0;
    struct drv_buf out[2] = {{BUF, 16}, {BUF + 0x200, 16}};
    struct drv_buf in = {BUF + 0x1000, 1};
    memcpy(h, &type, 4);
    memcpy(h + 4, &zero, 4);
    memset(h + 8, 0, 8);
    memcpy(h + 0x200, &sector, 8);
    memcpy(h + 0x208, &nsec, 4);
    memcpy(h + 0x20c, &flags, 4);
    f->mem[BUF + 0x1000] = 0xff;
    add(f, 0, out, 2, &in, 1, 0);
    kick(f, 0);
    wait_used(f, 0);
    return f->mem[BUF + 0x1000];
}

static uint64_t blk_capacity(struct fe *f)
{
    uint8_t c[12 + 8];
    uint32_t hdr[3] = {0, 8, 0};
    uint64_t cap;
    memcpy(c, hdr, 12);
    memset(c + 12, 0, 8);
    fe_send(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, c, sizeof(c), NULL, 0);
    ck_assert_uint_eq(fe_recv(&f->v, VDM_VHOST_USER_GET_CONFIG, c, sizeof(c)),
                      sizeof(c));
    memcpy(&cap, c + 12, 8);
    return cap;
}

START_TEST(blk_null_backend)
{
    char sock[128], line[256];
    const char *argv[] = {daemon_path,
                          "--socket",
                          sock,
                          "--device",
                          "blk,backend=null,size=64K,num-queues=1",
                          NULL};
    struct fe f;
    uint32_t ulen;
    pid_t pid;

    snprintf(sock, sizeof(sock), "%s/null.sock", top_dir);
    pid = spawn_daemon(daemon_path, argv, line, sizeof(line));
    fe_open_feat(&f, sock, 1, MEM_SIZE,
                 (1ull << 13) /* DISCARD */ | (1ull << 14) /* WRITE_ZEROES */);
    ck_assert_uint_eq(blk_capacity(&f), 128); /* 64 KiB */
    /* Reads return zeros, whatever was in the buffer. */
    memset(f.mem + BUF + 0x200, 0xaa, 512);
    ck_assert_uint_eq(blk_request(&f, 0 /* IN */, 5, 1, 0, &ulen), 0);
    ck_assert_uint_eq(ulen, 513);
    for (int i = 0; i < 512; i++)
        ck_assert_uint_eq(f.mem[BUF + 0x200 + i], 0);
    /* Writes are discarded: reading back gives zeros. */
    memset(f.mem + BUF + 0x200, 'w', 512);
    ck_assert_uint_eq(blk_request(&f, 1 /* OUT */, 5, 0, 1, &ulen), 0);
    ck_assert_uint_eq(ulen, 1);
    memset(f.mem + BUF + 0x200, 0xaa, 512);
    ck_assert_uint_eq(blk_request(&f, 0, 5, 1, 0, &ulen), 0);
    for (int i = 0; i < 512; i++)
        ck_assert_uint_eq(f.mem[BUF + 0x200 + i], 0);
    ck_assert_uint_eq(blk_request(&f, 4 /* FLUSH */, 0, 0, 0, &ulen), 0);
    ck_assert_uint_eq(blk_seg_request(&f, 11 /* DISCARD */, 8, 16, 0), 0);
    ck_assert_uint_eq(blk_seg_request(&f, 13 /* WRITE_ZEROES */, 8, 16, 0), 0);
    ck_assert_uint_eq(blk_seg_request(&f, 13, 8, 16, 1 /* UNMAP */), 0);
    /* The device still ends where size= says. */
    ck_assert_uint_eq(blk_request(&f, 0, 128, 1, 0, &ulen), 1 /* IOERR */);
    ck_assert_uint_eq(blk_seg_request(&f, 11, 120, 16, 0), 1);
    fe_close(&f);
    stop_pid(pid);
    ck_assert_int_ne(access(sock, F_OK), 0);
    unlink(sock);
    {
        const char *bad[][6] = {
            {daemon_path, "--socket", sock, "--device", "blk,backend=null",
             NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,backend=null,size=1000", NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,backend=null,size=0", NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,backend=null,size=99999999999999999999", NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,backend=null,size=1M,file=/dev/null", NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,backend=nul,size=1M", NULL},
            {daemon_path, "--socket", sock, "--device",
             "blk,file=/dev/null,size=1M", NULL},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            ck_assert_msg(run_status(bad[i]) == 1, "case %zu", i);
    }
}
END_TEST

/* A very small JSON reader, enough for --print-capabilities: one object of
 * string members and arrays of strings; anything else fails the test. */
struct caps {
    char type[32];
    int has_features;
    unsigned nfeat;
    char feat[8][32];
};

static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *js_str(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    p = js_ws(p);
    ck_assert_msg(*p == '"', "JSON: string expected at '%.20s'", p);
    for (p++; *p != '"'; p++) {
        ck_assert_msg(*p != '\0' && *p != '\\' && (unsigned char)*p >= 0x20,
                      "JSON: bad string");
        ck_assert_uint_lt(n + 1, cap);
        out[n++] = *p;
    }
    out[n] = '\0';
    return p + 1;
}

static void js_caps(const char *p, struct caps *c)
{
    memset(c, 0, sizeof(*c));
    p = js_ws(p);
    ck_assert_msg(*p == '{', "JSON: object expected");
    p = js_ws(p + 1);
    while (*p != '}') {
        char key[32];
        p = js_ws(js_str(p, key, sizeof(key)));
        ck_assert_msg(*p == ':', "JSON: ':' expected");
        p = js_ws(p + 1);
        if (strcmp(key, "type") == 0) {
            ck_assert_msg(c->type[0] == '\0', "JSON: type twice");
            p = js_str(p, c->type, sizeof(c->type));
        } else if (strcmp(key, "features") == 0) {
            ck_assert_msg(!c->has_features, "JSON: features twice");
            c->has_features = 1;
            ck_assert_msg(*p == '[', "JSON: array expected");
            p = js_ws(p + 1);
            while (*p != ']') {
                ck_assert_uint_lt(c->nfeat, 8);
                p = js_ws(js_str(p, c->feat[c->nfeat++], 32));
                if (*p == ',')
                    p = js_ws(p + 1);
                else
                    ck_assert_msg(*p == ']', "JSON: ']' expected");
            }
            p++;
        } else {
            ck_abort_msg("JSON: unexpected member '%s'", key);
        }
        p = js_ws(p);
        if (*p == ',')
            p = js_ws(p + 1);
        else
            ck_assert_msg(*p == '}', "JSON: '}' expected");
    }
    ck_assert_msg(*js_ws(p + 1) == '\0', "JSON: text after the object");
}

/* Run @p argv, return its stdout (exit status 0 required). */
static void run_output(const char *const *argv, char *buf, size_t cap)
{
    int out[2], st;
    size_t n = 0;
    ssize_t r;
    pid_t pid;

    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    while (n + 1 < cap && (r = read(out[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(out[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}

START_TEST(prints_capabilities)
{
    static const struct {
        const char *prog, *type;
        int has_features;
        const char *feat[2];
    } want[] = {
        {"blk", "block", 1, {"read-only", "blk-file"}},
        /* vhost-user.rst, vhost-user-input: --evdev-path, --no-grab
         * (vhost-user.json VHostUserBackendInputFeature). */
        {"input", "input", 1, {"evdev-path", "no-grab"}},
        {"rng", "rng", 0, {NULL, NULL}},
        {"gpu", "gpu", 1, {NULL, NULL}},
    };
    char prog[256], out[1024], sock[128];
    struct caps c;

    snprintf(sock, sizeof(sock), "%s/caps.sock", top_dir);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        /* Other options are ignored and nothing is served. */
        const char *argv[] = {prog,
                              "--socket-path",
                              sock,
                              "--print-capabilities",
                              "--no-such-option",
                              NULL};
        unsigned n = 0;
        prog_path(prog, sizeof(prog), want[i].prog);
        run_output(argv, out, sizeof(out));
        js_caps(out, &c);
        ck_assert_str_eq(c.type, want[i].type);
        ck_assert_int_eq(c.has_features, want[i].has_features);
        while (n < 2 && want[i].feat[n] != NULL)
            n++;
        ck_assert_uint_eq(c.nfeat, n);
        for (unsigned k = 0; k < n; k++)
            ck_assert_str_eq(c.feat[k], want[i].feat[k]);
        ck_assert_int_ne(access(sock, F_OK), 0);
    }
    {
        /* The multi-device form: the type of its --device. */
        const char *argv[] = {daemon_path, "--print-capabilities", "--device",
                              "blk,file=/nonexistent", NULL};
        run_output(argv, out, sizeof(out));
        js_caps(out, &c);
        ck_assert_str_eq(c.type, "block");
        ck_assert_uint_eq(c.nfeat, 2);
    }
    {
        const char *a1[] = {daemon_path, "--print-capabilities", NULL};
        const char *a2[] = {prog, "--blk-file=/dev/null", NULL}; /* no socket */
        const char *a3[] = {prog,     "--socket-path",        sock,
                            "--fd=3", "--blk-file=/dev/null", NULL};
        const char *a4[] = {prog, "--fd=0", "--blk-file=/dev/null", NULL};
        char rng[256];
        const char *a5[] = {rng, "--socket-path", sock, "--read-only", NULL};
        prog_path(prog, sizeof(prog), "blk");
        prog_path(rng, sizeof(rng), "rng");
        ck_assert_int_eq(run_status(a1), 2);
        ck_assert_int_eq(run_status(a2), 2);
        ck_assert_int_eq(run_status(a3), 2);
        ck_assert_int_eq(run_status(a4), 1); /* fd 0 is not a socket */
        ck_assert_int_eq(run_status(a5), 2); /* a blk option */
    }
}
END_TEST

/* vdm-vhost-user-blk --fd=N: a listening socket the "management layer"
 * bound serves front-end after front-end; a connected one (a socketpair)
 * serves one, after which the program ends by itself. */
START_TEST(blk_program_on_handed_fd)
{
    char prog[256], img[128], sockp[128], fdarg[32], line[256];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t disk[4096];
    struct fe f;
    uint32_t ulen;
    pid_t pid;
    int ls, sp[2], st;

    prog_path(prog, sizeof(prog), "blk");
    snprintf(img, sizeof(img), "%s/fd.img", top_dir);
    snprintf(sockp, sizeof(sockp), "%s/fd.sock", top_dir);
    for (size_t i = 0; i < sizeof(disk); i++)
        disk[i] = pat(i);
    write_file(img, disk, sizeof(disk));

    /* Listening, --read-only. */
    ls = socket(AF_UNIX, SOCK_STREAM, 0); /* inherited: no CLOEXEC */
    ck_assert_int_ge(ls, 0);
    strcpy(sa.sun_path, sockp);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    snprintf(fdarg, sizeof(fdarg), "--fd=%d", ls);
    {
        char file[160];
        const char *argv[] = {prog, fdarg, file, "--read-only", NULL};
        snprintf(file, sizeof(file), "--blk-file=%s", img);
        pid = spawn_daemon(prog, argv, line, sizeof(line));
    }
    close(ls);
    {
        char want[64];
        snprintf(want, sizeof(want), "vdm-vhost-user: listening on fd %d\n",
                 ls);
        ck_assert_str_eq(line, want);
    }
    for (int round = 0; round < 2; round++) {
        fe_open(&f, sockp, 1, MEM_SIZE);
        ck_assert_uint_eq(blk_capacity(&f), 8);
        ck_assert_uint_eq(blk_request(&f, 0, 3, 1, 0, &ulen), 0);
        ck_assert_mem_eq(f.mem + BUF + 0x200, disk + 3 * 512, 512);
        ck_assert_uint_ne(blk_request(&f, 1, 3, 0, 1, &ulen), 0); /* RO */
        fe_close(&f);
    }
    stop_pid(pid);
    ck_assert_int_eq(access(sockp, F_OK), 0); /* not ours to remove */
    unlink(sockp);

    /* Connected: one end of a socketpair. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    fcntl(sp[0], F_SETFD, FD_CLOEXEC);
    snprintf(fdarg, sizeof(fdarg), "--fd=%d", sp[1]);
    {
        char file[160];
        const char *argv[] = {prog, fdarg, file, NULL};
        snprintf(file, sizeof(file), "--blk-file=%s", img);
        pid = spawn_daemon(prog, argv, line, sizeof(line));
    }
    close(sp[1]);
    {
        char want[64];
        snprintf(want, sizeof(want), "vdm-vhost-user: serving fd %d\n", sp[1]);
        ck_assert_str_eq(line, want);
    }
    fe_open_fd(&f, sp[0], 1, MEM_SIZE);
    memset(f.mem + BUF + 0x200, 'w', 512);
    ck_assert_uint_eq(blk_request(&f, 1, 2, 0, 1, &ulen), 0);
    ck_assert_uint_eq(blk_request(&f, 0, 7, 1, 0, &ulen), 0);
    ck_assert_mem_eq(f.mem + BUF + 0x200, disk + 7 * 512, 512);
    fe_close(&f);
    /* Nobody can come next: the program ends, status 0. */
    for (int i = 0; i < 200 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(10000);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    {
        int fd = open(img, O_RDONLY);
        uint8_t s2[512];
        ck_assert_int_eq(pread(fd, s2, 512, 2 * 512), 512);
        close(fd);
        for (int i = 0; i < 512; i++)
            ck_assert_uint_eq(s2[i], 'w');
    }
}
END_TEST

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGTERM ends the program within a second, after completing what the
 * driver submitted before it: a request kicked just before, and one made
 * available while the daemon was stopped (its kick never comes). */
START_TEST(sigterm_completes_requests_and_exits)
{
    char prog[256], img[128], sock[128], file[160], line[256];
    uint8_t disk[8192];
    struct fe f;
    pid_t pid;
    int st;

    prog_path(prog, sizeof(prog), "blk");
    snprintf(img, sizeof(img), "%s/term.img", top_dir);
    snprintf(sock, sizeof(sock), "%s/term.sock", top_dir);
    snprintf(file, sizeof(file), "--blk-file=%s", img);
    for (size_t i = 0; i < sizeof(disk); i++)
        disk[i] = pat(i);
    write_file(img, disk, sizeof(disk));
    for (int round = 0; round < 2; round++) {
        const char *argv[] = {prog, "--socket-path", sock, file, NULL};
        struct drv_buf out[2] = {{BUF, 16}, {BUF + 0x200, 512}};
        struct drv_buf in = {BUF + 0x1000, 1};
        uint32_t type = 1 /* OUT */, zero = 0;
        uint64_t sector = 4 + (uint64_t)round;
        double t0, t;

        pid = spawn_daemon(prog, argv, line, sizeof(line));
        fe_open(&f, sock, 1, MEM_SIZE);
        memcpy(f.mem + BUF, &type, 4);
        memcpy(f.mem + BUF + 4, &zero, 4);
        memcpy(f.mem + BUF + 8, &sector, 8);
        memset(f.mem + BUF + 0x200, 'A' + round, 512);
        f.mem[BUF + 0x1000] = 0xff;
        if (round == 1)
            ck_assert_int_eq(kill(pid, SIGSTOP), 0);
        add(&f, 0, out, 2, &in, 1, 0);
        if (round == 0)
            kick(&f, 0);
        t0 = mono_s();
        ck_assert_int_eq(kill(pid, SIGTERM), 0);
        if (round == 1)
            ck_assert_int_eq(kill(pid, SIGCONT), 0);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        t = mono_s() - t0;
        ck_assert(WIFEXITED(st));
        ck_assert_int_eq(WEXITSTATUS(st), 0);
        ck_assert_msg(t < 1.0, "exit took %.3f s", t);
        ck_assert_uint_eq(wait_used(&f, 0), 1);
        ck_assert_uint_eq(f.mem[BUF + 0x1000], 0);
        fe_close(&f);
        ck_assert_int_ne(access(sock, F_OK), 0);
        {
            int fd = open(img, O_RDONLY);
            uint8_t s[512];
            ck_assert_int_eq(pread(fd, s, 512, (off_t)sector * 512), 512);
            close(fd);
            for (int i = 0; i < 512; i++)
                ck_assert_uint_eq(s[i], 'A' + round);
        }
    }
}
END_TEST

void td_add_programs(Suite *s)
{
    TD_ADD(s, bad_arguments_fail_early);
    TD_ADD(s, blk_null_backend);
    TD_ADD(s, prints_capabilities);
    TD_ADD(s, blk_program_on_handed_fd);
    TD_ADD(s, sigterm_completes_requests_and_exits);
}
