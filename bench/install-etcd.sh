#!/usr/bin/env bash
# Installs etcd (server + etcdctl) from Debian when `etcd` is not on PATH. Idempotent: a second run does nothing.
# Used by the comparative benchmarks under bench/ (bench/peers/etcd.ts); the benchmarks skip etcd rows when it is absent.
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
  echo "install-etcd: etcd already installed at $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-etcd: not root and no sudo; install the Debian package etcd-server by hand" >&2
    exit 1
  fi
fi

echo "install-etcd: etcd not on PATH; installing Debian package etcd-server"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# The Debian package starts a system etcd on 2379 through its service scripts when an init system runs; the bench
# peers use their own ports, so that does not conflict. policy-rc.d is not touched.
$SUDO apt-get install -y --no-install-recommends etcd-server
echo "install-etcd: installed $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
