"""The county's policy as the workers use it: loaded from the database once per run."""

from __future__ import annotations

from dataclasses import dataclass

from models.duties import Duty
from models.rules import PolicySetting, Rule, RuleKind
from models.units import SchoolLevel, Unit
from tasks.policy.spec import DeadlinesSpec, FactRuleSpec, LadderStepSpec

LADDER_PREFIX = "ladder:"


class PolicyMissing(RuntimeError):
    """The database holds no county policy: run ./scripts/manage seed."""


@dataclass
class UnitDirectory:
    """Unit ids by code and by the roles the policy gives them (office, education_bureau ...)."""

    codes: dict[str, int]
    roles: dict[str, int]
    names: dict[int, str]
    vocational_id: int | None

    def role(self, name: str) -> int | None:
        return self.roles.get(name) or self.codes.get(name)


@dataclass
class CountyPolicy:
    units: UnitDirectory
    ladder: list[tuple[Rule, LadderStepSpec]]
    report_receivers: list[str]
    fact_rules: list[tuple[Rule, FactRuleSpec]]
    deadlines: DeadlinesSpec | None
    duty_ids: dict[str, int]

    @classmethod
    async def load(cls) -> CountyPolicy:
        settings = {s.key: s.value for s in await PolicySetting.all()}
        rows = await Unit.all().values_list("id", "code", "name", "school_level")
        codes = {code: pk for pk, code, _, _ in rows}
        roles = {role: codes[code] for role, code in (settings.get("county_units") or {}).items() if code in codes}
        vocational = roles.get("vocational_school") or next(
            (pk for pk, _, _, level in rows if level == SchoolLevel.VOCATIONAL), None
        )
        rules = await Rule.all().order_by("position", "id")
        return cls(
            units=UnitDirectory(codes, roles, {pk: name for pk, _, name, _ in rows}, vocational),
            ladder=[(r, LadderStepSpec.model_validate(r.spec)) for r in rules if r.kind is RuleKind.LADDER_STEP],
            report_receivers=list(settings.get("report_receivers") or []),
            fact_rules=[(r, FactRuleSpec.model_validate(r.spec)) for r in rules if r.kind is RuleKind.FACT_RULE],
            deadlines=DeadlinesSpec.model_validate(settings["deadlines"]) if "deadlines" in settings else None,
            duty_ids=dict(await Duty.all().values_list("code", "id")),
        )
