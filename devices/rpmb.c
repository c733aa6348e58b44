/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-rpmb device type.
 *
 * Spec: "RPMB Device" -- "Device configuration layout", "Device
 * Initialization", "Device Operation: Request Queue" and the device
 * requirements of "Device Operation: Program Key / Get Write Counter /
 * Data Write / Data Read / Result Read" and "Device Operation"; the frame
 * and its MAC follow eMMC 6.6.22 as the spec describes it.
 *
 * Requests are served synchronously through the device kit (vdm/kit.h):
 * each chain's readable frames are copied out of guest memory once, the
 * MAC is computed over those copies (src/sha256.c), and only the copied,
 * authenticated data reaches the host. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/rpmb.h"

#include "abi_internal.h"
#include "sha256.h"
#include "vdm/kit.h"
#include "vdm/le.h"

#define RPMB_MAGIC 0x72706d62u /* "rpmb" */

/* s->warned: guest errors already logged since the last reset */
#define W_SHORT   0x01u /* readable part not a whole number of frames */
#define W_SHAPE   0x02u /* frames in an order the device does not know */
#define W_NOROOM  0x04u /* no writable room for the response */
#define W_AUTH    0x08u /* MAC mismatch */
#define W_COUNTER 0x10u /* replayed write counter */
#define W_HOST    0x20u /* host hook failed */
#define W_KEY     0x40u /* second key programming */

/* Bytes of a frame the MAC covers: data .. req_resp. */
#define MAC_SPAN (VDM_RPMB_FRAME_BYTES - VDM_RPMB_OFF_DATA)

#define RPMB_SLOT_BYTES VDM_KIT_SLOT_BYTES(0)

struct rpmb_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_rpmb_ops *ops;
    void *host;
    uint32_t counter; /* the write counter */
    uint32_t blocks;  /* capacity in blocks */
    uint8_t key_set;
    uint8_t max_wr;
    uint8_t max_rd;
    uint8_t have_last; /* last_* hold a result for a RESULT_READ alone */
    uint8_t config[4]; /* struct virtio_rpmb_config image (3 bytes) */
    uint8_t key[VDM_RPMB_KEY_BYTES];
    /* the result of the last program key or data write (eMMC result
     * register), for a RESULT_READ in a chain of its own */
    uint32_t last_counter;
    uint16_t last_resp;
    uint16_t last_result;
    uint16_t last_address;
    uint16_t reserved;
    /* authenticated write data (the copies the MAC was checked over),
     * and read data on its way to the guest */
    uint8_t data[VDM_RPMB_RW_MAX * VDM_RPMB_BLOCK_BYTES];
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(1, 1, RPMB_SLOT_BYTES)];
    struct vdm_iov iov[VDM_KIT_IOVS(1, 1, VDM_RPMB_IOV_MAX)];
};

_Static_assert(sizeof(struct rpmb_state) <= (size_t)VDM_RPMB_SIZE,
               "VDM_RPMB_SIZE too small for struct rpmb_state");
_Static_assert((size_t)alignof(struct rpmb_state) <=
                   (size_t)alignof(struct vdm_rpmb),
               "struct vdm_rpmb storage is under-aligned");

/* The state of an initialised device, else NULL. */
static const struct rpmb_state *crpmb_of(const struct vdm_rpmb *o)
{
    const struct rpmb_state *s = NULL;

    if (o != NULL) {
        s = (const struct rpmb_state *)(const void *)o->opaque;
        if (s->magic != RPMB_MAGIC) {
            s = NULL;
        }
    }
    return s;
}

