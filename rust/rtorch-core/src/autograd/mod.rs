//! The dynamic autograd graph: metadata on tensors, graph nodes, saved tensors, the
//! engine, and grad mode.
//!
//! Ops record themselves with [`record`]: after computing their output they hand over
//! a backward closure written with ordinary tensor ops, so that running it with grad
//! mode on (create_graph) records a graph of its own and higher derivatives work.

pub mod anomaly;
pub mod engine;
pub mod grad_mode;
pub mod node;
pub mod view;

pub use engine::{backward, grad};
pub use grad_mode::{is_grad_enabled, set_grad_enabled, GradModeGuard};
pub use node::{
    live_nodes, BackwardCtx, Edge, Hook, Node, NodePostHook, NodePreHook, PostAccumulateHook,
};

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::sync::{Arc, Weak};

/// Per-tensor autograd state; allocated only for tensors that take part in autograd.
#[derive(Default)]
pub struct AutogradMeta {
    /// Set by the user on leaves (`requires_grad=True`).
    pub requires_grad: bool,
    pub grad: Option<Tensor>,
    pub grad_fn: Option<Arc<Node>>,
    pub output_nr: usize,
    /// The AccumulateGrad node of a leaf, shared by every use of the leaf in a graph.
    pub grad_accumulator: Weak<Node>,
    pub retains_grad: bool,
    /// Hooks of a leaf, run before accumulation (non-leaf hooks live on grad_fn).
    pub hooks: Vec<(u64, Hook)>,
    pub post_accumulate_hooks: Vec<(u64, PostAccumulateHook)>,
}

/// The edge a gradient for `t` must flow into, or None if `t` needs no gradient.
pub fn gradient_edge(t: &Tensor) -> Option<Edge> {
    t.sync_view();
    let mut guard = t.meta_if_any()?;
    let meta = guard.as_mut()?;
    if let Some(f) = &meta.grad_fn {
        return Some(Edge {
            node: f.clone(),
            input_nr: meta.output_nr,
        });
    }
    if !meta.requires_grad {
        return None;
    }
    let node = match meta.grad_accumulator.upgrade() {
        Some(n) => n,
        None => {
            drop(guard);
            let n = Node::accumulate_grad(t);
            let mut guard = t.meta();
            let meta = guard.get_or_insert_with(Default::default);
            // Another thread may have raced us; keep whichever is alive.
            match meta.grad_accumulator.upgrade() {
                Some(existing) => existing,
                None => {
                    meta.grad_accumulator = Arc::downgrade(&n);
                    n
                }
            }
        }
    };
    Some(Edge { node, input_nr: 0 })
}

