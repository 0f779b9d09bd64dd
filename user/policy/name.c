// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Domain names as rule destinations (see name.h). Validation follows RFC
 * 1035 and 1123: a name is what `getaddrinfo()` may be asked for and a
 * resolver answers, spelled in letters, digits and hyphens (international
 * names in their punycode form, xn--...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/name.h"
#include "util/err.h"

#define LABEL_MAX 63

static bool ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool name_like(const char *s)
{
	bool alpha = false;

	for (; *s; s++) {
		if (*s == ':' || *s == '/')
			return false;
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '*' ||
		    *s == '-' || *s == '_' || (unsigned char)*s >= 0x80)
			alpha = true;
	}
	return alpha;
}

/* Four labels, the first three all digits: "10.0.0.1x" is a typo. */
static bool looks_v4(const char *s)
{
	int dots = 0;

	for (; *s && dots < 3; s++) {
		if (*s == '.')
			dots++;
		else if (*s < '0' || *s > '9')
			return false;
	}
	return dots == 3 && !strchr(s, '.');
}

int name_parse(const char *s, char *out, char *err, size_t errlen)
{
	char q[300], *o = out;
	size_t len = strlen(s), i, lab = 0, labstart = 0;
	bool digits = true, wild = false;
	const char *why = NULL;

	quote_text(s, q, sizeof(q));
	if (len && s[len - 1] == '.')
		len--; /* the root's dot */
	if (!len) {
		seterr(err, errlen, "bad name '%s': empty", q);
		return -EINVAL;
	}
	if (len > EGR_NAME_MAX) {
		seterr(err, errlen, "bad name '%s': longer than %d characters", q, EGR_NAME_MAX);
		return -EINVAL;
	}
	if (s[0] == '*') {
		if (len == 1) {
			seterr(err, errlen,
			       "bad name '%s': a wildcard needs a domain (*.example.com)", q);
			return -EINVAL;
		}
		if (s[1] != '.') {
			why = "'*' only as the whole first label (*.example.com)";
			goto bad;
		}
		wild = true;
		*o++ = '*';
		*o++ = '.';
		i = 2;
		labstart = 2;
	} else {
		i = 0;
	}
	for (; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if (!lab) {
				why = "empty label";
				goto bad;
			}
			if (s[i - 1] == '-') {
				why = "a label ends with a hyphen";
				goto bad;
			}
			if (i < len) {
				*o++ = '.';
				digits = true;
			}
			lab = 0;
			labstart = i + 1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == '*') {
			why = "'*' only as the whole first label (*.example.com)";
			goto bad;
		}
		if (c >= 0x80) {
			why = "international names go in their punycode form (xn--...)";
			goto bad;
		}
		if (!ldh(c)) {
			seterr(err, errlen, "bad name '%s': '%c' is not a letter, digit or hyphen",
			       q, c < 0x20 || c == 0x7f ? '?' : c);
			return -EINVAL;
		}
		if (c == '-' && i == labstart) {
			why = "a label starts with a hyphen";
			goto bad;
		}
		if (++lab > LABEL_MAX) {
			why = "a label is longer than 63 characters";
			goto bad;
		}
		if (c < '0' || c > '9')
			digits = false;
		*o++ = c;
	}
	*o = '\0';
	if (digits || looks_v4(out) || !strcmp(out, "any")) {
		/* "10.1.2", "10.0.0.1x", "ANY": an address gone wrong (no
		 * top-level domain is numeric)
		 */
		seterr(err, errlen, "bad destination '%s': not an IPv4 or IPv6 address", q);
		return -EINVAL;
	}
	(void)wild;
	return 0;
bad:
	seterr(err, errlen, "bad name '%s': %s", q, why);
	return -EINVAL;
}

/* --- interning: a hash set of the names seen, never freed --- */

struct intern {
	pthread_mutex_t lock;
	char **slot;
	size_t size, n;
};

