"""The transmission client against the local prefecture (``prefecture_sandbox``): acts posted
once, their statuses and AR, the prefecture's messages and the commune's answers, PES and their
ACK or NACK, and what is recorded."""

from dataclasses import replace
from datetime import date

import pytest

from services.eadmin import actes
from services.eadmin.tests.actes_samples import LAVERUNE, PDF, sample_act, sample_files
from services.eadmin.tests.pes_samples import sample_pes
from services.eadmin.transmission import (
    ACKNOWLEDGED,
    POSTED,
    TRANSMITTED,
    PrefectureAuthError,
    PrefectureClient,
    PrefectureRejected,
    PrefectureSettings,
    PrefectureUnavailable,
)


def transmission(number="2022_12"):
    return actes.build_transmission(sample_act(number=number), LAVERUNE, sample_files(),
                                    sent_on=date(2022, 3, 4))


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def client(prefecture_sandbox, exchanges):
    return PrefectureClient(prefecture_sandbox.settings(), record=exchanges.append,
                            sleep=lambda seconds: None)


def test_an_act_is_posted_then_transmitted_then_acknowledged_with_its_ar(
        client, prefecture_sandbox):
    sent = transmission()
    transaction_id = client.post_act(sent)
    assert client.status(transaction_id).code == POSTED
    prefecture_sandbox.set_status(sent.identifier, TRANSMITTED)
    assert client.status(transaction_id).label == "Transmis"
    prefecture_sandbox.set_status(sent.identifier, ACKNOWLEDGED, at="2022-03-05T10:00:00")
    status = client.status(transaction_id)
    assert (status.code, status.acknowledged_on, status.refused) == (
        ACKNOWLEDGED, date(2022, 3, 5), False)
    assert status.message["type"] == "1-2"
    assert status.message["act_identifier"] == sent.identifier
    assert client.find_act(sent.identifier) == transaction_id


def test_a_refused_act_says_why(client, prefecture_sandbox):
    sent = transmission()
    transaction_id = client.post_act(sent)
    prefecture_sandbox.set_status(sent.identifier, 6, reason="Classification inconnue")
    status = client.status(transaction_id)
    assert (status.refused, status.reason, status.acknowledged_on) == (
        True, "Classification inconnue", None)


def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(client, prefecture_sandbox):
    sent = transmission()
    prefecture_sandbox.fail("actes_transac_submit", "500", after_store=True)
    transaction_id = client.post_act(sent)
    state = prefecture_sandbox.state()
    assert state["posts"] == {sent.identifier: 1}
    assert [a["id"] for a in state["acts"]] == [int(transaction_id)]


def test_a_post_that_failed_before_arriving_is_posted_again(client, prefecture_sandbox):
    sent = transmission()
    prefecture_sandbox.fail("actes_transac_submit", "500", times=2)
    transaction_id = client.post_act(sent)
    assert client.find_act(sent.identifier) == transaction_id
    assert prefecture_sandbox.state()["posts"] == {sent.identifier: 1}


def test_a_timeout_counts_as_a_lost_answer(prefecture_sandbox, exchanges):
    client = PrefectureClient(prefecture_sandbox.settings(timeout=0.3), record=exchanges.append,
                              sleep=lambda seconds: None)
    sent = transmission()
    prefecture_sandbox.fail("actes_transac_submit", "timeout", after_store=True, seconds=1)
    transaction_id = client.post_act(sent)
    assert prefecture_sandbox.state()["posts"] == {sent.identifier: 1}
    assert any(e.error and e.error.startswith("no answer") for e in exchanges)
    assert client.find_act(sent.identifier) == transaction_id


def test_posting_an_act_already_there_gives_its_transaction(client, prefecture_sandbox):
    sent = transmission()
    first = client.post_act(sent)
    assert client.post_act(sent) == first
    assert len(prefecture_sandbox.acts()) == 1
    assert prefecture_sandbox.state()["refused"][0]["identifiers"] == [sent.identifier]


