"""OpenID Connect, the relying party's side, on Authlib: discovery, the authorization request (code flow, PKCE
S256, state, nonce), the code exchange and the ID token's validation (joserfc: signature by the provider's
JWKS, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``). Which local user a validated subject is: ``auth/sso.py``.

A sign-in is two requests. ``begin`` gives the provider's authorization URL and the pending sign-in (state,
nonce, PKCE verifier, our redirect URI) that the caller keeps in the console's signed session; ``exchange`` and
``validate_id_token`` take the provider's answer back with it. The discovery document and the JWKS are cached
per process (``DISCOVERY_SECONDS``); a token signed by a key we do not know makes one fresh read of the JWKS
(the provider rotated its keys).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from base64 import urlsafe_b64decode
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hazard_registry.config import Settings
from hazard_registry.errors import NotFound, Unauthorized, UpstreamUnavailable

DISCOVERY_SECONDS = 3600.0
TIMEOUT = 10.0
# The provider's clock and ours may differ a little.
LEEWAY_SECONDS = 30
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def _unavailable(what: str, exc: Exception | None = None) -> UpstreamUnavailable:
    detail = f"统一身份认证服务暂时无法访问 (the OpenID provider: {what}"
    detail += f": {type(exc).__name__})" if exc else ")"
    return UpstreamUnavailable(detail, code="oidc_provider_unavailable")


def token_invalid(why: str) -> Unauthorized:
    return Unauthorized(f"身份令牌无效 (the ID token is refused: {why})", code="oidc_token_invalid")


@dataclass
class Provider:
    """One configured provider: its settings, and its discovery document and keys once read."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    subject_claim: str
    _metadata: dict[str, Any] | None = None
    _keys: KeySet | None = None
    _read_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- discovery --------------------------------------------------------------------------------------------

    def _get(self, url: str) -> dict[str, Any]:
        try:
            r = httpx.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _unavailable(url, exc) from exc
        if not isinstance(body, dict):
            raise _unavailable(f"{url} is not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._read_at > DISCOVERY_SECONDS:
                doc = self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
                if doc.get("issuer") != self.issuer:  # OpenID Connect Discovery §4.3
                    raise _unavailable(f"the discovery document names the issuer {doc.get('issuer')!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(doc.get(key), str):
                        raise _unavailable(f"the discovery document has no {key}")
                self._metadata, self._keys, self._read_at = doc, None, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        jwks_uri = self.metadata()["jwks_uri"]
        with self._lock:
            if self._keys is None or refresh:
                try:
                    self._keys = KeySet.import_key_set(self._get(jwks_uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise _unavailable("its JWKS cannot be read", exc) from exc
            return self._keys

    # --- the flow ---------------------------------------------------------------------------------------------

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
        )

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The authorization URL to send the user to, and the pending sign-in to keep until the answer."""
        pending = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "verifier": generate_token(64),
            "redirect_uri": redirect_uri,
        }
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"],
                state=pending["state"],
                nonce=pending["nonce"],
                code_verifier=pending["verifier"],
            )
        return url, pending

    @staticmethod
    def check_state(pending: dict[str, Any] | None, state: str | None) -> dict[str, str]:
        """The pending sign-in the provider's answer belongs to; a missing or foreign state is refused."""
        if not isinstance(pending, dict) or not state or not secrets.compare_digest(str(pending.get("state")), state):
            raise Unauthorized(
                "登录请求已失效或不匹配 (no sign-in of this session waits for this answer: state mismatch)",
                code="oidc_state_invalid",
            )
        return pending

    def exchange(self, pending: dict[str, str], code: str) -> dict[str, Any]:
        """The code for the provider's tokens (with the PKCE verifier); the answer must hold an ID token."""
        try:
            with self._client(pending["redirect_uri"]) as client:
                token = client.fetch_token(
                    self.metadata()["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending["verifier"],
                )
        except AuthlibBaseError as exc:
            raise Unauthorized(
                f"统一身份认证服务拒绝了登录 (the provider refused the code: {exc})", code="oidc_failed"
            ) from exc
        except httpx.HTTPError as exc:
            raise _unavailable("the token endpoint", exc) from exc
        if not isinstance(token.get("id_token"), str):
            raise token_invalid("the token response has no id_token")
        return dict(token)

    def validate_id_token(self, id_token: str, nonce: str, now: datetime) -> dict[str, Any]:
        """The ID token's claims, once its signature (the provider's JWKS), issuer, audience, expiry, issue time
        and nonce hold at ``now``. Raises 401 ``oidc_token_invalid`` otherwise."""
        try:
            keys = self.keys()
            kid = _kid(id_token)
            if kid is not None and kid not in {k.kid for k in keys.keys}:
                keys = self.keys(refresh=True)  # the provider rotated its keys
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
                sub={"essential": True},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise token_invalid(f"{type(exc).__name__}: {exc}") from exc
        claims = dict(token.claims)
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise token_invalid("several audiences and we are not the authorized party")
        subject = claims.get(self.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise token_invalid(f"no {self.subject_claim!r} claim naming the user")
        return claims

    def subject(self, claims: dict[str, Any]) -> str:
        return str(claims[self.subject_claim])

    def logout_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the user to end the provider's session too (RP-initiated logout), if it offers one."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except UpstreamUnavailable:
            return None
        if not isinstance(endpoint, str):
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            query["id_token_hint"] = id_token
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def _kid(token: str) -> str | None:
    """The ``kid`` of a compact JWS's protected header (which of the provider's keys signed it), if any."""
    try:
        header = json.loads(urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


_PROVIDERS: dict[tuple[str, ...], Provider] = {}
_PROVIDERS_LOCK = threading.Lock()


def provider_for(settings: Settings) -> Provider:
    """The configured provider (one per process and configuration, so its discovery is cached); 404
    ``oidc_not_configured`` when single sign-on is off."""
    if not settings.oidc_enabled:
        raise NotFound("未启用统一身份认证 (single sign-on is not configured)", code="oidc_not_configured")
    key = (
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.oidc_scopes,
        settings.oidc_subject_claim,
    )
    with _PROVIDERS_LOCK:
        if key not in _PROVIDERS:
            _PROVIDERS[key] = Provider(*key)
        return _PROVIDERS[key]
