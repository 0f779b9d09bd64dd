#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl watch --kubernetes. No API server or kubelet can run here: the
# API server is a stand-in (tests/e2e/kube_server.py: HTTPS with a CA made
# here by openssl, the bearer token checked, the list + chunked watch
# protocol with ADDED / MODIFIED / DELETED / BOOKMARK events, an ERROR 410
# in the stream and an HTTP 410 reply, going away and coming back), and the
# pods' cgroups are made here as the kubelet names them, in both layouts
# (cgroupfs: /kubepods/burstable/pod<uid>/<container id>; systemd:
# /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
# cri-containerd-<id>.scope; Guaranteed and BestEffort too). Real: the
# cgroups, the processes in them (found by watch from /proc), the filter and
# the guard in the kernel, the packets (counted at a receiver in a netns on
# 198.18.57.0/24), HTTPS. Each case has its own node name, so the server's
# pods of one case are not another's.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr python3 openssl curl jq

ALL_TESTS="test_manifest test_bad_options test_startup_cgroupfs test_systemd_layouts
	test_cgroup_from_processes test_live_edit test_bad_annotation test_cgroup_later
	test_deleted test_bookmark_resume test_410_relist test_token test_api_away test_pod_veth
	test_strict_cgroupfs test_strict_systemd test_cgroup_namespace"

if [ -e "$CGROOT/kubepods" ] || [ -e "$CGROOT/kubepods.slice" ]; then
	bail "this host has kubepods cgroups (a kubelet?): not touching them"
fi
# they are this run's from now on (sweep.sh removes them if it dies)
printf '%s\n' "$CGROOT/kubepods" "$CGROOT/kubepods.slice" >>"$E2E_TMP/.cgroups"
if [ -d /sys/fs/bpf/egressctl/guard ]; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
python3 -c 'import yaml' 2>/dev/null || bail "python3-yaml missing (tools/install-deps.sh)"

netns_up k56rx 198.18.57.2/24 -
netns_addr k56rx 198.18.58.7/32
RX=198.18.57.2 OTHER=198.18.58.7
T=$E2E_TMP
export EGRESSCTL_STATE_DIR=$T/state
mkdir -p "$EGRESSCTL_STATE_DIR"
ROOTCG=/egr-k56-$E2E_ID # a kubelet --cgroup-root (test_cgroup_from_processes)

# ---- the API server: a CA, a certificate for 127.0.0.1, a token --------------------
K=$T/kube
mkdir -p "$K"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=egr-test-ca" \
	-keyout "$K/ca.key" -out "$K/ca.crt" >/dev/null 2>&1 || bail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=kubernetes" -keyout "$K/srv.key" \
	-out "$K/srv.csr" >/dev/null 2>&1 || bail "openssl: CSR"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$K/ext"
openssl x509 -req -in "$K/srv.csr" -CA "$K/ca.crt" -CAkey "$K/ca.key" -CAcreateserial \
	-days 1 -extfile "$K/ext" -out "$K/srv.crt" >/dev/null 2>&1 || bail "openssl: certificate"
# the token the server takes (srvtoken) and the one watch reads (token)
echo "token-one-$E2E_ID" >"$K/srvtoken"
cp "$K/srvtoken" "$K/token"
run_bg - "$T/kapi" python3 "$E2E_LIB_DIR/kube_server.py" "$K/srv.crt" "$K/srv.key" \
	"$K/srvtoken" "$K/ports"
wait_for 20 test -s "$K/ports" || bail "the API server does not start: $(cat "$T/kapi.err")"
read -r APORT CPORT <"$K/ports"
API=https://127.0.0.1:$APORT

# ctl OP [JSON]: a control request; prints the server's resourceVersion
ctl() { curl -sf -X POST --data-binary "${2:-{\}}" "http://127.0.0.1:$CPORT/$1"; }
# api_log: the API requests served so far, one JSON object a line
api_log() { curl -sf "http://127.0.0.1:$CPORT/log"; }
# requests watch|list -ge|-gt N: so many of that kind (for wait_for: asked
# again at every try)
requests() { test "$(api_requests "$1")" "$2" "$3"; }
# api_requests [watch|list]: how many of that kind for this case's node
api_requests() {
	api_log | jq -c --arg sel "spec.nodeName=$NODE" 'select(.query.fieldSelector == $sel)' |
		if [ "${1:-}" = watch ]; then grep -c '"watch":"1"'; else grep -vc '"watch":"1"'; fi
}

# ---- pods and their cgroups --------------------------------------------------------
NODE=
uid_of() { printf '%s-%04x-4%03x-8%03x-%012x' "$E2E_ID" "$1" "$1" "$1" "$1"; }
cid_of() { printf 'c0ffee%s%050x' "$E2E_ID" "$1"; }
# pod_json N NAME QOS ANNOTATIONS-JSON [NODE]: a running pod, one container
pod_json() {
	jq -cn --arg uid "$(uid_of "$1")" --arg name "$2" --arg qos "$3" --argjson ann "$4" \
		--arg node "${5:-$NODE}" --arg cid "containerd://$(cid_of "$1")" \
		'{kind: "Pod", apiVersion: "v1",
		  metadata: {uid: $uid, namespace: "egr", name: $name, annotations: $ann},
		  spec: {nodeName: $node, containers: [{name: "c"}]},
		  status: {phase: "Running", qosClass: $qos,
		           containerStatuses: [{name: "c", containerID: $cid, state: {running: {}}}]}}'
}
put_pod() { ctl put "$(pod_json "$@")" >/dev/null || fail "the API server took pod $2"; }

