"""The suite's Hypothesis settings come from the profiles of tests/conftest.py."""

from __future__ import annotations

import os

from hypothesis import settings


def test_no_deadline_in_any_profile():
    assert settings.default.deadline is None
    for name in ("aap", "ci", "thorough"):
        assert settings.get_profile(name).deadline is None, name


def test_the_ci_profile_replays_the_same_examples():
    ci = settings.get_profile("ci")
    assert ci.derandomize is True and ci.database is None


def test_the_profile_follows_the_environment():
    wanted = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "aap")
    assert settings.default.derandomize is settings.get_profile(wanted).derandomize
    assert settings.default.max_examples == settings.get_profile(wanted).max_examples
