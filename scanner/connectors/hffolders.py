"""What `dhscan apply` does besides rewriting the data files of a Hugging Face save_to_disk folder.

A split's state.json carries a `_fingerprint` that `datasets` names its cache files after
(`cache-<fingerprint of the transform>.arrow`, made by map and filter): left as it was, a map run
again after the deletion could load a cache made before it, deleted records and all. So each split
whose data changed gets a fingerprint of its data files as they are now; and cache files already in
the folder are reported, as they can hold copies of the deleted records.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path

import pyarrow.fs as pafs

from scanner.core.durable import remove_stale_temporaries, replace, write_temporary

CACHE_ADVICE = ("The `datasets` library's cache files (made by map and filter) can hold copies of the deleted "
                "records: delete them (`Dataset.cleanup_cache_files()`, or remove the files); `datasets` makes "
                "them again when needed.")


def refresh_fingerprint(fs, folder: str) -> bool:
    """Set the split's `_fingerprint` from its data files' names, sizes and times; True if it changed."""
    state_path = f"{folder}/state.json"
    with fs.open_input_stream(state_path, compression=None) as stream:
        state = json.loads(stream.read())
    digest = hashlib.sha256()
    for entry in state.get("_data_files", []):
        info = fs.get_file_info(f"{folder}/{entry['filename']}")
        digest.update(f"{entry['filename']}\0{info.size}\0{info.mtime_ns}\n".encode())
    fingerprint = digest.hexdigest()[:16]  # the length datasets uses
    if state.get("_fingerprint") == fingerprint:
        return False
    state["_fingerprint"] = fingerprint
    _replace_whole(fs, state_path, json.dumps(state).encode())
    return True


def cache_files(fs, folder: str) -> list[str]:
    return sorted(info.path for info in fs.get_file_info(pafs.FileSelector(folder))
                  if info.type == pafs.FileType.File and posixpath.basename(info.path).startswith("cache-")
                  and info.path.endswith(".arrow"))


def _replace_whole(fs, path: str, data: bytes) -> None:
    """Write `data` over `path` so that readers see the old file or the new one: a local file as apply
    replaces a data file (temporary file, rename), an S3 object by one upload."""
    if not isinstance(fs, pafs.LocalFileSystem):
        with fs.open_output_stream(path, compression=None) as out:
            out.write(data)
        return
    target = Path(path)
    remove_stale_temporaries(target)  # left by a killed apply
    replace(write_temporary(target, lambda temp: temp.write_bytes(data)), target)
