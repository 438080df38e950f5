//! Validation of every customer field (SPEC section 3) through create and PATCH: each bad
//! input answers 422 `validation_failed` naming the exact field and code, every bad field
//! is reported at once, and nothing is written.

use http::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{unique_email, Client, Harness, Reply};

/// The `(field, code)` pairs of a 422 answer, after checking it is a validation problem.
fn field_errors(r: &Reply) -> Vec<(String, String)> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.code(), "validation_failed", "{:?}", r.body);
    assert_eq!(r.header("content-type"), "application/problem+json");
    r.body["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "every error has a message: {e}");
            (e["field"].as_str().unwrap().to_string(), e["code"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect()
}

fn chars(n: usize) -> String {
    "x".repeat(n)
}

/// `base` with the keys of `over` set over it.
fn merged(base: &Value, over: &Value) -> Value {
    let mut out = base.clone();
    for (k, v) in over.as_object().unwrap() {
        out[k] = v.clone();
    }
    out
}

/// Bad values of one or a few fields, each with the exact errors it answers. They apply to a
/// create (over a valid body) and to a PATCH of a valid individual customer alike.
fn field_cases() -> Vec<(Value, Vec<(&'static str, &'static str)>)> {
    let email_256 = format!("{}@example.com", "a".repeat(256 - "@example.com".len()));
    assert_eq!(email_256.chars().count(), 256);
    let fifty_one_tags: Vec<String> = (0..51).map(|i| format!("tag-{i}")).collect();
    let big = json!({"blob": chars(16 * 1024 + 1)});
    vec![
        (json!({"name": ""}), vec![("name", "required")]),
        (json!({"name": "   "}), vec![("name", "required")]),
        (json!({"name": null}), vec![("name", "required")]),
        (json!({"name": chars(201)}), vec![("name", "too_long")]),
        (json!({"name": 42}), vec![("name", "invalid_type")]),
        (json!({"email": "not-an-email"}), vec![("email", "invalid_email")]),
        (json!({"email": "ann@localhost"}), vec![("email", "invalid_email")]),
        (json!({"email": email_256}), vec![("email", "too_long")]),
        (json!({"phone": "abc"}), vec![("phone", "invalid_phone")]),
        (json!({"phone": "1".repeat(51)}), vec![("phone", "too_long")]),
        (json!({"company_name": chars(201)}), vec![("company_name", "too_long")]),
        (json!({"job_title": chars(101)}), vec![("job_title", "too_long")]),
        (json!({"industry": chars(101)}), vec![("industry", "too_long")]),
        (json!({"type": "alien"}), vec![("type", "invalid_value")]),
        (json!({"type": "business"}), vec![("company_name", "required")]),
        (json!({"website": "not a url"}), vec![("website", "invalid_url")]),
        (json!({"website": "ftp://files.example.com"}), vec![("website", "invalid_url")]),
        (json!({"website": format!("https://{}.com", chars(252))}), vec![("website", "too_long")]),
        (json!({"address": {"postal_code": chars(21)}}), vec![("address.postal_code", "too_long")]),
        (json!({"address": {"street": chars(501)}}), vec![("address.street", "too_long")]),
        (json!({"address": {"country": "XX"}}), vec![("address.country", "invalid_country")]),
        (json!({"address": {"planet": "Mars"}}), vec![("address.planet", "unknown_field")]),
        (json!({"address": 42}), vec![("address", "invalid_type")]),
        (json!({"status": "weird"}), vec![("status", "invalid_value")]),
        (json!({"lifecycle_stage": "x"}), vec![("lifecycle_stage", "invalid_value")]),
        (json!({"tags": fifty_one_tags}), vec![("tags", "too_many")]),
        (json!({"tags": [chars(65)]}), vec![("tags[0]", "too_long")]),
        (json!({"tags": ["ok", ""]}), vec![("tags[1]", "required")]),
        (json!({"tags": [7]}), vec![("tags[0]", "invalid_type")]),
        (json!({"tags": "vip"}), vec![("tags", "invalid_type")]),
        (json!({"source": "tv"}), vec![("source", "invalid_value")]),
        (json!({"source_detail": chars(201)}), vec![("source_detail", "too_long")]),
        (json!({"assigned_to": "not-a-uuid"}), vec![("assigned_to", "invalid_id")]),
        (json!({"assigned_to": uuid::Uuid::now_v7()}), vec![("assigned_to", "invalid_reference")]),
        (json!({"currency": "EURO"}), vec![("currency", "invalid_currency")]),
        (json!({"language": "not a tag!!"}), vec![("language", "invalid_language")]),
        (json!({"timezone": "Mars/Base"}), vec![("timezone", "invalid_timezone")]),
        (json!({"bant": {"budget": "maybe"}}), vec![("bant.budget", "invalid_value")]),
        (json!({"bant": "yes"}), vec![("bant", "invalid_type")]),
        (json!({"preferences": {"email": "yes"}}), vec![("preferences.email", "invalid_type")]),
        (json!({"notes": chars(5001)}), vec![("notes", "too_long")]),
        (json!({"custom_fields": big}), vec![("custom_fields", "too_large")]),
        (json!({"custom_fields": [1, 2]}), vec![("custom_fields", "invalid_type")]),
        (json!({"next_follow_up_at": "tomorrow"}), vec![("next_follow_up_at", "invalid_time")]),
        (json!({"last_contact_at": "2025-13-01T00:00:00Z"}), vec![("last_contact_at", "invalid_time")]),
        (json!({"colour": "red"}), vec![("colour", "unknown_field")]),
    ]
}

/// Sorted, so a test of several errors does not depend on the order they are found in.
fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

async fn count_customers(h: &Harness, o: &Client) -> usize {
    let l = h.get(o, "/api/v1/customers?include_deleted=true&limit=200").await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    l.body["data"].as_array().unwrap().len()
}

both!(every_bad_field_on_create_answers_its_exact_error_and_writes_nothing, |h| {
    let o = h.tenant("Valid").await;
    let base = json!({"name": "Val Kilmer", "email": unique_email("val")});
    for (over, want) in field_cases() {
        let body = merged(&base, &over);
        let r = h.post(&o, "/api/v1/customers", body).await;
        assert_eq!(field_errors(&r), pairs(&want), "create with {over}");
    }
    // Rules for the record as a whole, on a create.
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (json!({"email": unique_email("noname")}), vec![("name", "required")]),
        (json!({"name": "No Contact"}), vec![("email", "email_or_phone_required")]),
        (json!({"name": "No Contact", "email": null, "phone": null}), vec![("email", "email_or_phone_required")]),
        (
            json!({"name": "Biz", "email": unique_email("biz"), "type": "government"}),
            vec![("company_name", "required")],
        ),
        (
            json!({"name": "Gone", "email": unique_email("gone"), "status": "deleted"}),
            vec![("status", "invalid_value")],
        ),
        (json!([{"name": "In an array", "email": unique_email("arr")}]), vec![("", "invalid_type")]),
    ];
    for (body, want) in cases {
        let r = h.post(&o, "/api/v1/customers", body.clone()).await;
        assert_eq!(field_errors(&r), pairs(&want), "create with {body}");
    }
    assert_eq!(count_customers(&h, &o).await, 0, "a refused create writes nothing");
    let audit = h.get(&o, "/api/v1/audit?table=customers").await;
    assert_eq!(audit.body["data"], json!([]), "nor any audit entry");
});

both!(every_bad_field_on_patch_answers_its_exact_error_and_changes_nothing, |h| {
    let o = h.tenant("Patchy").await;
    let c = h.customer(&o, json!({"name": "Pat Chy", "email": unique_email("pat")})).await;
    let path = format!("/api/v1/customers/{}", c.id());
    for (over, want) in field_cases() {
        let r = h.patch(&o, &path, over.clone()).await;
        assert_eq!(field_errors(&r), pairs(&want), "PATCH with {over}");
    }
    let now = h.get(&o, &path).await;
    assert_eq!(now.status, StatusCode::OK);
    assert_eq!(now.body, c.body, "a refused PATCH changes nothing, not even the version");
    let t = h.get(&o, &format!("{path}/timeline")).await;
    let types: Vec<&str> = t.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["created"]);
    let a = h.get(&o, &format!("{path}/audit")).await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 1, "only the insert is audited");
});

