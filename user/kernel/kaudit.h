/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What audit mode collected in egr_audit (user/kernel/kaudit.c). */
#ifndef EGR_KAUDIT_H
#define EGR_KAUDIT_H

#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"

struct kaudit_entry {
	struct egr_audit_key k;
	struct egr_audit_val v;
	char name[EGR_NAME_KEY_MAX]; /* egr_anames: the name a DNS answer gave k.dst; "" none */
	uint64_t name_ns;	      /* when that answer came (egr_aname.ns) */
};

/* Every entry of egr_audit (at most EGR_AUDIT_MAX), with the name of its
 * destination where audit mode saw one in a DNS answer. *out is malloc'd.
 */
int kaudit_read(const struct egr_kstate *ks, struct kaudit_entry **out, size_t *n);

/* Delete the entries e[0..n) (what was read: entries made since stay) and
 * the names of their destinations, and zero the count of packets that did
 * not fit (audit_unrecorded).
 */
int kaudit_reset(const struct egr_kstate *ks, const struct kaudit_entry *e, size_t n);

#endif /* EGR_KAUDIT_H */
