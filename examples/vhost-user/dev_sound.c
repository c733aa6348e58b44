/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the sound device.
 *
 *   --device sound[,playback=SINK][,capture=SOURCE][,pace=realtime|fast]
 *                 [,jacks=0|1|2][,controls=on|off]
 *
 * SINK / SOURCE: `null` (default: discards / records silence),
 * `FILE.wav` (written with a correct header when the stream is released;
 * read as the capture source: its data chunk, then silence and an XRUN when
 * it runs dry), `alsa:DEVICE` (libasound, when built with it).
 *
 * The card: stream 0 stereo output, stream 1 stereo input, U8/S16/S24/S32,
 * 8-192 kHz; jacks "Headphone" (output) and "Mic" (input); a stereo channel
 * map per direction; controls "Master Playback Volume" (0..100, dB TLV),
 * "Master Playback Switch", "Capture Source" (enumerated).
 *
 * Pacing: a stream's I/O requests complete one after another on a
 * CLOCK_MONOTONIC schedule at the negotiated rate (each request's deadline
 * is the previous one's plus its duration; after an underrun, from the
 * moment the next buffer arrives). Playback data is read from the guest at
 * completion time, capture data written then. latency_bytes is what the
 * device still holds for the stream after the request. pace=fast completes
 * as fast as the guest feeds (tests). The daemon wakes for each deadline
 * on a timerfd armed with the absolute time (the deadline hook). The pacing
 * error (completion time minus deadline) is logged as p50/p99 when a stream
 * is released. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef VDM_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "daemon.h"
#include "vdm/devices/sound.h"
#include "vdm/le.h"

#define SND_QSIZE  64
#define SND_IOVS   16
#define MAX_PEND   SND_QSIZE
#define JITTER_MAX 4096
#define NSTREAMS   2
#define IO_SCRATCH (1u << 20)

enum { BK_NULL, BK_WAV, BK_ALSA };

struct pend {
    void *token;
    struct vdm_iov iov[SND_IOVS];
    uint32_t n, bytes;
};

struct stream {
    int dir;  /* VDM_SND_D_* */
    int kind; /* BK_* */
    const char *path;
    char name[512]; /* path with %d replaced by the release count */
    unsigned seq;
    struct vdm_snd_params p;
    int running;
    struct pend q[MAX_PEND]; /* FIFO of requests at the device */
    unsigned head, count;
    uint64_t deadline; /* ns: the head request completes then (0: unset) */
    /* WAV */
    FILE *f;
    uint64_t data_bytes; /* written (sink) */
    uint64_t data_left;  /* left to read (source) */
    int dry;             /* source ran dry: XRUN sent */
#ifdef VDM_HAVE_ALSA
    snd_pcm_t *pcm;
#endif
    /* pacing error samples, ns */
    int64_t jit[JITTER_MAX];
    unsigned njit;
};

struct sound {
    struct vdm_snd snd;
    struct vdm_snd_req *reqs;
    struct vdm_iov *iovs;
    struct stream st[NSTREAMS];
    int fast;
    int32_t volume[2];
    uint32_t mute;
    uint32_t source;
    uint8_t scratch[IO_SCRATCH];
};

/* ------------------------------------------------------------------------ */
/* The card */

#define FORMATS                                                                \
    ((1ull << VDM_SND_PCM_FMT_U8) | (1ull << VDM_SND_PCM_FMT_S16) |            \
     (1ull << VDM_SND_PCM_FMT_S24) | (1ull << VDM_SND_PCM_FMT_S32))
/* 8000 .. 192000 Hz (5512 and 384000 left out) */
#define RATES                                                                  \
    (0x1ffeull | (1ull << VDM_SND_PCM_RATE_12000) |                            \
     (1ull << VDM_SND_PCM_RATE_24000))

static const struct vdm_snd_pcm card_pcms[NSTREAMS] = {
    {.features = VDM_SND_PCM_F_EVT_XRUNS,
     .formats = FORMATS,
     .rates = RATES,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 2},
    {.features = VDM_SND_PCM_F_EVT_XRUNS,
     .formats = FORMATS,
     .rates = RATES,
     .direction = VDM_SND_D_INPUT,
     .channels_min = 1,
     .channels_max = 2},
};
/* HDA pin default configurations: headphone jack (1/8", black, right
 * side) and microphone jack (pink). */
