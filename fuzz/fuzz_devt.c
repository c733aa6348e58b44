/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for one device type (built once per type with FUZZ_KIND =
 * FZ_KIND_BLK, FZ_KIND_RNG or FZ_KIND_INPUT): the device is brought up
 * through the device core's transport face (vdm_dev_*) as a driver would,
 * then the input drives requests through real queues (fuzz_dev.h: buffers
 * of any layout and content, kicks, reaps, host completions and events),
 * config space accesses, device and queue resets and raw status writes.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"

#ifndef FUZZ_KIND
#error "build with -DFUZZ_KIND=FZ_KIND_..."
#endif

static const uint16_t qsizes[7] = {1, 2, 4, 8, 16, 32, 64};

static struct {
    struct vdm_dev *dev;
    uint16_t qsize;
    uint64_t rings[FD_MAXQ][3];
} T;

static void setup_queue(uint16_t q)
{
    static const uint8_t zero[16u * 64u];
    uint64_t *a = T.rings[q];
    /* As a driver does: fresh (zeroed) rings before the queue goes live. */
    fm_write(a[0], zero, 16u * T.qsize);
    fm_write(a[1], zero, 6u + 2u * T.qsize);
    fm_write(a[2], zero, 6u + 8u * T.qsize);
    vdm_dev_queue_set_size(T.dev, q, T.qsize);
    vdm_dev_queue_set_addr(T.dev, q, a[0], a[1], a[2]);
    vdm_dev_queue_enable(T.dev, q);
}

static void bring_up(uint64_t want)
{
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE);
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER);
    vdm_dev_set_driver_features(T.dev, (want & fd_offered()) | VDM_F_VERSION_1);
    vdm_dev_set_status(T.dev, VDM_STATUS_ACKNOWLEDGE | VDM_STATUS_DRIVER |
                                  VDM_STATUS_FEATURES_OK);
    for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
        setup_queue(q);
    vdm_dev_set_status(T.dev, vdm_dev_status(T.dev) | VDM_STATUS_DRIVER_OK);
    fd_poll();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    uint8_t cb = fz_u8(&f);
    T.qsize = qsizes[fz_u8(&f) % 7];
    uint64_t want = fz_u64(&f);
    uint8_t fl = fz_u8(&f);
    fm_reset(!!(fl & VQF_HOOKS), (fl >> 4) ? 1u << (fl >> 4) : 0);
    T.dev = fd_create(FUZZ_KIND, cb, T.qsize, NULL);
    fd_set_notify(NULL, NULL);
    for (unsigned q = 0; q < FD_MAXQ; q++) {
        /* room for either ring format of the largest size */
        T.rings[q][0] = fm_ring_alloc(16u * T.qsize, 16);
        T.rings[q][1] = fm_ring_alloc(6u + 2u * T.qsize, 4);
        T.rings[q][2] = fm_ring_alloc(6u + 8u * T.qsize, 4);
    }
    bring_up(want);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 2048) {
        unsigned op = fz_u8(&f) % DEVT_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u status %#x\n", ops, op,
                    vdm_dev_status(T.dev));
        switch (op) {
        case DEVT_OP_DEV: fd_dev_op(&f); break;
        case DEVT_OP_CFG_RD: {
            uint8_t buf[256];
            uint32_t off = fz_u8(&f), len = fz_u8(&f) % 9;
            int rc = vdm_dev_config_read(T.dev, off, buf, len);
            uint32_t cs = vdm_dev_config_size(T.dev);
            FZ_CHECK((rc == 0) == (off <= cs && len <= cs - off),
                     "config read %u+%u of %u: %d", off, len, cs, rc);
            break;
        }
        case DEVT_OP_CFG_WR: {
            uint32_t off = fz_u8(&f), len = fz_u8(&f) % 9;
            uint64_t v = fz_u64(&f);
            int rc = vdm_dev_config_write(T.dev, off, &v, len);
            uint32_t cs = vdm_dev_config_size(T.dev);
            if (off > cs || len > cs - off)
                FZ_CHECK(rc == VDM_ERANGE, "config write %u+%u of %u: %d", off,
                         len, cs, rc);
            break;
        }
        case DEVT_OP_RESET: {
            uint64_t w = fz_u64(&f);
            vdm_dev_set_status(T.dev, 0);
            FZ_CHECK(vdm_dev_status(T.dev) == 0, "status after reset %#x",
                     vdm_dev_status(T.dev));
            fd_poll();
            bring_up(w);
            break;
        }
        case DEVT_OP_QRESET: {
            uint16_t q = fz_u8(&f) % FD_MAXQ;
            int rc = vdm_dev_queue_reset(T.dev, q);
            fd_poll();
            if (rc == 0) {
                FZ_CHECK(vdm_dev_queue_enabled(T.dev, q) == 0,
                         "queue %u enabled after its reset", q);
                setup_queue(q);
            }
            fd_poll();
            break;
        }
        case DEVT_OP_STATUS:
            vdm_dev_set_status(T.dev, fz_u8(&f));
            fd_poll();
            break;
        default: {
            uint16_t q = fz_u16(&f);
            uint32_t d = fz_u32(&f);
            vdm_dev_queue_notify(T.dev, q, d);
            fd_poll();
            break;
        }
        }
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr, "dev: %s\n", buf);
    }
    fd_finish();
    return 0;
}