static void warn(struct rpmb_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

/* ------------------------------------------------------------------------ */
/* Frames: big-endian fields ("struct virtio_rpmb_frame") */

static uint16_t get_be16(const uint8_t *f, uint32_t off)
{
    return (uint16_t)(((uint32_t)f[off] << 8) | (uint32_t)f[off + 1u]);
}

static uint32_t get_be32(const uint8_t *f, uint32_t off)
{
    return ((uint32_t)f[off] << 24) | ((uint32_t)f[off + 1u] << 16) |
           ((uint32_t)f[off + 2u] << 8) | (uint32_t)f[off + 3u];
}

static void put_be16(uint8_t *f, uint32_t off, uint16_t v)
{
    f[off] = (uint8_t)(v >> 8);
    f[off + 1u] = (uint8_t)v;
}

static void put_be32(uint8_t *f, uint32_t off, uint32_t v)
{
    f[off] = (uint8_t)(v >> 24);
    f[off + 1u] = (uint8_t)(v >> 16);
    f[off + 2u] = (uint8_t)(v >> 8);
    f[off + 3u] = (uint8_t)v;
}

/* A response frame with its header fields; data, nonce and MAC zero. */
static void resp_frame(uint8_t *f, uint16_t resp, uint16_t result,
                       uint32_t counter, uint16_t address, uint16_t count)
{
    __builtin_memset(f, 0, VDM_RPMB_FRAME_BYTES);
    put_be32(f, VDM_RPMB_OFF_COUNTER, counter);
    put_be16(f, VDM_RPMB_OFF_ADDRESS, address);
    put_be16(f, VDM_RPMB_OFF_BLOCK_COUNT, count);
    put_be16(f, VDM_RPMB_OFF_RESULT, result);
    put_be16(f, VDM_RPMB_OFF_REQ_RESP, resp);
}

/* Put the MAC of the one frame @p f into it (zeros without a key). */
static void sign_one(const struct rpmb_state *s, uint8_t *f)
{
    struct vdm_hmac_sha256 h;

    if (s->key_set != 0u) {
        vdm_hmac_sha256_init(&h, s->key, VDM_RPMB_KEY_BYTES);
        vdm_hmac_sha256_update(&h, &f[VDM_RPMB_OFF_DATA], MAC_SPAN);
        vdm_hmac_sha256_final(&h, &f[VDM_RPMB_OFF_KEY_MAC]);
        vdm_wipe(&h, sizeof(h));
    }
}

/* Write the one response frame @p f at the head of the writable part.
 * @return the used length. */
static uint32_t answer(struct rpmb_state *s, const struct vdm_chain *c,
                       const uint8_t *f)
{
    if (c->write_len < VDM_RPMB_FRAME_BYTES) {
        warn(s, W_NOROOM, "rpmb: no writable frame for the response");
        return 0u;
    }
    return (uint32_t)vdm_chain_copy_to(c, 0u, f, VDM_RPMB_FRAME_BYTES);
}

/* Remember the result of a program key or write (eMMC result register). */
static void set_last(struct rpmb_state *s, uint16_t resp, uint16_t result,
                     uint16_t address)
{
    s->have_last = 1u;
    s->last_resp = resp;
    s->last_result = result;
    s->last_counter = s->counter;
    s->last_address = address;
}

/* The response to a RESULT_READ: the last program key or write result
 * ("Device Operation: Result Read": block_count must be 1). */
static uint32_t result_read(struct rpmb_state *s, const struct vdm_chain *c,
                            const uint8_t *rr)
{
    uint8_t f[VDM_RPMB_FRAME_BYTES];

    if (s->have_last == 0u) {
        resp_frame(f, 0u, VDM_RPMB_RES_GENERAL_FAILURE, 0u, 0u, 0u);
    } else {
        uint16_t res = s->last_result;

        if (get_be16(rr, VDM_RPMB_OFF_BLOCK_COUNT) != 1u) {
            res = VDM_RPMB_RES_GENERAL_FAILURE;
        }
        resp_frame(f, s->last_resp, res, s->last_counter, s->last_address, 0u);
        sign_one(s, f);
    }
    return answer(s, c, f);
}

/* ------------------------------------------------------------------------ */
/* Requests */

/* "Device Operation: Program Key". @p nf frames of the request. */
static uint16_t program_key(struct rpmb_state *s, const uint8_t *f, uint32_t nf)
{
    if ((nf != 1u) || (get_be16(f, VDM_RPMB_OFF_BLOCK_COUNT) != 1u)) {
        warn(s, W_SHAPE, "rpmb: program key with a block count other than 1");
        return VDM_RPMB_RES_GENERAL_FAILURE;
    }
    /* "a one-time programmable authentication key. It cannot be
     * overwritten" */
    if (s->key_set != 0u) {
        warn(s, W_KEY, "rpmb: key programmed again");
        return VDM_RPMB_RES_GENERAL_FAILURE;
    }
    if (s->ops->program_key(s->host, &f[VDM_RPMB_OFF_KEY_MAC]) < 0) {
        warn(s, W_HOST, "rpmb: host failed to persist the key");
        return VDM_RPMB_RES_WRITE_FAILURE;
    }
    __builtin_memcpy(s->key, &f[VDM_RPMB_OFF_KEY_MAC], VDM_RPMB_KEY_BYTES);
    s->key_set = 1u;
    return VDM_RPMB_RES_OK;
}

/* "Device Operation: Data Write". @p f0 is the first of the @p nf data
 * frames (already copied); the others are read from the chain once each,
 * hashed as they are copied, and their data kept in s->data. */
static uint16_t data_write(struct rpmb_state *s, const struct vdm_chain *c,
                           const uint8_t *f0, uint32_t nf, uint16_t *addr)
{
    uint8_t f[VDM_RPMB_FRAME_BYTES];
    uint8_t mac[VDM_RPMB_KEY_BYTES];
    struct vdm_hmac_sha256 h;
    uint32_t count = get_be16(f0, VDM_RPMB_OFF_BLOCK_COUNT);
    uint32_t address = get_be16(f0, VDM_RPMB_OFF_ADDRESS);
    uint32_t i;
    int ok;

    *addr = (uint16_t)address;
    if (s->key_set == 0u) {
        return VDM_RPMB_RES_NO_AUTH_KEY;
    }
    if ((count == 0u) || (count > (uint32_t)s->max_wr) || (nf != count)) {
        warn(s, W_SHAPE,
             "rpmb: write block count out of range or not the "
             "number of frames");
        return VDM_RPMB_RES_GENERAL_FAILURE;
    }
    if (s->counter == UINT32_MAX) {
        return VDM_RPMB_RES_WRITE_COUNTER_EXPIRED;
    }
    if ((address + count) > s->blocks) {
        return VDM_RPMB_RES_ADDR_FAILURE;
    }
    vdm_hmac_sha256_init(&h, s->key, VDM_RPMB_KEY_BYTES);
    __builtin_memcpy(f, f0, VDM_RPMB_FRAME_BYTES);
    for (i = 0u; i < count; i++) {
        if (i != 0u) {
            (void)vdm_chain_copy_from(c, (size_t)i * VDM_RPMB_FRAME_BYTES, f,
                                      VDM_RPMB_FRAME_BYTES);
        }
        vdm_hmac_sha256_update(&h, &f[VDM_RPMB_OFF_DATA], MAC_SPAN);
        __builtin_memcpy(&s->data[i * VDM_RPMB_BLOCK_BYTES],
                         &f[VDM_RPMB_OFF_DATA], VDM_RPMB_BLOCK_BYTES);
    }
    vdm_hmac_sha256_final(&h, mac);
    /* f holds the last frame: its MAC, and the counter of the request
     * (all frames are authenticated together, so any of them would do). */
    ok = vdm_ct_equal(mac, &f[VDM_RPMB_OFF_KEY_MAC], VDM_RPMB_KEY_BYTES);
    vdm_wipe(&h, sizeof(h));
    if (ok == 0) {
        warn(s, W_AUTH, "rpmb: write with a wrong MAC");
        return VDM_RPMB_RES_AUTH_FAILURE;
    }
    if (get_be32(f0, VDM_RPMB_OFF_COUNTER) != s->counter) {
        warn(s, W_COUNTER, "rpmb: write with a stale write counter");
        return VDM_RPMB_RES_COUNT_FAILURE;
    }
    if (s->ops->write(s->host, address, count, s->data, s->counter + 1u) < 0) {
        warn(s, W_HOST, "rpmb: host write failed");
        return VDM_RPMB_RES_WRITE_FAILURE;
    }
    s->counter++;
    return VDM_RPMB_RES_OK;
}

/* "Device Operation: Get Write Counter". */
static uint32_t get_counter(struct rpmb_state *s, const struct vdm_chain *c,
                            const uint8_t *rq, uint32_t nf)
{
    uint8_t f[VDM_RPMB_FRAME_BYTES];
    uint16_t res = VDM_RPMB_RES_OK;

    if (s->key_set == 0u) {
        res = VDM_RPMB_RES_NO_AUTH_KEY;
    } else if ((nf != 1u) || (get_be16(rq, VDM_RPMB_OFF_BLOCK_COUNT) != 1u)) {
        warn(s, W_SHAPE, "rpmb: get counter with a block count other than 1");
        res = VDM_RPMB_RES_GENERAL_FAILURE;
    } else {
        /* success */
    }
    resp_frame(f, VDM_RPMB_RESP_GET_COUNTER, res,
               (res == VDM_RPMB_RES_OK) ? s->counter : 0u, 0u, 0u);
    __builtin_memcpy(&f[VDM_RPMB_OFF_NONCE], &rq[VDM_RPMB_OFF_NONCE],
                     VDM_RPMB_NONCE_BYTES);
    sign_one(s, f);
    return answer(s, c, f);
}

/* "Device Operation: Data Read": block_count response frames, the MAC
 * over all of them in the last one. */
static uint32_t data_read(struct rpmb_state *s, const struct vdm_chain *c,
                          const uint8_t *rq, uint32_t nf)
{
    uint8_t f[VDM_RPMB_FRAME_BYTES];
    struct vdm_hmac_sha256 h;
    uint32_t count = get_be16(rq, VDM_RPMB_OFF_BLOCK_COUNT);
    uint32_t address = get_be16(rq, VDM_RPMB_OFF_ADDRESS);
    uint32_t room = c->write_len / VDM_RPMB_FRAME_BYTES;
    uint32_t nout = 1u;
    uint32_t i;
    uint32_t written = 0u;
    uint16_t res = VDM_RPMB_RES_OK;

    if (s->key_set == 0u) {
        res = VDM_RPMB_RES_NO_AUTH_KEY;
    } else if ((nf != 1u) || (count == 0u) || (count > (uint32_t)s->max_rd) ||
               (room < count)) {
        warn(s, W_SHAPE,
             "rpmb: read block count out of range or without "
             "room for its frames");
        res = VDM_RPMB_RES_GENERAL_FAILURE;
    } else if ((address + count) > s->blocks) {
        res = VDM_RPMB_RES_ADDR_FAILURE;
    } else if (s->ops->read(s->host, address, count, s->data) < 0) {
        warn(s, W_HOST, "rpmb: host read failed");
        res = VDM_RPMB_RES_READ_FAILURE;
    } else {
        nout = count;
    }
    if (res != VDM_RPMB_RES_OK) {
        /* One frame carrying the result. */
        resp_frame(f, VDM_RPMB_RESP_DATA_READ, res, 0u, (uint16_t)address,
                   (uint16_t)count);
        __builtin_memcpy(&f[VDM_RPMB_OFF_NONCE], &rq[VDM_RPMB_OFF_NONCE],
                         VDM_RPMB_NONCE_BYTES);
        return answer(s, c, f);
    }
    vdm_hmac_sha256_init(&h, s->key, VDM_RPMB_KEY_BYTES);
    for (i = 0u; i < nout; i++) {
        resp_frame(f, VDM_RPMB_RESP_DATA_READ, res, 0u, (uint16_t)address,
                   (uint16_t)count);
        __builtin_memcpy(&f[VDM_RPMB_OFF_NONCE], &rq[VDM_RPMB_OFF_NONCE],
                         VDM_RPMB_NONCE_BYTES);
        __builtin_memcpy(&f[VDM_RPMB_OFF_DATA],
                         &s->data[i * VDM_RPMB_BLOCK_BYTES],
                         VDM_RPMB_BLOCK_BYTES);
        vdm_hmac_sha256_update(&h, &f[VDM_RPMB_OFF_DATA], MAC_SPAN);
        if ((i + 1u) == nout) {
            vdm_hmac_sha256_final(&h, &f[VDM_RPMB_OFF_KEY_MAC]);
        }
        written += (uint32_t)vdm_chain_copy_to(
            c, (size_t)i * VDM_RPMB_FRAME_BYTES, f, VDM_RPMB_FRAME_BYTES);
    }
    vdm_wipe(&h, sizeof(h));
    vdm_wipe(s->data, (size_t)nout * VDM_RPMB_BLOCK_BYTES);
    return written;
}

/* Program key or data write, with the RESULT_READ frame @p rr (NULL when
 * the driver asked for no result). */
static uint32_t write_op(struct rpmb_state *s, const struct vdm_chain *c,
                         const uint8_t *f0, uint32_t nf, const uint8_t *rr)
{
    uint16_t type = get_be16(f0, VDM_RPMB_OFF_REQ_RESP);
    uint16_t addr = 0u;
    uint16_t resp;
    uint16_t res;

    if (type == VDM_RPMB_REQ_PROGRAM_KEY) {
        resp = VDM_RPMB_RESP_PROGRAM_KEY;
        res = program_key(s, f0, nf);
    } else {
        resp = VDM_RPMB_RESP_DATA_WRITE;
        res = data_write(s, c, f0, nf, &addr);
    }
    set_last(s, resp, res, addr);
    if (rr == NULL) {
        return 0u;
    }
    return result_read(s, c, rr);
}

/* Copy frame @p i of the readable part into @p f. */
static void frame_at(const struct vdm_chain *c, uint32_t i, uint8_t *f)
{
    (void)vdm_chain_copy_from(c, (size_t)i * VDM_RPMB_FRAME_BYTES, f,
                              VDM_RPMB_FRAME_BYTES);
}

/* "Device Operation: Request Queue": one request chain. */
static int rpmb_serve(void *ctx, struct vdm_kit_req *r, uint32_t *written)
{
    struct rpmb_state *s = ctx;
    const struct vdm_chain *c = &r->chain;
    uint8_t f0[VDM_RPMB_FRAME_BYTES];
    uint8_t rr[VDM_RPMB_FRAME_BYTES];
    uint8_t f[VDM_RPMB_FRAME_BYTES];
    uint32_t nf = c->read_len / VDM_RPMB_FRAME_BYTES;
    uint16_t type;
    uint32_t w = 0u;

    if ((nf == 0u) || ((c->read_len % VDM_RPMB_FRAME_BYTES) != 0u)) {
        warn(s, W_SHORT, "rpmb: request is not a whole number of frames");
        resp_frame(f, 0u, VDM_RPMB_RES_GENERAL_FAILURE, 0u, 0u, 0u);
        *written = answer(s, c, f);
        return VDM_KIT_DONE;
    }
    frame_at(c, 0u, f0);
    type = get_be16(f0, VDM_RPMB_OFF_REQ_RESP);
    switch (type) {
    case VDM_RPMB_REQ_PROGRAM_KEY:
    case VDM_RPMB_REQ_DATA_WRITE:
        /* "A program key or write request can also combine with a result
         * read": then it is the last frame. */
        if (nf >= 2u) {
            frame_at(c, nf - 1u, rr);
        }
        if ((nf >= 2u) &&
            (get_be16(rr, VDM_RPMB_OFF_REQ_RESP) == VDM_RPMB_REQ_RESULT_READ)) {
            w = write_op(s, c, f0, nf - 1u, rr);
        } else {
            w = write_op(s, c, f0, nf, NULL);
        }
        break;
    case VDM_RPMB_REQ_GET_WRITE_COUNTER: w = get_counter(s, c, f0, nf); break;
    case VDM_RPMB_REQ_DATA_READ: w = data_read(s, c, f0, nf); break;
    case VDM_RPMB_REQ_RESULT_READ:
        if (nf == 1u) {
            w = result_read(s, c, f0);
            break;
        }
        warn(s, W_SHAPE, "rpmb: result read followed by other frames");
        resp_frame(f, 0u, VDM_RPMB_RES_GENERAL_FAILURE, 0u, 0u, 0u);
        w = answer(s, c, f);
        break;
    default:
        warn(s, W_SHAPE, "rpmb: unknown request type");
        resp_frame(f, 0u, VDM_RPMB_RES_GENERAL_FAILURE, 0u, 0u, 0u);
        w = answer(s, c, f);
        break;
    }
    *written = w;
    return VDM_KIT_DONE;
}

static const struct vdm_kit_queue rpmb_queues[] = {
    {.serve = rpmb_serve, .status_at = VDM_KIT_STATUS_NONE},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct rpmb_state *rpmb_dev_state(struct vdm_dev *d)
{
    struct rpmb_state *s = (struct rpmb_state *)vdm_dev_priv(d);

    if ((s != NULL) && (s->magic == RPMB_MAGIC)) {
        return s;
    }
    return NULL;
}

/* The key and the counter survive ("MUST be kept regardless of device
 * reset or reboot"); the result register and the warnings do not. */
static void rpmb_reset(struct vdm_dev *d)
{
    struct rpmb_state *s = rpmb_dev_state(d);

    if (s != NULL) {
        vdm_kit_reset(&s->kit, UINT16_MAX);
        s->warned = 0u;
        s->have_last = 0u;
    }
}

static void rpmb_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct rpmb_state *s = rpmb_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_RPMB_QUEUE_REQUEST)) {
        vdm_kit_reset(&s->kit, q);
    }
}

