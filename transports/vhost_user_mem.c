/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: the memory table. SET_MEM_TABLE, ADD_MEM_REG,
 * REM_MEM_REG and user address translation (vhost-user "Memory access"). */
#include "vhost_user_internal.h"

#include <stdbool.h>

#if VDM_CONFIG_VHOST_USER /* vdm/config.h: the whole file */

/* Spec "Memory access": a user address maps to the region containing it.
 * The whole [uva, uva + len) must lie in that one region. */
int vdmi_vu_uva_to_gpa(const struct vu_state *s, uint64_t uva, uint64_t len,
                       uint64_t *gpa)
{
    uint32_t i;
    if (len == 0)
        len = 1;
    for (i = 0; i < s->mem.nregions; i++) {
        uint64_t off;
        if (uva < s->uva[i])
            continue;
        off = uva - s->uva[i];
        if (off >= s->regions[i].size || len > s->regions[i].size - off)
            continue;
        *gpa = s->regions[i].gpa + off;
        return 0;
    }
    return VDM_EFAULT;
}

/* ------------------------------------------------------------------------ */
/* Memory table */

struct vu_region {
    uint64_t gpa, size, uva, moff;
};

static void read_region(const uint8_t *p, struct vu_region *r)
{
    r->gpa = rd64(p);
    r->size = rd64(p + 8);
    r->uva = rd64(p + 16);
    r->moff = rd64(p + 24);
}

/* Sizes non-zero, no range wraps past 2^64. */
static int region_valid(const struct vu_region *r)
{
    uint64_t last = r->size - 1;
    return r->size != 0 && r->gpa <= UINT64_MAX - last &&
           r->uva <= UINT64_MAX - last && r->moff <= UINT64_MAX - last;
}

static int region_same(const struct vu_state *s, uint32_t i,
                       const struct vu_region *r)
{
    return s->regions[i].gpa == r->gpa && s->regions[i].size == r->size &&
           s->uva[i] == r->uva && s->moff[i] == r->moff;
}

/* Does ring r, held by the core, lie (partly) in a region marked in
 * @p gone? */
static int ring_in_gone(const struct vu_state *s, const struct vu_ring *r,
                        const uint8_t *gone)
{
    uint32_t i;
    int a;
    if ((r->flags & RF_CORE) == 0)
        return 0;
    for (i = 0; i < s->mem.nregions; i++) {
        if (!gone[i])
            continue;
        for (a = 0; a < 3; a++)
            if (overlaps(r->gpa[a], vdmi_vu_area_len(s, a, r->core_num),
                         s->regions[i].gpa, s->regions[i].size))
                return 1;
    }
    return 0;
}

static void region_unmap(const struct vu_state *s, uint32_t i)
{
    s->ops->unmap(s->host, s->regions[i].hva, s->moff[i], s->regions[i].size);
}

static void region_put(struct vu_state *s, uint32_t i,
                       const struct vu_region *r, void *hva)
{
    s->regions[i].gpa = r->gpa;
    s->regions[i].size = r->size;
    s->regions[i].hva = hva;
    s->regions[i].flags = 0;
    s->regions[i].reserved = 0;
    s->uva[i] = r->uva;
    s->moff[i] = r->moff;
}

static void region_remove(struct vu_state *s, uint32_t i)
{
    uint32_t n = s->mem.nregions;
    for (; i + 1 < n; i++) {
        s->regions[i] = s->regions[i + 1];
        s->uva[i] = s->uva[i + 1];
        s->moff[i] = s->moff[i + 1];
    }
    __builtin_memset(&s->regions[n - 1], 0, sizeof(s->regions[0]));
    s->mem.nregions = n - 1;
}

/* Before old regions go (bit i of @p gone set): the rings the core holds
 * in them leave the core alone, positions saved, and a started one waits
 * for its memory (vdmi_vu_rings_retry); the other rings run on, their
 * in-flight requests kept. Without RING_RESET in the core the whole core
 * is stopped instead: returns 1 when it was running and should be
 * restarted afterwards. */
static int rings_leave(struct vu_state *s, const uint8_t *gone)
{
    uint16_t q, n = dev_queues(s);
    int busy = 0;
    bool live;
    for (q = 0; q < n && !busy; q++)
        if (ring_in_gone(s, ring(s, q), gone))
            busy = 1;
    if (!busy)
        return 0;
    if (vdmi_vu_core_one_ring(s)) {
        for (q = 0; q < n; q++)
            if (ring_in_gone(s, ring(s, q), gone))
                vdmi_vu_ring_leave(s, q);
        vlog(s, VDM_LOG_WARN,
             "vhost-user: memory under a running ring removed; the ring "
             "waits for it");
        return 0;
    }
    live = (vdm_dev_status(s->dev) & VDM_STATUS_DRIVER_OK) != 0u;
    vlog(s, VDM_LOG_WARN,
         "vhost-user: memory under a running ring removed; device restarted");
    vdmi_vu_core_stop(s);
    return live ? 1 : 0;
}

