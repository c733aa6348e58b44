/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed corpus generator: writes small inputs for every fuzz target into
 * DIR/<target>/ (usage: gen_corpus DIR). The seeds are valid bring-ups
 * and traffic, as the driver simulator (tests/driver) and the register-
 * level driver helpers (tests/unit/support drv_mmio, drv_pci) perform
 * them, plus a few classic hostile cases, so the fuzzers start deep in
 * the state space.
 *
 * The MMIO and PCI seeds are recorded: the generator runs the real
 * drv_tp bring-up against a real device and transport and records every
 * register access it makes (the library's register entry points are
 * wrapped with the linker's --wrap), in the target's input format; the
 * traffic ops are executed through the same fuzz_dev.c code the target
 * uses, so a replay takes the same path.
 *
 * Hosted test code, not part of the library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drv.h"
#include "drv_mmio.h"
#include "drv_pci.h"
#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/devices/blk.h"
#include "vdm/devices/gpu.h"
#include "vdm/devices/input.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/vfio_user.h"
#include "vdm/vhost_user.h"
#include "vu_front.h"

static const char *outdir;
static struct fz_out O;
static unsigned nseeds;

static void start(void)
{
    O.n = 0;
}

static void save(const char *target, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(O.buf, 1, O.n, f) != O.n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    nseeds++;
}

/* ------------------------------------------------------------------------ */
/* dev_op encoders (fuzz_format.h)                                          */
/* ------------------------------------------------------------------------ */

struct part {
    uint16_t len;
    int write;
};

/* DEV_OP_BUF with fresh memory for every part; payload per device kind. */
static void e_buf(struct fz_out *o, unsigned q, const uint16_t *outl,
                  unsigned nout, const uint16_t *inl, unsigned nin, int mode)
{
    fo_u8(o, DEV_OP_BUF);
    fo_u8(o, q);
    fo_u8(o, nout);
    fo_u8(o, nin);
    fo_u8(o, mode);
    for (unsigned i = 0; i < nout; i++) {
        fo_u16(o, outl[i]);
        fo_u8(o, FM_SEL_AUTO);
    }
    for (unsigned i = 0; i < nin; i++) {
        fo_u16(o, inl[i]);
        fo_u8(o, FM_SEL_AUTO);
    }
}

static void e_blk_req(struct fz_out *o, uint32_t type, uint64_t sector,
                      unsigned nseg, const uint8_t *segs)
{
    fo_u32(o, type);
    fo_u64(o, sector);
    fo_u8(o, nseg);
    fo_bytes(o, segs, 16u * nseg);
}

static void e_kick(struct fz_out *o, unsigned q)
{
    fo_u8(o, DEV_OP_KICK);
    fo_u8(o, q | 0x80);
}

static void e_reap(struct fz_out *o, unsigned q)
{
    fo_u8(o, DEV_OP_REAP);
    fo_u8(o, q);
}

static void e_host(struct fz_out *o, unsigned act, uint32_t arg)
{
    fo_u8(o, DEV_OP_HOST);
    fo_u8(o, act);
    fo_u32(o, arg);
}

/* A block request on queue q: header (+ data out) readable, (data in +)
 * status writable. */
static void e_blk(struct fz_out *o, unsigned q, uint32_t type, uint64_t sector,
                  uint16_t data, int mode)
{
    uint16_t outl[2] = {16, data}, inl[2] = {data, 1};
    if (type == VDM_BLK_T_OUT)
        e_buf(o, q, outl, 2, inl + 1, 1, mode);
    else if (type == VDM_BLK_T_IN || type == VDM_BLK_T_GET_ID)
        e_buf(o, q, outl, 1, inl, 2, mode);
    else
        e_buf(o, q, outl, 1, inl + 1, 1, mode);
    e_blk_req(o, type, sector, 0, NULL);
}

static void e_blk_segs(struct fz_out *o, unsigned q, uint32_t type,
                       unsigned nseg, const uint8_t *segs)
{
    uint16_t outl[1] = {(uint16_t)(16 + 16 * nseg)}, inl[1] = {1};
    e_buf(o, q, outl, 1, inl, 1, 0);
    e_blk_req(o, type, 0, nseg, segs);
}

/* A mix of block traffic, each op prefixed with @p pre (the target's op
 * byte for "dev op"), or nothing when pre < 0. */
static void blk_traffic(struct fz_out *o, int pre, unsigned q, int mode)
{
    uint8_t segs[32] = {0};
#define P()                                                                    \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
    P();
    e_blk(o, q, VDM_BLK_T_OUT, 2, 1024, mode);
    P();
    e_blk(o, q, VDM_BLK_T_IN, 2, 1024, mode);
    P();
    e_blk(o, q, VDM_BLK_T_GET_ID, 0, 20, mode);
    P();
    e_blk(o, q, VDM_BLK_T_FLUSH, 0, 0, mode);
    P();
    e_blk(o, q, 99, 0, 0, mode);
    P();
    e_blk(o, q, VDM_BLK_T_IN, 63, 1024, mode); /* runs past the end */
    drv_put_le64(segs, 4);
    drv_put_le32(segs + 8, 8);
    drv_put_le64(segs + 16, 20);
    drv_put_le32(segs + 24, 2);
    drv_put_le32(segs + 28, VDM_BLK_SEG_F_UNMAP);
    P();
    e_blk_segs(o, q, VDM_BLK_T_DISCARD, 1, segs);
    P();
    e_blk_segs(o, q, VDM_BLK_T_WRITE_ZEROES, 2, segs);
    P();
    e_kick(o, q);
    P();
    e_host(o, 0, 0x00010000); /* one completes with IOERR */
    P();
    e_host(o, 1, 0); /* the rest OK */
    P();
    e_host(o, 4, q); /* process (kick mode) */
    P();
    e_host(o, 1, 0);
    P();
    e_reap(o, q);
    P();
    e_host(o, 3, 1); /* complete inside the host call */
    P();
    e_blk(o, q, VDM_BLK_T_IN, 0, 512, mode);
    P();
    e_kick(o, q);
    P();
    e_host(o, 4, q);
    P();
    e_reap(o, q);
    P();
    e_host(o, 2, 32); /* capacity change */
#undef P
}

/* One i2c request: header (7-bit addr << 1, flags), @p n data bytes out
 * (write) or @p n + status in (read). */
static void e_i2c(struct fz_out *o, int pre, uint16_t addr, uint32_t flags,
                  uint8_t n)
{
    uint16_t outl[2] = {8, n}, inl[2] = {n, 1};
    int rd = (flags & 2u) != 0;
    uint8_t hdr[8] = {
        (uint8_t)addr, (uint8_t)(addr >> 8), 0, 0, (uint8_t)flags, 0, 0, 0};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    if (rd)
        e_buf(o, 0, outl, 1, inl, n ? 2 : 1, 0);
    else
        e_buf(o, 0, outl, n ? 2 : 1, inl + 1, 1, 0);
    fo_u8(o, rd ? 0 : n);
    fo_bytes(o, hdr, 8);
    for (uint8_t i = 0; !rd && i < n; i++)
        fo_u8(o, i);
}

static void i2c_traffic(struct fz_out *o, int pre)
{
    e_i2c(o, pre, 0xa0, 1, 1);   /* write register, FAIL_NEXT */
    e_i2c(o, pre, 0xa0, 2, 8);   /* read 8: ends the group */
    e_i2c(o, pre, 0x90, 0, 0);   /* zero-length write */
    e_i2c(o, pre, 0x90, 2, 0);   /* zero-length read */
    e_i2c(o, pre, 0xa5f4, 0, 2); /* 10-bit */
    e_i2c(o, pre, 0xa1, 4, 1);   /* bad address, reserved flag */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 1, 2); /* complete a kept transfer */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
}

/* One rpmb request (fuzz/dev_rpmb.c): @p nout 512-byte frames out, @p nin
 * in; sel picks the type and the frame shape, signed when bit 5 is set. */
static void e_rpmb(struct fz_out *o, int pre, uint8_t sel, uint16_t addr,
                   uint8_t count, unsigned nin)
{
    uint16_t outl[2] = {512, 512}, inl[4] = {512, 512, 512, 512};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, outl, (sel & 8u) ? 2 : 1, inl, nin, 0);
    fo_u8(o, sel);
    fo_u16(o, addr);
    fo_u8(o, count);
    fo_u8(o, 0x33); /* data seed */
}

static void rpmb_traffic(struct fz_out *o, int pre)
{
    e_rpmb(o, pre, 0x19, 0, 1, 1);    /* program key + result read */
    e_rpmb(o, pre, 0x02, 0, 1, 1);    /* get counter */
    e_rpmb(o, pre, 0x3b, 5, 1, 1);    /* signed write + result read */
    e_rpmb(o, pre, 0x2b, 7, 2, 0);    /* signed two-block write */
    e_rpmb(o, pre, 0x1b, 5, 1, 1);    /* unsigned write: AUTH_FAILURE */
    e_rpmb(o, pre, 0x04, 5, 2, 2);    /* read two blocks */
    e_rpmb(o, pre, 0x04, 1023, 2, 2); /* read beyond the end */
    e_rpmb(o, pre, 0x05, 0, 1, 1);    /* result read alone */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
}

/* One spi request (fuzz/dev_spi.c): a built head (sel bit 0 clear) with
 * fields from @p a and @p b, @p n tx bytes out, @p rx bytes in, then the
 * result byte. */
static void e_spi(struct fz_out *o, int pre, uint8_t n, uint8_t a, uint8_t b,
                  uint16_t rx)
{
    uint16_t outl[1] = {(uint16_t)(32u + n)}, inl[2] = {rx, 1};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    if (rx)
        e_buf(o, 0, outl, 1, inl, 2, 0);
    else
        e_buf(o, 0, outl, 1, inl + 1, 1, 0);
    fo_u8(o, (uint32_t)(n << 3));
    fo_u8(o, a);
    fo_u8(o, b);
}

static void spi_traffic(struct fz_out *o, int pre)
{
    e_spi(o, pre, 8, 0x01, 0x00, 8);  /* full duplex, cs 1 */
    e_spi(o, pre, 0, 0x00, 0x00, 16); /* half-duplex read */
    e_spi(o, pre, 4, 0x00, 0x00, 0);  /* half-duplex write */
    e_spi(o, pre, 0, 0x00, 0x00, 0);  /* no words */
    e_spi(o, pre, 4, 0x08, 0x05, 4);  /* 16-bit words, dual */
    e_spi(o, pre, 3, 0x08, 0x00, 3);  /* odd length for 16-bit: PARAM_ERR */
    e_spi(o, pre, 4, 0x00, 0x00, 5);  /* duplex mismatch: PARAM_ERR */
    e_spi(o, pre, 2, 0x27, 0x70, 2);  /* cs 7, cs_change, delays */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 1, 0); /* complete a kept transfer */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
}

/* One scmi command (fuzz/dev_scmi.c): @p n bytes out (header first),
 * @p rx bytes of response room; or (q 1) an eventq buffer of @p rx bytes. */
static void e_scmi(struct fz_out *o, int pre, unsigned q, uint8_t n,
                   uint32_t hdr, uint16_t rx)
{
    uint16_t outl[1] = {n}, inl[1] = {rx};
    uint8_t req[72] = {0};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    if (q == 1 || n == 0)
        e_buf(o, q, NULL, 0, inl, 1, 0);
    else if (rx == 0)
        e_buf(o, q, outl, 1, NULL, 0, 0);
    else
        e_buf(o, q, outl, 1, inl, 1, 0);
    for (unsigned i = 0; i < 4; i++)
        req[i] = (uint8_t)(hdr >> (8 * i));
    for (unsigned i = 4; i < sizeof(req); i++)
        req[i] = (uint8_t)i;
    fo_u8(o, n);
    fo_bytes(o, req, n);
}

static void scmi_traffic(struct fz_out *o, int pre)
{
    e_scmi(o, pre, 1, 0, 0, 136);                /* eventq buffers */
    e_scmi(o, pre, 1, 0, 0, 8);                  /* ... one too small */
    e_scmi(o, pre, 0, 4, 0x10u << 10, 136);      /* BASE PROTOCOL_VERSION */
    e_scmi(o, pre, 0, 8, (0x14u << 10) | 6, 20); /* CLOCK_RATE_GET */
    e_scmi(o, pre, 0, 8, (0x15u << 10) | 6, 24); /* SENSOR_READING_GET */
    e_scmi(o, pre, 0, 2, 0x1234, 16);            /* no whole header */
    e_scmi(o, pre, 0, 4, 0x10u << 10, 4);        /* no room for a response */
    e_scmi(o, pre, 0, 4, 0x10u << 10, 0);        /* no writable part */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 1);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 1, 0x1000); /* complete a kept command */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 3, 0x0c00 | 16); /* send a 16-byte P2A message */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 1);
}

/* One CAN request: a Txq frame (k selects the length rule, see
 * fuzz/dev_can.c) or a Controlq message (k 0x40: START with bit 0). */
