"""Classes and head teachers through the API: who may make them, what a head teacher sees, and the
person the day-1 ladder task goes to."""

from __future__ import annotations

from datetime import date

from models.users import UserRole
from tests.ladder_support import tick
from tests.registers_support import call, codes, gid, new_pupil, person
from tests.support import data_of

DAY = date(2026, 9, 7)  # a Monday of term

CLASS_CREATE = """
mutation($school: ID!, $grade: Int!, $name: String!, $teacher: ID) {
  classCreate(input: {schoolId: $school, grade: $grade, name: $name, schoolYear: "2026-2027",
                      headTeacherId: $teacher}) {
    schoolClass { id grade name schoolYear school { code } headTeacher { name } }
    userErrors { field message code }
  }
}"""
HEAD_TEACHER_SET = """
mutation($id: ID!, $teacher: ID) {
  classHeadTeacherSet(id: $id, input: {headTeacherId: $teacher}) {
    schoolClass { id headTeacher { name } }
    userErrors { field code }
  }
}"""
PUPIL_PLACE = """
mutation($id: ID!, $student: ID!) {
  pupilPlace(id: $id, input: {studentId: $student}) {
    student { id grade className headTeacherName schoolClass { id name } }
    userErrors { field code }
  }
}"""
PUPIL = "query($id: ID!) { node(id: $id) { ... on Student { id name schoolClass { name } } } }"
CLASSES = """
query($code: String!) { unit(code: $code) { classes(first: 50) { nodes { id name
  pupils(first: 50) { totalCount nodes { id } } } } } }"""
ABSENCE = """
mutation($id: ID!, $day: Date) {
  absenceRecord(id: $id, input: {day: $day}) { case { id } userErrors { code } }
}"""
CASE_TASKS = """
query($id: ID!) { case(id: $id) { tasks { title assigneeRole assignee { name } } } }"""


