#!/usr/bin/env bash
# The compose.yaml stack without Docker: PostgreSQL and Redis on loopback (.ci/services.sh),
# then migrate, seed (optional), and start gunicorn, two RQ workers, the cron scheduler and its worker.
#   bash scripts/production_local.sh [--seed]        stop with: kill $(cat /tmp/dispatch-prod/*.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash .ci/services.sh)"
STATE=/tmp/dispatch-prod
mkdir -p "$STATE"
export DATABASE_URL=${DATABASE_URL:-${DISPATCH_TEST_DATABASE_URL%/*}/dispatch_prod}
export REDIS_URL=${REDIS_URL:-${DISPATCH_TEST_REDIS_URL%/*}/1}
export SECRET_KEY=${SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')}
export DISPATCH_LOG_JSON=1 DISPATCH_UPLOAD_DIR=${DISPATCH_UPLOAD_DIR:-$STATE/uploads}
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
"$PY" - <<'PYEOF'
import os
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
PYEOF
"$BIN/dispatch" db upgrade
if [ "${1:-}" = "--seed" ]; then "$BIN/dispatch" seed demo; fi
"$BIN/gunicorn" -c gunicorn.conf.py --bind 127.0.0.1:8000 --workers "${WEB_CONCURRENCY:-4}" wsgi:app \
  >"$STATE/api.log" 2>&1 & echo $! >"$STATE/api.pid"
for n in 1 2; do "$PY" -m workers >"$STATE/worker$n.log" 2>&1 & echo $! >"$STATE/worker$n.pid"; done
# periodic tasks: rq cron enqueues them on the "cron" queue with RQ's default serializer, so a
# plain rq worker serves that queue (python -m workers serves the JSON queues)
"$BIN/rq" cron workers.cron --url "$REDIS_URL" >"$STATE/cron.log" 2>&1 & echo $! >"$STATE/cron.pid"
"$BIN/rq" worker cron --url "$REDIS_URL" >"$STATE/cron-worker.log" 2>&1 & echo $! >"$STATE/cron-worker.pid"
echo "API on http://127.0.0.1:8000 (logs in $STATE)"
