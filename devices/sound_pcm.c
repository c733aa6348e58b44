/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-snd PCM I/O: the txq and rxq requests handed to the host and
 * their completion (spec "Sound Device" -- "PCM I/O Messages", "Output
 * Stream", "Input Stream"). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sound_priv.h"

#include "abi_internal.h"
#include "kit_internal.h"
#include "le.h"

/* ------------------------------------------------------------------------ */
/* PCM I/O (spec "PCM I/O Messages") */

/* Put back the spans trimmed for the host. */
static void io_unfix(struct snd_req *r)
{
    for (uint32_t i = 0; i < 2u; i++) {
        if (r->fix_idx[i] != SND_NONE) {
            r->kr->chain.iov[r->fix_idx[i]] = r->fix[i];
            r->fix_idx[i] = SND_NONE;
        }
    }
}

/* Write the status part, the last 8 writable bytes, and say how many bytes
 * the device wrote. An abandoned request touches no guest memory. */
static uint32_t io_end(struct snd_req *r, uint32_t status, uint32_t latency,
                       uint32_t rx_bytes)
{
    const struct vdm_chain *c = &r->kr->chain;
    uint8_t wire[VDM_SND_PCM_STATUS_BYTES];

    io_unfix(r);
    if (!vdm_kit_req_live(r->kr)) {
        return 0;
    }
    vdm_put_le32(wire, status);
    vdm_put_le32(wire + 4, latency);
    (void)vdm_chain_copy_to(c, c->write_len - VDM_SND_PCM_STATUS_BYTES, wire,
                            sizeof(wire));
    return ((status == VDM_SND_S_OK) ? rx_bytes : 0u) +
           VDM_SND_PCM_STATUS_BYTES;
}

/* The spans holding the frames, for the host: tx skips the 4-byte header
 * in the readable part, rx leaves the 8-byte status out of the writable
 * part. Spans cut in the middle are trimmed in place and restored by
 * io_unfix(). Returns the first span and sets *n. */
static const struct vdm_iov *io_window(struct snd_req *r, bool tx, uint32_t *n)
{
    struct vdm_chain *c = &r->kr->chain;
    uint32_t i;

    if (tx) {
        uint32_t skip = VDM_SND_PCM_XFER_BYTES;
        for (i = 0; (i < c->nread) && (skip >= c->iov[i].len); i++) {
            skip -= c->iov[i].len;
        }
        if (i == c->nread) {
            return NULL;
        }
        if (skip != 0u) {
            r->fix[0] = c->iov[i];
            r->fix_idx[0] = i;
            c->iov[i].base = (uint8_t *)c->iov[i].base + skip;
            c->iov[i].len -= skip;
        }
        *n = c->nread - i;
        return &c->iov[i];
    }
    {
        uint32_t cut = VDM_SND_PCM_STATUS_BYTES;
        uint32_t j = c->nread + c->nwrite - 1u;
        while ((cut > 0u) && (cut >= c->iov[j].len) && (j > c->nread)) {
            cut -= c->iov[j].len;
            j--;
        }
        if (cut >= c->iov[j].len) {
            return NULL; /* no data byte before the status */
        }
        if (cut != 0u) {
            r->fix[1] = c->iov[j];
            r->fix_idx[1] = j;
            c->iov[j].len -= cut;
        }
        *n = j - c->nread + 1u;
        return &c->iov[c->nread];
    }
}

static int io_refuse(struct snd *s, struct snd_req *r, uint32_t *written,
                     const char *why)
{
    vdm_kit_warn_once(s->dev, &s->warned, SND_WARN_IOERR, VDM_LOG_WARN, why);
    *written = io_end(r, VDM_SND_S_IO_ERR, 0, 0);
    return VDM_KIT_DONE;
}

/* txq and rxq: struct virtio_snd_pcm_xfer, frames, struct
 * virtio_snd_pcm_status. Everything is checked before the host sees it. */
int snd_io_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct snd *s = ctx;
    struct snd_req *r = snd_req_of(kr);
    const struct vdm_chain *c = &kr->chain;
    bool tx = (kr->queue == VDM_SND_QUEUE_TX);
    uint8_t hdr[VDM_SND_PCM_XFER_BYTES];
    const struct vdm_iov *iov;
    struct snd_stream *st;
    uint32_t sid;
    uint32_t n = 0;
    int rc;

    r->kr = kr;
    r->fix_idx[0] = SND_NONE;
    r->fix_idx[1] = SND_NONE;
    r->stream = SND_NONE;
    r->bytes = 0;
    *written = 0;
    if (c->write_len < VDM_SND_PCM_STATUS_BYTES) {
        /* Nowhere to put a status (CVE-2024-7730's shape on rx): returned
         * unread, nothing reaches the host. */
        vdm_kit_warn_once(s->dev, &s->warned, SND_WARN_IO, VDM_LOG_WARN,
                          "snd: I/O request without room for a status");
        return VDM_KIT_DONE;
    }
    if ((c->read_len < VDM_SND_PCM_XFER_BYTES) ||
        (vdm_chain_copy_from(c, 0, hdr, sizeof(hdr)) != sizeof(hdr))) {
        return io_refuse(s, r, written, "snd: I/O request header too short");
    }
    sid = vdm_le32(hdr);
    if (sid >= s->npcms) {
        return io_refuse(s, r, written, "snd: I/O for an unknown stream");
    }
    if (s->pcms[sid].direction != (tx ? VDM_SND_D_OUTPUT : VDM_SND_D_INPUT)) {
        return io_refuse(s, r, written, "snd: I/O on the wrong queue");
    }
    st = &s->st[sid];
    if ((st->state != VDM_SND_STATE_PREPARED) &&
        (st->state != VDM_SND_STATE_RUNNING) &&
        (st->state != VDM_SND_STATE_STOPPED)) {
        return io_refuse(s, r, written, "snd: I/O for a stream not prepared");
    }
    /* "The driver MUST NOT place device-writable buffers into the tx queue"
     * (beyond the status) nor device-readable ones into the rx queue
     * (beyond the header). */
    if (tx ? (c->write_len != VDM_SND_PCM_STATUS_BYTES)
           : (c->read_len != VDM_SND_PCM_XFER_BYTES)) {
        return io_refuse(s, r, written, "snd: I/O buffer of the wrong kind");
    }
    r->bytes = tx ? (c->read_len - VDM_SND_PCM_XFER_BYTES)
                  : (c->write_len - VDM_SND_PCM_STATUS_BYTES);
    if ((r->bytes == 0u) ||
        ((st->p.frame_bytes != 0u) && ((r->bytes % st->p.frame_bytes) != 0u))) {
        return io_refuse(s, r, written,
                         "snd: I/O not a whole number of frames");
    }
    iov = io_window(r, tx, &n);
    if (iov == NULL) {
        return io_refuse(s, r, written, "snd: I/O spans do not add up");
    }
    r->stream = sid;
    st->pending++; /* before the call: the host may complete inside it */
    rc = s->ops->io(s->host, sid, iov, n, r->bytes,
                    (void *)vdm_kit_token(&s->kit, kr));
    if (rc < 0) {
        st->pending--;
        r->stream = SND_NONE;
        *written = io_end(r, VDM_SND_S_IO_ERR, 0, 0);
        return VDM_KIT_DONE;
    }
    return VDM_KIT_PENDING;
}

