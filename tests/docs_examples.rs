//! The tutorial ladder in docs/ quotes the real output of the programs in
//! examples/. This test runs every example and compares its output with
//! the block its chapter quotes, so the docs cannot drift from the code.
//!
//! A quoted block is marked in the markdown like this:
//!
//! ````text
//! <!-- output: ch01_context -->
//! ```text
//! ...the exact output...
//! ```
//! ````
//!
//! The marker may add, after the example's name:
//! - `arch=x86_64` / `arch=aarch64`: the block is that machine's output,
//!   checked only on it;
//! - `mode=addr`: every hexadecimal number (`0x...`) becomes `0xADDR` on
//!   both sides before comparing (for addresses that change every run);
//! - `mode=shape`: also every decimal number becomes `N` and runs of
//!   spaces become one, so only the shape of timing output is checked.
//!
//! The examples are found next to this test's executable
//! (`target/<profile>/examples/`), where `cargo test` builds them; a
//! missing or outdated one is built with `cargo build --example`.
//!
//! Cross targets: under qemu-user (the aarch64 tests on an x86_64 machine,
//! see .cargo/config.toml) this process cannot start another aarch64
//! program (the host has no binfmt handler for it; the child dies with
//! status 127 or ENOEXEC). So the check that runs the examples is compiled
//! for x86_64 only; elsewhere it prints a note. The aarch64 blocks were
//! taken from `cargo run --target aarch64-unknown-linux-gnu --example ...`
//! under qemu; the marker and file checks run on every target.
//!
//! Not in the AddressSanitizer run (.ci/asan.sh builds no examples; the
//! ordinary run checks them).

// Only the x86_64 build runs the examples (see above).
#![cfg(not(feature = "asan"))]
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Addr,
    Shape,
}

