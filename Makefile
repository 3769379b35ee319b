# pmarena - one non-recursive GNU Makefile for the library, the CLI, the tests
# and the benchmarks.
#
#   make run        install missing packages, build, run configs/default.json
#   make test       install missing packages, build, run every Check suite
#   make test-asan  the suite under AddressSanitizer + UBSan (build/asan/)
#   make test-tsan  the suite under ThreadSanitizer (build/tsan/)
#   make bench      benchmarks: print numbers and ratios, assert nothing
#   make test-valgrind  the CLI's end-to-end commands under Valgrind memcheck
#   make fuzz       the libFuzzer harnesses (tests/fuzz/), FUZZ_S seconds each
#                   [60]; clang is installed for these only (build/fuzz/)
#   make crashtest  the crash tests long: CRASH_POINTS per configuration [20000],
#                   KILLS SIGKILLs of a real process per protocol [100]
#   make install    PREFIX=/usr/local [DESTDIR=]: both libraries, headers,
#                   pmarena, the recorder, pmarena.pc, man pages
#   make man        man pages from the --help texts (build/man/)
#   make docs       docs/CONFIG.md from the config key table (committed;
#                   tests/test_config_keys.c fails when it is stale)
#
# Every target that compiles first runs scripts/deps.sh (order-only prerequisite
# `deps`), which installs only the missing Debian packages. pkg-config is asked
# for flags lazily, on first use inside a recipe, i.e. after deps has run.

VERSION := 0.1.0
PREFIX ?= /usr/local
VARIANT ?=
BUILD := build$(if $(VARIANT),/$(VARIANT))

DEB_PKGS := pkg-config libgsl-dev libjansson-dev check gnuplot-nox libpmem-dev \
            zlib1g-dev parallel sqlite3 jq libxxhash-dev libcsv-dev
BENCH_DEB_PKGS := libjemalloc-dev libmimalloc-dev libpmemobj-dev
PC_LIB := gsl jansson libpmem zlib libxxhash
PC_TEST := check

# Evaluated once, at first expansion (in a recipe, after `deps`).
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PC_LIB)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PC_LIB)))$(PKG_LIBS)
CHECK_CFLAGS = $(eval CHECK_CFLAGS := $$(shell pkg-config --cflags $(PC_TEST)))$(CHECK_CFLAGS)
CHECK_LIBS = $(eval CHECK_LIBS := $$(shell pkg-config --libs $(PC_TEST)))$(CHECK_LIBS)

OPT := -O2
SAN :=
ifeq ($(VARIANT),asan)
  OPT := -O1
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(VARIANT),tsan)
  OPT := -O1
  SAN := -fsanitize=thread
endif

CC ?= gcc
WARN := -Wall -Wextra -Werror
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -g $(SAN) -pthread -Iinclude \
             -MMD -MP $(PKG_CFLAGS) $(REV_DEFS) $(CFLAGS)
LDLIBS_ALL = $(SAN) -pthread $(PKG_LIBS) -lcsv -lm $(LDFLAGS)