static void rpmb_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct rpmb_state *s = rpmb_dev_state(d);

    if ((s != NULL) && (q == (uint16_t)VDM_RPMB_QUEUE_REQUEST)) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void rpmb_driver_ok(struct vdm_dev *d)
{
    rpmb_queue_notify(d, VDM_RPMB_QUEUE_REQUEST);
}

static void rpmb_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct rpmb_state *s = rpmb_dev_state(d);

    if (s != NULL) {
        vdm_kit_config_copy(s->config, VDM_RPMB_CONFIG_BYTES, off, buf, len);
    }
}

/* Save and restore (vdm/state.h): 16 bytes (docs/state-format.md), le32
 * write counter, u8 key programmed (0 or 1), u8 a result is held, le16
 * its response type, le16 its result, le16 its address, le32 its write
 * counter. The key and the counter are the storage's ("MUST be kept
 * regardless of device reset or reboot"): the destination's host brings
 * them from the same storage, and the image only checks they are equal
 * (the key itself never leaves the device). The result register of the
 * last program key or data write is the device's: a RESULT_READ after the
 * move answers as before it. */
#define RPMB_STATE_BYTES 16u

static int rpmb_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct rpmb_state *s = (const struct rpmb_state *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    int rc = (int)RPMB_STATE_BYTES;

    if ((s == NULL) || (s->magic != RPMB_MAGIC)) {
        rc = VDM_EINVAL;
    } else if (p == NULL) {
        /* the size only */
    } else if (len < RPMB_STATE_BYTES) {
        rc = VDM_ENOSPC;
    } else {
        __builtin_memset(p, 0, RPMB_STATE_BYTES);
        vdm_put_le32(p, s->counter);
        p[4] = s->key_set;
        if (s->have_last != 0u) {
            p[5] = 1u;
            vdm_put_le16(&p[6], s->last_resp);
            vdm_put_le16(&p[8], s->last_result);
            vdm_put_le16(&p[10], s->last_address);
            vdm_put_le32(&p[12], s->last_counter);
        }
    }
    return rc;
}

