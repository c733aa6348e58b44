/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-scmi device type.
 *
 * Spec: "SCMI Device" -- "Feature bits", "Device Operation: cmdq
 * Operation", "Setting Up eventq Buffers", "eventq Operation", "Shared
 * Memory Operation" and "SCMI Device Conformance".
 *
 * The cmdq is served through the device kit (vdm/kit.h): each chain is
 * handed to the host's platform as one command, answered at once or later
 * (VDM_SCMI_PENDING, vdm_scmi_complete()). The eventq is device-initiated:
 * vdm_scmi_send_p2a() takes one posted buffer (vdm_kit_take()) and ends it
 * at once. The device reads only the transport-level part of a message
 * (its le32 header and the le32 status after a response header); it knows
 * no SCMI protocol. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/scmi.h"

#include "abi_internal.h"
#include "kit_internal.h"
#include "le.h"
#include "vdm/kit.h"

#define SCMI_MAGIC 0x696d6373u /* "scmi" */

#define MSG_MAX  ((uint32_t)VDM_SCMI_MSG_MAX)
#define HDR      ((uint32_t)VDM_SCMI_HDR_BYTES)
#define RESP_MIN ((uint32_t)VDM_SCMI_RESP_MIN_BYTES)
#define Q_CMD    ((uint16_t)VDM_SCMI_QUEUE_CMD)
#define Q_EVENT  ((uint16_t)VDM_SCMI_QUEUE_EVENT)

/* A size-prefixed caller struct holds @p field (an older caller's may
 * not); VDM_HAS() spelt with size_t operands throughout. */
#define SCMI_HAS(p, type, field)                                               \
    (((size_t)(p)->size) >=                                                    \
     ((size_t)offsetof(type, field) + sizeof(((type *)NULL)->field)))

/* The message type of an SCMI header: bits 9..8. */
#define HDR_TYPE(h) (((h) >> 8) & 3u)

/* Most unusable eventq buffers one vdm_scmi_send_p2a() returns before it
 * gives up (a guest posting tiny buffers as fast as they come back must
 * not keep the host in the loop). */
#define P2A_SKIP_MAX 64u

/* s->warned: guest errors already logged since the last reset */
#define W_NORESP  0x01u
#define W_SHORT   0x02u
#define W_LONG    0x04u
#define W_EVSMALL 0x08u
#define W_EVREAD  0x10u
#define W_HOST    0x20u

/* scmi's part of a request slot (after the kit's struct vdm_kit_req). */
struct scmi_req {
    uint32_t hdr;      /* the command's header (echoed in error answers) */
    uint32_t resp_max; /* response bytes the chain has room for */
};

#define SCMI_SLOT_BYTES VDM_KIT_SLOT_BYTES(sizeof(struct scmi_req))
#define SCMI_NQ         VDM_SCMI_NUM_QUEUES
#define SCMI_SLOTS      VDM_SCMI_CMD_SLOTS

struct scmi_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_scmi_ops *ops;
    void *host;
    uint8_t msg[VDM_SCMI_MSG_MAX];  /* the command being handed over */
    uint8_t resp[VDM_SCMI_MSG_MAX]; /* the host's synchronous answer */
    alignas(8) unsigned char slots[VDM_KIT_SLOTS_BYTES(SCMI_NQ, SCMI_SLOTS,
                                                       SCMI_SLOT_BYTES)];
    struct vdm_iov iov[VDM_KIT_IOVS(SCMI_NQ, SCMI_SLOTS, VDM_SCMI_IOV_MAX)];
};

_Static_assert(sizeof(struct scmi_state) <= (size_t)VDM_SCMI_SIZE,
               "VDM_SCMI_SIZE too small for struct scmi_state");
_Static_assert((size_t)alignof(struct scmi_state) <=
                   (size_t)alignof(struct vdm_scmi),
               "struct vdm_scmi storage is under-aligned");

VDM_OPAQUE_ACCESSORS(scmi_of, cscmi_of, vdm_scmi, scmi_state, SCMI_MAGIC)

static struct scmi_req *sreq(struct vdm_kit_req *kr)
{
    return (struct scmi_req *)vdm_kit_req_priv(kr);
}

/* The token handed to the host for request @p kr (D9 in docs/misra.md:
 * never dereferenced; vdm_kit_lookup() checks it on the way back). */
static void *token_ptr(const struct scmi_state *s, const struct vdm_kit_req *kr)
{
    return (void *)vdm_kit_token(&s->kit, kr);
}

