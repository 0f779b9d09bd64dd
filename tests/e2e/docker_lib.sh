# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Docker helpers for the end-to-end suite. Source it, then:
#   docker_up            start dockerd unless one answers on /var/run/docker.sock
#   docker_image [BIN..] build egressctl-test:busybox (static BINs go to /usr/local/bin)
#   docker_down          stop the dockerd that docker_up started, if any
# Every function is idempotent, silent on success, returns non-zero with a
# message on stderr on failure.
#
# docker_up starts dockerd with $EGR_DOCKERD_ARGS too (55_hooks.sh: its
# runtime wrapper). It exports DOCKER_HOST=unix:///var/run/docker.sock and
# DOCKER_TRAFFIC_OK=1 when the bridge is 198.19.0.1/24 (a daemon we started,
# or one already configured so), else DOCKER_TRAFFIC_OK=0: traffic tests must
# then skip, since the containers' addresses would be outside the ranges the
# suite may use (127.0.0.0/8, 198.18.0.0/15). No registry is reachable: images
# are built locally, never pulled.

EGR_TEST_RUN=${EGR_TEST_RUN:-/run/egressctl-test}
EGR_DOCKER_SOCK=/var/run/docker.sock
EGR_DOCKER_PIDFILE=$EGR_TEST_RUN/dockerd.pid
EGR_DOCKER_LOGREF=$EGR_TEST_RUN/dockerd.logpath
EGR_DOCKER_IMAGE=egressctl-test:busybox
EGR_DOCKER_BIP=198.19.0.1/24
# Applets the tests use; every other applet of busybox is linked too.
EGR_DOCKER_APPLETS="sh nc sleep cat ip ifconfig ping echo ls ps kill true false"

_egr_docker() {
	docker -H "unix://$EGR_DOCKER_SOCK" "$@"
}

_egr_docker_answers() {
	timeout 10 docker -H "unix://$EGR_DOCKER_SOCK" info >/dev/null 2>&1
}

# The pid in our pidfile, if that process is still a dockerd.
_egr_dockerd_pid() {
	local pid
	[ -r "$EGR_DOCKER_PIDFILE" ] || return 1
	pid=$(cat "$EGR_DOCKER_PIDFILE" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
	echo "$pid"
}

_egr_docker_log_tail() {
	local log
	log=$(cat "$EGR_DOCKER_LOGREF" 2>/dev/null) || return 0
	[ -f "$log" ] || return 0
	tail -n 20 "$log" | sed 's/^/  dockerd: /' >&2
}

_egr_bridge_ok() {
	ip -4 -o addr show dev docker0 2>/dev/null | grep -q " inet $EGR_DOCKER_BIP "
}

docker_up() {
	local pid log deadline

	export DOCKER_HOST=unix://$EGR_DOCKER_SOCK
	if _egr_docker_answers; then
		if _egr_bridge_ok; then
			export DOCKER_TRAFFIC_OK=1
		else
			# Someone else's daemon: its containers may be anywhere.
			export DOCKER_TRAFFIC_OK=0
		fi
		return 0
	fi
	if ! command -v dockerd >/dev/null 2>&1; then
		echo "docker_up: dockerd is not installed" >&2
		return 1
	fi
	mkdir -p "$EGR_TEST_RUN" || return 1
	# Our own daemon from an earlier call that is still starting up.
	if ! pid=$(_egr_dockerd_pid); then
		# Keep only the newest log.
		log=$(cat "$EGR_DOCKER_LOGREF" 2>/dev/null) || log=""
		if [ -n "$log" ]; then
			rm -f "$log"
		fi
		log=$(mktemp "$EGR_TEST_RUN/dockerd.XXXXXX.log") || return 1
		echo "$log" >"$EGR_DOCKER_LOGREF"
		# dockerd outlives this script: it must not inherit its file
		# descriptors (a lock held on one, flock(1)'s, would stay held)
		(
			for fd in /proc/$BASHPID/fd/*; do
				fd=${fd##*/}
				[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
			done
			# shellcheck disable=SC2086 # EGR_DOCKERD_ARGS: words
			exec dockerd --storage-driver=vfs --bip=198.19.0.1/24 \
				--default-address-pool base=198.19.0.0/16,size=24 ${EGR_DOCKERD_ARGS:-}
		) </dev/null >"$log" 2>&1 &
		pid=$!
		echo "$pid" >"$EGR_DOCKER_PIDFILE"
		disown "$pid" 2>/dev/null || true
	fi
	deadline=$((SECONDS + 60))
	while ((SECONDS < deadline)); do
		if _egr_docker_answers; then
			if _egr_bridge_ok; then
				export DOCKER_TRAFFIC_OK=1
			else
				echo "docker_up: docker0 is not $EGR_DOCKER_BIP; traffic tests will skip" >&2
				export DOCKER_TRAFFIC_OK=0
			fi
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "docker_up: dockerd exited while starting" >&2
			_egr_docker_log_tail
			rm -f "$EGR_DOCKER_PIDFILE"
			return 1
		fi
		sleep 0.5
	done
	echo "docker_up: dockerd did not answer on $EGR_DOCKER_SOCK within 60 s" >&2
	_egr_docker_log_tail
	return 1
}

docker_down() {
	local pid i

	pid=$(_egr_dockerd_pid) || {
		rm -f "$EGR_DOCKER_PIDFILE"
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	# dockerd gives running containers 10 s to stop, then kills them.
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "docker_down: dockerd $pid ignored SIGTERM for 60 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		sleep 1
	fi
	rm -f "$EGR_DOCKER_PIDFILE"
	return 0
}

# A content hash of what goes into the image, kept as a label so the image is
# rebuilt only when busybox or a helper changes.
_egr_image_hash() {
	local f
	{
		echo "$EGR_DOCKER_APPLETS"
		sha256sum /bin/busybox | cut -d' ' -f1
		for f in "$@"; do
			echo "$(basename "$f") $(sha256sum "$f" | cut -d' ' -f1)"
		done
	} | sha256sum | cut -d' ' -f1
}

# The CLI that builds and runs the image: Docker's, or $EGR_IMAGE_CLI
# (podman_lib.sh builds Podman's image with the same recipe).
_egr_img() {
	if [ -n "${EGR_IMAGE_CLI:-}" ]; then
		$EGR_IMAGE_CLI "$@"
	else
		_egr_docker "$@"
	fi
}

docker_image() {
	local hash have root f a rc

	if [ ! -x /bin/busybox ]; then
		echo "docker_image: /bin/busybox is missing (install busybox-static)" >&2
		return 1
	fi
	for f in "$@"; do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			echo "docker_image: helper '$f' is not an executable file" >&2
			return 1
		fi
	done
	hash=$(_egr_image_hash "$@") || return 1
	have=$(_egr_img image inspect -f '{{ index .Config.Labels "egr.hash" }}' \
		"$EGR_DOCKER_IMAGE" 2>/dev/null) || have=""
	[ "$have" = "$hash" ] && return 0

	root=$(mktemp -d /tmp/egr-rootfs.XXXXXX) || return 1
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,tmp,proc,sys,dev,root,var/run}
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list) $EGR_DOCKER_APPLETS; do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	for a in $EGR_DOCKER_APPLETS; do
		if ! /bin/busybox --list | grep -qx "$a"; then
			echo "docker_image: /bin/busybox has no '$a' applet" >&2
			rm -rf "$root"
			return 1
		fi
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	for f in "$@"; do
		install -m 0755 "$f" "$root/usr/local/bin/$(basename "$f")" || {
			rm -rf "$root"
			return 1
		}
	done
	rc=0
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
		_egr_img import --change 'CMD ["sh"]' \
			--change 'ENV PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin' \
			--change "LABEL egr.hash=$hash" - "$EGR_DOCKER_IMAGE" >/dev/null || rc=1
	rm -rf "$root"
	if [ "$rc" -ne 0 ]; then
		echo "docker_image: docker import of $EGR_DOCKER_IMAGE failed" >&2
		return 1
	fi
	# Untagged leftovers of earlier builds.
	_egr_img image prune -f --filter "label=egr.hash" >/dev/null 2>&1 || true
	# A dynamically linked busybox would import fine and then not run.
	if ! _egr_img run --rm --network none "$EGR_DOCKER_IMAGE" true >/dev/null 2>&1; then
		echo "docker_image: $EGR_DOCKER_IMAGE does not run (is /bin/busybox static?)" >&2
		return 1
	fi
	return 0
}

