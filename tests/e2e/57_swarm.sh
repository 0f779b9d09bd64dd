#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Docker Swarm: a single-node swarm on the test dockerd (swarm_lib.sh), a
# service that declares its policy as container labels (docker service
# create --container-label), egressctl watch --strict (the guard on /docker,
# where the tasks' cgroups are) enforcing it on every task container:
# scale up and down, a rolling update of the image and of the label policy,
# a task that crashes and is rescheduled, the start-up window (watch stopped
# while tasks start sending), and the example stack file deployed with
# docker stack deploy. Every task sends from its first instant to a denied
# and to an allowed destination; the receivers count exactly what got out:
# nothing to the denied one, at the allowed one exactly what the senders
# got out. Every task is then probed (allowed destination reachable, denied
# one not). Services, stacks and the swarm are removed at exit.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr docker python3
# shellcheck source=tests/e2e/swarm_lib.sh
. "$(dirname "$0")/swarm_lib.sh"

ALL_TESTS="test_scale test_update_image test_update_label test_crash_rescheduled
	test_strict_start test_stack_deploy test_two_nodes"

if [ -d /sys/fs/bpf/egressctl/guard ]; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
if [ -n "$(docker ps -q)" ]; then
	bail "containers are running on this dockerd: the guard on /docker would hold them; not touching them"
fi
netns_up d57rx 198.18.57.2/24 -
netns_addr d57rx 198.18.58.7/32
RX=198.18.57.2 OTHER=198.18.58.7 RX_NS=d57rx
_sysctl - net.ipv4.ip_forward 1
LOG=$E2E_TMP/watch.log
T=$E2E_TMP
IMG=$EGR_DOCKER_IMAGE
# Services name the image by its id: a task whose image is named by a tag
# makes the node's agent try the registry first (a DNS query), whatever
# --no-resolve-image says; by id it never does.
IMGID=$(docker image inspect -f '{{.Id}}' "$IMG") || bail "no image $IMG"
IMG2=${IMG%:*}:swarm57
# the start-up senders of every task: to the denied destination (PD) and to
# an allowed one (PA), from its first instant; probes: PP allowed, PQ the
# port a label update allows instead
PD=5701 PA=5702 PP=5703 PQ=5704
START="peer udp-send $OTHER $PD 200 -i 2000 -p /tmp/a & peer udp-send $RX $PA 200 -i 2000 -p /tmp/b & wait;"
ALLOW="$RX udp:$PA, $RX udp:$PP"

sw_init
pass "single-node swarm initialised on the test dockerd"

sw_case() {
	if [ "$1" = end ]; then
		sw_node2_down
		sv_rm_all
		"$EGR" watch --remove-guard >/dev/null 2>&1
		docker image rm "$IMG2" >/dev/null 2>&1
	fi
	return 0
}
e2e_on_case sw_case

strict_watch() { dk_watch_bg "$1" --strict; }
udp_from() {
	local c=$1
	shift
	expect_udp "$@" -n 5 -i 500 --from "docker:$c"
}
# probe C: its policy, exactly (the allowed destination, another port,
# another destination)
probe() {
	udp_from "$1" pass "$RX" "$PP" -m "$2: $1 -> $RX udp:$PP allowed" || return 1
	udp_from "$1" drop "$OTHER" "$PP" -m "$2: $1 -> $OTHER denied" || return 1
}
# startup_rx: the receivers of the start-up senders
startup_rx() { rx_up "$PD" && rx_up "$PA"; }
# sent_of C: once C's start-up senders are done, what the one to the
# allowed destination got out is added to SENT; C goes to SENT_BAD when the
# one to the denied destination got anything out
SENT=0 SENT_BAD=
sent_of() {
	local a b
	wait_for 60 senders_done "$1"
	a=$(progress_of "$1" /tmp/a) b=$(progress_of "$1" /tmp/b)
	[[ $a =~ ^sent\ 0\ errors\ 200$ ]] || SENT_BAD+=" $1($a)"
	read -r _ b _ <<<"$b"
	SENT=$((SENT + ${b:-0}))
}
# replaced SERVICE OLD...: none of the OLD tasks runs
replaced() {
	local svc=$1
	shift
	[ -z "$(comm -12 <(printf '%s\n' "$@" | sort) <(sv_tasks "$svc"))" ]
}
# rescheduled SERVICE OLD: one task runs, another than OLD
rescheduled() { [ "$(sv_tasks "$1" | wc -l)" -eq 1 ] && [ "$(sv_tasks "$1")" != "$2" ]; }
# startup_check WHAT: nothing arrived at the denied destination; the
# allowed one got exactly SENT datagrams (+ the fence)
startup_check() {
	assert_eq "$1: every task's start-up sends to a denied destination refused" "" "$SENT_BAD"
	assert_eq "$1: the denied destination received nothing (the fence alone)" "1 1" \
		"$(recv_done "$T/rx.$PD" "$OTHER" "$PD" 0)"
	assert_eq "$1: the allowed destination received exactly what the tasks got out (+ the fence)" \
		"$((SENT + 1))" "$(recv_done "$T/rx.$PA" "$RX" "$PA" "$SENT" | cut -d' ' -f1)"
}
pinned() { [ -d "/sys/fs/bpf/egressctl/$1" ]; }
no_pins() {
	local c
	for c in "$@"; do ! pinned "$c" || return 1; done
}
n_state() { find "$EGRESSCTL_STATE_DIR" -name '*.json' | wc -l; }
n_state_is() { [ "$(n_state)" -eq "$1" ]; }
# n_tasks SERVICE N: SERVICE has N running tasks; n_stack STACK N: STACK has
# N running containers
n_tasks() { [ "$(sv_tasks "$1" | wc -l)" -eq "$2" ]; }
n_stack() { [ "$(docker ps -q --filter "label=com.docker.stack.namespace=$1" | wc -l)" -eq "$2" ]; }

