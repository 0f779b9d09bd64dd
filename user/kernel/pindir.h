/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A directory of pins under EGR_PIN_ROOT (a cgroup's filter, the strict
 * guard, the packet-socket guard) is made whole or not at all: its pins go
 * into EGR_PIN_ROOT/tmp-<tag>-<pid>, which is renamed into place last; it
 * is removed by renaming it to EGR_PIN_ROOT/dead-<tag>-<pid> first. What a
 * killed process leaves behind (tmp-*, dead-*) is removed by the next one
 * (pindir_clean_stale()). Only the pins a directory may hold are removed:
 * anything else in it makes the removal fail (-ENOTEMPTY).
 */
#ifndef EGR_PINDIR_H
#define EGR_PINDIR_H

#include <stdbool.h>
#include <stddef.h>

/* The names a pin directory may hold. */
struct pinset {
	const char *const *names;
	size_t n;
	const char *prefix; /* and every name starting with this; NULL: none */
};

/* dir/name into buf. */
void pindir_path(const char *dir, const char *name, char *buf, size_t len);

/* Open the pin dir/name: a file descriptor, or -errno. */
int pindir_open(const char *dir, const char *name);

/* Create EGR_PIN_ROOT/tmp-<tag>-<pid> (0700) into tmp. 0 or -errno. */
int pindir_make_tmp(const char *tag, char *tmp, size_t len);

/* Rename tmp to dir; 0, or -errno with tmp removed. */
int pindir_commit(const char *tmp, const char *dir, const struct pinset *set);

/* Rename dir to EGR_PIN_ROOT/dead-<tag>-<pid> (its name into dead). 0 or -errno. */
int pindir_retire(const char *dir, const char *tag, char *dead, size_t len);

/* Unlink the pins of set in dir, then dir. 0, or -ENOTEMPTY when dir stays. */
int pindir_remove(const char *dir, const struct pinset *set);

/* Remove the tmp-<tag>-<pid> and dead-<tag>-<pid> directories whose process
 * is gone, of the tags mine() accepts.
 */
void pindir_clean_stale(bool (*mine)(const char *tag), const struct pinset *set);

/* Test hook: when the environment variable var is step, SIGKILL this
 * process, so that a test can look at what that step leaves behind
 * (EGRESSCTL_TEST_GROW_STOP, EGRESSCTL_TEST_ATTACH_STOP).
 */
void pindir_test_stop(const char *var, const char *step);

#endif /* EGR_PINDIR_H */
