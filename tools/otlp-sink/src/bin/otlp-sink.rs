//! Standalone OTLP receiver: counts what arrives and prints the totals periodically and
//! at exit. Useful as a stand-in collector when benchmarking by hand.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use otlp_sink::{Counts, Sink};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser, Debug)]
#[command(
    name = "otlp-sink",
    about = "A fast OTLP receiver that counts what it gets"
)]
struct Args {
    /// OTLP/gRPC listen address.
    #[arg(long, default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// OTLP/HTTP (protobuf) listen address.
    #[arg(long, default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Serve gRPC only.
    #[arg(long)]
    no_http: bool,
    /// Seconds between count reports; 0 prints only at exit.
    #[arg(long, default_value_t = 5)]
    interval: u64,
}

fn line(c: &Counts) -> String {
    format!(
        "spans={} log_records={} metric_data_points={} requests(traces={} logs={} metrics={})",
        c.spans,
        c.log_records,
        c.metric_data_points,
        c.trace_requests,
        c.log_requests,
        c.metric_requests
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let http = (!args.no_http).then_some(args.http);
    let sink = Sink::start_on(args.grpc, http, false).await?;
    println!(
        "otlp-sink: grpc {} http {}",
        sink.grpc_endpoint(),
        sink.http_endpoint().unwrap_or_else(|| "off".into())
    );

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    // An interval of 0 means "never tick"; a very long period does that without a branch.
    let period = match args.interval {
        0 => Duration::from_secs(u32::MAX as u64),
        s => Duration::from_secs(s),
    };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = ticker.tick() => println!("otlp-sink: {}", line(&sink.counts())),
        }
    }
    println!("otlp-sink: final {}", line(&sink.counts()));
    sink.shutdown().await;
    Ok(())
}
