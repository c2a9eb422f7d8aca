#!/usr/bin/env bash
# Starts LocalStack 4.14 (localstack-core, the last release that needs no account) on the host,
# without Docker, serving S3 and SQS on 127.0.0.1:${LOCALSTACK_PORT:-4566}; used by CI and by
# `npm run test:localstack`. Idempotent: a healthy instance already running is reused.
#
# LocalStack 4.14 needs Python >= 3.12 (its code uses PEP 695 generics); Debian bookworm ships
# 3.11, so the script looks for 3.13/3.12 (PATH, then pyenv). Two pins that its own metadata
# misses: cbor2 < 6 (6.x removed cbor2._decoder, which localstack.aws.protocol.parser imports)
# and service_identity (twisted's TLS module imports it). Without Python >= 3.12 it falls back
# to moto's server (`moto[server]`), which speaks the same S3 and SQS wire protocol.
set -euo pipefail
PORT=${LOCALSTACK_PORT:-4566}
STATE=${LOCALSTACK_STATE:-$HOME/.cache/mailbag/localstack}
VENV=${LOCALSTACK_VENV:-$HOME/.cache/mailbag/localstack-venv}
LOG=$STATE/localstack.log
PIDFILE=$STATE/localstack.pid
HEALTH=http://127.0.0.1:$PORT/_localstack/health
mkdir -p "$STATE"

healthy() { curl -fsS "$HEALTH" 2>/dev/null | grep -q '"s3": "\(available\|running\)".*"sqs": "\(available\|running\)"\|"sqs": "\(available\|running\)".*"s3": "\(available\|running\)"'; }
moto_up() { curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; }

if healthy || moto_up; then echo "localstack: already running on 127.0.0.1:$PORT"; exit 0; fi

python=""
for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3 python3; do
  p=$(command -v "$candidate" 2>/dev/null || true)
  [ -n "$p" ] && [ -x "$p" ] || continue
  "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { python=$p; break; }
done

started=$(date +%s)
if [ -n "$python" ]; then
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    rm -rf "$VENV"; "$python" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "localstack-core[runtime]==4.14.0" "cbor2==5.6.5" service_identity
  echo "localstack: starting localstack-core 4.14.0 on $("$VENV/bin/python" --version), host mode, port $PORT"
  rm -rf "$STATE/var"; mkdir -p "$STATE/var"
  GATEWAY_LISTEN=127.0.0.1:$PORT SERVICES=s3,sqs,ses PERSISTENCE=0 DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR=$STATE/var/volume FILESYSTEM_ROOT=$STATE/var/fs \
    nohup "$VENV/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  ready=healthy
else
  echo "localstack: no Python >= 3.12 here; falling back to moto's server (moto[server]) on port $PORT"
  VENV=$VENV-moto
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server,s3,sqs,ses]"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  ready=moto_up
fi

for _ in $(seq 240); do
  if $ready; then echo "localstack: ready on http://127.0.0.1:$PORT after $(($(date +%s) - started)) s (export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT)"; exit 0; fi
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
  sleep 0.5
done
echo "localstack: did not become healthy; last lines of $LOG:" >&2
tail -40 "$LOG" >&2
exit 1
