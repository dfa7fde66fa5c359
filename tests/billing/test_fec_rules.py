"""The FEC's pure rules: any documents and money moves make balanced entries numbered without
gaps per journal, in the legal format; fiscal years; the archive's manifest (milliseconds)."""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import archive
from billing.accounting_periods import fiscal_year, fiscal_year_of, month, parse
from billing.fec import (
    COLUMNS,
    ENCODING,
    AccountPlan,
    MoneyMove,
    SaleDocument,
    VatShare,
    amount,
    customer,
    entries,
    file_name,
    render,
)

RATES = ("20.00", "10.00", "5.50", "2.10", "0.00", "8.50")
DAYS = st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))
BUYERS = st.builds(
    customer,
    st.one_of(st.none(), st.integers(1, 999)),
    st.integers(1, 999),
    st.text(max_size=30),
)


@st.composite
def documents(draw: st.DrawFn) -> SaleDocument:
    shares = draw(
        st.lists(
            st.builds(
                VatShare, st.sampled_from(RATES), st.integers(0, 10**7), st.integers(0, 10**6)
            ),
            min_size=1,
            max_size=4,
        )
    )
    if not sum(s.base_cents + s.vat_cents for s in shares):
        shares[0] = VatShare(shares[0].rate, 100, 0)
    return SaleDocument(
        number=f"F-2027-{draw(st.integers(1, 999999)):06d}",
        kind=draw(st.sampled_from(["invoice", "credit_note"])),
        issued_on=draw(DAYS),
        customer=draw(BUYERS),
        shares=tuple(shares),
        total_incl_vat_cents=sum(s.base_cents + s.vat_cents for s in shares),
    )


