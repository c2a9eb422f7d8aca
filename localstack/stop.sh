#!/usr/bin/env bash
# Stops what localstack/start.sh started (its pid file), and nothing else.
# Takes the same LOCALSTACK_PORT / LOCALSTACK_STATE as start.sh.
set -euo pipefail

PORT="${LOCALSTACK_PORT:-4566}"
STATE="${LOCALSTACK_STATE:-$HOME/.cache/mailbag/localstack-$PORT}"
PIDFILE="$STATE/localstack.pid"
GRACE="${LOCALSTACK_STOP_TIMEOUT:-20}"

say() { printf 'localstack: %s\n' "$*" >&2; }

if [[ ! -f "$PIDFILE" ]]; then
  say "not running (no pid file $PIDFILE)"
  exit 0
fi
pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
  say "not running (stale pid file removed)"
  rm -f "$PIDFILE"
  exit 0
fi
# The pid may belong to another program by now: only signal what start.sh starts.
if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'localstack\.runtime\.main|moto_server'; then
  say "pid $pid is no longer LocalStack; pid file removed, nothing stopped"
  rm -f "$PIDFILE"
  exit 0
fi

say "stopping pid $pid"
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + GRACE))
while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
  # Seen once: the runtime hangs in "[shutdown] Stopping all services" after a failed start.
  say "still running after ${GRACE}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
fi
rm -f "$PIDFILE"
say "stopped"
