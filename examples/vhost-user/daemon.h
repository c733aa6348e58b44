/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: shared declarations of the daemon (Linux host code, not
 * part of the library). One `struct vdev` per --socket/--device pair. */
#ifndef VDM_VHOST_USER_DAEMON_H
#define VDM_VHOST_USER_DAEMON_H

#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/device.h"
#include "vdm/vfio_user.h"
#include "vdm/vhost_user.h"

/** Bytes of each device's message and reply buffers (either protocol). */
#define VD_MSGBUF_BYTES                                                        \
    (VDM_VFIO_USER_MAX_MSG > VDM_VHOST_USER_MAX_MSG ? VDM_VFIO_USER_MAX_MSG    \
                                                    : VDM_VHOST_USER_MAX_MSG)

/** Bytes of each device's reply buffer: a message, plus room for the
 *  bitmap of a vfio-user DMA_LOGGING_REPORT (2 Mi bits: 8 GiB of guest
 *  memory at 4 KiB pages per report). */
#define VD_REPLYBUF_BYTES (VD_MSGBUF_BYTES + (256u << 10))

/** Most key=value options one --device takes. */
#define VD_MAX_OPTS 16

/** Parsed `TYPE,key=value,...`. */
struct vd_opts {
    const char *type;
    unsigned n;
    const char *key[VD_MAX_OPTS];
    const char *val[VD_MAX_OPTS];
    unsigned used[VD_MAX_OPTS]; /* consumed by the device type */
};

struct vdev;

/** What each device type provides to the daemon. */
struct vd_type {
    const char *name;
    /** Parse options, open backing resources, fill d->base (queues,
     *  queue_size_max) and initialise the vdm device on d->dev with
     *  d->base as the base config. 0 or -1 (message printed). */
    int (*create)(struct vdev *d, struct vd_opts *o);
    /** The front-end connected (may be NULL). */
    void (*connected)(struct vdev *d);
    /** The front-end went away, after vdm_vhost_user_reset (may be NULL). */
    void (*disconnected)(struct vdev *d);
    /** Something happened (message handled, kick, timer): do pending work.
     *  Returns the ms until it wants to run again, or -1 (may be NULL). */
    int (*poll)(struct vdev *d);
    /** After poll: the CLOCK_MONOTONIC time (ns, vd_now_ns()) at which it
     *  wants poll to run again, or 0 (may be NULL). The daemon sleeps until
     *  then on a timerfd with an absolute deadline: for work that must run
     *  on time to well under a millisecond (sound periods). */
    uint64_t (*deadline)(struct vdev *d);
    /** A front-end request the transport leaves to the host (vhost-user
     *  `request` hook, e.g. GPU_SET_SOCKET); may be NULL. */
    int (*request)(struct vdev *d, uint32_t req, const void *payload,
                   uint32_t len, const int32_t *fds, uint32_t nfds,
                   uint32_t *taken);
    /** The fd given to vd_watch_aux() is readable (may be NULL). */
    void (*aux)(struct vdev *d);
    /** Requests of queue @p q (UINT16_MAX: of every queue) handed to the
     *  host and not yet completed: the library's `drain` hook waits for 0
     *  (docs/drain.md). NULL: the type completes everything inside its
     *  calls (nothing is ever left at the host). */
    unsigned (*pending)(struct vdev *d, uint16_t q);
    /** The front-end takes ring @p q back (GET_VRING_BASE; UINT16_MAX:
     *  every ring, for a memory-table change, a reset or the daemon's
     *  exit) while `pending` reports requests of it: finish now those that
     *  would otherwise wait without bound (a stopped sound stream's
     *  periods), answering each as the device type's spec allows. Called on
     *  the device thread, outside the library, before `poll`; may be NULL
     *  (everything at the host completes by itself). */
    void (*finish)(struct vdev *d, uint16_t q);
    /** Queue threads of the type's own (may be NULL): the device thread is
     *  about to call the library (a message, a reset, a kick it watches).
     *  Returns once no queue thread is inside the library and none has
     *  requests at the host (they are completed first). Nests with
     *  resume; pause and resume run on the device thread only. */
    void (*pause)(struct vdev *d);
    /** ... and is done: queue threads may go on (may be NULL). */
    void (*resume)(struct vdev *d);
    /** Ring @p q's kick source is now @p fd (the vhost-user watch_kick
     *  hook, device paused): 1 when the type's queue thread watches it
     *  (or polls the ring for VDM_VHOST_USER_FD_POLL), 0 to leave it to the
     *  device thread (may be NULL). */
    int (*watch_kick)(struct vdev *d, uint16_t q, int32_t fd);
};

/** One device served on one socket. */
struct vdev {
    const char *name;   /* "blk0" etc. for logs */
    const char *socket; /* socket path, or NULL for a handed-over fd */
    int handed_fd;      /* --fd=N: the management layer's socket, or -1 */
    int finished;       /* its handed-over connection ended: no more */
    const struct vd_type *type;
    void *priv; /* the device type's state */

    int listen_fd;
    int conn_fd;
    int reply_fd; /* inflight region fd to send with the reply, or -1 */