LIB_SRCS := $(wildcard sim/*.c allocator/*.c traces/*.c analysis/*.c experiment/*.c)
CLI_SRCS := $(wildcard cli/*.c)
TEST_SRCS := $(wildcard tests/test_*.c)
BENCH_SRCS := $(wildcard bench/bench_*.c)
# The peer benchmark (bench/*.c but the micro-benchmarks bench_*.c) is library code.
BENCH_LIB_SRCS := $(filter-out bench/bench_%.c,$(wildcard bench/*.c))
RECORD_SRCS := $(wildcard traces/record/*.c)
PROG_SRCS := $(wildcard tests/progs/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BENCH_LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
PROG_BINS := $(PROG_SRCS:tests/progs/%.c=$(BUILD)/tests/progs/%)
LIB := $(BUILD)/libpmarena.a
# The shared library: its own -fPIC object set, so the static library and the
# pmarena binary keep their non-PIC code.
SOVERSION := 0
PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
SHLIB := $(BUILD)/libpmarena.so
SHLIB_REAL := $(SHLIB).$(VERSION)
MAN_DIR := $(BUILD)/man
CLI := $(BUILD)/pmarena
RECORD_LIB := $(BUILD)/libpmarena-record.so

.PHONY: all deps deps-bench deps-browser deps-fuzz fuzz run test test-limits test-asan test-tsan test-valgrind bench clean install crashtest man docs
.DEFAULT_GOAL := all

all: $(LIB) $(SHLIB) $(CLI) $(RECORD_LIB)

deps:
	@scripts/deps.sh $(DEB_PKGS)

deps-bench: deps
	@scripts/deps.sh $(BENCH_DEB_PKGS)

# The HTML report's browser test (tests/browser_e2e.sh): headless Chromium driven
# over WebDriver with curl and jq; installed for make test only.
BROWSER_DEB_PKGS := chromium chromium-driver curl jq
deps-browser: deps
	@scripts/deps.sh $(BROWSER_DEB_PKGS)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The git revision goes into provenance.o alone (a commit rebuilds one file);
# $(BUILD)/git-revision is rewritten only when the revision changes, so make
# notices a new commit or a dirty tree without rebuilding anything else.
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/git-revision: FORCE
	@mkdir -p $(@D)
	@echo '$(GIT_REV)' | cmp -s - $@ || echo '$(GIT_REV)' > $@
$(BUILD)/experiment/provenance.o: $(BUILD)/git-revision
$(BUILD)/experiment/provenance.o: REV_DEFS = -DPMARENA_GIT_REVISION='"$(GIT_REV)"'
FORCE:

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/pic/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fPIC -c $< -o $@

# libpmarena.so -> libpmarena.so.0 (the soname) -> libpmarena.so.0.1.0
$(SHLIB): $(PIC_OBJS)
	$(CC) -shared -Wl,--no-undefined -Wl,-soname,libpmarena.so.$(SOVERSION) -o $(SHLIB_REAL) $^ $(LDLIBS_ALL)
	ln -sf $(notdir $(SHLIB_REAL)) $(SHLIB).$(SOVERSION)
	ln -sf $(notdir $(SHLIB).$(SOVERSION)) $@

# pmarena(1) and pmarena-COMMAND(1) for each command `pmarena --help` lists.
man: $(MAN_DIR)/pmarena.1
$(MAN_DIR)/pmarena.1: $(CLI) scripts/manpages.sh
	scripts/manpages.sh $(CLI) $(MAN_DIR)

docs: $(CLI)
	$(CLI) config-keys --markdown > docs/CONFIG.md

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS_ALL)

# The recorder is preloaded into other programs: never built with sanitizers.
$(RECORD_LIB): $(RECORD_SRCS) $(wildcard traces/record/*.h) | deps
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -pthread -Iinclude \
	  -o $@ $(RECORD_SRCS) -ldl

# Small programs the tests run (the recorder's subjects); plain C, no library.
$(BUILD)/tests/progs/%: tests/progs/%.c | deps
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread -o $@ $<

$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/e2eutil.h tests/crash_classes.h $(LIB) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -o $@ $< $(LIB) $(CHECK_LIBS) $(LDLIBS_ALL)

# The fuzz findings, replayed through the harness bodies (tests/fuzz/fz_targets.c).
FZ_SRCS := tests/fuzz/fz_targets.c
$(BUILD)/tests/test_fuzz_regress: tests/test_fuzz_regress.c $(FZ_SRCS) tests/fuzz/fz_targets.h tests/fuzz/fz_seeds.c \
    tests/testutil.h $(LIB) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -o $@ $< $(FZ_SRCS) $(LIB) $(CHECK_LIBS) $(LDLIBS_ALL)

$(BUILD)/bench/%: bench/%.c $(LIB) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS_ALL)

run: all
	$(CLI) run configs/default.json

# Each suite prints libcheck's summary line; the run fails if any suite does.
# test_bench runs `pmarena bench --quick` against every peer: test installs them too.
test: $(TEST_BINS) $(CLI) $(RECORD_LIB) $(PROG_BINS) | deps-bench deps-browser
	@fail=0; for t in $(TEST_BINS); do \
	  printf '== %s\n' "$${t##*/}"; \
	  PMARENA_BIN=$(CLI) PMARENA_RECORD_LIB=$(RECORD_LIB) PMARENA_PROGS=$(BUILD)/tests/progs \
	    $(TEST_WRAP) $$t || fail=1; \
	done; \
	printf '== %s\n' install_test.sh; \
	MAKE="$(MAKE)" SAN_FLAGS="$(SAN)" $(TEST_WRAP) tests/install_test.sh || fail=1; \
	printf '== %s\n' browser_e2e.sh; \
	PMARENA_BIN=$(CLI) $(TEST_WRAP) tests/browser_e2e.sh || fail=1; \
	if [ $$fail -eq 0 ]; then echo "all suites passed"; else echo "some suites FAILED"; fi; \
	exit $$fail

