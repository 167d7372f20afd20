//! `swapctx`: the producer → consumer demo, a trace of every switch, and a
//! switch-latency benchmark.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

mod bench;
mod peers;
mod roundtrip;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

#[derive(Parser, Debug)]
#[command(
    name = "swapctx",
    version,
    about = "Stackful context switching, shown and measured",
    long_about = "With no command, runs the classic generator send() example on real stacks: \
                  a producer resumes a consumer coroutine with each random number it makes, \
                  and the consumer receives it from suspend().\n\n\
                  The demo's options may come before or after `demo`/`trace`; \
                  `bench` takes only its own."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: DemoArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The producer → consumer demo (the default).
    Demo,
    /// The demo with every switch shown: side, stack pointer, stack depth.
    Trace,
    /// Measure switch latency on this machine, in one run: swapctx, its raw
    /// switch, corosensei, the `context` crate, Boost.Context (when it was
    /// installed at build time), glibc's swapcontext, two OS threads, and a
    /// plain function call as the floor (a few seconds).
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct BenchArgs {
    /// Print the results as JSON (for scripts).
    #[arg(long)]
    json: bool,
    /// Fewer, shorter samples (well under a second).
    #[arg(long)]
    quick: bool,
}

/// The demo's options. They are global, so `swapctx --count 3 trace` and
/// `swapctx trace --count 3` mean the same; `bench` refuses them.
#[derive(clap::Args, Debug, Clone)]
struct DemoArgs {
    /// How many items the producer sends.
    #[arg(long, global = true, default_value_t = 10)]
    count: u64,
    /// Milliseconds to wait between items.
    #[arg(long, global = true, default_value_t = 100)]
    interval_ms: u64,
    /// Seed for the random numbers, for a reproducible run.
    #[arg(long, global = true)]
    seed: Option<u64>,
    /// Show each switch as it happens: which side runs, its stack pointer
    /// and how deep into its stack it is.
    #[arg(long, global = true)]
    trace: bool,
}

/// The ids of the demo's options, as clap names them.
const DEMO_OPTIONS: [&str; 4] = ["count", "interval_ms", "seed", "trace"];

/// The first demo option given on the command line, anywhere.
fn demo_option_given(matches: &ArgMatches) -> Option<&'static str> {
    let sub = matches.subcommand().map(|(_, m)| m);
    DEMO_OPTIONS.into_iter().find(|id| {
        [Some(matches), sub]
            .into_iter()
            .flatten()
            .any(|m| m.value_source(id) == Some(ValueSource::CommandLine))
    })
}

fn main() -> ExitCode {
    let mut command = Cli::command();
    let matches = command.get_matches_mut();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        None | Some(Command::Demo) => demo(&cli.demo),
        Some(Command::Trace) => demo(&DemoArgs {
            trace: true,
            ..cli.demo
        }),
        Some(Command::Bench(args)) => {
            if let Some(id) = demo_option_given(&matches) {
                // Exits with status 2, like every other usage error.
                command
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!(
                            "--{} is an option of the demo; `bench` does not take it",
                            id.replace('_', "-")
                        ),
                    )
                    .exit();
            }
            bench::run(args.json, args.quick);
            ExitCode::SUCCESS
        }
    }
}

/// `(low, high)` bounds of the calling thread's own stack.
fn thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: pthread_getattr_np fills a fresh attr, which we destroy; the
    // out-pointers are live locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr = std::ptr::null_mut();
        let mut size = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0).then(|| (addr as usize, addr as usize + size))
    }
}

/// One line of the trace: who runs now, where its stack pointer is, and how
/// many bytes of its stack it uses.
fn trace_line(side: &str, event: &str, bounds: Option<(usize, usize)>) {
    let sp = swapctx::raw::current_stack_pointer();
    match bounds {
        Some((lo, hi)) if lo <= sp && sp <= hi => println!(
            "  [trace] {side:<8} {event:<28} sp={sp:#014x}  {:>6} of {:>7} bytes used",
            hi - sp,
            hi - lo
        ),
        _ => println!("  [trace] {side:<8} {event:<28} sp={sp:#014x}"),
    }
}

fn demo(args: &DemoArgs) -> ExitCode {
    let stack = match Stack::with_default_size() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("swapctx: cannot make the consumer's stack: {e}");
            return ExitCode::FAILURE;
        }
    };
    let consumer_bounds = Some((stack.bottom() as usize, stack.top() as usize));
    let producer_bounds = thread_stack_bounds();
    let trace = args.trace;

    // The consumer: receives items from suspend() until it gets None, and
    // returns how many it received.
    let mut consumer = Coroutine::with_stack(
        stack,
        move |y: &Yielder<Option<u64>, ()>, first: Option<u64>| {
            if trace {
                trace_line("consumer", "started, waiting for data", consumer_bounds);
            }
            let mut received = 0u64;
            let mut next = first;
            while let Some(item) = next {
                println!("# consumer: receiving data {item}");
                received += 1;
                if trace {
                    trace_line("consumer", "suspends back to producer", consumer_bounds);
                }
                next = y.suspend(());
                if trace {
                    trace_line("consumer", "resumed", consumer_bounds);
                }
            }
            received
        },
    );

    let mut rng = match args.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let mut switches = 0u64;
    let mut received = 0u64;
    let interval = Duration::from_millis(args.interval_ms);
    for i in 0..=args.count {
        // The last round sends None: the consumer ends and returns.
        let item = (i < args.count).then(|| rng.gen_range(1..=10u64));
        if i > 0 && item.is_some() && !interval.is_zero() {
            std::thread::sleep(interval);
        }
        match item {
            Some(v) => println!("# producer: sending data {v}"),
            None => {
                if trace {
                    trace_line("producer", "sends the end (None)", producer_bounds);
                }
            }
        }
        if trace && item.is_some() {
            trace_line("producer", "resumes consumer", producer_bounds);
        }
        let result = consumer.resume(item);
        switches += 2;
        if trace {
            trace_line("producer", "back from consumer", producer_bounds);
        }
        if let CoroutineResult::Return(n) = result {
            received = n;
        }
    }

    let per_switch = quiet_switch_ns();
    println!(
        "# summary: {} items, {switches} switches, {per_switch:.1} ns per switch (measured over {QUIET_ROUNDS} quiet round trips)",
        received
    );
    ExitCode::SUCCESS
}

const QUIET_ROUNDS: u64 = 1_000_000;

/// The cost of one switch between the two sides of the demo, without the
/// printing: the median of five runs of QUIET_ROUNDS round trips.
fn quiet_switch_ns() -> f64 {
    let mut co = Coroutine::<u64, u64, ()>::new(|y, mut x| loop {
        x = y.suspend(x.wrapping_add(1));
    });
    let mut runs = [0f64; 5];
    for run in runs.iter_mut() {
        let start = Instant::now();
        let mut x = 0u64;
        for _ in 0..QUIET_ROUNDS {
            if let CoroutineResult::Yield(v) = co.resume(x) {
                x = v;
            }
        }
        std::hint::black_box(x);
        *run = start.elapsed().as_nanos() as f64 / (2 * QUIET_ROUNDS) as f64;
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[2]
}
