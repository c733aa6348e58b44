/* SPDX-License-Identifier: BSD-3-Clause */
/* Console device (spec "Console Device"): configuration layout and
 * emerg_wr ("Device Initialization"), port 0 data both ways and the size in
 * the configuration ("Device Operation"), the multiport control protocol
 * ("Multiport Device Operation": DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE,
 * PORT_READY, CONSOLE_PORT, RESIZE, PORT_OPEN, PORT_NAME), synchronous,
 * asynchronous and paused transmission, reset, and hostile drivers. Driven
 * by the driver simulator directly and behind MMIO and PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/console.h"

#define QMAX   32
#define NSLOT  4
#define NPORTS 4
#define NQ     VDM_CONSOLE_NUM_QUEUES(NPORTS)
#define ALLF                                                                   \
    (VDM_CONSOLE_F_SIZE | VDM_CONSOLE_F_MULTIPORT | VDM_CONSOLE_F_EMERG_WRITE)

/* ------------------------------------------------------------------------ */
/* The host: records what the device gave it                               */

#define TXMAX 64

struct host {
    uint8_t tx[4096];
    uint32_t ntxb;          /* bytes received */
    uint32_t txport[TXMAX]; /* port of each buffer */
    uintptr_t token[TXMAX]; /* token of each buffer */
    int ntx;                /* buffers */
    int mode;               /* what transmit() answers */
    int done_inside;        /* PENDING, completed inside transmit */
    uint32_t open[NPORTS];  /* last guest_open value + 1 */
    int nopen, nready, nrx;
    uint32_t ready_ok[NPORTS];
    uint32_t rxport;
    uint8_t emerg[16];
    int nemerg;
};

static struct host hs;
static struct dh h;
static struct vdm_console con;
static uint64_t storage[VDM_CONSOLE_STORAGE_BYTES(NPORTS, NSLOT) / 8 + 1];

static int h_tx(void *host, uint32_t port, const struct vdm_iov *iov,
                uint32_t n, uint32_t len, uintptr_t token)
{
    struct host *x = host;
    uint32_t sum = 0;

    if (x->mode == VDM_EAGAIN)
        return VDM_EAGAIN;
    ck_assert_int_lt(x->ntx, TXMAX);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_le(x->ntxb + iov[i].len, sizeof(x->tx));
        memcpy(x->tx + x->ntxb, iov[i].base, iov[i].len);
        x->ntxb += iov[i].len;
        sum += iov[i].len;
    }
    ck_assert_uint_eq(sum, len);
    x->txport[x->ntx] = port;
    x->token[x->ntx] = token;
    x->ntx++;
    if (x->done_inside)
        ck_assert_int_eq(vdm_console_tx_done(&con, token), 0);
    return x->mode;
}

static void h_open(void *host, uint32_t port, uint32_t open)
{
    struct host *x = host;
    ck_assert_uint_lt(port, NPORTS);
    x->open[port] = open + 1;
    x->nopen++;
}

static void h_rx(void *host, uint32_t port)
{
    struct host *x = host;
    x->nrx++;
    x->rxport = port;
}

static void h_ready(void *host, uint32_t port, uint32_t ok)
{
    struct host *x = host;
    ck_assert_uint_lt(port, NPORTS);
    x->ready_ok[port] = ok + 1;
    x->nready++;
}

static void h_emerg(void *host, uint8_t c)
{
    struct host *x = host;
    ck_assert_int_lt(x->nemerg, 16);
    x->emerg[x->nemerg++] = c;
}

static const struct vdm_console_ops ops = {
    .size = sizeof(struct vdm_console_ops),
    .transmit = h_tx,
    .guest_open = h_open,
    .rx_ready = h_rx,
    .port_ready = h_ready,
    .emerg_write = h_emerg,
};

static struct vdm_console_config cfg(uint64_t f, uint32_t ports)
{
    struct vdm_console_config c = VDM_INIT(struct vdm_console_config);
    c.max_ports = ports;
    c.features = f;
    c.ops = &ops;
    c.host = &hs;
    c.tx_slots = NSLOT;
    c.cols = 80;
    c.rows = 25;
    c.storage = storage;
    c.storage_bytes = sizeof(storage);
    return c;
}

