//! Graph nodes: a backward function, the edges to the inputs' nodes, and hooks.

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorImpl};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::any::Any;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// Computes the gradients of a node's inputs from the gradients of its outputs.
/// `grads[i]` is the gradient of output i (None if no gradient reached it).
pub type BackwardFn =
    Box<dyn FnMut(&BackwardCtx, &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> + Send>;

/// A tensor hook: may return a replacement gradient.
pub type Hook = Arc<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;
/// Runs after a leaf's `.grad` has been accumulated; receives the leaf.
pub type PostAccumulateHook = Arc<dyn Fn(&Tensor) -> Result<()> + Send + Sync>;
/// `Node.register_prehook`: sees the gradients of the node's outputs before it runs
/// and may replace them.
pub type NodePreHook =
    Arc<dyn Fn(&[Option<Tensor>]) -> Result<Option<Vec<Option<Tensor>>>> + Send + Sync>;
/// `Node.register_hook`: sees (grad_inputs, grad_outputs) after the node ran and may
/// replace grad_inputs.
pub type NodePostHook = Arc<
    dyn Fn(&[Option<Tensor>], &[Option<Tensor>]) -> Result<Option<Vec<Option<Tensor>>>>
        + Send
        + Sync,
>;

/// What a backward function can see of its own node while running.
pub struct BackwardCtx<'a> {
    pub node: &'a Arc<Node>,
    /// Whether this backward pass uses the gradient of forward input `i`; None: all of
    /// them (see [`BackwardCtx::needs_input_grad`]).
    pub needed: Option<&'a dyn Fn(usize) -> bool>,
}

impl BackwardCtx<'_> {
    /// Whether this backward pass uses the gradient of forward input `i`: false where
    /// `autograd.grad` asked for other inputs only and no path from input `i` leads to
    /// them (PyTorch's kernels skip such gradients too).
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needed.is_none_or(|f| f(i))
    }
}

/// Where a gradient flows: input slot `input_nr` of `node` (= forward output `input_nr`).
#[derive(Clone)]
pub struct Edge {
    pub node: Arc<Node>,
    pub input_nr: usize,
}

/// A node's edges, one per forward input: inline for the usual one or two inputs, so
/// recording an op makes no separate allocation for them.
pub type Edges = SmallVec<[Option<Edge>; 2]>;

/// One kind of hook list on a node. Most nodes never get a hook, and the engine looks
/// at every list of every node it runs: `any` lets it pass over an empty one without
/// taking the lock. It is set after the first push and never cleared.
pub struct HookList<T> {
    any: AtomicBool,
    list: Mutex<Vec<T>>,
}

impl<T: Clone> HookList<T> {
    pub fn new() -> Self {
        HookList {
            any: AtomicBool::new(false),
            list: Mutex::new(Vec::new()),
        }
    }

    pub fn push(&self, item: T) {
        self.list.lock().push(item);
        self.any.store(true, Ordering::Release);
    }

    pub fn retain(&self, keep: impl FnMut(&T) -> bool) {
        self.list.lock().retain(keep);
    }

    /// A copy of the list, to run outside the lock (a hook may register another).
    pub fn snapshot(&self) -> Vec<T> {
        if !self.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        self.list.lock().clone()
    }
}

impl<T: Clone> Default for HookList<T> {
    fn default() -> Self {
        Self::new()
    }
}

pub enum NodeKind {
    /// An op's backward.
    Function(Mutex<Option<BackwardFn>>),
    /// Accumulates into a leaf's `.grad`.
    AccumulateGrad(Weak<TensorImpl>),
}

pub struct Node {
    pub name: Cow<'static, str>,
    pub kind: NodeKind,
    /// One per forward input; None where that input needs no gradient.
    pub next_edges: Edges,
    pub num_outputs: usize,
    /// Creation order: the engine runs later nodes first among those ready.
    pub seq_nr: u64,
    /// Tensor hooks of non-leaf outputs, by output number, with their handle ids.
    pub tensor_hooks: HookList<(usize, u64, Hook)>,
    /// Outputs whose `.grad` is retained (`retain_grad()`), by output number.
    pub retained: HookList<(usize, Weak<TensorImpl>)>,
    /// Node-level hooks (`grad_fn.register_prehook` / `register_hook`), with ids.
    pub pre_hooks: HookList<(u64, NodePreHook)>,
    pub post_hooks: HookList<(u64, NodePostHook)>,
    /// The forward traceback, recorded only in anomaly mode.
    pub trace: Option<String>,
    /// Free slot for the binding (`grad_fn.metadata`).
    pub ext: Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

thread_local! {
    /// Nodes whose backward is running on this thread (innermost last).
    static RUNNING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a node's backward as running on this thread until dropped.
struct Running(usize);

impl Running {
    fn enter(node: &Arc<Node>) -> Result<Running> {
        let id = Arc::as_ptr(node) as usize;
        RUNNING.with(|r| {
            let mut r = r.borrow_mut();
            if r.contains(&id) {
                return Err(Error::Runtime(format!(
                    "{}: the backward of this node re-entered itself (a backward pass run inside it reached the same node), which would deadlock",
                    node.name
                )));
            }
            r.push(id);
            Ok(Running(id))
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|&x| x == self.0) {
                r.remove(i);
            }
        });
    }
}

/// Graph nodes created minus dropped, one counter per thread: each is written only by
/// its own thread (a plain load and store, where one shared counter took two atomic
/// read-modify-writes per node), and read by everyone.
mod live {
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicIsize, Ordering};
    use std::sync::Arc;

