/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: dirty-page logging for live migration
 * (vhost-user "Migration", "Dirty pages logging", SET_LOG_BASE with
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD, VHOST_F_LOG_ALL, VHOST_VRING_F_LOG).
 * The front-end hands the daemon a shared log, blk requests run, and the
 * log must name every guest page whose bytes the daemon changed, and no
 * page it left alone but the used ring's. */
#include "test_daemon.h"

#define LOG_BYTES (MEM_SIZE / 4096u / 8u) /* 1 bit per 4 KiB page */
#define USED_Q0   0x3000u                 /* ring 0's used ring (fe_setup) */

struct lg {
    int fd;
    uint8_t *map;
};

static int marked(const struct lg *l, uint64_t gpa)
{
    uint64_t pg = gpa / 4096u;
    return (__atomic_load_n(&l->map[pg / 8], __ATOMIC_ACQUIRE) >> (pg % 8)) & 1;
}

/* Guest memory before vs now against the log: every changed page marked,
 * every marked page changed or ring 0's used ring. Clears the log (as the
 * front-end's sync does). */
static void judge(struct fe *f, const struct lg *l, const uint8_t *before)
{
    for (uint64_t pg = 0; pg < MEM_SIZE / 4096u; pg++) {
        int ch = memcmp(before + pg * 4096u, f->mem + pg * 4096u, 4096) != 0;
        ck_assert_msg(!ch || marked(l, pg * 4096u),
                      "page %#llx written but not in the log",
                      (unsigned long long)(pg * 4096u));
        ck_assert_msg(!marked(l, pg * 4096u) || ch || pg == USED_Q0 / 4096u,
                      "page %#llx in the log but not written",
                      (unsigned long long)(pg * 4096u));
    }
    memset(l->map, 0, LOG_BYTES);
}

/* One blk request on ring 0: header at BUF, data (512 bytes, device-
 * writable when @p in) at BUF + 0x2200, status at BUF + 0x5000, each on
 * its own page; the data buffer starts as the complement of @p expect.
 * Returns the status. */
static uint8_t blk_logged(struct fe *f, const struct lg *l, uint32_t type,
                          uint64_t sector, int in, const uint8_t *expect)
{
    static uint8_t before[MEM_SIZE];
    uint8_t *h = f->mem + BUF;
    uint32_t zero = 0;
    struct drv_buf out[1] = {{BUF, 16}}, wr[2];
    unsigned nin = 0;

    memcpy(h, &type, 4);
    memcpy(h + 4, &zero, 4);
    memcpy(h + 8, &sector, 8);
    for (int i = 0; i < 512; i++)
        f->mem[BUF + 0x2200 + i] = (uint8_t)~expect[i];
    f->mem[BUF + 0x5000] = 0xff;
    if (in)
        wr[nin++] = (struct drv_buf){BUF + 0x2200, 512};
    wr[nin++] = (struct drv_buf){BUF + 0x5000, 1};
    add(f, 0, out, 1, wr, nin, 0);
    memcpy(before, f->mem, MEM_SIZE);
    kick(f, 0);
    (void)wait_used(f, 0);
    judge(f, l, before);
    return f->mem[BUF + 0x5000];
}

