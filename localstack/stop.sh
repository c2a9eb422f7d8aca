#!/usr/bin/env bash
# Stops what localstack/start.sh started (its pid file), nothing else.
set -euo pipefail
PIDFILE=${LOCALSTACK_STATE:-$HOME/.cache/mailbag/localstack}/localstack.pid
[ -f "$PIDFILE" ] || { echo "localstack: not started by start.sh"; exit 0; }
pid=$(cat "$PIDFILE")
if kill "$pid" 2>/dev/null; then
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
echo "localstack: stopped"