static const struct vdm_snd_jack card_jacks[2] = {
    {.hda_reg_defconf = 0x0321101f, .hda_reg_caps = 0x0000001c, .connected = 1},
    {.hda_reg_defconf = 0x03a19020, .hda_reg_caps = 0x00001724, .connected = 1},
};
static const struct vdm_snd_chmap card_chmaps[2] = {
    {.direction = VDM_SND_D_OUTPUT,
     .channels = 2,
     .positions = {VDM_SND_CHMAP_FL, VDM_SND_CHMAP_FR}},
    {.direction = VDM_SND_D_INPUT,
     .channels = 2,
     .positions = {VDM_SND_CHMAP_FL, VDM_SND_CHMAP_FR}},
};
static const char *const card_sources[] = {"Mic", "Line", "Silence"};
/* SNDRV_CTL_TLVT_DB_SCALE: -50.00 dB, 0.50 dB per step, no mute. */
static const uint32_t card_db[] = {1, 8, (uint32_t)-5000, 50};
static const struct vdm_snd_ctl card_ctls[3] = {
    {.role = VDM_SND_CTL_ROLE_VOLUME << 1 | VDM_SND_D_OUTPUT,
     .type = VDM_SND_CTL_TYPE_INTEGER,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE |
               VDM_SND_CTL_ACCESS_TLV_READ,
     .count = 2,
     .name = "Master Playback Volume",
     .min = 0,
     .max = 100,
     .step = 1,
     .tlv = card_db,
     .tlv_words = 4},
    {.role = VDM_SND_CTL_ROLE_MUTE << 1 | VDM_SND_D_OUTPUT,
     .type = VDM_SND_CTL_TYPE_BOOLEAN,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE,
     .count = 1,
     .name = "Master Playback Switch"},
    {.type = VDM_SND_CTL_TYPE_ENUMERATED,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE,
     .count = 1,
     .name = "Capture Source",
     .nitems = 3,
     .items = card_sources},
};

/* ------------------------------------------------------------------------ */
/* WAV files (RIFF, PCM; 24-in-32 written as 32-bit PCM) */

static void put16(uint8_t *p, uint16_t v)
{
    vdm_put_le16(p, v);
}
static void put32(uint8_t *p, uint32_t v)
{
    vdm_put_le32(p, v);
}

static void wav_header(uint8_t h[44], const struct vdm_snd_params *p,
                       uint64_t data)
{
    uint32_t bits = p->sample_bytes * 8u;
    uint32_t d = data > 0xffffffd3ull ? 0xffffffd3u : (uint32_t)data;

    memcpy(h, "RIFF", 4);
    put32(h + 4, 36 + d);
    memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16);
    put16(h + 20, 1); /* PCM */
    put16(h + 22, p->channels);
    put32(h + 24, p->rate_hz);
    put32(h + 28, p->rate_hz * p->frame_bytes);
    put16(h + 32, (uint16_t)p->frame_bytes);
    put16(h + 34, (uint16_t)bits);
    memcpy(h + 36, "data", 4);
    put32(h + 40, d);
}

static void wav_close(struct vdev *d, struct stream *s)
{
    if (s->f == NULL)
        return;
    if (s->dir == VDM_SND_D_OUTPUT) {
        uint8_t h[44];
        wav_header(h, &s->p, s->data_bytes);
        if (fseek(s->f, 0, SEEK_SET) != 0 || fwrite(h, 1, 44, s->f) != 44)
            vd_log(d, VDM_LOG_ERROR, "%s: header: %s", s->name,
                   strerror(errno));
        vd_log(d, VDM_LOG_INFO, "%s: %llu data bytes written", s->name,
               (unsigned long long)s->data_bytes);
    }
    fclose(s->f);
    s->f = NULL;
}

