/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-i2c (fuzz_dev.h). The host bus completes transfers
 * at once (all, some or none of the messages), keeps them for a later
 * completion, or refuses them; every message it is handed is checked to be
 * guest memory of the right direction and length. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/i2c.h"

static struct {
    struct vdm_i2c i2c;
    struct vdm_i2c_ops ops;
    unsigned mode; /* 0 complete all, 1 some, 2 keep, 3 refuse */
    void *token;   /* kept transfer */
    uint32_t n;
} I2;

static int i2c_transfer(void *host, const struct vdm_i2c_msg *msgs, uint32_t n,
                        void *token)
{
    (void)host;
    FZ_CHECK(n >= 1 && n <= VDM_I2C_GROUP_MAX, "transfer of %u messages", n);
    FZ_CHECK(I2.token == NULL, "second transfer while one is at the host");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t total = 0;
        FZ_CHECK(msgs[i].len <= VDM_I2C_MSG_MAX, "message of %u bytes",
                 msgs[i].len);
        FZ_CHECK((msgs[i].flags & VDM_I2C_MSG_TEN) || msgs[i].addr < 0x80,
                 "7-bit address 0x%x", msgs[i].addr);
        fd_spans_check(msgs[i].iov, msgs[i].niov,
                       (msgs[i].flags & VDM_I2C_MSG_RD) != 0, &total);
        FZ_CHECK(total == msgs[i].len, "spans %llu, len %u",
                 (unsigned long long)total, msgs[i].len);
        if (msgs[i].flags & VDM_I2C_MSG_RD)
            for (uint32_t j = 0; j < msgs[i].niov; j++)
                memset(msgs[i].iov[j].base, 0x3c, msgs[i].iov[j].len);
    }
    switch (I2.mode) {
    case 0:
        FZ_CHECK(vdm_i2c_complete(&I2.i2c, token, (int)n) == 0, "complete");
        return 0;
    case 1:
        FZ_CHECK(vdm_i2c_complete(&I2.i2c, token, (int)(n / 2)) == 0,
                 "complete some");
        return 0;
    case 2:
        I2.token = token;
        I2.n = n;
        return 0;
    default: return VDM_EIO;
    }
}

static int i2c_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    struct vdm_i2c_config c = {.size = sizeof(c)};
    memset(&I2, 0, sizeof(I2));
    base->num_queues = 1;
    I2.mode = cb % 4;
    I2.ops =
        (struct vdm_i2c_ops){.size = sizeof(I2.ops), .transfer = i2c_transfer};
    c.ops = &I2.ops;
    return vdm_i2c_init(&I2.i2c, dev, &c, base);
}

/* out_hdr (addr, padding, flags) and up to 31 data bytes */
static uint32_t i2c_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint32_t n = fz_u8(f) % 32u;
    (void)type;
    fz_bytes(f, req, 8u + n);
    return 8u + n;
}

static void i2c_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    (void)q;
    FZ_CHECK(u->len <= r->wlen, "used len %u of %llu writable", u->len,
             (unsigned long long)r->wlen);
}

static void i2c_complete_kept(int done)
{
    void *t = I2.token;
    int rc;
    if (t == NULL)
        return;
    I2.token = NULL;
    rc = vdm_i2c_complete(&I2.i2c, t, done);
    FZ_CHECK(rc == 0 || rc == VDM_ESTATE, "complete kept %d", rc);
}

static void i2c_host(uint8_t act, uint32_t arg)
{
    switch (act % 3) {
    case 0: I2.mode = arg % 4; break;
    case 1: i2c_complete_kept((int)(arg % (I2.n + 2u)) - 1); break;
    default: {
        /* A made-up token: refused, unless it happens to be the one the
         * host holds (then it is that completion, and the token is spent). */
        void *t = (void *)(uintptr_t)(arg | 1u);
        int rc = vdm_i2c_complete(&I2.i2c, t, 0);
        FZ_CHECK(rc == VDM_EINVAL || t == I2.token, "forged token accepted");
        if (t == I2.token && rc != VDM_EINVAL)
            I2.token = NULL;
        break;
    }
    }
}

static void i2c_complete_all(void)
{
    I2.mode = 0;
    i2c_complete_kept((int)I2.n);
}

static void i2c_finish(void)
{
    FZ_CHECK(vdm_i2c_in_flight(&I2.i2c) == 0, "transfer left in flight");
}

const struct fuzz_dev_plugin fuzz_dev_i2c = {
    .name = "i2c",
    .create = i2c_create,
    .request = i2c_request,
    .check_used = i2c_check_used,
    .host = i2c_host,
    .complete_all = i2c_complete_all,
    .finish = i2c_finish,
};
