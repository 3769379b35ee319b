#!/bin/sh
# sqlite3-demo.sh - remakes traces/sqlite3.jsonl.gz, the recorded real-program
# trace shipped with pmarena (traces/RECORDING.md says what is in it).
#
# Usage: traces/record/sqlite3-demo.sh [PMARENA [OUT]]
#   PMARENA  the pmarena binary       (default build/pmarena)
#   OUT      where the trace goes     (default traces/sqlite3.jsonl.gz)
#
# The input is fixed: a SQL script made here by seq and awk (20000 inserts in
# one transaction with names of 1 to 60 characters, an index, a delete of
# every third row, a count), run by sqlite3 on an in-memory database. The
# recording runs with ASLR off (setarch -R); with the same sqlite3 and glibc
# it gives the same trace byte for byte.
set -eu

pmarena=${1:-build/pmarena}
out=${2:-traces/sqlite3.jsonl.gz}
sql=${TMPDIR:-/tmp}/pmarena-sqlite3-demo.sql

{
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);"
    echo "BEGIN;"
    seq 1 20000 | awk '{
        x = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        printf "INSERT INTO t(name, v) VALUES (%c%s-%d%c, %d.5);\n", 39, substr(x, 1, 1 + ($1 * 7919) % 60), $1, 39, $1
    }'
    echo "COMMIT;"
    echo "CREATE INDEX t_name ON t(name);"
    echo "DELETE FROM t WHERE id % 3 = 0;"
    echo "SELECT count(*) FROM t;"
} > "$sql"

setarch "$(uname -m)" -R "$pmarena" record -o "$out" -- sqlite3 -batch :memory: ".read $sql"
rm -f "$sql"
