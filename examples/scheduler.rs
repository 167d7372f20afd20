//! Chapter 7: a round-robin scheduler with system calls.
//!
//! Each task is a `Coroutine`. A task asks the scheduler for something by
//! *suspending* with a `Syscall`; the scheduler acts on it and *resumes*
//! the task with a `Reply`. That is all a system call is here: a suspend
//! that hands a request out, and a resume that hands the answer back in.
//!
//! Tasks:   Ready ──resume──► Running ──Syscall::Yield──► Ready
//!                             │  ├──Sleep(n)──► Sleeping ──clock──► Ready
//!                             │  ├──Wait(id)──► Waiting ──id done──► Ready
//!                             │  └──Spawn(f)──► Ready (and a new task, Ready)
//!                             └──returns──► Done
//!
//! Time is a virtual clock: one tick per time slice (one resume), so the
//! output is the same on every run. When every task sleeps, the clock
//! jumps to the earliest wake-up.

use std::collections::VecDeque;

use swapctx::{Coroutine, CoroutineResult, Yielder};

type TaskId = usize;

/// What a task's body is: it gets a handle for its system calls.
type Body = Box<dyn FnOnce(&Sys<'_>)>;

/// The requests a task can make.
enum Syscall {
    /// Give up the rest of this time slice.
    Yield,
    /// Start a new task with this name; the reply is its id.
    Spawn(&'static str, Body),
    /// Block until the task with this id has finished.
    Wait(TaskId),
    /// Block for this many ticks.
    Sleep(u64),
}

/// The scheduler's answers (the `Input` of each resume).
enum Reply {
    /// The first resume of a task: its own id.
    Start(TaskId),
    /// The id of a task that `Spawn` started.
    Spawned(TaskId),
    /// Nothing to say: the request was done.
    Done,
}

/// A task's view of the system: its id and its system calls.
struct Sys<'a> {
    id: TaskId,
    y: &'a Yielder<Reply, Syscall>,
}

impl Sys<'_> {
    fn yield_now(&self) {
        self.y.suspend(Syscall::Yield);
    }
    fn spawn(&self, name: &'static str, f: impl FnOnce(&Sys<'_>) + 'static) -> TaskId {
        match self.y.suspend(Syscall::Spawn(name, Box::new(f))) {
            Reply::Spawned(id) => id,
            _ => unreachable!("spawn is answered with the new task's id"),
        }
    }
    fn wait(&self, id: TaskId) {
        self.y.suspend(Syscall::Wait(id));
    }
    fn sleep(&self, ticks: u64) {
        self.y.suspend(Syscall::Sleep(ticks));
    }
}

enum State {
    Ready,
    Sleeping { until: u64 },
    Waiting { for_task: TaskId },
    Done,
}

struct Task {
    name: &'static str,
    co: Coroutine<Reply, Syscall, ()>,
    state: State,
    /// What the next resume hands in.
    reply: Option<Reply>,
}

struct Scheduler {
    tasks: Vec<Task>,
    ready: VecDeque<TaskId>,
    clock: u64,
}

impl Scheduler {
    fn new() -> Self {
        Scheduler {
            tasks: Vec::new(),
            ready: VecDeque::new(),
            clock: 0,
        }
    }

    fn log(&self, id: TaskId, what: &str) {
        println!("t={:<3} {:<8} {what}", self.clock, self.tasks[id].name);
    }

    fn spawn(&mut self, name: &'static str, body: Body) -> TaskId {
        let id = self.tasks.len();
        let co = Coroutine::new(move |y: &Yielder<Reply, Syscall>, start: Reply| {
            let Reply::Start(id) = start else {
                unreachable!("a task starts with its id")
            };
            body(&Sys { id, y });
        });
        self.tasks.push(Task {
            name,
            co,
            state: State::Ready,
            reply: Some(Reply::Start(id)),
        });
        self.ready.push_back(id);
        id
    }

