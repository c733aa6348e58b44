/* SPDX-License-Identifier: BSD-3-Clause */
/* Dirty-page logging (include/vdm/mem.h struct vdm_dirty_log, vdm_mem::log;
 * vdm_vq_set_log; the device kit's completions). The format is vhost-user
 * "Migration" / "Dirty pages logging": bit page % 8 of byte page / 8,
 * page = (address - base) >> page_shift.
 *
 * The oracle: guest memory is copied before the device runs; afterwards
 * every page whose bytes changed must be marked (nothing the device wrote
 * may be missed), and every marked page must have changed or belong to the
 * ring areas (rewriting a ring field with the value it had is still a
 * write). The buffers are prepared so that every byte the device writes
 * differs from what was there. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devharness.h"
#include "drv.h"
#include "echo_dev.h"
#include "guestmem.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/kit.h"
#include "vdm/mem.h"
#include "vdm/virtqueue.h"

#define PG 4096u

static uint8_t bitmap[4096];

static struct vdm_dirty_log mklog(uint64_t base, uint32_t shift)
{
    struct vdm_dirty_log l = VDM_INIT(struct vdm_dirty_log);
    l.page_shift = shift;
    l.base = base;
    l.bytes = sizeof(bitmap);
    l.bitmap = bitmap;
    memset(bitmap, 0, sizeof(bitmap));
    return l;
}

static int bit(uint64_t page)
{
    return (bitmap[page / 8] >> (page % 8)) & 1;
}

static unsigned nbits(void)
{
    unsigned n = 0;
    for (size_t i = 0; i < sizeof(bitmap); i++)
        n += (unsigned)__builtin_popcount(bitmap[i]);
    return n;
}

/* A guest range the oracle accepts as marked without a change in it. */
struct span {
    uint64_t gpa, len;
};

static int in_spans(uint64_t page, const struct span *ok, unsigned nok)
{
    for (unsigned i = 0; i < nok; i++)
        if (ok[i].len != 0 && page >= ok[i].gpa / PG &&
            page <= (ok[i].gpa + ok[i].len - 1) / PG)
            return 1;
    return 0;
}

/* Compare region [gpa, gpa + len) now (at @p now) with @p before against
 * the bitmap (base 0, 4 KiB pages). Returns the number of changed pages. */
static unsigned oracle(const uint8_t *before, const uint8_t *now, uint64_t gpa,
                       uint64_t len, const struct span *ok, unsigned nok)
{
    unsigned changed = 0;

    ck_assert_uint_eq(gpa % PG, 0);
    for (uint64_t off = 0; off < len; off += PG) {
        uint64_t n = len - off < PG ? len - off : PG;
        uint64_t page = (gpa + off) / PG;
        int ch = memcmp(before + off, now + off, n) != 0;

        changed += (unsigned)ch;
        ck_assert_msg(!ch || bit(page),
                      "page %#llx written by the device but not marked",
                      (unsigned long long)(page * PG));
        ck_assert_msg(!bit(page) || ch || in_spans(page, ok, nok),
                      "page %#llx marked but not written",
                      (unsigned long long)(page * PG));
    }
    return changed;
}

/* ------------------------------------------------------------------------ */
/* The log itself                                                           */

START_TEST(log_check_refuses_bad_logs)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    struct vdm_dirty_log l = mklog(0, 12);

    ck_assert_int_eq(vdm_dirty_log_check(&l), 0);
    ck_assert_int_eq(vdm_dirty_log_check(NULL), VDM_EINVAL);
    l.size = 8;
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_ESIZE);
    l = mklog(0, 11);
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0, 31);
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0x800, 12); /* base not on a page */
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0, 12);
    l.bitmap = NULL;
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0, 12);
    l.bytes = 0;
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0, 12);
    l.bytes = (uint64_t)SIZE_MAX; /* more than half the address space */
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(0, 12);
    l.reserved = 1;
    ck_assert_int_eq(vdm_dirty_log_check(&l), VDM_EINVAL);
    l = mklog(1ull << 30, 30);
    ck_assert_int_eq(vdm_dirty_log_check(&l), 0);
}
END_TEST

/* vhost-user "Dirty pages logging": page = addr / VHOST_LOG_PAGE,
 * log[page / 8] |= 1 << page % 8. */
