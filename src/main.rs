//! The `beacon` binary: all behaviour lives in the library; see `beacon::cli`.

fn main() -> std::process::ExitCode {
    beacon::cli::main()
}
