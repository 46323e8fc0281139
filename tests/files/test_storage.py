"""Storage end to end: local disk (bytes served with safe headers) and the real S3 API of moto_server (upload,
presigned download that returns the bytes, delete)."""

import hashlib
import socket
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import admin_token, token

from chatbox.files.models import FileRecord

from .conftest import S3_KEYS
from .helpers import PNG, WEBM, multipart, upload


def get(server, file_id, user="alice", **params):
    return requests.get(
        f"{server.url}/files/{file_id}",
        headers={"Authorization": f"Bearer {token(user)}"},
        params=params,
        allow_redirects=False,
        timeout=30,
    )


def test_local_upload_is_recorded_and_served_with_safe_headers(local_server):
    response = upload(local_server, PNG, "holiday photo.png", mime="image/png")
    assert response.status_code == 200
    answer = response.json()
    record = FileRecord.objects.get(id=answer["file_id"])
    assert (record.owner, record.name, record.size, record.mime, record.store) == (
        "alice",
        "holiday photo.png",
        len(PNG),
        "image/png",
        "local",
    )
    assert record.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (local_server.upload_dir / record.key).read_bytes() == PNG

    served = get(local_server, answer["file_id"])
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == 'inline; filename="holiday photo.png"'
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    assert "sandbox" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "name,data,content_type,disposition",
    [
        ("report.pdf", b"%PDF-1.7\n" + b"\x00" * 50, "application/pdf", "attachment"),
        ("notes.txt", b"just words\n", "text/plain; charset=utf-8", "attachment"),
        ("data.json", b'{"a": 1}', "application/json", "attachment"),
        ("voice.webm", WEBM, "audio/webm", "inline"),
    ],
)
def test_local_content_type_and_disposition(local_server, name, data, content_type, disposition):
    file_id = upload(local_server, data, name, mime=content_type).json()["file_id"]
    served = get(local_server, file_id)
    assert (served.status_code, served.content) == (200, data)
    assert served.headers["Content-Type"] == content_type
    assert served.headers["Content-Disposition"].split(";")[0] == disposition


def test_local_range_request_for_media_seeking(local_server):
    # As an <audio> element seeks: on the signed link the page got, with no header but Range.
    file_id = upload(local_server, WEBM, "voice.webm", mime="audio/webm").json()["file_id"]
    link = requests.get(
        f"{local_server.url}/files/{file_id}/link", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=30
    ).json()["url"]
    origin = local_server.url.removesuffix("/chat")
    response = requests.get(origin + link, headers={"Range": "bytes=0-9"}, timeout=30)
    assert (response.status_code, response.content) == (206, WEBM[:10])


def test_local_delete(local_server):
    file_id = upload(local_server, PNG).json()["file_id"]
    record = FileRecord.objects.get(id=file_id)
    path = local_server.upload_dir / record.key
    url = f"{local_server.url}/files/{file_id}"
    assert requests.delete(url, timeout=30).status_code == 401
    stranger = requests.delete(url, headers={"Authorization": f"Bearer {token('mallory')}"}, timeout=30)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "NOT_FOUND")
    assert path.exists()
    done = requests.delete(url, headers={"Authorization": f"Bearer {token('alice')}"}, timeout=30)
    assert done.status_code == 204
    assert not path.exists() and FileRecord.objects(id=file_id).count() == 0
    assert get(local_server, file_id).status_code == 404


def test_admin_may_delete_any_file(local_server):
    file_id = upload(local_server, PNG).json()["file_id"]
    response = requests.delete(
        f"{local_server.url}/files/{file_id}", headers={"Authorization": f"Bearer {admin_token()}"}, timeout=30
    )
    assert response.status_code == 204
    assert FileRecord.objects(id=file_id).count() == 0


