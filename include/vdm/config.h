/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file config.h
 * @brief Compile-time profile: what the library is built with.
 *
 * Each option is 1 (built in, the default) or 0 (left out) and may be
 * overridden with -D when the library is compiled, e.g.
 * `-DVDM_CONFIG_PACKED=0 -DVDM_CONFIG_INDIRECT=0` for a small embedded
 * build (scripts/size shows the "split-only" profile). The offered ring
 * features follow the profile: @ref VDM_F_RING_ALL only holds what is built
 * in, so devices never offer what the library cannot do, and vdm_vq_init()
 * refuses a feature left out with VDM_ENOTSUP.
 *
 * Build the callers with the same -D values as the library: the header
 * macros (VDM_F_RING_ALL) depend on them. The ABI (struct sizes, exported
 * symbols) does not change with the profile.
 */
#ifndef VDM_CONFIG_H
#define VDM_CONFIG_H

/** Packed virtqueues (VIRTIO_F_RING_PACKED, src/virtqueue_packed.c). */
#ifndef VDM_CONFIG_PACKED
#define VDM_CONFIG_PACKED 1
#endif
/** Indirect descriptor tables (VIRTIO_F_INDIRECT_DESC). */
#ifndef VDM_CONFIG_INDIRECT
#define VDM_CONFIG_INDIRECT 1
#endif
/** used_event / avail_event notification suppression (VIRTIO_F_EVENT_IDX). */
#ifndef VDM_CONFIG_EVENT_IDX
#define VDM_CONFIG_EVENT_IDX 1
#endif
/** In-order use of buffers (VIRTIO_F_IN_ORDER). */
#ifndef VDM_CONFIG_IN_ORDER
#define VDM_CONFIG_IN_ORDER 1
#endif
/** Extra data on driver notifications (VIRTIO_F_NOTIFICATION_DATA). */
#ifndef VDM_CONFIG_NOTIFICATION_DATA
#define VDM_CONFIG_NOTIFICATION_DATA 1
#endif
/** Per-queue reset (VIRTIO_F_RING_RESET). */
#ifndef VDM_CONFIG_RING_RESET
#define VDM_CONFIG_RING_RESET 1
#endif
/** The virtio-mmio transport (transports/mmio.c). */
#ifndef VDM_CONFIG_MMIO
#define VDM_CONFIG_MMIO 1
#endif
/** The virtio-pci transport (transports/pci_*.c). */
#ifndef VDM_CONFIG_PCI
#define VDM_CONFIG_PCI 1
#endif
/** The vhost-user backend (transports/vhost_user*.c). */
#ifndef VDM_CONFIG_VHOST_USER
#define VDM_CONFIG_VHOST_USER 1
#endif

/**
 * Log message texts. 1: every message the library logs reaches the host log
 * hooks as a text. 0: the texts of the core (src/), the MMIO transport and
 * the blk device are left out of the image (about 3.5 KiB of Thumb-2
 * .rodata for core + mmio + blk); their log hooks get `msg` NULL and an
 * event code in the upper bits of `level`: @ref VDM_LOG_LEVEL(level) is the
 * level, @ref VDM_LOG_EVENT(level) the code, `scripts/log-event CODE` names
 * the source file and line of the message (of the version built). Other
 * transports and devices keep their texts.
 */
#ifndef VDM_CONFIG_LOG_TEXT
#define VDM_CONFIG_LOG_TEXT 1
#endif

/**
 * The most detailed log level built in: a message of a level above it is
 * left out of the image, its call included (core, transports, device kit,
 * devices). 3 (VDM_LOG_DEBUG, the default): every message; 2
 * (VDM_LOG_INFO), 1 (VDM_LOG_WARN), 0 (VDM_LOG_ERROR: the errors only,
 * which are always built in: DEVICE_NEEDS_RESET and what set it, the
 * driver setting FAILED).
 * What a left-out message reports still happens (the call refused with its
 * error code, the status written, DEVICE_NEEDS_RESET set); only the message
 * does not reach the log hooks. vdm_dev_log() passes on the messages of the
 * levels built in.
 */
#ifndef VDM_CONFIG_LOG_LEVEL
#define VDM_CONFIG_LOG_LEVEL 3
#endif

/**
 * The guest-memory hooks (struct vdm_mem_ops: translate and unmap, for an
 * IOMMU or a map-on-demand hypervisor). 0: guest memory is the region table
 * only; vdm_dev_init() and vdm_mem_check() refuse memory with a translate
 * hook (VDM_ENOTSUP) and the lookups ignore `ops`. The vhost-user and
 * vfio-user transports use the table only and are unaffected.
 */
#ifndef VDM_CONFIG_MEM_HOOKS
#define VDM_CONFIG_MEM_HOOKS 1
#endif

/**
 * The blk device's DISCARD and WRITE_ZEROES commands (devices/blk.c). 0:
 * never offered, vdm_blk_init() refuses VDM_BLK_DISCARD,
 * VDM_BLK_WRITE_ZEROES and VDM_BLK_WZ_MAY_UNMAP (VDM_ENOTSUP), and such
 * requests complete with VIRTIO_BLK_S_UNSUPP.
 */
