"""A council session's convocations over HTTP (issue 5, rule R1): refused when the delay in
jours francs is too short, with the earliest lawful date; otherwise each councillor receives
their convocation through a real SMTP server, with a personal link that shows the documents
and records the read receipt; a document added later is time-stamped and announced."""

import base64
import json
import re
from datetime import datetime, timedelta

import pytest

import demo
from servicekit.clock import LEGAL_TIME_ZONE
from services.eadmin.tests.pki import sample_pdf
from tests.e2e.support import wait_for

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
SESSIONS = f"/api/v1/communes/{LAVERUNE}/eadmin/sessions"
COUNCILLORS = [{"name": "Jean Martin", "email": "jean.martin@example.org"},
               {"name": "Awa Diallo", "email": "awa.diallo@example.org"}]


@pytest.fixture
def admin_api(api, start_services, smtp_server, web_config_port):
    from conftest import ADMIN_PASSWORD, ADMIN_USERNAME
    from servicekit.cli import RUNNABLE, service_class

    start_services(*(service_class(name) for name in RUNNABLE), **smtp_server.mail_config(),
                   PUBLIC_URL=f"http://127.0.0.1:{web_config_port}")
    admin = api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)
    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    assert admin.post("/api/v1/conventions",
                      json=demo.convention_from(reference)).status_code == 201
    answer = wait_for(lambda: admin.get(f"/api/v1/communes/{LAVERUNE}/eadmin/acts"),
                      lambda a: a.status_code == 200)
    assert answer.status_code == 200, answer.text
    return admin


def session_in(days, **changes):
    starts_at = (datetime.now(LEGAL_TIME_ZONE) + timedelta(days=days)).replace(
        hour=18, minute=30, second=0, microsecond=0)
    return {"starts_at": starts_at.isoformat(), "place": "Salle du conseil, mairie",
            "agenda": ["Budget primitif", "Tarifs de la cantine"], "councillors": COUNCILLORS,
            "documents": [{"file_name": "budget.pdf",
                           "content": base64.b64encode(sample_pdf("Budget")).decode()}],
            **changes}


def test_a_convocation_too_late_is_refused_with_the_earliest_lawful_day(admin_api,
                                                                        smtp_server):
    # Lavérune has fewer than 3,500 inhabitants: 3 jours francs, the session 4 days after.
    created = admin_api.post(SESSIONS, json=session_in(3))
    assert created.status_code == 201, created.text
    refused = admin_api.post(f"{SESSIONS}/{created.json()['id']}/convocations")
    assert refused.status_code == 422, refused.text
    earliest = (datetime.now(LEGAL_TIME_ZONE) + timedelta(days=4)).strftime("%d/%m/%Y")
    assert earliest in refused.json()["errors"]["starts_at"][0]
    assert smtp_server.messages == []
    session = admin_api.get(f"{SESSIONS}/{created.json()['id']}").json()
    assert session["convened_at"] is None


def test_councillors_receive_their_convocation_and_open_it(admin_api, api, smtp_server):
    created = admin_api.post(SESSIONS, json=session_in(4))
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    sent = admin_api.post(f"{SESSIONS}/{session_id}/convocations")
    assert sent.status_code == 200, sent.text
    assert smtp_server.wait_for(2)
    assert sorted(rcpt for m in smtp_server.messages for rcpt in m.rcpt_tos) == sorted(
        c["email"] for c in COUNCILLORS)
    again = admin_api.post(f"{SESSIONS}/{session_id}/convocations")
    assert again.status_code == 409

    jean = next(m for m in smtp_server.messages if "jean.martin" in m.rcpt_tos[0])
    assert "Budget primitif" in jean.text and "L2121-10" in jean.text
    link = re.search(r"http://\S+/api/v1/convocations/\S+", jean.text).group(0)
    page = api.get(link.split(str(api.base_url), 1)[1])
    assert page.status_code == 200, page.text
    assert (page.json()["councillor"], [d["file_name"] for d in page.json()["documents"]]) == (
        "Jean Martin", ["budget.pdf"])
    pdf = api.get(link.split(str(api.base_url), 1)[1] + "/documents/1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    receipts = {c["councillor"]: c["opened_at"]
                for c in admin_api.get(f"{SESSIONS}/{session_id}").json()["convocations"]}
    assert receipts["Jean Martin"] is not None and receipts["Awa Diallo"] is None

    added = admin_api.post(f"{SESSIONS}/{session_id}/documents", json={
        "file_name": "amendement.pdf",
        "content": base64.b64encode(sample_pdf("Amendement")).decode()})
    assert added.status_code == 201, added.text
    late = added.json()["documents"][-1]
    assert (late["file_name"], late["after_convocation"]) == ("amendement.pdf", True)
    assert smtp_server.wait_for(4)
    assert api.get("/api/v1/convocations/not-a-token").status_code == 404
