# host/: aromd, the host daemon (registry of VMs, host-wide DRAM budget,
# the operator endpoint), and the HTTP client it shares with the arom CLI.
# Its pieces go into libaromhost.a so unit tests and the fuzzer link them.
noinst_LIBRARIES += libaromhost.a
libaromhost_a_SOURCES = \
	host/http_client.c host/http_client.h \
	host/registry.c host/registry.h \
	host/budget.c host/budget.h \
	host/inventory.c host/inventory.h \
	host/host_api.c host/host_api.h \
	host/aromd_options.c host/aromd_options.h
libaromhost_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(MHD_CFLAGS)

bin_PROGRAMS += aromd
aromd_SOURCES = host/aromd.c
aromd_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
aromd_LDADD = libaromhost.a libarom.a $(AROM_LIBS)

# The systemd unit (paths substituted at build time) and the default config.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = host/aromd.service
aromdconfdir = $(sysconfdir)/arom
dist_aromdconf_DATA = host/aromd.json
host/aromd.service: host/aromd.service.in Makefile
	@$(MKDIR_P) $(@D)
	$(AM_V_GEN)sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' $< >$@
CLEANFILES += host/aromd.service
EXTRA_DIST += host/aromd.service.in
