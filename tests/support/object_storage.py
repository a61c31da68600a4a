"""A real S3-compatible server for the object-storage tests: moto's standalone server
(`moto[server]`, requirements-dev.txt) as a subprocess on 127.0.0.1, with one bucket."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_listening

BUCKET = "tts-test"
PREFIX = "media"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str = BUCKET
    prefix: str = PREFIX

    @property
    def env(self) -> dict[str, str]:
        """The platform's settings for this store (.env.example)."""
        return {
            "STORAGE_URL": f"s3://{self.bucket}/{self.prefix}",
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test-access-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key",
            "AWS_S3_ADDRESSING_STYLE": "path",
        }

    def client(self):
        import boto3

        env = self.env
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=env["AWS_S3_REGION_NAME"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def read(self, name: str) -> bytes:
        key = f"{self.prefix}/{name}"
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@contextmanager
def s3_server():
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(tempfile.gettempdir()),
    )
    try:
        wait_listening(port, process)
        server = S3Server(endpoint=f"http://127.0.0.1:{port}")
        server.client().create_bucket(Bucket=server.bucket)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
