/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: rpmb: program key, authenticated write and read,
 * tampering, and a restart keeping key and counter. */
#include "test_daemon.h"
#include "sha256.h"

/* ---- rpmb: a daemon of its own on a partition file, restarted to show
 * that the key and the write counter persist. Frames are 512 bytes,
 * big-endian fields; the MAC is HMAC-SHA256 over bytes 228..511 of each
 * frame (signed here with the library's own src/sha256.c). */

#define RP_FB 512u

static const uint8_t rp_key[32] = "daemon-rpmb-key-0123456789abcde";

static pid_t rp_start(const char *sock, const char *file)
{
    char spec[256], line[512];
    int out[2], seen = 0;
    pid_t pid;
    FILE *f;

    snprintf(spec, sizeof(spec), "rpmb,file=%s,capacity=2,max_wr=2", file);
    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *argv[] = {daemon_path, "-v", "--socket", sock,
                              "--device",  spec, NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(daemon_path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (!seen && fgets(line, sizeof(line), f) != NULL)
        seen = strncmp(line, "vdm-vhost-user: listening on ", 29) == 0;
    ck_assert(seen);
    fclose(f);
    return pid;
}

static void rp_frame(uint8_t *f, uint16_t type, uint16_t addr, uint16_t cnt,
                     uint32_t ctr)
{
    memset(f, 0, RP_FB);
    f[500] = (uint8_t)(ctr >> 24);
    f[501] = (uint8_t)(ctr >> 16);
    f[502] = (uint8_t)(ctr >> 8);
    f[503] = (uint8_t)ctr;
    f[504] = (uint8_t)(addr >> 8);
    f[505] = (uint8_t)addr;
    f[506] = (uint8_t)(cnt >> 8);
    f[507] = (uint8_t)cnt;
    f[510] = (uint8_t)(type >> 8);
    f[511] = (uint8_t)type;
}

static uint16_t rp16(const uint8_t *f, unsigned off)
{
    return (uint16_t)(f[off] << 8 | f[off + 1]);
}

static uint32_t rp32(const uint8_t *f, unsigned off)
{
    return (uint32_t)f[off] << 24 | (uint32_t)f[off + 1] << 16 |
           (uint32_t)f[off + 2] << 8 | f[off + 3];
}

static void rp_mac(const uint8_t *frames, unsigned n, uint8_t out[32])
{
    struct vdm_hmac_sha256 h;
    vdm_hmac_sha256_init(&h, rp_key, 32);
    for (unsigned i = 0; i < n; i++)
        vdm_hmac_sha256_update(&h, frames + i * RP_FB + 228, RP_FB - 228);
    vdm_hmac_sha256_final(&h, out);
}

/* @p nout frames out, @p nin in (each its own descriptor); the response
 * frames are copied into @p in. Returns the used length. */
static uint32_t rp_xfer(struct fe *f, const uint8_t *out, unsigned nout,
                        uint8_t *in, unsigned nin)
{
    struct drv_buf o[4], w[4];
    uint32_t len;
    for (unsigned i = 0; i < nout; i++) {
        memcpy(f->mem + BUF + i * RP_FB, out + i * RP_FB, RP_FB);
        o[i] = (struct drv_buf){BUF + i * RP_FB, RP_FB};
    }
    for (unsigned i = 0; i < nin; i++) {
        uint64_t at = BUF + (4 + i) * RP_FB;
        memset(f->mem + at, 0xee, RP_FB);
        w[i] = (struct drv_buf){at, RP_FB};
    }
    add(f, 0, o, nout, w, nin, 1);
    kick(f, 0);
    len = wait_used(f, 0);
    memcpy(in, f->mem + BUF + 4 * RP_FB, nin * RP_FB);
    return len;
}

/* A signed one-block write of @p seed at @p addr with counter @p ctr (and a
 * result read): the result, the response counter in *@p rctr. */
static uint16_t rp_write(struct fe *f, uint16_t addr, uint32_t ctr,
                         uint8_t seed, int tamper, uint32_t *rctr)
{
    uint8_t rq[2 * RP_FB], rs[RP_FB], mac[32];
    rp_frame(rq, 3, addr, 1, ctr);
    for (unsigned j = 0; j < 256; j++)
        rq[228 + j] = (uint8_t)(seed + j);
    rp_mac(rq, 1, rq + 196);
    if (tamper == 1)
        rq[300] ^= 1; /* data changed after signing */
    if (tamper == 2)
        rq[505] ^= 1; /* address changed after signing */
    rp_frame(rq + RP_FB, 5, 0, 1, 0);
    ck_assert_uint_eq(rp_xfer(f, rq, 2, rs, 1), RP_FB);
    ck_assert_uint_eq(rp16(rs, 510), 0x0300);
    rp_mac(rs, 1, mac);
    ck_assert_mem_eq(rs + 196, mac, 32);
    *rctr = rp32(rs, 500);
    return rp16(rs, 508);
}

static uint32_t rp_counter(struct fe *f)
{
    uint8_t rq[RP_FB], rs[RP_FB], mac[32];
    rp_frame(rq, 2, 0, 1, 0);
    memset(rq + 484, 0x77, 16);
    ck_assert_uint_eq(rp_xfer(f, rq, 1, rs, 1), RP_FB);
    ck_assert_uint_eq(rp16(rs, 510), 0x0200);
    ck_assert_uint_eq(rp16(rs, 508), 0);
    ck_assert_mem_eq(rs + 484, rq + 484, 16);
    rp_mac(rs, 1, mac);
    ck_assert_mem_eq(rs + 196, mac, 32); /* the persisted key signs it */
    return rp32(rs, 500);
}

static uint16_t rp_program(struct fe *f, const uint8_t *key)
{
    uint8_t rq[2 * RP_FB], rs[RP_FB];
    rp_frame(rq, 1, 0, 1, 0);
    memcpy(rq + 196, key, 32);
    rp_frame(rq + RP_FB, 5, 0, 1, 0);
    ck_assert_uint_eq(rp_xfer(f, rq, 2, rs, 1), RP_FB);
    ck_assert_uint_eq(rp16(rs, 510), 0x0100);
    return rp16(rs, 508);
}

/* Read block @p addr: check the MAC and return the first data byte. */
static uint8_t rp_read(struct fe *f, uint16_t addr)
{
    uint8_t rq[RP_FB], rs[2 * RP_FB], mac[32];
    rp_frame(rq, 4, addr, 2, 0);
    memset(rq + 484, 0x31, 16);
    ck_assert_uint_eq(rp_xfer(f, rq, 1, rs, 2), 2 * RP_FB);
    ck_assert_uint_eq(rp16(rs + RP_FB, 510), 0x0400);
    ck_assert_uint_eq(rp16(rs + RP_FB, 508), 0);
    rp_mac(rs, 2, mac);
    ck_assert_mem_eq(rs + RP_FB + 196, mac, 32);
    return rs[228];
}

START_TEST(serves_rpmb_and_persists_key_and_counter)
{
    char dir[96], sock[128], file[128];
    uint8_t other[32], blk[256];
    uint32_t ctr;
    struct fe f;
    pid_t pid;
    int fd;

    snprintf(dir, sizeof(dir), "%s/rpmb.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/rpmb.sock", dir);
    snprintf(file, sizeof(file), "%s/rpmb.img", dir);
    memset(other, 0x42, sizeof(other));

    pid = rp_start(sock, file);
    fe_open(&f, sock, 1, MEM_SIZE);
    {
        uint8_t cfg[3];
        ck_assert_int_eq(
            vu_front_config(&f.v, VDM_VHOST_USER_GET_CONFIG, 0, 0, 3, NULL, 3),
            0);
        ck_assert_int_eq(vu_front_recv(&f.v, VDM_VHOST_USER_GET_CONFIG),
                         12 + 3);
        memcpy(cfg, f.v.reply + VDM_VHOST_USER_HDR_BYTES + 12, 3);
        ck_assert_uint_eq(cfg[0], 2);  /* capacity: 2 x 128 KiB */
        ck_assert_uint_eq(cfg[1], 2);  /* max_wr_cnt */
        ck_assert_uint_eq(cfg[2], 16); /* max_rd_cnt */
    }
    ck_assert_uint_eq(rp_program(&f, rp_key), 0);
    ck_assert_uint_eq(rp_counter(&f), 0);
    ck_assert_uint_eq(rp_write(&f, 3, 0, 0x10, 0, &ctr), 0);
    ck_assert_uint_eq(ctr, 1);
    ck_assert_uint_eq(rp_read(&f, 3), 0x10);
    /* tampering */
    ck_assert_uint_eq(rp_write(&f, 3, 1, 0x20, 1, &ctr), 2); /* bad MAC */
    ck_assert_uint_eq(rp_write(&f, 3, 1, 0x20, 2, &ctr), 2); /* address */
    ck_assert_uint_eq(rp_write(&f, 3, 0, 0x10, 0, &ctr), 3); /* replay */
    ck_assert_uint_eq(rp_program(&f, other), 1);             /* key again */
    ck_assert_uint_eq(rp_write(&f, 4, 1, 0x30, 0, &ctr), 0);
    ck_assert_uint_eq(ctr, 2);
    fe_close(&f);
    rp_stop(pid);

    /* the data sits in the file after the 256-byte header */
    fd = open(file, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, blk, 256, 256 + 3 * 256), 256);
    for (unsigned j = 0; j < 256; j++)
        ck_assert_uint_eq(blk[j], (uint8_t)(0x10 + j));
    close(fd);

    /* restart: the same key signs, the counter goes on from 2 */
    pid = rp_start(sock, file);
    fe_open(&f, sock, 1, MEM_SIZE);
    ck_assert_uint_eq(rp_counter(&f), 2);
    ck_assert_uint_eq(rp_program(&f, other), 1);
    ck_assert_uint_eq(rp_write(&f, 4, 1, 0x30, 0, &ctr), 3); /* replay */
    ck_assert_uint_eq(rp_write(&f, 5, 2, 0x40, 0, &ctr), 0);
    ck_assert_uint_eq(ctr, 3);
    ck_assert_uint_eq(rp_read(&f, 3), 0x10);
    ck_assert_uint_eq(rp_read(&f, 4), 0x30);
    fe_close(&f);
    rp_stop(pid);
}
END_TEST

void td_add_rpmb(Suite *s)
{
    TD_ADD(s, serves_rpmb_and_persists_key_and_counter);
}
