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
# The status of `GET https://<domain>/` through the proxy at <ip:port>, the certificate verified
# against the CA bundle <ca> (as ccci's serving check does); 000 when nothing answered.
https_status() { # <domain> <proxy addr> <ca>
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$3" --connect-to "$1:443:$2" "https://$1/" || true
}
# `docker pull` every image the compose files name (before a baseline's clock, as ccci pulls before
# its convergence clock).
pull_images() { # <compose file>...
  local image
  for image in $(awk '/^    image: /{print $2}' "$@" | sort -u); do docker pull -q "$image" >/dev/null; done
}