static void e_can(struct fz_out *o, int pre, unsigned q, uint8_t k, uint8_t len,
                  uint8_t flags_hi, uint16_t id)
{
    uint16_t outl[1] = {(uint16_t)(q == 2 ? 2 : 16 + len)}, inl[1] = {1};
    uint8_t req[80] = {0};
    if (q == 1) {
        uint16_t rl[1] = {80};
        if (pre >= 0)
            fo_u8(o, (uint32_t)pre);
        e_buf(o, 1, NULL, 0, rl, 1, 0);
        fo_u8(o, 0x80);
        fo_bytes(o, req, 80);
        return;
    }
    req[2] = len;
    req[9] = flags_hi;
    req[12] = (uint8_t)id;
    req[13] = (uint8_t)(id >> 8);
    for (unsigned i = 0; i < 64; i++)
        req[16 + i] = (uint8_t)(i * 3);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, q, outl, 1, inl, 1, 0);
    fo_u8(o, k);
    fo_bytes(o, req, 80);
}

/* One console buffer on queue q: a readable request (k, see
 * fuzz/dev_console.c: bit 7 data of k & 15 bytes, else a control message)
 * of @p outl bytes, or a writable buffer of @p inl bytes. */
static void e_con(struct fz_out *o, int pre, unsigned q, uint8_t k, uint16_t id,
                  uint16_t outl, uint16_t inl)
{
    uint8_t req[16] = {0};
    req[0] = (uint8_t)id;
    req[1] = (uint8_t)(id >> 8);
    for (unsigned i = 8; i < sizeof(req); i++)
        req[i] = (uint8_t)('a' + i);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    if (outl != 0)
        e_buf(o, q, &outl, 1, NULL, 0, 0);
    else
        e_buf(o, q, NULL, 0, &inl, 1, 0);
    fo_u8(o, k);
    fo_bytes(o, req, 16);
}

/* k for a control message: event ev, value v, port 0 (bit 0). */
#define CON_K(ev, v) ((uint8_t)(1u | ((ev) << 1) | ((v) << 5)))

static void console_traffic(struct fz_out *o, int pre)
{
#define PC()                                                                   \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
    for (unsigned i = 0; i < 6; i++)
        e_con(o, pre, 2, 0, 0, 0, 64); /* control receiveq buffers */
    PC();
    e_kick(o, 2);
    e_con(o, pre, 3, (uint8_t)(0x40 | CON_K(0u, 1u)), 0, 8, 0); /* READY */
    PC();
    e_kick(o, 3);
    e_con(o, pre, 3, CON_K(3u, 1u), 0, 8, 0); /* PORT_READY 0 */
    e_con(o, pre, 3, CON_K(6u, 1u), 0, 8, 0); /* PORT_OPEN 0 */
    e_con(o, pre, 3, 0x0a, 0x99, 8, 0);       /* PORT_READY, bad port */
    PC();
    e_kick(o, 3);
    e_con(o, pre, 0, 0, 0, 0, 32); /* port 0 receive buffers */
    e_con(o, pre, 0, 0, 0, 0, 4);
    PC();
    e_kick(o, 0);
    PC();
    e_host(o, 3, 0x00004120u);        /* write 32 bytes to port 0 */
    e_con(o, pre, 1, 0x8c, 0, 12, 0); /* 12 bytes out */
    PC();
    e_kick(o, 1);
    PC();
    e_host(o, 2, 1); /* keep the next ones */
    e_con(o, pre, 1, 0x85, 0, 5, 0);
    PC();
    e_kick(o, 1);
    PC();
    e_host(o, 0, 0); /* complete it */
    PC();
    e_host(o, 2, 2); /* pause */
    e_con(o, pre, 1, 0x83, 0, 3, 0);
    PC();
    e_kick(o, 1);
    PC();
    e_host(o, 2, 0);
    PC();
    e_host(o, 7, 0); /* resume */
    PC();
    e_host(o, 4, (30u << 16) | 100u); /* resize */
    PC();
    e_host(o, 5, 0); /* host side closed */
    PC();
    e_host(o, 6, 1); /* unplug */
    PC();
    e_host(o, 6, 0); /* plug again */
    PC();
    e_reap(o, 2);
    PC();
    e_reap(o, 0);
    PC();
    e_reap(o, 1);
#undef PC
}

static void can_traffic(struct fz_out *o, int pre)
{
#define P()                                                                    \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
    e_can(o, pre, 2, 0x41, 0, 0, 0); /* START */
    P();
    e_kick(o, 2);
    e_can(o, pre, 0, 0x00, 8, 0x00, 0x123);  /* classic */
    e_can(o, pre, 0, 0x01, 64, 0x40, 0x456); /* FD 64 */
    e_can(o, pre, 0, 0x00, 4, 0x20, 0x7ff);  /* RTR */
    e_can(o, pre, 0, 0x02, 8, 0x80, 0x1234); /* extended */
    e_can(o, pre, 1, 0, 0, 0, 0);            /* rx buffers */
    e_can(o, pre, 1, 0, 0, 0, 0);
    P();
    e_kick(o, 0);
    P();
    e_kick(o, 1);
    P();
    e_host(o, 4, 0x40000123u | (8u << 11)); /* receive FD */
    P();
    e_host(o, 4, 0x00000321u | (3u << 11)); /* receive classic */
    P();
    e_host(o, 0, 0); /* one bus ack */
    P();
    e_host(o, 1, 0); /* the rest */
    P();
    e_host(o, 3, 1); /* complete inside transmit */
    e_can(o, pre, 0, 0x00, 1, 0x00, 0x1);
    P();
    e_kick(o, 0);
    P();
    e_host(o, 3, 0);
    e_can(o, pre, 0, 0x00, 2, 0x00, 0x2);
    P();
    e_kick(o, 0);
    P();
    e_host(o, 5, 0);                 /* bus-off */
    e_can(o, pre, 2, 0x40, 0, 0, 0); /* STOP */
    P();
    e_kick(o, 2);
    P();
    e_reap(o, 0);
    P();
    e_reap(o, 1);
    P();
    e_reap(o, 2);
#undef P
}

/* One gpio request (type, line, value) with a @p rlen-byte response. */
static void e_gpio(struct fz_out *o, int pre, uint16_t type, uint16_t line,
                   uint32_t value, uint16_t rlen)
{
    uint16_t outl[1] = {8}, inl[1] = {rlen};
    uint8_t req[8] = {
        (uint8_t)type, 0, (uint8_t)line, 0, (uint8_t)value, 0, 0, 0};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, outl, 1, inl, 1, 0);
    fo_u8(o, 0x80); /* raw request bytes */
    fo_bytes(o, req, 8);
}

static void e_gpio_ev(struct fz_out *o, int pre, uint16_t line)
{
    uint16_t outl[1] = {2}, inl[1] = {1};
    uint8_t req[8] = {(uint8_t)line, 0};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 1, outl, 1, inl, 1, 0);
    fo_u8(o, 0xc0); /* raw, 2 bytes */
    fo_bytes(o, req, 8);
}

static void gpio_traffic(struct fz_out *o, int pre)
{
    e_gpio(o, pre, 1, 0, 0, 1 + 27); /* names: 8 lines */
    e_gpio(o, pre, 2, 1, 0, 2);
    e_gpio(o, pre, 5, 4, 1, 2);
    e_gpio(o, pre, 3, 4, 1, 2);
    e_gpio(o, pre, 6, 1, 3, 2); /* both edges on in1 */
    e_gpio(o, pre, 4, 1, 0, 2);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    e_gpio_ev(o, pre, 1);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 1);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 1, 1 | 1u << 8); /* in1 rises */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 1);
}

static void rng_traffic(struct fz_out *o, int pre)
{
    uint16_t l1[1] = {64}, l2[2] = {16, 300};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, NULL, 0, l1, 1, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, NULL, 0, l2, 2, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 0, 3); /* source empty */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, NULL, 0, l1, 1, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 0, 1); /* half */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 1, 0); /* rng kick */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_reap(o, 0);
}

/* Balloon (offered MUST_TELL_HOST, STATS_VQ, FREE_PAGE_HINT: queues
 * inflate 0, deflate 1, stats 2, free page 3): inflate and deflate PFNs
 * near guest memory, a stats buffer kept then asked back, a hinting round. */
static void balloon_traffic(struct fz_out *o, int pre)
{
    uint16_t pfn4[1] = {16}, st[1] = {30}, cmd[1] = {4}, page[1] = {4096};
#define BAL_PRE()                                                              \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
    for (unsigned q = 0; q < 2; q++) {
        BAL_PRE();
        e_buf(o, q, pfn4, 1, NULL, 0, 0);
        fo_u8(o, 0); /* PFNs near memory */
        fo_u8(o, 4);
        for (unsigned i = 0; i < 4; i++)
            fo_u16(o, 20u + i);
        BAL_PRE();
        e_kick(o, q);
        BAL_PRE();
        e_reap(o, q);
    }
    BAL_PRE();
    e_buf(o, 2, st, 1, NULL, 0, 0);
    fo_u8(o, 2); /* stats */
    fo_u8(o, 3);
    for (unsigned i = 0; i < 3; i++) {
        fo_u8(o, 4u + i);
        fo_u64(o, 1000u * i);
    }
    BAL_PRE();
    e_kick(o, 2);
    BAL_PRE();
    e_host(o, 1, 0); /* stats request */
    BAL_PRE();
    e_reap(o, 2);
    BAL_PRE();
    e_host(o, 2, 0); /* hint start */
    BAL_PRE();
    e_buf(o, 3, cmd, 1, NULL, 0, 0);
    fo_u8(o, 3); /* current command id */
    fo_u8(o, 5);
    BAL_PRE();
    e_buf(o, 3, NULL, 0, page, 1, 0);
    fo_u8(o, 1);
    fo_u8(o, 0);
    BAL_PRE();
    e_kick(o, 3);
    BAL_PRE();
    e_host(o, 0, 64); /* new target */
    BAL_PRE();
    e_reap(o, 3);
#undef BAL_PRE
}

static void input_traffic(struct fz_out *o, int pre)
{
    uint16_t ev[1] = {8}, st[1] = {8};
#define P()                                                                    \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
    static const uint8_t none[8];
    for (int i = 0; i < 4; i++) {
        P();
        e_buf(o, VDM_INPUT_QUEUE_EVENT, NULL, 0, ev, 1, 0);
        fo_bytes(o, none, 8);
    }
    P();
    e_kick(o, VDM_INPUT_QUEUE_EVENT);
    /* key A down, SYN, up, SYN */
    P();
    e_host(o, 0, VDM_INPUT_EV_KEY | VDM_INPUT_KEY_A << 5 | 1u << 15);
    P();
    e_host(o, 1, 0);
    P();
    e_host(o, 0, VDM_INPUT_EV_KEY | VDM_INPUT_KEY_A << 5);
    P();
    e_host(o, 1, 0);
    P();
    e_host(o, 2, 30); /* a burst: overflow and SYN_DROPPED */
    P();
    e_reap(o, VDM_INPUT_QUEUE_EVENT);
    P();
    e_buf(o, VDM_INPUT_QUEUE_STATUS, st, 1, NULL, 0, 0);
    {
        uint8_t e[8];
        drv_put_le16(e, 0x11); /* EV_LED */
        drv_put_le16(e + 2, 1);
        drv_put_le32(e + 4, 1);
        fo_bytes(o, e, 8);
    }
    P();
    e_kick(o, VDM_INPUT_QUEUE_STATUS);
    P();
    e_reap(o, VDM_INPUT_QUEUE_STATUS);
    for (int i = 0; i < 2; i++) {
        P();
        e_buf(o, VDM_INPUT_QUEUE_EVENT, NULL, 0, ev, 1, 0);
        fo_bytes(o, none, 8);
    }
    P();
    e_kick(o, VDM_INPUT_QUEUE_EVENT);
    P();
    e_reap(o, VDM_INPUT_QUEUE_EVENT);
#undef P
}

/* One gpu command (fuzz/dev_gpu.c request format): command selector, header
 * flags, then the request bytes 4..79 with @p kv pairs (offset, value) set;
 * a readable part of 80 bytes and a writable one of @p resp bytes. */
static void e_gpu(struct fz_out *o, unsigned q, uint8_t sel, uint8_t fl,
                  const uint8_t (*kv)[2], unsigned nkv, uint16_t resp)
{
    uint16_t outl[1] = {80}, inl[1] = {resp};
    uint8_t b[76] = {0};
    e_buf(o, q, outl, 1, inl, resp ? 1 : 0, 0);
    for (unsigned i = 0; i < nkv; i++)
        b[kv[i][0] - 4] = kv[i][1];
    fo_u8(o, sel);
    fo_u8(o, fl);
    fo_bytes(o, b, sizeof(b));
}

