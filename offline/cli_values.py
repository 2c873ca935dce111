"""Config values, types and errors as the Pulumi CLI has them (pulumi/pulumi v3.259.0).

config.Value (sdk/go/common/resource/config/value.go, object.go): what a stack file's value becomes,
and the text the program receives; `createConfigValue` (pkg/workspace/config.go) for a project
default; `ValidateConfigValue` and `InferFullTypeName` (sdk/go/common/workspace/project.go) for the
declared types; and the Go behaviours they rest on (encoding/json's text, `%v` of a map key). Sources
and scope: offline/pulumi_cli.py.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from config.errors import ConfigError
from offline import go_yaml

INT64_MIN, INT64_MAX = go_yaml.INT64
GO_ATOI = re.compile(r"[+-]?[0-9]+")


class CliConfigError(ConfigError):
    """What the Pulumi CLI would refuse before the program runs: its own message, and the key at
    fault; for a file it cannot read, the `line` and `column` of the problem (1-based; 0: not known)."""

    def __init__(self, key: str, message: str, line: int = 0, column: int = 0) -> None:
        ValueError.__init__(self, message)
        self.key = key
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Secure:
    """`{secure: <ciphertext>}` in a stack file (object.go `isSecureValue`: a map of one string key `secure`)."""

    ciphertext: str


@dataclass(frozen=True)
class ConfigValue:
    """A config.Value: its text, whether it holds a secret, whether it is an object (JSON text)."""

    text: str
    secure: bool = False
    object: bool = False


def go_float(number: float) -> str:
    """encoding/json's text of a float64 ('f' form, shortest digits; 'e' below 1e-6 or from 1e21)."""
    if not math.isfinite(number):
        raise ValueError(f"json: unsupported value: {_go_float_name(number)}")
    shortest = Decimal(repr(number)).normalize()
    if number == 0 or 1e-6 <= abs(number) < 1e21:
        text = format(shortest, "f")
        return "-0" if text == "0" and math.copysign(1, number) < 0 else text
    text = _e_form(shortest)
    return re.sub(r"e-0(\d)$", r"e-\1", text)  # encoding/json: "clean up e-09 to e-9"


def _e_form(shortest: Decimal) -> str:
    """strconv's 'e' form with the fewest digits: d.ddde+XX, at least two exponent digits."""
    sign, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    power = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"


def go_g(number: float) -> str:
    """Go's `%v` of a float64 (strconv 'g', shortest: the 'e' form from an exponent of 6 or below -4)."""
    if not math.isfinite(number):
        return _go_float_name(number)
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    shortest = Decimal(repr(number)).normalize()
    power = shortest.adjusted()
    return _e_form(shortest) if power < -4 or power >= 6 else format(shortest, "f")


def _go_float_name(number: float) -> str:
    return "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")


