/* SPDX-License-Identifier: BSD-3-Clause */
/* GPIO device (spec "GPIO Device"): configuration layout, each requestq
 * message and its rules, exact response sizes, interrupts on the eventq
 * (enable + unmask, edge latching, levels never latched, disable returns
 * the buffer, masking races), reset, hostile requests and the line table
 * checks. Driven by the driver simulator directly and behind MMIO and
 * PCI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "devharness.h"
#include "drv.h"
#include "vdm/device.h"
#include "vdm/devices/gpio.h"

#define QMAX  32
#define NLINE 4

/* ------------------------------------------------------------------------ */
/* The host: four lines                                                    */

struct host {
    uint8_t value[NLINE]; /* level on the line */
    uint8_t dir[NLINE];   /* direction the host was told */
    uint8_t irq[NLINE];   /* irq type the host was told */
    int nset_dir, nset_irq, nset_val, nget;
    int fail; /* hooks return this when non-zero */
};

static struct host hs;
static struct dh h;
static struct vdm_gpio gpio;
static uint64_t storage[VDM_GPIO_STORAGE_BYTES(NLINE) / 8 + 1];

static const struct vdm_gpio_line table[NLINE] = {
    {.name = "LED",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .flags = VDM_GPIO_LINE_OUT},
    {.name = "BUTTON",
     .direction = VDM_GPIO_DIRECTION_IN,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_IRQ},
    {.name = NULL,
     .direction = VDM_GPIO_DIRECTION_NONE,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ},
    {.name = "RESET",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .value = 1,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT},
};
static const char names[] = "LED\0BUTTON\0\0RESET"; /* + final NUL */
#define NAMES_SIZE 18u

static int h_get(void *host, uint16_t line)
{
    struct host *x = host;
    x->nget++;
    ck_assert_uint_lt(line, NLINE);
    return x->fail ? x->fail : x->value[line];
}

static int h_set(void *host, uint16_t line, uint32_t v)
{
    struct host *x = host;
    x->nset_val++;
    ck_assert_uint_lt(line, NLINE);
    if (x->fail)
        return x->fail;
    x->value[line] = (uint8_t)v;
    return 0;
}

static int h_dir(void *host, uint16_t line, uint32_t dir, uint32_t v)
{
    struct host *x = host;
    x->nset_dir++;
    if (x->fail)
        return x->fail;
    x->dir[line] = (uint8_t)dir;
    if (dir == VDM_GPIO_DIRECTION_OUT)
        x->value[line] = (uint8_t)v;
    return 0;
}

static int h_irq(void *host, uint16_t line, uint32_t t)
{
    struct host *x = host;
    x->nset_irq++;
    if (x->fail)
        return x->fail;
    x->irq[line] = (uint8_t)t;
    return 0;
}

static const struct vdm_gpio_ops ops = {
    .size = sizeof(struct vdm_gpio_ops),
    .get_value = h_get,
    .set_value = h_set,
    .set_direction = h_dir,
    .set_irq_type = h_irq,
};

static struct vdm_gpio_config cfg(void)
{
    struct vdm_gpio_config c = VDM_INIT(struct vdm_gpio_config);
    c.ngpio = NLINE;
    c.irq = 1;
    c.lines = table;
    c.ops = &ops;
    c.host = &hs;
    c.storage = storage;
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(NLINE);
    return c;
}

static void setup(void)
{
    struct dh_opts o = {.num_queues = 2, .qsize = QMAX};

    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(dh_init(&h, &o), 0);
    struct vdm_gpio_config c = cfg();
    ck_assert_int_eq(vdm_gpio_init(&gpio, &h.dev, &c, &h.base), 0);
    ck_assert_ptr_eq(vdm_gpio_dev(&gpio), &h.dev);
}

static void teardown(void)
{
    dh_fini(&h);
}

#define rq (*dh_vq(&h, 0))
#define eq (*dh_vq(&h, 1))

static void bringup(uint64_t f)
{
    ck_assert_int_eq(
        dh_bring_up(&h, VDM_F_VERSION_1 | f, (f & VDM_GPIO_F_IRQ) ? 2 : 1), 0);
}

