//! How the databases keep what they are given: the WAL checkpointed beside the writer, reads of
//! any number of customers.

use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Backend, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_copies_committed_pages_into_the_database_file_beside_the_writer() {
    // The writer never checkpoints (its commits only append to the WAL); the store's own
    // checkpointer copies the pages into the database file within a few of its ticks.
    let h = Harness::new(Backend::Sqlite).await.unwrap();
    let o = h.tenant("Checkpoints").await;
    let path = std::path::PathBuf::from(h.url.trim_start_matches("sqlite://"));
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // Let the checkpointer catch up with the tenant, then write enough to need new pages.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let before = size();
    for i in 0..200 {
        let email = unique_email(&format!("page{i}"));
        let r = h.customer(&o, json!({"name": format!("Page Filler {i} {}", "x".repeat(150)), "email": email})).await;
        assert_eq!(r.status, http::StatusCode::CREATED, "{:?}", r.body);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() <= before {
        assert!(std::time::Instant::now() < deadline, "the database file stayed at {before} bytes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_checkpointer_runs_below_the_requests_priority() {
    // The WAL copy is background work: its thread yields the CPU to the request threads.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nice.db").display());
    let store = rapport_store_sqlite::SqliteStore::connect(&url, 1).await.unwrap();
    // Each thread's name and nice value (the 19th field of its stat, after the name's
    // closing parenthesis).
    let threads: Vec<(String, i64)> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|t| {
            let name = std::fs::read_to_string(t.path().join("comm")).ok()?.trim_end().to_string();
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let after_name = &stat[stat.rfind(')')? + 2..];
            Some((name, after_name.split(' ').nth(16)?.parse().ok()?))
        })
        .collect();
    let copies: Vec<i64> = threads.iter().filter(|(n, _)| n == "wal-checkpoint").map(|(_, nice)| *nice).collect();
    assert!(!copies.is_empty(), "no checkpointer thread among {threads:?}");
    // Another test's store may be between naming its thread and lowering it.
    assert!(copies.contains(&10), "{threads:?}");
    assert!(threads.iter().filter(|(n, _)| n.starts_with("sqlx-sqlite")).all(|(_, nice)| *nice == 0), "{threads:?}");
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sqlite_store_stops_its_checkpointer() {
    // A store dropped without `close` (a test, a command that returns early) must not leave
    // its checkpointing task and connection behind for the life of the process.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("drop.db").display());
    let store = rapport_store_sqlite::SqliteStore::connect(&url, 1).await.unwrap();
    let checkpointer = store.checkpointer_pool().clone();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!checkpointer.is_closed(), "the checkpointer runs while the store lives");
    drop(store);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !checkpointer.is_closed() {
        assert!(std::time::Instant::now() < deadline, "the checkpointer outlived its store");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

both!(an_update_over_the_row_as_read_is_refused_once_another_write_came_between, |h| {
    // A write over the row the caller read does not read it again: the version it requires
    // proves the row unchanged, and a row changed meanwhile refuses it.
    let o = h.tenant("Over").await;
    let id = h.customer(&o, json!({"name": "Ottilie Overbeck", "email": unique_email("oo")})).await.id();
    let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
    let read = tx.get_customer(id).await.unwrap().unwrap();
    let mut renamed = read.clone();
    renamed.data.name = "Ottilie Overbeck-Lind".into();
    renamed.version += 1;
    tx.update_customer_over(&read, &renamed).await.unwrap();
    // The same row as read before that write: stale now.
    let mut again = read.clone();
    again.data.name = "Ottilie Lind".into();
    again.version += 1;
    assert!(matches!(tx.update_customer_over(&read, &again).await, Err(rapport_store::StoreError::StaleVersion)));
    tx.commit().await.unwrap();
    let stored = h.get(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(stored.body["name"], "Ottilie Overbeck-Lind");
    assert_eq!(stored.body["version"], 2);
    let found = h.get(&o, "/api/v1/customers?q=Overbeck-Lind").await;
    assert_eq!(found.body["data"][0]["id"], id.to_string(), "{:?}", found.body);
});

both!(customers_are_read_by_any_number_of_ids, |h| {
    // A large import's revert reads every customer it touched: more ids than one statement
    // may bind (SQLite allows 32,766 values, PostgreSQL 65,535).
    let o = h.tenant("Many ids").await;
    let known = h.customer(&o, json!({"name": "Ida Many", "email": unique_email("ida")})).await.id();
    let mut ids: Vec<uuid::Uuid> = (0..70_000u128).map(uuid::Uuid::from_u128).collect();
    ids.push(known);
    for read_only in [false, true] {
        let mut tx = if read_only {
            h.app.store.read(o.tenant_id).await.unwrap()
        } else {
            h.app.store.begin(o.tenant_id).await.unwrap()
        };
        let found = tx.get_customers(&ids).await.unwrap();
        assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [known], "read_only={read_only}");
    }
});