/* A result a program key or data write could have left ("Device
 * Operation: Program Key", "Data Write"): the key is one-time
 * programmable, so without it a program key failed and a write found no
 * key; with it a write went past the key check. */
static int rpmb_result_ok(const struct rpmb_state *s, const uint8_t *p)
{
    uint32_t resp = vdm_le16(&p[6]);
    uint32_t res = vdm_le16(&p[8]);
    int ok = 0;

    if (resp == VDM_RPMB_RESP_PROGRAM_KEY) {
        if ((vdm_le16(&p[10]) != 0u) ||
            ((res != VDM_RPMB_RES_OK) &&
             (res != VDM_RPMB_RES_GENERAL_FAILURE) &&
             (res != VDM_RPMB_RES_WRITE_FAILURE))) {
            ok = 0;
        } else if ((s->key_set != 0u) || (res != VDM_RPMB_RES_OK)) {
            ok = 1;
        } else {
            ok = 0;
        }
    } else if (resp == VDM_RPMB_RESP_DATA_WRITE) {
        if (((res > VDM_RPMB_RES_NO_AUTH_KEY) &&
             (res != VDM_RPMB_RES_WRITE_COUNTER_EXPIRED)) ||
            (res == VDM_RPMB_RES_READ_FAILURE)) {
            ok = 0;
        } else if ((s->key_set != 0u) == (res != VDM_RPMB_RES_NO_AUTH_KEY)) {
            ok = 1;
        } else {
            ok = 0;
        }
    } else {
        ok = 0;
    }
    if (vdm_le32(&p[12]) > s->counter) {
        ok = 0; /* the counter only grows */
    }
    return ok;
}

