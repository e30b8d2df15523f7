import re

from generator.runtime.ids import ID_LENGTH, new_id


def test_ids_have_the_documented_form_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", item) for item in ids)
    assert {len(item) for item in ids} == {ID_LENGTH}
    assert len(set(ids)) == len(ids)
    # Every position varies: no fixed padding or prefix.
    assert all(len({item[index] for item in ids}) > 10 for index in range(ID_LENGTH))