    /// Moves the sleepers whose time has come to the ready queue.
    fn wake_sleepers(&mut self) {
        for id in 0..self.tasks.len() {
            if let State::Sleeping { until } = self.tasks[id].state {
                if until <= self.clock {
                    self.tasks[id].state = State::Ready;
                    self.tasks[id].reply = Some(Reply::Done);
                    self.ready.push_back(id);
                    self.log(id, "wakes up");
                }
            }
        }
    }

    fn run(&mut self) {
        loop {
            self.wake_sleepers();
            let Some(id) = self.ready.pop_front() else {
                // Nobody is ready: jump to the next wake-up, or stop.
                let next = self.tasks.iter().filter_map(|t| match t.state {
                    State::Sleeping { until } => Some(until),
                    _ => None,
                });
                match next.min() {
                    Some(t) => {
                        self.clock = t;
                        continue;
                    }
                    None => break,
                }
            };
            self.clock += 1;
            let reply = self.tasks[id]
                .reply
                .take()
                .expect("a ready task has a reply");
            match self.tasks[id].co.resume(reply) {
                CoroutineResult::Yield(call) => self.syscall(id, call),
                CoroutineResult::Return(()) => self.exit(id),
            }
        }
        let stuck = self
            .tasks
            .iter()
            .filter(|t| !matches!(t.state, State::Done));
        println!("t={:<3} all tasks done: {}", self.clock, stuck.count() == 0);
    }

    fn syscall(&mut self, id: TaskId, call: Syscall) {
        let ready = |s: &mut Self, reply: Reply| {
            s.tasks[id].reply = Some(reply);
            s.ready.push_back(id);
        };
        match call {
            Syscall::Yield => ready(self, Reply::Done),
            Syscall::Spawn(name, body) => {
                let new = self.spawn(name, body);
                self.log(id, &format!("spawns {} (task {new})", self.tasks[new].name));
                ready(self, Reply::Spawned(new));
            }
            Syscall::Wait(other) => {
                if matches!(self.tasks[other].state, State::Done) {
                    self.log(
                        id,
                        &format!("waits for {}: already done", self.tasks[other].name),
                    );
                    ready(self, Reply::Done);
                } else {
                    self.log(id, &format!("waits for {}", self.tasks[other].name));
                    self.tasks[id].state = State::Waiting { for_task: other };
                }
            }
            Syscall::Sleep(ticks) => {
                let until = self.clock + ticks;
                self.log(id, &format!("sleeps until t={until}"));
                self.tasks[id].state = State::Sleeping { until };
            }
        }
    }

    fn exit(&mut self, id: TaskId) {
        self.tasks[id].state = State::Done;
        self.log(id, "is done");
        for w in 0..self.tasks.len() {
            if let State::Waiting { for_task } = self.tasks[w].state {
                if for_task == id {
                    self.tasks[w].state = State::Ready;
                    self.tasks[w].reply = Some(Reply::Done);
                    self.ready.push_back(w);
                    self.log(w, &format!("stops waiting for {}", self.tasks[id].name));
                }
            }
        }
    }
}

fn main() {
    let mut sched = Scheduler::new();
    sched.spawn(
        "main",
        Box::new(|sys| {
            println!("      main: I am task {}", sys.id);
            let counter = sys.spawn("counter", |sys| {
                for i in 1..=3 {
                    println!("      counter: {i}");
                    sys.yield_now();
                }
            });
            let sleeper = sys.spawn("sleeper", |sys| {
                println!("      sleeper: nap");
                sys.sleep(5);
                println!("      sleeper: nap again");
                sys.sleep(2);
                println!("      sleeper: up");
            });
            sys.wait(sleeper);
            println!("      main: sleeper finished");
            sys.wait(counter);
            let late = sys.spawn("late", |sys| println!("      late: task {} ran", sys.id));
            sys.wait(late);
            println!("      main: bye");
        }),
    );
    sched.run();
}
