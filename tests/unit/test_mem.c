/* SPDX-License-Identifier: BSD-3-Clause */
/* Guest memory layer: region lookups, span mapping, hooks, copies. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "profile.h"
#include "vdm/mem.h"

#define R0   0x10000ull
#define R0SZ 0x4000ull

/* ---- lookup edges --------------------------------------------------- */

START_TEST(lookup_start_end_one_past)
{
    struct gm gm;
    void *p = NULL;
    uint8_t *base;

    gm_init1(&gm, R0, R0SZ);
    base = gm.regs[0].hva;
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, 1, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, base);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, R0SZ, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, base);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 + R0SZ - 1, 1,
                                    VDM_MEM_READ | VDM_MEM_WRITE, &p),
                     0);
    ck_assert_ptr_eq(p, base + R0SZ - 1);
    /* one byte too many, one before, one past */
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, R0SZ + 1, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 - 1, 2, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 + R0SZ, 1, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(
        vdm_mem_lookup(&gm.mem, R0 + R0SZ - 4, 8, VDM_MEM_READ, &p),
        VDM_EFAULT);
    /* huge lengths do not wrap into success */
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, UINT64_MAX, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(
        vdm_mem_lookup(&gm.mem, R0 + 8, UINT64_MAX - 7, VDM_MEM_READ, &p),
        VDM_EFAULT);
    /* the pointer really is the memory */
    base[R0SZ - 1] = 0x5a;
    ck_assert_int_eq(
        vdm_mem_lookup(&gm.mem, R0 + R0SZ - 1, 1, VDM_MEM_READ, &p), 0);
    ck_assert_uint_eq(*(uint8_t *)p, 0x5a);
    gm_fini(&gm);
}
END_TEST

START_TEST(lookup_zero_length)
{
    struct gm gm;
    void *p = NULL;
    struct vdm_iov iov[2];

    gm_init1(&gm, R0, R0SZ);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 + 5, 0, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, (uint8_t *)gm.regs[0].hva + 5);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 + R0SZ, 0, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, 0, 0, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    /* map of nothing is nothing, wherever it points */
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0, 0, VDM_MEM_READ, iov, 2), 0);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, UINT64_MAX, 0, VDM_MEM_READ, iov, 0),
                     0);
    ck_assert_int_eq(vdm_mem_read(&gm.mem, 0, NULL, 0), 0);
    gm_fini(&gm);
}
END_TEST

