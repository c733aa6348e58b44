/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-spi device type.
 *
 * Spec: "SPI Controller Device" -- "Device configuration layout", "Device
 * Operation: Request Queue", "Device Operation: Operation Status" and the
 * device requirements of "Device Operation".
 *
 * Requests are served through the device kit (vdm/kit.h). The head is
 * copied out of guest memory once and checked against the configuration;
 * a valid transfer goes to the host with its buffers as spans of the
 * request's own (the readable spans after the head, the writable spans
 * before the result byte) and stays in its slot (VDM_KIT_PENDING) until
 * the host completes it. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/spi.h"

#include "abi_internal.h"
#include "vdm/kit.h"
#include "vdm/le.h"

#define SPI_MAGIC 0x76535049u /* "vSPI" */

/* A size-prefixed caller struct holds @p field. */
#define SPI_HAS(p, type, field)                                                \
    (((size_t)(p)->size) >=                                                    \
     ((size_t)offsetof(type, field) + sizeof(((type *)NULL)->field)))

/* Every defined bit: mode (CPHA..LOOP), mode_func_supported, n-bit masks */
#define SPI_MODE_ALL  0x1fu
#define SPI_FUNC_ALL  0x7fu
#define SPI_NBITS_ALL 0x07u

/* s->warned: guest errors already logged since the last reset */
#define W_HEAD   0x01u /* no 32-byte head */
#define W_RESULT 0x02u /* no writable result byte */
#define W_PARAM  0x04u /* a head field out of range or unsupported */
#define W_LEN    0x08u /* buffer lengths: duplex mismatch, words, max_len */
#define W_HOST   0x10u /* the host refused a transfer */

/* spi's part of a request slot (after the kit's struct vdm_kit_req). */
struct spi_req {
    uint32_t rx_len;                    /* rx_buf bytes (written on success) */
    uint32_t nsp;                       /* entries of sp in use */
    struct vdm_iov sp[VDM_SPI_IOV_MAX]; /* tx spans, then rx spans */
};

#define SPI_SLOT_BYTES VDM_KIT_SLOT_BYTES(sizeof(struct spi_req))

struct spi_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_spi_ops *ops;
    void *host;
    struct vdm_spi_config lim; /* the caller's limits (ops, host unused) */
    uint8_t config[VDM_SPI_CONFIG_BYTES]; /* struct virtio_spi_config */
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(1, VDM_SPI_INFLIGHT_MAX,
                                                       SPI_SLOT_BYTES)];
    struct vdm_iov iov[VDM_KIT_IOVS(1, VDM_SPI_INFLIGHT_MAX, VDM_SPI_IOV_MAX)];
};

_Static_assert(sizeof(struct spi_state) <= (size_t)VDM_SPI_SIZE,
               "VDM_SPI_SIZE too small for struct spi_state");
_Static_assert((size_t)alignof(struct spi_state) <=
                   (size_t)alignof(struct vdm_spi),
               "struct vdm_spi storage is under-aligned");

VDM_OPAQUE_ACCESSORS(spi_of, cspi_of, vdm_spi, spi_state, SPI_MAGIC)

static struct spi_req *sreq(struct vdm_kit_req *kr)
{
    return (struct spi_req *)vdm_kit_req_priv(kr);
}

