"""The 工作台 shows what waits in every domain, not only hazards and measures: complaints to handle for the
handling department, the quarter's 季报 for an enterprise that has not filed it."""

from __future__ import annotations

from tests.test_complaints import Desk
from tests.test_console import sign_in


def test_a_new_complaint_waits_on_the_handlers_home_and_not_on_another_districts(client, world) -> None:
    Desk(client, world).submit()  # routed to the Nanshan emergency bureau (chemicals, 南山)
    sign_in(client, "officer")
    home = client.get("/")
    assert home.status_code == 200
    assert "举报待办" in home.text and "待受理" in home.text and 'href="/complaints/' in home.text
    sign_in(client, "futian_officer")
    assert "举报待办" not in client.get("/").text, "another district's complaint waits on nobody there"


def test_an_enterprise_sees_the_quarterly_report_it_has_not_filed(client, world) -> None:
    sign_in(client, "ent_chem")
    home = client.get("/")
    assert "季报待报" in home.text and "季报尚未报送" in home.text
    sign_in(client, "officer")
    assert "季报待报" not in client.get("/").text