#ifndef VDM_CONFIG_BLK_DISCARD
#define VDM_CONFIG_BLK_DISCARD 1
#endif

/**
 * The pops' fast walks (src/virtqueue_split.c, src/virtqueue_packed.c): a
 * loop that takes the descriptors whose buffers lie in the one or two
 * guest-memory regions the previous lookups hit, with their bounds read
 * once per pop, before the general walk takes over at the first
 * descriptor it does not handle; and the one-region shortcuts of the
 * guest-memory map and copy and of the indirect-table lookup (src/mem.c,
 * src/virtqueue.c). 0: every chain goes through the general walk and
 * every range through the general lookup, which apply every rule and
 * reach the same verdicts: the same behaviour and checks, fewer bytes of
 * code (about 5 KiB of Thumb-2 for core + mmio + blk with every option
 * in, 2 KiB split-only: scripts/size), more time per chain. Unlike the
 * other options it leaves no feature out. Default: 0 when the library is
 * compiled for size (-Os: `__OPTIMIZE_SIZE__`), else 1.
 */
#ifndef VDM_CONFIG_FAST_WALK
#if defined(__OPTIMIZE_SIZE__)
#define VDM_CONFIG_FAST_WALK 0
#else
#define VDM_CONFIG_FAST_WALK 1
#endif
#endif

/** The vfio-user server (transports/vfio_user*.c); needs VDM_CONFIG_PCI. */
#ifndef VDM_CONFIG_VFIO_USER
#define VDM_CONFIG_VFIO_USER 1
#endif

/**
 * The administration virtqueue (VIRTIO_F_ADMIN_VQ, src/admin.c: the self
 * group's commands). 0: vdm_dev_init() refuses a device offering
 * VDM_F_ADMIN_VQ (VDM_ENOTSUP) and vdm_kit_features() never passes it on.
 * Built in, its engine is attached by the PCI transport (vdm_pci_init(),
 * also under vfio-user), the only one that can present the queue: the
 * device core reaches it only through that, so an image without the PCI
 * transport (MMIO, vhost-user) does not link it whatever this option says.
 */
#ifndef VDM_CONFIG_ADMIN_VQ
#define VDM_CONFIG_ADMIN_VQ 1
#endif

/**
 * vhost-user inflight I/O tracking (src/virtqueue_inflight.c: the
 * vhost-user "Inflight I/O tracking" records kept in pops and pushes). 0:
 * the vhost-user backend never offers
 * VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, so GET_INFLIGHT_FD and
 * SET_INFLIGHT_FD are refused as without the protocol feature, and no
 * queue is tracked. Only vhost-user tracks: with VDM_CONFIG_VHOST_USER 0
 * it is left out too. Built in, the virtqueue reaches the tracking engine
 * only through what the vhost-user transport attaches to a queue
 * (SET_INFLIGHT_FD), so an image without the vhost-user transport does
 * not link it whatever this option says.
 */
#ifndef VDM_CONFIG_INFLIGHT
#define VDM_CONFIG_INFLIGHT 1
#endif

/**
 * Dirty-page logging (src/dirty.c, struct vdm_dirty_log: vdm_mem::log and
 * the ring writes marked, vdm_vq_set_log()). 0: vdm_dev_init() and
 * vdm_mem_check() refuse memory with a log (VDM_ENOTSUP);
 * vdm_dirty_log_check(), vdm_dirty_mark(), vdm_mem_log_iov() and
 * vdm_vq_set_log() return VDM_ENOTSUP; the vhost-user backend does not
 * offer VHOST_F_LOG_ALL nor VHOST_USER_PROTOCOL_F_LOG_SHMFD and the
 * vfio-user server refuses dirty-page tracking (VFIO_DEVICE_FEATURE).
 */
#ifndef VDM_CONFIG_DIRTY_LOG
#define VDM_CONFIG_DIRTY_LOG 1
#endif

/**
 * VIRTIO_F_SUSPEND, the SUSPEND bit of the device status (src/suspend.c,
 * spec "Device Suspend"). 0: vdm_dev_init() refuses a device offering
 * VDM_F_SUSPEND (VDM_ENOTSUP) and vdm_kit_features() never passes it on,
 * so the driver can never set the bit (the status machine ignores it as an
 * unknown bit); vdm_dev_suspending() and vdm_dev_suspend_poll() return 0
 * (never suspending) for a valid device.
 */
#ifndef VDM_CONFIG_SUSPEND
#define VDM_CONFIG_SUSPEND 1
#endif

/**
 * Device state save and restore (vdm/state.h: src/state.c,
 * vdm_mmio_save() / vdm_pci_save() and their restores, and the device
 * types' state hooks). 0: vdm_dev_state_size(), vdm_mmio_state_size() and
 * vdm_pci_state_size() return 0; the saves and restores return
 * VDM_ENOTSUP and touch nothing; the bundled device types have no state
 * hooks.
 */
#ifndef VDM_CONFIG_STATE
#define VDM_CONFIG_STATE 1
#endif

#endif /* VDM_CONFIG_H */