static void warn(struct spi_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

/* Write result @p res into the last writable byte of @p kr.
 * @return the used length: the rx_buf bytes and the result on success, the
 * result byte alone otherwise; 0 without a writable byte. */
static uint32_t answer(struct vdm_kit_req *kr, uint8_t res)
{
    const struct vdm_chain *c = &kr->chain;
    uint32_t w = 0u;

    if (c->write_len != 0u) {
        if (vdm_chain_copy_to(c, (size_t)c->write_len - 1u, &res, 1u) == 1u) {
            w = (res == (uint8_t)VDM_SPI_TRANS_OK) ? c->write_len : 1u;
        }
    }
    return w;
}

/* ------------------------------------------------------------------------ */
/* Validation (spec "Device Operation": "MUST verify the parameters") */

/* An n-bit mode of the head against the supported bits. */
static int nbits_ok(uint32_t nbits, uint32_t supported)
{
    uint32_t need = 0u;
    int ok = 1;

    if (nbits == 2u) {
        need = (uint32_t)VDM_SPI_NBITS_DUAL;
    } else if (nbits == 4u) {
        need = (uint32_t)VDM_SPI_NBITS_QUAD;
    } else if (nbits == 8u) {
        need = (uint32_t)VDM_SPI_NBITS_OCTAL;
    } else if (nbits > 1u) {
        ok = 0; /* not 0, 1, 2, 4 or 8 */
    } else {
        /* SINGLE is always supported */
    }
    if ((supported & need) != need) {
        ok = 0;
    }
    return ok;
}

/* mode against mode_func_supported. */
static int mode_ok(uint32_t mode, uint32_t func)
{
    uint32_t cpha = (uint32_t)VDM_SPI_FUNC_CPHA_0;
    uint32_t cpol = (uint32_t)VDM_SPI_FUNC_CPOL_0;
    int ok = 1;

    if ((mode & VDM_SPI_MODE_CPHA) != 0u) {
        cpha = (uint32_t)VDM_SPI_FUNC_CPHA_1;
    }
    if ((mode & VDM_SPI_MODE_CPOL) != 0u) {
        cpol = (uint32_t)VDM_SPI_FUNC_CPOL_1;
    }

    if ((mode & ~(uint32_t)SPI_MODE_ALL) != 0u) {
        ok = 0;
    } else if (((func & cpha) == 0u) || ((func & cpol) == 0u)) {
        ok = 0;
    } else if (((mode & VDM_SPI_MODE_CS_HIGH) != 0u) &&
               ((func & VDM_SPI_FUNC_CS_HIGH) == 0u)) {
        ok = 0;
    } else if (((mode & VDM_SPI_MODE_LSB_FIRST) != 0u) &&
               ((func & VDM_SPI_FUNC_LSB_FIRST) == 0u)) {
        ok = 0;
    } else if (((mode & VDM_SPI_MODE_LOOP) != 0u) &&
               ((func & VDM_SPI_FUNC_LOOP) == 0u)) {
        ok = 0;
    } else {
        /* supported */
    }
    return ok;
}

/* A delay against its maximum (0: the delay is not supported). */
static int delay_ok(uint32_t v, uint32_t max)
{
    return (v <= max) ? 1 : 0;
}

/* Decode and check head @p h into @p t. @return 0, or the W_* bit of the
 * first rule it breaks. */
static uint32_t check_head(const struct spi_state *s, const uint8_t *h,
                           struct vdm_spi_transfer *t)
{
    const struct vdm_spi_config *l = &s->lim;
    uint32_t bpw;
    uint32_t why = 0u;

    t->chip_select = h[VDM_SPI_OFF_CHIP_SELECT];
    t->bits_per_word = h[VDM_SPI_OFF_BITS_PER_WORD];
    t->cs_change = h[VDM_SPI_OFF_CS_CHANGE];
    t->tx_nbits = h[VDM_SPI_OFF_TX_NBITS];
    t->rx_nbits = h[VDM_SPI_OFF_RX_NBITS];
    t->mode = vdm_le32(&h[VDM_SPI_OFF_MODE]);
    t->freq = vdm_le32(&h[VDM_SPI_OFF_FREQ]);
    t->word_delay_ns = vdm_le32(&h[VDM_SPI_OFF_WORD_DELAY]);
    t->cs_setup_ns = vdm_le32(&h[VDM_SPI_OFF_CS_SETUP]);
    t->cs_hold_ns = vdm_le32(&h[VDM_SPI_OFF_CS_HOLD]);
    t->cs_inactive_ns = vdm_le32(&h[VDM_SPI_OFF_CS_INACTIVE]);
    bpw = t->bits_per_word;

    if ((h[VDM_SPI_OFF_RESERVED] != 0u) ||
        (h[VDM_SPI_OFF_RESERVED + 1u] != 0u) ||
        (h[VDM_SPI_OFF_RESERVED + 2u] != 0u)) {
        why = W_PARAM;
    } else if ((uint32_t)t->chip_select >= (uint32_t)l->cs_max_number) {
        why = W_PARAM;
    } else if ((bpw == 0u) || (bpw > 32u)) {
        why = W_PARAM;
    } else if ((l->bits_per_word_mask != 0u) &&
               ((l->bits_per_word_mask & ((uint32_t)1u << (bpw - 1u))) == 0u)) {
        why = W_PARAM;
    } else if ((t->cs_change > 1u) ||
               ((t->cs_change != 0u) && (l->cs_change_supported == 0u))) {
        why = W_PARAM;
    } else if ((nbits_ok(t->tx_nbits, l->tx_nbits_supported) == 0) ||
               (nbits_ok(t->rx_nbits, l->rx_nbits_supported) == 0)) {
        why = W_PARAM;
    } else if (mode_ok(t->mode, l->mode_func_supported) == 0) {
        why = W_PARAM;
    } else if ((l->max_freq_hz != 0u) && (t->freq > l->max_freq_hz)) {
        why = W_PARAM;
    } else if ((delay_ok(t->word_delay_ns, l->max_word_delay_ns) == 0) ||
               (delay_ok(t->cs_setup_ns, l->max_cs_setup_ns) == 0) ||
               (delay_ok(t->cs_hold_ns, l->max_cs_hold_ns) == 0) ||
               (delay_ok(t->cs_inactive_ns, l->max_cs_inactive_ns) == 0)) {
        why = W_PARAM;
    } else {
        /* valid */
    }
    if (t->tx_nbits == 0u) {
        t->tx_nbits = 1u;
    }
    if (t->rx_nbits == 0u) {
        t->rx_nbits = 1u;
    }
    return why;
}

/* Bytes per word on the wire for @p bpw bits (1..32). */
static uint32_t word_bytes(uint32_t bpw)
{
    uint32_t n = 4u;

    if (bpw <= 8u) {
        n = 1u;
    } else if (bpw <= 16u) {
        n = 2u;
    } else {
        /* 17..32 */
    }
    return n;
}

/* Append to r->sp the spans of @p iov[0..n) from byte @p skip, @p len
 * bytes in all. @return the spans appended. */
static uint32_t take_spans(struct spi_req *r, const struct vdm_iov *iov,
                           uint32_t n, uint32_t skip, uint32_t len)
{
    uint32_t i;
    uint32_t at = skip;
    uint32_t left = len;
    uint32_t k = 0u;

    for (i = 0u; (i < n) && (left != 0u); i++) {
        uint32_t l = iov[i].len;
        if (at >= l) {
            at -= l;
        } else {
            uint32_t take = l - at;
            if (take > left) {
                take = left;
            }
            if (r->nsp < (uint32_t)VDM_SPI_IOV_MAX) {
                r->sp[r->nsp].base = (uint8_t *)iov[i].base + at;
                r->sp[r->nsp].len = take;
                r->sp[r->nsp].flags = iov[i].flags;
                r->nsp++;
                k++;
            }
            left -= take;
            at = 0u;
        }
    }
    return k;
}

/* Check the buffers of @p kr and describe them in @p t. @return 0 or a W_*
 * bit. */
static uint32_t check_bufs(const struct spi_state *s, struct vdm_kit_req *kr,
                           struct vdm_spi_transfer *t)
{
    const struct vdm_chain *c = &kr->chain;
    struct spi_req *r = sreq(kr);
    uint32_t tx = c->read_len - VDM_SPI_HEAD_BYTES;
    uint32_t rx = c->write_len - VDM_SPI_RESULT_BYTES;
    uint32_t len = (tx != 0u) ? tx : rx;
    uint32_t why = 0u;

    r->nsp = 0u;
    r->rx_len = rx;
    /* "For full-duplex transfer, the Virtio SPI device MUST verify that
     * the buffer size of tx_buf is equal to that of rx_buf." */
    if ((tx != 0u) && (rx != 0u) && (tx != rx)) {
        why = W_LEN;
    } else if ((len % word_bytes(t->bits_per_word)) != 0u) {
        why = W_LEN;
    } else if ((s->lim.max_len != 0u) && (len > s->lim.max_len)) {
        why = W_LEN;
    } else {
        t->len = len;
        if (tx != 0u) {
            t->tx = r->sp;
            t->ntx = take_spans(r, c->iov, c->nread, VDM_SPI_HEAD_BYTES, tx);
        }
        if (rx != 0u) {
            t->rx = &r->sp[r->nsp];
            t->nrx = take_spans(r, &c->iov[c->nread], c->nwrite, 0u, rx);
        }
    }
    return why;
}

/* "Device Operation: Request Queue": one transfer. */
static int spi_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct spi_state *s = ctx;
    const struct vdm_chain *c = &kr->chain;
    uint8_t h[VDM_SPI_HEAD_BYTES];
    struct vdm_spi_transfer t;
    uintptr_t token;
    uint32_t why = 0u;
    int rc = VDM_KIT_DONE;

    __builtin_memset(&t, 0, sizeof(t));
    *written = 0u;
    if (c->write_len < VDM_SPI_RESULT_BYTES) {
        warn(s, W_RESULT, "spi: request without a result byte");
        return VDM_KIT_DONE;
    }
    if ((c->read_len < VDM_SPI_HEAD_BYTES) ||
        (vdm_chain_copy_from(c, 0u, h, sizeof(h)) != sizeof(h))) {
        why = W_HEAD;
    } else {
        why = check_head(s, h, &t);
    }
    if (why == 0u) {
        why = check_bufs(s, kr, &t);
    }
    if (why != 0u) {
        warn(s, why, "spi: transfer refused (PARAM_ERR)");
        *written = answer(kr, (uint8_t)VDM_SPI_PARAM_ERR);
    } else {
        token = vdm_kit_token(&s->kit, kr);
        if (s->ops->transfer(s->host, &t, token) < 0) {
            warn(s, W_HOST, "spi: host refused a transfer");
            *written = answer(kr, (uint8_t)VDM_SPI_TRANS_ERR);
        } else {
            rc = VDM_KIT_PENDING; /* vdm_spi_complete(), maybe already */
        }
    }
    return rc;
}