/* Open the sink (header placeholder) or find the source's data chunk. */
static int wav_open(struct vdev *d, struct stream *s)
{
    wav_close(d, s);
    s->data_bytes = 0;
    s->dry = 0;
    if (s->dir == VDM_SND_D_OUTPUT) {
        uint8_t h[44];
        const char *pc = strstr(s->path, "%d");
        /* playback=out-%d.wav: one file per PREPARE .. RELEASE */
        if (pc != NULL)
            snprintf(s->name, sizeof(s->name), "%.*s%u%s", (int)(pc - s->path),
                     s->path, s->seq++, pc + 2);
        else
            snprintf(s->name, sizeof(s->name), "%s", s->path);
        s->f = fopen(s->name, "wb");
        wav_header(h, &s->p, 0);
        if (s->f == NULL || fwrite(h, 1, 44, s->f) != 44) {
            vd_log(d, VDM_LOG_ERROR, "%s: %s", s->name, strerror(errno));
            return -1;
        }
        return 0;
    }
    s->f = fopen(s->path, "rb");
    if (s->f == NULL) {
        vd_log(d, VDM_LOG_ERROR, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    uint8_t h[12], c[8];
    if (fread(h, 1, 12, s->f) != 12 || memcmp(h, "RIFF", 4) != 0 ||
        memcmp(h + 8, "WAVE", 4) != 0)
        goto bad;
    for (;;) {
        if (fread(c, 1, 8, s->f) != 8)
            goto bad;
        uint32_t len = vdm_le32(c + 4);
        if (memcmp(c, "data", 4) == 0) {
            s->data_left = len;
            return 0;
        }
        if (fseek(s->f, (long)len + (len & 1), SEEK_CUR) != 0)
            goto bad;
    }
bad:
    vd_log(d, VDM_LOG_ERROR, "%s: not a WAV file with a data chunk", s->path);
    fclose(s->f);
    s->f = NULL;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* ALSA */

#ifdef VDM_HAVE_ALSA
static snd_pcm_format_t alsa_format(uint8_t fmt)
{
    switch (fmt) {
    case VDM_SND_PCM_FMT_U8: return SND_PCM_FORMAT_U8;
    case VDM_SND_PCM_FMT_S16: return SND_PCM_FORMAT_S16_LE;
    case VDM_SND_PCM_FMT_S24: return SND_PCM_FORMAT_S24_LE;
    default: return SND_PCM_FORMAT_S32_LE;
    }
}

static int alsa_open(struct vdev *d, struct stream *s)
{
    int rc;

    if (s->pcm != NULL)
        snd_pcm_close(s->pcm);
    s->pcm = NULL;
    rc = snd_pcm_open(&s->pcm, s->path,
                      s->dir == VDM_SND_D_OUTPUT ? SND_PCM_STREAM_PLAYBACK
                                                 : SND_PCM_STREAM_CAPTURE,
                      0);
    if (rc == 0)
        rc = snd_pcm_set_params(s->pcm, alsa_format(s->p.format),
                                SND_PCM_ACCESS_RW_INTERLEAVED, s->p.channels,
                                s->p.rate_hz, 0, 100000);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "alsa %s: %s", s->path, snd_strerror(rc));
        if (s->pcm != NULL)
            snd_pcm_close(s->pcm);
        s->pcm = NULL;
        return -1;
    }
    return 0;
}

static void alsa_io(struct vdev *d, struct stream *s, uint8_t *buf,
                    uint32_t bytes)
{
    snd_pcm_uframes_t frames = bytes / s->p.frame_bytes, done = 0;

    while (s->pcm != NULL && done < frames) {
        snd_pcm_sframes_t n =
            s->dir == VDM_SND_D_OUTPUT
                ? snd_pcm_writei(s->pcm, buf + done * s->p.frame_bytes,
                                 frames - done)
                : snd_pcm_readi(s->pcm, buf + done * s->p.frame_bytes,
                                frames - done);
        if (n < 0) {
            n = snd_pcm_recover(s->pcm, (int)n, 1);
            if (n < 0) {
                vd_log(d, VDM_LOG_ERROR, "alsa %s: %s", s->path,
                       snd_strerror((int)n));
                break;
            }
            continue;
        }
        done += (snd_pcm_uframes_t)n;
    }
}
#endif

/* ------------------------------------------------------------------------ */
/* Streams */

static struct sound *sound_of(struct vdev *d)
{
    return d->priv;
}

static uint64_t dur_ns(const struct stream *s, uint32_t bytes)
{
    uint64_t frames = s->p.frame_bytes ? bytes / s->p.frame_bytes : 0;
    return s->p.rate_hz ? frames * 1000000000ull / s->p.rate_hz : 0;
}

static uint32_t held_bytes(const struct stream *s)
{
    uint32_t b = 0;
    for (unsigned i = 0; i < s->count; i++)
        b += s->q[(s->head + i) % MAX_PEND].bytes;
    return b;
}

/* Move the frames of request @p r between the guest and the back end. */
static uint32_t stream_data(struct vdev *d, struct sound *x, struct stream *s,
                            struct pend *r)
{
    uint32_t at = 0;

    if (s->dir == VDM_SND_D_OUTPUT) {
        for (uint32_t i = 0; i < r->n; i++) {
            memcpy(x->scratch + at, r->iov[i].base, r->iov[i].len);
            at += r->iov[i].len;
        }
        if (s->kind == BK_WAV && s->f != NULL) {
            if (fwrite(x->scratch, 1, at, s->f) != at)
                vd_log(d, VDM_LOG_ERROR, "%s: %s", s->path, strerror(errno));
            s->data_bytes += at;
        }
#ifdef VDM_HAVE_ALSA
        if (s->kind == BK_ALSA)
            alsa_io(d, s, x->scratch, at);
#endif
        return 0;
    }
    /* capture: silence, then what the source has */
    memset(x->scratch, s->p.format == VDM_SND_PCM_FMT_U8 ? 0x80 : 0, r->bytes);
    if (s->kind == BK_WAV && s->f != NULL) {
        uint32_t want =
            r->bytes < s->data_left ? r->bytes : (uint32_t)s->data_left;
        size_t got = want ? fread(x->scratch, 1, want, s->f) : 0;
        s->data_left -= got;
        if (got < r->bytes && !s->dry) {
            s->dry = 1;
            vd_log(d, VDM_LOG_INFO, "%s: capture source ran dry", s->path);
            (void)vdm_snd_pcm_event(&x->snd, (uint32_t)(s - x->st),
                                    VDM_SND_EVT_PCM_XRUN);
        }
    }
#ifdef VDM_HAVE_ALSA
    if (s->kind == BK_ALSA)
        alsa_io(d, s, x->scratch, r->bytes);
#endif
    for (uint32_t i = 0; i < r->n; i++) {
        memcpy(r->iov[i].base, x->scratch + at, r->iov[i].len);
        at += r->iov[i].len;
    }
    return r->bytes;
}

/* Complete the head request of @p s; @p play moves its data. */
static void stream_complete_head(struct vdev *d, struct stream *s, int play)
{
    struct sound *x = sound_of(d);
    struct pend r = s->q[s->head];
    uint32_t rx = 0;

    s->head = (s->head + 1) % MAX_PEND;
    s->count--;
    if (play)
        rx = stream_data(d, x, s, &r);
    (void)vdm_snd_complete(&x->snd, r.token, 0, held_bytes(s), rx);
}

static void jitter_report(struct vdev *d, struct stream *s, unsigned sid)
{
    int64_t *v = s->jit;
    unsigned n = s->njit;

    if (n == 0)
        return;
    for (unsigned i = 1; i < n; i++) { /* insertion sort: n is small */
        int64_t t = v[i];
        unsigned j = i;
        while (j > 0 && v[j - 1] > t) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
    vd_log(d, VDM_LOG_INFO,
           "pacing stream %u: %u periods, error p50 %lld us, p99 %lld us, "
           "max %lld us",
           sid, n, (long long)(v[n / 2] / 1000),
           (long long)(v[(n * 99) / 100] / 1000), (long long)(v[n - 1] / 1000));
    s->njit = 0;
}

/* Complete whatever is due. */
static void stream_run(struct vdev *d, struct stream *s)
{
    struct sound *x = sound_of(d);
    uint64_t now;

    if (!s->running || s->count == 0)
        return;
    if (x->fast) {
        while (s->count > 0)
            stream_complete_head(d, s, 1);
        return;
    }
    now = vd_now_ns();
    if (s->deadline == 0) /* started, or an underrun: from now */
        s->deadline = now + dur_ns(s, s->q[s->head].bytes);
    while (s->count > 0 && now >= s->deadline) {
        if (s->njit < JITTER_MAX)
            s->jit[s->njit++] = (int64_t)(now - s->deadline);
        stream_complete_head(d, s, 1);
        if (s->count > 0)
            s->deadline += dur_ns(s, s->q[s->head].bytes);
        else
            s->deadline = 0;
    }
}

/* Every request the device holds completes now, unplayed (RELEASE). */
static void stream_flush(struct vdev *d, struct stream *s)
{
    while (s->count > 0)
        stream_complete_head(d, s, 0);
    s->deadline = 0;
}

/* ------------------------------------------------------------------------ */
/* vdm_snd_ops */

static int op_set_params(void *host, uint32_t sid,
                         const struct vdm_snd_params *p)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];

    s->p = *p;
    vd_log(d, VDM_LOG_INFO,
           "stream %u: %u channels, format %u, %u Hz, period %u, buffer %u",
           sid, p->channels, p->format, p->rate_hz, p->period_bytes,
           p->buffer_bytes);
    return 0;
}

