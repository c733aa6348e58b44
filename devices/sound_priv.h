/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-snd internals shared by devices/sound.c (state, queues, PCM I/O,
 * events, public API) and devices/sound_ctl.c (the control queue). Not
 * installed. */
#ifndef VDM_DEVICES_SOUND_PRIV_H
#define VDM_DEVICES_SOUND_PRIV_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/sound.h"
#include "vdm/kit.h"

#define SND_MAGIC 0x766d536eu /* "vmSn" */

/* s->warned bits: driver errors logged once per reset */
#define SND_WARN_NOSTATUS 1u  /* control chain without room for a status */
#define SND_WARN_IO       2u  /* I/O chain without room for a status */
#define SND_WARN_EVSMALL  4u  /* event buffer smaller than an event */
#define SND_WARN_BADMSG   8u  /* control request answered BAD_MSG */
#define SND_WARN_IOERR    16u /* I/O request answered IO_ERR at once */
#define SND_WARN_EVDROP   32u /* event dropped: no room */

/* One PCM stream's state. */
struct snd_stream {
    struct vdm_kit_req *release_req; /* RELEASE waiting for the I/O */
    struct vdm_snd_params p;         /* parameters, valid from PARAMS */
    uint32_t pending;                /* live I/O requests at the host */
    uint8_t state;                   /* VDM_SND_STATE_* */
    uint8_t have_params;             /* SET_PARAMS succeeded once */
    uint8_t reserved[2];
};

/* One waiting event. */
struct snd_event {
    uint32_t code;
    uint32_t data;
};

struct snd {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_snd_ops *ops;
    void *host;
    const struct vdm_snd_jack *jacks;
    const struct vdm_snd_pcm *pcms;
    const struct vdm_snd_chmap *chmaps;
    const struct vdm_snd_ctl *ctls;
    uint32_t njacks;
    uint32_t npcms;
    uint32_t nchmaps;
    uint32_t nctls;
    uint32_t jack_connected; /* bit per jack */
    uint32_t ev_head;
    uint32_t ev_count;
    uint32_t ev_dropped;
    struct snd_event ev[VDM_SND_EVENTS_MAX];
    struct snd_stream st[VDM_SND_MAX_STREAMS];
};

/* sound's part of a request slot (after the kit's struct vdm_kit_req). */
struct snd_req {
    struct vdm_kit_req *kr;
    struct vdm_iov fix[2]; /* originals of spans trimmed for the host */
    uint32_t fix_idx[2];   /* their indexes, SND_NONE if unused */
    uint32_t stream;
    uint32_t bytes;
};

#define SND_NONE UINT32_MAX

/* Handler result of a control request that waits (RELEASE). */
#define SND_CTL_WAIT 1u

static inline struct snd_req *snd_req_of(struct vdm_kit_req *kr)
{
    return (struct snd_req *)vdm_kit_req_priv(kr);
}

/* The control queue's serve handler (sound_ctl.c). */
int snd_ctl_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written);

/* sound_pcm.c: txq/rxq handler. */
int snd_io_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written);

/* Check SET_PARAMS values of stream @p sid (buffer_bytes, period_bytes,
 * features, channels, format, rate set in @p p) and fill the derived
 * fields (sound_ctl.c): 0 or SND_PARAMS_*. */
#define SND_PARAMS_UNDEFINED 1 /* undefined values: BAD_MSG */
#define SND_PARAMS_NOT_SUPP  2 /* not offered by the stream: NOT_SUPP */
#define SND_PARAMS_BAD_SIZES 3 /* buffer/period bytes: BAD_MSG */
int snd_params_check(const struct snd *s, uint32_t sid,
                     struct vdm_snd_params *p);

/* The host's set_params hook, if it has one (0 without): sound_ctl.c. */
int snd_host_set_params(struct snd *s, uint32_t sid,
                        const struct vdm_snd_params *p);
/* The host's hook for PCM request @p code (PREPARE, START, STOP, RELEASE),
 * or NULL. */
typedef int (*snd_step_fn)(void *host, uint32_t stream);
snd_step_fn snd_step_hook(const struct snd *s, uint32_t code);

/* sound_state.c: the device type's save and restore hooks. */
int snd_state_save(const struct vdm_dev *d, void *buf, uint32_t len);
int snd_state_restore(struct vdm_dev *d, const void *buf, uint32_t len);

/* Map a host hook result to a status code. */
uint32_t snd_host_status(int rc);

/* Queue an event and try to deliver it (sound.c). */
int snd_event_push(struct snd *s, uint32_t code, uint32_t data);

/* Answer a control request that waited: status OK, 4 bytes (sound.c). */
void snd_ctl_finish(struct snd *s, struct vdm_kit_req *kr, uint32_t status);

/* The state behind a public object, if initialised. */
static inline struct snd *snd_of(struct vdm_snd *x)
{
    struct snd *s;

    if (x == NULL) {
        return NULL;
    }
    s = (struct snd *)(void *)x->opaque;
    return (s->magic == SND_MAGIC) ? s : NULL;
}

#endif
