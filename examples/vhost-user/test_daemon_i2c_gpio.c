/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: i2c (a simulated EEPROM and LM75) and gpio
 * (simulated lines and edges) on the multi-device daemon. */
#include "test_daemon.h"

/* ---- i2c: virtio_i2c_out_hdr (le16 addr << 1, le16 padding, le32 flags),
 * the buffer, virtio_i2c_in_hdr (u8 status). Request k: header at
 * BUF + 0x100 k, data at BUF + 0x1000 + 0x400 k, status at BUF + 0x80 + k. */

struct i2c_rq {
    uint16_t addr;
    uint32_t flags; /* 1 FAIL_NEXT, 2 M_RD */
    uint32_t len;   /* buffer bytes (0: a zero-length request) */
    const char *wdata;
    uint32_t hdr_len; /* 0: 8 */
};

static uint8_t *i2c_data(struct fe *f, unsigned k)
{
    return f->mem + BUF + 0x1000 + 0x400 * k;
}

/* Send @p n requests in one kick; status[k] gets each one's status. */
static void i2c_submit(struct fe *f, const struct i2c_rq *r, unsigned n,
                       uint8_t *status)
{
    for (unsigned k = 0; k < n; k++) {
        uint8_t *h = f->mem + BUF + 0x100 * k;
        uint64_t data = BUF + 0x1000 + 0x400 * k, st = BUF + 0x80 + k;
        struct drv_buf out[2] = {{BUF + 0x100 * k,
                                  r[k].hdr_len ? r[k].hdr_len : 8}},
                       in[2];
        unsigned nout = 1, nin = 0;
        uint16_t a = (uint16_t)(r[k].addr << 1), pad = 0;

        memcpy(h, &a, 2);
        memcpy(h + 2, &pad, 2);
        memcpy(h + 4, &r[k].flags, 4);
        memset(i2c_data(f, k), 0xee, 0x400);
        f->mem[st] = 0xee;
        if (r[k].len != 0 && (r[k].flags & 2))
            in[nin++] = (struct drv_buf){data, r[k].len};
        else if (r[k].len != 0) {
            memcpy(i2c_data(f, k), r[k].wdata, r[k].len);
            out[nout++] = (struct drv_buf){data, r[k].len};
        }
        in[nin++] = (struct drv_buf){st, 1};
        add(f, 0, out, nout, in, nin, k);
    }
    kick(f, 0);
    wait_used_n(f, 0, n, NULL);
    for (unsigned k = 0; k < n; k++)
        status[k] = f->mem[BUF + 0x80 + k];
}