/* The fbdev sequence, a cursor, EDID, a blob, a display change. */
static void gpu_traffic(struct fz_out *o, int pre)
{
#define P()                                                                    \
    do {                                                                       \
        if (pre >= 0)                                                          \
            fo_u8(o, (uint32_t)pre);                                           \
    } while (0)
#define G(q, sel, fl, resp, ...)                                               \
    do {                                                                       \
        static const uint8_t kv_[][2] = {{4, 0}, __VA_ARGS__};                 \
        P();                                                                   \
        e_gpu(o, q, sel, fl, kv_, sizeof(kv_) / sizeof(kv_[0]), resp);         \
    } while (0)
    G(0, 0, 1, 408, {4, 0});                               /* display info */
    G(0, 1, 0, 24, {24, 1}, {28, 1}, {32, 63}, {36, 47});  /* create 64x48 */
    G(0, 6, 0, 24, {24, 1}, {28, 1}, {33, 0}, {40, 47});   /* attach 12 KiB */
    G(0, 3, 0, 24, {32, 64}, {36, 48}, {44, 1});           /* scanout */
    G(0, 5, 1, 24, {32, 64}, {36, 48}, {48, 1});           /* transfer */
    G(0, 4, 1, 24, {32, 64}, {36, 48}, {40, 1});           /* flush */
    G(0, 5, 0, 24, {24, 90}, {32, 64}, {36, 48}, {48, 1}); /* out of bounds */
    G(0, 10, 0, 1056, {24, 0});                            /* EDID */
    G(0, 12, 0, 24, {24, 2}, {28, 1}, {48, 63}, {56, 1}, {64, 15}); /* blob */
    G(0, 13, 0, 24, {32, 16}, {36, 16}, {44, 2}); /* blob scanout */
    G(0, 14, 0, 24, {4, 0});                      /* 3D: refused */
    P();
    e_kick(o, 0);
    G(1, 18, 0, 0, {28, 5}, {32, 6}, {40, 1}); /* cursor */
    G(1, 19, 0, 24, {28, 7});                  /* move */
    P();
    e_kick(o, 1);
    P();
    e_reap(o, 0);
    P();
    e_reap(o, 1);
    P();
    e_host(o, 1, 0x80000000u | 800u | 600u << 10); /* display change */
    G(0, 2, 0, 24, {24, 1});                       /* unref */
    P();
    e_kick(o, 0);
    P();
    e_reap(o, 0);
#undef G
#undef P
}

/* ------------------------------------------------------------------------ */
/* vq_split / vq_packed                                                     */
/* ------------------------------------------------------------------------ */

static void vq_add(unsigned nout, unsigned nin, uint16_t len, int mode)
{
    fo_u8(&O, VQ_OP_DRV_ADD);
    fo_u8(&O, nout);
    fo_u8(&O, nin);
    fo_u8(&O, mode);
    for (unsigned i = 0; i < nout + nin; i++) {
        fo_u16(&O, (uint16_t)(len + 8 * i));
        fo_u8(&O, FM_SEL_AUTO);
    }
}

static void vq_primed_seeds(const char *target, int packed);

static void vq_seeds(const char *target, int packed)
{
    static const struct {
        const char *name;
        uint8_t flags;
        uint8_t size;
    } cfgs[] = {
        {"plain", 0, 3},
        {"indirect", VQF_INDIRECT, 4},
        {"event-idx", VQF_EVENT_IDX | VQF_INDIRECT, 5},
        {"in-order", VQF_IN_ORDER, 3},
        {"hooks", VQF_HOOKS | VQF_INDIRECT, 4},
        {"max-chain", VQF_MAX_CHAIN, 2},
    };
    for (unsigned c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
        start();
        fo_u8(&O, cfgs[c].size);
        fo_u8(&O, cfgs[c].flags);
        fo_u8(&O, 3);                                   /* max_chain */
        fo_u8(&O, (cfgs[c].flags & VQF_HOOKS) ? 9 : 0); /* 512-byte maps */
        fo_u8(&O, 0);                                   /* allocator rings */
        for (int round = 0; round < 3; round++) {
            int mode = (cfgs[c].flags & VQF_INDIRECT) ? round % 3 : 0;
            vq_add(1, 1, 100, mode);
            vq_add(2, 2, 64, mode);
            vq_add(0, 3, 512, mode);
            fo_u8(&O, VQ_OP_DRV_PUBLISH);
            for (int i = 0; i < 3; i++) {
                fo_u8(&O, VQ_OP_POP);
                fo_u8(&O, 0);
            }
            fo_u8(&O, VQ_OP_UNPOP);
            fo_u8(&O, 0);
            fo_u8(&O, VQ_OP_POP);
            fo_u8(&O, 0);
            for (int i = 0; i < 2; i++) {
                fo_u8(&O, VQ_OP_PUSH);
                fo_u8(&O, 0); /* oldest in flight */
                fo_u8(&O, i); /* all, then 0 bytes */
            }
            fo_u8(&O, VQ_OP_PUSH_BATCH);
            fo_u8(&O, 0); /* 1 element */
            fo_u8(&O, (cfgs[c].flags & VQF_IN_ORDER) ? 1 : 0);
            fo_u8(&O, 0);
            fo_u8(&O, 0);
            fo_u8(&O, VQ_OP_NOTIFY);
            fo_u8(&O, VQ_OP_DRV_REAP);
            fo_u8(&O, VQ_OP_DRV_CB);
            fo_u8(&O, round % 3);
            fo_u16(&O, 5);
            fo_u8(&O, VQ_OP_SET_NOTIFY);
            fo_u8(&O, round & 1);
            fo_u8(&O, VQ_OP_HAS_AVAIL);
        }
        fo_u8(&O, VQ_OP_SET_STATE);
        fo_u16(&O, 0);
        fo_u16(&O, 0);
        fo_u8(&O, 1);
        fo_u8(&O, 1);
        fo_u8(&O, VQ_OP_RESET);
        save(target, cfgs[c].name);
    }

    /* Hostile: a descriptor loop, a head out of range, a bad table. */
    start();
    fo_u8(&O, 3);
    fo_u8(&O, VQF_INDIRECT);
    fo_u8(&O, 0);
    fo_u8(&O, 0);
    fo_u8(&O, 0);
    vq_add(1, 1, 64, 0);
    fo_u8(&O, VQ_OP_DRV_PUBLISH);
    fo_u8(&O, VQ_OP_RAW_DESC); /* desc 0 links to itself / runs on */
    fo_u16(&O, packed ? 1 : 0);
    fo_u8(&O, FM_SEL_AUTO);
    fo_u32(&O, 32);
    fo_u16(&O, packed ? 0x81 : 1);
    fo_u16(&O, 0);
    fo_u8(&O, VQ_OP_POP);
    fo_u8(&O, 0);
    save(target, "hostile-loop");

    start();
    fo_u8(&O, 3);
    fo_u8(&O, VQF_INDIRECT);
    fo_u8(&O, 0);
    fo_u8(&O, 0);
    fo_u8(&O, 0);
    fo_u8(&O, VQ_OP_RAW_DESC); /* indirect table of 24 bytes, in the hole */
    fo_u16(&O, 0);
    fo_u8(&O, FM_SEL_HOLE);
    fo_u16(&O, 0x100);
    fo_u32(&O, 24);
    fo_u16(&O, packed ? 0x84 : 4);
    fo_u16(&O, 0);
    fo_u8(&O, VQ_OP_RAW_AVAIL);
    fo_u16(&O, 0);
    fo_u16(&O, 9);
    fo_u8(&O, VQ_OP_RAW_IDX);
    fo_u16(&O, 1);
    fo_u8(&O, VQ_OP_POP);
    fo_u8(&O, 0);
    save(target, "hostile-table");
    vq_primed_seeds(target, packed);
}

/*
 * Primed hostile seeds: a valid one-descriptor chain in region `prime` is
 * popped and pushed first, so the queue's region hint points there and the
 * one-region fast path (vdm_mem_hit() in the ring loops and in
 * vdm_mem_map_ex()) is what meets the hostile chain posted next. Every
 * descriptor is written raw (the driver simulator's view is given up).
 */
struct gsel { /* an fm_gpa() selector and its parameters */
    uint8_t sel, r;
    uint64_t v;
};
#define G_REGION(r, off)                                                       \
    {                                                                          \
        FM_SEL_REGION, (r), (off)                                              \
    }
#define G_STRADDLE(n)                                                          \
    {                                                                          \
        FM_SEL_STRADDLE, 0, (n)                                                \
    } /* DATA2 - n - 1 */
#define G_END(r, past)                                                         \
    {                                                                          \
        FM_SEL_END, (r), (past)                                                \
    } /* ends past bytes out */
#define G_HOLE(off)                                                            \
    {                                                                          \
        FM_SEL_HOLE, 0, (off)                                                  \
    }
#define G_RAW(a)                                                               \
    {                                                                          \
        FM_SEL_RAW, 0, (a)                                                     \
    }

static void e_gsel(const struct gsel *g)
{
    fo_u8(&O, g->sel);
    switch (g->sel) {
    case FM_SEL_REGION:
        fo_u8(&O, g->r);
        fo_u16(&O, (uint16_t)g->v);
        break;
    case FM_SEL_STRADDLE: fo_u8(&O, (uint8_t)g->v); break;
    case FM_SEL_END:
        fo_u8(&O, g->r);
        fo_u8(&O, (uint8_t)g->v);
        break;
    case FM_SEL_HOLE:
    case FM_SEL_TOP: fo_u16(&O, (uint16_t)g->v); break;
    case FM_SEL_RAW: fo_u64(&O, g->v); break;
    default: break;
    }
}

#define D_NEXT  1u
#define D_WRITE 2u
#define D_IND   4u

struct hdesc {
    struct gsel g;
    uint32_t len;
    uint16_t flags; /* D_* */
    uint16_t next;  /* split: next index (packed: ignored) */
};

/* Descriptor i (split: table index; packed: ring position, wrap 1). */
static void e_raw_desc(int packed, uint16_t i, const struct hdesc *d,
                       uint16_t id)
{
    fo_u8(&O, VQ_OP_RAW_DESC);
    fo_u16(&O, i);
    e_gsel(&d->g);
    fo_u32(&O, d->len);
    fo_u16(&O, packed ? (uint16_t)(d->flags | 0x80u) : d->flags);
    fo_u16(&O, packed ? id : d->next);
}

/* An indirect table entry (16 bytes) written at a guest address. Split:
 * flags at 12, next at 14; packed: id at 12, flags at 14 (NEXT unused). */
static void e_table_entry(int packed, const struct gsel *at, uint64_t addr,
                          uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t e[16];
    drv_put_le64(e, addr);
    drv_put_le32(e + 8, len);
    drv_put_le16(e + 12, packed ? 0 : flags);
    drv_put_le16(e + 14, packed ? (uint16_t)(flags & ~D_NEXT) : next);
    fo_u8(&O, VQ_OP_RAW_MEM);
    e_gsel(at);
    fo_u8(&O, 16);
    fo_bytes(&O, e, 16);
}

/* Make the chain at split index / packed position `head` available and
 * pop it (split: avail slot `slot`, idx slot + 1). */
static void e_post_pop(int packed, uint16_t head, uint16_t slot)
{
    if (!packed) {
        fo_u8(&O, VQ_OP_RAW_AVAIL);
        fo_u16(&O, slot);
        fo_u16(&O, head);
        fo_u8(&O, VQ_OP_RAW_IDX);
        fo_u16(&O, (uint16_t)(slot + 1u));
    }
    fo_u8(&O, VQ_OP_POP);
    fo_u8(&O, 0);
}

#define HMAX 4
struct hostile {
    const char *name;
    uint8_t prime; /* region of the priming chain */
    unsigned n;
    struct hdesc d[HMAX];
    /* optional indirect table entries written first: at, addr, len, flags */
    unsigned nt;
    struct {
        struct gsel at;
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
    } t[2];
};

