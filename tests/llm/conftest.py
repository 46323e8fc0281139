"""Fixtures for the provider tests: fake vendor servers and apps configured to use them."""

import pytest

from chatbox.settings import ProviderConfig

from .fakes import FakeVendor

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "dify": ""}
VENDORS = ("openai", "anthropic", "dify")


@pytest.fixture
def fake():
    """Factory: ``fake("openai")`` starts a fake vendor server; all are closed after the test."""
    made = []

    def factory(vendor: str, **knobs) -> FakeVendor:
        server = FakeVendor(vendor)
        for name, value in knobs.items():
            setattr(server, name, value)
        made.append(server)
        return server

    yield factory
    for server in made:
        server.close()


def provider(fake_server: FakeVendor, id: str = "", **fields) -> ProviderConfig:
    """A provider config pointing at a fake, with its API key."""
    vendor = fake_server.vendor
    values = {
        "id": id or f"{vendor}-main",
        "name": f"{vendor.title()} (fake)",
        "type": vendor,
        "endpoint": fake_server.endpoint,
        "api_key": fake_server.api_key,
        "model": MODELS[vendor],
    }
    values.update(fields)
    return ProviderConfig(**values)


@pytest.fixture
def llm_server(make_server):
    """Factory: ``llm_server(config, …, **settings)`` starts an app with those providers; backoff sleeps are
    recorded in ``server.sleeps`` instead of waited."""

    def factory(*configs: ProviderConfig, **overrides):
        server = make_server(providers=list(configs), **overrides)
        server.sleeps = []
        server.services.llm_streams.sleep = server.sleeps.append
        return server

    return factory
