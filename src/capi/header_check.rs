//! `include/swapctx.h` against the Rust definitions, checked by the two
//! compilers rather than by reading either source as text:
//!
//! - [`c_api!`] lists every C function with its Rust type. rustc checks
//!   each entry against the function itself (a coercion that does not
//!   compile if they differ), and the entry's C spelling, rendered from
//!   the Rust types, is declared again after `#include "swapctx.h"`: the C
//!   compiler rejects a redeclaration whose type conflicts with the
//!   header's. The same file checks the function-pointer typedefs, the
//!   size of `swapctx_context` and every other constant with
//!   `_Static_assert`.
//! - The function names: GCC's `-aux-info` lists what the header declares,
//!   `nm` what this binary exports, and both must be the table's (in an
//!   optimised build the linker drops what the binary does not call, so
//!   there the exported ones must be in the table).
//! - The C prototypes quoted in the Rust documentation are compiled after
//!   the header too.
//! - `enum swapctx_status` is generated: its text, names, values and
//!   comments (the `swapctx_strerror` texts) is rendered from [`Status`],
//!   and the header must hold exactly that text. `SWAPCTX_BLESS=1` writes
//!   it into the header instead of failing.
//!
//! They need the system's GCC and `nm` and run on x86_64 Linux only (the
//! other architectures run the unit tests under qemu-user, where a test
//! cannot run the host's compiler); elsewhere they are listed as ignored.

use core::ffi::{c_char, c_int, c_void};
use core::mem;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::coro::*;
use super::*;
use crate::memory::StackBuf;
use crate::raw::Context;
use crate::{Stack, StackPool};

/// The C spelling of a type of the C API. Each Rust type has one, so a
/// Rust signature has one C rendering, which the C compiler then holds
/// against the header's.
trait CType {
    fn c() -> String;
}

macro_rules! c_names {
    ($($rust:ty => $c:literal,)*) => {
        $(impl CType for $rust {
            fn c() -> String {
                $c.to_string()
            }
        })*
    };
}

c_names! {
    () => "void",
    c_int => "int",
    usize => "size_t",
    c_char => "char",
    c_void => "void",
    Stack => "swapctx_stack",
    StackPool => "swapctx_pool",
    Context => "swapctx_context",
    Coro => "swapctx_coro",
}

impl<T: CType> CType for *mut T {
    fn c() -> String {
        format!("{} *", T::c())
    }
}

impl<T: CType> CType for *const T {
    fn c() -> String {
        format!("const {} *", T::c())
    }
}

/// A function pointer that may be NULL (`Option<fn>` in Rust): the C
/// abstract declarator `R (*)(A, B)`.
impl<R: CType, A: CType, B: CType> CType for Option<unsafe extern "C" fn(A, B) -> R> {
    fn c() -> String {
        format!("{} (*)({}, {})", R::c(), A::c(), B::c())
    }
}

/// Every function of the C API with its Rust type. rustc checks each line
/// against the function (the `let` coerces the function to exactly that
/// pointer type); [`functions`] renders the C declarations.
macro_rules! c_api {
    ($($name:ident: fn($($arg:ty),*) -> $ret:ty;)*) => {
        const _: () = {
            $(let _: unsafe extern "C" fn($($arg),*) -> $ret = $name;)*
        };

        /// `(name, C declaration)` of every C API function.
        fn functions() -> Vec<(&'static str, String)> {
            vec![$((
                stringify!($name),
                format!(
                    "{} {}({});",
                    <$ret as CType>::c(),
                    stringify!($name),
                    [$(<$arg as CType>::c()),*].join(", ")
                ),
            ),)*]
        }
    };
}