static void vq_primed_seeds(const char *target, int packed)
{
    static const struct hostile hs[] = {
        /* valid: guest-contiguous across DATA1/DATA2, host-discontiguous:
         * two spans, the first ending at DATA1's end */
        {.name = "straddle",
         .prime = FM_DATA1,
         .n = 1,
         .d = {{G_STRADDLE(15), 64, 0, 0}}},
        /* the last bytes past the end of the hinted region (a hole) */
        {.name = "overrun",
         .prime = FM_DATA2,
         .n = 1,
         .d = {{G_END(FM_DATA2, 16), 64, 0, 0}}},
        {.name = "overrun-write",
         .prime = FM_HEAP,
         .n = 1,
         .d = {{G_END(FM_HEAP, 1), 256, D_WRITE, 0}}},
        /* writable buffer in the read-only region the hint points to */
        {.name = "rom-write",
         .prime = FM_ROM,
         .n = 1,
         .d = {{G_REGION(FM_ROM, 0x100), 64, D_WRITE, 0}}},
        /* a length that runs past 2^64 from inside the hinted region */
        {.name = "wrap",
         .prime = FM_HIGH,
         .n = 1,
         .d = {{G_REGION(FM_HIGH, 0x100), 0xffffff00u, 0, 0}}},
        /* starts below the hinted region, ends inside it */
        {.name = "below",
         .prime = FM_DATA1,
         .n = 1,
         .d = {{G_RAW(FM_DATA1_GPA - 8), 64, 0, 0}}},
        {.name = "hole",
         .prime = FM_HEAP,
         .n = 1,
         .d = {{G_HOLE(0x10), 64, 0, 0}}},
        /* valid first descriptor, then one far past the region */
        {.name = "huge",
         .prime = FM_DATA1,
         .n = 2,
         .d = {{G_REGION(FM_DATA1, 0x40), 32, D_NEXT, 2},
               {G_REGION(FM_DATA1, 0x80), 0xfffff000u, D_WRITE, 0}}},
        {.name = "total-2g",
         .prime = FM_DATA1,
         .n = 2,
         .d = {{G_REGION(FM_DATA1, 0), 0x80000000u, D_NEXT, 2},
               {G_REGION(FM_DATA1, 0), 0x80000000u, D_WRITE, 0}}},
        /* readable after writable, both in the hinted region */
        {.name = "read-after-write",
         .prime = FM_DATA1,
         .n = 2,
         .d = {{G_REGION(FM_DATA1, 0x100), 32, D_WRITE | D_NEXT, 2},
               {G_REGION(FM_DATA1, 0x200), 32, 0, 0}}},
        /* split: next out of range / a loop; packed: a list running into
         * a descriptor not made available */
        {.name = "bad-next",
         .prime = FM_DATA1,
         .n = 1,
         .d = {{G_REGION(FM_DATA1, 0x100), 32, D_NEXT, 200}}},
        {.name = "loop",
         .prime = FM_DATA1,
         .n = 2,
         .d = {{G_REGION(FM_DATA1, 0x100), 32, D_NEXT, 2},
               {G_REGION(FM_DATA1, 0x200), 32, D_NEXT, 1}}},
        /* valid: a zero-length descriptor's address is not checked */
        {.name = "zero-len",
         .prime = FM_DATA1,
         .n = 2,
         .d = {{G_HOLE(0), 0, D_NEXT, 2},
               {G_REGION(FM_DATA1, 0x100), 32, 0, 0}}},
        /* indirect table running past the hinted region into a hole */
        {.name = "table-overrun",
         .prime = FM_DATA2,
         .n = 1,
         .d = {{G_END(FM_DATA2, 48), 32, D_IND, 0}}},
        /* valid: a table straddling DATA1/DATA2 (read entry by entry),
         * entries in the hinted region */
        {.name = "table-straddle",
         .prime = FM_DATA1,
         .n = 1,
         .d = {{G_STRADDLE(15), 32, D_IND, 0}},
         .nt = 2,
         .t = {{G_STRADDLE(15), FM_DATA1_GPA + 0x300, 32, D_NEXT, 1},
               {G_REGION(FM_DATA2, 0), FM_DATA1_GPA + 0x400, 48, D_WRITE, 0}}},
        /* a table entry writing into the read-only region of the hint */
        {.name = "table-rom-write",
         .prime = FM_ROM,
         .n = 1,
         .d = {{G_REGION(FM_DATA1, 0x800), 16, D_IND, 0}},
         .nt = 1,
         .t = {{G_REGION(FM_DATA1, 0x800), FM_ROM_GPA + 0x40, 64, D_WRITE, 0}}},
    };
    for (unsigned h = 0; h < sizeof(hs) / sizeof(hs[0]); h++) {
        const struct hostile *x = &hs[h];
        const struct hdesc prime = {G_REGION(x->prime, 0x20), 64, 0, 0};
        char name[64];

        start();
        fo_u8(&O, packed ? 5 : 3); /* 8 entries */
        fo_u8(&O, VQF_INDIRECT);
        fo_u8(&O, 0);
        fo_u8(&O, 0);
        fo_u8(&O, 0); /* allocator rings */
        /* prime: split index 0 / packed position 0, popped and used */
        e_raw_desc(packed, 0, &prime, 0);
        e_post_pop(packed, 0, 0);
        fo_u8(&O, VQ_OP_PUSH);
        fo_u8(&O, 0);
        fo_u8(&O, 1); /* 0 bytes */
        for (unsigned t = 0; t < x->nt; t++)
            e_table_entry(packed, &x->t[t].at, x->t[t].addr, x->t[t].len,
                          x->t[t].flags, x->t[t].next);
        /* the hostile chain: split indexes 1.., packed positions 1.. */
        for (unsigned i = 0; i < x->n; i++)
            e_raw_desc(packed, (uint16_t)(1 + i), &x->d[i], 1);
        e_post_pop(packed, 1, 1);
        snprintf(name, sizeof(name), "primed-%s", x->name);
        save(target, name);
    }
}

/* ------------------------------------------------------------------------ */
/* Device targets                                                           */
/* ------------------------------------------------------------------------ */

/* virtio-snd traffic (fuzz/dev_sound.c reads a request as: code index,
 * length byte, bytes): PCM_INFO, SET_PARAMS, PREPARE on the controlq, a
 * period on the txq, START, a completion by the host, an event buffer and a
 * jack event. */
static void snd_ctl(struct fz_out *o, int pre, uint8_t k, const uint8_t *b,
                    uint8_t len, uint16_t resp)
{
    uint16_t outl[1] = {len}, inl[1] = {resp};
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 0, outl, 1, inl, 1, 0);
    fo_u8(o, k);
    fo_u8(o, (uint8_t)(len - 4));
    fo_bytes(o, b, len);
}

static void sound_traffic(struct fz_out *o, int pre)
{
    static const uint8_t info[16] = {0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 32};
    static const uint8_t params[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0,
                                       0, 1, 0, 0, 0, 0, 0, 0, 2, 5, 7, 0};
    static const uint8_t pcm0[8] = {0};
    static const uint8_t xfer[16] = {0};
    uint16_t outl[1] = {64}, inl[1] = {8}, ev[1] = {8};
    snd_ctl(o, pre, 2, info, 16, 4 + 96);
    snd_ctl(o, pre, 3, params, 24, 4);
    snd_ctl(o, pre, 4, pcm0, 8, 4);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 2, outl, 1, inl, 1, 0);
    fo_u8(o, 16); /* index 16: code 0 = stream 0 */
    fo_u8(o, 12);
    fo_bytes(o, xfer, 16);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 2);
    snd_ctl(o, pre, 6, pcm0, 8, 4);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_kick(o, 0);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 0, 0); /* complete the period */
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_buf(o, 1, NULL, 0, ev, 1, 0);
    fo_u8(o, 0);
    fo_u8(o, 0);
    fo_bytes(o, xfer, 4);
    if (pre >= 0)
        fo_u8(o, (uint32_t)pre);
    e_host(o, 3, 0x100); /* jack 0 connected */
    for (unsigned q = 0; q < 3; q++) {
        if (pre >= 0)
            fo_u8(o, (uint32_t)pre);
        e_reap(o, q);
    }
}

static void devt_header(uint8_t cb, uint8_t qsel, uint64_t feat, uint8_t fl)
{
    start();
    fo_u8(&O, cb);
    fo_u8(&O, qsel);
    fo_u64(&O, feat);
    fo_u8(&O, fl);
}

static void devt_tail(void)
{
    fo_u8(&O, DEVT_OP_CFG_RD);
    fo_u8(&O, 0);
    fo_u8(&O, 8);
    fo_u8(&O, DEVT_OP_QRESET);
    fo_u8(&O, 0);
    fo_u8(&O, DEVT_OP_RESET);
    fo_u64(&O, VDM_F_VERSION_1 | VDM_F_RING_PACKED);
}

static void devt_seeds(void)
{
    const uint64_t ring =
        VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX | VDM_F_RING_RESET;
    static const struct {
        const char *name;
        uint8_t cb;
        uint64_t feat;
        uint8_t fl;
        int mode;
    } blk[] = {
        {"split", 0x06, 0, 0, 0},
        {"split-all-features", 0x16, ~0ull, 0, 0},
        {"packed", 0x06, VDM_F_RING_PACKED, 0, 0},
        {"indirect", 0x06, VDM_F_INDIRECT_DESC, 0, 1},
        {"event-idx-packed", 0x06,
         VDM_F_RING_PACKED | VDM_F_EVENT_IDX | VDM_F_INDIRECT_DESC, 0, 1},
        {"mq-kick-hook", 0x4e, ~0ull, 0, 0},
        {"read-only-small-iov", 0x21, 0, 0, 0},
        {"hooks", 0x06, VDM_F_INDIRECT_DESC, VQF_HOOKS | 0x90, 1},
    };
    for (unsigned i = 0; i < sizeof(blk) / sizeof(blk[0]); i++) {
        devt_header(blk[i].cb, 4, blk[i].feat | VDM_F_RING_RESET, blk[i].fl);
        blk_traffic(&O, DEVT_OP_DEV, 0, blk[i].mode);
        if (blk[i].cb & 0x40)
            blk_traffic(&O, DEVT_OP_DEV, 1, blk[i].mode);
        fo_u8(&O, DEVT_OP_CFG_WR); /* writeback */
        fo_u8(&O, VDM_BLK_CFG_WRITEBACK);
        fo_u8(&O, 1);
        fo_u64(&O, 1);
        devt_tail();
        blk_traffic(&O, DEVT_OP_DEV, 0, 0);
        save("blk", blk[i].name);
    }
    devt_header(0, 3, 0, 0);
    rng_traffic(&O, DEVT_OP_DEV);
    devt_tail();
    rng_traffic(&O, DEVT_OP_DEV);
    save("rng", "split");
    devt_header(0, 2, VDM_F_RING_PACKED | ring, 0);
    rng_traffic(&O, DEVT_OP_DEV);
    save("rng", "packed");
    devt_header(0, 4, VDM_F_INDIRECT_DESC, VQF_HOOKS);
    rng_traffic(&O, DEVT_OP_DEV);
    save("rng", "hooks");
    devt_header(0, 4, VDM_F_EVENT_IDX | VDM_F_INDIRECT_DESC, 0);
    sound_traffic(&O, DEVT_OP_DEV);
    devt_tail();
    save("sound", "split");
    devt_header(0x10, 4, VDM_F_RING_PACKED | ring, 0);
    sound_traffic(&O, DEVT_OP_DEV);
    save("sound", "packed");
    for (uint8_t prof = 0; prof < 3; prof++) {
        char name[32];
        devt_header((uint8_t)(prof | 0x80 | (3 << 2)), 3,
                    prof == 1 ? VDM_F_RING_PACKED : 0, 0);
        for (uint8_t sel = 0; sel < 0x13; sel++) {
            fo_u8(&O, DEVT_OP_CFG_WR);
            fo_u8(&O, 0);
            fo_u8(&O, 2);
            fo_u64(&O, sel | (sel == 0x11 ? 1u : 0u) << 8);
            fo_u8(&O, DEVT_OP_CFG_RD);
            fo_u8(&O, 2);
            fo_u8(&O, 1);
            fo_u8(&O, DEVT_OP_CFG_RD);
            fo_u8(&O, 8);
            fo_u8(&O, 8);
        }
        input_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        input_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "profile-%u", prof);
        save("input", name);
    }
    for (uint8_t m = 0; m < 4; m++) {
        char name[32];
        devt_header(m, 3, m == 1 ? VDM_F_RING_PACKED | 1ull : 1ull, 0);
        i2c_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        i2c_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "mode-%u", m);
        save("i2c", name);
    }
    for (uint8_t cb = 0; cb < 4; cb++) {
        char name[32];
        devt_header(cb, 3, (cb == 1 ? VDM_F_RING_PACKED : 0) | 1ull, 0);
        gpio_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        gpio_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "hooks-%u", cb);
        save("gpio", name);
    }
    {
        static const struct {
            const char *name;
            uint8_t cb;
            uint64_t feat;
        } gpu[] = {
            {"split-all", 0xe7, 0},
            {"packed-edid", 0x01, VDM_F_RING_PACKED},
            {"two-scanouts-blob", 0x2a, VDM_F_INDIRECT_DESC},
        };
        for (unsigned i = 0; i < sizeof(gpu) / sizeof(gpu[0]); i++) {
            devt_header(gpu[i].cb, 3,
                        gpu[i].feat | VDM_GPU_F_EDID | VDM_GPU_F_RESOURCE_BLOB |
                            VDM_GPU_F_RESOURCE_UUID | VDM_GPU_F_BLOB_ALIGNMENT,
                        0);
            gpu_traffic(&O, DEVT_OP_DEV);
            devt_tail();
            gpu_traffic(&O, DEVT_OP_DEV);
            save("gpu", gpu[i].name);
        }
    }
    for (uint8_t cb = 0; cb < 4; cb++) {
        char name[32];
        devt_header((uint8_t)(cb | 0x14), 3,
                    cb == 1 ? VDM_F_RING_PACKED : VDM_F_INDIRECT_DESC, 0);
        rpmb_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        rpmb_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "key-%u", cb);
        save("rpmb", name);
    }
    for (uint8_t cb = 0; cb < 8; cb += 2) {
        char name[32];
        devt_header(cb, 3, (cb == 2 ? VDM_F_RING_PACKED : 0) | 0xfull, 0);
        can_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        can_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "features-%u", cb);
        save("can", name);
    }
    for (uint8_t cb = 0; cb < 4; cb++) {
        char name[32];
        devt_header((uint8_t)(cb * 6u), 3,
                    (cb == 1 ? VDM_F_RING_PACKED : 0) | VDM_F_INDIRECT_DESC, 0);
        spi_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        spi_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "bus-%u", cb);
        save("spi", name);
    }
    for (uint8_t cb = 0; cb < 3; cb++) {
        static const char *const names[] = {"split", "packed", "no-ops"};
        uint8_t c = (uint8_t)(0x0b | (cb == 2 ? 0x80 : 0));
        devt_header(c, 3, (cb == 1 ? VDM_F_RING_PACKED : 0) | 0x3full, 0);
        balloon_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        balloon_traffic(&O, DEVT_OP_DEV);
        save("balloon", names[cb]);
    }
    for (uint8_t cb = 0; cb < 10; cb += 3) {
        char name[32];
        devt_header(
            cb, 3,
            (cb == 3 ? VDM_F_RING_PACKED : 0) | VDM_F_INDIRECT_DESC | 1ull, 0);
        scmi_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        scmi_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "platform-%u", cb);
        save("scmi", name);
    }

    for (uint8_t cb = 0; cb < 16; cb += 5) {
        char name[32];
        devt_header(cb, 3,
                    (cb == 5 ? VDM_F_RING_PACKED : 0) | VDM_F_INDIRECT_DESC |
                        0x7ull,
                    0);
        console_traffic(&O, DEVT_OP_DEV);
        devt_tail();
        console_traffic(&O, DEVT_OP_DEV);
        snprintf(name, sizeof(name), "ports-%u", cb);
        save("console", name);
    }
}

