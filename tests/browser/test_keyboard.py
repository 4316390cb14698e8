"""Keyboard-only journeys (RGAA 12.x and 10.7, WCAG 2.1.1, 2.1.2, 2.4.1, 2.4.7, 1.4.11).

Nothing is clicked: the journeys press Tab, Shift+Tab, Enter and Space only (typing in
fields aside), as someone without a mouse would. At every element that takes the focus,
the test reads its computed style: it must match ``:focus-visible``, show an outline or a
box-shadow, and that indicator's colour must contrast at least 3:1 with the background
behind it (WCAG 1.4.11). ``walk_page`` tabs through a whole page: every tabbable element
is reached in order, each Tab moves the focus (no trap), Tab leaves the last one, and
Shift+Tab comes back.
"""

from __future__ import annotations

import re

import pytest

from aap.extensions import db
from aap.models import Application, Review
from tests.factories import PASSWORD

MAX_TABS = 250

# The focused element as the test sees it: a stable key, what to call it in a message, and
# its focus indicator (outline or box-shadow) with the colour behind it.
FOCUS_INFO = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const css = getComputedStyle(el);
  let behind = 'rgb(255, 255, 255)';
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) { behind = c; break; }
  }
  const box = el.getBoundingClientRect();
  const label = (el.getAttribute('aria-label') || el.innerText || el.value || el.name
                 || el.id || '').trim().slice(0, 50);
  return {key: el.dataset.kb || '', tag: el.tagName.toLowerCase(), id: el.id, label,
          focusVisible: el.matches(':focus-visible'), within: el.matches(':focus-within'),
          outlineStyle: css.outlineStyle,
          outlineWidth: parseFloat(css.outlineWidth), outlineColor: css.outlineColor,
          boxShadow: css.boxShadow, behind,
          segments: ['date', 'time', 'datetime-local', 'month', 'week'].includes(el.type),
          onScreen: box.right > 0 && box.bottom > 0 && box.left < innerWidth
                    && box.top < innerHeight};
}"""

# Numbers every element the Tab key should reach, in document order (no positive tabindex
# is used in the app): focusable, rendered, enabled, not inside a closed <details> (its
# summary excepted) and, for a radio group, its checked radio (or the first).
MARK_TABBABLES = """() => {
  const all = document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex], iframe');
  const groups = new Set();
  let n = 0;
  for (const el of all) {
    if (el.tabIndex < 0 || el.disabled || el.type === 'hidden') continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    const closed = el.closest('details:not([open])');
    if (closed && el !== closed.querySelector(':scope > summary')) continue;
    if (el.type === 'radio') {
      if (groups.has(el.name)) continue;
      const form = el.form || document;
      const checked = form.querySelector(`input[type=radio][name="${el.name}"]:checked`);
      if (checked && checked !== el) continue;
      groups.add(el.name);
    }
    el.dataset.kb = String(++n);
  }
  return n;
}"""


def _rgb(text: str) -> tuple[float, float, float]:
    found = re.search(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)", text)
    assert found, f"unreadable colour {text!r}"
    return tuple(float(v) for v in found.groups())  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    """Relative luminance, WCAG 2.1's definition."""
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_matches_known_pairs() -> None:
    """The oracle of the contrast check: black on white is 21:1 (WCAG's maximum);
    #767676 on white is 4.54:1, the lightest grey that passes AA for text, and #777777
    on white 4.48:1, which fails it (figures of WebAIM's contrast checker)."""
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=.01)
    assert contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=.01)


def focused(page) -> dict | None:
    """The focused element, after checking that its focus shows (RGAA 10.7)."""
    info = page.evaluate(FOCUS_INFO)
    if info is None:
        return None
    where = f"{info['tag']}#{info['id']} « {info['label']} » on {page.url}"
    # a date field's calendar button takes the focus inside the field: the field then
    # matches :focus-within only, and that style must show
    assert info["focusVisible"] or (info["segments"] and info["within"]), \
        f"{where}: focused by the keyboard but not :focus-visible"
    assert info["onScreen"], f"{where}: focused outside the window"
    if info["outlineStyle"] != "none" and info["outlineWidth"] >= 1:
        colour = info["outlineColor"]
    else:
        assert info["boxShadow"] != "none", f"{where}: neither outline nor box-shadow"
        colour = info["boxShadow"]
    ratio = contrast(colour, info["behind"])
    assert ratio >= 3, f"{where}: focus indicator {colour} on {info['behind']} is {ratio:.2f}:1"
    return info


