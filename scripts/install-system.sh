#!/usr/bin/env bash
# Install the Debian packages `make test` needs on a bare machine: python3-venv (Debian's python3 cannot create a
# virtualenv without it), redis-server (with redis-cli) and chromium, which the tests start, and openssl, which
# the deployment scripts and their tests call. Idempotent; quiet when everything is present.
set -euo pipefail
need=()
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
