"""No secret lives in the repository (GDPR art. 32, agreement art. 8): signing keys, Chorus Pro
credentials, the SMTP, database and broker passwords come from the environment or from files a
deployment provides. Every file git tracks is read; a private key, a secret given a literal
value in a deployment file, or a committed ``.env`` fails the test."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")
# A setting whose name says it is a secret, in compose or a shell script.
SECRET_SETTING = re.compile(
    r"^\s*-?\s*(?:export\s+)?(?P<name>[A-Z][A-Z0-9_]*(?:PASSWORD|PASS|SECRET|TOKEN|_KEY))"
    r"\s*[:=]\s*(?P<value>\S.*?)\s*$"
)
# Taken from the environment: ${NAME}, ${NAME:-} (empty when unset) or ${NAME:?message}.
FROM_ENVIRONMENT = re.compile(r"""^["']?\$\{[A-Z][A-Z0-9_]*(?::-|:\?[^}]*)?\}["']?$""")
DEPLOYMENT_FILES = ("docker-compose.yml", "Dockerfile", "deploy/")


# Outside a git checkout (an unpacked archive), every file but these is read instead.
NOT_THE_REPOSITORY = {".git", ".venv", "var", "__pycache__", "node_modules"}


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=False)
    if listed.returncode == 0:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    return [path for path in ROOT.rglob("*")
            if not NOT_THE_REPOSITORY.intersection(path.relative_to(ROOT).parts)]


def private_keys_in(text):
    return PRIVATE_KEY.findall(text)


def literal_secrets_in(text):
    """``(line number, setting)`` of each secret setting given a literal value."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        match = SECRET_SETTING.match(line)
        if match and not FROM_ENVIRONMENT.match(match["value"]):
            found.append((number, match["name"]))
    return found


def armour(label):
    # Put together here, so that this file holds no key header of its own.
    return "-----BEGIN " + label + "-----"


@pytest.mark.parametrize(("text", "keys"), [
    (armour("PRIVATE KEY") + "\nMIIE...", 1),
    (armour("RSA PRIVATE KEY"), 1),
    (armour("EC PRIVATE KEY"), 1),
    (armour("OPENSSH PRIVATE KEY"), 1),
    (armour("PUBLIC KEY"), 0),
    (armour("CERTIFICATE"), 0),
])
def test_a_private_key_block_is_recognised(text, keys):
    assert len(private_keys_in(text)) == keys


@pytest.mark.parametrize(("line", "literal"), [
    ("      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", False),
    ("  COMMUNS_SMTP_PASSWORD: ${COMMUNS_SMTP_PASSWORD:-}", False),
    ("  COMMUNS_CHORUS_CLIENT_SECRET: ${COMMUNS_CHORUS_CLIENT_SECRET}", False),
    ("      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-postgres}", True),
    ("      RABBITMQ_DEFAULT_PASS: guest", True),
    ("export COMMUNS_PROCUREMENT_SEAL_KEY=abcdef", True),
    ("      - COMMUNS_OPERATOR_CALLBACK_TOKEN=s3cr3t", True),
    ("  # COMMUNS_DB_PASSWORD: communs", False),
    ("  COMMUNS_HTTP_PORT: ${COMMUNS_HTTP_PORT:-8000}", False),
])
def test_a_secret_with_a_literal_value_is_recognised(line, literal):
    assert bool(literal_secrets_in(line)) is literal


def test_no_private_key_is_committed():
    found = {}
    for path in tracked_files():
        if path.is_file():
            keys = private_keys_in(path.read_text(encoding="utf-8", errors="ignore"))
            if keys:
                found[str(path.relative_to(ROOT))] = len(keys)
    assert found == {}


def test_the_deployment_takes_every_secret_from_the_environment():
    found = {}
    for path in tracked_files():
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and relative.startswith(DEPLOYMENT_FILES):
            literal = literal_secrets_in(path.read_text(encoding="utf-8"))
            if literal:
                found[relative] = literal
    assert found == {}


def test_no_environment_file_is_committed():
    committed = [path.name for path in tracked_files()
                 if path.name == ".env" or path.name.startswith(".env.")]
    assert committed == []