# ---- helpers of the egressctl Docker tests (tests/e2e/5*.sh) ---------------
# Need lib.sh's e2e_init first (lib.sh's e2e_start docker sources this file
# and runs dk_setup). Containers and networks made with dk_run / dk_net are
# removed by dk_cleanup at exit; watch daemons started by dk_watch_bg are
# stopped at the end of the case that started them, and at exit. A
# container sends with `expect_udp ... --from docker:NAME` (lib.sh).

# dk_setup: docker_up (DK_STARTED=1 if this script started dockerd), the
# test image with the peer helper, a private state directory
# (EGRESSCTL_STATE_DIR) and the cleanup at exit. Bails when traffic tests
# are impossible (no dockerd, or a bridge outside 198.19.0.0/16).
dk_setup() {
	DK_STARTED=0
	_egr_docker_answers || DK_STARTED=1
	docker_up || bail "dockerd does not start"
	[ "${DOCKER_TRAFFIC_OK:-0}" = 1 ] || bail "docker0 is not $EGR_DOCKER_BIP: refusing traffic tests"
	docker_image "$PEER" || bail "cannot build $EGR_DOCKER_IMAGE"
	EGRESSCTL_STATE_DIR=$(mktemp -d /tmp/egr-state.XXXXXX)
	echo "$EGRESSCTL_STATE_DIR" >>"$E2E_TMP/.state_dir"
	export EGRESSCTL_STATE_DIR DK_STARTED
	: >"$E2E_TMP/.dk_containers"
	: >"$E2E_TMP/.dk_networks"
	: >"$E2E_TMP/.dk_watch"
	e2e_on_exit dk_cleanup
	e2e_on_case _dk_case_hook
}

# When a case ends, the watch daemons it left running are stopped and every
# container of ours is detached (its saved policy deleted): the next case
# starts with unfiltered containers.
_dk_case_hook() {
	case $1 in
	begin) _DK_MARK=$(($(wc -l <"$E2E_TMP/.dk_watch") + 1)) ;;
	end) ctr_case_end "$E2E_TMP/.dk_watch" "$_DK_MARK" "$E2E_TMP/.dk_containers" dk_attached docker: ;;
	esac
}

# dk_cleanup: watch daemons, containers (filter detached first), networks,
# $DK_CLEANUP_HOOK (a function name) if set, pins of their dead cgroups, the
# state directory; dockerd if we started it.
dk_cleanup() {
	local c n pid
	[ -n "${E2E_TMP:-}" ] && [ -f "$E2E_TMP/.dk_containers" ] || return 0
	while read -r pid; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done <"$E2E_TMP/.dk_watch"
	while read -r c; do
		[ -n "$c" ] || continue
		"$EGR" detach "docker:$c" >/dev/null 2>&1
		_egr_docker rm -f "$c" >/dev/null 2>&1
	done <"$E2E_TMP/.dk_containers"
	while read -r n; do
		[ -n "$n" ] && _egr_docker network rm "$n" >/dev/null 2>&1
	done <"$E2E_TMP/.dk_networks"
	# a test's own extra cleanup (a guard, cgroups), once containers are gone
	if [ -n "${DK_CLEANUP_HOOK:-}" ]; then
		"$DK_CLEANUP_HOOK"
		DK_CLEANUP_HOOK=
	fi
	# pins of cgroups that are gone (restarted containers), nothing else
	"$EGR" watch --once --resync 0 >/dev/null 2>&1
	[ -n "${EGRESSCTL_STATE_DIR:-}" ] && rm -rf "$EGRESSCTL_STATE_DIR"
	: >"$E2E_TMP/.dk_containers"
	: >"$E2E_TMP/.dk_watch"
	if [ "${DK_STARTED:-0}" = 1 ]; then
		docker_down
		DK_STARTED=0
	fi
}

# dk_name SHORT: a container/network name unique to this run.
dk_name() {
	echo "egr-$E2E_ID-$1"
}

