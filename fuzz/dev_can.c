/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-can (fuzz_dev.h). Every feature offered (or a
 * subset, by config byte); the bus keeps accepted frames until the input
 * completes them (OK or NOT_OK), refuses some, completes inside transmit,
 * delivers frames of any shape, goes bus-off. Oracles: every frame reaching
 * the bus is valid for the negotiated features; used lengths fit. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/can.h"

#define NSLOT 8u
#define NPEND 32u

static struct {
    struct vdm_can can;
    struct vdm_can_ops ops;
    uintptr_t pend[NPEND];
    unsigned npend;
    int fail, inside;
    uint64_t storage[VDM_CAN_STORAGE_BYTES(NSLOT) / 8u + 1u];
} C;

static int fd_len_ok(uint32_t n)
{
    return n <= 8 || (n <= 24 && n % 4 == 0) || n == 32 || n == 48 || n == 64;
}

static int c_tx(void *host, const struct vdm_can_frame *f, uintptr_t token)
{
    uint64_t feat = vdm_dev_features(fd_dev());
    int fd = (f->flags & VDM_CAN_FLAGS_FD) != 0;
    (void)host;
    FZ_CHECK((f->flags & ~0xe000u) == 0, "tx flags %x", f->flags);
    FZ_CHECK(fd ? (feat & VDM_CAN_F_CAN_FD) && fd_len_ok(f->length)
                : (feat & VDM_CAN_F_CAN_CLASSIC) && f->length <= 8,
             "tx type/length %x %u", f->flags, f->length);
    FZ_CHECK(!(f->flags & VDM_CAN_FLAGS_RTR) ||
                 (!fd && (feat & VDM_CAN_F_RTR_FRAMES)),
             "tx rtr %x", f->flags);
    FZ_CHECK(f->can_id <=
                 ((f->flags & VDM_CAN_FLAGS_EXTENDED) ? 0x1fffffffu : 0x7ffu),
             "tx id %x", f->can_id);
    FZ_CHECK(vdm_can_started(&C.can) == 1, "tx while stopped");
    if (C.fail)
        return VDM_EIO;
    if (C.inside) {
        int rc = vdm_can_tx_done(&C.can, token, VDM_CAN_RESULT_OK);
        FZ_CHECK(rc == 0, "tx_done inside transmit: %d", rc);
        return 0;
    }
    if (C.npend < NPEND)
        C.pend[C.npend++] = token;
    return 0;
}

static int c_start(void *host)
{
    (void)host;
    return C.fail ? VDM_EIO : 0;
}

static int c_stop(void *host)
{
    (void)host;
    C.npend = 0; /* the bus forgets every frame it held */
    return 0;
}

static int can_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    struct vdm_can_config c = {.size = sizeof(c)};
    memset(&C, 0, sizeof(C));
    base->num_queues = 3;
    C.ops = (struct vdm_can_ops){.size = sizeof(C.ops),
                                 .transmit = c_tx,
                                 .start = (cb & 1) ? NULL : c_start,
                                 .stop = c_stop};
    c.tx_slots = NSLOT;
    c.features = VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD |
                 VDM_CAN_F_RTR_FRAMES | VDM_CAN_F_LATE_TX_ACK;
    if (cb & 2)
        c.features &= ~(VDM_CAN_F_CAN_FD | VDM_CAN_F_LATE_TX_ACK);
    if (cb & 4)
        c.features &= ~(VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_RTR_FRAMES);
    if ((c.features & (VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_CAN_FD)) == 0)
        c.features |= VDM_CAN_F_CAN_CLASSIC;
    c.ops = &C.ops;
    c.storage = C.storage;
    c.storage_bytes = sizeof(C.storage);
    return vdm_can_init(&C.can, dev, &c, base);
}

/* A tx_out header (mostly well-formed) and up to 64 payload bytes, or a
 * control message (2 bytes). */
