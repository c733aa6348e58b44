/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-e2e-vu-cmd can: CAN front-ends (virtio-can drivers of our own, on the
 * shared front-end of vu_cmd.h) and a raw CAN socket of our own ("wire")
 * that sees and makes the frames on the interface. It runs inside the CAN
 * test's guest (tests/e2e/can.sh), where the daemon's SocketCAN backend
 * reaches a vcan interface. Commands, one a line on stdin, one result line
 * each:
 *
 *   open N SOCKET [DROP]  front-end N (a..d) on SOCKET, negotiating every
 *                         feature offered less the bits of DROP
 *                                                   -> features 0xCANBITS
 *   N start | N stop      Controlq SET_CTRL_MODE_START / STOP -> ok | notok
 *   N send FRAME...       one Txq request per frame (8 at most), one
 *                         kick; each used entry awaited (5 s)
 *                                               -> ok | notok per frame
 *   N post K              add K Rxq buffers (header + 64 bytes) -> posted K
 *   N recv MS [COUNT]     received frames until COUNT or MS ms, their
 *                         buffers added again   -> FRAME... | none
 *   N status              configuration status  -> status V
 *   wire open IFNAME      raw CAN socket, FD frames on            -> ok
 *   wire send FRAME...    write each frame       -> ok | err ENAME per frame
 *   wire recv MS [COUNT]  frames read until COUNT or MS ms -> FRAME... | none
 *   wire busoff           an error frame saying bus-off (CAN_ERR_BUSOFF),
 *                         as a controller reports one    -> ok | err ENAME
 *
 * FRAME (received frames are printed the same way):
 *   III#DD..        classic, standard id (3 hex digits), DD.. the payload
 *   IIIIIIII#DD..   classic, extended id (8 hex digits)
 *   ...#DD.._L      classic of 8 bytes with DLC L (9..f; virtio's
 *                   reserved_classic_dlc, SocketCAN's len8_dlc)
 *   ...#R[L]        RTR asking for L bytes (one hex digit, default 0)
 *   ...##FDD..      CAN FD; F one hex digit: SocketCAN's FD flags (BRS 1,
 *                   ESI 2), 0 through virtio (it has no such bits); an R
 *                   after F adds the RTR flag (an invalid frame)
 * Ids are not range-checked here: the device is the one to refuse them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vdm/devices/can.h"
#include "vu_cmd.h"

#define NFE   4u
#define TXB   0x10000u /* Txq requests, 0x100 apart (header, payload) */
#define TXRES 0x18000u /* their result bytes, 0x10 apart */
#define RXB   0x20000u /* Rxq buffers, 0x100 apart */
#define CTL   0x30000u /* Controlq request (2 bytes) and result (at +8) */
#define RXLEN (VDM_CAN_HDR_BYTES + VDM_CAN_FD_MAX)

struct frame {
    uint32_t id;
    int ext, rtr, fd;
    unsigned fdflags; /* SocketCAN FD flags */
    unsigned len, dlc;
    uint8_t data[64];
};

static struct fe fes[NFE];
static int opened[NFE];
static int wire = -1;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void parse(const char *s, struct frame *f)
{
    const char *h = strchr(s, '#'), *p;
    char *end;

    memset(f, 0, sizeof(*f));
    if (h == NULL || (h - s != 3 && h - s != 8))
        die("frame %s: id of 3 or 8 hex digits then #", s);
    f->id = (uint32_t)strtoul(s, &end, 16);
    if (end != h)
        die("frame %s: bad id", s);
    f->ext = h - s == 8;
    p = h + 1;
    if (*p == '#') {
        f->fd = 1;
        if (hexval(p[1]) < 0)
            die("frame %s: ## needs a flags digit", s);
        f->fdflags = (unsigned)hexval(p[1]);
        p += 2;
        if (*p == 'R') {
            f->rtr = 1;
            p++;
        }
    } else if (*p == 'R') {
        f->rtr = 1;
        if (p[1] != '\0') {
            if (hexval(p[1]) < 0 || hexval(p[1]) > 8 || p[2] != '\0')
                die("frame %s: RTR length 0..8", s);
            f->len = (unsigned)hexval(p[1]);
        }
        return;
    }
    while (*p != '\0' && *p != '_') {
        int a = hexval(p[0]), b = a < 0 ? -1 : hexval(p[1]);
        if (b < 0 || f->len == 64)
            die("frame %s: bad payload", s);
        f->data[f->len++] = (uint8_t)(a << 4 | b);
        p += 2;
    }
    if (*p == '_') {
        if (f->fd || f->len != 8 || hexval(p[1]) < 9 || p[2] != '\0')
            die("frame %s: _L needs 8 classic bytes and L 9..f", s);
        f->dlc = (unsigned)hexval(p[1]);
    }
}

