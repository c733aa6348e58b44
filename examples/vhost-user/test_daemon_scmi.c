/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: scmi: the platform module's demo SoC, and the
 * ring size QEMU's virtio-mmio front-end asks for. */
#include "test_daemon.h"
#include "vdm/devices/scmi.h"

/* ------------------------------------------------------------------------ */
/* SCMI: the platform module's demo SoC (dev_scmi.c)                         */

#define SC_HDR(proto, msg, tok)                                                \
    ((uint32_t)(msg) | ((uint32_t)(proto) << 10) | ((uint32_t)(tok) << 18))

static uint32_t sc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void sc_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* One command: header and @p np le32 parameters out, 128 bytes in (what
 * Linux posts). @return the used length; the answer in @p resp. */
static uint32_t sc_cmd(struct fe *f, uint32_t hdr, const uint32_t *p,
                       unsigned np, uint8_t *resp)
{
    uint8_t *out = (uint8_t *)f->mem + BUF, *in = out + 0x100;
    struct drv_buf o = {BUF, 4 + 4 * np}, i = {BUF + 0x100, 128};
    uint32_t len;

    sc_put32(out, hdr);
    for (unsigned k = 0; k < np; k++)
        sc_put32(out + 4 + 4 * k, p[k]);
    memset(in, 0xee, 128);
    add(f, 0, &o, 1, &i, 1, 1);
    kick(f, 0);
    len = wait_used(f, 0);
    memcpy(resp, in, 128);
    return len;
}

static void sc_sensors(const char *file, long a, long b, long c)
{
    char txt[128];
    char tmp[160];
    int n = snprintf(txt, sizeof(txt), "# soc board vcore\n%ld %ld\n%ld\n", a,
                     b, c);
    /* replace atomically: the daemon may read at any time */
    snprintf(tmp, sizeof(tmp), "%s.new", file);
    write_file(tmp, txt, (size_t)n);
    ck_assert_int_eq(rename(tmp, file), 0);
}

