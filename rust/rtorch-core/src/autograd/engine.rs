//! The backward engine: collects the nodes reachable from the roots and counts their
//! dependencies, then runs nodes whose every consumer has delivered its gradient (a
//! ready queue ordered by creation, latest first, as PyTorch does).
//!
//! Small graphs are the common case (one training step of a small model, a few dozen
//! nodes), so per-run state lives in flat vectors indexed by a dense slot number; the
//! node -> slot lookup is a linear scan until the graph grows past a few dozen nodes,
//! then a hash map.

use super::anomaly;
use super::grad_mode::GradModeGuard;
use super::node::{Edge, Node, NodeKind};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use smallvec::{smallvec, SmallVec};
use std::collections::HashMap;
use std::sync::Arc;

/// Per-run vectors: inline up to this many nodes, so a small graph's backward makes
/// no heap allocations for its bookkeeping.
type PerNode<T> = SmallVec<[T; 16]>;
/// Gradients of one node's outputs (almost always one or two).
type Grads = SmallVec<[Option<Tensor>; 2]>;

fn id(n: &Arc<Node>) -> usize {
    Arc::as_ptr(n) as usize
}

/// Past this many nodes, lookups go through a hash map.
const LINEAR_LIMIT: usize = 48;

/// The nodes of one backward run, each with a dense slot number.
struct Graph {
    nodes: PerNode<Arc<Node>>,
    ids: PerNode<usize>,
    map: Option<HashMap<usize, usize>>,
    deps: PerNode<u32>,
}

impl Graph {
    fn slot(&self, n: &Arc<Node>) -> Option<usize> {
        let key = id(n);
        match &self.map {
            Some(m) => m.get(&key).copied(),
            None => self.ids.iter().position(|&x| x == key),
        }
    }

    /// The slot of `n`, adding it if new (second value: whether it was new).
    fn intern(&mut self, n: &Arc<Node>) -> (usize, bool) {
        match self.slot(n) {
            Some(s) => (s, false),
            None => (self.add(n.clone()), true),
        }
    }

    /// Adds a node not in the graph yet; its slot.
    fn add(&mut self, n: Arc<Node>) -> usize {
        let s = self.nodes.len();
        let key = id(&n);
        self.ids.push(key);
        self.nodes.push(n);
        self.deps.push(0);
        match &mut self.map {
            Some(m) => {
                m.insert(key, s);
            }
            None if self.ids.len() > LINEAR_LIMIT => {
                self.map = Some(self.ids.iter().enumerate().map(|(i, &k)| (k, i)).collect());
            }
            None => {}
        }
        s
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Ready(u64, usize);

/// The nodes ready to run, the greatest (latest created) first: a binary max-heap in a
/// `PerNode`, so that a small graph's backward does not allocate one.
#[derive(Default)]
struct ReadyQueue(PerNode<Ready>);

impl ReadyQueue {
    fn push(&mut self, r: Ready) {
        let h = &mut self.0;
        h.push(r);
        let mut i = h.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if h[parent] >= h[i] {
                break;
            }
            h.swap(parent, i);
            i = parent;
        }
    }

    fn pop(&mut self) -> Option<Ready> {
        let h = &mut self.0;
        let top = *h.first()?;
        let last = h.pop()?;
        if h.is_empty() {
            return Some(top);
        }
        h[0] = last;
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut big = i;
            if l < h.len() && h[l] > h[big] {
                big = l;
            }
            if r < h.len() && h[r] > h[big] {
                big = r;
            }
            if big == i {
                break;
            }
            h.swap(i, big);
            i = big;
        }
        Some(top)
    }
}

/// Adds `g` into slot `i` of a gradient buffer.
fn accumulate_slot(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    *slot = Some(match slot.take() {
        None => g,
        Some(prev) => crate::ops::binary::add(&prev, &g)?,
    });
    Ok(())
}

/// What to do at the leaves.
pub struct Targets<'a> {
    /// Capture the gradient arriving at these edges (autograd.grad / inputs=).
    pub capture: &'a [Edge],
    /// Accumulate into `.grad` of leaves (backward) rather than only capture (grad).
    pub accumulate: bool,
}

