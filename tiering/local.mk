# tiering/: LtRAM device model, frames, placement, migration, policy.
libarom_a_SOURCES += \
	tiering/ltram_profile.c tiering/ltram_profile.h \
	tiering/ltram.c tiering/ltram.h \
	tiering/frame_alloc.c tiering/frame_alloc.h \
	tiering/token_bucket.c tiering/token_bucket.h \
	tiering/placement.c tiering/placement.h
libarom_a_SOURCES += \
	tiering/tiering.c tiering/tiering.h tiering/engine.h \
	tiering/migrate.c tiering/fault.c \
	tiering/fault_queue.c tiering/fault_queue.h \
	tiering/uffd.c tiering/uffd.h \
	tiering/latency.c tiering/latency.h \
	tiering/policy.c tiering/policy.h \
	tiering/tracking.c tiering/tracking.h \
	tiering/daemon.c
