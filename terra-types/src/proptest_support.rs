//! Strategies for the fields `proptest-derive` cannot pick alone: finite floats (JSON has no
//! NaN), uuid lists without commas, and pass-through maps whose keys never collide with a
//! modelled field.

use proptest::prelude::*;
use serde_json::{Map, Value};

pub(crate) fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0e9..1.0e9f64,
        any::<i32>().prop_map(f64::from),
        Just(0.0)
    ]
}

pub(crate) fn finite_f32() -> impl Strategy<Value = f32> {
    -1.0e6..1.0e6f32
}

pub(crate) fn point() -> impl Strategy<Value = [f64; 3]> {
    proptest::array::uniform3(finite_f64())
}

pub(crate) fn uuid_list() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[0-9a-f]{8}-[0-9a-f]{4}", 0..4)
}

pub(crate) fn extra_map() -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::String),
    ];
    proptest::collection::btree_map("x_[a-z]{1,6}", value, 0..3)
        .prop_map(|m| m.into_iter().collect())
}