def test_an_archive_the_prefecture_refuses_is_a_rejection(client):
    broken = actes.Transmission(b"not a tar", "SLO-EACT--213401342--20220304-1.tar.gz",
                                "034-213401342-20220301-1-DE", "", "", ())
    with pytest.raises(PrefectureRejected, match="Mauvais format"):
        client.post_act(broken)


def test_the_platform_down_on_every_attempt_is_unavailable(client, prefecture_sandbox):
    prefecture_sandbox.fail("actes_transac_get_status", "500", times=3)
    with pytest.raises(PrefectureUnavailable, match="3 attempts"):
        client.status("1002")


def test_a_wrong_password_is_a_setting_to_fix_and_stays_out_of_the_record(
        prefecture_sandbox, exchanges):
    client = PrefectureClient(prefecture_sandbox.settings(password="wrong-pw-4f2"),
                              record=exchanges.append)
    with pytest.raises(PrefectureAuthError):
        client.post_act(transmission())
    assert "wrong-pw-4f2" not in repr(exchanges) and "wrong-pw-4f2" not in repr(client.settings)


def test_no_platform_configured_is_unavailable_naming_the_setting():
    client = PrefectureClient(PrefectureSettings.from_config({}))
    with pytest.raises(PrefectureUnavailable, match="COMMUNS_PREFECTURE_URL"):
        client.status("1")


def test_every_call_is_recorded_with_files_as_size_and_digest(client, exchanges):
    sent = transmission()
    client.post_act(sent)
    (post,) = [e for e in exchanges if e.operation == "actes_transac_submit"]
    (file,) = post.request["files"]
    assert (file["field"], file["name"], file["size"]) == (
        "enveloppe", sent.archive_name, len(sent.archive_bytes))
    assert post.status == 200 and post.response.startswith("OK")


def test_the_prefectures_messages_are_read_and_answered(client, prefecture_sandbox):
    sent = transmission()
    transaction_id = client.post_act(sent)
    other = client.post_act(transmission(number="2022_13"))
    prefecture_sandbox.send_message(sent.identifier, "3-1", text="Joindre le plan",
                                    at="2022-03-10")
    prefecture_sandbox.send_message(sent.identifier, "2-1", text="Pour information",
                                    at="2022-03-08")
    found = client.messages(transaction_id)
    assert [(m.message.type, m.message.date, m.message.text) for m in found] == [
        ("2-1", date(2022, 3, 8), "Pour information"),
        ("3-1", date(2022, 3, 10), "Joindre le plan")]
    assert client.messages(other) == []
    request = found[1]
    answer_id = client.answer(request.id, "3-2", ("plan.pdf", PDF))
    (reply,) = prefecture_sandbox.state()["replies"]
    assert (str(reply["id"]), reply["code"], reply["files"]) == (answer_id, "3-2", ["plan.pdf"])
    with pytest.raises(PrefectureRejected, match="Type de réponse"):
        client.answer(found[0].id, "4-2", ("lettre.pdf", PDF))
    with pytest.raises(ValueError):
        client.answer(request.id, "9-9", ("lettre.pdf", PDF))


def test_a_pes_is_acknowledged_or_refused_by_the_accountant(client, prefecture_sandbox):
    flow = sample_pes()
    transaction_id = client.post_pes(flow)
    status = client.pes_status(transaction_id)
    assert (status.code, status.verdict, status.acquit.file_name) == (4, "ACK", flow.name)
    with pytest.raises(PrefectureRejected, match="déjà été transmis"):
        client.post_pes(flow)

    prefecture_sandbox.answer_pes(accepted=False, errors=["Bordereau déséquilibré"])
    second = replace(flow, name="other.xml",
                     content=flow.content.replace(flow.name.encode(), b"other.xml"))
    refused = client.pes_status(client.post_pes(second))
    assert (refused.verdict, refused.acquit.errors) == ("NACK", ("Bordereau déséquilibré",))


def test_an_unanswered_pes_is_not_posted_again(client, prefecture_sandbox):
    prefecture_sandbox.fail("helios_importer_fichier", "500", after_store=True)
    with pytest.raises(PrefectureUnavailable, match="check before sending it again"):
        client.post_pes(sample_pes())
    assert len(prefecture_sandbox.state()["pes"]) == 1
