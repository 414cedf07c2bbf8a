#!/usr/bin/env bash
# Install what arom needs from Debian (only what is missing), then generate,
# configure and build in BUILD_DIR (default: build/). Extra arguments go to
# configure, e.g. --enable-sanitizers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

deps=(gcc make autoconf automake libtool pkg-config libjson-c-dev libcunit1-dev libmicrohttpd-dev libxml2-dev libxml2-utils libvirt-dev libsqlite3-dev sqlite3 redis-server redis-tools memcached curl python3-prometheus-client python3-yaml python3-jsonschema jq gnuplot-nox clang libclang-rt-dev)
missing=()
for d in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ "$*" != "$(cat .configure-args 2>/dev/null)" ]; then
    "$top/configure" -q "$@"
    echo "$*" >.configure-args
fi
make -s -j"$(nproc)"
