#!/usr/bin/env bash
# browser_e2e.sh - the HTML report (pmarena report --html) in a real browser:
# headless Chromium driven over chromedriver's W3C WebDriver HTTP API with
# curl and jq (make test installs them: deps-browser). For a small run, a
# small sweep and a `bench --quick` folder it opens report.html from disk and
# fails on: a SEVERE browser console entry, a plot with zero width or height,
# fewer plots than the folder has .gp scripts, a sortable table that does not
# sort (ascending on the first click, descending on the second), any request
# whose URL is not file: or data:. Screenshots go to build/tests/browser/.
# Without chromium it fails: make test installs it, so absence is an error.
set -u
BIN=${PMARENA_BIN:-build/pmarena}
SHOTS=${BROWSER_SHOTS:-build/tests/browser}
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

for t in chromium chromedriver curl jq; do
    command -v "$t" >/dev/null 2>&1 || { echo "FAIL - $t is not installed (make deps-browser installs chromium, chromium-driver, curl, jq)"; exit 1; }
done
echo "browser: $(chromium --version 2>/dev/null | head -1)"

tmp=$(mktemp -d)
drv_pid=
cleanup() {
    [ -n "$drv_pid" ] && { curl -s -X DELETE "$base/session/${sid:-none}" >/dev/null 2>&1; kill "$drv_pid" 2>/dev/null; wait "$drv_pid" 2>/dev/null; }
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$SHOTS"

# The three folders, small enough to stay quick.
cat > "$tmp/sw.json" <<'EOF'
{"name": "browser-sweep",
 "device": {"kind": "sim", "size": "16MiB", "cell_size": 64},
 "allocator": {"arena_size": "256KiB"},
 "trace": {"gen": {"pattern": "churn", "seed": 5, "events": 3000, "live": 200}},
 "sweep": {"allocator.granularity": [1, 16, 256], "allocator.policy": ["first-fit", "next-fit"]}}
EOF
"$BIN" sweep "$tmp/sw.json" -j2 -o "$tmp/sweep" --quiet --html >"$tmp/sweep.log" 2>&1 || { cat "$tmp/sweep.log"; echo "FAIL - sweep --html"; exit 1; }
jq 'del(.sweep) | .name = "browser-run"' "$tmp/sw.json" >"$tmp/run.json"
"$BIN" run "$tmp/run.json" -o "$tmp/run" --quiet --html >"$tmp/run.log" 2>&1 ||
    { cat "$tmp/run.log"; echo "FAIL - run --html"; exit 1; }
"$BIN" bench --quick -o "$tmp/bench" >"$tmp/bench.log" 2>&1 || { tail "$tmp/bench.log"; echo "FAIL - bench --quick"; exit 1; }
"$BIN" report --html "$tmp/bench/report.html" "$tmp/bench" || { echo "FAIL - report --html of a bench folder"; exit 1; }

# chromedriver on a free port (the kernel picks one; retried if taken meanwhile).
port=
for try in 1 2 3 4 5; do
    p=$(( (RANDOM % 20000) + 30000 ))
    chromedriver --port="$p" >"$tmp/driver.log" 2>&1 &
    drv_pid=$!
    base="http://127.0.0.1:$p"
    for _ in $(seq 50); do
        curl -s "$base/status" 2>/dev/null | jq -e '.value.ready' >/dev/null 2>&1 && { port=$p; break; }
        kill -0 "$drv_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$drv_pid" 2>/dev/null; wait "$drv_pid" 2>/dev/null; drv_pid=
done
[ -n "$port" ] || { cat "$tmp/driver.log"; echo "FAIL - chromedriver did not start"; exit 1; }

wd() {   # METHOD PATH [JSON]: the response's .value
    local out
    out=$(curl -s -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$base$2") || return 1
    if printf '%s' "$out" | jq -e '.value.error? // empty' >/dev/null 2>&1; then
        echo "webdriver $1 $2: $(printf '%s' "$out" | jq -r '.value.error + ": " + .value.message' | head -3)" >&2
        return 1
    fi
    printf '%s' "$out" | jq -c '.value'
}

caps=$(jq -n --arg ud "$tmp/profile" '{capabilities: {alwaysMatch: {browserName: "chrome",
  "goog:chromeOptions": {binary: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu",
    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", ("--user-data-dir=" + $ud), "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2000"]},
  "goog:loggingPrefs": {browser: "ALL", performance: "ALL"}}}}')
sid=$(wd POST /session "$caps" | jq -r '.sessionId') || sid=
[ -n "$sid" ] && [ "$sid" != null ] || { cat "$tmp/driver.log" | tail -20; echo "FAIL - chromium session (chromedriver)"; exit 1; }
echo "chromium session $sid on port $port"
# The start page chromium opened before the first navigation is not ours: go
# to about:blank and drop what the logs hold so far.
wd POST "/session/$sid/url" '{"url":"about:blank"}' >/dev/null
wd POST "/session/$sid/se/log" '{"type":"performance"}' >/dev/null
wd POST "/session/$sid/se/log" '{"type":"browser"}' >/dev/null

# NAME FILE MIN_PLOTS: checks one report (see the file comment).
check_page() {
    local name=$1 file=$2 want=$3
    wd POST "/session/$sid/url" "$(jq -n --arg u "file://$file" '{url: $u}')" >/dev/null || { bad "$name: chromium opens $file"; return; }
    local severe
    severe=$(wd POST "/session/$sid/se/log" '{"type":"browser"}' | jq -r '[.[] | select(.level == "SEVERE") | .message] | join("\n")')
    [ -z "$severe" ] && ok "$name: no console error" || bad "$name: console errors: $severe"
    local boxes n zero
    boxes=$(wd POST "/session/$sid/execute/sync" '{"script":"return Array.from(document.querySelectorAll(\"figure svg\")).map(function(s){var r=s.getBoundingClientRect();return [r.width,r.height]})","args":[]}')
    n=$(printf '%s' "$boxes" | jq 'length')
    zero=$(printf '%s' "$boxes" | jq '[.[] | select(.[0] <= 0 or .[1] <= 0)] | length')
    [ "$n" -ge "$want" ] && ok "$name: $n plots (the folder has $want)" || bad "$name: $n plots rendered, the folder has $want"
    [ "$zero" -eq 0 ] && ok "$name: every plot has a non-zero size" || bad "$name: $zero plots of zero size"
    # Sort: the first sortable table's third column (a number in all three pages).
    local col=3 b before asc desc
    b=$(wd POST "/session/$sid/element" "{\"using\":\"css selector\",\"value\":\"table.sortable thead th:nth-child($col) button\"}" | jq -r 'to_entries[0].value')
    if [ -z "$b" ] || [ "$b" = null ]; then
        bad "$name: a sortable header to click"
    else
        local js="return Array.from(document.querySelector('table.sortable').tBodies[0].rows).map(function(r){return r.cells[$col-1].textContent.trim()})"
        local q; q=$(jq -n --arg s "$js" '{script: $s, args: []}')
        wd POST "/session/$sid/element/$b/click" '{}' >/dev/null
        asc=$(wd POST "/session/$sid/execute/sync" "$q")
        wd POST "/session/$sid/element/$b/click" '{}' >/dev/null
        desc=$(wd POST "/session/$sid/execute/sync" "$q")
        # ordered: numbers numerically, "-" (no value) last
        local sorted
        sorted=$(printf '%s' "$asc" | jq -c '[.[] | select(. != "-")] | if all(test("^-?[0-9.eE+-]+$")) then map(tonumber) else . end')
        if [ "$(printf '%s' "$sorted" | jq -c 'sort')" = "$sorted" ] && [ "$(printf '%s' "$asc" | jq 'length')" -ge 2 ] &&
           [ "$(printf '%s' "$sorted" | jq -c 'sort | unique | length')" -ge 2 ]; then
            ok "$name: a header click sorts the column ascending"
        else bad "$name: not ascending after a click: $asc"; fi
        local rsorted
        rsorted=$(printf '%s' "$desc" | jq -c '[.[] | select(. != "-")] | if all(test("^-?[0-9.eE+-]+$")) then map(tonumber) else . end')
        [ "$(printf '%s' "$rsorted" | jq -c 'sort | reverse')" = "$rsorted" ] &&
            ok "$name: a second click reverses it" || bad "$name: not descending after a second click: $desc"
    fi
    local ext
    ext=$(wd POST "/session/$sid/se/log" '{"type":"performance"}' |
          jq -r '.[] | .message | fromjson | .message | select(.method == "Network.requestWillBeSent") | .params.request.url
                 | select(startswith("file:") or startswith("data:") | not)')
    [ -z "$ext" ] && ok "$name: no request leaves the file" || bad "$name: requests outside the file: $ext"
    wd GET "/session/$sid/screenshot" | jq -r . | base64 -d >"$SHOTS/$name.png" 2>/dev/null &&
        [ -s "$SHOTS/$name.png" ] && ok "$name: screenshot $SHOTS/$name.png" || bad "$name: screenshot"
}

count_gp() { find "$1" -maxdepth 1 -name "${2}*.gp" | wc -l; }
check_page run "$(realpath "$tmp/run/report.html")" "$(count_gp "$tmp/run" '')"
check_page sweep "$(realpath "$tmp/sweep/report.html")" "$(count_gp "$tmp/sweep" sweep_)"
check_page bench "$(realpath "$tmp/bench/report.html")" "$(count_gp "$tmp/bench" '')"

if [ "$fails" -eq 0 ]; then echo "browser_e2e: all checks passed in chromium"; exit 0; fi
echo "browser_e2e: $fails checks FAILED in chromium"
exit 1
