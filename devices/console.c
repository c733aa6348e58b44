/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console device type.
 *
 * Spec: "Console Device" -- "Virtqueues", "Feature bits", "Device
 * configuration layout", "Device Initialization" (emerg_wr at any time),
 * "Device Operation", "Multiport Device Operation" (control messages and
 * the device requirements on DEVICE_ADD / DEVICE_REMOVE).
 *
 * Transmitqs and the control transmitq are served through the device kit
 * (vdm/kit.h); receiveqs and the control receiveq are device-initiated: a
 * buffer is taken (vdm_kit_take()) when there is something to put in it.
 * Control messages to the driver are not queued: each port keeps one bit
 * per message kind it still owes the driver (pend), and a flush turns bits
 * into messages while the control receiveq has buffers, so a host or a
 * driver can never make the device hold more than a few bits per port. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/console.h"

#include "abi_internal.h"
#include "console_priv.h"
#include "vdm/kit.h"
#include "vdm/le.h"

#define CON_TYPE_BITS                                                          \
    (VDM_CONSOLE_F_SIZE | VDM_CONSOLE_F_MULTIPORT | VDM_CONSOLE_F_EMERG_WRITE)

VDM_OPAQUE_ACCESSORS(con_of, ccon_of, vdm_console, con_state, CON_MAGIC)

void con_warn(struct con_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

int con_multiport(const struct con_state *s)
{
    return ((vdm_dev_features(s->dev) & VDM_CONSOLE_F_MULTIPORT) != 0u) ? 1 : 0;
}

/* The port queue @p q belongs to, or UINT32_MAX for the control queues. */
static uint32_t port_of_queue(uint16_t q)
{
    uint32_t p = UINT32_MAX;

    if (q < VDM_CONSOLE_QUEUE_CTRL_RX) {
        p = 0u;
    } else if (q > VDM_CONSOLE_QUEUE_CTRL_TX) {
        p = ((uint32_t)q / 2u) - 1u;
    } else {
        p = UINT32_MAX;
    }
    return p;
}

/* A port data can flow on: without MULTIPORT only port 0, always; with it
 * a port the host added. */
int con_port_usable(const struct con_state *s, uint32_t p)
{
    int ok = 0;

    if (con_multiport(s) == 0) {
        if (p == 0u) {
            ok = 1;
        }
    } else if ((p < s->max_ports) &&
               ((s->ports[p].flags & VDM_CONSOLE_PS_ADDED) != 0u)) {
        ok = 1;
    } else {
        ok = 0;
    }
    return ok;
}

void con_set_guest_open(struct con_state *s, uint32_t p, uint32_t open)
{
    struct port_state *ps = &s->ports[p];
    uint32_t was = ps->flags & VDM_CONSOLE_PS_GUEST_OPEN;

    if (open != 0u) {
        ps->flags |= VDM_CONSOLE_PS_GUEST_OPEN;
    } else {
        ps->flags &= ~VDM_CONSOLE_PS_GUEST_OPEN;
    }
    if ((((was != 0u) ? 1u : 0u) != open) && (HOOK(s, guest_open))) {
        s->ops->guest_open(s->host, p, open);
    }
}

/* ------------------------------------------------------------------------ */
/* Port data */

static int serve_tx(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct con_state *s = ctx;
    uint32_t p = port_of_queue(kr->queue);
    uintptr_t token;
    int rc = VDM_KIT_DONE;
    int hr;

    *written = 0u;
    if (con_port_usable(s, p) == 0) {
        con_warn(s, W_NOPORT, "console: data on a port that does not exist");
    } else if (kr->chain.nwrite != 0u) {
        /* "The driver MUST NOT put a device-writable buffer in a
         * transmitq." */
        con_warn(s, W_DIR, "console: device-writable buffer in a transmitq");
    } else {
        token = vdm_kit_token(&s->kit, kr);
        hr = s->ops->transmit(s->host, p, kr->chain.iov, kr->chain.nread,
                              kr->chain.read_len, token);
        if (hr == VDM_EAGAIN) {
            s->ports[p].tx_blocked = 1u;
            rc = VDM_EAGAIN;
        } else if (hr == VDM_CONSOLE_TX_PENDING) {
            rc = VDM_KIT_PENDING; /* finished now or later by tx_done */
        } else {
            rc = VDM_KIT_DONE;
        }
    }
    return rc;
}

/* Receiveqs are device-initiated: chains are only taken. */
static int serve_none(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    (void)ctx;
    (void)kr;
    *written = 0u;
    return VDM_EAGAIN;
}

/* One kit entry for every queue: the handler goes by queue number
 * (receiveqs are even, transmitqs odd, 2 and 3 the control queues). */
static int serve_any(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    int rc;

    if (kr->queue == VDM_CONSOLE_QUEUE_CTRL_TX) {
        rc = con_serve_ctrl_tx(ctx, kr, written);
    } else if ((kr->queue & 1u) != 0u) {
        rc = serve_tx(ctx, kr, written);
    } else {
        rc = serve_none(ctx, kr, written);
    }
    return rc;
}

static const struct vdm_kit_queue con_kit_queues[1] = {
    {.serve = serve_any, .status_at = VDM_KIT_STATUS_NONE},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct con_state *con_dev_state(struct vdm_dev *d)
{
    struct con_state *s = (struct con_state *)vdm_dev_priv(d);
    struct con_state *r = NULL;

    if ((s != NULL) && (s->magic == CON_MAGIC)) {
        r = s;
    }
    return r;
}

static void con_reset(struct vdm_dev *d)
{
    struct con_state *s = con_dev_state(d);
    uint32_t p;

    if (s != NULL) {
        vdm_kit_reset(&s->kit, UINT16_MAX);
        for (p = 0u; p < s->max_ports; p++) {
            con_set_guest_open(s, p, 0u);
            s->ports[p].flags &= VDM_CONSOLE_PS_ADDED | VDM_CONSOLE_PS_CONSOLE |
                                 VDM_CONSOLE_PS_HOST_OPEN;
            s->ports[p].pend = 0u;
            s->ports[p].tx_blocked = 0u;
        }
        s->dev_ready = 0u;
        s->warned = 0u;
    }
}

static void con_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct con_state *s = con_dev_state(d);

    if ((s != NULL) && (q < s->num_queues)) {
        vdm_kit_reset(&s->kit, q);
    }
}

static void con_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct con_state *s = con_dev_state(d);
    uint32_t p = port_of_queue(q);

    if ((s == NULL) || (q >= s->num_queues)) {
        /* no such queue: nothing to do */
    } else if (q == VDM_CONSOLE_QUEUE_CTRL_RX) {
        con_ctrl_flush(s);
    } else if (q == VDM_CONSOLE_QUEUE_CTRL_TX) {
        (void)vdm_kit_run(&s->kit, q);
        con_ctrl_flush(s);
    } else if ((q & 1u) == 0u) {
        if ((con_port_usable(s, p) != 0) && (HOOK(s, rx_ready))) {
            s->ops->rx_ready(s->host, p);
        }
    } else if (s->ports[p].tx_blocked == 0u) {
        (void)vdm_kit_run(&s->kit, q);
    } else {
        /* the host asked for a pause: vdm_console_tx_kick() resumes */
    }
}

