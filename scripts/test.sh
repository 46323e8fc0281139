#!/usr/bin/env bash
# Run the test suite. The tests start what they need themselves (redis-server, moto_server, SMTP, fake vendors).
# Browser tests run in their own pytest process: Playwright keeps an asyncio loop in the main thread, which
# would clash with the asyncio-based SMTP server of the notification tests in a shared, gevent-patched process.
# Both processes always run; the script fails when either failed, and says which.
set -uo pipefail
cd "$(dirname "$0")/.."
# The venv's tools (moto_server, gunicorn) must be found by name, whatever Python the machine has globally.
export PATH="$PWD/.venv/bin:$PATH"
BROWSER_DIRS=(tests/browser tests/admin_browser)
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
ignore=()
for dir in "${BROWSER_DIRS[@]}"; do ignore+=(--ignore="$dir"); done
.venv/bin/python -m pytest -q "${ignore[@]}" tests
main=$?
.venv/bin/python -m pytest -q "${BROWSER_DIRS[@]}"
browser=$?
if [ "$main" -ne 0 ] || [ "$browser" -ne 0 ]; then
  echo "test.sh: FAILED (tests: exit $main, browser tests: exit $browser)" >&2
  exit 1
fi
