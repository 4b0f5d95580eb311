"""An act's way through e-administration over HTTP, as a commune's agent drives it (issue 5):
created with its PDF, signed in PAdES with the commune's certificate, transmitted to our
prefecture, acknowledged, archived; the archived signed PDF verifies, and one flipped byte in
the archive is found. Refusals name their field and write nothing; a commune that does not
subscribe to e-administration is refused, naming the subscription."""

import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfWriter

import demo
from services.eadmin.tests.pki import PASSPHRASE, TestAuthority, sample_pdf
from tests.e2e.support import wait_for

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
EADMIN = f"/api/v1/communes/{LAVERUNE}/eadmin"


@pytest.fixture
def suite(start_services, prefecture_sandbox):
    from servicekit.cli import RUNNABLE, service_class

    return start_services(*(service_class(name) for name in RUNNABLE),
                          **prefecture_sandbox.eadmin_config(), EADMIN_ROUND_SECONDS=0.2)


@pytest.fixture
def admin_api(api, suite):
    """The reference convention registered (Lavérune subscribes to e-administration, the
    others do not), once e-administration has heard of it."""
    from conftest import ADMIN_PASSWORD, ADMIN_USERNAME

    admin = api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)
    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    registered = admin.post("/api/v1/conventions", json=demo.convention_from(reference))
    assert registered.status_code == 201, registered.text
    answer = wait_for(lambda: admin.get(f"{EADMIN}/acts"), lambda a: a.status_code == 200)
    assert answer.status_code == 200, answer.text
    return admin


def b64(content):
    return base64.b64encode(content).decode("ascii")


def new_act(number="2022_042", content=None, nature="AI"):
    return {"number": number, "nature": nature, "subject": "Arrêté de voirie, rue des Écoles",
            "classification": "6.1", "decided_on": "2022-03-01",
            "document": {"file_name": "arrete.pdf", "content": b64(content or sample_pdf())},
            "annexes": [{"file_name": "plan.pdf", "content": b64(sample_pdf("Plan"))}],
            "signatories": [{"signatory": "Marie Dupont", "capacity": "Maire"}]}


