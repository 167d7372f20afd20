//! The C API: `include/swapctx.h` against `src/capi.rs`, and the C demo in
//! `examples/c/` built with the system C compiler, linked against the
//! static and the shared library, run, and its output checked line by line.
//!
//! The C demo is built on x86_64 only (under qemu a test cannot run the C
//! compiler's output), and not with the `asan` feature (an instrumented
//! library needs an instrumented C program: that is .ci/asan.sh's business,
//! not this test's).
#![cfg(feature = "std")]

use std::ffi::{c_char, c_int, CStr};
use std::path::Path;
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
use std::path::PathBuf;
#[cfg(all(target_arch = "x86_64", not(feature = "asan")))]
use std::process::Command;

// Links the crate, whose rlib holds the exported C functions.
use swapctx as _;

extern "C" {
    // The exported C functions, as a C program sees them.
    fn swapctx_error_name(code: c_int) -> *const c_char;
    fn swapctx_strerror(code: c_int) -> *const c_char;
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = manifest_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Header against Rust: no drift.

/// `text` without `/* */` and `//` comments and preprocessor lines.
fn strip_c(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("*/").expect("unterminated comment") + i + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `SWAPCTX_*` enum constants of the header, with their values.
fn header_constants(header: &str) -> Vec<(String, c_int)> {
    let body = strip_c(header);
    let start = body
        .find("enum swapctx_status")
        .expect("enum swapctx_status");
    let open = start + body[start..].find('{').unwrap();
    let close = open + body[open..].find('}').unwrap();
    body[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, value) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("`{item}`: give every code an explicit value"));
            (name.trim().to_string(), value.trim().parse().unwrap())
        })
        .collect()
}

