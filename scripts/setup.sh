#!/usr/bin/env bash
# Shared set-up of ./run.sh and ./test.sh: installs the Debian packages spindle
# builds and runs with (apt-get, when root; otherwise prints the one command a
# person must run), then configures and builds with meson.
# Usage: source scripts/setup.sh; sp_setup [extra packages...]

SP_PACKAGES=(build-essential meson ninja-build pkg-config libuv1-dev libprotobuf-c-dev
             protobuf-c-compiler libcurl4-openssl-dev libcjson-dev libyaml-dev zlib1g-dev
             libssl-dev libhttp-parser-dev universal-ctags socat)

sp_missing_packages() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    echo "${missing[@]}"
}

sp_setup() {
    local want=("${SP_PACKAGES[@]}")
    local extra
    for extra in "$@"; do
        # Node may come from elsewhere than Debian (with its own npm, which
        # Debian's npm package conflicts with): a working command is enough.
        case $extra in
            nodejs|npm) command -v "${extra/nodejs/node}" >/dev/null 2>&1 && continue ;;
        esac
        want+=("$extra")
    done
    local missing
    missing=$(sp_missing_packages "${want[@]}")
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "spindle: installing $missing" >&2
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >&2 || return 1
            # shellcheck disable=SC2086
            apt-get install -y -qq --no-install-recommends $missing >&2 || return 1
        else
            echo "spindle: missing packages; run this once, then try again:" >&2
            echo "  sudo apt-get install -y $missing" >&2
            return 1
        fi
    fi
    local top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [ ! -f "$top/build/build.ninja" ]; then
        meson setup "$top/build" "$top" --buildtype=debugoptimized >&2 || return 1
    fi
    ninja -C "$top/build" >&2 || return 1
}
