/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: gpu: the vhost-user-gpu display channel and the
 * headless PPM. */
#include "test_daemon.h"

/* ------------------------------------------------------------------------ */
/* GPU: the vhost-user-gpu display channel and the headless PPM */

static void start_gpu_daemon(struct daemon *dm)
{
    int out[2];
    char line[512];
    FILE *f;
    int seen = 0;

    memset(dm, 0, sizeof(*dm));
    snprintf(dm->dir, sizeof(dm->dir), "%s/g.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dm->dir));
    snprintf(dm->rng_sock, sizeof(dm->rng_sock), "%s/gpu.sock", dm->dir);
    ck_assert_int_eq(pipe(out), 0);
    dm->pid = fork();
    ck_assert_int_ge(dm->pid, 0);
    if (dm->pid == 0) {
        char spec[200];
        snprintf(spec, sizeof(spec), "gpu,width=64,height=48,out=%s", dm->dir);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        const char *argv[8] = {daemon_path, "--socket", dm->rng_sock,
                               "--device",  spec,       NULL,
                               NULL};
        if (getenv("VU_DAEMON_VERBOSE") != NULL)
            argv[5] = "-vv";
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (seen < 1 && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "vdm-vhost-user: listening on ", 29) == 0)
            seen++;
    ck_assert_int_eq(seen, 1);
    fclose(f);
}

/* Read one display-channel message (header in host order); payload into
 * @p buf (at most @p cap bytes); returns the request. */
static uint32_t chan_read(int fd, uint8_t *buf, uint32_t cap, uint32_t *size)
{
    uint32_t hdr[3];
    size_t got = 0;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (got < sizeof(hdr)) {
        ssize_t n = read(fd, (uint8_t *)hdr + got, sizeof(hdr) - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_le(hdr[2], cap);
    for (got = 0; got < hdr[2];) {
        ssize_t n = read(fd, buf + got, hdr[2] - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    *size = hdr[2];
    return hdr[0];
}

#define G_REQ  0x20000u
#define G_RESP 0x21000u
#define G_FB   0x40000u
#define G_W    64u
#define G_H    48u

/* One controlq command: @p len request bytes (at G_REQ), 24-byte response;
 * returns the response type. */
static uint32_t gpu_cmd(struct fe *f, const uint32_t *w, uint32_t nw)
{
    struct drv_buf out = {G_REQ, nw * 4}, in = {G_RESP, 24};
    memcpy(f->mem + G_REQ, w, nw * 4);
    memset(f->mem + G_RESP, 0xee, 24);
    add(f, 0, &out, 1, &in, 1, 0);
    kick(f, 0);
    ck_assert_uint_eq(wait_used(f, 0), 24);
    uint32_t t;
    memcpy(&t, f->mem + G_RESP, 4);
    return t;
}

static uint32_t gpx(uint32_t x, uint32_t y)
{
    return (x * 3u) << 16 | (y * 5u) << 8 | ((x + y) & 0xffu);
}

START_TEST(serves_gpu_display_channel)
{
    static uint8_t buf[G_W * G_H * 4 + 64];
    struct daemon dm;
    struct fe f;
    int sv[2];
    uint32_t size;

    start_gpu_daemon(&dm);
    fe_open(&f, dm.rng_sock, 2, MEM_SIZE);
    /* QEMU hands the display channel over at DRIVER_OK. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_uint_eq(
        fe_acked(&f.v, VDM_VHOST_USER_GPU_SET_SOCKET, NULL, 0, &sv[1], 1), 0);
    close(sv[1]);
    ck_assert_uint_eq(chan_read(sv[0], buf, sizeof(buf), &size), 1);
    ck_assert_uint_eq(size, 0);
    {
        uint32_t rep[5] = {1, 4, 8, 1, 0}; /* reply: EDID feature */
        ck_assert_int_eq(write(sv[0], rep, 20), 20);
    }
    ck_assert_uint_eq(chan_read(sv[0], buf, sizeof(buf), &size), 3);
    ck_assert_uint_eq(chan_read(sv[0], buf, sizeof(buf), &size), 2);
    ck_assert_uint_eq(size, 8);
    ck_assert_uint_eq(buf[0], 1); /* SET_PROTOCOL_FEATURES: EDID */

    /* The fbdev sequence. */
    uint32_t create[10] = {0x101, 0, 0, 0, 0, 0, 1, 2 /* B8G8R8X8 */, G_W, G_H};
    ck_assert_uint_eq(gpu_cmd(&f, create, 10), 0x1100);
    uint32_t attach[12] = {0x106,         0, 0, 0, 0, 0, 1, 1, G_FB, 0,
                           G_W * G_H * 4, 0};
    ck_assert_uint_eq(gpu_cmd(&f, attach, 12), 0x1100);
    uint32_t scan[12] = {0x103, 0, 0, 0, 0, 0, 0, 0, G_W, G_H, 0, 1};
    ck_assert_uint_eq(gpu_cmd(&f, scan, 12), 0x1100);
    ck_assert_uint_eq(chan_read(sv[0], buf, sizeof(buf), &size), 7);
    {
        uint32_t sc[3];
        memcpy(sc, buf, 12);
        ck_assert_uint_eq(sc[0], 0);
        ck_assert_uint_eq(sc[1], G_W);
        ck_assert_uint_eq(sc[2], G_H);
    }
    for (uint32_t y = 0; y < G_H; y++)
        for (uint32_t x = 0; x < G_W; x++) {
            uint32_t v = gpx(x, y);
            memcpy(f.mem + G_FB + (y * G_W + x) * 4, &v, 4);
        }
    uint32_t xfer[14] = {0x105, 0, 0, 0, 0, 0, 0, 0, G_W, G_H, 0, 0, 1, 0};
    ck_assert_uint_eq(gpu_cmd(&f, xfer, 14), 0x1100);
    uint32_t fl[12] = {0x104, 0, 0, 0, 0, 0, 0, 0, G_W, G_H, 1, 0};
    ck_assert_uint_eq(gpu_cmd(&f, fl, 12), 0x1100);
    ck_assert_uint_eq(chan_read(sv[0], buf, sizeof(buf), &size), 8);
    ck_assert_uint_eq(size, 20 + G_W * G_H * 4);
    for (uint32_t y = 0; y < G_H; y++)
        for (uint32_t x = 0; x < G_W; x++) {
            uint32_t v;
            memcpy(&v, buf + 20 + (y * G_W + x) * 4, 4);
            ck_assert_uint_eq(v, gpx(x, y) | 0xff000000u);
        }
    /* The headless picture: P6, the same pixels. */
    {
        char path[256];
        snprintf(path, sizeof(path), "%s/scanout0.ppm", dm.dir);
        FILE *pf = fopen(path, "rb");
        ck_assert_ptr_nonnull(pf);
        char magic[3] = {0};
        unsigned pw = 0, ph = 0, mx = 0;
        ck_assert_int_eq(fscanf(pf, "%2s %u %u %u", magic, &pw, &ph, &mx), 4);
        ck_assert_str_eq(magic, "P6");
        ck_assert_uint_eq(pw, G_W);
        ck_assert_uint_eq(ph, G_H);
        fgetc(pf);
        for (uint32_t k = 0; k < G_W * G_H; k++) {
            uint8_t rgb[3];
            ck_assert_uint_eq(fread(rgb, 1, 3, pf), 3);
            uint32_t v = gpx(k % G_W, k / G_W);
            ck_assert_uint_eq(rgb[0], (uint8_t)(v >> 16));
            ck_assert_uint_eq(rgb[1], (uint8_t)(v >> 8));
            ck_assert_uint_eq(rgb[2], (uint8_t)v);
        }
        fclose(pf);
    }
    /* A hostile transfer is refused, and nothing goes out. */
    uint32_t bad[14] = {0x105, 0,    0, 0, 0, 0, 0xfffffff0u,
                        0,     0x20, 1, 0, 0, 1, 0};
    ck_assert_uint_eq(gpu_cmd(&f, bad, 14), 0x1205);
    close(sv[0]);
    fe_close(&f);
    stop_daemon(&dm);
}
END_TEST

void td_add_gpu(Suite *s)
{
    TD_ADD(s, serves_gpu_display_channel);
}
