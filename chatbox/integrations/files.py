"""Where uploaded bytes live: one small interface, and local disk as the embedded default.

``s3_files.py`` is the real adapter (boto3). A store never decides who may read a file; the files service does.
Keys are opaque strings chosen by the service (``files/<file id>``), never user input.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import BinaryIO


class FileStore:
    """Interface: put finished temp files, open them, link to them, delete them."""

    kind = "store"

    def spool_dir(self) -> str:
        """A folder for the temporary copy of an upload while it is received and checked."""
        return tempfile.gettempdir()

    def put(self, key: str, path: str, mime: str) -> None:
        """Store the file at ``path`` under ``key``; the temp file may be moved away. Raises OSError on failure."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the stored bytes. Raises FileNotFoundError when it is gone."""
        raise NotImplementedError

    def local_path(self, key: str) -> str | None:
        """A path on this machine to serve the bytes from, or None when the store hands out links instead."""
        return None

    def link(self, key: str, name: str, mime: str, inline: bool) -> str | None:
        """A short-lived URL the browser can fetch directly, or None when the app must serve the bytes itself."""
        return None

    def delete(self, key: str) -> None:
        """Remove the stored bytes; deleting something already gone is not an error."""
        raise NotImplementedError


class LocalFiles(FileStore):
    """Files under one folder (``UPLOAD_DIR``); the folder is created on first use, not at startup."""

    kind = "local"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        path = os.path.abspath(os.path.join(self.root, key))
        # Keys come from the service, but a store that could write outside its folder is one bug away from harm.
        if not path.startswith(self.root + os.sep):
            raise ValueError(f"storage key escapes the upload folder: {key!r}")
        return path

    def spool_dir(self) -> str:
        # Spooling inside the upload folder keeps the final move a rename on the same filesystem (no second copy).
        folder = os.path.join(self.root, ".incoming")
        os.makedirs(folder, exist_ok=True)
        return folder

    def put(self, key: str, path: str, mime: str) -> None:
        target = self._path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.replace(path, target)
        except OSError:
            shutil.copyfile(path, target)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def local_path(self, key: str) -> str | None:
        path = self._path(key)
        return path if os.path.isfile(path) else None

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass


def create_store(settings) -> FileStore:
    """S3 when ``S3_BUCKET`` is set, else local disk under ``UPLOAD_DIR``."""
    if settings.s3_bucket:
        from chatbox.integrations.s3_files import S3Files

        return S3Files(settings)
    return LocalFiles(settings.upload_folder)
