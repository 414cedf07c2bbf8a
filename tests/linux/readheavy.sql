-- A read-heavy query script for Debian's sqlite3 (tests/integration/linux.sh,
-- bench/linux.sh): an in-memory table of 200 000 rows, then many reads.
PRAGMA temp_store = MEMORY;  -- sorts for the index stay in memory too
CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT, n INTEGER);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 199999)
INSERT INTO kv SELECT i, printf('%0100d', i * 7919), i % 1000 FROM c;
CREATE INDEX kv_n ON kv(n);
SELECT count(*), sum(n), max(length(v)) FROM kv;
SELECT n, count(*) FROM kv WHERE n BETWEEN 10 AND 14 GROUP BY n;
WITH RECURSIVE q(i, x) AS (SELECT 0, 12345 UNION ALL SELECT i + 1, (x * 1103515245 + 12345) % 2147483648 FROM q WHERE i < 99999)
SELECT sum((SELECT n FROM kv WHERE k = x % 200000)) FROM q;
SELECT sum(length(v)) FROM kv WHERE n = 777;
SELECT k, substr(v, 95) FROM kv WHERE k % 40000 = 1 ORDER BY k;