static void print(const struct frame *f, int first)
{
    printf(first ? "%0*x" : " %0*x", f->ext ? 8 : 3, f->id);
    if (f->fd)
        printf("##%x%s", f->fdflags, f->rtr ? "R" : "");
    else
        putchar('#');
    if (f->rtr && !f->fd) {
        putchar('R');
        if (f->len != 0)
            printf("%x", f->len);
        return;
    }
    for (unsigned i = 0; i < f->len; i++)
        printf("%02x", f->data[i]);
    if (f->dlc != 0)
        printf("_%x", f->dlc);
}

/* ---- virtio-can front-ends ---------------------------------------------- */

static struct fe *node(const char *name)
{
    if (name == NULL || name[0] < 'a' || name[0] >= (char)('a' + NFE) ||
        name[1] != '\0')
        return NULL;
    if (!opened[name[0] - 'a'])
        die("front-end %s not open", name);
    return &fes[name[0] - 'a'];
}

static void can_ctrl(struct fe *f, uint32_t type)
{
    struct drv_buf out = {CTL, VDM_CAN_CONTROL_OUT_BYTES},
                   in = {CTL + 8, VDM_CAN_CONTROL_IN_BYTES};
    uintptr_t c;
    uint32_t len;

    put_le16(f->mem + CTL, type);
    f->mem[CTL + 8] = 0xee;
    fe_add(f, VDM_CAN_QUEUE_CONTROL, &out, 1, &in, 1, 0);
    fe_kick(f, VDM_CAN_QUEUE_CONTROL);
    if (!fe_used(f, VDM_CAN_QUEUE_CONTROL, 5000, &c, &len))
        die("can: no control answer in 5 s");
    /* Controller Mode: the result is OK or NOT_OK (anything else counts
     * as NOT_OK, but the device has no business writing it). */
    if (len != 1 || f->mem[CTL + 8] > 1)
        die("can: control answer of %u bytes, result %u", len, f->mem[CTL + 8]);
    puts(f->mem[CTL + 8] == VDM_CAN_RESULT_OK ? "ok" : "notok");
}

/* CAN Message Transmission: struct virtio_can_tx_out + sdu, then
 * struct virtio_can_tx_in. An RTR frame carries no sdu. */
