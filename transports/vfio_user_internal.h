/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to the vfio-user server (transports/vfio_user*.c): the state
 * behind struct vdm_vfio_user and the functions its files share. Not
 * installed, not exported; cross-file functions are named vdmi_vfu_*.
 *
 * Protocol: vfio-user Protocol Specification ("Header", "Commands",
 * "Message sizes", VFIO_USER_VERSION, VFIO_USER_DMA_MAP/UNMAP,
 * VFIO_USER_DEVICE_GET_INFO/GET_REGION_INFO/GET_IRQ_INFO/SET_IRQS,
 * VFIO_USER_REGION_READ/WRITE, VFIO_USER_DEVICE_RESET, "Client
 * Disconnection"). The client is untrusted: every message is validated
 * completely before it changes state.
 *
 * The files:
 *   vfio_user.c        framing, dispatch, VERSION (with vfio_user_json.c),
 *                      the public API
 *   vfio_user_json.c   the capabilities JSON scanner (no allocation, no
 *                      recursion)
 *   vfio_user_dma.c    DMA_MAP / DMA_UNMAP and the memory table
 *   vfio_user_bounce.c DMA_READ / DMA_WRITE (server to client) and the
 *                      bounce spans that reach memory without an fd
 *   vfio_user_dev.c    device, region and interrupt messages, region
 *                      access and the PCI function's interrupt sink
 *   vfio_user_log.c    DEVICE_FEATURE: DMA dirty-page logging
 */
#ifndef VDM_VFIO_USER_INTERNAL_H
#define VDM_VFIO_USER_INTERNAL_H

#include "vdm/vfio_user.h"

#include "abi_internal.h"
#include "vdm/device.h"
#include "vdm/mem.h"
#include "vdm/pci.h"

#define VFU_MAGIC 0x76667573u /* "vfus": set by init */

/* Object flags (vfu_state::flags). */
#define XF_VERSION  0x1u /* VERSION negotiated */
#define XF_ATTACHED 0x2u /* device and PCI function attached */

/* Linux errno values the error replies carry (protocol "Header": "a UNIX
 * errno value"). */
#define XE_NOENT     2
#define XE_E2BIG     7
#define XE_FAULT     14
#define XE_BUSY      16
#define XE_EXIST     17
#define XE_INVAL     22
#define XE_NOSPC     28
#define XE_RANGE     34
#define XE_PROTO     71
#define XE_OPNOTSUPP 95

/* DMA_MAP flags (protocol VFIO_USER_DMA_MAP). */
#define DMA_F_READ  1u
#define DMA_F_WRITE 2u
/* DMA_UNMAP flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, _ALL (vfio.h). */
#define UNMAP_F_DIRTY 1u
#define UNMAP_F_ALL   2u

struct vfu_dma {
    uint64_t iova;   /* base DMA address */
    uint64_t size;   /* bytes */
    uint64_t offset; /* file offset (kept for the record) */
    void *hva;       /* host mapping; NULL: no fd, not reachable */
    uint32_t flags;  /* DMA_F_* */
    uint32_t reserved;
};

/* One bounce span handed to the device (vfio_user_bounce.c); len 0: free. */
struct vfu_slot {
    uint64_t gpa;    /* client DMA address of the first byte */
    uint64_t off;    /* offset of the copy in the bounce storage */
    uint32_t len;    /* bytes */
    uint32_t access; /* VDM_MEM_* the translate asked for */
};

struct vfu_state {
    uint32_t magic;
    uint32_t flags; /* XF_* */
    const struct vdm_vfio_user_ops *ops;
    void *host;
    struct vdm_dev *dev;
    /* what the client announced (kept; this server sends no DMA_READ) */
    uint64_t client_max_fds;
    uint64_t client_max_xfer;
    uint64_t client_pgsizes;
    /* DMA: every map; the fd-backed ones again as the memory table */
    uint32_t ndma;
    uint32_t nregions;
    struct vfu_dma dma[VDM_VFIO_USER_MAX_DMA];
    struct vdm_mem_region regions[VDM_VFIO_USER_MAX_DMA];
    struct vdm_mem mem;
    /* memory without a file descriptor (vfio_user_bounce.c): the caller's
     * storage (message buffer, then bounce area) and the spans out */
    int (*dma_fn)(void *host, void *msg, uint32_t len, uint32_t cap,
                  uint32_t *reply_len); /* ops->dma when the table has it */
    uint8_t *bounce;
    uint64_t bounce_size;
    uint16_t next_id; /* id of the next server-to-client request */
    uint8_t in_dma;       /* inside the dma hook: no nested use */
    uint8_t no_writeback; /* DEVICE_RESET: released spans are dropped */
    uint32_t nslots; /* slots in use */
    struct vfu_slot slots[VDM_VFIO_USER_BOUNCE_SLOTS];
    struct vdm_mem_ops mops;
    /* interrupts */
    uint16_t nvec;       /* MSI-X vectors of the function */
    uint8_t intx_level;  /* the function's INTx line */
    uint8_t intx_masked; /* masked by the client or automasked */
    int32_t intx_fd;     /* trigger eventfd, -1 none */
    int32_t msix_fd[VDM_VFIO_USER_MAX_MSIX];
    uint32_t msix_mask[VDM_VFIO_USER_MAX_MSIX / 32u];
    uint32_t msix_pend[VDM_VFIO_USER_MAX_MSIX / 32u];
    /* DMA logging (vfio_user_log.c): the caller's bitmap buffer, the log
     * over it while DMA_LOGGING_START holds */
    uint8_t *dbuf;
    uint64_t dbytes;
    struct vdm_dirty_log dlog;
    uint32_t dlog_on;
    uint32_t reserved1;
    struct vdm_pci pci;
};

_Static_assert(sizeof(struct vfu_state) <= (size_t)VDM_VFIO_USER_SIZE,
               "struct vfu_state does not fit VDM_VFIO_USER_SIZE");
_Static_assert((size_t)alignof(struct vfu_state) <=
                   (size_t)alignof(struct vdm_vfio_user),
               "struct vfu_state alignment");
/* The VFIO index numbers the header names (linux/vfio.h). */
_Static_assert((VDM_VFIO_USER_REGION_BAR0 == 0u) &&
                   (VDM_VFIO_USER_REGION_ROM == 6u) &&
                   (VDM_VFIO_USER_REGION_VGA == 8u),
               "VFIO PCI region indexes");
_Static_assert((VDM_VFIO_USER_IRQ_MSI == 1u) && (VDM_VFIO_USER_IRQ_ERR == 3u) &&
                   (VDM_VFIO_USER_IRQ_REQ == 4u),
               "VFIO PCI IRQ indexes");

/* One message being handled: the request payload and its fds, the reply
 * payload being built. Handlers return 0 or a VDM_E* code and may name the
 * errno of the error reply (err; 0: from the code). fds a handler keeps or
 * has closed are marked in `used` (bit i: fds[i]); the rest are closed by
 * the dispatcher. */
struct vfu_msg {
    uint16_t cmd;
    uint32_t flags;
    const uint8_t *p; /* payload */
    uint32_t len;     /* payload bytes */
    const int32_t *fds;
    uint32_t nfds;
    uint32_t used;
    uint8_t *r;    /* reply payload */
    uint32_t rcap; /* its capacity */
    uint32_t rlen; /* bytes written */
    int32_t err;   /* errno for the error reply, 0: derived */
};

/* Native-order field access (protocol: host byte order). */
static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline void st32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}
static inline void st64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}
static inline void st16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}

