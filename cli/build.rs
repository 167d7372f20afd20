//! Finds Boost.Context for `swapctx bench`, and names the switch the
//! library assembles for the target (shown in the benchmark's header).

use std::env;
use std::path::Path;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");

    // The same names as the library's build.rs gives its `.S` files.
    let abi = match arch.as_str() {
        "x86_64" => "sysv",
        "aarch64" => "aapcs",
        "riscv64" => "lp64d",
        _ => "unknown",
    };
    println!("cargo:rustc-env=SWAPCTX_SWITCH_ABI={arch}-{abi}-elf-gas");

    // Under AddressSanitizer (`-Zsanitizer=address`, .ci/asan.sh) the
    // benchmark's peers switch stacks without telling ASan, which then
    // reports false errors: the tests skip the benchmark there.
    println!("cargo::rustc-check-cfg=cfg(swapctx_cli_asan)");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if rustflags
        .split('\x1f')
        .any(|f| f.contains("sanitizer=address"))
    {
        println!("cargo:rustc-cfg=swapctx_cli_asan");
    }

    // Boost.Context is one of the peers when Debian's libboost-context-dev
    // (or an equivalent in the multiarch library directory) is installed
    // for the target; `swapctx bench` says so when it is not.
    println!("cargo::rustc-check-cfg=cfg(swapctx_boost_context)");
    let multiarch = format!("{arch}-linux-gnu");
    let found = os == "linux"
        && ["/usr/lib", "/usr/lib64"]
            .iter()
            .any(|d| Path::new(&format!("{d}/{multiarch}/libboost_context.so")).exists());
    if found {
        println!("cargo:rustc-cfg=swapctx_boost_context");
        println!("cargo:rustc-link-arg-bins=-lboost_context");
    }
}