/* One request: 8 bytes out, @p rlen bytes in; returns the response gpa. */
static uint64_t post_req(uint16_t type, uint16_t line, uint32_t value,
                         uint32_t rlen)
{
    uint64_t g = dh_alloc(&h, 8, 8), r = dh_alloc(&h, rlen ? rlen : 1, 8);
    uint8_t *p = dh_ptr(&h, g, 8);
    p[0] = (uint8_t)type;
    p[1] = (uint8_t)(type >> 8);
    p[2] = (uint8_t)line;
    p[3] = (uint8_t)(line >> 8);
    p[4] = (uint8_t)value; /* le32, on any host */
    p[5] = (uint8_t)(value >> 8);
    p[6] = (uint8_t)(value >> 16);
    p[7] = (uint8_t)(value >> 24);
    memset(dh_ptr(&h, r, rlen ? rlen : 1), 0xee, rlen ? rlen : 1);
    struct drv_buf o = {g, 8}, i = {r, rlen};
    ck_assert_int_ge(drv_vq_add(&rq, &o, 1, &i, rlen ? 1 : 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)r),
                     0);
    drv_vq_publish(&rq);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    return r;
}

/* Take the next used requestq buffer: it must be @p r; return its len. */
static uint32_t used_on(struct drv_vq *q, uint64_t r)
{
    uint32_t len = 0;
    void *cookie = NULL;
    ck_assert_int_eq(drv_vq_get_used(q, NULL, &len, &cookie), 1);
    ck_assert_ptr_eq(cookie, (void *)(uintptr_t)r);
    return len;
}

/* A request answered with exactly 2 bytes: return status << 8 | value. */
static int msg(uint16_t type, uint16_t line, uint32_t value)
{
    uint64_t r = post_req(type, line, value, 2);
    ck_assert_uint_eq(used_on(&rq, r), 2);
    const uint8_t *p = dh_ptr(&h, r, 2);
    return p[0] << 8 | p[1];
}

#define OK(v) (VDM_GPIO_STATUS_OK << 8 | (v))
#define ERR   (VDM_GPIO_STATUS_ERR << 8)

/* Unmask: one irq_request / irq_response pair for @p line. */
static uint64_t post_ev(uint16_t line)
{
    uint64_t g = dh_alloc(&h, 2, 2), r = dh_alloc(&h, 1, 1);
    uint8_t *p = dh_ptr(&h, g, 2);
    p[0] = (uint8_t)line;
    p[1] = (uint8_t)(line >> 8);
    *(uint8_t *)dh_ptr(&h, r, 1) = 0xee;
    struct drv_buf o = {g, 2}, i = {r, 1};
    ck_assert_int_ge(
        drv_vq_add(&eq, &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)r), 0);
    drv_vq_publish(&eq);
    ck_assert_int_ge(dh_kick(&h, 1, 1), 0);
    return r;
}

static uint8_t ev_status(uint64_t r)
{
    return *(uint8_t *)dh_ptr(&h, r, 1);
}

static void no_event(void)
{
    ck_assert_int_eq(drv_vq_get_used(&eq, NULL, NULL, NULL), 0);
}

/* The event buffer @p r came back with @p st. */
static void event(uint64_t r, uint8_t st)
{
    ck_assert_uint_eq(used_on(&eq, r), 1);
    ck_assert_uint_eq(ev_status(r), st);
}

/* ------------------------------------------------------------------------ */

START_TEST(gpio_config_layout_and_features)
{
    ck_assert_uint_eq(vdm_dev_device_id(&h.dev), VDM_VIRTIO_ID_GPIO);
    ck_assert_uint_ne(vdm_dev_device_features(&h.dev) & VDM_GPIO_F_IRQ, 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_F_IN_ORDER, 0);
    ck_assert_int_eq(dh_negotiate(&h, VDM_F_VERSION_1), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPIO_CFG_NGPIO, 2), NLINE);
    ck_assert_uint_eq(dh_config(&h, 2, 2), 0); /* padding */
    ck_assert_uint_eq(dh_config(&h, VDM_GPIO_CFG_GPIO_NAMES_SIZE, 4),
                      NAMES_SIZE);
}
END_TEST

START_TEST(gpio_get_line_names)
{
    bringup(0);
    uint64_t r = post_req(VDM_GPIO_MSG_GET_LINE_NAMES, 0, 0, 1 + NAMES_SIZE);
    ck_assert_uint_eq(used_on(&rq, r), 1 + NAMES_SIZE);
    const uint8_t *p = dh_ptr(&h, r, 1 + NAMES_SIZE);
    ck_assert_uint_eq(p[0], VDM_GPIO_STATUS_OK);
    ck_assert_mem_eq(p + 1, names, NAMES_SIZE);
    /* the wrong N: ERR, and the driver's length check fails */
    r = post_req(VDM_GPIO_MSG_GET_LINE_NAMES, 0, 0, NAMES_SIZE);
    ck_assert_uint_eq(used_on(&rq, r), 2);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r, 1), VDM_GPIO_STATUS_ERR);
}
END_TEST