    static ALL: Mutex<Vec<Arc<AtomicIsize>>> = Mutex::new(Vec::new());

    thread_local! {
        static MINE: Arc<AtomicIsize> = {
            let c = Arc::new(AtomicIsize::new(0));
            ALL.lock().push(c.clone());
            c
        };
    }

    pub fn add(delta: isize) {
        // (During thread teardown the counter may be gone: the count is a debugging
        // aid, and a node dropped then is simply not counted.)
        let _ = MINE.try_with(|c| c.store(c.load(Ordering::Relaxed) + delta, Ordering::Relaxed));
    }

    pub fn total() -> usize {
        let sum: isize = ALL.lock().iter().map(|c| c.load(Ordering::Relaxed)).sum();
        sum.max(0) as usize
    }
}

/// Graph nodes currently alive (a debugging aid for leak tests).
pub fn live_nodes() -> usize {
    live::total()
}

impl Drop for Node {
    fn drop(&mut self) {
        live::add(-1);
    }
}

static NEXT_SEQ: AtomicU64 = AtomicU64::new(0);
static NEXT_HOOK_ID: AtomicU64 = AtomicU64::new(1);

pub fn next_hook_id() -> u64 {
    NEXT_HOOK_ID.fetch_add(1, Ordering::Relaxed)
}

impl Node {
    pub fn function(
        name: impl Into<Cow<'static, str>>,
        backward: BackwardFn,
        next_edges: Edges,
        num_outputs: usize,
    ) -> Arc<Node> {
        live::add(1);
        Arc::new(Node {
            name: name.into(),
            kind: NodeKind::Function(Mutex::new(Some(backward))),
            next_edges,
            num_outputs,
            seq_nr: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
            tensor_hooks: HookList::new(),
            retained: HookList::new(),
            pre_hooks: HookList::new(),
            post_hooks: HookList::new(),
            trace: super::anomaly::capture(),
            ext: Mutex::new(None),
        })
    }

    pub fn accumulate_grad(leaf: &Tensor) -> Arc<Node> {
        live::add(1);
        Arc::new(Node {
            name: Cow::Borrowed("AccumulateGrad"),
            kind: NodeKind::AccumulateGrad(Arc::downgrade(&leaf.0)),
            next_edges: Edges::new(),
            num_outputs: 1,
            seq_nr: u64::MAX,
            tensor_hooks: HookList::new(),
            retained: HookList::new(),
            pre_hooks: HookList::new(),
            post_hooks: HookList::new(),
            trace: None,
            ext: Mutex::new(None),
        })
    }

    pub fn is_accumulate_grad(&self) -> bool {
        matches!(self.kind, NodeKind::AccumulateGrad(_))
    }

    /// The leaf an AccumulateGrad node feeds, if it is still alive.
    pub fn variable(&self) -> Option<Tensor> {
        match &self.kind {
            NodeKind::AccumulateGrad(w) => w.upgrade().map(Tensor),
            NodeKind::Function(_) => None,
        }
    }

    /// True once the saved state was freed by a backward without `retain_graph`.
    pub fn is_released(&self) -> bool {
        match &self.kind {
            NodeKind::Function(f) => f.lock().is_none(),
            NodeKind::AccumulateGrad(_) => false,
        }
    }

    /// Runs the node's backward on `grads`. With `release` (a backward without
    /// `retain_graph`) the saved state is freed by this call: taken out under one lock,
    /// where calling under the lock and then releasing took it twice.
    pub(crate) fn call(
        self: &Arc<Node>,
        grads: &[Option<Tensor>],
        needed: Option<&dyn Fn(usize) -> bool>,
        release: bool,
    ) -> Result<Vec<Option<Tensor>>> {
        let NodeKind::Function(f) = &self.kind else {
            return Ok(Vec::new());
        };
        // A backward that runs a backward pass reaching its own node would wait on its
        // own lock forever (or find its state gone): refuse it instead. (Other threads
        // still wait their turn.)
        let _running = Running::enter(self)?;
        let ctx = BackwardCtx { node: self, needed };
        let out = if release {
            let taken = f.lock().take();
            let Some(mut backward) = taken else {
                return Err(freed());
            };
            let out = backward(&ctx, grads);
            if out.is_err() {
                // Kept, as when the call ran under the lock: the graph is only freed by
                // a backward that got through it.
                *f.lock() = Some(backward);
            }
            out?
        } else {
            let mut guard = f.lock();
            let Some(backward) = guard.as_mut() else {
                return Err(freed());
            };
            backward(&ctx, grads)?
        };
        if out.len() != self.next_edges.len() {
            return Err(Error::Runtime(format!(
                "function {} returned an incorrect number of gradients (expected {}, got {})",
                self.name,
                self.next_edges.len(),
                out.len()
            )));
        }
        Ok(out)
    }
}

/// The error for running a node whose saved state a backward already freed.
fn freed() -> Error {
    Error::Runtime(
        "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.".into(),
    )
}