both!(several_bad_fields_are_all_reported_at_once, |h| {
    let o = h.tenant("Many").await;
    let body = json!({
        "name": "",
        "email": "bad@",
        "phone": "abc",
        "type": "alien",
        "tags": [1, chars(65)],
        "address": {"country": "XX", "postal_code": chars(21)},
        "bant": {"need": "perhaps"},
        "currency": "EURO",
        "colour": "red",
    });
    let r = h.post(&o, "/api/v1/customers", body).await;
    let want = pairs(&[
        ("name", "required"),
        ("email", "invalid_email"),
        ("phone", "invalid_phone"),
        ("type", "invalid_value"),
        ("tags[0]", "invalid_type"),
        ("tags[1]", "too_long"),
        ("address.country", "invalid_country"),
        ("address.postal_code", "too_long"),
        ("bant.need", "invalid_value"),
        ("currency", "invalid_currency"),
        ("colour", "unknown_field"),
    ]);
    assert_eq!(sorted(field_errors(&r)), sorted(want));
    assert_eq!(count_customers(&h, &o).await, 0);

    let c = h.customer(&o, json!({"name": "Ok", "email": unique_email("ok")})).await;
    let p = h
        .patch(
            &o,
            &format!("/api/v1/customers/{}", c.id()),
            json!({"lifecycle_stage": "x", "timezone": "Mars/Base", "notes": chars(5001)}),
        )
        .await;
    assert_eq!(
        sorted(field_errors(&p)),
        sorted(pairs(&[("lifecycle_stage", "invalid_value"), ("timezone", "invalid_timezone"), ("notes", "too_long")]))
    );
});

