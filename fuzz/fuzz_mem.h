/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory for the fuzz targets: one set of host mappings, created once
 * per process and wiped before every input, laid out so that any access the
 * library makes outside the guest regions faults at once.
 *
 * Guest-physical layout (holes between the regions are unmapped):
 *
 *   FM_HEAP   0x00010000  128 KiB  read-write: 0-32 KiB rings (fm_ring_alloc),
 *                                  32-64 KiB the driver simulator's
 *                                  allocator (indirect tables), 64-128 KiB
 *                                  buffers (fm_gpa_buf)
 *   FM_DATA1  0x00040000   16 KiB  read-write
 *   FM_DATA2  0x00044000   16 KiB  read-write, adjacent to DATA1 in guest
 *                                  space but not in the host (a buffer
 *                                  crossing 0x44000 needs two spans)
 *   FM_ROM    0x00080000    8 KiB  VDM_MEM_REGION_RDONLY, mapped PROT_READ
 *                                  for the library (the harness writes it
 *                                  through a second, writable alias)
 *   FM_HIGH   2^64-64 KiB  32 KiB  read-write, near the top of the space
 *   hook      0x00200000   16 KiB  no region: reached only through the
 *                                  vdm_mem_ops translate hook, when enabled
 *
 * Every region starts and ends on a page boundary and has a PROT_NONE guard
 * page on each side in the host, so one byte past a region is a SIGSEGV.
 * The translate hook records every mapping it hands out; unmap must give
 * back exactly those, and fm_check_released() finds leaks.
 *
 * Hosted test code (Linux: mmap, memfd), not part of the library.
 */
#ifndef VDM_FUZZ_MEM_H
#define VDM_FUZZ_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "drv.h"
#include "fuzz_util.h"
#include "vdm/mem.h"

/** @name Regions (index into the vdm region table and the drv_guest)
 * @{ */
#define FM_HEAP  0u
#define FM_DATA1 1u
#define FM_DATA2 2u
#define FM_ROM   3u
#define FM_HIGH  4u
#define FM_NREG  5u /**< Regions the library sees in its table. */
#define FM_HOOK  5u /**< Driver-side index of the hook window. */
/** @} */

#define FM_HEAP_GPA  0x10000ull
#define FM_HEAP_SIZE 0x20000ull
#define FM_DATA1_GPA 0x40000ull
#define FM_DATA2_GPA 0x44000ull
#define FM_DATA_SIZE 0x4000ull
#define FM_ROM_GPA   0x80000ull
#define FM_ROM_SIZE  0x2000ull
#define FM_HIGH_GPA  0xffffffffffff0000ull
#define FM_HIGH_SIZE 0x8000ull
#define FM_HOOK_GPA  0x200000ull
#define FM_HOOK_SIZE 0x4000ull
/** Heap part for rings handed out by fm_ring_alloc(). */
#define FM_RING_SIZE 0x8000ull
/** Heap part below this offset: rings and the driver simulator's
 *  allocator (indirect tables, drv_vq_init rings) from FM_RING_SIZE on;
 *  the rest is buffer space for fm_gpa_buf(). */
#define FM_HEAP_DRV 0x10000ull

/** @brief Start (once per process) and wipe guest memory for a new input.
 *  @p hooks 1 installs the translate/unmap hooks; @p gran is the most the
 *  translate hook maps per call (0: up to the end of the window). */
void fm_reset(int hooks, uint32_t gran);

/** @brief The library's view: the region table (and hooks when enabled). */
const struct vdm_mem *fm_mem(void);
/** @brief The driver simulator's view (hook window included). */
struct drv_guest *fm_guest(void);

/** @brief Harness-side writable pointer of a guest range in one region or
 *  the hook window; NULL when not entirely inside one. */
void *fm_hva(uint64_t gpa, uint64_t len);

/**
 * @brief 1 when the host range [hva, hva+len) is memory the library may
 *        touch for @p write: inside one region (not FM_ROM for a write) or
 *        inside a live hook mapping.
 */
