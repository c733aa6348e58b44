/* SPDX-License-Identifier: BSD-3-Clause */
/* Sound device (spec "Sound Device"): configuration space, item information,
 * the PCM state machine, playback and capture through an asynchronous host,
 * RELEASE waiting for pending I/O, control elements, events, reset, and the
 * hostile cases (bad ids, transitions out of order, short headers, a tx
 * buffer without a status, shift-sized format codes, an rx buffer with no
 * room for frames, a flood of control requests), driven by the driver
 * simulator through the bench (direct, MMIO, PCI). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/sound.h"

#define QSIZE 64
#define IOVS  8

/* ------------------------------------------------------------------------ */
/* Host side: records calls, keeps I/O tokens until the test completes them */

#define MAXP 128

struct pend {
    uint32_t stream;
    uint32_t bytes;
    void *token;
    struct vdm_iov iov[IOVS];
    uint32_t n;
};

struct host {
    int calls[8]; /* set_params, prepare, start, stop, release, io, ... */
    struct vdm_snd_params last;
    struct pend p[MAXP];
    unsigned np;
    int32_t volume[2];
    uint32_t mute;
    uint32_t mode;
    int fail_start;      /* start hook fails with this code */
    int complete_on_rel; /* release hook completes the stream's I/O */
    uint8_t played[4096];
    uint32_t nplayed;
    uint32_t tlv_calls;
};

enum { H_PARAMS, H_PREPARE, H_START, H_STOP, H_RELEASE, H_IO, H_CWRITE };

static struct host hs;
static struct dh h;
static struct vdm_snd snd;
static struct vdm_snd_req *reqs;
static struct vdm_iov *iovs;
static int h_live;

static int h_set_params(void *x, uint32_t s, const struct vdm_snd_params *p)
{
    (void)x;
    (void)s;
    hs.calls[H_PARAMS]++;
    hs.last = *p;
    return 0;
}
static int h_prepare(void *x, uint32_t s)
{
    (void)x;
    (void)s;
    hs.calls[H_PREPARE]++;
    return 0;
}
static int h_start(void *x, uint32_t s)
{
    (void)x;
    (void)s;
    hs.calls[H_START]++;
    return hs.fail_start;
}
static int h_stop(void *x, uint32_t s)
{
    (void)x;
    (void)s;
    hs.calls[H_STOP]++;
    return 0;
}

static void complete_stream(uint32_t s, int expect);

static int h_release(void *x, uint32_t s)
{
    (void)x;
    hs.calls[H_RELEASE]++;
    if (hs.complete_on_rel)
        complete_stream(s, -100);
    return 0;
}
static int h_io(void *x, uint32_t s, const struct vdm_iov *iov, uint32_t n,
                uint32_t bytes, void *token)
{
    (void)x;
    hs.calls[H_IO]++;
    ck_assert_uint_lt(hs.np, MAXP);
    ck_assert_uint_le(n, IOVS);
    struct pend *p = &hs.p[hs.np++];
    p->stream = s;
    p->bytes = bytes;
    p->token = token;
    p->n = n;
    memcpy(p->iov, iov, n * sizeof(*iov));
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += iov[i].len;
    ck_assert_uint_eq(sum, bytes);
    return 0;
}
static int h_ctl_read(void *x, uint32_t id, uint8_t *v)
{
    (void)x;
    if (id == 0) {
        drv_put_le32(v, (uint32_t)hs.volume[0]);
        drv_put_le32(v + 4, (uint32_t)hs.volume[1]);
    } else if (id == 1) {
        drv_put_le32(v, hs.mute);
    } else {
        drv_put_le32(v, hs.mode);
    }
    return 0;
}
static int h_ctl_write(void *x, uint32_t id, const uint8_t *v)
{
    (void)x;
    hs.calls[H_CWRITE]++;
    if (id == 0) {
        hs.volume[0] = (int32_t)drv_get_le32(v);
        hs.volume[1] = (int32_t)drv_get_le32(v + 4);
    } else if (id == 1) {
        hs.mute = drv_get_le32(v);
    } else {
        hs.mode = drv_get_le32(v);
    }
    return 0;
}
static int h_ctl_tlv(void *x, uint32_t id, uint32_t code, const uint8_t *t,
                     uint32_t len)
{
    (void)x;
    (void)id;
    (void)code;
    (void)t;
    (void)len;
    hs.tlv_calls++;
    return 0;
}

static const struct vdm_snd_ops ops = {
    .size = sizeof(struct vdm_snd_ops),
    .set_params = h_set_params,
    .prepare = h_prepare,
    .start = h_start,
    .stop = h_stop,
    .release = h_release,
    .io = h_io,
    .ctl_read = h_ctl_read,
    .ctl_write = h_ctl_write,
    .ctl_tlv = h_ctl_tlv,
};

/* Copy the frames of pending request @p i out of guest memory. */
static uint32_t gather(unsigned i, uint8_t *out)
{
    uint32_t at = 0;
    for (uint32_t k = 0; k < hs.p[i].n; k++) {
        memcpy(out + at, hs.p[i].iov[k].base, hs.p[i].iov[k].len);
        at += hs.p[i].iov[k].len;
    }
    return at;
}

static void drop_pend(unsigned i)
{
    memmove(&hs.p[i], &hs.p[i + 1], (hs.np - i - 1) * sizeof(hs.p[0]));
    hs.np--;
}

/* Complete every pending request of stream @p s (OK, latency 0, rx: full);
 * each completion must return @p expect (-100: do not check). */
static void complete_stream(uint32_t s, int expect)
{
    for (unsigned i = 0; i < hs.np;) {
        if (hs.p[i].stream != s) {
            i++;
            continue;
        }
        struct pend p = hs.p[i];
        drop_pend(i);
        int rc = vdm_snd_complete(&snd, p.token, 0, 0, p.bytes);
        if (expect != -100)
            ck_assert_int_eq(rc, expect);
    }
}

/* ------------------------------------------------------------------------ */
/* The card: 2 jacks, 3 streams (out, in, out mono U8), 2 chmaps, 3 controls */