/* ------------------------------------------------------------------------ */
/* Recorded transports                                                      */
/* ------------------------------------------------------------------------ */

static struct fz_out *REC; /* recording target, NULL: not recording */
static int rec_pci_mem;    /* next BAR access came through decode */
static uint64_t rec_addr;

int __real_vdm_mmio_read(struct vdm_mmio *t, uint64_t off, uint32_t w,
                         uint64_t *val);
int __real_vdm_mmio_write(struct vdm_mmio *t, uint64_t off, uint32_t w,
                          uint64_t val);
int __real_vdm_pci_cfg_read(struct vdm_pci *t, uint32_t off, uint32_t w,
                            uint32_t *val);
int __real_vdm_pci_cfg_write(struct vdm_pci *t, uint32_t off, uint32_t w,
                             uint32_t val);
int __real_vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                            uint32_t w, uint64_t *val);
int __real_vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                             uint32_t w, uint64_t val);
int __real_vdm_pci_decode(const struct vdm_pci *t, uint64_t addr, uint32_t *bar,
                          uint64_t *off);
int __wrap_vdm_mmio_read(struct vdm_mmio *t, uint64_t off, uint32_t w,
                         uint64_t *val);
int __wrap_vdm_mmio_write(struct vdm_mmio *t, uint64_t off, uint32_t w,
                          uint64_t val);
int __wrap_vdm_pci_cfg_read(struct vdm_pci *t, uint32_t off, uint32_t w,
                            uint32_t *val);
int __wrap_vdm_pci_cfg_write(struct vdm_pci *t, uint32_t off, uint32_t w,
                             uint32_t val);
int __wrap_vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                            uint32_t w, uint64_t *val);
int __wrap_vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                             uint32_t w, uint64_t val);
int __wrap_vdm_pci_decode(const struct vdm_pci *t, uint64_t addr, uint32_t *bar,
                          uint64_t *off);

int __wrap_vdm_mmio_read(struct vdm_mmio *t, uint64_t off, uint32_t w,
                         uint64_t *val)
{
    if (REC) {
        fo_u8(REC, MMIO_OP_READ);
        fo_u16(REC, (uint32_t)off);
        fo_u8(REC, w);
    }
    return __real_vdm_mmio_read(t, off, w, val);
}

int __wrap_vdm_mmio_write(struct vdm_mmio *t, uint64_t off, uint32_t w,
                          uint64_t val)
{
    if (REC) {
        fo_u8(REC, MMIO_OP_WRITE);
        fo_u16(REC, (uint32_t)off);
        fo_u8(REC, w);
        fo_u64(REC, val);
    }
    int rc = __real_vdm_mmio_write(t, off, w, val);
    fd_poll();
    return rc;
}

int __wrap_vdm_pci_cfg_read(struct vdm_pci *t, uint32_t off, uint32_t w,
                            uint32_t *val)
{
    if (REC) {
        fo_u8(REC, PCI_OP_CFG_READ);
        fo_u16(REC, off);
        fo_u8(REC, w);
    }
    return __real_vdm_pci_cfg_read(t, off, w, val);
}

int __wrap_vdm_pci_cfg_write(struct vdm_pci *t, uint32_t off, uint32_t w,
                             uint32_t val)
{
    if (REC) {
        fo_u8(REC, PCI_OP_CFG_WRITE);
        fo_u16(REC, off);
        fo_u8(REC, w);
        fo_u32(REC, val);
    }
    int rc = __real_vdm_pci_cfg_write(t, off, w, val);
    fd_poll();
    return rc;
}

int __wrap_vdm_pci_decode(const struct vdm_pci *t, uint64_t addr, uint32_t *bar,
                          uint64_t *off)
{
    rec_pci_mem = 1;
    rec_addr = addr;
    return __real_vdm_pci_decode(t, addr, bar, off);
}

int __wrap_vdm_pci_bar_read(struct vdm_pci *t, uint32_t bar, uint64_t off,
                            uint32_t w, uint64_t *val)
{
    if (REC && rec_pci_mem) {
        fo_u8(REC, PCI_OP_MEM_READ);
        fo_u64(REC, rec_addr);
        fo_u8(REC, w);
    } else if (REC) {
        fo_u8(REC, PCI_OP_BAR_READ);
        fo_u8(REC, bar);
        fo_u32(REC, (uint32_t)off);
        fo_u8(REC, w);
    }
    rec_pci_mem = 0;
    return __real_vdm_pci_bar_read(t, bar, off, w, val);
}

int __wrap_vdm_pci_bar_write(struct vdm_pci *t, uint32_t bar, uint64_t off,
                             uint32_t w, uint64_t val)
{
    if (REC && rec_pci_mem) {
        fo_u8(REC, PCI_OP_MEM_WRITE);
        fo_u64(REC, rec_addr);
        fo_u8(REC, w);
        fo_u64(REC, val);
    } else if (REC) {
        fo_u8(REC, PCI_OP_BAR_WRITE);
        fo_u8(REC, bar);
        fo_u32(REC, (uint32_t)off);
        fo_u8(REC, w);
        fo_u64(REC, val);
    }
    rec_pci_mem = 0;
    int rc = __real_vdm_pci_bar_write(t, bar, off, w, val);
    fd_poll();
    return rc;
}

/* Kicks inside a replayed DEV op come from the target itself: the
 * generator sends them unrecorded, the way the target will. */
static struct vdm_mmio *gen_mmio;
static struct vdm_dev *gen_dev;
static struct drv_pci *gen_pci;

static void gen_mmio_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    (void)q;
    __real_vdm_mmio_write(gen_mmio, VDM_MMIO_QUEUE_NOTIFY, 4, value);
    fd_poll();
}

static void gen_pci_notify(void *ctx, uint16_t q, uint32_t value)
{
    (void)ctx;
    struct fz_out *r = REC;
    REC = NULL; /* the target's own notify path (fuzz_pci.c) */
    uint64_t sel = 0, noff = 0;
    struct drv_pci *p = gen_pci;
    __real_vdm_pci_bar_read(&p->t, p->common.bar,
                            p->common.off + VDM_PCI_COMMON_Q_SELECT, 2, &sel);
    __real_vdm_pci_bar_write(&p->t, p->common.bar,
                             p->common.off + VDM_PCI_COMMON_Q_SELECT, 2, q);
    __real_vdm_pci_bar_read(&p->t, p->common.bar,
                            p->common.off + VDM_PCI_COMMON_Q_NOFF, 2, &noff);
    __real_vdm_pci_bar_write(&p->t, p->common.bar,
                             p->common.off + VDM_PCI_COMMON_Q_SELECT, 2, sel);
    int data = !!(vdm_dev_features(gen_dev) & VDM_F_NOTIFICATION_DATA);
    __real_vdm_pci_bar_write(&p->t, p->notify.bar,
                             p->notify.off + noff * p->notify_mult,
                             data ? 4 : 2, data ? value : q);
    fd_poll();
    REC = r;
}

/* Emit a dev_op (with the target's op prefix) and run it like the target. */
static void run_dev_ops(uint8_t prefix, void (*traffic)(struct fz_out *, int))
{
    struct fz_out *ops = calloc(1, sizeof(*ops));
    traffic(ops, prefix);
    /* split the stream into ops: each starts with the prefix byte */
    struct fz f;
    fz_init(&f, ops->buf, ops->n);
    while (!fz_done(&f)) {
        size_t at = ops->n - f.n;
        (void)fz_u8(&f); /* prefix */
        struct fz_out *r = REC;
        REC = NULL;
        fd_dev_op(&f);
        REC = r;
        size_t end = ops->n - f.n;
        fo_bytes(REC, ops->buf + at, end - at);
    }
    free(ops);
}

static unsigned cur_kind, cur_q;
static void traffic_kind(struct fz_out *o, int pre)
{
    switch (cur_kind) {
    case FZ_KIND_BLK: blk_traffic(o, pre, cur_q, 0); break;
    case FZ_KIND_RNG: rng_traffic(o, pre); break;
    case FZ_KIND_I2C: i2c_traffic(o, pre); break;
    case FZ_KIND_GPIO: gpio_traffic(o, pre); break;
    case FZ_KIND_GPU: gpu_traffic(o, pre); break;
    case FZ_KIND_CAN: can_traffic(o, pre); break;
    case FZ_KIND_SPI: spi_traffic(o, pre); break;
    case FZ_KIND_SCMI: scmi_traffic(o, pre); break;
    case FZ_KIND_BALLOON: balloon_traffic(o, pre); break;
    case FZ_KIND_CONSOLE: console_traffic(o, pre); break;
    default: input_traffic(o, pre); break;
    }
}

/* Rings from the heap's ring part, as the targets expect (fuzz_mem.h). */
static void drv_alloc_rings(int on)
{
    struct drv_guest *g = fm_guest();
    if (on) {
        g->bump[1] = 0;
        g->bump[0] = g->regions[0].size;
    } else {
        g->bump[1] = g->regions[1].size;
        g->bump[0] = 0;
    }
}

static const uint8_t kind_cb[FZ_KIND_COUNT] = {0x06, 0, 0x8c, 0, 0, 0, 0xe7};

static void mmio_seed(unsigned kind, uint64_t want, int hooks, const char *name)
{
    struct drv_mmio *m = calloc(1, sizeof(*m));
    struct drv_vq vqs[FD_MAXQ];
    start();
    fo_u8(&O, kind);
    fo_u8(&O, kind_cb[kind]);
    fo_u8(&O, 4); /* qmax 16 */
    fo_u8(&O, hooks ? VQF_HOOKS : 0);
    fm_reset(hooks, 0);
    struct vdm_dev *d = fd_create(kind, kind_cb[kind], 16, NULL);
    if (drv_mmio_init(m, d, NULL) != 0)
        abort();
    gen_mmio = &m->t;
    fd_set_notify(gen_mmio_notify, NULL);
    REC = &O;
    drv_mmio_probe(m);
    drv_alloc_rings(1);
    int rc = drv_tp_bring_up(&m->tp, want, vdm_dev_num_queues(d), vqs,
                             fm_guest(), 0);
    drv_alloc_rings(0);
    if (rc != 0) {
        fprintf(stderr, "mmio bring-up failed: %d\n", rc);
        exit(1);
    }
    for (unsigned q = 0; q < vdm_dev_num_queues(d); q++)
        drv_vq_fini(&vqs[q]);
    fd_poll();
    cur_kind = kind;
    cur_q = 0;
    run_dev_ops(MMIO_OP_DEV, traffic_kind);
    drv_tp_interrupt(&m->tp);
    uint8_t buf[16];
    drv_tp_config_read(&m->tp, 0, buf, 8);
    fo_u8(&O, MMIO_OP_CONFIG);
    fo_u32(&O, 48);
    fd_config_change(48);
    drv_tp_interrupt(&m->tp);
    drv_tp_reset(&m->tp);
    REC = NULL;
    fd_finish();
    save("mmio", name);
    free(m);
}

