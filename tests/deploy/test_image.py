"""The Dockerfile and .dockerignore, read as Docker reads them (no engine runs here)."""

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def instructions():
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [tuple((line.strip().split(None, 1) + [""])[:2]) for line in logical]


def final_stage():
    found = instructions()
    last_from = max(i for i, (instruction, _) in enumerate(found) if instruction == "FROM")
    return found[last_from:]


def runtime_environment():
    return dict(
        setting.split("=", 1)
        for instruction, arguments in final_stage() if instruction == "ENV"
        for setting in arguments.split()
    )


def test_every_stage_starts_from_a_python_311_slim_image_pinned_to_a_patch_release():
    found = instructions()
    arguments = dict(a.split("=", 1) for i, a in found if i == "ARG" and "=" in a)
    images = [a.split()[0] for i, a in found if i == "FROM"]
    assert len(images) >= 2, "a build stage, then the runtime"
    for image in images:
        resolved = re.sub(r"\$\{(\w+)\}", lambda match: arguments[match.group(1)], image)
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", resolved), resolved


def test_the_runtime_runs_as_a_user_that_is_not_root():
    users = [arguments for instruction, arguments in final_stage() if instruction == "USER"]
    assert users, "the runtime stage never leaves root"
    assert users[-1].split(":")[0] not in ("root", "0")


@pytest.mark.parametrize("instruction, expected", [("ENTRYPOINT", ["communs"]), ("CMD", ["run"])])
def test_communs_starts_in_exec_form_so_the_stop_signal_reaches_it(instruction, expected):
    (arguments,) = [a for i, a in final_stage() if i == instruction]
    # The shell form would wrap communs in /bin/sh, which does not pass SIGTERM on.
    assert json.loads(arguments) == expected


def test_the_console_script_the_image_starts_is_the_projects():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["communs"] == "servicekit.cli:main"


def test_containers_log_json_keep_state_in_one_directory_and_serve_http_beyond_loopback():
    environment = runtime_environment()
    assert environment["COMMUNS_LOG_FORMAT"] == "json"
    assert environment["COMMUNS_DATA_DIR"].startswith("/")
    assert environment["COMMUNS_HTTP_ADDRESS"] == "0.0.0.0:8000"


def copied_sources():
    return {
        source
        for instruction, arguments in instructions()
        if instruction == "COPY" and not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    }


def test_the_build_copies_every_package_and_file_the_installation_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in found}
    needed = {"pyproject.toml", "constraints.txt", project["project"]["readme"], *packages}
    assert needed <= copied_sources()


def ignored(path):
    """Whether .dockerignore keeps a path of the repository out of the build context."""
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in parts):
                return True
        # A directory left out takes everything under it along.
        elif any(fnmatch.fnmatch("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
            return True
    return False


@pytest.mark.parametrize(
    "path", [".git", ".venv/bin/python", "var/db/identity.sqlite3", "services/__pycache__",
             "servicekit/config.pyc", ".ruff_cache"],
)
def test_local_state_environments_and_caches_stay_out_of_the_build_context(path):
    assert ignored(path)


def test_nothing_the_build_copies_is_left_out_of_the_context():
    assert not [source for source in copied_sources() if ignored(source)]
