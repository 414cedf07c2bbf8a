/* A read-heavy SQLite workload for tests/integration/linux.sh and
 * bench/linux.sh: an in-memory database of ROWS rows (default 200000,
 * ~40 MiB), then QUERIES point and range queries by a fixed pseudo-random
 * sequence; prints a digest of every answer, so a run under arom and a
 * native run can be compared byte for byte. Linked with Debian's
 * libsqlite3.a, static. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "kvsql: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 200000, queries = argc > 2 ? atol(argv[2]) : 200000;
    sqlite3 *db;
    sqlite3_stmt *ins, *get, *range;
    check(sqlite3_open(":memory:", &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=OFF; CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT, n INTEGER);"
                       "BEGIN", NULL, NULL, NULL), db, "schema");
    check(sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?, printf('%0128d', ?), ?)", -1, &ins, NULL), db, "insert");
    for (long i = 0; i < rows; i++) {
        sqlite3_bind_int64(ins, 1, i);
        sqlite3_bind_int64(ins, 2, i * 7919);
        sqlite3_bind_int64(ins, 3, i % 1000);
        check(sqlite3_step(ins), db, "insert row");
        sqlite3_reset(ins);
    }
    check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    check(sqlite3_prepare_v2(db, "SELECT length(v), n FROM kv WHERE k = ?", -1, &get, NULL), db, "get");
    check(sqlite3_prepare_v2(db, "SELECT sum(n) FROM kv WHERE k BETWEEN ? AND ?", -1, &range, NULL), db, "range");
    uint64_t x = 88172645463325252ull, digest = 1469598103934665603ull;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long q = 0; q < queries; q++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long k = (long)(x % (uint64_t)rows);
        sqlite3_stmt *s = q % 16 ? get : range;
        sqlite3_bind_int64(s, 1, k);
        if (s == range)
            sqlite3_bind_int64(s, 2, k + 100);
        if (sqlite3_step(s) == SQLITE_ROW)
            digest = (digest ^ (uint64_t)sqlite3_column_int64(s, 0) ^ (uint64_t)sqlite3_column_int64(s, 1) << 20) *
                     1099511628211ull;
        sqlite3_reset(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("kvsql: %ld rows, %ld queries, digest %016llx\n", rows, queries, (unsigned long long)digest);
    fprintf(stderr, "kvsql: %.0f queries/s\n", (double)queries / secs);
    sqlite3_finalize(ins);
    sqlite3_finalize(get);
    sqlite3_finalize(range);
    sqlite3_close(db);
    return 0;
}
