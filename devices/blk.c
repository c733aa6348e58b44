/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk device type.
 *
 * Spec: "Block Device" -- "Feature bits", "Device configuration layout",
 * "Device Initialization", "Device Operation" and their device requirements.
 *
 * Requests are served through the device kit (vdm/kit.h): each queue owns
 * queue_size_max request slots of the caller's vdm_blk_req array (the kit's
 * part, then struct blk_req) and iov_per_req spans per slot. The kit pops,
 * answers chains with too many spans (IOERR in the status byte), pushes,
 * notifies, and abandons requests at a reset; blk reads the request and
 * talks to the host. */
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/blk.h"

#include "abi_internal.h"
#include "le.h"
#include "kit_internal.h"

/* Event codes of this file's log messages (VDM_MSG, scripts/log-event). */
#define VDM_LOG_FILE 5
_Static_assert((VDM_LOG_FILE > 0) && (VDM_LOG_FILE < 16),
               "event codes have 4 bits of file number");

/* ------------------------------------------------------------------------ */
/* State */

#define BLK_MAGIC 0x766d426bu /* "vmBk" */
#define NONE      UINT32_MAX

/* blk's part of a request slot (after the kit's struct vdm_kit_req). */
struct blk_req {
    struct vdm_kit_req *kr; /* the kit's part: chain, queue */
    uint8_t *status_ptr;    /* last device-writable byte, NULL if none */
    struct vdm_iov fix;     /* original of the span trimmed for the host */
    uint32_t fix_idx;       /* its index in the chain's iov, NONE if none */
    uint32_t pending;       /* host calls outstanding + 1 while submitting */
    uint32_t data_len;      /* writable data bytes written if status is OK */
    uint8_t status;         /* VDM_BLK_S_*: first failure wins */
};

struct blk {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t flags; /* VDM_BLK_* */
    struct vdm_dev *dev;
    const struct vdm_blk_ops *ops;
    void *host;
    uint64_t capacity;
    uint16_t num_queues;
    uint8_t writeback; /* current cache mode, the `writeback` field */
    uint8_t serial[VDM_BLK_ID_BYTES];
    /* The configuration space (struct virtio_blk_config), little-endian,
     * made once by vdm_blk_init(); capacity and writeback are kept up to
     * date in it (vdm_blk_set_capacity(), set_cache_mode()). */
    uint8_t cfg[VDM_BLK_CONFIG_BYTES];
};

_Static_assert(sizeof(struct blk) <= VDM_BLK_SIZE,
               "struct blk does not fit VDM_BLK_SIZE");
_Static_assert(alignof(struct blk) <= alignof(struct vdm_blk),
               "struct vdm_blk storage is under-aligned");
_Static_assert(VDM_KIT_SLOT_BYTES(sizeof(struct blk_req)) <= VDM_BLK_REQ_SIZE,
               "struct blk_req does not fit VDM_BLK_REQ_SIZE");
_Static_assert(VDM_BLK_REQ_SIZE % 8 == 0 &&
                   alignof(struct vdm_blk_req) >= alignof(struct vdm_kit_req),
               "struct vdm_blk_req storage is under-aligned");

static struct blk *blk_of(struct vdm_blk *b)
{
    struct blk *s;
    if (b == NULL)
        return NULL;
    s = (struct blk *)(void *)b->opaque;
    return s->magic == BLK_MAGIC ? s : NULL;
}

static const struct blk *cblk_of(const struct vdm_blk *b)
{
    const struct blk *s;
    if (b == NULL)
        return NULL;
    s = (const struct blk *)(const void *)b->opaque;
    return s->magic == BLK_MAGIC ? s : NULL;
}

static struct blk_req *breq(struct vdm_kit_req *kr)
{
    return (struct blk_req *)vdm_kit_req_priv(kr);
}

static void *token_of(const struct blk_req *r)
{
    return (void *)vdmi_kit_token(r->kr);
}

static VDMI_ALWAYS_INLINE void blk_log(const struct blk *s, int level,
                                       vdm_msg msg)
{
    vdmi_dev_log(s->dev, level, msg);
}

/* Queues in use: N = 1 unless VIRTIO_BLK_F_MQ is negotiated (spec "Block
 * Device / Virtqueues"). */
static uint16_t active_queues(const struct blk *s)
{
    return (vdm_dev_features(s->dev) & VDM_BLK_F_MQ) != 0 ? s->num_queues : 1;
}

