//! The `swapctx` binary as a user runs it: the demo's output for a fixed
//! seed, line by line, and the usage error for bad arguments.

use std::process::{Command, Output};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The binary, run natively, or through qemu-user when the tests run under
/// emulation (a process under qemu-user cannot exec a foreign binary
/// itself, but it can exec the host's qemu).
fn swapctx(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_swapctx");
    let arch = std::env::consts::ARCH;
    // qemu's name for the architecture, and Debian's cross sysroot (qemu
    // and Debian name little-endian powerpc64 "ppc64le" and "powerpc64le").
    let (qemu, sysroot) = match arch {
        "x86" => ("qemu-i386".to_string(), "/usr/i686-linux-gnu".to_string()),
        "arm" => (
            "qemu-arm".to_string(),
            "/usr/arm-linux-gnueabihf".to_string(),
        ),
        "powerpc64" => (
            "qemu-ppc64le".to_string(),
            "/usr/powerpc64le-linux-gnu".to_string(),
        ),
        _ => (format!("qemu-{arch}"), format!("/usr/{arch}-linux-gnu")),
    };
    let emulated = arch != "x86_64" && std::path::Path::new(&sysroot).exists();
    let mut cmd = if emulated {
        let mut c = Command::new(qemu);
        c.args(["-L", &sysroot, bin]);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).output().expect("run swapctx")
}

fn expected_items(seed: u64, count: usize) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| rng.gen_range(1..=10u64)).collect()
}

