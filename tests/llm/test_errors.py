"""How vendor failures become ProviderErrors: Retry-After forms, retryable statuses, truncated bodies without keys."""

import email.utils
import time

import pytest

from chatbox.integrations.llm_retry import parse_retry_after, status_error


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "x", "retry-after": "9"}, 9.0),
    ],
)
def test_retry_after_forms(headers, seconds):
    assert parse_retry_after(headers) == seconds


def test_retry_after_as_an_http_date():
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": later}) <= 30


@pytest.mark.parametrize(
    "status, retryable",
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (529, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
    ],
)
def test_which_statuses_are_retried(status, retryable):
    assert status_error("OpenAI", status, "{}", {}, []).retryable is retryable


def test_error_detail_is_truncated_and_never_holds_the_key():
    key = "sk-proj-9f8e7d6c5b4a39281706"
    body = f'{{"error": {{"message": "Incorrect API key provided: {key[:14]}***{key[-4:]} and {key}"}}}}' + "x" * 900
    error = status_error("OpenAI", 401, body, {"retry-after": "3"}, [key])
    detail = str(error)
    assert detail.startswith('OpenAI API error (status 401): {"error": {"message": "Incorrect API key provided: ')
    assert key not in detail and key[:12] not in detail
    assert len(detail) < 400
    assert error.retry_after == 3.0 and error.retryable is False
