# bench/: benchmarks print numbers; they are never part of `make check`.
dist_noinst_SCRIPTS += bench/launch.sh bench/tiering.sh bench/daemon.sh bench/arom-bench bench/api.sh bench/aromd.sh bench/linux.sh bench/linux-redis.sh bench/linux-memcached.sh
EXTRA_DIST += bench/kvload.c bench/linux-common.sh
