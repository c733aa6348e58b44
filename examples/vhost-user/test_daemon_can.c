/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: can: two daemons on one virtual bus. */
#include "test_daemon.h"

/* ---- can: two daemons, one virtual bus ---------------------------------
 * Daemon 1 serves the bus (its device is the first to find nobody on the
 * bus socket); daemon 2's device joins it. Front-end A is on daemon 2,
 * front-end B on daemon 1. Txq requests at CAN_TX + 0x100 k (header and
 * payload, result at + 0x80), Rxq buffers at CAN_RX + 0x100 k, Controlq at
 * CAN_CTL. */

#define CAN_TX  (BUF + 0x0000u)
#define CAN_CTL (BUF + 0x7000u)
#define CAN_RX  (BUF + 0x8000u)
#define CAN_ALL 0xfull /* CLASSIC, FD, RTR, LATE_TX_ACK */

/* SIGSTOP @p pid and wait (5 s at most) until every one of its threads is
 * stopped: a signal stops a multi-threaded process thread by thread, and
 * one of them may still run for a moment after kill() returns. */
static void stop_all_threads(pid_t pid)
{
    char path[64];

    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    for (int tries = 0; tries < 500; tries++) {
        DIR *dir = opendir(path);
        struct dirent *e;
        int running = 0;

        ck_assert_ptr_nonnull(dir);
        while ((e = readdir(dir)) != NULL) {
            char st[400], buf[256], *p;
            FILE *f;
            if (e->d_name[0] == '.')
                continue;
            snprintf(st, sizeof(st), "%s/%s/stat", path, e->d_name);
            f = fopen(st, "r");
            if (f == NULL)
                continue; /* ended */
            p = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
            fclose(f);
            if (p != NULL && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
                running = 1;
        }
        closedir(dir);
        if (!running)
            return;
        usleep(10 * 1000);
    }
    ck_abort_msg("daemon %d did not stop", (int)pid);
}

static pid_t start_can_daemon(const char *sock, const char *bus)
{
    char dev[200], line[256];
    int out[2], seen = 0;
    FILE *f;
    pid_t pid;

    snprintf(dev, sizeof(dev), "can,bus=%s", bus);
    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        const char *argv[8] = {daemon_path, "--socket", sock, "--device",
                               dev,         NULL,       NULL};
        if (getenv("VU_DAEMON_VERBOSE") != NULL)
            argv[5] = "-vv";
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

struct canf {
    uint32_t id, flags;
    uint16_t len;
    uint8_t dlc;
};

static uint8_t can_byte(unsigned k, unsigned i)
{
    return (uint8_t)(k * 31 + i * 7 + 1);
}

/* Frame k as virtio_can_tx_out / virtio_can_rx (msg_type @p type). */
static unsigned can_wire(uint8_t *p, uint16_t type, const struct canf *c,
                         unsigned k)
{
    unsigned n = (c->flags & 0x2000u) ? 0 : c->len;
    memset(p, 0, 16 + 64);
    drv_put_le16(p, type);
    drv_put_le16(p + 2, c->len);
    p[4] = c->dlc;
    drv_put_le32(p + 8, c->flags);
    drv_put_le32(p + 12, c->id);
    for (unsigned i = 0; i < n; i++)
        p[16 + i] = can_byte(k, i);
    return 16 + n;
}

static uint8_t can_ctl(struct fe *f, uint16_t type)
{
    struct drv_buf o = {CAN_CTL, 2}, i = {CAN_CTL + 0x10, 1};
    drv_put_le16(f->mem + CAN_CTL, type);
    f->mem[CAN_CTL + 0x10] = 0xee;
    add(f, 2, &o, 1, &i, 1, CAN_CTL);
    kick(f, 2);
    ck_assert_uint_eq(wait_used(f, 2), 1);
    return f->mem[CAN_CTL + 0x10];
}

static void can_post_rx(struct fe *f, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        struct drv_buf i = {CAN_RX + 0x100u * k, 16 + 64};
        memset(f->mem + i.gpa, 0xee, 0x100);
        add(f, 1, NULL, 0, &i, 1, i.gpa);
    }
    kick(f, 1);
}

static void can_send(struct fe *f, const struct canf *c, unsigned k,
                     unsigned slot)
{
    uint64_t g = CAN_TX + 0x100u * slot;
    struct drv_buf o = {g, can_wire(f->mem + g, 0x0001, c, k)};
    struct drv_buf i = {g + 0x80, 1};
    f->mem[g + 0x80] = 0xee;
    add(f, 0, &o, 1, &i, 1, g);
    kick(f, 0);
}

/* The next @p n Rxq buffers hold frames @p first.. of @p c, bit-exact and
 * in order. */
static void can_expect_rx(struct fe *f, const struct canf *c, unsigned n,
                          unsigned first)
{
    uintptr_t ck[8];
    uint8_t want[16 + 64];
    wait_used_n(f, 1, n, ck);
    for (unsigned k = 0; k < n; k++) {
        unsigned len = can_wire(want, 0x0101, &c[first + k], first + k);
        ck_assert_uint_eq(ck[k], CAN_RX + 0x100u * k);
        ck_assert_mem_eq(f->mem + ck[k], want, len);
        ck_assert_uint_eq(f->mem[ck[k] + len], 0xee); /* nothing beyond */
    }
}

START_TEST(can_virtual_bus_between_two_daemons)
{
    static const struct canf fr[6] = {
        {0x123, 0, 8, 0},                    /* classic */
        {0x456, 0x4000, 64, 0},              /* FD, 64 bytes */
        {0x7ff, 0x2000, 4, 0},               /* RTR, DLC 4 */
        {0x1abcdef, 0x8000 | 0x4000, 48, 0}, /* extended FD */
        {0x12345, 0x8000, 8, 13},            /* extended, DLC 13 */
        {0x001, 0, 0, 0},                    /* empty */
    };
    char dir[128], bus[160], s1[160], s2[160];
    struct fe a, b;
    pid_t d1, d2;
    uintptr_t ck[8];

    snprintf(dir, sizeof(dir), "%s/can.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(bus, sizeof(bus), "%s/bus", dir);
    snprintf(s1, sizeof(s1), "%s/can1.sock", dir);
    snprintf(s2, sizeof(s2), "%s/can2.sock", dir);
    d1 = start_can_daemon(s1, bus); /* serves the bus */
    d2 = start_can_daemon(s2, bus);
    fe_open_feat(&a, s2, 3, MEM_SIZE, CAN_ALL);
    fe_open_feat(&b, s1, 3, MEM_SIZE, CAN_ALL);
    /* Stopped: a frame is refused at once. */
    can_send(&a, &fr[0], 0, 0);
    ck_assert_uint_eq(wait_used(&a, 0), 1);
    ck_assert_uint_eq(a.mem[CAN_TX + 0x80], 1 /* NOT_OK */);
    ck_assert_uint_eq(can_ctl(&a, 0x0201 /* START */), 0);
    ck_assert_uint_eq(can_ctl(&b, 0x0201), 0);

    /* A -> B: four frames, acknowledged once the bus took them. */
    can_post_rx(&b, 4);
    for (unsigned k = 0; k < 4; k++)
        can_send(&a, &fr[k], k, k);
    wait_used_n(&a, 0, 4, ck);
    for (unsigned k = 0; k < 4; k++) {
        ck_assert_uint_eq(ck[k], CAN_TX + 0x100u * k); /* in order */
        ck_assert_uint_eq(a.mem[ck[k] + 0x80], 0 /* OK */);
    }
    can_expect_rx(&b, fr, 4, 0);

    /* Late TX ack: with the bus's hub (daemon 1) stopped, A's frame is
     * handed to the bus but not taken: its request stays unused until the
     * hub runs again and passes it on. */
    can_post_rx(&b, 2);
    stop_all_threads(d1);
    can_send(&a, &fr[4], 4, 0);
    usleep(200 * 1000);
    ck_assert_int_eq(drv_vq_get_used(&a.q[0], NULL, NULL, NULL), 0);
    ck_assert_uint_eq(a.mem[CAN_TX + 0x80], 0xee);
    kill(d1, SIGCONT);
    ck_assert_uint_eq(wait_used(&a, 0), 1);
    ck_assert_uint_eq(a.mem[CAN_TX + 0x80], 0);
    can_send(&a, &fr[5], 5, 1);
    ck_assert_uint_eq(wait_used(&a, 0), 1);
    can_expect_rx(&b, fr, 2, 4);

    /* B -> A, from the hub's own daemon. */
    can_post_rx(&a, 3);
    for (unsigned k = 0; k < 3; k++)
        can_send(&b, &fr[k + 1], k + 1, k);
    wait_used_n(&b, 0, 3, ck);
    can_expect_rx(&a, fr, 3, 1);

    /* STOP: B's frames no longer reach A, A no longer sends. */
    ck_assert_uint_eq(can_ctl(&a, 0x0202 /* STOP */), 0);
    can_send(&a, &fr[0], 0, 0);
    ck_assert_uint_eq(wait_used(&a, 0), 1);
    ck_assert_uint_eq(a.mem[CAN_TX + 0x80], 1);

    fe_close(&a);
    fe_close(&b);
    stop_pid(d2);
    stop_pid(d1);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

/* ---- can: requests at the host when the front-end takes the Txq ------
 * With VIRTIO_CAN_F_LATE_TX_ACK a Txq request is used only once the bus
 * acknowledged its frame ("CAN Message Transmission": "MUST be marked as
 * used ... after the CAN controller acknowledged the successful
 * transmission on the CAN bus"): until then it is at the host. vhost-user
 * "Ring states": GET_VRING_BASE stops the ring and answers "the available
 * vring base offset", from which the front-end goes on; so the answer waits
 * until every request taken is used, and equals the used index. */

/* Used index of split ring @p q ("The Virtqueue Used Ring": le16 idx). */
static uint16_t can_used_idx(struct fe *f, int q)
{
    return vdm_le16(f->q[q].device + 2);
}

/* Daemon 1 serves the bus, daemon 2's device (front-end @p a, started)
 * hands three frames to it while daemon 1 is stopped: the three Txq
 * requests wait for the bus. */
static void can_three_at_the_bus(struct fe *a, char *dir, size_t cap, pid_t *d1,
                                 pid_t *d2, const char *d2_log)
{
    static const struct canf c = {0x123, 0, 8, 0};
    char bus[160], s1[160], s2[160];

    snprintf(dir, cap, "%s/candr.XXXXXX", top_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(bus, sizeof(bus), "%s/bus", dir);
    snprintf(s1, sizeof(s1), "%s/can1.sock", dir);
    snprintf(s2, sizeof(s2), "%s/can2.sock", dir);
    *d1 = start_can_daemon(s1, bus);
    if (d2_log != NULL) { /* daemon 2's stderr (its log) into d2_log */
        int fd = open(d2_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int saved = dup(2);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_eq(dup2(fd, 2), 2);
        *d2 = start_can_daemon(s2, bus);
        ck_assert_int_eq(dup2(saved, 2), 2);
        close(saved);
        close(fd);
    } else {
        *d2 = start_can_daemon(s2, bus);
    }
    fe_open_feat(a, s2, 3, MEM_SIZE, CAN_ALL);
    ck_assert_uint_eq(can_ctl(a, 0x0201 /* START */), 0);
    stop_all_threads(*d1);
    for (unsigned k = 0; k < 3; k++)
        can_send(a, &c, k, k);
    /* a control round trip: daemon 2's one device thread had the Txq kicks
     * first, so the frames are at the bus now (START again: NOT_OK, no
     * change) */
    (void)can_ctl(a, 0x0201);
    usleep(100 * 1000);
    ck_assert_uint_eq(can_used_idx(a, 0), 0);
}

static void can_rm_dir(const char *dir)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* No answer while the bus holds the frames; once the hub runs again, the
 * answer comes after the three are used (OK, in order, once each). */
START_TEST(can_get_vring_base_waits_for_the_bus)
{
    char dir[128];
    uint32_t req[2] = {0, 0}, rep[2];
    uintptr_t ck[3];
    struct pollfd p;
    struct fe a;
    pid_t d1, d2;

    can_three_at_the_bus(&a, dir, sizeof(dir), &d1, &d2, NULL);
    fe_send(&a.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    p.fd = a.v.sock;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 300), 0); /* not while they wait */
    ck_assert_uint_eq(can_used_idx(&a, 0), 0);
    ck_assert_int_eq(kill(d1, SIGCONT), 0);
    ck_assert_uint_eq(fe_recv(&a.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8), 8);
    ck_assert_uint_eq(can_used_idx(&a, 0), 3); /* used before the answer */
    ck_assert_uint_eq(rep[0], 0);
    ck_assert_uint_eq(rep[1], 3);
    wait_used_n(&a, 0, 3, ck);
    for (unsigned k = 0; k < 3; k++) {
        ck_assert_uint_eq(ck[k], CAN_TX + 0x100u * k);
        ck_assert_uint_eq(a.mem[ck[k] + 0x80], 0 /* OK */);
    }
    ck_assert_int_eq(drv_vq_get_used(&a.q[0], NULL, NULL, NULL), 0);
    fe_close(&a);
    stop_pid(d2);
    stop_pid(d1);
    can_rm_dir(dir);
}
END_TEST

/* The hub goes away with the frames: they will never be acknowledged, so
 * the device answers them NOT_OK, as a controller leaving the bus does
 * ("on transition to the STOPPED state the device cancels all CAN
 * messages already pending for transmission and marks them as used with
 * result VIRTIO_CAN_RESULT_NOT_OK"), and GET_VRING_BASE is answered. */
START_TEST(can_get_vring_base_hub_gone_answers_not_ok)
{
    char dir[128];
    uint32_t req[2] = {0, 0}, rep[2];
    uintptr_t ck[3];
    struct pollfd p;
    struct fe a;
    pid_t d1, d2;
    int st;

    can_three_at_the_bus(&a, dir, sizeof(dir), &d1, &d2, NULL);
    fe_send(&a.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    p.fd = a.v.sock;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 300), 0); /* not while they wait */
    ck_assert_int_eq(kill(d1, SIGKILL), 0);
    ck_assert_int_eq(waitpid(d1, &st, 0), d1);
    ck_assert_uint_eq(fe_recv(&a.v, VDM_VHOST_USER_GET_VRING_BASE, rep, 8), 8);
    ck_assert_uint_eq(can_used_idx(&a, 0), 3);
    ck_assert_uint_eq(rep[1], 3);
    wait_used_n(&a, 0, 3, ck);
    for (unsigned k = 0; k < 3; k++)
        ck_assert_uint_eq(a.mem[ck[k] + 0x80], 1 /* NOT_OK */);
    fe_close(&a);
    stop_pid(d2);
    can_rm_dir(dir);
}
END_TEST

/* Requests that never complete (the hub stopped for good) do not hold the
 * daemon forever: after the drain bound (VDM_VHOST_USER_DRAIN_MS, here
 * 400 ms) the front-end is dropped without an answer, and SIGTERM still
 * ends the daemon, after the same bound, exit status 0; both are logged. */
START_TEST(can_drain_that_never_ends_is_bounded)
{
    char dir[128], log[160];
    uint32_t req[2] = {0, 0};
    struct timespec t0, t1;
    struct fe a;
    pid_t d1, d2;
    double t;
    int st;

    ck_assert_int_eq(setenv("VDM_VHOST_USER_DRAIN_MS", "400", 1), 0);
    snprintf(log, sizeof(log), "%s/can2-%d.log", top_dir, (int)getpid());
    can_three_at_the_bus(&a, dir, sizeof(dir), &d1, &d2, log);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fe_send(&a.v, VDM_VHOST_USER_GET_VRING_BASE, 0, req, 8, NULL, 0);
    /* dropped: the connection ends, no reply */
    ck_assert_int_lt(vu_front_recv(&a.v, VDM_VHOST_USER_GET_VRING_BASE), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(t >= 0.35 && t < 5.0, "dropped after %.3f s", t);
    ck_assert_int_eq(kill(d2, 0), 0); /* alive */
    fe_close(&a);

    /* again, then SIGTERM while they wait */
    {
        char s2[160];
        static const struct canf c = {0x321, 0, 8, 0};
        snprintf(s2, sizeof(s2), "%s/can2.sock", dir);
        fe_open_feat(&a, s2, 3, MEM_SIZE, CAN_ALL);
        ck_assert_uint_eq(can_ctl(&a, 0x0201), 0);
        can_send(&a, &c, 0, 0);
        (void)can_ctl(&a, 0x0201);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(kill(d2, SIGTERM), 0);
    ck_assert_int_eq(waitpid(d2, &st, 0), d2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_msg(t >= 0.35 && t < 5.0, "exit after %.3f s", t);
    fe_close(&a);
    { /* both said why */
        char line[512];
        int dropped = 0, abandoned = 0;
        FILE *lf = fopen(log, "r");
        ck_assert_ptr_nonnull(lf);
        while (fgets(line, sizeof(line), lf) != NULL) {
            dropped += strstr(line, "requests never completed (drain)") != 0;
            abandoned += strstr(line, "exit: 1 request(s) still at the host "
                                      "after 400 ms: abandoned") != 0;
        }
        fclose(lf);
        ck_assert_int_eq(dropped, 1);
        ck_assert_int_eq(abandoned, 1);
        unlink(log);
    }
    ck_assert_int_eq(kill(d1, SIGKILL), 0);
    ck_assert_int_eq(waitpid(d1, &st, 0), d1);
    can_rm_dir(dir);
}
END_TEST

void td_add_can(Suite *s)
{
    TD_ADD(s, can_virtual_bus_between_two_daemons);
    TD_ADD(s, can_get_vring_base_waits_for_the_bus);
    TD_ADD(s, can_get_vring_base_hub_gone_answers_not_ok);
    TD_ADD(s, can_drain_that_never_ends_is_bounded);
}
