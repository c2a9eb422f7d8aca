#!/usr/bin/env bash
# Starts LocalStack 4.14 (localstack-core, the last release that needs no account) on this host,
# without Docker, in the background, serving S3, SQS and SES on 127.0.0.1:${LOCALSTACK_PORT:-4566};
# waits until S3 and SQS are up. Used by CI and by `npm run test:localstack`.
#
#   bash localstack/start.sh                  # progress on stderr, export lines on stdout
#   eval "$(bash localstack/start.sh)"        # ... and take AWS_ENDPOINT_URL etc. into this shell
#   bash localstack/stop.sh                   # stops what this script started, nothing else
#
# Idempotent: when the LocalStack it started is already up and healthy, it says so and exits 0.
#
# LocalStack 4.14 needs Python >= 3.12 (it uses PEP 695 syntax; on 3.11 it starts, reports healthy,
# then fails every S3 call with "invalid syntax (stores.py, line 193)"). Debian bookworm ships 3.11,
# so the script looks for 3.13/3.12 (PATH, then pyenv). Its dependencies are pinned in
# requirements.txt, because newer releases of some of them break it. Without Python >= 3.12 it
# falls back to moto's server (requirements-moto.txt), which speaks the same S3/SQS protocol but
# is weaker on FIFO deduplication (see that file).
#
# Environment (all optional):
#   LOCALSTACK_PORT           port on 127.0.0.1                        (4566)
#   LOCALSTACK_VENV           virtualenv, created and reused           ($HOME/.cache/mailbag/localstack-venv)
#   LOCALSTACK_STATE          log, pid file, LocalStack's file tree    ($HOME/.cache/mailbag/localstack-$PORT)
#   LOCALSTACK_SERVICES       SERVICES for LocalStack                  (s3,sqs,ses)
#   LOCALSTACK_PYTHON         Python >= 3.12 for the virtualenv        (python3.13, python3.12, pyenv's, python3)
#   LOCALSTACK_START_TIMEOUT  seconds to wait for health               (120)
#   LOCALSTACK_GATEWAY_SERVER hypercorn (binds 127.0.0.1) or twisted (LocalStack's default, binds 0.0.0.0)
#   LOCALSTACK_INIT_HOOKS=1   also run localstack/init/ready.d/*.sh once ready, as the Docker image does
# Other LocalStack settings (DEBUG=1, LS_LOG=trace, ...) pass through from the environment.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${LOCALSTACK_PORT:-4566}"
VENV="${LOCALSTACK_VENV:-$HOME/.cache/mailbag/localstack-venv}"
STATE="${LOCALSTACK_STATE:-$HOME/.cache/mailbag/localstack-$PORT}"
SERVICES_WANTED="${LOCALSTACK_SERVICES:-s3,sqs,ses}"
TIMEOUT="${LOCALSTACK_START_TIMEOUT:-120}"
GATEWAY="${LOCALSTACK_GATEWAY_SERVER:-hypercorn}"
ENDPOINT="http://127.0.0.1:$PORT"
LOG="$STATE/localstack.log"
PIDFILE="$STATE/localstack.pid"

say() { printf 'localstack: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

print_env() {
  cat <<EOF
export AWS_ENDPOINT_URL=$ENDPOINT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
EOF
}

# Any Python, for the probes below (they need nothing but the standard library).
probe_python() {
  if [[ -x "$VENV/bin/python" ]]; then echo "$VENV/bin/python"; else command -v python3; fi
}

# "ready" (S3 and SQS up), "starting", "broken" (S3 or SQS in error), "moto" (a moto server) or
# "down" (nothing answers on the port).
health() {
  "$(probe_python)" - "$ENDPOINT" <<'PY' 2>/dev/null || echo down
import json, sys, urllib.request
base = sys.argv[1]
try:
    with urllib.request.urlopen(base + "/_localstack/health", timeout=3) as r:
        services = json.load(r).get("services", {})
except Exception:
    try:
        urllib.request.urlopen(base + "/moto-api/", timeout=3).close()
        print("moto")
    except Exception:
        print("down")
    sys.exit(0)
states = [services.get("s3"), services.get("sqs")]
if "error" in states:
    print("broken")
elif all(s in ("running", "available") for s in states):
    print("ready")
else:
    print("starting")
PY
}

# S3 and SQS answer on $ENDPOINT (LocalStack ready, or the moto fallback).
serving() {
  local state
  state="$(health)"
  [[ "$state" == ready || "$state" == moto ]]
}

health_json() {
  "$(probe_python)" -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]+"/_localstack/health",timeout=3).read().decode())' "$ENDPOINT" 2>/dev/null || true
}