def register(api, issued, holder="Marie Dupont"):
    answer = api.post(f"{EADMIN}/certificates", json={
        "holder": holder, "pkcs12": b64(issued.pkcs12), "passphrase": PASSPHRASE.decode()})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_act_is_signed_transmitted_acknowledged_and_archived_intact(
        admin_api, prefecture_sandbox, suite_config):
    certificate = register(admin_api, TestAuthority().issue("Marie Dupont"))
    created = admin_api.post(f"{EADMIN}/acts", json=new_act())
    assert created.status_code == 201, created.text
    act = created.json()
    assert created.headers["Location"].endswith(act["id"])

    signed = admin_api.post(f"{EADMIN}/acts/{act['id']}/signatures", json={
        "certificate_id": certificate["id"], "passphrase": PASSPHRASE.decode()})
    assert signed.status_code == 201, signed.text
    assert signed.json()["state"] == "signed"
    assert signed.json()["transmit_by"] is not None  # an individual decision: 15 days

    sent = admin_api.post(f"{EADMIN}/acts/{act['id']}/transmission")
    assert sent.status_code == 202, sent.text
    identifier = sent.json()["identifier"]
    assert identifier == "034-213401342-20220301-2022_042-AI"
    prefecture_sandbox.set_status(identifier, 4, at="2022-03-02")
    archived = wait_for(lambda: admin_api.get(f"{EADMIN}/acts/{act['id']}").json(),
                        lambda a: a["state"] == "archived")
    assert (archived["state"], archived["acknowledged_on"]) == ("archived", "2022-03-02")

    entries = admin_api.get(f"{EADMIN}/archive").json()
    assert [e["number"] for e in entries] == ["2022_042"]
    assert entries[0]["keep_until"] is None  # an arrêté is kept permanently
    check = admin_api.get(f"{EADMIN}/archive/{act['id']}/integrity").json()
    assert check["intact"] is True
    assert [(s["signer"], s["intact"], s["valid"]) for s in check["signatures"]] == [
        ("Marie Dupont", True, True)]

    package = admin_api.get(f"{EADMIN}/archive/{act['id']}/package")
    assert package.status_code == 200, package.text
    assert package.headers["Content-Type"].startswith("application/zip")
    with zipfile.ZipFile(io.BytesIO(package.content)) as content:
        names = content.namelist()
        assert names[0] == "manifest.xml" and len(names) == 3
        assert b"ArchiveTransfer" in content.read("manifest.xml")

    # One byte flipped in the archived signed PDF is found.
    signed_pdf = next(f for f in entries[0]["files"] if f["role"] == "act")
    stored = next(Path(suite_config["DATA_DIR"]).glob(f"**/{signed_pdf['sha256'][2:]}*"))
    content = bytearray(stored.read_bytes())
    content[len(content) // 2] ^= 0x01
    stored.write_bytes(bytes(content))
    check = admin_api.get(f"{EADMIN}/archive/{act['id']}/integrity").json()
    assert (check["intact"], check["altered"]) == (False, ["arrete.pdf"])
    assert admin_api.get(f"{EADMIN}/archive/{act['id']}/package").status_code == 409


def test_refusals_name_their_field_and_write_nothing(admin_api):
    now = datetime.now(UTC)
    expired = register(admin_api, TestAuthority().issue(
        "Marie Dupont", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)))
    someone_else = register(admin_api, TestAuthority().issue("Jean Martin"), holder="Jean Martin")
    revoked = register(admin_api, TestAuthority().issue("Marie Dupont"))
    assert admin_api.post(
        f"{EADMIN}/certificates/{revoked['id']}/revocation").json()["revoked"] is True
    created = admin_api.post(f"{EADMIN}/acts", json=new_act())
    assert created.status_code == 201, created.text
    act_id = created.json()["id"]

    refusals = [
        (admin_api.post(f"{EADMIN}/acts/{act_id}/signatures", json={
            "certificate_id": expired["id"], "passphrase": PASSPHRASE.decode()}),
         "certificate"),
        (admin_api.post(f"{EADMIN}/acts/{act_id}/signatures", json={
            "certificate_id": revoked["id"], "passphrase": PASSPHRASE.decode()}),
         "certificate"),
        (admin_api.post(f"{EADMIN}/acts/{act_id}/signatures", json={
            "certificate_id": someone_else["id"], "passphrase": PASSPHRASE.decode()}),
         "certificate_id"),
        (admin_api.post(f"{EADMIN}/acts", json=new_act()), "number"),  # already used
        (admin_api.post(f"{EADMIN}/acts", json=new_act(number="2022-043")), "number"),
        (admin_api.post(f"{EADMIN}/acts", json=new_act(number="2022_044",
                                                       content=b"GIF89a not a pdf")),
         "document"),
    ]
    for answer, field in refusals:
        assert answer.status_code == 422, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert field in answer.json()["errors"], answer.json()
    acts = admin_api.get(f"{EADMIN}/acts").json()
    assert [(a["number"], a["state"]) for a in acts] == [("2022_042", "draft")]
    assert [s["signed_at"] for s in acts[0]["signatures"]] == [None]


def test_a_commune_without_e_administration_is_refused_naming_it(admin_api):
    answer = admin_api.get(f"/api/v1/communes/{MONTPELLIER}/eadmin/acts")
    assert answer.status_code == 403, answer.text
    assert "does not subscribe to" in answer.json()["detail"]
    assert "(eadmin)" in answer.json()["detail"]


BATCH = {"kind": "titres", "year": 2022, "number": 1,
         "budget": {"id_coll": "21340134200018", "cod_col": "134", "cod_bud": "01",
                    "id_post": "034000", "label": "Lavérune - budget principal"},
         "pieces": [{"number": 1, "subject": "Cantine, mars 2022",
                     "lines": [{"account": "7067", "amount": "150.11",
                                "party": "Famille Martin"}],
                     "attachments": [{"file_name": "facture.pdf",
                                      "content": b64(sample_pdf("Facture"))}]}]}


