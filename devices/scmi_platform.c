/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI platform module: context, message dispatch, the messages every
 * protocol shares and the Base protocol (DEN0056 "Base protocol").
 * Power, clock, sensor and reset domain live in devices/scmi_platform_<p>.c.
 */
#include "vdm/devices/scmi_platform.h"

#include "abi_internal.h"
#include "scmi_platform_priv.h"
#include "vdm/le.h"

_Static_assert(sizeof(struct scmi_pl) <= (size_t)VDM_SCMI_PLATFORM_SIZE,
               "VDM_SCMI_PLATFORM_SIZE too small for struct scmi_pl");
/* struct scmi_pl holds nothing aligned beyond 8 bytes (integers of at most
 * 64 bits and pointers), which vdm_scmi_platform's storage provides. */
_Static_assert(sizeof(struct scmi_sensor_state) == 80u,
               "VDM_SCMI_PLATFORM_STATE_BYTES: sensor state is 80 bytes");
_Static_assert(sizeof(struct scmi_clock_state) == 16u,
               "VDM_SCMI_PLATFORM_STATE_BYTES: clock state is 16 bytes");
_Static_assert(VDM_SCMI_NOTIFICATION_MAX_BYTES == (4u + SCMI_NOTIF_PAYLOAD),
               "notification size");

VDM_OPAQUE_ACCESSORS(pl_get, pl_cget, vdm_scmi_platform, scmi_pl, SCMI_MAGIC)

/* Base protocol messages (DEN0056 "Base protocol"). */
#define BASE_DISCOVER_VENDOR     3u
#define BASE_DISCOVER_SUB_VENDOR 4u
#define BASE_DISCOVER_IMPL       5u
#define BASE_DISCOVER_LIST       6u
#define BASE_DISCOVER_AGENT      7u
#define BASE_AGENT_CALLER        0xffffffffu
#define BASE_MSGS                                                              \
    (SCMI_BIT(SCMI_MSG_VERSION) | SCMI_BIT(SCMI_MSG_ATTRIBUTES) |              \
     SCMI_BIT(SCMI_MSG_MSG_ATTRIBUTES) | SCMI_BIT(BASE_DISCOVER_VENDOR) |      \
     SCMI_BIT(BASE_DISCOVER_SUB_VENDOR) | SCMI_BIT(BASE_DISCOVER_IMPL) |       \
     SCMI_BIT(BASE_DISCOVER_LIST) | SCMI_BIT(BASE_DISCOVER_AGENT))

/* ---- helpers shared with the protocol files ---------------------------- */

uint32_t scmi_in32(const struct scmi_msg *m, uint32_t i)
{
    return vdm_le32(m->in + (size_t)i * 4u);
}

bool scmi_params(const struct scmi_msg *m, uint32_t n)
{
    return (m->in_len / 4u) >= n;
}

bool scmi_reserve(struct scmi_msg *m, uint32_t n)
{
    if (n > m->out_cap) {
        return false;
    }
    __builtin_memset(m->out, 0, n);
    m->out_len = n;
    return true;
}

void scmi_out32(struct scmi_msg *m, uint32_t off, uint32_t v)
{
    vdm_put_le32(m->out + off, v);
}

uint32_t scmi_name_len(const char *name)
{
    uint32_t n = 0;

    if (name == NULL) {
        return 0;
    }
    while ((n <= VDM_SCMI_NAME_MAX) && (name[n] != '\0')) {
        n++;
    }
    return n;
}

void scmi_put_name(uint8_t *dst, const char *name, uint32_t max)
{
    uint32_t n = scmi_name_len(name);

    if (n > max) {
        n = max;
    }
    __builtin_memset(dst, 0, (size_t)max + 1u);
    if (n > 0u) {
        __builtin_memcpy(dst, name, n);
    }
}

