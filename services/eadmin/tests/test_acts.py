"""Rule R2: the form of an act before transmission (S2LOW's checks) and its dates
(CGCT L2131-1, L2131-2)."""

import re
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfWriter

from contracts.eadmin import ACT_NUMBER_PATTERN, CLASSIFICATION_PATTERN, NATURES
from contracts.errors import Invalid
from services.eadmin import acts
from services.eadmin.tests.pki import sample_pdf

SIGNED_ON = date(2024, 3, 1)
PDF = sample_pdf()


def _pdf_without_pages():
    output = BytesIO()
    PdfWriter().write(output)
    return output.getvalue()


def _encrypted_pdf():
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("secret")
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def test_the_six_natures_are_numbered_as_actes_numbers_them():
    assert acts.NATURE_NUMBERS == {"DE": 1, "AR": 2, "AI": 3, "CC": 4, "BF": 5, "AU": 6}
    assert NATURES["AI"] == "Acte individuel"


@pytest.mark.parametrize(
    "number, valid",
    [
        ("1", True),
        ("A", True),
        ("2024_001", True),
        ("DEL2024001", True),
        ("ABCDEFGHIJKLMNO", True),  # 15 characters
        ("ABCDEFGHIJKLMNOP", False),  # 16
        ("", False),
        ("_1", False),
        ("1_", False),
        ("2024-001", False),
        ("2024 001", False),
        ("a2024", False),  # capitals only
        ("É1", False),
    ],
)
def test_the_act_number_follows_the_actes_pattern(number, valid):
    assert bool(re.match(ACT_NUMBER_PATTERN, number)) is valid


@pytest.mark.parametrize(
    "code, valid",
    [
        ("1", True),
        ("1.1", True),
        ("7.1.2", True),
        ("9.99", True),
        ("1.2.3.4.5", True),  # five levels
        ("1.2.3.4.5.6", False),  # six
        ("0", False),
        ("10.1", False),
        ("1.0", False),
        ("1.", False),
        ("a.1", False),
        ("", False),
    ],
)
def test_the_classification_code_has_up_to_five_levels(code, valid):
    assert bool(re.match(CLASSIFICATION_PATTERN, code)) is valid


def test_the_size_caps_are_the_actes_total_and_ours_per_file():
    assert acts.MAX_TOTAL_BYTES == 157_286_400  # Pastell's "157.29 MB"
    assert acts.MAX_FILE_BYTES == 20 * 1024 * 1024


def test_a_readable_pdf_passes():
    acts.check_pdf(PDF, "document")


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "does not start with %PDF-"),
        (b"\x89PNG\r\n\x1a\n", "does not start with %PDF-"),
        (b"Hello %PDF-1.7", "does not start with %PDF-"),
        (b"%PDF-1.7\n", "cannot be read"),
        (PDF[: len(PDF) // 2], "cannot be read"),
        (PDF[:-40], "cannot be read"),
        (b"%PDF-" + bytes(range(256)) * 4, "cannot be read"),
        (_encrypted_pdf(), "encrypted"),
        (_pdf_without_pages(), "no page"),
    ],
)
def test_what_is_not_a_usable_pdf_is_refused_naming_the_field(content, problem):
    with pytest.raises(Invalid) as refused:
        acts.check_pdf(content, "document")
    assert list(refused.value.errors) == ["document"]
    assert problem in refused.value.errors["document"][0]


@pytest.mark.parametrize("excess, refused", [(0, False), (1, True)])
def test_a_file_may_weigh_up_to_the_cap_included(monkeypatch, excess, refused):
    monkeypatch.setattr(acts, "MAX_FILE_BYTES", len(PDF) - excess)
    if refused:
        with pytest.raises(Invalid) as error:
            acts.check_files([("document", PDF)])
        assert "exceeds" in error.value.errors["document"][0]
    else:
        acts.check_files([("document", PDF)])


@pytest.mark.parametrize("excess, refused", [(0, False), (1, True)])
def test_the_act_and_its_annexes_may_weigh_up_to_the_total_cap(monkeypatch, excess, refused):
    monkeypatch.setattr(acts, "MAX_TOTAL_BYTES", 3 * len(PDF) - excess)
    files = [("document", PDF), ("annexes", PDF), ("annexes", PDF)]
    if refused:
        with pytest.raises(Invalid) as error:
            acts.check_files(files)
        assert error.value.errors == {
            "annexes": [f"The act and its annexes exceed {acts.MAX_TOTAL_BYTES // acts.MIB} "
                        "MiB together."]
        }
    else:
        acts.check_files(files)


def test_every_bad_file_is_reported_at_once():
    with pytest.raises(Invalid) as error:
        acts.check_files([("document", b"not a pdf"), ("annexes", PDF), ("annexes", b"")])
    assert sorted(error.value.errors) == ["annexes", "document"]
    assert len(error.value.errors["annexes"]) == 1


@pytest.mark.parametrize(
    "nature, signed_on, due_by",
    [
        ("AI", SIGNED_ON, date(2024, 3, 16)),
        ("AI", date(2024, 2, 20), date(2024, 3, 6)),  # across the end of a leap February
        ("AI", date(2024, 12, 20), date(2025, 1, 4)),  # across the new year
        ("AI", None, None),  # not signed yet
        ("DE", SIGNED_ON, None),
        ("AR", SIGNED_ON, None),
        ("CC", SIGNED_ON, None),
        ("BF", SIGNED_ON, None),
        ("AU", SIGNED_ON, None),
    ],
)
def test_an_individual_decision_is_due_15_days_after_its_signature(nature, signed_on, due_by):
    assert acts.transmission_due_by(nature, signed_on) == due_by


@pytest.mark.parametrize(
    "nature, signed_on, transmitted_on, late",
    [
        ("AI", SIGNED_ON, SIGNED_ON, False),  # the day of signature
        ("AI", SIGNED_ON, date(2024, 3, 15), False),  # day 14
        ("AI", SIGNED_ON, date(2024, 3, 16), False),  # day 15: still in time
        ("AI", SIGNED_ON, date(2024, 3, 17), True),  # day 16: late
        ("AI", SIGNED_ON, date(2024, 6, 1), True),
        ("AI", None, date(2024, 6, 1), False),  # not signed: no delay runs
        ("DE", SIGNED_ON, date(2024, 6, 1), False),  # no delay for a deliberation
        ("AR", SIGNED_ON, date(2024, 6, 1), False),
    ],
)
def test_an_individual_decision_transmitted_after_15_days_is_late(
    nature, signed_on, transmitted_on, late
):
    assert acts.is_late(nature, signed_on, transmitted_on) is late


@pytest.mark.parametrize(
    "transmitted_on, published_on, enforceable",
    [
        (date(2024, 3, 5), date(2024, 3, 8), date(2024, 3, 8)),  # published last
        (date(2024, 3, 8), date(2024, 3, 5), date(2024, 3, 8)),  # transmitted last
        (date(2024, 3, 5), date(2024, 3, 5), date(2024, 3, 5)),
        (date(2024, 3, 5), None, None),  # not published
        (None, date(2024, 3, 5), None),  # not transmitted
        (None, None, None),
    ],
)
def test_an_act_is_enforceable_once_transmitted_and_published(
    transmitted_on, published_on, enforceable
):
    assert acts.enforceable_on(transmitted_on, published_on) == enforceable