START_TEST(serves_i2c_eeprom_and_lm75)
{
    struct daemon dm;
    struct fe f;
    uint8_t st[3];
    uint8_t file[256];
    int fd;

    start_daemon(&dm);
    fe_open_feat(&f, dm.i2c_sock, 1, MEM_SIZE, 1ull << 0 /* ZERO_LENGTH */);
    ck_assert_uint_eq(fe_u64(&f.v, VDM_VHOST_USER_GET_QUEUE_NUM), 1);
    {
        /* Word address 0x10, then 4 bytes: the file's bytes. */
        const struct i2c_rq r[2] = {{0x50, 1, 1, "\x10", 0},
                                    {0x50, 2, 4, 0, 0}};
        i2c_submit(&f, r, 2, st);
        ck_assert_uint_eq(st[0], 0);
        ck_assert_uint_eq(st[1], 0);
        for (unsigned i = 0; i < 4; i++)
            ck_assert_uint_eq(i2c_data(&f, 1)[i], pat(0x10 + i));
        ck_assert_uint_eq(i2c_data(&f, 1)[4], 0xee); /* nothing beyond */
    }
    {
        /* Write 3 bytes at 0x20 (inside one 8-byte page): in the file. */
        const struct i2c_rq r[1] = {{0x50, 0, 4, "\x20xyz", 0}};
        i2c_submit(&f, r, 1, st);
        ck_assert_uint_eq(st[0], 0);
    }
    {
        /* LM75 temperature register: 25.5 C = 0x1980, big-endian. */
        const struct i2c_rq r[2] = {{0x48, 1, 1, "\x00", 0},
                                    {0x48, 2, 2, 0, 0}};
        i2c_submit(&f, r, 2, st);
        ck_assert_uint_eq(st[0] | st[1], 0);
        ck_assert_uint_eq(i2c_data(&f, 1)[0], 0x19);
        ck_assert_uint_eq(i2c_data(&f, 1)[1], 0x80);
    }
    {
        /* Zero-length: present ACKs, absent NAKs. */
        const struct i2c_rq r[2] = {{0x50, 0, 0, 0, 0}, {0x33, 0, 0, 0, 0}};
        i2c_submit(&f, r, 2, st);
        ck_assert_uint_eq(st[0], 0);
        ck_assert_uint_eq(st[1], 1);
    }
    {
        /* A group whose first message nobody answers fails whole. */
        const struct i2c_rq r[2] = {{0x33, 1, 1, "\x00", 0},
                                    {0x50, 2, 2, 0, 0}};
        i2c_submit(&f, r, 2, st);
        ck_assert_uint_eq(st[0], 1);
        ck_assert_uint_eq(st[1], 1);
    }
    {
        /* Hostile: a 7-byte header fails alone; the next request works. */
        const struct i2c_rq r[2] = {{0x50, 0, 1, "\x20", 7},
                                    {0x50, 2, 3, 0, 0}};
        uint8_t st1[1];
        i2c_submit(&f, r, 1, st1);
        ck_assert_uint_eq(st1[0], 1);
        i2c_submit(&f, r + 1, 1, st1);
        ck_assert_uint_eq(st1[0], 0);
    }
    {
        /* Read back what was written (pointer set by a write of 0x20). */
        const struct i2c_rq r[2] = {{0x50, 1, 1, "\x20", 0},
                                    {0x50, 2, 3, 0, 0}};
        i2c_submit(&f, r, 2, st);
        ck_assert_uint_eq(st[0] | st[1], 0);
        ck_assert_mem_eq(i2c_data(&f, 1), "xyz", 3);
    }
    fe_close(&f);
    fd = open(dm.eeprom, O_RDONLY);
    ck_assert_int_eq(pread(fd, file, 256, 0), 256);
    close(fd);
    for (unsigned i = 0; i < 256; i++)
        ck_assert_uint_eq(file[i], i >= 0x20 && i < 0x23
                                       ? (uint8_t) "xyz"[i - 0x20]
                                       : pat(i));
    ck_assert(alive(&dm));
    stop_daemon(&dm);
}
END_TEST

/* ---- gpio: virtio_gpio_request (le16 type, le16 gpio, le32 value) at BUF,
 * the response at BUF + 0x200; irq request (le16 gpio) at BUF + 0x800 + 8 L,
 * its response (u8 status) at BUF + 0xa00 + L. */

static uint32_t gpio_rq(struct fe *f, uint16_t type, uint16_t line,
                        uint32_t value, uint32_t resp_len)
{
    struct drv_buf out = {BUF, 8}, in = {BUF + 0x200, resp_len};
    memcpy(f->mem + BUF, &type, 2);
    memcpy(f->mem + BUF + 2, &line, 2);
    memcpy(f->mem + BUF + 4, &value, 4);
    memset(f->mem + BUF + 0x200, 0xee, 64);
    add(f, 0, &out, 1, &in, 1, 0);
    kick(f, 0);
    return wait_used(f, 0);
}

/* Queue an event buffer for @p line; its status byte (and cookie) is
 * @p slot. */
static void gpio_arm(struct fe *f, uint16_t line, unsigned slot)
{
    struct drv_buf out = {BUF + 0x800 + 8u * slot, 2},
                   in = {BUF + 0xa00 + slot, 1};
    memcpy(f->mem + BUF + 0x800 + 8u * slot, &line, 2);
    f->mem[BUF + 0xa00 + slot] = 0xee;
    add(f, 1, &out, 1, &in, 1, slot);
}

static void state_line(const struct daemon *dm, int n, char *line, size_t cap)
{
    FILE *sf = fopen(dm->gstate, "r");
    ck_assert_ptr_nonnull(sf);
    for (int i = 0; i <= n; i++)
        ck_assert_ptr_nonnull(fgets(line, (int)cap, sf));
    fclose(sf);
    line[strcspn(line, "\n")] = '\0';
}

