use std::process::ExitCode;

// Telemetry allocates per record on request threads and frees on the export
// thread; glibc's allocator spends much of the telemetry budget on that
// (cross-thread frees, consolidation), mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

use alertingscout::configuration::{Cli, Command};
use alertingscout::startup::{shutdown_signal, Application};
use alertingscout::telemetry::config::OtelConfig;
use alertingscout::telemetry::Telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => serve(cli.settings),
    }
}

fn serve(settings: alertingscout::configuration::Settings) -> ExitCode {
    let otel = match OtelConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("alertingscout: {error}");
            return ExitCode::from(2);
        }
    };
    // Before the first request, so every pseudonym comes from the configured key.
    let pii_key = match alertingscout::telemetry::pii::configure(settings.pii_key.as_deref()) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("alertingscout: {error}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match Telemetry::init(otel, settings.log_stdout, settings.prometheus_metrics) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("alertingscout: telemetry setup failed: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(alertingscout::startup::BLOCKING_THREADS)
        // A request's records are made once its response is written and the
        // worker is idle (telemetry::after_response).
        .on_thread_park(alertingscout::telemetry::after_response::on_worker_park)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("alertingscout: {error}");
            return ExitCode::FAILURE;
        }
    };
    let handle = telemetry.handle();
    let result = runtime.block_on(async move {
        let app = Application::build(&settings, handle).await?;
        let addr = app.local_addr()?;
        // Tests and scripts read this line to find a random port.
        eprintln!("alertingscout listening on http://{addr}");
        tracing::info!(server.address = %addr, "alertingscout started");
        if pii_key == alertingscout::telemetry::pii::KeySource::Random {
            tracing::warn!(
                "caller ids are pseudonymised with a random key: set ALERTINGSCOUT_PII_KEY to keep them stable across restarts"
            );
        }
        app.run_until_stopped(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    // Flush and stop the providers here, on the main thread, outside the
    // runtime's workers (the SDK deadlocks otherwise).
    telemetry.shutdown();
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("alertingscout: {error:#}");
            ExitCode::FAILURE
        }
    }
}
