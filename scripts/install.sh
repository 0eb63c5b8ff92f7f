#!/usr/bin/env bash
# Installs Marina on a Debian server as a systemd service under its own user.
#   sudo bash scripts/install.sh [--prefix /opt/marina] [--data /var/lib/marina] [--config /etc/marina] [--no-start]
# Run it from a checkout of Marina. Re-running it upgrades the code and keeps data and settings.
set -euo pipefail

prefix=/opt/marina
data=/var/lib/marina
config=/etc/marina
start=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --no-start) start=no; shift ;;
    *) echo "install: unknown option $1" >&2; exit 2 ;;
  esac
done
for path in "$prefix" "$data" "$config"; do
  case "$path" in
    /*) ;;
    *) echo "install: paths must be absolute: $path" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install: run as root (sudo)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install: npm is missing (apt-get install -y nodejs npm)" >&2; exit 1; }

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
echo "install: Marina from $source_dir into $prefix (data $data, settings $config)"

getent group marina >/dev/null || groupadd --system marina
id marina >/dev/null 2>&1 || useradd --system --gid marina --home-dir "$data" --shell /usr/sbin/nologin marina
# Instances run on Docker: Marina talks to the engine through its socket.
getent group docker >/dev/null && usermod -aG docker marina

install -d -m 0755 "$prefix"
install -d -m 0750 -o marina -g marina "$data"
install -d -m 0750 -o root -g marina "$config"

# Copy the project (not node_modules, data or build output), then build it there.
tar -C "$source_dir" --exclude=./node_modules --exclude=./data --exclude=./dist --exclude=./.git \
  --exclude=./test-results -cf - . | tar -C "$prefix" -xf -
(cd "$prefix" && npm install --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund)

node_bin="$prefix/node_modules/.bin/node"
if [ ! -x "$node_bin" ]; then
  # No bundled Node for this platform: use the system one if it is recent enough.
  node_bin="$(command -v node)"
  "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' \
    || { echo "install: Marina needs Node.js >= 22.12" >&2; exit 1; }
  mkdir -p "$prefix/node_modules/.bin" && ln -sf "$node_bin" "$prefix/node_modules/.bin/node"
fi

if [ ! -f "$config/marina.env" ]; then
  cat > "$config/marina.env" <<ENV
# Marina's settings (see README: Configuration). Restart after a change: systemctl restart marina
MARINA_HOST=0.0.0.0
MARINA_PORT=9998
MARINA_DATA_DIR=$data
# MARINA_PUBLIC_URL=https://marina.example.com
# The reverse proxy's address (or how many proxies stand in front, e.g. 1):
# MARINA_TRUST_PROXY=127.0.0.1
# MARINA_DATABASE_URL=postgres://marina:secret@db.example.com:5432/marina
ENV
  chmod 0640 "$config/marina.env"
  chown root:marina "$config/marina.env"
fi

# A `marina` command for the server's operators, with the service's settings.
cat > /usr/local/bin/marina <<WRAPPER
#!/bin/sh
# The service's settings, except those the caller sets itself.
if [ -r "$config/marina.env" ]; then
  while IFS='=' read -r key value; do
    case "\$key" in
      MARINA_*) if [ -z "\$(printenv "\$key")" ]; then export "\$key=\$value"; fi ;;
    esac
  done < "$config/marina.env"
fi
exec "$node_bin" "$prefix/bin/marina.js" "\$@"
WRAPPER
chmod 0755 /usr/local/bin/marina

sed -e "s|@PREFIX@|$prefix|g" -e "s|@DATA_DIR@|$data|g" -e "s|@CONFIG_DIR@|$config|g" \
  "$prefix/deploy/marina.service" > /etc/systemd/system/marina.service

if [ "$start" = yes ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now marina
  systemctl restart marina
  echo "install: Marina is running. The one-time setup link is in its log:"
  echo "  journalctl -u marina | grep -o 'http[^ ]*/setup#[^ \"]*' | tail -1"
  echo "or create the first administrator on this server:"
  echo "  sudo -u marina marina admin create --email you@example.com"
else
  echo "install: installed; start it with: systemctl daemon-reload && systemctl enable --now marina"
fi