START_TEST(lookup_wrap_at_top)
{
    /* region holding the last byte of the 64-bit guest space (fake hva:
     * only pointers near the start are formed) */
    static uint8_t buf[64];
    struct vdm_mem_region r = {.gpa = UINT64_MAX - 63, .size = 64, .hva = buf};
    struct vdm_mem m = {.size = sizeof(m), .nregions = 1, .regions = &r};
    struct vdm_iov iov[4];
    void *p = NULL;

    ck_assert_int_eq(vdm_mem_check(&m), 0);
    ck_assert_int_eq(vdm_mem_lookup(&m, UINT64_MAX, 1, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, buf + 63);
    ck_assert_int_eq(vdm_mem_lookup(&m, UINT64_MAX - 63, 64, VDM_MEM_READ, &p),
                     0);
    ck_assert_ptr_eq(p, buf);
    /* one byte more wraps to 0 */
    ck_assert_int_eq(vdm_mem_lookup(&m, UINT64_MAX - 63, 65, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&m, UINT64_MAX, 2, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_map(&m, UINT64_MAX, 2, VDM_MEM_READ, iov, 4),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_map(&m, UINT64_MAX - 1, 2, VDM_MEM_READ, iov, 4),
                     1);
    ck_assert_ptr_eq(iov[0].base, buf + 62);
    ck_assert_uint_eq(iov[0].len, 2);
    /* a region whose gpa + size is exactly 2^64 is valid; one further
     * wraps */
    r.gpa = 1;
    r.size = UINT64_MAX;
    ck_assert_int_eq(vdm_mem_lookup(&m, 1, 64, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, buf);
    ck_assert_int_eq(vdm_mem_lookup(&m, 0, 1, VDM_MEM_READ, &p), VDM_EFAULT);
    r.gpa = 2;
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
}
END_TEST

START_TEST(straddle_adjacent_regions)
{
    /* two guest-adjacent regions, separately mapped (guard pages between
     * them in the host) */
    uint64_t gpas[2] = {R0, R0 + R0SZ}, sizes[2] = {R0SZ, R0SZ};
    struct gm gm;
    struct vdm_iov iov[4];
    void *p = NULL;
    uint8_t out[64];

    gm_init(&gm, gpas, sizes, 2);
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + R0SZ - 16, 48, VDM_MEM_WRITE, iov, 4), 2);
    ck_assert_ptr_eq(iov[0].base, (uint8_t *)gm.regs[0].hva + R0SZ - 16);
    ck_assert_uint_eq(iov[0].len, 16);
    ck_assert_uint_eq(iov[0].flags, VDM_IOV_F_WRITE);
    ck_assert_ptr_eq(iov[1].base, gm.regs[1].hva);
    ck_assert_uint_eq(iov[1].len, 32);
    ck_assert_uint_eq(iov[1].flags, VDM_IOV_F_WRITE);
    /* too few spans */
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + R0SZ - 16, 48, VDM_MEM_READ, iov, 1),
        VDM_ENOSPC);
    /* not host-contiguous: lookup refuses */
    ck_assert_int_eq(
        vdm_mem_lookup(&gm.mem, R0 + R0SZ - 16, 48, VDM_MEM_READ, &p),
        VDM_EFAULT);
    /* copies cross the boundary */
    gm_fill(&gm, R0 + R0SZ - 16, 16, 9, 0);
    gm_fill(&gm, R0 + R0SZ, 48, 9, 16);
    ck_assert_int_eq(vdm_mem_read(&gm.mem, R0 + R0SZ - 16, out, 64), 0);
    for (unsigned i = 0; i < 64; i++)
        ck_assert_uint_eq(out[i], gm_pat(9, i));
    memset(out, 0xee, sizeof(out));
    ck_assert_int_eq(vdm_mem_write(&gm.mem, R0 + R0SZ - 8, out, 16), 0);
    ck_assert_uint_eq(((uint8_t *)gm.regs[0].hva)[R0SZ - 1], 0xee);
    ck_assert_uint_eq(((uint8_t *)gm.regs[1].hva)[7], 0xee);
    ck_assert_uint_eq(((uint8_t *)gm.regs[1].hva)[8], gm_pat(9, 24));
    gm_fini(&gm);
}
END_TEST

START_TEST(straddle_host_adjacent)
{
    /* two regions that are adjacent in guest and host: lookup accepts */
    static uint8_t buf[256];
    struct vdm_mem_region r[2] = {
        {.gpa = 0x1000, .size = 128, .hva = buf},
        {.gpa = 0x1080, .size = 128, .hva = buf + 128},
    };
    struct vdm_mem m = {.size = sizeof(m), .nregions = 2, .regions = r};
    struct vdm_iov iov[2];
    void *p = NULL;

    ck_assert_int_eq(vdm_mem_check(&m), 0);
    ck_assert_int_eq(vdm_mem_lookup(&m, 0x1070, 32, VDM_MEM_READ, &p), 0);
    ck_assert_ptr_eq(p, buf + 0x70);
    ck_assert_int_eq(vdm_mem_map(&m, 0x1070, 32, VDM_MEM_READ, iov, 2), 2);
    ck_assert_uint_eq(iov[0].len + iov[1].len, 32);
    /* host mappings swapped: no longer contiguous */
    r[0].hva = buf + 128;
    r[1].hva = buf;
    ck_assert_int_eq(vdm_mem_lookup(&m, 0x1070, 32, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&m, 0x1000, 128, VDM_MEM_READ, &p), 0);
}
END_TEST

