/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: blk's queue threads and I/O engines. Every
 * engine (aio=sync and, when the daemon has liburing, aio=io_uring; each
 * with and without O_DIRECT) must serve the same bytes and statuses (spec
 * "Block Device" / "Device Operation": data, then the status byte; used
 * length = data written + 1 for IN), including spans that break O_DIRECT's
 * alignment (bounced), many requests in flight on two queues at once
 * (VIRTIO_BLK_F_MQ), writethrough commits (VIRTIO_BLK_F_CONFIG_WCE off:
 * fdatasync before the status), FLUSH, and requests beyond the capacity
 * (IOERR). SIGTERM completes what is in flight on the engines (vhost-user
 * "Ring states": the back-end stops a ring only after the requests it
 * took are used). A guest memory fault on a queue thread drops that
 * front-end only (DESIGN.md "The guest is hostile"). */
#include "test_daemon.h"

#define BLK_F_FLUSH 9
#define BLK_F_MQ    12
#define SECTORS     256 /* 128 KiB disk */
#define QN          32  /* ring size: 8 requests of 4 descriptors at once */

static const char *const engines[] = {
    "aio=sync,direct=off",
    "aio=sync,direct=on",
    /* The file mapped: auto on tmpfs (blk_aio.c memory_backed), and asked
     * for on the test directory's file system. */
    "aio=auto,direct=auto",
    "aio=mmap,direct=off,tmp",
    "aio=mmap,direct=off,writeback=off",
#ifdef VDM_HAVE_LIBURING
    "aio=io_uring,direct=off",
    "aio=io_uring,direct=on",
    "aio=io_uring,direct=on,writeback=off",
    "aio=io_uring,direct=on,poll-us=200",
    /* On the test directory's file system (ext4 on a Debian machine:
     * O_DIRECT with completions that come later, through task work). */
    "aio=io_uring,direct=auto,tmp",
#endif
};

/* A disk image in /dev/shm (tmpfs: O_DIRECT since Linux 6.6), or with
 * @p tmp in the test directory, pattern pat(i ^ 0x55). */
static void make_disk_in(char *path, size_t cap, int tmp)
{
    uint8_t buf[SECTORS * 512];
    int fd;

    if (tmp)
        snprintf(path, cap, "%s/disk.XXXXXX", top_dir);
    else
        snprintf(path, cap, "/dev/shm/vdm-td-disk.XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = pat(i ^ 0x55);
    ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);
}

static void make_disk(char *path, size_t cap)
{
    make_disk_in(path, cap, 0);
}

/* engines[e] as daemon options into @p opts; 1 when its disk goes in the
 * test directory. */
static int engine_opts(size_t e, char *opts, size_t cap)
{
    char *tmp;

    snprintf(opts, cap, "%s", engines[e]);
    tmp = strstr(opts, ",tmp");
    if (tmp != NULL)
        *tmp = '\0';
    return tmp != NULL;
}

static void read_disk(const char *path, uint64_t off, void *dst, size_t n)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, dst, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* A request on ring @p q: header at @p hdr, data spans @p d (device-readable
 * for OUT, device-writable for IN), status byte at @p st. */
static void blk_req(struct fe *f, int q, uint32_t type, uint64_t sector,
                    uint64_t hdr, const struct drv_buf *d, unsigned nd,
                    uint64_t st, uintptr_t cookie)
{
    struct drv_buf out[8] = {{hdr, 16}}, in[8];
    unsigned nout = 1, nin = 0;
    uint32_t zero = 0;

    memcpy(f->mem + hdr, &type, 4);
    memcpy(f->mem + hdr + 4, &zero, 4);
    memcpy(f->mem + hdr + 8, &sector, 8);
    f->mem[st] = 0xff;
    for (unsigned i = 0; i < nd; i++) {
        if (type == 1)
            out[nout++] = d[i];
        else
            in[nin++] = d[i];
    }
    in[nin++] = (struct drv_buf){st, 1};
    add(f, q, out, nout, in, nin, cookie);
}

/* One request, kicked and waited for: its status; *ulen its used length. */
static uint8_t blk_one(struct fe *f, int q, uint32_t type, uint64_t sector,
                       const struct drv_buf *d, unsigned nd, uint32_t *ulen)
{
    blk_req(f, q, type, sector, BUF, d, nd, BUF + 0x80, 0);
    kick(f, q);
    *ulen = wait_used(f, q);
    return f->mem[BUF + 0x80];
}