static void can_send(struct fe *f, char **save)
{
    struct frame fr;
    unsigned n = 0, done = 0;
    uint8_t res[FE_NUM];
    char *t;

    while ((t = strtok_r(NULL, " \t", save)) != NULL) {
        uint8_t *h = f->mem + TXB + 0x100u * n;
        uint32_t flags = 0, sdu;
        struct drv_buf out, in = {TXRES + 0x10u * n, 1};

        if (n == FE_NUM / 2) /* two descriptors each */
            die("can: at most %u frames a send", FE_NUM / 2);
        parse(t, &fr);
        if (fr.fd && fr.fdflags != 0)
            die("can: virtio-can has no FD flags (%s)", t);
        flags |= fr.fd ? VDM_CAN_FLAGS_FD : 0u;
        flags |= fr.ext ? VDM_CAN_FLAGS_EXTENDED : 0u;
        flags |= fr.rtr ? VDM_CAN_FLAGS_RTR : 0u;
        sdu = fr.rtr ? 0u : fr.len;
        memset(h, 0, 0x100);
        put_le16(h, VDM_CAN_MSG_TX);
        put_le16(h + 2, fr.len);
        h[4] = (uint8_t)fr.dlc;
        put_le32(h + 8, flags);
        put_le32(h + 12, fr.id);
        memcpy(h + VDM_CAN_HDR_BYTES, fr.data, sdu);
        f->mem[TXRES + 0x10u * n] = 0xee;
        out = (struct drv_buf){TXB + 0x100u * n, VDM_CAN_HDR_BYTES + sdu};
        fe_add(f, VDM_CAN_QUEUE_TX, &out, 1, &in, 1, n);
        n++;
    }
    fe_kick(f, VDM_CAN_QUEUE_TX);
    memset(res, 0xff, sizeof(res));
    while (done < n) {
        uintptr_t c;
        uint32_t len;
        if (!fe_used(f, VDM_CAN_QUEUE_TX, 5000, &c, &len))
            die("can: %u of %u frames not answered in 5 s", n - done, n);
        if (c >= n || len != 1 || res[c] != 0xff)
            die("can: bad Txq used entry (%lu, %u bytes)", (unsigned long)c,
                len);
        res[c] = f->mem[TXRES + 0x10u * c];
        done++;
    }
    for (unsigned k = 0; k < n; k++)
        printf("%s%s", k ? " " : "",
               res[k] == VDM_CAN_RESULT_OK ? "ok" : "notok");
    putchar('\n');
}

static void can_post(struct fe *f, unsigned slot)
{
    struct drv_buf in = {RXB + 0x100u * slot, RXLEN};
    memset(f->mem + RXB + 0x100u * slot, 0xee, RXLEN);
    fe_add(f, VDM_CAN_QUEUE_RX, NULL, 0, &in, 1, slot);
}

/* CAN Message Reception: struct virtio_can_rx + sdu (none for RTR). A
 * buffer the device filled wrongly is printed as "bad:WHY". */
static void can_recv(struct fe *f, unsigned ms, unsigned count)
{
    uint64_t end = now_ms() + ms;
    unsigned got = 0;

    while (got < count) {
        uint64_t t = now_ms();
        uintptr_t c;
        uint32_t len, flags;
        const uint8_t *h;
        struct frame fr;
        const char *bad = NULL;

        if (t >= end ||
            !fe_used(f, VDM_CAN_QUEUE_RX, (unsigned)(end - t), &c, &len))
            break;
        if (c >= FE_NUM)
            die("can: Rxq cookie %lu", (unsigned long)c);
        h = f->mem + RXB + 0x100u * c;
        memset(&fr, 0, sizeof(fr));
        flags = get_le32(h + 8);
        fr.id = get_le32(h + 12);
        fr.len = get_le16(h + 2);
        fr.dlc = h[4];
        fr.fd = (flags & VDM_CAN_FLAGS_FD) != 0;
        fr.ext = (flags & VDM_CAN_FLAGS_EXTENDED) != 0;
        fr.rtr = (flags & VDM_CAN_FLAGS_RTR) != 0;
        if (get_le16(h) != VDM_CAN_MSG_RX)
            bad = "msg_type";
        else if (flags & ~(uint32_t)(VDM_CAN_FLAGS_FD | VDM_CAN_FLAGS_RTR |
                                     VDM_CAN_FLAGS_EXTENDED))
            bad = "flags";
        else if (fr.id > (fr.ext ? VDM_CAN_EFF_MAX : VDM_CAN_SFF_MAX))
            bad = "can_id";
        else if (fr.len > (fr.fd ? 64u : 8u) ||
                 len != VDM_CAN_HDR_BYTES + (fr.rtr ? 0u : fr.len))
            bad = "length";
        else if (h[5] != 0 || get_le16(h + 6) != 0 ||
                 (fr.dlc != 0 && (fr.len != 8 || fr.fd || fr.dlc < 9)))
            bad = "reserved";
        if (bad != NULL) {
            printf("%sbad:%s", got ? " " : "", bad);
        } else {
            if (!fr.rtr)
                memcpy(fr.data, h + VDM_CAN_HDR_BYTES, fr.len);
            print(&fr, got == 0);
        }
        got++;
        can_post(f, (unsigned)c);
        fe_kick(f, VDM_CAN_QUEUE_RX);
    }
    if (got == 0)
        fputs("none", stdout);
    putchar('\n');
}