int vdm_snd_complete(struct vdm_snd *snd, void *token, int status,
                     uint32_t latency_bytes, uint32_t rx_bytes)
{
    struct snd *s = snd_of(snd);
    struct vdm_kit_req *kr;
    struct snd_req *r;
    struct snd_stream *st = NULL;
    uint32_t written;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    kr = vdm_kit_lookup(&s->kit, vdmi_kit_token_of(token));
    if ((kr == NULL) ||
        ((kr->queue != VDM_SND_QUEUE_TX) && (kr->queue != VDM_SND_QUEUE_RX))) {
        vdm_dev_log(s->dev, VDM_LOG_WARN,
                    "snd: completion of an unknown token");
        return VDM_EINVAL;
    }
    r = snd_req_of(kr);
    if ((vdm_kit_req_live(kr) != 0) && (r->stream < s->npcms)) {
        st = &s->st[r->stream];
    }
    if (kr->queue == VDM_SND_QUEUE_TX) {
        rx_bytes = 0; /* the status only */
    } else if (rx_bytes > r->bytes) {
        rx_bytes = r->bytes; /* never more than the buffer holds */
    } else {
        /* rx within the buffer: as the host reported */
    }
    written = io_end(r, (status >= 0) ? VDM_SND_S_OK : VDM_SND_S_IO_ERR,
                     latency_bytes, rx_bytes);
    if (vdm_kit_finish(&s->kit, kr, written) == VDM_ESTATE) {
        return VDM_ESTATE;
    }
    if ((st != NULL) && (st->pending > 0u)) {
        st->pending--;
        if ((st->pending == 0u) && (st->state == VDM_SND_STATE_RELEASING)) {
            /* "The device MUST NOT complete the control request while there
             * are pending I/O messages for the specified stream ID." */
            struct vdm_kit_req *rel = st->release_req;
            st->state = VDM_SND_STATE_RELEASED;
            st->release_req = NULL;
            if (rel != NULL) {
                snd_ctl_finish(s, rel, VDM_SND_S_OK);
            }
        }
    }
    return 0;
}