/// Runs backward from `roots` (edges with their seed gradients). Returns the gradients
/// captured at `targets.capture` (None where no gradient arrived).
pub fn run(
    roots: Vec<(Edge, Tensor)>,
    targets: Targets<'_>,
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    let _mode = GradModeGuard::new(create_graph);

    // Reachable nodes and dependency counts.
    let mut g = Graph {
        nodes: PerNode::new(),
        ids: PerNode::new(),
        map: None,
        deps: PerNode::new(),
    };
    let mut stack: PerNode<usize> = PerNode::new();
    for (e, _) in &roots {
        let (s, new) = g.intern(&e.node);
        if new {
            stack.push(s);
        }
    }
    while let Some(s) = stack.pop() {
        // By index, not through a clone of the node's Arc: an atomic increment and
        // decrement per node is a measurable part of a small graph's backward.
        for j in 0..g.nodes[s].next_edges.len() {
            let Some(e) = &g.nodes[s].next_edges[j] else {
                continue;
            };
            let c = match g.slot(&e.node) {
                Some(c) => c,
                None => {
                    let c = g.add(e.node.clone());
                    stack.push(c);
                    c
                }
            };
            g.deps[c] += 1;
        }
    }
    let n = g.nodes.len();

    // With capture targets, only nodes on a path to a target run (`exec`); target
    // nodes are visited (hooks, capture) but run only if they lead to another target.
    let capture = targets.capture;
    let mut target_slot: PerNode<Option<usize>> = PerNode::with_capacity(capture.len());
    let mut is_target: PerNode<bool> = smallvec![false; if capture.is_empty() { 0 } else { n }];
    for t in capture {
        let s = g.slot(&t.node);
        if let Some(s) = s {
            is_target[s] = true;
        }
        target_slot.push(s);
    }
    let exec: PerNode<bool> = if capture.is_empty() {
        PerNode::new()
    } else {
        // Children were created before their parents: visit in creation order.
        // (Through the sort ops' helper: a sort of its own was 9 KB of the extension.)
        let keys: Vec<u64> = (0..n)
            .map(|s| {
                let nd = &g.nodes[s];
                if nd.is_accumulate_grad() {
                    0
                } else {
                    nd.seq_nr.saturating_add(1)
                }
            })
            .collect();
        let order = crate::ops::sort::order_by_keys(&keys);
        let mut exec: PerNode<bool> = smallvec![false; n];
        for s in order {
            let nd = &g.nodes[s];
            exec[s] = nd
                .next_edges
                .iter()
                .flatten()
                .any(|e| g.slot(&e.node).is_some_and(|c| exec[c] || is_target[c]));
        }
        exec
    };
    let visits = |s: usize| capture.is_empty() || exec[s] || is_target[s];

    let mut buffers: PerNode<Grads> = smallvec![Grads::new(); n];
    let mut ready = ReadyQueue::default();
    for (edge, seed) in roots {
        let Some(s) = g.slot(&edge.node) else {
            continue;
        };
        if !visits(s) {
            continue;
        }
        let buf = &mut buffers[s];
        if buf.is_empty() {
            *buf = smallvec![None; edge.node.num_outputs];
        }
        accumulate_slot(&mut buf[edge.input_nr], seed)?;
    }
    for s in 0..n {
        if g.deps[s] == 0 && visits(s) {
            ready.push(Ready(g.nodes[s].seq_nr, s));
        }
    }

    let mut captured: Vec<Option<Tensor>> = vec![None; capture.len()];
    let check_nan = anomaly::is_enabled() && anomaly::check_nan();
    while let Some(Ready(_, s)) = ready.pop() {
        // Borrowed (g.nodes does not change from here on), not cloned: see above.
        let node = &g.nodes[s];
        let mut grads = std::mem::take(&mut buffers[s]);
        if grads.is_empty() {
            grads = smallvec![None; node.num_outputs];
        }
        // An AccumulateGrad's leaf (None for a function node), upgraded once for its
        // hooks and its accumulation.
        let leaf = node.variable();
        run_tensor_hooks(node, leaf.as_ref(), &mut grads)?;
        if !capture.is_empty() && is_target[s] {
            for (i, t) in capture.iter().enumerate() {
                if target_slot[i] == Some(s) {
                    captured[i] = grads.get(t.input_nr).cloned().flatten();
                }
            }
            if !exec[s] {
                continue;
            }
        }
        let input_grads = match &node.kind {
            NodeKind::AccumulateGrad(_) => {
                if targets.accumulate {
                    if let (Some(leaf), Some(gr)) = (&leaf, grads[0].take()) {
                        accumulate_into_leaf(leaf, gr, create_graph)?;
                    }
                }
                continue;
            }
            NodeKind::Function(_) => {
                run_pre_hooks(node, &mut grads)?;
                if grads.iter().all(|g| g.is_none()) {
                    vec![None; node.next_edges.len()]
                } else {
                    // Which inputs' gradients this pass uses, asked by the node
                    // (all of them for `backward`, which runs every node it reaches).
                    let uses = |i: usize| {
                        node.next_edges
                            .get(i)
                            .and_then(Option::as_ref)
                            .is_some_and(|e| g.slot(&e.node).is_some_and(visits))
                    };
                    let needed = (!capture.is_empty()).then_some(&uses as &dyn Fn(usize) -> bool);
                    let r = call_node(node, &grads, needed, check_nan, !retain_graph)?;
                    run_post_hooks(node, r, &grads)?
                }
            }
        };
        drop(grads);
        for (edge, gr) in node.next_edges.iter().zip(input_grads) {
            let Some(edge) = edge else { continue };
            let Some(c) = g.slot(&edge.node) else {
                continue;
            };
            if !visits(c) {
                continue;
            }
            if let Some(gr) = gr {
                let buf = &mut buffers[c];
                if buf.is_empty() {
                    *buf = smallvec![None; edge.node.num_outputs];
                }
                accumulate_slot(&mut buf[edge.input_nr], gr)?;
            }
            let d = &mut g.deps[c];
            *d = d.checked_sub(1).ok_or_else(|| {
                Error::Runtime("autograd engine: dependency count underflow".into())
            })?;
            if *d == 0 {
                ready.push(Ready(edge.node.seq_nr, c));
            }
        }
    }
    Ok(captured)
}

