"""Page tokens and keyset paging (generator/runtime/paging.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import re
import string

import pytest
from google.protobuf import timestamp_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from yandex.cloud.baremetal.v1alpha import image_pb2

from generator.runtime.paging import PageTokenError, PageTokens, paginate
from generator.runtime.query import QueryError, parse_order_by

SECRET = b"server secret"
QUERY = 'folders/f1\nname = "web"\ncreated_at desc,id asc'
POSITION: list[object] = [1704067200123456789, "web", 2, True, 1.5, "a1"]
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


def forge(payload: bytes, secret: bytes = SECRET) -> str:
    """A token signed like the server signs them, around an arbitrary payload."""
    signature = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(signature + payload).rstrip(b"=").decode()


def reason(token: str, query: str = QUERY) -> str:
    with pytest.raises(PageTokenError) as caught:
        PageTokens(SECRET).decode(token, query)
    error = caught.value
    assert isinstance(error, QueryError)
    assert error.argument == "page_token" and error.position is None
    assert str(error) == f"page_token: {error.message}"
    return error.message


# ---- tokens -------------------------------------------------------------------------


def test_token_round_trip() -> None:
    tokens = PageTokens(SECRET)
    token = tokens.encode(QUERY, POSITION)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert tokens.decode(token, QUERY) == POSITION
    assert PageTokens(SECRET).decode(token, QUERY) == POSITION  # a restarted server


def test_empty_position_and_unicode_query() -> None:
    tokens = PageTokens(SECRET)
    assert tokens.decode(tokens.encode("", []), "") == []
    query = "name = 'ünïcode \ud800'"
    assert tokens.decode(tokens.encode(query, ["ü"]), query) == ["ü"]


def test_every_altered_character_is_detected() -> None:
    token = PageTokens(SECRET).encode(QUERY, POSITION)
    for index, char in enumerate(token):
        replacement = TOKEN_ALPHABET[(TOKEN_ALPHABET.index(char) + 1) % 64]
        altered = token[:index] + replacement + token[index + 1 :]
        message = reason(altered)
        assert message.startswith("not a valid page token"), (index, message)


def test_truncated_and_extended_tokens_are_rejected() -> None:
    token = PageTokens(SECRET).encode(QUERY, POSITION)
    for bad in (
        token[:-1],
        token[:-4],
        token[:20],
        token + "A",
        token + "=",
        token[1:],
    ):
        assert reason(bad).startswith("not a valid page token")


def test_token_from_another_secret() -> None:
    token = PageTokens(b"another secret").encode(QUERY, POSITION)
    assert reason(token) == (
        "not a valid page token: it was altered or issued by another server"
    )


@pytest.mark.parametrize(
    "query",
    [
        'folders/f2\nname = "web"\ncreated_at desc,id asc',
        'folders/f1\nname = "db"\ncreated_at desc,id asc',
        'folders/f1\nname = "web"\ncreated_at asc,id asc',
        "",
    ],
)
def test_token_for_another_query(query: str) -> None:
    token = PageTokens(SECRET).encode(QUERY, POSITION)
    assert reason(token, query) == (
        "the token does not belong to this query: filter or order_by changed"
    )


@pytest.mark.parametrize(
    "token",
    ["", "!!!", "a", "abc", "====", "AAAA", "token with spaces", "€", "a+b/", "Zg=="],
)
def test_garbage_tokens(token: str) -> None:
    assert reason(token).startswith("not a valid page token")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"\xff\xfe", b"[1, 2]", b'{"q": 1, "p": []}', b'{"q": "x"}'],
)
def test_signed_payloads_that_are_not_tokens(payload: bytes) -> None:
    assert reason(forge(payload)) == "not a valid page token: bad payload"


def test_signed_payload_is_the_documented_json() -> None:
    token = PageTokens(SECRET).encode(QUERY, POSITION)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    content = json.loads(raw[16:])
    assert content["p"] == POSITION
    assert forge(raw[16:]) == token


def test_secret_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        PageTokens(b"")


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=TOKEN_ALPHABET + "=+/")), st.text())
def test_random_tokens_raise_only_page_token_errors(token: str, query: str) -> None:
    try:
        PageTokens(SECRET).decode(token, query)
    except PageTokenError:
        pass


# ---- paginate -----------------------------------------------------------------------

ORDERING = parse_order_by("name desc", image_pb2.Image.DESCRIPTOR)


def make_image(id_: str, name: str) -> image_pb2.Image:
    return image_pb2.Image(id=id_, name=name)


def ids(items: list[image_pb2.Image]) -> list[str]:
    return [item.id for item in items]


def sorted_images(count: int) -> list[image_pb2.Image]:
    items = [make_image(f"i{n:02}", f"name{n % 3}") for n in range(count)]
    return sorted(items, key=ORDERING.key)


def test_first_page_and_next() -> None:
    items = sorted_images(7)
    page, last = paginate(items, ORDERING.key, None, 3)
    assert page == items[:3] and last == items[2]
    page, last = paginate(items, ORDERING.key, ORDERING.key(items[2]), 3)
    assert page == items[3:6] and last == items[5]
    page, last = paginate(items, ORDERING.key, ORDERING.key(items[5]), 3)
    assert page == items[6:] and last is None


def test_last_page_that_is_exactly_full_has_no_next() -> None:
    items = sorted_images(6)
    page, last = paginate(items, ORDERING.key, ORDERING.key(items[2]), 3)
    assert page == items[3:] and last is None
    assert paginate(items, ORDERING.key, None, 6) == (items, None)
    assert paginate(items, ORDERING.key, None, 100) == (items, None)


def test_empty_and_exhausted() -> None:
    assert paginate([], ORDERING.key, None, 10) == ([], None)
    items = sorted_images(4)
    assert paginate(items, ORDERING.key, ORDERING.key(items[-1]), 10) == ([], None)


def test_resumes_after_a_deleted_item() -> None:
    items = sorted_images(6)
    after = ORDERING.key(items[2])
    del items[2]
    page, _ = paginate(items, ORDERING.key, after, 2)
    assert page == items[2:4]


def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        paginate(sorted_images(3), ORDERING.key, None, 0)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("order_by", ["", "name desc", "created_at desc, name"])
def test_pages_survive_inserts_and_deletes(seed: int, order_by: str) -> None:
    """Walks all pages, writing between them; items present throughout appear once."""
    rng = random.Random(seed)
    ordering = parse_order_by(order_by, image_pb2.Image.DESCRIPTOR)
    tokens = PageTokens(SECRET)
    query = f"folders/f1\n\n{ordering.fingerprint}"
    serial = itertools.count()

    def new_image() -> image_pb2.Image:
        created = timestamp_pb2.Timestamp(seconds=rng.randrange(5))
        id_ = f"{rng.choice('abcdef')}{next(serial):04}"
        return image_pb2.Image(id=id_, name=rng.choice("xyz"), created_at=created)

    store = {item.id: item for item in (new_image() for _ in range(40))}
    initial, deleted = set(store), set()
    served: list[str] = []
    token = ""
    while True:
        after = (
            ordering.key_from_position(tokens.decode(token, query)) if token else None
        )
        items = sorted(store.values(), key=ordering.key)
        page, last = paginate(items, ordering.key, after, rng.randint(1, 6))
        served += ids(page)
        if last is None:
            break
        token = tokens.encode(query, ordering.position(last))
        for _ in range(rng.randint(0, 3)):
            added = new_image()
            store[added.id] = added
        for victim in rng.sample(sorted(store), rng.randint(0, 2)):
            deleted.add(victim)
            del store[victim]

    assert len(served) == len(set(served)), "an item was served twice"
    assert initial - deleted <= set(served), "an item present throughout was skipped"
