#!/usr/bin/env bash
# ./run.sh [spindle flags...]
# ./run.sh --demo [spindle flags...]
# Installs what is missing, builds, and runs spindle in the foreground on its
# embedded default configuration: no backend needed, OTLP/JSON files under
# ./spindle-data/ (rotated, capped). Pass --otlp-endpoint URL to send OTLP/HTTP.
# --demo: the same agent fed by a simulated order workflow set (spindlectl
# demo: several functions, a cold start, throttles, retries, a dead letter,
# repeating), with its files in $SPINDLE_DEMO_DIR (default
# ${TMPDIR:-/tmp}/spindle-demo-$UID); prints the status page's URL.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
sp_setup
bin=./build/spindle
demo=""
if [ "${1:-}" = "--demo" ]; then
    shift
    demo=${SPINDLE_DEMO_DIR:-${TMPDIR:-/tmp}/spindle-demo-$(id -u)}
    mkdir -p "$demo"
    cat >"$demo/spindle.yaml" <<YAML
# ./run.sh --demo: short timers so that the demo shows everything within seconds.
socket: {path: $demo/spindle.sock}
file: {directory: $demo/data}
service: {state_dir: $demo/state}
metrics: {interval: 5s}
correlation: {grace_period: 1s}
export: {batch_delay: 500ms}
alerts:
  # With a Jaeger on this host (./run.sh --demo --otlp-endpoint http://localhost:4318)
  # the page's trace links open the trace.
  trace_url: "http://localhost:16686/trace/{{trace_id}}"
YAML
    set -- --config "$demo/spindle.yaml" "$@"
fi
# Where the socket will be: the agent resolves the same default.
sock=""
prev=""
for a in "$@"; do
    [ "$prev" = "--socket" ] && sock=$a
    case $a in --socket=*) sock=${a#--socket=} ;; esac
    prev=$a
done
if [ -z "$sock" ] && [ -n "$demo" ]; then
    sock=$demo/spindle.sock
fi
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
            if [ -n "$demo" ]; then
                admin=$("$bin" --stats "$@" --http-listen off 2>/dev/null |
                    grep -o '"admin":"[^"]*"' | cut -d'"' -f4 || true)
                ./build/spindlectl --socket "$sock" --http-listen off demo \
                    </dev/null >/dev/null 2>"$demo/demo.log" &
                if [ -n "$admin" ] && [ "${admin#unix:}" = "$admin" ]; then
                    page="http://$admin/"
                elif [ -n "$admin" ]; then
                    page="curl --unix-socket ${admin#unix:} http://spindle/"
                else
                    page="(the admin listener is off: no page)"
                fi
                cat >&2 <<MSG
spindle: demo running: a simulated order workflow set every second or so (Ctrl-C to stop)
spindle: status page: $page
spindle: also: ./build/spindlectl --socket $sock${admin:+ --http-listen $admin} workflows | alerts | tail
spindle: metrics: ${page%/}/metrics   OTLP files: $demo/data/
MSG
                exit 0
            fi
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