static void warn(struct scmi_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

static int p2a_negotiated(const struct scmi_state *s)
{
    return ((vdm_dev_features(s->dev) & VDM_SCMI_F_P2A_CHANNELS) != 0u) ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* cmdq (spec "cmdq Operation") */

/* Write the answer {hdr, status} the device makes itself. The chain has
 * at least RESP_MIN writable bytes (checked before). @return bytes. */
static uint32_t answer_status(struct vdm_kit_req *kr, int32_t status)
{
    uint8_t w[VDM_SCMI_RESP_MIN_BYTES];

    vdm_put_le32(w, sreq(kr)->hdr);
    vdm_put_le32(w + 4, (uint32_t)status);
    return (uint32_t)vdm_chain_copy_to(&kr->chain, 0, w, sizeof(w));
}

/* Write the host's answer @p resp of @p len bytes into live request
 * @p kr, or GENERIC_ERROR when there is none or it does not fit the
 * transport. @return the used length. */
static uint32_t deliver(struct scmi_state *s, struct vdm_kit_req *kr,
                        const uint8_t *resp, uint32_t len)
{
    uint32_t n = len;

    if ((resp == NULL) || (n < RESP_MIN) || (n > sreq(kr)->resp_max)) {
        if (resp != NULL) {
            warn(s, W_HOST, "scmi: host answer does not fit the response");
        }
        return answer_status(kr, VDM_SCMI_STATUS_GENERIC_ERROR);
    }
    /* "If the status field in the virtio_scmi_response ret_values has a
     * value other than SUCCESS, the device MUST set the size of ret_values
     * to the size of the status field." */
    if (vdm_le32(resp + HDR) != (uint32_t)VDM_SCMI_STATUS_SUCCESS) {
        n = RESP_MIN;
    }
    return (uint32_t)vdm_chain_copy_to(&kr->chain, 0, resp, n);
}

static int scmi_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct scmi_state *s = ctx;
    const struct vdm_chain *c = &kr->chain;
    struct scmi_req *r = sreq(kr);
    struct vdm_scmi_cmd cmd;
    uintptr_t token;
    uint32_t resp_len = 0;
    uint8_t h[VDM_SCMI_HDR_BYTES] = {0};
    int rc;

    r->hdr = 0;
    r->resp_max = (c->write_len < MSG_MAX) ? c->write_len : MSG_MAX;
    *written = 0;
    /* "With every command message, the driver MUST provide enough
     * device-writable memory to enable the device to return corresponding
     * return values": without room for a header and a status nothing can
     * be answered. */
    if (c->write_len < RESP_MIN) {
        warn(s, W_NORESP, "scmi: command without room for a response");
        return VDM_KIT_DONE;
    }
    (void)vdm_chain_copy_from(c, 0, h, sizeof(h));
    r->hdr = vdm_le32(h); /* zero-extended when shorter */
    if (c->read_len < HDR) {
        warn(s, W_SHORT, "scmi: command shorter than a message header");
        *written = answer_status(kr, VDM_SCMI_STATUS_PROTOCOL_ERROR);
        return VDM_KIT_DONE;
    }
    if (c->read_len > MSG_MAX) {
        warn(s, W_LONG, "scmi: command longer than the device carries");
        *written = answer_status(kr, VDM_SCMI_STATUS_COMMS_ERROR);
        return VDM_KIT_DONE;
    }
    /* The whole command, read once. */
    if (vdm_chain_copy_from(c, 0, s->msg, c->read_len) != c->read_len) {
        *written = answer_status(kr, VDM_SCMI_STATUS_COMMS_ERROR);
        return VDM_KIT_DONE;
    }
    cmd.msg = s->msg;
    cmd.len = c->read_len;
    cmd.resp_max = r->resp_max;
    cmd.p2a = (uint32_t)p2a_negotiated(s);
    cmd.reserved = 0;
    token = vdm_kit_token(&s->kit, kr);
    rc = s->ops->command(s->host, &cmd, s->resp, &resp_len, token_ptr(s, kr));
    if ((rc == VDM_SCMI_PENDING) || (vdm_kit_lookup(&s->kit, token) != kr)) {
        /* Kept, or (a host breaking its contract) already completed from
         * inside the hook: never ended twice. */
        return VDM_KIT_PENDING;
    }
    *written = deliver(s, kr, (rc < 0) ? NULL : s->resp, resp_len);
    return VDM_KIT_DONE;
}

/* The eventq is device-initiated (vdm_scmi_send_p2a()): a pass over it
 * has nothing to do, buffers stay in the ring. */
static int scmi_serve_event(void *ctx, struct vdm_kit_req *kr,
                            uint32_t *written)
{
    (void)ctx;
    (void)kr;
    (void)written;
    return VDM_EAGAIN;
}

/* A chain with more spans than a slot holds: the kit writes a zero header
 * and COMMS_ERROR (-7, little-endian) at the head of its writable part
 * (its command cannot be read whole). */
static const struct vdm_kit_queue scmi_queues[] = {
    {.serve = scmi_serve,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = VDM_SCMI_RESP_MIN_BYTES,
     .status_err = {0, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff}},
    {.serve = scmi_serve_event, .status_at = VDM_KIT_STATUS_NONE},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct scmi_state *scmi_dev_state(struct vdm_dev *d)
{
    struct scmi_state *s = (struct scmi_state *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == SCMI_MAGIC)) ? s : NULL;
}

static void scmi_reset(struct vdm_dev *d)
{
    struct scmi_state *s = scmi_dev_state(d);

    if (s != NULL) {
        vdm_kit_reset(&s->kit, UINT16_MAX);
        s->warned = 0;
        if (s->ops->reset != NULL) {
            s->ops->reset(s->host);
        }
    }
}

static void scmi_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct scmi_state *s = scmi_dev_state(d);

    if ((s != NULL) && (q < (uint16_t)VDM_SCMI_NUM_QUEUES)) {
        vdm_kit_reset(&s->kit, q);
    }
}

