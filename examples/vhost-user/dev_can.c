/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the CAN device.
 *
 * Two backends for the bus:
 *
 * Virtual bus (bus=PATH): the CAN devices of one or more daemons that name
 * the same PATH share one bus, a Unix SOCK_SEQPACKET socket. The first
 * daemon to find nobody listening on PATH becomes the bus's hub (it binds
 * PATH; every device, its own included, connects to it). A device sends
 * each frame it transmits to the hub; the hub passes it to every other
 * device in the order frames arrive (that order is the bus's arbitration)
 * and then acknowledges it to the sender: the frame is "on the bus" only
 * then, which is when a LATE_TX_ACK transmission is marked used. The hub
 * lives as long as its daemon.
 *
 * SocketCAN (if=IFNAME): a raw CAN socket with CAN FD frames enabled and
 * the socket's own frames looped back (CAN_RAW_RECV_OWN_MSGS): the looped
 * back copy (MSG_CONFIRM) says the interface sent the frame, which
 * acknowledges the oldest frame at the interface. Bus-off error frames stop
 * the controller (vdm_can_bus_off()).
 *
 * Frames that arrive while the driver has no Rxq buffer wait in a FIFO of
 * RX_BACKLOG frames (dropped beyond) and go out when it adds some. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/can.h"

#define CAN_QSIZE  64
#define RX_BACKLOG 256
#define SEQ_RING   1024 /* >= VDM_CAN_MAX_TX_SLOTS */
#define HUB_MAX    32   /* devices on one hub */

/* Virtual bus messages (one SOCK_SEQPACKET record each, host layout: the
 * bus never leaves the machine). */
#define VB_TX  1 /* device -> hub: put this frame on the bus */
#define VB_RX  2 /* hub -> device: a frame of another device */
#define VB_ACK 3 /* hub -> device: your frame seq is on the bus */

struct vb_msg {
    uint8_t type;
    uint8_t pad[3];
    uint32_t seq;
    struct vdm_can_frame f;
};

struct hub;

/* One member connection of a hub. */
struct hub_slot {
    struct vd_tag tag;
    struct hub *h;
    int i;
};

/* One hub (per bus path) served by this daemon. */
struct hub {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd;
    struct vd_tag ltag;
    int member[HUB_MAX];
    struct hub_slot slot[HUB_MAX];
    struct hub *next;
};

static struct hub *hubs;

struct can {
    struct vdm_can can;
    void *storage;
    uint32_t tx_slots;
    int fd; /* hub connection or raw CAN socket */
    int socketcan;
    char ifname[IF_NAMESIZE]; /* SocketCAN: the interface */
    struct vd_tag tag;
    /* frames at the bus: seq -> token */
    uintptr_t tok[SEQ_RING];
    uint32_t next_seq, oldest; /* seqs oldest .. next_seq - 1 at the bus */
    /* received frames waiting for Rxq buffers */
    struct vdm_can_frame rx[RX_BACKLOG];
    unsigned rx_head, rx_n;
    unsigned long dropped;
};

/* ---- frames to the device -------------------------------------------- */

static void rx_drain(struct can *s)
{
    while (s->rx_n > 0) {
        int rc = vdm_can_receive(&s->can, &s->rx[s->rx_head]);
        if (rc == 0)
            return; /* no buffer yet */
        s->rx_head = (s->rx_head + 1) % RX_BACKLOG;
        s->rx_n--;
    }
}

static void rx_frame(struct vdev *d, struct can *s,
                     const struct vdm_can_frame *f)
{
    if (vdm_can_started(&s->can) != 1)
        return; /* a stopped controller is not on the bus */
    rx_drain(s);
    if (s->rx_n == 0) {
        int rc = vdm_can_receive(&s->can, f);
        if (rc != 0) {
            if (rc < 0 && rc != VDM_ESTATE)
                vd_log(d, VDM_LOG_DEBUG, "frame %x dropped: %s", f->can_id,
                       vdm_strerror(rc));
            return;
        }
    }
    if (s->rx_n == RX_BACKLOG) {
        if (s->dropped++ == 0)
            vd_log(d, VDM_LOG_WARN, "no Rxq buffers: frames dropped");
        return;
    }
    s->rx[(s->rx_head + s->rx_n) % RX_BACKLOG] = *f;
    s->rx_n++;
}

/* The bus took frame @p seq: acknowledge it (and any older one). */
static void tx_acked(struct can *s, uint32_t seq)
{
    while (s->oldest != s->next_seq && (int32_t)(seq - s->oldest) >= 0) {
        uintptr_t t = s->tok[s->oldest % SEQ_RING];
        s->oldest++;
        /* VDM_ENOENT: answered already (no LATE_TX_ACK, stop, reset) */
        (void)vdm_can_tx_done(&s->can, t, VDM_CAN_RESULT_OK);
    }
}

/* ---- virtual bus: the hub --------------------------------------------- */

static int send_rec(int fd, const struct vb_msg *m)
{
    for (int tries = 0; tries < 50; tries++) {
        if (send(fd, m, sizeof(*m), MSG_DONTWAIT | MSG_NOSIGNAL) ==
            (ssize_t)sizeof(*m))
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        (void)poll(&p, 1, 10); /* a slow member: wait a little */
    }
    return -1;
}

static void hub_drop(struct hub *h, int i)
{
    vd_unwatch_fd(h->member[i]);
    close(h->member[i]);
    h->member[i] = -1;
}

/* A member's frames: each goes to every other member, then its ACK. */
static void hub_member(struct vdev *d, void *arg)
{
    struct hub_slot *sl = arg;
    struct hub *h = sl->h;
    int i = sl->i;
    struct vb_msg m;
    ssize_t n;

    (void)d;
    while (h->member[i] >= 0 &&
           (n = recv(h->member[i], &m, sizeof(m), MSG_DONTWAIT)) != 0) {
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR)
                continue;
            break;
        }
        if (n != (ssize_t)sizeof(m) || m.type != VB_TX)
            continue; /* not ours: ignore */
        m.type = VB_RX;
        for (int k = 0; k < HUB_MAX; k++)
            if (k != i && h->member[k] >= 0 && send_rec(h->member[k], &m) < 0)
                hub_drop(h, k);
        m.type = VB_ACK;
        if (send_rec(h->member[i], &m) < 0)
            break;
    }
    if (h->member[i] >= 0)
        hub_drop(h, i);
}

