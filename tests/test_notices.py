"""Notices reach people: a real SMTP receiver (aiosmtpd) and a real HTTP receiver on 127.0.0.1, no mocks.
Time is passed in; backoff is crossed by moving ``now``, never by sleeping."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select, update

from hazard_registry import clock
from hazard_registry.auth.models import User, UserEvent
from hazard_registry.notices.deliver import deliver_due
from hazard_registry.notices.models import Notice
from hazard_registry.notices.outbox import Channels, enqueue_for_measures
from hazard_registry.reference.models import Department, Enterprise
from hazard_registry.supervision import service as sup
from hazard_registry.supervision.models import SupervisionMeasure
from hazard_registry.workdays import WorkCalendar
from tests.live import free_port
from tests.test_supervision_engine import Register, at

SECRET = "receiver-shared-secret"
FRIDAY = date(2026, 2, 13)
LETTER_DAY = date(2026, 2, 27)  # the fifth working day after FRIDAY: the not-started letter is issued by itself
PRINCIPAL, CONTROLLER = "zhangsan@chem.example.com", "wangwu@chem.example.com"
OFFICER, HEAD = "lisi@ns-yj.example.gov.cn", "zhao@ns-yj.example.gov.cn"


class SmtpReceiver:
    """aiosmtpd in its own thread; stop() and start() again on the same port to play an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, _server, _session, envelope) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


class HookReceiver:
    """A webhook endpoint that answers 500 to the next ``fail`` requests and 200 afterwards."""

    def __init__(self) -> None:
        self.fail = 0
        self.delay = 0.0  # seconds each answer takes (a slow receiver)
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        lock, receiver = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    failing = receiver.fail > 0
                    if failing:
                        receiver.fail -= 1
                        receiver.refused += 1
                    else:
                        receiver.accepted.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hazard-notices"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook() -> Iterator[HookReceiver]:
    receiver = HookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def channels_on(settings, smtp, hook, monkeypatch):
    """Both channels on, in the app's own settings (which its sessions carry), for this test only."""
    for name, value in {
        "notice_webhook_url": hook.url,
        "notice_webhook_secret": SECRET,
        "notice_webhook_timeout": 5.0,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_from": "notices@registry.example.gov.cn",
        "smtp_timeout": 5.0,
        "notice_max_attempts": 3,
        "notice_backoff_seconds": 60,
    }.items():
        monkeypatch.setattr(settings, name, value)
    return settings


@pytest.fixture
def contacts(app, world) -> Iterator[None]:
    """Give the world's chemical plant, its lead department and the officer addresses; take them away after."""
    people = {
        (Enterprise, world.ids["chem"]): {
            "principal_email": PRINCIPAL,
            "controller_name": "王五",
            "controller_email": CONTROLLER,
            "controller_phone": "13900139000",
        },
        (Department, world.ids["T-NS-YJ"]): {"head_name": "赵局长", "head_email": HEAD, "head_phone": "0755-26000000"},
        (User, world.ids["officer"]): {"email": OFFICER, "display_name": "李科员"},
    }
    with app.state.engine.begin() as conn:
        for (model, key), values in people.items():
            conn.execute(update(model).where(model.id == key).values(**values))
    yield
    with app.state.engine.begin() as conn:
        for (model, key), values in people.items():
            conn.execute(update(model).where(model.id == key).values(**dict.fromkeys(values)))


def issue_letter(reg: Register) -> SupervisionMeasure:
    """A hazard assigned and left unstarted: on LETTER_DAY the sweep issues a 函告 to the enterprise."""
    hid = reg.report(FRIDAY)
    reg.assign(hid, FRIDAY, deadline=date(2026, 4, 30))
    assert reg.sweep(LETTER_DAY).issued == 1
    [m] = reg.measures(hid)
    return m


def notices(app, **where) -> list[Notice]:
    with app.state.sessionmaker() as s:
        stmt = select(Notice).filter_by(**where).order_by(Notice.id)
        return list(s.scalars(stmt))


def deliver(app, settings, now):
    return deliver_due(app.state.sessionmaker, settings, now)


