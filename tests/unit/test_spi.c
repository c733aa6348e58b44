/* SPDX-License-Identifier: BSD-3-Clause */
/* SPI controller device (spec "SPI Controller Device"): configuration
 * layout, full-duplex and half-duplex transfers, every head field checked
 * against the configuration with VIRTIO_SPI_PARAM_ERR and no host call,
 * tx/rx length rules, asynchronous completion through tokens (in order to
 * the host, out of order back), reset with transfers at the host, and
 * hostile chains (short heads, no result byte, heads split across
 * descriptors, too many spans, floods). Driven by the driver simulator
 * directly and behind MMIO and PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/spi.h"

#define QMAX 64
#define HB   VDM_SPI_HEAD_BYTES

/* ------------------------------------------------------------------------ */
/* The host: a loopback-ish bus (rx = tx xor 0x5a, or 0xc3.. for reads)    */

struct bus {
    int keep;   /* keep tokens instead of completing */
    int refuse; /* transfer returns VDM_EIO */
    uint32_t result;
    int ntransfers;
    struct vdm_spi_transfer last;
    uint8_t tx[4096];
    uintptr_t tokens[64];
    unsigned ntok;
    const struct vdm_spi_transfer *held[64];
};

static struct bus bus;
static struct dh h;
static struct vdm_spi spi;

static uint32_t flat_in(const struct vdm_iov *iov, uint32_t n, uint8_t *out)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(out + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    return off;
}

/* Fill the rx spans: tx xor 0x5a in full duplex, a counting pattern for a
 * half-duplex read. */
static void fill_rx(const struct vdm_spi_transfer *t)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < t->nrx; i++) {
        uint8_t *p = t->rx[i].base;
        for (uint32_t j = 0; j < t->rx[i].len; j++, off++)
            p[j] = t->tx != NULL ? (uint8_t)(bus.tx[off] ^ 0x5a)
                                 : (uint8_t)(0xc3 + off);
    }
    if (t->nrx != 0)
        ck_assert_uint_eq(off, t->len);
}

static int bus_transfer(void *host, const struct vdm_spi_transfer *t,
                        uintptr_t token)
{
    ck_assert_ptr_eq(host, &bus);
    ck_assert_uint_ne(token, 0);
    bus.ntransfers++;
    bus.last = *t;
    ck_assert_uint_eq(t->reserved2, 0);
    ck_assert(t->tx != NULL || t->ntx == 0);
    ck_assert(t->rx != NULL || t->nrx == 0);
    if (t->tx != NULL)
        ck_assert_uint_eq(flat_in(t->tx, t->ntx, bus.tx), t->len);
    if (bus.refuse)
        return VDM_EIO;
    fill_rx(t);
    if (bus.keep) {
        bus.tokens[bus.ntok++] = token;
        return 0;
    }
    ck_assert_int_eq(vdm_spi_complete(&spi, token, bus.result), 0);
    return 0;
}

static const struct vdm_spi_ops bus_ops = {
    .size = sizeof(struct vdm_spi_ops),
    .transfer = bus_transfer,
};

