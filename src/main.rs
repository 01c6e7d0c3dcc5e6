//! The `anubad` binary: parses flags, hands them to the command's module in
//! [`cli`], prints errors once and chooses the exit code (0 all succeeded,
//! 1 some article failed, 2 usage or configuration error, 130 and 143 a run
//! stopped by SIGINT or SIGTERM).

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let (Failure::Config(error) | Failure::Run(error)) = &failure;
            eprintln!("error: {error}");
            // Client libraries often wrap an error in one that repeats its
            // text; each message is printed once.
            let mut shown = error.to_string();
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !shown.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                    shown = cause;
                }
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Translate(args) => cli::translate::translate(args),
        Command::Extract(args) => cli::extract::extract(args),
        Command::Models(command) => cli::models::models(command),
        Command::Digest(args) => cli::digest::digest(args),
        Command::Cache(args) => cli::cache::cache(args),
        Command::Bench(args) => cli::bench::bench(args),
        Command::Eval(args) => cli::eval::eval(args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "anubad", &mut std::io::stdout());
            Ok(0)
        }
    }
}