static void set_cache_mode(struct blk *s, uint8_t wb)
{
    s->writeback = wb;
    s->cfg[VDM_BLK_CFG_WRITEBACK] = wb;
    if (VDM_HAS_HOOK(s->ops, struct vdm_blk_ops, set_writeback))
        s->ops->set_writeback(s->host, wb);
}

/* ------------------------------------------------------------------------ */
/* Completion */

static void merge_status(struct blk_req *r, uint8_t st)
{
    if (r->status == VDM_BLK_S_OK)
        r->status = st;
}

/* The last reference is gone: write the status and say how many bytes the
 * device wrote. "Device Operation": the status byte is the last byte
 * written; the used length counts the data written and that byte. An
 * abandoned request touches no guest memory. */
static uint32_t blk_end(struct blk_req *r)
{
    uint32_t written = 0;

    if (r->fix_idx != NONE) {
        r->kr->chain.iov[r->fix_idx] = r->fix;
        r->fix_idx = NONE;
    }
    if (vdmi_kit_req_live(r->kr) && r->status_ptr != NULL) {
        *(volatile uint8_t *)r->status_ptr = r->status;
        written = (r->status == VDM_BLK_S_OK ? r->data_len : 0) + 1;
    }
    return written;
}

/* ------------------------------------------------------------------------ */
/* Requests (spec "Block Device / Device Operation") */

/* Is [sector, sector + n) inside the disk? Overflow-safe. */
static int in_range(const struct blk *s, uint64_t sector, uint64_t n)
{
    return sector <= s->capacity && n <= s->capacity - sector;
}

/* VIRTIO_BLK_T_IN / VIRTIO_BLK_T_OUT: data "in multiples of 512 bytes",
 * never beyond capacity; a write on a device offering VIRTIO_BLK_F_RO gets
 * IOERR and writes nothing. */
static void blk_rw(struct blk *s, struct blk_req *r, uint64_t sector, int write)
{
    struct vdm_chain *c = &r->kr->chain;
    struct vdm_iov *iov;
    uint32_t dlen, n, i;
    int rc;

    if (write && (s->flags & VDM_BLK_RO) != 0) {
        merge_status(r, VDM_BLK_S_IOERR);
        return;
    }
    /* IN: the writable part less the status byte; OUT: the readable part
     * after the header. */
    dlen = write ? c->read_len - VDM_BLK_HDR_BYTES : c->write_len - 1;
    if (dlen % VDM_BLK_SECTOR_SIZE != 0 ||
        !in_range(s, sector, dlen / VDM_BLK_SECTOR_SIZE)) {
        merge_status(r, VDM_BLK_S_IOERR);
        return;
    }
    if (dlen == 0)
        return; /* nothing to move: OK */

    if (write) {
        /* Skip the header, which may span several readable spans. */
        uint32_t skip = VDM_BLK_HDR_BYTES;
        for (i = 0; i < c->nread && skip >= c->iov[i].len; i++)
            skip -= c->iov[i].len;
        if (i == c->nread) { /* spans shorter than read_len: not ours */
            merge_status(r, VDM_BLK_S_IOERR);
            return;
        }
        if (skip != 0) {
            r->fix = c->iov[i];
            r->fix_idx = i;
            c->iov[i].base = (uint8_t *)c->iov[i].base + skip;
            c->iov[i].len -= skip;
        }
        iov = &c->iov[i];
        n = c->nread - i;
    } else {
        /* Leave the status byte out of the last writable span. */
        uint32_t last = c->nread + c->nwrite - 1;
        iov = &c->iov[c->nread];
        n = c->nwrite;
        if (c->iov[last].len == 1) {
            n--;
        } else {
            r->fix = c->iov[last];
            r->fix_idx = last;
            c->iov[last].len--;
        }
        r->data_len = dlen;
    }
    r->pending++;
    rc = write ? s->ops->write(s->host, sector, iov, n, token_of(r))
               : s->ops->read(s->host, sector, iov, n, token_of(r));
    if (rc < 0) {
        r->pending--;
        merge_status(r, VDM_BLK_S_IOERR);
    }
}

/* VIRTIO_BLK_T_FLUSH: sector and data are to be ignored. */
static void blk_flush(struct blk *s, struct blk_req *r)
{
    int rc;

    if ((s->flags & VDM_BLK_FLUSH) == 0) {
        merge_status(r, VDM_BLK_S_UNSUPP);
        return;
    }
    r->pending++;
    rc = s->ops->flush(s->host, token_of(r));
    if (rc < 0) {
        r->pending--;
        merge_status(r, VDM_BLK_S_IOERR);
    }
}

