/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the GPU device (2D).
 *
 * Pixels go out on the vhost-user-gpu display channel the front-end hands
 * over with VHOST_USER_GPU_SET_SOCKET (QEMU's vhost-user-gpu protocol,
 * docs/interop/vhost-user-gpu.rst): GET_PROTOCOL_FEATURES /
 * SET_PROTOCOL_FEATURES and GET_DISPLAY_INFO when the channel opens, then
 * SCANOUT (mode), UPDATE (x8r8g8b8 rectangles), CURSOR_UPDATE, CURSOR_POS
 * and CURSOR_POS_HIDE. Nothing here ever blocks on the front-end: messages
 * queue in a buffer sent as the socket takes them, replies are read when
 * they come (the front-end may be waiting for us on the vhost-user socket
 * at the same time).
 *
 * Headless: out=DIR writes each scanout's picture to DIR/scanoutN.ppm (P6)
 * after every flush (a temporary file renamed over it), the cursor state to
 * DIR/cursor.txt and each output's EDID to DIR/edidN.bin. Over vfio-user
 * (no display channel) out=DIR is required: it is the only display.
 *
 * Options: outputs=N (1..16), width=, height= (per output, default
 * 1024x768), edid=on|off, out=DIR, max-mem=MiB (host storage for
 * resources, default 256). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/gpu.h"
#include "vdm/le.h"

#define GPU_QSIZE  256
#define NRES       256
#define NBACKING   (64 * 1024)
#define MAX_OUTBUF (64u << 20) /* drop frames beyond this backlog */

/* vhost-user-gpu display protocol */
#define VUG_GET_PROTOCOL_FEATURES 1u
#define VUG_SET_PROTOCOL_FEATURES 2u
#define VUG_GET_DISPLAY_INFO      3u
#define VUG_CURSOR_POS            4u
#define VUG_CURSOR_POS_HIDE       5u
#define VUG_CURSOR_UPDATE         6u
#define VUG_SCANOUT               7u
#define VUG_UPDATE                8u
#define VUG_GET_EDID              11u
#define VUG_FLAG_REPLY            4u
#define VUG_PROTOCOL_F_EDID       0
#define VUG_HDR                   12u

struct out {
    uint32_t w, h;   /* scanout mode, 0: disabled */
    uint32_t *frame; /* headless: x8r8g8b8 picture */
    uint8_t edid[128];
};

struct gpu {
    struct vdm_gpu gpu;
    struct vdm_gpu_res res[NRES];
    struct vdm_gpu_backing *backing;
    struct vdm_gpu_display disp[VDM_GPU_MAX_SCANOUTS];
    struct out o[VDM_GPU_MAX_SCANOUTS];
    unsigned nout;
    const char *dir;
    int sock; /* display channel, -1 none */
    uint64_t proto;
    uint8_t *obuf; /* queued messages */
    size_t olen, ooff, ocap;
    uint8_t ibuf[4096]; /* replies being read */
    size_t ilen;
};

/* ------------------------------------------------------------------------ */
/* The display channel */

static void chan_close(struct vdev *d)
{
    struct gpu *g = d->priv;
    if (g->sock < 0)
        return;
    vd_watch_aux(d, -1);
    close(g->sock);
    g->sock = -1;
    g->olen = g->ooff = g->ilen = 0;
}

static void chan_flush(struct vdev *d)
{
    struct gpu *g = d->priv;
    while (g->sock >= 0 && g->ooff < g->olen) {
        ssize_t n = send(g->sock, g->obuf + g->ooff, g->olen - g->ooff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* The front-end closing its end (guest reset, exit) is news,
             * not a failure. */
            vd_log(d,
                   errno == EPIPE || errno == ECONNRESET ? VDM_LOG_INFO
                                                         : VDM_LOG_WARN,
                   "display channel: %s", strerror(errno));
            chan_close(d);
            return;
        }
        g->ooff += (size_t)n;
    }
    g->olen = g->ooff = 0;
}