    /* vdm objects */
    struct vdm_vhost_user vu;
    struct vdm_vhost_user_ring *rings;
    struct vdm_dev dev;
    struct vdm_vq *queues;
    uint32_t *slots;
    struct vdm_dev_config base; /* mem, ops, host, queues, slots, sizes */

    /* kick sources, per queue */
    int32_t *kick_fd; /* watched fd, -1 none, VDM_VHOST_USER_FD_POLL */
    struct vd_tag *kick_tag;
    unsigned npolled;

    struct vd_tag *listen_tag;
    struct vd_tag *conn_tag;
    struct vd_tag *aux_tag;
    int aux_fd; /* watched for the device type, -1 none */

    int vfio;           /* served over vfio-user (--vfio-user PATH) */
    struct vd_vfu *vfu; /* its state (vfio_user_srv.c) */
    int admin_vq;       /* admin-vq=on: VIRTIO_F_ADMIN_VQ and its queue */

    /* its thread (main.c) */
    pthread_t thread;
    int epfd;                /* its epoll set */
    int wake_fd;             /* eventfd: quit, or drop_why set */
    int tfd;                 /* timerfd: the type's deadline */
    struct vd_tag *wake_tag; /* ... its epoll data */
    const char *drop_why;    /* __atomic: vd_request_disconnect() */
    uint64_t fwd_kicks;      /* __atomic: vd_forward_kick(), bit q */
    uint8_t *msgbuf;         /* VD_MSGBUF_BYTES: a message received */
    uint8_t *replybuf;       /* VD_REPLYBUF_BYTES: its reply */
    uint16_t drain_q;        /* the ring(s) the last drain asked about */

    /* dirty logging for live migration (dirty_watch.c) */
    int dirty_on; /* device thread: the log was on after the last message */
    uint64_t dirty_reqs;  /* __atomic: requests taken while it was on */
    uint64_t dirty_reads; /* __atomic: ... of them reads (device writes data) */
    uint64_t dirty_bytes; /* __atomic: ... their bytes into guest memory */
};

/** epoll data: what an fd is. */
struct vd_tag {
    int kind; /* VD_TAG_* */
    struct vdev *d;
    uint16_t q;
    /** VD_TAG_FD: called when the fd is readable, front-end or not. */
    void (*fn)(struct vdev *d, void *arg);
    void *arg; /**< ... its argument */
};

#define VD_TAG_LISTEN 1
#define VD_TAG_CONN   2
#define VD_TAG_KICK   3
#define VD_TAG_SIGNAL 4
#define VD_TAG_TIMER  5
#define VD_TAG_AUX    6
#define VD_TAG_FD     7
#define VD_TAG_WAKE   8

/** Watch a device type's own fd (a backend socket): @p tag (kind, d, fn,
 *  arg set by the caller, kept in place) is handed to epoll. */
void vd_watch_fd(int fd, struct vd_tag *tag);
/** Stop watching @p fd (before closing it). */
void vd_unwatch_fd(int fd);
/** Add @p fd to the calling device thread's epoll set with @p tag as it
 *  is (main.c; hooks.c's kick and aux watches). */
void vd_epoll_add(int fd, struct vd_tag *tag);
/** Remove @p fd from the calling device thread's epoll set. */
void vd_epoll_del(int fd);

/** The type's pause hook, if any (see struct vd_type). */
void vd_pause(struct vdev *d);
/** The type's resume hook, if any. */
void vd_resume(struct vdev *d);
/** Until vd_flush_signals(): the calling thread's used-buffer
 *  notifications (vhost-user call eventfd writes) are collected, one per
 *  eventfd, so a batch of completions costs one write (a queue thread
 *  flushes before it sleeps, never later). */
void vd_defer_signals(void);
/** Write the collected notifications, and stop collecting. The call
 *  eventfds stay open meanwhile: they change only with the device paused,
 *  and a queue thread flushes before it parks. */
void vd_flush_signals(struct vdev *d);
/** From a queue thread: have the device thread pass a kick of ring @p q
 *  (< 64) to the transport (vdm_vhost_user_kick), device paused. */
void vd_forward_kick(struct vdev *d, uint16_t q);
/** From any thread: have the device thread drop the front-end, logging
 *  @p why (a string constant). */
void vd_request_disconnect(struct vdev *d, const char *why);

/** Verbosity: 0 warnings and errors, 1 info, 2 debug (every message). */
extern int vd_verbose;