# scale up and down: every new task filtered, nothing left after scale down
test_scale() {
	local POLICY t cgs=() keep
	strict_watch "$LOG.s" || fail "watch --strict does not start"
	startup_rx || fail "receivers ready"
	POLICY=$(printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:%s, udp:%s]\n' "$RX" "$PA" "$PP")
	sv_create web --replicas 1 --container-label "egressctl.policy=$POLICY" \
		"$IMGID" sh -c "$START sleep 3600" || fail "service create"
	sv_wait web 1 "$LOG.s" || fail "1 task enforced"
	docker service scale -d "$(sv_name web)=4" >/dev/null
	assert_true "scale up to 4: 4 tasks, each with its label policy in force" sv_wait web 4 "$LOG.s"
	for t in $(sv_tasks web); do
		assert_match "$t: its label policy (2 rules, default deny) on its cgroup" \
			"start $t \([0-9a-f]{12}\): enforced label policy \(2 rules, default deny\) on cgroup /docker/[0-9a-f]{64} \(attached[^)]*\)" \
			"$(cat "$LOG.s")"
		probe "$t" "scale up"
		sent_of "$t"
		cgs+=("$(dk_cgid "$t")")
	done
	startup_check "scale up"
	assert_eq "4 tasks: 4 saved label policies" 4 "$(n_state)"
	docker service scale -d "$(sv_name web)=1" >/dev/null
	wait_for 60 n_tasks web 1
	keep=$(dk_cgid "$(sv_tasks web)")
	assert_eq "scale down to 1: 1 task left" 1 "$(sv_tasks web | wc -l)"
	for t in "${cgs[@]}"; do
		[ "$t" = "$keep" ] || wait_for 30 no_pins "$t"
	done
	assert_eq "scale down: pinned cgroups of the 4 tasks: only the one left" "$keep" \
		"$(for t in "${cgs[@]}"; do pinned "$t" && echo "$t"; done)"
	wait_for 30 n_state_is 1
	assert_eq "scale down: saved policies: only the task left's" 1 "$(n_state)"
	probe "$(sv_tasks web)" "scale down: the task left"
}

# rolling SHORT LOG: a service of 2 tasks with the label policy, updated one
# task at a time, the tasks enforced (else the case fails)
rolling() {
	sv_create "$1" --replicas 2 --update-parallelism 1 --update-delay 0s \
		--container-label "egressctl.allow=$ALLOW" "$IMGID" sh -c "$START sleep 3600" ||
		fail "service create"
	sv_wait "$1" 2 "$2" || fail "2 tasks enforced"
}

