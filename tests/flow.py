"""Drive a hazard through the API to any state, the way real users would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from hazard_registry import clock
from tests.factories import PLAN, PNG, World, hazard_body

ORDER = ["reported", "assigned", "rectifying", "verification_requested", "verified", "closed"]


class Flow:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world

    def h(self, username: str) -> dict[str, str]:
        return self.world.headers(self.client, username)

    def report(self, username: str = "ent_chem", **over: Any) -> dict[str, Any]:
        r = self.client.post("/api/v1/hazards", json=hazard_body(self.world, **over), headers=self.h(username))
        assert r.status_code == 201, r.text
        return r.json()

    def act(self, hazard: dict[str, Any], username: str, action: str, **body: Any) -> Any:
        payload = {"action": action, "version": hazard["version"], **body}
        return self.client.post(f"/api/v1/hazards/{hazard['id']}/transitions", json=payload, headers=self.h(username))

    def ok(self, hazard: dict[str, Any], username: str, action: str, **body: Any) -> dict[str, Any]:
        r = self.act(hazard, username, action, **body)
        assert r.status_code == 200, r.text
        return r.json()

    def attach(
        self,
        hazard: dict[str, Any],
        username: str = "ent_chem",
        content: bytes = PNG,
        name: str = "after.png",
        kind: str = "photo_after",
    ) -> Any:
        return self.client.post(
            f"/api/v1/hazards/{hazard['id']}/attachments",
            headers=self.h(username),
            files={"file": (name, content, "application/octet-stream")},
            data={"kind": kind},
        )

    def body_for(self, action: str, hazard: dict[str, Any]) -> dict[str, Any]:
        if action == "assign":
            return {
                "officer_id": self.world.ids["officer"],
                "deadline": (clock.today_in_china() + timedelta(days=30)).isoformat(),
            }
        if action == "reject":
            return {"reason": "not_major"}
        if action == "start_rectification":
            deadline = hazard.get("deadline") or (clock.today_in_china() + timedelta(days=30)).isoformat()
            return {"plan": {**PLAN, "deadline": deadline}}
        if action == "request_verification":
            r = self.attach(hazard, "ent_chem")
            assert r.status_code == 201, r.text
            return {"report": "整改完成", "evaluated_by": "self", "evidence_ids": [r.json()["id"]]}
        if action == "verify":
            return {"check_record": "现场核查合格"}
        if action == "fail_verification":
            return {"reasons": "联锁未投用"}
        return {}

    def to_state(self, state: str, reporter: str = "ent_chem") -> dict[str, Any]:
        """A new hazard of the chem enterprise, walked to ``state``."""
        hazard = self.report(reporter)
        if state == "rejected":
            return self.ok(hazard, "officer", "reject", reason="not_major")
        steps = [
            ("assign", "officer"),
            ("start_rectification", "ent_chem"),
            ("request_verification", "ent_chem"),
            ("verify", "officer"),
            ("close", "chief"),
        ]
        for action, who in steps[: ORDER.index(state)]:
            hazard = self.ok(hazard, who, action, **self.body_for(action, hazard))
        return hazard


def invalid_input(fields: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    """The problem+json body of a 422 naming ``fields`` (comma-separated, sorted) with ``errors``, as a user's
    client receives it, in Chinese with the English beside it."""
    return {
        "type": "urn:hazard-registry:problem:invalid_input",
        "status": 422,
        "code": "invalid_input",
        "title": "填写的内容有误，请检查标出的字段",
        "detail": f"填写的内容有误，请检查标出的字段（invalid fields: {fields}）",
        "title_en": "Invalid input",
        "detail_en": f"invalid fields: {fields}",
        "errors": errors,
    }
