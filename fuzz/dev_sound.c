/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-snd (fuzz_dev.h). The driver sends control requests
 * (every request code, stream, jack and control ids around the valid
 * range, random parameters) and PCM I/O; the host completes I/O in any
 * order with any status, refuses lifecycle steps, raises jack, PCM and
 * control events. Oracles: no token is completed twice, stale completions
 * after a reset are refused, nothing is left in flight at the end. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/sound.h"

#define SND_IOV     8u
#define PENDING_MAX (FD_QMAX * 2u)

static const struct vdm_snd_jack s_jacks[2] = {
    {.hda_reg_defconf = 0x0321101f, .connected = 1},
    {.features = VDM_SND_JACK_F_REMAP, .hda_reg_defconf = 0x03a19020},
};
static const struct vdm_snd_pcm s_pcms[3] = {
    {.features = VDM_SND_PCM_F_EVT_XRUNS | VDM_SND_PCM_F_MSG_POLLING,
     .formats = 0x1ffffffull,
     .rates = 0xffffull,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 8},
    {.features = VDM_SND_PCM_F_EVT_XRUNS,
     .formats = 1ull << VDM_SND_PCM_FMT_S16,
     .rates = 1ull << VDM_SND_PCM_RATE_48000,
     .direction = VDM_SND_D_INPUT,
     .channels_min = 2,
     .channels_max = 2},
    {.formats = 1ull << VDM_SND_PCM_FMT_U8,
     .rates = 1ull << VDM_SND_PCM_RATE_8000,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 1},
};
static const struct vdm_snd_chmap s_chmaps[1] = {
    {.direction = VDM_SND_D_OUTPUT,
     .channels = 2,
     .positions = {VDM_SND_CHMAP_FL, VDM_SND_CHMAP_FR}},
};
static const char *const s_items[] = {"A", "B"};
static const uint32_t s_dbtlv[] = {1, 8, 0, 100};
static const struct vdm_snd_ctl s_ctls[4] = {
    {.type = VDM_SND_CTL_TYPE_INTEGER,
     .access = 0x7f,
     .count = 2,
     .name = "Master Playback Volume",
     .min = -10,
     .max = 100,
     .step = 5,
     .tlv = s_dbtlv,
     .tlv_words = 4},
    {.type = VDM_SND_CTL_TYPE_BOOLEAN, .access = 3, .count = 1, .name = "Sw"},
    {.type = VDM_SND_CTL_TYPE_ENUMERATED,
     .access = 3,
     .count = 1,
     .name = "Mode",
     .nitems = 2,
     .items = s_items},
    {.type = VDM_SND_CTL_TYPE_INTEGER64,
     .access = 3,
     .count = 3,
     .name = "Big",
     .min = INT64_MIN,
     .max = INT64_MAX},
};

static struct {
    struct vdm_snd snd;
    struct vdm_snd_ops ops;
    struct vdm_snd_req reqs[VDM_SND_REQS(FD_QMAX)];
    struct vdm_iov iovs[VDM_SND_IOVS(FD_QMAX, SND_IOV)];
    void *pend[PENDING_MAX];
    uint32_t pend_bytes[PENDING_MAX];
    unsigned npend;
    uint8_t refuse;
} S;

static int s_step(void *host, uint32_t sid)
{
    (void)host;
    FZ_CHECK(sid < 3, "stream %u reached the host", sid);
    return S.refuse == 1 ? VDM_EIO : S.refuse == 2 ? VDM_ENOTSUP : 0;
}

static int s_params(void *host, uint32_t sid, const struct vdm_snd_params *p)
{
    FZ_CHECK(p->period_bytes != 0 && p->buffer_bytes % p->period_bytes == 0,
             "bad period reached the host");
    FZ_CHECK(p->channels >= s_pcms[sid].channels_min &&
                 p->channels <= s_pcms[sid].channels_max,
             "bad channel count reached the host");
    return s_step(host, sid);
}

