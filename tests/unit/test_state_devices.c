/* SPDX-License-Identifier: BSD-3-Clause */
/* Save and restore of device types' own state (vdm/state.h,
 * docs/state-format.md "Device type"): console, gpio, i2c, can, rpmb.
 *
 * Each case drives device 1 (the bench's transport, DH_TRANSPORT) to a
 * state only its driver's requests and its host could have made, saves it
 * (through the transport when there is one), restores into device 2 (a
 * fresh instance on a copy of guest memory, same layout, other host
 * addresses, a host that has seen nothing) and checks that device 2 behaves
 * as device 1 would have: the driver, continuing on its rings, sees the
 * same answers. Requests the device holds at save time (gpio's unmasked
 * eventq buffers, an i2c group being collected, a CAN frame at the bus)
 * are read again by device 2 and answered once. Then hostile images: each
 * field of the device type's
 * section out of range or inconsistent is refused and leaves device 2
 * reset.
 *
 * Spec: "GPIO Device" (eventq: an unmasked interrupt's buffer is the
 * device's until the interrupt fires; "MUST latch an edge interrupt if ...
 * enabled but still masked"), "Console Device" -- "Multiport Device
 * Operation" (control messages, port open), "I2C Adapter Device" --
 * "Operation Status" (the rest of a failed group fails), "CAN Device" --
 * "Controller Mode", "Bus off indication", "RPMB Device" -- "Device
 * Operation: Result Read"; "Split Virtqueues" / "Packed Virtqueues" for the
 * buffers in flight read again by the restored device. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devharness.h"
#include "drv.h"
#include "profile.h"
#include "vdm/device.h"
#include "vdm/devices/can.h"
#include "vdm/devices/console.h"
#include "vdm/devices/gpio.h"
#include "vdm/devices/i2c.h"
#include "vdm/devices/rpmb.h"
#include "vdm/devices/spi.h"
#include "vdm/le.h"
#include "vdm/mmio.h"
#include "vdm/pci.h"
#include "vdm/state.h"

#define QMAX 32

/* ------------------------------------------------------------------------ */
/* Two benches: device 1 on DH_TRANSPORT, device 2 direct behind a transport
 * of the same kind (not probed: everything comes from the image). */

static struct dh h1, h2;
static int h1_live, h2_live, p2_live;
static struct drv_mmio m2;
static struct drv_pci p2;

static void pair_init(uint16_t nq)
{
    struct dh_opts o1 = {.num_queues = nq, .qsize = QMAX};
    struct dh_opts o2 = {
        .num_queues = nq, .qsize = QMAX, .transport = DH_TP_DIRECT};

    ck_assert_int_eq(dh_init(&h1, &o1), 0);
    h1_live = 1;
    ck_assert_int_eq(dh_init(&h2, &o2), 0);
    h2_live = 1;
}

/* After device 2's init: its transport, as device 1's. */
static void pair_tp2(void)
{
    if (h1.transport == DH_TP_MMIO) {
        ck_assert_int_eq(drv_mmio_init(&m2, &h2.dev, NULL), 0);
    } else if (h1.transport == DH_TP_PCI) {
        struct vdm_pci_config c = VDM_INIT(struct vdm_pci_config);
        c.msix_vectors = (uint16_t)(h1.num_queues + 1u);
        ck_assert_int_eq(drv_pci_init(&p2, &h2.dev, &c), 0);
        p2_live = 1;
    }
}

static void teardown(void)
{
    if (p2_live)
        drv_pci_fini(&p2);
    if (h1_live)
        dh_fini(&h1);
    if (h2_live)
        dh_fini(&h2);
    h1_live = h2_live = p2_live = 0;
}

static void copy_mem(struct dh *dst, const struct dh *src)
{
    for (unsigned i = 0; i < src->g.nregions; i++)
        memcpy(dst->g.regions[i].hva, src->g.regions[i].hva,
               src->g.regions[i].size);
}

static size_t state_size1(void)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_state_size(&h1.mmio.t);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_state_size(&h1.pci.t);
    return vdm_dev_state_size(&h1.dev);
}

static int save1(void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_save(&h1.mmio.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_save(&h1.pci.t, buf, len);
    return vdm_dev_save(&h1.dev, buf, len);
}

static int restore2(const void *buf, size_t len)
{
    if (h1.transport == DH_TP_MMIO)
        return vdm_mmio_restore(&m2.t, buf, len);
    if (h1.transport == DH_TP_PCI)
        return vdm_pci_restore(&p2.t, buf, len);
    return vdm_dev_restore(&h2.dev, buf, len);
}

/* Section @p tag (@p rank-th of it) of @p img: payload offset, length. */
static size_t section(const uint8_t *img, size_t n, uint16_t tag, unsigned rank,
                      uint32_t *plen)
{
    size_t pos = VDM_STATE_HDR_BYTES;

    while (pos + VDM_STATE_SEC_BYTES <= n) {
        uint32_t len = vdm_le32(img + pos + 4);
        if (vdm_le16(img + pos) == tag && rank-- == 0) {
            *plen = len;
            return pos + VDM_STATE_SEC_BYTES;
        }
        pos += VDM_STATE_SEC_BYTES + len;
    }
    return 0;
}

/* Save device 1, restore device 2 (initialised by the caller): the image
 * (caller frees) and its length. Device 1's host forgets its requests. */
static uint8_t *migrate(size_t *len)
{
    size_t n = state_size1();
    uint8_t *img = malloc(n);

    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(save1(img, n), (int)n);
    copy_mem(&h2, &h1);
    ck_assert_int_eq(restore2(img, n), 0);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), vdm_dev_status(&h1.dev));
    *len = n;
    return img;
}

/* The restored device hears each enabled queue once (state.h "After a
 * restore"); the driver's memory follows. */
static void notify_all2(void)
{
    copy_mem(&h2, &h1);
    for (uint16_t q = 0; q < h2.num_queues; q++)
        if (vdm_dev_queue_enabled(&h2.dev, q))
            ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, q, 0), 0);
    copy_mem(&h1, &h2);
}

/* The driver (on device 1's rings) kicks device 2. */
static void kick2(uint16_t q)
{
    drv_vq_publish(dh_vq(&h1, q));
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_dev_queue_notify(&h2.dev, q, 0), 0);
    copy_mem(&h1, &h2);
}

/* A device-only image of device 1 with byte @p at of the device type's
 * section set to @p v is refused by device 2 with @p err, device 2 reset. */
