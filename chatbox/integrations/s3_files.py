"""Files in S3 or an S3-compatible store (MinIO …) through boto3, handed out as short-lived presigned links."""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from chatbox.integrations.files import FileStore

LINK_SECONDS = 300  # a presigned link outlives the page view that asked for it, not much more

# One part in memory at a time: boto3's default (10 threads x 8 MB) would hold 80 MB for one big upload.
_TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=1, use_threads=False
)


class S3Files(FileStore):
    kind = "s3"

    def __init__(self, settings):
        self.bucket = settings.s3_bucket
        self.sse = settings.s3_sse
        options = {
            "region_name": settings.s3_region or None,
            "config": Config(
                signature_version="s3v4",
                retries={"max_attempts": 3},
                s3={"addressing_style": "path" if settings.s3_endpoint else "auto"},
            ),
        }
        if settings.s3_endpoint:
            options["endpoint_url"] = settings.s3_endpoint
        if settings.s3_access_key_id:
            # Without explicit keys boto3 uses its default chain (IRSA / instance role in Kubernetes).
            options["aws_access_key_id"] = settings.s3_access_key_id
            options["aws_secret_access_key"] = settings.s3_secret_access_key
        self.client = boto3.client("s3", **options)

    def put(self, key: str, path: str, mime: str) -> None:
        extra = {"ContentType": mime}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        self.client.upload_file(path, self.bucket, key, ExtraArgs=extra, Config=_TRANSFER)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise

    def link(self, key: str, name: str, mime: str, inline: bool) -> str | None:
        disposition = "inline" if inline else "attachment"
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": mime,
            "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        }
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=LINK_SECONDS)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)
