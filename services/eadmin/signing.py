"""PAdES signatures of acts with pyHanko, and the commune's signing certificates (Art. 2).

Each signatory of an act's circuit adds a PAdES baseline B-B signature (ETSI EN 319 142-1,
SubFilter ETSI.CAdES.detached) in an incremental update of the PDF: earlier signatures stay
intact, and ``verify_pdf`` reports each one. No time-stamping authority is configured, so the
signing time is the one the signatory claims (B-B), not a third party's (B-T); a verifier checks
the chain at the time of verification, which is why an act is archived soon after its AR.

A certificate that expired or was revoked must not sign (the act would not verify, and the
prefecture's TdT refuses such signatures as S2LOW's pades-valid does); the commune is warned 60
days before a certificate expires so it can renew it in time (Art. 2). Revocation is what the
commune records: no CRL or OCSP responder is reachable from the platform.

pyHanko's synchronous API runs an asyncio event loop (``asyncio.run``). Under Nameko, the
process is monkeypatched by eventlet and several greenthreads share one OS thread, hence one
"running loop" slot; the loop therefore runs in eventlet's pool of native threads
(``eventlet.tpool``), which also keeps the hub responsive while the digest is computed.
"""

import _imp
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO

import eventlet
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from eventlet import tpool
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from contracts.errors import Conflict, Invalid
from servicekit.clock import LEGAL_TIME_ZONE

EXPIRY_WARNING_DAYS = 60
DIGEST = "sha256"


class UnreadableCertificate(Invalid):
    """The PKCS#12 file is not one, holds no key or certificate, or the passphrase is wrong."""

    def __init__(self, message):
        super().__init__({"pkcs12": [message]})


class UnusableCertificate(Invalid):
    """The certificate may not sign: expired, not yet valid or revoked."""

    def __init__(self, message):
        super().__init__({"certificate": [message]})


@dataclass(frozen=True)
class Certificate:
    """What the commune registers of an X.509 certificate. Validity bounds are calendar days
    in France (the ones the commune is warned about); ``sign_pdf`` checks the exact instants."""

    subject: str
    serial: str
    not_before: date
    not_after: date
    fingerprint_sha256: str
    pem: bytes


@dataclass(frozen=True)
class SignatureCheck:
    """One signature of a PDF. ``intact``: the signed revision's bytes are unchanged.
    ``valid``: intact, the cryptographic signature holds, and nothing added after it breaks
    it (only further signatures may follow). ``trusted``: the signer's certificate chains to
    one of the trust roots and is valid now."""

    field: str
    signer: str
    signed_at: datetime | None
    intact: bool
    valid: bool
    trusted: bool


def load_certificate(pem_or_der):
    """The registered view of a PEM or DER X.509 certificate."""
    try:
        if pem_or_der.lstrip().startswith(b"-----BEGIN"):
            return _describe(x509.load_pem_x509_certificate(pem_or_der))
        return _describe(x509.load_der_x509_certificate(pem_or_der))
    except ValueError:
        raise Invalid({"certificate": ["Not an X.509 certificate (PEM or DER)."]}) from None


def load_signer(pkcs12, passphrase):
    """The private key, certificate and chain of a PKCS#12 (.p12/.pfx) file: the key as a
    ``cryptography`` private key, the certificates as ``Certificate``."""
    key, certificate, chain = _open_pkcs12(pkcs12, passphrase)
    return key, _describe(certificate), [_describe(c) for c in chain]


def refuse_unusable(certificate, today, revoked):
    """Refuse a certificate that may not sign on ``today``: revoked, expired (after its
    ``not_after`` day) or not yet valid. ``certificate`` is anything with ``not_before`` and
    ``not_after`` dates, a ``Certificate`` or a registered one."""
    if revoked:
        raise UnusableCertificate("This certificate was revoked: it can no longer sign.")
    if today > certificate.not_after:
        raise UnusableCertificate(
            f"This certificate expired on {certificate.not_after:%d/%m/%Y}: "
            "sign with a renewed one."
        )
    if today < certificate.not_before:
        raise UnusableCertificate(
            f"This certificate is valid only from {certificate.not_before:%d/%m/%Y}."
        )


def expires_within(not_after, today, within_days=EXPIRY_WARNING_DAYS):
    """Whether a certificate still valid on ``today`` expires within ``within_days`` days
    (the last day included): time to renew it (Art. 2)."""
    return today <= not_after <= today + timedelta(days=within_days)


def expiring(certificates, today, within_days=EXPIRY_WARNING_DAYS):
    """The certificates to renew, the soonest to expire first."""
    return sorted(
        (c for c in certificates if expires_within(c.not_after, today, within_days)),
        key=lambda c: c.not_after,
    )