def go_json(value: Any) -> str:
    """encoding/json.Marshal of decoded YAML: map keys sorted, no spaces, <, > and & escaped."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(char, escape)
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if isinstance(value, go_yaml.GoTime):
        return go_json(value.rfc3339())
    if isinstance(value, Secure):
        return go_json({"secure": value.ciphertext})
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(k)}:{go_json(value[k])}" for k in sorted(value)) + "}"
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _stack_object(raw: Any) -> Any:
    """object.go `unmarshalObject`: secure maps found, map keys made strings, timestamps made text."""
    if isinstance(raw, dict):
        if len(raw) == 1 and isinstance(raw.get("secure"), str):
            return Secure(raw["secure"])
        return {_go_key(k): _stack_object(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_stack_object(v) for v in raw]
    if isinstance(raw, go_yaml.GoTime):
        return raw.go_string()
    return raw


def _go_key(key: Any) -> str:
    """A map key as `fmt.Sprintf("%v", k)` writes it."""
    if key is True or key is False:
        return "true" if key else "false"
    if key is None:
        return "<nil>"
    if isinstance(key, float):
        return go_g(key)
    if isinstance(key, go_yaml.GoTime):
        return key.go_string()
    return str(key)


def _secure_anywhere(value: Any) -> bool:
    if isinstance(value, Secure):
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_secure_anywhere(v) for v in children)


def stack_value(raw: Any) -> ConfigValue:
    """The config.Value of a value a stack file holds (object.go `MarshalString`)."""
    obj = _stack_object(raw)
    if isinstance(obj, bool | int | float):
        return ConfigValue(go_json(obj))
    if isinstance(obj, str):
        return ConfigValue(obj)
    if isinstance(obj, Secure):
        return ConfigValue(obj.ciphertext, secure=True)
    return ConfigValue(go_json(obj), secure=_secure_anywhere(obj), object=True)


def default_value(raw: Any) -> ConfigValue:
    """pkg/workspace/config.go `createConfigValue`: a string, int or bool default is its `%v` text,
    anything else (lists, maps, floats) JSON text marked as an object."""
    if isinstance(raw, str):
        return ConfigValue(raw)
    if isinstance(raw, bool):
        return ConfigValue("true" if raw else "false")
    if isinstance(raw, int) and INT64_MIN <= raw <= INT64_MAX:  # Go `int`; a larger uint64 is not primitive
        return ConfigValue(str(raw))
    return ConfigValue(go_json(project_data(raw)), object=True)


def plaintext(value: ConfigValue) -> str:
    """value.go `Value.Value(decrypter)`: the text the program receives. No secrets provider runs
    here: a stack file's ciphertext stands in for its plaintext, and a value set as a secret
    offline (a test's `pulumi config set --secret`) holds its plaintext as its text."""
    if not value.secure or not value.object:
        return value.text

    def reveal(item: Any) -> Any:
        if isinstance(item, dict):
            if len(item) == 1 and isinstance(item.get("secure"), str):
                return item["secure"]
            return {k: reveal(v) for k, v in item.items()}
        if isinstance(item, list):
            return [reveal(v) for v in item]
        return item

    return go_json(reveal(json.loads(value.text)))


@dataclass(frozen=True)
class ItemsType:
    type: str
    items: ItemsType | None = None


def full_type_name(type_name: str, items: ItemsType | None) -> str:
    """project.go `InferFullTypeName`."""
    return f"array<{full_type_name(items.type, items.items)}>" if items is not None else type_name


def valid_config_value(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """project.go `ValidateConfigValue`: `value` is Go data (JSON-decoded for objects, else text)."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isinf(value) or (not math.isnan(value) and value == math.trunc(value))  # f == math.Trunc(f)
        if isinstance(value, str):  # strconv.Atoi: optional sign, decimal digits, within int64
            return bool(GO_ATOI.fullmatch(value)) and INT64_MIN <= int(value) <= INT64_MAX
        return False
    if type_name == "boolean":
        return value in ("true", "false") if isinstance(value, str) else isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(valid_config_value(items.type, items.items, item) for item in value)


def non_string_key(value: Any) -> Any:
    """The first map key in `value` that is not a string (SimplifyMarshalledValue refuses it), or None."""
    todo = [value]
    while todo:
        item = todo.pop(0)
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return key if key is not None else NIL_KEY
                todo.append(child)
        elif isinstance(item, list):
            todo.extend(item)
    return None


NIL_KEY = object()


def go_percent_s(value: Any) -> str:
    """Go's `%s` of a non-string value: `%!s(int=1)`."""
    if value is NIL_KEY or value is None:
        return "%!s(<nil>)"
    if isinstance(value, go_yaml.GoTime):
        return value.go_string()
    if isinstance(value, float):
        return f"%!s(float64={go_g(value)})"
    return f"%!s({go_type(value)}={_go_key(value)})"


def simplified(raw: Any, what: str) -> dict[str, Any]:
    """project.go `SimplifyMarshalledProject`: string keys only, and an object at the top."""
    bad = non_string_key(raw)
    if bad is not None:
        # Go: fmt.Errorf("expected only string keys, got '%s'", key)
        raise CliConfigError(what, f"expected only string keys, got '{go_percent_s(bad)}'")
    if not isinstance(raw, dict):
        # Go: fmt.Errorf("expected project to be an object, was '%T'", result)
        raise CliConfigError(what, f"expected project to be an object, was '{go_type(raw)}'")
    return raw


def go_type(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}"}
    return "<nil>" if value is None else names.get(type(value), type(value).__name__)


def project_data(raw: Any) -> Any:
    """Decoded YAML as the schema validator and encoding/json see it (timestamps as RFC 3339 text)."""
    if isinstance(raw, dict):
        return {k: project_data(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [project_data(v) for v in raw]
    if isinstance(raw, go_yaml.GoTime):
        return raw.rfc3339()
    return raw
