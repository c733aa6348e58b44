/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpio device type.
 *
 * Spec: "GPIO Device" -- "Device configuration layout", "Device Operation:
 * requestq" (each message), "Device Operation: eventq" and the device
 * requirements of both.
 *
 * Both queues are served through the device kit (vdm/kit.h). Requests are
 * answered at once. An eventq buffer pair is kept in its slot
 * (VDM_KIT_PENDING) while its line's interrupt is unmasked and ended with
 * vdm_kit_finish() when the interrupt fires or is disabled. Per-line state
 * and the kit's slots live in the caller's storage. */
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdm/devices/gpio.h"

#include "abi_internal.h"
#include "gpio_priv.h"
#include "le.h"
#include "vdm/kit.h"

VDM_OPAQUE_ACCESSORS(gpio_of, cgpio_of, vdm_gpio, gpio_state, GPIO_MAGIC)

static void warn(struct gpio_state *s, uint32_t bit, const char *msg)
{
    vdm_kit_warn_once(s->dev, &s->warned, bit, VDM_LOG_WARN, msg);
}

static uint32_t name_len(const char *n)
{
    uint32_t i = 0;

    if (n == NULL) {
        return 0;
    }
    while ((i <= GPIO_NAME_MAX) && (n[i] != '\0')) {
        i++;
    }
    return i;
}

/* ------------------------------------------------------------------------ */
/* Interrupts (spec "eventq Operation") */

/* Return line @p l's event buffer with @p st; masks its interrupt. */
static int give_back(struct gpio_state *s, struct line *l, uint8_t st)
{
    struct vdm_kit_req *kr = l->ev;
    uint32_t written = 0;

    if (kr == NULL) {
        return 0;
    }
    l->ev = NULL;
    if (vdm_kit_req_live(kr) != 0) {
        written = (uint32_t)vdm_chain_copy_to(&kr->chain, 0, &st, 1);
    }
    (void)vdm_kit_finish(&s->kit, kr, written);
    return (st == IRQ_VALID) ? 1 : 0;
}

static bool level_active(struct gpio_state *s, struct line *l, uint16_t n)
{
    int v;

    if (l->level_known != 0u) {
        v = (int)l->level;
    } else {
        v = s->ops->get_value(s->host, n);
        if (v < 0) {
            return false;
        }
    }
    return (l->irq == IRQ_HIGH) ? (v == 1) : (v == 0);
}

/* Unmasked and enabled: deliver what is due (a latched edge, an active
 * level). */
static void check_due(struct gpio_state *s, struct line *l, uint16_t n)
{
    if ((l->ev == NULL) || (l->irq == IRQ_NONE)) {
        return;
    }
    if ((l->irq & IRQ_EDGE_BOTH) != 0u) {
        if (l->latched != 0u) {
            l->latched = 0;
            (void)give_back(s, l, IRQ_VALID);
        }
    } else if (level_active(s, l, n)) {
        (void)give_back(s, l, IRQ_VALID);
    } else {
        /* level not active: the buffer waits */
    }
}

/* "The device MUST discard any latched interrupt ... once interrupt is
 * disabled" and return the buffers INVALID. */
static void irq_disable(struct gpio_state *s, struct line *l)
{
    l->irq = IRQ_NONE;
    l->latched = 0;
    (void)give_back(s, l, IRQ_INVALID);
}

/* ------------------------------------------------------------------------ */
/* requestq (spec "Device Operation: requestq") */

static bool is_irq_type(uint32_t t)
{
    return (t == IRQ_NONE) || (t == IRQ_RISING) || (t == IRQ_FALLING) ||
           (t == IRQ_EDGE_BOTH) || (t == IRQ_HIGH) || (t == IRQ_LOW);
}

static bool host_failed(struct gpio_state *s, int rc)
{
    if (rc < 0) {
        warn(s, W_HOST, "gpio: host line operation failed");
    }
    return rc < 0;
}

