/* SPDX-License-Identifier: BSD-3-Clause */
/* vdm-vhost-user: the input device (keyboard, mouse or touch screen), with
 * an optional events file replayed once per front-end when the driver is
 * ready (its eventq runs); or a host evdev passed through (evdev=PATH,
 * dev_input_evdev.c).
 *
 * Events file, one item per line ('#' starts a comment):
 *   TYPE CODE VALUE   one event; names (EV_KEY, KEY_A, BTN_LEFT, REL_X,
 *                     ABS_MT_SLOT, SYN_REPORT, ...) or numbers (decimal,
 *                     0x hex; VALUE may be negative)
 *   key CODE          press and release: CODE 1, SYN, CODE 0, SYN
 *   syn               EV_SYN SYN_REPORT 0
 *   sleep MS          wait MS milliseconds before the next line
 *   wait-status [TYPE CODE VALUE]
 *                     wait until the driver has sent a status event (that
 *                     one, if given) since the start or the last
 *                     wait-status: e.g. the guest writes EV_LED LED_SCROLLL
 *                     1 to its keyboard's event device once its reader has
 *                     the device open (the kernel itself sets LEDs when the
 *                     keyboard appears, hence the value match)
 * Without wait-status, give the guest time to open its event device with a
 * leading sleep. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dev_input.h"

#define INPUT_QSIZE 64
#define INPUT_RING  256 /* events held for the driver */

#define ST_EVENT      0
#define ST_SLEEP      1 /* sleep value ms */
#define ST_WAIT       2 /* wait for any status event */
#define ST_WAIT_MATCH 3 /* wait for status event type/code/value */

struct step {
    int sleep; /* ST_* */
    uint16_t type, code;
    uint32_t value;
};

struct input {
    struct vdm_input in;
    struct vdm_input_event ring[INPUT_RING];
    struct step *steps;
    size_t nsteps;
    size_t pos;    /* next step */
    int state;     /* IS_* */
    uint64_t next; /* time of the next step (ms) */
    /* Status events from the driver since the last satisfied wait. */
    struct vdm_input_event seen[16];
    unsigned nseen;
    struct vd_evdev *evdev; /* evdev=PATH, or NULL */
};

#define IS_IDLE    0 /* no script, or done */
#define IS_WAITING 1 /* connected, the driver is not ready yet */
#define IS_RUNNING 2

struct name {
    const char *name;
    unsigned value;
};

#define N(x)                                                                   \
    {                                                                          \
#x, VDM_INPUT_##x                                                      \
    }
