//! Merge and undo: everything of the sources moves to the survivor and comes back exactly.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{unique_email, Client, Harness};

async fn chat(h: &Harness, key: &Client, session: &str, contact: Value) -> Value {
    let r = h
        .call(
            Method::PUT,
            &format!("/api/v1/conversations/{session}"),
            Some(&key.token),
            Some(json!({"contact": contact, "interaction_count": 3})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

both!(checklist_7_a_manual_duplicate_is_merged_and_logged, |h| {
    let o = h.tenant("Merge").await;
    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "chat"})).await;
    let key = Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: o.tenant_id };
    let email_a = unique_email("john");
    let email_b = unique_email("jsmith");
    let a = h
        .customer(&o, json!({"name": "John Smith", "email": email_a, "tags": ["VIP"], "lifecycle_stage": "lead"}))
        .await;
    let b = h.customer(&o, json!({"name": "John Smith", "email": email_b, "phone": "+1 212 555 0100", "company_name": "Acme", "tags": ["vip", "north"], "lifecycle_stage": "customer"})).await;
    let (aid, bid) = (a.id(), b.id());
    chat(&h, &key, "m-1", json!({"email": email_a})).await;
    chat(&h, &key, "m-2", json!({"email": email_b})).await;
    chat(&h, &key, "m-3", json!({"email": email_b})).await;

    let m = h
        .post(&o, &format!("/api/v1/customers/{aid}/merge"), json!({"source_ids": [bid], "reason": "same person"}))
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{:?}", m.body);
    let merge_id = m.id();
    assert_eq!(m.body["target_id"], aid.to_string());
    assert_eq!(m.body["moved"]["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(m.body["snapshot"]["sources"][0]["fields"]["company_name"], "Acme");

    let t = h.get(&o, &format!("/api/v1/customers/{aid}")).await;
    assert_eq!(t.body["email"], email_a, "the target's own values win");
    assert_eq!(t.body["company_name"], "Acme", "empty target fields are filled");
    assert_eq!(t.body["phone_e164"], "+12125550100");
    assert_eq!(t.body["tags"], json!(["VIP", "north"]));
    assert_eq!(t.body["lifecycle_stage"], "customer", "the furthest stage");
    let metrics = h.get(&o, &format!("/api/v1/customers/{aid}/metrics")).await;
    assert_eq!(metrics.body["total_conversations"], 3);
    assert_eq!(metrics.body["total_interactions"], 9);

    // The merged-away customer answers 308 to the survivor and is gone from lists.
    let gone = h.get(&o, &format!("/api/v1/customers/{bid}")).await;
    assert_eq!(gone.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(gone.header("location"), format!("/api/v1/customers/{aid}"));
    assert_eq!(h.get(&o, "/api/v1/customers").await.body["data"].as_array().unwrap().len(), 1);
    // Its email still finds the survivor, and a new chat with it links there.
    let found = h.post(&o, "/api/v1/customers/match", json!({"email": email_b})).await;
    assert_eq!(found.body["data"][0]["customer_id"], aid.to_string());
    let again = chat(&h, &key, "m-4", json!({"email": email_b})).await;
    assert_eq!(again["customer_id"], aid.to_string());

    let log = h.get(&o, "/api/v1/merges").await;
    assert_eq!(log.body["data"][0]["id"], merge_id.to_string());
    assert_eq!(log.body["data"][0]["reason"], "same person");
    let events = h.get(&o, &format!("/api/v1/customers/{aid}/timeline?type=merged")).await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1);
    let audit = h.get(&o, &format!("/api/v1/customers/{aid}/audit")).await;
    assert!(audit.body["data"].as_array().unwrap().iter().any(|e| e["action"] == "merge"), "{:?}", audit.body);
    assert_eq!(h.get(&o, "/api/v1/audit/verify").await.body["ok"], true);

    // Undo restores the source, moves back exactly what moved, and reverts the target.
    h.patch(&o, &format!("/api/v1/customers/{aid}"), json!({"company_name": "Acme Corp"})).await;
    let u = h.post(&o, &format!("/api/v1/merges/{merge_id}/undo"), json!({})).await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    // company_name was edited since, and the chat m-4 moved last_contact_at: both are kept.
    assert_eq!(
        u.body["kept_fields"],
        json!(["company_name", "last_contact_at"]),
        "fields changed since are left and listed"
    );
    let b2 = h.get(&o, &format!("/api/v1/customers/{bid}")).await;
    assert_eq!(b2.status, StatusCode::OK);
    assert_eq!(b2.body["email"], email_b);
    assert!(b2.body["merged_into_customer_id"].is_null());
    let t2 = h.get(&o, &format!("/api/v1/customers/{aid}")).await;
    assert_eq!(t2.body["tags"], json!(["VIP"]));
    assert_eq!(t2.body["lifecycle_stage"], "lead");
    assert!(t2.body["phone"].is_null());
    assert_eq!(t2.body["company_name"], "Acme Corp");
    let ma = h.get(&o, &format!("/api/v1/customers/{aid}/metrics")).await;
    let mb = h.get(&o, &format!("/api/v1/customers/{bid}/metrics")).await;
    assert_eq!(ma.body["total_conversations"], 2, "m-1 and m-4 (linked after the merge) stay");
    assert_eq!(mb.body["total_conversations"], 2, "m-2 and m-3 come back");
    let twice = h.post(&o, &format!("/api/v1/merges/{merge_id}/undo"), json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "merge_already_undone");
    assert_eq!(h.get(&o, "/api/v1/audit/verify").await.body["ok"], true);
});

both!(merge_refuses_bad_requests_and_respects_roles, |h| {
    let o = h.tenant("MergeBad").await;
    let a = h.customer(&o, json!({"name": "A", "email": unique_email("a")})).await.id();
    let b = h.customer(&o, json!({"name": "B", "email": unique_email("b")})).await.id();
    let path = format!("/api/v1/customers/{a}/merge");
    for body in [
        json!({"source_ids": [], "reason": "x"}),
        json!({"source_ids": [a], "reason": "x"}),
        json!({"source_ids": [b, b], "reason": "x"}),
        json!({"source_ids": [b], "reason": ""}),
    ] {
        assert_eq!(h.post(&o, &path, body.clone()).await.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let sales = h.user(&o, "sales").await;
    assert_eq!(h.post(&sales, &path, json!({"source_ids": [b], "reason": "x"})).await.status, StatusCode::FORBIDDEN);
    let other = h.tenant("MergeOther").await;
    let c = h.customer(&other, json!({"name": "C", "email": unique_email("c")})).await.id();
    assert_eq!(h.post(&o, &path, json!({"source_ids": [c], "reason": "x"})).await.status, StatusCode::NOT_FOUND);
    // Chains resolve to the end: b into a, then a into d.
    let d = h.customer(&o, json!({"name": "D", "email": unique_email("d")})).await.id();
    assert_eq!(h.post(&o, &path, json!({"source_ids": [b], "reason": "dup"})).await.status, StatusCode::CREATED);
    assert_eq!(
        h.post(&o, &format!("/api/v1/customers/{d}/merge"), json!({"source_ids": [a], "reason": "dup"})).await.status,
        StatusCode::CREATED
    );
    let r = h.get(&o, &format!("/api/v1/customers/{b}")).await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header("location"), format!("/api/v1/customers/{d}"));
});

both!(merged_contact_points_find_the_survivor_until_the_merge_is_undone, |h| {
    let o = h.tenant("Merge keys").await;
    let (email_a, email_b) = (unique_email("keep"), unique_email("gone"));
    // The survivor lacks nothing the source could fill: its own keys do not change.
    let a = h.customer(&o, json!({"name": "Ines Okafor", "email": email_a, "phone": "+1 617 555 0142"})).await.id();
    let b = h
        .post(
            &o,
            "/api/v1/customers",
            json!({"name": "Ines Okafor", "email": email_b, "phone": "+1 617 555 0143", "force": true}),
        )
        .await
        .id();
    let find = |email: String| {
        let h = &h;
        let o = &o;
        async move {
            h.post(o, "/api/v1/customers/match", json!({"email": email})).await.body["data"][0]["customer_id"].clone()
        }
    };
    let m = h.post(&o, &format!("/api/v1/customers/{a}/merge"), json!({"source_ids": [b], "reason": "same"})).await;
    assert_eq!(m.status, StatusCode::CREATED, "{:?}", m.body);
    assert_eq!(find(email_b.clone()).await, a.to_string(), "the source's email finds the survivor");
    let u = h.post(&o, &format!("/api/v1/merges/{}/undo", m.id()), json!({})).await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    assert_eq!(find(email_b).await, b.to_string(), "given back, it is found as itself");
    assert_eq!(find(email_a).await, a.to_string());
});
