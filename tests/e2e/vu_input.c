/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-e2e-vu-cmd input: virtio-input front-ends (drivers of our own, on the
 * shared front-end of vu_cmd.h), uinput devices and plain evdev readers. It
 * runs inside the evdev test's guest (tests/e2e/evdev.sh), where the
 * daemon passes the uinput devices through (input,evdev=PATH). Commands,
 * one a line on stdin, one result line each (N: a..d):
 *
 *   open N SOCKET           front-end N, eventq and statusq running -> ok
 *   close N                 its connection closed (the daemon resets the
 *                           device)                              -> closed
 *   N cfg SEL SUB           write select and subsel (SET_CONFIG), read the
 *                           config back (GET_CONFIG)
 *                                           -> size S [the S bytes, hex]
 *   N post K                add K eventq buffers (8 bytes)  -> posted K
 *   N recv MS [COUNT]       events until COUNT or MS ms, each buffer added
 *                           again as it comes back            -> EV... | none
 *   N status T C V          one statusq buffer, kicked; used within 5 s
 *                                                           -> ok | none
 *   uinput N create NAME BUS:VENDOR:PRODUCT:VERSION [prop=C,..] [key=C,..]
 *           [rel=..] [msc=..] [led=..] [snd=..] [rep] [abs=C:MIN:MAX:FUZZ:
 *           FLAT:RES/...]    a uinput device ('_' in NAME is a space);
 *                           /tmp/N.evdev links to its event node -> created
 *   uinput N send EV... [| EV...]  one write() per '|'-separated group,
 *                           2 ms apart                    -> ok | err ENAME
 *   uinput N recv MS [COUNT]  what the kernel hands the uinput device
 *                           (status events: LEDs...)        -> EV... | none
 *   uinput N destroy        UI_DEV_DESTROY                  -> ok
 *   reader N open PATH      a second evdev reader          -> ok | err ENAME
 *   reader N recv MS [COUNT]  events it reads              -> EV... | none
 *
 * EV is TTTT:CCCC:VVVVVVVV in hex (type, code, value as 32 bits), both as
 * given and as printed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vdm/devices/input.h"
#include "vu_cmd.h"

#define NDEV 4u
#define EVB  0x10000u /* eventq buffers, 0x10 apart */
#define STB  0x18000u /* the statusq buffer */

static struct fe fes[NDEV];
static int opened[NDEV];
static int uin[NDEV] = {-1, -1, -1, -1};
static int rdr[NDEV] = {-1, -1, -1, -1};

static unsigned idx(const char *n)
{
    if (n == NULL || n[0] < 'a' || n[0] >= (char)('a' + NDEV) || n[1] != '\0')
        die("device name %s: a..d", n != NULL ? n : "(none)");
    return (unsigned)(n[0] - 'a');
}

static void print_ev(unsigned type, unsigned code, uint32_t value, int first)
{
    printf("%s%04x:%04x:%08x", first ? "" : " ", type, code, value);
}

static void parse_ev(const char *s, struct input_event *e)
{
    unsigned t, c;
    uint32_t v;
    int n = 0;

    if (sscanf(s, "%x:%x:%x%n", &t, &c, &v, &n) != 3 || s[n] != '\0')
        die("event %s: TTTT:CCCC:VVVVVVVV", s);
    memset(e, 0, sizeof(*e));
    e->type = (uint16_t)t;
    e->code = (uint16_t)c;
    e->value = (int32_t)v;
}

/* ---- front-ends --------------------------------------------------------- */

static void post(struct fe *f, unsigned i)
{
    struct drv_buf in = {EVB + 0x10u * i, VDM_INPUT_EVENT_BYTES};
    memset(f->mem + in.gpa, 0xee, VDM_INPUT_EVENT_BYTES);
    fe_add(f, VDM_INPUT_QUEUE_EVENT, NULL, 0, &in, 1, i);
}

