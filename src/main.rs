//! The `onus` binary: everything happens in [`onus::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    onus::cli::main()
}
