# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Test tiers (included from the top Makefile):
#   tests/unit/test_*.c  cmocka, pure logic, no privileges
#   tests/bpf/test_*.c   cmocka + bpf_prog_test_run_opts() on crafted packets
#   tests/e2e/*.sh       the real binary, netns, cgroups, dockerd, traffic
# Each C test links every user/ object but main.o, and the test oracles of
# tests/lib/ (reference evaluators), which the shipped binary leaves out.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit_%,$(UNIT_SRCS))
BPFT_BINS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/bpf_%,$(BPFT_SRCS))
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
# BPF test objects (tests/bpf/<name>.bpf.c -> <name>.skel.h): code of bpf/
# run on its own under bpf_prog_test_run_opts()
TEST_SKEL := $(patsubst tests/bpf/%.bpf.c,$(OUTPUT)/tests/%.skel.h,$(wildcard tests/bpf/*.bpf.c))
.SECONDARY: $(TEST_SKEL) $(TEST_SKEL:.skel.h=.bpf.o) $(TEST_SKEL:.skel.h=.tmp.bpf.o)
TEST_LIB_OBJS := $(patsubst tests/lib/%.c,$(OUTPUT)/tests/lib/%.o,$(TEST_LIB_SRCS))
.SECONDARY: $(TEST_LIB_OBJS)
# One static helper per sub-folder of tests/e2e/ (tests/e2e/peer/*.c is
# $(OUTPUT)/tests/peer) and per single file tests/e2e/*.c.
HELPER_DIRS := $(patsubst tests/e2e/%/,%,$(sort $(dir $(wildcard tests/e2e/*/*.c))))
HELPER_FILES := $(patsubst tests/e2e/%.c,%,$(wildcard tests/e2e/*.c))
TEST_HELPERS := $(addprefix $(OUTPUT)/tests/,$(HELPER_DIRS) $(HELPER_FILES))

$(OUTPUT)/tests/lib/%.o: tests/lib/%.c | $(SKEL) $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/unit_%: tests/unit/%.c $(USER_OBJS) $(TEST_LIB_OBJS) $(OUTPUT)/ldflags | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(USER_OBJS) $(TEST_LIB_OBJS) $(PKG_LIBS) -lcmocka -o $@

$(OUTPUT)/tests/%.tmp.bpf.o: tests/bpf/%.bpf.c vmlinux.h | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/tests/%.skel.h: $(OUTPUT)/tests/%.tmp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen object $(@:.skel.h=.bpf.o) $<
	$(Q)$(BPFTOOL) gen skeleton $(@:.skel.h=.bpf.o) name $*_bpf > $@

$(OUTPUT)/tests/bpf_%: tests/bpf/%.c $(USER_OBJS) $(TEST_LIB_OBJS) $(OUTPUT)/ldflags | $(SKEL) $(TEST_SKEL) $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -Ibpf -I$(OUTPUT)/tests $< $(USER_OBJS) $(TEST_LIB_OBJS) $(PKG_LIBS) -lcmocka -o $@

# Small static traffic helpers, also copied into containers.
$(foreach h,$(HELPER_DIRS),$(eval $(OUTPUT)/tests/$(h): $(wildcard tests/e2e/$(h)/*.[ch])))
$(foreach h,$(HELPER_FILES),$(eval $(OUTPUT)/tests/$(h): tests/e2e/$(h).c))
$(TEST_HELPERS): $(OUTPUT)/tests/%: | $(OUTPUT)/tests
	$(call msg,HELPER,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -static $(filter %.c,$^) -o $@

# Dependencies between the userspace objects go one way, down the layers
# (README, "Layout"): tools/check-layers.py fails on a cycle, an arrow
# upward, printing outside the CLI, or a test oracle in the binary.
check-layers: $(OUTPUT)/egressctl $(USER_OBJS) $(TEST_LIB_OBJS)
	$(call msg,LAYERS,$(OUTPUT)/user)
	$(Q)python3 tools/check-layers.py --binary $(OUTPUT)/egressctl $(OUTPUT) \
		--test-objs $(TEST_LIB_OBJS)

test-build: $(OUTPUT)/egressctl $(UNIT_BINS) $(BPFT_BINS) $(TEST_HELPERS) check-layers

# The README's test command: installs what it needs, builds, runs all tiers.
# EGRESSCTL=/usr/sbin/egressctl: the e2e tier against that binary (the
# installed package) instead of $(OUTPUT)/egressctl (tests/run.sh).
check: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)bash tests/run.sh $(OUTPUT)

test: test-build
	$(Q)bash tests/run.sh $(OUTPUT)

test-unit: $(UNIT_BINS) check-layers
	$(Q)bash tests/run.sh $(OUTPUT) unit

test-bpf: $(BPFT_BINS) $(OUTPUT)/egressctl
	$(Q)bash tests/run.sh $(OUTPUT) bpf

test-e2e: test-build
	$(Q)bash tests/run.sh $(OUTPUT) e2e

.PHONY: test-build
include tests/fuzz/fuzz.mk