static void fe_cfg(struct fe *f, unsigned sel, unsigned sub)
{
    uint8_t w[2] = {(uint8_t)sel, (uint8_t)sub};
    const uint8_t *p = f->v.reply + VDM_VHOST_USER_HDR_BYTES + 12;

    if (vu_front_config(&f->v, VDM_VHOST_USER_SET_CONFIG, 0,
                        VDM_INPUT_CFG_OFF_SELECT, 2, w, 2) != 0)
        die("SET_CONFIG");
    if (vu_front_config(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, 0,
                        VDM_INPUT_CONFIG_BYTES, NULL,
                        VDM_INPUT_CONFIG_BYTES) != 0 ||
        vu_front_recv(&f->v, VDM_VHOST_USER_GET_CONFIG) !=
            12 + VDM_INPUT_CONFIG_BYTES)
        die("GET_CONFIG");
    if (p[0] != sel || p[1] != sub)
        die("config reads back select %u subsel %u", p[0], p[1]);
    printf("size %u", p[VDM_INPUT_CFG_OFF_SIZE]);
    if (p[VDM_INPUT_CFG_OFF_SIZE] > VDM_INPUT_CFG_DATA_MAX)
        die("size %u beyond the union", p[VDM_INPUT_CFG_OFF_SIZE]);
    if (p[VDM_INPUT_CFG_OFF_SIZE] > 0)
        putchar(' ');
    for (unsigned i = 0; i < p[VDM_INPUT_CFG_OFF_SIZE]; i++)
        printf("%02x", p[VDM_INPUT_CFG_OFF_U + i]);
    putchar('\n');
}

static void fe_recv(struct fe *f, unsigned ms, unsigned count)
{
    uint64_t end = now_ms() + ms;
    unsigned n = 0;

    while (n < count) {
        uint64_t t = now_ms();
        uintptr_t c;
        uint32_t len;
        const uint8_t *e;

        if (t >= end ||
            !fe_used(f, VDM_INPUT_QUEUE_EVENT, (unsigned)(end - t), &c, &len))
            break;
        if (c >= 0x800 || len != VDM_INPUT_EVENT_BYTES)
            die("eventq buffer %lu came back with %u bytes", (unsigned long)c,
                len);
        e = f->mem + EVB + 0x10u * c;
        print_ev(get_le16(e), get_le16(e + 2), get_le32(e + 4), n == 0);
        n++;
        post(f, (unsigned)c);
        fe_kick(f, VDM_INPUT_QUEUE_EVENT);
    }
    puts(n == 0 ? "none" : "");
}

static void fe_status(struct fe *f, char **save)
{
    struct drv_buf out = {STB, VDM_INPUT_EVENT_BYTES};
    uintptr_t c;
    uint32_t len;

    put_le16(f->mem + STB, (uint32_t)num(strtok_r(NULL, " \t", save)));
    put_le16(f->mem + STB + 2, (uint32_t)num(strtok_r(NULL, " \t", save)));
    put_le32(f->mem + STB + 4, (uint32_t)num(strtok_r(NULL, " \t", save)));
    fe_add(f, VDM_INPUT_QUEUE_STATUS, &out, 1, NULL, 0, 1);
    fe_kick(f, VDM_INPUT_QUEUE_STATUS);
    puts(fe_used(f, VDM_INPUT_QUEUE_STATUS, 5000, &c, &len) ? "ok" : "none");
}

static void fe_cmd(unsigned i, const char *cmd, char **save)
{
    struct fe *f = &fes[i];

    if (!opened[i])
        die("front-end %c not open", 'a' + i);
    if (strcmp(cmd, "cfg") == 0) {
        unsigned sel = (unsigned)num(strtok_r(NULL, " \t", save));
        fe_cfg(f, sel, (unsigned)num(strtok_r(NULL, " \t", save)));
    } else if (strcmp(cmd, "post") == 0) {
        unsigned k = (unsigned)num(strtok_r(NULL, " \t", save));
        if (k > FE_NUM)
            die("post %u: the ring has %u entries", k, FE_NUM);
        for (unsigned b = 0; b < k; b++)
            post(f, b);
        fe_kick(f, VDM_INPUT_QUEUE_EVENT);
        printf("posted %u\n", k);
    } else if (strcmp(cmd, "recv") == 0) {
        unsigned ms = (unsigned)num(strtok_r(NULL, " \t", save));
        const char *c = strtok_r(NULL, " \t", save);
        fe_recv(f, ms, c != NULL ? (unsigned)num(c) : ~0u);
    } else if (strcmp(cmd, "status") == 0) {
        fe_status(f, save);
    } else {
        die("unknown front-end command %s", cmd);
    }
}

/* ---- uinput devices and evdev readers ----------------------------------- */

/* Read events from @p fd until COUNT or MS ms; print them. */
static void fd_recv(int fd, unsigned ms, unsigned count)
{
    uint64_t end = now_ms() + ms;
    unsigned n = 0;

    while (n < count) {
        struct input_event e;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t t = now_ms();
        ssize_t r;

        if (t >= end)
            break;
        if (poll(&p, 1, (int)(end - t)) != 1)
            continue;
        r = read(fd, &e, sizeof(e));
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r != (ssize_t)sizeof(e))
            die("read: %s", r < 0 ? strerror(errno) : "short");
        print_ev(e.type, e.code, (uint32_t)e.value, n == 0);
        n++;
    }
    puts(n == 0 ? "none" : "");
}