static void setup_with(uint64_t f, uint32_t ports)
{
    struct dh_opts o = {.num_queues = (uint16_t)VDM_CONSOLE_NUM_QUEUES(ports),
                        .qsize = QMAX};

    if ((f & VDM_CONSOLE_F_MULTIPORT) == 0)
        o.num_queues = 2;
    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_console_config c = cfg(f, ports);
    ck_assert_int_eq(vdm_console_init(&con, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_console_dev(&con), &h.dev);
}

static void setup(void)
{
    setup_with(ALLF, NPORTS);
}

static void setup_single(void)
{
    setup_with(VDM_CONSOLE_F_SIZE | VDM_CONSOLE_F_EMERG_WRITE, 1);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define Q(i) (dh_vq(&h, (uint16_t)(i)))

static void bringup(uint64_t f)
{
    uint16_t nq = (f & VDM_CONSOLE_F_MULTIPORT) ? NQ : 2;
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1 | f, nq), 0);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (get16(p + 2) << 16);
}

static uint32_t used_on(struct drv_vq *q, uint64_t r)
{
    uint32_t len = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(q, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)r);
    return len;
}

static void none_used(struct drv_vq *q)
{
    ck_assert_int_eq(drv_vq_get_used(q, NULL, NULL, NULL), 0);
}

/* Post one device-writable buffer of @p len bytes on queue @p q (no kick). */
static uint64_t post_in(uint16_t q, uint32_t len)
{
    uint64_t g = dh_alloc(&h, len, 8);
    struct drv_buf i = {g, len};
    ck_assert_int_ge(
        drv_vq_add(Q(q), NULL, 0, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)g),
        0);
    drv_vq_publish(Q(q));
    return g;
}

/* Post @p n readable spans holding @p data (split evenly) on @p q; kick. */
static uint64_t post_out(uint16_t q, const void *data, uint32_t len, unsigned n)
{
    struct drv_buf o[20];
    uint64_t g = dh_alloc(&h, len + 1, 8);
    uint32_t per = len / n, off = 0;

    ck_assert_uint_le(n, 20);
    memcpy(dh_ptr(&h, g, len), data, len);
    for (unsigned k = 0; k < n; k++) {
        o[k].gpa = g + off;
        o[k].len = (k == n - 1) ? len - off : per;
        off += o[k].len;
    }
    ck_assert_int_ge(
        drv_vq_add(Q(q), o, n, NULL, 0, DRV_ADD_DIRECT, (void *)(uintptr_t)g),
        0);
    drv_vq_publish(Q(q));
    ck_assert_int_ge(dh_kick(&h, q, 1), 0);
    return g;
}

/* Driver to device: one control message on the control transmitq. */
static void ctl_send(uint32_t id, uint32_t ev, uint32_t value, uint32_t len)
{
    uint8_t m[8];
    put32(m, id);
    put16(m + 4, ev);
    put16(m + 6, value);
    uint64_t g = post_out(VDM_CONSOLE_QUEUE_CTRL_TX, m, len, 1);
    ck_assert_uint_eq(used_on(Q(VDM_CONSOLE_QUEUE_CTRL_TX), g), 0);
}

/* Device to driver: the control message in buffer @p g, used @p len. */
struct msg {
    uint32_t id, ev, value, len;
    uint8_t extra[128];
};

static struct msg msg_in(uint64_t g, uint32_t len)
{
    struct msg m;
    const uint8_t *p = dh_ptr(&h, g, 8);

    memset(&m, 0, sizeof(m));
    ck_assert_uint_ge(len, 8);
    m.id = get32(p);
    m.ev = get16(p + 4);
    m.value = get16(p + 6);
    m.len = len;
    memcpy(m.extra, dh_ptr(&h, g + 8, len - 8), len - 8);
    return m;
}

/* Post @p n control receiveq buffers of 256 bytes and kick. */
static uint64_t ctl_bufs[64];
static unsigned ctl_head, ctl_tail;

static void ctl_post(unsigned n, uint32_t size)
{
    for (unsigned k = 0; k < n; k++)
        ctl_bufs[ctl_tail++ % 64] = post_in(VDM_CONSOLE_QUEUE_CTRL_RX, size);
    ck_assert_int_ge(dh_kick(&h, VDM_CONSOLE_QUEUE_CTRL_RX, 1), 0);
}