static void hub_accept(struct vdev *d, void *arg)
{
    struct hub *h = arg;
    int fd;

    while ((fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
           0) {
        int i;
        for (i = 0; i < HUB_MAX && h->member[i] >= 0; i++)
            ;
        if (i == HUB_MAX) {
            vd_log(d, VDM_LOG_WARN, "can bus %s: too many devices", h->path);
            close(fd);
            continue;
        }
        h->member[i] = fd;
        h->slot[i].h = h;
        h->slot[i].i = i;
        h->slot[i].tag.d = d;
        h->slot[i].tag.fn = hub_member;
        h->slot[i].tag.arg = &h->slot[i];
        vd_watch_fd(fd, &h->slot[i].tag);
    }
}

/* Serve the bus at @p path from this daemon (nobody listens there). */
static struct hub *hub_create(struct vdev *d, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct hub *h = calloc(1, sizeof(*h));
    struct stat st;

    if (h == NULL)
        return NULL;
    snprintf(h->path, sizeof(h->path), "%s", path);
    strcpy(sa.sun_path, h->path);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* stale: nobody answered on it */
    h->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(h->lfd, HUB_MAX) < 0) {
        if (h->lfd >= 0)
            close(h->lfd);
        free(h);
        return NULL;
    }
    for (int i = 0; i < HUB_MAX; i++)
        h->member[i] = -1;
    h->ltag.d = d;
    h->ltag.fn = hub_accept;
    h->ltag.arg = h;
    vd_watch_fd(h->lfd, &h->ltag);
    h->next = hubs;
    hubs = h;
    vd_log(d, VDM_LOG_INFO, "can bus %s: serving it", path);
    return h;
}

/* ---- virtual bus: a device -------------------------------------------- */