static void refuse_byte(uint32_t at, uint8_t v, int err)
{
    uint8_t img[4096];
    uint32_t plen = 0;
    int n = vdm_dev_save(&h1.dev, img, sizeof(img));
    size_t off;

    ck_assert_int_gt(n, 0);
    off = section(img, (size_t)n, VDM_STATE_SEC_CLASS, 0, &plen);
    ck_assert_uint_gt(off, 0);
    ck_assert_uint_lt(at, plen);
    /* the unchanged image is taken */
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
    img[off + at] = v;
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), err);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
    for (uint16_t q = 0; q < h2.num_queues; q++)
        ck_assert_int_eq(vdm_dev_queue_enabled(&h2.dev, q), 0);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

/* Take the next used buffer of device 1's queue @p q (driver side). */
static uint32_t used(uint16_t q, uint64_t cookie)
{
    uint32_t len = 0;
    void *c = NULL;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h1, q), NULL, &len, &c), 1);
    ck_assert_ptr_eq(c, (void *)(uintptr_t)cookie);
    return len;
}

static void none_used(uint16_t q)
{
    uint32_t len = 0;
    void *c = NULL;
    ck_assert_int_eq(drv_vq_get_used(dh_vq(&h1, q), NULL, &len, &c), 0);
}

/* A chain of @p olen readable bytes (copied from @p out) and @p ilen
 * writable ones on device 1's queue @p q, published; the writable
 * buffer's guest address is returned (and is the cookie). */
static uint64_t post(uint16_t q, const void *out, uint32_t olen, uint32_t ilen)
{
    uint64_t o = olen ? dh_alloc(&h1, olen, 8) : 0;
    uint64_t i = dh_alloc(&h1, ilen ? ilen : 1, 8);
    struct drv_buf ob = {o, olen}, ib = {i, ilen};

    if (olen)
        memcpy(dh_ptr(&h1, o, olen), out, olen);
    memset(dh_ptr(&h1, i, ilen ? ilen : 1), 0xee, ilen ? ilen : 1);
    ck_assert_int_ge(drv_vq_add(dh_vq(&h1, q), olen ? &ob : NULL, olen ? 1 : 0,
                                ilen ? &ib : NULL, ilen ? 1 : 0, DRV_ADD_DIRECT,
                                (void *)(uintptr_t)i),
                     0);
    drv_vq_publish(dh_vq(&h1, q));
    return i;
}

/* ------------------------------------------------------------------------ */
/* gpio */

#define NLINE 5

struct ghost {
    uint8_t value[NLINE], dir[NLINE], irq[NLINE];
    int fail;
};

static struct ghost gh1, gh2;
static struct vdm_gpio g1, g2;
static uint64_t gst1[VDM_GPIO_STORAGE_BYTES(NLINE) / 8 + 1];
static uint64_t gst2[VDM_GPIO_STORAGE_BYTES(NLINE) / 8 + 1];

static const struct vdm_gpio_line gtable[NLINE] = {
    {.name = "LED",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .flags = VDM_GPIO_LINE_OUT},
    {.name = "BUTTON",
     .direction = VDM_GPIO_DIRECTION_IN,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_IRQ},
    {.direction = VDM_GPIO_DIRECTION_NONE,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ},
    {.name = "RESET",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .value = 1,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT},
    {.name = "SENSE",
     .direction = VDM_GPIO_DIRECTION_IN,
     .value = 1,
     .flags = VDM_GPIO_LINE_IN},
};

static int g_get(void *host, uint16_t line)
{
    return ((struct ghost *)host)->value[line];
}

static int g_set(void *host, uint16_t line, uint32_t v)
{
    ((struct ghost *)host)->value[line] = (uint8_t)v;
    return 0;
}

static int g_dir(void *host, uint16_t line, uint32_t dir, uint32_t v)
{
    struct ghost *x = host;
    if (x->fail)
        return VDM_EIO;
    x->dir[line] = (uint8_t)dir;
    if (dir == VDM_GPIO_DIRECTION_OUT)
        x->value[line] = (uint8_t)v;
    return 0;
}

static int g_irq(void *host, uint16_t line, uint32_t t)
{
    ((struct ghost *)host)->irq[line] = (uint8_t)t;
    return 0;
}

static const struct vdm_gpio_ops gops = {
    .size = sizeof(struct vdm_gpio_ops),
    .get_value = g_get,
    .set_value = g_set,
    .set_direction = g_dir,
    .set_irq_type = g_irq,
};

static void gpio_on(struct dh *h, struct vdm_gpio *g, struct ghost *x,
                    uint64_t *st)
{
    struct vdm_gpio_config c = VDM_INIT(struct vdm_gpio_config);
    c.ngpio = NLINE;
    c.irq = 1;
    c.lines = gtable;
    c.ops = &gops;
    c.host = x;
    c.storage = st;
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(NLINE);
    ck_assert_int_eq(vdm_gpio_init(g, &h->dev, &c, &h->base), 0);
}

static void gpio_pair_f(uint64_t ring_f)
{
    memset(&gh1, 0, sizeof(gh1));
    memset(&gh2, 0, sizeof(gh2));
    pair_init(2);
    gpio_on(&h1, &g1, &gh1, gst1);
    gpio_on(&h2, &g2, &gh2, gst2);
    pair_tp2();
    ck_assert_int_eq(
        dh_bring_up(&h1, VDM_F_VERSION_1 | VDM_GPIO_F_IRQ | ring_f, 2), 0);
}

static void gpio_pair(void)
{
    gpio_pair_f(0);
}

/* A request on the source: status << 8 | value. */
static int gmsg(uint16_t type, uint16_t line, uint32_t value)
{
    uint8_t rq[8];
    put16(rq, type);
    put16(rq + 2, line);
    put32(rq + 4, value);
    uint64_t r = post(0, rq, 8, 2);
    ck_assert_int_ge(dh_kick(&h1, 0, 1), 0);
    ck_assert_uint_eq(used(0, r), 2);
    const uint8_t *p = dh_ptr(&h1, r, 2);
    return p[0] << 8 | p[1];
}

static uint64_t gev(uint16_t line)
{
    uint8_t rq[2];
    put16(rq, line);
    return post(1, rq, 2, 1);
}

#define GOK(v) (VDM_GPIO_STATUS_OK << 8 | (v))

