/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-snd save and restore (vdm/state.h): the device type's section
 * (docs/state-format.md, "sound"): each stream's state (spec "PCM
 * Command Lifecycle") and SET_PARAMS values, and the events waiting for
 * an eventq buffer. I/O requests at the host and a RELEASE waiting for
 * them are chains in flight: the device core re-queues them and the
 * restored device serves them again. Restore checks every value as
 * SET_PARAMS does and brings the host's stream to the same state through
 * its hooks (set_params, prepare, start); a refusal leaves the device to
 * the core's reset, which stops and releases what was set up. Jack
 * connection and control values are the host's (it reports them), not
 * in the image. */
#include <stdbool.h>

#include "sound_priv.h"

#include "abi_internal.h"
#include "le.h"

#define SS_VERSION 1u
#define SS_HDR     16u /* fixed part */
#define SS_STREAM  20u /* per stream */
#define SS_EVENT   8u  /* per waiting event */

int snd_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct snd *s = (const struct snd *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    uint32_t need;
    uint32_t i;

    if ((s == NULL) || (s->magic != SND_MAGIC)) {
        return VDM_EINVAL;
    }
    need = SS_HDR + (s->npcms * SS_STREAM) + (s->ev_count * SS_EVENT);
    if (p == NULL) {
        return (int)need;
    }
    if (len < need) {
        return VDM_ENOSPC;
    }
    __builtin_memset(p, 0, need);
    p[0] = (uint8_t)SS_VERSION;
    p[1] = (uint8_t)s->npcms;
    vdm_put_le32(&p[4], s->ev_count);
    vdm_put_le32(&p[8], s->ev_dropped);
    for (i = 0; i < s->npcms; i++) {
        const struct snd_stream *st = &s->st[i];
        uint8_t *o = &p[SS_HDR + (i * SS_STREAM)];
        uint8_t state = st->state;

        if (state == VDM_SND_STATE_RELEASING) {
            /* The RELEASE is a chain in flight, served again on the
             * destination (allowed from STOPPED); without it (its queue
             * was reset) only the I/O kept the stream from RELEASED. */
            state = (st->release_req != NULL) ? VDM_SND_STATE_STOPPED
                                              : VDM_SND_STATE_RELEASED;
        }
        o[0] = state;
        o[1] = st->have_params;
        if (st->have_params != 0u) {
            o[2] = st->p.channels;
            o[3] = st->p.format;
            o[4] = st->p.rate;
            vdm_put_le32(&o[8], st->p.buffer_bytes);
            vdm_put_le32(&o[12], st->p.period_bytes);
            vdm_put_le32(&o[16], st->p.features);
        }
    }
    for (i = 0; i < s->ev_count; i++) {
        const struct snd_event *e =
            &s->ev[(s->ev_head + i) % VDM_SND_EVENTS_MAX];
        uint8_t *o = &p[SS_HDR + (s->npcms * SS_STREAM) + (i * SS_EVENT)];

        vdm_put_le32(o, e->code);
        vdm_put_le32(&o[4], e->data);
    }
    return (int)need;
}

/* An event this device could have queued (spec "Jack Notifications",
 * "PCM Notifications", "Control Element Notifications"). */
static bool event_ok(const struct snd *s, uint32_t code, uint32_t data)
{
    bool ok;

    switch (code) {
    case VDM_SND_EVT_JACK_CONNECTED:
    case VDM_SND_EVT_JACK_DISCONNECTED: ok = (data < s->njacks); break;
    case VDM_SND_EVT_PCM_PERIOD_ELAPSED:
    case VDM_SND_EVT_PCM_XRUN: ok = (data < s->npcms); break;
    case VDM_SND_EVT_CTL_NOTIFY:
        ok = ((data & 0xffffu) < s->nctls) && ((data >> 16) != 0u) &&
             ((data >> 16) <= 7u);
        break;
    default: ok = false; break;
    }
    return ok;
}

/* Stream record @p o of stream @p i: checked values into @p p. */
static int stream_check(const struct snd *s, uint32_t i, const uint8_t *o,
                        struct vdm_snd_params *p)
{
    uint32_t k;

