/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user's command line: the multi-device form (--socket,
 * --vfio-user or --fd, each followed by its --device), the one program per
 * device type named by argv[0] (vdm-vhost-user-blk, ...: the vhost-user
 * "Backend program conventions"), --print-capabilities, the usage texts,
 * and the --device TYPE,key=value,... specs with the option readers the
 * device types use (vd_opt, vd_bool, vd_uint). Devices are made through
 * vd_add_device() (main.c: the device table, the event loop). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* ------------------------------------------------------------------------ */
/* Device specs: --device TYPE,key=value,... */

/* "TYPE,key=value,..." -> o (the string is modified in place). */
int vd_parse_device(char *spec, struct vd_opts *o)
{
    char *save = NULL, *tok;
    memset(o, 0, sizeof(*o));
    o->type = strtok_r(spec, ",", &save);
    if (o->type == NULL)
        return -1;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (eq == NULL || eq == tok || o->n == VD_MAX_OPTS) {
            fprintf(stderr, "vdm-vhost-user: bad device option '%s'\n", tok);
            return -1;
        }
        *eq = '\0';
        o->key[o->n] = tok;
        o->val[o->n] = eq + 1;
        o->n++;
    }
    return 0;
}

const char *vd_opt(struct vd_opts *o, const char *key)
{
    for (unsigned i = 0; i < o->n; i++)
        if (strcmp(o->key[i], key) == 0) {
            o->used[i] = 1;
            return o->val[i];
        }
    return NULL;
}

int vd_bool(const char *v)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1") ||
        !strcmp(v, "true"))
        return 1;
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0") ||
        !strcmp(v, "false"))
        return 0;
    return -1;
}

int vd_uint(const char *v, unsigned long long lo, unsigned long long hi,
            unsigned long long *out)
{
    char *end;
    unsigned long long x;
    if (v == NULL || *v == '\0' || *v == '-')
        return -1;
    errno = 0;
    x = strtoull(v, &end, 0);
    if (errno != 0 || *end != '\0' || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* vdm-vhost-user */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: vdm-vhost-user [-v] (--socket PATH | --vfio-user PATH | --fd N)"
        " --device SPEC [(--socket PATH | --vfio-user PATH | --fd N)\n"
        "                      --device SPEC]...\n"
        "       vdm-vhost-user --print-capabilities --device TYPE\n"
        "\n"
        "Serves vdm VIRTIO devices over vhost-user or vfio-user sockets (one\n"
        "per device).\n"
        "One program per device type as well: vdm-vhost-user-blk, -input,\n"
        "-rng, -gpu (try vdm-vhost-user-blk --help).\n"
        "\n"
        "  --socket PATH, --socket-path=PATH  socket of the next --device\n"
        "  --vfio-user PATH   vfio-user socket of the next --device: served\n"
        "                     as a virtio-pci function (vdm's PCI transport,\n"
        "                     MSI-X and INTx) to a vfio-user client such as\n"
        "                     QEMU's -device vfio-user-pci\n"
        "  --fd N, --fd=N     a socket handed over as file descriptor N\n"
        "                     (listening, or connected: then served once)\n"
        "  --device SPEC      TYPE[,key=value...]:\n"
        "      any type over --vfio-user: [,admin-vq=on] offers\n"
        "          VIRTIO_F_ADMIN_VQ (one administration virtqueue)\n"
        "      blk,file=PATH[,ro=on|off][,serial=STR][,num-queues=N]\n"
        "          [,queue-size=N][,discard=on|off][,writeback=on|off]\n"
        "      balloon[,target-mib=N][,target-file=PATH (read on SIGUSR1)]\n"
        "          [,stats-file=PATH][,stats-ms=N][,stats=on|off]\n"
        "          [,reporting=on|off][,deflate-on-oom=on|off]\n"
        "          [,must-tell-host=on|off]  (inflated and reported pages:\n"
        "          holes punched in the guest memory files)\n"
        "      rng[,source=PATH]          (default: getrandom(); a regular\n"
        "                                  file is repeated without end)\n"
        "      input,profile=keyboard|mouse|touch[,events=PATH]\n"
        "      input,evdev=/dev/input/eventN[,grab=on|off]  passthrough of a\n"
        "          host input device (grabbed unless grab=off)\n"
        "      i2c[,eeprom=ADDR:24c02|24c32:PATH][,lm75=ADDR:PATH]\n"
        "         [,adapter=/dev/i2c-N,allow=ADDR[:ADDR...]]\n"
        "      gpio,state=PATH[,events=PATH] | gpio,chip=/dev/gpiochipN\n"
        "          events file lines: 'TYPE CODE VALUE', 'key CODE',\n"
        "          'syn', 'sleep MS', 'wait-status [TYPE CODE VALUE]',\n"
        "          '# comment'; names like EV_KEY, KEY_A, BTN_LEFT,\n"
        "          REL_X, ABS_X, SYN_REPORT, LED_NUML or numbers; replayed\n"
        "          once per front-end when the driver is ready\n"
        "      rpmb,file=PATH[,capacity=N][,max_wr=N][,max_rd=N]\n"
        "          file-backed partition with its key and write counter;\n"
        "          capacity in 128 KiB units (1..128) for a new file\n"
        "      sound[,playback=SINK][,capture=SOURCE][,pace=realtime|fast]\n"
        "          [,jacks=0|1|2][,controls=on|off]\n"
        "          SINK/SOURCE: null (default), FILE.wav, alsa:DEVICE\n"
        "      gpu[,outputs=N][,width=W][,height=H][,edid=on|off]\n"
        "          [,max-mem=MiB][,out=DIR]  (2D; pixels go to the\n"
        "          front-end's vhost-user-gpu channel; out=DIR also writes\n"
        "          DIR/scanoutN.ppm after every flush)\n"
        "      can,bus=PATH | can,if=IFNAME [,fd=on|off][,late-ack=on|off]\n"
        "          [,tx-slots=N]  bus: virtual CAN bus (unix socket) shared\n"
        "          with other daemons; if: SocketCAN interface (raw, FD)\n"
        "      spi,flash=PATH[,size=N] | spi,dev=/dev/spidevB.C\n"
        "          flash: simulated SPI NOR flash in PATH (N bytes, a power\n"
        "          of two, default 1 MiB); dev: spidev passthrough\n"
        "      scmi[,sensors=FILE][,poll-ms=N][,p2a=on|off]  SCMI platform\n"
        "          of a demo SoC (clocks, power and reset domains, sensors);\n"
        "          FILE: sensor values (re-read on reads and every N ms)\n"
        "      console,port0=BACKEND[,portN=BACKEND][,nameN=NAME]\n"
        "          [,consoleN=on|off][,cols=C,rows=R]  BACKEND: pty[:LINK]\n"
        "          (raw pty; LINK: a symlink to it; its window size is the\n"
        "          console's), unix:PATH (listening socket, one client),\n"
        "          file:PATH (guest output appended); ports other than 0\n"
        "          or names turn MULTIPORT on (port 0 a console)\n"
        "  -v, --verbose      more log on stderr (twice: every message)\n"
        "  -h, --help         this text\n"
        "\n"
        "Prints 'vdm-vhost-user: listening on PATH' on stdout per socket\n"
        "once it accepts connections ('listening on fd N' or 'serving fd N'\n"
        "for --fd). SIGTERM/SIGINT end it: requests already in the rings\n"
        "are completed first.\n");
}

