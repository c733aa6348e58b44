/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user daemon test: inflight I/O tracking (vhost-user "Inflight
 * I/O tracking"). The daemon offers VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
 * answers GET_INFLIGHT_FD with a zero-filled memfd of the size the text's
 * split layout gives (sent with the reply, SCM_RIGHTS), and maps a region
 * handed back with SET_INFLIGHT_FD; a region that is too small for its
 * queues is refused. The restart itself (SIGKILL, resubmission) runs with a
 * real guest in tests/e2e/reconnect.sh. */
#include "test_daemon.h"

#define PF_IFT (1ull << VDM_VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)

/* Receive the reply to @p req with the one descriptor it carries. */
static uint32_t recv_with_fd(struct vu_front *v, uint32_t req, uint8_t *buf,
                             uint32_t cap, int *fd)
{
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {buf, cap};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctrl.b,
                        .msg_controllen = sizeof(ctrl.b)};
    struct cmsghdr *c;
    ssize_t n = recvmsg(v->sock, &mh, MSG_WAITALL);
    uint32_t r;

    ck_assert_int_ge(n, VDM_VHOST_USER_HDR_BYTES);
    memcpy(&r, buf, 4);
    ck_assert_uint_eq(r, req);
    *fd = -1;
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof(int));
    return (uint32_t)n;
}

static void inflight_desc(uint8_t d[24], uint64_t size, uint16_t nq,
                          uint16_t qs)
{
    uint64_t off = 0;
    memset(d, 0, 24);
    memcpy(d, &size, 8);
    memcpy(d + 8, &off, 8);
    memcpy(d + 16, &nq, 2);
    memcpy(d + 18, &qs, 2);
}

START_TEST(inflight_region_is_a_memfd_sent_with_the_reply)
{
    char sock[160], disk[160];
    struct vu_front v;
    uint8_t d[24], buf[64];
    uint64_t feat, proto, size;
    struct stat st;
    uint8_t *p;
    pid_t pid;
    int fd, wfd;

    snprintf(disk, sizeof(disk), "%s/ift.img", top_dir);
    snprintf(sock, sizeof(sock), "%s/ift.sock", top_dir);
    fd = open(disk, O_CREAT | O_RDWR | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    {
        char spec[256];
        snprintf(spec, sizeof(spec), "blk,file=%s,num-queues=2", disk);
        pid = sp_start(sock, spec);
    }
    fe_connect(&v, sock);
    feat = fe_u64(&v, VDM_VHOST_USER_GET_FEATURES);
    ck_assert(feat & VDM_VHOST_USER_F_PROTOCOL_FEATURES);
    proto = fe_u64(&v, VDM_VHOST_USER_GET_PROTOCOL_FEATURES);
    ck_assert(proto & PF_IFT);
    proto &= (1ull << VDM_VHOST_USER_PROTOCOL_F_REPLY_ACK) | PF_IFT;
    fe_send(&v, VDM_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
    fe_send(&v, VDM_VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    feat = DRV_F_VERSION_1 | VDM_VHOST_USER_F_PROTOCOL_FEATURES;
    ck_assert_uint_eq(
        fe_acked(&v, VDM_VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);

    /* GET_INFLIGHT_FD: 2 queues of 128, split: (16 + 16 * 128) rounded up
     * to 64 per queue */
    inflight_desc(d, 0, 2, 128);
    fe_send(&v, VDM_VHOST_USER_GET_INFLIGHT_FD, 0, d, 24, NULL, 0);
    ck_assert_uint_eq(recv_with_fd(&v, VDM_VHOST_USER_GET_INFLIGHT_FD, buf,
                                   VDM_VHOST_USER_HDR_BYTES + 24, &fd),
                      VDM_VHOST_USER_HDR_BYTES + 24);
    ck_assert_int_ge(fd, 0);
    memcpy(&size, buf + 12, 8);
    ck_assert_uint_eq(size, 2 * 2112);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 2 * 2112);
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    for (uint64_t i = 0; i < size; i++)
        ck_assert_uint_eq(p[i], 0); /* version 0: formatted at ring start */

    /* SET_INFLIGHT_FD: the same region back is taken; one too small for
     * its queues is refused (REPLY_ACK non-zero), the daemon serves on */
    inflight_desc(d, size, 2, 128);
    ck_assert_uint_eq(
        fe_acked(&v, VDM_VHOST_USER_SET_INFLIGHT_FD, d, 24, &fd, 1), 0);
    inflight_desc(d, size - 1, 2, 128);
    ck_assert_uint_ne(
        fe_acked(&v, VDM_VHOST_USER_SET_INFLIGHT_FD, d, 24, &fd, 1), 0);
    /* a descriptor that is no memory file */
    wfd = eventfd(0, EFD_CLOEXEC);
    inflight_desc(d, size, 2, 128);
    ck_assert_uint_ne(
        fe_acked(&v, VDM_VHOST_USER_SET_INFLIGHT_FD, d, 24, &wfd, 1), 0);
    close(wfd);
    ck_assert_uint_eq(fe_u64(&v, VDM_VHOST_USER_GET_QUEUE_NUM), 2);
    munmap(p, (size_t)size);
    close(fd);
    vu_front_close(&v);
    stop_pid(pid);
}
END_TEST

void td_add_inflight(Suite *s)
{
    TD_ADD(s, inflight_region_is_a_memfd_sent_with_the_reply);
}
