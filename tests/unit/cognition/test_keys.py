"""What a key may do: rights nest (admin ⊇ write ⊇ read), ``*`` means every dataset,
a revoked key allows nothing, and a grant is written ``RIGHT:DATASET``."""

from __future__ import annotations

import pytest

from cognition.errors import CognitionError
from cognition.keys import ALL, ApiKey, Grant, InvalidGrant, parse_grant
from cognition.keys.port import check_key_name


def key(*grants: str, revoked_at: float | None = None) -> ApiKey:
    return ApiKey("k1", "test", tuple(parse_grant(g) for g in grants), 1.0, revoked_at=revoked_at)


@pytest.mark.parametrize(
    ("held", "asked", "allowed"),
    [
        ("read", "read", True),
        ("read", "write", False),
        ("read", "admin", False),
        ("write", "read", True),
        ("write", "write", True),
        ("write", "admin", False),
        ("admin", "read", True),
        ("admin", "write", True),
        ("admin", "admin", True),
    ],
)
def test_rights_nest(held: str, asked: str, allowed: bool) -> None:
    books = key(f"{held}:books")

    assert books.allows("books", asked) is allowed  # type: ignore[arg-type]
    assert books.allows("docs", asked) is False  # type: ignore[arg-type]


def test_a_grant_on_every_dataset_covers_any_name() -> None:
    reader = key("read:*")

    assert reader.allows("books", "read")
    assert reader.allows("anything-else", "read")
    assert not reader.allows("books", "write")


def test_grants_add_up() -> None:
    mixed = key("read:*", "write:docs")

    assert mixed.allows("docs", "write")
    assert mixed.allows("books", "read")
    assert not mixed.allows("books", "write")


def test_visible_keeps_the_readable_datasets_in_their_order() -> None:
    scoped = key("read:docs", "admin:books")

    assert scoped.visible(["zeta", "docs", "alpha", "books"]) == ["docs", "books"]
    assert key("read:*").visible(["b", "a"]) == ["b", "a"]
    assert key("read:docs").visible([]) == []


def test_a_revoked_key_allows_nothing() -> None:
    revoked = key("admin:*", revoked_at=2.0)

    assert not revoked.allows("books", "read")
    assert revoked.visible(["books"]) == []
    assert not revoked.is_admin_of_all()


@pytest.mark.parametrize(
    ("grants", "expected"),
    [
        (("admin:*",), True),
        (("admin:books",), False),
        (("write:*",), False),
        (("read:*", "admin:docs"), False),
    ],
)
def test_admin_of_all_needs_admin_on_star(grants: tuple[str, ...], expected: bool) -> None:
    assert key(*grants).is_admin_of_all() is expected


@pytest.mark.parametrize(
    ("text", "grant"),
    [
        ("read:books", Grant("books", "read")),
        ("write:*", Grant(ALL, "write")),
        ("admin:*", Grant(ALL, "admin")),
        (" read:web-docs_2 ", Grant("web-docs_2", "read")),
    ],
)
def test_parse_grant(text: str, grant: Grant) -> None:
    assert parse_grant(text) == grant
    assert str(grant) == text.strip()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("books", "expected RIGHT:DATASET"),
        ("read", "expected RIGHT:DATASET"),
        ("", "expected RIGHT:DATASET"),
        ("owner:books", "expected RIGHT:DATASET"),
        ("READ:books", "expected RIGHT:DATASET"),
        ("read:", "invalid dataset name"),
        ("read:Books", "invalid dataset name"),
        ("read:../etc", "invalid dataset name"),
        ("read:books\nadmin:*", "invalid dataset name"),
        ("read:**", "invalid dataset name"),
    ],
)
def test_a_bad_grant_is_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(InvalidGrant) as caught:
        parse_grant(text)

    message = str(caught.value)
    assert says in message
    assert message.startswith(f"bad grant {text!r}")
    assert "\n" not in message
    assert isinstance(caught.value, CognitionError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 101])
def test_a_bad_key_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidGrant, match="bad key name"):
        check_key_name(name)


def test_listing_shows_no_secret_material() -> None:
    shown = key("read:books").to_json()

    assert set(shown) == {"id", "name", "prefix", "grants", "created_at", "last_used_at", "revoked_at"}
    assert shown["grants"] == ["read:books"]
