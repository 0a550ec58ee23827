#!/usr/bin/env bash
# Starts the service of a systemd unit file the way systemd would, on a
# machine where systemd is not PID 1 (a container, CI): in a mount namespace
# of its own where the OS is read-only (ProtectSystem=strict), /run, /tmp and
# /var/lib are fresh (RuntimeDirectory=, PrivateTmp=, StateDirectory= created
# with the unit's modes and owner), as User=/Group= with the unit's UMask=,
# no new privileges and an empty capability bounding set, after
# ExecStartPre=, with the variables of EnvironmentFile=. The service replaces this script (same pid); the caller
# reaches its files as /proc/PID/root/... or with nsenter -t PID -m.
# It covers the directives spindle.service uses, not all of systemd.
# Usage (as root): as-unit.sh UNIT_FILE
set -euo pipefail
unit=$1

get() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
user=$(get User)
group=$(get Group)
umask_=$(get UMask)
runtime=$(get RuntimeDirectory)
runtime_mode=$(get RuntimeDirectoryMode)
state=$(get StateDirectory)
state_mode=$(get StateDirectoryMode)
workdir=$(get WorkingDirectory)
pre=$(get ExecStartPre)
start=$(get ExecStart)
[ "$(get ProtectSystem)" = strict ] || { echo "as-unit.sh: expects ProtectSystem=strict" >&2; exit 2; }
[ -n "$user" ] && [ -n "$start" ] || { echo "as-unit.sh: no User= or ExecStart=" >&2; exit 2; }
id "$user" >/dev/null
envfile=$(get EnvironmentFile)
if [ -n "$envfile" ] && { [ "${envfile#-}" = "$envfile" ] || [ -f "${envfile#-}" ]; }; then
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in ''|'#'*|';'*) continue ;; esac
        name=${line%%=*} value=${line#*=}
        value=${value#\"} value=${value%\"}
        export "$name=$value"
    done <"${envfile#-}"
fi

# What the service is run through: the unit's user and group (with its
# supplementary groups), no new privileges, no capabilities at all.
drop=(setpriv --reuid="$user" --regid="${group:-$user}" --init-groups --no-new-privs
      --bounding-set=-all --inh-caps=-all)

# shellcheck disable=SC2016
exec unshare -m --propagation private -- bash -euc '
    mount --rbind / /
    mount -o remount,bind,ro /
    mount -t tmpfs -o mode=0755 tmpfs /run
    mount -t tmpfs -o mode=0755 tmpfs /var/lib
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    user=$1 group=$2 umask_=$3 runtime=$4 runtime_mode=$5 state=$6 state_mode=$7 workdir=$8
    pre=$9 start=${10}
    shift 10
    [ -z "$runtime" ] || install -d -o "$user" -g "$group" -m "${runtime_mode:-0755}" "/run/$runtime"
    [ -z "$state" ] || install -d -o "$user" -g "$group" -m "${state_mode:-0755}" "/var/lib/$state"
    cd "${workdir:-/}"
    umask "${umask_:-0022}"
    export PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
    # shellcheck disable=SC2086 - the unit splits its command lines on spaces
    [ -z "$pre" ] || "$@" $pre
    # shellcheck disable=SC2086
    exec "$@" $start
' as-unit "$user" "${group:-$user}" "$umask_" "$runtime" "$runtime_mode" "$state" "$state_mode" \
    "$workdir" "$pre" "$start" "${drop[@]}"