static int set_direction(struct gpio_state *s, uint16_t n, uint32_t dir)
{
    struct line *l = &s->lines[n];
    uint16_t fl = s->table[n].flags;
    int rc = 0;

    if ((dir > DIR_IN) ||
        ((dir == DIR_OUT) && ((fl & VDM_GPIO_LINE_OUT) == 0u)) ||
        ((dir == DIR_IN) && ((fl & VDM_GPIO_LINE_IN) == 0u))) {
        warn(s, W_ARG, "gpio: direction the line does not allow");
        return -1;
    }
    /* Only inputs interrupt: leaving input disables the interrupt; NONE
     * "MUST discard all state information" of the line. */
    if ((dir != DIR_IN) && (l->irq != IRQ_NONE)) {
        if (HOOK(s, set_irq_type)) {
            (void)s->ops->set_irq_type(s->host, n, IRQ_NONE);
        }
        irq_disable(s, l);
    }
    if (dir == DIR_NONE) {
        l->out = 0;
        l->level_known = 0;
    }
    if (HOOK(s, set_direction)) {
        rc = s->ops->set_direction(s->host, n, dir, l->out);
    } else if (dir == DIR_OUT) {
        rc = s->ops->set_value(s->host, n, l->out);
    } else {
        /* no direction hook: nothing to drive */
    }
    if (host_failed(s, rc)) {
        return -1;
    }
    l->dir = (uint8_t)dir;
    return 0;
}

static int set_value(struct gpio_state *s, uint16_t n, uint32_t v)
{
    struct line *l = &s->lines[n];

    if ((v > 1u) || ((s->table[n].flags & VDM_GPIO_LINE_OUT) == 0u)) {
        warn(s, W_ARG, "gpio: value not 0/1 or line not an output");
        return -1;
    }
    /* "The line may already be configured for output or may get configured
     * to output later, at which point this output value must be used." */
    if ((l->dir == DIR_OUT) &&
        host_failed(s, s->ops->set_value(s->host, n, v))) {
        return -1;
    }
    l->out = (uint8_t)v;
    return 0;
}

static int set_irq_type(struct gpio_state *s, uint16_t n, uint32_t t)
{
    struct line *l = &s->lines[n];
    int rc = 0;

    if (((vdm_dev_features(s->dev) & VDM_GPIO_F_IRQ) == 0u) ||
        !is_irq_type(t) || ((s->table[n].flags & VDM_GPIO_LINE_IRQ) == 0u) ||
        ((t != IRQ_NONE) && (l->dir == DIR_OUT))) {
        warn(s, W_ARG, "gpio: SET_IRQ_TYPE not allowed here");
        return -1;
    }
    if (HOOK(s, set_irq_type)) {
        rc = s->ops->set_irq_type(s->host, n, t);
    }
    if (host_failed(s, rc)) {
        return -1;
    }
    if (t == IRQ_NONE) {
        irq_disable(s, l);
        return 0;
    }
    /* A change of type starts afresh ("first disable ... then re-enable"
     * is what drivers do; a direct change is taken as both). */
    if (l->irq != t) {
        l->latched = 0;
    }
    l->irq = (uint8_t)t;
    check_due(s, l, n);
    return 0;
}

/* GET_LINE_NAMES: "a stream of zero-terminated strings ... in increasing
 * order of the GPIO line numbers"; a zero byte for a line without one. */
static void put_names(struct gpio_state *s, struct vdm_chain *c)
{
    uint32_t off = 1;
    uint32_t i;

    for (i = 0; i < s->ngpio; i++) {
        const char *nm = s->table[i].name;
        uint32_t len = name_len(nm);
        uint8_t z = 0;

        if (len != 0u) {
            (void)vdm_chain_copy_to(c, off, nm, len);
        }
        (void)vdm_chain_copy_to(c, (size_t)off + len, &z, 1);
        off += len + 1u;
    }
}

