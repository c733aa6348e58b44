/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: framing, dispatch, VERSION negotiation and the public
 * API (see vfio_user_internal.h for the files and the protocol sections). */
#include "vfio_user_internal.h"

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

VDM_OPAQUE_ACCESSORS(st, cst, vdm_vfio_user, vfu_state, VFU_MAGIC)

/* The capabilities this server announces (vfio_user.h). Constant: every
 * value is a compile-time limit of the library. */
static const char caps_json[] =
    "{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":4096,"
    "\"max_dma_maps\":128,\"pgsizes\":4096}}";
_Static_assert((VDM_VFIO_USER_MAX_FDS == 16u) &&
                   (VDM_VFIO_USER_MAX_DATA == 4096u) &&
                   (VDM_VFIO_USER_MAX_DMA == 128u),
               "caps_json states the limits of vfio_user.h");

void vdmi_vfu_log(const struct vfu_state *s, int level, const char *msg)
{
    /* the hook is there when the caller's table is long enough (init
     * checked the table up to `close`) and not NULL */
    if (VDM_LOG_ON(level) &&
        ((size_t)s->ops->size >=
         ((size_t)offsetof(struct vdm_vfio_user_ops, log) +
          sizeof(s->ops->log))) &&
        (s->ops->log != NULL)) {
        s->ops->log(s->host, level, msg);
    }
}

void vdmi_vfu_close(const struct vfu_state *s, int32_t fd)
{
    if (fd >= 0) {
        s->ops->close(s->host, fd);
    }
}

static int32_t errno_of(int rc)
{
    switch (rc) {
    case VDM_ENOSPC: return XE_NOSPC;
    case VDM_EFAULT: return XE_FAULT;
    case VDM_EPROTO: return XE_PROTO;
    case VDM_ENOTSUP: return XE_OPNOTSUPP;
    case VDM_ERANGE: return XE_RANGE;
    case VDM_EBUSY:
    case VDM_ESTATE: return XE_BUSY;
    case VDM_ENOENT: return XE_NOENT;
    case VDM_ESIZE: return XE_E2BIG;
    default: return XE_INVAL;
    }
}

int32_t vdm_vfio_user_errno(int rc)
{
    return errno_of(rc);
}

/* ------------------------------------------------------------------------ */
/* VERSION (protocol VFIO_USER_VERSION) */

static int on_version(struct vfu_state *s, struct vfu_msg *m)
{
    struct vfu_caps c = {1u, 1048576u, 4096u}; /* the protocol defaults */
    const uint16_t ours = VDM_VFIO_USER_MINOR;
    uint16_t major;
    uint16_t minor;
    uint32_t n = 0;

    if (m->len < 4u) {
        return VDM_EPROTO;
    }
    major = ld16(m->p);
    minor = ld16(m->p + 2);
    if (major != VDM_VFIO_USER_MAJOR) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: unsupported major version");
        return VDM_EPROTO; /* "closes the connection" */
    }
    if (m->len > 4u) {
        /* JSON "including terminating NUL": parse up to the first NUL,
         * which must be inside the payload. */
        const char *j = (const char *)(m->p + 4);
        uint32_t max = m->len - 4u;
        while ((n < max) && (j[n] != '\0')) {
            n++;
        }
        if ((n == max) || (vdmi_vfu_parse_caps(j, n, &c) != 0)) {
            vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: bad version JSON");
            return VDM_EINVAL;
        }
    }
    if ((c.max_msg_fds == 0u) || (c.max_data_xfer_size == 0u)) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: zero capability value");
        return VDM_EINVAL;
    }
    if ((size_t)m->rcap < (4u + sizeof(caps_json))) {
        return VDM_ENOSPC;
    }
    st16(m->r, VDM_VFIO_USER_MAJOR);
    st16(m->r + 2, (minor > ours) ? ours : minor);
    __builtin_memcpy(m->r + 4, caps_json, sizeof(caps_json));
    m->rlen = 4u + (uint32_t)sizeof(caps_json);
    s->client_max_fds = c.max_msg_fds;
    s->client_max_xfer = c.max_data_xfer_size;
    s->client_pgsizes = c.pgsizes;
    s->flags |= XF_VERSION;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

static int on_reset(struct vfu_state *s, const struct vfu_msg *m)
{
    int rc;
    if (m->len != 0u) {
        return VDM_EINVAL;
    }
    /* The client waits for this reply (QEMU: under its big lock, which its
     * DMA handler needs): spans the reset gives back are not written back;
     * the driver owns no data of a reset device. */
    s->no_writeback = 1u;
    rc = vdmi_vfu_device_reset(s);
    s->no_writeback = 0u;
    return rc;
}

