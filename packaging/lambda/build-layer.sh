#!/usr/bin/env bash
# Builds the AWS Lambda layer zip (x86_64) from a built spindle binary:
#   extensions/spindle        the launcher (Lambda starts every file in
#                             /opt/extensions; the file name, spindle, is the
#                             extension's name, which spindle registers with)
#   spindle/bin/spindle       the binary, stripped
#   spindle/lib/              every shared library it and libcurl (dlopen'ed
#                             for OTLP/HTTP) need, glibc and the loader included;
#                             libcrypto.so.3 (dlopen'ed too) comes with libcurl's
#   spindle/spindle.yaml      the default configuration for Lambda
# The launcher (launcher.c, a static binary) runs the binary through the
# bundled loader with --library-path: nothing is taken from the function's image, so a binary
# built on Debian 12 (glibc 2.36) runs on Amazon Linux 2023 (glibc 2.34).
# Usage: packaging/lambda/build-layer.sh [BINARY [OUT.zip]]
#   defaults: build/spindle, build/spindle-lambda-layer-x86_64.zip
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$top/build/spindle}")
out=$(realpath -m "${2:-$top/build/spindle-lambda-layer-x86_64.zip}")

if [ "$(uname -m)" != x86_64 ] || ! file -L "$bin" | grep -q 'x86-64'; then
    echo "build-layer.sh: an x86_64 binary on an x86_64 host is needed (arm64 is later work)" >&2
    exit 1
fi
curl_lib=$(ldconfig -p | awk '/libcurl\.so\.4 .*x86-64/ { print $NF; exit }')
if [ -z "$curl_lib" ]; then
    echo "build-layer.sh: libcurl.so.4 not found (apt-get install libcurl4)" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/extensions" "$stage/spindle/bin" "$stage/spindle/lib"
# The launcher: static, so nothing runs before the bundled loader (launcher.c).
${CC:-cc} -O2 -static -s -o "$stage/extensions/spindle" "$here/launcher.c"
chmod 0755 "$stage/extensions/spindle"
install -m 0644 "$here/spindle.yaml" "$stage/spindle/spindle.yaml"
strip --strip-unneeded -o "$stage/spindle/bin/spindle" "$bin"
chmod 0755 "$stage/spindle/bin/spindle"

# The libraries, under the names the binaries ask for (ldd's left column),
# copied from what they resolve to; the loader under its own name.
{ ldd "$bin"; ldd "$curl_lib"; echo "libcurl.so.4 => $curl_lib (0)"; } |
    awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $1 ~ /^\// && $1 ~ /ld-linux/ { print "LOADER", $1 }' |
    sort -u | while read -r name path; do
        if [ "$name" = LOADER ]; then
            install -m 0755 "$path" "$stage/spindle/lib/ld-linux-x86-64.so.2"
        else
            install -m 0644 "$path" "$stage/spindle/lib/$name"
        fi
    done
[ -f "$stage/spindle/lib/ld-linux-x86-64.so.2" ] || { echo "build-layer.sh: no loader found" >&2; exit 1; }
# Debug sections of the libraries are not needed at run time.
strip --strip-unneeded "$stage"/spindle/lib/*.so* 2>/dev/null || true

mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$stage" && TZ=UTC find . -exec touch -h -d '2000-01-01 00:00:00' {} + &&
    zip -q -9 -X -r "$out" extensions spindle)
echo "$out: $(stat -c %s "$out") bytes zipped, $(du -sb "$stage" | cut -f1) bytes unzipped"
