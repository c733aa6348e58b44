/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-i2c device type.
 *
 * Spec: "I2C Adapter Device" -- "Feature bits", "Device Operation: Request
 * Queue", "Device Operation: Operation Status" and the device requirements
 * of "Device Operation".
 *
 * Requests are served through the device kit (vdm/kit.h). A request with
 * FAIL_NEXT set stays in its slot (VDM_KIT_PENDING) until the request that
 * ends its group arrives; the group then goes to the host as one combined
 * transfer. While a group is at the host the handler answers VDM_EAGAIN, so
 * the chain goes back to the ring and the queue waits: requests are
 * processed strictly in order, one group at a time. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/i2c.h"

#include "abi_internal.h"
#include "kit_internal.h"
#include "le.h"
#include "vdm/kit.h"

#define I2C_MAGIC 0x76693243u /* "vi2C" */
#define NONE      UINT32_MAX

/* Request slots: a whole group can wait in them. */
#define I2C_SLOTS VDM_I2C_GROUP_MAX

/* The wire constants as the unsigned fields they are compared with. */
#define HDR_BYTES ((uint32_t)VDM_I2C_OUT_HDR_BYTES)
#define MSG_OK    ((uint8_t)VDM_I2C_MSG_OK)
#define MSG_ERR   ((uint8_t)VDM_I2C_MSG_ERR)

/* s->warned: guest errors already logged since the last reset */
#define W_HDR     0x01u
#define W_FLAGS   0x02u
#define W_ADDR    0x04u
#define W_DIR     0x08u
#define W_STATUS  0x10u
#define W_GROUP   0x20u
#define W_LEN     0x40u
#define W_FEATURE 0x80u

/* i2c's part of a request slot (after the kit's struct vdm_kit_req). */
struct i2c_req {
    uint8_t *status;    /* the in_hdr byte, NULL if the chain has none */
    struct vdm_iov fix; /* original of the span trimmed for the host */
    uint32_t fix_idx;   /* its index in the chain's iov, NONE if none */
    uint32_t rd;        /* read request: the buffer is device-written */
    uint32_t trunc;     /* more spans than a slot holds: status via the kit */
};

#define I2C_SLOT_BYTES VDM_KIT_SLOT_BYTES(sizeof(struct i2c_req))

struct i2c_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_i2c_ops *ops;
    void *host;
    uintptr_t token;  /* the group at the host: its last request's token */
    uint32_t n;       /* requests in the group (collecting or at host) */
    uint8_t at_host;  /* the group was handed to the host */
    uint8_t poisoned; /* failing requests up to the end of a failed group */
    uint8_t reserved[2];
    struct vdm_kit_req *req[VDM_I2C_GROUP_MAX];
    struct vdm_i2c_msg msg[VDM_I2C_GROUP_MAX];
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(1, I2C_SLOTS,
                                                       I2C_SLOT_BYTES)];
    struct vdm_iov iov[VDM_KIT_IOVS(1, I2C_SLOTS, VDM_I2C_IOV_MAX)];
};

_Static_assert(sizeof(struct i2c_state) <= (size_t)VDM_I2C_SIZE,
               "VDM_I2C_SIZE too small for struct i2c_state");
_Static_assert((size_t)alignof(struct i2c_state) <=
                   (size_t)alignof(struct vdm_i2c),
               "struct vdm_i2c storage is under-aligned");

VDM_OPAQUE_ACCESSORS(i2c_of, ci2c_of, vdm_i2c, i2c_state, I2C_MAGIC)

static struct i2c_req *ireq(struct vdm_kit_req *kr)
{
    return (struct i2c_req *)vdm_kit_req_priv(kr);
}

