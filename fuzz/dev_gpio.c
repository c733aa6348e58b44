/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-gpio (fuzz_dev.h). Eight lines of every kind; the
 * host hooks succeed or fail; the host reports input changes on any line. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/gpio.h"

#define NG 8u

static struct {
    struct vdm_gpio gpio;
    struct vdm_gpio_ops ops;
    uint8_t val[NG];
    int fail;
    uint64_t storage[VDM_GPIO_STORAGE_BYTES(NG) / 8u + 1u];
} G;

static const struct vdm_gpio_line lines[NG] = {
    {.name = "out0",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .flags = VDM_GPIO_LINE_OUT},
    {.name = "in1",
     .direction = VDM_GPIO_DIRECTION_IN,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_IRQ},
    {.name = NULL,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ},
    {.name = "", .direction = VDM_GPIO_DIRECTION_IN, .flags = VDM_GPIO_LINE_IN},
    {.name = "any4",
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IRQ},
    {.name = "out5",
     .direction = VDM_GPIO_DIRECTION_OUT,
     .value = 1,
     .flags = VDM_GPIO_LINE_OUT | VDM_GPIO_LINE_IN},
    {.name = "in6",
     .direction = VDM_GPIO_DIRECTION_IN,
     .flags = VDM_GPIO_LINE_IN | VDM_GPIO_LINE_IRQ},
    {.name = "x", .flags = 0},
};

static int g_get(void *host, uint16_t l)
{
    (void)host;
    FZ_CHECK(l < NG, "get_value line %u", l);
    return G.fail ? VDM_EIO : G.val[l];
}

static int g_set(void *host, uint16_t l, uint32_t v)
{
    (void)host;
    FZ_CHECK(l < NG && v <= 1, "set_value line %u value %u", l, v);
    FZ_CHECK(lines[l].flags & VDM_GPIO_LINE_OUT, "set_value on input %u", l);
    return G.fail ? VDM_EIO : 0;
}

static int g_dir(void *host, uint16_t l, uint32_t d, uint32_t v)
{
    (void)host;
    FZ_CHECK(l < NG && d <= VDM_GPIO_DIRECTION_IN && v <= 1,
             "set_direction line %u dir %u value %u", l, d, v);
    return G.fail ? VDM_EIO : 0;
}

static int g_irq(void *host, uint16_t l, uint32_t t)
{
    (void)host;
    FZ_CHECK(l < NG, "set_irq_type line %u", l);
    FZ_CHECK(t == 0 || (lines[l].flags & VDM_GPIO_LINE_IRQ), "irq on %u", l);
    return G.fail ? VDM_EIO : 0;
}

static int gpio_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                       uint8_t cb)
{
    struct vdm_gpio_config c = {.size = sizeof(c)};
    memset(&G, 0, sizeof(G));
    base->num_queues = 2;
    G.ops = (struct vdm_gpio_ops){.size = sizeof(G.ops),
                                  .get_value = g_get,
                                  .set_value = g_set,
                                  .set_direction = (cb & 1) ? NULL : g_dir,
                                  .set_irq_type = (cb & 2) ? NULL : g_irq};
    c.ngpio = NG;
    c.irq = (cb & 4) ? 0 : 1;
    c.lines = lines;
    c.ops = &G.ops;
    c.storage = G.storage;
    c.storage_bytes = VDM_GPIO_STORAGE_BYTES(NG);
    return vdm_gpio_init(&G.gpio, dev, &c, base);
}

/* a virtio_gpio_request (8 bytes) or an irq request (2), line mostly in
 * range */
static uint32_t gpio_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint8_t k = fz_u8(f);
    (void)type;
    fz_bytes(f, req, 8);
    if ((k & 0x80) == 0) {
        req[0] = (uint8_t)(1u + k % 7u);
        req[1] = 0;
        req[2] = (uint8_t)(req[2] % (NG + 1u));
        req[3] = 0;
    }
    return (k & 0x40) ? 2u : 8u;
}

static void gpio_check_used(unsigned q, const struct fd_rec *r,
                            const struct drv_used *u)
{
    FZ_CHECK(u->len <= r->wlen, "used len %u of %llu", u->len,
             (unsigned long long)r->wlen);
    if (q == VDM_GPIO_QUEUE_EVENT)
        FZ_CHECK(u->len <= 1, "eventq used len %u", u->len);
}

static void gpio_host(uint8_t act, uint32_t arg)
{
    int rc;
    switch (act % 3) {
    case 0: G.fail = (arg & 0xf) == 0; break;
    case 1:
        G.val[arg % NG] = (uint8_t)((arg >> 8) & 1);
        rc = vdm_gpio_line_event(&G.gpio, (uint16_t)(arg % NG), (arg >> 8) & 1);
        FZ_CHECK(rc == 0 || rc == 1, "line_event %d", rc);
        break;
    default:
        rc = vdm_gpio_line_event(&G.gpio, (uint16_t)(arg & 0xffff),
                                 (arg >> 16) & 3);
        FZ_CHECK(rc >= 0 || rc == VDM_EINVAL || rc == VDM_ERANGE,
                 "line_event %d", rc);
        break;
    }
}

const struct fuzz_dev_plugin fuzz_dev_gpio = {
    .name = "gpio",
    .create = gpio_create,
    .request = gpio_request,
    .check_used = gpio_check_used,
    .host = gpio_host,
};
