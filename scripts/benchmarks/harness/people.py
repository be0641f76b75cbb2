"""The people who ask: users made and given bearer tokens the way `manage user create` makes them."""

from __future__ import annotations

from collections.abc import Sequence


async def tokens(url: str, unit_ids: Sequence[int], role: str = "LIAISON", name: str = "压测联络员") -> dict[int, str]:
    """One user of `role` and a bearer token for each unit, by unit id."""
    from models.accounts import create_user, issue_token
    from models.db import connected
    from models.units import Unit
    from models.users import UserRole

    made: dict[int, str] = {}
    async with connected(url):
        for unit in await Unit.filter(id__in=list(unit_ids)):
            made[unit.id] = await issue_token(await create_user(unit, UserRole(role), name))
    return made


async def unit_tokens(url: str, unit: int | str, role: str, names: Sequence[str]) -> list[str]:
    """Users of one unit (its id or code), one per name, and their tokens."""
    from models.accounts import create_user, issue_token
    from models.db import connected
    from models.units import Unit
    from models.users import UserRole

    async with connected(url):
        found = await (Unit.get(id=unit) if isinstance(unit, int) else Unit.get(code=unit))
        return [await issue_token(await create_user(found, UserRole(role), name)) for name in names]
