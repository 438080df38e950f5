//! A tiny run of `rapport bench` keeps the benchmark working; it asserts what was measured
//! and reported, never how fast.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_benchmark_runs_and_reports_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.json");
    let args = [
        "rapport",
        "bench",
        "--customers",
        "300",
        "--tenants",
        "2",
        "--conversations",
        "60",
        "--requests",
        "40",
        "--concurrency",
        "4",
        "--imports",
        "2",
        "--import-rows",
        "50",
        "--in-process-server",
        "--data-dir",
    ];
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.push(dir.path().join("data").display().to_string());
    argv.extend(["--out".to_string(), out.display().to_string()]);
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let mut text = Vec::new();
    rapport::cli::execute(cli, &mut text).await.expect("the benchmark runs");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let ops = report["operations"].as_array().unwrap();
    for (name, count) in
        [("list", 40), ("search", 40), ("ingest", 40), ("stats", 40), ("engagement", 40), ("import", 100), ("scan", 3)]
    {
        let op = ops.iter().find(|o| o["name"] == name).unwrap_or_else(|| panic!("{name} missing: {report}"));
        assert_eq!(op["count"], count, "{name}");
        assert_eq!(op["errors"], 0, "{name}");
        assert!(op["p99_ms"].as_f64().unwrap() >= op["p50_ms"].as_f64().unwrap());
    }
    // The peak so far after each operation only grows, up to the whole run's.
    let peaks: Vec<u64> = ops.iter().map(|o| o["peak_rss_bytes"].as_u64().unwrap()).collect();
    assert!(peaks[0] > 0 && peaks.windows(2).all(|w| w[0] <= w[1]), "{peaks:?}");
    assert!(peaks.last().copied() <= report["peak_rss_bytes"].as_u64());
    let dedup = &report["dedup"];
    // Returning people are counted; how many were linked right is a measurement, not a rule
    // of this test (people of the same name with no contradicting detail do link).
    let total = dedup["total"].as_u64().unwrap();
    assert!(total > 0, "{report}");
    assert!(dedup["missed_links"].as_u64().unwrap() <= total, "{report}");
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("p99 ms"), "{text}");
    // The machine measured is named, in the report and the text.
    let cores = report["machine"]["cores"].as_u64().unwrap();
    assert_eq!(cores as usize, std::thread::available_parallelism().unwrap().get(), "{report}");
    assert!(!report["machine"]["cpu"].as_str().unwrap().is_empty(), "{report}");
    assert!(
        text.starts_with("machine: ") && text.lines().next().unwrap().contains(&format!("{cores} cores")),
        "{text}"
    );
    assert!(text.contains("imported 100 rows: "), "{text}");
    // The loaded customers are assigned, three in four, to their own tenant's sales people
    // (two each at this size); the chats' and the files' new customers are not.
    let db = format!("sqlite://{}", dir.path().join("data").join("rapport.db").display());
    let db = sqlx::SqlitePool::connect(&db).await.unwrap();
    let (assigned, to_own_sales, sales): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(c.assigned_to), count(u.id), \
                (SELECT count(*) FROM users WHERE role = 'sales') \
           FROM customers c \
           LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.assigned_to AND u.role = 'sales'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(sales, 4);
    assert_eq!(assigned, to_own_sales);
    assert!((150..=300).contains(&assigned), "{assigned} of 300 loaded customers assigned");

    // Two runs on copies of one data set send the same requests: the same files import alike.
    let mut imported = Vec::new();
    for n in 0..2 {
        let copy = dir.path().join(format!("copy{n}"));
        std::fs::create_dir(&copy).unwrap();
        for f in std::fs::read_dir(dir.path().join("data")).unwrap().flatten() {
            std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
        }
        let mut run: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run.push(copy.display().to_string());
        run.extend(["--out", &out.display().to_string(), "--reuse", "--only", "import"].map(String::from));
        let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(run).unwrap();
        let mut text = Vec::new();
        rapport::cli::execute(cli, &mut text).await.expect("the import runs on a copy");
        let text = String::from_utf8(text).unwrap();
        imported.push(text.lines().find(|l| l.starts_with("imported ")).unwrap_or_default().to_string());
    }
    assert!(!imported[0].is_empty() && imported[0] == imported[1], "{imported:?}");

    // Measured again on the data set just loaded, without loading it: the returning people
    // are the loaded ones, found by their emails (none found fails the run).
    let mut again: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    again.push(dir.path().join("data").display().to_string());
    again.extend(["--out".to_string(), out.display().to_string(), "--reuse".to_string()]);
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(again).unwrap();
    let mut text = Vec::new();
    rapport::cli::execute(cli, &mut text).await.expect("the benchmark runs on the reused data set");
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("reusing the data set") && !text.contains("loading 300"), "{text}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["load"]["reused"], true);
    let ops = report["operations"].as_array().unwrap();
    assert!(ops.iter().all(|o| o["errors"] == 0), "{report}");
    assert!(report["dedup"]["total"].as_u64().unwrap() > 0, "{report}");

    // One operation measured alone: the others are neither run nor reported.
    let mut only: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    only.push(dir.path().join("data").display().to_string());
    only.extend(["--out", &out.display().to_string(), "--reuse", "--only", "ingest,stats"].map(String::from));
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(only).unwrap();
    rapport::cli::execute(cli, &mut Vec::new()).await.expect("the benchmark measures only ingest and stats");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let names: Vec<&str> =
        report["operations"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ingest", "stats"], "{report}");
    let mut unknown: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    unknown.extend(["x".to_string(), "--only".to_string(), "lists".to_string()]);
    assert!(<rapport::cli::Cli as clap::Parser>::try_parse_from(unknown).is_err(), "an unknown operation is refused");

    // Other sizes than those loaded are refused.
    let mut other: Vec<String> =
        args.iter().map(|s| if *s == "300" { "400".to_string() } else { s.to_string() }).collect();
    other.push(dir.path().join("data").display().to_string());
    other.push("--reuse".to_string());
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(other).unwrap();
    let err = rapport::cli::execute(cli, &mut Vec::new()).await.expect_err("sizes differ");
    assert!(err.to_string().contains("give the same sizes"), "{err}");

    // A data set another version of the generator made (or one loaded before the version
    // was recorded) would be drawn as other people: refused, not measured with few found.
    let manifest = dir.path().join("data").join("bench-load.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("generator");
    std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();
    let mut older: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    older.push(dir.path().join("data").display().to_string());
    older.push("--reuse".to_string());
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(older).unwrap();
    let err = rapport::cli::execute(cli, &mut Vec::new()).await.expect_err("another generator's data set");
    assert!(err.to_string().contains("load it again"), "{err}");
}