static int op_prepare(void *host, uint32_t sid)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];

    if (s->kind == BK_WAV && s->f == NULL && wav_open(d, s) < 0)
        return VDM_EIO;
#ifdef VDM_HAVE_ALSA
    if (s->kind == BK_ALSA && s->pcm == NULL && alsa_open(d, s) < 0)
        return VDM_EIO;
#endif
    return 0;
}

static int op_start(void *host, uint32_t sid)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];

    s->running = 1;
    s->deadline = 0;
    vd_log(d, VDM_LOG_INFO, "stream %u: start", sid);
    return 0;
}

static int op_stop(void *host, uint32_t sid)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];

    s->running = 0;
    s->deadline = 0;
    vd_log(d, VDM_LOG_INFO, "stream %u: stop", sid);
    return 0;
}

static int op_release(void *host, uint32_t sid)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];

    s->running = 0;
    stream_flush(d, s);
    jitter_report(d, s, sid);
    if (s->kind == BK_WAV)
        wav_close(d, s);
#ifdef VDM_HAVE_ALSA
    if (s->pcm != NULL) {
        if (s->dir == VDM_SND_D_OUTPUT)
            snd_pcm_drain(s->pcm);
        snd_pcm_close(s->pcm);
        s->pcm = NULL;
    }
#endif
    vd_log(d, VDM_LOG_INFO, "stream %u: release", sid);
    return 0;
}

