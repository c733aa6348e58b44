/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-e2e-vu-cmd: a small vhost-user front-end that runs I2C, GPIO, CAN or SPI
 * requests given as text, one command a line on stdin, and prints one
 * result line per command. Built on the shared front-end
 * (tests/driver/vu_front.h) with the driver simulator's split rings in a
 * memfd; it runs inside the passthrough test's guest (tests/e2e/
 * passthrough.sh), where the daemon reaches i2c-stub and gpio-sim.
 *
 *   vdm-e2e-vu-cmd SOCKET i2c|gpio <COMMANDS
 *   vdm-e2e-vu-cmd can <COMMANDS           (vu_can.c: CAN front-ends)
 *   vdm-e2e-vu-cmd spi <COMMANDS           (vu_spi.c: SPI front-ends)
 *   vdm-e2e-vu-cmd input <COMMANDS         (vu_input.c: virtio-input
 *                                           front-ends, uinput devices)
 *
 * i2c (ADDR a 7-bit address; bytes in any strtoul base):
 *   w ADDR B...         one write request                     -> ok | err
 *   r ADDR N            one read request of N bytes           -> ok XX.. | err
 *   wr ADDR B... : N    write then read, one group (FAIL_NEXT) -> ok XX.. | err
 *   q ADDR              zero-length write (SMBus Quick)        -> ok | err
 * gpio:
 *   config              ngpio and gpio_names_size             -> N SIZE
 *   names               GET_LINE_NAMES ("-" for an empty name) -> ok NAME..
 *   getdir L | get L    GET_DIRECTION | GET_VALUE              -> ok V | err
 *   setdir L D V        SET_DIRECTION (D 0 none, 1 out, 2 in)  -> ok | err
 *   set L V             SET_VALUE                              -> ok | err
 *   irq L T             SET_IRQ_TYPE (1 rise, 2 fall, 3 both)  -> ok | err
 *   arm L               queue an event buffer for line L       -> armed
 *   event L MS          wait up to MS ms for L's event buffer  -> valid |
 *                       invalid | none (not back yet: it stays queued)
 * all:
 *   sh CMD              run CMD with /bin/sh                   -> sh RC
 *   sleep MS                                                   -> slept
 * Exit status 0 unless the front-end could not talk to the daemon (a failed
 * request is a result, not an error).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdm/vhost_user.h"
#include "vu_cmd.h"

