"""The demo CSVs written (UTF-8 with BOM), and a summary checking the shapes dashboards need."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib

import numpy as np
import pandas as pd

from crm_core.ingest.demo.assemble import build
from crm_core.ingest.demo.company import DEFAULT_END, DEFAULT_SEED, GRADES, SLA_HOURS


def generate(
    out_dir: pathlib.Path, seed: int = DEFAULT_SEED, end_date: dt.date = DEFAULT_END
) -> dict[str, pathlib.Path]:
    """Write the demo CSVs (one per table, (UTF-8 with BOM, Chinese headers) and return {table: path}."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, pathlib.Path] = {}
    for name, frame in build(seed, end_date).items():
        path = out_dir / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        paths[name] = path
    return paths


def summary(paths: dict[str, pathlib.Path]) -> str:
    """Human-readable check of the shapes the dashboards rely on."""
    read = {
        k: pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for k, p in paths.items()
    }
    lines = [
        f"{k:<13}{len(v):>7,} rows  {paths[k].stat().st_size / 1e6:5.2f} MB  "
        f"sha256 {hashlib.sha256(paths[k].read_bytes()).hexdigest()[:12]}"
        for k, v in read.items()
    ]
    o = read["orders"]
    amt = o["实付金额"].astype(float)
    by_c = amt.groupby(o["客户编号"]).sum().sort_values(ascending=False)
    by_c = by_c[by_c > 0]
    top = by_c.iloc[: int(np.ceil(len(by_c) * 0.2))].sum() / by_c.sum()
    n_cust = len(read["customers"])
    lines += [
        f"revenue (net of returns): {amt.sum():,.2f}",
        f"top 20% of buying customers carry {top:.1%} of revenue",
        f"buyers {len(by_c):,} / customers {n_cust:,} (no order: {n_cust - len(by_c):,})",
        f"returns: {(o['订单状态'] == '退货').sum():,} lines",
    ]
    c = read["complaints"]
    month = c["投诉时间"].str.extract(r"^(\d+)/(\d+)/").astype(int)
    key = month[0].astype(str) + "-" + month[1].astype(str).str.zfill(2)
    per = pd.DataFrame(
        {"all": key.value_counts(), "配件缺货": key[c["投诉类别"] == "配件缺货"].value_counts()}
    )
    per = per.fillna(0).astype(int).sort_index()
    lines.append("complaints per month (all / 配件缺货):")
    lines += [
        "  " + "  ".join(f"{m} {r['all']:>3}/{r['配件缺货']:<3}" for m, r in chunk.iterrows())
        for chunk in (per.iloc[i : i + 6] for i in range(0, len(per), 6))
    ]
    received = pd.to_datetime(c["投诉时间"], format="%Y/%m/%d %H:%M")
    handled = pd.to_datetime(c["处理完成时间"].replace("", None), format="%Y/%m/%d %H:%M")
    hrs = (handled - received).dt.total_seconds() / 3600
    lines.append(
        f"complaints resolved > {SLA_HOURS:.0f} h: {(hrs > SLA_HOURS).mean():.1%} "
        f"of all ({(hrs > SLA_HOURS).sum()} of {len(c)}; open: "
        f"{(c['处理状态'] != '已结案').sum()})"
    )
    le = read["leads"]
    closed = le["结果"] != ""
    won = le["结果"] == "赢单"
    lines.append(
        f"leads: won {won.sum():,} / closed {closed.sum():,} = "
        f"{won.sum() / closed.sum():.1%} close rate ({won.mean():.1%} of all leads)"
    )
    lines.append(
        "  win rate by grade: "
        + ", ".join(
            f"{g} {won[le['意向等级'] == g].sum() / closed[le['意向等级'] == g].sum():.0%}"
            for g in GRADES
        )
    )
    i = read["interactions"]
    lines.append(
        "interactions by purpose: "
        + ", ".join(f"{k} {v:,}" for k, v in i["目的"].value_counts().sort_index().items())
    )
    return "\n".join(lines)
