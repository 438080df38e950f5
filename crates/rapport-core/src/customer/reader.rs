//! Reads typed fields out of a JSON object, collecting one error per bad field.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{FieldError, Invalid, Patch};

pub(super) struct Reader<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'a str,
    pub errs: Invalid,
}

fn wrong_type(field: String, want: &str) -> FieldError {
    FieldError::new(field.clone(), "invalid_type", format!("{field} must be {want}"))
}

impl<'a> Reader<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self { obj, prefix, errs: Invalid::default() }
    }

    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub fn raw(&self, key: &str) -> Patch<&'a Value> {
        match self.obj.get(key) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(v) => Patch::Value(v),
        }
    }

    /// A string field; a number is not silently turned into text.
    pub fn string(&mut self, key: &str) -> Patch<&'a str> {
        match self.raw(key) {
            Patch::Value(Value::String(s)) => Patch::Value(s.as_str()),
            Patch::Value(_) => {
                self.errs.push(wrong_type(self.name(key), "a string"));
                Patch::Absent
            }
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    /// A string parsed by `f`; errors are recorded and the field left unchanged.
    pub fn parsed<T>(&mut self, key: &str, f: impl FnOnce(&str, &str) -> Result<T, FieldError>) -> Patch<T> {
        let field = self.name(key);
        match self.string(key).try_map(|s| f(&field, s)) {
            Ok(p) => p,
            Err(e) => {
                self.errs.push(e);
                Patch::Absent
            }
        }
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.raw(key) {
            Patch::Value(Value::Bool(b)) => Some(*b),
            Patch::Absent => None,
            _ => {
                self.errs.push(wrong_type(self.name(key), "true or false"));
                None
            }
        }
    }

    pub fn time(&mut self, key: &str) -> Patch<OffsetDateTime> {
        self.parsed(key, |field, s| {
            OffsetDateTime::parse(s, &Rfc3339)
                .map(|t| t.to_offset(time::UtcOffset::UTC))
                .map_err(|_| FieldError::new(field, "invalid_time", format!("{field} must be an RFC 3339 time")))
        })
    }

    pub fn uuid(&mut self, key: &str) -> Patch<Uuid> {
        self.parsed(key, |field, s| {
            Uuid::parse_str(s).map_err(|_| FieldError::new(field, "invalid_id", format!("{field} must be a UUID")))
        })
    }

    pub fn object(&mut self, key: &str) -> Patch<&'a Map<String, Value>> {
        match self.raw(key) {
            Patch::Value(Value::Object(m)) => Patch::Value(m),
            Patch::Value(_) => {
                self.errs.push(wrong_type(self.name(key), "an object"));
                Patch::Absent
            }
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    pub fn array(&mut self, key: &str) -> Patch<&'a Vec<Value>> {
        match self.raw(key) {
            Patch::Value(Value::Array(a)) => Patch::Value(a),
            Patch::Value(_) => {
                self.errs.push(wrong_type(self.name(key), "an array"));
                Patch::Absent
            }
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    /// Records an error for every key not in `known`.
    pub fn reject_unknown(&mut self, known: &[&str]) {
        for k in self.obj.keys() {
            if !known.contains(&k.as_str()) {
                let field = self.name(k);
                self.errs.push(FieldError::new(
                    field.clone(),
                    "unknown_field",
                    format!("{field} is not a field of this record"),
                ));
            }
        }
    }
}
