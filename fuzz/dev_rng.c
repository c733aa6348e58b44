/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-rng (fuzz_dev.h). The host source fills all, half,
 * nothing, asks to retry later or fails. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/rng.h"

static struct {
    struct vdm_rng rng;
    struct vdm_rng_ops rops;
    unsigned rng_mode;
} R;

static int rng_fill(void *host, void *buf, uint32_t len)
{
    (void)host;
    FZ_CHECK(len > 0, "fill of 0 bytes");
    switch (R.rng_mode) {
    case 0:
        memset(buf, 0x5a, len);
        return (int)(len > 0x7fffffff ? 0x7fffffff : len);
    case 1: memset(buf, 0x5a, len / 2); return (int)(len / 2);
    case 2: return 0;
    case 3: return VDM_EAGAIN;
    default: return VDM_EIO;
    }
}

static int rng_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                      uint8_t cb)
{
    struct vdm_rng_config rc = {.size = sizeof(rc)};
    (void)cb;
    memset(&R, 0, sizeof(R));
    base->num_queues = 1;
    R.rops = (struct vdm_rng_ops){.size = sizeof(R.rops), .fill = rng_fill};
    rc.ops = &R.rops;
    return vdm_rng_init(&R.rng, dev, &rc, base);
}

static void rng_host(uint8_t act, uint32_t arg)
{
    if (act % 2 == 0) {
        R.rng_mode = arg % 5;
    } else {
        int rc = vdm_rng_kick(&R.rng);
        FZ_CHECK(rc >= 0 || rc == VDM_EIO, "rng kick %d", rc);
    }
}

const struct fuzz_dev_plugin fuzz_dev_rng = {
    .name = "rng",
    .create = rng_create,
    .host = rng_host,
};
