/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm-e2e-vu-cmd: what the device-specific command files (vu_cmd.c for
 * I2C and GPIO, vu_can.c for CAN, vu_spi.c for SPI) share: one front-end (a
 * vhost-user connection, guest memory in a memfd, the driver simulator's split
 * rings) and its helpers.
 */
#ifndef VDM_E2E_VU_CMD_H
#define VDM_E2E_VU_CMD_H

#include <stdint.h>

#include "drv.h"
#include "vu_front.h"

#define FE_MEM_SIZE (1u << 20)
#define FE_NUM      16u /* ring size */
#define FE_MAXQ     3u
#define MAXLINES    256u

/** One front-end: rings q[0..nq-1] at 0x1000 + 0x4000 * q; guest memory
 *  from 0x10000 up is the command files' own. */
struct fe {
    struct vu_front v;
    int memfd;
    uint8_t *mem;
    struct drv_guest g;
    struct drv_vq q[FE_MAXQ];
    int32_t kick[FE_MAXQ], call[FE_MAXQ];
    unsigned nq;
    uint64_t features;         /* negotiated */
    uint8_t evstate[MAXLINES]; /* GPIO: 0 idle, 1 armed, 2 back */
};

/** Print "vdm-e2e-vu-cmd: error: ..." and exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/** Connect to @p path, negotiate every device feature offered except
 *  those in @p drop, map memory, start @p nq rings. */
void fe_open(struct fe *f, const char *path, unsigned nq, uint64_t drop);
/** Add a chain to ring @p q (dies when full). */
void fe_add(struct fe *f, unsigned q, const struct drv_buf *out, unsigned nout,
            const struct drv_buf *in, unsigned nin, uintptr_t cookie);
/** Publish ring @p q and kick it. */
void fe_kick(struct fe *f, unsigned q);
/** One used buffer of ring @p q within @p ms: 1 (cookie, len set) or 0. */
int fe_used(struct fe *f, unsigned q, unsigned ms, uintptr_t *cookie,
            uint32_t *len);
/** Milliseconds of CLOCK_MONOTONIC. */
uint64_t now_ms(void);
/** strtoul() of a whole token in any base (dies on garbage or NULL). */
unsigned long num(const char *s);
void put_le16(uint8_t *p, uint32_t v);
void put_le32(uint8_t *p, uint32_t v);
uint32_t get_le16(const uint8_t *p);
uint32_t get_le32(const uint8_t *p);

/** sh CMD / sleep MS (every mode): @return 1 when @p cmd was one. */
int common_cmd(const char *cmd, char **save);
/** CAN mode (vu_can.c): run commands from stdin; @return exit status. */
int can_main(void);
/** SPI mode (vu_spi.c): run commands from stdin; @return exit status. */
int spi_main(void);
/** Input mode (vu_input.c): run commands from stdin; @return exit status. */
int input_main(void);

#endif
