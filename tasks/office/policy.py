"""The office's part of the policy file: the targets (二) and the evaluation criteria (五(一))."""

from __future__ import annotations

from models.rules import PolicySetting
from tasks.policy.spec import OfficeSpec


async def office_policy() -> OfficeSpec:
    row = await PolicySetting.get_or_none(key="office")
    return OfficeSpec.model_validate(row.value) if row else OfficeSpec()