static const struct vdm_kit_queue spi_queues[] = {
    {.serve = spi_serve,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = 1u,
     .status_err = {VDM_SPI_PARAM_ERR}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct spi_state *spi_dev_state(struct vdm_dev *d)
{
    struct spi_state *s = (struct spi_state *)vdm_dev_priv(d);

    if ((s != NULL) && (s->magic == SPI_MAGIC)) {
        return s;
    }
    return NULL;
}

static void spi_reset(struct vdm_dev *d)
{
    struct spi_state *s = spi_dev_state(d);

    if (s != NULL) {
        vdm_kit_reset(&s->kit, UINT16_MAX);
        s->warned = 0u;
    }
}

static void spi_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct spi_state *s = spi_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_SPI_QUEUE_REQUEST)) {
        vdm_kit_reset(&s->kit, q);
    }
}

static void spi_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct spi_state *s = spi_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_SPI_QUEUE_REQUEST)) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void spi_driver_ok(struct vdm_dev *d)
{
    spi_queue_notify(d, VDM_SPI_QUEUE_REQUEST);
}

static void spi_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    struct spi_state *s = spi_dev_state(d);

    if (s != NULL) {
        vdm_kit_config_copy(s->config, VDM_SPI_CONFIG_BYTES, off, buf, len);
    }
}

