# cli/: the arom command (man/arom.1): launch, list, watch and steer VMs.
bin_PROGRAMS += arom
arom_SOURCES = cli/cli.h cli/arom.c cli/launch.c cli/show.c cli/control.c
arom_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(XML_CFLAGS)
arom_LDADD = libaromhost.a libarom.a $(AROM_LIBS)
