"""A pytest plugin for mutation runs (``-p tests.mutation_support.fast_hashing``, set by
setup.cfg's [mutmut] section): cheap password hashes for every test, as the API and web
conftests already do for theirs. scrypt costs ~0.2 s a hash and ``World`` builds eight
users per test, which would dominate the time of each mutant's run."""

from __future__ import annotations

from functools import partial

import pytest
from werkzeug.security import generate_password_hash


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing_for_mutation_runs():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aap.models.accounts.generate_password_hash",
                   partial(generate_password_hash, method="pbkdf2:sha256:1000"))
        yield