# mkpod N QOS cgroupfs|systemd [ROOT]: the pod's cgroup and its container's,
# as the kubelet makes them (below ROOT, a --cgroup-root), with a process
# in the container's: PODCG (the pod's path below the mount), CCG (the
# container's, absolute).
mkpod() {
	local uid cid u_ q d c
	uid=$(uid_of "$1") cid=$(cid_of "$1") q=$2
	u_=${uid//-/_}
	if [ "$3" = cgroupfs ]; then
		case $q in
		Guaranteed) d=/kubepods/pod$uid ;;
		*) d=/kubepods/${q,,}/pod$uid ;;
		esac
		c=$cid
	else
		case $q in
		Guaranteed) d=/kubepods.slice/kubepods-pod$u_.slice ;;
		*) d=/kubepods.slice/kubepods-${q,,}.slice/kubepods-${q,,}-pod$u_.slice ;;
		esac
		c=cri-containerd-$cid.scope
	fi
	PODCG=${4:-}$d CCG=$CGROOT${4:-}$d/$c
	mkdir -p "$CCG" || fail "mkdir $CCG"
	run_bg - "$T/proc.$1.$RANDOM" cg_run "$CCG" sleep 600
	wait_for 10 grep -q . "$CCG/cgroup.procs" || fail "a process in $CCG"
}
pod_cgid() { stat -c %i "$CGROOT$1"; }
# rules_of PODCG: the rules in force, read back from the kernel
rules_of() { "$EGR" list "cgroup:$CGROOT$1" -j | jq -c '[.. | objects | select(has("action")) | {action, dest, ports}]'; }
pinned() { [ -d "/sys/fs/bpf/egressctl/$1" ] && echo yes || echo no; }

# ---- watch ------------------------------------------------------------------------------
LOG=
# kwatch NAME [OPTS...]: watch --kubernetes -j for this case's node, in the
# background (stopped when the case ends); LOG its stdout (LOG.err stderr).
kwatch() {
	LOG=$T/watch.$1
	shift
	run_bg - "$LOG" "$EGR" watch --kubernetes --node "$NODE" --kube-api "$API" \
		--kube-token "$K/token" --kube-ca "$K/ca.crt" -j "$@"
	WPID=$BG_PID
	wait_for 30 grep -q '"message":"listed' "$LOG" ||
		fail "watch --kubernetes lists the node's pods" "$(cat "$LOG" "$LOG.err" 2>/dev/null)"
}
# logged REGEX [N=1]: at least N lines of LOG match (bounded wait)
_logged_n() { [ "$(grep -cE "$1" "$LOG")" -ge "$2" ]; }
logged() { wait_for 30 _logged_n "$1" "${2:-1}"; }
stop_watch() {
	_kill_tree TERM "$WPID"
	wait_for 10 test -e "$LOG.rc"
}
# every line watch wrote, stdout and stderr, is a JSON object
all_json() {
	cat "$LOG" "$LOG.err" | python3 -c '
import json, sys
bad = 0
for l in sys.stdin:
    try:
        json.loads(l)
    except ValueError:
        bad += 1
print(bad)'
}

# Each case: its own node name; afterwards no guard, no pod cgroups, no pins
# of them.
k56_case() {
	local d
	case $1 in
	begin)
		K56_N=$((K56_N + 1))
		NODE=n$K56_N-$E2E_ID
		;;
	end)
		"$EGR" watch --remove-guard >/dev/null 2>&1
		while read -r d; do
			_cg_evict "$d"
			rmdir "$d" 2>/dev/null
		done < <(find "$CGROOT/kubepods" "$CGROOT/kubepods.slice" "$CGROOT$ROOTCG" -depth \
			-type d 2>/dev/null)
		"$EGR" detach --gone >/dev/null 2>&1
		;;
	esac
	return 0
}
K56_N=0
e2e_on_case k56_case
k56_exit() { k56_case end; }
e2e_on_exit k56_exit

udp() { # pass|drop DEST PORT NAME: 5 datagrams from the container CCG
	expect_udp "$1" "$2" "$3" -n 5 --from "$CCG" -m "$4"
}

# ---- cases ------------------------------------------------------------------------------

