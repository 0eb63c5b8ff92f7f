#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock and that debootstrap is
# installed (scripts/build-test-images.sh needs it). Idempotent: does nothing when
# both are already there. Installs Debian's docker.io when the CLI or engine is missing
# (needs root), and starts dockerd in the background when nothing answers on the socket.
set -euo pipefail

SOCKET=/var/run/docker.sock
DOCKERD_LOG=${MARINA_DOCKERD_LOG:-/var/log/marina-dockerd.log}
WAIT_SECONDS=60

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_updated=0
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    die "need root to install $* (run: sudo apt-get install -y $*)"
  fi
  if [[ $apt_updated -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# A live main dockerd: a killed one whose parent is gone can linger as a zombie that pgrep still
# lists. The test cluster's engines (scripts/swarm-nodes.sh) are dockerd processes too, each with
# its own --pidfile: they are not the engine on $SOCKET.
dockerd_alive() {
  local pid state
  for pid in $(pgrep -x dockerd 2>/dev/null); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--pidfile' && continue
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ -n $state && $state != Z ]] && return 0
  done
  return 1
}

engine_answers() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  apt_install docker.io
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt_install debootstrap
fi

if engine_answers; then
  log "Docker engine $(docker version --format '{{.Server.Version}}') answers on $SOCKET"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  die "nothing answers on $SOCKET and starting dockerd needs root"
fi

# A socket file left behind by a dead dockerd would make the new one fail.
if [[ -S $SOCKET ]] && ! dockerd_alive; then
  rm -f "$SOCKET"
fi
# Pid files of a killed dockerd (and of the containerd it supervises) name processes that may
# linger as zombies; dockerd refuses to start while its pid file names a process that exists.
if ! dockerd_alive; then
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
fi

if ! dockerd_alive; then
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # setsid + nohup: dockerd survives this script and the shell that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
  if engine_answers; then
    log "Docker engine $(docker version --format '{{.Server.Version}}') answers on $SOCKET after ${i}s"
    exit 0
  fi
  sleep 1
done

log "last lines of $DOCKERD_LOG:"
tail -n 20 "$DOCKERD_LOG" >&2 || true
die "no Docker engine answered on $SOCKET within ${WAIT_SECONDS}s"