/* The next control message the device sent. */
static struct msg ctl_next(void)
{
    uint64_t g = ctl_bufs[ctl_head++ % 64];
    return msg_in(g, used_on(Q(VDM_CONSOLE_QUEUE_CTRL_RX), g));
}

static void expect_msg(uint32_t id, uint32_t ev, uint32_t value)
{
    struct msg m = ctl_next();
    ck_assert_uint_eq(m.ev, ev);
    ck_assert_uint_eq(m.id, id);
    ck_assert_uint_eq(m.value, value);
}

static void add_port(uint32_t p, uint32_t console, const char *name,
                     uint32_t host_open)
{
    struct vdm_console_port_info i = VDM_INIT(struct vdm_console_port_info);
    i.console = console;
    i.name = name;
    i.name_len = name ? (uint32_t)strlen(name) : 0;
    i.host_open = host_open;
    ck_assert_int_eq(vdm_console_port_add(&con, p, &i), 0);
}

/* Bring up with MULTIPORT: port 0 a console, port 1 "org.vdm.one" (host
 * open); DEVICE_READY; both announced; both PORT_READY and opened. */
static void multi_up(void)
{
    add_port(0, 1, NULL, 1);
    add_port(1, 0, "org.vdm.one", 1);
    bringup(ALLF);
    ctl_head = ctl_tail = 0;
    ctl_post(16, 256);
    ctl_send(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    expect_msg(0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_msg(1, VDM_CONSOLE_DEVICE_ADD, 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    ctl_send(0, VDM_CONSOLE_PORT_READY, 1, 8);
    expect_msg(0, VDM_CONSOLE_CONSOLE_PORT, 1);
    expect_msg(0, VDM_CONSOLE_PORT_OPEN, 1);
    struct msg r = ctl_next();
    ck_assert_uint_eq(r.ev, VDM_CONSOLE_RESIZE);
    ck_assert_uint_eq(r.len, 12);
    ck_assert_uint_eq(get16(r.extra), 80);
    ck_assert_uint_eq(get16(r.extra + 2), 25);
    ctl_send(0, VDM_CONSOLE_PORT_OPEN, 1, 8);
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 8);
    struct msg n = ctl_next();
    ck_assert_uint_eq(n.ev, VDM_CONSOLE_PORT_NAME);
    ck_assert_uint_eq(n.id, 1);
    ck_assert_uint_eq(n.len, 8 + 11);
    ck_assert_mem_eq(n.extra, "org.vdm.one", 11);
    expect_msg(1, VDM_CONSOLE_PORT_OPEN, 1);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 1, 8);
    ck_assert_uint_eq(hs.open[0], 2);
    ck_assert_uint_eq(hs.open[1], 2);
}

/* ------------------------------------------------------------------------ */
/* "Device configuration layout", "Device Initialization" */

START_TEST(config_layout)
{
    ck_assert_uint_eq(vdm_dev_config_size(&h.dev), 12);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_COLS, 2), 80);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_ROWS, 2), 25);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_MAX_NR_PORTS, 4), NPORTS);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_EMERG_WR, 4), 0);
    uint64_t f = vdm_dev_device_features(&h.dev);
    ck_assert_uint_eq(f & ALLF, ALLF);
    ck_assert_uint_eq(f & VDM_F_IN_ORDER, 0);
    /* read-only fields stay as they are */
    uint8_t w[2] = {1, 2};
    (void)dh_config_write(&h, VDM_CONSOLE_CFG_COLS, w, 2);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_COLS, 2), 80);
}
END_TEST

/* "The device MUST allow a write to emerg_wr, even on an unconfigured
 * device." / "SHOULD transmit the lower byte" */
START_TEST(emerg_write_any_time)
{
    uint8_t v[4] = {'A', 'x', 'y', 'z'};
    ck_assert_int_eq(dh_config_write(&h, VDM_CONSOLE_CFG_EMERG_WR, v, 4), 0);
    ck_assert_int_eq(hs.nemerg, 1);
    ck_assert_uint_eq(hs.emerg[0], 'A');
    bringup(ALLF);
    v[0] = 'B';
    ck_assert_int_eq(dh_config_write(&h, VDM_CONSOLE_CFG_EMERG_WR, v, 4), 0);
    ck_assert_int_eq(hs.nemerg, 2);
    ck_assert_uint_eq(hs.emerg[1], 'B');
}
END_TEST