/* Whether process @p pid has an fd whose link or fdinfo flags match. */
static int has_io_uring(pid_t pid)
{
    char dir[64], p[400], l[128];
    struct dirent *e;
    DIR *dd;
    int found = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    dd = opendir(dir);
    ck_assert_ptr_nonnull(dd);
    while ((e = readdir(dd)) != NULL) {
        ssize_t n;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        n = readlink(p, l, sizeof(l) - 1);
        if (n > 0) {
            l[n] = '\0';
            found |= strstr(l, "io_uring") != NULL;
        }
    }
    closedir(dd);
    return found;
}

/* The daemon's descriptor of @p disk opened with O_DIRECT? */
static int disk_direct(pid_t pid, const char *disk)
{
    char dir[64], p[400], l[400];
    struct dirent *e;
    DIR *dd;
    int direct = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    dd = opendir(dir);
    ck_assert_ptr_nonnull(dd);
    while ((e = readdir(dd)) != NULL) {
        ssize_t n;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        n = readlink(p, l, sizeof(l) - 1);
        if (n <= 0)
            continue;
        l[n] = '\0';
        if (strcmp(l, disk) == 0) {
            char info[400], line[128];
            FILE *fi;
            snprintf(info, sizeof(info), "/proc/%d/fdinfo/%s", (int)pid,
                     e->d_name);
            fi = fopen(info, "r");
            ck_assert_ptr_nonnull(fi);
            while (fgets(line, sizeof(line), fi) != NULL) {
                unsigned long fl;
                if (sscanf(line, "flags: %lo", &fl) == 1 && (fl & O_DIRECT))
                    direct = 1;
            }
            fclose(fi);
        }
    }
    closedir(dd);
    return direct;
}

START_TEST(blk_engines_serve_the_same_bytes)
{
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
        char disk[128], spec[320], sock[128], opts[128];
        uint8_t want[4096], got[4096];
        uint32_t ulen;
        struct fe f;
        pid_t pid;

        make_disk_in(disk, sizeof(disk), engine_opts(e, opts, sizeof(opts)));
        snprintf(sock, sizeof(sock), "%s/aio%zu.sock", top_dir, e);
        snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=2,%s", disk, opts);
        pid = sp_start(sock, spec);
        fe_open_nf(&f, sock, 2, MEM_SIZE, QN,
                   (1ull << BLK_F_MQ) | (1ull << BLK_F_FLUSH));
        if (strstr(opts, "direct=auto") == NULL)
            ck_assert_int_eq(disk_direct(pid, disk),
                             strstr(opts, "direct=on") != NULL);

        /* Aligned: 4 KiB written at sector 8 on queue 0, read on 1. */
        {
            struct drv_buf d = {BUF + 0x1000, 4096};
            for (size_t i = 0; i < 4096; i++)
                want[i] = (uint8_t)(i * 7 + e);
            memcpy(f.mem + BUF + 0x1000, want, 4096);
            ck_assert_uint_eq(blk_one(&f, 0, 1, 8, &d, 1, &ulen), 0);
            ck_assert_uint_eq(ulen, 1);
            memset(f.mem + BUF + 0x1000, 0, 4096);
            ck_assert_uint_eq(blk_one(&f, 1, 0, 8, &d, 1, &ulen), 0);
            ck_assert_uint_eq(ulen, 4097);
            ck_assert_mem_eq(f.mem + BUF + 0x1000, want, 4096);
            read_disk(disk, 8 * 512, got, 4096);
            ck_assert_mem_eq(got, want, 4096);
        }
        /* Unaligned spans (odd address, odd lengths): bounced under
         * O_DIRECT, the same bytes either way. */
        {
            struct drv_buf d[3] = {
                {BUF + 0x3001, 100}, {BUF + 0x4003, 412}, {BUF + 0x5005, 512}};
            for (size_t i = 0; i < 1024; i++)
                want[i] = (uint8_t)(0xa5 ^ i ^ e);
            memcpy(f.mem + BUF + 0x3001, want, 100);
            memcpy(f.mem + BUF + 0x4003, want + 100, 412);
            memcpy(f.mem + BUF + 0x5005, want + 512, 512);
            ck_assert_uint_eq(blk_one(&f, 1, 1, 21, d, 3, &ulen), 0);
            read_disk(disk, 21 * 512, got, 1024);
            ck_assert_mem_eq(got, want, 1024);
            memset(f.mem + BUF + 0x3000, 0, 0x3000);
            ck_assert_uint_eq(blk_one(&f, 0, 0, 21, d, 3, &ulen), 0);
            ck_assert_uint_eq(ulen, 1025);
            ck_assert_mem_eq(f.mem + BUF + 0x3001, want, 100);
            ck_assert_mem_eq(f.mem + BUF + 0x4003, want + 100, 412);
            ck_assert_mem_eq(f.mem + BUF + 0x5005, want + 512, 512);
            /* The untouched disk around it reads as it was. */
            read_disk(disk, 20 * 512, got, 512);
            for (size_t i = 0; i < 512; i++)
                ck_assert_uint_eq(got[i], pat((20 * 512 + i) ^ 0x55));
        }
        /* Eight reads in flight on each queue, one kick each. */
        {
            uintptr_t ck[8];
            for (int q = 0; q < 2; q++)
                for (unsigned k = 0; k < 8; k++) {
                    uint64_t a = BUF + 0x10000 + 0x2000 * (8u * q + k);
                    struct drv_buf d = {a, 1024};
                    memset(f.mem + a, 0, 1024);
                    blk_req(&f, q, 0, 64 + 2 * (8u * q + k), a + 0x1800, &d, 1,
                            a + 0x1900, a);
                }
            kick(&f, 0);
            kick(&f, 1);
            for (int q = 0; q < 2; q++) {
                wait_used_n(&f, q, 8, ck);
                for (unsigned k = 0; k < 8; k++) {
                    uint64_t a = ck[k];
                    uint64_t sector = 64 + (a - BUF - 0x10000) / 0x2000 * 2;
                    ck_assert_uint_eq(f.mem[a + 0x1900], 0);
                    for (size_t i = 0; i < 1024; i++)
                        ck_assert_uint_eq(f.mem[a + i],
                                          pat((sector * 512 + i) ^ 0x55));
                }
            }
        }
        /* FLUSH; a read past the end: IOERR, nothing read. */
        {
            struct drv_buf d = {BUF + 0x1000, 1024};
            ck_assert_uint_eq(blk_one(&f, 0, 4, 0, NULL, 0, &ulen), 0);
            ck_assert_uint_eq(blk_one(&f, 1, 0, SECTORS - 1, &d, 1, &ulen), 1);
            ck_assert_uint_eq(ulen, 1);
        }
#ifdef VDM_HAVE_LIBURING
        ck_assert_int_eq(has_io_uring(pid), strstr(opts, "io_uring") != NULL);
#endif
        fe_close(&f);
        stop_pid(pid);
        unlink(disk);
    }
}
END_TEST

