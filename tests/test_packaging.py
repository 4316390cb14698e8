"""The wheel works outside the checkout: built from a copy of the sources, installed
(not editable) into a fresh virtual environment in a temporary folder, it builds a SQLite
schema with `aap db upgrade` and renders pages, static files and the English UI from its
installed templates, migrations and compiled catalogues."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# Not part of a build: the environment, history, local data and the test tree.
NOT_SOURCES = {".venv", ".git", "instance", "tests", "build", "dist", "aap.egg-info",
               "test-artifacts", "mutants", "bench", "docs", ".hypothesis", ".ruff_cache",
               ".pytest_cache"}

# Run by the installed interpreter, from a temporary folder: where everything comes from,
# then pages rendered through the test client.
PROBE = r"""
import json, sys
import aap
from aap import create_app

app = create_app()
client = app.test_client()
pages = {path: client.get(path) for path in
         ("/", "/connexion", "/inscription", "/connexion?lang=en", "/static/css/app.css")}
print(json.dumps({
    "aap": aap.__file__,
    "templates": app.jinja_loader.searchpath,
    "path": sys.path,
    "editable_finders": [type(f).__name__ for f in sys.meta_path
                         if "editable" in type(f).__module__.lower()],
    "modules": [m for m in sys.modules if "editable" in m],
    "status": {path: r.status_code for path, r in pages.items()},
    "english": pages["/connexion?lang=en"].get_data(as_text=True),
    "signup": pages["/inscription"].get_data(as_text=True),
}))
"""


def _copy_sources(target: Path) -> Path:
    source = target / "src"
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == ROOT and n in NOT_SOURCES)
        or n == "__pycache__"])
    return source


def _run(args: list, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _english(msgid: str) -> str:
    """The English of a French UI string, read from the catalogue's source (.po)."""
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as po:
        return read_po(po)[msgid].string


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONNOUSERSITE"] = "1"
    source = _copy_sources(tmp)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", wheels, "."], cwd=source, env=env)
    (wheel,) = wheels.glob("aap-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, env=env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", "-q", wheel], cwd=tmp, env=env)
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=tmp, env=env).stdout.strip()
    # the dependencies from this environment's site-packages, after the wheel's own; its
    # .pth files (the editable install's finder) are not run from a path line
    Path(purelib, "aap_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.rmtree(source)
    work = tmp / "cwd"
    work.mkdir()
    env.update(DATABASE_URL=f"sqlite:///{work / 'aap.sqlite3'}", UPLOAD_DIR=str(work),
               AAP_ENV="development")
    env.pop("REDIS_URL", None)
    return {"bin": venv / "bin", "cwd": work, "env": env, "purelib": Path(purelib)}


def test_the_wheel_carries_its_folders_and_the_compiled_catalogue(installed):
    package = installed["purelib"] / "aap"
    assert (package / "templates" / "public" / "login.html").is_file()
    assert (package / "migrations" / "env.py").is_file()
    assert sorted((package / "migrations" / "versions").glob("0001_*.py"))
    assert (package / "translations" / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    assert (package / "static" / "css").is_dir()
    assert (installed["purelib"] / "forms").is_dir()
    assert (installed["purelib"] / "workflows").is_dir()


def test_the_installed_cli_builds_the_schema_and_the_app_renders(installed):
    bin_, cwd, env = installed["bin"], installed["cwd"], installed["env"]
    _run([bin_ / "aap", "db", "upgrade"], cwd=cwd, env=env)
    assert (cwd / "aap.sqlite3").stat().st_size > 0
    probe = json.loads(_run([bin_ / "python", "-c", PROBE], cwd=cwd, env=env).stdout)

    purelib = str(installed["purelib"])
    assert probe["aap"].startswith(purelib)
    assert all(folder.startswith(purelib) for folder in probe["templates"])
    # nothing of the checkout on the path but the dependencies' site-packages
    in_checkout = [p for p in probe["path"] if Path(p or cwd).resolve().is_relative_to(ROOT)]
    assert in_checkout == [sysconfig.get_paths()["purelib"]]
    assert probe["editable_finders"] == [] and probe["modules"] == []
    assert set(probe["status"].values()) == {200}, probe["status"]
    assert _english("Se connecter") in probe["english"]
    assert _english("Adresse électronique") in probe["english"]
    assert 'name="csrf_token"' in probe["signup"] and 'type="password"' in probe["signup"]