START_TEST(gpio_directions_and_values)
{
    bringup(0);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_DIRECTION, 0, 0),
                     OK(VDM_GPIO_DIRECTION_OUT));
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_DIRECTION, 1, 0),
                     OK(VDM_GPIO_DIRECTION_IN));
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_DIRECTION, 2, 0),
                     OK(VDM_GPIO_DIRECTION_NONE));
    /* LED may not be an input; BUTTON may not be an output. */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 0, VDM_GPIO_DIRECTION_IN),
                     ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 1, VDM_GPIO_DIRECTION_OUT),
                     ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 1, 7), ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 1, 1), ERR); /* input only */

    /* Output value set first, used when the line becomes an output. */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 2, 1), OK(0));
    ck_assert_int_eq(hs.nset_val, 0);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 2, VDM_GPIO_DIRECTION_OUT),
                     OK(0));
    ck_assert_uint_eq(hs.dir[2], VDM_GPIO_DIRECTION_OUT);
    ck_assert_uint_eq(hs.value[2], 1);
    ck_assert_int_eq(vdm_gpio_direction(&gpio, 2), VDM_GPIO_DIRECTION_OUT);
    /* On an output, SET_VALUE drives at once. */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 0, 1), OK(0));
    ck_assert_uint_eq(hs.value[0], 1);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 0, 2), ERR);
    hs.value[1] = 1;
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 1, 0), OK(1));
    hs.value[1] = 0;
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 1, 0), OK(0));
    hs.fail = VDM_EIO;
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 1, 0), ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 0, 0), ERR);
    hs.fail = 0;
    ck_assert_uint_eq(hs.value[0], 1);
}
END_TEST

START_TEST(gpio_bad_requests_answer_err)
{
    bringup(0);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_DIRECTION, NLINE, 0), ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 0xffff, 0), ERR);
    ck_assert_int_eq(msg(0, 0, 0), ERR);
    ck_assert_int_eq(msg(0x77, 1, 0), ERR);
    /* IRQ message without VIRTIO_GPIO_F_IRQ */
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_RISING), ERR);
    /* response of 3 bytes, of 1 byte, of 0 bytes */
    uint64_t r = post_req(VDM_GPIO_MSG_GET_VALUE, 1, 0, 3);
    ck_assert_uint_eq(used_on(&rq, r), 2);
    ck_assert_mem_eq(dh_ptr(&h, r, 3), "\x01\x00\xee", 3);
    r = post_req(VDM_GPIO_MSG_GET_VALUE, 1, 0, 1);
    ck_assert_uint_eq(used_on(&rq, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, r, 1), VDM_GPIO_STATUS_ERR);
    r = post_req(VDM_GPIO_MSG_GET_VALUE, 1, 0, 0);
    ck_assert_uint_eq(used_on(&rq, r), 0);
    ck_assert_int_eq(hs.nget, 0);
    /* a 12-byte request */
    uint64_t g = dh_alloc(&h, 12, 8), rr = dh_alloc(&h, 2, 2);
    struct drv_buf o = {g, 12}, i = {rr, 2};
    ck_assert_int_ge(
        drv_vq_add(&rq, &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)rr),
        0);
    drv_vq_publish(&rq);
    ck_assert_int_ge(dh_kick(&h, 0, 1), 0);
    ck_assert_uint_eq(used_on(&rq, rr), 2);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h, rr, 1), VDM_GPIO_STATUS_ERR);
    ck_assert_uint_eq(vdm_dev_status(&h.dev) & VDM_STATUS_DEVICE_NEEDS_RESET,
                      0);
}
END_TEST

/* "MUST NOT send an interrupt event ... unless the interrupt has been both
 * unmasked and enabled"; edges latch while masked, once. */