/* VIRTIO_BLK_T_GET_ID: "a NUL-padded ASCII string up to 20 bytes long";
 * the driver gives 20 bytes, a shorter buffer gets what fits. */
static void blk_get_id(struct blk *s, struct blk_req *r)
{
    uint32_t n = r->kr->chain.write_len - 1;

    if (n > VDM_BLK_ID_BYTES)
        n = VDM_BLK_ID_BYTES;
    r->data_len = (uint32_t)vdm_chain_copy_to(&r->kr->chain, 0, s->serial, n);
}

#if VDM_CONFIG_BLK_DISCARD
/* VIRTIO_BLK_T_DISCARD / VIRTIO_BLK_T_WRITE_ZEROES: one or more struct
 * virtio_blk_discard_write_zeroes segments, at most max_*_seg. Each segment
 * is read once into a local and validated before use. Device requirements:
 * UNSUPP if any unknown flag is set, or `unmap` on a discard; otherwise an
 * invalid segment (beyond capacity, above max_*_sectors) gives IOERR. Valid
 * segments are issued as they are read and stop at the first invalid one;
 * later segments are still scanned for flags so UNSUPP wins. The spec leaves
 * segment state indeterminate when the request fails. */
static void blk_dwz(struct blk *s, struct blk_req *r, uint32_t type)
{
    const struct vdm_chain *c = &r->kr->chain;
    bool wz = type == VDM_BLK_T_WRITE_ZEROES;
    uint32_t dlen, nseg, i, max_seg, max_sec;
    uint8_t st = VDM_BLK_S_OK;

    if ((s->flags & (wz ? VDM_BLK_WRITE_ZEROES : VDM_BLK_DISCARD)) == 0) {
        merge_status(r, VDM_BLK_S_UNSUPP);
        return;
    }
    if ((s->flags & VDM_BLK_RO) != 0) {
        merge_status(r, VDM_BLK_S_IOERR);
        return;
    }
    max_seg = vdm_le32(&s->cfg[wz ? VDM_BLK_CFG_MAX_WZ_SEG
                                  : VDM_BLK_CFG_MAX_DISCARD_SEG]);
    max_sec = vdm_le32(&s->cfg[wz ? VDM_BLK_CFG_MAX_WZ_SECTORS
                                  : VDM_BLK_CFG_MAX_DISCARD_SECTORS]);
    dlen = c->read_len - VDM_BLK_HDR_BYTES;
    nseg = dlen / VDM_BLK_SEG_BYTES;
    if (dlen % VDM_BLK_SEG_BYTES != 0 || nseg == 0 || nseg > max_seg) {
        merge_status(r, VDM_BLK_S_IOERR);
        return;
    }
    for (i = 0; i < nseg; i++) {
        uint8_t seg[VDM_BLK_SEG_BYTES];
        uint64_t sector;
        uint32_t nsec, fl;
        int rc;

        if (vdm_chain_copy_from(
                c, VDM_BLK_HDR_BYTES + (size_t)i * VDM_BLK_SEG_BYTES, seg,
                sizeof(seg)) != sizeof(seg)) {
            st = VDM_BLK_S_IOERR;
            break;
        }
        sector = vdm_le64(seg);
        nsec = vdm_le32(seg + 8);
        fl = vdm_le32(seg + 12);
        if ((fl & ~VDM_BLK_SEG_F_UNMAP) != 0 ||
            (!wz && (fl & VDM_BLK_SEG_F_UNMAP) != 0)) {
            st = VDM_BLK_S_UNSUPP;
            break;
        }
        if (st != VDM_BLK_S_OK)
            continue; /* only looking for flags now */
        if (nsec > max_sec || !in_range(s, sector, nsec)) {
            st = VDM_BLK_S_IOERR;
            continue;
        }
        if (nsec == 0)
            continue;
        r->pending++;
        rc = wz ? s->ops->write_zeroes(s->host, sector, nsec,
                                       fl & VDM_BLK_SEG_F_UNMAP, token_of(r))
                : s->ops->discard(s->host, sector, nsec, token_of(r));
        if (rc < 0) {
            r->pending--;
            st = VDM_BLK_S_IOERR;
        }
        if (!vdmi_kit_req_live(r->kr))
            return; /* reset from inside the host call: stop */
    }
    merge_status(r, st);
}
#endif /* VDM_CONFIG_BLK_DISCARD */

/* Look at one popped chain (spec "Device Operation", struct
 * virtio_blk_req): the kit's serve handler. The submission holds one
 * reference on the request so a completion from inside a host call never
 * ends it under our feet. */