static int gpio_serve_request(void *ctx, struct vdm_kit_req *kr,
                              uint32_t *written)
{
    struct gpio_state *s = ctx;
    struct vdm_chain *c = &kr->chain;
    uint8_t req[VDM_GPIO_REQUEST_BYTES];
    uint8_t resp[VDM_GPIO_RESPONSE_BYTES] = {VDM_GPIO_STATUS_ERR, 0};
    uint32_t type = 0;
    uint32_t value = 0;
    uint32_t want = VDM_GPIO_RESPONSE_BYTES;
    uint16_t n = 0;
    bool ok = false;
    int rc;

    if ((c->read_len == (uint32_t)VDM_GPIO_REQUEST_BYTES) &&
        (vdm_chain_copy_from(c, 0, req, sizeof(req)) == sizeof(req))) {
        type = vdm_le16(req);
        n = vdm_le16(req + 2);
        value = vdm_le32(req + 4);
        if ((type == (uint32_t)VDM_GPIO_MSG_GET_LINE_NAMES) &&
            (s->names_size != 0u)) {
            want = 1u + s->names_size;
        }
    }
    /* "the response length must match": the driver checks it exactly. */
    if ((c->read_len != (uint32_t)VDM_GPIO_REQUEST_BYTES) ||
        (c->write_len != want)) {
        warn(s, W_SHAPE, "gpio: request or response of the wrong size");
        *written = (uint32_t)vdm_chain_copy_to(
            c, 0, resp, (c->write_len < 2u) ? c->write_len : 2u);
        return VDM_KIT_DONE;
    }
    if ((type != (uint32_t)VDM_GPIO_MSG_GET_LINE_NAMES) && (n >= s->ngpio)) {
        warn(s, W_LINE, "gpio: line number out of range");
        type = 0; /* answered ERR below */
    }
    switch (type) {
    case VDM_GPIO_MSG_GET_LINE_NAMES:
        if (s->names_size != 0u) {
            put_names(s, c);
            ok = true;
        }
        break;
    case VDM_GPIO_MSG_GET_DIRECTION:
        resp[1] = s->lines[n].dir;
        ok = true;
        break;
    case VDM_GPIO_MSG_SET_DIRECTION:
        ok = set_direction(s, n, value) == 0;
        break;
    case VDM_GPIO_MSG_GET_VALUE:
        rc = s->ops->get_value(s->host, n);
        if (!host_failed(s, rc) && (rc <= 1)) {
            resp[1] = (uint8_t)rc;
            ok = true;
        }
        break;
    case VDM_GPIO_MSG_SET_VALUE: ok = set_value(s, n, value) == 0; break;
    case VDM_GPIO_MSG_SET_IRQ_TYPE: ok = set_irq_type(s, n, value) == 0; break;
    default:
        if (n < s->ngpio) {
            warn(s, W_TYPE, "gpio: unknown message type");
        }
        break;
    }
    if (!ok) {
        resp[1] = 0;
    }
    resp[0] = ok ? (uint8_t)VDM_GPIO_STATUS_OK : (uint8_t)VDM_GPIO_STATUS_ERR;
    /* "The device MUST set all the fields of the response": status, then
     * the value (or the names, already in place). */
    (void)vdm_chain_copy_to(c, 0, resp, 1);
    if (want == (uint32_t)VDM_GPIO_RESPONSE_BYTES) {
        (void)vdm_chain_copy_to(c, 1, resp + 1, 1);
    } else if (!ok) {
        want = 1;
    } else {
        /* the names block, written by put_names() */
    }
    *written = want;
    return VDM_KIT_DONE;
}

/* The line an event buffer pair unmasks, with its number in @p n; NULL
 * (warned) for a buffer to return INVALID. */
