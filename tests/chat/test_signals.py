"""Signals between pods are small typed facts (chatbox/events.py) carried by the bus under their old channel names."""

import dataclasses
import logging

import pytest

from chatbox import events
from chatbox.chat.hub import Hub
from chatbox.events import (
    BarrierPassed,
    ReplyCancelRequested,
    SessionChanged,
    SessionStarted,
    UserNoticed,
)
from chatbox.integrations.bus import MemoryBus

SIGNALS = [
    SessionChanged("s1", created=True),
    SessionStarted("s1", "alice"),
    ReplyCancelRequested("s1", "takeover"),
    UserNoticed("alice", "Connection limit reached."),
    BarrierPassed("t0k3n"),
]


def listening(hub: Hub, kind: type) -> list:
    heard: list = []
    hub.on_event(kind, heard.append)
    return heard


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.kind)
def test_a_signal_reaches_every_pod_as_the_same_object(signal):
    bus = MemoryBus()
    here, there = Hub(bus), Hub(bus)  # two pods on one bus
    heard_here, heard_there = listening(here, type(signal)), listening(there, type(signal))
    here.signal(signal)
    assert heard_here == heard_there == [signal]


@pytest.mark.parametrize(
    "channel, sent, expected",
    [
        ("c:session_changed", {"sid": "s1"}, SessionChanged("s1")),
        ("c:session_changed", {"sid": "s1", "help": True}, SessionChanged("s1", help=True)),
        ("c:cancel_reply", {"sid": "s1", "reason": "ended"}, ReplyCancelRequested("s1", "ended")),
        ("c:session_started", {"sid": "s1", "user_id": "bob", "later": 1}, SessionStarted("s1", "bob")),
        ("c:user_notice", {"user_id": "bob", "content": "hi"}, UserNoticed("bob", "hi")),
        ("c:barrier", {"token": "x"}, BarrierPassed("x")),
    ],
)
def test_the_previous_releases_wire_form_is_understood(channel, sent, expected):
    """During a rolling update old pods send the keyword dicts they always sent (fields they lack default; extra
    fields from a newer pod are dropped)."""
    bus = MemoryBus()
    hub = Hub(bus)
    heard = listening(hub, type(expected))
    bus.publish(channel, sent)
    assert heard == [expected]


@pytest.mark.parametrize(
    "channel, sent", [("c:no_such_kind", {"sid": "s1"}), ("c:session_started", {"sid": "s1"})], ids=["kind", "field"]
)
def test_an_unknown_or_incomplete_signal_is_logged_and_the_next_one_still_arrives(channel, sent, caplog):
    bus = MemoryBus()
    hub = Hub(bus)
    heard = listening(hub, SessionChanged)
    with caplog.at_level(logging.WARNING, logger="chatbox.hub"):
        bus.publish(channel, sent)
    hub.signal(SessionChanged("s2"))
    assert heard == [SessionChanged("s2")]
    assert "ignoring an unknown or malformed signal" in caplog.text


def test_signals_carry_plain_values_only():
    """They travel as JSON through Redis."""
    for signal in SIGNALS:
        wire = events.to_wire(signal)
        assert all(isinstance(value, (str, bool, int)) for value in wire.values())
        assert events.from_wire(signal.kind, wire) == signal
        assert {f.name for f in dataclasses.fields(signal)} == set(wire)
