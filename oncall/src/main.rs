use clap::Parser;

use oncall::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(settings) => oncall::serve::run(settings),
        Command::Snapshot(settings) => oncall::snapshot::run(settings),
    }
}
