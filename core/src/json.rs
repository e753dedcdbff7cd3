//! JSON read and written by hand through `serde_json::Value` (Janus's frames, peer
//! messages, the server's messages to a browser): every message goes through the one
//! `Value` parser and printer and these few helpers, where serde derives would add a
//! deserializer per type (internally tagged and untagged enums buffer their input,
//! too). The app's wasm is size-sensitive: this is tens of KB less.
//!
//! Reading follows serde's rules for the shapes used here: an absent or `null` field
//! is `None`, an absent required field or a value of the wrong type is an error.

use serde::de::Error as _;
use serde_json::{Error, Map, Value};

/// An object of these fields.
pub fn object(fields: Vec<(&'static str, Value)>) -> Value {
    // Inserted one by one: collecting would sort them first, and a sort costs the
    // wasm a few KB.
    let mut object = Map::new();
    for (key, value) in fields {
        object.insert(key.to_string(), value);
    }
    Value::Object(object)
}

/// An array of what `to_value` makes of each item.
pub fn array<T>(items: &[T], to_value: fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(to_value).collect())
}

/// The field `key` of `value`, `None` if absent or `null`.
pub fn opt<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| !v.is_null())
}

/// The field `key`, which must be there.
pub fn field<'a>(value: &'a Value, key: &'static str) -> Result<&'a Value, Error> {
    opt(value, key).ok_or_else(|| Error::missing_field(key))
}

/// The field `key` read by `read` (`expected` names its type for the error), `None` if
/// absent or `null`.
fn opt_as<T>(
    value: &Value,
    key: &str,
    expected: &str,
    read: fn(&Value) -> Option<T>,
) -> Result<Option<T>, Error> {
    opt(value, key)
        .map(|v| read(v).ok_or_else(|| Error::custom(format!("`{key}`: expected {expected}"))))
        .transpose()
}

pub fn opt_str(value: &Value, key: &str) -> Result<Option<String>, Error> {
    opt_as(value, key, "a string", |v| v.as_str().map(str::to_string))
}

pub fn opt_u64(value: &Value, key: &str) -> Result<Option<u64>, Error> {
    opt_as(value, key, "an unsigned integer", Value::as_u64)
}

pub fn opt_u16(value: &Value, key: &str) -> Result<Option<u16>, Error> {
    opt_as(value, key, "a 16-bit unsigned integer", |v| {
        v.as_u64().and_then(|n| u16::try_from(n).ok())
    })
}

pub fn opt_i64(value: &Value, key: &str) -> Result<Option<i64>, Error> {
    opt_as(value, key, "an integer", Value::as_i64)
}

pub fn opt_bool(value: &Value, key: &str) -> Result<Option<bool>, Error> {
    opt_as(value, key, "a boolean", Value::as_bool)
}

pub fn string(value: &Value, key: &'static str) -> Result<String, Error> {
    opt_str(value, key)?.ok_or_else(|| Error::missing_field(key))
}

pub fn u64(value: &Value, key: &'static str) -> Result<u64, Error> {
    opt_u64(value, key)?.ok_or_else(|| Error::missing_field(key))
}

pub fn u32(value: &Value, key: &'static str) -> Result<u32, Error> {
    let n = opt_as(value, key, "a 32-bit unsigned integer", |v| {
        v.as_u64().and_then(|n| u32::try_from(n).ok())
    })?;
    n.ok_or_else(|| Error::missing_field(key))
}

pub fn i64(value: &Value, key: &'static str) -> Result<i64, Error> {
    opt_i64(value, key)?.ok_or_else(|| Error::missing_field(key))
}

pub fn bool(value: &Value, key: &'static str) -> Result<bool, Error> {
    opt_bool(value, key)?.ok_or_else(|| Error::missing_field(key))
}

/// The array `key` with each item read by `read`, which must be there.
pub fn vec<T>(
    value: &Value,
    key: &'static str,
    read: fn(&Value) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    list(value, key, read)?.ok_or_else(|| Error::missing_field(key))
}

/// The array `key` with each item read by `read`, `None` if absent or `null`.
pub fn list<T>(
    value: &Value,
    key: &str,
    read: fn(&Value) -> Result<T, Error>,
) -> Result<Option<Vec<T>>, Error> {
    let Some(items) = opt(value, key) else {
        return Ok(None);
    };
    let items = items
        .as_array()
        .ok_or_else(|| Error::custom(format!("`{key}`: expected an array")))?;
    items.iter().map(read).collect::<Result<_, _>>().map(Some)
}
