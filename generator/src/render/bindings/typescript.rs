//! `bindings/typescript/`: `events.ts` (an interface per detail and nested object, a type per
//! event, validating parsers, `eventId`, typed samples), a strict `tsconfig.json` and a
//! dependency-free `package.json`.

use std::fmt::Write;

use serde_json::Value;

use super::{EVENT_ID_PREFIX, Model, Ty, literal, one_line};
use crate::plan::Plan;
use crate::render::Files;

/// The runtime checks every parser is made of.
const HELPERS: &str = r#"/** Why an event was refused: where (a path like `$.detail.orderId`) and what is wrong. */
export class OutboxEventError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'OutboxEventError';
  }
}

/** The EventBridge envelope every event arrives in. */
export interface Envelope<DetailType extends string, Source extends string, Detail> {
  version: string;
  /** EventBridge's id of this delivery's event (a replay or a republish gets a new one). */
  id: string;
  'detail-type': DetailType;
  source: Source;
  account: string;
  time: string;
  region: string;
  /** The first is the event's deterministic id (see `eventId`). */
  resources: string[];
  detail: Detail;
}

function fail(path: string, reason: string): never {
  throw new OutboxEventError(path, reason);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `must be an object, not ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function required(o: Record<string, unknown>, key: string, path: string): unknown {
  if (!(key in o)) {
    fail(`${path}.${key}`, 'is missing');
  }
  return o[key];
}

function closed(o: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) {
      fail(`${path}.${key}`, 'is not a field of this event');
    }
  }
}

function string(value: unknown, path: string): string {
  return typeof value === 'string' ? value : fail(path, `must be a string, not ${describe(value)}`);
}

function number(value: unknown, path: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(path, `must be a number, not ${describe(value)}`);
}

function integer(value: unknown, path: string): number {
  return Number.isInteger(value) ? (value as number) : fail(path, `must be a whole number, not ${describe(value)}`);
}

function boolean(value: unknown, path: string): boolean {
  return typeof value === 'boolean' ? value : fail(path, `must be true or false, not ${describe(value)}`);
}

function nothing(value: unknown, path: string): null {
  return value === null ? null : fail(path, `must be null, not ${describe(value)}`);
}

function anything(value: unknown, _path: string): unknown {
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  const text = string(value, path);
  return (allowed as readonly string[]).includes(text) ? (text as T) : fail(path, `must be one of ${allowed.join(', ')}, not ${JSON.stringify(text)}`);
}

function exactly<T>(value: unknown, path: string, expected: T): T {
  return JSON.stringify(value) === JSON.stringify(expected) ? expected : fail(path, `must be ${JSON.stringify(expected)}`);
}

function array<T>(value: unknown, path: string, item: (value: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) {
    fail(path, `must be an array, not ${describe(value)}`);
  }
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

function envelope<DetailType extends string, Source extends string, Detail>(
  value: unknown,
  detailType: DetailType,
  source: Source,
  detail: (value: unknown, path: string) => Detail,
): Envelope<DetailType, Source, Detail> {
  const o = object(value, '$');
  return {
    version: string(required(o, 'version', '$'), '$.version'),
    id: string(required(o, 'id', '$'), '$.id'),
    'detail-type': oneOf(required(o, 'detail-type', '$'), '$.detail-type', [detailType]),
    source: oneOf(required(o, 'source', '$'), '$.source', [source]),
    account: string(required(o, 'account', '$'), '$.account'),
    time: string(required(o, 'time', '$'), '$.time'),
    region: string(required(o, 'region', '$'), '$.region'),
    resources: array(required(o, 'resources', '$'), '$.resources', string),
    detail: detail(required(o, 'detail', '$'), '$.detail'),
  };
}
"#;

/// Renders the TypeScript bindings into `files`.
pub fn render(plan: &Plan, model: &Model, files: &mut Files) {
    let mut out = format!(
        "// {}\n//\n// The events of {}, typed, with validating parsers: `parseEvent(JSON.parse(body))` gives an\n// `OutboxEvent` or throws an `OutboxEventError` naming the field. Numbers are JavaScript numbers:\n// JSON.parse keeps 15-17 significant digits of the up to 38 a DynamoDB number has.\n\n{HELPERS}",
        crate::generated_by(Some(&plan.config_file)),
        plan.service
    );
    for object in &model.objects {
        writeln!(out).unwrap();
        if let Some(description) = &object.description {
            writeln!(out, "/** {} */", one_line(description)).unwrap();
        }
        writeln!(out, "export interface {} {{", object.name).unwrap();
        for field in &object.fields {
            let optional = if field.required { "" } else { "?" };
            writeln!(
                out,
                "  {}{optional}: {};",
                literal(&field.json),
                ts_type(model, &field.ty)
            )
            .unwrap();
        }
        if !object.closed {
            writeln!(
                out,
                "  /** Fields the schema leaves open. */\n  [field: string]: unknown;"
            )
            .unwrap();
        }
        writeln!(out, "}}\n").unwrap();
        writeln!(
            out,
            "function check{name}(value: unknown, path: string): {name} {{\n  const o = object(value, path);",
            name = object.name
        )
        .unwrap();
        if object.closed {
            let known: Vec<String> = object.fields.iter().map(|f| literal(&f.json)).collect();
            writeln!(out, "  closed(o, path, [{}]);", known.join(", ")).unwrap();
        }
        let mut required = Vec::new();
        if !object.closed {
            required.push("...o".to_owned());
        }
        for field in object.fields.iter().filter(|f| f.required) {
            let key = literal(&field.json);
            required.push(format!(
                "{key}: {}",
                checker(
                    model,
                    &field.ty,
                    &format!("required(o, {key}, path)"),
                    &field_path(&field.json)
                )
            ));
        }
        let members: String = required.iter().map(|m| format!("\n    {m},")).collect();
        writeln!(out, "  const out: {} = {{{members}\n  }};", object.name).unwrap();
        for field in object.fields.iter().filter(|f| !f.required) {
            let key = literal(&field.json);
            writeln!(
                out,
                "  if (o[{key}] !== undefined) {{\n    out[{key}] = {};\n  }}",
                checker(
                    model,
                    &field.ty,
                    &format!("o[{key}]"),
                    &field_path(&field.json)
                )
            )
            .unwrap();
        }
        writeln!(out, "  return out;\n}}").unwrap();
    }
    writeln!(out).unwrap();
    for event in &model.events {
        let detail = &model.objects[event.detail].name;
        writeln!(
            out,
            "/** {}. */\nexport type {} = Envelope<{}, {}, {detail}>;\n",
            event.summary(),
            event.type_name,
            ts_string(&event.detail_type),
            ts_string(&event.source),
        )
        .unwrap();
        writeln!(
            out,
            "/** A {name} from its JSON value; throws an `OutboxEventError` naming the field that is wrong. */\nexport function parse{ty}(value: unknown): {ty} {{\n  return envelope(value, {dt}, {source}, check{detail});\n}}\n",
            name = event.name,
            ty = event.type_name,
            dt = ts_string(&event.detail_type),
            source = ts_string(&event.source),
        )
        .unwrap();
    }
    let union: Vec<&str> = model.events.iter().map(|e| e.type_name.as_str()).collect();
    writeln!(
        out,
        "/** Every event of {}. */\nexport type OutboxEvent = {};\n",
        plan.service,
        if union.is_empty() {
            "never".to_owned()
        } else {
            union.join(" | ")
        }
    )
    .unwrap();
    writeln!(out, "/** Any event of {} from its JSON value, by its source and detail-type. */\nexport function parseEvent(value: unknown): OutboxEvent {{\n  const o = object(value, '$');\n  const key = `${{string(o['source'], '$.source')}}\\u0000${{string(o['detail-type'], '$.detail-type')}}`;\n  switch (key) {{", plan.service).unwrap();
    for event in &model.events {
        writeln!(
            out,
            "    case {}:\n      return parse{}(value);",
            ts_string(&format!("{}\u{0}{}", event.source, event.detail_type)),
            event.type_name
        )
        .unwrap();
    }
    writeln!(out, "    default:\n      return fail('$.detail-type', `is not an event of {}: ${{JSON.stringify(o['detail-type'])}} from ${{JSON.stringify(o['source'])}}`);\n  }}\n}}\n", plan.service.replace('`', "")).unwrap();
    writeln!(
        out,
        "/**\n * The event's deterministic id, the same for every delivery, replay or republish of it: deduplicate\n * on it (EventBridge's `id` differs between deliveries).\n */\nexport function eventId(event: Envelope<string, string, unknown>): string {{\n  return event.resources.find((r) => r.startsWith({})) ?? event.id;\n}}\n",
        literal(EVENT_ID_PREFIX)
    )
    .unwrap();
    writeln!(
        out,
        "/** A sample of each event, as a consumer receives it. */\nexport const samples: {{"
    )
    .unwrap();
    for event in &model.events {
        writeln!(
            out,
            "  readonly {}: {};",
            literal(&event.name),
            event.type_name
        )
        .unwrap();
    }
    writeln!(out, "}} = {{").unwrap();
    for event in &model.events {
        writeln!(out, "  {}: {},", literal(&event.name), event.sample).unwrap();
    }
    writeln!(out, "}};").unwrap();
    let dir = format!("{}/typescript", super::DIR);
    files.insert(format!("{dir}/events.ts").into(), out);
    files.insert(
        format!("{dir}/tsconfig.json").into(),
        "{\n  \"compilerOptions\": {\n    \"target\": \"ES2022\",\n    \"module\": \"NodeNext\",\n    \"moduleResolution\": \"NodeNext\",\n    \"strict\": true,\n    \"declaration\": true,\n    \"outDir\": \"dist\",\n    \"skipLibCheck\": true\n  },\n  \"files\": [\"events.ts\"]\n}\n".to_owned(),
    );
    files.insert(
        format!("{dir}/package.json").into(),
        format!(
            "{{\n  \"name\": {},\n  \"version\": \"0.1.0\",\n  \"description\": {},\n  \"private\": true,\n  \"type\": \"module\",\n  \"main\": \"dist/events.js\",\n  \"types\": \"dist/events.d.ts\"\n}}\n",
            literal(&format!("{}-events", npm_name(&plan.service))),
            literal(&format!("Typed events of {} (generated by outbox from {})", plan.service, plan.config_file)),
        ),
    );
}

