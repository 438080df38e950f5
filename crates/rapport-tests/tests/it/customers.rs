//! The customer record end to end: create, read, update, delete, restore, list, timeline.

use http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Backend};

both!(crud_flow_with_etags_and_soft_delete, |h| {
    let o = h.tenant("Acme").await;
    let email = unique_email("ann");
    let c = h
        .customer(
            &o,
            json!({"name": "Ann Lee", "email": email, "phone": "(555) 123-4567", "tags": ["VIP", "vip", "Wholesale"]}),
        )
        .await;
    let id = c.id();
    assert_eq!(c.header("etag"), "\"1\"");
    assert_eq!(c.header("location"), format!("/api/v1/customers/{id}"));
    assert_eq!(c.body["tags"], json!(["VIP", "Wholesale"]), "tags are unique case-insensitively, first spelling kept");
    assert_eq!(c.body["phone_e164"], "+15551234567");
    assert_eq!(c.body["lifecycle_stage"], "prospect");
    assert_eq!(c.body["source"], "manual");

    let g = h.get(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body, c.body);

    let p = h
        .patch(
            &o,
            &format!("/api/v1/customers/{id}"),
            json!({"lifecycle_stage": "customer", "status_reason": "signed", "city": null}),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown field city is refused: {:?}", p.body);
    assert_eq!(p.body["errors"][0]["field"], "city");

    let p = h.patch(&o, &format!("/api/v1/customers/{id}"), json!({"lifecycle_stage": "customer", "status_reason": "signed", "address": {"city": "Lyon", "country": "fr"}})).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["version"], 2);
    assert_eq!(p.header("etag"), "\"2\"");
    assert_eq!(p.body["address"]["country"], "FR");
    assert_ne!(p.body["lifecycle_updated_at"], c.body["lifecycle_updated_at"]);

    // PUT is a partial update too.
    let put = h
        .call(Method::PUT, &format!("/api/v1/customers/{id}"), Some(&o.token), Some(json!({"job_title": "CTO"})))
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["job_title"], "CTO");
    assert_eq!(put.body["name"], "Ann Lee");

    // A change that changes nothing keeps the version.
    let same = h.patch(&o, &format!("/api/v1/customers/{id}"), json!({"job_title": "CTO"})).await;
    assert_eq!(same.body["version"], 3);

    let d = h.delete(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{id}")).await.status, StatusCode::NOT_FOUND);
    let list = h.get(&o, "/api/v1/customers").await;
    assert!(
        list.body["data"].as_array().unwrap().iter().all(|c| c["id"] != id.to_string()),
        "deleted customers leave lists"
    );
    let with = h.get(&o, "/api/v1/customers?include_deleted=true").await;
    assert!(
        with.body["data"].as_array().unwrap().iter().any(|c| c["id"] == id.to_string()),
        "managers up can ask for them"
    );
    let seen = h.get(&o, &format!("/api/v1/customers/{id}?include_deleted=true")).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body["deleted_at"].is_string());

    let r = h.post(&o, &format!("/api/v1/customers/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["deleted_at"].is_null());
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{id}")).await.status, StatusCode::OK);
});

both!(status_aliases_of_section_one, |h| {
    let o = h.tenant("Alias").await;
    let c = h.customer(&o, json!({"name": "Bo", "email": unique_email("bo"), "status": "lead", "type": "company", "company_name": "Bo Ltd"})).await;
    assert_eq!(c.body["lifecycle_stage"], "lead");
    assert_eq!(c.body["status"], "active");
    assert_eq!(c.body["type"], "business");
    let id = c.id();
    let d = h.patch(&o, &format!("/api/v1/customers/{id}"), json!({"status": "deleted"})).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    assert!(d.body["deleted_at"].is_string());
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{id}")).await.status, StatusCode::NOT_FOUND);
});

both!(duplicate_email_is_refused_unless_forced_by_a_manager, |h| {
    let o = h.tenant("Dup").await;
    let email = unique_email("dup");
    let first = h.customer(&o, json!({"name": "John", "email": email})).await;
    let again = h.post(&o, "/api/v1/customers", json!({"name": "Johnny", "email": email.to_uppercase()})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "customer_duplicate");
    assert_eq!(again.body["matches"][0]["customer_id"], first.body["id"]);
    assert_eq!(again.body["matches"][0]["confidence"], 100);
    assert_eq!(again.header("content-type"), "application/problem+json");

    let sales = h.user(&o, "sales").await;
    let s = h.post(&sales, "/api/v1/customers", json!({"name": "Johnny", "email": email, "force": true})).await;
    assert_eq!(s.status, StatusCode::FORBIDDEN, "sales may not force: {:?}", s.body);
    let m = h.user(&o, "manager").await;
    let forced = h.post(&m, "/api/v1/customers", json!({"name": "Johnny", "email": email, "force": true})).await;
    assert_eq!(forced.status, StatusCode::CREATED, "{:?}", forced.body);
});

both!(stale_if_match_answers_412_and_one_concurrent_writer_wins, |h| {
    let o = h.tenant("Race").await;
    let c = h.customer(&o, json!({"name": "Cy", "email": unique_email("cy")})).await;
    let id = c.id();
    let path = format!("/api/v1/customers/{id}");
    let stale =
        h.call_with(Method::PATCH, &path, Some(&o.token), Some(json!({"notes": "x"})), &[("if-match", "\"7\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.code(), "version_mismatch");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let token = o.token.clone();
            let h = &h;
            async move {
                h.call_with(
                    Method::PATCH,
                    &path,
                    Some(&token),
                    Some(json!({"notes": format!("writer {i}")})),
                    &[("if-match", "\"1\"")],
                )
                .await
                .status
            }
        })
        .collect();
    let statuses = futures::future::join_all(tasks).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::PRECONDITION_FAILED), "{statuses:?}");
    let now = h.get(&o, &path).await;
    assert_eq!(now.body["version"], 2);
});