static const struct vdm_snd_jack jacks[] = {
    {.hda_fn_nid = 0, .hda_reg_defconf = 0x01214010, .connected = 1},
    {.hda_fn_nid = 0,
     .features = VDM_SND_JACK_F_REMAP,
     .hda_reg_defconf = 0x01a19020},
};
#define FMTS                                                                   \
    ((1ull << VDM_SND_PCM_FMT_S16) | (1ull << VDM_SND_PCM_FMT_S32) |           \
     (1ull << VDM_SND_PCM_FMT_U8))
#define RATES                                                                  \
    ((1ull << VDM_SND_PCM_RATE_48000) | (1ull << VDM_SND_PCM_RATE_8000))
static const struct vdm_snd_pcm pcms[] = {
    {.features = VDM_SND_PCM_F_EVT_XRUNS,
     .formats = FMTS,
     .rates = RATES,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 2},
    {.formats = FMTS,
     .rates = RATES,
     .direction = VDM_SND_D_INPUT,
     .channels_min = 1,
     .channels_max = 2},
    {.formats = 1ull << VDM_SND_PCM_FMT_U8,
     .rates = 1ull << VDM_SND_PCM_RATE_8000,
     .direction = VDM_SND_D_OUTPUT,
     .channels_min = 1,
     .channels_max = 1},
};
static const struct vdm_snd_chmap chmaps[] = {
    {.direction = VDM_SND_D_OUTPUT,
     .channels = 2,
     .positions = {VDM_SND_CHMAP_FL, VDM_SND_CHMAP_FR}},
    {.direction = VDM_SND_D_INPUT,
     .channels = 1,
     .positions = {VDM_SND_CHMAP_MONO}},
};
static const char *const modes[] = {"Stereo", "Mono", "Swap"};
static const uint32_t db_scale[] = {1, 8, (uint32_t)-6400, 100};
static const struct vdm_snd_ctl ctls[] = {
    {.role = VDM_SND_CTL_ROLE_VOLUME << 1,
     .type = VDM_SND_CTL_TYPE_INTEGER,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE |
               VDM_SND_CTL_ACCESS_TLV_READ,
     .count = 2,
     .name = "Master Playback Volume",
     .min = 0,
     .max = 64,
     .step = 2,
     .tlv = db_scale,
     .tlv_words = 4},
    {.role = VDM_SND_CTL_ROLE_MUTE << 1,
     .type = VDM_SND_CTL_TYPE_BOOLEAN,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE |
               VDM_SND_CTL_ACCESS_TLV_COMMAND,
     .count = 1,
     .name = "Master Playback Switch"},
    {.type = VDM_SND_CTL_TYPE_ENUMERATED,
     .access = VDM_SND_CTL_ACCESS_READ | VDM_SND_CTL_ACCESS_WRITE,
     .count = 1,
     .name = "Channel Mode",
     .nitems = 3,
     .items = modes},
};

static struct vdm_snd_config card(void)
{
    struct vdm_snd_config c = VDM_INIT(struct vdm_snd_config);
    c.njacks = 2;
    c.jacks = jacks;
    c.npcms = 3;
    c.pcms = pcms;
    c.nchmaps = 2;
    c.chmaps = chmaps;
    c.nctls = 3;
    c.ctls = ctls;
    c.iov_per_req = IOVS;
    c.ops = &ops;
    c.host = &hs;
    return c;
}

static void setup(void)
{
    memset(&hs, 0, sizeof(hs));
    h_live = 0;
    reqs = NULL;
    iovs = NULL;
}

static void teardown(void)
{
    if (h_live)
        dh_fini(&h);
    h_live = 0;
    free(reqs);
    free(iovs);
}

static int start_init(struct vdm_snd_config *c)
{
    struct dh_opts o = {.num_queues = 4, .qsize = QSIZE};
    ck_assert_int_eq(dh_init(&h, &o), 0);
    h_live = 1;
    reqs = calloc(VDM_SND_REQS(QSIZE), sizeof(*reqs));
    iovs = calloc(VDM_SND_IOVS(QSIZE, IOVS), sizeof(*iovs));
    c->reqs = reqs;
    c->iovs = iovs;
    return vdm_snd_init(&snd, &h.dev, c, &h.base);
}

#define RING_F (VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX)

static void start_with(uint64_t features)
{
    struct vdm_snd_config c = card();
    ck_assert_int_eq(start_init(&c), 0);
    ck_assert_int_eq(dh_bring_up(&h, features, 4), 0);
}

static void start(void)
{
    start_with(VDM_SND_F_CTLS | RING_F);
}

/* ------------------------------------------------------------------------ */
/* Driver side */

struct msg {
    uint8_t *req, *resp;
    uint64_t req_gpa, resp_gpa;
    uint32_t req_len, resp_len;
    int id;
};

/* Post a control request (not kicked). */
static void ctl_post(struct msg *m, const void *req, uint32_t req_len,
                     uint32_t resp_len)
{
    memset(m, 0, sizeof(*m));
    m->req_len = req_len;
    m->resp_len = resp_len;
    struct drv_buf rd, wr;
    unsigned nr = 0, nw = 0;
    if (req_len) {
        m->req_gpa = dh_alloc(&h, req_len, 8);
        m->req = dh_ptr(&h, m->req_gpa, req_len);
        memcpy(m->req, req, req_len);
        rd = (struct drv_buf){m->req_gpa, req_len};
        nr = 1;
    }
    if (resp_len) {
        m->resp_gpa = dh_alloc(&h, resp_len, 8);
        m->resp = dh_ptr(&h, m->resp_gpa, resp_len);
        memset(m->resp, 0xee, resp_len);
        wr = (struct drv_buf){m->resp_gpa, resp_len};
        nw = 1;
    }
    m->id = drv_vq_add(dh_vq(&h, 0), &rd, nr, &wr, nw, DRV_ADD_DIRECT, m);
    ck_assert_int_ge(m->id, 0);
}

static int used(uint16_t q, int id, uint32_t *len)
{
    uint32_t uid, l;
    void *cookie;
    if (drv_vq_get_used(dh_vq(&h, q), &uid, &l, &cookie) != 1)
        return 0;
    ck_assert_uint_eq(uid, (uint32_t)id);
    if (len)
        *len = l;
    return 1;
}

/* A control request answered at once: returns the status, *len the used
 * length. */
