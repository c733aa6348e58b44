/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the I2C adapter. One virtual bus with simulated chips,
 * optionally in front of a real Linux adapter:
 *
 *   eeprom=ADDR:MODEL:PATH   a 24c02 (256 bytes, 1 address byte) or 24c32
 *                            (4096 bytes, 2 address bytes) EEPROM backed by
 *                            PATH (created or padded with 0xff; every write
 *                            goes to the file at once)
 *   lm75=ADDR:PATH           an LM75 temperature sensor (registers temp,
 *                            conf, thyst, tos); the temperature in
 *                            millidegrees Celsius is read from PATH at each
 *                            temp read, or from the first line a PATH that is
 *                            executable prints
 *   adapter=/dev/i2c-N       pass the other addresses through to a Linux
 *   allow=ADDR[:ADDR...]     adapter, only these (required with adapter=);
 *                            I2C_RDWR when it can, else SMBus ioctls
 *
 * eeprom= and lm75= may be given several times. A transfer is run message
 * by message on the simulated chips (a message to nobody is NAKed and ends
 * it); a transfer for the adapter goes whole, as one combined transfer; a
 * transfer mixing both, or naming an address not allowed, fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/i2c.h"

#define I2C_QSIZE 64
#define MAXCHIPS  8
#define MSG_MAX   8192 /* largest message passed through (i2c-dev's limit) */

#define CHIP_EEPROM 1
#define CHIP_LM75   2

struct chip {
    int kind;
    uint16_t addr;
    /* eeprom */
    int fd;
    uint8_t *mem;
    uint32_t size, abytes;
    uint32_t ptr;
    /* lm75 */
    const char *path;
    uint8_t reg;
    uint8_t conf;
    uint16_t thyst, tos;
};

struct i2c {
    struct vdm_i2c i2c;
    struct chip chip[MAXCHIPS];
    unsigned nchips;
    int adapter;         /* fd or -1 */
    unsigned long funcs; /* I2C_FUNCS of the adapter */
    uint8_t allow[128];  /* 7-bit addresses passed through */
};

static struct chip *find(struct i2c *s, uint16_t addr, uint16_t flags)
{
    if (flags & VDM_I2C_MSG_TEN)
        return NULL;
    for (unsigned i = 0; i < s->nchips; i++)
        if (s->chip[i].addr == addr)
            return &s->chip[i];
    return NULL;
}

/* Flatten a message's spans (write) or scatter into them (read). */
static void flat_in(const struct vdm_i2c_msg *m, uint8_t *buf)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < m->niov; i++) {
        memcpy(buf + off, m->iov[i].base, m->iov[i].len);
        off += m->iov[i].len;
    }
}

static void flat_out(const struct vdm_i2c_msg *m, const uint8_t *buf)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < m->niov; i++) {
        memcpy(m->iov[i].base, buf + off, m->iov[i].len);
        off += m->iov[i].len;
    }
}

/* ---- simulated chips ---------------------------------------------------- */

/* 24cXX: a write sets the word address (1 or 2 bytes, big-endian) and
 * stores the rest, wrapping inside the page; a read goes on from the
 * address, wrapping around the memory. */
static int eeprom_msg(struct vdev *d, struct chip *c,
                      const struct vdm_i2c_msg *m, uint8_t *buf)
{
    uint32_t page = c->abytes == 1 ? 8 : 32;

    if (m->flags & VDM_I2C_MSG_RD) {
        for (uint32_t i = 0; i < m->len; i++) {
            buf[i] = c->mem[c->ptr];
            c->ptr = (c->ptr + 1) % c->size;
        }
        flat_out(m, buf);
        return 0;
    }
    flat_in(m, buf);
    if (m->len < c->abytes)
        return m->len == 0 ? 0 : -1; /* quick write: an ACK */
    c->ptr =
        (c->abytes == 1 ? buf[0] : (uint32_t)buf[0] << 8 | buf[1]) % c->size;
    if (m->len == c->abytes)
        return 0;
    for (uint32_t i = c->abytes; i < m->len; i++) {
        uint32_t base = c->ptr - c->ptr % page;
        c->mem[c->ptr] = buf[i];
        if (pwrite(c->fd, &buf[i], 1, c->ptr) != 1)
            vd_log(d, VDM_LOG_WARN, "eeprom write: %s", strerror(errno));
        c->ptr = base + (c->ptr + 1 - base) % page;
    }
    return 0;
}

