/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-console (fuzz_dev.h). One port (port 0), with
 * MULTIPORT (four queues: the control queues too) unless config byte bit 0;
 * console, name and host side open by config byte. The host consumes,
 * keeps (completed later by the input), pauses (VDM_EAGAIN, resumed by a
 * kick) or fails transmit buffers; writes data, resizes, opens and closes
 * its side, removes and adds the port again. Requests: control messages
 * (mostly well-formed: small ids, events 0..8, values 0..2) or data.
 * Oracles: spans handed to the host are readable guest memory of the
 * length announced; hooks name port 0 only; used lengths of transmitqs are
 * 0 and of the control receiveq a whole message; port state bits stay
 * consistent (open needs ready, ready needs announced); writes take no more
 * than given. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/console.h"

#define NSLOT 8u
#define NPEND 32u

static struct {
    struct vdm_console con;
    struct vdm_console_ops ops;
    uintptr_t pend[NPEND];
    unsigned npend;
    int mode;
    uint8_t cb;
    uint64_t storage[VDM_CONSOLE_STORAGE_BYTES(1, NSLOT) / 8u + 1u];
} C;

static void check_state(void)
{
    int st = vdm_console_port_state(&C.con, 0);
    FZ_CHECK(st >= 0, "port_state %d", st);
    if ((st & VDM_CONSOLE_PS_GUEST_OPEN) != 0)
        FZ_CHECK((st & VDM_CONSOLE_PS_READY) != 0, "open, not ready: %x", st);
    if ((st & VDM_CONSOLE_PS_READY) != 0)
        FZ_CHECK((st & VDM_CONSOLE_PS_ANNOUNCED) != 0,
                 "ready, not announced: %x", st);
}

static int c_tx(void *host, uint32_t port, const struct vdm_iov *iov,
                uint32_t n, uint32_t len, uintptr_t token)
{
    uint64_t total = 0;
    (void)host;
    FZ_CHECK(port == 0, "transmit on port %u", port);
    FZ_CHECK(n <= VDM_CONSOLE_IOV_MAX, "transmit %u spans", n);
    fd_spans_check(iov, n, 0, &total);
    FZ_CHECK(total == len, "transmit len %u, spans %llu", len,
             (unsigned long long)total);
    if (C.mode == 1) {
        if (C.npend < NPEND) {
            C.pend[C.npend++] = token;
            return VDM_CONSOLE_TX_PENDING;
        }
        return 0;
    }
    if (C.mode == 2)
        return VDM_EAGAIN;
    if (C.mode == 3)
        return VDM_EIO;
    if (C.mode == 4) {
        int rc = vdm_console_tx_done(&C.con, token);
        FZ_CHECK(rc == 0, "tx_done inside transmit: %d", rc);
        return VDM_CONSOLE_TX_PENDING;
    }
    return 0;
}

static void c_open(void *host, uint32_t port, uint32_t open)
{
    (void)host;
    FZ_CHECK(port == 0 && open <= 1, "guest_open %u %u", port, open);
}

static void c_rx(void *host, uint32_t port)
{
    (void)host;
    FZ_CHECK(port == 0, "rx_ready %u", port);
}

static void c_ready(void *host, uint32_t port, uint32_t ok)
{
    (void)host;
    FZ_CHECK(port == 0 && ok <= 1, "port_ready %u %u", port, ok);
}

static void c_emerg(void *host, uint8_t c)
{
    (void)host;
    (void)c;
}

static void add_port0(void)
{
    struct vdm_console_port_info i = {.size = sizeof(i)};
    i.console = (C.cb & 2) ? 0u : 1u;
    i.name = (C.cb & 4) ? "org.vdm.fuzz" : NULL;
    i.name_len = (C.cb & 4) ? 12u : 0u;
    i.host_open = (C.cb & 8) ? 1u : 0u;
    int rc = vdm_console_port_add(&C.con, 0, &i);
    FZ_CHECK(rc == 0 || rc == VDM_EBUSY, "port_add %d", rc);
}