static void warn(struct i2c_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

/* ------------------------------------------------------------------------ */
/* Ending requests */

/* End one request with @p st: put the trimmed span back, write the status
 * (a live request only) and give the chain back. "Device Operation": the
 * status is the final byte; the used length counts the bytes read into the
 * buffer (a successful read) and the status byte. */
static void end_req(struct i2c_state *s, struct vdm_kit_req *kr, uint8_t st,
                    uint32_t len)
{
    struct i2c_req *r = ireq(kr);
    uint32_t written = 0;

    if (r->fix_idx != NONE) {
        kr->chain.iov[r->fix_idx] = r->fix;
        r->fix_idx = NONE;
    }
    if ((vdm_kit_req_live(kr) != 0) && (r->status != NULL)) {
        *(volatile uint8_t *)r->status = st;
        written = (((st == MSG_OK) && (r->rd != 0u)) ? len : 0u) + 1u;
    } else if (r->trunc != 0u) {
        /* its status byte lies beyond the spans the slot holds: the kit
         * writes the queue's error answer there (it always fails) */
        written = vdm_kit_answer_error(&s->kit, kr);
    } else {
        /* abandoned, or no status byte: nothing written */
    }
    (void)vdm_kit_finish(&s->kit, kr, written);
}

/* End the group: the first @p done requests OK, the rest ERR (spec
 * "Operation Status": the first failed request and the rest of its group
 * fail). */
static void end_group(struct i2c_state *s, int done)
{
    uint32_t i;
    uint32_t n = s->n;

    s->n = 0;
    s->at_host = 0;
    s->token = 0;
    for (i = 0; i < n; i++) {
        uint8_t st = ((done >= 0) && (i < (uint32_t)done)) ? MSG_OK : MSG_ERR;
        end_req(s, s->req[i], st, s->msg[i].len);
        s->req[i] = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Requests (spec "Device Operation: Request Queue") */

/* The addr field: 7-bit addresses as A6..A0 in bits 7..1, 10-bit ones as
 * A7..A0 in bits 15..8, 11110 in bits 7..3 and A9..A8 in bits 2..1; bit 0
 * is 0 in both. A high byte of 0 is read as 7-bit (the two encodings
 * overlap there; Linux sends 7-bit addresses only). */
static int decode_addr(uint16_t raw, uint16_t *addr, uint16_t *flags)
{
    if ((raw & 1u) != 0u) {
        return -1;
    }
    if ((raw & 0xff00u) == 0u) {
        *addr = (uint16_t)(raw >> 1);
        return 0;
    }
    if ((raw & 0x00f8u) != 0x00f0u) {
        return -1;
    }
    *addr =
        (uint16_t)(((((unsigned)raw >> 1) & 3u) << 8) | ((unsigned)raw >> 8));
    *flags |= VDM_I2C_MSG_TEN;
    return 0;
}

/* Check request @p kr and describe its buffer in @p m. On return
 * `*fail_next` holds the request's FAIL_NEXT bit (0 when its header could
 * not be read). @return 0, or -1 for a request that fails. */
static int parse(struct i2c_state *s, struct vdm_kit_req *kr,
                 struct vdm_i2c_msg *m, uint32_t *fail_next)
{
    struct i2c_req *r = ireq(kr);
    struct vdm_chain *c = &kr->chain;
    uint8_t hdr[VDM_I2C_OUT_HDR_BYTES];
    uint32_t flags;
    uint32_t len;
    uint32_t i;

    *fail_next = 0;
    if ((c->read_len < HDR_BYTES) ||
        (vdm_chain_copy_from(c, 0, hdr, sizeof(hdr)) != sizeof(hdr))) {
        warn(s, W_HDR, "i2c: request without an 8-byte out header");
        return -1;
    }
    flags = vdm_le32(hdr + 4);
    *fail_next = flags & VDM_I2C_FLAGS_FAIL_NEXT;
    if (r->status == NULL) {
        warn(s, W_STATUS, "i2c: request without a status byte");
        return -1;
    }
    /* "A driver MUST set the reserved bits of flags to be zero." */
    if ((flags & ~((uint32_t)VDM_I2C_FLAGS_FAIL_NEXT |
                   (uint32_t)VDM_I2C_FLAGS_M_RD)) != 0u) {
        warn(s, W_FLAGS, "i2c: reserved flag bits set");
        return -1;
    }
    __builtin_memset(m, 0, sizeof(*m));
    if (decode_addr(vdm_le16(hdr), &m->addr, &m->flags) < 0) {
        warn(s, W_ADDR, "i2c: address is neither a 7-bit nor 10-bit one");
        return -1;
    }
    if ((flags & VDM_I2C_FLAGS_M_RD) != 0u) {
        r->rd = 1u;
    } else {
        r->rd = 0u;
    }
    /* M_RD: "the buffer is write-only for the device"; a write request's
     * buffer is read-only. Anything else in the other direction is a
     * driver error. */
    if ((r->rd != 0u) ? (c->read_len != HDR_BYTES) : (c->write_len != 1u)) {
        warn(s, W_DIR, "i2c: buffer direction does not match M_RD");
        return -1;
    }
    len = (r->rd != 0u) ? (c->write_len - 1u) : (c->read_len - HDR_BYTES);
    if (len > VDM_I2C_MSG_MAX) {
        warn(s, W_LEN, "i2c: buffer longer than the device takes");
        return -1;
    }
    m->len = len;
    if (len == 0u) {
        return 0; /* zero-length request (SMBus Quick) */
    }
    if (r->rd != 0u) {
        /* The writable spans less the status byte. */
        uint32_t last = c->nread + c->nwrite - 1u;
        m->flags |= VDM_I2C_MSG_RD;
        m->iov = &c->iov[c->nread];
        m->niov = c->nwrite;
        if (c->iov[last].len == 1u) {
            m->niov--;
        } else {
            r->fix = c->iov[last];
            r->fix_idx = last;
            c->iov[last].len--;
        }
    } else {
        /* The readable spans after the header. */
        uint32_t skip = HDR_BYTES;
        for (i = 0; (i < c->nread) && (skip >= c->iov[i].len); i++) {
            skip -= c->iov[i].len;
        }
        if (i == c->nread) {
            return -1; /* cannot happen: read_len > 8 */
        }
        if (skip != 0u) {
            r->fix = c->iov[i];
            r->fix_idx = i;
            c->iov[i].base = (uint8_t *)c->iov[i].base + skip;
            c->iov[i].len -= skip;
        }
        m->iov = &c->iov[i];
        m->niov = c->nread - i;
    }
    return 0;
}

/* The group is complete: hand it to the host. */
static void submit(struct i2c_state *s)
{
    int rc;

    s->at_host = 1;
    s->token = vdm_kit_token(&s->kit, s->req[s->n - 1u]);
    rc = s->ops->transfer(s->host, s->msg, s->n, (void *)s->token);
    if ((rc < 0) && (s->at_host != 0u)) {
        end_group(s, -1);
    }
}

static int i2c_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct i2c_state *s = ctx;
    struct i2c_req *r = ireq(kr);
    struct vdm_chain *c = &kr->chain;
    struct vdm_i2c_msg m;
    uint32_t fail_next = 0;
    int bad;

    (void)written;
    if (s->at_host != 0u) {
        return VDM_EAGAIN; /* in order: wait for the group at the host */
    }

    r->status = NULL;
    r->fix_idx = NONE;
    r->rd = 0;
    /* A chain with more spans than the slot holds still belongs to its
     * group (FAIL_NEXT is in its header): it fails, and so does the rest
     * of the group ("Operation Status"). Its status byte is not among the
     * spans: no r->status. */
    r->trunc = kr->truncated;
    if ((r->trunc == 0u) && (c->nwrite != 0u) && (c->write_len != 0u)) {
        const struct vdm_iov *last = &c->iov[c->nread + c->nwrite - 1u];
        if (last->len != 0u) {
            r->status = (uint8_t *)last->base + last->len - 1u;
        }
    }
    __builtin_memset(&m, 0, sizeof(m)); /* parse() may stop before it */
    bad = parse(s, kr, &m, &fail_next);

    if (s->poisoned != 0u) {
        /* The rest of a group that already failed. */
        s->poisoned = (fail_next != 0u) ? 1u : 0u;
        end_req(s, kr, MSG_ERR, 0);
        return VDM_KIT_PENDING;
    }
    s->req[s->n] = kr;
    s->msg[s->n] = m;
    s->n++;
    if ((bad < 0) ||
        ((fail_next != 0u) && (s->n == (uint32_t)VDM_I2C_GROUP_MAX))) {
        if (bad == 0) {
            warn(s, W_GROUP, "i2c: group longer than the device takes");
        }
        s->poisoned = (fail_next != 0u) ? 1u : 0u;
        end_group(s, -1);
        return VDM_KIT_PENDING;
    }
    if (fail_next == 0u) {
        submit(s);
    }
    return VDM_KIT_PENDING;
}

static const struct vdm_kit_queue i2c_queues[] = {
    {.serve = i2c_serve,
     .flags = VDM_KIT_Q_SERVE_TRUNCATED,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = 1,
     .status_err = {VDM_I2C_MSG_ERR}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct i2c_state *i2c_dev_state(struct vdm_dev *d)
{
    struct i2c_state *s = (struct i2c_state *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == I2C_MAGIC)) ? s : NULL;
}

/* "A device MUST offer VIRTIO_I2C_F_ZERO_LENGTH_REQUEST and MUST reject any
 * driver that doesn't negotiate this feature." */
static int i2c_features_ok(struct vdm_dev *d, uint64_t accepted)
{
    struct i2c_state *s = i2c_dev_state(d);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    if ((accepted & VDM_I2C_F_ZERO_LENGTH_REQUEST) == 0u) {
        warn(s, W_FEATURE, "i2c: driver refused ZERO_LENGTH_REQUEST");
        return VDM_EINVAL;
    }
    return 0;
}

/* Abandon everything; a group still at the host stays in its slots until
 * the host completes it (the host may be writing into its buffers). */
static void i2c_drop(struct i2c_state *s, uint16_t q)
{
    vdm_kit_reset(&s->kit, q);
    if (s->at_host == 0u) {
        end_group(s, -1); /* abandoned: frees the slots, touches nothing */
    }
    s->poisoned = 0;
}

static void i2c_reset(struct vdm_dev *d)
{
    struct i2c_state *s = i2c_dev_state(d);

    if (s == NULL) {
        return;
    }
    i2c_drop(s, UINT16_MAX);
    s->warned = 0;
}

static void i2c_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct i2c_state *s = i2c_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_I2C_QUEUE_REQUEST)) {
        i2c_drop(s, q);
    }
}

