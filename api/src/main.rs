//! The `tablepay` binary; see [`tablepay_api::cli`].

fn main() -> std::process::ExitCode {
    tablepay_api::cli::main()
}
