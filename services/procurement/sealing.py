"""Bids sealed until their opening (arrêté du 22 mars 2019; CCP R2151-5 and R2143-2).

Each consultation has its own RSA-3072 key pair. Every file of a bid is encrypted on deposit
with a fresh AES-256-GCM data key, and that data key with the consultation's public key
(RSA-OAEP, SHA-256). The private key is kept only wrapped: encrypted with AES-256-GCM under the
service's master key, the consultation's id as associated data.

What the seal guarantees: no API and no reader of the database can read a bid before the
deadline. The database holds ciphertext and a wrapped key, nothing that decrypts them; the
service unwraps the private key only in the opening, which it refuses before the deadline on
its own clock. Each sealed file is bound to its place (consultation, bid, file index) by its
associated data, so a file moved to another bid, or a key copied to another consultation, no
longer opens; a single altered byte is detected, never decrypted into something else.

What it does not guarantee: someone holding both the database and the master key, outside the
service, can unwrap the private key and read the bids at any time. The seal protects the bids
against the platform's users and against a leaked database or backup, not against whoever
runs the platform with its secrets. A true time-lock, which nobody could open before the
deadline, needs a third party to hold the key until then (a key escrow or a time-lock
service), which this platform does not have. Keep the master key out of the database's
backups, and treat the opening's event log as the evidence of when the bids were read.
"""

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_BYTES = 32
RSA_KEY_BITS = 3072
NONCE_BYTES = 12
ENVELOPE_VERSION = 1
KEY_FILE = Path("secrets") / "procurement-seal.key"
SETTING = "COMMUNS_PROCUREMENT_SEAL_KEY"

_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                     label=None)


class SealBroken(Exception):
    """The sealed file does not open: the wrong key, another bid's or consultation's
    associated data, or bytes altered since it was sealed."""


@dataclass(frozen=True)
class SealingKey:
    """A consultation's key pair as it is stored: the public key, which seals, and the private
    key wrapped under the master key, which only the opening unwraps."""

    public_pem: bytes
    wrapped_private: bytes


def new_master_key():
    """The key-encryption key that wraps every consultation's private key."""
    return secrets.token_bytes(MASTER_KEY_BYTES)


def new_consultation_key(master_key, consultation_id):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    private_der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(master_key).encrypt(nonce, private_der, _consultation_data(consultation_id))
    return SealingKey(public_pem=public_pem, wrapped_private=nonce + wrapped)


def seal(public_pem, content, associated_data):
    """``content`` encrypted for the holder of the consultation's private key, as a versioned
    envelope: version (1 byte) | length of the wrapped data key (2 bytes, big-endian) |
    wrapped data key | nonce (12 bytes) | ciphertext and GCM tag.

    ``associated_data`` (such as ``b"<consultation_id>/<bid_id>/<file index>"``) is not in
    the envelope: the opening gives it again, and a file sealed for another place fails."""
    public_key = serialization.load_pem_public_key(public_pem)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, content, associated_data)
    wrapped_key = public_key.encrypt(data_key, _OAEP)
    return (bytes([ENVELOPE_VERSION]) + len(wrapped_key).to_bytes(2, "big") + wrapped_key
            + nonce + ciphertext)


def unseal(master_key, wrapped_private, consultation_id, sealed, associated_data):
    """The content of a sealed file; ``SealBroken`` when anything does not match."""
    private_key = _unwrapped(master_key, wrapped_private, consultation_id)
    if len(sealed) < 3 or sealed[0] != ENVELOPE_VERSION:
        raise SealBroken("Not a sealed file of a known version.")
    key_length = int.from_bytes(sealed[1:3], "big")
    wrapped_key = sealed[3:3 + key_length]
    nonce = sealed[3 + key_length:3 + key_length + NONCE_BYTES]
    ciphertext = sealed[3 + key_length + NONCE_BYTES:]
    try:
        data_key = private_key.decrypt(wrapped_key, _OAEP)
        return AESGCM(data_key).decrypt(nonce, ciphertext, associated_data)
    except (ValueError, InvalidTag):
        # A truncated envelope shows as a wrong-sized key or nonce, hence ValueError too.
        raise SealBroken("The sealed file does not open with this key and place.") from None


def load_master_key(config, data_dir):
    """The master key: ``config["PROCUREMENT_SEAL_KEY"]`` (standard base64 of 32 bytes) when
    set, else the key file under the data directory, created at first use."""
    encoded = config.get("PROCUREMENT_SEAL_KEY")
    if encoded:
        return _decoded(encoded, SETTING)
    path = Path(data_dir) / KEY_FILE
    if path.exists():
        return _read_key_file(path)
    return _created_key_file(path)


def _consultation_data(consultation_id):
    return str(consultation_id).encode("utf-8")


def _unwrapped(master_key, wrapped_private, consultation_id):
    nonce, wrapped = wrapped_private[:NONCE_BYTES], wrapped_private[NONCE_BYTES:]
    try:
        private_der = AESGCM(master_key).decrypt(
            nonce, wrapped, _consultation_data(consultation_id))
    except (ValueError, InvalidTag):
        raise SealBroken("The consultation's key does not unwrap with this master key.") from None
    return serialization.load_der_private_key(private_der, password=None)


def _decoded(encoded, source):
    """The key in ``encoded``; the error names where it came from, never its value."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{source}: not standard base64.") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(f"{source}: a seal key is {MASTER_KEY_BYTES} bytes in standard base64, "
                         f"not {len(key)}.")
    return key


def _read_key_file(path):
    return _decoded(path.read_text(encoding="ascii"), str(path))


def _created_key_file(path):
    """A new key written to ``path`` (mode 0600), or the key another process wrote there
    first: the key is written whole to a private file, which is then linked to ``path`` in
    one step, so nobody ever reads a half-written key, and of two processes starting together
    the second finds the first's key instead of replacing it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_master_key()
    pending = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as key_file:
            key_file.write(base64.b64encode(key).decode("ascii") + "\n")
            key_file.flush()
            os.fsync(key_file.fileno())
        try:
            os.link(pending, path)
        except FileExistsError:
            return _read_key_file(path)
    finally:
        os.unlink(pending)
    # Losing this key loses every sealed bid: make the new name durable before any is sealed.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return key