static struct vdm_spi_config cfg(void)
{
    struct vdm_spi_config c = VDM_INIT(struct vdm_spi_config);
    c.cs_max_number = 2;
    c.cs_change_supported = 1;
    c.tx_nbits_supported = VDM_SPI_NBITS_DUAL | VDM_SPI_NBITS_QUAD;
    c.rx_nbits_supported = VDM_SPI_NBITS_DUAL;
    c.bits_per_word_mask = (1u << 7) | (1u << 15); /* 8 and 16 */
    c.mode_func_supported = VDM_SPI_FUNC_CPHA_0 | VDM_SPI_FUNC_CPHA_1 |
                            VDM_SPI_FUNC_CPOL_0 | VDM_SPI_FUNC_LSB_FIRST;
    c.max_freq_hz = 50000000;
    c.max_word_delay_ns = 100;
    c.max_cs_setup_ns = 200;
    c.max_cs_hold_ns = 300;
    c.max_cs_inactive_ns = 0;
    c.max_len = 1024;
    c.ops = &bus_ops;
    c.host = &bus;
    return c;
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 1, .qsize = QMAX};
    struct vdm_spi_config c = cfg();
    memset(&bus, 0, sizeof(bus));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    ck_assert_int_eq(vdm_spi_init(&spi, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_spi_dev(&spi), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define dq (*dh_vq(&h, 0))

static void bringup(void)
{
    ck_assert_int_eq(dh_bring_up(&h, VDM_F_VERSION_1, 1), 0);
}

/* ------------------------------------------------------------------------ */
/* The driver                                                               */

struct head {
    uint8_t b[HB];
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A valid head: chip select 1, 8 bits, 1 MHz. */
static struct head mkhead(void)
{
    struct head hd;
    memset(&hd, 0, sizeof(hd));
    hd.b[VDM_SPI_OFF_CHIP_SELECT] = 1;
    hd.b[VDM_SPI_OFF_BITS_PER_WORD] = 8;
    put32(hd.b + VDM_SPI_OFF_FREQ, 1000000);
    return hd;
}

/* One posted transfer. */
struct xf {
    uint64_t rx;  /* rx_buf gpa (0: none) */
    uint64_t res; /* result byte gpa */
    uint64_t tx;  /* tx_buf gpa */
    uint32_t rxlen, txlen;
};

static int splitmode; /* 1: head in pieces of 5+27, buffers in odd pieces */

/* Post head + tx (txlen, pattern i*7+1) + rx (rxlen) + result (if
 * @p result). Not kicked. */
static void post(const struct head *hd, uint32_t txlen, uint32_t rxlen,
                 int result, struct xf *x)
{
    struct drv_buf o[8], w[8];
    unsigned no = 0, nw = 0;
    uint64_t g = dh_alloc(&h, HB, 8);
    memset(x, 0, sizeof(*x));
    memcpy(dh_ptr(&h, g, HB), hd->b, HB);
    if (splitmode) {
        o[no++] = (struct drv_buf){g, 5};
        o[no++] = (struct drv_buf){g + 5, HB - 5};
    } else {
        o[no++] = (struct drv_buf){g, HB};
    }
    if (txlen) {
        x->tx = dh_alloc(&h, txlen, 8);
        x->txlen = txlen;
        uint8_t *p = dh_ptr(&h, x->tx, txlen);
        for (uint32_t i = 0; i < txlen; i++)
            p[i] = (uint8_t)(i * 7 + 1);
        if (splitmode && txlen > 3) {
            o[no++] = (struct drv_buf){x->tx, 3};
            o[no++] = (struct drv_buf){x->tx + 3, txlen - 3};
        } else {
            o[no++] = (struct drv_buf){x->tx, txlen};
        }
    }
    if (rxlen) {
        x->rx = dh_alloc(&h, rxlen, 8);
        x->rxlen = rxlen;
        memset(dh_ptr(&h, x->rx, rxlen), 0xee, rxlen);
        if (splitmode && rxlen > 1) {
            w[nw++] = (struct drv_buf){x->rx, 1};
            w[nw++] = (struct drv_buf){x->rx + 1, rxlen - 1};
        } else {
            w[nw++] = (struct drv_buf){x->rx, rxlen};
        }
    }
    if (result) {
        x->res = dh_alloc(&h, 1, 1);
        *(uint8_t *)dh_ptr(&h, x->res, 1) = 0xee;
        w[nw++] = (struct drv_buf){x->res, 1};
    }
    int add_rc = drv_vq_add(&dq, o, no, w, nw, DRV_ADD_DIRECT, x);
    ck_assert_msg(add_rc >= 0, "add %d num %u", add_rc, (unsigned)dq.num);
    drv_vq_publish(&dq);
}

static uint8_t res_of(const struct xf *x)
{
    return *(uint8_t *)dh_ptr(&h, x->res, 1);
}

/* Reap one used chain: its used length, and which transfer. */
static int reap(uint32_t *len, struct xf **which)
{
    void *cookie = NULL;
    int rc = drv_vq_get_used(&dq, NULL, len, &cookie);
    if (which)
        *which = cookie;
    return rc;
}

/* Post, kick, reap: the result byte; the used length in *@p used. */
static uint8_t xfer(const struct head *hd, uint32_t txlen, uint32_t rxlen,
                    uint32_t *used, struct xf *x)
{
    struct xf *w;
    post(hd, txlen, rxlen, 1, x);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_int_eq(reap(used, &w), 1);
    ck_assert_ptr_eq(w, x);
    return res_of(x);
}

/* The tx buffer is untouched ("MUST NOT change the data in tx_buf"). */
static void tx_intact(const struct xf *x)
{
    const uint8_t *p = dh_ptr(&h, x->tx, x->txlen);
    for (uint32_t i = 0; i < x->txlen; i++)
        ck_assert_uint_eq(p[i], (uint8_t)(i * 7 + 1));
}

/* ------------------------------------------------------------------------ */

/* "Device ID": 45; "Feature bits: None"; "Device configuration layout". */
START_TEST(spi_config_and_id)
{
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_SPI);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & 0xffffffull, 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_F_IN_ORDER, 0);
    bringup();
    ck_assert_uint_eq(dh_config(&h, 0, 1), 2);
    ck_assert_uint_eq(dh_config(&h, 1, 1), 1);
    ck_assert_uint_eq(dh_config(&h, 2, 1), 3);
    ck_assert_uint_eq(dh_config(&h, 3, 1), 1);
    ck_assert_uint_eq(dh_config(&h, 4, 4), 0x8080);
    ck_assert_uint_eq(dh_config(&h, 8, 4), 0x27);
    ck_assert_uint_eq(dh_config(&h, 12, 4), 50000000);
    ck_assert_uint_eq(dh_config(&h, 16, 4), 100);
    ck_assert_uint_eq(dh_config(&h, 20, 4), 200);
    ck_assert_uint_eq(dh_config(&h, 24, 4), 300);
    ck_assert_uint_eq(dh_config(&h, 28, 4), 0);
}
END_TEST

/* The configuration rules of "Device configuration layout": at least one
 * CPHA and one CPOL setting, reserved n-bit bits 0, at least one chip
 * select; and the ops. */
START_TEST(spi_init_validates)
{
    struct vdm_spi x;
    struct vdm_dev d2;
    struct vdm_spi_ops noop = {.size = sizeof(noop)};
    struct vdm_spi_config c;
#define BAD(stmt, err)                                                         \
    do {                                                                       \
        c = cfg();                                                             \
        stmt;                                                                  \
        ck_assert_int_eq(vdm_spi_init(&x, &d2, &c, &h.base), err);             \
    } while (0)
    BAD(c.cs_max_number = 0, VDM_EINVAL);
    BAD(c.cs_change_supported = 2, VDM_EINVAL);
    BAD(c.tx_nbits_supported = 8, VDM_EINVAL);
    BAD(c.rx_nbits_supported = 0x80, VDM_EINVAL);
    BAD(c.mode_func_supported = VDM_SPI_FUNC_CPOL_0, VDM_EINVAL);
    BAD(c.mode_func_supported = VDM_SPI_FUNC_CPHA_1, VDM_EINVAL);
    BAD(c.mode_func_supported |= 0x80, VDM_EINVAL);
    BAD(c.ops = NULL, VDM_EINVAL);
    BAD(c.ops = &noop, VDM_EINVAL);
    BAD(c.size = 8, VDM_ESIZE);
    c = cfg();
    ck_assert_int_eq(vdm_spi_init(NULL, &d2, &c, &h.base), VDM_EINVAL);
    ck_assert_int_eq(vdm_spi_init(&x, &d2, NULL, &h.base), VDM_EINVAL);
    ck_assert_ptr_null(vdm_spi_dev(NULL));
    ck_assert_uint_eq(vdm_spi_in_flight(NULL), 0);
    ck_assert_int_eq(vdm_spi_complete(NULL, 1, 0), VDM_EINVAL);
#undef BAD
}
END_TEST

/* Full duplex: head, tx_buf, rx_buf, result; rx filled, tx untouched,
 * used length rx + 1. */
START_TEST(spi_full_duplex)
{
    struct head hd = mkhead();
    struct xf x;
    uint32_t used;
    bringup();
    hd.b[VDM_SPI_OFF_CS_CHANGE] = 1;
    hd.b[VDM_SPI_OFF_TX_NBITS] = 4;
    hd.b[VDM_SPI_OFF_RX_NBITS] = 2;
    put32(hd.b + VDM_SPI_OFF_MODE, VDM_SPI_MODE_CPHA | VDM_SPI_MODE_LSB_FIRST);
    put32(hd.b + VDM_SPI_OFF_WORD_DELAY, 100);
    put32(hd.b + VDM_SPI_OFF_CS_SETUP, 200);
    put32(hd.b + VDM_SPI_OFF_CS_HOLD, 300);
    ck_assert_uint_eq(xfer(&hd, 64, 64, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_uint_eq(used, 65);
    ck_assert_int_eq(bus.ntransfers, 1);
    ck_assert_uint_eq(bus.last.chip_select, 1);
    ck_assert_uint_eq(bus.last.bits_per_word, 8);
    ck_assert_uint_eq(bus.last.cs_change, 1);
    ck_assert_uint_eq(bus.last.tx_nbits, 4);
    ck_assert_uint_eq(bus.last.rx_nbits, 2);
    ck_assert_uint_eq(bus.last.mode, 9);
    ck_assert_uint_eq(bus.last.freq, 1000000);
    ck_assert_uint_eq(bus.last.word_delay_ns, 100);
    ck_assert_uint_eq(bus.last.cs_setup_ns, 200);
    ck_assert_uint_eq(bus.last.cs_hold_ns, 300);
    ck_assert_uint_eq(bus.last.len, 64);
    const uint8_t *rx = dh_ptr(&h, x.rx, 64);
    for (unsigned i = 0; i < 64; i++)
        ck_assert_uint_eq(rx[i], (uint8_t)((i * 7 + 1) ^ 0x5a));
    tx_intact(&x);
    ck_assert_uint_ge(h.irq_queue[0], 1);
}
END_TEST

/* "Operation Status": half-duplex read and write, each split across
 * descriptors; nbits 0 is SINGLE. */
START_TEST(spi_half_duplex)
{
    struct head hd = mkhead();
    struct xf x;
    uint32_t used;
    bringup();
    splitmode = 1;
    ck_assert_uint_eq(xfer(&hd, 0, 10, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_uint_eq(used, 11);
    ck_assert_ptr_null(bus.last.tx);
    ck_assert_uint_eq(bus.last.nrx, 2);
    ck_assert_uint_eq(bus.last.tx_nbits, 1);
    const uint8_t *rx = dh_ptr(&h, x.rx, 10);
    for (unsigned i = 0; i < 10; i++)
        ck_assert_uint_eq(rx[i], (uint8_t)(0xc3 + i));

    ck_assert_uint_eq(xfer(&hd, 9, 0, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_uint_eq(used, 1);
    ck_assert_ptr_null(bus.last.rx);
    ck_assert_uint_eq(bus.last.ntx, 2);
    ck_assert_uint_eq(bus.last.len, 9);
    for (unsigned i = 0; i < 9; i++)
        ck_assert_uint_eq(bus.tx[i], (uint8_t)(i * 7 + 1));
    tx_intact(&x);

    /* no words: head and result only (chip select and delays) */
    ck_assert_uint_eq(xfer(&hd, 0, 0, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_uint_eq(used, 1);
    ck_assert_uint_eq(bus.last.len, 0);
    ck_assert_int_eq(bus.ntransfers, 3);
    splitmode = 0;
}
END_TEST

/* "MUST verify the parameters ... MUST set ... VIRTIO_SPI_PARAM_ERR if not
 * all parameters are valid or some device unsupported features are set":
 * each field on its own, and the host is never called. */
START_TEST(spi_params_checked)
{
    static const struct {
        unsigned off, width;
        uint32_t val;
    } bad[] = {
        {VDM_SPI_OFF_CHIP_SELECT, 1, 2},          /* cs_max_number 2 */
        {VDM_SPI_OFF_CHIP_SELECT, 1, 255},        /* */
        {VDM_SPI_OFF_BITS_PER_WORD, 1, 0},        /* no word */
        {VDM_SPI_OFF_BITS_PER_WORD, 1, 7},        /* not in the mask */
        {VDM_SPI_OFF_BITS_PER_WORD, 1, 33},       /* beyond 32 */
        {VDM_SPI_OFF_BITS_PER_WORD, 1, 255},      /* */
        {VDM_SPI_OFF_CS_CHANGE, 1, 2},            /* 0 or 1 */
        {VDM_SPI_OFF_TX_NBITS, 1, 3},             /* not a mode */
        {VDM_SPI_OFF_TX_NBITS, 1, 8},             /* OCTAL unsupported */
        {VDM_SPI_OFF_RX_NBITS, 1, 4},             /* QUAD unsupported for rx */
        {VDM_SPI_OFF_RX_NBITS, 1, 16},            /* */
        {VDM_SPI_OFF_RESERVED, 1, 1},             /* reserved */
        {VDM_SPI_OFF_RESERVED + 2, 1, 0x80},      /* */
        {VDM_SPI_OFF_MODE, 4, VDM_SPI_MODE_CPOL}, /* CPOL=1 unsupported */
        {VDM_SPI_OFF_MODE, 4, VDM_SPI_MODE_CS_HIGH}, /* unsupported */
        {VDM_SPI_OFF_MODE, 4, VDM_SPI_MODE_LOOP},    /* unsupported */
        {VDM_SPI_OFF_MODE, 4, 0x20},                 /* undefined bit */
        {VDM_SPI_OFF_MODE, 4, 0x80000000u},          /* */
        {VDM_SPI_OFF_FREQ, 4, 50000001},             /* above max_freq_hz */
        {VDM_SPI_OFF_FREQ, 4, 0xffffffffu},          /* */
        {VDM_SPI_OFF_WORD_DELAY, 4, 101},            /* above max */
        {VDM_SPI_OFF_CS_SETUP, 4, 201},              /* */
        {VDM_SPI_OFF_CS_HOLD, 4, 0xffffffffu},       /* */
        {VDM_SPI_OFF_CS_INACTIVE, 4, 1},             /* unsupported (max 0) */
    };
    struct xf x;
    uint32_t used;
    bringup();
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct head hd = mkhead();
        if (bad[i].width == 1)
            hd.b[bad[i].off] = (uint8_t)bad[i].val;
        else
            put32(hd.b + bad[i].off, bad[i].val);
        ck_assert_msg(xfer(&hd, 4, 4, &used, &x) == VDM_SPI_PARAM_ERR,
                      "case %u", i);
        ck_assert_uint_eq(used, 1);
        /* "MUST not use rx_buf" if not OK: the device left it alone */
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, x.rx, 1), 0xee);
        tx_intact(&x);
    }
    ck_assert_int_eq(bus.ntransfers, 0);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_ge(h.nwarn, 1));
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert_uint_le(h.nwarn, 2)); /* logged once per reset */
    /* the same fields at their limits pass */
    struct head hd = mkhead();
    hd.b[VDM_SPI_OFF_BITS_PER_WORD] = 16;
    put32(hd.b + VDM_SPI_OFF_FREQ, 50000000);
    put32(hd.b + VDM_SPI_OFF_WORD_DELAY, 100);
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x), VDM_SPI_TRANS_OK);
    hd.b[VDM_SPI_OFF_CHIP_SELECT] = 0;
    put32(hd.b + VDM_SPI_OFF_FREQ, 0); /* the host's default */
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_int_eq(bus.ntransfers, 2);
}
END_TEST

/* "For full-duplex transfer, the Virtio SPI device MUST verify that the
 * buffer size of tx_buf is equal to that of rx_buf"; whole words;
 * max_len. */
START_TEST(spi_length_rules)
{
    struct head hd = mkhead();
    struct xf x;
    uint32_t used;
    bringup();
    ck_assert_uint_eq(xfer(&hd, 8, 7, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_uint_eq(xfer(&hd, 7, 8, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_uint_eq(xfer(&hd, 1, 1024, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_uint_eq(xfer(&hd, 1025, 0, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_uint_eq(xfer(&hd, 0, 1025, &used, &x), VDM_SPI_PARAM_ERR);
    hd.b[VDM_SPI_OFF_BITS_PER_WORD] = 16; /* two bytes a word */
    ck_assert_uint_eq(xfer(&hd, 3, 3, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_uint_eq(xfer(&hd, 0, 5, &used, &x), VDM_SPI_PARAM_ERR);
    ck_assert_int_eq(bus.ntransfers, 0);
    ck_assert_uint_eq(xfer(&hd, 1024, 1024, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_uint_eq(used, 1025);
    ck_assert_uint_eq(xfer(&hd, 0, 2, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_int_eq(bus.ntransfers, 2);
}
END_TEST

/* Transfers reach the host in queue order and may complete in any order;
 * a failed transfer is TRANS_ERR with used length 1; a token completes
 * once; forged tokens are refused. */
START_TEST(spi_async_completion)
{
    struct head hd = mkhead();
    struct xf x[4], *w;
    uint32_t used;
    bringup();
    bus.keep = 1;
    for (unsigned i = 0; i < 4; i++) {
        hd.b[VDM_SPI_OFF_CHIP_SELECT] = (uint8_t)(i & 1);
        post(&hd, 0, 4 + i, 1, &x[i]);
    }
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_uint_eq(bus.ntok, 4);
    ck_assert_uint_eq(bus.last.len, 7); /* the last one posted */
    ck_assert_uint_eq(vdm_spi_in_flight(&spi), 4);
    ck_assert_int_eq(reap(&used, &w), 0);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[2], 7), VDM_EINVAL);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[2], VDM_SPI_TRANS_OK),
                     0);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[2], VDM_SPI_TRANS_OK),
                     VDM_ENOENT);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[0], VDM_SPI_TRANS_ERR),
                     0);
    ck_assert_int_eq(vdm_spi_complete(&spi, 0x12345, VDM_SPI_TRANS_OK),
                     VDM_ENOENT);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[3], VDM_SPI_TRANS_OK),
                     0);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[1], VDM_SPI_TRANS_OK),
                     0);
    ck_assert_uint_eq(vdm_spi_in_flight(&spi), 0);
    static const unsigned order[4] = {2, 0, 3, 1};
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_int_eq(reap(&used, &w), 1);
        ck_assert_ptr_eq(w, &x[order[i]]);
        if (order[i] == 0) {
            ck_assert_uint_eq(used, 1);
            ck_assert_uint_eq(res_of(w), VDM_SPI_TRANS_ERR);
        } else {
            ck_assert_uint_eq(used, w->rxlen + 1);
            ck_assert_uint_eq(res_of(w), VDM_SPI_TRANS_OK);
        }
    }
}
END_TEST

/* A host that refuses the transfer: TRANS_ERR ("the parameters are all
 * valid but the transfer process failed"). */
START_TEST(spi_host_refuses)
{
    struct head hd = mkhead();
    struct xf x;
    uint32_t used;
    bringup();
    bus.refuse = 1;
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x), VDM_SPI_TRANS_ERR);
    ck_assert_uint_eq(used, 1);
    bus.refuse = 0;
    bus.result = VDM_SPI_TRANS_ERR;
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x), VDM_SPI_TRANS_ERR);
    ck_assert_uint_eq(used, 1);
}
END_TEST

