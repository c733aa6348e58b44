/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal interface between the common virtqueue front (drv_vq.c) and the
 * two ring formats (drv_split.c, drv_packed.c). Not for tests.
 */
#ifndef VDM_TESTS_DRV_PRIV_H
#define VDM_TESTS_DRV_PRIV_H

#include "drv.h"

/* guest-memory accessors for fields the device may touch concurrently;
 * the pointer must be naturally aligned (the ring alignment rules ensure it) */
static inline void drv_store16(void *p, uint16_t v, int order)
{
    __atomic_store_n((uint16_t *)p, drv_cpu_to_le16(v), order);
}

static inline uint16_t drv_load16(const void *p, int order)
{
    return drv_cpu_to_le16(__atomic_load_n((const uint16_t *)p, order));
}

/* common helpers (drv_vq.c) */
int drv_fail(struct drv_vq *q, const char *why);
uint64_t drv_indirect_table(struct drv_vq *q, uint16_t id, uint32_t entries);
void drv_order_append(struct drv_vq *q, uint16_t id);
/* EVENT_IDX-style test: is position @ev among the @count positions starting at
 * @old, positions taken modulo @mod (65536 split, 2 * size packed) */
int drv_in_window(uint32_t ev, uint32_t old, uint32_t count, uint32_t mod);

/* split (drv_split.c) */
void drv_split_reset(struct drv_vq *q);
int drv_split_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
                  const struct drv_buf *in, unsigned nin, int mode,
                  void *cookie);
void drv_split_publish(struct drv_vq *q);
int drv_split_kick_needed(struct drv_vq *q);
int drv_split_get_used(struct drv_vq *q, struct drv_used *u);
int drv_split_more_used(struct drv_vq *q);
void drv_split_enable_cb(struct drv_vq *q, int at, uint16_t pos);
void drv_split_disable_cb(struct drv_vq *q);
int drv_split_interrupt_expected(struct drv_vq *q);
int drv_split_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                   uint16_t new_pos);
void drv_split_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr,
                        uint32_t len, uint16_t flags, uint16_t next);

/* packed (drv_packed.c) */
void drv_packed_reset(struct drv_vq *q);
int drv_packed_add(struct drv_vq *q, const struct drv_buf *out, unsigned nout,
                   const struct drv_buf *in, unsigned nin, int mode,
                   void *cookie);
void drv_packed_publish(struct drv_vq *q);
int drv_packed_kick_needed(struct drv_vq *q);
int drv_packed_get_used(struct drv_vq *q, struct drv_used *u);
int drv_packed_more_used(struct drv_vq *q);
void drv_packed_enable_cb(struct drv_vq *q, int at, uint16_t pos);
void drv_packed_disable_cb(struct drv_vq *q);
int drv_packed_interrupt_expected(struct drv_vq *q);
int drv_packed_used_event_triggered(const struct drv_vq *q, uint16_t old_pos,
                                    uint16_t new_pos);
void drv_packed_raw_desc(struct drv_vq *q, uint16_t i, uint64_t addr,
                         uint32_t len, uint16_t flags, uint16_t id);

#endif /* VDM_TESTS_DRV_PRIV_H */
