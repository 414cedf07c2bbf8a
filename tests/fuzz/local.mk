# tests/fuzz/: libFuzzer targets, built with clang (configure's FUZZ_CC)
# when `clang -fsanitize=fuzzer` links (HAVE_FUZZER). `make check` builds
# them and tests/fuzz/run.sh replays the corpus and fuzzes each briefly
# (FUZZ_SECONDS, default 15 per target); `make fuzz` fuzzes each for longer
# (FUZZ_SECONDS, default 600) and keeps what it finds in FUZZ_SCRATCH, never
# in the source tree. See tests/fuzz/README.md.
#
# The product sources each fuzzer compiles in directly, so that they carry
# coverage instrumentation (libarom.a is built by $(CC) without it). One
# list per target: update it when files move (the linker says what is
# missing).
FUZZ_HYPERCALL_SRCS = vmm/hypercall.c vmm/guest_mem.c vmm/pagetable.c vmm/stats.c \
	lib/log.c lib/clock.c lib/json.c
FUZZ_OPTIONS_SRCS = vmm/options.c vmm/domain_xml.c vmm/libvirt_source.c lib/parse.c lib/err.c tiering/ltram_profile.c
FUZZ_API_SRCS = vmm/api.c vmm/api_metrics.c lib/json.c lib/prom.c lib/parse.c
FUZZ_HOST_SRCS = host/host_api.c host/inventory.c host/http_client.c host/registry.c host/budget.c \
	host/aromd_options.c vmm/api.c vmm/api_metrics.c vmm/options.c vmm/domain_xml.c vmm/libvirt_source.c tiering/ltram_profile.c \
	lib/json.c lib/prom.c lib/parse.c lib/err.c lib/log.c lib/clock.c lib/run_dir.c