void vdmi_vfu_log(const struct vfu_state *s, int level, const char *msg);
/* The state of an initialised server, or NULL. */
struct vfu_state *vdmi_vfu_state(struct vdm_vfio_user *vfu);
void vdmi_vfu_close(const struct vfu_state *s, int32_t fd);

/* The client's capabilities (vfio_user_json.c): 0 or VDM_EINVAL. */
struct vfu_caps {
    uint64_t max_msg_fds;
    uint64_t max_data_xfer_size;
    uint64_t pgsizes;
};
int vdmi_vfu_parse_caps(const char *json, uint32_t len, struct vfu_caps *c);

/* vfio_user_dma.c */
int vdmi_vfu_dma_map(struct vfu_state *s, struct vfu_msg *m);
int vdmi_vfu_dma_unmap(struct vfu_state *s, struct vfu_msg *m);
void vdmi_vfu_dma_clear(struct vfu_state *s);

/* vfio_user_log.c: DEVICE_FEATURE (DMA logging) */
int vdmi_vfu_device_feature(struct vfu_state *s, struct vfu_msg *m);
/* Logging off (disconnection). */
void vdmi_vfu_log_stop(struct vfu_state *s);
/* vfio_user_bounce.c: set up the bounce storage (init), 0 or VDM_E*. */
int vdmi_vfu_bounce_init(struct vfu_state *s, void *bounce, uint64_t size);

/* vfio_user_dev.c */
int vdmi_vfu_get_info(struct vfu_state *s, struct vfu_msg *m);
int vdmi_vfu_region_info(struct vfu_state *s, struct vfu_msg *m);
int vdmi_vfu_irq_info(struct vfu_state *s, struct vfu_msg *m);
int vdmi_vfu_set_irqs(struct vfu_state *s, struct vfu_msg *m);
int vdmi_vfu_region_rw(struct vfu_state *s, struct vfu_msg *m, int write);
int vdmi_vfu_device_reset(struct vfu_state *s);
void vdmi_vfu_irqs_clear(struct vfu_state *s);
/* The hooks the server gives its PCI function (host: the vfu_state). */
const struct vdm_pci_ops *vdmi_vfu_pci_ops(void);

#endif /* VDM_VFIO_USER_INTERNAL_H */