static int bus_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    strcpy(sa.sun_path, path);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void bus_readable(struct vdev *d, void *arg)
{
    struct can *s = arg;
    struct vb_msg m;
    ssize_t n;

    while ((n = recv(s->fd, &m, sizeof(m), MSG_DONTWAIT)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            break;
        }
        if (n != (ssize_t)sizeof(m))
            continue;
        if (m.type == VB_RX)
            rx_frame(d, s, &m.f);
        else if (m.type == VB_ACK)
            tx_acked(s, m.seq);
    }
    vd_log(d, VDM_LOG_ERROR, "can bus: the hub went away");
    vd_unwatch_fd(s->fd);
    close(s->fd);
    s->fd = -1;
    /* Frames at the bus will never be acknowledged now: like a controller
     * that leaves the bus ("Controller Mode": on STOPPED the device
     * "cancels all CAN messages already pending for transmission and marks
     * them as used with result VIRTIO_CAN_RESULT_NOT_OK"), answer them, so
     * no Txq request waits for good (docs/drain.md). */
    while (s->oldest != s->next_seq) {
        uintptr_t t = s->tok[s->oldest % SEQ_RING];
        s->oldest++;
        (void)vdm_can_tx_done(&s->can, t, VDM_CAN_RESULT_NOT_OK);
    }
}

static int bus_open(struct vdev *d, struct can *s, const char *path)
{
    struct hub *h;

    if (strlen(path) >= sizeof(h->path)) {
        vd_log(d, VDM_LOG_ERROR, "can: bus path too long");
        return -1;
    }
    for (int tries = 0; tries < 3; tries++) {
        s->fd = bus_connect(path);
        if (s->fd >= 0)
            break;
        for (h = hubs; h != NULL && strcmp(h->path, path) != 0; h = h->next)
            ;
        if (h == NULL && (errno == ENOENT || errno == ECONNREFUSED))
            (void)hub_create(d, path); /* EADDRINUSE: lost a race, retry */
    }
    if (s->fd < 0) {
        vd_log(d, VDM_LOG_ERROR, "can: bus %s: %s", path, strerror(errno));
        return -1;
    }
    s->tag.d = d;
    s->tag.fn = bus_readable;
    s->tag.arg = s;
    vd_watch_fd(s->fd, &s->tag);
    return 0;
}

/* ---- SocketCAN -------------------------------------------------------- */

static int raw_open(struct vdev *d, struct can *s, const char *ifname)
{
    struct sockaddr_can sa = {.can_family = AF_CAN};
    int one = 1;
    can_err_mask_t em = CAN_ERR_BUSOFF;

    s->socketcan = 1;
    snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
    s->fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
    if (s->fd < 0) {
        vd_log(d, VDM_LOG_ERROR, "can: raw CAN socket: %s", strerror(errno));
        return -1;
    }
    sa.can_ifindex = (int)if_nametoindex(ifname);
    if (sa.can_ifindex == 0 ||
        setsockopt(s->fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &one, sizeof(one)) <
            0 ||
        setsockopt(s->fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, &one,
                   sizeof(one)) < 0 ||
        setsockopt(s->fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &em, sizeof(em)) <
            0 ||
        bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        vd_log(d, VDM_LOG_ERROR, "can: %s: %s", ifname, strerror(errno));
        return -1;
    }
    s->tag.d = d;
    s->tag.arg = s;
    vd_watch_fd(s->fd, &s->tag);
    return 0;
}

static int raw_send(struct can *s, const struct vdm_can_frame *f)
{
    struct canfd_frame fr;
    size_t mtu = CAN_MTU;

    memset(&fr, 0, sizeof(fr));
    fr.can_id = f->can_id;
    if (f->flags & VDM_CAN_FLAGS_EXTENDED)
        fr.can_id |= CAN_EFF_FLAG;
    if (f->flags & VDM_CAN_FLAGS_RTR)
        fr.can_id |= CAN_RTR_FLAG;
    fr.len = (uint8_t)f->length;
    if (f->flags & VDM_CAN_FLAGS_FD) {
        mtu = CANFD_MTU;
        fr.flags = CANFD_FDF;
    } else if (f->dlc > 8) {
        ((struct can_frame *)&fr)->len8_dlc = f->dlc;
    }
    if (!(f->flags & VDM_CAN_FLAGS_RTR))
        memcpy(fr.data, f->data, f->length);
    return write(s->fd, &fr, mtu) == (ssize_t)mtu ? 0 : -1;
}

