use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small strings (parsed
/// pages, headers, log fields), where glibc spent a fifth of a SOAP flow's CPU (`malloc_consolidate`,
/// `unlink_chunk`); see docs/PERFORMANCE.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