port_in_use() {
  "$(probe_python)" - "$PORT" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

# The pid in the pid file, when that process is alive and is what this script starts.
our_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'localstack\.runtime\.main|moto_server' || return 1
  echo "$pid"
}

wait_ready() { # $1 = pid to watch, $2 = the health state that means ready
  local pid="$1" want="$2" deadline=$((SECONDS + TIMEOUT)) state
  while ((SECONDS < deadline)); do
    state="$(health)"
    [[ "$state" == "$want" ]] && return 0
    if [[ "$state" == broken ]]; then say "S3 or SQS reports an error: $(health_json)"; return 1; fi
    if ! kill -0 "$pid" 2>/dev/null; then say "the process (pid $pid) exited"; return 1; fi
    sleep 0.5
  done
  say "not healthy after ${TIMEOUT}s: $(health_json)"
  return 1
}

# Are exactly the pinned versions of $1 (a requirements file) installed in the virtualenv?
pins_installed() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    r = Requirement(line)
    if r.marker and not r.marker.evaluate():
        continue
    if md.version(r.name) != next(iter(r.specifier)).version:
        sys.exit(1)
PY
}

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local c
  if [[ -n "${LOCALSTACK_PYTHON:-}" ]]; then
    py_ok "$LOCALSTACK_PYTHON" || die "LOCALSTACK_PYTHON=$LOCALSTACK_PYTHON is not a working Python >= 3.12"
    command -v "$LOCALSTACK_PYTHON"; return 0
  fi
  for c in python3.13 python3.12 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3 \
    /usr/bin/python3.13 /usr/bin/python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then command -v "$c"; return 0; fi
  done
  return 1
}

# (Re)creates $VENV with $1 and installs requirements file $2 unless exactly those pins are there.
ensure_venv() {
  local py="$1" req="$2" t0=$SECONDS
  if [[ -x "$VENV/bin/python" ]] && [[ "$("$VENV/bin/python" -c 'import sys; print(sys.version_info[:2])')" == "$("$py" -c 'import sys; print(sys.version_info[:2])')" ]] \
    && pins_installed "$req"; then
    return 0
  fi
  if [[ ! -x "$VENV/bin/python" ]] || [[ "$("$VENV/bin/python" -c 'import sys; print(sys.version_info[:2])' 2>/dev/null)" != "$("$py" -c 'import sys; print(sys.version_info[:2])')" ]]; then
    say "creating virtualenv $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV"
  fi
  say "installing $(basename "$req") into $VENV (first time: about a minute)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2 \
    || die "pip install -r $req failed"
  say "installed in $((SECONDS - t0))s"
}

fail_with_log() {
  say "last lines of $LOG:"
  tail -n 40 "$LOG" >&2 || true
  exit 1
}

# ---- already running? -----------------------------------------------------------------------
mkdir -p "$STATE"
if pid="$(our_pid)"; then
  if serving; then
    say "already running and healthy on $ENDPOINT (pid $pid, log $LOG)"
    print_env
    exit 0
  fi
  say "already started (pid $pid) but not healthy yet; waiting"
  wait_ready "$pid" ready || fail_with_log
  say "ready on $ENDPOINT (pid $pid, log $LOG)"
  print_env
  exit 0
fi
rm -f "$PIDFILE"
if port_in_use; then
  if serving; then
    say "a server this script did not start already serves S3 and SQS on $ENDPOINT; using it (stop.sh will not stop it)"
    print_env
    exit 0
  fi
  die "port $PORT on 127.0.0.1 is taken by something that is not a healthy LocalStack (health: $(health)); set LOCALSTACK_PORT"
fi