FUZZ_CCOPTS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-Wall -Wextra -Wshadow -Wno-unused-parameter
FUZZ_CPPOPTS = -I$(top_srcdir)/include -I$(top_srcdir) -I$(top_builddir) -D_GNU_SOURCE $(JSONC_CFLAGS) $(XML_CFLAGS) $(LIBVIRT_CFLAGS)
FUZZ_LINKLIBS = $(JSONC_LIBS) $(MHD_LIBS) $(XML_LIBS) $(LIBVIRT_LIBS) $(LIBS) -lm
FUZZ_DEPS = $(top_srcdir)/tests/fuzz/violation.h $(wildcard $(top_srcdir)/include/arom/*.h $(top_srcdir)/vmm/*.h \
	$(top_srcdir)/lib/*.h $(top_srcdir)/tiering/*.h $(top_srcdir)/host/*.h)

FUZZ_TARGETS = hypercall options api host
FUZZ_BINS = $(patsubst %,tests/fuzz/fuzz-%,$(FUZZ_TARGETS))

# `make fuzz`: per target, in parallel with -j, FUZZ_SECONDS each (default
# 600; `make fuzz FUZZ_SECONDS=60`). It is not set here: a make assignment
# would also reach tests/fuzz/run.sh (whose default is 15) whenever
# FUZZ_SECONDS comes from the environment. New corpus entries and crash
# artifacts go to FUZZ_SCRATCH; FUZZ_FLAGS adds libFuzzer flags.
FUZZ_SCRATCH = $(abs_top_builddir)/tests/fuzz/scratch
FUZZ_FLAGS =
FUZZ_FLAGS_options = -dict=$(top_srcdir)/tests/fuzz/options.dict
FUZZ_FLAGS_api = -dict=$(top_srcdir)/tests/fuzz/api.dict
FUZZ_FLAGS_host = -dict=$(top_srcdir)/tests/fuzz/host.dict

TESTS += tests/fuzz/run.sh
TESTS_ENVIRONMENT += AROM_FUZZ_BINDIR=$(abs_top_builddir)/tests/fuzz AROM_HAVE_FUZZER=$(have_fuzzer)
dist_noinst_SCRIPTS += tests/fuzz/run.sh tests/fuzz/make-seeds.py
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz_hypercall.c tests/fuzz/fuzz_options.c \
	tests/fuzz/violation.h tests/fuzz/fuzz_api.c tests/fuzz/fuzz_host.c tests/fuzz/options.dict tests/fuzz/api.dict tests/fuzz/host.dict tests/fuzz/corpus tests/fuzz/crashes
CLEANFILES += $(FUZZ_BINS)

FUZZ_V_CC = $(fuzz__v_CC_@AM_V@)
fuzz__v_CC_ = $(fuzz__v_CC_@AM_DEFAULT_V@)
fuzz__v_CC_0 = @echo "  FUZZCC  " $@;
fuzz__v_CC_1 =

if HAVE_FUZZER
# check_SCRIPTS: built by `make check` before the tests, and no automake
# compile rules (these are not built with $(CC)).
check_SCRIPTS = $(FUZZ_BINS)

# One clang run per fuzzer: sources come through VPATH in out-of-tree builds.
tests/fuzz/fuzz-hypercall: tests/fuzz/fuzz_hypercall.c $(FUZZ_HYPERCALL_SRCS) $(FUZZ_DEPS)
	@$(MKDIR_P) $(@D)
	$(FUZZ_V_CC)$(FUZZ_CC) $(FUZZ_CPPOPTS) $(FUZZ_CCOPTS) -o $@ $(filter %.c,$^) $(FUZZ_LINKLIBS)

tests/fuzz/fuzz-options: tests/fuzz/fuzz_options.c $(FUZZ_OPTIONS_SRCS) $(FUZZ_DEPS)
	@$(MKDIR_P) $(@D)
	$(FUZZ_V_CC)$(FUZZ_CC) $(FUZZ_CPPOPTS) $(FUZZ_CCOPTS) -o $@ $(filter %.c,$^) $(FUZZ_LINKLIBS)

tests/fuzz/fuzz-api: tests/fuzz/fuzz_api.c $(FUZZ_API_SRCS) $(FUZZ_DEPS)
	@$(MKDIR_P) $(@D)
	$(FUZZ_V_CC)$(FUZZ_CC) $(FUZZ_CPPOPTS) $(FUZZ_CCOPTS) -o $@ $(filter %.c,$^) $(FUZZ_LINKLIBS)

tests/fuzz/fuzz-host: tests/fuzz/fuzz_host.c $(FUZZ_HOST_SRCS) $(FUZZ_DEPS)
	@$(MKDIR_P) $(@D)
	$(FUZZ_V_CC)$(FUZZ_CC) $(FUZZ_CPPOPTS) $(FUZZ_CCOPTS) -o $@ $(filter %.c,$^) $(FUZZ_LINKLIBS)

fuzz: $(patsubst %,fuzz-run-%,$(FUZZ_TARGETS))

$(patsubst %,fuzz-run-%,$(FUZZ_TARGETS)): fuzz-run-%: tests/fuzz/fuzz-%
	@$(MKDIR_P) $(FUZZ_SCRATCH)/$* $(FUZZ_SCRATCH)/artifacts
	@echo "fuzz-$*: $${FUZZ_SECONDS:-600} s; new corpus entries in $(FUZZ_SCRATCH)/$*"
	tests/fuzz/fuzz-$* -max_total_time=$${FUZZ_SECONDS:-600} -print_final_stats=1 -timeout=25 \
	    -artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$*- $(FUZZ_FLAGS_$*) $(FUZZ_FLAGS) \
	    $(FUZZ_SCRATCH)/$* $(top_srcdir)/tests/fuzz/corpus/$*
	@echo "fuzz-$*: done; $$(ls $(FUZZ_SCRATCH)/$* | wc -l) corpus entries in $(FUZZ_SCRATCH)/$*"
else
fuzz:
	@echo "make fuzz: configure found no clang whose -fsanitize=fuzzer links;" >&2
	@echo "  apt-get install clang libclang-rt-dev, then re-run configure (or set FUZZ_CC)" >&2
	@exit 1
endif

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/scratch

.PHONY: fuzz clean-fuzz $(patsubst %,fuzz-run-%,$(FUZZ_TARGETS))
