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
    ("powerpc64", "elfv2", "asm/switch_powerpc64_elfv2_elf_gas.S"),
    ("s390x", "sysv", "asm/switch_s390x_sysv_elf_gas.S"),
    // Windows x64 (mingw): the module is `<arch>_windows`, the format PE.
    ("x86_64_windows", "ms", "asm/switch_x86_64_ms_pe_gas.S"),
    ("x86", "sysv", "asm/switch_i386_sysv_elf_gas.S"),
    ("arm", "aapcs", "asm/switch_arm_aapcs_elf_gas.S"),
];

/// The supported architectures whose pointers are 32 bits wide: their
/// shared offsets (the coroutine slots) are in `src/arch/layout_32.rs`
/// instead of `src/arch/layout.rs`.
const POINTER_WIDTH_32: &[&str] = &["x86", "arm"];

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    let object_format_elf = matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "none"
    );

    // On Windows the architecture's module is `<arch>_windows` (another
    // ABI and object format); only the GNU toolchain assembles the file.
    let windows = os == "windows";
    if windows && env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default() != "gnu" {
        panic!(
            "swapctx has no context switch for target `{target}`: on Windows only the GNU \
             toolchain (x86_64-pc-windows-gnu, mingw-w64) is supported"
        );
    }
    let module = if windows {
        format!("{arch}_windows")
    } else {
        arch.clone()
    };
    let Some(&(_, abi, file)) = SUPPORTED.iter().find(|(a, _, _)| *a == module) else {
        let names: Vec<String> = SUPPORTED
            .iter()
            .map(|(a, abi, _)| {
                let format = if a.ends_with("_windows") { "PE" } else { "ELF" };
                format!("{a} ({abi}, {format})")
            })
            .collect();
        panic!(
            "swapctx has no context switch for target `{target}` (architecture `{arch}`); \
             supported: {}",
            names.join(", ")
        );
    };
    // powerpc64 comes in two ABIs; the switch is written for ELFv2 (the
    // little-endian Linux target), not ELFv1 (big-endian Linux).
    if arch == "powerpc64"
        && (env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() != Ok("little")
            || env::var("CARGO_CFG_TARGET_ABI").is_ok_and(|a| a == "elfv1"))
    {
        panic!(
            "swapctx has no context switch for target `{target}`: the powerpc64 switch \
             is written for the ELFv2 ABI on little-endian powerpc64 \
             (powerpc64le-unknown-linux-gnu)"
        );
    }
    if !object_format_elf && !windows {
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
    let format = if windows { "pe" } else { "elf" };
    println!("cargo:rustc-env=SWAPCTX_SWITCH_ABI={arch}-{abi}-{format}-gas");
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rerun-if-changed=asm/common.h");
    println!("cargo:rerun-if-changed=build.rs");

    // arm: Thumb code (a `thumb*` target) and the M profile (Cortex-M: no
    // ARM state, no signals). rustc's own cfgs for these (`target_feature
    // = "thumb-mode"`, `"mclass"`) are unstable, so the target's name says.
    println!("cargo::rustc-check-cfg=cfg(swapctx_thumb)");
    println!("cargo::rustc-check-cfg=cfg(swapctx_mclass)");
    if arch == "arm" && target.starts_with("thumb") {
        println!("cargo:rustc-cfg=swapctx_thumb");
        if ["thumbv6m", "thumbv7m", "thumbv7em", "thumbv8m"]
            .iter()
            .any(|p| target.starts_with(p))
        {
            println!("cargo:rustc-cfg=swapctx_mclass");
        }
    }

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
        // Only where the benches are: the published package has none, and
        // cargo refuses a link argument for targets that do not exist.
        if std::path::Path::new("benches").is_dir() {
            println!("cargo:rustc-link-arg-benches=-lboost_context");
        }
    }

    // The frame offsets: one source, src/arch/layout.rs and
    // src/arch/<arch>/layout.rs, read by the crate as modules and turned
    // here into `#define`s for the assembly: OUT_DIR/layout/<arch>/layout.h
    // for every architecture (tests/docs_examples.rs assembles the other
    // architectures' files too), the target's on the include path.
    let out = std::path::PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/arch/layout.rs");
    println!("cargo:rerun-if-changed=src/arch/layout_32.rs");
    for (a, _, _) in SUPPORTED {
        let shared = if POINTER_WIDTH_32.contains(a) {
            "src/arch/layout_32.rs"
        } else {
            "src/arch/layout.rs"
        };
        let mut header = String::from(
            "/* Generated by build.rs from src/arch/layout.rs and \
             src/arch/<arch>/layout.rs: do not edit. */\n",
        );
        for layout in [shared.to_string(), format!("src/arch/{a}/layout.rs")] {
            println!("cargo:rerun-if-changed={layout}");
            let text = std::fs::read_to_string(&layout)
                .unwrap_or_else(|e| panic!("swapctx: cannot read {layout}: {e}"));
            for (name, value) in layout_consts(&layout, &text) {
                header.push_str(&format!("#define SWAPCTX_{name} {value}\n"));
            }
        }
        let dir = out.join("layout").join(a);
        std::fs::create_dir_all(&dir).expect("create OUT_DIR/layout/<arch>");
        std::fs::write(dir.join("layout.h"), header).expect("write layout.h");
    }

    let mut build = cc::Build::new();
    build
        .file(file)
        .include("asm")
        .include(out.join("layout").join(&module))
        .define("SWAPCTX_SYM_TAG", tag.as_str());
    // arm: the mode the crate's code is in (a C compiler's own default
    // may differ: Debian's armhf gcc assembles Thumb-2 unless told), and
    // whether the core is M-profile.
    if arch == "arm" && target.starts_with("thumb") {
        build.define("SWAPCTX_THUMB", "1");
        if ["thumbv6m", "thumbv7m", "thumbv7em", "thumbv8m"]
            .iter()
            .any(|p| target.starts_with(p))
        {
            build.define("SWAPCTX_MCLASS", "1");
        }
    }
    build.compile("swapctx_switch");
}

/// The `pub const NAME: usize = <number>;` items of a layout file, which
/// may hold nothing else but comments, docs and blank lines: anything else
/// stops the build, so the file stays readable by this simple parser.
fn layout_consts(file: &str, text: &str) -> Vec<(String, usize)> {
    let mut consts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let parsed = line
            .strip_prefix("pub const ")
            .and_then(|rest| rest.strip_suffix(';'))
            .and_then(|rest| rest.split_once(": usize = "))
            .and_then(|(name, value)| Some((name.to_string(), value.parse::<usize>().ok()?)));
        match parsed {
            Some(item) => consts.push(item),
            None => panic!(
                "swapctx: {file}:{}: a layout file holds only `pub const NAME: usize = <number>;` \
                 items, comments and blank lines; found `{line}`",
                i + 1
            ),
        }
    }
    consts
}