static void gpio_move(uint64_t ring_f)
{
    uint32_t plen = 0;
    uint64_t e1, e2;
    uint8_t *img;
    size_t n, off;

    gpio_pair_f(ring_f);
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_VALUE, 3, 0), GOK(0));
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_DIRECTION, 2, 2), GOK(0));
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, 3), GOK(0));
    /* masked: the edge is latched */
    ck_assert_int_eq(vdm_gpio_line_event(&g1, 2, 1), 0);
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, 1), GOK(0));
    /* line 1 unmasked: its buffer is held by the device */
    e1 = gev(1);
    ck_assert_int_ge(dh_kick(&h1, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&g1, 1), 1);
    none_used(1);

    img = migrate(&n);
    /* the held buffer is re-queued: queue 1's section says 1 */
    off = section(img, n, VDM_STATE_SEC_QUEUE, 1, &plen);
    ck_assert_uint_eq(vdm_le16(img + off + 38), 1);
    /* the device type's section: 8 + 4 per line, line 2 latched */
    off = section(img, n, VDM_STATE_SEC_CLASS, 0, &plen);
    ck_assert_uint_eq(plen, 8 + 4 * NLINE);
    ck_assert_uint_eq(img[off + 8 + 4 * 2 + 0], VDM_GPIO_DIRECTION_IN);
    ck_assert_uint_eq(img[off + 8 + 4 * 2 + 2], 3);
    ck_assert_uint_eq(img[off + 8 + 4 * 2 + 3], 1);
    free(img);

    /* device 2 and its host hold the driver's settings */
    ck_assert_int_eq(vdm_gpio_direction(&g2, 2), VDM_GPIO_DIRECTION_IN);
    ck_assert_int_eq(vdm_gpio_direction(&g2, 3), VDM_GPIO_DIRECTION_OUT);
    ck_assert_int_eq(vdm_gpio_irq_type(&g2, 1), 1);
    ck_assert_int_eq(vdm_gpio_irq_type(&g2, 2), 3);
    ck_assert_uint_eq(gh2.dir[2], VDM_GPIO_DIRECTION_IN);
    ck_assert_uint_eq(gh2.value[3], 0);
    ck_assert_uint_eq(gh2.irq[1], 1);
    ck_assert_uint_eq(gh2.irq[2], 3);
    /* the held buffer is read again at the first notification */
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&g2, 1), 0);
    notify_all2();
    ck_assert_int_eq(vdm_gpio_irq_unmasked(&g2, 1), 1);
    none_used(1);
    /* a rising edge on line 1 reaches the driver in that buffer */
    ck_assert_int_eq(vdm_gpio_line_event(&g2, 1, 1), 1);
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(used(1, e1), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, e1, 1),
                      VDM_GPIO_IRQ_STATUS_VALID);
    /* line 2's latched edge fires as soon as it is unmasked */
    e2 = gev(2);
    kick2(1);
    ck_assert_uint_eq(used(1, e2), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, e2, 1),
                      VDM_GPIO_IRQ_STATUS_VALID);
    /* requests go on: GET_DIRECTION of line 2 */
    {
        uint8_t rq[8];
        put16(rq, VDM_GPIO_MSG_GET_DIRECTION);
        put16(rq + 2, 2);
        put32(rq + 4, 0);
        uint64_t r = post(0, rq, 8, 2);
        kick2(0);
        ck_assert_uint_eq(used(0, r), 2);
        ck_assert_uint_eq(((uint8_t *)dh_ptr(&h1, r, 2))[1],
                          VDM_GPIO_DIRECTION_IN);
    }
}

START_TEST(gpio_lines_and_held_buffer_move_split)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    gpio_move(0);
}
END_TEST

START_TEST(gpio_lines_and_held_buffer_move_packed)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    UT_NEEDS(VDM_F_RING_PACKED);
    gpio_move(VDM_F_RING_PACKED);
}
END_TEST

/* Event buffers are used in the order interrupts fire, not pop order
 * (no IN_ORDER): a held buffer older than a completed one cannot be
 * re-queued by ring position, so save says VDM_EBUSY (state.h). */
START_TEST(gpio_older_held_buffer_busy)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t img[4096];

    gpio_pair();
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_DIRECTION, 2, 2), GOK(0));
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_IRQ_TYPE, 1, 1), GOK(0));
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, 1), GOK(0));
    uint64_t e1 = gev(1);
    uint64_t e2 = gev(2);
    ck_assert_int_ge(dh_kick(&h1, 1, 1), 0);
    ck_assert_int_eq(vdm_gpio_line_event(&g1, 2, 1), 1);
    ck_assert_uint_eq(used(1, e2), 1);
    ck_assert_int_eq(vdm_dev_save(&h1.dev, img, sizeof(img)), VDM_EBUSY);
    /* once line 1 fires too, nothing is held: save succeeds */
    ck_assert_int_eq(vdm_gpio_line_event(&g1, 1, 1), 1);
    ck_assert_uint_eq(used(1, e1), 1);
    ck_assert_int_gt(vdm_dev_save(&h1.dev, img, sizeof(img)), 0);
}
END_TEST

START_TEST(gpio_hostile_images)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    gpio_pair();
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_DIRECTION, 2, 2), GOK(0));
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_IRQ_TYPE, 2, 4), GOK(0));
    /* SET_DIRECTION NONE clears the value even of an input-only line whose
     * table says 1: a state the image may carry */
    ck_assert_int_eq(gmsg(VDM_GPIO_MSG_SET_DIRECTION, 4, 0), GOK(0));
    {
        uint8_t img[4096];
        uint32_t plen = 0;
        int n = vdm_dev_save(&h1.dev, img, sizeof(img));
        size_t off = section(img, (size_t)n, VDM_STATE_SEC_CLASS, 0, &plen);
        ck_assert_uint_eq(img[off + 8 + 4 * 4 + 1], 0);
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), 0);
        ck_assert_int_eq(vdm_gpio_direction(&g2, 4), VDM_GPIO_DIRECTION_NONE);
    }
    refuse_byte(8 + 4 * 4 + 1, 2, VDM_EINVAL); /* value not 0/1 */
    refuse_byte(0, NLINE + 1, VDM_EINVAL);     /* ngpio */
    refuse_byte(2, 1, VDM_EINVAL);             /* reserved */
    refuse_byte(8 + 0, 3, VDM_EINVAL);         /* no such direction */
    refuse_byte(8 + 0, 2, VDM_EINVAL);         /* LED is output only */
    refuse_byte(8 + 1, 2, VDM_EINVAL);         /* value not 0/1 */
    refuse_byte(8 + 4 + 1, 1, VDM_EINVAL);     /* BUTTON has no output */
    refuse_byte(8 + 4 + 2, 5, VDM_EINVAL);     /* no such irq type */
    refuse_byte(8 + 4 * 3 + 2, 1, VDM_EINVAL); /* RESET has no irq */
    refuse_byte(8 + 4 * 2 + 3, 1, VDM_EINVAL); /* a level latched */
    refuse_byte(8 + 4 * 2 + 3, 2, VDM_EINVAL); /* unknown flag */
    refuse_byte(8 + 4 * 2 + 0, 1, VDM_EINVAL); /* irq on an output */
    /* a host that fails to set a line up: refused, device reset */
    gh2.fail = 1;
    {
        uint8_t img[4096];
        int n = vdm_dev_save(&h1.dev, img, sizeof(img));
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)n), VDM_EIO);
        ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
        ck_assert_int_eq(vdm_gpio_irq_type(&g2, 2), 0);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* console, multiport */

