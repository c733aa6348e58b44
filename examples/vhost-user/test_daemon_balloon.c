/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: balloon: holes punched in the guest memory file,
 * stats, free page reporting. */
#include "test_daemon.h"
#include "vdm/devices/balloon.h"

/* balloon: inflated pages become holes in the guest memory file (the
 * front-end's memfd reads zeros there and its allocated blocks drop),
 * deflate is acknowledged, the stats buffer is kept until SIGUSR1 (which
 * also re-reads the target file) and its stats reach stats-file, and free
 * page reports punch holes too. */
static blkcnt_t mem_blocks(const struct fe *f)
{
    struct stat st;
    ck_assert_int_eq(fstat(f->memfd, &st), 0);
    return st.st_blocks;
}

static uint32_t balloon_cfg32(struct fe *f, uint32_t off)
{
    uint8_t c[12 + 4];
    uint32_t hdr[3] = {off, 4, 0}, v;
    memcpy(c, hdr, 12);
    memset(c + 12, 0, 4);
    fe_send(&f->v, VDM_VHOST_USER_GET_CONFIG, 0, c, sizeof(c), NULL, 0);
    ck_assert_uint_eq(fe_recv(&f->v, VDM_VHOST_USER_GET_CONFIG, c, sizeof(c)),
                      sizeof(c));
    memcpy(&v, c + 12, 4);
    return v;
}

#define BAL_PAGES 32u
#define BAL_AT    0x80000u
#define BAL_REP   0xc0000u

START_TEST(balloon_punches_holes_and_reports_stats)
{
    char sock[128], line[256], tfile[128], sfile[128], dev[512];
    const char *argv[] = {daemon_path, "--socket", sock, "--device", dev, NULL};
    struct fe f;
    pid_t pid;
    uint32_t pfn[BAL_PAGES];
    blkcnt_t b0, b1;
    FILE *tf;

    snprintf(sock, sizeof(sock), "%s/balloon.sock", top_dir);
    snprintf(tfile, sizeof(tfile), "%s/balloon.target", top_dir);
    snprintf(sfile, sizeof(sfile), "%s/balloon.stats", top_dir);
    snprintf(dev, sizeof(dev),
             "balloon,target-mib=1,target-file=%s,stats-file=%s,stats-ms=0",
             tfile, sfile);
    pid = spawn_daemon(daemon_path, argv, line, sizeof(line));
    /* STATS_VQ (1) and REPORTING (5): inflate 0, deflate 1, stats 2,
     * reporting 3. */
    fe_open_feat(&f, sock, 4, MEM_SIZE,
                 VDM_BALLOON_F_STATS_VQ | VDM_BALLOON_F_REPORTING);
    ck_assert_uint_eq(balloon_cfg32(&f, VDM_BALLOON_CFG_NUM_PAGES), 256);

    /* The first stats buffer ("Device Initialization"): kept. */
    uint8_t *st = f.mem + BUF + 0x800;
    vdm_put_le16(st, VDM_BALLOON_S_MEMTOT);
    vdm_put_le64(st + 2, 123456789);
    vdm_put_le16(st + 10, VDM_BALLOON_S_MEMFREE);
    vdm_put_le64(st + 12, 4242);
    struct drv_buf sb = {BUF + 0x800, 20};
    add(&f, 2, &sb, 1, NULL, 0, 0x57);

    /* Inflate 32 pages full of a pattern. */
    memset(f.mem + BAL_AT, 0x5a, BAL_PAGES * 4096u);
    b0 = mem_blocks(&f);
    for (uint32_t i = 0; i < BAL_PAGES; i++)
        vdm_put_le32(f.mem + BUF + 4 * i, BAL_AT / 4096u + i);
    memcpy(pfn, f.mem + BUF, sizeof(pfn));
    struct drv_buf ib = {BUF, sizeof(pfn)};
    add(&f, 0, &ib, 1, NULL, 0, 1);
    kick(&f, 0);
    ck_assert_uint_eq(wait_used(&f, 0), 0);
    b1 = mem_blocks(&f); /* before reading: a read fault allocates */
    for (uint32_t i = 0; i < BAL_PAGES * 4096u; i++)
        ck_assert_uint_eq(f.mem[BAL_AT + i], 0);
    ck_assert_msg(b1 <= b0 - (blkcnt_t)(BAL_PAGES * 8u), "blocks %lld -> %lld",
                  (long long)b0, (long long)b1);

    /* Deflate: acknowledged; the pages are usable again. */
    struct drv_buf db = {BUF, sizeof(pfn)};
    add(&f, 1, &db, 1, NULL, 0, 2);
    kick(&f, 1);
    ck_assert_uint_eq(wait_used(&f, 1), 0);
    memset(f.mem + BAL_AT, 0x33, 4096);
    ck_assert_uint_eq(f.mem[BAL_AT + 4095], 0x33);

    /* Stats: the kept buffer comes back on SIGUSR1, after the target file
     * was read. */
    kick(&f, 2);
    tf = fopen(tfile, "w");
    ck_assert_ptr_nonnull(tf);
    fprintf(tf, "2\n");
    fclose(tf);
    for (int i = 0; i < 200 && access(sfile, F_OK) != 0; i++)
        usleep(10000);
    ck_assert_int_eq(kill(pid, SIGUSR1), 0);
    ck_assert_uint_eq(wait_used(&f, 2), 0);
    ck_assert_uint_eq(balloon_cfg32(&f, VDM_BALLOON_CFG_NUM_PAGES), 512);
    {
        char l[128];
        int total = 0, fr = 0;
        FILE *sf = fopen(sfile, "r");
        ck_assert_ptr_nonnull(sf);
        while (fgets(l, sizeof(l), sf) != NULL) {
            total |= strcmp(l, "total 123456789\n") == 0;
            fr |= strcmp(l, "free 4242\n") == 0;
        }
        fclose(sf);
        ck_assert(total && fr);
    }

    /* Free page reporting: two ranges, both become holes. */
    memset(f.mem + BAL_REP, 0xa7, 16 * 4096);
    b0 = mem_blocks(&f);
    struct drv_buf rb[2] = {{BAL_REP, 8 * 4096},
                            {BAL_REP + 8 * 4096, 8 * 4096}};
    add(&f, 3, NULL, 0, rb, 2, 3);
    kick(&f, 3);
    ck_assert_uint_eq(wait_used(&f, 3), 0);
    b1 = mem_blocks(&f);
    for (uint32_t i = 0; i < 16 * 4096; i++)
        ck_assert_uint_eq(f.mem[BAL_REP + i], 0);
    ck_assert_msg(b1 <= b0 - 16 * 8, "blocks %lld -> %lld", (long long)b0,
                  (long long)b1);

    /* PFNs outside guest memory: skipped, still acknowledged. */
    vdm_put_le32(f.mem + BUF, 0x7fffffffu);
    vdm_put_le32(f.mem + BUF + 4, MEM_SIZE / 4096u);
    struct drv_buf bad = {BUF, 7};
    add(&f, 0, &bad, 1, NULL, 0, 4);
    kick(&f, 0);
    ck_assert_uint_eq(wait_used(&f, 0), 0);
    fe_close(&f);
    stop_pid(pid);
}
END_TEST

void td_add_balloon(Suite *s)
{
    TD_ADD(s, balloon_punches_holes_and_reports_stats);
}
