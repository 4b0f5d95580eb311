"""The write-once store of files named by their SHA-256."""

import hashlib

import pytest

from servicekit.files import AlteredFile, FileStore, fingerprint

CONTENT = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def test_the_fingerprint_is_the_sha256_in_hex():
    assert fingerprint(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert fingerprint(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_a_stored_file_is_named_by_its_fingerprint_and_read_back(tmp_path):
    store = FileStore(tmp_path)
    sha256 = store.put(CONTENT)
    assert sha256 == fingerprint(CONTENT)
    assert (tmp_path / sha256[:2] / sha256[2:]).read_bytes() == CONTENT
    assert store.get(sha256) == CONTENT
    assert store.verify(sha256)


def test_the_same_content_is_stored_once_and_no_temporary_file_stays(tmp_path):
    store = FileStore(tmp_path)
    assert store.put(CONTENT) == store.put(CONTENT)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [fingerprint(CONTENT)[2:]]


@pytest.mark.parametrize("position", [0, 9, len(CONTENT) - 1])
def test_flipping_any_byte_is_detected(tmp_path, position):
    store = FileStore(tmp_path)
    sha256 = store.put(CONTENT)
    path = tmp_path / sha256[:2] / sha256[2:]
    altered = bytearray(CONTENT)
    altered[position] ^= 0x01
    path.write_bytes(bytes(altered))
    assert not store.verify(sha256)
    with pytest.raises(AlteredFile):
        store.get(sha256)


def test_storing_again_does_not_hide_an_alteration(tmp_path):
    store = FileStore(tmp_path)
    sha256 = store.put(CONTENT)
    (tmp_path / sha256[:2] / sha256[2:]).write_bytes(CONTENT + b"\n")
    store.put(CONTENT)
    assert not store.verify(sha256)


def test_a_missing_file_fails_verification(tmp_path):
    store = FileStore(tmp_path)
    assert not store.verify(fingerprint(b"never stored"))
    with pytest.raises(FileNotFoundError):
        store.get(fingerprint(b"never stored"))


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABC", fingerprint(b"x").upper(), ""])
def test_only_a_fingerprint_names_a_file(tmp_path, name):
    with pytest.raises(ValueError):
        FileStore(tmp_path).verify(name)


def test_a_file_written_as_a_stream_is_stored_under_its_fingerprint(tmp_path):
    store = FileStore(tmp_path)
    with store.writer() as stored:
        for start in range(0, len(CONTENT), 1000):
            stored.write(CONTENT[start:start + 1000])
    assert (stored.sha256, stored.size) == (fingerprint(CONTENT), len(CONTENT))
    with store.open(stored.sha256) as stream:
        assert stream.read() == CONTENT


def test_a_stream_that_fails_half_way_stores_nothing(tmp_path):
    store = FileStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer() as stored:
        stored.write(CONTENT[:100])
        raise RuntimeError("the upload broke off")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