static void i2c_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct i2c_state *s = i2c_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_I2C_QUEUE_REQUEST)) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void i2c_driver_ok(struct vdm_dev *d)
{
    i2c_queue_notify(d, VDM_I2C_QUEUE_REQUEST);
}

/* Save and restore (vdm/state.h): 8 bytes, u8 failing (1: the rest of a
 * group that failed is still to come and fails, spec "Operation Status"),
 * 7 bytes 0 (docs/state-format.md). Requests collected into a group or at
 * the host are chains in flight: re-queued in the image, read again by the
 * restored device. */
#define I2C_STATE_BYTES 8u

static int i2c_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct i2c_state *s = (const struct i2c_state *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    int rc = (int)I2C_STATE_BYTES;

    if ((s == NULL) || (s->magic != I2C_MAGIC)) {
        rc = VDM_EINVAL;
    } else if (p == NULL) {
        /* the size only */
    } else if (len < I2C_STATE_BYTES) {
        rc = VDM_ENOSPC;
    } else {
        __builtin_memset(p, 0, I2C_STATE_BYTES);
        p[0] = s->poisoned;
    }
    return rc;
}

/* A group fails only while requests are served: after DRIVER_OK. */
static int i2c_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct i2c_state *s = i2c_dev_state(d);
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (p == NULL) || (len != I2C_STATE_BYTES) || (p[0] > 1u)) {
        return VDM_EINVAL;
    }
    for (i = 1u; i < I2C_STATE_BYTES; i++) {
        if (p[i] != 0u) {
            rc = VDM_EINVAL;
        }
    }
    if ((p[0] != 0u) && ((vdm_dev_status(d) & VDMI_STATUS_RAN) == 0u)) {
        rc = VDM_EINVAL;
    }
    if (rc == 0) {
        s->poisoned = p[0];
    }
    return rc;
}