/* A reset with transfers at the host: their late completion is dropped
 * (no guest memory write, no interrupt); the device works after. */
START_TEST(spi_reset_drops_pending)
{
    struct head hd = mkhead();
    struct xf x[2], y;
    uint32_t used;
    bringup();
    bus.keep = 1;
    post(&hd, 0, 4, 1, &x[0]);
    post(&hd, 4, 4, 1, &x[1]);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_uint_eq(bus.ntok, 2);
    /* the host wrote rx already (fill_rx); clear to see no later write */
    memset(dh_ptr(&h, x[0].rx, 4), 0xee, 4);
    dh_reset(&h);
    unsigned irq = h.irq_queue[0];
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[0], VDM_SPI_TRANS_OK),
                     VDM_ENOENT);
    ck_assert_uint_eq(vdm_spi_in_flight(&spi), 1);
    ck_assert_int_eq(vdm_spi_complete(&spi, bus.tokens[1], VDM_SPI_TRANS_OK),
                     VDM_ENOENT);
    ck_assert_uint_eq(vdm_spi_in_flight(&spi), 0);
    ck_assert_uint_eq(res_of(&x[0]), 0xee);
    ck_assert_uint_eq(res_of(&x[1]), 0xee);
    ck_assert_uint_eq(h.irq_queue[0], irq);
    bus.keep = 0;
    bus.ntok = 0;
    bringup();
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x[0]), VDM_SPI_TRANS_OK);
    (void)y;
}
END_TEST

