/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: a hostile front-end: garbage, truncated and
 * oversized messages, too many fds, memory beyond its file, a memory file that
 * shrinks under the daemon. The daemon must survive, not leak, and serve the
 * next one. */
#include "test_daemon.h"

/* Connect, send @p len bytes (with @p nfds copies of an fd), close. */
static void garbage(const char *path, const void *buf, size_t len, int nfds)
{
    struct vu_front v;
    int s;
    int32_t fds[64];
    int ev = eventfd(0, EFD_CLOEXEC);
    fe_connect(&v, path);
    s = v.sock;
    for (int i = 0; i < nfds; i++)
        fds[i] = ev;
    vu_front_sendfds(s, buf, (uint32_t)len, fds, (uint32_t)nfds);
    shutdown(s, SHUT_WR); /* the daemon sees the end of the stream */
    /* Wait until the daemon hangs up. */
    {
        char c[64];
        while (recv(s, c, sizeof(c), 0) > 0)
            ;
    }
    close(s);
    close(ev);
}

START_TEST(survives_garbage_and_serves_next)
{
    struct daemon dm;
    struct fe f;
    uint8_t buf[4096];
    uint32_t h[3];
    int base_fds;

    start_daemon(&dm);
    base_fds = count_fds(&dm);

    /* Random bytes. */
    srand(1234);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    garbage(dm.rng_sock, buf, sizeof(buf), 0);
    ck_assert(alive(&dm));
    /* A truncated header. */
    garbage(dm.rng_sock, buf, 6, 0);
    /* A header announcing a 256 MiB payload. */
    h[0] = VDM_VHOST_USER_GET_FEATURES;
    h[1] = 1;
    h[2] = 0x10000000;
    garbage(dm.rng_sock, h, 12, 0);
    /* Version 2. */
    h[1] = 2;
    h[2] = 0;
    garbage(dm.rng_sock, h, 12, 0);
    /* Header fine, payload cut short. */
    h[0] = VDM_VHOST_USER_SET_FEATURES;
    h[1] = 1;
    h[2] = 8;
    garbage(dm.rng_sock, h, 12 + 0, 0);
    /* Far too many fds on one message. */
    h[0] = VDM_VHOST_USER_SET_VRING_KICK;
    h[2] = 0;
    garbage(dm.rng_sock, h, 12, 40);
    /* Nine fds on a message that takes one. */
    {
        uint8_t m[20];
        uint64_t v = 0;
        memcpy(m, h, 12);
        memcpy(m + 8, &(uint32_t){8}, 4);
        memcpy(m + 12, &v, 8);
        garbage(dm.rng_sock, m, 20, 9);
    }
    ck_assert(alive(&dm));
    wait_fds(&dm, base_fds);

    /* Memory claimed beyond its file: refused, the connection goes on. */
    {
        struct vu_front s;
        int32_t mfd = memfd_create("small", MFD_CLOEXEC);
        uint8_t mt[8 + 32];
        uint64_t r[4] = {0, MEM_SIZE, 0x7f0000000000ull, 0};
        uint32_t one = 1, zero = 0;
        uint64_t proto = 1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK;
        fe_connect(&s, dm.rng_sock);
        ck_assert_int_eq(ftruncate(mfd, 4096), 0);
        fe_u64(&s, VDM_VHOST_USER_GET_FEATURES);
        fe_send(&s, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL,
                0);
        memcpy(mt, &one, 4);
        memcpy(mt + 4, &zero, 4);
        memcpy(mt + 8, r, 32);
        ck_assert_uint_ne(
            fe_acked(&s, VDM_VHOST_USER_SET_MEM_TABLE, mt, sizeof(mt), &mfd, 1),
            0);
        /* Ring outside any memory, then a kick-less ring start attempt. */
        {
            uint64_t a[5] = {0, 0x1000, 0x2000, 0x3000, 0};
            ck_assert_uint_ne(
                fe_acked(&s, VDM_VHOST_USER_SET_VRING_ADDR, a, 40, NULL, 0), 0);
        }
        /* Unknown request with need_reply: a failure ack. */
        ck_assert_uint_ne(fe_acked(&s, 77, NULL, 0, NULL, 0), 0);
        ck_assert(fe_u64(&s, VDM_VHOST_USER_GET_FEATURES) & (1ull << 32));
        vu_front_close(&s);
        close(mfd);
    }
    /* Connect and vanish. */
    {
        struct vu_front s;
        fe_connect(&s, dm.rng_sock);
        vu_front_close(&s);
    }
    wait_fds(&dm, base_fds);

    /* A front-end that stalls mid-message is dropped after a timeout; the
     * next one is served after it. */
    {
        struct vu_front s;
        fe_connect(&s, dm.rng_sock);
        ck_assert_int_eq(send(s.sock, h, 6, MSG_NOSIGNAL), 6);
        fe_open(&f, dm.rng_sock, 1, MEM_SIZE); /* waits in the backlog */
        rng_request(&f);
        vu_front_close(&s);
        fe_close(&f);
    }
    ck_assert(alive(&dm));
    wait_fds(&dm, base_fds);

    /* And a normal session on every socket. */
    fe_open(&f, dm.rng_sock, 1, MEM_SIZE);
    rng_request(&f);
    fe_close(&f);
    fe_open(&f, dm.blk_sock, 2, MEM_SIZE);
    {
        uint32_t ulen;
        ck_assert_uint_eq(blk_request(&f, 0, 0, 1, 0, &ulen), 0);
    }
    fe_close(&f);
    wait_fds(&dm, base_fds);
    stop_daemon(&dm);
}
END_TEST

