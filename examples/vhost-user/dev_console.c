/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the console device.
 *
 * `--device console,port0=BACKEND[,portN=BACKEND[,nameN=NAME]]...
 *  [,consoleN=on|off][,cols=C,rows=R]`
 *
 * Each port has a backend:
 *   pty[:LINK]   a pseudo-terminal in raw mode; its slave's path is logged
 *                and, with LINK, a symlink LINK points to it. A window size
 *                set on the terminal (TIOCSWINSZ on the slave, what a
 *                terminal emulator or `stty cols C rows R` does) reaches the
 *                guest as a console resize.
 *   unix:PATH    a listening Unix stream socket; one client at a time is the
 *                port's host side (PORT_OPEN 1 while connected).
 *   file:PATH    guest output appended to PATH; no input.
 * Port 0 is a console unless console0=off; other ports are generic unless
 * consoleN=on. Any port but 0, or a name, turns MULTIPORT on (max_nr_ports
 * = highest N + 1); without it the device is a single console (port 0,
 * its size in the configuration).
 *
 * Host to guest: a backend's bytes are read into a per-port buffer and
 * written into the guest's receive buffers; while some are left the backend
 * is not read (the guest's pace). Guest to host: each transmit buffer is
 * written to the backend; a backend that cannot take more (EAGAIN) pauses
 * the port's transmitq, and it resumes when the backend is writable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/console.h"

#define CON_QSIZE   64
#define CON_PORTS   8 /* ports this daemon serves per device */
#define CON_SLOTS   4
#define CON_BUF     4096
#define CON_POLL_MS 100

enum { BK_NONE, BK_PTY, BK_UNIX, BK_FILE };

struct cport {
    int kind;
    int fd;      /* data fd: pty master, unix client, file; -1 none */
    int lfd;     /* unix: listening socket */
    int sfd;     /* pty: our slave fd (keeps the master from hanging up) */
    int reading; /* fd is watched */
    char path[108];
    struct vd_tag tag, ltag;
    uint8_t buf[CON_BUF]; /* host -> guest, not yet taken */
    uint32_t off, len;
    uint32_t tx_done; /* bytes of the head transmit buffer already written */
    int tx_paused;
    struct winsize ws;
    struct vdev *d;
    uint32_t id;
};

struct con {
    struct vdm_console con;
    void *storage;
    uint32_t nports;
    int multiport;
    struct cport p[CON_PORTS];
};

static void watch(struct cport *p, int on)
{
    if (p->fd < 0 || p->kind == BK_FILE || p->reading == on)
        return;
    if (on)
        vd_watch_fd(p->fd, &p->tag);
    else
        vd_unwatch_fd(p->fd);
    p->reading = on;
}

/* Hand what the port holds to the guest; read more while it all goes. */
static void flush_in(struct con *s, struct cport *p)
{
    while (p->len > 0) {
        int rc = vdm_console_write(&s->con, p->id, p->buf + p->off, p->len);
        if (rc <= 0)
            break;
        p->off += (uint32_t)rc;
        p->len -= (uint32_t)rc;
    }
    if (p->len == 0)
        p->off = 0;
    watch(p, p->len == 0 && p->fd >= 0);
}

static void drop_client(struct con *s, struct cport *p)
{
    watch(p, 0);
    close(p->fd);
    p->fd = -1;
    p->len = p->off = 0;
    p->tx_done = 0;
    (void)vdm_console_set_host_open(&s->con, p->id, 0);
}

static void on_data(struct vdev *d, void *arg)
{
    struct cport *p = arg;
    struct con *s = d->priv;
    ssize_t n;

    if (p->fd < 0 || p->len > 0)
        return;
    n = read(p->fd, p->buf, sizeof(p->buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (p->kind == BK_UNIX) {
            vd_log(d, VDM_LOG_INFO, "console: port %u: client gone", p->id);
            drop_client(s, p);
        } else {
            watch(p, 0);
        }
        return;
    }
    p->off = 0;
    p->len = (uint32_t)n;
    flush_in(s, p);
}

static void on_accept_client(struct vdev *d, void *arg)
{
    struct cport *p = arg;
    struct con *s = d->priv;
    int c = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (c < 0)
        return;
    if (p->fd >= 0) {
        close(c); /* one client at a time */
        return;
    }
    p->fd = c;
    p->tx_done = 0;
    vd_log(d, VDM_LOG_INFO, "console: port %u: client connected", p->id);
    (void)vdm_console_set_host_open(&s->con, p->id, 1);
    flush_in(s, p);
}

/* ---- host ops --------------------------------------------------------- */

static int h_transmit(void *host, uint32_t port, const struct vdm_iov *iov,
                      uint32_t n, uint32_t len, uintptr_t token)
{
    struct vdev *d = host;
    struct con *s = d->priv;
    struct cport *p;
    struct iovec v[VDM_CONSOLE_IOV_MAX];
    uint32_t skip, k = 0;
    ssize_t w;

    (void)token;
    if (port >= s->nports || s->p[port].fd < 0)
        return 0; /* nobody on the host side: dropped */
    p = &s->p[port];
    skip = p->tx_done;
    for (uint32_t i = 0; i < n; i++) {
        if (skip >= iov[i].len) {
            skip -= iov[i].len;
            continue;
        }
        v[k].iov_base = (uint8_t *)iov[i].base + skip;
        v[k].iov_len = iov[i].len - skip;
        skip = 0;
        k++;
    }
    while (k > 0) {
        w = writev(p->fd, v, (int)k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            p->tx_paused = 1; /* the rest when the backend drains */
            return VDM_EAGAIN;
        }
        if (w < 0) {
            vd_log(d, VDM_LOG_DEBUG, "console: port %u: write: %s", port,
                   strerror(errno));
            break; /* dropped */
        }
        p->tx_done += (uint32_t)w;
        if (p->tx_done >= len)
            break;
        /* partial: rebuild the vector past what went out */
        while (k > 0 && (size_t)w >= v[0].iov_len) {
            w -= (ssize_t)v[0].iov_len;
            memmove(v, v + 1, (k - 1) * sizeof(v[0]));
            k--;
        }
        if (k > 0) {
            v[0].iov_base = (uint8_t *)v[0].iov_base + w;
            v[0].iov_len -= (size_t)w;
        }
    }
    p->tx_done = 0;
    return 0;
}

static void h_guest_open(void *host, uint32_t port, uint32_t open)
{
    struct vdev *d = host;
    vd_log(d, VDM_LOG_INFO, "console: port %u %s by the guest", port,
           open ? "opened" : "closed");
}

static void h_emerg_write(void *host, uint8_t c)
{
    vd_log(host, VDM_LOG_DEBUG, "console: emergency write 0x%02x", c);
}

static const struct vdm_console_ops con_ops = {
    .size = sizeof(struct vdm_console_ops),
    .transmit = h_transmit,
    .guest_open = h_guest_open,
    .emerg_write = h_emerg_write,
};

/* ---- backends ------------------------------------------------------------ */

static int open_pty(struct vdev *d, struct cport *p, const char *link)
{
    struct termios t;
    char name[64];

    p->fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (p->fd < 0 || grantpt(p->fd) < 0 || unlockpt(p->fd) < 0 ||
        ptsname_r(p->fd, name, sizeof(name)) != 0)
        return -1;
    p->sfd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->sfd < 0 || tcgetattr(p->sfd, &t) < 0)
        return -1;
    cfmakeraw(&t); /* bytes pass unchanged both ways */
    if (tcsetattr(p->sfd, TCSANOW, &t) < 0)
        return -1;
    (void)ioctl(p->fd, TIOCGWINSZ, &p->ws);
    if (link != NULL && *link != '\0') {
        (void)unlink(link);
        if (symlink(name, link) < 0) {
            vd_log(d, VDM_LOG_ERROR, "console: symlink %s: %s", link,
                   strerror(errno));
            return -1;
        }
    }
    printf("vdm-vhost-user: console port %u: pty %s\n", p->id, name);
    fflush(stdout);
    return 0;
}

static int open_unix(struct vdev *d, struct cport *p, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(a.sun_path)) {
        vd_log(d, VDM_LOG_ERROR, "console: socket path too long");
        return -1;
    }
    strcpy(a.sun_path, path);
    snprintf(p->path, sizeof(p->path), "%s", path);
    p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    (void)unlink(path);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(p->lfd, 1) < 0) {
        vd_log(d, VDM_LOG_ERROR, "console: %s: %s", path, strerror(errno));
        return -1;
    }
    p->ltag.d = d;
    p->ltag.fn = on_accept_client;
    p->ltag.arg = p;
    vd_watch_fd(p->lfd, &p->ltag);
    return 0;
}

