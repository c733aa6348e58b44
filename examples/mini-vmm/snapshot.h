/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mini-vmm snapshot: save a running machine mid-I/O to a file and restore
 * it in a fresh process (snapshot.c; the file layout is described there).
 */
#ifndef MINIVMM_SNAPSHOT_H
#define MINIVMM_SNAPSHOT_H

/* Phase 1: build the machine, start I/O, save it to @p file mid-I/O.
 * Returns 0 when the snapshot was written. */
int snapshot_save_run(const char *file);

/* Phase 2: a fresh process rebuilds the machine from @p file, checks that
 * corrupted device images are refused, restores, and lets the guest
 * driver finish and check every request. Returns 0 when all was right. */
int snapshot_restore_run(const char *file);

/* Both phases: phase 1, then execv() of this program with
 * "--restore @p file", so the restore really happens in a new process.
 * Returns only on failure. */
int snapshot_test(const char *self, const char *file);

#endif
