"""``make demo`` without a suite: what it sends, what it reads, what it says when it cannot."""

import json
from decimal import Decimal

import pytest

import demo
from contracts.communes import MEMBER_COMMUNES
from contracts.subscriptions import NewConventionSchema
from servicekit.validation import load

LAVERUNE = "34134"
REFERENCE = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))


def test_the_reference_convention_is_sent_as_the_contract_takes_it():
    convention = demo.convention_from(REFERENCE)
    load(NewConventionSchema(), convention)
    assert (convention["period_start"], convention["period_end"]) == ("2022-01-01", "2024-12-31")
    assert convention["population_vintage"] == 2023


def test_every_commune_gets_open_data_and_laverune_its_four_applications():
    subscriptions = demo.convention_from(REFERENCE)["initial_subscriptions"]
    assert set(subscriptions) == set(MEMBER_COMMUNES)
    assert sorted(subscriptions[LAVERUNE]) == ["eadmin", "eservices", "opendata", "procurement"]
    others = {tuple(apps) for insee, apps in subscriptions.items() if insee != LAVERUNE}
    assert others == {("opendata",)}


def laverune_title(*amounts):
    lines = [{"application": code, "amount": amount}
             for code, amount in zip(("eadmin", "eservices", "procurement"), amounts, strict=True)]
    total = sum(Decimal(amount) for amount in amounts)
    return {"kind": "title", "status": "draft", "lines": lines, "total": str(total)}


def test_the_agreements_example_has_no_differences():
    assert demo.differences(laverune_title("67.34", "46.49", "36.28"),
                            REFERENCE["expected"][LAVERUNE]) == []


def test_a_cent_off_is_named():
    found = demo.differences(laverune_title("67.35", "46.49", "36.28"),
                             REFERENCE["expected"][LAVERUNE])
    assert found == ["eadmin: billed 67.35, expected 67.34",
                     "total: billed 150.12, expected 150.11"]


def test_the_issued_title_is_the_one_in_force():
    draft = {"kind": "title", "status": "draft"}
    issued = {"kind": "title", "status": "issued"}
    credit_note = {"kind": "credit_note", "status": "issued"}
    assert demo.billed_title([draft]) is draft
    assert demo.billed_title([credit_note, {**issued, "status": "cancelled"}, issued]) is issued
    assert demo.billed_title([]) is None


def test_the_password_comes_from_the_data_folder_by_default(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "initial-admin-password").write_text("s3cret\n")
    assert demo.settings({"COMMUNS_DATA_DIR": str(tmp_path)}) == (
        "http://127.0.0.1:8000", "admin", "s3cret")
    assert demo.settings({"COMMUNS_GATEWAY_URL": "http://gateway:8000/",
                          "COMMUNS_ADMIN_USERNAME": "ops", "COMMUNS_ADMIN_PASSWORD": "pw"}) == (
        "http://gateway:8000", "ops", "pw")


def test_no_password_anywhere_says_where_it_looked(tmp_path):
    with pytest.raises(demo.DemoFailed, match="initial-admin-password"):
        demo.settings({"COMMUNS_DATA_DIR": str(tmp_path)})


def test_an_unreachable_gateway_says_how_to_start_the_suite(capsys):
    # Port 9 (discard) is closed on any test machine: the connection is refused at once.
    assert demo.main({"COMMUNS_GATEWAY_URL": "http://127.0.0.1:9",
                      "COMMUNS_ADMIN_PASSWORD": "pw"}) == 2
    assert "does not answer. Start the suite with `make run`" in capsys.readouterr().err