static int dispatch(struct vfu_state *s, struct vfu_msg *m)
{
    switch (m->cmd) {
    case VDM_VFIO_USER_DMA_MAP: return vdmi_vfu_dma_map(s, m);
    case VDM_VFIO_USER_DMA_UNMAP: return vdmi_vfu_dma_unmap(s, m);
    case VDM_VFIO_USER_DEVICE_GET_INFO: return vdmi_vfu_get_info(s, m);
    case VDM_VFIO_USER_DEVICE_GET_REGION_INFO:
        return vdmi_vfu_region_info(s, m);
    case VDM_VFIO_USER_DEVICE_GET_IRQ_INFO: return vdmi_vfu_irq_info(s, m);
    case VDM_VFIO_USER_DEVICE_SET_IRQS: return vdmi_vfu_set_irqs(s, m);
    case VDM_VFIO_USER_REGION_READ: return vdmi_vfu_region_rw(s, m, 0);
    case VDM_VFIO_USER_REGION_WRITE: return vdmi_vfu_region_rw(s, m, 1);
    case VDM_VFIO_USER_DEVICE_RESET: return on_reset(s, m);
    case VDM_VFIO_USER_DEVICE_FEATURE: return vdmi_vfu_device_feature(s, m);
    case VDM_VFIO_USER_VERSION:
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: VERSION again");
        return VDM_ESTATE;
    default:
        /* GET_REGION_IO_FDS, REGION_WRITE_MULTI, MIG_DATA_*, the
         * server-to-client DMA_READ /
         * DMA_WRITE and unknown commands. */
        vdmi_vfu_log(s, VDM_LOG_INFO, "vfio-user: command not supported");
        return VDM_ENOTSUP;
    }
}

int vdm_vfio_user_msg_len(const void *hdr, uint32_t *len)
{
    uint32_t n;
    if ((hdr == NULL) || (len == NULL)) {
        return VDM_EINVAL;
    }
    n = ld32((const uint8_t *)hdr + 4);
    if ((n < VDM_VFIO_USER_HDR_BYTES) || (n > VDM_VFIO_USER_MAX_MSG)) {
        return VDM_EPROTO;
    }
    *len = n;
    return 0;
}

static void close_unused(const struct vfu_state *s, const int32_t *fds,
                         uint32_t nfds, uint32_t used)
{
    uint32_t i;
    for (i = 0; i < nfds; i++) {
        if ((i >= 32u) || (((used >> i) & 1u) == 0u)) {
            vdmi_vfu_close(s, fds[i]);
        }
    }
}