def test_an_issued_letter_mails_principal_and_controller_and_copies_officer_and_head(
    app, world, settings, db, channels_on, contacts, smtp, hook
):
    reg = Register(app, world, settings)
    letter = issue_letter(reg)
    measure_id, number = letter.id, letter.document_number
    queued = notices(app, measure_id=measure_id)
    assert sorted((n.recipient_role, n.channel) for n in queued) == sorted(
        (role, channel)
        for role in ("enterprise_principal", "enterprise_controller", "officer", "department_head")
        for channel in ("email", "webhook")
    )
    assert {n.status for n in queued} == {"pending"}

    result = deliver(app, settings, at(LETTER_DAY))
    assert (result.sent, result.retried, result.dead) == (8, 0, 0)
    assert number.endswith("督〔2026〕1号")
    for address in (PRINCIPAL, CONTROLLER, OFFICER, HEAD):
        [mail] = smtp.to(address)
        assert number in mail["Subject"] and mail["Subject"].startswith("【函告】")
        assert "南山测试化工有限公司" in mail["Subject"]
        body = mail.get_content()
        assert f"文号：{number}" in body and "隐患编号：" in body and "回复期限：2026年3月9日前" in body
        assert ("抄送" in body) == (address in (OFFICER, HEAD)), "officer and department head get copies"
        assert mail["Message-ID"].startswith(f"<m{measure_id}.issue.")
    assert str(smtp.to(PRINCIPAL)[0]["To"]) == f"张三 <{PRINCIPAL}>"
    assert smtp.to(CONTROLLER)[0].get_content().startswith("王五（实际控制人）：")
    sent = notices(app, measure_id=measure_id)
    assert {n.status for n in sent} == {"sent"} and all(n.subject and n.sent_at and n.attempts == 1 for n in sent)

    assert deliver(app, settings, at(LETTER_DAY) + timedelta(days=30)).sent == 0, "sent is sent"
    assert len(smtp.messages) == 4 and len(hook.accepted) == 4


def test_the_webhook_body_is_signed_and_carries_the_recipient(
    app, world, settings, db, channels_on, contacts, smtp, hook
):
    reg = Register(app, world, settings)
    measure_id = issue_letter(reg).id
    deliver(app, settings, at(LETTER_DAY))
    assert len(hook.accepted) == 4
    keys = {n.dedup_key for n in notices(app, channel="webhook")}
    for headers, body in hook.accepted:
        timestamp = headers["X-Hazard-Timestamp"]
        assert 0 <= int(timestamp) - int(at(LETTER_DAY).timestamp()) <= 60  # the run's clock when it was sent
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Hazard-Signature"], f"sha256={expected}")
        assert headers["X-Hazard-Notice-Id"] in keys
        payload = json.loads(body)
        assert payload["notice_id"] == headers["X-Hazard-Notice-Id"]
        assert payload["measure"]["id"] == measure_id and payload["measure"]["name"] == "函告"
        assert payload["measure"]["document_number"] in payload["subject"]
    by_role = {json.loads(b)["recipient"]["role"]: json.loads(b)["recipient"] for _, b in hook.accepted}
    assert by_role["enterprise_principal"] == {
        "role": "enterprise_principal",
        "name": "张三",
        "email": PRINCIPAL,
        "phone": "13800138000",
        "copy": False,
    }
    assert by_role["department_head"]["phone"] == "0755-26000000" and by_role["department_head"]["copy"]
    assert by_role["officer"]["email"] == OFFICER and by_role["officer"]["phone"] is None


