/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the GPIO device.
 *
 * Simulated lines (state=PATH): the state file lists the lines, one per
 * text line, "NAME DIR VALUE" (NAME "-" for none; DIR in, out or none;
 * VALUE 0 or 1). The daemon rewrites it (atomically) whenever the driver
 * changes a direction or an output value or an input changes, so a test
 * reads back what the guest did. events=PATH replays a script once per
 * front-end:
 *   sleep MS              wait MS milliseconds
 *   set LINE VALUE        the input LINE now reads VALUE (an edge if it
 *                         changed the level; reported to the device)
 *   wait-irq LINE         until the driver has enabled LINE's interrupt
 *                         (SET_IRQ_TYPE; an edge before the unmask is
 *                         latched by the device)
 *   wait-value LINE VALUE until the driver has driven output LINE to VALUE
 *   wait-armed LINE       until the driver has unmasked LINE's interrupt
 *                         (its event buffer is at the device): the edge
 *                         after it is an event of its own, not merged into
 *                         a latch, and a driver that reads the line to type
 *                         the previous event (Linux, EDGE_BOTH) has read it
 *
 * Passthrough (chip=/dev/gpiochipN): every line of a Linux gpiochip through
 * the GPIO character device v2 uAPI (line requests; edge events for
 * interrupts, read when the daemon polls every 10 ms; level types are
 * served from both edges). Names come from the chip. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "daemon.h"
#include "vdm/devices/gpio.h"

#define GPIO_QSIZE 64
#define POLL_EDGES 10 /* ms between edge reads (passthrough) */

#define ST_SLEEP 0
#define ST_SET   1
#define ST_WIRQ  2
#define ST_WVAL  3
#define ST_WARM  4

struct step {
    int kind;
    uint16_t line;
    uint32_t value;
};

struct gline {
    char *name;
    uint8_t dir, value, irq;
    uint8_t driven; /* output value */
    int fd;         /* passthrough: line request, or -1 */
};

struct gpio {
    struct vdm_gpio gpio;
    struct vdm_gpio_line *table;
    struct gline *l;
    uint16_t n;
    void *storage;
    const char *state; /* simulated: state file */
    int chip;          /* passthrough: chip fd, or -1 */
    struct step *steps;
    size_t nsteps, pos;
    int running;
    uint64_t next;
};

/* ---- state file --------------------------------------------------------- */

static const char *dir_name(unsigned d)
{
    return d == VDM_GPIO_DIRECTION_OUT  ? "out"
           : d == VDM_GPIO_DIRECTION_IN ? "in"
                                        : "none";
}

static void save_state(struct vdev *d, struct gpio *s)
{
    char tmp[4096];
    FILE *f;

    if (s->state == NULL)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->state);
    f = fopen(tmp, "we");
    if (f == NULL) {
        vd_log(d, VDM_LOG_WARN, "state %s: %s", tmp, strerror(errno));
        return;
    }
    for (unsigned i = 0; i < s->n; i++) {
        const struct gline *l = &s->l[i];
        fprintf(f, "%s %s %u\n", l->name[0] ? l->name : "-", dir_name(l->dir),
                l->dir == VDM_GPIO_DIRECTION_OUT ? l->driven : l->value);
    }
    if (fclose(f) != 0 || rename(tmp, s->state) != 0)
        vd_log(d, VDM_LOG_WARN, "state %s: %s", s->state, strerror(errno));
}

static int load_state(struct vdev *d, struct gpio *s, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[256];

    if (f == NULL) {
        vd_log(d, VDM_LOG_ERROR, "state %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[128], dir[16];
        unsigned v;
        struct gline *n;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%127s %15s %u", name, dir, &v) != 3 || v > 1 ||
            s->n == VDM_GPIO_MAX_LINES) {
            vd_log(d, VDM_LOG_ERROR, "%s: bad line: %s", path, line);
            fclose(f);
            return -1;
        }
        n = realloc(s->l, (s->n + 1u) * sizeof(*n));
        if (n == NULL) {
            fclose(f);
            return -1;
        }
        s->l = n;
        n = &s->l[s->n++];
        memset(n, 0, sizeof(*n));
        n->fd = -1;
        n->name = strdup(strcmp(name, "-") == 0 ? "" : name);
        n->dir = strcmp(dir, "out") == 0  ? VDM_GPIO_DIRECTION_OUT
                 : strcmp(dir, "in") == 0 ? VDM_GPIO_DIRECTION_IN
                                          : VDM_GPIO_DIRECTION_NONE;
        n->value = n->driven = (uint8_t)v;
    }
    fclose(f);
    return s->n > 0 ? 0 : -1;
}

