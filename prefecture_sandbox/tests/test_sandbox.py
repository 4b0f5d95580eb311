"""The local prefecture through werkzeug's test client, on a clock the tests move: what it
refuses, how time moves an act to its AR, and its control API."""

import io
import tarfile
from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug.test import Client

from prefecture_sandbox.app import PrefectureSandbox
from prefecture_sandbox.checks import check_archive
from services.eadmin import actes
from services.eadmin.tests.actes_samples import LAVERUNE, sample_act, sample_files

ACCOUNT = ("commune", "pw")
STARTED = datetime(2022, 3, 4, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = STARTED

    def __call__(self):
        return self.now


def built(number="2022_12"):
    return actes.build_transmission(sample_act(number=number), LAVERUNE, sample_files(),
                                    sent_on=date(2022, 3, 4))


def archive_of(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def unpacked(transmission):
    with tarfile.open(fileobj=io.BytesIO(transmission.archive_bytes), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def http(clock):
    return Client(PrefectureSandbox(ACCOUNT, step_seconds=60, now=clock))


def post(http, transmission, auth=ACCOUNT):
    return http.post("/modules/actes/actes_transac_submit.php", auth=auth, data={
        "api": "1", "enveloppe": (io.BytesIO(transmission.archive_bytes),
                                  transmission.archive_name)})


def status(http, transaction_id):
    return http.get(f"/modules/actes/actes_transac_get_status.php?transaction={transaction_id}",
                    auth=ACCOUNT).get_data().decode("latin-1").splitlines()


def test_time_moves_a_posted_act_to_transmitted_then_acknowledged_with_its_ar(http, clock):
    sent = built()
    answer = post(http, sent).get_data(as_text=True).splitlines()
    assert answer[0] == "OK"
    transaction_id = answer[1]
    assert status(http, transaction_id) == ["OK", "1"]
    clock.now += timedelta(seconds=60)
    assert status(http, transaction_id) == ["OK", "3"]
    clock.now += timedelta(seconds=60)
    lines = status(http, transaction_id)
    assert lines[:2] == ["OK", "4"]
    ar = actes.parse_message("\n".join(lines[2:]).encode("latin-1"))
    assert (ar.type, ar.act_identifier, ar.date) == ("1-2", sent.identifier, date(2022, 3, 4))


def test_without_the_account_nothing_is_taken(http):
    answer = post(http, built(), auth=("commune", "wrong"))
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    assert http.get("/_sandbox/state").json["acts"] == []


def test_a_second_archive_for_the_same_act_is_refused_with_s2lows_words(http):
    post(http, built())
    again = post(http, built()).get_data().decode("latin-1")
    assert again.startswith("KO\nUn acte portant le même numéro interne existe déjà")
    assert http.get("/_sandbox/state").json["posts"] == {built().identifier: 2}


@pytest.mark.parametrize("change, problem", [
    (lambda m, t: ("EACT.tar.gz", m), "Nom d'archive non conforme"),
    (lambda m, t: (t.archive_name, {k: v for k, v in m.items() if k != t.envelope_name}),
     "Impossible de trouver le fichier XML enveloppe"),
    (lambda m, t: (t.archive_name, {**m, t.envelope_name: b"<broken"}),
     "importation du fichier XML de l'enveloppe"),
    (lambda m, t: (t.archive_name, {k: v for k, v in m.items() if k != t.file_names[1]}),
     "absent de l'archive"),
    (lambda m, t: (t.archive_name, {**m, t.envelope_name: m[t.envelope_name].replace(
        b'SIREN="213401342"', b'SIREN="213401343"')}), "SIREN contenu dans l'enveloppe"),
])
def test_an_archive_that_breaks_the_at_ctes_rules_is_refused_saying_why(change, problem):
    sent = built()
    name, members = change(unpacked(sent), sent)
    checked = check_archive(name, archive_of(members))
    assert checked.identifiers == () and problem in checked.problem


def test_a_valid_archive_names_its_act():
    sent = built()
    assert check_archive(sent.archive_name, sent.archive_bytes).identifiers == (sent.identifier,)


def test_the_control_api_refuses_what_it_does_not_know(http):
    post(http, built())
    assert http.post("/_sandbox/faults", json={"operation": "x", "fault": "500"}).status_code \
        == 422
    assert http.post(f"/_sandbox/acts/{built().identifier}/status",
                     json={"status": 42}).status_code == 422
    assert http.post(f"/_sandbox/acts/{built().identifier}/messages",
                     json={"type": "1-2"}).status_code == 422
    assert http.post("/_sandbox/acts/034-1-2-3-DE/status", json={"status": 4}).status_code == 404
    http.post("/_sandbox/reset")
    assert http.get("/_sandbox/state").json["acts"] == []
