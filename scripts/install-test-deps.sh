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
# the real TLS edge in tests: Caddy (reverse proxy), Pebble + pebble-challtestsrv (ACME test CA, test DNS)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
# a real authoritative DNS server taking TSIG-signed dynamic updates (the wildcard certificate's DNS-01)
[ -x /usr/sbin/knotd ] || missing+=(knot)
# a real Prometheus scraping Marina's /metrics (test/metrics-prometheus.test.ts runs its own)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
# a C compiler for test/helpers/no-netlink.c, which keeps Chromium deaf to the host's network churn
command -v cc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/include/dlfcn.h ] || missing+=(libc6-dev)
# poppler's pdftotext, pdfinfo and pdftoppm read back the invoice PDFs (test/invoice-pdf.test.ts)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# network namespaces, veth pairs and a bridge for the multi-node Swarm (scripts/swarm-nodes.sh)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# the test nodes' CA and certificates for the engines' mutual TLS (scripts/swarm-nodes.sh)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

# The caddy package enables caddy.service, which would hold ports 80/443 and an admin API on :2019;
# tests start their own Caddy, so stop and mask the system one where systemd runs (CI containers
# have no systemd). Never prompts: without root or password-less sudo it leaves the service alone.
disable_system_service() {
  local service="$1"
  [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 || return 0
  systemctl cat "$service" >/dev/null 2>&1 || return 0
  [ "$(systemctl is-enabled "$service" 2>/dev/null || true)" != masked ] || return 0
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  "${as_root[@]}" systemctl stop "$service" >/dev/null 2>&1 || true
  "${as_root[@]}" systemctl mask "$service" >/dev/null 2>&1 || true
}
# knot enables knot.service likewise (port 53 on every address): tests run their own Knot.
disable_system_services() {
  disable_system_service caddy.service
  disable_system_service knot.service
  # prometheus enables prometheus.service (:9090, scraping localhost): the test starts its own
  # binary with its own configuration, storage and port.
  disable_system_service prometheus.service
  disable_system_service prometheus-node-exporter.service
}

if [ ${#missing[@]} -eq 0 ]; then
  disable_system_services
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
# Without systemd, a package's init script would start its daemon at once (prometheus on :9090,
# caddy, knot): a policy-rc.d answering 101 ("not allowed") keeps every service down during the
# install. One the machine already has is left as it is.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# install-test-deps: no service starts while test packages install\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=1
fi
status=0
"${sudo[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null ||
  status=$?
[ -z "$own_policy" ] || "${sudo[@]}" rm -f "$policy"
[ "$status" -eq 0 ] || exit "$status"
disable_system_services