c_api! {
    swapctx_stack_new: fn(usize, *mut *mut Stack) -> c_int;
    swapctx_stack_free: fn(*mut Stack) -> ();
    swapctx_stack_size: fn(*const Stack) -> usize;
    swapctx_context_new: fn(*mut Stack, Option<CEntryFn>, *mut c_void, *mut Context) -> c_int;
    swapctx_context_switch: fn(*mut Context, *mut Context, usize, *mut usize) -> c_int;
    swapctx_pool_new: fn(usize, usize, *mut *mut StackPool) -> c_int;
    swapctx_pool_free: fn(*mut StackPool) -> ();
    swapctx_strerror: fn(c_int) -> *const c_char;
    swapctx_error_name: fn(c_int) -> *const c_char;
    swapctx_coro_new: fn(*mut c_void, usize, Option<CoroFn>, *mut c_void, *mut *mut Coro) -> c_int;
    swapctx_coro_new_on_stack: fn(*mut Stack, Option<CoroFn>, *mut c_void, *mut *mut Coro) -> c_int;
    swapctx_coro_new_from_pool: fn(*mut StackPool, Option<CoroFn>, *mut c_void, *mut *mut Coro) -> c_int;
    swapctx_coro_resume: fn(*mut Coro, *mut c_void, *mut *mut c_void) -> c_int;
    swapctx_coro_yield: fn(*mut Coro, *mut c_void, *mut *mut c_void) -> c_int;
    swapctx_coro_status: fn(*const Coro) -> c_int;
    swapctx_coro_data: fn(*const Coro) -> *mut c_void;
    swapctx_coro_destroy: fn(*mut Coro) -> c_int;
}

/// The constants and typedefs the header must agree on, as C: typedefs
/// restated from the Rust types (C11 accepts the same typedef twice, and
/// rejects a different one) and `_Static_assert`s of the Rust values.
fn constants() -> String {
    let mut c = String::new();
    let typedefs = [
        ("swapctx_entry_fn", <Option<CEntryFn> as CType>::c()),
        ("swapctx_coro_fn", <Option<CoroFn> as CType>::c()),
    ];
    for (name, pointer) in typedefs {
        // `R (*)(A, B)` -> `typedef R (*name)(A, B);`
        let _ = writeln!(
            c,
            "typedef {};",
            pointer.replacen("(*)", &format!("(*{name})"), 1)
        );
    }
    let asserts = [
        ("sizeof(swapctx_context)", mem::size_of::<Context>()),
        ("_Alignof(swapctx_context)", mem::align_of::<Context>()),
        ("SWAPCTX_CORO_MIN_SIZE", StackBuf::MIN_SIZE),
        ("SWAPCTX_CORO_ALIGN", StackBuf::ALIGN),
        ("SWAPCTX_CORO_SUSPENDED", CORO_SUSPENDED as usize),
        ("SWAPCTX_CORO_RUNNING", CORO_RUNNING as usize),
        ("SWAPCTX_CORO_DONE", CORO_DONE as usize),
    ];
    for (expr, value) in asserts {
        let _ = writeln!(
            c,
            "_Static_assert({expr} == {value}, \"{expr} is {value} in Rust\");"
        );
    }
    c
}

/// `enum swapctx_status` as it must read in the header: from [`Status`],
/// with each code's `swapctx_strerror` text as its comment, wrapped at 76
/// columns.
fn status_enum() -> String {
    let mut out = String::from("enum swapctx_status {\n");
    for (i, status) in Status::ALL.iter().enumerate() {
        let text = status.description().to_str().unwrap();
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
        let comma = if i + 1 < Status::ALL.len() { "," } else { "" };
        let name = status.name().to_str().unwrap();
        let _ = writeln!(
            out,
            "{}\n    {name} = {}{comma}",
            lines.join("\n"),
            *status as c_int
        );
    }
    out.push_str("};\n");
    out
}

fn header_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include/swapctx.h")
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swapctx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles (without linking) `source` after `#include "swapctx.h"` with
/// GCC in strict C11, warnings as errors; returns GCC's `-aux-info`
/// output (the declarations it saw, one per line).
fn compile_with_header(name: &str, source: &str) -> String {
    let dir = scratch(name);
    let file = dir.join("check.c");
    std::fs::write(&file, format!("#include \"swapctx.h\"\n{source}")).unwrap();
    let aux = dir.join("aux.txt");
    let include = header_path().parent().unwrap().to_path_buf();
    let out = Command::new("gcc")
        .args([
            "-std=c11",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(&include)
        .arg("-aux-info")
        .arg(&aux)
        .arg(&file)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "include/swapctx.h disagrees with the Rust definitions; gcc on\n{source}\nsaid:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let declarations = std::fs::read_to_string(&aux).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    declarations
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "runs the host's gcc: on x86_64 Linux only"
)]
fn the_header_declares_every_function_with_its_rust_type() {
    let mut source = String::from("/* The C API as the Rust definitions spell it. */\n");
    for (_, declaration) in functions() {
        let _ = writeln!(source, "{declaration}");
    }
    source.push_str(&constants());
    compile_with_header("header-types", &source);
}

/// The check above has teeth: a declaration that differs from the
/// header's in one parameter's type does not compile.
#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "runs the host's gcc: on x86_64 Linux only"
)]
#[should_panic(expected = "disagrees with the Rust definitions")]
fn a_declaration_that_differs_from_the_header_is_refused() {
    compile_with_header(
        "header-refused",
        "int swapctx_stack_new(int size, swapctx_stack **stack_out);\n",
    );
}

