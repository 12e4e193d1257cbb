-- SPDX-License-Identifier: MIT
-- sqlite_load: the benchmark's sqlite3 workload (run by /usr/bin/sqlite3 :memory:).
-- bench/run.py replaces @ROWS@ with the row count before running it. A recursive
-- CTE inserts rows with text, then an index is built and a GROUP BY query and a
-- string aggregate read everything back. The output depends only on the row count.
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, body TEXT);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @ROWS@)
INSERT INTO t(id, grp, name, body)
SELECT n, n % 97, 'name-' || n, printf('%.*c', 20 + n % 60, 'x') || hex(n * 2654435761)
FROM seq;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, body);
SELECT grp, count(*), sum(length(body)), min(name), max(name)
FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(*), sum(length(g)) FROM (SELECT group_concat(name, ',') AS g FROM t GROUP BY id % 1000);
SELECT count(*) FROM t AS a JOIN t AS b ON b.name = a.name WHERE a.grp = 7;