both!(idempotency_key_replays_the_first_answer, |h| {
    let o = h.tenant("Idem").await;
    let body = json!({"name": "Di", "email": unique_email("di")});
    let hdr = [("idempotency-key", "k-1")];
    let a = h.call_with(Method::POST, "/api/v1/customers", Some(&o.token), Some(body.clone()), &hdr).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let b = h.call_with(Method::POST, "/api/v1/customers", Some(&o.token), Some(body.clone()), &hdr).await;
    assert_eq!(b.status, StatusCode::CREATED, "{:?}", b.body);
    assert_eq!(b.body["id"], a.body["id"]);
    assert_eq!(b.header("location"), a.header("location"));
    let other = h
        .call_with(
            Method::POST,
            "/api/v1/customers",
            Some(&o.token),
            Some(json!({"name": "Other", "email": unique_email("o")})),
            &hdr,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "idempotency_key_reused");
    let list = h.get(&o, "/api/v1/customers").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
});

both!(list_filters_and_stable_keyset_pages, |h| {
    let o = h.tenant("Pages").await;
    let mut ids = Vec::new();
    for i in 0..23 {
        let stage = if i % 3 == 0 { "lead" } else { "prospect" };
        let tags = if i % 2 == 0 { json!(["vip", "north"]) } else { json!(["south"]) };
        // Several customers share a name so the id breaks ties.
        let c = h.customer(&o, json!({"name": format!("Name {}", i % 5), "email": unique_email("p"), "lifecycle_stage": stage, "tags": tags, "address": {"city": if i < 10 { "Paris" } else { "Oslo" }}})).await;
        ids.push(c.body["id"].as_str().unwrap().to_string());
    }
    for sort in ["-updated_at", "name", "-name", "created_at", "last_contact_at", "-total_revenue"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/customers?limit=7&sort={sort}&cursor={c}"),
                None => format!("/api/v1/customers?limit=7&sort={sort}"),
            };
            let page = h.get(&o, &path).await;
            assert_eq!(page.status, StatusCode::OK, "{sort}: {:?}", page.body);
            for c in page.body["data"].as_array().unwrap() {
                seen.push(c["id"].as_str().unwrap().to_string());
            }
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 23, "{sort}: every customer exactly once");
        assert_eq!(seen.len(), 23, "{sort}: no repeats");
    }
    let f = h.get(&o, "/api/v1/customers?lifecycle_stage=lead&tag=VIP&sort=-updated_at").await;
    let n = f.body["data"].as_array().unwrap().len();
    assert_eq!(n, (0..23).filter(|i| i % 3 == 0 && i % 2 == 0).count());
    let any = h.get(&o, "/api/v1/customers?any_tag=south,north&limit=200").await;
    assert_eq!(any.body["data"].as_array().unwrap().len(), 23);
    let city = h.get(&o, "/api/v1/customers?city=paris&limit=200").await;
    assert_eq!(city.body["data"].as_array().unwrap().len(), 10);
    let bad = h.get(&o, "/api/v1/customers?sort=password").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cur = h.get(&o, "/api/v1/customers?limit=2&sort=name").await;
    let c = cur.body["next_cursor"].as_str().unwrap();
    let mismatch = h.get(&o, &format!("/api/v1/customers?sort=-name&cursor={c}")).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY, "a cursor belongs to its sort");
    let unknown = h.get(&o, "/api/v1/customers?colour=red").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
});

