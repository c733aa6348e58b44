/* SPDX-License-Identifier: BSD-3-Clause */
/* Guest-side helper of tests/e2e/gpu.sh (built static on the host): set a
 * display mode through DRM with a dumb buffer holding a known picture, and
 * a 64x64 cursor on the cursor plane (legacy cursor ioctls).
 *
 *   drm-helper W H CX CY SECS
 *
 * Sets mode W x H on the first connected connector, fills the buffer with
 * pattern2(x, y) (XRGB8888), shows the cursor (pattern: opaque magenta
 * square with a transparent border) at (CX, CY), prints "mode W H" and
 * "cursor CX CY", then keeps the mode for SECS seconds (the host takes its
 * screendump) and exits. Exit status 0 on success. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>

static int fd;

static void die(const char *what)
{
    printf("drm-helper: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint32_t pattern2(uint32_t x, uint32_t y)
{
    uint32_t r = (x * 7u) & 0xffu, g = (y * 3u) & 0xffu, b = (x + y) & 0xffu;

    if ((x / 8u + y / 8u) % 2u == 0u)
        b ^= 0x80u;
    return r << 16 | g << 8 | b;
}

/* A dumb buffer of w x h, mapped; returns the handle. */
static uint32_t dumb(uint32_t w, uint32_t h, uint32_t **map, uint32_t *pitch)
{
    struct drm_mode_create_dumb c = {.width = w, .height = h, .bpp = 32};
    struct drm_mode_map_dumb m;

    if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
        die("create dumb");
    memset(&m, 0, sizeof(m));
    m.handle = c.handle;
    if (ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m) < 0)
        die("map dumb");
    *map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)m.offset);
    if (*map == MAP_FAILED)
        die("mmap");
    *pitch = c.pitch;
    return c.handle;
}

int main(int argc, char **argv)
{
    struct drm_mode_card_res res;
    uint32_t conns[8], crtcs[8], encs[8], w, h, cx, cy, secs;
    struct drm_mode_modeinfo modes[64], *mode = NULL;
    struct drm_mode_get_connector conn;
    struct drm_mode_get_encoder enc;
    struct drm_mode_crtc crtc;
    struct drm_mode_fb_cmd fb;
    struct drm_mode_cursor cur;
    uint32_t *px, *cpx, pitch, cpitch, bo, cbo, i, x, y;

    if (argc != 6)
        return 2;
    w = (uint32_t)atoi(argv[1]);
    h = (uint32_t)atoi(argv[2]);
    cx = (uint32_t)atoi(argv[3]);
    cy = (uint32_t)atoi(argv[4]);
    secs = (uint32_t)atoi(argv[5]);
    fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open /dev/dri/card0");
    if (ioctl(fd, DRM_IOCTL_SET_MASTER, 0) < 0)
        die("set master");

    memset(&res, 0, sizeof(res));
    res.connector_id_ptr = (uintptr_t)conns;
    res.count_connectors = 8;
    res.crtc_id_ptr = (uintptr_t)crtcs;
    res.count_crtcs = 8;
    res.encoder_id_ptr = (uintptr_t)encs;
    res.count_encoders = 8;
    if (ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) < 0 ||
        res.count_connectors == 0 || res.count_crtcs == 0)
        die("resources");

    memset(&conn, 0, sizeof(conn));
    conn.connector_id = conns[0];
    conn.modes_ptr = (uintptr_t)modes;
    conn.count_modes = 64;
    if (ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &conn) < 0)
        die("connector");
    for (i = 0; i < conn.count_modes && i < 64; i++)
        if (modes[i].hdisplay == w && modes[i].vdisplay == h) {
            mode = &modes[i];
            break;
        }
    if (mode == NULL) {
        printf("drm-helper: no %ux%u mode among %u:", w, h, conn.count_modes);
        for (i = 0; i < conn.count_modes && i < 64; i++)
            printf(" %ux%u", modes[i].hdisplay, modes[i].vdisplay);
        printf("\n");
        return 1;
    }
    memset(&enc, 0, sizeof(enc));
    enc.encoder_id = conn.encoder_id != 0 ? conn.encoder_id : encs[0];
    if (ioctl(fd, DRM_IOCTL_MODE_GETENCODER, &enc) < 0)
        die("encoder");

    bo = dumb(w, h, &px, &pitch);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            px[y * (pitch / 4u) + x] = pattern2(x, y);
    memset(&fb, 0, sizeof(fb));
    fb.width = w;
    fb.height = h;
    fb.pitch = pitch;
    fb.bpp = 32;
    fb.depth = 24;
    fb.handle = bo;
    if (ioctl(fd, DRM_IOCTL_MODE_ADDFB, &fb) < 0)
        die("addfb");

    memset(&crtc, 0, sizeof(crtc));
    crtc.crtc_id = enc.crtc_id != 0 ? enc.crtc_id : crtcs[0];
    crtc.fb_id = fb.fb_id;
    crtc.set_connectors_ptr = (uintptr_t)&conn.connector_id;
    crtc.count_connectors = 1;
    crtc.mode = *mode;
    crtc.mode_valid = 1;
    if (ioctl(fd, DRM_IOCTL_MODE_SETCRTC, &crtc) < 0)
        die("setcrtc");
    {
        struct drm_mode_fb_dirty_cmd d = {.fb_id = fb.fb_id};
        (void)ioctl(fd, DRM_IOCTL_MODE_DIRTYFB, &d); /* whole frame */
    }
    printf("mode %u %u\n", w, h);

    cbo = dumb(64, 64, &cpx, &cpitch);
    for (y = 0; y < 64; y++)
        for (x = 0; x < 64; x++)
            cpx[y * (cpitch / 4u) + x] =
                (x >= 8 && x < 56 && y >= 8 && y < 56) ? 0xffff00ffu : 0;
    memset(&cur, 0, sizeof(cur));
    cur.flags = DRM_MODE_CURSOR_BO | DRM_MODE_CURSOR_MOVE;
    cur.crtc_id = crtc.crtc_id;
    cur.x = (int32_t)cx;
    cur.y = (int32_t)cy;
    cur.width = 64;
    cur.height = 64;
    cur.handle = cbo;
    if (ioctl(fd, DRM_IOCTL_MODE_CURSOR, &cur) < 0)
        die("cursor");
    printf("cursor %u %u\n", cx, cy);
    fflush(stdout);
    sleep(secs);
    return 0;
}