test_manifest() {
	local f=$E2E_ROOT/contrib/kubernetes/egressctl.yaml out
	out=$(python3 - "$f" <<-'EOF'
		import sys, yaml
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
		kinds = {d["kind"]: d for d in docs}
		print(" ".join(sorted(kinds)))
		role = kinds["ClusterRole"]["rules"]
		print("rbac", [(r["apiGroups"], r["resources"], sorted(r["verbs"])) for r in role])
		ds = kinds["DaemonSet"]["spec"]["template"]["spec"]
		c = ds["containers"][0]
		print("hostPID", ds.get("hostPID"))
		print("sa", ds["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"])
		env = {e["name"]: e for e in c["env"]}
		print("node", env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"])
		vols = {v["name"]: v.get("hostPath", {}).get("path") for v in ds["volumes"]}
		mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
		print("bpffs", vols.get("bpffs"), mounts.get("bpffs"))
		print("cgroup", vols.get("cgroup"), mounts.get("cgroup"), env["EGRESSCTL_CGROUP_ROOT"]["value"])
		print("args", " ".join(c["args"]))
		print("configmap", any("configMapKeyRef" in e.get("valueFrom", {}) for e in c["env"]))
	EOF
	)
	assert_rc "contrib/kubernetes/egressctl.yaml is well-formed YAML" 0 python3 -c \
		'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f"
	diag "$out"
	assert_match "manifest: the five objects" \
		"ClusterRole ClusterRoleBinding ConfigMap DaemonSet ServiceAccount" "$out"
	assert_match "manifest: least RBAC, get/list/watch on pods only" \
		"rbac \[\(\[''\], \['pods'\], \['get', 'list', 'watch'\]\)\]" "$out"
	assert_match "manifest: host PID" "hostPID True" "$out"
	assert_match "manifest: the DaemonSet runs as the ServiceAccount" "sa True" "$out"
	assert_match "manifest: NODE_NAME from the downward API" "node spec.nodeName" "$out"
	assert_match "manifest: bpffs from the host" "bpffs /sys/fs/bpf /sys/fs/bpf" "$out"
	assert_match "manifest: the host's cgroup v2 tree, named to egressctl" \
		"cgroup /sys/fs/cgroup /host/sys/fs/cgroup /host/sys/fs/cgroup" "$out"
	assert_match "manifest: watch --kubernetes" "args .*watch --kubernetes" "$out"
	assert_match "manifest: defaults from the ConfigMap" "configmap True" "$out"
}

test_bad_options() {
	local tok=(--kube-token "$K/token" --kube-ca "$K/ca.crt")
	assert_rc "no node name: exit 1" 1 env -u NODE_NAME "$EGR" watch --kubernetes --strict \
		--kube-api "$API" "${tok[@]}"
	assert_eq "no node name: one line" \
		"egressctl: no node name: give --node or set \$NODE_NAME (the DaemonSet sets it from spec.nodeName)" "$LAST_ERR"
	assert_rc "not in a pod, no --kube-api: exit 1" 1 env -u KUBERNETES_SERVICE_HOST \
		"$EGR" watch --kubernetes --strict --node "$NODE" "${tok[@]}"
	assert_eq "not in a pod: one line" \
		"egressctl: no Kubernetes API server: \$KUBERNETES_SERVICE_HOST is unset (not in a pod) and no --kube-api was given" "$LAST_ERR"
	assert_rc "bad --kube-api: exit 1" 1 "$EGR" watch --kubernetes --strict --node "$NODE" \
		--kube-api http://127.0.0.1:1 "${tok[@]}"
	assert_eq "bad --kube-api: one line" \
		"egressctl: bad --kube-api 'http://127.0.0.1:1': use https://HOST[:PORT]" "$LAST_ERR"
	assert_rc "bad node name: exit 1" 1 "$EGR" watch --kubernetes --node 'a b' --kube-api "$API"
	assert_match "bad node name: one line" "^egressctl: bad node name 'a b'" "$LAST_ERR"
	assert_rc "--node without --kubernetes: exit 1" 1 "$EGR" watch --node x
	assert_rc "--kubernetes --once: exit 1" 1 "$EGR" watch --kubernetes --once
	assert_rc "--kubernetes --no-follow-cgroups: exit 1" 1 "$EGR" watch --kubernetes --no-follow-cgroups
	assert_eq "--kubernetes --no-follow-cgroups: one line" \
		"egressctl: --kubernetes watches pods: --follow-cgroups and --no-follow-cgroups are for Podman" "$LAST_ERR"
	assert_eq "bad options: no guard installed (no kernel change)" no \
		"$([ -e /sys/fs/bpf/egressctl/guard ] && echo yes || echo no)"
	assert_eq "bad options: no kubepods cgroup made" no \
		"$([ -e "$CGROOT/kubepods" ] && echo yes || echo no)"
}

# a pod running before watch starts, cgroupfs layout, Burstable
test_startup_cgroupfs() {
	local q w rv
	mkpod 1 Burstable cgroupfs
	put_pod 1 web Burstable "{\"egressctl.io/allow\": \"$RX udp:5601\"}"
	kwatch startup
	logged '"event":"listed".*enforced annotation policy' || fail "enforced at startup"
	assert_match "listed: the node's pods" "listed 1 pod of node $NODE" "$(cat "$LOG")"
	assert_match "the pod's cgroup (cgroupfs, burstable), attached" \
		"\"event\":\"listed\".*enforced annotation policy \(1 rule, default deny\) on cgroup /kubepods/burstable/pod$(uid_of 1) \(attached\)\",\"ms\":[0-9.]+,\"pod\":\"egr/web\"" \
		"$(cat "$LOG")"
	assert_eq "pinned on the pod's cgroup" yes "$(pinned "$(pod_cgid "$PODCG")")"
	udp pass "$RX" 5601 "web: allowed, from a process in its container's cgroup"
	udp drop "$RX" 5602 "web: another port dropped"
	udp drop "$OTHER" 5601 "web: another address dropped"
	q=$(api_log | jq -c --arg sel "spec.nodeName=$NODE" 'select(.query.fieldSelector == $sel)' | head -1)
	assert_match "list: GET /api/v1/pods, fieldSelector spec.nodeName, no watch" \
		"^\{\"path\":\"/api/v1/pods\",\"query\":\{\"fieldSelector\":\"spec.nodeName=$NODE\"\},\"auth\":true" "$q"
	wait_for 10 requests watch -ge 1
	w=$(api_log | jq -c --arg sel "spec.nodeName=$NODE" 'select(.query.fieldSelector == $sel and .query.watch == "1")' | head -1)
	rv=$(grep -o 'resourceVersion [0-9]*' "$LOG" | head -1 | cut -d' ' -f2)
	assert_eq "watch: from the list's resourceVersion" "$rv" "$(jq -r .query.resourceVersion <<<"$w")"
	assert_eq "watch: bookmarks asked for" true "$(jq -r .query.allowWatchBookmarks <<<"$w")"
	assert_eq "watch: bearer token sent" true "$(jq -r .auth <<<"$w")"
	assert_eq "-j: every line watch wrote is JSON" 0 "$(all_json)"
	stop_watch
	assert_eq "SIGTERM: exit 0" 0 "$(cat "$LOG.rc")"
	udp drop "$RX" 5602 "watch stopped: the pod's policy stays in force"
}

# systemd driver: Guaranteed (directly under kubepods.slice), BestEffort,
# Burstable with a policy document
test_systemd_layouts() {
	local G B E pol
	mkpod 2 Guaranteed systemd
	G=$CCG
	mkpod 3 BestEffort systemd
	E=$CCG
	mkpod 4 Burstable systemd
	B=$CCG
	kwatch systemd
	pol=$(jq -cn --arg d "default: deny
rules:
  - allow: $RX
    ports: [udp:5603]
" '{"egressctl.io/policy": $d}')
	put_pod 2 db Guaranteed "$pol"
	put_pod 3 batch BestEffort "{\"egressctl.io/allow\": \"$RX udp:5604\"}"
	put_pod 4 api Burstable "{\"egressctl.io/allow\": \"$RX udp:5605\", \"egressctl.io/audit\": \"false\"}"
	logged "kubepods-burstable-pod$(uid_of 4 | tr - _).slice" || fail "three pods enforced"
	logged "kubepods-besteffort-pod$(uid_of 3 | tr - _).slice" || fail "three pods enforced"
	assert_match "Guaranteed: kubepods.slice/kubepods-pod<uid>.slice" \
		"\"event\":\"added\".*enforced annotation policy \(1 rule, default deny\) on cgroup /kubepods.slice/kubepods-pod$(uid_of 2 | tr - _).slice \(attached\)" "$(cat "$LOG")"
	CCG=$G udp pass "$RX" 5603 "systemd, Guaranteed, policy document: allowed"
	CCG=$G udp drop "$RX" 5604 "systemd, Guaranteed: another port dropped"
	CCG=$E udp pass "$RX" 5604 "systemd, BestEffort: allowed"
	CCG=$E udp drop "$OTHER" 5604 "systemd, BestEffort: another address dropped"
	CCG=$B udp pass "$RX" 5605 "systemd, Burstable: allowed"
	CCG=$B udp drop "$RX" 5603 "systemd, Burstable: another port dropped"
}

# a kubelet with --cgroup-root: the pod's cgroup is not where the kubelet's
# default naming puts it; watch finds it from its container's process
test_cgroup_from_processes() {
	mkpod 5 Burstable cgroupfs "$ROOTCG"
	kwatch procs
	put_pod 5 rooted Burstable "{\"egressctl.io/allow\": \"$RX udp:5606\"}"
	logged "enforced annotation policy.*on cgroup $ROOTCG/kubepods/burstable/pod$(uid_of 5) \(attached\)" ||
		fail "found from the container's process" "$(cat "$LOG")"
	pass "pod cgroup found from its container's process: $ROOTCG/kubepods/burstable/pod<uid>"
	udp pass "$RX" 5606 "--cgroup-root pod: allowed"
	udp drop "$RX" 5607 "--cgroup-root pod: another port dropped"
}

test_live_edit() {
	local before after
	mkpod 6 Burstable cgroupfs
	kwatch edit
	put_pod 6 web Burstable "{\"egressctl.io/allow\": \"$RX udp:5611\"}"
	logged '"event":"added".*enforced' || fail "enforced on ADDED"
	udp pass "$RX" 5611 "before the edit: allowed"
	put_pod 6 web Burstable "{\"egressctl.io/allow\": \"$RX udp:5612\"}"
	logged '"event":"modified".*enforced annotation policy' || fail "MODIFIED applied"
	pass "MODIFIED: the new annotation enforced"
	udp pass "$RX" 5612 "after the edit: the new port allowed"
	udp drop "$RX" 5611 "after the edit: the old port dropped"
	before=$(rules_of "$PODCG")
	put_pod 6 web Burstable '{"egressctl.io/allow": "300.1.2.3 udp:5613"}'
	logged '"event":"error".*annotation egressctl.io/allow' || fail "a bad edit: error line"
	assert_eq "a bad edit: one error line" 1 "$(grep -c '"event":"error"' "$LOG")"
	assert_match "a bad edit: it names the annotation and says the policy in force stays" \
		"annotation egressctl.io/allow: [^\"]*300.1.2.3[^\"]*; the policy in force stays unchanged" "$(grep '"event":"error"' "$LOG")"
	after=$(rules_of "$PODCG")
	assert_eq "a bad edit: the rules in the kernel unchanged" "$before" "$after"
	udp pass "$RX" 5612 "a bad edit: the last good policy still allows"
	udp drop "$RX" 5613 "a bad edit: nothing of it in force"
	put_pod 6 web Burstable '{}'
	logged '"event":"modified".*no policy: left alone' || fail "annotation removed"
	assert_eq "annotation removed: the filter is detached" no "$(pinned "$(pod_cgid "$PODCG")")"
	udp pass "$RX" 5611 "annotation removed: unfiltered (--unmanaged allow)"
}

# a new pod whose annotation is bad: one line, and it fails closed
test_bad_annotation() {
	local C7
	mkpod 7 Burstable cgroupfs
	C7=$CCG
	kwatch bad
	put_pod 7 bad Burstable '{"egressctl.io/allow": "nonsense!"}'
	mkpod 8 Burstable cgroupfs
	put_pod 8 other Burstable '{"egressctl.io/alow": "198.18.57.2"}'
	logged 'enforced deny-all \(bad policy\).*"pod":"egr/other"' || fail "the bad key: attached"
	logged 'enforced deny-all \(bad policy\).*"pod":"egr/bad"' || fail "the bad destination: attached"
	assert_match "bad destination: one line naming the annotation" \
		"\"event\":\"error\",\"id\":\"$(uid_of 7)\",\"message\":\"annotation egressctl.io/allow: [^\"]*nonsense[^\"]*; egress stays denied\",\"pod\":\"egr/bad\"" "$(cat "$LOG")"
	assert_match "unknown key: one line naming it" \
		"unknown annotation egressctl.io/alow \(use egressctl.io/policy, egressctl.io/allow" "$(cat "$LOG")"
	udp drop "$RX" 5614 "bad key: fail closed, nothing out"
	CCG=$C7 udp drop "$RX" 5614 "bad destination: fail closed, nothing out"
}

# the API server announces a pod before the kubelet has made its cgroup
test_cgroup_later() {
	kwatch later
	put_pod 9 late Burstable "{\"egressctl.io/allow\": \"$RX udp:5615\"}"
	logged "waiting for the pod's cgroup" || fail "waits for the cgroup"
	pass "a pod before its cgroup: waits"
	mkpod 9 Burstable cgroupfs
	logged "\"event\":\"retry\".*pod$(uid_of 9) \(attached\)" || fail "enforced once the cgroup is there"
	pass "the cgroup made later: enforced"
	udp pass "$RX" 5615 "cgroup made later: allowed"
	udp drop "$RX" 5616 "cgroup made later: another port dropped"
	# another node's pod, then one of this node's: events come in order, so
	# once the second is seen, the first would have been
	mkpod 10 Burstable cgroupfs
	put_pod 10 elsewhere Burstable "{\"egressctl.io/allow\": \"$RX udp:5615\"}" "other-node-$E2E_ID"
	put_pod 18 marker Burstable '{}'
	logged '"pod":"egr/marker"' || fail "the marker pod seen"
	assert_eq "another node's pod: not attached" no "$(pinned "$(pod_cgid "$PODCG")")"
	assert_eq "another node's pod: never named in the log" 0 "$(grep -c elsewhere "$LOG")"
}

test_deleted() {
	local cg
	mkpod 11 BestEffort cgroupfs
	kwatch del
	put_pod 11 gone BestEffort "{\"egressctl.io/allow\": \"$RX udp:5617\"}"
	logged '"event":"added".*enforced' || fail "enforced"
	cg=$(pod_cgid "$PODCG")
	udp drop "$RX" 5618 "before DELETED: filtered"
	ctl delete "{\"uid\": \"$(uid_of 11)\"}" >/dev/null
	logged '"event":"deleted".*pod deleted' || fail "DELETED seen"
	assert_match "DELETED: the filter is removed" "\"event\":\"deleted\".*its filter on cgroup /kubepods/besteffort/pod$(uid_of 11) is removed" "$(cat "$LOG")"
	assert_eq "DELETED: the pod's pins are gone" no "$(pinned "$cg")"
	udp pass "$RX" 5618 "DELETED: traffic no longer filtered"
}

test_bookmark_resume() {
	local n0 bm rv
	kwatch bm
	wait_for 10 requests watch -ge 1 || fail "watching"
	n0=$(api_requests watch)
	bm=$(ctl bookmark)
	ctl close >/dev/null
	wait_for 20 requests watch -gt "$n0" || fail "the watch resumed"
	rv=$(api_log | jq -r --arg sel "spec.nodeName=$NODE" 'select(.query.fieldSelector == $sel and .query.watch == "1") | .query.resourceVersion' | tail -1)
	assert_eq "BOOKMARK, then the server ends the watch: resumed from the bookmark's resourceVersion" "$bm" "$rv"
	assert_eq "the end of a watch is not an error: no list again" 1 "$(api_requests list)"
	assert_eq "no error logged" 0 "$(grep -c '"event":"error"' "$LOG" "$LOG.err" | awk -F: '{s += $2} END {print s}')"
}

test_410_relist() {
	local l0
	mkpod 12 Guaranteed cgroupfs
	put_pod 12 web Guaranteed "{\"egressctl.io/allow\": \"$RX udp:5619\"}"
	kwatch gone
	logged "on cgroup /kubepods/pod$(uid_of 12) \(attached\)" || fail "cgroupfs, Guaranteed: /kubepods/pod<uid>"
	pass "cgroupfs, Guaranteed: on /kubepods/pod<uid>"
	logged 'enforced' || fail "enforced"
	wait_for 10 requests watch -ge 1
	l0=$(api_requests list)
	ctl expire >/dev/null
	wait_for 20 requests list -gt "$l0" || fail "listed again after ERROR 410" \
		"$(cat "$LOG" "$LOG.err")" "$(api_log | tail -5)"
	pass "ERROR 410 in the stream: listed again"
	assert_match "ERROR 410: logged" '"message":"Kubernetes API watch: error 410: too old resource version: listing again"' "$(cat "$LOG")"
	# HTTP 410: the history is compacted past the watch's resourceVersion
	# while it is away; meanwhile the pod's annotation changed
	wait_for 10 requests watch -ge 2
	l0=$(api_requests list)
	ctl down >/dev/null
	put_pod 12 web Guaranteed "{\"egressctl.io/allow\": \"$RX udp:5620\"}"
	ctl compact >/dev/null
	ctl up >/dev/null
	wait_for 30 requests list -gt "$l0" || fail "listed again"
	logged '"event":"listed".*enforced annotation policy' 2 || fail "the change made meanwhile applied"
	pass "the change made while the watch was away: applied from the new list"
	udp pass "$RX" 5620 "after relisting: the new policy"
	udp drop "$RX" 5619 "after relisting: the old port dropped"
	# a watch resuming from a resourceVersion older than the history: HTTP 410
	wait_for 10 requests watch -ge 3
	l0=$(api_requests list)
	ctl put "$(pod_json 99 x Burstable '{}' "other-$E2E_ID")" >/dev/null
	ctl compact >/dev/null
	ctl close >/dev/null
	wait_for 30 requests list -gt "$l0" || fail "HTTP 410: listed again"
	pass "HTTP 410 on resuming: listed again"
	assert_match "HTTP 410: logged" '"message":"Kubernetes API: too old resource version: [0-9]+ \([0-9]+\) \(HTTP 410\): listing again"' "$(cat "$LOG")"
}

test_token() {
	local n0
	kwatch tok
	echo "token-two-$E2E_ID" >"$K/srvtoken"
	echo "token-two-$E2E_ID" >"$K/token.new" && mv "$K/token.new" "$K/token" # as the kubelet: a rename
	n0=$(api_requests watch)
	ctl close >/dev/null
	wait_for 20 requests watch -gt "$n0" || fail "resumed"
	assert_eq "token rotated: the new token at the next connection" "token-two-$E2E_ID" \
		"$(api_log | jq -r --arg sel "spec.nodeName=$NODE" 'select(.query.fieldSelector == $sel) | .token' | tail -1)"
	# a token the server does not take: 401, one error line, retried
	cp "$K/token" "$T/good"
	echo bogus >"$K/token"
	ctl close >/dev/null
	logged '"event":"error".*Unauthorized \(HTTP 401\)' || fail "401 logged"
	pass "a refused token: error line"
	cp "$T/good" "$K/token"
	logged "connected to $API again" || fail "connected again with a good token"
	pass "a good token again: connected"
	assert_eq "the 401 said once, not at every retry" 1 "$(grep -c 'HTTP 401' "$LOG")"
}

test_api_away() {
	mkpod 13 Burstable cgroupfs
	put_pod 13 web Burstable "{\"egressctl.io/allow\": \"$RX udp:5621\"}"
	kwatch away
	logged 'enforced' || fail "enforced"
	ctl down >/dev/null
	logged '"event":"error".*Kubernetes API at .*retrying' || fail "unreachable: logged"
	pass "API server away: one error line, retrying"
	udp pass "$RX" 5621 "API server away: enforcement goes on (allowed)"
	udp drop "$RX" 5622 "API server away: enforcement goes on (dropped)"
	put_pod 13 web Burstable "{\"egressctl.io/allow\": \"$RX udp:5622\"}"
	ctl up >/dev/null
	logged "connected to $API again" || fail "reconnected"
	logged '"event":"listed".*enforced annotation policy' 2 || fail "the change applied"
	pass "API server back: listed again, the change made meanwhile applied"
	udp pass "$RX" 5622 "after the outage: the new policy"
	assert_eq "while away: one error line, not one per retry" 1 \
		"$(grep -c '"event":"error".*Kubernetes API at' "$LOG")"
	# no hang: SIGTERM while the server is away
	ctl down >/dev/null
	logged '"event":"error".*retrying' || true
	stop_watch
	assert_eq "SIGTERM while the API server is away: watch exits 0" 0 "$(cat "$LOG.rc" 2>/dev/null)"
	ctl up >/dev/null
}

# uncovered CGID: the target is listed as not covered against packet sockets
uncovered() { "$EGR" status -j | jq -e --argjson id "$1" '.kernel.packet_sockets.uncovered_cgroup_ids | index($id) != null' >/dev/null; }
covered() { ! uncovered "$1"; }

# a pod attached before its container runs (its cgroup by the kubelet's
# naming), the container then in a network namespace of its own with a
# veth to the host: the next event of the pod attaches again, and the
# packet-socket guard finds the pod's veth from its container's process
test_pod_veth() {
	local d cg
	netns_up k56pod 198.18.59.2/24 -
	d=/kubepods/burstable/pod$(uid_of 19)
	mkdir -p "$CGROOT$d" || fail "mkdir"
	kwatch veth
	# the pod's traffic goes to the host end of its veth (no forwarding)
	put_pod 19 netpod Burstable '{"egressctl.io/allow": "198.18.59.1 udp:5632"}'
	logged "enforced annotation policy.*on cgroup $d \(attached\)" || fail "enforced before its container runs"
	cg=$(pod_cgid "$d")
	assert_true "no process in the pod yet: its veth not guarded (status)" uncovered "$cg"
	CCG=$CGROOT$d/$(cid_of 19)
	mkdir "$CCG" || fail "mkdir $CCG"
	run_bg - "$T/proc.19" cg_run "$CCG" ip netns exec k56pod sleep 600
	wait_for 10 grep -q . "$CCG/cgroup.procs" || fail "a process in $CCG"
	put_pod 19 netpod Burstable '{"egressctl.io/allow": "198.18.59.1 udp:5632"}' # MODIFIED: it runs
	wait_for 30 covered "$cg" || fail "the pod's veth guarded once its container runs" \
		"$("$EGR" status 2>&1 | grep -i packet)"
	pass "its container runs: the pod's veth guarded (status)"
	expect_udp pass 198.18.59.1 5632 -n 5 --from "$CCG" --in k56pod -m "pod in its own netns: allowed"
	expect_udp drop 198.18.59.1 5633 -n 5 --from "$CCG" --in k56pod -m "pod in its own netns: another port dropped"
}

# --strict guards /kubepods (the cgroupfs driver's)
test_strict_cgroupfs() {
	local P14
	mkdir -p "$CGROOT/kubepods/burstable"
	kwatch strict --strict --unmanaged deny
	e2e_guard_mine
	assert_match "strict: the guard on /kubepods" '"event":"guard".*installed on cgroup /kubepods: ' \
		"$(cat "$LOG")"
	# a pod whose container sends from its first instant, before the pod
	# is announced (the kubelet makes the cgroups, then the API says so)
	mkpod 14 Burstable cgroupfs
	P14=$PODCG
	stream_start allowed "$RX" 5623 --from "$CCG" -i 2000 || fail "stream"
	stream_start denied "$OTHER" 5624 --from "$CCG" -i 2000 || fail "stream"
	stream_wait allowed errors 5 || fail "the guard refuses the unannounced pod's packets"
	stream_wait denied errors 5 || fail "the guard refuses the unannounced pod's packets"
	pass "strict: an unannounced pod's container: every send refused by the guard"
	assert_eq "strict: nothing arrived before its policy" "0 0" \
		"$(stream_count allowed rx) $(stream_count denied rx)"
	put_pod 14 tight Burstable "{\"egressctl.io/allow\": \"$RX udp:5623\"}"
	logged '"event":"added".*enforced' || fail "enforced"
	stream_wait allowed rx 5 || fail "the allowed destination receives once the policy is in force"
	pass "strict: once the pod's policy is in force, its container's allowed packets arrive"
	stream_stop allowed
	assert_eq "strict: the allowed destination got exactly what got out" "$STREAM_SENT" "$STREAM_RX"
	stream_stop denied
	assert_eq "strict: the denied destination: nothing, ever" "0 0" "$STREAM_SENT $STREAM_RX"
	# a pod without a policy: --unmanaged deny, the guard drops it
	mkpod 15 BestEffort cgroupfs
	put_pod 15 nopolicy BestEffort '{}'
	logged '"pod":"egr/nopolicy"' || fail "seen"
	assert_match "unmanaged deny: logged" "no policy: unmanaged, all egress denied by the guard" "$(cat "$LOG")"
	udp drop "$RX" 5625 "strict, unmanaged deny: a pod without a policy sends nothing"
	assert_rc "guard status" 0 "$EGR" watch --guard-status -j
	assert_eq "guard status: holds the unmanaged pod's container, not the managed pod's" \
		"1 ${CCG#"$CGROOT"}" "$(jq -r '"\(.guard.held) \(.guard.held_cgroups | join(","))"' <<<"$LAST_OUT")"
	stop_watch
	assert_eq "strict: the guard stays after watch" yes \
		"$([ -e /sys/fs/bpf/egressctl/guard/link ] && echo yes || echo no)"
	# watch down: the pod's container restarts (a new container cgroup in
	# the same pod cgroup): the pod's filter covers it at once
	CCG=$CGROOT$P14/$(cid_of 140)
	mkdir "$CCG" || fail "mkdir $CCG"
	udp pass "$RX" 5623 "watch down, a restarted container in the pod: the pod's policy allows"
	udp drop "$OTHER" 5623 "watch down, a restarted container in the pod: the pod's policy drops"
	CCG=$CGROOT/kubepods/besteffort/pod$(uid_of 141)/$(cid_of 141)
	mkdir -p "$CCG" || fail "mkdir $CCG"
	udp drop "$RX" 5626 "watch down: a new pod's container sends nothing"
}

# --strict on /kubepods.slice (chosen when it exists: the systemd driver)
test_strict_systemd() {
	mkdir -p "$CGROOT/kubepods.slice"
	mkpod 16 Guaranteed systemd
	kwatch strictsd --strict
	e2e_guard_mine
	assert_match "strict: the guard on /kubepods.slice" \
		'"event":"guard".*installed on cgroup /kubepods.slice: ' "$(cat "$LOG")"
	udp drop "$RX" 5627 "strict: a running pod not yet announced: nothing out"
	put_pod 16 free Guaranteed '{}'
	logged 'no policy: unmanaged, allowed by the guard' || fail "unmanaged allow"
	pass "strict, --unmanaged allow: logged"
	udp pass "$RX" 5627 "strict, unmanaged allow: its container's packets pass"
	put_pod 16 free Guaranteed "{\"egressctl.io/deny\": \"$RX udp:5628\", \"egressctl.io/default\": \"allow\"}"
	logged '"event":"modified".*enforced annotation policy \(1 rule, default allow\)' || fail "policy added"
	pass "strict: a policy added to an allowed pod: enforced"
	udp drop "$RX" 5628 "strict: the new deny rule drops"
	udp pass "$RX" 5629 "strict: default allow passes"
	ctl delete "{\"uid\": \"$(uid_of 16)\"}" >/dev/null
	logged '"event":"deleted"' || fail "deleted"
	udp drop "$RX" 5629 "strict, pod deleted: its remaining processes are held by the guard"
}

# watch in a private cgroup namespace (a DaemonSet pod's): /proc/<pid>/cgroup
# would read paths relative to it; watch enters pid 1's and still finds the
# pods' cgroups from their processes
test_cgroup_namespace() {
	local cg
	mkpod 17 Burstable cgroupfs "$ROOTCG"
	cg=$(cg_new k56ns)
	LOG=$T/watch.ns
	# pid 1 is not the host's init on every test machine: the test shell's
	# cgroup namespace is the host's one here
	# a program, not a shell function, so that the pid run_bg keeps is
	# watch's own (exec all the way)
	# shellcheck disable=SC2016 # sh -c's script takes its arguments as $1...
	run_bg - "$LOG" sh -c 'echo $$ >"$1/cgroup.procs" || exit 125; shift; exec "$@"' k56 "$cg" \
		env EGRESSCTL_TEST_HOST_PID=$$ unshare --cgroup "$EGR" watch --kubernetes \
		--node "$NODE" --kube-api "$API" --kube-token "$K/token" --kube-ca "$K/ca.crt" -j
	WPID=$BG_PID
	logged '"message":"listed' || fail "watch in a cgroup namespace lists" "$(cat "$LOG" "$LOG.err")"
	assert_match "started in a cgroup namespace of its own: it enters pid 1's" \
		'"message":"entered the cgroup namespace of pid 1, to read the cgroups of the pods. processes"' "$(cat "$LOG")"
	put_pod 17 nsd Burstable "{\"egressctl.io/allow\": \"$RX udp:5630\"}"
	logged "enforced annotation policy.*on cgroup $ROOTCG/kubepods/burstable/pod$(uid_of 17) \(attached\)" ||
		fail "found from the container's process" "$(cat "$LOG" "$LOG.err")"
	pass "in a cgroup namespace: the pod's cgroup found from its process (host path)"
	udp pass "$RX" 5630 "cgroup namespace: allowed"
	udp drop "$RX" 5631 "cgroup namespace: another port dropped"
	stop_watch
}

run_tests
