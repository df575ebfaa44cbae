//! `bindings/python/`: `outbox_events.py`, a typed module (frozen dataclasses per detail and
//! nested object and per event, validating parsers, exact `Decimal` numbers, `event_id`,
//! samples), checked by `mypy --strict` in the test command; and `py.typed`.

use std::fmt::Write;

use serde_json::Value;

use super::{EVENT_ID_PREFIX, Model, Object, Ty, literal, one_line};
use crate::ident;
use crate::plan::Plan;
use crate::render::Files;

const HELPERS: &str = r#"from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Literal, Mapping, TypeVar, Union, cast

_T = TypeVar("_T")


class OutboxEventError(ValueError):
    """Why an event was refused: where (a path like `$.detail.orderId`) and what is wrong."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OutboxEventError(path, f"must be an object, not {_describe(value)}")
    return cast(dict[str, Any], value)


def _required(o: Mapping[str, Any], key: str, path: str) -> object:
    if key not in o:
        raise OutboxEventError(f"{path}.{key}", "is missing")
    return cast(object, o[key])


def _closed(o: Mapping[str, Any], path: str, known: tuple[str, ...]) -> None:
    for key in o:
        if key not in known:
            raise OutboxEventError(f"{path}.{key}", "is not a field of this event")


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise OutboxEventError(path, f"must be a string, not {_describe(value)}")
    return value


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise OutboxEventError(path, f"must be a number, not {_describe(value)}")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _integer(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        raise OutboxEventError(path, f"must be a whole number, not {_describe(value)}")
    return int(value)


def _boolean(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise OutboxEventError(path, f"must be true or false, not {_describe(value)}")
    return value


def _null(value: object, path: str) -> Any:
    if value is not None:
        raise OutboxEventError(path, f"must be null, not {_describe(value)}")
    return None


def _any(value: object, path: str) -> Any:
    return value


def _one_of(value: object, path: str, allowed: tuple[str, ...]) -> str:
    text = _string(value, path)
    if text not in allowed:
        raise OutboxEventError(path, f"must be one of {', '.join(allowed)}, not {text!r}")
    return text


def _exactly(value: object, path: str, expected: str) -> Any:
    if value != json.loads(expected, parse_float=Decimal):
        raise OutboxEventError(path, f"must be {expected}")
    return value


def _array(value: object, path: str, item: Callable[[object, str], _T]) -> list[_T]:
    if not isinstance(value, list):
        raise OutboxEventError(path, f"must be an array, not {_describe(value)}")
    return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _loads(data: str | bytes | Mapping[str, Any]) -> object:
    """JSON text with exact decimals (never floats), or an already parsed value."""
    if isinstance(data, (str, bytes)):
        return cast(object, json.loads(data, parse_float=Decimal))
    return data


@dataclass(frozen=True)
class _Envelope:
    version: str
    id: str
    """EventBridge's id of this delivery's event (a replay or a republish gets a new one)."""
    account: str
    time: str
    region: str
    resources: list[str]
    """The first is the event's deterministic id (see `event_id`)."""

    @property
    def event_id(self) -> str:
        """The event's deterministic id, the same for every delivery, replay or republish of it:
        deduplicate on it."""
        return next((r for r in self.resources if r.startswith(_EVENT_ID_PREFIX)), self.id)


def _envelope(o: Mapping[str, Any], detail_type: str, source: str) -> dict[str, Any]:
    _one_of(_required(o, "detail-type", "$"), "$.detail-type", (detail_type,))
    _one_of(_required(o, "source", "$"), "$.source", (source,))
    return {
        "version": _string(_required(o, "version", "$"), "$.version"),
        "id": _string(_required(o, "id", "$"), "$.id"),
        "account": _string(_required(o, "account", "$"), "$.account"),
        "time": _string(_required(o, "time", "$"), "$.time"),
        "region": _string(_required(o, "region", "$"), "$.region"),
        "resources": _array(_required(o, "resources", "$"), "$.resources", _string),
    }
"#;

/// Python's keywords and the names every generated class uses itself.
const TAKEN: [&str; 40] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "match", "case", "type", "extra", "parse",
];