static void pci_seed(unsigned kind, uint64_t want, int msix, int window,
                     const char *name)
{
    struct drv_pci *p = calloc(1, sizeof(*p));
    struct drv_vq vqs[FD_MAXQ];
    uint16_t nvec = msix ? 4 : 0;
    start();
    fo_u8(&O, kind);
    fo_u8(&O, kind_cb[kind]);
    fo_u8(&O, 4);
    fo_u8(&O, 0);
    fo_u8(&O, 0); /* default layout */
    fo_u16(&O, nvec);
    fm_reset(0, 0);
    struct vdm_dev *d = fd_create(kind, kind_cb[kind], 16, NULL);
    gen_dev = d;
    struct vdm_pci_config cfg = {.size = sizeof(cfg)};
    cfg.msix_vectors = nvec;
    if (drv_pci_init(p, d, &cfg) != 0)
        abort();
    gen_pci = p;
    fd_set_notify(gen_pci_notify, NULL);
    REC = &O;
    if (drv_pci_probe(p, 0xe0000000ull, msix) != 0) {
        fprintf(stderr, "pci probe failed\n");
        exit(1);
    }
    p->mode = window ? DRV_PCI_MODE_WINDOW : DRV_PCI_MODE_BAR;
    drv_alloc_rings(1);
    int rc = drv_tp_bring_up(&p->tp, want, vdm_dev_num_queues(d), vqs,
                             fm_guest(), 0);
    drv_alloc_rings(0);
    if (rc != 0) {
        fprintf(stderr, "pci bring-up failed: %d\n", rc);
        exit(1);
    }
    for (unsigned q = 0; q < vdm_dev_num_queues(d); q++)
        drv_vq_fini(&vqs[q]);
    fd_poll();
    cur_kind = kind;
    cur_q = 0;
    run_dev_ops(PCI_OP_DEV, traffic_kind);
    drv_tp_interrupt(&p->tp);
    uint8_t buf[16];
    drv_tp_config_read(&p->tp, 0, buf, 8);
    fo_u8(&O, PCI_OP_CONFIG);
    fo_u32(&O, 48);
    fd_config_change(48);
    drv_tp_interrupt(&p->tp);
    drv_tp_reset(&p->tp);
    REC = NULL;
    fd_finish();
    drv_pci_fini(p);
    save("pci", name);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* vhost-user                                                               */
/* ------------------------------------------------------------------------ */

/* Front-end user addresses of the regions: the heap, data and ring
 * addresses keep their offset, the high region gets one of its own. */
static uint64_t uaddr_of(uint64_t gpa)
{
    if (gpa >= FM_HIGH_GPA)
        return 0x7e0000000000ull + (gpa - FM_HIGH_GPA);
    return 0x7f0000000000ull + gpa;
}

/* The shared vhost-user front-end (tests/driver/vu_front.h) builds the
 * messages; this transport records each as a VU_OP_MSG: u8 request, u8
 * flags, u16 payload size, u8 fd count, one fuzz_mem file selector per fd,
 * the payload. */
static int vu_record(void *ctx, const uint8_t *msg, uint32_t len,
                     const int32_t *fds, uint32_t nfds, uint8_t *reply,
                     uint32_t cap, uint32_t *rlen)
{
    (void)ctx;
    (void)reply;
    (void)cap;
    *rlen = 0;
    fo_u8(&O, VU_OP_MSG);
    fo_u8(&O, (uint8_t)drv_get_le32(msg));
    fo_u8(&O, (uint8_t)drv_get_le32(msg + 4));
    fo_u16(&O, (uint16_t)(len - VDM_VHOST_USER_HDR_BYTES));
    fo_u8(&O, (uint8_t)nfds);
    for (unsigned i = 0; i < nfds; i++)
        fo_u8(&O, (uint8_t)fds[i]);
    fo_bytes(&O, msg + VDM_VHOST_USER_HDR_BYTES,
             len - VDM_VHOST_USER_HDR_BYTES);
    return 0;
}

static struct vu_front FE;

/* vu_bringup() with dirty logging (vhost-user "Migration"): LOG_SHMFD, a
 * log in the FM_DATA2 file (bits land in guest memory the fuzzer owns),
 * LOG_ALL and VHOST_VRING_F_LOG on every ring. */
static int vu_log;

/* Features, protocol features, memory table and rings (allocated the first
 * time, the same ones again after a restart), as QEMU brings a back-end up.
 * With @p ift: INFLIGHT_SHMFD negotiated and the inflight region handed
 * over with SET_INFLIGHT_FD (the last 4 KiB of FM_DATA2), as to a
 * back-end that may be restarted. */
static void vu_bringup(struct vu_front *f, uint64_t feat, int packed,
                       unsigned nq, uint16_t num, int ift, uint64_t *rings)
{
    const uint32_t ack = VDM_VHOST_USER_F_NEED_REPLY;
    const int32_t ev = 6; /* an eventfd */

    vu_front_msg(f, VDM_VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0);
    vu_front_u64(f, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, ack,
                 1u << VDM_VHOST_USER_PROTOCOL_F_MQ |
                     1u << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK |
                     1u << VDM_VHOST_USER_PROTOCOL_F_BACKEND_REQ |
                     1u << VDM_VHOST_USER_PROTOCOL_F_CONFIG |
                     (ift ? 1u << VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD
                          : 0u) |
                     1u << VDM_VHOST_USER_PROTOCOL_F_RESET_DEVICE |
                     1u << VDM_VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS |
                     1u << VDM_VHOST_USER_PROTOCOL_F_STATUS |
                     (vu_log ? 1u << VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD : 0u),
                 NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_GET_MAX_MEM_SLOTS, 0, NULL, 0, NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_SET_BACKEND_REQ_FD, 0, NULL, 0, &ev, 1);
    vu_front_u64(f, VDM_VHOST_USER_SET_FEATURES, ack,
                 VDM_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES | feat |
                     (packed ? VDM_F_RING_PACKED : 0) |
                     (vu_log ? VDM_VHOST_F_LOG_ALL : 0),
                 NULL, 0);
    if (ift) {
        /* "Inflight description": u64 mmap size, u64 mmap offset, u16 num
         * queues, u16 queue size, padding (QEMU's 24-byte struct) */
        uint8_t d[24] = {0};
        uint64_t per = packed ? 32u + 32u * num : 16u + 16u * num;
        uint64_t size = ((per + 63u) & ~(uint64_t)63u) * nq, off = 0x3000;
        uint16_t q16 = (uint16_t)nq;
        const int32_t file = (int32_t)FM_DATA2;
        memcpy(d, &size, 8);
        memcpy(d + 8, &off, 8);
        memcpy(d + 16, &q16, 2);
        memcpy(d + 18, &num, 2);
        vu_front_msg(f, VDM_VHOST_USER_GET_INFLIGHT_FD, 0, d, 24, NULL, 0);
        vu_front_msg(f, VDM_VHOST_USER_SET_INFLIGHT_FD, ack, d, 24, &file, 1);
    }
    if (vu_log) {
        uint64_t lg[2] = {0, 0};
        const int32_t lf = (int32_t)FM_DATA2;
        (void)fm_file(FM_DATA2, &lg[0]);
        vu_front_msg(f, VDM_VHOST_USER_SET_LOG_BASE, 0, lg, 16, &lf, 1);
    }
    {
        /* the fuzz_mem regions but the ROM, at their guest addresses */
        static const unsigned regs[4] = {FM_HEAP, FM_DATA1, FM_DATA2, FM_HIGH};
        static const uint64_t gpas[4] = {FM_HEAP_GPA, FM_DATA1_GPA,
                                         FM_DATA2_GPA, FM_HIGH_GPA};
        struct vu_front_region r[4];
        int32_t files[4];
        for (unsigned i = 0; i < 4; i++) {
            (void)fm_file(regs[i], &r[i].size);
            r[i].gpa = gpas[i];
            r[i].uva = uaddr_of(gpas[i]);
            r[i].off = 0;
            files[i] = (int32_t)regs[i];
        }
        vu_front_mem_table(f, ack, r, 4, files);
    }
    for (unsigned q = 0; q < nq; q++) {
        uint64_t *a = &rings[3 * q];
        if (a[0] == 0) {
            a[0] = fm_ring_alloc(16u * num, 16);
            a[1] = fm_ring_alloc(6u + 2u * num, 4);
            a[2] = fm_ring_alloc(6u + 8u * num, 4);
        }
        vu_front_state(f, VDM_VHOST_USER_SET_VRING_NUM, 0, q, num);
        vu_front_state(f, VDM_VHOST_USER_SET_VRING_BASE, 0, q,
                       packed ? 0x80008000u : 0);
        vu_front_addr(f, 0, q, uaddr_of(a[0]), uaddr_of(a[2]), uaddr_of(a[1]));
        if (vu_log) {
            /* VHOST_VRING_F_LOG, log_guest_addr = the used ring's gpa */
            uint8_t la[40];
            uint32_t idx = q, fl = 1;
            uint64_t d = uaddr_of(a[0]), u = uaddr_of(a[2]),
                     av = uaddr_of(a[1]), used = a[2];
            memcpy(la, &idx, 4);
            memcpy(la + 4, &fl, 4);
            memcpy(la + 8, &d, 8);
            memcpy(la + 16, &u, 8);
            memcpy(la + 24, &av, 8);
            memcpy(la + 32, &used, 8);
            vu_front_msg(f, VDM_VHOST_USER_SET_VRING_ADDR, 0, la, 40, NULL, 0);
        }
        vu_front_u64(f, VDM_VHOST_USER_SET_VRING_CALL, 0, q, &ev, 1);
        vu_front_u64(f, VDM_VHOST_USER_SET_VRING_ERR, 0, q, &ev, 1);
        vu_front_u64(f, VDM_VHOST_USER_SET_VRING_KICK, 0, q, &ev, 1);
        vu_front_state(f, VDM_VHOST_USER_SET_VRING_ENABLE, 0, q, 1);
    }
    vu_front_u64(f, VDM_VHOST_USER_SET_STATUS, ack, 0xf, NULL, 0);
    vu_front_msg(f, VDM_VHOST_USER_GET_STATUS, 0, NULL, 0, NULL, 0);
    for (unsigned q = 0; q < nq; q++) {
        fo_u8(&O, VU_OP_KICK);
        fo_u8(&O, q);
    }
}

static void vu_seed_ex(unsigned kind, uint64_t feat, int packed, int ift,
                       const char *name)
{
    const uint16_t num = 16;
    const uint32_t ack = VDM_VHOST_USER_F_NEED_REPLY;
    uint64_t rings[3 * 4] = {0};
    unsigned nq = kind == FZ_KIND_RNG                            ? 1
                  : kind == FZ_KIND_INPUT || kind == FZ_KIND_GPU ? 2
                  : kind == FZ_KIND_SOUND                        ? 4
                                                                 : 1;
    struct vu_front *f = &FE;
    vu_front_init(f, vu_record, NULL, NULL, 0, NULL);
    start();
    fo_u8(&O, kind);
    fo_u8(&O, kind_cb[kind]);
    fo_u8(&O, 4);
    fo_u8(&O, 0);
    fm_reset(0, 0);
    vu_bringup(f, feat, packed, nq, num, ift, rings);
    switch (kind) {
    case FZ_KIND_BLK: blk_traffic(&O, VU_OP_DEV, 0, 0); break;
    case FZ_KIND_RNG: rng_traffic(&O, VU_OP_DEV); break;
    case FZ_KIND_GPU: gpu_traffic(&O, VU_OP_DEV); break;
    default: input_traffic(&O, VU_OP_DEV); break;
    }
    if (ift) {
        /* the back-end "crashes" (everything dropped, the region kept by
         * the front-end) and a new one takes the same rings and region */
        fo_u8(&O, VU_OP_RESET);
        vu_bringup(f, feat, packed, nq, num, ift, rings);
        if (kind == FZ_KIND_BLK)
            blk_traffic(&O, VU_OP_DEV, 0, 0);
    }
    {
        static const uint8_t led[2] = {0x11, 1};
        vu_front_config(f, VDM_VHOST_USER_GET_CONFIG, 0, 0, 16, NULL, 16);
        vu_front_config(f, VDM_VHOST_USER_SET_CONFIG, ack, 0, 2, led, 2);
    }
    {
        const struct vu_front_region rom = {FM_ROM_GPA, FM_ROM_SIZE,
                                            uaddr_of(FM_ROM_GPA), 0};
        vu_front_mem_reg(f, VDM_VHOST_USER_ADD_MEM_REG, ack, &rom, FM_ROM);
        vu_front_mem_reg(f, VDM_VHOST_USER_REM_MEM_REG, ack, &rom, -1);
    }
    for (unsigned q = 0; q < nq; q++)
        vu_front_state(f, VDM_VHOST_USER_GET_VRING_BASE, 0, q, 0);
    vu_front_msg(f, VDM_VHOST_USER_RESET_DEVICE, 0, NULL, 0, NULL, 0);
    fo_u8(&O, VU_OP_RESET);
    save("vhost_user", name);
}

static void vu_seed(unsigned kind, uint64_t feat, int packed, const char *name)
{
    vu_seed_ex(kind, feat, packed, 0, name);
}

/* SCMI platform (fuzz_scmi_platform.c): one message record. */
static void e_scmip(uint32_t proto, uint32_t msg, const uint32_t *par,
                    unsigned n, uint32_t cap)
{
    fo_u8(&O, 0);
    fo_u8(&O, 4 + 4 * n);
    fo_u32(&O, (msg & 0xff) | (proto << 10) | (1u << 18));
    for (unsigned i = 0; i < n; i++)
        fo_u32(&O, par[i]);
    fo_u8(&O, cap);
}

static void scmi_platform_seeds(void)
{
    static const uint32_t z[4] = {0, 0, 0, 0};
    /* Linux 6.12's agent at probe: base discovery, then each protocol's
     * version, attributes, message checks and descriptions. */
    start();
    fo_u8(&O, 1);
    for (uint32_t m = 0; m < 8; m++)
        e_scmip(0x10, m, z, m == 6 || m == 7 || m == 2 ? 1 : 0, 136);
    static const uint32_t protos[] = {0x11, 0x14, 0x15, 0x16};
    for (unsigned p = 0; p < 4; p++) {
        e_scmip(protos[p], 0, z, 0, 136);
        e_scmip(protos[p], 1, z, 0, 136);
        e_scmip(protos[p], 2, (const uint32_t[]){6}, 1, 136);
        e_scmip(protos[p], 3, z, 2, 136);
    }
    e_scmip(0x14, 4, (const uint32_t[]){1, 0}, 2, 136);
    e_scmip(0x15, 8, z, 2, 136);
    save("scmi_platform", "linux-probe");
    /* Sensor notifications: subscribe, arm trips, report, drain. */
    start();
    fo_u8(&O, 0);
    e_scmip(0x15, 11, (const uint32_t[]){0, 1}, 2, 136);
    e_scmip(0x15, 4, (const uint32_t[]){0, 1}, 2, 136);
    e_scmip(0x15, 5, (const uint32_t[]){0, 3, 50, 0}, 4, 136);
    for (uint32_t v = 0; v < 3; v++) {
        fo_u8(&O, 1);
        fo_u8(&O, 0);
        fo_u32(&O, v * 40);
        fo_u32(&O, 0);
    }
    for (unsigned i = 0; i < 5; i++) {
        fo_u8(&O, 2);
        fo_u8(&O, 63);
    }
    fo_u8(&O, 3);
    save("scmi_platform", "sensor-notify");
    /* Rates, power, reset with failing hooks and the smallest payload. */
    start();
    fo_u8(&O, 1 | (1 << 1) | 8);
    e_scmip(0x14, 5, (const uint32_t[]){4, 0, 5000, 0}, 4, 136);
    e_scmip(0x14, 7, (const uint32_t[]){1, 1}, 2, 136);
    e_scmip(0x11, 4, (const uint32_t[]){0, 1, 0}, 3, 136);
    e_scmip(0x16, 4, (const uint32_t[]){0, 1, 0}, 3, 136);
    e_scmip(0x15, 10, (const uint32_t[]){2, 1}, 2, 136);
    e_scmip(0x10, 6, (const uint32_t[]){0xffffffffu}, 1, 9);
    save("scmi_platform", "hooks-small");
}

/* vfio-user: one client message as a VFU_OP_MSG op. */
static void vfu_msg(uint16_t cmd, const void *pl, uint16_t len,
                    const uint8_t *files, uint8_t nfds)
{
    fo_u8(&O, VFU_OP_MSG);
    fo_u8(&O, (uint8_t)cmd);
    fo_u8(&O, 0);
    fo_u16(&O, len);
    fo_u8(&O, nfds);
    for (unsigned i = 0; i < nfds; i++)
        fo_u8(&O, files[i]);
    fo_bytes(&O, pl, len);
}

static void vfu_u32s(uint16_t cmd, const uint32_t *w, unsigned n,
                     const uint8_t *files, uint8_t nfds)
{
    uint8_t b[64];
    for (unsigned i = 0; i < n; i++)
        memcpy(b + 4 * i, &w[i], 4);
    vfu_msg(cmd, b, (uint16_t)(4 * n), files, nfds);
}

/* A client session: VERSION, DMA_MAP of the heap file, the information
 * queries, the whole config space, MSI-X eventfds and enable, region
 * accesses to BAR 0, reset, unmap; then a disconnect. Host byte order, as
 * the protocol says (the corpus is generated on the host that runs it). */
static void vfu_seed(unsigned kind, uint8_t pcib, const char *name,
                     int nofd_half)
{
    static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8,"
                               "\"max_data_xfer_size\":1048576}}";
    uint8_t b[256];
    start();
    fm_reset(0, 0);
    fo_u8(&O, kind);
    fo_u8(&O, kind_cb[kind]);
    fo_u8(&O, 4);
    fo_u8(&O, pcib);
    memset(b, 0, 4);
    memcpy(b + 4, json, sizeof(json));
    vfu_msg(VDM_VFIO_USER_VERSION, b, (uint16_t)(4 + sizeof(json)), NULL, 0);
    {
        uint64_t size = 0;
        (void)fm_file(FM_HEAP, &size);
        uint32_t w[8] = {32, 3, 0, 0};
        uint64_t gpa = FM_HEAP_GPA;
        if (nofd_half) {
            /* the second half without a file descriptor: reached with
             * DMA_READ / DMA_WRITE (bounce spans) */
            uint64_t half = size / 2, top = gpa + half;
            memcpy(&w[4], &top, 8);
            memcpy(&w[6], &half, 8);
            vfu_u32s(VDM_VFIO_USER_DMA_MAP, w, 8, NULL, 0);
            size = half;
        }
        memcpy(&w[4], &gpa, 8);
        memcpy(&w[6], &size, 8);
        const uint8_t file = FM_HEAP;
        vfu_u32s(VDM_VFIO_USER_DMA_MAP, w, 8, &file, 1);
    }
    {
        const uint32_t w[4] = {16, 0, 0, 0};
        vfu_u32s(VDM_VFIO_USER_DEVICE_GET_INFO, w, 4, NULL, 0);
    }
    for (uint32_t i = 0; i < VDM_VFIO_USER_NUM_REGIONS; i++) {
        const uint32_t w[8] = {32, 0, i, 0, 0, 0, 0, 0};
        vfu_u32s(VDM_VFIO_USER_DEVICE_GET_REGION_INFO, w, 8, NULL, 0);
    }
    for (uint32_t i = 0; i < VDM_VFIO_USER_NUM_IRQS; i++) {
        const uint32_t w[4] = {16, 0, i, 0};
        vfu_u32s(VDM_VFIO_USER_DEVICE_GET_IRQ_INFO, w, 4, NULL, 0);
    }
    {
        const uint32_t w[4] = {0, 0, VDM_VFIO_USER_REGION_CONFIG, 256};
        vfu_u32s(VDM_VFIO_USER_REGION_READ, w, 4, NULL, 0);
    }
    {
        const uint8_t ev[2] = {6, 7};
        const uint32_t w[5] = {20, 0x24, VDM_VFIO_USER_IRQ_MSIX, 0, 2};
        vfu_u32s(VDM_VFIO_USER_DEVICE_SET_IRQS, w, 5, ev, 2);
        const uint32_t x[5] = {20, 0x24, VDM_VFIO_USER_IRQ_INTX, 0, 1};
        vfu_u32s(VDM_VFIO_USER_DEVICE_SET_IRQS, x, 5, ev, 1);
        const uint32_t m[5] = {20, 0x09, VDM_VFIO_USER_IRQ_MSIX, 1, 1};
        vfu_u32s(VDM_VFIO_USER_DEVICE_SET_IRQS, m, 5, NULL, 0);
        const uint32_t u[5] = {20, 0x11, VDM_VFIO_USER_IRQ_INTX, 0, 1};
        vfu_u32s(VDM_VFIO_USER_DEVICE_SET_IRQS, u, 5, NULL, 0);
    }
    {
        /* Command: memory space + bus master; BAR 0 reads and writes */
        const uint32_t c[5] = {4, 0, VDM_VFIO_USER_REGION_CONFIG, 2, 6};
        vfu_u32s(VDM_VFIO_USER_REGION_WRITE, c, 5, NULL, 0);
        const uint32_t r[4] = {0, 0, 0, 64};
        vfu_u32s(VDM_VFIO_USER_REGION_READ, r, 4, NULL, 0);
        const uint32_t s[5] = {0x14, 0, 0, 1, 3};
        vfu_u32s(VDM_VFIO_USER_REGION_WRITE, s, 5, NULL, 0);
    }
    {
        /* DMA logging (DEVICE_FEATURE DMA_LOGGING_START) over the heap */
        uint32_t w[10] = {40, 6u | (1u << 17), 0, 0, 1, 0, 0, 0, 0, 0};
        uint64_t ps = 4096, gpa = FM_HEAP_GPA, size = 0;
        (void)fm_file(FM_HEAP, &size);
        memcpy(&w[2], &ps, 8);
        memcpy(&w[6], &gpa, 8);
        memcpy(&w[8], &size, 8);
        vfu_u32s(VDM_VFIO_USER_DEVICE_FEATURE, w, 10, NULL, 0);
    }
    fo_u8(&O, VFU_OP_DEV);
    fo_u8(&O, 0);
    {
        /* DMA_LOGGING_REPORT of the heap, then STOP */
        uint32_t w[8] = {4096, 8u | (1u << 16), 0, 0, 0, 0, 0, 0};
        uint64_t gpa = FM_HEAP_GPA, size = 0, ps = 4096;
        (void)fm_file(FM_HEAP, &size);
        memcpy(&w[2], &gpa, 8);
        memcpy(&w[4], &size, 8);
        memcpy(&w[6], &ps, 8);
        vfu_u32s(VDM_VFIO_USER_DEVICE_FEATURE, w, 8, NULL, 0);
        const uint32_t st[2] = {8, 7u | (1u << 17)};
        vfu_u32s(VDM_VFIO_USER_DEVICE_FEATURE, st, 2, NULL, 0);
    }
    vfu_msg(VDM_VFIO_USER_DEVICE_RESET, b, 0, NULL, 0);
    {
        const uint32_t w[8] = {8, 6 | (1u << 16), 0, 0, 0, 0, 0, 0};
        vfu_u32s(VDM_VFIO_USER_DEVICE_FEATURE, w, 2, NULL, 0);
        uint32_t u[6] = {24, 0, 0, 0, 0, 0};
        uint64_t gpa = FM_HEAP_GPA, size = 0;
        (void)fm_file(FM_HEAP, &size);
        memcpy(&u[2], &gpa, 8);
        memcpy(&u[4], &size, 8);
        vfu_u32s(VDM_VFIO_USER_DMA_UNMAP, u, 6, NULL, 0);
    }
    fo_u8(&O, VFU_OP_RESET);
    save("vfio_user", name);
}

/* fuzz_state: traffic, saves with and without spoiled bytes, raw images. */
static void state_seed(unsigned kind, uint8_t cb, uint64_t feat,
                       const char *name)
{
    static const uint8_t head[24] = {'V', 'D', 'M', 'S', 1, 0, 24, 0,
                                     24,  0,   0,   0,   2, 0, 0,  0};
    start();
    fo_u8(&O, kind);
    fo_u8(&O, cb);
    fo_u8(&O, 4);
    fo_u64(&O, feat);
    fo_u8(&O, 0);
    if (kind == FZ_KIND_BLK)
        blk_traffic(&O, STATE_OP_DEV, 0, 0);
    else if (kind == FZ_KIND_RNG)
        rng_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_CONSOLE)
        console_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_GPIO)
        gpio_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_I2C)
        i2c_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_SPI)
        spi_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_CAN)
        can_traffic(&O, STATE_OP_DEV);
    else if (kind == FZ_KIND_RPMB)
        rpmb_traffic(&O, STATE_OP_DEV);
    else
        input_traffic(&O, STATE_OP_DEV);
    fo_u8(&O, STATE_OP_SAVE); /* as saved */
    fo_u8(&O, 0);
    fo_u16(&O, 0);
    fo_u8(&O, STATE_OP_HOST);
    fo_u8(&O, STATE_OP_SAVE); /* status byte and a queue size spoiled */
    fo_u8(&O, 2);
    fo_u16(&O, 32);
    fo_u8(&O, 0x40);
    fo_u16(&O, 84);
    fo_u8(&O, 0x03);
    fo_u16(&O, 0);
    fo_u8(&O, STATE_OP_SAVE); /* cut short */
    fo_u8(&O, 0);
    fo_u16(&O, 9);
    fo_u8(&O, STATE_OP_RAW); /* a header and nothing else */
    fo_u16(&O, sizeof(head));
    fo_bytes(&O, head, sizeof(head));
    fo_u8(&O, STATE_OP_RESET);
    fo_u64(&O, feat);
    if (kind == FZ_KIND_BLK)
        blk_traffic(&O, STATE_OP_DEV, 0, 1);
    fo_u8(&O, STATE_OP_SAVE);
    fo_u8(&O, 0);
    fo_u16(&O, 0);
    save("state", name);
}