/* Queue a message: header, @p a (@p alen bytes), then room for @p blen more
 * bytes returned for the caller to fill (NULL when dropped). */
static uint8_t *chan_msg(struct vdev *d, uint32_t req, const void *a,
                         uint32_t alen, uint32_t blen)
{
    struct gpu *g = d->priv;
    size_t need = VUG_HDR + (size_t)alen + blen;
    uint8_t *m;

    if (g->sock < 0)
        return NULL;
    if (g->olen - g->ooff + need > MAX_OUTBUF) {
        vd_log(d, VDM_LOG_WARN, "display channel backlog: frame dropped");
        return NULL;
    }
    if (g->ooff != 0 && g->ooff == g->olen)
        g->olen = g->ooff = 0;
    if (g->olen + need > g->ocap) {
        size_t cap = (g->olen + need) * 2;
        uint8_t *p = realloc(g->obuf, cap);
        if (p == NULL)
            return NULL;
        g->obuf = p;
        g->ocap = cap;
    }
    m = g->obuf + g->olen;
    memcpy(m, &req, 4); /* native byte order, as the protocol says */
    memset(m + 4, 0, 4);
    uint32_t size = alen + blen;
    memcpy(m + 8, &size, 4);
    if (alen)
        memcpy(m + VUG_HDR, a, alen);
    g->olen += need;
    return m + VUG_HDR + alen;
}

static void send_scanout(struct vdev *d, uint32_t i)
{
    struct gpu *g = d->priv;
    uint32_t p[3] = {i, g->o[i].w, g->o[i].h};
    (void)chan_msg(d, VUG_SCANOUT, p, sizeof(p), 0);
}

/* Convert @p n pixels of @p fmt to x8r8g8b8 (a8r8g8b8 for @p alpha) in
 * host order: bytes B, G, R, X on a little-endian host. */
static void to_xrgb(uint32_t *dst, const uint8_t *src, uint32_t n, uint32_t fmt,
                    int alpha)
{
    for (uint32_t i = 0; i < n; i++, src += 4) {
        uint32_t r, gg, b, a;
        switch (fmt) {
        case VDM_GPU_FORMAT_B8G8R8A8_UNORM:
        case VDM_GPU_FORMAT_B8G8R8X8_UNORM:
            b = src[0], gg = src[1], r = src[2], a = src[3];
            break;
        case VDM_GPU_FORMAT_A8R8G8B8_UNORM:
        case VDM_GPU_FORMAT_X8R8G8B8_UNORM:
            a = src[0], r = src[1], gg = src[2], b = src[3];
            break;
        case VDM_GPU_FORMAT_R8G8B8A8_UNORM:
        case VDM_GPU_FORMAT_R8G8B8X8_UNORM:
            r = src[0], gg = src[1], b = src[2], a = src[3];
            break;
        default: /* X8B8G8R8, A8B8G8R8 */
            a = src[0], b = src[1], gg = src[2], r = src[3];
            break;
        }
        if (!alpha)
            a = 0xff;
        dst[i] = a << 24 | r << 16 | gg << 8 | b;
    }
}