START_TEST(gpio_edge_irq_enable_unmask_latch)
{
    bringup(VDM_GPIO_F_IRQ);
    /* masked and disabled: nothing */
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_RISING),
        OK(0));
    ck_assert_uint_eq(hs.irq[1], VDM_GPIO_IRQ_TYPE_EDGE_RISING);
    ck_assert_int_eq(vdm_gpio_irq_type(&gpio, 1),
                     VDM_GPIO_IRQ_TYPE_EDGE_RISING);
    uint64_t e = post_ev(1);
    no_event();
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0); /* falling */
    no_event();
    unsigned irq0 = h.irq_queue[1];
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    ck_assert_uint_gt(h.irq_queue[1], irq0);
    /* masked now: three rising edges latch one event */
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    e = post_ev(1); /* unmask: the latched edge goes at once */
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    e = post_ev(1);
    no_event();
    /* both edges */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_NONE),
                     OK(0));
    event(e, VDM_GPIO_IRQ_STATUS_INVALID); /* disable returns the buffer */
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    e = post_ev(1);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    e = post_ev(1);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
}
END_TEST

/* "MUST NOT latch a level interrupt if ... still masked"; at unmask an
 * active level fires. */
START_TEST(gpio_level_irq_not_latched)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_LEVEL_HIGH), OK(0));
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0);
    uint64_t e = post_ev(1);
    no_event(); /* the high level went away while masked */
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    /* still high at unmask: fires again at once */
    e = post_ev(1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0);
    e = post_ev(1);
    no_event();
    /* level low, asked of the host when nothing was reported */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_NONE),
                     OK(0));
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
}
END_TEST

START_TEST(gpio_event_buffer_rules)
{
    bringup(VDM_GPIO_F_IRQ);
    /* not enabled: returned INVALID at once */
    uint64_t e = post_ev(1);
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    /* out of range */
    e = post_ev(NLINE);
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    /* a second buffer for the same line */
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_FALLING),
        OK(0));
    uint64_t a = post_ev(1), b = post_ev(1);
    event(b, VDM_GPIO_IRQ_STATUS_INVALID);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 1);
    event(a, VDM_GPIO_IRQ_STATUS_VALID);
    /* wrong sizes */
    uint64_t g = dh_alloc(&h, 4, 4), r = dh_alloc(&h, 1, 1);
    struct drv_buf o = {g, 4}, i = {r, 1};
    ck_assert_int_ge(
        drv_vq_add(&eq, &o, 1, &i, 1, DRV_ADD_DIRECT, (void *)(uintptr_t)r), 0);
    drv_vq_publish(&eq);
    ck_assert_int_ge(dh_kick(&h, 1, 1), 0);
    event(r, VDM_GPIO_IRQ_STATUS_INVALID);
    /* IRQ on lines that cannot: an output, one without LINE_IRQ, bad type */
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 0, VDM_GPIO_IRQ_TYPE_EDGE_RISING), ERR);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 3, VDM_GPIO_IRQ_TYPE_EDGE_RISING), ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, 5), ERR);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, 0x10), ERR);
}
END_TEST

/* "MUST discard all state information corresponding to a GPIO line, once
 * the driver has requested to set its direction to NONE." */
START_TEST(gpio_direction_none_discards_state)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 2, VDM_GPIO_DIRECTION_IN),
                     OK(0));
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 2, 1), 0); /* latched */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_VALUE, 2, 1), OK(0));
    uint64_t e = post_ev(2);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    e = post_ev(2);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_DIRECTION, 2, VDM_GPIO_DIRECTION_NONE), OK(0));
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    ck_assert_uint_eq(hs.irq[2], VDM_GPIO_IRQ_TYPE_NONE);
    ck_assert_int_eq(vdm_gpio_irq_type(&gpio, 2), VDM_GPIO_IRQ_TYPE_NONE);
    /* the remembered output value is gone too */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 2, VDM_GPIO_DIRECTION_OUT),
                     OK(0));
    ck_assert_uint_eq(hs.value[2], 0);
}
END_TEST

START_TEST(gpio_reset_drops_events_and_restores_lines)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_RISING),
        OK(0));
    uint64_t e = post_ev(1);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 3, VDM_GPIO_DIRECTION_IN),
                     OK(0));
    dh_reset(&h);
    ck_assert_uint_eq(ev_status(e), 0xee); /* abandoned: untouched */
    ck_assert_uint_eq(hs.irq[1], VDM_GPIO_IRQ_TYPE_NONE);
    ck_assert_uint_eq(hs.dir[3], VDM_GPIO_DIRECTION_OUT);
    ck_assert_uint_eq(hs.value[3], 1);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    /* and it works again */
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_RISING),
        OK(0));
    e = post_ev(1);
    no_event(); /* nothing latched across the reset */
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
}
END_TEST

/* Masking under load: every line unmasked, edges on all of them, buffers
 * re-queued as they come back: each edge is delivered exactly once. */
