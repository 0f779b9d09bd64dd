/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helper threads for work split in two or more. A thread costs 20-70 us
 * to start and join on a VM, as much as a small policy's share of the
 * work: helpers are started when a job finds none free (up to one per CPU
 * but the caller's), kept for the next jobs, and one that has just
 * finished looks for the next job for a while before it sleeps. A job must
 * not queue jobs.
 */
#ifndef EGR_THREAD_H
#define EGR_THREAD_H

#include <stdbool.h>

struct helper_job {
	void *(*fn)(void *);
	void *arg;
	struct helper_job *next;
	int done; /* set by the helper, read with helper_wait() */
	bool queued; /* false: it could not be queued and ran in helper_run() */
	bool taken; /* a helper has it (under the pool's lock) */
};

/*
 * Run fn(arg) on a helper thread, started on another CPU than the caller's.
 * Without one (one CPU, none could be started, or after helpers_done())
 * it runs right away in the caller. Either way helper_wait() returns once
 * it has run (and runs it in the caller if no helper has taken it yet, all
 * being busy); job must stay valid until then.
 */
void helper_run(struct helper_job *job, void *(*fn)(void *), void *arg);
void helper_wait(struct helper_job *job);

/*
 * Start the helpers now: a new thread can take a while to get a CPU (a
 * VM's idle vCPU has to be woken), so a command that will have jobs starts
 * them first thing.
 */
void helpers_start(void);

/*
 * No more jobs: the helpers end now rather than at exit (jobs still queued
 * are run first; any job after this runs in the caller).
 */
void helpers_done(void);

/* Helpers that can run next to the caller: CPUs - 1 (0 on one CPU). */
unsigned int helpers(void);

#endif /* EGR_THREAD_H */