/* fuzz_state_tp: a device behind MMIO or PCI (MSI-X), traffic, the
 * transport's image saved mid-stream and restored as saved, then with the
 * status, a queue size and a ring address spoiled, then cut short; a
 * notification per queue and register accesses after each restore. */
static void tps_traffic(unsigned kind, int again)
{
    switch (kind) {
    case FZ_KIND_BLK: blk_traffic(&O, TPS_OP_DEV, 0, again); break;
    case FZ_KIND_RNG: rng_traffic(&O, TPS_OP_DEV); break;
    case FZ_KIND_SOUND: sound_traffic(&O, TPS_OP_DEV); break;
    case FZ_KIND_GPU: gpu_traffic(&O, TPS_OP_DEV); break;
    case FZ_KIND_SCMI: scmi_traffic(&O, TPS_OP_DEV); break;
    case FZ_KIND_BALLOON: balloon_traffic(&O, TPS_OP_DEV); break;
    default: input_traffic(&O, TPS_OP_DEV); break;
    }
}

static void tps_seed(unsigned kind, uint8_t cb, uint64_t feat, uint8_t tp,
                     uint16_t nvec, const char *name)
{
    static const uint32_t spoil[3][2] = {
        {32, 0x40},      /* core status */
        {24 + 48 + 12, 0x03}, /* queue 0 size */
        {24 + 48 + 16, 0x80}, /* queue 0 descriptor area */
    };
    start();
    fo_u8(&O, kind);
    fo_u8(&O, cb);
    fo_u8(&O, 4);
    fo_u64(&O, feat);
    fo_u8(&O, 0);
    fo_u8(&O, tp);
    fo_u16(&O, nvec);
    tps_traffic(kind, 0);
    fo_u8(&O, TPS_OP_SAVE); /* as saved, requests in flight */
    fo_u8(&O, 0);
    fo_u16(&O, 0);
    for (uint8_t q = 0; q < 4; q++) {
        fo_u8(&O, TPS_OP_NOTIFY);
        fo_u8(&O, q);
        fo_u32(&O, q);
    }
    tps_traffic(kind, 1);
    fo_u8(&O, TPS_OP_HOST);
    fo_u8(&O, TPS_OP_SAVE); /* spoiled */
    fo_u8(&O, 3);
    for (unsigned i = 0; i < 3; i++) {
        fo_u32(&O, spoil[i][0]);
        fo_u8(&O, (uint8_t)spoil[i][1]);
    }
    fo_u16(&O, 0);
    fo_u8(&O, TPS_OP_SAVE); /* the transport's section cut short */
    fo_u8(&O, 0);
    fo_u16(&O, 9);
    /* registers: MMIO QueueSel, QueueNumMax, Status; PCI command, the
     * first BAR's first words (common configuration by default) */
    fo_u8(&O, TPS_OP_WRITE);
    fo_u8(&O, 1);
    fo_u32(&O, (tp & 1) ? VDM_PCI_COMMON_Q_SELECT : VDM_MMIO_QUEUE_SEL);
    fo_u8(&O, (tp & 1) ? 2 : 4);
    fo_u64(&O, 0);
    fo_u8(&O, TPS_OP_READ);
    fo_u8(&O, 1);
    fo_u32(&O, (tp & 1) ? VDM_PCI_COMMON_Q_SIZE : VDM_MMIO_QUEUE_SIZE_MAX);
    fo_u8(&O, (tp & 1) ? 2 : 4);
    fo_u8(&O, TPS_OP_READ);
    fo_u8(&O, 0);
    fo_u32(&O, (tp & 1) ? 4 : VDM_MMIO_STATUS);
    fo_u8(&O, (tp & 1) ? 2 : 4);
    fo_u8(&O, TPS_OP_RESET);
    fo_u8(&O, TPS_OP_SAVE); /* a reset device's image */
    fo_u8(&O, 0);
    fo_u16(&O, 0);
    save("state_transport", name);
}

