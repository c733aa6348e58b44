/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCMI clock management protocol, version 2.0 (DEN0056 "Clock management
 * protocol"): attributes with the enabled bit and enable latency,
 * discrete or range rate descriptions (paged), synchronous rate set with
 * rounding, rate get, enable / disable (CLOCK_CONFIG_SET, one attributes
 * word in 2.0), extended names. No asynchronous set (max_async_req 0), no
 * rate notifications, no parents (3.0).
 */
#include "abi_internal.h"
#include "scmi_platform_priv.h"

#define CLOCK_ATTRIBUTES     3u
#define CLOCK_DESCRIBE_RATES 4u
#define CLOCK_RATE_SET       5u
#define CLOCK_RATE_GET       6u
#define CLOCK_CONFIG_SET     7u
#define CLOCK_NAME_GET       8u

#define CLOCK_ATTR_ENABLED  1u
#define CLOCK_ATTR_EXT_NAME SCMI_BIT(29)
/* CLOCK_DESCRIBE_RATES num_rates_flags. */
#define RATES_RETURNED_MAX 0xfffu
#define RATES_RANGE        SCMI_BIT(12)
#define RATES_REMAINING(n) ((uint32_t)(n) << 16)
/* CLOCK_RATE_SET flags. */
#define RATE_SET_ASYNC      1u
#define RATE_SET_IGNORE     2u
#define RATE_SET_ROUND_UP   4u
#define RATE_SET_ROUND_AUTO 8u

/* Choose between the supported rates lo < rate < hi (have_hi false: no
 * rate above) as the flags ask. */
static uint64_t pick(uint64_t rate, uint64_t lo, uint64_t hi, bool have_hi,
                     uint32_t flags)
{
    if (!have_hi) {
        return lo;
    }
    if ((flags & RATE_SET_ROUND_AUTO) != 0u) {
        return ((rate - lo) < (hi - rate)) ? lo : hi;
    }
    return ((flags & RATE_SET_ROUND_UP) != 0u) ? hi : lo;
}

int32_t scmi_clock_round(const struct vdm_scmi_clock *c, uint64_t *rate,
                         uint32_t flags)
{
    uint64_t r = *rate;
    uint64_t lo;
    uint64_t step;
    uint32_t i;

    if (c->rates != NULL) {
        if ((r < c->rates[0]) || (r > c->rates[c->nrates - 1u])) {
            return VDM_SCMI_OUT_OF_RANGE;
        }
        i = 0;
        while (c->rates[i] < r) {
            i++;
        }
        if (c->rates[i] != r) {
            *rate = pick(r, c->rates[i - 1u], c->rates[i], true, flags);
        }
        return VDM_SCMI_SUCCESS;
    }
    if ((r < c->min) || (r > c->max)) {
        return VDM_SCMI_OUT_OF_RANGE;
    }
    step = (c->step != 0u) ? c->step : 1u;
    lo = c->min + (((r - c->min) / step) * step);
    if (lo != r) {
        *rate = pick(r, lo, lo + step, step <= (c->max - lo), flags);
    }
    return VDM_SCMI_SUCCESS;
}

int scmi_clock_check(const struct vdm_scmi_clock *c, uint32_t n)
{
    uint32_t i;
    uint32_t j;
    uint64_t r;

    for (i = 0; i < n; i++) {
        if (c[i].rates != NULL) {
            if ((c[i].nrates == 0u) || (c[i].nrates > 0xffffu)) {
                return VDM_EINVAL;
            }
            for (j = 1; j < c[i].nrates; j++) {
                if (c[i].rates[j] <= c[i].rates[j - 1u]) {
                    return VDM_EINVAL;
                }
            }
        } else if (c[i].min > c[i].max) {
            return VDM_EINVAL;
        } else {
            /* A range: nothing more to check. */
        }
        r = c[i].init_rate;
        if ((scmi_clock_round(&c[i], &r, 0) != VDM_SCMI_SUCCESS) ||
            (r != c[i].init_rate)) {
            return VDM_EINVAL;
        }
    }
    return 0;
}

void scmi_clock_reset(struct scmi_pl *pl)
{
    uint32_t i;

    for (i = 0; i < pl->nclocks; i++) {
        pl->cstate[i].rate = pl->clocks[i].init_rate;
        pl->cstate[i].enabled = 0u;
        if ((pl->clocks[i].flags & VDM_SCMI_CLOCK_F_ENABLED) != 0u) {
            pl->cstate[i].enabled = 1u;
        }
        pl->cstate[i].pad = 0;
    }
}

static int32_t clock_attributes(struct scmi_pl *pl, struct scmi_msg *m,
                                uint32_t id)
{
    const struct vdm_scmi_clock *c = &pl->clocks[id];
    uint32_t attr = pl->cstate[id].enabled & CLOCK_ATTR_ENABLED;

    if (!scmi_reserve(m, 8u + VDM_SCMI_SHORT_NAME_MAX + 1u)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    if (scmi_name_len(c->name) > VDM_SCMI_SHORT_NAME_MAX) {
        attr |= CLOCK_ATTR_EXT_NAME;
    }
    scmi_out32(m, 0, attr);
    scmi_put_name(m->out + 4, c->name, VDM_SCMI_SHORT_NAME_MAX);
    scmi_out32(m, 4u + VDM_SCMI_SHORT_NAME_MAX + 1u, c->enable_latency_us);
    return VDM_SCMI_SUCCESS;
}

static void put_rate(struct scmi_msg *m, uint32_t off, uint64_t rate)
{
    scmi_out32(m, off, (uint32_t)rate);
    scmi_out32(m, off + 4u, (uint32_t)(rate >> 32));
}

/* CLOCK_DESCRIBE_RATES: a range is one triplet (min, max, step) whatever
 * the index; a list is paged from rate_index, as many as fit. */
static int32_t clock_describe(struct scmi_pl *pl, struct scmi_msg *m)
{
    const struct vdm_scmi_clock *c;
    uint32_t id;
    uint32_t idx;
    uint32_t n;
    uint32_t i;

    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    idx = scmi_in32(m, 1);
    if (id >= pl->nclocks) {
        return VDM_SCMI_NOT_FOUND;
    }
    c = &pl->clocks[id];
    if (c->rates == NULL) {
        if (!scmi_reserve(m, 28u)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, 3u | RATES_RANGE);
        put_rate(m, 4, c->min);
        put_rate(m, 12, c->max);
        put_rate(m, 20, (c->step != 0u) ? c->step : 1u);
        return VDM_SCMI_SUCCESS;
    }
    if (idx > c->nrates) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if (m->out_cap < 12u) {
        return VDM_SCMI_COMMS_ERROR;
    }
    n = c->nrates - idx;
    if (n > (m->out_cap - 4u) / 8u) {
        n = (m->out_cap - 4u) / 8u;
    }
    if (n > RATES_RETURNED_MAX) {
        n = RATES_RETURNED_MAX;
    }
    (void)scmi_reserve(m, 4u + (n * 8u));
    scmi_out32(m, 0, n | RATES_REMAINING(c->nrates - idx - n));
    for (i = 0; i < n; i++) {
        put_rate(m, 4u + (i * 8u), c->rates[idx + i]);
    }
    return VDM_SCMI_SUCCESS;
}

static int32_t clock_rate_set(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t flags;
    uint32_t id;
    uint64_t rate;
    int32_t st;
    int err = 0;

    if (!scmi_params(m, 4)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    flags = scmi_in32(m, 0);
    id = scmi_in32(m, 1);
    rate = (uint64_t)scmi_in32(m, 2) | ((uint64_t)scmi_in32(m, 3) << 32);
    if (id >= pl->nclocks) {
        return VDM_SCMI_NOT_FOUND;
    }
    if ((flags & ~(RATE_SET_ASYNC | RATE_SET_IGNORE | RATE_SET_ROUND_UP |
                   RATE_SET_ROUND_AUTO)) != 0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    if ((flags & RATE_SET_ASYNC) != 0u) {
        return VDM_SCMI_NOT_SUPPORTED; /* max_async_req is 0 */
    }
    st = scmi_clock_round(&pl->clocks[id], &rate, flags);
    if (st != VDM_SCMI_SUCCESS) {
        return st;
    }
    if (SCMI_HOOK(pl, clock_set_rate)) {
        err = pl->ops->clock_set_rate(pl->host, id, rate);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    pl->cstate[id].rate = rate;
    return VDM_SCMI_SUCCESS;
}

static int32_t clock_rate_get(struct scmi_pl *pl, struct scmi_msg *m,
                              uint32_t id)
{
    uint64_t rate = pl->cstate[id].rate;
    int err = 0;

    if (SCMI_HOOK(pl, clock_get_rate)) {
        err = pl->ops->clock_get_rate(pl->host, id, &rate);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    if (!scmi_reserve(m, 8)) {
        return VDM_SCMI_COMMS_ERROR;
    }
    put_rate(m, 0, rate);
    return VDM_SCMI_SUCCESS;
}

static int32_t clock_config_set(struct scmi_pl *pl, struct scmi_msg *m,
                                uint32_t id)
{
    uint32_t attr;
    uint32_t on;
    int err = 0;

    if (!scmi_params(m, 2)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    attr = scmi_in32(m, 1);
    if ((attr & ~CLOCK_ATTR_ENABLED) != 0u) {
        return VDM_SCMI_INVALID_PARAMETERS;
    }
    on = attr & CLOCK_ATTR_ENABLED;
    if (SCMI_HOOK(pl, clock_enable)) {
        err = pl->ops->clock_enable(pl->host, id, on);
    }
    if (err != 0) {
        return scmi_status(err);
    }
    pl->cstate[id].enabled = on;
    return VDM_SCMI_SUCCESS;
}

static int32_t clock_handle(struct scmi_pl *pl, struct scmi_msg *m)
{
    uint32_t id;

    switch (m->msg_id) {
    case SCMI_MSG_ATTRIBUTES:
        /* num_clocks (16 bits), max_async_req 0, reserved. */
        if (!scmi_reserve(m, 4)) {
            return VDM_SCMI_COMMS_ERROR;
        }
        scmi_out32(m, 0, pl->nclocks);
        return VDM_SCMI_SUCCESS;
    case CLOCK_DESCRIBE_RATES: return clock_describe(pl, m);
    case CLOCK_RATE_SET: return clock_rate_set(pl, m);
    default: break;
    }
    if (!scmi_params(m, 1)) {
        return VDM_SCMI_PROTOCOL_ERROR;
    }
    id = scmi_in32(m, 0);
    if (id >= pl->nclocks) {
        return VDM_SCMI_NOT_FOUND;
    }
    switch (m->msg_id) {
    case CLOCK_ATTRIBUTES: return clock_attributes(pl, m, id);
    case CLOCK_RATE_GET: return clock_rate_get(pl, m, id);
    case CLOCK_CONFIG_SET: return clock_config_set(pl, m, id);
    case CLOCK_NAME_GET: return scmi_answer_name(m, pl->clocks[id].name);
    default: return VDM_SCMI_NOT_SUPPORTED;
    }
}

const struct scmi_proto scmi_proto_clock = {
    .id = VDM_SCMI_PROTOCOL_CLOCK,
    .version = VDM_SCMI_CLOCK_VERSION,
    .msgs = SCMI_BIT(SCMI_MSG_VERSION) | SCMI_BIT(SCMI_MSG_ATTRIBUTES) |
            SCMI_BIT(SCMI_MSG_MSG_ATTRIBUTES) | SCMI_BIT(CLOCK_ATTRIBUTES) |
            SCMI_BIT(CLOCK_DESCRIBE_RATES) | SCMI_BIT(CLOCK_RATE_SET) |
            SCMI_BIT(CLOCK_RATE_GET) | SCMI_BIT(CLOCK_CONFIG_SET) |
            SCMI_BIT(CLOCK_NAME_GET),
    .handle = clock_handle,
};
