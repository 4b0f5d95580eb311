"""Stand-ins for what the gateway talks to: a signing key as identity holds one, and fake
services in place of the RPC proxies."""

import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from contracts.identity import TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER

LAVERUNE, MONTPELLIER = "34134", "34172"
ADMIN_ID = str(uuid.UUID(int=1))
AGENT_ID = str(uuid.UUID(int=2))
OMITTED = object()


@dataclass
class SigningKey:
    """An ES256 key pair and its key id, as the identity service holds one."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid=None):
        return cls(kid or uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()))

    def jwk(self):
        public = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": TOKEN_ALGORITHM}

    def token(self, subject, role, commune=None, kind="account", expires_in=900, **claims):
        """A token as identity issues them; ``claims`` override or add any claim, or leave
        it out when given as ``OMITTED``."""
        now = int(time.time())
        payload = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": subject,
            "kind": kind,
            "role": role,
            "commune": commune,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not OMITTED}
        return jwt.encode(
            payload, self.private_key, algorithm=TOKEN_ALGORITHM, headers={"kid": self.kid}
        )


class FakeService:
    """Stands in for the ``RpcProxy`` of one service.

    ``answers`` maps a method to its answer: a value, or a function of the call's arguments
    (which may raise a contract error, as the real service would). Every call is recorded in
    ``calls`` as ``(method, args, kwargs)``; a call with no answer fails the request loudly.
    """

    def __init__(self, service_name, **answers):
        self.service_name = service_name
        self.answers = answers
        self.calls = []

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return _FakeMethod(self, method)

    def called(self, method):
        return [call for call in self.calls if call[0] == method]


@dataclass
class _FakeMethod:
    service: FakeService
    method: str

    def call_async(self, *args, **kwargs):
        self.service.calls.append((self.method, args, kwargs))
        answer = self.service.answers[self.method]
        return _FakeReply(lambda: answer(*args, **kwargs) if callable(answer) else answer)


@dataclass
class _FakeReply:
    produce: object

    def result(self):
        return self.produce()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}