/* ------------------------------------------------------------------------ */
/* One program per device type (vhost-user "Backend program conventions"):
 * vdm-vhost-user-TYPE is this binary under another name (a symlink). */

struct prog {
    const char *name;     /* device type, vdm-vhost-user-NAME */
    const char *qapi;     /* its VHostUserBackendType (vhost-user.json) */
    const char *features; /* --print-capabilities features, comma-separated;
                             NULL: the schema has no features for the type */
};

static const struct prog progs[] = {
    {"blk", "block", "read-only,blk-file"},
    {"input", "input", "evdev-path,no-grab"},
    {"rng", "rng", NULL},
    {"gpu", "gpu", ""},
};

static const struct prog *prog_by_type(const char *type, size_t len)
{
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        if (strlen(progs[i].name) == len && !strncmp(progs[i].name, type, len))
            return &progs[i];
    return NULL;
}

/* The VHostUserBackendCapabilities object of vhost-user.json. */
static void print_capabilities(const struct prog *p)
{
    printf("{\n  \"type\": \"%s\"", p->qapi);
    if (p->features != NULL) {
        const char *f = p->features;
        printf(",\n  \"features\": [");
        while (*f != '\0') {
            size_t n = strcspn(f, ",");
            printf("%s\n    \"%.*s\"", f == p->features ? "" : ",", (int)n, f);
            f += n + (f[n] == ',');
        }
        printf("%s]", p->features[0] != '\0' ? "\n  " : "");
    }
    printf("\n}\n");
    fflush(stdout);
}