# Every persistence protocol, policy and placement of the crash suite with up
# to CRASH_POINTS crash points each (make test runs 1000: >= 5000 per protocol),
# CRASH_SEEDS workloads each (all of every workload's points: > 100,000 in all),
# and KILLS SIGKILLs per protocol of a real process on the file device (make
# test runs 20).
CRASH_POINTS ?= 20000
CRASH_SEEDS ?= 3
KILLS ?= 100
# The suites' output is kept in $(BUILD)/crashtest.log and summed by class
# (scripts/crash_classes.awk) once both passed.
crashtest: $(BUILD)/tests/test_pma_crash $(BUILD)/tests/test_pma_gc_crash $(BUILD)/tests/test_kill_torture | deps
	@rm -f $(BUILD)/crashtest.log
	PMARENA_CRASH_POINTS=$(CRASH_POINTS) PMARENA_CRASH_SEEDS=$(CRASH_SEEDS) CK_DEFAULT_TIMEOUT=3600 \
	  $(BUILD)/tests/test_pma_crash > $(BUILD)/crashtest.log; rc=$$?; cat $(BUILD)/crashtest.log; exit $$rc
	PMARENA_CRASH_POINTS=$(CRASH_POINTS) CK_DEFAULT_TIMEOUT=3600 $(BUILD)/tests/test_pma_gc_crash \
	  > $(BUILD)/crashtest-gc.log; rc=$$?; cat $(BUILD)/crashtest-gc.log; exit $$rc
	@cat $(BUILD)/crashtest.log $(BUILD)/crashtest-gc.log | awk -f scripts/crash_classes.awk | grep -v '^crash-class '
	PMARENA_KILLS=$(KILLS) CK_DEFAULT_TIMEOUT=3600 $(BUILD)/tests/test_kill_torture

# The resource-limit suite at full size: 10^7 objects live at once (make test
# runs it with 10^6).
test-limits: $(BUILD)/tests/test_limits_e2e $(CLI)
	PMARENA_LIVE_OBJECTS=10000000 PMARENA_BIN=$(CLI) CK_DEFAULT_TIMEOUT=1800 $(BUILD)/tests/test_limits_e2e

test-asan:
	@$(MAKE) --no-print-directory VARIANT=asan test

# TSan needs the classic address layout; setarch -R turns ASLR off for the run.
test-tsan:
	@$(MAKE) --no-print-directory VARIANT=tsan TEST_WRAP="setarch $$(uname -m) -R" test

# The CLI's end-to-end commands under Valgrind memcheck: no memory error, no
# definite or indirect leak (Valgrind is installed for this target only).
test-valgrind: $(CLI)
	@scripts/deps.sh valgrind
	PMARENA_BIN=$(CLI) tests/valgrind_e2e.sh