static uint32_t ctl_len(const void *req, uint32_t req_len, uint32_t resp_len,
                        struct msg *m, uint32_t *len)
{
    ctl_post(m, req, req_len, resp_len);
    dh_kick(&h, 0, 1);
    ck_assert_int_eq(used(0, m->id, len), 1);
    return drv_get_le32(m->resp);
}

static uint32_t ctl(const void *req, uint32_t req_len, uint32_t resp_len)
{
    struct msg m;
    uint32_t len;
    uint32_t st = ctl_len(req, req_len, resp_len, &m, &len);
    ck_assert_uint_eq(len, 4); /* status only */
    return st;
}

static uint32_t pcm(uint32_t code, uint32_t sid)
{
    uint8_t b[8];
    drv_put_le32(b, code);
    drv_put_le32(b + 4, sid);
    return ctl(b, 8, 4);
}

static void params_req(uint8_t *b, uint32_t sid, uint32_t buf, uint32_t per,
                       uint8_t ch, uint8_t fmt, uint8_t rate, uint32_t feat)
{
    memset(b, 0, 24);
    drv_put_le32(b, VDM_SND_R_PCM_SET_PARAMS);
    drv_put_le32(b + 4, sid);
    drv_put_le32(b + 8, buf);
    drv_put_le32(b + 12, per);
    drv_put_le32(b + 16, feat);
    b[20] = ch;
    b[21] = fmt;
    b[22] = rate;
}

static uint32_t set_params(uint32_t sid, uint32_t buf, uint32_t per, uint8_t ch,
                           uint8_t fmt, uint8_t rate, uint32_t feat)
{
    uint8_t b[24];
    params_req(b, sid, buf, per, ch, fmt, rate, feat);
    return ctl(b, 24, 4);
}

/* S16 stereo 48 kHz, 4 periods of 256 bytes, then PREPARE. */
static void prepare(uint32_t sid)
{
    ck_assert_uint_eq(set_params(sid, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, sid), VDM_SND_S_OK);
}

struct io {
    uint8_t *hdr, *data, *st;
    uint32_t dlen;
    int id;
};

/* Post a tx (readable frames) or rx (writable frames) request; the header
 * split over two descriptors when @p split. */
static void io_post(uint16_t q, struct io *r, uint32_t sid, uint32_t dlen,
                    int split, uint8_t seed)
{
    struct drv_buf rd[3], wr[2];
    unsigned nr = 0, nw = 0;
    uint64_t g = dh_alloc(&h, 4, 4);
    memset(r, 0, sizeof(*r));
    r->hdr = dh_ptr(&h, g, 4);
    drv_put_le32(r->hdr, sid);
    if (split) {
        rd[nr++] = (struct drv_buf){g, 1};
        rd[nr++] = (struct drv_buf){g + 1, 3};
    } else {
        rd[nr++] = (struct drv_buf){g, 4};
    }
    r->dlen = dlen;
    if (dlen) {
        uint64_t d = dh_alloc(&h, dlen, 8);
        r->data = dh_ptr(&h, d, dlen);
        for (uint32_t i = 0; i < dlen; i++)
            r->data[i] = (uint8_t)(seed + i * 7);
        if (q == VDM_SND_QUEUE_TX)
            rd[nr++] = (struct drv_buf){d, dlen};
        else
            wr[nw++] = (struct drv_buf){d, dlen};
    }
    uint64_t s = dh_alloc(&h, 8, 8);
    r->st = dh_ptr(&h, s, 8);
    memset(r->st, 0xee, 8);
    wr[nw++] = (struct drv_buf){s, 8};
    r->id = drv_vq_add(dh_vq(&h, q), rd, nr, wr, nw, DRV_ADD_DIRECT, r);
    ck_assert_int_ge(r->id, 0);
}

static void kick(uint16_t q)
{
    dh_kick(&h, q, 1);
}

/* ------------------------------------------------------------------------ */
/* Set-up, config space, features                                           */

START_TEST(snd_init_validation)
{
    struct vdm_snd_config c = card();
    ck_assert_int_eq(start_init(&c), 0);

    struct vdm_snd x;
    struct vdm_dev d2;
    struct vdm_snd_jack bj = jacks[0];
    struct vdm_snd_pcm bp = pcms[0];
    struct vdm_snd_ctl bc = ctls[0];
    struct vdm_snd_chmap bm = chmaps[0];

    c = card();
    c.reqs = reqs;
    c.iovs = iovs;
    bj.features = 2; /* undefined jack feature */
    c.jacks = &bj;
    c.njacks = 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    c = card();
    c.reqs = reqs;
    c.iovs = iovs;
    bp.formats = 1ull << 30; /* undefined format */
    c.pcms = &bp;
    c.npcms = 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    bp = pcms[0];
    bp.channels_min = 0;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    bp = pcms[0];
    bp.features = VDM_SND_PCM_F_SHMEM_HOST; /* a placeholder */
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    c = card();
    c.reqs = reqs;
    c.iovs = iovs;
    bm.channels = 19;
    c.chmaps = &bm;
    c.nchmaps = 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    c = card();
    c.reqs = reqs;
    c.iovs = iovs;
    bc.name = "";
    c.ctls = &bc;
    c.nctls = 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    bc = ctls[0];
    bc.count = 129;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    bc = ctls[0];
    bc.role = 9 << 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    c = card();
    c.reqs = reqs;
    c.iovs = iovs;
    c.npcms = VDM_SND_MAX_STREAMS + 1;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_EINVAL);
    c = card();
    c.size = 8;
    ck_assert_int_eq(vdm_snd_init(&x, &d2, &c, &h.base), VDM_ESIZE);
}
END_TEST

START_TEST(snd_config_and_features)
{
    start();
    ck_assert_uint_eq(dh_config(&h, 0, 4), 2);
    ck_assert_uint_eq(dh_config(&h, 4, 4), 3);
    ck_assert_uint_eq(dh_config(&h, 8, 4), 2);
    ck_assert_uint_eq(dh_config(&h, 12, 4), 3);
    ck_assert_uint_ne(h.features & VDM_SND_F_CTLS, 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_F_IN_ORDER, 0);
    ck_assert_ptr_eq(vdm_snd_dev(&snd), &h.dev);
}
END_TEST