START_TEST(serves_scmi_platform)
{
    char dir[96], sock[128], file[128], spec[256];
    uint8_t r[128];
    struct fe f;
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/scmi.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/scmi.sock", dir);
    snprintf(file, sizeof(file), "%s/sensors", dir);
    snprintf(spec, sizeof(spec), "scmi,sensors=%s,poll-ms=20", file);
    sc_sensors(file, 51234, 40000, 875);

    pid = sp_start(sock, spec);
    fe_open_feat(&f, sock, 2, MEM_SIZE, VDM_SCMI_F_P2A_CHANNELS);

    /* Base PROTOCOL_VERSION: {header, SUCCESS, 0x00020000} */
    ck_assert_uint_eq(sc_cmd(&f, SC_HDR(0x10, 0, 1), NULL, 0, r), 12);
    ck_assert_uint_eq(sc_le32(r), SC_HDR(0x10, 0, 1));
    ck_assert_uint_eq(sc_le32(r + 4), 0);
    ck_assert_uint_eq(sc_le32(r + 8), 0x20000);
    ck_assert_uint_eq(r[12], 0xee);

    /* CLOCK_RATE_GET of clock 0 ("cpu", starts at 800 MHz) */
    {
        uint32_t p[1] = {0};
        ck_assert_uint_eq(sc_cmd(&f, SC_HDR(0x14, 6, 2), p, 1, r), 16);
        ck_assert_uint_eq(sc_le32(r), SC_HDR(0x14, 6, 2));
        ck_assert_uint_eq(sc_le32(r + 4), 0);
        ck_assert_uint_eq(sc_le32(r + 8), 800000000u);
        ck_assert_uint_eq(sc_le32(r + 12), 0);
    }
    /* CLOCK_RATE_GET of a clock that does not exist: NOT_FOUND, 8 bytes */
    {
        uint32_t p[1] = {7};
        ck_assert_uint_eq(sc_cmd(&f, SC_HDR(0x14, 6, 3), p, 1, r), 8);
        ck_assert_uint_eq(sc_le32(r + 4), (uint32_t)-4);
    }
    /* SENSOR_READING_GET of sensor 0: the file's value, re-read each time */
    {
        uint32_t p[2] = {0, 0};
        ck_assert_uint_ge(sc_cmd(&f, SC_HDR(0x15, 6, 4), p, 2, r), 16);
        ck_assert_uint_eq(sc_le32(r + 4), 0);
        ck_assert_uint_eq(sc_le32(r + 8), 51234);
        ck_assert_uint_eq(sc_le32(r + 12), 0);
        sc_sensors(file, -1500, 40000, 875);
        ck_assert_uint_ge(sc_cmd(&f, SC_HDR(0x15, 6, 5), p, 2, r), 16);
        ck_assert_uint_eq(sc_le32(r + 8), (uint32_t)-1500);
        ck_assert_uint_eq(sc_le32(r + 12), 0xffffffffu);
        p[0] = 2; /* vcore */
        ck_assert_uint_ge(sc_cmd(&f, SC_HDR(0x15, 6, 6), p, 2, r), 16);
        ck_assert_uint_eq(sc_le32(r + 8), 875);
    }
    /* SENSOR_CONTINUOUS_UPDATE_NOTIFY on sensor 1, then a new value in the
     * file: a SENSOR_UPDATE notification in the posted eventq buffer */
    {
        uint32_t p[2] = {1, 1};
        uint8_t *ev = (uint8_t *)f.mem + BUF + 0x400;
        struct drv_buf e = {BUF + 0x400, 128};
        ck_assert_uint_eq(sc_cmd(&f, SC_HDR(0x15, 11, 7), p, 2, r), 8);
        ck_assert_uint_eq(sc_le32(r + 4), 0);
        memset(ev, 0xee, 128);
        add(&f, 1, NULL, 0, &e, 1, 2);
        kick(&f, 1);
        sc_sensors(file, -1500, 41500, 875);
        ck_assert_uint_eq(wait_used(&f, 1), 28);
        ck_assert_uint_eq(sc_le32(ev), SC_HDR(0x15, 1, 0) | (3u << 8));
        ck_assert_uint_eq(sc_le32(ev + 8), 1); /* sensor id */
        ck_assert_uint_eq(sc_le32(ev + 12), 41500);
        ck_assert_uint_eq(sc_le32(ev + 16), 0);
    }
    fe_close(&f);
    stop_pid(pid);
}
END_TEST

/* Regression (a daemon queue maximum below the front-end's ring size):
 * QEMU's virtio-mmio front-end (-device vhost-user-scmi on -M virt) asks
 * for rings of 1024 entries, its QueueNumMax; both SCMI rings take it. */
START_TEST(scmi_takes_virtio_mmio_ring_size)
{
    char dir[96], sock[128];
    struct vu_front v;
    uint64_t feat, proto;
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/scmiq.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/scmi.sock", dir);
    pid = sp_start(sock, "scmi");
    fe_connect(&v, sock);
    feat = fe_u64(&v, VDM_VHOST_USER_GET_FEATURES);
    ck_assert(feat & VDM_VHOST_USER_F_PROTOCOL_FEATURES);
    proto = fe_u64(&v, VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    proto &= 1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK;
    ck_assert_uint_ne(proto, 0);
    fe_send(&v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
    fe_send(&v, VDM_VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    feat = DRV_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES |
           VDM_SCMI_F_P2A_CHANNELS;
    ck_assert_uint_eq(
        fe_acked(&v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
    fe_state(&v, VDM_VHOST_USER_SET_VRING_NUM, 0, 1024);
    fe_state(&v, VDM_VHOST_USER_SET_VRING_NUM, 1, 1024);
    vu_front_close(&v);
    stop_pid(pid);
}
END_TEST

void td_add_scmi(Suite *s)
{
    TD_ADD(s, serves_scmi_platform);
    TD_ADD(s, scmi_takes_virtio_mmio_ring_size);
}
