# tiering/: the AROM engine. Leaf modules first (the LtRAM device model,
# frames, tokens, placement, policy), then the parts built on them: the
# migration engine, the monitor and its backends, the fault path, the
# daemon, and tiering.c, which assembles them behind tiering.h.
libarom_a_SOURCES += \
	tiering/ltram_profile.c tiering/ltram_profile.h \
	tiering/ltram.c tiering/ltram.h \
	tiering/frame_alloc.c tiering/frame_alloc.h \
	tiering/token_bucket.c tiering/token_bucket.h \
	tiering/placement.c tiering/placement.h \
	tiering/latency.c tiering/latency.h \
	tiering/policy.c tiering/policy.h \
	tiering/uffd.c tiering/uffd.h \
	tiering/core.c tiering/core.h \
	tiering/maps.c tiering/maps.h \
	tiering/punch.c tiering/punch.h \
	tiering/migrate.c tiering/migrate.h \
	tiering/tracking.c tiering/tracking.h \
	tiering/track_dirty_log.c tiering/track_uffd.c tiering/track_page_idle.c \
	tiering/fault_queue.c tiering/fault_queue.h \
	tiering/fault.c tiering/fault.h \
	tiering/guard.c tiering/guard.h \
	tiering/daemon.c tiering/daemon.h \
	tiering/tiering.c tiering/tiering.h