START_TEST(snd_no_ctls_no_feature)
{
    struct vdm_snd_config c = card();
    c.nctls = 0;
    ck_assert_int_eq(start_init(&c), 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_SND_F_CTLS, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Item information                                                         */

static uint32_t query(uint32_t code, uint32_t start, uint32_t count,
                      uint32_t size, uint32_t resp, struct msg *m,
                      uint32_t *len)
{
    uint8_t q[16];
    drv_put_le32(q, code);
    drv_put_le32(q + 4, start);
    drv_put_le32(q + 8, count);
    drv_put_le32(q + 12, size);
    return ctl_len(q, 16, resp, m, len);
}

START_TEST(snd_info_requests)
{
    struct msg m;
    uint32_t len;
    start();
    /* jacks */
    ck_assert_uint_eq(query(VDM_SND_R_JACK_INFO, 0, 2, 24, 4 + 48, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 52);
    ck_assert_uint_eq(drv_get_le32(m.resp + 4 + 8), 0x01214010);
    ck_assert_uint_eq(m.resp[4 + 16], 1);
    ck_assert_uint_eq(drv_get_le32(m.resp + 28 + 4), VDM_SND_JACK_F_REMAP);
    ck_assert_uint_eq(m.resp[28 + 16], 0);
    for (int i = 17; i < 24; i++)
        ck_assert_uint_eq(m.resp[4 + i], 0); /* padding */
    /* streams */
    ck_assert_uint_eq(query(VDM_SND_R_PCM_INFO, 1, 2, 32, 4 + 64, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(drv_get_le64(m.resp + 4 + 8), FMTS);
    ck_assert_uint_eq(drv_get_le64(m.resp + 4 + 16), RATES);
    ck_assert_uint_eq(m.resp[4 + 24], VDM_SND_D_INPUT);
    ck_assert_uint_eq(m.resp[4 + 25], 1);
    ck_assert_uint_eq(m.resp[4 + 26], 2);
    ck_assert_uint_eq(m.resp[36 + 24], VDM_SND_D_OUTPUT);
    /* chmaps */
    ck_assert_uint_eq(query(VDM_SND_R_CHMAP_INFO, 0, 2, 24, 4 + 48, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(m.resp[4 + 5], 2);
    ck_assert_uint_eq(m.resp[4 + 6], VDM_SND_CHMAP_FL);
    ck_assert_uint_eq(m.resp[4 + 7], VDM_SND_CHMAP_FR);
    /* controls */
    ck_assert_uint_eq(query(VDM_SND_R_CTL_INFO, 0, 3, 96, 4 + 288, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_str_eq((char *)m.resp + 4 + 24, "Master Playback Volume");
    ck_assert_uint_eq(drv_get_le32(m.resp + 4 + 16), 2);       /* count */
    ck_assert_uint_eq(drv_get_le32(m.resp + 4 + 76), 64);      /* max */
    ck_assert_uint_eq(drv_get_le32(m.resp + 4 + 80), 2);       /* step */
    ck_assert_uint_eq(drv_get_le32(m.resp + 4 + 192 + 72), 3); /* items */
    /* an older driver's shorter item layout: size bytes each */
    ck_assert_uint_eq(query(VDM_SND_R_PCM_INFO, 0, 2, 16, 4 + 32, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 36);
    ck_assert_uint_eq(drv_get_le64(m.resp + 20 + 8), FMTS);
}
END_TEST

START_TEST(snd_info_hostile)
{
    struct msg m;
    uint32_t len;
    start();
    /* start + count beyond the items, and wrapping 32 bits */
    ck_assert_uint_eq(query(VDM_SND_R_PCM_INFO, 2, 2, 32, 4 + 64, &m, &len),
                      VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(
        query(VDM_SND_R_PCM_INFO, 1, UINT32_MAX, 32, 4 + 64, &m, &len),
        VDM_SND_S_BAD_MSG);
    /* response buffer smaller than count * size, and a size overflowing */
    ck_assert_uint_eq(query(VDM_SND_R_JACK_INFO, 0, 2, 24, 4 + 47, &m, &len),
                      VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(m.resp[4], 0xee); /* nothing written beyond status */
    ck_assert_uint_eq(
        query(VDM_SND_R_JACK_INFO, 0, 2, 0x80000000u, 4 + 48, &m, &len),
        VDM_SND_S_BAD_MSG);
    /* short query */
    uint8_t q[8];
    drv_put_le32(q, VDM_SND_R_PCM_INFO);
    ck_assert_uint_eq(ctl(q, 8, 4), VDM_SND_S_BAD_MSG);
    /* unknown request code: NOT_SUPP; a request without a header */
    drv_put_le32(q, 0x7777);
    ck_assert_uint_eq(ctl(q, 8, 4), VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(ctl(q, 2, 4), VDM_SND_S_BAD_MSG);
    /* a control request with no room for a status: returned, 0 bytes */
    ctl_post(&m, q, 8, 2);
    kick(0);
    ck_assert_int_eq(used(0, m.id, &len), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(m.resp[0], 0xee);
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* PCM state machine                                                        */

START_TEST(snd_pcm_lifecycle)
{
    start();
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL), VDM_SND_STATE_INIT);
    /* The order Linux uses: SET_PARAMS, PREPARE, START, STOP, RELEASE,
     * PREPARE, START (restart), STOP, RELEASE, SET_PARAMS (new hw_params). */
    prepare(0);
    struct vdm_snd_params p = {.size = sizeof(p)};
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, &p), VDM_SND_STATE_PREPARED);
    ck_assert_uint_eq(p.rate_hz, 48000);
    ck_assert_uint_eq(p.frame_bytes, 4);
    ck_assert_uint_eq(hs.last.period_bytes, 256);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK); /* resume */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_OK);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_RELEASED);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_OK);
    prepare(0);
    ck_assert_int_eq(hs.calls[H_START], 3);
    ck_assert_int_eq(hs.calls[H_RELEASE], 2);
}
END_TEST

START_TEST(snd_pcm_transitions_out_of_order)
{
    start();
    /* Nothing before SET_PARAMS but SET_PARAMS. */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL), VDM_SND_STATE_INIT);
    prepare(0);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    /* Running: only STOP. */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_RUNNING);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    /* Stopped: START or RELEASE. */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_STOPPED);
    /* A host failure leaves the state alone. */
    hs.fail_start = VDM_EIO;
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_IO_ERR);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_STOPPED);
    hs.fail_start = VDM_ENOTSUP;
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_NOT_SUPP);
    /* Bad stream ids */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 3), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, UINT32_MAX),
                      VDM_SND_S_BAD_MSG);
    /* A PCM header cut short */
    uint8_t b[8];
    drv_put_le32(b, VDM_SND_R_PCM_START);
    ck_assert_uint_eq(ctl(b, 6, 4), VDM_SND_S_BAD_MSG);
}
END_TEST

