"""The provider's fixtures (tests/oidc/harness.py) for the tests of this directory."""

from tests.oidc.harness import live_url, oidc_provider, sso  # noqa: F401
