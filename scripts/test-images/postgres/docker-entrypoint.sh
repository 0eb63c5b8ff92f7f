#!/usr/bin/env bash
# Entrypoint of marina-test/postgres:15, after the official postgres image's contract:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default: POSTGRES_USER),
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), PGDATA.
# First start: initdb, create POSTGRES_DB, allow host connections with a password,
# listen on *:5432. Then `exec postgres` as the postgres user so signals reach it.
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }

if [[ ${1:-} == -* ]]; then
  set -- postgres "$@"
fi

if [[ ${1:-} != postgres ]]; then
  exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"

if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    log 'Error: Database is uninitialized and superuser password is not specified.'
    log '       You must specify POSTGRES_PASSWORD to a non-empty value for the'
    log '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".'
    log '       (or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password)'
    exit 1
  fi

  initdb_args=()
  if [[ -n ${POSTGRES_INITDB_ARGS:-} ]]; then
    read -r -a initdb_args <<<"$POSTGRES_INITDB_ARGS"
  fi
  if [[ -n $POSTGRES_PASSWORD ]]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb_args+=("--pwfile=$pwfile")
  fi
  initdb --username="$POSTGRES_USER" -D "$PGDATA" "${initdb_args[@]}"
  rm -f "${pwfile:-}"

  {
    printf '\n# Added by the marina-test/postgres entrypoint\n'
    printf "listen_addresses = '*'\n"
  } >>"$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # Temporary server on the Unix socket only, to create the database.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses= -p 5432" -w start
  if [[ $POSTGRES_DB != postgres ]]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
      --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
  log ''
  log 'PostgreSQL init process complete; ready for start up.'
  log ''
fi

exec "$@"
