//! Picks the switch for the target, assembles it with `cc`, and fails with a
//! clear message on a target that has none.
//!
//! Files are named like Boost.Context's: operation, architecture, ABI,
//! binary format, assembler (`switch_x86_64_sysv_elf_gas.S`).

use std::env;

/// (target arch, ABI, file) for every supported target.
const SUPPORTED: &[(&str, &str, &str)] = &[
    ("x86_64", "sysv", "asm/switch_x86_64_sysv_elf_gas.S"),
    ("aarch64", "aapcs", "asm/switch_aarch64_aapcs_elf_gas.S"),
    ("riscv64", "lp64d", "asm/switch_riscv64_lp64d_elf_gas.S"),
];

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    let object_format_elf = matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "none"
    );

    let Some(&(_, abi, file)) = SUPPORTED.iter().find(|(a, _, _)| *a == arch) else {
        let names: Vec<String> = SUPPORTED
            .iter()
            .map(|(a, abi, _)| format!("{a} ({abi}, ELF)"))
            .collect();
        panic!(
            "swapctx has no context switch for target `{target}` (architecture `{arch}`); \
             supported: {}",
            names.join(", ")
        );
    };
    if !object_format_elf {
        panic!(
            "swapctx has no context switch for target `{target}`: only ELF targets \
             (Linux, the BSDs, bare metal) are supported, for {}",
            SUPPORTED.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        );
    }

    // The crate version, as a symbol-safe tag: swapctx_0_1_0_switch.
    let tag = env::var("CARGO_PKG_VERSION")
        .unwrap()
        .replace(['.', '-', '+'], "_");
    println!("cargo:rustc-env=SWAPCTX_SYM_TAG={tag}");
    println!("cargo:rustc-env=SWAPCTX_SWITCH_FILE={file}");
    println!("cargo:rustc-env=SWAPCTX_SWITCH_ABI={arch}-{abi}-elf-gas");
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rerun-if-changed=asm/common.h");
    println!("cargo:rerun-if-changed=build.rs");

    // Benchmarks compare against Boost.Context when Debian's
    // libboost-context-dev is installed for the target.
    println!("cargo::rustc-check-cfg=cfg(swapctx_boost_context)");
    let multiarch = format!("{arch}-linux-gnu");
    if os == "linux"
        && ["/usr/lib", "/usr/lib64"]
            .iter()
            .any(|d| std::path::Path::new(&format!("{d}/{multiarch}/libboost_context.so")).exists())
    {
        println!("cargo:rustc-cfg=swapctx_boost_context");
        println!("cargo:rustc-link-arg-benches=-lboost_context");
    }

    cc::Build::new()
        .file(file)
        .include("asm")
        .define("SWAPCTX_SYM_TAG", tag.as_str())
        .compile("swapctx_switch");
}
