#!/usr/bin/env bash
# Builds the Debian package from a checkout: debian/ is made as a copy of
# packaging/debian/ (the one source), then dpkg-buildpackage -b -us -uc builds
# ../spindle_VERSION_ARCH.deb. Needs dpkg-dev, debhelper and the build
# dependencies in packaging/debian/control (scripts/setup.sh installs them).
# Usage: packaging/build-deb.sh [extra dpkg-buildpackage arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf debian
cp -r packaging/debian debian
exec dpkg-buildpackage -b -us -uc "$@"
