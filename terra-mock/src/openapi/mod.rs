//! The two OpenAPI 3.1 documents the mock serves, generated from the types themselves
//! (feature `schema`): TerraAPI v2 from terra-types, the control API from `control/dto.rs`.
//! The generated documents are checked into `terra-mock/openapi/`, served from there, and a
//! test regenerates them and fails on any difference.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

mod control;
mod terra;

pub use control::control_api;
pub use terra::terra_api;

/// One operation of a document.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Map<String, Value>,
}

struct Doc {
    generator: SchemaGenerator,
    ops: Vec<Op>,
}

impl Doc {
    fn new() -> Self {
        let mut s = SchemaSettings::draft2020_12();
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
        s.contract = Contract::Serialize;
        Self {
            generator: s.into_generator(),
            ops: Vec::new(),
        }
    }

    fn schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// The properties of a query struct, as query parameters.
    fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let schema = self.schema::<T>();
        let name = schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_default()
            .to_owned();
        let def = self
            .generator
            .definitions()
            .get(&name)
            .cloned()
            .unwrap_or(schema);
        let props = def["properties"].as_object().cloned().unwrap_or_default();
        props
            .into_iter()
            .map(|(k, mut v)| {
                let description = v
                    .as_object_mut()
                    .and_then(|o| o.remove("description"))
                    .unwrap_or(Value::Null);
                let mut p = json!({"name": k, "in": "query", "required": false, "schema": v});
                if !description.is_null() {
                    p["description"] = description;
                }
                p
            })
            .collect()
    }

    fn finish(mut self, info: Value, extra: Map<String, Value>) -> Value {
        let mut paths = Map::new();
        for op in self.ops.drain(..) {
            let mut o = json!({
                "operationId": op.id,
                "summary": op.summary,
                "responses": op.responses,
            });
            let mut params: Vec<Value> = op
                .path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
                .collect();
            // A parameter the operation spells out (an enum of values, say) replaces the
            // plain one its path implies: OpenAPI forbids two of the same name and place.
            for p in op.params {
                match params
                    .iter_mut()
                    .find(|q| q["name"] == p["name"] && q["in"] == p["in"])
                {
                    Some(same) => *same = p,
                    None => params.push(p),
                }
            }
            if !params.is_empty() {
                o["parameters"] = Value::Array(params);
            }
            if let Some(b) = op.body {
                o["requestBody"] =
                    json!({"required": true, "content": {"application/json": {"schema": b}}});
            }
            let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
            entry[op.method] = o;
        }
        let schemas = self.generator.take_definitions(true);
        let mut components = json!({"schemas": schemas});
        for (k, v) in extra {
            components[k] = v;
        }
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": info,
            "paths": paths,
            "components": components,
        });
        sort(&mut doc);
        doc
    }
}

/// Objects with sorted keys, so that the checked-in file is stable.
fn sort(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort(&mut v);
                m.insert(k, v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sort),
        _ => {}
    }
}

fn responses(pairs: &[(&str, &str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(status, description, schema)| {
            let mut r = json!({"description": description});
            if !schema.is_null() {
                r["content"] = json!({"application/json": {"schema": schema}});
            }
            ((*status).to_owned(), r)
        })
        .collect()
}