# a rolling update of the image: the new tasks get the policy
test_update_image() {
	local t id2 old=() oldcg=()
	strict_watch "$LOG.i" || fail "watch --strict does not start"
	# another image (another id): the test image with one more label
	if ! docker create --name "$(dk_name mk)" "$IMGID" true >/dev/null ||
		! docker commit --change 'LABEL egr.swarm57=2' "$(dk_name mk)" "$IMG2" >/dev/null; then
		fail "a second image"
	fi
	docker rm -f "$(dk_name mk)" >/dev/null
	id2=$(docker image inspect -f '{{.Id}}' "$IMG2")
	rolling upd "$LOG.i"
	mapfile -t old < <(sv_tasks upd)
	for t in "${old[@]}"; do
		oldcg+=("$(dk_cgid "$t")")
		wait_for 60 senders_done "$t"
	done
	startup_rx || fail "receivers ready"
	docker service update -d --image "$id2" "$(sv_name upd)" >/dev/null ||
		fail "service update --image"
	wait_for 90 replaced upd "${old[@]}"
	assert_true "update --image: 2 new tasks, each with its policy in force" sv_wait upd 2 "$LOG.i"
	assert_eq "update --image: none of the old tasks runs" 1 "$(replaced upd "${old[@]}" && echo 1 || echo 0)"
	for t in $(sv_tasks upd); do
		assert_eq "$t runs the new image" "$id2" "$(docker inspect -f '{{.Image}}' "$t")"
		probe "$t" "update --image"
		sent_of "$t"
	done
	startup_check "update --image"
	wait_for 30 no_pins "${oldcg[@]}"
	assert_eq "update --image: the old tasks' pins removed" 1 "$(no_pins "${oldcg[@]}" && echo 1 || echo 0)"
}

# a rolling update of the label policy: the running tasks have the new one
test_update_label() {
	local t old=()
	strict_watch "$LOG.l" || fail "watch --strict does not start"
	rolling lab "$LOG.l"
	mapfile -t old < <(sv_tasks lab)
	for t in "${old[@]}"; do
		udp_from "$t" drop "$RX" "$PQ" -m "before the update: $t -> $RX udp:$PQ denied"
		wait_for 60 senders_done "$t"
	done
	startup_rx || fail "receivers ready"
	docker service update -d --container-label-add "egressctl.allow=$RX udp:$PA, $RX udp:$PQ" \
		"$(sv_name lab)" >/dev/null || fail "service update --container-label-add"
	wait_for 90 replaced lab "${old[@]}"
	assert_true "update --container-label-add: 2 new tasks, each with its policy in force" \
		sv_wait lab 2 "$LOG.l"
	assert_eq "the service's container spec has the new label" "$RX udp:$PA, $RX udp:$PQ" \
		"$(docker service inspect -f '{{index .Spec.TaskTemplate.ContainerSpec.Labels "egressctl.allow"}}' "$(sv_name lab)")"
	for t in $(sv_tasks lab); do
		assert_match "$t: the new label policy (2 rules)" \
			"start $t \([0-9a-f]{12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.l")"
		udp_from "$t" pass "$RX" "$PQ" -m "after the update: $t -> $RX udp:$PQ allowed"
		udp_from "$t" drop "$RX" "$PP" -m "after the update: $t -> $RX udp:$PP (no longer allowed) denied"
		sent_of "$t"
	done
	startup_check "update --container-label-add"
}

# a task that crashes (exit 3) is rescheduled: the new task gets the policy
test_crash_rescheduled() {
	local t1 t2 cg1
	strict_watch "$LOG.c" || fail "watch --strict does not start"
	startup_rx || fail "receivers ready"
	mkdir -p "$T/crash"
	# a task exits 3 when the test creates the file named after it
	sv_create crash --replicas 1 --restart-condition on-failure --restart-delay 0s \
		--hostname '{{.Task.Name}}' --mount "type=bind,src=$T/crash,dst=/c" \
		--container-label "egressctl.allow=$ALLOW" "$IMGID" \
		sh -c "$START while [ ! -e /c/\$(hostname) ]; do sleep 0.1; done; exit 3" ||
		fail "service create"
	sv_wait crash 1 "$LOG.c" || fail "1 task enforced"
	t1=$(sv_tasks crash)
	cg1=$(dk_cgid "$t1")
	probe "$t1" "first task"
	sent_of "$t1"
	touch "$T/crash/$(docker inspect -f '{{.Config.Hostname}}' "$t1")"
	wait_for 90 rescheduled crash "$t1"
	assert_true "crashed: a new task, with its policy in force" sv_wait crash 1 "$LOG.c"
	t2=$(sv_tasks crash)
	assert_eq "the first task's container exited 3" 3 "$(docker inspect -f '{{.State.ExitCode}}' "$t1")"
	assert_match "swarm saw the crash" "task: non-zero exit \(3\)" \
		"$(docker service ps --no-trunc --format '{{.Error}}' "$(sv_name crash)")"
	assert_eq "rescheduled: another container" 1 "$([ -n "$t2" ] && [ "$t2" != "$t1" ] && echo 1 || echo 0)"
	probe "$t2" "rescheduled task"
	sent_of "$t2"
	startup_check "crash and reschedule"
	wait_for 30 no_pins "$cg1"
	assert_eq "the crashed task's pins removed" 1 "$(no_pins "$cg1" && echo 1 || echo 0)"
}