static int s_io(void *host, uint32_t sid, const struct vdm_iov *iov, uint32_t n,
                uint32_t bytes, void *token)
{
    uint64_t total = 0;
    (void)host;
    FZ_CHECK(sid < 3, "I/O of stream %u reached the host", sid);
    FZ_CHECK(bytes > 0, "empty I/O reached the host");
    fd_spans_check(iov, n, s_pcms[sid].direction == VDM_SND_D_INPUT, &total);
    FZ_CHECK(total == bytes, "spans %llu != bytes %u",
             (unsigned long long)total, bytes);
    if (S.refuse == 3 || S.npend == PENDING_MAX)
        return VDM_EIO;
    S.pend_bytes[S.npend] = bytes;
    S.pend[S.npend++] = token;
    return 0;
}

static int s_ctl_read(void *host, uint32_t id, uint8_t *v)
{
    (void)host;
    FZ_CHECK(id < 4, "control %u read", id);
    v[0] = 1;
    return S.refuse == 1 ? VDM_EIO : 0;
}

static int s_ctl_write(void *host, uint32_t id, const uint8_t *v)
{
    (void)host;
    (void)v;
    FZ_CHECK(id < 4, "control %u written", id);
    return S.refuse == 2 ? VDM_ENOTSUP : 0;
}

static int s_tlv(void *host, uint32_t id, uint32_t code, const uint8_t *t,
                 uint32_t len)
{
    (void)host;
    (void)code;
    (void)t;
    FZ_CHECK(id < 4 && len >= 8 && len <= 8 + VDM_SND_TLV_MAX_BYTES,
             "TLV %u bytes for control %u", len, id);
    return 0;
}

static int s_remap(void *host, uint32_t jack, uint32_t a, uint32_t s)
{
    (void)host;
    (void)a;
    (void)s;
    FZ_CHECK(jack == 1, "remap of jack %u without the feature", jack);
    return 0;
}

static int snd_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    struct vdm_snd_config c = {.size = sizeof(c)};
    memset(&S, 0, sizeof(S));
    base->num_queues = 4;
    S.ops = (struct vdm_snd_ops){.size = sizeof(S.ops),
                                 .set_params = s_params,
                                 .prepare = s_step,
                                 .start = s_step,
                                 .stop = s_step,
                                 .release = (cb & 1) ? s_step : NULL,
                                 .io = s_io,
                                 .ctl_read = s_ctl_read,
                                 .ctl_write = s_ctl_write,
                                 .ctl_tlv = (cb & 2) ? s_tlv : NULL,
                                 .jack_remap = s_remap};
    c.njacks = 2;
    c.jacks = s_jacks;
    c.npcms = 3;
    c.pcms = s_pcms;
    c.nchmaps = 1;
    c.chmaps = s_chmaps;
    c.nctls = (cb & 4) ? 0 : 4;
    c.ctls = s_ctls;
    c.iov_per_req = 3 + (cb >> 4) % (SND_IOV - 2);
    c.ops = &S.ops;
    c.reqs = S.reqs;
    c.iovs = S.iovs;
    return vdm_snd_init(&S.snd, dev, &c, base);
}

/* A control request or an I/O header: a code (or stream id) near the valid
 * ones, then random bytes. */
