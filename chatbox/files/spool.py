"""The spool: the folder where an upload waits while it is received, checked and (with S3) sent on.

Each upload reserves its size before a byte is read and keeps the reservation until its temp file is gone, so
concurrent uploads can never together outgrow the folder. In Kubernetes the folder is an emptyDir with a
``sizeLimit``; writing past it evicts the pod, and ``statvfs`` there reports the node's disk, not the limit, so the
limit is given as UPLOAD_SPOOL_SIZE. An upload that would not fit is refused up front with 507.
"""

from __future__ import annotations

import os
import shutil

from chatbox.files.sniff import Refused

RETRY_SECONDS = 30  # uploads in flight finish and free their reservations


def disk_free(folder: str) -> int:
    return shutil.disk_usage(folder).free


class Spool:
    """A folder, an optional byte capacity (0 = only free disk counts), and the bytes promised to uploads."""

    def __init__(self, folder: str, capacity: int = 0):
        self.folder, self.capacity = folder, capacity
        self.reserved = 0

    def room(self) -> int:
        """Bytes a new upload may still take. Bytes already written count twice (on disk and reserved): safe."""
        os.makedirs(self.folder, exist_ok=True)
        room = disk_free(self.folder) - self.reserved
        if self.capacity:
            room = min(room, self.capacity - self.reserved)
        return max(room, 0)

    def reserve(self, size: int) -> int:
        """Promise ``size`` bytes to one upload. Raises Refused(507) when they are not there."""
        if size > self.room():
            raise Refused(
                507,
                "SPOOL_FULL",
                f"The server has no room for this upload ({size / 1e6:.1f} MB) right now; please try again shortly",
                headers={"Retry-After": str(RETRY_SECONDS)},
            )
        self.reserved += size
        return size

    def release(self, size: int) -> None:
        self.reserved -= size
