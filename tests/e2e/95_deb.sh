#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Debian package: `make deb` (tools/make-deb.sh: dpkg-buildpackage in a
# copy of the tree, lintian: an error or a warning fails it), its name and
# Depends (every library the binary's NEEDED entries name, and libcurl4,
# which it dlopen()s), `apt-get install ./egressctl_*.deb`, what it
# installs (binary, man page, unit installed but not enabled, Podman's
# hooks.d file and the Docker runtime wrapper, bash completion, docs),
# bash completion at work in bash (commands, options, option values,
# running containers, cgid: targets, and silence when no engine answers),
# part of the e2e tier against the installed binary (DEB_E2E below; README
# "Tests" says why these), and the purge: the machine is left as found.
# Skips when EGRESSCTL is set (make check EGRESSCTL=...: the tier runs
# against that binary already) or an egressctl package is installed (not
# ours to replace).
# shellcheck disable=SC2016 # bash -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

if [ -n "${EGRESSCTL:-}" ]; then
	skip "debian package" "EGRESSCTL=$EGRESSCTL: the tier runs against that binary"
	e2e_done
fi
if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl 2>/dev/null)" != "" ] &&
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl 2>/dev/null)" != "un " ]; then
	skip "debian package" "an egressctl package is on this machine already: not ours to replace"
	e2e_done
fi
e2e_start egr docker dpkg-buildpackage dh lintian fakeroot apt-get man objdump jq

ALL_TESTS="test_deb test_install test_files test_unit_not_enabled test_completion
	test_completion_targets test_e2e_installed test_purge"

# The e2e scripts run against the installed binary: the CLI and its docs, the
# libraries it loads (linked shared here, dlopen()ed as from a build), the
# core of filtering, Docker targets, watch and watch --strict (what the unit
# runs). EGR_DEB_E2E="..." to change.
DEB_E2E=${EGR_DEB_E2E:-02_cli_docs 03_lazy_libs 10_core 50_docker_attach 51_docker_watch 52_docker_strict}

BIN=/usr/sbin/egressctl
UNIT=/lib/systemd/system/egressctl-watch.service
CMP=/usr/share/bash-completion/completions/egressctl
VER=$(sed -n 's/^VERSION := //p' "$E2E_ROOT/Makefile")
DEB=$E2E_TMP/deb/egressctl_${VER}_$(dpkg --print-architecture).deb

# Whatever happens, no package of ours stays, installed or half-installed,
# nor a dependency that only its install brought in.
deb_purge() {
	local st
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl 2>/dev/null)
	if [ -n "$st" ] && [ "$st" != "un " ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q egressctl >/dev/null 2>&1 ||
			dpkg --purge --force-all egressctl >/dev/null 2>&1
	fi
	if [ -s "$E2E_TMP/.deb_new" ]; then
		# shellcheck disable=SC2046 # package names
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $(cat "$E2E_TMP/.deb_new") >/dev/null 2>&1
		: >"$E2E_TMP/.deb_new"
	fi
	return 0
}
e2e_on_exit deb_purge

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl 2>/dev/null)" = "ii " ]; }
need_installed() { installed || fail "$1: egressctl is not installed (test_install)"; }

t0=$SECONDS
if ! make -s -C "$E2E_ROOT" deb OUTPUT="$E2E_TMP/deb" >"$E2E_TMP/make-deb.log" 2>&1; then
	diag "$(tail -n 30 "$E2E_TMP/make-deb.log")"
	bail "make deb failed"
fi
diag "make deb: $((SECONDS - t0)) s"
diag "$(cat "$E2E_TMP/make-deb.log")"

