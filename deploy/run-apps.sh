#!/usr/bin/env bash
# Start N CRM Lens app processes on one PostgreSQL database, on 127.0.0.1:8601 .. 8600+N, for
# the proxy in deploy/haproxy.cfg (docs/backends.md, "Several app processes behind one port").
#
#   CRM_LENS_DB=postgresql://crm@db.example.com/crm deploy/run-apps.sh 2 [FIRST_PORT]
#
# Runs in the foreground; Ctrl-C or SIGTERM stops every process it started. The processes log to
# this script's output, each line prefixed with the process's port. The weekly digest ($CRM_LENS_DIGEST_AT) is sent by the first process
# only: every process would send it otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-2}"
first="${2:-8601}"
case "${CRM_LENS_DB:-}" in
  postgresql://* | postgres://*) ;;
  *)
    echo "run-apps: set CRM_LENS_DB to a postgresql:// URL (a DuckDB file allows one process)" >&2
    exit 2
    ;;
esac
if ! [[ "$n" =~ ^[1-9][0-9]*$ && "$first" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: CRM_LENS_DB=postgresql://... $0 N [FIRST_PORT]" >&2
  exit 2
fi

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

digest="${CRM_LENS_DIGEST_AT:-}"
for ((i = 0; i < n; i++)); do
  port=$((first + i))
  if [ "$i" -eq 0 ] && [ -n "$digest" ]; then export CRM_LENS_DIGEST_AT="$digest"; else unset CRM_LENS_DIGEST_AT; fi
  python -m streamlit run serve.py \
    --server.port "$port" --server.address 127.0.0.1 --server.headless true \
    --browser.gatherUsageStats false > >(sed -u "s/^/[$port] /") 2>&1 &
  pids+=("$!")
  echo "run-apps: app process $((i + 1)) of $n on 127.0.0.1:$port (pid $!)"
done
# The proxy sends a stopped process's users to the others; say so here, where it shows.
left=$n
while [ "$left" -gt 0 ]; do
  wait -n || true
  left=$((left - 1))
  echo "run-apps: an app process exited ($left of $n left running)" >&2
done
exit 1