static const struct vdm_device_class i2c_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_I2C,
    .name = "i2c",
    .config_size = 0, /* "Device configuration layout: None currently
                         defined" */
    .max_queues = VDM_I2C_NUM_QUEUES,
    .features_ok = i2c_features_ok,
    .reset = i2c_reset,
    .driver_ok = i2c_driver_ok,
    .queue_notify = i2c_queue_notify,
    .queue_reset = i2c_queue_reset,
    .state_save = i2c_state_save,
    .state_restore = i2c_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

int vdm_i2c_init(struct vdm_i2c *i2c, struct vdm_dev *dev,
                 const struct vdm_i2c_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct i2c_state *s;
    int rc;

    if ((i2c == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg, struct vdm_i2c_config, host)) {
        return VDM_ESIZE;
    }
    if ((cfg->ops == NULL) || (cfg->reserved != 0u)) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg->ops, struct vdm_i2c_ops, transfer)) {
        return VDM_ESIZE;
    }
    if (cfg->ops->transfer == NULL) {
        return VDM_EINVAL;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = VDM_I2C_NUM_QUEUES;
    }
    if (dc.num_queues != (uint32_t)VDM_I2C_NUM_QUEUES) {
        return VDM_EINVAL;
    }

    __builtin_memset(i2c, 0, sizeof(*i2c));
    s = (struct i2c_state *)(void *)i2c->opaque;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;

    kc.num_queues = VDM_I2C_NUM_QUEUES;
    kc.nqdesc = 1;
    kc.queues = i2c_queues;
    kc.ctx = s;
    kc.slots = s->slots;
    kc.iovs = s->iov;
    kc.slot_bytes = I2C_SLOT_BYTES;
    kc.per_queue = I2C_SLOTS;
    kc.iov_per_req = VDM_I2C_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &i2c_class;
    dc.priv = s;
    /* Groups complete together but chains the kit answers itself do not
     * wait for them: no IN_ORDER. */
    dc.features = vdm_kit_features(VDM_I2C_F_ZERO_LENGTH_REQUEST,
                                   base->features, VDM_F_IN_ORDER);
    s->magic = I2C_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
    }
    return rc;
}

int vdm_i2c_complete(struct vdm_i2c *i2c, void *token, int done)
{
    struct i2c_state *s = i2c_of(i2c);
    int live;

    if ((s == NULL) || (token == NULL) || (s->at_host == 0u) ||
        (vdmi_kit_token_of(token) != s->token) ||
        (vdm_kit_lookup(&s->kit, vdmi_kit_token_of(token)) == NULL)) {
        return VDM_EINVAL;
    }
    live = vdm_kit_req_live(s->req[s->n - 1u]);
    end_group(s, done);
    /* Requests that waited behind the group (a no-op from inside the
     * transfer hook: the running pass goes on by itself). */
    (void)vdm_kit_run(&s->kit, VDM_I2C_QUEUE_REQUEST);
    return (live != 0) ? 0 : VDM_ESTATE;
}

uint32_t vdm_i2c_in_flight(const struct vdm_i2c *i2c)
{
    const struct i2c_state *s = ci2c_of(i2c);

    return ((s != NULL) && (s->at_host != 0u)) ? 1u : 0u;
}

struct vdm_dev *vdm_i2c_dev(const struct vdm_i2c *i2c)
{
    const struct i2c_state *s = ci2c_of(i2c);

    return (s != NULL) ? s->dev : NULL;
}