#define NPORTS 2
#define CNQ    VDM_CONSOLE_NUM_QUEUES(NPORTS)

struct chost {
    int open[NPORTS];
    int nopen;
    int ntx;
    uint32_t tx_port;
};

static struct chost ch1, ch2;
static struct vdm_console c1, c2;
static uint64_t cst1[VDM_CONSOLE_STORAGE_BYTES(NPORTS, 4) / 8 + 1];
static uint64_t cst2[VDM_CONSOLE_STORAGE_BYTES(NPORTS, 4) / 8 + 1];

static int c_tx(void *host, uint32_t port, const struct vdm_iov *iov,
                uint32_t n, uint32_t len, uintptr_t token)
{
    struct chost *x = host;
    (void)iov;
    (void)n;
    (void)len;
    (void)token;
    x->ntx++;
    x->tx_port = port;
    return 0;
}

static void c_open(void *host, uint32_t port, uint32_t open)
{
    struct chost *x = host;
    x->open[port] = (int)open;
    x->nopen++;
}

static const struct vdm_console_ops cops = {
    .size = sizeof(struct vdm_console_ops),
    .transmit = c_tx,
    .guest_open = c_open,
};

static void console_on(struct dh *h, struct vdm_console *c, struct chost *x,
                       uint64_t *st)
{
    struct vdm_console_config k = VDM_INIT(struct vdm_console_config);
    k.max_ports = NPORTS;
    k.features = VDM_CONSOLE_F_MULTIPORT | VDM_CONSOLE_F_SIZE;
    k.ops = &cops;
    k.host = x;
    k.tx_slots = 4;
    k.storage = st;
    k.storage_bytes = VDM_CONSOLE_STORAGE_BYTES(NPORTS, 4);
    ck_assert_int_eq(vdm_console_init(c, &h->dev, &k, &h->base), 0);
}

static void ctl_send(uint32_t id, uint32_t ev, uint32_t value, int to2)
{
    uint8_t m[8];
    put32(m, id);
    put16(m + 4, ev);
    put16(m + 6, value);
    uint64_t r = post(VDM_CONSOLE_QUEUE_CTRL_TX, m, 8, 0);
    if (to2)
        kick2(VDM_CONSOLE_QUEUE_CTRL_TX);
    else
        ck_assert_int_ge(dh_kick(&h1, VDM_CONSOLE_QUEUE_CTRL_TX, 1), 0);
    ck_assert_uint_eq(used(VDM_CONSOLE_QUEUE_CTRL_TX, r), 0);
}

/* The next control message on buffer @p b: id, event, value. */
static void expect_ctl(uint64_t b, uint32_t id, uint32_t ev, uint32_t value)
{
    uint32_t len = used(VDM_CONSOLE_QUEUE_CTRL_RX, b);
    const uint8_t *p = dh_ptr(&h1, b, 8);
    ck_assert_uint_ge(len, 8);
    ck_assert_uint_eq(vdm_le32(p), id);
    ck_assert_uint_eq(vdm_le16(p + 4), ev);
    ck_assert_uint_eq(vdm_le16(p + 6), value);
}

static void console_pair(void)
{
    struct vdm_console_port_info pi = VDM_INIT(struct vdm_console_port_info);

    memset(&ch1, 0, sizeof(ch1));
    memset(&ch2, 0, sizeof(ch2));
    pair_init(CNQ);
    console_on(&h1, &c1, &ch1, cst1);
    console_on(&h2, &c2, &ch2, cst2);
    pair_tp2();
    pi.console = 1;
    ck_assert_int_eq(vdm_console_port_add(&c1, 0, &pi), 0);
    pi.console = 0;
    pi.name = "org.test.1";
    pi.name_len = 10;
    pi.host_open = 1;
    ck_assert_int_eq(vdm_console_port_add(&c1, 1, &pi), 0);
    ck_assert_int_eq(dh_bring_up(&h1,
                                 VDM_F_VERSION_1 | VDM_CONSOLE_F_MULTIPORT |
                                     VDM_CONSOLE_F_SIZE,
                                 CNQ),
                     0);
}

START_TEST(console_ports_and_owed_messages_move)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint64_t b[4];
    uint8_t *img;
    size_t n;

    console_pair();
    /* four control buffers: two DEVICE_ADDs, then port 1's name and open */
    for (unsigned i = 0; i < 4; i++)
        b[i] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    ctl_send(0, VDM_CONSOLE_DEVICE_READY, 1, 0);
    expect_ctl(b[0], 0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_ctl(b[1], 1, VDM_CONSOLE_DEVICE_ADD, 0);
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 0);
    expect_ctl(b[2], 1, VDM_CONSOLE_PORT_NAME, 0);
    ck_assert_mem_eq(dh_ptr(&h1, b[2] + 8, 10), "org.test.1", 10);
    expect_ctl(b[3], 1, VDM_CONSOLE_PORT_OPEN, 1);
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 1, 0);
    ck_assert_int_eq(ch1.open[1], 1);
    /* port 0 becomes ready and the host resizes it: CONSOLE_PORT and
     * RESIZE are owed (no control buffer left) */
    ctl_send(0, VDM_CONSOLE_PORT_READY, 1, 0);
    ck_assert_int_eq(vdm_console_resize(&c1, 0, 132, 43), 0);
    none_used(VDM_CONSOLE_QUEUE_CTRL_RX);

    img = migrate(&n);
    free(img);
    for (uint32_t p = 0; p < NPORTS; p++)
        ck_assert_int_eq(vdm_console_port_state(&c2, p),
                         vdm_console_port_state(&c1, p));
    /* the host hears that the guest has port 1 open */
    ck_assert_int_eq(ch2.open[1], 1);
    ck_assert_int_eq(ch2.open[0], 0);
    ck_assert_int_eq(ch2.nopen, 1);
    {
        uint8_t c[4];
        ck_assert_int_eq(vdm_dev_config_read(&h2.dev, 0, c, 4), 0);
        ck_assert_uint_eq(vdm_le16(c), 132);
        ck_assert_uint_eq(vdm_le16(c + 2), 43);
    }
    notify_all2();
    /* the owed messages reach the driver once it gives buffers */
    b[0] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    b[1] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    kick2(VDM_CONSOLE_QUEUE_CTRL_RX);
    expect_ctl(b[0], 0, VDM_CONSOLE_CONSOLE_PORT, 1);
    expect_ctl(b[1], 0, VDM_CONSOLE_RESIZE, 0);
    ck_assert_uint_eq(vdm_le16(dh_ptr(&h1, b[1] + 8, 2)), 132);
    /* data flows on the open port both ways */
    {
        uint64_t r = post(VDM_CONSOLE_QUEUE_RX(1), NULL, 0, 16);
        kick2(VDM_CONSOLE_QUEUE_RX(1));
        copy_mem(&h2, &h1);
        ck_assert_int_eq(vdm_console_write(&c2, 1, "hello", 5), 5);
        copy_mem(&h1, &h2);
        ck_assert_uint_eq(used(VDM_CONSOLE_QUEUE_RX(1), r), 5);
        ck_assert_mem_eq(dh_ptr(&h1, r, 5), "hello", 5);
        post(VDM_CONSOLE_QUEUE_TX(1), "x", 1, 0);
        kick2(VDM_CONSOLE_QUEUE_TX(1));
        ck_assert_int_eq(ch2.ntx, 1);
        ck_assert_uint_eq(ch2.tx_port, 1);
    }
    /* the driver closes port 1: the host hears it */
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 0, 1);
    ck_assert_int_eq(ch2.open[1], 0);
}
END_TEST