/* SIGTERM with requests in flight on both queues' engines: every one is
 * completed (status and data) before the daemon exits, within a second. */
START_TEST(blk_sigterm_drains_queue_threads)
{
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e += 2) {
        char disk[128], spec[320], sock[128], opts[128];
        struct fe f;
        pid_t pid;
        int st;
        double t;
        struct timespec t0, t1;

        make_disk_in(disk, sizeof(disk), engine_opts(e, opts, sizeof(opts)));
        snprintf(sock, sizeof(sock), "%s/term%zu.sock", top_dir, e);
        snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=2,%s", disk, opts);
        pid = sp_start(sock, spec);
        fe_open_nf(&f, sock, 2, MEM_SIZE, QN, 1ull << BLK_F_MQ);
        for (int q = 0; q < 2; q++)
            for (unsigned k = 0; k < 8; k++) {
                uint64_t a = BUF + 0x10000 + 0x2000 * (8u * q + k);
                struct drv_buf d = {a, 512};
                memset(f.mem + a, 0x30 + (int)(8 * q + k), 512);
                blk_req(&f, q, 1, 128 + 8u * q + k, a + 0x1800, &d, 1,
                        a + 0x1900, a);
            }
        kick(&f, 0);
        kick(&f, 1);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(kill(pid, SIGTERM), 0);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        t = (double)(t1.tv_sec - t0.tv_sec) +
            (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        ck_assert(WIFEXITED(st));
        ck_assert_int_eq(WEXITSTATUS(st), 0);
        ck_assert_msg(t < 1.0, "exit took %.3f s", t);
        for (int q = 0; q < 2; q++) {
            wait_used_n(&f, q, 8, NULL);
            for (unsigned k = 0; k < 8; k++) {
                uint8_t got[512];
                uint64_t a = BUF + 0x10000 + 0x2000 * (8u * q + k);
                ck_assert_uint_eq(f.mem[a + 0x1900], 0);
                read_disk(disk, (128 + 8u * q + k) * 512, got, 512);
                for (size_t i = 0; i < 512; i++)
                    ck_assert_uint_eq(got[i], 0x30 + 8 * q + k);
            }
        }
        fe_close(&f);
        unlink(disk);
    }
}
END_TEST