static struct line *event_line(struct gpio_state *s, const struct vdm_chain *c,
                               uint16_t *n)
{
    uint8_t req[VDM_GPIO_IRQ_REQUEST_BYTES];
    struct line *l;

    if ((c->read_len != (uint32_t)VDM_GPIO_IRQ_REQUEST_BYTES) ||
        (c->write_len != (uint32_t)VDM_GPIO_IRQ_RESPONSE_BYTES) ||
        (vdm_chain_copy_from(c, 0, req, sizeof(req)) != sizeof(req))) {
        warn(s, W_EVSHP, "gpio: event buffer of the wrong size");
        return NULL;
    }
    *n = vdm_le16(req);
    if (*n >= s->ngpio) {
        warn(s, W_EVLINE, "gpio: event buffer for a line out of range");
        return NULL;
    }
    l = &s->lines[*n];
    /* "The driver MUST NOT add multiple pairs of buffers for the same GPIO
     * line": the extra one goes back. */
    if (l->ev != NULL) {
        warn(s, W_EVDUP, "gpio: second event buffer for a line");
        return NULL;
    }
    /* "unmasked without being enabled first": returned INVALID. Not a
     * guest error: "The driver can do this before enabling the interrupt
     * as well" (eventq Message Flow), and Linux does it in a race: a buffer
     * returned INVALID by a disable, seen after the driver enabled again,
     * is queued at once, possibly before the device has the new
     * SET_IRQ_TYPE. Debug level only. */
    if (l->irq == IRQ_NONE) {
        vdm_kit_warn_once(s->dev, &s->warned, W_EVOFF, VDM_LOG_DEBUG,
                          "gpio: event buffer for a disabled interrupt");
        return NULL;
    }
    return l;
}

/* eventq: one buffer pair per line unmasks its interrupt. */
static int gpio_serve_event(void *ctx, struct vdm_kit_req *kr,
                            uint32_t *written)
{
    struct gpio_state *s = ctx;
    struct vdm_chain *c = &kr->chain;
    uint8_t st = IRQ_INVALID;
    uint16_t n = 0;
    struct line *l = event_line(s, c, &n);

    if (l == NULL) {
        *written = (uint32_t)vdm_chain_copy_to(c, 0, &st, 1);
        return VDM_KIT_DONE;
    }
    l->ev = kr;
    check_due(s, l, n);
    return VDM_KIT_PENDING;
}

static const struct vdm_kit_queue gpio_queues[] = {
    {.serve = gpio_serve_request,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 2,
     .status_err = {VDM_GPIO_STATUS_ERR, 0}},
    {.serve = gpio_serve_event,
     .status_at = VDM_KIT_STATUS_HEAD,
     .status_len = 1,
     .status_err = {VDM_GPIO_IRQ_STATUS_INVALID}},
};

/* ------------------------------------------------------------------------ */
/* Device class hooks */

static struct gpio_state *gpio_dev_state(struct vdm_dev *d)
{
    struct gpio_state *s = (struct gpio_state *)vdm_dev_priv(d);

    return ((s != NULL) && (s->magic == GPIO_MAGIC)) ? s : NULL;
}

/* Event buffers of abandoned requests: free their slots (no guest access). */
static void drop_events(struct gpio_state *s)
{
    uint32_t i;

    for (i = 0; i < s->ngpio; i++) {
        struct vdm_kit_req *kr = s->lines[i].ev;
        s->lines[i].ev = NULL;
        if (kr != NULL) {
            (void)vdm_kit_finish(&s->kit, kr, 0);
        }
    }
}

static void lines_init(struct gpio_state *s, bool tell_host)
{
    uint16_t i;

    for (i = 0; i < s->ngpio; i++) {
        struct line *l = &s->lines[i];
        const struct vdm_gpio_line *t = &s->table[i];

        if (tell_host && (l->irq != IRQ_NONE) && HOOK(s, set_irq_type)) {
            (void)s->ops->set_irq_type(s->host, i, IRQ_NONE);
        }
        if (tell_host && ((l->dir != t->direction) || (l->out != t->value)) &&
            HOOK(s, set_direction)) {
            (void)s->ops->set_direction(s->host, i, t->direction, t->value);
        }
        __builtin_memset(l, 0, sizeof(*l));
        l->dir = t->direction;
        l->out = t->value;
    }
}