/// Python identifiers for an object's fields, unique, never a keyword.
fn field_names(object: &Object) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    object
        .fields
        .iter()
        .map(|f| {
            let mut name = ident::snake(&f.json).trim_start_matches("r#").to_owned();
            if TAKEN.contains(&name.trim_end_matches('_')) || name.ends_with('_') {
                name = format!("{}_", name.trim_end_matches('_'));
            }
            let base = name.clone();
            let mut n = 1;
            while taken.contains(&name) {
                n += 1;
                name = format!("{}_{n}", base.trim_end_matches('_'));
            }
            taken.push(name.clone());
            name
        })
        .collect()
}

/// Renders the Python bindings into `files`.
pub fn render(plan: &Plan, model: &Model, files: &mut Files) {
    let mut out = format!(
        "# {}\n\"\"\"The events of {}, typed, with validating parsers.\n\n`parse_event(body)` takes the JSON text (or its parsed value) of an event as a consumer receives\nit and gives a typed event, or raises `OutboxEventError` naming the field. Numbers are exact\n`Decimal`s (a DynamoDB number has up to 38 digits).\n\"\"\"\n\n{HELPERS}\n\n_EVENT_ID_PREFIX = {}\n",
        crate::generated_by(Some(&plan.config_file)),
        plan.service,
        literal(EVENT_ID_PREFIX)
    );
    // Objects nested deepest first are declared later in the model; dataclass annotations are
    // strings (`from __future__ import annotations`), so order does not matter.
    for object in &model.objects {
        let names = field_names(object);
        write!(out, "\n\n@dataclass(frozen=True)\nclass {}:\n", object.name).unwrap();
        let doc = object
            .description
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| format!("The `{}` object.", object.name));
        writeln!(out, "    {}\n", literal(&doc)).unwrap();
        let fields: Vec<(&super::Field, &String)> = object.fields.iter().zip(&names).collect();
        for (field, name) in fields.iter().filter(|(f, _)| f.required) {
            writeln!(out, "    {name}: {}", py_type(model, &field.ty)).unwrap();
        }
        for (field, name) in fields.iter().filter(|(f, _)| !f.required) {
            writeln!(
                out,
                "    {name}: {} | None = None",
                py_type(model, &field.ty)
            )
            .unwrap();
        }
        if !object.closed {
            writeln!(out, "    extra: dict[str, Any] = field(default_factory=dict)\n    \"\"\"Fields the schema leaves open.\"\"\"").unwrap();
        }
        if object.fields.is_empty() && object.closed {
            writeln!(out, "    pass").unwrap();
        }
        writeln!(out, "\n    @staticmethod\n    def parse(value: object, path: str = \"$.detail\") -> {}:\n        o = _object(value, path)", object.name).unwrap();
        let known: Vec<String> = object.fields.iter().map(|f| literal(&f.json)).collect();
        let known = format!(
            "({}{})",
            known.join(", "),
            if known.len() == 1 { "," } else { "" }
        );
        if object.closed {
            writeln!(out, "        _closed(o, path, {known})").unwrap();
        }
        writeln!(out, "        return {}(", object.name).unwrap();
        for (field, name) in &fields {
            let key = literal(&field.json);
            let at = format!("path + {}", literal(&format!(".{}", field.json)));
            if field.required {
                writeln!(
                    out,
                    "            {name}={},",
                    checker(model, &field.ty, &format!("_required(o, {key}, path)"), &at)
                )
                .unwrap();
            } else {
                writeln!(
                    out,
                    "            {name}=None if o.get({key}) is None else {},",
                    checker(model, &field.ty, &format!("o[{key}]"), &at)
                )
                .unwrap();
            }
        }
        if !object.closed {
            writeln!(
                out,
                "            extra={{k: v for k, v in o.items() if k not in {known}}},"
            )
            .unwrap();
        }
        writeln!(out, "        )").unwrap();
    }
    for event in &model.events {
        let detail = &model.objects[event.detail].name;
        write!(
            out,
            "\n\n@dataclass(frozen=True)\nclass {ty}(_Envelope):\n    {doc}\n\n    detail: {detail}\n    detail_type: Literal[{dt}] = {dt}\n    source: Literal[{source}] = {source}\n\n    @staticmethod\n    def parse(data: str | bytes | Mapping[str, Any]) -> {ty}:\n        \"\"\"A {name} from its JSON text or value; raises `OutboxEventError` naming the field.\"\"\"\n        o = _object(_loads(data), \"$\")\n        head = _envelope(o, {dt}, {source})\n        return {ty}(detail={detail}.parse(_required(o, \"detail\", \"$\"), \"$.detail\"), **head)\n",
            ty = event.type_name,
            doc = literal(&format!("{}.", event.summary())),
            dt = literal(&event.detail_type),
            source = literal(&event.source),
            name = event.name.replace('"', "'"),
        )
        .unwrap();
    }
    let union: Vec<&str> = model.events.iter().map(|e| e.type_name.as_str()).collect();
    write!(
        out,
        "\n\nOutboxEvent = Union[{}]\n\"\"\"Every event of {}.\"\"\"\n\n_PARSERS: dict[tuple[str, str], Callable[[Mapping[str, Any]], OutboxEvent]] = {{\n",
        if union.is_empty() { "None".to_owned() } else { union.join(", ") },
        plan.service.replace('"', "'")
    )
    .unwrap();
    for event in &model.events {
        writeln!(
            out,
            "    ({}, {}): {}.parse,",
            literal(&event.source),
            literal(&event.detail_type),
            event.type_name
        )
        .unwrap();
    }
    write!(
        out,
        "}}\n\n\ndef parse_event(data: str | bytes | Mapping[str, Any]) -> OutboxEvent:\n    \"\"\"Any event of {service} from its JSON text or value, by its source and detail-type.\"\"\"\n    o = _object(_loads(data), \"$\")\n    key = (_string(o.get(\"source\"), \"$.source\"), _string(o.get(\"detail-type\"), \"$.detail-type\"))\n    parser = _PARSERS.get(key)\n    if parser is None:\n        raise OutboxEventError(\"$.detail-type\", f\"is not an event of {service}: {{key[1]!r}} from {{key[0]!r}}\")\n    return parser(o)\n\n\ndef event_id(event: OutboxEvent) -> str:\n    \"\"\"The event's deterministic id: deduplicate on it (EventBridge's `id` differs between deliveries).\"\"\"\n    return event.event_id\n\n\nSAMPLES: dict[str, str] = {{\n",
        service = plan.service.replace(['"', '{', '}'], "")
    )
    .unwrap();
    for event in &model.events {
        writeln!(
            out,
            "    {}: {},",
            literal(&event.name),
            literal(&event.sample.to_string())
        )
        .unwrap();
    }
    writeln!(
        out,
        "}}\n\"\"\"A sample of each event (JSON text), as a consumer receives it.\"\"\""
    )
    .unwrap();
    let dir = format!("{}/python", super::DIR);
    files.insert(format!("{dir}/outbox_events.py").into(), out);
    files.insert(format!("{dir}/py.typed").into(), String::new());
}

