"""Map: header synonyms to canonical columns, columns found from values, a file's table."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crm_core.engine.schema import TABLES, Column, Table


def normalise_header(h: str) -> str:
    """Fold a header for matching: NFKC, lower case, no spaces/punctuation besides '?', and no
    trailing unit in brackets ("单价(元)" is "单价")."""
    h = unicodedata.normalize("NFKC", h).strip().lower()
    h = h.lstrip("\ufeff")
    h = re.sub(r"(?<=\S)\s*[(\[【][^()\[\]【】]*[)\]】]$", "", h)
    h = re.sub(r"[\s_\-./()（）:：#]+", "", h)
    return h


def match_headers(table: Table, headers: list[str]) -> dict[str, str]:
    """Map source header -> canonical column: columns in table order claim the header matching
    their earliest synonym, so specific names beat generic ones and each header is used once."""
    norm = {h: normalise_header(h) for h in headers}
    out: dict[str, str] = {}
    for col in table.columns:
        for syn in col.synonyms:
            n = normalise_header(syn)
            hit = next((h for h in headers if norm[h] == n and h not in out), None)
            if hit is not None:
                out[hit] = col.name
                break
    return out


def table_mapping(
    table: Table, headers: list[str], overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Source header -> column: the user's overrides (header -> column, "" = ignore the header)
    first, header matching for the rest. An override may name a column the table lacks."""
    given = {h: c for h, c in (overrides or {}).items() if h in headers}
    out = {
        h: c
        for h, c in match_headers(table, [h for h in headers if h not in given]).items()
        if c not in given.values()
    }
    out.update({h: c for h, c in given.items() if c})
    return out


def amount_derivable(table: Table, columns: set[str]) -> bool:
    """An orders file without an amount column but with quantity and unit price: amount is
    their product, so the amount counts as present."""
    return (
        table.name == "orders" and "amount" not in columns and {"quantity", "unit_price"} <= columns
    )


def order_id_derivable(table: Table, columns: set[str]) -> bool:
    """An orders file without order numbers (a member system's purchase log) but with the
    customer and the date: one order per customer per day, so the order id counts as present."""
    return (
        table.name == "orders"
        and "order_id" not in columns
        and {"customer_id", "order_date"} <= columns
        and ("amount" in columns or amount_derivable(table, columns))
    )


def missing_required(table: Table, columns: set[str]) -> list[str]:
    """Required columns absent from `columns` (a derivable amount or order id is present)."""
    return [
        c
        for c in table.required
        if c not in columns
        and not (c == "amount" and amount_derivable(table, columns))
        and not (c == "order_id" and order_id_derivable(table, columns))
    ]


# Share of a column's sampled non-blank values that must parse as dates for it to be date-like.
DATE_SHARE = 0.9

# Header words that make digit-only values (Excel serials 45322, 20240131) count as dates.
DATE_HINTS = ("日期", "时间", "日", "date", "time", "day")

# Header words naming a buyer: they settle a tie between id-like columns.
CUSTOMER_HINTS = (
    "客户",
    "会员",
    "买家",
    "顾客",
    "用户",
    "customer",
    "member",
    "buyer",
    "client",
    "user",
    "account",
)


@dataclass(frozen=True)
class ColumnProfile:
    """What a sample of one column's values looks like (counts over the non-blank values)."""

    header: str
    values: int  # non-blank values sampled
    dates: int  # values that parse as a date/time, digit-only ones excepted
    digit_dates: int  # digit-only values that parse as a date (an Excel serial, 20240131)
    ids: int  # values shaped like an id: letters, digits, '-' and '_', no decimals
    distinct: int  # distinct values

    @property
    def date_count(self) -> int:
        """Values counted as dates: digit-only ones only under a header that names a date."""
        hinted = any(w in normalise_header(self.header) for w in DATE_HINTS)
        return self.dates + (self.digit_dates if hinted else 0)

    @property
    def date_like(self) -> bool:
        return self.values > 0 and self.date_count >= DATE_SHARE * self.values

    @property
    def id_like(self) -> bool:
        """Ids repeated across rows: every value id-shaped, some value repeated, not dates."""
        return (
            self.values > 1
            and self.ids == self.values
            and 1 < self.distinct < self.values
            and not self.date_like
        )


