//! The tutorial ladder in docs/ quotes the real output of the programs in
//! examples/ and of gdb. This test runs them and compares what they print
//! now with what the docs quote, so the docs cannot drift from the code
//! (docs/CHECKING.md lists every check).
//!
//! ## Example outputs
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
//! - `profile=release` / `profile=debug`: the block is that build's output
//!   (the example is built in that profile, whatever profile this test
//!   runs in); without it, the test's own profile;
//! - `mode=addr`: every hexadecimal number (`0x...`) becomes `0xADDR` on
//!   both sides before comparing (for addresses that change every run);
//! - `mode=shape`: also every decimal number becomes `N` and runs of
//!   spaces become one, so only the shape of timing output is checked.
//!
//! ## gdb sessions
//!
//! A block marked `<!-- gdb -->` starts with the command (`$ gdb ...`,
//! continued with `\`), which is run in batch mode (`-nx` added) on the
//! debug build of the example it names. Every quoted frame line (`#N ...`)
//! must be frame N of what gdb prints now, with the same function (generic
//! arguments aside) and the same `at FILE:LINE`; addresses and argument
//! values are not compared. Lines `...` stand for frames left out. Every
//! `.S:LINE` that gdb names must be an instruction of that file, not a
//! comment (the assembler's line info is right).
//!
//! ## Building what it needs
//!
//! The test builds the examples it runs with `cargo build --example`
//! (a no-op when they are fresh), so `cargo test --test docs_examples`
//! works on its own.
//!
//! ## What cannot run here is reported as ignored
//!
//! Under qemu-user (the aarch64 and riscv64 tests on an x86_64 machine, see
//! .cargo/config.toml) this process cannot start another program of its
//! own architecture (no binfmt handler: ENOEXEC); without gdb, or off
//! x86_64, the gdb checks cannot run; without a cross compiler, the
//! aarch64 note check cannot. Each such check is listed as ignored, with
//! the reason, never as passed. The aarch64 blocks were taken from
//! `cargo run --target aarch64-unknown-linux-gnu --example ...` under qemu.
//!
//! Not in the AddressSanitizer run (.ci/asan.sh builds no examples; the
//! ordinary run checks them).

#![cfg_attr(feature = "asan", allow(dead_code, unused_imports))]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Addr,
    Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Profile {
    Debug,
    Release,
}

