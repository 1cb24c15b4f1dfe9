#!/usr/bin/env bash
# Runs the whole test suite with the project's virtual environment.
#
# The planner's store is tested against SQLite and PostgreSQL, and its pages in headless
# Chromium. When Debian's `postgresql` or `chromium` package is missing (always checked,
# so CI=true machines get them too) it is installed with apt-get. A throw-away PostgreSQL
# cluster is created in a temporary directory, started on a unix socket only (no TCP),
# exported to the tests as MEDIAMIX_TEST_POSTGRES_URL, and stopped and deleted afterwards.
# An already set MEDIAMIX_TEST_POSTGRES_URL is used as is.
set -euo pipefail
cd "$(dirname "$0")/.."

# The newest PostgreSQL server install (a client-only install has no initdb, so it does not count).
pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
}
log() { echo "test.sh: $*" >&2; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ -z "${MEDIAMIX_TEST_POSTGRES_URL:-}" ] && [ -z "$(pg_bin)" ]; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]} from Debian's packages"
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >&2; then
      log "could not install ${missing[*]}"
      [ "${CI:-}" = "true" ] && exit 1
    fi
  else
    log "apt-get not found; ${missing[*]} tests will be skipped"
  fi
fi

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
as_pg() {
  # PostgreSQL refuses to run as root: use the `postgres` account (or nobody) when root.
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

if [ -z "${MEDIAMIX_TEST_POSTGRES_URL:-}" ] && [ -n "$(pg_bin)" ]; then
  trap cleanup EXIT INT TERM
  pg_dir="$(mktemp -d /tmp/mediamix-pg.XXXXXX)"
  chmod 755 "$pg_dir"
  if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then chown postgres "$pg_dir"; else chown nobody "$pg_dir"; fi
  fi
  bin="$(pg_bin)"
  as_pg "$bin/initdb" -D "$pg_dir/data" -U mediamix --auth=trust -E UTF8 --no-sync >/dev/null
  as_pg "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-c listen_addresses='' -k $pg_dir -c fsync=off -c full_page_writes=off" start >/dev/null
  export MEDIAMIX_TEST_POSTGRES_URL="postgresql+psycopg://mediamix@/postgres?host=$pg_dir"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on socket $pg_dir"
fi

status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