static int blk_serve(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct blk *s = ctx;
    struct blk_req *r = breq(kr);
    struct vdm_chain *c = &kr->chain;
    uint8_t hdr[VDM_BLK_HDR_BYTES];
    uint32_t type;
    uint64_t sector;

    r->kr = kr;
    r->pending = 1;
    r->status = VDM_BLK_S_OK;
    r->data_len = 0;
    r->fix_idx = NONE;
    r->status_ptr = NULL;

    /* The status byte: the last byte of the device-writable part. Without
     * one the request cannot be answered; it is returned unread. */
    if (c->nwrite == 0 || c->write_len == 0 ||
        c->iov[c->nread + c->nwrite - 1].len == 0) {
        blk_log(s, VDM_LOG_WARN, VDM_MSG("blk: request without a status byte"));
        *written = 0;
        return VDM_KIT_DONE;
    }
    {
        const struct vdm_iov *last = &c->iov[c->nread + c->nwrite - 1];
        r->status_ptr = (uint8_t *)last->base + last->len - 1;
    }

    /* The header, copied once; it may span several readable spans. */
    if (c->read_len < VDM_BLK_HDR_BYTES ||
        vdm_chain_copy_from(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
        blk_log(s, VDM_LOG_WARN, VDM_MSG("blk: request header too short"));
        merge_status(r, VDM_BLK_S_IOERR);
        *written = blk_end(r);
        return VDM_KIT_DONE;
    }
    type = vdm_le32(hdr);
    sector = vdm_le64(hdr + 8); /* hdr + 4: `reserved` (was ioprio) */

    switch (type) {
    case VDM_BLK_T_IN: blk_rw(s, r, sector, 0); break;
    case VDM_BLK_T_OUT: blk_rw(s, r, sector, 1); break;
    case VDM_BLK_T_FLUSH: blk_flush(s, r); break;
    case VDM_BLK_T_GET_ID: blk_get_id(s, r); break;
#if VDM_CONFIG_BLK_DISCARD
    case VDM_BLK_T_DISCARD:
    case VDM_BLK_T_WRITE_ZEROES: blk_dwz(s, r, type); break;
#endif
    default: merge_status(r, VDM_BLK_S_UNSUPP); break;
    }
    if (--r->pending != 0)
        return VDM_KIT_PENDING; /* vdm_blk_complete() ends it */
    *written = blk_end(r);
    return VDM_KIT_DONE;
}

/* "Device Operation": a request the device cannot take (more spans than
 * iov_per_req) still gets its status byte, the last byte of the chain. */
static const struct vdm_kit_queue blk_queues[] = {
    {.serve = blk_serve,
     .status_at = VDM_KIT_STATUS_TAIL,
     .status_len = 1,
     .status_err = {VDM_BLK_S_IOERR}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct blk *blk_dev(struct vdm_dev *d)
{
    struct blk *s = (struct blk *)vdm_dev_priv(d);

    return s != NULL && s->magic == BLK_MAGIC ? s : NULL;
}

/* "Device Initialization": if CONFIG_WCE is negotiated without FLUSH,
 * writeback MUST start at 0. If FLUSH is offered but neither FLUSH nor
 * CONFIG_WCE is negotiated, writes must be stable on completion ("Device
 * Operation", case 1): writethrough. */
static int blk_features_ok(struct vdm_dev *d, uint64_t accepted)
{
    struct blk *s = blk_dev(d);
    uint8_t wb;

    if (s == NULL)
        return VDM_EINVAL;
    wb = ((s->flags & VDM_BLK_WRITEBACK) != 0u) ? 1u : 0u;
    if ((accepted & VDM_BLK_F_FLUSH) == 0)
        wb = 0;
    set_cache_mode(s, wb);
    return 0;
}

static void blk_reset(struct vdm_dev *d)
{
    struct blk *s = blk_dev(d);

    if (s == NULL)
        return;
    vdm_kit_reset(&s->kit, UINT16_MAX);
    set_cache_mode(s, (s->flags & VDM_BLK_WRITEBACK) != 0);
}

static void blk_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct blk *s = blk_dev(d);
    if (s != NULL)
        vdm_kit_reset(&s->kit, q);
}

static void blk_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct blk *s = blk_dev(d);

    if (s == NULL)
        return;
    if (q >= active_queues(s)) {
        blk_log(s, VDM_LOG_WARN,
                VDM_MSG("blk: notify for an unused queue ignored"));
        return;
    }
    if (VDM_HAS_HOOK(s->ops, struct vdm_blk_ops, kick))
        s->ops->kick(s->host, q);
    else
        (void)vdm_kit_run(&s->kit, q);
}

/* "Device configuration layout": struct virtio_blk_config, little-endian,
 * padding (unused0, unused1) zero. */
static void blk_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct blk *s = blk_dev(d);

    vdm_kit_config_copy(s != NULL ? s->cfg : NULL,
                        s != NULL ? VDM_BLK_CONFIG_BYTES : 0u, off, buf, len);
}