/* Temperature in millidegrees from the file or the script's output. */
static long lm75_millic(struct vdev *d, struct chip *c)
{
    char line[64] = "";
    struct stat st;
    FILE *f;
    int script = stat(c->path, &st) == 0 && S_ISREG(st.st_mode) &&
                 (st.st_mode & 0111) != 0;

    f = script ? popen(c->path, "re") : fopen(c->path, "re");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL)
        vd_log(d, VDM_LOG_WARN, "lm75: no temperature from %s", c->path);
    if (f != NULL)
        script ? pclose(f) : fclose(f);
    return strtol(line, NULL, 0);
}

/* LM75 register: 9-bit two's complement, 0.5 degree steps, in the top bits
 * of a big-endian 16-bit word. */
static uint16_t lm75_word(long mc)
{
    long half = mc >= 0 ? mc / 500 : -((-mc + 499) / 500);
    if (half > 255)
        half = 255;
    if (half < -256)
        half = -256;
    return (uint16_t)((uint16_t)(int16_t)half << 7);
}

static int lm75_msg(struct vdev *d, struct chip *c, const struct vdm_i2c_msg *m,
                    uint8_t *buf)
{
    if (m->flags & VDM_I2C_MSG_RD) {
        uint16_t w = 0;
        switch (c->reg) {
        case 0: w = lm75_word(lm75_millic(d, c)); break;
        case 1: w = (uint16_t)(c->conf << 8 | c->conf); break;
        case 2: w = c->thyst; break;
        case 3: w = c->tos; break;
        }
        for (uint32_t i = 0; i < m->len; i++)
            buf[i] = (uint8_t)(i % 2 == 0 ? w >> 8 : w);
        flat_out(m, buf);
        return 0;
    }
    flat_in(m, buf);
    if (m->len == 0)
        return 0;
    if (buf[0] > 3)
        return -1;
    c->reg = buf[0];
    if (m->len >= 2 && c->reg == 1)
        c->conf = buf[1];
    else if (m->len >= 3 && c->reg == 2)
        c->thyst = (uint16_t)(buf[1] << 8 | buf[2]);
    else if (m->len >= 3 && c->reg == 3)
        c->tos = (uint16_t)(buf[1] << 8 | buf[2]);
    return 0;
}

/* ---- passthrough -------------------------------------------------------- */

static int allowed(const struct i2c *s, const struct vdm_i2c_msg *m)
{
    return !(m->flags & VDM_I2C_MSG_TEN) && m->addr < 128 && s->allow[m->addr];
}