def test_a_failing_receiver_is_retried_with_backoff_then_dead_and_an_admin_retries_it(
    client, app, world, settings, channels_on, contacts, smtp, hook
):
    reg = Register(app, world, settings)
    issue_letter(reg)
    hook.fail = 10**6
    t0 = at(LETTER_DAY)
    first = deliver(app, settings, t0)
    assert (first.sent, first.retried, first.dead) == (4, 4, 0), "mail goes; the webhook waits"
    assert deliver(app, settings, t0 + timedelta(seconds=59)).retried == 0, "not before its backoff"
    assert deliver(app, settings, t0 + timedelta(seconds=60)).retried == 4
    assert deliver(app, settings, t0 + timedelta(seconds=60 + 119)).retried == 0, "the second wait is doubled"
    last = deliver(app, settings, t0 + timedelta(seconds=60 + 120))
    assert (last.retried, last.dead) == (0, 4), "three attempts, then a dead letter"
    assert hook.refused == 12 and hook.accepted == []

    admin = world.headers(client, "admin")
    dead = client.get("/api/v1/notices", params={"status": "dead"}, headers=admin)
    assert dead.status_code == 200
    dead_items = dead.json()["items"]
    assert len(dead_items) == 4 and {n["channel"] for n in dead_items} == {"webhook"}
    assert all("HTTP 500" in n["last_error"] and n["attempts"] == 3 for n in dead_items)
    page = client.get("/api/v1/notices", params={"limit": 3}, headers=admin).json()
    rest = client.get("/api/v1/notices", params={"cursor": page["next_cursor"]}, headers=admin).json()
    assert len(page["items"]) + len(rest["items"]) == 8 and page["items"][-1]["id"] < rest["items"][0]["id"]

    one = dead_items[0]["id"]
    hook.fail = 0
    r = client.post(f"/api/v1/notices/{one}/retry", headers=admin)
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert client.post(f"/api/v1/notices/{one}/retry", headers=admin).status_code == 409, "only a dead one"
    sent_mail = notices(app, channel="email")[0].id
    r = client.post(f"/api/v1/notices/{sent_mail}/retry", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "wrong_state"

    back = deliver(app, settings, clock.now() + timedelta(seconds=1))
    assert (back.sent, back.dead) == (1, 0) and len(hook.accepted) == 1
    assert client.get(f"/api/v1/notices/{one}", headers=admin).json()["status"] == "sent"
    assert len(client.get("/api/v1/notices", params={"status": "dead"}, headers=admin).json()["items"]) == 3


def test_with_the_mail_server_down_nothing_is_lost(app, world, settings, db, channels_on, contacts, smtp, hook):
    reg = Register(app, world, settings)
    issue_letter(reg)
    smtp.stop()
    t0 = at(LETTER_DAY)
    down = deliver(app, settings, t0)
    assert (down.sent, down.retried) == (4, 4), "the webhook still goes"
    mails = notices(app, channel="email")
    assert {(n.status, n.attempts) for n in mails} == {("pending", 1)}
    assert all("SMTP unreachable" in n.last_error for n in mails)

    smtp.start()
    assert deliver(app, settings, t0 + timedelta(seconds=30)).sent == 0, "waits for its backoff"
    up = deliver(app, settings, t0 + timedelta(minutes=1))
    assert (up.sent, up.retried, up.dead) == (4, 0, 0)
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted([PRINCIPAL, CONTROLLER, OFFICER, HEAD])
    assert {n.status for n in notices(app)} == {"sent"}


def test_delivering_twice_or_concurrently_sends_each_notice_once(
    app, world, settings, db, channels_on, contacts, smtp, hook
):
    reg = Register(app, world, settings)
    issue_letter(reg)
    now = at(LETTER_DAY)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: deliver(app, settings, now), range(4)))
    assert sum(r.sent for r in results) == 8 and sum(r.retried + r.dead for r in results) == 0
    assert deliver(app, settings, now).sent == 0
    assert deliver(app, settings, now + timedelta(days=1)).sent == 0
    assert len(smtp.messages) == 4
    assert sorted(h["X-Hazard-Notice-Id"] for h, _ in hook.accepted) == sorted(
        n.dedup_key for n in notices(app, channel="webhook")
    )


def test_queueing_the_same_action_twice_adds_nothing(app, world, settings, db, channels_on, contacts):
    reg = Register(app, world, settings)
    measure_id = issue_letter(reg).id
    both = Channels(webhook=True, email=True)
    with app.state.sessionmaker() as s:
        assert enqueue_for_measures(s, [measure_id], "issue", at(LETTER_DAY), both) == 0
        by_select = select(SupervisionMeasure.id).where(SupervisionMeasure.id == measure_id)
        assert enqueue_for_measures(s, by_select, "issue", at(LETTER_DAY), both) == 0
        assert enqueue_for_measures(s, [], "issue", at(LETTER_DAY), both) == 0
        assert enqueue_for_measures(s, [measure_id], "issue", at(LETTER_DAY), Channels()) == 0
        s.commit()
    assert len(notices(app, measure_id=measure_id)) == 8
    keys = {n.dedup_key for n in notices(app)}
    assert f"m{measure_id}:issue:enterprise_controller:email" in keys


