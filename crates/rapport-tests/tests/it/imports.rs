//! CSV import (SPEC section 9): column mapping, a dry run that agrees row for row with the
//! import, dedup through the matching of the chat feed, revert, bad files and rights.

use axum::body::Body;
use http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Client, Harness, Reply};

async fn send_csv(h: &Harness, c: &Client, query: &str, content_type: &str, csv: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/imports{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", c.token))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(csv.to_string()))
        .unwrap();
    h.send(req).await
}

pub(crate) async fn import(h: &Harness, c: &Client, query: &str, csv: &str) -> Reply {
    send_csv(h, c, query, "text/csv; charset=utf-8", csv).await
}

fn outcomes(r: &Reply) -> Vec<(u64, String)> {
    r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["line"].as_u64().unwrap(), row["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn row(r: &Reply, line: u64) -> Value {
    r.body["rows"].as_array().unwrap().iter().find(|x| x["line"] == line).cloned().unwrap_or(Value::Null)
}

async fn count(h: &Harness, c: &Client) -> u64 {
    h.get(c, "/api/v1/customers/stats").await.body["total_customers"].as_u64().unwrap()
}

const FILE: &str = "\u{feff}First Name,Last Name,E-mail,Phone,Company,Tags,Shoe size
Ana,Pérez,ana@x.example,+34 600 123 456,Acme,vip;north,42
Maria,Garcia,MARIA@x.example,,Garcia SL,,
Bob,Stone,not-an-email,,,,
Ana,Perez,ana@x.example,,,,
Jonathan,Smithers,js2@x.example,,,,
Priya,Raman,priya@x.example,,,,
Carl,Jung,,,
,,,,,,
Zoe,Quinn,zoe@x.example,,,,,extra
";

both!(a_dry_run_and_the_import_agree_row_for_row_and_a_revert_undoes_it, |h| {
    let o = h.tenant("Import").await;
    let maria = h.customer(&o, json!({"name": "María García", "email": "maria@x.example"})).await.id();
    let jon = h.customer(&o, json!({"name": "Jonathan Smithers", "email": "js1@x.example"})).await.id();
    let priya = h.customer(&o, json!({"name": "Priya Raman", "phone": "+1 617 555 0199"})).await.id();
    let expected: Vec<(u64, String)> = [
        (2, "create"),
        (3, "update"),
        (4, "error"),
        (5, "duplicate"),
        (6, "create"),
        (7, "update"),
        (8, "error"),
        (10, "error"),
    ]
    .iter()
    .map(|(l, o)| (*l, o.to_string()))
    .collect();

    let dry = import(&h, &o, "?dry_run=true", FILE).await;
    assert_eq!(dry.status, StatusCode::OK, "{:?}", dry.body);
    assert_eq!(dry.body["import"], Value::Null);
    assert_eq!(outcomes(&dry), expected, "{:#?}", dry.body["rows"]);
    assert_eq!(dry.body["counts"], json!({"create": 2, "update": 2, "duplicate": 1, "error": 3}));
    assert_eq!(dry.body["mapping"][6], json!({"column": "Shoe size", "field": null}));
    assert_eq!(dry.body["mapping"][0], json!({"column": "First Name", "field": "first_name"}));
    assert_eq!(row(&dry, 3)["changed_fields"], json!(["company_name"]));
    assert_eq!(row(&dry, 3)["customer_id"], maria.to_string());
    assert_eq!(row(&dry, 4)["errors"][0]["field"], "email");
    assert_eq!(row(&dry, 5)["duplicate_of_line"], 2);
    assert_eq!(row(&dry, 6)["matched"]["customer_id"], jon.to_string());
    assert_eq!(row(&dry, 6)["matched"]["vetoed"], true, "another person of that name: created, queued for review");
    assert_eq!(row(&dry, 7)["customer_id"], priya.to_string(), "a name on file without an email links");
    assert_eq!(row(&dry, 8)["errors"][0]["code"], "email_or_phone_required");
    assert_eq!(row(&dry, 10)["errors"][0]["code"], "too_many_cells");
    assert_eq!(count(&h, &o).await, 3, "a dry run writes nothing");
    let problems = import(&h, &o, "?dry_run=true&rows=problems", FILE).await;
    let lines: Vec<u64> = outcomes(&problems).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, [4, 5, 8, 10], "errors and duplicates only");
    assert_eq!(problems.body["counts"], dry.body["counts"]);
    assert_eq!(h.get(&o, "/api/v1/imports").await.body["data"], json!([]));

    let r = import(&h, &o, "?file_name=leads.csv", FILE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(outcomes(&r), expected, "the import does what its dry run said");
    let import_id = r.body["import"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), format!("/api/v1/imports/{import_id}"));
    assert_eq!(r.body["import"]["status"], "completed");
    assert_eq!(r.body["import"]["file_name"], "leads.csv");
    let ana = row(&r, 2)["customer_id"].as_str().unwrap().to_string();
    let a = h.get(&o, &format!("/api/v1/customers/{ana}")).await;
    assert_eq!(a.body["name"], "Ana Pérez");
    assert_eq!(a.body["source"], "import");
    assert_eq!(a.body["phone_e164"], "+34600123456");
    assert_eq!(a.body["tags"], json!(["vip", "north"]));
    assert_eq!(a.body["company_name"], "Acme");
    let m = h.get(&o, &format!("/api/v1/customers/{maria}")).await;
    assert_eq!(m.body["name"], "María García", "the record's own values win");
    assert_eq!(m.body["company_name"], "Garcia SL", "its gaps are filled");
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{priya}")).await.body["email"], "priya@x.example");
    assert_eq!(count(&h, &o).await, 5);
    let pairs = h.get(&o, "/api/v1/duplicates").await;
    assert_eq!(pairs.body["data"][0]["origin"], "import", "{:?}", pairs.body);
    let created = h.get(&o, &format!("/api/v1/customers/{ana}/timeline?type=created")).await;
    assert_eq!(created.body["data"].as_array().unwrap().len(), 1);
    let audit = h.get(&o, &format!("/api/v1/customers/{maria}/audit")).await;
    assert!(audit.body["data"].as_array().unwrap().iter().any(|e| e["action"] == "update"), "{:?}", audit.body);
    let listed = h.get(&o, "/api/v1/imports").await;
    assert_eq!(listed.body["data"][0]["id"], import_id);
    assert_eq!(listed.body["data"][0]["counts"], json!({"create": 2, "update": 2, "duplicate": 1, "error": 3}));

    // Someone edits María's company after the import: the revert keeps that edit.
    h.patch(&o, &format!("/api/v1/customers/{maria}"), json!({"company_name": "García S.L."})).await;
    let rv = h.post(&o, &format!("/api/v1/imports/{import_id}/revert"), json!({})).await;
    assert_eq!(rv.status, StatusCode::OK, "{:?}", rv.body);
    assert_eq!(rv.body["status"], "reverted");
    assert_eq!(rv.body["revert_report"]["deleted"], 2);
    assert_eq!(rv.body["revert_report"]["reverted"], 1);
    assert_eq!(rv.body["revert_report"]["kept"][0]["customer_id"], maria.to_string());
    assert_eq!(rv.body["revert_report"]["kept"][0]["fields"], json!(["company_name"]));
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{ana}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{priya}")).await.body["email"], Value::Null);
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{maria}")).await.body["company_name"], "García S.L.");
    assert_eq!(count(&h, &o).await, 3);
    let again = h.post(&o, &format!("/api/v1/imports/{import_id}/revert"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "import_already_reverted");
    assert_eq!(h.get(&o, "/api/v1/audit/verify").await.body["ok"], true);
});

both!(an_explicit_mapping_and_what_may_be_a_customer_on_file, |h| {
    let o = h.tenant("Import map").await;
    let th = json!({"match_thresholds": {"link": 92, "review": 50, "block": 95}});
    assert_eq!(h.patch(&o, "/api/v1/tenant", th).await.status, StatusCode::OK);
    let jon = h.customer(&o, json!({"name": "Jonathan Smithers", "phone": "+1 617 555 0100"})).await.id();
    let csv =
        "Kontakt,Mail,Ignore me,Stadt\nJonathan Smithers,js2@x.example,zzz,Bonn\nJörg Weiß,jw@x.example,zzz,Köln\n";
    let mapping = r#"{"Kontakt":"name","Mail":"email","Ignore me":null,"Stadt":"address.city"}"#;
    // The same name, nothing contradicting, below the link threshold: left out by default.
    let r = import(&h, &o, &format!("?mapping={}", urlencode(mapping)), csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(outcomes(&r), [(2, "duplicate".to_string()), (3, "create".to_string())]);
    assert_eq!(row(&r, 2)["matched"]["customer_id"], jon.to_string());
    let id = row(&r, 3)["customer_id"].as_str().unwrap().to_string();
    let c = h.get(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(c.body["address"]["city"], "Köln");
    assert_eq!(c.body["name"], "Jörg Weiß");
    // Asked to, it is created and the pair queued for review; Jörg is now on file.
    let r = import(&h, &o, &format!("?on_duplicate=create&mapping={}", urlencode(mapping)), csv).await;
    assert_eq!(outcomes(&r), [(2, "create".to_string()), (3, "duplicate".to_string())]);
    assert_eq!(row(&r, 3)["matched"]["customer_id"], id, "Jörg adds nothing to himself");
    let pairs = h.get(&o, "/api/v1/duplicates").await;
    assert_eq!(pairs.body["data"][0]["origin"], "import", "{:?}", pairs.body);
});

both!(a_file_imported_again_is_all_duplicates_and_writes_nothing, |h| {
    let o = h.tenant("Import twice").await;
    let csv = "name,email,phone,company\nAna Pérez,ana@x.example,+34 600 123 456,Acme\nBo Lind,bo@x.example,,\n";
    let first = import(&h, &o, "", csv).await;
    assert_eq!(first.body["counts"], json!({"create": 2, "update": 0, "duplicate": 0, "error": 0}));
    let ana = row(&first, 2)["customer_id"].clone();
    // The same people again, as another system spells them: nothing new to add.
    let again = "name,email,phone,company\nAna Pérez,ANA@x.example,0034 600-123-456,Acme\nBo Lind,bo@x.example,,\n";
    let dry = import(&h, &o, "?dry_run=true", again).await;
    let r = import(&h, &o, "", again).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(outcomes(&r), [(2, "duplicate".to_string()), (3, "duplicate".to_string())], "{:#?}", r.body["rows"]);
    assert_eq!(outcomes(&dry), outcomes(&r), "the dry run said so");
    assert_eq!(row(&r, 2)["matched"]["customer_id"], ana);
    assert_eq!(row(&r, 2)["duplicate_of_line"], Value::Null, "a duplicate of the customer, not of a row");
    assert_eq!(r.body["counts"], json!({"create": 0, "update": 0, "duplicate": 2, "error": 0}));
    let audit = h.get(&o, "/api/v1/audit").await.body;
    let updates = audit["data"].as_array().unwrap().iter().filter(|e| e["action"] == "update").count();
    assert_eq!(updates, 0, "no customer was written: {audit}");
    let id = r.body["import"]["id"].as_str().unwrap();
    let rv = h.post(&o, &format!("/api/v1/imports/{id}/revert"), json!({})).await;
    assert_eq!(rv.status, StatusCode::OK, "{:?}", rv.body);
    assert_eq!(rv.body["revert_report"]["deleted"], 0);
    assert_eq!(rv.body["revert_report"]["reverted"], 0);
    assert_eq!(count(&h, &o).await, 2);
    // A row that does add something is still an update.
    let more = import(&h, &o, "", "name,email,company\nBo Lind,bo@x.example,Lind AB\n").await;
    assert_eq!(outcomes(&more), [(2, "update".to_string())]);
    assert_eq!(row(&more, 2)["changed_fields"], json!(["company_name"]));
});

both!(a_row_linked_to_a_customer_queues_the_other_candidates_for_review, |h| {
    // The row holds one Wanda's email and the other Wanda's phone: it links to the one its
    // email names, and the two go to the review queue with what the row showed, as a chat
    // linking to one of them would queue them.
    let o = h.tenant("Import update pair").await;
    let by_phone = h.customer(&o, json!({"name": "Wanda Holt-Barnes", "phone": "+1 617 555 0101"})).await.id();
    let by_email = h
        .customer(&o, json!({"name": "Wanda Holt", "email": "wanda@x.example", "phone": "+1 617 555 0199"}))
        .await
        .id();
    let r = import(&h, &o, "", "name,email,phone\nWanda Holt,wanda@x.example,+1 617 555 0101\n").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // It fills no gap (the customer has a phone of its own): a duplicate of that customer.
    assert_eq!(outcomes(&r), [(2, "duplicate".to_string())]);
    assert_eq!(row(&r, 2)["matched"]["customer_id"], by_email.to_string());
    // The two were queued when the second was created (alike names, phones differing); the
    // import queues them again with what the row showed: the other's phone.
    let pairs = h.get(&o, "/api/v1/duplicates").await.body;
    let (x, y) = if by_phone < by_email { (by_phone, by_email) } else { (by_email, by_phone) };
    let pair = pairs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["customer_a"] == x.to_string() && p["customer_b"] == y.to_string())
        .unwrap_or_else(|| panic!("{pairs}"));
    let signals: Vec<&str> = pair["reasons"].as_array().unwrap().iter().filter_map(|r| r["signal"].as_str()).collect();
    assert!(signals.contains(&"phone"), "{pair}");
    assert_eq!(pair["vetoed"], false, "{pair}");
});

both!(bad_files_and_requests_answer_problems_and_write_nothing, |h| {
    let o = h.tenant("Import bad").await;
    let wrong_type = send_csv(&h, &o, "", "application/json", "name,email\nA,a@x.example\n").await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong_type.code(), "unsupported_media_type");
    let empty = import(&h, &o, "", "").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["errors"][0]["code"], "empty_file");
    let no_name = import(&h, &o, "", "email\na@x.example\n").await;
    assert_eq!(no_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_name.body["errors"][0]["code"], "name_column_required");
    let bad_map = import(&h, &o, "?mapping=%5B1%5D", "name,email\nA,a@x.example\n").await;
    assert_eq!(bad_map.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_map.body["errors"][0]["code"], "invalid_mapping");
    let unknown =
        import(&h, &o, &format!("?mapping={}", urlencode(r#"{"name":"nickname"}"#)), "name,email\nA,a@x.example\n")
            .await;
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");
    let bad_query = import(&h, &o, "?dry_run=perhaps", "name,email\nA,a@x.example\n").await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST);
    let sales = h.user(&o, "sales").await;
    let forbidden = import(&h, &sales, "", "name,email\nA,a@x.example\n").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(h.get(&sales, "/api/v1/imports").await.status, StatusCode::FORBIDDEN);
    let missing = h.post(&o, &format!("/api/v1/imports/{}/revert", uuid::Uuid::now_v7()), json!({})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&o, "/api/v1/imports/nope").await.status, StatusCode::NOT_FOUND);
    // Another tenant's import is unknown here.
    let other = h.tenant("Import other").await;
    let theirs = import(&h, &other, "", "name,email\nA,a@x.example\n").await;
    let their_id = theirs.body["import"]["id"].as_str().unwrap();
    assert_eq!(h.get(&o, &format!("/api/v1/imports/{their_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&h, &o).await, 0);
});

both!(a_large_file_lands_in_chunks_and_repeats_across_chunks_are_found, |h| {
    let o = h.tenant("Import big").await;
    let mut csv = String::from("name,email,phone\n");
    for i in 0..2500 {
        // Line 1502 repeats line 12's email, in another chunk.
        let n = if i == 1500 { 10 } else { i };
        csv.push_str(&format!("Person {i} Example,p{n}@big.example,\n"));
    }
    let entries_before = h.get(&o, "/api/v1/audit/verify").await.body["entries"].as_u64().unwrap();
    let r = import(&h, &o, "", &csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body["counts"]);
    assert_eq!(r.body["counts"], json!({"create": 2499, "update": 0, "duplicate": 1, "error": 0}));
    assert_eq!(row(&r, 1502)["duplicate_of_line"], 12);
    assert_eq!(count(&h, &o).await, 2499);
    // A chunk's commit writes a thousand events and audit entries, the chain head and the
    // counters (on SQLite as one command of some thirty statements): all of them landed,
    // in order.
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    assert_eq!(v.body["entries"].as_u64().unwrap(), entries_before + 2499 + 1, "each customer and the import");
    let last = row(&r, 2501)["customer_id"].as_str().unwrap().to_string();
    let timeline = h.get(&o, &format!("/api/v1/customers/{last}/timeline")).await;
    assert_eq!(timeline.body["data"][0]["type"], "created", "{:?}", timeline.body);
    let found = h.get(&o, "/api/v1/customers?q=p2499@big.example").await;
    assert_eq!(found.body["data"][0]["name"], "Person 2499 Example");
    let id = r.body["import"]["id"].as_str().unwrap();
    let rv = h.post(&o, &format!("/api/v1/imports/{id}/revert"), json!({})).await;
    assert_eq!(rv.body["revert_report"]["deleted"], 2499, "{:?}", rv.body);
    assert_eq!(count(&h, &o).await, 0);
});

both!(the_command_line_imports_and_reverts, |h| {
    let o = h.tenant("Import cli").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "name,email\nAna Lima,ana@cli.example\nBad,nope\n").unwrap();
    let tenant = o.tenant_id.to_string();
    let path = file.to_str().unwrap();
    let (code, out) =
        crate::cli::run_db(&h.url, dir.path(), &["import", "--tenant", &tenant, path, "--dry-run"]).await.unwrap();
    assert_eq!(code, std::process::ExitCode::FAILURE, "a row in error fails the command: {out}");
    assert!(out.contains("dry run: 1 created, 0 updated, 0 duplicates, 1 errors"), "{out}");
    assert_eq!(count(&h, &o).await, 0);
    std::fs::write(&file, "name,email\nAna Lima,ana@cli.example\n").unwrap();
    let (code, out) = crate::cli::run_db(&h.url, dir.path(), &["import", "--tenant", &tenant, path]).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{out}");
    assert_eq!(count(&h, &o).await, 1);
    let id = out.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string();
    let listed = h.get(&o, "/api/v1/imports").await;
    assert_eq!(listed.body["data"][0]["id"], id);
    assert_eq!(listed.body["data"][0]["actor_type"], "system");
    let (code, out) =
        crate::cli::run_db(&h.url, dir.path(), &["import", "--tenant", &tenant, "--revert", &id]).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{out}");
    assert_eq!(count(&h, &o).await, 0);
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

both!(an_interrupted_import_can_be_reverted_once_it_stalls, |h| {
    let o = h.tenant("Import stalled").await;
    let r = import(&h, &o, "", "name,email\nAna Lima,ana@stall.example\nBo Lin,bo@stall.example\n").await;
    let id = uuid::Uuid::parse_str(r.body["import"]["id"].as_str().unwrap()).unwrap();
    // As a server that stopped after the chunk would have left it: running, counts of what landed.
    let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
    let mut row = tx.get_import(id).await.unwrap().unwrap();
    assert_eq!(row.counts, json!({"create": 2, "update": 0, "duplicate": 0, "error": 0}), "the chunk wrote its counts");
    row.status = "running".into();
    row.finished_at = None;
    tx.update_import(&row).await.unwrap();
    tx.commit().await.unwrap();
    let busy = h.post(&o, &format!("/api/v1/imports/{id}/revert"), json!({})).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.code(), "import_running");
    let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
    row.updated_at -= time::Duration::minutes(11);
    tx.update_import(&row).await.unwrap();
    tx.commit().await.unwrap();
    let rv = h.post(&o, &format!("/api/v1/imports/{id}/revert"), json!({})).await;
    assert_eq!(rv.status, StatusCode::OK, "{:?}", rv.body);
    assert_eq!(rv.body["revert_report"]["deleted"], 2);
    assert_eq!(count(&h, &o).await, 0);
});

both!(rows_an_import_created_never_crowd_a_customer_on_file_out_of_a_later_rows_candidates, |h| {
    // A thousand namesakes created by the first chunk of a file (a chunk is 1,000 rows;
    // their phones differ from hers) are newer than the one Ana on file and share as many
    // keys with a later row that is her: they are no candidates of that row (decided
    // against the customers on file before the import), so they must not take the places
    // of those that are. The dry run, which creates nothing, and the import agree.
    let o = h.tenant("Crowd").await;
    let ana = h.customer(&o, json!({"name": "Ana Pérez", "phone": "+34 600 123 456"})).await.id();
    let single = "Name,E-mail,Phone\nAna Pérez,ana.perez@crowd.example,\n";
    let alone = import(&h, &o, "?dry_run=true", single).await;
    assert_eq!(outcomes(&alone), [(2, "update".to_string())], "{:?}", alone.body);
    assert_eq!(row(&alone, 2)["matched"]["customer_id"], ana.to_string());

    let mut file = String::from("Name,E-mail,Phone\n");
    for i in 0..1000 {
        file.push_str(&format!("Ana Pérez,,+34 61{i:07}\n"));
    }
    file.push_str("Ana Pérez,ana.perez@crowd.example,\n");
    let last = 1002;
    let dry = import(&h, &o, "?dry_run=true", &file).await;
    assert_eq!(dry.status, StatusCode::OK, "{:?}", dry.body);
    assert_eq!(
        dry.body["counts"],
        json!({"create": 1000, "update": 1, "duplicate": 0, "error": 0}),
        "{:?}",
        dry.body["counts"]
    );
    let done = import(&h, &o, "", &file).await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body["counts"]);
    assert_eq!(done.body["counts"], dry.body["counts"]);
    assert!(outcomes(&done) == outcomes(&dry), "the import and its dry run differ");
    assert_eq!(row(&done, last)["outcome"], "update");
    assert_eq!(row(&done, last)["customer_id"], ana.to_string());
});
