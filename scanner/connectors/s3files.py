"""Files of an S3 source, rewritten by `dhscan apply` through a local copy and uploaded whole.

S3 has no rename, but an upload replaces an object only when it completes: a reader, or an apply
killed midway, sees the old object or the new one, never part of one. Bytes are moved as they are
(pyarrow would otherwise gunzip and gzip `.gz` objects by their name).
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path

from scanner.connectors.files import SourceFile
from scanner.core.digests import sha256_stream

# Object metadata carried over to the rewritten object (S3 keeps no other attribute a reader sees).
KEPT_METADATA = ("Content-Type", "Content-Language", "Cache-Control")
VERSIONS_ADVICE = ("S3 keeps the earlier version of a rewritten object if versioning is on for bucket {bucket}: "
                   "then delete those versions too (`aws s3api list-object-versions --bucket {bucket} --prefix "
                   "KEY`, then `delete-object --version-id`), and check that no replication or backup copy "
                   "remains.")


def s3_versions_residue(source: str, rewritten: dict[str, int]) -> dict:
    """The residue event for S3 objects apply rewrote: their earlier versions may still hold the records."""
    deleted = sum(rewritten.values())
    bucket = next(iter(rewritten)).split("/", 1)[0]
    return {"event": "residue", "source": source, "records": deleted, "of": deleted,
            "files": sorted(f"s3://{path}" for path in rewritten),
            "summary": f"{deleted} deleted records may remain in earlier versions of {len(rewritten)} S3 object(s).",
            "advice": VERSIONS_ADVICE.format(bucket=bucket)}


class S3File:
    def __init__(self, fs, file: SourceFile):
        self.fs, self.file = fs, file
        self.metadata: dict[str, str] = {}
        self.etag: str | None = None  # of the bytes downloaded

    def sha256(self) -> str:
        with self.fs.open_input_stream(self.file.path, compression=None) as stream:
            return sha256_stream(stream)

    def download(self, folder: Path) -> Path:
        """The object's bytes in `folder`, under the object's own name (its suffix tells the format)."""
        local = folder / posixpath.basename(self.file.path)
        with self.fs.open_input_stream(self.file.path, compression=None) as stream, open(local, "wb") as out:
            metadata = _text(stream.metadata())
            shutil.copyfileobj(stream, out, 1 << 20)
        self.metadata = {k: v for k, v in metadata.items() if k in KEPT_METADATA}
        self.etag = metadata.get("ETag")
        return local

    def unchanged(self) -> bool:
        """Still the object listed at the start (size, modification time) and downloaded (ETag): checked
        again right before the upload, which pyarrow cannot make conditional."""
        info = self.fs.get_file_info(self.file.path)
        with self.fs.open_input_file(self.file.path) as handle:  # a HEAD request: no bytes read
            etag = _text(handle.metadata()).get("ETag")
        return (info.size, info.mtime_ns, etag) == (self.file.size, self.file.mtime_ns, self.etag)

    def put(self, rewritten: Path | None) -> None:
        """Upload the rewritten file over the object, or delete the object when nothing is left."""
        if rewritten is None:
            self.fs.delete_file(self.file.path)
            return
        with open(rewritten, "rb") as source, \
                self.fs.open_output_stream(self.file.path, compression=None, metadata=self.metadata or None) as out:
            shutil.copyfileobj(source, out, 1 << 20)


def _text(metadata: dict) -> dict[str, str]:
    """pyarrow gives S3 metadata values as bytes."""
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in metadata.items()}
