#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback for the tests (used by .ci/run; handy locally too).
# Prints the environment to export: DISPATCH_TEST_DATABASE_URL, DISPATCH_TEST_REDIS_URL.
set -euo pipefail
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
STATE=${SERVICES_DIR:-/tmp/dispatch-services}
mkdir -p "$STATE"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ]; then echo "PostgreSQL is not installed" >&2; exit 1; fi
if ! "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  rm -rf "$STATE/pg"
  mkdir -p "$STATE/pg"
  chown postgres "$STATE/pg" "$STATE"
  runuser -u postgres -- "$pgbin/initdb" -D "$STATE/pg" -A trust -U postgres -E UTF8 >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$STATE/pg" -l "$STATE/pg.log" -w \
    -o "-p $PG_PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
fi
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --logfile "$STATE/redis.log" >/dev/null
fi
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "export DISPATCH_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/dispatch_test"
echo "export DISPATCH_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
