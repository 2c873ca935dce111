"""YAML read as the Pulumi CLI reads `Pulumi.yaml` and stack files: gopkg.in/yaml.v3 v3.0.1.

The CLI decodes both files into Go `any` with yaml.v3 (pulumi/pulumi v3.259.0,
sdk/go/common/encoding/marshal.go; sdk/go.mod pins gopkg.in/yaml.v3 v3.0.1). PyYAML follows YAML
1.1, which reads some plain scalars differently: `yes`, `on`, `off` are booleans there and
strings for the CLI, `1e5` a string there and a float for the CLI, `2025-01-01` a date there and a
timestamp the CLI turns into text. A stack file read with PyYAML would pass values the CLI
refuses (`dbMultiAz: yes` is the string "yes" to the CLI, not a boolean). This loader resolves
plain scalars with the rules of yaml.v3's `resolve` (resolve.go at v3.0.1) and refuses duplicate
keys as its decoder does (decode.go, "mapping key %#v already defined at line %d").
Written from reading that source; not a port of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import yaml

INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
# resolve.go: yamlStyleFloat, the floats a plain scalar starting with a digit or sign may hold.
YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# strconv.ParseInt(s, 0, 64) syntax once underscores are removed: sign, then a 0x / 0o / 0b prefix,
# a leading 0 (octal) or a decimal.
GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
GO_UINT = re.compile(r"(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
# resolve.go: allowedTimestampFormats (time.Parse layouts: 1 or 2 digit month, day, hour, minute,
# second; any number of fraction digits; Z or +hh:mm).
TIMESTAMPS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[+-]\d{2}:\d{2})"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
)
RESOLVE_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}


@dataclass(frozen=True)
class GoTime:
    """A plain scalar yaml.v3 reads as a timestamp (a Go `time.Time`)."""

    moment: datetime
    nanos: int

    def go_string(self) -> str:
        """Go's `time.Time.String()`, which a stack value holding a timestamp becomes
        (sdk/go/common/resource/config/object.go, unmarshalObject: `v.String()`). An offset other
        than zero prints as Go's fabricated zone when the machine's zone is UTC."""
        m = self.moment
        text = m.strftime("%Y-%m-%d %H:%M:%S")
        if self.nanos:
            text += "." + f"{self.nanos:09d}".rstrip("0")
        offset = m.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        return f"{text} {zone} {'UTC' if self.moment.tzinfo is UTC else zone}"

    def rfc3339(self) -> str:
        """What encoding/json writes for a `time.Time` (RFC 3339 with nanoseconds)."""
        m = self.moment
        text = m.strftime("%Y-%m-%dT%H:%M:%S")
        if self.nanos:
            text += "." + f"{self.nanos:09d}".rstrip("0")
        offset = m.utcoffset() or timedelta(0)
        if self.moment.tzinfo is UTC:
            return text + "Z"
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _timestamp(text: str) -> GoTime | None:
    if not re.match(r"\d{4}-", text):  # resolve.go: "all date formats start with YYYY-"
        return None
    for pattern in TIMESTAMPS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        parts = match.groups()
        year, month, day = (int(p) for p in parts[:3])
        hour = minute = second = nanos = 0
        zone: timezone = UTC
        if len(parts) > 3:
            hour, minute, second = (int(p) for p in parts[3:6])
            nanos = int((parts[6] or ".")[1:10].ljust(9, "0"))
            if len(parts) > 7 and parts[7] != "Z":
                sign = -1 if parts[7][0] == "-" else 1
                zone = timezone(sign * timedelta(hours=int(parts[7][1:3]), minutes=int(parts[7][4:6])))
        try:
            return GoTime(datetime(year, month, day, hour, minute, second, tzinfo=zone), nanos)
        except ValueError:  # out of range: time.Parse fails, the next layout is tried
            continue
    return None


def _go_float(text: str) -> float | None:
    value = float(text)
    return None if math.isinf(value) else value  # strconv.ParseFloat: out of range is an error


def resolve_plain(text: str) -> Any:
    """The Go value yaml.v3 decodes a plain (unquoted) scalar into, as Python data."""
    if text in RESOLVE_MAP:
        return RESOLVE_MAP[text]
    hint = text[:1]
    if hint == ".":
        if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text):
            return _go_float(text)
        return text
    if not hint or not ((hint.isdigit() and hint.isascii()) or hint in "+-"):
        return text
    moment = _timestamp(text)
    if moment is not None:
        return moment
    plain = text.replace("_", "")
    match = GO_INT.fullmatch(plain)
    if match:
        number = _go_int(match.group(1), match.group(2))
        if INT64[0] <= number <= INT64[1]:
            return number
    if GO_UINT.fullmatch(plain) and _go_int("", plain) <= UINT64_MAX:
        return _go_int("", plain)
    if YAML_STYLE_FLOAT.fullmatch(plain):
        value = _go_float(plain)
        if value is not None:
            return value
    return text


def _go_int(sign: str, digits: str) -> int:
    prefix = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base:
        number = int(digits[2:], base)
    elif len(digits) > 1 and digits[0] == "0":
        number = int(digits, 8)
    else:
        number = int(digits)
    return -number if sign == "-" else number


class GoYamlLoader(yaml.SafeLoader):
    """A safe loader with yaml.v3's plain-scalar resolution and its duplicate-key error."""

    errors: list[str]


