# Shared shell helpers of the benchmark scripts (scripts/bench-*). Source it; defines functions only.

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }
# b - a, two decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
# a / b, three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
# The median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
# Wait until no process matches the pgrep pattern $1 (another benchmark), so two benchmarks on one
# machine do not distort each other. This shell's own pid is ignored.
wait_for_other_benchmarks() {
  local pattern=$1 others waited=0
  while :; do
    others=$(pgrep -f "$pattern" | grep -vxF -e "$$" -e "${BASHPID:-$$}" || true)
    [ -z "$others" ] && break
    (( waited )) || echo "waiting for another benchmark to finish (pids: $(echo $others))" >&2
    waited=1
    sleep 10
  done
}
