#!/usr/bin/env bash
# Docker engines for a real multi-node Swarm on one machine (issue #16, TESTING.md): each node is
# a dockerd of Debian's docker.io in its own network namespace, with its own data root, exec root,
# socket, pidfile, key file, hostname and cgroup mounts. A bridge in a namespace of its own joins
# the nodes (the main engine's FORWARD policy drops bridged traffic in the root namespace), and a
# veth from the root namespace reaches it, so this machine talks to each node at its address.
# Images are preloaded from the main engine (nodes cannot reach a mirror or a registry).
#
#   scripts/swarm-nodes.sh up [N]     N engines (default 3); prints one line per node:
#                                     <name> <unix socket> <address> <tcp url>
#   scripts/swarm-nodes.sh down       stops them (by pid), deletes namespaces, mounts and data
#   scripts/swarm-nodes.sh status     the nodes that answer
#   scripts/swarm-nodes.sh start I    starts node I's dockerd again (after a test killed it)
#
# Each engine also listens on tcp://<address>:2376 with mutual TLS, as an operator exposes a remote
# engine (Docker's "Protect the Docker daemon socket"): a CA, a server certificate per node and one
# client certificate are made in $MARINA_SWARM_DIR/tls (ca.pem, cert.pem, key.pem for the client).
#
# Each node also runs an sshd on <address>:22 that lets root in with the key $MARINA_SWARM_DIR/ssh/id_ed25519
# and points the Docker CLI at the node's engine (SetEnv DOCKER_HOST), so the engine is reachable
# as ssh://root@<address> too (`docker system dial-stdio`); host keys in $MARINA_SWARM_DIR/ssh.
#
# Env: MARINA_SWARM_DIR (default /var/lib/marina-swarm), MARINA_SWARM_IMAGES (images to preload,
# space-separated; default marina-test/debian:bookworm), MARINA_SWARM_PREFIX (names of namespaces
# and links, up to 9 characters; default marina-sw) and MARINA_SWARM_SUBNET (three octets; default
# 192.168.231), so that two sets of nodes can run side by side, and MARINA_SWARM_NO_NEW_PRIVILEGES
# (default true: the engines' "no-new-privileges"; false for a test of an engine without it). Needs root. The swarm itself is
# Marina's business (it makes the first node a manager and joins the others), not this script's.
set -euo pipefail

DIR=${MARINA_SWARM_DIR:-/var/lib/marina-swarm}
IMAGES=${MARINA_SWARM_IMAGES:-marina-test/debian:bookworm}
PREFIX=${MARINA_SWARM_PREFIX:-marina-sw}
BRIDGE_NS=${PREFIX}-br
SUBNET=${MARINA_SWARM_SUBNET:-192.168.231}
TLS_PORT=2376
# Containers may not gain privileges (setuid) unless a test wants an engine that lets them.
NO_NEW_PRIVILEGES=${MARINA_SWARM_NO_NEW_PRIVILEGES:-true}
WAIT_SECONDS=60