def test_a_recipient_without_an_address_is_skipped_and_a_regulator_stall_goes_to_its_head(
    app, world, settings, db, channels_on, contacts
):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))  # not assigned: no officer yet
    reg.sweep(date(2026, 3, 5))
    [m] = reg.measures(hid)
    assert (m.target_kind, m.state) == ("department", "issued")
    assert sorted((n.recipient_role, n.channel, n.address) for n in notices(app, measure_id=m.id)) == [
        ("department_head", "email", HEAD),
        ("department_head", "webhook", HEAD),
    ]
    with app.state.engine.begin() as conn:  # the metal works' people have only a phone
        conn.execute(update(User).where(User.id == world.ids["officer"]).values(email=None))
    hid = reg.report(FRIDAY, who="ent_metal")
    reg.assign(hid, FRIDAY, deadline=date(2026, 4, 30))
    reg.sweep(LETTER_DAY)
    [m] = reg.measures(hid)
    got = sorted((n.recipient_role, n.channel) for n in notices(app, measure_id=m.id))
    assert got == [
        ("department_head", "email"),
        ("department_head", "webhook"),
        ("enterprise_principal", "webhook"),  # a phone reaches the webhook's receiver, not the mail server
    ]


def test_withdrawal_after_issue_and_taking_down_on_close_are_told_a_proposal_is_not(
    app, world, settings, db, channels_on, contacts
):
    cal = WorkCalendar()
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 1, 5))
    deadline = date(2026, 3, 31)
    reg.assign(hid, date(2026, 1, 6), deadline=deadline)
    reg.rectify(hid, date(2026, 1, 7), deadline=deadline)
    exposure_day = cal.add_working_days(deadline, 60)
    reg.sweep(exposure_day)
    by = {m.measure: m for m in reg.measures(hid)}
    with app.state.sessionmaker() as s:
        chief = reg.actor(s, "chief")
        exposure, summons, letter = (s.get(SupervisionMeasure, by[k].id) for k in ("public_exposure", "summons",
                                                                                  "warning_letter"))  # fmt: skip
        sup.issue(s, chief, exposure, at(exposure_day), exposure.version)
        sup.withdraw(s, chief, summons, at(exposure_day), "已约谈，另案处理", summons.version)
        sup.withdraw(s, chief, letter, at(exposure_day), "重复", letter.version)
        s.commit()
    actions = {(n.measure_id, n.action) for n in notices(app)}
    assert (by["summons"].id, "withdraw") not in actions, "a proposal withdrawn was never told to anyone"
    assert (by["warning_letter"].id, "withdraw") in actions, "an issued letter withdrawn is"

    later = date(2026, 7, 20)
    reg.act(hid, later, "ent_chem", "request_verification")
    reg.act(hid, later, "officer", "verify", check_record="现场核查合格")
    reg.act(hid, later, "chief", "close")
    taken_down = notices(app, measure_id=by["public_exposure"].id, action="take_down")
    assert {n.recipient_role for n in taken_down} == {
        "enterprise_principal",
        "enterprise_controller",
        "officer",
        "department_head",
    }
    assert not notices(app, measure_id=by["listed_supervision"].id), "never issued, nothing to tell"
    deliver(app, settings, at(later))
    mail = next(n for n in taken_down if n.channel == "email" and n.recipient_role == "enterprise_principal")
    [sent] = notices(app, id=mail.id)
    assert sent.status == "sent" and sent.subject.startswith("【曝光·撤销】")
    assert "曝光信息已撤下" in sent.body


def test_only_the_administrators_of_the_region_see_notices(client, app, world, settings, channels_on, contacts):
    reg = Register(app, world, settings)
    issue_letter(reg)
    [one, *_] = notices(app)
    for user in ("ent_chem", "officer", "chief"):
        h = world.headers(client, user)
        assert client.get("/api/v1/notices", headers=h).status_code == 403
        assert client.get(f"/api/v1/notices/{one.id}", headers=h).status_code == 403
        assert client.post(f"/api/v1/notices/{one.id}/retry", headers=h).status_code == 403
    futian = world.headers(client, "admin_futian")
    assert client.get("/api/v1/notices", headers=futian).json()["items"] == []
    r = client.get(f"/api/v1/notices/{one.id}", headers=futian)
    assert r.status_code == 404 and r.json()["code"] == "notice_not_found"
    assert client.post(f"/api/v1/notices/{one.id}/retry", headers=futian).status_code == 404
    admin = world.headers(client, "admin")
    got = client.get(f"/api/v1/notices/{one.id}", headers=admin)
    assert got.status_code == 200 and got.json()["dedup_key"] == one.dedup_key


