/* SPDX-License-Identifier: BSD-3-Clause */
/* Catalogue entries for the vfio-user server (cat_vfio_user.c). */
#ifndef VDM_TESTS_CAT_VFIO_USER_H
#define VDM_TESTS_CAT_VFIO_USER_H

#include <check.h>

/** @brief Add the vfio-user catalogue test case to @p s. */
void cat_vfu_add(Suite *s);

#endif
