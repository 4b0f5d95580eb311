"""Fixtures of the end-to-end tests beyond the root conftest's."""

import logging

import pytest

from servicekit.logging import configure_logging


@pytest.fixture
def log_file(tmp_path):
    """The suite's logs written as JSON lines to a file, as ``communs run`` writes
    ``var/log/communs.log``; the test session's logging is put back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    path = tmp_path / "log" / "communs.log"
    configure_logging("json", "INFO", log_file=path)
    yield path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
