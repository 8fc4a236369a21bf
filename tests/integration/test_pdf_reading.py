"""Reading real PDFs: metadata, identity, outline; and what each broken sample becomes on
import (``shared/bench/README.md``), with a bad file never taking its batch down."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from pypdf.generic import DictionaryObject
from pypdf.generic._font import Font

from cognition.errors import EmptyFile, EncryptedPdf, NotAPdf, SourceUnreadable, UnreadablePdf
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import Searcher
from ingest import pdf
from ingest.importer import Importer
from ingest.outcomes import ImportSummary
from ingest.pdf import iter_pages, open_book
from tests.helpers import BAD, BOOKS, GIT_INTERNALS, sha256_of

NO_TEXT = "no text layer: the pages are images (run OCR first)"
PASSWORD = "openpassword"
ENCRYPTED = BAD / "pypdf_libreoffice-writer-password.pdf"


@pytest.fixture(scope="module")
def not_a_pdf(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("not-pdfs")
    text = folder / "notes.pdf"
    text.write_text("These are meeting notes saved with the wrong extension.\n")
    empty = folder / "empty.pdf"
    empty.write_bytes(b"")
    return {"text": text, "empty": empty, "missing": folder / "missing.pdf"}


def outcome_of(summary: ImportSummary, path: Path) -> tuple[str, str | None]:
    source = str(path.resolve()) if path.exists() else str(path)
    found = [(o.status, o.reason) for o in summary.outcomes if o.path == source]
    assert len(found) == 1, (source, summary.outcomes)
    return found[0]


# --------------------------------------------------------------------------- reading


def test_book_metadata_page_count_and_outline(bench: Path) -> None:
    book = open_book(BOOKS / "TLCL-19.01.pdf")

    assert book.page_count == 555
    assert book.title == "The Linux Command Line"
    assert book.author == "William Shotts"
    assert len(book.outline) > 100
    assert book.outline[0].title == "Introduction"
    assert [e.page for e in book.outline] == sorted(e.page for e in book.outline)
    assert all(1 <= e.page <= 555 for e in book.outline)


def test_a_book_is_identified_by_the_sha256_of_its_bytes(bench: Path) -> None:
    book = open_book(BOOKS / "TLCL-19.01.pdf")

    assert book.content_hash == sha256_of(BOOKS / "TLCL-19.01.pdf")
    assert book.size_bytes == (BOOKS / "TLCL-19.01.pdf").stat().st_size


def test_owner_password_encrypted_book_opens_without_a_password(bench: Path) -> None:
    book = open_book(GIT_INTERNALS)
    first_pages = [page for page, _ in zip(iter_pages(book), range(12), strict=False)]

    assert book.page_count == 121
    assert book.title == "Git Internals"  # no title in the metadata: the cover's largest type
    assert book.outline and book.outline[0].title == "About this book"
    assert [p.number for p in first_pages] == list(range(1, 13))
    assert "Git" in first_pages[11].text


def test_fonts_built_once_per_reader_give_the_text_pypdf_gives(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = 0
    build = pdf._PYPDF_FONT_FROM_RESOURCE

    def counted(font: DictionaryObject) -> Font:
        nonlocal builds
        builds += 1
        return build(font)

    book = open_book(GIT_INTERNALS)
    monkeypatch.setattr(pdf, "_PYPDF_FONT_FROM_RESOURCE", counted)
    cached = [page.text for page in iter_pages(book)]
    cached_builds, builds = builds, 0
    monkeypatch.setattr(Font, "from_font_resource", counted)  # pypdf's own: every font, every page
    plain = [page.text for page in iter_pages(book)]

    assert cached == plain
    assert len(plain) == 121 and sum(len(text) for text in plain) > 100_000
    assert cached_builds * 10 < builds


def test_a_book_without_a_title_is_named_by_its_title_page(bench: Path) -> None:
    assert open_book(BOOKS / "bashref.pdf").title == "Bash Reference Manual"


def test_user_password_pdf_needs_the_password(bench: Path) -> None:
    with pytest.raises(EncryptedPdf, match=r"^encrypted: supply a password"):
        open_book(ENCRYPTED)
    with pytest.raises(EncryptedPdf, match="the password given is wrong"):
        open_book(ENCRYPTED, "not-the-password")

    book = open_book(ENCRYPTED, PASSWORD)
    pages = list(iter_pages(book))

    assert book.page_count == 1
    assert "Lorem ipsum dolor sit amet" in pages[0].text


def test_broken_xref_is_recovered(bench: Path) -> None:
    book = open_book(BAD / "pypdf_issue-297.pdf")

    assert book.page_count == 1
    assert [p.text for p in iter_pages(book)] == ["test example"]


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("ocrmypdf_invalid.pdf", UnreadablePdf, "not a readable PDF"),
        ("text", NotAPdf, "not a PDF: notes.pdf has no PDF header"),
        ("empty", EmptyFile, "empty file (0 bytes)"),
        ("missing", SourceUnreadable, "unreadable path"),
    ],
)
def test_unreadable_files_raise_an_error_that_says_why(
    bench: Path, not_a_pdf: dict[str, Path], name: str, error: type[Exception], reason: str
) -> None:
    path = not_a_pdf.get(name, BAD / name)

    with pytest.raises(error) as raised:
        open_book(path)

    assert str(raised.value).startswith(reason)


# --------------------------------------------------------------------------- importing


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bad_import(bench: Path, not_a_pdf: dict[str, Path], runtime: Runtime) -> tuple[str, ImportSummary]:
    """Every bad sample, three broken files and one good file, in one batch."""
    dataset = "bad-samples"
    paths = [*sorted(BAD.glob("*.pdf")), not_a_pdf["text"], not_a_pdf["empty"], not_a_pdf["missing"]]
    summary = await Importer(runtime).import_paths(paths, dataset)
    return dataset, summary


async def test_each_bad_sample_gets_its_documented_outcome(bad_import: tuple[str, ImportSummary]) -> None:
    _, summary = bad_import

    assert outcome_of(summary, BAD / "pypdf_issue-297.pdf") == ("added", None)
    status, reason = outcome_of(summary, ENCRYPTED)
    assert status == "failed" and reason is not None and reason.startswith("encrypted: supply a password")
    assert outcome_of(summary, BAD / "pypdf_imagemagick-CCITTFaxDecode.pdf") == ("needs_ocr", NO_TEXT)
    assert outcome_of(summary, BAD / "ocrmypdf_c02-22.pdf") == ("needs_ocr", NO_TEXT)
    status, reason = outcome_of(summary, BAD / "ocrmypdf_invalid.pdf")
    assert status == "failed" and reason is not None and reason.startswith("not a readable PDF")


async def test_files_that_are_not_pdfs_fail_with_a_specific_reason(
    bad_import: tuple[str, ImportSummary], not_a_pdf: dict[str, Path]
) -> None:
    _, summary = bad_import

    assert outcome_of(summary, not_a_pdf["text"]) == ("failed", "not a PDF: notes.pdf has no PDF header")
    assert outcome_of(summary, not_a_pdf["empty"]) == (
        "failed",
        f"empty file (0 bytes): {not_a_pdf['empty']}",
    )
    assert outcome_of(summary, not_a_pdf["missing"]) == (
        "failed",
        f"unreadable path: {not_a_pdf['missing']} does not exist or is not a file",
    )


async def test_the_summary_counts_every_file_once(bad_import: tuple[str, ImportSummary]) -> None:
    _, summary = bad_import
    data = summary.to_json()

    assert data["added"] == 1
    assert len(data["failed"]) == 5  # type: ignore[arg-type]
    assert len(data["needs_ocr"]) == 2  # type: ignore[arg-type]
    assert data["chunks"] == 1
    assert len(summary.outcomes) == 8


async def test_the_ledger_records_every_outcome_and_its_reason(
    bad_import: tuple[str, ImportSummary], ledger: Ledger
) -> None:
    dataset, summary = bad_import
    records = {r.source: r for r in ledger.documents(dataset)}

    assert len(records) == 8
    for outcome in summary.outcomes:
        record = records[outcome.path]
        expected_state = "stored" if outcome.status == "added" else outcome.status
        assert record.state == expected_state, outcome.path
        assert record.error == outcome.reason
        assert record.permanent == (0 if outcome.status == "added" else 1)


async def test_the_good_file_of_a_bad_batch_is_searchable(
    bad_import: tuple[str, ImportSummary], searcher: Searcher
) -> None:
    dataset, _ = bad_import

    hits = await searcher.search("test example", [dataset], "vector", 5)

    assert [h.text for h in hits] == ["test example"]
    assert hits[0].source == str((BAD / "pypdf_issue-297.pdf").resolve())
    assert (hits[0].page_start, hits[0].page_end) == (1, 1)


async def test_a_rerun_fails_the_same_files_again_and_skips_the_rest(
    bad_import: tuple[str, ImportSummary], importer: Importer, not_a_pdf: dict[str, Path]
) -> None:
    dataset, first = bad_import
    paths = [*sorted(BAD.glob("*.pdf")), not_a_pdf["text"], not_a_pdf["empty"], not_a_pdf["missing"]]

    again = (await importer.import_paths(paths, dataset)).to_json()

    assert again["added"] == 0
    assert again["skipped"] == 1
    assert again["failed"] == first.to_json()["failed"]
    assert sorted(again["needs_ocr"]) == sorted(first.to_json()["needs_ocr"])  # type: ignore[type-var]


async def test_encrypted_pdf_imports_with_its_password(
    importer: Importer, searcher: Searcher, ledger: Ledger, dataset_name: str
) -> None:
    summary = (await importer.import_paths([ENCRYPTED], dataset_name, password=PASSWORD)).to_json()
    hits = await searcher.search("Lorem ipsum dolor sit amet", [dataset_name], "vector", 3)

    assert summary["added"] == 1 and summary["failed"] == []
    assert summary["pages"] == 1 and summary["chunks"] >= 1
    assert hits and "Lorem ipsum" in hits[0].text
    assert [r.state for r in ledger.documents(dataset_name)] == ["stored"]


async def test_encrypted_pdf_with_a_wrong_password_fails_saying_so(
    importer: Importer, dataset_name: str
) -> None:
    summary = (await importer.import_paths([ENCRYPTED], dataset_name, password="guess")).to_json()

    assert summary["added"] == 0
    assert summary["failed"] == [
        {
            "path": str(ENCRYPTED.resolve()),
            "reason": "encrypted: supply a password: pypdf_libreoffice-writer-password.pdf: "
            "the password given is wrong",
        }
    ]