START_TEST(straddle_gap)
{
    /* non-adjacent regions: the hole is unmapped */
    uint64_t gpas[2] = {R0, R0 + 2 * R0SZ}, sizes[2] = {R0SZ, R0SZ};
    struct gm gm;
    struct vdm_iov iov[4];
    uint8_t out[32];
    void *p = NULL;

    gm_init(&gm, gpas, sizes, 2);
    memset(out, 0x11, sizeof(out));
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + R0SZ - 16, 32, VDM_MEM_READ, iov, 4),
        VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, R0 + R0SZ, 16, VDM_MEM_READ, iov, 4),
                     VDM_EFAULT);
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + 2 * R0SZ - 1, 2, VDM_MEM_READ, iov, 4),
        VDM_EFAULT);
    ck_assert_int_eq(
        vdm_mem_lookup(&gm.mem, R0 + R0SZ + 5, 1, VDM_MEM_READ, &p),
        VDM_EFAULT);
    /* nothing copied on a partial fault, either way */
    gm_fill(&gm, R0 + R0SZ - 16, 16, 3, 0);
    ck_assert_int_eq(vdm_mem_read(&gm.mem, R0 + R0SZ - 16, out, 32),
                     VDM_EFAULT);
    for (unsigned i = 0; i < 32; i++)
        ck_assert_uint_eq(out[i], 0x11);
    ck_assert_int_eq(vdm_mem_write(&gm.mem, R0 + R0SZ - 16, out, 32),
                     VDM_EFAULT);
    ck_assert(gm_check(&gm, R0 + R0SZ - 16, 16, 3, 0));
    /* both regions individually fine */
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + 2 * R0SZ, R0SZ, VDM_MEM_READ, iov, 4), 1);
    gm_fini(&gm);
}
END_TEST

START_TEST(read_only_region)
{
    struct gm gm;
    struct vdm_iov iov[2];
    uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    void *p = NULL;

    gm_init1(&gm, R0, R0SZ);
    gm.regs[0].flags = VDM_MEM_REGION_RDONLY;
    ck_assert_int_eq(vdm_mem_check(&gm.mem), 0);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, 8, VDM_MEM_READ, &p), 0);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, 8, VDM_MEM_WRITE, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, 0, VDM_MEM_WRITE, &p),
                     VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, R0, 8, VDM_MEM_READ, iov, 2), 1);
    ck_assert_uint_eq(iov[0].flags, 0);
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0, 8, VDM_MEM_READ | VDM_MEM_WRITE, iov, 2),
        VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_write(&gm.mem, R0, b, 8), VDM_EFAULT);
    ck_assert_uint_eq(((uint8_t *)gm.regs[0].hva)[0], 0);
    ck_assert_int_eq(vdm_mem_read(&gm.mem, R0, b, 8), 0);
    ck_assert_uint_eq(b[0], 0);
    gm_fini(&gm);
}
END_TEST

START_TEST(check_table)
{
    static uint8_t buf[4096];
    struct vdm_mem_region r[3] = {
        {.gpa = 0x1000, .size = 0x100, .hva = buf},
        {.gpa = 0x2000, .size = 0x100, .hva = buf + 0x100},
        {.gpa = 0, .size = 0, .hva = NULL}, /* unused entry */
    };
    struct vdm_mem m = {.size = sizeof(m), .nregions = 3, .regions = r};

    ck_assert_int_eq(vdm_mem_check(&m), 0);
    r[1].gpa = 0x10ff; /* overlaps r[0] by one byte */
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[1].gpa = 0x1100; /* adjacent: fine */
    ck_assert_int_eq(vdm_mem_check(&m), 0);
    r[1].gpa = 0xf01; /* ends inside r[0] */
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[1].gpa = 0x2000;
    r[1].reserved = 1;
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[1].reserved = 0;
    r[1].flags = 0x80;
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[1].flags = VDM_MEM_REGION_RDONLY;
    ck_assert_int_eq(vdm_mem_check(&m), 0);
    r[1].hva = NULL;
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[1].hva = buf;
    r[0].gpa = UINT64_MAX - 0x10; /* wraps */
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[0].gpa = 0x1000;
    r[0].hva = (void *)(UINTPTR_MAX - 0x10); /* host range wraps */
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    r[0].hva = buf;
    m.regions = NULL;
    ck_assert_int_eq(vdm_mem_check(&m), VDM_EINVAL);
    m.nregions = 0;
    ck_assert_int_eq(vdm_mem_check(&m), 0);
    ck_assert_int_eq(vdm_mem_check(NULL), VDM_EINVAL);
}
END_TEST

