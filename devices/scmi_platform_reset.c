/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI reset domain management protocol, version 3.0 (DEN0056 "Reset
 * domain management protocol"): synchronous autonomous reset and explicit
 * assert / de-assert, extended names. No asynchronous reset, no
 * RESET_NOTIFY.
 */
#include "abi_internal.h"
#include "scmi_platform_priv.h"

#define RESET_DOMAIN_ATTRIBUTES 3u
#define RESET_RESET             4u
#define RESET_DOMAIN_NAME_GET   6u

/* RESET_DOMAIN_ATTRIBUTES attributes. */
#define RESET_ATTR_EXT_NAME SCMI_BIT(29)
/* RESET flags. */
#define RESET_F_AUTONOMOUS 1u
#define RESET_F_ASSERT     2u
#define RESET_F_ASYNC      4u
/* reset_state: bit 31 set is implementation defined; clear, bits 30:0 are
 * an architectural reset type of which only 0 (cold reset) exists. */
#define RESET_STATE_IMPL SCMI_BIT(31)

static int32_t reset_attributes(struct scmi_pl *pl, struct scmi_msg *m,
                                uint32_t id)
{
    const struct vdm_scmi_reset_domain *d = &pl->resets[id];
    uint32_t attr = 0;

    if (!scmi_reserve(m, 8u + VDM_SCMI_SHORT_NAME_MAX + 1u)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    if (scmi_name_len(d->name) > VDM_SCMI_SHORT_NAME_MAX) {
        attr |= RESET_ATTR_EXT_NAME;
    }
    scmi_out32(m, 0, attr);
    scmi_out32(m, 4, d->latency_us);
    scmi_put_name(m->out + 8, d->name, VDM_SCMI_SHORT_NAME_MAX);
    return VDM_SCMI_SUCCESS;
}

static int32_t reset_reset(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;
    uint32_t flags;
    uint32_t state;
    uint32_t how;

    if (!scmi_params(m, 3)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    flags = scmi_in32(m, 1);
    state = scmi_in32(m, 2);
    if (id >= pl->nresets) {
        return VDM_SCMI_NOT_FOUND;
    }
    if ((flags & ~(RESET_F_AUTONOMOUS | RESET_F_ASSERT | RESET_F_ASYNC)) !=
        0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if ((flags & RESET_F_ASYNC) != 0u) {
        return VDM_SCMI_NOT_SUPPORTED; /* attributes say sync only */
    }
    if (((state & RESET_STATE_IMPL) == 0u) && (state != 0u)) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    /* Autonomous wins over explicit assert (bit 1 is ignored then). */
    if ((flags & RESET_F_AUTONOMOUS) != 0u) {
        how = VDM_SCMI_RESET_AUTONOMOUS;
    } else if ((flags & RESET_F_ASSERT) != 0u) {
        how = VDM_SCMI_RESET_ASSERT;
    } else {
        how = VDM_SCMI_RESET_DEASSERT;
    }
    if (SCMI_HOOK(pl, reset)) {
        return scmi_status(pl->ops->reset(pl->host, id, how, state));
    }
    return (state == 0u) ? VDM_SCMI_SUCCESS : VDM_SCMI_NOT_SUPPORTED;
}

static int32_t reset_handle(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;

    if (m->msg_id == SCMI_MSG_ATTRIBUTES) {
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->nresets);
        return VDM_SCMI_SUCCESS;
    }
    if (m->msg_id == RESET_RESET) {
        return reset_reset(pl, m);
    }
    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    if (id >= pl->nresets) {
        return VDM_SCMI_NOT_FOUND;
    }
    if (m->msg_id == RESET_DOMAIN_ATTRIBUTES) {
        return reset_attributes(pl, m, id);
    }
    return scmi_answer_name(m, pl->resets[id].name); /* NAME_GET */
}

const struct scmi_proto scmi_proto_reset = {
    .id = VDM_SCMI_PROTOCOL_RESET,
    .version = VDM_SCMI_RESET_VERSION,
    .msgs = SCMI_BIT(SCMI_MSG_VERSION) | SCMI_BIT(SCMI_MSG_ATTRIBUTES) |
            SCMI_BIT(SCMI_MSG_MSG_ATTRIBUTES) |
            SCMI_BIT(RESET_DOMAIN_ATTRIBUTES) | SCMI_BIT(RESET_RESET) |
            SCMI_BIT(RESET_DOMAIN_NAME_GET),
    .handle = reset_handle,
};
