"""Who may read what (spec §9): bearer tokens, the file of their salted hashes, and roles.

A token is ``pm1.<id>.<secret>``: the id (public, 12 hex digits) finds the file's line, the
secret (32 random bytes, base64url) is checked against that line's salted SHA-256. A slow
password hash would add nothing here: the secret is random, not chosen by a person, so
there is nothing to guess, and every request verifies a token.

The file has one token a line, ``<id> <role> <salt hex> <sha256 hex>``, role ``star`` or
comma-separated municipality codes; ``#`` starts a comment. It is re-read when it changes
(size, mtime or inode), so deleting a line revokes the token without a restart. The token
itself is printed once by ``puljemonitor token add`` and stored nowhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

TOKEN = re.compile(r"^pm1\.([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$")
STAR = "star"


@dataclass(frozen=True)
class Role:
    """What a caller may read: the public figures (anonymous), its own codes' unsuppressed
    figures and citizens (a municipality), or everything (star)."""

    codes: frozenset[str] = frozenset()
    star: bool = False

    @property
    def anonymous(self) -> bool:
        return not self.star and not self.codes

    def owns(self, code: str) -> bool:
        """May read ``code``'s unsuppressed figures and its citizens."""
        return self.star or code in self.codes

    def owns_all(self, codes) -> bool:
        """May read unsuppressed a figure that adds up all of ``codes`` (a participant of two codes)."""
        return self.star or (bool(codes) and all(c in self.codes for c in codes))

    def __str__(self) -> str:  # what a log line names: never the token
        if self.star:
            return STAR
        return "municipality:" + ",".join(sorted(self.codes)) if self.codes else "anonymous"


ANONYMOUS = Role()


class InvalidToken(Exception):
    """A token was given but is malformed, unknown or revoked: 401, whatever the endpoint."""


def digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()


def parse_role(text: str) -> Role:
    if text == STAR:
        return Role(star=True)
    codes = frozenset(text.split(","))
    if not codes or not all(re.fullmatch(r"\d{3}", c) for c in codes):
        raise ValueError(f"not a role: {text!r} (star, or municipality codes separated by commas)")
    return Role(codes=codes)


def format_role(role: Role) -> str:
    return STAR if role.star else ",".join(sorted(role.codes))


@dataclass(frozen=True)
class Entry:
    role: Role
    salt: bytes
    hash: str


def read_entries(path: Path) -> dict[str, Entry]:
    """The tokens file's lines by id; ValueError naming the line of a malformed one."""
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 4 or not re.fullmatch(r"[0-9a-f]{12}", parts[0]):
            raise ValueError(f"{path}:{number}: expected '<id> <role> <salt> <sha256>'")
        token_id, role, salt, hashed = parts
        entries[token_id] = Entry(parse_role(role), bytes.fromhex(salt), hashed)
    return entries


class Tokens:
    """The tokens file, re-read whenever it changes; :meth:`role` answers for a request."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path else None
        self._signature: tuple | None = None
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.error: str | None = None  # why the file could not be read (then no token is valid)

    def _current(self) -> dict[str, Entry]:
        if self.path is None:
            return {}
        try:
            st = self.path.stat()
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            signature = None
        if signature != self._signature:
            with self._lock:
                try:
                    self._entries = read_entries(self.path) if signature else {}
                    self.error = None if signature else f"no tokens file at {self.path}"
                except (OSError, ValueError, UnicodeDecodeError) as error:
                    self._entries, self.error = {}, str(error)
                self._signature = signature
        return self._entries

    def role(self, authorization: str | None) -> Role:
        """The role of an ``Authorization`` header value; no header is anonymous."""
        if authorization is None:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        match = TOKEN.match(token.strip()) if scheme.lower() == "bearer" else None
        if match is None:
            raise InvalidToken("malformed")
        entry = self._current().get(match.group(1))
        if entry is None or not hmac.compare_digest(entry.hash, digest(entry.salt, match.group(2))):
            raise InvalidToken("unknown or revoked")
        return entry.role


def add_token(path: str | os.PathLike, role: Role) -> tuple[str, str]:
    """A new token for ``role``: its hash appended to the file (created 0600); returns (id, token)."""
    path = Path(path)
    existing = read_entries(path) if path.exists() else {}
    token_id = secrets.token_hex(6)
    while token_id in existing:
        token_id = secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    salt = secrets.token_bytes(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(f"{token_id} {format_role(role)} {salt.hex()} {digest(salt, secret)}\n")
    return token_id, f"pm1.{token_id}.{secret}"


def revoke_token(path: str | os.PathLike, token_id: str) -> bool:
    """Remove the token's line (atomically: a running server re-reads a whole file); False if absent."""
    path = Path(path)
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split("#", 1)[0].split()[:1] != [token_id]]
    if len(kept) == len(lines):
        return False
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(kept)
    os.replace(tmp, path)
    return True
