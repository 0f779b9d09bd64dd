#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# libcurl and libmicrohttpd are dlopen()ed by the commands that need them
# (user/dl_*.c), not linked: the binary does not need them at exec, a
# command that needs a missing one fails with one line naming the library
# and its Debian package, and cgroup targets work without either.
# "Missing" is real: in a private mount namespace an empty file is bound
# over each library, so dlopen() itself fails.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq unshare

ALL_TESTS="test_not_linked test_docker_commands_without_libcurl test_serve_without_libmicrohttpd
	test_cgroup_targets_without_either"

# Where the dynamic loader finds them (the sonames of user/dl_curl.c, dl_mhd.c).
lib_path() { ldconfig -p | awk -v so="$1" '$1 == so { print $NF; exit }'; }
CURL_SO=$(lib_path libcurl.so.4)
MHD_SO=$(lib_path libmicrohttpd.so.12)
if [ -z "$CURL_SO" ] || [ -z "$MHD_SO" ]; then
	bail "libcurl.so.4 / libmicrohttpd.so.12 not installed (tools/install-deps.sh)"
fi
EMPTY=$E2E_TMP/empty.so
: >"$EMPTY"

# nolibs CMD...: CMD in a private mount namespace where both libraries are
# empty files.
nolibs() {
	unshare -m sh -c 'mount --bind "$1" "$2" && mount --bind "$1" "$3" || exit 125
		shift 3; exec "$@"' sh "$EMPTY" "$CURL_SO" "$MHD_SO" "$@"
}

# one_line TEXT: exactly one line
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }

NEED_CURL='^egressctl: docker targets and watch need libcurl \(apt-get install libcurl4\): .*libcurl\.so\.4: .+$'
NEED_MHD='^egressctl: serve needs libmicrohttpd \(apt-get install libmicrohttpd12\): .*libmicrohttpd\.so\.12: .+$'

test_not_linked() {
	local needed
	needed=$(readelf -d "$EGR" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	if [ -z "$needed" ] || grep -qE 'libcurl|libmicrohttpd' <<<"$needed"; then
		fail "libcurl and libmicrohttpd are not linked" "NEEDED: $needed"
	else
		pass "libcurl and libmicrohttpd are not linked"
	fi
}

test_docker_commands_without_libcurl() {
	local cmd
	for cmd in "list docker:web" "allow web 198.18.0.1 tcp:443" "attach 0123abcd" "watch --once"; do
		# shellcheck disable=SC2086 # the words of cmd are its arguments
		assert_rc "no libcurl: $cmd fails" 1 nolibs "$EGR" $cmd
		assert_match "no libcurl: $cmd names libcurl and its package" "$NEED_CURL" "$LAST_ERR"
		if one_line "$LAST_ERR"; then
			pass "no libcurl: $cmd: one line"
		else
			fail "no libcurl: $cmd: one line" "$LAST_ERR"
		fi
	done
}

test_serve_without_libmicrohttpd() {
	assert_rc "no libmicrohttpd: serve fails" 1 nolibs "$EGR" serve --listen 127.0.0.1:0
	assert_match "no libmicrohttpd: serve names libmicrohttpd and its package" "$NEED_MHD" "$LAST_ERR"
}

# cgroup: and cgid: targets, and every command that reads or edits them
test_cgroup_targets_without_either() {
	local cg id CG
	cg=$(cg_new nolibs)
	id=$(stat -c %i "$cg")
	echo "$cg $id" >>"$E2E_TMP/.attached" # for the cleanup
	CG=cgroup:$cg
	assert_rc "no libs: attach cgroup:" 0 nolibs "$EGR" attach "$CG"
	assert_rc "no libs: allow" 0 nolibs "$EGR" allow "$CG" 198.18.0.0/24 tcp:443
	assert_rc "no libs: deny" 0 nolibs "$EGR" deny "$CG" 198.18.0.9
	assert_rc "no libs: remove" 0 nolibs "$EGR" remove "$CG" 198.18.0.9
	assert_rc "no libs: list -j" 0 nolibs "$EGR" list "$CG" -j
	assert_eq "no libs: the rule is in force" "allow 198.18.0.0/24 tcp:443" \
		"$(jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports)"' <<<"$LAST_OUT")"
	assert_rc "no libs: list cgid:" 0 nolibs "$EGR" list "cgid:$id"
	assert_rc "no libs: status -j" 0 nolibs "$EGR" status -j
	assert_match "no libs: status shows the cgroup" "\"cgroup_id\": ?${id}[,}]" "$LAST_OUT"
	assert_rc "no libs: metrics" 0 nolibs "$EGR" metrics "$CG"
	assert_rc "no libs: detach" 0 nolibs "$EGR" detach "$CG"
	assert_eq "no libs: detach leaves no pins" no "$([ -e "$EGR_PINS/$id" ] && echo yes || echo no)"
}

run_tests