START_TEST(emerg_write_not_offered)
{
    dh_fini(&h);
    setup_with(VDM_CONSOLE_F_SIZE, 1);
    uint8_t v[4] = {'A', 0, 0, 0};
    (void)dh_config_write(&h, VDM_CONSOLE_CFG_EMERG_WR, v, 4);
    ck_assert_int_eq(hs.nemerg, 0);
}
END_TEST

START_TEST(init_rejects)
{
    struct vdm_console c2;
    struct vdm_dev d2;
    struct vdm_console_config c = cfg(ALLF, NPORTS);

    c.max_ports = 0;
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(VDM_CONSOLE_F_SIZE, 2); /* more than one port needs MULTIPORT */
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(ALLF | (1ull << 5), NPORTS);
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(ALLF, NPORTS);
    c.storage_bytes = VDM_CONSOLE_STORAGE_BYTES(NPORTS, NSLOT) - 1;
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(ALLF, NPORTS);
    c.tx_slots = 0;
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(ALLF, VDM_CONSOLE_MAX_PORTS + 1);
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_EINVAL);
    c = cfg(ALLF, NPORTS);
    c.size = 8;
    ck_assert_int_eq(vdm_console_init(&c2, &d2, &c, &h.base), VDM_ESIZE);
    ck_assert_int_eq(vdm_console_init(NULL, &d2, &c, &h.base), VDM_EINVAL);
    /* port API argument checks */
    struct vdm_console_port_info i = VDM_INIT(struct vdm_console_port_info);
    ck_assert_int_eq(vdm_console_port_add(&con, NPORTS, &i), VDM_ERANGE);
    i.name_len = VDM_CONSOLE_NAME_MAX + 1;
    i.name = "x";
    ck_assert_int_eq(vdm_console_port_add(&con, 1, &i), VDM_EINVAL);
    i.name_len = 0;
    i.console = 2;
    ck_assert_int_eq(vdm_console_port_add(&con, 1, &i), VDM_EINVAL);
    i.console = 0;
    ck_assert_int_eq(vdm_console_port_add(&con, 1, &i), 0);
    ck_assert_int_eq(vdm_console_port_add(&con, 1, &i), VDM_EBUSY);
    ck_assert_int_eq(vdm_console_port_remove(&con, 2), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_set_host_open(&con, 2, 1), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_set_host_open(&con, 1, 2), VDM_EINVAL);
    ck_assert_int_eq(vdm_console_resize(&con, 3, 1, 1), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_port_state(&con, NPORTS), VDM_ERANGE);
    ck_assert_int_eq(vdm_console_tx_kick(&con, NPORTS), VDM_ERANGE);
    ck_assert_int_eq(vdm_console_write(&con, 0, "x", 1), VDM_ESTATE);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Port 0 without MULTIPORT ("Device Operation") */

START_TEST(port0_data_both_ways)
{
    bringup(VDM_CONSOLE_F_SIZE);
    ck_assert_uint_eq(hs.open[0], 2); /* the console is the driver's */
    /* host -> guest: two 4-byte buffers take 8 of 10 bytes, in order */
    int nrx = hs.nrx;
    uint64_t a = post_in(0, 4), b = post_in(0, 4);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_int_eq(hs.nrx, nrx + 1); /* the host hears of new buffers */
    ck_assert_int_eq(vdm_console_write(&con, 0, "0123456789", 10), 8);
    ck_assert_uint_eq(used_on(Q(0), a), 4);
    ck_assert_uint_eq(used_on(Q(0), b), 4);
    ck_assert_mem_eq(dh_ptr(&h, a, 4), "0123", 4);
    ck_assert_mem_eq(dh_ptr(&h, b, 4), "4567", 4);
    ck_assert_int_eq(vdm_console_write(&con, 0, "89", 2), 0); /* no buffer */
    uint64_t c = post_in(0, 64);
    ck_assert_int_eq(vdm_console_write(&con, 0, "89", 2), 2);
    ck_assert_uint_eq(used_on(Q(0), c), 2);
    ck_assert_mem_eq(dh_ptr(&h, c, 2), "89", 2);
    /* guest -> host: three spans arrive as one buffer, byte-exact */
    uint64_t t = post_out(1, "hello, world", 12, 3);
    ck_assert_uint_eq(used_on(Q(1), t), 0);
    ck_assert_int_eq(hs.ntx, 1);
    ck_assert_uint_eq(hs.txport[0], 0);
    ck_assert_uint_eq(hs.ntxb, 12);
    ck_assert_mem_eq(hs.tx, "hello, world", 12);
    /* other ports do not exist */
    ck_assert_int_eq(vdm_console_write(&con, 1, "x", 1), VDM_ENOENT);
}
END_TEST