START_TEST(mark_sets_exactly_the_pages)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    struct vdm_dirty_log l = mklog(0, 12);

    ck_assert_int_eq(vdm_dirty_mark(&l, 0x1fff, 2), 0); /* pages 1 and 2 */
    ck_assert_uint_eq(bitmap[0], 0x06);
    ck_assert_uint_eq(nbits(), 2);
    ck_assert_int_eq(vdm_dirty_mark(&l, 0x5000, 0), 0); /* nothing */
    ck_assert_uint_eq(nbits(), 2);
    /* a long run: whole bytes in the middle */
    ck_assert_int_eq(vdm_dirty_mark(&l, 7 * PG + 5, 40 * PG), 0);
    for (uint64_t p = 0; p < 64; p++)
        ck_assert_int_eq(bit(p), p == 1 || p == 2 || (p >= 7 && p <= 47));
    /* past the end of the bitmap: what fits is marked */
    memset(bitmap, 0, sizeof(bitmap));
    uint64_t last = sizeof(bitmap) * 8 - 1;
    ck_assert_int_eq(vdm_dirty_mark(&l, last * PG, 3 * PG), VDM_ERANGE);
    ck_assert_uint_eq(nbits(), 1);
    ck_assert(bit(last));
    ck_assert_int_eq(vdm_dirty_mark(&l, (last + 1) * PG, 1), VDM_ERANGE);
    /* wrapping the address space: no crash, nothing past the bitmap */
    ck_assert_int_eq(vdm_dirty_mark(&l, UINT64_MAX - 10, 100), VDM_ERANGE);
    ck_assert_int_eq(vdm_dirty_mark(&l, 0, UINT64_MAX), VDM_ERANGE);
    ck_assert_uint_eq(nbits(), sizeof(bitmap) * 8);
    ck_assert_int_eq(vdm_dirty_mark(NULL, 0, 1), VDM_EINVAL);
    /* a base and a page size of the caller's choice (2 MiB pages) */
    l = mklog(0x40000000, 21);
    ck_assert_int_eq(vdm_dirty_mark(&l, 0x40000000 - 1, 2), VDM_ERANGE);
    ck_assert_uint_eq(nbits(), 1);
    ck_assert(bit(0));
    ck_assert_int_eq(vdm_dirty_mark(&l, 0x40000000 + (5u << 21) + 77, 1), 0);
    ck_assert(bit(5));
    ck_assert_int_eq(vdm_dirty_mark(&l, 0x1000, 1), VDM_ERANGE); /* below */
    ck_assert_uint_eq(nbits(), 2);
}
END_TEST

/* Bits already set are only read: a log whose bits are all set may even be
 * read-only (the front-end's reader can only clear bits). */
START_TEST(mark_does_not_rewrite_set_bits)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    long psz = sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct vdm_dirty_log l = mklog(0, 12);

    ck_assert_ptr_ne(m, MAP_FAILED);
    memset(m, 0xff, (size_t)psz);
    ck_assert_int_eq(mprotect(m, (size_t)psz, PROT_READ), 0);
    l.bitmap = m;
    l.bytes = (uint64_t)psz;
    ck_assert_int_eq(vdm_dirty_mark(&l, 0, 1000 * PG), 0);
    ck_assert_int_eq(vdm_dirty_mark(&l, 3 * PG + 1, 1), 0);
    munmap(m, (size_t)psz);
}
END_TEST

/* Spans back to guest pages through the region table, several regions with
 * unrelated host and guest layouts. */
