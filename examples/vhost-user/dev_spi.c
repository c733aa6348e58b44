/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the SPI controller device, with one of two buses.
 *
 * spi,dev=/dev/spidevB.C -- passthrough: each transfer becomes one
 * SPI_IOC_MESSAGE(1) on the spidev node (one chip select: the node's).
 * The spec's cs_change ("0 means chipselect keep asserted" into the next
 * transfer) maps onto spidev's for the last transfer of a message, which
 * is the opposite sense: 0 keeps chip select asserted after the message
 * with spidev's cs_change set, 1 ends the message with it deasserted.
 * The mode is written (SPI_IOC_WR_MODE32) only when it changes: Linux's
 * spi_setup() deasserts chip select, which would break a chip select
 * kept asserted between transfers. word_delay_ns and cs_delay_hold_ns go
 * to word_delay_usecs and delay_usecs (rounded up); setup and inactive
 * delays are not offered. The configuration says what the controller
 * does: at open, each mode bit and n-bit mode is tried with
 * SPI_IOC_WR_MODE32 (and read back: spi_setup() drops unsupported n-bit
 * modes with a warning) and each word size 1..32 with
 * SPI_IOC_WR_BITS_PER_WORD, so that a request the controller would refuse
 * is answered VIRTIO_SPI_PARAM_ERR and never reaches it; the longest
 * transfer is spidev's bufsiz (module parameter, default 4096 bytes).
 *
 * spi,flash=PATH[,size=N] -- a simulated SPI NOR flash on chip select 0,
 * backed by PATH (created with size=N bytes, a multiple of 4096, default
 * 1 MiB, filled with 0xFF; an existing file keeps its size). It answers
 * JEDEC id (0x9F: 0xEF 0x40 and log2 of the size), read (0x03, 24-bit
 * address), write enable/disable (0x06/0x04), page program (0x02, needs
 * WEL; bits only go from 1 to 0, wrapping inside the 256-byte page),
 * sector erase (0x20, needs WEL; 4 KiB to 0xFF) and read status (0x05:
 * bit 0 WIP, bit 1 WEL). Program and erase take effect when chip select is
 * deasserted; WIP then reads 1 in the next status read and clears, and
 * with it WEL. A command lasts while chip select is asserted: from the
 * first transfer after a deassert up to and including a transfer with
 * cs_change = 1 (spec: chip select "deasserted then asserted again"
 * before the next transfer). Half-duplex reads shift out 0xFF; bytes the
 * flash does not drive read 0xFF. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/spi/spidev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/spi.h"

#define SPI_QSIZE     64
#define XFER_MAX      65536u
#define PAGE_BYTES    256u
#define SECTOR        4096u
#define FLASH_DEF     (1u << 20)
#define ST_WIP        0x01u
#define ST_WEL        0x02u
#define OP_PP         0x02u
#define OP_READ       0x03u
#define OP_WRDI       0x04u
#define OP_RDSR       0x05u
#define OP_WREN       0x06u
#define OP_SE         0x20u
#define OP_RDID       0x9fu
#define SPIDEV_BUFSIZ "/sys/module/spidev/parameters/bufsiz"

struct spi {
    struct vdm_spi spi;
    int fd;        /* spidev or the flash file */
    int is_flash;  /* else spidev */
    uint8_t *mem;  /* flash: the mapped file */
    uint32_t size; /* flash bytes */
    /* flash command state */
    uint32_t pos; /* bytes of the command so far */
    uint8_t op;
    uint32_t addr;
    uint8_t status;
    uint8_t busy_reads; /* status reads that still show WIP */
    uint8_t page[PAGE_BYTES];
    uint8_t page_set[PAGE_BYTES];
    uint32_t mode; /* spidev: the mode last written */
    uint8_t tx[XFER_MAX], rx[XFER_MAX];
};

static uint32_t gather(const struct vdm_iov *iov, uint32_t n, uint8_t *out)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(out + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    return off;
}

