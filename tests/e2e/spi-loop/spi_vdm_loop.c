// SPDX-License-Identifier: GPL-2.0-only
/*
 * spi_vdm_loop: a loopback SPI controller for vdm's real-kernel test of the
 * daemon's spidev passthrough (tests/e2e/spi.sh). GPL-2.0-only because the
 * kernel loads only GPL-compatible modules that use the SPI core's
 * EXPORT_SYMBOL_GPL functions; the rest of vdm is BSD-3-Clause.
 *
 * The controller's transfer_one copies tx to rx (MOSI wired to MISO); a
 * transfer without tx reads the pattern 0xa5 ^ (byte index). Two spidev
 * devices ("dh2228fv", an id spidev binds to) sit on chip selects 0 and 1,
 * max 20 and 10 MHz. Supported: CPHA, CPOL, CS_HIGH, LSB_FIRST, TX/RX DUAL,
 * 4..16 and 32 bits per word, 10 kHz..50 MHz; not LOOP, QUAD or OCTAL (so
 * the daemon must find out what the controller does not do).
 *
 * Parameters (/sys/module/spi_vdm_loop/parameters/):
 *   last      the last transfer: "cs=C mode=0xM speed=HZ bpw=B len=N tx=0|1
 *             rx=0|1 txn=N rxn=N wdelay=V/U delay=V/U cs_change=0|1"
 *             (mode: the Linux spi->mode bits; V/U: struct spi_delay value
 *             and unit, 0 us, 1 ns, 2 clocks); "none" before any
 *   count     transfers run so far
 *   cslog     chip select changes since it was last written, "C+" assert,
 *             "C-" deassert ("-" when none); writing anything clears it.
 *             Only changes: the core may call set_cs for the state the
 *             line already has (6.12 re-asserts an active-high chip
 *             select for every message: spi_set_cs() compares the bool
 *             last_cs_mode_high with the mask spi->mode & SPI_CS_HIGH)
 *   fail_len  a transfer of exactly this many bytes fails with -EIO (0 off)
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/spi/spi.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#define LOOP_CS	  2
#define CSLOG_MAX 96
#define LOOP_MODES                                                             \
	(SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_LSB_FIRST | SPI_TX_DUAL |     \
	 SPI_RX_DUAL)

static DEFINE_SPINLOCK(rec_lock);
static char rec_last[200] = "none";
static unsigned int rec_count;
static char rec_cslog[CSLOG_MAX + 1];
static bool rec_active[LOOP_CS]; /* chip select asserted */
static unsigned int fail_len;
module_param(fail_len, uint, 0644);
MODULE_PARM_DESC(fail_len, "fail transfers of this many bytes (0: never)");

static struct platform_device *loop_pdev;
static struct spi_controller *loop_ctlr;
static struct spi_device *loop_dev[LOOP_CS];

static int loop_transfer_one(struct spi_controller *ctlr,
			     struct spi_device *spi, struct spi_transfer *t)
{
	unsigned long flags;
	u8 *rx = t->rx_buf;
	unsigned int i;

	spin_lock_irqsave(&rec_lock, flags);
	scnprintf(rec_last, sizeof(rec_last),
		  "cs=%u mode=0x%x speed=%u bpw=%u len=%u tx=%d rx=%d txn=%u "
		  "rxn=%u wdelay=%u/%u delay=%u/%u cs_change=%u",
		  spi_get_chipselect(spi, 0), spi->mode, t->speed_hz,
		  t->bits_per_word, t->len, t->tx_buf != NULL,
		  t->rx_buf != NULL, t->tx_nbits, t->rx_nbits,
		  t->word_delay.value, t->word_delay.unit, t->delay.value,
		  t->delay.unit, t->cs_change);
	rec_count++;
	spin_unlock_irqrestore(&rec_lock, flags);

	if (fail_len != 0 && t->len == fail_len)
		return -EIO;
	if (rx == NULL)
		return 0;
	if (t->tx_buf != NULL)
		memcpy(rx, t->tx_buf, t->len);
	else
		for (i = 0; i < t->len; i++)
			rx[i] = 0xa5 ^ (u8)i;
	return 0;
}

/* The core passes the line level: low asserts unless SPI_CS_HIGH. */
static void loop_set_cs(struct spi_device *spi, bool level)
{
	bool active = level == !!(spi->mode & SPI_CS_HIGH);
	unsigned int cs = spi_get_chipselect(spi, 0);
	unsigned long flags;
	size_t n;

	if (cs >= LOOP_CS)
		return;
	spin_lock_irqsave(&rec_lock, flags);
	n = strlen(rec_cslog);
	if (active != rec_active[cs] && n + 2 <= CSLOG_MAX) {
		rec_cslog[n] = '0' + cs;
		rec_cslog[n + 1] = active ? '+' : '-';
		rec_cslog[n + 2] = '\0';
	}
	rec_active[cs] = active;
	spin_unlock_irqrestore(&rec_lock, flags);
}

