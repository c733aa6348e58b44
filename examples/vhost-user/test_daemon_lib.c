/* SPDX-License-Identifier: BSD-3-Clause */
/* The vdm-vhost-user daemon test's harness: the daemon processes (the
 * multi-device one, one-device ones, any program), the front-end on the
 * shared vu_front.h and the driver simulator's rings in a memfd, and the
 * rng and blk requests several cases make. */
#include "test_daemon.h"

const char *daemon_path;

/* ------------------------------------------------------------------------ */
/* The daemon process */

#define NSOCKETS 5

void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

uint8_t pat(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* Every daemon's files live under one directory that main() removes at
 * the end, failed checks or not. */
char top_dir[64];

void start_daemon(struct daemon *dm)
{
    static uint8_t buf[64 * 1024];
    int out[2];
    char line[512];
    FILE *f;
    int seen = 0;

    memset(dm, 0, sizeof(*dm));
    snprintf(dm->dir, sizeof(dm->dir), "%s/d.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dm->dir));
    snprintf(dm->rng_sock, sizeof(dm->rng_sock), "%s/rng.sock", dm->dir);
    snprintf(dm->blk_sock, sizeof(dm->blk_sock), "%s/blk.sock", dm->dir);
    snprintf(dm->in_sock, sizeof(dm->in_sock), "%s/in.sock", dm->dir);
    snprintf(dm->pattern, sizeof(dm->pattern), "%s/pattern", dm->dir);
    snprintf(dm->disk, sizeof(dm->disk), "%s/disk.img", dm->dir);
    snprintf(dm->events, sizeof(dm->events), "%s/events", dm->dir);
    snprintf(dm->i2c_sock, sizeof(dm->i2c_sock), "%s/i2c.sock", dm->dir);
    snprintf(dm->gpio_sock, sizeof(dm->gpio_sock), "%s/gpio.sock", dm->dir);
    snprintf(dm->eeprom, sizeof(dm->eeprom), "%s/eeprom", dm->dir);
    snprintf(dm->temp, sizeof(dm->temp), "%s/temp", dm->dir);
    snprintf(dm->gstate, sizeof(dm->gstate), "%s/gpio.state", dm->dir);
    snprintf(dm->gevents, sizeof(dm->gevents), "%s/gpio.events", dm->dir);
    for (size_t i = 0; i < 4096; i++)
        buf[i] = pat(i);
    write_file(dm->pattern, buf, 4096);
    write_file(dm->eeprom, buf, 256); /* 24c02: pat(0..255) */
    write_file(dm->temp, "25500\n", 6);
    {
        const char *st = "LED out 0\nBTN in 1\n- none 0\nIRQ in 0\n";
        const char *gev = "wait-irq 3\nwait-armed 3\nset 3 1\n";
        write_file(dm->gstate, st, strlen(st));
        write_file(dm->gevents, gev, strlen(gev));
    }
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "VDMDISK0 sector zero", 20);
    write_file(dm->disk, buf, sizeof(buf)); /* 128 sectors */
    const char *ev = "# replayed when the driver is ready\n"
                     "wait-status EV_LED LED_SCROLLL 1\n"
                     "wait-status EV_LED LED_NUML 1  # same kick as the first\n"
                     "sleep 20\n"
                     "key KEY_A\n"
                     "EV_KEY 0x1e 1   # KEY_A by number\n"
                     "syn\n";
    write_file(dm->events, ev, strlen(ev));

    ck_assert_int_eq(pipe(out), 0);
    dm->pid = fork();
    ck_assert_int_ge(dm->pid, 0);
    if (dm->pid == 0) {
        char rng[200], blk[200], in[200], i2c[400], gpio[300];
        snprintf(rng, sizeof(rng), "rng,source=%s", dm->pattern);
        snprintf(blk, sizeof(blk), "blk,file=%s,serial=vdmtest,num-queues=2",
                 dm->disk);
        snprintf(in, sizeof(in), "input,profile=keyboard,events=%s",
                 dm->events);
        snprintf(i2c, sizeof(i2c), "i2c,eeprom=0x50:24c02:%s,lm75=0x48:%s",
                 dm->eeprom, dm->temp);
        snprintf(gpio, sizeof(gpio), "gpio,state=%s,events=%s", dm->gstate,
                 dm->gevents);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        const char *argv[24] = {daemon_path,
                                "--socket",
                                dm->rng_sock,
                                "--device",
                                rng,
                                "--socket",
                                dm->blk_sock,
                                "--device",
                                blk,
                                "--socket-path",
                                dm->in_sock,
                                "--device",
                                in,
                                "--socket",
                                dm->i2c_sock,
                                "--device",
                                i2c,
                                "--socket",
                                dm->gpio_sock,
                                "--device",
                                gpio,
                                NULL,
                                NULL};
        if (getenv("VU_DAEMON_VERBOSE") != NULL)
            argv[21] = "-vv";
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (seen < NSOCKETS && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "vdm-vhost-user: listening on ", 29) == 0)
            seen++;
    ck_assert_int_eq(seen, NSOCKETS);
    fclose(f);
}

int alive(const struct daemon *dm)
{
    int st;
    return waitpid(dm->pid, &st, WNOHANG) == 0;
}

int count_fds(const struct daemon *dm)
{
    char path[64];
    struct dirent *e;
    int n = 0;
    DIR *dir;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)dm->pid);
    dir = opendir(path);
    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* The daemon handles a disconnect asynchronously: wait for the fd count to
 * come back to @p want. */