/// Calls a node's backward; in anomaly mode, checks for NaN and reports the forward
/// traceback of a failing node.
fn call_node(
    node: &Arc<Node>,
    grads: &[Option<Tensor>],
    needed: Option<&dyn Fn(usize) -> bool>,
    check_nan: bool,
    release: bool,
) -> Result<Vec<Option<Tensor>>> {
    let r = node.call(grads, needed, release).and_then(|r| {
        if check_nan {
            for (i, g) in r.iter().enumerate() {
                if let Some(g) = g {
                    if has_nan(g)? {
                        return Err(Error::Runtime(format!(
                            "Function '{}' returned nan values in its {i}th output.",
                            node.name
                        )));
                    }
                }
            }
        }
        Ok(r)
    });
    if r.is_err() && anomaly::is_enabled() {
        anomaly::report(&node.name, node.trace.as_deref());
    }
    r
}

fn has_nan(t: &Tensor) -> Result<bool> {
    if !t.dtype().is_floating_point() {
        return Ok(false);
    }
    Ok(t.to_f64_vec()?.iter().any(|v| v.is_nan()))
}

fn run_pre_hooks(node: &Arc<Node>, grads: &mut Grads) -> Result<()> {
    for (_, h) in node.pre_hooks.snapshot() {
        if let Some(new) = h(grads)? {
            check_hook_len(node, new.len(), grads.len(), "pre-hook")?;
            *grads = new.into();
        }
    }
    Ok(())
}

fn run_post_hooks(
    node: &Arc<Node>,
    mut grad_inputs: Vec<Option<Tensor>>,
    grad_outputs: &[Option<Tensor>],
) -> Result<Vec<Option<Tensor>>> {
    for (_, h) in node.post_hooks.snapshot() {
        if let Some(new) = h(&grad_inputs, grad_outputs)? {
            check_hook_len(node, new.len(), grad_inputs.len(), "hook")?;
            grad_inputs = new;
        }
    }
    Ok(grad_inputs)
}

