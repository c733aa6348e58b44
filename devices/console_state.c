/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console device type: save and restore of the ports (vdm/state.h,
 * docs/state-format.md "Device type").
 *
 * What the device keeps (spec "Console Device" -- "Device Operation",
 * "Multiport Device Operation"): whether the driver sent DEVICE_READY and,
 * per port, what the host set up (added, console, name, host side open,
 * console size) and what the driver knows of it (DEVICE_ADD reached it,
 * PORT_READY, the guest has it open), plus the control messages still owed
 * to the driver. The image's port table replaces the destination's (the
 * host reads it back with vdm_console_port_state()); a port the guest has
 * open is reported to the host's guest_open hook as on the source. Data
 * buffers are chains in flight (re-queued in the image); the emergency
 * write register holds nothing; the transmit pause a host asked for
 * (VDM_EAGAIN) is the source host's and starts cleared.
 *
 * Section: le32 max_nr_ports, u8 DEVICE_READY (0 or 1), 3 bytes 0, then
 * per port (136 bytes): le32 flags (VDM_CONSOLE_PS_*), le32 owed messages,
 * le16 cols, le16 rows, u8 name length, 3 bytes 0, 120 bytes name (0 after
 * its length). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi_internal.h"
#include "console_priv.h"
#include "vdm/le.h"

#define CS_HEAD      8u
#define CS_PORT      136u
#define CS_NAME      16u   /* offset of the name in a port record */
#define CS_FLAGS_ALL 0x3fu /* every VDM_CONSOLE_PS_* bit */
#define CS_GUEST     0x1cu /* ANNOUNCED, READY, GUEST_OPEN */
#define CS_PEND_ALL  0x3fu /* every M_* bit */
#define CS_ANN_READY 0x0cu /* ANNOUNCED, READY */

_Static_assert(CS_FLAGS_ALL ==
                   (VDM_CONSOLE_PS_ADDED | VDM_CONSOLE_PS_CONSOLE |
                    VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY |
                    VDM_CONSOLE_PS_GUEST_OPEN | VDM_CONSOLE_PS_HOST_OPEN),
               "port flags");
_Static_assert(CS_GUEST == (VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY |
                            VDM_CONSOLE_PS_GUEST_OPEN),
               "driver-side port flags");
_Static_assert(CS_ANN_READY ==
                   (VDM_CONSOLE_PS_ANNOUNCED | VDM_CONSOLE_PS_READY),
               "port 0 without MULTIPORT");
_Static_assert(CS_PEND_ALL ==
                   (M_REMOVE | M_ADD | M_CONSOLE | M_NAME | M_OPEN | M_RESIZE),
               "owed messages");

_Static_assert((CS_NAME + VDM_CONSOLE_NAME_MAX) == CS_PORT, "port record");

static const struct con_state *cs_cstate(const struct vdm_dev *d)
{
    const struct con_state *s = (const struct con_state *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == CON_MAGIC)) ? s : NULL;
}

int con_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct con_state *s = cs_cstate(d);
    uint8_t *p = (uint8_t *)buf;
    uint32_t need;
    uint32_t i;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    need = CS_HEAD + (CS_PORT * s->max_ports); /* <= 8 + 136 * 511 */
    if (p == NULL) {
        return (int)need;
    }
    if (len < need) {
        return VDM_ENOSPC;
    }
    __builtin_memset(p, 0, need);
    vdm_put_le32(p, s->max_ports);
    p[4] = s->dev_ready;
    for (i = 0u; i < s->max_ports; i++) {
        const struct port_state *ps = &s->ports[i];
        uint8_t *o = &p[CS_HEAD + (CS_PORT * i)];

        vdm_put_le32(o, ps->flags & CS_FLAGS_ALL);
        vdm_put_le32(&o[4], ps->pend & CS_PEND_ALL);
        vdm_put_le16(&o[8], ps->cols);
        vdm_put_le16(&o[10], ps->rows);
        o[12] = ps->name_len;
        __builtin_memcpy(&o[CS_NAME], ps->name, ps->name_len);
    }
    return (int)need;
}

/* The guest-side bits of port @p i as the driver could have made them:
 * READY after ANNOUNCED, open after READY; with MULTIPORT, announced only
 * after DEVICE_READY, announced and gone only with the removal owed (the
 * driver may open a port the host removed until it hears so); without it,
 * port 0 is announced and ready from DRIVER_OK on (open unless the host
 * removed it) and no other port is. */
