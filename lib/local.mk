# lib/: what vmm/ and tiering/ share: logging, clocks, the parsers of
# operator input, error and JSON helpers, kernel-header compatibility.
libarom_a_SOURCES += \
	lib/compat.h lib/bitmap.h lib/thread.h \
	lib/log.c lib/log.h \
	lib/clock.c lib/clock.h \
	lib/cpu_stat.c lib/cpu_stat.h \
	lib/err.c lib/err.h \
	lib/parse.c lib/parse.h \
	lib/json.c lib/json.h \
	lib/prom.c lib/prom.h \
	lib/run_dir.c lib/run_dir.h