START_TEST(unused_entries_and_last_hit)
{
    /* lookups through many regions, including unused ones, hit the right
     * region in any order (exercises the per-call region hint) */
    static uint8_t buf[8 * 64];
    struct vdm_mem_region r[8];
    struct vdm_mem m = {.size = sizeof(m), .nregions = 8, .regions = r};
    struct vdm_iov iov[8];

    memset(r, 0, sizeof(r));
    for (unsigned i = 0; i < 8; i++) {
        if (i == 3)
            continue;
        r[i].gpa = 0x100000 * (uint64_t)(8 - i);
        r[i].size = 64;
        r[i].hva = buf + 64 * i;
    }
    ck_assert_int_eq(vdm_mem_check(&m), 0);
    for (unsigned k = 0; k < 32; k++) {
        unsigned i = (k * 5) % 8;
        void *p = NULL;
        int rc = vdm_mem_lookup(&m, 0x100000 * (uint64_t)(8 - i) + 7, 8,
                                VDM_MEM_READ, &p);
        if (i == 3) {
            ck_assert_int_eq(rc, VDM_EFAULT);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_ptr_eq(p, buf + 64 * i + 7);
        }
    }
    ck_assert_int_eq(vdm_mem_map(&m, 0x100000 * 5, 64, VDM_MEM_READ, iov, 8),
                     VDM_EFAULT);
}
END_TEST

START_TEST(span_limit_4g)
{
    /* a range over 4 GiB is cut into spans of at most UINT32_MAX bytes */
    struct gm gm;
    struct vdm_iov iov[3];
    uint64_t big = (5ull << 30);

    gm_init1(&gm, 0, big);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0, big, VDM_MEM_READ, iov, 3), 2);
    ck_assert_uint_eq(iov[0].len, UINT32_MAX);
    ck_assert_uint_eq(iov[1].len, big - UINT32_MAX);
    ck_assert_ptr_eq(iov[1].base, (uint8_t *)gm.regs[0].hva + UINT32_MAX);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0, big, VDM_MEM_READ, iov, 1),
                     VDM_ENOSPC);
    gm_fini(&gm);
}
END_TEST

START_TEST(older_struct_size)
{
    /* a caller built against a vdm_mem without ops/host: the hook fields
     * beyond its size are ignored */
    struct gm gm;
    void *p = NULL;

    gm_init1(&gm, R0, R0SZ);
    gm.mem.ops = (const struct vdm_mem_ops *)(uintptr_t)0x1; /* garbage */
    gm.mem.size = (uint32_t)offsetof(struct vdm_mem, ops);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0, 4, VDM_MEM_READ, &p), 0);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, 0x100, 4, VDM_MEM_READ, &p),
                     VDM_EFAULT); /* would call the hook if size allowed */
    gm_fini(&gm);
}
END_TEST

/* ---- translate hook ------------------------------------------------- */

struct hook {
    uint8_t *buf;
    uint64_t gpa, size, maxmap;
    unsigned ntrans, nunmap;
    uint64_t mapped, unmapped;
    uint64_t last_addr, last_len;
    uint32_t last_access;
    int fail;
};

static int tr(void *host, uint64_t addr, uint64_t len, uint32_t access,
              void **hva, uint64_t *maplen)
{
    struct hook *h = host;
    uint64_t off, ml;

    h->ntrans++;
    h->last_addr = addr;
    h->last_len = len;
    h->last_access = access;
    if (h->fail || addr < h->gpa || addr - h->gpa >= h->size)
        return VDM_EFAULT;
    off = addr - h->gpa;
    ml = len;
    if (ml > h->size - off)
        ml = h->size - off;
    if (h->maxmap && ml > h->maxmap)
        ml = h->maxmap;
    *hva = h->buf + off;
    *maplen = ml;
    h->mapped += ml;
    return 0;
}

