//! The `rapport` command: parse, run, exit.
#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc instead of the system allocator: glibc's per-thread arenas kept freed memory
/// and its bookkeeping showed in profiles (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option for how long freed memory stays with the process, in milliseconds.
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// mimalloc (version 3) gives freed memory back to the system a second after it is freed.
/// A server that frees an import's working memory on some threads and then scans on others
/// held both at once: at 200,000 customers the peak was 237 MiB against 171 with freed
/// memory given back at once, with the same rates (docs/PERFORMANCE.md, "Memory"). mimalloc
/// reads its options from the environment as the process loads, before any of this code
/// runs, so unless the variable is set the command runs itself again, once, in place
/// (same process id, arguments and environment) with it set to 0. If that cannot be done,
/// it runs on with the default.
fn allocator_settings() {
    if std::env::var_os(PURGE_DELAY).is_some() {
        return;
    }
    #[cfg(unix)]
    if let Ok(exe) = std::env::current_exe() {
        use std::os::unix::process::CommandExt;
        // Returns only if the program could not be started again.
        let _ = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(PURGE_DELAY, "0").exec();
    }
}

fn main() -> std::process::ExitCode {
    allocator_settings();
    let cli = rapport::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        rapport::telemetry::init();
        let mut out = std::io::stdout();
        match rapport::cli::execute(cli, &mut out).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