START_TEST(console_hostile_images)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint64_t b[2];
    const uint32_t p1 = 8 + 136; /* port 1's record */

    console_pair();
    b[0] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    b[1] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    ctl_send(0, VDM_CONSOLE_DEVICE_READY, 1, 0);
    expect_ctl(b[0], 0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_ctl(b[1], 1, VDM_CONSOLE_DEVICE_ADD, 0);
    refuse_byte(0, NPORTS + 1, VDM_EINVAL);          /* max_nr_ports */
    refuse_byte(4, 2, VDM_EINVAL);                   /* DEVICE_READY not 0/1 */
    refuse_byte(5, 1, VDM_EINVAL);                   /* reserved */
    refuse_byte(p1, 0x40 | 0x25, VDM_EINVAL);        /* unknown port flag */
    refuse_byte(p1 + 4, 0x40, VDM_EINVAL);           /* unknown owed message */
    refuse_byte(p1, 0x21 | 0x08, VDM_EINVAL);        /* READY, not announced */
    refuse_byte(p1, 0x20 | 0x04, VDM_EINVAL);        /* announced, gone, no
                                                        removal owed */
    refuse_byte(p1, 0x21 | 0x04 | 0x10, VDM_EINVAL); /* open, not READY */
    refuse_byte(p1 + 12, 121, VDM_EINVAL);           /* name too long */
    refuse_byte(p1 + 16 + 10, 'x', VDM_EINVAL);      /* bytes after the name */
    refuse_byte(p1 + 13, 1, VDM_EINVAL);             /* reserved */
}
END_TEST

/* The host removed an announced port while the driver gave no control
 * buffer: DEVICE_REMOVE is owed, and goes out from the restored device
 * ("Multiport Device Operation": the device removes a port it added). */
START_TEST(console_owed_removal_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint64_t b[3];
    size_t n;

    console_pair();
    b[0] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    b[1] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    ctl_send(0, VDM_CONSOLE_DEVICE_READY, 1, 0);
    expect_ctl(b[0], 0, VDM_CONSOLE_DEVICE_ADD, 0);
    expect_ctl(b[1], 1, VDM_CONSOLE_DEVICE_ADD, 0);
    ctl_send(1, VDM_CONSOLE_PORT_READY, 1, 0);
    ck_assert_int_eq(vdm_console_port_remove(&c1, 1), 0);
    /* the driver, not yet told, opens the port: a state the image carries */
    ctl_send(1, VDM_CONSOLE_PORT_OPEN, 1, 0);
    ck_assert_int_eq(ch1.open[1], 1);
    free(migrate(&n));
    ck_assert_int_eq(ch2.open[1], 1);
    ck_assert_int_eq(vdm_console_port_state(&c2, 1),
                     vdm_console_port_state(&c1, 1));
    ck_assert_int_eq(vdm_console_port_state(&c2, 1) & VDM_CONSOLE_PS_ADDED, 0);
    /* without the owed removal the image is not one a device can make */
    refuse_byte(8 + 136 + 4, 0, VDM_EINVAL);
    free(migrate(&n));
    notify_all2();
    b[2] = post(VDM_CONSOLE_QUEUE_CTRL_RX, NULL, 0, 64);
    kick2(VDM_CONSOLE_QUEUE_CTRL_RX);
    expect_ctl(b[2], 1, VDM_CONSOLE_DEVICE_REMOVE, 0);
    ck_assert_int_eq(vdm_console_port_state(&c2, 1), 0x20); /* host open */
}
END_TEST

/* Without MULTIPORT port 0 is the driver's from DRIVER_OK on: an image
 * saying otherwise is refused. */
START_TEST(console_single_port_image)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct vdm_console_config k = VDM_INIT(struct vdm_console_config);

    memset(&ch1, 0, sizeof(ch1));
    memset(&ch2, 0, sizeof(ch2));
    pair_init(2);
    k.max_ports = 1;
    k.ops = &cops;
    k.tx_slots = 4;
    k.storage = cst1;
    k.storage_bytes = VDM_CONSOLE_STORAGE_BYTES(1, 4);
    k.host = &ch1;
    ck_assert_int_eq(vdm_console_init(&c1, &h1.dev, &k, &h1.base), 0);
    k.storage = cst2;
    k.host = &ch2;
    ck_assert_int_eq(vdm_console_init(&c2, &h2.dev, &k, &h2.base), 0);
    pair_tp2();
    {
        struct vdm_console_port_info pi =
            VDM_INIT(struct vdm_console_port_info);
        pi.console = 1;
        ck_assert_int_eq(vdm_console_port_add(&c1, 0, &pi), 0);
    }
    ck_assert_int_eq(dh_bring_up(&h1, VDM_F_VERSION_1, 2), 0);
    ck_assert_int_eq(ch1.open[0], 1);
    refuse_byte(8, 0x01, VDM_EINVAL); /* port 0 not the driver's */
    refuse_byte(4, 1, VDM_EINVAL);    /* DEVICE_READY */
    free(migrate(&(size_t){0}));
    ck_assert_int_eq(ch2.open[0], 1);
    ck_assert_int_eq(vdm_console_port_state(&c2, 0),
                     vdm_console_port_state(&c1, 0));
    /* the host takes port 0 away: no longer open, and that moves too */
    ck_assert_int_eq(vdm_console_port_remove(&c1, 0), 0);
    free(migrate(&(size_t){0}));
    ck_assert_int_eq(ch2.open[0], 0);
    ck_assert_int_eq(vdm_console_port_state(&c2, 0),
                     vdm_console_port_state(&c1, 0));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* can */

