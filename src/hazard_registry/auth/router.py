from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from hazard_registry import clock
from hazard_registry.auth import schemas, service, sso
from hazard_registry.auth.deps import AdminActor, CurrentActor
from hazard_registry.auth.models import User
from hazard_registry.auth.oidc import provider_for
from hazard_registry.auth.security import issue_token
from hazard_registry.config import AppSettings, Settings
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
        user = service.authenticate(session, form.username, form.password, settings.password_login_disabled_for)
    except Unauthorized:
        session.rollback()  # the limiter may write to this database: hold no lock while it does
        for bucket, key, spec in limits:
            with contextlib.suppress(TooManyRequests):
                limiter.hit(bucket, key, spec)
        raise
    limiter.clear("login_account", account, settings.login_rate_account)
    return _token_for(settings, user)


def _token_for(settings: Settings, user: User) -> schemas.Token:
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


# --- single sign-on (OpenID Connect): an API client gets our bearer token through the provider ------------------

# The pending sign-in lives in the signed session cookie the console uses (web/session.py), which these two
# paths carry too: a client that follows redirects with a cookie jar (a browser, httpx) needs nothing more.
OIDC_SESSION_PATHS = ("/api/v1/auth/oidc/authorize", "/api/v1/auth/oidc/callback")
PENDING_KEY = "oidc_api"


@router.get(
    "/auth/oidc/authorize",
    operation_id="oidc_authorize",
    status_code=302,
    response_class=RedirectResponse,
    summary="Sign in through the OpenID provider (redirect)",
    responses={302: {"description": "To the provider's sign-in page; it sends the user back to oidc_callback"}},
)
def oidc_authorize(request: Request, settings: AppSettings) -> RedirectResponse:
    """Starts the authorization-code flow (PKCE S256, state, nonce); 404 ``oidc_not_configured`` when single
    sign-on is off. Follow the redirects with a cookie jar: the callback answers with our bearer token."""
    url, pending = provider_for(settings).begin(str(request.url_for("oidc_callback")))
    request.scope.setdefault("session", {})[PENDING_KEY] = pending
    return RedirectResponse(url, status_code=302)


@router.get(
    "/auth/oidc/callback",
    response_model=schemas.Token,
    operation_id="oidc_callback",
    summary="The provider's answer: our bearer token, as /auth/token gives",
)
def oidc_callback(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> schemas.Token:
    """Refusals: 401 ``oidc_state_invalid`` (no sign-in of this session waits), ``oidc_replayed``,
    ``oidc_failed`` (the provider refused), ``oidc_token_invalid`` (signature, issuer, audience, expiry, nonce);
    403 ``oidc_subject_unmapped`` (no link, no matching rule: no account is made), ``account_deactivated``."""
    provider = provider_for(settings)
    pending = request.scope.get("session", {}).pop(PENDING_KEY, None)
    user, _ = sso.sign_in(session, provider, pending, code=code, state=state, error=error, now=clock.now())
    session.commit()
    return _token_for(settings, user)


@router.get("/auth/oidc/rules", response_model=Page[schemas.OidcRuleOut], operation_id="list_oidc_rules")
def list_oidc_rules(actor: AdminActor, session: DbSession) -> Page[schemas.OidcRuleOut]:
    """The claim rules that make accounts in the administrator's region; the oldest matching active one applies."""
    rows = sso.list_rules(session, actor)
    return Page[schemas.OidcRuleOut](items=[schemas.OidcRuleOut.model_validate(r) for r in rows])


@router.post("/auth/oidc/rules", status_code=201, response_model=schemas.OidcRuleOut, operation_id="create_oidc_rule")
def create_oidc_rule(data: schemas.OidcRuleCreate, actor: AdminActor, session: DbSession) -> schemas.OidcRuleOut:
    """Subjects whose claims meet every condition sign in as an account with exactly this role, place and these
    rights (made on the first sign-in). Only within the administrator's region and below its level."""
    rule = sso.create_rule(session, actor, data, clock.now())
    session.commit()
    return schemas.OidcRuleOut.model_validate(rule)


@router.delete("/auth/oidc/rules/{rule_id}", status_code=204, operation_id="retire_oidc_rule")
def retire_oidc_rule(rule_id: IdPath, actor: AdminActor, session: DbSession) -> Response:
    sso.retire_rule(session, actor, rule_id)
    session.commit()
    return Response(status_code=204)


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


@router.get("/users/{user_id}/oidc-links", response_model=Page[schemas.OidcLinkOut], operation_id="list_oidc_links")
def list_oidc_links(user_id: IdPath, actor: AdminActor, session: DbSession) -> Page[schemas.OidcLinkOut]:
    """The provider subjects that sign in as this user."""
    rows = sso.list_links(session, actor, user_id)
    return Page[schemas.OidcLinkOut](items=[schemas.OidcLinkOut.model_validate(r) for r in rows])


@router.post(
    "/users/{user_id}/oidc-links", status_code=201, response_model=schemas.OidcLinkOut, operation_id="link_oidc_subject"
)
def link_oidc_subject(
    user_id: IdPath, data: schemas.OidcLinkCreate, actor: AdminActor, session: DbSession, settings: AppSettings
) -> schemas.OidcLinkOut:
    """Let a provider subject sign in as this user (409 ``oidc_link_exists`` if it signs in as someone already)."""
    link = sso.link_subject(session, actor, user_id, data, settings.oidc_issuer, clock.now())
    session.commit()
    return schemas.OidcLinkOut.model_validate(link)


@router.delete("/users/{user_id}/oidc-links/{link_id}", status_code=204, operation_id="unlink_oidc_subject")
def unlink_oidc_subject(user_id: IdPath, link_id: IdPath, actor: AdminActor, session: DbSession) -> Response:
    sso.unlink_subject(session, actor, user_id, link_id, clock.now())
    session.commit()
    return Response(status_code=204)
