# tests/: CUnit unit tests (TAP through tests/unit/main.c) and /dev/kvm
# integration scripts (TAP). tests/run prints the final "N passed, N failed".
if HAVE_CUNIT
check_PROGRAMS += tests/unit/unit-tests
tests_unit_unit_tests_SOURCES = \
	tests/unit/main.c tests/unit/suites.h \
	tests/unit/test_elf_loader.c \
	tests/unit/test_pagetable.c \
	tests/unit/test_options.c \
	tests/unit/test_hypercall.c \
	tests/unit/test_ltram.c \
	tests/unit/test_frame_alloc.c \
	tests/unit/test_token_bucket.c \
	tests/unit/test_placement.c \
	tests/unit/test_policy.c \
	tests/unit/test_fault_queue.c \
	tests/unit/test_parse.c \
	tests/unit/test_guard.c \
	tests/unit/test_punch.c \
	tests/unit/test_api.c \
	tests/unit/test_budget.c \
	tests/unit/test_aromd.c \
	tests/unit/test_domain_xml.c \
	tests/unit/test_linux_mm.c
tests_unit_unit_tests_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS) $(XML_CFLAGS)
tests_unit_unit_tests_LDADD = libaromhost.a libarom.a $(CUNIT_LIBS) $(AROM_LIBS)
TESTS += tests/unit/unit-tests
endif

dist_noinst_SCRIPTS += tests/integration/lib.sh tests/integration/vmm.sh tests/integration/tiering.sh tests/integration/daemon.sh tests/integration/workloads.sh tests/integration/api.sh tests/integration/aromd.sh tests/integration/cli.sh tests/integration/libvirt.sh tests/integration/linux.sh
TESTS += tests/integration/vmm.sh tests/integration/tiering.sh tests/integration/daemon.sh tests/integration/workloads.sh tests/integration/api.sh tests/integration/aromd.sh tests/integration/cli.sh tests/integration/libvirt.sh tests/integration/linux.sh
EXTRA_DIST += tests/linux/hello.c tests/linux/files.c tests/linux/kvsql.c tests/linux/readheavy.sql tests/linux/threads.c tests/linux/clock.c tests/linux/unixsock.c tests/linux/signals.c
TESTS_ENVIRONMENT = AROM_VMM=$(abs_top_builddir)/arom-vmm \
	AROM_AROMD=$(abs_top_builddir)/aromd \
	AROM_CLI=$(abs_top_builddir)/arom \
	AROM_PAYLOADS=$(abs_top_builddir)/guest-tools/payloads \
	AROM_SRCDIR=$(abs_top_srcdir) \
	AROM_SANITIZERS=$(enable_sanitizers)

# A longer integrity soak than `make check` runs: memcheck under promotion/
# demotion churn with periodic audits (SOAK_SECONDS, default 10 minutes).
SOAK_SECONDS = 600
soak: arom-vmm $(GUEST_PAYLOAD_ELFS)
	./arom-vmm --vcpus 2 --ltram 256M --tokens=off --audit-ms 1000 --stats-json soak-stats.json \
	    guest-tools/payloads/memcheck.elf seconds=$(SOAK_SECONDS)
	jq -e '.tiering.audit_failures == 0 and .tiering.invariant_violations == 0 and .metrics["memcheck.mismatches"] == 0' \
	    soak-stats.json >/dev/null
	@jq -r '"soak: \(.tiering.promotions) promotions, \(.tiering.demotions) demotions, \(.tiering.audits) audits, 0 mismatches"' soak-stats.json
CLEANFILES += soak-stats.json
.PHONY: soak