fn check_hook_len(node: &Node, got: usize, expected: usize, what: &str) -> Result<()> {
    if got != expected {
        return Err(Error::Runtime(format!(
            "{what} of {} returned an incorrect number of gradients (got {got}, but expected {expected})",
            node.name
        )));
    }
    Ok(())
}

/// Runs the hooks registered on tensors that are outputs of `node` (or, for an
/// AccumulateGrad node, on its leaf), and stores retained gradients.
fn run_tensor_hooks(
    node: &Arc<Node>,
    leaf: Option<&Tensor>,
    grads: &mut [Option<Tensor>],
) -> Result<()> {
    if let NodeKind::AccumulateGrad(_) = node.kind {
        let Some(leaf) = leaf else {
            return Ok(());
        };
        let hooks: Vec<_> = leaf.with_meta(|m| {
            if m.hooks.is_empty() {
                Vec::new()
            } else {
                m.hooks.iter().map(|(_, h)| h.clone()).collect()
            }
        });
        for h in hooks {
            if let Some(g) = &grads[0] {
                if let Some(new) = h(g)? {
                    grads[0] = Some(new);
                }
            }
        }
        return Ok(());
    }
    for (nr, _, h) in node.tensor_hooks.snapshot() {
        if let Some(g) = &grads[nr] {
            if let Some(new) = h(g)? {
                grads[nr] = Some(new);
            }
        }
    }
    for (nr, weak) in node.retained.snapshot() {
        if let (Some(t), Some(g)) = (weak.upgrade().map(Tensor), &grads[nr]) {
            let g = g.detach();
            let new = match t.grad() {
                None => crate::ops::copy::clone_contiguous(&g)?,
                Some(prev) => crate::ops::binary::add(&prev, &g)?,
            };
            t.with_meta(|m| m.grad = Some(new));
        }
    }
    Ok(())
}

/// Locks serializing gradient accumulation per leaf (striped by the leaf's address):
/// two threads running backward into the same leaf must not both read `.grad`, add and
/// write back (one gradient would be lost), as PyTorch's AccumulateGrad mutex ensures.
static ACCUMULATE_LOCKS: [parking_lot::Mutex<()>; 64] = [const { parking_lot::Mutex::new(()) }; 64];

fn accumulate_lock(leaf: &Tensor) -> parking_lot::MutexGuard<'static, ()> {
    // Tensor handles are at least 8-byte aligned: drop the low bits before striping.
    ACCUMULATE_LOCKS[(leaf.id() >> 4) % ACCUMULATE_LOCKS.len()].lock()
}

/// Whether `g` is the only handle to its tensor and to its memory, and covers exactly
/// that memory, contiguous (so that as a `.grad` it keeps no more memory alive than a
/// copy would).
fn is_unshared_dense(g: &Tensor) -> bool {
    std::sync::Arc::strong_count(&g.0) == 1
        && std::sync::Arc::weak_count(&g.0) == 0
        && g.is_contiguous()
        && g.offset() == 0
        && g.storage().nbytes() == g.numel() * g.dtype().size()
        && g.storage().is_sole_owner()
}

/// `leaf.grad += g` (a fresh tensor on first use; out of place under create_graph so
/// the new graph is kept).
fn accumulate_into_leaf(leaf: &Tensor, g: Tensor, create_graph: bool) -> Result<()> {
    if g.shape() != leaf.shape() {
        return Err(Error::Runtime(format!(
            "Function AccumulateGrad returned an invalid gradient - got {} but expected shape compatible with {}",
            crate::layout::fmt_shape(g.shape()),
            crate::layout::fmt_shape(leaf.shape())
        )));
    }
    let g = if g.dtype() != leaf.dtype() {
        crate::ops::copy::to_dtype(&g, leaf.dtype())?
    } else {
        g
    };
    let guard = accumulate_lock(leaf);
    let prev = leaf.grad();
    let new = match prev {
        None => {
            if create_graph {
                g
            } else if is_unshared_dense(&g) {
                // Nothing else can reach it: it becomes the gradient as it is (PyTorch
                // steals it too), a copy fewer per leaf and step.
                g.detach()
            } else {
                // Never alias a tensor the user or another graph may still hold.
                crate::ops::copy::clone_contiguous(&g.detach())?
            }
        }
        Some(prev) => {
            if create_graph || prev.requires_grad() {
                crate::ops::binary::add(&prev, &g)?
            } else {
                crate::ops::binary::add_in_place(&prev, &g)?;
                prev
            }
        }
    };
    // One visit to the metadata: store the sum, take the hooks.
    let hooks: Vec<_> = leaf.with_meta(|m| {
        m.grad = Some(new);
        m.post_accumulate_hooks
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    });
    // Hooks may run Python code (and even another backward): not under the lock.
    drop(guard);
    for h in hooks {
        h(leaf)?;
    }
    Ok(())
}