int fm_span_ok(const void *hva, uint64_t len, int write);
/**
 * @brief The host address the library must use for guest range
 *        [gpa, gpa+len): its pointer into the region holding all of it (the
 *        library's view: the read-only alias for FM_ROM), or into the hook
 *        window when hooks are enabled. NULL when no single region or the
 *        window holds the whole range. The fuzz oracle's own translation,
 *        compared with every span the library hands out.
 */
void *fm_lib_hva(uint64_t gpa, uint64_t len);
/** @brief Also accept the harness views as device memory in fm_span_ok()
 *         (vhost-user: the back-end maps the "memory files" itself). */
void fm_accept_alias(int on);
/** @brief Harness view of host region @p i (0..5) and its size: the
 *         "memory file" of the vhost-user target. */
uint8_t *fm_file(unsigned i, uint64_t *size);

/** @brief 1 when [gpa, gpa+len) is guest memory the device may access for
 *         @p write (regions, or the hook window when hooks are enabled),
 *         possibly spread over several regions. len 0: always 1. */
int fm_range_ok(uint64_t gpa, uint64_t len, int write);

/** @brief Copy guest bytes as the library would see them (regions, and the
 *         hook window when hooks are enabled). @return 0, or -1 when any
 *         byte is outside (nothing reliable copied). */
int fm_read(uint64_t gpa, void *dst, uint64_t n);

/**
 * @brief A guest address chosen by the input, for a buffer of @p len bytes:
 *        selector byte, then its parameters. Selector 0 allocates fresh
 *        buffer space (DATA1/DATA2, then the heap's buffer part, wrapping);
 *        the others pick a region and offset, a hole, an address near 2^64
 *        or a raw 64-bit value. See gen_corpus.c for the encoding.
 */
uint64_t fm_gpa(struct fz *f, uint64_t len);
/** @brief fm_gpa() that also says whether selector 0 (fresh buffer space,
 *         overlapping nothing else handed out) was used. */
uint64_t fm_gpa_ex(struct fz *f, uint64_t len, int *fresh);
/** @brief Write guest bytes through the harness view, skipping whatever is
 *         unmapped. */
void fm_write(uint64_t gpa, const void *src, uint64_t n);
/** @brief The allocator behind selector 0 (for harness-made buffers). */
uint64_t fm_gpa_buf(uint64_t len);

/** @brief Allocate ring memory (zeroed) from the heap's ring part;
 *  0 when exhausted. */
uint64_t fm_ring_alloc(uint64_t size, uint64_t align);
/** @brief 1 when [gpa, gpa+len) overlaps memory the harness hands out on
 *  its own: the driver allocator's part or the fm_gpa_buf() space. */
int fm_hits_harness(uint64_t gpa, uint64_t len);
/** @brief 1 once fm_gpa_buf() has wrapped (buffers may now overlap). */
int fm_buf_wrapped(void);

/** @brief Bytes the driver simulator's allocator may still hand out. */
uint64_t fm_drv_room(void);

/** @brief Live translate-hook mappings. */
unsigned fm_hook_live(void);
/** @brief Every hook mapping must have been given back (call after the
 *         objects using memory were reset and spans released). */
void fm_check_released(void);

#define FM_SEL_AUTO     0u /**< fm_gpa: fresh buffer space, no parameter. */
#define FM_SEL_REGION   1u /**< fm_gpa: u8 region (0-5), u16 offset. */
#define FM_SEL_HOLE     2u /**< fm_gpa: u16 offset into the 0x30000 hole. */
#define FM_SEL_TOP      3u /**< fm_gpa: 2^64 - 1 - u16. */
#define FM_SEL_RAW      4u /**< fm_gpa: u64. */
#define FM_SEL_STRADDLE 5u /**< fm_gpa: DATA2 start - u8 - 1 (crosses). */
#define FM_SEL_END      6u /**< fm_gpa: u8 region; ends u8 bytes past its end. */
#define FM_NSEL         7u

#endif