# The package itself: name, lintian, Depends against what the binary needs.
test_deb() {
	local deps so path pkg x
	assert_eq "make deb: egressctl_<version>_<arch>.deb" 1 "$([ -f "$DEB" ] && echo 1 || echo 0)"
	assert_match "lintian: clean (make deb fails on errors and warnings)" \
		"LINTIAN  clean" "$(cat "$E2E_TMP/make-deb.log")"
	assert_eq "lintian: no tag shown" "" "$(grep -E '^  LINTIAN  [EWIPX]: ' "$E2E_TMP/make-deb.log")"
	deps=$(dpkg-deb -f "$DEB" Depends)
	x=$E2E_TMP/deb/x
	mkdir -p "$x" && dpkg-deb -x "$DEB" "$x"
	# every NEEDED library's package is in Depends (dpkg-shlibdeps did it)
	for so in $(objdump -p "$x$BIN" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		# the path dpkg knows: as ldconfig says, or resolved (merged /usr)
		pkg=$( (dpkg -S "$path" || dpkg -S "$(readlink -f "$path")") 2>/dev/null | sed -n '1s/:.*//p')
		assert_match "Depends names $pkg (for $so)" "(^|, )$pkg( |,|$)" "$deps"
	done
	assert_match "Depends: libcurl4 (dlopen()ed: Docker targets, watch)" "(^|, )libcurl4(,|$)" "$deps"
	assert_eq "Recommends: libmicrohttpd12 (dlopen()ed: serve)" libmicrohttpd12 \
		"$(dpkg-deb -f "$DEB" Recommends)"
	assert_eq "linked with the shared libraries (STATIC=0)" 1 \
		"$(objdump -p "$x$BIN" | grep -c 'NEEDED *libbpf\.so')"
}

test_install() {
	apt-get install -s "$DEB" 2>/dev/null | awk '/^Inst / && $2 != "egressctl" { print $2 }' \
		>"$E2E_TMP/.deb_new"
	[ -s "$E2E_TMP/.deb_new" ] && diag "apt-get also installs: $(tr '\n' ' ' <"$E2E_TMP/.deb_new")"
	assert_rc "apt-get install ./$(basename "$DEB"): exit 0" 0 \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$DEB"
	assert_eq "dpkg: installed" "ii " "$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl)"
	assert_eq "every library found (ldd)" "" "$(ldd "$BIN" | grep 'not found')"
	assert_rc "$BIN --version" 0 "$BIN" --version
	assert_match "the version is the tree's" "^egressctl $VER " "$LAST_OUT"
}

test_files() {
	local f missing=
	need_installed "files"
	assert_match "man -w egressctl: the man page" "^/usr/share/man/man8/egressctl\.8\.gz$" \
		"$(man -w egressctl 2>&1)"
	assert_match "man egressctl renders" "egressctl - " "$(MANWIDTH=80 man egressctl 2>/dev/null | col -b | head -5)"
	assert_eq "the unit: ExecStart in /usr/sbin" \
		"ExecStartPre=$BIN watch --guard-only|ExecStart=$BIN watch --strict" \
		"$(grep -oE '^ExecStart(Pre)?=[^ ]+ [^ ]+ [^ ]+' "$UNIT" | paste -sd'|')"
	assert_eq "bash completion file" 1 "$([ -f "$CMP" ] && echo 1 || echo 0)"
	assert_eq "Podman's hooks.d file, with /usr/sbin" "$BIN createRuntime poststop" \
		"$(jq -r '[.hook.path, .stages[]] | join(" ")' /usr/share/containers/oci/hooks.d/50-egressctl.json 2>&1)"
	assert_eq "the Docker runtime wrapper: a link to egressctl, and its man page" "egressctl 1" \
		"$(readlink /usr/sbin/egressctl-runc) $(man -w egressctl-runc >/dev/null 2>&1 && echo 1 || echo 0)"
	assert_match "bash-completion loads it for egressctl" "complete -F _egressctl egressctl" \
		"$(bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader egressctl; complete -p egressctl' 2>&1)"
	for f in README.md.gz BENCHMARKS.md.gz docker.md.gz monitoring.md.gz security.md.gz copyright \
		examples/compose/docker-compose.yml; do
		[ -f "/usr/share/doc/egressctl/$f" ] || missing="$missing $f"
	done
	assert_eq "docs: README, BENCHMARKS, docs/*.md, the compose example, copyright" "" "$missing"
}

test_unit_not_enabled() {
	need_installed "unit"
	assert_eq "systemctl --root=/ is-enabled: disabled" disabled \
		"$(systemctl --root=/ is-enabled egressctl-watch.service 2>&1)"
	assert_eq "no symlink to it under /etc/systemd/system" "" \
		"$(find /etc/systemd/system -name egressctl-watch.service 2>/dev/null)"
	assert_eq "not started" "" "$(pgrep -f "^$BIN watch" || true)"
}

# comp WORD...: what bash completion offers for the last word (sorted,
# one line), with bash-completion loaded as in an interactive shell; its
# stderr in $E2E_TMP/cmp.err.
comp() {
	env PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1"
		shift
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
		_egressctl "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$CMP" "$@" 2>"$E2E_TMP/cmp.err" | sort | paste -sd' '
}
# help_opts CMD: every option its --help names in its usage and its option
# lines (and --help)
help_opts() {
	{
		"$BIN" "$1" --help | grep -E '^(Usage:| +-| +\[| +egressctl )' |
			grep -oE '(^|[][ |,])--?[a-zA-Z][-a-zA-Z0-9]*' | sed 's/^[][ |,]//'
		echo --help
	} | sort -u | paste -sd' '
}

test_completion() {
	local c cmds
	need_installed "completion"
	cmds=$("$BIN" --help | awk '/^Commands:/ { c = 1; next } c && !NF { exit } c && /^  [a-z]/ { print $1 }' | sort | paste -sd' ')
	assert_eq "commands: every command of --help" "$cmds" "$(comp egressctl '')"
	assert_eq "commands: ex<TAB>" explain "$(comp egressctl ex)"
	assert_eq "global options" "--docker-host --help --verbose --version -V -h -v" "$(comp egressctl -)"
	for c in $cmds; do
		assert_eq "options of $c: those of '$c --help'" "$(help_opts "$c")" "$(comp egressctl "$c" -)"
	done
	assert_eq "watch --st<TAB>" --strict "$(comp egressctl watch --st)"
	assert_eq "after a global option: attach --de<TAB>" --default "$(comp egressctl -v attach x --de)"
	assert_eq "explain's options after its arguments" "--help --inbound --json" \
		"$(comp egressctl explain web 198.18.0.1 udp:53 --)"
	assert_eq "values: attach --default" "allow deny" "$(comp egressctl attach web --default '')"
	assert_eq "values: watch --unmanaged" "allow deny" "$(comp egressctl watch --unmanaged '')"
	assert_eq "values: a port spec" "udp udp:" "$(comp egressctl allow web 198.18.0.1 ud)"
	assert_eq "values: an option's number is not a target" "" "$(comp egressctl events --count '')"
	: >"$E2E_TMP/policy-a.yaml"
	assert_eq "values: apply -f FILE" "$E2E_TMP/policy-a.yaml" "$(comp egressctl apply web -f "$E2E_TMP/policy-")"
	assert_eq "completion writes nothing on stderr" "" "$(cat "$E2E_TMP/cmp.err")"
}

test_completion_targets() {
	local n cg id
	need_installed "targets"
	dk_run cmp egressctl-test:busybox sleep 3600 >/dev/null || fail "docker run failed"
	n=$(dk_name cmp)
	assert_eq "targets: a running container by name" "$n" "$(comp egressctl attach "egr-$E2E_ID-cm")"
	assert_eq "targets: docker:<name>" "$n" "$(comp egressctl detach "docker:egr-$E2E_ID-cm")"
	assert_eq "targets: a stopped container is not offered" "" \
		"$(docker stop -t 1 "$n" >/dev/null && comp egressctl attach "egr-$E2E_ID-cm")"
	assert_eq "targets: no engine answering: the prefixes, nothing else" "cgid: cgroup: docker: pid:" \
		"$(comp egressctl --docker-host unix://"$E2E_TMP"/none.sock attach '')"
	assert_eq "targets: ... and nothing on stderr" "" "$(cat "$E2E_TMP/cmp.err")"
	cg=$(cg_new cmp)
	id=$(stat -c %i "$cg")
	assert_rc "the installed binary attaches cgroup:$cg" 0 "$BIN" attach "cgroup:$cg"
	assert_match "targets: cgid: offers the attached cgroup's id" "(^| )$id( |$)" "$(comp egressctl detach cgid:)"
	assert_match "targets: cgroup: paths below the mount" "(^| )${cg#"$CGROOT"}/( |$)" \
		"$(comp egressctl attach "cgroup:${cg#"$CGROOT"}")"
	assert_rc "detach cgid:$id" 0 "$BIN" detach "cgid:$id"
}

test_e2e_installed() {
	local s out rc ok bad t
	need_installed "e2e"
	for s in $DEB_E2E; do
		t=$SECONDS
		out=$E2E_TMP/e2e-$s.log
		env -u E2E_TESTS EGR_BIN="$BIN" timeout 1200 bash "$E2E_LIB_DIR/$s.sh" >"$out" 2>&1
		rc=$?
		ok=$(grep -c '^ok - ' "$out")
		bad=$(grep -c '^not ok - ' "$out")
		if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]; then
			pass "installed binary: $s ($ok ok, $((SECONDS - t)) s)"
		else
			fail_next "installed binary: $s ($ok ok, $bad not ok, exit $rc)" "$(grep -A3 '^not ok' "$out" | head -40)"
		fi
	done
}

test_purge() {
	local f left=
	need_installed "purge"
	assert_rc "apt-get purge egressctl" 0 env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q egressctl
	assert_eq "dpkg: not installed, no config files left" "" \
		"$(dpkg-query -W -f='${db:Status-Abbrev}' egressctl 2>/dev/null | grep -v '^un ')"
	for f in "$BIN" "$UNIT" "$CMP" /usr/share/man/man8/egressctl.8.gz /usr/share/doc/egressctl \
		/var/lib/systemd/deb-systemd-helper-enabled/egressctl-watch.service.dsh-also; do
		[ -e "$f" ] && left="$left $f"
	done
	assert_eq "purged: none of its files left" "" "$left"
}

run_tests