static int op_io(void *host, uint32_t sid, const struct vdm_iov *iov,
                 uint32_t n, uint32_t bytes, void *token)
{
    struct vdev *d = host;
    struct stream *s = &sound_of(d)->st[sid];
    struct pend *r;

    if (s->count == MAX_PEND || n > SND_IOVS || bytes > IO_SCRATCH)
        return VDM_EIO;
    r = &s->q[(s->head + s->count) % MAX_PEND];
    r->token = token;
    r->n = n;
    r->bytes = bytes;
    memcpy(r->iov, iov, n * sizeof(*iov));
    s->count++;
    return 0;
}

static int op_ctl_read(void *host, uint32_t id, uint8_t *v)
{
    struct sound *x = sound_of(host);

    switch (id) {
    case 0:
        vdm_put_le32(v, (uint32_t)x->volume[0]);
        vdm_put_le32(v + 4, (uint32_t)x->volume[1]);
        break;
    case 1: vdm_put_le32(v, x->mute); break;
    default: vdm_put_le32(v, x->source); break;
    }
    return 0;
}

static int op_ctl_write(void *host, uint32_t id, const uint8_t *v)
{
    struct vdev *d = host;
    struct sound *x = sound_of(d);

    switch (id) {
    case 0:
        x->volume[0] = (int32_t)vdm_le32(v);
        x->volume[1] = (int32_t)vdm_le32(v + 4);
        vd_log(d, VDM_LOG_INFO, "control 0 (%s) = %d,%d", card_ctls[0].name,
               x->volume[0], x->volume[1]);
        break;
    case 1:
        x->mute = vdm_le32(v);
        vd_log(d, VDM_LOG_INFO, "control 1 (%s) = %u", card_ctls[1].name,
               x->mute);
        break;
    default:
        x->source = vdm_le32(v);
        vd_log(d, VDM_LOG_INFO, "control 2 (%s) = %s", card_ctls[2].name,
               card_sources[x->source]);
        break;
    }
    return 0;
}

