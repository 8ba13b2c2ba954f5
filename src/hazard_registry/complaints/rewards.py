"""Rewards under 安全生产领域举报奖励办法 (安监总财〔2018〕19号), arts. 11–12. Money is integer fen.

- A verified major hazard or illegal production (art. 11): 15 % of the administrative fine, at least
  3,000 元, at most 300,000 元.
- A verified concealed or falsely reported accident (art. 12): per concealed death, 30,000 元 for a general
  (一般) accident, 40,000 元 for a larger (较大), 50,000 元 for a major (重大), 60,000 元 for an especially
  major (特别重大) one; at most 300,000 元.

The life of a reward: proposed by the handler, approved by a second person with signing authority,
claimed by the reporter with the receipt, paid by the administrator's office."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role, complaint_scope
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import get_for_handler, get_visible, invalid, no_enterprise
from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.models import (
    Complaint,
    Reward,
)
from hazard_registry.complaints.workflow import (
    event,
    post,
)
from hazard_registry.db import add_unique
from hazard_registry.errors import (
    Conflict,
    Forbidden,
    GateFailed,
    NotFound,
    WrongState,
)

YUAN = 100  # fen per yuan
FINE_RATE = Decimal("0.15")
MIN_FEN = 3_000 * YUAN
MAX_FEN = 300_000 * YUAN
PER_DEATH_FEN = {
    "general": 30_000 * YUAN,
    "larger": 40_000 * YUAN,
    "major": 50_000 * YUAN,
    "especially_major": 60_000 * YUAN,
}


def for_fine(fine_fen: int) -> int:
    share = (Decimal(fine_fen) * FINE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(min(max(share, Decimal(MIN_FEN)), Decimal(MAX_FEN)))


def for_concealed_deaths(deaths: int, accident_class: str) -> int:
    return min(deaths * PER_DEATH_FEN[accident_class], MAX_FEN)


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def reward_out(r: Reward) -> schemas.RewardOut:
    return schemas.RewardOut(
        id=r.id,
        complaint_id=r.complaint_id,
        state=r.state,
        basis=r.basis,
        fine_fen=r.fine_fen,
        deaths=r.deaths,
        accident_class=r.accident_class,
        amount_fen=r.amount_fen,
        amount_yuan=yuan(r.amount_fen),
        claimed=r.payee_enc is not None,
        payment_reference=r.payment_reference,
    )


def _reward(session: Session, c: Complaint) -> Reward:
    r = session.scalar(select(Reward).where(Reward.complaint_id == c.id))
    if r is None:
        raise NotFound("no reward proposed for this complaint", code="reward_not_found")
    return r


def propose_reward(
    session: Session, actor: Actor, complaint_id: int, data: schemas.RewardPropose, now: datetime
) -> Reward:
    no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    if actor.role is not Role.regulator or actor.user_id is None:
        raise Forbidden("the handling department proposes rewards", code="role_forbidden")
    if c.outcome != "substantiated":
        raise GateFailed("only a substantiated complaint is rewarded", code="not_substantiated")
    if data.basis == "fine":
        if data.fine_yuan is None:
            raise invalid("fine_yuan", "required for a reward on a fine")
        fine_fen = int(Decimal(data.fine_yuan) * 100)
        if fine_fen <= 0:
            raise invalid("fine_yuan", "must be positive")
        amount, deaths, klass = for_fine(fine_fen), None, None
    else:
        if data.deaths is None or data.accident_class is None:
            raise invalid("deaths", "deaths and accident_class are required for concealed deaths")
        fine_fen, deaths, klass = None, data.deaths, data.accident_class
        amount = for_concealed_deaths(deaths, klass)
    r = Reward(
        complaint_id=c.id,
        state="proposed",
        basis=data.basis,
        fine_fen=fine_fen,
        deaths=deaths,
        accident_class=klass,
        amount_fen=amount,
        proposed_by_id=actor.user_id,
        proposed_at=now,
    )
    add_unique(session, r, Conflict("a reward was already proposed for this complaint", code="reward_exists"))
    event(session, c, actor, "reward_proposed", now, data={"amount_fen": amount})
    return r


def approve_reward(session: Session, actor: Actor, complaint_id: int, now: datetime) -> Reward:
    no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    r = _reward(session, c)
    if actor.role is not Role.regulator or not actor.can_close:
        raise Forbidden("rewards are approved by a regulator with signing authority", code="role_forbidden")
    if actor.user_id == r.proposed_by_id:
        raise Forbidden("two-person rule: the proposer may not approve", code="reward_self_approval")
    if r.state != "proposed":
        raise WrongState(f"the reward is {r.state}", state=r.state)
    r.state, r.approved_by_id, r.approved_at = "approved", actor.user_id, now
    session.flush()
    event(session, c, actor, "reward_approved", now, data={"amount_fen": r.amount_fen})
    post(session, c, "to_reporter", "reward", f"您的举报获得奖励 {yuan(r.amount_fen)} 元，请凭回执领取。", actor, now)
    return r


def claim_reward(session: Session, c: Complaint, data: schemas.RewardClaim, vault: Vault, now: datetime) -> Reward:
    r = session.scalar(select(Reward).where(Reward.complaint_id == c.id))
    if r is None or r.state == "proposed":
        raise NotFound("there is no reward to claim", code="reward_not_found")
    if r.state == "paid":
        raise WrongState("the reward was already paid", state="paid")
    r.payee_enc = vault.seal(data.model_dump())
    r.claimed_at = now
    session.flush()
    event(session, c, None, "reward_claimed", now)
    return r


def rewards_to_pay(session: Session, actor: Actor) -> list[Reward]:
    """The paying office's queue: approved, claimed rewards of the administrator's region."""
    if actor.role is not Role.admin:
        raise Forbidden("rewards are paid by the administrator's office", code="role_forbidden")
    return list(
        session.scalars(
            select(Reward)
            .join(Complaint, Complaint.id == Reward.complaint_id)
            .where(complaint_scope(actor, Complaint), Reward.state == "approved", Reward.payee_enc.is_not(None))
            .order_by(Reward.id)
        )
    )


def payment_view(r: Reward, vault: Vault) -> schemas.RewardPayment:
    payee = schemas.Payee(**vault.open(r.payee_enc)) if r.payee_enc else None
    return schemas.RewardPayment(**reward_out(r).model_dump(), payee=payee)


def pay_reward(session: Session, actor: Actor, reward_id: int, reference: str, now: datetime) -> Reward:
    if actor.role is not Role.admin:
        raise Forbidden("rewards are paid by the administrator's office", code="role_forbidden")
    row = session.execute(
        select(Reward, Complaint)
        .join(Complaint, Complaint.id == Reward.complaint_id)
        .where(Reward.id == reward_id, complaint_scope(actor, Complaint))
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"reward {reward_id} not found", code="reward_not_found")
    r, c = row[0], row[1]
    if r.state != "approved":
        raise WrongState(f"the reward is {r.state}, not approved", state=r.state)
    if r.payee_enc is None:
        raise GateFailed("the reporter has not claimed the reward yet", code="reward_unclaimed")
    r.state, r.paid_by_id, r.paid_at, r.payment_reference = "paid", actor.user_id, now, reference
    session.flush()
    event(session, c, actor, "reward_paid", now, data={"payment_reference": reference})
    post(session, c, "to_reporter", "reward", f"奖励 {yuan(r.amount_fen)} 元已发放。", actor, now)
    return r


def reward_of(session: Session, actor: Actor, complaint_id: int) -> Reward | None:
    """The reward of a complaint the caller may see, if one was proposed."""
    c = get_for_handler(session, actor, complaint_id)
    return session.scalar(select(Reward).where(Reward.complaint_id == c.id))


def reward_actions(actor: Actor, c: Complaint, r: Reward | None) -> list[str]:
    """What the caller may do about the complaint's reward: ``propose`` (a handler, substantiated, none yet),
    ``approve`` (signing authority, not the proposer) — the checks of ``propose_reward`` and ``approve_reward``."""
    if actor.role is not Role.regulator or actor.user_id is None:
        return []
    if r is None:
        return ["propose"] if c.outcome == "substantiated" else []
    if r.state == "proposed" and actor.can_close and actor.user_id != r.proposed_by_id:
        return ["approve"]
    return []
