# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# The start-up hook of the tests (tests/e2e/55_hooks.sh, tests/soak/soak.sh
# MODE hook): Podman's OCI hook, the shipped contrib/oci-hooks/50-egressctl.json
# pointed at the binary under test, in podman_lib.sh's private hooks dir
# ($PM_RUN/hooks.d); Docker's runtime wrapper egressctl-runc, registered with
# the test dockerd (docker_lib.sh's, --add-runtime egressctl=$WRAPPER), the
# containers run with --runtime egressctl. Source it after lib.sh's
# e2e_start, then, in this order:
#   hook_wrapper             the wrapper dockerd runs: $WRAPPER, this
#                            script's binary called egressctl-runc, with the
#                            environment in $WRAP_ENV; the hooks removed at
#                            exit (registered now: it runs after the
#                            engines' own cleanup, which still needs them)
#   hook_dockerd             before dk_setup: a dockerd that answers must
#                            know the runtime; ours (docker_lib.sh's) is
#                            restarted with it, anyone else's is not ours to
#                            touch (bails)
#   dk_setup / pm_setup      the engines (they make the state directory)
#   hooks_set [VAR=VALUE...] the hook of the engines set up, with the state
#                            directory and these test variables in its
#                            environment (none: the plain hook); again to
#                            change them
# Every function is idempotent.

# shellcheck source=tests/e2e/docker_lib.sh
. "$E2E_LIB_DIR/docker_lib.sh"

WRAPPER=$EGR_TEST_RUN/egressctl-runc
WRAP_ENV=$EGR_TEST_RUN/egressctl-runc.env

# last at exit: dockerd runs the wrapper, Podman the hook, until their
# containers are gone
hooks_off() { rm -f "${PM_RUN:-/nonexistent}/hooks.d/50-egressctl.json" "$WRAPPER" "$WRAP_ENV"; }

hook_wrapper() {
	mkdir -p "$EGR_TEST_RUN" || bail "mkdir $EGR_TEST_RUN"
	if ! printf '#!/bin/bash\n. %q\nexec -a egressctl-runc %q "$@"\n' "$WRAP_ENV" "$EGR" >"$WRAPPER" ||
		! chmod 0755 "$WRAPPER" || ! : >"$WRAP_ENV"; then
		bail "cannot write $WRAPPER"
	fi
	e2e_on_exit hooks_off
}

hook_dockerd() {
	if _egr_docker_answers && ! _egr_docker info --format '{{json .Runtimes}}' |
		jq -e --arg w "$WRAPPER" '.egressctl.path == $w' >/dev/null; then
		_egr_dockerd_pid >/dev/null || bail "a dockerd not started by the tests runs without the egressctl runtime"
		diag "restarting the tests' dockerd with the egressctl runtime"
		docker_down
	fi
	export EGR_DOCKERD_ARGS="--add-runtime egressctl=$WRAPPER"
}

hooks_set() {
	local v env=("EGRESSCTL_STATE_DIR=$EGRESSCTL_STATE_DIR")
	for v in "$@"; do env+=("$v"); done
	if [ -n "${PM_RUN:-}" ] && [ -d "$PM_RUN/hooks.d" ]; then
		if ! jq --arg p "$EGR" '.hook.path = $p | .hook.env += $ARGS.positional' --args "${env[@]}" \
			<"$E2E_ROOT/contrib/oci-hooks/50-egressctl.json" >"$PM_RUN/hooks.d/50-egressctl.json.tmp" ||
			! mv "$PM_RUN/hooks.d/50-egressctl.json.tmp" "$PM_RUN/hooks.d/50-egressctl.json"; then
			bail "cannot write $PM_RUN/hooks.d/50-egressctl.json"
		fi
	fi
	if [ -e "$WRAPPER" ]; then
		if ! printf 'export %q\n' "${env[@]}" >"$WRAP_ENV.tmp" || ! mv "$WRAP_ENV.tmp" "$WRAP_ENV"; then
			bail "cannot write $WRAP_ENV"
		fi
	fi
}