START_TEST(mem_log_iov_maps_spans_back)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    uint64_t gpas[2] = {0x100000, 0x900000}, sizes[2] = {0x40000, 0x40000};
    struct gm gm;
    struct vdm_dirty_log l = mklog(0, 12);
    struct vdm_iov iov[3];
    uint8_t other[64];

    gm_init(&gm, gpas, sizes, 2);
    gm.mem.log = &l;
    iov[0] =
        (struct vdm_iov){gm_ptr(&gm, 0x100ff0, 0x20), 0x20, VDM_IOV_F_WRITE};
    iov[1] = (struct vdm_iov){gm_ptr(&gm, 0x905000, 0x3000), 0x3000,
                              VDM_IOV_F_WRITE};
    iov[2] =
        (struct vdm_iov){gm_ptr(&gm, 0x120000, 0x100), 0x100, VDM_IOV_F_WRITE};
    /* bytes 0x18 .. 0x18 + 0x1010 of the list: span 0's last 8 bytes,
     * span 1's first 0x1008 bytes */
    ck_assert_int_eq(vdm_mem_log_iov(&gm.mem, iov, 3, 0x18, 0x1010), 0);
    ck_assert(bit(0x101)); /* 0x100ff0 + 0x18 */
    ck_assert(bit(0x905));
    ck_assert(bit(0x906));
    ck_assert_uint_eq(nbits(), 3);
    /* a span no region holds: the rest is still marked */
    memset(bitmap, 0, sizeof(bitmap));
    iov[0] = (struct vdm_iov){other, sizeof(other), VDM_IOV_F_WRITE};
    ck_assert_int_eq(vdm_mem_log_iov(&gm.mem, iov, 3, 0, SIZE_MAX), VDM_EFAULT);
    ck_assert_uint_eq(nbits(), 3 + 1);
    ck_assert(bit(0x120));
    /* logging off: nothing */
    memset(bitmap, 0, sizeof(bitmap));
    gm.mem.log = NULL;
    ck_assert_int_eq(vdm_mem_log_iov(&gm.mem, iov + 1, 2, 0, SIZE_MAX), 0);
    ck_assert_uint_eq(nbits(), 0);
    /* vdm_mem_write marks what it wrote */
    gm.mem.log = &l;
    ck_assert_int_eq(vdm_mem_write(&gm.mem, 0x13fffe, "abcd", 4), VDM_EFAULT);
    ck_assert_uint_eq(nbits(), 0); /* nothing written, nothing marked */
    ck_assert_int_eq(vdm_mem_write(&gm.mem, 0x930ffe, "abcd", 4), 0);
    ck_assert(bit(0x930));
    ck_assert(bit(0x931));
    ck_assert_uint_eq(nbits(), 2);
    ck_assert_int_eq(vdm_mem_log_iov(NULL, iov, 1, 0, 1), VDM_EINVAL);
    gm_fini(&gm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Ring writes, split and packed (one Check case per layout)              */

static uint64_t L;

static void layout_split(void)
{
    L = 0;
}

static void layout_packed(void)
{
    L = VDM_F_RING_PACKED;
}

/* Guest memory of a vqenv: one region at 0x10000. */
#define VQ_GPA 0x10000ull

static uint8_t *snapshot(struct vqenv *e)
{
    uint8_t *b = malloc(VQENV_MEM);
    ck_assert_ptr_nonnull(b);
    memcpy(b, gm_ptr(&e->gm, VQ_GPA, VQENV_MEM), VQENV_MEM);
    return b;
}

/* The ring areas the oracle lets be marked unchanged. */
static unsigned ring_spans(struct vqenv *e, struct span *s)
{
    uint64_t n = e->num;
    s[0] = (struct span){drv_vq_device_gpa(&e->dq), L ? 4 : 6 + 8 * n};
    s[1] = (struct span){drv_vq_desc_gpa(&e->dq), L ? 16 * n : 0};
    return 2;
}

/* The driver adds x (writable parts pre-filled with 0xee), the device
 * pops it, writes @p wr bytes (never 0xee), logs them as a host writing
 * through spans does, pushes; the oracle judges. */
static void ring_case(struct vqenv *e, struct xfer *x, uint32_t wr)
{
    struct span ok[2];
    uint8_t *before;
    uint16_t id;

    xf_add(e, x, 3, NULL);
    for (unsigned i = 0; i < x->nin; i++)
        memset(gm_ptr(&e->gm, x->in_gpa[i], x->in_len[i]), 0xee, x->in_len[i]);
    drv_vq_publish(&e->dq);
    before = snapshot(e);
    memset(bitmap, 0, sizeof(bitmap));
    id = xf_serve(e, x, 3, wr, 0);
    /* xf_serve writes the stream seed ^ 0x5555: make sure no byte is 0xee
     * by rewriting them with a pattern of our own */
    {
        uint8_t buf[1 << 16];
        ck_assert_uint_le(wr, sizeof(buf));
        for (uint32_t i = 0; i < wr; i++)
            buf[i] = (uint8_t)(0x10 + i % 0x70);
        ck_assert_uint_eq(vdm_chain_copy_to(&e->c, 0, buf, wr), wr);
    }
    ck_assert_int_eq(
        vdm_mem_log_iov(&e->gm.mem, e->c.iov + e->c.nread, e->c.nwrite, 0, wr),
        0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, id, wr), 0);
    ck_assert_uint_gt(oracle(before, gm_ptr(&e->gm, VQ_GPA, VQENV_MEM), VQ_GPA,
                             VQENV_MEM, ok, ring_spans(e, ok)),
                      0);
    free(before);
    {
        uint32_t uid, len;
        ck_assert_int_eq(drv_vq_get_used(&e->dq, &uid, &len, NULL), 1);
        ck_assert_uint_eq(uid, id);
        ck_assert_uint_eq(len, wr);
    }
}

