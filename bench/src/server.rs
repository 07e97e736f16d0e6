//! `tablepay` itself, built beside the benchmark so it can start it as a process.

fn main() -> std::process::ExitCode {
    tablepay_api::cli::main()
}