static int rpmb_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct rpmb_state *s = rpmb_dev_state(d);
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (p == NULL) || (len != RPMB_STATE_BYTES)) {
        return VDM_EINVAL;
    }
    if ((vdm_le32(p) != s->counter) || (p[4] != s->key_set) || (p[5] > 1u)) {
        rc = VDM_EINVAL; /* another storage, or not a flag */
    } else if (p[5] == 0u) {
        for (i = 6u; i < RPMB_STATE_BYTES; i++) {
            if (p[i] != 0u) {
                rc = VDM_EINVAL;
            }
        }
    } else if (((vdm_dev_status(d) & VDMI_STATUS_RAN) == 0u) ||
               (rpmb_result_ok(s, p) == 0)) {
        rc = VDM_EINVAL;
    } else {
        s->have_last = 1u;
        s->last_resp = vdm_le16(&p[6]);
        s->last_result = vdm_le16(&p[8]);
        s->last_address = vdm_le16(&p[10]);
        s->last_counter = vdm_le32(&p[12]);
    }
    return rc;
}

static const struct vdm_device_class rpmb_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_RPMB,
    .name = "rpmb",
    .config_size = VDM_RPMB_CONFIG_BYTES,
    .max_queues = VDM_RPMB_NUM_QUEUES,
    .reset = rpmb_reset,
    .driver_ok = rpmb_driver_ok,
    .queue_notify = rpmb_queue_notify,
    .queue_reset = rpmb_queue_reset,
    .config_read = rpmb_config_read,
    .state_save = rpmb_state_save,
    .state_restore = rpmb_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static int check_config(const struct vdm_rpmb_config *cfg)
{
    /* sizes of older callers' structs: up to the last field we read */
    size_t need_cfg = (size_t)offsetof(struct vdm_rpmb_config, host);
    size_t need_ops = (size_t)offsetof(struct vdm_rpmb_ops, program_key);

    need_cfg += sizeof(void *);
    need_ops += sizeof(cfg->ops->program_key);
    if ((size_t)cfg->size < need_cfg) {
        return VDM_ESIZE;
    }
    if ((cfg->ops == NULL) || (cfg->reserved != 0u)) {
        return VDM_EINVAL;
    }
    if ((size_t)cfg->ops->size < need_ops) {
        return VDM_ESIZE;
    }
    if ((cfg->ops->read == NULL) || (cfg->ops->write == NULL) ||
        (cfg->ops->program_key == NULL) || (cfg->ops->reserved != 0u)) {
        return VDM_EINVAL;
    }
    /* "Device Initialization": a multiple of 128 KiB, up to 16 MiB. */
    if ((cfg->capacity == 0u) || (cfg->capacity > VDM_RPMB_CAPACITY_MAX) ||
        (cfg->max_wr_cnt > VDM_RPMB_RW_MAX) ||
        (cfg->max_rd_cnt > VDM_RPMB_RW_MAX) || (cfg->key_programmed > 1u)) {
        return VDM_EINVAL;
    }
    return 0;
}

