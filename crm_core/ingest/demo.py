"""Seeded demo data for a fictional Chinese car-dealer group: five CRM CSVs with Chinese headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.engine import config

DEFAULT_SEED = 20241
DEFAULT_END = dt.date(2026, 10, 31)

N_MONTHS = 36
N_CUSTOMERS = 5_000
N_LEADS = 8_000
N_COMPLAINTS = 1_450  # baseline; the parts-shortage spike comes on top
SLA_HOURS = 48.0

NEW, SVC, ACC, INS, USED = "新车销售", "维修保养", "精品附件", "保险续保", "二手车"
A_PROSPECT, A_NEW, A_USED, A_SERVICE = 0, 1, 2, 3

# Relative arrivals by calendar month: spring and Golden-Week auto shows sell, 春节 (Jan/Feb) is dead.
SEASON = np.array([0.72, 0.58, 1.15, 1.22, 1.15, 1.0, 0.9, 0.95, 1.12, 1.22, 1.0, 1.05])

REGIONS = ("华东", "华北", "华南", "华中", "西南")
REGION_P = (0.32, 0.2, 0.2, 0.14, 0.14)
CITIES = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "济南"),
    "华北": ("北京", "天津", "石家庄", "太原", "保定"),
    "华南": ("广州", "深圳", "东莞", "佛山", "南宁"),
    "华中": ("武汉", "长沙", "郑州", "南昌"),
    "西南": ("成都", "重庆", "昆明", "贵阳"),
}
SALES_TEAM = {
    "华东": ("陈晓峰", "王丽娟", "张伟", "刘佳琪", "周建国", "吴敏"),
    "华北": ("赵磊", "孙静", "李志强", "马晓东"),
    "华南": ("黄俊杰", "林雅婷", "郑浩然", "梁思远"),
    "华中": ("胡海燕", "何鹏", "罗文博"),
    "西南": ("杨雪", "唐振华", "邓凯"),
}
SERVICE_DESK = ("徐文静", "高俊", "宋佳怡", "韩磊", "冯晓燕", "曹鑫", "彭丽", "谢明轩")
SERVICE_ADVISORS = ("沈国庆", "蒋欣怡", "蔡永刚", "余婷", "杜晨阳", "叶红")

SOURCES = ("展厅到店", "网络线索", "老客户推荐", "车展", "电话营销", "二手车置换")
# P(source | archetype); fleets are won by phone sales and references, not by walk-ins.
SOURCE_P = {
    A_PROSPECT: (0.2, 0.5, 0.0, 0.15, 0.15, 0.0),
    A_NEW: (0.28, 0.28, 0.14, 0.09, 0.06, 0.15),
    A_USED: (0.35, 0.35, 0.15, 0.0, 0.05, 0.1),
    A_SERVICE: (0.5, 0.1, 0.15, 0.0, 0.25, 0.0),
    "fleet": (0.15, 0.1, 0.3, 0.1, 0.35, 0.0),
}

# Fictional brands (no real trademarks): model, trims, list-price band, weight private / fleet.
VEHICLES = (
    ("华骋 A3", ("1.5L 舒适型", "1.5L 豪华型"), 84_800, 109_800, 0.15, 0.05),
    ("华骋 A5", ("1.5T 进取型", "1.5T 旗舰型"), 109_800, 149_800, 0.17, 0.30),
    ("华骋 X5", ("1.5T 两驱精英型", "2.0T 四驱尊贵型"), 139_800, 189_800, 0.18, 0.15),
    ("华骋 X7", ("2.0T 豪华型", "2.0T 旗舰型"), 179_800, 249_800, 0.12, 0.10),
    ("华骋 M8", ("2.0T 商务版", "2.0T 行政版"), 219_800, 299_800, 0.06, 0.25),
    ("云岚 E3", ("标准续航版", "长续航版"), 99_800, 139_800, 0.12, 0.05),
    ("云岚 E6", ("长续航版", "四驱性能版"), 169_800, 239_800, 0.10, 0.05),
    ("铂锐 L6", ("2.0T 豪华型", "2.0T 运动型"), 279_800, 359_800, 0.06, 0.03),
    ("铂锐 L9", ("3.0T 旗舰型", "3.0T 行政型"), 359_800, 449_800, 0.04, 0.02),
)
SERVICES = (  # name, low, high, weight
    ("常规保养", 400, 1200, 0.42),
    ("大保养", 1200, 2600, 0.14),
    ("更换刹车片", 600, 1500, 0.08),
    ("更换轮胎", 1000, 4000, 0.07),
    ("钣金喷漆", 800, 5000, 0.10),
    ("空调系统维修", 500, 2500, 0.06),
    ("蓄电池更换", 500, 1200, 0.06),
    ("事故车维修", 2500, 6000, 0.07),
)
ACCESSORIES = (
    ("隐形车衣", 3000, 8000, 0.08),
    ("太阳膜", 1500, 5000, 0.17),
    ("全包围脚垫", 300, 900, 0.2),
    ("行车记录仪", 600, 1800, 0.15),
    ("座椅套", 500, 2000, 0.1),
    ("车载冰箱", 800, 2500, 0.05),
    ("家用充电桩安装", 2500, 6000, 0.08),
    ("挡泥板", 200, 400, 0.09),
    ("车衣", 300, 1200, 0.08),
)
COST_RATIO = {
    NEW: (0.93, 0.985),
    USED: (0.84, 0.93),
    SVC: (0.42, 0.6),
    ACC: (0.35, 0.55),
    INS: (0.82, 0.9),
}

COMPLAINT_CATS = ("维修质量", "服务态度", "交车延迟", "价格争议", "配件缺货", "保险理赔")
# P(complaint category | the order that triggered it).
TRIGGER_CAT_P = {
    NEW: (0.0, 0.2, 0.5, 0.3, 0.0, 0.0),
    SVC: (0.36, 0.14, 0.0, 0.12, 0.38, 0.0),
    INS: (0.0, 0.2, 0.0, 0.0, 0.0, 0.8),
    ACC: (0.0, 0.22, 0.0, 0.23, 0.55, 0.0),
    USED: (0.0, 0.4, 0.0, 0.6, 0.0, 0.0),
}
# Car handovers and used-car deals produce more complaints per order than an oil change.
TRIGGER_WEIGHT = {NEW: 3.0, USED: 2.0, SVC: 1.0, INS: 0.6, ACC: 0.5}

STAGES = ("新线索", "已联系", "到店/试驾", "报价", "成交", "战败")
GRADES = ("H", "A", "B", "C")
FOLLOW_UP_DAYS = np.array([2.0, 7.0, 14.0, 30.0])  # house rule per grade H/A/B/C

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志红飞鹏辉玲浩宇欣怡涵轩诺桐远俊峰晓东"
    "海燕佳琪博晨阳嘉然宏丹凤立新春梅秋振永庆婷雪慧颖琳璐瑶淑楠鑫凯斌亮帅旭昊睿泽铭豪航子思"
    "雨梓文天一家"
)
FIRM_WORDS = "恒达鑫华盛瑞安康宏远泰丰信诚联创兴隆嘉禾博通汇金德源顺辰启明"
FIRM_TRADES = (
    "物流",
    "科技",
    "建设工程",
    "商贸",
    "汽车租赁",
    "餐饮管理",
    "医药",
    "电子",
    "环保科技",
    "文化传媒",
    "置业",
    "供应链管理",
)
GOV_DISTRICTS = ("新城", "高新", "经开", "临港", "滨湖", "东湖", "西城", "北塘")
GOV_BODIES = (
    "城市管理局",
    "交通运输局",
    "市场监督管理局",
    "人民医院",
    "自然资源局",
    "税务局",
    "公安分局",
    "教育局",
)


@dataclass
class _Ctx:
    rng: np.random.Generator
    start: dt.date
    horizon: float  # days from start to the end of end_date (exclusive)
    bounds: np.ndarray  # month boundaries in days from start, N_MONTHS + 1
    cal_month: np.ndarray  # calendar month (1-12) of each window month


@dataclass
class _Customers:
    n: int
    arche: np.ndarray
    fleet: np.ndarray
    fleet_size: np.ndarray
    ctype: np.ndarray
    region: np.ndarray
    owner: np.ndarray  # index into OWNERS
    source: np.ndarray
    t0: np.ndarray  # first deal (or first contact for prospects)
    active_until: np.ndarray
    rhythm: np.ndarray
    slowing: np.ndarray
    slow_start: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    affluence: np.ndarray
    first_model: np.ndarray
    first_amount: np.ndarray


OWNERS = tuple(name for r in REGIONS for name in SALES_TEAM[r])
OWNER_REGION = np.array([REGIONS.index(r) for r in REGIONS for _ in SALES_TEAM[r]])


# ---------------------------------------------------------------- small helpers


def _pick(rng: np.random.Generator, n: int, values: tuple | np.ndarray, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.asarray(values)[rng.choice(len(p), size=n, p=p / p.sum())]


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) weight matrix."""
    c = probs.cumsum(axis=1)
    c /= c[:, -1:]
    return (rng.random(len(probs))[:, None] > c).sum(axis=1)


