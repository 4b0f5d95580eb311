"""Write-once files named by their SHA-256, beside a service's database: an act's PDF in
e-administration, an uploaded version of an open data resource.

A file appears complete or not at all (written to a temporary file, flushed, renamed), and a
stored file is never rewritten, so that an alteration stays visible to ``verify`` rather than
being papered over by a new upload.
"""

import hashlib
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from nameko.extensions import DependencyProvider

from servicekit.config import data_dir

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 1024 * 1024


def fingerprint(content):
    """The SHA-256 of ``content``, in lowercase hex: a file's name in the store (and its
    MessageDigest in a SEDA manifest)."""
    return hashlib.sha256(content).hexdigest()


class AlteredFile(Exception):
    """A stored file no longer hashes to its name: a byte changed since it was stored."""


class StoredFile:
    """What ``FileStore.writer`` yields: a binary stream to write to; once the ``with`` block
    ends, ``sha256`` and ``size`` say what was stored."""

    def __init__(self, stream):
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0
        self.sha256 = None

    def write(self, content):
        self._digest.update(content)
        self.size += len(content)
        return self._stream.write(content)


class FileStore:
    """Files under ``root``: ``root/ab/cdef…`` for ``abcdef…`` (the first two hex digits as a
    directory, so that no directory holds more than a few thousand files)."""

    def __init__(self, root):
        self.root = Path(root)

    def put(self, content):
        """Store ``content``; returns its fingerprint."""
        with self.writer() as stored:
            stored.write(content)
        return stored.sha256

    @contextmanager
    def writer(self):
        """Store what is written in the ``with`` block, without holding it in memory; nothing
        is stored if the block raises."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(dir=self.root, prefix=".", delete=False)
        try:
            with tmp:
                stored = StoredFile(tmp)
                yield stored
                tmp.flush()
                os.fsync(tmp.fileno())
            stored.sha256 = stored._digest.hexdigest()
            path = self._path(stored.sha256)
            if path.exists():
                os.unlink(tmp.name)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp.name, path)
        except BaseException:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
            raise

    def get(self, sha256):
        """The content named ``sha256``. Raises ``AlteredFile`` if it no longer matches its
        fingerprint (an altered act must not be signed, sent or exported as if intact) and
        ``FileNotFoundError`` if it is missing."""
        content = self._path(sha256).read_bytes()
        if fingerprint(content) != sha256:
            raise AlteredFile(f"{sha256} no longer matches its content")
        return content

    def open(self, sha256):
        """The file as a binary stream, for contents too large to hold in memory; ``verify``
        checks it whole."""
        return self._path(sha256).open("rb")

    def verify(self, sha256):
        """Whether the file is present and still hashes to its name: any altered byte, or a
        missing file, makes it False."""
        try:
            with self.open(sha256) as stream:
                digest = hashlib.sha256()
                while chunk := stream.read(CHUNK_BYTES):
                    digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256

    def remove(self, sha256):
        """Deletes a file no record needs any more (personal data past its retention)."""
        self._path(sha256).unlink(missing_ok=True)

    def _path(self, sha256):
        # The name comes from the database; refusing anything but a fingerprint keeps a
        # corrupted row from reading outside the store.
        if not SHA256_PATTERN.match(sha256):
            raise ValueError(f"not a SHA-256 fingerprint: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]


class Files(DependencyProvider):
    """The service's ``FileStore``, under ``<data dir>/<service name>/files``."""

    def setup(self):
        self.store = FileStore(
            data_dir(self.container.config) / self.container.service_name / "files")

    def get_dependency(self, worker_ctx):
        return self.store