# dk_run SHORT [docker run args...] -- IMAGE-ARGS: docker run -d --name
# (dk_name SHORT) ARGS; prints the container id. Short stop timeout.
dk_run() {
	local name
	name=$(dk_name "$1")
	shift
	echo "$name" >>"$E2E_TMP/.dk_containers"
	_egr_docker run -d --stop-timeout 1 --name "$name" "$@"
}

# dk_track NAME: remove this container in dk_cleanup too.
dk_track() {
	echo "$1" >>"$E2E_TMP/.dk_containers"
}

# dk_net SHORT SUBNET: a bridge network; prints nothing.
dk_net() {
	local name
	name=$(dk_name "$1")
	echo "$name" >>"$E2E_TMP/.dk_networks"
	_egr_docker network create --subnet "$2" "$name" >/dev/null
}

# dk_watch_bg LOG [watch options...]: egressctl watch in the background,
# stdout+stderr to LOG; DK_WATCH_PID is its pid. Waits (bounded, 60 s) until it
# has done its startup pass.
dk_watch_bg() {
	ctr_watch_bg "$E2E_TMP/.dk_watch" "$@"
	local rc=$?
	DK_WATCH_PID=$CTR_WATCH_PID
	return "$rc"
}

# dk_cgid CONTAINER: the cgroup id of a running container (its v2 cgroup
# directory's inode), or nothing.
dk_cgid() {
	local pid path
	pid=$(_egr_docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$pid" != 0 ] || return 1
	path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup") || return 1
	stat -c %i "$CGROOT$path"
}

# dk_cgpath CONTAINER: its v2 cgroup's path under the mount (/docker/ID)
dk_cgpath() {
	local pid
	pid=$(_egr_docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null) || return 1
	sed -n 's/^0:://p' "/proc/$pid/cgroup"
}

# dk_attached CONTAINER: its current cgroup has egressctl pins.
dk_attached() {
	local id
	id=$(dk_cgid "$1") || return 1
	[ -n "$id" ] && [ -d "/sys/fs/bpf/egressctl/$id" ]
}

# ---- helpers of the container tests, either engine (50-52: Docker, 54: Podman)
# CTR_CLI is the engine's CLI (docker, or podman), RX_NS the receivers'
# namespace.

# ctr_case_end WATCHFILE MARK CONTAINERS ATTACHED PREFIX: the end of a case:
# the watch daemons listed in WATCHFILE from line MARK on are stopped; every
# container listed in CONTAINERS that ATTACHED (a function) says is attached
# is detached (target PREFIX<name>), its saved policy deleted.
ctr_case_end() {
	local pid c
	while read -r pid; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null # a case may have stopped it
		wait_for 15 sh -c '! kill -0 "$1" 2>/dev/null' sh "$pid"
	done < <(tail -n +"$2" "$1")
	while read -r c; do
		[ -n "$c" ] && "$4" "$c" && "$EGR" detach "$5$c" >/dev/null 2>&1
	done <"$3"
	rm -f "${EGRESSCTL_STATE_DIR:?}"/*.json 2>/dev/null
}

# ctr_watch_bg WATCHFILE LOG [watch options...]: egressctl watch in the
# background, stdout+stderr to LOG, its pid in CTR_WATCH_PID and appended to
# WATCHFILE. Waits (bounded, 60 s) until it has done its startup pass.
ctr_watch_bg() {
	local log=$2 i
	"$EGR" watch "${@:3}" >"$log" 2>&1 &
	CTR_WATCH_PID=$!
	echo "$CTR_WATCH_PID" >>"$1"
	for i in $(seq 600); do
		if grep -q '^watch: reconciled' "$log" 2>/dev/null; then
			case " ${*:3} " in
			*" --strict "* | *" --guard-only "*) e2e_guard_mine ;;
			esac
			return 0
		fi
		kill -0 "$CTR_WATCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "watch did not start: $(cat "$log")"
	return 1
}

# saved_of ID: "NAME SOURCE" of container ID's saved policy (state file)
saved_of() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], d["source"])' \
		"$EGRESSCTL_STATE_DIR/$1.json"
}

# enforced_ms LOG NAME: the start->enforced time of NAME's last start line
enforced_ms() {
	grep -E "^start $2 \([0-9a-f]{12}\): enforced .* in [0-9.]+ ms$" "$1" | tail -1 |
		sed -E 's/.* in ([0-9.]+) ms$/\1/'
}
# wait_line LOG REGEX [SECONDS=60]: until watch logged it
wait_line() {
	wait_for "${3:-60}" grep -qE "$2" "$1" && return 0
	diag "no line '$2' in $1: $(tail -5 "$1")"
	return 1
}
# ctr_cgroup_first LOG REL ID NAME DEST PORT: watch (LOG its log) follows
# the new cgroups under the engine's parent: container ID (NAME), created
# with the label egressctl.allow=DEST udp:PORT and never started, gets its
# cgroup REL (below the cgroup v2 mount) made by hand, as runc makes it
# before the container's first instruction. Its policy is in force there
# with no start event: a process moved into it reaches PORT, not PORT+1.
# The cgroup and its pins are removed after.
ctr_cgroup_first() {
	local log=$1 rel=$2 id=$3 name=$4 dest=$5 port=$6 cg=$CGROOT$2 cgid
	mkdir "$cg" || { fail "mkdir $cg"; return 1; }
	cgid=$(stat -c %i "$cg")
	wait_line "$log" "^cgroup $name " 60
	assert_match "new cgroup: the label policy in force as the cgroup appears" \
		"^cgroup $name \(${id:0:12}\): enforced label policy \(1 rule, default deny\) on cgroup $rel \(attached\) in [0-9.]+ ms$" \
		"$(grep "^cgroup $name " "$log")"
	assert_eq "new cgroup: the container never started" created \
		"$("${CTR_CLI:-docker}" inspect -f '{{.State.Status}}' "$id" 2>/dev/null)"
	assert_eq "new cgroup: no start event for it" 0 "$(grep -c "^start $name " "$log")"
	expect_udp pass "$dest" "$port" -n 5 --from "$cg" -m "new cgroup, no start event: its allowed destination"
	expect_udp drop "$dest" $((port + 1)) -n 5 --from "$cg" -m "new cgroup, no start event: another port"
	_cg_evict "$cg"
	rmdir "$cg"
	# the kernel frees a removed cgroup (and defuncts its link) a little later
	assert_true "new cgroup removed: detach --gone removes its pins" wait_for 60 _pins_gone "$cgid"
}
_pins_gone() {
	"$EGR" detach --gone >/dev/null 2>&1
	[ ! -e "/sys/fs/bpf/egressctl/$1" ]
}

# lines_ge LOG REGEX N
lines_ge() { [ "$(grep -cE "$2" "$1")" -ge "$3" ]; }

# guard_stat COUNTER: the strict-mode guard's packets of COUNTER
guard_stat() {
	"$EGR" watch --guard-status -j |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["guard"]["counters"][sys.argv[1]]["packets"])' "$1"
}
_guard_ge() { [ "$(guard_stat "$1")" -ge "$2" ]; }
# rx_up PORT: a receiver in RX_NS with a progress file: output
# $E2E_TMP/rx.PORT; rx_count PORT: what it has received so far
rx_up() { peer_bg "$RX_NS" "$E2E_TMP/rx.$1" udp-recv "$1" 900 -b -p "$E2E_TMP/rx.$1.p"; }
rx_count() { local n=0; read -r n _ <"$E2E_TMP/rx.$1.p" 2>/dev/null; echo "${n:-0}"; }
_rx_ge() { [ "$(rx_count "$1")" -ge "$2" ]; }
# senders_done C: the container's peer senders have exited
senders_done() { ! "${CTR_CLI:-docker}" exec "$1" pidof peer >/dev/null 2>&1; }
# stop_senders C: SIGTERM to the container's senders, until they are gone
stop_senders() {
	"${CTR_CLI:-docker}" exec "$1" killall peer >/dev/null 2>&1
	wait_for 30 senders_done "$1"
}
# progress_of C FILE: a sender's "sent N errors M" (its -p file in C)
progress_of() { "${CTR_CLI:-docker}" exec "$1" cat "$2" 2>/dev/null; }
_errors_ge() { local w; read -r -a w <<<"$(progress_of "$1" "$2")"; [ "${w[3]:-0}" -ge "$3" ]; }
