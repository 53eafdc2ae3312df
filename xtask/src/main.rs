//! `cargo xtask`: the native stack runner (see README.md, "Run the stack").

mod components;
mod down;
mod install;
mod logs;
mod process;
mod status;
mod up;

use clap::{Parser, Subcommand};

use xtask::layout::Layout;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Run AlertingScout's observability stack natively"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install, build and start the stack, then the service; idempotent.
    Up {
        /// Collector config: "default" (otel-collector/config.yaml), "swap"
        /// (otel-collector/config-swap.yaml) or a path.
        #[arg(
            long,
            env = "ALERTINGSCOUT_COLLECTOR_CONFIG",
            default_value = "default"
        )]
        collector_config: String,
        /// Start the stack without the AlertingScout service.
        #[arg(long)]
        no_service: bool,
        /// Elasticsearch nodes: 1 (a single node on 9200) or a cluster on
        /// loopback, HTTP 9200.. and transport 9300.., indices with one replica;
        /// the Collector then lists every node (docs/scaling.md).
        #[arg(long, default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..=i64::from(xtask::ports::MAX_ES_NODES)))]
        es_nodes: u16,
    },
    /// Stop what `up` started.
    Down,
    /// Make the stack's secrets in .stack/secrets (as `up` does) and
    /// .stack/secrets/compose.env for `docker compose --env-file`.
    Secrets,
    /// Health of each component and of the pipeline; non-zero exit when one is down.
    Status,
    /// Show (or follow) the logs of one component or of all.
    Logs {
        /// elasticsearch, collector, oncall, alertmanager, prometheus or service.
        component: Option<String>,
        #[arg(short = 'n', long, default_value_t = 40)]
        lines: usize,
        #[arg(short, long)]
        follow: bool,
    },
}

fn main() {
    // Die quietly on a closed pipe (`cargo xtask status | head`), as CLI tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let layout = Layout::discover();
    let result = match cli.command {
        Cmd::Up {
            collector_config,
            no_service,
            es_nodes,
        } => up::run(
            &layout,
            &up::Options {
                collector_config,
                service: !no_service,
                es_nodes,
            },
        ),
        Cmd::Down => down::run(&layout),
        Cmd::Secrets => xtask::secrets::ensure_all(&layout).map(|path| {
            println!("{}", path.display());
        }),
        Cmd::Status => status::run(&layout),
        Cmd::Logs {
            component,
            lines,
            follow,
        } => logs::run(&layout, component.as_deref(), lines, follow),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
