//! `grub-editenv FILE create|list|set NAME=VALUE...|unset NAME...`: the
//! subset of GRUB's tool that RAUC's GRUB backend and the boot scripts use,
//! as a static binary (GRUB's own links the C library dynamically).

use grubenv::Env;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: grub-editenv FILE create|list|set NAME=VALUE...|unset NAME...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grub-editenv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [file, command, rest @ ..] = args else {
        return Err(USAGE.into());
    };
    let path = Path::new(file);
    match command.as_str() {
        "create" => Env::default().save(path).map_err(|e| e.to_string()),
        "list" => {
            let env = Env::load(path).map_err(|e| e.to_string())?;
            for (k, v) in env.vars() {
                println!("{k}={v}");
            }
            Ok(())
        }
        "set" => {
            let mut env = load_or_new(path)?;
            for pair in rest {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("{pair:?} is not NAME=VALUE"))?;
                env.set(k, v).map_err(|e| e.to_string())?;
            }
            env.save(path).map_err(|e| e.to_string())
        }
        "unset" => {
            let mut env = Env::load(path).map_err(|e| e.to_string())?;
            for name in rest {
                env.unset(name);
            }
            env.save(path).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown command {other:?}; {USAGE}")),
    }
}

fn load_or_new(path: &Path) -> Result<Env, String> {
    if path.exists() {
        Env::load(path).map_err(|e| e.to_string())
    } else {
        Ok(Env::default())
    }
}