log() { printf 'swarm-nodes: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces and dockerd)"
# Link names are at most 15 characters: "<prefix><i>-br".
[[ $PREFIX =~ ^[a-z][a-z0-9-]{0,8}$ ]] || die "MARINA_SWARM_PREFIX must be 1 to 9 of a-z, 0-9, '-'"
[[ $NO_NEW_PRIVILEGES == true || $NO_NEW_PRIVILEGES == false ]] || die "MARINA_SWARM_NO_NEW_PRIVILEGES is true or false"
[[ $SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "MARINA_SWARM_SUBNET must be three octets"

node_dir() { printf '%s/node%s' "$DIR" "$1"; }
node_socket() { printf '%s/docker.sock' "$(node_dir "$1")"; }
node_address() { printf '%s.%s' "$SUBNET" "$((10 + $1))"; }
node_url() { printf 'tcp://%s:%s' "$(node_address "$1")" "$TLS_PORT"; }
node_answers() { docker -H "unix://$(node_socket "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The host's cgroup v1/v2 mounts, to be made again inside a node (ip netns exec remounts /sys).
cgroup_mounts() {
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $3, $4, $2 }' /proc/1/mounts
}

bridge_up() {
  ip netns list | grep -qw "$BRIDGE_NS" && return 0
  ip netns add "$BRIDGE_NS"
  ip netns exec "$BRIDGE_NS" ip link add br0 type bridge
  ip netns exec "$BRIDGE_NS" ip link set br0 up
  ip netns exec "$BRIDGE_NS" ip link set lo up
  # This machine's leg: the root namespace reaches every node at its address.
  ip link add ${PREFIX}-host type veth peer name host netns "$BRIDGE_NS"
  ip netns exec "$BRIDGE_NS" ip link set host master br0 up
  ip addr add "$SUBNET.1/24" dev ${PREFIX}-host
  ip link set ${PREFIX}-host up
}

# Marina's client key and a host key per node (ssh-keygen; made once).
ssh_keys() {
  local ssh=$DIR/ssh i count=$1
  mkdir -p "$ssh"
  chmod 700 "$ssh"
  [[ -f $ssh/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C marina-swarm-client -f "$ssh/id_ed25519"
  cp "$ssh/id_ed25519.pub" "$ssh/authorized_keys"
  for ((i = 1; i <= count; i++)); do
    [[ -f $ssh/node${i}_host_key ]] || ssh-keygen -q -t ed25519 -N '' -C "node$i" -f "$ssh/node${i}_host_key"
  done
}

# The node's sshd, inside its network namespace, on its address only.
sshd_up() {
  local i=$1 ns="$PREFIX$1" dir ssh=$DIR/ssh
  dir=$(node_dir "$i")
  [[ -f $dir/sshd.pid ]] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
  printf '%s\n' \
    "ListenAddress $(node_address "$i")" \
    'Port 22' \
    "HostKey $ssh/node${i}_host_key" \
    "PidFile $dir/sshd.pid" \
    "AuthorizedKeysFile $ssh/authorized_keys" \
    'StrictModes no' \
    'UsePAM no' \
    'PasswordAuthentication no' \
    'KbdInteractiveAuthentication no' \
    'PubkeyAuthentication yes' \
    'PermitRootLogin prohibit-password' \
    'AllowUsers root' \
    'AllowTcpForwarding no' \
    'X11Forwarding no' \
    "SetEnv DOCKER_HOST=unix://$dir/docker.sock" \
    'LogLevel ERROR' >"$dir/sshd_config"
  # sshd's privilege separation folder; Debian makes it only when its own service starts.
  mkdir -p /run/sshd
  ip netns exec "$ns" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
}

# A CA, then a certificate per node for its address and one for clients (openssl; made once).
tls_up() {
  local tls=$DIR/tls i count=$1
  mkdir -p "$tls"
  if [[ ! -f $tls/ca.pem ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=marina-test-ca \
      -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=marina \
      -keyout "$tls/key.pem" -out "$tls/client.csr" 2>/dev/null
    printf 'extendedKeyUsage = clientAuth\n' >"$tls/client.ext"
    openssl x509 -req -in "$tls/client.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial \
      -days 30 -extfile "$tls/client.ext" -out "$tls/cert.pem" 2>/dev/null
  fi
  for ((i = 1; i <= count; i++)); do
    [[ -f $tls/node$i-cert.pem ]] && continue
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=node$i" \
      -keyout "$tls/node$i-key.pem" -out "$tls/node$i.csr" 2>/dev/null
    printf 'subjectAltName = IP:%s,DNS:node%s\nextendedKeyUsage = serverAuth\n' "$(node_address "$i")" "$i" \
      >"$tls/node$i.ext"
    openssl x509 -req -in "$tls/node$i.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial \
      -days 30 -extfile "$tls/node$i.ext" -out "$tls/node$i-cert.pem" 2>/dev/null
  done
  chmod 600 "$tls"/*key.pem
}

node_up() {
  local i=$1 ns="$PREFIX$1" dir
  dir=$(node_dir "$i")
  if node_answers "$i"; then
    log "node$i already answers"
    return 0
  fi
  mkdir -p "$dir/data" "$dir/exec"
  # No name server answers inside a node: an image pull (Swarm tries one before each task) must
  # fail at once instead of after DNS timeouts. ip netns exec mounts this over /etc/resolv.conf.
  mkdir -p "/etc/netns/$ns"
  echo 'nameserver 127.0.0.1' >"/etc/netns/$ns/resolv.conf"
  ip netns list | grep -qw "$ns" || {
    ip netns add "$ns"
    ip link add "${PREFIX}$i-br" type veth peer name eth0 netns "$ns"
    ip link set "${PREFIX}$i-br" netns "$BRIDGE_NS"
    ip netns exec "$BRIDGE_NS" ip link set "${PREFIX}$i-br" master br0 up
    ip netns exec "$ns" ip addr add "$(node_address "$i")/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip route add default via "$SUBNET.1"
  }
  # Its own identity: without its own key file every node has the main engine's node id.
  cat >"$dir/daemon.json" <<EOF
{
  "deprecated-key-path": "$dir/key.json",
  "no-new-privileges": $NO_NEW_PRIVILEGES,
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" }
}
EOF
  rm -f "$dir/docker.sock" "$dir/docker.pid"
  local mounts
  mounts=$(cgroup_mounts)
  # A shell inside the node's namespaces: its hostname, the cgroup hierarchies, then dockerd.
  ip netns exec "$ns" unshare --uts -- bash -euc '
    hostname "$1"
    mount -t tmpfs -o mode=755 cgroup-root /sys/fs/cgroup
    while read -r type options target; do
      mkdir -p "$target"
      mount -t "$type" -o "$options" cgroup "$target"
    done <<<"$2"
    exec dockerd --data-root "$3/data" --exec-root "$3/exec" --pidfile "$3/docker.pid" \
      -H "unix://$3/docker.sock" -H "$5" --tlsverify --tlscacert "$6/ca.pem" \
      --tlscert "$6/$1-cert.pem" --tlskey "$6/$1-key.pem" --config-file "$3/daemon.json" \
      --containerd-namespace "$4" --containerd-plugins-namespace "$4-plugins"
  ' bash "node$i" "$mounts" "$dir" "$ns" "$(node_url "$i")" "$DIR/tls" >"$dir/dockerd.log" 2>&1 &
  local waited=0
  until node_answers "$i"; do
    sleep 0.2
    waited=$((waited + 1))
    if ((waited > WAIT_SECONDS * 5)); then
      tail -n 20 "$dir/dockerd.log" >&2 || true
      die "node$i's dockerd did not answer within ${WAIT_SECONDS}s (log: $dir/dockerd.log)"
    fi
  done
}

preload() {
  local i=$1 image
  for image in $IMAGES; do
    docker image inspect "$image" >/dev/null 2>&1 || die "image $image is not on the main engine"
    local want have
    want=$(docker image inspect --format '{{.Id}}' "$image")
    have=$(docker -H "unix://$(node_socket "$i")" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    [[ $want == "$have" ]] && continue
    docker save "$image" | docker -H "unix://$(node_socket "$i")" load -q >/dev/null
  done
}

up() {
  local count=${1:-3}
  [[ $count =~ ^[1-9]$ ]] || die "the number of nodes is 1 to 9, not '$count'"
  command -v dockerd >/dev/null || die "dockerd is missing (bash scripts/ensure-docker.sh)"
  local started=$SECONDS
  mkdir -p "$DIR"
  command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
  tls_up "$count"
  command -v ssh-keygen >/dev/null || die "ssh-keygen is missing (apt-get install openssh-client)"
  ssh_keys "$count"
  bridge_up
  local i pid
  for ((i = 1; i <= count; i++)); do
    node_up "$i"
    sshd_up "$i"
  done
  # Only the loads are waited for: the nodes' dockerd are this shell's children too.
  local loads=()
  for ((i = 1; i <= count; i++)); do
    preload "$i" &
    loads+=($!)
  done
  for pid in "${loads[@]}"; do wait "$pid" || die "loading images into a node failed"; done
  log "$count nodes up in $((SECONDS - started)) s"
  for ((i = 1; i <= count; i++)); do
    printf 'node%s %s %s %s\n' "$i" "$(node_socket "$i")" "$(node_address "$i")" "$(node_url "$i")"
  done
}

down() {
  local dir pid ns pids=()
  for dir in "$DIR"/node*; do
    [[ -d $dir ]] || continue
    [[ -f $dir/sshd.pid ]] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
    pid=$(cat "$dir/docker.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  # All at once: a node of a swarm takes seconds to stop, and nothing of theirs is kept.
  ((${#pids[@]} > 0)) && kill "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Containers' shims and whatever a killed dockerd left mounted under its roots.
  pkill -f "containerd-shim.*-namespace $PREFIX" 2>/dev/null || true
  awk -v dir="$DIR" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | while read -r target; do
    umount -l "$target" 2>/dev/null || true
  done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX" || true); do
    ip netns del "$ns"
    rm -rf "/etc/netns/$ns"
  done
  ip link del ${PREFIX}-host 2>/dev/null || true
  rm -rf "$DIR"
  log "nodes removed"
}

status() {
  local dir i
  for dir in "$DIR"/node*; do
    [[ -d $dir ]] || continue
    i=${dir##*node}
    if node_answers "$i"; then echo "node$i up $(node_socket "$i") $(node_address "$i")"; else echo "node$i down"; fi
  done
}

case ${1:-} in
  up) up "${2:-3}" ;;
  down) down ;;
  status) status ;;
  start)
    [[ ${2:-} =~ ^[0-9]+$ ]] || die "usage: $0 start <node number>"
    node_up "$2"
    ;;
  *) die "usage: $0 up [N] | down | status | start I" ;;
esac