/// A function: name, return type, parameter types (normalised).
#[derive(Debug, PartialEq)]
struct Func {
    name: String,
    ret: String,
    params: Vec<String>,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A C type as the Rust side must spell it.
fn c_to_rust(c: &str) -> String {
    let c = squash(c);
    let stars = c.matches('*').count();
    let base = c.replace('*', " ");
    let base = squash(&base);
    let (is_const, base) = match base.strip_prefix("const ") {
        Some(b) => (true, b.trim().to_string()),
        None => (false, base),
    };
    let mut rust = match base.as_str() {
        "void" if stars == 0 => return String::new(),
        "void" => "c_void",
        "int" => "c_int",
        "char" => "c_char",
        "size_t" | "uintptr_t" => "usize",
        "swapctx_stack" => "Stack",
        "swapctx_context" => "Context",
        "swapctx_entry_fn" => "Option<CEntryFn>",
        "swapctx_coro" => "Coro",
        "swapctx_coro_fn" => "Option<CoroFn>",
        "swapctx_pool" => "StackPool",
        other => panic!("tests/capi.rs does not know the C type `{other}`: add it"),
    }
    .to_string();
    for i in 0..stars {
        let innermost = i == 0;
        rust = if innermost && is_const {
            format!("*const {rust}")
        } else {
            format!("*mut {rust}")
        };
    }
    rust
}

/// The function declarations of the header, in Rust spelling.
fn header_functions(header: &str) -> Vec<Func> {
    let body = strip_c(header);
    body.split(';')
        .map(squash)
        .filter(|d| d.contains("swapctx_") && d.ends_with(')') && !d.starts_with("typedef"))
        .filter(|d| !d.starts_with("enum") && !d.contains('{'))
        .map(|d| {
            let open = d.find('(').unwrap();
            let head = &d[..open];
            let name_at = head
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap()
                + 1;
            let name = head[name_at..].to_string();
            let ret = c_to_rust(&head[..name_at]);
            let params = d[open + 1..d.len() - 1]
                .split(',')
                .map(str::trim)
                .filter(|p| *p != "void" && !p.is_empty())
                .map(|p| {
                    // Drop the parameter's name: the last identifier.
                    let cut = p
                        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap();
                    c_to_rust(&p[..=cut])
                })
                .collect();
            Func { name, ret, params }
        })
        .collect()
}

/// The `#[no_mangle]` functions of src/capi.rs outside its tests.
fn rust_functions(src: &str) -> Vec<Func> {
    let src = src.split("#[cfg(test)]").next().unwrap();
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("#[no_mangle]") {
        rest = &rest[i + "#[no_mangle]".len()..];
        let fn_at = rest.find("fn ").unwrap();
        let sig_head = &rest[..fn_at];
        assert!(
            sig_head.contains("extern \"C\""),
            "a #[no_mangle] function that is not extern \"C\""
        );
        let after = &rest[fn_at + 3..];
        let open = after.find('(').unwrap();
        let name = after[..open].trim().to_string();
        // Parameters end at the first `)`: no parameter type here has one.
        let close = open + after[open..].find(')').unwrap();
        let params = after[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| squash(p.split_once(':').expect("name: type").1))
            .collect();
        let brace = after[close..].find('{').unwrap() + close;
        let ret = squash(after[close + 1..brace].trim().trim_start_matches("->"));
        out.push(Func { name, ret, params });
    }
    out
}

#[test]
fn every_header_function_is_defined_in_rust_with_the_same_signature() {
    let header = header_functions(&read("include/swapctx.h"));
    let mut rust = rust_functions(&read("src/capi.rs"));
    rust.extend(rust_functions(&read("src/capi/coro.rs")));
    assert!(
        header.len() >= 7,
        "parsed too few declarations: {header:#?}"
    );
    for h in &header {
        let r = rust.iter().find(|r| r.name == h.name).unwrap_or_else(|| {
            panic!(
                "{} is declared in the header but not in src/capi.rs",
                h.name
            )
        });
        assert_eq!(
            r.params.len(),
            h.params.len(),
            "{}: parameter count differs",
            h.name
        );
        assert_eq!(r, h, "{}: signatures differ (Rust, then header)", h.name);
    }
    for r in &rust {
        assert!(
            header.iter().any(|h| h.name == r.name),
            "{} is exported by src/capi.rs but not declared in the header",
            r.name
        );
        assert!(r.name.starts_with("swapctx_"), "{}: missing prefix", r.name);
    }
}

#[test]
fn every_status_code_in_the_header_has_the_rust_value() {
    let consts = header_constants(&read("include/swapctx.h"));
    assert_eq!(consts.first(), Some(&("SWAPCTX_OK".to_string(), 0)));
    for (name, value) in &consts {
        // SAFETY: swapctx_error_name returns NULL or a static C string.
        let rust = unsafe { swapctx_error_name(*value) };
        assert!(
            !rust.is_null(),
            "{name} = {value} is not a code in src/capi.rs"
        );
        // SAFETY: non-null, so a static C string.
        let rust = unsafe { CStr::from_ptr(rust) }.to_str().unwrap();
        assert_eq!(
            rust, name,
            "code {value}: the header and src/capi.rs disagree"
        );
        // SAFETY: swapctx_strerror always returns a static C string.
        let text = unsafe { CStr::from_ptr(swapctx_strerror(*value)) };
        assert!(!text.to_str().unwrap().starts_with("unknown"), "{name}");
    }
    // And no Rust code is missing from the header: codes are 0, 1, 2, ...
    let mut code = 0;
    // SAFETY: as above.
    while !unsafe { swapctx_error_name(code) }.is_null() {
        assert!(
            consts.iter().any(|(_, v)| *v == code),
            "code {code} is missing from the header"
        );
        code += 1;
    }
    assert_eq!(code as usize, consts.len());
}

/// The comment above each constant of `enum swapctx_status`, as one line
/// (the `/*`, `*/` and leading `*` removed, lines joined with a space),
/// with the constant's name.
fn header_comments(header: &str) -> Vec<(String, String)> {
    let open = header
        .find("enum swapctx_status {")
        .expect("enum swapctx_status {")
        + "enum swapctx_status ".len();
    let close = open + header[open..].find("};").unwrap();
    let mut rest = &header[open + 1..close];
    let mut out = Vec::new();
    while let Some(i) = rest.find("/*") {
        let end = i + rest[i..].find("*/").expect("unterminated comment");
        let comment = rest[i + 2..end]
            .lines()
            .map(|l| l.trim().trim_start_matches('*').trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        rest = &rest[end + 2..];
        let item = rest.split([',', '/']).next().unwrap();
        let name = item.split('=').next().unwrap().trim().to_string();
        assert!(
            name.starts_with("SWAPCTX_"),
            "the comment `{comment}` is not above a constant"
        );
        out.push((name, comment));
    }
    out
}

/// `text` as the comment of `name` in the header, wrapped at 76 columns.
fn as_header_comment(name: &str, value: c_int, text: &str) -> String {
    let mut lines = vec![String::from("    /*")];
    for word in text.split(' ') {
        let last = lines.last_mut().unwrap();
        if last.len() + 1 + word.len() > 76 {
            lines.push(format!("     * {word}"));
        } else {
            last.push(' ');
            last.push_str(word);
        }
    }
    lines.last_mut().unwrap().push_str(" */");
    format!("{}\n    {name} = {value},\n", lines.join("\n"))
}

#[test]
fn every_status_comment_in_the_header_is_the_strerror_text() {
    let header = read("include/swapctx.h");
    let consts = header_constants(&header);
    let comments = header_comments(&header);
    let mut expected = String::new();
    let mut wrong = Vec::new();
    for (name, value) in &consts {
        // SAFETY: swapctx_strerror always returns a static C string.
        let text = unsafe { CStr::from_ptr(swapctx_strerror(*value)) }
            .to_str()
            .unwrap();
        expected.push_str(&as_header_comment(name, *value, text));
        let comment = comments.iter().find(|(n, _)| n == name).map(|(_, c)| c);
        if comment.map(String::as_str) != Some(text) {
            wrong.push(name.as_str());
        }
    }
    assert_eq!(comments.len(), consts.len(), "one comment per constant");
    assert!(
        wrong.is_empty(),
        "the header's comments of {wrong:?} are not swapctx_strerror's texts \
         (src/error.rs, src/capi.rs); the enum's body should read:\n{expected}"
    );
}

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
