//! `bindings/go/`: a Go module (standard library only) with a struct per detail and nested
//! object, an `Envelope[D]` per event, `ParseEvent` (refusing what the schema refuses, naming the
//! field), exact `json.Number`s, `EventID`, and samples with a test that every sample parses.

use std::fmt::Write;

use serde_json::Value;

use super::{EVENT_ID_PREFIX, Model, Ty, literal, one_line};
use crate::ident;
use crate::plan::Plan;
use crate::render::Files;

const HELPERS: &str = r#"import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// ParseError says why an event was refused: where (a path like `$.detail.orderId`) and what is
// wrong.
type ParseError struct {
	Path   string
	Reason string
}

func (e *ParseError) Error() string { return e.Path + ": " + e.Reason }

// Event is any event of the service.
type Event interface {
	// EventID is the event's deterministic id, the same for every delivery, replay or
	// republish of it: deduplicate on it (EventBridge's `id` differs between deliveries).
	EventID() string
}

// Envelope is the EventBridge envelope every event arrives in.
type Envelope[D any] struct {
	Version string `json:"version"`
	// ID is EventBridge's id of this delivery's event.
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Account    string `json:"account"`
	Time       string `json:"time"`
	Region     string `json:"region"`
	// Resources: the first is the event's deterministic id (see EventID).
	Resources []string `json:"resources"`
	Detail    D        `json:"detail"`
}

// EventID is the event's deterministic id: deduplicate on it.
func (e *Envelope[D]) EventID() string {
	for _, r := range e.Resources {
		if strings.HasPrefix(r, eventIDPrefix) {
			return r
		}
	}
	return e.ID
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func object(v any, path string) (map[string]any, error) {
	o, ok := v.(map[string]any)
	if !ok {
		return nil, &ParseError{path, "must be an object, not " + describe(v)}
	}
	return o, nil
}

func required(o map[string]any, key, path string) (any, error) {
	v, ok := o[key]
	if !ok {
		return nil, &ParseError{path + "." + key, "is missing"}
	}
	return v, nil
}

func closed(o map[string]any, path string, known ...string) error {
	for key := range o {
		found := false
		for _, k := range known {
			if k == key {
				found = true
			}
		}
		if !found {
			return &ParseError{path + "." + key, "is not a field of this event"}
		}
	}
	return nil
}

func extra(o map[string]any, known ...string) map[string]any {
	rest := map[string]any{}
	for key, v := range o {
		rest[key] = v
	}
	for _, k := range known {
		delete(rest, k)
	}
	return rest
}

func toString(v any, path string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", &ParseError{path, "must be a string, not " + describe(v)}
	}
	return s, nil
}

func toNumber(v any, path string) (json.Number, error) {
	n, ok := v.(json.Number)
	if !ok {
		return "", &ParseError{path, "must be a number, not " + describe(v)}
	}
	return n, nil
}

func toInteger(v any, path string) (int64, error) {
	n, ok := v.(json.Number)
	if ok {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	}
	return 0, &ParseError{path, "must be a whole number, not " + describe(v)}
}

func toBoolean(v any, path string) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, &ParseError{path, "must be true or false, not " + describe(v)}
	}
	return b, nil
}

func toNull(v any, path string) (any, error) {
	if v != nil {
		return nil, &ParseError{path, "must be null, not " + describe(v)}
	}
	return nil, nil
}

func toAny(v any, _ string) (any, error) { return v, nil }

func oneOf(v any, path string, allowed ...string) (string, error) {
	s, err := toString(v, path)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if a == s {
			return s, nil
		}
	}
	return "", &ParseError{path, fmt.Sprintf("must be one of %s, not %q", strings.Join(allowed, ", "), s)}
}

func exactly(v any, path string, expected string) (any, error) {
	want, _ := decode([]byte(expected))
	if !reflect.DeepEqual(v, want) {
		return nil, &ParseError{path, "must be " + expected}
	}
	return v, nil
}

// oneOfThese checks a value is one of `allowed`.
func oneOfThese(allowed ...string) func(any, string) (string, error) {
	return func(v any, path string) (string, error) { return oneOf(v, path, allowed...) }
}

