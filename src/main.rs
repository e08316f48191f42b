use clap::Parser;

fn main() {
    let cli = ablate::cli::Cli::parse();
    match ablate::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
