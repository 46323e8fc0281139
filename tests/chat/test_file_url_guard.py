"""The SSRF rule for file URLs someone else hosts (issue 12, item 9): decided on the address an IPv6 form wraps,
by ipaddress' own categories, through a real socket."""

import pytest

REFUSED = [
    "https://[::ffff:127.0.0.1]/a.png",  # IPv4-mapped loopback
    "https://[::ffff:169.254.169.254]/latest/meta-data",  # mapped cloud metadata address
    "https://[::]/a.png",  # unspecified
    "https://[fe80::1]/a.png",  # link-local
    "https://[64:ff9b::7f00:1]/a.png",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/a.png",  # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::1]/a.png",  # 6to4 of 127.0.0.1
    "https://100.64.0.1/a.png",  # shared address space (carrier-grade NAT)
    "https://0.0.0.0/a.png",
    "https://192.0.2.1/a.png",  # documentation range
    "https://224.0.0.1/a.png",  # multicast
    "https://127.1/a.png",  # resolves to loopback
    "https://localhost/a.png",
]
ACCEPTED = ["https://1.1.1.1/a.png", "https://[2606:4700:4700::1111]/a.png", "https://[::ffff:1.1.1.1]/a.png"]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_in_any_wrapping_are_refused(connect, url):
    client = connect("alice")
    client.send(type="file_upload", file_id="f1", file_url=url)
    frame = client.recv()
    assert (frame["type"], frame["error"]["code"], frame["error"]["message"]) == (
        "error",
        "INVALID_FORMAT",
        "Invalid file URL",
    )


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_addresses_pass(connect, url):
    client = connect("alice")
    client.send(type="file_upload", file_id="f1", file_url=url, metadata={"client_msg_id": "c1"})
    frames = client.recv_until(lambda f: f["type"] in ("file_upload", "error"))
    assert (frames[-1]["type"], frames[-1].get("file_url")) == ("file_upload", url)
