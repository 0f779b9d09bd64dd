#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make deb: egressctl_<version>_<arch>.deb with Debian's own tools
# (dpkg-buildpackage with debian/), built in a copy of the tree (the tree as
# committed plus the working copy's changes, without build output:
# dpkg-buildpackage writes its results next to the source directory), then
# checked with lintian: an error or a warning fails; the tags that remain
# are overridden, each with its reason, in debian/egressctl.lintian-overrides.
# usage: tools/make-deb.sh OUTPUT_DIR   -> OUTPUT_DIR/egressctl_<v>_<arch>.deb
set -euo pipefail
me="make deb"
out=$(mkdir -p "${1:?usage: $0 OUTPUT_DIR}" && cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$t" >/dev/null || {
		echo "$me: $t is missing (tools/install-deps.sh)" >&2
		exit 1
	}
done
ver=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
mk=$(sed -n 's/^VERSION := //p' "$src/Makefile")
if [ "$ver" != "$mk" ]; then
	echo "$me: debian/changelog says $ver, the Makefile's VERSION $mk (add a changelog entry)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/egr-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/egressctl-$ver"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # the sh -c script takes its arguments as $1...
	(cd "$src" && git ls-files -z -co --exclude-standard) |
		(cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		(cd "$src" && tar --null -cf - -T -) | tar -C "$tmp/egressctl-$ver" -xf -
else
	tar -C "$src" --exclude=./build --exclude=./build-deb --exclude=./.git -cf - . |
		tar -C "$tmp/egressctl-$ver" -xf -
fi
if ! (cd "$tmp/egressctl-$ver" && dpkg-buildpackage -us -uc -b -jauto) >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	echo "$me: dpkg-buildpackage failed" >&2
	exit 1
fi
deb=$(ls "$tmp"/egressctl_"$ver"_*.deb)
rm -f "$out"/egressctl_*.deb
cp "$deb" "$out/"
echo "  DEB      $out/$(basename "$deb")"
# --pedantic too: every tag but the overridden ones is shown; errors and
# warnings fail (lintian refuses nothing as root, but says so: not shown).
rc=0
lintian -I --pedantic --fail-on error,warning "$tmp"/egressctl_"$ver"_*.changes \
	>"$tmp/lintian.log" 2>&1 || rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/  LINTIAN  /' || true
if [ "$rc" -ne 0 ]; then
	echo "$me: lintian found errors or warnings" >&2
	exit 1
fi
echo "  LINTIAN  clean (overridden: $(grep -c "^egressctl:" "$src/debian/egressctl.lintian-overrides" || true), each with its reason in debian/egressctl.lintian-overrides)"