def _tod(rng: np.random.Generator, n: int, first_hour: int, weights) -> np.ndarray:
    """Time of day as a fraction of a day, whole minutes, from an hourly profile."""
    hours = first_hour + _pick(rng, n, np.arange(len(weights)), weights)
    return (hours * 60 + rng.integers(0, 60, n)) / 1440.0


# Dealers are busiest late morning and after work; complaints come in until late evening.
STORE_PROFILE = (9, (5, 9, 10, 7, 7, 9, 10, 10, 9, 8, 7, 5))
COMPLAINT_PROFILE = (8, (4, 8, 10, 9, 6, 7, 9, 9, 8, 7, 7, 6, 5, 3))
LEAD_PROFILE = (8, (3, 6, 8, 8, 6, 6, 7, 7, 7, 7, 8, 9, 9, 7, 4))
CALL_PROFILE = (9, (8, 10, 9, 5, 7, 9, 9, 9, 8, 7, 6, 3))


def _on_day(rng: np.random.Generator, t: np.ndarray, profile) -> np.ndarray:
    return np.floor(t) + _tod(rng, len(t), *profile)


def _business(
    rng: np.random.Generator, t: np.ndarray, open_h: float = 8.5, close_h: float = 21.0
) -> np.ndarray:
    """Push a derived time that lands at night to the next opening (staff do not work at 3 am)."""
    day = np.floor(t)
    frac = t - day
    jitter = rng.uniform(0, 1.5 / 24, len(t))
    t = np.where(frac < open_h / 24, day + open_h / 24 + jitter, t)
    return np.where(frac >= close_h / 24, day + 1 + open_h / 24 + jitter, t)


def _minute(t: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(t, dtype=float) * 1440.0) / 1440.0


def _arrival_days(ctx: _Ctx, n: int, growth: float) -> np.ndarray:
    """Whole days drawn month by month: seasonality times a gently growing business."""
    w = SEASON[ctx.cal_month - 1] * (1 + growth * np.arange(N_MONTHS) / 12)
    m = ctx.rng.choice(N_MONTHS, size=n, p=w / w.sum())
    length = ctx.bounds[m + 1] - ctx.bounds[m]
    return ctx.bounds[m] + np.floor(ctx.rng.random(n) * length)