static uint32_t snd_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    static const uint32_t codes[] = {VDM_SND_R_JACK_INFO,
                                     VDM_SND_R_JACK_REMAP,
                                     VDM_SND_R_PCM_INFO,
                                     VDM_SND_R_PCM_SET_PARAMS,
                                     VDM_SND_R_PCM_PREPARE,
                                     VDM_SND_R_PCM_RELEASE,
                                     VDM_SND_R_PCM_START,
                                     VDM_SND_R_PCM_STOP,
                                     VDM_SND_R_CHMAP_INFO,
                                     VDM_SND_R_CTL_INFO,
                                     VDM_SND_R_CTL_ENUM_ITEMS,
                                     VDM_SND_R_CTL_READ,
                                     VDM_SND_R_CTL_WRITE,
                                     VDM_SND_R_CTL_TLV_READ,
                                     VDM_SND_R_CTL_TLV_WRITE,
                                     VDM_SND_R_CTL_TLV_COMMAND,
                                     0,
                                     1,
                                     2,
                                     3};
    uint8_t k = fz_u8(f);
    uint32_t len = 4u + fz_u8(f) % (FD_REQ_MAX - 3u);
    uint32_t code = codes[k % (sizeof(codes) / sizeof(codes[0]))];
    (void)type;
    fz_bytes(f, req, len);
    req[0] = (uint8_t)code;
    req[1] = (uint8_t)(code >> 8);
    req[2] = req[3] = 0;
    if (len >= 8 && (k & 0x80) == 0) { /* an id near the valid range */
        req[4] = req[4] % 5;
        req[5] = req[6] = req[7] = 0;
    }
    return len;
}

static void snd_complete_at(unsigned i, int status, uint32_t lat, uint32_t rx)
{
    void *t = S.pend[i];
    int rc;
    S.pend[i] = S.pend[--S.npend];
    S.pend_bytes[i] = S.pend_bytes[S.npend];
    rc = vdm_snd_complete(&S.snd, t, status, lat, rx);
    FZ_CHECK(rc == 0 || rc == VDM_ESTATE, "completion refused: %d", rc);
    FZ_CHECK(vdm_snd_complete(&S.snd, t, 0, 0, 0) == VDM_EINVAL,
             "a token completed twice");
}

static void snd_host(uint8_t act, uint32_t arg)
{
    switch (act % 8) {
    case 0:
    case 1:
        if (S.npend)
            snd_complete_at(arg % S.npend, (arg & 0x100) ? VDM_EIO : 0,
                            arg >> 16, arg >> 9);
        break;
    case 2: S.refuse = (uint8_t)(arg % 5); break;
    case 3: (void)vdm_snd_jack_set(&S.snd, arg % 3, (arg >> 8) & 1); break;
    case 4:
        (void)vdm_snd_pcm_event(&S.snd, arg % 4,
                                (arg & 0x100) ? VDM_SND_EVT_PCM_XRUN
                                              : VDM_SND_EVT_PCM_PERIOD_ELAPSED);
        break;
    case 5: (void)vdm_snd_ctl_notify(&S.snd, arg % 5, (arg >> 8) & 0xf); break;
    case 6: (void)vdm_snd_process(&S.snd, (uint16_t)(arg % 5)); break;
    default: {
        void *bogus = (void *)(uintptr_t)(arg | 1u);
        int rc = vdm_snd_complete(&S.snd, bogus, 0, 0, 0);
        FZ_CHECK(rc == VDM_EINVAL || rc == 0 || rc == VDM_ESTATE,
                 "bogus token: %d", rc);
        if (rc != VDM_EINVAL) { /* it named a real request: forget it */
            for (unsigned i = 0; i < S.npend; i++)
                if (S.pend[i] == bogus) {
                    S.pend[i] = S.pend[--S.npend];
                    break;
                }
        }
        break;
    }
    }
}

static void snd_complete_all(void)
{
    while (S.npend)
        snd_complete_at(S.npend - 1, 0, 0, S.pend_bytes[S.npend - 1]);
}

static void snd_finish(void)
{
    FZ_CHECK(vdm_snd_in_flight(&S.snd) == 0,
             "%u snd requests still in flight after every completion",
             vdm_snd_in_flight(&S.snd));
}

const struct fuzz_dev_plugin fuzz_dev_sound = {
    .name = "sound",
    .create = snd_create,
    .request = snd_request,
    .host = snd_host,
    .complete_all = snd_complete_all,
    .finish = snd_finish,
};