static void con_driver_ok(struct vdm_dev *d)
{
    struct con_state *s = con_dev_state(d);
    uint16_t q;

    if (s != NULL) {
        if (con_multiport(s) == 0) {
            /* Port 0 is the console and the driver's from the start. */
            s->ports[0].flags |=
                VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY;
            con_set_guest_open(s, 0u, 1u);
        }
        for (q = 0u; q < s->num_queues; q++) {
            con_queue_notify(d, q);
        }
    }
}

static void con_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    const struct con_state *s = con_dev_state(d);
    uint8_t cfg[VDM_CONSOLE_CONFIG_BYTES];

    __builtin_memset(cfg, 0, sizeof(cfg));
    if (s != NULL) {
        vdm_put_le16(&cfg[VDM_CONSOLE_CFG_COLS], s->cols);
        vdm_put_le16(&cfg[VDM_CONSOLE_CFG_ROWS], s->rows);
        vdm_put_le32(&cfg[VDM_CONSOLE_CFG_MAX_NR_PORTS], s->max_ports);
    }
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

/* "The device MUST allow a write to emerg_wr, even on an unconfigured
 * device." -- "SHOULD transmit the lower byte written". */
static void con_config_write(struct vdm_dev *d, uint32_t off, const void *buf,
                             uint32_t len)
{
    struct con_state *s = con_dev_state(d);
    const uint8_t *b = buf;

    if (s == NULL) {
        /* not ours */
    } else if (((s->offered & VDM_CONSOLE_F_EMERG_WRITE) != 0u) &&
               (off == VDM_CONSOLE_CFG_EMERG_WR) && (len >= 1u)) {
        if (HOOK(s, emerg_write)) {
            s->ops->emerg_write(s->host, b[0]);
        }
    } else {
        con_warn(s, W_CFG, "console: write to a read-only config field");
    }
}

