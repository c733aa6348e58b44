/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: spi: a simulated NOR flash (JEDEC id, page
 * program, read back, sector erase, a restart) and spidev passthrough where the
 * host has one. */
#include "test_daemon.h"

/* ---- spi: a daemon of its own serving a simulated SPI NOR flash on a
 * file. A flash command lasts while chip select is asserted: transfers
 * with cs_change 0 keep it asserted into the next one, cs_change 1 ends
 * the command (spec "Device Operation: Request Queue"). */

#define SP_FLASH (1u << 20)

/* One transfer on chip select @p cs: @p txlen bytes of @p tx out (none:
 * half-duplex read), @p rxlen bytes into @p rx (none: half-duplex write).
 * @return the result byte. */
static uint8_t sp_xfer(struct fe *f, uint8_t cs, uint8_t cs_change,
                       const uint8_t *tx, uint32_t txlen, uint8_t *rx,
                       uint32_t rxlen)
{
    struct drv_buf o[2], w[2];
    unsigned no = 0, nw = 0;
    uint8_t *head = f->mem + BUF;
    uint64_t txa = BUF + 64, rxa = BUF + 0x2000, ra = BUF + 0x4000;
    uint32_t len;

    memset(head, 0, 32);
    head[0] = cs;
    head[1] = 8;
    head[2] = cs_change;
    head[12] = 0x40; /* 1 MHz, le32 */
    head[13] = 0x42;
    head[14] = 0x0f;
    o[no++] = (struct drv_buf){BUF, 32};
    if (txlen) {
        memcpy(f->mem + txa, tx, txlen);
        o[no++] = (struct drv_buf){txa, txlen};
    }
    if (rxlen) {
        memset(f->mem + rxa, 0xee, rxlen);
        w[nw++] = (struct drv_buf){rxa, rxlen};
    }
    f->mem[ra] = 0xee;
    w[nw++] = (struct drv_buf){ra, 1};
    add(f, 0, o, no, w, nw, 1);
    kick(f, 0);
    len = wait_used(f, 0);
    if (f->mem[ra] == 0)
        ck_assert_uint_eq(len, rxlen + 1);
    else
        ck_assert_uint_eq(len, 1);
    if (rxlen)
        memcpy(rx, f->mem + rxa, rxlen);
    return f->mem[ra];
}

/* A one-transfer command, full duplex: @p n bytes out and back. */
static void sp_cmd(struct fe *f, const uint8_t *tx, uint8_t *rx, uint32_t n)
{
    ck_assert_uint_eq(sp_xfer(f, 0, 1, tx, n, rx, n), 0);
}

static uint8_t sp_status(struct fe *f)
{
    uint8_t tx[2] = {0x05, 0}, rx[2];
    sp_cmd(f, tx, rx, 2);
    return rx[1];
}

static void sp_wren(struct fe *f)
{
    uint8_t tx[1] = {0x06}, rx[1];
    sp_cmd(f, tx, rx, 1);
    ck_assert_uint_eq(sp_status(f) & 3, 2); /* WEL */
}

/* Wait out a program or erase: WIP shows, then clears with WEL. */
static void sp_wait(struct fe *f)
{
    ck_assert_uint_eq(sp_status(f) & 3, 3);
    ck_assert_uint_eq(sp_status(f) & 3, 0);
}

/* Opcode + 24-bit address (cs_change 0), then @p n data bytes: written
 * from @p data (half-duplex write) or read into @p data (half-duplex
 * read), ending the command. */
static void sp_addr_cmd(struct fe *f, uint8_t op, uint32_t addr, uint8_t *data,
                        uint32_t n, int rd)
{
    uint8_t c[4] = {op, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                    (uint8_t)addr};
    ck_assert_uint_eq(sp_xfer(f, 0, n ? 0 : 1, c, 4, NULL, 0), 0);
    if (n && rd)
        ck_assert_uint_eq(sp_xfer(f, 0, 1, NULL, 0, data, n), 0);
    else if (n)
        ck_assert_uint_eq(sp_xfer(f, 0, 1, data, n, NULL, 0), 0);
}

