"""The browser harness itself: a role logs in and lands on its home, on a phone too."""

import pytest

from tests.browser.conftest import log_in
from tests.factories import PASSWORD


@pytest.mark.parametrize("role", ["instructor", "applicant"])
def test_login_lands_on_the_role_home(page, world, role):
    log_in(page, world.users[role].email, PASSWORD)
    assert page.locator("h1").first.is_visible()
    expected = {"instructor": "/instruction/", "applicant": "/porteur/"}[role]
    assert page.url.endswith(expected)
    page.shots(f"home-{role}")


@pytest.mark.mobile
def test_the_login_page_fits_a_phone(page):
    page.goto("/connexion")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    page.shots("login-mobile")
