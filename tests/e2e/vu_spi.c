/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-e2e-vu-cmd spi: virtio-spi front-ends (drivers of our own, on the
 * shared front-end of vu_cmd.h). It runs inside the SPI test's guest
 * (tests/e2e/spi.sh), where the daemon's spidev backend reaches the
 * loopback controller of tests/e2e/spi-loop. Commands, one a line on
 * stdin, one result line each:
 *
 *   open N SOCKET        front-end N (a..d) on SOCKET            -> ok
 *   N config             struct virtio_spi_config, every field   ->
 *                        cs C cs_change X tx_nbits 0xT rx_nbits 0xR
 *                        bpw 0xMASK mode 0xM freq HZ word NS setup NS
 *                        hold NS inactive NS
 *   N xfer OPTS [| OPTS]...   one request per OPTS group, all in one
 *                        kick, each used entry awaited (5 s) -> per
 *                        request ok[:RXHEX] | param | trans | bad:WHY
 *   cat FILE             the first line of FILE                  -> LINE
 *   write FILE VALUE     VALUE into FILE                 -> ok | err ENAME
 *
 * OPTS (key=value, numbers in any strtoul base; all default 0):
 *   cs bpw (default 8) cs_change tx_nbits rx_nbits mode freq word setup
 *   hold inactive res (reserved[0])   the transfer head's fields
 *   tx=HEX | txfill=N    tx_buf: these bytes, or N bytes (byte i = i)
 *   rx=N                 an rx_buf of N bytes (pre-filled with 0xee)
 *   split=K              tx_buf and rx_buf each as two descriptors, the
 *                        first K bytes long
 * A request is device-readable head [+ tx_buf], device-writable [rx_buf]
 * + result (spec "Device Operation: Request Queue"). bad:WHY is printed
 * when the device broke a rule: a used length other than rx_buf + 1 on
 * VIRTIO_SPI_TRANS_OK and 1 otherwise, a result byte not 0..2, a changed
 * tx_buf ("MUST NOT change the data in tx_buf").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdm/devices/spi.h"
#include "vdm/vhost_user.h"
#include "vu_cmd.h"

#define NFE     4u
#define NXFER   4u       /* requests of one xfer command */
#define HEAD    0x10000u /* heads, 0x40 apart */
#define RES     0x18000u /* result bytes, 0x10 apart */
#define BUF     0x20000u /* per request: tx then rx, BUFLEN each */
#define BUFLEN  0x11000u /* largest tx_buf / rx_buf */
#define LINEMAX (2u * BUFLEN * NXFER + 4096u)

struct xfer {
    uint8_t head[VDM_SPI_HEAD_BYTES];
    uint32_t txlen, rxlen, split;
    int has_tx;
};

static struct fe fes[NFE];
static int opened[NFE];
static uint8_t txdata[NXFER][BUFLEN];

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

static void hexbytes(const char *s, uint8_t *out, uint32_t *n)
{
    size_t l = strlen(s);

    if (l % 2u != 0 || l / 2u > BUFLEN)
        die("spi: tx=%.16s...: an even number of hex digits, %u bytes at most",
            s, BUFLEN);
    for (size_t i = 0; i < l; i += 2) {
        int a = hexval(s[i]), b = hexval(s[i + 1]);
        if (a < 0 || b < 0)
            die("spi: tx: bad hex at %zu", i);
        out[i / 2u] = (uint8_t)(a << 4 | b);
    }
    *n = (uint32_t)(l / 2u);
}

