/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: vfio-user (--vfio-user PATH, next to a vhost-user
 * socket in one process): VERSION, DEVICE_GET_INFO, the PCI ids read from
 * configuration space, a DMA map's lifetime, hostile clients dropped without
 * leaks. */
#include "test_daemon.h"

/* ------------------------------------------------------------------------ */
/* vfio-user (--vfio-user PATH): a few messages of the protocol spoken by
 * hand, hostile clients, and the same process serving vhost-user too. */

#define VFU_HDR 16u

/* Connect to the vfio-user socket @p path. */
static int vfu_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    ck_assert_int_ge(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Send command @p cmd (id @p id) with payload @p pl and fds. */
static void vfu_send(int fd, uint16_t id, uint16_t cmd, const void *pl,
                     uint32_t len, const int *fds, unsigned nfds)
{
    uint8_t m[VFU_HDR + 512];
    uint32_t size = VFU_HDR + len, zero = 0;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 20)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {m, size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ck_assert_uint_le(len, 512);
    memcpy(m, &id, 2);
    memcpy(m + 2, &cmd, 2);
    memcpy(m + 4, &size, 4);
    memcpy(m + 8, &zero, 4);
    memcpy(m + 12, &zero, 4);
    if (len)
        memcpy(m + VFU_HDR, pl, len);
    if (nfds > 0) {
        struct cmsghdr *c;
        memset(&ctrl, 0, sizeof(ctrl));
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)size);
}

/* Receive one reply to (@p id, @p cmd): its payload into @p pl (at most
 * @p cap bytes); returns the payload length. The error flag must be clear. */
static uint32_t vfu_recv(int fd, uint16_t id, uint16_t cmd, void *pl,
                         uint32_t cap)
{
    uint8_t h[VFU_HDR];
    uint16_t rid, rcmd;
    uint32_t size, flags, err;
    ck_assert_int_eq(recv(fd, h, VFU_HDR, MSG_WAITALL), (ssize_t)VFU_HDR);
    memcpy(&rid, h, 2);
    memcpy(&rcmd, h + 2, 2);
    memcpy(&size, h + 4, 4);
    memcpy(&flags, h + 8, 4);
    memcpy(&err, h + 12, 4);
    ck_assert_uint_eq(rid, id);
    ck_assert_uint_eq(rcmd, cmd);
    ck_assert_uint_eq(flags & 0xfu, 1u); /* a reply */
    ck_assert_msg((flags & 0x20u) == 0, "command %u failed: errno %u", cmd,
                  err);
    ck_assert_uint_ge(size, VFU_HDR);
    ck_assert_uint_le(size - VFU_HDR, cap);
    if (size > VFU_HDR)
        ck_assert_int_eq(recv(fd, pl, size - VFU_HDR, MSG_WAITALL),
                         (ssize_t)(size - VFU_HDR));
    return size - VFU_HDR;
}

/* The connection was closed by the daemon (EOF, no reply). */
static void vfu_expect_eof(int fd)
{
    uint8_t b[64];
    ck_assert_int_eq(recv(fd, b, sizeof(b), 0), 0);
}

/* VERSION as QEMU 11.1 sends it; the reply is 0.0 with capabilities. */
static void vfu_version(int fd)
{
    static const char caps[] =
        "{\"capabilities\":{\"max_data_xfer_size\":1048576,"
        "\"max_dma_maps\":65535,\"max_msg_fds\":16,\"migration\":{"
        "\"max_bitmap_size\":268435456,\"pgsize\":4096},\"pgsizes\":4096,"
        "\"write_multiple\":true}}";
    uint8_t p[512];
    uint16_t major = 0, minor = 0;
    uint32_t n;
    memcpy(p, &major, 2);
    memcpy(p + 2, &minor, 2);
    memcpy(p + 4, caps, sizeof(caps)); /* NUL-terminated */
    vfu_send(fd, 1, 1, p, 4 + (uint32_t)sizeof(caps), NULL, 0);
    memset(p, 0, sizeof(p));
    n = vfu_recv(fd, 1, 1, p, sizeof(p) - 1);
    ck_assert_uint_gt(n, 4);
    memcpy(&major, p, 2);
    memcpy(&minor, p + 2, 2);
    ck_assert_uint_eq(major, 0);
    ck_assert_uint_eq(minor, 0);
    ck_assert_ptr_nonnull(strstr((char *)p + 4, "\"max_msg_fds\""));
    ck_assert_ptr_nonnull(strstr((char *)p + 4, "\"max_data_xfer_size\""));
}

