"""Tokens: hashing, scopes, constant-time verification, rotation and revocation.

Secrets are never stored or logged: the log's ``tokens`` table and memory hold
SHA-256 hashes only (tokens are 256-bit random, so an unsalted hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from patterdash.store import TokenStore

__all__ = [
    "SCOPES",
    "Grant",
    "TokenSet",
    "generate_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
    "rotate_token",
]

Scope = Literal["read", "ingest", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "ingest", "admin")
_ALLOWS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "ingest": frozenset({"ingest"}),
    "admin": frozenset({"read", "ingest", "admin"}),
}


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    """A new random token."""
    return "pd_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Grant:
    """Who a request is: the token's id and scope."""

    token_id: str
    scope: str

    def allows(self, needed: str) -> bool:
        """Whether this grant covers the needed scope."""
        return needed in _ALLOWS.get(self.scope, frozenset())


@dataclass(frozen=True)
class _Entry:
    token_id: str
    scope: str
    digest: bytes
    expires_at: float | None


class TokenSet:
    """The tokens a server accepts right now (configured token + the log's table)."""

    def __init__(self, entries: list[_Entry], *, protected: bool = False) -> None:
        self._entries = entries
        self._protected = protected or bool(entries)

    @classmethod
    def build(cls, *, config_token: str | None, rows: list[dict[str, Any]]) -> TokenSet:
        """From the ``--token`` value (admin) and the stored rows (revoked ones dropped)."""
        entries = []
        if config_token:
            entries.append(_Entry("config", "admin", bytes.fromhex(hash_token(config_token)), None))
        for row in rows:
            if row.get("revoked_at") is None:
                entries.append(_Entry(row["id"], row["scope"], bytes.fromhex(row["hash"]), row.get("expires_at")))
        # Revoking the last token must lock the server, never open it.
        return cls(entries, protected=bool(config_token) or bool(rows))

    @property
    def open(self) -> bool:
        """No token ever configured (revoked ones count): every request is allowed."""
        return not self._protected

    def verify(self, presented: str | None, *, now: float) -> Grant | None:
        """The grant for a presented token, comparing against every entry in constant time."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: _Entry | None = None
        for entry in self._entries:
            if hmac.compare_digest(digest, entry.digest) and found is None:
                found = entry
        if found is None or (found.expires_at is not None and found.expires_at <= now):
            return None
        return Grant(found.token_id, found.scope)


def rotate_token(log: TokenStore, *, scope: Scope, grace: float, now: float) -> tuple[str, dict[str, Any]]:
    """Create a token of ``scope``; the previous ones of that scope expire after ``grace`` seconds.

    Returns (secret, row); the secret is not kept anywhere.
    """
    secret = generate_token()
    row = {
        "id": "tok_" + secrets.token_hex(4),
        "scope": scope,
        "hash": hash_token(secret),
        "created_at": now,
        "last_used_at": None,
        "expires_at": None,
        "revoked_at": None,
    }
    # The new token first: a failure between the two steps leaves both working, never neither.
    log.add_token(row)
    for old in log.tokens():
        if old["id"] != row["id"] and old["scope"] == scope and old["revoked_at"] is None:
            expires = now + grace
            if old["expires_at"] is None or old["expires_at"] > expires:
                log.update_token(old["id"], expires_at=expires)
    return secret, row


def revoke_token(log: TokenStore, token_id: str, *, now: float) -> bool:
    """Revoke a stored token at once; False when no such token."""
    return log.update_token(token_id, revoked_at=now)


def list_tokens(log: TokenStore) -> list[dict[str, Any]]:
    """Stored tokens without their hashes."""
    return [{k: v for k, v in row.items() if k != "hash"} for row in log.tokens()]
