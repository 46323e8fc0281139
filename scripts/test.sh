#!/usr/bin/env bash
# Run the test suite. The tests start what they need themselves (redis-server, moto_server, SMTP, fake vendors).
# Browser tests run in their own pytest process: Playwright keeps an asyncio loop in the main thread, which
# would clash with the asyncio-based SMTP server of the notification tests in a shared, gevent-patched process.
set -euo pipefail
cd "$(dirname "$0")/.."
BROWSER_DIRS=(tests/browser tests/admin_browser)
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
ignore=()
for dir in "${BROWSER_DIRS[@]}"; do ignore+=(--ignore="$dir"); done
.venv/bin/python -m pytest -q "${ignore[@]}" tests
.venv/bin/python -m pytest -q "${BROWSER_DIRS[@]}"