int vdm_vfio_user_handle(struct vdm_vfio_user *vfu, const void *msg,
                         uint32_t len, const int32_t *fds, uint32_t nfds,
                         void *reply, uint32_t reply_cap, uint32_t *reply_len)
{
    struct vfu_state *s = st(vfu);
    const uint8_t *h = (const uint8_t *)msg;
    struct vfu_msg m;
    uint8_t *r = (uint8_t *)reply;
    int rc;

    if (reply_len != NULL) {
        *reply_len = 0;
    }
    if ((s == NULL) || ((fds == NULL) && (nfds != 0u))) {
        return VDM_EINVAL; /* nothing can be closed without the hooks */
    }

    if ((msg == NULL) || (reply == NULL) || (reply_len == NULL) ||
        (reply_cap < VDM_VFIO_USER_HDR_BYTES) ||
        (len < VDM_VFIO_USER_HDR_BYTES) || (ld32(h + 4) != len) ||
        (len > VDM_VFIO_USER_MAX_MSG)) {
        close_unused(s, fds, nfds, 0);
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: message cannot be framed");
        return VDM_EPROTO;
    }
    __builtin_memset(&m, 0, sizeof(m));
    m.cmd = ld16(h + 2);
    m.flags = ld32(h + 8);
    m.p = h + VDM_VFIO_USER_HDR_BYTES;
    m.len = len - VDM_VFIO_USER_HDR_BYTES;
    m.fds = fds;
    m.nfds = nfds;
    m.r = r + VDM_VFIO_USER_HDR_BYTES;
    m.rcap = reply_cap - VDM_VFIO_USER_HDR_BYTES;
    if ((s->in_dma != 0u) && (m.cmd != VDM_VFIO_USER_REGION_READ)) {
        /* From inside the dma hook, while a device access waits: only a
         * REGION_READ (a client may hold a lock its DMA handler needs
         * until it is answered); anything else could change the device
         * under the access. */
        close_unused(s, fds, nfds, 0);
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: command inside a DMA");
        return VDM_EBUSY;
    }

    /* A reply from the client answers nothing (this server sends no
     * commands); a command's Error field is reserved (protocol "Header"). */
    if (((m.flags & VDM_VFIO_USER_F_TYPE_MASK) != VDM_VFIO_USER_F_TYPE_CMD) ||
        (m.flags & VDM_VFIO_USER_F_ERROR) != 0u) {
        close_unused(s, fds, nfds, 0);
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: not a command");
        return VDM_EPROTO;
    }
    if (((s->flags & XF_VERSION) == 0u) && (m.cmd != VDM_VFIO_USER_VERSION)) {
        close_unused(s, fds, nfds, 0);
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: command before VERSION");
        return VDM_EPROTO;
    }
    if (nfds > VDM_VFIO_USER_MAX_FDS) {
        vdmi_vfu_log(s, VDM_LOG_WARN, "vfio-user: too many fds");
        rc = VDM_EINVAL;
    } else if (m.cmd == VDM_VFIO_USER_VERSION) {
        rc = ((s->flags & XF_VERSION) != 0u) ? dispatch(s, &m)
                                             : on_version(s, &m);
        if (rc == VDM_EPROTO) {
            close_unused(s, fds, nfds, 0);
            return rc;
        }
    } else if ((s->flags & XF_ATTACHED) == 0u) {
        rc = VDM_ESTATE;
    } else {
        rc = dispatch(s, &m);
    }
    close_unused(s, fds, nfds, m.used);

    if ((m.flags & VDM_VFIO_USER_F_NO_REPLY) != 0u) {
        return rc;
    }
    /* protocol "Header": the reply echoes id and command; an error reply is
     * the header alone, with the Error flag and an errno. */
    __builtin_memcpy(r, h, 4);
    if (rc != 0) {
        int32_t e = (m.err != 0) ? m.err : errno_of(rc);
        m.rlen = 0;
        st32(r + 8, VDM_VFIO_USER_F_TYPE_REPLY | VDM_VFIO_USER_F_ERROR);
        st32(r + 12, (uint32_t)e);
    } else {
        st32(r + 8, VDM_VFIO_USER_F_TYPE_REPLY);
        st32(r + 12, 0);
    }
    st32(r + 4, VDM_VFIO_USER_HDR_BYTES + m.rlen);
    *reply_len = VDM_VFIO_USER_HDR_BYTES + m.rlen;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Set-up and teardown */

int vdm_vfio_user_init(struct vdm_vfio_user *vfu,
                       const struct vdm_vfio_user_config *cfg)
{
    struct vfu_state *s;
    const struct vdm_vfio_user_ops *o;
    uint32_t i;

    if ((vfu == NULL) || (cfg == NULL)) {
        return VDM_EINVAL;
    }
    /* the bounce fields came later: a shorter configuration has none */
    if ((size_t)cfg->size < ((size_t)offsetof(struct vdm_vfio_user_config,
                                              host) +
                             sizeof(cfg->host))) {
        return VDM_ESIZE;
    }
    o = cfg->ops;
    if ((cfg->reserved != 0u) || (o == NULL)) {
        return VDM_EINVAL;
    }
    if ((size_t)o->size < ((size_t)offsetof(struct vdm_vfio_user_ops, close) +
                           sizeof(o->close))) {
        return VDM_ESIZE;
    }
    if ((o->map == NULL) || (o->unmap == NULL) || (o->signal == NULL) ||
        (o->close == NULL)) {
        return VDM_EINVAL;
    }
    s = (struct vfu_state *)(void *)vfu->opaque;
    __builtin_memset(s, 0, sizeof(*s));
    s->ops = o;
    s->host = cfg->host;
    if (((size_t)cfg->size >=
         ((size_t)offsetof(struct vdm_vfio_user_config, dirty_bytes) +
          sizeof(cfg->dirty_bytes))) &&
        (VDM_CONFIG_DIRTY_LOG != 0) && /* vdm/config.h: logging built in */
        (cfg->dirty_bitmap != NULL) && (cfg->dirty_bytes != 0u)) {
        s->dbuf = cfg->dirty_bitmap;
        s->dbytes = cfg->dirty_bytes;
    }
    s->mem.size = sizeof(s->mem);
    s->mem.regions = s->regions;
    s->intx_fd = -1;
    for (i = 0; i < VDM_VFIO_USER_MAX_MSIX; i++) {
        s->msix_fd[i] = -1;
    }
    if (((size_t)o->size >= ((size_t)offsetof(struct vdm_vfio_user_ops, dma) +
                             sizeof(o->dma))) &&
        (o->dma != NULL)) {
        s->dma_fn = o->dma;
    }
    {
        /* an older caller's configuration has no bounce fields: zero */
        struct vdm_vfio_user_config c;
        int rc = vdm_copy_sized(
            &c, sizeof(c), cfg,
            (size_t)offsetof(struct vdm_vfio_user_config, host) +
                sizeof(cfg->host));
        if (rc == 0) {
            rc = vdmi_vfu_bounce_init(s, c.bounce, c.bounce_size);
        }
        if (rc != 0) {
            return rc;
        }
    }
    s->magic = VFU_MAGIC;
    return 0;
}

struct vfu_state *vdmi_vfu_state(struct vdm_vfio_user *vfu)
{
    return st(vfu);
}

const struct vdm_mem *vdm_vfio_user_mem(const struct vdm_vfio_user *vfu)
{
    const struct vfu_state *s = cst(vfu);
    return (s != NULL) ? &s->mem : NULL;
}

int vdm_vfio_user_attach(struct vdm_vfio_user *vfu, struct vdm_dev *dev,
                         const struct vdm_pci_config *pci)
{
    struct vfu_state *s = st(vfu);
    struct vdm_pci_config c;
    int rc;

    if ((s == NULL) || (dev == NULL) || (pci == NULL) ||
        ((s->flags & XF_ATTACHED) != 0u) || vdm_dev_mem(dev) != &s->mem) {
        return VDM_EINVAL;
    }
    rc = vdm_copy_sized(&c, sizeof(c), pci, sizeof(struct vdm_pci_config));
    if (rc != 0) {
        return rc;
    }
    if (c.msix_vectors > VDM_VFIO_USER_MAX_MSIX) {
        return VDM_EINVAL;
    }
    c.flags |= VDM_PCI_F_MSIX_HOST;
    c.ops = vdmi_vfu_pci_ops();
    c.host = s;
    rc = vdm_pci_init(&s->pci, dev, &c);
    if (rc != 0) {
        return rc;
    }
    s->dev = dev;
    s->nvec = c.msix_vectors;
    s->flags |= XF_ATTACHED;
    return 0;
}

struct vdm_pci *vdm_vfio_user_pci(struct vdm_vfio_user *vfu)
{
    struct vfu_state *s = st(vfu);
    return ((s != NULL) && ((s->flags & XF_ATTACHED) != 0u)) ? &s->pci : NULL;
}

void vdm_vfio_user_reset(struct vdm_vfio_user *vfu)
{
    struct vfu_state *s = st(vfu);
    if (s == NULL) {
        return;
    }
    /* No DMA_READ / DMA_WRITE to a client that is gone. */
    s->flags &= ~XF_VERSION;
    /* The function first: its rings point into memory about to go. */
    if ((s->flags & XF_ATTACHED) != 0u) {
        (void)vdm_pci_reset(&s->pci);
    }
    vdmi_vfu_irqs_clear(s);
    vdmi_vfu_log_stop(s);
    vdmi_vfu_dma_clear(s);
    s->flags &= ~XF_VERSION;
    s->client_max_fds = 0;
    s->client_max_xfer = 0;
    s->client_pgsizes = 0;
}

const char *vdm_vfio_user_command_name(uint32_t cmd)
{
    static const char *const names[VDM_VFIO_USER_MIG_DATA_WRITE + 1u] = {
        [VDM_VFIO_USER_VERSION] = "VERSION",
        [VDM_VFIO_USER_DMA_MAP] = "DMA_MAP",
        [VDM_VFIO_USER_DMA_UNMAP] = "DMA_UNMAP",
        [VDM_VFIO_USER_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
        [VDM_VFIO_USER_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
        [VDM_VFIO_USER_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
        [VDM_VFIO_USER_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
        [VDM_VFIO_USER_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
        [VDM_VFIO_USER_REGION_READ] = "REGION_READ",
        [VDM_VFIO_USER_REGION_WRITE] = "REGION_WRITE",
        [VDM_VFIO_USER_DMA_READ] = "DMA_READ",
        [VDM_VFIO_USER_DMA_WRITE] = "DMA_WRITE",
        [VDM_VFIO_USER_DEVICE_RESET] = "DEVICE_RESET",
        [VDM_VFIO_USER_REGION_WRITE_MULTI] = "REGION_WRITE_MULTI",
        [VDM_VFIO_USER_DEVICE_FEATURE] = "DEVICE_FEATURE",
        [VDM_VFIO_USER_MIG_DATA_READ] = "MIG_DATA_READ",
        [VDM_VFIO_USER_MIG_DATA_WRITE] = "MIG_DATA_WRITE",
    };
    if ((cmd < (sizeof(names) / sizeof(names[0]))) && (names[cmd] != NULL)) {
        return names[cmd];
    }
    return "UNKNOWN";
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouser_left_out;
#endif