/* One OPTS group up to "|" or the end of the line: 1 when "|" ended it. */
static int parse(char **save, struct xfer *x, uint8_t *tx)
{
    static const struct {
        const char *key;
        unsigned off, bytes;
    } fields[] = {
        {"cs", VDM_SPI_OFF_CHIP_SELECT, 1},
        {"bpw", VDM_SPI_OFF_BITS_PER_WORD, 1},
        {"cs_change", VDM_SPI_OFF_CS_CHANGE, 1},
        {"tx_nbits", VDM_SPI_OFF_TX_NBITS, 1},
        {"rx_nbits", VDM_SPI_OFF_RX_NBITS, 1},
        {"res", VDM_SPI_OFF_RESERVED, 1},
        {"mode", VDM_SPI_OFF_MODE, 4},
        {"freq", VDM_SPI_OFF_FREQ, 4},
        {"word", VDM_SPI_OFF_WORD_DELAY, 4},
        {"setup", VDM_SPI_OFF_CS_SETUP, 4},
        {"hold", VDM_SPI_OFF_CS_HOLD, 4},
        {"inactive", VDM_SPI_OFF_CS_INACTIVE, 4},
    };
    char *t;

    memset(x, 0, sizeof(*x));
    x->head[VDM_SPI_OFF_BITS_PER_WORD] = 8;
    while ((t = strtok_r(NULL, " \t", save)) != NULL) {
        char *v = strchr(t, '=');
        unsigned i;

        if (strcmp(t, "|") == 0)
            return 1;
        if (v == NULL)
            die("spi: %s: OPTS are key=value", t);
        *v++ = '\0';
        if (strcmp(t, "tx") == 0) {
            hexbytes(v, tx, &x->txlen);
            x->has_tx = 1;
            continue;
        }
        if (strcmp(t, "txfill") == 0) {
            x->txlen = (uint32_t)num(v);
            if (x->txlen > BUFLEN)
                die("spi: txfill=%u: %u bytes at most", x->txlen, BUFLEN);
            for (uint32_t k = 0; k < x->txlen; k++)
                tx[k] = (uint8_t)k;
            x->has_tx = 1;
            continue;
        }
        if (strcmp(t, "rx") == 0) {
            x->rxlen = (uint32_t)num(v);
            if (x->rxlen > BUFLEN)
                die("spi: rx=%u: %u bytes at most", x->rxlen, BUFLEN);
            continue;
        }
        if (strcmp(t, "split") == 0) {
            x->split = (uint32_t)num(v);
            continue;
        }
        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            if (strcmp(t, fields[i].key) == 0)
                break;
        if (i == sizeof(fields) / sizeof(fields[0]))
            die("spi: unknown option %s", t);
        if (fields[i].bytes == 1)
            x->head[fields[i].off] = (uint8_t)num(v);
        else
            put_le32(x->head + fields[i].off, (uint32_t)num(v));
    }
    return 0;
}

/* Up to two descriptors for the buffer at @p gpa of @p len bytes. */
static unsigned bufs(struct drv_buf *b, uint64_t gpa, uint32_t len,
                     uint32_t split)
{
    if (len == 0)
        return 0;
    if (split == 0 || split >= len) {
        b[0] = (struct drv_buf){gpa, len};
        return 1;
    }
    b[0] = (struct drv_buf){gpa, split};
    b[1] = (struct drv_buf){gpa + split, len - split};
    return 2;
}

static void spi_xfer(struct fe *f, char **save)
{
    struct xfer x[NXFER];
    unsigned n = 0, done = 0, ndesc = 0;
    int more = 1;
    char *out[NXFER];

    while (more) {
        uint64_t tx = BUF + 2u * BUFLEN * n, rx = tx + BUFLEN;
        struct drv_buf o[3], in[3];
        unsigned no = 1, ni = 0;

        if (n == NXFER)
            die("spi: at most %u requests an xfer", NXFER);
        more = parse(save, &x[n], txdata[n]);
        memcpy(f->mem + HEAD + 0x40u * n, x[n].head, VDM_SPI_HEAD_BYTES);
        memcpy(f->mem + tx, txdata[n], x[n].txlen);
        memset(f->mem + rx, 0xee, BUFLEN);
        f->mem[RES + 0x10u * n] = 0xee;
        o[0] = (struct drv_buf){HEAD + 0x40u * n, VDM_SPI_HEAD_BYTES};
        no += bufs(&o[1], tx, x[n].txlen, x[n].split);
        ni += bufs(&in[0], rx, x[n].rxlen, x[n].split);
        in[ni++] = (struct drv_buf){RES + 0x10u * n, 1};
        ndesc += no + ni;
        if (ndesc > FE_NUM)
            die("spi: more than %u descriptors in one xfer", FE_NUM);
        fe_add(f, VDM_SPI_QUEUE_REQUEST, o, no, in, ni, n);
        out[n] = NULL;
        n++;
    }
    fe_kick(f, VDM_SPI_QUEUE_REQUEST);
    while (done < n) {
        uintptr_t c;
        uint32_t len, want;
        uint8_t r;
        char *s;
        size_t cap;

        if (!fe_used(f, VDM_SPI_QUEUE_REQUEST, 5000, &c, &len))
            die("spi: %u of %u requests not answered in 5 s", n - done, n);
        if (c >= n || out[c] != NULL)
            die("spi: bad used entry %lu", (unsigned long)c);
        r = f->mem[RES + 0x10u * c];
        want = r == VDM_SPI_TRANS_OK ? x[c].rxlen + 1u : 1u;
        cap = 2u * x[c].rxlen + 64u;
        s = malloc(cap);
        if (s == NULL)
            die("spi: out of memory");
        if (r > VDM_SPI_TRANS_ERR) {
            snprintf(s, cap, "bad:result=%u", r);
        } else if (len != want) {
            snprintf(s, cap, "bad:used=%u", len);
        } else if (memcmp(f->mem + BUF + 2u * BUFLEN * c, txdata[c],
                          x[c].txlen) != 0) {
            snprintf(s, cap, "bad:tx-changed");
        } else if (r == VDM_SPI_PARAM_ERR) {
            snprintf(s, cap, "param");
        } else if (r == VDM_SPI_TRANS_ERR) {
            snprintf(s, cap, "trans");
        } else {
            const uint8_t *rx = f->mem + BUF + 2u * BUFLEN * c + BUFLEN;
            size_t k = (size_t)snprintf(s, cap, "ok%s", x[c].rxlen ? ":" : "");
            for (uint32_t i = 0; i < x[c].rxlen; i++)
                k += (size_t)snprintf(s + k, cap - k, "%02x", rx[i]);
        }
        out[c] = s;
        done++;
    }
    for (unsigned k = 0; k < n; k++) {
        printf("%s%s", k ? " " : "", out[k]);
        free(out[k]);
    }
    putchar('\n');
}