START_TEST(gpio_many_edges_none_lost_or_duplicated)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_DIRECTION, 2, VDM_GPIO_DIRECTION_IN),
                     OK(0));
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    uint64_t e1 = post_ev(1), e2 = post_ev(2);
    unsigned got = 0;
    for (int i = 0; i < 200; i++) {
        uint16_t line = (uint16_t)(1 + (i & 1));
        ck_assert_int_eq(
            vdm_gpio_line_event(&gpio, line, (uint32_t)(i / 2) & 1), 1);
        uint64_t *e = line == 1 ? &e1 : &e2;
        event(*e, VDM_GPIO_IRQ_STATUS_VALID);
        got++;
        *e = post_ev(line);
    }
    ck_assert_uint_eq(got, 200);
    no_event();
}
END_TEST

/* Spec "Device Operation: eventq": queuing the buffer pair unmasks the
 * line's interrupt, returning it (VALID at an event, INVALID at a disable)
 * masks it; vdm_gpio_irq_unmasked() tells which. An edge while masked is
 * latched, and every further edge until the next unmask is the same latched
 * event ("Once the interrupt is unmasked again and an interrupt was latched
 * earlier, the device shall notify the driver again": once). So a host
 * (the e2e test's daemon) can promise the driver one event per edge only by
 * waiting for the unmask before each edge. Regression class: edges made
 * faster than the guest re-arms merge, and an EDGE_BOTH driver that reads
 * the line after the event (Linux) types them by a later level. */
START_TEST(gpio_irq_unmasked_follows_the_event_buffer)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 0);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, NLINE), VDM_ERANGE);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(NULL, 1), VDM_EINVAL);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 0); /* enabled only */
    uint64_t e = post_ev(1);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 1);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 2), 0);

    /* Paced: each edge waits for the unmask, each is one event, and the
     * level the driver reads back before re-arming is that edge's. */
    for (uint32_t i = 0; i < 12; i++) {
        uint32_t v = (i + 1u) & 1u;
        ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 1);
        hs.value[1] = (uint8_t)v;
        ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, v), 1);
        event(e, VDM_GPIO_IRQ_STATUS_VALID);
        ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 0);
        ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 1, 0), OK(v));
        e = post_ev(1);
    }
    no_event();

    /* Not paced: three edges while masked are one event, and the level a
     * late reader sees is the last one, not the first edge's. */
    ck_assert_int_eq(hs.value[1], 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 0);
    hs.value[1] = 1;
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_VALUE, 1, 0), OK(1));
    e = post_ev(1); /* the latch: one event for both edges */
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    e = post_ev(1);
    no_event();
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 1);

    /* A disable returns the buffer INVALID: masked. */
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_NONE),
                     OK(0));
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 0);
    ck_assert_uint_eq(h.nwarn, 0);
}
END_TEST

/* Spec "eventq Operation: Message Flow": "The driver can do this [queue the
 * buffers] before enabling the interrupt as well, though the interrupt must
 * be both unmasked and enabled to get delivered"; the device returns such
 * a buffer INVALID ("unmasked without being enabled first"). Linux's
 * gpio-virtio does it in a race: a disable returns the buffer INVALID, the
 * driver enables the line again, and its eventq handler, seeing the
 * INVALID buffer of an enabled line, queues it at once -- possibly before
 * the device has processed the SET_IRQ_TYPE that enables it. The device
 * returns it INVALID, the driver queues it again, and events flow. Legal
 * behaviour: no warning (the e2e daemon fails on any). Regression class:
 * a legitimate driver race logged as a guest error. */
START_TEST(gpio_unmask_before_enable_is_not_a_guest_error)
{
    bringup(VDM_GPIO_F_IRQ);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    uint64_t e = post_ev(1);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_NONE),
                     OK(0));
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    /* The driver re-queues before the device sees the enable. */
    e = post_ev(1);
    event(e, VDM_GPIO_IRQ_STATUS_INVALID);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 0);
    ck_assert_int_eq(
        msg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, VDM_GPIO_IRQ_TYPE_EDGE_BOTH), OK(0));
    e = post_ev(1);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&gpio, 1), 1);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 1), 1);
    event(e, VDM_GPIO_IRQ_STATUS_VALID);
    ck_assert_uint_eq(h.nwarn, 0);
    ck_assert_uint_eq(h.nerror, 0);
    /* A second buffer for a line is still a driver error ("MUST NOT add
     * multiple pairs"): warned. */
    uint64_t a = post_ev(1), b = post_ev(1);
    event(b, VDM_GPIO_IRQ_STATUS_INVALID);
    UT_IF_LOG(VDM_LOG_WARN, ck_assert_uint_eq(h.nwarn, 1));
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 1, 0), 1);
    event(a, VDM_GPIO_IRQ_STATUS_VALID);
}
END_TEST

