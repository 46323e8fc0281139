#!/usr/bin/env bash
# Run the test suite. The tests start what they need themselves (redis-server, moto_server, SMTP, fakes).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