/* Only `writeback` is writable, and only with CONFIG_WCE negotiated
 * ("Device Initialization": 0 writethrough, 1 writeback). */
static void blk_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    struct blk *s = blk_dev(d);
    uint8_t v;

    if (s == NULL)
        return;
    if (off > VDM_BLK_CFG_WRITEBACK || len <= VDM_BLK_CFG_WRITEBACK - off) {
        blk_log(s, VDM_LOG_WARN,
                VDM_MSG("blk: write to read-only config ignored"));
        return;
    }
    if ((vdm_dev_features(s->dev) & VDM_BLK_F_CONFIG_WCE) == 0) {
        blk_log(s, VDM_LOG_WARN,
                VDM_MSG("blk: writeback write without CONFIG_WCE ignored"));
        return;
    }
    v = ((const uint8_t *)buf)[VDM_BLK_CFG_WRITEBACK - off];
    if (v > 1) {
        blk_log(s, VDM_LOG_WARN,
                VDM_MSG("blk: writeback value not 0 or 1 ignored"));
        return;
    }
    if (v != s->writeback)
        set_cache_mode(s, v);
}

#if VDM_CONFIG_STATE /* vdm/config.h: save and restore */
/* Save and restore (vdm/state.h): the device type's section is 16 bytes,
 * capacity (le64), writeback (u8), 7 bytes 0 (docs/state-format.md). The
 * capacity is the host's configuration: a different one is refused. */
#define BLK_STATE_BYTES 16u

static int blk_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct blk *s = (const struct blk *)vdm_dev_priv(d);
    uint8_t *p = (uint8_t *)buf;
    int rc = (int)BLK_STATE_BYTES;

    if ((s == NULL) || (s->magic != BLK_MAGIC)) {
        rc = VDM_EINVAL;
    } else if (p == NULL) {
        /* the size only */
    } else if (len < BLK_STATE_BYTES) {
        rc = VDM_ENOSPC;
    } else {
        __builtin_memset(p, 0, BLK_STATE_BYTES);
        vdm_put_le64(p, s->capacity);
        p[8] = s->writeback;
    }
    return rc;
}

/* Spec "Device Initialization" (block): writeback is 0 or 1 and changes
 * from its initial value only by a driver write with CONFIG_WCE. */
static int blk_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct blk *s = blk_dev(d);
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (p == NULL) || (len != BLK_STATE_BYTES)) {
        return VDM_EINVAL;
    }
    for (i = 9u; i < BLK_STATE_BYTES; i++) {
        if (p[i] != 0u) {
            rc = VDM_EINVAL;
        }
    }
    if ((vdm_le64(p) != s->capacity) || (p[8] > 1u)) {
        rc = VDM_EINVAL;
    }
    if ((rc == 0) && (p[8] != s->writeback)) {
        if ((vdm_dev_features(s->dev) & VDM_BLK_F_CONFIG_WCE) == 0u) {
            rc = VDM_EINVAL;
        } else {
            set_cache_mode(s, p[8]);
        }
    }
    return rc;
}
#endif

static const struct vdm_device_class blk_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_BLK,
    .name = "blk",
    .config_size = VDM_BLK_CONFIG_BYTES,
    .max_queues = VDM_DEV_MAX_QUEUES,
    .features_ok = blk_features_ok,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
    .queue_reset = blk_queue_reset,
    .config_read = blk_config_read,
    .config_write = blk_config_write,
#if VDM_CONFIG_STATE
    .state_save = blk_state_save,
    .state_restore = blk_state_restore,
#endif
};

/* ------------------------------------------------------------------------ */
/* Public API */

/* The discard and write-zeroes flags (vdm/config.h VDM_CONFIG_BLK_DISCARD) */
#define BLK_FLAGS_DWZ                                                          \
    (VDM_BLK_DISCARD | VDM_BLK_WRITE_ZEROES | VDM_BLK_WZ_MAY_UNMAP)
#define BLK_FLAGS_ALL                                                          \
    (VDM_BLK_RO | VDM_BLK_FLUSH | VDM_BLK_WCE | VDM_BLK_WRITEBACK |            \
     VDM_BLK_TOPOLOGY | BLK_FLAGS_DWZ)