#[test]
fn the_demo_pipes_seeded_items_from_producer_to_consumer() {
    let out = swapctx(&["--seed", "42", "--count", "12", "--interval-ms", "0"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let items = expected_items(42, 12);
    assert_eq!(lines.len(), 2 * items.len() + 1, "{stdout}");
    for (i, item) in items.iter().enumerate() {
        assert_eq!(lines[2 * i], format!("# producer: sending data {item}"));
        assert_eq!(
            lines[2 * i + 1],
            format!("# consumer: receiving data {item}")
        );
    }
    let summary = lines.last().unwrap();
    let rest = summary
        .strip_prefix("# summary: 12 items, 26 switches, ")
        .unwrap_or_else(|| panic!("summary line: {summary}"));
    let ns: f64 = rest.split_whitespace().next().unwrap().parse().unwrap();
    assert!(ns > 0.0, "{summary}");
    assert!(rest.contains("ns per switch"), "{summary}");
}

#[test]
fn the_same_seed_gives_the_same_run_and_the_demo_subcommand_matches() {
    let a = swapctx(&["--seed", "7", "--interval-ms", "0"]);
    let b = swapctx(&["demo", "--seed", "7", "--interval-ms", "0"]);
    let strip = |o: &Output| {
        let s = String::from_utf8(o.stdout.clone()).unwrap();
        s.lines()
            .filter(|l| !l.starts_with("# summary"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a).len(), 20, "default --count is 10");
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn trace_shows_both_stacks_taking_turns() {
    let out = swapctx(&["trace", "--seed", "3", "--count", "2", "--interval-ms", "0"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let traces: Vec<&str> = stdout.lines().filter(|l| l.contains("[trace]")).collect();
    let sides: Vec<&str> = traces
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert!(
        sides.windows(2).any(|w| w == ["producer", "consumer"]),
        "{stdout}"
    );
    assert!(
        sides.windows(2).any(|w| w == ["consumer", "producer"]),
        "{stdout}"
    );
    // Each side reports its own stack: the consumer's stack pointer is in
    // its 256 KiB coroutine stack, not in the producer's.
    let sp_of = |side: &str| -> Vec<usize> {
        traces
            .iter()
            .filter(|l| l.split_whitespace().nth(1) == Some(side))
            .map(|l| {
                let sp = l
                    .split("sp=0x")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                usize::from_str_radix(sp, 16).unwrap()
            })
            .collect()
    };
    let (p, c) = (sp_of("producer"), sp_of("consumer"));
    assert!(!p.is_empty() && !c.is_empty());
    for cs in &c {
        assert!(
            p.iter().all(|ps| ps.abs_diff(*cs) > 256 * 1024),
            "stacks overlap: {stdout}"
        );
    }
    assert!(
        traces.iter().any(|l| l.contains("of  262144 bytes used")),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    for args in [
        &["--count", "x"][..],
        &["--nonsense"],
        &["--seed"],
        &["frobnicate"],
    ] {
        let out = swapctx(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("Usage:") || stderr.contains("--help"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn demo_options_work_before_and_after_the_subcommand() {
    let strip = |o: &Output| {
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout.clone())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("# summary"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let before = swapctx(&["--seed", "5", "--count", "2", "--interval-ms", "0", "trace"]);
    let after = swapctx(&["trace", "--seed", "5", "--count", "2", "--interval-ms", "0"]);
    let mixed = swapctx(&["--seed", "5", "trace", "--count", "2", "--interval-ms", "0"]);
    let (before, after, mixed) = (strip(&before), strip(&after), strip(&mixed));
    let strip_sp = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l.split(" sp=").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(strip_sp(&before), strip_sp(&after));
    assert_eq!(strip_sp(&before), strip_sp(&mixed));
    let items: Vec<&String> = before
        .iter()
        .filter(|l| l.starts_with("# producer"))
        .collect();
    assert_eq!(
        items.len(),
        2,
        "--count 2 before `trace` counts: {before:?}"
    );
    assert!(before.iter().any(|l| l.contains("[trace]")));
}

#[test]
fn bench_refuses_the_demo_options_and_its_own_before_it() {
    for args in [
        &["--count", "3", "bench"][..],
        &["bench", "--seed", "1"],
        &["--json", "bench"],
    ] {
        let out = swapctx(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
    }
}

#[test]
#[cfg_attr(
    swapctx_cli_asan,
    ignore = "under AddressSanitizer the peers' stack switches (corosensei, context, glibc) \
              are unannounced and draw false reports"
)]
fn bench_json_has_a_schema_version_and_min_median_max_per_row() {
    let out = swapctx(&["bench", "--quick", "--json"]);
    assert!(out.status.success(), "{out:?}");
    // Not a terminal: no progress on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["schema_version"], 1);
    let rows = v["results"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for want in ["function call", "swapctx coroutine", "swapctx raw"] {
        assert!(names.contains(&want), "{names:?}");
    }
    // corosensei has no switch for powerpc64 (on stable) and s390x.
    if cfg!(not(any(target_arch = "powerpc64", target_arch = "s390x"))) {
        assert!(names.contains(&"corosensei"), "{names:?}");
    }
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert!(names.contains(&"context crate"), "{names:?}");
    }
    let missing: Vec<&str> = v["not_measured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Boost.Context") != missing.contains(&"Boost.Context"),
        "Boost.Context is either measured or said to be missing: {names:?} {missing:?}"
    );
    for r in rows {
        let (min, med, max) = (
            r["min_ns"].as_f64().unwrap(),
            r["median_ns"].as_f64().unwrap(),
            r["max_ns"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= med && med <= max, "{r}");
        assert_eq!(r["runs"], 5, "{r}");
    }
}

#[test]
fn the_readme_shows_what_the_demo_prints() {
    let readme = include_str!("../../README.md");
    let command = "$ cargo run --release -- --seed 7 --count 3";
    let shown: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != command)
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect();
    assert!(!shown.is_empty(), "README.md has no `{command}` block");
    let out = swapctx(&["--seed", "7", "--count", "3", "--interval-ms", "0"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        shown.len(),
        printed.len(),
        "README:\n{shown:#?}\nprogram:\n{stdout}"
    );
    for (s, p) in shown.iter().zip(&printed) {
        if s.starts_with("# summary") {
            // The time per switch is measured: compare everything else.
            let words = |l: &str| -> Vec<String> {
                l.split_whitespace()
                    .map(|w| {
                        if w.parse::<f64>().is_ok() && w.contains('.') {
                            "N".into()
                        } else {
                            w.into()
                        }
                    })
                    .collect()
            };
            assert_eq!(words(s), words(p));
        } else {
            assert_eq!(s, p);
        }
    }
}
