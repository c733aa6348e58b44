/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-spi (fuzz_dev.h). Requests are a 32-byte transfer
 * head built from a few fuzz bytes (each field valid for the plug-in's
 * configuration or anything) followed by tx bytes; the bus completes
 * transfers at once (OK or TRANS_ERR), keeps them for a later completion,
 * or refuses them. Every transfer it is handed is checked against the
 * configuration (the device let nothing invalid through), its spans to be
 * guest memory of the right direction adding up to its length; used
 * lengths are 0, 1 or the writable length. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/spi.h"

#define SP_KEEP 16u

static struct {
    struct vdm_spi spi;
    struct vdm_spi_ops ops;
    struct vdm_spi_config c;
    unsigned mode; /* 0 complete OK, 1 TRANS_ERR, 2 keep, 3 refuse */
    uintptr_t tokens[SP_KEEP];
    unsigned ntok;
} SP;

static void sp_check(const struct vdm_spi_transfer *t)
{
    const struct vdm_spi_config *c = &SP.c;
    uint32_t bpw = t->bits_per_word;
    uint32_t wb = bpw <= 8u ? 1u : bpw <= 16u ? 2u : 4u;
    uint64_t total = 0;

    FZ_CHECK(t->chip_select < c->cs_max_number, "cs %u", t->chip_select);
    FZ_CHECK(bpw >= 1u && bpw <= 32u, "bpw %u", bpw);
    FZ_CHECK(c->bits_per_word_mask == 0u ||
                 (c->bits_per_word_mask & (1u << (bpw - 1u))),
             "bpw %u not in mask", bpw);
    FZ_CHECK(t->len % wb == 0u, "len %u for %u-bit words", t->len, bpw);
    FZ_CHECK(c->max_len == 0u || t->len <= c->max_len, "len %u", t->len);
    FZ_CHECK(t->cs_change <= c->cs_change_supported, "cs_change");
    FZ_CHECK((t->mode & ~0x1fu) == 0u, "mode %#x", t->mode);
    FZ_CHECK(c->max_freq_hz == 0u || t->freq <= c->max_freq_hz, "freq");
    FZ_CHECK(t->word_delay_ns <= c->max_word_delay_ns &&
                 t->cs_setup_ns <= c->max_cs_setup_ns &&
                 t->cs_hold_ns <= c->max_cs_hold_ns &&
                 t->cs_inactive_ns <= c->max_cs_inactive_ns,
             "delay beyond its maximum");
    FZ_CHECK(t->tx_nbits == 1u || t->tx_nbits == 2u || t->tx_nbits == 4u ||
                 t->tx_nbits == 8u,
             "tx_nbits %u", t->tx_nbits);
    FZ_CHECK(t->tx != NULL || t->rx != NULL || t->len == 0u, "len, no bufs");
    if (t->tx != NULL) {
        fd_spans_check(t->tx, t->ntx, 0, &total);
        FZ_CHECK(total == t->len, "tx spans %llu, len %u",
                 (unsigned long long)total, t->len);
    }
    if (t->rx != NULL) {
        total = 0;
        fd_spans_check(t->rx, t->nrx, 1, &total);
        FZ_CHECK(total == t->len, "rx spans %llu, len %u",
                 (unsigned long long)total, t->len);
        for (uint32_t j = 0; j < t->nrx; j++)
            memset(t->rx[j].base, 0x3c, t->rx[j].len);
    }
}

static int sp_transfer(void *host, const struct vdm_spi_transfer *t,
                       uintptr_t token)
{
    (void)host;
    sp_check(t);
    switch (SP.mode) {
    case 0:
    case 1:
        FZ_CHECK(vdm_spi_complete(&SP.spi, token,
                                  SP.mode ? VDM_SPI_TRANS_ERR
                                          : VDM_SPI_TRANS_OK) == 0,
                 "complete");
        return 0;
    case 2:
        if (SP.ntok < SP_KEEP) {
            SP.tokens[SP.ntok++] = token;
            return 0;
        }
        return VDM_EBUSY;
    default: return VDM_EIO;
    }
}

/* cb: bits 0-1 bus mode, bit 2 bits_per_word_mask 0 (any), bit 3 all
 * modes and n-bit modes supported, bit 4 max_len 64. */