static const struct name types[] = {
    N(EV_SYN), N(EV_KEY), N(EV_REL), N(EV_ABS), N(EV_MSC),
    N(EV_SW),  N(EV_LED), N(EV_SND), N(EV_REP), N(EV_FF),
};
static const struct name codes[] = {
    N(SYN_REPORT),
    N(SYN_CONFIG),
    N(SYN_MT_REPORT),
    N(SYN_DROPPED),
    N(REL_X),
    N(REL_Y),
    N(REL_Z),
    N(REL_HWHEEL),
    N(REL_WHEEL),
    N(ABS_X),
    N(ABS_Y),
    N(ABS_Z),
    N(ABS_PRESSURE),
    N(ABS_MT_SLOT),
    N(ABS_MT_TOUCH_MAJOR),
    N(ABS_MT_POSITION_X),
    N(ABS_MT_POSITION_Y),
    N(ABS_MT_TRACKING_ID),
    N(ABS_MT_PRESSURE),
    N(LED_NUML),
    N(LED_CAPSL),
    N(LED_SCROLLL),
    N(LED_COMPOSE),
    N(LED_KANA),
    N(REP_DELAY),
    N(REP_PERIOD),
    N(BTN_LEFT),
    N(BTN_RIGHT),
    N(BTN_MIDDLE),
    N(BTN_SIDE),
    N(BTN_EXTRA),
    N(BTN_TOUCH),
    N(KEY_RESERVED),
    N(KEY_ESC),
    N(KEY_1),
    N(KEY_2),
    N(KEY_3),
    N(KEY_4),
    N(KEY_5),
    N(KEY_6),
    N(KEY_7),
    N(KEY_8),
    N(KEY_9),
    N(KEY_0),
    N(KEY_MINUS),
    N(KEY_EQUAL),
    N(KEY_BACKSPACE),
    N(KEY_TAB),
    N(KEY_Q),
    N(KEY_W),
    N(KEY_E),
    N(KEY_R),
    N(KEY_T),
    N(KEY_Y),
    N(KEY_U),
    N(KEY_I),
    N(KEY_O),
    N(KEY_P),
    N(KEY_LEFTBRACE),
    N(KEY_RIGHTBRACE),
    N(KEY_ENTER),
    N(KEY_LEFTCTRL),
    N(KEY_A),
    N(KEY_S),
    N(KEY_D),
    N(KEY_F),
    N(KEY_G),
    N(KEY_H),
    N(KEY_J),
    N(KEY_K),
    N(KEY_L),
    N(KEY_SEMICOLON),
    N(KEY_APOSTROPHE),
    N(KEY_GRAVE),
    N(KEY_LEFTSHIFT),
    N(KEY_BACKSLASH),
    N(KEY_Z),
    N(KEY_X),
    N(KEY_C),
    N(KEY_V),
    N(KEY_B),
    N(KEY_N),
    N(KEY_M),
    N(KEY_COMMA),
    N(KEY_DOT),
    N(KEY_SLASH),
    N(KEY_RIGHTSHIFT),
    N(KEY_KPASTERISK),
    N(KEY_LEFTALT),
    N(KEY_SPACE),
    N(KEY_CAPSLOCK),
    N(KEY_F1),
    N(KEY_F2),
    N(KEY_F3),
    N(KEY_F4),
    N(KEY_F5),
    N(KEY_F6),
    N(KEY_F7),
    N(KEY_F8),
    N(KEY_F9),
    N(KEY_F10),
    N(KEY_NUMLOCK),
    N(KEY_SCROLLLOCK),
    N(KEY_KP7),
    N(KEY_KP8),
    N(KEY_KP9),
    N(KEY_KPMINUS),
    N(KEY_KP4),
    N(KEY_KP5),
    N(KEY_KP6),
    N(KEY_KPPLUS),
    N(KEY_KP1),
    N(KEY_KP2),
    N(KEY_KP3),
    N(KEY_KP0),
    N(KEY_KPDOT),
    N(KEY_102ND),
    N(KEY_F11),
    N(KEY_F12),
    N(KEY_KPENTER),
    N(KEY_RIGHTCTRL),
    N(KEY_KPSLASH),
    N(KEY_SYSRQ),
    N(KEY_RIGHTALT),
    N(KEY_HOME),
    N(KEY_UP),
    N(KEY_PAGEUP),
    N(KEY_LEFT),
    N(KEY_RIGHT),
    N(KEY_END),
    N(KEY_DOWN),
    N(KEY_PAGEDOWN),
    N(KEY_INSERT),
    N(KEY_DELETE),
    N(KEY_PAUSE),
    N(KEY_LEFTMETA),
    N(KEY_RIGHTMETA),
    N(KEY_COMPOSE),
};
#undef N

static int lookup(const struct name *t, size_t n, const char *s, long long lo,
                  long long hi, long long *out)
{
    char *end;
    long long v;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t[i].name, s) == 0) {
            *out = t[i].value;
            return 0;
        }
    errno = 0;
    v = strtoll(s, &end, 0);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int add_step(struct input *s, int sleep, unsigned type, unsigned code,
                    uint32_t value)
{
    struct step *n = realloc(s->steps, (s->nsteps + 1) * sizeof(*n));
    if (n == NULL)
        return -1;
    s->steps = n;
    n[s->nsteps].sleep = sleep;
    n[s->nsteps].type = (uint16_t)type;
    n[s->nsteps].code = (uint16_t)code;
    n[s->nsteps].value = value;
    s->nsteps++;
    return 0;
}

#define NCODES (sizeof(codes) / sizeof(codes[0]))
#define NTYPES (sizeof(types) / sizeof(types[0]))

