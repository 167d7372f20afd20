//! The C API from C: the C demos in `examples/c/` built with the system C
//! compiler, linked against the static and the shared library, run, and
//! their output checked line by line. (`include/swapctx.h` is checked
//! against the Rust definitions by the compilers, in the library's unit
//! tests: `src/capi/header_check.rs`.)
//!
//! The C demo is built on x86_64 only (under qemu a test cannot run the C
//! compiler's output), and not with the `asan` feature (an instrumented
//! library needs an instrumented C program: that is .ci/asan.sh's business,
//! not this test's).
#![cfg(feature = "std")]

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
use std::path::{Path, PathBuf};
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
use std::process::Command;

// Links the crate, whose rlib holds the exported C functions.
use swapctx as _;

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the demos cannot be built, the summary says so.
#[cfg(not(all(target_arch = "x86_64", not(feature = "asan"))))]
#[test]
#[ignore = "the C demos are built and run on x86_64 without the asan feature only"]
fn the_c_demos() {}

// ---------------------------------------------------------------------------
// The C demo, built and run.
//
// Only on x86_64: the other architectures run these tests under qemu-user,
// where the test process cannot build C programs for its own architecture
// (there is no native C compiler inside the emulation) nor exec a foreign
// binary.

/// The numbers examples/c/producer_consumer.c sends: the same LCG, seed 42.
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn expected_numbers() -> Vec<u64> {
    let mut state: u64 = 42;
    (0..10)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % 10 + 1
        })
        .collect()
}

/// Where cargo put this test binary: (target dir root, profile dir, the
/// target triple if the build was for an explicit `--target`).
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn target_dirs() -> (PathBuf, PathBuf, Option<String>) {
    let exe = std::env::current_exe().unwrap();
    // <target>/[<triple>/]<profile>/deps/capi-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let above = profile_dir.parent().unwrap().to_path_buf();
    if above.join("CACHEDIR.TAG").exists() {
        (above, profile_dir, None)
    } else {
        let triple = above.file_name().unwrap().to_str().unwrap().to_string();
        (
            above.parent().unwrap().to_path_buf(),
            profile_dir,
            Some(triple),
        )
    }
}

/// Builds libswapctx.a and libswapctx.so with cargo, into this test's own
/// target dir: `cargo rustc --crate-type staticlib,cdylib`, without the
/// command-line program's features (the C library needs only `std`).
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn build_c_libraries() -> PathBuf {
    let (target_root, profile_dir, triple) = target_dirs();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(manifest_dir())
        .args([
            "rustc",
            "--lib",
            "--quiet",
            "--no-default-features",
            "--features",
            "std",
        ])
        .args(["--crate-type", "staticlib,cdylib"])
        .arg("--target-dir")
        .arg(&target_root);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(t) = &triple {
        cmd.args(["--target", t]);
    }
    let status = cmd.status().expect("run cargo rustc");
    assert!(
        status.success(),
        "cargo rustc --crate-type staticlib,cdylib failed"
    );
    let lib = profile_dir.join("libswapctx.a");
    assert!(lib.exists(), "{} was not built", lib.display());
    assert!(profile_dir.join("libswapctx.so").exists());
    profile_dir
}

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn compile_demo(profile_dir: &Path, name: &str, link: &[&std::ffi::OsStr]) -> PathBuf {
    let out_dir = profile_dir.join("capi-test");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let status = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg(manifest_dir().join("examples/c/producer_consumer.c"))
        .args(link)
        // The native libraries the header's static link line names (the
        // ones `rustc --print native-static-libs` asks for).
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ])
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the system C compiler `cc`");
    assert!(status.success(), "cc failed to build {name}");
    exe
}

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn check_demo_output(mut cmd: Command) {
    let out = cmd.output().expect("run the C demo");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let numbers = expected_numbers();
    assert_eq!(lines.len(), 2 * numbers.len() + 1, "{stdout}");
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(
            lines[2 * i],
            format!("# producer: sending data {n}"),
            "{stdout}"
        );
        assert_eq!(
            lines[2 * i + 1],
            format!("# consumer: receiving data {n}"),
            "{stdout}"
        );
    }
    assert_eq!(
        lines[2 * numbers.len()],
        "# producer: done, the consumer received 10 items"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
#[test]
#[cfg_attr(
    windows,
    ignore = "runs cargo and a C compiler, which Wine does not have: .ci/wine-c-demo.sh \
              builds the demo with mingw and runs it under Wine"
)]
fn the_c_demo_builds_links_and_prints_the_seeded_exchange() {
    let profile_dir = build_c_libraries();

    // Statically linked.
    let lib = profile_dir.join("libswapctx.a");
    let exe = compile_demo(&profile_dir, "producer_consumer_static", &[lib.as_os_str()]);
    check_demo_output(Command::new(&exe));

    // Dynamically linked, against the cdylib.
    let l = std::ffi::OsString::from(format!("-L{}", profile_dir.display()));
    let exe = compile_demo(
        &profile_dir,
        "producer_consumer_shared",
        &[&l, std::ffi::OsStr::new("-lswapctx")],
    );
    let mut cmd = Command::new(&exe);
    cmd.env("LD_LIBRARY_PATH", &profile_dir);
    check_demo_output(cmd);
}

