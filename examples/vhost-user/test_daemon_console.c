/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: console: ports on ptys and sockets, the control
 * queue, resize. */
#include "test_daemon.h"
#include "vdm/devices/console.h"

/* ---- console ------------------------------------------------------------ */

#define CON_CTL 0x40000u /* control receive buffers, 256 bytes each */
#define CON_OUT 0x50000u /* driver -> device data and messages */
#define CON_IN  0x60000u /* device -> driver data */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* GET_CONFIG of the 12-byte console configuration into @p cfg. */
static void con_config(struct fe *f, uint8_t *cfg)
{
    uint8_t c[24] = {0};
    put32(c + 4, 12);
    fe_send(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, c, sizeof(c), NULL, 0);
    ck_assert_uint_eq(fe_recv(&f->v, VDM_VHOST_USER_GET_CONFIG, c, sizeof(c)),
                      sizeof(c));
    memcpy(cfg, c + 12, 12);
}

struct con_msg {
    uint32_t id, ev, value, len;
    uint8_t extra[64];
};

static pid_t start_con_daemon(const char *sock, const char *dev)
{
    char line[256];
    int out[2], seen = 0;
    FILE *f;
    pid_t pid;

    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        const char *argv[8] = {daemon_path, "--socket", sock, "--device",
                               dev,         NULL,       NULL};
        if (getenv("VU_DAEMON_VERBOSE") != NULL)
            argv[5] = "-vv";
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (!seen && fgets(line, sizeof(line), f) != NULL)
        seen = strncmp(line, "vdm-vhost-user: listening on ", 29) == 0;
    ck_assert(seen);
    fclose(f);
    return pid;
}

/* Driver to device: one control message on the control transmitq. */
static void con_send(struct fe *f, uint32_t id, uint32_t ev, uint32_t value)
{
    uint8_t *p = f->mem + CON_OUT;
    struct drv_buf b = {CON_OUT, 8};
    put32(p, id);
    p[4] = (uint8_t)ev;
    p[5] = (uint8_t)(ev >> 8);
    p[6] = (uint8_t)value;
    p[7] = (uint8_t)(value >> 8);
    add(f, VDM_CONSOLE_QUEUE_CTRL_TX, &b, 1, NULL, 0, 1);
    kick(f, VDM_CONSOLE_QUEUE_CTRL_TX);
    ck_assert_uint_eq(wait_used(f, VDM_CONSOLE_QUEUE_CTRL_TX), 0);
}

/* Device to driver: the next control message (its buffer goes back). */
static struct con_msg con_next(struct fe *f)
{
    struct con_msg m;
    uintptr_t gpa = 0;
    const uint8_t *p;

    memset(&m, 0, sizeof(m));
    m.len = wait_used_n(f, VDM_CONSOLE_QUEUE_CTRL_RX, 1, &gpa);
    ck_assert_uint_ge(m.len, 8);
    ck_assert_uint_le(m.len, 8 + sizeof(m.extra));
    p = f->mem + gpa;
    m.id = get32(p);
    m.ev = (uint32_t)p[4] | ((uint32_t)p[5] << 8);
    m.value = (uint32_t)p[6] | ((uint32_t)p[7] << 8);
    memcpy(m.extra, p + 8, m.len - 8);
    struct drv_buf b = {gpa, 256};
    add(f, VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, &b, 1, gpa);
    kick(f, VDM_CONSOLE_QUEUE_CTRL_RX);
    return m;
}

static void con_expect(struct fe *f, uint32_t id, uint32_t ev, uint32_t value)
{
    struct con_msg m = con_next(f);
    ck_assert_uint_eq(m.ev, ev);
    ck_assert_uint_eq(m.id, id);
    ck_assert_uint_eq(m.value, value);
}

static uint8_t con_byte(unsigned port, size_t i)
{
    return (uint8_t)(i * 7u + port * 101u + (i >> 8));
}