static void raw_readable(struct vdev *d, void *arg)
{
    struct can *s = arg;
    struct canfd_frame fr;
    struct vdm_can_frame f;

    for (;;) {
        struct iovec iov = {.iov_base = &fr, .iov_len = sizeof(fr)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != CAN_MTU && n != CANFD_MTU)
            return;
        if (fr.can_id & CAN_ERR_FLAG) {
            if ((fr.can_id & CAN_ERR_BUSOFF) && vdm_can_bus_off(&s->can) >= 0) {
                vd_log(d, VDM_LOG_WARN, "can: bus-off");
                s->oldest = s->next_seq; /* forgotten */
            }
            continue;
        }
        if (mh.msg_flags & MSG_CONFIRM) { /* our own frame went out */
            if (s->oldest != s->next_seq)
                tx_acked(s, s->oldest);
            continue;
        }
        memset(&f, 0, sizeof(f));
        f.can_id = fr.can_id &
                   ((fr.can_id & CAN_EFF_FLAG) ? CAN_EFF_MASK : CAN_SFF_MASK);
        if (fr.can_id & CAN_EFF_FLAG)
            f.flags |= VDM_CAN_FLAGS_EXTENDED;
        if (fr.can_id & CAN_RTR_FLAG)
            f.flags |= VDM_CAN_FLAGS_RTR;
        if (n == CANFD_MTU)
            f.flags |= VDM_CAN_FLAGS_FD;
        f.length = fr.len;
        if (n == CAN_MTU) {
            uint8_t l8 = ((struct can_frame *)&fr)->len8_dlc;
            if (fr.len == 8 && l8 > 8 && l8 <= 15)
                f.dlc = l8;
        }
        if (f.length > 64)
            continue;
        memcpy(f.data, fr.data, f.length);
        /* SocketCAN takes any FD length up to 64; a controller sends the
         * next one a DLC encodes, padded (with zeros here). */
        if (n == CANFD_MTU && f.length > 8)
            f.length = f.length <= 24   ? (f.length + 3u) & ~3u
                       : f.length <= 32 ? 32u
                       : f.length <= 48 ? 48u
                                        : 64u;
        rx_frame(d, s, &f);
    }
}

/* ---- host ops --------------------------------------------------------- */

static int h_transmit(void *host, const struct vdm_can_frame *f,
                      uintptr_t token)
{
    struct vdev *d = host;
    struct can *s = d->priv;
    int rc;

    if (s->fd < 0 || s->next_seq - s->oldest >= SEQ_RING)
        return VDM_EIO;
    if (s->socketcan) {
        rc = raw_send(s, f);
    } else {
        struct vb_msg m = {.type = VB_TX, .seq = s->next_seq, .f = *f};
        rc = send_rec(s->fd, &m);
    }
    if (rc < 0) {
        vd_log(d, VDM_LOG_DEBUG, "can: send: %s", strerror(errno));
        return VDM_EIO;
    }
    s->tok[s->next_seq % SEQ_RING] = token;
    s->next_seq++;
    return 0;
}

static int h_start(void *host)
{
    struct vdev *d = host;
    struct can *s = d->priv;
    struct ifreq ifr;

    if (s->fd < 0)
        return VDM_EIO;
    if (!s->socketcan)
        return 0;
    /* Controller Mode: a controller whose interface is down cannot join
     * the bus, so the START transition fails (NOT_OK). */
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, s->ifname, sizeof(s->ifname));
    if (ioctl(s->fd, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP)) {
        vd_log(d, VDM_LOG_INFO, "can: %s is down: not started", s->ifname);
        return VDM_EIO;
    }
    return 0;
}

static int h_stop(void *host)
{
    struct vdev *d = host;
    struct can *s = d->priv;
    /* Frames already handed to the bus go out; the device answered them
     * NOT_OK, so forget their tokens. */
    s->oldest = s->next_seq;
    s->rx_n = 0;
    return 0;
}

static void h_rx_ready(void *host)
{
    struct vdev *d = host;
    rx_drain((struct can *)d->priv);
}

static const struct vdm_can_ops can_ops = {
    .size = sizeof(struct vdm_can_ops),
    .transmit = h_transmit,
    .start = h_start,
    .stop = h_stop,
    .rx_ready = h_rx_ready,
};

/* ---- the device type --------------------------------------------------- */