static const struct vdm_snd_ops snd_ops = {
    .size = sizeof(struct vdm_snd_ops),
    .set_params = op_set_params,
    .prepare = op_prepare,
    .start = op_start,
    .stop = op_stop,
    .release = op_release,
    .io = op_io,
    .ctl_read = op_ctl_read,
    .ctl_write = op_ctl_write,
};

/* ------------------------------------------------------------------------ */
/* Daemon hooks */

static int sound_poll(struct vdev *d)
{
    struct sound *x = sound_of(d);

    for (unsigned i = 0; i < NSTREAMS; i++)
        stream_run(d, &x->st[i]);
    return -1; /* the deadline hook times the next period */
}

/* The earliest deadline of a running stream with requests (absolute, on
 * the daemon's timerfd: no millisecond rounding of an epoll timeout). */
static uint64_t sound_deadline(struct vdev *d)
{
    struct sound *x = sound_of(d);
    uint64_t t = 0;

    for (unsigned i = 0; i < NSTREAMS; i++) {
        const struct stream *s = &x->st[i];
        if (s->running && s->count > 0 && s->deadline != 0 &&
            (t == 0 || s->deadline < t))
            t = s->deadline;
    }
    return t;
}

/* The stream of queue @p q: tx carries the output stream (0), rx the
 * input stream (1); UINT16_MAX matches both. */
static int stream_on_queue(const struct stream *s, uint16_t q)
{
    return q == UINT16_MAX ||
           (q == VDM_SND_QUEUE_TX && s->dir == VDM_SND_D_OUTPUT) ||
           (q == VDM_SND_QUEUE_RX && s->dir == VDM_SND_D_INPUT);
}

/* docs/drain.md: the I/O requests of queue @p q the device holds. */
static unsigned sound_pending(struct vdev *d, uint16_t q)
{
    struct sound *x = sound_of(d);
    unsigned n = 0;

    for (unsigned i = 0; i < NSTREAMS; i++)
        if (stream_on_queue(&x->st[i], q))
            n += x->st[i].count;
    return n;
}

/* The front-end takes queue @p q back (GET_VRING_BASE; every queue: memory
 * table change, reset, exit) while periods are held. A stopped or merely
 * prepared stream would hold them without bound and a started one up to a
 * buffer's duration, so each is finished now, in order, the way a stop
 * followed by a release would (VIRTIO 1.4 "Sound Device / Device Operation
 * / PCM Stream Release": "The device MUST complete all pending I/O
 * messages"): an output period is consumed first (written to the sink:
 * "PCM Output Stream", "MUST NOT complete the I/O request until the buffer
 * is totally consumed"), an input period is recorded into (full, from the
 * source), and each completes with VIRTIO_SND_S_OK. Nothing is dropped
 * and the front-end gets a ring with every request it gave used; a stream
 * that goes on afterwards restarts its clock at the next period, as after
 * an underrun. */