/// Builds capi/ (the C API as a no_std static library, `panic = "abort"`)
/// into this test's target dir, and returns the library's path.
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
fn build_nostd_c_library() -> PathBuf {
    let (target_root, _, _) = target_dirs();
    let target_dir = target_root.join("capi-nostd");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(manifest_dir())
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(manifest_dir().join("capi/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags (coverage, sanitizers) are not the C
        // library's business.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo build for capi/");
    assert!(
        status.success(),
        "cargo build --manifest-path capi/Cargo.toml failed"
    );
    let lib = target_dir.join("release/libswapctx_nostd.a");
    assert!(lib.exists(), "{} was not built", lib.display());
    lib
}

#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
#[test]
#[cfg_attr(
    windows,
    ignore = "runs cargo and a C compiler, which Wine does not have; the no_std C library \
              is built and checked on Linux"
)]
fn the_c_coroutine_demo_links_no_rust_std_and_checks_its_error_codes() {
    let lib = build_nostd_c_library();
    let out_dir = lib.parent().unwrap().join("capi-test");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("producer_consumer_coro");
    // The plain `cc` line of the example's comment: the library and libc.
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg(manifest_dir().join("examples/c/producer_consumer_coro.c"))
        .arg(&lib)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the system C compiler `cc`");
    assert!(status.success(), "cc failed to build the coroutine demo");

    let out = Command::new(&exe)
        .output()
        .expect("run the C coroutine demo");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let numbers = expected_numbers();
    assert_eq!(lines.len(), 2 * numbers.len() + 2, "{stdout}");
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(lines[2 * i], format!("# producer: sending data {n}"));
        assert_eq!(lines[2 * i + 1], format!("# consumer: receiving data {n}"));
    }
    assert_eq!(
        lines[2 * numbers.len()],
        "# producer: done, the consumer received 10 items"
    );
    assert_eq!(
        lines[2 * numbers.len() + 1],
        "# errors: 7 of 7 checks passed"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing of Rust's std in the program.
    let nm = Command::new("nm").arg(&exe).output().expect("run nm");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(symbols.contains("swapctx_coro_resume"), "not linked?");
    assert!(!symbols.contains("_ZN3std"), "the demo links Rust's std");
}

/// A C coroutine on the caller's memory that overflows into its canary:
/// the no_std library's panic handler prints swapctx's message to stderr
/// and aborts, at the switch back to the resumer.
#[cfg(all(target_arch = "x86_64", unix, not(feature = "asan")))]
#[test]
fn a_c_coroutine_that_overflows_its_memory_ends_with_the_message() {
    use std::os::unix::process::ExitStatusExt;

    let lib = build_nostd_c_library();
    let out_dir = lib.parent().unwrap().join("capi-test");
    std::fs::create_dir_all(&out_dir).unwrap();
    let src = out_dir.join("overflow_coro.c");
    // The coroutine gets the top 8 KiB of a 64 KiB array, so that the
    // overflow lands in the rest of the array, which nothing else uses.
    std::fs::write(
        &src,
        r#"
#include <stdalign.h>
#include <stdio.h>
#include "swapctx.h"
static alignas(16) unsigned char memory[64 * 1024];
static int deep(volatile int n) {
    volatile unsigned char frame[256];
    for (int i = 0; i < 256; i++) frame[i] = (unsigned char)n;
    return n == 0 ? frame[7] : deep(n - 1) + frame[255];
}
static void *body(swapctx_coro *co, void *arg) {
    (void)arg;
    int r = deep(100); /* 25 KiB of frames on an 8 KiB stack */
    swapctx_coro_yield(co, (void *)(long)r, NULL);
    return NULL;
}
int main(void) {
    swapctx_coro *co = NULL;
    if (swapctx_coro_new(memory + 56 * 1024, 8 * 1024, body, NULL, &co) != SWAPCTX_OK) return 2;
    swapctx_coro_resume(co, NULL, NULL);
    puts("resumed normally");
    return 0;
}
"#,
    )
    .unwrap();
    let exe = out_dir.join("overflow_coro");
    let status = Command::new("cc")
        .args(["-std=c11", "-O0", "-I"])
        .arg(manifest_dir().join("include"))
        .arg(&src)
        .arg(&lib)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the system C compiler `cc`");
    assert!(status.success(), "cc failed to build the overflow program");
    let out = Command::new(&exe)
        .output()
        .expect("run the overflow program");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
    assert!(
        stderr.contains("swapctx: a coroutine has overflowed its stack: the canary")
            && stderr.contains("(8192 bytes, no guard page)"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("resumed normally"));
}
