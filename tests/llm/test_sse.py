"""The SSE splitter the vendor adapters read bodies with: events split across reads anywhere, every line end, comments,
multi-line data, and the size limit."""

import pytest

from chatbox.integrations.sse import Event, SSEDecoder, SSEError, iter_events

OPENAI = (
    b'data: {"choices":[{"delta":{"content":"H\xc3\xa9"}}]}\n\n'
    b": keep-alive comment\n\n"
    b'data: {"choices":[],"usage":{"total_tokens":3}}\n\n'
    b"data: [DONE]\n\n"
)
OPENAI_EVENTS = [
    Event("", b'{"choices":[{"delta":{"content":"H\xc3\xa9"}}]}'),
    Event("", b'{"choices":[],"usage":{"total_tokens":3}}'),
    Event("", b"[DONE]"),
]
ANTHROPIC = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"delta":{"text":"a\\nb"}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
ANTHROPIC_EVENTS = [
    Event("message_start", b'{"type":"message_start"}'),
    Event("ping", b'{"type": "ping"}'),
    Event("content_block_delta", b'{"delta":{"text":"a\\nb"}}'),
    Event("message_stop", b'{"type":"message_stop"}'),
]


def decode(*reads: bytes) -> list[Event]:
    return list(iter_events(reads))


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("body, events", [(OPENAI, OPENAI_EVENTS), (ANTHROPIC, ANTHROPIC_EVENTS)])
def test_a_body_split_in_two_at_every_byte_gives_the_same_events(body, events, line_end):
    body = body.replace(b"\n", line_end)
    assert decode(body) == events
    for cut in range(len(body) + 1):
        assert decode(body[:cut], body[cut:]) == events, f"split at byte {cut}"


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
def test_a_body_read_one_byte_at_a_time(line_end):
    body = ANTHROPIC.replace(b"\n", line_end)
    assert decode(*(body[i : i + 1] for i in range(len(body)))) == ANTHROPIC_EVENTS


def test_events_come_out_as_soon_as_their_blank_line_arrives():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\n") == []
    assert decoder.feed(b"\ndata: tw") == [Event("", b"one")]
    assert decoder.feed(b"o\n\n") == [Event("", b"two")]


def test_a_crlf_split_between_reads_is_one_line_end_not_two():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [Event("", b"a\nb")]


def test_a_final_cr_is_a_line_end_when_the_body_ends():
    assert decode(b"data: a\r\r") == [Event("", b"a")]


@pytest.mark.parametrize(
    "body, events",
    [
        (b"data: first\ndata: second\n\n", [Event("", b"first\nsecond")]),  # multi-line data
        (b"data:no-space\n\n", [Event("", b"no-space")]),
        (b"data:  two spaces\n\n", [Event("", b" two spaces")]),  # only one space is dropped
        (b"data\n\n", [Event("", b"")]),  # a field without a colon has an empty value
        (b": comment\ndata: x\n: another\n\n", [Event("", b"x")]),
        (b"event: ping\n\n", []),  # no data: not dispatched
        (b": only a comment\n\n", []),
        (b"id: 7\nretry: 10\nfoo: bar\ndata: x\n\n", [Event("", b"x")]),  # other fields are ignored
        (b"\n\n\ndata: a\n\n\n\ndata: b\n\n", [Event("", b"a"), Event("", b"b")]),  # extra blank lines
        (b"event: e\ndata: a\n\ndata: b\n\n", [Event("e", b"a"), Event("", b"b")]),  # names do not carry over
        (b"data: complete\n\ndata: unfinished", [Event("", b"complete")]),  # cut mid-event: dropped
    ],
)
def test_event_stream_rules(body, events):
    assert decode(body) == events


def test_an_event_longer_than_the_limit_is_refused():
    decoder = SSEDecoder(limit=100)
    assert decoder.feed(b"data: " + b"x" * 90) == []
    with pytest.raises(SSEError, match="longer than 100 bytes"):
        decoder.feed(b"x" * 20)


def test_a_long_event_within_the_limit_is_fine_and_the_limit_counts_only_what_waits():
    decoder = SSEDecoder(limit=100)
    assert decoder.feed(b"data: " + b"x" * 300 + b"\n\n") == [Event("", b"x" * 300)]
    assert decoder.feed(b"data: " + b"y" * 80) == []