static int console_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                          uint8_t cb)
{
    struct vdm_console_config c = {.size = sizeof(c)};
    int rc;
    memset(&C, 0, sizeof(C));
    C.cb = cb;
    C.ops = (struct vdm_console_ops){.size = sizeof(C.ops),
                                     .transmit = c_tx,
                                     .guest_open = c_open,
                                     .rx_ready = c_rx,
                                     .port_ready = c_ready,
                                     .emerg_write = c_emerg};
    c.max_ports = 1;
    c.features = VDM_CONSOLE_F_SIZE | VDM_CONSOLE_F_EMERG_WRITE;
    if ((cb & 1) == 0)
        c.features |= VDM_CONSOLE_F_MULTIPORT;
    base->num_queues = (uint16_t)((cb & 1) ? 2 : 4);
    c.ops = &C.ops;
    c.host = &C;
    c.tx_slots = NSLOT;
    c.cols = 80;
    c.rows = 24;
    c.storage = C.storage;
    c.storage_bytes = sizeof(C.storage);
    rc = vdm_console_init(&C.con, dev, &c, base);
    if (rc == 0)
        add_port0();
    return rc;
}

/* A control message (8 bytes, mostly well-formed) or data. */
static uint32_t console_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t k = fz_u8(f);
    uint32_t id;
    (void)type;
    fz_bytes(f, req, 16);
    if ((k & 0x80) != 0)
        return k & 0x0fu; /* data, or a short message */
    id = (k & 1) ? 0u : (uint32_t)req[0] | ((uint32_t)req[1] << 8);
    req[0] = (uint8_t)id;
    req[1] = (uint8_t)(id >> 8);
    req[2] = (k & 0x40) ? 0xff : 0;
    req[3] = (k & 0x40) ? 0xff : 0;
    req[4] = (uint8_t)((k >> 1) % 9u);
    req[5] = 0;
    req[6] = (uint8_t)((k >> 5) % 3u);
    req[7] = 0;
    return 8;
}

static void console_check_used(unsigned q, const struct fd_rec *r,
                               const struct drv_used *u)
{
    FZ_CHECK(u->len <= r->wlen, "used len %u of %llu", u->len,
             (unsigned long long)r->wlen);
    if (q == VDM_CONSOLE_QUEUE_TX0 || q == VDM_CONSOLE_QUEUE_CTRL_TX)
        FZ_CHECK(u->len == 0, "queue %u used len %u", q, u->len);
    else if (q == VDM_CONSOLE_QUEUE_CTRL_RX)
        FZ_CHECK(u->len == 0 || (u->len >= 8 && u->len <= 8 + 12),
                 "control message len %u", u->len);
    check_state();
}

static void complete_at(unsigned i)
{
    int rc = vdm_console_tx_done(&C.con, C.pend[i]);
    FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "tx_done %d", rc);
    C.pend[i] = C.pend[--C.npend];
}

static void console_host(uint8_t act, uint32_t arg)
{
    uint8_t data[64];
    int rc;

    switch (act % 9) {
    case 0:
        if (C.npend)
            complete_at(arg % C.npend);
        break;
    case 1:
        while (C.npend)
            complete_at(C.npend - 1);
        break;
    case 2: C.mode = (int)(arg % 5u); break;
    case 3:
        memset(data, (int)(arg >> 8), sizeof(data));
        rc = vdm_console_write(&C.con, arg >> 24, data, arg % 65u);
        FZ_CHECK((rc >= 0 && (uint32_t)rc <= arg % 65u) || rc == VDM_ESTATE ||
                     rc == VDM_ENOENT,
                 "write %d", rc);
        break;
    case 4:
        rc = vdm_console_resize(&C.con, arg >> 28, (uint16_t)arg,
                                (uint16_t)(arg >> 16));
        FZ_CHECK(rc == 0 || rc == VDM_ERANGE || rc == VDM_ENOENT, "resize %d",
                 rc);
        break;
    case 5:
        rc = vdm_console_set_host_open(&C.con, 0, arg & 1);
        FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "host_open %d", rc);
        break;
    case 6:
        if ((arg & 1) != 0) {
            rc = vdm_console_port_remove(&C.con, 0);
            FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "remove %d", rc);
        } else {
            add_port0();
        }
        break;
    case 7:
        rc = vdm_console_tx_kick(&C.con, arg % 2u);
        FZ_CHECK(rc == 0 || rc == VDM_ERANGE, "tx_kick %d", rc);
        break;
    default:
        rc = vdm_console_tx_done(&C.con, (uintptr_t)arg);
        FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "forged token: %d", rc);
        break;
    }
    check_state();
}

static void console_complete_all(void)
{
    while (C.npend)
        complete_at(C.npend - 1);
}

const struct fuzz_dev_plugin fuzz_dev_console = {
    .name = "console",
    .create = console_create,
    .request = console_request,
    .check_used = console_check_used,
    .host = console_host,
    .complete_all = console_complete_all,
};
