#!/usr/bin/env bash
# Make a real Prometheus server and promtool available, from Debian's `prometheus` package.
#
# Idempotent and quick when both binaries are already on PATH. Installs without starting
# the packaged service (tests and the compose stack run their own Prometheus). Prints
# the two paths on the last line: `prometheus=<path> promtool=<path>`.
set -euo pipefail

report() {
    echo "prometheus=$(command -v prometheus) promtool=$(command -v promtool)"
}

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    report
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "prometheus.sh: need root (or sudo) to apt-get install prometheus" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "prometheus.sh: apt-get not found; install Prometheus >= 2.42 by other means" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the package's postinst from starting a system-wide server on :9090.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    ADDED_POLICY=1
fi
cleanup() {
    if [ -n "$ADDED_POLICY" ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT

# Refresh the package lists only when they do not know the package yet.
if ! apt-cache show prometheus >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
    # Stale lists (a mirror moved on): refresh once and retry.
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

command -v prometheus >/dev/null && command -v promtool >/dev/null
report