static void gpio_reset(struct vdm_dev *d)
{
    struct gpio_state *s = gpio_dev_state(d);

    if (s == NULL) {
        return;
    }
    vdm_kit_reset(&s->kit, UINT16_MAX);
    drop_events(s);
    lines_init(s, true);
    s->warned = 0;
}

static void gpio_queue_reset(struct vdm_dev *d, uint16_t q)
{
    struct gpio_state *s = gpio_dev_state(d);

    if ((s == NULL) || (q >= (uint16_t)VDM_GPIO_NUM_QUEUES)) {
        return;
    }
    vdm_kit_reset(&s->kit, q);
    if (q == (uint16_t)VDM_GPIO_QUEUE_EVENT) {
        drop_events(s); /* masked again; enabled types and latches stay */
    }
}

static void gpio_queue_notify(struct vdm_dev *d, uint16_t q)
{
    struct gpio_state *s = gpio_dev_state(d);

    if (s == NULL) {
        return;
    }
    /* "The eventq virtqueue is available only if VIRTIO_GPIO_F_IRQ has been
     * negotiated." */
    if ((q == (uint16_t)VDM_GPIO_QUEUE_REQUEST) ||
        ((q == (uint16_t)VDM_GPIO_QUEUE_EVENT) &&
         ((vdm_dev_features(s->dev) & VDM_GPIO_F_IRQ) != 0u))) {
        (void)vdm_kit_run(&s->kit, q);
    }
}

static void gpio_driver_ok(struct vdm_dev *d)
{
    gpio_queue_notify(d, VDM_GPIO_QUEUE_REQUEST);
    gpio_queue_notify(d, VDM_GPIO_QUEUE_EVENT);
}

static void gpio_config_read(struct vdm_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    const struct gpio_state *s = gpio_dev_state(d);
    uint8_t cfg[VDM_GPIO_CONFIG_BYTES] = {0};

    if (s != NULL) {
        vdm_put_le16(&cfg[VDM_GPIO_CFG_NGPIO], s->ngpio);
        vdm_put_le32(&cfg[VDM_GPIO_CFG_GPIO_NAMES_SIZE], s->names_size);
    }
    vdm_kit_config_copy(cfg, sizeof(cfg), off, buf, len);
}

static const struct vdm_device_class gpio_class = {
    .size = sizeof(struct vdm_device_class),
    .device_id = VDM_VIRTIO_ID_GPIO,
    .name = "gpio",
    .config_size = VDM_GPIO_CONFIG_BYTES,
    .max_queues = VDM_GPIO_NUM_QUEUES,
    .reset = gpio_reset,
    .driver_ok = gpio_driver_ok,
    .queue_notify = gpio_queue_notify,
    .queue_reset = gpio_queue_reset,
    .config_read = gpio_config_read,
    .state_save = gpio_state_save,
    .state_restore = gpio_state_restore,
};

/* ------------------------------------------------------------------------ */
/* Public API */

static bool names_equal(const char *a, const char *b)
{
    uint32_t i = 0;

    while ((a[i] != '\0') && (a[i] == b[i])) {
        i++;
    }
    return a[i] == b[i];
}

/* The line table: names 7-bit ASCII, not too long, unique; directions and
 * IRQ within the flags. Sets *names_size. */
