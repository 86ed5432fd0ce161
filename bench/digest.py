"""Time `digest --all --dry-run --json` for 200 recipients on the demo database.

    python -m bench.digest                       # 200 accounts, demo data, a fresh temp database
    python -m bench.digest --recipients 50 --db /tmp/x.duckdb

The accounts' scopes are every region, every owner and region x owner pairs, in turn (so many
recipients share a scope, as managers of one region do), half in Chinese, half in English, each
with an email address. The timed step is the CLI command in this process: it builds every
digest (figures, movements, at-risk customers, overdue leads) and prints the JSON; nothing is
sent. Target: 200 recipients in under 60 s (bench/RESULTS.md, "Weekly digest").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from crm_core import auth, db, ingest
from crm_core.__main__ import main as cli

TARGET_S = 60.0


def _scopes(con: db.Connection) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    regions = [
        r for (r,) in con.execute("SELECT DISTINCT region FROM customers ORDER BY 1").fetchall()
    ]
    owners = [
        o for (o,) in con.execute("SELECT DISTINCT owner FROM customers ORDER BY 1").fetchall()
    ]
    regions = [r for r in regions if r]
    owners = [o for o in owners if o]
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((), ())]
    out += [((r,), ()) for r in regions]
    out += [((), (o,)) for o in owners]
    out += [((r,), (o,)) for r, o in itertools.product(regions, owners)]
    return out


def setup(path: Path, recipients: int) -> int:
    """A demo database at `path` with `recipients` accounts that have an email; the number of
    distinct scopes among them."""
    con = db.connect(path)
    ingest.load_demo(con)
    scopes = _scopes(con)
    used = set()
    for n in range(recipients):
        regions, owners = scopes[n % len(scopes)]
        used.add((regions, owners))
        name = f"m{n:03d}"
        auth.add_user(con, name, "viewer", None, regions, owners, actor="bench")
        lang = "zh" if n % 2 == 0 else "en"
        auth.set_delivery(con, name, auth.Delivery(email=f"{name}@example.com", lang=lang))
    con.close()
    return len(used)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    p.add_argument("--recipients", type=int, default=200)
    p.add_argument("--db", type=Path, default=None, help="where to build the database")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm_bench_digest_") as tmp:
        path = args.db or Path(tmp) / "digest.duckdb"
        t0 = time.perf_counter()
        scopes = setup(path, args.recipients)
        built = time.perf_counter() - t0
        out = io.StringIO()
        t0, c0 = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(out):
            code = cli(["digest", "--all", "--dry-run", "--json", "--db", str(path)])
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        docs = json.loads(out.getvalue())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"digest --all --dry-run --json: {len(docs)} recipients ({scopes} distinct scopes) in "
        f"{took:.1f} s = {1000 * took / max(len(docs), 1):.0f} ms each; target < {TARGET_S:.0f} s: "
        f"{'met' if took < TARGET_S else 'NOT met'} (CPU {cpu:.1f} s; setup {built:.1f} s, exit {code}, "
        f"1-min load {load:.1f})"
    )
    return 0 if code == 0 and len(docs) == args.recipients else 1


if __name__ == "__main__":
    raise SystemExit(main())