/* The memory file shrinks under a request a queue thread serves: that
 * front-end is dropped (SIGBUS caught on the queue thread), the daemon
 * lives, leaks no descriptor and serves the next front-end. */
START_TEST(blk_queue_thread_survives_memory_fault)
{
    char disk[64], spec[256], sock[128];
    struct fe f;
    uint32_t ulen;
    pid_t pid;
    char c;
    struct daemon dm;
    int base;

    make_disk(disk, sizeof(disk));
    snprintf(sock, sizeof(sock), "%s/fault.sock", top_dir);
    snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=2,aio=auto", disk);
    pid = sp_start(sock, spec);
    memset(&dm, 0, sizeof(dm));
    dm.pid = pid;
    base = count_fds(&dm);
    fe_open_nf(&f, sock, 2, MEM_SIZE, QN, 1ull << BLK_F_MQ);
    {
        struct drv_buf d = {BUF + 0x1000, 512};
        ck_assert_uint_eq(blk_one(&f, 1, 0, 0, &d, 1, &ulen), 0);
        blk_req(&f, 1, 0, 1, BUF, &d, 1, BUF + 0x80, 0);
    }
    munmap(f.mem, MEM_SIZE);
    f.mem = mmap(NULL, MEM_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_int_eq(ftruncate(f.memfd, 0), 0);
    kick(&f, 1);
    ck_assert_int_eq(recv(f.v.sock, &c, 1, 0), 0);
    fe_close(&f);
    ck_assert_int_eq(kill(pid, 0), 0);
    wait_fds(&dm, base);
    fe_open_nf(&f, sock, 2, MEM_SIZE, QN, 1ull << BLK_F_MQ);
    {
        struct drv_buf d = {BUF + 0x1000, 512};
        ck_assert_uint_eq(blk_one(&f, 1, 0, 2, &d, 1, &ulen), 0);
        for (size_t i = 0; i < 512; i++)
            ck_assert_uint_eq(f.mem[BUF + 0x1000 + i],
                              pat((2 * 512 + i) ^ 0x55));
    }
    fe_close(&f);
    wait_fds(&dm, base);
    stop_pid(pid);
    unlink(disk);
}
END_TEST

/* poll-us=N: after serving, the queue thread keeps looking at the ring, so
 * a request made available without a kick is served (a device may look at
 * the available ring at any time: spec "Virtqueues", "Notifications");
 * without it (poll-us=0, the default) such a request waits for its kick. */
START_TEST(blk_poll_us_serves_without_kick)
{
    for (int poll = 0; poll < 2; poll++) {
        char disk[64], spec[256], sock[128];
        struct drv_buf d = {BUF + 0x1000, 512};
        struct fe f;
        uint32_t ulen;
        pid_t pid;

        make_disk(disk, sizeof(disk));
        snprintf(sock, sizeof(sock), "%s/poll%d.sock", top_dir, poll);
        snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=1,poll-us=%d",
                 disk, poll ? 1000000 : 0);
        pid = sp_start(sock, spec);
        fe_open_nf(&f, sock, 1, MEM_SIZE, QN, 0);
        ck_assert_uint_eq(blk_one(&f, 0, 0, 3, &d, 1, &ulen), 0);
        /* The next one, no kick. */
        memset(f.mem + BUF + 0x1000, 0, 512);
        blk_req(&f, 0, 0, 5, BUF, &d, 1, BUF + 0x80, 0);
        if (poll) {
            ck_assert_uint_eq(wait_used(&f, 0), 513);
        } else {
            usleep(300 * 1000);
            ck_assert_int_eq(drv_vq_get_used(&f.q[0], NULL, NULL, NULL), 0);
            kick(&f, 0);
            ck_assert_uint_eq(wait_used(&f, 0), 513);
        }
        ck_assert_uint_eq(f.mem[BUF + 0x80], 0);
        for (size_t i = 0; i < 512; i++)
            ck_assert_uint_eq(f.mem[BUF + 0x1000 + i],
                              pat((5 * 512 + i) ^ 0x55));
        fe_close(&f);
        stop_pid(pid);
        unlink(disk);
    }
}
END_TEST

void td_add_blk_aio(Suite *s)
{
    TD_ADD(s, blk_poll_us_serves_without_kick);
    TD_ADD(s, blk_engines_serve_the_same_bytes);
    TD_ADD(s, blk_sigterm_drains_queue_threads);
    TD_ADD(s, blk_queue_thread_survives_memory_fault);
}
