"""The API documentation works on an intranet: its pages reference no third-party host and their assets are
served by the service itself."""

from __future__ import annotations

import re

import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_another_host(client, page):
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert "http://" not in html and "https://" not in html and not EXTERNAL.search(html), html
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets, html
    for url in assets:
        got = client.get(url)
        assert got.status_code == 200, url
        assert len(got.content) > 0
    assert "validatorUrl" not in html or '"validatorUrl": null' in html