struct canhost {
    int nstart, nstop;
};

static struct canhost kh1, kh2;
static struct vdm_can k1, k2;
static uint64_t kst1[VDM_CAN_STORAGE_BYTES(4) / 8 + 1];
static uint64_t kst2[VDM_CAN_STORAGE_BYTES(4) / 8 + 1];

struct ktx {
    int n;
    uintptr_t token;
    uint32_t id;
};
static struct ktx ktx1, ktx2;

/* The bus keeps each frame (answered later with vdm_can_tx_done()). */
static int k_tx(void *host, const struct vdm_can_frame *f, uintptr_t token)
{
    struct ktx *x = host == &kh1 ? &ktx1 : &ktx2;
    x->n++;
    x->token = token;
    x->id = f->can_id;
    return 0;
}

static int k_start(void *host)
{
    ((struct canhost *)host)->nstart++;
    return 0;
}

static int k_stop(void *host)
{
    ((struct canhost *)host)->nstop++;
    return 0;
}

static const struct vdm_can_ops kops = {
    .size = sizeof(struct vdm_can_ops),
    .transmit = k_tx,
    .start = k_start,
    .stop = k_stop,
};

static void can_on(struct dh *h, struct vdm_can *k, struct canhost *x,
                   uint64_t *st)
{
    struct vdm_can_config c = VDM_INIT(struct vdm_can_config);
    c.tx_slots = 4;
    c.features = VDM_CAN_F_CAN_CLASSIC | VDM_CAN_F_LATE_TX_ACK;
    c.ops = &kops;
    c.host = x;
    c.storage = st;
    c.storage_bytes = VDM_CAN_STORAGE_BYTES(4);
    ck_assert_int_eq(vdm_can_init(k, &h->dev, &c, &h->base), 0);
}

static void can_pair_f(uint64_t f)
{
    memset(&kh1, 0, sizeof(kh1));
    memset(&kh2, 0, sizeof(kh2));
    memset(&ktx1, 0, sizeof(ktx1));
    memset(&ktx2, 0, sizeof(ktx2));
    pair_init(3);
    can_on(&h1, &k1, &kh1, kst1);
    can_on(&h2, &k2, &kh2, kst2);
    pair_tp2();
    ck_assert_int_eq(
        dh_bring_up(&h1, VDM_F_VERSION_1 | VDM_CAN_F_CAN_CLASSIC | f, 3), 0);
}

static void can_pair(void)
{
    can_pair_f(0);
}

static void can_ctl(uint16_t type)
{
    uint8_t m[2];
    put16(m, type);
    uint64_t r = post(VDM_CAN_QUEUE_CONTROL, m, 2, 1);
    ck_assert_int_ge(dh_kick(&h1, VDM_CAN_QUEUE_CONTROL, 1), 0);
    ck_assert_uint_eq(used(VDM_CAN_QUEUE_CONTROL, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r, 1), VDM_CAN_RESULT_OK);
}

START_TEST(can_started_controller_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    struct vdm_can_frame f = {
        .can_id = 0x123, .length = 2, .data = {0xab, 0xcd}};
    size_t n;

    can_pair();
    can_ctl(VDM_CAN_SET_CTRL_MODE_START);
    ck_assert_int_eq(vdm_can_started(&k1), 1);
    uint64_t r = post(VDM_CAN_QUEUE_RX, NULL, 0, 64);
    free(migrate(&n));
    ck_assert_int_eq(vdm_can_started(&k2), 1);
    ck_assert_int_eq(kh2.nstart, 1); /* the destination's bus joined */
    notify_all2();
    copy_mem(&h2, &h1);
    ck_assert_int_eq(vdm_can_receive(&k2, &f), 1);
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(used(VDM_CAN_QUEUE_RX, r), VDM_CAN_HDR_BYTES + 2);
    ck_assert_uint_eq(((uint8_t *)dh_ptr(&h1, r, 18))[16], 0xab);
}
END_TEST

START_TEST(can_bus_off_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t c[2];
    size_t n;

    can_pair();
    can_ctl(VDM_CAN_SET_CTRL_MODE_START);
    ck_assert_int_ge(vdm_can_bus_off(&k1), 0);
    free(migrate(&n));
    ck_assert_int_eq(vdm_can_started(&k2), 0);
    ck_assert_int_eq(kh2.nstart, 0);
    ck_assert_int_eq(vdm_dev_config_read(&h2.dev, 0, c, 2), 0);
    ck_assert_uint_eq(vdm_le16(c), VDM_CAN_S_CTRL_BUSOFF);
    /* hostile: started while bus-off, unknown status, not a flag */
    refuse_byte(0, 1, VDM_EINVAL);
    refuse_byte(2, 3, VDM_EINVAL);
    refuse_byte(1, 1, VDM_EINVAL);
    refuse_byte(4, 1, VDM_EINVAL);
}
END_TEST

/* A frame at the bus (LATE_TX_ACK: answered when the bus says it went
 * out) is in flight: the restored device hands it to its own bus again and
 * answers it once ("Device Operation: Transmit"). */
START_TEST(can_frame_at_bus_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint8_t fr[VDM_CAN_HDR_BYTES + 2] = {0};
    size_t n;
    uint64_t r;

    can_pair_f(VDM_CAN_F_LATE_TX_ACK);
    can_ctl(VDM_CAN_SET_CTRL_MODE_START);
    put16(fr, VDM_CAN_MSG_TX);
    put16(fr + 2, 2);
    put32(fr + 12, 0x155);
    fr[16] = 1;
    fr[17] = 2;
    r = post(VDM_CAN_QUEUE_TX, fr, sizeof(fr), 1);
    ck_assert_int_ge(dh_kick(&h1, VDM_CAN_QUEUE_TX, 1), 0);
    ck_assert_int_eq(ktx1.n, 1);
    none_used(VDM_CAN_QUEUE_TX);
    free(migrate(&n));
    ck_assert_int_eq(ktx2.n, 0);
    notify_all2();
    ck_assert_int_eq(ktx2.n, 1);
    ck_assert_uint_eq(ktx2.id, 0x155);
    none_used(VDM_CAN_QUEUE_TX);
    ck_assert_int_eq(vdm_can_tx_done(&k2, ktx2.token, VDM_CAN_RESULT_OK), 0);
    copy_mem(&h1, &h2);
    ck_assert_uint_eq(used(VDM_CAN_QUEUE_TX, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r, 1), VDM_CAN_RESULT_OK);
    none_used(VDM_CAN_QUEUE_TX);
}
END_TEST