/* I2C_RDWR: the messages as one combined transfer. */
static int pass_rdwr(struct i2c *s, const struct vdm_i2c_msg *msgs, uint32_t n)
{
    static uint8_t bufs[VDM_I2C_GROUP_MAX][MSG_MAX];
    struct i2c_msg im[VDM_I2C_GROUP_MAX];
    struct i2c_rdwr_ioctl_data rd = {im, n};

    for (uint32_t i = 0; i < n; i++) {
        if (msgs[i].len > MSG_MAX)
            return 0;
        im[i].addr = msgs[i].addr;
        im[i].flags = (msgs[i].flags & VDM_I2C_MSG_RD) ? I2C_M_RD : 0;
        im[i].len = (uint16_t)msgs[i].len;
        im[i].buf = bufs[i];
        if (!(msgs[i].flags & VDM_I2C_MSG_RD))
            flat_in(&msgs[i], bufs[i]);
    }
    if (ioctl(s->adapter, I2C_RDWR, &rd) < 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (msgs[i].flags & VDM_I2C_MSG_RD)
            flat_out(&msgs[i], bufs[i]);
    return (int)n;
}

static int smbus(int fd, uint8_t rw, uint8_t cmd, uint32_t size,
                 union i2c_smbus_data *data)
{
    struct i2c_smbus_ioctl_data a = {rw, cmd, size, data};
    return ioctl(fd, I2C_SMBUS, &a);
}

/* An adapter without plain I2C (e.g. i2c-stub): the transfer shapes the
 * SMBus protocols have, mapped back onto them. */
static int pass_smbus(struct i2c *s, const struct vdm_i2c_msg *m, uint32_t n)
{
    union i2c_smbus_data data;
    uint8_t w[I2C_SMBUS_BLOCK_MAX + 2];
    int rc = -1;

    if (ioctl(s->adapter, I2C_SLAVE, (unsigned long)m[0].addr) < 0)
        return 0;
    if (n == 1 && !(m[0].flags & VDM_I2C_MSG_RD)) {
        if (m[0].len > sizeof(w))
            return 0;
        flat_in(&m[0], w);
        if (m[0].len == 0)
            rc = smbus(s->adapter, I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, NULL);
        else if (m[0].len == 1)
            rc = smbus(s->adapter, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_BYTE, NULL);
        else if (m[0].len == 2) {
            data.byte = w[1];
            rc = smbus(s->adapter, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_BYTE_DATA,
                       &data);
        } else if (m[0].len == 3) {
            data.word = (uint16_t)(w[1] | w[2] << 8);
            rc = smbus(s->adapter, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_WORD_DATA,
                       &data);
        } else {
            data.block[0] = (uint8_t)(m[0].len - 1);
            memcpy(data.block + 1, w + 1, m[0].len - 1);
            rc = smbus(s->adapter, I2C_SMBUS_WRITE, w[0],
                       I2C_SMBUS_I2C_BLOCK_DATA, &data);
        }
    } else if (n == 1) {
        if (m[0].len == 0)
            rc = smbus(s->adapter, I2C_SMBUS_READ, 0, I2C_SMBUS_QUICK, NULL);
        else if (m[0].len == 1 && (rc = smbus(s->adapter, I2C_SMBUS_READ, 0,
                                              I2C_SMBUS_BYTE, &data)) >= 0)
            flat_out(&m[0], &data.byte);
    } else if (n == 2 && !(m[0].flags & VDM_I2C_MSG_RD) && m[0].len == 1 &&
               (m[1].flags & VDM_I2C_MSG_RD) && m[1].addr == m[0].addr &&
               m[1].len >= 1 && m[1].len <= I2C_SMBUS_BLOCK_MAX) {
        flat_in(&m[0], w);
        if (m[1].len == 1) {
            rc = smbus(s->adapter, I2C_SMBUS_READ, w[0], I2C_SMBUS_BYTE_DATA,
                       &data);
            w[1] = data.byte;
        } else if (m[1].len == 2) {
            rc = smbus(s->adapter, I2C_SMBUS_READ, w[0], I2C_SMBUS_WORD_DATA,
                       &data);
            w[1] = (uint8_t)data.word;
            w[2] = (uint8_t)(data.word >> 8);
        } else {
            data.block[0] = (uint8_t)m[1].len;
            rc = smbus(s->adapter, I2C_SMBUS_READ, w[0],
                       I2C_SMBUS_I2C_BLOCK_DATA, &data);
            memcpy(w + 1, data.block + 1, m[1].len);
        }
        if (rc >= 0)
            flat_out(&m[1], w + 1);
    }
    return rc < 0 ? 0 : (int)n;
}

/* ---- the transfer hook ------------------------------------------------- */

static int run(struct vdev *d, struct i2c *s, const struct vdm_i2c_msg *msgs,
               uint32_t n)
{
    static uint8_t buf[VDM_I2C_MSG_MAX];
    struct chip *c = find(s, msgs[0].addr, msgs[0].flags);

    if (c == NULL) {
        if (s->adapter < 0)
            return 0; /* nobody answers: NAK */
        for (uint32_t i = 0; i < n; i++)
            if (find(s, msgs[i].addr, msgs[i].flags) != NULL ||
                !allowed(s, &msgs[i])) {
                vd_log(d, VDM_LOG_INFO, "i2c: 0x%x not allowed", msgs[i].addr);
                return 0;
            }
        return (s->funcs & I2C_FUNC_I2C) ? pass_rdwr(s, msgs, n)
                                         : pass_smbus(s, msgs, n);
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc;
        c = find(s, msgs[i].addr, msgs[i].flags);
        if (c == NULL)
            return (int)i;
        rc = c->kind == CHIP_EEPROM ? eeprom_msg(d, c, &msgs[i], buf)
                                    : lm75_msg(d, c, &msgs[i], buf);
        if (rc < 0)
            return (int)i;
    }
    return (int)n;
}

static int i2c_transfer(void *host, const struct vdm_i2c_msg *msgs, uint32_t n,
                        void *token)
{
    struct vdev *d = host;
    struct i2c *s = d->priv;
    int done = run(d, s, msgs, n);

    if (vd_verbose >= 2)
        vd_log(d, VDM_LOG_DEBUG, "i2c: %u message(s) to 0x%x: %d done", n,
               msgs[0].addr, done);
    (void)vdm_i2c_complete(&s->i2c, token, done);
    return 0;
}

static const struct vdm_i2c_ops i2c_ops = {
    .size = sizeof(struct vdm_i2c_ops),
    .transfer = i2c_transfer,
};

/* ---- options ------------------------------------------------------------ */

static int parse_addr(const char *v, char **end)
{
    unsigned long a = strtoul(v, end, 0);
    return *end == v || a < 0x03 || a > 0x77 ? -1 : (int)a;
}

static int add_eeprom(struct vdev *d, struct i2c *s, const char *v)
{
    struct chip *c = &s->chip[s->nchips];
    char *end;
    int a = parse_addr(v, &end);
    struct stat st;

    if (a < 0 || *end != ':')
        return -1;
    v = end + 1;
    if (strncmp(v, "24c02:", 6) == 0) {
        c->size = 256;
        c->abytes = 1;
    } else if (strncmp(v, "24c32:", 6) == 0) {
        c->size = 4096;
        c->abytes = 2;
    } else
        return -1;
    c->kind = CHIP_EEPROM;
    c->addr = (uint16_t)a;
    c->mem = malloc(c->size);
    c->fd = open(v + 6, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->mem == NULL || c->fd < 0 || fstat(c->fd, &st) < 0) {
        vd_log(d, VDM_LOG_ERROR, "eeprom %s: %s", v + 6, strerror(errno));
        return -2;
    }
    memset(c->mem, 0xff, c->size);
    if (pread(c->fd, c->mem, c->size, 0) < 0 ||
        (st.st_size < c->size && pwrite(c->fd, c->mem, c->size, 0) < 0)) {
        vd_log(d, VDM_LOG_ERROR, "eeprom %s: %s", v + 6, strerror(errno));
        return -2;
    }
    s->nchips++;
    return 0;
}

static int add_lm75(struct i2c *s, const char *v)
{
    struct chip *c = &s->chip[s->nchips];
    char *end;
    int a = parse_addr(v, &end);

    if (a < 0 || *end != ':' || end[1] == '\0')
        return -1;
    c->kind = CHIP_LM75;
    c->addr = (uint16_t)a;
    c->path = end + 1;
    c->thyst = lm75_word(75000);
    c->tos = lm75_word(80000);
    s->nchips++;
    return 0;
}

static int i2c_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_i2c_config c = VDM_INIT(struct vdm_i2c_config);
    struct i2c *s = calloc(1, sizeof(*s));
    const char *adapter, *allow;
    int rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->adapter = -1;
    for (unsigned i = 0; i < o->n; i++) {
        int eeprom = strcmp(o->key[i], "eeprom") == 0;
        if (!eeprom && strcmp(o->key[i], "lm75") != 0)
            continue;
        o->used[i] = 1;
        if (s->nchips == MAXCHIPS) {
            vd_log(d, VDM_LOG_ERROR, "at most %d simulated chips", MAXCHIPS);
            return -1;
        }
        rc = eeprom ? add_eeprom(d, s, o->val[i]) : add_lm75(s, o->val[i]);
        if (rc == -1)
            vd_log(d, VDM_LOG_ERROR, "%s=%s: want %s", o->key[i], o->val[i],
                   eeprom ? "ADDR:24c02|24c32:PATH" : "ADDR:PATH");
        if (rc < 0)
            return -1;
        for (unsigned j = 0; j + 1 < s->nchips; j++)
            if (s->chip[j].addr == s->chip[s->nchips - 1].addr) {
                vd_log(d, VDM_LOG_ERROR, "two chips at 0x%x", s->chip[j].addr);
                return -1;
            }
    }
    adapter = vd_opt(o, "adapter");
    allow = vd_opt(o, "allow");
    if ((adapter == NULL) != (allow == NULL)) {
        vd_log(d, VDM_LOG_ERROR, "adapter= and allow= go together");
        return -1;
    }
    if (adapter != NULL) {
        char *list = strdup(allow), *save = NULL;
        for (char *t = strtok_r(list, ":", &save); t != NULL;
             t = strtok_r(NULL, ":", &save)) {
            char *end;
            int a = parse_addr(t, &end);
            if (a < 0 || *end != '\0') {
                vd_log(d, VDM_LOG_ERROR, "allow=%s: 7-bit addresses 0x03..0x77",
                       allow);
                free(list);
                return -1;
            }
            s->allow[a] = 1;
        }
        free(list);
        s->adapter = open(adapter, O_RDWR | O_CLOEXEC);
        if (s->adapter < 0 || ioctl(s->adapter, I2C_FUNCS, &s->funcs) < 0) {
            vd_log(d, VDM_LOG_ERROR, "%s: %s", adapter, strerror(errno));
            return -1;
        }
        vd_log(d, VDM_LOG_INFO, "%s: %s", adapter,
               (s->funcs & I2C_FUNC_I2C) ? "I2C_RDWR" : "SMBus only");
    }
    if (s->nchips == 0 && s->adapter < 0) {
        vd_log(d, VDM_LOG_ERROR,
               "i2c: give eeprom=, lm75= and/or adapter=,allow=");
        return -1;
    }
    if (vd_alloc_queues(d, VDM_I2C_NUM_QUEUES, I2C_QSIZE) < 0)
        return -1;
    c.ops = &i2c_ops;
    c.host = d;
    rc = vdm_i2c_init(&s->i2c, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "i2c init: %s", vdm_strerror(rc));
        return -1;
    }
    return 0;
}

const struct vd_type vd_type_i2c = {
    .name = "i2c",
    .create = i2c_create,
};