impl Profile {
    /// The profile this test was built in.
    fn own() -> Profile {
        if cfg!(debug_assertions) {
            Profile::Debug
        } else {
            Profile::Release
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    /// `<!-- output: NAME ... -->`: the example's standard output.
    Output {
        example: String,
        arch: Option<String>,
        profile: Profile,
        mode: Mode,
    },
    /// `<!-- gdb -->`: a gdb session.
    Gdb,
}

#[derive(Debug, Clone)]
struct Quote {
    chapter: PathBuf,
    line: usize,
    kind: Kind,
    text: String,
}

impl Quote {
    fn place(&self) -> String {
        format!(
            "{}:{}",
            self.chapter
                .strip_prefix(root())
                .unwrap_or(&self.chapter)
                .display(),
            self.line
        )
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every marked block in docs/*.md.
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
            let t = line.trim();
            let kind = if let Some(rest) = t.strip_prefix("<!-- output:") {
                let rest = rest.strip_suffix("-->").expect("a marker ends with -->");
                let mut words = rest.split_whitespace();
                let example = words.next().expect("a marker names an example").to_string();
                let (mut arch, mut profile, mut mode) = (None, Profile::own(), Mode::Exact);
                for w in words {
                    match w.split_once('=') {
                        Some(("arch", a)) => arch = Some(a.to_string()),
                        Some(("profile", "debug")) => profile = Profile::Debug,
                        Some(("profile", "release")) => profile = Profile::Release,
                        Some(("mode", "addr")) => mode = Mode::Addr,
                        Some(("mode", "shape")) => mode = Mode::Shape,
                        Some(("mode", "exact")) => mode = Mode::Exact,
                        _ => panic!("{}:{}: unknown marker word {w:?}", chapter.display(), i + 1),
                    }
                }
                Kind::Output {
                    example,
                    arch,
                    profile,
                    mode,
                }
            } else if t == "<!-- gdb -->" {
                Kind::Gdb
            } else {
                continue;
            };
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
                kind,
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

/// The target directory this test was built in: the test runs from
/// `<target>/<profile>/deps/`. None for any other layout (a `--target`
/// build puts a triple in between, and is cross: nothing is run then).
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    let profile_dir = deps.parent()?;
    let name = profile_dir.file_name()?.to_str()?;
    (deps.file_name()? == "deps" && (name == "debug" || name == "release"))
        .then(|| profile_dir.parent().map(Path::to_path_buf))
        .flatten()
}

/// Builds (if needed) and returns the path of an example in `profile`.
/// Builds of the same profile happen once per run, one at a time.
fn example_binary(name: &str, profile: Profile) -> Result<PathBuf, Failed> {
    static BUILT: Mutex<Vec<(String, Profile)>> = Mutex::new(Vec::new());
    let target = target_dir().ok_or("this test does not run from <target>/<profile>/deps")?;
    let bin = target.join(profile.dir()).join("examples").join(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|(n, p)| n == name && *p == profile) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root())
            .args(["build", "--quiet", "--example", name, "--target-dir"])
            .arg(&target);
        if profile == Profile::Release {
            cmd.arg("--release");
        }
        // The features this test was built with (the Valgrind run), so
        // that the build does not replace the examples with another
        // configuration's.
        if cfg!(feature = "valgrind") {
            cmd.args(["--features", "valgrind"]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run cargo to build example {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`cargo build --example {name}` ({} profile) failed:\n{}",
                profile.dir(),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        built.push((name.to_string(), profile));
    }
    Ok(bin)
}

/// Runs an example and returns its standard output.
fn run_example(name: &str, profile: Profile) -> Result<String, Failed> {
    let bin = example_binary(name, profile)?;
    let out = Command::new(&bin)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "example {name} failed with {}; stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    String::from_utf8(out.stdout).map_err(|_| "the example's output is not UTF-8".into())
}

/// Why this process cannot start another program of its own architecture
/// (qemu-user without binfmt), or None if it can: starts itself with
/// `--list`.
fn cannot_start_programs() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    match Command::new(&exe).arg("--list").output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "starting a program of this architecture fails here ({}); qemu-user without binfmt?",
            o.status
        )),
        Err(e) => Some(format!(
            "cannot start a program of this architecture here ({e}); qemu-user without binfmt?"
        )),
    }
}

/// Compares one quoted example output with what the example prints now.
fn check_output(q: &Quote) -> Result<(), Failed> {
    let Kind::Output {
        example,
        profile,
        mode,
        ..
    } = &q.kind
    else {
        unreachable!("an output quote")
    };
    let actual = run_example(example, *profile)?;
    let (want, got) = (normalise(&q.text, *mode), normalise(&actual, *mode));
    if want == got {
        return Ok(());
    }
    let first = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    Err(format!(
        "{}: the quoted output of example {example} ({mode:?}, {} build) differs from what it \
         prints, first at line {}.\n--- quoted (normalised):\n{want}--- actual (normalised):\n\
         {got}--- actual (raw):\n{actual}",
        q.place(),
        profile.dir(),
        first + 1
    )
    .into())
}

/// A frame line of a gdb backtrace: `#N  [0xADDR in] FUNCTION (ARGS) [at FILE:LINE]`.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    number: usize,
    function: String,
    location: Option<String>,
}

fn parse_frame(line: &str) -> Option<Frame> {
    let rest = line.strip_prefix('#')?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let number = rest[..digits].parse().ok()?;
    let mut rest = rest[digits..].trim_start();
    if rest.starts_with("0x") {
        rest = rest.split_once(" in ")?.1;
    }
    // The function ends where its argument list starts: at " (" outside
    // any generic brackets.
    let mut depth = 0i32;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '(' if depth == 0 && rest[..i].ends_with(' ') => {
                end = i - 1;
                break;
            }
            _ => {}
        }
    }
    // Generic arguments are left out of the comparison (the docs shorten
    // them to `<...>`).
    let mut function = String::new();
    let mut depth = 0i32;
    for c in rest[..end].chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            c if depth == 0 => function.push(c),
            _ => {}
        }
    }
    let location = rest
        .rsplit_once(" at ")
        .map(|(_, at)| at.trim().to_string())
        .filter(|at| at.contains(':'));
    Some(Frame {
        number,
        function,
        location,
    })
}

/// Splits a shell command line with '...' quoting (all the docs use).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The `$ gdb ...` command a gdb quote starts with, continuation lines joined.
fn gdb_command(text: &str) -> Option<Vec<String>> {
    let mut cmd = String::new();
    let mut lines = text.lines();
    let first = lines.next()?.strip_prefix("$ ")?;
    let mut line = first;
    loop {
        match line.trim_end().strip_suffix('\\') {
            Some(l) => {
                cmd.push_str(l);
                cmd.push(' ');
                line = lines.next()?;
            }
            None => {
                cmd.push_str(line);
                break;
            }
        }
    }
    let words = shell_words(&cmd);
    (words.first().map(String::as_str) == Some("gdb")).then_some(words)
}

/// Every `FILE.S:LINE` gdb names must be an instruction line of that file.
fn check_asm_lines(gdb_out: &str) -> Result<usize, Failed> {
    let mut checked = 0;
    for frame in gdb_out.lines().filter_map(parse_frame) {
        let Some((file, line)) = frame.location.as_deref().and_then(|l| l.rsplit_once(':')) else {
            continue;
        };
        if !file.ends_with(".S") {
            continue;
        }
        let n: usize = line
            .parse()
            .map_err(|_| format!("a bad line number in {file}:{line}"))?;
        let src = std::fs::read_to_string(root().join(file))
            .map_err(|e| format!("gdb names {file}, which cannot be read: {e}"))?;
        let text = src.lines().nth(n - 1).unwrap_or_default().trim();
        let code = text.split("/*").next().unwrap_or_default().trim();
        let is_instruction = !code.is_empty()
            && !code.starts_with('*')
            && !code.starts_with('.')
            && !code.starts_with('#');
        if !is_instruction {
            return Err(format!(
                "gdb places frame #{} ({}) at {file}:{n}, which is not an instruction: {text:?}. \
                 The assembler's line info is off.",
                frame.number, frame.function
            )
            .into());
        }
        checked += 1;
    }
    Ok(checked)
}

/// Runs a quoted gdb session and compares its frames with the quote's.
fn check_gdb(q: &Quote) -> Result<(), Failed> {
    let words = gdb_command(&q.text)
        .ok_or_else(|| format!("{}: a gdb quote must start with `$ gdb ...`", q.place()))?;
    let program = words.last().expect("gdb and at least one word");
    let example = program
        .strip_prefix("target/debug/examples/")
        .ok_or_else(|| {
            format!(
                "{}: the gdb command must end with target/debug/examples/NAME",
                q.place()
            )
        })?;
    let bin = example_binary(example, Profile::Debug)?;
    let out = Command::new("gdb")
        .current_dir(root())
        .arg("-nx")
        .args(&words[1..words.len() - 1])
        .arg(&bin)
        .output()
        .map_err(|e| format!("cannot run gdb: {e}"))?;
    let actual =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let got: HashMap<usize, Frame> = actual
        .lines()
        .filter_map(parse_frame)
        .map(|f| (f.number, f))
        .collect();
    let mut quoted = 0;
    for want in q.text.lines().filter_map(parse_frame) {
        let matches = got.get(&want.number).is_some_and(|f| {
            f.function == want.function && (want.location.is_none() || f.location == want.location)
        });
        if !matches {
            return Err(format!(
                "{}: quoted frame #{} is `{}` at {:?}; gdb now prints {:?}.\n--- gdb output:\n{actual}",
                q.place(),
                want.number,
                want.function,
                want.location,
                got.get(&want.number)
            )
            .into());
        }
        quoted += 1;
    }
    if quoted == 0 {
        return Err(format!("{}: a gdb quote without frame lines", q.place()).into());
    }
    for line in q.text.lines().filter(|l| l.contains("exited normally")) {
        if !actual.contains("exited normally") {
            return Err(
                format!("{}: quoted {line:?}, but gdb printed:\n{actual}", q.place()).into(),
            );
        }
    }
    check_asm_lines(&actual)?;
    Ok(())
}

/// Why gdb checks cannot run here, or None.
fn gdb_unavailable() -> Option<String> {
    if std::env::consts::ARCH != "x86_64" {
        return Some("the gdb sessions quoted in the docs are x86_64's".into());
    }
    match Command::new("gdb").arg("--version").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("gdb is not installed".into()),
    }
}

/// Runs a tool, returning its output, or None if the tool is not there.
fn tool_output(cmd: &mut Command) -> Result<Option<String>, Failed> {
    match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot run {cmd:?}: {e}").into()),
        Ok(o) if !o.status.success() => Err(format!(
            "{cmd:?} failed with {}:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
        .into()),
        Ok(o) => Ok(Some(String::from_utf8_lossy(&o.stdout).into_owned())),
    }
}

/// Assembles `asm/FILE` with `compiler` and `flags` into a temporary
/// object; None if the compiler is not installed.
fn assemble(compiler: &str, file: &str, flags: &[&str]) -> Result<Option<PathBuf>, Failed> {
    let dir = std::env::temp_dir().join(format!("swapctx-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let obj = dir.join(format!(
        "{}-{}.o",
        file.trim_end_matches(".S"),
        flags.join("").replace(['-', '=', ','], "")
    ));
    // The offsets the .S files include, which build.rs generates for
    // every architecture.
    let arch = file.split('_').nth(1).unwrap_or_default();
    let arch = if arch == "x86" { "x86_64" } else { arch };
    let layout = Path::new(env!("OUT_DIR")).join("layout").join(arch);
    let done = tool_output(
        Command::new(compiler)
            .current_dir(root().join("asm"))
            .args(["-c", "-DSWAPCTX_SYM_TAG=0_1_0", "-I."])
            .arg("-I")
            .arg(&layout)
            .args(flags)
            .arg(file)
            .arg("-o")
            .arg(&obj),
    )?;
    Ok(done.map(|_| obj))
}

/// The GNU property notes of an object, as `readelf -n` prints them.
fn property_note(readelf: &str, obj: &Path) -> Result<Option<String>, Failed> {
    let out = tool_output(Command::new(readelf).arg("-n").arg(obj))?;
    Ok(out.map(|o| {
        o.lines()
            .filter(|l| l.contains("feature:"))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }))
}

/// asm/common.h: an aarch64 BTI build marks its object with the GNU
/// property note that says so, a plain build does not, and every function
/// of the marked object begins with a landing pad (docs/03-aarch64.md). An
/// x86_64 object is never marked for CET, even when the build asks for it
/// (the switch jumps to resume addresses that have no `endbr64`).
fn check_notes(arch: &str) -> Result<Completion, Failed> {
    let (cc, readelf, objdump, file, flag, want) = match arch {
        "x86_64" => (
            "cc",
            "readelf",
            "objdump",
            "switch_x86_64_sysv_elf_gas.S",
            "-fcf-protection=full",
            "",
        ),
        _ => (
            "aarch64-linux-gnu-gcc",
            "aarch64-linux-gnu-readelf",
            "aarch64-linux-gnu-objdump",
            "switch_aarch64_aapcs_elf_gas.S",
            "-mbranch-protection=bti",
            "AArch64 feature: BTI",
        ),
    };
    if arch == "x86_64" && std::env::consts::ARCH != "x86_64" {
        return Ok(Completion::ignored_with(
            "the x86_64 object is assembled on x86_64 only",
        ));
    }
    let (Some(plain), Some(marked)) = (assemble(cc, file, &[])?, assemble(cc, file, &[flag])?)
    else {
        return Ok(Completion::ignored_with(format!("{cc} is not installed")));
    };
    let (Some(plain_note), Some(marked_note)) = (
        property_note(readelf, &plain)?,
        property_note(readelf, &marked)?,
    ) else {
        return Ok(Completion::ignored_with(format!(
            "{readelf} is not installed"
        )));
    };
    if !plain_note.is_empty() {
        return Err(format!("{file} without {flag} claims {plain_note:?}").into());
    }
    let as_wanted = if want.is_empty() {
        marked_note.is_empty()
    } else {
        marked_note.ends_with(want)
    };
    if !as_wanted {
        return Err(format!("{file} with {flag}: note {marked_note:?}, want {want:?}").into());
    }
    let Some(dis) = tool_output(Command::new(objdump).arg("-d").arg(&marked))? else {
        return Ok(Completion::ignored_with(format!(
            "{objdump} is not installed"
        )));
    };
    let pad = if arch == "x86_64" {
        "endbr64"
    } else {
        "\tbti\t"
    };
    let mut functions = 0;
    let mut lines = dis.lines();
    while let Some(l) = lines.next() {
        let Some(name) = l.strip_suffix(">:") else {
            continue;
        };
        functions += 1;
        let first = lines.next().unwrap_or_default();
        // x86_64: only the functions reached by an indirect jump need one.
        let needs_pad = arch == "aarch64" || name.ends_with("trampoline");
        if needs_pad && !first.contains(pad) {
            return Err(format!("{name}> does not begin with a landing pad: {first}").into());
        }
    }
    if functions < 4 {
        return Err(format!("only {functions} functions found in\n{dis}").into());
    }
    Ok(Completion::Completed)
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

fn every_ladder_example_is_quoted_in_a_chapter() -> Result<(), Failed> {
    let quotes = quotes();
    let quoted = |name: &str| {
        quotes
            .iter()
            .any(|q| matches!(&q.kind, Kind::Output { example, .. } if example == name))
    };
    for name in ladder_examples() {
        if !quoted(&name) {
            return Err(
                format!("examples/{name}.rs is not quoted in any docs/*.md chapter").into(),
            );
        }
    }
    for q in &quotes {
        if let Kind::Output { example, .. } = &q.kind {
            if !root()
                .join("examples")
                .join(format!("{example}.rs"))
                .exists()
            {
                return Err(format!(
                    "{} quotes example {example}, which does not exist",
                    q.place()
                )
                .into());
            }
        }
    }
    Ok(())
}

fn normalising_hides_addresses_and_numbers_only() -> Result<(), Failed> {
    assert_eq!(
        normalise_addrs("fault at 0x7f3a1c in 0x10..0x2f (4096 bytes) 0x"),
        "fault at 0xADDR in 0xADDR..0xADDR (4096 bytes) 0x"
    );
    assert_eq!(
        normalise_shape("raw:    12.5 ns, 200000 round trips"),
        "raw: N ns, N round trips"
    );
    Ok(())
}

fn frames_are_parsed_without_addresses_or_arguments() -> Result<(), Failed> {
    assert_eq!(
        parse_frame(
            "#12 0x000055555558cb28 in swapctx_0_1_0_coroutine_trampoline () at asm/x.S:239"
        ),
        Some(Frame {
            number: 12,
            function: "swapctx_0_1_0_coroutine_trampoline".into(),
            location: Some("asm/x.S:239".into()),
        })
    );
    assert_eq!(
        parse_frame("#14 swapctx::coroutine::RawCoroutine<(), u32, u32>::resume<(), u32, u32> (self=0x7ff, input=()) at src/coroutine.rs:329"),
        Some(Frame {
            number: 14,
            function: "swapctx::coroutine::RawCoroutine::resume".into(),
            location: Some("src/coroutine.rs:329".into()),
        })
    );
    assert_eq!(
        gdb_command("$ gdb -batch -ex 'break f' \\\n      -ex run prog\nrest\n"),
        Some(
            vec!["gdb", "-batch", "-ex", "break f", "-ex", "run", "prog"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        Trial::test(
            "every_ladder_example_is_quoted_in_a_chapter",
            every_ladder_example_is_quoted_in_a_chapter,
        ),
        Trial::test(
            "normalising_hides_addresses_and_numbers_only",
            normalising_hides_addresses_and_numbers_only,
        ),
        Trial::test(
            "frames_are_parsed_without_addresses_or_arguments",
            frames_are_parsed_without_addresses_or_arguments,
        ),
    ];
    for arch in ["x86_64", "aarch64"] {
        trials.push(Trial::ignorable_test(
            format!("asm_notes_match_the_landing_pads_{arch}"),
            move || check_notes(arch),
        ));
    }

    let host = std::env::consts::ARCH;
    // Only decided when a check would run: `--list` must stay cheap.
    let listing = args.list;
    let no_start = if listing || cfg!(feature = "asan") {
        None
    } else if target_dir().is_none() {
        Some("this test does not run from <target>/<profile>/deps (a --target build?)".into())
    } else if cfg!(windows) {
        Some("under Wine there is no cargo to build the examples: checked natively".into())
    } else {
        cannot_start_programs()
    };
    let no_gdb = if listing { None } else { gdb_unavailable() };
    for q in quotes() {
        let name = match &q.kind {
            Kind::Output { example, .. } => format!("output {example} ({})", q.place()),
            Kind::Gdb => format!("gdb session ({})", q.place()),
        };
        let why_not = match &q.kind {
            _ if cfg!(feature = "asan") => Some("not in the AddressSanitizer run".to_string()),
            Kind::Output { arch: Some(a), .. } if a != host => {
                Some(format!("{a}'s output; this is {host}"))
            }
            Kind::Output { .. } => no_start.clone(),
            Kind::Gdb => no_start.clone().or_else(|| no_gdb.clone()),
        };
        trials.push(Trial::ignorable_test(name, move || {
            if let Some(why) = why_not {
                return Ok(Completion::ignored_with(why));
            }
            match q.kind {
                Kind::Output { .. } => check_output(&q)?,
                Kind::Gdb => check_gdb(&q)?,
            }
            Ok(Completion::Completed)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
