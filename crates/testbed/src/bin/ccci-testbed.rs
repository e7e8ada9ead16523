//! `ccci-testbed`: the testbed's command line for scripts (the README's demo, benchmarks).
//! `ccci-testbed fixture <name> <dest>` builds a fixture recipe as a git repository;
//! `ccci-testbed fixtures` lists them; `ccci-testbed proxy-addr` prints where the proxy's HTTPS
//! entry point listens; `ccci-testbed ca-bundle` prints the CA its certificate is issued by.

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: ccci-testbed fixture <name> <dest> | fixtures | proxy-addr | ca-bundle";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["fixture", name, dest] => match testbed::fixture(name, Path::new(dest)) {
            Ok(repo) => {
                println!("{}", repo.path.display());
                eprintln!("fixture {name}: tags {}; branches {}", repo.tags.join(", "), repo.branches.join(", "));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        ["fixtures"] => {
            for name in testbed::fixture_names() {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        ["proxy-addr"] => {
            println!("{}", testbed::proxy_addr());
            ExitCode::SUCCESS
        }
        ["ca-bundle"] => {
            println!("{}", testbed::ca_bundle().display());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
