//! The review queue: likely but uncertain pairs are queued, merged or dismissed for good.

use http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Client};

both!(uncertain_matches_are_queued_then_merged_or_dismissed, |h| {
    let o = h.tenant("Queue").await;
    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "chat"})).await;
    let key = Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: o.tenant_id };
    let first = h.customer(&o, json!({"name": "Robert Brown", "email": unique_email("rb")})).await;
    // A chat by a "Robert Brown" with another email: a name match vetoed by the differing
    // email. Rapport creates a new customer and queues the pair for a person to decide.
    let r = h
        .call(
            Method::PUT,
            "/api/v1/conversations/q-1",
            Some(&key.token),
            Some(json!({"contact": {"name": "Robert Brown", "email": unique_email("bob")}})),
        )
        .await;
    assert_eq!(r.body["match"]["created"], true);
    let second = r.body["customer_id"].as_str().unwrap().to_string();
    // A manual create with a similar name (below the block threshold) is queued too.
    let third = h.customer(&o, json!({"name": "Rob Brown", "phone": "+1 646 555 0111"})).await;
    let q = h.get(&o, "/api/v1/duplicates").await;
    assert_eq!(q.status, StatusCode::OK, "{:?}", q.body);
    let pairs = q.body["data"].as_array().unwrap();
    assert!(pairs.len() >= 2, "{pairs:?}");
    let vetoed = pairs.iter().find(|p| p["vetoed"] == true).expect("the vetoed pair");
    assert_eq!(vetoed["origin"], "ingest");
    assert!(vetoed["reasons"].as_array().unwrap().iter().any(|r| r["signal"] == "name"));
    let ids = [vetoed["customer_a"].as_str().unwrap(), vetoed["customer_b"].as_str().unwrap()];
    assert!(ids.contains(&first.body["id"].as_str().unwrap()) && ids.contains(&second.as_str()));

    let d = h.post(&o, &format!("/api/v1/duplicates/{}/{}/dismiss", ids[1], ids[0]), json!({})).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    // Proposed again by a later chat? Never.
    h.call(
        Method::PUT,
        "/api/v1/conversations/q-2",
        Some(&key.token),
        Some(json!({"contact": {"name": "Robert Brown", "email": unique_email("bob2")}})),
    )
    .await;
    let q = h.get(&o, "/api/v1/duplicates?limit=200").await;
    assert!(!q.body["data"].as_array().unwrap().iter().any(|p| p["customer_a"] == ids[0] && p["customer_b"] == ids[1]));

    let third_id = third.id().to_string();
    let pair = q.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["customer_a"] == third_id || p["customer_b"] == third_id)
        .cloned()
        .expect("the manual pair");
    assert_eq!(pair["origin"], "create");
    let m = h
        .post(
            &o,
            &format!(
                "/api/v1/duplicates/{}/{}/merge",
                pair["customer_a"].as_str().unwrap(),
                pair["customer_b"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{:?}", m.body);
    assert_eq!(m.body["target_id"], pair["customer_a"], "the older record survives");
    let again = h
        .post(
            &o,
            &format!(
                "/api/v1/duplicates/{}/{}/merge",
                pair["customer_a"].as_str().unwrap(),
                pair["customer_b"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let viewer = h.user(&o, "viewer").await;
    assert_eq!(h.get(&viewer, "/api/v1/duplicates").await.status, StatusCode::FORBIDDEN);
});

both!(the_review_queue_pages_with_a_cursor, |h| {
    let o = h.tenant("Queue pages").await;
    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "chat"})).await;
    let key = Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: o.tenant_id };
    h.customer(&o, json!({"name": "Robert Brown", "email": unique_email("rb")})).await;
    // Three more Robert Browns by chat, each with another email: every two of the four are
    // a vetoed pair in the queue, six in all.
    for i in 0..3 {
        let r = h
            .call(
                Method::PUT,
                &format!("/api/v1/conversations/page-{i}"),
                Some(&key.token),
                Some(json!({"contact": {"name": "Robert Brown", "email": unique_email("bob")}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let all = h.get(&o, "/api/v1/duplicates?limit=200").await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 6, "{:?}", all.body);
    assert_eq!(all.body["next_cursor"], serde_json::Value::Null);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/duplicates?limit=4&cursor={c}"),
            None => "/api/v1/duplicates?limit=4".to_string(),
        };
        let page = h.get(&o, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        for p in page.body["data"].as_array().unwrap() {
            seen.push(format!("{}/{}", p["customer_a"].as_str().unwrap(), p["customer_b"].as_str().unwrap()));
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let in_order: Vec<String> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}/{}", p["customer_a"].as_str().unwrap(), p["customer_b"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, in_order, "the pages are the whole queue, in its order, each pair once");
    let bad = h.get(&o, "/api/v1/duplicates?cursor=bm90IGEgY3Vyc29y").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["code"], "invalid_cursor");
});
