#!/usr/bin/env bash
# Installs the system packages the test suite needs and a fresh Debian machine lacks.
# Idempotent: does nothing when everything is already there. Needs root (or sudo) to install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# fonts for readable screenshots of the UI
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# a real SFTP server on loopback for the offsite-copy tests
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-test-deps: these Debian packages are missing: ${missing[*]}; install them as root (apt-get install -y ${missing[*]})." >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