START_TEST(can_hostile_images)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    can_pair();
    can_ctl(VDM_CAN_SET_CTRL_MODE_START);
    refuse_byte(0, 2, VDM_EINVAL);
    refuse_byte(2, 1, VDM_EINVAL); /* started and bus-off */
    refuse_byte(7, 1, VDM_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* i2c */

static int i2c_nxfer;
static uint32_t i2c_lastn;
static struct vdm_i2c i1, i2;

/* The bus: every transfer done at once, all messages. */
static int i_xfer(void *host, const struct vdm_i2c_msg *msgs, uint32_t n,
                  void *token)
{
    (void)msgs;
    i2c_nxfer++;
    i2c_lastn = n;
    ck_assert_int_eq(vdm_i2c_complete(host, token, (int)n), 0);
    return 0;
}

static const struct vdm_i2c_ops iops = {
    .size = sizeof(struct vdm_i2c_ops),
    .transfer = i_xfer,
};

static void i2c_on(struct dh *h, struct vdm_i2c *d)
{
    struct vdm_i2c_config c = VDM_INIT(struct vdm_i2c_config);
    c.ops = &iops;
    c.host = d;
    ck_assert_int_eq(vdm_i2c_init(d, &h->dev, &c, &h->base), 0);
}

/* A one-byte write to @p addr (raw field) with @p flags; the status
 * buffer's address. */
static uint64_t i2c_req(uint16_t addr, uint32_t flags)
{
    uint8_t m[9] = {0};
    put16(m, addr);
    put32(m + 4, flags);
    m[8] = 0x5a;
    return post(0, m, 9, 1);
}

/* "Operation Status": a request of a group that failed fails, and so do
 * the rest of its group, up to the one without FAIL_NEXT; the device
 * remembers across the move that the group's end is still to come. */
START_TEST(i2c_failed_group_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    size_t n;
    uint64_t r;

    i2c_nxfer = 0;
    pair_init(1);
    i2c_on(&h1, &i1);
    i2c_on(&h2, &i2);
    pair_tp2();
    ck_assert_int_eq(
        dh_bring_up(&h1, VDM_F_VERSION_1 | VDM_I2C_F_ZERO_LENGTH_REQUEST, 1),
        0);
    /* odd address field: refused, and its group (FAIL_NEXT) with it */
    r = i2c_req(0x41, VDM_I2C_FLAGS_FAIL_NEXT);
    ck_assert_int_ge(dh_kick(&h1, 0, 1), 0);
    ck_assert_uint_eq(used(0, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r, 1), VDM_I2C_MSG_ERR);
    free(migrate(&n));
    refuse_byte(0, 2, VDM_EINVAL);
    refuse_byte(5, 1, VDM_EINVAL);
    free(migrate(&n));
    /* the group's last request fails on device 2 without reaching the bus */
    r = i2c_req(0x40, 0);
    kick2(0);
    ck_assert_uint_eq(used(0, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r, 1), VDM_I2C_MSG_ERR);
    ck_assert_int_eq(i2c_nxfer, 0);
    /* the next group is served */
    r = i2c_req(0x40, 0);
    kick2(0);
    ck_assert_int_eq(i2c_nxfer, 1);
    ck_assert_uint_eq(used(0, r), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r, 1), VDM_I2C_MSG_OK);
}
END_TEST

/* A group being collected (requests with FAIL_NEXT waiting for the one
 * that ends it) is in flight: the restored device reads its requests again
 * and the bus gets the whole group as one transfer ("Device Operation:
 * Request Queue"). */