/* "If the driver negotiated the VIRTIO_CONSOLE_F_SIZE feature, a
 * configuration change notification indicates that the updated size can be
 * read from the configuration fields. This size applies to port 0 only." */
START_TEST(port0_resize_config_change)
{
    bringup(VDM_CONSOLE_F_SIZE);
    unsigned before = h.irq_config;
    ck_assert_int_eq(vdm_console_resize(&con, 0, 132, 43), 0);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config, before + 1);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_COLS, 2), 132);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_ROWS, 2), 43);
}
END_TEST

START_TEST(port0_resize_without_size_feature)
{
    bringup(0);
    unsigned before = h.irq_config;
    ck_assert_int_eq(vdm_console_resize(&con, 0, 100, 30), 0);
    dh_service(&h);
    ck_assert_uint_eq(h.irq_config, before);
}
END_TEST

START_TEST(tx_async_and_stale_tokens)
{
    bringup(0);
    hs.mode = VDM_CONSOLE_TX_PENDING;
    uint64_t t = post_out(1, "abc", 3, 1);
    none_used(Q(1));
    ck_assert_int_eq(hs.ntx, 1);
    ck_assert_int_eq(vdm_console_tx_done(&con, hs.token[0]), 0);
    ck_assert_uint_eq(used_on(Q(1), t), 0);
    ck_assert_int_eq(vdm_console_tx_done(&con, hs.token[0]), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_tx_done(&con, 12345), VDM_ENOENT);
    /* completed from inside transmit() */
    hs.done_inside = 1;
    t = post_out(1, "de", 2, 1);
    ck_assert_uint_eq(used_on(Q(1), t), 0);
    ck_assert_mem_eq(hs.tx, "abcde", 5);
}
END_TEST

/* The host pauses a port (VDM_EAGAIN): the buffer stays in the ring, then
 * tx_kick delivers everything in ring order. */
START_TEST(tx_pause_and_kick)
{
    bringup(0);
    hs.mode = VDM_EAGAIN;
    uint64_t a = post_out(1, "one ", 4, 1);
    uint64_t b = post_out(1, "two", 3, 1);
    none_used(Q(1));
    ck_assert_int_eq(hs.ntx, 0);
    hs.mode = 0;
    ck_assert_int_eq(vdm_console_tx_kick(&con, 0), 0);
    ck_assert_uint_eq(used_on(Q(1), a), 0);
    ck_assert_uint_eq(used_on(Q(1), b), 0);
    ck_assert_mem_eq(hs.tx, "one two", 7);
}
END_TEST