static const struct vdm_device_class spi_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_SPI,
    .name = "spi",
    .config_size = VDM_SPI_CONFIG_BYTES,
    .max_queues = VDM_SPI_NUM_QUEUES,
    .reset = spi_reset,
    .driver_ok = spi_driver_ok,
    .queue_notify = spi_queue_notify,
    .queue_reset = spi_queue_reset,
    .config_read = spi_config_read,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static int check_config(const struct vdm_spi_config *cfg)
{
    uint32_t f;

    if (!SPI_HAS(cfg, struct vdm_spi_config, host)) {
        return VDM_ESIZE;
    }
    if (cfg->ops == NULL) {
        return VDM_EINVAL;
    }
    if (!SPI_HAS(cfg->ops, struct vdm_spi_ops, transfer)) {
        return VDM_ESIZE;
    }
    if ((cfg->ops->transfer == NULL) || (cfg->ops->reserved != 0u)) {
        return VDM_EINVAL;
    }
    f = cfg->mode_func_supported;
    /* "Device configuration layout": at least one CPHA and one CPOL
     * setting; the reserved bits of the n-bit masks are 0. */
    if ((cfg->cs_max_number == 0u) || (cfg->cs_change_supported > 1u) ||
        ((cfg->tx_nbits_supported & ~(uint32_t)SPI_NBITS_ALL) != 0u) ||
        ((cfg->rx_nbits_supported & ~(uint32_t)SPI_NBITS_ALL) != 0u) ||
        ((f & ~(uint32_t)SPI_FUNC_ALL) != 0u) || ((f & 0x03u) == 0u) ||
        ((f & 0x0cu) == 0u)) {
        return VDM_EINVAL;
    }
    return 0;
}