def tab_to(page, matches, *, limit: int = 80) -> dict:
    """Press Tab until the focused element satisfies ``matches``; check each stop."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        if info and matches(info):
            return info
    raise AssertionError(f"not reached with {limit} Tabs on {page.url}")


def by_label(text: str):
    return lambda info: info["label"] == text


def by_id(element_id: str):
    return lambda info: info["id"] == element_id


def walk_page(page, path: str) -> int:
    """Load ``path`` and Tab from the top through the whole page: every tabbable element
    in order, each with a visible focus, and out of the last one; then Shift+Tab back.
    Returns the number of elements. (A date field takes one Tab per part: day, month,
    year and its calendar button.)"""
    page.goto(path)
    count = page.evaluate(MARK_TABBABLES)
    seen: list[str] = []
    stays = 0
    for _ in range(min(count, MAX_TABS) * 4 + 2):
        page.keyboard.press("Tab")
        info = focused(page)
        assert info is not None, f"the focus left the page after {seen[-3:]} on {page.url}"
        if seen and info["key"] == seen[-1]:
            stays += 1
            assert info["tag"] == "input" and info["segments"] and stays < 4, \
                f"Tab did not move from « {info['label']} » on {page.url}: a keyboard trap"
            continue
        stays = 0
        seen.append(info["key"])
        if info["key"] == str(count):
            break
    assert seen == [str(i) for i in range(1, count + 1)], \
        f"tab order on {page.url}: {seen} instead of 1..{count}"
    page.keyboard.press("Tab")
    after = page.evaluate(FOCUS_INFO)
    assert after is None or after["key"] in ("", "1"), \
        f"Tab stayed in the page after its last element: « {after['label']} »"
    if count >= 2:
        page.keyboard.press("Shift+Tab")
        last = focused(page)
        assert last is not None and last["key"] == str(count), "Shift+Tab did not come back"
        page.keyboard.press("Shift+Tab")
        back = focused(page)
        assert back is not None and back["key"] in (str(count - 1), str(count)), \
            "Shift+Tab did not go back"
    return count


def log_in_by_keyboard(page, email: str) -> None:
    page.goto("/connexion")
    tab_to(page, by_id("email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    tab_to(page, by_label("Se connecter"), limit=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Bienvenue" in page.content()


def test_skip_link_first_then_main_content(page, world) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first is not None and first["label"] == "Aller au contenu"
    page.shots("skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    page.keyboard.press("Tab")
    inside = page.evaluate("document.getElementById('contenu').contains(document.activeElement)")
    assert inside, "the Tab after the skip link does not land in the main content"
    focused(page)
    assert walk_page(page, "/") > 5
    walk_page(page, "/connexion")


def test_log_in_with_the_keyboard(page, world) -> None:
    page.goto("/connexion")
    tab_to(page, by_id("email"))
    page.keyboard.type(world.users["applicant"].email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    remember = tab_to(page, by_id("remember"), limit=3)
    assert remember["tag"] == "input"
    page.keyboard.press("Space")
    assert page.is_checked("#remember")
    page.shots("remember-checked")
    page.keyboard.press("Tab")
    assert focused(page)["label"] == "Se connecter"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Bienvenue, Awa Diallo" in page.content()
    assert page.url.endswith("/porteur/")
    walk_page(page, "/porteur/")


@pytest.mark.mobile
def test_applicant_fills_and_saves_a_form_on_a_phone(page, world) -> None:
    draft = world.application(title="Cafés citoyens")
    log_in_by_keyboard(page, world.users["applicant"].email)
    assert walk_page(page, f"/porteur/dossiers/{draft.id}/modifier") > 30
    page.goto(f"/porteur/dossiers/{draft.id}/modifier")
    tab_to(page, by_id("title"), limit=MAX_TABS)
    page.keyboard.press("Control+A")
    page.keyboard.type("Cafés citoyens multilingues")
    beneficiaries = tab_to(page, by_id("beneficiaries"), limit=MAX_TABS)
    assert beneficiaries["tag"] == "input"
    page.keyboard.press("Control+A")
    page.keyboard.type("75")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] != "beneficiaries"
    tab_to(page, by_label("Enregistrer le brouillon"), limit=MAX_TABS)
    page.shots("save-focused")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Brouillon enregistré" in page.content()
    page.shots("saved")
    db.session.rollback()  # see what the requests committed
    saved = db.session.get(Application, draft.id)
    assert (saved.title, saved.beneficiaries) == ("Cafés citoyens multilingues", 75)


def test_juror_submits_a_score(page, world) -> None:
    app = world.bring_to(world.application(title="Médiation sociale"), "in_review")
    juror = world.users["juror"]
    log_in_by_keyboard(page, juror.email)
    walk_page(page, f"/jury/dossiers/{app.id}")
    page.goto(f"/jury/dossiers/{app.id}")
    # the scores: pertinence (max 5) then faisabilité (max 5), typed in their fields
    tab_to(page, lambda info: info["id"].startswith("score"), limit=MAX_TABS)
    page.keyboard.type("4")
    tab_to(page, lambda info: info["id"].startswith("score"), limit=5)
    page.keyboard.type("3,5")
    tab_to(page, by_label("Transmettre mon évaluation"), limit=MAX_TABS)
    page.shots("submit-focused")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/transmettre" in page.url, page.url
    walk_page(page, page.url)
    page.goto(page.url)
    tab_to(page, by_label("Confirmer la transmission"), limit=MAX_TABS)
    with page.expect_navigation():
        page.keyboard.press("Space")
    page.shots("submitted")
    db.session.rollback()  # see what the requests committed
    review = db.session.scalars(db.select(Review).where(
        Review.application_id == app.id, Review.juror_id == juror.id)).one()
    assert review.submitted_at is not None
    # 2 × 4 + 1 × 3.5 = 11.5 points of 15, on the scale of 20: 11.5 / 15 × 20 = 15.333
    assert float(review.total) == pytest.approx(15.333, abs=.001)


def test_instructor_opens_an_action_and_fires_it(page, world) -> None:
    app = world.bring_to(world.application(title="Permanences d'accès aux droits"),
                         "submitted")
    log_in_by_keyboard(page, world.users["instructor"].email)
    walk_page(page, f"/instruction/appels/{world.call.id}")
    walk_page(page, f"/dossiers/{app.id}")
    page.goto(f"/dossiers/{app.id}")
    summary = tab_to(page, by_label("Déclarer recevable"), limit=MAX_TABS)
    assert summary["tag"] == "summary"
    page.keyboard.press("Enter")  # unfolds the action's form
    button = tab_to(page, by_label("Déclarer recevable"), limit=10)
    assert button["tag"] == "button"
    page.shots("action-open")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.shots("fired")
    db.session.rollback()  # see what the request committed
    assert db.session.get(Application, app.id).state == "eligible"