def sign_pdf(pdf, pkcs12, passphrase, signer_name, reason, location, field_name, at):
    """``pdf`` with one more PAdES B-B signature in a new field ``field_name``, appended as an
    incremental update so the signatures already there stay valid.

    ``at`` (an aware datetime) is the signing time written in the signature; the certificate
    must be valid at that very instant. A field already signed is a Conflict."""
    key, certificate, chain = _open_pkcs12(pkcs12, passphrase)
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        raise UnusableCertificate(
            f"This certificate is valid from {_local(certificate.not_valid_before_utc)} to "
            f"{_local(certificate.not_valid_after_utc)}, not at {_local(at)}."
        )
    writer = _incremental_writer(pdf)
    if field_name in _signed_fields(writer.prev):
        raise Conflict(f"The signature field {field_name} is already signed.")
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(_der(certificate)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(_der(c)) for c in chain]
        ),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        name=signer_name,
        reason=reason,
        location=location,
        md_algorithm=DIGEST,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    signed = _in_native_thread(_PdfSignerAt(metadata, signer, at).sign_pdf, writer)
    return signed.getvalue()


def _in_native_thread(function, *args):
    """``tpool.execute``, which runs ``function`` in the calling greenthread instead while any
    thread holds the import lock — as pyHanko's first signature does, importing lazily in a
    pool thread: there its event loop would collide with another's. So wait for the lock to
    be free first."""
    while _imp.lock_held():
        eventlet.sleep(0.005)
    return tpool.execute(function, *args)


def verify_pdf(pdf, trust_roots):
    """Each signature of ``pdf``, in document order, checked against ``trust_roots`` (PEM
    certificates of the authorities the verifier trusts). Offline: no CRL or OCSP fetched."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError):
        raise Invalid({"document": ["This PDF cannot be read."]}) from None
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(_der(_load_pem(pem))) for pem in trust_roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    return [_check(signature, context) for signature in signatures]


class _PdfSignerAt(signers.PdfSigner):
    """A PdfSigner that writes the given signing time instead of the system clock's, so the
    service's clock (frozen in tests) is the one the signature claims."""

    def __init__(self, metadata, signer, at):
        super().__init__(metadata, signer=signer)
        self._at = at

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at
        return session


def _check(signature, context):
    # Each signature gets its own validation run: pyHanko's sync API starts its own loop.
    status = _in_native_thread(validate_pdf_signature, signature, context)
    return SignatureCheck(
        field=signature.field_name,
        signer=status.signing_cert.subject.native.get("common_name", "")
        if status.signing_cert else "",
        signed_at=status.signer_reported_dt,
        intact=status.intact,
        valid=status.intact and status.valid and status.docmdp_ok is not False,
        trusted=status.trusted,
    )


def _open_pkcs12(pkcs12, passphrase):
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    try:
        key, certificate, chain = crypto_pkcs12.load_key_and_certificates(
            pkcs12, passphrase or None
        )
    except (ValueError, TypeError):
        # cryptography says the same for a wrong passphrase and for a file that is no PKCS#12.
        raise UnreadableCertificate(
            "This PKCS#12 file cannot be opened: not a .p12/.pfx, or a wrong passphrase."
        ) from None
    if key is None or certificate is None:
        raise UnreadableCertificate("This PKCS#12 file holds no private key and certificate.")
    return key, certificate, chain


def _incremental_writer(pdf):
    try:
        return IncrementalPdfFileWriter(BytesIO(pdf))
    except (PdfError, ValueError):
        raise Invalid({"document": ["This PDF cannot be read."]}) from None


def _signed_fields(reader):
    return {signature.field_name for signature in reader.embedded_signatures}


def _describe(certificate):
    return Certificate(
        subject=certificate.subject.rfc4514_string(),
        serial=format(certificate.serial_number, "X"),
        not_before=certificate.not_valid_before_utc.astimezone(LEGAL_TIME_ZONE).date(),
        not_after=certificate.not_valid_after_utc.astimezone(LEGAL_TIME_ZONE).date(),
        fingerprint_sha256=hashlib.sha256(_der(certificate)).hexdigest(),
        pem=certificate.public_bytes(serialization.Encoding.PEM),
    )


def _der(certificate):
    return certificate.public_bytes(serialization.Encoding.DER)


def _load_pem(pem):
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise Invalid({"trust_roots": ["Not a PEM X.509 certificate."]}) from None


def _local(moment):
    return f"{moment.astimezone(LEGAL_TIME_ZONE):%d/%m/%Y %H:%M}"