START_TEST(snd_set_params_validation)
{
    start();
    /* Format and rate codes used as shift counts: 64 and beyond. */
    ck_assert_uint_eq(
        set_params(0, 1024, 256, 2, 64, VDM_SND_PCM_RATE_48000, 0),
        VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(
        set_params(0, 1024, 256, 2, 200, VDM_SND_PCM_RATE_48000, 0),
        VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_S16, 255, 0),
                      VDM_SND_S_BAD_MSG);
    /* Defined but not offered: NOT_SUPP */
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_FLOAT,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_44100, 0),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(set_params(0, 1024, 256, 3, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(set_params(0, 1024, 256, 0, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(set_params(1, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000,
                                 VDM_SND_PCM_F_EVT_XRUNS),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000,
                                 VDM_SND_PCM_F_SHMEM_GUEST),
                      VDM_SND_S_BAD_MSG);
    /* Periods: non-zero, dividing the buffer, whole frames */
    ck_assert_uint_eq(set_params(0, 1024, 0, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(set_params(0, 1000, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(set_params(0, 1026, 6, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000, 0),
                      VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(hs.calls[H_PARAMS], 0); /* nothing reached the host */
    /* short request */
    uint8_t b[24];
    params_req(b, 0, 1024, 256, 2, VDM_SND_PCM_FMT_S16, VDM_SND_PCM_RATE_48000,
               0);
    ck_assert_uint_eq(ctl(b, 23, 4), VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL), VDM_SND_STATE_INIT);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Playback and capture                                                     */

START_TEST(snd_playback_async)
{
    start();
    prepare(0);
    struct io a, b;
    io_post(VDM_SND_QUEUE_TX, &a, 0, 256, 0, 1);
    io_post(VDM_SND_QUEUE_TX, &b, 0, 256, 1, 2); /* header split */
    kick(VDM_SND_QUEUE_TX);
    ck_assert_uint_eq(hs.np, 2);
    ck_assert_uint_eq(vdm_snd_pending(&snd, 0), 2);
    uint8_t got[256];
    ck_assert_uint_eq(gather(0, got), 256);
    ck_assert_mem_eq(got, a.data, 256);
    ck_assert_uint_eq(gather(1, got), 256);
    ck_assert_mem_eq(got, b.data, 256);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, a.id, NULL), 0); /* not yet */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    /* The host plays them in its own time. */
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 512, 999), 0);
    uint32_t len;
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, a.id, &len), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(drv_get_le32(a.st), VDM_SND_S_OK);
    ck_assert_uint_eq(drv_get_le32(a.st + 4), 512);
    /* a token twice: refused */
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 0, 0),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[1].token, VDM_EIO, 0, 0), 0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, b.id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(b.st), VDM_SND_S_IO_ERR);
    ck_assert_uint_eq(vdm_snd_pending(&snd, 0), 0);
}
END_TEST

START_TEST(snd_capture_async)
{
    start();
    prepare(1);
    struct io a;
    io_post(VDM_SND_QUEUE_RX, &a, 1, 512, 0, 0);
    kick(VDM_SND_QUEUE_RX);
    ck_assert_uint_eq(hs.np, 1);
    ck_assert_uint_eq(hs.p[0].bytes, 512);
    /* The host records: fill the span it was given, not the status. */
    memset(hs.p[0].iov[0].base, 0x5a, 512);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 1024, 512), 0);
    uint32_t len;
    ck_assert_int_eq(used(VDM_SND_QUEUE_RX, a.id, &len), 1);
    ck_assert_uint_eq(len, 512 + 8);
    ck_assert_uint_eq(a.data[0], 0x5a);
    ck_assert_uint_eq(a.data[511], 0x5a);
    ck_assert_uint_eq(drv_get_le32(a.st), VDM_SND_S_OK);
    ck_assert_uint_eq(drv_get_le32(a.st + 4), 1024);
    /* end of stream: fewer bytes; never more than the buffer */
    struct io b;
    io_post(VDM_SND_QUEUE_RX, &b, 1, 512, 0, 0);
    kick(VDM_SND_QUEUE_RX);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[1].token, 0, 0, 100000), 0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_RX, b.id, &len), 1);
    ck_assert_uint_eq(len, 512 + 8);
}
END_TEST

/* CVE-2024-7730 class: an rx buffer with room for the status only; and an
 * rx buffer whose status spans two descriptors. */
START_TEST(snd_rx_no_room_for_frames)
{
    start();
    prepare(1);
    struct io a;
    io_post(VDM_SND_QUEUE_RX, &a, 1, 0, 0, 0);
    kick(VDM_SND_QUEUE_RX);
    uint32_t len;
    ck_assert_int_eq(used(VDM_SND_QUEUE_RX, a.id, &len), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(drv_get_le32(a.st), VDM_SND_S_IO_ERR);
    ck_assert_int_eq(hs.calls[H_IO], 0);

    /* [hdr][12 bytes W][8 bytes W] where frames + status share the spans:
     * 4 frames of 4 bytes = 16 bytes then the status. */
    uint64_t g = dh_alloc(&h, 4, 4), d1 = dh_alloc(&h, 12, 4),
             d2 = dh_alloc(&h, 12, 4);
    drv_put_le32(dh_ptr(&h, g, 4), 1);
    struct drv_buf rd = {g, 4}, wr[2] = {{d1, 12}, {d2, 12}};
    int id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_RX), &rd, 1, wr, 2,
                        DRV_ADD_DIRECT, NULL);
    kick(VDM_SND_QUEUE_RX);
    ck_assert_uint_eq(hs.np, 1);
    ck_assert_uint_eq(hs.p[0].bytes, 16);
    ck_assert_uint_eq(hs.p[0].n, 2);
    ck_assert_uint_eq(hs.p[0].iov[1].len, 4);
    memset(hs.p[0].iov[0].base, 1, 12);
    memset(hs.p[0].iov[1].base, 2, 4);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 7, 16), 0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_RX, id, &len), 1);
    ck_assert_uint_eq(len, 24);
    uint8_t *p2 = dh_ptr(&h, d2, 12);
    ck_assert_uint_eq(p2[3], 2);
    ck_assert_uint_eq(drv_get_le32(p2 + 4), VDM_SND_S_OK);
    ck_assert_uint_eq(drv_get_le32(p2 + 8), 7);
}
END_TEST