def test_an_officer_gets_an_email_address_through_the_user_admin(client, app, world, db):
    admin = world.headers(client, "admin")
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "officer_mail",
            "password": "correct-horse-battery",
            "role": "regulator",
            "department_code": "T-NS-YJ",
            "email": "mail@ns-yj.example.gov.cn",
        },
    )
    assert r.status_code == 201 and r.json()["email"] == "mail@ns-yj.example.gov.cn"
    uid = r.json()["id"]
    r = client.patch(f"/api/v1/users/{uid}", headers=admin, json={"email": "not an address"})
    assert r.status_code == 422
    r = client.patch(f"/api/v1/users/{uid}", headers=admin, json={"email": "new@ns-yj.example.gov.cn"})
    assert r.json()["email"] == "new@ns-yj.example.gov.cn"
    with app.state.engine.begin() as conn:  # the world's users are not wiped: leave none behind
        conn.execute(delete(UserEvent).where(UserEvent.user_id == uid))  # its creation is on the record
        conn.execute(delete(User).where(User.id == uid))
    assert db.scalar(select(func.count()).select_from(User).where(User.username == "officer_mail")) == 0


def test_a_notice_that_cannot_be_written_dies_alone(app, world, settings, db, channels_on, contacts, smtp, hook):
    reg = Register(app, world, settings)
    issue_letter(reg)
    [bad, *good] = notices(app, channel="email")
    with app.state.engine.begin() as conn:
        conn.execute(update(Notice).where(Notice.id == bad.id).values(action="bogus"))
    result = deliver_due(app.state.sessionmaker, settings, at(LETTER_DAY), batch=2)
    assert (result.sent, result.dead) == (7, 1), "the rest of its batch and the batches after it still go"
    [dead] = notices(app, id=bad.id)
    assert dead.status == "dead" and dead.last_error.startswith("cannot render")
    assert len(smtp.messages) == len(good) == 3


def test_the_webhook_is_signed_when_each_request_is_sent(app, world, settings, db, channels_on, contacts, smtp, hook):
    """A long run does not send requests stamped with the moment it began (issue #11, item 13)."""
    reg = Register(app, world, settings)
    issue_letter(reg)
    hook.delay = 1.1
    deliver(app, settings, at(LETTER_DAY))
    stamps = [int(h["X-Hazard-Timestamp"]) for h, _ in hook.accepted]
    assert len(stamps) == 4 and stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] >= 3, stamps


def test_notices_are_queued_whatever_the_issuing_process_knows_of_channels(app, world, settings, db, smtp, hook):
    """The API process has no channel settings (they are the worker's): the measure's notices are queued
    anyway, and the worker sends them (issue #11, item 13)."""
    assert not settings.notice_webhook_url and not settings.smtp_host
    reg = Register(app, world, settings)
    with app.state.engine.begin() as conn:
        conn.execute(update(Enterprise).where(Enterprise.id == world.ids["chem"]).values(principal_email=PRINCIPAL))
    try:
        measure_id = issue_letter(reg).id
        queued = notices(app, measure_id=measure_id)
        assert {(n.recipient_role, n.channel) for n in queued} >= {
            ("enterprise_principal", "email"),
            ("enterprise_principal", "webhook"),
        }
        # A deliverer with the webhook only sends the webhook's and leaves the e-mails pending, untouched.
        webhook_only = settings.model_copy(
            update={"notice_webhook_url": hook.url, "notice_webhook_secret": SECRET, "notice_webhook_timeout": 5.0}
        )
        result = deliver_due(app.state.sessionmaker, webhook_only, at(LETTER_DAY))
        assert result.sent == len([n for n in queued if n.channel == "webhook"]) == len(hook.accepted)
        mails = notices(app, measure_id=measure_id, channel="email")
        assert mails and all(n.status == "pending" and n.attempts == 0 for n in mails)
        # The one with SMTP sends them.
        with_mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_timeout": 5.0})
        assert deliver_due(app.state.sessionmaker, with_mail, at(LETTER_DAY)).sent == len(mails)
        assert smtp.to(PRINCIPAL)
    finally:
        with app.state.engine.begin() as conn:
            conn.execute(update(Enterprise).where(Enterprise.id == world.ids["chem"]).values(principal_email=None))