both!(tag_filters_match_whole_tags_in_any_case_and_follow_changes, |h| {
    let o = h.tenant("Tag filters").await;
    let names = |page: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> =
            page["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
        n.sort();
        n
    };
    let a = h.customer(&o, json!({"name": "Ana", "email": unique_email("a"), "tags": ["VIP", "Été"]})).await;
    h.customer(&o, json!({"name": "Ben", "email": unique_email("b"), "tags": ["vip-gold"]})).await;
    h.customer(&o, json!({"name": "Cat", "email": unique_email("c"), "tags": ["gold", "vip"]})).await;
    h.customer(&o, json!({"name": "Dov", "email": unique_email("d")})).await;
    let list = |q: &'static str| {
        let (h, o) = (&h, &o);
        async move { names(&h.get(o, &format!("/api/v1/customers?limit=50&{q}")).await.body) }
    };
    assert_eq!(list("tag=vip").await, ["Ana", "Cat"], "a whole tag, not a part of another");
    assert_eq!(list("tag=vi").await, Vec::<String>::new());
    assert_eq!(list("tag=%C3%A9T%C3%89").await, ["Ana"], "any case, beyond ASCII too");
    assert_eq!(list("tag=vip,gold").await, ["Cat"], "every tag given");
    assert_eq!(list("any_tag=gold,vip-gold").await, ["Ben", "Cat"], "any tag given");
    assert_eq!(list("any_tag=vip&tag=gold").await, ["Cat"]);
    // A change of tags shows in the filter at once.
    let r = h.patch(&o, &format!("/api/v1/customers/{}", a.id()), json!({"tags": ["gold"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(list("tag=vip").await, ["Cat"]);
    assert_eq!(list("tag=gold").await, ["Ana", "Cat"]);
    let r = h.patch(&o, &format!("/api/v1/customers/{}", a.id()), json!({"tags": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(list("tag=gold").await, ["Cat"]);
});

both!(upgrading_moves_the_table_of_tags_onto_the_rows, |h| {
    // Migration 0016 replaced the table of folded tags by `customers.tag_keys`: a database
    // put back in the shape before it must come out with every customer's tags filterable.
    let o = h.tenant("Tag upgrade").await;
    let a = h.customer(&o, json!({"name": "Ana", "email": unique_email("a"), "tags": ["VIP", "Été"]})).await;
    let b = h.customer(&o, json!({"name": "Ben", "email": unique_email("b"), "tags": ["vip"]})).await;
    h.customer(&o, json!({"name": "Cy", "email": unique_email("c")})).await;
    let before = [
        "CREATE TABLE customer_tags (tenant_id {id} NOT NULL, customer_id {id} NOT NULL, tag_folded TEXT NOT NULL, \
         PRIMARY KEY (tenant_id, customer_id, tag_folded))",
        "INSERT INTO customer_tags SELECT tenant_id, id, 'vip' FROM customers WHERE name IN ('Ana', 'Ben')",
        "INSERT INTO customer_tags SELECT tenant_id, id, 'été' FROM customers WHERE name = 'Ana'",
        "DROP INDEX customers_lifecycle_updated_idx",
        "ALTER TABLE customers DROP COLUMN tag_keys",
        "CREATE INDEX customers_lifecycle_updated_idx ON customers (tenant_id, lifecycle_stage, updated_at, id)",
        "DELETE FROM _sqlx_migrations WHERE version = 16",
    ];
    let id_type = match h.backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "UUID",
    };
    for s in before {
        h.raw(&s.replace("{id}", id_type)).await.unwrap();
    }
    let store = h.reopen_store().await;
    let mut tx = store.read(o.tenant_id).await.unwrap();
    let with =
        |tag: &str| rapport_store::CustomerQuery { limit: 50, tags_all: vec![tag.to_string()], ..Default::default() };
    let ids = |rows: Vec<std::sync::Arc<rapport_store::CustomerRow>>| {
        let mut v: Vec<uuid::Uuid> = rows.into_iter().map(|c| c.id).collect();
        v.sort();
        v
    };
    let mut want = vec![a.id(), b.id()];
    want.sort();
    assert_eq!(ids(tx.list_customers(&with("VIP")).await.unwrap()), want);
    assert_eq!(ids(tx.list_customers(&with("ÉTÉ")).await.unwrap()), [a.id()]);
    assert!(tx.list_customers(&with("vi")).await.unwrap().is_empty());
    drop(tx);
    store.close().await;
});

both!(list_pages_show_every_change_at_once, |h| {
    // List pages read rows they have already decoded by version: a change must show at once.
    let o = h.tenant("Fresh pages").await;
    let path = "/api/v1/customers?lifecycle_stage=lead&tag=vip&sort=-updated_at";
    let names = |page: &serde_json::Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
    };
    let mut ids = Vec::new();
    for name in ["Ada", "Bo", "Cy"] {
        let c = h
            .customer(
                &o,
                json!({"name": name, "email": unique_email(name), "lifecycle_stage": "lead", "tags": ["vip"]}),
            )
            .await;
        ids.push(c.id());
    }
    for _ in 0..2 {
        assert_eq!(names(&h.get(&o, path).await.body), ["Cy", "Bo", "Ada"]);
    }
    let p = h.patch(&o, &format!("/api/v1/customers/{}", ids[0]), json!({"name": "Ada Renamed"})).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    let page = h.get(&o, path).await.body;
    assert_eq!(names(&page), ["Ada Renamed", "Cy", "Bo"]);
    assert_eq!(page["data"][0]["version"], 2);
    let p = h.patch(&o, &format!("/api/v1/customers/{}", ids[1]), json!({"tags": ["north"]})).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(names(&h.get(&o, path).await.body), ["Ada Renamed", "Cy"], "Bo is no longer tagged vip");
    assert_eq!(h.delete(&o, &format!("/api/v1/customers/{}", ids[2])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(names(&h.get(&o, path).await.body), ["Ada Renamed"]);
    let r = h.post(&o, &format!("/api/v1/customers/{}/restore", ids[2]), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(names(&h.get(&o, path).await.body), ["Cy", "Ada Renamed"]);
    // A listed customer is written as its own page writes it, money in the tenant's
    // currency of the moment (list pages keep the customers' JSON texts by version).
    let page = h.get(&o, path).await.body;
    for c in page["data"].as_array().unwrap() {
        assert_eq!(c["total_revenue"]["currency"], "USD");
        assert_eq!(&h.get(&o, &format!("/api/v1/customers/{}", c["id"].as_str().unwrap())).await.body, c);
    }
    let t = h.patch(&o, "/api/v1/tenant", json!({"base_currency": "EUR"})).await;
    assert_eq!(t.status, StatusCode::OK, "{:?}", t.body);
    for c in h.get(&o, path).await.body["data"].as_array().unwrap() {
        assert_eq!(c["total_revenue"]["currency"], "EUR");
        assert_eq!(c["lifetime_value"]["currency"], "EUR");
    }
    // Another tenant's list never holds these rows.
    let other = h.tenant("Other pages").await;
    assert!(names(&h.get(&other, path).await.body).is_empty());
});

both!(timeline_records_each_kind_of_change, |h| {
    let o = h.tenant("Time").await;
    let rep = h.user(&o, "sales").await;
    let c = h.customer(&o, json!({"name": "Ed", "email": unique_email("ed"), "tags": ["a"]})).await;
    let id = c.id();
    let path = format!("/api/v1/customers/{id}");
    h.patch(&o, &path, json!({"lifecycle_stage": "customer", "status_reason": "won"})).await;
    h.patch(&o, &path, json!({"status": "inactive"})).await;
    h.patch(&o, &path, json!({"tags": ["b"]})).await;
    h.patch(&o, &path, json!({"assigned_to": rep.user_id})).await;
    h.delete(&o, &path).await;
    h.post(&o, &format!("{path}/restore"), json!({})).await;
    let t = h.get(&o, &format!("{path}/timeline?limit=200")).await;
    assert_eq!(t.status, StatusCode::OK, "{:?}", t.body);
    let types: Vec<&str> = t.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for want in [
        "created",
        "lifecycle_changed",
        "status_changed",
        "tags_added",
        "tags_removed",
        "assigned",
        "updated",
        "deleted",
        "restored",
    ] {
        assert!(types.contains(&want), "{want} missing from {types:?}");
    }
    assert_eq!(types[0], "restored", "newest first");
    let lc = t.body["data"].as_array().unwrap().iter().find(|e| e["type"] == "lifecycle_changed").unwrap();
    assert_eq!(lc["data"], json!({"from": "prospect", "to": "customer", "reason": "won"}));
    assert_eq!(lc["actor_id"], o.user_id.to_string());
    let only = h.get(&o, &format!("{path}/timeline?type=deleted,restored")).await;
    assert_eq!(only.body["data"].as_array().unwrap().len(), 2);
    let page = h.get(&o, &format!("{path}/timeline?limit=3")).await;
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest = h.get(&o, &format!("{path}/timeline?limit=200&cursor={next}")).await;
    assert_eq!(rest.body["data"].as_array().unwrap().len() + 3, types.len());
});

// An update writes only the columns whose value changed (the store diffs the row it
// holds): each step changes a few, and the row read back must be exactly the one written,
// the columns left out as they were and those changed as changed.
both!(an_update_writes_the_changed_columns_and_keeps_the_others, |h| {
    use rapport_core::customer::LifecycleStage;
    use rapport_store::CustomerRow;
    let o = h.tenant("Columns").await;
    let body = json!({"name": "Ann Lee", "email": unique_email("ann"), "phone": "(555) 123-4567", "tags": ["vip"],
        "company_name": "Lee Ltd", "job_title": "Buyer", "address": {"city": "Lyon", "country": "fr"}});
    let id = h.customer(&o, body).await.id();
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + s).unwrap();
    type Step = Box<dyn Fn(&mut CustomerRow)>;
    let steps: Vec<Step> = vec![
        Box::new(move |c| c.data.last_contact_at = Some(at(1))),
        Box::new(|c| {
            c.data.name = "Ann Lee-Smith".into();
            c.data.tags = vec!["vip".into(), "new".into()];
        }),
        Box::new(|c| {
            c.data.email = None;
            c.data.address.city = None;
            c.data.job_title = Some("Head buyer".into());
        }),
        Box::new(move |c| {
            c.data.custom_fields.insert("plan".into(), json!("gold"));
            c.data.notes = Some("prefers mornings".into());
            c.data.next_follow_up_at = Some(at(2));
            c.derived.total_revenue = 1200;
            c.derived.lead_score = Some(71);
            c.derived.churn_risk = Some("low".into());
        }),
        Box::new(move |c| c.deleted_at = Some(at(3))),
        Box::new(|c| {
            c.deleted_at = None;
            c.data.lifecycle_stage = LifecycleStage::Customer;
            c.data.tags.clear();
        }),
        // Nothing but the version and the time changes.
        Box::new(|_| {}),
    ];
    for (n, step) in steps.iter().enumerate() {
        let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
        let mut row = tx.get_customer(id).await.unwrap().unwrap();
        step(&mut row);
        row.version += 1;
        row.updated_at = at(10 + n as i64);
        tx.update_customer(&row).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
        assert_eq!(tx.get_customer(id).await.unwrap().unwrap(), row, "after step {n}");
    }
    // A row written from a version that is not the stored one changes nothing.
    let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
    let stored = tx.get_customer(id).await.unwrap().unwrap();
    let mut stale = stored.clone();
    stale.data.name = "Someone Else".into();
    stale.version += 2;
    assert!(matches!(tx.update_customer(&stale).await, Err(rapport_store::StoreError::StaleVersion)));
    drop(tx);
    let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
    assert_eq!(tx.get_customer(id).await.unwrap().unwrap(), stored);
});