# The micro-benchmarks, then the peer benchmark's short set (tables on stdout,
# files in results/bench/). The long set: build/pmarena bench --long.
bench: $(BENCH_BINS) $(CLI) | deps-bench
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	$(CLI) bench -o results/bench

# libFuzzer harnesses: the library again, compiled with clang for coverage and
# ASan/UBSan (build/fuzz/), each harness run FUZZ_S seconds from its seed
# corpus (tests/fuzz/corpus/, plus heap images made by fz_seeds). A finding
# stops the run with its input in build/fuzz/findings/; copy it to
# tests/fuzz/regress/HARNESS/ and test_fuzz_regress replays it in make test.
FUZZ_S ?= 60
FUZZ_DEB_PKGS := clang libclang-rt-dev
FUZZ_NAMES := config trace_jsonl trace_pmt heap_image api
FUZZ := build/fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=all -pthread -Iinclude \
              -MMD -MP $(PKG_CFLAGS)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ)/%.o) $(BENCH_LIB_SRCS:%.c=$(FUZZ)/%.o)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ)/fuzz_%)

.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ)/tests/fuzz/fuzz_%.o)

deps-fuzz: deps
	@scripts/deps.sh $(FUZZ_DEB_PKGS)

$(FUZZ)/%.o: %.c | deps-fuzz
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ)/libpmarena.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ)/fuzz_%: $(FUZZ)/tests/fuzz/fuzz_%.o $(FUZZ)/tests/fuzz/fz_targets.o $(FUZZ)/libpmarena.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

$(FUZZ)/fz_seeds: $(FUZZ)/tests/fuzz/fz_seeds.o $(FUZZ)/tests/fuzz/fz_targets.o $(FUZZ)/libpmarena.a
	clang $(FUZZ_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The corpus each run grows is build/fuzz/corpus/NAME (the tree's seeds are
# read, never written); heap images are generated, being ~120 KiB each.
fuzz: $(FUZZ_BINS) $(FUZZ)/fz_seeds
	@mkdir -p $(FUZZ)/findings $(FUZZ_NAMES:%=$(FUZZ)/corpus/%)
	@$(FUZZ)/fz_seeds $(FUZZ)/corpus/heap_image tests/fuzz/corpus/trace_jsonl $(FUZZ)/corpus/trace_pmt
	@for n in $(FUZZ_NAMES); do \
	  printf '== fuzz_%s (%ss)\n' $$n $(FUZZ_S); \
	  $(FUZZ)/fuzz_$$n -max_total_time=$(FUZZ_S) -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ)/findings/$$n- $(FUZZ)/corpus/$$n \
	    $$([ -d tests/fuzz/corpus/$$n ] && echo tests/fuzz/corpus/$$n) \
	    > $(FUZZ)/fuzz_$$n.log 2>&1 \
	    || { tail -40 $(FUZZ)/fuzz_$$n.log; echo "fuzz_$$n: FINDING (build/fuzz/findings/)"; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $(FUZZ)/fuzz_$$n.log; \
	done; echo "fuzz: no findings"

clean:
	rm -rf build results

# Libraries, headers, the binary, the recorder, pmarena.pc and the man pages
# under $(DESTDIR)$(PREFIX); pmarena.pc names $(PREFIX), where they end up.
install: all man
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/include/pmarena $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHLIB_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SHLIB_REAL)) $(DESTDIR)$(PREFIX)/lib/libpmarena.so.$(SOVERSION)
	ln -sf libpmarena.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libpmarena.so
	install -m 755 $(RECORD_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/pmarena/*.h $(DESTDIR)$(PREFIX)/include/pmarena/
	install -m 644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  -e 's|@REQUIRES@|$(PC_LIB)|' pmarena.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pmarena.pc

-include $(shell find build -name '*.d' 2>/dev/null)
