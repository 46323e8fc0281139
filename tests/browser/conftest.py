"""Browser fixtures: Debian's Chromium driven by Playwright against a real app server in this process.

``CHATBOX_SKIP_BROWSER=1`` (make test-fast) leaves the browser tests out explicitly; ``make test`` runs them.
Screenshots of every page go to ``test-artifacts/`` (gitignored).
"""

import os

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]
WAIT = 20_000  # ms; generous because the machine is shared


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CHATBOX_SKIP_BROWSER") == "1":
        skip = pytest.mark.skip(reason="CHATBOX_SKIP_BROWSER=1 (make test-fast); make test runs them")
        for item in items:
            if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageProblems(list):
    """Console errors and page errors; CSP violations and uncaught exceptions fail the test."""

    def serious(self):
        return [p for p in self if "Content Security Policy" in p or p.startswith("pageerror")]


@pytest.fixture
def open_page(browser):
    """``open_page(width=1000, height=800)`` → a fresh page in its own context; problems checked at teardown."""
    contexts, problems = [], PageProblems()

    def factory(width=1000, height=800):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"pageerror {exc}"))
        return page

    factory.problems = problems
    yield factory
    for context in contexts:
        context.close()
    assert not problems.serious(), problems.serious()