static void um(void *host, void *hva, uint64_t len)
{
    struct hook *h = host;

    ck_assert_ptr_nonnull(hva);
    h->nunmap++;
    h->unmapped += len;
}

static const struct vdm_mem_ops hook_ops = {
    .size = sizeof(struct vdm_mem_ops), .translate = tr, .unmap = um};

static void hook_setup(struct gm *gm, struct hook *h, uint64_t hgpa)
{
    gm_init1(gm, R0, R0SZ);
    memset(h, 0, sizeof(*h));
    h->size = 0x1000;
    h->buf = calloc(1, h->size);
    ck_assert_ptr_nonnull(h->buf);
    h->gpa = hgpa;
    for (unsigned i = 0; i < h->size; i++)
        h->buf[i] = (uint8_t)(i * 3);
    gm->mem.ops = &hook_ops;
    gm->mem.host = h;
}

/* The hooks follow the build (vdm/config.h VDM_CONFIG_MEM_HOOKS): built
 * in, vdm_mem_check() accepts a translate hook and the hook maps what no
 * region covers; left out, vdm_mem_check() refuses it (VDM_ENOTSUP), the
 * lookups fault outside the table and never call it. */
START_TEST(hooks_follow_config)
{
    struct gm gm;
    struct hook h;
    struct vdm_iov iov[2];
    void *p = NULL;
    uint8_t b[4];

    hook_setup(&gm, &h, 0x40000);
    ck_assert_int_eq(vdm_mem_check(&gm.mem),
                     VDM_CONFIG_MEM_HOOKS ? 0 : VDM_ENOTSUP);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0x40010, 4, VDM_MEM_READ, iov, 2),
                     VDM_CONFIG_MEM_HOOKS ? 1 : VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, 0x40010, 4, VDM_MEM_READ, &p),
                     VDM_CONFIG_MEM_HOOKS ? 0 : VDM_EFAULT);
    ck_assert_int_eq(vdm_mem_read(&gm.mem, 0x40010, b, sizeof(b)),
                     VDM_CONFIG_MEM_HOOKS ? 0 : VDM_EFAULT);
    if (VDM_CONFIG_MEM_HOOKS)
        ck_assert_uint_ne(h.ntrans, 0);
    else
        ck_assert_uint_eq(h.ntrans, 0);
    /* the table still maps what it holds */
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, R0 + 8, 4, VDM_MEM_READ, &p), 0);
    gm.mem.ops = NULL;
    ck_assert_int_eq(vdm_mem_check(&gm.mem), 0);
    free(h.buf);
}
END_TEST

START_TEST(hook_map_release)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    struct gm gm;
    struct hook h;
    struct vdm_iov iov[8];

    hook_setup(&gm, &h, 0x40000);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0x40010, 0x100,
                                 VDM_MEM_READ | VDM_MEM_WRITE, iov, 8),
                     1);
    ck_assert_ptr_eq(iov[0].base, h.buf + 0x10);
    ck_assert_uint_eq(iov[0].len, 0x100);
    ck_assert_uint_eq(iov[0].flags, VDM_IOV_F_HOOK | VDM_IOV_F_WRITE);
    ck_assert_uint_eq(h.last_access, VDM_MEM_READ | VDM_MEM_WRITE);
    ck_assert_uint_eq(h.nunmap, 0);
    vdm_mem_release(&gm.mem, iov, 1);
    ck_assert_uint_eq(h.nunmap, 1);
    ck_assert_uint_eq(h.unmapped, 0x100);
    /* region spans are not given to unmap */
    ck_assert_int_eq(vdm_mem_map(&gm.mem, R0, 16, VDM_MEM_READ, iov, 8), 1);
    ck_assert_uint_eq(iov[0].flags, 0);
    vdm_mem_release(&gm.mem, iov, 1);
    ck_assert_uint_eq(h.nunmap, 1);
    /* partial maps: several hook spans, then ENOSPC gives all back */
    h.maxmap = 16;
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0x40000, 64, VDM_MEM_READ, iov, 8),
                     4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_ptr_eq(iov[i].base, h.buf + 16 * i);
        ck_assert_uint_eq(iov[i].len, 16);
    }
    vdm_mem_release(&gm.mem, iov, 4);
    ck_assert_uint_eq(h.mapped, h.unmapped);
    ck_assert_int_eq(vdm_mem_map(&gm.mem, 0x40000, 64, VDM_MEM_READ, iov, 2),
                     VDM_ENOSPC);
    ck_assert_uint_eq(h.mapped, h.unmapped);
    /* failure in the middle gives back what was mapped */
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, 0x40000 + 0x1000 - 32, 64, VDM_MEM_READ, iov, 8),
        VDM_EFAULT);
    ck_assert_uint_eq(h.mapped, h.unmapped);
    ck_assert_uint_eq(h.ntrans, h.nunmap + 1); /* the failed call mapped 0 */
    free(h.buf);
    gm_fini(&gm);
}
END_TEST