START_TEST(gpio_init_rejects_bad_tables)
{
    struct vdm_gpio x;
    struct vdm_dev d;
    struct vdm_gpio_config c = cfg();
    struct vdm_gpio_line t[2] = {
        {.name = "A",
         .direction = VDM_GPIO_DIRECTION_IN,
         .flags = VDM_GPIO_LINE_IN},
        {.name = "A",
         .direction = VDM_GPIO_DIRECTION_IN,
         .flags = VDM_GPIO_LINE_IN},
    };
    c.ngpio = 2;
    c.lines = t;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL); /* dup */
    t[1].name = "\xc3\xa9";
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    t[1].name = "B";
    t[1].flags = VDM_GPIO_LINE_OUT; /* direction IN not allowed */
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    t[1].flags = VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ; /* IRQ needs IN */
    t[1].direction = VDM_GPIO_DIRECTION_OUT;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    t[1].flags = VDM_GPIO_LINE_OUT;
    c.ngpio = 0;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.ngpio = 2;
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(2) - 1;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(2);
    c.storage = (uint8_t *)storage + 4;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.storage = storage;
    struct vdm_gpio_ops noset = ops;
    noset.set_value = NULL;
    c.ops = &noset; /* an output line needs set_value */
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_EINVAL);
    c.ops = &ops;
    c.size = 8;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &h.base), VDM_ESIZE);
    c.size = sizeof(c);
    struct vdm_dev_config b = h.base;
    b.num_queues = 1;
    ck_assert_int_eq(vdm_gpio_init(&x, &d, &c, &b), VDM_EINVAL);
    ck_assert_int_eq(vdm_gpio_line_event(NULL, 0, 1), VDM_EINVAL);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, NLINE, 1), VDM_ERANGE);
    ck_assert_int_eq(vdm_gpio_line_event(&gpio, 0, 2), VDM_EINVAL);
    ck_assert_int_eq(vdm_gpio_direction(&gpio, NLINE), VDM_ERANGE);
}
END_TEST

/* No names at all: gpio_names_size is 0 and GET_LINE_NAMES fails. */
START_TEST(gpio_without_names)
{
    static const struct vdm_gpio_line t[1] = {
        {.direction = VDM_GPIO_DIRECTION_IN, .flags = VDM_GPIO_LINE_IN}};
    struct vdm_gpio_config c = cfg();
    c.ngpio = 1;
    c.lines = t;
    c.irq = 0;
    ck_assert_int_eq(vdm_gpio_init(&gpio, &h.dev, &c, &h.base), 0);
    ck_assert_uint_eq(vdm_dev_device_features(&h.dev) & VDM_GPIO_F_IRQ, 0);
    bringup(0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPIO_CFG_GPIO_NAMES_SIZE, 4), 0);
    ck_assert_uint_eq(dh_config(&h, VDM_GPIO_CFG_NGPIO, 2), 1);
    ck_assert_int_eq(msg(VDM_GPIO_MSG_GET_LINE_NAMES, 0, 0), ERR);
}
END_TEST

static Suite *gpio_suite(void)
{
    Suite *s = suite_create("gpio");
    TCase *tc = tcase_create("gpio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gpio_config_layout_and_features);
    tcase_add_test(tc, gpio_get_line_names);
    tcase_add_test(tc, gpio_directions_and_values);
    tcase_add_test(tc, gpio_bad_requests_answer_err);
    tcase_add_test(tc, gpio_edge_irq_enable_unmask_latch);
    tcase_add_test(tc, gpio_level_irq_not_latched);
    tcase_add_test(tc, gpio_event_buffer_rules);
    tcase_add_test(tc, gpio_direction_none_discards_state);
    tcase_add_test(tc, gpio_reset_drops_events_and_restores_lines);
    tcase_add_test(tc, gpio_many_edges_none_lost_or_duplicated);
    tcase_add_test(tc, gpio_irq_unmasked_follows_the_event_buffer);
    tcase_add_test(tc, gpio_unmask_before_enable_is_not_a_guest_error);
    tcase_add_test(tc, gpio_init_rejects_bad_tables);
    tcase_add_test(tc, gpio_without_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gpio_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