/* Hostile shapes: no result byte (used 0, nothing written), a short head
 * (PARAM_ERR), a head alone with no writable part, a chain with more
 * spans than the device takes (PARAM_ERR by the kit), and the queue goes
 * on after each. */
START_TEST(spi_hostile_shapes)
{
    struct head hd = mkhead();
    struct xf x, *w;
    uint32_t used = 99;
    bringup();
    /* head + tx, nothing writable */
    post(&hd, 4, 0, 0, &x);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_int_eq(reap(&used, &w), 1);
    ck_assert_uint_eq(used, 0);
    /* a 31-byte head */
    {
        struct drv_buf o = {dh_alloc(&h, 31, 8), 31};
        struct drv_buf r = {dh_alloc(&h, 1, 1), 1};
        memcpy(dh_ptr(&h, o.gpa, 31), hd.b, 31);
        ck_assert_int_ge(drv_vq_add(&dq, &o, 1, &r, 1, DRV_ADD_DIRECT, &x), 0);
        drv_vq_publish(&dq);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(reap(&used, &w), 1);
        ck_assert_uint_eq(used, 1);
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r.gpa, 1), VDM_SPI_PARAM_ERR);
    }
    /* only writable: no head at all */
    {
        struct drv_buf r = {dh_alloc(&h, 40, 8), 40};
        memset(dh_ptr(&h, r.gpa, 40), 0xee, 40);
        ck_assert_int_ge(drv_vq_add(&dq, NULL, 0, &r, 1, DRV_ADD_DIRECT, &x),
                         0);
        drv_vq_publish(&dq);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(reap(&used, &w), 1);
        ck_assert_uint_eq(used, 1);
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r.gpa + 39, 1),
                          VDM_SPI_PARAM_ERR);
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r.gpa, 1), 0xee);
    }
    /* too many spans */
    {
        struct drv_buf o[VDM_SPI_IOV_MAX + 1];
        struct drv_buf r = {dh_alloc(&h, 1, 1), 1};
        uint64_t g = dh_alloc(&h, 64 * (VDM_SPI_IOV_MAX + 1), 8);
        memcpy(dh_ptr(&h, g, HB), hd.b, HB);
        o[0] = (struct drv_buf){g, HB};
        for (unsigned i = 1; i < VDM_SPI_IOV_MAX + 1; i++)
            o[i] = (struct drv_buf){g + 64 * i, 2};
        ck_assert_int_ge(
            drv_vq_add(&dq, o, VDM_SPI_IOV_MAX + 1, &r, 1, DRV_ADD_DIRECT, &x),
            0);
        drv_vq_publish(&dq);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(reap(&used, &w), 1);
        ck_assert_uint_eq(used, 1);
        ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r.gpa, 1), VDM_SPI_PARAM_ERR);
    }
    ck_assert_int_eq(bus.ntransfers, 0);
    ck_assert_uint_eq(xfer(&hd, 4, 4, &used, &x), VDM_SPI_TRANS_OK);
    ck_assert_int_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET, 0);
}
END_TEST