/// `tensor.backward(gradient)` / `autograd.backward`: accumulates into leaves (or into
/// `inputs` only, when given).
pub fn backward(
    tensors: &[Tensor],
    grad_tensors: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: &[Tensor],
) -> Result<()> {
    let roots = root_edges(tensors, grad_tensors)?;
    if inputs.is_empty() {
        run(
            roots,
            Targets {
                capture: &[],
                accumulate: true,
            },
            retain_graph,
            create_graph,
        )?;
        return Ok(());
    }
    let edges = input_edges(inputs)?;
    let got = run(
        roots,
        Targets {
            capture: &edges,
            accumulate: false,
        },
        retain_graph,
        create_graph,
    )?;
    for (t, g) in inputs.iter().zip(got) {
        // A non-leaf that retains its grad already got it from its retain hook.
        if !t.is_leaf() && t.with_meta(|m| m.retains_grad) {
            continue;
        }
        if let Some(g) = g {
            accumulate_into_leaf(t, g, create_graph)?;
        }
    }
    Ok(())
}

/// `autograd.grad`: the gradients of `outputs` with respect to `inputs`.
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    grad_outputs: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> Result<Vec<Option<Tensor>>> {
    let roots = root_edges(outputs, grad_outputs)?;
    let edges = input_edges(inputs)?;
    let got = run(
        roots,
        Targets {
            capture: &edges,
            accumulate: false,
        },
        retain_graph,
        create_graph,
    )?;
    if !allow_unused && got.iter().any(|g| g.is_none()) {
        return Err(Error::Runtime(
            "One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.".into(),
        ));
    }
    Ok(got)
}

fn root_edges(tensors: &[Tensor], grads: &[Tensor]) -> Result<Vec<(Edge, Tensor)>> {
    let mut roots = Vec::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        let Some(edge) = super::gradient_edge(t) else {
            return Err(Error::Runtime(format!(
                "element {i} of tensors does not require grad and does not have a grad_fn"
            )));
        };
        let g = match grads.get(i) {
            Some(g) => {
                if g.shape() != t.shape() {
                    return Err(Error::Runtime(format!(
                        "Mismatch in shape: grad_output[{i}] has a shape of {} and output[{i}] has a shape of {}.",
                        crate::layout::fmt_shape(g.shape()),
                        crate::layout::fmt_shape(t.shape())
                    )));
                }
                g.clone()
            }
            None => {
                if t.numel() != 1 {
                    return Err(Error::Runtime(
                        "grad can be implicitly created only for scalar outputs".into(),
                    ));
                }
                Tensor::full_on(
                    t.shape(),
                    crate::dtype::Scalar::Float(1.0),
                    t.dtype(),
                    t.device(),
                )?
            }
        };
        roots.push((edge, g));
    }
    Ok(roots)
}

