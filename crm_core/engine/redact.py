"""Secrets hidden in database URLs and error messages: passwords and tokens become ***."""

from __future__ import annotations

import re
from typing import Any

# Secrets inside a URL or a message: the password of user:password@host, and password=,
# token=, secret=, api_key= (query strings, ;key=value Spark Connect URLs, conninfo strings).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.\-]*://[^/\s:@]*:)[^@\s/]*(?=@)")
_KEY_VALUE = re.compile(
    # `key=value`, `key:value` and `key: "value"`; not prose such as "password: at least 8 …".
    r"(?P<head>\b(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)"
    r"['\"]?(?:\s*=\s*|:(?=\S)|:\s*(?=['\"]))"
    r")"
    r"(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|[^'\";&\s)]+)",
    re.IGNORECASE,
)
MASK = "***"


def redact(text: Any) -> str:
    """`text` (a database URL, or a message that may quote one) with every password and token
    replaced by ***: postgresql://u:***@h/db, sc://h:15002/;token=***, ?password=***."""
    s = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, str(text))
    return _KEY_VALUE.sub(lambda m: m.group("head") + _quoted(m, MASK), s)


def _quoted(m: re.Match[str], value: str) -> str:
    if m.group("sq") is not None:
        return f"'{value}'"
    return f'"{value}"' if m.group("dq") is not None else value
