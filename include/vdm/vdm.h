/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vdm.h
 * @brief Umbrella header: the whole vdm core API.
 */
#ifndef VDM_VDM_H
#define VDM_VDM_H
#include "common.h"
#include "device.h"
#include "mem.h"
#include "virtqueue.h"
#endif