both!(valid_edge_cases_are_accepted_and_normalized, |h| {
    let o = h.tenant("Edges").await;
    let long_name = "N".repeat(200);
    let c = h.customer(&o, json!({"name": long_name, "email": unique_email("long")})).await;
    assert_eq!(c.body["name"], long_name);

    let accented = "Zoë Ångström-Núñez 李";
    let c = h.customer(&o, json!({"name": format!("  {accented}  "), "email": unique_email("zoe")})).await;
    assert_eq!(c.body["name"], accented, "kept as written, trimmed");

    let c = h
        .customer(
            &o,
            json!({
                "name": "Street Only",
                "phone": "+44 20 7946 0958",
                "address": "12 Rue de la Paix, 75002 Paris",
                "currency": "eur",
                "website": "example.com/about",
                "language": "pt-BR",
                "timezone": "Europe/Paris",
                "tags": [chars(64)],
                "notes": chars(5000),
                "source": "trade_show",
                "source_detail": chars(200),
                "bant": {"budget": "yes", "need": "no"},
                "preferences": {"email": true, "do_not_contact": false},
                "custom_fields": {"size": 3, "nested": {"a": [1, 2]}},
                "next_follow_up_at": "2030-01-02T03:04:05+02:00",
                "type": "non_profit",
                "company_name": "Helpers",
            }),
        )
        .await;
    let b = &c.body;
    assert_eq!(b["address"]["street"], "12 Rue de la Paix, 75002 Paris");
    assert!(b["address"]["city"].is_null());
    assert_eq!(b["currency"], "EUR");
    assert_eq!(b["website"], "example.com/about");
    assert_eq!(b["language"], "pt-BR");
    assert_eq!(b["timezone"], "Europe/Paris");
    assert_eq!(b["tags"], json!([chars(64)]));
    assert_eq!(b["source"], "trade_show");
    assert_eq!(b["bant"], json!({"budget": "yes", "authority": "unknown", "need": "no", "timeline": "unknown"}));
    assert_eq!(b["preferences"]["email"], true);
    assert_eq!(b["custom_fields"], json!({"size": 3, "nested": {"a": [1, 2]}}));
    assert_eq!(b["next_follow_up_at"], "2030-01-02T01:04:05.000000Z", "times are kept in UTC");
    assert_eq!(b["type"], "non_profit");
    assert_eq!(b["phone_e164"], "+442079460958");
    assert!(b["email"].is_null());
    // What was written is what is read back.
    let g = h.get(&o, &format!("/api/v1/customers/{}", c.id())).await;
    assert_eq!(g.body, c.body);

    // Exactly 50 tags is allowed; 16 KiB of custom fields too.
    let tags: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let fit = "y".repeat(16 * 1024 - r#"{"k":""}"#.len());
    let c = h
        .customer(&o, json!({"name": "Full", "email": unique_email("full"), "tags": tags, "custom_fields": {"k": fit}}))
        .await;
    assert_eq!(c.body["tags"].as_array().unwrap().len(), 50);
    assert_eq!(count_customers(&h, &o).await, 4);
});

both!(a_patch_may_not_remove_both_email_and_phone, |h| {
    let o = h.tenant("Contact").await;
    let c = h.customer(&o, json!({"name": "Cal", "email": unique_email("cal"), "phone": "+1 415 555 0100"})).await;
    let path = format!("/api/v1/customers/{}", c.id());
    let r = h.patch(&o, &path, json!({"email": null, "phone": null})).await;
    assert_eq!(field_errors(&r), pairs(&[("email", "email_or_phone_required")]));
    assert_eq!(h.get(&o, &path).await.body["version"], 1);

    // One at a time: the phone alone is enough, and then it must stay.
    let r = h.patch(&o, &path, json!({"email": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["email"].is_null());
    let r = h.patch(&o, &path, json!({"phone": null})).await;
    assert_eq!(field_errors(&r), pairs(&[("email", "email_or_phone_required")]));
    let now = h.get(&o, &path).await;
    assert_eq!(now.body["phone"], "+1 415 555 0100");
    assert_eq!(now.body["version"], 2);
});