def test_s3_upload_presigned_download_and_delete(s3_server):
    answer = upload(s3_server, PNG, "holiday photo.png", mime="image/png").json()
    record = FileRecord.objects.get(id=answer["file_id"])
    assert record.store == "s3"
    head = s3_server.s3.head_object(Bucket=s3_server.bucket, Key=record.key)
    assert (head["ContentLength"], head["ContentType"], head.get("ServerSideEncryption")) == (
        len(PNG),
        "image/png",
        "AES256",
    )

    redirect = get(s3_server, answer["file_id"])
    assert redirect.status_code == 302
    assert redirect.headers["Cache-Control"] == "no-store"
    location = redirect.headers["Location"]
    query = parse_qs(urlparse(location).query)
    assert location.startswith(s3_server.services.settings.s3_endpoint + f"/{s3_server.bucket}/{record.key}")
    assert query["X-Amz-Expires"] == ["300"]  # moto does not enforce expiry, so the link's own claim is checked
    fetched = requests.get(location, timeout=30)
    assert (fetched.status_code, fetched.content) == (200, PNG)
    assert fetched.headers["Content-Type"] == "image/png"
    # S3 applies these response overrides; moto ignores them, so the signed link's parameters are checked.
    assert query["response-content-type"] == ["image/png"]
    assert query["response-content-disposition"] == ["inline; filename*=UTF-8''holiday%20photo.png"]

    deleted = requests.delete(
        f"{s3_server.url}/files/{answer['file_id']}", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=30
    )
    assert deleted.status_code == 204
    with pytest.raises(ClientError):
        s3_server.s3.head_object(Bucket=s3_server.bucket, Key=record.key)
    assert get(s3_server, answer["file_id"]).status_code == 404


def test_s3_non_media_downloads_as_attachment(s3_server):
    file_id = upload(s3_server, b"%PDF-1.7\n", "report.pdf").json()["file_id"]
    location = get(s3_server, file_id).headers["Location"]
    assert requests.get(location, timeout=30).content == b"%PDF-1.7\n"
    assert parse_qs(urlparse(location).query)["response-content-disposition"] == [
        "attachment; filename*=UTF-8''report.pdf"
    ]


def test_s3_other_user_gets_404_not_a_link(s3_server):
    file_id = upload(s3_server, PNG).json()["file_id"]
    response = get(s3_server, file_id, user="mallory")
    assert (response.status_code, response.json()) == (404, {"error": "File not found", "code": "NOT_FOUND"})
    assert "Location" not in response.headers


def test_s3_unavailable_is_a_clear_503_and_nothing_is_kept(make_server, moto_endpoint):
    server = make_server(s3_bucket="no-such-bucket", s3_endpoint=moto_endpoint, **S3_KEYS)
    spool = set(Path(tempfile.gettempdir()).glob("upload-*"))
    response = upload(server, PNG)
    assert (response.status_code, response.json()) == (
        503,
        {"error": "File storage is unavailable right now; please try again later", "code": "STORAGE_UNAVAILABLE"},
    )
    assert FileRecord.objects.count() == 0
    assert set(Path(tempfile.gettempdir()).glob("upload-*")) <= spool  # the temp copy is gone


def test_interrupted_upload_is_a_400_not_a_crash(local_server):
    body, content_type = multipart([("file", "a.png", PNG * 50, "image/png")])
    host, port = "127.0.0.1", local_server.port
    with socket.create_connection((host, port), timeout=30) as conn:
        head = (
            f"POST /chat/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token('alice')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        conn.sendall(head.encode() + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)  # the client gives up half way
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.upper() == b"HTTP/1.1 400 BAD REQUEST"
    assert rest.split(b"\r\n\r\n", 1)[1] == (
        b'{"code":"INTERRUPTED","error":"The upload was interrupted before it finished"}\n'
    )
    assert FileRecord.objects.count() == 0
    assert [p for p in local_server.upload_dir.rglob("*") if p.is_file()] == []


def test_files_indexes_are_created(local_server):
    import gevent

    from chatbox.files.models import FileRecord

    wanted = {"idx_files_owner", "idx_files_session"}
    for _ in range(200):  # created by a background greenlet at startup: wait for it, up to 10 s
        if wanted <= set(FileRecord._get_collection().index_information()):
            break
        gevent.sleep(0.05)
    assert wanted <= set(FileRecord._get_collection().index_information())