static void can_open(char **save)
{
    const char *n = strtok_r(NULL, " \t", save);
    const char *path = strtok_r(NULL, " \t", save);
    const char *drop = strtok_r(NULL, " \t", save);
    struct fe *f;

    if (n == NULL || n[0] < 'a' || n[0] >= (char)('a' + NFE) || n[1] != '\0' ||
        path == NULL || opened[n[0] - 'a'])
        die("open N SOCKET [DROP]: N one of a..%c, once", 'a' + NFE - 1);
    f = &fes[n[0] - 'a'];
    fe_open(f, path, VDM_CAN_NUM_QUEUES, drop != NULL ? num(drop) : 0);
    opened[n[0] - 'a'] = 1;
    printf("features 0x%x\n", (unsigned)(f->features & 0xffu));
}

static void can_node(struct fe *f, const char *cmd, char **save)
{
    if (strcmp(cmd, "start") == 0) {
        can_ctrl(f, VDM_CAN_SET_CTRL_MODE_START);
    } else if (strcmp(cmd, "stop") == 0) {
        can_ctrl(f, VDM_CAN_SET_CTRL_MODE_STOP);
    } else if (strcmp(cmd, "send") == 0) {
        can_send(f, save);
    } else if (strcmp(cmd, "post") == 0) {
        unsigned k = (unsigned)num(strtok_r(NULL, " \t", save));
        if (k > FE_NUM || drv_vq_inflight(&f->q[VDM_CAN_QUEUE_RX]) != 0)
            die("can: post at most %u buffers, once", FE_NUM);
        for (unsigned i = 0; i < k; i++)
            can_post(f, i);
        fe_kick(f, VDM_CAN_QUEUE_RX);
        printf("posted %u\n", k);
    } else if (strcmp(cmd, "recv") == 0) {
        unsigned ms = (unsigned)num(strtok_r(NULL, " \t", save));
        const char *c = strtok_r(NULL, " \t", save);
        can_recv(f, ms, c != NULL ? (unsigned)num(c) : ~0u);
    } else if (strcmp(cmd, "status") == 0) {
        uint8_t *p = f->v.reply + VDM_VHOST_USER_HDR_BYTES + 12;
        if (vu_front_config(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, 0,
                            VDM_CAN_CONFIG_BYTES, NULL,
                            VDM_CAN_CONFIG_BYTES) != 0 ||
            vu_front_recv(&f->v, VDM_VHOST_USER_GET_CONFIG) !=
                12 + VDM_CAN_CONFIG_BYTES)
            die("GET_CONFIG");
        printf("status %u\n", get_le16(p));
    } else {
        die("unknown can command %s", cmd);
    }
}

/* ---- the wire: a raw CAN socket of our own -------------------------------
 */