MOVES = st.builds(
    MoneyMove,
    means=st.sampled_from(["card", "card_terminal", "transfer", "cash", "cheque"]),
    day=DAYS,
    amount_cents=st.integers(-(10**6), 10**6),
    customer=BUYERS,
    reference=st.text(max_size=20),
    label=st.text(max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(documents(), max_size=12), st.lists(MOVES, max_size=12))
def test_any_ledger_makes_balanced_gap_free_entries(
    docs: list[SaleDocument], moves: list[MoneyMove]
) -> None:
    data = render(entries(docs, moves, AccountPlan()))
    rows = [line.split("\t") for line in data.decode(ENCODING).split("\r\n")[:-1]]
    assert rows[0] == list(COLUMNS)
    per_entry: dict[tuple[str, str], int] = defaultdict(int)
    per_journal: dict[str, list[str]] = defaultdict(list)
    for row in rows[1:]:
        assert len(row) == 18
        assert re.fullmatch(r"[0-9]{8}", row[3]) and row[3] == row[9] == row[15]
        debit, credit = (int(v.replace(",", "")) for v in (row[11], row[12]))
        assert re.fullmatch(r"[0-9]+,[0-9]{2}", row[11]) and re.fullmatch(
            r"[0-9]+,[0-9]{2}", row[12]
        )
        assert (debit == 0) != (credit == 0)
        per_entry[(row[0], row[2])] += debit - credit
        if not per_journal[row[0]] or per_journal[row[0]][-1] != row[2]:
            per_journal[row[0]].append(row[2])
    assert set(per_entry.values()) <= {0}
    days = [row[3] for row in rows[1:]]
    assert days == sorted(days)  # chronological, whichever the journal
    for journal, numbers in per_journal.items():
        assert numbers == [f"{journal}{n:06d}" for n in range(1, len(numbers) + 1)]
    assert len(per_journal.get("VE", [])) == len(docs)
    assert sum(len(n) for j, n in per_journal.items() if j != "VE") == len(
        [m for m in moves if m.amount_cents]
    )


def test_text_never_breaks_a_line_and_amounts_use_a_comma() -> None:
    buyer = customer(None, 7, "Léa\tDupont\r\n| Œuvre")
    moves = [MoneyMove("cash", date(2027, 3, 1), 123456, buyer, "ref\nx", "€ reçu")]
    data = render(entries([], moves, AccountPlan()))
    assert data.count(b"\r\n") == 3
    assert "Léa Dupont Œuvre".encode(ENCODING) in data
    assert b"1234,56" in data
    assert amount(5) == "0,05" and amount(0) == "0,00"
    with pytest.raises(ValueError):
        amount(-1)


def test_a_document_whose_breakdown_does_not_sum_to_its_total_is_refused() -> None:
    wrong = SaleDocument(
        "F-2027-000001",
        "invoice",
        date(2027, 3, 1),
        customer(1, 2, "École"),
        (VatShare("20.00", 1000, 200),),
        1201,
    )
    with pytest.raises(ValueError, match="F-2027-000001"):
        entries([wrong], [], AccountPlan())


def test_the_place_mapping_fills_in_the_defaults() -> None:
    plan = AccountPlan.of({"accounts": {"sales": "706100"}, "vat_rates": {"8.50": "445718"}})
    assert plan.accounts["sales"] == "706100" and plan.accounts["bank"] == "512"
    assert plan.vat_account("8.50") == "445718"
    assert plan.vat_account("20.00") == "445710"
    assert plan.vat_account("13.00") == "4457"


def test_file_name_and_fiscal_years() -> None:
    assert file_name("732829320", date(2027, 12, 31)) == "732829320FEC20271231.txt"
    with pytest.raises(ValueError):
        file_name("73282932", date(2027, 12, 31))
    assert fiscal_year(2027) == parse("year", "2027")
    july = fiscal_year(2026, 7)
    assert (july.first, july.last) == (date(2026, 7, 1), date(2027, 6, 30))
    assert fiscal_year_of(date(2027, 3, 5), 7) == july
    assert fiscal_year_of(date(2027, 7, 1), 7).key == "2027"
    february = parse("month", "2028-02")
    assert february == month(2028, 2) and february.last == date(2028, 2, 29)
    assert july.covers(parse("month", "2027-06")) and not july.covers(parse("month", "2027-07"))
    for kind, key in (("month", "2027-13"), ("month", "2027"), ("year", "27"), ("week", "1")):
        with pytest.raises(ValueError):
            parse(kind, key)


def test_an_archive_names_every_altered_missing_or_added_file() -> None:
    when = datetime(2027, 3, 1, 9, tzinfo=UTC)
    files = [("a.txt", b"alpha"), ("d/b.pdf", b"%PDF-bravo")]
    data = archive.build(files, when)
    assert archive.verify(data, archive.sha256(data)) == []
    assert [p.code for p in archive.verify(data, "0" * 64)] == ["archive_altered"]
    # Rebuilt with one byte changed in a file: the manifest catches it.
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        kept = {n: opened.read(n) for n in opened.namelist()}
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as rebuilt:
        rebuilt.writestr("a.txt", b"alphA")
        rebuilt.writestr("extra.txt", b"x")
        rebuilt.writestr(archive.MANIFEST, kept[archive.MANIFEST])
    problems = {(p.code, p.name) for p in archive.verify(forged.getvalue())}
    assert problems == {
        ("file_altered", "a.txt"),
        ("file_missing", "d/b.pdf"),
        ("file_unlisted", "extra.txt"),
    }
    assert [p.code for p in archive.verify(b"not a zip")] == ["unreadable_archive"]


def test_any_byte_changed_in_a_compressed_file_is_named_not_raised() -> None:
    # A flipped byte inside a deflated stream may break the stream itself (zlib.error, not a
    # CRC mismatch): `mutualab invoices verify` must still name the file, never crash.
    when = datetime(2027, 3, 1, 9, tzinfo=UTC)
    text = b"".join(b"FLT-2027-%06d;%d,00\n" % (n, n * 7) for n in range(200))
    data = archive.build([("journal.txt", text)], when)
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        info = opened.getinfo("journal.txt")
    # Its compressed bytes follow its local header: 30 bytes, then its name and extra field,
    # whose lengths the header's last four bytes give.
    lengths = data[info.header_offset + 26 : info.header_offset + 30]
    name_length, extra_length = lengths[:2], lengths[2:]
    start = info.header_offset + 30 + int.from_bytes(name_length, "little")
    start += int.from_bytes(extra_length, "little")
    named = 0
    for at in range(start, start + info.compress_size):
        altered = bytearray(data)
        altered[at] ^= 1
        problems = {(p.code, p.name) for p in archive.verify(bytes(altered))}
        # Some flips leave the inflated text as it was (then there is nothing to name).
        assert problems <= {("file_altered", "journal.txt")}, at
        named += bool(problems)
    assert named > info.compress_size // 2
