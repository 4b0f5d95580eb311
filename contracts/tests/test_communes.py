"""The partners of the shared platform (Art. 2)."""

from contracts.communes import partners


def test_every_commune_its_ccas_and_the_metropole_are_partners():
    partners_by_id = {p["id"]: p for p in partners()}
    assert len(partners_by_id) == 31 * 2 + 1
    assert partners_by_id["commune-34134"]["name"] == "Lavérune"
    assert partners_by_id["ccas-34134"]["name"] == "CCAS de Lavérune"
    assert partners_by_id["ccas-34090"]["name"] == "CCAS du Crès"
    assert partners_by_id["metropole"]["siren"] == "243400017"
    assert {p["kind"] for p in partners_by_id.values()} == {"commune", "ccas", "metropole"}
