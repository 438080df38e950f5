//! The commands of `rapport`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use rapport_app::users::NewUser;
use rapport_core::role::Role;
use secrecy::SecretString;
use uuid::Uuid;

use crate::config::{DbConfig, FileConfig};
use crate::serve;

#[derive(Debug, Parser)]
#[command(name = "rapport", version, about = "Self-hosted, multi-tenant customer management")]
pub struct Cli {
    /// A TOML file with defaults for any setting.
    #[arg(long, env = "RAPPORT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Where the embedded database and other files live [default: ./rapport-data].
    #[arg(long, env = "RAPPORT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: a SQLite file in the data dir].
    #[arg(long, env = "RAPPORT_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (creates the first tenant and owner on an empty database).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "RAPPORT_LISTEN")]
        listen: Option<String>,
        /// Key that signs access tokens; every node of one deployment needs the same.
        #[arg(long, env = "RAPPORT_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<SecretString>,
    },
    /// Create or update the database schema.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Customer metrics.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Scan a tenant for duplicates and queue the pairs found for review.
    Dedupe {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: Uuid,
        /// Match probability a pair needs to be queued (0.5 to 1).
        #[arg(long)]
        threshold: Option<f64>,
        /// At most this many pairs are queued, the most probable first.
        #[arg(long)]
        max_pairs: Option<usize>,
    },
    /// Import customers from a CSV file (or revert an import), as the system.
    Import {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: Uuid,
        /// The CSV file: a header row, then one customer per row.
        #[arg(required_unless_present = "revert")]
        file: Option<PathBuf>,
        /// Report what each row would do, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// JSON object from column header to field (or null to ignore the column).
        #[arg(long)]
        mapping: Option<String>,
        /// What to do with a row that may be a customer on file: skip or create.
        #[arg(long, default_value = "skip")]
        on_duplicate: String,
        /// Revert this import instead.
        #[arg(long, conflicts_with_all = ["file", "dry_run", "mapping"])]
        revert: Option<Uuid>,
    },
    /// Measure the service levels: load a data set, serve it, drive it over HTTP.
    Bench(crate::bench::BenchArgs),
    /// A consistent online copy of the SQLite database.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The file to write.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its owner; prints the tenant's id.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long, env = "RAPPORT_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to a tenant; prints the user's id.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        email: String,
        /// owner, admin, manager, sales, support, viewer or portal.
        #[arg(long)]
        role: String,
        #[arg(long, env = "RAPPORT_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Recompute every customer's metrics from its conversations; reports the drift corrected.
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of one tenant or of all; exits 1 when a link is broken.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: Option<Uuid>,
    },
}

async fn open(
    config: &Option<PathBuf>,
    db: DbArgs,
    jwt: Option<SecretString>,
) -> anyhow::Result<(rapport_app::App, DbConfig, FileConfig)> {
    let file = FileConfig::load(config.as_deref())?;
    let dbc = DbConfig::resolve(db.data_dir, db.database_url, &file)?;
    let store = serve::connect(&dbc).await?;
    let secret = serve::jwt_secret(jwt.or_else(|| file.jwt_secret.clone()), &dbc.data_dir)?;
    Ok((serve::app(store, secret), dbc, file))
}