/* A flood: more transfers than the device keeps at the host wait in the
 * ring and follow as completions free slots, in order. */
START_TEST(spi_flood)
{
    struct head hd = mkhead();
    struct xf x[16], *w;
    uint32_t used;
    unsigned n = 0;
    bringup();
    bus.keep = 1;
    for (unsigned i = 0; i < 16; i++)
        post(&hd, 0, 1 + i, 1, &x[i]);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_uint_eq(bus.ntok, VDM_SPI_INFLIGHT_MAX);
    for (unsigned i = 0; i < bus.ntok; i++) {
        ck_assert_int_eq(
            vdm_spi_complete(&spi, bus.tokens[i], VDM_SPI_TRANS_OK), 0);
        ck_assert_uint_le(bus.ntok, 16);
    }
    ck_assert_uint_eq(bus.ntok, 16);
    while (reap(&used, &w) == 1) {
        ck_assert_ptr_eq(w, &x[n]);
        ck_assert_uint_eq(used, n + 2);
        n++;
    }
    ck_assert_uint_eq(n, 16);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spi");
    TCase *tc = tcase_create("spi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, spi_config_and_id);
    tcase_add_test(tc, spi_init_validates);
    tcase_add_test(tc, spi_full_duplex);
    tcase_add_test(tc, spi_half_duplex);
    tcase_add_test(tc, spi_params_checked);
    tcase_add_test(tc, spi_length_rules);
    tcase_add_test(tc, spi_async_completion);
    tcase_add_test(tc, spi_host_refuses);
    tcase_add_test(tc, spi_reset_drops_pending);
    tcase_add_test(tc, spi_hostile_shapes);
    tcase_add_test(tc, spi_flood);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
