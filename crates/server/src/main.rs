use clap::Parser;

fn main() {
    let cli = ixgw::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ixgw: error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(ixgw::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ixgw: error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