static void eventq_ready(struct scmi_state *s)
{
    if ((p2a_negotiated(s) != 0) && (s->ops->eventq_ready != NULL)) {
        s->ops->eventq_ready(s->host);
    }
}

static void scmi_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct scmi_state *s = scmi_dev_state(d);

    if (s == NULL) {
        return;
    }
    if (q == Q_CMD) {
        (void)vdm_kit_run(&s->kit, q);
    } else if (q == Q_EVENT) {
        eventq_ready(s);
    } else {
        /* no other queue */
    }
}

static void scmi_driver_ok(struct vdm_dev *d)
{
    struct scmi_state *s = scmi_dev_state(d);

    if (s != NULL) {
        (void)vdm_kit_run(&s->kit, Q_CMD);
        eventq_ready(s);
    }
}

static const struct vdm_device_class scmi_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_SCMI,
    .name = "scmi",
    .config_size = 0, /* "There is no configuration data for the device." */
    .max_queues = VDM_SCMI_NUM_QUEUES,
    .reset = scmi_reset,
    .driver_ok = scmi_driver_ok,
    .queue_notify = scmi_queue_notify,
    .queue_reset = scmi_queue_reset,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static int check_config(const struct vdm_scmi_config *cfg)
{
    if (!SCMI_HAS(cfg, struct vdm_scmi_config, host)) {
        return VDM_ESIZE;
    }
    if ((cfg->ops == NULL) || (cfg->reserved != 0u)) {
        return VDM_EINVAL;
    }
    /* Only P2A: statistics shared memory is not implemented (scmi.h). */
    if ((cfg->features & ~VDM_SCMI_F_P2A_CHANNELS) != 0u) {
        return VDM_ENOTSUP;
    }
    if (!SCMI_HAS(cfg->ops, struct vdm_scmi_ops, eventq_ready)) {
        return VDM_ESIZE;
    }
    if ((cfg->ops->command == NULL) || (cfg->ops->reserved != 0u)) {
        return VDM_EINVAL;
    }
    return 0;
}

int vdm_scmi_init(struct vdm_scmi *scmi, struct vdm_dev *dev,
                  const struct vdm_scmi_config *cfg,
                  const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct scmi_state *s;
    int rc;

    if ((scmi == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
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
        dc.num_queues = ((cfg->features & VDM_SCMI_F_P2A_CHANNELS) != 0u)
                            ? (uint16_t)VDM_SCMI_NUM_QUEUES
                            : (uint16_t)1u;
    }
    /* "The eventq only exists if VIRTIO_SCMI_F_P2A_CHANNELS was
     * negotiated": a device offering it needs both queues. */
    if ((dc.num_queues > (uint16_t)VDM_SCMI_NUM_QUEUES) ||
        ((dc.num_queues < (uint16_t)VDM_SCMI_NUM_QUEUES) &&
         ((cfg->features & VDM_SCMI_F_P2A_CHANNELS) != 0u))) {
        return VDM_EINVAL;
    }

    __builtin_memset(scmi, 0, sizeof(*scmi));
    s = (struct scmi_state *)(void *)scmi->opaque;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;

    kc.num_queues = dc.num_queues;
    kc.nqdesc = (uint16_t)VDM_SCMI_NUM_QUEUES;
    kc.queues = scmi_queues;
    kc.ctx = s;
    kc.slots = s->slots;
    kc.iovs = s->iov;
    kc.slot_bytes = SCMI_SLOT_BYTES;
    kc.per_queue = SCMI_SLOTS;
    kc.iov_per_req = VDM_SCMI_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &scmi_class;
    dc.priv = s;
    /* Commands complete out of order (asynchronous host): no IN_ORDER. */
    dc.features =
        vdm_kit_features(cfg->features, base->features, VDM_F_IN_ORDER);
    s->magic = SCMI_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
    }
    return rc;
}