fn py_type(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::String { .. } => "str".into(),
        Ty::Number => "Decimal".into(),
        Ty::Integer => "int".into(),
        Ty::Boolean => "bool".into(),
        Ty::Null => "None".into(),
        Ty::Enum(values) => format!(
            "Literal[{}]",
            values
                .iter()
                .map(|v| literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Const(Value::String(value)) => format!("Literal[{}]", literal(value)),
        Ty::Const(_) => "Any".into(),
        Ty::Array(item) => format!("list[{}]", py_type(model, item)),
        Ty::Object(index) => model.objects[*index].name.clone(),
        Ty::Any => "Any".into(),
    }
}

fn checker(model: &Model, ty: &Ty, value: &str, path: &str) -> String {
    match ty {
        Ty::String { .. } => format!("_string({value}, {path})"),
        Ty::Number => format!("_number({value}, {path})"),
        Ty::Integer => format!("_integer({value}, {path})"),
        Ty::Boolean => format!("_boolean({value}, {path})"),
        Ty::Null => format!("_null({value}, {path})"),
        Ty::Enum(values) => format!(
            "cast({}, _one_of({value}, {path}, ({},)))",
            py_type(model, ty),
            values
                .iter()
                .map(|v| literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Const(Value::String(text)) => format!(
            "cast({}, _one_of({value}, {path}, ({},)))",
            py_type(model, ty),
            literal(text)
        ),
        Ty::Const(constant) => format!(
            "_exactly({value}, {path}, {})",
            literal(&constant.to_string())
        ),
        Ty::Array(item) => format!(
            "_array({value}, {path}, lambda v, p: {})",
            checker(model, item, "v", "p")
        ),
        Ty::Object(index) => format!("{}.parse({value}, {path})", model.objects[*index].name),
        Ty::Any => format!("_any({value}, {path})"),
    }
}