# Every scalar is composed as a string; `_construct_scalar` resolves the plain ones as yaml.v3 does.
GoYamlLoader.yaml_implicit_resolvers = {}
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_scalar(loader: GoYamlLoader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_scalar(node)
    return resolve_plain(value) if node.style is None else value


def _construct_mapping(loader: GoYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        hashable = key.moment if isinstance(key, GoTime) else key
        if isinstance(hashable, list | dict):
            raise yaml.constructor.ConstructorError(None, None, "a map key must be a scalar", key_node.start_mark)
        if hashable in seen and isinstance(key_node, yaml.ScalarNode):
            line = key_node.start_mark.line + 1
            loader.errors.append(
                f"line {line}: mapping key {_go_quote(key_node.value)} already defined at line {seen[hashable]}"
            )
        seen[hashable] = key_node.start_mark.line + 1
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _go_quote(text: str) -> str:
    """Go's `%#v` of a string (a double-quoted Go literal), for the usual printable text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


GoYamlLoader.add_constructor("tag:yaml.org,2002:str", _construct_scalar)
GoYamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


class GoYamlError(ValueError):
    """The text yaml.v3 gives for a file it cannot decode; `type_error` for its *yaml.TypeError
    (returned as is by the CLI's YAML marshaller), else a syntax error (sdk/go/common/encoding
    marshal.go wraps those: "invalid YAML file: %w"). A syntax error reads as yaml.v3 words its
    own, `yaml: line <n>: <problem>` (yaml.go `parser.fail`), with PyYAML's words for the problem;
    `line` and `column` (1-based; 0 when not known) say where it is."""

    def __init__(self, message: str, type_error: bool, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.type_error = type_error
        self.line = line
        self.column = column

    def as_marshaller_error(self) -> str:
        return str(self) if self.type_error else f"invalid YAML file: {self}"


def decode(data: bytes) -> str:
    """A file's bytes as the text yaml.v3 reads: UTF-8, a leading byte order mark dropped (the CLI's
    readFileStripUTF8BOM). Other bytes are refused (yaml.v3's reader: "invalid leading UTF-8 octet"
    and the like), with the line and column of the first."""
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start].removeprefix(b"\xef\xbb\xbf")
        line = before.count(b"\n") + 1
        column = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        raise GoYamlError(
            f"yaml: line {line}: invalid UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8",
            type_error=False,
            line=line,
            column=column,
        ) from None


def load(text: str, duplicates: list[str] | None = None) -> Any:
    """`text` decoded as yaml.v3 decodes it into `any` (timestamps as `GoTime`). A key defined twice
    is refused as yaml.v3 refuses it, unless `duplicates` is given: then its errors are added there
    and the later value kept (to read on and report what else is wrong)."""
    loader = GoYamlLoader(text)
    loader.errors = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = "; ".join(p for p in (err.context, err.problem) if p)
        raise GoYamlError(f"yaml: line {line}: {problem}", type_error=False, line=line, column=column) from None
    except yaml.YAMLError as err:
        raise GoYamlError(f"yaml: {err}", type_error=False) from None
    except RecursionError:  # yaml.v3 reads up to 10,000 levels; the program refuses values past 32
        raise GoYamlError(
            "yaml: the file nests lists or maps too deep to read (the program accepts 32 levels)", type_error=False
        ) from None
    finally:
        loader.dispose()
    if loader.errors and duplicates is not None:
        duplicates.extend(loader.errors)
    elif loader.errors:  # yaml.go: TypeError.Error()
        raise GoYamlError("yaml: unmarshal errors:\n  " + "\n  ".join(loader.errors), type_error=True)
    return data
