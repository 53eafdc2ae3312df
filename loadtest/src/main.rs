fn main() -> std::process::ExitCode {
    loadtest::cli::main()
}