// exactlyThis checks a value is the JSON `expected`.
func exactlyThis(expected string) func(any, string) (any, error) {
	return func(v any, path string) (any, error) { return exactly(v, path, expected) }
}

// arrayOf checks a value is a list of values `item` checks.
func arrayOf[T any](item func(any, string) (T, error)) func(any, string) ([]T, error) {
	return func(v any, path string) ([]T, error) { return toArray(v, path, item) }
}

func toArray[T any](v any, path string, item func(any, string) (T, error)) ([]T, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, &ParseError{path, "must be an array, not " + describe(v)}
	}
	out := make([]T, 0, len(items))
	for i, x := range items {
		t, err := item(x, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// decode reads JSON with exact numbers (json.Number, never float64).
func decode(data []byte) (any, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var v any
	if err := decoder.Decode(&v); err != nil {
		return nil, &ParseError{"$", "is not JSON: " + err.Error()}
	}
	return v, nil
}

func asEvent[D any](e *Envelope[D], err error) (Event, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

func envelope[D any](o map[string]any, detailType, source string, detail func(any, string) (D, error)) (*Envelope[D], error) {
	var e Envelope[D]
	var err error
	text := func(key string) string {
		if err != nil {
			return ""
		}
		var v any
		if v, err = required(o, key, "$"); err != nil {
			return ""
		}
		var s string
		s, err = toString(v, "$."+key)
		return s
	}
	e.Version, e.ID, e.Account, e.Time, e.Region = text("version"), text("id"), text("account"), text("time"), text("region")
	e.DetailType, e.Source = text("detail-type"), text("source")
	if err != nil {
		return nil, err
	}
	if e.DetailType != detailType {
		return nil, &ParseError{"$.detail-type", fmt.Sprintf("must be %q", detailType)}
	}
	if e.Source != source {
		return nil, &ParseError{"$.source", fmt.Sprintf("must be %q", source)}
	}
	resources, err := required(o, "resources", "$")
	if err != nil {
		return nil, err
	}
	if e.Resources, err = toArray(resources, "$.resources", toString); err != nil {
		return nil, err
	}
	d, err := required(o, "detail", "$")
	if err != nil {
		return nil, err
	}
	if e.Detail, err = detail(d, "$.detail"); err != nil {
		return nil, err
	}
	return &e, nil
}
"#;

/// A Go string literal (JSON's escapes are Go's for the characters JSON escapes).
fn go_string(text: &str) -> String {
    literal(text)
}

/// An exported Go identifier for a JSON field name.
fn exported(name: &str) -> String {
    let mut ident = ident::pascal(name);
    if ident == "Id" {
        return "ID".into();
    }
    // Go's initialisms read better: `userId` -> `UserID`.
    if ident.ends_with("Id") {
        ident.truncate(ident.len() - 2);
        ident.push_str("ID");
    }
    ident
}

/// Renders the Go bindings into `files`.
pub fn render(plan: &Plan, model: &Model, files: &mut Files) {
    let mut out = format!(
        "// Code generated by outbox {} from {}. DO NOT EDIT.\n\n// Package events holds the events of {}, typed: ParseEvent takes an event as a consumer\n// receives it (JSON) and gives an Event (a *UserCreated, ...), or a *ParseError naming the\n// field. Numbers are json.Numbers with every digit.\npackage events\n\n{HELPERS}\nconst eventIDPrefix = {}\n",
        crate::VERSION,
        plan.config_file,
        one_line(&plan.service),
        go_string(EVENT_ID_PREFIX)
    );
    for object in &model.objects {
        match &object.description {
            Some(description) => {
                writeln!(out, "\n// {}: {}", object.name, one_line(description)).unwrap()
            }
            None => writeln!(out, "\n// {} is an object of the events.", object.name).unwrap(),
        }
        writeln!(out, "type {} struct {{", object.name).unwrap();
        let mut taken = vec!["Extra".to_owned()];
        let mut idents = Vec::new();
        let mut rows = Vec::new();
        for field in &object.fields {
            let mut ident = exported(&field.json);
            let base = ident.clone();
            let mut n = 1;
            while taken.contains(&ident) {
                n += 1;
                ident = format!("{base}{n}");
            }
            taken.push(ident.clone());
            let ty = go_type(model, &field.ty);
            let plain = field.required || matches!(field.ty, Ty::Array(_) | Ty::Any | Ty::Null);
            let ty = if plain { ty } else { format!("*{ty}") };
            let tag = format!(
                "`json:\"{}{}\"`",
                field.json.replace([',', '"', '`', '\\'], ""),
                if field.required { "" } else { ",omitempty" }
            );
            rows.push((ident.clone(), ty, tag));
            idents.push(ident);
        }
        // Aligned as gofmt aligns a struct's fields.
        let name_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let type_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        for (ident, ty, tag) in &rows {
            writeln!(out, "\t{ident:<name_width$} {ty:<type_width$} {tag}").unwrap();
        }
        if !object.closed {
            writeln!(out, "\t// Extra holds the fields the schema leaves open.\n\tExtra map[string]any `json:\"-\"`").unwrap();
        }
        writeln!(out, "}}").unwrap();
        let known: Vec<String> = object.fields.iter().map(|f| go_string(&f.json)).collect();
        writeln!(out, "\nfunc check{name}(v any, path string) ({name}, error) {{\n\tvar out {name}\n\to, err := object(v, path)\n\tif err != nil {{\n\t\treturn out, err\n\t}}", name = object.name).unwrap();
        if object.closed {
            writeln!(
                out,
                "\tif err := closed(o, path{}); err != nil {{\n\t\treturn out, err\n\t}}",
                known.iter().map(|k| format!(", {k}")).collect::<String>()
            )
            .unwrap();
        } else {
            writeln!(
                out,
                "\tout.Extra = extra(o{})",
                known.iter().map(|k| format!(", {k}")).collect::<String>()
            )
            .unwrap();
        }
        for (field, ident) in object.fields.iter().zip(&idents) {
            let key = go_string(&field.json);
            let at = format!("path+{}", go_string(&format!(".{}", field.json)));
            let check = checker(model, &field.ty);
            if field.required {
                writeln!(out, "\tif x, err := required(o, {key}, path); err != nil {{\n\t\treturn out, err\n\t}} else if out.{ident}, err = {check}(x, {at}); err != nil {{\n\t\treturn out, err\n\t}}").unwrap();
            } else if matches!(field.ty, Ty::Array(_) | Ty::Any | Ty::Null) {
                writeln!(out, "\tif x, ok := o[{key}]; ok && x != nil {{\n\t\tif out.{ident}, err = {check}(x, {at}); err != nil {{\n\t\t\treturn out, err\n\t\t}}\n\t}}").unwrap();
            } else {
                writeln!(out, "\tif x, ok := o[{key}]; ok && x != nil {{\n\t\tvalue, err := {check}(x, {at})\n\t\tif err != nil {{\n\t\t\treturn out, err\n\t\t}}\n\t\tout.{ident} = &value\n\t}}").unwrap();
            }
        }
        writeln!(out, "\treturn out, nil\n}}").unwrap();
    }
    for event in &model.events {
        let detail = &model.objects[event.detail].name;
        writeln!(
            out,
            "\n// {}: {}.\ntype {} = Envelope[{detail}]\n\n// Parse{} reads a {} from its JSON; a *ParseError names the field that is wrong.\nfunc Parse{}(data []byte) (*{}, error) {{\n\tv, err := decode(data)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\to, err := object(v, \"$\")\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\treturn envelope(o, {}, {}, check{detail})\n}}",
            event.type_name,
            event.summary(),
            event.type_name,
            event.type_name,
            event.name.replace('\n', " "),
            event.type_name,
            event.type_name,
            go_string(&event.detail_type),
            go_string(&event.source),
        )
        .unwrap();
    }
    writeln!(out, "\n// ParseEvent reads any event of {} from its JSON, by its source and detail-type.\nfunc ParseEvent(data []byte) (Event, error) {{\n\tv, err := decode(data)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\to, err := object(v, \"$\")\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\tsource, _ := o[\"source\"].(string)\n\tdetailType, _ := o[\"detail-type\"].(string)\n\tswitch {{", one_line(&plan.service)).unwrap();
    for event in &model.events {
        writeln!(
            out,
            "\tcase source == {} && detailType == {}:\n\t\treturn asEvent(envelope(o, {}, {}, check{}))",
            go_string(&event.source),
            go_string(&event.detail_type),
            go_string(&event.detail_type),
            go_string(&event.source),
            model.objects[event.detail].name
        )
        .unwrap();
    }
    writeln!(out, "\t}}\n\treturn nil, &ParseError{{\"$.detail-type\", fmt.Sprintf(\"is not an event of this service: %q from %q\", detailType, source)}}\n}}").unwrap();
    writeln!(out, "\n// Samples holds a sample of each event (JSON), as a consumer receives it, by event name.\nvar Samples = map[string]string{{").unwrap();
    let keys: Vec<String> = model
        .events
        .iter()
        .map(|e| format!("{}:", go_string(&e.name)))
        .collect();
    let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, event) in keys.iter().zip(&model.events) {
        writeln!(
            out,
            "\t{key:<width$} {},",
            go_string(&event.sample.to_string())
        )
        .unwrap();
    }
    writeln!(out, "}}").unwrap();
    let test = format!(
        "// Code generated by outbox {}. DO NOT EDIT.\n",
        crate::VERSION
    ) + "\npackage events\n\nimport (\n\t\"strings\"\n\t\"testing\"\n)\n\nfunc TestEverySampleParsesWithItsID(t *testing.T) {\n\tfor name, sample := range Samples {\n\t\tevent, err := ParseEvent([]byte(sample))\n\t\tif err != nil {\n\t\t\tt.Fatalf(\"%s: %v\", name, err)\n\t\t}\n\t\tif !strings.HasPrefix(event.EventID(), eventIDPrefix) {\n\t\t\tt.Fatalf(\"%s: id %s\", name, event.EventID())\n\t\t}\n\t}\n}\n";
    let dir = format!("{}/go", super::DIR);
    files.insert(format!("{dir}/events.go").into(), out);
    files.insert(format!("{dir}/events_test.go").into(), test);
    files.insert(
        format!("{dir}/go.mod").into(),
        format!(
            "// Code generated by outbox {} from {}. DO NOT EDIT.\nmodule {}\n\ngo 1.19\n",
            crate::VERSION,
            plan.config_file,
            go_module(&plan.service)
        ),
    );
}

/// The module path of the bindings.
fn go_module(service: &str) -> String {
    let name: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("outbox.local/{name}/events")
}

fn go_type(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::String { .. } | Ty::Enum(_) => "string".into(),
        Ty::Const(Value::String(_)) => "string".into(),
        Ty::Const(_) | Ty::Any | Ty::Null => "any".into(),
        Ty::Number => "json.Number".into(),
        Ty::Integer => "int64".into(),
        Ty::Boolean => "bool".into(),
        Ty::Array(item) => format!("[]{}", go_type(model, item)),
        Ty::Object(index) => model.objects[*index].name.clone(),
    }
}

/// A Go function value `func(any, string) (T, error)` that checks a value of `ty`.
fn checker(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::String { .. } => "toString".into(),
        Ty::Number => "toNumber".into(),
        Ty::Integer => "toInteger".into(),
        Ty::Boolean => "toBoolean".into(),
        Ty::Null => "toNull".into(),
        Ty::Any => "toAny".into(),
        Ty::Enum(values) => format!(
            "oneOfThese({})",
            values
                .iter()
                .map(|v| go_string(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Const(Value::String(text)) => format!("oneOfThese({})", go_string(text)),
        Ty::Const(constant) => format!("exactlyThis({})", go_string(&constant.to_string())),
        Ty::Array(item) => format!("arrayOf({})", checker(model, item)),
        Ty::Object(index) => format!("check{}", model.objects[*index].name),
    }
}
