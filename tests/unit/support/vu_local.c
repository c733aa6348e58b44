/* SPDX-License-Identifier: BSD-3-Clause */
#include "vu_local.h"

int vu_local_send(void *ctx, const uint8_t *msg, uint32_t len,
                  const int32_t *fds, uint32_t nfds, uint8_t *reply,
                  uint32_t cap, uint32_t *rlen)
{
    return vdm_vhost_user_handle(ctx, msg, len, fds, nfds, reply, cap, rlen);
}

void vu_local_init(struct vu_front *f, struct vdm_vhost_user *vu,
                   uint8_t *reply, uint32_t cap, uint32_t *rlen)
{
    vu_front_init(f, vu_local_send, vu, reply, cap, rlen);
}
