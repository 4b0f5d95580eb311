"""PAdES signatures of acts and the commune's certificates (Art. 2): a certificate that expired
or was revoked never signs, one expiring within 60 days is listed, and a signed act verifies."""

import hashlib
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from contracts.errors import Conflict, Invalid
from servicekit.clock import LEGAL_TIME_ZONE
from services.eadmin import signing
from services.eadmin.tests.pki import PASSPHRASE, TestAuthority, sample_pdf

TODAY = date(2024, 6, 15)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def authority():
    return TestAuthority()


@pytest.fixture(scope="module")
def mayor(authority):
    return authority.issue("Maire de Grabels")


@pytest.fixture(scope="module")
def deputy(authority):
    return authority.issue("Adjointe au maire")


def now():
    # PDF dates keep whole seconds.
    return datetime.now(UTC).replace(microsecond=0)


def sign(pdf, issued, field_name="Signature1", at=None, passphrase=PASSPHRASE):
    return signing.sign_pdf(
        pdf, issued.pkcs12, passphrase, signer_name="Mme la Maire", reason="Maire — acte 2024_001",
        location="Grabels", field_name=field_name, at=at or now(),
    )


# -- certificates -------------------------------------------------------------------------------


def test_a_certificate_is_read_from_pem_and_from_der(mayor):
    der = x509.load_pem_x509_certificate(mayor.pem).public_bytes(serialization.Encoding.DER)
    from_pem, from_der = signing.load_certificate(mayor.pem), signing.load_certificate(der)
    assert from_pem == from_der
    assert "CN=Maire de Grabels" in from_pem.subject
    assert from_pem.fingerprint_sha256 == hashlib.sha256(der).hexdigest()
    assert from_pem.serial == format(x509.load_der_x509_certificate(der).serial_number, "X")
    assert from_pem.not_after == mayor.not_after.astimezone(LEGAL_TIME_ZONE).date()
    assert from_pem.pem == mayor.pem