/* A reset abandons buffers at the host; the guest's port closes. */
START_TEST(reset_drops_pending)
{
    bringup(0);
    hs.mode = VDM_CONSOLE_TX_PENDING;
    (void)post_out(1, "abc", 3, 1);
    ck_assert_int_eq(hs.ntx, 1);
    dh_reset(&h);
    ck_assert_uint_eq(hs.open[0], 1);
    ck_assert_int_eq(vdm_console_tx_done(&con, hs.token[0]), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_write(&con, 0, "x", 1), VDM_ESTATE);
    bringup(0);
    ck_assert_uint_eq(hs.open[0], 2);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* "Multiport Device Operation" */

START_TEST(multiport_bring_up_and_data)
{
    multi_up();
    int st = vdm_console_port_state(&con, 1);
    ck_assert_int_eq(st & (VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY |
                           VDM_CONSOLE_PS_GUEST_OPEN),
                     VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY |
                         VDM_CONSOLE_PS_GUEST_OPEN);
    ck_assert_uint_eq(hs.ready_ok[1], 2);
    /* port 1: queues 4 and 5 */
    ck_assert_uint_eq(VDM_CONSOLE_QUEUE_RX(1), 4);
    ck_assert_uint_eq(VDM_CONSOLE_QUEUE_TX(1), 5);
    uint64_t r = post_in(4, 64);
    ck_assert_int_eq(vdm_console_write(&con, 1, "named port", 10), 10);
    ck_assert_uint_eq(used_on(Q(4), r), 10);
    ck_assert_mem_eq(dh_ptr(&h, r, 10), "named port", 10);
    uint64_t t = post_out(5, "back", 4, 1);
    ck_assert_uint_eq(used_on(Q(5), t), 0);
    ck_assert_uint_eq(hs.txport[0], 1);
    ck_assert_mem_eq(hs.tx, "back", 4);
    /* the guest closes port 1: data waits at the host */
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 0, 8);
    ck_assert_uint_eq(hs.open[1], 1);
    r = post_in(4, 64);
    ck_assert_int_eq(vdm_console_write(&con, 1, "late", 4), 0);
    none_used(Q(4));
}
END_TEST

