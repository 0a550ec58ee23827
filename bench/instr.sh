#!/usr/bin/env bash
# bench/instr.sh [RECORDS] - instructions the agent executes per record, per
# record mix, counted by valgrind's callgrind (repeatable whatever else the
# machine does; perf counters are not available on every VM). Per record =
# (Ir of a run with N records - Ir of an idle run) / N; the export of every
# batch (encoding, file write) is inside the count.
# JOURNAL=always|batch|never turns the journal on (storage.path in the temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
if [ ! -f build-release/build.ninja ]; then
    meson setup build-release --buildtype=release >/dev/null
fi
ninja -C build-release >/dev/null
cc -O2 -pthread -o build-release/loadgen bench/loadgen.c
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
run() { # mix records -> total Ir
    rm -rf "$d/data" "$d/cg.out"
    rm -rf "$d/journal"
    printf 'socket: {path: %s/s.sock}\nfile: {directory: %s/data, max_file_bytes: 256MiB, max_files: 1}\nservice: {state_dir: %s/state}\nlog: {level: error}\nexport: {batch_delay: 50ms}\n' "$d" "$d" "$d" >"$d/c.yaml"
    if [ -n "${JOURNAL:-}" ]; then
        printf 'storage: {path: %s/journal, fsync: %s, max_bytes: 1GiB}\n' "$d" "$JOURNAL" >>"$d/c.yaml"
    fi
    if [ -n "${NO_ALERTS:-}" ]; then # every default rule off: the alert engine's cost is the difference
        printf 'alerts:\n  rules:\n' >>"$d/c.yaml"
        for r in DeadLetter WorkflowRetries FunctionThrottled ColdStartRatioHigh InitDurationHigh \
                 DeadLetterQueueGrowing ExportFailing JournalNearlyFull; do
            printf '    - {name: %s, enabled: false}\n' "$r" >>"$d/c.yaml"
        done
    fi
    valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" ./build-release/spindle --config "$d/c.yaml" 2>/dev/null &
    local pid=$!
    until [ -S "$d/s.sock" ]; do sleep 0.01; done
    if [ "$2" -gt 0 ]; then ./build-release/loadgen "$d/s.sock" "$pid" "$2" 1 "$1" >/dev/null; fi
    sleep 0.3
    kill -TERM "$pid"; wait "$pid" || true
    grep -E '^summary:' "$d/cg.out" | awk '{print $2}'
}
base=$(run logs 0)
for mix in ${MIXES:-logs spans metrics}; do
    t=$(run "$mix" "$n")
    echo "mix=$mix records=$n instructions_per_record=$(( (t - base) / n ))"
done
