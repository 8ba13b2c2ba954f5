from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm

from hazard_registry import clock
from hazard_registry.auth import schemas, service
from hazard_registry.auth.deps import AdminActor, CurrentActor
from hazard_registry.auth.models import User
from hazard_registry.auth.security import issue_token
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import TooManyRequests, Unauthorized
from hazard_registry.idempotency import IdempotencyHeader, fingerprint, run_once
from hazard_registry.pagination import Cursor, Page
from hazard_registry.ratelimit import Limiter, request_address
from hazard_registry.types import IdPath

router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=SessionRoute)


@router.post("/auth/token", response_model=schemas.Token, operation_id="login", summary="Log in (OAuth2 password flow)")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: DbSession) -> schemas.Token:
    """Failures are counted per account and per client address; past either limit the answer is 429 with
    Retry-After, whatever the password, until the window ends."""
    settings = request.app.state.settings
    limiter: Limiter = request.app.state.limiter
    account, address = form.username.strip().lower(), request_address(request)
    limits = (
        ("login_account", account, settings.login_rate_account),
        ("login_address", address, settings.login_rate_address),
    )
    for bucket, key, spec in limits:
        if wait := limiter.blocked(bucket, key, spec):
            raise TooManyRequests(
                "登录失败次数过多，请稍后再试 (too many failed logins; wait and retry)", retry_after=wait
            )
    try:
        user = service.authenticate(session, form.username, form.password)
    except Unauthorized:
        session.rollback()  # the limiter may write to this database: hold no lock while it does
        for bucket, key, spec in limits:
            with contextlib.suppress(TooManyRequests):
                limiter.hit(bucket, key, spec)
        raise
    limiter.clear("login_account", account, settings.login_rate_account)
    ttl = timedelta(minutes=settings.jwt_ttl_minutes)
    token = issue_token(
        user_id=user.id,
        generation=user.token_generation,
        role=user.role,
        secret=settings.effective_jwt_secret,
        now=clock.now(),
        ttl=ttl,
    )
    return schemas.Token(access_token=token, expires_in=int(ttl.total_seconds()))


@router.get("/users/me", response_model=schemas.UserOut, operation_id="get_me")
def me(actor: CurrentActor, session: DbSession) -> User:
    user = session.get(User, actor.user_id)
    assert user is not None
    return user


@router.get("/users", response_model=Page[schemas.UserOut], operation_id="list_users")
def list_users(
    actor: AdminActor,
    session: DbSession,
    role: Literal["enterprise", "regulator", "admin"] | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[schemas.UserOut]:
    rows, next_cursor = service.list_users(session, actor, role, limit, cursor)
    return Page[schemas.UserOut](items=[schemas.UserOut.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("/users", status_code=201, response_model=schemas.UserOut, operation_id="create_user")
def create_user(
    data: schemas.UserCreate, actor: AdminActor, session: DbSession, idempotency_key: IdempotencyHeader = None
) -> Response:
    def create() -> tuple[int, dict]:
        user = service.create_user(session, actor, data)
        return 201, schemas.UserOut.model_validate(user).model_dump(mode="json")

    return run_once(
        session, actor, idempotency_key, fingerprint("user", data.model_dump(mode="json", exclude={"password"})), create
    )


@router.get("/users/{user_id}", response_model=schemas.UserOut, operation_id="get_user")
def get_user(user_id: IdPath, actor: AdminActor, session: DbSession) -> User:
    return service.get_user(session, actor, user_id)


@router.patch("/users/{user_id}", response_model=schemas.UserOut, operation_id="update_user")
def update_user(user_id: IdPath, data: schemas.UserUpdate, actor: AdminActor, session: DbSession) -> User:
    user = service.update_user(session, actor, user_id, data)
    session.commit()
    return user


@router.get("/users/{user_id}/events", response_model=Page[schemas.UserEventOut], operation_id="list_user_events")
def list_user_events(user_id: IdPath, actor: AdminActor, session: DbSession) -> Page[schemas.UserEventOut]:
    """The account's audit trail: who created it, granted or withdrew its rights, reset its password."""
    events = service.list_user_events(session, actor, user_id)
    return Page[schemas.UserEventOut](items=[schemas.UserEventOut.model_validate(e) for e in events])
