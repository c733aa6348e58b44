/* SPDX-License-Identifier: BSD-3-Clause */
/* Guard-paged guest memory for the fuzz targets: see fuzz_mem.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fuzz_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FM_PAGE     4096u
#define FM_HOOK_MAX 1024u
#define FM_NHOST    6u /* five regions and the hook window */

struct fm_map {
    uint8_t *hva;
    uint64_t len;
};

struct fm_state {
    int ready;
    uint8_t *lib[FM_NHOST]; /* what the library is given */
    uint8_t *rw[FM_NHOST];  /* harness view (differs for the ROM) */
    uint64_t gpa[FM_NHOST];
    uint64_t size[FM_NHOST];
    struct vdm_mem_region regions[FM_NREG];
    struct vdm_mem mem;
    struct vdm_mem_ops ops;
    struct drv_guest guest;
    int hooks;
    uint32_t gran;
    struct fm_map live[FM_HOOK_MAX];
    unsigned nlive;
    uint64_t cursor;
    uint64_t ring_cursor;
    int wrapped;
    int alias_ok;
};

static struct fm_state S;

static const uint64_t fm_gpas[FM_NHOST] = {FM_HEAP_GPA,  FM_DATA1_GPA,
                                           FM_DATA2_GPA, FM_ROM_GPA,
                                           FM_HIGH_GPA,  FM_HOOK_GPA};
static const uint64_t fm_sizes[FM_NHOST] = {FM_HEAP_SIZE, FM_DATA_SIZE,
                                            FM_DATA_SIZE, FM_ROM_SIZE,
                                            FM_HIGH_SIZE, FM_HOOK_SIZE};

int fz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FUZZ_VERBOSE") != NULL;
    return v;
}

int fz_trace(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FUZZ_TRACE") != NULL;
    return v;
}

static void die(const char *what)
{
    perror(what);
    abort();
}