@pytest.mark.parametrize("accepted, verdict", [(True, "ACK"), (False, "NACK")])
def test_a_bordereau_goes_to_the_accountant_and_comes_back_acknowledged_or_refused(
        admin_api, prefecture_sandbox, accepted, verdict):
    prefecture_sandbox.answer_pes(accepted=accepted,
                                  errors=() if accepted else ["Bordereau déséquilibré"])
    sent = admin_api.post(f"{EADMIN}/accounting-batches", json=BATCH)
    assert sent.status_code == 202, sent.text
    assert (sent.json()["state"], sent.json()["total"]) == ("posted", "150.11")
    answered = wait_for(lambda: admin_api.get(f"{EADMIN}/accounting-batches").json()[0],
                        lambda b: b["verdict"] is not None)
    assert answered["verdict"] == verdict
    assert answered["state"] == ("accepted" if accepted else "refused")
    assert answered["errors"] == ([] if accepted else ["Bordereau déséquilibré"])
    again = admin_api.post(f"{EADMIN}/accounting-batches", json=BATCH)
    assert again.status_code == 409, again.text
    assert again.json()["detail"].startswith(
        f"Bordereau {BATCH['number']} of {BATCH['kind']} {BATCH['year']} was already sent")


def acknowledged_act(api, prefecture_sandbox, number="2022_050"):
    certificate = register(api, TestAuthority().issue("Marie Dupont"))
    act = api.post(f"{EADMIN}/acts", json=new_act(number=number)).json()
    api.post(f"{EADMIN}/acts/{act['id']}/signatures", json={
        "certificate_id": certificate["id"], "passphrase": PASSPHRASE.decode()})
    identifier = api.post(f"{EADMIN}/acts/{act['id']}/transmission").json()["identifier"]
    prefecture_sandbox.set_status(identifier, 4, at=datetime.now(UTC).date().isoformat())
    wait_for(lambda: api.get(f"{EADMIN}/acts/{act['id']}").json(),
             lambda a: a["state"] == "archived")
    return act["id"], identifier


def test_the_prefectures_request_is_kept_and_answered(admin_api, prefecture_sandbox):
    act_id, identifier = acknowledged_act(admin_api, prefecture_sandbox)
    prefecture_sandbox.send_message(identifier, "3-1", text="Merci de joindre le plan signé.")
    def requests(act):
        return [e["message"] for e in act["history"]
                if e["message"] and e["message"].get("type") == "3-1"]

    act = wait_for(lambda: admin_api.get(f"{EADMIN}/acts/{act_id}").json(), requests)
    (request,) = requests(act)
    assert (request["type"], request["text"]) == ("3-1", "Merci de joindre le plan signé.")

    letter = {"file_name": "plan-signe.pdf", "content": b64(sample_pdf("Plan signé"))}
    wrong = admin_api.post(f"{EADMIN}/acts/{act_id}/answers", json={
        "message_id": request["id"], "reply": "4-2", "document": letter})
    assert wrong.status_code == 422 and "reply" in wrong.json()["errors"], wrong.text
    answered = admin_api.post(f"{EADMIN}/acts/{act_id}/answers", json={
        "message_id": request["id"], "reply": "3-2", "document": letter})
    assert answered.status_code == 201, answered.text
    assert answered.json()["history"][-1]["message"] == {"answers": request["id"],
                                                         "reply": "3-2"}


def test_an_act_of_several_mebibytes_goes_through_the_gateway_and_the_bus(admin_api):
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Subject": "x" * (3 * 1024 * 1024)})
    output = io.BytesIO()
    writer.write(output)
    created = admin_api.post(f"{EADMIN}/acts",
                             json=new_act(number="2022_060", content=output.getvalue()))
    assert created.status_code == 201, created.text
    (document,) = [f for f in created.json()["files"] if f["role"] == "act"]
    assert document["size"] == len(output.getvalue()) > 3 * 1024 * 1024