async def test_a_school_office_makes_classes_names_head_teachers_and_places_pupils(client, database) -> None:
    _, office = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    teacher_a, token_a = await person("demo-primary-1", UserRole.HEAD_TEACHER, "班主任甲")
    teacher_b, token_b = await person("demo-primary-1", UserRole.HEAD_TEACHER, "班主任乙")
    elsewhere, _ = await person("demo-primary-2", UserRole.HEAD_TEACHER, "外校班主任")
    not_teacher, _ = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务员")
    _, other_office = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "外校教务处")
    _, county_office = await person("leading-group-office", UserRole.OFFICE, "督办员")
    school = gid("Unit", (await new_pupil("demo-primary-1", 3)).school_id)

    made = data_of(await call(client, office, DAY, CLASS_CREATE, school=school, grade=3, name="三(1)班",
                              teacher=gid("User", teacher_a.id)))["classCreate"]  # fmt: skip
    assert made["userErrors"] == []
    assert made["schoolClass"]["headTeacher"]["name"] == "班主任甲"
    assert made["schoolClass"]["school"]["code"] == "demo-primary-1"
    class_a = made["schoolClass"]["id"]
    class_b = data_of(await call(client, office, DAY, CLASS_CREATE, school=school, grade=3, name="三(2)班",
                                 teacher=gid("User", teacher_b.id)))["classCreate"]["schoolClass"]["id"]  # fmt: skip

    # Refusals, each with its code, and nothing made.
    for teacher in (elsewhere, not_teacher):
        refused = data_of(await call(client, office, DAY, CLASS_CREATE, school=school, grade=3, name="三(3)班",
                                     teacher=gid("User", teacher.id)))["classCreate"]  # fmt: skip
        assert (refused["schoolClass"], codes(refused)) == (None, ["NOT_A_HEAD_TEACHER"])
    again = data_of(await call(client, office, DAY, CLASS_CREATE, school=school, grade=3, name="三(1)班"))
    assert codes(again["classCreate"]) == ["DUPLICATE"]
    foreign = data_of(await call(client, other_office, DAY, CLASS_CREATE, school=school, grade=3, name="三(9)班"))
    assert codes(foreign["classCreate"]) == ["FORBIDDEN"]
    by_teacher = data_of(await call(client, token_a, DAY, CLASS_CREATE, school=school, grade=3, name="三(9)班"))
    assert codes(by_teacher["classCreate"]) == ["FORBIDDEN"]
    wrong_teacher = data_of(await call(client, office, DAY, HEAD_TEACHER_SET, id=class_b,
                                       teacher=gid("User", elsewhere.id)))["classHeadTeacherSet"]  # fmt: skip
    assert codes(wrong_teacher) == ["NOT_A_HEAD_TEACHER"]

    first, second = await new_pupil("demo-primary-1", 2), await new_pupil("demo-primary-1", 3)
    other_school_pupil = await new_pupil("demo-primary-2", 3)
    placed = data_of(await call(client, office, DAY, PUPIL_PLACE, id=class_a, student=gid("Student", first.id)))
    assert placed["pupilPlace"]["userErrors"] == []
    assert placed["pupilPlace"]["student"]["grade"] == 3  # the class's grade
    assert placed["pupilPlace"]["student"]["className"] == "三(1)班"
    assert placed["pupilPlace"]["student"]["headTeacherName"] == "班主任甲"
    data_of(await call(client, office, DAY, PUPIL_PLACE, id=class_b, student=gid("Student", second.id)))
    # A pupil of another school, by the county office: WRONG_SCHOOL; another school's office: the class is not theirs.
    wrong = data_of(await call(client, county_office, DAY, PUPIL_PLACE, id=class_a,
                               student=gid("Student", other_school_pupil.id)))["pupilPlace"]  # fmt: skip
    assert codes(wrong) == ["WRONG_SCHOOL"]
    theirs = data_of(await call(client, other_office, DAY, PUPIL_PLACE, id=class_a,
                                student=gid("Student", other_school_pupil.id)))["pupilPlace"]  # fmt: skip
    assert codes(theirs) == ["WRONG_SCHOOL"]

    # Head teacher A sees exactly the pupils of their class; another class's pupil is null.
    assert data_of(await call(client, token_a, DAY, PUPIL, id=gid("Student", first.id)))["node"]["schoolClass"] == {
        "name": "三(1)班"
    }
    assert data_of(await call(client, token_a, DAY, PUPIL, id=gid("Student", second.id)))["node"] is None
    seen = data_of(await call(client, token_a, DAY, CLASSES, code="demo-primary-1"))["unit"]["classes"]["nodes"]
    assert [(c["name"], [p["id"] for p in c["pupils"]["nodes"]]) for c in seen] == [
        ("三(1)班", [gid("Student", first.id)])
    ]
    assert (
        data_of(await call(client, token_a, DAY, "query($id: ID!) { node(id: $id) { id } }", id=class_b))["node"]
        is None
    )
    # The school office sees every class.
    names = [
        c["name"]
        for c in data_of(await call(client, office, DAY, CLASSES, code="demo-primary-1"))["unit"]["classes"]["nodes"]
    ]
    assert {"三(1)班", "三(2)班"} <= set(names)

    # A takes over class B: its pupil follows at once, and B's former head teacher no longer sees them.
    moved = data_of(await call(client, office, DAY, HEAD_TEACHER_SET, id=class_b, teacher=gid("User", teacher_a.id)))
    assert moved["classHeadTeacherSet"]["schoolClass"]["headTeacher"]["name"] == "班主任甲"
    assert data_of(await call(client, token_a, DAY, PUPIL, id=gid("Student", second.id)))["node"] is not None
    assert data_of(await call(client, token_b, DAY, PUPIL, id=gid("Student", second.id)))["node"] is None


async def test_the_day_one_task_goes_to_the_head_teacher_of_the_childs_class(client, database) -> None:
    _, office = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    teacher, token = await person("demo-primary-1", UserRole.HEAD_TEACHER, "班主任丙")
    newcomer, _ = await person("demo-primary-1", UserRole.HEAD_TEACHER, "班主任丁")
    pupil = await new_pupil("demo-primary-1", 4)
    school = gid("Unit", pupil.school_id)
    made = data_of(await call(client, office, DAY, CLASS_CREATE, school=school, grade=4, name="四(7)班",
                              teacher=gid("User", teacher.id)))["classCreate"]["schoolClass"]  # fmt: skip
    data_of(await call(client, office, DAY, PUPIL_PLACE, id=made["id"], student=gid("Student", pupil.id)))

    case = data_of(await call(client, token, DAY, ABSENCE, id=gid("Student", pupil.id), day=DAY.isoformat()))
    case_id = case["absenceRecord"]["case"]["id"]
    await tick(DAY)
    tasks = data_of(await call(client, token, DAY, CASE_TASKS, id=case_id))["case"]["tasks"]
    day_one = [t for t in tasks if t["assigneeRole"] == "HEAD_TEACHER"]
    assert [t["assignee"] for t in day_one] == [{"name": "班主任丙"}]

    # A new head teacher for the class: the open head-teacher task follows the class.
    data_of(await call(client, office, DAY, HEAD_TEACHER_SET, id=made["id"], teacher=gid("User", newcomer.id)))
    tasks = data_of(await call(client, office, DAY, CASE_TASKS, id=case_id))["case"]["tasks"]
    assert [t["assignee"] for t in tasks if t["assigneeRole"] == "HEAD_TEACHER"] == [{"name": "班主任丁"}]
