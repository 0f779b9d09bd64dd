/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * egressctl watch: keeps containers' policies in force across restarts.
 * A container's cgroup is removed when it stops and re-created, with a new
 * id, when it starts; the kernel drops the filter with the old cgroup. watch
 * re-attaches and re-applies the saved (state.h) or label policy on every
 * start, and cleans up pins and state when containers go.
 */
#ifndef EGR_WATCH_H
#define EGR_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"
#include "policy/rule.h"
#include "util/err.h"

/* What a line that watch has to say is: a log line (the CLI prints it on
 * stdout), or a warning or an error of a step below (stderr).
 */
enum watch_line {
	WATCH_LOG,
	WATCH_WARN,
	WATCH_ERR
};

struct watch_opts {
	const char *docker_host;
	const char *guard_cgroup; /* strict: where the guard goes ("/docker") */
	bool strict; /* keep the guard installed */
	bool unmanaged_deny; /* containers without a policy: deny */
	bool json; /* log lines as JSON objects */
	bool pods; /* Kubernetes pods, not containers: JSON lines name a "pod" */
	unsigned int preload; /* program instances kept loaded ahead of need */
	bool follow_cgroups; /* --follow-cgroups given (Podman: the default) */
	bool no_follow_cgroups; /* --no-follow-cgroups: start events alone */
	/* Takes every line, without its newline, as it comes. */
	void (*out)(enum watch_line kind, const char *line);
	/* Optional, where events are handled by other threads: a full pass
	 * holds one container at a time, so that none of its events is
	 * handled meanwhile and other containers' are. hold returns a handle
	 * for unhold, or -1 (stopping: the pass ends).
	 */
	int (*hold)(const char *id);
	void (*unhold)(int handle);
};

/* Monotonic clock in ns. */
uint64_t watch_now_ns(void);

/*
 * Bring one container in line: attach + apply its policy if it is running
 * and has one (the guard entry if not); t0 is when the trigger (the start
 * event) was seen, for the logged start->enforced time. event names the
 * trigger in the log ("start", "startup", "resync", "rename").
 * 0, or -errno (logged).
 */
int watch_container(const struct watch_opts *o, const char *id, const char *event, uint64_t t0);

/* The same for an engine event: t0 is when the engine says it happened
 * (CLOCK_MONOTONIC ns; watch_event_t0()), ev_ns its CLOCK_REALTIME time (0:
 * unknown), recv when watch received it (monotonic). With -j the
 * enforcement line then carries event_time, enforced_time and received_ms.
 */
int watch_event(const struct watch_opts *o, const char *id, const char *event, uint64_t t0,
		uint64_t ev_ns, uint64_t recv);

/*
 * The cgroup rel (below the cgroup v2 mount) of container id was just
 * created (runtime/cgfollow.h; t0: when that was seen): its policy in force
 * there as soon as the engine answers for it, ahead of the start event
 * reaching watch, which then finds it in force and logs when that was.
 * Quiet unless it put a policy in force. 0, or -errno.
 */
int watch_new_cgroup(const struct watch_opts *o, const char *id, const char *rel, uint64_t t0);

/* t0 (monotonic) for an event the engine timed at ev_ns (realtime): when it
 * happened, or now if ev_ns is unknown or implausible (clocks apart).
 */
uint64_t watch_event_t0(uint64_t ev_ns);

/* Is an event the engine timed at ev_ns (realtime; 0: unknown) a replay of
 * one from before the subscription made at subscribed (watch_now_ns())? Its
 * age is the engine's time of it against the clock now (both realtime, so a
 * step of the clock before the event does not make a new one look old), the
 * subscription's against the monotonic clock; an event more than 2 s older
 * than the subscription is a replay.
 */
bool watch_event_replayed(uint64_t ev_ns, uint64_t subscribed);

/*
 * Preloaded program instances (kernel/kpool.h): o->preload of them kept
 * loaded by background threads, so that an attach takes one instead of
 * loading (verifying) its own. Start: what a killed watch left is adopted.
 * Stop: this process's instances are removed.
 */
int watch_pool_start(const struct watch_opts *o);
void watch_pool_stop(void);

/* The container died (destroyed = removed for good: its state goes too).
 * Pins of its dead cgroups are removed.
 */
int watch_gone(const struct watch_opts *o, const char *id, bool destroyed);

/*
 * Full pass: the guard (strict), every running container, state files of
 * containers that no longer exist, pins of cgroups that are gone. quiet:
 * log only what changes. 0, or -errno when Docker could not be asked.
 * Events may be handled meanwhile (o->hold): the guard keeps the entries
 * they added.
 */
int watch_reconcile(const struct watch_opts *o, const char *event, bool quiet);

/* Strict mode: is the cgroup rel (below the cgroup v2 mount) under the
 * guarded one?
 */
bool watch_guarded(const struct watch_opts *o, const char *rel);

/* What a step below had to say: its warnings (freed), then err (if any). */
void watch_report(const struct watch_opts *o, struct egr_warn *warn, const char *err);

/* Remove pins of cgroups that are gone; returns how many. */
int watch_cleanup_pins(const struct watch_opts *o);

/* One log line to o->out: text, or with o->json a JSON object. */
void watch_log(const struct watch_opts *o, const char *action, const char *id, const char *name,
	       double ms, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif /* EGR_WATCH_H */
