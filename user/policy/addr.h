/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsing and printing of destinations, port specs and rules. Pure code. */
#ifndef EGR_ADDR_H
#define EGR_ADDR_H

#include "policy/rule.h"
#include "util/err.h" /* quote_text() */

/* Parse "1.2.3.4", "1.2.3.4/8", "2001:db8::/32", "::1". Host bits are
 * cleared. "any" is not handled here (it is two destinations): see
 * parse_dests(). Returns 0 or -EINVAL, with a message in err (one line, no
 * trailing newline, naming the bad text) when err is non-NULL.
 */
int parse_dest(const char *s, struct egr_dest *d, char *err, size_t errlen);

/* An address as parse_dest() reads it, or else a domain name
 * (policy/name.h: "api.example.com", "*.example.com"). 0 or -EINVAL (or
 * -ENOMEM), the message in err about a name if s looks like one.
 */
int parse_dest_or_name(const char *s, struct egr_dest *d, char *err, size_t errlen);

/* Like parse_dest_or_name(), and "any" yields 0.0.0.0/0 and ::/0. Fills
 * out[0..1]; returns the count (1 or 2) or -EINVAL.
 */
int parse_dests(const char *s, struct egr_dest out[2], char *err, size_t errlen);

/* "tcp", "udp", "icmp", "tcp:443", "udp:53", "tcp:8000-8999". Ports 1..65535,
 * lo <= hi; icmp takes no port. Returns 0 or -EINVAL (message in err).
 */
int parse_portspec(const char *s, struct egr_portspec *ps, char *err, size_t errlen);

/* Canonical text: "10.0.0.0/8" (a /32 or /128 keeps its length), a name
 * as it is ("*.example.com"), "tcp:443", "tcp:8000-8999", "tcp", "any"
 * (for EGR_UP_ANY). Return buf. A buffer of EGR_DEST_STRLEN holds any
 * destination.
 */
#define EGR_DEST_STRLEN 256
const char *format_dest(const struct egr_dest *d, char *buf, size_t len);
const char *format_portspec(const struct egr_portspec *ps, char *buf, size_t len);

/* Add a rule to a policy (grows the array). 0 or -ENOMEM. */
int policy_add(struct egr_policy *p, const struct egr_urule *r);
void policy_free(struct egr_policy *p);

/* Two rules are the same rule (same action, destination, port spec). */
bool urule_equal(const struct egr_urule *a, const struct egr_urule *b);

#endif /* EGR_ADDR_H */
