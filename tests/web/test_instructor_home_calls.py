"""The back-office home pages its calls (a parent authority reads hundreds of them), 20 a
page, newest opening first, the applications' list and filters untouched."""

from __future__ import annotations

import re
from datetime import timedelta

from tests import factories


def _titles(html: str) -> list[str]:
    section = html.split('id="calls-title"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'href="/instruction/appels/\d+">([^<]+)</a>', section)


def test_the_calls_come_twenty_a_page_newest_first(client, world, log_in):
    opening = world.call.opens_at
    for n in range(1, 23):  # 22 more calls, the n-th opening n days after the world's
        factories.make_call(world.fund, title=f"Appel n° {n:02d}",
                            opens_at=opening + timedelta(days=n))
    log_in(world.users["instructor"])

    first = client.get("/instruction/")
    assert first.status_code == 200
    assert "Appels et budget <span class=\"count\">(23)</span>" in first.text
    assert _titles(first.text) == [f"Appel n° {n:02d}" for n in range(22, 2, -1)]
    assert 'href="/instruction/?appels=2"' in first.text

    second = client.get("/instruction/?appels=2")
    assert _titles(second.text) == ["Appel n° 02", "Appel n° 01", world.call.title]
    assert 'href="/instruction/?appels=1"' in second.text