static void scatter(const struct vdm_iov *iov, uint32_t n, const uint8_t *in)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(iov[i].base, in + off, iov[i].len);
        off += iov[i].len;
    }
}

/* ---- the simulated flash ------------------------------------------------ */

static unsigned log2u(uint32_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Chip select deasserted: a program or erase takes effect. */
static void flash_end(struct spi *s)
{
    if (s->op == OP_PP && s->pos > 4 && (s->status & ST_WEL)) {
        uint32_t base = s->addr & ~(PAGE_BYTES - 1u);
        for (uint32_t i = 0; i < PAGE_BYTES; i++)
            if (s->page_set[i])
                s->mem[base + i] &= s->page[i]; /* only 1 -> 0 */
        s->status |= ST_WIP;
        s->busy_reads = 1;
    } else if (s->op == OP_SE && s->pos >= 4 && (s->status & ST_WEL)) {
        memset(s->mem + (s->addr & ~(SECTOR - 1u)), 0xff, SECTOR);
        s->status |= ST_WIP;
        s->busy_reads = 1;
    } else if (s->op == OP_WREN && s->pos >= 1 && !(s->status & ST_WIP)) {
        s->status |= ST_WEL;
    } else if (s->op == OP_WRDI && s->pos >= 1 && !(s->status & ST_WIP)) {
        s->status &= (uint8_t)~ST_WEL;
    }
    s->pos = 0;
    s->op = 0;
}

/* One byte on the wire while chip select is asserted: @p in on MOSI;
 * returns MISO. */
static uint8_t flash_byte(struct spi *s, uint8_t in)
{
    uint32_t p = s->pos++;
    uint8_t out = 0xff;

    if (p == 0) {
        s->op = in;
        s->addr = 0;
        memset(s->page_set, 0, sizeof(s->page_set));
        /* busy: only status reads are heard */
        if ((s->status & ST_WIP) && in != OP_RDSR)
            s->op = 0;
        return out;
    }
    switch (s->op) {
    case OP_RDID: {
        const uint8_t id[3] = {0xef, 0x40, (uint8_t)log2u(s->size)};
        if (p <= 3)
            out = id[p - 1];
        break;
    }
    case OP_RDSR:
        if (p == 1 && (s->status & ST_WIP)) {
            if (s->busy_reads > 0)
                s->busy_reads--;
            else
                s->status &= (uint8_t) ~(ST_WIP | ST_WEL);
        }
        out = s->status;
        break;
    case OP_READ:
    case OP_PP:
    case OP_SE:
        if (p <= 3) {
            s->addr = (s->addr << 8 | in) & (s->size - 1u);
            break;
        }
        if (s->op == OP_READ) {
            out = s->mem[s->addr];
            s->addr = (s->addr + 1u) & (s->size - 1u);
        } else if (s->op == OP_PP) {
            /* the address wraps inside its page */
            uint32_t i = (s->addr + (p - 4u)) & (PAGE_BYTES - 1u);
            s->page[i] = s->page_set[i] ? (uint8_t)(s->page[i] & in) : in;
            s->page_set[i] = 1;
        }
        break;
    default: break;
    }
    return out;
}

static int flash_transfer(struct spi *s, const struct vdm_spi_transfer *t)
{
    uint32_t n = t->len;

    if (t->chip_select != 0 || t->bits_per_word != 8)
        return VDM_SPI_TRANS_ERR;
    if (t->tx != NULL)
        gather(t->tx, t->ntx, s->tx);
    else
        memset(s->tx, 0xff, n);
    for (uint32_t i = 0; i < n; i++)
        s->rx[i] = flash_byte(s, s->tx[i]);
    if (t->rx != NULL)
        scatter(t->rx, t->nrx, s->rx);
    if (t->cs_change)
        flash_end(s);
    return VDM_SPI_TRANS_OK;
}

/* ---- spidev passthrough ------------------------------------------------- */

static int spidev_transfer(struct vdev *d, struct spi *s,
                           const struct vdm_spi_transfer *t)
{
    struct spi_ioc_transfer x;
    uint32_t mode =
        t->mode & (SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_LSB_FIRST);

    if (t->mode & VDM_SPI_MODE_LOOP)
        mode |= SPI_LOOP;
    if (t->tx_nbits == 2)
        mode |= SPI_TX_DUAL;
    if (t->tx_nbits == 4)
        mode |= SPI_TX_QUAD;
    if (t->rx_nbits == 2)
        mode |= SPI_RX_DUAL;
    if (t->rx_nbits == 4)
        mode |= SPI_RX_QUAD;
    if (t->tx_nbits == 8)
        mode |= SPI_TX_OCTAL;
    if (t->rx_nbits == 8)
        mode |= SPI_RX_OCTAL;
    /* spi_setup() deasserts chip select: only on a change */
    if (mode != s->mode) {
        if (ioctl(s->fd, SPI_IOC_WR_MODE32, &mode) < 0) {
            vd_log(d, VDM_LOG_WARN, "spidev mode %#x: %s", mode,
                   strerror(errno));
            return VDM_SPI_TRANS_ERR;
        }
        s->mode = mode;
    }
    memset(&x, 0, sizeof(x));
    if (t->tx != NULL) {
        gather(t->tx, t->ntx, s->tx);
        x.tx_buf = (uintptr_t)s->tx;
    }
    if (t->rx != NULL)
        x.rx_buf = (uintptr_t)s->rx;
    x.len = t->len;
    x.speed_hz = t->freq;
    x.bits_per_word = t->bits_per_word;
    x.tx_nbits = t->tx_nbits;
    x.rx_nbits = t->rx_nbits;
    x.word_delay_usecs = (uint8_t)((t->word_delay_ns + 999u) / 1000u);
    x.delay_usecs = (uint16_t)((t->cs_hold_ns + 999u) / 1000u);
    x.cs_change = t->cs_change ? 0 : 1; /* see the top of the file */
    if (ioctl(s->fd, SPI_IOC_MESSAGE(1), &x) < 0) {
        vd_log(d, VDM_LOG_WARN, "spidev transfer: %s", strerror(errno));
        return VDM_SPI_TRANS_ERR;
    }
    if (t->rx != NULL)
        scatter(t->rx, t->nrx, s->rx);
    return VDM_SPI_TRANS_OK;
}

static int spi_transfer(void *host, const struct vdm_spi_transfer *t,
                        uintptr_t token)
{
    struct vdev *d = host;
    struct spi *s = d->priv;
    uint32_t res = s->is_flash ? (uint32_t)flash_transfer(s, t)
                               : (uint32_t)spidev_transfer(d, s, t);

    /* synchronous: complete from inside the hook */
    return vdm_spi_complete(&s->spi, token, res) == 0 ? 0 : VDM_EIO;
}

static const struct vdm_spi_ops spi_ops = {
    .size = sizeof(struct vdm_spi_ops),
    .transfer = spi_transfer,
};

static int open_flash(struct vdev *d, struct spi *s, const char *path,
                      unsigned long long size)
{
    struct stat st;

    s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0 || fstat(s->fd, &st) < 0) {
        vd_log(d, VDM_LOG_ERROR, "flash %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        uint8_t ff[SECTOR];
        memset(ff, 0xff, sizeof(ff));
        for (unsigned long long o = 0; o < size; o += SECTOR)
            if (pwrite(s->fd, ff, SECTOR, (off_t)o) != SECTOR) {
                vd_log(d, VDM_LOG_ERROR, "flash %s: %s", path, strerror(errno));
                return -1;
            }
    } else {
        size = (unsigned long long)st.st_size;
    }
    if (size < SECTOR || size > (1u << 24) || (size & (size - 1)) != 0) {
        vd_log(d, VDM_LOG_ERROR,
               "flash %s: size %llu is not a power of two in 4 KiB..16 MiB",
               path, size);
        return -1;
    }
    s->size = (uint32_t)size;
    s->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (s->mem == MAP_FAILED) {
        s->mem = NULL;
        vd_log(d, VDM_LOG_ERROR, "flash %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether the spidev node's controller takes mode bit @p bit: written
 * over @p base and read back. */
static int mode_takes(int fd, uint32_t base, uint32_t bit)
{
    uint32_t m = base | bit, back = 0;

    if (ioctl(fd, SPI_IOC_WR_MODE32, &m) < 0)
        return 0;
    return ioctl(fd, SPI_IOC_RD_MODE32, &back) == 0 && (back & bit) != 0;
}

/* What the controller behind the spidev node does, into @p c. */
static int spidev_probe(struct vdev *d, struct spi *s, const char *dev,
                        struct vdm_spi_config *c)
{
    static const struct {
        uint32_t bit;
        uint8_t tx, rx; /* n-bit support bits */
    } nb[] = {
        {SPI_TX_DUAL, VDM_SPI_NBITS_DUAL, 0},
        {SPI_TX_QUAD, VDM_SPI_NBITS_QUAD, 0},
        {SPI_TX_OCTAL, VDM_SPI_NBITS_OCTAL, 0},
        {SPI_RX_DUAL, 0, VDM_SPI_NBITS_DUAL},
        {SPI_RX_QUAD, 0, VDM_SPI_NBITS_QUAD},
        {SPI_RX_OCTAL, 0, VDM_SPI_NBITS_OCTAL},
    };
    uint32_t base = 0, hz = 0, func;
    uint8_t bpw = 0;
    unsigned long long bufsiz = 4096;
    FILE *fp;

    if (ioctl(s->fd, SPI_IOC_RD_MAX_SPEED_HZ, &hz) < 0 ||
        ioctl(s->fd, SPI_IOC_RD_MODE32, &base) < 0 ||
        ioctl(s->fd, SPI_IOC_RD_BITS_PER_WORD, &bpw) < 0) {
        vd_log(d, VDM_LOG_ERROR, "%s is not a spidev node: %s", dev,
               strerror(errno));
        return -1;
    }
    /* probe from a plain mode 0, single-wire */
    base &= ~(uint32_t)(SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_LSB_FIRST |
                        SPI_LOOP | SPI_TX_DUAL | SPI_TX_QUAD | SPI_TX_OCTAL |
                        SPI_RX_DUAL | SPI_RX_QUAD | SPI_RX_OCTAL);
    func = VDM_SPI_FUNC_CPHA_0 | VDM_SPI_FUNC_CPOL_0;
    func |= mode_takes(s->fd, base, SPI_CPHA) ? VDM_SPI_FUNC_CPHA_1 : 0u;
    func |= mode_takes(s->fd, base, SPI_CPOL) ? VDM_SPI_FUNC_CPOL_1 : 0u;
    func |= mode_takes(s->fd, base, SPI_CS_HIGH) ? VDM_SPI_FUNC_CS_HIGH : 0u;
    func |=
        mode_takes(s->fd, base, SPI_LSB_FIRST) ? VDM_SPI_FUNC_LSB_FIRST : 0u;
    func |= mode_takes(s->fd, base, SPI_LOOP) ? VDM_SPI_FUNC_LOOP : 0u;
    for (size_t i = 0; i < sizeof(nb) / sizeof(nb[0]); i++)
        if (mode_takes(s->fd, base, nb[i].bit)) {
            c->tx_nbits_supported |= nb[i].tx;
            c->rx_nbits_supported |= nb[i].rx;
        }
    if (ioctl(s->fd, SPI_IOC_WR_MODE32, &base) < 0) {
        vd_log(d, VDM_LOG_ERROR, "%s: mode %#x: %s", dev, base,
               strerror(errno));
        return -1;
    }
    s->mode = base;
    for (unsigned b = 1; b <= 32; b++) {
        uint8_t v = (uint8_t)b;
        if (ioctl(s->fd, SPI_IOC_WR_BITS_PER_WORD, &v) == 0)
            c->bits_per_word_mask |= 1u << (b - 1u);
    }
    (void)ioctl(s->fd, SPI_IOC_WR_BITS_PER_WORD, &bpw);
    if (c->bits_per_word_mask == 0u) {
        vd_log(d, VDM_LOG_ERROR, "%s takes no word size", dev);
        return -1;
    }
    fp = fopen(SPIDEV_BUFSIZ, "r");
    if (fp == NULL || fscanf(fp, "%llu", &bufsiz) != 1 || bufsiz == 0)
        vd_log(d, VDM_LOG_WARN, "%s unreadable: transfers up to %llu bytes",
               SPIDEV_BUFSIZ, bufsiz);
    if (fp != NULL)
        fclose(fp);
    c->max_len = bufsiz < XFER_MAX ? (uint32_t)bufsiz : XFER_MAX;
    c->mode_func_supported = func;
    c->max_freq_hz = hz;
    return 0;
}

static int spi_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_spi_config c = VDM_INIT(struct vdm_spi_config);
    const char *flash = vd_opt(o, "flash");
    const char *dev = vd_opt(o, "dev");
    const char *v;
    unsigned long long size = FLASH_DEF;
    struct spi *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->fd = -1;
    if ((flash == NULL) == (dev == NULL)) {
        vd_log(d, VDM_LOG_ERROR, "spi needs flash=PATH or dev=/dev/spidevB.C");
        return -1;
    }
    if ((v = vd_opt(o, "size")) != NULL &&
        vd_uint(v, SECTOR, 1u << 24, &size) < 0) {
        vd_log(d, VDM_LOG_ERROR, "size=%s: 4096..16777216 bytes", v);
        return -1;
    }
    c.cs_max_number = 1;
    c.max_len = XFER_MAX;
    c.ops = &spi_ops;
    c.host = d;
    if (flash != NULL) {
        s->is_flash = 1;
        if (open_flash(d, s, flash, size) < 0)
            return -1;
        c.cs_change_supported = 1;
        c.bits_per_word_mask = 1u << 7;
        c.mode_func_supported = VDM_SPI_FUNC_CPHA_0 | VDM_SPI_FUNC_CPHA_1 |
                                VDM_SPI_FUNC_CPOL_0 | VDM_SPI_FUNC_CPOL_1;
        c.max_freq_hz = 104000000;
    } else {
        s->fd = open(dev, O_RDWR | O_CLOEXEC);
        if (s->fd < 0) {
            vd_log(d, VDM_LOG_ERROR, "%s: %s", dev, strerror(errno));
            return -1;
        }
        if (spidev_probe(d, s, dev, &c) < 0)
            return -1;
        c.cs_change_supported = 1;
        c.max_word_delay_ns = 255000u;
        c.max_cs_hold_ns = 65535000u;
    }
    if (vd_alloc_queues(d, VDM_SPI_NUM_QUEUES, SPI_QSIZE) < 0)
        return -1;
    rc = vdm_spi_init(&s->spi, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "spi init: %s", vdm_strerror(rc));
        return -1;
    }
    if (s->is_flash)
        vd_log(d, VDM_LOG_INFO, "simulated SPI NOR flash %s, %u bytes", flash,
               s->size);
    else
        vd_log(d, VDM_LOG_INFO,
               "spidev %s, max %u Hz, modes %#x, n-bit tx %#x rx %#x, "
               "word sizes %#x, transfers up to %u bytes",
               dev, c.max_freq_hz, c.mode_func_supported, c.tx_nbits_supported,
               c.rx_nbits_supported, c.bits_per_word_mask, c.max_len);
    return 0;
}

/* A new front-end: the flash sees chip select deasserted. */
static void spi_disconnected(struct vdev *d)
{
    struct spi *s = d->priv;
    if (s->is_flash) {
        s->pos = 0;
        s->op = 0;
        msync(s->mem, s->size, MS_ASYNC);
    }
}

const struct vd_type vd_type_spi = {
    .name = "spi",
    .create = spi_create,
    .disconnected = spi_disconnected,
};
