/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: restore of hostile saved images (vdm/state.h). A real device
 * of any type is brought up and driven as in the device targets
 * (fuzz_dev.h); between requests the input saves it, spoils the image
 * (bytes flipped, its end cut off) and restores it, or restores raw bytes.
 *
 * Oracles: a save succeeds with exactly vdm_dev_state_size() bytes or says
 * VDM_EBUSY; a refused restore leaves the device reset (status 0, no queue
 * enabled); an accepted one gives a device whose own image restores again
 * and saves to the same bytes; the device keeps serving (or stays reset)
 * and nothing touches memory outside the guest's (fuzz_mem.h); plus
 * everything fuzz_dev.c checks on the traffic.
 *
 * Hosted test code, not part of the library.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_dev.h"
#include "fuzz_format.h"
#include "fuzz_mem.h"
#include "fuzz_util.h"
#include "vdm/state.h"

/* Largest image: a gpu with its resources' storage (fuzz/dev_gpu.c). */
#define IMG_MAX (512u * 1024u)

static const uint16_t qsizes[7] = {1, 2, 4, 8, 16, 32, 64};

static struct {
    struct vdm_dev *dev;
    uint16_t qsize;
    uint64_t rings[FD_MAXQ][3];
    uint8_t img[IMG_MAX];
    uint8_t again[IMG_MAX];
    uint8_t third[IMG_MAX];
    unsigned long restores, accepted;
} T;

static void setup_queue(uint16_t q)
{
    static const uint8_t zero[16u * 64u];
    uint64_t *a = T.rings[q];
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

/* Save into @p buf; 0 when the device is busy (chains in flight that are
 * not the newest), else the image length. */
static size_t save(uint8_t *buf)
{
    size_t n = vdm_dev_state_size(T.dev);
    int rc;

    FZ_CHECK(n >= VDM_STATE_HDR_BYTES && n <= IMG_MAX, "state size %zu", n);
    rc = vdm_dev_save(T.dev, buf, n);
    if (rc == VDM_EBUSY)
        return 0;
    FZ_CHECK(rc == (int)n, "save %d, size %zu", rc, n);
    if (n > VDM_STATE_HDR_BYTES)
        FZ_CHECK(vdm_dev_save(T.dev, buf, n - 1) == VDM_ENOSPC,
                 "save into a short buffer");
    return n;
}

static void restore(const uint8_t *img, size_t len)
{
    int rc;

    /* the harness's driver forgets its queues, as at any reset */
    vdm_dev_set_status(T.dev, 0);
    fd_poll();
    rc = vdm_dev_restore(T.dev, img, len);
    T.restores++;
    if (fz_trace())
        fprintf(stderr, "  restore of %zu bytes: %d\n", len, rc);
    if (rc < 0) {
        FZ_CHECK(vdm_dev_status(T.dev) == 0, "refused restore (%d), status %#x",
                 rc, vdm_dev_status(T.dev));
        for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
            FZ_CHECK(vdm_dev_queue_enabled(T.dev, q) == 0,
                     "refused restore (%d), queue %u enabled", rc, q);
        fd_poll();
        return;
    }
    FZ_CHECK(rc == 0, "restore %d", rc);
    T.accepted++;
    /* The device's own image of what was restored: nothing in flight, so
     * it saves; it restores again to the same state. */
    size_t n1 = save(T.again);
    FZ_CHECK(n1 != 0, "busy right after a restore");
    vdm_dev_set_status(T.dev, 0);
    rc = vdm_dev_restore(T.dev, T.again, n1);
    FZ_CHECK(rc == 0, "own image refused: %d", rc);
    size_t n2 = save(T.third);
    FZ_CHECK(n2 == n1 && memcmp(T.again, T.third, n1) == 0,
             "image changed by a round trip (%zu, %zu bytes)", n1, n2);
    /* The harness's driver view of the rings is stale now. */
    fd_taint();
    fd_set_lenient(1);
    fd_poll();
    /* kick every queue, as a host does after a restore */
    for (uint16_t q = 0; q < vdm_dev_num_queues(T.dev); q++)
        vdm_dev_queue_notify(T.dev, q, 0);
    fd_poll();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    fz_init(&f, data, size);
    unsigned kind = fz_u8(&f) % FZ_KIND_COUNT;
    uint8_t cb = fz_u8(&f);
    T.qsize = qsizes[fz_u8(&f) % 7];
    uint64_t want = fz_u64(&f);
    uint8_t fl = fz_u8(&f);
    fm_reset(!!(fl & VQF_HOOKS), 0);
    T.dev = fd_create(kind, cb, T.qsize, NULL);
    T.restores = T.accepted = 0;
    fd_set_notify(NULL, NULL);
    fd_set_lenient(0);
    for (unsigned q = 0; q < FD_MAXQ; q++) {
        T.rings[q][0] = fm_ring_alloc(16u * T.qsize, 16);
        T.rings[q][1] = fm_ring_alloc(6u + 2u * T.qsize, 4);
        T.rings[q][2] = fm_ring_alloc(6u + 8u * T.qsize, 4);
    }
    bring_up(want);

    unsigned ops = 0;
    while (!fz_done(&f) && ops++ < 1024) {
        unsigned op = fz_u8(&f) % STATE_OP_COUNT;
        if (fz_trace())
            fprintf(stderr, "op %u: %u status %#x\n", ops, op,
                    vdm_dev_status(T.dev));
        switch (op) {
        case STATE_OP_DEV: fd_dev_op(&f); break;
        case STATE_OP_SAVE: {
            size_t n = save(T.img);
            unsigned nmut = fz_u8(&f);
            for (unsigned i = 0; i < nmut; i++) {
                uint16_t off = fz_u16(&f);
                uint8_t x = fz_u8(&f);
                if (n > 0)
                    T.img[off % n] ^= x;
            }
            uint16_t cut = fz_u16(&f);
            if (n > 0)
                restore(T.img, n - (cut < n ? cut : n));
            break;
        }
        case STATE_OP_RAW: {
            size_t n = fz_u16(&f) % IMG_MAX;
            n = fz_bytes(&f, T.img, n);
            restore(T.img, n);
            break;
        }
        case STATE_OP_RESET:
            vdm_dev_set_status(T.dev, 0);
            fd_poll();
            bring_up(fz_u64(&f));
            break;
        default:
            fd_complete_all();
            fd_poll();
            break;
        }
    }
    if (fz_verbose()) {
        char buf[256];
        fd_stats(buf, sizeof(buf));
        fprintf(stderr, "state: %lu restores, %lu accepted; %s\n", T.restores,
                T.accepted, buf);
    }
    fd_finish();
    return 0;
}