static int check_table(const struct vdm_gpio_config *cfg, uint32_t *names_size)
{
    uint32_t i;
    uint32_t j;
    uint32_t total = 0;
    uint32_t named = 0;

    for (i = 0; i < cfg->ngpio; i++) {
        const struct vdm_gpio_line *t = &cfg->lines[i];
        uint32_t len = name_len(t->name);

        if ((t->reserved != 0u) || ((t->flags & ~LINE_ALL_FLAGS) != 0u) ||
            (t->direction > DIR_IN) || (t->value > 1u)) {
            return VDM_EINVAL;
        }
        if (((t->direction == DIR_IN) &&
             ((t->flags & VDM_GPIO_LINE_IN) == 0u)) ||
            ((t->direction == DIR_OUT) &&
             ((t->flags & VDM_GPIO_LINE_OUT) == 0u)) ||
            (((t->flags & VDM_GPIO_LINE_IRQ) != 0u) &&
             ((t->flags & VDM_GPIO_LINE_IN) == 0u))) {
            return VDM_EINVAL;
        }
        if (len > GPIO_NAME_MAX) {
            return VDM_EINVAL;
        }
        for (j = 0; j < len; j++) {
            if ((uint8_t)t->name[j] > 0x7fu) {
                return VDM_EINVAL; /* "encoded in 7-bit ASCII" */
            }
        }
        if (len != 0u) {
            named++;
            for (j = 0; j < i; j++) {
                if ((name_len(cfg->lines[j].name) != 0u) &&
                    names_equal(cfg->lines[j].name, t->name)) {
                    return VDM_EINVAL; /* "unique within a GPIO Device" */
                }
            }
        }
        total += len + 1u;
    }
    *names_size = (named != 0u) ? total : 0u;
    return 0;
}

int vdm_gpio_init(struct vdm_gpio *gpio, struct vdm_dev *dev,
                  const struct vdm_gpio_config *cfg,
                  const struct vdm_dev_config *base)
{
    struct vdm_kit_config kc = VDM_INIT(struct vdm_kit_config);
    struct vdm_dev_config dc;
    struct gpio_state *s;
    uint32_t names_size = 0;
    uint32_t i;
    uint64_t type_bits = 0;
    uint8_t *mem;
    int rc;
    bool out = false;

    if ((gpio == NULL) || (dev == NULL) || (cfg == NULL) || (base == NULL)) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg, struct vdm_gpio_config, storage_bytes)) {
        return VDM_ESIZE;
    }
    if ((cfg->ops == NULL) || (cfg->lines == NULL) || (cfg->storage == NULL) ||
        (cfg->ngpio == 0u) || (cfg->ngpio > (uint16_t)VDM_GPIO_MAX_LINES) ||
        (cfg->irq > 1u) || (((uintptr_t)cfg->storage & 7u) != 0u) ||
        (cfg->storage_bytes < VDM_GPIO_STORAGE_BYTES(cfg->ngpio))) {
        return VDM_EINVAL;
    }
    if (!VDM_HAS(cfg->ops, struct vdm_gpio_ops, set_value)) {
        return VDM_ESIZE;
    }
    rc = check_table(cfg, &names_size);
    if (rc < 0) {
        return rc;
    }
    for (i = 0; i < cfg->ngpio; i++) {
        if ((cfg->lines[i].flags & VDM_GPIO_LINE_OUT) != 0u) {
            out = true;
        }
    }
    if ((cfg->ops->get_value == NULL) ||
        (out && (cfg->ops->set_value == NULL))) {
        return VDM_EINVAL;
    }
    if (vdm_copy_sized(&dc, sizeof(dc), base, sizeof(uint32_t)) < 0) {
        return VDM_ESIZE;
    }
    if (dc.num_queues == 0u) {
        dc.num_queues = VDM_GPIO_NUM_QUEUES;
    }
    if (dc.num_queues != (uint16_t)VDM_GPIO_NUM_QUEUES) {
        return VDM_EINVAL;
    }

    __builtin_memset(gpio, 0, sizeof(*gpio));
    s = (struct gpio_state *)(void *)gpio->opaque;
    mem = cfg->storage;
    s->dev = dev;
    s->ops = cfg->ops;
    s->host = cfg->host;
    s->table = cfg->lines;
    s->ngpio = cfg->ngpio;
    s->irq = cfg->irq;
    s->names_size = names_size;
    s->lines = (struct line *)(void *)mem;
    __builtin_memset(s->lines, 0, (size_t)cfg->ngpio * GPIO_LINE);
    lines_init(s, false);

    kc.num_queues = VDM_GPIO_NUM_QUEUES;
    kc.nqdesc = VDM_GPIO_NUM_QUEUES;
    kc.queues = gpio_queues;
    kc.ctx = s;
    kc.slots = mem + (size_t)cfg->ngpio * GPIO_LINE;
    kc.iovs = (struct vdm_iov *)(void *)(mem + (size_t)cfg->ngpio * GPIO_LINE +
                                         VDM_KIT_SLOTS_BYTES(2, cfg->ngpio,
                                                             GPIO_SLOT));
    kc.slot_bytes = GPIO_SLOT;
    kc.per_queue = cfg->ngpio;
    kc.iov_per_req = VDM_GPIO_IOV_MAX;
    rc = vdm_kit_init(&s->kit, dev, &kc);
    if (rc < 0) {
        return rc;
    }

    dc.cls = &gpio_class;
    dc.priv = s;
    /* Event buffers come back in the order interrupts fire: no IN_ORDER. */
    if (cfg->irq != 0u) {
        type_bits = VDM_GPIO_F_IRQ;
    }
    dc.features = vdm_kit_features(type_bits, base->features, VDM_F_IN_ORDER);
    s->magic = GPIO_MAGIC;
    rc = vdm_dev_init(dev, &dc);
    if (rc < 0) {
        s->magic = 0;
    }
    return rc;
}