/* Guest to host on @p port: @p n bytes in three spans; read back from
 * @p fd byte-exact. */
static void con_out(struct fe *f, unsigned port, int fd, size_t n)
{
    uint8_t got[2048];
    size_t have = 0;
    struct drv_buf b[3] = {{CON_OUT, 1},
                           {CON_OUT + 1, (uint32_t)(n / 2) - 1},
                           {CON_OUT + n / 2, (uint32_t)(n - n / 2)}};
    ck_assert_uint_le(n, sizeof(got));
    for (size_t i = 0; i < n; i++)
        f->mem[CON_OUT + i] = con_byte(port, i);
    add(f, (int)VDM_CONSOLE_QUEUE_TX(port), b, 3, NULL, 0, 1);
    kick(f, (int)VDM_CONSOLE_QUEUE_TX(port));
    ck_assert_uint_eq(wait_used(f, (int)VDM_CONSOLE_QUEUE_TX(port)), 0);
    for (int tries = 0; have < n && tries < 500; tries++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) == 1) {
            ssize_t r = read(fd, got + have, n - have);
            ck_assert_int_gt(r, 0);
            have += (size_t)r;
        }
    }
    ck_assert_uint_eq(have, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], con_byte(port, i));
}

/* Host to guest on @p port: @p n bytes written to @p fd arrive byte-exact
 * in receive buffers of 512 bytes. */
static void con_in(struct fe *f, unsigned port, int fd, size_t n)
{
    uint8_t data[2048];
    size_t have = 0;
    unsigned nb = (unsigned)((n + 511) / 512), k = 0;
    ck_assert_uint_le(n, sizeof(data));
    memset(f->mem + CON_IN, 0, nb * 512u);
    for (unsigned i = 0; i < nb; i++) {
        struct drv_buf b = {CON_IN + 512u * i, 512};
        add(f, (int)VDM_CONSOLE_QUEUE_RX(port), NULL, 0, &b, 1, i);
    }
    kick(f, (int)VDM_CONSOLE_QUEUE_RX(port));
    for (size_t i = 0; i < n; i++)
        data[i] = con_byte(port + 7, i);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    /* used buffers in ring order; each holds a prefix of the rest */
    while (have < n && k < nb) {
        uintptr_t c = 0;
        uint32_t len = wait_used_n(f, (int)VDM_CONSOLE_QUEUE_RX(port), 1, &c);
        ck_assert_uint_eq(c, k);
        ck_assert_uint_le(len, 512);
        ck_assert_mem_eq(f->mem + CON_IN + 512u * k, data + have, len);
        have += len;
        k++;
        if (have < n && k == nb) {
            /* the writes came in more pieces than buffers: more buffers */
            struct drv_buf b = {CON_IN + 512u * nb, 512};
            add(f, (int)VDM_CONSOLE_QUEUE_RX(port), NULL, 0, &b, 1, nb);
            kick(f, (int)VDM_CONSOLE_QUEUE_RX(port));
            nb++;
            ck_assert_uint_le(nb, 16);
        }
    }
    ck_assert_uint_eq(have, n);
}

/* vdm-vhost-user console: port 0 a pty console, port 1 a named port on a
 * unix socket. The multiport handshake (spec "Multiport Device Operation"),
 * data both ways byte-exact on both ports, the host side of port 1 opening
 * when a client connects, and a window size set on the pty reaching the
 * driver as a RESIZE message and port 0's configuration. */
