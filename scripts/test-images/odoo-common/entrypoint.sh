#!/usr/bin/env bash
# Entrypoint of marina-test/odoo-runtime and marina-test/odoo-standin, after the official
# odoo image's entrypoint.sh:
#   - env HOST / PORT / USER / PASSWORD (defaults db / 5432 / odoo / odoo; PASSWORD_FILE
#     wins over PASSWORD) become --db_host / --db_port / --db_user / --db_password,
#     unless the config file ($ODOO_RC) already sets that option;
#   - when the first argument is `odoo` (or `--`) or starts with `-`: wait for PostgreSQL,
#     then `exec odoo "$@"` with those arguments appended (`odoo scaffold` does not wait);
#   - anything else is executed as it is.
set -euo pipefail

ODOO_RC=${ODOO_RC:-/etc/odoo/odoo.conf}
WAIT_TIMEOUT=${MARINA_WAIT_FOR_DB_TIMEOUT:-30}

if [[ -n ${PASSWORD_FILE:-} ]]; then
  PASSWORD=$(<"$PASSWORD_FILE")
fi

: "${HOST:=${DB_PORT_5432_TCP_ADDR:-db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:-5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:-${POSTGRES_USER:-odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:-${POSTGRES_PASSWORD:-odoo}}}"

# Value of `key = value` in the config file (the last one wins), or nothing.
config_value() {
  [[ -r $ODOO_RC ]] || return 1
  awk -v key="$1" '
    {
      line = $0
      sub(/^[ \t]+/, "", line)
      if (index(line, key) != 1) next
      rest = substr(line, length(key) + 1)
      if (rest !~ /^[ \t]*=/) next
      sub(/^[ \t]*=[ \t]*/, "", rest)
      sub(/[ \t\r]+$/, "", rest)
      gsub(/"/, "", rest)
      value = rest; found = 1
    }
    END { if (found) print value; else exit 1 }
  ' "$ODOO_RC"
}

DB_ARGS=()
check_config() {
  local param=$1 value=$2 from_file
  if from_file=$(config_value "$param"); then
    value=$from_file
  fi
  DB_ARGS+=("--$param" "$value")
}
check_config db_host "$HOST"
check_config db_port "$PORT"
check_config db_user "$USER"
check_config db_password "$PASSWORD"

wait_for_psql() {
  local host=${DB_ARGS[1]} port=${DB_ARGS[3]} user=${DB_ARGS[5]} deadline=$((SECONDS + WAIT_TIMEOUT))
  until pg_isready --quiet --host="$host" --port="$port" --username="$user" --dbname=postgres --timeout=2; do
    if ((SECONDS >= deadline)); then
      printf 'Database connection failure: no PostgreSQL answering on %s:%s after %ss\n' \
        "$host" "$port" "$WAIT_TIMEOUT" >&2
      exit 1
    fi
    sleep 0.5
  done
}

case ${1:-} in
  -- | odoo)
    shift
    if [[ ${1:-} == scaffold ]]; then
      exec odoo "$@"
    fi
    wait_for_psql
    exec odoo "$@" "${DB_ARGS[@]}"
    ;;
  -*)
    wait_for_psql
    exec odoo "$@" "${DB_ARGS[@]}"
    ;;
  *)
    exec "$@"
    ;;
esac