START_TEST(dirty_log_blk)
{
    struct daemon dm;
    struct fe f;
    struct lg l;
    uint8_t disk[512];
    uint64_t feat, proto, logd[2] = {LOG_BYTES, 0};
    int fd;

    start_daemon(&dm);
    fd = open(dm.disk, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, disk, sizeof(disk), 512), 512); /* sector 1 */
    close(fd);
    fe_open(&f, dm.blk_sock, 1, MEM_SIZE);
    /* LOG_SHMFD and LOG_ALL are offered */
    proto = fe_u64(&f.v, VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    ck_assert(proto & (1ull << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD));
    feat = fe_u64(&f.v, VDM_VHOST_USER_GET_FEATURES);
    ck_assert(feat & VDM_VHOST_F_LOG_ALL);
    proto = (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIG) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_MQ) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD);
    fe_send(&f.v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
    /* the log: shared memory, as QEMU's (a memfd) */
    l.fd = memfd_create("log", MFD_CLOEXEC);
    ck_assert_int_ge(l.fd, 0);
    ck_assert_int_eq(ftruncate(l.fd, 4096), 0);
    l.map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.fd, 0);
    ck_assert(l.map != MAP_FAILED);
    /* SET_LOG_BASE answers ("Communication") with a u64 0 */
    fe_send(&f.v, VDM_VHOST_USER_SET_LOG_BASE, 0, logd, 16, &l.fd, 1);
    ck_assert_int_eq(vu_front_recv(&f.v, VDM_VHOST_USER_SET_LOG_BASE), 8);
    ck_assert_uint_eq(vu_front_reply_u64(&f.v), 0);
    /* logging on: LOG_ALL, then ring 0 logs its used ring at its gpa */
    feat = DRV_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES |
           VDM_VHOST_F_LOG_ALL;
    ck_assert_uint_eq(
        fe_acked(&f.v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
    {
        uint8_t a[40];
        uint32_t idx = 0, flags = 1; /* VHOST_VRING_F_LOG */
        uint64_t desc = (uint64_t)(uintptr_t)f.mem + 0x1000,
                 used = (uint64_t)(uintptr_t)f.mem + USED_Q0,
                 avail = (uint64_t)(uintptr_t)f.mem + 0x2000, lg = USED_Q0;
        memcpy(a, &idx, 4);
        memcpy(a + 4, &flags, 4);
        memcpy(a + 8, &desc, 8);
        memcpy(a + 16, &used, 8);
        memcpy(a + 24, &avail, 8);
        memcpy(a + 32, &lg, 8);
        ck_assert_uint_eq(
            fe_acked(&f.v, VDM_VHOST_USER_SET_VRING_ADDR, a, 40, NULL, 0), 0);
    }
    /* a read: data page and status page and the used ring, nothing else */
    ck_assert_uint_eq(blk_logged(&f, &l, 0 /* IN */, 1, 1, disk), 0);
    ck_assert_mem_eq(f.mem + BUF + 0x2200, disk, 512);
    /* a write: only the status and the used ring (the data is read) */
    ck_assert_uint_eq(blk_logged(&f, &l, 1 /* OUT */, 1, 0, disk), 0);
    /* a failed read: used length 1, the status only */
    ck_assert_uint_eq(blk_logged(&f, &l, 0 /* IN */, 100000, 1, disk), 1);
    ck_assert(!marked(&l, BUF + 0x2200));
    /* logging off: the log stays empty */
    feat &= ~VDM_VHOST_F_LOG_ALL;
    ck_assert_uint_eq(
        fe_acked(&f.v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
    {
        uint32_t ulen;
        ck_assert_uint_eq(blk_request(&f, 0, 1, 1, 0, &ulen), 0);
        for (unsigned i = 0; i < LOG_BYTES; i++)
            ck_assert_uint_eq(l.map[i], 0);
    }
    fe_close(&f);
    munmap(l.map, 4096);
    close(l.fd);
    stop_daemon(&dm);
}
END_TEST

/* Wait (5 s at most) until file @p path holds @p needle. */
static int file_has(const char *path, const char *needle)
{
    static char buf[16384];

    for (int i = 0; i < 500; i++) {
        FILE *fp = fopen(path, "r");
        size_t n = 0;

        if (fp != NULL) {
            n = fread(buf, 1, sizeof(buf) - 1, fp);
            fclose(fp);
        }
        buf[n] = '\0';
        if (strstr(buf, needle) != NULL)
            return 1;
        usleep(10000);
    }
    fprintf(stderr, "not in %s: '%s'; it holds:\n%s", path, needle, buf);
    return 0;
}

/* LOG_ALL on or off (the rings run: only that bit changes). */
static void log_all(struct fe *f, int on)
{
    uint64_t feat = DRV_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES |
                    (on ? VDM_VHOST_F_LOG_ALL : 0);
    ck_assert_uint_eq(
        fe_acked(&f->v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
}

/* The daemon says (info, -v) when dirty logging comes on and, when it goes
 * off or the front-end goes, how many requests the device took while it
 * was on: what tests/e2e/migrate.sh checks on a real migration. */
START_TEST(dirty_log_reported)
{
    char sock[128], disk[128], err[128], line[512];
    uint64_t proto, logd[2] = {LOG_BYTES, 0};
    uint8_t zero[65536] = {0};
    int out[2], efd, seen = 0;
    uint32_t ulen;
    struct lg l;
    struct fe f;
    pid_t pid;
    FILE *fp;

    snprintf(sock, sizeof(sock), "%s/dlr.sock", top_dir);
    snprintf(disk, sizeof(disk), "%s/dlr.img", top_dir);
    snprintf(err, sizeof(err), "%s/dlr.log", top_dir);
    write_file(disk, zero, sizeof(zero));
    efd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(efd, 0);
    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char spec[200];
        snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=1", disk);
        const char *argv[] = {daemon_path, "-v", "--socket", sock,
                              "--device",  spec, NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        dup2(efd, 2);
        close(out[0]);
        close(out[1]);
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(efd);
    fp = fdopen(out[0], "r");
    while (!seen && fgets(line, sizeof(line), fp) != NULL)
        seen = strncmp(line, "vdm-vhost-user: listening on ", 29) == 0;
    ck_assert(seen);
    fclose(fp);

    fe_open(&f, sock, 1, MEM_SIZE);
    proto = (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIG) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_MQ) |
            (1ull << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD);
    fe_send(&f.v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
    l.fd = memfd_create("log", MFD_CLOEXEC);
    ck_assert_int_ge(l.fd, 0);
    ck_assert_int_eq(ftruncate(l.fd, 4096), 0);
    /* a request before logging is not counted */
    ck_assert_uint_eq(blk_request(&f, 0, 1, 1, 0, &ulen), 0);
    fe_send(&f.v, VDM_VHOST_USER_SET_LOG_BASE, 0, logd, 16, &l.fd, 1);
    ck_assert_int_eq(vu_front_recv(&f.v, VDM_VHOST_USER_SET_LOG_BASE), 8);
    ck_assert_uint_eq(vu_front_reply_u64(&f.v), 0);
    log_all(&f, 1);
    ck_assert(file_has(err,
                       "info: dirty logging on (VHOST_F_LOG_ALL, the log of "
                       "SET_LOG_BASE): 32 bytes, 4096-byte pages\n"));
    /* a read (512 bytes into guest memory) and a write */
    ck_assert_uint_eq(blk_request(&f, 0, 1, 1, 0, &ulen), 0);
    ck_assert_uint_eq(blk_request(&f, 1, 2, 0, 1, &ulen), 0);
    log_all(&f, 0);
    ck_assert(file_has(
        err, "info: dirty logging: 2 requests taken while on (1 reads, "
             "512 bytes into guest memory), now off\n"));
    /* on again: counted afresh, reported when the front-end goes */
    log_all(&f, 1);
    ck_assert_uint_eq(blk_request(&f, 1, 2, 0, 1, &ulen), 0);
    fe_close(&f);
    ck_assert(file_has(
        err, "info: dirty logging: 1 requests taken while on (0 reads, "
             "0 bytes into guest memory), front-end gone\n"));
    close(l.fd);
    stop_pid(pid);
}
END_TEST

void td_add_dirty(Suite *s)
{
    TD_ADD(s, dirty_log_blk);
    TD_ADD(s, dirty_log_reported);
}