static struct intern names = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int intern_grow(struct intern *t)
{
	size_t size = t->size ? 2 * t->size : 256, i, h;
	char **slot = calloc(size, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (i = 0; i < t->size; i++) {
		if (!t->slot[i])
			continue;
		for (h = str_hash(t->slot[i]) & (size - 1); slot[h]; h = (h + 1) & (size - 1))
			;
		slot[h] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->size = size;
	return 0;
}

const char *name_intern(const char *canon)
{
	const char *ret = NULL;
	size_t h;

	pthread_mutex_lock(&names.lock);
	if (2 * (names.n + 1) > names.size && intern_grow(&names))
		goto out;
	for (h = str_hash(canon) & (names.size - 1); names.slot[h];
	     h = (h + 1) & (names.size - 1)) {
		if (!strcmp(names.slot[h], canon)) {
			ret = names.slot[h];
			goto out;
		}
	}
	names.slot[h] = strdup(canon);
	if (names.slot[h]) {
		ret = names.slot[h];
		names.n++;
	}
out:
	pthread_mutex_unlock(&names.lock);
	return ret;
}

void dest_set_name(struct egr_dest *d, const char *interned)
{
	memset(d, 0, sizeof(*d));
	d->family = EGR_FAM_NAME;
	memcpy(d->addr, &interned, sizeof(interned));
}

const char *dest_name(const struct egr_dest *d)
{
	const char *p;

	if (d->family != EGR_FAM_NAME)
		return NULL;
	memcpy(&p, d->addr, sizeof(p));
	return p;
}

bool name_match(const char *pattern, const char *name)
{
	size_t pl, nl;

	if (pattern[0] != '*')
		return !strcmp(pattern, name);
	pl = strlen(pattern + 1); /* ".example.com" */
	nl = strlen(name);
	return nl > pl && !strcmp(name + nl - pl, pattern + 1);
}

/* data[1..] = text reversed, n bytes. */
static void reversed(uint8_t *data, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		data[1 + i] = text[n - 1 - i];
}

uint32_t name_key(uint32_t slot, const char *pattern, struct egr_lpm_name *key)
{
	size_t n;

	memset(key, 0, sizeof(*key));
	key->data[0] = slot;
	if (pattern[0] == '*') {
		n = strlen(pattern + 1); /* ".example.com" -> "moc.elpmaxe." */
		reversed(key->data, pattern + 1, n);
		n += 1;
	} else {
		n = strlen(pattern); /* + '\0' */
		reversed(key->data, pattern, n);
		n += 2;
	}
	key->prefixlen = 8 * n;
	return n;
}

int name_of_key(const struct egr_lpm_name *key, uint32_t *slot, char *out)
{
	uint32_t n = key->prefixlen / 8, i;
	char *o = out;

	if (key->prefixlen % 8 || n < 2 || n > EGR_NAME_KEY_MAX)
		return -EINVAL;
	*slot = key->data[0];
	if (key->data[n - 1] == '\0') {
		n -= 2; /* the name's characters */
		if (n > EGR_NAME_MAX)
			return -EINVAL;
	} else {
		n -= 1;
		if (n + 1 > EGR_NAME_MAX || key->data[n] != '.')
			return -EINVAL;
		*o++ = '*';
	}
	for (i = 0; i < n; i++) {
		if (!key->data[n - i])
			return -EINVAL;
		*o++ = key->data[n - i];
	}
	*o = '\0';
	return 0;
}

void name_deny_error(const char *name, char *err, size_t errlen)
{
	char q[300];

	seterr(err, errlen,
	       "deny by name is not supported ('%s'): another resolver or a hard-coded address walks around it; "
	       "deny the addresses instead (deny <target> 10.0.0.0/8), or leave the name out of the allow rules "
	       "(the default denies it)",
	       quote_text(name, q, sizeof(q)));
}

/* Well-known public resolvers that serve DNS over TLS and over HTTPS. */
static const char *const doh_servers[] = {
	"1.1.1.1",	       "1.0.0.1",	       "8.8.8.8",	       "8.8.4.4",
	"9.9.9.9",	       "149.112.112.112",      "208.67.222.222",       "208.67.220.220",
	"94.140.14.14",	       "2606:4700:4700::1111", "2606:4700:4700::1001", "2001:4860:4860::8888",
	"2001:4860:4860::8844", "2620:fe::fe",	       "2620:fe::9",
};

/* Does allow rule u cover tcp:port to addr (family f)? */
static bool allow_covers(const struct egr_urule *u, int f, const uint8_t *addr, uint16_t port)
{
	const struct egr_dest *d = &u->dest;
	unsigned int i, bits = d->plen;

	if (u->action != EGR_ALLOW || d->family != f)
		return false;
	if (u->ps.proto != EGR_UP_ANY && u->ps.proto != EGR_UP_TCP)
		return false;
	if (u->ps.proto == EGR_UP_TCP && u->ps.has_ports && (port < u->ps.lo || port > u->ps.hi))
		return false;
	for (i = 0; i < bits / 8; i++)
		if (d->addr[i] != addr[i])
			return false;
	return bits % 8 == 0 || !((d->addr[i] ^ addr[i]) & (0xff << (8 - bits % 8)));
}

void names_dot_doh_warn(const struct egr_policy *p, const char *label, struct egr_warn *w)
{
	uint8_t a[16];
	size_t i, k;
	bool names = false, dot = false, doh = false;
	const char *first = NULL;

	for (i = 0; i < p->n && !names; i++)
		names = dest_is_name(&p->rules[i].dest);
	if (!names)
		return;
	for (i = 0; i < p->n; i++) {
		const struct egr_urule *u = &p->rules[i];

		/* tcp:853 named, to anywhere */
		if (u->action == EGR_ALLOW && !dest_is_name(&u->dest) && u->ps.proto == EGR_UP_TCP &&
		    u->ps.has_ports && u->ps.lo <= 853 && 853 <= u->ps.hi)
			dot = true;
		/* a public resolver, on 853 (DoT) or 443 (DoH) */
		for (k = 0; k < sizeof(doh_servers) / sizeof(doh_servers[0]); k++) {
			int f = strchr(doh_servers[k], ':') ? 6 : 4;

			if (inet_pton(f == 4 ? AF_INET : AF_INET6, doh_servers[k], a) != 1)
				continue;
			if (allow_covers(u, f, a, 853))
				dot = true;
			if (!doh && allow_covers(u, f, a, 443)) {
				doh = true;
				first = doh_servers[k];
			}
		}
	}
	if (dot)
		warn_add(w,
			 "%s: the policy has name rules and allows tcp:853 (DNS over TLS) by address: answers over TLS are not learned from, so names resolved that way stay denied",
			 label);
	if (doh)
		warn_add(w,
			 "%s: the policy has name rules and allows a DNS-over-HTTPS server by address (%s tcp:443): answers over HTTPS are not learned from, so names resolved that way stay denied",
			 label, first);
}
