//! Bulk loading of customers, and of conversation history for known customers: the same
//! checks, keys, search documents, summaries, topics, metrics, events and audit entries as
//! one by one, all or nothing.

use http::StatusCode;
use rapport_app::bulk::BulkConversation;
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::harness::unique_email;

both!(bulk_conversations_land_with_metrics_events_and_audit, |h| {
    let o = h.tenant("Bulk conv").await;
    let v = h.patch(&o, "/api/v1/tenant", json!({"topic_vocabulary": ["retaining wall"]})).await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let ada = h.customer(&o, json!({"name": "Ada Byrne", "email": unique_email("ada")})).await.id();
    let bo = h.customer(&o, json!({"name": "Bo Lindqvist", "phone": "+1 617 555 0199"})).await.id();
    let item = |customer: Uuid, session: &str, interactions: i64, started: &str| BulkConversation {
        customer_id: customer,
        session_id: session.to_string(),
        body: json!({"channel": "email", "contact": {"name": "whoever"}, "interaction_count": interactions,
            "started_at": started, "messages": [{"role": "customer", "text": "We need a retaining wall. The retaining wall is long."}]}),
    };
    let items = vec![
        item(ada, "bulk-1", 4, "2026-01-05T09:00:00Z"),
        item(ada, "bulk-2", 6, "2026-02-05T09:00:00Z"),
        item(bo, "bulk-3", 1, "2026-03-05T09:00:00Z"),
    ];
    h.app.bulk_insert_conversations(o.tenant_id, &items).await.expect("bulk insert");

    let m = h.get(&o, &format!("/api/v1/customers/{ada}/metrics")).await;
    assert_eq!(m.status, StatusCode::OK, "{:?}", m.body);
    assert_eq!(m.body["total_conversations"], 2);
    assert_eq!(m.body["total_interactions"], 10);
    assert_eq!(m.body["last_interaction_at"], "2026-02-05T09:00:00.000000Z");
    let c = h.get(&o, "/api/v1/conversations/bulk-3").await;
    assert_eq!(c.body["customer_id"], bo.to_string().as_str(), "linked to the customer named, not matched");
    assert!(c.body["summary"].as_str().unwrap().contains("retaining wall"));
    assert!(c.body["topics"].as_array().unwrap().iter().any(|t| t == "retaining wall"), "{:?}", c.body["topics"]);
    let t = h.get(&o, &format!("/api/v1/customers/{ada}/timeline?type=conversation_linked")).await;
    assert_eq!(t.body["data"].as_array().unwrap().len(), 2, "{:?}", t.body);
    let customer = h.get(&o, &format!("/api/v1/customers/{ada}")).await;
    assert_eq!(customer.body["last_contact_at"], "2026-02-05T09:00:00.000000Z");
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    let d = h.app.rebuild_metrics(o.tenant_id).await.unwrap();
    assert_eq!(d.customers_corrected, 0);

    // All or nothing: an unknown customer, a repeated session or a bad body writes nothing.
    let before = h.get(&o, "/api/v1/conversations?limit=200").await.body["data"].as_array().unwrap().len();
    let unknown =
        vec![item(ada, "bulk-4", 1, "2026-03-06T09:00:00Z"), item(Uuid::now_v7(), "bulk-5", 1, "2026-03-06T09:00:00Z")];
    assert!(h.app.bulk_insert_conversations(o.tenant_id, &unknown).await.is_err());
    let again = vec![item(bo, "bulk-6", 1, "2026-03-06T09:00:00Z"), item(bo, "bulk-1", 1, "2026-03-06T09:00:00Z")];
    assert!(h.app.bulk_insert_conversations(o.tenant_id, &again).await.is_err());
    let mut bad = item(bo, "bulk-7", 1, "2026-03-06T09:00:00Z");
    bad.body["mood"] = json!("sunny");
    let err = h.app.bulk_insert_conversations(o.tenant_id, &[bad]).await.unwrap_err();
    assert_eq!(err.field_errors()[0].code, "unknown_field");
    let mut not_an_object = item(bo, "bulk-9", 1, "2026-03-06T09:00:00Z");
    not_an_object.body = json!(["channel", "email"]);
    let err = h.app.bulk_insert_conversations(o.tenant_id, &[not_an_object]).await.unwrap_err();
    assert_eq!(err.field_errors()[0].code, "invalid_type");
    let after = h.get(&o, "/api/v1/conversations?limit=200").await.body["data"].as_array().unwrap().len();
    assert_eq!(after, before);
    let other = h.tenant("Bulk other").await;
    assert!(
        h.app
            .bulk_insert_conversations(other.tenant_id, &[item(ada, "bulk-8", 1, "2026-03-06T09:00:00Z")])
            .await
            .is_err(),
        "another tenant's customer is unknown here"
    );
});