static void usage_prog(FILE *f, const struct prog *p)
{
    fprintf(
        f,
        "usage: vdm-vhost-user-%s (--socket-path=PATH | --fd=FDNUM)%s%s\n"
        "           [-o KEY=VALUE[,KEY=VALUE...]]... [-v]\n"
        "       vdm-vhost-user-%s --print-capabilities\n"
        "\n"
        "Serves one vdm %s device over vhost-user (the vhost-user\n"
        "\"Backend program conventions\").\n"
        "\n"
        "  --socket-path=PATH    listen on PATH\n"
        "  --fd=FDNUM            a socket handed over as FDNUM (listening,\n"
        "                        or connected: then served once)\n"
        "%s%s"
        "  -o, --option K=V,...  more options of the device, as in\n"
        "                        vdm-vhost-user --device %s,K=V,...\n"
        "  --print-capabilities  print the capabilities (JSON), exit\n"
        "  -v, --verbose         more log on stderr\n",
        p->name,
        strcmp(p->name, "blk") == 0 ? " --blk-file=PATH [--read-only]" : "",
        strcmp(p->name, "input") == 0
            ? "\n           [--evdev-path=PATH [--no-grab]]"
            : "",
        p->name, p->name,
        strcmp(p->name, "blk") == 0
            ? "  --blk-file=PATH       the image: a file or block device\n"
              "  --read-only           read-only device\n"
            : "",
        strcmp(p->name, "input") == 0
            ? "  --evdev-path=PATH     pass a host input device through\n"
              "                        (/dev/input/eventN; default: a\n"
              "                        keyboard of its own)\n"
              "  --no-grab             do not take the device for the guest\n"
              "                        alone (EVIOCGRAB)\n"
            : "",
        p->name);
}

/* Append ",@p text" to @p spec (of @p cap bytes). -1 when it does not fit. */
static int spec_add(char *spec, size_t cap, const char *key, const char *val)
{
    size_t n = strlen(spec);
    int w = snprintf(spec + n, cap - n, ",%s%s", key, val);
    return w < 0 || (size_t)w >= cap - n ? -1 : 0;
}

/* Only --print-capabilities, whatever else is there ("Other options and
 * arguments should be ignored"). */
static int wants_capabilities(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--print-capabilities") == 0)
            return 1;
    return 0;
}

/* Parse a --fd value. -1 when not a descriptor number. */
static int parse_fd(const char *v)
{
    unsigned long long x;
    return vd_uint(v, 0, 65535, &x) < 0 ? -1 : (int)x;
}

/* vdm-vhost-user-TYPE: its options -> one device. -1 to go on, else the
 * exit status. */
static int parse_prog(const struct prog *p, int argc, char **argv)
{
    enum { O_FD = 256, O_BLK_FILE, O_READ_ONLY, O_CAPS, O_EVDEV, O_NO_GRAB };
    static const struct option longopts[] = {
        {"socket-path", required_argument, NULL, 's'},
        {"fd", required_argument, NULL, O_FD},
        {"blk-file", required_argument, NULL, O_BLK_FILE},
        {"read-only", no_argument, NULL, O_READ_ONLY},
        {"evdev-path", required_argument, NULL, O_EVDEV},
        {"no-grab", no_argument, NULL, O_NO_GRAB},
        {"option", required_argument, NULL, 'o'},
        {"print-capabilities", no_argument, NULL, O_CAPS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char spec[4096];
    const char *socket_path = NULL, *blk_file = NULL, *evdev = NULL;
    int fd = -1, ro = 0, no_grab = 0, c, is_blk = strcmp(p->name, "blk") == 0;
    int is_input = strcmp(p->name, "input") == 0;

    if (wants_capabilities(argc, argv)) {
        print_capabilities(p);
        return 0;
    }
    snprintf(spec, sizeof(spec), "%s", p->name);
    while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': socket_path = optarg; break;
        case O_FD:
            if ((fd = parse_fd(optarg)) < 0) {
                fprintf(stderr,
                        "vdm-vhost-user-%s: --fd=%s: not a file "
                        "descriptor number\n",
                        p->name, optarg);
                return 2;
            }
            break;
        case O_BLK_FILE:
        case O_READ_ONLY:
            if (!is_blk) {
                fprintf(stderr,
                        "vdm-vhost-user-%s: --%s is an option of "
                        "vdm-vhost-user-blk\n",
                        p->name, c == O_BLK_FILE ? "blk-file" : "read-only");
                return 2;
            }
            if (c == O_BLK_FILE)
                blk_file = optarg;
            else
                ro = 1;
            break;
        case O_EVDEV:
        case O_NO_GRAB:
            if (!is_input) {
                fprintf(stderr,
                        "vdm-vhost-user-%s: --%s is an option of "
                        "vdm-vhost-user-input\n",
                        p->name, c == O_EVDEV ? "evdev-path" : "no-grab");
                return 2;
            }
            if (c == O_EVDEV)
                evdev = optarg;
            else
                no_grab = 1;
            break;
        case 'o':
            if (spec_add(spec, sizeof(spec), "", optarg) < 0) {
                fprintf(stderr, "vdm-vhost-user-%s: options too long\n",
                        p->name);
                return 2;
            }
            break;
        case 'v': vd_verbose++; break;
        case 'h': usage_prog(stdout, p); return 0;
        default: usage_prog(stderr, p); return 2;
        }
    }
    if (optind < argc || (socket_path == NULL) == (fd < 0)) {
        fprintf(stderr, "vdm-vhost-user-%s: %s\n", p->name,
                optind < argc ? "unexpected arguments"
                : fd < 0      ? "needs --socket-path=PATH or --fd=FDNUM"
                              : "--socket-path and --fd exclude each other");
        return 2;
    }
    if ((blk_file != NULL &&
         spec_add(spec, sizeof(spec), "file=", blk_file) < 0) ||
        (ro && spec_add(spec, sizeof(spec), "ro=", "on") < 0) ||
        (evdev != NULL && spec_add(spec, sizeof(spec), "evdev=", evdev) < 0) ||
        (no_grab && spec_add(spec, sizeof(spec), "grab=", "off") < 0)) {
        fprintf(stderr, "vdm-vhost-user-%s: options too long\n", p->name);
        return 2;
    }
    if (vd_add_device(socket_path, fd, 0, spec) < 0)
        return 1;
    return -1;
}