int vdm_rpmb_init(struct vdm_rpmb *rpmb, struct vdm_dev *dev,
                  const struct vdm_rpmb_config *cfg,
                  const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct rpmb_state *s;
    int rc;

    if ((rpmb == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
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
        dc.num_queues = VDM_RPMB_NUM_QUEUES;
    }
    if (dc.num_queues != (uint16_t)VDM_RPMB_NUM_QUEUES) {
        return VDM_EINVAL;
    }

    __builtin_memset(rpmb, 0, sizeof(*rpmb));
    s = (struct rpmb_state *)(void *)rpmb->opaque;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->counter = cfg->write_counter;
    s->blocks = (uint32_t)cfg->capacity * VDM_RPMB_BLOCKS_PER_UNIT;
    s->max_wr =
        (cfg->max_wr_cnt != 0u) ? cfg->max_wr_cnt : (uint8_t)VDM_RPMB_RW_MAX;
    s->max_rd =
        (cfg->max_rd_cnt != 0u) ? cfg->max_rd_cnt : (uint8_t)VDM_RPMB_RW_MAX;
    s->key_set = cfg->key_programmed;
    if (s->key_set != 0u) {
        __builtin_memcpy(s->key, cfg->key, VDM_RPMB_KEY_BYTES);
    }
    /* struct virtio_rpmb_config: capacity, max_wr_cnt, max_rd_cnt */
    s->config[0] = cfg->capacity;
    s->config[1] = s->max_wr;
    s->config[2] = s->max_rd;

    kc.num_queues = VDM_RPMB_NUM_QUEUES;
    kc.nqdesc = 1u;
    kc.queues = rpmb_queues;
    kc.ctx = s;
    kc.slots = s->slots;
    kc.iovs = s->iov;
    kc.slot_bytes = RPMB_SLOT_BYTES;
    kc.per_queue = 1u;
    kc.iov_per_req = VDM_RPMB_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &rpmb_class;
    dc.priv = s;
    /* "Feature bits: None": the kit's policy. */
    dc.features = vdm_kit_features(0u, base->features, 0u);
    s->magic = RPMB_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0u;
    }
    return rc;
}

uint32_t vdm_rpmb_write_counter(const struct vdm_rpmb *rpmb)
{
    const struct rpmb_state *s = crpmb_of(rpmb);

    return (s != NULL) ? s->counter : 0u;
}

int vdm_rpmb_key_programmed(const struct vdm_rpmb *rpmb)
{
    const struct rpmb_state *s = crpmb_of(rpmb);

    return ((s != NULL) && (s->key_set != 0u)) ? 1 : 0;
}

struct vdm_dev *vdm_rpmb_dev(const struct vdm_rpmb *rpmb)
{
    const struct rpmb_state *s = crpmb_of(rpmb);

    return (s != NULL) ? s->dev : NULL;
}
