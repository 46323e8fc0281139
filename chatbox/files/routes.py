"""HTTP edges of the files feature: translate requests to FileService calls and records to responses."""

from __future__ import annotations

from flask import current_app, g, jsonify, redirect, request, send_file

from chatbox.auth import request_identity, require_user
from chatbox.context import services
from chatbox.errors import ApiError
from chatbox.files import bp, links
from chatbox.files.service import FileService

# Served bytes never run: no scripts, no plugins, no framing; media may still load from us.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
NOT_FOUND = ApiError(404, "NOT_FOUND", "File not found")


def _files() -> FileService:
    return services().files


@bp.post("/upload")
@require_user
def upload():
    files = _files()
    received = files.receive(request.stream, request.content_type or "", request.content_length)
    record = files.keep(g.identity, received)
    return jsonify(
        file_id=record.id, file_url=files.url_for(record.id), name=record.name, size=record.size, mime=record.mime
    )


def _readable(file_id: str, signed: bool = True):
    """The file record when the request may read it: a valid signed link, or (Bearer header, dashboard cookie,
    share token) an identity allowed by the ownership rules. A JWT in the query string is not accepted."""
    files = _files()
    record = files.get(file_id)
    if record is None:
        raise NOT_FOUND
    if signed and "sig" in request.args:
        if not links.valid(files.settings.jwt_secret, record.id, request.args.get("exp", ""), request.args["sig"]):
            raise NOT_FOUND
        return record
    # No credentials at all is answered like "not yours": 404, so nothing tells whether the file exists.
    if not files.may_read(request_identity(), record, request.args.get("share", "").strip()):
        raise NOT_FOUND
    return record


@bp.get("/files/<file_id>/link")
def link(file_id: str):
    """A short-lived signed URL for the file, for those who may read it (for <img>/<audio>, which send no header)."""
    files = _files()
    record = _readable(file_id, signed=False)  # a link must not mint its own successor
    url, expires = links.signed_url(files.prefix, files.settings.jwt_secret, record.id, files.settings.file_link_ttl)
    response = jsonify(url=url, expires_in=int(files.settings.file_link_ttl), expires_at=expires)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/files/<file_id>")
def download(file_id: str):
    files = _files()
    record = _readable(file_id)
    inline = files.inline(record)
    link = files.store.link(record.key, record.name, record.mime, inline)
    if link:
        response = redirect(link, 302)
        response.headers["Cache-Control"] = "no-store"
        return response
    path = files.store.local_path(record.key)
    if path is None:
        current_app.logger.error("stored bytes missing for file %s", record.id)
        raise NOT_FOUND
    response = send_file(
        path,
        mimetype=record.mime,
        as_attachment=not inline,
        download_name=record.name,
        conditional=True,
        etag=record.sha256,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.delete("/files/<file_id>")
@require_user
def delete(file_id: str):
    files = _files()
    record = files.get(file_id)
    if record is None or not (g.identity.is_admin or g.identity.user_id == record.owner):
        raise NOT_FOUND
    files.remove(record)
    return "", 204