#define REQ    0x10000u /* request headers, 0x100 apart */
#define STATUS 0x18000u /* status bytes, 0x10 apart */
#define DATA   0x20000u /* buffers, 0x1000 apart */
#define EVT    0x80000u /* event request + response per line, 0x10 apart */

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("vdm-e2e-vu-cmd: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t recv_u64(struct fe *f, uint32_t req)
{
    if (vu_front_recv(&f->v, req) != 8)
        die("no reply to request %u", req);
    return vu_front_reply_u64(&f->v);
}

static uint64_t ask_u64(struct fe *f, uint32_t req)
{
    if (vu_front_msg(&f->v, req, 0, NULL, 0, NULL, 0) != 0)
        die("send %u: %s", req, strerror(errno));
    return recv_u64(f, req);
}

static void acked(struct fe *f, uint32_t req, int rc)
{
    if (rc != 0 || recv_u64(f, req) != 0)
        die("request %u refused", req);
}

void fe_open(struct fe *f, const char *path, unsigned nq, uint64_t drop)
{
    struct vu_front_region mr;
    uint64_t feat, proto;

    memset(f, 0, sizeof(*f));
    if (vu_front_connect(&f->v, path) != 0)
        die("connect %s: %s", path, strerror(errno));
    f->memfd = memfd_create("guest", MFD_CLOEXEC);
    if (f->memfd < 0 || ftruncate(f->memfd, FE_MEM_SIZE) != 0)
        die("memfd: %s", strerror(errno));
    f->mem = mmap(NULL, FE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  f->memfd, 0);
    if (f->mem == MAP_FAILED || drv_guest_adopt(&f->g, 0, FE_MEM_SIZE, f->mem))
        die("guest memory");
    feat = ask_u64(f, VDM_VHOST_USER_GET_FEATURES);
    if (!(feat & VDM_VHOST_USER_F_PROTOCOL_FEATURES))
        die("no protocol features");
    proto = ask_u64(f, VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    proto &= (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
             (1ull << VDM_VHOST_USER_PROTOCOL_F_CONFIG);
    (void)vu_front_u64(&f->v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, proto,
                       NULL, 0);
    (void)vu_front_msg(&f->v, VDM_VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    feat = (feat & 0xffffffu & ~drop) | DRV_F_VERSION_1 |
           VDM_VHOST_USER_F_PROTOCOL_FEATURES;
    acked(f, VDM_VHOST_USER_SET_FEATURES,
          vu_front_u64(&f->v, VDM_VHOST_USER_SET_FEATURES,
                       VDM_VHOST_USER_F_NEED_REPLY, feat, NULL, 0));
    f->features = feat;
    mr.gpa = 0;
    mr.size = FE_MEM_SIZE;
    mr.uva = (uint64_t)(uintptr_t)f->mem;
    mr.off = 0;
    acked(f, VDM_VHOST_USER_SET_MEM_TABLE,
          vu_front_mem_table(&f->v, VDM_VHOST_USER_F_NEED_REPLY, &mr, 1,
                             &f->memfd));
    for (unsigned q = 0; q < nq; q++) {
        static const uint32_t reqs[5] = {
            VDM_VHOST_USER_SET_VRING_NUM, VDM_VHOST_USER_SET_VRING_BASE,
            VDM_VHOST_USER_SET_VRING_ADDR, VDM_VHOST_USER_SET_VRING_KICK,
            VDM_VHOST_USER_SET_VRING_CALL};
        uint64_t desc = 0x1000 + 0x4000 * (uint64_t)q;
        uint64_t avail = desc + 0x1000, used = desc + 0x2000;
        uint64_t base = (uint64_t)(uintptr_t)f->mem;

        if (drv_vq_init_at(&f->q[q], &f->g, FE_NUM, DRV_F_VERSION_1, desc,
                           avail, used) != 0)
            die("ring %u", q);
        f->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        f->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (vu_front_ring(&f->v, VDM_VHOST_USER_F_NEED_REPLY, q, FE_NUM, 0,
                          base + desc, base + used, base + avail, f->kick[q],
                          f->call[q]) != 0)
            die("ring %u set-up", q);
        for (unsigned i = 0; i < 5; i++)
            if (recv_u64(f, reqs[i]) != 0)
                die("ring %u: request %u refused", q, reqs[i]);
    }
    for (unsigned q = 0; q < nq; q++)
        acked(f, VDM_VHOST_USER_SET_VRING_ENABLE,
              vu_front_state(&f->v, VDM_VHOST_USER_SET_VRING_ENABLE,
                             VDM_VHOST_USER_F_NEED_REPLY, q, 1));
    f->nq = nq;
}

void fe_add(struct fe *f, unsigned q, const struct drv_buf *out, unsigned nout,
            const struct drv_buf *in, unsigned nin, uintptr_t cookie)
{
    if (drv_vq_add(&f->q[q], out, nout, in, nin, DRV_ADD_DIRECT,
                   (void *)cookie) < 0)
        die("ring %u full", q);
}

void fe_kick(struct fe *f, unsigned q)
{
    uint64_t one = 1;
    drv_vq_publish(&f->q[q]);
    if (write(f->kick[q], &one, 8) != 8)
        die("kick: %s", strerror(errno));
}

uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

int fe_used(struct fe *f, unsigned q, unsigned ms, uintptr_t *cookie,
            uint32_t *len)
{
    uint64_t end = now_ms() + ms;

    for (;;) {
        uint32_t id;
        void *c;
        struct pollfd p = {.fd = f->call[q], .events = POLLIN};
        uint64_t v, t;

        if (drv_vq_get_used(&f->q[q], &id, len, &c) == 1) {
            *cookie = (uintptr_t)c;
            return 1;
        }
        if (drv_vq_error(&f->q[q]) != NULL)
            die("ring %u: %s", q, drv_vq_error(&f->q[q]));
        t = now_ms();
        if (t >= end)
            return 0;
        if (poll(&p, 1, (int)(end - t > 20 ? 20 : end - t)) == 1)
            (void)read(f->call[q], &v, 8);
    }
}

void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, v);
    put_le16(p + 2, v >> 16);
}

uint32_t get_le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

uint32_t get_le32(const uint8_t *p)
{
    return get_le16(p) | get_le16(p + 2) << 16;
}

unsigned long num(const char *s)
{
    char *end;
    unsigned long v;
    if (s == NULL)
        die("missing number");
    v = strtoul(s, &end, 0);
    if (*end != '\0')
        die("not a number: %s", s);
    return v;
}

/* ---- I2C ---------------------------------------------------------------- */

struct i2c_req {
    uint32_t addr, flags, len;
    uint8_t data[256];
};

/* Send @p n requests in one kick; print ok (and the bytes the last one
 * read) when all succeed, else err. */
static void i2c_run(struct fe *f, struct i2c_req *r, unsigned n)
{
    unsigned ok = 0;

    for (unsigned k = 0; k < n; k++) {
        uint64_t hdr = REQ + 0x100u * k, st = STATUS + 0x10u * k;
        uint64_t buf = DATA + 0x1000u * k;
        struct drv_buf out[2] = {{hdr, 8}}, in[2];
        unsigned nout = 1, nin = 0;
        int rd = (r[k].flags & 2u) != 0;

        put_le16(f->mem + hdr, r[k].addr << 1);
        put_le16(f->mem + hdr + 2, 0);
        put_le32(f->mem + hdr + 4, r[k].flags);
        f->mem[st] = 0xee;
        memset(f->mem + buf, 0xee, 0x1000);
        if (!rd)
            memcpy(f->mem + buf, r[k].data, r[k].len);
        if (r[k].len > 0 && rd)
            in[nin++] = (struct drv_buf){buf, r[k].len};
        else if (r[k].len > 0)
            out[nout++] = (struct drv_buf){buf, r[k].len};
        in[nin++] = (struct drv_buf){st, 1};
        fe_add(f, 0, out, nout, in, nin, k);
    }
    fe_kick(f, 0);
    for (unsigned k = 0; k < n; k++) {
        uintptr_t c;
        uint32_t len;
        if (!fe_used(f, 0, 5000, &c, &len))
            die("i2c: no answer in 5 s");
        if (f->mem[STATUS + 0x10u * c] == 0)
            ok++;
    }
    if (ok != n) {
        puts("err");
        return;
    }
    fputs("ok", stdout);
    if (r[n - 1].flags & 2u)
        for (uint32_t i = 0; i < r[n - 1].len; i++)
            printf(" %02x", f->mem[DATA + 0x1000u * (n - 1) + i]);
    putchar('\n');
}

static void i2c_cmd(struct fe *f, char *cmd, char **save)
{
    struct i2c_req r[2];
    char *t;

    memset(r, 0, sizeof(r));
    r[0].addr = (uint32_t)num(strtok_r(NULL, " \t", save));
    if (strcmp(cmd, "q") == 0) {
        i2c_run(f, r, 1);
    } else if (strcmp(cmd, "r") == 0) {
        r[0].flags = 2;
        r[0].len = (uint32_t)num(strtok_r(NULL, " \t", save));
        if (r[0].len > sizeof(r[0].data))
            die("read too long");
        i2c_run(f, r, 1);
    } else if (strcmp(cmd, "w") == 0 || strcmp(cmd, "wr") == 0) {
        int group = strcmp(cmd, "wr") == 0;
        while ((t = strtok_r(NULL, " \t", save)) != NULL &&
               strcmp(t, ":") != 0) {
            if (r[0].len == sizeof(r[0].data))
                die("write too long");
            r[0].data[r[0].len++] = (uint8_t)num(t);
        }
        if (group) {
            r[0].flags = 1; /* FAIL_NEXT */
            r[1].addr = r[0].addr;
            r[1].flags = 2;
            r[1].len = (uint32_t)num(strtok_r(NULL, " \t", save));
            if (r[1].len > sizeof(r[1].data))
                die("read too long");
        }
        i2c_run(f, r, group ? 2 : 1);
    } else {
        die("unknown i2c command %s", cmd);
    }
}

/* ---- GPIO --------------------------------------------------------------- */

/* Collect event buffers that came back (within @p ms for line @p want). */
static void gpio_events(struct fe *f, int want, unsigned ms)
{
    uintptr_t c;
    uint32_t len;

    while (fe_used(f, 1, want >= 0 && f->evstate[want] == 1 ? ms : 0, &c,
                   &len) == 1) {
        if (c >= MAXLINES || len != 1)
            die("gpio: event buffer %lu came back with %u bytes",
                (unsigned long)c, len);
        f->evstate[c] = 2;
    }
}

static uint32_t gpio_req(struct fe *f, uint32_t type, uint32_t line,
                         uint32_t value, uint32_t rlen)
{
    struct drv_buf out = {REQ, 8}, in = {DATA, rlen};
    uintptr_t c;
    uint32_t len;

    put_le16(f->mem + REQ, type);
    put_le16(f->mem + REQ + 2, line);
    put_le32(f->mem + REQ + 4, value);
    memset(f->mem + DATA, 0xee, rlen);
    fe_add(f, 0, &out, 1, &in, 1, 0);
    fe_kick(f, 0);
    if (!fe_used(f, 0, 5000, &c, &len))
        die("gpio: no answer in 5 s");
    return len;
}

static void gpio_cmd(struct fe *f, char *cmd, char **save)
{
    static const char *const names[] = {"names", "getdir", "setdir",
                                        "get",   "set",    "irq"};
    uint32_t a = 0, b = 0, c = 0, len;
    unsigned type = 0;
    char *t;

    if (strcmp(cmd, "config") == 0) {
        uint8_t *p = f->v.reply + VDM_VHOST_USER_HDR_BYTES + 12;
        if (vu_front_config(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, 0, 8, NULL,
                            8) != 0 ||
            vu_front_recv(&f->v, VDM_VHOST_USER_GET_CONFIG) != 20)
            die("GET_CONFIG");
        printf("%u %u\n", p[0] | p[1] << 8,
               p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24);
        return;
    }
    if (strcmp(cmd, "arm") == 0 || strcmp(cmd, "event") == 0) {
        a = (uint32_t)num(strtok_r(NULL, " \t", save));
        if (a >= MAXLINES)
            die("line %u: the tool handles %u", a, MAXLINES);
        if (cmd[0] == 'a') {
            struct drv_buf out = {EVT + 0x10u * a, 2},
                           in = {EVT + 0x10u * a + 8, 1};
            put_le16(f->mem + EVT + 0x10u * a, a);
            f->mem[EVT + 0x10u * a + 8] = 0xee;
            fe_add(f, 1, &out, 1, &in, 1, a);
            fe_kick(f, 1);
            f->evstate[a] = 1;
            puts("armed");
            return;
        }
        gpio_events(f, (int)a, (unsigned)num(strtok_r(NULL, " \t", save)));
        if (f->evstate[a] != 2) {
            puts("none");
            return;
        }
        f->evstate[a] = 0;
        puts(f->mem[EVT + 0x10u * a + 8] == 1   ? "valid"
             : f->mem[EVT + 0x10u * a + 8] == 0 ? "invalid"
                                                : "bad");
        return;
    }
    while (type < 6 && strcmp(cmd, names[type]) != 0)
        type++;
    if (type == 6)
        die("unknown gpio command %s", cmd);
    type++; /* VIRTIO_GPIO_MSG_* */
    if ((t = strtok_r(NULL, " \t", save)) != NULL)
        a = (uint32_t)num(t);
    if ((t = strtok_r(NULL, " \t", save)) != NULL)
        b = (uint32_t)num(t);
    if ((t = strtok_r(NULL, " \t", save)) != NULL)
        c = (uint32_t)num(t);
    if (type == 1) { /* GET_LINE_NAMES: 1 + gpio_names_size */
        uint8_t *p = f->v.reply + VDM_VHOST_USER_HDR_BYTES + 12;
        uint32_t size;
        if (vu_front_config(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, 0, 8, NULL,
                            8) != 0 ||
            vu_front_recv(&f->v, VDM_VHOST_USER_GET_CONFIG) != 20)
            die("GET_CONFIG");
        size = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
        if (size > 0x1000 - 1)
            die("names block of %u bytes", size);
        len = gpio_req(f, 1, 0, 0, 1 + size);
        if (len != 1 + size || f->mem[DATA] != 0) {
            puts("err");
            return;
        }
        fputs("ok", stdout);
        for (uint32_t i = 1; i < 1 + size;) {
            const char *n = (const char *)f->mem + DATA + i;
            size_t l = strnlen(n, 1 + size - i);
            printf(" %s", l ? n : "-");
            i += (uint32_t)l + 1;
        }
        putchar('\n');
        return;
    }
    /* setdir L D V: value is the direction; SET_VALUE: value. The
     * direction request's output level comes from a SET_VALUE first. */
    if (type == 3 && b == 1) {
        len = gpio_req(f, 5, a, c, 2);
        if (len != 2 || f->mem[DATA] != 0) {
            puts("err");
            return;
        }
    }
    len = gpio_req(f, type, a, b, 2);
    if (len != 2 || f->mem[DATA] != 0)
        puts("err");
    else if (type == 2 || type == 4)
        printf("ok %u\n", f->mem[DATA + 1]);
    else
        puts("ok");
}

int common_cmd(const char *cmd, char **save)
{
    if (strcmp(cmd, "sh") == 0) {
        int rc = system(*save != NULL ? *save : "");
        printf("sh %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
        return 1;
    }
    if (strcmp(cmd, "sleep") == 0) {
        usleep((useconds_t)num(strtok_r(NULL, " \t", save)) * 1000u);
        puts("slept");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct fe f;
    char line[1024];
    int gpio;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "can") == 0)
        return can_main();
    if (argc == 2 && strcmp(argv[1], "spi") == 0)
        return spi_main();
    if (argc == 2 && strcmp(argv[1], "input") == 0)
        return input_main();
    if (argc != 3 ||
        (strcmp(argv[2], "i2c") != 0 && strcmp(argv[2], "gpio") != 0)) {
        fprintf(stderr,
                "usage: %s SOCKET i2c|gpio <COMMANDS\n"
                "       %s can|spi|input <COMMANDS\n",
                argv[0], argv[0]);
        return 2;
    }
    gpio = strcmp(argv[2], "gpio") == 0;
    fe_open(&f, argv[1], gpio ? 2 : 1, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *save = NULL, *cmd;
        line[strcspn(line, "\n")] = '\0';
        cmd = strtok_r(line, " \t", &save);
        if (cmd == NULL || cmd[0] == '#' || common_cmd(cmd, &save))
            continue;
        if (gpio)
            gpio_cmd(&f, cmd, &save);
        else
            i2c_cmd(&f, cmd, &save);
    }
    vu_front_close(&f.v);
    return 0;
}