static const struct vdm_device_class con_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_CONSOLE,
    .name = "console",
    .config_size = VDM_CONSOLE_CONFIG_BYTES,
    .max_queues = (uint16_t)VDM_CONSOLE_NUM_QUEUES(VDM_CONSOLE_MAX_PORTS),
    .reset = con_reset,
    .driver_ok = con_driver_ok,
    .queue_notify = con_queue_notify,
    .queue_reset = con_queue_reset,
    .config_read = con_config_read,
    .config_write = con_config_write,
    .state_save = con_state_save,
    .state_restore = con_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static int check_config(const struct vdm_console_config *cfg)
{
    uint64_t f = cfg->features;
    int rc = 0;

    if ((cfg->ops == NULL) || (cfg->storage == NULL) ||
        (cfg->max_ports == 0u) || (cfg->max_ports > VDM_CONSOLE_MAX_PORTS) ||
        (cfg->tx_slots == 0u) || (cfg->tx_slots > VDM_CONSOLE_MAX_TX_SLOTS) ||
        (((uintptr_t)cfg->storage & 7u) != 0u) ||
        (cfg->storage_bytes <
         VDM_CONSOLE_STORAGE_BYTES(cfg->max_ports, cfg->tx_slots)) ||
        ((f & ~(uint64_t)CON_TYPE_BITS) != 0u) ||
        (((f & VDM_CONSOLE_F_MULTIPORT) == 0u) && (cfg->max_ports != 1u))) {
        rc = VDM_EINVAL;
    } else if (!CON_HAS(cfg->ops, struct vdm_console_ops, transmit)) {
        rc = VDM_ESIZE;
    } else if (cfg->ops->transmit == NULL) {
        rc = VDM_EINVAL;
    } else {
        rc = 0;
    }
    return rc;
}

