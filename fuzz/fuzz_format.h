/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Input formats of the fuzz targets, shared by the targets and the seed
 * generator (gen_corpus.c). Every input is a header followed by operations;
 * an operation is one opcode byte (taken modulo the number of opcodes, so
 * any byte is some operation) and its parameters, little-endian. Reading
 * past the end yields zeros (fuzz_util.h).
 *
 * Guest addresses are encoded as fuzz_mem.h selectors (fm_gpa()).
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_FUZZ_FORMAT_H
#define VDM_FUZZ_FORMAT_H

#include "fuzz_devices.h"

/* ------------------------------------------------------------------------ */
/* vq_split / vq_packed: one device-side virtqueue on fuzzed rings          */
/* ------------------------------------------------------------------------ */
/*
 * Header: u8 size selector (split: 1 << (s % 9); packed: vq_packed_sizes[s %
 * 11]), u8 VQF_* flags, u8 max_chain (with VQF_MAX_CHAIN), u8 hook
 * granularity (0: whole; else 1 << (g % 13)), u8 ring placement (0: the
 * driver allocator; else three fm_gpa() addresses follow: desc, driver,
 * device).
 */
#define VQF_INDIRECT  0x01u
#define VQF_EVENT_IDX 0x02u
#define VQF_IN_ORDER  0x04u
#define VQF_HOOKS     0x08u
#define VQF_MAX_CHAIN 0x10u

enum vq_op {
    VQ_OP_POP,         /* u8 iov cap (0: all) */
    VQ_OP_PUSH,        /* u8 in-flight pick (n: raw u16 id follows),
                          u8 len mode (0 all, 1 zero, 2 all+1, 3 u32) */
    VQ_OP_PUSH_BATCH,  /* u8 n (1..8), u8 flags, n x (u8 pick, u8 mode) */
    VQ_OP_UNPOP,       /* u8 in-flight pick from the newest */
    VQ_OP_NOTIFY,      /* should_notify */
    VQ_OP_SET_NOTIFY,  /* u8 enable */
    VQ_OP_HAS_AVAIL,   /* - */
    VQ_OP_SET_STATE,   /* u16 last_avail, u16 used, u8 aw, u8 uw */
    VQ_OP_RESET,       /* reset and init again */
    VQ_OP_DRV_ADD,     /* u8 nout, u8 nin, u8 mode, (u16 len, gpa) each */
    VQ_OP_DRV_PUBLISH, /* - */
    VQ_OP_DRV_REAP,    /* - */
    VQ_OP_DRV_CB,      /* u8 0 disable, 1 enable, 2 enable at u16 */
    VQ_OP_RAW_DESC,    /* u16 i, gpa, u32 len, u16 flags, u16 next/id */
    VQ_OP_RAW_AVAIL,   /* u16 slot, u16 head (split; packed: ignored) */
    VQ_OP_RAW_IDX,     /* u16 avail idx (split) */
    VQ_OP_RAW_EVENT,   /* u16 driver flags, u16 used_event / off_wrap */
    VQ_OP_RAW_MEM,     /* gpa, u8 n, n bytes */
    VQ_OP_COUNT
};

/* ------------------------------------------------------------------------ */
/* Device targets (blk, rng, input) and the transports' devices             */
/* ------------------------------------------------------------------------ */
/*
 * Driver operations on a device, shared by the device targets and, as the
 * payload of their DEV op, by the transport targets (fuzz_dev.h).
 */
enum dev_op {
    DEV_OP_BUF,  /* u8 q, u8 nout, u8 nin, u8 mode, then per part
                    u16 len, gpa; then the device-specific request
                    (blk: u32 type, u64 sector; input: 8 bytes) */
    DEV_OP_KICK, /* u8 q: publish and notify */
    DEV_OP_REAP, /* u8 q: collect used buffers and check them */
    DEV_OP_HOST, /* u8 host action, u32 arg (device-specific) */
    DEV_OP_CB,   /* u8 q, u8 0 disable / 1 enable */
    DEV_OP_COUNT
};

/*
 * Device target header: u8 device-config byte (device-specific), u8
 * queue size selector, u64 features wanted (ANDed with the offer), u8
 * VQF_HOOKS flags. Then ops: DEVT_OP_* below; DEVT_OP_DEV carries a
 * dev_op.
 */
enum devt_op {
    DEVT_OP_DEV,    /* dev_op */
    DEVT_OP_CFG_RD, /* u8 off, u8 len */
    DEVT_OP_CFG_WR, /* u8 off, u8 len, u64 value */
    DEVT_OP_RESET,  /* device reset then bring-up again (u64 features) */
    DEVT_OP_QRESET, /* u8 q: queue reset (RING_RESET) and set it up again */
    DEVT_OP_STATUS, /* u8 status written raw */
    DEVT_OP_NOTIFY, /* u16 q, u32 data: raw vdm_dev_queue_notify */
    DEVT_OP_COUNT
};

