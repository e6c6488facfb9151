"""Files of a source: local or S3 (pyarrow's S3 filesystem); a file, a folder or a glob."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import shutil
from urllib.parse import urlencode
from pathlib import Path
from dataclasses import dataclass

import pyarrow.fs as pafs

from scanner.core.errors import SourceError, UsageError, one_line
from scanner.core.uri import SourceURI

S3_OPTIONS = frozenset({"endpoint", "region", "anonymous", "access_key", "secret_key", "session_token"})
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    relpath: str  # relative to the source root: part of record ids and sample keys
    path: str  # as the filesystem knows it
    size: int
    mtime_ns: int | None


def is_s3(path: str) -> bool:
    return path.startswith("s3://")


def filesystem(uri: SourceURI) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding the URI's path, and the path in that filesystem's terms."""
    if not is_s3(uri.path):
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri.path))
    if not uri.path[len("s3://"):].split("/", 1)[0]:
        raise UsageError(f"source {uri.redacted()!r}: no bucket: give s3://BUCKET/PATH")
    opts = uri.options
    endpoint = opts.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    kwargs: dict = {
        # An explicit region keeps pyarrow from asking the network which region a bucket is in.
        "region": opts.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs["endpoint_override"] = host if host else endpoint
        kwargs["scheme"] = scheme if host else "https"
    if opts.get("anonymous", "").lower() in ("1", "true", "yes"):
        kwargs["anonymous"] = True
    if opts.get("access_key") or opts.get("secret_key"):
        kwargs.update(access_key=opts.get("access_key"), secret_key=opts.get("secret_key"),
                      session_token=opts.get("session_token"))
    try:
        return pafs.S3FileSystem(**kwargs), uri.path[len("s3://"):]
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad settings
        raise UsageError(f"source {uri.redacted()!r}: cannot set up S3 access: {exc}") from None


def _info(fs: pafs.FileSystem, path: str, source: str) -> pafs.FileInfo:
    try:
        return fs.get_file_info(path)
    except OSError as exc:
        raise SourceError(source, f"cannot read {path!r}: {one_line(exc)}") from None


def _missing(fs: pafs.FileSystem, path: str, source: str, s3: bool) -> SourceError:
    if s3:
        bucket = path.split("/", 1)[0]
        if _info(fs, bucket, source).type == pafs.FileType.NotFound:
            return SourceError(source, f"S3 bucket {bucket!r} does not exist")
    shown = f"s3://{path}" if s3 else path
    return SourceError(source, f"no such file or folder: {shown}")


def split_glob(path: str) -> tuple[str, str | None]:
    """(the folder or file before a path's first part with a glob character, the pattern from there or None)."""
    if not _GLOB_CHARS & set(path):
        return path.rstrip("/") or "/", None
    parts = path.split("/")
    cut = next(i for i, p in enumerate(parts) if _GLOB_CHARS & set(p))
    return "/".join(parts[:cut]) or "/", "/".join(parts[cut:])


def list_files(uri: SourceURI, source: str, extensions: tuple[str, ...]) -> tuple[pafs.FileSystem, list[SourceFile]]:
    """The files a URI names, sorted by relative path. A named file is taken whatever its extension."""
    fs, path = filesystem(uri)
    s3 = is_s3(uri.path)
    root, pattern = split_glob(path)
    info = _info(fs, root, source)
    if info.type == pafs.FileType.NotFound:
        raise _missing(fs, root, source, s3)
    if info.type == pafs.FileType.File and pattern is None:
        return fs, [SourceFile(posixpath.basename(root), root, info.size, info.mtime_ns)]
    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except OSError as exc:
        raise SourceError(source, f"cannot list {root!r}: {one_line(exc)}") from None
    files = []
    for entry in infos:
        if entry.type != pafs.FileType.File:
            continue
        rel = posixpath.relpath(entry.path, root) if root != "/" else entry.path.lstrip("/")
        if any(part.startswith((".", "_")) for part in rel.split("/")):
            continue  # hidden files and markers such as _SUCCESS
        if pattern is not None:
            if not fnmatch.fnmatchcase(rel, pattern):
                continue
        elif not rel.endswith(extensions):
            continue
        files.append(SourceFile(rel, entry.path, entry.size, entry.mtime_ns))
    if not s3:
        files = _each_file_once(files)
    if not files:
        where = uri.path
        raise SourceError(source, f"no {'/'.join(extensions)} files in {where}")
    return fs, sorted(files, key=lambda f: f.relpath)


def _each_file_once(files: list[SourceFile]) -> list[SourceFile]:
    """A file reached twice through links (a link to a parent folder loops) is read once, by its
    shortest path."""
    seen, kept = set(), []
    for file in sorted(files, key=lambda f: (f.relpath.count("/"), f.relpath)):
        try:
            info = os.stat(file.path)
        except OSError:
            kept.append(file)
            continue
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            kept.append(file)
    return kept


def guess_connector_name(uri: SourceURI, extensions: dict[str, tuple[str, ...]],
                         folder_markers: dict[str, tuple[str, ...]]) -> str:
    """The connector a bare path needs: by extension, or by what a folder holds."""
    def by_extension(name: str) -> str | None:
        best = None
        for connector, exts in extensions.items():
            for ext in exts:
                if name.endswith(ext) and (best is None or len(ext) > best[1]):
                    best = (connector, len(ext))
        return best[0] if best else None

    direct = by_extension(uri.path.rstrip("/"))
    if direct:
        return direct
    fs, path = filesystem(uri)
    info = _info(fs, path, uri.name)
    if info.type == pafs.FileType.NotFound:
        raise _missing(fs, path, uri.name, is_s3(uri.path))
    if info.type != pafs.FileType.Directory:
        raise UsageError(f"source {uri.redacted()!r}: cannot tell its format from the name; "
                         f"prefix a connector, e.g. jsonl:{uri.path}")
    for connector, markers in folder_markers.items():
        if any(_info(fs, f"{path}/{m}", uri.name).type == pafs.FileType.File for m in markers):
            return connector
    found = set()
    for entry in fs.get_file_info(pafs.FileSelector(path, recursive=True)):
        if entry.type == pafs.FileType.File:
            name = by_extension(entry.path)
            if name:
                found.add(name)
    if len(found) == 1:
        return found.pop()
    if not found:
        raise SourceError(uri.name, f"no readable files in {uri.path}")
    raise UsageError(f"source {uri.redacted()!r}: folder holds {', '.join(sorted(found))} files; "
                     f"name the connector, e.g. {sorted(found)[0]}:{uri.path}")


def file_uri(path: str, relpath: str) -> str:
    """Where a source's file is (`path`: the source's path, `relpath`: the file's, as locators give it), as
    code scanning resolves it: relative to the working directory (a repository's checkout) when it lies
    below it, else an absolute URI."""
    if is_s3(path):  # a named object's relpath is its own name, a folder's (or glob's) files are below it
        root, pattern = split_glob(path)
        return root if pattern is None and root.endswith("/" + relpath) else f"{root}/{relpath}"
    root, _ = split_glob(os.path.abspath(os.path.expanduser(path)))
    target = root if os.path.isfile(root) else os.path.join(root, relpath)
    relative = os.path.relpath(target)
    return Path(relative).as_posix() if not relative.startswith("..") else Path(target).as_uri()


def copy_files(fs, files: list[SourceFile], folder: Path) -> None:
    """Each file (local or S3) to `folder`/its relative path, its modification time kept."""
    for file in files:
        target = folder / file.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(file.path) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        if file.mtime_ns:
            os.utime(target, ns=(file.mtime_ns, file.mtime_ns))


def copy_uri(uri: SourceURI, scheme: str, source: str, path: str) -> str:
    """The URI that reads a local copy at `path` as the source `source` (S3 options dropped)."""
    options = {k: v for k, v in uri.options.items() if k not in S3_OPTIONS} | {"name": source}
    return f"{scheme}:{path}?{urlencode(options, safe='/:,*')}"


def copied_path(uri: SourceURI, folder: Path, files: list[SourceFile]) -> str:
    """Where a copy made by `copy_files` is read from: the file, the folder, or the glob under it."""
    root, pattern = split_glob(filesystem(uri)[1])
    if pattern is not None:
        return f"{folder}/{pattern}"
    if len(files) == 1 and files[0].path.rstrip("/") == root:
        return str(folder / files[0].relpath)
    return str(folder)
