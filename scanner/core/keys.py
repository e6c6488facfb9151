"""The HMAC key that digests are made with: DHSCAN_KEY, or a key file made on first use."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from scanner.core.errors import UsageError

KEY_ENV = "DHSCAN_KEY"
KEY_FILE_ENV = "DHSCAN_KEY_FILE"
# "never": no key file is made on first use (containers, whose home folder does not outlive the run).
KEY_CREATE_ENV = "DHSCAN_KEY_CREATE"
MIN_KEY_BYTES = 16


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "dhscan" / "key"


@dataclass(frozen=True)
class DigestKey:
    secret: bytes
    origin: str  # "env:DHSCAN_KEY" or "file:/path"

    @property
    def key_id(self) -> str:
        """Names the key in outputs without revealing it."""
        return hashlib.sha256(b"dhscan-key-id\x00" + self.secret).hexdigest()[:16]


def load_key(create: bool = True) -> DigestKey:
    """The run's key. Without `create` (or with DHSCAN_KEY_CREATE=never) a missing key is an error, never a
    fresh key: digests made with another key match nothing, so a hold on them would match nothing."""
    env = os.environ.get(KEY_ENV)
    if env is not None:
        secret = env.encode("utf-8")
        if len(secret) < MIN_KEY_BYTES:
            raise UsageError(f"{KEY_ENV} must be at least {MIN_KEY_BYTES} bytes long")
        return DigestKey(secret, f"env:{KEY_ENV}")
    path = Path(os.environ.get(KEY_FILE_ENV) or default_key_path())
    if not path.exists():
        if not create or os.environ.get(KEY_CREATE_ENV, "").lower() == "never":
            raise UsageError(f"no key: {KEY_ENV} is not set and there is no key file at {path}; set {KEY_ENV} or "
                             f"{KEY_FILE_ENV} to the key the digests were made with")
        _create_key_file(path)
        print(f"dhscan: notice: made a new key file {path}; digests compare only with runs using the same key",
              file=sys.stderr)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            print(f"dhscan: warning: key file {path} is readable by others; chmod 600 it", file=sys.stderr)
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from None
    if len(secret) < MIN_KEY_BYTES:
        raise UsageError(f"key file {path} holds fewer than {MIN_KEY_BYTES} bytes")
    return DigestKey(secret, f"file:{path}")


def _create_key_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: two runs starting at once must not both write a key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise UsageError(f"cannot create key file {path}: {exc.strerror}; set {KEY_ENV} instead") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