#[derive(Debug)]
struct Quote {
    chapter: PathBuf,
    line: usize,
    example: String,
    arch: Option<String>,
    mode: Mode,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every quoted output block in docs/*.md.
fn quotes() -> Vec<Quote> {
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    let mut out = Vec::new();
    for chapter in chapters {
        let md = std::fs::read_to_string(&chapter).expect("a readable chapter");
        let lines: Vec<&str> = md.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim().strip_prefix("<!-- output:") else {
                continue;
            };
            let rest = rest.strip_suffix("-->").expect("a marker ends with -->");
            let mut words = rest.split_whitespace();
            let example = words.next().expect("a marker names an example").to_string();
            let (mut arch, mut mode) = (None, Mode::Exact);
            for w in words {
                match w.split_once('=') {
                    Some(("arch", a)) => arch = Some(a.to_string()),
                    Some(("mode", "addr")) => mode = Mode::Addr,
                    Some(("mode", "shape")) => mode = Mode::Shape,
                    Some(("mode", "exact")) => mode = Mode::Exact,
                    _ => panic!("{}:{}: unknown marker word {w:?}", chapter.display(), i + 1),
                }
            }
            assert_eq!(
                lines.get(i + 1).map(|l| l.trim()),
                Some("```text"),
                "{}:{}: a marker must be followed by a ```text block",
                chapter.display(),
                i + 1
            );
            let body: Vec<&str> = lines[i + 2..]
                .iter()
                .take_while(|l| l.trim() != "```")
                .copied()
                .collect();
            out.push(Quote {
                chapter: chapter.clone(),
                line: i + 1,
                example,
                arch,
                mode,
                text: body.join("\n") + "\n",
            });
        }
    }
    out
}

/// Replaces `0x` followed by hex digits with `0xADDR`.
fn normalise_addrs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let n = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        if n == 0 {
            out.push_str("0x");
        } else {
            out.push_str("0xADDR");
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// Numbers (`12`, `3.5`) become `N`; runs of spaces become one space.
fn normalise_shape(s: &str) -> String {
    let s = normalise_addrs(s);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.' || *d == '_')
            {
                chars.next();
            }
            out.push('N');
        } else if c == ' ' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn normalise(s: &str, mode: Mode) -> String {
    match mode {
        Mode::Exact => s.to_string(),
        Mode::Addr => normalise_addrs(s),
        Mode::Shape => normalise_shape(s),
    }
}

/// The directory cargo puts this profile's examples in:
/// target/<profile>/examples, next to target/<profile>/deps/<this test>.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .join("examples")
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The example's binary. `cargo test` builds every example before it runs
/// the tests; a binary that is missing or older than its source means the
/// examples were not built with this run (`cargo test --test docs_examples`
/// alone does not build them), and the message says what to run.
fn example_binary(name: &str) -> PathBuf {
    let bin = examples_dir().join(name);
    let src = root().join("examples").join(format!("{name}.rs"));
    let fresh = match (modified(&bin), modified(&src)) {
        (Some(b), Some(s)) => b >= s,
        _ => false,
    };
    assert!(
        fresh,
        "the example {name} is not built, or is older than its source: run the whole \
         suite with `cargo test` (which builds the examples), or `cargo build --examples` \
         before `cargo test --test docs_examples`"
    );
    bin
}

/// Runs an example; None if this process cannot start it (qemu-user).
fn run_example(name: &str) -> Option<String> {
    let bin = example_binary(name);
    let out = match Command::new(&bin).output() {
        Ok(out) => out,
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => return None,
        Err(e) => panic!("cannot run {}: {e}", bin.display()),
    };
    assert!(
        out.status.success(),
        "example {name} failed with {}; stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// Every example in examples/ that the ladder owns.
fn ladder_examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".rs")?;
            (stem.starts_with("ch") || stem == "scheduler").then(|| stem.to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_ladder_example_is_quoted_in_a_chapter() {
    let quotes = quotes();
    for name in ladder_examples() {
        assert!(
            quotes.iter().any(|q| q.example == name),
            "examples/{name}.rs is not quoted in any docs/*.md chapter"
        );
    }
    for q in &quotes {
        assert!(
            root()
                .join("examples")
                .join(format!("{}.rs", q.example))
                .exists(),
            "{}:{} quotes example {}, which does not exist",
            q.chapter.display(),
            q.line,
            q.example
        );
    }
}

#[test]
#[cfg(not(target_arch = "x86_64"))]
fn every_quoted_output_matches_the_example() {
    println!(
        "note: the docs' quoted outputs are checked on x86_64 only (examples cannot be \
         started from a test under qemu-user); see the comment at the top of this file"
    );
}

#[test]
#[cfg(target_arch = "x86_64")]
fn every_quoted_output_matches_the_example() {
    let host = std::env::consts::ARCH;
    let mut checked = 0;
    for q in quotes() {
        if q.arch.as_deref().is_some_and(|a| a != host) {
            continue;
        }
        let Some(actual) = run_example(&q.example) else {
            println!(
                "note: cannot start example binaries from this process (qemu-user without \
                 binfmt); the docs' quoted outputs were not checked on {host}"
            );
            return;
        };
        let (want, got) = (normalise(&q.text, q.mode), normalise(&actual, q.mode));
        if want != got {
            let first = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(got.lines().count()));
            panic!(
                "{}:{}: the quoted output of example {} ({:?}) differs from what it prints, \
                 first at line {}.\n--- quoted (normalised):\n{want}--- actual (normalised):\n{got}\
                 --- actual (raw):\n{actual}",
                q.chapter.display(),
                q.line,
                q.example,
                q.mode,
                first + 1
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no quoted output was checked on {host}");
    println!("{checked} quoted outputs match their examples on {host}");
}

#[test]
fn normalising_hides_addresses_and_numbers_only() {
    assert_eq!(
        normalise_addrs("fault at 0x7f3a1c in 0x10..0x2f (4096 bytes) 0x"),
        "fault at 0xADDR in 0xADDR..0xADDR (4096 bytes) 0x"
    );
    assert_eq!(
        normalise_shape("raw:    12.5 ns, 200000 round trips"),
        "raw: N ns, N round trips"
    );
}
