//! The `tablepay` command, built inside the test package so the tests can start it as a process.

fn main() -> std::process::ExitCode {
    tablepay_api::cli::main()
}
