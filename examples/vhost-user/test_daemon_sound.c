/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: sound through ALSA file PCMs, no sound hardware
 * (when built with ALSA). */
#include "test_daemon.h"
#include "vdm/devices/sound.h"

#ifdef VDM_HAVE_ALSA
/* ------------------------------------------------------------------------ */
/* Sound through ALSA without sound hardware: ~/.asoundrc (HOME is the
 * daemon's directory) defines two `type file` PCMs over the `null` PCM. The
 * playback one writes what the daemon plays to a raw file, the capture one
 * reads what the daemon records from a raw file (infile). Both must equal,
 * byte for byte, the samples the front-end sent or received. */

#define SND_NUM    64
#define SND_PERIOD 4096u /* bytes: 1024 S16 stereo frames, 21.3 ms */
#define SND_PLAYS  24u   /* periods played (512 ms of audio) */
#define SND_RECS   8u    /* periods recorded */
#define SND_SLOTS  8u    /* transfers in flight */
#define SND_CTL    0x10000u
#define SND_RESP   0x10800u
#define SND_HDR    0x11000u /* 16 bytes per slot */
#define SND_STATUS 0x12000u /* 16 bytes per slot */
#define SND_DATA   0x20000u /* SND_PERIOD per slot */

static uint8_t snd_play_byte(size_t k)
{
    return (uint8_t)((k * 131u) ^ (k >> 12));
}

static uint8_t snd_rec_byte(size_t k)
{
    return (uint8_t)((k * 29u + 5u) ^ (k >> 11));
}

/* One control request of @p len bytes at SND_CTL; returns the status. */
static uint32_t snd_ctl(struct fe *f, uint32_t len)
{
    struct drv_buf out = {SND_CTL, len}, in = {SND_RESP, 4};
    uint32_t code;
    memset(f->mem + SND_RESP, 0xff, 4);
    add(f, 0, &out, 1, &in, 1, 0);
    kick(f, 0);
    ck_assert_uint_eq(wait_used(f, 0), 4);
    memcpy(&code, f->mem + SND_RESP, 4);
    return code;
}

static uint32_t snd_pcm(struct fe *f, uint32_t code, uint32_t sid)
{
    uint32_t h[2] = {code, sid};
    memcpy(f->mem + SND_CTL, h, 8);
    return snd_ctl(f, 8);
}

static void snd_set_params(struct fe *f, uint32_t sid)
{
    uint8_t p[24];
    uint32_t w[5] = {VDM_SND_R_PCM_SET_PARAMS, sid, 4 * SND_PERIOD, SND_PERIOD,
                     0};
    memcpy(p, w, 20);
    p[20] = 2; /* channels */
    p[21] = VDM_SND_PCM_FMT_S16;
    p[22] = VDM_SND_PCM_RATE_48000;
    p[23] = 0;
    memcpy(f->mem + SND_CTL, p, 24);
    ck_assert_uint_eq(snd_ctl(f, 24), VDM_SND_S_OK);
}

/* Queue period @p k of stream @p sid in slot k % SND_SLOTS. */
static void snd_xfer(struct fe *f, uint32_t sid, uint32_t k)
{
    uint32_t slot = k % SND_SLOTS;
    uint64_t hdr = SND_HDR + 16u * slot, data = SND_DATA + SND_PERIOD * slot;
    uint64_t st = SND_STATUS + 16u * slot;
    memcpy(f->mem + hdr, &sid, 4);
    memset(f->mem + st, 0xff, 8);
    if (sid == 0) {
        struct drv_buf out[2] = {{hdr, 4}, {data, SND_PERIOD}}, in = {st, 8};
        for (uint32_t i = 0; i < SND_PERIOD; i++)
            f->mem[data + i] = snd_play_byte((size_t)k * SND_PERIOD + i);
        add(f, 2, out, 2, &in, 1, k);
    } else {
        struct drv_buf out = {hdr, 4}, in[2] = {{data, SND_PERIOD}, {st, 8}};
        memset(f->mem + data, 0xee, SND_PERIOD);
        add(f, 3, &out, 1, in, 2, k);
    }
}

/* Transfer @p n periods on stream @p sid (queue 2 + sid), SND_SLOTS in
 * flight; each completes with status OK, capture periods are checked. */
