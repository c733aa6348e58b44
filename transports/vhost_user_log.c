/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user back-end: dirty-page logging for live migration (vhost-user
 * "Migration" / "Dirty pages logging", "VHOST_USER_SET_LOG_BASE",
 * "VHOST_USER_SET_LOG_FD", "Log description"). The log is the front-end's
 * shared memory (fd, size, offset), mapped through the host's `map` hook;
 * while VHOST_F_LOG_ALL is negotiated it becomes the memory map's dirty log
 * (vdm_mem::log), which the rings (used ring at log_guest_addr, rings with
 * VHOST_VRING_F_LOG) and the device kit (buffers written) mark. */
#include "vhost_user_internal.h"

#if VDM_CONFIG_VHOST_USER /* vdm/config.h: the whole file */

/* Largest log accepted: one bit per 4 KiB page, so 2^40 bytes cover 2^55
 * bytes of guest-physical space (more than any guest has). */
#define LOG_MAX_BYTES (1ULL << 40)

void vdmi_vu_log_apply(struct vu_state *s)
{
    s->mem.log =
        (((s->features & VDM_VHOST_F_LOG_ALL) != 0u) && (s->log_hva != NULL))
            ? &s->log
            : NULL;
}

void vdmi_vu_log_clear(struct vu_state *s)
{
    s->mem.log = NULL;
    if (s->log_hva != NULL) {
        s->ops->unmap(s->host, s->log_hva, s->log_off, s->log.bytes);
    }
    s->log_hva = NULL;
    __builtin_memset(&s->log, 0, sizeof(s->log));
    s->log_off = 0;
}

int vdmi_vu_on_set_log_base(struct vu_state *s, struct vu_msg *m)
{
    uint64_t size;
    uint64_t off;
    void *hva = NULL;
    int rc;

    /* Without LOG_SHMFD there is no fd-based log (and no reply). */
    if ((s->protocol & PF(VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD)) == 0u) {
        vlog(
            s, VDM_LOG_ERROR,
            "vhost-user: SET_LOG_BASE without VHOST_USER_PROTOCOL_F_LOG_SHMFD");
        return VDM_ENOTSUP;
    }
    /* The reply (vhost-user "Communication": SET_LOG_BASE answers when
     * LOG_SHMFD is negotiated) says 0 on success, non-zero on failure. */
    (void)vdmi_vu_reply_u64(m, 1);
    if ((m->size != SZ_LOG) || (m->nfds != 1u)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_LOG_BASE: needs a log description and one fd");
        return VDM_EINVAL;
    }
    size = rd64(m->p);
    off = rd64(m->p + 8);
    if ((size == 0u) || (size > LOG_MAX_BYTES) || (off > (UINT64_MAX - size)) ||
        (size > (uint64_t)UINTPTR_MAX)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_LOG_BASE: bad log size/offset");
        return VDM_EINVAL;
    }
    rc = s->ops->map(s->host, m->fds[0], off, size, &hva);
    if ((rc < 0) || (hva == NULL)) {
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_LOG_BASE: cannot map the log");
        return (rc < 0) ? rc : VDM_EIO;
    }
    /* the fd is closed by the caller of the handler (not taken) */
    vdmi_vu_log_clear(s);
    s->log.size = sizeof(s->log);
    s->log.page_shift = 12u; /* VHOST_LOG_PAGE 0x1000 */
    s->log.base = 0u;        /* the log covers from guest address 0 */
    s->log.bytes = size;
    s->log.bitmap = (uint8_t *)hva;
    s->log_hva = hva;
    s->log_off = off;
    if (vdm_dirty_log_check(&s->log) < 0) {
        /* a mapping that wraps the address space: never used */
        vdmi_vu_log_clear(s); /* unmaps it */
        vlog(s, VDM_LOG_ERROR, "vhost-user: SET_LOG_BASE: unusable mapping");
        return VDM_EINVAL;
    }
    vdmi_vu_log_apply(s);
    (void)vdmi_vu_reply_u64(m, 0);
    return 0;
}

int vdmi_vu_on_set_log_fd(struct vu_state *s, struct vu_msg *m)
{
    /* An eventfd to tell the front-end the log changed: optional, and the
     * front-end reads the log when it syncs anyway. Accepted and closed
     * (not taken). */
    if ((m->nfds != 1u) ||
        ((s->protocol & PF(VDM_VHOST_USER_PROTOCOL_F_LOG_SHMFD)) == 0u)) {
        vlog(s, VDM_LOG_ERROR,
             "vhost-user: SET_LOG_FD: not negotiated or not one fd");
        return VDM_EINVAL;
    }
    return 0;
}

void vdmi_vu_ring_log(struct vu_state *s, uint16_t q)
{
    const struct vu_ring *r = ring(s, q);
    struct vdm_vq *vq = vdm_dev_queue(s->dev, q);

    /* VDM_CONFIG_DIRTY_LOG 0 (vdm/config.h): LOG_ALL is never offered,
     * nothing to set */
    if ((VDM_CONFIG_DIRTY_LOG == 0) || (vq == NULL) ||
        ((r->flags & RF_CORE) == 0u)) {
        return;
    }
    /* "Migration": used-ring writes are logged, at log_guest_addr, only
     * for a ring with VHOST_VRING_F_LOG (checked at SET_VRING_ADDR). */
    if (vdm_vq_set_log(vq,
                       ((r->flags & RF_LOG) != 0u)
                           ? (VDM_VQ_LOG_RING | VDM_VQ_LOG_ADDR)
                           : 0u,
                       r->log) < 0) {
        vlog(s, VDM_LOG_WARN, "vhost-user: ring log address refused");
    }
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vhostuserlog_left_out;
#endif
