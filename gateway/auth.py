"""Who is calling, and which commune's data they may reach.

Tokens are verified here, with the identity service's public keys (its JWKS) kept in memory:
no call to identity per request, one when a token names a key not seen yet (rotation). Their
issuer is the suite's public URL (``COMMUNS_PUBLIC_URL``), which identity signs with too.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

import jwt
from nameko.extensions import DependencyProvider

from contracts.errors import Unauthorized
from contracts.identity import (
    COMMUNE_AGENT,
    METROPOLE_ADMIN,
    TOKEN_ALGORITHM,
    TOKEN_AUDIENCE,
    token_issuer,
)
from servicekit.config import public_url

INVALID_TOKEN = "The access token is invalid or has expired."
KEY_REFRESH_INTERVAL = 10.0
# Checking an ES256 signature is about a tenth of the gateway's CPU per request, and a client
# sends the same token until it expires: a token found valid is remembered, and each use checks
# again that it has not expired and that its key is still one identity publishes.
REMEMBERED_TOKENS = 10_000


@dataclass(frozen=True)
class Principal:
    kind: str
    id: str
    role: str
    commune: str | None

    def reaches(self, commune):
        """Metropole admins reach every commune; a commune's agents reach their own only."""
        if self.role == METROPOLE_ADMIN:
            return True
        return self.role == COMMUNE_AGENT and self.commune == commune


def bearer_token(authorization):
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("This route needs an access token: Authorization: Bearer <token>.")
    return token.strip()


class TokenVerifier:
    def __init__(self, issuer):
        self.issuer = issuer
        self._keys = {}
        self._fetched_at = float("-inf")
        self._valid = OrderedDict()  # token → (principal, kid, key, exp), least recently used first

    def principal(self, authorization, fetch_jwks):
        token = bearer_token(authorization)
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized(INVALID_TOKEN) from None
        kid = header.get("kid")
        # A token identity cannot have signed is refused before any key is fetched for it.
        if header.get("alg") != TOKEN_ALGORITHM or not isinstance(kid, str):
            raise Unauthorized(INVALID_TOKEN)
        key = self._key(kid, fetch_jwks)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[TOKEN_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized(INVALID_TOKEN) from None
        principal = Principal(claims["kind"], claims["sub"], claims["role"], claims.get("commune"))
        self._remember(token, principal, kid, key, claims["exp"])
        return principal

    def _remembered(self, token):
        """The principal of a token verified before, if it is still unexpired (as PyJWT
        judges it, without leeway) and signed by a key identity still publishes under its id."""
        found = self._valid.get(token)
        if found is None:
            return None
        principal, kid, key, expires_at = found
        if time.time() >= expires_at or self._keys.get(kid) is not key:
            del self._valid[token]
            return None
        self._valid.move_to_end(token)
        return principal

    def _remember(self, token, principal, kid, key, expires_at):
        self._valid[token] = (principal, kid, key, expires_at)
        if len(self._valid) > REMEMBERED_TOKENS:
            self._valid.popitem(last=False)

    def _key(self, kid, fetch_jwks):
        if kid not in self._keys and time.monotonic() - self._fetched_at > KEY_REFRESH_INTERVAL:
            jwks = fetch_jwks()
            self._keys = {jwk["kid"]: jwt.PyJWK(jwk).key for jwk in jwks["keys"]}
            self._fetched_at = time.monotonic()
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthorized(INVALID_TOKEN) from None


class Tokens(DependencyProvider):
    """One verifier, and its key cache, per gateway container."""

    def setup(self):
        self.verifier = TokenVerifier(token_issuer(public_url(self.container.config)))

    def get_dependency(self, worker_ctx):
        return self.verifier