static void sp_file(const char *file, uint32_t off, uint8_t *buf, uint32_t n)
{
    int fd = open(file, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, n, off), (ssize_t)n);
    close(fd);
}

START_TEST(serves_spi_nor_flash)
{
    char dir[96], sock[128], file[128], spec[256];
    uint8_t a[256], b[256], got[256], disk[256];
    struct fe f;
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/spi.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/spi.sock", dir);
    snprintf(file, sizeof(file), "%s/flash.img", dir);
    snprintf(spec, sizeof(spec), "spi,flash=%s,size=%u", file, SP_FLASH);
    for (unsigned i = 0; i < 256; i++) {
        a[i] = (uint8_t)(i * 13 + 5);
        b[i] = (uint8_t) ~(i * 7);
    }

    pid = sp_start(sock, spec);
    fe_open(&f, sock, 1, MEM_SIZE);
    {
        uint8_t cfg[32];
        ck_assert_int_eq(vu_front_config(&f.v, VDM_VHOST_USER_GET_CONFIG, 0, 0,
                                         32, NULL, 32),
                         0);
        ck_assert_int_eq(vu_front_recv(&f.v, VDM_VHOST_USER_GET_CONFIG),
                         12 + 32);
        memcpy(cfg, f.v.reply + VDM_VHOST_USER_HDR_BYTES + 12, 32);
        ck_assert_uint_eq(cfg[0], 1);    /* cs_max_number */
        ck_assert_uint_eq(cfg[1], 1);    /* cs_change_supported */
        ck_assert_uint_eq(cfg[4], 0x80); /* 8 bits per word */
        ck_assert_uint_eq(cfg[8], 0x0f); /* modes 0..3 */
    }
    /* JEDEC id: full duplex, one transfer */
    {
        uint8_t tx[4] = {0x9f, 0, 0, 0}, rx[4];
        sp_cmd(&f, tx, rx, 4);
        ck_assert_uint_eq(rx[1], 0xef);
        ck_assert_uint_eq(rx[2], 0x40);
        ck_assert_uint_eq(rx[3], 20); /* 1 MiB = 2^20 */
    }
    /* a fresh flash reads erased */
    sp_addr_cmd(&f, 0x03, 0x1000, got, 256, 1);
    for (unsigned i = 0; i < 256; i++)
        ck_assert_uint_eq(got[i], 0xff);
    /* page program needs write enable */
    sp_addr_cmd(&f, 0x02, 0x1000, a, 256, 0);
    ck_assert_uint_eq(sp_status(&f), 0);
    sp_addr_cmd(&f, 0x03, 0x1000, got, 256, 1);
    ck_assert_uint_eq(got[0], 0xff);
    /* program two pages, read back byte-exact, and in the file */
    sp_wren(&f);
    sp_addr_cmd(&f, 0x02, 0x1000, a, 256, 0);
    sp_wait(&f);
    sp_wren(&f);
    sp_addr_cmd(&f, 0x02, 0x1100, b, 256, 0);
    sp_wait(&f);
    sp_addr_cmd(&f, 0x03, 0x1000, got, 256, 1);
    ck_assert_mem_eq(got, a, 256);
    sp_addr_cmd(&f, 0x03, 0x1100, got, 256, 1);
    ck_assert_mem_eq(got, b, 256);
    sp_file(file, 0x1000, disk, 256);
    ck_assert_mem_eq(disk, a, 256);
    sp_file(file, 0x1100, disk, 256);
    ck_assert_mem_eq(disk, b, 256);
    /* a read across the page boundary */
    sp_addr_cmd(&f, 0x03, 0x10f0, got, 32, 1);
    ck_assert_mem_eq(got, a + 0xf0, 16);
    ck_assert_mem_eq(got + 16, b, 16);
    /* programming again only clears bits: a & b */
    sp_wren(&f);
    sp_addr_cmd(&f, 0x02, 0x1000, b, 256, 0);
    sp_wait(&f);
    sp_addr_cmd(&f, 0x03, 0x1000, got, 256, 1);
    for (unsigned i = 0; i < 256; i++)
        ck_assert_uint_eq(got[i], (uint8_t)(a[i] & b[i]));
    /* sector erase: the 4 KiB sector goes back to 0xFF, the next stays */
    sp_wren(&f);
    sp_wren(&f);
    {
        uint8_t c[4] = {0x20, 0x00, 0x10, 0x80};
        ck_assert_uint_eq(sp_xfer(&f, 0, 1, c, 4, NULL, 0), 0);
    }
    sp_wait(&f);
    sp_addr_cmd(&f, 0x03, 0x1000, got, 256, 1);
    for (unsigned i = 0; i < 256; i++)
        ck_assert_uint_eq(got[i], 0xff);
    sp_file(file, 0x1100, disk, 256);
    for (unsigned i = 0; i < 256; i++)
        ck_assert_uint_eq(disk[i], 0xff);
    /* after erase, program writes the pattern exactly */
    sp_wren(&f);
    sp_addr_cmd(&f, 0x02, 0x1100, b, 256, 0);
    sp_wait(&f);
    sp_addr_cmd(&f, 0x03, 0x1100, got, 256, 1);
    ck_assert_mem_eq(got, b, 256);
    /* the device refuses what the configuration does not allow */
    {
        uint8_t tx[2] = {0x05, 0}, rx[2];
        ck_assert_uint_eq(sp_xfer(&f, 1, 1, tx, 2, rx, 2), 1); /* cs 1 */
        ck_assert_uint_eq(sp_xfer(&f, 0, 1, tx, 2, rx, 1), 1); /* lengths */
    }
    fe_close(&f);
    rp_stop(pid);

    /* restart on the same file: the data persisted */
    pid = sp_start(sock, spec);
    fe_open(&f, sock, 1, MEM_SIZE);
    sp_addr_cmd(&f, 0x03, 0x1100, got, 256, 1);
    ck_assert_mem_eq(got, b, 256);
    fe_close(&f);
    rp_stop(pid);
}
END_TEST