/* ------------------------------------------------------------------------ */
/* Transports                                                               */
/* ------------------------------------------------------------------------ */
/*
 * mmio header: u8 device kind, u8 device-config byte. Ops:
 */
enum mmio_op {
    MMIO_OP_READ,   /* u16 off, u8 width */
    MMIO_OP_WRITE,  /* u16 off, u8 width, u64 value */
    MMIO_OP_DEV,    /* dev_op on the rings the driver programmed */
    MMIO_OP_RESET,  /* vdm_mmio_reset */
    MMIO_OP_CONFIG, /* host changes the device config (config-change) */
    MMIO_OP_COUNT
};

/* pci header: u8 device kind, u8 device-config byte, u8 PCI layout byte,
 * u16 MSI-X vectors. Ops: */
enum pci_op {
    PCI_OP_CFG_READ,  /* u16 off, u8 width */
    PCI_OP_CFG_WRITE, /* u16 off, u8 width, u32 value */
    PCI_OP_BAR_READ,  /* u8 bar, u32 off, u8 width */
    PCI_OP_BAR_WRITE, /* u8 bar, u32 off, u8 width, u64 value */
    PCI_OP_DEV,       /* dev_op */
    PCI_OP_RESET,     /* vdm_pci_reset */
    PCI_OP_CONFIG,    /* host config change */
    PCI_OP_MEM_READ,  /* u64 guest-physical address, u8 width (decode) */
    PCI_OP_MEM_WRITE, /* u64 address, u8 width, u64 value */
    PCI_OP_COUNT
};

/* vhost-user header: u8 device kind, u8 device-config byte, u8 rings,
 * u8 protocol features off. Ops: */
enum vu_op {
    VU_OP_MSG,   /* u8 request, u8 flags, u16 payload length, u8 nfds,
                    nfds x u8 fd id, payload bytes */
    VU_OP_KICK,  /* u8 ring */
    VU_OP_DEV,   /* dev_op on the rings the front-end described */
    VU_OP_RESET, /* vdm_vhost_user_reset (the front-end went away) */
    VU_OP_COUNT
};

/* vfio-user header: u8 device kind, u8 device-config byte, u8 queue size
 * (log2), u8 PCI byte (MSI-X vectors % 9, bit 4: no INTx). Ops: */
enum vfu_op {
    VFU_OP_MSG,   /* u8 command, u8 flags, u16 payload length (bit 15:
                     truncated), u8 nfds, nfds x u8 fd file, payload */
    VFU_OP_DEV,   /* dev_op on the rings the client programmed */
    VFU_OP_RESET, /* vdm_vfio_user_reset (the client went away) */
    VFU_OP_COUNT
};

/* ------------------------------------------------------------------------ */
/* Save and restore (vdm/state.h)                                           */
/* ------------------------------------------------------------------------ */
/*
 * state header: u8 device kind, then the device target header (u8
 * device-config byte, u8 queue size selector, u64 features, u8 flags).
 * Ops:
 */
enum state_op {
    STATE_OP_DEV,     /* dev_op */
    STATE_OP_SAVE,    /* save, then u8 n, n x (u16 offset, u8 xor), u16
                         bytes cut off the end; restore that image */
    STATE_OP_RAW,     /* u16 length, bytes: restore them as an image */
    STATE_OP_RESET,   /* device reset then bring-up again (u64 features) */
    STATE_OP_HOST,    /* the host completes everything it holds */
    STATE_OP_COUNT
};

/*
 * state_transport header: u8 device kind, u8 device-config byte, u8 queue
 * size selector, u64 features, u8 flags, u8 transport (bit 0: PCI, else
 * MMIO; PCI: bit 1 32-bit BARs, bit 2 no INTx, bit 3 MSI-X table in a BAR
 * of its own), u16 MSI-X vectors (PCI, modulo 9). Ops:
 */
enum tps_op {
    TPS_OP_DEV,    /* dev_op */
    TPS_OP_SAVE,   /* transport save, then u8 n, n x (u32 offset, u8 xor),
                      u16 bytes cut off the end; restore that image */
    TPS_OP_RAW,    /* u16 length, bytes: restore them as an image */
    TPS_OP_READ,   /* u8 where (PCI: 0 config space, 1..6 BAR 0..5), u32
                      offset, u8 width */
    TPS_OP_WRITE,  /* u8 where, u32 offset, u8 width, u64 value */
    TPS_OP_NOTIFY, /* u8 queue, u32 value: a notification through the
                      transport */
    TPS_OP_HOST,   /* the host completes everything it holds */
    TPS_OP_RESET,  /* transport reset */
    TPS_OP_COUNT
};

/** Device kinds for the transport targets (fuzz_devices.h). */
#define FZ_KIND_ENUM(l, u) FZ_KIND_##u,
enum fz_kind { FUZZ_DEVICES(FZ_KIND_ENUM) FZ_KIND_COUNT };
#undef FZ_KIND_ENUM

#endif
