"""Browser fixtures: Debian's Chromium driven by Playwright against a real app server in this process.

The ``browser`` fixture (one Chromium for the whole run) is in the root conftest.
Screenshots of every page go to ``test-artifacts/`` (gitignored).
"""

import pytest

WAIT = 20_000  # ms; generous because the machine is shared


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
