/* SPDX-License-Identifier: BSD-3-Clause */
/* Catalogue entries for the console device (cat_console.c). */
#ifndef VDM_TESTS_CAT_CONSOLE_H
#define VDM_TESTS_CAT_CONSOLE_H

#include <check.h>

/** @brief Add the console catalogue test case to @p s. */
void cat_console_add(Suite *s);

#endif