# --strict: tasks that start while watch is stopped send nothing until
# their policy is in force
test_strict_start() {
	local d0 t a b s_b e_b sb=0 tasks=()
	strict_watch "$LOG.t" || fail "watch --strict does not start"
	d0=$(guard_stat denied)
	startup_rx || fail "receivers ready"
	kill -STOP "$DK_WATCH_PID"
	sv_create tight --replicas 2 --container-label "egressctl.allow=$ALLOW" "$IMGID" \
		sh -c "peer udp-send $OTHER $PD 1000000 -i 2000 -t 600 -p /tmp/a &
			peer udp-send $RX $PA 1000000 -i 2000 -t 600 -p /tmp/b & sleep 3600" ||
		{ kill -CONT "$DK_WATCH_PID"; fail "service create"; }
	if ! wait_for 90 n_tasks tight 2; then
		kill -CONT "$DK_WATCH_PID"
		fail "watch stopped: 2 tasks running" "$(docker service ps --no-trunc "$(sv_name tight)")"
	fi
	mapfile -t tasks < <(sv_tasks tight)
	for t in "${tasks[@]}"; do
		if ! wait_for 60 _errors_ge "$t" /tmp/a 1 || ! wait_for 60 _errors_ge "$t" /tmp/b 1; then
			kill -CONT "$DK_WATCH_PID"
			fail "watch stopped: $t's sends refused by the guard"
		fi
	done
	pass "watch stopped: both tasks' sends refused (guard)"
	assert_range "the guard's drop counter grew" 2 100000000 $(($(guard_stat denied) - d0))
	assert_eq "watch stopped, no policy in force yet: nothing arrives at either destination" "0 0" \
		"$(rx_count "$PD") $(rx_count "$PA")"
	kill -CONT "$DK_WATCH_PID"
	assert_true "watch resumed: both tasks' policies in force" sv_wait tight 2 "$LOG.t"
	assert_true "once in force, the allowed destination receives" wait_for 60 _rx_ge "$PA" 1
	for t in "${tasks[@]}"; do
		stop_senders "$t"
		a=$(progress_of "$t" /tmp/a) b=$(progress_of "$t" /tmp/b)
		diag "$t's senders: denied destination '$a', allowed destination '$b'"
		assert_match "$t: every send to the denied destination refused" '^sent 0 errors [1-9][0-9]*$' "$a"
		read -r _ s_b _ e_b <<<"$b"
		assert_match "$t: sends to the allowed destination refused before its policy was in force" '^[1-9]' "$e_b"
		sb=$((sb + s_b))
	done
	assert_eq "the denied destination received nothing (the fence alone)" "1 1" \
		"$(recv_done "$T/rx.$PD" "$OTHER" "$PD" 0)"
	assert_eq "the allowed destination received exactly what got out (+ the fence)" \
		"$((sb + 1))" "$(recv_done "$T/rx.$PA" "$RX" "$PA" "$sb" | cut -d' ' -f1)"
	for t in "${tasks[@]}"; do probe "$t" "strict"; done
}

