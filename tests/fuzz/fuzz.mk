# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Fuzzing and sanitizers (included from tests/tests.mk):
#   make fuzz        every libFuzzer target for FUZZ_SECS (default 300) seconds
#   make fuzz-smoke  every target for FUZZ_SMOKE_SECS (default 5) seconds
#   make sanitize    the unit tests (parsers, compiler) under ASan + UBSan
#   make valgrind    the CLI's common commands under valgrind, leak-free
# Targets are tests/fuzz/fuzz_*.c, built with clang -fsanitize=fuzzer plus
# ASan and UBSan against user/ objects built with the same sanitizers into
# $(OUTPUT)/san/. Seeds: tests/fuzz/corpus/<target>/ (read only); what a run
# finds goes to $(OUTPUT)/fuzz/corpus/<target>/, crashes to
# $(OUTPUT)/fuzz/crash-<target>-*.

FUZZ_CC ?= clang
FUZZ_SECS ?= 300
FUZZ_SMOKE_SECS ?= 5
SAN_DIR := $(OUTPUT)/san
FUZZ_DIR := $(OUTPUT)/fuzz
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=undefined
# user/ objects: coverage for libFuzzer too (harmless for the unit tests)
SAN_CFLAGS := $(SAN_FLAGS) -fsanitize=fuzzer-no-link -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	      -Iinclude -Iuser -I$(OUTPUT) $(PKG_CFLAGS) -DEGR_VERSION='"$(VERSION)"'
SAN_USER_OBJS := $(patsubst user/%.c,$(SAN_DIR)/user/%.o,$(USER_SRCS)) \
		 $(patsubst tests/lib/%.c,$(SAN_DIR)/tests/lib/%.o,$(TEST_LIB_SRCS))
SAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN_DIR)/unit_%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Keep the objects: make would delete them as intermediates.
.SECONDARY: $(SAN_USER_OBJS)

$(SAN_DIR)/user $(FUZZ_DIR):
	$(Q)mkdir -p $@

$(SAN_DIR)/user/%.o: user/%.c | $(SKEL) $(SAN_DIR)/user
	$(call msg,SAN-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) -c $< -o $@

$(SAN_DIR)/tests/lib/%.o: tests/lib/%.c | $(SKEL) $(SAN_DIR)/user
	$(call msg,SAN-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) -Itests -c $< -o $@

$(SAN_DIR)/unit_%: tests/unit/%.c $(SAN_USER_OBJS)
	$(call msg,SAN-TEST,$@)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) -Itests $< $(SAN_USER_OBJS) $(PKG_LIBS) -lcmocka -o $@

# Targets that #include a user/ file for its static parsers leave its object out.
$(FUZZ_DIR)/fuzz_docker_json: FUZZ_OMIT := $(SAN_DIR)/user/runtime/docker.o
$(FUZZ_DIR)/fuzz_kube_json: FUZZ_OMIT := $(SAN_DIR)/user/runtime/kube.o
$(FUZZ_DIR)/fuzz_cgroup: FUZZ_OMIT := $(SAN_DIR)/user/util/cgroup.o

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(SAN_USER_OBJS) | $(FUZZ_DIR) $(TEST_SKEL)
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -Itests -Ibpf -I$(OUTPUT)/tests $< \
		$(filter-out $(FUZZ_OMIT),$(SAN_USER_OBJS)) $(PKG_LIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# fuzz_run NAME SECONDS: a temporary corpus dir first (new inputs go there),
# the checked-in seeds second. A failing target is noted and the others
# still run; fuzz_done fails if any did.
define fuzz_run
	@mkdir -p $(FUZZ_DIR)/corpus/$(1)
	@printf '  %-8s %s (%s s)\n' FUZZ $(1) $(2)
	$(Q)$(SAN_ENV) $(FUZZ_DIR)/$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$(1)- \
		$(if $(wildcard tests/fuzz/$(1:fuzz_%=%).dict),-dict=tests/fuzz/$(1:fuzz_%=%).dict) \
		$(FUZZ_DIR)/corpus/$(1) tests/fuzz/corpus/$(1:fuzz_%=%) \
		>$(FUZZ_DIR)/$(1).log 2>&1 || { grep -A3 -m1 -E 'invariant failed|ERROR: (libFuzzer|AddressSanitizer)|runtime error' \
		$(FUZZ_DIR)/$(1).log | head -n 8; grep -m1 'Test unit written' $(FUZZ_DIR)/$(1).log; \
		echo $(1) >>$(FUZZ_DIR)/failed; }
	@printf '           '; grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
		$(FUZZ_DIR)/$(1).log | tr -s ' \n' ' '; echo

endef

define fuzz_done
	@if [ -s $(FUZZ_DIR)/failed ]; then echo "  FUZZ     FAILED: $$(tr '\n' ' ' <$(FUZZ_DIR)/failed)"; exit 1; fi
endef

fuzz: $(FUZZ_BINS)
	@rm -f $(FUZZ_DIR)/failed
	$(foreach f,$(FUZZ_NAMES),$(call fuzz_run,$(f),$(FUZZ_SECS)))
	$(fuzz_done)

fuzz-smoke: $(FUZZ_BINS)
	@rm -f $(FUZZ_DIR)/failed
	$(foreach f,$(FUZZ_NAMES),$(call fuzz_run,$(f),$(FUZZ_SMOKE_SECS)))
	$(fuzz_done)

sanitize: $(SAN_UNIT_BINS)
	$(Q)fail=0; for t in $(SAN_UNIT_BINS); do \
		printf '  %-8s %s\n' SAN-RUN $$t; \
		$(SAN_ENV) $$t >$$t.log 2>&1 || { fail=1; tail -n 40 $$t.log; }; \
		grep -h '^\[  \(PASSED\|FAILED\)  \]' $$t.log | sed 's/^/           /'; \
	done; exit $$fail

valgrind: $(OUTPUT)/egressctl
	$(Q)bash tests/fuzz/valgrind.sh $(OUTPUT)/egressctl

.PHONY: fuzz-build fuzz-smoke sanitize valgrind
