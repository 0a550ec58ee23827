#!/bin/sh
# extensions/spindle in the layer: Lambda starts it from /opt/extensions with
# no arguments. It runs the bundled binary through the bundled loader, so the
# glibc and libraries are the layer's own, whatever the function's image has
# (Amazon Linux 2023 has glibc 2.34; the binary is built against 2.36).
# Parameter expansion, not dirname: no extra process on the start-up path.
# SPINDLE_CONFIG (a function environment variable) names another YAML file;
# arguments are passed on (flags win over the file).
case "$0" in
*/*) d="${0%/*}/../spindle" ;;
*) d="../spindle" ;;
esac
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/bin/spindle" \
    --config "${SPINDLE_CONFIG:-$d/spindle.yaml}" "$@"