static int cs_check_guest(uint32_t i, uint32_t fl, uint32_t pend, bool live,
                          bool mp, uint8_t ready)
{
    uint32_t g = fl & CS_GUEST;
    int rc = 0;

    if ((((fl & VDM_CONSOLE_PS_READY) != 0u) &&
         ((fl & VDM_CONSOLE_PS_ANNOUNCED) == 0u)) ||
        (((fl & VDM_CONSOLE_PS_GUEST_OPEN) != 0u) &&
         ((fl & VDM_CONSOLE_PS_READY) == 0u))) {
        rc = VDM_EINVAL;
    } else if (!live) {
        if (g != 0u) {
            rc = VDM_EINVAL;
        }
    } else if (mp) {
        if ((g != 0u) && (ready == 0u)) {
            rc = VDM_EINVAL;
        } else if (((fl & VDM_CONSOLE_PS_ADDED) == 0u) &&
                   ((fl & VDM_CONSOLE_PS_ANNOUNCED) != 0u) &&
                   ((pend & M_REMOVE) == 0u)) {
            rc = VDM_EINVAL;
        } else {
            rc = 0;
        }
    } else if (((i == 0u) && ((g & CS_ANN_READY) != CS_ANN_READY)) ||
               ((i != 0u) && (g != 0u))) {
        rc = VDM_EINVAL;
    } else {
        rc = 0;
    }
    return rc;
}

static int cs_check_port(const uint8_t *o, uint32_t i, bool live, bool mp,
                         uint8_t ready)
{
    uint32_t fl = vdm_le32(o);
    uint32_t pend = vdm_le32(&o[4]);
    uint32_t nl = o[12];
    uint32_t k;
    int rc = 0;

    if (((fl & ~CS_FLAGS_ALL) != 0u) || ((pend & ~CS_PEND_ALL) != 0u) ||
        (o[13] != 0u) || (o[14] != 0u) || (o[15] != 0u) ||
        (nl > VDM_CONSOLE_NAME_MAX)) {
        rc = VDM_EINVAL;
    }
    for (k = nl; (k < VDM_CONSOLE_NAME_MAX) && (rc == 0); k++) {
        if (o[CS_NAME + k] != 0u) {
            rc = VDM_EINVAL;
        }
    }
    if (rc == 0) {
        rc = cs_check_guest(i, fl, pend, live, mp, ready);
    }
    return rc;
}

int con_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct con_state *s = (struct con_state *)vdm_dev_priv(d);
    const uint8_t *p = (const uint8_t *)buf;
    bool live;
    bool mp;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (s->magic != CON_MAGIC) || (p == NULL) ||
        (len < CS_HEAD)) {
        return VDM_EINVAL;
    }
    if ((vdm_le32(p) != s->max_ports) || (p[4] > 1u) || (p[5] != 0u) ||
        (vdm_le16(&p[6]) != 0u) ||
        (len != (CS_HEAD + (CS_PORT * s->max_ports)))) {
        return VDM_EINVAL;
    }
    live = (vdm_dev_status(d) & VDMI_STATUS_RAN) != 0u;
    mp = con_multiport(s) != 0;
    if ((p[4] != 0u) && (!live || !mp)) {
        return VDM_EINVAL; /* DEVICE_READY comes on the control queue */
    }
    for (i = 0u; (i < s->max_ports) && (rc == 0); i++) {
        rc = cs_check_port(&p[CS_HEAD + (CS_PORT * i)], i, live, mp, p[4]);
    }
    for (i = 0u; (i < s->max_ports) && (rc == 0); i++) {
        const uint8_t *o = &p[CS_HEAD + (CS_PORT * i)];
        struct port_state *ps = &s->ports[i];
        uint32_t fl = vdm_le32(o);

        ps->flags = fl & ~0x10u; /* VDM_CONSOLE_PS_GUEST_OPEN: below */
        ps->pend = vdm_le32(&o[4]);
        ps->cols = vdm_le16(&o[8]);
        ps->rows = vdm_le16(&o[10]);
        ps->tx_blocked = 0u;
        ps->name_len = o[12];
        __builtin_memcpy(ps->name, &o[CS_NAME], VDM_CONSOLE_NAME_MAX);
        con_set_guest_open(s, i,
                           ((fl & VDM_CONSOLE_PS_GUEST_OPEN) != 0u) ? 1u : 0u);
    }
    if (rc == 0) {
        s->cols = s->ports[0].cols;
        s->rows = s->ports[0].rows;
        s->dev_ready = p[4];
    }
    return rc;
}