/** Log to stderr with the daemon and device name. */
void vd_log(const struct vdev *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Value of option @p key (marked used), or NULL. */
const char *vd_opt(struct vd_opts *o, const char *key);
/** Parse on|off|yes|no|1|0|true|false; -1 when neither. */
int vd_bool(const char *v);
/** Parse an unsigned integer (decimal or 0x hex) within [lo, hi]; -1. */
int vd_uint(const char *v, unsigned long long lo, unsigned long long hi,
            unsigned long long *out);

/**
 * Allocate the per-queue arrays and fill d->base for @p nq queues of at most
 * @p qmax entries (mem = the vhost-user memory, host log hook). 0 or -1.
 */
int vd_alloc_queues(struct vdev *d, uint16_t nq, uint16_t qmax);

/** 1 when the device may put used buffers on queue @p q (live, queue
 *  enabled; over vhost-user also started), whatever the transport. */
int vd_queue_ready(const struct vdev *d, uint16_t q);

/** Watch @p fd for readability for the device type's `aux` hook (-1:
 *  stop watching the previous one; it is not closed). */
void vd_watch_aux(struct vdev *d, int fd);

/** Milliseconds on CLOCK_MONOTONIC. */
uint64_t vd_now_ms(void);
/** Nanoseconds on CLOCK_MONOTONIC. */
uint64_t vd_now_ns(void);

extern const struct vd_type vd_type_blk;
extern const struct vd_type vd_type_rng;
extern const struct vd_type vd_type_input;
extern const struct vd_type vd_type_sound;
extern const struct vd_type vd_type_i2c;
extern const struct vd_type vd_type_gpio;
extern const struct vd_type vd_type_gpu;
extern const struct vd_type vd_type_rpmb;
extern const struct vd_type vd_type_can;
extern const struct vd_type vd_type_spi;
extern const struct vd_type vd_type_scmi;
extern const struct vd_type vd_type_console;
extern const struct vd_type vd_type_balloon;

/* Guest memory is a file the front-end owns: if it shrinks under our
 * mapping, touching it raises SIGBUS. While the library runs on behalf of a
 * front-end, such a fault drops that front-end instead of the process. */
extern __thread sigjmp_buf *vd_fault_jmp;

/** Drop the front-end of @p d (@p why: a warning; NULL: orderly). */
void vd_disconnect(struct vdev *d, const char *why);

/* dirty_watch.c: dirty logging (vhost-user "Migration") as the log sees it.
 * vd_dirty_watch() after every front-end message: an info line when the
 * memory map's dirty log (vdm_mem::log) comes on or goes off, with what
 * the device did while it was on; vd_dirty_end() when the front-end goes.
 * vd_dirty_logging() tells a device type (any thread) whether it is on,
 * vd_dirty_count() counts one request (read: @p bytes land in guest
 * memory). */
void vd_dirty_watch(struct vdev *d);
void vd_dirty_end(struct vdev *d);
int vd_dirty_logging(const struct vdev *d);
void vd_dirty_count(struct vdev *d, int read, uint64_t bytes);

/* Run @p stmt with SIGBUS turned into dropping the front-end of @p d. */
#define GUARDED(d, stmt)                                                       \
    do {                                                                       \
        sigjmp_buf jb_;                                                        \
        if (sigsetjmp(jb_, 1) == 0) {                                          \
            vd_fault_jmp = &jb_;                                               \
            stmt;                                                              \
            vd_fault_jmp = NULL;                                               \
        } else {                                                               \
            vd_fault_jmp = NULL;                                               \
            vd_disconnect(d, "guest memory fault (SIGBUS: memory file "        \
                             "shrank?)");                                      \
        }                                                                      \
    } while (0)

/**
 * Receive exactly @p len bytes from d->conn_fd, collecting passed fds
 * (made non-blocking; at most @p maxfds kept, more set @p fd_overflow).
 * 0, 1 on orderly EOF before any byte, -1 on error.
 */
int vd_recv_full(struct vdev *d, uint8_t *buf, size_t len, int32_t *fds,
                 uint32_t *nfds, uint32_t maxfds, int *fd_overflow);

/* vfio-user (vfio_user_srv.c): a device served with --vfio-user PATH
 * (d->vfio set) goes through vdm's PCI transport instead of vhost-user. */
/** Set up the server; fills d->base.mem with its memory map. 0 or -1. */
int vd_vfu_init(struct vdev *d);
/** Attach d->dev to the PCI function served. 0 or -1. */
int vd_vfu_attach(struct vdev *d);
/** d->conn_fd is readable: one vfio-user message. */
void vd_vfu_message(struct vdev *d);
/** The client went away: unmap, close eventfds, reset the function. */
void vd_vfu_reset(struct vdev *d);
/** After device work: serve client commands queued while a DMA request
 *  waited, and drop a client whose DMA request failed. */
void vd_vfu_after(struct vdev *d);

/* The command line (args.c) and the device table (main.c). */
/**
 * Parse vdm-vhost-user's arguments, or vdm-vhost-user-TYPE's (the type
 * from argv[0]), making the devices; --print-capabilities, --help print.
 * -1 to go on serving, else the exit status.
 */
int vd_parse_args(int argc, char **argv);
/** "TYPE,key=value,..." -> @p o (@p spec is modified in place). 0 or -1. */
int vd_parse_device(char *spec, struct vd_opts *o);
/**
 * Make the device of @p spec ("TYPE,key=value,...", modified in place) on
 * @p socket_path (vfio-user when @p vfio) or handed-over socket
 * @p handed_fd (when @p socket_path is NULL), and add it to the table.
 * 0; -1 when it fails (reported); -2 when the table is full (not reported).
 */
int vd_add_device(const char *socket_path, int handed_fd, int vfio, char *spec);

#endif
