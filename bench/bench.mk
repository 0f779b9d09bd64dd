# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Benchmarks (issue 7); included from the top Makefile.
#   make bench        full run (~15 min): bench/results/ + BENCHMARKS.md
#   make bench-smoke  tiny N, one repetition, seconds; also run by `make check`
#                     through tests/e2e/90_bench_smoke.sh
# Helpers are built into $(OUTPUT)/bench/; the ones that drive the kernel
# link the user/ objects like the tests do.

BENCH_LIB_SRCS := bench/kops.c bench/prog_ns.c bench/names_ns.c
BENCH_LIB_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_LIB_SRCS))
BENCH_BINS := $(BENCH_LIB_BINS) $(OUTPUT)/bench/gen_policy $(OUTPUT)/bench/blast \
	      $(OUTPUT)/bench/floor.bpf.o $(OUTPUT)/bench/startup_core $(OUTPUT)/bench/startup_all

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/gen_policy: bench/gen_policy.c bench/prefixes.h | $(OUTPUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -std=gnu11 $< -o $@

$(OUTPUT)/bench/blast: bench/blast.c | $(OUTPUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -std=gnu11 -pthread $< -o $@

# Process start with egressctl's libraries, all shared (see bench/startup.c).
# egressctl itself links the core ones statically and dlopen()s the others.
$(OUTPUT)/bench/startup_core: bench/startup.c | $(OUTPUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 $< -Wl,--no-as-needed -lbpf -lelf -lz -lyaml -ljansson -o $@

$(OUTPUT)/bench/startup_all: bench/startup.c | $(OUTPUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 $< -Wl,--no-as-needed -lbpf -lelf -lz -lyaml -ljansson -lcurl -lmicrohttpd -o $@

# Reference cgroup_skb programs (the cost floor), loaded with bpftool.
$(OUTPUT)/bench/floor.bpf.o: bench/floor.bpf.c vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_LIB_BINS): $(OUTPUT)/bench/%: bench/%.c bench/prefixes.h $(USER_OBJS) | $(SKEL) $(OUTPUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -Itests $< $(USER_OBJS) $(PKG_LIBS) -o $@

bench-build: $(OUTPUT)/egressctl $(BENCH_BINS) $(TEST_HELPERS)

# The smoke test (tests/e2e/90_bench_smoke.sh) needs the helpers.
test-build: bench-build

bench: bench-build
	$(Q)bash bench/run.sh --build $(OUTPUT)

bench-smoke: bench-build
	$(Q)bash bench/run.sh --build $(OUTPUT) --smoke --out $(OUTPUT)/bench/smoke

.PHONY: bench bench-smoke bench-build

-include $(wildcard $(OUTPUT)/bench/*.d)