/// Runs one command, writing what it reports to `out`.
pub async fn execute(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<ExitCode> {
    let cfg = cli.config;
    match cli.command {
        Command::Serve { db, listen, jwt_secret } => {
            let (app, _, file) = open(&cfg, db, jwt_secret).await?;
            let listen = listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".to_string());
            serve::serve(app, &listen, out).await?;
        }
        Command::Migrate { db } => {
            let (app, _, _) = open(&cfg, db, None).await?;
            writeln!(out, "migrated ({})", app.store.backend().as_str())?;
            app.store.close().await;
        }
        Command::Tenant(TenantCommand::Create { db, name, owner_email, owner_password }) => {
            let (app, _, _) = open(&cfg, db, None).await?;
            let owner =
                NewUser { email: owner_email, name: String::new(), role: Role::Owner, password: Some(owner_password) };
            let (t, _) = app.create_tenant(&name, owner).await.map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
            writeln!(out, "{}", t.id)?;
            app.store.close().await;
        }
        Command::User(UserCommand::Add { db, tenant, email, role, password, name }) => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            let (app, _, _) = open(&cfg, db, None).await?;
            let u = app
                .add_user(tenant, NewUser { email, name, role, password: Some(password) })
                .await
                .map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
            writeln!(out, "{}", u.id)?;
            app.store.close().await;
        }
        Command::Audit(AuditCommand::Verify { db, tenant }) => {
            let (app, _, _) = open(&cfg, db, None).await?;
            let tenants = match tenant {
                Some(t) => vec![t],
                None => app.store.tenant_ids().await?,
            };
            let mut broken = false;
            for t in tenants {
                let v = app.verify_audit(t).await?;
                match v.first_broken_seq {
                    None => writeln!(out, "tenant {t}: ok, {} entries", v.entries)?,
                    Some(seq) => {
                        broken = true;
                        writeln!(out, "tenant {t}: BROKEN at entry {seq}: {}", v.reason.unwrap_or_default())?;
                    }
                }
            }
            app.store.close().await;
            if broken {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Metrics(MetricsCommand::Rebuild { db, tenant }) => {
            let (app, _, _) = open(&cfg, db, None).await?;
            let tenants = match tenant {
                Some(t) => vec![t],
                None => app.store.tenant_ids().await?,
            };
            for t in tenants {
                let d = app.rebuild_metrics(t).await?;
                writeln!(
                    out,
                    "tenant {t}: {} customers checked, {} corrected",
                    d.customers_checked, d.customers_corrected
                )?;
            }
            app.store.close().await;
        }
        Command::Dedupe { db, tenant, threshold, max_pairs } => {
            let (app, _, _) = open(&cfg, db, None).await?;
            let req = rapport_app::duplicate_scan::ScanRequest { threshold, max_pairs };
            let o = app.scan_tenant_duplicates(tenant, req).await.map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
            writeln!(
                out,
                "tenant {tenant}: {} customers, {} pairs compared, {} found at p >= {}, {} queued for review ({} ms)",
                o.records, o.compared, o.found, o.threshold, o.queued, o.elapsed_ms
            )?;
            app.store.close().await;
        }
        Command::Import { db, tenant, file, dry_run, mapping, on_duplicate, revert } => {
            let (app, _, _) = open(&cfg, db, None).await?;
            let meta = rapport_app::RequestMeta::default();
            let actor = rapport_app::Actor::system();
            let failed = match (revert, file) {
                (Some(id), _) => {
                    let i = app
                        .run_revert(tenant, &actor, &meta, id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
                    writeln!(out, "import {id} reverted: {}", i.revert_report.unwrap_or_default())?;
                    false
                }
                (None, Some(file)) => {
                    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                    let options = rapport_app::imports::ImportOptions {
                        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
                        mapping: match &mapping {
                            Some(m) => {
                                serde_json::from_str(m).context("--mapping must be a JSON object of column to field")?
                            }
                            None => Default::default(),
                        },
                        dry_run,
                        on_duplicate: serde_json::from_value(serde_json::json!(on_duplicate))
                            .context("--on-duplicate is skip or create")?,
                    };
                    let r = app
                        .run_import(tenant, &actor, &meta, &bytes, &options)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
                    for row in r.rows.iter().filter(|r| r.outcome != rapport_app::imports::Outcome::Create) {
                        writeln!(out, "line {}: {}", row.line, serde_json::to_string(row)?)?;
                    }
                    let c = r.counts;
                    let what = match &r.import {
                        Some(i) => format!("import {}", i.id),
                        None => "dry run".to_string(),
                    };
                    writeln!(
                        out,
                        "{what}: {} created, {} updated, {} duplicates, {} errors",
                        c.create, c.update, c.duplicate, c.error
                    )?;
                    c.error > 0
                }
                (None, None) => bail!("give a file to import, or --revert ID"),
            };
            app.store.close().await;
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Bench(args) => crate::bench::run(args, out).await?,
        Command::Backup { db, to } => {
            let file = FileConfig::load(cfg.as_deref())?;
            let dbc = DbConfig::resolve(db.data_dir, db.database_url, &file)?;
            let crate::config::DatabaseUrl::Sqlite(url) = &dbc.database else {
                bail!("backup copies the embedded SQLite database; back PostgreSQL up with pg_dump");
            };
            if to.exists() {
                bail!("{} exists; choose a new file", to.display());
            }
            let store = rapport_store_sqlite::SqliteStore::connect(url, 1).await?;
            store.backup(&to.to_string_lossy()).await?;
            rapport_store::Store::close(&store).await;
            writeln!(out, "backed up to {}", to.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn details(e: &rapport_app::AppError) -> String {
    e.field_errors().iter().map(|f| format!("\n  {}: {}", f.field, f.message)).collect()
}