static void snd_stream(struct fe *f, uint32_t sid, uint32_t n)
{
    int q = 2 + (int)sid;
    uint32_t queued = 0;
    for (; queued < n && queued < SND_SLOTS; queued++)
        snd_xfer(f, sid, queued);
    kick(f, q);
    for (uint32_t done = 0; done < n; done++) {
        uintptr_t k;
        uint32_t len = wait_used_n(f, q, 1, &k), st;
        uint64_t slot = k % SND_SLOTS;
        ck_assert_uint_eq(k, done); /* in order */
        ck_assert_uint_eq(len, sid == 0 ? 8 : 8 + SND_PERIOD);
        memcpy(&st, f->mem + SND_STATUS + 16u * slot, 4);
        ck_assert_uint_eq(st, VDM_SND_S_OK);
        if (sid == 1)
            for (uint32_t i = 0; i < SND_PERIOD; i++)
                ck_assert_uint_eq(f->mem[SND_DATA + SND_PERIOD * slot + i],
                                  snd_rec_byte((size_t)k * SND_PERIOD + i));
        if (queued < n) {
            snd_xfer(f, sid, queued++);
            kick(f, q);
        }
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

START_TEST(sound_plays_and_records_through_alsa_files)
{
    static uint8_t buf[SND_PLAYS * SND_PERIOD];
    char dir[96], sock[128], rc[128], play[128], rec[128], log[128];
    char conf[1024], line[512];
    struct fe f;
    pid_t pid;
    int st, found = 0, out[2];
    uint64_t t0, ms;
    FILE *lf;

    snprintf(dir, sizeof(dir), "%s/snd.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/snd.sock", dir);
    snprintf(rc, sizeof(rc), "%s/.asoundrc", dir);
    snprintf(play, sizeof(play), "%s/play.raw", dir);
    snprintf(rec, sizeof(rec), "%s/rec.raw", dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    snprintf(conf, sizeof(conf),
             "pcm.vdmplay { type file slave.pcm \"null\" file \"%s\" "
             "format \"raw\" truncate true }\n"
             "pcm.vdmrec { type file slave.pcm \"null\" file \"%s/copy.raw\" "
             "infile \"%s\" format \"raw\" }\n",
             play, dir, rec);
    write_file(rc, conf, strlen(conf));
    for (size_t i = 0; i < SND_RECS * SND_PERIOD; i++)
        buf[i] = snd_rec_byte(i);
    write_file(rec, buf, SND_RECS * SND_PERIOD);

    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *argv[] = {daemon_path,
                              "-v",
                              "--socket",
                              sock,
                              "--device",
                              "sound,playback=alsa:vdmplay,capture=alsa:"
                              "vdmrec,pace=realtime",
                              NULL};
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 2);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        setenv("HOME", dir, 1); /* ~/.asoundrc */
        setenv("XDG_CONFIG_HOME", dir, 1);
        unsetenv("ALSA_CONFIG_PATH");
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    lf = fdopen(out[0], "r"); /* listening once it says so */
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), lf));
    ck_assert_int_eq(strncmp(line, "vdm-vhost-user: listening on ", 29), 0);
    fclose(lf);
    fe_open_n(&f, sock, 4, MEM_SIZE, SND_NUM);

    /* Playback: 24 periods at the real-time pace. */
    snd_set_params(&f, 0);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_PREPARE, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_START, 0), VDM_SND_S_OK);
    t0 = mono_ms();
    snd_stream(&f, 0, SND_PLAYS);
    ms = mono_ms() - t0;
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_STOP, 0), VDM_SND_S_OK);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_RELEASE, 0), VDM_SND_S_OK);
    /* 512 ms of audio: not faster than real time, not much slower. */
    ck_assert_uint_ge(ms, 500);
    ck_assert_uint_le(ms, 5000);

    /* Capture: 8 periods from the file. */
    snd_set_params(&f, 1);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_PREPARE, 1), VDM_SND_S_OK);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_START, 1), VDM_SND_S_OK);
    snd_stream(&f, 1, SND_RECS);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_STOP, 1), VDM_SND_S_OK);
    ck_assert_uint_eq(snd_pcm(&f, VDM_SND_R_PCM_RELEASE, 1), VDM_SND_S_OK);
    fe_close(&f);

    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* What ALSA wrote is what the front-end played, byte for byte. */
    {
        int fd = open(play, O_RDONLY);
        ssize_t n;
        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, sizeof(buf));
        ck_assert_int_eq(n, (ssize_t)sizeof(buf));
        ck_assert_int_eq(read(fd, line, 1), 0);
        close(fd);
        for (size_t i = 0; i < sizeof(buf); i++)
            ck_assert_uint_eq(buf[i], snd_play_byte(i));
    }
    lf = fopen(log, "r");
    ck_assert_ptr_nonnull(lf);
    while (fgets(line, sizeof(line), lf) != NULL)
        if (strstr(line, "pacing stream") != NULL) {
            printf("daemon/vhost_user: alsa: %s", line);
            found++;
        }
    fclose(lf);
    ck_assert_int_eq(found, 2);
}
END_TEST
#endif

void td_add_sound(Suite *s)
{
#ifdef VDM_HAVE_ALSA
    TD_ADD(s, sound_plays_and_records_through_alsa_files);
#else
    (void)s;
#endif
}