static void wire_open(const char *ifname)
{
    struct sockaddr_can sa = {.can_family = AF_CAN};
    int one = 1;

    if (ifname == NULL)
        die("wire open IFNAME");
    wire = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);
    sa.can_ifindex = (int)if_nametoindex(ifname);
    if (wire < 0 || sa.can_ifindex == 0 ||
        setsockopt(wire, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &one, sizeof(one)) ||
        bind(wire, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("wire %s: %s", ifname, strerror(errno));
    puts("ok");
}

static void wire_send(char **save)
{
    struct frame fr;
    char *t;
    int first = 1;

    while ((t = strtok_r(NULL, " \t", save)) != NULL) {
        struct canfd_frame cf;
        size_t mtu;

        parse(t, &fr);
        mtu = fr.fd ? CANFD_MTU : CAN_MTU;
        memset(&cf, 0, sizeof(cf));
        cf.can_id =
            fr.id | (fr.ext ? CAN_EFF_FLAG : 0u) | (fr.rtr ? CAN_RTR_FLAG : 0u);
        cf.len = (uint8_t)fr.len;
        if (fr.fd)
            cf.flags = (uint8_t)(CANFD_FDF | fr.fdflags);
        else
            ((struct can_frame *)&cf)->len8_dlc = (uint8_t)fr.dlc;
        if (!fr.rtr)
            memcpy(cf.data, fr.data, fr.len);
        if (write(wire, &cf, mtu) == (ssize_t)mtu)
            printf(first ? "ok" : " ok");
        else
            printf(first ? "err %s" : " err %s", strerrorname_np(errno));
        first = 0;
    }
    putchar('\n');
}

/* The error frame a SocketCAN controller driver sends up when it goes
 * bus-off (linux/can/error.h); vcan passes it to the other sockets whose
 * error mask has CAN_ERR_BUSOFF. */
static void wire_busoff(void)
{
    struct can_frame cf;

    memset(&cf, 0, sizeof(cf));
    cf.can_id = CAN_ERR_FLAG | CAN_ERR_BUSOFF;
    cf.len = CAN_ERR_DLC;
    if (write(wire, &cf, CAN_MTU) == (ssize_t)CAN_MTU)
        puts("ok");
    else
        printf("err %s\n", strerrorname_np(errno));
}

static void wire_recv(unsigned ms, unsigned count)
{
    uint64_t end = now_ms() + ms;
    unsigned got = 0;

    while (got < count) {
        uint64_t t = now_ms();
        struct pollfd p = {.fd = wire, .events = POLLIN};
        struct canfd_frame cf;
        struct frame fr;
        ssize_t n;

        if (t >= end || poll(&p, 1, (int)(end - t)) != 1)
            break;
        n = read(wire, &cf, sizeof(cf));
        if (n != CAN_MTU && n != CANFD_MTU)
            continue; /* ENETDOWN and the like: the interface's business */
        memset(&fr, 0, sizeof(fr));
        fr.ext = (cf.can_id & CAN_EFF_FLAG) != 0;
        fr.rtr = (cf.can_id & CAN_RTR_FLAG) != 0;
        fr.id = cf.can_id & (fr.ext ? CAN_EFF_MASK : CAN_SFF_MASK);
        fr.fd = n == CANFD_MTU;
        fr.fdflags = fr.fd ? cf.flags & (CANFD_BRS | CANFD_ESI) : 0u;
        fr.len = cf.len;
        if (!fr.fd)
            fr.dlc = ((struct can_frame *)&cf)->len8_dlc;
        if (fr.len > 64)
            die("wire: frame of %u bytes", fr.len);
        memcpy(fr.data, cf.data, fr.len);
        print(&fr, got == 0);
        got++;
    }
    if (got == 0)
        fputs("none", stdout);
    putchar('\n');
}

int can_main(void)
{
    char line[4096];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *save = NULL, *cmd, *arg;
        struct fe *f;

        line[strcspn(line, "\n")] = '\0';
        cmd = strtok_r(line, " \t", &save);
        if (cmd == NULL || cmd[0] == '#' || common_cmd(cmd, &save))
            continue;
        if (strcmp(cmd, "open") == 0) {
            can_open(&save);
            continue;
        }
        arg = strtok_r(NULL, " \t", &save);
        if (arg == NULL)
            die("%s: no command", cmd);
        if (strcmp(cmd, "wire") == 0) {
            if (strcmp(arg, "open") == 0) {
                wire_open(strtok_r(NULL, " \t", &save));
                continue;
            }
            if (wire < 0)
                die("wire not open");
            if (strcmp(arg, "send") == 0) {
                wire_send(&save);
            } else if (strcmp(arg, "busoff") == 0) {
                wire_busoff();
            } else if (strcmp(arg, "recv") == 0) {
                unsigned ms = (unsigned)num(strtok_r(NULL, " \t", &save));
                const char *c = strtok_r(NULL, " \t", &save);
                wire_recv(ms, c != NULL ? (unsigned)num(c) : ~0u);
            } else {
                die("unknown wire command %s", arg);
            }
            continue;
        }
        if ((f = node(cmd)) == NULL)
            die("unknown command %s", cmd);
        can_node(f, arg, &save);
    }
    for (unsigned i = 0; i < NFE; i++)
        if (opened[i])
            vu_front_close(&fes[i].v);
    if (wire >= 0)
        close(wire);
    return 0;
}