int vdmi_vu_on_set_mem_table(struct vu_state *s, struct vu_msg *m)
{
    struct vu_region nr[VDM_VHOST_USER_MEM_TABLE_MAX];
    void *hva[VDM_VHOST_USER_MEM_TABLE_MAX];
    int32_t keep[VDM_VHOST_USER_MEM_TABLE_MAX];
    uint8_t gone[VDM_VHOST_USER_MAX_REGIONS];
    uint32_t n, i, j;
    int restart, rc;

    if (m->size < SZ_MEMHDR)
        goto malformed;
    n = rd32(m->p);
    if (n > VDM_VHOST_USER_MEM_TABLE_MAX ||
        m->size != SZ_MEMHDR + n * SZ_REGION)
        goto malformed;
    if (m->nfds != n) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_MEM_TABLE: fd count differs from region count");
        return VDM_EINVAL;
    }
    for (i = 0; i < n; i++) {
        read_region(m->p + SZ_MEMHDR + i * SZ_REGION, &nr[i]);
        if (!region_valid(&nr[i])) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: SET_MEM_TABLE: empty or wrapping region");
            return VDM_EINVAL;
        }
        for (j = 0; j < i; j++)
            if (overlaps(nr[i].gpa, nr[i].size, nr[j].gpa, nr[j].size)) {
                vlog(s, VDM_LOG_ERROR,
                     "vhost-user: SET_MEM_TABLE: overlapping regions");
                return VDM_EINVAL;
            }
    }
    /* Map what is new; regions identical to current ones keep their
     * mapping (front-ends resend the whole table on every change). */
    for (i = 0; i < n; i++) {
        keep[i] = -1;
        hva[i] = NULL;
        for (j = 0; j < s->mem.nregions; j++)
            if (region_same(s, j, &nr[i]))
                keep[i] = (int32_t)j;
        if (keep[i] >= 0) {
            hva[i] = s->regions[keep[i]].hva;
            continue;
        }
        rc = s->ops->map(s->host, m->fds[i], nr[i].moff, nr[i].size, &hva[i]);
        if (rc < 0 || hva[i] == NULL) {
            vlog(s, VDM_LOG_ERROR, "vhost-user: SET_MEM_TABLE: map failed");
            for (j = 0; j < i; j++)
                if (keep[j] < 0)
                    s->ops->unmap(s->host, hva[j], nr[j].moff, nr[j].size);
            return rc < 0 ? rc : VDM_EIO;
        }
    }
    /* (The fds are closed by the caller of the handler, untaken.) */
    for (j = 0; j < s->mem.nregions; j++) {
        gone[j] = 1;
        for (i = 0; i < n; i++)
            if (keep[i] == (int32_t)j)
                gone[j] = 0;
    }
    restart = rings_leave(s, gone);
    for (j = 0; j < s->mem.nregions; j++)
        if (gone[j])
            region_unmap(s, j);
    for (i = 0; i < n; i++)
        region_put(s, i, &nr[i], hva[i]);
    for (i = n; i < s->mem.nregions; i++)
        __builtin_memset(&s->regions[i], 0, sizeof(s->regions[i]));
    s->mem.nregions = n;
    if (restart)
        (void)vdmi_vu_core_sync(s);
    vdmi_vu_rings_retry(s);
    return 0;
malformed:
    vlog(s, VDM_LOG_ERROR, "vhost-user: SET_MEM_TABLE: malformed payload");
    return VDM_EINVAL;
}

int vdmi_vu_on_add_mem_reg(struct vu_state *s, struct vu_msg *m)
{
    struct vu_region r;
    void *hva = NULL;
    uint32_t i;
    int rc;

    if (m->size != SZ_U64 + SZ_REGION) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: malformed payload");
        return VDM_EINVAL;
    }
    if (m->nfds != 1) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: needs one fd");
        return VDM_EINVAL;
    }
    read_region(m->p + SZ_U64, &r);
    if (!region_valid(&r)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: ADD_MEM_REG: empty or wrapping region");
        return VDM_EINVAL;
    }
    for (i = 0; i < s->mem.nregions; i++) {
        if (region_same(s, i, &r))
            return 0; /* already there */
        if (overlaps(r.gpa, r.size, s->regions[i].gpa, s->regions[i].size)) {
            vlog(s, VDM_LOG_ERROR,
                 "vhost-user: ADD_MEM_REG: region overlaps another");
            return VDM_EINVAL;
        }
    }
    if (s->mem.nregions >= VDM_VHOST_USER_MAX_REGIONS) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: every slot in use");
        return VDM_ENOSPC;
    }
    rc = s->ops->map(s->host, m->fds[0], r.moff, r.size, &hva);
    if (rc < 0 || hva == NULL) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: ADD_MEM_REG: map failed");
        return rc < 0 ? rc : VDM_EIO;
    }
    region_put(s, s->mem.nregions, &r, hva);
    s->mem.nregions++;
    vdmi_vu_rings_retry(s);
    return 0;
}

int vdmi_vu_on_rem_mem_reg(struct vu_state *s, struct vu_msg *m)
{
    uint8_t gone[VDM_VHOST_USER_MAX_REGIONS];
    struct vu_region r;
    uint32_t i;
    int restart;

    if (m->size != SZ_U64 + SZ_REGION) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: malformed payload");
        return VDM_EINVAL;
    }
    /* "No file descriptors SHOULD be passed ... the back-end MAY accept
     * messages with one file descriptor" (closed unused). */
    if (m->nfds > 1) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: too many fds");
        return VDM_EINVAL;
    }
    read_region(m->p + SZ_U64, &r);
    for (i = 0; i < s->mem.nregions; i++)
        if (s->regions[i].gpa == r.gpa && s->regions[i].size == r.size &&
            s->uva[i] == r.uva)
            break;
    if (i == s->mem.nregions) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: REM_MEM_REG: no such region");
        return VDM_ENOENT;
    }
    __builtin_memset(gone, 0, sizeof(gone));
    gone[i] = 1;
    restart = rings_leave(s, gone);
    region_unmap(s, i);
    region_remove(s, i);
    if (restart)
        (void)vdmi_vu_core_sync(s);
    return 0;
}

/* Unmap every region and empty the table. */
void vdmi_vu_mem_clear(struct vu_state *s)
{
    uint32_t i;
    for (i = 0; i < s->mem.nregions; i++)
        region_unmap(s, i);
    __builtin_memset(s->regions, 0, sizeof(s->regions));
    s->mem.nregions = 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vhostusermem_left_out;
#endif
