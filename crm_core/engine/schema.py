"""The canonical CRM tables: columns, types, required flags and header synonyms (zh + en)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Logical column kinds; ingest knows how to parse each, db.ddl() how to store each.
SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "date": "DATE",
    # A calendar month ("2024/1", "2024-01", "2024年1月"), stored as its first day.
    "month": "DATE",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,4)",
    "number": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    synonyms: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str = ""
    # Columns computed by ingest, not read from a file.
    derived: tuple[Column, ...] = field(default_factory=tuple)
    # At least one of these must be present in the file and non-blank in each row.
    one_of: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.derived

    def column(self, name: str) -> Column:
        for c in self.all_columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


# Buyer keys of shop and ERP exports, for the customer id of customers and orders.
BUYER_IDS = (
    "buyer_id",
    "user_id",
    "客户账号",
    "会员号",
    "会员卡号",
    "买家id",
    "买家编号",
    "买家账号",
    "买家会员名",
    "用户id",
    "用户编号",
)


def C(name: str, kind: str, *synonyms: str, required: bool = False, doc: str = "") -> Column:
    return Column(name, kind, required, (name, *synonyms), doc)


CUSTOMERS = Table(
    "customers",
    key=("customer_id",),
    doc="One row per known customer (or prospect), whether or not they ever bought.",
    columns=(
        C(
            "customer_id",
            "id",
            "customer id",
            "customerid",
            "cust_id",
            "client_id",
            "account_id",
            "member_id",
            "客户编号",
            "客户id",
            "客户代码",
            "客户号",
            "会员编号",
            "会员id",
            "客户编码",
            *BUYER_IDS,
            required=True,
            doc="Customer key, kept as text (001 stays 001).",
        ),
        C(
            "name",
            "text",
            "customer_name",
            "customer",
            "account",
            "account_name",
            "company",
            "full_name",
            "客户名称",
            "客户姓名",
            "客户名",
            "姓名",
            "名称",
            "公司名称",
            "会员名称",
        ),
        C(
            "created_at",
            "timestamp",
            "created",
            "signup_date",
            "registered_at",
            "first_contact",
            "join_date",
            "since",
            "创建时间",
            "建档时间",
            "注册时间",
            "建档日期",
            "注册日期",
            "入会时间",
        ),
        C(
            "source",
            "text",
            "channel",
            "lead_source",
            "acquisition_channel",
            "referral_source",
            "客户来源",
            "来源",
            "渠道",
            "来源渠道",
            "获客渠道",
        ),
        C(
            "region",
            "text",
            "area",
            "territory",
            "state",
            "province",
            "city",
            "country",
            "office",
            "regional_office",
            "地区",
            "区域",
            "大区",
            "省份",
            "城市",
            "所在地区",
        ),
        C(
            "segment",
            "text",
            "type",
            "customer_type",
            "customer_segment",
            "sector",
            "industry",
            "level",
            "客户类型",
            "客户类别",
            "类型",
            "行业",
            "客户等级",
            "客户级别",
        ),
        C(
            "owner",
            "text",
            "sales_rep",
            "salesperson",
            "sales_agent",
            "account_manager",
            "rep",
            "负责人",
            "销售顾问",
            "客户经理",
            "业务员",
            "所属销售",
            "跟进人",
            "销售",
        ),
    ),
)

ORDERS = Table(
    "orders",
    key=("order_id", "line_no"),
    doc=(
        "One row per order line. A plain order export has one line per order (line_no = 1); "
        "a line-item export keeps each invoice line, lines sharing order_id are one order."
    ),
    columns=(
        C(
            "order_id",
            "id",
            "order id",
            "orderid",
            "order_no",
            "order_number",
            "invoice",
            "invoiceno",
            "invoice_no",
            "invoice_number",
            "transaction_id",
            "订单编号",
            "订单号",
            "单号",
            "订单id",
            "发票号",
            "销售单号",
            "单据编号",
            "订单编码",
            "单据号",
            "销售订单号",
            "平台订单号",
            "交易单号",
            "交易号",
            "发票号码",
            "发票编号",
            "开票号",
            "流水号",
            required=True,
        ),
        C(
            "customer_id",
            "id",
            "customerid",
            "customer id",
            "cust_id",
            "client_id",
            "account_id",
            "member_id",
            "客户编号",
            "客户id",
            "客户代码",
            "客户号",
            "会员编号",
            "会员id",
            "客户编码",
            *BUYER_IDS,
            required=True,
        ),
        C(
            "order_date",
            "timestamp",
            "date",
            "order_time",
            "order date",
            "invoicedate",
            "invoice_date",
            "purchase_date",
            "transaction_date",
            "created_at",
            # When a file has several, the earliest here wins: the order's creation before its
            # payment, the document date before its entry date.
            "下单时间",
            "订单日期",
            "下单日期",
            "订单创建时间",
            "创建订单时间",
            "订单时间",
            "成交日期",
            "成交时间",
            "购买日期",
            "购买时间",
            "交易时间",
            "交易日期",
            "销售日期",
            "销售时间",
            "单据日期",
            "业务日期",
            "开票时间",
            "开票日期",
            "发票日期",
            "付款时间",
            "订单付款时间",
            "付款日期",
            "支付时间",
            "制单日期",
            "日期",
            "创建时间",
            required=True,
        ),
        C(
            "amount",
            "money",
            "revenue",
            "total",
            "order_amount",
            "sales",
            "value",
            "net_amount",
            "total_amount",
            "paid",
            "payment",
            "实付金额",
            "订单金额",
            "金额",
            "销售额",
            "成交金额",
            "实收金额",
            "应付金额",
            "总金额",
            "合计金额",
            "付款金额",
            # After 金额: an invoice's 金额 is net of VAT, 价税合计 includes it.
            "买家实付金额",
            "实付款",
            "支付金额",
            "订单总金额",
            "销售金额",
            "商品金额",
            "开票金额",
            "结算金额",
            "应收金额",
            "价税合计",
            "含税金额",
            "总价",
            "小计",
            required=True,
            doc="Line revenue. Derived as quantity x unit_price when the file has no amount.",
        ),
        C(
            "product",
            "text",
            "product_name",
            "item",
            "sku",
            "stockcode",
            "description",
            "商品名称",
            "产品名称",
            "商品",
            "产品",
            "车型",
            "品名",
            "商品名",
            "货品名称",
            "物料名称",
            "存货名称",
        ),
        C(
            "category",
            "text",
            "product_category",
            "product_line",
            "品类",
            "商品类别",
            "产品类别",
            "类别",
            "业务类型",
        ),
        C(
            "channel",
            "text",
            "sales_channel",
            "order_channel",
            "store",
            "销售渠道",
            "下单渠道",
            "门店",
            "店铺",
        ),
        C(
            "quantity",
            "number",
            "qty",
            "units",
            "number_of_items",
            "数量",
            "购买数量",
            "件数",
            "销售数量",
            "商品数量",
            "订购数量",
            "开票数量",
        ),
        C(
            "unit_price",
            "money",
            "unitprice",
            "price",
            "unit price",
            "单价",
            "成交单价",
            "销售单价",
            "商品单价",
            "实际单价",
            "折后单价",
            "含税单价",
        ),
        C("cost", "money", "cogs", "cost_amount", "成本", "成本金额", "进价"),
        C(
            "status",
            "text",
            "order_status",
            "订单状态",
            "交易状态",
            "单据状态",
            "状态",
            doc="Free text; values meaning return/refund/cancel flag the line as a return.",
        ),
    ),
    derived=(
        Column("line_no", "int", doc="Position of the line within its order (1 for plain orders)."),
        Column(
            "is_return",
            "bool",
            doc="Cancellation or return: not a sale; net figures subtract its |amount|.",
        ),
    ),
)

COMPLAINTS = Table(
    "complaints",
    key=("complaint_id",),
    doc="One row per complaint / service ticket, with its handling-stage timestamps.",
    columns=(
        C(
            "complaint_id",
            "id",
            "complaint id",
            "ticket_id",
            "ticket",
            "case_id",
            "case_number",
            "unique_key",
            "id",
            "投诉编号",
            "工单号",
            "工单编号",
            "投诉单号",
            "案件编号",
            "投诉单编号",
            "工单id",
            "工单编码",
            "服务单号",
            required=True,
        ),
        C(
            "received_at",
            "timestamp",
            "date_received",
            "received",
            "created_date",
            "created",
            "opened_at",
            "submitted_at",
            "complaint_date",
            "投诉时间",
            "投诉日期",
            "接收时间",
            "登记时间",
            "创建时间",
            "反映时间",
            "来电时间",
            "工单创建时间",
            "提交时间",
            "登记日期",
            # Last: a file with both headers keeps 受理时间 for accepted_at.
            "受理时间",
            required=True,
        ),
        C(
            "category",
            "text",
            "complaint_type",
            "product",
            "type",
            "issue_type",
            "topic",
            "投诉类别",
            "投诉类型",
            "问题类别",
            "投诉分类",
            "类别",
            required=True,
        ),
        C(
            "customer_id",
            "id",
            "customerid",
            "cust_id",
            "client_id",
            "account_id",
            "客户编号",
            "客户id",
            "客户代码",
            "会员编号",
        ),
        C(
            "subcategory",
            "text",
            "issue",
            "sub_category",
            "descriptor",
            "sub_product",
            "问题描述",
            "子类别",
            "投诉子类",
        ),
        C(
            "channel",
            "text",
            "submitted_via",
            "source",
            "complaint_channel",
            "open_data_channel_type",
            "投诉渠道",
            "投诉途径",
            "渠道",
            "来源",
        ),
        C(
            "severity",
            "text",
            "priority",
            "level",
            "urgency",
            "严重程度",
            "紧急程度",
            "级别",
            "优先级",
        ),
        C("status", "text", "company_response_to_consumer", "处理状态", "状态", "ticket_status"),
        C("owner", "text", "agent", "handler", "assignee", "agency", "处理人", "负责人", "受理人"),
        C(
            "accepted_at",
            "timestamp",
            "accepted",
            "acknowledged_at",
            "date_sent_to_company",
            "受理时间",
            "受理日期",
            "接单时间",
            doc="When the desk took the complaint on: handling starts.",
        ),
        C(
            "handled_at",
            "timestamp",
            "handled",
            "resolved_at",
            "resolution_date",
            "resolution_time",
            "resolution_action_updated_date",
            "处理完成时间",
            "处理完成日期",
            "处理结束时间",
            "解决时间",
            "解决日期",
            "完成时间",
            # Last: where a file also has 处理完成时间, 处理时间 is when handling began.
            "处理时间",
            doc="When handling finished (the resolution; the resolve SLA stops here), "
            "not when it began.",
        ),
        C("feedback_at", "timestamp", "feedback", "responded_at", "反馈时间", "回复时间"),
        C(
            "closed_at",
            "timestamp",
            "closed",
            "closed_date",
            "close_date",
            "结案时间",
            "办结时间",
            "关闭时间",
            "结案日期",
            "关单时间",
            "关闭日期",
            "跟踪时间",
            "回访时间",
        ),
        C(
            "satisfaction",
            "number",
            "csat",
            "satisfaction_score",
            "rating",
            "满意度",
            "满意度评分",
            "客户满意度",
            "回访满意度",
            "评分",
            doc="1-5, 5 = very satisfied.",
        ),
        C(
            "compensation",
            "money",
            "compensation_amount",
            "refund",
            "赔偿金额",
            "补偿金额",
            "赔付金额",
        ),
        C("timely_response", "bool", "timely_response?", "timely", "on_time", "是否及时"),
        C("product", "text", "product_name", "涉及产品", "产品", "车型"),
        C(
            "region",
            "text",
            "area",
            "territory",
            "sales_region",
            "投诉区域",
            "区域",
            "大区",
            "地区",
            "所在地区",
            doc="The complaint's own region; blank = its customer's (the region filter).",
        ),
    ),
)

LEADS = Table(
    "leads",
    key=("lead_id",),
    doc="One row per lead / opportunity at its current stage (a stage-history export has one row "
    "per stage reached, see docs/data-model.md).",
    columns=(
        C(
            "lead_id",
            "id",
            "lead id",
            "opportunity_id",
            "opportunity",
            "deal_id",
            "线索编号",
            "商机编号",
            "线索id",
            "机会编号",
            required=True,
        ),
        C(
            "created_at",
            "timestamp",
            "created",
            "engage_date",
            "created_date",
            "lead_date",
            "创建时间",
            "线索日期",
            "创建日期",
            "登记日期",
            required=True,
        ),
        C(
            "stage",
            "text",
            "deal_stage",
            "status",
            "lead_stage",
            "pipeline_stage",
            "阶段",
            "销售阶段",
            "线索阶段",
            "商机阶段",
            "状态",
            required=True,
        ),
        C(
            "customer_id",
            "id",
            "customerid",
            "account",
            "account_id",
            "客户编号",
            "客户id",
            "客户名称",
        ),
        C(
            "source",
            "text",
            "lead_source",
            "channel",
            "线索来源",
            "来源",
            "渠道",
            "来源渠道",
            "获客渠道",
            "客户来源",
        ),
        C("grade", "text", "rating", "lead_grade", "级别", "线索级别", "意向等级", "客户级别"),
        C(
            "amount",
            "money",
            "close_value",
            "value",
            "deal_value",
            "expected_amount",
            "金额",
            "预计金额",
            "成交金额",
            "商机金额",
        ),
        C(
            "owner",
            "text",
            "sales_agent",
            "sales_rep",
            "salesperson",
            "负责人",
            "销售顾问",
            "跟进人",
            "所属销售",
            "业务员",
            "销售",
        ),
        C("product", "text", "product_name", "意向车型", "意向产品", "产品"),
        C(
            "stage_changed_at",
            "timestamp",
            "stage_date",
            "last_stage_change",
            "阶段变更时间",
            "更新时间",
        ),
        C(
            "closed_at",
            "timestamp",
            "close_date",
            "closed_date",
            "成交日期",
            "关闭时间",
            "结束时间",
        ),
        C("outcome", "text", "result", "won_lost", "结果", "赢单输单"),
        C(
            "region",
            "text",
            "area",
            "territory",
            "sales_region",
            "线索区域",
            "区域",
            "大区",
            "地区",
            "所在地区",
            "省份",
            "城市",
            doc="The lead's own region; blank = its customer's (the region filter).",
        ),
    ),
)

INTERACTIONS = Table(
    "interactions",
    key=("interaction_id",),
    doc="One row per contact with a customer or a lead (call, visit, email ...); each row names "
    "a customer_id, a lead_id or both.",
    one_of=("customer_id", "lead_id"),
    columns=(
        C(
            "customer_id",
            "id",
            "customerid",
            "cust_id",
            "客户编号",
            "客户id",
            doc="Required unless the row names a lead_id.",
        ),
        C(
            "occurred_at",
            "timestamp",
            "date",
            "contact_time",
            "contact_date",
            "activity_date",
            "时间",
            "联系时间",
            "跟进时间",
            "回访时间",
            "拜访时间",
            "跟进日期",
            "拜访日期",
            "联系日期",
            required=True,
        ),
        C(
            "interaction_id",
            "id",
            "activity_id",
            "contact_id",
            "跟进编号",
            "记录编号",
            doc="Optional; generated from the file row when absent.",
        ),
        C(
            "kind",
            "text",
            "type",
            "activity_type",
            "contact_type",
            "method",
            "方式",
            "跟进方式",
            "联系方式",
            "类型",
        ),
        C("owner", "text", "sales_rep", "agent", "负责人", "跟进人", "销售顾问"),
        C("outcome", "text", "result", "结果", "跟进结果"),
        C("lead_id", "id", "opportunity_id", "线索编号", "商机编号"),
        C("purpose", "text", "reason", "topic", "subject", "目的", "事由", "主题"),
    ),
)

MARKETING_SPEND = Table(
    "marketing_spend",
    key=("channel", "month"),
    doc="Optional: marketing spend per acquisition channel and month (the customers' source), "
    "for the Channel return page. One row per channel and month.",
    columns=(
        C(
            "channel",
            "text",
            "source",
            "acquisition_channel",
            "marketing_channel",
            "渠道",
            "来源",
            "客户来源",
            "获客渠道",
            "来源渠道",
            "投放渠道",
            "推广渠道",
            required=True,
            doc="Matched to the customers' source, exactly as written there.",
        ),
        C(
            "month",
            "month",
            "period",
            "spend_month",
            "月份",
            "月",
            "投放月份",
            "年月",
            "统计月份",
            required=True,
            doc="2024-01, 2024/1, 2024年1月 or 202401; a full date counts as its month.",
        ),
        C(
            "amount",
            "money",
            "spend",
            "cost",
            "budget",
            "金额",
            "花费",
            "投放金额",
            "费用",
            "营销费用",
            "推广费用",
            "投放费用",
            "消耗",
            required=True,
            doc="Spend in the month, e.g. ¥1,234.50.",
        ),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (CUSTOMERS, ORDERS, COMPLAINTS, LEADS, INTERACTIONS, MARKETING_SPEND)
}


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


# --------------------------------------------------------------------------- content inference

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


def data_model_markdown() -> str:
    """docs/data-model.md's table reference, generated so the docs cannot drift from the code."""
    lines = []
    for t in TABLES.values():
        lines += [
            f"### `{t.name}`",
            "",
            t.doc,
            "",
            f"Key: `{' + '.join(t.key)}`",
            "",
            "| column | type | required | header synonyms (any case, spaces/_ ignored) |",
            "|---|---|---|---|",
        ]
        for c in t.all_columns:
            syn = ", ".join(s for s in c.synonyms if s != c.name) or "(computed by ingest)"
            note = f" {c.doc}" if c.doc else ""
            lines.append(
                f"| `{c.name}` | {SQL_TYPES[c.kind]} | {'*' if c.required else ''} | "
                f"{syn}{' —' + note if note else ''} |"
            )
        lines.append("")
    return "\n".join(lines)