def _fmt_ts(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Days since start -> '2024/1/31 14:05' (no zero padding, like a zh-CN Excel export)."""
    days = np.asarray(days, dtype=float)
    ok = ~np.isnan(days)
    mins = np.zeros(len(days), dtype=np.int64)
    mins[ok] = np.round(days[ok] * 1440.0).astype(np.int64)
    ts = pd.DatetimeIndex(np.datetime64(start, "m") + mins.astype("timedelta64[m]"))
    s = (
        ts.year.astype(str)
        + "/"
        + ts.month.astype(str)
        + "/"
        + ts.day.astype(str)
        + " "
        + ts.hour.astype(str)
        + ":"
        + ts.minute.astype(str).str.zfill(2)
    )
    out = np.asarray(s, dtype=object)
    out[~ok] = ""
    return out


def _fmt_money(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    out = np.full(len(x), "", dtype=object)
    out[ok] = np.char.mod("%.2f", np.round(x[ok], 2) + 0.0)
    out[out == "-0.00"] = "0.00"
    return out


def _fmt_int(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    out = np.full(len(x), "", dtype=object)
    out[ok] = np.char.mod("%d", x[ok].astype(np.int64))
    return out


def _draw(
    rng: np.random.Generator, k: int, catalogue: tuple, only: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k items from a (name, low, high, weight) catalogue: names and a uniform price in band."""
    idx = np.arange(len(catalogue)) if only is None else only
    item = idx[_pick(rng, k, np.arange(len(idx)), [catalogue[i][3] for i in idx])]
    lo = np.array([catalogue[i][1] for i in item], dtype=float)
    hi = np.array([catalogue[i][2] for i in item], dtype=float)
    names = np.array([catalogue[i][0] for i in item], dtype=object)
    return names, rng.uniform(lo, hi)


def _ids(prefix: str, width: int, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _context(seed: int, end_date: dt.date) -> _Ctx:
    end_month = np.datetime64(end_date, "M")
    months = end_month - (N_MONTHS - 1) + np.arange(N_MONTHS + 1)
    start = months[0].astype("datetime64[D]").item()
    bounds = (months.astype("datetime64[D]") - np.datetime64(start, "D")).astype(float)
    horizon = float((end_date - start).days + 1)
    cal_month = months[:-1].astype(int) % 12 + 1
    return _Ctx(np.random.default_rng(seed), start, horizon, bounds, cal_month)


# ---------------------------------------------------------------- customers


def _customers(ctx: _Ctx) -> _Customers:
    rng, n = ctx.rng, N_CUSTOMERS
    ctype = _pick(rng, n, ("个人", "企业", "政府机构"), (0.9, 0.075, 0.025))
    fleet = ctype != "个人"
    # Fleet size is Pareto: a handful of big accounts (rental firms, a city bureau) dominate revenue.
    fleet_size = np.where(fleet, np.minimum(1 + np.floor(rng.pareto(1.1, n) * 3), 40), 1)
    arche = np.where(fleet, A_NEW, _pick(rng, n, (A_NEW, A_USED, A_SERVICE), (0.7, 0.08, 0.22)))
    # ~8% are prospects who were registered but never bought: funnels have a leaky bottom.
    arche = np.where(rng.random(n) < 0.08, A_PROSPECT, arche)
    region = _pick(rng, n, np.arange(len(REGIONS)), REGION_P)
    # Consultants carry unequal books, so owner dashboards have something to compare.
    owner_w = rng.uniform(0.6, 1.6, len(OWNERS))
    owner = np.empty(n, dtype=int)
    for r in range(len(REGIONS)):
        rows = np.flatnonzero(region == r)
        cand = np.flatnonzero(np.equal(OWNER_REGION, r))
        owner[rows] = _pick(rng, len(rows), cand, owner_w[cand])
    source = np.empty(n, dtype=object)
    groups = {
        A_PROSPECT: arche == A_PROSPECT,
        "fleet": fleet & (arche != A_PROSPECT),
        A_NEW: (arche == A_NEW) & ~fleet,
        A_USED: arche == A_USED,
        A_SERVICE: arche == A_SERVICE,
    }
    for key, rows in groups.items():
        source[rows] = _pick(rng, int(rows.sum()), SOURCES, SOURCE_P[key])
    t0 = _on_day(rng, _arrival_days(ctx, n, growth=0.12), STORE_PROFILE)

    # Churn comes in three shapes: gone after the first deal, gone in year one, gone after years.
    referred = source == "老客户推荐"  # referred customers come with trust and stay longer
    u = rng.random(n)
    p_early = np.where(referred, 0.09, 0.17)
    p_year1 = np.where(referred, 0.08, 0.14)
    active_until = np.where(
        u < p_early,
        t0 + 1.0,
        np.where(
            u < p_early + p_year1,
            t0 + rng.uniform(60, 365, n),
            t0 + 365 + rng.exponential(4 * 365, n),
        ),
    )
    # Each customer keeps a personal service rhythm; fleets bring several cars so come more often.
    rhythm = rng.uniform(120, 240, n) / np.sqrt(fleet_size)
    rhythm = np.maximum(rhythm, 25)
    # Slowing customers stretch their gaps from some recent point on: overdue, not yet gone.
    slowing = (rng.random(n) < 0.14) & (u >= p_early + p_year1)
    slow_start = ctx.horizon - rng.uniform(120, 480, n)
    # Spend level is lognormal; a trend makes some customers grow and others fade year over year.
    level = rng.lognormal(0, 0.35, n)
    kind = rng.random(n)
    trend = np.where(
        kind < 0.15,
        rng.uniform(0.3, 0.6, n),
        np.where(kind < 0.3, rng.uniform(-0.6, -0.3, n), rng.normal(0, 0.08, n)),
    )
    return _Customers(
        n=n,
        arche=arche,
        fleet=fleet,
        fleet_size=fleet_size,
        ctype=ctype,
        region=region,
        owner=owner,
        source=source,
        t0=t0,
        active_until=active_until,
        rhythm=rhythm,
        slowing=slowing,
        slow_start=slow_start,
        level=level,
        trend=trend,
        affluence=rng.normal(0, 1, n),
        first_model=np.full(n, -1),
        first_amount=np.zeros(n),
    )


def _names(ctx: _Ctx, cu: _Customers) -> np.ndarray:
    rng, n = ctx.rng, cu.n
    rank = np.arange(len(SURNAMES))
    sur = _pick(rng, n, np.array(list(SURNAMES)), 1 / (rank + 4))  # a few surnames dominate
    g = np.array(list(GIVEN))
    g1, g2 = g[rng.integers(0, len(g), n)], g[rng.integers(0, len(g), n)]
    two = rng.random(n) < 0.65
    person = np.char.add(sur.astype(str), np.where(two, np.char.add(g1, g2), g1))
    city = np.array(
        [
            CITIES[REGIONS[r]][i % len(CITIES[REGIONS[r]])]
            for r, i in zip(cu.region, rng.integers(0, 100, n), strict=True)
        ]
    )
    w = np.array(list(FIRM_WORDS))
    firm = np.char.add(w[rng.integers(0, len(w), n)], w[rng.integers(0, len(w), n)])
    trade = np.asarray(FIRM_TRADES)[rng.integers(0, len(FIRM_TRADES), n)]
    suffix = np.where(rng.random(n) < 0.1, "股份有限公司", "有限公司")
    company = np.char.add(np.char.add(np.char.add(city, firm), trade), suffix)
    gov = np.char.add(
        np.char.add(city, np.asarray(GOV_DISTRICTS)[rng.integers(0, 8, n)]),
        np.char.add("区", np.asarray(GOV_BODIES)[rng.integers(0, 8, n)]),
    )
    return np.where(cu.ctype == "企业", company, np.where(cu.ctype == "政府机构", gov, person))


# ---------------------------------------------------------------- orders


class _OrderLines:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        cust: np.ndarray,
        t: np.ndarray,
        cat: str,
        product: np.ndarray | str,
        amount: np.ndarray,
        qty: np.ndarray,
        channel: np.ndarray | str,
    ) -> None:
        n = len(cust)
        self.parts.append(
            {
                "cust": np.asarray(cust, dtype=int),
                "t": np.asarray(t, dtype=float),
                "cat": np.full(n, cat, dtype=object),
                "product": np.broadcast_to(np.asarray(product, dtype=object), n).copy(),
                "amount": np.asarray(amount, dtype=float),
                "qty": np.asarray(qty, dtype=float),
                "channel": np.broadcast_to(np.asarray(channel, dtype=object), n).copy(),
            }
        )

    def frame(self) -> pd.DataFrame:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        return pd.DataFrame(cols)


def _cars(ctx: _Ctx, cu: _Customers, cust: np.ndarray, qty: np.ndarray):
    rng = ctx.rng
    lows = np.array([v[2] for v in VEHICLES], dtype=float)
    highs = np.array([v[3] for v in VEHICLES], dtype=float)
    z = np.log(lows + highs)
    z = (z - z.mean()) / z.std()
    base = np.where(
        cu.fleet[cust][:, None],
        np.array([v[5] for v in VEHICLES]),
        np.array([v[4] for v in VEHICLES]),
    )
    model = _choice_rows(rng, base * np.exp(0.8 * cu.affluence[cust][:, None] * z))
    trim = rng.integers(0, 2, len(cust))
    product = np.array(
        [f"{VEHICLES[m][0]} {VEHICLES[m][1][k]}" for m, k in zip(model, trim, strict=True)]
    )
    # Dealers discount off list; big fleet deals get more off.
    disc = rng.uniform(0, 0.06, len(cust)) + np.where(qty > 3, 0.03, 0)
    unit = np.round(
        (lows[model] + rng.random(len(cust)) * (highs[model] - lows[model])) * (1 - disc), -2
    )
    return model, product, unit


def _orders(ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    rng, n, H = ctx.rng, cu.n, ctx.horizon
    lines = _OrderLines()
    limit = np.minimum(cu.active_until, H)

    def growth(c: np.ndarray, t: np.ndarray) -> np.ndarray:
        # Personal spend level, compounded by the customer's yearly trend since the first deal.
        return cu.level[c] * np.exp(cu.trend[c] * (t - cu.t0[c]) / 365.0)

    # New cars: the first deal, a second car for some private buyers, repeat fleet top-ups.
    first = np.flatnonzero(cu.arche == A_NEW)
    q_first = np.maximum(1, np.round(cu.fleet_size[first] * rng.uniform(0.4, 1.0, len(first))))
    second = first[~cu.fleet[first]]
    p2 = np.where(cu.trend[second] > 0.25, 0.25, 0.06)  # growers are who buy the second car
    t2 = cu.t0[second] + rng.uniform(180, 900, len(second))
    second_ok = (rng.random(len(second)) < p2) & (t2 < limit[second])
    car_c = [first, second[second_ok]]
    car_t = [cu.t0[first], _on_day(rng, t2[second_ok], STORE_PROFILE)]
    car_q = [q_first, np.ones(int(second_ok.sum()))]
    fl = first[cu.fleet[first]]
    t_prev = cu.t0[fl].copy()
    for _ in range(10):
        t_prev = t_prev + rng.uniform(150, 420, len(fl))
        ok = (t_prev < limit[fl]) & (rng.random(len(fl)) < 0.75)
        car_c.append(fl[ok])
        car_t.append(_on_day(rng, t_prev[ok], STORE_PROFILE))
        car_q.append(
            np.maximum(1, np.round(cu.fleet_size[fl[ok]] * rng.uniform(0.1, 0.5, int(ok.sum()))))
        )
    cc, ct, cq = np.concatenate(car_c), np.concatenate(car_t), np.concatenate(car_q)
    model, product, unit = _cars(ctx, cu, cc, cq)
    is_first = np.zeros(len(cc), dtype=bool)
    is_first[: len(first)] = True
    cu.first_model[first] = model[is_first]
    cu.first_amount[first] = (unit * cq)[is_first]
    channel = np.where(
        cu.fleet[cc], "大客户部", _pick(rng, len(cc), ("4S店", "线上商城"), (0.97, 0.03))
    )
    lines.add(cc, ct, NEW, product, unit * cq, cq, channel)

    def insure(
        c: np.ndarray,
        t: np.ndarray,
        q: np.ndarray,
        premium: np.ndarray,
        tag: str,
        channel: np.ndarray,
    ) -> None:
        # 交强险 (flat statutory rate) and 商业险 are separate policies, so separate lines.
        lines.add(c, t, INS, f"交强险{tag}", 950.0 * q, q, channel)
        lines.add(c, t + 3 / 1440, INS, f"商业险{tag}", np.round(premium * q, 2), q, channel)

    # First-year insurance is sold at handover; renewals on the anniversary if still with us.
    ins = rng.random(len(cc)) < np.where(cu.fleet[cc], 0.85, 0.72)
    ic, it, iq = cc[ins], ct[ins] + rng.uniform(5, 60, int(ins.sum())) / 1440, cq[ins]
    prem = np.clip(unit[ins] * rng.uniform(0.02, 0.032, len(ic)), 1800, 13000)
    insure(ic, it, iq, prem, "(首年)", np.where(cu.fleet[ic], "大客户部", "4S店"))
    p_renew = np.where(cu.trend[ic] > 0.25, 0.85, np.where(cu.trend[ic] < -0.25, 0.35, 0.65))
    for k in (1, 2, 3):
        tk = it + 365 * k - rng.uniform(0, 25, len(ic))
        ok = (tk < limit[ic]) & (rng.random(len(ic)) < p_renew)
        amt = prem[ok] * 0.92**k * rng.uniform(0.96, 1.04, int(ok.sum()))
        ch = np.where(
            cu.fleet[ic[ok]],
            "大客户部",
            _pick(rng, int(ok.sum()), ("4S店", "线上商城"), (0.65, 0.35)),
        )
        insure(ic[ok], _on_day(rng, tk[ok], STORE_PROFILE), iq[ok], amt, "续保", ch)
    # Service-only customers (car bought elsewhere) sometimes move their policy to us.
    so = np.flatnonzero((cu.arche == A_SERVICE) & (rng.random(n) < 0.3))
    t_ren = cu.t0[so] + rng.uniform(20, 365, len(so))
    prem_so = rng.uniform(2000, 8000, len(so))
    for k in range(3):
        tk = t_ren + 365 * k
        ok = tk < limit[so]
        k_ok = int(ok.sum())
        insure(
            so[ok],
            _on_day(rng, tk[ok], STORE_PROFILE),
            np.ones(k_ok),
            prem_so[ok] * 0.95**k,
            "续保",
            _pick(rng, k_ok, ("4S店", "线上商城"), (0.6, 0.4)),
        )

    # Accessories are mostly an add-on to the handover (film, mats, dashcam).
    for p_acc in (np.where(cu.fleet[cc], 0.25, 0.58), np.where(cu.fleet[cc], 0.05, 0.25)):
        ok = rng.random(len(cc)) < p_acc
        k = int(ok.sum())
        name, price = _draw(rng, k, ACCESSORIES)
        c = cc[ok]
        amt = np.round(price * cu.level[c], 0)
        later = rng.random(k) < 0.4
        ta = np.where(
            later,
            _on_day(rng, ct[ok] + rng.uniform(1, 6, k), STORE_PROFILE),
            ct[ok] + rng.uniform(10, 90, k) / 1440,
        )
        keep = ta < H
        lines.add(
            c[keep],
            ta[keep],
            ACC,
            name[keep],
            amt[keep],
            np.ones(int(keep.sum())),
            np.where(cu.fleet[c[keep]], "大客户部", "4S店"),
        )

    # Used cars: a cheaper first deal, then the same service life as anyone else.
    uc = np.flatnonzero(cu.arche == A_USED)
    price = np.round(np.clip(rng.lognormal(np.log(80_000), 0.45, len(uc)), 30_000, 220_000), -2)
    year = rng.integers(2016, 2023, len(uc))
    um = rng.integers(0, len(VEHICLES) - 2, len(uc))
    prod = np.array([f"二手车 {VEHICLES[m][0]} {y}款" for m, y in zip(um, year, strict=True)])
    lines.add(uc, cu.t0[uc], USED, prod, price, np.ones(len(uc)), "4S店")
    ui = uc[rng.random(len(uc)) < 0.5]
    insure(
        ui,
        cu.t0[ui] + 20 / 1440,
        np.ones(len(ui)),
        rng.uniform(1800, 5000, len(ui)),
        "(过户首年)",
        np.full(len(ui), "4S店"),
    )

    # Service visits: personal rhythm with gamma jitter; first service (首保) 2-7 months in.
    buyers = np.flatnonzero(cu.arche != A_PROSPECT)
    t = np.where(
        cu.arche[buyers] == A_SERVICE,
        cu.t0[buyers],
        cu.t0[buyers]
        + cu.rhythm[buyers] * np.sqrt(cu.fleet_size[buyers]) * rng.uniform(0.5, 0.9, len(buyers)),
    )
    mult = np.ones(len(buyers))
    vis_c, vis_t, vis_k = [], [], []
    for k in range(60):
        ok = t < limit[buyers]
        if not ok.any():
            break
        vis_c.append(buyers[ok])
        vis_t.append(t[ok])
        vis_k.append(np.full(int(ok.sum()), k))
        mult = np.where(cu.slowing[buyers] & (t > cu.slow_start[buyers]), mult * 1.6, mult)
        t = t + cu.rhythm[buyers] * rng.gamma(8, 1 / 8, len(buyers)) * mult
    vc, vk = np.concatenate(vis_c), np.concatenate(vis_k)
    vt = np.concatenate(vis_t)
    vt = np.where((vk == 0) & (cu.arche[vc] == A_SERVICE), vt, _on_day(rng, vt, STORE_PROFILE))
    name, price = _draw(rng, len(vc), SERVICES)
    # The first service of a new car (首保) is a cheap fixed-menu job.
    shoubao = (vk == 0) & (cu.arche[vc] == A_NEW) & ~cu.fleet[vc]
    price = np.where(shoubao, rng.uniform(300, 600, len(vc)), price)
    name[shoubao] = "首次保养"
    amt = price * growth(vc, vt)
    amt = np.round(np.clip(amt * np.where(cu.fleet[vc], 1.4, 1.0), 300, 6000), 2)
    lines.add(
        vc,
        vt,
        SVC,
        name,
        amt,
        np.ones(len(vc)),
        _pick(rng, len(vc), ("4S店", "线上商城"), (0.97, 0.03)),
    )
    # Unscheduled repairs (scrapes, flats, dead batteries) arrive at random, off the rhythm.
    repairs = np.array([3, 4, 5, 6, 7])
    t = cu.t0[buyers].copy()
    rate = 0.25 * np.sqrt(cu.fleet_size[buyers]) / 365
    for _ in range(12):
        t = t + rng.exponential(1 / rate)
        ok = t < limit[buyers]
        c, k = buyers[ok], int(ok.sum())
        name, price = _draw(rng, k, SERVICES, repairs)
        tt = _on_day(rng, t[ok], STORE_PROFILE)
        lines.add(
            c,
            tt,
            SVC,
            name,
            np.round(np.clip(price * growth(c, tt), 300, 6000), 2),
            np.ones(k),
            "4S店",
        )
    # Growers also pick up accessories while the car is in the workshop.
    ok = rng.random(len(vc)) < np.where(cu.trend[vc] > 0.25, 0.16, 0.08)
    k = int(ok.sum())
    name, price = _draw(rng, k, ACCESSORIES)
    online = rng.random(k) < 0.4
    ta = np.where(online, vt[ok] + rng.uniform(1, 30, k), vt[ok] + rng.uniform(5, 40, k) / 1440)
    ta = np.where(online, np.floor(ta) + _tod(rng, k, *LEAD_PROFILE), ta)
    keep = ta < limit[vc[ok]]
    c = vc[ok]
    amt = np.round(price * growth(c, ta), 0)
    lines.add(
        c[keep],
        ta[keep],
        ACC,
        name[keep],
        amt[keep],
        np.ones(int(keep.sum())),
        np.where(online, "线上商城", "4S店")[keep],
    )

    # Some customers also shop the online mall now and then (car-care, gadgets).
    shop = buyers[rng.random(len(buyers)) < 0.4]
    t = cu.t0[shop] + 20
    for _ in range(8):
        t = t + rng.exponential(365 / 0.8, len(shop))
        ok = t < limit[shop]
        c, k = shop[ok], int(ok.sum())
        name, price = _draw(rng, k, ACCESSORIES)
        tt = np.floor(t[ok]) + _tod(rng, k, *LEAD_PROFILE)
        lines.add(
            c,
            tt,
            ACC,
            name,
            np.round(price * growth(c, tt), 0),
            np.ones(k),
            "线上商城",
        )

    df = lines.frame()
    df = df[df["t"] < H].copy()
    df["t"] = _minute(df["t"].to_numpy())
    lo_r, hi_r = np.array([COST_RATIO[c] for c in df["cat"]]).T
    df["cost"] = np.round(df["amount"].to_numpy() * rng.uniform(lo_r, hi_r), 2)
    df = df.sort_values(["t", "cust", "cat", "product"], kind="mergesort").reset_index(drop=True)
    return df


# ---------------------------------------------------------------- complaints


def _complaints(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    o_t = orders["t"].to_numpy()
    o_cat = orders["cat"].to_numpy()
    o_c = orders["cust"].to_numpy()
    o_w = np.array([TRIGGER_WEIGHT[c] for c in o_cat])
    parts_ok = np.isin(o_cat, (SVC, ACC))

    # Complaints grow with the business but sublinearly: a bigger base, a more practised desk.
    vol = np.histogram(o_t, bins=ctx.bounds)[0].astype(float)
    lam = vol**0.45
    lam *= N_COMPLAINTS / lam.sum()
    # Less noise than Poisson on purpose: the demo should show ONE spike, not random look-alikes.
    n_m = np.round(lam * rng.normal(1, 0.06, N_MONTHS)).astype(int)
    t = np.concatenate(
        [
            ctx.bounds[m] + np.floor(rng.random(k) * (ctx.bounds[m + 1] - ctx.bounds[m]))
            for m, k in enumerate(n_m)
        ]
    )
    t = _on_day(rng, t, COMPLAINT_PROFILE)

    def trigger(times: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        out = np.full(len(times), -1)
        for i, ti in enumerate(times):
            lo, hi = np.searchsorted(o_t, [ti - 40, ti])
            if hi == 0:
                continue
            w = o_w[lo:hi] * np.exp(-(ti - o_t[lo:hi]) / 15)
            if mask is not None:
                w = w * mask[lo:hi]
            if w.sum() <= 0:
                continue
            out[i] = lo + rng.choice(hi - lo, p=w / w.sum())
        return out

    trig = trigger(t, None)
    t, trig = t[trig >= 0], trig[trig >= 0]
    cat_p = np.array([TRIGGER_CAT_P[c] for c in o_cat[trig]])
    cat = np.asarray(COMPLAINT_CATS)[_choice_rows(rng, cat_p)]

    # The parts shortage: two weeks in March 2026 where 配件缺货 runs at three times its rate.
    s0 = float((dt.date(2026, 3, 2) - ctx.start).days)
    if not 60 <= s0 <= H - 30:
        s0 = float(np.floor(H - 243))
    parts = cat == "配件缺货"
    inside = parts & (t >= s0) & (t < s0 + 14)
    around = parts & (t >= s0 - 90) & (t < s0 + 104) & ~inside
    # Top up so the window holds 3x the usual two-week count, whatever the baseline draw was.
    n_extra = max(0, round(3.0 * int(around.sum()) / 180 * 14) - int(inside.sum()))
    te = _on_day(rng, s0 + np.floor(rng.random(n_extra) * 14), COMPLAINT_PROFILE)
    trig_e = trigger(te, parts_ok.astype(float))
    te, trig_e = te[trig_e >= 0], trig_e[trig_e >= 0]
    spike = np.r_[np.zeros(len(t), bool), np.ones(len(te), bool)]
    t = np.r_[t, te]
    trig = np.r_[trig, trig_e]
    cat = np.r_[cat, np.full(len(te), "配件缺货")]
    n = len(t)

    channel = _pick(rng, n, ("电话", "微信", "到店", "12315"), (0.45, 0.3, 0.2, 0.05))
    hot = channel == "12315"  # going to the regulator means it is already serious
    sev = np.where(
        hot,
        _pick(rng, n, ("高", "中", "低"), (0.5, 0.4, 0.1)),
        _pick(rng, n, ("高", "中", "低"), (0.15, 0.5, 0.35)),
    )
    sev = np.where(spike & (sev == "低"), "中", sev)
    handler = rng.integers(0, len(SERVICE_DESK), n)
    # Some agents are just slower; scaled to mean 1 so the desk as a whole keeps its SLA level.
    speed = rng.uniform(0.75, 1.4, len(SERVICE_DESK))
    speed = (speed / speed.mean())[handler]
    sev_i = pd.Series(sev).map({"高": 0, "中": 1, "低": 2}).to_numpy()
    acc_med = np.array([0.5, 1.5, 3.0])[sev_i]  # hours; urgent cases jump the queue
    res_med = np.array([14.0, 20.5, 25.0])[sev_i]
    # Lognormal stage delays with a fat tail: most close in a day or two, some drag for a week+.
    accepted = _business(rng, t + rng.lognormal(np.log(acc_med), 0.9) * speed / 24)
    res_h = rng.lognormal(np.log(res_med), 0.5, n) * speed
    res_h *= np.where(rng.random(n) < 0.05, rng.uniform(2.5, 8, n), 1.0)
    res_h *= np.where(spike, rng.uniform(1.5, 3.5, n), 1.0)  # waiting for the parts to arrive
    handled = _business(rng, accepted + res_h / 24)
    feedback = _business(rng, handled + rng.lognormal(np.log(4), 0.8, n) / 24)
    closed = _business(rng, feedback + rng.lognormal(np.log(20), 0.8, n) / 24)
    accepted, handled, feedback, closed = (
        _minute(x) for x in (accepted, handled, feedback, closed)
    )
    t = _minute(t)
    # Anything past the export date has not happened yet.
    accepted = np.where(accepted < H, accepted, np.nan)
    handled = np.where((handled < H) & ~np.isnan(accepted), handled, np.nan)
    feedback = np.where((feedback < H) & ~np.isnan(handled), feedback, np.nan)
    closed = np.where((closed < H) & ~np.isnan(feedback), closed, np.nan)
    is_closed = ~np.isnan(closed)
    status = np.where(is_closed, "已结案", np.where(np.isnan(accepted), "待受理", "处理中"))
    # Agents sometimes close a ticket without logging the callback step.
    feedback = np.where(is_closed & (rng.random(n) < 0.03), np.nan, feedback)

    hours = (np.where(np.isnan(handled), H, handled) - t) * 24
    breach = hours > SLA_HOURS
    comp_p = np.where(
        np.isin(cat, ("维修质量", "交车延迟", "价格争议", "保险理赔")),
        np.where(sev == "高", 0.5, 0.2),
        0.03,
    )
    has_comp = is_closed & (rng.random(n) < comp_p)
    comp = np.where(
        has_comp, np.round(np.clip(rng.lognormal(np.log(600), 0.8, n), 100, 20000), -1), 0.0
    )
    comp = np.where(is_closed, comp, np.nan)
    # Slow fixes sour the score; money and a low-stakes issue soften it.
    sat = (
        4.4
        - 0.8 * np.log(np.clip((handled - t), 0.25, None))
        - np.array([0.5, 0.2, 0.0])[sev_i]
        + 0.4 * has_comp
        + rng.normal(0, 0.7, n)
    )
    sat = np.clip(np.round(sat), 1, 5)
    sat = np.where(is_closed & (rng.random(n) < 0.9), sat, np.nan)

    cust = o_c[trig].astype(float)
    # Anonymous hotline and regulator cases often cannot be tied to a customer file.
    cust = np.where(rng.random(n) < np.where(hot, 0.3, 0.012), np.nan, cust)
    df = pd.DataFrame(
        {
            "t": t,
            "cust": cust,
            "cat": cat,
            "channel": channel,
            "severity": sev,
            "handler": np.asarray(SERVICE_DESK)[handler],
            "accepted": accepted,
            "handled": handled,
            "feedback": feedback,
            "closed": closed,
            "satisfaction": sat,
            "compensation": comp,
            "status": status,
            "breach": breach,
            "spike": spike,
        }
    )
    return df.sort_values(["t", "cat"], kind="mergesort").reset_index(drop=True)


def _leave_after_complaints(ctx: _Ctx, cu: _Customers, comp: pd.DataFrame) -> np.ndarray:
    """A blown SLA sends customers to the dealer down the road far more often than a quick fix."""
    rng = ctx.rng
    leave = np.full(cu.n, np.inf)
    has = comp["cust"].notna().to_numpy()
    c = comp["cust"].to_numpy()[has].astype(int)
    p = np.where(comp["breach"].to_numpy()[has], 0.45, 0.08)
    go = rng.random(len(c)) < p
    when = comp["t"].to_numpy()[has] + rng.uniform(0, 10, len(c))
    np.minimum.at(leave, c[go], when[go])
    return leave


def _returns(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    """~2% of lines are returns: mostly accessories and cancelled policies, almost never a car."""
    rng, H = ctx.rng, ctx.horizon
    w = orders["cat"].map({ACC: 10.0, INS: 2.5, SVC: 0.8, USED: 0.5, NEW: 0.12}).to_numpy()
    w = w * (orders["t"].to_numpy() < H - 2)
    k = round(0.02 * len(orders) / 0.98)
    idx = np.sort(rng.choice(len(orders), size=k, replace=False, p=w / w.sum()))
    ret = orders.iloc[idx].copy()
    t0 = ret["t"].to_numpy()
    tr = t0 + rng.lognormal(np.log(6), 0.8, k)
    tr = np.where(tr < H, tr, t0 + (H - t0) * rng.uniform(0.3, 0.9, k))
    ret["t"] = _minute(np.maximum(_on_day(rng, tr, STORE_PROFILE), t0 + 1 / 24))
    ret = ret[ret["t"] < H]
    for col in ("amount", "qty", "cost"):
        ret[col] = -ret[col]
    ret["status"] = "退货"
    orders = orders.assign(status="已完成")
    out = pd.concat([orders, ret], ignore_index=True)
    return out.sort_values(["t", "cust", "cat", "status"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------- leads


def _leads(ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    # Won leads are the pre-history of real car buyers, so the funnel and the orders agree.
    elig = np.flatnonzero((cu.arche == A_NEW) & (cu.t0 >= 10))
    src_w = {
        "网络线索": 1.0,
        "车展": 0.9,
        "电话营销": 0.7,
        "二手车置换": 0.5,
        "展厅到店": 0.45,
        "老客户推荐": 0.3,
    }
    w = np.array([src_w[s] for s in cu.source[elig]])
    n_won = round(N_LEADS * 0.205)
    won_c = np.sort(rng.choice(elig, size=n_won, replace=False, p=w / w.sum()))
    g_won = _pick(rng, n_won, np.arange(4), (0.35, 0.40, 0.20, 0.05))
    d_won = rng.lognormal(np.log(np.array([6.0, 14.0, 24.0, 35.0])[g_won]), 0.7)
    won_close = _minute(cu.t0[won_c] - rng.uniform(0, 120, n_won) / 1440)
    won_created = _minute(np.floor(won_close - d_won) + _tod(rng, n_won, *LEAD_PROFILE))
    won_created = np.minimum(won_created, won_close - 1 / 24)

    # Lost and open leads: H leads rarely die, C leads mostly do (grade mix differs by outcome).
    m = N_LEADS - n_won
    g = _pick(rng, m, np.arange(4), (0.06, 0.25, 0.39, 0.30))
    created = _minute(_arrival_days(ctx, m, growth=0.15) + _tod(rng, m, *LEAD_PROFILE))
    d_loss = rng.lognormal(np.log(np.array([10.0, 18.0, 28.0, 40.0])[g]), 0.8)
    closed = created + d_loss
    stuck = rng.random(m) < 0.05  # zombie leads nobody ever closed
    open_ = stuck | (closed >= H)
    last = np.where(stuck, created + d_loss * rng.uniform(0.2, 0.8, m), np.minimum(closed, H))
    last = np.minimum(last, H - 1 / 1440)
    age = last - created
    progress = np.clip(age / d_loss, 0, 1) * np.array([1.3, 1.1, 0.9, 0.7])[g]
    st_i = np.clip(np.floor(progress * 4 * rng.uniform(0.5, 1.2, m)), 0, 3).astype(int)
    stage = np.where(open_, np.asarray(STAGES)[st_i], "战败")
    changed = np.where(
        open_, np.where(st_i == 0, created, created + age * rng.uniform(0.3, 1, m)), closed
    )
    owner_w = rng.uniform(0.6, 1.6, len(OWNERS))
    vw = np.array([v[4] for v in VEHICLES])
    model = _pick(rng, m, np.arange(len(VEHICLES)), vw)
    mid = np.array([(v[2] + v[3]) / 2 for v in VEHICLES])
    fleet_lead = rng.random(m) < 0.05
    qty = np.where(fleet_lead, rng.integers(2, 13, m), 1)
    amount = np.round(mid[model] * rng.uniform(0.92, 1.05, m) * qty, -2)

    df = pd.DataFrame(
        {
            "created": np.r_[won_created, created],
            "stage": np.r_[np.full(n_won, "成交"), stage],
            "source": np.r_[
                cu.source[won_c], _pick(rng, m, SOURCES, (0.18, 0.5, 0.05, 0.1, 0.12, 0.05))
            ],
            "grade": np.asarray(GRADES)[np.r_[g_won, g]],
            "amount": np.r_[
                np.round(cu.first_amount[won_c] * rng.uniform(0.97, 1.05, n_won), -2), amount
            ],
            "owner": np.r_[cu.owner[won_c], _pick(rng, m, np.arange(len(OWNERS)), owner_w)],
            "model": np.r_[cu.first_model[won_c], model],
            "changed": _minute(np.r_[won_close, changed]),
            "closed": _minute(np.r_[won_close, np.where(open_, np.nan, closed)]),
            "outcome": np.r_[np.full(n_won, "赢单"), np.where(open_, "", "输单")],
            "cust": np.r_[won_c, np.full(m, -1)],
            "follow_until": _minute(np.r_[won_close, np.where(stuck, last, np.minimum(closed, H))]),
        }
    )
    return df.sort_values(["created", "cust"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------- interactions


def _interactions(
    ctx: _Ctx,
    cu: _Customers,
    created: np.ndarray,
    orders: pd.DataFrame,
    comp: pd.DataFrame,
    leads: pd.DataFrame,
) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    # A few consultants are sloppy: late handover calls, thin lead follow-up.
    lax = np.zeros(len(OWNERS), dtype=bool)
    lax[rng.choice(len(OWNERS), size=4, replace=False)] = True
    discipline = np.where(
        lax, rng.uniform(1.8, 2.6, len(OWNERS)), rng.uniform(0.85, 1.2, len(OWNERS))
    )
    parts: list[pd.DataFrame] = []

    def add(
        cust: np.ndarray,
        t: np.ndarray,
        kind: np.ndarray | str,
        who: np.ndarray | str,
        outcome: np.ndarray | str,
        purpose: str,
        lead: np.ndarray | str = "",
    ) -> None:
        k = len(t)
        parts.append(
            pd.DataFrame(
                {
                    "cust": np.asarray(cust, dtype=float),
                    "t": np.asarray(t, dtype=float),
                    "kind": np.broadcast_to(np.asarray(kind, dtype=object), k),
                    "who": np.broadcast_to(np.asarray(who, dtype=object), k),
                    "outcome": np.broadcast_to(np.asarray(outcome, dtype=object), k),
                    "purpose": purpose,
                    "lead": np.broadcast_to(np.asarray(lead, dtype=object), k),
                }
            )
        )

    res3 = ("成功", "未接通", "再次跟进")
    # 交车回访: the house rule is a call within 24 h; lax owners slip to 1-3 days or forget.
    cars = orders[(orders["cat"] == NEW) & (orders["status"] != "退货")]
    c = cars["cust"].to_numpy()
    o = cu.owner[c]
    u = rng.random(len(c))
    p_in, p_late = np.where(lax[o], 0.55, 0.88), np.where(lax[o], 0.30, 0.09)
    keep = u < p_in + p_late
    handover = cars["t"].to_numpy()
    day, tod = np.floor(handover), handover - np.floor(handover)
    # On time = next working morning/afternoon, before the hour of the handover (< 24 h).
    soon = day + 1 + rng.uniform(9 / 24, np.clip(tod, 9.25 / 24, 20.5 / 24))
    # Late = a day or two later at any office hour, forced into the 24-72 h band.
    late = day + rng.integers(1, 3, len(c)) + _tod(rng, len(c), *CALL_PROFILE)
    late = np.where(late - handover <= 1, late + 1, late)
    t = np.where(u < p_in, soon, late)
    kind = np.where(
        cu.fleet[c] & (rng.random(len(c)) < 0.3),
        "上门",
        _pick(rng, len(c), ("电话", "微信"), (0.9, 0.1)),
    )
    add(
        c[keep],
        t[keep],
        kind[keep],
        np.asarray(OWNERS)[o][keep],
        _pick(rng, len(c), res3, (0.75, 0.2, 0.05))[keep],
        "交车回访",
    )

    # 保养提醒 before a visit, and repeated reminders to customers overdue against their rhythm.
    svc = orders[(orders["cat"] == SVC) & (orders["status"] != "退货")]
    sc, st = svc["cust"].to_numpy(), svc["t"].to_numpy()
    ok = rng.random(len(sc)) < 0.6
    tr = _business(
        rng,
        np.floor(st[ok] - rng.uniform(2, 10, int(ok.sum())))
        + _tod(rng, int(ok.sum()), *STORE_PROFILE),
        9,
        20,
    )
    k = int(ok.sum())
    add(
        sc[ok],
        tr,
        _pick(rng, k, ("电话", "微信", "短信"), (0.6, 0.25, 0.15)),
        _pick(rng, k, SERVICE_ADVISORS, np.ones(len(SERVICE_ADVISORS))),
        _pick(rng, k, res3, (0.7, 0.2, 0.1)),
        "保养提醒",
    )
    last = svc.groupby("cust")["t"].max()
    lc, lt = last.index.to_numpy(), last.to_numpy()
    due = lt + cu.rhythm[lc]
    for j in range(3):
        tj = due + 7 + 30 * j + rng.uniform(-3, 3, len(lc))
        ok = tj < H
        k = int(ok.sum())
        add(
            lc[ok],
            _on_day(rng, tj[ok], STORE_PROFILE),
            _pick(rng, k, ("电话", "微信", "短信"), (0.6, 0.25, 0.15)),
            _pick(rng, k, SERVICE_ADVISORS, np.ones(len(SERVICE_ADVISORS))),
            _pick(rng, k, res3, (0.15, 0.5, 0.35)),
            "保养提醒",
        )

    # 线索跟进: cadence by grade, stretched by the owner's discipline, until the lead ends.
    lg = leads["grade"].map({g: i for i, g in enumerate(GRADES)}).to_numpy()
    lo = leads["owner"].to_numpy().astype(int)
    disc = discipline[lo]
    n_l = len(leads)
    first = (
        leads["created"].to_numpy()
        + rng.lognormal(np.log(np.array([0.5, 2.0, 6.0, 20.0])[lg]), 0.8) * disc / 24
    )
    steps = rng.gamma(4, 0.25, (n_l, 40)) * (FOLLOW_UP_DAYS[lg] * disc)[:, None]
    steps[:, 0] = 0
    times = first[:, None] + steps.cumsum(axis=1)
    until = np.minimum(leads["follow_until"].to_numpy(), H)[:, None]
    mask = (times < until) | (np.arange(40)[None, :] == 0) & (times < H)
    li, _ = np.nonzero(mask)
    step = np.broadcast_to(np.arange(40), times.shape)[mask]
    tl = times[mask]
    # Only the first touch races the clock; later ones land at normal calling hours.
    tl = np.where(step == 0, _business(rng, tl, 9, 21), _on_day(rng, tl, CALL_PROFILE))
    k = len(li)
    lead_ids = _ids("L", 6, n_l)
    lcust = leads["cust"].to_numpy()[li]
    add(
        np.where(lcust >= 0, lcust, np.nan),
        tl,
        _pick(rng, k, ("电话", "微信", "到店", "短信"), (0.6, 0.28, 0.08, 0.04)),
        np.asarray(OWNERS)[lo[li]],
        _pick(rng, k, res3, (0.55, 0.25, 0.2)),
        "线索跟进",
        lead_ids[li],
    )

    # 投诉回访: the desk calls back after closing a case.
    cl = comp[comp["closed"].notna() & comp["cust"].notna()]
    ok = rng.random(len(cl)) < 0.75
    k = int(ok.sum())
    add(
        cl["cust"].to_numpy()[ok],
        _on_day(rng, cl["closed"].to_numpy()[ok] + rng.uniform(1, 5, k), CALL_PROFILE),
        _pick(rng, k, ("电话", "微信"), (0.8, 0.2)),
        cl["handler"].to_numpy()[ok],
        _pick(rng, k, res3, (0.7, 0.2, 0.1)),
        "投诉回访",
    )

    # 生日关怀: scheduled morning messages to private customers still on the books.
    ind = np.flatnonzero(cu.ctype == "个人")
    bday = rng.integers(0, 365, len(ind))
    y0 = ctx.start.year
    for y in range(y0, y0 + 4):
        tb = (dt.date(y, 1, 1) - ctx.start).days + bday + _tod(rng, len(ind), 9, (6, 3))
        ok = (
            (tb >= created[ind])
            & (tb < H)
            & (tb < cu.active_until[ind] + 180)
            & (rng.random(len(ind)) < 0.5)
        )
        k = int(ok.sum())
        add(
            ind[ok],
            tb[ok],
            _pick(rng, k, ("短信", "微信", "电话"), (0.55, 0.4, 0.05)),
            np.asarray(OWNERS)[cu.owner[ind[ok]]],
            _pick(rng, k, res3, (0.9, 0.08, 0.02)),
            "生日关怀",
        )

    df = pd.concat(parts, ignore_index=True)
    df["t"] = _minute(df["t"].to_numpy())
    cust = df["cust"].to_numpy()
    known = ~np.isnan(cust)
    after = np.ones(len(df), dtype=bool)
    after[known] = df["t"].to_numpy()[known] >= created[cust[known].astype(int)]
    df = df[(df["t"] < H) & after]
    return df.sort_values(["t", "purpose", "lead", "cust"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------- assembly


def build(seed: int = DEFAULT_SEED, end_date: dt.date = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """All demo tables as string frames with their Chinese export headers."""
    ctx = _context(seed, end_date)
    cu = _customers(ctx)
    names = _names(ctx, cu)
    orders = _orders(ctx, cu)
    comp = _complaints(ctx, orders)
    leave = _leave_after_complaints(ctx, cu, comp)
    orders = orders[orders["t"].to_numpy() <= leave[orders["cust"].to_numpy()]]
    cu.active_until = np.minimum(cu.active_until, leave)
    orders = _returns(ctx, orders)
    leads = _leads(ctx, cu)

    # 建档时间: at the first lead for lead-born customers, else at (or before) the first visit.
    rng = ctx.rng
    same_visit = rng.random(cu.n) < 0.5
    created = np.where(
        same_visit,
        cu.t0 - rng.uniform(10, 180, cu.n) / 1440,
        _on_day(rng, cu.t0 - rng.uniform(1, 30, cu.n), STORE_PROFILE),
    )
    created = np.where(cu.arche == A_PROSPECT, cu.t0, created)
    won = leads["cust"].to_numpy() >= 0
    created[leads["cust"].to_numpy()[won]] = leads["created"].to_numpy()[won]
    created = _minute(created)
    inter = _interactions(ctx, cu, created, orders, comp, leads)

    order_c = np.argsort(created, kind="mergesort")
    cid = np.empty(cu.n, dtype=object)
    cid[order_c] = _ids("C", 5, cu.n)

    def cust_ids(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.full(len(x), "", dtype=object)
        ok = ~np.isnan(x) & (x >= 0)
        out[ok] = cid[x[ok].astype(int)]
        return out

    start = ctx.start
    customers = pd.DataFrame(
        {
            "客户编号": cid[order_c],
            "客户名称": names[order_c],
            "建档时间": _fmt_ts(start, created[order_c]),
            "客户来源": cu.source[order_c],
            "区域": np.asarray(REGIONS)[cu.region[order_c]],
            "客户类型": cu.ctype[order_c],
            "销售顾问": np.asarray(OWNERS)[cu.owner[order_c]],
        }
    )
    orders_out = pd.DataFrame(
        {
            "订单编号": _ids("SO", 7, len(orders)),
            "客户编号": cust_ids(orders["cust"].to_numpy()),
            "下单时间": _fmt_ts(start, orders["t"].to_numpy()),
            "实付金额": _fmt_money(orders["amount"].to_numpy()),
            "商品名称": orders["product"].to_numpy(),
            "品类": orders["cat"].to_numpy(),
            "销售渠道": orders["channel"].to_numpy(),
            "数量": _fmt_int(orders["qty"].to_numpy()),
            "成本": _fmt_money(orders["cost"].to_numpy()),
            "订单状态": orders["status"].to_numpy(),
        }
    )
    complaints_out = pd.DataFrame(
        {
            "投诉编号": _ids("TS", 6, len(comp)),
            "客户编号": cust_ids(comp["cust"].to_numpy()),
            "投诉时间": _fmt_ts(start, comp["t"].to_numpy()),
            "投诉类别": comp["cat"].to_numpy(),
            "投诉渠道": comp["channel"].to_numpy(),
            "严重程度": comp["severity"].to_numpy(),
            "处理人": comp["handler"].to_numpy(),
            "受理时间": _fmt_ts(start, comp["accepted"].to_numpy()),
            "处理完成时间": _fmt_ts(start, comp["handled"].to_numpy()),
            "反馈时间": _fmt_ts(start, comp["feedback"].to_numpy()),
            "结案时间": _fmt_ts(start, comp["closed"].to_numpy()),
            "满意度": _fmt_int(comp["satisfaction"].to_numpy()),
            "赔偿金额": _fmt_money(comp["compensation"].to_numpy()),
            "处理状态": comp["status"].to_numpy(),
        }
    )
    leads_out = pd.DataFrame(
        {
            "线索编号": _ids("L", 6, len(leads)),
            "创建时间": _fmt_ts(start, leads["created"].to_numpy()),
            "销售阶段": leads["stage"].to_numpy(),
            "线索来源": leads["source"].to_numpy(),
            "意向等级": leads["grade"].to_numpy(),
            "预计金额": _fmt_money(leads["amount"].to_numpy()),
            "销售顾问": np.asarray(OWNERS)[leads["owner"].to_numpy().astype(int)],
            "意向车型": np.array([VEHICLES[m][0] for m in leads["model"].to_numpy()]),
            "阶段变更时间": _fmt_ts(start, leads["changed"].to_numpy()),
            "关闭时间": _fmt_ts(start, leads["closed"].to_numpy()),
            "结果": leads["outcome"].to_numpy(),
            "客户编号": cust_ids(leads["cust"].to_numpy()),
            # The consultant's region: a won lead's consultant is its customer's, so the lead's
            # region is the customer's; a lead that never bought still has one.
            "区域": np.asarray(REGIONS)[OWNER_REGION[leads["owner"].to_numpy().astype(int)]],
        }
    )
    inter_out = pd.DataFrame(
        {
            "跟进编号": _ids("I", 7, len(inter)),
            "客户编号": cust_ids(inter["cust"].to_numpy()),
            "跟进时间": _fmt_ts(start, inter["t"].to_numpy()),
            "跟进方式": inter["kind"].to_numpy(),
            "跟进人": inter["who"].to_numpy(),
            "跟进结果": inter["outcome"].to_numpy(),
            "线索编号": inter["lead"].to_numpy(),
            "目的": inter["purpose"].to_numpy(),
        }
    )
    return {
        "customers": customers,
        "orders": orders_out,
        "complaints": complaints_out,
        "leads": leads_out,
        "interactions": inter_out,
        "marketing_spend": _spend(seed, ctx, cu),
    }


# Marketing cost per customer won, by source (yuan): show-room walk-ins cost little beyond the
# store, auto shows and online ads a lot, referrals a gift voucher. Trade-ins (二手车置换) have
# no campaign of their own: no spend row, so the page shows "no spend" for them.
SPEND_PER_CUSTOMER = {
    "展厅到店": 900.0,
    "网络线索": 2600.0,
    "老客户推荐": 500.0,
    "车展": 4200.0,
    "电话营销": 1500.0,
}


def _spend(seed: int, ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    """Monthly marketing spend per source: the customers the source won that month times its
    cost per customer, +/- 25 %, with a floor (campaigns run in quiet months too). Its own random
    stream, so the other tables do not change with it."""
    rng = np.random.default_rng(seed + 1)
    month = np.searchsorted(ctx.bounds, cu.t0, side="right") - 1
    start = np.datetime64(ctx.start, "M")
    rows = []
    for src, cost in SPEND_PER_CUSTOMER.items():
        won = np.bincount(month[(cu.source == src) & (month >= 0)], minlength=N_MONTHS)[:N_MONTHS]
        amount = np.maximum(won, 2) * cost * rng.uniform(0.75, 1.25, N_MONTHS)
        for m in range(N_MONTHS):
            d = (start + m).astype(dt.date)
            rows.append((src, f"{d.year}年{d.month}月", f"¥{amount[m]:,.2f}"))
    return pd.DataFrame(rows, columns=["渠道", "月份", "投放金额"])


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


if __name__ == "__main__":
    print(summary(generate(config.DEMO_DIR)))
