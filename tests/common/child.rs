//! Runs a scenario in a forked child and reports how it ended: for the
//! `harness = false` test files, whose process is single-threaded when it
//! forks (a fork from a multi-threaded test harness could deadlock).
//! Fork, not exec: under qemu-user a test cannot exec another binary of its
//! own architecture.

#![allow(dead_code)]

use std::io::Read;
use std::os::fd::FromRawFd;

/// How a child ended, and what it wrote to stdout and stderr.
pub struct Outcome {
    pub output: String,
    pub signal: Option<i32>,
    pub exit: Option<i32>,
}

/// Runs `body` in a forked child with stdout and stderr captured.
pub fn in_child(body: impl FnOnce()) -> Outcome {
    let mut fds = [0; 2];
    // SAFETY: pipe/fork/dup2/_exit/waitpid on fds we own; the child only
    // runs `body` and exits; the caller's process is single-threaded.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            libc::close(fds[0]);
            libc::dup2(fds[1], 1);
            libc::dup2(fds[1], 2);
            body();
            libc::_exit(0);
        }
        libc::close(fds[1]);
        let mut output = String::new();
        std::fs::File::from_raw_fd(fds[0])
            .read_to_string(&mut output)
            .unwrap();
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        Outcome {
            output,
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            exit: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        }
    }
}

/// A named check: `Err` says what went wrong.
pub type Check<'a> = (&'a str, Box<dyn FnOnce() -> Result<(), String>>);

/// Runs each named check; prints libtest-like lines and the closing
/// `N passed, M failed` line; exits non-zero if any failed.
pub fn run_checks(checks: Vec<Check<'_>>) {
    let mut passed = 0;
    let mut failed = 0;
    for (name, check) in checks {
        match check() {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED\n{why}");
                failed += 1;
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