/* REGION_READ of @p count bytes at @p off in @p region. */
static void vfu_read(int fd, uint16_t id, uint32_t region, uint64_t off,
                     uint32_t count, uint8_t *out)
{
    uint8_t p[16 + 256];
    uint64_t roff;
    uint32_t rreg, rcount;
    ck_assert_uint_le(count, 256);
    memcpy(p, &off, 8);
    memcpy(p + 8, &region, 4);
    memcpy(p + 12, &count, 4);
    vfu_send(fd, id, 9, p, 16, NULL, 0);
    ck_assert_uint_eq(vfu_recv(fd, id, 9, p, sizeof(p)), 16 + count);
    memcpy(&roff, p, 8);
    memcpy(&rreg, p + 8, 4);
    memcpy(&rcount, p + 12, 4);
    ck_assert_uint_eq(roff, off);
    ck_assert_uint_eq(rreg, region);
    ck_assert_uint_eq(rcount, count);
    memcpy(out, p + 16, count);
}

/* Whether the daemon maps a file called @p name (memfd:NAME). */
static int maps_file(pid_t pid, const char *name)
{
    char path[64], line[512];
    int found = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL)
        found |= strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* Wait (up to 2 s) until the daemon maps (@p want 1) or no longer maps
 * (@p want 0) the file called @p name. */
static void wait_maps(pid_t pid, const char *name, int want)
{
    for (int i = 0; i < 200 && maps_file(pid, name) != want; i++)
        usleep(10000);
    ck_assert_int_eq(maps_file(pid, name), want);
}

START_TEST(serves_vfio_user)
{
    struct daemon dm;
    char dir[80], vsock[120], usock[120], line[256], want[200];
    uint8_t p[64];
    int fd, base, mfd, fds[20];
    uint32_t w[4], n;

    snprintf(dir, sizeof(dir), "%s/vfu.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(vsock, sizeof(vsock), "%s/rng.vfu", dir);
    snprintf(usock, sizeof(usock), "%s/blk.sock", dir);
    memset(&dm, 0, sizeof(dm));
    snprintf(dm.rng_sock, sizeof(dm.rng_sock), "%s", vsock);
    snprintf(dm.dir, sizeof(dm.dir), "%s", dir);
    {
        const char *argv[] = {
            daemon_path, "--vfio-user", vsock,
            "--device",  "rng",         "--socket",
            usock,       "--device",    "blk,backend=null,size=1048576",
            NULL};
        dm.pid = spawn_daemon(daemon_path, argv, line, sizeof(line));
    }
    snprintf(want, sizeof(want), "vdm-vhost-user: listening on %s\n", vsock);
    ck_assert_str_eq(line, want);
    /* wait until both sockets are there (two start lines) */
    for (int i = 0; i < 200 && access(usock, F_OK) != 0; i++)
        usleep(10000);
    base = count_fds(&dm);

    /* VERSION, DEVICE_GET_INFO, the vendor and device ids. */
    fd = vfu_connect(vsock);
    vfu_version(fd);
    w[0] = 16;
    w[1] = w[2] = w[3] = 0;
    vfu_send(fd, 2, 4, w, 16, NULL, 0);
    ck_assert_uint_eq(vfu_recv(fd, 2, 4, w, sizeof(w)), 16);
    ck_assert_uint_eq(w[0], 16);
    ck_assert_uint_eq(w[1], 0x3u); /* VFIO_DEVICE_FLAGS_RESET | PCI */
    ck_assert_uint_eq(w[2], 9);    /* regions */
    ck_assert_uint_eq(w[3], 5);    /* interrupt types */
    vfu_read(fd, 3, 7, 0, 4, p);   /* configuration space */
    ck_assert_uint_eq(p[0], 0xf4); /* vendor 0x1af4 */
    ck_assert_uint_eq(p[1], 0x1a);
    ck_assert_uint_eq(p[2], 0x44); /* device 0x1044: virtio-rng, modern */
    ck_assert_uint_eq(p[3], 0x10);

    /* The vhost-user socket of the same process answers meanwhile. */
    {
        struct vu_front v;
        fe_connect(&v, usock);
        ck_assert_uint_ne(fe_u64(&v, VDM_VHOST_USER_GET_FEATURES), 0);
        vu_front_close(&v);
    }

    /* A DMA region with a memory file: mapped while the client is there,
     * unmapped (and its fd closed) when it goes away. */
    mfd = memfd_create("vdm-vfu-dma", MFD_CLOEXEC);
    ck_assert_int_ge(mfd, 0);
    ck_assert_int_eq(ftruncate(mfd, 65536), 0);
    {
        uint8_t m[32];
        uint32_t argsz = 32, flags = 3;
        uint64_t off = 4096, iova = 0x100000, size = 16384;
        memcpy(m, &argsz, 4);
        memcpy(m + 4, &flags, 4);
        memcpy(m + 8, &off, 8);
        memcpy(m + 16, &iova, 8);
        memcpy(m + 24, &size, 8);
        vfu_send(fd, 4, 2, m, 32, &mfd, 1);
        ck_assert_uint_eq(vfu_recv(fd, 4, 2, m, sizeof(m)), 0);
    }
    close(mfd);
    wait_maps(dm.pid, "vdm-vfu-dma", 1);
    close(fd);
    wait_maps(dm.pid, "vdm-vfu-dma", 0);
    wait_fds(&dm, base);

    /* Hostile clients, each dropped without a reply, the next one served:
     * a header announcing fewer bytes than a header, one announcing more
     * than any message, a command before VERSION, a truncated message;
     * with file descriptors attached, none of which may stay open. */
    for (int k = 0; k < 4; k++) {
        uint8_t h[VFU_HDR];
        uint32_t size = k == 0 ? 3u : k == 1 ? 0xffffffffu : 0u;
        for (int i = 0; i < 20; i++)
            fds[i] = eventfd(0, EFD_CLOEXEC);
        fd = vfu_connect(vsock);
        if (k == 2) {
            w[0] = 16;
            w[1] = w[2] = w[3] = 0;
            vfu_send(fd, 9, 4, w, 16, fds, 3); /* DEVICE_GET_INFO first */
        } else if (k == 3) {
            vfu_version(fd);
            size = VFU_HDR + 16;
            memset(h, 0, sizeof(h));
            h[2] = 9; /* REGION_READ, 16 bytes of payload announced */
            memcpy(h + 4, &size, 4);
            ck_assert_int_eq(send(fd, h, sizeof(h), MSG_NOSIGNAL),
                             (ssize_t)sizeof(h));
            shutdown(fd, SHUT_WR); /* ... that never come */
        } else {
            memset(h, 0xa5, sizeof(h));
            memcpy(h + 4, &size, 4);
            struct iovec iov = {h, sizeof(h)};
            union {
                char buf[CMSG_SPACE(sizeof(int) * 20)];
                struct cmsghdr align;
            } ctrl;
            struct msghdr mh = {.msg_iov = &iov,
                                .msg_iovlen = 1,
                                .msg_control = ctrl.buf,
                                .msg_controllen = sizeof(ctrl.buf)};
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * 20); /* more than 16 */
            memcpy(CMSG_DATA(c), fds, sizeof(int) * 20);
            ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL),
                             (ssize_t)sizeof(h));
        }
        vfu_expect_eof(fd);
        close(fd);
        for (int i = 0; i < 20; i++)
            close(fds[i]);
        ck_assert(alive(&dm));
        wait_fds(&dm, base);

        fd = vfu_connect(vsock);
        vfu_version(fd);
        vfu_read(fd, 5, 7, 2, 2, p);
        ck_assert_uint_eq(p[0] | p[1] << 8, 0x1044);
        close(fd);
        wait_fds(&dm, base);
    }

    /* An unsupported command is refused with an error reply, not a drop. */
    fd = vfu_connect(vsock);
    vfu_version(fd);
    vfu_send(fd, 6, 16, w, 16, NULL, 0); /* DEVICE_FEATURE */
    ck_assert_int_eq(recv(fd, p, VFU_HDR, MSG_WAITALL), (ssize_t)VFU_HDR);
    memcpy(&n, p + 8, 4);
    ck_assert_uint_eq(n & 0x2fu, 0x21u); /* reply, error */
    vfu_read(fd, 7, 7, 0, 2, p);
    ck_assert_uint_eq(p[0] | p[1] << 8, 0x1af4);
    close(fd);
    wait_fds(&dm, base);

    stop_daemon(&dm);
}
END_TEST

