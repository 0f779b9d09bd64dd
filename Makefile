# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl build. Out of tree into $(OUTPUT); `make V=1` shows commands.

OUTPUT ?= build
prefix ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# Start-up time is every command's cost (README, "Requirements"):
# - libcurl and libmicrohttpd: headers only; the commands that need them
#   dlopen() them (user/util/dl_*.c). Linked, they cost every command ~3 ms.
# - the rest is linked statically (~0.2 ms less per command). STATIC=0
#   links the shared libraries, which take Debian's security updates
#   without a rebuild.
STATIC ?= 1
PKGS := libbpf libelf zlib yaml-0.1 jansson
DL_PKGS := libcurl libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
ifeq ($(STATIC),1)
PKG_LIBS := -Wl,-Bstatic $(shell pkg-config --libs --static $(PKGS) 2>/dev/null || \
	    echo -lbpf -lelf -lz -lyaml -ljansson) -Wl,-Bdynamic
else
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lelf -lz -lyaml -ljansson)
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	  -Iinclude -Iuser -I$(OUTPUT) $(PKG_CFLAGS) -DEGR_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I. -Iinclude -Ibpf -MMD -MP

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean install deb vmlinux demo check check-layers test test-unit test-bpf test-e2e bench soak deps fuzz format FORCE

# Userspace objects of the tool, one folder per layer (README, "Layout");
# everything but main.o is also linked into the tests (tests/*.c include
# what they need from user/).
USER_LAYERS := cli ops obs runtime kernel policy util
USER_SRCS := $(filter-out user/cli/main.c,$(wildcard $(USER_LAYERS:%=user/%/*.c)))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
SKEL := $(OUTPUT)/egressctl.skel.h $(OUTPUT)/guard.skel.h $(OUTPUT)/lsm.skel.h
BPF_OBJ := $(OUTPUT)/egressctl.bpf.o
# Keep the skeletons' intermediates: make would delete the ones it made.
.SECONDARY: $(SKEL) $(SKEL:.skel.h=.bpf.o) $(SKEL:.skel.h=.tmp.bpf.o)

all: $(OUTPUT)/egressctl

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# include/*.h and bpf/*.bpf.h: -MMD
$(OUTPUT)/%.tmp.bpf.o: bpf/%.bpf.c vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.o: $(OUTPUT)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

# bpf/<name>.bpf.c -> $(OUTPUT)/<name>.skel.h with struct <name>_bpf.
$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# The skeletons are made before any object (order-only: they exist for a
# first build); -MMD then records which objects include one, and only those
# are rebuilt when a BPF program changes.
$(OUTPUT)/user/%.o: user/%.c | $(SKEL) $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Rewritten only when the link flags change (STATIC=0/1), so that relinks.
$(OUTPUT)/ldflags: FORCE | $(OUTPUT)
	$(Q)echo '$(LDFLAGS) $(PKG_LIBS)' | cmp -s - $@ || echo '$(LDFLAGS) $(PKG_LIBS)' >$@

$(OUTPUT)/egressctl: $(OUTPUT)/user/cli/main.o $(USER_OBJS) $(OUTPUT)/ldflags
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(PKG_LIBS) -o $@

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

SYSTEMDDIR ?= $(prefix)/lib/systemd/system
BASHCOMPDIR ?= $(prefix)/share/bash-completion/completions
OCIHOOKSDIR ?= $(prefix)/share/containers/oci/hooks.d

# The binary, the man page, bash completion, the unit for `watch` (with
# $(prefix)/sbin in its paths; installed, not enabled), Podman's hooks.d file
# (in force for Podman's containers when OCIHOOKSDIR is a directory Podman
# reads: /usr/share/containers/oci/hooks.d, as in the Debian package, or
# /etc/containers/oci/hooks.d; not /usr/local/...) and egressctl-runc, the
# Docker runtime wrapper (a link; in force only once dockerd is told).
install: $(OUTPUT)/egressctl
	install -D -m 0755 $(OUTPUT)/egressctl $(DESTDIR)$(prefix)/sbin/egressctl
	install -D -m 0644 docs/egressctl.8 $(DESTDIR)$(prefix)/share/man/man8/egressctl.8
	install -D -m 0644 contrib/bash-completion/egressctl $(DESTDIR)$(BASHCOMPDIR)/egressctl
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed 's|/usr/local/sbin/|$(prefix)/sbin/|g' contrib/egressctl-watch.service \
		>$(DESTDIR)$(SYSTEMDDIR)/egressctl-watch.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/egressctl-watch.service
	ln -sf egressctl $(DESTDIR)$(prefix)/sbin/egressctl-runc
	ln -sf egressctl.8 $(DESTDIR)$(prefix)/share/man/man8/egressctl-runc.8
	install -d $(DESTDIR)$(OCIHOOKSDIR)
	sed 's|/usr/local/sbin/|$(prefix)/sbin/|g' contrib/oci-hooks/50-egressctl.json \
		>$(DESTDIR)$(OCIHOOKSDIR)/50-egressctl.json
	chmod 0644 $(DESTDIR)$(OCIHOOKSDIR)/50-egressctl.json

# egressctl_<version>_<arch>.deb in $(OUTPUT) (dpkg-buildpackage with
# debian/, in a copy of the tree), checked with lintian.
deb:
	$(Q)bash tools/make-deb.sh $(OUTPUT)

deps:
	$(Q)bash tools/install-deps.sh

# The soak test (tests/soak/): minutes of container churn under watch
# --strict, Docker and Podman, without and with the start-up hook (ENGINES,
# MODES); SOAK_SECONDS each (default 600). Takes the e2e lock itself.
# Numbers into BENCHMARKS.md's soak section.
soak: all $(OUTPUT)/tests/peer
	$(Q)bash tests/soak/run.sh $(OUTPUT) $(or $(SOAK_SECONDS),600)

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/peer
	$(Q)bash tools/demo.sh $(OUTPUT)

include tests/tests.mk

format:
	clang-format -i bpf/*.c bpf/*.h user/*/*.c user/*/*.h include/*.h tests/*/*.c tests/e2e/*/*.[ch]

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/tests/lib/*.d \
		    $(OUTPUT)/san/user/*/*.d $(OUTPUT)/san/tests/lib/*.d)

-include bench/bench.mk
