//! The `rapport` command: parse, run, exit.
#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc instead of the system allocator: glibc's per-thread arenas kept freed memory
/// and its bookkeeping showed in profiles (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = rapport::cli::Cli::parse();
    rapport::telemetry::init();
    let mut out = std::io::stdout();
    match rapport::cli::execute(cli, &mut out).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
