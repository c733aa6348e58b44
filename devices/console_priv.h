/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console device type: the state and helpers shared by console.c
 * (queues, configuration, host API) and console_ctl.c (the multiport
 * control queues). Library-internal. */
#ifndef VDM_CONSOLE_PRIV_H
#define VDM_CONSOLE_PRIV_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/console.h"
#include "vdm/kit.h"

#define CON_MAGIC 0x76434f4eu /* "vCON" */
#define CON_SLOT  64u         /* slot stride, as VDM_CONSOLE_STORAGE_BYTES */
#define CON_IOV   16u         /* bytes per span, as the macro */

#define CON_HAS(p, type, field)                                                \
    (((size_t)(p)->size) >=                                                    \
     ((size_t)offsetof(type, field) + sizeof(((type *)NULL)->field)))
#define HOOK(s, f)                                                             \
    (CON_HAS((s)->ops, struct vdm_console_ops, f) && ((s)->ops->f != NULL))

/* Messages a port owes the driver (port_state::pend), sent in this order. */
#define M_REMOVE  0x01u
#define M_ADD     0x02u
#define M_CONSOLE 0x04u
#define M_NAME    0x08u
#define M_OPEN    0x10u
#define M_RESIZE  0x20u
/* Those that need the driver's PORT_READY first. */
#define M_AFTER_READY (M_CONSOLE | M_NAME | M_OPEN | M_RESIZE)

/* s->warned */
#define W_SHORT   0x001u
#define W_EVENT   0x002u
#define W_PORT    0x004u
#define W_ORDER   0x008u
#define W_VALUE   0x010u
#define W_DIR     0x020u
#define W_NOMP    0x040u
#define W_CFG     0x080u
#define W_RXSMALL 0x100u
#define W_NOPORT  0x200u
#define W_NREADY  0x400u

/* Per-port state, in the caller's storage. */
struct port_state {
    uint32_t flags; /* VDM_CONSOLE_PS_* */
    uint32_t pend;  /* M_* */
    uint16_t cols;
    uint16_t rows;
    uint8_t tx_blocked; /* transmit() said VDM_EAGAIN */
    uint8_t name_len;
    uint8_t reserved[2];
    char name[VDM_CONSOLE_NAME_MAX];
};

_Static_assert(sizeof(struct port_state) <= VDM_CONSOLE_PORT_BYTES,
               "VDM_CONSOLE_PORT_BYTES too small");
_Static_assert((VDM_CONSOLE_PORT_BYTES % 8u) == 0u, "port stride alignment");
_Static_assert(VDM_CONSOLE_NAME_MAX <= 255u, "name_len is a byte");
_Static_assert(VDM_KIT_SLOT_BYTES(0) <= CON_SLOT, "CON_SLOT too small");
_Static_assert(sizeof(struct vdm_iov) <= CON_IOV, "VDM_CONSOLE_STORAGE_BYTES");
_Static_assert(VDM_CONSOLE_NUM_QUEUES(VDM_CONSOLE_MAX_PORTS) <=
                   (uint32_t)VDM_DEV_MAX_QUEUES,
               "VDM_CONSOLE_MAX_PORTS too large");

struct con_state {
    struct vdm_kit kit;
    uint32_t magic;
    uint32_t warned;
    struct vdm_dev *dev;
    const struct vdm_console_ops *ops;
    void *host;
    struct port_state *ports;
    uint64_t offered;
    uint32_t max_ports;
    uint16_t num_queues;
    uint16_t cols; /* port 0's size in the configuration */
    uint16_t rows;
    uint8_t dev_ready; /* the driver sent DEVICE_READY 1 */
    uint8_t reserved;
};

_Static_assert(sizeof(struct con_state) <= VDM_CONSOLE_SIZE,
               "VDM_CONSOLE_SIZE too small for struct con_state");
_Static_assert((size_t)alignof(struct con_state) <=
                   (size_t)alignof(struct vdm_console),
               "struct vdm_console storage is under-aligned");

/* Warn once per reset for the W_* @p bit. */
void con_warn(struct con_state *s, uint32_t bit, const char *msg);
/* 1 when VIRTIO_CONSOLE_F_MULTIPORT was negotiated. */
int con_multiport(const struct con_state *s);
/* A port data can flow on (see console.c). */
int con_port_usable(const struct con_state *s, uint32_t p);
/* Record the guest's open state of port @p and tell the host on a change. */
void con_set_guest_open(struct con_state *s, uint32_t p, uint32_t open);

/* console_ctl.c: turn the owed-message bits into control messages while
 * the control receiveq has buffers. */
void con_ctrl_flush(struct con_state *s);
/* console_ctl.c: serve one control transmitq chain (a driver message). */
int con_serve_ctrl_tx(void *ctx, struct vdm_kit_req *kr, uint32_t *written);

/* console_state.c: the device type's section of a saved image (vdm/state.h,
 * docs/state-format.md). */
int con_state_save(const struct vdm_dev *d, void *buf, uint32_t len);
int con_state_restore(struct vdm_dev *d, const void *buf, uint32_t len);

#endif
