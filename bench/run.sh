#!/usr/bin/env bash
# bench/run.sh [RECORDS] - starts the real spindle (release build) with the file
# exporter into a temporary directory, runs bench/loadgen for each record mix,
# and prints records/s and agent CPU per record. Also reports idle RSS and the
# time from exec to a connectable socket. Numbers go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
if [ ! -f build-release/build.ninja ]; then
    meson setup build-release --buildtype=release >/dev/null
fi
ninja -C build-release >/dev/null
cc -O2 -pthread -o build-release/loadgen bench/loadgen.c
cc -O2 -o build-release/startup bench/startup.c
d=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$d"' EXIT
cat >"$d/c.yaml" <<YAML
socket: {path: $d/s.sock}
file: {directory: $d/data, max_file_bytes: 256MiB, max_files: 1}
service: {state_dir: $d/state}
log: {level: warn}
YAML
./build-release/startup "$d/s.sock" 30 ./build-release/spindle --config "$d/c.yaml"
./build-release/spindle --config "$d/c.yaml" &
pid=$!
until [ -S "$d/s.sock" ]; do sleep 0.001; done
sleep 0.5
echo "idle_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status) of which own (RssAnon)=$(awk '/RssAnon/ {print $2}' /proc/$pid/status)"
for mix in logs spans metrics mixed; do
    ./build-release/loadgen "$d/s.sock" "$pid" "$n" 1 "$mix"
done
echo "peak_rss_kib=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)"

# The production path: OTLP/HTTP protobuf with gzip to a loopback sink.
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
python3 bench/sink.py >"$d/port" &
sinkpid=$!
trap 'kill $pid $sinkpid 2>/dev/null || true; rm -rf "$d"' EXIT
until [ -s "$d/port" ]; do sleep 0.01; done
printf 'socket: {path: %s/h.sock}\nservice: {state_dir: %s/state}\nlog: {level: warn}\n' "$d" "$d" >"$d/h.yaml"
./build-release/spindle --config "$d/h.yaml" --otlp-endpoint "http://127.0.0.1:$(cat "$d/port")" &
pid=$!
until [ -S "$d/h.sock" ]; do sleep 0.001; done
sleep 0.3
for mix in logs spans metrics mixed; do
    echo "otlp_http_gzip $(./build-release/loadgen "$d/h.sock" "$pid" "$n" 1 "$mix")"
done