START_TEST(snd_io_hostile)
{
    start();
    prepare(0);
    prepare(1);
    struct io r;
    uint32_t len;
    /* unknown stream, wrong direction, stream not prepared */
    io_post(VDM_SND_QUEUE_TX, &r, 7, 256, 0, 0);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, r.id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(r.st), VDM_SND_S_IO_ERR);
    io_post(VDM_SND_QUEUE_TX, &r, 1, 256, 0, 0);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, r.id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(r.st), VDM_SND_S_IO_ERR);
    io_post(VDM_SND_QUEUE_TX, &r, 2, 8, 0, 0);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, r.id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(r.st), VDM_SND_S_IO_ERR);
    /* a partial frame (S16 stereo: 4 bytes) */
    io_post(VDM_SND_QUEUE_TX, &r, 0, 6, 0, 0);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, r.id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(r.st), VDM_SND_S_IO_ERR);
    /* a header cut short: 2 readable bytes then the status */
    uint64_t g = dh_alloc(&h, 2, 2), s = dh_alloc(&h, 8, 8);
    struct drv_buf rd = {g, 2}, wr = {s, 8};
    int id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_TX), &rd, 1, &wr, 1,
                        DRV_ADD_DIRECT, NULL);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(dh_ptr(&h, s, 4)), VDM_SND_S_IO_ERR);
    /* a tx buffer with no status: returned with 0 bytes */
    uint64_t hd = dh_alloc(&h, 260, 4);
    drv_put_le32(dh_ptr(&h, hd, 4), 0);
    struct drv_buf only = {hd, 260};
    id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_TX), &only, 1, NULL, 0,
                    DRV_ADD_DIRECT, NULL);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, id, &len), 1);
    ck_assert_uint_eq(len, 0);
    /* a tx buffer with a writable data part (beyond the status) */
    uint64_t w = dh_alloc(&h, 24, 8);
    struct drv_buf rw[1] = {{w, 24}};
    id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_TX), &only, 1, rw, 1,
                    DRV_ADD_DIRECT, NULL);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(dh_ptr(&h, w + 16, 4)), VDM_SND_S_IO_ERR);
    /* more spans than a slot holds: the kit answers IO_ERR */
    struct drv_buf many[IOVS + 1];
    uint64_t big = dh_alloc(&h, 4 * (IOVS + 1), 4);
    drv_put_le32(dh_ptr(&h, big, 4), 0);
    for (int i = 0; i < IOVS + 1; i++)
        many[i] = (struct drv_buf){big + 4 * i, 4};
    id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_TX), many, IOVS + 1, &wr, 1,
                    DRV_ADD_DIRECT, NULL);
    memset(dh_ptr(&h, s, 8), 0xee, 8);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, id, &len), 1);
    ck_assert_uint_eq(drv_get_le32(dh_ptr(&h, s, 4)), VDM_SND_S_IO_ERR);

    ck_assert_int_eq(hs.calls[H_IO], 0); /* nothing reached the host */
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

/* "The device MUST NOT complete the control request while there are
 * pending I/O messages for the specified stream ID." */