[[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
t0=$SECONDS

if PY="$(find_python)"; then
  # ---- LocalStack in host mode --------------------------------------------------------------
  ensure_venv "$PY" "$HERE/requirements.txt"
  FS_ROOT="$STATE/filesystem"
  rm -rf "$FS_ROOT" # PERSISTENCE=0: nothing of a previous run is kept
  mkdir -p "$FS_ROOT/etc/localstack/init"
  if [[ "${LOCALSTACK_INIT_HOOKS:-0}" == 1 ]]; then
    ln -s "$HERE/init/ready.d" "$FS_ROOT/etc/localstack/init/ready.d"
  fi
  say "starting localstack-core 4.14.0 ($("$VENV/bin/python" --version)) on $ENDPOINT, SERVICES=$SERVICES_WANTED, log $LOG"
  # Each setting, and why:
  #   GATEWAY_LISTEN / LOCALSTACK_HOST  listen on 127.0.0.1:PORT and name that address in URLs
  #   GATEWAY_SERVER=hypercorn          the default (twisted) ignores the host and binds 0.0.0.0
  #   SQS_ENDPOINT_STRATEGY=dynamic     queue URLs use the host the client called, e.g.
  #                                     http://127.0.0.1:PORT/queue/us-east-1/000000000000/NAME
  #                                     (the default names sqs.us-east-1.localhost.localstack.cloud,
  #                                     which needs public DNS)
  #   EAGER_SERVICE_LOADING=1           load S3/SQS/SES now: a broken service fails health at start,
  #                                     not at the first request ("available" means "not loaded yet")
  #   PERSISTENCE=0                     nothing survives a restart
  #   DISABLE_EVENTS=1                  no analytics calls home
  #   SKIP_SSL_CERT_DOWNLOAD=1          no certificate download (a self-signed one is made)
  #   DNS_ADDRESS=0                     no LocalStack DNS server (wants port 53 and an upstream)
  #   OVERRIDE_IN_DOCKER=0              a sandbox with /.dockerenv makes LocalStack think it runs in
  #                                     its image: it would then ignore FILESYSTEM_ROOT, use the shared
  #                                     /var/lib/localstack, /tmp/localstack and /etc/localstack/init
  #   FILESYSTEM_ROOT                   LocalStack's own file tree, under $STATE
  # The runtime writes its own pid (exec keeps it) so the pid file names the python process.
  env \
    GATEWAY_LISTEN="127.0.0.1:$PORT" \
    LOCALSTACK_HOST="127.0.0.1:$PORT" \
    GATEWAY_SERVER="$GATEWAY" \
    SERVICES="$SERVICES_WANTED" \
    SQS_ENDPOINT_STRATEGY=dynamic \
    EAGER_SERVICE_LOADING=1 \
    PERSISTENCE=0 \
    DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    DNS_ADDRESS=0 \
    OVERRIDE_IN_DOCKER=0 \
    FILESYSTEM_ROOT="$FS_ROOT" \
    PATH="$VENV/bin:$PATH" \
    AWS_ENDPOINT_URL="$ENDPOINT" \
    nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
    "$VENV/bin/python" -m localstack.runtime.main </dev/null >"$LOG" 2>&1 &
  want=ready
else
  # ---- fallback: moto's server ---------------------------------------------------------------
  say "WARNING: no Python >= 3.12 found (LocalStack 4.14 needs it); falling back to moto's server."
  say "WARNING: moto forgets a FIFO deduplication id once its message is deleted; see requirements-moto.txt"
  VENV="$VENV-moto"
  ensure_venv "$(command -v python3)" "$HERE/requirements-moto.txt"
  say "starting moto_server on $ENDPOINT, log $LOG"
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" </dev/null >"$LOG" 2>&1 &
  want=moto
fi
launcher=$!

for _ in $(seq 1 50); do [[ -s "$PIDFILE" ]] && break; sleep 0.1; done
pid="$(cat "$PIDFILE" 2>/dev/null || echo "$launcher")"
if ! wait_ready "$pid" "$want"; then
  say "start failed; stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  fail_with_log
fi
if [[ "$want" == ready && "${LOCALSTACK_INIT_HOOKS:-0}" == 1 ]]; then
  say "running init/ready.d hooks"
  hooks="$("$VENV/bin/python" - "$ENDPOINT" "$TIMEOUT" <<'PY'
import json, sys, time, urllib.request
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    j = json.load(urllib.request.urlopen(sys.argv[1] + "/_localstack/init/ready", timeout=3))
    if j.get("completed"):
        break
    time.sleep(0.5)
bad = [s["name"] + ": " + s["state"] for s in j.get("scripts", []) if s["state"] != "SUCCESSFUL"]
print("; ".join(bad) if bad or j.get("completed") else "not completed in time")
PY
)"
  [[ -z "$hooks" ]] || { say "init hooks failed: $hooks"; fail_with_log; }
fi
say "ready on $ENDPOINT after $((SECONDS - t0))s (pid $pid, log $LOG)"
print_env
