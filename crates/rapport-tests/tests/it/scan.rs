//! The duplicate scan: among all of a tenant's customers, the same person entered twice under
//! a typo, swapped names, a new email or another phone format is found, scored and queued
//! with its probability and per-field evidence; distinct people are left alone.

use std::collections::HashSet;

use http::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Client, Harness};

const FIRST: &[&str] = &[
    "Olivia", "Liam", "Amara", "Kenji", "Priya", "Tomasz", "Ingrid", "Rafael", "Yusuf", "Chloé", "Dmitri", "Siobhán",
    "Mateo", "Aisha", "Björn", "Lucía", "Chinedu", "Mei", "Henrik", "Fatima",
];
const LAST: &[&str] = &[
    "Okafor",
    "Lindqvist",
    "Haddad",
    "Moreau",
    "Tanaka",
    "Kowalczyk",
    "Oyelaran",
    "Fitzgerald",
    "Castellanos",
    "Bergström",
    "Nakamura",
    "Abernathy",
    "Wiśniewska",
    "Delacroix",
    "Rasmussen",
    "Achterberg",
    "Quintero",
    "Vasquez",
    "Oduya",
    "Marchetti",
];
const STREETS: &[&str] = &["Maple", "Harbor", "Linden", "Juniper", "Orchard", "Willow", "Granite", "Beacon"];
const CITIES: &[(&str, &str)] = &[("Boston", "021"), ("Denver", "802"), ("Austin", "787"), ("Seattle", "981")];

/// One distinct person; `i` below 80 gives 80 different people.
fn person(i: usize) -> Value {
    let (city, zip) = CITIES[i % CITIES.len()];
    json!({
        "name": format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7 + i / FIRST.len()) % LAST.len()]),
        "email": format!("person{i}@scan{}.example.com", i % 5),
        "phone": format!("+1 617 555 {:04}", 1000 + i * 37),
        "address": {"street": format!("{} {} Street", 10 + i * 3, STREETS[i % STREETS.len()]), "city": city,
            "postal_code": format!("{zip}{:02}", i % 100)},
        "custom_fields": {"birth_date": format!("19{:02}-{:02}-{:02}", 50 + i % 45, 1 + i % 12, 1 + i % 28)},
    })
}

/// The same person entered again: a typo or swapped name, a new email, the phone written
/// another way, the same address and date of birth.
fn again(i: usize, variant: usize) -> Value {
    let mut p = person(i);
    let name = p["name"].as_str().unwrap().to_string();
    let (first, last) = name.split_once(' ').unwrap();
    p["name"] = json!(match variant % 3 {
        0 => format!("{last} {first}"),
        1 => format!("{first} {}x", &last[..last.len() - 1]),
        _ => format!("{} {last}", first.to_lowercase()),
    });
    p["email"] = json!(format!("again{i}@other.example.org"));
    let digits = 1000 + i * 37;
    p["phone"] = json!(format!("(617) 555-{digits:04}"));
    p["force"] = json!(true);
    p
}

