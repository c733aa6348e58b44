/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vdm.h
 * @brief Umbrella header: the whole vdm core API.
 */
#ifndef VDM_VDM_H
#define VDM_VDM_H
#include "admin.h"
#include "common.h"
#include "device.h"
#include "mem.h"
#include "mmio.h"
#include "pci.h"
#include "state.h"
#include "vfio_user.h"
#include "vhost_user.h"
#include "virtqueue.h"
#endif
