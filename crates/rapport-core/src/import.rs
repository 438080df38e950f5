//! CSV import (SPEC section 9): reading a file and turning each row, through a column
//! mapping, into the same JSON input a `POST /customers` takes. What happens to each row
//! (create, update, duplicate, error) is decided by `rapport-app`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{FieldError, Invalid};

/// Where a column's values go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A top-level text field of the customer input, as named there.
    Field(&'static str),
    /// A part of the address: street, city, state, postal_code, country.
    Address(&'static str),
    /// Joined with `LastName` into `name` when no column gives the whole name.
    FirstName,
    LastName,
    /// Tags separated by `;`, `,` or `|`.
    Tags,
    /// A key of `custom_fields`.
    Custom(String),
}

const FIELDS: &[&str] = &[
    "name",
    "company_name",
    "job_title",
    "industry",
    "type",
    "email",
    "phone",
    "website",
    "status",
    "lifecycle_stage",
    "source",
    "source_detail",
    "notes",
    "currency",
    "language",
    "timezone",
    "next_follow_up_at",
    "last_contact_at",
];
const ADDRESS: &[&str] = &["street", "city", "state", "postal_code", "country"];

/// Common spellings of column headers, folded (`fold_header`), and the field each means.
const ALIASES: &[(&str, &str)] = &[
    ("full_name", "name"),
    ("contact_name", "name"),
    ("customer_name", "name"),
    ("customer", "name"),
    ("firstname", "first_name"),
    ("given_name", "first_name"),
    ("first", "first_name"),
    ("lastname", "last_name"),
    ("surname", "last_name"),
    ("family_name", "last_name"),
    ("last", "last_name"),
    ("company", "company_name"),
    ("organization", "company_name"),
    ("organisation", "company_name"),
    ("account", "company_name"),
    ("account_name", "company_name"),
    ("business", "company_name"),
    ("title", "job_title"),
    ("position", "job_title"),
    ("e_mail", "email"),
    ("email_address", "email"),
    ("mail", "email"),
    ("phone_number", "phone"),
    ("telephone", "phone"),
    ("tel", "phone"),
    ("mobile", "phone"),
    ("mobile_phone", "phone"),
    ("cell", "phone"),
    ("web", "website"),
    ("url", "website"),
    ("homepage", "website"),
    ("address", "street"),
    ("street_address", "street"),
    ("address_line_1", "street"),
    ("address1", "street"),
    ("town", "city"),
    ("province", "state"),
    ("region", "state"),
    ("zip", "postal_code"),
    ("zip_code", "postal_code"),
    ("postcode", "postal_code"),
    ("post_code", "postal_code"),
    ("country_code", "country"),
    ("tag", "tags"),
    ("labels", "tags"),
    ("lifecycle", "lifecycle_stage"),
    ("stage", "lifecycle_stage"),
    ("campaign", "source_detail"),
    ("note", "notes"),
    ("comments", "notes"),
    ("customer_type", "type"),
];

/// A header as the aliases know it: lower case, every run of other characters one `_`.
fn fold_header(h: &str) -> String {
    let mut out = String::new();
    for c in h.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The target a field name (as a mapping gives it, or as a header folds) stands for.
fn target_of(name: &str) -> Option<Target> {
    let name = name.trim();
    if let Some(key) = name.strip_prefix("custom_fields.").or_else(|| name.strip_prefix("custom.")) {
        return (!key.trim().is_empty()).then(|| Target::Custom(key.trim().to_string()));
    }
    let bare = name.strip_prefix("address.").unwrap_or(name);
    if let Some(a) = ADDRESS.iter().find(|a| **a == bare) {
        return Some(Target::Address(a));
    }
    match name {
        "first_name" => Some(Target::FirstName),
        "last_name" => Some(Target::LastName),
        "tags" => Some(Target::Tags),
        _ => FIELDS.iter().find(|f| **f == name).map(|f| Target::Field(f)),
    }
}

impl Target {
    /// The name a mapping uses for it.
    pub fn name(&self) -> String {
        match self {
            Target::Field(f) => (*f).to_string(),
            Target::Address(a) => format!("address.{a}"),
            Target::FirstName => "first_name".into(),
            Target::LastName => "last_name".into(),
            Target::Tags => "tags".into(),
            Target::Custom(k) => format!("custom_fields.{k}"),
        }
    }
}

/// Which column goes where. Built from the file's headers and an explicit mapping
/// (header → field name, or null to skip the column); headers the mapping does not name are
/// recognised by their name or a common alias ("E-mail", "Zip", "Company").
#[derive(Debug, Clone)]
pub struct Mapping {
    headers: Vec<String>,
    columns: Vec<Option<Target>>,
}

impl Mapping {
    pub fn new(headers: &[String], explicit: &BTreeMap<String, Option<String>>) -> Result<Mapping, Invalid> {
        let mut errs = Invalid::default();
        for (header, field) in explicit {
            let field_name = format!("mapping.{header}");
            if !headers.iter().any(|h| h.trim() == header.trim()) {
                errs.push(FieldError::new(
                    field_name.clone(),
                    "unknown_column",
                    format!("the file has no column {header:?}"),
                ));
            }
            if let Some(f) = field {
                if target_of(f).is_none() {
                    errs.push(FieldError::new(field_name, "unknown_field", format!("{f:?} is not a customer field")));
                }
            }
        }
        let columns: Vec<Option<Target>> = headers
            .iter()
            .map(|h| match explicit.iter().find(|(k, _)| k.trim() == h.trim()) {
                Some((_, f)) => f.as_deref().and_then(target_of),
                None => {
                    let folded = fold_header(h);
                    let alias = ALIASES.iter().find(|(a, _)| *a == folded).map(|(_, f)| *f);
                    target_of(alias.unwrap_or(&folded))
                }
            })
            .collect();
        for (i, t) in columns.iter().enumerate() {
            if let Some(t) = t {
                if columns[..i].iter().any(|o| o.as_ref() == Some(t)) {
                    errs.push(FieldError::new(
                        "mapping",
                        "duplicate_target",
                        format!("two columns go to {}; map one of them elsewhere or to null", t.name()),
                    ));
                }
            }
        }
        let has = |f: &dyn Fn(&Target) -> bool| columns.iter().flatten().any(f);
        if !has(&|t| matches!(t, Target::Field("name") | Target::FirstName | Target::LastName)) {
            errs.push(FieldError::new("mapping", "name_column_required", "no column gives the name"));
        }
        if !has(&|t| matches!(t, Target::Field("email") | Target::Field("phone"))) {
            errs.push(FieldError::new("mapping", "contact_column_required", "no column gives an email or a phone"));
        }
        errs.into_result()?;
        Ok(Mapping { headers: headers.to_vec(), columns })
    }

    /// Each header with the field it goes to (None: ignored).
    pub fn describe(&self) -> Vec<(String, Option<String>)> {
        self.headers.iter().zip(&self.columns).map(|(h, t)| (h.clone(), t.as_ref().map(Target::name))).collect()
    }

    /// The customer input of one row. Empty cells are left out.
    pub fn row_input(&self, cells: &[String]) -> Value {
        let mut m = Map::new();
        let mut address = Map::new();
        let mut custom = Map::new();
        let (mut first, mut last) = (None, None);
        for (cell, target) in cells.iter().zip(&self.columns) {
            let (Some(target), value) = (target, cell.trim()) else { continue };
            if value.is_empty() {
                continue;
            }
            match target {
                Target::Field(f) => {
                    m.insert((*f).to_string(), value.into());
                }
                Target::Address(a) => {
                    address.insert((*a).to_string(), value.into());
                }
                Target::FirstName => first = Some(value),
                Target::LastName => last = Some(value),
                Target::Tags => {
                    let tags: Vec<Value> = value
                        .split([';', ',', '|'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| t.into())
                        .collect();
                    m.insert("tags".into(), Value::Array(tags));
                }
                Target::Custom(k) => {
                    custom.insert(k.clone(), value.into());
                }
            }
        }
        if !m.contains_key("name") {
            let joined = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
            if !joined.is_empty() {
                m.insert("name".into(), joined.into());
            }
        }
        if !address.is_empty() {
            m.insert("address".into(), Value::Object(address));
        }
        if !custom.is_empty() {
            m.insert("custom_fields".into(), Value::Object(custom));
        }
        Value::Object(m)
    }
}

/// One record of the file: the line it starts on (the header is line 1) and its cells, or
/// why it could not be read.
#[derive(Debug, Clone)]
pub struct CsvRow {
    pub line: u64,
    pub cells: Result<Vec<String>, FieldError>,
}

/// A CSV file: its header, and its records read one at a time (an import of a large file
/// holds one chunk of rows, not the whole file decoded). A leading byte order mark is
/// skipped; a record with more cells than the header, or a cell that is not UTF-8, is an
/// error of that row alone; missing trailing cells are empty; blank rows are skipped.
pub fn read_csv(bytes: &[u8]) -> Result<(Vec<String>, CsvRows<'_>), Invalid> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    let mut records =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes).into_byte_records();
    let headers: Vec<String> = match records.next() {
        None => return Err(Invalid::one("", "empty_file", "the file is empty: it needs a header row")),
        Some(Err(e)) => return Err(Invalid::one("", "malformed_csv", format!("the header row cannot be read: {e}"))),
        Some(Ok(h)) => match h.iter().map(|c| String::from_utf8(c.to_vec())).collect::<Result<Vec<_>, _>>() {
            Ok(h) => h.into_iter().map(|s| s.trim().to_string()).collect(),
            Err(_) => return Err(Invalid::one("", "invalid_encoding", "the header row is not UTF-8")),
        },
    };
    let mut rows = CsvRows { records, width: headers.len(), first: None };
    rows.first = rows.next();
    if rows.first.is_none() {
        return Err(Invalid::one("", "empty_file", "the file has a header and no rows"));
    }
    Ok((headers, rows))
}

/// The records of a CSV file after its header, in order.
pub struct CsvRows<'a> {
    records: csv::ByteRecordsIntoIter<&'a [u8]>,
    /// Cells in the header.
    width: usize,
    /// The first record, read ahead to tell a file without rows.
    first: Option<CsvRow>,
}

impl std::fmt::Debug for CsvRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows").field("width", &self.width).finish_non_exhaustive()
    }
}

