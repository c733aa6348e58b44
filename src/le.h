/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal name of the public little-endian helpers (vdm/le.h). */
#ifndef VDM_LE_H
#define VDM_LE_H

#include "vdm/le.h"

#endif
