/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test support: guard-paged guest memory (the driver simulator's drv_guest)
 * seen through a vdm_mem region table, and a queue environment pairing the
 * simulator's driver-side virtqueue with a device-side vdm_vq on the same
 * rings. Hosted test code (libc, Check).
 */
#ifndef VDM_TEST_GUESTMEM_H
#define VDM_TEST_GUESTMEM_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "drv.h"
#include "vdm/mem.h"
#include "vdm/virtqueue.h"

/* Assertions for hot loops: Check's ck_assert* records a checkpoint in a
 * file on every success, far too slow for 100k-iteration loops. These fail
 * through ck_abort_msg (so the test fails the same way) and cost nothing
 * when they hold. */
#define REQUIRE(expr)                                                          \
    do {                                                                       \
        if (!(expr))                                                           \
            ck_abort_msg("%s:%d: assertion %s failed", __FILE__, __LINE__,     \
                         #expr);                                               \
    } while (0)
#define REQUIRE_EQ(a, b)                                                       \
    do {                                                                       \
        long long req_a_ = (long long)(a), req_b_ = (long long)(b);            \
        if (req_a_ != req_b_)                                                  \
            ck_abort_msg("%s:%d: %s == %s failed (%lld vs %lld)", __FILE__,    \
                         __LINE__, #a, #b, req_a_, req_b_);                    \
    } while (0)

/** Guest memory: drv_guest plus the matching vdm_mem table. */
struct gm {
    struct drv_guest g;
    struct vdm_mem_region regs[DRV_MAX_REGIONS];
    struct vdm_mem mem;
};

/** Create @p n guard-paged regions and the vdm_mem describing them
 *  (ck_assert on failure). */
void gm_init(struct gm *gm, const uint64_t *gpas, const uint64_t *sizes,
             unsigned n);
/** One region of @p size bytes at guest address @p gpa. */
void gm_init1(struct gm *gm, uint64_t gpa, uint64_t size);
void gm_fini(struct gm *gm);
/** Host pointer of [gpa, gpa+len) (ck_assert that it is mapped). */
void *gm_ptr(struct gm *gm, uint64_t gpa, uint64_t len);

/** Deterministic payload byte i of stream @p seed. */
static inline uint8_t gm_pat(uint32_t seed, uint64_t i)
{
    return (uint8_t)(seed * 131u + (uint32_t)i * 7u + (uint32_t)(i >> 8));
}
/** Fill guest [gpa, gpa+len) with stream @p seed from offset @p from. */
void gm_fill(struct gm *gm, uint64_t gpa, uint32_t len, uint32_t seed,
             uint64_t from);
/** 1 when guest [gpa, gpa+len) holds stream @p seed from offset @p from. */
int gm_check(struct gm *gm, uint64_t gpa, uint32_t len, uint32_t seed,
             uint64_t from);

/** Device-side fault hook record. */
struct fault_rec {
    unsigned count;
    int err;
    uint16_t qidx;
    const char *why;
};
/** A vdm_vq_ops whose fault hook fills the struct fault_rec given as ctx. */
extern const struct vdm_vq_ops gm_fault_ops;

/** A driver queue and a device queue on the same rings. */
struct vqenv {
    struct gm gm;
    struct drv_vq dq;
    struct vdm_vq vq;
    struct vdm_vq_config cfg;
    uint32_t *slots;
    struct fault_rec fault;
    uint64_t features;
    uint16_t num;
    struct vdm_iov iov[1024];
    struct vdm_chain c;
};

/** Guest of @p memsize bytes at 0x10000, driver rings, device queue
 *  initialised (ck_assert on failure). @p features as negotiated. */
void vqenv_setup(struct vqenv *e, uint16_t num, uint64_t features,
                 uint64_t memsize);
void vqenv_teardown(struct vqenv *e);
/** Default guest size of vqenv_new(). */
#define VQENV_MEM (8u << 20)
/** malloc + vqenv_setup with VQENV_MEM bytes of guest memory. */
struct vqenv *vqenv_new(uint16_t num, uint64_t features);
/** vqenv_teardown + free. */
void vqenv_free(struct vqenv *e);
/** (Re)initialise the device queue on the driver's rings; returns the
 *  vdm_vq_init result. */
int vqenv_init_vq(struct vqenv *e);
/** Reset chain struct to the env iov array with capacity @p cap. */
void vqenv_chain(struct vqenv *e, uint32_t cap);

/* ---- round trips: driver adds, device serves, driver reaps ---------- */

#define XF_MAX 96

/** A buffer layout: readable parts then writable parts, in guest memory. */
struct xfer {
    unsigned nout, nin;
    uint32_t out_len[XF_MAX], in_len[XF_MAX];
    uint64_t out_gpa[XF_MAX], in_gpa[XF_MAX];
    int mode;        /**< DRV_ADD_* */
    uint32_t rtotal; /**< readable bytes */
    uint32_t wtotal; /**< writable bytes */
};

/** Allocate @p nout + @p nin parts of varied lengths (from @p len0 on). */
void xf_layout(struct vqenv *e, struct xfer *x, unsigned nout, unsigned nin,
               uint32_t len0, int mode);
/** Fill the readable parts with stream @p seed, zero the writable parts,
 *  add the buffer (not published). Returns the id. */
int xf_add(struct vqenv *e, const struct xfer *x, uint32_t seed, void *cookie);
/** Device: pop one chain (must be there), check it is @p x carrying stream
 *  @p seed, write @p wr bytes of stream seed ^ 0x5555 into its writable
 *  part; push it (written @p wr) when @p push. Returns the id. */
uint16_t xf_serve(struct vqenv *e, const struct xfer *x, uint32_t seed,
                  uint32_t wr, int push);
/** Driver: take one used buffer; check its id, len and the @p wr bytes the
 *  device wrote. */
void xf_reap(struct vqenv *e, const struct xfer *x, uint32_t id, uint32_t seed,
             uint32_t wr);
/** add + publish + serve + push + reap of one buffer of layout @p x. */
void xf_roundtrip(struct vqenv *e, const struct xfer *x, uint32_t seed,
                  uint32_t wr);
/** calloc'ed array of @p n distinct layouts (free() it). */
struct xfer *xf_layouts(struct vqenv *e, unsigned n, unsigned nout,
                        unsigned nin, uint32_t len0);
/** The driver adds and publishes k buffers (layouts xs[0..k)), the device
 *  serves and pushes them (1 byte written each); then the device's
 *  should_notify must equal the driver's interrupt oracle; the driver
 *  reaps them. */
void xf_push_check(struct vqenv *e, const struct xfer *xs, unsigned k,
                   uint32_t seed);

#endif
