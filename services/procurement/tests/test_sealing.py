"""Bids sealed until the opening: a file opens only with its consultation's key, unwrapped by
the master key, and at its own place (consultation, bid, file index)."""

import base64
import os
import stat
import uuid

import pytest

from services.procurement import sealing
from services.procurement.sealing import (
    SealBroken,
    load_master_key,
    new_consultation_key,
    new_master_key,
    seal,
    unseal,
)

CONSULTATION = uuid.UUID("6f1c7a52-3c1e-4d0b-9b0e-2f4d1c5a7e01")
OTHER_CONSULTATION = uuid.UUID("0b8e2d17-9a4f-4c63-8d2a-5e7f3b1c9d02")
PLACE = f"{CONSULTATION}/bid-1/0".encode()
CONTENT = "Offre de prix : 48 250,00 € HT — mémoire technique joint.".encode()


@pytest.fixture(scope="module")
def master_key():
    return new_master_key()


@pytest.fixture(scope="module")
def key(master_key):
    # RSA-3072 key generation takes a moment: once for the module.
    return new_consultation_key(master_key, CONSULTATION)


def test_a_sealed_file_opens_with_its_key_at_its_place(master_key, key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    assert CONTENT not in sealed
    assert unseal(master_key, key.wrapped_private, CONSULTATION, sealed, PLACE) == CONTENT


def test_an_empty_file_round_trips(master_key, key):
    sealed = seal(key.public_pem, b"", PLACE)
    assert unseal(master_key, key.wrapped_private, CONSULTATION, sealed, PLACE) == b""


def test_the_envelope_is_versioned(key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    wrapped_key_length = int.from_bytes(sealed[1:3], "big")
    assert sealed[0] == sealing.ENVELOPE_VERSION
    assert wrapped_key_length == sealing.RSA_KEY_BITS // 8
    # the ciphertext is as long as the content, followed by GCM's 16-byte tag
    assert len(sealed) == 3 + wrapped_key_length + 12 + len(CONTENT) + 16


def test_the_consultation_id_may_be_its_uuid_or_its_text(master_key, key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    assert unseal(master_key, key.wrapped_private, str(CONSULTATION), sealed, PLACE) == CONTENT


def test_two_seals_of_the_same_content_differ(key):
    assert seal(key.public_pem, CONTENT, PLACE) != seal(key.public_pem, CONTENT, PLACE)


@pytest.mark.parametrize("position", [0, 1, 2, 3, 200, 3 + 384, 3 + 384 + 12, -17, -1])
def test_an_altered_byte_breaks_the_seal(master_key, key, position):
    """The version, the length, the wrapped data key, the nonce, the ciphertext, the tag."""
    sealed = bytearray(seal(key.public_pem, CONTENT, PLACE))
    sealed[position] ^= 0x01
    with pytest.raises(SealBroken):
        unseal(master_key, key.wrapped_private, CONSULTATION, bytes(sealed), PLACE)


@pytest.mark.parametrize("length", [0, 1, 3, 3 + 384, 3 + 384 + 12, 3 + 384 + 12 + 15])
def test_a_truncated_file_breaks_the_seal(master_key, key, length):
    sealed = seal(key.public_pem, CONTENT, PLACE)[:length]
    with pytest.raises(SealBroken):
        unseal(master_key, key.wrapped_private, CONSULTATION, sealed, PLACE)


@pytest.mark.parametrize("other_place", [
    f"{CONSULTATION}/bid-2/0".encode(),      # the same file moved to another bid
    f"{CONSULTATION}/bid-1/1".encode(),      # or to another file of the same bid
    f"{OTHER_CONSULTATION}/bid-1/0".encode(),
    b"",
])
def test_a_file_opened_at_another_place_breaks_the_seal(master_key, key, other_place):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    with pytest.raises(SealBroken):
        unseal(master_key, key.wrapped_private, CONSULTATION, sealed, other_place)


def test_a_wrapped_key_copied_to_another_consultation_does_not_unwrap(master_key, key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    with pytest.raises(SealBroken):
        unseal(master_key, key.wrapped_private, OTHER_CONSULTATION, sealed, PLACE)


def test_another_master_key_does_not_unwrap(key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    with pytest.raises(SealBroken):
        unseal(new_master_key(), key.wrapped_private, CONSULTATION, sealed, PLACE)


def test_another_consultations_key_does_not_open(master_key, key):
    other_key = new_consultation_key(master_key, OTHER_CONSULTATION)
    sealed = seal(other_key.public_pem, CONTENT, PLACE)
    with pytest.raises(SealBroken):
        unseal(master_key, key.wrapped_private, CONSULTATION, sealed, PLACE)


def test_an_altered_wrapped_key_does_not_unwrap(master_key, key):
    sealed = seal(key.public_pem, CONTENT, PLACE)
    wrapped = bytearray(key.wrapped_private)
    wrapped[-1] ^= 0x01
    with pytest.raises(SealBroken):
        unseal(master_key, bytes(wrapped), CONSULTATION, sealed, PLACE)


def test_the_database_holds_no_private_key_in_clear(key):
    assert b"PRIVATE KEY" not in key.wrapped_private
    assert key.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


# -- the master key


def _key_file(data_dir):
    return data_dir / "secrets" / "procurement-seal.key"


def test_the_master_key_file_is_created_private_and_read_back(tmp_path):
    key = load_master_key({}, tmp_path)
    path = _key_file(tmp_path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text()) == key
    assert load_master_key({}, tmp_path) == key
    # nothing left over from writing it
    assert [entry.name for entry in path.parent.iterdir()] == ["procurement-seal.key"]


def test_the_key_file_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        load_master_key({}, tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(_key_file(tmp_path).stat().st_mode) == 0o600


def test_the_key_another_process_wrote_first_wins(tmp_path, monkeypatch):
    """Two processes start together: the one whose key is linked second reads the first's."""
    theirs = new_master_key()
    link = os.link

    def link_after_them(source, target):
        _key_file(tmp_path).write_text(base64.b64encode(theirs).decode() + "\n")
        return link(source, target)

    monkeypatch.setattr(sealing.os, "link", link_after_them)
    assert load_master_key({}, tmp_path) == theirs
    assert [entry.name for entry in _key_file(tmp_path).parent.iterdir()] == [
        "procurement-seal.key"]


def test_the_configured_key_wins_over_the_file(tmp_path):
    load_master_key({}, tmp_path)
    configured = new_master_key()
    config = {"PROCUREMENT_SEAL_KEY": base64.b64encode(configured).decode()}
    assert load_master_key(config, tmp_path) == configured


def test_a_configured_key_writes_no_file(tmp_path):
    load_master_key({"PROCUREMENT_SEAL_KEY": base64.b64encode(new_master_key()).decode()},
                    tmp_path)
    assert not _key_file(tmp_path).exists()


@pytest.mark.parametrize("value", [
    base64.b64encode(bytes(16)).decode(),
    base64.b64encode(bytes(31)).decode(),
    base64.b64encode(bytes(33)).decode(),
    "not base64!",
])
def test_a_configured_key_of_the_wrong_length_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match="COMMUNS_PROCUREMENT_SEAL_KEY") as refused:
        load_master_key({"PROCUREMENT_SEAL_KEY": value}, tmp_path)
    assert value not in str(refused.value)


def test_a_damaged_key_file_is_refused(tmp_path):
    path = _key_file(tmp_path)
    path.parent.mkdir()
    path.write_text(base64.b64encode(bytes(16)).decode())
    with pytest.raises(ValueError, match="procurement-seal.key"):
        load_master_key({}, tmp_path)


def test_the_file_key_unwraps_what_it_wrapped(tmp_path):
    """What the service does across a restart: the key read back opens yesterday's seals."""
    consultation_key = new_consultation_key(load_master_key({}, tmp_path), CONSULTATION)
    sealed = seal(consultation_key.public_pem, CONTENT, PLACE)
    assert unseal(load_master_key({}, tmp_path), consultation_key.wrapped_private,
                  CONSULTATION, sealed, PLACE) == CONTENT