/* spidev passthrough: only where the host has a spidev node. */
START_TEST(serves_spidev_if_present)
{
    char dir[96], sock[128], spec[400];
    const char *node = NULL;
    DIR *dv = opendir("/dev");
    struct dirent *e;
    static char path[300];
    struct fe f;
    pid_t pid;

    while (dv != NULL && (e = readdir(dv)) != NULL)
        if (strncmp(e->d_name, "spidev", 6) == 0 && node == NULL) {
            snprintf(path, sizeof(path), "/dev/%s", e->d_name);
            node = path;
        }
    if (dv != NULL)
        closedir(dv);
    if (node == NULL || access(node, R_OK | W_OK) != 0) {
        fprintf(stderr, "serves_spidev_if_present: no usable spidev node, "
                        "skipped\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/spidev.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/spi.sock", dir);
    snprintf(spec, sizeof(spec), "spi,dev=%s", node);
    pid = sp_start(sock, spec);
    fe_open(&f, sock, 1, MEM_SIZE);
    {
        uint8_t tx[4] = {0x9f, 0, 0, 0}, rx[4];
        uint8_t r = sp_xfer(&f, 0, 1, tx, 4, rx, 4);
        ck_assert(r == 0 || r == 2); /* whatever is on the bus */
    }
    fe_close(&f);
    rp_stop(pid);
}
END_TEST

void td_add_spi(Suite *s)
{
    TD_ADD(s, serves_spi_nor_flash);
    TD_ADD(s, serves_spidev_if_present);
}
