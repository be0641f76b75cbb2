from tests.support import data_of, gql, sign_in


async def test_liaison_sees_own_unit(client) -> None:
    token = await sign_in("education")
    result = await gql(client, "{ viewer { unit { code name } } }", token=token)
    assert data_of(result)["viewer"]["unit"] == {"code": "education", "name": "县教育局"}