static void set_bits(int fd, unsigned long req, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save))
        if (ioctl(fd, req, (int)num(t)) < 0)
            die("uinput bit %s: %s", t, strerror(errno));
    free(copy);
}

static void ui_create(unsigned i, char **save)
{
    const char *name = strtok_r(NULL, " \t", save);
    const char *ids = strtok_r(NULL, " \t", save);
    struct uinput_setup us;
    char sys[64], path[128], node[320] = "", link[32];
    unsigned b, v, p, ver;
    int fd;
    char *t;
    DIR *dir;
    struct dirent *de;

    if (name == NULL || ids == NULL ||
        sscanf(ids, "%x:%x:%x:%x", &b, &v, &p, &ver) != 4)
        die("uinput create NAME BUS:VENDOR:PRODUCT:VERSION ...");
    fd = open("/dev/uinput", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        die("/dev/uinput: %s", strerror(errno));
    while ((t = strtok_r(NULL, " \t", save)) != NULL) {
        static const struct {
            const char *k;
            unsigned ev;
            unsigned long req;
        } kinds[] = {
            {"key=", EV_KEY, UI_SET_KEYBIT}, {"rel=", EV_REL, UI_SET_RELBIT},
            {"msc=", EV_MSC, UI_SET_MSCBIT}, {"led=", EV_LED, UI_SET_LEDBIT},
            {"snd=", EV_SND, UI_SET_SNDBIT},
        };
        size_t k;
        if (strncmp(t, "prop=", 5) == 0) {
            set_bits(fd, UI_SET_PROPBIT, t + 5);
            continue;
        }
        if (strcmp(t, "rep") == 0) {
            if (ioctl(fd, UI_SET_EVBIT, EV_REP) < 0)
                die("EV_REP: %s", strerror(errno));
            continue;
        }
        if (strncmp(t, "abs=", 4) == 0) {
            char *copy = strdup(t + 4), *s2 = NULL;
            if (ioctl(fd, UI_SET_EVBIT, EV_ABS) < 0)
                die("EV_ABS: %s", strerror(errno));
            for (char *a = strtok_r(copy, "/", &s2); a != NULL;
                 a = strtok_r(NULL, "/", &s2)) {
                struct uinput_abs_setup as;
                unsigned code;
                memset(&as, 0, sizeof(as));
                if (sscanf(a, "%x:%d:%d:%d:%d:%d", &code, &as.absinfo.minimum,
                           &as.absinfo.maximum, &as.absinfo.fuzz,
                           &as.absinfo.flat, &as.absinfo.resolution) != 6)
                    die("abs %s: C:MIN:MAX:FUZZ:FLAT:RES", a);
                as.code = (uint16_t)code;
                if (ioctl(fd, UI_SET_ABSBIT, code) < 0 ||
                    ioctl(fd, UI_ABS_SETUP, &as) < 0)
                    die("abs %s: %s", a, strerror(errno));
            }
            free(copy);
            continue;
        }
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
            if (strncmp(t, kinds[k].k, 4) == 0)
                break;
        if (k == sizeof(kinds) / sizeof(kinds[0]))
            die("uinput create: %s?", t);
        if (ioctl(fd, UI_SET_EVBIT, kinds[k].ev) < 0)
            die("event type %u: %s", kinds[k].ev, strerror(errno));
        set_bits(fd, kinds[k].req, t + 4);
    }
    memset(&us, 0, sizeof(us));
    us.id.bustype = (uint16_t)b;
    us.id.vendor = (uint16_t)v;
    us.id.product = (uint16_t)p;
    us.id.version = (uint16_t)ver;
    snprintf(us.name, sizeof(us.name), "%s", name);
    for (char *c = us.name; *c != '\0'; c++)
        if (*c == '_')
            *c = ' ';
    if (ioctl(fd, UI_DEV_SETUP, &us) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
        die("uinput create: %s", strerror(errno));
    if (ioctl(fd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
        die("UI_GET_SYSNAME: %s", strerror(errno));
    snprintf(path, sizeof(path), "/sys/devices/virtual/input/%s", sys);
    if ((dir = opendir(path)) == NULL)
        die("%s: %s", path, strerror(errno));
    while ((de = readdir(dir)) != NULL)
        if (strncmp(de->d_name, "event", 5) == 0)
            snprintf(node, sizeof(node), "/dev/input/%s", de->d_name);
    closedir(dir);
    if (node[0] == '\0')
        die("%s has no event node", path);
    for (unsigned w = 0; access(node, F_OK) != 0; w++) {
        if (w == 500)
            die("%s did not appear", node);
        usleep(10000);
    }
    snprintf(link, sizeof(link), "/tmp/%c.evdev", 'a' + i);
    (void)unlink(link);
    if (symlink(node, link) != 0)
        die("symlink %s: %s", link, strerror(errno));
    uin[i] = fd;
    puts("created");
}

static void ui_send(int fd, char **save)
{
    struct input_event ev[64];
    unsigned n = 0;
    int err = 0;
    char *t;

    for (;;) {
        t = strtok_r(NULL, " \t", save);
        if (t == NULL || strcmp(t, "|") == 0) {
            if (n > 0 && err == 0 &&
                write(fd, ev, n * sizeof(ev[0])) !=
                    (ssize_t)(n * sizeof(ev[0])))
                err = errno != 0 ? errno : EIO;
            n = 0;
            if (t == NULL)
                break;
            usleep(2000);
            continue;
        }
        if (n == 64)
            die("more than 64 events in one group");
        parse_ev(t, &ev[n++]);
    }
    if (err != 0)
        printf("err %s\n", strerrorname_np(err));
    else
        puts("ok");
}

static void dev_cmd(int reader, unsigned i, char **save)
{
    const char *cmd = strtok_r(NULL, " \t", save);
    int fd = reader ? rdr[i] : uin[i];

    if (cmd == NULL)
        die("no command");
    if (!reader && strcmp(cmd, "create") == 0) {
        ui_create(i, save);
        return;
    }
    if (reader && strcmp(cmd, "open") == 0) {
        const char *p = strtok_r(NULL, " \t", save);
        rdr[i] = open(p != NULL ? p : "", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (rdr[i] < 0)
            printf("err %s\n", strerrorname_np(errno));
        else
            puts("ok");
        return;
    }
    if (fd < 0)
        die("%s %c not open", reader ? "reader" : "uinput", 'a' + i);
    if (strcmp(cmd, "recv") == 0) {
        unsigned ms = (unsigned)num(strtok_r(NULL, " \t", save));
        const char *c = strtok_r(NULL, " \t", save);
        fd_recv(fd, ms, c != NULL ? (unsigned)num(c) : ~0u);
    } else if (!reader && strcmp(cmd, "send") == 0) {
        ui_send(fd, save);
    } else if (!reader && strcmp(cmd, "destroy") == 0) {
        if (ioctl(fd, UI_DEV_DESTROY) < 0)
            die("UI_DEV_DESTROY: %s", strerror(errno));
        close(fd);
        uin[i] = -1;
        puts("ok");
    } else {
        die("unknown command %s", cmd);
    }
}

int input_main(void)
{
    char line[8192];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *save = NULL, *cmd, *arg;

        line[strcspn(line, "\n")] = '\0';
        cmd = strtok_r(line, " \t", &save);
        if (cmd == NULL || cmd[0] == '#' || common_cmd(cmd, &save))
            continue;
        arg = strtok_r(NULL, " \t", &save);
        if (strcmp(cmd, "open") == 0) {
            unsigned i = idx(arg);
            const char *path = strtok_r(NULL, " \t", &save);
            if (path == NULL)
                die("open N SOCKET");
            fe_open(&fes[i], path, VDM_INPUT_NUM_QUEUES, 0);
            opened[i] = 1;
            puts("ok");
        } else if (strcmp(cmd, "close") == 0) {
            unsigned i = idx(arg);
            if (!opened[i])
                die("front-end %c not open", 'a' + i);
            vu_front_close(&fes[i].v);
            (void)munmap(fes[i].mem, FE_MEM_SIZE);
            close(fes[i].memfd);
            for (unsigned q = 0; q < fes[i].nq; q++) {
                drv_vq_fini(&fes[i].q[q]);
                close(fes[i].kick[q]);
                close(fes[i].call[q]);
            }
            opened[i] = 0;
            puts("closed");
        } else if (strcmp(cmd, "uinput") == 0 || strcmp(cmd, "reader") == 0) {
            dev_cmd(cmd[0] == 'r', idx(arg), &save);
        } else {
            if (arg == NULL)
                die("%s: no command", cmd);
            fe_cmd(idx(cmd), arg, &save);
        }
    }
    for (unsigned i = 0; i < NDEV; i++)
        if (opened[i])
            vu_front_close(&fes[i].v);
    return 0;
}
