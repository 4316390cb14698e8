"""``POST /api/v1/auth/register`` refuses a common password (ASVS 2.1.7) with a JSON 422
on its field, and takes long passphrases whole up to 128 characters (ASVS 2.1.2, 2.1.3);
the password change: tests/api/test_change_password.py."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_error, ok

GUESSABLE = ("Ce mot de passe est trop courant ou trop facile à deviner : choisissez une "
             "phrase de plusieurs mots.")
JURY = "Le jury de Vitrolles se réunit le mardi matin pour noter les dossiers déposés par "


def _register(api, password: str, email: str = "porteur@example.org"):
    return api.post("/auth/register", json={"email": email, "password": password,
                                             "name": "Porteur Asso"})


@pytest.mark.parametrize("password", ["marseille2026", "qwertyuiop123", "Motdepasse2026"])
def test_a_common_password_is_a_422_on_its_field(api, db, password):
    error = assert_error(_register(api, password), 422, "invalid_data", ["password"])
    assert error["fields"] == {"password": [GUESSABLE]}
    assert password not in str(error)
    assert api.login("porteur@example.org", password).status_code == 401


@pytest.mark.parametrize(("password", "length"), [
    ("Le jury de Vitrolles se réunit le mardi pour noter les dossiers.", 64),
    (JURY + "les associations !", 100),
    (JURY + "les associations ; la commission vote ensuite.", 128),
])
def test_long_passphrases_are_taken_whole(api, db, password, length):
    assert len(password) == length
    ok(_register(api, password), 201)
    assert api.login("porteur@example.org", password).status_code == 200
    assert api.login("porteur@example.org", password[:-1]).status_code == 401


def test_129_characters_are_refused(api, db):
    password = JURY + "les associations ; la commission vote ensuite !"
    assert len(password) == 129
    error = assert_error(_register(api, password), 422, "invalid_data", ["password"])
    assert error["fields"] == {"password": ["Au plus 128 caractères."]}