void wait_fds(const struct daemon *dm, int want)
{
    for (int i = 0; i < 200 && count_fds(dm) != want; i++)
        usleep(10000);
    ck_assert_int_eq(count_fds(dm), want);
}

void stop_daemon(struct daemon *dm)
{
    int st;
    char cmd[128];
    kill(dm->pid, SIGTERM);
    ck_assert_int_eq(waitpid(dm->pid, &st, 0), dm->pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_int_ne(access(dm->rng_sock, F_OK), 0); /* socket removed */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dm->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------------------ */
/* A front-end: the shared one (vu_front.h) on the socket, the driver
 * simulator's split rings in a memfd the daemon maps too. */

void fe_connect(struct vu_front *v, const char *path)
{
    ck_assert_int_eq(vu_front_connect(v, path), 0);
}

void fe_send(struct vu_front *v, uint32_t req, uint32_t flags, const void *p,
             uint32_t len, const int32_t *fds, int nfds)
{
    ck_assert_int_eq(vu_front_msg(v, req, flags, p, len, fds, (uint32_t)nfds),
                     0);
}

/* Read one reply to @p req; returns the payload size. */
uint32_t fe_recv(struct vu_front *v, uint32_t req, void *payload, uint32_t cap)
{
    int size = vu_front_recv(v, req);
    ck_assert_int_ge(size, 0);
    ck_assert_uint_le((uint32_t)size, cap);
    memcpy(payload, v->reply + VDM_VHOST_USER_HDR_BYTES, (size_t)size);
    return (uint32_t)size;
}

uint64_t fe_u64(struct vu_front *v, uint32_t req)
{
    fe_send(v, req, 0, NULL, 0, NULL, 0);
    ck_assert_int_eq(vu_front_recv(v, req), 8);
    return vu_front_reply_u64(v);
}

/* Send with need_reply; return the REPLY_ACK value. */
uint64_t fe_acked(struct vu_front *v, uint32_t req, const void *p, uint32_t len,
                  const int32_t *fds, int nfds)
{
    fe_send(v, req, VDM_VHOST_USER_F_NEED_REPLY, p, len, fds, nfds);
    ck_assert_int_eq(vu_front_recv(v, req), 8);
    return vu_front_reply_u64(v);
}

void fe_state(struct vu_front *v, uint32_t req, uint32_t idx, uint32_t num)
{
    uint32_t p[2] = {idx, num};
    ck_assert_uint_eq(fe_acked(v, req, p, 8, NULL, 0), 0);
}

static uint64_t uva(struct fe *f, uint64_t off)
{
    return (uint64_t)(uintptr_t)f->mem + off;
}

/* Features (VERSION_1 and @p dev_feat), memory and rings 0 .. @p nrings - 1
 * of @p num entries, enabled, on the front-end's connection. */
static void fe_setup(struct fe *f, int nrings, uint64_t mem_file_size,
                     uint16_t num, uint64_t dev_feat)
{
    static const uint32_t ring_reqs[5] = {
        VDM_VHOST_USER_SET_VRING_NUM, VDM_VHOST_USER_SET_VRING_BASE,
        VDM_VHOST_USER_SET_VRING_ADDR, VDM_VHOST_USER_SET_VRING_KICK,
        VDM_VHOST_USER_SET_VRING_CALL};
    struct vu_front_region mr;
    uint64_t feat, proto;

    f->memfd = memfd_create("guest", MFD_CLOEXEC);
    ck_assert_int_ge(f->memfd, 0);
    ck_assert_int_eq(ftruncate(f->memfd, (off_t)mem_file_size), 0);
    f->mem =
        mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
    ck_assert(f->mem != MAP_FAILED);
    ck_assert_int_eq(drv_guest_adopt(&f->g, 0, MEM_SIZE, f->mem), 0);

    feat = fe_u64(&f->v, VDM_VHOST_USER_GET_FEATURES);
    ck_assert(feat & VDM_VHOST_USER_F_PROTOCOL_FEATURES);
    proto = fe_u64(&f->v, VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    proto &= (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
             (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIG) |
             (1ull << VDM_VHOST_USER_PROTOCOL_F_MQ);
    fe_send(&f->v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
    fe_send(&f->v, VDM_VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    ck_assert_uint_eq(feat & dev_feat, dev_feat);
    feat = DRV_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES | dev_feat;
    ck_assert_uint_eq(
        fe_acked(&f->v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
    mr.gpa = 0;
    mr.size = MEM_SIZE;
    mr.uva = uva(f, 0);
    mr.off = 0;
    ck_assert_int_eq(vu_front_mem_table(&f->v, VDM_VHOST_USER_F_NEED_REPLY, &mr,
                                        1, &f->memfd),
                     0);
    ck_assert_int_eq(vu_front_recv(&f->v, VDM_VHOST_USER_SET_MEM_TABLE), 8);
    ck_assert_uint_eq(vu_front_reply_u64(&f->v), 0);
    for (int q = 0; q < nrings; q++) {
        uint64_t desc = 0x1000 + 0x1000 * (uint64_t)q * 4;
        uint64_t avail = desc + 0x1000, used = desc + 0x2000;
        ck_assert_int_eq(drv_vq_init_at(&f->q[q], &f->g, num, DRV_F_VERSION_1,
                                        desc, avail, used),
                         0);
        f->live[q] = 1;
        f->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        f->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ck_assert_int_eq(vu_front_ring(&f->v, VDM_VHOST_USER_F_NEED_REPLY,
                                       (uint32_t)q, num, 0, uva(f, desc),
                                       uva(f, used), uva(f, avail), f->kick[q],
                                       f->call[q]),
                         0);
        for (int i = 0; i < 5; i++) {
            ck_assert_int_eq(vu_front_recv(&f->v, ring_reqs[i]), 8);
            ck_assert_uint_eq(vu_front_reply_u64(&f->v), 0);
        }
    }
    for (int q = 0; q < nrings; q++)
        fe_state(&f->v, VDM_VHOST_USER_SET_VRING_ENABLE, (uint32_t)q, 1);
}

/* The same, connecting to @p path. */
void fe_open_nf(struct fe *f, const char *path, int nrings,
                uint64_t mem_file_size, uint16_t num, uint64_t dev_feat)
{
    memset(f, 0, sizeof(*f));
    fe_connect(&f->v, path);
    fe_setup(f, nrings, mem_file_size, num, dev_feat);
}

/* The same, on connected socket @p sock (the front-end's from now on). */
void fe_open_fd(struct fe *f, int sock, int nrings, uint64_t mem_file_size)
{
    memset(f, 0, sizeof(*f));
    vu_front_adopt(&f->v, sock);
    fe_setup(f, nrings, mem_file_size, NUM, 0);
}

void fe_open(struct fe *f, const char *path, int nrings, uint64_t mem_file_size)
{
    fe_open_nf(f, path, nrings, mem_file_size, NUM, 0);
}

void fe_open_n(struct fe *f, const char *path, int nrings,
               uint64_t mem_file_size, uint16_t num)
{
    fe_open_nf(f, path, nrings, mem_file_size, num, 0);
}

void fe_open_feat(struct fe *f, const char *path, int nrings,
                  uint64_t mem_file_size, uint64_t dev_feat)
{
    fe_open_nf(f, path, nrings, mem_file_size, NUM, dev_feat);
}

void fe_close(struct fe *f)
{
    vu_front_close(&f->v);
    munmap(f->mem, MEM_SIZE);
    close(f->memfd);
    for (int q = 0; q < 6; q++) {
        if (f->live[q])
            drv_vq_fini(&f->q[q]);
        if (f->kick[q] > 0)
            close(f->kick[q]);
        if (f->call[q] > 0)
            close(f->call[q]);
    }
}

/* Add one buffer (@p nout readable parts, then @p nin writable) to ring q
 * and publish it (no kick). */
void add(struct fe *f, int q, const struct drv_buf *out, unsigned nout,
         const struct drv_buf *in, unsigned nin, uintptr_t cookie)
{
    ck_assert_int_ge(drv_vq_add(&f->q[q], out, nout, in, nin, DRV_ADD_DIRECT,
                                (void *)cookie),
                     0);
    drv_vq_publish(&f->q[q]);
}

void kick(struct fe *f, int q)
{
    uint64_t one = 1;
    ck_assert_int_eq(write(f->kick[q], &one, 8), 8);
}

/* Collect @p n used buffers of ring q (their cookies into @p cookies when
 * not NULL), waiting on the call fd up to 5 s; returns the used length of
 * the last. */
uint32_t wait_used_n(struct fe *f, int q, unsigned n, uintptr_t *cookies)
{
    uint32_t id, len = 0;
    unsigned got = 0;
    for (int i = 0; i < 500 && got < n; i++) {
        struct pollfd p = {.fd = f->call[q], .events = POLLIN};
        void *cookie;
        int rc;
        while (got < n &&
               (rc = drv_vq_get_used(&f->q[q], &id, &len, &cookie)) == 1) {
            if (cookies != NULL)
                cookies[got] = (uintptr_t)cookie;
            got++;
        }
        ck_assert_ptr_null(drv_vq_error(&f->q[q]));
        if (got < n && poll(&p, 1, 10) == 1) {
            uint64_t v;
            ck_assert_int_eq(read(f->call[q], &v, 8), 8); /* drain */
        }
    }
    ck_assert_uint_eq(got, n);
    return len;
}

uint32_t wait_used(struct fe *f, int q)
{
    return wait_used_n(f, q, 1, NULL);
}

/* One rng request: 64 bytes, a consecutive slice of the source file's
 * pattern (the daemon reads the file on across sessions, so the start is
 * wherever it got to). */
void rng_request(struct fe *f)
{
    struct drv_buf in = {BUF, 64};
    uint32_t len;
    memset(f->mem + BUF, 0, 64);
    add(f, 0, NULL, 0, &in, 1, 0);
    kick(f, 0);
    len = wait_used(f, 0);
    ck_assert_uint_eq(len, 64);
    for (size_t i = 1; i < 64; i++)
        ck_assert_uint_eq(f->mem[BUF + i], (uint8_t)(f->mem[BUF + i - 1] + 7));
}

/* One blk request: header, optional data (512 bytes), status. */
uint8_t blk_request(struct fe *f, uint32_t type, uint64_t sector, int data_in,
                    int data_out, uint32_t *used_len)
{
    uint8_t *h = f->mem + BUF;
    uint32_t zero = 0;
    struct drv_buf out[2] = {{BUF, 16}}, in[2];
    unsigned nout = 1, nin = 0;
    memcpy(h, &type, 4);
    memcpy(h + 4, &zero, 4);
    memcpy(h + 8, &sector, 8);
    f->mem[BUF + 0x1000] = 0xff; /* status */
    if (data_out)
        out[nout++] = (struct drv_buf){BUF + 0x200, 512};
    else if (data_in)
        in[nin++] = (struct drv_buf){BUF + 0x200, 512};
    in[nin++] = (struct drv_buf){BUF + 0x1000, 1};
    add(f, 0, out, nout, in, nin, 0);
    kick(f, 0);
    *used_len = wait_used(f, 0);
    return f->mem[BUF + 0x1000];
}

void rp_stop(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}

pid_t sp_start(const char *sock, const char *spec)
{
    char line[512];
    int out[2], seen = 0;
    pid_t pid;
    FILE *f;

    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *argv[] = {daemon_path, "-v", "--socket", sock,
                              "--device",  spec, NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (!seen && fgets(line, sizeof(line), f) != NULL)
        seen = strncmp(line, "vdm-vhost-user: listening on ", 29) == 0;
    ck_assert(seen);
    fclose(f);
    return pid;
}

void stop_pid(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* Start @p prog (argv @p argv, NULL-terminated) with stdout on a pipe; read
 * its "vdm-vhost-user: ..." start line (listening / serving) into @p line.
 * Descriptors the child inherits stay open in it (no CLOEXEC). */
pid_t spawn_daemon(const char *prog, const char *const *argv, char *line,
                   size_t cap)
{
    int out[2];
    FILE *f;
    pid_t pid;
    int seen = 0;

    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (!seen && fgets(line, (int)cap, f) != NULL)
        seen = strncmp(line, "vdm-vhost-user: ", 16) == 0;
    ck_assert_msg(seen, "%s printed no start line", prog);
    fclose(f);
    return pid;
}
