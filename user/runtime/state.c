// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The state directory: containers' policies as JSON files (see state.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "kernel/kread.h"
#include "policy/addr.h"
#include "runtime/state.h"
#include "util/err.h"

const char *state_dir(void)
{
	const char *d = getenv("EGRESSCTL_STATE_DIR");

	return d && *d ? d : EGR_STATE_DIR_DEFAULT;
}

static bool valid_id(const char *id)
{
	size_t i;

	if (!id || strlen(id) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static void state_path(const char *id, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.json%s", state_dir(), id, suffix);
}

void state_free(struct egr_state *s)
{
	policy_free(&s->pol);
}

char *state_to_json(const struct egr_state *s)
{
	json_t *j, *rules = json_array();
	char d[EGR_DEST_STRLEN], ps[32];
	size_t i;
	char *text;

	for (i = 0; i < s->pol.n; i++) {
		const struct egr_urule *r = &s->pol.rules[i];

		json_array_append_new(rules,
				      json_pack("{s:s, s:s, s:s}", "action",
						r->action == EGR_ALLOW ? "allow" : "deny", "dest",
						format_dest(&r->dest, d, sizeof(d)), "ports",
						format_portspec(&r->ps, ps, sizeof(ps))));
	}
	j = json_pack("{s:s, s:s, s:s, s:I, s:{s:s, s:b, s:o}}", "id", s->id, "name", s->name,
		      "source", s->source[0] ? s->source : "cli", "max_rules",
		      (json_int_t)s->max_rules, "policy", "default",
		      s->pol.dflt == EGR_ALLOW ? "allow" : "deny", "audit", s->pol.audit, "rules",
		      rules);
	if (!j)
		return NULL;
	if (s->max_learned && s->max_learned != EGR_DEFAULT_MAX_LEARNED)
		json_object_set_new(j, "max_learned", json_integer(s->max_learned));
	if ((s->pol.min_ttl && s->pol.min_ttl != EGR_DEFAULT_MIN_TTL) ||
	    (s->pol.max_per_name && s->pol.max_per_name != EGR_DEFAULT_MAX_PER_NAME))
		json_object_set_new(json_object_get(j, "policy"), "dns",
				    json_pack("{s:I, s:I}", "min_ttl",
					      (json_int_t)(s->pol.min_ttl ? s->pol.min_ttl :
									   EGR_DEFAULT_MIN_TTL),
					      "max_per_name",
					      (json_int_t)(s->pol.max_per_name ?
								   s->pol.max_per_name :
								   EGR_DEFAULT_MAX_PER_NAME)));
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	return text;
}

static int rule_from_json(json_t *o, struct egr_urule *r, char *err, size_t errlen)
{
	const char *action = json_string_value(json_object_get(o, "action"));
	const char *dest = json_string_value(json_object_get(o, "dest"));
	const char *ports = json_string_value(json_object_get(o, "ports"));
	char e[512];

	memset(r, 0, sizeof(*r));
	if (!action || !dest || (strcmp(action, "allow") && strcmp(action, "deny"))) {
		snprintf(err, errlen, "a rule needs action allow|deny and dest");
		return -EPROTO;
	}
	r->action = !strcmp(action, "allow") ? EGR_ALLOW : EGR_DENY;
	if (parse_dest_or_name(dest, &r->dest, e, sizeof(e))) {
		snprintf(err, errlen, "%s", e);
		return -EPROTO;
	}
	if (ports && strcmp(ports, "any") && parse_portspec(ports, &r->ps, e, sizeof(e))) {
		snprintf(err, errlen, "%s", e);
		return -EPROTO;
	}
	return 0;
}

int state_from_json(const char *text, struct egr_state *s, char *err, size_t errlen)
{
	const char *id, *name, *source, *dflt;
	json_t *j, *pol, *rules, *o;
	json_error_t je;
	size_t i;
	int ret = -EPROTO;

	memset(s, 0, sizeof(*s));
	j = json_loads(text, 0, &je);
	if (!j) {
		snprintf(err, errlen, "line %d: %s", je.line, je.text);
		return -EPROTO;
	}
	id = json_string_value(json_object_get(j, "id"));
	name = json_string_value(json_object_get(j, "name"));
	source = json_string_value(json_object_get(j, "source"));
	pol = json_object_get(j, "policy");
	dflt = json_string_value(json_object_get(pol, "default"));
	rules = json_object_get(pol, "rules");
	if (!valid_id(id) || !json_is_object(pol) || !dflt ||
	    (strcmp(dflt, "allow") && strcmp(dflt, "deny")) || (rules && !json_is_array(rules))) {
		snprintf(err, errlen, "missing or bad id, policy, policy.default or policy.rules");
		goto out;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	snprintf(s->source, sizeof(s->source), "%s",
		 source && (!strcmp(source, "label") || !strcmp(source, "annotation")) ? source :
											 "cli");
	s->max_rules = (uint32_t)json_integer_value(json_object_get(j, "max_rules"));
	s->max_learned = (uint32_t)json_integer_value(json_object_get(j, "max_learned"));
	if (json_is_object(json_object_get(pol, "dns"))) {
		json_t *dns = json_object_get(pol, "dns");
		json_int_t t = json_integer_value(json_object_get(dns, "min_ttl"));
		json_int_t m = json_integer_value(json_object_get(dns, "max_per_name"));

		if (t < 1 || t > EGR_MAX_MIN_TTL || m < 1 || m > EGR_MAX_MAX_PER_NAME) {
			snprintf(err, errlen, "bad policy.dns (min_ttl 1-%d, max_per_name 1-%d)",
				 EGR_MAX_MIN_TTL, EGR_MAX_MAX_PER_NAME);
			goto out;
		}
		s->pol.has_dns = true;
		s->pol.min_ttl = t;
		s->pol.max_per_name = m;
	}
	s->pol.dflt = !strcmp(dflt, "allow") ? EGR_ALLOW : EGR_DENY;
	s->pol.has_dflt = true;
	s->pol.audit = json_is_true(json_object_get(pol, "audit"));
	json_array_foreach(rules, i, o)
	{
		struct egr_urule r;

		ret = rule_from_json(o, &r, err, errlen);
		if (ret)
			goto out;
		if (policy_add(&s->pol, &r)) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = 0;
out:
	if (ret)
		state_free(s);
	json_decref(j);
	return ret;
}

int state_load(const char *id, struct egr_state *s, char *err, size_t errlen)
{
	char path[4200], *text = NULL;
	size_t n = 0;
	FILE *f;
	int ret;

	memset(s, 0, sizeof(*s));
	if (!valid_id(id))
		return -ENOENT;
	state_path(id, "", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	{
		char buf[4096];
		size_t r;

		while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
			char *p = realloc(text, n + r + 1);

			if (!p) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = p;
			memcpy(text + n, buf, r);
			n += r;
			text[n] = '\0';
		}
	}
	fclose(f);
	if (!text) {
		snprintf(err, errlen, "%s: empty file", path);
		return -EPROTO;
	}
	ret = state_from_json(text, s, err, errlen);
	free(text);
	if (!ret && strcmp(s->id, id)) {
		snprintf(err, errlen, "%s: holds the state of %.12s", path, s->id);
		state_free(s);
		ret = -EPROTO;
	} else if (ret) {
		char e[300];

		snprintf(e, sizeof(e), "%s", err);
		snprintf(err, errlen, "%s: %s", path, e);
	}
	return ret;
}

static int mkdir_state(char *err, size_t errlen)
{
	const char *d = state_dir();

	if (mkdir(d, 0700) && errno != EEXIST) {
		int ret = -errno;

		seterr(err, errlen, "creating the state directory %s: %s", d, strerror(-ret));
		return ret;
	}
	return 0;
}

static int fsync_dir(const char *d)
{
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int state_save(const struct egr_state *s, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	char *text;
	size_t len;
	int fd, ret = 0;

	if (!valid_id(s->id))
		return -EINVAL;
	ret = mkdir_state(err, errlen);
	if (ret)
		return ret;
	text = state_to_json(s);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	state_path(s->id, "", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		ret = errno ? -errno : -EIO;
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		fsync_dir(state_dir());
out:
	if (ret)
		seterr(err, errlen, "saving the policy of container %.12s to %s: %s", s->id, path,
		       strerror(-ret));
	free(text);
	return ret;
}

int state_delete(const char *id)
{
	char path[4200];

	if (!valid_id(id))
		return -ENOENT;
	state_path(id, "", path, sizeof(path));
	if (unlink(path))
		return -errno;
	fsync_dir(state_dir());
	return 0;
}

int state_list(char (**ids)[65], size_t *n)
{
	char(*out)[65] = NULL;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*ids = NULL;
	*n = 0;
	d = opendir(state_dir());
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char id[65];

		if (strlen(de->d_name) != 64 + 5 || strcmp(de->d_name + 64, ".json"))
			continue;
		memcpy(id, de->d_name, 64);
		id[64] = '\0';
		if (!valid_id(id))
			continue;
		if (*n == cap) {
			void *p = realloc(out, (cap = cap ? 2 * cap : 16) * sizeof(*out));

			if (!p) {
				free(out);
				closedir(d);
				return -ENOMEM;
			}
			out = p;
		}
		memcpy(out[(*n)++], id, 65);
	}
	closedir(d);
	*ids = out;
	return 0;
}

int state_save_kernel(const struct egr_kstate *ks, const char *id, const char *name,
		      const char *source, char *err, size_t errlen)
{
	struct egr_live_rule *lr = NULL;
	struct egr_state s;
	size_t n = 0, i;
	int ret;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.source, sizeof(s.source), "%s", source);
	s.max_rules = ks->meta.max_rules;
	s.max_learned = ks->meta.max_learned;
	ret = kpolicy_read(ks, &s.pol, &lr, &n);
	if (ret) {
		seterr(err, errlen, "%s: reading the policy back: %s", name, strerror(-ret));
		return ret;
	}
	/* Older kpolicy_read() left the rules out of pol. */
	for (i = 0; s.pol.n != n && i < n && !ret; i++)
		ret = policy_add(&s.pol, &lr[i].rule);
	free(lr);
	if (!ret)
		ret = state_save(&s, err, errlen);
	state_free(&s);
	return ret;
}

int state_id_of_path(const char *path, char id[65])
{
	const char *base = strrchr(path, '/');
	const char *p;
	size_t len;

	if (!base)
		return -ENOENT;
	base++;
	len = strlen(base);
	/* "<id>" (Docker's cgroupfs driver), "<prefix>-<id>" (Podman's
	 * cgroupfs manager: libpod-<id>), "<prefix>-<id>.scope" (systemd)
	 */
	if (len > 6 && !strcmp(base + len - 6, ".scope"))
		len -= 6;
	if (len == 64)
		p = base;
	else if (len > 65 && base[len - 65] == '-')
		p = base + len - 64;
	else
		return -ENOENT;
	memcpy(id, p, 64);
	id[64] = '\0';
	return valid_id(id) ? 0 : -ENOENT;
}
