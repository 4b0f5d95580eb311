"""A commune's set-up in the eservices database, without a broker: the catalogue stored by
version, a request keeping the version it was made with."""

import copy
from datetime import UTC, datetime

import pytest

from servicekit.testing_db import memory_session
from services.eservices import catalogue, communes
from services.eservices.models import Base

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LAVERUNE = "34134"
BRANDING = {"name": "Mairie de Lavérune", "logo_url": None, "primary_colour": "#005a9c",
            "secondary_colour": "#f2a900",
            "contact": {"address": "Place de la mairie", "email": "mairie@laverune.fr",
                        "phone": "04 67 47 00 00", "opening_hours": None}}


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


def test_the_catalogue_is_stored_once_and_a_new_version_beside_the_old(session, monkeypatch):
    assert communes.ensure_catalogue(session, NOW) == 10
    assert communes.ensure_catalogue(session, NOW) == 0
    communes.set_branding(session, LAVERUNE, BRANDING, "admin", NOW)
    communes.set_activation(session, LAVERUNE, "contact", True, "agent", NOW)
    first = communes.form_to_fill(session, LAVERUNE, "contact")

    contact_v2 = {**copy.deepcopy(catalogue.definition("contact")), "version": 2,
                  "title": "Écrire à la mairie"}
    monkeypatch.setattr(catalogue, "CATALOGUE", (*catalogue.CATALOGUE, contact_v2))
    assert communes.ensure_catalogue(session, NOW) == 1

    now_filled = communes.form_to_fill(session, LAVERUNE, "contact")
    assert (first.definition["version"], now_filled.definition["version"]) == (1, 2)
    assert [f["title"] for f in communes.commune_forms(session, LAVERUNE)] == [
        "Écrire à la mairie"]
    assert len(communes.catalogue_forms(session)) == 10
