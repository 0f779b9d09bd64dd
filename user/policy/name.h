/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Domain names as rule destinations (user/policy/name.c): parsing and
 * validation, the canonical text, the wildcard matcher, the name trie key
 * of include/egressctl.h, and the destination form of a name. Pure code.
 *
 * A name destination is a struct egr_dest with family EGR_FAM_NAME whose
 * first 8 address bytes hold a pointer to the name's canonical text,
 * interned: one copy per distinct name for the life of the process, so
 * two destinations name the same name exactly when their bytes are equal,
 * and every comparison, hash and copy made for addresses works for names.
 */
#ifndef EGR_NAME_H
#define EGR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "policy/rule.h"

/* Canonical text of a name, its NUL included. */
#define EGR_NAME_BUF (EGR_NAME_MAX + 1)

/*
 * s as a name: "api.example.com", "*.example.com", any case, an optional
 * final dot. Labels of 1-63 letters, digits and hyphens, not starting or
 * ending with a hyphen; at most EGR_NAME_MAX characters; '*' only as the
 * whole first label; the last label not all digits (that is an address).
 * out (EGR_NAME_BUF bytes) gets the canonical text: lowercase, no final
 * dot. 0, or -EINVAL with one line in err naming s.
 */
int name_parse(const char *s, char *out, char *err, size_t errlen);

/* Does s look like a name rather than an address (so that an error about
 * it should be about a name)? Letters, or a '*', and no ':' or '/'.
 */
bool name_like(const char *s);

/* The interned copy of canonical name text: NULL when memory ran out. */
const char *name_intern(const char *canon);

/* A name destination for interned text. */
void dest_set_name(struct egr_dest *d, const char *interned);

/* The text of a name destination (NULL for an address). */
const char *dest_name(const struct egr_dest *d);

static inline bool dest_is_name(const struct egr_dest *d)
{
	return d->family == EGR_FAM_NAME;
}

/* Is canonical pattern ("api.example.com", "*.example.com") matched by
 * the canonical name? A wildcard matches names ending in its suffix, at
 * any depth, not the suffix itself. (The kernel does the same with its
 * name trie, bpf/dns.bpf.h.)
 */
bool name_match(const char *pattern, const char *name);

/* The name trie key of canonical pattern in slot (include/egressctl.h):
 * returns the key's data bytes in use (prefixlen / 8). For a name (not a
 * wildcard) it is also the key the kernel looks that name up with.
 */
uint32_t name_key(uint32_t slot, const char *pattern, struct egr_lpm_name *key);

/* The pattern of a name trie key into out (EGR_NAME_BUF): 0, or -EINVAL
 * for a key no pattern gives. *slot gets its slot.
 */
int name_of_key(const struct egr_lpm_name *key, uint32_t *slot, char *out);

struct egr_warn;

/* A policy with name rules that also allows DNS over TLS (tcp:853) or a
 * well-known DNS-over-HTTPS server (tcp:443) by address: a warning line in
 * w (label names the target), for each.
 */
void names_dot_doh_warn(const struct egr_policy *p, const char *label, struct egr_warn *w);

/* The message refusing `deny` with a name, into err. */
void name_deny_error(const char *name, char *err, size_t errlen);

#endif /* EGR_NAME_H */
