"""A throwaway PKI for the signature tests: a certification authority, the certificates it
issues to signatories (valid, expired, not yet valid) as PKCS#12 files, and a small PDF to sign.

Keys are ECDSA P-256: a real RGS certificate is more often RSA, but pyHanko signs and verifies
both the same way and P-256 keys are generated in microseconds, so each test gets its own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pypdf import PdfWriter

PASSPHRASE = b"correct horse battery staple"
A4 = (595, 842)  # points


@dataclass(frozen=True)
class Issued:
    """A signatory's certificate as the commune receives it from its certification authority."""

    pkcs12: bytes
    pem: bytes
    not_before: datetime
    not_after: datetime


class TestAuthority:
    """A root CA that issues signing certificates; ``pem`` is what a verifier trusts."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, name="AC Test Communs"):
        now = datetime.now(UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name, not_before=None, not_after=None, passphrase=PASSPHRASE):
        """A signing certificate for ``common_name``, valid from yesterday for a year unless
        told otherwise, with its key in a PKCS#12 protected by ``passphrase`` (None: none)."""
        now = datetime.now(UTC)
        not_before = not_before or now - timedelta(days=1)
        not_after = not_after or now + timedelta(days=365)
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        bundle = pkcs12.serialize_key_and_certificates(
            common_name.encode(), key, certificate, [self.certificate], encryption
        )
        return Issued(
            pkcs12=bundle,
            pem=certificate.public_bytes(serialization.Encoding.PEM),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )


def sample_pdf(title="Délibération n° 2024_001"):
    """A one-page A4 PDF, as a commune's word processor would export an act."""
    writer = PdfWriter()
    writer.add_blank_page(*A4)
    writer.add_metadata({"/Title": title})
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Montpellier Méditerranée Métropole"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_usage(ca):
    # pyHanko requires digitalSignature and nonRepudiation on a signer's certificate by default.
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )
