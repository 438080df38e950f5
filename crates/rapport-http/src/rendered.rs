//! Customers as the API writes them, kept by version: building a customer's view and
//! writing it as JSON was most of a list page's CPU (50 customers, about 64 KB), and a page
//! shows the same customers to every user who opens it until one of them changes. A kept
//! JSON text serves a row of exactly its version, in exactly its base currency (every money
//! figure names it), so it is the text `CustomerView` would write for that row now.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use rapport_store::CustomerRow;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::views::CustomerView;

/// A customer's JSON text, written as it is into a page.
#[derive(Debug, Clone)]
pub struct RenderedCustomer(Arc<Rendered>);

#[derive(Debug)]
struct Rendered {
    version: i64,
    currency: Box<str>,
    json: Box<RawValue>,
}

impl Serialize for RenderedCustomer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.json.serialize(s)
    }
}

/// A kept text weighs its length (and a little for its key and bookkeeping).
#[derive(Debug, Clone)]
struct ByLength;

impl Weighter<(Uuid, Uuid), RenderedCustomer> for ByLength {
    fn weight(&self, _: &(Uuid, Uuid), v: &RenderedCustomer) -> u64 {
        v.0.json.get().len() as u64 + 96
    }
}

/// The texts of recently written customers, one per customer, by tenant and id.
pub struct RenderedCustomers {
    kept: Cache<(Uuid, Uuid), RenderedCustomer, ByLength>,
}

impl RenderedCustomers {
    /// Bytes of text kept at most: some 3,000 customers as the generator's data sets have
    /// them (about 1.3 KB each), the first list pages of every busy tenant. (When searches'
    /// customers were kept too, 8 MiB filled and raised the server's memory by 14 MiB,
    /// searches no faster.)
    pub const BYTES: u64 = 4 << 20;

    pub fn new(bytes: u64) -> Self {
        Self { kept: Cache::with_weighter((bytes / 1400).max(1) as usize, bytes.max(1), ByLength) }
    }

    /// `row` as JSON with money in `currency`: the kept text when it is of this version and
    /// currency, else written now (and kept when `keep`).
    pub fn render(&self, row: &CustomerRow, currency: &str, keep: bool) -> Result<RenderedCustomer, serde_json::Error> {
        let key = (row.tenant_id, row.id);
        if let Some(kept) = self.kept.get(&key).filter(|r| r.0.version == row.version && &*r.0.currency == currency) {
            return Ok(kept);
        }
        let json = serde_json::value::to_raw_value(&CustomerView::new(row, currency))?;
        let rendered = RenderedCustomer(Arc::new(Rendered { version: row.version, currency: currency.into(), json }));
        if keep {
            self.kept.insert(key, rendered.clone());
        }
        Ok(rendered)
    }
}

impl Default for RenderedCustomers {
    fn default() -> Self {
        Self::new(Self::BYTES)
    }
}

#[cfg(test)]
mod tests {
    use rapport_core::customer::{CustomerData, Source};
    use rapport_store::CustomerDerived;
    use time::macros::datetime;

    use super::*;

    fn row(name: &str, version: i64) -> CustomerRow {
        let mut data = CustomerData::blank(Source::Manual);
        data.name = name.into();
        let at = datetime!(2026-03-04 05:06:07.089 UTC);
        CustomerRow {
            id: Uuid::from_u128(7),
            tenant_id: Uuid::from_u128(1),
            data,
            lifecycle_updated_at: at,
            derived: CustomerDerived { total_revenue: 1250, ..Default::default() },
            deleted_at: None,
            deleted_by: None,
            merged_into_customer_id: None,
            created_at: at,
            created_by: None,
            updated_at: at,
            updated_by: None,
            version,
        }
    }

    fn text(r: &RenderedCustomer) -> String {
        serde_json::to_string(r).unwrap()
    }

    /// What the view writes for `row` in `currency`, the text a kept one must equal.
    fn view(row: &CustomerRow, currency: &str) -> String {
        serde_json::to_string(&CustomerView::new(row, currency)).unwrap()
    }

    #[test]
    fn the_text_is_the_views_and_is_kept_for_its_version_and_currency() {
        let kept = RenderedCustomers::default();
        let ada = row("Ada Lovelace", 1);
        let first = kept.render(&ada, "EUR", true).unwrap();
        assert_eq!(text(&first), view(&ada, "EUR"));
        assert!(Arc::ptr_eq(&first.0, &kept.render(&ada, "EUR", true).unwrap().0), "the same version is written once");

        // Another version or another currency is written again, from the row given.
        let renamed = row("Ada King", 2);
        let second = kept.render(&renamed, "EUR", true).unwrap();
        assert!(text(&second).contains("\"name\":\"Ada King\""));
        let in_dollars = kept.render(&renamed, "USD", true).unwrap();
        assert_eq!(text(&in_dollars), view(&renamed, "USD"));
        assert_ne!(text(&second), text(&in_dollars));
    }

    #[test]
    fn a_page_holds_the_texts_as_they_are() {
        let kept = RenderedCustomers::default();
        let ada = row("Ada Lovelace", 3);
        let list = crate::views::CustomerList {
            data: vec![kept.render(&ada, "EUR", true).unwrap()],
            next_cursor: Some("c".into()),
        };
        let page: serde_json::Value = serde_json::to_value(&list).unwrap();
        let view = serde_json::to_value(CustomerView::new(&ada, "EUR")).unwrap();
        assert_eq!(page, serde_json::json!({"data": [view], "next_cursor": "c"}));
    }

    #[test]
    fn a_text_not_to_keep_is_written_and_let_go() {
        let kept = RenderedCustomers::default();
        let ada = row("Ada Lovelace", 1);
        let once = kept.render(&ada, "EUR", false).unwrap();
        assert_eq!(text(&once), view(&ada, "EUR"));
        assert_eq!(kept.kept.len(), 0);
        assert!(!Arc::ptr_eq(&once.0, &kept.render(&ada, "EUR", false).unwrap().0));
    }

    #[test]
    fn texts_past_the_bytes_allowed_are_let_go() {
        let kept = RenderedCustomers::new(4096);
        for i in 0..100u128 {
            let mut r = row("Ada Lovelace", 1);
            r.id = Uuid::from_u128(i);
            kept.render(&r, "EUR", true).unwrap();
        }
        assert!(kept.kept.weight() <= 4096, "kept {} bytes", kept.kept.weight());
        assert!((1..100).contains(&kept.kept.len()), "kept {}", kept.kept.len());
    }
}