/* Device configuration layout: struct virtio_spi_config. */
static void spi_config(struct fe *f)
{
    const uint8_t *p = f->v.reply + VDM_VHOST_USER_HDR_BYTES + 12;

    if (vu_front_config(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, 0,
                        VDM_SPI_CONFIG_BYTES, NULL,
                        VDM_SPI_CONFIG_BYTES) != 0 ||
        vu_front_recv(&f->v, VDM_VHOST_USER_GET_CONFIG) !=
            12 + VDM_SPI_CONFIG_BYTES)
        die("GET_CONFIG");
    printf("cs %u cs_change %u tx_nbits 0x%x rx_nbits 0x%x bpw 0x%x mode 0x%x "
           "freq %u word %u setup %u hold %u inactive %u\n",
           p[0], p[1], p[2], p[3], get_le32(p + 4), get_le32(p + 8),
           get_le32(p + 12), get_le32(p + 16), get_le32(p + 20),
           get_le32(p + 24), get_le32(p + 28));
}

static void cat(const char *path)
{
    char l[512];
    FILE *fp = path != NULL ? fopen(path, "r") : NULL;

    if (fp == NULL)
        die("cat %s: %s", path ? path : "(no file)", strerror(errno));
    if (fgets(l, sizeof(l), fp) == NULL)
        l[0] = '\0';
    fclose(fp);
    l[strcspn(l, "\n")] = '\0';
    puts(l);
}

static void write_file(const char *path, const char *v)
{
    FILE *fp;

    if (path == NULL || v == NULL)
        die("write FILE VALUE");
    fp = fopen(path, "w");
    if (fp == NULL || fputs(v, fp) < 0 || fclose(fp) != 0)
        printf("err %s\n", strerrorname_np(errno));
    else
        puts("ok");
}

int spi_main(void)
{
    static char line[LINEMAX];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *save = NULL, *cmd, *arg;
        unsigned i;

        if (strchr(line, '\n') == NULL && !feof(stdin))
            die("spi: a line longer than %u bytes", LINEMAX);
        line[strcspn(line, "\n")] = '\0';
        cmd = strtok_r(line, " \t", &save);
        if (cmd == NULL || cmd[0] == '#' || common_cmd(cmd, &save))
            continue;
        arg = strtok_r(NULL, " \t", &save);
        if (strcmp(cmd, "cat") == 0) {
            cat(arg);
            continue;
        }
        if (strcmp(cmd, "write") == 0) {
            write_file(arg, strtok_r(NULL, " \t", &save));
            continue;
        }
        if (strcmp(cmd, "open") == 0) {
            const char *path = strtok_r(NULL, " \t", &save);
            if (arg == NULL || arg[0] < 'a' || arg[0] >= (char)('a' + NFE) ||
                arg[1] != '\0' || path == NULL || opened[arg[0] - 'a'])
                die("open N SOCKET: N one of a..%c, once", 'a' + NFE - 1);
            fe_open(&fes[arg[0] - 'a'], path, VDM_SPI_NUM_QUEUES, 0);
            opened[arg[0] - 'a'] = 1;
            puts("ok");
            continue;
        }
        if (cmd[0] < 'a' || cmd[0] >= (char)('a' + NFE) || cmd[1] != '\0')
            die("unknown command %s", cmd);
        i = (unsigned)(cmd[0] - 'a');
        if (!opened[i])
            die("front-end %s not open", cmd);
        if (arg != NULL && strcmp(arg, "config") == 0)
            spi_config(&fes[i]);
        else if (arg != NULL && strcmp(arg, "xfer") == 0)
            spi_xfer(&fes[i], &save);
        else
            die("unknown spi command %s", arg ? arg : "(none)");
    }
    for (unsigned i = 0; i < NFE; i++)
        if (opened[i])
            vu_front_close(&fes[i].v);
    return 0;
}