START_TEST(serves_console_ports)
{
    char sock[128], pty[128], usock[100], dev[512];
    struct fe f;
    struct con_msg m;
    uint8_t c[12];
    pid_t pid;

    snprintf(sock, sizeof(sock), "%s/con.sock", top_dir);
    snprintf(pty, sizeof(pty), "%s/con-pty0", top_dir);
    snprintf(usock, sizeof(usock), "%s/con-port1.sock", top_dir);
    snprintf(dev, sizeof(dev),
             "console,port0=pty:%s,port1=unix:%s,name1=org.vdm.test.1,"
             "cols=100,rows=40",
             pty, usock);
    pid = start_con_daemon(sock, dev);
    fe_open_nf(&f, sock, 6, MEM_SIZE, NUM,
               VDM_CONSOLE_F_MULTIPORT | VDM_CONSOLE_F_SIZE);
    con_config(&f, c);
    ck_assert_uint_eq(get32(c + VDM_CONSOLE_CFG_MAX_NR_PORTS), 2);
    ck_assert_uint_eq(get32(c), 100u | (40u << 16)); /* cols, rows */

    for (unsigned i = 0; i < 8; i++) {
        struct drv_buf b = {CON_CTL + 256u * i, 256};
        add(&f, VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, &b, 1, CON_CTL + 256u * i);
    }
    kick(&f, VDM_CONSOLE_QUEUE_CTRL_RX);
    con_send(&f, 0xffffffffu, VDM_CONSOLE_DEVICE_READY, 1);
    con_expect(&f, 0, VDM_CONSOLE_DEVICE_ADD, 0);
    con_expect(&f, 1, VDM_CONSOLE_DEVICE_ADD, 0);
    con_send(&f, 0, VDM_CONSOLE_PORT_READY, 1);
    con_expect(&f, 0, VDM_CONSOLE_CONSOLE_PORT, 1);
    con_expect(&f, 0, VDM_CONSOLE_PORT_OPEN, 1); /* a pty is always there */
    m = con_next(&f);
    ck_assert_uint_eq(m.ev, VDM_CONSOLE_RESIZE);
    ck_assert_uint_eq(m.extra[0] | (m.extra[1] << 8), 100);
    ck_assert_uint_eq(m.extra[2] | (m.extra[3] << 8), 40);
    con_send(&f, 0, VDM_CONSOLE_PORT_OPEN, 1);
    con_send(&f, 1, VDM_CONSOLE_PORT_READY, 1);
    m = con_next(&f);
    ck_assert_uint_eq(m.ev, VDM_CONSOLE_PORT_NAME);
    ck_assert_uint_eq(m.id, 1);
    ck_assert_uint_eq(m.len, 8 + 14);
    ck_assert_mem_eq(m.extra, "org.vdm.test.1", 14);
    con_send(&f, 1, VDM_CONSOLE_PORT_OPEN, 1);

    /* port 1: a client connects, the driver hears the host side open */
    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", usock);
    ck_assert_int_eq(connect(u, (struct sockaddr *)&a, sizeof(a)), 0);
    con_expect(&f, 1, VDM_CONSOLE_PORT_OPEN, 1);
    con_out(&f, 1, u, 1500);
    con_in(&f, 1, u, 1500);

    /* port 0: the pty */
    int t = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(t, 0);
    con_out(&f, 0, t, 1000);
    con_in(&f, 0, t, 1000);

    /* a window size on the terminal reaches the driver */
    struct winsize ws = {.ws_row = 50, .ws_col = 132};
    ck_assert_int_eq(ioctl(t, TIOCSWINSZ, &ws), 0);
    m = con_next(&f);
    ck_assert_uint_eq(m.ev, VDM_CONSOLE_RESIZE);
    ck_assert_uint_eq(m.id, 0);
    ck_assert_uint_eq(m.extra[0] | (m.extra[1] << 8), 132);
    ck_assert_uint_eq(m.extra[2] | (m.extra[3] << 8), 50);
    con_config(&f, c);
    ck_assert_uint_eq(get32(c), 132u | (50u << 16)); /* port 0's cols, rows */

    /* the client goes: the driver hears port 1 closed */
    close(u);
    con_expect(&f, 1, VDM_CONSOLE_PORT_OPEN, 0);
    close(t);
    fe_close(&f);
    stop_pid(pid);
}
END_TEST

void td_add_console(Suite *s)
{
    TD_ADD(s, serves_console_ports);
}
