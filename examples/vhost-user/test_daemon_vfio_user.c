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

/* Send command @p cmd (id @p id, header flags @p fl) with payload @p pl
 * and fds. */
static void vfu_send_fl(int fd, uint16_t id, uint16_t cmd, uint32_t fl,
                        const void *pl, uint32_t len, const int *fds,
                        unsigned nfds)
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
    memcpy(m + 8, &fl, 4);
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

/* Send command @p cmd (id @p id) with payload @p pl and fds. */
static void vfu_send(int fd, uint16_t id, uint16_t cmd, const void *pl,
                     uint32_t len, const int *fds, unsigned nfds)
{
    vfu_send_fl(fd, id, cmd, 0, pl, len, fds, nfds);
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

/* Receive one message's header (and payload into @p pl, at most @p cap
 * bytes); returns the header's size field. */
static uint32_t vfu_recv_msg(int fd, uint8_t h[VFU_HDR], void *pl, uint32_t cap)
{
    uint32_t size;
    ck_assert_int_eq(recv(fd, h, VFU_HDR, MSG_WAITALL), (ssize_t)VFU_HDR);
    memcpy(&size, h + 4, 4);
    ck_assert_uint_ge(size, VFU_HDR);
    ck_assert_uint_le(size - VFU_HDR, cap);
    if (size > VFU_HDR)
        ck_assert_int_eq(recv(fd, pl, size - VFU_HDR, MSG_WAITALL),
                         (ssize_t)(size - VFU_HDR));
    return size;
}

/* REGION_WRITE of @p count (<= 8) bytes of @p v; @p posted: No_reply, as
 * QEMU 11.1 sends BAR writes. */
static void vfu_write(int fd, uint16_t id, uint32_t region, uint64_t off,
                      uint32_t count, uint64_t v, int posted)
{
    uint8_t p[16 + 8];
    memcpy(p, &off, 8);
    memcpy(p + 8, &region, 4);
    memcpy(p + 12, &count, 4);
    memcpy(p + 16, &v, 8); /* little-endian registers: the low bytes */
    vfu_send_fl(fd, id, 10, posted ? 0x10u : 0u, p, 16 + count, NULL, 0);
    if (posted)
        return;
    ck_assert_uint_eq(vfu_recv(fd, id, 10, p, sizeof(p)), 16);
}

/* DMA_MAP of [iova, iova+size) with memory file @p mfd, or none (-1). */
static void vfu_map(int fd, uint16_t id, uint64_t iova, uint64_t size, int mfd)
{
    uint8_t m[32];
    uint32_t argsz = 32, flags = 3;
    uint64_t off = 0;
    memcpy(m, &argsz, 4);
    memcpy(m + 4, &flags, 4);
    memcpy(m + 8, &off, 8);
    memcpy(m + 16, &iova, 8);
    memcpy(m + 24, &size, 8);
    vfu_send(fd, id, 2, m, 32, mfd >= 0 ? &mfd : NULL, mfd >= 0 ? 1 : 0);
    ck_assert_uint_eq(vfu_recv(fd, id, 2, m, sizeof(m)), 0);
}

#define RING_IOVA 0x100000ull /* shared (memfd) */
#define BUF_IOVA  0x200000ull /* no fd: DMA_READ / DMA_WRITE */

/* Guest memory without a file descriptor (protocol "Read and Write
 * Operations", VFIO_USER_DMA_READ / VFIO_USER_DMA_WRITE): a virtio-rng set
 * up by hand through its BAR (rings in a shared memfd, the buffer in a map
 * without fd). The doorbell (posted, as QEMU's) makes the daemon ask for
 * the buffer with DMA_READ; while it waits, a REGION_READ is answered at
 * once and a DEVICE_GET_INFO is held back; the device's bytes come in a
 * DMA_WRITE before the used entry is published (VIRTIO 1.4 "The Virtqueue
 * Used Ring"), byte for byte from the rng source; then the held command is
 * answered. A client that then answers a DMA request with a wrong id is
 * dropped, and the next client is served. */
START_TEST(serves_dma_without_fd)
{
    struct daemon dm;
    char dir[80], vsock[120], src[140], spec[200], line[256];
    uint8_t cfg[256], p[512], h[VFU_HDR], pat[100];
    uint32_t cbar = 0, coff = 0, nbar = 0, noff = 0, size, flags;
    uint64_t a, c;
    uint16_t id, cmd;
    int fd, mfd, base;
    uint8_t *ram;
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/vfudma.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(vsock, sizeof(vsock), "%s/rng.vfu", dir);
    snprintf(src, sizeof(src), "%s/pattern", dir);
    for (int i = 0; i < 100; i++)
        pat[i] = (uint8_t)(i * 3 + 1);
    f = fopen(src, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(pat, 1, sizeof(pat), f), sizeof(pat));
    fclose(f);
    snprintf(spec, sizeof(spec), "rng,source=%s", src);
    memset(&dm, 0, sizeof(dm));
    snprintf(dm.rng_sock, sizeof(dm.rng_sock), "%s", vsock);
    snprintf(dm.dir, sizeof(dm.dir), "%s", dir);
    {
        const char *argv[] = {daemon_path, "--vfio-user", vsock, "--device",
                              spec,        NULL};
        dm.pid = spawn_daemon(daemon_path, argv, line, sizeof(line));
    }
    base = count_fds(&dm);

    fd = vfu_connect(vsock);
    vfu_version(fd);
    mfd = memfd_create("vdm-vfu-rings", MFD_CLOEXEC);
    ck_assert_int_ge(mfd, 0);
    ck_assert_int_eq(ftruncate(mfd, 4096), 0);
    ram = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    ck_assert_ptr_ne(ram, MAP_FAILED);
    vfu_map(fd, 2, RING_IOVA, 4096, mfd);
    close(mfd);
    vfu_map(fd, 3, BUF_IOVA, 65536, -1);

    /* the virtio-pci capabilities: common and notify configuration */
    vfu_read(fd, 4, 7, 0, 256, cfg);
    for (uint32_t q = cfg[0x34]; q != 0; q = cfg[q + 1]) {
        uint32_t off;
        if (cfg[q] != 0x09)
            continue;
        memcpy(&off, cfg + q + 8, 4);
        if (cfg[q + 3] == 1) {
            cbar = cfg[q + 4];
            coff = off;
        } else if (cfg[q + 3] == 2) {
            nbar = cfg[q + 4];
            noff = off; /* queue 0: notify offset 0 */
        }
    }
    ck_assert_uint_ne(coff | noff, 0);
    /* "Device Initialization" through the common configuration */
    vfu_write(fd, 5, cbar, coff + 20, 1, 1, 0);  /* ACKNOWLEDGE */
    vfu_write(fd, 6, cbar, coff + 20, 1, 3, 0);  /* DRIVER */
    vfu_write(fd, 7, cbar, coff + 8, 4, 1, 0);   /* driver_feature_select */
    vfu_write(fd, 8, cbar, coff + 12, 4, 1, 0);  /* VERSION_1 */
    vfu_write(fd, 9, cbar, coff + 20, 1, 11, 0); /* FEATURES_OK */
    vfu_write(fd, 10, cbar, coff + 22, 2, 0, 0); /* queue_select */
    vfu_write(fd, 11, cbar, coff + 24, 2, 8, 0); /* queue_size */
    vfu_write(fd, 12, cbar, coff + 32, 8, RING_IOVA, 0);
    vfu_write(fd, 13, cbar, coff + 40, 8, RING_IOVA + 0x100, 0);
    vfu_write(fd, 14, cbar, coff + 48, 8, RING_IOVA + 0x200, 0);
    vfu_write(fd, 15, cbar, coff + 28, 2, 1, 0);  /* queue_enable */
    vfu_write(fd, 16, cbar, coff + 20, 1, 15, 0); /* DRIVER_OK */

    /* one device-writable buffer of 64 bytes at BUF_IOVA + 0x40 */
    a = BUF_IOVA + 0x40;
    memcpy(ram, &a, 8);
    ram[8] = 64;
    ram[12] = 2; /* VIRTQ_DESC_F_WRITE */
    ram[0x100 + 4] = 0;
    __atomic_store_n(&ram[0x100 + 2], 1, __ATOMIC_RELEASE); /* avail idx */
    vfu_write(fd, 17, nbar, noff, 2, 0, 1); /* doorbell, posted */

    /* DMA_READ of the buffer (the copy starts as the guest's bytes) */
    size = vfu_recv_msg(fd, h, p, sizeof(p));
    memcpy(&id, h, 2);
    memcpy(&cmd, h + 2, 2);
    memcpy(&flags, h + 8, 4);
    memcpy(&a, p, 8);
    memcpy(&c, p + 8, 8);
    ck_assert_uint_eq(cmd, 11);
    ck_assert_uint_eq(flags & 0xfu, 0); /* a command */
    ck_assert_uint_eq(size, VFU_HDR + 16);
    ck_assert_uint_eq(a, BUF_IOVA + 0x40);
    ck_assert_uint_eq(c, 64);
    /* meanwhile: a REGION_READ is answered now, DEVICE_GET_INFO later */
    vfu_read(fd, 18, 7, 0, 2, p + 100);
    ck_assert_uint_eq(p[100] | p[101] << 8, 0x1af4);
    {
        uint32_t w[4] = {16, 0, 0, 0};
        vfu_send(fd, 19, 4, w, 16, NULL, 0);
    }
    /* the reply: address, count, 64 bytes of 0xee */
    {
        uint8_t r[VFU_HDR + 16 + 64];
        size = sizeof(r);
        flags = 1;
        memcpy(r, &id, 2);
        memcpy(r + 2, &cmd, 2);
        memcpy(r + 4, &size, 4);
        memcpy(r + 8, &flags, 4);
        memset(r + 12, 0, 4);
        memcpy(r + 16, &a, 8);
        memcpy(r + 24, &c, 8);
        memset(r + 32, 0xee, 64);
        ck_assert_int_eq(send(fd, r, sizeof(r), MSG_NOSIGNAL),
                         (ssize_t)sizeof(r));
    }
    /* DMA_WRITE of the device's bytes, before the used entry */
    size = vfu_recv_msg(fd, h, p, sizeof(p));
    memcpy(&id, h, 2);
    memcpy(&cmd, h + 2, 2);
    memcpy(&a, p, 8);
    memcpy(&c, p + 8, 8);
    ck_assert_uint_eq(cmd, 12);
    ck_assert_uint_eq(size, VFU_HDR + 16 + 64);
    ck_assert_uint_eq(a, BUF_IOVA + 0x40);
    ck_assert_uint_eq(c, 64);
    ck_assert_int_eq(memcmp(p + 16, pat, 64), 0);
    ck_assert_uint_eq(ram[0x202] | ram[0x203] << 8, 0); /* used idx */
    size = VFU_HDR; /* the header alone, as QEMU 11.1 replies */
    flags = 1;
    memcpy(h + 4, &size, 4);
    memcpy(h + 8, &flags, 4);
    memset(h + 12, 0, 4);
    ck_assert_int_eq(send(fd, h, VFU_HDR, MSG_NOSIGNAL), (ssize_t)VFU_HDR);
    /* the held DEVICE_GET_INFO, then the used entry */
    ck_assert_uint_eq(vfu_recv(fd, 19, 4, p, sizeof(p)), 16);
    for (int i = 0; i < 200 && (ram[0x202] | ram[0x203] << 8) == 0; i++)
        usleep(10000);
    ck_assert_uint_eq(ram[0x202] | ram[0x203] << 8, 1);
    ck_assert_uint_eq(ram[0x208], 64); /* used length */

    /* a second buffer, answered with a reply of another id: dropped */
    a = BUF_IOVA + 0x1000;
    memcpy(ram + 16, &a, 8);
    ram[24] = 32;
    ram[28] = 2;
    ram[0x100 + 6] = 1;
    __atomic_store_n(&ram[0x100 + 2], 2, __ATOMIC_RELEASE);
    vfu_write(fd, 20, nbar, noff, 2, 0, 1);
    size = vfu_recv_msg(fd, h, p, sizeof(p));
    memcpy(&cmd, h + 2, 2);
    ck_assert_uint_eq(cmd, 11);
    h[0] ^= 0x55; /* another id */
    size = VFU_HDR;
    flags = 1;
    memcpy(h + 4, &size, 4);
    memcpy(h + 8, &flags, 4);
    ck_assert_int_eq(send(fd, h, VFU_HDR, MSG_NOSIGNAL), (ssize_t)VFU_HDR);
    vfu_expect_eof(fd);
    close(fd);
    munmap(ram, 4096);
    ck_assert(alive(&dm));
    wait_fds(&dm, base);
    fd = vfu_connect(vsock);
    vfu_version(fd);
    vfu_read(fd, 21, 7, 2, 2, p);
    ck_assert_uint_eq(p[0] | p[1] << 8, 0x1044);
    close(fd);
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
    TD_ADD(s, serves_dma_without_fd);
    TD_ADD(s, serves_gpu_over_vfio_user);
}