static int can_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_can_config c = VDM_INIT(struct vdm_can_config);
    const char *bus = vd_opt(o, "bus"), *ifname = vd_opt(o, "if");
    const char *fd = vd_opt(o, "fd"), *late = vd_opt(o, "late-ack");
    const char *slots = vd_opt(o, "tx-slots");
    unsigned long long n = 16;
    struct can *s = calloc(1, sizeof(*s));
    int use_fd = 1, use_late = 1, rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->fd = -1;
    if ((bus == NULL) == (ifname == NULL)) {
        vd_log(d, VDM_LOG_ERROR, "can: give bus=PATH or if=IFNAME");
        return -1;
    }
    if ((fd != NULL && (use_fd = vd_bool(fd)) < 0) ||
        (late != NULL && (use_late = vd_bool(late)) < 0) ||
        (slots != NULL && vd_uint(slots, 1, VDM_CAN_MAX_TX_SLOTS, &n) < 0)) {
        vd_log(d, VDM_LOG_ERROR, "can: bad fd, late-ack or tx-slots");
        return -1;
    }
    s->tx_slots = (uint32_t)n;
    s->storage =
        aligned_alloc(8, (VDM_CAN_STORAGE_BYTES(s->tx_slots) + 7) & ~7ul);
    if (s->storage == NULL)
        return -1;
    if (bus != NULL ? bus_open(d, s, bus) < 0 : raw_open(d, s, ifname) < 0)
        return -1;
    if (s->socketcan)
        s->tag.fn = raw_readable;
    if (vd_alloc_queues(d, VDM_CAN_NUM_QUEUES, CAN_QSIZE) < 0)
        return -1;
    c.tx_slots = s->tx_slots;
    c.features = VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_RTR_FRAMES |
                 (use_fd ? VDM_CAN_F_CAN_FD : 0) |
                 (use_late ? VDM_CAN_F_LATE_TX_ACK : 0);
    c.ops = &can_ops;
    c.host = d;
    c.storage = s->storage;
    c.storage_bytes = VDM_CAN_STORAGE_BYTES(s->tx_slots);
    rc = vdm_can_init(&s->can, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "can init: %s", vdm_strerror(rc));
        return -1;
    }
    vd_log(d, VDM_LOG_INFO, "can: %s %s%s%s", bus != NULL ? "bus" : "if",
           bus != NULL ? bus : ifname, use_fd ? ", FD" : "",
           use_late ? ", late TX ack" : "");
    return 0;
}

static void can_disconnected(struct vdev *d)
{
    struct can *s = d->priv;
    /* The reset stopped the controller (h_stop): nothing else to drop. */
    s->rx_n = 0;
}

static int can_poll(struct vdev *d)
{
    rx_drain((struct can *)d->priv);
    return -1;
}

/* docs/drain.md: with VIRTIO_CAN_F_LATE_TX_ACK a Txq request is used only
 * once the bus took its frame ("CAN Message Transmission": "MUST be marked
 * as used ... after the CAN controller acknowledged the successful
 * transmission"), so requests wait at the host for the hub's (or the
 * interface's) acknowledgement: the Txq chains taken and not yet used. */
static unsigned can_pending(struct vdev *d, uint16_t q)
{
    struct vdm_vq *vq;

    if (q != UINT16_MAX && q != VDM_CAN_QUEUE_TX)
        return 0;
    vq = vdm_dev_queue(&d->dev, VDM_CAN_QUEUE_TX);
    return vq != NULL ? vdm_vq_in_flight(vq) : 0;
}

/* While the front-end waits for the Txq: the acknowledgements come on the
 * bus socket, and the hub this device's thread serves (if any) must pass
 * the frames on and acknowledge them, so serve both here (the device
 * thread is in the drain loop, not in epoll). Non-blocking: what is not
 * there yet comes on a later round. */
static void can_finish(struct vdev *d, uint16_t q)
{
    struct can *s = d->priv;

    (void)q;
    for (struct hub *h = hubs; h != NULL; h = h->next) {
        if (h->ltag.d != d)
            continue; /* another device thread's */
        hub_accept(d, h);
        for (int i = 0; i < HUB_MAX; i++)
            if (h->member[i] >= 0)
                hub_member(d, &h->slot[i]);
    }
    if (s->fd >= 0)
        s->tag.fn(d, s);
}

const struct vd_type vd_type_can = {
    .name = "can",
    .create = can_create,
    .disconnected = can_disconnected,
    .poll = can_poll,
    .pending = can_pending,
    .finish = can_finish,
};
