/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user front-end (tests/driver/vu_front.h) talking to a back-end
 * in the same process: each message goes straight to
 * vdm_vhost_user_handle(). */
#ifndef VDM_TESTS_VU_LOCAL_H
#define VDM_TESTS_VU_LOCAL_H

#include "vdm/vhost_user.h"
#include "vu_front.h"

/** Front-end @p f on back-end @p vu; replies land in @p reply (@p cap
 *  bytes, length in *@p rlen); vu_front_msg() returns the handle result. */
void vu_local_init(struct vu_front *f, struct vdm_vhost_user *vu,
                   uint8_t *reply, uint32_t cap, uint32_t *rlen);

/** The transport itself (ctx: the struct vdm_vhost_user). */
int vu_local_send(void *ctx, const uint8_t *msg, uint32_t len,
                  const int32_t *fds, uint32_t nfds, uint8_t *reply,
                  uint32_t cap, uint32_t *rlen);

#endif
