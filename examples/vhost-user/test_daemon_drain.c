/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: requests still at the host when the
 * front-end takes a ring back or the daemon is told to exit (docs/drain.md).
 *
 * vhost-user "Ring states": the back-end stops a ring on
 * VHOST_USER_GET_VRING_BASE, whose reply is "the available vring base
 * offset", from which a front-end (or the next back-end, with
 * SET_VRING_BASE) goes on. Every request the back-end took from the ring
 * must therefore be used before that answer: one still held would be lost
 * to the driver (never used) or, completed later, land in a ring the
 * back-end no longer owns. So the answer comes only once the used ring
 * holds every request taken, and the base equals the used index (split
 * ring: each request one used entry). SIGTERM likewise: the daemon exits
 * within a second with every request it held used.
 *
 * Sound holds I/O periods at the host: a started stream completes them on
 * its period clock, a prepared or stopped one not at all until START or
 * RELEASE ("Sound Device / Device Operation / PCM Stream Release": "The
 * device MUST complete all pending I/O messages"). The daemon finishes them
 * as a release would, output periods consumed first ("PCM Output Stream":
 * "MUST NOT complete the I/O request until the buffer is totally
 * consumed"): the WAV sink holds every byte the driver sent, in order.
 *
 * The balloon keeps the driver's stats buffer between two requests
 * ("Memory Statistics"): kept over a GET_VRING_BASE it would be counted
 * taken by the base and never used. The device asks for statistics
 * instead, which gives it back.
 */
#include "test_daemon.h"
#include "vdm/devices/balloon.h"
#include "vdm/devices/sound.h"

#define DR_NUM    32
#define DR_PERIOD 16384u /* bytes: 2.048 s of U8 mono at 8 kHz */
#define DR_N      6u     /* periods queued */
#define DR_CTL    0x10000u
#define DR_RESP   0x10800u
#define DR_HDR    0x11000u /* 16 bytes per period */
#define DR_STATUS 0x12000u /* 16 bytes per period */
#define DR_DATA   0x20000u /* DR_PERIOD per period */

static uint8_t dr_byte(size_t k)
{
    return (uint8_t)((k * 73u) ^ (k >> 10) ^ 0x5a);
}

/* The used index of split ring @p q, as the device wrote it ("The Virtqueue
 * Used Ring": le16 idx after le16 flags). */
static uint16_t used_idx(struct fe *f, int q)
{
    return vdm_le16(f->q[q].device + 2);
}

static uint32_t dr_ctl(struct fe *f, uint32_t len)
{
    struct drv_buf out = {DR_CTL, len}, in = {DR_RESP, 4};
    uint32_t code;
    memset(f->mem + DR_RESP, 0xff, 4);
    add(f, 0, &out, 1, &in, 1, 0);
    kick(f, 0);
    ck_assert_uint_eq(wait_used(f, 0), 4);
    memcpy(&code, f->mem + DR_RESP, 4);
    return vdm_le32((const uint8_t *)&code);
}

static uint32_t dr_pcm(struct fe *f, uint32_t code, uint32_t sid)
{
    uint8_t h[8];
    vdm_put_le32(h, code);
    vdm_put_le32(h + 4, sid);
    memcpy(f->mem + DR_CTL, h, 8);
    return dr_ctl(f, 8);
}

/* A control round trip after a kick: the daemon has taken what the kick
 * announced by then (one device thread, and the kick was pending first).
 * The request (an unknown code) answers with an error status; only that it
 * answers matters. */
static void dr_sync(struct fe *f, uint32_t sid)
{
    (void)dr_pcm(f, 0xffffu, sid);
}

/* SET_PARAMS for stream @p sid: U8 mono at @p rate (a VDM_SND_PCM_RATE_*),
 * periods of DR_PERIOD bytes. */
static void dr_params(struct fe *f, uint32_t sid, uint8_t rate)
{
    uint8_t p[24] = {0};
    vdm_put_le32(p, VDM_SND_R_PCM_SET_PARAMS);
    vdm_put_le32(p + 4, sid);
    vdm_put_le32(p + 8, DR_N * DR_PERIOD); /* buffer_bytes */
    vdm_put_le32(p + 12, DR_PERIOD);       /* period_bytes */
    p[20] = 1;                             /* channels */
    p[21] = VDM_SND_PCM_FMT_U8;
    p[22] = rate;
    memcpy(f->mem + DR_CTL, p, 24);
    ck_assert_uint_eq(dr_ctl(f, 24), VDM_SND_S_OK);
}

/* Period @p k of stream @p sid onto its queue (2 + sid), not kicked. */
static void dr_xfer(struct fe *f, uint32_t sid, uint32_t k)
{
    uint64_t hdr = DR_HDR + 16u * k, st = DR_STATUS + 16u * k;
    uint64_t data = DR_DATA + DR_PERIOD * k;
    vdm_put_le32(f->mem + hdr, sid);
    memset(f->mem + st, 0xff, 8);
    if (sid == 0) {
        struct drv_buf out[2] = {{hdr, 4}, {data, DR_PERIOD}}, in = {st, 8};
        for (uint32_t i = 0; i < DR_PERIOD; i++)
            f->mem[data + i] = dr_byte((size_t)k * DR_PERIOD + i);
        add(f, 2, out, 2, &in, 1, k);
    } else {
        struct drv_buf out = {hdr, 4}, in[2] = {{data, DR_PERIOD}, {st, 8}};
        memset(f->mem + data, 0xee, DR_PERIOD);
        add(f, 3, &out, 1, in, 2, k);
    }
}

/* The DR_N periods of ring @p q are used, once each, in order, with
 * VIRTIO_SND_S_OK ("PCM I/O Messages": status, then latency_bytes) and
 * the used length of the status (output) or data and status (input); no
 * more follow. */
static void dr_check_used(struct fe *f, int q)
{
    uintptr_t k[DR_N];
    uint32_t id, len;
    void *cookie;

    wait_used_n(f, q, DR_N, k);
    for (uint32_t i = 0; i < DR_N; i++) {
        ck_assert_uint_eq(k[i], i);
        ck_assert_uint_eq(vdm_le32(f->mem + DR_STATUS + 16u * i), VDM_SND_S_OK);
    }
    ck_assert_int_eq(drv_vq_get_used(&f->q[q], &id, &len, &cookie), 0);
    ck_assert_ptr_null(drv_vq_error(&f->q[q]));
}

/* Start a sound daemon writing playback to @p wav (realtime pace). */
static pid_t dr_sound(const char *tag, char *sock, size_t scap, char *wav,
                      size_t wcap)
{
    char spec[320];
    snprintf(sock, scap, "%s/%s.sock", top_dir, tag);
    snprintf(wav, wcap, "%s/%s.wav", top_dir, tag);
    snprintf(spec, sizeof(spec), "sound,playback=%s,pace=realtime", wav);
    return sp_start(sock, spec);
}

/* The WAV file holds, after its 44-byte header, the DR_N periods the driver
 * sent, byte for byte, and nothing else. */
static void dr_check_wav(const char *wav)
{
    static uint8_t buf[44 + DR_N * DR_PERIOD + 1];
    int fd = open(wav, O_RDONLY);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    ck_assert_int_eq(n, (ssize_t)(44 + DR_N * DR_PERIOD));
    ck_assert_uint_eq(vdm_le32(buf + 40), DR_N * DR_PERIOD); /* data size */
    for (size_t i = 0; i < DR_N * DR_PERIOD; i++)
        ck_assert_uint_eq(buf[44 + i], dr_byte(i));
}

/* A prepared, never started output stream holds its periods for good: the
 * front-end's GET_VRING_BASE of the txq must still be answered, after every
 * period is consumed and used, with a base equal to the used index. */
START_TEST(sound_get_vring_base_finishes_held_periods)
{
    char sock[128], wav[128];
    uint32_t req[2] = {VDM_SND_QUEUE_TX, 0}, rep[2];
    struct fe f;
    pid_t pid = dr_sound("drain-gvb", sock, sizeof(sock), wav, sizeof(wav));

    fe_open_n(&f, sock, 4, MEM_SIZE, DR_NUM);
    dr_params(&f, 0, VDM_SND_PCM_RATE_8000);
    ck_assert_uint_eq(dr_pcm(&f, VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    for (uint32_t k = 0; k < DR_N; k++)
        dr_xfer(&f, 0, k);
    kick(&f, 2);
    dr_sync(&f, 0); /* taken; a stream never started completes none */
    usleep(50 * 1000);
    ck_assert_uint_eq(used_idx(&f, 2), 0);

    fe_send(&f.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    ck_assert_uint_eq(fe_recv(&f.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8), 8);
    ck_assert_uint_eq(rep[0], VDM_SND_QUEUE_TX);
    /* The answer came after the used ring holds them all. */
    ck_assert_uint_eq(used_idx(&f, 2), DR_N);
    ck_assert_uint_eq(rep[1], DR_N);
    dr_check_used(&f, 2);
    fe_close(&f);
    stop_pid(pid); /* the WAV header is written when the stream goes */
    dr_check_wav(wav);
    unlink(wav);
}
END_TEST

/* The same for the input stream's rxq: each held period comes back full
 * (silence from the null source: U8 silence is 0x80). */
START_TEST(sound_get_vring_base_finishes_held_capture)
{
    char sock[128], wav[128];
    uint32_t req[2] = {VDM_SND_QUEUE_RX, 0}, rep[2];
    struct fe f;
    pid_t pid = dr_sound("drain-rx", sock, sizeof(sock), wav, sizeof(wav));

    fe_open_n(&f, sock, 4, MEM_SIZE, DR_NUM);
    dr_params(&f, 1, VDM_SND_PCM_RATE_8000);
    ck_assert_uint_eq(dr_pcm(&f, VDM_SND_R_PCM_PREPARE, 1), VDM_SND_S_OK);
    for (uint32_t k = 0; k < DR_N; k++)
        dr_xfer(&f, 1, k);
    kick(&f, 3);
    dr_sync(&f, 1);
    usleep(50 * 1000);
    ck_assert_uint_eq(used_idx(&f, 3), 0);

    fe_send(&f.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    ck_assert_uint_eq(fe_recv(&f.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8), 8);
    ck_assert_uint_eq(used_idx(&f, 3), DR_N);
    ck_assert_uint_eq(rep[1], DR_N);
    dr_check_used(&f, 3);
    for (uint32_t i = 0; i < DR_N * DR_PERIOD; i++)
        ck_assert_uint_eq(f.mem[DR_DATA + i], 0x80);
    fe_close(&f);
    stop_pid(pid);
}
END_TEST

/* A memory-table change (the same table sent again, as a front-end does
 * when its memory map changes elsewhere) takes every span the device holds
 * away: the held periods are finished before it is applied, so the
 * acknowledgement comes after the used ring holds them all. */
START_TEST(sound_set_mem_table_finishes_held_periods)
{
    char sock[128], wav[128];
    struct vu_front_region mr;
    struct fe f;
    pid_t pid = dr_sound("drain-mem", sock, sizeof(sock), wav, sizeof(wav));

    fe_open_n(&f, sock, 4, MEM_SIZE, DR_NUM);
    dr_params(&f, 0, VDM_SND_PCM_RATE_8000);
    ck_assert_uint_eq(dr_pcm(&f, VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    for (uint32_t k = 0; k < DR_N; k++)
        dr_xfer(&f, 0, k);
    kick(&f, 2);
    dr_sync(&f, 0);
    usleep(50 * 1000);
    ck_assert_uint_eq(used_idx(&f, 2), 0);

    mr.gpa = 0;
    mr.size = MEM_SIZE;
    mr.uva = (uint64_t)(uintptr_t)f.mem;
    mr.off = 0;
    ck_assert_int_eq(
        vu_front_mem_table(&f.v, VDM_VHOST_USER_F_NEED_REPLY, &mr, 1, &f.memfd),
        0);
    ck_assert_int_eq(vu_front_recv(&f.v, VDM_VHOST_USER_SET_MEM_TABLE), 8);
    ck_assert_uint_eq(vu_front_reply_u64(&f.v), 0);
    ck_assert_uint_eq(used_idx(&f, 2), DR_N);
    dr_check_used(&f, 2);
    fe_close(&f);
    stop_pid(pid);
    dr_check_wav(wav);
    unlink(wav);
}
END_TEST

/* A started stream at 8 kHz holds 12 s of audio (six periods of 2 s):
 * SIGTERM does not wait for its clock. The daemon exits 0 within a second,
 * every period used with OK, and the sink holds every byte. */
START_TEST(sound_sigterm_finishes_held_periods)
{
    char sock[128], wav[128];
    struct fe f;
    struct timespec t0, t1;
    double t;
    int st;
    pid_t pid = dr_sound("drain-term", sock, sizeof(sock), wav, sizeof(wav));

    fe_open_n(&f, sock, 4, MEM_SIZE, DR_NUM);
    dr_params(&f, 0, VDM_SND_PCM_RATE_8000);
    ck_assert_uint_eq(dr_pcm(&f, VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(dr_pcm(&f, VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    for (uint32_t k = 0; k < DR_N; k++)
        dr_xfer(&f, 0, k);
    kick(&f, 2);
    dr_sync(&f, 0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_msg(t < 1.0, "exit took %.3f s", t);
    dr_check_used(&f, 2);
    fe_close(&f);
    dr_check_wav(wav);
    unlink(wav);
}
END_TEST

/* The statsq buffer the device keeps is given back (a stats request: used,
 * nothing written) before GET_VRING_BASE of the statsq answers, and the
 * base equals the used index. */
START_TEST(balloon_get_vring_base_gives_the_stats_buffer_back)
{
    char sock[128], spec[64];
    uint32_t req[2] = {2, 0}, rep[2], len;
    uint8_t *st;
    struct fe f;
    pid_t pid;

    snprintf(sock, sizeof(sock), "%s/drain-bal.sock", top_dir);
    snprintf(spec, sizeof(spec), "balloon,stats-ms=0");
    pid = sp_start(sock, spec);
    /* STATS_VQ: inflate 0, deflate 1, stats 2 */
    fe_open_feat(&f, sock, 3, MEM_SIZE, VDM_BALLOON_F_STATS_VQ);
    st = f.mem + BUF + 0x800;
    vdm_put_le16(st, VDM_BALLOON_S_MEMTOT);
    vdm_put_le64(st + 2, 123456789);
    {
        struct drv_buf sb = {BUF + 0x800, 10};
        add(&f, 2, &sb, 1, NULL, 0, 0x57);
        kick(&f, 2);
    }
    {
        /* a round trip on the inflateq (one page, unused by the test):
         * the statsq kick, pending first, is served by then */
        struct drv_buf ib = {BUF, 4};
        vdm_put_le32(f.mem + BUF, 0xf0000u / 4096u);
        add(&f, 0, &ib, 1, NULL, 0, 1);
        kick(&f, 0);
        ck_assert_uint_eq(wait_used(&f, 0), 0);
    }
    usleep(50 * 1000);
    ck_assert_uint_eq(used_idx(&f, 2), 0); /* kept */

    fe_send(&f.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    ck_assert_uint_eq(fe_recv(&f.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8), 8);
    ck_assert_uint_eq(used_idx(&f, 2), 1);
    ck_assert_uint_eq(rep[0], 2);
    ck_assert_uint_eq(rep[1], 1);
    {
        uintptr_t ck;
        len = wait_used_n(&f, 2, 1, &ck);
        ck_assert_uint_eq(ck, 0x57);
        ck_assert_uint_eq(len, 0);
    }
    fe_close(&f);
    stop_pid(pid);
}
END_TEST

/* Device-writable buffers on each type's event queue, kicked: none is
 * taken, so GET_VRING_BASE reports the base the used index has (0). */
START_TEST(event_buffers_stay_in_the_ring_over_get_vring_base)
{
    static const struct {
        const char *spec;
        int nrings, q;
        uint64_t feat;
    } t[] = {
        {"input,profile=keyboard", 2, 0, 0},
        {"console,port0=file:%s/drain-con.out", 2, 0, 0},
        {"sound", 4, 1, 0},
        {"scmi", 2, 1, 1ull << 0 /* VIRTIO_SCMI_F_P2A_CHANNELS */},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char sock[128], spec[256];
        uint32_t req[2] = {(uint32_t)t[i].q, 0}, rep[2];
        struct fe f;
        pid_t pid;

        snprintf(sock, sizeof(sock), "%s/drain-ev%zu.sock", top_dir, i);
        snprintf(spec, sizeof(spec), t[i].spec, top_dir);
        pid = sp_start(sock, spec);
        fe_open_feat(&f, sock, t[i].nrings, MEM_SIZE, t[i].feat);
        for (unsigned k = 0; k < 4; k++) {
            struct drv_buf in = {BUF + 0x100u * k, 0x100};
            add(&f, t[i].q, NULL, 0, &in, 1, k);
        }
        kick(&f, t[i].q);
        usleep(100 * 1000);
        fe_send(&f.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
        ck_assert_uint_eq(fe_recv(&f.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8),
                          8);
        ck_assert_msg(rep[1] == 0 && used_idx(&f, t[i].q) == 0,
                      "%s: base %u, used %u", t[i].spec, rep[1],
                      used_idx(&f, t[i].q));
        fe_close(&f);
        stop_pid(pid);
    }
}
END_TEST

void td_add_drain(Suite *s)
{
    TD_ADD(s, event_buffers_stay_in_the_ring_over_get_vring_base);
    TD_ADD(s, balloon_get_vring_base_gives_the_stats_buffer_back);
    TD_ADD(s, sound_get_vring_base_finishes_held_periods);
    TD_ADD(s, sound_get_vring_base_finishes_held_capture);
    TD_ADD(s, sound_set_mem_table_finishes_held_periods);
    TD_ADD(s, sound_sigterm_finishes_held_periods);
}