static uint32_t can_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t k = fz_u8(f);
    uint32_t len;
    (void)type;
    fz_bytes(f, req, 16 + 64);
    if ((k & 0x80) != 0)
        return (k & 0x40) ? 2u : 16u + (k & 0x3fu);
    if ((k & 0x40) != 0) {
        req[0] = 1;
        req[1] = 2; /* START / STOP */
        req[0] = (k & 1) ? 1 : 2;
        return 2;
    }
    len = (k & 1) ? (uint32_t)(req[2] % 65u) : (uint32_t)(req[2] % 9u);
    req[0] = 1;
    req[1] = 0;
    req[2] = (uint8_t)len;
    req[3] = 0;
    req[4] = (k & 2) ? req[4] % 16u : 0;
    req[5] = 0;
    req[6] = 0;
    req[7] = 0;
    req[8] = 0;
    req[9] = (uint8_t)(req[9] & 0xe0u);
    req[10] = 0;
    req[11] = 0;
    if ((req[9] & 0x80u) == 0) {
        req[13] &= 0x07u;
        req[14] = 0;
        req[15] = 0;
    } else {
        req[15] &= 0x1fu;
    }
    return 16u + len;
}

static void can_check_used(unsigned q, const struct fd_rec *r,
                           const struct drv_used *u)
{
    FZ_CHECK(u->len <= r->wlen, "used len %u of %llu", u->len,
             (unsigned long long)r->wlen);
    if (q == VDM_CAN_QUEUE_TX || q == VDM_CAN_QUEUE_CONTROL)
        FZ_CHECK(u->len <= 1, "queue %u used len %u", q, u->len);
    else
        FZ_CHECK(u->len == 0 || (u->len >= 16 && u->len <= 16 + 64),
                 "rx used len %u", u->len);
}

static void complete_at(unsigned i, uint32_t result)
{
    int rc = vdm_can_tx_done(&C.can, C.pend[i], result);
    FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "tx_done %d", rc);
    C.pend[i] = C.pend[--C.npend];
}

static void can_host(uint8_t act, uint32_t arg)
{
    struct vdm_can_frame fr;
    int rc;

    switch (act % 7) {
    case 0:
        if (C.npend)
            complete_at(arg % C.npend, (arg >> 16) & 1);
        break;
    case 1:
        while (C.npend)
            complete_at(C.npend - 1, VDM_CAN_RESULT_OK);
        break;
    case 2: C.fail = (arg & 0xf) == 0; break;
    case 3: C.inside = (arg & 1) != 0; break;
    case 4:
        memset(&fr, 0, sizeof(fr));
        fr.can_id = arg & 0x7ff;
        fr.flags = (arg >> 16) & 0xe000u;
        fr.length = (uint16_t)((arg >> 11) % 65u);
        fr.dlc = (uint8_t)((arg >> 28) & 0xf);
        memset(fr.data, (int)arg, sizeof(fr.data));
        rc = vdm_can_receive(&C.can, &fr);
        FZ_CHECK(rc >= 0 || rc == VDM_ESTATE || rc == VDM_ENOTSUP ||
                     rc == VDM_EINVAL || rc == VDM_ENOSPC,
                 "receive %d", rc);
        break;
    case 5:
        rc = vdm_can_bus_off(&C.can);
        FZ_CHECK(rc >= 0 || rc == VDM_ESTATE, "bus_off %d", rc);
        if (rc >= 0)
            C.npend = 0;
        break;
    default:
        rc = vdm_can_tx_done(&C.can, (uintptr_t)arg, VDM_CAN_RESULT_OK);
        FZ_CHECK(rc == 0 || rc == VDM_ENOENT, "forged token: %d", rc);
        break;
    }
}

static void can_complete_all(void)
{
    while (C.npend)
        complete_at(C.npend - 1, VDM_CAN_RESULT_OK);
}

const struct fuzz_dev_plugin fuzz_dev_can = {
    .name = "can",
    .create = can_create,
    .request = can_request,
    .check_used = can_check_used,
    .host = can_host,
    .complete_all = can_complete_all,
};