START_TEST(snd_release_waits_for_io)
{
    start();
    prepare(0);
    struct io a, b;
    io_post(VDM_SND_QUEUE_TX, &a, 0, 256, 0, 1);
    io_post(VDM_SND_QUEUE_TX, &b, 0, 256, 0, 2);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    uint8_t rq[8];
    drv_put_le32(rq, VDM_SND_R_PCM_RELEASE);
    drv_put_le32(rq + 4, 0);
    struct msg m;
    ctl_post(&m, rq, 8, 4);
    kick(0);
    ck_assert_int_eq(used(0, m.id, NULL), 0);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_RELEASING);
    /* requests on the stream meanwhile: refused */
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_BAD_MSG);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 0, 0), 0);
    ck_assert_int_eq(used(0, m.id, NULL), 0);
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[1].token, 0, 0, 0), 0);
    uint32_t len;
    ck_assert_int_eq(used(0, m.id, &len), 1);
    ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(drv_get_le32(m.resp), VDM_SND_S_OK);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL),
                     VDM_SND_STATE_RELEASED);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, a.id, NULL), 1);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, b.id, NULL), 1);

    /* A host that completes inside its release hook: answered at once. */
    hs.np = 0;
    hs.complete_on_rel = 1;
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    io_post(VDM_SND_QUEUE_TX, &a, 0, 256, 0, 1);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_OK);
    ck_assert_int_eq(used(VDM_SND_QUEUE_TX, a.id, NULL), 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Control elements                                                         */

static uint32_t ctl_hdr(uint32_t code, uint32_t id, uint32_t resp,
                        struct msg *m, uint32_t *len)
{
    uint8_t b[8];
    drv_put_le32(b, code);
    drv_put_le32(b + 4, id);
    return ctl_len(b, 8, resp, m, len);
}

static uint32_t ctl_write(uint32_t id, const uint32_t *v, unsigned n)
{
    uint8_t b[8 + 512];
    memset(b, 0, sizeof(b));
    drv_put_le32(b, VDM_SND_R_CTL_WRITE);
    drv_put_le32(b + 4, id);
    for (unsigned i = 0; i < n; i++)
        drv_put_le32(b + 8 + 4 * i, v[i]);
    return ctl(b, sizeof(b), 4);
}

START_TEST(snd_controls)
{
    struct msg m;
    uint32_t len;
    start();
    hs.volume[0] = 10;
    hs.volume[1] = 12;
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_READ, 0, 4 + 512, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 4 + 512);
    ck_assert_uint_eq(drv_get_le32(m.resp + 4), 10);
    ck_assert_uint_eq(drv_get_le32(m.resp + 8), 12);
    ck_assert_uint_eq(m.resp[12], 0);
    uint32_t v[2] = {20, 64};
    ck_assert_uint_eq(ctl_write(0, v, 2), VDM_SND_S_OK);
    ck_assert_int_eq(hs.volume[0], 20);
    ck_assert_int_eq(hs.volume[1], 64);
    /* out of range, off the step, boolean 2, enumerated beyond items */
    v[1] = 66;
    ck_assert_uint_eq(ctl_write(0, v, 2), VDM_SND_S_BAD_MSG);
    v[1] = 3;
    ck_assert_uint_eq(ctl_write(0, v, 2), VDM_SND_S_BAD_MSG);
    v[0] = (uint32_t)-2;
    v[1] = 2;
    ck_assert_uint_eq(ctl_write(0, v, 2), VDM_SND_S_BAD_MSG);
    v[0] = 2;
    ck_assert_uint_eq(ctl_write(1, v, 1), VDM_SND_S_BAD_MSG);
    v[0] = 1;
    ck_assert_uint_eq(ctl_write(1, v, 1), VDM_SND_S_OK);
    ck_assert_uint_eq(hs.mute, 1);
    v[0] = 3;
    ck_assert_uint_eq(ctl_write(2, v, 1), VDM_SND_S_BAD_MSG);
    v[0] = 2;
    ck_assert_uint_eq(ctl_write(2, v, 1), VDM_SND_S_OK);
    ck_assert_uint_eq(hs.mode, 2);
    ck_assert_int_eq(hs.calls[H_CWRITE], 3);
    /* a value too short for the element: 8 + 4 bytes for two values */
    uint8_t b[12];
    drv_put_le32(b, VDM_SND_R_CTL_WRITE);
    drv_put_le32(b + 4, 0);
    drv_put_le32(b + 8, 0);
    ck_assert_uint_eq(ctl(b, 12, 4), VDM_SND_S_BAD_MSG);
    /* unknown control */
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_READ, 3, 4 + 512, &m, &len),
                      VDM_SND_S_BAD_MSG);
    /* enumerated items */
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_ENUM_ITEMS, 2, 4 + 192, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 4 + 192);
    ck_assert_str_eq((char *)m.resp + 4 + 128, "Swap");
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_ENUM_ITEMS, 0, 4 + 192, &m, &len),
                      VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_ENUM_ITEMS, 2, 4 + 191, &m, &len),
                      VDM_SND_S_BAD_MSG);
    /* TLV: whole, truncated (still OK), refused without access */
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_TLV_READ, 0, 4 + 64, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 4 + 16);
    ck_assert_uint_eq(drv_get_le32(m.resp + 4), 1);
    ck_assert_uint_eq(drv_get_le32(m.resp + 12), (uint32_t)-6400);
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_TLV_READ, 0, 4 + 8, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(len, 4 + 8);
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_TLV_READ, 1, 4 + 64, &m, &len),
                      VDM_SND_S_BAD_MSG);
    /* TLV command on control 1 (allowed), TLV write (not allowed) */
    uint8_t t[8 + 8 + 4];
    drv_put_le32(t, VDM_SND_R_CTL_TLV_COMMAND);
    drv_put_le32(t + 4, 1);
    drv_put_le32(t + 8, 5);
    drv_put_le32(t + 12, 4);
    drv_put_le32(t + 16, 9);
    ck_assert_uint_eq(ctl(t, sizeof(t), 4), VDM_SND_S_OK);
    ck_assert_uint_eq(hs.tlv_calls, 1);
    drv_put_le32(t + 12, 400); /* length beyond what was sent */
    ck_assert_uint_eq(ctl(t, sizeof(t), 4), VDM_SND_S_BAD_MSG);
    drv_put_le32(t, VDM_SND_R_CTL_TLV_WRITE);
    ck_assert_uint_eq(ctl(t, sizeof(t), 4), VDM_SND_S_BAD_MSG);
    ck_assert_uint_eq(hs.tlv_calls, 1);
}
END_TEST