static uint64_t blk_features(const struct vdm_blk_config *cfg, uint16_t nq,
                             uint64_t base_features)
{
    uint64_t f = VDM_BLK_F_SEG_MAX;

    if (cfg->size_max != 0)
        f |= VDM_BLK_F_SIZE_MAX;
    if (cfg->cylinders != 0 || cfg->heads != 0 || cfg->sectors != 0)
        f |= VDM_BLK_F_GEOMETRY;
    if ((cfg->flags & VDM_BLK_RO) != 0)
        f |= VDM_BLK_F_RO;
    if (cfg->blk_size != 0)
        f |= VDM_BLK_F_BLK_SIZE;
    if ((cfg->flags & VDM_BLK_FLUSH) != 0)
        f |= VDM_BLK_F_FLUSH;
    if ((cfg->flags & VDM_BLK_TOPOLOGY) != 0)
        f |= VDM_BLK_F_TOPOLOGY;
    if ((cfg->flags & VDM_BLK_WCE) != 0)
        f |= VDM_BLK_F_CONFIG_WCE;
    if (nq > 1)
        f |= VDM_BLK_F_MQ;
#if VDM_CONFIG_BLK_DISCARD
    if ((cfg->flags & VDM_BLK_DISCARD) != 0)
        f |= VDM_BLK_F_DISCARD;
    if ((cfg->flags & VDM_BLK_WRITE_ZEROES) != 0)
        f |= VDM_BLK_F_WRITE_ZEROES;
#endif
    /* The kit's policy; requests complete out of order, so no IN_ORDER. */
    return vdm_kit_features(f, base_features, VDM_F_IN_ORDER);
}

/* The configuration space of a checked host configuration (spec "Block
 * Device / Device configuration layout"): each field the features offer,
 * 0 elsewhere; capacity and writeback are set by the caller. */
static void config_image(uint8_t *img, const struct vdm_blk_config *cfg,
                         uint16_t nq)
{
    __builtin_memset(img, 0, VDM_BLK_CONFIG_BYTES);
    vdm_put_le32(img + VDM_BLK_CFG_SIZE_MAX, cfg->size_max);
    vdm_put_le32(img + VDM_BLK_CFG_SEG_MAX, (cfg->seg_max != 0u)
                                                ? cfg->seg_max
                                                : (cfg->iov_per_req - 2u));
    vdm_put_le16(img + VDM_BLK_CFG_CYLINDERS, cfg->cylinders);
    img[VDM_BLK_CFG_HEADS] = cfg->heads;
    img[VDM_BLK_CFG_SECTORS] = cfg->sectors;
    vdm_put_le32(img + VDM_BLK_CFG_BLK_SIZE, cfg->blk_size);
    if ((cfg->flags & VDM_BLK_TOPOLOGY) != 0u) {
        img[VDM_BLK_CFG_PHYS_BLOCK_EXP] = cfg->physical_block_exp;
        img[VDM_BLK_CFG_ALIGN_OFFSET] = cfg->alignment_offset;
        vdm_put_le16(img + VDM_BLK_CFG_MIN_IO_SIZE, cfg->min_io_size);
        vdm_put_le32(img + VDM_BLK_CFG_OPT_IO_SIZE, cfg->opt_io_size);
    }
    vdm_put_le16(img + VDM_BLK_CFG_NUM_QUEUES, nq);
#if VDM_CONFIG_BLK_DISCARD
    if ((cfg->flags & VDM_BLK_DISCARD) != 0u) {
        vdm_put_le32(img + VDM_BLK_CFG_MAX_DISCARD_SECTORS,
                     (cfg->max_discard_sectors != 0u)
                         ? cfg->max_discard_sectors
                         : UINT32_MAX);
        vdm_put_le32(img + VDM_BLK_CFG_MAX_DISCARD_SEG,
                     (cfg->max_discard_seg != 0u) ? cfg->max_discard_seg : 1u);
        vdm_put_le32(img + VDM_BLK_CFG_DISCARD_ALIGN,
                     cfg->discard_sector_alignment);
    }
    if ((cfg->flags & VDM_BLK_WRITE_ZEROES) != 0u) {
        vdm_put_le32(img + VDM_BLK_CFG_MAX_WZ_SECTORS,
                     (cfg->max_write_zeroes_sectors != 0u)
                         ? cfg->max_write_zeroes_sectors
                         : UINT32_MAX);
        vdm_put_le32(img + VDM_BLK_CFG_MAX_WZ_SEG,
                     (cfg->max_write_zeroes_seg != 0u)
                         ? cfg->max_write_zeroes_seg
                         : 1u);
        img[VDM_BLK_CFG_WZ_MAY_UNMAP] =
            ((cfg->flags & VDM_BLK_WZ_MAY_UNMAP) != 0u) ? 1u : 0u;
    }
#endif
}