both!(bulk_customers_span_several_statements_and_are_whole, |h| {
    let o = h.tenant("Bulk customers").await;
    // More rows than one statement takes for customers (~600), and audit entries (~1,760).
    let n = 1900;
    let rows: Vec<_> = (0..n)
        .map(|i| {
            json!({"name": format!("Bulk Person{i:04}"), "email": unique_email(&format!("bulk{i}")),
                   "phone": format!("+1 617 555 {:04}", i), "tags": ["Imported", format!("batch{}", i % 3)]})
        })
        .collect();
    let entries_before = h.get(&o, "/api/v1/audit/verify").await.body["entries"].as_i64().unwrap();
    let ids = h.app.bulk_insert_customers(o.tenant_id, &rows, rapport_core::customer::Source::Import).await.unwrap();
    assert_eq!(ids.len(), n);
    let stats = h.get(&o, "/api/v1/customers/stats").await;
    assert_eq!(stats.body["total_customers"], n as i64, "{:?}", stats.body);
    let tagged = h.get(&o, "/api/v1/customers?tag=batch1&limit=200").await;
    assert_eq!(tagged.body["data"].as_array().unwrap().len(), 200);
    // The last row is searchable and matchable like any other.
    let found = h.get(&o, "/api/v1/customers?q=person1899").await;
    assert_eq!(found.body["data"][0]["id"], ids[n - 1].to_string().as_str(), "{:?}", found.body);
    let m = h.post(&o, "/api/v1/customers/match", json!({"name": "x", "phone": "(617) 555-1899"})).await;
    assert_eq!(m.body["data"][0]["customer_id"], ids[n - 1].to_string().as_str(), "{:?}", m.body);
    let t = h.get(&o, &format!("/api/v1/customers/{}/timeline", ids[n - 1])).await;
    assert_eq!(t.body["data"][0]["type"], "created", "{:?}", t.body);
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    assert_eq!(v.body["entries"], entries_before + n as i64, "{:?}", v.body);

    // All or nothing: one bad row writes none of the others.
    let mut bad = rows[..3].to_vec();
    bad[2] = json!({"name": "No Contact"});
    assert!(h.app.bulk_insert_customers(o.tenant_id, &bad, rapport_core::customer::Source::Import).await.is_err());
    let stats = h.get(&o, "/api/v1/customers/stats").await;
    assert_eq!(stats.body["total_customers"], n as i64);
});

both!(bulk_customers_are_assigned_only_to_active_users_of_their_tenant, |h| {
    let o = h.tenant("Bulk assigned").await;
    let sales = h.user(&o, "sales").await;
    let portal = h.user(&o, "portal").await;
    let other = h.tenant("Bulk assigned elsewhere").await;
    let row = |i: usize, assignee: Uuid| {
        json!({"name": format!("Assigned Person{i}"), "email": unique_email(&format!("assigned{i}")),
               "assigned_to": assignee})
    };
    let (app, tenant) = (h.app.clone(), o.tenant_id);
    let load = |rows: Vec<serde_json::Value>| {
        let app = app.clone();
        async move { app.bulk_insert_customers(tenant, &rows, rapport_core::customer::Source::Import).await }
    };
    let ids = load(vec![row(0, sales.user_id), row(1, o.user_id), row(2, sales.user_id)]).await.unwrap();
    let c = h.get(&o, &format!("/api/v1/customers/{}", ids[2])).await;
    assert_eq!(c.body["assigned_to"], sales.user_id.to_string().as_str(), "{:?}", c.body);
    let mine = h.get(&sales, "/api/v1/customers?assigned_to=me").await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 2, "{:?}", mine.body);

    // Another tenant's user, a portal user, a deactivated user or no user at all: the whole
    // batch is refused, as a single create would be.
    let gone = h.user(&o, "sales").await;
    let d = h.patch(&o, &format!("/api/v1/users/{}", gone.user_id), json!({"active": false})).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    for wrong in [other.user_id, portal.user_id, gone.user_id, Uuid::now_v7()] {
        let err = load(vec![row(3, sales.user_id), row(4, wrong)]).await.unwrap_err();
        assert_eq!(err.field_errors()[0].code, "invalid_reference", "{wrong}");
    }
    let stats = h.get(&o, "/api/v1/customers/stats").await;
    assert_eq!(stats.body["total_customers"], 3, "{:?}", stats.body);
});

both!(concurrent_bulk_loads_of_one_customer_both_land, |h| {
    let o = h.tenant("Bulk concurrent").await;
    let ada = h.customer(&o, json!({"name": "Ada Byrne", "email": unique_email("ada")})).await.id();
    let batch = |from: usize| -> Vec<BulkConversation> {
        (from..from + 20)
            .map(|i| BulkConversation {
                customer_id: ada,
                session_id: format!("conc-{i}"),
                body: json!({"contact": {"name": "Ada"}, "interaction_count": 1, "started_at": format!("2026-01-{:02}T09:00:00Z", 1 + i % 28)}),
            })
            .collect()
    };
    let (a, b) = (batch(0), batch(100));
    let (ra, rb) = tokio::join!(
        h.app.bulk_insert_conversations(o.tenant_id, &a),
        h.app.bulk_insert_conversations(o.tenant_id, &b)
    );
    ra.expect("first load");
    rb.expect("second load, on the same customer at the same time");
    let m = h.get(&o, &format!("/api/v1/customers/{ada}/metrics")).await;
    assert_eq!(m.body["total_conversations"], 40, "{:?}", m.body);
    assert_eq!(h.get(&o, "/api/v1/audit/verify").await.body["ok"], true);
});