START_TEST(snd_controls_need_feature)
{
    struct msg m;
    uint32_t len;
    start_with(RING_F);
    ck_assert_uint_eq(ctl_hdr(VDM_SND_R_CTL_READ, 0, 4 + 512, &m, &len),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_uint_eq(query(VDM_SND_R_CTL_INFO, 0, 1, 96, 4 + 96, &m, &len),
                      VDM_SND_S_NOT_SUPP);
    ck_assert_int_eq(vdm_snd_ctl_notify(&snd, 0, VDM_SND_CTL_EVT_MASK_VALUE),
                     1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

static int ev_post(uint8_t **p, uint32_t len)
{
    uint64_t g = dh_alloc(&h, len, 8);
    *p = dh_ptr(&h, g, len);
    memset(*p, 0xee, len);
    struct drv_buf b = {g, len};
    int id = drv_vq_add(dh_vq(&h, VDM_SND_QUEUE_EVENT), NULL, 0, &b, 1,
                        DRV_ADD_DIRECT, NULL);
    ck_assert_int_ge(id, 0);
    return id;
}

START_TEST(snd_events)
{
    start();
    uint8_t *e1, *e2, *e3;
    uint32_t len;
    /* an event before any buffer waits */
    ck_assert_int_eq(vdm_snd_jack_set(&snd, 1, 1), 0);
    ck_assert_int_eq(vdm_snd_jack_set(&snd, 1, 1), 0); /* no change */
    int i1 = ev_post(&e1, 8);
    kick(VDM_SND_QUEUE_EVENT);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i1, &len), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(drv_get_le32(e1), VDM_SND_EVT_JACK_CONNECTED);
    ck_assert_uint_eq(drv_get_le32(e1 + 4), 1);
    /* buffers wait for events */
    int i2 = ev_post(&e2, 8);
    int i3 = ev_post(&e3, 8);
    kick(VDM_SND_QUEUE_EVENT);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i2, NULL), 0);
    /* XRUN only when the driver selected it */
    prepare(0);
    ck_assert_int_eq(vdm_snd_pcm_event(&snd, 0, VDM_SND_EVT_PCM_XRUN), 1);
    ck_assert_uint_eq(set_params(0, 1024, 256, 2, VDM_SND_PCM_FMT_S16,
                                 VDM_SND_PCM_RATE_48000,
                                 VDM_SND_PCM_F_EVT_XRUNS),
                      VDM_SND_S_OK);
    ck_assert_int_eq(vdm_snd_pcm_event(&snd, 0, VDM_SND_EVT_PCM_XRUN), 0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i2, NULL), 1);
    ck_assert_uint_eq(drv_get_le32(e2), VDM_SND_EVT_PCM_XRUN);
    ck_assert_uint_eq(drv_get_le32(e2 + 4), 0);
    ck_assert_int_eq(vdm_snd_ctl_notify(&snd, 2,
                                        VDM_SND_CTL_EVT_MASK_VALUE |
                                            VDM_SND_CTL_EVT_MASK_INFO),
                     0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i3, NULL), 1);
    ck_assert_uint_eq(drv_get_le32(e3), VDM_SND_EVT_CTL_NOTIFY);
    ck_assert_uint_eq(drv_get_le16(e3 + 4), 2);
    ck_assert_uint_eq(drv_get_le16(e3 + 6), 3);
    ck_assert_int_eq(vdm_snd_ctl_notify(&snd, 2, 8), VDM_EINVAL);
    ck_assert_int_eq(vdm_snd_jack_set(&snd, 2, 1), VDM_ERANGE);
    ck_assert_int_eq(vdm_snd_pcm_event(&snd, 3, VDM_SND_EVT_PCM_XRUN),
                     VDM_ERANGE);
    /* a buffer smaller than an event is returned unused; the event waits */
    int i4 = ev_post(&e1, 4);
    kick(VDM_SND_QUEUE_EVENT);
    ck_assert_int_eq(vdm_snd_jack_set(&snd, 0, 0), 0);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i4, &len), 1);
    ck_assert_uint_eq(len, 0);
    int i5 = ev_post(&e1, 16);
    kick(VDM_SND_QUEUE_EVENT);
    ck_assert_int_eq(used(VDM_SND_QUEUE_EVENT, i5, &len), 1);
    ck_assert_uint_eq(drv_get_le32(e1), VDM_SND_EVT_JACK_DISCONNECTED);
    /* overflow without buffers: dropped, counted */
    for (unsigned i = 0; i < VDM_SND_EVENTS_MAX; i++)
        ck_assert_int_eq(vdm_snd_jack_set(&snd, 0, (i & 1) == 0), 0);
    ck_assert_int_eq(vdm_snd_jack_set(&snd, 0, 1), VDM_ENOSPC);
    ck_assert_uint_eq(vdm_snd_events_dropped(&snd), 1);
    /* jack state shows in JACK_INFO */
    struct msg m;
    ck_assert_uint_eq(query(VDM_SND_R_JACK_INFO, 0, 1, 24, 28, &m, &len),
                      VDM_SND_S_OK);
    ck_assert_uint_eq(m.resp[4 + 16], 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Reset, flood                                                             */

START_TEST(snd_reset_with_io_pending)
{
    start();
    prepare(0);
    struct io a;
    io_post(VDM_SND_QUEUE_TX, &a, 0, 256, 0, 1);
    kick(VDM_SND_QUEUE_TX);
    ck_assert_uint_eq(pcm(VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(hs.np, 1);
    memset(a.st, 0xee, 8);
    dh_reset(&h);
    ck_assert_int_eq(hs.calls[H_STOP], 1);
    ck_assert_int_eq(hs.calls[H_RELEASE], 1);
    ck_assert_int_eq(vdm_snd_stream_state(&snd, 0, NULL), VDM_SND_STATE_INIT);
    ck_assert_uint_eq(vdm_snd_in_flight(&snd), 1);
    /* the late completion is dropped: no guest write */
    ck_assert_int_eq(vdm_snd_complete(&snd, hs.p[0].token, 0, 0, 0),
                     VDM_ESTATE);
    ck_assert_uint_eq(a.st[0], 0xee);
    ck_assert_uint_eq(vdm_snd_in_flight(&snd), 0);
    /* and the device comes back */
    ck_assert_int_eq(dh_bring_up(&h, VDM_SND_F_CTLS | RING_F, 4), 0);
    prepare(0);
}
END_TEST

/* A flood of control requests: a whole ring of them in one notification,
 * every one answered, the device stays usable. */
START_TEST(snd_control_flood)
{
    start();
    static struct msg m[QSIZE / 2]; /* two descriptors each: a full ring */
    uint8_t b[8];
    drv_put_le32(b, VDM_SND_R_PCM_START);
    drv_put_le32(b + 4, 9);
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < QSIZE / 2; i++)
            ctl_post(&m[i], b, 8, 4);
        kick(0);
        for (int i = 0; i < QSIZE / 2; i++) {
            ck_assert_int_eq(used(0, m[i].id, NULL), 1);
            ck_assert_uint_eq(drv_get_le32(m[i].resp), VDM_SND_S_BAD_MSG);
        }
    }
    UT_IF_LOG(VDM_LOG_WARN,
              ck_assert_uint_le(h.nwarn, 2)); /* warned once, not per request */
    prepare(0);
}
END_TEST

static Suite *snd_suite(void)
{
    Suite *s = suite_create("sound");
    TCase *tc = tcase_create("sound");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, snd_init_validation);
    tcase_add_test(tc, snd_config_and_features);
    tcase_add_test(tc, snd_no_ctls_no_feature);
    tcase_add_test(tc, snd_info_requests);
    tcase_add_test(tc, snd_info_hostile);
    tcase_add_test(tc, snd_pcm_lifecycle);
    tcase_add_test(tc, snd_pcm_transitions_out_of_order);
    tcase_add_test(tc, snd_set_params_validation);
    tcase_add_test(tc, snd_playback_async);
    tcase_add_test(tc, snd_capture_async);
    tcase_add_test(tc, snd_rx_no_room_for_frames);
    tcase_add_test(tc, snd_io_hostile);
    tcase_add_test(tc, snd_release_waits_for_io);
    tcase_add_test(tc, snd_controls);
    tcase_add_test(tc, snd_controls_need_feature);
    tcase_add_test(tc, snd_events);
    tcase_add_test(tc, snd_reset_with_io_pending);
    tcase_add_test(tc, snd_control_flood);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(snd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