static int check_config(const struct vdm_blk_config *cfg,
                        const struct vdm_dev_config *base)
{
    const struct vdm_blk_ops *ops = cfg->ops;
    uint16_t nq;

    if (cfg->size < sizeof(struct vdm_blk_config) ||
        base->size < sizeof(struct vdm_dev_config))
        return VDM_ESIZE;
    if (ops == NULL)
        return VDM_EINVAL;
    if (ops->size < offsetof(struct vdm_blk_ops, set_writeback))
        return VDM_ESIZE;
    if ((cfg->flags & ~(uint32_t)BLK_FLAGS_ALL) != 0 || cfg->reserved0 != 0)
        return VDM_EINVAL;
#if !VDM_CONFIG_BLK_DISCARD
    if ((cfg->flags & BLK_FLAGS_DWZ) != 0) {
        return VDM_ENOTSUP; /* left out of this build (vdm/config.h) */
    }
#endif
    if (ops->read == NULL ||
        ((cfg->flags & VDM_BLK_RO) == 0 && ops->write == NULL) ||
        ((cfg->flags & VDM_BLK_FLUSH) != 0 && ops->flush == NULL) ||
        ((cfg->flags & VDM_BLK_DISCARD) != 0 && ops->discard == NULL) ||
        ((cfg->flags & VDM_BLK_WRITE_ZEROES) != 0 && ops->write_zeroes == NULL))
        return VDM_EINVAL;
    /* "Device Initialization": a device offering CONFIG_WCE MUST offer
     * FLUSH; a writeback cache without FLUSH could never be made stable. */
    if ((cfg->flags & (VDM_BLK_WCE | VDM_BLK_WRITEBACK)) != 0 &&
        (cfg->flags & VDM_BLK_FLUSH) == 0)
        return VDM_EINVAL;
    nq = cfg->num_queues != 0 ? cfg->num_queues : base->num_queues;
    if (nq == 0 || nq > base->num_queues || nq > VDM_DEV_MAX_QUEUES)
        return VDM_EINVAL;
    if (base->queue_size_max == 0 || base->queue_size_max > VDM_VQ_MAX_NUM)
        return VDM_EINVAL;
    if (cfg->iov_per_req < 3 || cfg->seg_max > cfg->iov_per_req - 2)
        return VDM_EINVAL;
    if (cfg->blk_size != 0 && (cfg->blk_size < VDM_BLK_SECTOR_SIZE ||
                               (cfg->blk_size & (cfg->blk_size - 1)) != 0))
        return VDM_EINVAL;
    if (cfg->reqs == NULL || cfg->iovs == NULL)
        return VDM_EINVAL;
    return 0;
}

int vdm_blk_init(struct vdm_blk *blk, struct vdm_dev *dev,
                 const struct vdm_blk_config *cfg,
                 const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct blk *s;
    int rc;

    if (blk == NULL || dev == NULL || cfg == NULL || base == NULL)
        return VDM_EINVAL;
    rc = check_config(cfg, base);
    if (rc < 0)
        return rc;

    __builtin_memset(blk, 0, sizeof(*blk));
    s = (struct blk *)(void *)blk->opaque;
    s->flags = cfg->flags;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->num_queues = cfg->num_queues != 0 ? cfg->num_queues : base->num_queues;
    __builtin_memcpy(s->serial, cfg->serial, VDM_BLK_ID_BYTES);
    config_image(s->cfg, cfg, s->num_queues);
    s->capacity = cfg->capacity;
    vdm_put_le64(s->cfg + VDM_BLK_CFG_CAPACITY, cfg->capacity);
    s->writeback = (cfg->flags & VDM_BLK_WRITEBACK) != 0;
    s->cfg[VDM_BLK_CFG_WRITEBACK] = s->writeback;

    /* Request slots: the kit's, blk's part follows (struct blk_req). The
     * kit drains a queue completely: a host that wants a bound per pass
     * schedules queues itself (the kick hook). */
    kc.num_queues = s->num_queues;
    kc.nqdesc = 1;
    kc.queues = blk_queues;
    kc.ctx = s;
    kc.slots = cfg->reqs;
    kc.iovs = cfg->iovs;
    kc.slot_bytes = VDM_BLK_REQ_SIZE;
    kc.per_queue = base->queue_size_max;
    kc.iov_per_req = cfg->iov_per_req;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0)
        return rc;

    /* cannot fail: check_config required the whole struct */
    (void)vdm_copy_sized(&dc, sizeof(dc), base, sizeof(dc));
    dc.num_queues = s->num_queues;
    dc.features = blk_features(cfg, s->num_queues, base->features);
    dc.cls = &blk_class;
    dc.priv = s;
    s->magic = BLK_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
        return rc;
    }
    return 0;
}

