import re
import uuid

from generator.runtime.ids import ID_LENGTH, new_id, new_request_id


def test_ids_have_the_documented_form_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", item) for item in ids)
    assert {len(item) for item in ids} == {ID_LENGTH}
    assert len(set(ids)) == len(ids)
    # Every position varies: no fixed padding or prefix.
    assert all(len({item[index] for item in ids}) > 10 for index in range(ID_LENGTH))


def test_request_ids_are_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    for item in ids:
        parsed = uuid.UUID(item)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == item
