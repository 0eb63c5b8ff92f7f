#!/usr/bin/env bash
# Create user and group `odoo` with uid/gid 101 (the official odoo image's ids), its
# directories and the default config. Run in the image build, before any package that
# creates system users, so those get other ids; fails loudly if 101 is already taken.
set -euo pipefail

if getent group 101 >/dev/null && [[ $(getent group 101 | cut -d: -f1) != odoo ]]; then
  echo "gid 101 is already taken by: $(getent group 101)" >&2
  exit 1
fi
if getent passwd 101 >/dev/null && [[ $(getent passwd 101 | cut -d: -f1) != odoo ]]; then
  echo "uid 101 is already taken by: $(getent passwd 101)" >&2
  exit 1
fi
getent group odoo >/dev/null || groupadd --system --gid 101 odoo
getent passwd odoo >/dev/null ||
  useradd --system --uid 101 --gid 101 --home-dir /var/lib/odoo --no-create-home \
    --shell /usr/sbin/nologin --comment 'Odoo' odoo

mkdir -p /etc/odoo /var/lib/odoo /mnt/extra-addons
chown odoo:odoo /etc/odoo /var/lib/odoo /mnt/extra-addons
