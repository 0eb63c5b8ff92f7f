#!/usr/bin/env bash
# Build the Docker images Marina's tests need, each only when it is missing or its build
# files changed. No registry is needed: everything is built FROM a Debian base made here
# with debootstrap and `docker import`.
#
#   marina-test/debian:bookworm  debootstrap --variant=minbase bookworm, imported
#   marina-test/postgres:15      Debian's postgresql-15, official postgres image contract
#   marina-test/odoo-runtime     Odoo's Debian dependencies, official odoo image contract;
#                                runs odoo-bin from a source tree mounted at /opt/odoo
#   marina-test/odoo-standin     a small stand-in for Odoo (test/standin/), CI only
#   marina-test/caddy            Debian's caddy, official caddy image contract (the managed proxy)
#
# Cache: each image carries the label marina.build-hash = sha256 of its build files (and
# of its parent's hash); an image whose label matches is kept as it is.
#
# Usage: scripts/build-test-images.sh [--force]   (MARINA_DEBIAN_MIRROR and
# MARINA_DEBIAN_SECURITY_MIRROR override the mirrors read from the host's apt sources)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES_DIR=$ROOT/scripts/test-images
STANDIN_DIR=$ROOT/test/standin
LABEL=marina.build-hash
LOCK_FILE=${TMPDIR:-/tmp}/marina-build-test-images.lock

BASE_TAG=marina-test/debian:bookworm
POSTGRES_TAG=marina-test/postgres:15
RUNTIME_TAG=marina-test/odoo-runtime
STANDIN_TAG=marina-test/odoo-standin
CADDY_TAG=marina-test/caddy

force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) printf 'build-test-images: unknown argument: %s\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf 'build-test-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/ensure-docker.sh)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "no Docker engine answers (run scripts/ensure-docker.sh)"

# One build at a time on this machine (parallel test workers may all call this script).
exec 9>"$LOCK_FILE"
flock 9

tmp_dirs=()
cleanup() {
  local d
  for d in "${tmp_dirs[@]}"; do
    rm -rf -- "$d"
  done
}
trap cleanup EXIT

# The first apt source URI on the host matching a pattern (deb822 .sources or one-line lists).
host_apt_uri() {
  local pattern=$1 f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v pat="$pattern" '
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ pat) { print $i; exit } }
      $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i ~ pat) { print $i; exit } else break } }
    ' "$f")
    if [[ -n $uri ]]; then
      printf '%s\n' "${uri%/}"
      return 0
    fi
  done
  return 1
}

mirror=${MARINA_DEBIAN_MIRROR:-$(host_apt_uri '/debian$' || echo http://deb.debian.org/debian)}
security_mirror=${MARINA_DEBIAN_SECURITY_MIRROR:-$(host_apt_uri '/debian-security$' || echo http://deb.debian.org/debian-security)}
[[ $mirror =~ ^https?://[A-Za-z0-9._:/~+-]+$ ]] || die "unexpected Debian mirror URL: $mirror"
[[ $security_mirror =~ ^https?://[A-Za-z0-9._:/~+-]+$ ]] || die "unexpected security mirror URL: $security_mirror"

# sha256 of a directory's files: relative paths, executable bits and contents, in a stable
# order, plus any extra strings given (a parent's hash, a mirror URL). Only the executable
# bit counts (what git keeps), so checkouts made under different umasks hash alike.
hash_dir() {
  local dir=$1
  shift
  {
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z |
      while IFS= read -r -d '' f; do
        if [[ -x $f ]]; then mode=x; else mode=-; fi
        printf '%s %s %s\n' "$mode" "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
      done)
    printf '%s\n' "$@"
  } | sha256sum | cut -d' ' -f1
}

current_hash() {
  docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# up_to_date TAG HASH: true when TAG exists with that hash (and --force was not given).
up_to_date() {
  local tag=$1 want=$2 have
  have=$(current_hash "$tag")
  if [[ $force -eq 0 && $have == "$want" ]]; then
    log "$tag is up to date (${want:0:12})"
    return 0
  fi
  if [[ -n $have ]]; then
    log "$tag: build files changed (${have:0:12} -> ${want:0:12}), rebuilding"
  else
    log "$tag: not built yet, building"
  fi
  return 1
}

# Sets NEW_TMP (not printed: a $(...) subshell would lose the clean-up list).
new_tmp_dir() {
  NEW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/marina-test-image.XXXXXX")
  tmp_dirs+=("$NEW_TMP")
}

# build_image TAG PARENT_HASH SOURCE_DIR... : the build context is the union of the
# source directories (later ones win), with the Dockerfile in one of them.
build_image() {
  local tag=$1 parent_hash=$2
  shift 2
  local ctx src hash started
  new_tmp_dir
  ctx=$NEW_TMP
  for src in "$@"; do
    cp -a "$src/." "$ctx/"
  done
  # Byte-code caches are not build files (they would change the hash).
  find "$ctx" -name __pycache__ -prune -exec rm -rf {} +
  hash=$(hash_dir "$ctx" "parent=$parent_hash")
  if up_to_date "$tag" "$hash"; then
    BUILT_HASH=$hash
    return 0
  fi
  started=$SECONDS
  # DOCKER_BUILDKIT=0: Debian's docker.io 20.10 has no buildx; the classic builder is enough.
  DOCKER_BUILDKIT=0 docker build --quiet=false --pull=false --label "$LABEL=$hash" --tag "$tag" "$ctx" >&2
  log "$tag built in $((SECONDS - started))s"
  BUILT_HASH=$hash
}

build_base() {
  local tag=$BASE_TAG hash rootfs started
  hash=$(hash_dir "$IMAGES_DIR/debian" "mirror=$mirror" "security=$security_mirror")
  if up_to_date "$tag" "$hash"; then
    BUILT_HASH=$hash
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root to build $tag"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (run scripts/ensure-docker.sh)"
  started=$SECONDS
  new_tmp_dir
  rootfs=$NEW_TMP
  log "debootstrap bookworm from $mirror into $rootfs"
  bash "$IMAGES_DIR/debian/build-rootfs.sh" "$rootfs" "$mirror" "$security_mirror"
  tar --numeric-owner -C "$rootfs" -c . |
    docker import \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL $LABEL=$hash" \
      - "$tag" >/dev/null
  rm -rf -- "$rootfs"
  log "$tag built in $((SECONDS - started))s"
  BUILT_HASH=$hash
}

total_started=$SECONDS
BUILT_HASH=
build_base
base_hash=$BUILT_HASH

build_image "$POSTGRES_TAG" "$base_hash" "$IMAGES_DIR/postgres"
build_image "$RUNTIME_TAG" "$base_hash" "$IMAGES_DIR/odoo-common" "$IMAGES_DIR/odoo-runtime"
build_image "$STANDIN_TAG" "$base_hash" "$IMAGES_DIR/odoo-common" "$STANDIN_DIR"
build_image "$CADDY_TAG" "$base_hash" "$IMAGES_DIR/caddy"

# Replaced versions of these images are left untagged: remove them (only images carrying
# our label, and only dangling ones).
docker image prune --force --filter "label=$LABEL" >/dev/null

log "all test images ready in $((SECONDS - total_started))s"