START_TEST(hook_and_region_straddle)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    struct gm gm;
    struct hook h;
    struct vdm_iov iov[4];

    /* hook area right after the region */
    hook_setup(&gm, &h, R0 + R0SZ);
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 + R0SZ - 0x10, 0x30, VDM_MEM_READ, iov, 4), 2);
    ck_assert_uint_eq(iov[0].flags, 0);
    ck_assert_uint_eq(iov[0].len, 0x10);
    ck_assert_uint_eq(iov[1].flags, VDM_IOV_F_HOOK);
    ck_assert_uint_eq(iov[1].len, 0x20);
    ck_assert_uint_eq(h.last_addr, R0 + R0SZ);
    ck_assert_uint_eq(h.last_len, 0x20);
    vdm_mem_release(&gm.mem, iov, 2);
    ck_assert_uint_eq(h.nunmap, 1);
    free(h.buf);
    gm_fini(&gm);

    /* hook area right before the region: the hook is asked only up to
     * the region's start */
    hook_setup(&gm, &h, R0 - 0x1000);
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 - 0x10, 0x30, VDM_MEM_WRITE, iov, 4), 2);
    ck_assert_uint_eq(h.ntrans, 1);
    ck_assert_uint_eq(h.last_addr, R0 - 0x10);
    ck_assert_uint_eq(h.last_len, 0x10);
    ck_assert_uint_eq(iov[0].flags, VDM_IOV_F_HOOK | VDM_IOV_F_WRITE);
    ck_assert_uint_eq(iov[1].flags, VDM_IOV_F_WRITE);
    ck_assert_ptr_eq(iov[1].base, gm.regs[0].hva);
    vdm_mem_release(&gm.mem, iov, 2);
    /* a failing hook is a fault */
    h.fail = 1;
    ck_assert_int_eq(
        vdm_mem_map(&gm.mem, R0 - 0x10, 0x30, VDM_MEM_READ, iov, 4),
        VDM_EFAULT);
    free(h.buf);
    gm_fini(&gm);
}
END_TEST

START_TEST(hook_lookup_and_copy)
{
    UT_NEEDS_OPTION(VDM_CONFIG_MEM_HOOKS);
    struct gm gm;
    struct hook h;
    uint8_t out[100], in[100];
    void *p = NULL;

    hook_setup(&gm, &h, 0x40000);
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, 0x40100, 0x40, VDM_MEM_READ, &p),
                     0);
    ck_assert_ptr_eq(p, h.buf + 0x100);
    ck_assert_uint_eq(h.nunmap, 0); /* the caller's to give back */
    /* lookup needs one translate to cover the range */
    h.maxmap = 16;
    ck_assert_int_eq(vdm_mem_lookup(&gm.mem, 0x40100, 0x40, VDM_MEM_READ, &p),
                     VDM_EFAULT);
    ck_assert_uint_eq(h.nunmap, 1);
    /* copies through many partial maps, all given back */
    h.mapped = h.unmapped = 0;
    ck_assert_int_eq(vdm_mem_read(&gm.mem, 0x40005, out, 100), 0);
    for (unsigned i = 0; i < 100; i++)
        ck_assert_uint_eq(out[i], (uint8_t)((i + 5) * 3));
    ck_assert_uint_eq(h.mapped, h.unmapped);
    for (unsigned i = 0; i < 100; i++)
        in[i] = (uint8_t)(0xa0 ^ i);
    ck_assert_int_eq(vdm_mem_write(&gm.mem, 0x40200, in, 100), 0);
    ck_assert_mem_eq(h.buf + 0x200, in, 100);
    ck_assert_uint_eq(h.mapped, h.unmapped);
    /* partially outside the hook area: nothing written */
    memset(in, 0x77, sizeof(in));
    ck_assert_int_eq(vdm_mem_write(&gm.mem, 0x40000 + 0x1000 - 50, in, 100),
                     VDM_EFAULT);
    ck_assert_uint_ne(h.buf[0x1000 - 50], 0x77);
    ck_assert_uint_eq(h.mapped, h.unmapped);
    free(h.buf);
    gm_fini(&gm);
}
END_TEST