def test_what_is_not_a_certificate_is_refused():
    with pytest.raises(Invalid) as refused:
        signing.load_certificate(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----")
    assert list(refused.value.errors) == ["certificate"]


@pytest.mark.parametrize("passphrase", [PASSPHRASE, PASSPHRASE.decode()])
def test_a_pkcs12_gives_its_key_certificate_and_chain(authority, mayor, passphrase):
    key, certificate, chain = signing.load_signer(mayor.pkcs12, passphrase)
    assert certificate == signing.load_certificate(mayor.pem)
    assert key.public_key().public_numbers() == x509.load_pem_x509_certificate(
        mayor.pem).public_key().public_numbers()
    assert [c.pem for c in chain] == [authority.pem]


def test_a_pkcs12_without_passphrase_opens_without_one(authority):
    issued = authority.issue("Maire sans secret", passphrase=None)
    assert signing.load_signer(issued.pkcs12, None)[1].subject.startswith("CN=Maire sans secret")


@pytest.mark.parametrize(
    "content, passphrase",
    [
        (None, b"wrong passphrase"),
        (None, None),
        (b"not a pkcs12 file", PASSPHRASE),
        (b"", PASSPHRASE),
    ],
)
def test_an_unreadable_pkcs12_is_refused(mayor, content, passphrase):
    with pytest.raises(signing.UnreadableCertificate) as refused:
        signing.load_signer(content if content is not None else mayor.pkcs12, passphrase)
    assert list(refused.value.errors) == ["pkcs12"]
    assert isinstance(refused.value, Invalid)


VALIDITY = signing.Certificate(
    subject="CN=Maire", serial="1", not_before=date(2024, 1, 1), not_after=date(2024, 6, 30),
    fingerprint_sha256="0" * 64, pem=b"",
)


@pytest.mark.parametrize(
    "today, revoked, problem",
    [
        (date(2023, 12, 31), False, "valid only from 01/01/2024"),  # the day before
        (date(2024, 1, 1), False, None),  # its first day
        (date(2024, 6, 30), False, None),  # its last day
        (date(2024, 7, 1), False, "expired on 30/06/2024"),  # the day after
        (date(2024, 3, 1), True, "revoked"),
        (date(2024, 7, 1), True, "revoked"),
    ],
)
def test_an_expired_revoked_or_future_certificate_may_not_sign(today, revoked, problem):
    if problem is None:
        signing.refuse_unusable(VALIDITY, today, revoked)
        return
    with pytest.raises(Invalid) as refused:
        signing.refuse_unusable(VALIDITY, today, revoked)
    assert list(refused.value.errors) == ["certificate"]
    assert problem in refused.value.errors["certificate"][0]


@pytest.mark.parametrize(
    "not_after, listed",
    [
        (TODAY - timedelta(days=1), False),  # already expired: refused, not "expiring"
        (TODAY, True),  # its last day
        (TODAY + timedelta(days=30), True),
        (TODAY + timedelta(days=60), True),  # day 60
        (TODAY + timedelta(days=61), False),  # day 61
    ],
)
def test_a_certificate_expiring_within_60_days_is_to_renew(not_after, listed):
    assert signing.expires_within(not_after, TODAY) is listed


def test_the_certificates_to_renew_come_soonest_first():
    def certificate(days):
        return signing.Certificate("CN=x", str(days), date(2020, 1, 1),
                                   TODAY + timedelta(days=days), "0" * 64, b"")

    registered = [certificate(days) for days in (90, 45, -1, 10, 60, 61)]
    assert [c.serial for c in signing.expiring(registered, TODAY)] == ["10", "45", "60"]
    assert [c.serial for c in signing.expiring(registered, TODAY, within_days=30)] == ["10"]


# -- signing and verifying ----------------------------------------------------------------------


def test_a_signed_act_verifies(authority, mayor):
    at = now()
    signed = sign(sample_pdf(), mayor, at=at)
    assert signed.startswith(sample_pdf())  # an incremental update: the act's bytes unchanged
    assert signing.verify_pdf(signed, [authority.pem]) == [
        signing.SignatureCheck(field="Signature1", signer="Maire de Grabels", signed_at=at,
                               intact=True, valid=True, trusted=True)
    ]


def test_a_second_signatory_adds_a_second_signature(authority, mayor, deputy):
    first = sign(sample_pdf(), mayor, "Signature1")
    both = sign(first, deputy, "Signature2")
    assert both.startswith(first)
    checks = signing.verify_pdf(both, [authority.pem])
    assert [(c.field, c.signer) for c in checks] == [
        ("Signature1", "Maire de Grabels"), ("Signature2", "Adjointe au maire")
    ]
    assert all(c.intact and c.valid and c.trusted for c in checks)


def test_a_signature_from_an_unknown_authority_is_valid_but_not_trusted(mayor):
    [check] = signing.verify_pdf(sign(sample_pdf(), mayor), [TestAuthority("Autre AC").pem])
    assert (check.intact, check.valid, check.trusted) == (True, True, False)


def test_one_altered_byte_of_the_signed_act_is_detected(authority, mayor):
    signed = sign(sample_pdf(), mayor)
    box = b"/MediaBox [ 0.0 0.0 595 842 ]"
    assert signed.count(box) == 1
    altered = signed.replace(box, box.replace(b"595", b"596"))
    [check] = signing.verify_pdf(altered, [authority.pem])
    assert (check.intact, check.valid) == (False, False)


def test_an_unsigned_pdf_has_no_signature_to_check(authority):
    assert signing.verify_pdf(sample_pdf(), [authority.pem]) == []


def test_verifying_what_is_not_a_pdf_is_refused(authority):
    with pytest.raises(Invalid) as refused:
        signing.verify_pdf(b"not a pdf", [authority.pem])
    assert list(refused.value.errors) == ["document"]


@pytest.mark.parametrize(
    "valid_from, valid_until",
    [
        (timedelta(days=-400), timedelta(seconds=-1)),  # expired a second ago
        (timedelta(seconds=60), timedelta(days=365)),  # valid in a minute
    ],
)
def test_a_certificate_outside_its_validity_at_the_signing_instant_does_not_sign(
    authority, valid_from, valid_until
):
    at = now()
    issued = authority.issue("Maire", not_before=at + valid_from, not_after=at + valid_until)
    with pytest.raises(signing.UnusableCertificate) as refused:
        sign(sample_pdf(), issued, at=at)
    assert list(refused.value.errors) == ["certificate"]


def test_a_wrong_passphrase_does_not_sign(mayor):
    with pytest.raises(signing.UnreadableCertificate):
        sign(sample_pdf(), mayor, passphrase=b"guess")


def test_a_field_signs_once(mayor, deputy):
    with pytest.raises(Conflict):
        sign(sign(sample_pdf(), mayor, "Signature1"), deputy, "Signature1")


def test_signing_what_is_not_a_pdf_is_refused(mayor):
    with pytest.raises(Invalid) as refused:
        sign(b"%PDF-1.7\nbroken", mayor)
    assert list(refused.value.errors) == ["document"]


GREEN_SIGNATURES = """
import eventlet
eventlet.monkey_patch()
from datetime import UTC, datetime
from services.eadmin import signing
from services.eadmin.tests.pki import PASSPHRASE, TestAuthority, sample_pdf

authority = TestAuthority()
mayor = authority.issue("Maire")

def sign_and_verify(position):
    signed = signing.sign_pdf(sample_pdf(), mayor.pkcs12, PASSPHRASE, "Maire", "Maire",
                              "Grabels", f"Signature{position}", datetime.now(UTC))
    return all(c.valid and c.trusted for c in signing.verify_pdf(signed, [authority.pem]))

print(all(eventlet.GreenPool().imap(sign_and_verify, range(4))))
"""


def test_signatures_run_in_concurrent_greenthreads_of_a_monkeypatched_process():
    # Nameko's workers are greenthreads sharing one OS thread: pyHanko's asyncio loops must
    # not collide. A separate process, since monkeypatching this one would change every test.
    run = subprocess.run([sys.executable, "-c", GREEN_SIGNATURES], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "True", run.stderr