/* Chains across pages, direct and indirect, written in full and in part;
 * the used ring (split) or used descriptors (packed) marked. */
START_TEST(ring_and_buffers_marked)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    struct vqenv *e = vqenv_new(256, L | VDM_F_INDIRECT_DESC);
    struct vdm_dirty_log l = mklog(0, 12);
    struct xfer x;

    e->gm.mem.log = &l;
    /* one writable part of 3 pages and a bit, written in full */
    xf_layout(e, &x, 1, 1, 3 * PG + 100, DRV_ADD_DIRECT);
    ring_case(e, &x, x.wtotal);
    /* five writable parts, written up to the middle of the third */
    xf_layout(e, &x, 1, 5, 3000, DRV_ADD_DIRECT);
    ring_case(e, &x, x.in_len[0] + x.in_len[1] + 10);
    /* the same through an indirect table */
    xf_layout(e, &x, 2, 4, 5000, DRV_ADD_INDIRECT);
    ring_case(e, &x, x.wtotal - 1);
    /* written 0: only the ring */
    xf_layout(e, &x, 1, 2, 2 * PG, DRV_ADD_DIRECT);
    ring_case(e, &x, 0);
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

/* VDM_VQ_LOG_ADDR (vhost-user log_guest_addr): device-area writes are
 * marked at the given address; flags 0: ring writes not marked. */
START_TEST(ring_log_address_and_off)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    struct vqenv *e = vqenv_new(64, L | VDM_F_EVENT_IDX);
    struct vdm_dirty_log l = mklog(0, 12);
    uint64_t la = 0x4000000; /* outside guest memory, inside the log */
    struct xfer x;
    uint16_t id;

    e->gm.mem.log = &l;
    ck_assert_int_eq(
        vdm_vq_set_log(&e->vq, VDM_VQ_LOG_RING | VDM_VQ_LOG_ADDR, la), 0);
    xf_layout(e, &x, 1, 1, 100, DRV_ADD_DIRECT);
    xf_add(e, &x, 1, NULL);
    drv_vq_publish(&e->dq);
    id = xf_serve(e, &x, 1, 0, 0);
    ck_assert_int_eq(vdm_vq_push(&e->vq, id, 0), 0);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 0);
    if (L) {
        /* used descriptor at its own address, event flags at la */
        ck_assert(bit(drv_vq_desc_gpa(&e->dq) / PG));
        ck_assert(bit(la / PG));
        ck_assert_uint_eq(nbits(), 2);
    } else {
        /* used entry, idx and avail_event: all at la + offset */
        ck_assert(bit(la / PG));
        ck_assert_uint_eq(nbits(), 1);
    }
    (void)drv_vq_get_used(&e->dq, NULL, NULL, NULL);
    /* no ring logging */
    memset(bitmap, 0, sizeof(bitmap));
    ck_assert_int_eq(vdm_vq_set_log(&e->vq, 0, 0), 0);
    xf_roundtrip(e, &x, 2, 50);
    ck_assert_int_eq(vdm_vq_set_notify(&e->vq, 1), 0);
    ck_assert_uint_eq(nbits(), 0);
    /* back to the area's own address */
    ck_assert_int_eq(vdm_vq_set_log(&e->vq, VDM_VQ_LOG_RING, la), 0);
    xf_roundtrip(e, &x, 3, 50);
    ck_assert(bit(drv_vq_device_gpa(&e->dq) / PG) ||
              bit(drv_vq_desc_gpa(&e->dq) / PG));
    ck_assert(!bit(la / PG));
    /* hostile arguments */
    ck_assert_int_eq(vdm_vq_set_log(&e->vq, 4, 0), VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_set_log(&e->vq, VDM_VQ_LOG_RING | VDM_VQ_LOG_ADDR,
                                    UINT64_MAX - 2),
                     VDM_EINVAL);
    ck_assert_int_eq(vdm_vq_set_log(NULL, 0, 0), VDM_EINVAL);
    vdm_vq_reset(&e->vq);
    ck_assert_int_eq(vdm_vq_set_log(&e->vq, 0, 0), VDM_ESTATE);
    vqenv_free(e);
}
END_TEST

