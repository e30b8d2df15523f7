import os
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


def test_a_forked_process_draws_ids_of_its_own() -> None:
    """Workers of --processes are forked from one supervisor: were the generator copied as
    it is, they would all make the same resource, operation and request ids."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(writer, f"{new_id()} {new_request_id()}".encode())
        os._exit(0)
    os.close(writer)
    drawn = os.read(reader, 1000).decode().split()
    os.close(reader)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and len(drawn) == 2, (status, drawn)
    assert drawn != [new_id(), new_request_id()]