static void fm_start(void)
{
    size_t total = FM_PAGE;
    for (unsigned i = 0; i < FM_NHOST; i++)
        total += (size_t)fm_sizes[i] + FM_PAGE;
    uint8_t *base = mmap(NULL, total, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        die("fuzz_mem: mmap");
    uint8_t *p = base + FM_PAGE;
    for (unsigned i = 0; i < FM_NHOST; i++) {
        size_t sz = (size_t)fm_sizes[i];
        S.gpa[i] = fm_gpas[i];
        S.size[i] = fm_sizes[i];
        if (i == FM_ROM) {
            /* Read-only for the library, writable for the harness: two
             * views of one memfd. Without memfd: one writable mapping. */
            int fd = memfd_create("vdm-fuzz-rom", 0);
            if (fd >= 0 && ftruncate(fd, (off_t)sz) == 0 &&
                mmap(p, sz, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == p) {
                uint8_t *rw =
                    mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (rw == MAP_FAILED)
                    die("fuzz_mem: rom alias");
                S.lib[i] = p;
                S.rw[i] = rw;
                close(fd);
                p += sz + FM_PAGE;
                continue;
            }
            if (fd >= 0)
                close(fd);
        }
        if (mprotect(p, sz, PROT_READ | PROT_WRITE) != 0)
            die("fuzz_mem: mprotect");
        S.lib[i] = p;
        S.rw[i] = p;
        p += sz + FM_PAGE;
    }
    S.ready = 1;
}

static int fm_translate(void *host, uint64_t addr, uint64_t len,
                        uint32_t access, void **hva, uint64_t *maplen)
{
    (void)host;
    (void)access;
    FZ_CHECK(len > 0, "translate asked for an empty range at %#llx",
             (unsigned long long)addr);
    if (addr < FM_HOOK_GPA || addr - FM_HOOK_GPA >= FM_HOOK_SIZE)
        return VDM_EFAULT;
    if (S.nlive == FM_HOOK_MAX)
        return VDM_EFAULT;
    uint64_t off = addr - FM_HOOK_GPA, ml = FM_HOOK_SIZE - off;
    if (len < ml)
        ml = len;
    if (S.gran != 0 && S.gran - off % S.gran < ml)
        ml = S.gran - off % S.gran;
    S.live[S.nlive].hva = S.lib[FM_HOOK] + off;
    S.live[S.nlive].len = ml;
    S.nlive++;
    *hva = S.lib[FM_HOOK] + off;
    *maplen = ml;
    return 0;
}

static void fm_unmap(void *host, void *hva, uint64_t len)
{
    (void)host;
    for (unsigned i = S.nlive; i-- > 0;) {
        if (S.live[i].hva == hva && S.live[i].len == len) {
            S.live[i] = S.live[--S.nlive];
            return;
        }
    }
    FZ_CHECK(0,
             "unmap(%p, %llu) of a range the translate hook did not map "
             "(or already unmapped)",
             hva, (unsigned long long)len);
}

void fm_reset(int hooks, uint32_t gran)
{
    if (!S.ready)
        fm_start();
    for (unsigned i = 0; i < FM_NHOST; i++)
        memset(S.rw[i], 0, (size_t)S.size[i]);
    for (unsigned i = 0; i < FM_NREG; i++) {
        S.regions[i].gpa = S.gpa[i];
        S.regions[i].size = S.size[i];
        S.regions[i].hva = S.lib[i];
        S.regions[i].flags = i == FM_ROM ? VDM_MEM_REGION_RDONLY : 0;
        S.regions[i].reserved = 0;
    }
    S.hooks = hooks;
    S.gran = gran;
    S.nlive = 0;
    S.cursor = 0;
    S.ring_cursor = 0;
    S.wrapped = 0;
    S.alias_ok = 0;
    S.ops = (struct vdm_mem_ops){
        .size = sizeof(S.ops), .translate = fm_translate, .unmap = fm_unmap};
    S.mem = (struct vdm_mem){.size = sizeof(S.mem),
                             .nregions = FM_NREG,
                             .regions = S.regions,
                             .ops = hooks ? &S.ops : NULL,
                             .host = &S};
    /* The driver simulator's view: the heap in three parts, its allocator
     * (drv_alloc takes the first region with room) confined to the first
     * one by making every other region look full. */
    memset(&S.guest, 0, sizeof(S.guest));
    struct drv_region *g = S.guest.regions;
    g[0] = (struct drv_region){FM_HEAP_GPA + FM_RING_SIZE,
                               FM_HEAP_DRV - FM_RING_SIZE,
                               S.rw[FM_HEAP] + FM_RING_SIZE};
    g[1] = (struct drv_region){FM_HEAP_GPA, FM_RING_SIZE, S.rw[FM_HEAP]};
    g[2] = (struct drv_region){FM_HEAP_GPA + FM_HEAP_DRV,
                               FM_HEAP_SIZE - FM_HEAP_DRV,
                               S.rw[FM_HEAP] + FM_HEAP_DRV};
    for (unsigned i = 1; i < FM_NHOST; i++)
        g[2 + i] = (struct drv_region){S.gpa[i], S.size[i], S.rw[i]};
    S.guest.nregions = FM_NHOST + 2;
    for (unsigned i = 1; i < S.guest.nregions; i++)
        S.guest.bump[i] = g[i].size;
}

uint64_t fm_ring_alloc(uint64_t size, uint64_t align)
{
    uint64_t c = (S.ring_cursor + align - 1) & ~(align - 1);
    if (c > FM_RING_SIZE || size > FM_RING_SIZE - c)
        return 0;
    S.ring_cursor = c + size;
    return FM_HEAP_GPA + c;
}

int fm_hits_harness(uint64_t gpa, uint64_t len)
{
    static const uint64_t a[3] = {FM_HEAP_GPA + FM_RING_SIZE, FM_DATA1_GPA,
                                  FM_HEAP_GPA + FM_HEAP_DRV};
    static const uint64_t l[3] = {FM_HEAP_DRV - FM_RING_SIZE, 2 * FM_DATA_SIZE,
                                  FM_HEAP_SIZE - FM_HEAP_DRV};
    if (len == 0)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (gpa < a[i] + l[i] && a[i] <= gpa + (len - 1))
            return 1;
    }
    return 0;
}

int fm_buf_wrapped(void)
{
    return S.wrapped;
}

const struct vdm_mem *fm_mem(void)
{
    return &S.mem;
}

struct drv_guest *fm_guest(void)
{
    return &S.guest;
}

void *fm_hva(uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < FM_NHOST; i++) {
        if (gpa < S.gpa[i])
            continue;
        uint64_t off = gpa - S.gpa[i];
        if (off < S.size[i] && len <= S.size[i] - off)
            return S.rw[i] + off;
    }
    return NULL;
}

void *fm_lib_hva(uint64_t gpa, uint64_t len)
{
    unsigned n = S.hooks ? FM_NHOST : FM_NREG;
    for (unsigned i = 0; i < n; i++) {
        if (gpa < S.gpa[i])
            continue;
        uint64_t off = gpa - S.gpa[i];
        if (off < S.size[i] && len <= S.size[i] - off)
            return S.lib[i] + off;
    }
    return NULL;
}

int fm_span_ok(const void *hva, uint64_t len, int write)
{
    uintptr_t p = (uintptr_t)hva;
    for (unsigned i = 0; i < FM_NREG; i++) {
        uintptr_t b = (uintptr_t)S.lib[i];
        if (p >= b && p - b < S.size[i] && len <= S.size[i] - (p - b))
            return !(write && i == FM_ROM);
    }
    for (unsigned i = 0; S.alias_ok && i < FM_NHOST; i++) {
        uintptr_t b = (uintptr_t)S.rw[i];
        if (p >= b && p - b < S.size[i] && len <= S.size[i] - (p - b))
            return 1;
    }
    for (unsigned i = 0; i < S.nlive; i++) {
        uintptr_t b = (uintptr_t)S.live[i].hva;
        if (p >= b && p - b < S.live[i].len && len <= S.live[i].len - (p - b))
            return 1;
    }
    return 0;
}

