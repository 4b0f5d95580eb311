"""The gateway remembers the tokens it found valid, so that a client's next requests skip the
signature check; remembering must never accept a token that checking would refuse."""

import time

import jwt
import pytest

from contracts.errors import Unauthorized
from contracts.identity import COMMUNE_AGENT
from gateway import auth
from gateway.tests.fakes import AGENT_ID, LAVERUNE, SigningKey

CONFIG = {}


class Identity:
    """Publishes ``keys``."""

    def __init__(self, *keys):
        self.keys = list(keys)

    def jwks(self):
        return {"keys": [key.jwk() for key in self.keys]}


@pytest.fixture
def key():
    return SigningKey.generate(CONFIG)


@pytest.fixture
def verifier(key):
    return auth.TokenVerifier(key.issuer)


def test_a_token_used_again_is_not_checked_again(verifier, key, monkeypatch):
    identity = Identity(key)
    token = key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE)
    first = verifier.principal(f"Bearer {token}", identity.jwks)
    checks = []
    monkeypatch.setattr(auth.jwt, "decode", lambda *args, **kwargs: checks.append(args))

    assert verifier.principal(f"Bearer {token}", identity.jwks) == first
    assert checks == []
    assert first.commune == LAVERUNE


def test_a_remembered_token_is_refused_once_it_expires(verifier, key):
    identity = Identity(key)
    token = key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE, expires_in=1)
    verifier.principal(f"Bearer {token}", identity.jwks)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(expires_at - time.time(), 0) + 0.05)

    with pytest.raises(Unauthorized):
        verifier.principal(f"Bearer {token}", identity.jwks)


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(verifier, key, monkeypatch):
    monkeypatch.setattr(auth, "KEY_REFRESH_INTERVAL", 0)
    identity = Identity(key)
    old_token = key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE)
    verifier.principal(f"Bearer {old_token}", identity.jwks)
    # Identity rotates: the next key's first token makes the gateway fetch the keys again.
    new_key = SigningKey.generate(CONFIG)
    identity.keys = [new_key]
    verifier.principal(f"Bearer {new_key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE)}",
                       identity.jwks)

    with pytest.raises(Unauthorized):
        verifier.principal(f"Bearer {old_token}", identity.jwks)


def test_the_least_recently_used_tokens_are_forgotten_first(verifier, key, monkeypatch):
    monkeypatch.setattr(auth, "REMEMBERED_TOKENS", 2)
    identity = Identity(key)
    tokens = [key.token(f"{AGENT_ID}-{n}", COMMUNE_AGENT, LAVERUNE) for n in range(3)]
    for token in tokens:
        verifier.principal(f"Bearer {token}", identity.jwks)

    assert list(verifier._valid) == tokens[1:]
