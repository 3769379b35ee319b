#!/bin/sh
# valgrind_e2e.sh - the CLI's end-to-end commands under Valgrind memcheck
# (`make test-valgrind`): validate, gen, convert, run (a plain run, a
# lifetime run on a device whose cells fail, a run under gc with the link
# table and its recovery), sweep, report (text and HTML), and the errors of bad input. Each
# must exit as it does without Valgrind and with no memory error and no
# definite or indirect leak (memory still reachable at exit is allowed:
# library caches). Run from the project root; PMARENA_BIN names the binary.
set -u
P=${PMARENA_BIN:-build/pmarena}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"

# vg NAME WANT ARGS...: runs `pmarena ARGS` under memcheck, wants exit WANT.
vg() {
    name=$1 want=$2
    shift 2
    $VG "$P" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        echo "ok: $name (exit $rc, no memory error, no leak)"
    else
        echo "FAIL: $name: exit $rc, wanted $want (99: a memory error or leak)"
        tail -30 "$tmp/$name.err"
        fails=$((fails + 1))
    fi
}

cat > "$tmp/plain.json" <<'JSON'
{"device": {"kind": "sim", "size": "16MiB"},
 "trace": {"gen": {"pattern": "churn", "seed": 1, "events": 3000, "live": 50,
                   "size": {"dist": "uniform", "min": 16, "max": 8000}}}}
JSON
cat > "$tmp/life.json" <<'JSON'
{"device": {"kind": "sim", "size": "8MiB", "endurance": {"mean": 100, "stddev": 0, "seed": 1},
            "leveling": {"kind": "start-gap", "psi": 10, "region_lines": 16, "randomize": true},
            "spare_lines": 64},
 "allocator": {"persistence": "gc"},
 "replay": {"repeat": "until-failure", "max_passes": 40, "extra_writes": 1},
 "trace": {"gen": {"pattern": "churn", "seed": 1, "events": 2000, "live": 50,
                   "size": {"dist": "uniform", "min": 16, "max": 512}, "free_at_end": false}}}
JSON
cat > "$tmp/sweep.json" <<'JSON'
{"device": {"kind": "sim", "size": "16MiB"},
 "trace": {"gen": {"pattern": "churn", "seed": 1, "events": 1000, "live": 20,
                   "size": {"dist": "uniform", "min": 16, "max": 512}}},
 "sweep": {"allocator.policy": ["first-fit", "wear-aware"]}}
JSON
printf '{"device": {"kind": "sim", "size": "16MiB"}, "trace": {"file": "%s/none.jsonl"}, "bogus": 1}\n' "$tmp" \
    > "$tmp/bad.json"

vg validate 0 validate "$tmp/plain.json"
vg gen 0 gen --pattern churn --events 2000 -o "$tmp/t.jsonl"
vg convert 0 convert "$tmp/t.jsonl" "$tmp/t.pmt"
vg run 0 run "$tmp/plain.json" --quiet -o "$tmp/r1"
vg run-lifetime 0 run "$tmp/life.json" --quiet -o "$tmp/r2"
vg run-gc-links 0 run "$tmp/plain.json" --quiet -o "$tmp/r3" --set allocator.persistence=gc \
    --set replay.links=true
vg sweep 0 sweep "$tmp/sweep.json" --quiet -o "$tmp/s"
vg report 0 report "$tmp/r1" "$tmp/r2" "$tmp/r3"
vg report-html-run 0 report --html "$tmp/run.html" "$tmp/r1"
vg report-html-sweep 0 report --html "$tmp/sweep.html" "$tmp/s"
vg report-html-runs 0 report --html "$tmp/runs.html" "$tmp/r1" "$tmp/r2"
vg bad-config 2 validate "$tmp/bad.json"
vg bad-run 2 run "$tmp/bad.json" --quiet -o "$tmp/r4"

if [ "$fails" -eq 0 ]; then echo "valgrind_e2e: all passed"; else echo "valgrind_e2e: $fails failed"; fi
[ "$fails" -eq 0 ]
