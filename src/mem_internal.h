/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: guest-memory helpers for the ring code (src/virtqueue*.c). Not
 * exported (the library is built with -fvisibility=hidden and these carry no
 * VDM_API). */
#ifndef VDM_MEM_INTERNAL_H
#define VDM_MEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vdm/mem.h"

/* "No region remembered" value for the region hint of the *_ex calls. */
#define VDM_MEM_NO_HINT UINT32_MAX

/*
 * vdm_mem_map() with a caller-kept region hint (the index of the region the
 * previous lookup hit, VDM_MEM_NO_HINT at first) and a different ENOSPC
 * contract: on VDM_ENOSPC the *filled spans stored in iov stay valid (hook
 * spans are NOT released) so the caller can keep a truncated span list.
 * On any other error nothing is left mapped and *filled is 0.
 * Returns the number of spans (== *filled), VDM_EFAULT or VDM_ENOSPC.
 */
int vdm_mem_map_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                   uint32_t access, struct vdm_iov *iov, uint32_t cap,
                   uint32_t *hint, uint32_t *filled);

/*
 * Check that [gpa, gpa+len) is entirely mapped for access without keeping
 * anything mapped (ranges reached through the translate hook are mapped and
 * given back at once). 0 or VDM_EFAULT. len 0 is always 0.
 */
int vdm_mem_probe(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                  uint32_t access, uint32_t *hint);

/*
 * vdm_mem_lookup() that also reports whether the mapping came from the
 * translate hook (*hooked = 1: give it back with vdm_mem_unmap_hva()).
 */
int vdm_mem_lookup_ex(const struct vdm_mem *m, uint64_t gpa, uint64_t len,
                      uint32_t access, void **hva, int *hooked);

/* Give back a mapping the translate hook produced (ops->unmap if set). */
void vdm_mem_unmap_hva(const struct vdm_mem *m, void *hva, uint64_t len);

#endif
