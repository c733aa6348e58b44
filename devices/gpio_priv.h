/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpio device type: the state shared by gpio.c (queues, class
 * hooks, host API) and gpio_state.c (save and restore). Library-internal. */
#ifndef VDM_GPIO_PRIV_H
#define VDM_GPIO_PRIV_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/gpio.h"
#include "vdm/kit.h"

#define GPIO_MAGIC    0x76675049u /* "vgPI" */
#define GPIO_SLOT     96u         /* slot stride, as VDM_GPIO_STORAGE_BYTES */
#define GPIO_LINE     16u         /* per-line state, as the macro */
#define GPIO_NAME_MAX 256u        /* longest line name, NUL excluded */
#define LINE_ALL_FLAGS                                                         \
    ((uint32_t)VDM_GPIO_LINE_IN | (uint32_t)VDM_GPIO_LINE_OUT |                \
     (uint32_t)VDM_GPIO_LINE_IRQ)

/* The wire values as the uint8_t line fields that hold them. */
#define DIR_NONE      ((uint8_t)VDM_GPIO_DIRECTION_NONE)
#define DIR_OUT       ((uint8_t)VDM_GPIO_DIRECTION_OUT)
#define DIR_IN        ((uint8_t)VDM_GPIO_DIRECTION_IN)
#define IRQ_NONE      ((uint8_t)VDM_GPIO_IRQ_TYPE_NONE)
#define IRQ_RISING    ((uint8_t)VDM_GPIO_IRQ_TYPE_EDGE_RISING)
#define IRQ_FALLING   ((uint8_t)VDM_GPIO_IRQ_TYPE_EDGE_FALLING)
#define IRQ_EDGE_BOTH ((uint8_t)VDM_GPIO_IRQ_TYPE_EDGE_BOTH)
#define IRQ_HIGH      ((uint8_t)VDM_GPIO_IRQ_TYPE_LEVEL_HIGH)
#define IRQ_LOW       ((uint8_t)VDM_GPIO_IRQ_TYPE_LEVEL_LOW)
#define IRQ_VALID     ((uint8_t)VDM_GPIO_IRQ_STATUS_VALID)
#define IRQ_INVALID   ((uint8_t)VDM_GPIO_IRQ_STATUS_INVALID)

/* An optional hook of the (non-NULL, checked at init) ops table. */
#define HOOK(s, f)                                                             \
    (VDM_HAS((s)->ops, struct vdm_gpio_ops, f) && (s)->ops->f != NULL)

/* s->warned */
#define W_SHAPE  0x01u
#define W_LINE   0x02u
#define W_TYPE   0x04u
#define W_ARG    0x08u
#define W_EVSHP  0x10u
#define W_EVLINE 0x20u
#define W_EVDUP  0x40u
#define W_EVOFF  0x80u
#define W_HOST   0x100u

/* One line's state (in the caller's storage). */
struct line {
    struct vdm_kit_req *ev; /* its eventq buffer (unmasked), or NULL */
    uint8_t dir;            /* VDM_GPIO_DIRECTION_* */
    uint8_t out;            /* output value to drive (SET_VALUE) */
    uint8_t irq;            /* VDM_GPIO_IRQ_TYPE_* */
    uint8_t latched;        /* an edge waits for the next unmask */
    uint8_t level;          /* level the host last reported */
    uint8_t level_known;    /* ... if it reported one */
    uint8_t reserved[2];
};

_Static_assert(sizeof(struct line) <= GPIO_LINE, "struct line grew");
_Static_assert(VDM_KIT_SLOT_BYTES(8) <= GPIO_SLOT, "GPIO_SLOT too small");
_Static_assert(sizeof(struct vdm_iov) <= 16u, "VDM_GPIO_STORAGE_BYTES");

struct gpio_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_gpio_ops *ops;
    void *host;
    const struct vdm_gpio_line *table;
    struct line *lines;
    uint32_t names_size;
    uint16_t ngpio;
    uint16_t irq; /* VDM_GPIO_F_IRQ offered */
};

_Static_assert(sizeof(struct gpio_state) <= (size_t)VDM_GPIO_SIZE,
               "VDM_GPIO_SIZE too small for struct gpio_state");
_Static_assert((size_t)alignof(struct gpio_state) <=
                   (size_t)alignof(struct vdm_gpio),
               "struct vdm_gpio storage is under-aligned");

/* gpio_state.c: the device type's section of a saved image (vdm/state.h,
 * docs/state-format.md). */
int gpio_state_save(const struct vdm_dev *d, void *buf, uint32_t len);
int gpio_state_restore(struct vdm_dev *d, const void *buf, uint32_t len);

#endif