int vdm_scmi_complete(struct vdm_scmi *scmi, void *token, const uint8_t *resp,
                      uint32_t len)
{
    struct scmi_state *s = scmi_of(scmi);
    struct vdm_kit_req *kr;
    uint32_t written = 0;
    int live;

    if ((s == NULL) || (token == NULL)) {
        return VDM_EINVAL;
    }
    kr = vdm_kit_lookup(&s->kit, vdmi_kit_token_of(token));
    if ((kr == NULL) || (kr->queue != Q_CMD)) {
        return VDM_EINVAL;
    }
    live = vdm_kit_req_live(kr);
    if (live != 0) {
        written = deliver(s, kr, resp, len);
    }
    (void)vdm_kit_finish(&s->kit, kr, written);
    return (live != 0) ? 0 : VDM_ESTATE;
}

int vdm_scmi_send_p2a(struct vdm_scmi *scmi, const uint8_t *msg, uint32_t len)
{
    struct scmi_state *s = scmi_of(scmi);
    uint32_t skipped;

    if ((s == NULL) || (msg == NULL) || (len < HDR) || (len > MSG_MAX)) {
        return VDM_EINVAL;
    }
    if (vdm_dev_live(s->dev) == 0) {
        return VDM_ESTATE;
    }
    if (p2a_negotiated(s) == 0) {
        return VDM_ENOTSUP;
    }
    for (skipped = 0; skipped < P2A_SKIP_MAX; skipped++) {
        struct vdm_kit_req *kr = NULL;
        uint32_t n = len;
        int rc = vdm_kit_take(&s->kit, Q_EVENT, &kr);

        if (rc < 0) {
            /* eventq not enabled, or broken by the driver just now */
            return VDM_ESTATE;
        }
        if ((rc == 0) || (kr == NULL)) {
            return VDM_EAGAIN;
        }
        /* "The driver MUST NOT put device-readable descriptors into the
         * eventq" and "MUST NOT put into the eventq any buffer which is
         * smaller than the largest SCMI P2A message which the driver will
         * request": such a buffer goes back unused (a notification "MAY be
         * omitted"; a delayed response waits for the next buffer). */
        if (kr->chain.read_len != 0u) {
            warn(s, W_EVREAD, "scmi: eventq buffer with a readable part");
            (void)vdm_kit_finish(&s->kit, kr, 0);
            continue;
        }
        if (kr->chain.write_len < len) {
            warn(s, W_EVSMALL, "scmi: eventq buffer smaller than a message");
            (void)vdm_kit_finish(&s->kit, kr, 0);
            continue;
        }
        /* "If the status field in a delayed response payload has a value
         * other than SUCCESS, the device MUST set the size of payload to
         * the size of the status field." */
        if ((HDR_TYPE(vdm_le32(msg)) == VDM_SCMI_TYPE_DELAYED_RESP) &&
            (n > RESP_MIN) &&
            (vdm_le32(msg + HDR) != (uint32_t)VDM_SCMI_STATUS_SUCCESS)) {
            n = RESP_MIN;
        }
        n = (uint32_t)vdm_chain_copy_to(&kr->chain, 0, msg, n);
        (void)vdm_kit_finish(&s->kit, kr, n);
        return 0;
    }
    return VDM_EAGAIN;
}

int vdm_scmi_p2a(const struct vdm_scmi *scmi)
{
    const struct scmi_state *s = cscmi_of(scmi);

    return (s != NULL) ? p2a_negotiated(s) : 0;
}

uint32_t vdm_scmi_in_flight(const struct vdm_scmi *scmi)
{
    const struct scmi_state *s = cscmi_of(scmi);

    return (s != NULL) ? vdm_kit_in_flight(&s->kit) : 0u;
}

struct vdm_dev *vdm_scmi_dev(const struct vdm_scmi *scmi)
{
    const struct scmi_state *s = cscmi_of(scmi);

    return (s != NULL) ? s->dev : NULL;
}
