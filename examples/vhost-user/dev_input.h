/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the input device's evdev passthrough (dev_input_evdev.c),
 * used by the input device type (dev_input.c). */
#ifndef VDM_VHOST_USER_DEV_INPUT_H
#define VDM_VHOST_USER_DEV_INPUT_H

#include <stdint.h>

#include "daemon.h"
#include "vdm/devices/input.h"

struct vd_evdev;

/* Open the evdev at @p path (non-blocking), grab it when @p grab, and fill
 * the identity and capability fields of @p c (name, serial, ids, property
 * and event-code bitmaps, absinfo) from it; the tables live in *@p out.
 * 0, or -1 (logged; nothing left open). */
int vd_evdev_open(struct vdev *d, const char *path, int grab,
                  struct vdm_input_config *c, struct vd_evdev **out);
/* The fd to watch (vd_watch_aux), or -1 once the device has gone. */
int vd_evdev_fd(const struct vd_evdev *e);
/* The fd is readable: read what there is and forward it to @p in when the
 * driver's eventq runs (discarded otherwise). Never blocks. */
void vd_evdev_read(struct vdev *d, struct vd_evdev *e, struct vdm_input *in);
/* A status event of the driver: EV_LED, EV_SND and EV_REP go to the
 * evdev (with a SYN_REPORT), others are ignored (logged once). */
void vd_evdev_status(struct vdev *d, struct vd_evdev *e, uint16_t type,
                     uint16_t code, uint32_t value);

#endif