/* Spec "Used Buffer Notification Suppression": with VIRTIO_F_EVENT_IDX
 * each pop moves avail_event, a device write into the used ring: with a
 * log its page is marked, and nothing else, by the one-descriptor pop (the
 * fast path of a speed build) and by the general walk (three
 * descriptors) alike. */
START_TEST(pop_marks_avail_event)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    UT_NEEDS(VDM_F_EVENT_IDX);
    struct vqenv *e = vqenv_new(64, VDM_F_EVENT_IDX);
    struct vdm_dirty_log l = mklog(0, 12);
    /* used ring {le16 flags; le16 idx; ring[64]; le16 avail_event} */
    uint64_t ae = drv_vq_device_gpa(&e->dq) + 4u + 8u * 64u;
    struct xfer x;

    e->gm.mem.log = &l;
    for (int k = 0; k < 2; k++) {
        xf_layout(e, &x, k == 0 ? 0 : 1, k == 0 ? 1 : 2, 100, DRV_ADD_DIRECT);
        xf_add(e, &x, 1, NULL);
        drv_vq_publish(&e->dq);
        memset(bitmap, 0, sizeof(bitmap));
        vqenv_chain(e, 1024);
        ck_assert_int_eq(vdm_vq_pop(&e->vq, &e->c), 1);
        ck_assert_uint_eq(e->c.ndesc, k == 0 ? 1 : 3);
        ck_assert(bit(ae / PG));
        ck_assert_uint_eq(nbits(), 1);
        ck_assert_int_eq(vdm_vq_push(&e->vq, e->c.id, 0), 0);
        ck_assert_int_eq(drv_vq_get_used(&e->dq, NULL, NULL, NULL), 1);
    }
    ck_assert_uint_eq(e->fault.count, 0);
    vqenv_free(e);
}
END_TEST

/* Logging off (no log), and an older struct vdm_mem without the field:
 * nothing is ever marked. */
