use clap::Parser;

use oncall::cli::{Cli, Command, IncidentCommand};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(settings) => oncall::serve::run(*settings),
        Command::Snapshot(settings) => oncall::snapshot::run(settings),
        Command::Logs(settings) => oncall::logs::client::run_logs(settings),
        Command::Audit(settings) => oncall::logs::client::run_audit(settings),
        Command::Operators(command) => oncall::operators::run(command),
        Command::Retention(command) => oncall::retention::run_command(command),
        Command::Incident(IncidentCommand::Export(settings)) => {
            oncall::incident::client::run_export(*settings)
        }
        Command::Cost(settings) => oncall::cost::run(*settings),
    }
}