static int spi_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    memset(&SP, 0, sizeof(SP));
    base->num_queues = 1;
    SP.mode = cb & 3u;
    SP.ops =
        (struct vdm_spi_ops){.size = sizeof(SP.ops), .transfer = sp_transfer};
    SP.c = (struct vdm_spi_config){.size = sizeof(SP.c)};
    SP.c.cs_max_number = 4;
    SP.c.cs_change_supported = (cb & 8u) ? 1u : 0u;
    SP.c.tx_nbits_supported = (cb & 8u) ? 7u : 0u;
    SP.c.rx_nbits_supported = (cb & 8u) ? 7u : 1u;
    SP.c.bits_per_word_mask = (cb & 4u) ? 0u : (1u << 7) | (1u << 15);
    SP.c.mode_func_supported = (cb & 8u) ? 0x7fu : 0x05u;
    SP.c.max_freq_hz = 10000000;
    SP.c.max_word_delay_ns = (cb & 8u) ? 1000u : 0u;
    SP.c.max_cs_setup_ns = 100;
    SP.c.max_cs_hold_ns = 100;
    SP.c.max_cs_inactive_ns = 100;
    SP.c.max_len = (cb & 16u) ? 64u : 0u;
    SP.c.ops = &SP.ops;
    return vdm_spi_init(&SP.spi, dev, &SP.c, base);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* sel bit 0: raw head (32 fuzz bytes); else a valid-leaning head whose
 * fields come from the next bytes; then n (0..31) tx bytes. */
static uint32_t spi_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t sel = fz_u8(f);
    uint32_t n = (uint32_t)(sel >> 3) & 31u;

    (void)type;
    memset(req, 0, VDM_SPI_HEAD_BYTES + n);
    if (sel & 1u) {
        fz_bytes(f, req, VDM_SPI_HEAD_BYTES);
    } else {
        uint8_t a = fz_u8(f), b = fz_u8(f);
        req[VDM_SPI_OFF_CHIP_SELECT] = (uint8_t)(a & 7u);
        req[VDM_SPI_OFF_BITS_PER_WORD] = (a & 8u) ? 16u : 8u;
        req[VDM_SPI_OFF_CS_CHANGE] = (uint8_t)((a >> 4) & 1u);
        req[VDM_SPI_OFF_TX_NBITS] = (uint8_t)((b & 3u) ? 1u << (b & 3u) : 0u);
        req[VDM_SPI_OFF_RX_NBITS] =
            (uint8_t)(((b >> 2) & 3u) ? 1u << ((b >> 2) & 3u) : 0u);
        put32(req + VDM_SPI_OFF_MODE, (uint32_t)(a >> 5));
        put32(req + VDM_SPI_OFF_FREQ, (sel & 2u) ? fz_u32(f) : 1000000u);
        put32(req + VDM_SPI_OFF_WORD_DELAY, (b & 0x10u) ? 50u : 0u);
        put32(req + VDM_SPI_OFF_CS_SETUP, (b & 0x20u) ? 100u : 0u);
        put32(req + VDM_SPI_OFF_CS_HOLD, (b & 0x40u) ? 101u : 0u);
        put32(req + VDM_SPI_OFF_CS_INACTIVE, (sel & 4u) ? fz_u32(f) : 0u);
    }
    for (uint32_t i = 0; i < n; i++)
        req[VDM_SPI_HEAD_BYTES + i] = (uint8_t)(i * 3u);
    return VDM_SPI_HEAD_BYTES + n;
}

static void spi_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    (void)q;
    FZ_CHECK(u->len == 0u || u->len == 1u || u->len == r->wlen,
             "used len %u of %llu writable", u->len,
             (unsigned long long)r->wlen);
}

static void sp_complete_kept(unsigned i, uint32_t res)
{
    uintptr_t t;
    int rc;
    if (i >= SP.ntok)
        return;
    t = SP.tokens[i];
    SP.tokens[i] = SP.tokens[--SP.ntok];
    rc = vdm_spi_complete(&SP.spi, t, res);
    FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "complete kept %d", rc);
}

static void spi_host(uint8_t act, uint32_t arg)
{
    switch (act % 3) {
    case 0: SP.mode = arg % 4u; break;
    case 1:
        sp_complete_kept(arg % (SP.ntok + 1u),
                         (arg & 0x100u) ? VDM_SPI_TRANS_ERR : VDM_SPI_TRANS_OK);
        break;
    default: {
        /* A made-up token: refused unless it is one the host holds. */
        uintptr_t t = (uintptr_t)arg;
        int held = 0;
        for (unsigned i = 0; i < SP.ntok; i++)
            held |= SP.tokens[i] == t;
        if (!held)
            FZ_CHECK(vdm_spi_complete(&SP.spi, t, VDM_SPI_TRANS_OK) ==
                         VDM_ENOENT,
                     "forged token accepted");
        break;
    }
    }
}

static void spi_complete_all(void)
{
    SP.mode = 0;
    while (SP.ntok > 0)
        sp_complete_kept(0, VDM_SPI_TRANS_OK);
}

static void spi_finish(void)
{
    FZ_CHECK(vdm_spi_in_flight(&SP.spi) == 0, "transfer left in flight");
}

const struct fuzz_dev_plugin fuzz_dev_spi = {
    .name = "spi",
    .create = spi_create,
    .request = spi_request,
    .check_used = spi_check_used,
    .host = spi_host,
    .complete_all = spi_complete_all,
    .finish = spi_finish,
};
