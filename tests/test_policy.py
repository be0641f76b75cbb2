"""The county as data: organisation, people and the duty register, and the policy loader's guard rails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import settings
from models.duties import Duty, DutyParty
from models.units import Membership, Person, Unit
from tasks.policy.load import PolicyError, load_policy
from tests.support import data_of, error_codes, gql, sign_in

UNIT = """
query($code: String!) {
  unit(code: $code) {
    id code name kind isDemo schoolLevel
    parent { code }
    children { code name kind }
    members { role person { name title isDemo memberships { role unit { code } } } }
  }
}
"""

UNITS_OF_KIND = """
query($kind: UnitKind) {
  units(kind: $kind, first: 100) { totalCount nodes { code name kind isDemo parent { code kind } } }
}
"""

DUTY_FIELDS = """
  code clause title text
  trigger { kind text }
  deadline { rule text isDefault }
  owners { role unitKind unit { code } }
  cooperators { role unitKind unit { code } }
"""

ALL_DUTIES = f"{{ duties(first: 100) {{ totalCount pageInfo {{ hasNextPage }} nodes {{ {DUTY_FIELDS} }} }} }}"

# DOMAIN.md §1: the county departments the plan names, by their stable codes.
DEPARTMENTS = {
    "education": "县教育局",
    "police": "县公安局",
    "civil-affairs": "县民政局",
    "disabled-federation": "县残联",
    "human-resources": "县人社局",
    "market-regulation": "县市场监督管理局",
    "justice": "县司法局",
    "political-legal": "县委政法委",
    "culture-tourism": "县文广旅局",
    "finance": "县财政局",
    "women-federation": "县妇联",
    "youth-league": "县团委",
    "organisation": "县委组织部",
    "staffing": "县委编办",
    "stability-centre": "县维稳指挥中心",
    "gov-office": "县政府办公室",
}

TOWNSHIPS = ["大丰镇", "五工台镇", "园户村镇", "二十里店镇", "雀尔沟镇", "石梯子乡", "呼图壁镇"]

# Section 三: the leading group, with each member's title as the plan gives it.
LEADING_GROUP = [
    ("李晓亮", "LEADER", "县委副书记、县长"),
    ("赵江涛", "DEPUTY_LEADER", "县委常委、宣传部部长、教育工委书记"),
    ("努尔阿布里", "DEPUTY_LEADER", "县人大常委会副主任"),
    ("马明艳", "DEPUTY_LEADER", "县人民政府副县长"),
    ("张伟", "MEMBER", "县政府办公室主任、项目推进工作服务中心主任"),
    ("杜长青", "MEMBER", "县委组织部常务副部长"),
    ("叶清", "MEMBER", "县委组织部副部长，县人社局党组副书记、局长"),
    ("高坚", "MEMBER", "县委编办主任"),
    ("李大江", "MEMBER", "县教育局党组书记"),
    ("陈丽华", "MEMBER", "县教育局党组副书记、局长"),
    ("缪军", "MEMBER", "县委政法委常务副书记、县司法局党组副书记、局长"),
    ("海荣", "MEMBER", "县市场监督管理局党组副书记、局长"),
    ("吕宗念", "MEMBER", "县财政局党组副书记、局长"),
    ("阿不利米提·阿不都", "MEMBER", "县文广旅局党组副书记、局长"),
    ("陈林", "MEMBER", "县民政局党组副书记、局长"),
    ("王学斌", "MEMBER", "县公安局党委委员、副政委"),
    ("秦旭东", "MEMBER", "县维稳指挥中心主任"),
    ("王国虎", "MEMBER", "县残联理事长"),
    ("王晓辉", "MEMBER", "县妇联主席"),
    ("杨修卷", "MEMBER", "县团委副书记"),
    ("秦维虎", "MEMBER", "大丰镇党委副书记、镇长"),
    ("朱月", "MEMBER", "五工台镇党委副书记、镇长"),
    ("杨钊", "MEMBER", "园户村镇党委副书记、镇长"),
    ("谢永飞", "MEMBER", "二十里店镇党委副书记、镇长"),
    ("莎依拉", "MEMBER", "雀尔沟镇党委副书记、镇长"),
    ("沙依布拉提", "MEMBER", "石梯子乡党委副书记、乡长"),
    ("傅传明", "MEMBER", "呼图壁镇党委副书记、镇长"),
]

T = "kind:TOWNSHIP"
S = "kind:SCHOOL"
V = "kind:VILLAGE"

# DOMAIN.md §4, row by row, as its "owner → with" column has it: (code, clause, owners, partners
# (owners or cooperators), trigger kind,
# how the deadline rule ends, or None when the plan's wording leaves it open, deadline is a county default).
DUTY_ROWS: list[tuple[str, str, set[str], set[str], str, str | None, bool | None]] = [
    ("supervision-review", "四(一)1", {"supervision"}, {"leading-group"}, "SCHOOL_YEAR", None, None),
    ("school-layout", "四(一)2", {"education"}, set(), "ANNUAL", None, None),
    ("registry-cross-check", "四(一)3", {"police"}, {"education"}, "ANNUAL", None, None),
    ("census-population-data", "四(一)4", {"police"}, set(), "ANNUAL", "before-year 07-31", True),
    (
        "civil-affairs-assistance",
        "四(一)4",
        {"civil-affairs"},
        {"women-federation", "youth-league"},
        "PER_CHILD",
        None,
        None,
    ),
    ("disability-grading", "四(一)4", {"disabled-federation"}, {"education"}, "PER_CHILD", None, None),
    ("employer-inspection", "四(一)4", {"human-resources", "market-regulation"}, set(), "PERIODIC", None, None),
    ("legal-publicity-intervention", "四(一)4", {"justice"}, set(), "PER_EVENT", None, None),
    ("campus-surroundings", "四(一)4", {"political-legal"}, set(), "PERIODIC", None, None),
    ("venues-near-schools", "四(一)4", {"culture-tourism"}, set(), "PERIODIC", None, None),
    ("school-funding", "四(一)4", {"finance"}, set(), "BUDGET_YEAR", None, None),
    ("special-groups", "四(一)5", {"education"}, {T, V}, "PER_CHILD", None, None),
    ("admission-notices", "四(一)6", {T}, set(), "ANNUAL", "annual 08-10", True),
    ("guardian-order", "四(一)7", {T}, set(), "PER_EVENT", None, None),
    ("household-census-organisation", "四(二)2", {"education"}, set(), "ANNUAL", None, None),
    ("enrolment-rules", "四(二)3", {"education"}, set(), "CONTINUOUS", "none", None),
    ("household-census", "四(二)4", {S}, set(), "ANNUAL", "annual 08-31", True),
    ("graduate-handover", "四(二)5", {S}, set(), "ANNUAL", "+7d", None),
    ("absence-monitoring", "四(二)6", {S}, set(), "MONTHLY", "monthly 5", True),
    ("quarterly-notice", "四(二)6", {"education"}, set(), "QUARTERLY", "quarterly +15d", True),
    ("dropout-ledger", "四(二)7", {S}, set(), "PER_CHILD", None, None),
    ("term-start-check", "四(二)8", {S}, set(), "PER_TERM", "term-start +7d", None),
    ("student-aid", "四(二)10", {S}, set(), "PER_CHILD", None, None),
    ("township-evaluation", "五(一)", {"supervision"}, set(), "SCHOOL_YEAR", None, None),
]


def _party(party: dict[str, Any]) -> str:
    return party["unit"]["code"] if party["unit"] else f"kind:{party['unitKind']}"


async def _unit(client, token: str, code: str) -> dict[str, Any]:
    unit = data_of(await gql(client, UNIT, {"code": code}, token=token))["unit"]
    assert unit is not None, f"no unit {code!r}"
    return unit


async def _units(client, token: str, kind: str) -> list[dict[str, Any]]:
    return data_of(await gql(client, UNITS_OF_KIND, {"kind": kind}, token=token))["units"]["nodes"]


@pytest.fixture
async def token(database) -> str:
    return await sign_in("education")


# -- the organisation -----------------------------------------------------------------------


async def test_the_leading_group_and_its_office(client, token) -> None:
    group = await _unit(client, token, "leading-group")
    office = await _unit(client, token, "leading-group-office")

    assert group["kind"] == "LEADING_GROUP"
    assert "控辍保学" in group["name"] and "领导小组" in group["name"]
    assert office["kind"] == "LEADING_GROUP_OFFICE"
    assert office["parent"] == {"code": "leading-group"}
    assert "办公室" in office["name"]
    assert {"code": "leading-group-office", "name": office["name"], "kind": "LEADING_GROUP_OFFICE"} in group["children"]


async def test_every_county_department_of_the_plan(client, token) -> None:
    departments = {u["code"]: u for u in await _units(client, token, "DEPARTMENT")}

    for code, name in DEPARTMENTS.items():
        assert code in departments, f"department {name} ({code}) is missing"
        assert name in departments[code]["name"]
        assert departments[code]["kind"] == "DEPARTMENT"
        assert departments[code]["isDemo"] is False


@pytest.mark.parametrize(
    ("code", "name", "parent"),
    [("education-section", "县教育局教育股", "education"), ("supervision", "县人民政府教育督导室", None)],
)
async def test_the_two_receivers_of_a_dropout_report(client, token, code: str, name: str, parent: str | None) -> None:
    unit = await _unit(client, token, code)

    assert unit["name"] == name
    assert unit["kind"] == "SUB_OFFICE"
    assert unit["isDemo"] is False
    if parent:
        assert unit["parent"] == {"code": parent}


async def test_the_seven_townships_each_with_a_justice_office(client, token) -> None:
    townships = await _units(client, token, "TOWNSHIP")

    assert [t["name"] for t in townships] == TOWNSHIPS
    for township in townships:
        unit = await _unit(client, token, township["code"])
        assert unit["isDemo"] is False
        assert any(c["kind"] == "SUB_OFFICE" and c["name"].endswith("司法所") for c in unit["children"]), unit


@pytest.mark.parametrize("kind", ["VILLAGE", "SCHOOL"])
async def test_demo_villages_and_schools_are_marked(client, token, kind: str) -> None:
    units = await _units(client, token, kind)

    assert units, f"no demo {kind.lower()}s were seeded"
    for unit in units:
        assert unit["isDemo"] is True, unit
        assert unit["name"].startswith("【演示】"), unit
    if kind == "VILLAGE":
        assert {u["parent"]["kind"] for u in units} == {"TOWNSHIP"}
        assert {u["parent"]["code"] for u in units} == {t["code"] for t in await _units(client, token, "TOWNSHIP")}


async def test_demo_schools_cover_the_school_levels(client, token) -> None:
    levels = set()
    for school in await _units(client, token, "SCHOOL"):
        levels.add((await _unit(client, token, school["code"]))["schoolLevel"])

    assert {"PRIMARY", "JUNIOR_MIDDLE"} <= levels


async def test_section_three_people_with_titles_and_roles(client, token) -> None:
    group = await _unit(client, token, "leading-group")

    members = [(m["person"]["name"], m["role"], m["person"]["title"]) for m in group["members"]]
    assert members == LEADING_GROUP
    assert all(m["person"]["isDemo"] is False for m in group["members"])


async def test_ma_mingyan_is_deputy_leader_and_office_director(client, token) -> None:
    group = await _unit(client, token, "leading-group")
    office = await _unit(client, token, "leading-group-office")

    ma = next(m["person"] for m in group["members"] if m["person"]["name"] == "马明艳")
    assert {(m["unit"]["code"], m["role"]) for m in ma["memberships"]} >= {
        ("leading-group", "DEPUTY_LEADER"),
        ("leading-group-office", "OFFICE_DIRECTOR"),
    }
    assert [(m["person"]["name"], m["role"]) for m in office["members"]] == [
        ("马明艳", "OFFICE_DIRECTOR"),
        ("陈丽华", "OFFICE_DEPUTY_DIRECTOR"),
    ]


async def test_the_county_leader_heads_the_county_government(client, token) -> None:
    government = await _unit(client, token, "county-gov")

    assert [(m["person"]["name"], m["role"]) for m in government["members"]] == [("李晓亮", "HEAD")]


async def test_units_page_through_the_whole_organisation(client, token) -> None:
    query = """
      query($after: String) {
        units(first: 7, after: $after) { totalCount edges { cursor node { code } } pageInfo { hasNextPage endCursor } }
      }
    """
    codes: list[str] = []
    after = None
    while True:
        page = data_of(await gql(client, query, {"after": after}, token=token))["units"]
        codes += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(codes) == len(set(codes)) == page["totalCount"] == await Unit.all().count()
    assert codes[:3] == ["county-gov", "leading-group", "leading-group-office"]


# -- the duty register ------------------------------------------------------------------------


async def test_every_duty_row_of_the_plan_is_a_record(client, token) -> None:
    register = data_of(await gql(client, ALL_DUTIES, token=token))["duties"]
    duties = {d["code"]: d for d in register["nodes"]}

    assert register["pageInfo"]["hasNextPage"] is False
    assert register["totalCount"] == len(duties)
    for code, clause, owners, partners, trigger, rule, default in DUTY_ROWS:
        assert code in duties, f"duty {code} ({clause}) is missing"
        duty = duties[code]
        assert duty["clause"] == clause, code
        assert duty["title"] and duty["text"], code
        have_owners = {_party(p) for p in duty["owners"]}
        have_partners = have_owners | {_party(p) for p in duty["cooperators"]}
        assert owners <= have_owners, (code, have_owners)
        assert partners <= have_partners, (code, have_partners)
        assert all(p["role"] == "OWNER" for p in duty["owners"])
        assert all(p["role"] == "COOPERATOR" for p in duty["cooperators"])
        assert duty["trigger"]["kind"] == trigger, code
        assert duty["trigger"]["text"], code
        assert duty["deadline"]["rule"] and duty["deadline"]["text"], code
        if rule is not None:
            assert duty["deadline"]["rule"].endswith(rule), code
        if default is not None:
            assert duty["deadline"]["isDefault"] is default, code


async def test_school_layout_is_planned_with_other_departments(client, token) -> None:
    duties = {d["code"]: d for d in data_of(await gql(client, ALL_DUTIES, token=token))["duties"]["nodes"]}

    cooperators = [_party(p) for p in duties["school-layout"]["cooperators"]]
    assert cooperators and all(not c.startswith("kind:") for c in cooperators)


async def test_a_township_owns_the_duties_of_every_township(client, token) -> None:
    dafeng = await _unit(client, token, "dafeng")
    query = f"query($id: ID) {{ duties(ownerUnitId: $id, first: 100) {{ totalCount nodes {{ {DUTY_FIELDS} }} }} }}"

    owned = data_of(await gql(client, query, {"id": dafeng["id"]}, token=token))["duties"]

    codes = {d["code"] for d in owned["nodes"]}
    assert {"admission-notices", "guardian-order"} <= codes
    assert codes.isdisjoint({"school-funding", "household-census", "census-population-data"})
    assert owned["totalCount"] == len(codes)
    notices = next(d for d in owned["nodes"] if d["code"] == "admission-notices")
    assert notices["owners"] == [{"role": "OWNER", "unitKind": "TOWNSHIP", "unit": None}]


async def test_a_unit_lists_the_duties_it_owns_by_name_and_by_kind(client, token) -> None:
    query = "query($code: String!) { unit(code: $code) { duties(first: 100) { nodes { code } } } }"

    async def owned(code: str) -> set[str]:
        unit = data_of(await gql(client, query, {"code": code}, token=token))["unit"]
        return {d["code"] for d in unit["duties"]["nodes"]}

    assert {"registry-cross-check", "census-population-data"} <= await owned("police")
    assert "school-funding" not in await owned("police")
    assert {"household-census", "absence-monitoring", "term-start-check"} <= await owned("demo-primary-1")
    assert "admission-notices" not in await owned("demo-primary-1")
    assert await owned("supervision") >= {"supervision-review", "township-evaluation"}


async def test_duties_of_an_unknown_owner_is_a_bad_input(client, token) -> None:
    result = await gql(client, '{ duties(ownerUnitId: "bm9wZQ") { totalCount } }', token=token)

    assert error_codes(result) == ["BAD_USER_INPUT"]


# -- loading the policy file ------------------------------------------------------------------


def _policy_files() -> list[Path]:
    policy = settings().policy_file
    return [policy, policy.with_name("hutubi-demo.yaml")]


async def _counts() -> dict[str, int]:
    return {
        "units": await Unit.all().count(),
        "people": await Person.all().count(),
        "memberships": await Membership.all().count(),
        "duties": await Duty.all().count(),
        "parties": await DutyParty.all().count(),
    }


async def test_loading_the_policy_again_changes_nothing(database) -> None:
    before = await _counts()

    summary = await load_policy(_policy_files())

    assert summary.changed is False
    assert await _counts() == before


NEW_UNIT = "units:\n  - {code: probe-unit, name: 探针单位, kind: DEPARTMENT}\n"

BROKEN = {
    "yaml-syntax": (
        "units:\n  - {code: probe-a, name: 甲, kind: DEPARTMENT}\n  - {code: probe-b, name: 乙, kind: [DEPARTMENT}\n",
        ["line 3", "not valid YAML"],
    ),
    "unknown-key": (
        "units:\n"
        "  - {code: probe-a, name: 甲, kind: DEPARTMENT}\n"
        "  - {code: probe-b, name: 乙, kind: DEPARTMENT, colour: red}\n",
        ["line 3", "units[1].colour"],
    ),
    "bad-deadline": (
        "duties:\n"
        "  - code: probe-duty\n"
        "    clause: 四(一)6\n"
        "    title: 探针\n"
        "    text: 探针职责\n"
        "    owners: [education]\n"
        "    trigger: {kind: ANNUAL, text: 每年}\n"
        "    deadline: {rule: yearly 08-10, text: 8月10日前}\n",
        ["line 8", "duties[0].deadline.rule", "yearly 08-10"],
    ),
    "unknown-owner": (
        "duties:\n"
        "  - code: probe-duty\n"
        "    clause: 四(一)6\n"
        "    title: 探针\n"
        "    text: 探针职责\n"
        "    owners: [education, nowhere-bureau]\n"
        "    trigger: {kind: ANNUAL, text: 每年}\n"
        "    deadline: {rule: annual 08-10, text: 8月10日前}\n",
        ["duties[0].owners[1]", "nowhere-bureau"],
    ),
    "unknown-owner-kind": (
        "duties:\n"
        "  - code: probe-duty\n"
        "    clause: 四(一)6\n"
        "    title: 探针\n"
        "    text: 探针职责\n"
        "    owners: [kind:HOSPITAL]\n"
        "    trigger: {kind: ANNUAL, text: 每年}\n"
        "    deadline: {rule: annual 08-10, text: 8月10日前}\n",
        ["duties[0].owners[0]", "kind:HOSPITAL"],
    ),
    "duplicate-code": (
        "units:\n  - {code: probe-a, name: 甲, kind: DEPARTMENT}\n  - {code: probe-a, name: 乙, kind: DEPARTMENT}\n",
        ["units[1].code", "probe-a", "twice"],
    ),
    "parent-cycle": (
        "units:\n"
        "  - {code: probe-a, name: 甲, kind: DEPARTMENT, parent: probe-b}\n"
        "  - {code: probe-b, name: 乙, kind: DEPARTMENT, parent: probe-a}\n",
        ["units", "probe-a", "probe-b", "cycle"],
    ),
    "change-then-mistake": (
        "units:\n"
        "  - {code: education, name: 改名的教育局, kind: DEPARTMENT}\n"
        "  - {code: probe-a, name: 乙, kind: MINISTRY}\n",
        ["line 3", "units[1].kind"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_policy_file_is_refused_and_changes_nothing(database, tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    good = tmp_path / "good.yaml"
    good.write_text(NEW_UNIT, encoding="utf-8")
    broken = tmp_path / f"{case}.yaml"
    broken.write_text(text, encoding="utf-8")
    before = await _counts()

    with pytest.raises(PolicyError) as refused:
        await load_policy([good, broken])

    message = str(refused.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "nothing changed" in message
    assert await _counts() == before
    assert not await Unit.exists(code__in=["probe-unit", "probe-a", "probe-b"])
    assert (await Unit.get(code="education")).name == "县教育局"


async def test_a_parent_cycle_through_the_database_is_refused(database, tmp_path: Path) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(
        "units:\n"
        "  - {code: probe-top, name: 甲, kind: SUB_OFFICE}\n"
        "  - {code: probe-bottom, name: 乙, kind: SUB_OFFICE, parent: probe-top}\n",
        encoding="utf-8",
    )
    second = tmp_path / "second.yaml"
    second.write_text("units:\n  - {code: probe-top, name: 甲, kind: SUB_OFFICE, parent: probe-bottom}\n")
    await load_policy([first])
    try:
        with pytest.raises(PolicyError, match="cycle"):
            await load_policy([second])
    finally:
        await Unit.filter(code__in=["probe-top", "probe-bottom"]).update(parent_id=None)
        await Unit.filter(code__in=["probe-top", "probe-bottom"]).delete()