/* ------------------------------------------------------------------------ */
/* fuzz_admin (the input format is in fuzz_admin.c)                         */
/* ------------------------------------------------------------------------ */

enum { A_CMD, A_RESET, A_SUSPEND, A_STATUS, A_QRESET, A_USE_ALL };

/* One command in fresh memory: @p nr readable pieces, @p nw writable ones. */
static void e_adm(uint16_t op, uint16_t grp, uint64_t member,
                  const void *d, uint8_t dlen, uint8_t nr, uint16_t wlen,
                  uint8_t nw)
{
    fo_u8(&O, A_CMD);
    fo_u16(&O, op);
    fo_u16(&O, grp);
    if (member != 0) {
        fo_u8(&O, 1);
        fo_u64(&O, member);
    } else {
        fo_u8(&O, 0);
    }
    fo_u8(&O, dlen);
    fo_bytes(&O, d, dlen);
    fo_u8(&O, nr);
    fo_u16(&O, wlen);
    fo_u8(&O, (uint8_t)(nw - 1));
    fo_u8(&O, 0); /* fresh memory */
}

static void e_adm_obj(uint16_t op, uint16_t type, uint32_t id)
{
    uint8_t d[24] = {0};
    d[0] = (uint8_t)type;
    d[1] = (uint8_t)(type >> 8);
    d[4] = (uint8_t)id;
    memset(d + 16, 0x33, 8);
    e_adm(op, 0, 0, d, op == 0xd ? 8 : 24, 1, 64, 1);
}

static void admin_seeds(void)
{
    static const uint8_t all[8] = {0x83, 0x3f};
    static const uint8_t lists[8] = {0x03};
    static const uint8_t cap800[8] = {0x00, 0x08};
    static const uint8_t set800[12] = {0x00, 0x08, 0, 0, 0, 0, 0, 0, 2};

    /* Linux 6.12 at probe (virtio_pci_modern.c): LIST_QUERY with the SR-IOV
     * group type and an 8-byte result; then the self group's commands. */
    start();
    fo_u8(&O, 0x4);
    fo_u8(&O, 4);
    e_adm(0x0, 1, 0, NULL, 0, 1, 16, 1);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    e_adm(0x1, 0, 0, all, 8, 2, 8, 1);
    e_adm(0x7, 0, 0, NULL, 0, 1, 512, 2);
    e_adm(0x8, 0, 0, cap800, 8, 1, 16, 1);
    e_adm(0x9, 0, 0, set800, 12, 1, 8, 1);
    e_adm_obj(0xa, 0x200, 0);
    e_adm_obj(0xa, 0x200, 0);
    e_adm_obj(0xb, 0x200, 0);
    e_adm_obj(0xc, 0x200, 0);
    e_adm_obj(0xd, 0x200, 0);
    e_adm_obj(0xb, 0x200, 0);
    e_adm_obj(0xa, 0x201, 1);
    save("admin", "linux-probe");
    /* Hostile headers and buffers: groups, opcodes, members, lengths. */
    start();
    fo_u8(&O, 0x6);
    fo_u8(&O, 3);
    fo_u8(&O, A_USE_ALL);
    e_adm(0x8000, 0, 0, NULL, 0, 1, 16, 1);
    e_adm(0x7777, 1, 5, NULL, 0, 1, 16, 1);
    e_adm(0x7, 0, 3, NULL, 0, 1, 16, 1);
    e_adm(0x0, 0, 77, NULL, 0, 0, 16, 1);
    e_adm(0x0, 0, 0, NULL, 0, 3, 3, 1);
    e_adm(0x0, 0, 0, NULL, 0, 1, 12, 2);
    e_adm(0x0, 0, 0, NULL, 0, 1, 0, 1);
    e_adm(0x7, 0, 0, NULL, 0, 3, 1099, 2);
    e_adm(0x1, 0, 0, lists, 8, 1, 8, 1);
    e_adm(0x7, 0, 0, NULL, 0, 1, 64, 1);
    e_adm(0x1, 0, 0, all, 2, 1, 8, 1);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    /* a command whose writable part lies across a region end */
    fo_u8(&O, A_CMD);
    fo_u16(&O, 0);
    fo_u16(&O, 0);
    fo_u8(&O, 0);
    fo_u8(&O, 0);
    fo_u8(&O, 1);
    fo_u16(&O, 64);
    fo_u8(&O, 0);
    fo_u8(&O, 1);    /* chosen addresses */
    fo_u8(&O, 0);    /* readable: fresh */
    fo_u8(&O, 6);    /* writable: FM_SEL_END */
    fo_u8(&O, 0);
    fo_u8(&O, 16);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    save("admin", "hostile");
    /* SUSPEND and resume around commands; queue and device resets. */
    start();
    fo_u8(&O, 0x8 | 0x4);
    fo_u8(&O, 5);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    fo_u8(&O, A_SUSPEND);
    fo_u8(&O, 0);
    e_adm(0x1, 0, 0, all, 8, 1, 8, 1);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    fo_u8(&O, A_SUSPEND);
    fo_u8(&O, 1);
    e_adm(0x7, 0, 0, NULL, 0, 1, 512, 1);
    fo_u8(&O, A_QRESET);
    e_adm(0x7, 0, 0, NULL, 0, 1, 512, 1);
    fo_u8(&O, A_RESET);
    e_adm(0x7, 0, 0, NULL, 0, 1, 512, 1);
    fo_u8(&O, A_STATUS);
    fo_u8(&O, 0);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    save("admin", "suspend-reset");
    /* A device type without admin ops, packed ring, translate hooks. */
    start();
    fo_u8(&O, 0x3);
    fo_u8(&O, 2);
    e_adm(0x0, 0, 0, NULL, 0, 1, 16, 1);
    e_adm(0x1, 0, 0, all, 8, 1, 8, 1);
    e_adm(0x1, 0, 0, lists, 8, 1, 8, 1);
    e_adm(0x8, 0, 0, cap800, 8, 1, 16, 1);
    save("admin", "plain-packed-hooks");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    vq_seeds("vq_split", 0);
    vq_seeds("vq_packed", 1);
    devt_seeds();
    const uint64_t all = ~0ull;
    mmio_seed(FZ_KIND_BLK, all & ~VDM_F_RING_PACKED, 0, "blk-split");
    mmio_seed(FZ_KIND_BLK, all, 0, "blk-packed");
    mmio_seed(FZ_KIND_RNG, VDM_F_INDIRECT_DESC, 1, "rng-hooks");
    mmio_seed(FZ_KIND_INPUT, VDM_F_EVENT_IDX, 0, "input-event-idx");
    pci_seed(FZ_KIND_BLK, all & ~VDM_F_RING_PACKED, 1, 0, "blk-msix");
    pci_seed(FZ_KIND_BLK, all, 0, 0, "blk-packed-intx");
    pci_seed(FZ_KIND_RNG, 0, 1, 1, "rng-window");
    pci_seed(FZ_KIND_INPUT, VDM_F_EVENT_IDX, 1, 0, "input-msix");
    vu_seed(FZ_KIND_BLK, VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX, 0, "blk");
    vu_seed(FZ_KIND_BLK, 0, 1, "blk-packed");
    vu_seed_ex(FZ_KIND_BLK, VDM_F_EVENT_IDX, 0, 1, "blk-inflight");
    vu_seed_ex(FZ_KIND_BLK, 0, 1, 1, "blk-packed-inflight");
    vu_log = 1;
    vu_seed(FZ_KIND_BLK, VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX, 0, "blk-log");
    vu_seed(FZ_KIND_BLK, 0, 1, "blk-packed-log");
    vu_log = 0;
    vu_seed(FZ_KIND_RNG, 0, 0, "rng");
    vu_seed(FZ_KIND_INPUT, VDM_F_EVENT_IDX, 0, "input");
    mmio_seed(FZ_KIND_GPU, VDM_F_EVENT_IDX, 0, "gpu");
    pci_seed(FZ_KIND_GPU, VDM_F_RING_PACKED, 1, 0, "gpu-msix");
    vu_seed(FZ_KIND_GPU, 0, 0, "gpu");
    scmi_platform_seeds();
    vfu_seed(FZ_KIND_RNG, 2, "rng-msix", 0);
    vfu_seed(FZ_KIND_BLK, 0, "blk-intx", 0);
    vfu_seed(FZ_KIND_INPUT, 0x13, "input-nointx", 0);
    vfu_seed(FZ_KIND_BLK, 2, "blk-nofd", 1);
    state_seed(FZ_KIND_BLK, 0x06, VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX,
               "blk-split");
    state_seed(FZ_KIND_BLK, 0x06, VDM_F_RING_PACKED, "blk-packed");
    state_seed(FZ_KIND_RNG, 0, 0, "rng");
    state_seed(FZ_KIND_INPUT, 0, VDM_F_EVENT_IDX, "input");
    state_seed(FZ_KIND_CONSOLE, 0, VDM_F_EVENT_IDX | 7u, "console");
    state_seed(FZ_KIND_GPIO, 0, VDM_F_EVENT_IDX | 1u, "gpio");
    state_seed(FZ_KIND_I2C, 0, VDM_F_EVENT_IDX | 1u, "i2c");
    state_seed(FZ_KIND_SPI, 0, 0, "spi");
    state_seed(FZ_KIND_CAN, 0, VDM_F_EVENT_IDX | 1u, "can");
    state_seed(FZ_KIND_RPMB, 0, 0, "rpmb");
    {
        static const struct {
            unsigned kind;
            uint8_t cb;
            uint64_t feat;
            const char *name;
        } tps[] = {
            {FZ_KIND_BLK, 0x06, VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX, "blk"},
            {FZ_KIND_BLK, 0x06, VDM_F_RING_PACKED, "blk-packed"},
            {FZ_KIND_INPUT, 0, VDM_F_EVENT_IDX, "input"},
            {FZ_KIND_BALLOON, 0x0b, 0x3full, "balloon"},
            {FZ_KIND_GPU, 0xe7,
             VDM_GPU_F_EDID | VDM_GPU_F_RESOURCE_BLOB |
                 VDM_GPU_F_RESOURCE_UUID | VDM_GPU_F_BLOB_ALIGNMENT,
             "gpu"},
            {FZ_KIND_SOUND, 0, VDM_F_EVENT_IDX | VDM_F_INDIRECT_DESC, "sound"},
            {FZ_KIND_SCMI, 0, VDM_F_INDIRECT_DESC | 1ull, "scmi"},
            {FZ_KIND_RNG, 0, 0, "rng"},
        };
        for (unsigned i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
            char name[64];
            snprintf(name, sizeof(name), "%s-mmio", tps[i].name);
            tps_seed(tps[i].kind, tps[i].cb, tps[i].feat, 0, 0, name);
            snprintf(name, sizeof(name), "%s-pci-msix", tps[i].name);
            tps_seed(tps[i].kind, tps[i].cb, tps[i].feat, 1, 4, name);
        }
        tps_seed(FZ_KIND_BLK, 0x06, VDM_F_EVENT_IDX, 1 | 2 | 8, 3,
                 "blk-pci-bar32-msix-bar");
        tps_seed(FZ_KIND_INPUT, 0, 0, 1, 0, "input-pci-intx");
    }
    admin_seeds();
    printf("%u seeds written to %s\n", nseeds, outdir);
    return 0;
}
