#!/usr/bin/env bash
# Build a minimal Debian bookworm root file system for marina-test/debian:bookworm.
# Usage: build-rootfs.sh DIR MIRROR SECURITY_MIRROR
# Called by scripts/build-test-images.sh (which imports DIR with `docker import`).
set -euo pipefail

dir=$1
mirror=$2
security_mirror=$3
suite=bookworm

debootstrap --variant=minbase "$suite" "$dir" "$mirror" >&2

# The same suites as the host (updates and security too), in deb822 form.
rm -f "$dir/etc/apt/sources.list"
cat >"$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

# Container-friendly apt defaults, like the official debian image.
cat >"$dir/etc/apt/apt.conf.d/90marina-container" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT

# Nothing host-specific or cached in the image.
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log "$dir"/tmp/*
: >"$dir/etc/hostname"
: >"$dir/etc/resolv.conf"