@dataclass(frozen=True)
class Guess:
    """A required column found from the file's content, not its header."""

    column: str
    header: str
    rule: str  # "dates": values parse as dates; "ids": id-shaped values repeated across rows
    matched: int  # sampled values that fit the rule (distinct ids for "ids")
    values: int  # non-blank values sampled

    def describe(self) -> str:
        """Why, in plain words: 'dates in 100 % of 2,000 sampled rows'."""
        if self.rule == "dates":
            return f"dates in {self.matched / self.values:.0%} of {self.values:,} sampled rows".replace(
                "%", " %"
            )
        return (
            f"ids repeated across rows: {self.matched:,} distinct in {self.values:,} sampled rows"
        )


def _rule(table: Table, column: Column) -> str | None:
    """How a missing required column can be found from content, if it can."""
    if column.kind in ("timestamp", "date"):
        return "dates"
    if column.kind == "id" and column.name not in table.key:
        return "ids"  # a foreign key (the customer of an order) repeats; a table's own key need not
    return None


def infer_columns(
    table: Table,
    mapping: dict[str, str],
    profiles: dict[str, ColumnProfile],
    ignored: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, Guess], dict[str, list[str]]]:
    """Required columns still missing after header matching, found from content: (column ->
    the one fitting header) and (column -> the several fitting headers, for the user to choose).

    Only headers neither mapped nor ignored are candidates; a date-like column is never an id."""
    inferred: dict[str, Guess] = {}
    ambiguous: dict[str, list[str]] = {}
    free = [h for h, p in profiles.items() if h not in mapping and h not in ignored]
    for name in missing_required(table, set(mapping.values())):
        rule = _rule(table, table.column(name))
        if rule is None:
            continue
        if rule == "dates":
            fits = [profiles[h] for h in free if profiles[h].date_like]
        else:
            fits = [profiles[h] for h in free if profiles[h].id_like]
            named = [
                p for p in fits if any(w in normalise_header(p.header) for w in CUSTOMER_HINTS)
            ]
            fits = named if len(fits) > 1 and named else fits
        if len(fits) == 1:
            p = fits[0]
            matched = p.date_count if rule == "dates" else p.distinct
            inferred[name] = Guess(name, p.header, rule, matched, p.values)
            free.remove(p.header)
        elif fits:
            ambiguous[name] = [p.header for p in fits]
    return inferred, ambiguous


def detect_table(
    headers: list[str],
    overrides: dict[str, str] | None = None,
    profiles: dict[str, ColumnProfile] | None = None,
) -> tuple[str | None, dict[str, dict[str, str]]]:
    """Best table for a header row: all required columns present, most columns matched.

    `overrides` (header -> column) apply first: only a table having every column they name
    qualifies. With `profiles`, a required column found from content (inferred, or with several
    candidates) counts as present, worth less than a matched header."""
    # With several files, an override names a header of some of them only.
    given = {h: c for h, c in (overrides or {}).items() if h in headers}
    mappings = {name: table_mapping(t, headers, given) for name, t in TABLES.items()}
    named = {c for c in given.values() if c}
    ignored = {h for h, c in given.items() if not c}
    best, best_score = None, -1.0
    for name, t in TABLES.items():
        if not named <= {c.name for c in t.columns}:
            continue
        mapped = set(mappings[name].values())
        guessed = 0
        if profiles is not None:
            inferred, ambiguous = infer_columns(t, mappings[name], profiles, ignored)
            mapped |= set(inferred) | set(ambiguous)
            guessed = len(inferred) + len(ambiguous)
        req = set(t.required)
        if t.one_of and mapped & set(t.one_of):
            mapped |= set(t.one_of)
        elif t.one_of:
            req |= set(t.one_of)
        if amount_derivable(t, mapped):
            mapped.add("amount")
        derived_key = order_id_derivable(t, mapped)
        if derived_key:
            mapped.add("order_id")
        if not req <= mapped:
            continue
        score = len(mapped) - 0.5 * guessed + 2 * len(req) + 0.1 * len(mapped) / len(t.columns)
        score -= 1.0 if derived_key else 0.0  # a derived key is worth less than a real one
        if score > best_score:
            best, best_score = name, score
    # A file carrying another table's own key (an order id in what would pass for a customers
    # file) is that table with a column missing: refuse to guess, a replace would overwrite the
    # wrong table.
    if best is not None:
        for name, t in TABLES.items():
            key = t.key[0]
            if t.column(key).kind != "id":
                continue  # a text key (a spend channel) is no table's own identity
            if (
                name != best
                and key in mappings[name].values()
                and key not in {c.name for c in TABLES[best].columns}
            ):
                return None, mappings
    return best, mappings