# the example stack file: labels at service level are the containers'
test_stack_deploy() {
	local st t want
	strict_watch "$LOG.k" || fail "watch --strict does not start"
	st=egr57k$E2E_ID
	# the example as it is, run with the test image and a task that stays
	cat >"$T/override.yml" <<-EOF
		version: "3.8"
		services:
		  web:
		    image: $IMGID
		    command: ["sleep", "3600"]
	EOF
	if ! docker stack deploy --resolve-image never -c "$E2E_ROOT/contrib/swarm/stack.yml" \
		-c "$T/override.yml" "$st" >"$T/stack.log" 2>&1; then
		fail "docker stack deploy contrib/swarm/stack.yml" "$(cat "$T/stack.log")"
	fi
	pass "docker stack deploy contrib/swarm/stack.yml"
	want=$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "${st}_web")
	assert_eq "the stack's replicas" 2 "$want"
	wait_for 90 n_stack "$st" "$want"
	for t in $(docker ps --format '{{.Names}}' --filter "label=com.docker.stack.namespace=$st"); do
		wait_line "$LOG.k" "^start $t \([0-9a-f]{12}\): enforced"
		assert_eq "$t: the container carries the stack's labels" \
			"198.19.200.10 tcp:5432, 198.19.200.53 udp:53|deny" \
			"$(docker inspect -f '{{index .Config.Labels "egressctl.allow"}}|{{index .Config.Labels "egressctl.default"}}' "$t")"
		assert_match "$t: its label policy in force" \
			"start $t \([0-9a-f]{12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.k")"
		udp_from "$t" drop "$OTHER" "$PP" -m "stack: $t -> $OTHER denied"
		assert_eq "$t: deploy.labels stay the service's" "" \
			"$(docker inspect -f '{{index .Config.Labels "com.example.team"}}' "$t")"
	done
}

# a second node (a dockerd in its own netns on this machine) joins; a task
# placed there is enforced by that node's own watch (--docker-host to its
# socket, a state directory of its own); node 1's watch leaves it alone.
# One kernel, one bpffs: node 1's --strict guard on /docker is the host's,
# node 2's tasks are under it (node 2's cgroup parent is below /docker), so
# node 2's watch runs without --strict, and its attach admits them.
test_two_nodes() {
	local t p cgs=()
	sw_node2_up || fail "node 2: a second dockerd joins the swarm" "$(tail -5 "$N2_DIR/dockerd.log")"
	pass "node 2: a second dockerd, in its own netns, joined the swarm as a worker"
	assert_eq "two nodes Ready" "ready ready" \
		"$(docker node ls -q | xargs docker node inspect -f '{{.Status.State}}' | xargs)"
	strict_watch "$LOG.1" || fail "node 1: watch --strict does not start"
	mkdir -p "$T/state2"
	EGRESSCTL_STATE_DIR=$T/state2 "$EGR" --docker-host "$N2_HOST" watch >"$LOG.2" 2>&1 &
	echo $! >>"$T/.dk_watch"
	wait_line "$LOG.2" '^watch: reconciled' || fail "node 2: watch does not start"
	startup_rx || fail "receivers ready"
	sv_create fleet --replicas 2 --constraint "node.id==$N2_ID" \
		--container-label "egressctl.allow=$ALLOW" "$IMGID" sh -c "$START sleep 3600" ||
		fail "service create"
	DOCKER_HOST=$N2_HOST assert_true "2 tasks on node 2, each with its policy in force (node 2's watch)" \
		sv_wait fleet 2 "$LOG.2"
	assert_eq "node 1 runs none of them" "" "$(sv_tasks fleet)"
	for t in $(DOCKER_HOST=$N2_HOST sv_tasks fleet); do
		p=$(n2 inspect -f '{{.State.Pid}}' "$t")
		assert_match "$t: its cgroup is node 2's" "^0::$N2_CG/[0-9a-f]{64}$" "$(grep '^0::' "/proc/$p/cgroup")"
		cgs+=("$(stat -c %i "$CGROOT$(sed -n 's/^0:://p' "/proc/$p/cgroup")")")
		assert_match "$t: node 2's watch enforced it" \
			"start $t \([0-9a-f]{12}\): enforced label policy \(2 rules, default deny\) on cgroup $N2_CG/" "$(cat "$LOG.2")"
		DOCKER_HOST=$N2_HOST probe "$t" "node 2"
		DOCKER_HOST=$N2_HOST sent_of "$t"
	done
	startup_check "node 2"
	assert_eq "node 1's watch logged nothing about them" 0 "$(grep -c "$(sv_name fleet)" "$LOG.1")"
	# one bpffs for both: node 1's resync pass leaves node 2's pins alone
	assert_rc "node 1: watch --once" 0 "$EGR" watch --once
	assert_eq "node 2's tasks still attached after node 1's resync" 2 \
		"$(for p in "${cgs[@]}"; do pinned "$p" && echo "$p"; done | wc -l)"
	docker service rm "$(sv_name fleet)" >/dev/null
	wait_for 60 no_pins "${cgs[@]}"
	assert_eq "service removed: node 2's watch removed its tasks' pins" 1 "$(no_pins "${cgs[@]}" && echo 1 || echo 0)"
}

run_tests