/* vdm-vhost-user: (--socket PATH | --fd N) --device SPEC pairs. -1 to go
 * on, else the exit status. */
static int parse_multi(int argc, char **argv)
{
    enum { O_FD = 256, O_CAPS, O_VFU };
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"socket-path", required_argument, NULL, 's'},
        {"fd", required_argument, NULL, O_FD},
        {"vfio-user", required_argument, NULL, O_VFU},
        {"device", required_argument, NULL, 'd'},
        {"print-capabilities", no_argument, NULL, O_CAPS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *socket_path = NULL;
    unsigned ndevices = 0;
    int fd = -1, vfio = 0, c, rc;

    if (wants_capabilities(argc, argv)) {
        /* The type of the (first) --device names the capabilities. */
        for (int i = 1; i < argc; i++) {
            const char *v = NULL, *p;
            if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
                v = argv[i + 1];
            else if (strncmp(argv[i], "--device=", 9) == 0)
                v = argv[i] + 9;
            if (v == NULL)
                continue;
            p = strchr(v, ',');
            const struct prog *pr =
                prog_by_type(v, p ? (size_t)(p - v) : strlen(v));
            if (pr == NULL)
                break;
            print_capabilities(pr);
            return 0;
        }
        fprintf(stderr, "vdm-vhost-user: --print-capabilities needs "
                        "--device TYPE (blk, input, rng or gpu)\n");
        return 2;
    }
    while ((c = getopt_long(argc, argv, "s:d:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            socket_path = optarg;
            fd = -1;
            vfio = 0;
            break;
        case O_VFU:
            socket_path = optarg;
            fd = -1;
            vfio = 1;
            break;
        case O_FD:
            if ((fd = parse_fd(optarg)) < 0) {
                fprintf(stderr,
                        "vdm-vhost-user: --fd=%s: not a file "
                        "descriptor number\n",
                        optarg);
                return 2;
            }
            socket_path = NULL;
            vfio = 0;
            break;
        case 'd':
            if (socket_path == NULL && fd < 0) {
                fprintf(stderr, "vdm-vhost-user: --device needs a --socket, "
                                "--vfio-user or --fd before it\n");
                return 2;
            }
            rc = vd_add_device(socket_path, fd, vfio, optarg);
            if (rc == -2) {
                fprintf(stderr, "vdm-vhost-user: too many devices\n");
                return 2;
            }
            if (rc < 0)
                return 1;
            ndevices++;
            socket_path = NULL;
            fd = -1;
            vfio = 0;
            break;
        case 'v': vd_verbose++; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || ndevices == 0 || socket_path != NULL || fd >= 0) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static const char *prog_suffix(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base != NULL ? base + 1 : argv0;
    return strncmp(base, "vdm-vhost-user-", 15) == 0 ? base + 15 : NULL;
}

/* vdm-vhost-user[-TYPE] @p argv -> the devices. -1 to go on, else the exit
 * status. */
int vd_parse_args(int argc, char **argv)
{
    const char *suffix = prog_suffix(argc > 0 ? argv[0] : "");

    if (suffix != NULL) {
        const struct prog *p = prog_by_type(suffix, strlen(suffix));
        if (p == NULL) {
            fprintf(stderr,
                    "vdm-vhost-user: no device type for program "
                    "name '%s' (blk, input, rng, gpu)\n",
                    argv[0]);
            return 2;
        }
        return parse_prog(p, argc, argv);
    }
    return parse_multi(argc, argv);
}