async fn load(h: &Harness, o: &Client, people: usize, dups: &[usize]) -> (Vec<String>, HashSet<(String, String)>) {
    let mut ids = Vec::new();
    for i in 0..people {
        let r = h.customer(o, person(i)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let mut truth = HashSet::new();
    for (n, &i) in dups.iter().enumerate() {
        let r = h.post(o, "/api/v1/customers", again(i, n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let pair = if ids[i] < id { (ids[i].clone(), id) } else { (id, ids[i].clone()) };
        truth.insert(pair);
    }
    (ids, truth)
}

fn scanned(q: &Value) -> Vec<&Value> {
    q["data"].as_array().unwrap().iter().filter(|p| p["probability"].is_number()).collect()
}

both!(scan_finds_corrupted_duplicates_and_leaves_distinct_people, |h| {
    let o = h.tenant("Scan").await;
    let dups = [3, 11, 19, 27, 42, 58];
    let (_, truth) = load(&h, &o, 80, &dups).await;

    let s = h.post(&o, "/api/v1/duplicates/scan", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(s.body["records"], 80 + dups.len());
    assert!(s.body["compared"].as_u64().unwrap() > 0);
    assert!(s.body["model"]["fields"].as_array().unwrap().iter().any(|f| f["field"] == "postal_code"));

    let q = h.get(&o, "/api/v1/duplicates?limit=200").await;
    let found: Vec<&Value> = scanned(&q.body);
    let pairs: HashSet<(String, String)> = found
        .iter()
        .map(|p| (p["customer_a"].as_str().unwrap().to_string(), p["customer_b"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs, truth, "exactly the duplicates, every one of them: {found:#?}");
    for p in &found {
        assert!(p["probability"].as_f64().unwrap() >= 0.9);
        let fields = p["evidence"]["fields"].as_array().unwrap();
        let level = |f: &str| fields.iter().find(|e| e["field"] == f).unwrap()["level"].clone();
        assert_eq!(level("email"), "different", "the new email counts against, and is shown");
        assert_eq!(level("phone"), "exact", "the phone in another format is the same number");
        assert_eq!(level("birth_date"), "exact");
        // The confidence ladder's verdict stands beside the probability.
        assert_eq!(p["confidence"], 90, "{p}");
    }
});

both!(scan_respects_dismissals_permissions_and_bad_input, |h| {
    let o = h.tenant("Scan rules").await;
    let (_, truth) = load(&h, &o, 40, &[5, 17]).await;
    let other = h.tenant("Scan other").await;
    load(&h, &other, 40, &[5]).await;

    let first = h.post(&o, "/api/v1/duplicates/scan", json!({"threshold": 0.95})).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["records"], 42, "another tenant's customers are never read");
    let q = h.get(&o, "/api/v1/duplicates").await;
    let (a, b) = truth.iter().next().unwrap().clone();
    assert!(scanned(&q.body).iter().any(|p| p["customer_a"] == a.as_str() && p["customer_b"] == b.as_str()));
    let d = h.post(&o, &format!("/api/v1/duplicates/{a}/{b}/dismiss"), json!({})).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let rescan = h.post(&o, "/api/v1/duplicates/scan", json!({})).await;
    assert_eq!(rescan.status, StatusCode::OK);
    let q = h.get(&o, "/api/v1/duplicates").await;
    assert!(
        !q.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["customer_a"] == a.as_str() && p["customer_b"] == b.as_str()),
        "a dismissed pair is never proposed again"
    );

    for (body, code) in [
        (json!({"threshold": 1.5}), "out_of_range"),
        (json!({"threshold": 0.1}), "out_of_range"),
        (json!({"max_pairs": 0}), "out_of_range"),
    ] {
        let r = h.post(&o, "/api/v1/duplicates/scan", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code);
    }
    let r = h.post(&o, "/api/v1/duplicates/scan", json!({"everything": true})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    for role in ["viewer", "sales", "support"] {
        let u = h.user(&o, role).await;
        assert_eq!(h.post(&u, "/api/v1/duplicates/scan", json!({})).await.status, StatusCode::FORBIDDEN, "{role}");
    }
});

both!(scan_of_an_empty_tenant_finds_nothing, |h| {
    let o = h.tenant("Scan empty").await;
    let s = h.post(&o, "/api/v1/duplicates/scan", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(s.body["records"], 0);
    assert_eq!(s.body["found"], 0);
});

both!(dedupe_command_scans_one_tenant_and_queues_what_it_finds, |h| {
    let o = h.tenant("Dedupe cli").await;
    let (_, truth) = load(&h, &o, 40, &[8, 21]).await;
    let dir = tempfile::tempdir().unwrap();
    let t = o.tenant_id.to_string();
    let (code, out) = crate::cli::run_db(&h.url, dir.path(), &["dedupe", "--tenant", &t]).await.expect("dedupe");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert!(out.starts_with(&format!("tenant {t}: 42 customers, ")), "{out}");
    assert!(out.contains(", 2 queued for review"), "{out}");
    let q = h.get(&o, "/api/v1/duplicates").await;
    let pairs: HashSet<(String, String)> = scanned(&q.body)
        .iter()
        .map(|p| (p["customer_a"].as_str().unwrap().to_string(), p["customer_b"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs, truth);
    let bad = crate::cli::run_db(&h.url, dir.path(), &["dedupe", "--tenant", &t, "--threshold", "2"]).await;
    assert!(bad.as_ref().is_err_and(|e| e.contains("threshold")), "{bad:?}");
    let nobody = uuid::Uuid::now_v7().to_string();
    let missing = crate::cli::run_db(&h.url, dir.path(), &["dedupe", "--tenant", &nobody]).await;
    assert!(missing.as_ref().is_err_and(|e| e.contains("tenant")), "{missing:?}");
});