/// True when an op on `inputs` must record a graph node.
#[inline]
pub fn needs_grad(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Records a single-output op: `out` becomes output 0 of a new node named `name`
/// whose backward maps the output gradient to one gradient per input.
pub fn record<F>(name: &'static str, inputs: &[&Tensor], out: &Tensor, backward: F)
where
    F: FnMut(&BackwardCtx, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    out.set_grad_fn(single_output_node(name, inputs, backward), 0);
}

/// Records an in-place op on `t` (which is among `inputs`, standing for its old value):
/// the node becomes the history of `t`'s new value, and of its base's if `t` is a view.
/// Call after the values were written and the version bumped.
pub fn record_inplace<F>(name: &'static str, inputs: &[&Tensor], t: &Tensor, backward: F)
where
    F: FnMut(&BackwardCtx, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    let node = single_output_node(name, inputs, backward);
    view::commit_inplace(t, Some(Edge { node, input_nr: 0 }));
}

fn single_output_node<F>(name: &'static str, inputs: &[&Tensor], mut backward: F) -> Arc<Node>
where
    F: FnMut(&BackwardCtx, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    let f: node::BackwardFn = Box::new(move |ctx, grads| match &grads[0] {
        Some(g) => backward(ctx, g),
        None => Ok(vec![None; ctx.node.next_edges.len()]),
    });
    function_node(name, inputs, f, 1)
}

/// A function node with edges to `inputs`. Kept out of the generic recorders, which
/// are instantiated for every op's backward closure (the edges' code was copied into
/// each).
#[inline(never)]
fn function_node(
    name: &'static str,
    inputs: &[&Tensor],
    backward: node::BackwardFn,
    num_outputs: usize,
) -> Arc<Node> {
    let edges = inputs.iter().map(|t| gradient_edge(t)).collect();
    Node::function(name, backward, edges, num_outputs)
}

/// Records an op with several outputs (split, unbind, max with indices, …).
pub fn record_multi<F>(name: &'static str, inputs: &[&Tensor], outs: &[&Tensor], backward: F)
where
    F: FnMut(&BackwardCtx, &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    let node = function_node(name, inputs, Box::new(backward), outs.len());
    for (i, o) in outs.iter().enumerate() {
        o.set_grad_fn(node.clone(), i);
    }
}

/// Records a node for a user-defined function (Python `autograd.Function`): the node
/// gets an owned name, edges to `inputs`, and becomes the grad_fn of each listed
/// `(output number, tensor)`. Outputs not listed (non-differentiable ones) still count
/// in `num_outputs`.
pub fn record_custom(
    name: String,
    inputs: &[Tensor],
    outputs: &[(usize, Tensor)],
    num_outputs: usize,
    backward: node::BackwardFn,
) -> Arc<Node> {
    let edges = inputs.iter().map(gradient_edge).collect();
    let node = Node::function(name, backward, edges, num_outputs);
    for (i, o) in outputs {
        o.set_grad_fn(node.clone(), *i);
    }
    node
}

/// `Foo` for a node named `FooBackward0` (how PyTorch names producers in messages).
fn forward_name(node_name: &str) -> &str {
    let s = node_name.trim_end_matches(|c: char| c.is_ascii_digit());
    s.strip_suffix("Backward").unwrap_or(node_name)
}

/// A tensor kept for backward, with the storage version it had when saved so that a
/// later in-place change is detected instead of silently giving a wrong gradient.
pub struct SavedTensor {
    data: Tensor,
    version: u64,
    /// For an op's own output: its output number. Saved outputs keep no strong link
    /// to their node (that would be a cycle); `unpack` re-attaches the running node.
    output_nr: Option<usize>,
    /// Original tensor's grad_fn name for error messages.
    producer: Option<String>,
}

impl SavedTensor {
    /// Saves an input of the op.
    pub fn input(t: &Tensor) -> SavedTensor {
        SavedTensor {
            data: t.clone(),
            version: t.storage().version(),
            output_nr: None,
            producer: None,
        }
    }

    /// Saves an output of the op (call before `record`).
    pub fn output(t: &Tensor, output_nr: usize) -> SavedTensor {
        SavedTensor {
            data: t.detach(),
            version: t.storage().version(),
            output_nr: Some(output_nr),
            producer: None,
        }
    }

    pub fn unpack(&self, ctx: &BackwardCtx) -> Result<Tensor> {
        let now = self.data.storage().version();
        if now != self.version {
            let producer = match (&self.producer, self.output_nr) {
                (_, Some(n)) => {
                    format!(", which is output {n} of {},", forward_name(&ctx.node.name))
                }
                _ => match self.data.grad_fn() {
                    Some(f) => format!(
                        ", which is output {} of {},",
                        self.data.output_nr(),
                        forward_name(&f.name)
                    ),
                    None => String::new(),
                },
            };
            return Err(Error::Runtime(format!(
                "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.{} {}]{} is at version {}; expected version {} instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).",
                self.data.dtype().legacy_name(),
                crate::layout::fmt_shape(self.data.shape()),
                producer,
                now,
                self.version
            )));
        }
        match self.output_nr {
            Some(nr) if is_grad_enabled() => {
                let t = self.data.detach();
                t.set_grad_fn(ctx.node.clone(), nr);
                Ok(t)
            }
            _ => Ok(self.data.clone()),
        }
    }
}