/* gpu over vfio-user: only with a display of the daemon's own (out=DIR);
 * served as a modern virtio-gpu function, its EDID written to DIR. */
START_TEST(serves_gpu_over_vfio_user)
{
    struct daemon dm;
    char dir[80], vsock[120], spec[160], path[140], line[256], want[200];
    uint8_t p[4];
    struct stat st;
    int fd;

    snprintf(dir, sizeof(dir), "%s/vfugpu.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(vsock, sizeof(vsock), "%s/gpu.vfu", dir);
    snprintf(spec, sizeof(spec), "gpu,width=64,height=48,out=%s", dir);
    memset(&dm, 0, sizeof(dm));
    snprintf(dm.rng_sock, sizeof(dm.rng_sock), "%s", vsock);
    snprintf(dm.dir, sizeof(dm.dir), "%s", dir);
    {
        const char *argv[] = {daemon_path, "--vfio-user", vsock,
                              "--device",  spec,          NULL};
        dm.pid = spawn_daemon(daemon_path, argv, line, sizeof(line));
    }
    snprintf(want, sizeof(want), "vdm-vhost-user: listening on %s\n", vsock);
    ck_assert_str_eq(line, want);
    fd = vfu_connect(vsock);
    vfu_version(fd);
    vfu_read(fd, 3, 7, 2, 2, p); /* device id: 0x1050, virtio-gpu */
    ck_assert_uint_eq(p[0] | p[1] << 8, 0x1050);
    close(fd);
    snprintf(path, sizeof(path), "%s/edid0.bin", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 128);
    stop_daemon(&dm);
}
END_TEST

void td_add_vfio_user(Suite *s)
{
    TD_ADD(s, serves_vfio_user);
    TD_ADD(s, serves_gpu_over_vfio_user);
}
