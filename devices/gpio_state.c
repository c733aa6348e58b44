/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpio device type: save and restore of the lines (vdm/state.h,
 * docs/state-format.md "Device type").
 *
 * What the device keeps for the driver (spec "GPIO Device" -- "Device
 * Operation: requestq", "Device Operation: eventq"): each line's direction
 * and output value (SET_DIRECTION, SET_VALUE), its interrupt type
 * (SET_IRQ_TYPE) and an edge latched while the interrupt was masked ("MUST
 * latch an edge interrupt if ... enabled but still masked"). The eventq
 * buffers that unmask interrupts are chains in flight: the image re-queues
 * them and the restored device reads them again, unmasking the same lines.
 * The level the host last reported is the host's and is not carried: the
 * destination's host reports it again or answers get_value.
 *
 * Section: le16 ngpio, le16 0, le32 0, then 4 bytes per line: u8 direction,
 * u8 output value, u8 interrupt type, u8 flags (bit 0: an edge latched). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi_internal.h"
#include "gpio_priv.h"
#include "vdm/le.h"

#define GS_HEAD    8u
#define GS_LINE    4u
#define GS_LATCHED 0x01u

static const struct gpio_state *gs_cstate(const struct vdm_dev *d)
{
    const struct gpio_state *s = (const struct gpio_state *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == GPIO_MAGIC)) ? s : NULL;
}

int gpio_state_save(const struct vdm_dev *d, void *buf, uint32_t len)
{
    const struct gpio_state *s = gs_cstate(d);
    uint8_t *p = (uint8_t *)buf;
    uint32_t need;
    uint32_t i;

    if (s == NULL) {
        return VDM_EINVAL;
    }
    need = GS_HEAD + (GS_LINE * (uint32_t)s->ngpio);
    if (p == NULL) {
        return (int)need;
    }
    if (len < need) {
        return VDM_ENOSPC;
    }
    __builtin_memset(p, 0, need);
    vdm_put_le16(p, s->ngpio);
    for (i = 0u; i < s->ngpio; i++) {
        const struct line *l = &s->lines[i];
        uint8_t *o = &p[GS_HEAD + (GS_LINE * i)];

        o[0] = l->dir;
        o[1] = l->out;
        o[2] = l->irq;
        o[3] = (l->latched != 0u) ? (uint8_t)GS_LATCHED : 0u;
    }
    return (int)need;
}

static bool gs_irq_type(uint8_t t)
{
    return (t == IRQ_NONE) || (t == IRQ_RISING) || (t == IRQ_FALLING) ||
           (t == IRQ_EDGE_BOTH) || (t == IRQ_HIGH) || (t == IRQ_LOW);
}

/* One line's record @p o against table entry @p t: a state the driver's
 * requests could have reached on this device (the same checks as
 * SET_DIRECTION, SET_VALUE and SET_IRQ_TYPE). */
static int gs_check_line(const uint8_t *o, const struct vdm_gpio_line *t,
                         bool live, bool irq_ok)
{
    uint8_t dir = o[0];
    uint8_t out = o[1];
    uint8_t irq = o[2];
    uint8_t fl = o[3];
    int rc = 0;

    if ((dir > DIR_IN) || (out > 1u) || !gs_irq_type(irq) ||
        ((fl & (uint8_t)~GS_LATCHED) != 0u)) {
        rc = VDM_EINVAL;
    } else if (((dir == DIR_OUT) && ((t->flags & VDM_GPIO_LINE_OUT) == 0u)) ||
               ((dir == DIR_IN) && ((t->flags & VDM_GPIO_LINE_IN) == 0u)) ||
               ((out != t->value) && (out != 0u) &&
                ((t->flags & VDM_GPIO_LINE_OUT) == 0u))) {
        /* a direction or value the line does not allow (SET_VALUE needs an
         * output; SET_DIRECTION NONE clears the value of any line) */
        rc = VDM_EINVAL;
    } else if ((irq != IRQ_NONE) &&
               (!irq_ok || ((t->flags & VDM_GPIO_LINE_IRQ) == 0u) ||
                (dir == DIR_OUT))) {
        rc = VDM_EINVAL; /* only inputs interrupt, with F_IRQ */
    } else if (((fl & GS_LATCHED) != 0u) && ((irq & IRQ_EDGE_BOTH) == 0u)) {
        rc = VDM_EINVAL; /* "MUST NOT latch a level interrupt" */
    } else if (!live && ((dir != t->direction) || (out != t->value) ||
                         (irq != IRQ_NONE) || (fl != 0u))) {
        rc = VDM_EINVAL; /* no request was served before DRIVER_OK */
    } else {
        rc = 0;
    }
    return rc;
}

/* The host's ops table holds hook @p end bytes in (older callers' tables
 * are shorter: vdm/gpio.h); HOOK() of gpio_priv.h without offsetof in the
 * comparison. */
static bool gs_has(const struct gpio_state *s, size_t end)
{
    return (size_t)s->ops->size >= end;
}

/* Bring the host's line @p n to the restored state (it is at the table's
 * state: the restore reset the device first). */
static int gs_tell_host(struct gpio_state *s, uint16_t n)
{
    const struct line *l = &s->lines[n];
    const struct vdm_gpio_line *t = &s->table[n];
    int rc = 0;

    if ((l->dir != t->direction) || (l->out != t->value)) {
        if (gs_has(s, (size_t)offsetof(struct vdm_gpio_ops, set_direction) +
                          sizeof(s->ops->set_direction)) &&
            (s->ops->set_direction != NULL)) {
            rc = s->ops->set_direction(s->host, n, l->dir, l->out);
        } else if (l->dir == DIR_OUT) {
            rc = s->ops->set_value(s->host, n, l->out);
        } else {
            /* no direction hook: nothing to drive */
        }
    }
    if ((rc >= 0) && (l->irq != IRQ_NONE) &&
        gs_has(s, (size_t)offsetof(struct vdm_gpio_ops, set_irq_type) +
                      sizeof(s->ops->set_irq_type)) &&
        (s->ops->set_irq_type != NULL)) {
        rc = s->ops->set_irq_type(s->host, n, l->irq);
    }
    return (rc < 0) ? VDM_EIO : 0;
}

int gpio_state_restore(struct vdm_dev *d, const void *buf, uint32_t len)
{
    struct gpio_state *s = (struct gpio_state *)vdm_dev_priv(d);
    const uint8_t *p = (const uint8_t *)buf;
    bool live;
    bool irq_ok;
    uint32_t i;
    int rc = 0;

    if ((s == NULL) || (s->magic != GPIO_MAGIC) || (p == NULL) ||
        (len < GS_HEAD)) {
        return VDM_EINVAL;
    }
    if ((vdm_le16(p) != s->ngpio) || (vdm_le16(&p[2]) != 0u) ||
        (vdm_le32(&p[4]) != 0u) ||
        (len != (GS_HEAD + (GS_LINE * (uint32_t)s->ngpio)))) {
        return VDM_EINVAL;
    }
    live = (vdm_dev_status(d) & VDMI_STATUS_RAN) != 0u;
    irq_ok = (vdm_dev_features(d) & VDM_GPIO_F_IRQ) != 0u;
    for (i = 0u; (i < s->ngpio) && (rc == 0); i++) {
        rc = gs_check_line(&p[GS_HEAD + (GS_LINE * i)], &s->table[i], live,
                           irq_ok);
    }
    for (i = 0u; (i < s->ngpio) && (rc == 0); i++) {
        const uint8_t *o = &p[GS_HEAD + (GS_LINE * i)];
        struct line *l = &s->lines[i];

        l->dir = o[0];
        l->out = o[1];
        l->irq = o[2];
        l->latched = ((o[3] & GS_LATCHED) != 0u) ? 1u : 0u;
        l->level_known = 0u;
        rc = gs_tell_host(s, (uint16_t)i);
    }
    return rc;
}