static void sound_finish(struct vdev *d, uint16_t q)
{
    struct sound *x = sound_of(d);

    for (unsigned i = 0; i < NSTREAMS; i++) {
        struct stream *s = &x->st[i];
        if (!stream_on_queue(s, q) || s->count == 0)
            continue;
        vd_log(d, VDM_LOG_INFO,
               "stream %u: %u period(s) finished early: "
               "the front-end takes the queue",
               i, s->count);
        while (s->count > 0)
            stream_complete_head(d, s, 1);
        s->deadline = 0;
    }
}

/* The front-end went away (after the device reset): the requests were
 * abandoned, their late completions are dropped. */
static void sound_disconnected(struct vdev *d)
{
    struct sound *x = sound_of(d);

    for (unsigned i = 0; i < NSTREAMS; i++) {
        struct stream *s = &x->st[i];
        s->running = 0;
        stream_flush(d, s);
        if (s->kind == BK_WAV)
            wav_close(d, s);
    }
}

static int parse_backend(struct vdev *d, struct stream *s, const char *v)
{
    (void)d;
    if (v == NULL || strcmp(v, "null") == 0) {
        s->kind = BK_NULL;
        return 0;
    }
    if (strncmp(v, "alsa:", 5) == 0) {
#ifdef VDM_HAVE_ALSA
        s->kind = BK_ALSA;
        s->path = v + 5;
        return 0;
#else
        vd_log(d, VDM_LOG_ERROR, "built without ALSA: %s", v);
        return -1;
#endif
    }
    s->kind = BK_WAV;
    s->path = v;
    return 0;
}

static int sound_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_snd_config c = VDM_INIT(struct vdm_snd_config);
    struct sound *x = calloc(1, sizeof(*x));
    const char *v;
    unsigned long long n;
    int rc;

    if (x == NULL)
        return -1;
    d->priv = x;
    x->volume[0] = x->volume[1] = 80;
    x->st[0].dir = VDM_SND_D_OUTPUT;
    x->st[1].dir = VDM_SND_D_INPUT;
    if (parse_backend(d, &x->st[0], vd_opt(o, "playback")) < 0 ||
        parse_backend(d, &x->st[1], vd_opt(o, "capture")) < 0)
        return -1;
    v = vd_opt(o, "pace");
    if (v != NULL && strcmp(v, "fast") != 0 && strcmp(v, "realtime") != 0) {
        vd_log(d, VDM_LOG_ERROR, "pace=%s: want realtime or fast", v);
        return -1;
    }
    x->fast = v != NULL && strcmp(v, "fast") == 0;
    c.njacks = 2;
    v = vd_opt(o, "jacks");
    if (v != NULL) {
        if (vd_uint(v, 0, 2, &n) < 0)
            return -1;
        c.njacks = (uint32_t)n;
    }
    c.nctls = 3;
    v = vd_opt(o, "controls");
    if (v != NULL) {
        int b = vd_bool(v);
        if (b < 0)
            return -1;
        c.nctls = b ? 3 : 0;
    }
    if (vd_alloc_queues(d, VDM_SND_NUM_QUEUES, SND_QSIZE) < 0)
        return -1;
    x->reqs = calloc(VDM_SND_REQS(SND_QSIZE), sizeof(*x->reqs));
    x->iovs = calloc(VDM_SND_IOVS(SND_QSIZE, SND_IOVS), sizeof(*x->iovs));
    if (x->reqs == NULL || x->iovs == NULL)
        return -1;
    c.jacks = card_jacks;
    c.npcms = NSTREAMS;
    c.pcms = card_pcms;
    c.nchmaps = 2;
    c.chmaps = card_chmaps;
    c.ctls = card_ctls;
    c.iov_per_req = SND_IOVS;
    c.ops = &snd_ops;
    c.host = d;
    c.reqs = x->reqs;
    c.iovs = x->iovs;
    rc = vdm_snd_init(&x->snd, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "sound init: %s", vdm_strerror(rc));
        return -1;
    }
    return 0;
}

const struct vd_type vd_type_sound = {
    .name = "sound",
    .create = sound_create,
    .disconnected = sound_disconnected,
    .poll = sound_poll,
    .deadline = sound_deadline,
    .pending = sound_pending,
    .finish = sound_finish,
};
