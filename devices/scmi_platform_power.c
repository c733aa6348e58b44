/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI power domain management protocol, version 3.0 (DEN0056 "Power
 * domain management protocol"): synchronous state set, state get,
 * extended names. No asynchronous set, no notifications, no statistics.
 */
#include "abi_internal.h"
#include "scmi_platform_priv.h"

#define POWER_DOMAIN_ATTRIBUTES 3u
#define POWER_STATE_SET         4u
#define POWER_STATE_GET         5u
#define POWER_DOMAIN_NAME_GET   8u

/* POWER_DOMAIN_ATTRIBUTES flags. */
#define POWER_ATTR_SYNC     SCMI_BIT(29)
#define POWER_ATTR_EXT_NAME SCMI_BIT(27)
/* POWER_STATE_SET flags: bit 0 asynchronous, the rest reserved. */
#define POWER_SET_ASYNC 1u

void scmi_power_reset(struct scmi_pl *pl)
{
    uint32_t i;

    for (i = 0; i < pl->npower; i++) {
        pl->pstate[i] = pl->power[i].init_state;
    }
}

static int32_t power_attributes(struct scmi_pl *pl, struct scmi_msg *m,
                                uint32_t id)
{
    const char *name = pl->power[id].name;
    uint32_t attr = POWER_ATTR_SYNC;

    if (!scmi_reserve(m, 4u + VDM_SCMI_SHORT_NAME_MAX + 1u)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    if (scmi_name_len(name) > VDM_SCMI_SHORT_NAME_MAX) {
        attr |= POWER_ATTR_EXT_NAME;
    }
    scmi_out32(m, 0, attr);
    scmi_put_name(m->out + 4, name, VDM_SCMI_SHORT_NAME_MAX);
    return VDM_SCMI_SUCCESS;
}

static int32_t power_set(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t flags;
    uint32_t id;
    uint32_t state;
    int err = 0;

    if (!scmi_params(m, 3)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    flags = scmi_in32(m, 0);
    id = scmi_in32(m, 1);
    state = scmi_in32(m, 2);
    if (id >= pl->npower) {
        return VDM_SCMI_NOT_FOUND;
    }
    if ((flags & ~POWER_SET_ASYNC) != 0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if ((flags & POWER_SET_ASYNC) != 0u) {
        return VDM_SCMI_NOT_SUPPORTED; /* attributes say sync only */
    }
    if (SCMI_HOOK(pl, power_set)) {
        err = pl->ops->power_set(pl->host, id, state);
    } else if ((state != VDM_SCMI_POWER_ON) && (state != VDM_SCMI_POWER_OFF)) {
        return VDM_SCMI_INVALID_PARAMETERS;
    } else {
        /* No hook: ON and OFF are the states a virtual domain has. */
    }
    if (err != 0) {
        return scmi_status(err);
    }
    pl->pstate[id] = state;
    return VDM_SCMI_SUCCESS;
}

static int32_t power_get(struct scmi_pl *pl, struct scmi_msg *m, uint32_t id)
{
    uint32_t state = pl->pstate[id];
    int err = 0;

    if (SCMI_HOOK(pl, power_get)) {
        err = pl->ops->power_get(pl->host, id, &state);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    if (!scmi_reserve(m, 4)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    scmi_out32(m, 0, state);
    return VDM_SCMI_SUCCESS;
}

static int32_t power_handle(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;

    if (m->msg_id == SCMI_MSG_ATTRIBUTES) {
        /* num_domains, reserved, statistics address (none) and length. */
        if (!scmi_reserve(m, 16)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->npower);
        return VDM_SCMI_SUCCESS;
    }
    if (m->msg_id == POWER_STATE_SET) {
        return power_set(pl, m);
    }
    /* The others take a domain id. */
    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    if (id >= pl->npower) {
        return VDM_SCMI_NOT_FOUND;
    }
    switch (m->msg_id) {
    case POWER_DOMAIN_ATTRIBUTES: return power_attributes(pl, m, id);
    case POWER_STATE_GET: return power_get(pl, m, id);
    case POWER_DOMAIN_NAME_GET: return scmi_answer_name(m, pl->power[id].name);
    default: return VDM_SCMI_NOT_SUPPORTED;
    }
}

const struct scmi_proto scmi_proto_power = {
    .id = VDM_SCMI_PROTOCOL_POWER,
    .version = VDM_SCMI_POWER_VERSION,
    .msgs = SCMI_BIT(SCMI_MSG_VERSION) | SCMI_BIT(SCMI_MSG_ATTRIBUTES) |
            SCMI_BIT(SCMI_MSG_MSG_ATTRIBUTES) |
            SCMI_BIT(POWER_DOMAIN_ATTRIBUTES) | SCMI_BIT(POWER_STATE_SET) |
            SCMI_BIT(POWER_STATE_GET) | SCMI_BIT(POWER_DOMAIN_NAME_GET),
    .handle = power_handle,
};