static int load_events(struct vdev *d, struct input *s, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[256];
    unsigned lineno = 0;

    if (f == NULL) {
        vd_log(d, VDM_LOG_ERROR, "events file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *w[4], *save = NULL, *hash = strchr(line, '#');
        long long t, c, v;
        int n = 0, bad = 0;

        lineno++;
        if (hash != NULL)
            *hash = '\0';
        for (char *tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            if (n < 4)
                w[n] = tok;
            n++;
        }
        if (n == 0)
            continue;
        if (n == 1 && strcasecmp(w[0], "syn") == 0) {
            bad = add_step(s, ST_EVENT, VDM_INPUT_EV_SYN, VDM_INPUT_SYN_REPORT,
                           0);
        } else if (n == 2 && strcasecmp(w[0], "sleep") == 0) {
            bad = lookup(NULL, 0, w[1], 0, 3600000, &v) < 0 ||
                  add_step(s, ST_SLEEP, 0, 0, (uint32_t)v) < 0;
        } else if (n == 1 && strcasecmp(w[0], "wait-status") == 0) {
            bad = add_step(s, ST_WAIT, 0, 0, 0);
        } else if (n == 4 && strcasecmp(w[0], "wait-status") == 0) {
            bad = lookup(types, NTYPES, w[1], 0, 0xffff, &t) < 0 ||
                  lookup(codes, NCODES, w[2], 0, 0xffff, &c) < 0 ||
                  lookup(NULL, 0, w[3], INT32_MIN, UINT32_MAX, &v) < 0 ||
                  add_step(s, ST_WAIT_MATCH, (unsigned)t, (unsigned)c,
                           (uint32_t)v) < 0;
        } else if (n == 2 && strcasecmp(w[0], "key") == 0) {
            bad = lookup(codes, NCODES, w[1], 0, 0xffff, &c) < 0 ||
                  add_step(s, ST_EVENT, VDM_INPUT_EV_KEY, (unsigned)c, 1) < 0 ||
                  add_step(s, ST_EVENT, VDM_INPUT_EV_SYN, 0, 0) < 0 ||
                  add_step(s, ST_EVENT, VDM_INPUT_EV_KEY, (unsigned)c, 0) < 0 ||
                  add_step(s, ST_EVENT, VDM_INPUT_EV_SYN, 0, 0) < 0;
        } else if (n == 3) {
            bad = lookup(types, NTYPES, w[0], 0, 0xffff, &t) < 0 ||
                  lookup(codes, NCODES, w[1], 0, 0xffff, &c) < 0 ||
                  lookup(NULL, 0, w[2], INT32_MIN, UINT32_MAX, &v) < 0 ||
                  add_step(s, ST_EVENT, (unsigned)t, (unsigned)c, (uint32_t)v) <
                      0;
        } else {
            bad = 1;
        }
        if (bad) {
            vd_log(d, VDM_LOG_ERROR, "%s:%u: cannot parse this line", path,
                   lineno);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    vd_log(d, VDM_LOG_INFO, "%s: %zu steps", path, s->nsteps);
    return 0;
}

static void input_status(void *host, uint16_t type, uint16_t code,
                         uint32_t value)
{
    struct vdev *d = host;
    struct input *s = d->priv;
    struct vdm_input_event *e = &s->seen[s->nseen % 16];
    if (s->evdev != NULL) {
        vd_evdev_status(d, s->evdev, type, code, value);
        if (vd_verbose >= 2)
            vd_log(d, VDM_LOG_DEBUG, "status event type %u code %u value %u",
                   type, code, value);
        return;
    }
    e->type = type;
    e->code = code;
    e->value = value;
    s->nseen++;
    vd_log(host, VDM_LOG_INFO, "driver status event type %u code %u value %u",
           type, code, value);
}

static const struct vdm_input_ops input_ops = {
    .size = sizeof(struct vdm_input_ops),
    .status = input_status,
};

static int input_create(struct vdev *d, struct vd_opts *o)
{
    struct vdm_input_config c = VDM_INIT(struct vdm_input_config);
    const char *profile = vd_opt(o, "profile"), *events = vd_opt(o, "events");
    const char *evdev = vd_opt(o, "evdev"), *grab = vd_opt(o, "grab");
    struct input *s = calloc(1, sizeof(*s));
    int rc, g = 1;

    if (s == NULL)
        return -1;
    d->priv = s; /* reachable on every error path */
    if (evdev != NULL && (profile != NULL || events != NULL)) {
        vd_log(d, VDM_LOG_ERROR, "evdev= excludes profile= and events=");
        return -1;
    }
    if (grab != NULL && (evdev == NULL || (g = vd_bool(grab)) < 0)) {
        vd_log(d, VDM_LOG_ERROR, "grab=%s: on or off, with evdev=PATH", grab);
        return -1;
    }
    if (evdev != NULL) {
        if (vd_evdev_open(d, evdev, g, &c, &s->evdev) < 0)
            return -1; /* logged */
        rc = 0;
    } else if (profile == NULL || strcmp(profile, "keyboard") == 0)
        rc = vdm_input_profile_keyboard(&c);
    else if (strcmp(profile, "mouse") == 0)
        rc = vdm_input_profile_mouse(&c);
    else if (strcmp(profile, "touch") == 0)
        rc = vdm_input_profile_touch(&c);
    else {
        vd_log(d, VDM_LOG_ERROR, "profile=%s: keyboard, mouse or touch",
               profile);
        return -1;
    }
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "input profile: %s", vdm_strerror(rc));
        return -1;
    }
    if (events != NULL && load_events(d, s, events) < 0)
        return -1;
    d->priv = s;
    if (vd_alloc_queues(d, VDM_INPUT_NUM_QUEUES, INPUT_QSIZE) < 0)
        return -1;
    c.queue = s->ring;
    c.queue_len = INPUT_RING;
    c.ops = &input_ops;
    c.host = d;
    rc = vdm_input_init(&s->in, &d->dev, &c, &d->base);
    if (rc < 0) {
        vd_log(d, VDM_LOG_ERROR, "input init: %s", vdm_strerror(rc));
        return -1;
    }
    if (s->evdev != NULL)
        vd_watch_aux(d, vd_evdev_fd(s->evdev));
    return 0;
}

/* evdev=: the host device has events. */
static void input_aux(struct vdev *d)
{
    struct input *s = d->priv;
    if (s->evdev != NULL)
        vd_evdev_read(d, s->evdev, &s->in);
}

static void input_connected(struct vdev *d)
{
    struct input *s = d->priv;
    s->pos = 0;
    s->nseen = 0;
    s->state = s->nsteps > 0 ? IS_WAITING : IS_IDLE;
}

static void input_disconnected(struct vdev *d)
{
    ((struct input *)d->priv)->state = IS_IDLE;
}

static int input_poll(struct vdev *d)
{
    struct input *s = d->priv;
    uint64_t now;

    if (s->state == IS_WAITING) {
        if (!vd_queue_ready(d, VDM_INPUT_QUEUE_EVENT))
            return -1;
        vd_log(d, VDM_LOG_INFO, "driver ready: replaying events");
        s->state = IS_RUNNING;
        s->next = vd_now_ms();
    }
    if (s->state != IS_RUNNING)
        return -1;
    now = vd_now_ms();
    while (s->pos < s->nsteps && now >= s->next) {
        const struct step *st = &s->steps[s->pos];
        if (st->sleep == ST_WAIT || st->sleep == ST_WAIT_MATCH) {
            unsigned i, n = s->nseen < 16 ? s->nseen : 16, hit = 0;
            for (i = 0; i < n && !hit; i++)
                hit = st->sleep == ST_WAIT || (s->seen[i].type == st->type &&
                                               s->seen[i].code == st->code &&
                                               s->seen[i].value == st->value);
            if (!hit)
                return -1; /* the status hook runs inside a kick */
            /* Consume the matching event and those before it; keep later
             * ones for a following wait-status (i is one past the hit). */
            memmove(s->seen, s->seen + i, (n - i) * sizeof(s->seen[0]));
            s->nseen = n - i;
            s->pos++;
            vd_log(d, VDM_LOG_INFO, "status event seen: replay goes on");
            continue;
        }
        s->pos++;
        if (st->sleep == ST_SLEEP) {
            s->next = now + st->value;
            continue;
        }
        if (vdm_input_send(&s->in, st->type, st->code, st->value) < 0)
            vd_log(d, VDM_LOG_WARN, "event dropped (the driver reads none)");
    }
    if (s->pos == s->nsteps) {
        vd_log(d, VDM_LOG_INFO, "events file done");
        s->state = IS_IDLE;
        return -1;
    }
    return (int)(s->next - now);
}

const struct vd_type vd_type_input = {
    .name = "input",
    .create = input_create,
    .connected = input_connected,
    .disconnected = input_disconnected,
    .poll = input_poll,
    .aux = input_aux,
};
