#!/bin/sh
# A stand-in for `ccci test`, for the server's tests and scripts/soak (configured as the server's
# `engine`): it writes a passing one-tier result.json into the directory given by --out, then
# waits until the FIFO $CCCI_STUB_GATE is opened for writing (when set), or $CCCI_STUB_SECONDS
# seconds (when set). It touches no Docker and no network.
set -eu
out=
while [ $# -gt 0 ]; do
  [ "$1" = --out ] && out=$2
  shift
done
[ -n "$out" ] || { echo "stub-engine: no --out given" >&2; exit 2; }
cat > "$out/result.json" <<'JSON'
{"schema_version":1,"run_id":"20260101t000000-000000","recipe":"stub","ref":null,"commit":null,
"mode":"cold","instance":{"domain":"stub.ci.test","stack":"stub_ci_test"},
"started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","duration_ms":1000,
"tiers":[{"tier":"install","outcome":"pass","reason":"served (stand-in engine)","duration_ms":900}],
"level":1,"level_of":1,"outcome":"pass","artifacts":[]}
JSON
echo "stub-engine: wrote $out/result.json"
if [ -n "${CCCI_STUB_GATE:-}" ]; then
  read -r _ < "$CCCI_STUB_GATE" || true
elif [ -n "${CCCI_STUB_SECONDS:-}" ]; then
  sleep "$CCCI_STUB_SECONDS"
fi