    if ((o[0] > VDM_SND_STATE_RELEASED) ||
        (o[0] == VDM_SND_STATE_RELEASING) || (o[1] > 1u) ||
        ((o[0] == VDM_SND_STATE_INIT) != (o[1] == 0u)) || (o[5] != 0u) ||
        (vdm_le16(&o[6]) != 0u)) {
        return VDM_EINVAL;
    }
    if (o[1] == 0u) {
        for (k = 2u; k < SS_STREAM; k++) {
            if (o[k] != 0u) {
                return VDM_EINVAL;
            }
        }
        return 0;
    }
    p->channels = o[2];
    p->format = o[3];
    p->rate = o[4];
    p->buffer_bytes = vdm_le32(&o[8]);
    p->period_bytes = vdm_le32(&o[12]);
    p->features = vdm_le32(&o[16]);
    return (snd_params_check(s, i, p) == 0) ? 0 : VDM_EINVAL;
}

/* One host step of a restore: 0, or VDM_EIO when the hook refuses. */
static int host_step(struct snd *s, uint32_t i, uint32_t code)
{
    snd_step_fn fn = snd_step_hook(s, code);

    return ((fn != NULL) && (fn(s->host, i) < 0)) ? VDM_EIO : 0;
}

/* Bring stream @p i to state @p want through the host's hooks, recording
 * each step so a reset undoes exactly what was done. */
static int stream_apply(struct snd *s, uint32_t i, uint8_t want,
                        const struct vdm_snd_params *p)
{
    struct snd_stream *st = &s->st[i];
    bool prepared = (want == VDM_SND_STATE_PREPARED) ||
                    (want == VDM_SND_STATE_RUNNING) ||
                    (want == VDM_SND_STATE_STOPPED);
    int rc = 0;

    if (want == VDM_SND_STATE_INIT) {
        return 0;
    }
    if (snd_host_set_params(s, i, p) < 0) {
        return VDM_EIO;
    }
    st->p = *p;
    st->have_params = 1;
    st->state = VDM_SND_STATE_PARAMS;
    if (prepared) {
        rc = host_step(s, i, VDM_SND_R_PCM_PREPARE);
        if (rc == 0) {
            st->state = VDM_SND_STATE_PREPARED;
        }
    }
    if ((rc == 0) && (want == VDM_SND_STATE_RUNNING)) {
        rc = host_step(s, i, VDM_SND_R_PCM_START);
    }
    if (rc == 0) {
        st->state = want;
    }
    return rc;
}

int snd_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct snd *s = (struct snd *)vdm_dev_priv(d);
    const uint8_t *p = (const uint8_t *)buf;
    struct vdm_snd_params par[VDM_SND_MAX_STREAMS];
    const uint8_t *ev;
    uint32_t nev;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (s->magic != SND_MAGIC) || (p == NULL) ||
        (len < SS_HDR)) {
        return VDM_EINVAL;
    }
    if (p[0] != SS_VERSION) {
        return VDM_ENOTSUP;
    }
    nev = vdm_le32(&p[4]);
    if ((p[1] != s->npcms) || (vdm_le16(&p[2]) != 0u) ||
        (vdm_le32(&p[12]) != 0u) || (nev > VDM_SND_EVENTS_MAX) ||
        (len != (SS_HDR + (s->npcms * SS_STREAM) + (nev * SS_EVENT)))) {
        return VDM_EINVAL;
    }
    /* Everything is checked before the host hears of anything. */
    for (i = 0; (i < s->npcms) && (rc == 0); i++) {
        par[i] = VDM_INIT(struct vdm_snd_params);
        rc = stream_check(s, i, &p[SS_HDR + (i * SS_STREAM)], &par[i]);
    }
    ev = &p[SS_HDR + (s->npcms * SS_STREAM)];
    for (i = 0; (i < nev) && (rc == 0); i++) {
        if (!event_ok(s, vdm_le32(&ev[i * SS_EVENT]),
                      vdm_le32(&ev[(i * SS_EVENT) + 4u]))) {
            rc = VDM_EINVAL;
        }
    }
    for (i = 0; (i < s->npcms) && (rc == 0); i++) {
        rc = stream_apply(s, i, p[SS_HDR + (i * SS_STREAM)], &par[i]);
    }
    if (rc == 0) {
        s->ev_head = 0;
        s->ev_count = nev;
        s->ev_dropped = vdm_le32(&p[8]);
        for (i = 0; i < nev; i++) {
            s->ev[i].code = vdm_le32(&ev[i * SS_EVENT]);
            s->ev[i].data = vdm_le32(&ev[(i * SS_EVENT) + 4u]);
        }
    }
    return rc;
}
