"""The console's menu: page modules append a ``NavItem`` at import; the base layout shows those the actor
may use (by role, and by a right such as ``can_take_complaints`` through ``when``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hazard_registry.auth.principal import Actor, Role

ALL_ROLES = frozenset({Role.enterprise, Role.regulator, Role.admin})


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role] = ALL_ROLES
    order: int = 50
    when: Callable[[Actor], bool] | None = field(default=None, compare=False)

    def shown_to(self, actor: Actor) -> bool:
        return actor.role in self.roles and (self.when is None or bool(self.when(actor)))


NAV: list[NavItem] = []


def menu_for(actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    return sorted((n for n in NAV if n.shown_to(actor)), key=lambda n: (n.order, n.href))
