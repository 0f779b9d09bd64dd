/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading denied and audited packets from the egr_events ring buffers of
 * one or every attached cgroup: the engine of `egressctl events`, which
 * formats and prints what it hands over (user/cli/cmd_events.c).
 *
 * Each attached cgroup has its own egr_events ring buffer; the program
 * writes to it only while egr_evcfg.enabled is set, through a per-cgroup
 * token bucket (rate, burst), counting what it suppressed. A reader sets
 * enabled on every cgroup it watches when it adds it (and the bucket),
 * polls all the ring buffers with one libbpf ring_buffer, and clears
 * enabled again when it is closed. events_follow() follows the attached
 * cgroups: new ones are watched, detached or re-attached ones (new maps)
 * dropped, and the ring_buffer rebuilt.
 *
 * The deciding rule's id is turned into its text by reading the policy
 * (kpolicy_read_ex(), without the hit counters); the copy is re-read when
 * an id is not in it, or when it is older than RULES_MAX_AGE_NS (live edits
 * may give a removed rule's id to a new rule), plus 20 times what the last
 * read took, so a huge policy costs at most 5% of the reader's time.
 */
#ifndef EGR_EVENTS_H
#define EGR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"

/* One watched cgroup; the callbacks may read ks, label and cgroup. */
struct events_target {
	struct egr_kstate ks;
	char label[300]; /* target_label() */
	char cgroup[256]; /* its path at attach */
	int evcfg_fd, events_fd;
	int lock_fd; /* the pin directory, flock()ed: one reader per cgroup */
	uint32_t events_id; /* the egr_events map's id: a re-attach makes a new one */
	bool enabled;
	struct egr_live_rule *rules; /* sorted by id */
	size_t nrules;
	int64_t rules_at; /* CLOCK_MONOTONIC ns of the read, 0: never */
	int64_t rules_cost; /* how long that read took, ns */
	struct egr_counter st0[EGR_STAT_MAX];
	struct events_reader *r;
};

struct events_opts {
	uint32_t rate, burst; /* the token bucket to set (0: keep) */
	/* Each event; a non-zero return stops events_poll() with it. */
	int (*on_event)(struct events_target *t, const struct egr_event *e, void *ctx);
	/* A cgroup that could not be watched: one line, for stderr. */
	void (*on_error)(const char *line, void *ctx);
	void *ctx;
};

struct events_reader *events_open(const struct events_opts *o);
/* Close: events are turned off again on every watched cgroup. */
void events_close(struct events_reader *r);

/* Watch one opened target (takes ks). 0 or -errno (said to on_error). */
int events_add(struct events_reader *r, struct egr_kstate *ks);

/* Follow the attached cgroups (see above). 0 or -errno (said). */
int events_follow(struct events_reader *r);

/* How many cgroups are watched. */
size_t events_count(const struct events_reader *r);

/* Wait up to timeout_ms for events and hand them to on_event: the number
 * handled, or what on_event returned, or -errno.
 */
int events_poll(struct events_reader *r, int timeout_ms);

/* The text of rule id of t ("allow 10.0.0.0/8 tcp:443", "default",
 * "rule #7 (removed)"). Returns buf or a constant.
 */
const char *events_rule_text(struct events_target *t, uint32_t id, char *buf, size_t len);

/* The name the cgroup learned the event's destination for (a name rule's
 * name; an expired address counts), or NULL.
 */
const char *events_learned_name(struct events_target *t, const struct egr_event *e, char *buf,
				size_t len);

/* Events the watched cgroups suppressed (rate limit) and lost (ring
 * buffer full) since they were added.
 */
void events_totals(const struct events_reader *r, uint64_t *suppressed, uint64_t *lost);

#endif /* EGR_EVENTS_H */