/// The C prototypes the Rust documentation quotes (a doc line that is one
/// `` `...;` `` span) are redeclarations too: GCC holds them against the
/// header.
#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "runs the host's gcc: on x86_64 Linux only"
)]
fn the_prototypes_quoted_in_the_rust_docs_are_the_headers() {
    let mut source = String::new();
    let mut quoted = 0;
    for file in ["src/capi.rs", "src/capi/coro.rs"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let Some(span) = line.trim().strip_prefix("/// `") else {
                continue;
            };
            if let Some(prototype) = span.strip_suffix('`') {
                if prototype.ends_with(';') && prototype.contains("swapctx_") {
                    let _ = writeln!(source, "{prototype} /* {file} */");
                    quoted += 1;
                }
            }
        }
    }
    assert!(
        quoted >= 10,
        "found only {quoted} quoted prototypes:\n{source}"
    );
    compile_with_header("header-docs", &source);
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "runs the host's gcc and nm: on x86_64 Linux only"
)]
fn the_header_this_library_and_the_table_name_the_same_functions() {
    let mut table: Vec<&str> = functions().into_iter().map(|(name, _)| name).collect();
    table.sort_unstable();
    // What the header declares, as GCC lists it (`/* FILE:LINE:NC */
    // extern TYPE NAME (ARGS);`), for the lines of swapctx.h.
    let aux = compile_with_header("header-names", "");
    let mut header: Vec<String> = aux
        .lines()
        .filter(|l| l.contains("swapctx.h:"))
        .filter_map(|l| {
            let before_args = l.split(" (").next()?;
            Some(before_args.rsplit([' ', '*']).next()?.to_string())
        })
        .collect();
    header.sort_unstable();
    assert_eq!(
        header, table,
        "the header's functions (left) and the table's"
    );
    // What this binary exports: the C API (the assembly's symbols carry
    // the crate version, `swapctx_0_1_0_...`).
    let exe = std::env::current_exe().unwrap();
    let nm = Command::new("nm")
        .args(["--defined-only", "--extern-only", "--format=posix"])
        .arg(&exe)
        .output()
        .expect("run nm");
    assert!(nm.status.success());
    let mut exported: Vec<String> = String::from_utf8(nm.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|s| s.starts_with("swapctx_") && !s.starts_with("swapctx_0_"))
        .map(str::to_string)
        .collect();
    exported.sort_unstable();
    exported.dedup();
    if cfg!(debug_assertions) {
        assert_eq!(
            exported, table,
            "the exported functions (left) and the table's"
        );
    } else {
        // An optimised build lets the linker drop the functions nothing in
        // this binary calls; the debug build's check sees them all.
        let missing: Vec<&String> = exported
            .iter()
            .filter(|name| !table.contains(&name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "exported but not in the table: {missing:?}"
        );
        assert!(!exported.is_empty(), "nm found no C API function");
    }
}

#[test]
fn the_status_enum_in_the_header_is_generated_from_status() {
    let expected = status_enum();
    let path = header_path();
    let header = std::fs::read_to_string(&path).unwrap();
    let start = header
        .find("enum swapctx_status {")
        .expect("the header has no `enum swapctx_status {`");
    let end = start + header[start..].find("};\n").expect("the enum's `};`") + 3;
    if header[start..end] == expected {
        return;
    }
    if std::env::var_os("SWAPCTX_BLESS").is_some() {
        let blessed = format!("{}{expected}{}", &header[..start], &header[end..]);
        std::fs::write(&path, blessed).unwrap();
        return;
    }
    panic!(
        "include/swapctx.h's `enum swapctx_status` is not the one src/capi.rs \
         generates (SWAPCTX_BLESS=1 cargo test --lib status_enum writes it); \
         it should read:\n{expected}"
    );
}
