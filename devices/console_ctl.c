/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console device type: the multiport control queues (spec "Console
 * Device" -- "Multiport Device Operation"). Messages to the driver are not
 * queued: each port keeps one bit per message kind it still owes (pend),
 * and con_ctrl_flush() turns bits into messages while the control receiveq
 * has buffers. */
#include <stdint.h>

#include "console_priv.h"
#include "vdm/le.h"

/* ------------------------------------------------------------------------ */
/* Control receiveq: device to driver (spec "Multiport Device Operation") */

/* The next message port @p ps owes, or 0; drops bits with nothing to say. */
static uint32_t next_msg(struct port_state *ps)
{
    uint32_t m = 0u;

    if ((ps->flags & VDM_CONSOLE_PS_READY) == 0u) {
        ps->pend &= ~M_AFTER_READY; /* re-derived at PORT_READY */
    }
    if (((ps->pend & M_REMOVE) != 0u) &&
        ((ps->flags & VDM_CONSOLE_PS_ANNOUNCED) == 0u)) {
        ps->pend &= ~M_REMOVE; /* the driver never heard of it */
    }
    if (((ps->pend & M_ADD) != 0u) &&
        ((ps->flags & VDM_CONSOLE_PS_ADDED) == 0u)) {
        ps->pend &= ~M_ADD;
    }
    if (((ps->pend & M_ADD) != 0u) &&
        ((ps->flags & VDM_CONSOLE_PS_ANNOUNCED) != 0u) &&
        ((ps->pend & M_REMOVE) == 0u)) {
        ps->pend &= ~M_ADD; /* "MUST NOT specify a port which exists" */
    }
    if ((ps->pend & M_REMOVE) != 0u) {
        m = M_REMOVE;
    } else if ((ps->pend & M_ADD) != 0u) {
        m = M_ADD;
    } else if ((ps->pend & M_CONSOLE) != 0u) {
        m = M_CONSOLE;
    } else if ((ps->pend & M_NAME) != 0u) {
        m = M_NAME;
    } else if ((ps->pend & M_OPEN) != 0u) {
        m = M_OPEN;
    } else if ((ps->pend & M_RESIZE) != 0u) {
        m = M_RESIZE;
    } else {
        m = 0u;
    }
    return m;
}

/* Write message @p m of port @p p into @p kr; returns the used length, 0
 * when the buffer is too small (the message stays owed). */
static uint32_t put_msg(struct con_state *s, struct vdm_kit_req *kr, uint32_t p,
                        uint32_t m)
{
    struct port_state *ps = &s->ports[p];
    uint8_t b[VDM_CONSOLE_CONTROL_BYTES + VDM_CONSOLE_RESIZE_BYTES];
    uint32_t need = VDM_CONSOLE_CONTROL_BYTES;
    uint32_t ev = VDM_CONSOLE_DEVICE_ADD;
    uint32_t val = 0u;
    uint32_t n = 0u;
    uint32_t used = 0u;

    if (m == M_REMOVE) {
        ev = VDM_CONSOLE_DEVICE_REMOVE;
    } else if (m == M_CONSOLE) {
        ev = VDM_CONSOLE_CONSOLE_PORT;
        val = 1u;
    } else if (m == M_NAME) {
        ev = VDM_CONSOLE_PORT_NAME;
    } else if (m == M_OPEN) {
        ev = VDM_CONSOLE_PORT_OPEN;
        if ((ps->flags & VDM_CONSOLE_PS_HOST_OPEN) != 0u) {
            val = 1u;
        }
    } else if (m == M_RESIZE) {
        ev = VDM_CONSOLE_RESIZE;
        need += VDM_CONSOLE_RESIZE_BYTES;
    } else {
        ev = VDM_CONSOLE_DEVICE_ADD;
    }
    if (kr->chain.write_len >= need) {
        vdm_put_le32(&b[0], p);
        vdm_put_le16(&b[4], (uint16_t)ev);
        vdm_put_le16(&b[6], (uint16_t)val);
        vdm_put_le16(&b[8], ps->cols);
        vdm_put_le16(&b[10], ps->rows);
        used = (uint32_t)vdm_chain_copy_to(&kr->chain, 0u, b, need);
        if (m == M_NAME) {
            /* The name follows the header, without a NUL; a buffer too
             * small for all of it gets what fits. */
            n = kr->chain.write_len - need;
            if (n > ps->name_len) {
                n = ps->name_len;
            }
            used += (uint32_t)vdm_chain_copy_to(&kr->chain, need, ps->name, n);
        }
    }
    return used;
}

static void sent(struct port_state *ps, uint32_t m)
{
    ps->pend &= ~m;
    if (m == M_REMOVE) {
        ps->flags &= ~(VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY |
                       VDM_CONSOLE_PS_GUEST_OPEN);
    } else if (m == M_ADD) {
        ps->flags |= VDM_CONSOLE_PS_ANNOUNCED;
    } else {
        /* nothing more to record */
    }
}

/* Send what the ports owe while the control receiveq has buffers. Each
 * round either sends a message or consumes a buffer too small for it, so
 * the walk ends with the ring's buffers or the owed bits. */
void con_ctrl_flush(struct con_state *s)
{
    struct vdm_kit_req *kr = NULL;
    uint32_t p = 0u;
    uint32_t m;
    uint32_t used;
    int more = 1;

    if ((vdm_dev_live(s->dev) == 0) || (con_multiport(s) == 0) ||
        (s->dev_ready == 0u)) {
        more = 0;
    }
    while ((more != 0) && (p < s->max_ports)) {
        m = next_msg(&s->ports[p]);
        if (m == 0u) {
            p++;
        } else if (vdm_kit_take(&s->kit, VDM_CONSOLE_QUEUE_CTRL_RX, &kr) <= 0) {
            more = 0;
        } else {
            used = put_msg(s, kr, p, m);
            if (used == 0u) {
                con_warn(s, W_RXSMALL,
                         "console: control receiveq buffer too "
                         "small for a message");
            } else {
                sent(&s->ports[p], m);
            }
            (void)vdm_kit_finish(&s->kit, kr, used);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Control transmitq: driver to device */

static int ctrl_port(struct con_state *s, uint32_t id, uint32_t need)
{
    int ok = 0;

    if ((id < s->max_ports) && ((s->ports[id].flags & need) == need)) {
        ok = 1;
    }
    return ok;
}

static void port_ready(struct con_state *s, uint32_t id, uint32_t value)
{
    struct port_state *ps = &s->ports[id];

    if (value == 1u) {
        ps->flags |= VDM_CONSOLE_PS_READY;
        if ((ps->flags & VDM_CONSOLE_PS_CONSOLE) != 0u) {
            ps->pend |= M_CONSOLE;
            if ((ps->cols != 0u) || (ps->rows != 0u)) {
                ps->pend |= M_RESIZE;
            }
        }
        if (ps->name_len != 0u) {
            ps->pend |= M_NAME;
        }
        if ((ps->flags & VDM_CONSOLE_PS_HOST_OPEN) != 0u) {
            ps->pend |= M_OPEN;
        }
    } else {
        ps->flags &= ~VDM_CONSOLE_PS_READY;
    }
    if (HOOK(s, port_ready)) {
        s->ops->port_ready(s->host, id, value);
    }
}

static void ctrl_message(struct con_state *s, uint32_t id, uint32_t ev,
                         uint32_t value)
{
    uint32_t p;

    if ((ev == VDM_CONSOLE_DEVICE_READY) || (ev == VDM_CONSOLE_PORT_READY) ||
        (ev == VDM_CONSOLE_PORT_OPEN)) {
        if (value > 1u) {
            con_warn(s, W_VALUE, "console: control value other than 0 or 1");
            ev = UINT32_MAX;
        }
    }
    if (ev == VDM_CONSOLE_DEVICE_READY) {
        if (value == 0u) {
            con_warn(s, W_NREADY, "console: the driver failed to set up");
        } else {
            s->dev_ready = 1u;
            for (p = 0u; p < s->max_ports; p++) {
                s->ports[p].pend |= M_ADD; /* next_msg drops the needless */
            }
        }
    } else if (ev == VDM_CONSOLE_PORT_READY) {
        if (ctrl_port(s, id, VDM_CONSOLE_PS_ANNOUNCED) == 0) {
            con_warn(s, W_PORT, "console: control message for an unknown port");
        } else {
            port_ready(s, id, value);
        }
    } else if (ev == VDM_CONSOLE_PORT_OPEN) {
        if (ctrl_port(s, id, VDM_CONSOLE_PS_READY) == 0) {
            con_warn(s, W_ORDER, "console: PORT_OPEN for a port not ready");
        } else {
            con_set_guest_open(s, id, value);
        }
    } else if (ev != UINT32_MAX) {
        con_warn(s, W_EVENT, "console: control event only a device may send");
    } else {
        /* already refused */
    }
}

int con_serve_ctrl_tx(void *ctx, struct vdm_kit_req *kr, uint32_t *written)
{
    struct con_state *s = ctx;
    uint8_t b[VDM_CONSOLE_CONTROL_BYTES];

    *written = 0u;
    if (con_multiport(s) == 0) {
        con_warn(s, W_NOMP, "console: control queue used without MULTIPORT");
    } else if ((kr->chain.read_len < VDM_CONSOLE_CONTROL_BYTES) ||
               (vdm_chain_copy_from(&kr->chain, 0u, b, sizeof(b)) !=
                sizeof(b))) {
        con_warn(s, W_SHORT, "console: short control message");
    } else {
        ctrl_message(s, vdm_le32(&b[0]), vdm_le16(&b[4]), vdm_le16(&b[6]));
    }
    return VDM_KIT_DONE;
}