static int open_backend(struct vdev *d, struct cport *p, const char *spec)
{
    int rc = -1;

    if (strcmp(spec, "pty") == 0 || strncmp(spec, "pty:", 4) == 0) {
        p->kind = BK_PTY;
        rc = open_pty(d, p, spec[3] == ':' ? spec + 4 : NULL);
    } else if (strncmp(spec, "unix:", 5) == 0 && spec[5] != '\0') {
        p->kind = BK_UNIX;
        rc = open_unix(d, p, spec + 5);
    } else if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
        p->kind = BK_FILE;
        p->fd = open(spec + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        rc = p->fd < 0 ? -1 : 0;
    } else {
        vd_log(d, VDM_LOG_ERROR,
               "console: backend %s: pty[:LINK], "
               "unix:PATH or file:PATH",
               spec);
        return -1;
    }
    if (rc < 0)
        vd_log(d, VDM_LOG_ERROR, "console: port %u: %s: %s", p->id, spec,
               strerror(errno));
    p->tag.d = d;
    p->tag.fn = on_data;
    p->tag.arg = p;
    return rc;
}

/* ---- the device type --------------------------------------------------- */

static int con_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_console_config c = VDM_INIT(struct vdm_console_config);
    struct con *s = calloc(1, sizeof(*s));
    const char *spec[CON_PORTS] = {0}, *name[CON_PORTS] = {0};
    int console[CON_PORTS] = {0};
    unsigned long long cols = 80, rows = 25;
    char key[16];
    int rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    for (uint32_t i = 0; i < CON_PORTS; i++) {
        s->p[i].fd = s->p[i].lfd = s->p[i].sfd = -1;
        s->p[i].id = i;
        s->p[i].d = d;
        snprintf(key, sizeof(key), "port%u", i);
        spec[i] = vd_opt(o, key);
        snprintf(key, sizeof(key), "name%u", i);
        name[i] = vd_opt(o, key);
        snprintf(key, sizeof(key), "console%u", i);
        const char *cv = vd_opt(o, key);
        console[i] = i == 0;
        if (cv != NULL && (console[i] = vd_bool(cv)) < 0) {
            vd_log(d, VDM_LOG_ERROR, "console: %s=on|off", key);
            return -1;
        }
        if (spec[i] != NULL)
            s->nports = i + 1;
        if ((name[i] != NULL || i > 0) && spec[i] != NULL)
            s->multiport = 1;
        if (name[i] != NULL && strlen(name[i]) > VDM_CONSOLE_NAME_MAX) {
            vd_log(d, VDM_LOG_ERROR, "console: name%u too long", i);
            return -1;
        }
    }
    if (spec[0] == NULL && !s->multiport) {
        vd_log(d, VDM_LOG_ERROR, "console: give port0=BACKEND (and portN=)");
        return -1;
    }
    if ((vd_opt(o, "cols") &&
         vd_uint(vd_opt(o, "cols"), 0, 65535, &cols) < 0) ||
        (vd_opt(o, "rows") &&
         vd_uint(vd_opt(o, "rows"), 0, 65535, &rows) < 0)) {
        vd_log(d, VDM_LOG_ERROR, "console: bad cols or rows");
        return -1;
    }
    c.max_ports = s->multiport ? s->nports : 1;
    s->storage = aligned_alloc(
        8, (VDM_CONSOLE_STORAGE_BYTES(c.max_ports, CON_SLOTS) + 7) & ~7ul);
    if (s->storage == NULL)
        return -1;
    if (vd_alloc_queues(
            d,
            (uint16_t)(s->multiport ? VDM_CONSOLE_NUM_QUEUES(c.max_ports) : 2),
            CON_QSIZE) < 0)
        return -1;
    c.features = VDM_CONSOLE_F_SIZE | VDM_CONSOLE_F_EMERG_WRITE |
                 (s->multiport ? VDM_CONSOLE_F_MULTIPORT : 0);
    c.ops = &con_ops;
    c.host = d;
    c.tx_slots = CON_SLOTS;
    c.cols = (uint16_t)cols;
    c.rows = (uint16_t)rows;
    c.storage = s->storage;
    c.storage_bytes = VDM_CONSOLE_STORAGE_BYTES(c.max_ports, CON_SLOTS);
    rc = vdm_console_init(&s->con, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "console init: %s", vdm_strerror(rc));
        return -1;
    }
    for (uint32_t i = 0; i < s->nports; i++) {
        struct vdm_console_port_info pi =
            VDM_INIT(struct vdm_console_port_info);
        struct cport *p = &s->p[i];
        if (spec[i] == NULL)
            continue;
        if (open_backend(d, p, spec[i]) < 0)
            return -1;
        pi.console = (uint32_t)console[i];
        pi.name = name[i];
        pi.name_len = name[i] ? (uint32_t)strlen(name[i]) : 0;
        pi.host_open = p->kind != BK_UNIX;
        rc = vdm_console_port_add(&s->con, i, &pi);
        if (rc < 0) {
            vd_log(d, VDM_LOG_ERROR, "console: port %u: %s", i,
                   vdm_strerror(rc));
            return -1;
        }
        if (p->kind == BK_PTY && p->ws.ws_col != 0)
            (void)vdm_console_resize(&s->con, i, p->ws.ws_col, p->ws.ws_row);
        vd_log(d, VDM_LOG_INFO, "console: port %u %s%s%s", i, spec[i],
               name[i] ? " name " : "", name[i] ? name[i] : "");
    }
    return 0;
}