int vdm_gpio_line_event(struct vdm_gpio *gpio, uint16_t line, uint32_t value)
{
    struct gpio_state *s = gpio_of(gpio);
    struct line *l;
    bool edge;
    bool level;

    if ((s == NULL) || (value > 1u)) {
        return VDM_EINVAL;
    }
    if (line >= s->ngpio) {
        return VDM_ERANGE;
    }
    l = &s->lines[line];
    l->level = (uint8_t)value;
    l->level_known = 1;
    if ((l->irq == IRQ_NONE) || (l->dir == DIR_OUT)) {
        return 0;
    }
    edge = ((value == 1u) && ((l->irq & IRQ_RISING) != 0u)) ||
           ((value == 0u) && ((l->irq & IRQ_FALLING) != 0u));
    level = ((value == 1u) && (l->irq == IRQ_HIGH)) ||
            ((value == 0u) && (l->irq == IRQ_LOW));
    if (!edge && !level) {
        return 0;
    }
    if ((l->ev == NULL) || (vdm_dev_live(s->dev) == 0)) {
        /* "MUST latch an edge interrupt if ... enabled but still masked";
         * "MUST NOT latch a level interrupt". */
        if (edge) {
            l->latched = 1;
        }
        return 0;
    }
    return give_back(s, l, IRQ_VALID);
}

int vdm_gpio_direction(const struct vdm_gpio *gpio, uint16_t line)
{
    const struct gpio_state *s = cgpio_of(gpio);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    return (line < s->ngpio) ? (int)s->lines[line].dir : VDM_ERANGE;
}

int vdm_gpio_irq_type(const struct vdm_gpio *gpio, uint16_t line)
{
    const struct gpio_state *s = cgpio_of(gpio);

    if (s == NULL) {
        return VDM_EINVAL;
    }
    return (line < s->ngpio) ? (int)s->lines[line].irq : VDM_ERANGE;
}

int vdm_gpio_irq_unmasked(const struct vdm_gpio *gpio, uint16_t line)
{
    const struct gpio_state *s = cgpio_of(gpio);
    int rc;

    if (s == NULL) {
        rc = VDM_EINVAL;
    } else if (line >= s->ngpio) {
        rc = VDM_ERANGE;
    } else if (s->lines[line].ev != NULL) {
        rc = 1;
    } else {
        rc = 0;
    }
    return rc;
}

struct vdm_dev *vdm_gpio_dev(const struct vdm_gpio *gpio)
{
    const struct gpio_state *s = cgpio_of(gpio);

    return (s != NULL) ? s->dev : NULL;
}