impl Iterator for CsvRows<'_> {
    type Item = CsvRow;

    fn next(&mut self) -> Option<CsvRow> {
        if let Some(r) = self.first.take() {
            return Some(r);
        }
        loop {
            let r = match self.records.next()? {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Some(CsvRow { line, cells: Err(FieldError::new("", "malformed_row", e.to_string())) });
                }
            };
            if r.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            let line = r.position().map(|p| p.line()).unwrap_or(0);
            let cells = if r.len() > self.width {
                Err(FieldError::new(
                    "",
                    "too_many_cells",
                    format!("the row has {} cells and the header {}", r.len(), self.width),
                ))
            } else {
                r.iter()
                    .map(|c| String::from_utf8(c.to_vec()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| FieldError::new("", "invalid_encoding", "the row is not UTF-8"))
            };
            return Some(CsvRow { line, cells });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_are_recognised_by_name_and_alias() {
        let m = Mapping::new(
            &headers(&["First Name", "Surname", "E-mail", "Zip", "Company", "Shoe size"]),
            &BTreeMap::new(),
        )
        .unwrap();
        let d = m.describe();
        assert_eq!(d[0].1.as_deref(), Some("first_name"));
        assert_eq!(d[1].1.as_deref(), Some("last_name"));
        assert_eq!(d[2].1.as_deref(), Some("email"));
        assert_eq!(d[3].1.as_deref(), Some("address.postal_code"));
        assert_eq!(d[4].1.as_deref(), Some("company_name"));
        assert_eq!(d[5].1, None);
        let cells: Vec<String> =
            ["Ana", "Pérez", " ana@x.es ", "28001", "", "44"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            m.row_input(&cells),
            json!({"name": "Ana Pérez", "email": "ana@x.es", "address": {"postal_code": "28001"}})
        );
    }

    #[test]
    fn an_explicit_mapping_wins_and_can_skip_a_column() {
        let explicit: BTreeMap<String, Option<String>> = [
            ("Kontakt".to_string(), Some("name".to_string())),
            ("Mail".to_string(), None),
            ("Telefon".to_string(), Some("phone".to_string())),
            ("Größe".to_string(), Some("custom.size".to_string())),
            ("Labels".to_string(), Some("tags".to_string())),
        ]
        .into();
        let m = Mapping::new(&headers(&["Kontakt", "Mail", "Telefon", "Größe", "Labels"]), &explicit).unwrap();
        let cells: Vec<String> =
            ["Jörg", "j@x.de", "030 1234567", "XL", "vip; north |b2b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            m.row_input(&cells),
            json!({"name": "Jörg", "phone": "030 1234567", "custom_fields": {"size": "XL"}, "tags": ["vip", "north", "b2b"]})
        );
    }

    #[test]
    fn a_mapping_without_name_or_contact_or_with_clashes_is_refused() {
        let e = Mapping::new(&headers(&["Email", "Mail"]), &BTreeMap::new()).unwrap_err();
        let codes: Vec<_> = e.0.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"duplicate_target"), "{codes:?}");
        assert!(codes.contains(&"name_column_required"), "{codes:?}");
        let e = Mapping::new(&headers(&["Name"]), &BTreeMap::new()).unwrap_err();
        assert_eq!(e.0[0].code, "contact_column_required");
        let bad: BTreeMap<String, Option<String>> =
            [("Name".to_string(), Some("nickname".to_string())), ("Nope".to_string(), None)].into();
        let e = Mapping::new(&headers(&["Name", "Email"]), &bad).unwrap_err();
        let codes: Vec<_> = e.0.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["unknown_field", "unknown_column", "name_column_required"]);
    }

    #[test]
    fn reading_keeps_lines_and_isolates_bad_rows() {
        let file = "\u{feff}name,email\nAna,a@x.es\n\"Bo\nBo\",b@x.es\nC,c@x.es,extra\n\n,\nD\n";
        let (h, rows) = read_csv(file.as_bytes()).unwrap();
        let rows: Vec<CsvRow> = rows.collect();
        assert_eq!(h, ["name", "email"]);
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5, 8]);
        assert_eq!(rows[1].cells.as_ref().unwrap()[0], "Bo\nBo");
        assert_eq!(rows[2].cells.as_ref().unwrap_err().code, "too_many_cells");
        assert_eq!(rows[3].cells.as_ref().unwrap(), &["D"]);
        assert_eq!(read_csv(b"").unwrap_err().0[0].code, "empty_file");
        assert_eq!(read_csv(b"name,email\n").unwrap_err().0[0].code, "empty_file");
        let (_, mut rows) = read_csv(b"name,email\n\xff,a@b.c\n").unwrap();
        assert_eq!(rows.next().unwrap().cells.as_ref().unwrap_err().code, "invalid_encoding");
    }
}