static int load_events(struct vdev *d, struct gpio *s, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[256];
    unsigned lineno = 0;

    if (f == NULL) {
        vd_log(d, VDM_LOG_ERROR, "events %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char w[16];
        unsigned a = 0, b = 0;
        int k, n;
        struct step *st;

        lineno++;
        n = sscanf(line, "%15s %u %u", w, &a, &b);
        if (n <= 0 || w[0] == '#')
            continue;
        k = strcmp(w, "sleep") == 0 && n == 2        ? ST_SLEEP
            : strcmp(w, "set") == 0 && n == 3        ? ST_SET
            : strcmp(w, "wait-irq") == 0 && n == 2   ? ST_WIRQ
            : strcmp(w, "wait-value") == 0 && n == 3 ? ST_WVAL
            : strcmp(w, "wait-armed") == 0 && n == 2 ? ST_WARM
                                                     : -1;
        if (k < 0 || (k != ST_SLEEP && a >= s->n) || b > 1) {
            vd_log(d, VDM_LOG_ERROR, "%s:%u: cannot parse this line", path,
                   lineno);
            fclose(f);
            return -1;
        }
        st = realloc(s->steps, (s->nsteps + 1) * sizeof(*st));
        if (st == NULL) {
            fclose(f);
            return -1;
        }
        s->steps = st;
        s->steps[s->nsteps++] =
            (struct step){k, (uint16_t)a, k == ST_SLEEP ? a : b};
    }
    fclose(f);
    return 0;
}

/* ---- passthrough: GPIO character device v2 ------------------------------ */

static uint64_t line_flags(const struct gline *l)
{
    uint64_t f = 0;

    if (l->dir == VDM_GPIO_DIRECTION_OUT)
        return GPIO_V2_LINE_FLAG_OUTPUT;
    if (l->dir == VDM_GPIO_DIRECTION_IN)
        f = GPIO_V2_LINE_FLAG_INPUT;
    if (l->irq != VDM_GPIO_IRQ_TYPE_NONE) {
        f |= GPIO_V2_LINE_FLAG_INPUT;
        if (l->irq &
            (VDM_GPIO_IRQ_TYPE_EDGE_RISING | VDM_GPIO_IRQ_TYPE_LEVEL_HIGH |
             VDM_GPIO_IRQ_TYPE_LEVEL_LOW))
            f |= GPIO_V2_LINE_FLAG_EDGE_RISING;
        if (l->irq &
            (VDM_GPIO_IRQ_TYPE_EDGE_FALLING | VDM_GPIO_IRQ_TYPE_LEVEL_HIGH |
             VDM_GPIO_IRQ_TYPE_LEVEL_LOW))
            f |= GPIO_V2_LINE_FLAG_EDGE_FALLING;
    }
    return f;
}

/* (Re)request line @p i with its current configuration. */
static int pt_request(struct gpio *s, uint16_t i)
{
    struct gline *l = &s->l[i];
    struct gpio_v2_line_config cfg = {0};

    cfg.flags = line_flags(l);
    if (l->fd >= 0 && l->dir != VDM_GPIO_DIRECTION_NONE) {
        if (cfg.flags & GPIO_V2_LINE_FLAG_OUTPUT) {
            cfg.num_attrs = 1;
            cfg.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
            cfg.attrs[0].attr.values = l->driven;
            cfg.attrs[0].mask = 1;
        }
        return ioctl(l->fd, GPIO_V2_LINE_SET_CONFIG_IOCTL, &cfg) < 0 ? -1 : 0;
    }
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    if (l->dir == VDM_GPIO_DIRECTION_NONE && l->irq == VDM_GPIO_IRQ_TYPE_NONE)
        return 0;
    struct gpio_v2_line_request rq = {0};
    rq.offsets[0] = i;
    rq.num_lines = 1;
    snprintf(rq.consumer, sizeof(rq.consumer), "vdm-vhost-user");
    rq.config = cfg;
    if (cfg.flags & GPIO_V2_LINE_FLAG_OUTPUT) {
        rq.config.num_attrs = 1;
        rq.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
        rq.config.attrs[0].attr.values = l->driven;
        rq.config.attrs[0].mask = 1;
    }
    if (ioctl(s->chip, GPIO_V2_GET_LINE_IOCTL, &rq) < 0)
        return -1;
    l->fd = rq.fd;
    (void)fcntl(l->fd, F_SETFL, O_NONBLOCK);
    return 0;
}

static int pt_get(struct gpio *s, uint16_t i)
{
    struct gline *l = &s->l[i];
    struct gpio_v2_line_values v = {.mask = 1};
    int tmp = l->fd < 0;

    if (tmp) {
        /* Not requested: an as-is request just to read it. */
        struct gpio_v2_line_request rq = {0};
        rq.offsets[0] = i;
        rq.num_lines = 1;
        snprintf(rq.consumer, sizeof(rq.consumer), "vdm-vhost-user");
        if (ioctl(s->chip, GPIO_V2_GET_LINE_IOCTL, &rq) < 0)
            return VDM_EIO;
        l->fd = rq.fd;
    }
    int rc = ioctl(l->fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v);
    if (tmp) {
        close(l->fd);
        l->fd = -1;
    }
    return rc < 0 ? VDM_EIO : (int)(v.bits & 1);
}

/* ---- host hooks ---------------------------------------------------------- */

static int g_get(void *host, uint16_t i)
{
    struct vdev *d = host;
    struct gpio *s = d->priv;

    if (s->chip >= 0)
        return pt_get(s, i);
    return s->l[i].dir == VDM_GPIO_DIRECTION_OUT ? s->l[i].driven
                                                 : s->l[i].value;
}

static int g_set(void *host, uint16_t i, uint32_t v)
{
    struct vdev *d = host;
    struct gpio *s = d->priv;
    struct gline *l = &s->l[i];

    l->driven = (uint8_t)v;
    if (s->chip >= 0 && l->fd >= 0) {
        struct gpio_v2_line_values lv = {.bits = v, .mask = 1};
        if (ioctl(l->fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &lv) < 0)
            return VDM_EIO;
    }
    vd_log(d, VDM_LOG_INFO, "gpio: line %u driven %u", i, v);
    save_state(d, s);
    return 0;
}

static int g_dir(void *host, uint16_t i, uint32_t dir, uint32_t v)
{
    struct vdev *d = host;
    struct gpio *s = d->priv;
    struct gline *l = &s->l[i];
    uint8_t old = l->dir;

    l->dir = (uint8_t)dir;
    l->driven = (uint8_t)v;
    if (s->chip >= 0 && pt_request(s, i) < 0) {
        vd_log(d, VDM_LOG_WARN, "gpio: line %u: %s", i, strerror(errno));
        l->dir = old;
        return VDM_EIO;
    }
    vd_log(d, VDM_LOG_INFO, "gpio: line %u %s (%u)", i, dir_name(dir), v);
    save_state(d, s);
    return 0;
}

static int g_irq(void *host, uint16_t i, uint32_t t)
{
    struct vdev *d = host;
    struct gpio *s = d->priv;
    struct gline *l = &s->l[i];
    uint8_t old = l->irq;

    l->irq = (uint8_t)t;
    if (s->chip >= 0 && pt_request(s, i) < 0) {
        l->irq = old;
        return VDM_EIO;
    }
    vd_log(d, VDM_LOG_INFO, "gpio: line %u irq type %u", i, t);
    return 0;
}

static const struct vdm_gpio_ops gpio_ops = {
    .size = sizeof(struct vdm_gpio_ops),
    .get_value = g_get,
    .set_value = g_set,
    .set_direction = g_dir,
    .set_irq_type = g_irq,
};

/* ---- daemon hooks -------------------------------------------------------- */

static int open_chip(struct vdev *d, struct gpio *s, const char *path)
{
    struct gpiochip_info ci;

    s->chip = open(path, O_RDWR | O_CLOEXEC);
    if (s->chip < 0 || ioctl(s->chip, GPIO_GET_CHIPINFO_IOCTL, &ci) < 0) {
        vd_log(d, VDM_LOG_ERROR, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (ci.lines == 0 || ci.lines > VDM_GPIO_MAX_LINES) {
        vd_log(d, VDM_LOG_ERROR, "%s: %u lines", path, ci.lines);
        return -1;
    }
    s->n = (uint16_t)ci.lines;
    s->l = calloc(s->n, sizeof(*s->l));
    if (s->l == NULL)
        return -1;
    for (uint16_t i = 0; i < s->n; i++) {
        struct gpio_v2_line_info li = {.offset = i};
        if (ioctl(s->chip, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0)
            return -1;
        s->l[i].fd = -1;
        s->l[i].name = strdup(li.name);
        /* A line someone else holds keeps its direction; the others
         * start unused. */
        s->l[i].dir =
            !(li.flags & GPIO_V2_LINE_FLAG_USED)    ? VDM_GPIO_DIRECTION_NONE
            : (li.flags & GPIO_V2_LINE_FLAG_OUTPUT) ? VDM_GPIO_DIRECTION_OUT
                                                    : VDM_GPIO_DIRECTION_IN;
        /* names must be unique: drop repeats */
        for (uint16_t j = 0; j < i; j++)
            if (s->l[i].name[0] && strcmp(s->l[j].name, s->l[i].name) == 0)
                s->l[i].name[0] = '\0';
    }
    vd_log(d, VDM_LOG_INFO, "%s: %s, %u lines", path, ci.label, ci.lines);
    return 0;
}

static int gpio_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_gpio_config c = VDM_INIT(struct vdm_gpio_config);
    const char *state = vd_opt(o, "state"), *chip = vd_opt(o, "chip");
    const char *events = vd_opt(o, "events");
    struct gpio *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return -1;
    d->priv = s;
    s->chip = -1;
    if ((state == NULL) == (chip == NULL)) {
        vd_log(d, VDM_LOG_ERROR,
               "gpio: give state=PATH or chip=/dev/gpiochipN");
        return -1;
    }
    if (state != NULL && load_state(d, s, state) < 0)
        return -1;
    if (chip != NULL && open_chip(d, s, chip) < 0)
        return -1;
    s->state = state;
    if (events != NULL && load_events(d, s, events) < 0)
        return -1;
    s->table = calloc(s->n, sizeof(*s->table));
    s->storage = aligned_alloc(8, (VDM_GPIO_STORAGE_BYTES(s->n) + 7) & ~7ul);
    if (s->table == NULL || s->storage == NULL)
        return -1;
    for (uint16_t i = 0; i < s->n; i++) {
        s->table[i].name = s->l[i].name;
        s->table[i].direction = s->l[i].dir;
        s->table[i].value = s->l[i].driven;
        s->table[i].flags =
            VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ;
    }
    if (vd_alloc_queues(d, VDM_GPIO_NUM_QUEUES, GPIO_QSIZE) < 0)
        return -1;
    c.ngpio = s->n;
    c.irq = 1;
    c.lines = s->table;
    c.ops = &gpio_ops;
    c.host = d;
    c.storage = s->storage;
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(s->n);
    rc = vdm_gpio_init(&s->gpio, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "gpio init: %s", vdm_strerror(rc));
        return -1;
    }
    save_state(d, s);
    return 0;
}

static void gpio_connected(struct vdev *d)
{
    struct gpio *s = d->priv;
    s->pos = 0;
    s->running = s->nsteps > 0;
    s->next = vd_now_ms();
}

static void gpio_disconnected(struct vdev *d)
{
    ((struct gpio *)d->priv)->running = 0;
}

/* Passthrough: edges the kernel saw since the last poll. */
static int read_edges(struct vdev *d, struct gpio *s)
{
    int any = 0;

    for (uint16_t i = 0; i < s->n; i++) {
        struct gline *l = &s->l[i];
        struct gpio_v2_line_event ev;

        if (l->fd < 0 || l->irq == VDM_GPIO_IRQ_TYPE_NONE)
            continue;
        any = 1;
        while (read(l->fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev)) {
            uint32_t v = ev.id == GPIO_V2_LINE_EVENT_RISING_EDGE;
            l->value = (uint8_t)v;
            (void)vdm_gpio_line_event(&s->gpio, i, v);
        }
    }
    (void)d;
    return any;
}

static int gpio_poll(struct vdev *d)
{
    struct gpio *s = d->priv;
    uint64_t now = vd_now_ms();

    if (s->chip >= 0)
        return read_edges(d, s) ? POLL_EDGES : -1;
    while (s->running && s->pos < s->nsteps && now >= s->next) {
        const struct step *st = &s->steps[s->pos];
        struct gline *l = &s->l[st->line];

        if (st->kind == ST_WIRQ) {
            if (l->irq == VDM_GPIO_IRQ_TYPE_NONE)
                return 20; /* the request and its buffer come by kicks */
        } else if (st->kind == ST_WARM) {
            if (vdm_gpio_irq_unmasked(&s->gpio, st->line) != 1)
                return 10; /* the buffer comes by a kick */
        } else if (st->kind == ST_WVAL) {
            if (l->dir != VDM_GPIO_DIRECTION_OUT || l->driven != st->value)
                return 20;
        } else if (st->kind == ST_SLEEP) {
            s->next = now + st->value;
        } else {
            l->value = (uint8_t)st->value;
            save_state(d, s);
            /* An edge while the driver has the interrupt masked is latched:
             * worth a note, as edges then merge (see wait-armed). */
            if (l->irq != VDM_GPIO_IRQ_TYPE_NONE &&
                vdm_gpio_irq_unmasked(&s->gpio, st->line) == 0)
                vd_log(d, VDM_LOG_INFO, "gpio: line %u edge to %u while masked",
                       st->line, st->value);
            (void)vdm_gpio_line_event(&s->gpio, st->line, st->value);
        }
        s->pos++;
    }
    if (!s->running || s->pos == s->nsteps) {
        s->running = 0;
        return -1;
    }
    return (int)(s->next > now ? s->next - now : 0);
}

const struct vd_type vd_type_gpio = {
    .name = "gpio",
    .create = gpio_create,
    .connected = gpio_connected,
    .disconnected = gpio_disconnected,
    .poll = gpio_poll,
};