fn input_edges(inputs: &[Tensor]) -> Result<Vec<Edge>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            super::gradient_edge(t).ok_or_else(|| {
                Error::Runtime(format!(
                    "One of the differentiated Tensors does not require grad (input {i})"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::binary::{add, mul};
    use crate::ops::reduce::sum;

    fn leaf(v: &[f64]) -> Tensor {
        let t = Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap();
        t.set_requires_grad(true).unwrap();
        t
    }

    #[test]
    fn backward_accumulates_and_grad_captures() {
        let w = leaf(&[1.0, 2.0]);
        let b = leaf(&[3.0, 4.0]);
        let loss = sum(&add(&mul(&w, &w).unwrap(), &b).unwrap(), &[], false, None).unwrap();
        backward(std::slice::from_ref(&loss), &[], true, false, &[]).unwrap();
        assert_eq!(w.grad().unwrap().to_f64_vec().unwrap(), vec![2.0, 4.0]);
        assert_eq!(b.grad().unwrap().to_f64_vec().unwrap(), vec![1.0, 1.0]);
        let g = grad(&[loss], std::slice::from_ref(&w), &[], false, false, false).unwrap();
        assert_eq!(g[0].as_ref().unwrap().to_f64_vec().unwrap(), vec![2.0, 4.0]);
        // grad() leaves .grad alone.
        assert_eq!(w.grad().unwrap().to_f64_vec().unwrap(), vec![2.0, 4.0]);
    }

    #[test]
    fn freed_graph_errors_on_second_backward() {
        let x = leaf(&[1.0, 2.0]);
        let loss = sum(&mul(&x, &x).unwrap(), &[], false, None).unwrap();
        backward(std::slice::from_ref(&loss), &[], false, false, &[]).unwrap();
        let e = backward(&[loss], &[], false, false, &[]).unwrap_err();
        assert!(e.to_string().contains("second time"));
    }

    #[test]
    fn nodes_are_freed_with_their_outputs() {
        let x = leaf(&[1.0, 2.0]);
        let y = mul(&x, &x).unwrap();
        let node = Arc::downgrade(&y.grad_fn().unwrap());
        drop(y);
        assert!(node.upgrade().is_none());
        // An op saving its own output keeps no strong link back to its node.
        let out = mul(&x.detach(), &x.detach()).unwrap();
        let saved = crate::autograd::SavedTensor::output(&out, 0);
        crate::autograd::record("SaveOut", &[&x], &out, move |ctx, g| {
            Ok(vec![Some(mul(g, &saved.unpack(ctx)?)?)])
        });
        let node = Arc::downgrade(&out.grad_fn().unwrap());
        let g = grad(
            std::slice::from_ref(&out),
            &[x],
            &[Tensor::full(&[2], crate::Scalar::Float(1.0), crate::DType::F64).unwrap()],
            true,
            false,
            false,
        )
        .unwrap();
        assert_eq!(g[0].as_ref().unwrap().to_f64_vec().unwrap(), vec![1.0, 4.0]);
        drop(out);
        assert!(node.upgrade().is_none());
    }

    #[test]
    fn large_graph_uses_map_lookup() {
        let x = leaf(&[1.0]);
        let mut y = x.clone();
        for _ in 0..200 {
            y = add(&y, &x).unwrap();
        }
        let g = grad(&[y], &[x], &[], false, false, false).unwrap();
        assert_eq!(g[0].as_ref().unwrap().to_f64_vec().unwrap(), vec![201.0]);
    }

    #[test]
    fn backward_functions_see_which_input_gradients_the_pass_uses() {
        use std::sync::{Arc, Mutex};
        let (a, b, c) = (leaf(&[1.0]), leaf(&[2.0]), leaf(&[3.0]));
        let seen: Arc<Mutex<Vec<[bool; 3]>>> = Arc::default();
        let log = Arc::clone(&seen);
        let out = Tensor::from_vec(vec![6.0], &[1]).unwrap();
        crate::autograd::record("Probe", &[&a, &b, &c], &out, move |ctx, g| {
            log.lock()
                .unwrap()
                .push(std::array::from_fn(|i| ctx.needs_input_grad(i)));
            Ok(vec![Some(g.clone()); 3])
        });
        // `b` also reaches the output through a second op.
        let y = add(&out, &mul(&b, &b).unwrap()).unwrap();
        grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&a),
            &[],
            true,
            false,
            false,
        )
        .unwrap();
        grad(
            std::slice::from_ref(&y),
            &[b.clone(), c.clone()],
            &[],
            true,
            false,
            false,
        )
        .unwrap();
        backward(std::slice::from_ref(&y), &[], true, false, &[]).unwrap();
        let want = [
            [true, false, false],
            [false, true, true],
            [true, true, true],
        ];
        assert_eq!(*seen.lock().unwrap(), want);
    }
}
