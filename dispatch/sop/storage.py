"""Where evidence bytes live: a small interface, and a local directory behind it.

Bytes are addressed by their SHA-256, so writing the same content twice is harmless and a
blob never changes once written. An object store (S3, OSS, MinIO) only has to implement
:class:`EvidenceStore`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class EvidenceStore(Protocol):
    def put(self, sha256: str, data: bytes) -> None:
        """Store ``data`` under its hash (idempotent)."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Read the bytes stored under ``sha256`` (FileNotFoundError when absent)."""
        ...


class LocalEvidenceStore:
    """Blobs in ``root/ab/cd/<sha256>``: two levels of fan-out keep directories small.

    Writes go to a temporary file in the target directory and are renamed into place, so a
    reader never sees a half-written blob and a crash leaves no partial file under the name.
    ``durable`` (the default) syncs each blob to disk first; the demo seeds skip that.
    """

    def __init__(self, root: Path | str, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable  # fsync each blob before it is renamed into place

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")
