#!/bin/sh
# A stand-in for `ccci test`, for the server's tests and scripts/soak (configured as the server's
# `engine`): it writes a passing one-tier result.json into the directory given by --out, then
# waits until the FIFO $CCCI_STUB_GATE is opened for writing (when set), or $CCCI_STUB_SECONDS
# seconds (when set). With --quick it answers as the engine does: mode `quick` when the recipe
# (the source's last path segment) has a canonical copy's record under $CCCI_DATA_DIR/warm/,
# else mode `cold` with the engine's notice. It touches no Docker and no network.
set -eu
out=
source=
mode=cold
notice=
[ "${1:-}" = test ] && shift
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift ;;
    --quick) mode=quick ;;
    --*) [ $# -gt 1 ] && case "$2" in --*) ;; *) shift ;; esac ;;
    *) [ -n "$source" ] || source=$1 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "stub-engine: no --out given" >&2; exit 2; }
recipe=$(basename "${source:-stub}" .git)
if [ "$mode" = quick ] && [ ! -f "${CCCI_DATA_DIR:-/nonexistent}/warm/$recipe/canonical.json" ]; then
  mode=cold
  notice=",\"notice\":\"no canonical copy of $recipe (seed one with \`ccci warm seed\`): ran cold\""
fi
cat > "$out/result.json" <<JSON
{"schema_version":1,"run_id":"20260101t000000-000000","recipe":"$recipe","ref":null,"commit":null,
"mode":"$mode"$notice,"instance":{"domain":"stub.ci.test","stack":"stub_ci_test"},
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