static int last_get(char *buf, const struct kernel_param *kp)
{
	unsigned long flags;
	int n;

	spin_lock_irqsave(&rec_lock, flags);
	n = scnprintf(buf, PAGE_SIZE, "%s\n", rec_last);
	spin_unlock_irqrestore(&rec_lock, flags);
	return n;
}

static const struct kernel_param_ops last_ops = { .get = last_get };
module_param_cb(last, &last_ops, NULL, 0444);

static int count_get(char *buf, const struct kernel_param *kp)
{
	unsigned long flags;
	int n;

	spin_lock_irqsave(&rec_lock, flags);
	n = scnprintf(buf, PAGE_SIZE, "%u\n", rec_count);
	spin_unlock_irqrestore(&rec_lock, flags);
	return n;
}

static const struct kernel_param_ops count_ops = { .get = count_get };
module_param_cb(count, &count_ops, NULL, 0444);

static int cslog_get(char *buf, const struct kernel_param *kp)
{
	unsigned long flags;
	int n;

	spin_lock_irqsave(&rec_lock, flags);
	n = scnprintf(buf, PAGE_SIZE, "%s\n",
		      rec_cslog[0] != '\0' ? rec_cslog : "-");
	spin_unlock_irqrestore(&rec_lock, flags);
	return n;
}

static int cslog_set(const char *val, const struct kernel_param *kp)
{
	unsigned long flags;

	spin_lock_irqsave(&rec_lock, flags);
	rec_cslog[0] = '\0';
	spin_unlock_irqrestore(&rec_lock, flags);
	return 0;
}

static const struct kernel_param_ops cslog_ops = {
	.get = cslog_get,
	.set = cslog_set,
};
module_param_cb(cslog, &cslog_ops, NULL, 0644);

static void loop_cleanup(void)
{
	int i;

	for (i = 0; i < LOOP_CS; i++)
		if (loop_dev[i] != NULL)
			spi_unregister_device(loop_dev[i]);
	if (loop_ctlr != NULL)
		spi_unregister_controller(loop_ctlr);
	if (loop_pdev != NULL)
		platform_device_unregister(loop_pdev);
}

static int __init loop_init(void)
{
	static const u32 hz[LOOP_CS] = { 20000000, 10000000 };
	int i, rc;

	loop_pdev = platform_device_register_simple(
		"spi_vdm_loop", PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(loop_pdev))
		return PTR_ERR(loop_pdev);
	loop_ctlr = spi_alloc_host(&loop_pdev->dev, 0);
	if (loop_ctlr == NULL) {
		platform_device_unregister(loop_pdev);
		return -ENOMEM;
	}
	loop_ctlr->bus_num = -1;
	loop_ctlr->num_chipselect = LOOP_CS;
	loop_ctlr->mode_bits = LOOP_MODES;
	loop_ctlr->bits_per_word_mask =
		SPI_BPW_RANGE_MASK(4, 16) | SPI_BPW_MASK(32);
	loop_ctlr->min_speed_hz = 10000;
	loop_ctlr->max_speed_hz = 50000000;
	loop_ctlr->transfer_one = loop_transfer_one;
	loop_ctlr->set_cs = loop_set_cs;
	rc = spi_register_controller(loop_ctlr);
	if (rc != 0) {
		spi_controller_put(loop_ctlr);
		loop_ctlr = NULL;
		platform_device_unregister(loop_pdev);
		return rc;
	}
	for (i = 0; i < LOOP_CS; i++) {
		struct spi_board_info bi = {
			.modalias = "dh2228fv",
			.max_speed_hz = hz[i],
			.chip_select = i,
		};

		loop_dev[i] = spi_new_device(loop_ctlr, &bi);
		if (loop_dev[i] == NULL) {
			loop_cleanup();
			return -ENODEV;
		}
	}
	pr_info("spi_vdm_loop: bus %d, chip selects 0 and 1\n",
		loop_ctlr->bus_num);
	return 0;
}

static void __exit loop_exit(void)
{
	loop_cleanup();
}

module_init(loop_init);
module_exit(loop_exit);
MODULE_DESCRIPTION("vdm e2e: loopback SPI controller with spidev devices");
MODULE_LICENSE("GPL");