/// An npm package name from a service name (lowercase, `-` for anything else).
fn npm_name(service: &str) -> String {
    service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The path of a field below `path`, as a template literal.
fn field_path(json: &str) -> String {
    let escaped = json
        .replace('\\', "\\\\")
        .replace('`', "\\`")
        .replace("${", "\\${");
    format!("`${{path}}.{escaped}`")
}

fn ts_string(text: &str) -> String {
    literal(text)
}

fn ts_type(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::String { .. } => "string".into(),
        Ty::Number | Ty::Integer => "number".into(),
        Ty::Boolean => "boolean".into(),
        Ty::Null => "null".into(),
        Ty::Enum(values) => values
            .iter()
            .map(|v| literal(v))
            .collect::<Vec<_>>()
            .join(" | "),
        Ty::Const(value) => value.to_string(),
        Ty::Array(item) => match item.as_ref() {
            Ty::Enum(_) => format!("({})[]", ts_type(model, item)),
            _ => format!("{}[]", ts_type(model, item)),
        },
        Ty::Object(index) => model.objects[*index].name.clone(),
        Ty::Any => "unknown".into(),
    }
}

/// The expression that checks `value` (at `path`, a template literal) and gives it typed.
fn checker(model: &Model, ty: &Ty, value: &str, path: &str) -> String {
    match ty {
        Ty::String { .. } => format!("string({value}, {path})"),
        Ty::Number => format!("number({value}, {path})"),
        Ty::Integer => format!("integer({value}, {path})"),
        Ty::Boolean => format!("boolean({value}, {path})"),
        Ty::Null => format!("nothing({value}, {path})"),
        Ty::Enum(values) => format!(
            "oneOf({value}, {path}, [{}] as const)",
            values
                .iter()
                .map(|v| literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Const(Value::String(text)) => {
            format!("oneOf({value}, {path}, [{}] as const)", literal(text))
        }
        Ty::Const(constant) => format!("exactly<{constant}>({value}, {path}, {constant})"),
        Ty::Array(item) => format!(
            "array({value}, {path}, (v: unknown, p: string) => {})",
            checker(model, item, "v", "p")
        ),
        Ty::Object(index) => format!("check{}({value}, {path})", model.objects[*index].name),
        Ty::Any => format!("anything({value}, {path})"),
    }
}