START_TEST(ring_no_log)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    struct vqenv *e = vqenv_new(64, L);
    struct vdm_dirty_log l = mklog(0, 12);
    struct xfer x;

    xf_layout(e, &x, 1, 1, 100, DRV_ADD_DIRECT);
    xf_roundtrip(e, &x, 1, 10);
    ck_assert_uint_eq(nbits(), 0);
    /* an older caller: the struct ends before `log` */
    e->gm.mem.log = &l;
    e->gm.mem.size = (uint32_t)offsetof(struct vdm_mem, log);
    ck_assert_int_eq(vqenv_init_vq(e), 0);
    drv_vq_reset(&e->dq);
    xf_roundtrip(e, &x, 2, 10);
    ck_assert_uint_eq(nbits(), 0);
    vqenv_free(e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Through a device: the kit marks what the device wrote                   */

static struct dh h;
static struct echo_dev ed;

#define DH_GPA  0x100000ull
#define DH_SIZE (4ull << 20)

static void kit_start(uint64_t ring)
{
    struct dh_opts o = {.num_queues = 1,
                        .qsize = 64,
                        .guest_gpa = DH_GPA,
                        .guest_size = DH_SIZE};

    ck_assert_int_eq(dh_init(&h, &o), 0);
    ck_assert_int_eq(echo_init(&ed, &h.dev, &h.base, ring), 0);
    ck_assert_int_eq(dh_bring_up(&h, ring | VDM_F_VERSION_1, 1), 0);
}

/* One request: @p nr readable parts of @p rlen bytes (never 0xee), @p nw
 * writable parts of @p wlen bytes pre-filled with 0xee; served through
 * the kit with the log on; the oracle judges. Returns the used length. */
static uint32_t kit_case(unsigned nr, uint32_t rlen, unsigned nw, uint32_t wlen,
                         int mode, uint32_t misalign)
{
    struct drv_buf rb[4], wb[4];
    struct span ok[2];
    struct drv_vq *v = dh_vq(&h, 0);
    uint8_t *before;
    uint32_t id, len;

    for (unsigned i = 0; i < nr; i++) {
        uint64_t g = dh_alloc(&h, rlen + misalign, 16) + misalign;
        uint8_t *p = dh_ptr(&h, g, rlen);
        for (uint32_t k = 0; k < rlen; k++)
            p[k] = (uint8_t)(1 + (k * 7 + i) % 0x7f);
        rb[i] = (struct drv_buf){g, rlen};
    }
    for (unsigned i = 0; i < nw; i++) {
        uint64_t g = dh_alloc(&h, wlen + misalign, 16) + misalign;
        memset(dh_ptr(&h, g, wlen), 0xee, wlen);
        wb[i] = (struct drv_buf){g, wlen};
    }
    ck_assert_int_ge(drv_vq_add(v, rb, nr, wb, nw, mode, NULL), 0);
    drv_vq_publish(v);
    before = malloc(DH_SIZE);
    ck_assert_ptr_nonnull(before);
    memcpy(before, dh_ptr(&h, DH_GPA, DH_SIZE), DH_SIZE);
    memset(bitmap, 0, sizeof(bitmap));
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ok[0] = (struct span){drv_vq_device_gpa(v),
                          (h.features & VDM_F_RING_PACKED) ? 4 : 6 + 8 * 64};
    ok[1] = (struct span){drv_vq_desc_gpa(v),
                          (h.features & VDM_F_RING_PACKED) ? 16 * 64 : 0};
    ck_assert_uint_gt(
        oracle(before, dh_ptr(&h, DH_GPA, DH_SIZE), DH_GPA, DH_SIZE, ok, 2), 0);
    free(before);
    ck_assert_int_eq(drv_vq_get_used(v, &id, &len, NULL), 1);
    return len;
}

static void kit_all(uint64_t ring)
{
    struct vdm_dirty_log l = mklog(0, 12);

    UT_NEEDS(ring);
    kit_start(ring);
    h.mem.log = &l;
    /* written in full (the echo takes up to 4 KiB): one page of data into
     * a part of 3 pages, starting inside a page: two pages marked */
    ck_assert_uint_eq(kit_case(1, PG, 1, 3 * PG, DRV_ADD_DIRECT, 100), PG);
    /* written in part: 2 parts of 2 pages each take 2.5 pages: the pages
     * after the used length stay unmarked (the oracle sees them unchanged) */
    ck_assert_uint_eq(kit_case(2, 1200, 3, 2 * PG, DRV_ADD_DIRECT, 8), 2400);
    /* indirect */
    ck_assert_uint_eq(kit_case(4, 1000, 4, 1500, DRV_ADD_INDIRECT, 0), 4000);
    /* nothing to echo: only the ring */
    ck_assert_uint_eq(kit_case(0, 0, 2, PG, DRV_ADD_DIRECT, 0), 0);
    /* logging off */
    h.mem.log = NULL;
    memset(bitmap, 0, sizeof(bitmap));
    {
        struct drv_buf rb = {dh_alloc(&h, 64, 8), 64},
                       wb = {dh_alloc(&h, 64, 8), 64};
        ck_assert_int_ge(
            drv_vq_add(dh_vq(&h, 0), &rb, 1, &wb, 1, DRV_ADD_DIRECT, NULL), 0);
        ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
        ck_assert_int_eq(drv_vq_get_used(dh_vq(&h, 0), NULL, NULL, NULL), 1);
        ck_assert_uint_eq(nbits(), 0);
    }
    dh_fini(&h);
}

START_TEST(kit_split)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    kit_all(VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX);
}
END_TEST

START_TEST(kit_packed)
{
    UT_NEEDS_OPTION(VDM_CONFIG_DIRTY_LOG);
    ut_need(VDM_F_RING_PACKED, "packed rings");
    kit_all(VDM_F_RING_PACKED | VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX);
}
END_TEST

static Suite *dirty_suite(void)
{
    Suite *s = suite_create("dirty");
    TCase *t = tcase_create("log");
    tcase_add_test(t, log_check_refuses_bad_logs);
    tcase_add_test(t, mark_sets_exactly_the_pages);
    tcase_add_test(t, mark_does_not_rewrite_set_bits);
    tcase_add_test(t, mem_log_iov_maps_spans_back);
    tcase_add_test(t, kit_split);
    tcase_add_test(t, kit_packed);
    suite_add_tcase(s, t);
    TCase *sp = tcase_create("split");
    tcase_add_checked_fixture(sp, layout_split, NULL);
    tcase_add_test(sp, ring_and_buffers_marked);
    tcase_add_test(sp, ring_log_address_and_off);
    tcase_add_test(sp, ring_no_log);
    tcase_add_test(sp, pop_marks_avail_event);
    suite_add_tcase(s, sp);
    if (VDM_CONFIG_PACKED) {
        TCase *pk = tcase_create("packed");
        tcase_add_checked_fixture(pk, layout_packed, NULL);
        tcase_add_test(pk, ring_and_buffers_marked);
        tcase_add_test(pk, ring_log_address_and_off);
        tcase_add_test(pk, ring_no_log);
        suite_add_tcase(s, pk);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dirty_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
