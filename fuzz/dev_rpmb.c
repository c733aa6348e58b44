/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-rpmb (fuzz_dev.h). Requests are one or two 512-byte
 * frames built from a few fuzz bytes: a request type, address, block
 * count, write counter (the device's or any), and a MAC that is valid for
 * the plug-in's key or garbage, so the fuzzer reaches the authenticated
 * paths as well as every refusal. The host storage checks every range it
 * is handed, that the key is programmed once and that the counter only
 * ever goes up by one; used lengths are whole frames. */
#include <string.h>

#include "../src/sha256.h"
#include "fuzz_dev.h"
#include "vdm/devices/rpmb.h"

#define RP_FRAMES 2u
#define RP_BLOCKS (2u * VDM_RPMB_BLOCKS_PER_UNIT) /* capacity 2 */

_Static_assert(RP_FRAMES *VDM_RPMB_FRAME_BYTES <= FD_REQ_BUF,
               "request buffer too small for the frames");

static const uint8_t rp_key[32] = "fuzz-rpmb-key-0123456789abcdef!";

static struct {
    struct vdm_rpmb rpmb;
    struct vdm_rpmb_ops ops;
    uint32_t counter; /* what the host persisted */
    int key_set;
    int fail; /* host hooks fail */
    uint8_t maxwr, maxrd;
} RP;

static int rp_read(void *host, uint32_t block, uint32_t count, void *buf)
{
    (void)host;
    FZ_CHECK(count >= 1u && count <= RP.maxrd && block + count <= RP_BLOCKS,
             "read %u+%u", block, count);
    FZ_CHECK(RP.key_set, "read without a key");
    memset(buf, 0x5a, count * VDM_RPMB_BLOCK_BYTES);
    return RP.fail ? VDM_EIO : 0;
}

static int rp_write(void *host, uint32_t block, uint32_t count, const void *buf,
                    uint32_t counter)
{
    (void)host;
    (void)buf;
    FZ_CHECK(count >= 1u && count <= RP.maxwr && block + count <= RP_BLOCKS,
             "write %u+%u", block, count);
    FZ_CHECK(RP.key_set, "write without a key");
    FZ_CHECK(counter == RP.counter + 1u && counter != 0u, "counter %u after %u",
             counter, RP.counter);
    if (RP.fail)
        return VDM_EIO;
    RP.counter = counter;
    return 0;
}

static int rp_program_key(void *host, const uint8_t *key)
{
    (void)host;
    (void)key;
    FZ_CHECK(!RP.key_set, "key programmed twice");
    if (RP.fail)
        return VDM_EIO;
    RP.key_set = 1;
    return 0;
}

/* cb: bit 0 key already programmed, bit 1 counter near its end, bits 2-3
 * max_wr_cnt - 1, bits 4-5 max_rd_cnt - 1. */
static int rpmb_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                       uint8_t cb)
{
    struct vdm_rpmb_config c = {.size = sizeof(c)};
    memset(&RP, 0, sizeof(RP));
    base->num_queues = 1;
    RP.ops = (struct vdm_rpmb_ops){.size = sizeof(RP.ops),
                                   .read = rp_read,
                                   .write = rp_write,
                                   .program_key = rp_program_key};
    RP.key_set = cb & 1u;
    RP.counter = (cb & 2u) ? UINT32_MAX - 1u : 0u;
    RP.maxwr = (uint8_t)(1u + ((cb >> 2) & 3u));
    RP.maxrd = (uint8_t)(1u + ((cb >> 4) & 3u));
    c.capacity = 2;
    c.max_wr_cnt = RP.maxwr;
    c.max_rd_cnt = RP.maxrd;
    c.key_programmed = (uint8_t)RP.key_set;
    memcpy(c.key, rp_key, sizeof(rp_key));
    c.write_counter = RP.counter;
    c.ops = &RP.ops;
    return vdm_rpmb_init(&RP.rpmb, dev, &c, base);
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* sel: bits 0-2 type (0: any 16-bit value), bit 3 two frames, bit 4 the
 * second frame is a RESULT_READ, bit 5 sign with the key, bit 6 any
 * counter; then address, block count, counter, data seed. */
static uint32_t rpmb_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t sel = fz_u8(f);
    uint16_t t = (uint16_t)(sel & 7u);
    uint16_t addr = fz_u16(f);
    uint16_t count = fz_u8(f);
    uint32_t ctr = (sel & 0x40u) ? fz_u32(f) : RP.counter;
    uint8_t seed = fz_u8(f);
    uint32_t n = (sel & 8u) ? 2u : 1u;

    if (t == 0u || t > 5u)
        t = fz_u16(f);
    *type = t;
    memset(req, 0, n * VDM_RPMB_FRAME_BYTES);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *fr = req + i * VDM_RPMB_FRAME_BYTES;
        int rr = i == 1u && (sel & 0x10u);
        for (uint32_t j = 0; j < VDM_RPMB_BLOCK_BYTES; j++)
            fr[VDM_RPMB_OFF_DATA + j] = (uint8_t)(seed + j);
        memset(fr + VDM_RPMB_OFF_NONCE, seed, VDM_RPMB_NONCE_BYTES);
        fr[VDM_RPMB_OFF_COUNTER] = (uint8_t)(ctr >> 24);
        fr[VDM_RPMB_OFF_COUNTER + 1] = (uint8_t)(ctr >> 16);
        fr[VDM_RPMB_OFF_COUNTER + 2] = (uint8_t)(ctr >> 8);
        fr[VDM_RPMB_OFF_COUNTER + 3] = (uint8_t)ctr;
        be16(fr + VDM_RPMB_OFF_ADDRESS, addr);
        be16(fr + VDM_RPMB_OFF_BLOCK_COUNT, rr ? 1u : count);
        be16(fr + VDM_RPMB_OFF_REQ_RESP,
             rr ? (uint16_t)VDM_RPMB_REQ_RESULT_READ : t);
        if (t == VDM_RPMB_REQ_PROGRAM_KEY)
            memcpy(fr + VDM_RPMB_OFF_KEY_MAC, rp_key, sizeof(rp_key));
    }
    if ((sel & 0x20u) && t != VDM_RPMB_REQ_PROGRAM_KEY) {
        /* the MAC of the data frames, in the last of them */
        uint32_t nd = (n == 2u && (sel & 0x10u)) ? 1u : n;
        struct vdm_hmac_sha256 h;
        vdm_hmac_sha256_init(&h, rp_key, sizeof(rp_key));
        for (uint32_t i = 0; i < nd; i++)
            vdm_hmac_sha256_update(
                &h, req + i * VDM_RPMB_FRAME_BYTES + VDM_RPMB_OFF_DATA,
                VDM_RPMB_FRAME_BYTES - VDM_RPMB_OFF_DATA);
        vdm_hmac_sha256_final(&h, req + (nd - 1u) * VDM_RPMB_FRAME_BYTES +
                                      VDM_RPMB_OFF_KEY_MAC);
    }
    return n * VDM_RPMB_FRAME_BYTES;
}

static void rpmb_check_used(unsigned q, const struct fd_rec *r,
                            const struct drv_used *u)
{
    (void)q;
    FZ_CHECK(u->len % VDM_RPMB_FRAME_BYTES == 0u && u->len <= r->wlen,
             "used len %u of %llu writable", u->len,
             (unsigned long long)r->wlen);
}

static void rpmb_host(uint8_t act, uint32_t arg)
{
    (void)act;
    RP.fail = (arg & 1u) != 0u;
}

static void rpmb_finish(void)
{
    FZ_CHECK(vdm_rpmb_write_counter(&RP.rpmb) == RP.counter,
             "device counter %u, persisted %u",
             vdm_rpmb_write_counter(&RP.rpmb), RP.counter);
    FZ_CHECK(vdm_rpmb_key_programmed(&RP.rpmb) == RP.key_set,
             "key state differs from the host's");
}

const struct fuzz_dev_plugin fuzz_dev_rpmb = {
    .name = "rpmb",
    .create = rpmb_create,
    .request = rpmb_request,
    .check_used = rpmb_check_used,
    .host = rpmb_host,
    .finish = rpmb_finish,
};