void fm_accept_alias(int on)
{
    S.alias_ok = on;
}

uint8_t *fm_file(unsigned i, uint64_t *size)
{
    if (i >= FM_NHOST)
        return NULL;
    *size = S.size[i];
    return S.rw[i];
}

int fm_range_ok(uint64_t gpa, uint64_t len, int write)
{
    if (len == 0)
        return 1;
    if (len - 1 > UINT64_MAX - gpa)
        return 0;
    while (len > 0) {
        unsigned i, n = S.hooks ? FM_NHOST : FM_NREG;
        for (i = 0; i < n; i++) {
            if (gpa >= S.gpa[i] && gpa - S.gpa[i] < S.size[i])
                break;
        }
        if (i == n || (write && i == FM_ROM))
            return 0;
        uint64_t rem = S.size[i] - (gpa - S.gpa[i]);
        if (len <= rem)
            return 1;
        len -= rem;
        gpa += rem;
    }
    return 1;
}

int fm_read(uint64_t gpa, void *dst, uint64_t n)
{
    uint8_t *d = dst;
    if (!fm_range_ok(gpa, n, 0))
        return -1;
    while (n > 0) {
        unsigned i;
        for (i = 0; i < FM_NHOST; i++) {
            if (gpa >= S.gpa[i] && gpa - S.gpa[i] < S.size[i])
                break;
        }
        if (i == FM_NHOST)
            return -1;
        uint64_t off = gpa - S.gpa[i], k = S.size[i] - off;
        if (k > n)
            k = n;
        memcpy(d, S.rw[i] + off, (size_t)k);
        d += k;
        gpa += k;
        n -= k;
    }
    return 0;
}

uint64_t fm_gpa_buf(uint64_t len)
{
    /* Buffer space: DATA1+DATA2 (32 KiB, contiguous in guest space), then
     * the upper part of the heap. */
    const uint64_t a_sz = 2 * FM_DATA_SIZE, b_sz = FM_HEAP_SIZE - FM_HEAP_DRV;
    uint64_t c = (S.cursor + 7) & ~7ull;
    if (c < a_sz && len > a_sz - c)
        c = a_sz;
    if (c >= a_sz && (c - a_sz > b_sz || len > b_sz - (c - a_sz))) {
        c = 0;
        S.wrapped = 1;
    }
    S.cursor = c + len;
    return c < a_sz ? FM_DATA1_GPA + c : FM_HEAP_GPA + FM_HEAP_DRV + (c - a_sz);
}

void fm_write(uint64_t gpa, const void *src, uint64_t n)
{
    const uint8_t *s = src;
    while (n > 0) {
        unsigned i;
        uint64_t k = 1;
        for (i = 0; i < FM_NHOST; i++) {
            if (gpa >= S.gpa[i] && gpa - S.gpa[i] < S.size[i])
                break;
        }
        if (i < FM_NHOST) {
            uint64_t off = gpa - S.gpa[i];
            k = S.size[i] - off;
            if (k > n)
                k = n;
            memcpy(S.rw[i] + off, s, (size_t)k);
        }
        if (gpa + k < gpa)
            return;
        s += k;
        gpa += k;
        n -= k;
    }
}

uint64_t fm_gpa(struct fz *f, uint64_t len)
{
    int fresh;
    return fm_gpa_ex(f, len, &fresh);
}

uint64_t fm_gpa_ex(struct fz *f, uint64_t len, int *fresh)
{
    unsigned sel = fz_u8(f) % FM_NSEL;
    *fresh = sel == FM_SEL_AUTO && !S.wrapped;
    switch (sel) {
    case FM_SEL_AUTO: {
        uint64_t a = fm_gpa_buf(len);
        *fresh = *fresh && !S.wrapped;
        return a;
    }
    case FM_SEL_REGION: {
        unsigned r = fz_u8(f) % FM_NHOST;
        return S.gpa[r] + fz_u16(f) % S.size[r];
    }
    case FM_SEL_HOLE: return 0x30000ull + fz_u16(f);
    case FM_SEL_TOP: return UINT64_MAX - fz_u16(f);
    case FM_SEL_RAW: return fz_u64(f);
    case FM_SEL_STRADDLE: return FM_DATA2_GPA - 1u - fz_u8(f);
    case FM_SEL_END: {
        unsigned r = fz_u8(f) % FM_NHOST;
        return S.gpa[r] + S.size[r] + fz_u8(f) - len;
    }
    }
    return 0;
}

uint64_t fm_drv_room(void)
{
    uint64_t sz = S.guest.regions[0].size;
    return S.guest.bump[0] >= sz ? 0 : sz - S.guest.bump[0];
}

unsigned fm_hook_live(void)
{
    return S.nlive;
}

void fm_check_released(void)
{
    FZ_CHECK(S.nlive == 0,
             "%u translate-hook mapping(s) never given back (first %p, %llu "
             "bytes)",
             S.nlive, S.nlive ? (void *)S.live[0].hva : NULL,
             S.nlive ? (unsigned long long)S.live[0].len : 0ull);
}