START_TEST(i2c_group_in_flight_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    uint32_t plen = 0;
    uint8_t *img;
    size_t n;
    uint64_t r0, r1;

    i2c_nxfer = 0;
    pair_init(1);
    i2c_on(&h1, &i1);
    i2c_on(&h2, &i2);
    pair_tp2();
    ck_assert_int_eq(
        dh_bring_up(&h1, VDM_F_VERSION_1 | VDM_I2C_F_ZERO_LENGTH_REQUEST, 1),
        0);
    r0 = i2c_req(0x40, VDM_I2C_FLAGS_FAIL_NEXT);
    ck_assert_int_ge(dh_kick(&h1, 0, 1), 0);
    none_used(0); /* held by the device, collecting its group */
    ck_assert_int_eq(i2c_nxfer, 0);
    img = migrate(&n);
    ck_assert_uint_eq(
        vdm_le16(img + section(img, n, VDM_STATE_SEC_QUEUE, 0, &plen) + 38),
        1); /* re-queued */
    free(img);
    r1 = i2c_req(0x40, 0);
    notify_all2();
    ck_assert_int_eq(i2c_nxfer, 1);
    ck_assert_uint_eq(i2c_lastn, 2);
    ck_assert_uint_eq(used(0, r0), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r0, 1), VDM_I2C_MSG_OK);
    ck_assert_uint_eq(used(0, r1), 1);
    ck_assert_uint_eq(*(uint8_t *)dh_ptr(&h1, r1, 1), VDM_I2C_MSG_OK);
    none_used(0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* rpmb */

static uint8_t rpmb_key[VDM_RPMB_KEY_BYTES];
static int rpmb_keyset;
static struct vdm_rpmb r1, r2;

static int r_read(void *host, uint32_t block, uint32_t count, void *buf)
{
    (void)host;
    (void)block;
    memset(buf, 0, (size_t)count * VDM_RPMB_BLOCK_BYTES);
    return 0;
}

static int r_write(void *host, uint32_t block, uint32_t count, const void *buf,
                   uint32_t counter)
{
    (void)host;
    (void)block;
    (void)count;
    (void)buf;
    (void)counter;
    return 0;
}

static int r_key(void *host, const uint8_t *key)
{
    (void)host;
    memcpy(rpmb_key, key, sizeof(rpmb_key));
    rpmb_keyset = 1;
    return 0;
}

static const struct vdm_rpmb_ops rops = {
    .size = sizeof(struct vdm_rpmb_ops),
    .read = r_read,
    .write = r_write,
    .program_key = r_key,
};

/* Device on @p h over the storage as it is now (key, counter 0). */
static void rpmb_on(struct dh *h, struct vdm_rpmb *d)
{
    struct vdm_rpmb_config c = VDM_INIT(struct vdm_rpmb_config);
    c.capacity = 1;
    c.key_programmed = (uint8_t)rpmb_keyset;
    memcpy(c.key, rpmb_key, sizeof(c.key));
    c.ops = &rops;
    ck_assert_int_eq(vdm_rpmb_init(d, &h->dev, &c, &h->base), 0);
}

static void frame(uint8_t *f, uint16_t req)
{
    memset(f, 0, VDM_RPMB_FRAME_BYTES);
    f[VDM_RPMB_OFF_BLOCK_COUNT + 1] = 1;
    f[VDM_RPMB_OFF_REQ_RESP] = (uint8_t)(req >> 8);
    f[VDM_RPMB_OFF_REQ_RESP + 1] = (uint8_t)req;
}

/* "Device Operation: Result Read": the result of the last program key
 * stays with the device across the move. */
START_TEST(rpmb_result_register_moves)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    static uint8_t f[VDM_RPMB_FRAME_BYTES];
    size_t n;
    uint64_t r;

    rpmb_keyset = 0;
    memset(rpmb_key, 0, sizeof(rpmb_key));
    pair_init(1);
    rpmb_on(&h1, &r1);
    ck_assert_int_eq(dh_bring_up(&h1, VDM_F_VERSION_1, 1), 0);
    /* program key, no result read in the same request */
    frame(f, VDM_RPMB_REQ_PROGRAM_KEY);
    memset(f + VDM_RPMB_OFF_KEY_MAC, 0x3c, VDM_RPMB_KEY_BYTES);
    r = post(0, f, VDM_RPMB_FRAME_BYTES, VDM_RPMB_FRAME_BYTES);
    ck_assert_int_ge(dh_kick(&h1, 0, 1), 0);
    (void)used(0, r);
    ck_assert_int_eq(vdm_rpmb_key_programmed(&r1), 1);
    /* device 2 on a storage without the key: another storage, refused */
    {
        struct vdm_rpmb_config c = VDM_INIT(struct vdm_rpmb_config);
        uint8_t img[4096];
        int k = vdm_dev_save(&h1.dev, img, sizeof(img));
        c.capacity = 1;
        c.ops = &rops;
        ck_assert_int_eq(vdm_rpmb_init(&r2, &h2.dev, &c, &h2.base), 0);
        copy_mem(&h2, &h1);
        ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)k), VDM_EINVAL);
        ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
    }
    /* device 2 on the same storage */
    rpmb_on(&h2, &r2);
    pair_tp2();
    free(migrate(&n));
    refuse_byte(0, 1, VDM_EINVAL);    /* write counter of another storage */
    refuse_byte(4, 0, VDM_EINVAL);    /* key flag of another storage */
    refuse_byte(5, 2, VDM_EINVAL);    /* not a flag */
    refuse_byte(7, 0x00, VDM_EINVAL); /* response type 0x0000 */
    refuse_byte(8, 0x07, VDM_EINVAL); /* program key: NO_AUTH_KEY */
    refuse_byte(10, 1, VDM_EINVAL);   /* program key with an address */
    refuse_byte(12, 1, VDM_EINVAL);   /* counter beyond the storage's */
    free(migrate(&n));
    frame(f, VDM_RPMB_REQ_RESULT_READ);
    r = post(0, f, VDM_RPMB_FRAME_BYTES, VDM_RPMB_FRAME_BYTES);
    kick2(0);
    ck_assert_uint_eq(used(0, r), VDM_RPMB_FRAME_BYTES);
    {
        const uint8_t *p = dh_ptr(&h1, r, VDM_RPMB_FRAME_BYTES);
        ck_assert_uint_eq(p[VDM_RPMB_OFF_REQ_RESP] << 8 |
                              p[VDM_RPMB_OFF_REQ_RESP + 1],
                          VDM_RPMB_RESP_PROGRAM_KEY);
        ck_assert_uint_eq(p[VDM_RPMB_OFF_RESULT] << 8 |
                              p[VDM_RPMB_OFF_RESULT + 1],
                          VDM_RPMB_RES_OK);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* spi: no state of its own (docs/state-format.md) */

static int s_xfer(void *host, const struct vdm_spi_transfer *t, uintptr_t token)
{
    (void)host;
    (void)t;
    (void)token;
    return 0;
}

static const struct vdm_spi_ops sops = {
    .size = sizeof(struct vdm_spi_ops),
    .transfer = s_xfer,
};

static void spi_on(struct dh *h, struct vdm_spi *d)
{
    struct vdm_spi_config c = VDM_INIT(struct vdm_spi_config);
    c.cs_max_number = 1;
    c.mode_func_supported = 0xf;
    c.ops = &sops;
    ck_assert_int_eq(vdm_spi_init(d, &h->dev, &c, &h->base), 0);
}

/* The image has no device type section; one added is refused. */
START_TEST(spi_has_no_section)
{
    UT_NEEDS_OPTION(VDM_CONFIG_STATE);
    static struct vdm_spi s1, s2;
    uint8_t img[4096];
    uint32_t plen = 0;
    size_t n;
    int k;

    pair_init(1);
    spi_on(&h1, &s1);
    spi_on(&h2, &s2);
    pair_tp2();
    ck_assert_int_eq(dh_bring_up(&h1, VDM_F_VERSION_1, 1), 0);
    free(migrate(&n));
    k = vdm_dev_save(&h1.dev, img, sizeof(img) - 16);
    ck_assert_int_gt(k, 0);
    ck_assert_uint_eq(section(img, (size_t)k, VDM_STATE_SEC_CLASS, 0, &plen),
                      0);
    /* a class section of 8 zero bytes appended */
    memset(img + k, 0, 16);
    img[k] = VDM_STATE_SEC_CLASS;
    img[k + 4] = 8;
    put32(img + 8, (uint32_t)k + 16);
    ck_assert_int_eq(vdm_dev_restore(&h2.dev, img, (size_t)k + 16),
                     VDM_ENOTSUP);
    ck_assert_uint_eq(vdm_dev_status(&h2.dev), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("state_devices");
    TCase *tc = tcase_create("state_devices");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, gpio_lines_and_held_buffer_move_split);
    tcase_add_test(tc, gpio_lines_and_held_buffer_move_packed);
    tcase_add_test(tc, gpio_older_held_buffer_busy);
    tcase_add_test(tc, gpio_hostile_images);
    tcase_add_test(tc, console_ports_and_owed_messages_move);
    tcase_add_test(tc, console_hostile_images);
    tcase_add_test(tc, console_owed_removal_moves);
    tcase_add_test(tc, console_single_port_image);
    tcase_add_test(tc, can_started_controller_moves);
    tcase_add_test(tc, can_bus_off_moves);
    tcase_add_test(tc, can_frame_at_bus_moves);
    tcase_add_test(tc, can_hostile_images);
    tcase_add_test(tc, i2c_failed_group_moves);
    tcase_add_test(tc, i2c_group_in_flight_moves);
    tcase_add_test(tc, rpmb_result_register_moves);
    tcase_add_test(tc, spi_has_no_section);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