START_TEST(survives_memory_file_shrinking)
{
    struct daemon dm;
    struct fe f;
    char c;
    int base_fds;

    start_daemon(&dm);
    base_fds = count_fds(&dm);
    fe_open(&f, dm.rng_sock, 1, MEM_SIZE);
    rng_request(&f);
    /* Queue a request, then pull the memory from under the daemon. */
    {
        struct drv_buf in = {BUF, 64};
        add(&f, 0, NULL, 0, &in, 1, 0);
    }
    munmap(f.mem, MEM_SIZE);
    f.mem = mmap(NULL, MEM_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_int_eq(ftruncate(f.memfd, 0), 0);
    kick(&f, 0);
    /* The daemon drops this front-end (SIGBUS caught), not itself. */
    ck_assert_int_eq(recv(f.v.sock, &c, 1, 0), 0);
    fe_close(&f);
    ck_assert(alive(&dm));
    wait_fds(&dm, base_fds);
    fe_open(&f, dm.rng_sock, 1, MEM_SIZE);
    rng_request(&f);
    fe_close(&f);
    stop_daemon(&dm);
}
END_TEST

/* Each device is served on its own: a front-end that stalls holds no other
 * device (vhost-user "Communication": the back-end serves each socket's
 * front-end; DESIGN.md "The guest is hostile"). The daemon drops a
 * front-end stuck mid-message, or not reading its replies, only after a
 * 5 s timeout; the other devices' front-ends are served while the
 * stalled ones are still connected (an outcome, not a timing). */
START_TEST(stalled_front_end_holds_no_other)
{
    struct daemon dm;
    struct vu_front mid, deaf;
    struct fe f;
    uint32_t h[3] = {VDM_VHOST_USER_GET_FEATURES, 1, 0}, ulen;
    uint8_t c[64];
    int base_fds, fl, sent = 0;

    start_daemon(&dm);
    base_fds = count_fds(&dm);
    /* rng: half a header, then nothing. */
    fe_connect(&mid, dm.rng_sock);
    ck_assert_int_eq(send(mid.sock, h, 6, MSG_NOSIGNAL), 6);
    /* i2c: requests whose replies it never reads, until its socket is
     * full both ways (the daemon blocks sending to it). */
    fe_connect(&deaf, dm.i2c_sock);
    fl = fcntl(deaf.sock, F_GETFL);
    ck_assert_int_eq(fcntl(deaf.sock, F_SETFL, fl | O_NONBLOCK), 0);
    for (int i = 0; i < 200000; i++) {
        ssize_t n = send(deaf.sock, h, 12, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = deaf.sock, .events = POLLOUT};
            if (poll(&p, 1, 300) == 0)
                break; /* nothing taken for 300 ms: the daemon is stuck */
            continue;
        }
        ck_assert_int_eq(n, 12);
        sent++;
    }
    ck_assert_int_gt(sent, 0);

    /* blk is served meanwhile, */
    fe_open(&f, dm.blk_sock, 2, MEM_SIZE);
    ck_assert_uint_eq(blk_request(&f, 0, 0, 1, 0, &ulen), 0);
    fe_close(&f);
    /* ... while both stalled front-ends are still connected: the daemon
     * did not have to give up on them first. */
    ck_assert_int_eq(recv(mid.sock, c, sizeof(c), MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(fcntl(deaf.sock, F_SETFL, fl), 0);
    for (int i = 0; i < sent; i++) { /* every reply, in order */
        ck_assert_int_eq(vu_front_recv(&deaf, VDM_VHOST_USER_GET_FEATURES), 8);
    }
    ck_assert(fe_u64(&deaf, VDM_VHOST_USER_GET_FEATURES) & (1ull << 32));
    /* The half header is completed: that front-end is served too. */
    ck_assert_int_eq(send(mid.sock, (uint8_t *)h + 6, 6, MSG_NOSIGNAL), 6);
    ck_assert_int_eq(vu_front_recv(&mid, VDM_VHOST_USER_GET_FEATURES), 8);
    vu_front_close(&mid);
    vu_front_close(&deaf);
    ck_assert(alive(&dm));
    wait_fds(&dm, base_fds);
    stop_daemon(&dm);
}
END_TEST

void td_add_robust(Suite *s)
{
    TD_ADD(s, stalled_front_end_holds_no_other);
    TD_ADD(s, survives_garbage_and_serves_next);
    TD_ADD(s, survives_memory_file_shrinking);
}
