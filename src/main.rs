use clap::Parser;

fn main() {
    // Behave like a Unix filter: `ablate schedule ... | head` ends quietly instead of panicking.
    // SAFETY: called before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = ablate::cli::Cli::parse();
    match ablate::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
