/* SPDX-License-Identifier: BSD-3-Clause */
/* Keeps the test support library non-empty. */
int vdm_testsupport_keep;