int32_t scmi_answer_name(struct scmi_msg *m, const char *name)
{
    if (!scmi_reserve(m, 4u + VDM_SCMI_NAME_MAX + 1u)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    scmi_put_name(m->out + 4, name, VDM_SCMI_NAME_MAX);
    return VDM_SCMI_SUCCESS;
}

int32_t scmi_status(int err)
{
    switch (err) {
    case 0: return VDM_SCMI_SUCCESS;
    case VDM_EINVAL: return VDM_SCMI_INVALID_PARAMETERS;
    case VDM_ERANGE: return VDM_SCMI_OUT_OF_RANGE;
    case VDM_ENOTSUP: return VDM_SCMI_NOT_SUPPORTED;
    case VDM_ESTATE: return VDM_SCMI_DENIED;
    case VDM_ENOENT: return VDM_SCMI_NOT_FOUND;
    case VDM_EBUSY:
    case VDM_EAGAIN: return VDM_SCMI_BUSY;
    case VDM_EIO: return VDM_SCMI_HARDWARE_ERROR;
    default: return VDM_SCMI_GENERIC_ERROR;
    }
}

void scmi_notify(struct scmi_pl *pl, uint32_t proto, uint32_t msg,
                 const uint8_t *payload, uint32_t len)
{
    struct scmi_notif *n;

    if (len > SCMI_NOTIF_PAYLOAD) {
        return;
    }
    if (pl->qcount == VDM_SCMI_NOTIFY_QUEUE) {
        /* Full: the oldest goes, the newest news is kept. */
        pl->qhead = (pl->qhead + 1u) % VDM_SCMI_NOTIFY_QUEUE;
        pl->qcount--;
        pl->dropped++;
    }
    n = &pl->q[(pl->qhead + pl->qcount) % VDM_SCMI_NOTIFY_QUEUE];
    n->proto = (uint8_t)proto;
    n->msg = (uint8_t)msg;
    n->len = (uint8_t)len;
    n->pad = 0;
    __builtin_memcpy(n->payload, payload, len);
    pl->qcount++;
}

/* ---- Base protocol ------------------------------------------------------- */

static uint32_t base_protocols(const struct scmi_pl *pl, uint8_t *list)
{
    uint32_t n = 0;

    if (pl->npower > 0u) {
        list[n] = (uint8_t)VDM_SCMI_PROTOCOL_POWER;
        n++;
    }
    if (pl->nclocks > 0u) {
        list[n] = (uint8_t)VDM_SCMI_PROTOCOL_CLOCK;
        n++;
    }
    if (pl->nsensors > 0u) {
        list[n] = (uint8_t)VDM_SCMI_PROTOCOL_SENSOR;
        n++;
    }
    if (pl->nresets > 0u) {
        list[n] = (uint8_t)VDM_SCMI_PROTOCOL_RESET;
        n++;
    }
    return n;
}

/* DISCOVER_LIST_PROTOCOLS: skip, then as many ids as fit, one byte each,
 * the list padded to a multiple of 4 bytes. */
static int32_t base_list(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint8_t list[4];
    uint32_t total = base_protocols(pl, list);
    uint32_t skip;
    uint32_t room;
    uint32_t n;

    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    skip = scmi_in32(m, 0);
    if (skip > total) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if (m->out_cap < 8u) {
        return VDM_SCMI_COMMS_ERROR;
    }
    room = ((m->out_cap - 4u) / 4u) * 4u;
    n = total - skip;
    if (n > room) {
        n = room;
    }
    (void)scmi_reserve(m, 4u + ((n + 3u) / 4u) * 4u);
    scmi_out32(m, 0, n);
    if (n > 0u) {
        __builtin_memcpy(m->out + 4, list + skip, n);
    }
    return VDM_SCMI_SUCCESS;
}

static int32_t base_agent(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;
    const char *name;

    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    if (id == 0u) {
        name = "platform";
    } else if ((id == BASE_AGENT_CALLER) || (id == pl->agent_id)) {
        id = pl->agent_id;
        name = pl->agent_name;
    } else {
        /* Other agents exist (num_agents) but are not ours to name. */
        return VDM_SCMI_NOT_FOUND;
    }
    if (!scmi_reserve(m, 4u + VDM_SCMI_SHORT_NAME_MAX + 1u)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    scmi_out32(m, 0, id);
    scmi_put_name(m->out + 4, name, VDM_SCMI_SHORT_NAME_MAX);
    return VDM_SCMI_SUCCESS;
}

static int32_t base_handle(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint8_t list[4];

    switch (m->msg_id) {
    case SCMI_MSG_ATTRIBUTES:
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        m->out[0] = (uint8_t)base_protocols(pl, list);
        m->out[1] = (uint8_t)pl->num_agents;
        return VDM_SCMI_SUCCESS;
    case BASE_DISCOVER_VENDOR:
    case BASE_DISCOVER_SUB_VENDOR:
        if (!scmi_reserve(m, VDM_SCMI_SHORT_NAME_MAX + 1u)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_put_name(m->out,
                      (m->msg_id == BASE_DISCOVER_VENDOR) ? pl->vendor
                                                          : pl->sub_vendor,
                      VDM_SCMI_SHORT_NAME_MAX);
        return VDM_SCMI_SUCCESS;
    case BASE_DISCOVER_IMPL:
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->impl_version);
        return VDM_SCMI_SUCCESS;
    case BASE_DISCOVER_LIST: return base_list(pl, m);
    case BASE_DISCOVER_AGENT: return base_agent(pl, m);
    default: return VDM_SCMI_NOT_SUPPORTED;
    }
}

static const struct scmi_proto scmi_proto_base = {
    .id = VDM_SCMI_PROTOCOL_BASE,
    .version = VDM_SCMI_BASE_VERSION,
    .msgs = BASE_MSGS,
    .handle = base_handle,
};

/* ---- dispatch ------------------------------------------------------------ */

static const struct scmi_proto *find_proto(const struct scmi_pl *pl,
                                           uint32_t id)
{
    switch (id) {
    case VDM_SCMI_PROTOCOL_BASE: return &scmi_proto_base;
    case VDM_SCMI_PROTOCOL_POWER:
        return (pl->npower > 0u) ? &scmi_proto_power : NULL;
    case VDM_SCMI_PROTOCOL_CLOCK:
        return (pl->nclocks > 0u) ? &scmi_proto_clock : NULL;
    case VDM_SCMI_PROTOCOL_SENSOR:
        return (pl->nsensors > 0u) ? &scmi_proto_sensor : NULL;
    case VDM_SCMI_PROTOCOL_RESET:
        return (pl->nresets > 0u) ? &scmi_proto_reset : NULL;
    default: return NULL;
    }
}

/* Without a P2A channel the commands that only request notifications are
 * not implemented: NOT_SUPPORTED when sent, NOT_FOUND in
 * PROTOCOL_MESSAGE_ATTRIBUTES (virtio "SCMI Device / Device Operation / cmdq
 * Operation" device requirements). */
static bool implements(const struct scmi_pl *pl, const struct scmi_proto *pr,
                       uint32_t msg)
{
    uint32_t m = pr->msgs;

    if (pl->no_p2a != 0u) {
        m &= ~pr->p2a_msgs;
    }
    return (msg < 32u) && ((m & SCMI_BIT(msg)) != 0u);
}

static int32_t dispatch(struct scmi_pl *pl, uint32_t hdr, struct scmi_msg *m)
{
    const struct scmi_proto *pr = find_proto(pl, VDM_SCMI_HDR_PROTO(hdr));

    if ((VDM_SCMI_HDR_TYPE(hdr) != VDM_SCMI_MSG_TYPE_COMMAND) || (pr == NULL) ||
        !implements(pl, pr, m->msg_id)) {
        return VDM_SCMI_NOT_SUPPORTED;
    }
    switch (m->msg_id) {
    case SCMI_MSG_VERSION:
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pr->version);
        return VDM_SCMI_SUCCESS;
    case SCMI_MSG_MSG_ATTRIBUTES:
        /* DEN0056 PROTOCOL_MESSAGE_ATTRIBUTES: NOT_FOUND for a message
         * the protocol does not implement; attributes 0 (no fast
         * channel) for one it does. */
        if (!scmi_params(m, 1)) {
            return VDM_SCMI_PROTOCOL_ERROR;
        }
        if (!implements(pl, pr, scmi_in32(m, 0))) {
            return VDM_SCMI_NOT_FOUND;
        }
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        return VDM_SCMI_SUCCESS;
    default: return pr->handle(pl, m);
    }
}

int vdm_scmi_platform_handle(struct vdm_scmi_platform *p, const void *req,
                             uint32_t len, void *resp, uint32_t cap,
                             uint32_t *resp_len)
{
    struct scmi_pl *pl = pl_get(p);
    struct scmi_msg m;
    uint32_t hdr;
    int32_t st;

    if (resp_len == NULL) {
        return VDM_EINVAL;
    }
    *resp_len = 0;
    if ((pl == NULL) || (req == NULL) || (resp == NULL)) {
        return VDM_EINVAL;
    }
    if (len < 4u) {
        return VDM_EPROTO;
    }
    if (cap < VDM_SCMI_RESPONSE_MIN_BYTES) {
        return VDM_ENOSPC;
    }
    /* The header is read once; the parameters are read where used, from
     * the caller's copy of the message (never guest memory). */
    hdr = vdm_le32(req);
    m.msg_id = VDM_SCMI_HDR_MSG(hdr);
    m.in = (const uint8_t *)req + 4;
    m.in_len = len - 4u;
    m.out = (uint8_t *)resp + VDM_SCMI_RESPONSE_MIN_BYTES;
    m.out_cap = cap - VDM_SCMI_RESPONSE_MIN_BYTES;
    if (m.out_cap > pl->max_payload) {
        m.out_cap = pl->max_payload;
    }
    m.out_len = 0;
    st = dispatch(pl, hdr, &m);
    if (st != VDM_SCMI_SUCCESS) {
        m.out_len = 0;
    }
    vdm_put_le32(resp, hdr);
    vdm_put_le32((uint8_t *)resp + 4, (uint32_t)st);
    *resp_len = VDM_SCMI_RESPONSE_MIN_BYTES + m.out_len;
    return 0;
}

/* ---- notifications ------------------------------------------------------- */

int vdm_scmi_platform_next_notification(struct vdm_scmi_platform *p, void *buf,
                                        uint32_t cap, uint32_t *len)
{
    struct scmi_pl *pl = pl_get(p);
    const struct scmi_notif *n;

    if (len == NULL) {
        return VDM_EINVAL;
    }
    *len = 0;
    if ((pl == NULL) || (buf == NULL)) {
        return VDM_EINVAL;
    }
    if (pl->qcount == 0u) {
        return 0;
    }
    n = &pl->q[pl->qhead];
    if (cap < (4u + (uint32_t)n->len)) {
        return VDM_ENOSPC;
    }
    vdm_put_le32(buf, VDM_SCMI_HDR(n->msg, VDM_SCMI_MSG_TYPE_NOTIFICATION,
                                   n->proto, 0u));
    __builtin_memcpy((uint8_t *)buf + 4, n->payload, n->len);
    *len = 4u + (uint32_t)n->len;
    pl->qhead = (pl->qhead + 1u) % VDM_SCMI_NOTIFY_QUEUE;
    pl->qcount--;
    return 1;
}

int vdm_scmi_platform_sensor_update(struct vdm_scmi_platform *p, uint32_t id,
                                    int64_t value)
{
    struct scmi_pl *pl = pl_get(p);

    if (pl == NULL) {
        return VDM_EINVAL;
    }
    if (id >= pl->nsensors) {
        return VDM_ERANGE;
    }
    return scmi_sensor_update(pl, id, value);
}

uint32_t vdm_scmi_platform_dropped(const struct vdm_scmi_platform *p)
{
    const struct scmi_pl *pl = pl_cget(p);

    return (pl != NULL) ? pl->dropped : 0u;
}

void vdm_scmi_platform_set_p2a(struct vdm_scmi_platform *p, int on)
{
    struct scmi_pl *pl = pl_get(p);

    if (pl != NULL) {
        if (on != 0) {
            pl->no_p2a = 0u;
        } else {
            pl->no_p2a = 1u;
        }
    }
}

/* ---- init and reset ------------------------------------------------------ */

static void reset_state(struct scmi_pl *pl)
{
    scmi_power_reset(pl);
    scmi_clock_reset(pl);
    scmi_sensor_reset(pl);
    pl->qhead = 0;
    pl->qcount = 0;
    pl->dropped = 0;
}

void vdm_scmi_platform_reset(struct vdm_scmi_platform *p)
{
    struct scmi_pl *pl = pl_get(p);

    if (pl != NULL) {
        reset_state(pl);
    }
}

static int check_tables(const struct vdm_scmi_platform_config *c)
{
    if ((c->npower > 0xffffu) || (c->nclocks > 0xffffu) ||
        (c->nsensors > 0xffffu) || (c->nresets > 0xffffu) ||
        (c->num_agents > 0xffu)) {
        return VDM_EINVAL;
    }
    if (((c->npower > 0u) && (c->power == NULL)) ||
        ((c->nclocks > 0u) && (c->clocks == NULL)) ||
        ((c->nsensors > 0u) && (c->sensors == NULL)) ||
        ((c->nresets > 0u) && (c->resets == NULL))) {
        return VDM_EINVAL;
    }
    if ((c->agent_id == BASE_AGENT_CALLER) ||
        ((c->max_payload != 0u) &&
         (c->max_payload < VDM_SCMI_MAX_PAYLOAD_MIN))) {
        return VDM_EINVAL;
    }
    if ((scmi_clock_check(c->clocks, c->nclocks) != 0) ||
        (scmi_sensor_check(c->sensors, c->nsensors) != 0)) {
        return VDM_EINVAL;
    }
    return 0;
}

int vdm_scmi_platform_init(struct vdm_scmi_platform *p,
                           const struct vdm_scmi_platform_config *cfg)
{
    struct vdm_scmi_platform_config c;
    struct scmi_pl *pl;
    uint8_t *st;
    uint32_t need;
    int err;

    if ((p == NULL) || (cfg == NULL)) {
        return VDM_EINVAL;
    }
    err = vdm_copy_sized(&c, sizeof(c), cfg, sizeof(c));
    if (err != 0) {
        return err;
    }
    err = check_tables(&c);
    if (err != 0) {
        return err;
    }
    if ((c.ops != NULL) && ((size_t)c.ops->size < sizeof(uint32_t))) {
        return VDM_ESIZE;
    }
    need = VDM_SCMI_PLATFORM_STATE_BYTES(c.npower, c.nclocks, c.nsensors);
    if (need > 0u) {
        if ((c.state == NULL) || (((uintptr_t)c.state & 7u) != 0u)) {
            return VDM_EINVAL;
        }
        if (c.state_bytes < need) {
            return VDM_ENOSPC;
        }
    }
    pl = (struct scmi_pl *)(void *)p->opaque;
    __builtin_memset(pl, 0, sizeof(*pl));
    pl->impl_version = c.impl_version;
    pl->vendor = c.vendor;
    pl->sub_vendor = c.sub_vendor;
    pl->agent_name = c.agent_name;
    pl->agent_id = (c.agent_id != 0u) ? c.agent_id : 1u;
    pl->num_agents = (c.num_agents != 0u) ? c.num_agents : 1u;
    pl->max_payload =
        (c.max_payload != 0u) ? c.max_payload : VDM_SCMI_MAX_PAYLOAD_DEFAULT;
    pl->npower = c.npower;
    pl->nclocks = c.nclocks;
    pl->nsensors = c.nsensors;
    pl->nresets = c.nresets;
    pl->power = c.power;
    pl->clocks = c.clocks;
    pl->sensors = c.sensors;
    pl->resets = c.resets;
    pl->ops = c.ops;
    pl->host = c.host;
    /* Caller state: sensors (8-byte fields) first, then clocks, then
     * power domains. */
    st = (uint8_t *)c.state;
    if (st != NULL) {
        pl->sstate = (struct scmi_sensor_state *)(void *)st;
        pl->cstate =
            (struct scmi_clock_state *)(void *)(st + (size_t)c.nsensors * 80u);
        pl->pstate = (uint32_t *)(void *)(st + (size_t)c.nsensors * 80u +
                                          (size_t)c.nclocks * 16u);
    }
    reset_state(pl);
    pl->magic = SCMI_MAGIC;
    return 0;
}
