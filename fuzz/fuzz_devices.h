/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fuzzed device types, in kind order: FZ_KIND_<T> numbers them (the
 * device-kind byte of the transport targets' inputs picks one modulo
 * FZ_KIND_COUNT, so the order is part of the corpus format: append only).
 * Each has its plug-in fuzz/dev_<t>.c defining fuzz_dev_<t>
 * (struct fuzz_dev_plugin, fuzz_dev.h) and a target line in
 * fuzz/targets.txt.
 *
 * Hosted test code, not part of the library.
 */
#ifndef VDM_FUZZ_DEVICES_H
#define VDM_FUZZ_DEVICES_H

/* X(lower-case name, upper-case name) */
#define FUZZ_DEVICES(X)                                                        \
    X(blk, BLK)                                                                \
    X(rng, RNG)                                                                \
    X(input, INPUT)                                                            \
    X(sound, SOUND)                                                            \
    X(i2c, I2C)                                                                \
    X(gpio, GPIO)                                                              \
    X(gpu, GPU)                                                                \
    X(rpmb, RPMB)                                                              \
    X(can, CAN)                                                                \
    X(spi, SPI)                                                                \
    X(scmi, SCMI)                                                              \
    X(balloon, BALLOON)                                                        \
    X(console, CONSOLE)

#endif
