#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 15: domain names as destinations in the CLI and in policy files:
# allow / remove / apply / list / list -j with names and wildcards, rule ids
# (and hits) kept across apply, `deny` with a name refused, bad names one
# line each with nothing changed, the dns: settings read back.
# (Learning from DNS answers: 71_dns_learn.sh and the scripts after it.)
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"

T=$E2E_TMP
cg=$(cg_new names)
CG=cgroup:$cg
assert_rc "attach" 0 egr_attach "$cg"

assert_rc "allow a name with ports" 0 "$EGR" allow "$CG" API.Example.com. tcp:443 udp:443
assert_rc "allow a wildcard" 0 "$EGR" allow "$CG" '*.cdn.example.net'
assert_rc "allow an address" 0 "$EGR" allow "$CG" 198.18.0.53 udp:53
assert_eq "list -j shows the names, canonical" \
	"allow *.cdn.example.net any
allow 198.18.0.53/32 udp:53
allow api.example.com tcp:443
allow api.example.com udp:443" "$(egr_rules "$CG")"
assert_match "list shows a name rule" "allow +api\.example\.com +tcp:443 +0" "$("$EGR" list "$CG")"
assert_rc "allow the same name again: no-op" 0 "$EGR" allow "$CG" api.example.com tcp:443
assert_eq "still 4 rules" 4 "$("$EGR" list "$CG" -j | jq '.[0].rules | length')"
id_api=$("$EGR" list "$CG" -j | jq '.[0].rules[] | select(.dest == "api.example.com" and .ports == "tcp:443") | .id')

assert_rc "deny with a name is refused" 1 "$EGR" deny "$CG" api.example.com
assert_match "... saying why and what to do" \
	"^egressctl: deny by name is not supported \('api\.example\.com'\): another resolver or a hard-coded address walks around it; deny the addresses instead" \
	"$LAST_ERR"
assert_rc "remove a name rule" 0 "$EGR" remove "$CG" api.example.com udp:443
assert_rc "remove a name rule not in force" 1 "$EGR" remove "$CG" api.example.com udp:443
assert_match "... one line" "^egressctl: cgroup:[^ ]*-names: no such rule: api\.example\.com udp:443$" "$LAST_ERR"
assert_rc "remove a wildcard" 0 "$EGR" remove "$CG" '*.cdn.example.net'
assert_eq "what is left" "allow 198.18.0.53/32 udp:53
allow api.example.com tcp:443" "$(egr_rules "$CG")"

cat >"$T/p.yaml" <<'EOF'
default: deny
dns:
  min_ttl: 30
  max_per_name: 16
rules:
  - allow: api.example.com
    ports: [tcp:443]
  - allow: "*.example.org"
    ports: [tcp:80, tcp:443]
  - allow: 198.18.0.53
    ports: [udp:53, tcp:53]
EOF
assert_rc "apply a file with names" 0 "$EGR" apply "$CG" -f "$T/p.yaml"
assert_eq "list after apply" "allow *.example.org tcp:443
allow *.example.org tcp:80
allow 198.18.0.53/32 tcp:53
allow 198.18.0.53/32 udp:53
allow api.example.com tcp:443" "$(egr_rules "$CG")"
assert_eq "a name rule that stays keeps its id" "$id_api" \
	"$("$EGR" list "$CG" -j | jq '.[0].rules[] | select(.dest == "api.example.com") | .id')"
assert_eq "list -j: the dns settings" '{"min_ttl":30,"max_per_name":16}' \
	"$("$EGR" list "$CG" -j | jq -c '.[0].dns')"

# the same in JSON; an IDN in punycode; a single-label name (Docker's
# embedded DNS answers container names)
echo '{"rules":[{"allow":"xn--bcher-kva.example","ports":["tcp:443"]},{"allow":"db"}]}' >"$T/p.json"
assert_rc "apply JSON with names" 0 "$EGR" apply "$CG" -f "$T/p.json"
assert_eq "list after the JSON apply" "allow db any
allow xn--bcher-kva.example tcp:443" "$(egr_rules "$CG")"
assert_eq "dns settings back to the defaults" '{"min_ttl":60,"max_per_name":64}' \
	"$("$EGR" list "$CG" -j | jq -c '.[0].dns')"

# bad input: one line, exit 1, nothing changed
before=$("$EGR" list "$CG" -j)
for bad in 'a..b' '-x.example.com' 'a_b.example.com' 'x.*.example.com' '*' 'host.123'; do
	assert_rc "bad name '$bad'" 1 "$EGR" allow "$CG" "$bad"
	assert_eq "'$bad': one line" 1 "$(printf '%s\n' "$LAST_ERR" | wc -l)"
done
printf 'rules:\n  - deny: "*.example.com"\n' >"$T/deny.yaml"
assert_rc "a file denying a name" 1 "$EGR" apply "$CG" -f "$T/deny.yaml"
assert_match "... names the line" "^egressctl: $T/deny.yaml:2: deny by name is not supported" "$LAST_ERR"
printf 'dns: {min_ttl: 0}\n' >"$T/ttl.yaml"
assert_rc "min_ttl 0" 1 "$EGR" apply "$CG" -f "$T/ttl.yaml"
assert_match "... one line" "ttl\.yaml:1: bad min_ttl '0': a whole number from 1 to 86400" "$LAST_ERR"
assert_eq "nothing changed" "$before" "$("$EGR" list "$CG" -j)"

# DoT and DoH: not learned from; a policy with names that allows them by
# address gets a warning (map contents only: nothing is sent to them)
printf 'rules:\n  - allow: api.example.com\n  - allow: 1.1.1.1\n    ports: [tcp:443]\n' >"$T/doh.yaml"
assert_rc "apply names + a DoH server by address" 0 "$EGR" apply "$CG" -f "$T/doh.yaml"
assert_match "... warns about DNS over HTTPS" \
	"warning: cgroup:[^ ]*-names: the policy has name rules and allows a DNS-over-HTTPS server by address \(1\.1\.1\.1 tcp:443\)" \
	"$LAST_ERR"
assert_rc "allow tcp:853 live" 0 "$EGR" allow "$CG" 198.18.0.0/16 tcp:853
assert_match "... warns about DNS over TLS" "allows tcp:853 \(DNS over TLS\) by address" "$LAST_ERR"
assert_rc "attach again: the warnings" 0 "$EGR" attach "$CG"
assert_match "... both" "DNS over TLS.*DNS-over-HTTPS" "$(printf '%s' "$LAST_ERR" | tr '\n' ' ')"
printf 'rules:\n  - allow: 1.1.1.1\n    ports: [tcp:443]\n' >"$T/nonames.yaml"
assert_rc "the same without names" 0 "$EGR" apply "$CG" -f "$T/nonames.yaml"
assert_eq "... no warning" "" "$LAST_ERR"

assert_rc "attach --max-learned 10 refused" 1 "$EGR" attach "$CG" --max-learned 10
assert_eq "... one line" "egressctl: bad --max-learned '10': use 64-1048576" "$LAST_ERR"
e2e_done
