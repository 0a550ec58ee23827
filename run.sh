#!/usr/bin/env bash
# ./run.sh [spindle flags...]
# Installs what is missing, builds, and runs spindle in the foreground on its
# embedded default configuration: no backend needed, OTLP/JSON files under
# ./spindle-data/ (rotated, capped). Pass --otlp-endpoint URL to send OTLP/HTTP.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
sp_setup
bin=./build/spindle
# Where the socket will be: the agent resolves the same default.
sock=""
prev=""
for a in "$@"; do
    [ "$prev" = "--socket" ] && sock=$a
    case $a in --socket=*) sock=${a#--socket=} ;; esac
    prev=$a
done
if [ -z "$sock" ]; then
    if [ "$(id -u)" = 0 ]; then sock=/run/spindle/spindle.sock
    elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then sock=$XDG_RUNTIME_DIR/spindle.sock
    else sock=/tmp/spindle-$(id -u)/spindle.sock; fi
fi
# The hint is printed once this agent answers on the socket, not before: a
# second ./run.sh whose socket another agent holds exits 1 and prints none.
# A socket file that was there before (a stale one, or another agent's) is
# told from ours by its inode and change time: the agent creates a new file.
before=$(stat -c '%i %z' "$sock" 2>/dev/null || true)
agent=$$ # exec keeps the pid
(
    for _ in $(seq 1200); do # 60 s at most
        kill -0 "$agent" 2>/dev/null || exit 0
        now=$(stat -c '%i %z' "$sock" 2>/dev/null || true)
        if [ -n "$now" ] && [ "$now" != "$before" ] &&
            "$bin" --stats --socket "$sock" >/dev/null 2>&1; then
            cat >&2 <<MSG
spindle: listening on $sock (Ctrl-C to stop)
spindle: send a first record from another terminal with:
  echo '{"type":"log","correlation_id":"order-1","body":"hello"}' | socat - UNIX-CONNECT:$sock
spindle: then look in ./spindle-data/logs.jsonl (written within a second)
MSG
            exit 0
        fi
        sleep 0.05
    done
) </dev/null &
exec "$bin" "$@"