/* Messages wait for control receiveq buffers. */
START_TEST(multiport_messages_wait_for_buffers)
{
    add_port(0, 1, NULL, 0);
    add_port(2, 0, "two", 0);
    bringup(ALLF);
    ctl_head = ctl_tail = 0;
    ctl_send(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    ctl_post(1, 256);
    expect_msg(0, VDM_CONSOLE_DEVICE_ADD, 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    /* too small for a message: used empty, the message stays owed */
    ctl_post(1, 4);
    ck_assert_uint_eq(
        used_on(Q(VDM_CONSOLE_QUEUE_CTRL_RX), ctl_bufs[ctl_head++ % 64]), 0);
    ctl_post(1, 256);
    expect_msg(2, VDM_CONSOLE_DEVICE_ADD, 0);
    /* a short buffer gets what fits of the name */
    ctl_send(2, VDM_CONSOLE_PORT_READY, 1, 8);
    ctl_post(1, 10);
    struct msg n = ctl_next();
    ck_assert_uint_eq(n.ev, VDM_CONSOLE_PORT_NAME);
    ck_assert_uint_eq(n.len, 10);
    ck_assert_mem_eq(n.extra, "tw", 2);
}
END_TEST

/* Hot-plug and hot-unplug; "The device MUST NOT specify a port which exists
 * in a VIRTIO_CONSOLE_DEVICE_ADD message, nor ... equal or greater than
 * max_nr_ports"; "MUST NOT specify a port in DEVICE_REMOVE which has not
 * been created with a previous DEVICE_ADD". */
START_TEST(multiport_hotplug)
{
    multi_up();
    add_port(3, 0, "three", 0);
    expect_msg(3, VDM_CONSOLE_DEVICE_ADD, 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    ck_assert_int_eq(vdm_console_port_remove(&con, 3), 0);
    expect_msg(3, VDM_CONSOLE_DEVICE_REMOVE, 0);
    ck_assert_int_eq(vdm_console_port_state(&con, 3), 0);
    /* DEVICE_READY again announces nothing twice */
    ctl_send(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    /* a port removed before the driver heard of it: no message at all */
    ctl_head = ctl_tail; /* forget the posted, unused buffers' order */
    dh_reset(&h);
    add_port(2, 0, NULL, 0);
    ck_assert_int_eq(vdm_console_port_remove(&con, 2), 0);
    bringup(ALLF);
    ctl_head = ctl_tail = 0;
    ctl_post(8, 256);
    ctl_send(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    expect_msg(0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_msg(1, VDM_CONSOLE_DEVICE_ADD, 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
}
END_TEST

START_TEST(multiport_resize_and_host_open)
{
    multi_up();
    ck_assert_int_eq(vdm_console_resize(&con, 0, 200, 50), 0);
    struct msg r = ctl_next();
    ck_assert_uint_eq(r.ev, VDM_CONSOLE_RESIZE);
    ck_assert_uint_eq(r.id, 0);
    ck_assert_uint_eq(get16(r.extra), 200);
    ck_assert_uint_eq(get16(r.extra + 2), 50);
    ck_assert_uint_eq(dh_config(&h, VDM_CONSOLE_CFG_COLS, 2), 200);
    /* a generic port has no console size: no message */
    ck_assert_int_eq(vdm_console_resize(&con, 1, 10, 10), 0);
    ck_assert_int_eq(vdm_console_set_host_open(&con, 1, 0), 0);
    expect_msg(1, VDM_CONSOLE_PORT_OPEN, 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
}
END_TEST

/* Control messages a driver must not send, or not yet. */
START_TEST(hostile_control)
{
    add_port(0, 1, NULL, 0);
    add_port(1, 0, NULL, 0);
    bringup(ALLF);
    ctl_head = ctl_tail = 0;
    ctl_post(8, 256);
    /* before DEVICE_READY: PORT_READY names a port not announced */
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 8);
    ck_assert_int_eq(hs.nready, 0);
    ctl_send(0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1, 8);
    expect_msg(0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_msg(1, VDM_CONSOLE_DEVICE_ADD, 0);
    unsigned w0 = h.nwarn;
    /* PORT_OPEN before PORT_READY */
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 1, 8);
    ck_assert_int_eq(hs.nopen, 0);
    /* ports that do not exist, beyond max_nr_ports, never added */
    ctl_send(99, VDM_CONSOLE_PORT_READY, 1, 8);
    ctl_send(0xffffffffu, VDM_CONSOLE_PORT_OPEN, 1, 8);
    ctl_send(3, VDM_CONSOLE_PORT_READY, 1, 8);
    ck_assert_int_eq(hs.nready, 0);
    /* values other than 0 and 1 */
    ctl_send(1, VDM_CONSOLE_PORT_READY, 7, 8);
    ck_assert_int_eq(hs.nready, 0);
    /* events only a device sends; unknown events */
    ctl_send(1, VDM_CONSOLE_DEVICE_ADD, 0, 8);
    ctl_send(1, VDM_CONSOLE_DEVICE_REMOVE, 0, 8);
    ctl_send(0, VDM_CONSOLE_RESIZE, 0, 8);
    ctl_send(1, VDM_CONSOLE_PORT_NAME, 0, 8);
    ctl_send(1, 0xffff, 0, 8);
    /* short messages */
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 7);
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 1);
    ck_assert_int_eq(hs.nready, 0);
    ck_assert_int_eq(vdm_console_port_state(&con, 1),
                     VDM_CONSOLE_PS_ADDED | VDM_CONSOLE_PS_ANNOUNCED);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    /* a flood: every message used, each kind of error logged once */
    unsigned w1 = h.nwarn;
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_gt(w1, w0));
    for (int k = 0; k < 200; k++)
        ctl_send((uint32_t)k, (uint32_t)(k % 9), (uint32_t)(k % 3), 8);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_le(h.nwarn - w1, 2));
    ck_assert(!(dh_status(&h) & VDM_STATUS_DEVICE_NEEDS_RESET));
    /* the device still works */
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 8);
    ck_assert_int_eq(hs.ready_ok[1], 2);
}
END_TEST

/* "The driver MUST NOT put a device-readable buffer in a receiveq. The
 * driver MUST NOT put a device-writable buffer in a transmitq." */
START_TEST(wrong_directions)
{
    bringup(0);
    /* a readable buffer in the receiveq: used empty, data goes on */
    uint64_t bad = post_out(0, "zz", 2, 1);
    uint64_t good = post_in(0, 8);
    ck_assert_int_eq(vdm_console_write(&con, 0, "data", 4), 4);
    ck_assert_uint_eq(used_on(Q(0), bad), 0);
    ck_assert_uint_eq(used_on(Q(0), good), 4);
    ck_assert_mem_eq(dh_ptr(&h, good, 4), "data", 4);
    /* a writable buffer (or part) in the transmitq: never reaches the host */
    uint64_t g = dh_alloc(&h, 16, 8);
    memcpy(dh_ptr(&h, g, 4), "oops", 4);
    struct drv_buf o = {g, 4}, i = {g + 8, 8};
    ck_assert_int_ge(
        drv_vq_add(Q(1), &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)g),
        0);
    drv_vq_publish(Q(1));
    ck_assert_int_ge(dh_kick(&h, 1, 1), 0);
    ck_assert_uint_eq(used_on(Q(1), g), 0);
    ck_assert_int_eq(hs.ntx, 0);
    uint64_t w = post_in(1, 8);
    ck_assert_int_ge(dh_kick(&h, 1, 1), 0);
    ck_assert_uint_eq(used_on(Q(1), w), 0);
    ck_assert_int_eq(hs.ntx, 0);
}
END_TEST

/* More spans than a request holds: used empty, never half-delivered. */
START_TEST(too_many_spans)
{
    bringup(0);
    char d[20];
    memset(d, 'q', sizeof(d));
    uint64_t t = post_out(1, d, 17, 17);
    ck_assert_uint_eq(used_on(Q(1), t), 0);
    ck_assert_int_eq(hs.ntx, 0);
    t = post_out(1, d, 16, 16);
    ck_assert_uint_eq(used_on(Q(1), t), 0);
    ck_assert_int_eq(hs.ntx, 1);
    ck_assert_uint_eq(hs.ntxb, 16);
}
END_TEST

/* Queues of ports that do not exist (or of a driver without MULTIPORT). */
START_TEST(data_on_missing_ports)
{
    multi_up();
    uint64_t t = post_out(VDM_CONSOLE_QUEUE_TX(3), "nope", 4, 1);
    ck_assert_uint_eq(used_on(Q(VDM_CONSOLE_QUEUE_TX(3)), t), 0);
    ck_assert_int_eq(hs.ntx, 0);
    ck_assert_int_eq(vdm_console_write(&con, 3, "x", 1), VDM_ENOENT);
    ck_assert_int_eq(vdm_console_write(&con, 99, "x", 1), VDM_ENOENT);
}
END_TEST

START_TEST(control_queue_without_multiport)
{
    add_port(0, 1, NULL, 0);
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1, NQ), 0);
    uint8_t m[8] = {0};
    uint64_t g = post_out(VDM_CONSOLE_QUEUE_CTRL_TX, m, 8, 1);
    ck_assert_uint_eq(used_on(Q(VDM_CONSOLE_QUEUE_CTRL_TX), g), 0);
    (void)post_in(VDM_CONSOLE_QUEUE_CTRL_RX, 64);
    ck_assert_int_ge(dh_kick(&h, VDM_CONSOLE_QUEUE_CTRL_RX, 1), 0);
    none_used(Q(VDM_CONSOLE_QUEUE_CTRL_RX));
    /* port 0 is the console all the same */
    uint64_t r = post_in(0, 8);
    ck_assert_int_eq(vdm_console_write(&con, 0, "ok", 2), 2);
    ck_assert_uint_eq(used_on(Q(0), r), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("console");
    TCase *t = tcase_create("multiport");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, config_layout);
    tcase_add_test(t, emerg_write_any_time);
    tcase_add_test(t, emerg_write_not_offered);
    tcase_add_test(t, init_rejects);
    tcase_add_test(t, multiport_bring_up_and_data);
    tcase_add_test(t, multiport_messages_wait_for_buffers);
    tcase_add_test(t, multiport_hotplug);
    tcase_add_test(t, multiport_resize_and_host_open);
    tcase_add_test(t, hostile_control);
    tcase_add_test(t, data_on_missing_ports);
    tcase_add_test(t, control_queue_without_multiport);
    suite_add_tcase(s, t);
    TCase *u = tcase_create("single");
    tcase_add_checked_fixture(u, setup_single, teardown);
    tcase_add_test(u, port0_data_both_ways);
    tcase_add_test(u, port0_resize_config_change);
    tcase_add_test(u, port0_resize_without_size_feature);
    tcase_add_test(u, tx_async_and_stale_tokens);
    tcase_add_test(u, tx_pause_and_kick);
    tcase_add_test(u, reset_drops_pending);
    tcase_add_test(u, wrong_directions);
    tcase_add_test(u, too_many_spans);
    suite_add_tcase(s, u);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
