//! Converting DuckDB values of any type into JSON, for query results.

use chrono::{DateTime, NaiveDate};
use duckdb::types::{TimeUnit, Value};
use serde_json::{Map, Number, Value as Json};

use crate::model::format_time;

/// Converts one DuckDB value into JSON. Times become RFC 3339 strings; numbers that JSON cannot
/// hold exactly (huge integers, decimals) become strings; blobs become hex strings.
pub fn to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::TinyInt(i) => Json::from(i),
        Value::SmallInt(i) => Json::from(i),
        Value::Int(i) => Json::from(i),
        Value::BigInt(i) => Json::from(i),
        Value::UTinyInt(i) => Json::from(i),
        Value::USmallInt(i) => Json::from(i),
        Value::UInt(i) => Json::from(i),
        Value::UBigInt(i) => Json::from(i),
        Value::HugeInt(i) => {
            i64::try_from(i).map_or_else(|_| Json::String(i.to_string()), Json::from)
        }
        Value::UHugeInt(i) => {
            u64::try_from(i).map_or_else(|_| Json::String(i.to_string()), Json::from)
        }
        Value::Float(f) => float(f64::from(f)),
        Value::Double(f) => float(f),
        Value::Decimal(d) => Json::String(d.to_string()),
        Value::Timestamp(unit, n) => timestamp(unit, n),
        Value::Text(s) | Value::Enum(s) => Json::String(s),
        Value::Blob(b) | Value::Geometry(b) => Json::String(hex(&b)),
        Value::Date32(days) => NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(days))))
            .map_or(Json::Null, |d| Json::String(d.to_string())),
        Value::Time64(unit, n) => {
            let micros = unit.to_micros(n);
            let secs = micros.div_euclid(1_000_000);
            let frac = micros.rem_euclid(1_000_000);
            Json::String(format!(
                "{:02}:{:02}:{:02}.{frac:06}",
                secs / 3600,
                (secs / 60) % 60,
                secs % 60
            ))
        }
        Value::Interval {
            months,
            days,
            nanos,
        } => Json::String(format!("{months} months {days} days {} us", nanos / 1000)),
        Value::List(items) | Value::Array(items) => {
            Json::Array(items.into_iter().map(to_json).collect())
        }
        Value::Struct(fields) => {
            let mut map = Map::new();
            for (k, v) in fields.iter() {
                map.insert(k.clone(), to_json(v.clone()));
            }
            Json::Object(map)
        }
        Value::Map(entries) => Json::Array(
            entries
                .iter()
                .map(|(k, v)| Json::Array(vec![to_json(k.clone()), to_json(v.clone())]))
                .collect(),
        ),
        Value::Union(inner) => to_json(*inner),
        other => Json::String(format!("{other:?}")),
    }
}

fn float(f: f64) -> Json {
    Number::from_f64(f).map_or_else(|| Json::String(f.to_string()), Json::Number)
}

fn timestamp(unit: TimeUnit, n: i64) -> Json {
    DateTime::from_timestamp_micros(unit.to_micros(n)).map_or_else(
        || Json::String(n.to_string()),
        |t| Json::String(format_time(&t)),
    )
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2 + 2);
    out.push_str("0x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