/* ---- iov copies ----------------------------------------------------- */

START_TEST(iov_copy_offsets)
{
    uint8_t a[3], b[5], c[7], src[15], dst[20];
    struct vdm_iov iov[4] = {{.base = a, .len = 3},
                             {.base = b, .len = 5},
                             {.base = NULL, .len = 0},
                             {.base = c, .len = 7}};

    for (unsigned i = 0; i < 15; i++)
        src[i] = (uint8_t)(i + 1);
    ck_assert_uint_eq(vdm_iov_copy_to(iov, 4, 0, src, 15), 15);
    ck_assert_uint_eq(a[0], 1);
    ck_assert_uint_eq(b[0], 4);
    ck_assert_uint_eq(c[0], 9);
    ck_assert_uint_eq(c[6], 15);
    for (size_t off = 0; off <= 16; off++) {
        for (size_t len = 0; len <= 16; len++) {
            size_t want = off >= 15 ? 0 : (15 - off < len ? 15 - off : len);

            memset(dst, 0, sizeof(dst));
            ck_assert_uint_eq(vdm_iov_copy_from(iov, 4, off, dst, len), want);
            for (size_t i = 0; i < want; i++)
                ck_assert_uint_eq(dst[i], off + i + 1);
            ck_assert_uint_eq(dst[want], 0);
        }
    }
    /* write at an offset spanning three buffers */
    memset(dst, 0xc0, sizeof(dst));
    ck_assert_uint_eq(vdm_iov_copy_to(iov, 4, 2, dst, 8), 8);
    ck_assert_uint_eq(a[1], 2);
    ck_assert_uint_eq(a[2], 0xc0);
    ck_assert_uint_eq(b[4], 0xc0);
    ck_assert_uint_eq(c[1], 0xc0);
    ck_assert_uint_eq(c[2], 11);
    /* past the end: short */
    ck_assert_uint_eq(vdm_iov_copy_to(iov, 4, 13, dst, 8), 2);
    ck_assert_uint_eq(vdm_iov_copy_to(iov, 4, 15, dst, 8), 0);
    ck_assert_uint_eq(vdm_iov_copy_to(iov, 0, 0, dst, 8), 0);
}
END_TEST

static Suite *mem_suite(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("lookup");

    tcase_add_test(tc, lookup_start_end_one_past);
    tcase_add_test(tc, lookup_zero_length);
    tcase_add_test(tc, lookup_wrap_at_top);
    tcase_add_test(tc, straddle_adjacent_regions);
    tcase_add_test(tc, straddle_host_adjacent);
    tcase_add_test(tc, straddle_gap);
    tcase_add_test(tc, read_only_region);
    tcase_add_test(tc, check_table);
    tcase_add_test(tc, unused_entries_and_last_hit);
    tcase_add_test(tc, span_limit_4g);
    tcase_add_test(tc, older_struct_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("hook");
    tcase_add_test(tc, hooks_follow_config);
    tcase_add_test(tc, hook_map_release);
    tcase_add_test(tc, hook_and_region_straddle);
    tcase_add_test(tc, hook_lookup_and_copy);
    suite_add_tcase(s, tc);
    tc = tcase_create("iov");
    tcase_add_test(tc, iov_copy_offsets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mem_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