static void write_ppm(struct vdev *d, uint32_t i)
{
    struct gpu *g = d->priv;
    struct out *o = &g->o[i];
    char path[512], tmp[520];
    FILE *f;

    snprintf(path, sizeof(path), "%s/scanout%u.ppm", g->dir, i);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        vd_log(d, VDM_LOG_WARN, "%s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "P6\n%u %u\n255\n", o->w, o->h);
    for (uint64_t k = 0; k < (uint64_t)o->w * o->h; k++) {
        uint32_t v = o->frame[k];
        uint8_t rgb[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        fwrite(rgb, 1, 3, f);
    }
    if (fclose(f) == 0)
        rename(tmp, path);
}

/* ------------------------------------------------------------------------ */
/* GPU host hooks */

static int h_create(void *host, const struct vdm_gpu_resource_info *in,
                    void **px)
{
    (void)host;
    if (in->bytes > SIZE_MAX)
        return VDM_EIO;
    *px = calloc(1, (size_t)in->bytes);
    return *px != NULL ? 0 : VDM_EIO;
}

static void h_destroy(void *host, uint32_t id, void *px)
{
    (void)host;
    (void)id;
    free(px);
}

static void h_scanout(void *host, uint32_t i,
                      const struct vdm_gpu_scanout_info *s)
{
    struct vdev *d = host;
    struct gpu *g = d->priv;
    struct out *o = &g->o[i];

    vd_log(d, VDM_LOG_INFO, "scanout %u: resource %u, %ux%u", i, s->resource_id,
           s->width, s->height);
    if (o->w == s->width && o->h == s->height && s->resource_id != 0)
        return; /* same mode: the flush that follows shows it */
    o->w = s->resource_id != 0 ? s->width : 0;
    o->h = s->resource_id != 0 ? s->height : 0;
    if (g->dir != NULL) {
        free(o->frame);
        o->frame = calloc((size_t)o->w * o->h + 1, 4);
    }
    send_scanout(d, i);
}

static void h_update(void *host, uint32_t i, const struct vdm_gpu_update *u)
{
    struct vdev *d = host;
    struct gpu *g = d->priv;
    struct out *o = &g->o[i];
    uint32_t hdr[5] = {i, u->x, u->y, u->width, u->height};

    vd_log(d, VDM_LOG_DEBUG, "update %u: %ux%u at %u,%u%s", i, u->width,
           u->height, u->x, u->y, g->sock < 0 ? " (no display channel)" : "");
    uint8_t *px =
        chan_msg(d, VUG_UPDATE, hdr, sizeof(hdr), u->width * u->height * 4);

    for (uint32_t r = 0; r < u->height; r++) {
        const uint8_t *src = (const uint8_t *)u->pixels + (size_t)r * u->stride;
        if (px != NULL)
            to_xrgb((uint32_t *)(void *)(px + (size_t)r * u->width * 4), src,
                    u->width, u->format, 0);
        if (o->frame != NULL && u->y + r < o->h && u->x + u->width <= o->w)
            to_xrgb(o->frame + (size_t)(u->y + r) * o->w + u->x, src, u->width,
                    u->format, 0);
    }
    if (o->frame != NULL)
        write_ppm(d, i);
    chan_flush(d);
}

static void h_cursor(void *host, const struct vdm_gpu_cursor *c)
{
    struct vdev *d = host;
    struct gpu *g = d->priv;
    uint32_t pos[3] = {c->scanout, c->x, c->y};

    vd_log(d, VDM_LOG_INFO, "cursor %u: %u,%u %s", c->scanout, c->x, c->y,
           c->what == VDM_GPU_CURSOR_MOVE ? "moved"
           : c->pixels != NULL            ? "shown"
                                          : "hidden");
    if (c->what == VDM_GPU_CURSOR_UPDATE && c->pixels != NULL) {
        uint32_t hot[2] = {c->hot_x, c->hot_y};
        uint8_t *p =
            chan_msg(d, VUG_CURSOR_UPDATE, pos, sizeof(pos), 8 + 64 * 64 * 4);
        if (p != NULL) {
            memcpy(p, hot, 8);
            to_xrgb((uint32_t *)(void *)(p + 8), c->pixels, 64 * 64, c->format,
                    1);
        }
    } else if (c->what == VDM_GPU_CURSOR_UPDATE) {
        (void)chan_msg(d, VUG_CURSOR_POS_HIDE, pos, sizeof(pos), 0);
    } else {
        (void)chan_msg(d, VUG_CURSOR_POS, pos, sizeof(pos), 0);
    }
    chan_flush(d);
    if (g->dir != NULL) {
        char path[512];
        snprintf(path, sizeof(path), "%s/cursor.txt", g->dir);
        FILE *f = fopen(path, "w");
        if (f != NULL) {
            fprintf(f, "%u %u %u %s\n", c->scanout, c->x, c->y,
                    c->what == VDM_GPU_CURSOR_UPDATE && c->pixels == NULL
                        ? "hidden"
                        : "shown");
            fclose(f);
        }
    }
}

static const struct vdm_gpu_ops gpu_ops = {
    .size = sizeof(struct vdm_gpu_ops),
    .resource_create = h_create,
    .resource_destroy = h_destroy,
    .scanout = h_scanout,
    .update = h_update,
    .cursor = h_cursor,
};

/* ------------------------------------------------------------------------ */
/* Daemon hooks */

/* VHOST_USER_GPU_SET_SOCKET: the display channel (replacing any other);
 * ask for protocol features and the front-end's display info, and show
 * what the scanouts show now. */
static int gpu_request(struct vdev *d, uint32_t req, const void *payload,
                       uint32_t len, const int32_t *fds, uint32_t nfds,
                       uint32_t *taken)
{
    struct gpu *g = d->priv;
    (void)payload;
    (void)len;
    if (req != VDM_VHOST_USER_GPU_SET_SOCKET || nfds != 1)
        return VDM_ENOTSUP;
    chan_close(d);
    g->sock = fds[0];
    *taken = 1;
    fcntl(g->sock, F_SETFL, fcntl(g->sock, F_GETFL) | O_NONBLOCK);
    vd_watch_aux(d, g->sock);
    vd_log(d, VDM_LOG_INFO, "display channel open");
    (void)chan_msg(d, VUG_GET_PROTOCOL_FEATURES, NULL, 0, 0);
    (void)chan_msg(d, VUG_GET_DISPLAY_INFO, NULL, 0, 0);
    for (unsigned i = 0; i < g->nout; i++)
        if (g->o[i].w != 0)
            send_scanout(d, i);
    chan_flush(d);
    return 0;
}

/* Replies from the front-end. */
static void gpu_aux(struct vdev *d)
{
    struct gpu *g = d->priv;
    for (;;) {
        ssize_t n = recv(g->sock, g->ibuf + g->ilen, sizeof(g->ibuf) - g->ilen,
                         MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            vd_log(d, VDM_LOG_INFO, "display channel closed");
            chan_close(d);
            return;
        }
        g->ilen += (size_t)n;
        while (g->ilen >= VUG_HDR) {
            uint32_t req, size;
            memcpy(&req, g->ibuf, 4);
            memcpy(&size, g->ibuf + 8, 4);
            if (size > sizeof(g->ibuf) - VUG_HDR) {
                vd_log(d, VDM_LOG_WARN, "display channel: reply too large");
                chan_close(d);
                return;
            }
            if (g->ilen < VUG_HDR + size)
                break;
            if (req == VUG_GET_PROTOCOL_FEATURES && size == 8) {
                memcpy(&g->proto, g->ibuf + VUG_HDR, 8);
                g->proto &= 1ull << VUG_PROTOCOL_F_EDID;
                (void)chan_msg(d, VUG_SET_PROTOCOL_FEATURES, &g->proto, 8, 0);
            } else if (req == VUG_GET_DISPLAY_INFO && size >= 24 + 24) {
                const uint8_t *p = g->ibuf + VUG_HDR + 24;
                vd_log(d, VDM_LOG_INFO,
                       "front-end display 0: %ux%u enabled %u (serving "
                       "%ux%u)",
                       vdm_le32(p + 8), vdm_le32(p + 12), vdm_le32(p + 16),
                       g->disp[0].width, g->disp[0].height);
            }
            memmove(g->ibuf, g->ibuf + VUG_HDR + size,
                    g->ilen - VUG_HDR - size);
            g->ilen -= VUG_HDR + size;
        }
        if (g->sock < 0)
            return;
    }
    chan_flush(d);
}

/* Send what the socket did not take yet. */
static int gpu_poll(struct vdev *d)
{
    struct gpu *g = d->priv;
    chan_flush(d);
    return g->sock >= 0 && g->olen > g->ooff ? 2 : -1;
}

static void gpu_disconnected(struct vdev *d)
{
    struct gpu *g = d->priv;
    chan_close(d);
    for (unsigned i = 0; i < g->nout; i++) {
        g->o[i].w = g->o[i].h = 0;
        free(g->o[i].frame);
        g->o[i].frame = NULL;
    }
}

static int gpu_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_gpu_config c = VDM_INIT(struct vdm_gpu_config);
    unsigned long long n = 1, w = 1024, h = 768, mem = 256;
    const char *v;
    int edid = 1, rc;
    struct gpu *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return -1;
    d->priv = g;
    g->sock = -1;
    if ((v = vd_opt(o, "outputs")) != NULL &&
        vd_uint(v, 1, VDM_GPU_MAX_SCANOUTS, &n) < 0) {
        vd_log(d, VDM_LOG_ERROR, "outputs: 1..16");
        return -1;
    }
    if (((v = vd_opt(o, "width")) != NULL && vd_uint(v, 16, 4095, &w) < 0) ||
        ((v = vd_opt(o, "height")) != NULL && vd_uint(v, 16, 4095, &h) < 0)) {
        vd_log(d, VDM_LOG_ERROR, "width, height: 16..4095");
        return -1;
    }
    if ((v = vd_opt(o, "edid")) != NULL && (edid = vd_bool(v)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "edid: on or off");
        return -1;
    }
    if ((v = vd_opt(o, "max-mem")) != NULL &&
        vd_uint(v, 1, 1u << 20, &mem) < 0) {
        vd_log(d, VDM_LOG_ERROR, "max-mem: MiB, 1..1048576");
        return -1;
    }
    g->dir = vd_opt(o, "out");
    if (d->vfio && g->dir == NULL) {
        /* No VHOST_USER_GPU_SET_SOCKET over vfio-user: the only display is
         * the daemon's own picture. */
        vd_log(d, VDM_LOG_ERROR,
               "gpu over --vfio-user needs out=DIR (the daemon's display, "
               "DIR/scanout0.ppm): the vhost-user-gpu display channel is "
               "vhost-user's (--socket)");
        return -1;
    }
    g->nout = (unsigned)n;
    for (unsigned i = 0; i < g->nout; i++) {
        g->disp[i].x = (uint32_t)(i * w);
        g->disp[i].width = (uint32_t)w;
        g->disp[i].height = (uint32_t)h;
        g->disp[i].enabled = 1;
        if (edid) {
            char name[14];
            snprintf(name, sizeof(name), "vdm-%u", i);
            vdm_gpu_edid(g->o[i].edid, sizeof(g->o[i].edid), (uint32_t)w,
                         (uint32_t)h, name);
            g->disp[i].edid = g->o[i].edid;
            g->disp[i].edid_len = sizeof(g->o[i].edid);
            if (g->dir != NULL) { /* what the guest should read */
                char path[512];
                snprintf(path, sizeof(path), "%s/edid%u.bin", g->dir, i);
                FILE *f = fopen(path, "wb");
                if (f != NULL) {
                    fwrite(g->o[i].edid, 1, sizeof(g->o[i].edid), f);
                    fclose(f);
                }
            }
        }
    }
    g->backing = calloc(NBACKING, sizeof(*g->backing));
    if (g->backing == NULL)
        return -1;
    if (vd_alloc_queues(d, VDM_GPU_NUM_QUEUES, GPU_QSIZE) < 0)
        return -1;
    c.flags = edid ? VDM_GPU_EDID : 0;
    c.num_scanouts = g->nout;
    c.nresources = NRES;
    c.displays = g->disp;
    c.resources = g->res;
    c.backing = g->backing;
    c.nbacking = NBACKING;
    c.max_resource_bytes = 64u << 20;
    c.max_total_bytes = mem << 20;
    c.ops = &gpu_ops;
    c.host = d;
    rc = vdm_gpu_init(&g->gpu, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "gpu init: %s", vdm_strerror(rc));
        return -1;
    }
    return 0;
}

const struct vd_type vd_type_gpu = {
    .name = "gpu",
    .create = gpu_create,
    .disconnected = gpu_disconnected,
    .poll = gpu_poll,
    .request = gpu_request,
    .aux = gpu_aux,
};
