// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Domain names (user/policy/name.c): name_parse(), and what is built on it.
 * Invariants: an accepted name is canonical (lowercase letters, digits,
 * hyphens and dots, an optional leading "*.", labels of 1-63, at most 253
 * characters) and parses to itself; its trie key reads back as itself; the
 * wildcard matcher agrees with the trie's suffix rule on the key bytes
 * (a wildcard's key is a prefix of a name's lookup key exactly when it
 * matches); a refusal is one line.
 */
#include "fuzz.h"
#include "policy/name.h"

static bool key_prefix(const struct egr_lpm_name *pat, const struct egr_lpm_name *name)
{
	return pat->prefixlen <= name->prefixlen &&
	       !memcmp(pat->data, name->data, pat->prefixlen / 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), out[EGR_NAME_BUF], back[EGR_NAME_BUF], err[512] = "";
	const char *name, *sep;
	struct egr_lpm_name k, kn;
	uint32_t slot;
	size_t i, lab = 0;

	if (name_parse(s, out, err, sizeof(err))) {
		FUZZ_CHECK(fuzz_one_line(err), "'%s': message '%s'", s, err);
		free(s);
		return 0;
	}
	FUZZ_CHECK(strlen(out) <= EGR_NAME_MAX, "'%s': too long", out);
	name = out[0] == '*' ? out + 2 : out;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (c == '.') {
			FUZZ_CHECK(lab >= 1 && lab <= 63, "'%s': label of %zu", out, lab);
			lab = 0;
			continue;
		}
		FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-',
			   "'%s': character %d", out, c);
		lab++;
	}
	FUZZ_CHECK(lab >= 1 && lab <= 63, "'%s': last label of %zu", out, lab);
	FUZZ_CHECK(!name_parse(out, back, err, sizeof(err)) && !strcmp(out, back),
		   "'%s' does not parse to itself", out);
	name_key(1, out, &k);
	FUZZ_CHECK(!name_of_key(&k, &slot, back) && slot == 1 && !strcmp(back, out),
		   "'%s': key reads back as '%s'", out, back);
	/* the kernel's lookup of a name with the pattern's suffix and more */
	if (out[0] == '*') {
		char probe[EGR_NAME_BUF + 8];

		snprintf(probe, sizeof(probe), "x%s", out + 1);
		if (strlen(probe) <= EGR_NAME_MAX) {
			name_key(1, probe, &kn);
			FUZZ_CHECK(key_prefix(&k, &kn) == name_match(out, probe),
				   "'%s' vs '%s': trie and matcher disagree", out, probe);
		}
		sep = out + 2;
		name_key(1, sep, &kn); /* the suffix itself: never */
		FUZZ_CHECK(!key_prefix(&k, &kn) && !name_match(out, sep), "'%s' matches '%s'", out,
			   sep);
	} else {
		name_key(1, out, &kn);
		FUZZ_CHECK(key_prefix(&k, &kn) && name_match(out, out), "'%s' misses itself", out);
	}
	free(s);
	return 0;
}