static void con_disconnected(struct vdev *d)
{
    struct con *s = d->priv;
    /* The reset closed every port on the guest's side: pending input is
     * the next driver's. Transmit progress is gone with the rings. */
    for (uint32_t i = 0; i < s->nports; i++) {
        s->p[i].tx_done = 0;
        s->p[i].tx_paused = 0;
    }
}

static int con_poll(struct vdev *d)
{
    struct con *s = d->priv;
    int again = -1;

    for (uint32_t i = 0; i < s->nports; i++) {
        struct cport *p = &s->p[i];
        struct winsize ws;
        if (p->fd < 0)
            continue;
        if (p->len > 0 || !p->reading)
            flush_in(s, p);
        if (p->tx_paused) {
            struct pollfd pf = {.fd = p->fd, .events = POLLOUT};
            if (poll(&pf, 1, 0) == 1) {
                p->tx_paused = 0;
                (void)vdm_console_tx_kick(&s->con, i);
            }
            again = 10;
        }
        if (p->kind == BK_PTY) {
            if (ioctl(p->fd, TIOCGWINSZ, &ws) == 0 &&
                (ws.ws_col != p->ws.ws_col || ws.ws_row != p->ws.ws_row)) {
                p->ws = ws;
                vd_log(d, VDM_LOG_INFO, "console: port %u: %ux%u", i, ws.ws_col,
                       ws.ws_row);
                (void)vdm_console_resize(&s->con, i, ws.ws_col, ws.ws_row);
            }
            if (again < 0 || again > CON_POLL_MS)
                again = CON_POLL_MS;
        }
        if (p->len > 0 && (again < 0 || again > CON_POLL_MS))
            again = CON_POLL_MS;
    }
    return again;
}

const struct vd_type vd_type_console = {
    .name = "console",
    .create = con_create,
    .disconnected = con_disconnected,
    .poll = con_poll,
};
