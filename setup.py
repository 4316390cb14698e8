"""Build hook: the wheel carries the checkout's top-level ``templates/``, ``migrations/``
and ``translations/`` (the catalogues compiled to .mo) inside the package, as
``aap/templates`` and so on, where ``aap.operations.resource_dir`` finds them once
installed. The metadata is in setup.cfg; an editable install uses the checkout's folders."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("templates", "migrations", "translations")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.pot")


class BuildWithResources(build_py):
    """``build_py``, then the bundled folders copied under ``aap/`` in the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package = Path(self.build_lib) / "aap"
        for name in BUNDLED:
            target = package / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(HERE / name, target, ignore=SKIPPED)
        _compile_catalogues(package / "translations")


def _compile_catalogues(folder: Path) -> None:
    """Each messages.po compiled to its .mo (the .mo files are not in the sources)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in folder.glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        with po.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog)


setup(cmdclass={"build_py": BuildWithResources})