int vdm_blk_complete(struct vdm_blk *blk, void *token, int status)
{
    struct blk *s = blk_of(blk);
    struct vdm_kit_req *kr;
    struct blk_req *r;

    if (s == NULL)
        return VDM_EINVAL;
    kr = vdmi_kit_lookup(vdmi_kit(&s->kit), vdmi_kit_token_of(token));
    r = kr != NULL ? breq(kr) : NULL;
    if (r == NULL || r->pending == 0) {
        blk_log(s, VDM_LOG_WARN,
                VDM_MSG("blk: completion of an unknown token"));
        return VDM_EINVAL;
    }
    if (status == (int)VDM_BLK_S_OK || status == (int)VDM_BLK_S_IOERR ||
        status == (int)VDM_BLK_S_UNSUPP)
        merge_status(r, (uint8_t)status);
    else
        merge_status(r, VDM_BLK_S_IOERR);
    if (--r->pending != 0)
        return vdmi_kit_req_live(kr) ? 0 : VDM_ESTATE;
    if (vdm_kit_finish(&s->kit, kr, blk_end(r)) == VDM_ESTATE) {
        blk_log(s, VDM_LOG_INFO,
                VDM_MSG("blk: completion after reset dropped"));
        return VDM_ESTATE;
    }
    return 0;
}

int vdm_blk_process(struct vdm_blk *blk, uint16_t q)
{
    struct blk *s = blk_of(blk);

    if (s == NULL)
        return VDM_EINVAL;
    if (q >= active_queues(s))
        return VDM_ERANGE;
    (void)vdm_kit_run(&s->kit, q);
    return 0;
}

int vdm_blk_token_queue(const struct vdm_blk *blk, const void *token)
{
    const struct blk *s = cblk_of(blk);
    const struct vdm_kit_req *kr;

    if (s == NULL)
        return VDM_EINVAL;
    kr = vdm_kit_lookup(&s->kit, vdmi_kit_token_of(token));
    return kr != NULL ? (int)kr->queue : VDM_EINVAL;
}

int vdm_blk_set_capacity(struct vdm_blk *blk, uint64_t capacity)
{
    struct blk *s = blk_of(blk);

    if (s == NULL)
        return VDM_EINVAL;
    s->capacity = capacity;
    vdm_put_le64(s->cfg + VDM_BLK_CFG_CAPACITY, capacity);
    vdm_dev_config_changed(s->dev);
    return 0;
}

uint64_t vdm_blk_capacity(const struct vdm_blk *blk)
{
    const struct blk *s = cblk_of(blk);
    return s != NULL ? s->capacity : 0;
}

uint32_t vdm_blk_writeback(const struct vdm_blk *blk)
{
    const struct blk *s = cblk_of(blk);
    return s != NULL ? s->writeback : 0;
}

uint32_t vdm_blk_in_flight(const struct vdm_blk *blk)
{
    const struct blk *s = cblk_of(blk);

    return s != NULL ? vdm_kit_in_flight(&s->kit) : 0;
}

int vdm_blk_pending(const struct vdm_blk *blk, uint16_t q, uint32_t *cursor,
                    void **token)
{
    const struct blk *s = cblk_of(blk);
    uintptr_t t = 0;
    int rc;

    if ((s == NULL) || (token == NULL)) {
        return VDM_EINVAL;
    }
    rc = vdm_kit_pending(&s->kit, q, cursor, &t);
    if (rc == 1) {
        /* the host's token, as token_of() handed it over */
        struct vdm_kit_req *kr = vdmi_kit_lookup(vdmi_kit(&s->kit), t);

        if (kr == NULL) {
            rc = VDM_EINVAL; /* not reached: pending gives live tokens */
        } else {
            *token = token_of(breq(kr));
        }
    }
    return rc;
}

struct vdm_dev *vdm_blk_dev(const struct vdm_blk *blk)
{
    const struct blk *s = cblk_of(blk);

    return s != NULL ? s->dev : NULL;
}
