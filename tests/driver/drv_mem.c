/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated guest memory for the driver simulator: each region is its own
 * anonymous mapping framed by PROT_NONE guard pages, so that a device reading
 * or writing outside the regions faults at once.
 */
#include "drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* hva and gpa are kept congruent modulo this many bytes */
#define DRV_CONGRUENCE 64u

static uint64_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (uint64_t)p : 4096u;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

int drv_guest_init(struct drv_guest *g, const uint64_t *gpas,
                   const uint64_t *sizes, unsigned n)
{
    uint64_t pg = page_size();

    memset(g, 0, sizeof(*g));
    if (n == 0 || n > DRV_MAX_REGIONS)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (sizes[i] == 0 || gpas[i] > UINT64_MAX - sizes[i] + 1)
            return -1;
        /* refuse anything that cannot be mapped on this host */
        if (sizes[i] > (uint64_t)SIZE_MAX / 2)
            return -1;
        for (unsigned j = 0; j < i; j++) {
            uint64_t a0 = gpas[i], a1 = gpas[i] + (sizes[i] - 1);
            uint64_t b0 = gpas[j], b1 = gpas[j] + (sizes[j] - 1);
            if (a0 <= b1 && b0 <= a1)
                return -1;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t size = sizes[i];
        uint64_t want = gpas[i] & (DRV_CONGRUENCE - 1);
        uint64_t data = round_up(size, pg);
        /* gap d in [0, 64) after the region so that hva == gpa mod 64 */
        uint64_t d = ((0 - size) - want) & (DRV_CONGRUENCE - 1);
        if (size + d > data)
            data += pg;
        size_t total = (size_t)(data + 2 * pg);
        void *base = mmap(NULL, total, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
            drv_guest_fini(g);
            return -1;
        }
        unsigned char *b = base;
        if (mprotect(b + pg, (size_t)data, PROT_READ | PROT_WRITE) != 0) {
            munmap(base, total);
            drv_guest_fini(g);
            return -1;
        }
        g->map_base[i] = base;
        g->map_len[i] = total;
        g->regions[i].gpa = gpas[i];
        g->regions[i].size = size;
        g->regions[i].hva = b + pg + (data - size - d);
        g->nregions = i + 1;
    }
    return 0;
}

void drv_guest_fini(struct drv_guest *g)
{
    for (unsigned i = 0; i < DRV_MAX_REGIONS; i++) {
        if (g->map_base[i])
            munmap(g->map_base[i], g->map_len[i]);
    }
    memset(g, 0, sizeof(*g));
}

int drv_guest_adopt(struct drv_guest *g, uint64_t gpa, uint64_t size, void *hva)
{
    memset(g, 0, sizeof(*g));
    if (size == 0 || gpa > UINT64_MAX - size + 1 || hva == NULL)
        return -1;
    g->regions[0].gpa = gpa;
    g->regions[0].size = size;
    g->regions[0].hva = hva;
    g->nregions = 1;
    return 0;
}

void *drv_gpa(struct drv_guest *g, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < g->nregions; i++) {
        const struct drv_region *r = &g->regions[i];
        if (gpa < r->gpa)
            continue;
        uint64_t off = gpa - r->gpa;
        if (off > r->size || len > r->size - off)
            continue;
        return (unsigned char *)r->hva + off;
    }
    return NULL;
}

uint64_t drv_hva_to_gpa(const struct drv_guest *g, const void *hva)
{
    uintptr_t p = (uintptr_t)hva;
    for (unsigned i = 0; i < g->nregions; i++) {
        const struct drv_region *r = &g->regions[i];
        uintptr_t b = (uintptr_t)r->hva;
        if (p >= b && (uint64_t)(p - b) < r->size)
            return r->gpa + (uint64_t)(p - b);
    }
    return UINT64_MAX;
}

/* 0 and *out set on success, -1 if region @i has no room */
static int try_alloc(struct drv_guest *g, unsigned i, uint64_t size,
                     uint64_t align, uint64_t *out)
{
    const struct drv_region *r = &g->regions[i];
    uint64_t cur = r->gpa + g->bump[i];
    if (cur > UINT64_MAX - (align - 1))
        return -1;
    uint64_t a = (cur + align - 1) & ~(align - 1);
    uint64_t off = a - r->gpa;
    if (off > r->size || size > r->size - off)
        return -1;
    /* memory above the high-water mark is still zero from mmap */
    if (off < g->hiwater[i]) {
        uint64_t z = g->hiwater[i] - off;
        if (z > size)
            z = size;
        memset((unsigned char *)r->hva + off, 0, (size_t)z);
    }
    g->bump[i] = off + size;
    if (g->bump[i] > g->hiwater[i])
        g->hiwater[i] = g->bump[i];
    *out = a;
    return 0;
}

static uint64_t check_align(uint64_t align)
{
    if (align == 0)
        return 1;
    if (align & (align - 1)) {
        fprintf(stderr, "drv_alloc: alignment %llu is not a power of two\n",
                (unsigned long long)align);
        abort();
    }
    return align;
}

uint64_t drv_alloc(struct drv_guest *g, uint64_t size, uint64_t align)
{
    uint64_t a;
    align = check_align(align);
    for (unsigned i = 0; i < g->nregions; i++) {
        if (try_alloc(g, i, size, align, &a) == 0)
            return a;
    }
    fprintf(stderr,
            "drv_alloc: guest memory exhausted (%llu bytes, align %llu)\n",
            (unsigned long long)size, (unsigned long long)align);
    abort();
}

uint64_t drv_alloc_in(struct drv_guest *g, unsigned region, uint64_t size,
                      uint64_t align)
{
    uint64_t a;
    align = check_align(align);
    if (region < g->nregions && try_alloc(g, region, size, align, &a) == 0)
        return a;
    fprintf(stderr,
            "drv_alloc_in: region %u exhausted (%llu bytes, align %llu)\n",
            region, (unsigned long long)size, (unsigned long long)align);
    abort();
}

void drv_alloc_reset(struct drv_guest *g)
{
    for (unsigned i = 0; i < DRV_MAX_REGIONS; i++)
        g->bump[i] = 0;
}