/* struct virtio_spi_config, little-endian. */
static void build_config(struct spi_state *s)
{
    const struct vdm_spi_config *l = &s->lim;
    uint8_t *p = s->config;

    p[0] = l->cs_max_number;
    p[1] = l->cs_change_supported;
    p[2] = l->tx_nbits_supported;
    p[3] = l->rx_nbits_supported;
    vdm_put_le32(&p[4], l->bits_per_word_mask);
    vdm_put_le32(&p[8], l->mode_func_supported);
    vdm_put_le32(&p[12], l->max_freq_hz);
    vdm_put_le32(&p[16], l->max_word_delay_ns);
    vdm_put_le32(&p[20], l->max_cs_setup_ns);
    vdm_put_le32(&p[24], l->max_cs_hold_ns);
    vdm_put_le32(&p[28], l->max_cs_inactive_ns);
}

int vdm_spi_init(struct vdm_spi *spi, struct vdm_dev *dev,
                 const struct vdm_spi_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct spi_state *s;
    int rc;

    if ((spi == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    rc = check_config(cfg);
    if (rc < 0) {
        return rc;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = VDM_SPI_NUM_QUEUES;
    }
    if (dc.num_queues != (uint16_t)VDM_SPI_NUM_QUEUES) {
        return VDM_EINVAL;
    }

    __builtin_memset(spi, 0, sizeof(*spi));
    s = (struct spi_state *)(void *)spi->opaque;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    __builtin_memcpy(&s->lim, cfg, sizeof(s->lim));
    s->lim.ops = NULL;
    s->lim.host = NULL;
    build_config(s);

    kc.num_queues = VDM_SPI_NUM_QUEUES;
    kc.nqdesc = 1u;
    kc.queues = spi_queues;
    kc.ctx = s;
    kc.slots = s->slots;
    kc.iovs = s->iov;
    kc.slot_bytes = SPI_SLOT_BYTES;
    kc.per_queue = VDM_SPI_INFLIGHT_MAX;
    kc.iov_per_req = VDM_SPI_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &spi_class;
    dc.priv = s;
    /* "Feature bits: None". Invalid requests are answered while earlier
     * ones are at the host: no IN_ORDER. */
    dc.features = vdm_kit_features(0u, base->features, VDM_F_IN_ORDER);
    s->magic = SPI_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0u;
    }
    return rc;
}

int vdm_spi_complete(struct vdm_spi *spi, uintptr_t token, uint32_t result)
{
    struct spi_state *s = spi_of(spi);
    struct vdm_kit_req *kr;
    int rc = 0;

    if ((s == NULL) ||
        ((result != VDM_SPI_TRANS_OK) && (result != VDM_SPI_TRANS_ERR))) {
        return VDM_EINVAL;
    }
    kr = vdm_kit_lookup(&s->kit, token);
    if (kr == NULL) {
        rc = VDM_ENOENT;
    } else if (vdm_kit_req_live(kr) == 0) {
        (void)vdm_kit_finish(&s->kit, kr, 0u); /* reset: drop it */
        rc = VDM_ENOENT;
    } else {
        (void)vdm_kit_finish(&s->kit, kr, answer(kr, (uint8_t)result));
    }
    return rc;
}

uint32_t vdm_spi_in_flight(const struct vdm_spi *spi)
{
    const struct spi_state *s = cspi_of(spi);

    return (s != NULL) ? vdm_kit_in_flight(&s->kit) : 0u;
}

struct vdm_dev *vdm_spi_dev(const struct vdm_spi *spi)
{
    const struct spi_state *s = cspi_of(spi);

    return (s != NULL) ? s->dev : NULL;
}