START_TEST(serves_gpio_lines_and_edges)
{
    struct daemon dm;
    struct fe f;
    uint8_t *r;
    char line[64];
    uintptr_t ids[2];

    start_daemon(&dm);
    fe_open_feat(&f, dm.gpio_sock, 2, MEM_SIZE, 1ull << 0 /* F_IRQ */);
    r = f.mem + BUF + 0x200;
    {
        /* Config: ngpio 4, names "LED\0BTN\0\0IRQ\0" = 13 bytes. */
        uint8_t c[12 + 8];
        uint32_t hdr[3] = {0, 8, 0};
        memcpy(c, hdr, 12);
        memset(c + 12, 0, 8);
        fe_send(&f.v, VDM_VHOST_USER_GET_CONFIG, 0, c, sizeof(c), NULL, 0);
        ck_assert_uint_eq(
            fe_recv(&f.v, VDM_VHOST_USER_GET_CONFIG, c, sizeof(c)), sizeof(c));
        ck_assert_uint_eq(c[12] | c[13] << 8, 4);
        ck_assert_uint_eq(c[16] | c[17] << 8, 13);
    }
    ck_assert_uint_eq(gpio_rq(&f, 1 /* GET_LINE_NAMES */, 0, 0, 14), 14);
    ck_assert_mem_eq(r, "\0LED\0BTN\0\0IRQ\0", 14);
    ck_assert_uint_eq(gpio_rq(&f, 2 /* GET_DIRECTION */, 1, 0, 2), 2);
    ck_assert_mem_eq(r, "\0\2", 2); /* in */
    ck_assert_uint_eq(gpio_rq(&f, 4 /* GET_VALUE */, 1, 0, 2), 2);
    ck_assert_mem_eq(r, "\0\1", 2);
    /* LED: value 1, then output; the state file shows it. */
    ck_assert_uint_eq(gpio_rq(&f, 5 /* SET_VALUE */, 0, 1, 2), 2);
    ck_assert_uint_eq(gpio_rq(&f, 3 /* SET_DIRECTION */, 0, 1, 2), 2);
    ck_assert_mem_eq(r, "\0\0", 2);
    state_line(&dm, 0, line, sizeof(line));
    ck_assert_str_eq(line, "LED out 1");
    ck_assert_uint_eq(gpio_rq(&f, 4, 0, 0, 2), 2);
    ck_assert_mem_eq(r, "\0\1", 2);
    /* Line out of range: ERR, value 0. */
    ck_assert_uint_eq(gpio_rq(&f, 4, 4, 0, 2), 2);
    ck_assert_mem_eq(r, "\1\0", 2);
    /* Hostile: a 3-byte response buffer: ERR in the first two. */
    ck_assert_uint_eq(gpio_rq(&f, 4, 1, 0, 3), 2);
    ck_assert_mem_eq(r, "\1\0\xee", 3);
    /* An event buffer before the interrupt is enabled: INVALID at once. */
    gpio_arm(&f, 3, 0);
    kick(&f, 1);
    ck_assert_uint_eq(wait_used(&f, 1), 1);
    ck_assert_uint_eq(f.mem[BUF + 0xa00], 0);
    /* IRQ: input, rising edge, a buffer; the daemon's events file then
     * raises the line once the buffer is there (wait-armed): VALID. */
    ck_assert_uint_eq(gpio_rq(&f, 3, 3, 2 /* in */, 2), 2);
    ck_assert_uint_eq(gpio_rq(&f, 6 /* SET_IRQ_TYPE */, 3, 1, 2), 2);
    ck_assert_mem_eq(r, "\0\0", 2);
    gpio_arm(&f, 3, 1);
    kick(&f, 1);
    wait_used_n(&f, 1, 1, ids);
    ck_assert_uint_eq(ids[0], 1);
    ck_assert_uint_eq(f.mem[BUF + 0xa01], 1);
    ck_assert_uint_eq(gpio_rq(&f, 4, 3, 0, 2), 2);
    ck_assert_mem_eq(r, "\0\1", 2);
    /* Hostile: a second buffer for the line while one waits goes back
     * INVALID; the first stays until the interrupt is disabled. */
    gpio_arm(&f, 3, 2);
    gpio_arm(&f, 3, 3);
    kick(&f, 1);
    wait_used_n(&f, 1, 1, ids);
    ck_assert_uint_eq(ids[0], 3);
    ck_assert_uint_eq(f.mem[BUF + 0xa03], 0);
    ck_assert_uint_eq(f.mem[BUF + 0xa02], 0xee);
    ck_assert_uint_eq(gpio_rq(&f, 6, 3, 0 /* NONE */, 2), 2);
    wait_used_n(&f, 1, 1, ids);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(f.mem[BUF + 0xa02], 0);
    state_line(&dm, 3, line, sizeof(line));
    ck_assert_str_eq(line, "IRQ in 1");
    fe_close(&f);
    ck_assert(alive(&dm));
    stop_daemon(&dm);
}
END_TEST

void td_add_i2c_gpio(Suite *s)
{
    TD_ADD(s, serves_i2c_eeprom_and_lm75);
    TD_ADD(s, serves_gpio_lines_and_edges);
}