int vdm_console_init(struct vdm_console *con, struct vdm_dev *dev,
                     const struct vdm_console_config *cfg,
                     const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct con_state *s;
    uint8_t *mem;
    uint32_t nq;
    size_t ports_bytes;
    int rc;

    if ((con == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (!CON_HAS(cfg, struct vdm_console_config, storage_bytes)) {
        return VDM_ESIZE;
    }
    rc = check_config(cfg);
    if (rc < 0) {
        return rc;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    nq = 2u;
    if ((cfg->features & VDM_CONSOLE_F_MULTIPORT) != 0u) {
        nq = VDM_CONSOLE_NUM_QUEUES(cfg->max_ports);
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = (uint16_t)nq;
    }
    if (dc.num_queues != nq) {
        return VDM_EINVAL;
    }

    __builtin_memset(con, 0, sizeof(*con));
    s = (struct con_state *)(void *)con->opaque;
    mem = cfg->storage;
    ports_bytes = (size_t)cfg->max_ports * VDM_CONSOLE_PORT_BYTES;
    __builtin_memset(mem, 0, ports_bytes);
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->ports = (struct port_state *)(void *)mem;
    s->offered = cfg->features;
    s->max_ports = cfg->max_ports;
    s->num_queues = (uint16_t)nq;
    s->cols = cfg->cols;
    s->rows = cfg->rows;
    s->ports[0].cols = cfg->cols;
    s->ports[0].rows = cfg->rows;

    kc.num_queues = (uint16_t)nq;
    kc.nqdesc = 1u;
    kc.queues = con_kit_queues;
    kc.ctx = s;
    kc.slots = &mem[ports_bytes];
    kc.iovs = (struct vdm_iov *)(void *)&mem[ports_bytes +
                                             VDM_KIT_SLOTS_BYTES(
                                                 nq, cfg->tx_slots, CON_SLOT)];
    kc.slot_bytes = CON_SLOT;
    kc.per_queue = cfg->tx_slots;
    kc.iov_per_req = VDM_CONSOLE_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &con_class;
    dc.priv = s;
    /* Kept transmit buffers complete when the host says so, others at
     * once: used order is not ring order, so no IN_ORDER. */
    dc.features =
        vdm_kit_features(cfg->features, base->features, VDM_F_IN_ORDER);
    s->magic = CON_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0u;
    }
    return rc;
}

int vdm_console_port_add(struct vdm_console *con, uint32_t port,
                         const struct vdm_console_port_info *info)
{
    struct con_state *s = con_of(con);
    struct port_state *ps;
    int rc = 0;

    if ((s == NULL) || (info == NULL)) {
        rc = VDM_EINVAL;
    } else if (!CON_HAS(info, struct vdm_console_port_info, host_open)) {
        rc = VDM_ESIZE;
    } else if ((info->console > 1u) || (info->host_open > 1u) ||
               (info->name_len > VDM_CONSOLE_NAME_MAX) ||
               ((info->name == NULL) && (info->name_len != 0u))) {
        rc = VDM_EINVAL;
    } else if (port >= s->max_ports) {
        rc = VDM_ERANGE;
    } else if ((s->ports[port].flags & VDM_CONSOLE_PS_ADDED) != 0u) {
        rc = VDM_EBUSY;
    } else {
        ps = &s->ports[port];
        ps->flags &= ~(VDM_CONSOLE_PS_CONSOLE | VDM_CONSOLE_PS_HOST_OPEN);
        ps->flags |= VDM_CONSOLE_PS_ADDED;
        if (info->console != 0u) {
            ps->flags |= VDM_CONSOLE_PS_CONSOLE;
        }
        if (info->host_open != 0u) {
            ps->flags |= VDM_CONSOLE_PS_HOST_OPEN;
        }
        ps->name_len = (uint8_t)info->name_len;
        if (info->name_len != 0u) {
            __builtin_memcpy(ps->name, info->name, info->name_len);
        }
        if (port != 0u) {
            ps->cols = 0u;
            ps->rows = 0u;
        }
        ps->pend |= M_ADD;
        con_ctrl_flush(s);
    }
    return rc;
}

int vdm_console_port_remove(struct vdm_console *con, uint32_t port)
{
    struct con_state *s = con_of(con);
    struct port_state *ps;
    int rc = 0;

    if (s == NULL) {
        rc = VDM_EINVAL;
    } else if (port >= s->max_ports) {
        rc = VDM_ERANGE;
    } else if ((s->ports[port].flags & VDM_CONSOLE_PS_ADDED) == 0u) {
        rc = VDM_ENOENT;
    } else {
        ps = &s->ports[port];
        ps->flags &= ~(VDM_CONSOLE_PS_ADDED | VDM_CONSOLE_PS_GUEST_OPEN);
        /* "MUST NOT specify a port in VIRTIO_CONSOLE_DEVICE_REMOVE which
         * has not been created with a previous VIRTIO_CONSOLE_DEVICE_ADD":
         * next_msg drops the bit for a port never announced. */
        ps->pend = M_REMOVE;
        ps->tx_blocked = 0u;
        con_ctrl_flush(s);
    }
    return rc;
}

int vdm_console_write(struct vdm_console *con, uint32_t port, const void *data,
                      uint32_t len)
{
    struct con_state *s = con_of(con);
    struct vdm_kit_req *kr = NULL;
    const uint8_t *src = data;
    uint32_t off = 0u;
    uint32_t n;
    int more = 1;

    if ((s == NULL) || ((data == NULL) && (len != 0u))) {
        return VDM_EINVAL;
    }
    if (vdm_dev_live(s->dev) == 0) {
        return VDM_ESTATE;
    }
    if (con_port_usable(s, port) == 0) {
        return VDM_ENOENT;
    }
    if ((s->ports[port].flags & VDM_CONSOLE_PS_GUEST_OPEN) == 0u) {
        /* A closed port's data would be discarded by the guest (Linux
         * does): keep it at the host until guest_open says 1. */
        more = 0;
    }
    while ((more != 0) && (off < len)) {
        if (vdm_kit_take(&s->kit, (uint16_t)VDM_CONSOLE_QUEUE_RX(port), &kr) <=
            0) {
            more = 0;
        } else if (kr->chain.write_len == 0u) {
            /* "The driver MUST NOT put a device-readable buffer in a
             * receiveq": used empty, the data waits for the next one. */
            con_warn(s, W_DIR, "console: device-readable buffer in a receiveq");
            (void)vdm_kit_finish(&s->kit, kr, 0u);
        } else {
            n = len - off;
            if (n > kr->chain.write_len) {
                n = kr->chain.write_len;
            }
            n = (uint32_t)vdm_chain_copy_to(&kr->chain, 0u, &src[off], n);
            off += n;
            (void)vdm_kit_finish(&s->kit, kr, n);
        }
    }
    return (int)off;
}

int vdm_console_set_host_open(struct vdm_console *con, uint32_t port,
                              uint32_t open)
{
    struct con_state *s = con_of(con);
    struct port_state *ps;
    int rc = 0;

    if ((s == NULL) || (open > 1u)) {
        rc = VDM_EINVAL;
    } else if (port >= s->max_ports) {
        rc = VDM_ERANGE;
    } else if ((s->ports[port].flags & VDM_CONSOLE_PS_ADDED) == 0u) {
        rc = VDM_ENOENT;
    } else {
        ps = &s->ports[port];
        if (open != 0u) {
            ps->flags |= VDM_CONSOLE_PS_HOST_OPEN;
        } else {
            ps->flags &= ~VDM_CONSOLE_PS_HOST_OPEN;
        }
        ps->pend |= M_OPEN;
        con_ctrl_flush(s);
    }
    return rc;
}

int vdm_console_resize(struct vdm_console *con, uint32_t port, uint16_t cols,
                       uint16_t rows)
{
    struct con_state *s = con_of(con);
    struct port_state *ps;
    int rc = 0;

    if (s == NULL) {
        rc = VDM_EINVAL;
    } else if (port >= s->max_ports) {
        rc = VDM_ERANGE;
    } else if ((port != 0u) &&
               ((s->ports[port].flags & VDM_CONSOLE_PS_ADDED) == 0u)) {
        rc = VDM_ENOENT;
    } else {
        ps = &s->ports[port];
        ps->cols = cols;
        ps->rows = rows;
        if (port == 0u) {
            s->cols = cols;
            s->rows = rows;
            /* "a configuration change notification indicates that the
             * updated size can be read ... This size applies to port 0" */
            if ((vdm_dev_live(s->dev) != 0) &&
                ((vdm_dev_features(s->dev) & VDM_CONSOLE_F_SIZE) != 0u)) {
                vdm_dev_config_changed(s->dev);
            }
        }
        if ((ps->flags & VDM_CONSOLE_PS_CONSOLE) != 0u) {
            ps->pend |= M_RESIZE;
            con_ctrl_flush(s);
        }
    }
    return rc;
}

int vdm_console_tx_done(struct vdm_console *con, uintptr_t token)
{
    struct con_state *s = con_of(con);
    struct vdm_kit_req *kr;
    int rc = 0;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    kr = vdm_kit_lookup(&s->kit, token);
    if ((kr == NULL) || ((kr->queue & 1u) == 0u) ||
        (kr->queue == VDM_CONSOLE_QUEUE_CTRL_TX)) {
        rc = VDM_ENOENT;
    } else if (vdm_kit_req_live(kr) == 0) {
        (void)vdm_kit_finish(&s->kit, kr, 0u); /* reset: drop it */
        rc = VDM_ENOENT;
    } else {
        (void)vdm_kit_finish(&s->kit, kr, 0u);
    }
    return rc;
}

int vdm_console_tx_kick(struct vdm_console *con, uint32_t port)
{
    struct con_state *s = con_of(con);
    int rc = 0;

    if (s == NULL) {
        rc = VDM_EINVAL;
    } else if ((port >= s->max_ports) ||
               (VDM_CONSOLE_QUEUE_TX(port) >= s->num_queues)) {
        rc = VDM_ERANGE;
    } else {
        s->ports[port].tx_blocked = 0u;
        if (vdm_dev_live(s->dev) != 0) {
            (void)vdm_kit_run(&s->kit, (uint16_t)VDM_CONSOLE_QUEUE_TX(port));
        }
    }
    return rc;
}

int vdm_console_port_state(const struct vdm_console *con, uint32_t port)
{
    const struct con_state *s = ccon_of(con);
    int rc = VDM_EINVAL;

    if (s == NULL) {
        rc = VDM_EINVAL;
    } else if (port >= s->max_ports) {
        rc = VDM_ERANGE;
    } else {
        rc = (int)s->ports[port].flags;
    }
    return rc;
}

struct vdm_dev *vdm_console_dev(const struct vdm_console *con)
{
    const struct con_state *s = ccon_of(con);
    struct vdm_dev *d = NULL;

    if (s != NULL) {
        d = s->dev;
    }
    return d;
}
